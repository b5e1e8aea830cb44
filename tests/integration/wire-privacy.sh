# wire-privacy.sh: what crosses the wire between two nodes is CURVE
# ciphertext, and a node talks only to a server holding its peer's CURVE
# secret key.
#
# 1. A raw TCP relay sits in front of each node (the directory gives each
#    node's endpoint as the relay's port) and keeps every byte it carries,
#    each connection and direction in its own file. A referral goes from
#    Shishi (350581) to Jinjiang (350582) and Jinjiang's RECEIVED comes
#    back, all through the relays. The capture holds the ZMTP greetings
#    that name the CURVE mechanism, and none of the application's texts,
#    nor the referral id, msg_ids, key ids, node codes, states or receipt
#    details that the envelopes carry, nor the nodes' names.
# 2. A faultproxy holding another node's CURVE secret key (an impostor)
#    listens where the directory says Jinjiang is: Shishi's referral stays
#    pending, the impostor passes nothing on, and Jinjiang never sees it.
#    A faultproxy with Jinjiang's own key at the same port then carries it:
#    delivered, RECEIVED, stored once.
. "$(dirname "$0")/../lib.sh"
PROXY=$BUILD/tests/faultproxy
[ -x "$PROXY" ] || { not_ok "no $PROXY: build the tests first"; exit 1; }

authority
node 350581 "石狮市法律援助中心"
node 350582 "晋江市法律援助中心"
# An impostor's data folder: a node the directory does not list, so a CURVE
# key pair that is not Jinjiang's.
node 350583 "示例市法律援助中心"
port_of() { listen_of "$1" | sed 's/.*://'; }
front81=$(free_port)
front82=$(free_port)
# Each node listens where lib.sh put it; the directory sends its peer to
# the port in front of it instead.
front 350581 "$front81" 350582 "$front82"
directory 1 350581 350582
"$REFCTL" example application > "$T/app.json"
mkdir "$T/wire"

# relay NAME LISTEN_PORT TARGET_PORT: a plain TCP relay on loopback that
# writes what it carries to $T/wire/NAME-CONN.up (client to server) and
# NAME-CONN.down (server to client).
relay() {
	"$PY" - "$1" "$2" "$3" "$T/wire" 2>> "$T/relay-$1.log" <<'PY' &
import asyncio, os, sys
name, listen, target, wire = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
conns = 0

async def pipe(reader, writer, path):
    with open(path, "ab", buffering=0) as out:
        try:
            while True:
                data = await reader.read(65536)
                if not data:
                    break
                out.write(data)
                writer.write(data)
                await writer.drain()
        except OSError:
            pass
        finally:
            writer.close()

async def handle(creader, cwriter):
    global conns
    conns += 1
    base = os.path.join(wire, "%s-%d" % (name, conns))
    try:
        sreader, swriter = await asyncio.open_connection("127.0.0.1", target)
    except OSError:
        cwriter.close()
        return
    await asyncio.gather(pipe(creader, swriter, base + ".up"),
                         pipe(sreader, cwriter, base + ".down"))

async def main():
    server = await asyncio.start_server(handle, "127.0.0.1", listen)
    open(os.path.join(wire, name + ".ready"), "w").close()
    async with server:
        await server.serve_forever()

asyncio.run(main())
PY
	PIDS+=($!)
	eval "PID_$1=$!"
	wait_for 10 test -e "$T/wire/$1.ready" || { not_ok "relay $1 did not start"; exit 1; }
}

# wire_bytes NAME [up|down]: bytes the relay carried, every connection,
# both ways or one.
wire_bytes() {
	local dirs=${2:-up down} d
	for d in $dirs; do cat "$T/wire/$1"-*."$d" 2>/dev/null; done | wc -c
}
# wire_lacks NEEDLE [hex]: no captured stream (each connection and
# direction searched on its own) holds the needle's UTF-8 bytes, or the
# bytes its hex gives. Fails if there is no capture at all.
wire_lacks() {
	"$PY" - "$T/wire" "$@" <<'PY'
import glob, os, sys
wire, needle = sys.argv[1], sys.argv[2]
raw = bytes.fromhex(needle) if sys.argv[3:] == ["hex"] else needle.encode()
files = glob.glob(os.path.join(wire, "*.up")) + glob.glob(os.path.join(wire, "*.down"))
if not files or not raw:
    sys.exit(2)
sys.exit(1 if any(raw in open(f, "rb").read() for f in files) else 0)
PY
}
# wire_found FILE: the lines of FILE that some captured stream holds, or
# "none".
wire_found() {
	"$PY" - "$T/wire" "$1" <<'PY'
import glob, os, sys
wire = sys.argv[1]
files = glob.glob(os.path.join(wire, "*.up")) + glob.glob(os.path.join(wire, "*.down"))
streams = [open(f, "rb").read() for f in files]
needles = [l for l in open(sys.argv[2], encoding="utf-8").read().split("\n") if l]
if not streams or not needles:
    sys.exit(2)
found = [n for n in needles if any(n.encode() in s for s in streams)]
print(", ".join(found) if found else "none")
PY
}

