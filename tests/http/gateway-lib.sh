# gateway-lib.sh: what the gateway's tests add to tests/lib.sh (sourced
# after it by tests/integration/gateway-*.sh): a real referral-gw in
# front of a real node, on a free loopback port, with its own
# referral-gw.conf; its log is $T/gw-CODE.log, so that finish() finds any
# sanitizer report in it, and finish() stops it with the nodes.
GW_BIN=$BUILD/client/referral-gw

# token CODE NAME SCOPE [refctl token create options...]: prints the new
# token (shown once by the node).
token() {
	local code=$1 name=$2 scope=$3; shift 3
	"$REFCTL" --data "$T/$code" token create --name "$name" --scope "$scope" \
		"$@" --json | json token
}

# gateway CODE [CONFIG LINES...]: starts referral-gw for node CODE with
# those lines as its referral-gw.conf, waits until it answers, and sets
# GW_URL_CODE to http://127.0.0.1:PORT.
gateway() {
	local code=$1 port url; shift
	port=$(free_port)
	url="http://127.0.0.1:$port"
	printf '%s\n' "[daemon]" "log_level = info" "$@" > "$T/gw-$code.conf"
	"$GW_BIN" --data "$T/$code" --listen "127.0.0.1:$port" \
		--config "$T/gw-$code.conf" 2>> "$T/gw-$code.log" &
	PIDS+=($!)
	eval "PID_gw$code=$!"
	eval "GW_URL_$code=$url"
	wait_for 20 "$PY" -c 'import sys, urllib.request
urllib.request.urlopen(sys.argv[1] + "/openapi.json", timeout=2).read()' "$url" ||
		{ not_ok "referral-gw for $code did not answer within 20 s:"; tail -n 20 "$T/gw-$code.log"; exit 1; }
}
