# inbox.sh: the reviewer's inbox at Jinjiang. Four referrals arrive (three
# from Shishi, one from Nan'an); one waits for materials, one is denied
# with its basis, one is closed. list's filters (--state, --open, --from,
# --since, --overdue) pick what they say, closed cases leave the default
# view and --all brings them back; bad filter values are refused by name.
# show prints the case sheet (applicant, missing items, legal basis,
# assignment, deadlines); a court's token never sees the applicant. docs
# writes the application's and a supplement's documents as 0600 files in
# the folder given, a hostile document name ("../../x") stays inside it,
# and a second run refuses to overwrite anything. --overdue is seen with
# the receiver's test clock twenty days on.
. "$(dirname "$0")/../lib.sh"
. "$REFERRAL_SOURCE/tests/http/gateway-lib.sh"
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
a=$(submit 350581 350582 "$T/app.json")
b=$(submit 350581 350582 "$T/app.json")
c=$(submit 350581 350582 "$T/app.json")
d=$(submit 350583 350582 "$T/app.json")
for id in "$a" "$b" "$c" "$d"; do
	check "$id arrived" wait_for 30 in_state 350582 "$id" RECEIVED
done
$J request-materials "$a" --item "劳动合同复印件" --item "工资流水" >/dev/null
$J deny "$b" --basis "法律援助法第四十一条" --reason "经济状况不符合条件" >/dev/null
echo "结案报告" > "$T/report.txt"
$J accept "$c" >/dev/null
$J assign "$c" --firm "示例律师事务所" --lawyer "王示例" --licence 13505200000000 >/dev/null
$J start "$c" >/dev/null
$J close "$c" --report "$T/report.txt" --outcome won >/dev/null
expect_eq "one case closed" CLOSED "$(state_of 350582 "$c")"

ids() { "$PY" -c 'import json,sys; print(" ".join(sorted(r["referral_id"] for r in json.load(sys.stdin)["referrals"])))'; }
sorted() { printf '%s\n' "$@" | sort | tr '\n' ' ' | sed 's/ $//'; }

# ---- list
out=$($J list --inbox)
expect_contains "the default view holds the open cases" "$a" "$out"
check "it leaves the closed one out" sh -c "! echo '$out' | grep -q '$c'"
expect_contains "and says how many" "inbox: 3 referral(s)" "$out"
expect_contains "--all shows the closed one" "$c" "$($J list --inbox --all)"
expect_eq "--json keeps every referral for scripts" "$(sorted "$a" "$b" "$c" "$d")" "$($J --json list --inbox | ids)"
expect_eq "--json --open: the open ones" "$(sorted "$a" "$b" "$d")" "$($J --json list --inbox --open | ids)"
expect_eq "--state AWAITING_MATERIALS" "$a" "$($J --json list --inbox --state AWAITING_MATERIALS | ids)"
expect_eq "--state CLOSED shows it" "$c" "$($J --json list --inbox --state CLOSED | ids)"
expect_eq "--from 350583: Nan'an's only" "$d" "$($J --json list --inbox --from 350583 | ids)"
expect_eq "--since a past day: all open" "$(sorted "$a" "$b" "$d")" "$($J --json list --inbox --open --since 2000-01-01 | ids)"
expect_eq "--since a future day: none" "" "$($J --json list --inbox --since 2999-01-01 | ids)"
expect_eq "--overdue: nothing is overdue yet" "" "$($J --json list --inbox --overdue | ids)"
out=$($J list --inbox --from 35058 2>&1); rc=$?
check "a bad --from is refused" test "$rc" -ne 0
expect_contains "naming it" "from must be a six-digit node code" "$out"
out=$($J list --inbox --since yesterday 2>&1); rc=$?
check "a bad --since is refused" test "$rc" -ne 0
expect_contains "naming it" "since must be a day, YYYY-MM-DD" "$out"
out=$($J list --inbox --open --all 2>&1); rc=$?
check "--open with --all is refused" test "$rc" -ne 0

# ---- show: the case sheet
out=$($J show "$a")
expect_contains "show: the applicant's name" "applicant 陈示例" "$out"
expect_contains "show: the missing items" "- 劳动合同复印件" "$out"
expect_contains "show: every one" "- 工资流水" "$out"
expect_contains "show: the review deadline" "clock     review" "$out"
out=$($J show "$b")
expect_contains "show: the legal basis of a denial" "basis     DENIED: 法律援助法第四十一条 (经济状况不符合条件)" "$out"
out=$($J show "$c")
expect_contains "show: the assignment" "assigned  示例律师事务所, 王示例 (licence 13505200000000)" "$out"
tok=$($J token create --name court-x --scope court --json | json token)
out=$($J call show --referral "$a" --token "$tok" 2>&1)
check "a court's token never gets the applicant's name" sh -c "! echo '$out' | grep -q '陈示例'"

