# staff-identity.sh: staff are who their OS account says. refctl run by
# other OS accounts (setpriv, bare uids mapped in [staff] accounts): a
# staff account's calls work and its records name its mapped id; an
# --actor naming another person is refused with nothing changed; the
# admin role follows the account; an unmapped account is refused, unless
# it passes a gateway token (referral-gw's case); tokens are the
# operator's or an admin's to make; the staff group reaches the socket
# but not the data folder, the keys or the store. Bad [staff] settings
# stop the node at start with the entry named.
. "$(dirname "$0")/../lib.sh"

if [ "$(id -u)" != 0 ] || ! command -v setpriv >/dev/null; then
	echo "# SKIP the account part: it runs refctl as other OS accounts" \
	     "with setpriv, which needs root (this runs as uid $(id -u))"
	two_nodes
	start 350581
	out=$("$REFCTL" --data "$T/350581" --actor someone-01 status --json)
	check "the node's own account is the trusted local caller" test -n "$out"
	finish
fi

# Bare uids and a gid no account on this host holds: nothing to add or
# remove from the system's account database.
G=61700 SU=61701 AU=61702 XU=61703
for id in $SU $AU $XU; do
	if getent passwd "$id" >/dev/null; then
		not_ok "uid $id is taken on this host; the test needs it free"
		finish
	fi
done
as() { local u=$1; shift; setpriv --reuid="$u" --regid="$u" --groups="$G" -- "$REFCTL" --data "$T/350581" "$@"; }
outsider() { setpriv --reuid="$XU" --regid="$XU" --clear-groups -- "$@"; }

two_nodes
# Staff reach $T's nodes by name only; their fixture is theirs to read.
chmod 0711 "$T"
mkdir -m 0755 "$T/staff"
cp "$T/app.json" "$T/staff/app.json" && chmod 0644 "$T/staff/app.json"

# ---- bad [staff] settings: the node refuses to start, naming the entry
cp "$T/350581/referrald.conf" "$T/conf.good"
bad_start() {
	cp "$T/conf.good" "$T/350581/referrald.conf"
	printf '\n[staff]\naccounts = %s\n' "$1" >> "$T/350581/referrald.conf"
	out=$("$REFERRALD" --data "$T/350581" 2>&1); rc=$?
	check "[staff] accounts = $1: the node does not start" test "$rc" -ne 0
	expect_contains "and says why" "$2" "$out"
}
bad_start "nosuch-account-q7:reviewer-09" 'there is no OS account "nosuch-account-q7"'
bad_start "$SU" "is not ACCOUNT:STAFF-ID"
bad_start "$SU:reviewer-07, $SU:reviewer-08" "the OS account $SU is listed twice"
bad_start "0:root-01" "is root, which is the trusted local caller"
cp "$T/conf.good" "$T/350581/referrald.conf"
printf '\n[staff]\naccounts = %s\ngroup = nosuch-group-q7\n' "$SU:reviewer-07" >> "$T/350581/referrald.conf"
out=$("$REFERRALD" --data "$T/350581" 2>&1)
expect_contains "an unknown [staff] group: refused at start" '[staff] group = "nosuch-group-q7" is no group' "$out"

cp "$T/conf.good" "$T/350581/referrald.conf"
printf '\n[staff]\naccounts = %s:reviewer-07, %s:admin-07\ngroup = %s\n[roles]\nadmins = admin-07\n' \
	"$SU" "$AU" "$G" >> "$T/350581/referrald.conf"
start 350581
start 350582

# ---- the folders: the group reaches the socket, nothing else
expect_eq "the data folder: 0710, the staff group's" "710 $G" "$(stat -c '%a %g' "$T/350581")"
expect_eq "the socket folder: 0750, the staff group's" "750 $G" "$(stat -c '%a %g' "$T/350581/sock")"
expect_eq "the socket: 0660, the staff group's" "660 $G" "$(stat -c '%a %g' "$T/350581/sock/referrald.sock")"
for f in signing.key data.keys referrald.conf; do
	[ -e "$T/350581/$f" ] || { not_ok "no $f in the data folder to try"; continue; }
	out=$(setpriv --reuid="$SU" --regid="$SU" --groups="$G" -- cat "$T/350581/$f" 2>&1 >/dev/null); rc=$?
	check "a staff account cannot read $f" test "$rc" -ne 0
	expect_contains "$f: EACCES" "Permission denied" "$out"
done
out=$(setpriv --reuid="$SU" --regid="$SU" --groups="$G" -- ls "$T/350581/store" 2>&1); rc=$?
check "a staff account cannot list store/" test "$rc" -ne 0
expect_contains "store/: EACCES" "Permission denied" "$out"
out=$(setpriv --reuid="$SU" --regid="$SU" --groups="$G" -- cat "$T/350581/store/data.mdb" 2>&1 >/dev/null)
expect_contains "nor read store/data.mdb: EACCES" "Permission denied" "$out"
out=$(setpriv --reuid="$SU" --regid="$SU" --groups="$G" -- ls "$T/350581" 2>&1); rc=$?
check "nor list the data folder" test "$rc" -ne 0
expect_contains "the data folder: EACCES" "Permission denied" "$out"
out=$(outsider ls "$T/350581/sock" 2>&1)
expect_contains "an account outside the group cannot reach sock/" "Permission denied" "$out"

