# lifecycle-law.sh: where the lifecycle follows DOMAIN.md and the Legal
# Aid Law beyond the table's edges, across two real nodes: the materials
# stay owed after aid first (Art 44); the receiving centre's own urgency
# finding, which raises the referral's priority; the receiver cancels only
# to record the applicant's written withdrawal; materials are asked for
# once (a further round needs a reason and is marked, and a notice sent
# after the review fell due keeps the case overdue); and at the origin, a
# change marked as the origin's stands only if the origin asked for it.
. "$(dirname "$0")/../lib.sh"
two_nodes
start 350581
start 350582
S="$REFCTL --data $T/350581 --actor staff-0107"
J="$REFCTL --data $T/350582 --actor reviewer-02"
new() { local id; id=$(submit 350581 350582 "$T/app.json"); wait_for 15 in_state 350581 "$id" RECEIVED; echo "$id"; }
field() { "$REFCTL" --data "$T/$1" show "$2" --json | json "$3"; }
last_step() { # CODE ID KEY: KEY of the last history step
	"$REFCTL" --data "$T/$1" show "$2" --json |
		"$PY" -c 'import json,sys; print(json.load(sys.stdin)["history"][-1].get(sys.argv[1], ""))' "$3"
}
echo "signed labour contract (invented)" > "$T/contract.txt"

# 2. The urgency finding (Art 44), made by the receiving centre's staff.
u=$(new)
before=$(field 350582 "$u" priority)
check "not urgent yet ($before)" test "$before" != urgent
check "notice of missing materials" $J request-materials "$u" --item "ID card copy" --item "wage slips"
check "origin sees it" wait_for 15 in_state 350581 "$u" AWAITING_MATERIALS
out=$($J pre-aid "$u" --reason "limitation period ends in 5 days" 2>&1)
expect_contains "aid first refused before any urgency finding" "is for urgent cases" "$out"
out=$($J mark-urgent "$u" --ground soon --reason "limitation period ends in 5 days" 2>&1); rc=$?
check "an unknown ground is refused" test "$rc" -ne 0
expect_contains "naming the grounds" "not one of limitation, preservation, other" "$out"
out=$($J mark-urgent "$u" --ground limitation 2>&1); rc=$?
check "a finding without a reason is refused" test "$rc" -ne 0
expect_contains "saying so" "needs a reason" "$out"
expect_eq "the refusals changed nothing" "$before" "$(field 350582 "$u" priority)"
check "Jinjiang's staff make the finding" $J mark-urgent "$u" --ground limitation --reason "limitation period ends in 5 days"
expect_eq "the referral is urgent at Jinjiang" urgent "$(field 350582 "$u" priority)"
expect_eq "its state stays" AWAITING_MATERIALS "$(field 350582 "$u" state)"
expect_eq "recorded in the history with its ground" limitation "$(last_step 350582 "$u" urgency_ground)"
check "Shishi hears of it" wait_for 15 bash -c "[ \"\$($REFCTL --data $T/350581 show $u --json | $PY -c 'import json,sys; print(json.load(sys.stdin)[\"priority\"])')\" = urgent ]"
expect_eq "and holds the same history" "$(states_of 350582 "$u")" "$(states_of 350581 "$u")"
expect_eq "the finding is Jinjiang's" 350582 "$(last_step 350581 "$u" by)"
expect_eq "the review clock still paused" paused "$("$REFCTL" --data "$T/350582" show "$u" --json |
	"$PY" -c 'import json,sys; print([c["status"] for c in json.load(sys.stdin)["clocks"] if c["clock"]=="review"][0])')"

# 1. Aid first leaves the materials owed.
check "aid first, now that the case is urgent" $J pre-aid "$u" --reason "limitation period ends in 5 days"
check "Shishi sees GRANTED" wait_for 15 in_state 350581 "$u" GRANTED
owed() { "$REFCTL" --data "$T/$1" show "$2" --json | "$PY" -c 'import json,sys; print("; ".join(json.load(sys.stdin).get("materials_owed", [])))'; }
expect_eq "Jinjiang lists the materials as owed" "ID card copy; wage slips" "$(owed 350582 "$u")"
expect_eq "and Shishi too" "ID card copy; wage slips" "$(owed 350581 "$u")"
expect_contains "show says so" "materials still owed after aid first: ID card copy; wage slips" "$($J show "$u")"
check "Shishi relays the supplement after the grant" $S supplement "$u" --doc "$T/contract.txt"
check "Jinjiang records it, no longer owed" wait_for 15 bash -c "! $REFCTL --data $T/350582 show $u --json | grep -q materials_owed"
check "and Shishi, once confirmed" wait_for 15 bash -c "! $REFCTL --data $T/350581 show $u --json | grep -q materials_owed"
expect_eq "the state stays GRANTED" "GRANTED GRANTED" "$(field 350582 "$u" state) $(field 350581 "$u" state)"
expect_eq "the supplement is a step of the history" True "$(last_step 350582 "$u" supplement)"
expect_eq "one history on both nodes" "$(states_of 350582 "$u")" "$(states_of 350581 "$u")"
out=$($S supplement "$u" --doc "$T/contract.txt" 2>&1); rc=$?
check "a second supplement, nothing owed: refused" test "$rc" -ne 0
expect_contains "saying no materials are owed" "owes no materials" "$out"
check "assign still works" $J assign "$u" --firm "示例律师事务所" --lawyer "王律师" --licence 13505200000002

expect_contains "show names the step" "(materials supplied)" "$($S show "$u")"

