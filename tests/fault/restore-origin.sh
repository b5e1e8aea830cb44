# restore-origin.sh: the origin restored from a backup. Shishi (the origin)
# is backed up, then submits 3 more referrals; Jinjiang receives and
# accepts them; Shishi is restored from the backup, so its store has none
# of the 3. Started, it announces the restore; Jinjiang answers with
# RESTORE_SYNC: Shishi's own signed submits as Jinjiang holds them, with
# Jinjiang's receipts, and Jinjiang's changes sent after the backup point,
# original bytes. Shishi checks each as an archived envelope and applies
# each once: all 3 referrals are back at Shishi in Jinjiang's states, no
# dead letter at either node, every history step once. Shishi says how
# many audit records past the backup Jinjiang's checkpoints prove and how
# many messages came back, in its log and its audit chain.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/common.sh"
# Checkpoints often, so Jinjiang witnesses Shishi's chain past the backup;
# a small message limit, so the sync must be split into several.
two_nodes "[audit]" "checkpoint_records = 5" "[limits]" "max_message_bytes = 6144" \
	"max_document_bytes = 2048"
start 350581
start 350582
J="$REFCTL --data $T/350582 --actor reviewer-02"
first=$(submit 350581 350582 "$T/app.json")
check "a referral before the backup is RECEIVED at Shishi" wait_for 30 in_state 350581 "$first" RECEIVED
"$REFCTL" --data "$T/350581" backup "$T/bk" > /dev/null
check "a backup of Shishi" test -f "$T/bk/backup.json"
sleep 1
: > "$T/late.txt"
for i in 1 2 3; do submit 350581 350582 "$T/app.json" >> "$T/late.txt"; done
expect_eq "3 submitted after the backup" 3 "$(grep -c . "$T/late.txt")"
while read -r id; do
	check "$id: RECEIVED at Shishi" wait_for 30 in_state 350581 "$id" RECEIVED
	$J accept "$id" > /dev/null
	check "$id: accepted, GRANTED at Shishi" wait_for 30 in_state 350581 "$id" GRANTED
done < "$T/late.txt"
$J accept "$first" > /dev/null
check "the first accepted too" wait_for 30 in_state 350581 "$first" GRANTED
# Shishi's later records reach Jinjiang as a checkpoint: what a restore
# cannot give back, Jinjiang can prove existed.
witnessed() { "$REFCTL" --data "$T/350582" audit export --out "$T/jw.jsonl" >/dev/null && \
	grep -q '"event":"witnessed"' "$T/jw.jsonl"; }
check "Jinjiang witnessed a checkpoint of Shishi's chain" wait_for 30 witnessed
stop 350581
out=$("$REFCTL" --data "$T/350581" restore "$T/bk" 2>&1); rc=$?
expect_eq "restore of Shishi, stopped: exit 0" 0 "$rc"
expect_contains "refctl restore says the count follows from the peers" \
	"how many audit records past the backup" "$out"
expect_contains "and that referrals no peer holds are gone" "are gone" "$out"
start 350581
has_all() {
	while read -r id; do
		[ "$(states_of 350581 "$id")" = "$(states_of 350582 "$id")" ] || return 1
	done < "$T/late.txt"
}
check "the 3 referrals are back at Shishi, in Jinjiang's states" wait_for 60 has_all
parts=$(sed -n 's/.*was restored from a backup: .* in \([0-9]*\) RESTORE_SYNC.*/\1/p' "$T/350582.log" | head -1)
echo "# Jinjiang's answer went in ${parts:-?} RESTORE_SYNC message(s) under max_message_bytes = 6144"
check "split into several RESTORE_SYNC under the message limit" test "${parts:-0}" -ge 2
while read -r id; do
	expect_eq "$id: history at Shishi" "REQUESTED RECEIVED GRANTED" "$(states_of 350581 "$id")"
	expect_eq "$id: delivered, with Jinjiang's receipt" delivered "$(delivery_of 350581 "$id")"
