# routing.sh: routing by jurisdiction (Art 38). Four centres and a court
# hold a directory whose entries say what each centre serves and Shishi's
# fallback. submit --auto sends to the centre serving the matter's handling
# body, else its division code, else the fallback; two centres serving the
# same body are refused with both named, and nothing is sent; route says
# why. A court's entry listing case types (an old directory) is never sent
# a referral, and a court's node refuses one sent to it all the same.
. "$(dirname "$0")/../lib.sh"
. "$REFERRAL_SOURCE/tests/http/gateway-lib.sh"
authority
node 350581 "石狮市法律援助中心"
node 350582 "晋江市法律援助中心"
node 350583 "南安市法律援助中心"
node 350503 "泉州市法律援助中心"
NODE_ROLE=court node 350521 "晋江市人民法院"
# serves CODE JSON: merges JSON (serves, fallback, accepts) into the entry.
serves() {
	"$PY" - "$T/$1.entry.json" "$2" <<'PY'
import json, sys
e = json.load(open(sys.argv[1]))
e.update(json.loads(sys.argv[2]))
json.dump(e, open(sys.argv[1], "w"), ensure_ascii=False, indent=2)
PY
}
serves 350581 '{"serves": {"divisions": ["350581"], "bodies": ["石狮市人民法院"]}, "fallback": "350503"}'
serves 350582 '{"serves": {"divisions": ["350582"], "bodies": ["晋江市人民法院", "晋江市劳动人事争议仲裁委员会", "泉州市中级人民法院"]}}'
serves 350583 '{"serves": {"divisions": ["350583"], "bodies": ["南安市人民法院", "泉州市中级人民法院"]}}'
# The court's entry as an old directory had it: every case type listed,
# and the arbitration body it sits beside. Neither makes it a centre.
serves 350521 '{"accepts": ["labour", "marriage_family"], "serves": {"bodies": ["晋江市劳动人事争议仲裁委员会"]}}'
expect_eq "a court's new entry lists no case types" "[]" \
	"$("$REFCTL" init --data "$T/court2" --node 350522 --name c --role court \
	   --listen tcp://127.0.0.1:1 --authority "$T/authority/authority.pub.pem" | json accepts)"
directory 1 350581 350582 350583 350503 350521
"$REFCTL" example application > "$T/app.json"   # handled in Jinjiang's arbitration body
# variant NAME PY-EXPR: app.json with its matter changed.
variant() {
	"$PY" - "$T/app.json" "$T/$1.json" "$2" <<'PY'
import json, sys
a = json.load(open(sys.argv[1]))
a["matter"].update(json.loads(sys.argv[3]))
json.dump(a, open(sys.argv[2], "w"), ensure_ascii=False)
PY
}
variant division '{"handling_body": "某未列明的调解组织", "handling_division": "350582"}'
variant fallback '{"handling_body": "福州市中级人民法院"}'
variant ambiguous '{"handling_body": "泉州市中级人民法院"}'
variant here '{"handling_body": "石狮市人民法院"}'
variant baddiv '{"handling_division": "35058x"}'

# ---- the court's node refuses a referral on the wire (peersim speaks for
# Shishi, with its real keys, before Shishi starts).
start 350521
out=$("$PEERSIM" --data "$T/350581" --to 350521 --case good)
expect_contains "a referral sent to a court's node is REFUSED" "status=REFUSED verified=yes" "$out"
expect_contains "it says a court takes no referrals" "takes no referrals" "$out"
expect_eq "the court's node stored nothing" 0 "$(inbox_count 350521)"

start 350581
start 350582
start 350503
S="$REFCTL --data $T/350581 --actor staff-0107"
outbox() { $S list --outbox --json | json referrals | "$PY" -c 'import json,sys; print(len(json.load(sys.stdin)))'; }

# ---- route explains, submit --auto sends
out=$($S route "$T/app.json")
expect_contains "route picks the centre serving the handling body" "350582 晋江市法律援助中心" "$out"
expect_contains "and says why" "serves the handling body 晋江市劳动人事争议仲裁委员会" "$out"
expect_eq "route --json: how" handling_body "$($S --json route "$T/app.json" | json how)"
id=$($S --json submit --auto "$T/app.json" | json referral_id)
check "submit --auto made a referral" test -n "$id"
expect_eq "it went to Jinjiang" 350582 "$($S show "$id" --json | json receiver)"
check "Jinjiang received it" wait_for 30 in_state 350582 "$id" RECEIVED

