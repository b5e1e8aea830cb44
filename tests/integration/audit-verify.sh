# audit-verify.sh: editing, re-hashing, deleting, reordering and
# truncating audit records directly in the LMDB file are each caught by
# `refctl audit verify` at the right sequence number, with a non-zero exit;
# the verify itself changes nothing.
. "$(dirname "$0")/../lib.sh"
two_nodes
start 350581
start 350582
id=$(submit 350581 350582 "$T/app.json")
check "delivered" wait_for 15 is_delivered 350581 "$id"
check "and RECEIVED came back" wait_for 15 in_state 350581 "$id" RECEIVED
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
out=$(timeout 10 "$REFERRALD" --data "$T/copy-delete" 2>&1); rc=$?
expect_eq "a node refuses to start on a broken chain" 1 "$rc"
expect_contains "and says why" "fails its checks" "$out"
finish
