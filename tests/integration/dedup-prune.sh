# dedup-prune.sh: the dedup table (`seen`) is bounded. A message id is kept
# while a replay could still pass the replay window (message lifetime,
# plus the allowed skew as a margin for this node's clock) and pruned
# after; a replay of a pruned message is refused STALE by the window and
# never applied twice, even once the lifetime is raised. The test clock (REFERRAL_CLOCK_OFFSET_MS) moves the
# receiver's time, and peersim's with it so that it can check the receipts.
. "$(dirname "$0")/../lib.sh"
LIFE=60000 SKEW=300000   # the window: 360 s
two_nodes "message_lifetime_ms = $LIFE" "future_skew_ms = $SKEW"
seen_of() { "$REFCTL" --data "$T/350582" status --json | json dedup.seen; }
passes_of() { "$REFCTL" --data "$T/350582" status --json | json dedup.passes; }
pruned_of() { "$REFCTL" --data "$T/350582" status --json | json dedup.pruned; }
status_of() { sed -n 1p | sed 's/.*status=\([A-Z_]*\).*/\1/'; }
sim() { "$PEERSIM" --data "$T/350581" --to 350582 "$@"; }

start 350582
out=$(sim --case good --save "$T/a.env")
expect_eq "message A is stored" STORED "$(echo "$out" | status_of)"
out=$(sim --case good --replay "$T/a.env")
expect_eq "its replay inside the lifetime is a duplicate" DUPLICATE "$(echo "$out" | status_of)"
expect_eq "one dedup entry" 1 "$(seen_of)"
expect_contains "refctl status shows it" "dedup: 1 message ids held for the 360000 ms replay window" \
	"$("$REFCTL" --data "$T/350582" status)"
rid=$("$REFCTL" --data "$T/350582" list --inbox --json | json referrals.0.referral_id)

# 200 s later: past A's lifetime (60 s) but inside the margin: A is kept.
stop 350582
export REFERRAL_CLOCK_OFFSET_MS=200000
start 350582
passes_past() { [ "$(passes_of)" -ge 2 ]; }
check "a pruning pass has run over the table" wait_for 60 passes_past
expect_eq "A's entry is kept inside lifetime + skew" 1 "$(seen_of)"
out=$(sim --case good --save "$T/b.env")
expect_eq "message B, sent now, is stored" STORED "$(echo "$out" | status_of)"
expect_eq "two dedup entries" 2 "$(seen_of)"

# 400 s after A: A is past lifetime + skew and goes; B (200 s old) stays.
stop 350582
export REFERRAL_CLOCK_OFFSET_MS=400000
start 350582
seen1() { [ "$(seen_of)" = 1 ]; }
check "A's entry is pruned once past lifetime + skew" wait_for 60 seen1
expect_eq "the status counts what was pruned" 1 "$(pruned_of)"
out=$(sim --case good --replay "$T/a.env")
echo "$out"
expect_eq "a replay of the pruned message is refused STALE" STALE "$(echo "$out" | status_of)"
expect_contains "and says why" "older than the lifetime" "$out"
expect_eq "A was applied once" 1 "$(events_of 350582 "$rid" received)"
expect_eq "the replay is on the trail as rejected" 1 "$(events_of 350582 "$rid" rejected)"
expect_eq "still one inbox entry per message" 2 "$(inbox_count 350582)"
expect_eq "A's referral is as it was" RECEIVED "$(state_of 350582 "$rid")"

# A replay after a restart as well (nothing of the window is in memory).
stop 350582
start 350582
out=$(sim --case good --replay "$T/a.env")
expect_eq "after a restart the replay is still refused STALE" STALE "$(echo "$out" | status_of)"
expect_eq "and still applied once" 1 "$(events_of 350582 "$rid" received)"
expect_contains "the store checks clean after pruning" "store intact" \
	"$("$REFCTL" --data "$T/350582" store check 2>&1)"

# The lifetime raised past A's age: A's entry is gone, so the window stays
# shut below the newest message time pruned; B, still held, is DUPLICATE,
# and a new message is stored.
stop 350582
sed -i "s/^message_lifetime_ms = .*/message_lifetime_ms = 900000/" "$T/350582/referrald.conf"
start 350582
out=$(sim --case good --replay "$T/a.env")
expect_eq "lifetime raised past A's age: its replay is still STALE" STALE "$(echo "$out" | status_of)"
out=$(sim --case good --replay "$T/b.env")
expect_eq "B, still held, is DUPLICATE" DUPLICATE "$(echo "$out" | status_of)"
out=$(sim --case good)
expect_eq "a new message is stored" STORED "$(echo "$out" | status_of)"
expect_eq "and A still applied once" 1 "$(events_of 350582 "$rid" received)"
finish
