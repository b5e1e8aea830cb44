/* node.c: see node.h.
 *
 * A loop turn: poll; answer ZAP requests; drain peer messages, receipts
 * and client requests (each event in its own nested transaction so it
 * applies whole or not at all); send what the outbox schedule says is due;
 * commit the turn; then send the replies and receipts the commit made
 * true. If the commit fails, those replies are dropped (peers resend) or
 * turned into errors (clients retry with the same request id).
 *
 * The lifecycle (the section "the lifecycle" below): the receiving node
 * is the one writer of a referral's history. It applies its own moves and
 * the origin's requests (cancel, supplement) and sends each to the
 * origin, which applies them in referral_seq order; every move is checked
 * against broker/lifecycle.c's table on both sides. Deadlines are computed
 * from the history (broker/clocks.c) and checked every deadline_check_ms. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <jansson.h>
#include <openssl/rand.h>
#include <zmq.h>

#include "application.h"
#include "audit.h"
#include "clocks.h"
#include "client.pb-c.h"
#include "config.h"
#include "deadline.h"
#include "directory.h"
#include "pblimits.h"
#include "seal.h"
#include "eligibility.h"
#include "envelope.h"
#include "errors.h"
#include "lifecycle.h"
#include "log.h"
#include "node.h"
#include "sign.h"
#include "store.h"
#include "store.pb-c.h"
#include "util.h"

/* Draft option, absent from Debian's zmq.h (DESIGN.md, Transport). */
#ifndef ZMQ_ZAP_ENFORCE_DOMAIN
#define ZMQ_ZAP_ENFORCE_DOMAIN 93
#endif

#define ZAP_DOMAIN "referral"
#define BATCH_PER_TURN 256
#define SCHED_PER_TURN 256

enum { OUT_PENDING = 0, OUT_DELIVERED = 1, OUT_DEAD = 2 };
enum { DIR_OUTGOING = 1, DIR_INCOMING = 2 };

typedef struct {
	char code[8];
	char endpoint[256];
	char curve[41];
	void *dealer;
	void *mon;          /* the dealer's monitor (PAIR): handshake results */
	uint64_t opened_mono;
	uint64_t hs_failed; /* handshakes failed since the last that worked */
	uint64_t hs_warned_mono;
	bool down;          /* the last send found no connection */
	bool woke;          /* back this turn: its backlog goes next turn */
} peer_t;

typedef struct {
	uint8_t msg_id[16];
	uint64_t next_ms;
	uint32_t priority;
	uint64_t created_ms;
	char to[8];
	bool in_flight;     /* sent in this run, no receipt yet */
	uint32_t down_tries; /* tries while its peer was known down */
} sched_t;

/* Messages taken from one peer: a token bucket ([limits] peer_rate_per_s,
 * bursts of twice that), so one busy or hostile peer cannot starve the
 * loop; what it drops the sender resends. */
typedef struct {
	char code[8];
	double tokens;
	uint64_t at_mono, warned_mono;
	uint64_t dropped;
} bucket_t;

/* What leaves after the commit. */
typedef struct out {
	struct out *next;
	void *sock;
	uint8_t *rid;        /* routing id, or NULL for a DEALER */
	size_t rid_len;
	bool delimiter;      /* REQ clients expect an empty frame */
	uint8_t *data, *fail;
	size_t len, fail_len;
	sched_t sched;       /* when data is NULL: schedule this after commit */
} out_t;

struct node {
	config_t cfg;
	char key_switched[160];   /* a switch finished at start: for the audit */
	directory_t *dir;
	directory_t *pending_dir; /* applied in this turn; in force after it */
	bucket_t buckets[64];
	size_t n_buckets;
	void *router_mon;         /* the peer socket's monitor (PAIR) */
	unsigned router_gen;      /* names each monitor endpoint */
	unsigned peer_mon_gen;    /* names each peer monitor's endpoint */
	bool store_nudge;         /* a write found the store full this turn */
	int *conns;               /* accepted peer connections (fds) */
	size_t n_conns, cap_conns;
	uint64_t conn_refused, conn_warned_mono;
	seal_t *seal;             /* the data key ring (store_set_seal) */
	bool resealing;           /* records not under the current key remain */
	bool retire_keys;         /* all re-sealed and committed: drop old keys */
	EVP_PKEY *key;
	EVP_PKEY *authority;
	char curve_pub[41], curve_sec[41];
	store_t *store;
	int lock_fd;
	void *ctx, *zap, *router, *client;
	peer_t *peers;
	size_t n_peers;
	sched_t *sched;
	size_t n_sched, cap_sched;
	out_t *out_head, **out_tail;
	uint64_t started_ms;
	calendar_t *calendar;
	rules_t *rules;
	uint64_t next_deadline_check;
	/* Peers heard from or written to since the last checkpoint. */
	char talked[64][8];
	size_t n_talked;
	uint64_t last_cp_seq, last_cp_ms;
};

typedef Referral__Store__V1__ReferralRecord referral_rec_t;
static int handle_change(node_t *n, const envelope_check_t *c,
			 const uint8_t *buf, size_t len, const char *peer,
			 char *detail, size_t dlen);
static int receive_referral(node_t *n, referral_rec_t *rr,
			    const Referral__V1__ReferralSubmit *a,
			    uint64_t created_at, const uint8_t *msg_id);
static out_t **out_mark(node_t *n);
static void out_rollback(node_t *n, out_t **mark);
static int put_referral(node_t *n, referral_rec_t *rr);
static int drain_held(node_t *n, referral_rec_t *rr, const char *peer);
static bool peer_writable(peer_t *p);
static void wake_peer(node_t *n, peer_t *p, uint64_t now);

/* ---- small helpers ------------------------------------------------------- */

static envelope_signer_t signer(node_t *n)
{
	envelope_signer_t s = { n->cfg.code, n->cfg.key_id, n->key };
	return s;
}

/* How an envelope from peer to self is judged, as of now_ms: this node's
 * limits and replay window, and the directory in force. */
static void talked_with(node_t *n, const char *peer)
{
	for (size_t i = 0; i < n->n_talked; i++)
		if (!strcmp(n->talked[i], peer))
			return;
	if (n->n_talked < 64)
		snprintf(n->talked[n->n_talked++], 8, "%s", peer);
}

static envelope_policy_t policy(node_t *n, const char *self, const char *peer,
				uint64_t now_ms)
{
	envelope_policy_t p = {
		.self = self, .peer = peer,
		.max_bytes = (size_t)n->cfg.max_message_bytes,
		.now_ms = now_ms,
		.lifetime_ms = (uint64_t)n->cfg.message_lifetime_ms,
		.future_ms = (uint64_t)n->cfg.future_skew_ms,
		.lookup = directory_key, .lookup_ctx = n->dir,
	};
	return p;
}

static char *msg_hex(const uint8_t *id, char out[33])
{
	util_hex(id, 16, out);
	return out;
}

static void queue(node_t *n, out_t *o)
{
	o->next = NULL;
	*n->out_tail = o;
	n->out_tail = &o->next;
}

static int queue_frames(node_t *n, void *sock, const uint8_t *rid,
			size_t rid_len, bool delim, uint8_t *data, size_t len,
			uint8_t *fail, size_t fail_len)
{
	out_t *o = calloc(1, sizeof(*o));

	if (!o) {
		free(data);
		free(fail);
		return -ENOMEM;
	}
	if (rid) {
		o->rid = malloc(rid_len);
		if (!o->rid) {
			free(o);
			free(data);
			free(fail);
			return -ENOMEM;
		}
		memcpy(o->rid, rid, rid_len);
		o->rid_len = rid_len;
	}
	o->sock = sock;
	o->delimiter = delim;
	o->data = data;
	o->len = len;
	o->fail = fail;
	o->fail_len = fail_len;
	queue(n, o);
	return 0;
}

