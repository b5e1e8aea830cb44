# lifecycle-refusals.sh: every move from the wrong party is refused: in the
# CLI with the current state and the moves open, and on the wire with a
# REFUSED receipt that is recorded; status changes delivered out of order
# are applied in order. A node in the directory that is not a party to the
# referral, and a change with referral_seq 0, are refused and change nothing.
. "$(dirname "$0")/../lib.sh"
two_nodes
# Nan'an is in the directory, never started: peersim speaks for it as a
# county that is neither the origin nor the receiver of Shishi's referral.
node 350583 "南安市法律援助中心"
directory 1 350581 350582 350583
start 350581
start 350582
S="$REFCTL --data $T/350581 --actor staff-0107"
J="$REFCTL --data $T/350582 --actor reviewer-02"
id=$(submit 350581 350582 "$T/app.json")
check "received" wait_for 15 in_state 350581 "$id" RECEIVED

# The CLI: the origin may not make the receiver's moves, and the other way.
for cmd in accept "deny --basis Art41 --reason x" "request-materials --item x" \
	   "refer-onward --to 350582 --reason x" "pre-aid --reason x"; do
	out=$($S $cmd "$id" 2>&1); rc=$?
	check "origin: $cmd refused" test "$rc" -ne 0
	expect_contains "origin: $cmd names the state" "is RECEIVED" "$out"
done
echo "x" > "$T/doc.txt"
out=$($J supplement "$id" --doc "$T/doc.txt" 2>&1); rc=$?
check "receiver: supplement refused" test "$rc" -ne 0
out=$($J assign "$id" --firm f --lawyer l --licence 1 2>&1)
expect_contains "an illegal move names the moves open" "Moves open from RECEIVED: " "$out"
out=$($J show 350581-0123456789abcdef0123456789abcdef 2>&1)
expect_contains "unknown referral" "no referral" "$out"
expect_eq "nothing moved" RECEIVED "$(state_of 350582 "$id")"

# The wire: the origin node claims the receiver's move. The nodes'
# greeting checkpoints are in first: one landing later would add to the
# counts below.
check "Jinjiang and Shishi have greeted each other" wait_for 30 greeted 350582
stop 350581
before=$(audit_count 350582)
out=$("$PEERSIM" --data "$T/350581" --to 350582 --case status --referral "$id" \
	--state GRANTED --from-state RECEIVED --seq 2)
expect_contains "GRANTED from the origin: REFUSED" "status=REFUSED verified=yes" "$out"
expect_contains "says whose move it is" "receiving centre" "$out"
expect_eq "recorded once" $((before + 1)) "$(audit_count 350582)"
expect_eq "nothing moved at the receiver" RECEIVED "$(state_of 350582 "$id")"
out=$("$PEERSIM" --data "$T/350581" --to 350582 --case status --referral "$id" \
	--state OBJECTION --from-state RECEIVED --seq 3 --role admin)
expect_contains "admin move from the origin: REFUSED" "status=REFUSED" "$out"

# last_event CODE ID: the referral's last audit event at the node, as
# "EVENT PEER OUTCOME".
last_event() {
	"$REFCTL" --data "$T/$1" trail "$2" --json |
		"$PY" -c 'import json,sys; e=json.load(sys.stdin)["events"][-1]; print(e["event"], e.get("peer", "-"), e.get("outcome", "-"))'
}
# wire_refused DESCRIPTION SENDER CODE DETAIL [peersim args]: the change is
# answered CODE naming DETAIL, recorded once as a rejection from SENDER,
# and Jinjiang's referral (state, history, clocks, delivery) is unchanged.
wire_refused() {
	local what=$1 from=$2 code=$3 why=$4; shift 4
	local before shown hist out
	before=$(audit_count 350582)
	shown=$("$REFCTL" --data "$T/350582" show "$id" --json)
	hist=$(states_of 350582 "$id")
	out=$("$PEERSIM" --data "$T/$from" --to 350582 --referral "$id" "$@")
	expect_contains "$what: $code" "status=$code verified=yes matches=yes" "$out"
	expect_contains "$what: says why" "$why" "$out"
	expect_eq "$what: recorded once" $((before + 1)) "$(audit_count 350582)"
	expect_eq "$what: recorded as a rejection from $from" "rejected $from $code" \
		"$(last_event 350582 "$id")"
	expect_eq "$what: the history did not move" "$hist" "$(states_of 350582 "$id")"
	expect_eq "$what: the referral at Jinjiang is unchanged" "$shown" \
		"$("$REFCTL" --data "$T/350582" show "$id" --json)"
}
wire_refused "a move from a county not a party" 350583 REFUSED \
	"350583 is not a party to referral $id" \
	--case not-party --state GRANTED --from-state RECEIVED --seq 2
wire_refused "a change with referral_seq 0" 350581 MALFORMED \
	"a status change needs a referral_seq" \
	--case seq-zero --state CANCELLED --from-state RECEIVED
expect_eq "nothing moved at the receiver after either" RECEIVED "$(state_of 350582 "$id")"
start 350581

# Out of order: Jinjiang's seq 3 (ASSIGNED) arrives before seq 2 (GRANTED).
# The receiver's own seq 1 was RECEIVED; peersim speaks for Jinjiang now.
stop 350582
out=$("$PEERSIM" --data "$T/350582" --to 350581 --case status --referral "$id" \
	--state ASSIGNED --from-state GRANTED --seq 3)
expect_contains "the early one is stored" "status=STORED" "$out"
expect_eq "and held: nothing applied yet" RECEIVED "$(state_of 350581 "$id")"
out=$("$PEERSIM" --data "$T/350582" --to 350581 --case status --referral "$id" \
	--state GRANTED --from-state RECEIVED --seq 2)
expect_contains "the gap filler is stored" "status=STORED" "$out"
expect_eq "both applied, in order" "REQUESTED RECEIVED GRANTED ASSIGNED" "$(states_of 350581 "$id")"
out=$("$PEERSIM" --data "$T/350582" --to 350581 --case status --referral "$id" \
	--state IN_PROGRESS --from-state ASSIGNED --seq 2)
expect_contains "an old seq is refused" "already applied" "$out"
finish