done < "$T/late.txt"
expect_eq "the referral from before the backup: GRANTED at Shishi" GRANTED "$(state_of 350581 "$first")"
expect_eq "and its history holds each step once" "REQUESTED RECEIVED GRANTED" "$(states_of 350581 "$first")"
sleep 3
dead() { "$REFCTL" --data "$T/$1" list --dead --json | json messages | "$PY" -c 'import json,sys; print(len(json.load(sys.stdin)))'; }
expect_eq "no dead letters at Shishi" 0 "$(dead 350581)"
expect_eq "no dead letters at Jinjiang" 0 "$(dead 350582)"
pending() { "$REFCTL" --data "$T/$1" status --json | json outbox.pending; }
nothing_pending() { [ "$(pending 350581)" = 0 ] && [ "$(pending 350582)" = 0 ]; }
check "nothing left pending at either node" wait_for 30 nothing_pending
"$REFCTL" --data "$T/350581" audit export --out "$T/s.jsonl" >/dev/null
check "the restore is in Shishi's audit chain" grep -q '"event":"restored"' "$T/s.jsonl"
check "and the restore sync, with its count" grep -q '"event":"restore_sync".*message(s) came back' "$T/s.jsonl"
sync=$(grep '"event":"restore_sync"' "$T/s.jsonl")
grep '"event":"restore_sync"' "$T/s.jsonl" | "$PY" -c 'import json,sys
for l in sys.stdin: print("# " + json.loads(l)["detail"])'

expect_contains "it says what Jinjiang's checkpoints prove" "past the backup" "$sync"
expect_contains "the log says it too" "message(s) came back" "$(cat "$T/350581.log")"
expect_contains "and that what reached no peer is gone" "never reached a peer are gone" "$(cat "$T/350581.log")"
applied_once() {
	"$PY" - "$T/s.jsonl" "$T/late.txt" <<'PY'
import json, sys, collections
ev = [json.loads(l) for l in open(sys.argv[1])]
late = [l.split()[0] for l in open(sys.argv[2]) if l.strip()]
c = collections.Counter((e["referral_id"], e["outcome"]) for e in ev if e["event"] == "status_change")
bad = [f"{i} {s} applied {c[(i, s)]} times" for i in late for s in ("RECEIVED", "GRANTED") if c[(i, s)] != 1]
print("ok" if not bad else "; ".join(bad))
PY
}
expect_eq "each of Jinjiang's changes applied once at Shishi (since the restore)" ok "$(applied_once)"
check "Shishi's audit chain verifies" "$REFCTL" --data "$T/350581" audit verify
# A new referral after it all goes through as usual.
id=$(submit 350581 350582 "$T/app.json")
check "a new referral after the restore is RECEIVED" wait_for 30 in_state 350581 "$id" RECEIVED

# A second restore, with two things the sync must not lose or miscount.
# Y: Jinjiang accepts it while Shishi is down, so its GRANTED is pending
# at Jinjiang and goes to the restored Shishi at once, before (or with)
# the sync that brings Y back: held for it, never refused (a dead letter).
# Z: its submit (a 2000-byte document) is too large for any sync part
# under max_message_bytes = 6144: Jinjiang keeps it back (in no part),
# and Jinjiang's RECEIVED for it, in the sync, is held at Shishi waiting
# for the referral: held and counted once.
"$PY" - "$T/app.json" "$T/big.json" <<'PY'
import json, sys, base64, os
a = json.load(open(sys.argv[1]))
a["documents"].append({"type": "scan", "content_base64": base64.b64encode(os.urandom(2000)).decode()})
json.dump(a, open(sys.argv[2], "w"))
PY
"$REFCTL" --data "$T/350581" backup "$T/bk2" > /dev/null
check "a second backup of Shishi" test -f "$T/bk2/backup.json"
sleep 1
y=$(submit 350581 350582 "$T/app.json")
z=$(submit 350581 350582 "$T/big.json")
check "Y: RECEIVED at Shishi" wait_for 30 in_state 350581 "$y" RECEIVED
check "Z (a large submit): RECEIVED at Shishi" wait_for 30 in_state 350581 "$z" RECEIVED
stop 350581
$J accept "$y" > /dev/null
expect_eq "Y accepted at Jinjiang while Shishi is down" GRANTED "$(state_of 350582 "$y")"
out=$("$REFCTL" --data "$T/350581" restore "$T/bk2" 2>&1); rc=$?
expect_eq "second restore of Shishi: exit 0" 0 "$rc"
# Jinjiang comes back after Shishi: its pending GRANTED goes out at its
# start, most often before Shishi's announcement (on Shishi's backoff)
# has been answered.
stop 350582
start 350581
start 350582
y_back() { [ "$(states_of 350581 "$y")" = "REQUESTED RECEIVED GRANTED" ]; }
check "Y is back at Shishi, GRANTED (the change made while it was down)" wait_for 60 y_back
expect_eq "Y: history at Shishi, each step once" "REQUESTED RECEIVED GRANTED" "$(states_of 350581 "$y")"
expect_eq "Y: history at Jinjiang" "REQUESTED RECEIVED GRANTED" "$(states_of 350582 "$y")"
expect_eq "Shishi refused no message about Y (its GRANTED was held for the sync)" 0 \
	"$(grep "referral=$y" "$T/350581.log" | grep -c "receipt=REFUSED")"
