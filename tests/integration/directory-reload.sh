# directory-reload.sh: SIGHUP installs a newer signed directory without a
# restart; a new county becomes reachable, and an older version is refused.
. "$(dirname "$0")/../lib.sh"
two_nodes
node 350583 "南安市法律援助中心"
start 350581
start 350582
cp "$T/directory.json" "$T/v1.json"
cp "$T/directory.json.sig" "$T/v1.json.sig"
out=$("$REFCTL" --data "$T/350581" submit --to 350583 "$T/app.json" 2>&1)
expect_contains "350583 unknown under version 1" "not a node in the directory" "$out"

directory 2 350581 350582 350583
kill -HUP "$PID_350581" "$PID_350582"
check "Shishi now holds version 2" wait_for 5 bash -c \
	"'$REFCTL' --data '$T/350581' status --json | grep -q '\"directory_version\": 2'"
start 350583
id=$(submit 350581 350583 "$T/app.json")
check "delivered to the county added by the reload" wait_for 15 is_delivered 350581 "$id"
id2=$(submit 350581 350582 "$T/app.json")
check "peers from version 1 still served" wait_for 15 is_delivered 350581 "$id2"

cp "$T/v1.json" "$T/350581/directory.json"
cp "$T/v1.json.sig" "$T/350581/directory.json.sig"
kill -HUP "$PID_350581"
sleep 1
expect_eq "an older version is not applied" 2 \
	"$("$REFCTL" --data "$T/350581" status --json | json directory_version)"
expect_contains "and the refusal is logged" "older than version 2" "$(cat "$T/350581.log")"
stop 350581
out=$(timeout 10 "$REFERRALD" --data "$T/350581" 2>&1); rc=$?
expect_eq "a restart on the older directory is refused" 1 "$rc"
expect_contains "and says so" "older than version 2 that this node applied before" "$out"
finish
