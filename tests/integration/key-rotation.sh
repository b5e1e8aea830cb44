# key-rotation.sh: a node's new signing key enters the directory beside the
# old one; the node switches to it by itself once the directory in force
# lists it. A referral signed with the old key and still in flight is
# delivered after the old key's not_after has passed (it was created
# before), while a message made with the old key after not_after is
# refused. The node restarts on its new key.
. "$(dirname "$0")/../lib.sh"
# A checkpoint at every record, so that some are signed under each key.
two_nodes "[audit]" "checkpoint_records = 1" "[deadlines]" "deadline_check_ms = 500"
cp -a "$T/350581" "$T/old-350581"   # the old key, for a forgery later
start 350581
start 350582
key_of() { "$REFCTL" --data "$T/$1" status --json | json key_id; }
expect_eq "Shishi signs with its first key" 350581-k1 "$(key_of 350581)"
z=$(submit 350581 350582 "$T/app.json")
check "a first referral, under k1, is delivered" wait_for 20 is_delivered 350581 "$z"
has_cp() { "$REFCTL" --data "$T/350581" audit export --out "$T/cp.jsonl" >/dev/null &&
	grep -q '"event":"checkpoint"' "$T/cp.jsonl"; }
check "and Shishi's chain head goes to Jinjiang under k1" wait_for 20 has_cp

stop 350582
a=$(submit 350581 350582 "$T/app.json")
check "a referral signed with k1 waits in the outbox" test -n "$a"

out=$("$REFCTL" --data "$T/350581" rotate-keys --switch-after 0s --overlap 4s 2>"$T/rotate.err"); rc=$?
expect_eq "rotate-keys: exit 0" 0 "$rc"
echo "$out" > "$T/350581.entry.json"
expect_eq "the entry lists both keys" "350581-k1 350581-k2" \
	"$(echo "$out" | "$PY" -c 'import json,sys; print(" ".join(k["key_id"] for k in json.load(sys.stdin)["signing_keys"]))')"
expect_eq "the new private key is the owner's only" 600 "$(stat -c %a "$T/350581/signing.next.key")"
out=$("$REFCTL" --data "$T/350581" rotate-keys 2>&1); rc=$?
check "a second rotation while one is under way: non-zero exit" test "$rc" -ne 0
expect_contains "and says so" "rotation is under way" "$out"
expect_eq "Shishi still signs with k1 until the directory lists k2" 350581-k1 "$(key_of 350581)"

directory 2 350581 350582
kill -HUP "$PID_350581"
check "Shishi switches to k2 once version 2 is in force" wait_for 10 bash -c \
	"[ \"\$('$REFCTL' --data '$T/350581' status --json | '$PY' -c 'import json,sys; print(json.load(sys.stdin)[\"key_id\"])')\" = 350581-k2 ]"
check "the old key is kept aside" test -f "$T/350581/signing.350581-k1.key"
check "the configuration names the new key" grep -q "^key_id = 350581-k2" "$T/350581/referrald.conf"
"$REFCTL" --data "$T/350581" audit export --out "$T/s.jsonl" >/dev/null
check "the switch is in the audit chain" grep -q '"event":"key_rotated".*"detail":"350581-k1 -> 350581-k2"' "$T/s.jsonl"

sleep 5 # k1's not_after passes
b=$(submit 350581 350582 "$T/app.json")
start 350582
check "the referral signed with k1 before its not_after is delivered" wait_for 20 is_delivered 350581 "$a"
check "the one signed with k2 is delivered" wait_for 20 is_delivered 350581 "$b"
signer() { "$REFCTL" --data "$T/350582" audit trail "$1" --json |
	"$PY" -c 'import json,sys; print(" ".join(e["signed_by"]+":"+e["signature"] for e in json.load(sys.stdin)["entries"] if e["event"]=="referral_submit"))'; }
expect_eq "Jinjiang holds the first, verified, under k1" "350581-k1:good" "$(signer "$a")"
expect_eq "and the second under k2" "350581-k2:good" "$(signer "$b")"
out=$("$PEERSIM" --data "$T/old-350581" --to 350582 --case good)
expect_contains "a message made with k1 after its not_after: UNKNOWN_KEY" "status=UNKNOWN_KEY" "$out"

stop 350581
start 350581
expect_eq "Shishi restarts on k2" 350581-k2 "$(key_of 350581)"
c=$(submit 350581 350582 "$T/app.json")
check "and its referrals go through" wait_for 15 is_delivered 350581 "$c"
# Its chain head went to Jinjiang under k1 before the switch and under k2
# since: each checkpoint is checked with the key it was signed with. One
# goes at the next deadline check (every 500 ms here) after a peer was
# talked with, so the one after the switch may come only now, after c.
both_keys() {
	"$REFCTL" --data "$T/350581" audit export --out "$T/s2.jsonl" >/dev/null &&
	"$PY" -c '
import json,sys
ev=[json.loads(l)["event"] for l in open(sys.argv[1])]
sw=ev.index("key_rotated")
print("yes" if "checkpoint" in ev[:sw] else "no", "yes" if "checkpoint" in ev[sw:] else "no")' "$T/s2.jsonl"
}
both_seen() { [ "$(both_keys)" = "yes yes" ]; }
wait_for 20 both_seen
expect_eq "Shishi sent checkpoints before its switch to k2 and after it" "yes yes" "$(both_keys)"
out=$("$REFCTL" --data "$T/350581" audit verify --json)
expect_eq "Shishi's audit chain verifies, its checkpoints under k1 and k2 alike" true \
	"$(echo "$out" | json ok)"
check "having checked them ($(echo "$out" | json own_checkpoints))" test "$(echo "$out" | json own_checkpoints)" -ge 2
finish
