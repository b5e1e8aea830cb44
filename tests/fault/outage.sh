# outage.sh: a receiver offline while its backlog grows to FAULT_BACKLOG
# referrals (10,000): after it returns the backlog drains, urgent ones
# first, then the green channel, each stored once. Then a receiver offline
# past the message lifetime (the test clock moves both nodes 15 days on):
# the messages go dead, `refctl list --dead` shows them with the reason,
# and `refctl requeue --all` sends them again, signed anew, each applied
# once; a second requeue finds nothing.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/common.sh"
N=${FAULT_BACKLOG:-10000}
two_nodes
fault_apps
start 350581
t0=$(date +%s)
"$BUILD/tests/fault-submit" "$T/350581" 350582 "$N" "$T/acked.txt" \
	"$T/ordinary.json" "$T/green.json" "$T/urgent.json" 50 10 > "$T/load.out" 2>&1
t1=$(date +%s)
expect_eq "$N referrals acknowledged while Jinjiang is offline ($((t1 - t0)) s)" "$N" "$(wc -l < "$T/acked.txt")"
expect_eq "all pending" "$N" "$("$REFCTL" --data "$T/350581" status --json | json outbox.pending)"
start 350582
t2=$(date +%s)
pending() { "$REFCTL" --data "$T/350581" status --json | json outbox.pending; }
drained() { [ "$(pending)" = 0 ]; }
check "the backlog drains after Jinjiang returns" wait_for 600 drained
t3=$(date +%s)
echo "backlog of $N drained in $((t3 - t2)) s"
check "and every one is RECEIVED at the origin" wait_for 120 all_received 350581 "$T/acked.txt"
expect_eq "each stored and applied exactly once" ok "$(exactly_once 350581 350582 "$T/acked.txt")"
# Arrival order at Jinjiang, from its audit chain, against each referral's priority.
order=$("$PY" - "$T/acked.txt" "$T/r.jsonl" <<'PY'
import json, sys
prio = dict(l.split() for l in open(sys.argv[1]) if l.strip())
seq = [prio[e["referral_id"]] for e in map(json.loads, open(sys.argv[2]))
       if e["event"] == "received" and e["detail"] == "REFERRAL_SUBMIT" and e["referral_id"] in prio]
first = {p: seq.index(p) for p in "012" if p in seq}
last = {p: len(seq) - 1 - seq[::-1].index(p) for p in "012" if p in seq}
print(f"urgent {seq.count('2')} arrived {first['2']}..{last['2']}, green {seq.count('1')} "
      f"{first['1']}..{last['1']}, ordinary {seq.count('0')} {first['0']}..{last['0']}")
print("ok" if last["2"] < first["0"] and last["1"] < first["0"] and last["2"] < first["1"] else "out of order")
PY
)
echo "$order" | head -n 1
in_order=$(echo "$order" | tail -n 1)
expect_eq "urgent first, then the green channel, then the rest" ok "$in_order"
if [ "$in_order" != ok ]; then
	# What the links did meanwhile: a connection lost, a peer found
	# down and back, a message not stored, each says why the order broke.
	for c in 350581 350582; do
		echo "# $c's log, links and problems:"
		grep -E " (warn|error) | net |reachable again" "$T/$c.log" |
			grep -vE "deadline|calendar" | head -n 40
	done
fi

# ---- past the message lifetime: dead letters, then requeued
stop 350582
: > "$T/late.txt"
"$BUILD/tests/fault-submit" "$T/350581" 350582 5 "$T/late.txt" \
	"$T/ordinary.json" "$T/green.json" "$T/urgent.json" > /dev/null
stop 350581
export REFERRAL_CLOCK_OFFSET_MS=$((15 * 86400000))
start 350581
# Only the 5 referrals' messages count: an audit checkpoint Shishi sent
# Jinjiang just before it stopped may die with them (and be requeued).
late() { # reads a JSON list on stdin: how many are about the 5 referrals
	"$PY" -c 'import json,sys
late = {l.split()[0] for l in open(sys.argv[1]) if l.strip()}
print(sum(1 for m in json.load(sys.stdin) if m["referral_id"] in late))' "$T/late.txt"
}
dead_count() { "$REFCTL" --data "$T/350581" list --dead --json | json messages | late; }
dead_is() { [ "$(dead_count)" = "$1" ]; }
check "15 days on, the 5 are dead letters" wait_for 20 dead_is 5
out=$("$REFCTL" --data "$T/350581" list --dead)
expect_contains "list --dead says why" "no receipt within the message lifetime" "$out"
start 350582
out=$("$REFCTL" --data "$T/350581" --actor admin-01 requeue --all --json); rc=$?
expect_eq "requeue --all: exit 0" 0 "$rc"
expect_eq "5 sent again" 5 "$(echo "$out" | json requeued | late)"
expect_eq "no dead letters left" 0 "$(dead_count)"
check "they are delivered and RECEIVED" wait_for 30 all_received 350581 "$T/late.txt"
cat "$T/late.txt" >> "$T/acked.txt"
expect_eq "still each stored and applied exactly once" ok "$(exactly_once 350581 350582 "$T/acked.txt")"
out=$("$REFCTL" --data "$T/350581" requeue --all --json)
expect_eq "a second requeue finds nothing" 0 "$(echo "$out" | json requeued | "$PY" -c 'import json,sys; print(len(json.load(sys.stdin)))')"
"$REFCTL" --data "$T/350581" audit export --out "$T/s.jsonl" >/dev/null
expect_eq "each requeue is in the audit chain, with who asked" 5 "$(grep '"event":"requeued".*"actor":"admin-01"' "$T/s.jsonl" |
	"$PY" -c 'import json,sys; print(json.dumps([json.loads(l) for l in sys.stdin]))' | late)"
finish
