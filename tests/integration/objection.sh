# objection.sh: objections (Art 49) are decided by the justice bureau from
# its own node, never by the centre that refused. Four real nodes: the
# origin (Shishi), the centre (Jinjiang, with an admin of its own), the
# bureau that oversees Jinjiang (350599) and one that does not (350598).
# The centre's staff and admin cannot object or decide; at the bureau a
# staff id not listed under objection_reviewers cannot decide, a listed
# one can; a bureau that does not oversee the centre is refused, by itself
# and, when its own directory says otherwise, by the centre.
. "$(dirname "$0")/../lib.sh"
authority
node 350581 "石狮市法律援助中心"
node 350582 "晋江市法律援助中心" "[roles]" "admins = admin-02"
bureau 350599 "晋江市司法局" 350582 bureau-0301
# Version 1, kept by 350598 alone, says it oversees Jinjiang; version 2,
# everyone else's, says it oversees Nan'an only.
bureau 350598 "南安市司法局" 350582 bureau-0401
"$REFCTL" example application > "$T/app.json"
directory 1 350581 350582 350599 350598
mkdir -p "$T/v1"; cp "$T/directory.json" "$T/directory.json.sig" "$T/v1/"
"$PY" - "$T/350598.entry.json" <<'PY'
import json, sys
e = json.load(open(sys.argv[1])); e["oversees"] = ["350583"]
json.dump(e, open(sys.argv[1], "w"), ensure_ascii=False, indent=2)
PY
directory 2 350581 350582 350599 350598
cp "$T/v1/directory.json" "$T/v1/directory.json.sig" "$T/350598/"
for c in 350581 350582 350599 350598; do start $c; done
S="$REFCTL --data $T/350581 --actor staff-0107"
J="$REFCTL --data $T/350582 --actor reviewer-02"
A="$REFCTL --data $T/350582 --actor admin-02"
B="$REFCTL --data $T/350599 --actor bureau-0301"
C="$REFCTL --data $T/350599 --actor bureau-0302"
W="$REFCTL --data $T/350598 --actor bureau-0401"
new() { local id; id=$(submit 350581 350582 "$T/app.json"); wait_for 15 in_state 350582 "$id" RECEIVED; echo "$id"; }

d=$(new)
check "Jinjiang denies" $J deny "$d" --basis "法律援助法第四十一条" --reason "income above the threshold"
check "Shishi sees DENIED" wait_for 15 in_state 350581 "$d" DENIED

out=$($J object "$d" --centre 350582 --reason "applicant disputes the income" 2>&1); rc=$?
check "the centre's staff cannot record an objection" test "$rc" -ne 0
expect_contains "and are told where it is decided" "at the justice bureau's node" "$out"
out=$($A decide-objection "$d" --grant 2>&1); rc=$?
check "the centre's own admin cannot decide one" test "$rc" -ne 0
out=$($B object "$d" --centre 350583 --reason "x" 2>&1); rc=$?
check "a bureau cannot take an objection to a centre it does not oversee" test "$rc" -ne 0
expect_contains "naming the directory's oversees" "does not oversee 350583" "$out"

# 350598's own (older) directory says it oversees Jinjiang: Jinjiang's
# does not, and refuses it.
check "350598 records an objection its own directory allows" $W object "$d" --centre 350582 --reason "applicant disputes the income"
refused_there() { $J trail "$d" --json | grep -q "350598 is not a party"; }
check "Jinjiang refuses it: 350598 does not oversee it" wait_for 20 refused_there
expect_eq "Jinjiang stays DENIED" DENIED "$(state_of 350582 "$d")"
expect_eq "and Shishi too" DENIED "$(state_of 350581 "$d")"

check "the bureau's staff record the objection" $C object "$d" --centre 350582 --reason "applicant disputes the income"
check "Jinjiang holds it as OBJECTION" wait_for 15 in_state 350582 "$d" OBJECTION
check "and Shishi, copied" wait_for 15 in_state 350581 "$d" OBJECTION
expect_contains "the objection clock runs at the centre" '"objection"' "$($J show "$d" --json | json clocks)"
out=$($B object "$d" --centre 350582 --reason "again" 2>&1); rc=$?
check "one objection on file per referral" test "$rc" -ne 0
out=$($C decide-objection "$d" --grant 2>&1); rc=$?
check "a bureau staff id not listed under objection_reviewers cannot decide" test "$rc" -ne 0
expect_contains "and is told so" "not listed under this bureau's objection_reviewers" "$out"
out=$($J accept "$d" 2>&1); rc=$?
check "nor can the centre move it itself" test "$rc" -ne 0
expect_contains "the refusal names the bureau" "justice bureau's node" "$out"
check "the listed reviewer upholds the denial" $B decide-objection "$d" --uphold --reason "income confirmed above the threshold"
check "Jinjiang sees UPHELD" wait_for 15 in_state 350582 "$d" UPHELD
check "Shishi sees UPHELD" wait_for 15 in_state 350581 "$d" UPHELD
want="REQUESTED RECEIVED DENIED OBJECTION UPHELD"
expect_eq "Jinjiang's history" "$want" "$(states_of 350582 "$d")"
expect_eq "Shishi's history is the same" "$want" "$(states_of 350581 "$d")"
by() {
	"$REFCTL" --data "$T/$1" show "$d" --json |
		"$PY" -c 'import json,sys; h=json.load(sys.stdin)["history"]; print(" ".join("%s:%s:%s" % (x["state"], x["by"], x.get("actor","")) for x in h[-2:]))'
}
expect_eq "both made at the bureau's node, by whom" \
	"OBJECTION:350599:bureau-0302 UPHELD:350599:bureau-0301" "$(by 350582)"
