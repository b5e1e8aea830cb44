# duplicate.sh: the same envelope twice gives STORED, then DUPLICATE, and
# one inbox entry.
. "$(dirname "$0")/../lib.sh"
two_nodes
start 350582
out=$("$PEERSIM" --data "$T/350581" --to 350582 --case duplicate)
echo "$out"
expect_eq "first receipt" 'STORED' "$(echo "$out" | sed -n 1p | sed 's/.*status=\([A-Z_]*\).*/\1/')"
expect_eq "second receipt" 'DUPLICATE' "$(echo "$out" | sed -n 2p | sed 's/.*status=\([A-Z_]*\).*/\1/')"
expect_contains "receipts verify and name our envelope" "verified=yes matches=yes" "$(echo "$out" | sed -n 2p)"
expect_eq "one inbox entry" 1 "$(inbox_count 350582)"
rid=$("$REFCTL" --data "$T/350582" list --inbox --json | json referrals.0.referral_id)
expect_eq "applied once" 1 "$(events_of 350582 "$rid" received)"
expect_eq "the duplicate is on the trail" 1 "$(events_of 350582 "$rid" duplicate)"
# Another message that reuses a stored msg_id is not a duplicate.
out=$("$PEERSIM" --data "$T/350581" --to 350582 --case reused-id)
echo "$out"
expect_contains "reused msg_id refused" "status=REFUSED" "$(echo "$out" | sed -n 2p)"
expect_contains "and says why" "already used by another message" "$(echo "$out" | sed -n 2p)"
expect_eq "still one inbox entry per message" 2 "$(inbox_count 350582)"
finish
