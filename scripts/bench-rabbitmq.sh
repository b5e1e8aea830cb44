#!/usr/bin/env bash
# bench-rabbitmq.sh BUILD COUNT PACED: REF-1's workload on RabbitMQ 3.10
# from Debian, for scripts/bench.sh (never in the test suite).
#
# A private instance: its own data folder, ports and epmd, bound to
# 127.0.0.1, no plugins, started here and stopped at the end; a broker
# the package's installation started is stopped first. Two queues, each
# durable with persistent messages and publisher confirms (at most 1,000
# unconfirmed), a consumer with prefetch 1,000 acking each message
# (tests/bench-amqp.c on librabbitmq): a quorum queue (fsync before the
# confirm) and a classic queue. Prints a REF-1 line per queue:
#   REF-1 system=rabbitmq-quorum thr_msgs_s=N p50_ms=X p99_ms=Y rss_mb=Z
# rss_mb is the broker's (beam.smp's) peak resident memory.
set -eu
B=$1 count=$2 paced=$3
top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/scripts/deps.sh"
referral_deps rabbitmq-server librabbitmq-dev
# The package starts a system broker on install: ours runs alone.
if pgrep -u rabbitmq beam.smp >/dev/null 2>&1; then
	echo "stopping the system's rabbitmq-server (started by its package)"
	invoke-rc.d rabbitmq-server stop >/dev/null 2>&1 || pkill -u rabbitmq beam.smp || true
fi
# The AMQP client is built once librabbitmq is there.
if [ ! -x "$B/tests/bench-amqp" ]; then
	meson setup --reconfigure "$B" >/dev/null && ninja -C "$B" tests/bench-amqp >/dev/null
fi
R=$(mktemp -d /tmp/referral-rabbitmq.XXXXXX)
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
amqp=$(port) dist=$(port) epmd=$(port)
mkdir -p "$R/home" "$R/mnesia" "$R/log"
: > "$R/env.conf"
echo "[]." > "$R/plugins"
cat > "$R/rabbitmq.conf" <<CONF
listeners.tcp.default = 127.0.0.1:$amqp
disk_free_limit.absolute = 50MB
loopback_users.guest = true
CONF
export HOME=$R/home RABBITMQ_CONF_ENV_FILE=$R/env.conf \
	RABBITMQ_NODENAME=refbench@localhost RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 \
	RABBITMQ_NODE_PORT=$amqp RABBITMQ_DIST_PORT=$dist \
	RABBITMQ_CTL_DIST_PORT_MIN=$((dist + 1)) RABBITMQ_CTL_DIST_PORT_MAX=$((dist + 11)) \
	ERL_EPMD_PORT=$epmd ERL_EPMD_ADDRESS=127.0.0.1 \
	RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}" \
	RABBITMQ_MNESIA_BASE=$R/mnesia RABBITMQ_LOG_BASE=$R/log RABBITMQ_PID_FILE=$R/pid \
	RABBITMQ_CONFIG_FILE=$R/rabbitmq.conf RABBITMQ_ENABLED_PLUGINS_FILE=$R/plugins
bin=/usr/lib/rabbitmq/bin
epmd -port "$epmd" -address 127.0.0.1 -daemon -relaxed_command_check
stop_all() {
	local pid
	pid=$(cat "$R/pid" 2>/dev/null)
	"$bin/rabbitmqctl" -n refbench@localhost stop >/dev/null 2>&1 || true
	# Whatever the CLI managed, nothing of ours outlives the script.
	if [ -n "$pid" ]; then
		for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
		kill -9 "$pid" 2>/dev/null || true
	fi
	epmd -port "$epmd" -kill >/dev/null 2>&1 || true
	rm -rf "$R"
}
trap stop_all EXIT
"$bin/rabbitmq-server" > "$R/server.out" 2>&1 &
# The node registers with epmd some seconds after it starts: `wait` on
# its pid file covers that, then await_startup waits for the broker.
"$bin/rabbitmqctl" -n refbench@localhost wait --timeout 120 "$R/pid" >/dev/null 2>&1 &&
"$bin/rabbitmqctl" -n refbench@localhost await_startup --timeout 120 >/dev/null 2>&1 ||
	{ echo "RabbitMQ did not start:"; tail -n 20 "$R/server.out" "$R"/log/*.log 2>/dev/null; exit 1; }
echo "== REF-1 on RabbitMQ $("$bin/rabbitmqctl" -n refbench@localhost version 2>/dev/null), a private instance on 127.0.0.1:$amqp"
beam=$(cat "$R/pid")
for q in quorum classic; do
	( peak=0
	  while kill -0 "$beam" 2>/dev/null; do
		v=$(awk '/^VmRSS/ { print $2 }' "/proc/$beam/status" 2>/dev/null || echo 0)
		[ "${v:-0}" -gt "$peak" ] && peak=$v && echo "$peak" > "$R/peak-$q"
		sleep 0.1
	  done ) &
	sampler=$!
	thr=$("$B/tests/bench-amqp" "$amqp" "$q" "$count" 0)
	lat=$("$B/tests/bench-amqp" "$amqp" "$q" "$paced" 1000)
	kill "$sampler" 2>/dev/null; wait "$sampler" 2>/dev/null || true
	echo "REF-1 system=rabbitmq-$q $(echo "$thr" | grep -o 'thr_msgs_s=[0-9]*') $(echo "$lat" | grep -o 'p50_ms=[0-9.]* p99_ms=[0-9.]*') rss_mb=$(awk '{ printf "%.1f", $1 / 1024 }' "$R/peak-$q")"
done
