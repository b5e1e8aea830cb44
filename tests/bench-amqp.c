/* bench-amqp.c: REF-1's workload on an AMQP 0-9-1 broker (RabbitMQ), for
 * scripts/bench-rabbitmq.sh: the figures the project is compared with.
 *
 *   bench-amqp PORT QUEUE_TYPE COUNT RATE
 *
 * Declares a durable queue of QUEUE_TYPE (quorum or classic) named
 * "ref1-QUEUE_TYPE", then, on two connections: a publisher sends COUNT
 * persistent messages of 1 KiB with publisher confirms, at most 1,000
 * unconfirmed (RATE 0: as fast as confirms allow; RATE N: paced at N a
 * second, open loop, a late message sent at once); a consumer with
 * prefetch 1,000 acknowledges each message. A message is counted when the
 * consumer holds it; its latency runs from its publish to then (the send
 * time travels in the body). Prints
 *   thr_msgs_s=N p50_ms=X p99_ms=Y received=N
 * and exits non-zero if a message is missing. Asserts nothing about time. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include <amqp.h>
#include <amqp_framing.h>
#include <amqp_tcp_socket.h>

#define WINDOW 1000
#define BODY 1024

static int port;
static long count, rate;
static char queue[64];
static double *lat, t_first, t_last;
static long received;

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void die(const char *what, amqp_rpc_reply_t r)
{
	if (r.reply_type == AMQP_RESPONSE_NORMAL)
		return;
	fprintf(stderr, "bench-amqp: %s failed (reply type %d, %s)\n", what,
		(int)r.reply_type,
		r.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION
		? amqp_error_string2(r.library_error) : "broker exception");
	exit(1);
}

static amqp_connection_state_t connect_to(void)
{
	amqp_connection_state_t c = amqp_new_connection();
	amqp_socket_t *s = amqp_tcp_socket_new(c);

	if (!s || amqp_socket_open(s, "127.0.0.1", port)) {
		fprintf(stderr, "bench-amqp: cannot connect to 127.0.0.1:%d\n",
			port);
		exit(1);
	}
	die("login", amqp_login(c, "/", 0, 131072, 0, AMQP_SASL_METHOD_PLAIN,
				"guest", "guest"));
	amqp_channel_open(c, 1);
	die("channel", amqp_get_rpc_reply(c));
	return c;
}

static void *consume(void *arg)
{
	amqp_connection_state_t c = connect_to();

	(void)arg;
	amqp_basic_qos(c, 1, 0, WINDOW, 0);
	die("qos", amqp_get_rpc_reply(c));
	amqp_basic_consume(c, 1, amqp_cstring_bytes(queue), amqp_empty_bytes,
			   0, 0, 0, amqp_empty_table);
	die("consume", amqp_get_rpc_reply(c));
	while (received < count) {
		amqp_envelope_t e;
		double sent, t;

		amqp_maybe_release_buffers(c);
		die("consume_message", amqp_consume_message(c, &e, NULL, 0));
		t = now_ms();
		memcpy(&sent, e.message.body.bytes, sizeof(sent));
		if (received < count)
			lat[received++] = t - sent;
		t_last = t;
		amqp_basic_ack(c, 1, e.delivery_tag, 0);
		amqp_destroy_envelope(&e);
	}
	amqp_channel_close(c, 1, AMQP_REPLY_SUCCESS);
	amqp_connection_close(c, AMQP_REPLY_SUCCESS);
	amqp_destroy_connection(c);
	return NULL;
}

/* Takes the confirms that have come (waiting up to wait_us for one). */
static void confirms(amqp_connection_state_t c, uint64_t *confirmed,
		     long wait_us)
{
	for (;;) {
		amqp_frame_t f;
		struct timeval tv = { 0, wait_us };
		int r = amqp_simple_wait_frame_noblock(c, &f, &tv);

		if (r != AMQP_STATUS_OK)
			return;
		wait_us = 0;
		if (f.frame_type != AMQP_FRAME_METHOD)
			continue;
		if (f.payload.method.id == AMQP_BASIC_ACK_METHOD) {
			amqp_basic_ack_t *a = f.payload.method.decoded;
			if (a->multiple || a->delivery_tag > *confirmed)
				*confirmed = a->delivery_tag > *confirmed
					     ? a->delivery_tag : *confirmed;
		} else if (f.payload.method.id == AMQP_BASIC_NACK_METHOD) {
			fprintf(stderr, "bench-amqp: the broker refused a "
				"message (nack)\n");
			exit(1);
		}
	}
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	amqp_connection_state_t c;
	amqp_table_entry_t arg;
	amqp_table_t args = { 0, NULL };
	amqp_basic_properties_t props;
	uint64_t confirmed = 0;
	pthread_t consumer;
	char body[BODY];
	double t0;

	if (argc < 5) {
		fprintf(stderr, "usage: bench-amqp PORT quorum|classic COUNT RATE\n");
		return 2;
	}
	port = atoi(argv[1]);
	count = atol(argv[3]);
	rate = atol(argv[4]);
	snprintf(queue, sizeof(queue), "ref1-%s", argv[2]);
	lat = calloc((size_t)count, sizeof(*lat));
	memset(body, 'x', sizeof(body));
	c = connect_to();
	arg.key = amqp_cstring_bytes("x-queue-type");
	arg.value.kind = AMQP_FIELD_KIND_UTF8;
	arg.value.value.bytes = amqp_cstring_bytes(argv[2]);
	args.num_entries = 1;
	args.entries = &arg;
	amqp_queue_declare(c, 1, amqp_cstring_bytes(queue), 0, 1, 0, 0, args);
	die("queue_declare", amqp_get_rpc_reply(c));
	amqp_queue_purge(c, 1, amqp_cstring_bytes(queue));
	die("queue_purge", amqp_get_rpc_reply(c));
	amqp_confirm_select(c, 1);
	die("confirm_select", amqp_get_rpc_reply(c));
	pthread_create(&consumer, NULL, consume, NULL);
	memset(&props, 0, sizeof(props));
	props._flags = AMQP_BASIC_DELIVERY_MODE_FLAG;
	props.delivery_mode = 2; /* persistent */
	t0 = t_first = now_ms();
	for (long i = 0; i < count; i++) {
		double s;

		while ((uint64_t)i - confirmed >= WINDOW)
			confirms(c, &confirmed, 1000);
		if (rate)
			while (now_ms() < t0 + (double)i * 1000.0 / (double)rate)
				confirms(c, &confirmed, 200);
		s = now_ms();
		memcpy(body, &s, sizeof(s));
		if (amqp_basic_publish(c, 1, amqp_empty_bytes,
				       amqp_cstring_bytes(queue), 0, 0, &props,
				       (amqp_bytes_t){ sizeof(body), body })) {
			fprintf(stderr, "bench-amqp: publish failed\n");
			return 1;
		}
		confirms(c, &confirmed, 0);
	}
	while (confirmed < (uint64_t)count)
		confirms(c, &confirmed, 100000);
	pthread_join(consumer, NULL);
	qsort(lat, (size_t)received, sizeof(*lat), cmp);
	printf("thr_msgs_s=%.0f p50_ms=%.1f p99_ms=%.1f received=%ld\n",
	       (double)received * 1e3 / (t_last - t_first),
	       lat[received / 2], lat[(size_t)((double)received * 0.99)],
	       received);
	amqp_channel_close(c, 1, AMQP_REPLY_SUCCESS);
	amqp_connection_close(c, AMQP_REPLY_SUCCESS);
	amqp_destroy_connection(c);
	free(lat);
	return received == count ? 0 : 1;
}