expect_eq "the origin holds the same" "$(by 350582)" "$(by 350581)"
expect_eq "the bureau's own file" UPHELD "$(state_of 350599 "$d")"

g=$(new)
check "Jinjiang denies a second" $J deny "$g" --basis "法律援助法第四十一条" --reason "materials insufficient"
check "Shishi sees DENIED" wait_for 15 in_state 350581 "$g" DENIED
check "objection" $C object "$g" --centre 350582 --reason "new evidence of hardship"
check "Jinjiang sees OBJECTION" wait_for 15 in_state 350582 "$g" OBJECTION
check "the reviewer grants aid" $B decide-objection "$g" --grant
check "Jinjiang sees GRANTED" wait_for 15 in_state 350582 "$g" GRANTED
check "Shishi sees GRANTED" wait_for 15 in_state 350581 "$g" GRANTED
check "and Jinjiang assigns a lawyer" $J assign "$g" --firm "示例律师事务所" --lawyer "王律师" --licence "13505200000000"
check "Shishi sees ASSIGNED" wait_for 15 in_state 350581 "$g" ASSIGNED
expect_eq "one history" "$(states_of 350582 "$g")" "$(states_of 350581 "$g")"

# The centre checks the decider itself: a decision signed with the
# bureau's own keys (tests/peersim) by a staff id that is not listed
# under its objection_reviewers is refused, and nothing moves.
k=$(new)
check "a fourth denied" $J deny "$k" --basis "法律援助法第四十一条" --reason "materials insufficient"
check "objection" $C object "$k" --centre 350582 --reason "new evidence of hardship"
check "Jinjiang sees OBJECTION" wait_for 15 in_state 350582 "$k" OBJECTION
out=$("$PEERSIM" --data "$T/350599" --to 350582 --case status --referral "$k" \
	--state GRANTED --from-state OBJECTION --seq 2 --role bureau)
expect_contains "a decision by an unlisted staff id, with the bureau's keys: REFUSED" "status=REFUSED verified=yes" "$out"
expect_contains "naming the reviewers' list" "not listed under 350599's objection_reviewers" "$out"
expect_eq "Jinjiang stays OBJECTION" OBJECTION "$(state_of 350582 "$k")"

# The origin is down while the bureau grants aid and the centre assigns,
# and the bureau is down when the origin comes back: the centre's ASSIGNED
# reaches the origin before the bureau's copy of the grant. It waits,
# unanswered, and applies once the copy has arrived.
h=$(new)
check "a third denied" $J deny "$h" --basis "法律援助法第四十一条" --reason "materials insufficient"
check "objection" $C object "$h" --centre 350582 --reason "new evidence of hardship"
check "Shishi sees OBJECTION" wait_for 15 in_state 350581 "$h" OBJECTION
stop 350581
check "the reviewer grants aid, Shishi down" $B decide-objection "$h" --grant
check "Jinjiang sees GRANTED" wait_for 15 in_state 350582 "$h" GRANTED
check "Jinjiang assigns" $J assign "$h" --firm "示例律师事务所" --lawyer "王律师" --licence "13505200000000"
stop 350599
start 350581
waits() { grep -q "referral=$h: 350582's change from GRANTED waits" "$T/350581.log"; }
check "Jinjiang's ASSIGNED waits at Shishi for the bureau's grant" wait_for 30 waits
expect_eq "Shishi still holds the objection" OBJECTION "$(state_of 350581 "$h")"
start 350599
check "with the bureau back, Shishi ends ASSIGNED" wait_for 30 in_state 350581 "$h" ASSIGNED
expect_eq "one history, step for step" "$(states_of 350582 "$h")" "$(states_of 350581 "$h")"
expect_eq "which is" "REQUESTED RECEIVED DENIED OBJECTION GRANTED ASSIGNED" "$(states_of 350581 "$h")"
finish
