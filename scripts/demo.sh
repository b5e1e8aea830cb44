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
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
. scripts/deps.sh
referral_deps
referral_build build
refctl=$top/build/client/refctl
referrald=$top/build/broker/referrald
gateway=$top/build/client/referral-gw
py=/usr/bin/python3

work=$(mktemp -d /tmp/referral-demo.XXXXXX)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
}
trap cleanup EXIT
port() { $py -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
step() { printf '\n== %s\n' "$*"; }

step "The provincial authority makes its key pair"
$refctl authority keygen --out "$work/authority"

step "Each county initialises its node (keys are made locally, private files 0600)"
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

step "The authority signs a directory of the three (two centres, a court) and each node installs it"
$refctl directory assemble --version 1 --authority 350500 --out "$work/directory.json" \
	"$work/shishi.entry.json" "$work/jinjiang.entry.json" "$work/court.entry.json"
$refctl directory sign --key "$work/authority/authority.key" "$work/directory.json"
for n in shishi jinjiang court; do cp "$work/directory.json" "$work/directory.json.sig" "$work/$n/"; done

step "The nodes start (logs in $work/*.log)"
for n in shishi jinjiang court; do
	$referrald --data "$work/$n" 2> "$work/$n.log" &
	pids+=($!)
done
for n in shishi jinjiang court; do
	for i in $(seq 50); do $refctl --data "$work/$n" status >/dev/null 2>&1 && break; sleep 0.1; done
	$refctl --data "$work/$n" status
done

step "Shishi's intake staff submit an application that belongs to Jinjiang"
$refctl example application > "$work/application.json"
id=$($refctl --data "$work/shishi" submit --to 350582 "$work/application.json" --actor staff-0107)
echo "referral $id committed at Shishi"

step "Jinjiang's inbox"
for i in $(seq 100); do
	[ "$($refctl --data "$work/shishi" show "$id" --json | $py -c 'import json,sys; print(json.load(sys.stdin)["delivery"])')" = delivered ] && break
	sleep 0.1
done
$refctl --data "$work/jinjiang" list --inbox

step "Shishi holds Jinjiang's signed receipt"
$refctl --data "$work/shishi" show "$id"

state_at() { $refctl --data "$work/$1" show "$id" --json | $py -c 'import json,sys; print(json.load(sys.stdin)["state"])'; }
# wait_state NODE STATE: the other county learns each move over the wire.
wait_state() {
	for i in $(seq 100); do [ "$(state_at "$1")" = "$2" ] && break; sleep 0.1; done
	echo "  $1 sees: $(state_at "$1")"
}
J="$refctl --data $work/jinjiang --actor reviewer-02"
S="$refctl --data $work/shishi --actor staff-0107"

step "Jinjiang reviews: one missing item, asked for once (一次性告知)"
wait_state shishi RECEIVED
$J request-materials "$id" --item "copy of the labour contract"
wait_state shishi AWAITING_MATERIALS
$J notice "$id" --type materials --out "$work/补充材料通知书.pdf"
$J notified "$id" --how in-person --on "$(TZ=Asia/Shanghai date +%F)"
echo "  the notice for the applicant, to print: $work/补充材料通知书.pdf"

step "Shishi relays the applicant's supplement; the review clock resumes"
echo "Labour contract of an invented worker (demo document)" > "$work/contract.txt"
$S supplement "$id" --doc "$work/contract.txt"
wait_state jinjiang RECEIVED

step "Jinjiang grants legal aid and assigns a lawyer"
$J accept "$id"
wait_state shishi GRANTED
$J assign "$id" --firm "示例律师事务所" --lawyer "王示例" --licence "13505200000000"
wait_state shishi ASSIGNED

step "The referral as Shishi sees it: history, clocks, receipt"
$refctl --data "$work/shishi" show "$id"

step "Each county's audit chain, verified from its store (read-only)"
$refctl --data "$work/shishi" audit verify
$refctl --data "$work/jinjiang" audit verify

step "The merged trail at Shishi: its own events and what Jinjiang signed"
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

step "A gateway for the court's node and one for Jinjiang's (HTTP on 127.0.0.1)"
gw_court=$(port); gw_jj=$(port)
$gateway --data "$work/court" --listen "127.0.0.1:$gw_court" 2> "$work/gw-court.log" &
pids+=($!)
$gateway --data "$work/jinjiang" --listen "127.0.0.1:$gw_jj" 2> "$work/gw-jinjiang.log" &
pids+=($!)
court_tok=$($refctl --data "$work/court" token create --name court-clerk --scope court --json | $py -c 'import json,sys; print(json.load(sys.stdin)["token"])')
staff_tok=$($refctl --data "$work/jinjiang" token create --name reviewer-02 --scope staff --json | $py -c 'import json,sys; print(json.load(sys.stdin)["token"])')
admin_tok=$($refctl --data "$work/jinjiang" token create --name admin-01 --scope admin --json | $py -c 'import json,sys; print(json.load(sys.stdin)["token"])')
for i in $(seq 50); do http GET "http://127.0.0.1:$gw_jj/openapi.json" x >/dev/null 2>&1 && break; sleep 0.1; done
echo "tokens made at each node (shown once): court-clerk, reviewer-02, admin-01"

step "The court notifies Jinjiang's centre of a defence to assign (Art 36), through its own node"
ev=$($py -c 'import json,sys; print(json.dumps({"type":"notify_defence","to":"350582","case_ref":"(2026)闽0582刑初101号","application":json.load(open(sys.argv[1]))}))' "$work/application.json")
out=$(http POST "http://127.0.0.1:$gw_court/v1/events" "$court_tok" "$ev")
echo "$out"
cid=$(echo "$out" | $py -c 'import json,sys; print(json.load(sys.stdin)["referral_id"])')
for i in $(seq 100); do $refctl --data "$work/jinjiang" show "$cid" >/dev/null 2>&1 && break; sleep 0.1; done
echo "  at Jinjiang: $($refctl --data "$work/jinjiang" show "$cid" --json | $py -c 'import json,sys; print(json.load(sys.stdin)["state"])') (no means test; the 3-day assignment clock runs)"

step "Jinjiang's reviewer assigns a lawyer through the gateway"
http POST "http://127.0.0.1:$gw_jj/v1/referrals/$cid/assign" "$staff_tok" \
	'{"firm":"示例律师事务所","lawyer":"王示例","licence_no":"13505200000000","contact":"0595-00000000"}'

step "The assignment notice reaches the court's event feed, signed by Jinjiang's centre"
for i in $(seq 100); do
	feed=$(http GET "http://127.0.0.1:$gw_court/v1/events" "$court_tok")
	case $feed in *assignment_notice*) break ;; esac
	sleep 0.1
done
echo "$feed"

step "The admin console"
echo "  http://127.0.0.1:$gw_jj/console/  (log in with the admin token: $admin_tok)"
echo "  the API: http://127.0.0.1:$gw_jj/openapi.json; docs/INTEGRATION.md shows a court's and a bureau's whole exchange"
if [ -n "${REFERRAL_DEMO_KEEP:-}" ]; then
	echo "  (REFERRAL_DEMO_KEEP: running until Ctrl-C)"
	wait
fi

step "Stopping the nodes and gateways"
cleanup
pids=()
tail -n 1 "$work/shishi.log" "$work/jinjiang.log" "$work/court.log"
echo
echo "Demo folder kept for a look: $work"
