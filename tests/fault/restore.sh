# restore.sh: a receiver restored from a backup has lost what it received
# after the backup, while its peer holds its receipts for it. Started from
# the restore, it asks each peer (a signed checkpoint marked restored) to
# send again what it receipted after the backup; each arrives and is
# stored once: nothing lost, nothing doubled.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/common.sh"
two_nodes
fault_apps
start 350581
start 350582
: > "$T/acked.txt"
"$BUILD/tests/fault-submit" "$T/350581" 350582 5 "$T/acked.txt" \
	"$T/ordinary.json" "$T/green.json" "$T/urgent.json" > /dev/null
check "the first 5 arrive" wait_for 30 all_received 350581 "$T/acked.txt"
"$REFCTL" --data "$T/350582" backup "$T/bk" > /dev/null
check "a backup of Jinjiang" test -f "$T/bk/backup.json"
sleep 1
"$BUILD/tests/fault-submit" "$T/350581" 350582 5 "$T/acked.txt" \
	"$T/ordinary.json" "$T/green.json" "$T/urgent.json" > /dev/null
check "5 more arrive after it" wait_for 30 all_received 350581 "$T/acked.txt"
expect_eq "Jinjiang holds 10" 10 "$(inbox_count 350582)"
out=$("$REFCTL" --data "$T/350582" restore "$T/bk" 2>&1); rc=$?
check "a restore while the node runs is refused" test "$rc" -ne 0
expect_contains "saying so" "stop it before a restore" "$out"
stop 350582
out=$("$REFCTL" --data "$T/350582" restore "$T/bk" 2>&1); rc=$?
expect_eq "restore, the node stopped: exit 0" 0 "$rc"
check "the replaced store is kept aside" bash -c "ls -d '$T'/350582/store.replaced-* >/dev/null"
start 350582
has10() { [ "$(inbox_count 350582)" = 10 ]; }
check "Shishi sends again what Jinjiang lost: it holds all 10" wait_for 30 has10
expect_contains "Shishi says why" "was restored from a backup" "$(cat "$T/350581.log")"
"$REFCTL" --data "$T/350582" audit export --out "$T/j.jsonl" >/dev/null
check "the restore is in Jinjiang's audit chain" grep -q '"event":"restored"' "$T/j.jsonl"
sleep 2
expect_eq "each stored and applied exactly once" ok "$(exactly_once 350581 350582 "$T/acked.txt")"
check "the restored store passes its checks" "$REFCTL" --data "$T/350582" store check
finish
