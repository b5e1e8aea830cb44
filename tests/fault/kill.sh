# kill.sh: SIGKILL of the sender or the receiver at random moments under
# sustained traffic, FAULT_ROUNDS times (20 here; scripts/soak.sh runs 500):
# every referral that submit acknowledged is delivered and stored exactly
# once, and the RECEIVED change each one sends back is applied exactly
# once. Then the receiver decides and assigns while the origin is killed
# again and again: every origin holds each referral's history in order,
# each step once.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/common.sh"
ROUNDS=${FAULT_ROUNDS:-20}
SEED=${FAULT_SEED:-$$}
echo "rounds=$ROUNDS seed=$SEED (FAULT_SEED=$SEED repeats this run)"
RANDOM=$SEED
two_nodes
fault_apps
start 350581
start 350582
load() {
	"$BUILD/tests/fault-submit" "$T/350581" 350582 0 "$T/acked.txt" \
		"$T/ordinary.json" "$T/green.json" "$T/urgent.json" 10 4 "$T/stop" \
		>> "$T/load.out" 2>&1
}
load &
loadpid=$!
PIDS+=("$loadpid")   # stopped with the nodes if the test ends early
kills_s=0; kills_r=0
# FAULT_SIZES=N: every N rounds, each node's store (bytes in use) and
# dedup entries, to show the dedup table flat once its horizon has passed
# (scripts/soak.sh with SOAK_LIFETIME_MS).
t_start=$(date +%s)
sizes() {
	local o r
	o=$("$REFCTL" --data "$T/350581" status --json 2>/dev/null) || return 0
	r=$("$REFCTL" --data "$T/350582" status --json 2>/dev/null) || return 0
	# Bytes per referral held: level when all that grows is the
	# referrals themselves (each kept whole: retention purges them).
	local rb ri
	rb=$(echo "$r" | json store.used_bytes); ri=$(echo "$r" | json inbox)
	echo "sizes round=$1 t=$(( $(date +%s) - t_start ))s" \
		"receiver_bytes_per_referral=$(( ri > 0 ? rb / ri : 0 ))" \
		"sender_bytes=$(echo "$o" | json store.used_bytes)" \
		"sender_seen=$(echo "$o" | json dedup.seen)" \
		"receiver_bytes=$(echo "$r" | json store.used_bytes)" \
		"receiver_seen=$(echo "$r" | json dedup.seen)" \
		"receiver_inbox=$(echo "$r" | json inbox)"
}
for r in $(seq "$ROUNDS"); do
	[ -n "${FAULT_SIZES:-}" ] && [ $((r % FAULT_SIZES)) -eq 0 ] && sizes "$r"
	sleep "0.$((RANDOM % 9 + 1))"
	if [ $((RANDOM % 2)) -eq 0 ]; then victim=350581; kills_s=$((kills_s + 1))
	else victim=350582; kills_r=$((kills_r + 1)); fi
	kill9 "$victim"
	sleep "0.$((RANDOM % 5))"
	start "$victim"
done
touch "$T/stop"
wait "$loadpid"
acked=$(wc -l < "$T/acked.txt")
echo "killed the sender $kills_s times and the receiver $kills_r times; $acked submissions acknowledged"
cat "$T/load.out"
check "the load went on through the kills ($acked acknowledged)" test "$acked" -ge "$ROUNDS"
check "every acknowledged referral is RECEIVED at the origin" wait_for 120 all_received 350581 "$T/acked.txt"
expect_eq "each delivered and applied exactly once" ok "$(exactly_once 350581 350582 "$T/acked.txt")"

# ---- status changes in order while the origin is killed
head -n 12 "$T/acked.txt" | cut -d' ' -f1 > "$T/moved.txt"
J="$REFCTL --data $T/350582 --actor reviewer-02"
(
	while read -r id; do
		$J accept "$id" >/dev/null 2>&1
		$J assign "$id" --firm "示例律师事务所" --lawyer "王示例" --licence 13505200000000 >/dev/null 2>&1
		$J start "$id" >/dev/null 2>&1
	done < "$T/moved.txt"
	touch "$T/moves.done"
) &
movepid=$!
for r in $(seq $((ROUNDS / 2))); do
	sleep "0.$((RANDOM % 9 + 1))"
	kill9 350581
	sleep "0.$((RANDOM % 5))"
	start 350581
done
wait "$movepid"
check "each moved referral's history at both nodes: each step once, in order" wait_for 90 history_ok
finish
