# key-revocation.sh: old and revoked signing keys.
#
# A stolen old key, back-dated: after a rotation the old key k1 stays in
# the directory until its not_after, and a message is judged by the key
# valid at its created_at_ms. So whoever holds k1 can date a message
# before k1's not_after: accepted while it is inside the replay window
# (by design), refused STALE once message_lifetime_ms has passed since
# not_after, whatever date it carries (and UNKNOWN_KEY if dated later).
#
# Revoking one key, the node staying: a directory that drops k1 while
# listing k2 makes every k1 message UNKNOWN_KEY at once, even inside its
# window, and the node goes on under k2. A directory that drops the key a
# node signs with is taken if it lists the node's next key (refctl
# rotate-keys): the node switches to it before it signs anything more;
# without one it is refused, and the node says what to do.
. "$(dirname "$0")/../lib.sh"
LIFE=300000
two_nodes "message_lifetime_ms = $LIFE"
cp -a "$T/350581" "$T/old-350581"   # k1, as a thief would have it
start 350581
start 350582
key_of() { "$REFCTL" --data "$T/$1" status --json | json key_id; }
version_of() { "$REFCTL" --data "$T/$1" directory show --json | json version; }
has_version() { [ "$(version_of "$1")" = "$2" ]; }
status_of() { sed -n 1p | sed 's/.*status=\([A-Z_]*\).*/\1/'; }
now_ms() { "$PY" -c 'import time; print(int(time.time() * 1000))'; }
# entry KEY_ID...: Shishi's entry listing only those signing keys.
entry() {
	"$PY" - "$T/350581.full.json" "$T/350581.entry.json" "$@" <<'PY'
import json, sys
e = json.load(open(sys.argv[1]))
e["signing_keys"] = [k for k in e["signing_keys"] if k["key_id"] in sys.argv[3:]]
json.dump(e, open(sys.argv[2], "w"), ensure_ascii=False, indent=2)
PY
}
install() { # VERSION: the directory with the entries as they are, on both
	directory "$1" 350581 350582
	kill -HUP "$PID_350581" "$PID_350582"
	wait_for 15 has_version 350581 "$1" && wait_for 15 has_version 350582 "$1"
}
# k1 OFFSET CREATED_MS [ARGS]: a fresh referral signed with k1, dated
# CREATED_MS, sent to Jinjiang by a peer whose clock is OFFSET ahead.
k1() {
	local off=$1 at=$2; shift 2
	REFERRAL_CLOCK_OFFSET_MS=$off "$PEERSIM" --data "$T/old-350581" --to 350582 \
		--case good --back-ms $(( $(now_ms) + off - at )) "$@"
}

# ---- the rotation: k2 in force, k1 retired a few seconds later
"$REFCTL" --data "$T/350581" rotate-keys --switch-after 0s --overlap 3s > "$T/350581.full.json" ||
	{ not_ok "rotate-keys failed"; finish; }
