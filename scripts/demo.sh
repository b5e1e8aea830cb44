#!/usr/bin/env bash
# demo.sh: two county nodes on this machine, a referral end to end.
# Installs what is missing, builds, makes an authority and two nodes
# (350581 Shishi, 350582 Jinjiang) in a temporary folder on loopback ports,
# starts both, sends the sample application (an invented person) from
# Shishi to Jinjiang, shows it in Jinjiang's inbox and Shishi holding the
# verified receipt; then Jinjiang asks once for a missing item, Shishi
# relays it, Jinjiang grants and assigns a lawyer, and Shishi sees each
# state; prints the trails and stops both nodes.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
. scripts/deps.sh
referral_deps
referral_build build
refctl=$top/build/client/refctl
referrald=$top/build/broker/referrald
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
cat "$work/shishi.entry.json"

step "The authority signs a directory of both and each node installs it"
$refctl directory assemble --version 1 --authority 350500 --out "$work/directory.json" \
	"$work/shishi.entry.json" "$work/jinjiang.entry.json"
$refctl directory sign --key "$work/authority/authority.key" "$work/directory.json"
for n in shishi jinjiang; do cp "$work/directory.json" "$work/directory.json.sig" "$work/$n/"; done

step "Both nodes start (logs in $work/*.log)"
for n in shishi jinjiang; do
	$referrald --data "$work/$n" 2> "$work/$n.log" &
	pids+=($!)
done
for n in shishi jinjiang; do
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

step "Stopping both nodes"
cleanup
pids=()
tail -n 1 "$work/shishi.log" "$work/jinjiang.log"
echo
echo "Demo folder kept for a look: $work"
