# notices.sh: the law's notices for the applicant, printed. Each kind
# (materials, grant, denial, assignment, termination, withdrawal) rendered
# to an A4 PDF by refctl from the node's "notice-data"; pdftotext finds the
# applicant's name, the referral's id, the number and, for materials, the
# day they are due ("...日 24:00 前", Beijing time); pdftoppm renders page
# one of each as a PNG kept under the build folder (printed below). The
# numbers come from a per-year sequence in the node's store: they
# increment, a reprint keeps its number, and a restart reuses none.
. "$(dirname "$0")/../lib.sh"
for tool in pdftotext pdftoppm; do
	type -P "$tool" >/dev/null || { not_ok "$tool is missing (poppler-utils: scripts/deps.sh)"; finish; }
done
ART="$BUILD/meson-logs/notices"
rm -rf "$ART" && mkdir -p "$ART"
two_nodes
start 350581
start 350582
S="$REFCTL --data $T/350581 --actor staff-0107"
J="$REFCTL --data $T/350582 --actor reviewer-02"
NAME=$(json applicant < "$T/app.json" | json name)
year=$(TZ=Asia/Shanghai date +%Y)

# notice ID KIND: renders at Jinjiang, keeps page one as a PNG, prints the
# text pdftotext finds.
notice() {
	local id=$1 kind=$2 pdf="$ART/$2-$1.pdf"
	# (Under ASan: libcairo's own font cache outlives the process's
	# end; tests/lsan-render.supp names it, and nothing else.)
	LSAN_OPTIONS=suppressions=$REFERRAL_SOURCE/tests/lsan-render.supp \
		$J notice "$id" --type "$kind" --out "$pdf" >/dev/null || return 1
	pdftoppm -png -r 60 -f 1 -l 1 -singlefile "$pdf" "$ART/$kind" || return 1
	pdftotext "$pdf" - | tr -d ' \n'
}
# has KIND TEXT WHAT: the kind's last rendered text contains WHAT.
has() { expect_contains "$1: $3" "$3" "$2"; }
# notified_count NODE ID: the history steps recording the applicant told.
notified_count() {
	"$REFCTL" --data "$T/$1" show "$2" --json | "$PY" -c '
import json, sys
print(sum(1 for h in json.load(sys.stdin)["history"] if h.get("reason", "").startswith("notified: ")))'
}
today=$(TZ=Asia/Shanghai date +%F)

id1=$(submit 350581 350582 "$T/app.json")
id2=$(submit 350581 350582 "$T/app.json")
id3=$(submit 350581 350582 "$T/app.json")
for id in "$id1" "$id2" "$id3"; do
	check "received at Jinjiang ($id)" wait_for 30 in_state 350582 "$id" RECEIVED
done

out=$($J notice "$id1" --type grant --out "$ART/none.pdf" 2>&1); rc=$?
check "a grant notice before any grant is refused" test "$rc" -ne 0
expect_contains "and says which decision is missing" "has no GRANTED step" "$out"
check "and no file is left" test ! -e "$ART/none.pdf"
out=$($J notice "$id1" --type lunch --out "$ART/none.pdf" 2>&1); rc=$?
check "an unknown kind is refused" test "$rc" -ne 0
expect_contains "and the kinds are named" "materials" "$out"

