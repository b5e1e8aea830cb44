#!/usr/bin/env bash
# bench.sh [--quick] [--count N] [--alg sm2-sm3] [--crypto-threads N]
#          [--no-rabbitmq]: REF-1 on
# this machine (docs/PERFORMANCE.md says what it measures and why).
#
# Two nodes on loopback, each with its own synced store. bench-ref1
# submits COUNT referrals (default 100,000; an application of about
# 1 KiB) to node A through libreferral's pipe, at most 1,000 submitted and
# not yet acknowledged; each submit is acknowledged after A's commit; A
# delivers to B; B commits before its receipt; A records the receipt.
# Figures: throughput from the first submit to the last receipt held at A;
# p50 and p99 from submit to receipt held at A in a second run, paced at
# 1,000 a second (open loop); each node's peak resident memory, anonymous
# and file-backed (LMDB's map is file pages) apart; store bytes per
# referral; CPU seconds per 1,000 referrals. Then the same workload on
# RabbitMQ 3.10 from Debian (a private instance on 127.0.0.1, quorum and
# classic queues: scripts/bench-rabbitmq.sh), unless --no-rabbitmq or
# --quick.
#
# It prints one line per system,
#   REF-1 system=NAME thr_msgs_s=N p50_ms=X p99_ms=Y rss_mb=Z ...
# then the project's ratio to each. It asserts nothing about time; it
# exits non-zero only if a referral was not delivered exactly once.
# --quick: 10,000 referrals (BENCH_QUICK_COUNT: fewer, for the slower
# sanitizer build), the paced run 2,000, no RabbitMQ (the test suite's
# smoke test, tests/bench/bench-quick.sh, runs it).
# REFERRAL_BENCH_BUILD names a build to use as it is (the test suite's).
set -eu
count=100000
paced=
alg=
rabbit=1
while [ $# -gt 0 ]; do
	case $1 in
	--quick) count=${BENCH_QUICK_COUNT:-10000}; paced=2000; rabbit=0 ;;
	--count) count=$2; shift ;;
	--alg) alg=$2; shift ;;
	--crypto-threads) export REFERRAL_CRYPTO_THREADS=$2; shift ;;
	--no-rabbitmq) rabbit=0 ;;
	*) echo "usage: bench.sh [--quick] [--count N] [--alg sm2-sm3] [--crypto-threads N] [--no-rabbitmq]" >&2; exit 2 ;;
	esac
	shift
done
paced=${paced:-$count}
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
. scripts/deps.sh
referral_bench_build || { echo "cannot build"; exit 1; }
B=$REFERRAL_BUILD

echo "== REF-1 on this machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), $(uname -r)"
[ -x "$B/tests/bench-envelope" ] && "$B/tests/bench-envelope" 4000