static void send_out(out_t *o, bool committed)
{
	uint8_t *data = committed ? o->data : o->fail;
	size_t len = committed ? o->len : o->fail_len;

	if (!data)
		return;
	if (o->rid && zmq_send(o->sock, o->rid, o->rid_len,
			       ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0)
		goto failed;
	if (o->delimiter && zmq_send(o->sock, "", 0,
				     ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0)
		goto failed;
	if (zmq_send(o->sock, data, len, ZMQ_DONTWAIT) < 0)
		goto failed;
	return;
failed:
	/* EHOSTUNREACH (ROUTER_MANDATORY): the peer left. It resends, and
	 * gets a DUPLICATE receipt then; a client retries. */
	log_msg(LOG_DEBUG, "net", "reply dropped errno=%d", errno);
}

static int sched_add(node_t *n, const sched_t *s)
{
	for (size_t i = 0; i < n->n_sched; i++)
		if (!memcmp(n->sched[i].msg_id, s->msg_id, 16)) {
			n->sched[i] = *s;
			return 0;
		}
	if (n->n_sched == n->cap_sched) {
		size_t cap = n->cap_sched ? n->cap_sched * 2 : 64;
		sched_t *ns = realloc(n->sched, cap * sizeof(*ns));
		if (!ns)
			return -ENOMEM;
		n->sched = ns;
		n->cap_sched = cap;
	}
	n->sched[n->n_sched++] = *s;
	return 0;
}

static void sched_remove(node_t *n, size_t i)
{
	n->sched[i] = n->sched[--n->n_sched];
}

/* The turn is over: make it durable, then let its replies go. */
static int finish_turn(node_t *n)
{
	int r = store_commit(n->store);
	out_t *o, *next;

	if (r)
		log_msg(LOG_ERROR, "store", "commit failed: %s (%s); replies of "
			"this turn withheld", ref_strerror(r),
			store_last_error(n->store));
	for (o = n->out_head; o; o = next) {
		next = o->next;
		if (o->data || o->fail)
			send_out(o, r == 0);
		else if (r == 0 && sched_add(n, &o->sched))
			log_msg(LOG_ERROR, "delivery", "out of memory: a committed "
				"message waits for the next restart to be sent");
		free(o->rid);
		free(o->data);
		free(o->fail);
		free(o);
	}
	n->out_head = NULL;
	n->out_tail = &n->out_head;
	return r;
}

static int audit(node_t *n, const char *event, const char *referral_id,
		 const uint8_t *msg_id, const char *peer, const char *actor,
		 const char *outcome, const char *detail)
{
	audit_event_t e = { event, referral_id, msg_id, peer, actor, outcome,
			    detail, 0 };
	return audit_append(n->store, &e, NULL);
}

static uint64_t backoff_ms(const node_t *n, uint32_t attempts)
{
	uint64_t d = (uint64_t)n->cfg.retry_first_ms;
	uint32_t rnd;

	for (uint32_t i = 1; i < attempts && d < (uint64_t)n->cfg.retry_cap_ms; i++)
		d *= 2;
	if (d > (uint64_t)n->cfg.retry_cap_ms)
		d = (uint64_t)n->cfg.retry_cap_ms;
	/* Jitter in [d/2, d): peers that went down together do not come
	 * back to a storm of simultaneous resends. */
	if (RAND_bytes((unsigned char *)&rnd, sizeof(rnd)) != 1)
		rnd = (uint32_t)util_mono_ms(); /* jitter only: not a secret */
	return d / 2 + (d > 1 ? rnd % (d / 2) : 0);
}

/* ---- peers ----------------------------------------------------------------- */

static void set_int(void *s, int opt, int v)
{
	zmq_setsockopt(s, opt, &v, sizeof(v));
}

static void socket_common(node_t *n, void *s)
{
	int64_t max = n->cfg.max_message_bytes * 2 + 4096;

	set_int(s, ZMQ_LINGER, (int)n->cfg.linger_ms);
	set_int(s, ZMQ_HEARTBEAT_IVL, (int)n->cfg.heartbeat_ms);
	set_int(s, ZMQ_HEARTBEAT_TIMEOUT, (int)n->cfg.heartbeat_ms * 3);
	set_int(s, ZMQ_HEARTBEAT_TTL, (int)n->cfg.heartbeat_ms * 3);
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

static void peers_close(node_t *n)
{
	for (size_t i = 0; i < n->n_peers; i++)
		peer_close(&n->peers[i]);
	free(n->peers);
	n->peers = NULL;
	n->n_peers = 0;
}

static peer_t *peer_get(node_t *n, const char *code)
{
	const dir_node_t *dn = directory_node(n->dir, code);
	peer_t *p = NULL, *np;

	if (!dn)
		return NULL;
	for (size_t i = 0; i < n->n_peers; i++)
		if (!strcmp(n->peers[i].code, code))
			p = &n->peers[i];
	if (!p) {
		np = realloc(n->peers, (n->n_peers + 1) * sizeof(*np));
		if (!np)
			return NULL;
		n->peers = np;
		p = &n->peers[n->n_peers++];
		memset(p, 0, sizeof(*p));
		snprintf(p->code, sizeof(p->code), "%s", code);
	}
	if (p->dealer)
		return p;
	p->dealer = zmq_socket(n->ctx, ZMQ_DEALER);
	if (!p->dealer)
		return NULL;
	snprintf(p->endpoint, sizeof(p->endpoint), "%s", dn->endpoint);
	snprintf(p->curve, sizeof(p->curve), "%s", dn->curve_public);
	socket_common(n, p->dealer);
	/* Pinned: the handshake fails unless the server holds the secret
	 * half of the key the directory lists for this node. */
	zmq_setsockopt(p->dealer, ZMQ_CURVE_SERVERKEY, p->curve, 40);
	zmq_setsockopt(p->dealer, ZMQ_CURVE_PUBLICKEY, n->curve_pub, 40);
	zmq_setsockopt(p->dealer, ZMQ_CURVE_SECRETKEY, n->curve_sec, 40);
	/* Queue nothing for a peer that is not connected: the outbox is the
	 * queue, and resends follow its schedule. */
	set_int(p->dealer, ZMQ_IMMEDIATE, 1);
	set_int(p->dealer, ZMQ_RECONNECT_IVL, 100);
	set_int(p->dealer, ZMQ_RECONNECT_IVL_MAX, 5000);
	set_int(p->dealer, ZMQ_SNDHWM, 1000);
	/* A handshake that fails is otherwise silent: libzmq reconnects and
	 * the outbox waits. The monitor lets the log say why. */
	{
		char ep[64];
		snprintf(ep, sizeof(ep), "inproc://peer-monitor-%u",
			 ++n->peer_mon_gen);
		if (zmq_socket_monitor(p->dealer, ep,
				       ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL |
				       ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
				       ZMQ_EVENT_HANDSHAKE_FAILED_AUTH |
				       ZMQ_EVENT_HANDSHAKE_SUCCEEDED) == 0) {
			p->mon = zmq_socket(n->ctx, ZMQ_PAIR);
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

/* ---- ZAP: only directory nodes get in ------------------------------------ */

static void zap_reply(void *zap, const char *req_id, size_t req_len,
		      const char *status, const char *text, const char *user)
{
	zmq_send(zap, "1.0", 3, ZMQ_SNDMORE);
	zmq_send(zap, req_id, req_len, ZMQ_SNDMORE);
	zmq_send(zap, status, strlen(status), ZMQ_SNDMORE);
	zmq_send(zap, text, strlen(text), ZMQ_SNDMORE);
	zmq_send(zap, user, strlen(user), ZMQ_SNDMORE);
	zmq_send(zap, "", 0, 0);
}

static bool handle_zap(node_t *n)
{
	zmq_msg_t f[8];
	int nf = 0, more = 1;
	char z85[41] = "", addr[64] = "";
	const dir_node_t *dn = NULL;

	while (more && nf < 8) {
		zmq_msg_init(&f[nf]);
		if (zmq_msg_recv(&f[nf], n->zap, ZMQ_DONTWAIT) < 0) {
			zmq_msg_close(&f[nf]);
			more = 0;
			break;
		}
		more = zmq_msg_more(&f[nf]);
		nf++;
	}
	/* Drain an over-long request so the REP socket stays in step. */
	while (more) {
		zmq_msg_t x;
		zmq_msg_init(&x);
		zmq_msg_recv(&x, n->zap, 0);
		more = zmq_msg_more(&x);
		zmq_msg_close(&x);
	}
	if (nf < 6) {
		/* Not a ZAP request we understand: a REP socket must still
		 * answer before it can read the next one. */
		if (nf >= 2)
			zap_reply(n->zap, zmq_msg_data(&f[1]), zmq_msg_size(&f[1]),
				  "500", "malformed ZAP request", "");
		else if (nf == 1)
			zap_reply(n->zap, "", 0, "500", "malformed ZAP request", "");
		for (int i = 0; i < nf; i++)
			zmq_msg_close(&f[i]);
		return nf > 0;
	}
	if (zmq_msg_size(&f[3]) < sizeof(addr))
		memcpy(addr, zmq_msg_data(&f[3]), zmq_msg_size(&f[3]));
	if (nf >= 7 && zmq_msg_size(&f[5]) == 5 &&
	    !memcmp(zmq_msg_data(&f[5]), "CURVE", 5) &&
	    zmq_msg_size(&f[6]) == 32 &&
	    zmq_msg_size(&f[2]) == strlen(ZAP_DOMAIN) &&
	    !memcmp(zmq_msg_data(&f[2]), ZAP_DOMAIN, strlen(ZAP_DOMAIN))) {
		zmq_z85_encode(z85, zmq_msg_data(&f[6]), 32);
		dn = directory_node_by_curve(n->dir, z85);
	}
	if (dn && strcmp(dn->code, n->cfg.code) != 0) {
		zap_reply(n->zap, zmq_msg_data(&f[1]), zmq_msg_size(&f[1]),
			  "200", "OK", dn->code);
		log_msg(LOG_DEBUG, "zap", "admitted peer=%s address=%s",
			dn->code, addr);
	} else {
		zap_reply(n->zap, zmq_msg_data(&f[1]), zmq_msg_size(&f[1]),
			  "400", "key not in directory", "");
		log_msg(LOG_WARN, "zap", "refused connection address=%s "
			"curve_key=%s reason=\"not a node in directory version "
			"%llu\"", addr, z85[0] ? z85 : "-",
			(unsigned long long)n->dir->version);
	}
	for (int i = 0; i < nf; i++)
		zmq_msg_close(&f[i]);
	return true;
}

/* ---- receipts we send ---------------------------------------------------- */

/* Builds the signed receipt for a checked envelope (*ret malloc'd). */
static int make_receipt(node_t *n, const envelope_check_t *c, const char *peer,
			int status, const char *detail, uint64_t now,
			uint8_t **ret, size_t *ret_len)
{
	envelope_signer_t s = signer(n);
	envelope_fields_t f = { 0 };
	uint8_t *body;
	size_t blen;
	int r;

	r = envelope_receipt_body(c, now, status, detail, &body, &blen);
	if (r)
		return r;
	f.to_node = peer;
	f.kind = REFERRAL__V1__KIND__RECEIPT;
	/* Copied from the message when it could be read at all. */
	f.referral_id = c->hdr && util_utf8_valid(c->hdr->referral_id,
						   strlen(c->hdr->referral_id))
				? c->hdr->referral_id : "";
	f.created_at_ms = now;
	r = envelope_build(&s, &f, body, blen, ret, ret_len, NULL);
	free(body);
	return r;
}

/* ---- incoming referrals -------------------------------------------------- */

static int apply_submit(node_t *n, const envelope_check_t *c,
			const uint8_t *buf, size_t len, const char *peer,
			uint64_t now, const uint8_t *receipt, size_t rlen)
{
	Referral__V1__Header *h = c->hdr;
	Referral__Store__V1__InboxRecord in = REFERRAL__STORE__V1__INBOX_RECORD__INIT;
	Referral__Store__V1__ReferralRecord rr =
		REFERRAL__STORE__V1__REFERRAL_RECORD__INIT;
	Referral__Store__V1__SeenRecord seen = REFERRAL__STORE__V1__SEEN_RECORD__INIT;
	Referral__V1__ReferralSubmit *body;
	int r;

	if (h->kind == REFERRAL__V1__KIND__REFERRAL_SUBMIT) {
		body = referral__v1__referral_submit__unpack(
			NULL, c->env->body.len, c->env->body.data);
		if (!body)
			return REF_E_MALFORMED;
	} else {
		body = NULL; /* a status change or supplement: inbox and seen */
	}
	in.envelope.data = (uint8_t *)buf;
	in.envelope.len = len;
	in.from_node = (char *)peer;
	in.referral_id = h->referral_id;
	in.kind = h->kind;
	in.received_at_ms = now;
	in.receipt.data = (uint8_t *)receipt;
	in.receipt.len = rlen;
	rr.referral_id = h->referral_id;
	rr.direction = DIR_INCOMING;
	rr.origin_node = (char *)peer;
	rr.receiver_node = n->cfg.code;
	rr.submit_msg_id = h->msg_id;
	rr.created_at_ms = now;
	rr.updated_at_ms = now;
	rr.state = "RECEIVED";
	if (body) {
		rr.case_type = body->matter ? body->matter->case_type : "";
		rr.service = body->matter ? body->matter->service : "";
		/* The origin's submit is its first message about it. */
		rr.seq_in = h->referral_seq;
		rr.priority = (uint32_t)application_priority(body);
		rr.limitation_deadline = body->matter
			? body->matter->limitation_deadline : "";
	}
	seen.from_node = (char *)peer;
	seen.received_at_ms = now;
	seen.envelope_sha256.data = (uint8_t *)c->sha256;
	seen.envelope_sha256.len = 32;
	r = store_put_msg(n->store, STORE_INBOX, h->msg_id.data, 16,
			  &in.base);
	if (!r)
		r = store_put_msg(n->store, STORE_SEEN, h->msg_id.data, 16,
				  &seen.base);
	if (!r)
		r = audit(n, "received", h->referral_id, h->msg_id.data, peer,
			  "node", "STORED", envelope_kind_name(h->kind));
	if (h->kind == REFERRAL__V1__KIND__REFERRAL_SUBMIT) {
		/* receive_referral keeps pointers of its own in rr's strings:
		 * work on an unpacked copy. */
		referral_rec_t *copy = NULL;
		size_t pl = referral__store__v1__referral_record__get_packed_size(&rr);
		uint8_t *pb = malloc(pl ? pl : 1);
		if (!r && !pb)
			r = -ENOMEM;
		if (!r) {
			referral__store__v1__referral_record__pack(&rr, pb);
			copy = referral__store__v1__referral_record__unpack(NULL, pl,
									    pb);
			if (!copy)
				r = -ENOMEM;
		}
		if (!r)
			r = receive_referral(n, copy, body, h->created_at_ms,
					     h->msg_id.data);
		/* Changes from the origin that overtook the referral. */
		if (!r)
			r = drain_held(n, copy, peer);
		if (!r)
			r = put_referral(n, copy);
		if (copy)
			referral__store__v1__referral_record__free_unpacked(copy,
									    NULL);
		free(pb);
	}
	if (body)
		referral__v1__referral_submit__free_unpacked(body, NULL);
	return r;
}

/* [limits] max_string_bytes and max_list_items on a body of kind: 0, or
 * REF_E_TOO_LARGE with detail naming the field (never its value). */
static int body_limits(node_t *n, uint32_t kind, const uint8_t *body,
		       size_t len, char *detail, size_t dlen)
{
	const ProtobufCMessageDescriptor *d =
		kind == REFERRAL__V1__KIND__REFERRAL_SUBMIT
			? &referral__v1__referral_submit__descriptor
		: kind == REFERRAL__V1__KIND__STATUS_CHANGE
			? &referral__v1__status_change__descriptor
		: kind == REFERRAL__V1__KIND__MATERIALS_SUPPLEMENT
			? &referral__v1__materials_supplement__descriptor : NULL;
	ProtobufCMessage *m;
	char where[200];
	int r;

	if (!d)
		return 0;
	m = protobuf_c_message_unpack(d, NULL, len, body);
	if (!m)
		return 0; /* the body check reports what does not parse */
	r = pblimits_check(m, (size_t)n->cfg.max_string_bytes,
			   (size_t)n->cfg.max_list_items, where, sizeof(where));
	protobuf_c_message_free_unpacked(m, NULL);
	if (r)
		snprintf(detail, dlen, "%s ([limits] max_string_bytes, "
			 "max_list_items)", where);
	return r;
}

/* A SUBMIT for a referral already held: is it the same application (same
 * body digest) as the one that created it? */
static bool same_submit(node_t *n, const Referral__V1__Header *h)
{
	Referral__Store__V1__ReferralRecord *rr = NULL;
	Referral__Store__V1__InboxRecord *ib = NULL;
	Referral__V1__Envelope *e = NULL;
	Referral__V1__Header *old = NULL;
	bool same = false;

	if (!store_get_msg(n->store, STORE_REFERRALS, h->referral_id,
			   strlen(h->referral_id),
			   &referral__store__v1__referral_record__descriptor,
			   (ProtobufCMessage **)&rr) &&
	    rr->submit_msg_id.len == 16 &&
	    !strcmp(rr->origin_node, h->from_node) &&
	    !store_get_msg(n->store, STORE_INBOX, rr->submit_msg_id.data, 16,
			   &referral__store__v1__inbox_record__descriptor,
			   (ProtobufCMessage **)&ib) &&
	    (e = referral__v1__envelope__unpack(NULL, ib->envelope.len,
						ib->envelope.data)) &&
	    (old = referral__v1__header__unpack(NULL, e->header.len,
						e->header.data)))
		same = old->body_digest.len == 32 && h->body_digest.len == 32 &&
		       !memcmp(old->body_digest.data, h->body_digest.data, 32);
	if (old)
		referral__v1__header__free_unpacked(old, NULL);
	if (e)
		referral__v1__envelope__free_unpacked(e, NULL);
	if (ib)
		referral__store__v1__inbox_record__free_unpacked(ib, NULL);
	if (rr)
		referral__store__v1__referral_record__free_unpacked(rr, NULL);
	return same;
}

/* Application-level refusals of an envelope that passed every wire check. */
static int refuse_reason(node_t *n, const envelope_check_t *c, const char *peer,
			 char *detail, size_t dlen)
{
	Referral__V1__Header *h = c->hdr;
	uint8_t *v;
	size_t vl;

	if (h->kind == REFERRAL__V1__KIND__AUDIT_CHECKPOINT ||
	    h->kind == REFERRAL__V1__KIND__DIRECTORY_UPDATE)
		return 0; /* node-level: no referral */
	if (h->kind != REFERRAL__V1__KIND__REFERRAL_SUBMIT &&
	    h->kind != REFERRAL__V1__KIND__STATUS_CHANGE &&
	    h->kind != REFERRAL__V1__KIND__MATERIALS_SUPPLEMENT) {
		snprintf(detail, dlen, "kind %s is not handled by this node",
			 envelope_kind_name(h->kind));
		return REFERRAL__V1__RECEIPT_STATUS__REFUSED;
	}
	if (!util_referral_id_valid(h->referral_id)) {
		snprintf(detail, dlen, "referral_id is not <origin code>-<32 hex "
			 "digits>");
		return REFERRAL__V1__RECEIPT_STATUS__MALFORMED;
	}
	if (body_limits(n, h->kind, c->env->body.data, c->env->body.len,
			detail, dlen))
		return REFERRAL__V1__RECEIPT_STATUS__REFUSED;
	if (h->kind != REFERRAL__V1__KIND__REFERRAL_SUBMIT) {
		referral_rec_t *rr = NULL;
		int known = store_get_msg(n->store, STORE_REFERRALS, h->referral_id,
					  strlen(h->referral_id),
					  &referral__store__v1__referral_record__descriptor,
					  (ProtobufCMessage **)&rr) == 0;
		int party = known && (!strcmp(rr->origin_node, peer) ||
				      !strcmp(rr->receiver_node, peer));
		if (rr)
			referral__store__v1__referral_record__free_unpacked(rr, NULL);
		/* A change from a referral's origin may overtake the referral
		 * itself: handle_change holds it until the referral arrives. */
		if (!known && !strncmp(h->referral_id, peer, 6) &&
		    h->referral_seq > 1 && h->referral_seq <= 64)
			return 0;
		if (!known) {
			snprintf(detail, dlen, "no referral %s on this node",
				 h->referral_id);
			return REFERRAL__V1__RECEIPT_STATUS__REFUSED;
		}
		if (!party) {
			snprintf(detail, dlen, "%s is not a party to referral %s",
				 peer, h->referral_id);
			return REFERRAL__V1__RECEIPT_STATUS__REFUSED;
		}
		if (h->referral_seq == 0) {
			snprintf(detail, dlen, "a status change needs a "
				 "referral_seq");
			return REFERRAL__V1__RECEIPT_STATUS__MALFORMED;
		}
		return 0;
	}
	if (strncmp(h->referral_id, peer, 6) != 0) {
		snprintf(detail, dlen, "a referral submitted by %s must have an "
			 "id starting with %s", peer, peer);
		return REFERRAL__V1__RECEIPT_STATUS__REFUSED;
	}
	if (h->referral_seq != 1) {
		/* The origin numbers its messages about a referral from 1,
		 * and the submit is the first: later ones are ordered by it. */
		snprintf(detail, dlen, "a referral's submit must be its "
			 "referral_seq 1, not %llu",
			 (unsigned long long)h->referral_seq);
		return REFERRAL__V1__RECEIPT_STATUS__MALFORMED;
	}
	if (store_get(n->store, STORE_REFERRALS, h->referral_id,
		      strlen(h->referral_id), &v, &vl) == 0) {
		free(v);
		/* The same application sent again under a new message (the
		 * origin requeued it after its lifetime, not knowing it had
		 * arrived): applied once already, so a duplicate. */
		if (same_submit(n, h)) {
			snprintf(detail, dlen, "referral %s is already stored "
				 "(sent again under a new message); applied once",
				 h->referral_id);
			return REFERRAL__V1__RECEIPT_STATUS__DUPLICATE;
		}
		snprintf(detail, dlen, "referral %s was already received under "
			 "another message", h->referral_id);
		return REFERRAL__V1__RECEIPT_STATUS__REFUSED;
	}
	return 0;
}

static void handle_receipt_envelope(node_t *n, const uint8_t *buf, size_t len,
				    const char *peer);
static int resign(node_t *n, const Referral__Store__V1__OutboxRecord *ob,
		  uint64_t now, char ret_hex[33]);
static int directory_update(node_t *n, const envelope_check_t *c,
			    const char *peer, char *detail, size_t dlen);
static int op_publish(node_t *n, const Referral__Local__V1__Request *req,
		      Referral__Local__V1__Reply *rep, char *err, size_t errlen);
static void maybe_switch_key(node_t *n);
static int op_rotate_data_key(node_t *n, const Referral__Local__V1__Request *req,
			      Referral__Local__V1__Reply *rep, char *err,
			      size_t errlen);

struct lost_ctx {
	const char *peer;
	uint64_t after_ms;
	uint8_t (*ids)[16];
	size_t n, cap;
};

/* Our messages to peer that it receipted (its own received_at_ms, in its
 * clock like the checkpoint's at_ms) after after_ms. */
static int lost_one(void *ctx, const uint8_t *k, size_t kl, const uint8_t *v,
		    size_t vl)
{
	struct lost_ctx *lc = ctx;
	Referral__Store__V1__OutboxRecord *ob;
	Referral__V1__Envelope *e = NULL;
	Referral__V1__Receipt *rc = NULL;

	if (kl != 16)
		return 0;
	ob = referral__store__v1__outbox_record__unpack(NULL, vl, v);
	if (!ob)
		return REF_E_CORRUPT;
	if (ob->state == OUT_DELIVERED && !strcmp(ob->to_node, lc->peer) &&
	    ob->kind != REFERRAL__V1__KIND__AUDIT_CHECKPOINT &&
	    ob->receipt.len &&
	    (e = referral__v1__envelope__unpack(NULL, ob->receipt.len,
						ob->receipt.data)) &&
	    (rc = referral__v1__receipt__unpack(NULL, e->body.len,
						e->body.data)) &&
	    rc->received_at_ms > lc->after_ms && lc->n < lc->cap)
		memcpy(lc->ids[lc->n++], k, 16);
	if (rc)
		referral__v1__receipt__free_unpacked(rc, NULL);
	if (e)
		referral__v1__envelope__free_unpacked(e, NULL);
	referral__store__v1__outbox_record__free_unpacked(ob, NULL);
	return 0;
}

/* A peer started from a backup lost what it received after the backup:
 * each such message of ours goes again, signed anew (same kind, referral,
 * seq and body), so it is applied there once more, and only once. */
static int resend_after_restore(node_t *n, const char *peer, uint64_t after_ms)
{
	struct lost_ctx lc = { peer, after_ms, NULL, 0, 100000 };
	uint64_t now = util_now_ms();
	char detail[120];
	int r;

	lc.ids = malloc(lc.cap * 16);
	if (!lc.ids)
		return -ENOMEM;
	r = store_foreach(n->store, STORE_OUTBOX, lost_one, &lc);
	for (size_t i = 0; !r && i < lc.n; i++) {
		Referral__Store__V1__OutboxRecord *ob = NULL;
		char fresh[33];
		r = store_get_msg(n->store, STORE_OUTBOX, lc.ids[i], 16,
				  &referral__store__v1__outbox_record__descriptor,
				  (ProtobufCMessage **)&ob);
		if (!r)
			r = resign(n, ob, now, fresh);
		if (!r) {
			snprintf(detail, sizeof(detail), "sent again as msg_id %s "
				 "(the peer was restored from a backup)", fresh);
			r = audit(n, "resent_after_restore", ob->referral_id,
				  lc.ids[i], peer, "node", "ok", detail);
		}
		if (ob)
			referral__store__v1__outbox_record__free_unpacked(ob, NULL);
	}
	free(lc.ids);
	if (!r)
		log_msg(LOG_WARN, "delivery", "peer=%s was restored from a backup "
			"taken before %llu ms: %zu message(s) it had receipted "
			"since are sent again", peer,
			(unsigned long long)after_ms, lc.n);
	return r;
}

/* A peer's signed checkpoint of its audit chain, kept as received (the
 * envelope is the proof): key = node code || seq (8 bytes). */
static int witness(node_t *n, const envelope_check_t *c, const uint8_t *buf,
		   size_t len, const char *peer)
{
	Referral__V1__AuditCheckpoint *cp = referral__v1__audit_checkpoint__unpack(
		NULL, c->env->body.len, c->env->body.data);
	uint8_t key[16];
	char detail[64];
	int r;

	if (!cp)
		return REF_E_MALFORMED;
	memcpy(key, peer, 6);
	for (int i = 0; i < 8; i++)
		key[6 + i] = (uint8_t)(cp->seq >> (56 - 8 * i));
	snprintf(detail, sizeof(detail), "seq %llu",
		 (unsigned long long)cp->seq);
	r = store_put(n->store, STORE_WITNESSED, key, 14, buf, len);
	if (!r)
		r = audit(n, "witnessed", NULL, c->hdr->msg_id.data, peer, "node",
			  "STORED", detail);
	if (!r && cp->restored)
		r = resend_after_restore(n, peer, cp->at_ms);
	referral__v1__audit_checkpoint__free_unpacked(cp, NULL);
	return r;
}

/* A receipt that fails its checks: audited and logged, never answered. */
static void receipt_rejected(node_t *n, const envelope_check_t *c,
			     const char *peer, int st)
{
	const uint8_t *id = c->hdr && c->hdr->msg_id.len == 16
			    ? c->hdr->msg_id.data : NULL;
	const char *rid = c->hdr && util_referral_id_valid(c->hdr->referral_id)
			  ? c->hdr->referral_id : NULL;

	log_msg(LOG_WARN, "delivery", "peer=%s receipt rejected: %s (%s)", peer,
		envelope_status_name(st), c->detail);
	if (store_event_begin(n->store))
		return;
	if (audit(n, "receipt_rejected", rid, id, peer, "node",
		  envelope_status_name(st), c->detail) ||
	    store_event_commit(n->store))
		store_event_abort(n->store);
}

static void handle_peer_message(node_t *n, const uint8_t *rid, size_t rid_len,
				const uint8_t *buf, size_t len,
				const char *peer, bool multipart)
{
	envelope_policy_t pol = policy(n, n->cfg.code, peer, util_now_ms());
	envelope_check_t c;
	uint8_t *receipt = NULL, *v;
	size_t rlen = 0, vl;
	char detail[400], idhex[33] = "-";
	const char *rid_str;
	out_t **mark;
	bool change_audited = false;
	int st, r;

	talked_with(n, peer);
	st = envelope_verify(&pol, buf, len, &c);
	if (st < 0) {
		log_msg(LOG_ERROR, "peer", "peer=%s verify failed: %s", peer,
			ref_strerror(st));
		envelope_check_free(&c);
		return;
	}
	if (st == REFERRAL__V1__RECEIPT_STATUS__STORED && multipart) {
		st = c.status = REFERRAL__V1__RECEIPT_STATUS__MALFORMED;
		snprintf(c.detail, sizeof(c.detail),
			 "a peer message must be a single frame");
	}
	if (c.hdr && (c.hdr->kind == REFERRAL__V1__KIND__RECEIPT ||
		      c.hdr->kind == REFERRAL__V1__KIND__RECEIPT_BATCH)) {
		/* Receipts are never acknowledged, not even a bad one:
		 * apply a good one, log a bad one, answer nothing. */
		if (st == REFERRAL__V1__RECEIPT_STATUS__STORED)
			handle_receipt_envelope(n, buf, len, peer);
		else
			receipt_rejected(n, &c, peer, st);
		envelope_check_free(&c);
		return;
	}
	snprintf(detail, sizeof(detail), "%s", c.detail);
	if (c.hdr && c.hdr->msg_id.len == 16)
		msg_hex(c.hdr->msg_id.data, idhex);
	rid_str = c.hdr && util_referral_id_valid(c.hdr->referral_id)
			  ? c.hdr->referral_id : NULL;

	mark = out_mark(n);
	if (store_event_begin(n->store)) {
		envelope_check_free(&c);
		return;
	}
	if (st == REFERRAL__V1__RECEIPT_STATUS__STORED &&
	    store_get(n->store, STORE_SEEN, c.hdr->msg_id.data, 16, &v, &vl) == 0) {
		Referral__Store__V1__SeenRecord *sr =
			referral__store__v1__seen_record__unpack(NULL, vl, v);
		free(v);
		/* A duplicate is the same message: same sender, same bytes.
		 * Another message reusing the id must not pass as delivered. */
		if (sr && !strcmp(sr->from_node, peer) &&
		    sr->envelope_sha256.len == 32 &&
		    !memcmp(sr->envelope_sha256.data, c.sha256, 32)) {
			st = REFERRAL__V1__RECEIPT_STATUS__DUPLICATE;
			snprintf(detail, sizeof(detail),
				 "already stored; applied once");
		} else {
			st = REFERRAL__V1__RECEIPT_STATUS__REFUSED;
			snprintf(detail, sizeof(detail), "msg_id %s was already "
				 "used by another message", idhex);
		}
		if (sr)
			referral__store__v1__seen_record__free_unpacked(sr, NULL);
	} else if (st == REFERRAL__V1__RECEIPT_STATUS__STORED) {
		int why = refuse_reason(n, &c, peer, detail, sizeof(detail));
		if (why)
			st = why;
		else
			snprintf(detail, sizeof(detail), "stored");
		if (!why && c.hdr->kind == REFERRAL__V1__KIND__DIRECTORY_UPDATE) {
			st = directory_update(n, &c, peer, detail, sizeof(detail));
			if (st < 0) {
				r = st;
				goto fail;
			}
		} else if (!why &&
			   c.hdr->kind != REFERRAL__V1__KIND__REFERRAL_SUBMIT &&
			   c.hdr->kind != REFERRAL__V1__KIND__AUDIT_CHECKPOINT) {
			/* handle_change records its own refusals. */
			change_audited = true;
			st = handle_change(n, &c, buf, len, peer, detail,
					   sizeof(detail));
			if (st < 0) {
				r = st;
				goto fail;
			}
		}
	}
	r = make_receipt(n, &c, peer, st, detail, pol.now_ms, &receipt, &rlen);
	if (r)
		goto fail;
	if (st == REFERRAL__V1__RECEIPT_STATUS__STORED &&
	    c.hdr->kind == REFERRAL__V1__KIND__AUDIT_CHECKPOINT)
		r = witness(n, &c, buf, len, peer);
	else if (st == REFERRAL__V1__RECEIPT_STATUS__STORED &&
		 c.hdr->kind == REFERRAL__V1__KIND__DIRECTORY_UPDATE)
		r = 0; /* directory_update recorded it */
	else if (st == REFERRAL__V1__RECEIPT_STATUS__STORED)
		r = apply_submit(n, &c, buf, len, peer, pol.now_ms, receipt,
				 rlen);
	else if (st == REFERRAL__V1__RECEIPT_STATUS__DUPLICATE)
		r = audit(n, "duplicate", rid_str,
			  c.hdr->msg_id.data, peer, "node", "DUPLICATE",
			  envelope_kind_name(c.hdr->kind));
	else if (!change_audited)
		r = audit(n, "rejected", rid_str,
			  c.hdr && c.hdr->msg_id.len == 16 ? c.hdr->msg_id.data
							    : NULL,
			  peer, "node", envelope_status_name(st), detail);
	if (r)
		goto fail;
	r = store_event_commit(n->store);
	if (r)
		goto fail;
	log_msg(st == REFERRAL__V1__RECEIPT_STATUS__STORED ||
			st == REFERRAL__V1__RECEIPT_STATUS__DUPLICATE
		? LOG_INFO : LOG_WARN, "peer",
		"peer=%s msg_id=%s referral=%s kind=%s receipt=%s detail=\"%s\"",
		peer, idhex, rid_str ? rid_str : "-",
		c.hdr ? envelope_kind_name(c.hdr->kind) : "-",
		envelope_status_name(st), detail);
	queue_frames(n, n->router, rid, rid_len, false, receipt, rlen, NULL, 0);
	envelope_check_free(&c);
	return;
fail:
	store_event_abort(n->store);
	out_rollback(n, mark);
	free(receipt);
	/* A directory installed in this event stays on disk (it is signed
	 * and newer, so the next start takes it) but is not switched to. */
	directory_free(&n->pending_dir);
	/* No receipt: the sender resends, and the store may have room by
	 * then. Deliveries already stored are untouched. */
	log_msg(r == REF_E_STORE_FULL ? LOG_WARN : LOG_ERROR, "peer",
		"peer=%s msg_id=%s not stored: %s (%s); the sender will resend",
		peer, idhex, ref_strerror(r), store_last_error(n->store));
	envelope_check_free(&c);
}

/* One message from peer may be taken now ([limits] peer_rate_per_s). */
static bool rate_ok(node_t *n, const char *peer)
{
	uint64_t now = util_mono_ms();
	double rate = (double)n->cfg.peer_rate_per_s, burst = 2 * rate;
	bucket_t *b = NULL;

	for (size_t i = 0; i < n->n_buckets; i++)
		if (!strcmp(n->buckets[i].code, peer))
			b = &n->buckets[i];
	if (!b) {
		/* A full table reuses its first slot: peers are few. */
		b = &n->buckets[n->n_buckets < 64 ? n->n_buckets++ : 0];
		memset(b, 0, sizeof(*b));
		snprintf(b->code, sizeof(b->code), "%s", peer);
		b->tokens = burst;
		b->at_mono = now;
	}
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
			peer, (long long)n->cfg.peer_rate_per_s,
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

static void drain_monitor(node_t *n)
{
	uint16_t ev;
	uint32_t fd;

	for (int k = 0; k < 256 && monitor_event(n->router_mon, &ev, &fd); k++) {
		if (ev == ZMQ_EVENT_ACCEPTED) {
			if (n->n_conns >= (size_t)n->cfg.max_connections) {
				uint64_t now = util_mono_ms();
				shutdown((int)fd, SHUT_RDWR);
				n->conn_refused++;
				if (now - n->conn_warned_mono >= 10000 ||
				    !n->conn_warned_mono) {
					n->conn_warned_mono = now;
					log_msg(LOG_WARN, "net", "connection limit "
						"reached ([limits] max_connections = "
						"%lld): %llu connection(s) closed at "
						"accept so far",
						(long long)n->cfg.max_connections,
						(unsigned long long)n->conn_refused);
				}
				continue;
			}
			if (n->n_conns == n->cap_conns) {
				size_t cap = n->cap_conns ? 2 * n->cap_conns : 64;
				int *nc = realloc(n->conns, cap * sizeof(*nc));
				if (!nc)
					continue;
				n->conns = nc;
				n->cap_conns = cap;
			}
			n->conns[n->n_conns++] = (int)fd;
		} else if (ev == ZMQ_EVENT_DISCONNECTED || ev == ZMQ_EVENT_CLOSED) {
			for (size_t i = 0; i < n->n_conns; i++)
				if (n->conns[i] == (int)fd) {
					n->conns[i] = n->conns[--n->n_conns];
					break;
				}
		}
	}
}

/* A store at its map limit reuses the pages a commit freed only once a
 * later transaction has committed: turns whose every write failed commit
 * nothing, so receipts (which rewrite whole outbox records) could wait
 * until something else happened to be written. A one-page write lets the
 * next turn use what the last successful ones freed. */
static void nudge_store(node_t *n)
{
	uint8_t v[8];
	uint64_t now = util_now_ms();

	int r;

	n->store_nudge = false;
	for (int i = 0; i < 8; i++)
		v[i] = (uint8_t)(now >> (56 - 8 * i));
	/* An event of its own: if even this does not fit, the turn's other
	 * writes still commit. */
	r = store_event_begin(n->store);
	if (!r)
		r = store_put(n->store, STORE_META, "full_at", 7, v, 8);
	if (!r)
		r = store_event_commit(n->store);
	if (r) {
		store_event_abort(n->store);
		log_msg(LOG_DEBUG, "store", "no room even for one page: %s",
			store_last_error(n->store));
	}
}

/* What each peer's monitor saw: failed handshakes are logged from the
 * third in a row, then at most once a minute with the count, and the first
 * that works after a warning says so. A server at the peer's endpoint
 * without the key the directory lists (someone else there, or a key changed
 * without a new directory) cannot read our HELLO and hangs up, or fails
 * ZMTP's cryptography; a peer whose directory does not hold this node
 * refuses it through ZAP. */
static void drain_peer_monitors(node_t *n)
{
	uint64_t now = util_mono_ms();

	for (size_t i = 0; i < n->n_peers; i++) {
		peer_t *p = &n->peers[i];

		uint16_t ev;
		uint32_t val;

		for (int k = 0; p->mon && k < 64 &&
		     monitor_event(p->mon, &ev, &val); k++) {
			char why[200];

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

static void drain_router(node_t *n)
{
	for (int i = 0; i < BATCH_PER_TURN; i++) {
		zmq_msg_t rid, msg;
		char peer[16] = "";
		const char *uid;
		bool multipart = false;

		zmq_msg_init(&rid);
		if (zmq_msg_recv(&rid, n->router, ZMQ_DONTWAIT) < 0) {
			zmq_msg_close(&rid);
			return;
		}
		zmq_msg_init(&msg);
		if (zmq_msg_recv(&msg, n->router, 0) < 0) {
			zmq_msg_close(&rid);
			zmq_msg_close(&msg);
			return;
		}
		while (zmq_msg_more(&msg)) {
			/* Keep the first frame; the rest only make it bad. */
			zmq_msg_t extra;
			multipart = true;
			zmq_msg_init(&extra);
			zmq_msg_recv(&extra, n->router, 0);
			if (!zmq_msg_more(&extra)) {
				zmq_msg_close(&extra);
				break;
			}
			zmq_msg_close(&extra);
		}
		/* Identity comes from ZAP, never from the routing id. */
		uid = zmq_msg_gets(&msg, "User-Id");
		if (uid && strlen(uid) < sizeof(peer))
			snprintf(peer, sizeof(peer), "%s", uid);
		/* ZAP runs only at the handshake: a node removed from the
		 * directory since may still hold an open session. */
		if (peer[0] && !rate_ok(n, peer)) {
			peer[0] = '\0';
		} else if (peer[0] && !directory_node(n->dir, peer)) {
			log_msg(LOG_WARN, "peer", "peer=%s is no longer in the "
				"directory; message dropped", peer);
			peer[0] = '\0';
		} else if (peer[0])
			handle_peer_message(n, zmq_msg_data(&rid),
					    zmq_msg_size(&rid),
					    zmq_msg_data(&msg),
					    zmq_msg_size(&msg), peer, multipart);
		else if (!uid)
			log_msg(LOG_WARN, "peer", "message without a ZAP "
				"identity dropped");
		zmq_msg_close(&rid);
		zmq_msg_close(&msg);
	}
}

/* ---- receipts for what we sent ------------------------------------------- */

/* The pending message whose envelope has this SHA-256: receipts for
 * envelopes the peer could not read carry no msg_id, only the digest. */
static bool pending_by_sha(node_t *n, const char *peer, const uint8_t *sha,
			   uint8_t ret_id[16])
{
	for (size_t i = 0; i < n->n_sched; i++) {
		Referral__Store__V1__OutboxRecord *ob = NULL;
		uint8_t d[32];
		bool hit;

		if (strcmp(n->sched[i].to, peer))
			continue;
		if (store_get_msg(n->store, STORE_OUTBOX, n->sched[i].msg_id, 16,
				  &referral__store__v1__outbox_record__descriptor,
				  (ProtobufCMessage **)&ob))
			continue;
		util_sha256(ob->envelope.data, ob->envelope.len, d);
		hit = !memcmp(d, sha, 32);
		referral__store__v1__outbox_record__free_unpacked(ob, NULL);
		if (hit) {
			memcpy(ret_id, n->sched[i].msg_id, 16);
			return true;
		}
	}
	return false;
}

static int keep_receipt(node_t *n, const uint8_t *msg_id,
			const uint8_t *receipt_id, const uint8_t *buf,
			size_t len, const char *peer, int status)
{
	Referral__Store__V1__ReceiptRecord rr =
		REFERRAL__STORE__V1__RECEIPT_RECORD__INIT;
	uint8_t key[32];

	memcpy(key, msg_id, 16);
	memcpy(key + 16, receipt_id, 16);
	rr.receipt.data = (uint8_t *)buf;
	rr.receipt.len = len;
	rr.from_node = (char *)peer;
	rr.status = (uint32_t)status;
	rr.received_at_ms = util_now_ms();
	return store_put_msg(n->store, STORE_RECEIPTS, key, 32, &rr.base);
}

static void apply_receipt(node_t *n, const Referral__V1__Receipt *rc,
			  const uint8_t *buf, size_t len, const char *peer,
			  const char *signed_key, const uint8_t *receipt_id)
{
	char reason[300]; /* ob->dead_reason points here until the put */
	Referral__Store__V1__OutboxRecord *ob = NULL;
	uint8_t sha[32];
	char idhex[33];
	int r;
	bool positive = rc->status == REFERRAL__V1__RECEIPT_STATUS__STORED ||
			rc->status == REFERRAL__V1__RECEIPT_STATUS__DUPLICATE;

	uint8_t id[16];

	if (rc->msg_id.len == 16) {
		memcpy(id, rc->msg_id.data, 16);
	} else if (rc->envelope_sha256.len != 32 ||
		   !pending_by_sha(n, peer, rc->envelope_sha256.data, id)) {
		log_msg(LOG_WARN, "delivery", "peer=%s receipt status=%s for "
			"no message of ours: \"%s\"", peer,
			envelope_status_name(rc->status), rc->detail);
		return;
	}
	msg_hex(id, idhex);
	r = store_get_msg(n->store, STORE_OUTBOX, id, 16,
			  &referral__store__v1__outbox_record__descriptor,
			  (ProtobufCMessage **)&ob);
	if (r) {
		log_msg(LOG_DEBUG, "delivery", "peer=%s receipt for unknown "
			"msg_id=%s", peer, idhex);
		return;
	}
	if (strcmp(ob->to_node, peer) != 0) {
		log_msg(LOG_WARN, "delivery", "peer=%s sent a receipt for "
			"msg_id=%s addressed to %s; ignored", peer, idhex,
			ob->to_node);
		goto out;
	}
	util_sha256(ob->envelope.data, ob->envelope.len, sha);
	if (rc->envelope_sha256.len != 32 ||
	    memcmp(rc->envelope_sha256.data, sha, 32)) {
		log_msg(LOG_WARN, "delivery", "peer=%s receipt for msg_id=%s "
			"names other envelope bytes; ignored", peer, idhex);
		goto out;
	}
	if (store_event_begin(n->store))
		goto out;
	/* Every receipt is kept; the first one decides the delivery. */
	r = keep_receipt(n, id, receipt_id, buf, len, peer, rc->status);
	/* A message given up for its lifetime (no receipt held) that turns
	 * out delivered after all is delivered: the receipt proves it. */
	if (!r && ob->state == OUT_DEAD && !ob->receipt.len && positive)
		ob->state = OUT_PENDING;
	if (r || ob->state != OUT_PENDING) {
		if (!r)
			r = audit(n, "receipt_again", ob->referral_id, id, peer,
				  signed_key, envelope_status_name(rc->status),
				  rc->detail);
		if (!r)
			r = store_event_commit(n->store);
		if (r)
			store_event_abort(n->store);
		goto out;
	}
	ob->state = positive ? OUT_DELIVERED : OUT_DEAD;
	ob->receipt.data = (uint8_t *)buf;
	ob->receipt.len = len;
	ob->receipt_status = rc->status;
	ob->receipt_at_ms = util_now_ms();
	if (!positive) {
		snprintf(reason, sizeof(reason), "refused by %s: %s (%s)", peer,
			 envelope_status_name(rc->status), rc->detail);
		ob->dead_reason = reason;
	}
	r = store_put_msg(n->store, STORE_OUTBOX, id, 16, &ob->base);
	if (!r)
		r = audit(n, "receipt", ob->referral_id, id, peer,
			  signed_key, envelope_status_name(rc->status),
			  rc->detail);
	if (!r)
		r = store_event_commit(n->store);
	if (r) {
		store_event_abort(n->store);
		if (r == REF_E_STORE_FULL)
			n->store_nudge = true;
		log_msg(LOG_ERROR, "delivery", "msg_id=%s receipt not stored: "
			"%s; the message stays pending", idhex, ref_strerror(r));
	} else {
		log_msg(positive ? LOG_INFO : LOG_WARN, "delivery",
			"peer=%s msg_id=%s referral=%s receipt=%s%s%s%s%s", peer,
			idhex, ob->referral_id, envelope_status_name(rc->status),
			positive ? "" : " (not delivered: \"",
			positive ? "" : rc->detail,
			positive ? "" : "\"; refctl list --dead",
			rc->status == REFERRAL__V1__RECEIPT_STATUS__STALE
			? ", and check this node's clock)" : positive ? "" : ")");
	}
	ob->receipt.data = NULL; /* borrowed */
	ob->receipt.len = 0;
	ob->dead_reason = NULL;
out:
	if (ob) {
		ob->dead_reason = NULL;
		referral__store__v1__outbox_record__free_unpacked(ob, NULL);
	}
}

static void handle_receipt_envelope(node_t *n, const uint8_t *buf, size_t len,
				    const char *peer)
{
	envelope_policy_t pol = policy(n, n->cfg.code, peer, util_now_ms());
	envelope_check_t c;
	int st = envelope_verify(&pol, buf, len, &c);

	if (st != REFERRAL__V1__RECEIPT_STATUS__STORED) {
		receipt_rejected(n, &c, peer, st);
		envelope_check_free(&c);
		return;
	}
	if (c.hdr->kind == REFERRAL__V1__KIND__RECEIPT) {
		Referral__V1__Receipt *rc = referral__v1__receipt__unpack(
			NULL, c.env->body.len, c.env->body.data);
		if (rc) {
			apply_receipt(n, rc, buf, len, peer, c.hdr->key_id,
				      c.hdr->msg_id.data);
			referral__v1__receipt__free_unpacked(rc, NULL);
		}
	} else if (c.hdr->kind == REFERRAL__V1__KIND__RECEIPT_BATCH) {
		Referral__V1__ReceiptBatch *rb = referral__v1__receipt_batch__unpack(
			NULL, c.env->body.len, c.env->body.data);
		for (size_t i = 0; rb && i < rb->n_receipts; i++)
			apply_receipt(n, rb->receipts[i], buf, len, peer,
				      c.hdr->key_id, c.hdr->msg_id.data);
		if (rb)
			referral__v1__receipt_batch__free_unpacked(rb, NULL);
	} else {
		log_msg(LOG_WARN, "delivery", "peer=%s sent kind %s on a "
			"delivery connection; ignored", peer,
			envelope_kind_name(c.hdr->kind));
	}
	envelope_check_free(&c);
}

static void drain_dealers(node_t *n, zmq_pollitem_t *items, size_t first)
{
	for (size_t i = 0; i < n->n_peers; i++) {
		peer_t *p = &n->peers[i];
		if (!p->dealer || !(items[first + i].revents & ZMQ_POLLIN))
			continue;
		for (int k = 0; k < BATCH_PER_TURN; k++) {
			zmq_msg_t msg;
			zmq_msg_init(&msg);
			if (zmq_msg_recv(&msg, p->dealer, ZMQ_DONTWAIT) < 0) {
				zmq_msg_close(&msg);
				break;
			}
			handle_receipt_envelope(n, zmq_msg_data(&msg),
						zmq_msg_size(&msg), p->code);
			zmq_msg_close(&msg);
		}
	}
}

/* ---- the outbox schedule ------------------------------------------------- */

static int sched_load_one(void *ctx, const uint8_t *k, size_t kl,
			  const uint8_t *v, size_t vl)
{
	node_t *n = ctx;
	Referral__Store__V1__OutboxRecord *ob;
	sched_t s = { 0 };
	int r = 0;

	if (kl != 16)
		return 0;
	ob = referral__store__v1__outbox_record__unpack(NULL, vl, v);
	if (!ob)
		return REF_E_CORRUPT;
	if (ob->state == OUT_PENDING) {
		memcpy(s.msg_id, k, 16);
		s.next_ms = ob->next_attempt_ms;
		s.priority = ob->priority;
		s.created_ms = ob->created_at_ms;
		snprintf(s.to, sizeof(s.to), "%s", ob->to_node);
		r = sched_add(n, &s);
	}
	referral__store__v1__outbox_record__free_unpacked(ob, NULL);
	return r;
}

/* A new envelope with ob's kind, referral, seq and body, created now;
 * its outbox record is written and scheduled with this turn. */
static int resign(node_t *n, const Referral__Store__V1__OutboxRecord *ob,
		  uint64_t now, char ret_hex[33])
{
	Referral__V1__Envelope *e = referral__v1__envelope__unpack(
		NULL, ob->envelope.len, ob->envelope.data);
	Referral__V1__Header *h = e ? referral__v1__header__unpack(
		NULL, e->header.len, e->header.data) : NULL;
	Referral__Store__V1__OutboxRecord fresh =
		REFERRAL__STORE__V1__OUTBOX_RECORD__INIT;
	envelope_signer_t s = signer(n);
	envelope_fields_t f = { 0 };
	uint8_t msg_id[16], *env = NULL;
	size_t el;
	out_t *o;
	int r = -EINVAL;

	if (!h)
		goto out;
	f.to_node = ob->to_node;
	f.kind = h->kind;
	f.referral_id = h->referral_id;
	f.referral_seq = h->referral_seq;
	f.created_at_ms = now;
	r = envelope_build(&s, &f, e->body.data, e->body.len, &env, &el, msg_id);
	if (r)
		goto out;
	fresh.envelope.data = env;
	fresh.envelope.len = el;
	fresh.to_node = ob->to_node;
	fresh.referral_id = ob->referral_id;
	fresh.kind = ob->kind;
	fresh.created_at_ms = now;
	fresh.next_attempt_ms = now;
	fresh.priority = ob->priority;
	r = store_put_msg(n->store, STORE_OUTBOX, msg_id, 16, &fresh.base);
	if (!r && !(o = calloc(1, sizeof(*o))))
		r = -ENOMEM;
	if (!r) {
		memcpy(o->sched.msg_id, msg_id, 16);
		o->sched.next_ms = now;
		o->sched.priority = ob->priority;
		o->sched.created_ms = now;
		snprintf(o->sched.to, sizeof(o->sched.to), "%s", ob->to_node);
		queue(n, o);
		msg_hex(msg_id, ret_hex);
	}
out:
	free(env);
	if (h)
		referral__v1__header__free_unpacked(h, NULL);
	if (e)
		referral__v1__envelope__free_unpacked(e, NULL);
	return r;
}

/* One due message: send it (or find it dead) and record the attempt. */
static void attempt(node_t *n, size_t i, uint64_t now)
{
	out_t **mark;
	Referral__Store__V1__OutboxRecord *ob = NULL;
	sched_t *s = &n->sched[i];
	char idhex[33], reason[200];
	peer_t *p;
	int r, sent = 0;

	msg_hex(s->msg_id, idhex);
	/* A peer known down and still not reachable: only the in-memory
	 * schedule moves. Reading and rewriting every record of a week's
	 * backlog at each retry would cost the disk for nothing; the record
	 * is touched again when the peer answers, or at the lifetime's end. */
	p = peer_get(n, s->to);
	if (p && p->woke)
		return; /* due again next turn, in order */
	if (p && p->down && !peer_writable(p) &&
	    s->created_ms + (uint64_t)n->cfg.message_lifetime_ms >= now) {
		s->down_tries++;
		s->next_ms = now + backoff_ms(n, s->down_tries + 1);
		return;
	}
	r = store_get_msg(n->store, STORE_OUTBOX, s->msg_id, 16,
			  &referral__store__v1__outbox_record__descriptor,
			  (ProtobufCMessage **)&ob);
	if (r || ob->state != OUT_PENDING) {
		if (r)
			log_msg(LOG_ERROR, "delivery", "msg_id=%s cannot be read: "
				"%s", idhex, ref_strerror(r));
		sched_remove(n, i);
		goto out;
	}
	mark = out_mark(n);
	if (store_event_begin(n->store))
		goto out;
	if (ob->created_at_ms + (uint64_t)n->cfg.message_lifetime_ms < now) {
		char fresh[33] = "";
		snprintf(reason, sizeof(reason), "no receipt within the message "
			 "lifetime of %lld ms after %u attempts",
			 (long long)n->cfg.message_lifetime_ms, ob->attempts);
		/* A status change keeps its place in the referral's sequence:
		 * dropping it would leave a gap the receiver waits on for
		 * ever. It goes again, signed anew, under the same seq. */
		if ((ob->kind == REFERRAL__V1__KIND__STATUS_CHANGE ||
		     ob->kind == REFERRAL__V1__KIND__MATERIALS_SUPPLEMENT) &&
		    !resign(n, ob, now, fresh)) {
			snprintf(reason, sizeof(reason), "no receipt within the "
				 "message lifetime; sent again, signed anew, as "
				 "msg_id %s", fresh);
		}
		ob->state = OUT_DEAD;
		ob->dead_reason = reason;
		r = store_put_msg(n->store, STORE_OUTBOX, s->msg_id, 16, &ob->base);
		if (!r)
			r = audit(n, "dead", ob->referral_id, s->msg_id,
				  ob->to_node, "node", "dead", reason);
		ob->dead_reason = NULL;
		if (!r)
			r = store_event_commit(n->store);
		if (r) {
			store_event_abort(n->store);
			out_rollback(n, mark);
		} else {
			log_msg(LOG_WARN, "delivery", "msg_id=%s referral=%s "
				"peer=%s dead: %s", idhex, ob->referral_id,
				ob->to_node, reason);
			sched_remove(n, i);
		}
		goto out;
	}
	p = peer_get(n, ob->to_node);
	if (p && p->down) {
		/* Back from an outage? Then its whole backlog goes next turn,
		 * in priority order, not this message first. */
		if (peer_writable(p)) {
			wake_peer(n, p, now);
			store_event_abort(n->store);
			goto out;
		}
		errno = EAGAIN;
	} else if (p && zmq_send(p->dealer, ob->envelope.data, ob->envelope.len,
				 ZMQ_DONTWAIT) >= 0) {
		sent = 1;
		s->in_flight = true;
		talked_with(n, ob->to_node);
	}
	else if (p && errno == EAGAIN) {
		p->down = true;
		if (util_mono_ms() - p->opened_mono < 2000) {
			/* The connection is still being made: not an
			 * attempt yet. */
			store_event_abort(n->store);
			s->next_ms = now + 100;
			goto out;
		}
	}
	ob->attempts++;
	ob->sends += (uint32_t)sent;
	ob->last_attempt_ms = now;
	ob->next_attempt_ms = now + backoff_ms(n, ob->attempts);
	s->next_ms = ob->next_attempt_ms;
	r = store_put_msg(n->store, STORE_OUTBOX, s->msg_id, 16, &ob->base);
	/* The first send, then every power-of-two send: the trail shows the
	 * effort without a record per resend over a week's outage. */
	if (!r && sent && (ob->sends & (ob->sends - 1)) == 0)
		r = audit(n, ob->sends == 1 ? "sent" : "resent",
			  ob->referral_id, s->msg_id, ob->to_node, "node",
			  "ok", NULL);
	if (!r)
		r = store_event_commit(n->store);
	if (r)
		store_event_abort(n->store);
	log_msg(LOG_DEBUG, "delivery", "msg_id=%s peer=%s attempt=%u %s",
		idhex, ob->to_node, ob->attempts,
		sent ? "sent" : "peer not connected");
out:
	if (ob)
		referral__store__v1__outbox_record__free_unpacked(ob, NULL);
}

/* A peer that was unreachable and can now be written to gets its whole
 * backlog due at once, so the order below (priority first) decides what
 * leaves first, not the backoff each message happened to reach. */
static bool peer_writable(peer_t *p)
{
	int events = 0;
	size_t len = sizeof(events);

	return p->dealer &&
	       zmq_getsockopt(p->dealer, ZMQ_EVENTS, &events, &len) == 0 &&
	       (events & ZMQ_POLLOUT);
}

static void wake_peer(node_t *n, peer_t *p, uint64_t now)
{
	p->down = false;
	/* Found back in the middle of a turn: nothing more goes to it in
	 * this turn, whose list held only what happened to be due; the next
	 * turn takes its whole backlog by priority. */
	p->woke = true;
	for (size_t k = 0; k < n->n_sched; k++)
		if (!strcmp(n->sched[k].to, p->code))
			n->sched[k].next_ms = now;
	log_msg(LOG_INFO, "delivery", "peer=%s reachable again; its backlog "
		"is due", p->code);
}

static void wake_returned_peers(node_t *n, uint64_t now)
{
	for (size_t i = 0; i < n->n_peers; i++)
		if (n->peers[i].down && peer_writable(&n->peers[i]))
			wake_peer(n, &n->peers[i], now);
}

static int due_cmp(const void *a, const void *b)
{
	const sched_t *x = a, *y = b; /* a due_t begins with its sched_t */

	if (x->priority != y->priority)
		return x->priority > y->priority ? -1 : 1;
	/* Then in the order they were made: a referral's later messages
	 * never overtake its earlier ones. */
	if (x->created_ms != y->created_ms)
		return x->created_ms < y->created_ms ? -1 : 1;
	return memcmp(x->msg_id, y->msg_id, 16);
}

/* A due entry and where it was in n->sched when the turn began. */
typedef struct {
	sched_t s;
	size_t pos;
} due_t;

/* Where d's entry is now (n->n_sched if gone): where it was, unless an
 * attempt removed an entry meanwhile (the last one is swapped in). */
static size_t sched_at(node_t *n, const due_t *d)
{
	if (d->pos < n->n_sched && !memcmp(n->sched[d->pos].msg_id,
					   d->s.msg_id, 16))
		return d->pos;
	for (size_t i = 0; i < n->n_sched; i++)
		if (!memcmp(n->sched[i].msg_id, d->s.msg_id, 16))
			return i;
	return n->n_sched;
}

static void run_schedule(node_t *n)
{
	uint64_t now = util_now_ms();
	due_t *due;
	size_t n_due = 0;

	for (size_t i = 0; i < n->n_peers; i++)
		n->peers[i].woke = false;
	wake_returned_peers(n, now);
	for (size_t i = 0; i < n->n_peers; i++)
		n->peers[i].woke = false;
	due = malloc((n->n_sched + 1) * sizeof(*due));
	if (!due)
		return;
	for (size_t i = 0; i < n->n_sched; i++)
		if (n->sched[i].next_ms <= now) {
			due[n_due].s = n->sched[i];
			due[n_due++].pos = i;
		}
	/* Urgent first, then the green channel, then the rest. */
	qsort(due, n_due, sizeof(*due), due_cmp);
	/* [limits] peer_in_flight: a message not yet sent waits while its
	 * peer already holds that many unreceipted; resends go on. */
	struct { char to[8]; size_t n; bool full; } fl[64];
	size_t n_fl = 0;
	for (size_t i = 0; i < n->n_sched; i++) {
		size_t f;
		if (!n->sched[i].in_flight)
			continue;
		for (f = 0; f < n_fl && strcmp(fl[f].to, n->sched[i].to); f++)
			;
		if (f == n_fl && n_fl < 64) {
			snprintf(fl[n_fl].to, sizeof(fl[0].to), "%s", n->sched[i].to);
			fl[n_fl].full = false;
			fl[n_fl++].n = 0;
		}
		if (f < n_fl)
			fl[f].n++;
	}
	for (size_t k = 0; k < n_due && k < SCHED_PER_TURN; k++)
		for (size_t i = sched_at(n, &due[k]); i < n->n_sched;
		     i = n->n_sched) {
				size_t f;
				for (f = 0; f < n_fl && strcmp(fl[f].to,
							       n->sched[i].to); f++)
					;
				if (!n->sched[i].in_flight && f < n_fl &&
				    fl[f].n >= (size_t)n->cfg.peer_in_flight) {
					fl[f].full = true;
					break;
				}
				if (!n->sched[i].in_flight && f < n_fl)
					fl[f].n++;
				else if (!n->sched[i].in_flight && n_fl < 64) {
					snprintf(fl[n_fl].to, sizeof(fl[0].to),
						 "%s", n->sched[i].to);
					fl[n_fl].full = false;
					fl[n_fl++].n = 1;
				}
				attempt(n, i, now);
				break;
			}
	/* A peer at its quota: everything due for it waits the same short
	 * time, so that when receipts free room the next turn picks again
	 * by priority among all of them (waiting one by one would let the
	 * ones looked at last go first). */
	for (size_t f = 0; f < n_fl; f++)
		if (fl[f].full)
			for (size_t i = 0; i < n->n_sched; i++)
				if (!n->sched[i].in_flight &&
				    n->sched[i].next_ms <= now &&
				    !strcmp(n->sched[i].to, fl[f].to))
					n->sched[i].next_ms = now + 50;
	free(due);
}

static long poll_timeout(node_t *n)
{
	uint64_t now = util_now_ms(), next = now + 1000;

	for (size_t i = 0; i < n->n_sched; i++)
		if (n->sched[i].next_ms < next)
			next = n->sched[i].next_ms;
	return next <= now ? 0 : (long)(next - now);
}

/* ---- local clients ------------------------------------------------------- */

static uint8_t *pack_reply(const Referral__Local__V1__Reply *rep, size_t *len)
{
	uint8_t *b;

	*len = referral__local__v1__reply__get_packed_size(rep);
	b = malloc(*len ? *len : 1);
	if (b)
		referral__local__v1__reply__pack(rep, b);
	return b;
}

static void json_time(json_t *o, const char *key, uint64_t ms)
{
	char ts[32];

	if (!ms)
		return;
	util_rfc3339(ms, ts);
	json_object_set_new(o, key, json_string(ts));
}

static const char *delivery_name(uint32_t state)
{
	return state == OUT_DELIVERED ? "delivered"
	       : state == OUT_DEAD    ? "dead" : "pending";
}

/* The receipt we hold, checked again against the directory now in force:
 * what an auditor would do with it. */
static json_t *receipt_json(node_t *n, const uint8_t *buf, size_t len,
			    const char *from, const char *to, uint64_t at_ms)
{
	envelope_policy_t pol = policy(n, to, from, at_ms);
	envelope_check_t c;
	json_t *o = json_object();
	char hex[65];
	int st = envelope_verify(&pol, buf, len, &c);

	json_object_set_new(o, "verified",
			    json_boolean(st == REFERRAL__V1__RECEIPT_STATUS__STORED));
	if (c.hdr) {
		json_object_set_new(o, "from", json_string(c.hdr->from_node));
		json_object_set_new(o, "signed_by", json_string(c.hdr->key_id));
		if (c.hdr->msg_id.len == 16)
			json_object_set_new(o, "receipt_msg_id", json_string(
				msg_hex(c.hdr->msg_id.data, hex)));
	}
	if (c.env && c.hdr && (c.hdr->kind == REFERRAL__V1__KIND__RECEIPT)) {
		Referral__V1__Receipt *rc = referral__v1__receipt__unpack(
			NULL, c.env->body.len, c.env->body.data);
		if (rc) {
			json_object_set_new(o, "status", json_string(
				envelope_status_name(rc->status)));
			json_time(o, "received_at", rc->received_at_ms);
			json_object_set_new(o, "detail", json_string(rc->detail));
			if (rc->envelope_sha256.len == 32) {
				util_hex(rc->envelope_sha256.data, 32, hex);
				json_object_set_new(o, "envelope_sha256",
						    json_string(hex));
			}
			referral__v1__receipt__free_unpacked(rc, NULL);
		}
	}
	envelope_check_free(&c);
	return o;
}

static json_t *clocks_json(node_t *n, const referral_rec_t *rr,
			   uint64_t *ret_earliest);

/* The application inside a REFERRAL_SUBMIT envelope's bytes (NULL if it
 * does not parse); ret_body, if not NULL, gets a copy of the body bytes. */
static Referral__V1__ReferralSubmit *submit_in(const uint8_t *env, size_t len,
					       uint8_t **ret_body,
					       size_t *ret_len)
{
	Referral__V1__Envelope *e = referral__v1__envelope__unpack(NULL, len,
								   env);
	Referral__V1__ReferralSubmit *a = NULL;

	if (!e)
		return NULL;
	a = referral__v1__referral_submit__unpack(NULL, e->body.len,
						  e->body.data);
	if (a && ret_body) {
		*ret_body = malloc(e->body.len ? e->body.len : 1);
		if (*ret_body) {
			memcpy(*ret_body, e->body.data, e->body.len);
			*ret_len = e->body.len;
		}
	}
	referral__v1__envelope__free_unpacked(e, NULL);
	return a;
}
static json_t *history_json(node_t *n, const referral_rec_t *rr);

static json_t *referral_json(node_t *n, const Referral__Store__V1__ReferralRecord *rr,
			     bool full, int *ret_err)
{
	json_t *o = json_object();
	char hex[33];
	store_table_t t = rr->direction == DIR_OUTGOING ? STORE_OUTBOX
							 : STORE_INBOX;
	const uint8_t *env = NULL;
	size_t env_len = 0;
	Referral__Store__V1__OutboxRecord *ob = NULL;
	Referral__Store__V1__InboxRecord *in = NULL;
	int r;

	*ret_err = 0;
	json_object_set_new(o, "referral_id", json_string(rr->referral_id));
	json_object_set_new(o, "direction", json_string(
		rr->direction == DIR_OUTGOING ? "outgoing" : "incoming"));
	json_object_set_new(o, "origin", json_string(rr->origin_node));
	json_object_set_new(o, "receiver", json_string(rr->receiver_node));
	json_object_set_new(o, "state", json_string(rr->state));
	json_object_set_new(o, "case_type", json_string(rr->case_type));
	json_object_set_new(o, "service", json_string(rr->service));
	json_time(o, "created_at", rr->created_at_ms);
	json_object_set_new(o, "priority", json_string(
		rr->priority == 2 ? "urgent" : rr->priority == 1
		? "green_channel" : "ordinary"));
	{
		uint64_t earliest;
		json_t *clocks = clocks_json(n, rr, &earliest);
		if (earliest != UINT64_MAX)
			json_time(o, "next_due", earliest);
		if (full)
			json_object_set_new(o, "clocks", clocks);
		else
			json_decref(clocks);
	}
	if (full) {
		json_object_set_new(o, "history", history_json(n, rr));
		if (rr->recommendation[0])
			json_object_set_new(o, "recommendation", json_pack(
				"{s:s, s:s}", "outcome", rr->recommendation,
				"rule", rr->recommendation_rule));
		if (rr->linked_from[0])
			json_object_set_new(o, "linked_from",
					    json_string(rr->linked_from));
		if (rr->onward_id[0])
			json_object_set_new(o, "onward_referral_id",
					    json_string(rr->onward_id));
		if (rr->materials_round)
			json_object_set_new(o, "materials_round",
					    json_integer(rr->materials_round));
	}
	if (rr->submit_msg_id.len == 16)
		json_object_set_new(o, "msg_id", json_string(
			msg_hex(rr->submit_msg_id.data, hex)));
	if (rr->submit_msg_id.len != 16)
		return o;
	if (t == STORE_OUTBOX) {
		r = store_get_msg(n->store, t, rr->submit_msg_id.data, 16,
				  &referral__store__v1__outbox_record__descriptor,
				  (ProtobufCMessage **)&ob);
		if (r) {
			*ret_err = r;
			return o;
		}
		json_object_set_new(o, "delivery",
				    json_string(delivery_name(ob->state)));
		{
			/* Tries while the peer is known down are counted in
			 * memory only (attempt() spares the disk then). */
			uint32_t extra = 0;
			for (size_t i = 0; i < n->n_sched; i++)
				if (!memcmp(n->sched[i].msg_id,
					    rr->submit_msg_id.data, 16))
					extra = n->sched[i].down_tries;
			json_object_set_new(o, "attempts",
					    json_integer(ob->attempts + extra));
		}
		json_object_set_new(o, "sends", json_integer(ob->sends));
		json_time(o, "last_attempt_at", ob->last_attempt_ms);
		if (ob->state == OUT_PENDING)
			json_time(o, "next_attempt_at", ob->next_attempt_ms);
		if (ob->dead_reason[0])
			json_object_set_new(o, "dead_reason",
					    json_string(ob->dead_reason));
		if (full && ob->receipt.len)
			json_object_set_new(o, "receipt", receipt_json(n,
				ob->receipt.data, ob->receipt.len, ob->to_node,
				n->cfg.code, ob->receipt_at_ms));
		else if (ob->receipt.len)
			json_object_set_new(o, "receipt_status", json_string(
				envelope_status_name(ob->receipt_status)));
		env = ob->envelope.data;
		env_len = ob->envelope.len;
	} else {
		r = store_get_msg(n->store, t, rr->submit_msg_id.data, 16,
				  &referral__store__v1__inbox_record__descriptor,
				  (ProtobufCMessage **)&in);
		if (r) {
			*ret_err = r;
			return o;
		}
		/* Delivered to us: we hold it and sent a STORED receipt. */
		json_object_set_new(o, "delivery", json_string("delivered"));
		json_time(o, "received_at", in->received_at_ms);
		/* The STORED receipt this node sent, as the origin holds it. */
		if (full && in->receipt.len)
			json_object_set_new(o, "receipt", receipt_json(n,
				in->receipt.data, in->receipt.len, n->cfg.code,
				in->from_node, in->received_at_ms));
		env = in->envelope.data;
		env_len = in->envelope.len;
	}
	if (full && env) {
		Referral__V1__ReferralSubmit *a = submit_in(env, env_len, NULL,
							    NULL);
		char sha[65];
		uint8_t d[32];
		util_sha256(env, env_len, d);
		util_hex(d, 32, sha);
		json_object_set_new(o, "envelope_sha256", json_string(sha));
		if (a) {
			json_object_set_new(o, "application",
					    application_to_json(a));
			referral__v1__referral_submit__free_unpacked(a, NULL);
		}
	}
	if (ob)
		referral__store__v1__outbox_record__free_unpacked(ob, NULL);
	if (in)
		referral__store__v1__inbox_record__free_unpacked(in, NULL);
	return o;
}

static int get_referral(node_t *n, const char *id,
			Referral__Store__V1__ReferralRecord **ret)
{
	return store_get_msg(n->store, STORE_REFERRALS, id, strlen(id),
			     &referral__store__v1__referral_record__descriptor,
			     (ProtobufCMessage **)ret);
}

static char *dump(json_t *o)
{
	char *s = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(o);
	return s;
}

struct list_ctx {
	node_t *n;
	uint32_t direction;
	json_t *arr;
	int err;
};

static int list_one(void *ctx, const uint8_t *k, size_t kl, const uint8_t *v,
		    size_t vl)
{
	struct list_ctx *lc = ctx;
	Referral__Store__V1__ReferralRecord *rr;
	int err = 0;

	(void)k;
	(void)kl;
	rr = referral__store__v1__referral_record__unpack(NULL, vl, v);
	if (!rr)
		return REF_E_CORRUPT;
	if (rr->direction == lc->direction)
		json_array_append_new(lc->arr, referral_json(lc->n, rr, false,
							     &err));
	referral__store__v1__referral_record__free_unpacked(rr, NULL);
	if (err)
		lc->err = err;
	return 0;
}

static int rank(const char *prio)
{
	return !strcmp(prio, "urgent") ? 0 : !strcmp(prio, "green_channel") ? 1
									   : 2;
}

static int list_cmp(const void *a, const void *b)
{
	json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
	const char *px = json_string_value(json_object_get(x, "priority"));
	const char *py = json_string_value(json_object_get(y, "priority"));
	const char *dx = json_string_value(json_object_get(x, "next_due"));
	const char *dy = json_string_value(json_object_get(y, "next_due"));
	int c = rank(px ? px : "") - rank(py ? py : "");

	if (c)
		return c;
	/* RFC 3339 UTC times of one form sort as text; none sorts last. */
	c = strcmp(dx ? dx : "~", dy ? dy : "~");
	if (c)
		return c;
	return strcmp(json_string_value(json_object_get(x, "created_at")),
		      json_string_value(json_object_get(y, "created_at")));
}

/* Priority first (urgent, green channel, ordinary), then the nearest
 * deadline, then arrival. */
static void sort_list(json_t *arr)
{
	size_t n = json_array_size(arr);
	json_t **v = calloc(n + 1, sizeof(*v));

	if (!v)
		return;
	for (size_t i = 0; i < n; i++)
		v[i] = json_incref(json_array_get(arr, i));
	qsort(v, n, sizeof(*v), list_cmp);
	json_array_clear(arr);
	for (size_t i = 0; i < n; i++)
		json_array_append_new(arr, v[i]);
	free(v);
}

struct trail_ctx {
	const char *id;
	json_t *arr;
};

static int trail_one(void *ctx, const Referral__Store__V1__AuditRecord *a)
{
	struct trail_ctx *tc = ctx;
	json_t *o;
	char hex[33];

	if (strcmp(a->referral_id, tc->id))
		return 0;
	o = json_object();
	json_object_set_new(o, "seq", json_integer((json_int_t)a->seq));
	json_time(o, "time", a->time_ms);
	json_object_set_new(o, "event", json_string(a->event));
	if (a->msg_id.len == 16)
		json_object_set_new(o, "msg_id",
				    json_string(msg_hex(a->msg_id.data, hex)));
	if (a->peer[0])
		json_object_set_new(o, "peer", json_string(a->peer));
	if (a->actor[0])
		json_object_set_new(o, "actor", json_string(a->actor));
	json_object_set_new(o, "outcome", json_string(a->outcome));
	if (a->detail[0])
		json_object_set_new(o, "detail", json_string(a->detail));
	json_array_append_new(tc->arr, o);
	return 0;
}

struct count_ctx {
	size_t by_state[3];
};

static int count_outbox(void *ctx, const uint8_t *k, size_t kl,
			const uint8_t *v, size_t vl)
{
	struct count_ctx *cc = ctx;
	Referral__Store__V1__OutboxRecord *ob =
		referral__store__v1__outbox_record__unpack(NULL, vl, v);

	(void)k;
	(void)kl;
	if (!ob)
		return REF_E_CORRUPT;
	if (ob->state < 3)
		cc->by_state[ob->state]++;
	referral__store__v1__outbox_record__free_unpacked(ob, NULL);
	return 0;
}

static int count_any(void *ctx, const uint8_t *k, size_t kl, const uint8_t *v,
		     size_t vl)
{
	(void)k; (void)kl; (void)v; (void)vl;
	(*(size_t *)ctx)++;
	return 0;
}

static int op_status(node_t *n, Referral__Local__V1__Reply *rep)
{
	json_t *o = json_object(), *ob = json_object(), *st = json_object();
	struct count_ctx cc = { { 0 } };
	size_t inbox = 0, used, map, max;
	int r;

	r = store_foreach(n->store, STORE_OUTBOX, count_outbox, &cc);
	if (!r)
		r = store_foreach(n->store, STORE_INBOX, count_any, &inbox);
	store_usage(n->store, &used, &map, &max);
	json_object_set_new(o, "node", json_string(n->cfg.code));
	json_object_set_new(o, "name", json_string(n->cfg.name));
	json_object_set_new(o, "role", json_string(n->cfg.role));
	json_object_set_new(o, "listen", json_string(n->cfg.listen));
	json_object_set_new(o, "key_id", json_string(n->cfg.key_id));
	{
		uint64_t dropped = 0;
		for (size_t i = 0; i < n->n_buckets; i++)
			dropped += n->buckets[i].dropped;
		size_t in_flight = 0;
		for (size_t i = 0; i < n->n_sched; i++)
			in_flight += n->sched[i].in_flight;
		json_object_set_new(o, "limits", json_pack(
			"{s:I, s:I, s:I, s:I}", "in_flight", (json_int_t)in_flight,
			"connections_open",
			(json_int_t)n->n_conns, "connections_refused",
			(json_int_t)n->conn_refused, "rate_dropped",
			(json_int_t)dropped));
	}
	if (n->seal)
		json_object_set_new(o, "data_key", json_pack("{s:I, s:s, s:I, s:b}",
			"key", (json_int_t)seal_current_id(n->seal), "alg",
			seal_alg_name(seal_current_alg(n->seal)), "keys",
			(json_int_t)seal_key_count(n->seal), "resealing",
			n->resealing || n->retire_keys));
	json_object_set_new(o, "directory_version",
			    json_integer((json_int_t)n->dir->version));
	json_object_set_new(ob, "pending", json_integer((json_int_t)cc.by_state[0]));
	json_object_set_new(ob, "delivered", json_integer((json_int_t)cc.by_state[1]));
	json_object_set_new(ob, "dead", json_integer((json_int_t)cc.by_state[2]));
	json_object_set_new(o, "outbox", ob);
	json_object_set_new(o, "inbox", json_integer((json_int_t)inbox));
	{
		uint8_t *k = NULL, *v = NULL;
		size_t kl, vl;
		uint64_t seq = 0;
		if (store_last(n->store, STORE_AUDIT, &k, &kl, &v, &vl) == 0 &&
		    kl == 8)
			for (int i = 0; i < 8; i++)
				seq = seq << 8 | k[i];
		free(k);
		free(v);
		json_object_set_new(o, "audit_records",
				    json_integer((json_int_t)seq));
	}
	json_object_set_new(st, "used_bytes", json_integer((json_int_t)used));
	json_object_set_new(st, "map_bytes", json_integer((json_int_t)map));
	json_object_set_new(st, "max_bytes", json_integer((json_int_t)max));
	json_object_set_new(st, "accepting_submissions",
			    json_boolean(store_submit_allowed(n->store)));
	json_object_set_new(o, "store", st);
	json_object_set_new(o, "uptime_s", json_integer(
		(json_int_t)((util_now_ms() - n->started_ms) / 1000)));
	rep->json = dump(o);
	return r;
}

static int fail_reply(Referral__Local__V1__Reply *rep, int code, char *buf,
		      size_t len, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

static int fail_reply(Referral__Local__V1__Reply *rep, int code, char *buf,
		      size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, len, fmt, ap);
	va_end(ap);
	rep->code = code;
	rep->error = buf;
	return code;
}

/* ---- the lifecycle --------------------------------------------------------- */


/* Replaces an unpacked message's string (protobuf-c frees it with free()). */
static int set_str(char **field, const char *v)
{
	char *copy = strdup(v ? v : "");

	if (!copy)
		return -ENOMEM;
	if (*field && *field != protobuf_c_empty_string)
		free(*field);
	*field = copy;
	return 0;
}

static int put_referral(node_t *n, referral_rec_t *rr)
{
	rr->updated_at_ms = util_now_ms();
	return store_put_msg(n->store, STORE_REFERRALS, rr->referral_id,
			     strlen(rr->referral_id), &rr->base);
}

static const char *counterpart(node_t *n, const referral_rec_t *rr)
{
	(void)n;
	return rr->direction == DIR_OUTGOING ? rr->receiver_node
					     : rr->origin_node;
}

static void history_key(const char *id, uint32_t i, uint8_t *key, size_t *klen)
{
	size_t l = strlen(id);

	memcpy(key, id, l);
	key[l] = (uint8_t)(i >> 24);
	key[l + 1] = (uint8_t)(i >> 16);
	key[l + 2] = (uint8_t)(i >> 8);
	key[l + 3] = (uint8_t)i;
	*klen = l + 4;
}

static int history_append(node_t *n, referral_rec_t *rr,
			  const Referral__V1__StatusChange *sc,
			  const char *by, uint64_t at, const uint8_t *msg_id)
{
	Referral__Store__V1__HistoryRecord h =
		REFERRAL__STORE__V1__HISTORY_RECORD__INIT;
	uint8_t key[80], *buf;
	size_t klen, blen;
	int r;

	blen = referral__v1__status_change__get_packed_size(sc);
	buf = malloc(blen ? blen : 1);
	if (!buf)
		return -ENOMEM;
	referral__v1__status_change__pack(sc, buf);
	h.change.data = buf;
	h.change.len = blen;
	h.by_node = (char *)by;
	h.at_ms = at;
	if (msg_id) {
		h.msg_id.data = (uint8_t *)msg_id;
		h.msg_id.len = 16;
	}
	history_key(rr->referral_id, rr->history_len, key, &klen);
	r = store_put_msg(n->store, STORE_HISTORY, key, klen, &h.base);
	free(buf);
	if (!r)
		rr->history_len++;
	return r;
}

typedef struct {
	Referral__V1__StatusChange *sc;
	char by[8];
	uint64_t at;
} step_t;

static void steps_free(step_t *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i].sc)
			referral__v1__status_change__free_unpacked(s[i].sc, NULL);
	free(s);
}

/* The referral's history in order (*ret malloc'd; steps_free it). */
static int history_load(node_t *n, const referral_rec_t *rr, step_t **ret)
{
	step_t *s = calloc(rr->history_len + 1, sizeof(*s));
	int r = 0;

	if (!s)
		return -ENOMEM;
	for (uint32_t i = 0; i < rr->history_len && !r; i++) {
		Referral__Store__V1__HistoryRecord *h = NULL;
		uint8_t key[80];
		size_t klen;

		history_key(rr->referral_id, i, key, &klen);
		r = store_get_msg(n->store, STORE_HISTORY, key, klen,
				  &referral__store__v1__history_record__descriptor,
				  (ProtobufCMessage **)&h);
		if (r)
			break;
		s[i].sc = referral__v1__status_change__unpack(NULL, h->change.len,
							      h->change.data);
		snprintf(s[i].by, sizeof(s[i].by), "%s", h->by_node);
		s[i].at = h->at_ms;
		referral__store__v1__history_record__free_unpacked(h, NULL);
		if (!s[i].sc)
			r = REF_E_CORRUPT;
	}
	if (r) {
		steps_free(s, rr->history_len);
		return r;
	}
	*ret = s;
	return 0;
}

static size_t referral_clocks(node_t *n, const referral_rec_t *rr,
			      clock_info_t *out, size_t max)
{
	step_t *s;
	clock_step_t *cs;
	size_t k = 0, w;

	if (history_load(n, rr, &s))
		return 0;
	cs = malloc((rr->history_len + 1) * sizeof(*cs));
	if (!cs) {
		steps_free(s, rr->history_len);
		return 0;
	}
	for (uint32_t i = 0; i < rr->history_len; i++)
		cs[k++] = (clock_step_t){ lc_state_from_name(s[i].sc->state),
					  s[i].at };
	steps_free(s, rr->history_len);
	w = clocks_compute(cs, k, n->calendar, (int)n->cfg.materials_wait_days,
			   out, max);
	free(cs);
	return w;
}

/* Sends a status change (or a supplement) about rr to its counterpart:
 * the envelope goes to the outbox in this turn and leaves after commit. */
static int send_about(node_t *n, referral_rec_t *rr, Referral__V1__Kind kind,
		      const ProtobufCMessage *body, uint32_t priority,
		      uint64_t at)
{
	Referral__Store__V1__OutboxRecord ob =
		REFERRAL__STORE__V1__OUTBOX_RECORD__INIT;
	envelope_signer_t s = signer(n);
	envelope_fields_t f = { 0 };
	uint8_t *bb, *env = NULL, msg_id[16];
	size_t bl, el;
	uint64_t now = at ? at : util_now_ms();
	out_t *o;
	int r;

	bl = protobuf_c_message_get_packed_size(body);
	bb = malloc(bl ? bl : 1);
	if (!bb)
		return -ENOMEM;
	protobuf_c_message_pack(body, bb);
	f.to_node = counterpart(n, rr);
	f.kind = kind;
	f.referral_id = rr->referral_id;
	/* Node-level kinds (a checkpoint) concern no referral: seq 0. */
	f.referral_seq = rr->referral_id[0] ? ++rr->seq_out : 0;
	f.created_at_ms = now;
	r = envelope_build(&s, &f, bb, bl, &env, &el, msg_id);
	free(bb);
	if (r)
		return r;
	if (el > (size_t)n->cfg.max_message_bytes) {
		free(env);
		rr->seq_out--;
		return REF_E_TOO_LARGE;
	}
	ob.envelope.data = env;
	ob.envelope.len = el;
	ob.to_node = (char *)f.to_node;
	ob.referral_id = rr->referral_id;
	ob.kind = kind;
	ob.created_at_ms = now;
	ob.next_attempt_ms = now;
	ob.priority = priority;
	r = store_put_msg(n->store, STORE_OUTBOX, msg_id, 16, &ob.base);
	free(env);
	if (r)
		return r;
	o = calloc(1, sizeof(*o));
	if (!o)
		return -ENOMEM;
	memcpy(o->sched.msg_id, msg_id, 16);
	o->sched.next_ms = now;
	o->sched.priority = priority;
	o->sched.created_ms = now;
	snprintf(o->sched.to, sizeof(o->sched.to), "%s", f.to_node);
	queue(n, o);
	return 0;
}

/* A node-level message (no referral, no sequence) to node `to`. */
static int send_node_level(node_t *n, const char *to, Referral__V1__Kind kind,
			   const ProtobufCMessage *body, uint32_t priority,
			   uint64_t at)
{
	referral_rec_t rr = REFERRAL__STORE__V1__REFERRAL_RECORD__INIT;

	rr.referral_id = "";
	rr.direction = DIR_OUTGOING;
	rr.receiver_node = (char *)to;
	return send_about(n, &rr, kind, body, priority, at);
}

/* A legal basis must point at an article: "Art 41", "第四十一条"... Chinese
 * numerals are matched as whole UTF-8 characters. */
static bool names_article(const char *basis)
{
	static const char *const numerals[] = { "一", "二", "三", "四", "五",
		"六", "七", "八", "九", "十", "百", NULL };

	if (strpbrk(basis, "0123456789"))
		return true;
	if (!strstr(basis, "条"))
		return false;
	for (const char *const *d = numerals; *d; d++)
		if (strstr(basis, *d))
			return true;
	return false;
}

/* Checks a move of rr by party against the lifecycle table. On refusal
 * ret_why says what was wrong and what the moves from here are. */
static int move_allowed(const referral_rec_t *rr,
			const Referral__V1__StatusChange *sc, unsigned party,
			char *why, size_t len)
{
	lc_state_t from = lc_state_from_name(rr->state);
	lc_state_t to = lc_state_from_name(sc->state);
	unsigned needs = 0, parties;
	char moves[300];

	if (to == LC_NONE) {
		snprintf(why, len, "\"%.40s\" is not a lifecycle state", sc->state);
		return REF_E_INVALID;
	}
	parties = lc_edge(from, to, sc->aid_first, &needs);
	if (!parties || !(parties & party)) {
		lc_moves_from(from, party, moves, sizeof(moves));
		if (!parties)
			snprintf(why, len, "referral %s is %s; it cannot move to "
				 "%s. Moves open from %s: %s", rr->referral_id,
				 rr->state, sc->state, rr->state, moves);
		else
			snprintf(why, len, "referral %s is %s; %s -> %s is the "
				 "%s's move, not this party's. Moves open to "
				 "this party from %s: %s", rr->referral_id,
				 rr->state, rr->state, sc->state,
				 parties & LC_ADMIN ? "justice bureau admin"
				 : parties & LC_RECEIVER ? "receiving centre"
				 : "origin", rr->state, moves);
		return REF_E_REFUSED;
	}
	if (sc->aid_first && rr->priority != 2) {
		snprintf(why, len, "aid first (Art 44) is for urgent cases: a "
			 "limitation period within 7 days, or preservation needed; "
			 "referral %s is not marked urgent", rr->referral_id);
		return REF_E_REFUSED;
	}
	if ((needs & LC_NEEDS_REASON) && !sc->reason[0]) {
		snprintf(why, len, "%s -> %s needs a reason", rr->state, sc->state);
		return REF_E_INVALID;
	}
	if ((needs & LC_NEEDS_BASIS) && !sc->legal_basis[0]) {
		snprintf(why, len, "%s -> %s needs the legal basis relied on",
			 rr->state, sc->state);
		return REF_E_INVALID;
	}
	if (sc->legal_basis[0] && (strlen(sc->legal_basis) > 200 ||
				   !names_article(sc->legal_basis))) {
		snprintf(why, len, "the legal basis must name an article, e.g. "
			 "\"Legal Aid Law Art 41\" or \"法律援助法第四十一条\"");
		return REF_E_INVALID;
	}
	if ((needs & LC_NEEDS_ITEMS) && !sc->n_missing_items) {
		snprintf(why, len, "the one-time notice must list every missing "
			 "item (at least one)");
		return REF_E_INVALID;
	}
	if ((needs & LC_NEEDS_ASSIGNMENT) &&
	    (!sc->assignment || !sc->assignment->firm[0] ||
	     !sc->assignment->lawyer[0] || !sc->assignment->licence_no[0])) {
		snprintf(why, len, "an assignment needs the firm, the lawyer and "
			 "the licence number");
		return REF_E_INVALID;
	}
	if ((needs & LC_NEEDS_REPORT) && !sc->report[0]) {
		snprintf(why, len, "closing needs the closing report");
		return REF_E_INVALID;
	}
	if ((needs & LC_NEEDS_ONWARD) && !util_node_code_valid(sc->onward_to)) {
		snprintf(why, len, "an onward referral needs the county it goes "
			 "to");
		return REF_E_INVALID;
	}
	return 0;
}

/* Applies a checked move to rr (state, history, audit). */
static int apply_move(node_t *n, referral_rec_t *rr,
		      Referral__V1__StatusChange *sc, const char *by,
		      uint64_t at, const uint8_t *msg_id)
{
	int r;

	if (lc_state_from_name(sc->state) == LC_AWAITING_MATERIALS &&
	    !sc->round)
		sc->round = rr->materials_round + 1;
	if (sc->round > rr->materials_round)
		rr->materials_round = sc->round;
	if (sc->onward_referral_id[0])
		if ((r = set_str(&rr->onward_id, sc->onward_referral_id)))
			return r;
	r = history_append(n, rr, sc, by, at, msg_id);
	if (!r)
		r = set_str(&rr->state, sc->state);
	if (!r)
		r = audit(n, "status_change", rr->referral_id, msg_id,
			  counterpart(n, rr), sc->actor[0] ? sc->actor : by,
			  sc->state, sc->reason);
	return r;
}

static bool is_admin(node_t *n, const char *actor)
{
	const char *p = n->cfg.admins;
	size_t al = strlen(actor);

	if (!al)
		return false;
	while (*p) {
		size_t len;
		while (*p == ' ' || *p == ',')
			p++;
		len = strcspn(p, ", ");
		if (len == al && !strncmp(p, actor, len))
			return true;
		p += len;
	}
	return false;
}

/* Everything queued after mark is dropped: an event that aborts must not
 * leave a schedule entry or a reply for writes that never happened. */
static out_t **out_mark(node_t *n)
{
	return n->out_tail;
}

static void out_rollback(node_t *n, out_t **mark)
{
	out_t *o = *mark, *next;

	for (; o; o = next) {
		next = o->next;
		free(o->rid);
		free(o->data);
		free(o->fail);
		free(o);
	}
	*mark = NULL;
	n->out_tail = mark;
}

/* A new outgoing referral of body to dest (committed with the turn). */
static int new_referral(node_t *n, const dir_node_t *dest, const uint8_t *body,
			size_t blen, const Referral__V1__ReferralSubmit *a,
			const char *actor, const char *linked_from,
			char *ret_id, size_t idlen, char *err, size_t errlen)
{
	Referral__Store__V1__OutboxRecord ob = REFERRAL__STORE__V1__OUTBOX_RECORD__INIT;
	referral_rec_t rr = REFERRAL__STORE__V1__REFERRAL_RECORD__INIT;
	Referral__V1__StatusChange sc = REFERRAL__V1__STATUS_CHANGE__INIT;
	envelope_signer_t s = signer(n);
	envelope_fields_t f = { 0 };
	uint8_t msg_id[16], *env = NULL;
	size_t env_len;
	uint64_t now = util_now_ms();
	char id[48];
	out_t *o;
	int r;

	r = util_referral_id(n->cfg.code, id, sizeof(id));
	if (r)
		return r;
	f.to_node = dest->code;
	f.kind = REFERRAL__V1__KIND__REFERRAL_SUBMIT;
	f.referral_id = id;
	f.referral_seq = 1;
	f.created_at_ms = now;
	r = envelope_build(&s, &f, body, blen, &env, &env_len, msg_id);
	if (r)
		return r;
	if (env_len > (size_t)n->cfg.max_message_bytes) {
		snprintf(err, errlen, "the referral is %zu bytes, more than "
			 "[limits] max_message_bytes = %lld; send large "
			 "documents by reference", env_len,
			 (long long)n->cfg.max_message_bytes);
		free(env);
		return REF_E_TOO_LARGE;
	}
	ob.envelope.data = env;
	ob.envelope.len = env_len;
	ob.to_node = (char *)dest->code;
	ob.referral_id = id;
	ob.kind = f.kind;
	ob.created_at_ms = now;
	ob.next_attempt_ms = now;
	ob.priority = (uint32_t)application_priority(a);
	rr.referral_id = id;
	rr.direction = DIR_OUTGOING;
	rr.origin_node = n->cfg.code;
	rr.receiver_node = (char *)dest->code;
	rr.submit_msg_id.data = msg_id;
	rr.submit_msg_id.len = 16;
	rr.created_at_ms = now;
	rr.state = "REQUESTED";
	rr.case_type = a->matter->case_type;
	rr.service = a->matter->service;
	rr.seq_out = 1;
	rr.priority = ob.priority;
	rr.linked_from = (char *)(linked_from ? linked_from : "");
	rr.limitation_deadline = a->matter->limitation_deadline;
	sc.state = "REQUESTED";
	sc.actor = (char *)actor;
	sc.changed_at_ms = now;
	r = store_put_msg(n->store, STORE_OUTBOX, msg_id, 16, &ob.base);
	free(env);
	if (!r)
		r = history_append(n, &rr, &sc, n->cfg.code, now, msg_id);
	if (!r)
		r = store_put_msg(n->store, STORE_REFERRALS, id, strlen(id),
				  &rr.base);
	if (!r)
		r = audit(n, "submitted", id, msg_id, dest->code, actor, "ok",
			  linked_from ? linked_from : a->matter->case_type);
	if (r)
		return r;
	o = calloc(1, sizeof(*o));
	if (!o)
		return -ENOMEM;
	memcpy(o->sched.msg_id, msg_id, 16);
	o->sched.next_ms = now;
	o->sched.priority = ob.priority;
	o->sched.created_ms = now;
	snprintf(o->sched.to, sizeof(o->sched.to), "%s", dest->code);
	queue(n, o);
	snprintf(ret_id, idlen, "%s", id);
	log_msg(LOG_INFO, "client", "submitted referral=%s to=%s priority=%u%s%s",
		id, dest->code, ob.priority, linked_from ? " onward from " : "",
		linked_from ? linked_from : "");
	return 0;
}

/* The application a referral carries, from its stored submit envelope. */
static Referral__V1__ReferralSubmit *application_of(node_t *n,
						    const referral_rec_t *rr,
						    uint8_t **ret_body,
						    size_t *ret_len)
{
	Referral__Store__V1__InboxRecord *in = NULL;
	Referral__Store__V1__OutboxRecord *ob = NULL;
	Referral__V1__ReferralSubmit *a = NULL;
	const ProtobufCBinaryData *env;

	if (rr->submit_msg_id.len != 16)
		return NULL;
	if (rr->direction == DIR_INCOMING) {
		if (store_get_msg(n->store, STORE_INBOX, rr->submit_msg_id.data, 16,
				  &referral__store__v1__inbox_record__descriptor,
				  (ProtobufCMessage **)&in))
			return NULL;
		env = &in->envelope;
	} else {
		if (store_get_msg(n->store, STORE_OUTBOX, rr->submit_msg_id.data,
				  16, &referral__store__v1__outbox_record__descriptor,
				  (ProtobufCMessage **)&ob))
			return NULL;
		env = &ob->envelope;
	}
	a = submit_in(env->data, env->len, ret_body, ret_len);
	if (in)
		referral__store__v1__inbox_record__free_unpacked(in, NULL);
	if (ob)
		referral__store__v1__outbox_record__free_unpacked(ob, NULL);
	return a;
}

/* The referral a request names, or a reply that says why not. */
static int referral_for(node_t *n, const char *id,
			Referral__Local__V1__Reply *rep, char *err,
			size_t errlen, referral_rec_t **ret)
{
	int r = get_referral(n, id, ret);

	if (r)
		fail_reply(rep, r, err, errlen, r == REF_E_NOT_FOUND
			   ? "no referral %.64s on this node"
			   : "referral %.64s cannot be read", id);
	return r;
}

/* A change request retried by the client (same request id) gets the
 * first answer and changes nothing: true if req was already applied. */
static bool request_done(node_t *n, const Referral__Local__V1__Request *req,
			 Referral__Local__V1__Reply *rep)
{
	static char id[48];
	Referral__Store__V1__RequestRecord *prev = NULL;

	if (!req->request_id[0] ||
	    store_get_msg(n->store, STORE_REQUESTS, req->request_id,
			  strlen(req->request_id),
			  &referral__store__v1__request_record__descriptor,
			  (ProtobufCMessage **)&prev))
		return false;
	snprintf(id, sizeof(id), "%s", prev->referral_id);
	rep->referral_id = id;
	referral__store__v1__request_record__free_unpacked(prev, NULL);
	return true;
}

static int request_record(node_t *n, const Referral__Local__V1__Request *req,
			  const char *referral_id)
{
	Referral__Store__V1__RequestRecord rq =
		REFERRAL__STORE__V1__REQUEST_RECORD__INIT;

	if (!req->request_id[0] || strlen(req->request_id) > 64)
		return 0;
	rq.referral_id = (char *)referral_id;
	rq.created_at_ms = util_now_ms();
	return store_put_msg(n->store, STORE_REQUESTS, req->request_id,
			     strlen(req->request_id), &rq.base);
}

/* A move made here, by local staff: checked, applied, sent. */
static int op_move(node_t *n, const Referral__Local__V1__Request *req,
		   Referral__Local__V1__Reply *rep, char *err, size_t errlen)
{
	Referral__V1__StatusChange *sc;
	referral_rec_t *rr = NULL;
	unsigned party;
	uint64_t now = util_now_ms();
	static char onward[48];
	int r;

	onward[0] = '\0';
	if (request_done(n, req, rep))
		return 0;
	sc = referral__v1__status_change__unpack(NULL, req->body.len,
						 req->body.data);
	if (!sc)
		return fail_reply(rep, REF_E_MALFORMED, err, errlen,
				  "the status change does not parse");
	r = referral_for(n, req->referral_id, rep, err, errlen, &rr);
	if (r)
		goto out;
	party = rr->direction == DIR_OUTGOING ? LC_ORIGIN : LC_RECEIVER;
	if (!strcmp(sc->actor_role, "admin")) {
		if (party != LC_RECEIVER || !is_admin(n, req->actor)) {
			r = fail_reply(rep, REF_E_REFUSED, err, errlen,
				       "actor %.64s does not hold the admin role "
				       "at this node ([roles] admins)",
				       req->actor[0] ? req->actor : "(none)");
			goto out;
		}
		party = LC_ADMIN;
	}
	if (lc_state_from_name(sc->state) == LC_WITHDRAWN) {
		r = fail_reply(rep, REF_E_REFUSED, err, errlen,
			       "WITHDRAWN is set by the node when the wait for "
			       "materials ends (Art 43); to stop a referral, "
			       "cancel it with a reason");
		goto out;
	}
	sc->round = 0; /* the node numbers the rounds, not the client */
	r = move_allowed(rr, sc, party, err, errlen);
	if (r) {
		rep->code = r;
		rep->error = err;
		goto out;
	}
	set_str(&sc->from_state, rr->state);
	set_str(&sc->actor, req->actor);
	sc->changed_at_ms = now;
	if (lc_state_from_name(sc->state) == LC_REFERRED_ONWARD) {
		const dir_node_t *dest = directory_node(n->dir, sc->onward_to);
		Referral__V1__ReferralSubmit *a;
		uint8_t *body = NULL;
		size_t blen = 0;

		if (!dest || !strcmp(dest->code, n->cfg.code) ||
		    !strcmp(dest->code, rr->origin_node)) {
			r = fail_reply(rep, REF_E_UNKNOWN_NODE, err, errlen,
				       "%.16s is not another county in the "
				       "directory", sc->onward_to);
			goto out;
		}
		if (!store_submit_allowed(n->store)) {
			r = fail_reply(rep, REF_E_STORE_FULL, err, errlen,
				       "store full: no new referral can be made "
				       "([store] map_max_mb = %lld)",
				       (long long)n->cfg.map_max_mb);
			goto out;
		}
		a = application_of(n, rr, &body, &blen);
		if (a && a->matter && !directory_accepts(dest, a->matter->case_type)) {
			referral__v1__referral_submit__free_unpacked(a, NULL);
			free(body);
			r = fail_reply(rep, REF_E_REFUSED, err, errlen,
				       "%s does not accept case type %s according "
				       "to the directory", dest->code,
				       rr->case_type);
			goto out;
		}
		if (!a || !body) {
			free(body);
			if (a)
				referral__v1__referral_submit__free_unpacked(a, NULL);
			r = fail_reply(rep, REF_E_CORRUPT, err, errlen,
				       "the application of %s cannot be read",
				       rr->referral_id);
			goto out;
		}
		r = new_referral(n, dest, body, blen, a, req->actor,
				 rr->referral_id, onward, sizeof(onward), err,
				 errlen);
		free(body);
		referral__v1__referral_submit__free_unpacked(a, NULL);
		if (r) {
			if (!rep->code)
				fail_reply(rep, r, err, errlen, "%s",
					   err[0] ? err : ref_strerror(r));
			goto out;
		}
		set_str(&sc->onward_referral_id, onward);
	}
	if (party == LC_ORIGIN) {
		/* The receiver applies the origin's moves and confirms them
		 * back; until then the referral here keeps its state. */
		r = send_about(n, rr, REFERRAL__V1__KIND__STATUS_CHANGE,
			       &sc->base, rr->priority, now);
		if (!r)
			r = audit(n, "status_requested", rr->referral_id, NULL,
				  counterpart(n, rr), sc->actor, sc->state,
				  sc->reason);
		rep->error = "sent to the receiving centre, which applies it and "
			     "confirms it back";
	} else {
		r = apply_move(n, rr, sc, n->cfg.code, now, NULL);
		if (!r)
			r = send_about(n, rr, REFERRAL__V1__KIND__STATUS_CHANGE,
				       &sc->base, rr->priority, now);
	}
	if (!r)
		r = put_referral(n, rr);
	if (!r)
		r = request_record(n, req, onward[0] ? onward : req->referral_id);
	if (r) {
		fail_reply(rep, r, err, errlen, "the move was not stored: %s",
			   ref_strerror(r));
		goto out;
	}
	rep->referral_id = onward[0] && sc->onward_referral_id[0] ? onward
								    : req->referral_id;
	log_msg(LOG_INFO, "lifecycle", "referral=%s %s -> %s by actor=%s",
		rr->referral_id, sc->from_state, sc->state, sc->actor);
out:
	if (rr)
		referral__store__v1__referral_record__free_unpacked(rr, NULL);
	referral__v1__status_change__free_unpacked(sc, NULL);
	return r;
}

/* The origin relays the applicant's supplement: AWAITING_MATERIALS ->
 * RECEIVED here, and the documents go to the receiver. */
static int op_supplement(node_t *n, const Referral__Local__V1__Request *req,
			 Referral__Local__V1__Reply *rep, char *err,
			 size_t errlen)
{
	Referral__V1__MaterialsSupplement *ms;
	Referral__V1__StatusChange sc = REFERRAL__V1__STATUS_CHANGE__INIT;
	referral_rec_t *rr = NULL;
	uint64_t now = util_now_ms();
	int r;

	if (request_done(n, req, rep))
		return 0;
	ms = referral__v1__materials_supplement__unpack(NULL, req->body.len,
							req->body.data);
	if (!ms)
		return fail_reply(rep, REF_E_MALFORMED, err, errlen,
				  "the supplement does not parse");
	r = referral_for(n, req->referral_id, rep, err, errlen, &rr);
	if (r)
		goto out;
	if (!ms->n_documents) {
		r = fail_reply(rep, REF_E_INVALID, err, errlen,
			       "a supplement needs at least one document");
		goto out;
	}
	if (ms->n_documents > (size_t)n->cfg.max_documents) {
		r = fail_reply(rep, REF_E_TOO_LARGE, err, errlen,
			       "%zu documents, more than [limits] max_documents "
			       "= %lld", ms->n_documents,
			       (long long)n->cfg.max_documents);
		goto out;
	}
	for (size_t i = 0; i < ms->n_documents; i++)
		if (ms->documents[i]->content.len >
		    (size_t)n->cfg.max_document_bytes) {
			r = fail_reply(rep, REF_E_TOO_LARGE, err, errlen,
				       "document %zu is %zu bytes, more than "
				       "[limits] max_document_bytes = %lld", i + 1,
				       ms->documents[i]->content.len,
				       (long long)n->cfg.max_document_bytes);
			goto out;
		}
	sc.state = "RECEIVED";
	sc.reason = "materials supplied";
	r = move_allowed(rr, &sc, rr->direction == DIR_OUTGOING ? LC_ORIGIN
								: LC_RECEIVER,
			 err, errlen);
	if (r) {
		rep->code = r;
		rep->error = err;
		goto out;
	}
	sc.from_state = rr->state;
	sc.actor = req->actor;
	sc.changed_at_ms = now;
	sc.round = rr->materials_round;
	ms->round = rr->materials_round;
	set_str(&ms->actor, req->actor);
	/* The receiver applies it (back to RECEIVED) and confirms it; the
	 * referral here moves when that confirmation arrives. */
	r = send_about(n, rr, REFERRAL__V1__KIND__MATERIALS_SUPPLEMENT,
		       &ms->base, rr->priority, now);
	if (!r)
		r = audit(n, "status_requested", rr->referral_id, NULL,
			  counterpart(n, rr), req->actor, "RECEIVED",
			  "materials supplied");
	rep->error = "sent to the receiving centre, which applies it and "
		     "confirms it back";
	if (!r)
		r = put_referral(n, rr);
	if (!r)
		r = request_record(n, req, req->referral_id);
	if (r == REF_E_TOO_LARGE)
		fail_reply(rep, r, err, errlen, "the supplement is larger than "
			   "[limits] max_message_bytes = %lld; send fewer or "
			   "smaller documents", (long long)n->cfg.max_message_bytes);
	else if (r)
		fail_reply(rep, r, err, errlen, "the supplement was not stored: %s",
			   ref_strerror(r));
	else
		rep->referral_id = req->referral_id;
out:
	if (rr)
		referral__store__v1__referral_record__free_unpacked(rr, NULL);
	referral__v1__materials_supplement__free_unpacked(ms, NULL);
	return r;
}

/* A status change or supplement from the counterpart, in referral_seq
 * order. Returns the receipt status; detail says why for a refusal. */
static int apply_remote(node_t *n, referral_rec_t *rr, int kind,
			const ProtobufCBinaryData *body, const char *peer,
			const uint8_t *msg_id, uint64_t sent_at, char *detail,
			size_t dlen)
{
	Referral__V1__StatusChange *sc = NULL;
	unsigned party = !strcmp(peer, rr->origin_node) ? LC_ORIGIN : LC_RECEIVER;
	char why[400];
	int r;

	if (kind == REFERRAL__V1__KIND__MATERIALS_SUPPLEMENT) {
		Referral__V1__MaterialsSupplement *ms =
			referral__v1__materials_supplement__unpack(NULL, body->len,
								   body->data);
		if (!ms)
			return REFERRAL__V1__RECEIPT_STATUS__MALFORMED;
		sc = calloc(1, sizeof(*sc));
		if (!sc) {
			referral__v1__materials_supplement__free_unpacked(ms, NULL);
			return -ENOMEM;
		}
		referral__v1__status_change__init(sc);
		sc->state = strdup("RECEIVED");
		sc->reason = strdup("materials supplied");
		sc->from_state = strdup(rr->state);
		sc->actor = strdup(ms->actor);
		sc->round = ms->round;
		/* The origin recorded the move when it sent it: the same time
		 * here keeps both nodes' clocks equal. */
		sc->changed_at_ms = sent_at;
		referral__v1__materials_supplement__free_unpacked(ms, NULL);
		if (!sc->state || !sc->reason || !sc->from_state || !sc->actor) {
			referral__v1__status_change__free_unpacked(sc, NULL);
			return -ENOMEM;
		}
	} else {
		sc = referral__v1__status_change__unpack(NULL, body->len, body->data);
		if (!sc)
			return REFERRAL__V1__RECEIPT_STATUS__MALFORMED;
	}
	if (!strcmp(sc->actor_role, "admin") && party == LC_RECEIVER)
		party = LC_ADMIN;
	/* The receiver confirming a move this node (the origin) asked for:
	 * it is the origin's move, now applied where the referral lives. */
	if (party == LC_RECEIVER && sc->made_by[0] &&
	    !strcmp(sc->made_by, rr->origin_node))
		party = LC_ORIGIN;
	/* Judged from the state here, not the sender's from_state: the
	 * origin's view lags the receiver's (a cancel sent while the referral
	 * was REQUESTED there may arrive when it is RECEIVED here), and a move
	 * legal from here keeps both nodes converging on the same state. */
	r = move_allowed(rr, sc, party, why, sizeof(why));
	if (r) {
		snprintf(detail, dlen, "%s", why);
		util_utf8_trim(detail);
		r = audit(n, "status_refused", rr->referral_id, msg_id, peer,
			  sc->actor, sc->state, detail);
		referral__v1__status_change__free_unpacked(sc, NULL);
		return r ? r : REFERRAL__V1__RECEIPT_STATUS__REFUSED;
	}
	if (!sc->changed_at_ms)
		sc->changed_at_ms = util_now_ms();
	r = apply_move(n, rr, sc, sc->made_by[0] ? sc->made_by : peer,
		       sc->changed_at_ms, msg_id);
	/* The receiver is the one writer of a referral's history: an
	 * origin's move applied here goes back to the origin, which applies
	 * it only then. */
	if (!r && rr->direction == DIR_INCOMING &&
	    !strcmp(peer, rr->origin_node)) {
		r = set_str(&sc->made_by, peer);
		if (!r)
			r = send_about(n, rr, REFERRAL__V1__KIND__STATUS_CHANGE,
				       &sc->base, rr->priority, 0);
	}
	log_msg(LOG_INFO, "lifecycle", "referral=%s %s -> %s by %s",
		rr->referral_id, sc->from_state, sc->state,
		sc->made_by[0] ? sc->made_by : peer);
	referral__v1__status_change__free_unpacked(sc, NULL);
	snprintf(detail, dlen, "stored");
	return r ? r : REFERRAL__V1__RECEIPT_STATUS__STORED;
}

static void held_key(const char *id, uint64_t seq, uint8_t *key, size_t *klen)
{
	size_t l = strlen(id);

	memcpy(key, id, l);
	for (int i = 0; i < 8; i++)
		key[l + i] = (uint8_t)(seq >> (56 - 8 * i));
	*klen = l + 8;
}

/* Applies, in order, the held changes that now follow rr->seq_in. */
static int drain_held(node_t *n, referral_rec_t *rr, const char *peer)
{
	uint8_t key[80];
	size_t klen;
	int r = 0;

	for (;;) {
		uint8_t *hv;
		size_t hl;
		Referral__V1__Envelope *e;
		Referral__V1__Header *hh;
		char d2[200];
		int s2;

		held_key(rr->referral_id, rr->seq_in + 1, key, &klen);
		if (store_get(n->store, STORE_HELD, key, klen, &hv, &hl))
			break;
		e = referral__v1__envelope__unpack(NULL, hl, hv);
		hh = e ? referral__v1__header__unpack(NULL, e->header.len,
						      e->header.data) : NULL;
		if (hh) {
			s2 = apply_remote(n, rr, hh->kind, &e->body, peer,
					  hh->msg_id.data, hh->created_at_ms, d2,
					  sizeof(d2));
			if (s2 < 0)
				r = s2;
		}
		if (hh)
			referral__v1__header__free_unpacked(hh, NULL);
		if (e)
			referral__v1__envelope__free_unpacked(e, NULL);
		free(hv);
		if (!r)
			r = store_del(n->store, STORE_HELD, key, klen);
		if (r)
			break;
		rr->seq_in++;
	}
	return r;
}

/* Status changes apply in referral_seq order: an early one is held (and
 * receipted STORED: it is stored) until the gap before it is filled. */
static int handle_change(node_t *n, const envelope_check_t *c,
			 const uint8_t *buf, size_t len, const char *peer,
			 char *detail, size_t dlen)
{
	Referral__V1__Header *h = c->hdr;
	referral_rec_t *rr = NULL;
	uint8_t key[80];
	size_t klen;
	int st, r;

	r = get_referral(n, h->referral_id, &rr);
	if (r == REF_E_NOT_FOUND) {
		/* Ahead of the referral itself (refuse_reason let only the
		 * origin's own changes through to here). */
		held_key(h->referral_id, h->referral_seq, key, &klen);
		r = store_put(n->store, STORE_HELD, key, klen, buf, len);
		if (!r)
			r = audit(n, "held", h->referral_id, h->msg_id.data, peer,
				  "node", "STORED", "waiting for the referral");
		snprintf(detail, dlen, "stored; applies when the referral "
			 "arrives");
		return r ? r : REFERRAL__V1__RECEIPT_STATUS__STORED;
	}
	if (r)
		return r;
	if (h->referral_seq > rr->seq_in + 64) {
		/* Held changes wait for a gap to fill; a gap this wide will
		 * not, and holding it would only fill the store. */
		snprintf(detail, dlen, "referral_seq %llu is too far ahead of "
			 "%llu", (unsigned long long)h->referral_seq,
			 (unsigned long long)rr->seq_in);
		st = REFERRAL__V1__RECEIPT_STATUS__REFUSED;
		r = audit(n, "status_refused", rr->referral_id, h->msg_id.data,
			  peer, "node", "REFUSED", detail);
		goto out;
	}
	if (h->referral_seq > rr->seq_in + 1) {
		held_key(rr->referral_id, h->referral_seq, key, &klen);
		r = store_put(n->store, STORE_HELD, key, klen, buf, len);
		if (!r)
			r = audit(n, "held", rr->referral_id, h->msg_id.data, peer,
				  "node", "STORED", "waiting for an earlier "
				  "status change");
		snprintf(detail, dlen, "stored; applies after seq %llu",
			 (unsigned long long)(h->referral_seq - 1));
		st = REFERRAL__V1__RECEIPT_STATUS__STORED;
		goto out;
	}
	if (h->referral_seq <= rr->seq_in) {
		snprintf(detail, dlen, "referral_seq %llu was already applied",
			 (unsigned long long)h->referral_seq);
		st = REFERRAL__V1__RECEIPT_STATUS__REFUSED;
		r = audit(n, "status_refused", rr->referral_id, h->msg_id.data,
			  peer, "node", "REFUSED", detail);
		goto out;
	}
	st = apply_remote(n, rr, h->kind, &c->env->body, peer, h->msg_id.data,
			  h->created_at_ms, detail, dlen);
	if (st < 0) {
		r = st;
		goto out;
	}
	rr->seq_in = h->referral_seq;
	r = drain_held(n, rr, peer);
out:
	if (!r)
		r = put_referral(n, rr);
	referral__store__v1__referral_record__free_unpacked(rr, NULL);
	return r ? r : st;
}

/* The receiver's side of a delivered referral: history REQUESTED (the
 * origin's) then RECEIVED (ours), the eligibility recommendation, and the
 * RECEIVED status change back to the origin. */
static int receive_referral(node_t *n, referral_rec_t *rr,
			    const Referral__V1__ReferralSubmit *a,
			    uint64_t created_at, const uint8_t *msg_id)
{
	Referral__V1__StatusChange req = REFERRAL__V1__STATUS_CHANGE__INIT;
	Referral__V1__StatusChange got = REFERRAL__V1__STATUS_CHANGE__INIT;
	const char *outcome;
	char rule[200];
	uint64_t now = util_now_ms();
	int r;

	req.state = "REQUESTED";
	req.changed_at_ms = created_at;
	got.state = "RECEIVED";
	got.from_state = "REQUESTED";
	got.actor = "node";
	got.changed_at_ms = now;
	rules_recommend(n->rules, a->means, &outcome, rule, sizeof(rule));
	r = history_append(n, rr, &req, rr->origin_node, created_at, msg_id);
	if (!r)
		r = history_append(n, rr, &got, n->cfg.code, now, NULL);
	if (!r)
		r = set_str(&rr->recommendation, outcome);
	if (!r)
		r = set_str(&rr->recommendation_rule, rule);
	if (!r)
		r = audit(n, "eligibility", rr->referral_id, NULL, NULL, "node",
			  outcome, rule);
	if (!r)
		r = send_about(n, rr, REFERRAL__V1__KIND__STATUS_CHANGE,
			       &got.base, rr->priority, now);
	return r;
}

/* ---- audit checkpoints ----------------------------------------------------- */

/* Every checkpoint_records records, or checkpoint_minutes if anything was
 * recorded, the chain head goes, signed, to each peer talked with since. */
static void maybe_checkpoint(node_t *n)
{
	Referral__V1__AuditCheckpoint cp = REFERRAL__V1__AUDIT_CHECKPOINT__INIT;
	uint8_t hash[32];
	uint64_t seq, now = util_now_ms();
	out_t **mark;
	int r;

	if (audit_head(n->store, &seq, hash) || seq <= n->last_cp_seq ||
	    !n->n_talked)
		return;
	if (seq - n->last_cp_seq < (uint64_t)n->cfg.checkpoint_records &&
	    now - n->last_cp_ms < (uint64_t)n->cfg.checkpoint_minutes * 60000)
		return;
	cp.seq = seq;
	cp.head_hash.data = hash;
	cp.head_hash.len = 32;
	cp.at_ms = now;
	mark = out_mark(n);
	if (store_event_begin(n->store))
		return;
	r = 0;
	for (size_t i = 0; i < n->n_talked && !r; i++)
		if (directory_node(n->dir, n->talked[i]))
			r = send_node_level(n, n->talked[i],
					    REFERRAL__V1__KIND__AUDIT_CHECKPOINT,
					    &cp.base, 0, now);
	if (!r) {
		char detail[40];
		snprintf(detail, sizeof(detail), "seq %llu to %zu peer(s)",
			 (unsigned long long)seq, n->n_talked);
		r = audit(n, "checkpoint", NULL, NULL, NULL, "node", "ok", detail);
	}
	if (!r)
		r = store_event_commit(n->store);
	if (r) {
		store_event_abort(n->store);
		out_rollback(n, mark);
		return;
	}
	n->last_cp_seq = seq + 1; /* the checkpoint's own record */
	n->last_cp_ms = now;
	n->n_talked = 0;
}

/* ---- deadlines ------------------------------------------------------------- */

static bool clock_reported(const referral_rec_t *rr, const char *name)
{
	for (size_t i = 0; i < rr->n_passed_clocks; i++)
		if (!strcmp(rr->passed_clocks[i], name))
			return true;
	return false;
}

static int mark_reported(referral_rec_t *rr, const char *name, uint64_t due)
{
	char **nv = realloc(rr->passed_clocks,
			    (rr->n_passed_clocks + 1) * sizeof(char *));
	char tag[64];

	(void)due;
	if (!nv)
		return -ENOMEM;
	rr->passed_clocks = nv;
	/* One report per clock run: the tag names the clock and its round. */
	snprintf(tag, sizeof(tag), "%s", name);
	nv[rr->n_passed_clocks] = strdup(tag);
	if (!nv[rr->n_passed_clocks])
		return -ENOMEM;
	rr->n_passed_clocks++;
	return 0;
}

struct scan {
	node_t *n;
	uint64_t now;
	char (*ids)[48];
	size_t n_ids, cap;
};

static int collect_open(void *ctx, const uint8_t *k, size_t kl,
			const uint8_t *v, size_t vl)
{
	struct scan *sc = ctx;
	referral_rec_t *rr = referral__store__v1__referral_record__unpack(
		NULL, vl, v);

	(void)k;
	(void)kl;
	if (!rr)
		return REF_E_CORRUPT;
	if (!lc_final(lc_state_from_name(rr->state))) {
		if (sc->n_ids == sc->cap) {
			size_t cap = sc->cap ? sc->cap * 2 : 64;
			char (*ni)[48] = realloc(sc->ids, cap * sizeof(*ni));
			if (!ni) {
				referral__store__v1__referral_record__free_unpacked(
					rr, NULL);
				return -ENOMEM;
			}
			sc->ids = ni;
			sc->cap = cap;
		}
		snprintf(sc->ids[sc->n_ids++], 48, "%s", rr->referral_id);
	}
	referral__store__v1__referral_record__free_unpacked(rr, NULL);
	return 0;
}

/* Every open referral's running clocks: a passed one is audited and
 * logged once; a passed materials wait withdraws the application at the
 * receiver (Art 43 para 2). */
static void check_deadlines(node_t *n)
{
	struct scan sc = { n, util_now_ms(), NULL, 0, 0 };

	if (store_foreach(n->store, STORE_REFERRALS, collect_open, &sc)) {
		free(sc.ids);
		return;
	}
	for (size_t i = 0; i < sc.n_ids; i++) {
		referral_rec_t *rr = NULL;
		clock_info_t ck[8];
		size_t nc, passed[8], n_passed = 0;
		int r = 0, changed = 0;
		out_t **mark;

		if (get_referral(n, sc.ids[i], &rr))
			continue;
		nc = referral_clocks(n, rr, ck, 8);
		/* Most checks find nothing due: no transaction for those (a
		 * nested one per open referral, every few seconds, cost more
		 * than everything else the loop does under a large store). */
		{
			bool any = false;
			for (size_t k = 0; k < nc && !any; k++) {
				char tag[64];
				if (ck[k].status != CLOCK_RUNNING ||
				    ck[k].due_ms > sc.now)
					continue;
				snprintf(tag, sizeof(tag), "%s/%u/%u", ck[k].name,
					 rr->history_len, rr->materials_round);
				any = !clock_reported(rr, tag);
			}
			if (!any) {
				referral__store__v1__referral_record__free_unpacked(
					rr, NULL);
				continue;
			}
		}
		mark = out_mark(n);
		if (store_event_begin(n->store)) {
			referral__store__v1__referral_record__free_unpacked(rr, NULL);
			break;
		}
		for (size_t k = 0; k < nc && !r; k++) {
			char tag[64], due[32];

			if (ck[k].status != CLOCK_RUNNING || ck[k].due_ms > sc.now)
				continue;
			snprintf(tag, sizeof(tag), "%s/%u/%u", ck[k].name,
				 rr->history_len, rr->materials_round);
			if (clock_reported(rr, tag))
				continue;
			util_rfc3339(ck[k].due_ms, due);
			r = mark_reported(rr, tag, ck[k].due_ms);
			if (!r)
				r = audit(n, "deadline_passed", rr->referral_id,
					  NULL, NULL, "node", ck[k].name, due);
			changed = 1;
			if (n_passed < 8)
				passed[n_passed++] = k;
			if (!r && !strcmp(ck[k].name, "materials") &&
			    rr->direction == DIR_INCOMING) {
				Referral__V1__StatusChange w =
					REFERRAL__V1__STATUS_CHANGE__INIT;
				char reason[120], *from = strdup(rr->state);
				snprintf(reason, sizeof(reason), "no supplement "
					 "within %lld days: deemed withdrawn "
					 "(Art 43)",
					 (long long)n->cfg.materials_wait_days);
				w.state = "WITHDRAWN";
				w.from_state = from ? from : "";
				w.reason = reason;
				w.actor = "node";
				w.changed_at_ms = sc.now;
				r = apply_move(n, rr, &w, n->cfg.code, sc.now, NULL);
				if (!r)
					r = send_about(n, rr,
						       REFERRAL__V1__KIND__STATUS_CHANGE,
						       &w.base, rr->priority,
						       sc.now);
				free(from);
			}
		}
		if (!r && changed)
			r = put_referral(n, rr);
		if (!r)
			r = store_event_commit(n->store);
		if (r) {
			store_event_abort(n->store);
			out_rollback(n, mark);
		}
		/* Logged once it is recorded: a failed write is tried again
		 * at the next check, and logged then. */
		for (size_t k = 0; !r && k < n_passed; k++) {
			char due[32];
			util_rfc3339(ck[passed[k]].due_ms, due);
			log_msg(LOG_WARN, "deadline", "referral=%s clock=%s "
				"due=%s passed", rr->referral_id,
				ck[passed[k]].name, due);
		}
		referral__store__v1__referral_record__free_unpacked(rr, NULL);
	}
	free(sc.ids);
}

static json_t *clocks_json(node_t *n, const referral_rec_t *rr,
			   uint64_t *ret_earliest)
{
	clock_info_t ck[8];
	size_t nc = referral_clocks(n, rr, ck, 8);
	json_t *arr = json_array();
	uint64_t now = util_now_ms(), earliest = UINT64_MAX;

	for (size_t k = 0; k < nc; k++) {
		json_t *o = json_object();
		json_object_set_new(o, "clock", json_string(ck[k].name));
		json_object_set_new(o, "status", json_string(
			ck[k].status == CLOCK_RUNNING ? "running" : "paused"));
		if (ck[k].status == CLOCK_RUNNING) {
			json_time(o, "due", ck[k].due_ms);
			json_object_set_new(o, "overdue",
					    json_boolean(ck[k].due_ms <= now));
			if (ck[k].due_ms < earliest)
				earliest = ck[k].due_ms;
		} else {
			json_object_set_new(o, "days_left",
					    json_integer(ck[k].days_left));
		}
		json_array_append_new(arr, o);
	}
	if (ret_earliest)
		*ret_earliest = earliest;
	return arr;
}

static json_t *history_json(node_t *n, const referral_rec_t *rr)
{
	json_t *arr = json_array();
	step_t *s;

	if (history_load(n, rr, &s))
		return arr;
	for (uint32_t i = 0; i < rr->history_len; i++) {
		Referral__V1__StatusChange *c = s[i].sc;
		json_t *o = json_object();
		json_object_set_new(o, "state", json_string(c->state));
		if (c->from_state[0])
			json_object_set_new(o, "from", json_string(c->from_state));
		json_object_set_new(o, "by", json_string(s[i].by));
		json_time(o, "at", s[i].at);
		if (c->actor[0])
			json_object_set_new(o, "actor", json_string(c->actor));
		if (c->actor_role[0])
			json_object_set_new(o, "role", json_string(c->actor_role));
		if (c->reason[0])
			json_object_set_new(o, "reason", json_string(c->reason));
		if (c->legal_basis[0])
			json_object_set_new(o, "legal_basis",
					    json_string(c->legal_basis));
		if (c->n_missing_items) {
			json_t *items = json_array();
			for (size_t k = 0; k < c->n_missing_items; k++)
				json_array_append_new(items, json_string(
					c->missing_items[k]));
			json_object_set_new(o, "missing_items", items);
		}
		if (c->assignment) {
			json_object_set_new(o, "assignment", json_pack(
				"{s:s, s:s, s:s}", "firm", c->assignment->firm,
				"lawyer", c->assignment->lawyer, "licence_no",
				c->assignment->licence_no));
		}
		if (c->report[0])
			json_object_set_new(o, "report", json_string(c->report));
		if (c->onward_referral_id[0])
			json_object_set_new(o, "onward_referral_id",
					    json_string(c->onward_referral_id));
		if (c->aid_first)
			json_object_set_new(o, "aid_first", json_true());
		if (c->round)
			json_object_set_new(o, "round", json_integer(c->round));
		json_array_append_new(arr, o);
	}
	steps_free(s, rr->history_len);
	return arr;
}

struct overdue_ctx {
	node_t *n;
	json_t *arr;
	uint64_t horizon;
};

static int overdue_one(void *ctx, const uint8_t *k, size_t kl, const uint8_t *v,
		       size_t vl)
{
	struct overdue_ctx *oc = ctx;
	referral_rec_t *rr = referral__store__v1__referral_record__unpack(
		NULL, vl, v);
	clock_info_t ck[8];
	size_t nc;

	(void)k;
	(void)kl;
	if (!rr)
		return REF_E_CORRUPT;
	nc = lc_final(lc_state_from_name(rr->state)) ? 0
		: referral_clocks(oc->n, rr, ck, 8);
	for (size_t i = 0; i < nc; i++) {
		json_t *o;
		if (ck[i].status != CLOCK_RUNNING || ck[i].due_ms > oc->horizon)
			continue;
		o = json_object();
		json_object_set_new(o, "referral_id", json_string(rr->referral_id));
		json_object_set_new(o, "state", json_string(rr->state));
		json_object_set_new(o, "clock", json_string(ck[i].name));
		json_time(o, "due", ck[i].due_ms);
		json_object_set_new(o, "overdue",
				    json_boolean(ck[i].due_ms <= util_now_ms()));
		json_object_set_new(o, "priority", json_integer(rr->priority));
		json_array_append_new(oc->arr, o);
	}
	referral__store__v1__referral_record__free_unpacked(rr, NULL);
	return 0;
}

static int op_submit(node_t *n, const Referral__Local__V1__Request *req,
		     Referral__Local__V1__Reply *rep, char *err, size_t errlen)
{
	Referral__Store__V1__RequestRecord *prev = NULL;
	Referral__Store__V1__RequestRecord rq = REFERRAL__STORE__V1__REQUEST_RECORD__INIT;
	Referral__V1__ReferralSubmit *a = NULL;
	application_limits_t lim = {
		(size_t)n->cfg.max_document_bytes, (size_t)n->cfg.max_documents,
		NULL };
	const dir_node_t *dest;
	static char id[48];
	char inner[300];
	int r;

	if (!req->request_id[0] || strlen(req->request_id) > 64)
		return fail_reply(rep, REF_E_INVALID, err, errlen,
				  "the request has no request id (1 to 64 bytes)");
	/* A retried request gets the first one's answer and changes nothing. */
	r = store_get_msg(n->store, STORE_REQUESTS, req->request_id,
			  strlen(req->request_id),
			  &referral__store__v1__request_record__descriptor,
			  (ProtobufCMessage **)&prev);
	if (r == 0) {
		snprintf(id, sizeof(id), "%s", prev->referral_id);
		rep->referral_id = id;
		referral__store__v1__request_record__free_unpacked(prev, NULL);
		return 0;
	}
	dest = directory_node(n->dir, req->to_node);
	if (!dest)
		return fail_reply(rep, REF_E_UNKNOWN_NODE, err, errlen,
				  "destination %.16s is not a node in the "
				  "directory (version %llu); check the code or "
				  "ask the authority for a newer directory",
				  req->to_node,
				  (unsigned long long)n->dir->version);
	if (!strcmp(req->to_node, n->cfg.code))
		return fail_reply(rep, REF_E_INVALID, err, errlen,
				  "destination %s is this node: a referral goes "
				  "to another county", req->to_node);
	a = referral__v1__referral_submit__unpack(NULL, req->body.len,
						  req->body.data);
	if (!a)
		return fail_reply(rep, REF_E_MALFORMED, err, errlen,
				  "the application body does not parse");
	r = application_check(a, &lim, inner, sizeof(inner));
	if (r) {
		fail_reply(rep, r, err, errlen, "%s", inner);
		goto out;
	}
	if (!directory_accepts(dest, a->matter->case_type)) {
		r = fail_reply(rep, REF_E_REFUSED, err, errlen,
			       "%s (%s) does not accept case type %s according "
			       "to the directory", dest->code, dest->name,
			       a->matter->case_type);
		goto out;
	}
	if (!store_submit_allowed(n->store)) {
		r = fail_reply(rep, REF_E_STORE_FULL, err, errlen,
			       "store full: this node's store has reached its "
			       "limit ([store] map_max_mb = %lld); deliveries "
			       "go on, but new submissions are refused until "
			       "an admin makes room",
			       (long long)n->cfg.map_max_mb);
		goto out;
	}
	inner[0] = '\0';
	r = new_referral(n, dest, req->body.data, req->body.len, a,
			 req->actor[0] ? req->actor : "local", NULL, id,
			 sizeof(id), inner, sizeof(inner));
	if (!r) {
		rq.referral_id = id;
		rq.created_at_ms = util_now_ms();
		r = store_put_msg(n->store, STORE_REQUESTS, req->request_id,
				  strlen(req->request_id), &rq.base);
	}
	if (r == REF_E_STORE_FULL && !store_at_limit(n->store)) {
		/* The map grows before the next turn: ask for a retry. */
		fail_reply(rep, REF_E_UNAVAILABLE, err, errlen,
			   "the store is growing; retry (the same request is "
			   "applied once)");
		goto out;
	}
	if (r == REF_E_STORE_FULL) {
		fail_reply(rep, r, err, errlen,
			   "store full: the referral could not be stored "
			   "([store] map_max_mb = %lld); nothing was accepted",
			   (long long)n->cfg.map_max_mb);
		goto out;
	}
	if (r) {
		if (inner[0])
			fail_reply(rep, r, err, errlen, "%s", inner);
		goto out;
	}
	rep->referral_id = id;
out:
	referral__v1__referral_submit__free_unpacked(a, NULL);
	return r;
}

/* An export with personal data leaves only with an admin's name on it in
 * the audit chain: the node checks the role and records the export (or the
 * refusal) before refctl reads a byte. The record holds the range and
 * format, never the data. */
static int op_audit_export(node_t *n, const Referral__Local__V1__Request *req,
			   Referral__Local__V1__Reply *rep, char *err,
			   size_t errlen)
{
	json_t *o = json_loadb((const char *)req->body.data, req->body.len, 0,
			       NULL);
	const char *since = json_string_value(json_object_get(o, "since"));
	const char *until = json_string_value(json_object_get(o, "until"));
	const char *format = json_string_value(json_object_get(o, "format"));
	char detail[200];
	int r;

	if (!json_is_object(o) || !since || !until || !format ||
	    strlen(since) > 40 || strlen(until) > 40 || strlen(format) > 8) {
		json_decref(o);
		fail_reply(rep, REF_E_MALFORMED, err, errlen, "the export request "
			   "does not parse (client and node versions differ?)");
		return 0;
	}
	snprintf(detail, sizeof(detail), "with personal data: %s to %s, %s",
		 since, until, format);
	json_decref(o);
	if (!is_admin(n, req->actor)) {
		r = audit(n, "export_refused", NULL, NULL, NULL,
			  req->actor[0] ? req->actor : "local", "REFUSED", detail);
		if (!r)
			fail_reply(rep, REF_E_REFUSED, err, errlen,
				   "an export with personal data needs the admin "
				   "role at this node ([roles] admins); the "
				   "refusal is recorded");
		return r;
	}
	return audit(n, "export", NULL, NULL, NULL, req->actor, "ok", detail);
}

/* The dead letters: messages given up (lifetime over, or refused by the
 * peer) and not yet sent again. With a list, refctl requeue's work: each
 * is signed anew (created now, same kind, referral, seq and body) as a
 * new pending message, and the dead one points to it. */
struct dead_ctx {
	json_t *arr;
	const char *only;       /* a referral id, or NULL for every one */
	size_t n_ids;
	size_t cap;
	node_t *n;
	uint8_t (*ids)[16];
};

static int dead_one(void *ctx, const uint8_t *k, size_t kl, const uint8_t *v,
		    size_t vl)
{
	struct dead_ctx *dc = ctx;
	Referral__Store__V1__OutboxRecord *ob;
	char hex[33], created[32];

	if (kl != 16)
		return 0;
	ob = referral__store__v1__outbox_record__unpack(NULL, vl, v);
	if (!ob)
		return REF_E_CORRUPT;
	if (ob->state == OUT_DEAD && !ob->requeued_as.len &&
	    (!dc->only || !strcmp(dc->only, ob->referral_id))) {
		if (dc->ids) {
			if (dc->n_ids < dc->cap)
				memcpy(dc->ids[dc->n_ids++], k, 16);
		} else {
			msg_hex(k, hex);
			util_rfc3339(ob->created_at_ms, created);
			json_array_append_new(dc->arr, json_pack(
				"{s:s, s:s, s:s, s:s, s:s, s:I, s:s}", "msg_id", hex,
				"referral_id", ob->referral_id, "kind",
				envelope_kind_name(ob->kind), "to", ob->to_node,
				"created", created, "attempts",
				(json_int_t)ob->attempts, "reason",
				ob->dead_reason));
		}
	}
	referral__store__v1__outbox_record__free_unpacked(ob, NULL);
	return 0;
}

static int op_requeue(node_t *n, const Referral__Local__V1__Request *req,
		      Referral__Local__V1__Reply *rep, char *err, size_t errlen)
{
	struct dead_ctx dc = { NULL, req->referral_id[0] ? req->referral_id
							 : NULL, 0, 4096, n, NULL };
	uint64_t now = util_now_ms();
	json_t *done = json_array();
	int r;

	dc.ids = malloc(dc.cap * 16);
	if (!dc.ids) {
		json_decref(done);
		return -ENOMEM;
	}
	r = store_foreach(n->store, STORE_OUTBOX, dead_one, &dc);
	for (size_t i = 0; !r && i < dc.n_ids; i++) {
		Referral__Store__V1__OutboxRecord *ob = NULL;
		char fresh[33] = "", old[33];
		uint8_t fid[16];

		r = store_get_msg(n->store, STORE_OUTBOX, dc.ids[i], 16,
				  &referral__store__v1__outbox_record__descriptor,
				  (ProtobufCMessage **)&ob);
		if (!r)
			r = resign(n, ob, now, fresh);
		if (!r)
			r = util_unhex(fresh, fid, 16);
		if (!r) {
			ob->requeued_as.data = fid;
			ob->requeued_as.len = 16;
			r = store_put_msg(n->store, STORE_OUTBOX, dc.ids[i], 16,
					  &ob->base);
			ob->requeued_as.data = NULL;
			ob->requeued_as.len = 0;
		}
		/* The referral's delivery now follows the new message. */
		if (!r && ob->kind == REFERRAL__V1__KIND__REFERRAL_SUBMIT) {
			referral_rec_t *rr = NULL;
			r = store_get_msg(n->store, STORE_REFERRALS, ob->referral_id,
					  strlen(ob->referral_id),
					  &referral__store__v1__referral_record__descriptor,
					  (ProtobufCMessage **)&rr);
			if (!r && rr->submit_msg_id.len == 16 &&
			    !memcmp(rr->submit_msg_id.data, dc.ids[i], 16)) {
				memcpy(rr->submit_msg_id.data, fid, 16);
				r = put_referral(n, rr);
			}
			if (rr)
				referral__store__v1__referral_record__free_unpacked(
					rr, NULL);
		}
		msg_hex(dc.ids[i], old);
		if (!r) {
			char detail[80];
			snprintf(detail, sizeof(detail), "sent again as msg_id %s",
				 fresh);
			r = audit(n, "requeued", ob->referral_id, dc.ids[i],
				  ob->to_node, req->actor[0] ? req->actor : "local",
				  "ok", detail);
			json_array_append_new(done, json_pack("{s:s, s:s, s:s}",
				"msg_id", old, "referral_id", ob->referral_id,
				"sent_as", fresh));
		}
		if (ob)
			referral__store__v1__outbox_record__free_unpacked(ob, NULL);
	}
	free(dc.ids);
	if (r) {
		json_decref(done);
		return r;
	}
	if (!json_array_size(done) && dc.only) {
		json_decref(done);
		fail_reply(rep, REF_E_NOT_FOUND, err, errlen, "referral %s has no "
			   "dead message to send again (refctl list --dead)",
			   dc.only);
		return 0;
	}
	rep->json = dump(json_pack("{s:o}", "requeued", done));
	return 0;
}

/* A staff id goes into audit records, logs and trails: at most 64 bytes
 * of UTF-8 without spaces, controls or other invisible characters, so
 * that it can neither forge a log line nor look like another id. */
static bool staff_id_ok(const char *s)
{
	size_t len = strlen(s), i = 0, n;
	uint32_t cp;

	if (len > 64)
		return false;
	while (i < len) {
		n = util_utf8_decode(s + i, len - i, &cp);
		if (!n || cp == ' ' || util_invisible(cp))
			return false;
		i += n;
	}
	return true;
}

static void handle_client(node_t *n, const uint8_t *rid, size_t rid_len,
			  const uint8_t *buf, size_t len)
{
	Referral__Local__V1__Request *req;
	Referral__Local__V1__Reply rep = REFERRAL__LOCAL__V1__REPLY__INIT;
	Referral__Local__V1__Reply fail = REFERRAL__LOCAL__V1__REPLY__INIT;
	Referral__Store__V1__ReferralRecord *rr = NULL;
	char err[512] = "";
	uint8_t *data, *fdata;
	size_t dlen, flen;
	out_t **mark;
	int r = 0;

	req = referral__local__v1__request__unpack(NULL, len, buf);
	if (!req) {
		fail_reply(&rep, REF_E_MALFORMED, err, sizeof(err),
			   "the request does not parse (client and node "
			   "versions differ?)");
		goto reply;
	}
	if (!staff_id_ok(req->actor)) {
		fail_reply(&rep, REF_E_INVALID, err, sizeof(err),
			   "nothing was done: the staff id (--actor) must be "
			   "at most 64 bytes of UTF-8 without spaces, control "
			   "or other invisible characters");
		goto reply;
	}
	if (req->op == REFERRAL__LOCAL__V1__OP__OP_SUBMIT ||
	    req->op == REFERRAL__LOCAL__V1__OP__OP_MOVE ||
	    req->op == REFERRAL__LOCAL__V1__OP__OP_SUPPLEMENT) {
		char what[300];
		uint32_t kind = req->op == REFERRAL__LOCAL__V1__OP__OP_SUBMIT
			? REFERRAL__V1__KIND__REFERRAL_SUBMIT
			: req->op == REFERRAL__LOCAL__V1__OP__OP_MOVE
			? REFERRAL__V1__KIND__STATUS_CHANGE
			: REFERRAL__V1__KIND__MATERIALS_SUPPLEMENT;
		if (body_limits(n, kind, req->body.data, req->body.len, what,
				sizeof(what))) {
			fail_reply(&rep, REF_E_TOO_LARGE, err, sizeof(err),
				   "nothing was stored: %s", what);
			goto reply;
		}
	}
	switch (req->op) {
	case REFERRAL__LOCAL__V1__OP__OP_STATUS:
		r = op_status(n, &rep);
		break;
	case REFERRAL__LOCAL__V1__OP__OP_SUBMIT:
	case REFERRAL__LOCAL__V1__OP__OP_MOVE:
	case REFERRAL__LOCAL__V1__OP__OP_SUPPLEMENT:
	case REFERRAL__LOCAL__V1__OP__OP_AUDIT_EXPORT:
	case REFERRAL__LOCAL__V1__OP__OP_PUBLISH:
	case REFERRAL__LOCAL__V1__OP__OP_ROTATE_DATA_KEY:
	case REFERRAL__LOCAL__V1__OP__OP_REQUEUE:
		/* One event: all of the change, or none of it. */
		mark = out_mark(n);
		if ((r = store_event_begin(n->store))) {
			fail_reply(&rep, r, err, sizeof(err), "store: %s",
				   ref_strerror(r));
			break;
		}
		r = req->op == REFERRAL__LOCAL__V1__OP__OP_SUBMIT
			? op_submit(n, req, &rep, err, sizeof(err))
		    : req->op == REFERRAL__LOCAL__V1__OP__OP_MOVE
			? op_move(n, req, &rep, err, sizeof(err))
		    : req->op == REFERRAL__LOCAL__V1__OP__OP_SUPPLEMENT
			? op_supplement(n, req, &rep, err, sizeof(err))
		    : req->op == REFERRAL__LOCAL__V1__OP__OP_PUBLISH
			? op_publish(n, req, &rep, err, sizeof(err))
		    : req->op == REFERRAL__LOCAL__V1__OP__OP_ROTATE_DATA_KEY
			? op_rotate_data_key(n, req, &rep, err, sizeof(err))
		    : req->op == REFERRAL__LOCAL__V1__OP__OP_REQUEUE
			? op_requeue(n, req, &rep, err, sizeof(err))
			: op_audit_export(n, req, &rep, err, sizeof(err));
		if (r || (r = store_event_commit(n->store))) {
			store_event_abort(n->store);
			out_rollback(n, mark);
			if (!rep.code)
				fail_reply(&rep, r, err, sizeof(err),
					   "nothing was stored: %s",
					   ref_strerror(r));
			log_msg(LOG_WARN, "client", "request refused: %s", err);
		}
		break;
	case REFERRAL__LOCAL__V1__OP__OP_OVERDUE: {
		struct overdue_ctx oc = { n, json_array(),
					  util_now_ms() + DEADLINE_DAY_MS };
		json_t *o = json_object();
		r = store_foreach(n->store, STORE_REFERRALS, overdue_one, &oc);
		json_object_set_new(o, "overdue", oc.arr);
		rep.json = dump(o);
		break;
	}
	case REFERRAL__LOCAL__V1__OP__OP_SHOW:
	case REFERRAL__LOCAL__V1__OP__OP_TRAIL:
		r = referral_for(n, req->referral_id, &rep, err, sizeof(err),
				 &rr);
		if (r)
			break;
		if (req->op == REFERRAL__LOCAL__V1__OP__OP_SHOW) {
			int e = 0;
			rep.json = dump(referral_json(n, rr, true, &e));
			if (e)
				fail_reply(&rep, e, err, sizeof(err),
					   "referral %s: a record cannot be read "
					   "(%s)", rr->referral_id, ref_strerror(e));
		} else {
			struct trail_ctx tc = { rr->referral_id, json_array() };
			json_t *o = json_object();
			r = audit_foreach(n->store, trail_one, &tc);
			json_object_set_new(o, "referral_id",
					    json_string(rr->referral_id));
			json_object_set_new(o, "events", tc.arr);
			rep.json = dump(o);
			if (r)
				fail_reply(&rep, r, err, sizeof(err),
					   "the audit table cannot be read (%s)",
					   ref_strerror(r));
		}
		break;
	case REFERRAL__LOCAL__V1__OP__OP_LIST: {
		if (req->box == 3) {
			struct dead_ctx dc = { json_array(), NULL, 0, 0, n, NULL };
			r = store_foreach(n->store, STORE_OUTBOX, dead_one, &dc);
			rep.json = dump(json_pack("{s:s, s:o}", "box", "dead",
						  "messages", dc.arr));
			if (r)
				fail_reply(&rep, r, err, sizeof(err), "the outbox "
					   "cannot be read (%s)", ref_strerror(r));
			break;
		}
		struct list_ctx lc = { n, req->box == 1 ? DIR_INCOMING
						       : DIR_OUTGOING,
				       json_array(), 0 };
		json_t *o = json_object();
		r = store_foreach(n->store, STORE_REFERRALS, list_one, &lc);
		sort_list(lc.arr);
		json_object_set_new(o, "box", json_string(req->box == 1 ? "inbox"
									: "outbox"));
		json_object_set_new(o, "referrals", lc.arr);
		rep.json = dump(o);
		if (r || lc.err)
			fail_reply(&rep, r ? r : lc.err, err, sizeof(err),
				   "the store cannot be read (%s)",
				   ref_strerror(r ? r : lc.err));
		break;
	}
	default:
		fail_reply(&rep, REF_E_INVALID, err, sizeof(err),
			   "unknown request %d", (int)req->op);
	}
reply:
	if (rep.code == 0 && r)
		fail_reply(&rep, r, err, sizeof(err), "%s", ref_strerror(r));
	data = pack_reply(&rep, &dlen);
	fail.code = REF_E_UNAVAILABLE;
	fail.error = "the node could not commit this request to its store; "
		     "retry (the same request is applied once)";
	fdata = pack_reply(&fail, &flen);
	if (data && fdata)
		queue_frames(n, n->client, rid, rid_len, true, data, dlen,
			     fdata, flen);
	else {
		free(data);
		free(fdata);
	}
	if (rep.json != protobuf_c_empty_string)
		free(rep.json);
	if (rr)
		referral__store__v1__referral_record__free_unpacked(rr, NULL);
	if (req)
		referral__local__v1__request__free_unpacked(req, NULL);
}

static void drain_client(node_t *n)
{
	for (int i = 0; i < BATCH_PER_TURN; i++) {
		zmq_msg_t f[3];
		int nf = 0, more = 1;

		while (more) {
			zmq_msg_t x;
			zmq_msg_init(&x);
			if (zmq_msg_recv(&x, n->client, nf ? 0 : ZMQ_DONTWAIT) < 0) {
				zmq_msg_close(&x);
				if (nf == 0)
					return;
				break;
			}
			more = zmq_msg_more(&x);
			if (nf < 3)
				f[nf++] = x;
			else
				zmq_msg_close(&x);
		}
		/* A REQ client sends routing id, empty delimiter, request. */
		if (nf == 3 && zmq_msg_size(&f[1]) == 0)
			handle_client(n, zmq_msg_data(&f[0]), zmq_msg_size(&f[0]),
				      zmq_msg_data(&f[2]), zmq_msg_size(&f[2]));
		for (int k = 0; k < nf; k++)
			zmq_msg_close(&f[k]);
	}
}

/* ---- setup --------------------------------------------------------------- */

static int load_curve(node_t *n, char *err, size_t errlen)
{
	char path[1024];
	struct stat st;
	json_t *j;
	json_error_t jerr;
	uint8_t pub[32], sec[32], derived[41];
	const char *p, *s;

	config_path(&n->cfg, "curve.json", path, sizeof(path));
	if (stat(path, &st) < 0) {
		snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
		return -errno;
	}
	if (st.st_mode & 077) {
		snprintf(err, errlen, "%s is readable by others (mode %03o): "
			 "run chmod 600 on it; a CURVE secret key must stay "
			 "private", path, (unsigned)(st.st_mode & 0777));
		return REF_E_KEY_PERMS;
	}
	j = json_load_file(path, 0, &jerr);
	p = json_string_value(json_object_get(j, "public"));
	s = json_string_value(json_object_get(j, "secret"));
	if (!p || !s || strlen(p) != 40 || strlen(s) != 40 ||
	    !zmq_z85_decode(pub, p) || !zmq_z85_decode(sec, s) ||
	    zmq_curve_public((char *)derived, s) < 0 || strcmp((char *)derived, p)) {
		snprintf(err, errlen, "%s must hold \"public\" and \"secret\" "
			 "CURVE keys (40 characters of Z85 each, a matching "
			 "pair)", path);
		json_decref(j);
		return REF_E_CONFIG;
	}
	snprintf(n->curve_pub, sizeof(n->curve_pub), "%s", p);
	snprintf(n->curve_sec, sizeof(n->curve_sec), "%s", s);
	json_decref(j);
	return 0;
}

/* The directory must list this node as it is: same keys. */
static int check_self(node_t *n, const directory_t *d, char *err, size_t errlen)
{
	const dir_node_t *me = directory_node(d, n->cfg.code);
	char *mine = NULL, *listed = NULL;
	int ok = 0;

	if (!me) {
		snprintf(err, errlen, "this node (%s) is not in the directory "
			 "(version %llu): ask the authority to add the entry "
			 "that refctl init printed", n->cfg.code,
			 (unsigned long long)d->version);
		return REF_E_DIRECTORY;
	}
	if (strcmp(me->curve_public, n->curve_pub)) {
		snprintf(err, errlen, "the directory lists another CURVE key for "
			 "this node (%s) than curve.json holds", n->cfg.code);
		return REF_E_DIRECTORY;
	}
	sign_key_to_b64(n->key, &mine);
	for (size_t i = 0; i < me->n_keys; i++)
		if (!strcmp(me->keys[i].key_id, n->cfg.key_id)) {
			sign_key_to_b64(me->keys[i].key, &listed);
			ok = mine && listed && !strcmp(mine, listed);
		}
	free(mine);
	free(listed);
	if (!ok) {
		snprintf(err, errlen, "the directory does not list key %s of "
			 "this node (%s) with the public half of signing.key",
			 n->cfg.key_id, n->cfg.code);
		return REF_E_DIRECTORY;
	}
	return 0;
}

#define META_DIR_VERSION "directory_version"

/* The highest directory version this node has applied: a restart must not
 * fall back to an older one. 0 before the first. */
static int directory_version_held(node_t *n, uint64_t *ret)
{
	uint8_t *v;
	size_t vl;
	int r = store_get(n->store, STORE_META, META_DIR_VERSION,
			  strlen(META_DIR_VERSION), &v, &vl);

	*ret = 0;
	if (r == REF_E_NOT_FOUND)
		return 0;
	if (r)
		return r;
	for (size_t i = 0; i < vl && i < 8; i++)
		*ret = *ret << 8 | v[i];
	free(v);
	return 0;
}

static int directory_applied(node_t *n, uint64_t version, const char *via)
{
	uint8_t v[8];
	char detail[80];
	int r;

	for (int i = 0; i < 8; i++)
		v[i] = (uint8_t)(version >> (56 - 8 * i));
	r = store_put(n->store, STORE_META, META_DIR_VERSION,
		      strlen(META_DIR_VERSION), v, 8);
	snprintf(detail, sizeof(detail), "version %llu%s%s",
		 (unsigned long long)version, via ? " " : "", via ? via : "");
	if (!r)
		r = audit(n, "directory_applied", NULL, NULL, NULL, "admin",
			  "ok", detail);
	return r;
}

/* The peer ROUTER: CURVE server, ZAP-checked, on [node] listen. */
static int router_open(node_t *n, char *err, size_t errlen)
{
	int one = 1, r = 0;

	n->router = zmq_socket(n->ctx, ZMQ_ROUTER);
	if (!n->router) {
		snprintf(err, errlen, "cannot make the peer socket: %s",
			 zmq_strerror(errno));
		return -errno;
	}
	socket_common(n, n->router);
	set_int(n->router, ZMQ_CURVE_SERVER, 1);
	zmq_setsockopt(n->router, ZMQ_CURVE_SECRETKEY, n->curve_sec, 40);
	zmq_setsockopt(n->router, ZMQ_ZAP_DOMAIN, ZAP_DOMAIN, strlen(ZAP_DOMAIN));
	if (zmq_setsockopt(n->router, ZMQ_ZAP_ENFORCE_DOMAIN, &one, sizeof(one)) < 0)
		log_msg(LOG_DEBUG, "net", "ZMQ_ZAP_ENFORCE_DOMAIN not in this "
			"libzmq; the handler is bound first instead");
	set_int(n->router, ZMQ_ROUTER_MANDATORY, 1);
	/* A connection that never finishes its CURVE handshake is dropped
	 * after handshake_ms: a flood of them cannot hold the port. */
	set_int(n->router, ZMQ_HANDSHAKE_IVL, (int)n->cfg.handshake_ms);
	{
		char ep[64];
		snprintf(ep, sizeof(ep), "inproc://router-monitor-%u",
			 ++n->router_gen);
		n->n_conns = 0;
		if (zmq_socket_monitor(n->router, ep, ZMQ_EVENT_ACCEPTED |
				       ZMQ_EVENT_DISCONNECTED |
				       ZMQ_EVENT_CLOSED) == 0) {
			n->router_mon = zmq_socket(n->ctx, ZMQ_PAIR);
			if (n->router_mon && zmq_connect(n->router_mon, ep) < 0) {
				zmq_close(n->router_mon);
				n->router_mon = NULL;
			}
		}
		if (!n->router_mon)
			log_msg(LOG_WARN, "net", "no monitor on the peer socket: "
				"[limits] max_connections is not enforced");
	}
	/* After a close, libzmq's reaper frees the port a moment later. */
	for (int i = 0; i < 100; i++) {
		r = zmq_bind(n->router, n->cfg.listen) < 0 ? -errno : 0;
		if (r != -EADDRINUSE || i == 99)
			break;
		usleep(20000);
	}
	if (r)
		snprintf(err, errlen, "cannot listen on %s ([node] listen): %s",
			 n->cfg.listen, zmq_strerror(-r));
	return r;
}

/* The id under which the directory lists key for this node (me), with
 * its window open at now_ms, or at any time if now_ms is 0; NULL if none. */
static const char *listed_key_id(const dir_node_t *me, EVP_PKEY *key,
				 uint64_t now_ms)
{
	for (size_t i = 0; me && key && i < me->n_keys; i++)
		if (EVP_PKEY_eq(me->keys[i].key, key) == 1 &&
		    (!now_ms || (me->keys[i].not_before_ms <= now_ms &&
				 now_ms < me->keys[i].not_after_ms)))
			return me->keys[i].key_id;
	return NULL;
}

/* The key this node signs with next, once the directory lists it and its
 * window has opened: refctl rotate-keys leaves it as signing.next.key.
 * The old key is kept as signing.<key_id>.key, since messages signed with
 * it may still be resent (same bytes) and verify until their lifetime. */
static void maybe_switch_key(node_t *n)
{
	const dir_node_t *me = directory_node(n->dir, n->cfg.code);
	char next[PATH_MAX + 64], cur[PATH_MAX + 64], old[PATH_MAX + 128];
	char npub[PATH_MAX + 64], cpub[PATH_MAX + 64], detail[160];
	EVP_PKEY *key = NULL;
	const char *new_id = NULL;
	uint64_t now = util_now_ms();
	struct stat st;

	config_path(&n->cfg, "signing.next.key", next, sizeof(next));
	if (!me || stat(next, &st) < 0)
		return;
	if (sign_key_load_private(next, &key)) {
		log_msg(LOG_ERROR, "keys", "%s cannot be loaded (mode 0600, a "
			"private key from refctl rotate-keys?); still signing "
			"with %s", next, n->cfg.key_id);
		return;
	}
	new_id = listed_key_id(me, key, now);
	if (!new_id) {
		EVP_PKEY_free(key);
		return; /* not listed yet, or its window has not opened */
	}
	config_path(&n->cfg, "signing.key", cur, sizeof(cur));
	config_path(&n->cfg, "signing.pub.pem", cpub, sizeof(cpub));
	config_path(&n->cfg, "signing.next.pub.pem", npub, sizeof(npub));
	snprintf(old, sizeof(old), "%s/signing.%s.key", n->cfg.data_dir,
		 n->cfg.key_id);
	/* Old key aside first: a stop between the renames leaves the old
	 * key aside and the rest to do, which the next start finishes
	 * (finish_key_files, finish_key_switch); never a node signing with a
	 * key the directory does not give it. */
	if (rename(cur, old) < 0 || rename(next, cur) < 0 ||
	    (stat(npub, &st) == 0 && rename(npub, cpub) < 0)) {
		log_msg(LOG_ERROR, "keys", "switching to key %s failed: %s; "
			"check the signing key files in %s", new_id,
			strerror(errno), n->cfg.data_dir);
		EVP_PKEY_free(key);
		return;
	}
	snprintf(detail, sizeof(detail), "%s -> %s", n->cfg.key_id, new_id);
	EVP_PKEY_free(n->key);
	n->key = key;
	snprintf(n->cfg.key_id, sizeof(n->cfg.key_id), "%s", new_id);
	config_set_key_id(&n->cfg);
	store_begin(n->store);
	if (audit(n, "key_rotated", NULL, NULL, NULL, "node", "ok", detail) ||
	    finish_turn(n))
		store_abort(n->store);
	log_msg(LOG_INFO, "keys", "now signing with %s (switched %s)",
		new_id, detail);
}

/* Puts d in force: peers are pinned again from it, and the peer socket is
 * opened anew, because ZAP runs only at a handshake: a node or key the new
 * directory removed must not keep a session opened under the old one. */
static void directory_switch(node_t *n, directory_t *d)
{
	char err[300];

	peers_close(n);
	directory_free(&n->dir);
	n->dir = d;
	if (n->router) {
		if (n->router_mon) {
			zmq_socket_monitor(n->router, NULL, 0);
			zmq_close(n->router_mon);
			n->router_mon = NULL;
		}
		/* Long enough for this turn's receipts to leave; the new
		 * socket's bind waits for the port meanwhile. */
		set_int(n->router, ZMQ_LINGER, 500);
		zmq_close(n->router);
		n->router = NULL;
		if (router_open(n, err, sizeof(err)))
			log_msg(LOG_ERROR, "net", "%s; peers cannot reach this "
				"node until it restarts", err);
	}
	maybe_switch_key(n);
	log_msg(LOG_INFO, "directory", "loaded version=%llu nodes=%zu",
		(unsigned long long)d->version, d->n_nodes);
}

/* Checks a directory sent in a DIRECTORY_UPDATE or handed to the authority
 * node to publish: the authority's signature, the format, this node's own
 * entry, a version above the one in force. 0, or a receipt status. */
static int directory_check_new(node_t *n, const uint8_t *json, size_t len,
			       const char *sig, directory_t **ret, char *detail,
			       size_t dlen)
{
	uint64_t in_force = n->pending_dir ? n->pending_dir->version
					   : n->dir->version;
	char inner[300];

	*ret = NULL;
	if (len > 16 << 20) {
		snprintf(detail, dlen, "the directory is larger than 16 MB");
		return REFERRAL__V1__RECEIPT_STATUS__REFUSED;
	}
	if (directory_verify_sig(json, len, sig, n->authority)) {
		snprintf(detail, dlen, "the directory is not signed by this "
			 "node's authority key ([trust] authority_key)");
		return REFERRAL__V1__RECEIPT_STATUS__REFUSED;
	}
	if (directory_parse((const char *)json, len, ret, inner, sizeof(inner))) {
		snprintf(detail, dlen, "the directory does not parse: %s", inner);
		return REFERRAL__V1__RECEIPT_STATUS__REFUSED;
	}
	if ((*ret)->version <= in_force) {
		snprintf(detail, dlen, "directory version %llu is not newer than "
			 "version %llu in force", (unsigned long long)(*ret)->version,
			 (unsigned long long)in_force);
		directory_free(ret);
		return REFERRAL__V1__RECEIPT_STATUS__REFUSED;
	}
	if (check_self(n, *ret, inner, sizeof(inner))) {
		snprintf(detail, dlen, "directory version %llu: %s",
			 (unsigned long long)(*ret)->version, inner);
		directory_free(ret);
		return REFERRAL__V1__RECEIPT_STATUS__REFUSED;
	}
	return 0;
}

/* A DIRECTORY_UPDATE: installed (files, then the version and an audit
 * record in this event) and put in force once the turn has committed. */
static int directory_update(node_t *n, const envelope_check_t *c,
			    const char *peer, char *detail, size_t dlen)
{
	Referral__V1__DirectoryUpdate *u = referral__v1__directory_update__unpack(
		NULL, c->env->body.len, c->env->body.data);
	directory_t *d = NULL;
	char via[40];
	int st, r;

	if (!u || !u->directory.len) {
		if (u)
			referral__v1__directory_update__free_unpacked(u, NULL);
		snprintf(detail, dlen, "the DIRECTORY_UPDATE body holds no "
			 "directory");
		return REFERRAL__V1__RECEIPT_STATUS__MALFORMED;
	}
	{
		/* The one in force, sent again (its receipt was lost): the
		 * sender must learn it arrived, not that it was refused. The
		 * one in force, not the file on disk: a file copied in and not
		 * yet reloaded, or one a reload refused, is not applied. */
		uint8_t h[32];
		util_sha256(u->directory.data, u->directory.len, h);
		const directory_t *in_force = n->pending_dir ? n->pending_dir
							     : n->dir;
		if (!memcmp(h, in_force->sha256, 32)) {
			referral__v1__directory_update__free_unpacked(u, NULL);
			snprintf(detail, dlen, "directory version %llu is the "
				 "one in force; applied once",
				 (unsigned long long)in_force->version);
			return REFERRAL__V1__RECEIPT_STATUS__DUPLICATE;
		}
	}
	st = directory_check_new(n, u->directory.data, u->directory.len,
				 u->signature, &d, detail, dlen);
	if (st) {
		referral__v1__directory_update__free_unpacked(u, NULL);
		log_msg(LOG_WARN, "directory", "update from %s refused: %s", peer,
			detail);
		return st;
	}
	r = directory_install(n->cfg.data_dir, u->directory.data,
			      u->directory.len, u->signature);
	referral__v1__directory_update__free_unpacked(u, NULL);
	snprintf(via, sizeof(via), "from %s", peer);
	if (!r)
		r = directory_applied(n, d->version, via);
	if (r) {
		directory_free(&d);
		return r < 0 ? r : -EIO;
	}
	snprintf(detail, dlen, "directory version %llu installed",
		 (unsigned long long)d->version);
	directory_free(&n->pending_dir);
	n->pending_dir = d;
	return REFERRAL__V1__RECEIPT_STATUS__STORED;
}

/* refctl directory publish, at the authority's node: installs the
 * directory here and sends it to every other node it lists. */
static int op_publish(node_t *n, const Referral__Local__V1__Request *req,
		      Referral__Local__V1__Reply *rep, char *err, size_t errlen)
{
	Referral__V1__DirectoryUpdate *u = referral__v1__directory_update__unpack(
		NULL, req->body.len, req->body.data);
	directory_t *d = NULL;
	char detail[400], via[80];
	json_t *o, *to;
	size_t sent = 0;
	int r = 0, st;

	if (!u) {
		fail_reply(rep, REF_E_MALFORMED, err, errlen, "the publish request "
			   "does not parse (client and node versions differ?)");
		return 0;
	}
	if (strcmp(n->cfg.role, "authority")) {
		referral__v1__directory_update__free_unpacked(u, NULL);
		fail_reply(rep, REF_E_REFUSED, err, errlen, "this node's role is "
			   "%s: only the authority's node publishes the directory",
			   n->cfg.role);
		return 0;
	}
	st = directory_check_new(n, u->directory.data, u->directory.len,
				 u->signature, &d, detail, sizeof(detail));
	if (st) {
		referral__v1__directory_update__free_unpacked(u, NULL);
		fail_reply(rep, REF_E_REFUSED, err, errlen, "not published: %s",
			   detail);
		return 0;
	}
	r = directory_install(n->cfg.data_dir, u->directory.data,
			      u->directory.len, u->signature);
	snprintf(via, sizeof(via), "published by %s",
		 req->actor[0] ? req->actor : "local");
	if (!r)
		r = directory_applied(n, d->version, via);
	to = json_array();
	for (size_t i = 0; !r && i < d->n_nodes; i++) {
		if (!strcmp(d->nodes[i].code, n->cfg.code))
			continue;
		/* The envelope goes under the new directory's pins. */
		r = send_node_level(n, d->nodes[i].code,
				    REFERRAL__V1__KIND__DIRECTORY_UPDATE,
				    &u->base, 2, util_now_ms());
		json_array_append_new(to, json_string(d->nodes[i].code));
		sent++;
	}
	referral__v1__directory_update__free_unpacked(u, NULL);
	if (r) {
		json_decref(to);
		directory_free(&d);
		return r;
	}
	o = json_pack("{s:I, s:o}", "version", (json_int_t)d->version,
		      "sent_to", to);
	rep->json = dump(o);
	log_msg(LOG_INFO, "directory", "version %llu published to %zu node(s)",
		(unsigned long long)d->version, sent);
	directory_free(&n->pending_dir);
	n->pending_dir = d;
	return 0;
}

static int reload_directory(node_t *n)
{
	directory_t *d = NULL;
	char err[600];
	int r;

	r = directory_load(n->cfg.data_dir, n->authority, &d, err, sizeof(err));
	if (!r)
		r = check_self(n, d, err, sizeof(err));
	if (r) {
		log_msg(LOG_ERROR, "directory", "reload refused, keeping version "
			"%llu: %s", (unsigned long long)n->dir->version, err);
		directory_free(&d);
		return r;
	}
	if (d->version == n->dir->version) {
		log_msg(LOG_INFO, "directory", "version %llu is already in "
			"force; nothing changed", (unsigned long long)d->version);
		directory_free(&d);
		return 0;
	}
	if (d->version < n->dir->version) {
		log_msg(LOG_ERROR, "directory", "reload refused: version %llu "
			"is older than version %llu in force",
			(unsigned long long)d->version,
			(unsigned long long)n->dir->version);
		directory_free(&d);
		return REF_E_DIRECTORY;
	}
	store_begin(n->store);
	r = directory_applied(n, d->version, "on SIGHUP");
	if (!r)
		r = finish_turn(n);
	else
		store_abort(n->store);
	if (r) {
		log_msg(LOG_ERROR, "directory", "reload of version %llu not "
			"recorded (%s); keeping version %llu",
			(unsigned long long)d->version, ref_strerror(r),
			(unsigned long long)n->dir->version);
		directory_free(&d);
		return r;
	}
	/* Re-pin: connections to peers are made again from the new entries. */
	directory_switch(n, d);
	return 0;
}

static void data_key_path(const node_t *n, char *out, size_t len)
{
	config_path(&n->cfg, n->cfg.data_key, out, len);
}

/* The data key ring. Made at the first start, but never beside a store
 * that already holds sealed records: those need their own key back. */
static int open_data_key(node_t *n, char *err, size_t errlen)
{
	char path[PATH_MAX + 64], inner[400];
	struct stat st;
	int r;

	data_key_path(n, path, sizeof(path));
	if (stat(path, &st) < 0 && errno == ENOENT) {
		if (store_check(n->store, inner, sizeof(inner)) == REF_E_CONFIG) {
			snprintf(err, errlen, "refusing to start: the store holds "
				 "encrypted records but the data key file %s is "
				 "missing: put back the copy kept apart from the "
				 "store", path);
			return REF_E_CONFIG;
		}
		r = seal_keyfile_create(path, strcmp(n->cfg.alg, "sm2-sm3")
					      ? SEAL_AES_256_GCM : SEAL_SM4_GCM);
		if (r) {
			snprintf(err, errlen, "refusing to start: cannot create "
				 "the data key file %s: %s", path, ref_strerror(r));
			return r;
		}
		log_msg(LOG_INFO, "store", "made a new data key file %s; keep "
			"a copy apart from the store's backups", path);
	}
	r = seal_load(path, &n->seal, inner, sizeof(inner));
	if (r) {
		snprintf(err, errlen, "refusing to start: %s", inner);
		return r;
	}
	store_set_seal(n->store, n->seal);
	/* Records written before a key existed, or under a key being
	 * retired when the node stopped, are sealed again as it serves. */
	n->resealing = true;
	return 0;
}

/* A batch of re-sealing, inside the turn: a rotation completes while the
 * node serves. The old keys are dropped only after the turn that sealed
 * the last record has committed (reseal_finish). */
static void reseal_step(node_t *n)
{
	size_t done = 0;
	bool all = false;
	int r;

	if (!n->resealing || !n->seal)
		return;
	if (store_begin(n->store) || store_event_begin(n->store))
		return;
	r = store_reseal_some(n->store, 256, &done, &all);
	if (r || (r = store_event_commit(n->store))) {
		store_event_abort(n->store);
		log_msg(LOG_WARN, "store", "re-sealing paused: %s (%s); it "
			"resumes next turn", ref_strerror(r),
			store_last_error(n->store));
		return;
	}
	if (all) {
		n->resealing = false;
		n->retire_keys = seal_key_count(n->seal) > 1;
	}
}

static void reseal_finish(node_t *n)
{
	char path[PATH_MAX + 64], detail[80];
	uint32_t id = seal_current_id(n->seal);
	int r;

	n->retire_keys = false;
	data_key_path(n, path, sizeof(path));
	r = seal_retire(n->seal, path);
	if (r) {
		log_msg(LOG_ERROR, "store", "every record is sealed under data "
			"key %u, but the old keys could not be dropped from %s: "
			"%s", id, path, ref_strerror(r));
		return;
	}
	snprintf(detail, sizeof(detail), "every record sealed under key %u; "
		 "older keys dropped", id);
	store_begin(n->store);
	if (audit(n, "data_key_retired", NULL, NULL, NULL, "node", "ok",
		  detail) || finish_turn(n))
		store_abort(n->store);
	log_msg(LOG_INFO, "store", "%s", detail);
}

/* refctl rotate-data-key: a new data key, current at once; every record
 * is sealed again under it in the background, then the old one dropped. */
static int op_rotate_data_key(node_t *n, const Referral__Local__V1__Request *req,
			      Referral__Local__V1__Reply *rep, char *err,
			      size_t errlen)
{
	char path[PATH_MAX + 64], detail[80];
	int r;

	if (!is_admin(n, req->actor)) {
		fail_reply(rep, REF_E_REFUSED, err, errlen, "rotating the data "
			   "key needs the admin role at this node ([roles] "
			   "admins)");
		return 0;
	}
	data_key_path(n, path, sizeof(path));
	r = seal_rotate(n->seal, path, seal_current_alg(n->seal));
	if (r) {
		fail_reply(rep, r, err, errlen, "the data key file %s cannot be "
			   "written (%s); nothing changed", path, ref_strerror(r));
		return 0;
	}
	store_set_seal(n->store, n->seal);
	n->resealing = true;
	n->retire_keys = false;
	snprintf(detail, sizeof(detail), "key %u (%s); re-sealing begins",
		 seal_current_id(n->seal),
		 seal_alg_name(seal_current_alg(n->seal)));
	r = audit(n, "data_key_rotated", NULL, NULL, NULL, req->actor, "ok",
		  detail);
	if (!r)
		rep->json = dump(json_pack("{s:I, s:s}", "key",
					   (json_int_t)seal_current_id(n->seal),
					   "alg", seal_alg_name(
						   seal_current_alg(n->seal))));
	return r;
}

#define META_RESTORED "restored_from_backup"


/* Started from a backup (refctl restore marks it): every peer is told,
 * once, where this node's chain ends and when, as a signed checkpoint with
 * restored set, so each sends again what this node receipted after. */
static int announce_restore(node_t *n)
{
	Referral__V1__AuditCheckpoint cp = REFERRAL__V1__AUDIT_CHECKPOINT__INIT;
	unsigned long long mseq = 0, mat = 0;
	uint8_t *v, hash[32];
	size_t vl, sent = 0;
	char detail[120], text[64];
	int r;

	if (store_get(n->store, STORE_META, META_RESTORED, strlen(META_RESTORED),
		      &v, &vl))
		return 0;
	/* "SEQ TIME_MS": the backup's last record, written by refctl restore
	 * (this start has recorded more since). */
	snprintf(text, sizeof(text), "%.*s", (int)(vl < 63 ? vl : 63), (char *)v);
	free(v);
	if (sscanf(text, "%llu %llu", &mseq, &mat) != 2)
		return REF_E_CORRUPT;
	r = audit_hash_at(n->store, mseq, hash);
	if (r)
		return r;
	cp.seq = mseq;
	cp.head_hash.data = hash;
	cp.head_hash.len = 32;
	cp.at_ms = mat;
	cp.restored = true;
	for (size_t i = 0; !r && i < n->dir->n_nodes; i++) {
		if (!strcmp(n->dir->nodes[i].code, n->cfg.code))
			continue;
		r = send_node_level(n, n->dir->nodes[i].code,
				    REFERRAL__V1__KIND__AUDIT_CHECKPOINT,
				    &cp.base, 2, util_now_ms());
		sent++;
	}
	if (!r)
		r = store_del(n->store, STORE_META, META_RESTORED,
			      strlen(META_RESTORED));
	snprintf(detail, sizeof(detail), "chain ends at seq %llu; %zu peer(s) "
		 "asked to send again what came after", mseq,
		 sent);
	if (!r)
		r = audit(n, "restored", NULL, NULL, NULL, "node", "ok", detail);
	if (!r)
		log_msg(LOG_WARN, "node", "started from a backup: %s", detail);
	return r;
}

/* A signing key switch (maybe_switch_key) that a stop cut short between
 * its renames is finished before the key is loaded. It is one of ours only
 * if the key set aside as signing.<key_id>.key is the one the directory
 * lists under the key_id referrald.conf names: then a missing signing.key
 * is replaced by signing.next.key, if the directory lists that for this
 * node with its window open, and then its public half is moved in. Anything
 * else is left as it is, and the load that follows says what is wrong. */
static int finish_key_files(node_t *n, char *err, size_t errlen)
{
	const dir_node_t *me = directory_node(n->dir, n->cfg.code);
	char cur[PATH_MAX + 64], next[PATH_MAX + 64], old[PATH_MAX + 128];
	char npub[PATH_MAX + 64], cpub[PATH_MAX + 64];
	EVP_PKEY *old_key = NULL, *key = NULL, *pub = NULL;
	const char *bad = NULL;
	struct stat st;
	bool moved = false;
	int r = 0;

	/* The configuration's rewrite, cut short before its rename. */
	util_remove_temps(n->cfg.data_dir, "referrald.conf");
	config_path(&n->cfg, "signing.key", cur, sizeof(cur));
	config_path(&n->cfg, "signing.next.key", next, sizeof(next));
	config_path(&n->cfg, "signing.pub.pem", cpub, sizeof(cpub));
	config_path(&n->cfg, "signing.next.pub.pem", npub, sizeof(npub));
	snprintf(old, sizeof(old), "%s/signing.%s.key", n->cfg.data_dir,
		 n->cfg.key_id);
	if (stat(old, &st) < 0 || sign_key_load_private(old, &old_key) ||
	    !listed_key_id(me, old_key, 0) ||
	    strcmp(listed_key_id(me, old_key, 0), n->cfg.key_id))
		goto out;
	if (stat(cur, &st) < 0 && errno == ENOENT && stat(next, &st) == 0) {
		if (sign_key_load_private(next, &key) ||
		    !listed_key_id(me, key, util_now_ms())) {
			bad = "signing.key is missing, and signing.next.key is "
			      "not a key the directory in force lists for this "
			      "node now";
			r = REF_E_CONFIG;
			goto out;
		}
		if (rename(next, cur) < 0) {
			r = -errno;
			goto out;
		}
		moved = true;
	}
	EVP_PKEY_free(key);
	key = NULL;
	if (stat(next, &st) < 0 && stat(npub, &st) == 0 &&
	    !sign_key_load_private(cur, &key) &&
	    !sign_key_load_public(npub, &pub) && EVP_PKEY_eq(key, pub) == 1) {
		if (rename(npub, cpub) < 0) {
			r = -errno;
			goto out;
		}
		moved = true;
	}
	if (moved)
		r = util_sync_dir(n->cfg.data_dir);
out:
	if (r)
		snprintf(err, errlen, "refusing to start: a signing key switch cut "
			 "short in %s cannot be finished: %s", n->cfg.data_dir,
			 bad ? bad : r < 0 ? strerror(-r) : ref_strerror(r));
	else if (moved)
		log_msg(LOG_WARN, "keys", "a switch of signing keys was cut "
			"short: signing.next.key moved in as signing.key");
	EVP_PKEY_free(old_key);
	EVP_PKEY_free(key);
	EVP_PKEY_free(pub);
	return r;
}

/* The rest of such a switch: signing.key is a key the directory lists for
 * this node with its window open, while referrald.conf still names the key
 * set aside as signing.<key_id>.key. The configuration is brought up to
 * date and *ret_done set; otherwise nothing changes, and check_self's
 * refusal stands. */
static int finish_key_switch(node_t *n, bool *ret_done, char *err,
			     size_t errlen)
{
	const dir_node_t *me = directory_node(n->dir, n->cfg.code);
	const char *id = listed_key_id(me, n->key, util_now_ms());
	char old[PATH_MAX + 128], was[64];
	struct stat st;
	int r;

	*ret_done = false;
	snprintf(old, sizeof(old), "%s/signing.%s.key", n->cfg.data_dir,
		 n->cfg.key_id);
	if (!id || !strcmp(id, n->cfg.key_id) || stat(old, &st) < 0)
		return 0;
	snprintf(was, sizeof(was), "%s", n->cfg.key_id);
	snprintf(n->cfg.key_id, sizeof(n->cfg.key_id), "%s", id);
	r = config_set_key_id(&n->cfg);
	if (r) {
		snprintf(err, errlen, "refusing to start: signing.key is key %s "
			 "of this node, but referrald.conf, which names %s, "
			 "cannot be rewritten: %s", id, was,
			 r < 0 ? strerror(-r) : ref_strerror(r));
		return r;
	}
	snprintf(n->key_switched, sizeof(n->key_switched),
		 "%s -> %s (finished at start)", was, id);
	log_msg(LOG_WARN, "keys", "a switch of signing keys was cut short: "
		"finished now, signing with %s (was %s)", id, was);
	*ret_done = true;
	return 0;
}

int node_new(const char *data_dir, node_t **ret, char *err, size_t errlen)
{
	node_t *n = calloc(1, sizeof(*n));
	char path[PATH_MAX + 64], inner[600], ep[PATH_MAX + 80], abs[PATH_MAX];
	store_opts_t so = { 0 };
	uint64_t bad, count, held = 0;
	int r;

	if (!n)
		return -ENOMEM;
	n->lock_fd = -1;
	n->out_tail = &n->out_head;
	/* The first checkpoint comes after checkpoint_records records or
	 * checkpoint_minutes of this run, not at once. */
	n->last_cp_ms = util_now_ms();
	/* Absolute, so the client socket's path does not depend on the
	 * working folder of whoever started the node. */
	if (realpath(data_dir, abs))
		data_dir = abs;
	n->started_ms = util_now_ms();
	r = config_load(data_dir, &n->cfg, err, errlen);
	if (r)
		goto fail;
	log_set_level(log_level_from_name(n->cfg.log_level));

	snprintf(path, sizeof(path), "%s/referrald.lock", data_dir);
	n->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (n->lock_fd < 0 || flock(n->lock_fd, LOCK_EX | LOCK_NB) < 0) {
		r = -errno;
		snprintf(err, errlen, "another referrald is running on %s "
			 "(cannot lock %s)", data_dir, path);
		goto fail;
	}
	r = load_curve(n, err, errlen);
	if (r)
		goto fail;
	config_path(&n->cfg, n->cfg.authority_key, path, sizeof(path));
	r = sign_key_load_public(path, &n->authority);
	if (r) {
		snprintf(err, errlen, "cannot load the authority key %s: %s",
			 path, ref_strerror(r));
		goto fail;
	}
	/* A directory update a crash cut short is finished first. */
	r = directory_recover(data_dir);
	if (r) {
		snprintf(err, errlen, "refusing to start: a directory update in "
			 "%s cannot be finished: %s", data_dir, ref_strerror(r));
		goto fail;
	}
	r = directory_load(data_dir, n->authority, &n->dir, inner, sizeof(inner));
	if (r) {
		snprintf(err, errlen, "refusing to start: %s", inner);
		goto fail;
	}
	r = finish_key_files(n, err, errlen);
	if (r)
		goto fail;
	config_path(&n->cfg, "signing.key", path, sizeof(path));
	r = sign_key_load_private(path, &n->key);
	if (r) {
		struct stat st;
		if (r == REF_E_KEY_PERMS && stat(path, &st) == 0)
			snprintf(err, errlen, "%s is readable by others (mode "
				 "%03o): run chmod 600 on it; a signing key must "
				 "stay private", path,
				 (unsigned)(st.st_mode & 0777));
		else
			snprintf(err, errlen, "cannot load signing key %s: %s",
				 path, ref_strerror(r));
		goto fail;
	}
	if (strcmp(sign_alg_name(sign_key_alg(n->key)), n->cfg.alg)) {
		r = REF_E_CONFIG;
		snprintf(err, errlen, "signing.key is %s but [node] alg = %s",
			 sign_alg_name(sign_key_alg(n->key)), n->cfg.alg);
		goto fail;
	}
	r = check_self(n, n->dir, err, errlen);
	if (r == REF_E_DIRECTORY) {
		bool done;
		int f = finish_key_switch(n, &done, err, errlen);
		if (f)
			r = f;
		else if (done)
			r = check_self(n, n->dir, err, errlen);
	}
	if (r)
		goto fail;

	if (n->cfg.holidays[0] || n->cfg.rules[0]) {
		uint8_t *text;
		size_t tl;
		char what[600];

		if (n->cfg.holidays[0]) {
			config_path(&n->cfg, n->cfg.holidays, path, sizeof(path));
			r = util_read_file(path, 1 << 20, &text, &tl);
			if (!r) {
				r = calendar_parse((char *)text, &n->calendar,
						   what, sizeof(what));
				free(text);
			} else {
				snprintf(what, sizeof(what), "%s", ref_strerror(r));
			}
			if (r) {
				snprintf(err, errlen, "refusing to start: the "
					 "holiday calendar %s ([deadlines] "
					 "holidays): %s", path, what);
				goto fail;
			}
		}
		if (n->cfg.rules[0]) {
			config_path(&n->cfg, n->cfg.rules, path, sizeof(path));
			r = util_read_file(path, 1 << 20, &text, &tl);
			if (!r) {
				r = rules_parse((char *)text, &n->rules, what,
						sizeof(what));
				free(text);
			} else {
				snprintf(what, sizeof(what), "%s", ref_strerror(r));
			}
			if (r) {
				snprintf(err, errlen, "refusing to start: the rule "
					 "pack %s ([eligibility] rules): %s", path,
					 what);
				goto fail;
			}
		}
	}
	snprintf(path, sizeof(path), "%s/store", data_dir);
	so.map_initial = (size_t)n->cfg.map_initial_mb << 20;
	so.map_max = (size_t)n->cfg.map_max_mb << 20;
	so.submit_limit_pct = (unsigned)n->cfg.submit_limit_pct;
	/* Room for a turn's largest writes: an envelope in the outbox or
	 * inbox, its receipt, and the records around them. */
	so.reserve = (size_t)n->cfg.max_message_bytes * 2 + (1u << 20);
	r = store_open(path, &so, &n->store);
	if (r) {
		snprintf(err, errlen, "refusing to start: the store in %s cannot "
			 "be opened: %s; it was not changed", path,
			 store_open_error()[0] ? store_open_error()
					       : ref_strerror(r));
		goto fail;
	}
	r = open_data_key(n, err, errlen);
	if (r)
		goto fail;
	r = store_check(n->store, inner, sizeof(inner));
	if (!r)
		r = audit_verify(n->store, &bad, &count);
	if (r) {
		snprintf(err, errlen, "refusing to start: the store in %s fails "
			 "its checks (%s); it was not changed: restore it from "
			 "a backup", path,
			 r == REF_E_CORRUPT && inner[0] ? inner : ref_strerror(r));
		goto fail;
	}
	r = directory_version_held(n, &held);
	if (r) {
		snprintf(err, errlen, "refusing to start: the directory version "
			 "this node applied cannot be read from its store (%s)",
			 ref_strerror(r));
		goto fail;
	}
	if (held > n->dir->version) {
		r = REF_E_DIRECTORY;
		snprintf(err, errlen, "refusing to start: directory.json is "
			 "version %llu, older than version %llu that this node "
			 "applied before; install the newer directory",
			 (unsigned long long)n->dir->version,
			 (unsigned long long)held);
		goto fail;
	}
	r = store_foreach(n->store, STORE_OUTBOX, sched_load_one, n);
	if (r) {
		snprintf(err, errlen, "cannot load the outbox: %s", ref_strerror(r));
		goto fail;
	}

	n->ctx = zmq_ctx_new();
	/* Three sockets a peer (its DEALER, the monitor's two ends) and a
	 * province's directory of several hundred nodes: past libzmq's
	 * default of 1023. */
	if (n->ctx)
		zmq_ctx_set(n->ctx, ZMQ_MAX_SOCKETS, 8192);
	/* The ZAP handler is bound before any server socket: without it
	 * libzmq would let every CURVE key in. */
	n->zap = zmq_socket(n->ctx, ZMQ_REP);
	set_int(n->zap, ZMQ_LINGER, 0);
	if (zmq_bind(n->zap, "inproc://zeromq.zap.01") < 0) {
		r = -errno;
		snprintf(err, errlen, "cannot bind the ZAP handler: %s",
			 zmq_strerror(errno));
		goto fail;
	}
	r = router_open(n, err, errlen);
	if (r)
		goto fail;
	n->client = zmq_socket(n->ctx, ZMQ_ROUTER);
	socket_common(n, n->client);
	{
		/* Local clients are trusted: let an oversized submission in so
		 * it is answered "too large" instead of cut off unanswered. */
		int64_t cmax = (int64_t)512 << 20;
		zmq_setsockopt(n->client, ZMQ_MAXMSGSIZE, &cmax, sizeof(cmax));
	}
	set_int(n->client, ZMQ_ROUTER_MANDATORY, 1);
	snprintf(path, sizeof(path), "%s/referrald.sock", data_dir);
	snprintf(ep, sizeof(ep), "ipc://%s", path);
	if (zmq_bind(n->client, ep) < 0) {
		r = -errno;
		snprintf(err, errlen, "cannot bind the client socket %s: %s",
			 ep, zmq_strerror(errno));
		goto fail;
	}
	chmod(path, 0660);
	store_begin(n->store);
	if (held < n->dir->version)
		r = directory_applied(n, n->dir->version, "at start");
	if (!r && n->key_switched[0])
		r = audit(n, "key_rotated", NULL, NULL, NULL, "node", "ok",
			  n->key_switched);
	if (!r)
		r = audit(n, "node_started", NULL, NULL, NULL, "node", "ok", NULL);
	if (!r)
		r = announce_restore(n);
	if (!r)
		r = finish_turn(n);
	else
		store_abort(n->store);
	if (r) {
		snprintf(err, errlen, "cannot write to the store: %s",
			 ref_strerror(r));
		goto fail;
	}
	log_msg(LOG_INFO, "node", "started node=%s listen=%s directory=%llu "
		"pending=%zu audit_records=%llu", n->cfg.code, n->cfg.listen,
		(unsigned long long)n->dir->version, n->n_sched,
		(unsigned long long)count);
	*ret = n;
	return 0;
fail:
	node_free(&n);
	return r ? r : -EIO;
}

void node_free(node_t **np)
{
	node_t *n = np ? *np : NULL;

	if (!n)
		return;
	peers_close(n);
	if (n->router_mon)
		zmq_close(n->router_mon);
	free(n->conns);
	if (n->router)
		zmq_close(n->router);
	if (n->client)
		zmq_close(n->client);
	if (n->zap)
		zmq_close(n->zap);
	if (n->ctx)
		zmq_ctx_term(n->ctx);
	store_close(&n->store);
	seal_free(&n->seal);
	directory_free(&n->dir);
	directory_free(&n->pending_dir);
	calendar_free(&n->calendar);
	rules_free(&n->rules);
	EVP_PKEY_free(n->key);
	EVP_PKEY_free(n->authority);
	if (n->lock_fd >= 0)
		close(n->lock_fd);
	free(n->sched);
	free(n);
	*np = NULL;
}

int node_run(node_t *n, volatile sig_atomic_t *stop,
	     volatile sig_atomic_t *reload)
{
	zmq_pollitem_t *items = NULL;
	int r = 0;

	while (!*stop) {
		size_t ni;
		zmq_pollitem_t *ni_items;
		long timeout;

		if (*reload) {
			*reload = 0;
			reload_directory(n);
			continue;
		}
		ni = 4 + n->n_peers;
		ni_items = realloc(items, ni * sizeof(*items));
		if (!ni_items) {
			r = -ENOMEM;
			break;
		}
		items = ni_items;
		memset(items, 0, ni * sizeof(*items));
		items[0].socket = n->zap;
		items[1].socket = n->router;
		items[2].socket = n->client;
		items[3].socket = n->router_mon;
		for (size_t i = 0; i < n->n_peers; i++)
			items[4 + i].socket = n->peers[i].dealer;
		for (size_t i = 0; i < ni; i++)
			items[i].events = items[i].socket ? ZMQ_POLLIN : 0;
		store_maybe_grow(n->store);
		timeout = poll_timeout(n);
		/* Bounded, so a signal that lands just before the poll is seen
		 * within a fifth of a second. */
		if (timeout > 200)
			timeout = 200;
		if (zmq_poll(items, (int)ni, timeout) < 0) {
			if (errno == EINTR)
				continue;
			r = -errno;
			log_msg(LOG_ERROR, "node", "poll failed: %s",
				zmq_strerror(errno));
			break;
		}
		if (items[0].revents & ZMQ_POLLIN)
			for (int k = 0; k < 16 && handle_zap(n); k++)
				;
		if (items[1].revents & ZMQ_POLLIN)
			drain_router(n);
		if (items[3].revents & ZMQ_POLLIN)
			drain_monitor(n);
		drain_dealers(n, items, 4);
		drain_peer_monitors(n);
		if (items[2].revents & ZMQ_POLLIN)
			drain_client(n);
		run_schedule(n);
		reseal_step(n);
		if (util_mono_ms() >= n->next_deadline_check) {
			n->next_deadline_check = util_mono_ms() +
						 (uint64_t)n->cfg.deadline_check_ms;
			check_deadlines(n);
			maybe_checkpoint(n);
			/* A rotated key whose window opens later. */
			maybe_switch_key(n);
		}
		if (n->store_nudge)
			nudge_store(n);
		r = finish_turn(n);
		if (!r && n->retire_keys)
			reseal_finish(n);
		if (!r && n->pending_dir) {
			directory_t *d = n->pending_dir;
			n->pending_dir = NULL;
			directory_switch(n, d);
		}
		if (r == -EIO || store_failed(n->store)) {
			/* fsync failed: what the kernel kept is unknown, so
			 * retrying could acknowledge lost data; or LMDB cannot
			 * go on without reopening. Stop; a start checks the
			 * store and resumes from its last good state. */
			log_msg(LOG_ERROR, "node", "stopping: the store could not "
				"be synced to disk (EIO: %s); restart once the "
				"disk is healthy (or has room)",
				store_last_error(n->store));
			r = -EIO;
			break;
		}
		r = 0;
	}
	free(items);
	if (!r) {
		store_begin(n->store);
		audit(n, "node_stopped", NULL, NULL, NULL, "node", "ok", NULL);
		finish_turn(n);
		log_msg(LOG_INFO, "node", "stopped node=%s", n->cfg.code);
	}
	return r;
}
