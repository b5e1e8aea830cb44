# receiver-down.sh: Jinjiang is down for 30 s; Shishi keeps the referral,
# resends with backoff, and it is delivered once when Jinjiang returns.
. "$(dirname "$0")/../lib.sh"
two_nodes
start 350581
id=$(submit 350581 350582 "$T/app.json")
check "accepted while the receiver is down" test -n "$id"
sleep 30
expect_eq "still pending after 30 s" pending "$(delivery_of 350581 "$id")"
attempts=$("$REFCTL" --data "$T/350581" show "$id" --json | json attempts)
check "resent while down (attempts=$attempts)" test "$attempts" -ge 3
start 350582
check "delivered after the receiver returned" wait_for 20 is_delivered 350581 "$id"
sleep 3
expect_eq "one referral at the receiver" 1 "$(inbox_count 350582)"
expect_eq "applied once" 1 "$(events_of 350582 "$id" received)"
expect_eq "one deciding receipt" 1 "$(events_of 350581 "$id" receipt)"
dups=$(grep -c "receipt=DUPLICATE" "$T/350582.log" || true)
echo "# duplicates answered by the receiver: $dups"
finish
