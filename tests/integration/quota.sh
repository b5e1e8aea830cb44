# quota.sh: no directory member can starve the others (docs/SECURITY.md,
# the costs a member can cause). A hostile county with valid keys (peersim
# speaking as Jinjiang) floods Shishi with MATERIALS_SUPPLEMENTs for
# referrals that do not exist, a fresh id each and a large document:
# - early changes are held only within Jinjiang's bounds ([limits]
#   held_per_peer), a second one for the same referral_seq is refused, a
#   document over [limits] max_document_bytes is refused; held changes
#   are listed (refctl list --held), dropped by an admin only (audited),
#   and dropped by themselves after [delivery] held_ttl_ms (audited);
# - past its store quota ([store] peer_quota_pct) Jinjiang gets no
#   receipt, while Nan'an's referrals are delivered and receipted during
#   the flood and after a restart of Shishi; Jinjiang's own referral waits
#   at Jinjiang (pending, not dead) and is delivered once the flood's
#   changes are dropped;
# - a receipt without a msg_id for nothing in flight is ignored;
# - an envelope over ZMQ_MAXMSGSIZE drops the connection with no receipt
#   (docs/PROTOCOL.md 1.4), one slightly over max_message_bytes is
#   REFUSED, and the next good one is stored.
. "$(dirname "$0")/../lib.sh"
A=350581 B=350582 C=350583
authority
node $A "石狮市法律援助中心" "[limits]" "held_per_peer = 4" \
	"max_document_bytes = 2097152" "[store]" "map_max_mb = 64" \
	"peer_quota_pct = 25" "[roles]" "admins = admin-0001"
node $B "晋江市法律援助中心"
node $C "南安市法律援助中心" "[limits]" "max_message_bytes = 1048576" \
	"max_document_bytes = 524288"
directory 1 $A $B $C
"$REFCTL" example application > "$T/app.json"
start $A
start $C

flood() { "$PEERSIM" --data "$T/$B" --to $A --case flood "$@"; }
held_n() { "$REFCTL" --data "$T/$A" list --held --json | json held | "$PY" -c 'import json,sys; print(len(json.load(sys.stdin)))'; }
quota_of() { # FIELD: Jinjiang's entry in Shishi's status
	"$REFCTL" --data "$T/$A" status --json | "$PY" -c 'import json,sys
q=[p for p in json.load(sys.stdin)["peer_quota"] if p["peer"]==sys.argv[1]]
v=q[0][sys.argv[2]] if q else ""
print(json.dumps(v) if isinstance(v,bool) else v)' $B "$1"
}
audit_events() { # CODE EVENT: how many such records in the node's chain
	rm -f "$T/audit.jsonl" "$T/audit.jsonl.manifest"
	"$REFCTL" --data "$T/$1" audit export --out "$T/audit.jsonl" >/dev/null &&
	"$PY" -c 'import json,sys; print(sum(1 for l in open(sys.argv[1]) if json.loads(l)["event"]==sys.argv[2]))' "$T/audit.jsonl" "$2"
}
# resend_wait CODE: how long to wait for a delivery from CODE. A message
# without a receipt is resent after a delay that doubles up to CODE's
# [delivery] retry_cap_ms (lib.sh gives test nodes 2000 ms; the default
# is 5 minutes): the wait outlasts ten resends at the cap plus a
# reconnection (ZMQ_RECONNECT_IVL_MAX, 5 s), however long the restart or
# the flood before it took on a slow runner, and is at least 60 s.
resend_wait() {
	local cap w
	cap=$(sed -n 's/^retry_cap_ms = //p' "$T/$1/referrald.conf" | tail -n 1)
	w=$(( ${cap:-300000} / 100 + 5 ))
	echo $(( w < 60 ? 60 : w ))
}
rid() { "$PY" -c 'import secrets,sys; print(sys.argv[1]+"-"+secrets.token_hex(16))' "$1"; }

