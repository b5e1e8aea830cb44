# deadlines.sh: the law's clocks with a test clock (REFERRAL_CLOCK_OFFSET_MS
# moves a node's time without sleeping): a passed review deadline is
# audited, logged and listed as overdue; the review clock pauses while
# materials are awaited; a passed materials wait withdraws the application.
. "$(dirname "$0")/../lib.sh"
two_nodes "[deadlines]" "materials_wait_days = 3" "deadline_check_ms = 200"
start 350581
start 350582
J="$REFCTL --data $T/350582 --actor reviewer-02"
late=$(submit 350581 350582 "$T/app.json")
paused=$(submit 350581 350582 "$T/app.json")
check "received" wait_for 15 in_state 350581 "$paused" RECEIVED
check "received" wait_for 15 in_state 350581 "$late" RECEIVED
check "notice on one of them" $J request-materials "$paused" --item "wage slips"
check "origin sees the notice" wait_for 15 in_state 350581 "$paused" AWAITING_MATERIALS
expect_eq "nothing overdue yet" "[]" "$($J overdue --json | json overdue)"

# Ten days on, for both nodes (so their messages are not stale).
day=86400000
stop 350582
stop 350581
export REFERRAL_CLOCK_OFFSET_MS=$((10 * day))
start 350581
start 350582
check "the review deadline is reported passed" wait_for 10 \
	bash -c "grep -q 'referral=$late clock=review.*passed' '$T/350582.log'"
over=$($J overdue --json)
expect_contains "overdue lists it" "$late" "$over"
expect_contains "as the review clock" '"clock": "review"' "$over"
expect_eq "audited once" 1 "$(events_of 350582 "$late" deadline_passed)"
# The paused referral's review clock did not run; its materials wait did,
# so it was withdrawn (Art 43 para 2), and the origin heard of it.
check "materials wait passed: withdrawn" wait_for 10 in_state 350582 "$paused" WITHDRAWN
check "the origin sees WITHDRAWN" wait_for 15 in_state 350581 "$paused" WITHDRAWN
expect_contains "withdrawn for the right reason" "deemed withdrawn" "$($J show "$paused" --json)"
check "its review deadline was never reported" bash -c \
	"! grep -q 'referral=$paused clock=review' '$T/350582.log'"
sleep 1
expect_eq "reported once, not every check" 1 "$(events_of 350582 "$late" deadline_passed)"
human=$($J show "$late")
expect_contains "show prints the running clock with its due time" "clock     review     due" "$human"

# A clock that passes while the nodes run, nothing written meanwhile: after
# a whole sweep a check reads no referral again until the earliest running
# clock the sweep (or a write since) saw comes due (broker/dues.h).
soon=$(submit 350581 350582 "$T/app.json")
check "a third referral received" wait_for 15 in_state 350581 "$soon" RECEIVED
check "a notice on it" $J request-materials "$soon" --item "wage slips"
check "the origin sees that notice" wait_for 15 in_state 350581 "$soon" AWAITING_MATERIALS
due=$($J show "$soon" --json | "$PY" -c 'import datetime, json, sys
c = [c for c in json.load(sys.stdin)["clocks"] if c["clock"] == "materials"][0]
print(int(datetime.datetime.fromisoformat(c["due"].replace("Z", "+00:00")).timestamp() * 1000))')
stop 350582
stop 350581
# Both nodes start 8 s before its materials wait ends.
export REFERRAL_CLOCK_OFFSET_MS=$((due - $(date +%s%3N) - 8000))
start 350581
start 350582
check "it passes while Jinjiang runs: withdrawn" wait_for 30 in_state 350582 "$soon" WITHDRAWN
expect_eq "seen by a later check, not the start's sweep" yes "$("$PY" - "$T/350582.log" "$soon" <<'PY'
import datetime, sys
t = lambda l: datetime.datetime.fromisoformat(l.split()[0].replace("Z", "+00:00")).timestamp()
lines = open(sys.argv[1]).read().splitlines()
started = [t(l) for l in lines if " node started " in l][-1]
passed = [t(l) for l in lines if "referral=%s clock=materials" % sys.argv[2] in l]
print("yes" if passed and passed[0] - started >= 3 else "no: %s" % [p - started for p in passed])
PY
)"
finish
