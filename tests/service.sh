# service.sh UNIT REFERRALD: the systemd unit that `meson install` puts in
# place parses cleanly (systemd-analyze verify, with ExecStart pointed at
# this build's referrald), and says what README promises of it: the node's
# own account, the store in /var/lib/referral, SIGHUP to reload, private
# files, a restart after a failure. Systemd is not running here: the unit
# is checked, not started.
set -u
unit=$1 referrald=$2
command -v systemd-analyze >/dev/null ||
	{ echo "SKIP: systemd-analyze is not installed (apt-get install systemd)"; exit 77; }
T=$(mktemp -d /tmp/referral-unit.XXXXXX)
trap 'rm -rf "$T"' EXIT
failed=0
ok() { echo "ok - $1"; }
not_ok() { echo "FAIL - $1"; failed=1; }
has() { if grep -qxE -- "$2" "$unit"; then ok "$1"; else not_ok "$1: no line '$2'"; fi; }
sed "s|^ExecStart=.*/referrald |ExecStart=$referrald |" "$unit" > "$T/referrald.service"
out=$(cd "$T" && systemd-analyze verify --man=no ./referrald.service 2>&1); rc=$?
if [ "$rc" = 0 ] && [ -z "$out" ]; then ok "systemd-analyze verify: no complaint"
else not_ok "systemd-analyze verify (exit $rc): $out"; fi
has "runs as its own account" "User=referral"
has "with the store in /var/lib/referral" "ExecStart=/.*/referrald --data /var/lib/referral"
has "reload puts a new directory in force" 'ExecReload=/bin/kill -HUP \$MAINPID'
has "files it makes are its own" "UMask=0077"
has "its group may only pass through the data folder to the socket" "StateDirectoryMode=0710"
has "restarted after a failure" "Restart=on-failure"
# The checker must be able to fail: a unit with a typo is reported.
sed 's/^Restart=on-failure/Restart=on-falure/' "$T/referrald.service" > "$T/bad.service"
out=$(cd "$T" && systemd-analyze verify --man=no ./bad.service 2>&1)
case $out in *"on-falure"*) ok "a typo in the unit is reported" ;; *) not_ok "a typo in the unit went unreported: $out" ;; esac
exit $failed
