# pipe-kill.sh: libreferral's pipe (many submissions in flight on one
# connection, bench-ref1) while the origin is killed with SIGKILL three
# times and restarted: the driver keeps sending what was not answered,
# the same bytes under the same request id, so a submit the node had
# committed before it died is answered from its request table and never
# made twice. Every acknowledged submit is delivered and applied once at
# the receiver, and the origin holds exactly as many referrals as were
# asked for.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/common.sh"
COUNT=${PIPE_COUNT:-3000}
two_nodes
start 350581
start 350582
"$BUILD/tests/bench-ref1" "$T/350581" 350582 "$COUNT" 500 0 "$T/acked.txt" \
	> "$T/driver.out" 2>&1 &
driver=$!
PIDS+=("$driver")
# done_now N: the origin's outbox holds at least N messages.
done_now() {
	"$REFCTL" --data "$T/350581" status --json 2>/dev/null | "$PY" -c '
import json, sys
o = json.load(sys.stdin)["outbox"]
sys.exit(0 if o["pending"] + o["delivered"] >= int(sys.argv[1]) else 1)' "$1"
}
for k in 1 2 3; do
	# Kill once some of this round's submits are in (the node is busy).
	wait_for 60 done_now $((k * COUNT / 4)) || true
	kill9 350581
	ok "origin killed (round $k)"
	sleep 0.5
	start 350581
done
wait "$driver"; rc=$?
expect_eq "the driver had every submission acknowledged" 0 "$rc"
sed 's/^/# /' "$T/driver.out"
expect_eq "one line per acknowledged submission" "$COUNT" "$(wc -l < "$T/acked.txt")"
expect_eq "and no referral id twice" "$COUNT" "$(cut -d' ' -f1 "$T/acked.txt" | sort -u | wc -l)"
check "every acknowledged referral is delivered and RECEIVED" wait_for 120 all_received 350581 "$T/acked.txt"
expect_eq "each stored and applied exactly once" ok "$(exactly_once 350581 350582 "$T/acked.txt")"
expect_eq "the origin made exactly $COUNT referrals (a resent request made none)" \
	"$COUNT" "$("$REFCTL" --data "$T/350581" list --outbox --json | json referrals | "$PY" -c 'import json,sys; print(len(json.load(sys.stdin)))')"
finish
