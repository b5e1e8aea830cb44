#!/usr/bin/env bash
# bench-callgrind.sh [COUNT] [--crypto-threads N]: REF-1's work per
# referral, counted in instructions (docs/PERFORMANCE.md).
#
# Two fresh nodes, one of them under valgrind's callgrind; COUNT referrals
# (default 5,000) submitted to A through libreferral's pipe with 1,000 in
# flight, as bench.sh does, and delivered to B. Then again with the other
# node counted. The counted node is the slow one, as a node is in
# bench.sh's throughput run: its turns fill up (128 messages a socket),
# and so do its batches. Counting starts once it serves and stops when it
# stops, so a start's checks are left out.
# Instructions do not move with the machine's load the way times do: two
# builds or two settings compare here when bench.sh's figures are within
# its noise. It prints, for each node and each of its threads, the
# instructions per referral, then the largest inclusive shares of the
# node's functions. It asserts nothing; it exits non-zero only if a
# referral was not delivered.
# REFERRAL_BENCH_BUILD names a build to use as it is.
set -eu
count=5000
while [ $# -gt 0 ]; do
	case $1 in
	--crypto-threads) export REFERRAL_CRYPTO_THREADS=$2; shift ;;
	[0-9]*) count=$1 ;;
	*) echo "usage: bench-callgrind.sh [COUNT] [--crypto-threads N]" >&2; exit 2 ;;
	esac
	shift
done
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
. scripts/deps.sh
referral_bench_build || { echo "cannot build"; exit 1; }
if ! command -v valgrind >/dev/null || ! command -v callgrind_control >/dev/null; then
	echo "bench-callgrind.sh needs valgrind (Debian: apt-get install valgrind)" >&2
	exit 2
fi

# counted CODE: a fresh pair, CODE under callgrind; prints CODE's counts.
counted() (
	. tests/lib.sh
	set +eu
	# A node under callgrind runs some fifty times slower: its peer must
	# not take its late receipts for lost messages and resend them, or
	# the counts would be of duplicates.
	two_nodes "retry_first_ms = 5000" "retry_cap_ms = 120000"
	printf '#!/bin/sh\nexec valgrind --tool=callgrind --instr-atstart=no --separate-threads=yes --callgrind-out-file="%s/cg.%%p" "%s" "$@"\n' \
		"$T" "$REFERRALD" > "$T/referrald-callgrind"
	chmod +x "$T/referrald-callgrind"
	for c in 350581 350582; do
		if [ "$c" = "$1" ]; then
			REFERRALD=$T/referrald-callgrind START_TIMEOUT=180 start "$c"
		else
			start "$c"
		fi
	done
	eval "pid=\$PID_$1"
	callgrind_control --instr=on "$pid" >/dev/null
	"$BUILD/tests/bench-ref1" "$T/350581" 350582 "$count" 1000 0 "$T/ids.txt" >/dev/null ||
		{ echo "the driver failed"; exit 1; }
	receipts() { grep -c " delivery peer=.* receipt=" "$T/$1.log"; }
	all_receipted() { [ "$(receipts "$1")" -ge "$count" ]; }
	for c in 350581 350582; do
		wait_for 900 all_receipted $c ||
			{ echo "node $c holds $(receipts $c) of $count receipts"; exit 1; }
	done
	stop 350581
	stop 350582
	dup=$(grep -c "receipt=DUPLICATE" "$T/$1.log")
	echo "$1: $dup duplicates received"
	# One file a thread: PID-NN, the loop's thread first.
	"$PY" - "$T" "$count" "$pid" "$1" <<'PY'
import glob, re, subprocess, sys
T, count, pid, code = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
# The loop's parts, then what they spend on.
watch = ["control_drain", "inbound_handle", "delivery_handle",
         "delivery_run", "outbox_seal_turn", "turn_commit",
         "overdue_step", "envelope_verify", "sign_data", "store_put_msg",
         "store_get_msg", "store_put", "store_get", "audit_append",
         "mdb_put", "mdb_get", "mdb_txn_commit", "seal_ref_encrypt",
         "seal_ref_decrypt", "protobuf_c_message_unpack", "log_msg"]
files = sorted(glob.glob("%s/cg.%s-*" % (T, pid)),
               key=lambda f: int(f.rsplit("-", 1)[1]))
total, incl, threads = 0, {}, []
for f in files:
    out = subprocess.run(["callgrind_annotate", "--inclusive=yes",
                          "--threshold=100", f],
                         capture_output=True, text=True).stdout
    m = re.search(r"^([\d,]+) +\(100\.0%\) +PROGRAM TOTALS", out, re.M)
    ir = int(m.group(1).replace(",", "")) if m else 0
    total += ir
    fns = {}
    for line in out.splitlines():
        m = re.match(r"^\s*([\d,]+) \([ \d.]+%\)\s+\S*:(\w+)", line)
        if m:
            fns[m.group(2)] = int(m.group(1).replace(",", ""))
    what = ("the loop" if f.endswith("-01") else
            "a crypto thread" if "take_runs" in fns else
            "libzmq's I/O thread" if ir > 10 * count else "other")
    threads.append((what, ir))
    for fn in watch:
        if fn in fns:
            incl[fn] = incl.get(fn, 0) + fns[fn]
print("%s counted: %.0f instructions per referral" % (code, total / count))
for what, ir in threads:
    if ir:
        print("  %-22s %9.0f  %5.1f%%" % (what, ir / count, 100.0 * ir / total))
print("  inclusive, all threads:")
for fn in watch:
    if fn in incl:
        print("  %-22s %9.0f  %5.1f%%" % (fn, incl[fn] / count,
                                          100.0 * incl[fn] / total))
PY
	finish >/dev/null
)
echo "== REF-1 in instructions: $count referrals, each node counted in turn"
counted 350581
counted 350582
