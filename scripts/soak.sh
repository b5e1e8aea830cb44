#!/usr/bin/env bash
# soak.sh ROUNDS: the long form of the fault suite. ROUNDS SIGKILLs of the
# sender or the receiver under sustained load (tests/fault/kill.sh), then
# a 10,000-referral outage, the disk faults, backup and skew, each once,
# on real nodes; prints each test's figures and ends with one line
# "N passed, N failed". FAULT_SEED=N repeats a run's kill schedule.
#   scripts/soak.sh 500
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
. scripts/deps.sh
referral_deps || { echo "cannot install dependencies"; echo "0 passed, 1 failed"; exit 1; }
build=${REFERRAL_SOAK_BUILD:-build-soak}
referral_build "$build" || { echo "build failed"; echo "0 passed, 1 failed"; exit 1; }
rounds=${1:-500}
export REFERRAL_BUILD="$top/$build" REFERRAL_SOURCE="$top"
export FAULT_ROUNDS=$rounds FAULT_BACKLOG=${FAULT_BACKLOG:-10000}
# The kill test's load is paced so the store a node checks at each of its
# hundreds of starts stays moderate; a start waits up to 2 minutes.
export FAULT_PACE_MS=${FAULT_PACE_MS:-20} START_TIMEOUT=${START_TIMEOUT:-120}
passed=0 failed=0
for t in kill outage disk backup skew restore partition; do
	start=$(date +%s)
	echo "== $t"
	bash tests/fault/$t.sh > "$build/soak-$t.log" 2>&1
	rc=$?
	grep -E "^(rounds|killed|backlog|urgent|fault-submit|[0-9]+ acknowledged|to 35|proxy)|checks, " \
		"$build/soak-$t.log"
	grep "^FAIL" "$build/soak-$t.log"
	echo "   $(( $(date +%s) - start )) s, exit $rc (log: $build/soak-$t.log)"
	if [ "$rc" -eq 0 ]; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