# ---- a staff account acts as its mapped id
out=$(as "$SU" call whoami --json)
expect_eq "whoami: the mapped staff id" "reviewer-07" "$(echo "$out" | json name)"
expect_eq "whoami: scope staff, no token" "staff false" "$(echo "$out" | json scope) $(echo "$out" | json token)"
id=$(as "$SU" submit --to 350582 "$T/staff/app.json" --json | json referral_id)
check "a staff account submits through the socket" test -n "$id"
actor=$("$REFCTL" --data "$T/350581" show "$id" --json | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["history"][0].get("actor",""))')
expect_eq "the history names the account's staff id" "reviewer-07" "$actor"
check "and the referral is delivered" wait_for 30 is_delivered 350581 "$id"
# The receiver's RECEIVED crosses back after delivery: read once it has, so
# that the two reads below see the same state.
check "and Jinjiang's RECEIVED is back at Shishi" wait_for 30 in_state 350581 "$id" RECEIVED
expect_eq "the staff account reads it back through the socket" "$(state_of 350581 "$id")" \
	"$(as "$SU" show "$id" --json | json state)"
expect_eq "its own id given as --actor: accepted" "reviewer-07" \
	"$(as "$SU" --actor reviewer-07 call whoami --json | json name)"

# ---- --actor naming someone else: refused, nothing changed
# Records that name a staff id (the peer's receipts may add others).
named() {
	"$REFCTL" --data "$T/350581" audit export --out "$T/named.jsonl" >/dev/null &&
	"$PY" -c 'import json,sys
print(sum(1 for r in map(json.loads, open(sys.argv[1])) if r.get("actor") == sys.argv[2]))' "$T/named.jsonl" "$1"
}
before_audit="$(named reviewer-07) $(named admin-07)"
check "the chain names reviewer-07 for the submission" test "${before_audit% *}" -ge 1
before_out=$("$REFCTL" --data "$T/350581" list --outbox --json | json referrals | "$PY" -c 'import json,sys; print(len(json.load(sys.stdin)))')
before_state=$(state_of 350581 "$id")
out=$(as "$SU" --actor admin-07 submit --to 350582 "$T/staff/app.json" 2>&1); rc=$?
check "a submit with --actor admin-07 from reviewer-07's account: refused" test "$rc" -ne 0
expect_contains "naming both" "--actor admin-07 names another person; the OS account uid $SU is staff id reviewer-07" "$out"
out=$(as "$SU" --actor admin-07 cancel "$id" --reason "示例原因" 2>&1); rc=$?
check "a move as admin-07 from reviewer-07's account: refused" test "$rc" -ne 0
expect_contains "the same refusal" "names another person" "$out"
out=$(as "$SU" --actor admin-07 rotate-data-key 2>&1); rc=$?
check "rotate-data-key as admin-07 from reviewer-07's account: refused" test "$rc" -ne 0
expect_contains "names another person, not the admin role" "names another person" "$out"
expect_eq "nothing was stored: the outbox" "$before_out" \
	"$("$REFCTL" --data "$T/350581" list --outbox --json | json referrals | "$PY" -c 'import json,sys; print(len(json.load(sys.stdin)))')"
expect_eq "nothing was stored: the referral's state" "$before_state" "$(state_of 350581 "$id")"
expect_eq "nothing was stored: no audit record by either id" "$before_audit" "$(named reviewer-07) $(named admin-07)"
expect_contains "the refusal is in the log" "asked to act as admin-07" "$(cat "$T/350581.log")"

