# lib.sh: what the integration tests share. Sourced by tests/integration/*.sh.
#
# Each test gets its own folder under /tmp with an authority and real nodes
# (real keys, real CURVE, real LMDB) listening on free loopback ports, and
# everything it started is stopped when it exits. A failed check prints
# what was expected and what came, and the test exits non-zero.
set -u
BUILD=${REFERRAL_BUILD:?run through meson test}
REFCTL=$BUILD/client/refctl
REFERRALD=$BUILD/broker/referrald
PEERSIM=$BUILD/tests/peersim
# The tests match refctl's English text: English whatever the caller's
# locale (C.UTF-8 still passes Chinese names through). The catalog in the
# build tree, for a test that sets LANG=zh_CN.UTF-8 itself (tests/i18n.sh).
export LANG=C.UTF-8
unset LC_ALL LC_MESSAGES LANGUAGE
export REFERRAL_LOCALEDIR=$BUILD/po
T=$(mktemp -d /tmp/referral-test.XXXXXX)
# Debian's interpreter directly: a version manager's shim on PATH can cost
# a third of a second per call, and tests call it often.
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
PIDS=()
CHECKS=0
FAILED=0

cleanup() {
	for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; wait "$p" 2>/dev/null || true; done
	if [ "$FAILED" -eq 0 ] && [ -z "${REFERRAL_TEST_KEEP:-}" ]; then rm -rf "$T"; else echo "kept $T for inspection"; fi
}
trap cleanup EXIT

free_port() {
	"$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

ok() { CHECKS=$((CHECKS + 1)); echo "ok - $*"; }
not_ok() { CHECKS=$((CHECKS + 1)); FAILED=$((FAILED + 1)); echo "FAIL - $*"; }

# check DESCRIPTION COMMAND...: passes when the command succeeds.
check() {
	local what=$1; shift
	if "$@"; then ok "$what"; else not_ok "$what"; fi
}

# expect_eq DESCRIPTION EXPECTED ACTUAL
expect_eq() {
	if [ "$2" = "$3" ]; then ok "$1"; else not_ok "$1: expected '$2', got '$3'"; fi
}

# expect_contains DESCRIPTION NEEDLE HAYSTACK
expect_contains() {
	case "$3" in
	*"$2"*) ok "$1" ;;
	*) not_ok "$1: '$2' not found in: $3" ;;
	esac
}

# json FILTER: reads JSON on stdin, prints one value (python3 is on every
# Debian machine meson runs on).
json() {
	"$PY" -c 'import json,sys
v=json.load(sys.stdin)
for k in sys.argv[1].split("."):
    v = v[int(k)] if isinstance(v, list) else v.get(k) if isinstance(v, dict) else None
print("" if v is None else (json.dumps(v) if isinstance(v,(dict,list,bool)) else v))' "$1"
}

authority() {
	"$REFCTL" authority keygen --out "$T/authority" ${NODE_ALG:+--alg "$NODE_ALG"} >/dev/null
}

# node CODE NAME [CONFIG LINES...]: inits a node in $T/CODE (of role
# $NODE_ROLE if set: court, labour_bureau...; signing with $NODE_ALG if
# set: sm2-sm3, as the authority() made with it).
node() {
	local code=$1 name=$2; shift 2
	local port; port=$(free_port)
	"$REFCTL" init --data "$T/$code" --node "$code" --name "$name" \
		--listen "tcp://127.0.0.1:$port" ${NODE_ROLE:+--role "$NODE_ROLE"} \
		${NODE_ALG:+--alg "$NODE_ALG"} \
		--authority "$T/authority/authority.pub.pem" > "$T/$code.entry.json" ||
		{ echo "init $code failed"; exit 1; }
	# Tests wait for resends, not for the production schedule.
	{
		echo
		echo "[delivery]"
		echo "retry_first_ms = 500"
		echo "retry_cap_ms = 2000"
		# A short replay window, for scripts/soak.sh's dedup horizon.
		[ -n "${REFERRAL_LIFETIME_MS:-}" ] &&
			echo "message_lifetime_ms = $REFERRAL_LIFETIME_MS"
		[ -n "${REFERRAL_SKEW_MS:-}" ] &&
			echo "future_skew_ms = $REFERRAL_SKEW_MS"
		for line in "$@"; do echo "$line"; done
		# scripts/bench.sh --crypto-threads N: the figures with N.
		[ -n "${REFERRAL_CRYPTO_THREADS:-}" ] &&
			printf '[limits]\ncrypto_threads = %s\n' "$REFERRAL_CRYPTO_THREADS"
	} >> "$T/$code/referrald.conf"
}

