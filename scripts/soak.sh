#!/usr/bin/env bash
# soak.sh ROUNDS: the long form of the fault suite. ROUNDS SIGKILLs of the
# sender or the receiver under sustained load (tests/fault/kill.sh), then
# a 10,000-referral outage, the disk faults, backup and skew, each once,
# on real nodes; prints each test's figures and ends with one line
# "N passed, N failed". FAULT_SEED=N repeats a run's kill schedule.
#   scripts/soak.sh 500
# SOAK_LIFETIME_MS=60000 gives the kill test's nodes that message lifetime
# and SOAK_SKEW_MS (default 1000) of allowed skew, so their dedup horizon
# (lifetime + skew) passes within the run, and prints every
# SOAK_SIZES_EVERY rounds (default 10) each node's store bytes and dedup
# entries ("sizes ..." lines): the dedup entries level off once the
# horizon has passed. The other tests keep the default lifetime (the
# outage test holds its backlog longer than a short one). SOAK_TESTS
# picks the tests to run (default: all, in the order below).
#   SOAK_LIFETIME_MS=60000 SOAK_TESTS=kill scripts/soak.sh 300
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
for t in ${SOAK_TESTS:-kill outage disk backup skew restore partition}; do
	start=$(date +%s)
	echo "== $t"
	if [ "$t" = kill ] && [ -n "${SOAK_LIFETIME_MS:-}" ]; then
		REFERRAL_LIFETIME_MS=$SOAK_LIFETIME_MS \
		REFERRAL_SKEW_MS=${SOAK_SKEW_MS:-1000} \
		FAULT_SIZES=${SOAK_SIZES_EVERY:-10} \
			bash tests/fault/$t.sh > "$build/soak-$t.log" 2>&1
	else
		bash tests/fault/$t.sh > "$build/soak-$t.log" 2>&1
	fi
	rc=$?
	grep -E "^(rounds|killed|backlog|urgent|fault-submit|[0-9]+ acknowledged|to 35|proxy|sizes)|checks, " \
		"$build/soak-$t.log"
	grep "^FAIL" "$build/soak-$t.log"
	echo "   $(( $(date +%s) - start )) s, exit $rc (log: $build/soak-$t.log)"
	if [ "$rc" -eq 0 ]; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
