# crash-steps.sh: the node stopped dead in the middle of its changes that
# span several files or many turns, and started again.
#   - A directory update that carries this node's new signing key: strace
#     kills the node at each of the eight renames in turn (four install the
#     directory, four switch the key). The next start finishes or undoes
#     the step; the authority's update is applied once; the node signs with
#     its new key, no half-written file is left, and referrals go through.
#   - Re-sealing the store under a new data key: the node is killed while
#     it re-seals (strace slows each sync so the kill lands inside it),
#     five times over, with a new key each time. Every record opens, the
#     re-sealing finishes, the old keys are dropped at the end.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/common.sh"
command -v strace >/dev/null || { echo "SKIP: strace is not installed (apt-get install strace)"; exit 77; }
authority
node 350581 "石狮市法律援助中心" "[roles]" "admins = admin-01"
# Deadline checks also look for a rotated key whose window has opened.
node 350582 "晋江市法律援助中心" "[deadlines]" "deadline_check_ms = 500"
authority_node
directory 1 350500 350581 350582
"$REFCTL" example application > "$T/app.json"
fault_apps
start 350500
start 350581
start 350582

# gone PID: the process has ended (a zombie counts: it is ours to reap).
gone() { [ ! -e "/proc/$1" ] || grep -q '^[0-9]* ([^)]*) Z' "/proc/$1/stat"; }
version_of() { "$REFCTL" --data "$T/$1" directory show --json | json version; }
has_version() { [ "$(version_of "$1")" = "$2" ]; }
key_of() { "$REFCTL" --data "$T/$1" status --json | json key_id; }
has_key() { [ "$(key_of "$1")" = "$2" ]; }
nothing_pending() { [ "$("$REFCTL" --data "$T/$1" status --json | json outbox.pending)" = 0 ]; }
leftovers() { (cd "$T/$1" && ls -d ./*.new ./*.tmp.* signing.next.* 2>/dev/null | tr '\n' ' '); }

# ---- a directory update with a new key, cut at each rename
steps=(
	"writing the new signature"
	"writing the new directory"
	"putting the new signature in place"
	"putting the new directory in place"
	"setting the old key aside"
	"moving the new key in"
	"moving the new public key in"
	"rewriting referrald.conf"
)
v=1
for k in 1 2 3 4 5 6 7 8; do
	what=${steps[$((k - 1))]}
	v=$((v + 1))
	"$REFCTL" --data "$T/350582" rotate-keys --switch-after 0s --overlap 1h \
		> "$T/350582.entry.json" 2>/dev/null ||
		{ not_ok "rotate-keys before step $k"; break; }
	new=$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["signing_keys"][-1]["key_id"])' "$T/350582.entry.json")
	stop 350582
	# Nothing is renamed at start: the k-th rename is the k-th step.
	under_strace 350582 -e trace=rename -e inject=rename:error=EIO:signal=KILL:when=$k
	pid=$PID_350582
	"$REFCTL" directory assemble --version "$v" --authority 350500 --out "$T/v.json" \
		"$T/350500.entry.json" "$T/350581.entry.json" "$T/350582.entry.json" >/dev/null &&
		"$REFCTL" directory sign --key "$T/authority/authority.key" "$T/v.json" >/dev/null
	"$REFCTL" --data "$T/350500" --actor admin-01 directory publish "$T/v.json" >/dev/null
	check "killed while $what" wait_for 20 gone "$pid"
	wait "$pid" 2>/dev/null
	start 350582
	check "after a stop while $what: version $v in force" wait_for 20 has_version 350582 "$v"
	check "and signing with $new" wait_for 20 has_key 350582 "$new"
	expect_eq "and no half-written file left" "" "$(leftovers 350582)"
	check "the authority's update was receipted" wait_for 20 nothing_pending 350500
done
expect_eq "the configuration names the last key" "key_id = $new" \
	"$(grep '^key_id' "$T/350582/referrald.conf")"
"$REFCTL" --data "$T/350582" audit export --out "$T/j.jsonl" >/dev/null
expect_eq "each switch is in the audit chain once (8)" 8 \
	"$(grep -c '"event":"key_rotated"' "$T/j.jsonl")"
expect_eq "those finished at start say so (cut after the old key was set aside: 3)" 3 \
	"$(grep -c '"event":"key_rotated".*finished at start' "$T/j.jsonl")"
check "Jinjiang's audit chain verifies" "$REFCTL" --data "$T/350582" audit verify
id=$(submit 350581 350582 "$T/app.json")
check "a referral goes through" wait_for 20 in_state 350581 "$id" RECEIVED
expect_eq "Jinjiang's RECEIVED is signed with its last key, and verified" "$new:good" \
	"$("$REFCTL" --data "$T/350581" audit trail "$id" --json | "$PY" -c '
import json, sys
print(" ".join(e["signed_by"] + ":" + e["signature"] for e in json.load(sys.stdin)["entries"]
               if e["event"] == "status_change" and e["by"] == "350582"))')"

# ---- re-sealing under a new data key, cut five times
: > "$T/acked.txt"
"$BUILD/tests/fault-submit" "$T/350581" 350582 "${FAULT_BACKLOG:-1000}" "$T/acked.txt" \
	"$T/ordinary.json" "$T/green.json" "$T/urgent.json" > "$T/load.out" 2>&1
check "the referrals are delivered" wait_for 120 all_received 350581 "$T/acked.txt"
cut=0
for round in 1 2 3 4 5; do
	stop 350581
	# Each sync 200 ms slower: re-sealing takes many turns, each synced,
	# so it is still going when the kill comes. (At 30 ms a sanitizer
	# build's smaller store was re-sealed in about half a second, less
	# than refctl's exit under LeakSanitizer took: two kills of five came
	# after the end.)
	under_strace 350581 -e trace=fdatasync -e inject=fdatasync:delay_enter=200000
	pid=$PID_350581
	"$REFCTL" --data "$T/350581" --actor admin-01 rotate-data-key >/dev/null ||
		{ not_ok "rotate-data-key in round $round"; break; }
	pkill -KILL -P "$pid"
	wait "$pid" 2>/dev/null
	keys=$(grep -vc '^#' "$T/350581/data.keys")
	[ "$keys" -ge 2 ] && cut=$((cut + 1))
	start 350581
done
expect_eq "every kill landed while re-sealing (old keys still held)" 5 "$cut"
resealed() {
	"$REFCTL" --data "$T/350581" status --json | "$PY" -c '
import json, sys
d = json.load(sys.stdin)["data_key"]
sys.exit(0 if not d["resealing"] and d["keys"] == 1 else 1)'
}
check "re-sealing finishes and the old keys are dropped" wait_for 60 resealed
expect_eq "one key left in data.keys" 1 "$(grep -vc '^#' "$T/350581/data.keys")"
stop 350581
check "every record opens and passes its checks" "$REFCTL" --data "$T/350581" store check
start 350581
expect_eq "each referral stored and applied exactly once" ok "$(exactly_once 350581 350582 "$T/acked.txt")"
"$REFCTL" --data "$T/350581" audit export --out "$T/s.jsonl" >/dev/null
expect_eq "five rotations in the audit chain" 5 "$(grep -c '"event":"data_key_rotated"' "$T/s.jsonl")"
check "and the keys dropped at the end" grep -q '"event":"data_key_retired"' "$T/s.jsonl"
check "Shishi's audit chain verifies" "$REFCTL" --data "$T/350581" audit verify
finish
