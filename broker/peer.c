/* peer.c: see peer.h. Writes only peers_t. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zmq.h>

#include "errors.h"
#include "log.h"
#include "peer.h"
#include "util.h"

/* Draft option, absent from Debian's zmq.h (DESIGN.md, Transport). */
#ifndef ZMQ_ZAP_ENFORCE_DOMAIN
#define ZMQ_ZAP_ENFORCE_DOMAIN 93
#endif

#define ZAP_DOMAIN "referral"

void peers_init(peers_t *ps, void *ctx, const peers_opts_t *o)
{
	memset(ps, 0, sizeof(*ps));
	ps->o = *o;
	ps->ctx = ctx;
}

static void set_int(void *s, int opt, int v)
{
	zmq_setsockopt(s, opt, &v, sizeof(v));
}

void peers_socket_common(const peers_t *ps, void *s)
{
	int64_t max = ps->o.max_message_bytes * 2 + 4096;

	set_int(s, ZMQ_LINGER, (int)ps->o.linger_ms);
	set_int(s, ZMQ_HEARTBEAT_IVL, (int)ps->o.heartbeat_ms);
	set_int(s, ZMQ_HEARTBEAT_TIMEOUT, (int)ps->o.heartbeat_ms * 3);
	set_int(s, ZMQ_HEARTBEAT_TTL, (int)ps->o.heartbeat_ms * 3);
	/* Above our own limit, so an envelope a little too large gets a
	 * REFUSED receipt that says so instead of a silent disconnect. */
	zmq_setsockopt(s, ZMQ_MAXMSGSIZE, &max, sizeof(max));
}

static void peer_close(peer_t *p)
{
	/* libzmq sends monitor events blocking: the monitor is stopped
	 * before its reader goes, or an event could stall its I/O thread. */
	if (p->dealer && p->mon)
		zmq_socket_monitor(p->dealer, NULL, 0);
	if (p->mon)
		zmq_close(p->mon);
	if (p->dealer)
		zmq_close(p->dealer);
	p->dealer = p->mon = NULL;
}

void peers_close(peers_t *ps)
{
	for (size_t i = 0; i < ps->n; i++)
		peer_close(&ps->v[i]);
	free(ps->v);
	ps->v = NULL;
	ps->n = 0;
}

peer_t *peer_find(peers_t *ps, const char *code)
{
	for (size_t i = 0; i < ps->n; i++)
		if (!strcmp(ps->v[i].code, code))
			return &ps->v[i];
	return NULL;
}

