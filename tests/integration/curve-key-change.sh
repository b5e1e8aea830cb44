# curve-key-change.sh: the directory as the authority's node publishes it.
# A directory that does not list the publishing node as it is (missing,
# or with another CURVE key) is refused at publishing, and nothing
# changes: no file, no version, nothing sent. Then a new directory that
# changes one node's CURVE key and nothing else: a session opened under
# the old key drops at once and the old key is refused at the handshake;
# under the new key the node's referrals go both ways.
. "$(dirname "$0")/../lib.sh"
authority
node 350581 "石狮市法律援助中心"
node 350582 "晋江市法律援助中心"
authority_node
directory 1 350500 350581 350582
"$REFCTL" example application > "$T/app.json"

make_dir() { # VERSION OUT ENTRY-FILE...: a signed directory, not installed
	local version=$1 out=$2; shift 2
	"$REFCTL" directory assemble --version "$version" --authority 350500 \
		--out "$out" "$@" &&
	"$REFCTL" directory sign --key "$T/authority/authority.key" "$out" >/dev/null
}
version_of() { "$REFCTL" --data "$T/$1" directory show --json | json version; }
has_version() { [ "$(version_of "$1")" = "$2" ]; }
pending_of() { "$REFCTL" --data "$T/$1" status --json | json outbox.pending; }
applied_of() { # CODE: directory_applied records in the node's audit chain
	"$REFCTL" --data "$T/$1" audit export --out "$T/$1-a.jsonl" >/dev/null &&
		grep -c '"event":"directory_applied"' "$T/$1-a.jsonl"
}
# fresh_curve CODE: a new CURVE pair in $T/fresh-CODE (refctl init makes
# one), and CODE's entry with that public key in $T/CODE.new.json.
fresh_curve() {
	"$REFCTL" init --data "$T/fresh-$1" --node "$1" --name x \
		--listen "$(listen_of "$1")" \
		--authority "$T/authority/authority.pub.pem" > "$T/fresh-$1.json" || exit 1
	"$PY" - "$T/$1.entry.json" "$T/fresh-$1.json" "$T/$1.new.json" <<'PY'
import json, sys
e = json.load(open(sys.argv[1]))
e["curve_public_key"] = json.load(open(sys.argv[2]))["curve_public_key"]
json.dump(e, open(sys.argv[3], "w"), ensure_ascii=False, indent=2)
PY
}

start 350500
start 350581
start 350582
id=$(submit 350581 350582 "$T/app.json")
check "a referral goes through under version 1" wait_for 15 is_delivered 350581 "$id"

# ---- publishing a directory that does not list the authority's node
sum_before=$(sha256sum "$T/350500/directory.json" | cut -d' ' -f1)
applied_before=$(applied_of 350500)
pending_before=$(pending_of 350500)
make_dir 2 "$T/no-self.json" "$T/350581.entry.json" "$T/350582.entry.json"
out=$("$REFCTL" --data "$T/350500" --actor admin-01 directory publish "$T/no-self.json" 2>&1); rc=$?
check "a directory without the authority's node: publish exits non-zero" test "$rc" -ne 0
expect_contains "and names the node and what to do" "this node (350500) is not in the directory" "$out"
fresh_curve 350500
make_dir 2 "$T/other-curve.json" "$T/350500.new.json" "$T/350581.entry.json" "$T/350582.entry.json"
out=$("$REFCTL" --data "$T/350500" --actor admin-01 directory publish "$T/other-curve.json" 2>&1); rc=$?
check "a directory with another CURVE key for the authority's node: non-zero exit" test "$rc" -ne 0
expect_contains "and says which key" "lists another CURVE key for this node (350500)" "$out"
expect_eq "the authority's node keeps version 1" 1 "$(version_of 350500)"
expect_eq "and the same file" "$sum_before" "$(sha256sum "$T/350500/directory.json" | cut -d' ' -f1)"
expect_eq "no directory_applied record" "$applied_before" "$(applied_of 350500)"
expect_eq "nothing was queued to send" "$pending_before" "$(pending_of 350500)"
expect_eq "Shishi keeps version 1" 1 "$(version_of 350581)"

