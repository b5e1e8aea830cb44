# closing.sh: the end of a case across two real nodes. A termination
# names its Art 48 ground as a code, a closing its coded outcome, and the
# file review (结案审查, CLOSED -> REVIEWED) carries the follow-up visit
# and a quality score and is made by a staff id other than the one that
# recorded the closing. Every refusal names the problem and changes
# nothing; both nodes hold the same history.
. "$(dirname "$0")/../lib.sh"
two_nodes
start 350581
start 350582
S="$REFCTL --data $T/350581 --actor staff-0107"
J="$REFCTL --data $T/350582 --actor reviewer-02"
K="$REFCTL --data $T/350582 --actor reviewer-03"

# Two referrals taken to IN_PROGRESS: one to terminate, one to close.
to_work() {
	local id
	id=$(submit 350581 350582 "$T/app.json")
	wait_for 15 in_state 350582 "$id" RECEIVED &&
	$J accept "$id" >/dev/null &&
	$J assign "$id" --firm "示例律师事务所" --lawyer "王律师" \
		--licence "13505200000000" >/dev/null &&
	$J start "$id" >/dev/null &&
	wait_for 15 in_state 350581 "$id" IN_PROGRESS && echo "$id"
}
t=$(to_work)
c=$(to_work)
check "two referrals in progress at both nodes" test -n "$t" -a -n "$c"

out=$($J terminate "$t" --reason "the applicant engaged a lawyer" 2>&1); rc=$?
check "a termination without its Art 48 ground is refused" test "$rc" -ne 0
expect_contains "naming the ground and the codes" "Art 48 ground (ground, --ground): one of deception" "$out"
out=$($J terminate "$t" --ground moved_away --reason "x" 2>&1); rc=$?
check "an unknown ground is refused" test "$rc" -ne 0
expect_contains "listing the codes" "own_lawyer" "$out"
expect_eq "and the referral stays IN_PROGRESS" IN_PROGRESS "$(state_of 350582 "$t")"
check "terminate on ground own_lawyer" $J terminate "$t" --ground own_lawyer --reason "the applicant engaged a lawyer (invented)"
check "Shishi sees TERMINATED" wait_for 15 in_state 350581 "$t" TERMINATED
ground=$($S show "$t" --json | "$PY" -c 'import json,sys; print([h.get("ground","") for h in json.load(sys.stdin)["history"] if h["state"]=="TERMINATED"][0])')
expect_eq "the origin holds the ground as a code" own_lawyer "$ground"

echo "Wages recovered in full at mediation (invented)." > "$T/report.txt"
out=$($J close "$c" --report "$T/report.txt" 2>&1); rc=$?
check "closing without a coded outcome is refused" test "$rc" -ne 0
expect_contains "naming the outcome codes" "coded outcome (outcome, --outcome): one of won" "$out"
out=$($J close "$c" --report "$T/report.txt" --outcome great 2>&1); rc=$?
check "an unknown outcome is refused" test "$rc" -ne 0
expect_eq "and the referral stays IN_PROGRESS" IN_PROGRESS "$(state_of 350582 "$c")"
check "close with outcome mediated (by reviewer-02)" $J close "$c" --report "$T/report.txt" --outcome mediated
check "Shishi sees CLOSED" wait_for 15 in_state 350581 "$c" CLOSED

out=$($J review "$c" --follow-up phone --on 2026-12-01 --score 90 2>&1); rc=$?
check "the staff id that closed the case cannot review it" test "$rc" -ne 0
expect_contains "and is told why" "other than the one that recorded the closing (reviewer-02)" "$out"
out=$($K review "$c" --on 2026-12-01 --score 90 2>&1); rc=$?
check "a review without the follow-up visit is refused" test "$rc" -ne 0
expect_contains "naming it" "follow-up visit" "$out"
out=$($K review "$c" --follow-up phone --on 1.12.2026 --score 90 2>&1); rc=$?
check "a review with a bad visit date is refused" test "$rc" -ne 0
expect_contains "naming the format" "YYYY-MM-DD" "$out"
out=$($K review "$c" --follow-up phone --on 2026-12-01 2>&1); rc=$?
check "a review without a quality score is refused" test "$rc" -ne 0
expect_contains "naming it" "quality score from 1 to 100" "$out"
out=$($K review "$c" --follow-up phone --on 2026-12-01 --score 101 2>&1); rc=$?
check "a score above 100 is refused" test "$rc" -ne 0
out=$($S review "$c" --follow-up phone --on 2026-12-01 --score 90 2>&1); rc=$?
check "the origin cannot make the receiver's file review" test "$rc" -ne 0
expect_eq "every refusal left the referral CLOSED" CLOSED "$(state_of 350582 "$c")"
check "reviewer-03 reviews the file" $K review "$c" --follow-up in_person --on 2026-12-01 --score 88 --note "applicant satisfied (invented)"
check "Shishi sees REVIEWED" wait_for 15 in_state 350581 "$c" REVIEWED
want="REQUESTED RECEIVED GRANTED ASSIGNED IN_PROGRESS CLOSED REVIEWED"
expect_eq "Jinjiang's history" "$want" "$(states_of 350582 "$c")"
expect_eq "Shishi's history is the same" "$want" "$(states_of 350581 "$c")"
rev() {
	"$REFCTL" --data "$T/$1" show "$c" --json |
		"$PY" -c 'import json,sys; h=json.load(sys.stdin)["history"]; c=[x for x in h if x["state"]=="CLOSED"][0]; r=[x for x in h if x["state"]=="REVIEWED"][0]; print(c["outcome"], c["actor"], r["actor"], r["review"]["follow_up"], r["review"]["follow_up_on"], r["review"]["quality_score"])'
}
expect_eq "the outcome, the closer, the reviewer, the visit and the score" \
	"mediated reviewer-02 reviewer-03 in_person 2026-12-01 88" "$(rev 350582)"
expect_eq "the origin holds the same" "$(rev 350582)" "$(rev 350581)"
out=$($K review "$c" --follow-up phone --on 2026-12-02 --score 70 2>&1); rc=$?
check "a reviewed file is final" test "$rc" -ne 0
expect_contains "and says so" "REVIEWED is final" "$out"
finish
