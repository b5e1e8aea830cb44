# sender-killed.sh: Shishi is killed with SIGKILL right after submit
# returned; after its restart the referral is delivered, once. The
# receiver is down while the sender dies, so nothing can have gone out
# before the kill: delivery must come from the restarted sender's store.
. "$(dirname "$0")/../lib.sh"
two_nodes
start 350581
ids=()
for i in 1 2 3; do
	ids+=("$(submit 350581 350582 "$T/app.json")")
	kill9 350581
	start 350581
done
expect_eq "acknowledged referrals survived the kills" 3 \
	"$("$REFCTL" --data "$T/350581" status --json | json outbox.pending)"
start 350582
for id in "${ids[@]}"; do
	check "delivered after restart: $id" wait_for 20 is_delivered 350581 "$id"
done
# Then with the receiver up: killed right after submit, racing the send.
for i in 1 2 3; do
	ids+=("$(submit 350581 350582 "$T/app.json")")
	kill9 350581
	start 350581
done
for id in "${ids[@]}"; do
	check "delivered: $id" wait_for 20 is_delivered 350581 "$id"
done
sleep 2
expect_eq "six referrals at the receiver" 6 "$(inbox_count 350582)"
for id in "${ids[@]}"; do
	expect_eq "applied once at the receiver: $id" 1 "$(events_of 350582 "$id" received)"
	expect_eq "one deciding receipt at the sender: $id" 1 "$(events_of 350581 "$id" receipt)"
done
finish
