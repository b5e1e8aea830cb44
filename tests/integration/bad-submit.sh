# bad-submit.sh: unknown destination, malformed application JSON, missing
# consent, an oversized document, a staff id that is not one: each refused with a message naming the
# problem and a non-zero exit, and nothing stored changes.
. "$(dirname "$0")/../lib.sh"
two_nodes "[limits]" "max_document_bytes = 50000" "max_message_bytes = 60000"
start 350581
start 350582
good=$(submit 350581 350582 "$T/app.json")
wait_for 15 is_delivered 350581 "$good"
# The receiver's RECEIVED comes back after the receipt: counted before.
wait_for 15 in_state 350581 "$good" RECEIVED
# And the nodes' greeting checkpoints, a few seconds after they first
# talk: they add to the chain and the outbox, and under the sanitizers
# the refusals below take long enough for them to land in the middle.
check "Shishi and Jinjiang have greeted each other" wait_for 30 greeted 350581
before=$("$REFCTL" --data "$T/350581" status --json | json audit_records)
delivered=$("$REFCTL" --data "$T/350581" status --json | json outbox.delivered)

refused() { # DESCRIPTION NEEDLE ARGS...
	local what=$1 needle=$2; shift 2
	local out rc
	out=$("$REFCTL" --data "$T/350581" "$@" 2>&1); rc=$?
	check "$what: non-zero exit" test "$rc" -ne 0
	expect_contains "$what: names the problem" "$needle" "$out"
}
refused "unknown destination" "350599 is not a node in the directory" submit --to 350599 "$T/app.json"
refused "bad destination code" "six-digit" submit --to 35 "$T/app.json"
refused "to itself" "is this node" submit --to 350581 "$T/app.json"
echo '{"applicant": {' > "$T/broken.json"
refused "malformed JSON" "not JSON" submit --to 350582 "$T/broken.json"
"$PY" - "$T/app.json" "$T/noconsent.json" <<'PY'
import json,sys; a=json.load(open(sys.argv[1])); a["consent"]["cross_county_transfer"]=False; json.dump(a,open(sys.argv[2],"w"))
PY
refused "no consent" "consent.cross_county_transfer" submit --to 350582 "$T/noconsent.json"
"$PY" - "$T/app.json" "$T/noid.json" <<'PY'
import json,sys; a=json.load(open(sys.argv[1])); del a["applicant"]["id_number"]; json.dump(a,open(sys.argv[2],"w"))
PY
refused "missing id number" "applicant.id_number is required" submit --to 350582 "$T/noid.json"
"$PY" - "$T/app.json" "$T/badcase.json" <<'PY'
import json,sys; a=json.load(open(sys.argv[1])); a["matter"]["case_type"]="piracy"; json.dump(a,open(sys.argv[2],"w"))
PY
refused "unknown case type" "matter.case_type must be one of" submit --to 350582 "$T/badcase.json"
head -c 60000 /dev/zero > "$T/big.bin"
"$PY" - "$T/app.json" "$T/big.json" <<'PY'
import json,sys; a=json.load(open(sys.argv[1])); a["documents"].append({"type":"scan","file":"big.bin"}); json.dump(a,open(sys.argv[2],"w"))
PY
refused "oversized document" "over the limit of 50000" submit --to 350582 "$T/big.json"
"$PY" - "$T/app.json" "$T/many.json" <<'PY'
import json,sys,base64; a=json.load(open(sys.argv[1]))
for i in range(2): a["documents"].append({"type":"scan","content_base64":base64.b64encode(bytes(40000)).decode()})
json.dump(a,open(sys.argv[2],"w"))
PY
refused "message over max_message_bytes" "more than [limits] max_message_bytes = 60000" submit --to 350582 "$T/many.json"
refused "unknown referral" "no referral" show 350581-00000000000000000000000000000000
# A staff id lands in audit records, logs and trails: a line break there
# would forge a log line, so the node refuses it before doing anything.
refused "a staff id with a line break" "the staff id (--actor) must be" \
	--actor $'staff-01\n2026-11-28T00:00:00.000Z info forged' submit --to 350582 "$T/app.json"
refused "a staff id with a right-to-left override" "the staff id (--actor) must be" \
	--actor $'staff-01\u202e10-ffats' submit --to 350582 "$T/app.json"
refused "a staff id with an ideographic space" "the staff id (--actor) must be" \
	--actor $'staff\u300001' submit --to 350582 "$T/app.json"
refused "a staff id over 64 bytes" "at most 64 bytes" \
	--actor "$(printf 's%.0s' {1..65})" submit --to 350582 "$T/app.json"
check "no forged line in the log" bash -c "! grep -q '^2026-11-28T00:00:00.000Z info forged' '$T/350581.log'"
# The sample applicant's personal data is not echoed in any refusal.
out=$("$REFCTL" --data "$T/350581" submit --to 350582 "$T/noconsent.json" 2>&1)
check "refusals do not echo personal data" bash -c "! echo '$out' | grep -q 13800000000"

expect_eq "nothing new in the audit table" "$before" "$("$REFCTL" --data "$T/350581" status --json | json audit_records)"
expect_eq "outbox unchanged" "$delivered" "$("$REFCTL" --data "$T/350581" status --json | json outbox.delivered)"
expect_eq "and it holds the one referral and the greeting" 2 "$delivered"
expect_eq "receiver unchanged" 1 "$(inbox_count 350582)"
stop 350582
out=$("$REFCTL" --data "$T/350582" status 2>&1); rc=$?
check "a stopped node: non-zero exit" test "$rc" -ne 0
expect_contains "a stopped node: says so" "did not answer" "$out"
finish
