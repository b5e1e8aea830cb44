#!/usr/bin/env bash
# deps.sh: installs what building and testing need on Debian 12, only if
# something is missing. Sourced by demo.sh and test.sh; safe to run twice.
REFERRAL_PACKAGES="build-essential meson ninja-build pkg-config libzmq3-dev
libprotobuf-c-dev protobuf-c-compiler liblmdb-dev libssl-dev openssl
libjansson-dev libinih-dev python3 strace
libmicrohttpd-dev python3-jsonschema chromium
tzdata libpango1.0-dev libcairo2-dev libqrencode-dev fonts-noto-cjk poppler-utils
gettext locales"
# (gettext builds refctl's zh_CN catalog; referral_locale makes the
# zh_CN.UTF-8 locale the demo and tests/i18n.sh run in.)
# (refctl notice: Pango and Cairo lay out the PDF in Noto CJK, libqrencode
# draws its QR code; the notices test reads it back with poppler's tools.)
# The browser tests' node and npm: Debian's, unless a node is on PATH.
type -P node >/dev/null || REFERRAL_PACKAGES="$REFERRAL_PACKAGES nodejs npm"
# Only scripts/fuzz.sh asks for these (referral_deps $REFERRAL_FUZZ_PACKAGES):
# clang with Debian's libFuzzer, ASan and UBSan runtimes.
REFERRAL_FUZZ_PACKAGES="clang libclang-rt-14-dev"

# referral_deps [PACKAGE...]: REFERRAL_PACKAGES and any optional group given.
referral_deps() {
	local missing=()
	for p in $REFERRAL_PACKAGES "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
			missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	echo "installing: ${missing[*]}"
	local sudo=""
	[ "$(id -u)" -ne 0 ] && sudo=sudo
	$sudo apt-get update -qq &&
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
		"${missing[@]}" >/dev/null
}

# referral_locale: generates zh_CN.UTF-8, only if missing.
referral_locale() {
	locale -a 2>/dev/null | grep -qix 'zh_CN.utf-\?8' && return 0
	local sudo=""
	[ "$(id -u)" -ne 0 ] && sudo=sudo
	$sudo localedef -i zh_CN -f UTF-8 zh_CN.UTF-8
}

# referral_build DIR [meson options...]: configures once, then builds.
referral_build() {
	local dir=$1; shift
	if [ ! -f "$dir/build.ninja" ]; then
		meson setup "$dir" "$@" >/dev/null || return 1
	fi
	ninja -C "$dir" >/dev/null || ninja -C "$dir"
}

# referral_bench_build: the build the bench scripts run, from the top of
# the tree: REFERRAL_BENCH_BUILD as it is (the test suite's), else build/
# with what it needs installed first. Exports it as REFERRAL_BUILD, with
# REFERRAL_SOURCE, for tests/lib.sh. 0, or 1 if it cannot be built.
referral_bench_build() {
	local b=${REFERRAL_BENCH_BUILD:-}
	if [ -z "$b" ]; then
		referral_deps && referral_build build || return 1
		b=$PWD/build
	fi
	export REFERRAL_BUILD=$b REFERRAL_SOURCE=$PWD
}