peer_t *peer_get(peers_t *ps, const directory_t *dir, const char *code)
{
	const dir_node_t *dn = directory_node(dir, code);
	peer_t *p = NULL, *np;

	if (!dn)
		return NULL;
	for (size_t i = 0; i < ps->n; i++)
		if (!strcmp(ps->v[i].code, code))
			p = &ps->v[i];
	if (!p) {
		np = realloc(ps->v, (ps->n + 1) * sizeof(*np));
		if (!np)
			return NULL;
		ps->v = np;
		p = &ps->v[ps->n++];
		memset(p, 0, sizeof(*p));
		snprintf(p->code, sizeof(p->code), "%s", code);
	}
	if (p->dealer)
		return p;
	p->dealer = zmq_socket(ps->ctx, ZMQ_DEALER);
	if (!p->dealer)
		return NULL;
	snprintf(p->endpoint, sizeof(p->endpoint), "%s", dn->endpoint);
	snprintf(p->curve, sizeof(p->curve), "%s", dn->curve_public);
	peers_socket_common(ps, p->dealer);
	/* Pinned: the handshake fails unless the server holds the secret
	 * half of the key the directory lists for this node. */
	zmq_setsockopt(p->dealer, ZMQ_CURVE_SERVERKEY, p->curve, 40);
	zmq_setsockopt(p->dealer, ZMQ_CURVE_PUBLICKEY, ps->o.curve_pub, 40);
	zmq_setsockopt(p->dealer, ZMQ_CURVE_SECRETKEY, ps->o.curve_sec, 40);
	/* Queue nothing for a peer that is not connected: the outbox is the
	 * queue, and resends follow its schedule. */
	set_int(p->dealer, ZMQ_IMMEDIATE, 1);
	set_int(p->dealer, ZMQ_RECONNECT_IVL, 100);
	set_int(p->dealer, ZMQ_RECONNECT_IVL_MAX, 5000);
	/* Room for every message [limits] peer_in_flight lets go at once,
	 * resends too: a send the queue refused (EAGAIN) would mark a
	 * connected peer down and stall its backlog. */
	set_int(p->dealer, ZMQ_SNDHWM,
		(int)(ps->o.peer_in_flight * 2 > 1000 ? ps->o.peer_in_flight * 2
						      : 1000));
	/* A handshake that fails is otherwise silent: libzmq reconnects and
	 * the outbox waits. The monitor lets the log say why, and says when
	 * a connection drops (what it held in flight goes again). */
	{
		char ep[64];
		snprintf(ep, sizeof(ep), "inproc://peer-monitor-%u",
			 ++ps->peer_mon_gen);
		if (zmq_socket_monitor(p->dealer, ep,
				       ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL |
				       ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
				       ZMQ_EVENT_HANDSHAKE_FAILED_AUTH |
				       ZMQ_EVENT_HANDSHAKE_SUCCEEDED |
				       ZMQ_EVENT_DISCONNECTED) == 0) {
			p->mon = zmq_socket(ps->ctx, ZMQ_PAIR);
			if (p->mon && zmq_connect(p->mon, ep) < 0) {
				zmq_close(p->mon);
				p->mon = NULL;
			}
			if (!p->mon)
				zmq_socket_monitor(p->dealer, NULL, 0);
		}
		if (!p->mon)
			log_msg(LOG_WARN, "net", "peer=%s: no monitor on its "
				"socket: failed handshakes will not be logged",
				code);
	}
	if (zmq_connect(p->dealer, p->endpoint) < 0) {
		log_msg(LOG_WARN, "net", "peer=%s connect %s failed: %s", code,
			p->endpoint, zmq_strerror(errno));
		peer_close(p);
		return NULL;
	}
	p->opened_mono = util_mono_ms();
	log_msg(LOG_INFO, "net", "peer=%s connecting endpoint=%s", code,
		p->endpoint);
	return p;
}

/* One message from peer may be taken now ([limits] peer_rate_per_s). */
bool peers_rate_ok(peers_t *ps, const char *peer)
{
	uint64_t now = util_mono_ms();
	double rate = (double)ps->o.peer_rate_per_s, burst = 2 * rate;
	bucket_t *b = NULL;

	for (size_t i = 0; i < ps->n_buckets; i++)
		if (!strcmp(ps->buckets[i].code, peer))
			b = &ps->buckets[i];
	if (!b) {
		/* A full table reuses its first slot: peers are few. */
		b = &ps->buckets[ps->n_buckets < 64 ? ps->n_buckets++ : 0];
		memset(b, 0, sizeof(*b));
		snprintf(b->code, sizeof(b->code), "%s", peer);
		b->tokens = burst;
		b->at_mono = now;
	}
	b->heard_ms = util_now_ms();
	b->tokens += (double)(now - b->at_mono) * rate / 1000.0;
	if (b->tokens > burst)
		b->tokens = burst;
	b->at_mono = now;
	if (b->tokens >= 1.0) {
		b->tokens -= 1.0;
		return true;
	}
	b->dropped++;
	if (now - b->warned_mono >= 10000 || !b->warned_mono) {
		b->warned_mono = now;
		log_msg(LOG_WARN, "peer", "peer=%s is over its rate quota "
			"([limits] peer_rate_per_s = %lld): %llu message(s) "
			"dropped unanswered so far; the sender resends them",
			peer, (long long)ps->o.peer_rate_per_s,
			(unsigned long long)b->dropped);
	}
	return false;
}

/* [limits] max_connections, from the peer socket's monitor: an accepted
 * connection past the limit is shut at once (libzmq then drops it), so a
 * flood of connections cannot exhaust descriptors; sessions already
 * open, known peers' among them, go on. */
/* The next event waiting on a monitor socket: its number and value (an
 * fd, an errno, a protocol error or a ZAP status); the endpoint frame is
 * read past. False when none waits. */
