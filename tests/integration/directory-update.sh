# directory-update.sh: the authority's node publishes a signed directory
# (DIRECTORY_UPDATE) to every node; each applies only a correctly signed,
# higher version, keeps it across a restart, and re-pins its peers. A
# lower, replayed, tampered or foreign-signed directory is refused with a
# receipt naming why, and nothing changes. A node removed from the
# directory loses its open session at once and its next message is refused.
# The one in force sent again is DUPLICATE; a file merely copied in is not.
. "$(dirname "$0")/../lib.sh"
authority
node 350581 "石狮市法律援助中心"
node 350582 "晋江市法律援助中心"
node 350583 "南安市法律援助中心"
# The authority's own node, which publishes.
authority_node
directory 1 350500 350581 350582
"$REFCTL" example application > "$T/app.json"

# make_dir VERSION OUT CODE...: a signed directory, not installed anywhere.
make_dir() {
	local version=$1 out=$2; shift 2
	local entries=()
	for c in "$@"; do entries+=("$T/$c.entry.json"); done
	"$REFCTL" directory assemble --version "$version" --authority 350500 \
		--out "$out" "${entries[@]}" &&
	"$REFCTL" directory sign --key "$T/authority/authority.key" "$out" >/dev/null
}
version_of() { "$REFCTL" --data "$T/$1" directory show --json | json version; }
has_version() { [ "$(version_of "$1")" = "$2" ]; }

start 350500
start 350581
start 350582
id=$(submit 350581 350582 "$T/app.json")
check "a referral goes through under version 1" wait_for 15 is_delivered 350581 "$id"

# ---- publish version 2: a new county joins
make_dir 2 "$T/v2.json" 350500 350581 350582 350583
out=$("$REFCTL" --data "$T/350500" --actor admin-01 directory publish "$T/v2.json"); rc=$?
expect_eq "publish: exit 0" 0 "$rc"
expect_contains "sent to every other node" "sent to 350581 350582 350583" "$out"
check "the authority's node has version 2 in force" has_version 350500 2
check "Shishi applies version 2" wait_for 15 has_version 350581 2
check "Jinjiang applies version 2" wait_for 15 has_version 350582 2
check "Shishi keeps the exact file" cmp -s "$T/v2.json" "$T/350581/directory.json"
check "and its signature" cmp -s "$T/v2.json.sig" "$T/350581/directory.json.sig"
expect_contains "directory show lists the new county" "350583" \
	"$("$REFCTL" --data "$T/350582" directory show)"
"$REFCTL" --data "$T/350581" audit export --out "$T/a.jsonl" >/dev/null
check "the update is in Shishi's audit chain, with who sent it" \
	grep -q '"event":"directory_applied".*"detail":"version 2 from 350500"' "$T/a.jsonl"
id2=$(submit 350581 350582 "$T/app.json")
check "referrals still go through after the re-pin" wait_for 15 is_delivered 350581 "$id2"

# ---- what is refused
out=$("$REFCTL" --data "$T/350500" directory publish "$T/directory.json" 2>&1); rc=$?
check "publishing an older version: non-zero exit" test "$rc" -ne 0
expect_contains "naming the versions" "version 1 is not newer than version 2" "$out"
out=$("$REFCTL" --data "$T/350581" directory publish "$T/v2.json" 2>&1); rc=$?
check "a county's node cannot publish: non-zero exit" test "$rc" -ne 0
expect_contains "and says so" "only the authority's node publishes" "$out"

