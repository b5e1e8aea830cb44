# skew.sh: a sender whose clock runs an hour ahead, past the replay window
# (the test clock, REFERRAL_CLOCK_OFFSET_MS, moves only this node's time,
# as faketime would): the receiver answers STALE and logs by how much; the
# sender logs the refusal and keeps the message as a dead letter, which is
# sent again once its clock is right. Nothing is applied twice.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/common.sh"
two_nodes
fault_apps
start 350582
REFERRAL_CLOCK_OFFSET_MS=3600000 start 350581
: > "$T/acked.txt"
"$BUILD/tests/fault-submit" "$T/350581" 350582 3 "$T/acked.txt" \
	"$T/ordinary.json" "$T/green.json" "$T/urgent.json" > /dev/null
dead3() { [ "$("$REFCTL" --data "$T/350581" list --dead --json | json messages |
	"$PY" -c 'import json,sys; print(len(json.load(sys.stdin)))')" = 3 ]; }
check "the 3 referrals are refused and become dead letters" wait_for 30 dead3
expect_contains "the receiver logs the skew" "in the future, more than the allowed 300000 ms of clock skew" "$(cat "$T/350582.log")"
expect_contains "the sender logs the refusal and the skew" "receipt=STALE (not delivered: \"created" "$(cat "$T/350581.log")"
expect_contains "and what to check" "check this node's clock" "$(cat "$T/350581.log")"
out=$("$REFCTL" --data "$T/350581" list --dead)
expect_contains "list --dead says why" "STALE" "$out"
expect_eq "nothing was stored at the receiver" 0 "$(inbox_count 350582)"
stop 350581
start 350581   # the clock is right again
"$REFCTL" --data "$T/350581" --actor admin-01 requeue --all >/dev/null
check "sent again, they arrive" wait_for 30 all_received 350581 "$T/acked.txt"
expect_eq "each exactly once" ok "$(exactly_once 350581 350582 "$T/acked.txt")"
finish
