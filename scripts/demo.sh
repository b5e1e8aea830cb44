#!/usr/bin/env bash
# demo.sh: two county nodes on this machine, a referral end to end.
# Installs what is missing, builds, makes an authority and two nodes
# (350581 Shishi, 350582 Jinjiang) in a temporary folder on loopback ports,
# starts both, sends the sample application (an invented person) from
# Shishi to Jinjiang, shows it in Jinjiang's inbox and Shishi holding the
# verified receipt; then Jinjiang asks once for a missing item, Shishi
# relays it, Jinjiang grants and assigns a lawyer, and Shishi sees each
# state; prints the trails. Then a court joins over HTTP: its node and
# Jinjiang's each get a gateway (referral-gw), the court notifies a
# defence (Art 36), Jinjiang assigns a lawyer through its gateway, and the
# assignment notice reaches the court's event feed; the admin console's
# URL is printed. Stops everything at the end (REFERRAL_DEMO_KEEP=1 keeps
# the nodes and gateways running until Ctrl-C, to look at the console).
# It speaks Chinese (LANG=zh_CN.UTF-8) unless REFERRAL_LANG names another
# locale: REFERRAL_LANG=C scripts/demo.sh runs it in English.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
# REFERRAL_DEMO_BUILD names a build that already has everything (the
# test that runs this demo, tests/integration/demo.sh); otherwise the
# packages, the locale and build/ are made here.
build=${REFERRAL_DEMO_BUILD:-}
if [ -z "$build" ]; then
	. scripts/deps.sh
	referral_deps
	referral_locale
	referral_build build
	build=$top/build
fi
# Chinese by default, as county staff read it; REFERRAL_LANG=C (or any
# other locale) for another language. refctl finds its catalog in build/.
export LANG=${REFERRAL_LANG:-zh_CN.UTF-8}
unset LC_ALL LC_MESSAGES LANGUAGE
export REFERRAL_LOCALEDIR=$build/po
refctl=$build/client/refctl
referrald=$build/broker/referrald
gateway=$build/client/referral-gw
py=/usr/bin/python3

work=$(mktemp -d "${TMPDIR:-/tmp}/referral-demo.XXXXXX")
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
}
trap cleanup EXIT
port() { $py -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# say ENGLISH CHINESE: the line in the demo's language.
say() { case ${LC_ALL:-${LC_MESSAGES:-$LANG}} in zh*) echo "$2" ;; *) echo "$1" ;; esac; }
step() { printf '\n== %s\n' "$(say "$1" "$2")"; }

step "The provincial authority makes its key pair" "省级主管机关生成密钥对"
$refctl authority keygen --out "$work/authority"

step "Each county initialises its node (keys are made locally, private files 0600)" "各县初始化自己的节点（密钥在本地生成，私钥文件权限 0600）"
$refctl init --data "$work/shishi" --node 350581 --name "石狮市法律援助中心" \
	--listen "tcp://127.0.0.1:$(port)" --authority "$work/authority/authority.pub.pem" \
	> "$work/shishi.entry.json"
$refctl init --data "$work/jinjiang" --node 350582 --name "晋江市法律援助中心" \
	--listen "tcp://127.0.0.1:$(port)" --authority "$work/authority/authority.pub.pem" \
	> "$work/jinjiang.entry.json"
$refctl init --data "$work/court" --node 350521 --name "晋江市人民法院" --role court \
	--listen "tcp://127.0.0.1:$(port)" --authority "$work/authority/authority.pub.pem" \
	> "$work/court.entry.json"
cat "$work/shishi.entry.json"

step "The authority signs a directory of the three (two centres, a court) and each node installs it" "主管机关签发三方（两个中心、一个法院）的目录，各节点安装"
$refctl directory assemble --version 1 --authority 350500 --out "$work/directory.json" \
	"$work/shishi.entry.json" "$work/jinjiang.entry.json" "$work/court.entry.json"
$refctl directory sign --key "$work/authority/authority.key" "$work/directory.json"
for n in shishi jinjiang court; do cp "$work/directory.json" "$work/directory.json.sig" "$work/$n/"; done

step "The nodes start (logs in $work/*.log)" "节点启动（日志在 $work/*.log）"
for n in shishi jinjiang court; do
	$referrald --data "$work/$n" 2> "$work/$n.log" &
	pids+=($!)