static bool monitor_event(void *mon, uint16_t *ret_ev, uint32_t *ret_val)
{
	zmq_msg_t m;

	zmq_msg_init(&m);
	if (zmq_msg_recv(&m, mon, ZMQ_DONTWAIT) < 0) {
		zmq_msg_close(&m);
		return false;
	}
	*ret_ev = 0;
	*ret_val = 0;
	if (zmq_msg_size(&m) >= 6) {
		memcpy(ret_ev, zmq_msg_data(&m), 2);
		memcpy(ret_val, (uint8_t *)zmq_msg_data(&m) + 2, 4);
	}
	while (zmq_msg_more(&m)) {
		zmq_msg_close(&m);
		zmq_msg_init(&m);
		if (zmq_msg_recv(&m, mon, 0) < 0)
			break;
	}
	zmq_msg_close(&m);
	return true;
}

void peers_drain_monitor(peers_t *ps)
{
	uint16_t ev;
	uint32_t fd;

	for (int k = 0; k < 256 && monitor_event(ps->router_mon, &ev, &fd); k++) {
		if (ev == ZMQ_EVENT_ACCEPTED) {
			if (ps->n_conns >= (size_t)ps->o.max_connections) {
				uint64_t now = util_mono_ms();
				shutdown((int)fd, SHUT_RDWR);
				ps->conn_refused++;
				if (now - ps->conn_warned_mono >= 10000 ||
				    !ps->conn_warned_mono) {
					ps->conn_warned_mono = now;
					log_msg(LOG_WARN, "net", "connection limit "
						"reached ([limits] max_connections = "
						"%lld): %llu connection(s) closed at "
						"accept so far",
						(long long)ps->o.max_connections,
						(unsigned long long)ps->conn_refused);
				}
				continue;
			}
			if (ps->n_conns == ps->cap_conns) {
				size_t cap = ps->cap_conns ? 2 * ps->cap_conns : 64;
				int *nc = realloc(ps->conns, cap * sizeof(*nc));
				if (!nc)
					continue;
				ps->conns = nc;
				ps->cap_conns = cap;
			}
			ps->conns[ps->n_conns++] = (int)fd;
		} else if (ev == ZMQ_EVENT_DISCONNECTED || ev == ZMQ_EVENT_CLOSED) {
			for (size_t i = 0; i < ps->n_conns; i++)
				if (ps->conns[i] == (int)fd) {
					ps->conns[i] = ps->conns[--ps->n_conns];
					break;
				}
		}
	}
}

/* What each peer's monitor saw: failed handshakes are logged from the
 * third in a row, then at most once a minute with the count, and the first
 * that works after a warning says so. A server at the peer's endpoint
 * without the key the directory lists (someone else there, or a key changed
 * without a new directory) cannot read our HELLO and hangs up, or fails
 * ZMTP's cryptography; a peer whose directory does not hold this node
 * refuses it through ZAP. */
void peers_drain_handshakes(peers_t *ps)
{
	uint64_t now = util_mono_ms();

	for (size_t i = 0; i < ps->n; i++) {
		peer_t *p = &ps->v[i];

		uint16_t ev;
		uint32_t val;

		for (int k = 0; p->mon && k < 64 &&
		     monitor_event(p->mon, &ev, &val); k++) {
			char why[200];

			/* A connection that drops takes what its queues held:
			 * what was in flight is of unknown fate. Down, so that
			 * once it is back its whole backlog goes again by
			 * priority (delivery.c), not by each resend's
			 * jittered time, which would let an ordinary message
			 * overtake a lost urgent one. */
			if (ev == ZMQ_EVENT_DISCONNECTED) {
				if (!p->down)
					log_msg(LOG_INFO, "net", "peer=%s "
						"connection lost; what was in "
						"flight goes again when it is "
						"back", p->code);
				peer_mark_lost(p);
				continue;
			}
			if (ev == ZMQ_EVENT_HANDSHAKE_SUCCEEDED) {
				if (p->hs_warned_mono)
					log_msg(LOG_INFO, "net", "peer=%s handshake "
						"succeeded after %llu failed",
						p->code, (unsigned long long)
						p->hs_failed);
				p->hs_failed = 0;
				p->hs_warned_mono = 0;
				continue;
			}
			if (ev != ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL &&
			    ev != ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL &&
			    ev != ZMQ_EVENT_HANDSHAKE_FAILED_AUTH)
				continue;
			/* A peer restarting mid-handshake fails one; three in a
			 * row are worth an admin's look. */
			if (++p->hs_failed < 3 || (p->hs_warned_mono &&
			    now - p->hs_warned_mono < 60000))
				continue;
			p->hs_warned_mono = now;
			/* A server without the key cannot read our HELLO and
			 * hangs up mid-handshake (no detail, an errno); one
			 * that reads it but answers wrongly fails the
			 * cryptography. */
			if (ev == ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL ||
			    (ev == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL &&
			     val == ZMQ_PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC))
				snprintf(why, sizeof(why), "the server there "
					 "ends it (%s): it most likely does not "
					 "hold the CURVE key the directory lists "
					 "for %s (someone else at its endpoint, or "
					 "its key changed without a new directory)",
					 ev == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL
					 ? "bad cryptography" : strerror((int)val),
					 p->code);
			else if (ev == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH)
				snprintf(why, sizeof(why), "%s refused this "
					 "node's CURVE key (ZAP status %u): the "
					 "directory it holds does not list this "
					 "node so", p->code, val);
			else
				snprintf(why, sizeof(why), "protocol error 0x%x",
					 val);
			log_msg(LOG_WARN, "net", "peer=%s endpoint=%s: CURVE "
				"handshake failed (%llu since the last that "
				"worked): %s; nothing is sent to it until one "
				"works", p->code, p->endpoint,
				(unsigned long long)p->hs_failed, why);
		}
	}
}

