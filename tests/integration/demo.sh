# demo.sh: the README's demo (scripts/demo.sh) run whole, in Chinese as
# county staff see it, from this build: it ends well, prints a notice to
# PDF and says where, and its output holds no English sentence a person
# reads (tests/english.py: the node's log lines and the API's JSON keep
# their English codes). REFERRAL_LANG=C runs it in English, which must
# end well too.
. "$(dirname "$0")/../lib.sh"
SRC=${REFERRAL_SOURCE:?run through meson test}
if ! locale -a 2>/dev/null | grep -qix 'zh_CN.utf-\?8'; then
	not_ok "the zh_CN.UTF-8 locale is missing (scripts/deps.sh referral_locale makes it)"
	finish
fi
# demo DIR LANG: runs the demo with its folder under DIR; output in DIR/out.
demo() {
	mkdir -p "$1"
	# (Under ASan: libcairo's font cache outlives refctl notice, as
	# notices.sh says; tests/lsan-render.supp names it, and nothing else.)
	TMPDIR=$1 REFERRAL_DEMO_BUILD=$BUILD REFERRAL_LANG=$2 \
		LSAN_OPTIONS=suppressions=$SRC/tests/lsan-render.supp \
		timeout 300 bash "$SRC/scripts/demo.sh" > "$1/out" 2>&1
}

demo "$T/zh" zh_CN.UTF-8; rc=$?
expect_eq "the demo ends well in Chinese" 0 "$rc"
[ "$rc" -eq 0 ] || tail -n 30 "$T/zh/out"
out=$(cat "$T/zh/out")
expect_contains "it speaks Chinese" "石狮的受理人员提交一份应由晋江办理的申请" "$out"
expect_contains "the referral is assigned, and Shishi sees it" "shishi 看到的状态：ASSIGNED" "$out"
expect_contains "the court's feed gets the assignment notice" "assignment_notice" "$out"
pdf=$(sed -n 's/^  给申请人的通知书，可打印：//p' "$T/zh/out")
check "it says where the notice's PDF is" test -n "$pdf"
check "and the PDF is there" test -s "$pdf"
if type -P pdftotext >/dev/null; then
	expect_contains "the PDF is the materials notice" "补充材料通知书" "$(pdftotext "$pdf" - | tr -d ' \n')"
else
	not_ok "pdftotext is missing (poppler-utils: scripts/deps.sh)"
fi
english=$("$PY" "$SRC/tests/english.py" "$T/zh/out")
expect_eq "no English sentence a person reads in the Chinese demo" "" "$english"
for f in "$T"/zh/referral-demo.*/*.log; do
	cp "$f" "$T/demo-zh-$(basename "$f")"  # finish() reads $T/*.log for sanitizer reports
done

demo "$T/en" C.UTF-8; rc=$?
expect_eq "the demo ends well in English" 0 "$rc"
[ "$rc" -eq 0 ] || tail -n 30 "$T/en/out"
expect_contains "and speaks English there" "Shishi's intake staff submit an application" "$(cat "$T/en/out")"
for f in "$T"/en/referral-demo.*/*.log; do
	cp "$f" "$T/demo-en-$(basename "$f")"
done
finish
