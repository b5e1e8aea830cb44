# bad-envelopes.sh: each bad envelope is answered with its reason code,
# stores nothing, and adds exactly one audit record.
. "$(dirname "$0")/../lib.sh"
two_nodes "[limits]" "max_message_bytes = 200000" "max_document_bytes = 100000" \
	"[delivery]" "message_lifetime_ms = 3600000"
start 350582

try() { # CASE EXPECTED [peersim args]
	local kase=$1 want=$2; shift 2
	local before inbox out
	before=$(audit_count 350582)
	inbox=$(inbox_count 350582)
	out=$("$PEERSIM" --data "$T/350581" --to 350582 --case "$kase" "$@")
	expect_contains "$kase answered $want" "status=$want verified=yes" "$out"
	expect_eq "$kase stored nothing" "$inbox" "$(inbox_count 350582)"
	expect_eq "$kase audited once" $((before + 1)) "$(audit_count 350582)"
}
try bad-signature BAD_SIGNATURE
try bad-digest BAD_DIGEST
try sender-mismatch SENDER_MISMATCH
try stale STALE
try future STALE
try not-for-me NOT_FOR_ME
try unknown-field MALFORMED
try unknown-key UNKNOWN_KEY
try bad-version UNSUPPORTED_VERSION
try garbage MALFORMED
try multipart MALFORMED
try unknown-kind REFUSED
try not-origin REFUSED
try oversized REFUSED --size 250000
expect_contains "rejections are logged with their reason" "receipt=BAD_DIGEST" "$(cat "$T/350582.log")"
# After all that, a good one still goes through.
out=$("$PEERSIM" --data "$T/350581" --to 350582 --case good)
expect_contains "a good envelope is stored" "status=STORED verified=yes matches=yes" "$out"
expect_eq "exactly one inbox entry" 1 "$(inbox_count 350582)"
finish
