# batch.sh: batch signatures and batch receipts on the wire (DESIGN.md's
# extension). 300 referrals go through libreferral's pipe at once, so each
# turn makes many messages: both nodes sign each turn's messages and
# receipts with one signature, the receiver answers each turn's messages
# with one RECEIPT_BATCH, and everything is delivered and applied once. At
# the origin, the merged trail shows the receiver's status changes and
# receipts signed as part of a batch and verified, the receipts as entries
# of a RECEIPT_BATCH that holds our message's msg_id; one of each is then
# checked alone, as an auditor would, with Python's hashlib for the RFC
# 6962 path and `openssl pkeyutl -verify` for the root signature with the
# receiver's public key. A peer that sends only single forms (peersim) is
# still served (bad-envelopes.sh, delivery.sh), and a message answered
# alone gets a single RECEIPT (delivery.sh).
. "$(dirname "$0")/../lib.sh"
two_nodes
start 350581
start 350582
"$BUILD/tests/bench-ref1" "$T/350581" 350582 300 300 0 "$T/acked.txt" > "$T/driver.out" 2>&1
expect_eq "300 referrals acknowledged" 300 "$(wc -l < "$T/acked.txt")"
drained() { [ "$("$REFCTL" --data "$T/350581" status --json | json outbox.pending)" = 0 ]; }
check "every one delivered" wait_for 60 drained
# trail_forms: over every referral's trail at Shishi, how many of
# Jinjiang's status changes and receipts came in a batch of more than
# one, verified ("good"), and a file with one of each for openssl.
"$PY" - "$REFCTL" "$T" "$T/acked.txt" > "$T/forms.txt" <<'PY'
import json, subprocess, sys, base64
refctl, T, acked = sys.argv[1], sys.argv[2], sys.argv[3]
counts = {"status_change": 0, "receipt": 0}
bad = 0
in_rb = 0   # receipts that were entries of a RECEIPT_BATCH naming our message
kept = {}
for line in list(open(acked))[:40]:
    rid = line.split()[0]
    tr = json.loads(subprocess.check_output([refctl, "--data", T + "/350581", "audit", "trail", rid, "--json"]))
    ours = [bytes.fromhex(e["msg_id"]) for e in tr["entries"]
            if e.get("by") == "350581" and e["event"] == "submitted"]
    for e in tr["entries"]:
        if e.get("by") != "350582" or "batch" not in e:
            continue
        if e["signature"] != "good":
            bad += 1
        if e["event"] in counts and e["batch"]["count"] > 1:
            counts[e["event"]] += 1
            # the receipt kept for openssl is a RECEIPT_BATCH
            if e["event"] != "receipt" or e.get("batch_receipts", 0) > 1:
                kept.setdefault(e["event"], e["envelope_base64"])
        if e["event"] == "receipt" and e.get("batch_receipts", 0) > 1 and \
           len(ours) == 1 and ours[0] in base64.b64decode(e["envelope_base64"]):
            in_rb += 1
            if in_rb == 1:
                open(T + "/in-batch.txt", "w").write(rid + "\n")
for k, v in kept.items():
    open("%s/%s.env" % (T, k), "wb").write(base64.b64decode(v))
print(counts["status_change"], counts["receipt"], bad, in_rb)
PY
read -r sc rc bad rb < "$T/forms.txt"
check "Jinjiang's status changes came signed in batches ($sc of them)" test "${sc:-0}" -gt 0
check "and its receipts too ($rc of them)" test "${rc:-0}" -gt 0
check "receipts came as RECEIPT_BATCH entries naming our message ($rb of them)" \
	test "${rb:-0}" -gt 0
expect_eq "each verified at Shishi" 0 "$bad"

# alone KIND: rebuilds the root from the envelope's own path and checks
# the root signature with openssl and the public key alone.
alone() {
	"$PY" - "$T/$1.env" "$T/$1" <<'PY' || return 1
import hashlib, sys
buf = open(sys.argv[1], "rb").read()
def varint(b, i):
    v = s = 0
    while True:
        c = b[i]; i += 1; v |= (c & 0x7f) << s; s += 7
        if not c & 0x80: return v, i
def fields(b):
    i, out = 0, []
    while i < len(b):
        key, i = varint(b, i)
        f, t = key >> 3, key & 7
        if t == 0: v, i = varint(b, i)
        elif t == 2:
            n, i = varint(b, i); v = b[i:i + n]; i += n
        else: raise SystemExit("unexpected wire type")
        out.append((f, v))
    return out
env = fields(buf)
header = [v for f, v in env if f == 1][0]
proof = fields([v for f, v in env if f == 4][0])
sig = [v for f, v in proof if f == 1][0]
index = ([v for f, v in proof if f == 2] or [0])[0]
count = [v for f, v in proof if f == 3][0]
path = [v for f, v in proof if f == 4]
H = lambda b: hashlib.sha256(b).digest()
r = H(b"\x00" + header)
fn, sn = index, count - 1
for p in path:          # RFC 9162 section 2.1.3.2
    if fn & 1 or fn == sn:
        r = H(b"\x01" + p + r)
        while not fn & 1 and fn != 0:
            fn >>= 1; sn >>= 1
    else:
        r = H(b"\x01" + r + p)
    fn >>= 1; sn >>= 1
assert sn == 0, "the path is not a path of this tree"
open(sys.argv[2] + ".in", "wb").write(b"referral.v1/batch\x00" + r + count.to_bytes(4, "big"))
open(sys.argv[2] + ".sig", "wb").write(sig)
PY
	openssl pkeyutl -verify -pubin -inkey "$T/350582/signing.pub.pem" -rawin \
		-in "$T/$1.in" -sigfile "$T/$1.sig" >/dev/null 2>&1
}
check "a batched status change verifies alone with openssl" alone status_change
check "a batched RECEIPT_BATCH verifies alone with openssl" alone receipt
# One bit of its path changed: the root is another, and openssl refuses.
"$PY" -c '
import sys
b = bytearray(open(sys.argv[1], "rb").read()); b[-40] ^= 1
open(sys.argv[1], "wb").write(bytes(b))' "$T/receipt.env"
if alone receipt; then not_ok "with one bit of its path changed, openssl still accepts it"
else ok "with one bit of its path changed, openssl refuses it"; fi
# refctl show reads the batch the receipt came in, verifies it, and shows
# the entry for this referral's message (one whose receipt came in a
# batch, found above).
id=$(cat "$T/in-batch.txt" 2>/dev/null)
show=$("$REFCTL" --data "$T/350581" show "$id" --json)
expect_eq "show: the receipt is STORED" STORED "$(echo "$show" | json receipt.status)"
expect_eq "show: it verifies" true "$(echo "$show" | json receipt.verified)"
expect_eq "show: it names our envelope" "$(echo "$show" | json envelope_sha256)" \
	"$(echo "$show" | json receipt.envelope_sha256)"
check "show: it came in a RECEIPT_BATCH ($(echo "$show" | json receipt.batch_receipts) receipts)" \
	test "$(echo "$show" | json receipt.batch_receipts)" -gt 1
expect_eq "each stored and applied exactly once" ok "$(. "$(dirname "$0")/../fault/common.sh"; exactly_once 350581 350582 "$T/acked.txt")"
finish