expect_eq "a body not listed: the division code picks" "350582 division" \
	"$($S --json route "$T/division.json" | json to) $($S --json route "$T/division.json" | json how)"
expect_eq "no centre serves it: Shishi's fallback" "350503 fallback" \
	"$($S --json route "$T/fallback.json" | json to) $($S --json route "$T/fallback.json" | json how)"
id2=$($S --json submit --auto "$T/fallback.json" | json referral_id)
expect_eq "submit --auto sent it to the fallback" 350503 "$($S show "$id2" --json | json receiver)"
check "the fallback centre received it" wait_for 30 in_state 350503 "$id2" RECEIVED

# ---- two centres serve the body: refused, both named, nothing sent
out=$($S route "$T/ambiguous.json"); rc=$?
check "route: two candidates, exit 1" test "$rc" -eq 1
expect_contains "route names Jinjiang" "candidate 350582 晋江市法律援助中心" "$out"
expect_contains "and Nan'an" "candidate 350583 南安市法律援助中心" "$out"
before=$(outbox)
out=$($S submit --auto "$T/ambiguous.json" 2>&1); rc=$?
check "submit --auto with two candidates is refused" test "$rc" -ne 0
expect_contains "the refusal names both" "350582 (晋江市法律援助中心), 350583 (南安市法律援助中心)" "$out"
expect_contains "and what to do" "choose one with --to CODE" "$out"
expect_eq "nothing was sent" "$before" "$(outbox)"

# ---- Shishi serves the body itself: no referral
out=$($S submit --auto "$T/here.json" 2>&1); rc=$?
check "a matter Shishi serves is not referred" test "$rc" -ne 0
expect_contains "it says so" "handle the matter here" "$out"
out=$($S submit --auto "$T/baddiv.json" 2>&1); rc=$?
check "a bad division code is refused" test "$rc" -ne 0
expect_contains "naming the field" "matter.handling_division must be a six-digit division code" "$out"
expect_eq "nothing was sent for either" "$before" "$(outbox)"

# ---- the court: never a destination
out=$($S submit --to 350521 "$T/app.json" 2>&1); rc=$?
check "submit --to a court's node is refused by the sender" test "$rc" -ne 0
expect_contains "it does not take the case type" "350521 (晋江市人民法院) does not accept case type labour" "$out"
expect_eq "nothing was sent to the court" "$before" "$(outbox)"
expect_eq "the court never counts as a candidate" 350582 "$($S --json route "$T/app.json" | json to)"

# ---- the gateway: POST /v1/route explains, POST /v1/referrals without "to"
# routes the same way.
TOK=$(token 350581 intake-07 staff)
gateway 350581
# post PATH FILE: the answer's status and JSON body, on one line.
post() {
	"$PY" - "$GW_URL_350581$1" "$TOK" "$2" <<'PY'
import json, sys, urllib.request, urllib.error
app = json.load(open(sys.argv[3]))
req = urllib.request.Request(sys.argv[1], method="POST",
    data=json.dumps({"application": app}).encode(),
    headers={"Authorization": "Bearer " + sys.argv[2],
             "Content-Type": "application/json"})
try:
    r = urllib.request.urlopen(req, timeout=20)
    print(r.status, r.read().decode())
except urllib.error.HTTPError as e:
    print(e.code, e.read().decode())
PY
}
out=$(post /v1/route "$T/division.json")
expect_contains "POST /v1/route: 200 with the pick" '200 ' "$out"
expect_contains "the division's centre" '"to":"350582"' "$out"
out=$(post /v1/route "$T/ambiguous.json")
expect_contains "POST /v1/route names both candidates" '"code":"350583"' "$out"
out=$(post /v1/referrals "$T/app.json")
expect_contains "POST /v1/referrals without to: 201" '201 ' "$out"
gid=$(echo "${out#201 }" | json referral_id)
expect_eq "the gateway's referral went to Jinjiang" 350582 "$($S show "$gid" --json | json receiver)"
before=$(outbox)
out=$(post /v1/referrals "$T/ambiguous.json")
expect_contains "POST /v1/referrals, two candidates: refused" '"REF_E_REFUSED"' "$out"
expect_contains "naming both" "350582 (晋江市法律援助中心), 350583 (南安市法律援助中心)" "$out"
expect_eq "nothing was sent through the gateway" "$before" "$(outbox)"

# ---- an old application and an old directory entry still work
expect_eq "Jinjiang's entry without a fallback: route says so" none \
	"$("$REFCTL" --data "$T/350582" --json route "$T/fallback.json" | json how)"
finish