cp "$T/350581.full.json" "$T/350581.entry.json"
check "version 2 lists k1 and k2" install 2
signs_with() { [ "$(key_of "$1")" = "$2" ]; }
check "Shishi signs with k2" wait_for 10 signs_with 350581 350581-k2
k1_end=$("$PY" -c 'import json,sys,datetime
for k in json.load(open(sys.argv[1]))["signing_keys"]:
    if k["key_id"] == "350581-k1":
        print(int(datetime.datetime.fromisoformat(k["not_after"].replace("Z", "+00:00")).timestamp() * 1000))' "$T/350581.full.json")
past_k1() { [ "$(now_ms)" -gt "$k1_end" ]; }
check "k1's not_after passes" wait_for 30 past_k1

out=$(k1 0 $(( $(now_ms) )))
expect_eq "k1 dated now, after its not_after: UNKNOWN_KEY" UNKNOWN_KEY "$(echo "$out" | status_of)"
out=$(k1 0 $((k1_end - 2000)))
expect_eq "k1 back-dated into its window, inside the lifetime: STORED (by design)" STORED "$(echo "$out" | status_of)"

# ---- the bound: message_lifetime_ms after k1's not_after, nothing works
stop 350582
OFF=$(( k1_end + LIFE + 5000 - $(now_ms) ))
REFERRAL_CLOCK_OFFSET_MS=$OFF start 350582
out=$(k1 "$OFF" $((k1_end - 2000)))
echo "$out"
expect_eq "past not_after + lifetime, k1 back-dated into its window: STALE" STALE "$(echo "$out" | status_of)"
expect_contains "and says why" "older than the lifetime" "$out"
out=$(k1 "$OFF" $((k1_end - 200000)))
expect_eq "dated further back: STALE too" STALE "$(echo "$out" | status_of)"
out=$(k1 "$OFF" $((k1_end + 1000)))
expect_eq "dated after not_after: UNKNOWN_KEY" UNKNOWN_KEY "$(echo "$out" | status_of)"
expect_eq "Jinjiang stored only the one inside the window" 1 "$(inbox_count 350582)"
stop 350582
start 350582    # the right time again

# ---- revoking k1 alone: Shishi stays, under k2
entry 350581-k2
check "version 3 drops k1 and keeps k2" install 3
cp "$T/directory.json" "$T/v3.json"; cp "$T/directory.json.sig" "$T/v3.json.sig"
out=$(k1 0 $((k1_end - 2000)))
expect_eq "k1 inside its window and the lifetime, after the revocation: UNKNOWN_KEY" \
	UNKNOWN_KEY "$(echo "$out" | status_of)"
expect_contains "naming the key" "350581-k1 is not a valid key of 350581" "$out"
expect_eq "Shishi still signs with k2" 350581-k2 "$(key_of 350581)"
a=$(submit 350581 350582 "$T/app.json")
check "and its referrals go through" wait_for 20 is_delivered 350581 "$a"
expect_eq "Jinjiang stored nothing under k1 since" 2 "$(inbox_count 350582)"

# ---- revoking the key Shishi signs with: without a next key, refused
entry 350581-k1
directory 4 350581 350582
kill -HUP "$PID_350581"
check "Shishi refuses version 4, which drops its own key" \
	wait_for 10 grep -q "reload refused, keeping version 3" "$T/350581.log"
expect_contains "and says what to do" "refctl rotate-keys --switch-after 0s" "$(cat "$T/350581.log")"
expect_eq "Shishi keeps version 3" 3 "$(version_of 350581)"

# ---- with a next key listed in its place: taken, and Shishi switches
# (the refused file copied in by hand goes; version 3 is the one in force)
cp "$T/v3.json" "$T/350581/directory.json"; cp "$T/v3.json.sig" "$T/350581/directory.json.sig"
cp -a "$T/350581" "$T/k2-350581"   # k2, to try it after its revocation
"$REFCTL" --data "$T/350581" rotate-keys --switch-after 0s --overlap 1h > "$T/350581.full.json" ||
	{ not_ok "the second rotate-keys failed"; finish; }
entry 350581-k3
check "version 5 drops k2 (and k1) and lists k3: both nodes take it" install 5
check "Shishi switches to k3" wait_for 10 signs_with 350581 350581-k3
"$REFCTL" --data "$T/350581" audit export --out "$T/s.jsonl" >/dev/null
check "the switch is in Shishi's audit chain" grep -q '"event":"key_rotated".*"detail":"350581-k2 -> 350581-k3"' "$T/s.jsonl"
b=$(submit 350581 350582 "$T/app.json")
check "Shishi's referrals go through under k3" wait_for 20 is_delivered 350581 "$b"
out=$("$PEERSIM" --data "$T/k2-350581" --to 350582 --case good)
expect_eq "a message under the revoked k2: UNKNOWN_KEY" UNKNOWN_KEY "$(echo "$out" | status_of)"
stop 350581
start 350581
expect_eq "Shishi restarts on k3" 350581-k3 "$(key_of 350581)"
finish
