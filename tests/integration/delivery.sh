# delivery.sh: a referral goes from Shishi to Jinjiang, is stored there,
# and Shishi holds Jinjiang's signed STORED receipt as proof.
. "$(dirname "$0")/../lib.sh"
two_nodes
start 350581
start 350582

id=$(submit 350581 350582 "$T/app.json")
check "submit printed a referral id of Shishi" test "${id:0:7}" = "350581-"
check "delivered within 15 s" wait_for 15 is_delivered 350581 "$id"

show=$("$REFCTL" --data "$T/350581" show "$id" --json)
expect_eq "sender holds a STORED receipt" STORED "$(echo "$show" | json receipt.status)"
expect_eq "the receipt's signature verifies" true "$(echo "$show" | json receipt.verified)"
expect_eq "signed by Jinjiang's key" 350582-k1 "$(echo "$show" | json receipt.signed_by)"
expect_eq "receipt names our envelope" "$(echo "$show" | json envelope_sha256)" \
	"$(echo "$show" | json receipt.envelope_sha256)"
expect_eq "one attempt was enough" 1 "$(echo "$show" | json attempts)"
check "origin sees RECEIVED" wait_for 10 bash -c "'$REFCTL' --data '$T/350581' show '$id' --json | grep -q '\"state\": \"RECEIVED\"'"

expect_eq "one referral in Jinjiang's inbox" 1 "$(inbox_count 350582)"
recv=$("$REFCTL" --data "$T/350582" show "$id" --json)
expect_eq "receiver state" RECEIVED "$(echo "$recv" | json state)"
expect_eq "receiver has the case type" labour "$(echo "$recv" | json application.matter.case_type)"
expect_eq "documents arrived with their digests" 2 \
	"$(echo "$recv" | json application.documents | "$PY" -c 'import json,sys; print(len(json.load(sys.stdin)))')"
expect_eq "same envelope bytes on both sides" "$(echo "$show" | json envelope_sha256)" \
	"$(echo "$recv" | json envelope_sha256)"

trail=$("$REFCTL" --data "$T/350581" trail "$id" --json)
expect_eq "sender trail begins submitted, sent, receipt" "submitted sent receipt" \
	"$(echo "$trail" | "$PY" -c 'import json,sys; print(" ".join(e["event"] for e in json.load(sys.stdin)["events"][:3]))')"
rtrail=$("$REFCTL" --data "$T/350582" trail "$id" --json)
expect_eq "receiver trail: received" received "$(echo "$rtrail" | json events.0.event)"

human=$("$REFCTL" --data "$T/350581" show "$id")
expect_contains "human show says delivered" "delivered" "$human"
# REFERRAL_DATA stands in for --data.
check "REFERRAL_DATA works" env REFERRAL_DATA="$T/350582" "$REFCTL" list --inbox
# No personal data in the logs: the sample applicant's name, id and phone.
for secret in "陈示例" 350581199003070000 13800000000; do
	check "logs hold no '$secret'" bash -c "! grep -q '$secret' '$T/350581.log' '$T/350582.log'"
done
stop 350581
stop 350582
expect_contains "clean stop logged" "stopped node=350581" "$(cat "$T/350581.log")"
finish