# ---- docs
# A supplement whose document is named to climb out of the folder.
evil=$(printf 'INVENTED SUPPLEMENT\n' | base64 -w0)
$S call supplement --referral "$a" "{\"documents\":[{\"type\":\"labour_contract\",\"name\":\"../../evil.txt\",\"content_base64\":\"$evil\"}]}" >/dev/null
check "the supplement reached Jinjiang" wait_for 30 in_state 350582 "$a" RECEIVED
mkdir -p "$T/out/a/b"
out=$($J docs "$a" --out "$T/out/a/b/docs")
expect_contains "docs lists what it wrote" "application-id-card.txt" "$out"
expect_eq "the application's documents and the supplement's: 3 files" 3 "$(ls "$T/out/a/b/docs" | wc -l)"
expect_eq "a document's bytes as sent" "INVENTED TEST DOCUMENT" "$(cat "$T/out/a/b/docs/application-id-card.txt")"
expect_eq "the files are 0600" "600 600 600" "$(stat -c %a "$T/out/a/b/docs"/* | tr '\n' ' ' | sed 's/ $//')"
check "the hostile name stayed inside the folder" test -f "$T/out/a/b/docs/supplement-1-.._.._evil.txt"
check "nothing was written above it" test ! -e "$T/out/a/evil.txt" -a ! -e "$T/out/evil.txt"
expect_eq "the supplement's bytes" "INVENTED SUPPLEMENT" "$(cat "$T/out/a/b/docs/supplement-1-.._.._evil.txt")"
expect_contains "the read is on the record, with who asked" "'actor': 'reviewer-02', 'outcome': 'ok', 'detail': 'docs'" \
	"$($J trail "$a" --json | "$PY" -c 'import json,sys; print([e for e in json.load(sys.stdin)["events"] if e["event"]=="read"])')"
before=$(md5sum "$T/out/a/b/docs"/* | md5sum)
out=$($J docs "$a" --out "$T/out/a/b/docs" 2>&1); rc=$?
check "a second docs into the same folder is refused" test "$rc" -ne 0
expect_contains "it says it will not overwrite" "refusing to overwrite" "$out"
expect_eq "the files are unchanged" "$before" "$(md5sum "$T/out/a/b/docs"/* | md5sum)"

# ---- the same through the gateway, with a staff token; the filters are
# query arguments of GET /v1/referrals.
STAFF=$($J token create --name case-system --scope staff --json | json token)
gateway 350582
get() {
	"$PY" - "$GW_URL_350582$1" "$2" <<'PY'
import sys, urllib.request, urllib.error
req = urllib.request.Request(sys.argv[1], headers={"Authorization": "Bearer " + sys.argv[2]})
try:
    r = urllib.request.urlopen(req, timeout=20)
    print(r.status, r.read().decode())
except urllib.error.HTTPError as e:
    print(e.code, e.read().decode())
PY
}
out=$(get "/v1/referrals?box=inbox&from=350583" "$STAFF")
expect_contains "GET /v1/referrals?from=350583: Nan'an's referral" "$d" "$out"
check "and no other" sh -c "! echo '$out' | grep -q '$b'"
out=$(get "/v1/referrals?box=inbox&open=true" "$STAFF")
check "GET /v1/referrals?open=true leaves the closed one out" sh -c "echo '$out' | grep -q '$a' && ! echo '$out' | grep -q '$c'"
out=$(get "/v1/referrals?box=inbox&since=nonsense" "$STAFF")
expect_contains "a bad since through the gateway: 400 naming it" "since must be a day" "$out"
out=$(get "/v1/referrals/$a/documents" "$STAFF")
expect_contains "GET /v1/referrals/{id}/documents: 200" "200 " "$out"
expect_contains "with the supplement's bytes" "$evil" "$out"
expect_contains "the gateway's read is on the record, with the token's name" "['case-system']" \
	"$($J trail "$a" --json | "$PY" -c 'import json,sys; print([e.get("actor") for e in json.load(sys.stdin)["events"] if e["event"]=="read"][-1:])')"
out=$(get "/v1/referrals/$a/documents" "$tok")
expect_eq "a court's token gets no documents: 403" 403 "${out%% *}"
check "and no bytes" test "${out#*$evil}" = "$out"

out=$($J docs 350582-0123456789abcdef0123456789abcdef --out "$T/none" 2>&1); rc=$?
check "docs of an unknown referral is refused" test "$rc" -ne 0
expect_contains "naming it" "no referral" "$out"

# ---- --overdue: Jinjiang's clock twenty days on (the test clock), so the
# 7-day reviews of the open cases have passed; the closed one has none.
stop 350582
REFERRAL_CLOCK_OFFSET_MS=$((20 * 86400000)) start 350582
over=$($J --json list --inbox --overdue | ids)
expect_contains "--overdue: Nan'an's referral, its review passed" "$d" "$over"
check "--overdue: not the closed case" test "${over#*$c}" = "$over"
expect_contains "--overdue --from 350581: Shishi's overdue case" "$a" "$($J --json list --inbox --overdue --from 350581 | ids)"
check "--overdue --from 350581 leaves Nan'an's out" sh -c "! $J --json list --inbox --overdue --from 350581 | grep -q $d"
finish
