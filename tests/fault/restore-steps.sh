# restore-steps.sh: `refctl restore` killed at each of its steps. strace
# kills it at each rename and each sync it makes, in turn (the steps are
# read from one whole restore first). After every kill the node starts on
# either the store that was in force (it holds everything) or the marked
# restored copy (it announces the restore, and its peer sends again what
# it lost): never on an unmarked old store, which would hold 5 of 10 with
# nobody asked to resend. What a kill leaves behind is put aside, and
# said, by the next restore. Nothing acknowledged is lost or doubled.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/common.sh"
command -v strace >/dev/null || { echo "SKIP: strace is not installed (apt-get install strace)"; exit 77; }
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
has10() { [ "$(inbox_count 350582)" = 10 ]; }
calls="rename,renameat,renameat2,fsync,fdatasync,msync"
# LeakSanitizer cannot run under ptrace: off for refctl under strace only.
asan_opts="${ASAN_OPTIONS:-}:detect_leaks=0"

# The steps: the renames and syncs of one whole restore, in order.
stop 350582
ASAN_OPTIONS=$asan_opts strace -f -qq -o "$T/steps.txt" -e trace="$calls" \
	"$REFCTL" --data "$T/350582" restore "$T/bk" > "$T/restore.out" 2>&1
expect_eq "a whole restore under strace: exit 0" 0 "$?"
expect_contains "its output says the count follows from the peers" \
	"how many audit records past the backup" "$(cat "$T/restore.out")"
expect_contains "and that referrals no peer holds are gone" "are gone" \
	"$(cat "$T/restore.out")"
mapfile -t steps < <(sed -n 's/^[0-9]* *\([a-z0-9]*\)(.*/\1/p' "$T/steps.txt")
echo "# the restore's steps: ${steps[*]}"
check "at least a sync, the switch and the move aside" \
	test "${#steps[@]}" -ge 3
start 350582
check "the whole restore: Jinjiang gets everything back (10)" wait_for 30 has10
stop 350582

declare -A seen_call=()
k=0
for call in "${steps[@]}"; do
	k=$((k + 1))
	seen_call[$call]=$(( ${seen_call[$call]:-0} + 1 ))
	when=${seen_call[$call]}
	ASAN_OPTIONS=$asan_opts strace -f -qq -o /dev/null -e trace="$call" \
		-e inject="$call":signal=KILL:when="$when" \
		"$REFCTL" --data "$T/350582" restore "$T/bk" > "$T/restore.out" 2>&1
	rc=$?
	check "step $k ($call #$when): the restore was killed there" test "$rc" -ne 0
	if [ -d "$T/350582/store.restoring" ]; then left=yes; else left=no; fi
	lines=$(wc -l < "$T/350582.log")
	start 350582
	if [ "$left" = yes ]; then
		expect_contains "step $k left store.restoring: the node's start reports it" \
			"store.restoring was left by a refctl restore cut short" \
			"$(tail -n +"$((lines + 1))" "$T/350582.log")"
	fi
	check "after the kill at step $k: Jinjiang holds all 10 (old store, or restored and sent again)" \
		wait_for 30 has10
	stop 350582
	if [ "$left" = yes ]; then
		"$REFCTL" --data "$T/350582" restore "$T/bk" > "$T/restore.out" 2>&1
		expect_contains "step $k left store.restoring: the next restore puts it aside and says so" \
			"put aside as" "$(cat "$T/restore.out")"
		check "and that restore finishes" test ! -d "$T/350582/store.restoring"
		start 350582
		check "after it, Jinjiang holds all 10 again" wait_for 30 has10
		stop 350582
	fi
done
start 350582
sleep 2
expect_eq "each stored and applied exactly once" ok "$(exactly_once 350581 350582 "$T/acked.txt")"
stop 350582
check "the store in force passes its checks" "$REFCTL" --data "$T/350582" store check
start 350582
finish