done
for n in shishi jinjiang court; do
	for i in $(seq 50); do $refctl --data "$work/$n" status >/dev/null 2>&1 && break; sleep 0.1; done
	$refctl --data "$work/$n" status
done

step "Shishi's intake staff submit an application that belongs to Jinjiang" "石狮的受理人员提交一份应由晋江办理的申请"
$refctl example application > "$work/application.json"
id=$($refctl --data "$work/shishi" submit --to 350582 "$work/application.json" --actor staff-0107)
say "referral $id committed at Shishi" "转交 $id 已在石狮提交"

step "Jinjiang's inbox" "晋江的收件箱"
for i in $(seq 100); do
	[ "$($refctl --data "$work/shishi" show "$id" --json | $py -c 'import json,sys; print(json.load(sys.stdin)["delivery"])')" = delivered ] && break
	sleep 0.1
done
$refctl --data "$work/jinjiang" list --inbox

step "Shishi holds Jinjiang's signed receipt" "石狮持有晋江签名的回执"
$refctl --data "$work/shishi" show "$id"

state_at() { $refctl --data "$work/$1" show "$id" --json | $py -c 'import json,sys; print(json.load(sys.stdin)["state"])'; }
# wait_state NODE STATE: the other county learns each move over the wire.
wait_state() {
	for i in $(seq 100); do [ "$(state_at "$1")" = "$2" ] && break; sleep 0.1; done
	say "  $1 sees: $(state_at "$1")" "  $1 看到的状态：$(state_at "$1")"
}
J="$refctl --data $work/jinjiang --actor reviewer-02"
S="$refctl --data $work/shishi --actor staff-0107"

step "Jinjiang reviews: one missing item, asked for once (一次性告知)" "晋江审查：缺少一项材料，一次性告知补充"
wait_state shishi RECEIVED
$J request-materials "$id" --item "$(say "copy of the labour contract" "劳动合同复印件")"
wait_state shishi AWAITING_MATERIALS
$J notice "$id" --type materials --out "$work/补充材料通知书.pdf"
$J notified "$id" --how in-person --on "$(TZ=Asia/Shanghai date +%F)"
say "  the notice for the applicant, to print: $work/补充材料通知书.pdf" "  给申请人的通知书，可打印：$work/补充材料通知书.pdf"

step "Shishi relays the applicant's supplement; the review clock resumes" "石狮转交申请人补充的材料；审查期限继续计算"
echo "Labour contract of an invented worker (demo document)" > "$work/contract.txt"
$S supplement "$id" --doc "$work/contract.txt"
wait_state jinjiang RECEIVED

step "Jinjiang grants legal aid and assigns a lawyer" "晋江决定给予法律援助并指派律师"
$J accept "$id"
wait_state shishi GRANTED
$J assign "$id" --firm "示例律师事务所" --lawyer "王示例" --licence "13505200000000"
wait_state shishi ASSIGNED

step "The referral as Shishi sees it: history, clocks, receipt" "石狮看到的转交：办理经过、期限、回执"
$refctl --data "$work/shishi" show "$id"

step "Each county's audit chain, verified from its store (read-only)" "各县的审计链，从其存储中核验（只读）"
$refctl --data "$work/shishi" audit verify
$refctl --data "$work/jinjiang" audit verify

step "The merged trail at Shishi: its own events and what Jinjiang signed" "石狮的合并记录：本方事件及晋江签名的事件"
$refctl --data "$work/shishi" audit trail "$id"

# http METHOD URL TOKEN [JSON]: one call to a gateway; prints the answer.
http() {
	$py - "$@" <<'PY'
import json, sys, urllib.request, urllib.error
method, url, token = sys.argv[1:4]
data = sys.argv[4].encode() if len(sys.argv) > 4 else None
req = urllib.request.Request(url, data=data, method=method)
req.add_header("Authorization", "Bearer " + token)
if data:
    req.add_header("Content-Type", "application/json")
try:
    with urllib.request.urlopen(req, timeout=15) as r:
        body = r.read().decode()
except urllib.error.HTTPError as e:
    body = e.read().decode()
print(body)
PY
}