# Materials, with the day they are due.
check "one-time notice" $J request-materials "$id1" --item "劳动合同复印件" --item "2026年3月至8月工资条"
due=$($J show "$id1" --json | "$PY" -c '
import json, sys, datetime
cs = [c for c in json.load(sys.stdin)["clocks"] if c["clock"] == "materials"]
t = datetime.datetime.strptime(cs[0]["due"][:19], "%Y-%m-%dT%H:%M:%S") + datetime.timedelta(hours=8)
if (t.hour, t.minute, t.second) == (0, 0, 0):
    d = t - datetime.timedelta(days=1); print(f"{d.year}年{d.month}月{d.day}日24:00前")
else:
    print(f"{t.year}年{t.month}月{t.day}日{t.hour:02d}:{t.minute:02d}前")')
text=$(notice "$id1" materials); check "materials notice rendered" test -n "$text"
has materials "$text" "补充材料通知书"
has materials "$text" "$NAME"
has materials "$text" "$id1"
has materials "$text" "工资条"
has materials "$text" "$due"
has materials "$text" "($year)晋援补字第0001号"
has materials "$text" "晋江市法律援助中心"
# The applicant told, in person, at the receiving centre: a step in the
# history of both nodes, once; the state, the clocks and the round stay.
before=$($J show "$id1" --json | json clocks)
out=$($J notified "$id1" --how pigeon --on "$today" 2>&1); rc=$?
check "notified: an unknown way is refused" test "$rc" -ne 0
expect_contains "and the ways are named" "in-person" "$out"
out=$($J notified "$id1" --how post --on 2999-01-01 2>&1); rc=$?
check "notified: a day after today is refused" test "$rc" -ne 0
expect_contains "and says so" "after today" "$out"
out=$($J notified "$id1" --how post --on 2026-02-30 2>&1); rc=$?
check "notified: a day that does not exist is refused" test "$rc" -ne 0
expect_eq "the refusals stored nothing" 0 "$(notified_count 350582 "$id1")"
check "notified in person at Jinjiang" $J notified "$id1" --how in-person --on "$today"
expect_eq "Jinjiang's history holds it once" 1 "$(notified_count 350582 "$id1")"
# notified_is NODE ID N: the history holds N such steps (for wait_for,
# which runs it again each time: a $(...) in its arguments runs once).
notified_is() { [ "$(notified_count "$1" "$2")" = "$3" ]; }
check "Shishi's history holds it too" wait_for 30 notified_is 350581 "$id1" 1
expect_eq "the state stays" AWAITING_MATERIALS "$(state_of 350582 "$id1")"
expect_eq "the clocks stay" "$before" "$($J show "$id1" --json | json clocks)"
expect_eq "no second materials round" 1 "$($J show "$id1" --json | json materials_round)"
# further_count NODE ID: the steps marked as a further request.
further_count() {
	"$REFCTL" --data "$T/$1" show "$2" --json | "$PY" -c '
import json, sys
print(sum(1 for h in json.load(sys.stdin)["history"] if h.get("further_request")))'
}
expect_eq "the step is no further request for materials at Jinjiang" 0 "$(further_count 350582 "$id1")"
expect_eq "nor at Shishi, which applied it from Jinjiang" 0 "$(further_count 350581 "$id1")"
check "nor does show call it one" eval '! $S show "$id1" | grep -q "further request"'
again=$(notice "$id1" materials)
has "materials, printed again" "$again" "($year)晋援补字第0001号"

# The number survives a restart: the next one is 0002, never 0001 again.
stop 350582
start 350582
check "one-time notice for the second referral" $J request-materials "$id3" --item "身份证复印件"
text=$(notice "$id3" materials)
has "materials after a restart" "$text" "($year)晋援补字第0002号"

# Denial: reason, article and the right to object (no time limit).
check "deny" $J deny "$id2" --reason "经济状况不符合条件（示例）" --basis "法律援助法第四十一条"
text=$(notice "$id2" denial)
has denial "$text" "不予法律援助决定书"
has denial "$text" "$NAME"
has denial "$text" "$id2"
has denial "$text" "法律援助法第四十一条"
has denial "$text" "司法行政部门"
has denial "$text" "($year)晋援不字第0001号"
case "$text" in *日内*) not_ok "denial: no time limit is invented for an objection";;
	*) ok "denial: no time limit is invented for an objection";; esac

# Grant, assignment (with the lawyer's contact), termination.
check "supplement" $S supplement "$id1" --doc "$T/app.json"
check "back to RECEIVED" wait_for 30 in_state 350582 "$id1" RECEIVED
check "accept" $J accept "$id1"
text=$(notice "$id1" grant)
has grant "$text" "给予法律援助决定书"
has grant "$text" "$NAME"
has grant "$text" "$id1"
has grant "$text" "($year)晋援给字第0001号"
check "assign" $J call assign --referral "$id1" '{"firm":"示例律师事务所","lawyer":"王示例","licence_no":"13505200000000","contact":"0595-00000000"}'
text=$(notice "$id1" assignment)
has assignment "$text" "指派通知书"
has assignment "$text" "$NAME"
has assignment "$text" "$id1"
has assignment "$text" "示例律师事务所"
has assignment "$text" "王示例"
has assignment "$text" "0595-00000000"
check "start" $J start "$id1"
check "terminate" $J terminate "$id1" --ground applicant_request --reason "受援人要求终止（示例）"
text=$(notice "$id1" termination)
has termination "$text" "终止法律援助决定书"
has termination "$text" "$NAME"
has termination "$text" "$id1"
has termination "$text" "第四十八条"

