# rollback.sh: a whole store rolled back in secret (docs/SECURITY.md). Shishi's
# store is copied aside, Shishi goes on (3 referrals submitted, received
# and accepted, its chain witnessed further by Jinjiang), then the old copy
# is put back by hand, without refctl restore. At the first contact after
# its start Shishi greets Jinjiang with its chain head; Jinjiang, which
# witnessed more of that chain, sends Shishi's own signed checkpoint back.
# Shishi detects the rollback, holds every send (a new referral stays
# pending), records it in its audit chain, and stays held across a
# restart. An admin's `refctl restore --acknowledge` turns it into a
# restore: announced, Jinjiang's RESTORE_SYNC brings the 3 back, and the
# held referral goes out. Nothing is lost, no dead letters.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/common.sh"
two_nodes "[audit]" "checkpoint_records = 5" "[roles]" "admins = admin-01"
start 350581
start 350582
J="$REFCTL --data $T/350582 --actor reviewer-02"
first=$(submit 350581 350582 "$T/app.json")
check "a referral before the copy is RECEIVED at Shishi" wait_for 30 in_state 350581 "$first" RECEIVED
old=$(audit_count 350581)
stop 350581
cp -a "$T/350581/store" "$T/old-store"
start 350581
: > "$T/late.txt"
for i in 1 2 3; do submit 350581 350582 "$T/app.json" >> "$T/late.txt"; done
while read -r id; do
	check "$id: RECEIVED at Shishi" wait_for 30 in_state 350581 "$id" RECEIVED
	$J accept "$id" > /dev/null
	check "$id: accepted, GRANTED at Shishi" wait_for 30 in_state 350581 "$id" GRANTED
done < "$T/late.txt"
witnessed_past() {
	"$REFCTL" --data "$T/350582" audit witnessed --node 350581 --json |
		"$PY" -c 'import json,sys
d = json.load(sys.stdin)
cps = d["checkpoints"] if isinstance(d, dict) else d
sys.exit(0 if max((c["seq"] for c in cps), default=0) > int(sys.argv[1]) + 2 else 1)' "$old"
}
check "Jinjiang witnessed Shishi's chain past the copy" wait_for 60 witnessed_past
stop 350581
mv "$T/350581/store" "$T/newer-store"
cp -a "$T/old-store" "$T/350581/store"
start 350581
# Jinjiang's next move is the first contact of Shishi's new run.
$J accept "$first" > /dev/null
check "the move reaches Shishi (receipts still go out)" wait_for 30 in_state 350581 "$first" GRANTED
detected() { grep -q "rolled back without refctl restore" "$T/350581.log"; }
check "Shishi detects the rollback at the first contact" wait_for 30 detected
"$REFCTL" --data "$T/350581" audit export --out "$T/s.jsonl" >/dev/null
check "the rollback is in Shishi's audit chain" grep -q '"event":"rollback_detected"' "$T/s.jsonl"
"$REFCTL" --data "$T/350582" audit export --out "$T/j.jsonl" >/dev/null
check "and Jinjiang's: it saw a chain behind its witness" grep -q '"event":"rollback_seen"' "$T/j.jsonl"
held=$(submit 350581 350582 "$T/app.json")
check "a referral submitted while held is accepted locally" test -n "$held"
sleep 3
expect_eq "but not sent: it stays pending" pending "$(delivery_of 350581 "$held")"
stop 350581
start 350581
expect_eq "held across a restart, and the log says so at the start" 1 \
	"$(grep -c "this store was found rolled back" "$T/350581.log")"
out=$("$REFCTL" --data "$T/350581" --actor staff-0107 restore --acknowledge 2>&1); rc=$?
check "acknowledging needs the admin role" test "$rc" -ne 0
expect_contains "saying so" "admin role" "$out"
sleep 2
expect_eq "still held" pending "$(delivery_of 350581 "$held")"
out=$("$REFCTL" --data "$T/350581" --actor admin-01 restore --acknowledge 2>&1); rc=$?
expect_eq "the admin acknowledges: exit 0" 0 "$rc"
expect_contains "refctl says what follows" "every peer is told" "$out"
check "the held referral goes out" wait_for 30 in_state 350581 "$held" RECEIVED
has_all() {
	while read -r id; do
		[ "$(states_of 350581 "$id")" = "REQUESTED RECEIVED GRANTED" ] || return 1
	done < "$T/late.txt"
}
check "the 3 referrals lost with the rollback are back at Shishi, GRANTED" wait_for 60 has_all
while read -r id; do
	expect_eq "$id: delivered, with Jinjiang's receipt" delivered "$(delivery_of 350581 "$id")"
done < "$T/late.txt"
dead() { "$REFCTL" --data "$T/$1" list --dead --json | json messages | "$PY" -c 'import json,sys; print(len(json.load(sys.stdin)))'; }
expect_eq "no dead letters at Shishi" 0 "$(dead 350581)"
expect_eq "no dead letters at Jinjiang" 0 "$(dead 350582)"
"$REFCTL" --data "$T/350581" audit export --out "$T/s.jsonl" >/dev/null
check "the acknowledgement is in Shishi's audit chain, by the admin" \
	grep -q '"event":"rollback_acknowledged".*admin-01' "$T/s.jsonl"
check "and the restore sync's count" grep -q '"event":"restore_sync".*came back' "$T/s.jsonl"
out=$("$REFCTL" --data "$T/350581" --actor admin-01 restore --acknowledge 2>&1); rc=$?
check "a second acknowledgement: nothing to acknowledge" test "$rc" -ne 0
expect_contains "saying so" "nothing to acknowledge" "$out"
check "Shishi's audit chain verifies" "$REFCTL" --data "$T/350581" audit verify
finish