# ---- held changes: bounded, never replaced, listed, dropped by an admin
same=$(rid $B)
out=$(flood --count 2 --referral "$same" --size 1000)
expect_contains "a change ahead of its referral is held" \
	"FLOOD 1 RECEIPT status=STORED verified=yes matches=yes detail=\"stored; applies when the referral arrives\"" "$out"
expect_contains "a second message for the same referral_seq: REFUSED, the first kept" \
	"FLOOD 2 RECEIPT status=REFUSED verified=yes matches=yes detail=\"referral_seq 2 of referral $same is already held under another message\"" "$out"
out=$(flood --count 5 --size 1000)
expect_eq "3 more held, up to held_per_peer = 4" 3 "$(grep -c 'status=STORED' <<<"$out")"
expect_contains "then REFUSED, naming the bound" "changes from $B are already held waiting for their referral or an earlier change ([limits] held_per_peer = 4)" "$out"
expect_eq "4 held in all" 4 "$(held_n)"
out=$(flood --count 1 --size 3000000)
expect_contains "a 3 MB document: REFUSED, naming the field and the limit" \
	"documents[0].content: 3000000 bytes, over the limit of 2097152 ([limits] max_document_bytes" "$out"
expect_eq "nothing more held" 4 "$(held_n)"
out=$("$REFCTL" --data "$T/$A" list --held)
expect_contains "refctl list --held shows each one" "$same seq 2 from $B: MATERIALS_SUPPLEMENT" "$out"
expect_eq "status counts them for Jinjiang" 4 "$(quota_of held)"
expect_eq "none of them is in the inbox" 0 "$(inbox_count $A)"

out=$("$REFCTL" --data "$T/$A" --actor staff-0107 held drop --from $B 2>&1); rc=$?
check "a staff id cannot drop held changes" test "$rc" -ne 0
expect_contains "told why" "needs the admin role" "$out"
expect_eq "the refusal is audited" 1 "$(audit_events $A held_drop_refused)"
expect_eq "nothing was dropped" 4 "$(held_n)"
out=$("$REFCTL" --data "$T/$A" --actor admin-0001 held drop --from $B 2>&1)
expect_contains "an admin drops them" "4 held changes dropped (audited)" "$out"
expect_eq "none held now" 0 "$(held_n)"
expect_eq "each drop audited" 4 "$(audit_events $A held_dropped)"
expect_eq "Jinjiang's quota use is back to 0" 0 "$(quota_of stored_bytes)"

# ---- a receipt without a msg_id, for nothing in flight
out=$("$PEERSIM" --data "$T/$B" --to $A --case receipt-no-id)
expect_contains "a receipt without a msg_id is not answered" "NO_RECEIPT" "$out"
check "and matched to nothing (logged)" wait_for 10 grep -q "receipt status=STORED for no message of ours" "$T/$A.log"

# ---- the flood against the store quota (64 MB store, 16 MB per peer)
stop $A
sed -i 's/^held_per_peer = 4$/held_per_peer = 1000\nheld_bytes_per_peer = 1073741824/' "$T/$A/referrald.conf"
start $A
flood --count 30 --size 1000000 --timeout 1500 > "$T/flood.out" &
FLOOD_PID=$!
over() { [ "$(quota_of over)" = true ]; }
check "Jinjiang reaches its quota" wait_for 60 over
first=$(submit $C $A "$T/app.json")
check "Nan'an's referral is delivered and receipted during the flood" wait_for "$(resend_wait $C)" is_delivered $C "$first"
if kill -0 $FLOOD_PID 2>/dev/null; then echo "# the flood was still going on"; fi
wait $FLOOD_PID
stored=$(grep -c 'status=STORED' "$T/flood.out")
echo "# the flood: $stored of 30 held before the quota, $(grep -c NO_RECEIPT "$T/flood.out") unanswered"
check "the flood was held up to the quota (at most 16 of 1 MB)" test "$stored" -ge 10 -a "$stored" -le 16
check "past it: no receipt" grep -q "FLOOD 30 NO_RECEIPT" "$T/flood.out"
check "no REFUSED: Jinjiang would resend" test "$(grep -c 'status=REFUSED' "$T/flood.out")" -eq 0
expect_eq "status shows Jinjiang nearly full" true "$(quota_of nearly_full)"
expect_contains "and over, in words" "peer $B:" "$("$REFCTL" --data "$T/$A" status)"
check "the metrics count it" test "$("$REFCTL" --data "$T/$A" call metrics --json | json peers_quota_nearly_full)" -ge 1
expect_eq "the log says it once" 1 "$(grep -c "peer=$B is over its store quota" "$T/$A.log")"

