# i18n.sh: refctl in Chinese (zh_CN) where the locale asks for it, English
# kept. The catalog is valid and complete (every string refctl marks has a
# Chinese msgstr, none fuzzy), a zh_CN session through the demo's commands
# (status, submit, the inbox, the case sheet, a one-time notice and a
# refusal, the notice PDF, a supplement, grant, assignment, routing, the
# calendar, tokens, the audit chain, the store's check and a backup, legal
# holds, the directory, usage and errors) prints no English sentence a
# person reads, LANG=C keeps the English text, and --json is the same
# in either language (stable codes, nothing translated). The gateway's
# console is Chinese under zh_CN (no English sentence on its pages either)
# and its JSON API the same English in both.
. "$(dirname "$0")/../lib.sh"
SRC=${REFERRAL_SOURCE:?run through meson test}
PO=$SRC/po/zh_CN.po

check "msgfmt --check passes on po/zh_CN.po" msgfmt --check -o "$T/zh_CN.mo" "$PO"
# Every string the sources mark, from the sources as they stand now, so a
# new _() without its translation fails here.
(cd "$SRC" && xgettext --keyword=_ --keyword=N_ --from-code=UTF-8 -C \
	-o "$T/referral.pot" -f po/POTFILES)
msgmerge -q --no-fuzzy-matching -o "$T/merged.po" "$PO" "$T/referral.pot"
stats=$(msgfmt --statistics -o /dev/null "$T/merged.po" 2>&1)
case $stats in
*untranslated*|*fuzzy*) not_ok "every marked string has a Chinese msgstr: $stats
$(msgattrib --untranslated --only-fuzzy "$T/merged.po" 2>/dev/null; msgattrib --untranslated "$T/merged.po" | grep '^msgid' | head -20)" ;;
*) ok "every marked string has a Chinese msgstr ($stats)" ;;
esac
unlisted=$(cd "$SRC" && for f in $(grep -l '_("' client/*.c); do grep -qx "$f" po/POTFILES || echo "$f"; done)
expect_eq "every client file that marks strings is in po/POTFILES" "" "$unlisted"
check "the built catalog is where refctl looks in the build tree" \
	test -f "$REFERRAL_LOCALEDIR/zh_CN/LC_MESSAGES/referral.mo"
if ! locale -a 2>/dev/null | grep -qix 'zh_CN.utf-\?8'; then
	not_ok "the zh_CN.UTF-8 locale is missing (scripts/deps.sh referral_locale makes it)"
	finish
fi

two_nodes
start 350581
start 350582
Z() { LANG=zh_CN.UTF-8 "$REFCTL" "$@"; }
E() { LANG=C "$REFCTL" "$@"; }
S="--data $T/350581 --actor staff-0107"
J="--data $T/350582 --actor reviewer-02"
out=$T/zh.txt
# run CMD...: one zh_CN command, its output (both streams) kept for the scan.
run() { Z "$@" >> "$out" 2>&1; }

run --help
run $S status
run $J status
id=$(Z $S submit --to 350582 "$T/app.json" 2>> "$out")
echo "$id" >> "$out"
check "received at Jinjiang" wait_for 30 in_state 350581 "$id" RECEIVED
run $J list --inbox
run $J show "$id"
run $J request-materials "$id" --item "劳动合同复印件"
check "Shishi sees the notice" wait_for 30 in_state 350581 "$id" AWAITING_MATERIALS
refused=$(Z $J accept "$id" 2>&1)
echo "$refused" >> "$out"
expect_contains "a refusal for the state, in Chinese, its states named" \
	"当前为“待补充材料”，不能转为“给予法律援助”" "$refused"
expect_contains "and in English under LANG=C" "is AWAITING_MATERIALS; it cannot move to GRANTED" \
	"$(E $J accept "$id" 2>&1)"
# (Under ASan: libcairo's font cache outlives the process, as notices.sh
# says; tests/lsan-render.supp names it, and nothing else.)
LSAN_OPTIONS=suppressions=$SRC/tests/lsan-render.supp \
	run $J notice "$id" --type materials --out "$T/notice.pdf"
run $J notified "$id" --how in-person --on "$(TZ=Asia/Shanghai date +%F)"
echo "劳动合同（虚构）" > "$T/contract.txt"
run $S supplement "$id" --doc "$T/contract.txt"
check "Jinjiang back to RECEIVED" wait_for 30 in_state 350582 "$id" RECEIVED
moved=$(Z $J accept "$id" 2>&1)
echo "$moved" >> "$out"
expect_eq "a move's result names the state in Chinese" "$id 现为 给予法律援助" "$moved"
run $J assign "$id" --firm "示例律师事务所" --lawyer "王示例" --licence "13505200000000"
check "Shishi sees ASSIGNED" wait_for 30 in_state 350581 "$id" ASSIGNED
run $S show "$id"
run $J overdue
run $S route "$T/app.json"
run $J calendar due --from 2026-09-30 --days 7
run $J token create --name court-clerk --scope court
run $J token list
run $S audit verify
run $S store check
run $S backup "$T/backup"
run $J legal-hold list
run $J directory show
run status
run nosuch
run --data "$T/new" init --node 12 --name x --listen tcp://127.0.0.1:1 --authority "$T/authority/authority.pub.pem"
run $J show 350581-00000000000000000000000000000000

expect_contains "usage in Chinese" "用法：refctl" "$(cat "$out")"
expect_contains "the case sheet in Chinese" "申请人    " "$(cat "$out")"
expect_contains "status in Chinese" "发件箱：待发送" "$(cat "$out")"
expect_contains "an error in Chinese" "refctl：没有数据目录" "$(cat "$out")"
expect_contains "the node's English detail on a supplement, translated" \
	"已发往接收中心" "$(cat "$out")"

# The scan (tests/english.py): three or more plain English words in a row
# is a sentence a person reads; codes, ids, paths, flags and placeholders
# are not. The applicant's data are the fixture's (Chinese).
english=$("$PY" "$SRC/tests/english.py" "$out")
expect_eq "no English sentence in the zh_CN session's human output" "" "$english"

# English kept: the C locale prints what the other tests match.
expect_contains "LANG=C: status in English" "outbox: " "$(E $J status)"
expect_contains "LANG=C: the case sheet in English" "applicant " "$(E $J show "$id")"
expect_contains "LANG=C: usage in English" "usage: refctl" "$(E --help 2>&1)"
# --json: stable codes in any language.
expect_eq "show --json is the same under zh_CN and C" "$(E $J show "$id" --json)" \
	"$(Z $J show "$id" --json)"
expect_contains "and keeps the state's code" '"state": "ASSIGNED"' "$(Z $J show "$id" --json)"

# The gateway: its console in Chinese under zh_CN, its JSON API the same
# English in both (tests/http/console_i18n.py: the pages, their markup,
# the scan for English, the problems' codes and details).
. "$SRC/tests/http/gateway-lib.sh"
usage=$(LANG=zh_CN.UTF-8 "$GW_BIN" --nosuch 2>&1)
expect_contains "referral-gw's usage in Chinese" "用法：referral-gw" "$usage"
export TOK_ADMIN TOK_STAFF
TOK_ADMIN=$(token 350582 admin-01 admin)
TOK_STAFF=$(token 350582 reviewer-gw staff)
check "an admin and a staff token at Jinjiang" test -n "$TOK_ADMIN" -a -n "$TOK_STAFF"
# Two gateways in front of Jinjiang, one per language; no delay on the
# one failed login the test makes.
LANG=zh_CN.UTF-8 gateway 350582 "[console]" "login_fail_delay_ms = 0"
GW_ZH=$GW_URL_350582
LANG=C.UTF-8 gateway 350582 "[console]" "login_fail_delay_ms = 0"
expect_eq "each gateway's start line names its console's language" \
	"console_lang=zh-CN console_lang=en" \
	"$(grep -o 'started .*console_lang=[a-zA-Z-]*' "$T/gw-350582.log" | grep -o 'console_lang=.*' | tr '\n' ' ' | sed 's/ $//')"
export GW_ZH GW_C=$GW_URL_350582 REFERRAL_ID=$id OUT_DIR=$T/console
mkdir -p "$OUT_DIR"
"$PY" "$SRC/tests/http/console_i18n.py"
rc=$?
if [ $rc -eq 0 ]; then ok "tests/http/console_i18n.py"; else not_ok "tests/http/console_i18n.py exited $rc"; fi
# With the node stopped, the console says so in Chinese: a third zh_CN
# gateway, new (it has asked the node nothing), that gives up on the node
# quickly (a short wait only here, where the node is known to be down).
LANG=zh_CN.UTF-8 gateway 350582 "[node]" "node_timeout_ms = 300"
stop 350582
down=$("$PY" - "$GW_URL_350582" "$TOK_ADMIN" <<'PY'
import sys, urllib.request, urllib.error
req = urllib.request.Request(sys.argv[1] + "/console/overdue",
                             headers={"Authorization": "Bearer " + sys.argv[2]})
try:
    urllib.request.urlopen(req, timeout=60)
except urllib.error.HTTPError as e:
    print(e.code, e.read().decode())
PY
)
expect_contains "the node stopped: the console's page says so in Chinese (503)" \
	"503 " "${down:0:4}"
expect_contains "with the node's absence in Chinese" "本地节点未应答" "$down"
# The pages as fetched, to look at (fixture data only; no token in them).
mkdir -p "$BUILD/i18n-artifacts"
cp "$OUT_DIR"/*.html "$BUILD/i18n-artifacts/" 2>/dev/null
echo "console pages: $BUILD/i18n-artifacts/"
finish
