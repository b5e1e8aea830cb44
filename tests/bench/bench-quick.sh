# bench-quick.sh: scripts/bench.sh --quick as a smoke test of REF-1's path.
# 10,000 referrals (BENCH_QUICK_COUNT; scripts/test.sh's sanitizer pass
# sends 3,000) through libreferral's pipe (1,000 in flight) from one
# node to another, then 2,000 paced: every one is acknowledged, delivered
# and applied once at the receiver, and the REF-1 line is printed. It
# asserts counts only, never a time (the figures are printed for a look).
. "$(dirname "$0")/../lib.sh"
SRC=${REFERRAL_SOURCE:?run through meson test}
N=${BENCH_QUICK_COUNT:-10000}
out=$(REFERRAL_BENCH_BUILD=$BUILD bash "$SRC/scripts/bench.sh" --quick 2>&1); rc=$?
echo "$out" | grep -E "^(REF-1|delivered|acknowledged|==)" | sed 's/^/# /'
expect_eq "bench.sh --quick ends well" 0 "$rc"
[ "$rc" -eq 0 ] || echo "$out" | tail -n 30
expect_contains "the first run: every submission acknowledged" "acknowledged $N of $N" "$out"
expect_contains "the paced run: every submission acknowledged" "acknowledged 2000 of 2000" "$out"
expect_contains "every referral delivered and applied once at the receiver" \
	"delivered=$((N + 2000)) of $((N + 2000)), applied once at B: yes" "$out"
expect_contains "and the REF-1 line printed" "REF-1 system=referral thr_msgs_s=" "$out"
finish
