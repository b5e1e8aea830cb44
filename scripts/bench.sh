#!/usr/bin/env bash
# bench.sh [COUNT] [CLIENTS]: figures for the durable path on this machine.
# Signing and verifying rates per suite; then two real nodes on loopback:
# COUNT referrals submitted by CLIENTS concurrent clients (each submit
# returns after the node's synced commit), the time until every one holds
# a STORED receipt, the daemons' peak memory, and how long each takes to
# restart with that store. Prints, asserts nothing.
set -eu
count=${1:-2000}
clients=${2:-4}
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
. scripts/deps.sh
referral_deps
referral_build build
B=$top/build
export REFERRAL_BUILD=$B
echo "== envelopes"
"$B/tests/bench-envelope" 4000
echo "== two nodes, $count referrals from $clients clients"
( . tests/lib.sh
  two_nodes
  start 350581
  start 350582
  per=$((count / clients))
  t0=$(date +%s.%N)
  subs=()
  for i in $(seq "$clients"); do
	"$B/tests/bench-submit" "$T/350581" 350582 "$per" &
	subs+=($!)
  done
  wait "${subs[@]}"   # not the nodes, which run on
  t1=$(date +%s.%N)
  total=$((per * clients))
  until [ "$("$REFCTL" --data "$T/350581" status --json | json outbox.delivered)" -ge "$total" ]; do
	sleep 0.05
  done
  t2=$(date +%s.%N)
  "$PY" -c "import sys; a,b,c,n=map(float,sys.argv[1:]); print(f'all {int(n)} submitted in {b-a:.2f} s ({n/(b-a):.0f}/s), all receipted {c-a:.2f} s after the first submit ({n/(c-a):.0f}/s end to end)')" "$t0" "$t1" "$t2" "$total"
  for c in 350581 350582; do
	eval "pid=\$PID_$c"
	echo "node $c: peak RSS $(grep VmHWM /proc/$pid/status | awk '{print $2, $3}'), store $(du -sh "$T/$c/store" | cut -f1)"
  done
  echo "inbox at 350582: $(inbox_count 350582)"
  # A start checks every record (digest, seal, audit chain) before it
  # serves: how long that takes with this store. (lib.sh's stop and
  # finish expect a test's shell, without -e.)
  set +e
  for c in 350581 350582; do
	stop "$c"
	t0=$(date +%s.%N)
	start "$c"
	t1=$(date +%s.%N)
	"$PY" -c "import sys; print(f'node {sys.argv[1]}: restart to serving in {float(sys.argv[3])-float(sys.argv[2]):.2f} s, store {sys.argv[4]} (every record checked)')" \
		"$c" "$t0" "$t1" "$(du -sh "$T/$c/store" | cut -f1)"
  done
  finish >/dev/null
)