/* The peer ROUTER: CURVE server, ZAP-checked, on [node] listen. */
int peers_router_open(peers_t *ps, const char *listen, char *err, size_t errlen)
{
	int one = 1, r = 0;

	ps->router = zmq_socket(ps->ctx, ZMQ_ROUTER);
	if (!ps->router) {
		snprintf(err, errlen, "cannot make the peer socket: %s",
			 zmq_strerror(errno));
		return -errno;
	}
	peers_socket_common(ps, ps->router);
	set_int(ps->router, ZMQ_CURVE_SERVER, 1);
	zmq_setsockopt(ps->router, ZMQ_CURVE_SECRETKEY, ps->o.curve_sec, 40);
	zmq_setsockopt(ps->router, ZMQ_ZAP_DOMAIN, ZAP_DOMAIN, strlen(ZAP_DOMAIN));
	if (zmq_setsockopt(ps->router, ZMQ_ZAP_ENFORCE_DOMAIN, &one, sizeof(one)) < 0)
		log_msg(LOG_DEBUG, "net", "ZMQ_ZAP_ENFORCE_DOMAIN not in this "
			"libzmq; the handler is bound first instead");
	set_int(ps->router, ZMQ_ROUTER_MANDATORY, 1);
	/* A connection that never finishes its CURVE handshake is dropped
	 * after handshake_ms: a flood of them cannot hold the port. */
	set_int(ps->router, ZMQ_HANDSHAKE_IVL, (int)ps->o.handshake_ms);
	{
		char ep[64];
		snprintf(ep, sizeof(ep), "inproc://router-monitor-%u",
			 ++ps->router_gen);
		ps->n_conns = 0;
		if (zmq_socket_monitor(ps->router, ep, ZMQ_EVENT_ACCEPTED |
				       ZMQ_EVENT_DISCONNECTED |
				       ZMQ_EVENT_CLOSED) == 0) {
			ps->router_mon = zmq_socket(ps->ctx, ZMQ_PAIR);
			if (ps->router_mon && zmq_connect(ps->router_mon, ep) < 0) {
				zmq_close(ps->router_mon);
				ps->router_mon = NULL;
			}
		}
		if (!ps->router_mon)
			log_msg(LOG_WARN, "net", "no monitor on the peer socket: "
				"[limits] max_connections is not enforced");
	}
	/* After a close, libzmq's reaper frees the port a moment later. */
	for (int i = 0; i < 100; i++) {
		r = zmq_bind(ps->router, listen) < 0 ? -errno : 0;
		if (r != -EADDRINUSE || i == 99)
			break;
		usleep(20000);
	}
	if (r)
		snprintf(err, errlen, "cannot listen on %s ([node] listen): %s",
			 listen, zmq_strerror(-r));
	return r;
}

/* A peer that was unreachable and can now be written to gets its whole
 * backlog due at once, so the order below (priority first) decides what
 * leaves first, not the backoff each message happened to reach. */
