# gateway-browser.sh: the admin console of referral-gw in headless Chromium
# (Debian's /usr/bin/chromium), driven by playwright-core (the version
# pinned in tests/browser/package-lock.json, installed with `npm ci` into
# the build folder). Shishi's clock runs an hour ahead, so Jinjiang refuses
# its referral as STALE and Shishi keeps it as a dead letter; with the
# clock right again, tests/browser/console.test.js logs in through the
# form with an admin token, reads the queues, one referral's timeline, and
# requeues the dead letter through its confirmation page. The referral is
# then delivered. Screenshots go to $T/browser and $BUILD/browser-artifacts.
. "$(dirname "$0")/../lib.sh"
. "$REFERRAL_SOURCE/tests/http/gateway-lib.sh"
CHROMIUM=${REFERRAL_CHROMIUM:-/usr/bin/chromium}   # Debian's
missing=()
[ -x "$CHROMIUM" ] || missing+=("chromium ($CHROMIUM)")
type -P node >/dev/null || missing+=("node")   # (lib.sh has a function named node)
type -P npm >/dev/null || missing+=("npm")
if [ ${#missing[@]} -gt 0 ]; then
	not_ok "missing: ${missing[*]}: apt-get install chromium nodejs npm (scripts/deps.sh installs them)"
	finish
fi

# playwright-core, as locked, once per build folder (again when the lock
# changes); nothing is downloaded but the npm package itself.
NPM_DIR=$BUILD/browser
src=$REFERRAL_SOURCE/tests/browser
if ! cmp -s "$src/package-lock.json" "$NPM_DIR/package-lock.json" ||
   [ ! -f "$NPM_DIR/node_modules/playwright-core/package.json" ]; then
	mkdir -p "$NPM_DIR"
	cp "$src/package.json" "$src/package-lock.json" "$NPM_DIR/"
	if ! npm ci --prefix "$NPM_DIR" --no-audit --no-fund --ignore-scripts \
		> "$T/npm.log" 2>&1; then
		rm -f "$NPM_DIR/package-lock.json"
		not_ok "npm ci of tests/browser (playwright-core) failed:"
		tail -n 20 "$T/npm.log"
		finish
	fi
fi

two_nodes
start 350582
# An hour ahead: past the receiver's 5 minutes of allowed skew.
REFERRAL_CLOCK_OFFSET_MS=3600000 start 350581
rid=$(submit 350581 350582 "$T/app.json")
check "a referral submitted at Shishi" test -n "$rid"
dead1() { [ "$("$REFCTL" --data "$T/350581" list --dead --json | json messages |
	"$PY" -c 'import json,sys; print(len(json.load(sys.stdin)))')" = "$1" ]; }
check "refused as STALE, it is a dead letter" wait_for 30 dead1 1
stop 350581
start 350581    # the clock is right again
check "still a dead letter after the restart" dead1 1
# The console's queue depths are read at once: the greeting checkpoint
# the restarted node sends a few seconds after it talks again must be
# receipted first, or the outbox holds it.
check "Shishi and Jinjiang have greeted each other again" wait_for 30 greeted 350581
export ADMIN_TOKEN
ADMIN_TOKEN=$(token 350581 admin-01 admin)
check "an admin token" test -n "$ADMIN_TOKEN"
# One failed login is part of the test: no delay, and no lock-out.
gateway 350581 "[console]" "login_fail_max = 1000" "login_fail_delay_ms = 0"

export GW_URL=$GW_URL_350581 REFERRAL_ID=$rid CHROMIUM
export OUT_DIR=$T/browser PLAYWRIGHT_CORE=$NPM_DIR/node_modules/playwright-core
mkdir -p "$OUT_DIR/tmp"
# Playwright gives each launch a fresh --user-data-dir under TMPDIR: here,
# inside the test's folder.
TMPDIR=$OUT_DIR/tmp command node "$src/console.test.js"
rc=$?
if [ $rc -eq 0 ]; then ok "tests/browser/console.test.js"; else not_ok "tests/browser/console.test.js exited $rc"; fi
mkdir -p "$BUILD/browser-artifacts"
cp "$OUT_DIR"/*.png "$BUILD/browser-artifacts/" 2>/dev/null
echo "screenshots: $BUILD/browser-artifacts/"

# What the console did, seen at the nodes.
check "no dead letter left at Shishi" dead1 0
check "the requeued message is delivered" wait_for 30 is_delivered 350581 "$rid"
check "Jinjiang holds the referral" wait_for 30 in_state 350581 "$rid" RECEIVED
expect_eq "the requeue is on Shishi's record, by the token's name" 1 \
	"$("$REFCTL" --data "$T/350581" trail "$rid" --json | "$PY" -c 'import json,sys; print(sum(1 for e in json.load(sys.stdin)["events"] if e["event"]=="requeued" and e.get("actor")=="admin-01"))')"
finish