relay to82 "$front82" "$(port_of 350582)"
relay to81 "$front81" "$(port_of 350581)"
start 350581
start 350582

# ---- 1. what a reader of the wire sees
id=$(submit 350581 350582 "$T/app.json")
check "submit printed a referral id of Shishi" test "${id:0:7}" = "350581-"
check "delivered through the relay" wait_for 20 is_delivered 350581 "$id"
check "RECEIVED at Shishi, back through the other relay" \
	wait_for 20 in_state 350581 "$id" RECEIVED
expect_eq "Jinjiang holds it" RECEIVED "$(state_of 350582 "$id")"
show=$("$REFCTL" --data "$T/350581" show "$id" --json)
# Every text of the application, one a line, documents decoded: the
# bytes that a plaintext body would carry.
"$PY" - "$T/app.json" > "$T/texts" <<'PY'
import base64, json, sys
def walk(v):
    if isinstance(v, dict):
        for k, x in v.items():
            if k == "content_base64":
                yield base64.b64decode(x).decode().strip()
            else:
                yield from walk(x)
    elif isinstance(v, list):
        for x in v:
            yield from walk(x)
    elif isinstance(v, str):
        yield v
for t in walk(json.load(open(sys.argv[1]))):
    print(t)
PY
text_bytes=$(tr -d '\n' < "$T/texts" | wc -c)
up82=$(wire_bytes to82 up)
n82=$(wire_bytes to82)
# The relay writes before it forwards: what reached a node is in the
# capture, but Shishi's receipt for the RECEIVED change may still be on
# its way back.
wire_grew() { [ "$(wire_bytes to81)" -gt 1000 ]; }
wait_for 10 wire_grew
n81=$(wire_bytes to81)
echo "the relays carried $n82 bytes to and from Jinjiang ($up82 towards it)," \
	"$n81 to and from Shishi; the application's texts are $text_bytes bytes"
check "the relay to Jinjiang carried the session (> 2000 bytes: $n82)" \
	test "$n82" -gt 2000
check "towards Jinjiang, more than the application's texts ($up82 > $text_bytes)" \
	test "$up82" -gt "$text_bytes"
check "the relay to Shishi carried the RECEIVED change (> 1000 bytes: $n81)" \
	test "$n81" -gt 1000
# The one plaintext ZMTP has: each side's greeting names its mechanism.
for d in up down; do
	check "the ZMTP greeting naming CURVE crossed ($d)" \
		bash -c "cat '$T'/wire/to82-*.$d | grep -qaF CURVE"
done

# The application: names, ID number, phone, address, documents...
for f in applicant.name applicant.id_number applicant.phone \
	applicant.addresses.0 applicant.employer origin_reference intake_officer \
	matter.handling_body matter.summary matter.opposing_parties.0.name; do
	v=$(json "$f" < "$T/app.json")
	check "the wire holds no $f ('$v')" wire_lacks "$v"
done
expect_eq "the wire holds none of the application's $(wc -l < "$T/texts") texts (every string, documents decoded)" \
	none "$(wire_found "$T/texts")"
# ... and the headers: referral id, msg_id, key ids, node codes; the
# RECEIVED change's states; the receipts: the detail "stored", their
# msg_id, the envelope's SHA-256; the nodes' names. (The signing prefix,
# "referral.v1/envelope", is signed but never sent, even in the clear.)
for v in "$id" 350581-k1 350582-k1 350581 350582 RECEIVED REQUESTED stored \
	"石狮市法律援助中心" "晋江市法律援助中心"; do
	check "the wire holds no '$v'" wire_lacks "$v"
done
for f in msg_id receipt.receipt_msg_id envelope_sha256; do
	v=$(echo "$show" | json "$f")
	check "the wire holds no $f (raw bytes of $v)" wire_lacks "$v" hex
done

# ---- 2. an impostor where the directory says Jinjiang is
kill -TERM "$PID_to82"
wait "$PID_to82" 2>/dev/null
check "the impostor's CURVE key is not Jinjiang's" test \
	"$(json public < "$T/350583/curve.json")" != "$(json public < "$T/350582/curve.json")"
