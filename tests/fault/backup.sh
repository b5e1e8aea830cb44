# backup.sh: `refctl backup DIR` takes a consistent copy while the node
# serves under load; the copy passes `refctl store check`; a node started
# on it runs. A corrupt or truncated store stops the node at start, saying
# so, with nothing changed; `refctl store check` names the bad record.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/common.sh"
two_nodes
fault_apps
start 350581
start 350582
"$BUILD/tests/fault-submit" "$T/350581" 350582 0 "$T/acked.txt" \
	"$T/ordinary.json" "$T/green.json" "$T/urgent.json" 0 0 "$T/stop" > "$T/load.out" 2>&1 &
load=$!
sleep 1
out=$("$REFCTL" --data "$T/350581" backup "$T/bk" 2>&1); rc=$?
expect_eq "a backup while the node serves under load: exit 0" 0 "$rc"
expect_contains "checked before it is called good" "checked" "$out"
touch "$T/stop"; wait "$load"
out=$("$REFCTL" --data "$T/350581" backup "$T/bk" 2>&1); rc=$?
check "a second backup into the same folder is refused" test "$rc" -ne 0
expect_contains "saying so" "holds a store already" "$out"
expect_eq "the private keys are not in it" "" "$(ls "$T/bk" | grep -E 'signing.key|curve.json|data.keys')"
check "the backup's own record says what it holds" test "$(json records < "$T/bk/backup.json")" -gt 0
check "all acknowledged delivered" wait_for 60 all_received 350581 "$T/acked.txt"

# A node restored from the backup: its store, with the keys kept apart.
mkdir -p "$T/restored"
cp -a "$T/350581/." "$T/restored/"
rm -rf "$T/restored/store"
cp -a "$T/bk/store" "$T/restored/store"
rm -rf "$T/restored/sock" "$T/restored/referrald.lock"
check "the restored store passes store check" "$REFCTL" --data "$T/restored" store check
stop 350581
"$REFERRALD" --data "$T/restored" 2>> "$T/restored.log" &
rpid=$!
check "a node starts on it" wait_for 10 "$REFCTL" --data "$T/restored" status --json
kill -TERM "$rpid"; wait "$rpid"

# ---- a corrupt store, and a truncated one
# The backup is compacted (no free pages), so a byte changed in a record's
# key is in a record the node would read: a referral id's last hex digit,
# in a key of its own (LMDB's node header gives the key's length, 39, just
# before it) on a leaf page, above the page's free gap (between its
# header's lower and upper bounds), where a stale copy may lie that no
# record covers. Sealed values carry the id too.
cp -a "$T/restored" "$T/corrupt"
rm -rf "$T/corrupt/store"
cp -a "$T/bk/store" "$T/corrupt/store"
"$PY" - "$T/corrupt/store/data.mdb" <<'PY'
import sys
p = sys.argv[1]; b = bytearray(open(p, "rb").read())
import os, struct
page = os.sysconf("SC_PAGE_SIZE")
i = len(b)
while True:
    i = b.rfind(b"\x27\x00350581-01", 0, i)
    if i < 0:
        sys.exit("no referral id in a key")
    start = i - i % page
    flags, lower, upper = struct.unpack_from("<HHH", b, start + 10)
    if flags & 0x02 and i % page >= upper:
        break
i += 2
b[i + 38] ^= 0x01
open(p, "wb").write(b)
PY
sum=$(sha256sum "$T/corrupt/store/data.mdb" | cut -d' ' -f1)
out=$("$REFCTL" --data "$T/corrupt" store check 2>&1); rc=$?
check "store check catches a changed byte: non-zero exit" test "$rc" -ne 0
expect_contains "naming what fails" "fails its checks" "$out"
out=$(timeout 10 "$REFERRALD" --data "$T/corrupt" 2>&1); rc=$?
expect_eq "the node refuses to start on it" 1 "$rc"
expect_contains "and says so" "refusing to start" "$out"
expect_eq "nothing was changed" "$sum" "$(sha256sum "$T/corrupt/store/data.mdb" | cut -d' ' -f1)"
cp -a "$T/restored" "$T/short"
rm -rf "$T/short/store"
cp -a "$T/bk/store" "$T/short/store"
size=$(stat -c %s "$T/short/store/data.mdb")
truncate -s $((size / 2)) "$T/short/store/data.mdb"
out=$(timeout 10 "$REFERRALD" --data "$T/short" 2>&1); rc=$?
expect_eq "a truncated store: the node refuses to start" 1 "$rc"
expect_contains "and says so" "the file was truncated" "$out"
expect_eq "nothing was changed" $((size / 2)) "$(stat -c %s "$T/short/store/data.mdb")"
finish
