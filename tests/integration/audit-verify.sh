# audit-verify.sh: editing, re-hashing, deleting, reordering and
# truncating audit records directly in the LMDB file are each caught by
# `refctl audit verify` at the right sequence number, with a non-zero exit;
# the verify itself changes nothing. A history rewritten and re-chained by
# its owner passes that check, and is caught by the signed checkpoints its
# peer holds.
. "$(dirname "$0")/../lib.sh"
two_nodes "[audit]" "checkpoint_records = 3" "[deadlines]" "deadline_check_ms = 200"
start 350581
start 350582
id=$(submit 350581 350582 "$T/app.json")
check "delivered" wait_for 15 is_delivered 350581 "$id"
check "and RECEIVED came back" wait_for 15 in_state 350581 "$id" RECEIVED
id2=$(submit 350581 350582 "$T/app.json")
check "a second one delivered" wait_for 15 is_delivered 350581 "$id2"
check "Jinjiang holds Shishi's signed checkpoints" wait_for 15 bash -c \
	"'$REFCTL' --data '$T/350582' audit witnessed --node 350581 --json | grep -q head_hash"
out=$("$REFCTL" --data "$T/350581" audit verify --json)
expect_eq "the live chain is intact (read while the node runs)" true "$(echo "$out" | json ok)"
stop 350581
stop 350582
n=$("$REFCTL" --data "$T/350581" audit verify --json | json records)
check "there are records to tamper with ($n)" test "$n" -ge 6
sum=$(sha256sum "$T/350581/store/data.mdb" | cut -d' ' -f1)
"$REFCTL" --data "$T/350581" audit verify >/dev/null
expect_eq "a verify changes nothing in the file" "$sum" "$(sha256sum "$T/350581/store/data.mdb" | cut -d' ' -f1)"

tamper() { # DESCRIPTION CHANGE SEQ EXPECTED-FIRST-BAD
	local copy="$T/copy-$2"
	rm -rf "$copy"
	cp -a "$T/350581" "$copy"
	"$BUILD/tests/audit-tamper" "$copy/store" "$2" "$3" || { not_ok "$1: tamper failed"; return; }
	local out rc
	out=$("$REFCTL" --data "$copy" audit verify --json 2>/dev/null); rc=$?
	check "$1: non-zero exit" test "$rc" -ne 0
	expect_eq "$1: caught" false "$(echo "$out" | json ok)"
	expect_eq "$1: first bad sequence" "$4" "$(echo "$out" | json first_bad_seq)"
	out=$("$REFCTL" --data "$copy" audit verify 2>&1)
	expect_contains "$1: says where" "broken at sequence $4" "$out"
}
tamper "an edited record" edit 3 3
tamper "an edited record with its digest forged" rehash 3 3
tamper "the last record edited and re-hashed" rehash "$n" "$n"
tamper "a deleted record" delete 4 4
tamper "two records swapped" swap 2 2
tamper "a truncated chain" truncate 5 5
# The owner rewrites record 3 and re-chains everything after it.
"$REFCTL" --data "$T/350582" audit witnessed --node 350581 --json > "$T/witness.json"
first_cp=$("$PY" -c 'import json,sys; print(min(c["seq"] for c in json.load(open(sys.argv[1]))["checkpoints"] if c["seq"]>=3))' "$T/witness.json")
out=$("$REFCTL" --data "$T/350581" audit verify --witness "$T/witness.json" --json)
expect_eq "the true history matches what the peer witnessed" true "$(echo "$out" | json ok)"
rm -rf "$T/copy-rechain"
cp -a "$T/350581" "$T/copy-rechain"
check "rewrite and re-chain" "$BUILD/tests/audit-tamper" "$T/copy-rechain/store" rechain 3
out=$("$REFCTL" --data "$T/copy-rechain" audit verify --json)
expect_eq "a re-chained history passes the chain check alone" true "$(echo "$out" | json ok)"
out=$("$REFCTL" --data "$T/copy-rechain" audit verify --witness "$T/witness.json" --json 2>/dev/null); rc=$?
check "but not the peer's checkpoints: non-zero exit" test "$rc" -ne 0
expect_eq "caught at the first checkpoint after the change" "$first_cp" "$(echo "$out" | json first_bad_seq)"
expect_contains "naming who witnessed it" "not the one a peer witnessed" "$(echo "$out" | json problem)"
# Re-chained but with the node's own signed checkpoints left in place:
# those catch it without any peer.
rm -rf "$T/copy-keep"
cp -a "$T/350581" "$T/copy-keep"
check "re-chain, keeping own checkpoints" "$BUILD/tests/audit-tamper" "$T/copy-keep/store" rechain-keep 3
out=$("$REFCTL" --data "$T/copy-keep" audit verify --json 2>/dev/null); rc=$?
check "the node's own signed checkpoints catch it: non-zero exit" test "$rc" -ne 0
expect_contains "and say so" "not the one this node signed" "$(echo "$out" | json problem)"
out=$("$REFCTL" --data "$T/350581" audit verify --json)
check "the intact node's own checkpoints verify" test "$(echo "$out" | json own_checkpoints)" -ge 1