# ---- Jinjiang's CURVE key changes, and nothing else
cp -a "$T/350582" "$T/old-350582"    # its old CURVE key, for a session
rm -f "$T/go"
"$PEERSIM" --data "$T/old-350582" --to 350581 --case session --hold-until "$T/go" \
	--timeout 4000 > "$T/session.out" &
sim=$!
check "a session under Jinjiang's old key is open at Shishi" \
	wait_for 10 grep -q "status=STORED" "$T/session.out"
fresh_curve 350582
make_dir 2 "$T/v2.json" "$T/350500.entry.json" "$T/350581.entry.json" "$T/350582.new.json"
expect_eq "version 2 differs from version 1 in Jinjiang's CURVE key only (and its version and date)" \
	'["nodes.2.curve_public_key"]' "$("$PY" - "$T/directory.json" "$T/v2.json" <<'PY'
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:])
def flat(v, p=""):
    if isinstance(v, dict): return {k2: v2 for k, x in v.items() for k2, v2 in flat(x, p + k + ".").items()}
    if isinstance(v, list): return {k2: v2 for i, x in enumerate(v) for k2, v2 in flat(x, p + str(i) + ".").items()}
    return {p[:-1]: v}
fa, fb = flat(a), flat(b)
print(json.dumps(sorted(k for k in set(fa) | set(fb) if fa.get(k) != fb.get(k) and k not in ("version", "issued_at"))))
PY
)"
# Jinjiang takes its new pair and the new directory while it is down;
# Shishi learns of it from the authority's node.
stop 350582
cp "$T/fresh-350582/curve.json" "$T/350582/curve.json"
cp "$T/v2.json" "$T/350582/directory.json"
cp "$T/v2.json.sig" "$T/350582/directory.json.sig"
out=$("$REFCTL" --data "$T/350500" --actor admin-01 directory publish "$T/v2.json"); rc=$?
expect_eq "publish version 2: exit 0" 0 "$rc"
check "Shishi applies version 2" wait_for 15 has_version 350581 2
check "the session under the old key is dropped at once" wait_for 10 grep -q DISCONNECTED "$T/session.out"
touch "$T/go"
wait "$sim"
expect_contains "its next message is refused at the handshake" "HANDSHAKE_REFUSED" "$(cat "$T/session.out")"
expect_contains "and never stored" "NO_RECEIPT" "$(tail -n 1 "$T/session.out")"
out=$("$PEERSIM" --data "$T/old-350582" --to 350581 --case good --timeout 3000)
expect_eq "a new connection under the old key gets no receipt" NO_RECEIPT "$out"
expect_contains "Shishi's log names the refused key" \
	"curve_key=$(json curve_public_key < "$T/350582.entry.json")" "$(cat "$T/350581.log")"
start 350582
expect_eq "Jinjiang starts on its new key and version 2" 2 "$(version_of 350582)"
id2=$(submit 350581 350582 "$T/app.json")
check "Shishi's referral reaches Jinjiang under the new key" wait_for 30 is_delivered 350581 "$id2"
check "and Jinjiang's RECEIVED comes back" wait_for 30 in_state 350581 "$id2" RECEIVED
id3=$(submit 350582 350581 "$T/app.json")
check "Jinjiang's referral reaches Shishi under the new key" wait_for 30 is_delivered 350582 "$id3"
none_pending() { [ "$(pending_of "$1")" = 0 ]; }
check "the authority's node delivered version 2 to Jinjiang too" \
	wait_for 30 none_pending 350500
expect_eq "each stored once at Jinjiang" 1 "$(events_of 350582 "$id2" received)"
finish