# fproxy NAME SERVER_DATA: a faultproxy that forwards everything, at the
# port the directory gives Jinjiang, as the CURVE server of SERVER_DATA.
fproxy() {
	rm -f "$T/$1.stats"
	"$PROXY" --listen "tcp://127.0.0.1:$front82" --target "$(listen_of 350582)" \
		--server-data "$2" --client-data "$T/350581" \
		--stats-file "$T/$1.stats" 2>> "$T/$1.log" &
	PIDS+=($!)
	eval "PID_$1=$!"
	wait_for 10 test -s "$T/$1.stats" || { not_ok "faultproxy $1 did not start"; cat "$T/$1.log"; exit 1; }
}
# inbox_ids CODE: the referral ids in the node's inbox, sorted, on one line.
inbox_ids() {
	"$REFCTL" --data "$T/$1" list --inbox --json |
		"$PY" -c 'import json,sys; print(" ".join(sorted(r["referral_id"] for r in json.load(sys.stdin)["referrals"])))'
}
# stat_of NAME WHAT: a count from the proxy's stats file.
stat_of() { json "$2" < "$T/$1.stats"; }
# conns_to PORT SECONDS: watches the kernel's TCP table for SECONDS and
# prints how many connections to PORT it saw that were not there at the
# start (each named by its client port; a closed one stays in TIME-WAIT).
conns_to() {
	"$PY" - "$1" "$2" <<'PY'
import sys, time
port, secs = int(sys.argv[1]), float(sys.argv[2])
def clients():
    seen = set()
    for line in open("/proc/net/tcp").readlines()[1:]:
        f = line.split()
        lport, rport = int(f[1].split(":")[1], 16), int(f[2].split(":")[1], 16)
        if f[3] == "0A":
            continue  # LISTEN
        if lport == port:
            seen.add(rport)
        elif rport == port:
            seen.add(lport)
    return seen
before, seen, end = clients(), set(), time.time() + secs
while time.time() < end:
    seen |= clients()
    time.sleep(0.1)
print(len(seen - before))
PY
}
loglines=$(wc -l < "$T/350581.log")
fproxy impostor "$T/350583"
id2=$(submit 350581 350582 "$T/app.json")
check "the second submit printed a referral id" test "${id2:0:7}" = "350581-"
# Shown by waiting: it must stay undelivered for a while, though Shishi
# keeps connecting to the impostor.
n=$(conns_to "$front82" 6)
check "Shishi connected to the impostor ($n connections in 6 s)" test "$n" -ge 1
expect_eq "after 6 s at the impostor: still pending" pending "$(delivery_of 350581 "$id2")"
show2=$("$REFCTL" --data "$T/350581" show "$id2" --json)
check "Shishi kept trying ($(echo "$show2" | json attempts) attempts)" \
	test "$(echo "$show2" | json attempts)" -ge 1
expect_eq "but never had a connection to send it on" 0 "$(echo "$show2" | json sends)"
expect_eq "Jinjiang's inbox holds the first referral only" "$id" "$(inbox_ids 350582)"
kill -TERM "$PID_impostor"
wait "$PID_impostor" 2>/dev/null
echo "impostor: $(cat "$T/impostor.stats")"
expect_eq "the impostor forwarded nothing" 0 "$(stat_of impostor forwarded)"
expect_eq "the impostor had no session" 0 "$(stat_of impostor sessions)"
during=$(tail -n +"$((loglines + 1))" "$T/350581.log")
expect_contains "Shishi's log names the failed handshake, with the endpoint" \
	"peer=350582 endpoint=tcp://127.0.0.1:$front82: CURVE handshake failed" "$during"
expect_contains "and why" "does not hold the CURVE key the directory lists for 350582" "$during"
expect_eq "once, not at every reconnection" 1 \
	"$(grep -c "CURVE handshake failed" <<< "$during")"

# ---- the real key at the same port
fproxy honest "$T/350582"
check "with Jinjiang's key at that port: delivered" wait_for 30 is_delivered 350581 "$id2"
check "and RECEIVED at Shishi" wait_for 20 in_state 350581 "$id2" RECEIVED
expect_eq "Jinjiang stored it once" 1 "$(events_of 350582 "$id2" received)"
check "Shishi's log says the handshake works again" \
	grep -q "peer=350582 handshake succeeded after [0-9]* failed" "$T/350581.log"
expect_eq "Jinjiang's inbox holds both" "$(printf '%s\n' "$id" "$id2" | sort | paste -sd' ')" \
	"$(inbox_ids 350582)"
kill -TERM "$PID_honest"
wait "$PID_honest" 2>/dev/null
echo "honest: $(cat "$T/honest.stats")"
check "the honest proxy forwarded ($(stat_of honest forwarded))" \
	test "$(stat_of honest forwarded)" -gt 0
check "through a session ($(stat_of honest sessions))" \
	test "$(stat_of honest sessions)" -gt 0
finish