step "A gateway for the court's node and one for Jinjiang's (HTTP on 127.0.0.1)" "为法院节点和晋江节点各开一个网关（HTTP，127.0.0.1）"
gw_court=$(port); gw_jj=$(port)
$gateway --data "$work/court" --listen "127.0.0.1:$gw_court" 2> "$work/gw-court.log" &
pids+=($!)
$gateway --data "$work/jinjiang" --listen "127.0.0.1:$gw_jj" 2> "$work/gw-jinjiang.log" &
pids+=($!)
court_tok=$($refctl --data "$work/court" token create --name court-clerk --scope court --json | $py -c 'import json,sys; print(json.load(sys.stdin)["token"])')
staff_tok=$($refctl --data "$work/jinjiang" token create --name reviewer-02 --scope staff --json | $py -c 'import json,sys; print(json.load(sys.stdin)["token"])')
admin_tok=$($refctl --data "$work/jinjiang" token create --name admin-01 --scope admin --json | $py -c 'import json,sys; print(json.load(sys.stdin)["token"])')
for i in $(seq 50); do http GET "http://127.0.0.1:$gw_jj/openapi.json" x >/dev/null 2>&1 && break; sleep 0.1; done
say "tokens made at each node (shown once): court-clerk, reviewer-02, admin-01" "各节点已生成令牌（只显示一次）：court-clerk, reviewer-02, admin-01"

step "The court notifies Jinjiang's centre of a defence to assign (Art 36), through its own node" "法院通过自己的节点通知晋江的中心指派辩护律师（第三十六条）"
ev=$($py -c 'import json,sys; print(json.dumps({"type":"notify_defence","to":"350582","case_ref":"(2026)闽0582刑初101号","application":json.load(open(sys.argv[1]))}))' "$work/application.json")
out=$(http POST "http://127.0.0.1:$gw_court/v1/events" "$court_tok" "$ev")
echo "$out"
cid=$(echo "$out" | $py -c 'import json,sys; print(json.load(sys.stdin)["referral_id"])')
for i in $(seq 100); do $refctl --data "$work/jinjiang" show "$cid" >/dev/null 2>&1 && break; sleep 0.1; done
cstate=$($refctl --data "$work/jinjiang" show "$cid" --json | $py -c 'import json,sys; print(json.load(sys.stdin)["state"])')
say "  at Jinjiang: $cstate (no means test; the 3-day assignment clock runs)" "  晋江：$cstate（不审查经济困难状况；3 日指派期限开始计算）"

step "Jinjiang's reviewer assigns a lawyer through the gateway" "晋江的审查人员通过网关指派律师"
http POST "http://127.0.0.1:$gw_jj/v1/referrals/$cid/assign" "$staff_tok" \
	'{"firm":"示例律师事务所","lawyer":"王示例","licence_no":"13505200000000","contact":"0595-00000000"}'

step "The assignment notice reaches the court's event feed, signed by Jinjiang's centre" "指派通知经晋江中心签名，到达法院的事件列表"
for i in $(seq 100); do
	feed=$(http GET "http://127.0.0.1:$gw_court/v1/events" "$court_tok")
	case $feed in *assignment_notice*) break ;; esac
	sleep 0.1
done
echo "$feed"

step "The admin console" "管理控制台"
say "  http://127.0.0.1:$gw_jj/console/  (log in with the admin token: $admin_tok)" "  http://127.0.0.1:$gw_jj/console/ （用管理员令牌登录：$admin_tok）"
say "  the API: http://127.0.0.1:$gw_jj/openapi.json; docs/INTEGRATION.md shows a court's and a bureau's whole exchange" "  接口：http://127.0.0.1:$gw_jj/openapi.json；docs/INTEGRATION.md 有法院和仲裁机构的完整交互示例"
if [ -n "${REFERRAL_DEMO_KEEP:-}" ]; then
	say "  (REFERRAL_DEMO_KEEP: running until Ctrl-C)" "  （REFERRAL_DEMO_KEEP：持续运行，按 Ctrl-C 结束）"
	wait
fi

step "Stopping the nodes and gateways" "停止节点和网关"
cleanup
pids=()
tail -n 1 "$work/shishi.log" "$work/jinjiang.log" "$work/court.log"
echo
say "Demo folder kept for a look: $work" "演示目录保留备查：$work"
