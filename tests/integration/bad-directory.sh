# bad-directory.sh: a node refuses to start on an unsigned or wrongly
# signed directory, or a private key file others can read, saying why.
# A directory the authority signed that does not list the node as it is
# (missing, or with another signing or CURVE key) is refused too: on
# SIGHUP, in an update over the wire, and at start, and nothing changes.
. "$(dirname "$0")/../lib.sh"
two_nodes

refuses() { # DESCRIPTION NEEDLE
	local out rc
	out=$(timeout 10 "$REFERRALD" --data "$T/350581" 2>&1); rc=$?
	expect_eq "$1: exit status" 1 "$rc"
	expect_contains "$1: says why" "$2" "$out"
}
mv "$T/350581/directory.json.sig" "$T/sig.bak"
refuses "unsigned directory" "directory.json.sig"
"$REFCTL" authority keygen --out "$T/other" >/dev/null
cp "$T/directory.json" "$T/350581/"
"$REFCTL" directory sign --key "$T/other/authority.key" "$T/350581/directory.json" >/dev/null
refuses "directory signed by another key" "not signed by the authority"
cp "$T/sig.bak" "$T/350581/directory.json.sig"
sed -i 's/"version": 1/"version": 9/' "$T/350581/directory.json"
refuses "directory changed after signing" "not signed by the authority"
cp "$T/directory.json" "$T/350581/"
chmod 644 "$T/350581/signing.key"
refuses "signing key readable by others" "readable by others"
chmod 600 "$T/350581/signing.key"
chmod 640 "$T/350581/curve.json"
refuses "CURVE key readable by others" "readable by others"
chmod 600 "$T/350581/curve.json"
start 350581
ok "starts once the files are right"
# SIGHUP with a bad directory keeps the old one and says so.
before=$("$REFCTL" --data "$T/350581" status --json | json directory_version)
"$REFCTL" directory sign --key "$T/other/authority.key" "$T/350581/directory.json" >/dev/null
kill -HUP "$PID_350581"
sleep 1
expect_eq "still serving the old directory" "$before" "$("$REFCTL" --data "$T/350581" status --json | json directory_version)"
expect_contains "reload refusal logged" "reload refused" "$(cat "$T/350581.log")"

# ---- directories that do not list Shishi as it is, each version 2 and
# signed by the authority, so that only the node's own entry is wrong.
# Nan'an is made only for its keys: it is never started nor listed.
node 350583 "南安市法律援助中心"
# The pair in force back on disk (the check above left a foreign .sig).
cp "$T/directory.json" "$T/directory.json.sig" "$T/350581/"
# with FIELD: Shishi's entry with that key taken from Nan'an's entry.
"$PY" -c 'import json,sys
e=json.load(open(sys.argv[1])); o=json.load(open(sys.argv[2]))
s=json.loads(json.dumps(e)); s["signing_keys"][0]["public_key"]=o["signing_keys"][0]["public_key"]
c=json.loads(json.dumps(e)); c["curve_public_key"]=o["curve_public_key"]
json.dump(s,open(sys.argv[3],"w"),ensure_ascii=False,indent=2)
json.dump(c,open(sys.argv[4],"w"),ensure_ascii=False,indent=2)' \
	"$T/350581.entry.json" "$T/350583.entry.json" \
	"$T/350581-signing.entry.json" "$T/350581-curve.entry.json"
v2() { # NAME ENTRY...: $T/v2-NAME.json and its .sig, signed by the authority
	local name=$1; shift
	"$REFCTL" directory assemble --version 2 --authority 350500 \
		--out "$T/v2-$name.json" "$@" &&
	"$REFCTL" directory sign --key "$T/authority/authority.key" \
		"$T/v2-$name.json" >/dev/null || { echo "v2 $name failed"; exit 1; }
}
v2 missing "$T/350582.entry.json"
v2 signing "$T/350581-signing.entry.json" "$T/350582.entry.json"
v2 curve "$T/350581-curve.entry.json" "$T/350582.entry.json"
# What check_self says for each, word for word up to the version.
declare -A WHAT=(
	[missing]="a directory without this node"
	[signing]="a directory with another signing key for this node"
	[curve]="a directory with another CURVE key for this node"
)
declare -A SAYS=(
	[missing]="this node (350581) is not in the directory (version 2)"
	[signing]="the directory does not list key 350581-k1 of this node (350581) with the public half of signing.key"
	[curve]="the directory lists another CURVE key for this node (350581) than curve.json holds"
)
version_now() { "$REFCTL" --data "$T/350581" status --json | json directory_version; }
# In an update over the wire, as any directory member may send one.
sum_dir=$(sha256sum "$T/350581/directory.json" | cut -d' ' -f1)
for v in missing signing curve; do
	out=$("$PEERSIM" --data "$T/350582" --to 350581 --case directory-update \
		--file "$T/v2-$v.json")
	expect_contains "${WHAT[$v]}, in an update: REFUSED" "status=REFUSED verified=yes matches=yes" "$out"
	expect_contains "${WHAT[$v]}, in an update: says why" "directory version 2: ${SAYS[$v]}" "$out"
done
expect_eq "after the updates, still version 1" 1 "$(version_now)"
expect_eq "and the same directory file" "$sum_dir" "$(sha256sum "$T/350581/directory.json" | cut -d' ' -f1)"
# On SIGHUP.
for v in missing signing curve; do
	cp "$T/v2-$v.json" "$T/350581/directory.json"
	cp "$T/v2-$v.json.sig" "$T/350581/directory.json.sig"
	kill -HUP "$PID_350581"
	check "${WHAT[$v]}, on SIGHUP: refused, saying why" wait_for 5 \
		grep -qF "reload refused, keeping version 1: ${SAYS[$v]}" "$T/350581.log"
	expect_eq "${WHAT[$v]}, on SIGHUP: still version 1" 1 "$(version_now)"
done
# At start: the store, configuration and keys stay as they were.
stop 350581
kept() {
	sha256sum "$T/350581/store/data.mdb" "$T/350581/referrald.conf" \
		"$T/350581/signing.key" "$T/350581/curve.json" | cut -d' ' -f1 | tr '\n' ' '
}
sum=$(kept)
for v in missing signing curve; do
	cp "$T/v2-$v.json" "$T/350581/directory.json"
	cp "$T/v2-$v.json.sig" "$T/350581/directory.json.sig"
	refuses "${WHAT[$v]}, at start" "${SAYS[$v]}"
	expect_eq "${WHAT[$v]}, at start: store, configuration and keys unchanged" "$sum" "$(kept)"
done
cp "$T/directory.json" "$T/directory.json.sig" "$T/350581/"
start 350581
expect_eq "with its own directory back, it starts on version 1" 1 "$(version_now)"
finish
