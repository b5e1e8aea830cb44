# lifecycle-branches.sh: deny with reason and basis; cancel by the origin;
# an onward referral to a third county; aid first (Art 44).
. "$(dirname "$0")/../lib.sh"
authority
node 350581 "石狮市法律援助中心"
node 350582 "晋江市法律援助中心"
node 350583 "南安市法律援助中心"
directory 1 350581 350582 350583
"$REFCTL" example application > "$T/app.json"
start 350581
start 350582
start 350583
S="$REFCTL --data $T/350581 --actor staff-0107"
J="$REFCTL --data $T/350582 --actor reviewer-02"
new() { local id; id=$(submit 350581 350582 "$T/app.json"); wait_for 15 in_state 350582 "$id" RECEIVED; echo "$id"; }

# Deny: reason and legal basis required, and the basis must name an article.
# (Objections, decided at the justice bureau's node: objection.sh.)
d=$(new)
out=$($J deny "$d" --reason "income above the threshold" 2>&1)
expect_contains "deny without a basis is refused" "needs the legal basis" "$out"
out=$($J deny "$d" --basis "the rules" --reason "income above the threshold" 2>&1)
expect_contains "a basis that names no article is refused" "must name an article" "$out"
out=$($J deny "$d" --basis "依照规定" --reason "income above the threshold" 2>&1)
expect_contains "Chinese text without an article is refused too" "must name an article" "$out"
check "deny" $J deny "$d" --basis "法律援助法第四十一条" --reason "income above the threshold"
check "Shishi sees DENIED" wait_for 15 in_state 350581 "$d" DENIED
expect_contains "with the reason" "income above the threshold" "$($S show "$d" --json)"

# Cancel by the origin (the applicant withdrew), before any service.
c=$(new)
out=$($S cancel "$c" 2>&1)
expect_contains "cancel needs a reason" "needs a reason" "$out"
check "origin cancels" $S cancel "$c" --reason "applicant withdrew"
check "Jinjiang sees CANCELLED" wait_for 15 in_state 350582 "$c" CANCELLED
check "and confirms it to Shishi" wait_for 15 in_state 350581 "$c" CANCELLED
expect_eq "one history on both nodes" "$(states_of 350582 "$c")" "$(states_of 350581 "$c")"

# Cancelled while the receiver is down: the cancel must not overtake the
# referral itself, and both nodes must end CANCELLED.
stop 350582
x=$(submit 350581 350582 "$T/app.json")
check "origin cancels before delivery" $S cancel "$x" --reason "applicant withdrew"
start 350582
check "Jinjiang ends CANCELLED" wait_for 20 in_state 350582 "$x" CANCELLED
check "Shishi ends CANCELLED" wait_for 20 in_state 350581 "$x" CANCELLED
expect_eq "and both hold one history" "$(states_of 350582 "$x")" "$(states_of 350581 "$x")"
expect_eq "the cancel is the origin's" 350581 \
	"$($S show "$x" --json | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["history"][-1]["by"])')"

# A cancel the receiver cannot apply any more (the service has started)
# is refused there and changes nothing on either side.
y=$(new)
check "accept" $J accept "$y"
check "assign" $J assign "$y" --firm f --lawyer l --licence 13505200000002
check "start" $J start "$y"
check "Shishi sees IN_PROGRESS" wait_for 15 in_state 350581 "$y" IN_PROGRESS
out=$($S cancel "$y" --reason "too late" 2>&1)
expect_contains "the origin cannot cancel once the service started" "is IN_PROGRESS" "$out"
expect_eq "both still IN_PROGRESS" "IN_PROGRESS IN_PROGRESS" "$(state_of 350581 "$y") $(state_of 350582 "$y")"

# Onward: Jinjiang has no jurisdiction; a new linked referral to Nan'an.
o=$(new)
out=$($J --json refer-onward "$o" --to 350583 --reason "the employer is in Nan'an")
onward=$(echo "$out" | json referral_id)
check "a new referral id for the onward county" test "${onward:0:7}" = "350582-"
check "Nan'an receives it" wait_for 15 in_state 350583 "$onward" RECEIVED
check "Shishi sees REFERRED_ONWARD" wait_for 15 in_state 350581 "$o" REFERRED_ONWARD
expect_eq "linked back to the original" "$o" \
	"$("$REFCTL" --data "$T/350582" show "$onward" --json | json linked_from)"
expect_contains "the origin learns the new id" "$onward" "$($S show "$o" --json)"

# Aid first (Art 44): only for an urgent case, granted while the
# materials are still owed.
q=$(new)
check "notice" $J request-materials "$q" --item "ID card copy"
out=$($J pre-aid "$q" --reason "no urgency" 2>&1)
expect_contains "aid first refused for a case that is not urgent" "is for urgent cases" "$out"
"$PY" - "$T/app.json" "$T/urgent.json" <<'PY'
import json,sys; a=json.load(open(sys.argv[1])); a["matter"]["urgency"]=["limitation_near"]; json.dump(a,open(sys.argv[2],"w"))
PY
p=$(submit 350581 350582 "$T/urgent.json")
check "urgent referral received" wait_for 15 in_state 350582 "$p" RECEIVED
check "notice" $J request-materials "$p" --item "ID card copy"
out=$($J accept "$p" 2>&1)
expect_contains "a plain grant is refused while awaiting" "Moves open from AWAITING_MATERIALS" "$out"
check "pre-aid" $J pre-aid "$p" --reason "limitation period ends in 5 days"
check "Shishi sees GRANTED" wait_for 15 in_state 350581 "$p" GRANTED
expect_contains "marked aid first" '"aid_first": true' "$($S show "$p" --json)"
finish
