# court-events.sh: courts and labour bureaus, both ways in. A court's own
# node notifies a defence (Art 36): the referral opens at Jinjiang's centre
# at GRANTED, the centre assigns a lawyer, and the assignment notice (lawyer
# and contact) reaches the court's feed, signed by the centre. A labour
# bureau without a node forwards a worker's application through the
# centre's named operations with a labour token: it opens at RECEIVED, and
# the grant reaches that token's feed only. Wrong senders, wrong types and
# unknown matters are refused with a reason, and nothing changes.
. "$(dirname "$0")/../lib.sh"
authority
node 350581 "石狮市法律援助中心"
node 350582 "晋江市法律援助中心"
NODE_ROLE=court node 350521 "晋江市人民法院"
directory 1 350581 350582 350521
"$REFCTL" example application > "$T/app.json"
start 350582
start 350521
C="$REFCTL --data $T/350521"
J="$REFCTL --data $T/350582"

# ---- a court with its own node
out=$($C event notify_defence --to 350582 --application "$T/app.json" --case-ref "(2026)闽0582刑初101号" --json)
rid=$(echo "$out" | json referral_id)
check "notify_defence sent: a matter id of the court's" test "${rid:0:6}" = 350521
check "the centre holds it at GRANTED" wait_for 20 in_state 350582 "$rid" GRANTED
expect_eq "its origin is the court" 350521 "$($J show "$rid" --json | json origin)"
check "the assignment clock runs (3 days)" sh -c "$J show $rid --json | grep -q '\"clock\": \"assignment\"'"
$J --actor reviewer-02 assign "$rid" --firm "示例律师事务所" --lawyer "王示例" --licence 13505200000000 >/dev/null
check "the court's node holds the assignment" wait_for 20 in_state 350521 "$rid" ASSIGNED
feed=$($C events --json)
expect_contains "the court's feed has the grant" '"aid_granted"' "$feed"
expect_contains "and the assignment notice" '"assignment_notice"' "$feed"
expect_contains "with the lawyer" "王示例" "$feed"
$J --actor reviewer-02 reassign "$rid" --firm "示例律师事务所" --lawyer "李示例" --licence 13505200000001 --contact 0595-00000000 --reason "王示例 recused" >/dev/null
check "a replaced lawyer reaches the court's feed" wait_for 20 sh -c "$C events --json | grep -q lawyer_replaced"
expect_contains "with the new lawyer and contact" "0595-00000000" "$($C events --json)"
expect_eq "the referral stays ASSIGNED" ASSIGNED "$(state_of 350582 "$rid")"
$C event hearing_changed --referral "$rid" --detail "hearing moved to 2026-12-20" >/dev/null
check "a follow-up event recorded on the centre's trail" wait_for 20 sh -c "$J trail $rid --json | grep -q court_event"
expect_eq "the centre sent no status change to the court" 0 \
	"$($J trail "$rid" --json | "$PY" -c 'import json,sys; print(sum(1 for e in json.load(sys.stdin)["events"] if e["event"]=="sent" and e.get("detail")=="STATUS_CHANGE"))')"

# ---- refusals: a centre is not a court; a court has no labour events;
# a follow-up for a matter the court never sent
out=$($J event notify_defence --to 350581 --application "$T/app.json" 2>&1)
expect_contains "a centre cannot send a court's event" "court's or labour" "$out"
out=$($C event arbitration_accepted --referral "$rid" 2>&1)
expect_contains "a court cannot send a labour event" "not an event a court" "$out"
out=$($C event case_ended --referral 350521-0123456789abcdef0123456789abcdef 2>&1)
expect_contains "a matter the court never sent" "no matter" "$out"

# ---- a labour bureau without a node: a token at the centre
tok=$($J token create --name bureau-jj --scope labour --code 350582 --json | json token)
check "a labour token is made" test -n "$tok"
expect_eq "the token is printed once: list shows no token" "" \
	"$($J token list --json | "$PY" -c 'import json,sys; print("".join(t.get("token","") for t in json.load(sys.stdin)["tokens"]))')"
app=$("$PY" -c 'import json,sys; print(json.dumps({"type":"forward_application","case_ref":"晋劳仲案字〔2026〕88号","application":json.load(open(sys.argv[1]))}))' "$T/app.json")
out=$($J call event --token "$tok" --request-id bureau-88-forward "$app")
lid=$(echo "$out" | json referral_id)
again=$($J call event --token "$tok" --request-id bureau-88-forward "$app")
expect_eq "a retried event (same request id) is applied once" "$lid" "$(echo "$again" | json referral_id)"
expect_eq "and keeps its event id" "$(echo "$out" | json event_id)" "$(echo "$again" | json event_id)"
check "forward_application opens a referral" test -n "$lid"
expect_eq "at RECEIVED (the review clock)" RECEIVED "$(state_of 350582 "$lid")"
expect_eq "the token's name is the sender on the record" "bureau-jj" \
	"$($J trail "$lid" --json | "$PY" -c 'import json,sys; print([e.get("actor") for e in json.load(sys.stdin)["events"] if e["event"]=="event_received"][0])')"
out=$($J call show --referral "$lid" --token "$tok")
expect_contains "the bureau reads its matter's decisions" '"state": "RECEIVED"' "$out"
case "$out" in *'"application"'*|*applicant*) not_ok "the bureau's view holds no personal data";; *) ok "the bureau's view holds no personal data";; esac
out=$($J call show --referral "$rid" --token "$tok" 2>&1)
expect_contains "not the court's matter" "no referral" "$out"
out=$($J call accept --referral "$lid" --token "$tok" '{}' 2>&1)
expect_contains "a labour token never moves a referral" "scope does not allow" "$out"
expect_eq "the refusal is on the record, with the token's name" 1 \
	"$($J trail "$lid" --json | "$PY" -c 'import json,sys; print(sum(1 for e in json.load(sys.stdin)["events"] if e["event"]=="call_refused" and e.get("actor")=="bureau-jj"))')"
$J --actor reviewer-02 accept "$lid" >/dev/null
feed=$($J call events --token "$tok")
expect_contains "the grant reaches the bureau's feed" '"aid_granted"' "$feed"
case "$feed" in *"$rid"*) not_ok "the court's notices are not on the bureau's feed";; *) ok "the court's notices are not on the bureau's feed";; esac
$J token revoke bureau-jj >/dev/null
out=$($J call events --token "$tok" 2>&1)
expect_contains "a revoked token is refused" "revoked" "$out"
out=$($J call events --token "rgw_not-a-token" 2>&1)
expect_contains "an unknown token is refused" "not one this node made" "$out"
finish
