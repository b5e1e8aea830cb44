# limits.sh: each [limits] setting hit, with a clear refusal and the node
# still serving: text fields and lists too long (from a local client and
# from a peer), unreceipted messages per peer, messages per second from a
# peer, connections at once; and a flood of connections that never
# authenticate does not stop a known peer's deliveries.
. "$(dirname "$0")/../lib.sh"
two_nodes
printf '\n[limits]\npeer_in_flight = 3\npeer_rate_per_s = 2\n' >> "$T/350581/referrald.conf"
printf '\n[limits]\nmax_connections = 8\nhandshake_ms = 1000\n' >> "$T/350582/referrald.conf"
start 350581
start 350582
lim() { "$REFCTL" --data "$T/$1" status --json | json "limits.$2"; }

# ---- text and list fields
"$PY" - "$T/app.json" "$T" <<'PYEOF'
import json, sys
a = json.load(open(sys.argv[1]))
b = json.loads(json.dumps(a)); b["applicant"]["employer"] = "x" * 5000
json.dump(b, open(sys.argv[2] + "/long.json", "w"), ensure_ascii=False)
c = json.loads(json.dumps(a)); c["applicant"]["addresses"] = ["示例路%d号" % i for i in range(150)]
json.dump(c, open(sys.argv[2] + "/list.json", "w"), ensure_ascii=False)
PYEOF
# The application format has its own, tighter, per-field limits.
out=$("$REFCTL" --data "$T/350581" submit --to 350582 "$T/long.json" 2>&1); rc=$?
check "a 5000-byte field: refused" test "$rc" -ne 0
expect_contains "naming the field and the limit" "applicant.employer is longer than 1000 bytes" "$out"
out=$("$REFCTL" --data "$T/350581" submit --to 350582 "$T/list.json" 2>&1); rc=$?
check "150 addresses: refused" test "$rc" -ne 0
expect_contains "naming the list and the limit" "applicant.addresses must be a list of at most 32" "$out"
stop 350581   # peersim speaks as Shishi
out=$("$PEERSIM" --data "$T/350581" --to 350582 --case long-field)
expect_contains "a peer's message with a 5000-byte field: REFUSED" "status=REFUSED" "$out"
expect_contains "with the field named" "applicant.employer: 5000 bytes" "$out"
expect_eq "nothing was stored" 0 "$(inbox_count 350582)"
start 350581

# ---- peer_in_flight: Jinjiang stops answering (SIGSTOP keeps its socket)
first=$(submit 350581 350582 "$T/app.json")
check "a session to Jinjiang is open" wait_for 15 is_delivered 350581 "$first"
kill -STOP "$PID_350582"
for i in 1 2 3 4 5 6 7 8; do submit 350581 350582 "$T/app.json" >/dev/null; done
sleep 2
expect_eq "no more than 3 messages in flight to one peer" 3 "$(lim 350581 in_flight)"
# Referrals only: a greeting checkpoint after Shishi's restart may wait too.
waiting_refs() {
	"$REFCTL" --data "$T/$1" list --outbox --json | json referrals |
		"$PY" -c 'import json,sys; print(sum(1 for r in json.load(sys.stdin) if r.get("delivery") != "delivered"))'
}
expect_eq "the other 5 wait in the outbox" 8 "$(waiting_refs 350581)"
kill -CONT "$PID_350582"

delivered_all() { [ "$("$REFCTL" --data "$T/$1" status --json | json outbox.pending)" = 0 ]; }
check "all 8 delivered once Jinjiang answers again" wait_for 40 delivered_all 350581
expect_eq "each applied once" 9 "$(inbox_count 350582)"

# ---- peer_rate_per_s = 2 at Shishi: a burst from Jinjiang is dropped
# past the rate, and resent by Jinjiang until all is in.
for i in 1 2 3 4 5 6 7 8 9 10; do submit 350582 350581 "$T/app.json" >/dev/null; done
check "all 10 delivered, at 2 a second" wait_for 40 delivered_all 350582
check "Shishi dropped what came over its rate" test "$(lim 350581 rate_dropped)" -gt 0
expect_contains "and says so in its log" "over its rate quota ([limits] peer_rate_per_s = 2)" "$(cat "$T/350581.log")"
expect_eq "each applied once" 10 "$(inbox_count 350581)"

# ---- a flood of connections that never authenticate
port=$(grep '^listen' "$T/350582/referrald.conf" | sed 's/.*://')
"$PY" - "$port" "$T/flood.done" <<'PYEOF' &
import socket, sys, time, os
conns = []
for i in range(60):
    try:
        s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=2)
        if i % 2:
            s.send(b"\xff" * 64)  # garbage instead of a ZMTP greeting
        conns.append(s)
    except OSError:
        pass
time.sleep(4)
for s in conns:
    s.close()
open(sys.argv[2], "w").close()
PYEOF
flood=$!
sleep 1
id=$(submit 350581 350582 "$T/app.json")
check "during the flood, a known peer's referral is delivered" wait_for 15 is_delivered 350581 "$id"
check "Jinjiang closed connections past its limit" test "$(lim 350582 connections_refused)" -gt 0
expect_contains "and logged it" "connection limit reached ([limits] max_connections = 8)" "$(cat "$T/350582.log")"
wait "$flood"
out=$("$PEERSIM" --data "$T/350581" --to 350582 --case good --timeout 5000)
expect_contains "after the flood a new connection is accepted" "status=STORED" "$out"
check "the flood's connections are gone" test "$(lim 350582 connections_open)" -le 3
finish