kept() { grep -q "too large to send back in a restore sync" "$T/350582.log"; }
check "Jinjiang kept Z's submit back: too large for any sync part" wait_for 30 kept
expect_eq "Z is not at Shishi (its submit was not sent back)" "" \
	"$("$REFCTL" --data "$T/350581" show "$z" --json 2>/dev/null | json state 2>/dev/null)"
held_from_j() { "$REFCTL" --data "$T/350581" list --held --json | json held | "$PY" -c 'import json,sys
print(sum(1 for h in json.load(sys.stdin) if h.get("from", h.get("from_node")) == "350582"))'; }
quota_of() { "$REFCTL" --data "$T/350581" status --json | "$PY" -c 'import json,sys
q=[p for p in json.load(sys.stdin)["peer_quota"] if p["peer"]=="350582"]
print(q[0][sys.argv[1]] if q else 0)' "$1"; }
z_held() { [ "$(held_from_j)" -ge 1 ]; }
check "Jinjiang's RECEIVED for Z is held at Shishi, waiting for Z" wait_for 30 z_held
expect_eq "Shishi counts each held change of Jinjiang's once (peer_quota held = changes held)" \
	"$(held_from_j)" "$(quota_of held)"
sleep 3
expect_eq "no dead letters at Shishi after the second restore" 0 "$(dead 350581)"
expect_eq "no dead letters at Jinjiang after the second restore" 0 "$(dead 350582)"
stop 350581
check "Shishi's restored store passes its checks" "$REFCTL" --data "$T/350581" store check
start 350581

# A third restore: a move Shishi asked for after its backup (a cancel;
# the origin's move, applied by Jinjiang and confirmed back) comes back
# with the sync, and Jinjiang's confirmation then finds Shishi's ask: a
# change marked as the origin's stands at the origin only if it asked.
w=$(submit 350581 350582 "$T/app.json")
check "W: RECEIVED at Shishi" wait_for 30 in_state 350581 "$w" RECEIVED
"$REFCTL" --data "$T/350581" backup "$T/bk3" > /dev/null
check "a third backup of Shishi" test -f "$T/bk3/backup.json"
sleep 1
check "Shishi cancels W (the applicant withdrew)" "$REFCTL" --data "$T/350581" --actor staff-0107 cancel "$w" --reason "applicant withdrew"
check "W: CANCELLED at Shishi once Jinjiang confirms it" wait_for 30 in_state 350581 "$w" CANCELLED
stop 350581
out=$("$REFCTL" --data "$T/350581" restore "$T/bk3" 2>&1); rc=$?
expect_eq "third restore of Shishi: exit 0" 0 "$rc"
start 350581
w_back() { [ "$(states_of 350581 "$w")" = "$(states_of 350582 "$w")" ]; }
check "W is back at Shishi, CANCELLED, as at Jinjiang" wait_for 60 w_back
expect_eq "W: Shishi's state" CANCELLED "$(state_of 350581 "$w")"
expect_eq "Shishi refused no message about W" 0 \
	"$(grep "referral=$w" "$T/350581.log" | grep -c "receipt=REFUSED")"
finish
