#!/usr/bin/env bash
# fuzz.sh: runs every libFuzzer target of tests/fuzz under ASan and UBSan,
# one after another, for SECONDS each (default 60), and says per target how
# many inputs it ran and whether it crashed.
#   scripts/fuzz.sh [SECONDS [TARGET...]]     (targets: envelope header
#                                              bodies directory config
#                                              application client)
# Installs clang and its runtimes if missing (deps.sh), builds with clang
# into build-fuzz/ (REFERRAL_FUZZ_BUILD to change), and fuzzes from a copy
# of each committed corpus (tests/fuzz/corpus/T plus regressions/T) in
# build-fuzz/fuzz-work/T/, so the committed seeds never grow by themselves:
# the last lines say how to merge what a run found, if you want it.
# A crash, leak, UB report, timeout or OOM leaves its input in
# build-fuzz/fuzz-work/T/artifacts/ and makes the exit status 1.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
. scripts/deps.sh

secs=${1:-60}
shift $(( $# > 0 ? 1 : 0 ))
case $secs in
''|*[!0-9]*) echo "usage: scripts/fuzz.sh [SECONDS [TARGET...]]" >&2; exit 2 ;;
esac
targets=("$@")
[ ${#targets[@]} -eq 0 ] &&
	targets=(envelope header bodies directory config application client)

referral_deps $REFERRAL_FUZZ_PACKAGES || { echo "cannot install clang and its fuzzing runtimes"; exit 1; }

build=${REFERRAL_FUZZ_BUILD:-build-fuzz}
if [ ! -f "$build/build.ninja" ]; then
	# b_lundef=false: the sanitizer runtimes are linked into executables
	# only, so shared libraries must be allowed undefined symbols.
	setup_log=$(mktemp)
	CC=clang meson setup "$build" -Dfuzz=true \
		-Db_sanitize=address,undefined -Db_lundef=false \
		-Dbuildtype=debugoptimized >"$setup_log" 2>&1 || {
		cat "$setup_log"; rm -f "$setup_log"
		echo "cannot configure $build"; exit 1; }
	rm -f "$setup_log"
fi
bins=()
for t in "${targets[@]}"; do bins+=("tests/fuzz/fuzz-$t"); done
ninja -C "$build" "${bins[@]}" >/dev/null || ninja -C "$build" "${bins[@]}" || exit 1

# Every UBSan report is fatal, so libFuzzer keeps the input that made it.
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
export ASAN_OPTIONS=detect_leaks=1

crashed=0
for t in "${targets[@]}"; do
	bin="$build/tests/fuzz/fuzz-$t"
	work="$build/fuzz-work/$t"
	rm -rf "$work"
	mkdir -p "$work/corpus" "$work/artifacts"
	cp tests/fuzz/corpus/"$t"/* "$work/corpus/"
	[ -d tests/fuzz/regressions/"$t" ] &&
		cp tests/fuzz/regressions/"$t"/* "$work/corpus/" 2>/dev/null
	seeds=$(ls "$work/corpus" | wc -l)
	# Standard input is /dev/null: an application naming "/dev/stdin" as
	# a document file must not wait for a terminal.
	dict=()
	[ -f tests/fuzz/dict/"$t".dict ] && dict=(-dict=tests/fuzz/dict/"$t".dict)
	"$bin" -max_total_time="$secs" -timeout=25 -rss_limit_mb=2048 \
		-print_final_stats=1 -artifact_prefix="$work/artifacts/" \
		"${dict[@]}" "$work/corpus" </dev/null >"$work/log" 2>&1
	rc=$?
	runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$work/log" |
	       tail -1 | grep -o '[0-9]*$')
	[ -z "$runs" ] && runs=$(grep -o 'Done [0-9]* runs' "$work/log" |
				 tail -1 | grep -o '[0-9]\+')
	found=$(ls "$work/corpus" | wc -l)
	artifact=$(ls "$work"/artifacts/* 2>/dev/null | head -1)
	if [ $rc -ne 0 ] || [ -n "$artifact" ]; then
		crashed=1
		echo "fuzz-$t: ${secs} s, ${runs:-?} runs, CRASH (exit $rc):" \
		     "${artifact:-no input saved}; log $work/log"
		grep -m3 -E '^(==[0-9]+==ERROR|SUMMARY|fuzz invariant)|runtime error' \
			"$work/log" | sed 's/^/    /'
	else
		echo "fuzz-$t: ${secs} s, ${runs:-?} runs, no crash" \
		     "(corpus $seeds -> $found)"
	fi
done
echo "to keep what a run found: $build/tests/fuzz/fuzz-T -merge=1" \
     "tests/fuzz/corpus/T $build/fuzz-work/T/corpus  (keep the seeds small)"
exit $crashed