# Withdrawal: the applicant withdrew.
check "cancel" $J cancel "$id3" --applicant-withdrawal --reason "申请人书面撤回（示例）"
text=$(notice "$id3" withdrawal)
has withdrawal "$text" "撤回"
has withdrawal "$text" "$NAME"
has withdrawal "$text" "$id3"
has withdrawal "$text" "($year)晋援撤字第0001号"

# The origin records that it posted the withdrawal notice: sent to the
# receiver, applied there and confirmed back, once on each side.
check "notified by post at Shishi, after the withdrawal" $S notified "$id3" --how post --on "$today"
check "Jinjiang holds the step" wait_for 30 notified_is 350582 "$id3" 1
check "Shishi holds it once Jinjiang confirms it" wait_for 30 notified_is 350581 "$id3" 1
expect_eq "still CANCELLED at Shishi" CANCELLED "$(state_of 350581 "$id3")"
sleep 1
expect_eq "and once only, at Jinjiang" 1 "$(notified_count 350582 "$id3")"
expect_eq "and once only, at Shishi" 1 "$(notified_count 350581 "$id3")"

# The QR code holds the signed referral envelope's digest.
sha=$($J show "$id1" --json | json envelope_sha256)
has "the digest under the QR code" "$(pdftotext "$ART/grant-$id1.pdf" - | tr -d ' \n')" "$sha"
for k in materials grant denial assignment termination withdrawal; do
	check "page one of the $k notice as a PNG" test -s "$ART/$k.png"
done
echo "# the notices and their page-one PNGs: $ART"

# The same notices through the gateway (GET /v1/referrals/{id}/notice):
# the PDF a court's or a centre's own system fetches, numbered as refctl's.
. "$REFERRAL_SOURCE/tests/http/gateway-lib.sh"
LSAN_OPTIONS=suppressions=$REFERRAL_SOURCE/tests/lsan-render.supp gateway 350582
tok=$(token 350582 notices-desk staff)
# fetch ID KIND FILE: the status code; the body in FILE.
fetch() {
	"$PY" - "$GW_URL_350582/v1/referrals/$1/notice?type=$2" "$tok" "$3" <<'PYEOF'
import sys, urllib.request, urllib.error
req = urllib.request.Request(sys.argv[1], headers={"Authorization": "Bearer " + sys.argv[2]})
try:
    with urllib.request.urlopen(req, timeout=30) as r:
        body = r.read()
        if r.headers.get("Content-Type") != "application/pdf" or "no-store" not in r.headers.get("Cache-Control", ""):
            print("bad-headers", r.headers.get("Content-Type"), r.headers.get("Cache-Control")); sys.exit()
        code = r.status
except urllib.error.HTTPError as e:
    body, code = e.read(), e.code
open(sys.argv[3], "wb").write(body)
print(code)
PYEOF
}
expect_eq "the gateway serves the grant notice" 200 "$(fetch "$id1" grant "$ART/gw-grant.pdf")"
gwtext=$(pdftotext "$ART/gw-grant.pdf" - | tr -d ' \n')
has "the gateway's grant notice" "$gwtext" "$NAME"
has "the gateway's grant notice" "$gwtext" "$id1"
has "the gateway's grant notice keeps refctl's number" "$gwtext" "($year)晋援给字第0001号"
expect_eq "an unknown kind is refused at the gateway" 400 "$(fetch "$id1" lunch "$ART/gw-none")"
expect_eq "a notice with no decision behind it is refused" 400 "$(fetch "$id2" withdrawal "$ART/gw-none")"
out=$(cat "$ART/gw-none")
expect_contains "and the problem says which decision is missing" "has no" "$out"
tok=wrong-token
expect_eq "no notice without a valid token" 401 "$(fetch "$id1" grant "$ART/gw-none")"

trail=$($J trail "$id1" --json)
expect_contains "each notice printed is on the trail with its number" "晋援给字第0001号" "$trail"
case "$trail" in *"$NAME"*) not_ok "the trail holds no name";; *) ok "the trail holds no name";; esac
finish
