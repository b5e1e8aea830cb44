# audit-trail-export.sh: the merged trail of a referral shows both nodes'
# events, the counterpart's marked with the key that signed them; an export
# checks with `openssl pkeyutl -verify` and `refctl audit verify-export`,
# and fails after a one-byte change; an export without --include-personal
# holds none of the invented applicant's personal fields, and one with them
# needs the admin role and is itself recorded. Nothing read changes the store.
. "$(dirname "$0")/../lib.sh"
two_nodes "[roles]" "admins = admin-01"
start 350581
start 350582
S="$REFCTL --data $T/350581 --actor staff-0107"
J="$REFCTL --data $T/350582 --actor reviewer-02"
id=$(submit 350581 350582 "$T/app.json")
check "delivered" wait_for 15 is_delivered 350581 "$id"
check "RECEIVED at Shishi" wait_for 15 in_state 350581 "$id" RECEIVED
$J request-materials "$id" --item "copy of the labour contract" >/dev/null
check "AWAITING_MATERIALS at Shishi" wait_for 15 in_state 350581 "$id" AWAITING_MATERIALS
echo "an invented labour contract" > "$T/contract.txt"
$S supplement "$id" --doc "$T/contract.txt" >/dev/null
check "back to RECEIVED at Jinjiang" wait_for 15 in_state 350582 "$id" RECEIVED
$J accept "$id" >/dev/null
check "GRANTED at Shishi" wait_for 15 in_state 350581 "$id" GRANTED
# Settled first, so that the counts below compare exports of one chain.
check "Shishi and Jinjiang have greeted each other" wait_for 30 greeted 350581