# 1, on its own: a referral urgent from the start (matter.urgency).
"$PY" - "$T/app.json" "$T/urgent.json" <<'PY'
import json,sys; a=json.load(open(sys.argv[1])); a["matter"]["urgency"]=["preservation"]; json.dump(a,open(sys.argv[2],"w"))
PY
p=$(submit 350581 350582 "$T/urgent.json")
check "urgent referral received" wait_for 15 in_state 350581 "$p" RECEIVED
check "notice" $J request-materials "$p" --item "property list"
check "Shishi sees it" wait_for 15 in_state 350581 "$p" AWAITING_MATERIALS
check "aid first" $J pre-aid "$p" --reason "assets about to be moved"
check "Shishi sees GRANTED" wait_for 15 in_state 350581 "$p" GRANTED
expect_eq "owed at Shishi" "property list" "$(owed 350581 "$p")"
check "the supplement after the grant is taken" $S supplement "$p" --doc "$T/contract.txt"
check "and confirmed back" wait_for 15 bash -c "[ -z \"\$($REFCTL --data $T/350581 show $p --json | $PY -c 'import json,sys; print(json.load(sys.stdin).get(\"materials_owed\", \"\"))')\" ]"
expect_eq "both GRANTED" "GRANTED GRANTED" "$(field 350582 "$p" state) $(field 350581 "$p" state)"
expect_eq "one history" "$(states_of 350582 "$p")" "$(states_of 350581 "$p")"

# 3. The receiver does not cancel on its own motion.
c=$(new)
out=$($J cancel "$c" --reason "we will not take it" 2>&1); rc=$?
check "a receiver's cancel is refused" test "$rc" -ne 0
expect_contains "pointing at deny, refer onward, terminate" "does not cancel a referral on its own motion" "$out"
expect_eq "and nothing changed" RECEIVED "$(field 350582 "$c" state)"
check "it records the applicant's written withdrawal" $J cancel "$c" --applicant-withdrawal --reason "the applicant withdrew in writing"
check "Shishi sees CANCELLED" wait_for 15 in_state 350581 "$c" CANCELLED
expect_eq "marked as a written withdrawal" written "$(last_step 350581 "$c" withdrawal)"
c2=$(new)
out=$($J call cancel --referral "$c2" '{"reason": "no"}' 2>&1); rc=$?
check "by name (the gateway's operation) as well: refused" test "$rc" -ne 0
expect_contains "with the same reason" "does not cancel a referral on its own motion" "$out"

# 4. Materials are asked for once.
m=$(new)
check "the notice" $J request-materials "$m" --item "ID card copy"
check "Shishi sees it" wait_for 15 in_state 350581 "$m" AWAITING_MATERIALS
check "the supplement" $S supplement "$m" --doc "$T/contract.txt"
check "back to RECEIVED" wait_for 15 in_state 350582 "$m" RECEIVED
out=$($J request-materials "$m" --item "bank statement" 2>&1); rc=$?
check "a second notice without a reason is refused" test "$rc" -ne 0
expect_contains "saying materials are asked for once" "materials are asked for once" "$out"
expect_eq "nothing changed" RECEIVED "$(field 350582 "$m" state)"
check "a second notice with a reason" $J request-materials "$m" --item "bank statement" --reason "the contract names an account not declared"
expect_eq "recorded as a further request" True "$(last_step 350582 "$m" further_request)"
expect_eq "round 2" 2 "$(last_step 350582 "$m" round)"
check "Shishi records it the same way" wait_for 15 bash -c "[ \"\$($REFCTL --data $T/350581 show $m --json | $PY -c 'import json,sys; print(json.load(sys.stdin)[\"history\"][-1].get(\"further_request\"))')\" = True ]"

# 5. At the origin, a change marked as the origin's stands only if the
# origin asked for it. Jinjiang's keys sign a cancel "made by" Shishi that
# Shishi never made (Jinjiang stopped, so its own messages do not race).
f=$(new)
seq=$("$REFCTL" --data "$T/350581" show "$f" --json | "$PY" -c 'import json,sys; print(len([h for h in json.load(sys.stdin)["history"] if h["by"]=="350582"]))')
stop 350582
out=$("$PEERSIM" --data "$T/350582" --to 350581 --case status --referral "$f" \
	--state CANCELLED --from-state RECEIVED --seq $((seq + 1)) --made-by 350581)
expect_contains "the forged confirmation is refused" "status=REFUSED" "$out"
expect_contains "saying the origin never asked" "never asked for the move to CANCELLED" "$out"
expect_eq "Shishi's referral is unchanged" RECEIVED "$(field 350581 "$f" state)"
expect_eq "the refusal is audited" 1 "$(events_of 350581 "$f" status_refused)"
start 350582

# 4, continued: a notice after the review fell due keeps the case overdue.
o=$(new)
day=86400000
stop 350582
stop 350581
export REFERRAL_CLOCK_OFFSET_MS=$((10 * day))
start 350581
start 350582
check "the review is overdue" wait_for 15 bash -c "$REFCTL --data $T/350582 overdue --json | grep -q $o"
check "a notice now" $J request-materials "$o" --item "ID card copy"
over=$($J overdue --json)
expect_contains "still listed overdue" "$o" "$over"
expect_eq "as the review clock, still running" running "$("$REFCTL" --data "$T/350582" show "$o" --json |
	"$PY" -c 'import json,sys; print([c["status"] for c in json.load(sys.stdin)["clocks"] if c["clock"]=="review"][0])')"
finish
