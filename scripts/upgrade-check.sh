#!/usr/bin/env bash
# upgrade-check.sh [REV]: builds an earlier release (default: the commit
# before the node was divided into rooms, a3f3113) in a scratch worktree,
# makes two counties' stores with it, and starts this build's nodes on
# them (tests/upgrade/stores.sh). Prints the checks; exit 0 if all pass.
# Not part of scripts/test.sh: it builds the old release first.
set -eu
rev=${1:-a3f3113}
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
. scripts/deps.sh
referral_deps
referral_build build
old=$(mktemp -d /tmp/referral-old.XXXXXX)
trap 'git worktree remove --force "$old/src" >/dev/null 2>&1; rm -rf "$old"' EXIT
git worktree add --detach "$old/src" "$rev" >/dev/null
# The old tree finds ../shared beside itself, as CI lays it out.
ln -s "$top/../shared" "$old/shared"
# meson setup takes its source from the working folder: build the old
# tree from inside it, or this tree would be built in its place.
(cd "$old/src" && referral_build build) || exit 1
REFERRAL_SOURCE=$top REFERRAL_BUILD=$old/src/build NEW=$top/build \
	bash tests/upgrade/stores.sh
