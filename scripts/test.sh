#!/usr/bin/env bash
# test.sh: installs what is missing, builds, runs every test suite, and ends
# with one line "N passed, N failed". Exit status 0 only if all passed.
#   scripts/test.sh [SUITE...]     (default: unit and integration)
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
. scripts/deps.sh
referral_deps || { echo "cannot install dependencies"; echo "0 passed, 1 failed"; exit 1; }

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
[ ${#suites[@]} -eq 0 ] && suites=(unit integration)
args=()
for s in "${suites[@]}"; do args+=(--suite "$s"); done
meson test -C "$build" "${args[@]}" --print-errorlogs --num-processes 2
rc=$?

# Count from meson's machine-readable log, not its summary text.
/usr/bin/python3 - "$build/meson-logs/testlog.json" <<'PY'
import json, sys
passed = failed = 0
try:
    for line in open(sys.argv[1]):
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
