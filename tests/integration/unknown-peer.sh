# unknown-peer.sh: a peer whose CURVE key is not in the directory is never
# authenticated: no receipt, nothing stored, the refusal logged.
. "$(dirname "$0")/../lib.sh"
two_nodes
start 350582
before=$(audit_count 350582)
out=$("$PEERSIM" --data "$T/350581" --to 350582 --case good --fresh-curve --timeout 2000)
expect_eq "no receipt for an unknown CURVE key" NO_RECEIPT "$out"
expect_eq "nothing stored" 0 "$(inbox_count 350582)"
expect_eq "no audit record" "$before" "$(audit_count 350582)"
expect_contains "ZAP refusal logged" "refused connection" "$(cat "$T/350582.log")"
out=$("$PEERSIM" --data "$T/350581" --to 350582 --case good)
expect_contains "the known key still gets in" "status=STORED" "$out"

# Receipts are never answered: a well-formed one for a message the node
# never sent changes nothing; a badly signed one is recorded, not answered.
before=$(audit_count 350582)
out=$("$PEERSIM" --data "$T/350581" --to 350582 --case receipt --timeout 1500)
expect_eq "a receipt on the ROUTER gets no answer" NO_RECEIPT "$out"
expect_eq "and changes nothing" "$before" "$(audit_count 350582)"
out=$("$PEERSIM" --data "$T/350581" --to 350582 --case bad-receipt --timeout 1500)
expect_eq "a badly signed receipt gets no answer either" NO_RECEIPT "$out"
expect_eq "but is recorded" $((before + 1)) "$(audit_count 350582)"
expect_contains "and logged with its reason" "receipt rejected: BAD_SIGNATURE" "$(cat "$T/350582.log")"
finish
