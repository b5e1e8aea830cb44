# gmt-interop.sh: a node of the GM/T suite (SM2 signatures with the
# distinguishing id 1234567812345678, SM3 digests, SM4-GCM at rest) and an
# Ed25519 node in one directory, itself signed with SM2 by the authority,
# exchange referrals both ways. SM2 signatures made by the project are
# checked by the openssl command line.
. "$(dirname "$0")/../lib.sh"
"$REFCTL" authority keygen --out "$T/authority" --alg sm2-sm3 >/dev/null
init_node() { # CODE NAME ALG
	local port; port=$(free_port)
	"$REFCTL" init --data "$T/$1" --node "$1" --name "$2" --alg "$3" \
		--listen "tcp://127.0.0.1:$port" \
		--authority "$T/authority/authority.pub.pem" > "$T/$1.entry.json" ||
		{ echo "init $1 failed"; exit 1; }
	printf '\n[delivery]\nretry_first_ms = 500\nretry_cap_ms = 2000\n[roles]\nadmins = admin-01\n' \
		>> "$T/$1/referrald.conf"
}
init_node 350581 "石狮市法律援助中心" sm2-sm3
init_node 350582 "晋江市法律援助中心" ed25519
directory 1 350581 350582
"$REFCTL" example application > "$T/app.json"
expect_eq "the SM2 node's entry says sm2-sm3" sm2-sm3 "$(json signing_keys.0.alg < "$T/350581.entry.json")"
expect_eq "its data key is SM4-GCM" sm4-gcm "$(grep -v '^#' "$T/350581/data.keys" | cut -d' ' -f2)"
expect_eq "the Ed25519 node's is AES-256-GCM" aes-256-gcm "$(grep -v '^#' "$T/350582/data.keys" | cut -d' ' -f2)"

# The authority's SM2 signature over the directory, by openssl alone.
base64 -d "$T/directory.json.sig" > "$T/directory.sig.der"
check "openssl verifies the authority's SM2 signature on the directory" \
	openssl pkeyutl -verify -pubin -inkey "$T/authority/authority.pub.pem" -rawin \
	-digest sm3 -pkeyopt distid:1234567812345678 -in "$T/directory.json" -sigfile "$T/directory.sig.der"
check "and refuses it without the distinguishing id" bash -c "! openssl pkeyutl -verify -pubin \
	-inkey '$T/authority/authority.pub.pem' -rawin -digest sm3 -in '$T/directory.json' \
	-sigfile '$T/directory.sig.der' >/dev/null 2>&1"

start 350581
start 350582
a=$(submit 350581 350582 "$T/app.json")
check "SM2 to Ed25519: delivered" wait_for 15 is_delivered 350581 "$a"
check "and RECEIVED comes back (Ed25519 to SM2)" wait_for 15 in_state 350581 "$a" RECEIVED
b=$(submit 350582 350581 "$T/app.json")
check "Ed25519 to SM2: delivered" wait_for 15 is_delivered 350582 "$b"
check "and RECEIVED comes back (SM2 to Ed25519)" wait_for 15 in_state 350582 "$b" RECEIVED
"$REFCTL" --data "$T/350581" --actor reviewer-01 accept "$b" >/dev/null
check "an SM2-signed decision reaches the Ed25519 node" wait_for 15 in_state 350582 "$b" GRANTED
sig_of() { "$REFCTL" --data "$T/$1" audit trail "$2" --json |
	"$PY" -c 'import json,sys; t=json.load(sys.stdin); print(t["bad_signatures"], sorted({e["signed_by"] for e in t["entries"] if e.get("signed_by")}))'; }
expect_eq "the Ed25519 node holds SM2-signed receipts and changes, all good" "0 ['350581-k1']" "$(sig_of 350582 "$b")"
expect_eq "and the SM2 node Ed25519-signed ones" "0 ['350582-k1']" "$(sig_of 350581 "$a")"

# An export manifest signed by the SM2 node, checked by openssl.
"$REFCTL" --data "$T/350581" audit export --out "$T/x.jsonl" >/dev/null
expect_eq "the manifest names the suite" sm2-sm3 "$(json alg < "$T/x.jsonl.manifest")"
check "openssl verifies the SM2 node's manifest signature" \
	openssl pkeyutl -verify -pubin -inkey "$T/350581/signing.pub.pem" -rawin -digest sm3 \
	-pkeyopt distid:1234567812345678 -in "$T/x.jsonl.manifest" -sigfile "$T/x.jsonl.manifest.sig"
check "refctl verify-export agrees, offline" "$REFCTL" audit verify-export "$T/x.jsonl" \
	--directory "$T/directory.json" --authority "$T/authority/authority.pub.pem"
IDNO=$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["applicant"]["id_number"])' "$T/app.json")
check "SM4-GCM at rest: the ID number is not in the SM2 node's data.mdb" \
	bash -c "! grep -aqF '$IDNO' '$T/350581/store/data.mdb'"
finish