bool peer_writable(peer_t *p)
{
	int events = 0;
	size_t len = sizeof(events);

	return p->dealer &&
	       zmq_getsockopt(p->dealer, ZMQ_EVENTS, &events, &len) == 0 &&
	       (events & ZMQ_POLLOUT);
}

void peers_router_close(peers_t *ps)
{
	if (!ps->router)
		return;
	if (ps->router_mon) {
		zmq_socket_monitor(ps->router, NULL, 0);
		zmq_close(ps->router_mon);
		ps->router_mon = NULL;
	}
	/* Long enough for this turn's receipts to leave; a new socket's
	 * bind waits for the port meanwhile. */
	set_int(ps->router, ZMQ_LINGER, 500);
	zmq_close(ps->router);
	ps->router = NULL;
}

uint64_t peers_rate_dropped(const peers_t *ps)
{
	uint64_t d = 0;

	for (size_t i = 0; i < ps->n_buckets; i++)
		d += ps->buckets[i].dropped;
	return d;
}

void peers_free(peers_t *ps)
{
	peers_close(ps);
	if (ps->router_mon)
		zmq_close(ps->router_mon);
	ps->router_mon = NULL;
	if (ps->router)
		zmq_close(ps->router);
	ps->router = NULL;
	free(ps->conns);
	ps->conns = NULL;
	ps->n_conns = ps->cap_conns = 0;
}

void peer_mark_down(peer_t *p)
{
	p->down = true;
}

void peer_mark_lost(peer_t *p)
{
	p->down = true;
	/* What was queued for it went with the connection: nothing in
	 * flight is taken to be waiting there any more (peer_working). */
	p->receipt_mono = 0;
}

void peer_mark_back(peer_t *p)
{
	p->down = false;
	p->woke = true;
}

void peers_new_turn(peers_t *ps)
{
	for (size_t i = 0; i < ps->n; i++)
		ps->v[i].woke = false;
}

uint64_t peer_sent(peer_t *p)
{
	p->sent_ms = util_now_ms();
	return ++p->send_seq;
}

void peer_receipted(peer_t *p, uint64_t seq)
{
	uint64_t now = util_mono_ms();

	/* Receipts of one turn come together: only the pauses between
	 * turns say how long the peer takes. */
	if (p->receipt_mono && now - p->receipt_mono > 2) {
		uint64_t g = now - p->receipt_mono;

		p->gap_ms = g > p->gap_ms ? g : p->gap_ms - (p->gap_ms - g) / 16;
	}
	p->receipt_mono = now;
	if (seq > p->receipted_seq)
		p->receipted_seq = seq;
}

bool peer_working(const peer_t *p, uint64_t seq, uint64_t ms,
		  uint64_t cap_ms)
{
	uint64_t quiet = 2 * p->gap_ms > ms ? 2 * p->gap_ms : ms;

	if (quiet > cap_ms)
		quiet = cap_ms;
	return p->receipt_mono && util_mono_ms() - p->receipt_mono < quiet &&
	       seq > p->receipted_seq;
}

void peer_rtt_sample(peer_t *p, uint64_t ms)
{
	double m = (double)ms, err;

	if (!p->rtt_known) {
		p->srtt_ms = m;
		p->rttvar_ms = m / 2;
		p->rtt_known = true;
		return;
	}
	err = m - p->srtt_ms;
	p->rttvar_ms += ((err < 0 ? -err : err) - p->rttvar_ms) / 4;
	p->srtt_ms += err / 8;
}

uint64_t peer_rto_ms(const peer_t *p)
{
	return p->rtt_known ? (uint64_t)(p->srtt_ms + 4 * p->rttvar_ms) : 0;
}

const char *peers_link(const peers_t *ps, const char *code,
		       uint64_t *ret_last)
{
	const char *link = "unknown";

	*ret_last = 0;
	for (size_t i = 0; i < ps->n_buckets; i++)
		if (!strcmp(ps->buckets[i].code, code))
			*ret_last = ps->buckets[i].heard_ms;
	for (size_t i = 0; i < ps->n; i++) {
		const peer_t *p = &ps->v[i];
		if (strcmp(p->code, code))
			continue;
		if (p->sent_ms > *ret_last)
			*ret_last = p->sent_ms;
		if (p->dealer && p->sent_ms)
			link = p->down ? "down" : "up";
		else if (p->dealer && p->down)
			link = "down";
	}
	return link;
}
