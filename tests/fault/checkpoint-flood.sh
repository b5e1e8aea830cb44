# checkpoint-flood.sh: checkpoints are no way to fill a node's store or
# make it work for a member (docs/SECURITY.md, the costs a member can
# cause). Jinjiang sends Shishi a referral, then goes quiet; a hostile
# county with Jinjiang's valid keys (peersim) sends Shishi 40 checkpoints:
# a head_hash of 64 or 4096 bytes (refused), restore announcements with at_ms 0
# (refused), restore announcements that look real (stored; the first is
# answered, the others not while that answer waits for its receipt: the
# outbox does not grow), and plain checkpoints with fresh seqs (stored;
# Shishi keeps only Jinjiang's latest few). Nan'an's referral to Shishi
# is delivered meanwhile.
. "$(dirname "$0")/../lib.sh"
A=350581 B=350582 C=350583
authority
node $A "石狮市法律援助中心"
node $B "晋江市法律援助中心"
node $C "南安市法律援助中心"
directory 1 $A $B $C
"$REFCTL" example application > "$T/app.json"
start $A
start $B
start $C
jid=$(submit $B $A "$T/app.json")
check "Jinjiang's referral is RECEIVED at Jinjiang (Shishi has it)" wait_for 30 in_state $B "$jid" RECEIVED
stop $B
pending() { "$REFCTL" --data "$T/$A" status --json | json outbox.pending; }
"$PEERSIM" --data "$T/$B" --to $A --case checkpoint-flood --count 4 --size 64 > "$T/f1.txt"
expect_contains "a 64-byte head_hash is refused" \
	'big-hash RECEIPT status=REFUSED verified=yes matches=yes detail="AUDIT_CHECKPOINT head_hash is 64 bytes, not 32"' "$(cat "$T/f1.txt")"
expect_contains "a restore announced with at_ms 0 is refused" \
	'restored-at-0 RECEIPT status=REFUSED verified=yes matches=yes detail="a restore announcement' "$(cat "$T/f1.txt")"
expect_contains "a restore announcement that looks real is stored" \
	'CHECKPOINT 3 restored RECEIPT status=STORED' "$(cat "$T/f1.txt")"
answered() { grep -q "peer=$B was restored from a backup" "$T/$A.log"; }
check "and answered once" wait_for 30 answered
before=$(pending)
echo "# Shishi's outbox after the first round: $before pending"
"$PEERSIM" --data "$T/$B" --to $A --case checkpoint-flood --count 40 --size 4096 > "$T/f2.txt"
sed 's/^/# /' "$T/f2.txt" | sort -k4,4 -u
expect_eq "a 4096-byte head_hash is refused every time: the body is over the checkpoint limit" 10 \
	"$(grep big-hash "$T/f2.txt" | grep -c 'status=REFUSED verified=yes matches=yes detail="AUDIT_CHECKPOINT body is [0-9]* bytes, over the limit of 256"')"
expect_eq "no restore at 0 stored in the flood" 0 "$(grep restored-at-0 "$T/f2.txt" | grep -vc 'status=REFUSED')"
expect_eq "every message had a receipt" "CHECKPOINT_TOTAL no_receipt=0" "$(tail -1 "$T/f2.txt")"
expect_eq "the later restore announcements are not answered again: the outbox does not grow" \
	"$before" "$(pending)"
check "Shishi says why" grep -q "announced a restore again while our answer to the last one is pending" "$T/$A.log"
kept=$("$REFCTL" --data "$T/$A" audit witnessed --node $B --json | "$PY" -c 'import json,sys
d=json.load(sys.stdin); c=d["checkpoints"] if isinstance(d, dict) else d; print(len(c))')
echo "# Shishi keeps $kept witnessed checkpoint(s) of Jinjiang's after 22 stored"
check "Shishi keeps only Jinjiang's latest few checkpoints (8 at most)" test "${kept:-99}" -le 8
id=$(submit $C $A "$T/app.json")
check "Nan'an's referral is delivered to Shishi after the flood" wait_for 30 in_state $C "$id" RECEIVED
check "Shishi's audit chain verifies" "$REFCTL" --data "$T/$A" audit verify
finish