# ---- the admin role follows the account
out=$(as "$SU" rotate-data-key 2>&1); rc=$?
check "reviewer-07 cannot rotate the data key" test "$rc" -ne 0
expect_contains "the admin role is named" "needs the admin role" "$out"
out=$(as "$SU" token create --name clerk-09 --scope admin 2>&1); rc=$?
check "reviewer-07 cannot make itself an admin token" test "$rc" -ne 0
expect_contains "tokens are the operator's or an admin's" "tokens and directories are managed by" "$out"
out=$(as "$AU" rotate-data-key 2>&1); rc=$?
check "admin-07's account rotates the data key" test "$rc" -eq 0
tok=$(as "$AU" token create --name clerk-09 --scope staff --json | json token)
check "admin-07's account makes a staff token" test -n "$tok"
"$REFCTL" --data "$T/350581" audit export --out "$T/audit.jsonl" >/dev/null
by() { "$PY" -c 'import json,sys
print(",".join(sorted({r["actor"] for r in map(json.loads, open(sys.argv[1])) if r["event"] == sys.argv[2]})))' "$T/audit.jsonl" "$1"; }
expect_eq "the audit chain: the data key rotated by admin-07" "admin-07" "$(by data_key_rotated)"
expect_eq "the audit chain: the token made by admin-07" "admin-07" "$(by token_created)"

# ---- an unmapped account
out=$(setpriv --reuid="$XU" --regid="$XU" --groups="$G" -- "$REFCTL" --data "$T/350581" status 2>&1); rc=$?
check "an account not in [staff] accounts: refused" test "$rc" -ne 0
expect_contains "naming the account" "the OS account uid $XU is not a staff account of this node" "$out"
out=$(setpriv --reuid="$XU" --regid="$XU" --groups="$G" -- "$REFCTL" --data "$T/350581" --actor admin-07 submit --to 350582 "$T/staff/app.json" 2>&1); rc=$?
check "nor can it submit as admin-07" test "$rc" -ne 0
expect_eq "the unmapped account stored nothing" "$before_out" \
	"$("$REFCTL" --data "$T/350581" list --outbox --json | json referrals | "$PY" -c 'import json,sys; print(len(json.load(sys.stdin)))')"
# The gateway's case: an account of its own, each caller's token passed on.
out=$(setpriv --reuid="$XU" --regid="$XU" --groups="$G" -- "$REFCTL" --data "$T/350581" call whoami --token "$tok" --json)
expect_eq "with a token, the unmapped account acts as the token's holder" "clerk-09 staff" \
	"$(echo "$out" | json name) $(echo "$out" | json scope)"

# A client that names itself in the ZMTP handshake (a "Peer-Address" of
# root in its READY command) is still the account the kernel names.
cat > "$T/staff/forge.py" <<'PY'
import socket, struct, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(20)
s.connect(sys.argv[1])
def read(k):
    b = b""
    while len(b) < k:
        c = s.recv(k - len(b))
        if not c: sys.exit("the node closed the connection")
        b += c
    return b
# As a ZMTP 3.1 REQ with the NULL mechanism, step by step: the greetings,
# then each side's READY (ours with the forged property), then a request.
s.sendall(b"\xff" + b"\0" * 8 + b"\x7f" + bytes([3, 1]) + b"NULL".ljust(20, b"\0") + b"\0" * 32)
read(64)
def prop(n, v): return bytes([len(n)]) + n + struct.pack(">I", len(v)) + v
ready = b"\x05READY" + prop(b"Socket-Type", b"REQ") + prop(b"Peer-Address", b":0:0:1")
s.sendall(bytes([0x04, len(ready)]) + ready)
flags, size = read(2)
read(size if not flags & 0x02 else struct.unpack(">Q", bytes([size]) + read(7))[0])
req = b"\x10\x01" + b"\x3a\x08admin-07"      # op = OP_STATUS, actor = admin-07
s.sendall(b"\x01\x00" + bytes([0x00, len(req)]) + req)
got = b""
try:
    while b"staff account" not in got:
        chunk = s.recv(4096)
        if not chunk: break
        got += chunk
except socket.timeout:
    pass
sys.stdout.write(got.decode("utf-8", "replace"))
PY
out=$(setpriv --reuid="$XU" --regid="$XU" --groups="$G" -- "$PY" "$T/staff/forge.py" "$T/350581/sock/referrald.sock" 2>&1)
expect_contains "a client claiming root in its handshake is still refused as uid $XU" \
	"the OS account uid $XU is not a staff account" "$out"

# The gateway itself under that account: it reads the operations list
# without a token, and each HTTP caller's token says who acts.
port=$(free_port)
printf '[daemon]\nlog_level = info\n' > "$T/gw.conf"
setpriv --reuid="$XU" --regid="$XU" --groups="$G" -- "$BUILD/client/referral-gw" \
	--data "$T/350581" --listen "127.0.0.1:$port" --config "$T/gw.conf" 2>> "$T/gw.log" &
PIDS+=($!)
get() { "$PY" - "http://127.0.0.1:$port$1" "$2" <<'PY'
import sys, urllib.request, urllib.error
req = urllib.request.Request(sys.argv[1])
if sys.argv[2]: req.add_header("Authorization", "Bearer " + sys.argv[2])
try:
    r = urllib.request.urlopen(req, timeout=10); print(r.status); print(r.read().decode())
except urllib.error.HTTPError as e:
    print(e.code); print(e.read().decode())
PY
}
gw_up() { [ "$(get /openapi.json "" | head -1)" = 200 ]; }
check "referral-gw runs under an unmapped account of the staff group" wait_for 20 gw_up
out=$(get "/v1/referrals/$id" "$tok")
expect_eq "through it, clerk-09's token reads the referral" 200 "$(echo "$out" | head -1)"
expect_eq "with its state" "$(state_of 350581 "$id")" "$(echo "$out" | tail -n +2 | json state)"
expect_eq "without a token: 401" 401 "$(get "/v1/referrals/$id" "" | head -1)"
"$REFCTL" --data "$T/350581" audit export --out "$T/audit.jsonl" >/dev/null
expect_eq "the read is on record as clerk-09's, the token's name" "clerk-09" "$(by read)"

# ---- the node's own account (root here) is the trusted local caller
expect_eq "root's --actor is taken as given" "someone-01" \
	"$("$REFCTL" --data "$T/350581" --actor someone-01 call whoami --json | json name)"
finish