# The invented applicant's personal fields, from the fixture itself.
read -r NAME IDNO PHONE ADDR < <("$PY" -c 'import json,sys
a=json.load(open(sys.argv[1]))["applicant"]
print(a["name"], a["id_number"], a["phone"], a["addresses"][0])' "$T/app.json")
no_personal() { # DESCRIPTION FILE
	local hit=""
	for v in "$NAME" "$IDNO" "$PHONE" "$ADDR"; do
		grep -qF -- "$v" "$2" && hit="$hit $v"
	done
	if [ -z "$hit" ]; then ok "$1"; else not_ok "$1: found a personal field"; fi
}

# ---- the merged trail, at each end
count() { # FILE PYTHON-CONDITION-ON-e
	"$PY" -c 'import json,sys
t=json.load(open(sys.argv[1]))
print(sum(1 for e in t["entries"] if eval(sys.argv[2])))' "$1" "$2"
}
"$REFCTL" --data "$T/350581" audit trail "$id" --json > "$T/trail-s.json"; rc=$?
expect_eq "trail at Shishi: exit 0" 0 "$rc"
expect_eq "Shishi is the origin" origin "$(json role < "$T/trail-s.json")"
expect_eq "its counterpart is Jinjiang" 350582 "$(json counterpart < "$T/trail-s.json")"
expect_eq "no signature fails" 0 "$(json bad_signatures < "$T/trail-s.json")"
check "Shishi's own chained events are in it" test "$(count "$T/trail-s.json" 'e["by"]=="350581" and e["recorded_in"]=="audit chain"')" -ge 5
check "Jinjiang's signed receipts are in it, marked with its key" test "$(count "$T/trail-s.json" 'e["by"]=="350582" and e["event"]=="receipt" and e["signed_by"]=="350582-k1" and e["signature"]=="good"')" -ge 2
# RECEIVED twice: on arrival, and again once the supplement was applied.
for st in RECEIVED:2 AWAITING_MATERIALS:1 GRANTED:1; do
	expect_eq "Jinjiang's signed status change to ${st%:*} is in it (${st#*:})" "${st#*:}" \
		"$(count "$T/trail-s.json" "e['by']=='350582' and e['event']=='status_change' and e['outcome']=='${st%:*}' and e['signed_by']=='350582-k1'")"
done
expect_eq "in time order" ok "$("$PY" -c 'import json,sys
t=[e["time_ms"] for e in json.load(open(sys.argv[1]))["entries"]]
print("ok" if t==sorted(t) else "no")' "$T/trail-s.json")"
"$REFCTL" --data "$T/350582" audit trail "$id" --json > "$T/trail-j.json"
expect_eq "at Jinjiang, Shishi's signed application is in the trail" 1 \
	"$(count "$T/trail-j.json" 'e["by"]=="350581" and e["event"]=="referral_submit" and e["signed_by"]=="350581-k1" and e["signature"]=="good"')"
expect_eq "and Shishi's signed supplement" 1 \
	"$(count "$T/trail-j.json" 'e["by"]=="350581" and e["event"]=="materials_supplement" and e["signed_by"]=="350581-k1"')"
check "and Shishi's signed receipts" test "$(count "$T/trail-j.json" 'e["by"]=="350581" and e["event"]=="receipt" and e["signed_by"]=="350581-k1"')" -ge 3
check "and Jinjiang's own chained events" test "$(count "$T/trail-j.json" 'e["by"]=="350582" and e["recorded_in"]=="audit chain"')" -ge 5
"$REFCTL" --data "$T/350581" audit trail "$id" > "$T/trail-s.txt"
expect_contains "the human trail marks who signed" "signed 350582-k1 ok" "$(cat "$T/trail-s.txt")"
no_personal "the trail shows no personal field" "$T/trail-s.txt"
no_personal "nor does the JSON trail" "$T/trail-j.json"
out=$("$REFCTL" --data "$T/350581" audit trail 350581-0123456789abcdef0123456789abcdef 2>&1); rc=$?
check "an unknown referral: non-zero exit" test "$rc" -ne 0
expect_contains "and says so" "not in this store" "$out"

# ---- exports
EXP="$T/export"
mkdir -p "$EXP"
"$REFCTL" --data "$T/350581" audit export --out "$EXP/a.jsonl" > "$T/export.out"; rc=$?
expect_eq "an export: exit 0" 0 "$rc"
n=$(wc -l < "$EXP/a.jsonl")
expect_eq "one line per record, as the manifest says" "$n" "$(json records < "$EXP/a.jsonl.manifest")"
check "every line is a JSON record with its hash" "$PY" -c 'import json,sys
for l in open(sys.argv[1]):
    r=json.loads(l); assert len(r["hash"])==64 and len(r["prev_hash"])==64 and r["seq"]>0' "$EXP/a.jsonl"
no_personal "an export without --include-personal holds no personal field" "$EXP/a.jsonl"
"$REFCTL" --data "$T/350581" audit export --format csv --out "$EXP/a.csv" >/dev/null
no_personal "nor does the CSV export" "$EXP/a.csv"
expect_eq "the CSV has a header row" "seq,time,time_ms,event,referral_id,msg_id,peer,actor,outcome,detail,prev_hash,hash" \
	"$(head -n 1 "$EXP/a.csv" | tr -d '\r')"
PUB="$T/350581/signing.pub.pem"
ossl_verify() { openssl pkeyutl -verify -pubin -inkey "$PUB" -rawin -in "$1.manifest" -sigfile "$1.manifest.sig" >/dev/null 2>&1; }
ossl_sha() { [ "$(openssl dgst -sha256 -r "$1" | cut -d' ' -f1)" = "$(json sha256 < "$1.manifest")" ]; }
check "openssl pkeyutl -verify accepts the manifest" ossl_verify "$EXP/a.jsonl"
check "and the file's SHA-256 is the manifest's" ossl_sha "$EXP/a.jsonl"
check "openssl accepts the CSV export's manifest" ossl_verify "$EXP/a.csv"
check "refctl audit verify-export accepts it" "$REFCTL" --data "$T/350581" audit verify-export "$EXP/a.jsonl"
check "and the CSV export" "$REFCTL" --data "$T/350581" audit verify-export "$EXP/a.csv"
# Offline, with only the directory and the authority's public key.
mkdir -p "$T/auditor"
cp "$T/directory.json" "$T/directory.json.sig" "$T/authority/authority.pub.pem" "$T/auditor/"
out=$("$REFCTL" audit verify-export "$EXP/a.jsonl" --directory "$T/auditor/directory.json" \
	--authority "$T/auditor/authority.pub.pem" 2>&1); rc=$?
expect_eq "offline against the directory: exit 0" 0 "$rc"
expect_contains "naming who signed" "signed by 350581-k1 of 350581" "$out"

flip() { # FILE OFFSET: changes one byte
	"$PY" -c 'import sys
p,o=sys.argv[1],int(sys.argv[2]); b=bytearray(open(p,"rb").read()); b[o]^=0x01; open(p,"wb").write(b)' "$1" "$2"
}
cp "$EXP/a.jsonl" "$EXP/b.jsonl"; cp "$EXP/a.jsonl.manifest" "$EXP/b.jsonl.manifest"
cp "$EXP/a.jsonl.manifest.sig" "$EXP/b.jsonl.manifest.sig"
flip "$EXP/b.jsonl" 40
check "one byte changed in the export: its SHA-256 is not the manifest's" \
	test "$(openssl dgst -sha256 -r "$EXP/b.jsonl" | cut -d' ' -f1)" != "$(json sha256 < "$EXP/b.jsonl.manifest")"
out=$("$REFCTL" --data "$T/350581" audit verify-export "$EXP/b.jsonl" 2>&1); rc=$?
check "verify-export: non-zero exit" test "$rc" -ne 0
expect_contains "and says the file does not match its manifest" "does not match its manifest" "$out"
cp "$EXP/a.jsonl" "$EXP/b.jsonl"
flip "$EXP/b.jsonl.manifest" 100
check "one byte changed in the manifest: openssl pkeyutl -verify refuses it" bash -c "! openssl pkeyutl -verify -pubin -inkey '$PUB' -rawin -in '$EXP/b.jsonl.manifest' -sigfile '$EXP/b.jsonl.manifest.sig' >/dev/null 2>&1"
out=$("$REFCTL" --data "$T/350581" audit verify-export "$EXP/b.jsonl" 2>&1); rc=$?
check "verify-export: non-zero exit" test "$rc" -ne 0
expect_contains "and says the signature fails" "signature does not verify" "$out"
# A manifest naming a node the directory does not know.
sed 's/"node": "350581"/"node": "350599"/' "$EXP/a.jsonl.manifest" > "$EXP/b.jsonl.manifest"
out=$("$REFCTL" --data "$T/350581" audit verify-export "$EXP/b.jsonl" 2>&1); rc=$?
check "an unknown node code: non-zero exit" test "$rc" -ne 0
expect_contains "and says so" "350599, which is not in the directory" "$out"
out=$("$REFCTL" --data "$T/350582" audit verify-export "$EXP/a.jsonl" 2>&1); rc=$?
expect_eq "Jinjiang checks Shishi's export with the same directory" 0 "$rc"
out=$("$REFCTL" --data "$T/350581" audit export --out "$EXP/c.jsonl" --format xml 2>&1); rc=$?
check "--format xml: non-zero exit" test "$rc" -ne 0
expect_contains "naming the formats" "use jsonl or csv" "$out"
out=$("$REFCTL" --data "$T/350581" audit export --out "$EXP/c.jsonl" --since yesterday 2>&1); rc=$?
check "a bad --since: non-zero exit" test "$rc" -ne 0
today=$(TZ=Asia/Shanghai date +%F)
"$REFCTL" --data "$T/350581" audit export --out "$EXP/none.jsonl" --until "$today" >/dev/null
expect_eq "--until today's start (Beijing): nothing from today" 0 "$(json records < "$EXP/none.jsonl.manifest")"
"$REFCTL" --data "$T/350581" audit export --out "$EXP/today.jsonl" --since "$today" >/dev/null
expect_eq "--since today: all of today's" "$n" "$(json records < "$EXP/today.jsonl.manifest")"

# ---- personal data: the admin role, and a record of it
before=$(audit_count 350581)
out=$("$REFCTL" --data "$T/350581" --actor staff-0107 audit export --include-personal --out "$EXP/p.jsonl" 2>&1); rc=$?
check "--include-personal as staff: non-zero exit" test "$rc" -ne 0
expect_contains "says it needs the admin role" "admin role" "$out"
check "and writes no file" test ! -e "$EXP/p.jsonl"
"$REFCTL" --data "$T/350581" audit export --out "$EXP/after-refusal.jsonl" >/dev/null
expect_eq "the refusal is recorded, with who asked" "export_refused staff-0107 REFUSED" \
	"$(tail -n 1 "$EXP/after-refusal.jsonl" | "$PY" -c 'import json,sys; r=json.load(sys.stdin); print(r["event"], r["actor"], r["outcome"])')"
out=$("$REFCTL" --data "$T/350581" --actor admin-01 audit export --include-personal --format csv --out "$EXP/p.csv" 2>&1); rc=$?
expect_eq "--include-personal as the admin: exit 0" 0 "$rc"
check "the file holds the applicant's name" grep -qF "$NAME" "$EXP/p.csv"
check "and ID number" grep -qF "$IDNO" "$EXP/p.csv"
expect_eq "readable by its owner only" 600 "$(stat -c %a "$EXP/p.csv")"
expect_eq "the manifest says it holds personal data" true "$(json include_personal < "$EXP/p.csv.manifest")"
check "it verifies too" "$REFCTL" --data "$T/350581" audit verify-export "$EXP/p.csv"
"$REFCTL" --data "$T/350581" audit export --out "$EXP/after.jsonl" >/dev/null
expect_eq "the export is recorded, with the admin's id" "export admin-01 ok" \
	"$(tail -n 1 "$EXP/after.jsonl" | "$PY" -c 'import json,sys; r=json.load(sys.stdin); print(r["event"], r["actor"], r["outcome"])')"
no_personal "the record of it holds no personal field" "$EXP/after.jsonl"
check "two audit records were added (refused, allowed)" test "$(audit_count 350581)" -eq $((before + 2))
no_personal "no personal field in Shishi's log" "$T/350581.log"
# A staff id typed as a spreadsheet formula lands in the chain as given;
# the CSV export writes it as text.
"$REFCTL" --data "$T/350581" --actor '=HYPERLINK("http://example.invalid","x")' \
	audit export --include-personal --out "$EXP/f.jsonl" >/dev/null 2>&1
"$REFCTL" --data "$T/350581" audit export --format csv --out "$EXP/f.csv" >/dev/null
expect_eq "a formula-like field in a CSV export is written as text" ok "$("$PY" -c '
import csv, sys
rows = list(csv.reader(open(sys.argv[1], newline="")))
last = rows[-1]
bad = [f for r in rows for f in r if f[:1] in ("=", "+", "-", "@", "\t", "\r")]
print("ok" if last[7].startswith("\x27=HYPERLINK") and not bad else f"{last[7]!r} {bad[:3]}")' "$EXP/f.csv")"
check "and the export still verifies" "$REFCTL" --data "$T/350581" audit verify-export "$EXP/f.csv"

# ---- nothing read changes the store
stop 350581
sum=$(sha256sum "$T/350581/store/data.mdb" | cut -d' ' -f1)
"$REFCTL" --data "$T/350581" audit trail "$id" >/dev/null
"$REFCTL" --data "$T/350581" audit export --out "$EXP/d.jsonl" >/dev/null
"$REFCTL" --data "$T/350581" audit verify >/dev/null
expect_eq "trail, export and verify change nothing in the file" "$sum" \
	"$(sha256sum "$T/350581/store/data.mdb" | cut -d' ' -f1)"
out=$("$REFCTL" --data "$T/350581" --actor admin-01 audit export --include-personal --out "$EXP/q.jsonl" 2>&1); rc=$?
check "--include-personal with the node stopped: non-zero exit" test "$rc" -ne 0
check "and no file" test ! -e "$EXP/q.jsonl"
finish
