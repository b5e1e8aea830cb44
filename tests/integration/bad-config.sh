# bad-config.sh: a bad setting stops the node at startup with a message
# naming it; nothing in the store changes.
. "$(dirname "$0")/../lib.sh"
two_nodes
cp "$T/350581/referrald.conf" "$T/good.conf"

refuses() { # DESCRIPTION NEEDLE CONFIG-LINES...
	local what=$1 needle=$2; shift 2
	cp "$T/good.conf" "$T/350581/referrald.conf"
	printf '%s\n' "$@" >> "$T/350581/referrald.conf"
	local out rc
	out=$(timeout 10 "$REFERRALD" --data "$T/350581" 2>&1); rc=$?
	expect_eq "$what: exit status" 1 "$rc"
	expect_contains "$what: names the problem" "$needle" "$out"
}
refuses "unknown setting" "[delivery] retry_fast is not a known setting" "[delivery]" "retry_fast = 1"
refuses "out of bounds" "retry_cap_ms = 5 is outside" "[delivery]" "retry_cap_ms = 5"
refuses "not a number" "is not a whole number" "[limits]" "max_documents = many"
refuses "bad log level" "log_level" "[daemon]" "log_level = loud"
refuses "map sizes" "map_initial_mb" "[store]" "map_initial_mb = 100" "map_max_mb = 10"
cp "$T/good.conf" "$T/350581/referrald.conf"
sed -i 's/^code = .*/code = 3505/' "$T/350581/referrald.conf"
out=$(timeout 10 "$REFERRALD" --data "$T/350581" 2>&1)
expect_contains "bad node code" "six-digit" "$out"
out=$(timeout 10 "$REFERRALD" --data "$T/nowhere" 2>&1)
expect_contains "missing data folder" "cannot read" "$out"
out=$(timeout 10 "$REFERRALD" 2>&1); rc=$?
expect_eq "usage error exit status" 2 "$rc"
printf '2026-10-01 holiday\n2026-10-02 feast\n' > "$T/350581/holidays.txt"
refuses "malformed holiday file" "holidays.txt ([deadlines] holidays): line 2" \
	"[deadlines]" "holidays = holidays.txt"
printf '[hardship]\nthreshold_yuan = 1780\n[exempt]\nkinds = x\n' > "$T/350581/rules.ini"
refuses "malformed rule pack" "rules.ini ([eligibility] rules): line 4" \
	"[eligibility]" "rules = rules.ini"
refuses "missing rule pack" "rules.ini" "[eligibility]" "rules = nowhere/rules.ini"
cp "$T/good.conf" "$T/350581/referrald.conf"
start 350581
ok "starts with the good config"
finish
