/* faultproxy.c: a lossy link between two nodes, for the fault suite.
 *
 * It sits between a sending node and a target node, on loopback only:
 *
 *   faultproxy --listen tcp://127.0.0.1:P --target tcp://127.0.0.1:Q
 *              --server-data TARGET_DATA --client-data SENDER_DATA
 *              [--drop PCT] [--dup PCT] [--delay-ms MAX] [--reorder PCT]
 *              [--seed N] [--partition-file PATH] [--stats-file PATH]
 *
 * The target's directory entry advertises P as its endpoint, so the
 * sender's DEALER connects here. The proxy's ROUTER is a CURVE server with
 * the TARGET's secret key (from TARGET_DATA/curve.json), so the sender,
 * which pins the target's public key, completes its handshake here. For
 * each sender connection (ROUTER routing id) the proxy opens a DEALER to Q
 * as a CURVE client with the SENDER's keys (SENDER_DATA/curve.json), so
 * the target's ZAP handler admits it and names the sender as User-Id. No
 * ZAP handler runs in the proxy: libzmq then admits every client key.
 *
 * Frames go both ways: messages sender -> target, and the target's
 * replies (receipts) back to the connection they belong to. Each message
 * (one frame on this wire, PROTOCOL.md 1.5; a multi-part message is kept
 * whole) is, independently:
 *   - dropped with probability --drop;
 *   - otherwise sent twice with probability --dup;
 *   - each copy delayed uniformly between 0 and --delay-ms;
 *   - each copy, with probability --reorder, held when it falls due and
 *     sent just after the next message of the same connection and
 *     direction (or after a hold limit, if none comes).
 * While --partition-file exists, every message in either direction is
 * dropped, including those already waiting in the proxy: a cut link.
 *
 * The counts (forwarded, dropped, duplicated, delayed, reordered,
 * partitioned, undeliverable, sessions) are written as one JSON object to
 * --stats-file every second and on SIGTERM or SIGINT, atomically (a temp
 * file renamed over it), so a reader never sees half a file. The proxy
 * never looks inside a frame: it cannot forge, only lose, repeat, delay
 * and reorder. The same --seed gives the same choices for the same
 * arrival order. Test-only: never installed. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <jansson.h>
#include <zmq.h>

enum { TO_TARGET = 0, TO_SENDER = 1 };

/* Enough for a sender node's DEALERs across a few restarts; past it the
 * least recently used session is closed. */
#define MAX_SESSIONS 64
/* A message larger than this is refused by libzmq (the connection drops),
 * as a node would refuse it: twice the nodes' default envelope limit. */
#define MAX_MSG_BYTES (2 * 16777216LL + 4096)
/* The wire carries one frame per message (PROTOCOL.md 1.5), plus the
 * routing id on the ROUTER; a few more parts are kept whole, beyond that
 * the message is dropped as undeliverable. */
#define MAX_PARTS 8

typedef struct item item_t;

/* One sender connection and its DEALER to the target. */
typedef struct {
	bool used;
	uint8_t id[256];	/* the sender's routing id on our ROUTER */
	size_t id_len;
	void *dealer;		/* to the target, as the sender */
	uint64_t last_ms;	/* last traffic, for eviction */
	item_t *held[2];	/* the message held for reordering, per direction */
	uint64_t held_at[2];
} session_t;

/* One message on its way: waiting for its time, or held. */
struct item {
	item_t *next;
	session_t *s;
	int dir;
	uint64_t due_ms;
	bool hold;		/* reorder it when it falls due */
	size_t nparts;
	zmq_msg_t parts[MAX_PARTS];
};

typedef struct {
	uint64_t forwarded, dropped, duplicated, delayed, reordered;
	uint64_t partitioned, undeliverable, sessions;
} stats_t;

typedef struct {
	void *ctx, *router;
	char target[256];
	char server_pub[41], client_pub[41], client_sec[41];
	int drop, dup, reorder;	/* percent */
	uint64_t delay_ms, hold_max_ms;
	const char *partition_file, *stats_file;
	uint64_t rng;
	session_t sessions[MAX_SESSIONS];
	item_t *queue;		/* waiting messages, by due time */
	stats_t st;
} proxy_t;

static volatile sig_atomic_t stopping;

