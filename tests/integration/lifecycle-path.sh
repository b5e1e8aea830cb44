# lifecycle-path.sh: the whole path across two real nodes: REQUESTED ->
# RECEIVED -> AWAITING_MATERIALS -> RECEIVED -> GRANTED -> ASSIGNED ->
# IN_PROGRESS -> CLOSED, each move made by its party, and both nodes
# holding the same history.
. "$(dirname "$0")/../lib.sh"
two_nodes
start 350581
start 350582
S="$REFCTL --data $T/350581 --actor staff-0107"
J="$REFCTL --data $T/350582 --actor reviewer-02"
id=$(submit 350581 350582 "$T/app.json")
check "received at Jinjiang" wait_for 15 in_state 350582 "$id" RECEIVED
check "Shishi sees RECEIVED" wait_for 15 in_state 350581 "$id" RECEIVED

check "one-time notice" $J request-materials "$id" --item "labour contract copy" --item "wage slips for March to August"
check "Shishi sees the notice" wait_for 15 in_state 350581 "$id" AWAITING_MATERIALS
show=$($S show "$id" --json)
expect_contains "the notice lists every item" "wage slips for March to August" "$show"
out=$($J request-materials "$id" --item "one more" 2>&1); rc=$?
check "a second notice in the same round is refused" test "$rc" -ne 0
expect_contains "and names the state and the moves open" "is AWAITING_MATERIALS" "$out"
clocks=$($J show "$id" --json)
expect_contains "the review clock is paused" '"status": "paused"' "$clocks"

echo "signed labour contract (invented)" > "$T/contract.txt"
check "Shishi relays the supplement" $S supplement "$id" --doc "$T/contract.txt"
check "Jinjiang back to RECEIVED" wait_for 15 in_state 350582 "$id" RECEIVED
check "and Shishi, once Jinjiang confirms it" wait_for 15 in_state 350581 "$id" RECEIVED
check "accept" $J accept "$id"
check "assign" $J assign "$id" --firm "示例律师事务所" --lawyer "王律师" --licence "13505200000000"
check "start" $J start "$id"
echo "Wages recovered in full at mediation (invented)." > "$T/report.txt"
check "close" $J close "$id" --report "$T/report.txt" --outcome mediated
check "Shishi sees CLOSED" wait_for 15 in_state 350581 "$id" CLOSED

want="REQUESTED RECEIVED AWAITING_MATERIALS RECEIVED GRANTED ASSIGNED IN_PROGRESS CLOSED"
expect_eq "Jinjiang's history" "$want" "$(states_of 350582 "$id")"
expect_eq "Shishi's history is the same" "$want" "$(states_of 350581 "$id")"
full() {
	"$REFCTL" --data "$T/$1" show "$id" --json |
		"$PY" -c 'import json,sys; print(json.dumps([[h["state"],h["by"],h["at"],h.get("from","")] for h in json.load(sys.stdin)["history"]]))'
}
expect_eq "every step agrees: state, who moved it, when, from what" \
	"$(full 350582)" "$(full 350581)"
expect_eq "the clocks agree" \
	"$($J show "$id" --json | json clocks)" "$($S show "$id" --json | json clocks)"
show=$($S show "$id" --json)
expect_contains "the origin sees the assignment" "13505200000000" "$show"
expect_contains "and the closing report" "Wages recovered" "$show"
expect_eq "no clock runs after closing" "[]" "$(echo "$show" | json clocks)"
out=$($J start "$id" 2>&1); rc=$?
check "a closed referral moves no more" test "$rc" -ne 0
expect_contains "and names the one move left, the file review" "Moves open from CLOSED: REVIEWED" "$out"
trail=$($J trail "$id" --json)
expect_contains "moves are on the trail with their actor" "reviewer-02" "$trail"
finish
