# disk.sh: the disk fails under the node (strace injects the errors into
# the real system calls). fdatasync returns EIO: the node stops with a
# clear message rather than acknowledge what may be lost, and restarts
# intact. Writes fail with ENOSPC for a while: the node keeps running,
# what it could not commit is not acknowledged (the client is told to
# retry), and once space returns everything goes on; every acknowledged
# referral arrives exactly once. The LMDB map at its limit is store-full.sh.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/common.sh"
command -v strace >/dev/null || { echo "SKIP: strace is not installed (apt-get install strace)"; exit 77; }
two_nodes
fault_apps
start 350582
# ---- EIO from fdatasync, after the node has started and taken some work
under_strace 350581 -e trace=fdatasync -e inject=fdatasync:error=EIO:when=40+
"$BUILD/tests/fault-submit" "$T/350581" 350582 60 "$T/acked.txt" \
	"$T/ordinary.json" "$T/green.json" "$T/urgent.json" > "$T/load1.out" 2>&1 &
load=$!
stopped() { ! kill -0 "$PID_350581" 2>/dev/null; }
check "the node stops on EIO" wait_for 30 stopped
expect_contains "saying why" "could not be synced to disk (EIO" "$(cat "$T/350581.log")"
kill "$load" 2>/dev/null; wait "$load" 2>/dev/null
acked=$(wc -l < "$T/acked.txt")
echo "$acked acknowledged before the disk failed"
check "some work was acknowledged before it" test "$acked" -gt 0
start 350581
check "it restarts intact: the store passes its checks" "$REFCTL" --data "$T/350581" store check
check "and delivers what it acknowledged" wait_for 60 all_received 350581 "$T/acked.txt"
expect_eq "each exactly once" ok "$(exactly_once 350581 350582 "$T/acked.txt")"

# ---- ENOSPC on writes for a window, then space returns
stop 350581
under_strace 350581 -e trace=pwrite64 -e inject=pwrite64:error=ENOSPC:when=30..90
"$BUILD/tests/fault-submit" "$T/350581" 350582 80 "$T/acked.txt" \
	"$T/ordinary.json" "$T/green.json" "$T/urgent.json" > "$T/load2.out" 2>&1
cat "$T/load2.out"
# Two outcomes are right: a failed commit of pages leaves LMDB usable and
# the node goes on; a failed write of LMDB's meta page leaves it unusable
# until reopened, and the node stops, saying so, and restarts intact.
if kill -0 "$PID_350581" 2>/dev/null; then
	ok "the node kept running through ENOSPC"
	check "it logged the failed commits" grep -q "commit failed" "$T/350581.log"
else
	expect_contains "the node stopped, saying why" "stopping: the store could not be synced" "$(cat "$T/350581.log")"
	start 350581
	ok "and restarted once space returned"
fi
check "everything acknowledged arrives once space returns" wait_for 60 all_received 350581 "$T/acked.txt"
expect_eq "each exactly once" ok "$(exactly_once 350581 350582 "$T/acked.txt")"
# SIGTERM goes to the daemon itself: strace passes it on, but not always.
if [ "$(ps -o comm= -p "$PID_350581")" = strace ]; then
	pkill -TERM -P "$PID_350581"    # the daemon, not strace, which would detach
else
	kill -TERM "$PID_350581"        # restarted without strace
fi
wait "$PID_350581" 2>/dev/null
check "the store passes its checks" "$REFCTL" --data "$T/350581" store check
finish