sum_before=$(sha256sum "$T/350581/directory.json" | cut -d' ' -f1)
update() { # FILE: sends it as a DIRECTORY_UPDATE from the authority's node to Shishi
	"$PEERSIM" --data "$T/350500" --to 350581 --case directory-update --file "$1"
}
out=$(update "$T/directory.json")
expect_contains "a lower version over the wire: REFUSED" "status=REFUSED" "$out"
expect_contains "with the reason" "version 1 is not newer than version 2" "$out"
out=$(update "$T/v2.json")
expect_contains "the one in force sent again (a lost receipt): DUPLICATE, not refused" "status=DUPLICATE" "$out"
make_dir 3 "$T/v3.json" 350500 350581 350583
mkdir -p "$T/other"
"$REFCTL" authority keygen --out "$T/other" >/dev/null
cp "$T/v3.json" "$T/v3-foreign.json"
"$REFCTL" directory sign --key "$T/other/authority.key" "$T/v3-foreign.json" >/dev/null
out=$(update "$T/v3-foreign.json")
expect_contains "signed by another key: REFUSED" "status=REFUSED" "$out"
expect_contains "naming the authority key" "not signed by this node's authority key" "$out"
sed 's/南安市/南安县/' "$T/v3.json" > "$T/v3-tampered.json"
cp "$T/v3.json.sig" "$T/v3-tampered.json.sig"
out=$(update "$T/v3-tampered.json")
expect_contains "changed after signing: REFUSED" "status=REFUSED" "$out"
# Keys of the wrong type or strength: an RSA key, a NIST P-256 key, each
# given as another node's key, in an otherwise good signed directory.
for kt in "rsa:-algorithm RSA -pkeyopt rsa_keygen_bits:2048" "p256:-algorithm EC -pkeyopt ec_paramgen_curve:P-256"; do
	name=${kt%%:*}
	openssl genpkey ${kt#*:} -out "$T/$name.pem" 2>/dev/null
	b64=$(openssl pkey -in "$T/$name.pem" -pubout -outform DER | base64 -w0)
	alg=ed25519; [ "$name" = p256 ] && alg=sm2-sm3
	"$PY" -c 'import json,sys
d=json.load(open(sys.argv[1])); d["version"]=9
k=d["nodes"][-1]["signing_keys"][0]; k["public_key"]=sys.argv[2]; k["alg"]=sys.argv[3]
json.dump(d,open(sys.argv[4],"w"),ensure_ascii=False,indent=2)' "$T/v3.json" "$b64" "$alg" "$T/v9-$name.json"
	"$REFCTL" directory sign --key "$T/authority/authority.key" "$T/v9-$name.json" >/dev/null
	out=$(update "$T/v9-$name.json")
	expect_contains "a $name key given as $alg: REFUSED" "status=REFUSED" "$out"
	expect_contains "naming the node and the key" "is not of alg $alg" "$out"
done
expect_eq "Shishi still has version 2" 2 "$(version_of 350581)"
expect_eq "and the same file" "$sum_before" "$(sha256sum "$T/350581/directory.json" | cut -d' ' -f1)"
grep -q "南安县" "$T/350581.log" && not_ok "the log repeats a refused directory" || ok "the log does not repeat a refused directory"

# ---- restart keeps version 2
stop 350581
start 350581
expect_eq "after a restart Shishi has version 2" 2 "$(version_of 350581)"

# ---- revocation: version 3 removes Jinjiang
stop 350582
rm -f "$T/go"
"$PEERSIM" --data "$T/350582" --to 350581 --case session --hold-until "$T/go" --timeout 4000 > "$T/session.out" &
sim=$!
check "Jinjiang (simulated) has an open session with Shishi" wait_for 10 grep -q "status=STORED" "$T/session.out"
inbox_before=$(inbox_count 350581)
"$REFCTL" --data "$T/350500" directory publish "$T/v3.json" >/dev/null
check "Shishi applies version 3" wait_for 15 has_version 350581 3
check "Jinjiang's open session is dropped at once" wait_for 10 grep -q DISCONNECTED "$T/session.out"
touch "$T/go"
wait "$sim"
expect_contains "its next message is refused at the handshake" "HANDSHAKE_REFUSED" "$(cat "$T/session.out")"
expect_contains "and never stored" "NO_RECEIPT" "$(tail -n 1 "$T/session.out")"
expect_eq "Shishi's inbox did not change" "$inbox_before" "$(inbox_count 350581)"
id3=$(submit 350581 350582 "$T/app.json" 2>/dev/null)
check "a referral to the removed county is refused" test -z "$id3"

# ---- a file copied in by hand is not the directory in force
make_dir 4 "$T/v4.json" 350500 350581 350583
cp "$T/v4.json" "$T/v4.json.sig" "$T/350581/" && mv "$T/350581/v4.json" "$T/350581/directory.json" &&
	mv "$T/350581/v4.json.sig" "$T/350581/directory.json.sig"
out=$(update "$T/v4.json")
expect_contains "the update of a file copied in but not reloaded: applied, not DUPLICATE" "status=STORED" "$out"
check "Shishi puts version 4 in force" wait_for 10 has_version 350581 4
finish