# bureau CODE NAME OVERSEES REVIEWERS: a justice_bureau node whose
# directory entry oversees the centres OVERSEES and lists the staff ids
# REVIEWERS (both comma-separated) as its objection_reviewers. Before
# `directory`.
bureau() {
	NODE_ROLE=justice_bureau node "$1" "$2"
	"$PY" - "$T/$1.entry.json" "$3" "$4" <<'PY'
import json, sys
e = json.load(open(sys.argv[1]))
e["oversees"] = sys.argv[2].split(",")
e["objection_reviewers"] = sys.argv[3].split(",")
json.dump(e, open(sys.argv[1], "w"), ensure_ascii=False, indent=2)
PY
}

# authority_node: the authority's own node, 350500, which publishes
# directories (refctl directory publish).
authority_node() {
	local port; port=$(free_port)
	"$REFCTL" init --data "$T/350500" --node 350500 --name "示例市司法局" \
		--role authority --listen "tcp://127.0.0.1:$port" \
		--authority "$T/authority/authority.pub.pem" > "$T/350500.entry.json" ||
		{ echo "init 350500 failed"; exit 1; }
	printf '\n[delivery]\nretry_first_ms = 500\nretry_cap_ms = 1000\n' \
		>> "$T/350500/referrald.conf"
}

# listen_of CODE: where the node listens.
listen_of() { sed -n 's/^listen = //p' "$T/$1/referrald.conf"; }

