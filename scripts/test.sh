#!/usr/bin/env bash
# test.sh: installs what is missing, builds, runs every test suite, then
# runs them again in an ASan+UBSan build, and ends with one line
# "N passed, N failed" over both. Exit status 0 only if all passed.
#   scripts/test.sh [SUITE...]     (default: unit, integration and the
#                                   short fault suite; scripts/soak.sh is
#                                   the long one)
#   REFERRAL_NO_SANITIZERS=1 scripts/test.sh   (the plain build only)
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
. scripts/deps.sh
referral_deps || { echo "cannot install dependencies"; echo "0 passed, 1 failed"; exit 1; }
referral_locale || echo "cannot generate the zh_CN.UTF-8 locale: the i18n test will fail"

build=${REFERRAL_TEST_BUILD:-build-test}
opts=()
# CI builds with warnings as errors.
[ -n "${CI:-}" ] && opts+=(-Dwerror=true)
if ! referral_build "$build" "${opts[@]}"; then
	echo "build failed"
	echo "0 passed, 1 failed"
	exit 1
fi

suites=("$@")
[ ${#suites[@]} -eq 0 ] && suites=(unit integration fault)
args=()
for s in "${suites[@]}"; do args+=(--suite "$s"); done
meson test -C "$build" "${args[@]}" --print-errorlogs --num-processes 2
rc=$?
logs=("$build/meson-logs/testlog.json")

# The same suites with AddressSanitizer and UndefinedBehaviorSanitizer:
# any report fails the test that caused it (UBSan halts; lib.sh reads the
# daemons' logs for reports; LeakSanitizer fails a leaking refctl).
if [ -z "${REFERRAL_NO_SANITIZERS:-}" ]; then
	san=${REFERRAL_SAN_BUILD:-build-asan}
	# Without werror: the plain build holds the warnings to zero, and
	# gcc's flow analysis warns falsely on code instrumented by ASan.
	if referral_build "$san" -Db_sanitize=address,undefined -Db_lundef=false; then
		# The fault suite's load is lighter here: the sanitizers slow
		# every node several times, and the plain run has the full size.
		ASAN_OPTIONS=detect_leaks=1 \
		UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
		FAULT_ROUNDS=${FAULT_ROUNDS:-6} FAULT_BACKLOG=${FAULT_BACKLOG:-300} \
		BENCH_QUICK_COUNT=${BENCH_QUICK_COUNT:-3000} \
		meson test -C "$san" "${args[@]}" --print-errorlogs \
			--num-processes 2 --timeout-multiplier 3 || rc=1
		logs+=("$san/meson-logs/testlog.json")
	else
		echo "the sanitizer build failed"
		rc=1
		logs+=(/nonexistent)
	fi
fi

# Count from meson's machine-readable logs, not its summary text.
/usr/bin/python3 - "${logs[@]}" <<'PY'
import json, sys
passed = failed = 0
for path in sys.argv[1:]:
    try:
        for line in open(path):
            r = json.loads(line)
            if r.get("result") in ("OK", "EXPECTEDFAIL"):
                passed += 1
            elif r.get("result") != "SKIP":
                failed += 1
    except OSError:
        failed += 1
print(f"{passed} passed, {failed} failed")
PY
exit $rc
