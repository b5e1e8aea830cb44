# priority.sh: urgent referrals, then the green channel, leave the outbox
# first under a backlog and head the receiver's list; a county's rule pack
# gives a recommendation on receipt, never a decision.
. "$(dirname "$0")/../lib.sh"
authority
node 350581 "石狮市法律援助中心"
node 350582 "晋江市法律援助中心" "[eligibility]" "rules = rules.ini"
cat > "$T/350582/rules.ini" <<'R'
[hardship]
threshold_yuan = 1780
[exempt]
categories = migrant_worker_wages, minimum_allowance, extreme_poverty
[no_condition]
categories = domestic_violence, abuse, abandonment
[commitment]
accepted = yes
R
directory 1 350581 350582
fault_apps
start 350581
ids=()
for kind in ordinary green ordinary urgent green ordinary; do
	ids+=("$kind:$(submit 350581 350582 "$T/$kind.json")")
done
start 350582
for e in "${ids[@]}"; do
	check "delivered ${e%%:*}" wait_for 20 is_delivered 350581 "${e#*:}"
done
order=$("$REFCTL" --data "$T/350582" list --inbox --json |
	"$PY" -c 'import json,sys; print(" ".join(r["priority"] for r in json.load(sys.stdin)["referrals"]))')
expect_eq "the inbox lists urgent, then green channel, then the rest" \
	"urgent green_channel green_channel ordinary ordinary ordinary" "$order"
# Arrival order at the receiver: its audit sequence of "received".
first=""
for e in "${ids[@]}"; do
	seq=$("$REFCTL" --data "$T/350582" trail "${e#*:}" --json |
		"$PY" -c 'import json,sys; print([x["seq"] for x in json.load(sys.stdin)["events"] if x["event"]=="received"][0])')
	first="$first$seq ${e%%:*}\n"
done
sorted=$(printf "$first" | sort -n | awk '{print $2}' | tr '\n' ' ')
expect_eq "the backlog left urgent first, then green channel" \
	"urgent green green ordinary ordinary ordinary " "$sorted"
show=$("$REFCTL" --data "$T/350582" show "${ids[1]#*:}" --json)
expect_eq "exempt migrant worker: eligible" eligible "$(echo "$show" | json recommendation.outcome)"
expect_contains "naming the rule" "exempt from the means test" "$(echo "$show" | json recommendation.rule)"
show=$("$REFCTL" --data "$T/350582" show "${ids[0]#*:}" --json)
expect_eq "income above the threshold: for review" review "$(echo "$show" | json recommendation.outcome)"
expect_eq "a recommendation, not a decision" RECEIVED "$(echo "$show" | json state)"
expect_contains "on the trail" "eligibility" "$("$REFCTL" --data "$T/350582" trail "${ids[0]#*:}" --json)"
finish
