# sealed-at-rest.sh: an invented applicant's name, ID number and phone, and
# a document's text, are found nowhere in either node's data.mdb, in the
# logs, or in an export without --include-personal (raw bytes grepped),
# while the referral reads back whole. The data key is rotated while the
# node serves and every record is sealed again; a data key file others can
# read, or a missing one beside sealed records, stops the node with a
# clear message that holds no personal data.
. "$(dirname "$0")/../lib.sh"
two_nodes "[roles]" "admins = admin-01"
# The canary: the fixture's invented applicant, with a document.
read -r NAME IDNO PHONE < <("$PY" -c 'import json,sys
a=json.load(open(sys.argv[1]))["applicant"]; print(a["name"], a["id_number"], a["phone"])' "$T/app.json")
DOC="Canary document text for an invented worker, wage slip 0042"
check "the fixture holds the canary" grep -q "$IDNO" "$T/app.json"
start 350581
start 350582
id=$(submit 350581 350582 "$T/app.json")
check "delivered" wait_for 15 is_delivered 350581 "$id"
"$REFCTL" --data "$T/350582" --actor reviewer-02 request-materials "$id" --item "wage slips" >/dev/null
check "AWAITING_MATERIALS at Shishi" wait_for 15 in_state 350581 "$id" AWAITING_MATERIALS
echo "$DOC" > "$T/doc.txt"
"$REFCTL" --data "$T/350581" --actor staff-0107 supplement "$id" --doc "$T/doc.txt" >/dev/null
check "the supplement arrives" wait_for 15 in_state 350582 "$id" RECEIVED
expect_eq "data keys are the owner's only" 600 "$(stat -c %a "$T/350581/data.keys")"
"$REFCTL" --data "$T/350581" audit export --out "$T/export.jsonl" >/dev/null

# Raw bytes: grep -a on the LMDB file itself, both nodes, and the logs.
absent() { # DESCRIPTION FILE...
	local hit=""
	for v in "$NAME" "$IDNO" "$PHONE" "$DOC"; do
		for f in "${@:2}"; do grep -aqF -- "$v" "$f" && hit="$hit $(basename "$f")"; done
	done
	if [ -z "$hit" ]; then ok "$1"; else not_ok "$1: found in$hit"; fi
}
absent "no personal field in either node's data.mdb" "$T/350581/store/data.mdb" "$T/350582/store/data.mdb"
absent "nor in the logs" "$T/350581.log" "$T/350582.log"
absent "nor in an export without --include-personal" "$T/export.jsonl"
out=$("$REFCTL" --data "$T/350582" show "$id" --json)
expect_eq "the referral reads back whole at Jinjiang" RECEIVED "$(echo "$out" | json state)"
"$REFCTL" --data "$T/350581" --actor admin-01 audit export --include-personal --out "$T/p.jsonl" >/dev/null
check "the data is there, sealed: an admin's export shows the ID number" grep -qF "$IDNO" "$T/p.jsonl"
check "refctl audit verify opens every sealed record" "$REFCTL" --data "$T/350582" audit verify

# ---- rotation while the node serves
out=$("$REFCTL" --data "$T/350582" --actor reviewer-02 rotate-data-key 2>&1); rc=$?
check "rotate-data-key as staff: non-zero exit" test "$rc" -ne 0
expect_contains "needs the admin role" "admin role" "$out"
out=$("$REFCTL" --data "$T/350582" --actor admin-01 rotate-data-key --json); rc=$?
expect_eq "rotate-data-key as the admin: exit 0" 0 "$rc"
expect_eq "key 2 is current" 2 "$(echo "$out" | json key)"
id2=$(submit 350581 350582 "$T/app.json")
check "deliveries go on during the re-sealing" wait_for 15 is_delivered 350581 "$id2"
resealed() { [ "$("$REFCTL" --data "$T/350582" status --json | json data_key.resealing)" = false ] &&
	[ "$("$REFCTL" --data "$T/350582" status --json | json data_key.keys)" = 1 ]; }
check "every record sealed again, the old key dropped" wait_for 20 resealed
expect_eq "the key file holds one key, id 2" "2 aes-256-gcm" "$(grep -v '^#' "$T/350582/data.keys" | cut -d' ' -f1-2)"
check "the store still verifies" "$REFCTL" --data "$T/350582" audit verify
expect_eq "the first referral still reads" RECEIVED "$(state_of 350582 "$id")"
"$REFCTL" --data "$T/350582" audit export --out "$T/j.jsonl" >/dev/null
check "rotation and retirement are in the audit chain" bash -c \
	"grep -q data_key_rotated '$T/j.jsonl' && grep -q data_key_retired '$T/j.jsonl'"
absent "still no personal field in Jinjiang's data.mdb" "$T/350582/store/data.mdb"

# ---- bad key files
stop 350582
chmod 644 "$T/350582/data.keys"
out=$(timeout 10 "$REFERRALD" --data "$T/350582" 2>&1); rc=$?
expect_eq "a data key file others can read: the node refuses to start" 1 "$rc"
expect_contains "naming the file and the fix" "data.keys is readable by others (mode 644): run chmod 600" "$out"
chmod 600 "$T/350582/data.keys"
mv "$T/350582/data.keys" "$T/keys.aside"
sum=$(sha256sum "$T/350582/store/data.mdb" | cut -d' ' -f1)
out=$(timeout 10 "$REFERRALD" --data "$T/350582" 2>&1); rc=$?
expect_eq "sealed records and no key file: the node refuses to start" 1 "$rc"
expect_contains "and says what to do" "data key file" "$out"
check "no new key file was made over them" test ! -e "$T/350582/data.keys"
expect_eq "and the store is unchanged" "$sum" "$(sha256sum "$T/350582/store/data.mdb" | cut -d' ' -f1)"
absent "no personal field in those messages" <(echo "$out")
mv "$T/keys.aside" "$T/350582/data.keys"
start 350582
expect_eq "with its key back, it starts and reads" RECEIVED "$(state_of 350582 "$id")"
finish
