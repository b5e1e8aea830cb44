# common.sh: what the fault tests share, on top of lib.sh: the checks that
# every acknowledged referral arrived exactly once, and that moved
# referrals' histories hold each step once, in order. Sourced after lib.sh.
# exactly_once ORIGIN RECEIVER ACKED_FILE: prints "ok" or what is wrong.
# Every acknowledged referral is delivered and RECEIVED at the origin; the
# receiver stored each submit once and the origin applied each RECEIVED
# once; the receiver holds nothing the origin did not send.
exactly_once() {
	local rc c out
	rm -f "$T"/o.jsonl* "$T"/r.jsonl*
	# One at a time, so a failure names the command and how it ended (a
	# crash prints nothing of its own here).
	for c in "$1 audit export --out $T/o.jsonl" "$2 audit export --out $T/r.jsonl" \
		 "$1 list --outbox --json" "$2 list --inbox --json"; do
		case $c in
		"$1 list"*) out=$T/o.json ;; "$2 list"*) out=$T/r.json ;; *) out=/dev/null ;;
		esac
		# shellcheck disable=SC2086
		"$REFCTL" --data "$T/${c%% *}" ${c#* } > "$out" 2> "$T/err"; rc=$?
		[ $rc = 0 ] || { echo "refctl ${c#* } at ${c%% *} exited $rc: $(cat "$T/err")"; return; }
	done
	"$PY" - "$3" "$T/o.jsonl" "$T/r.jsonl" "$T/o.json" "$T/r.json" <<'PY'
import json, sys, collections
acked = [l.split()[0] for l in open(sys.argv[1]) if l.strip()]
def events(p): return [json.loads(l) for l in open(p)]
o_ev, r_ev = events(sys.argv[2]), events(sys.argv[3])
out = {r["referral_id"]: r for r in json.load(open(sys.argv[4]))["referrals"]}
inn = {r["referral_id"]: r for r in json.load(open(sys.argv[5]))["referrals"]}
stored = collections.Counter(e["referral_id"] for e in r_ev
    if e["event"] == "received" and e["outcome"] == "STORED" and e["detail"] == "REFERRAL_SUBMIT")
applied = collections.Counter(e["referral_id"] for e in o_ev
    if e["event"] == "status_change" and e["outcome"] == "RECEIVED")
bad = []
for i in acked:
    if i not in out: bad.append(f"{i} acknowledged but not in the origin's outbox")
    elif out[i]["delivery"] != "delivered": bad.append(f"{i} not delivered")
    if stored[i] != 1: bad.append(f"{i} stored {stored[i]} times at the receiver")
    if applied[i] != 1: bad.append(f"{i} RECEIVED applied {applied[i]} times at the origin")
extra = set(inn) - set(out)
if extra: bad.append(f"{len(extra)} referral(s) at the receiver the origin never sent")
dups = [i for i, n in stored.items() if n > 1]
if dups: bad.append(f"{len(dups)} referral(s) stored twice")
print("ok" if not bad else "; ".join(bad[:5]) + (f" (and {len(bad)-5} more)" if len(bad) > 5 else ""))
PY
}

# all_received ORIGIN ACKED_FILE: every acknowledged referral is RECEIVED
# at the origin, and its submit receipted (for wait_for).
# The receipt for the submit can come after the RECEIVED change (a node
# stopped before it recorded the first receipt gets a DUPLICATE one when
# it resends), so both are waited for.
all_received() {
	"$REFCTL" --data "$T/$1" list --outbox --json 2>/dev/null | "$PY" -c '
import json, sys
rs = {r["referral_id"]: r for r in json.load(sys.stdin)["referrals"]}
ids = [l.split()[0] for l in open(sys.argv[1]) if l.strip()]
sys.exit(0 if all(i in rs and rs[i]["state"] == "RECEIVED" and
	      rs[i].get("delivery") == "delivered" for i in ids) else 1)' "$2"
}

# under_strace CODE STRACE-ARGS...: starts referrald with faults injected:
# strace tampers only with the calls it traces; its output is dropped.
# (LeakSanitizer cannot run under ptrace: off for this daemon only.)
under_strace() {
	local code=$1; shift
	ASAN_OPTIONS="${ASAN_OPTIONS:-}:detect_leaks=0" strace -f -o /dev/null "$@" \
		"$REFERRALD" --data "$T/$code" 2>> "$T/$code.log" &
	PIDS+=($!)
	eval "PID_$code=$!"
	wait_for 10 "$REFCTL" --data "$T/$code" status --json >/dev/null ||
		{ not_ok "node $code did not start under strace:"; tail -n 20 "$T/$code.log"; exit 1; }
}

# history_ok: every referral listed in $T/moved.txt has, at both nodes, the
# history REQUESTED RECEIVED GRANTED ASSIGNED IN_PROGRESS (for wait_for).
history_ok() {
	local want="REQUESTED RECEIVED GRANTED ASSIGNED IN_PROGRESS"
	while read -r id; do
		[ "$(states_of 350581 "$id")" = "$want" ] || return 1
		[ "$(states_of 350582 "$id")" = "$want" ] || return 1
	done < "$T/moved.txt"
}