# front CODE PORT [CODE PORT...]: the node's directory entry sends its
# peers to 127.0.0.1:PORT, where a test puts a relay or proxy in front of
# where it listens. Before `directory`.
front() {
	local args=()
	while [ $# -ge 2 ]; do args+=("$T/$1.entry.json" "tcp://127.0.0.1:$2"); shift 2; done
	"$PY" - "${args[@]}" <<'PY'
import json, sys
for path, ep in zip(sys.argv[1::2], sys.argv[2::2]):
    e = json.load(open(path))
    e["endpoint"] = ep
    json.dump(e, open(path, "w"), ensure_ascii=False, indent=2)
PY
}

# fault_apps: three applications of the invented applicant in $T:
# ordinary.json (full means check), green.json (the example, a green
# channel group) and urgent.json (a limitation period near).
fault_apps() {
	"$REFCTL" example application > "$T/green.json"
	"$PY" - "$T/green.json" "$T/ordinary.json" "$T/urgent.json" <<'PY'
import json,sys
a=json.load(open(sys.argv[1]))
o=dict(a); o["applicant"]=dict(a["applicant"], groups=["woman"]); o["means"]={"path":"full_check","household_income_yuan":9000,"household_size":2}
json.dump(o,open(sys.argv[2],"w"))
u=dict(o); u["matter"]=dict(a["matter"], urgency=["limitation_near"])
json.dump(u,open(sys.argv[3],"w"))
PY
}

# directory VERSION CODE...: assembles, signs and installs the directory.
directory() {
	local version=$1; shift
	local entries=()
	for c in "$@"; do entries+=("$T/$c.entry.json"); done
	"$REFCTL" directory assemble --version "$version" --authority 350500 \
		--out "$T/directory.json" "${entries[@]}" &&
	"$REFCTL" directory sign --key "$T/authority/authority.key" \
		"$T/directory.json" >/dev/null || { echo "directory failed"; exit 1; }
	for c in "$@"; do cp "$T/directory.json" "$T/directory.json.sig" "$T/$c/"; done
}

# start CODE: starts referrald and waits until it answers.
start() {
	"$REFERRALD" --data "$T/$1" 2>> "$T/$1.log" &
	PIDS+=($!)
	eval "PID_$1=$!"
	# A start checks every record of the store first: a long soak's
	# store, on a busy machine, takes a while.
	wait_for "${START_TIMEOUT:-30}" "$REFCTL" --data "$T/$1" status --json >/dev/null ||
		{ not_ok "node $1 did not start within ${START_TIMEOUT:-30} s:"; tail -n 20 "$T/$1.log"; exit 1; }
}

stop() {
	local pid; eval "pid=\${PID_$1}"
	kill -TERM "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
}

kill9() {
	local pid; eval "pid=\${PID_$1}"
	kill -9 "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
}

# wait_for SECONDS COMMAND...: retries until the command succeeds.
wait_for() {
	local limit=$(( $(date +%s) + $1 )); shift
	while [ "$(date +%s)" -le "$limit" ]; do
		"$@" 2>/dev/null && return 0
		sleep 0.2
	done
	return 1
}

delivery_of() { "$REFCTL" --data "$T/$1" show "$2" --json | json delivery; }
is_delivered() { [ "$(delivery_of "$1" "$2")" = delivered ]; }
inbox_count() { "$REFCTL" --data "$T/$1" list --inbox --json | json referrals | "$PY" -c 'import json,sys; print(len(json.load(sys.stdin)))'; }
audit_count() { "$REFCTL" --data "$T/$1" status --json | json audit_records; }

# greeted CODE: the greeting checkpoints nodes send at the first deadline
# check after they first talk are both in CODE's chain since its last
# start (its own sent and receipted, and witnessed from the same peers:
# with two peers the second greeting can come later) and nothing
# waits in its outbox; until
# then a count of its audit records can grow by three under a test (for
# wait_for).
greeted() {
	"$REFCTL" --data "$T/$1" audit export --out "$T/$1.greet.jsonl" >/dev/null &&
		"$PY" -c 'import json,sys
ev = [json.loads(l) for l in open(sys.argv[1])]
starts = [i for i, e in enumerate(ev) if e["event"] == "node_started"]
ev = ev[starts[-1]:] if starts else ev   # since its last start
# each peer: its checkpoint witnessed here, and ours receipted by it
seen = {e["peer"] for e in ev if e["event"] == "witnessed"}
held = {e["peer"] for e in ev if e["event"] == "receipt" and not e["referral_id"]}
sys.exit(0 if seen and seen == held else 1)' "$T/$1.greet.jsonl" &&
		[ "$("$REFCTL" --data "$T/$1" status --json | json outbox.pending)" = 0 ]
}

# events_of CODE ID EVENT: how many audit events EVENT the node holds for
# the referral: "applied once" is one "received" at the receiver.
events_of() {
	"$REFCTL" --data "$T/$1" trail "$2" --json |
		"$PY" -c 'import json,sys; print(sum(1 for e in json.load(sys.stdin)["events"] if e["event"]==sys.argv[1]))' "$3"
}

submit() {
	"$REFCTL" --data "$T/$1" submit --to "$2" "$3" --json | json referral_id
}

two_nodes() {
	authority
	node 350581 "石狮市法律援助中心" "$@"
	node 350582 "晋江市法律援助中心" "$@"
	directory 1 350581 350582
	"$REFCTL" example application > "$T/app.json"
}

finish() {
	# Daemons stop cleanly first, so a sanitizer build reports any leak;
	# a report lands in the daemon's log.
	for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
	for f in "$T"/*.log; do
		[ -f "$f" ] || continue
		if grep -q "ERROR: AddressSanitizer\|ERROR: LeakSanitizer\|runtime error:" "$f"; then
			not_ok "a sanitizer report in $(basename "$f"):"
			grep -A12 "ERROR: AddressSanitizer\|ERROR: LeakSanitizer\|runtime error:" "$f" | head -40
		fi
	done
	echo "$CHECKS checks, $FAILED failed"
	[ "$FAILED" -eq 0 ]
	exit $?
}

# states_of CODE ID: the referral's history as "STATE STATE ...".
states_of() {
	"$REFCTL" --data "$T/$1" show "$2" --json |
		"$PY" -c 'import json,sys; print(" ".join(h["state"] for h in json.load(sys.stdin)["history"]))'
}
state_of() { "$REFCTL" --data "$T/$1" show "$2" --json | json state; }
# in_state CODE ID STATE: for wait_for.
in_state() { [ "$(state_of "$1" "$2")" = "$3" ]; }
