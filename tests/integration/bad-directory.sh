# bad-directory.sh: a node refuses to start on an unsigned or wrongly
# signed directory, or a private key file others can read, saying why.
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
finish
