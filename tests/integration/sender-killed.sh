# sender-killed.sh: Shishi is killed with SIGKILL right after submit
# returned; after its restart the referral is delivered, once.
. "$(dirname "$0")/../lib.sh"
two_nodes
start 350582
start 350581
ids=()
for i in 1 2 3; do
	ids+=("$(submit 350581 350582 "$T/app.json")")
	kill9 350581
	start 350581
done
for id in "${ids[@]}"; do
	check "delivered after restart: $id" wait_for 20 is_delivered 350581 "$id"
done
sleep 2
expect_eq "each applied once" 3 "$(inbox_count 350582)"
check "the store checks clean after the kills" "$REFCTL" --data "$T/350581" status --json
finish
