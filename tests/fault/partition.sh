# partition.sh: the link between two nodes loses, repeats, delays and
# reorders frames, and is cut for a while: every referral that submit
# acknowledged is delivered and stored exactly once, the RECEIVED change
# each one sends back is applied exactly once, and the receiver's later
# moves reach the origin each once and in order.
#
# Two faultproxy processes sit between the nodes, one each way: Jinjiang's
# (350582) directory entry advertises one proxy's port, so Shishi's
# submits and their receipts go through it; Shishi's (350581) entry
# advertises the other, which carries Jinjiang's status changes and their
# receipts. Both drop 20%, duplicate 20%, delay up to 300 ms and hold back
# 20% of the frames each way; while $T/partition exists they drop
# everything. Their counts show every fault happened, so the test cannot
# pass with a proxy that did nothing.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/common.sh"
PROXY=$BUILD/tests/faultproxy
SEED=${FAULT_SEED:-$$}
# Three batches of submissions: before the cut, during it, after it. A
# sanitizer build gets a lighter load, as scripts/test.sh gives the other
# fault tests: every open referral costs its node time at each deadline
# check, and the sanitizers multiply that cost.
if ldd "$REFERRALD" 2>/dev/null | grep -q 'libasan'; then
	BATCH=${FAULT_BATCH:-40}
else
	BATCH=${FAULT_BATCH:-120}
fi
echo "seed=$SEED batch=$BATCH (FAULT_SEED=$SEED repeats the proxies' choices)"

authority
node 350581 "石狮市法律援助中心"
node 350582 "晋江市法律援助中心"
port81=$(free_port)
port82=$(free_port)
# Each node listens where lib.sh put it; the directory sends its peer to
# the proxy in front of it instead.
front 350581 "$port81" 350582 "$port82"
directory 1 350581 350582
fault_apps

# proxy NAME PORT TARGET_CODE SENDER_CODE SEED
proxy() {
	"$PROXY" --listen "tcp://127.0.0.1:$2" --target "$(listen_of "$3")" \
		--server-data "$T/$3" --client-data "$T/$4" \
		--drop 20 --dup 20 --delay-ms 300 --reorder 20 --seed "$5" \
		--partition-file "$T/partition" --stats-file "$T/$1.stats" \
		2>> "$T/$1.log" &
	PIDS+=($!)
	eval "PID_$1=$!"
}
proxy to82 "$port82" 350582 350581 "$SEED"
proxy to81 "$port81" 350581 350582 "$((SEED + 1))"
start 350581
start 350582

load() {
	"$BUILD/tests/fault-submit" "$T/350581" 350582 "$1" "$T/acked.txt" \
		"$T/ordinary.json" "$T/green.json" "$T/urgent.json" 10 4 \
		>> "$T/load.out" 2>&1
}
t0=$(date +%s)
load "$BATCH"
# Submits are local, so they go on while the link is cut; it stays cut
# for five seconds, however long the batch takes.
touch "$T/partition"
load "$BATCH" &
loadpid=$!
sleep 5
rm -f "$T/partition"
wait "$loadpid"
load "$BATCH"
acked=$(wc -l < "$T/acked.txt")
echo "$acked submissions acknowledged in $(( $(date +%s) - t0 )) s"
cat "$T/load.out"
expect_eq "every submission was acknowledged" "$((3 * BATCH))" "$acked"
# all_delivered: every acknowledged referral has its receipt at the
# origin. A lost receipt can leave a submit pending after its RECEIVED
# change has come the other way; the resend's DUPLICATE receipt ends it.
all_delivered() {
	"$REFCTL" --data "$T/350581" list --outbox --json 2>/dev/null | "$PY" -c '
import json, sys
st = {r["referral_id"]: r["delivery"] for r in json.load(sys.stdin)["referrals"]}
ids = [l.split()[0] for l in open(sys.argv[1]) if l.strip()]
sys.exit(0 if all(st.get(i) == "delivered" for i in ids) else 1)' "$T/acked.txt"
}
check "every acknowledged referral is RECEIVED at the origin" \
	wait_for 60 all_received 350581 "$T/acked.txt"
check "every acknowledged referral is delivered (receipted)" \
	wait_for 30 all_delivered
echo "all received $(( $(date +%s) - t0 )) s after the load began"
expect_eq "each delivered and applied exactly once" ok \
	"$(exactly_once 350581 350582 "$T/acked.txt")"

# ---- the receiver's moves, through the same lossy link
head -n 12 "$T/acked.txt" | cut -d' ' -f1 > "$T/moved.txt"
J="$REFCTL --data $T/350582 --actor reviewer-02"
moved=0
while read -r id; do
	$J accept "$id" >/dev/null &&
	$J assign "$id" --firm "示例律师事务所" --lawyer "王示例" \
		--licence 13505200000000 >/dev/null &&
	$J start "$id" >/dev/null && moved=$((moved + 1))
done < "$T/moved.txt"
expect_eq "the receiver made every move" 12 "$moved"
check "each moved referral's history at both nodes: each step once, in order" \
	wait_for 60 history_ok
if ! history_ok; then
	while read -r id; do
		echo "$id: 350581 [$(states_of 350581 "$id")] 350582 [$(states_of 350582 "$id")]"
	done < "$T/moved.txt"
fi
expect_eq "still each delivered and applied exactly once" ok \
	"$(exactly_once 350581 350582 "$T/acked.txt")"
held=0
while read -r id; do
	held=$((held + $(events_of 350581 "$id" held)))
done < "$T/moved.txt"
echo "moves settled $(( $(date +%s) - t0 )) s after the load began;" \
	"$held came early to the origin and were held for their turn"

# ---- the proxies did what they were told
for px in to82 to81; do
	eval "pid=\$PID_$px"
	kill -TERM "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	echo "$px: $(cat "$T/$px.stats")"
	for what in forwarded dropped duplicated delayed reordered partitioned; do
		n=$(json "$what" < "$T/$px.stats")
		# The submits go on through the cut, so to82 always meets it;
		# the receiver may have nothing left to send in those five
		# seconds (a loaded machine receipts the batch before them).
		if [ "$px$what" = to81partitioned ] && [ "${n:-0}" -eq 0 ]; then
			echo "# proxy to81: nothing came from Jinjiang while the link was cut (it had nothing to send)"
			continue
		fi
		check "proxy $px: $what > 0 ($n)" test "${n:-0}" -gt 0
	done
done
finish