# The witness file is checked against the directory: each checkpoint is
# taken from its signed envelope, never from the file's plain fields.
wedit() { # OUT PYTHON: edits the witness file's JSON (w)
	"$PY" -c 'import json,sys,base64
w=json.load(open(sys.argv[1])); exec(sys.argv[3]); json.dump(w,open(sys.argv[2],"w"))' "$T/witness.json" "$1" "$2"
}
wedit "$T/w-badsig.json" 'c=w["checkpoints"][0]; b=bytearray(base64.b64decode(c["envelope_base64"])); b[-5]^=1; c["envelope_base64"]=base64.b64encode(bytes(b)).decode()'
out=$("$REFCTL" --data "$T/350581" audit verify --witness "$T/w-badsig.json" 2>&1); rc=$?
check "a checkpoint with a bad signature: non-zero exit" test "$rc" -ne 0
expect_contains "and says it does not verify" "does not verify against the directory" "$out"
wedit "$T/w-plain.json" 'w["checkpoints"][0]["seq"]=1; w["checkpoints"][0]["head_hash"]="00"*32'
out=$("$REFCTL" --data "$T/350581" audit verify --witness "$T/w-plain.json" --json)
expect_eq "the file's plain fields are not what is checked" true "$(echo "$out" | json ok)"
wedit "$T/w-unknown.json" 'w["node"]="350599"'
out=$("$REFCTL" --data "$T/350581" audit verify --witness "$T/w-unknown.json" 2>&1); rc=$?
check "a witness file about an unknown node: non-zero exit" test "$rc" -ne 0
expect_contains "and says so" "350599, which is not in the directory" "$out"
"$REFCTL" --data "$T/350581" audit witnessed --node 350582 --json > "$T/w-other.json"
out=$("$REFCTL" --data "$T/350581" audit verify --witness "$T/w-other.json" 2>&1); rc=$?
check "another node's witness file: non-zero exit" test "$rc" -ne 0
expect_contains "and says whose it is" "about node 350582" "$out"
out=$("$REFCTL" --data "$T/350582" audit witnessed --node 350599 2>&1); rc=$?
check "witnessed --node for an unknown code: non-zero exit" test "$rc" -ne 0
expect_contains "and says so" "350599 is not in the directory" "$out"
out=$("$REFCTL" --data "$T/350581" audit verify --witness "$T/witness.json" --json)
check "an intact witness file: its checkpoints all verify" test "$(echo "$out" | json witnessed_checkpoints)" -ge 1

out=$("$REFCTL" --data "$T/350581" audit witnessed 2>&1); rc=$?
check "witnessed without --node: non-zero exit" test "$rc" -ne 0

out=$(timeout 10 "$REFERRALD" --data "$T/copy-delete" 2>&1); rc=$?
expect_eq "a node refuses to start on a broken chain" 1 "$rc"
expect_contains "and says why" "fails its checks" "$out"
finish