static void on_signal(int sig)
{
	(void)sig;
	stopping = 1;
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* splitmix64: small, seedable, and good enough to pick faults. */
static uint64_t rnd(proxy_t *p)
{
	uint64_t z = (p->rng += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static bool chance(proxy_t *p, int pct)
{
	return pct > 0 && (int)(rnd(p) % 100) < pct;
}

static bool partitioned(const proxy_t *p)
{
	struct stat sb;

	return p->partition_file && stat(p->partition_file, &sb) == 0;
}

static void die(const char *msg)
{
	fprintf(stderr, "error faultproxy %s\n", msg);
	exit(2);
}

/* Reads DIR/curve.json's "public" and (if ret_sec) "secret" Z85 keys. */
static int load_curve(const char *dir, char ret_pub[41], char *ret_sec)
{
	char path[4096];
	json_t *j;
	const char *pub, *sec;

	snprintf(path, sizeof(path), "%s/curve.json", dir);
	j = json_load_file(path, 0, NULL);
	if (!j)
		return -ENOENT;
	pub = json_string_value(json_object_get(j, "public"));
	sec = json_string_value(json_object_get(j, "secret"));
	if (!pub || strlen(pub) != 40 || !sec || strlen(sec) != 40) {
		json_decref(j);
		return -EINVAL;
	}
	memcpy(ret_pub, pub, 41);
	if (ret_sec)
		memcpy(ret_sec, sec, 41);
	json_decref(j);
	return 0;
}

/* Only tcp://127.0.0.1:PORT: this is a test tool, never a relay. */
static bool loopback(const char *ep)
{
	const char *pre = "tcp://127.0.0.1:";
	char *end;
	long port;

	if (strncmp(ep, pre, strlen(pre)))
		return false;
	port = strtol(ep + strlen(pre), &end, 10);
	return *end == '\0' && port > 0 && port < 65536;
}

static void set_int(void *s, int opt, int v)
{
	zmq_setsockopt(s, opt, &v, sizeof(v));
}

static void item_free(item_t **ip)
{
	item_t *it = *ip;

	if (!it)
		return;
	for (size_t i = 0; i < it->nparts; i++)
		zmq_msg_close(&it->parts[i]);
	free(it);
	*ip = NULL;
}

/* Receives every part of one message from s. NULL when none is ready;
 * *ret_lost is set when one came but had to be thrown away (too many
 * parts, or no memory): lost, as a frame on a lossy link may be. */
static item_t *recv_message(void *s, bool *ret_lost)
{
	item_t *it = calloc(1, sizeof(*it));
	zmq_msg_t m;
	bool more = true, got = false;

	*ret_lost = false;
	while (more) {
		zmq_msg_init(&m);
		if (zmq_msg_recv(&m, s, ZMQ_DONTWAIT) < 0) {
			zmq_msg_close(&m);
			break;
		}
		got = true;
		more = zmq_msg_more(&m);
		if (it && it->nparts < MAX_PARTS) {
			zmq_msg_init(&it->parts[it->nparts]);
			zmq_msg_move(&it->parts[it->nparts++], &m);
		} else {
			item_free(&it);	/* the rest of it is read and let go */
		}
		zmq_msg_close(&m);
	}
	if (it && got && !more)
		return it;
	*ret_lost = got;
	item_free(&it);
	return NULL;
}

static item_t *item_copy(const item_t *src)
{
	item_t *it = calloc(1, sizeof(*it));

	if (!it)
		return NULL;
	it->s = src->s;
	it->dir = src->dir;
	for (size_t i = 0; i < src->nparts; i++) {
		zmq_msg_init(&it->parts[i]);
		zmq_msg_copy(&it->parts[i], (zmq_msg_t *)&src->parts[i]);
		it->nparts++;
	}
	return it;
}

static void queue_insert(proxy_t *p, item_t *it)
{
	item_t **pp = &p->queue;

	/* Stable: equal due times keep their arrival order. */
	while (*pp && (*pp)->due_ms <= it->due_ms)
		pp = &(*pp)->next;
	it->next = *pp;
	*pp = it;
}

/* Puts the message on its wire, or drops it if the link is cut now. */
static void emit(proxy_t *p, item_t **ip)
{
	item_t *it = *ip;
	void *sock = it->dir == TO_TARGET ? it->s->dealer : p->router;
	int rc = 0;

	if (partitioned(p)) {
		p->st.partitioned++;
		item_free(ip);
		return;
	}
	if (it->dir == TO_SENDER)
		rc = zmq_send(p->router, it->s->id, it->s->id_len,
			      ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0 ? -1 : 0;
	for (size_t i = 0; rc == 0 && i < it->nparts; i++)
		rc = zmq_msg_send(&it->parts[i], sock,
				  (i + 1 < it->nparts ? ZMQ_SNDMORE : 0) |
				  ZMQ_DONTWAIT) < 0 ? -1 : 0;
	/* The sender gone (ROUTER_MANDATORY), or the target not taking
	 * more: lost, like any frame here; the nodes resend. */
	if (rc)
		p->st.undeliverable++;
	else
		p->st.forwarded++;
	item_free(ip);
}

/* A message falls due: held for reordering, or sent, and then whatever
 * was held on its lane goes out just after it. */
static void release(proxy_t *p, item_t *it, uint64_t now)
{
	session_t *s = it->s;
	int d = it->dir;
	item_t *held;

	if (it->hold && !s->held[d]) {
		s->held[d] = it;
		s->held_at[d] = now;
		p->st.reordered++;
		return;
	}
	emit(p, &it);
	held = s->held[d];
	s->held[d] = NULL;
	if (held)
		emit(p, &held);
}

/* A message arrives from either side: partition, drop, duplicate, delay,
 * mark for reordering. Takes ownership of it. */
static void admit(proxy_t *p, session_t *s, int dir, item_t *it)
{
	uint64_t now = now_ms();
	item_t *copies[2] = { it, NULL };

	s->last_ms = now;
	it->s = s;
	it->dir = dir;
	if (partitioned(p)) {
		p->st.partitioned++;
		item_free(&it);
		return;
	}
	if (chance(p, p->drop)) {
		p->st.dropped++;
		item_free(&it);
		return;
	}
	if (chance(p, p->dup) && (copies[1] = item_copy(it)))
		p->st.duplicated++;
	for (int k = 0; k < 2 && copies[k]; k++) {
		uint64_t d = p->delay_ms ? rnd(p) % (p->delay_ms + 1) : 0;
		copies[k]->due_ms = now + d;
		copies[k]->hold = chance(p, p->reorder);
		if (d)
			p->st.delayed++;
		queue_insert(p, copies[k]);
	}
}

static void session_close(proxy_t *p, session_t *s)
{
	item_t **pp = &p->queue;

	while (*pp) {
		if ((*pp)->s == s) {
			item_t *gone = *pp;
			*pp = gone->next;
			item_free(&gone);
		} else {
			pp = &(*pp)->next;
		}
	}
	item_free(&s->held[0]);
	item_free(&s->held[1]);
	if (s->dealer)
		zmq_close(s->dealer);
	memset(s, 0, sizeof(*s));
}

/* The session of a sender's routing id; a new one opens a DEALER to the
 * target with the sender's keys. NULL if no DEALER could be made. */
static session_t *session_get(proxy_t *p, const zmq_msg_t *id)
{
	size_t len = zmq_msg_size((zmq_msg_t *)id);
	session_t *free_s = NULL, *old = NULL;

	for (int i = 0; i < MAX_SESSIONS; i++) {
		session_t *s = &p->sessions[i];
		if (!s->used) {
			if (!free_s)
				free_s = s;
			continue;
		}
		if (s->id_len == len &&
		    !memcmp(s->id, zmq_msg_data((zmq_msg_t *)id), len))
			return s;
		if (!old || s->last_ms < old->last_ms)
			old = s;
	}
	if (len > sizeof(p->sessions[0].id))
		return NULL;
	if (!free_s) {
		session_close(p, old);
		free_s = old;
	}
	free_s->dealer = zmq_socket(p->ctx, ZMQ_DEALER);
	if (!free_s->dealer)
		return NULL;
	set_int(free_s->dealer, ZMQ_LINGER, 0);
	set_int(free_s->dealer, ZMQ_RECONNECT_IVL, 100);
	zmq_setsockopt(free_s->dealer, ZMQ_MAXMSGSIZE, &(int64_t){ MAX_MSG_BYTES },
		       sizeof(int64_t));
	zmq_setsockopt(free_s->dealer, ZMQ_CURVE_SERVERKEY, p->server_pub, 40);
	zmq_setsockopt(free_s->dealer, ZMQ_CURVE_PUBLICKEY, p->client_pub, 40);
	zmq_setsockopt(free_s->dealer, ZMQ_CURVE_SECRETKEY, p->client_sec, 40);
	if (zmq_connect(free_s->dealer, p->target) < 0) {
		zmq_close(free_s->dealer);
		free_s->dealer = NULL;
		return NULL;
	}
	free_s->used = true;
	free_s->id_len = len;
	memcpy(free_s->id, zmq_msg_data((zmq_msg_t *)id), len);
	free_s->last_ms = now_ms();
	p->st.sessions++;
	return free_s;
}

static void write_stats(const proxy_t *p)
{
	char tmp[4200];
	FILE *f;

	if (!p->stats_file)
		return;
	snprintf(tmp, sizeof(tmp), "%s.tmp", p->stats_file);
	f = fopen(tmp, "w");
	if (!f)
		return;
	fprintf(f, "{\"forwarded\": %" PRIu64 ", \"dropped\": %" PRIu64
		", \"duplicated\": %" PRIu64 ", \"delayed\": %" PRIu64
		", \"reordered\": %" PRIu64 ", \"partitioned\": %" PRIu64
		", \"undeliverable\": %" PRIu64 ", \"sessions\": %" PRIu64 "}\n",
		p->st.forwarded, p->st.dropped, p->st.duplicated, p->st.delayed,
		p->st.reordered, p->st.partitioned, p->st.undeliverable,
		p->st.sessions);
	if (fclose(f) == 0)
		rename(tmp, p->stats_file);
}

static int percent(const char *v, const char *what)
{
	char *end;
	long n = strtol(v, &end, 10);

	if (*end || n < 0 || n > 100) {
		fprintf(stderr, "error faultproxy --%s must be 0 to 100, not %s\n",
			what, v);
		exit(2);
	}
	return (int)n;
}

/* Sends what is due, and what has been held past the hold limit. */
static void run_due(proxy_t *p)
{
	uint64_t now = now_ms();

	while (p->queue && p->queue->due_ms <= now) {
		item_t *it = p->queue;
		p->queue = it->next;
		it->next = NULL;
		release(p, it, now);
	}
	for (int i = 0; i < MAX_SESSIONS; i++)
		for (int d = 0; d < 2; d++) {
			session_t *s = &p->sessions[i];
			if (s->held[d] && now - s->held_at[d] >= p->hold_max_ms)
				emit(p, &s->held[d]);
		}
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "target", required_argument, NULL, 't' },
		{ "server-data", required_argument, NULL, 'S' },
		{ "client-data", required_argument, NULL, 'C' },
		{ "drop", required_argument, NULL, 'd' },
		{ "dup", required_argument, NULL, 'u' },
		{ "delay-ms", required_argument, NULL, 'w' },
		{ "reorder", required_argument, NULL, 'r' },
		{ "seed", required_argument, NULL, 's' },
		{ "partition-file", required_argument, NULL, 'p' },
		{ "stats-file", required_argument, NULL, 'o' },
		{ NULL, 0, NULL, 0 },
	};
	static proxy_t px;	/* static: the session table is large */
	proxy_t *p = &px;
	const char *listen = NULL, *target = NULL, *sdata = NULL, *cdata = NULL;
	char server_sec[41];
	uint64_t seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
	uint64_t next_stats;
	long delay = 0;
	struct sigaction sa = { .sa_handler = on_signal };
	int c;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'l': listen = optarg; break;
		case 't': target = optarg; break;
		case 'S': sdata = optarg; break;
		case 'C': cdata = optarg; break;
		case 'd': p->drop = percent(optarg, "drop"); break;
		case 'u': p->dup = percent(optarg, "dup"); break;
		case 'r': p->reorder = percent(optarg, "reorder"); break;
		case 'w': delay = atol(optarg); break;
		case 's': seed = strtoull(optarg, NULL, 10); break;
		case 'p': p->partition_file = optarg; break;
		case 'o': p->stats_file = optarg; break;
		default: die("usage: faultproxy --listen EP --target EP "
			     "--server-data DIR --client-data DIR [--drop PCT] "
			     "[--dup PCT] [--delay-ms MAX] [--reorder PCT] "
			     "[--seed N] [--partition-file PATH] "
			     "[--stats-file PATH]");
		}
	}
	if (!listen || !target || !sdata || !cdata)
		die("--listen, --target, --server-data and --client-data are "
		    "required");
	if (!loopback(listen) || !loopback(target))
		die("--listen and --target must be tcp://127.0.0.1:PORT");
	if (delay < 0 || delay > 60000)
		die("--delay-ms must be 0 to 60000");
	p->delay_ms = (uint64_t)delay;
	/* A held message with nothing behind it still goes out, a little
	 * later than anything delayed: reordered, never lost by the hold. */
	p->hold_max_ms = 2 * p->delay_ms + 500;
	p->rng = seed;
	snprintf(p->target, sizeof(p->target), "%s", target);
	if (load_curve(sdata, p->server_pub, server_sec))
		die("cannot read the target's curve.json (--server-data)");
	if (load_curve(cdata, p->client_pub, p->client_sec))
		die("cannot read the sender's curve.json (--client-data)");

	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	p->ctx = zmq_ctx_new();
	p->router = zmq_socket(p->ctx, ZMQ_ROUTER);
	if (!p->ctx || !p->router)
		die("cannot make the ROUTER");
	set_int(p->router, ZMQ_LINGER, 0);
	set_int(p->router, ZMQ_ROUTER_MANDATORY, 1);
	set_int(p->router, ZMQ_CURVE_SERVER, 1);
	zmq_setsockopt(p->router, ZMQ_MAXMSGSIZE, &(int64_t){ MAX_MSG_BYTES },
		       sizeof(int64_t));
	/* The target's own secret: the sender's pinned key matches. */
	zmq_setsockopt(p->router, ZMQ_CURVE_SECRETKEY, server_sec, 40);
	if (zmq_bind(p->router, listen) < 0) {
		fprintf(stderr, "error faultproxy cannot bind %s: %s\n", listen,
			zmq_strerror(zmq_errno()));
		return 2;
	}
	fprintf(stderr, "info faultproxy listen=%s target=%s drop=%d dup=%d "
		"delay_ms=%" PRIu64 " reorder=%d seed=%" PRIu64 "\n", listen,
		target, p->drop, p->dup, p->delay_ms, p->reorder, seed);
	write_stats(p);
	next_stats = now_ms() + 1000;

	while (!stopping) {
		zmq_pollitem_t items[1 + MAX_SESSIONS];
		session_t *owner[1 + MAX_SESSIONS];
		int n = 0;
		uint64_t now = now_ms();
		long timeout = (long)(next_stats > now ? next_stats - now : 0);

		items[n++] = (zmq_pollitem_t){ p->router, 0, ZMQ_POLLIN, 0 };
		for (int i = 0; i < MAX_SESSIONS; i++)
			if (p->sessions[i].used) {
				owner[n] = &p->sessions[i];
				items[n++] = (zmq_pollitem_t){
					p->sessions[i].dealer, 0, ZMQ_POLLIN, 0 };
			}
		if (p->queue)
			timeout = p->queue->due_ms > now
				  ? (long)(p->queue->due_ms - now) : 0;
		/* Held messages are checked against their limit often enough. */
		if (timeout > 50)
			timeout = 50;
		if (zmq_poll(items, n, timeout) < 0 && zmq_errno() != EINTR)
			break;
		if (items[0].revents & ZMQ_POLLIN) {
			item_t *m;
			bool lost;
			while ((m = recv_message(p->router, &lost)) || lost) {
				session_t *s = m && m->nparts >= 2
					       ? session_get(p, &m->parts[0]) : NULL;
				if (!s) {
					p->st.undeliverable++;
					item_free(&m);
					continue;
				}
				/* The routing id names the session; the rest
				 * goes on, shifted down one part. */
				for (size_t k = 0; k + 1 < m->nparts; k++)
					zmq_msg_move(&m->parts[k], &m->parts[k + 1]);
				zmq_msg_close(&m->parts[--m->nparts]);
				admit(p, s, TO_TARGET, m);
			}
		}
		for (int i = 1; i < n; i++) {
			item_t *m;
			bool lost;
			/* A session evicted above took its socket with it. */
			if (!(items[i].revents & ZMQ_POLLIN) || !owner[i]->used)
				continue;
			while ((m = recv_message(owner[i]->dealer, &lost)) || lost) {
				if (m)
					admit(p, owner[i], TO_SENDER, m);
				else
					p->st.undeliverable++;
			}
		}
		run_due(p);
		if (now_ms() >= next_stats) {
			write_stats(p);
			next_stats = now_ms() + 1000;
		}
	}
	write_stats(p);
	fprintf(stderr, "info faultproxy forwarded=%" PRIu64 " dropped=%" PRIu64
		" duplicated=%" PRIu64 " delayed=%" PRIu64 " reordered=%" PRIu64
		" partitioned=%" PRIu64 " undeliverable=%" PRIu64 "\n",
		p->st.forwarded, p->st.dropped, p->st.duplicated, p->st.delayed,
		p->st.reordered, p->st.partitioned, p->st.undeliverable);
	for (int i = 0; i < MAX_SESSIONS; i++)
		if (p->sessions[i].used)
			session_close(p, &p->sessions[i]);
	while (p->queue) {
		item_t *it = p->queue;
		p->queue = it->next;
		item_free(&it);
	}
	zmq_close(p->router);
	zmq_ctx_term(p->ctx);
	return 0;
}