start $B
# A referral with a 900 kB scan: more than the room left in Jinjiang's quota.
head -c 900000 /dev/urandom > "$T/scan.bin"
"$PY" - "$T/app.json" "$T/big.json" <<'PY'
import json,sys; a=json.load(open(sys.argv[1])); a["documents"].append({"type":"scan","file":"scan.bin"}); json.dump(a,open(sys.argv[2],"w"))
PY
mine=$(submit $B $A "$T/big.json")
sleep 3   # a few resends, each unanswered
expect_eq "Jinjiang's own referral waits at Jinjiang" pending "$(delivery_of $B "$mine")"

stop $A
start $A
second=$(submit $C $A "$T/app.json")
check "after a restart of Shishi, Nan'an's next referral is delivered" wait_for "$(resend_wait $C)" is_delivered $C "$second"
expect_eq "still pending at Jinjiang, not dead" pending "$(delivery_of $B "$mine")"
dropped_at=$(date +%s)
out=$("$REFCTL" --data "$T/$A" --actor admin-0001 held drop --from $B 2>&1)
expect_contains "the admin drops the flood" "held changes dropped" "$out"
check "then Jinjiang's referral is delivered" wait_for "$(resend_wait $B)" is_delivered $B "$mine"
echo "# delivered $(( $(date +%s) - dropped_at )) s after the drop (waited up to $(resend_wait $B) s)"
expect_eq "nothing dead at Jinjiang" 0 "$("$REFCTL" --data "$T/$B" status --json | json outbox.dead)"
expect_eq "nothing dead at Nan'an" 0 "$("$REFCTL" --data "$T/$C" status --json | json outbox.dead)"
expect_eq "Shishi holds the three referrals once each" 3 "$(inbox_count $A)"

# ---- held changes expire after held_ttl_ms
stop $A
printf '\n[delivery]\nheld_ttl_ms = 10000\n' >> "$T/$A/referrald.conf"
start $A
out=$(flood --count 2 --size 1000)
expect_eq "two held" 2 "$(grep -c 'status=STORED' <<<"$out")"
none_held() { [ "$(held_n)" = 0 ]; }
check "dropped by themselves after held_ttl_ms" wait_for 60 none_held
expect_eq "each expiry audited" 2 "$(audit_events $A held_expired)"

# ---- ZMQ_MAXMSGSIZE (2 x max_message_bytes + 4096 at Nan'an: 2 MB)
before=$(inbox_count $C)
out=$("$PEERSIM" --data "$T/$B" --to $C --case good --size 1100000)
expect_contains "an envelope over max_message_bytes but under MAXMSGSIZE: REFUSED" "status=REFUSED verified=yes" "$out"
out=$("$PEERSIM" --data "$T/$B" --to $C --case good --size 3000000 --timeout 5000)
expect_eq "an envelope over MAXMSGSIZE: the connection is dropped, no receipt" NO_RECEIPT "$out"
out=$("$PEERSIM" --data "$T/$B" --to $C --case good)
expect_contains "the next good envelope is stored" "status=STORED verified=yes matches=yes" "$out"
expect_eq "only that one was kept" $((before + 1)) "$(inbox_count $C)"
finish