# ref1_project NAME: REF-1 between two fresh nodes (signing with
# $NODE_ALG if set); prints its REF-1 line and keeps it in $out/NAME.
out=$(mktemp -d /tmp/referral-bench.XXXXXX)
trap 'rm -rf "$out"' EXIT
ref1_project() (
	name=$1
	. tests/lib.sh
	set +eu
	two_nodes
	start 350581
	start 350582
	tck=$(getconf CLK_TCK)
	# cpu PID: the process's user and system time so far, in seconds.
	cpu() { awk -v t="$tck" '{ print ($14 + $15) / t }' "/proc/$1/stat"; }
	# Peak memory, sampled every 100 ms: RssAnon and RssFile apart.
	( while kill -0 "$PID_350581" 2>/dev/null; do
		for p in "$PID_350581" "$PID_350582"; do
			awk -v p="$p" '/^RssAnon|^RssFile/ { v[$1] = $2 } END { print p, v["RssAnon:"], v["RssFile:"] }' "/proc/$p/status" 2>/dev/null
		done
		sleep 0.1
	  done ) > "$T/rss.txt" &
	sampler=$!
	# All of A's messages receipted (or dead: then the check below says
	# which referral was not delivered). `status` counts the whole
	# outbox, which at 100,000 referrals costs A real time: the wait
	# follows A's log (a line per receipt) and asks status only at the
	# end. The figures come from the audit chain, not from these waits.
	# Both nodes: B's RECEIVED changes still on their way to A would
	# share the paced run's path and cost it latency it did not cause.
	receipts() { grep -c " delivery peer=.* receipt=" "$T/$1.log"; }
	drained() {
		for c in 350581 350582; do
			until [ "$(receipts $c)" -ge "$1" ]; do sleep 0.5; done
			until [ "$("$REFCTL" --data "$T/$c" status --json | json outbox.pending)" = 0 ]; do
				sleep 2
			done
		done
	}
	a0=$(cpu "$PID_350581"); b0=$(cpu "$PID_350582")
	"$BUILD/tests/bench-ref1" "$T/350581" 350582 "$count" 1000 0 "$T/ids1.txt"
	drained "$count"
	a1=$(cpu "$PID_350581"); b1=$(cpu "$PID_350582")
	"$BUILD/tests/bench-ref1" "$T/350581" 350582 "$paced" 1000 1000 "$T/ids2.txt"
	drained $((count + paced))
	kill "$sampler" 2>/dev/null; wait "$sampler" 2>/dev/null || true
	"$REFCTL" --data "$T/350581" audit export --out "$T/a.jsonl" >/dev/null
	"$REFCTL" --data "$T/350582" audit export --out "$T/b.jsonl" >/dev/null
	"$PY" - "$T" "$name" "$count" "$paced" "$a0" "$a1" "$b0" "$b1" \
		"$PID_350581" "$PID_350582" "$(du -sb "$T/350581/store" | cut -f1)" \
		"$(du -sb "$T/350582/store" | cut -f1)" <<'PY'
import json, sys
T, name = sys.argv[1], sys.argv[2]
count, paced = int(sys.argv[3]), int(sys.argv[4])
a0, a1, b0, b1 = map(float, sys.argv[5:9])
pid_a, pid_b = sys.argv[9], sys.argv[10]
store_a, store_b = int(sys.argv[11]), int(sys.argv[12])

def sent(path):
    return {l.split()[0]: float(l.split()[1]) for l in open(path)}

# The first receipt A holds for each referral is its submit's.
receipt = {}
for line in open(T + "/a.jsonl"):
    e = json.loads(line)
    if e["event"] == "receipt" and e["referral_id"] not in receipt:
        receipt[e["referral_id"]] = e["time_ms"]
# Applied once at B: one "received" of the submit per referral.
received = {}
for line in open(T + "/b.jsonl"):
    e = json.loads(line)
    if e["event"] == "received" and e["outcome"] == "STORED" and e["detail"] == "REFERRAL_SUBMIT":
        received[e["referral_id"]] = received.get(e["referral_id"], 0) + 1
s1, s2 = sent(T + "/ids1.txt"), sent(T + "/ids2.txt")
ids = list(s1) + list(s2)
ok = len(s1) == count and len(s2) == paced and all(i in receipt for i in ids)
once = all(received.get(i, 0) == 1 for i in ids)
thr = count / ((max(receipt[i] for i in s1) - min(s1.values())) / 1e3)
lat = sorted(max(0.0, receipt[i] - s2[i]) for i in s2)
p50, p99 = lat[len(lat) // 2], lat[min(len(lat) - 1, int(len(lat) * 0.99))]
anon, file = {pid_a: 0, pid_b: 0}, {pid_a: 0, pid_b: 0}
for line in open(T + "/rss.txt"):
    f = line.split()
    if len(f) == 3 and f[0] in anon:
        anon[f[0]] = max(anon[f[0]], int(f[1]))
        file[f[0]] = max(file[f[0]], int(f[2]))
mb = lambda kb: kb / 1024
total = count + paced
line = ("REF-1 system=%s thr_msgs_s=%.0f p50_ms=%.1f p99_ms=%.1f rss_mb=%.1f "
        "rss_anon_mb_a=%.1f rss_anon_mb_b=%.1f rss_file_mb_a=%.1f rss_file_mb_b=%.1f "
        "store_b_per_ref_a=%.0f store_b_per_ref_b=%.0f cpu_s_per_1000_a=%.2f cpu_s_per_1000_b=%.2f"
        % (name, thr, p50, p99, mb(max(anon.values())), mb(anon[pid_a]), mb(anon[pid_b]),
           mb(file[pid_a]), mb(file[pid_b]), store_a / total, store_b / total,
           (a1 - a0) * 1000 / count, (b1 - b0) * 1000 / count))
print(line)
print("delivered=%d of %d, applied once at B: %s" % (sum(1 for i in ids if i in receipt), total, "yes" if once else "NO"))
sys.exit(0 if ok and once else 1)
PY
	rc=$?
	# A start checks every record (digests, seals, the audit chain)
	# before it serves: how long that takes with this store.
	for c in 350581 350582; do
		stop "$c"
		t0=$(date +%s.%N)
		start "$c"
		t1=$(date +%s.%N)
		"$PY" -c "import sys; print(f'node {sys.argv[1]}: restart to serving in {float(sys.argv[3])-float(sys.argv[2]):.2f} s, store {sys.argv[4]} (every record checked)')" \
			"$c" "$t0" "$t1" "$(du -sh "$T/$c/store" | cut -f1)"
	done
	finish >/dev/null
	exit $rc
)

echo "== REF-1 on the project: $count referrals, then $paced paced at 1,000/s"
ref1_project referral | tee "$out/referral"
rc=${PIPESTATUS[0]}
if [ "$alg" = sm2-sm3 ]; then
	echo "== REF-1 on the project with GM/T nodes (SM2/SM3)"
	NODE_ALG=sm2-sm3 ref1_project referral-sm2 | tee "$out/referral-sm2"
	[ "${PIPESTATUS[0]}" -eq 0 ] || rc=1
fi
if [ "$rabbit" = 1 ]; then
	bash scripts/bench-rabbitmq.sh "$B" "$count" "$paced" | tee "$out/rabbitmq" || rc=1
	# The project's ratio to each system, from the REF-1 lines.
	"${PY:-python3}" - "$out" <<'PY'
import re, sys, glob
rows = {}
for f in glob.glob(sys.argv[1] + "/*"):
    for line in open(f):
        m = re.match(r"REF-1 system=(\S+) thr_msgs_s=(\S+) p50_ms=(\S+) p99_ms=(\S+) rss_mb=(\S+)", line)
        if m:
            rows[m.group(1)] = [float(x) for x in m.groups()[1:]]
me = rows.get("referral")
for name, (thr, p50, p99, rss) in sorted(rows.items()):
    if name.startswith("referral") or not me:
        continue
    print("ratio referral/%s: throughput %.2fx, p99 %.2fx, rss %.2fx" % (name, me[0] / thr, me[2] / p99, me[3] / rss))
PY
fi
exit "$rc"
