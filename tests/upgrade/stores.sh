# stores.sh: stores written by an earlier release (scripts/upgrade-check.sh
# builds it) open and serve after an upgrade: referrals delivered, moved and
# waiting for materials under the old node go on under the new one, and the
# audit chain and every record still check. REFERRAL_BUILD = the old build,
# NEW = this build.
. "$REFERRAL_SOURCE/tests/lib.sh"
two_nodes
start 350581; start 350582
ids=()
for i in 1 2 3; do ids+=("$(submit 350581 350582 "$T/app.json")"); done
for id in "${ids[@]}"; do check "old release: delivered $id" wait_for 30 is_delivered 350581 "$id"; done
"$REFCTL" --data "$T/350582" --actor reviewer-02 accept "${ids[0]}" >/dev/null
check "old release: accepted at origin" wait_for 30 in_state 350581 "${ids[0]}" GRANTED
"$REFCTL" --data "$T/350582" --actor reviewer-02 request-materials "${ids[1]}" --item "labour contract copy" >/dev/null
check "old release: awaiting materials" wait_for 30 in_state 350581 "${ids[1]}" AWAITING_MATERIALS
stop 350581; stop 350582
# Now the new release on the same stores.
BUILD=$NEW; REFCTL=$NEW/client/refctl; REFERRALD=$NEW/broker/referrald
# An auditor's read-only look at the old stores, with this release's
# refctl, before any new node has opened them (tables added since are
# read as empty).
check "new refctl: store check of an old store, read-only" "$REFCTL" --data "$T/350582" store check
check "new refctl: audit verify of an old store" "$REFCTL" --data "$T/350581" audit verify
start 350581; start 350582
seen_of() { "$REFCTL" --data "$T/$1" status --json | json dedup.seen; }
old_seen=$(seen_of 350582)   # the old release's dedup entries (no created_at)
# The old store had no per-peer counts: the first start counts what it
# holds from Shishi (quota_start and held_start).
quota_bytes() { "$REFCTL" --data "$T/$1" status --json | "$PY" -c 'import json,sys; print(sum(p["stored_bytes"] for p in json.load(sys.stdin).get("peer_quota",[]) if p["peer"]==sys.argv[1]))' "$2"; }
check "new release: the old store's messages from Shishi are counted against its quota" test "$(quota_bytes 350582 350581)" -gt 0
for id in "${ids[@]}"; do check "new release: still delivered $id" is_delivered 350581 "$id"; done
expect_eq "new release: state kept" GRANTED "$(state_of 350581 "${ids[0]}")"
"$REFCTL" --data "$T/350581" --actor staff-0107 supplement "${ids[1]}" --doc "$T/app.json" >/dev/null
check "new release: a supplement on an old referral crosses" wait_for 30 in_state 350582 "${ids[1]}" RECEIVED
"$REFCTL" --data "$T/350582" --actor reviewer-02 assign "${ids[0]}" --firm "示例律师事务所" --lawyer "王示例" --licence 13505200000000 >/dev/null
check "new release: an old referral assigned, seen at origin" wait_for 30 in_state 350581 "${ids[0]}" ASSIGNED
new=$(submit 350581 350582 "$T/app.json")
check "new release: a new referral delivered" wait_for 30 is_delivered 350581 "$new"
expect_eq "new release: inbox holds all four" 4 "$(inbox_count 350582)"
check "new release: audit chain verifies at the origin" "$REFCTL" --data "$T/350581" audit verify
check "new release: audit chain verifies at the receiver" "$REFCTL" --data "$T/350582" audit verify
check "new release: store check at the origin" "$REFCTL" --data "$T/350581" store check

# The dedup table: the old release's entries carry no created_at_ms and
# age from their receipt + skew, so they outlive the new ones by the skew.
# The test clock moves the receiver past lifetime + skew (+ 60 s), then
# past lifetime + 2 x skew (+ 60 s).
L=$((14 * 86400000)) S=300000
passes2() { [ "$("$REFCTL" --data "$T/350582" status --json | json dedup.passes)" -ge 2 ]; }
expect_eq "new release: new dedup entries written beside the old" yes \
	"$([ "$(seen_of 350582)" -gt "$old_seen" ] && echo yes)"
stop 350582
REFERRAL_CLOCK_OFFSET_MS=$((L + S + 60000)) start 350582
check "new release: a pruning pass ran" wait_for 60 passes2
expect_eq "new release: past lifetime + skew, the old entries are kept, the new pruned" \
	"$old_seen" "$(seen_of 350582)"
stop 350582
REFERRAL_CLOCK_OFFSET_MS=$((L + 2 * S + 60000)) start 350582
none_seen() { [ "$(seen_of 350582)" = 0 ]; }
check "new release: past lifetime + 2 x skew, the old entries are pruned too" wait_for 60 none_seen
finish
