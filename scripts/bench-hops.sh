#!/usr/bin/env bash
# bench-hops.sh [COUNT]: where a referral's time goes between submit and
# receipt, hop by hop, on two fresh nodes (docs/PERFORMANCE.md, "p99").
# COUNT referrals (default 2,000) are submitted through libreferral's pipe
# at 1,000 a second, as REF-1's paced run does; each hop is read from the
# two audit chains (the time each event was recorded), and p50, p90 and
# p99 are printed per hop:
#   client -> A stored     the submit sent, to A's "submitted" record
#   A stored -> sent       A's commit and the send (A's "sent")
#   sent -> B stored       the wire and B's turn (B's "received")
#   B stored -> receipt    B's commit, its receipt, A's turn (A's "receipt")
# It times nothing else and asserts nothing: figures for a look.
#   REFERRAL_BENCH_BUILD=build-dev scripts/bench-hops.sh 5000
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 1
count=${1:-2000}
# As bench.sh: REFERRAL_BENCH_BUILD names a build to use as it is.
. scripts/deps.sh
referral_bench_build || { echo "cannot build"; exit 1; }
. tests/lib.sh
set +eu
two_nodes
start 350581
start 350582
"$BUILD/tests/bench-ref1" "$T/350581" 350582 "$count" 1000 1000 "$T/ids.txt"
# The last receipts land within a few turns of the last submit.
sleep 3
"$REFCTL" --data "$T/350581" audit export --out "$T/a.jsonl" >/dev/null
"$REFCTL" --data "$T/350582" audit export --out "$T/b.jsonl" >/dev/null
"$PY" - "$T" <<'PY'
import json, sys
T = sys.argv[1]
sub = {l.split()[0]: float(l.split()[1]) for l in open(T + "/ids.txt")}
def first(path):
    seen = {}
    for line in open(path):
        e = json.loads(line)
        seen.setdefault((e["referral_id"], e["event"]), e["time_ms"])
    return seen
A, B = first(T + "/a.jsonl"), first(T + "/b.jsonl")
hops = []
for rid, t0 in sub.items():
    t = (A.get((rid, "submitted")), A.get((rid, "sent")),
         B.get((rid, "received")), A.get((rid, "receipt")))
    if None not in t:
        hops.append((t[0] - t0, t[1] - t[0], t[2] - t[1], t[3] - t[2], t[3] - t0))
print(f"{len(hops)} of {len(sub)} referrals with every hop in the chains")
names = ["client -> A stored", "A stored -> sent", "sent -> B stored",
         "B stored -> receipt", "submit -> receipt"]
for i, name in enumerate(names):
    v = sorted(h[i] for h in hops)
    if v:
        q = lambda p: v[min(len(v) - 1, int(len(v) * p))]
        print(f"{name:22s} p50 {q(0.5):6.1f} ms  p90 {q(0.9):6.1f} ms  p99 {q(0.99):6.1f} ms")
PY
finish
