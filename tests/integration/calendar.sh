# calendar.sh: the shipped holiday calendar and local time, through real
# nodes: refctl calendar due (and the same operation as the gateway calls
# it, with a token) gives DOMAIN.md's worked due days; a bad date is
# refused; status says which years the calendar covers and warns when one
# is missing; a referral's clock shows the due day calendar due gives, as
# the day it ends in local time; a time after 16:00 UTC shows as the next
# local day; an unknown time zone stops the start.
. "$(dirname "$0")/../lib.sh"
two_nodes
# 350582 reads a county's own file that lacks the years around today.
printf '# a county copy that was never updated\n1999-10-01 holiday\n' \
	> "$T/350582/old-holidays.txt"
printf '[deadlines]\nholidays = old-holidays.txt\n' >> "$T/350582/referrald.conf"
start 350581
start 350582
A="$REFCTL --data $T/350581 --actor reviewer-01"
B="$REFCTL --data $T/350582 --actor reviewer-02"

due() { $A calendar due --from "$1" --days "$2" --json | json "${3:-due_day}"; }
expect_eq "example 1: 7 days from Fri 2026-09-25 are due Thu 2026-10-08" \
	2026-10-08 "$(due 2026-09-25 7)"
expect_eq "example 1: the period was extended past National Day" true \
	"$(due 2026-09-25 7 extended)"
expect_eq "example 1: in UTC, 24:00 Beijing time" "2026-10-08T16:00:00.000Z" \
	"$(due 2026-09-25 7 due)"
expect_eq "example 1: and its local form" "2026-10-09T00:00:00+08:00" \
	"$(due 2026-09-25 7 due_local)"
expect_eq "example 2: 3 days from Wed 2026-10-07 end on the make-up Saturday" \
	2026-10-10 "$(due 2026-10-07 3)"
expect_eq "example 3: the 3 days left from Fri 2026-10-09 end Mon 2026-10-12" \
	2026-10-12 "$(due 2026-10-09 3)"
expect_eq "the shipped file covers the period" true \
	"$(due 2026-09-25 7 calendar_covers)"
human=$($A calendar due --from 2026-09-25 --days 7)
expect_contains "human output says the day it ends" "due: 2026年10月8日 24:00 前" "$human"
expect_contains "and why it moved" "Civil Code Art 203" "$human"

out=$($A calendar due --from 2026-02-30 --days 7 2>&1); rc=$?
expect_eq "a date that does not exist: refused" 1 "$rc"
expect_contains "naming the problem" 'from = "2026-02-30" is not a date' "$out"
out=$($A calendar due --from 2026-09-25 --days 0 2>&1); rc=$?
expect_eq "zero days: a usage error" 2 "$rc"
expect_contains "naming the problem" "1 to 3650" "$out"
out=$($A call calendar-due '{"from":"2026-09-25","days":"seven"}' 2>&1); rc=$?
expect_eq "days as text, by name: refused" 1 "$rc"
expect_contains "naming the problem" "\"days\" must be a JSON integer" "$out"

# The gateway calls operations by name with a token.
tok=$($A token create --name intake-desk --scope staff --json | json token)
expect_eq "the named operation with a staff token, as the gateway calls it" \
	2026-10-08 "$($A call calendar-due --token "$tok" \
		'{"from":"2026-09-25","days":7}' | json due_day)"
expect_contains "listed among the operations" '"calendar-due"' "$($A call ops)"

# Coverage.
expect_contains "status names the shipped file" "holidays-cn.txt" \
	"$($A status --json | json calendar.file)"
expect_contains "which covers 2025 and 2026" "2025, 2026" \
	"$($A status --json | json calendar.years)"
year=$(TZ=Asia/Shanghai date +%Y)
expect_eq "the outdated copy: status names the missing year" "$year" \
	"$($B status --json | json calendar.missing_year)"
expect_contains "and warns in the human status" "WARNING: the holiday calendar does not cover $year" \
	"$($B status)"
expect_eq "once in the log, at start" 1 \
	"$(grep -c "event=calendar_not_covered year=$year" "$T/350582.log")"
out=$($B calendar due --from "$year-03-02" --days 7 --json)
expect_eq "a period in an uncovered year says so" false \
	"$(echo "$out" | json calendar_covers)"
# A county file with the years around today: no warning.
stop 350582
for y in $((year - 1)) "$year" $((year + 1)) $((year + 2)); do
	echo "$y-01-01 holiday"
done > "$T/350582/old-holidays.txt"
start 350582
expect_eq "a file with this year and the next: no warning" "" \
	"$($B status --json | json calendar.warning)"

# A referral's review clock: the due day calendar due gives, said locally.
id=$(submit 350581 350582 "$T/app.json")
check "received" wait_for 15 in_state 350581 "$id" RECEIVED
shown=$($B show "$id" --json)
received=$(echo "$shown" | "$PY" -c 'import json,sys
h=[s for s in json.load(sys.stdin)["history"] if s["state"]=="RECEIVED"]
print(h[0]["at_local"][:10])')
want=$($B calendar due --from "$received" --days 7 --json | json due_day)
got=$(echo "$shown" | "$PY" -c 'import json,sys
print([c for c in json.load(sys.stdin)["clocks"] if c["clock"]=="review"][0]["due_day"])')
expect_eq "the review clock ends on the day calendar due gives" "$want" "$got"
read -r y m d <<< "$(echo "$want" | tr - ' ')"
expect_contains "show says it as the day it ends" \
	"clock     review     due $y年$((10#$m))月$((10#$d))日 24:00 前" "$($B show "$id")"
expect_contains "overdue's JSON keeps UTC beside it" "$want" \
	"$($B show "$id" --json | json next_due_day)"

# A time after 16:00 UTC is the next local day: move 350581's clock to
# the next 16:30Z and submit there (350582 stays stopped: nothing crosses).
stop 350582
stop 350581
export REFERRAL_CLOCK_OFFSET_MS=$("$PY" -c 'import time
now=time.time(); day=86400; t=(now//day)*day+16.5*3600
t = t if t > now + 5 else t + day
print(int((t-now)*1000))')
start 350581
late=$(submit 350581 350582 "$T/app.json")
shown=$($A show "$late" --json)
utc=$(echo "$shown" | json created_at)
loc=$(echo "$shown" | json created_at_local)
next=$("$PY" -c 'import datetime,sys
d=datetime.date.fromisoformat(sys.argv[1][:10]); print(d+datetime.timedelta(1))' "$utc")
expect_contains "created after 16:00 UTC ..." "T16:3" "$utc"
expect_contains "... is the next local day, at 00:3x" "${next}T00:3" "$loc"
expect_contains "human show prints the local time" "created   $next 00:3" "$($A show "$late")"
unset REFERRAL_CLOCK_OFFSET_MS
stop 350581

# An unknown zone stops the start, naming it.
cp "$T/350581/referrald.conf" "$T/good.conf"
printf '[node]\ntime_zone = Asia/Atlantis\n' >> "$T/350581/referrald.conf"
out=$(timeout 10 "$REFERRALD" --data "$T/350581" 2>&1); rc=$?
expect_eq "unknown time zone: exit status" 1 "$rc"
expect_contains "unknown time zone: named" '[node] time_zone = "Asia/Atlantis" is not a zone' "$out"
cp "$T/good.conf" "$T/350581/referrald.conf"
finish
