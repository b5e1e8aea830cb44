/* referral-pipe.c: many submissions in flight on one connection
 * (referral.h, "ref_pipe_*").
 *
 * One DEALER socket to the node's client ROUTER: each request goes as an
 * empty delimiter frame and the packed Request, as a REQ socket would
 * send it, so the node serves it like any other; the node's Reply echoes
 * the request id, which says whose answer it is. A request id is the
 * slot it occupies and a fresh UUIDv7 ("<hex>-<slot>"), fixed when the
 * request is made: a resend after the timeout is the same bytes, which the
 * node applies once, and an answer to a slot's earlier occupant (a late
 * reply to a resent request) does not match and is dropped.
 *
 * Promises: at most `window` requests in flight; every request is sent
 * again until it is answered (a node killed and restarted answers it then,
 * from its request table if it had committed it); answers are kept, in
 * the order they came, until ref_pipe_next hands them over. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "application.h"
#include "client.pb-c.h"
#include "referral-int.h"
#include "referral.h"
#include "util.h"

#define ID_LEN 48
/* How often overdue requests are looked for while waiting. */
#define RESEND_SCAN_MS 100

struct slot {
	bool used;
	uint64_t tag;
	char id[ID_LEN];
	uint8_t *req;      /* the packed Request, sent again as it is */
	size_t len;
	uint64_t sent_ms;
};

struct ref_pipe {
	ref_client_t *c;
	void *sock;
	struct slot *slots;
	uint32_t *free_slots;  /* a stack of free slot numbers */
	size_t n_free, window;
	ref_pipe_done_t *done; /* answers not yet handed over, a FIFO */
	size_t done_head, done_n, done_cap;
	uint64_t last_scan_ms;
};

int ref_pipe_open(ref_client_t *c, unsigned window, ref_pipe_t **ret)
{
	ref_pipe_t *p;
	int zero = 0, hwm;

	if (!c || window < 1 || window > 100000)
		return -EINVAL;
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->c = c;
	p->window = window;
	p->slots = calloc(window, sizeof(*p->slots));
	p->free_slots = calloc(window, sizeof(*p->free_slots));
	p->sock = zmq_socket(c->ctx, ZMQ_DEALER);
	if (!p->slots || !p->free_slots || !p->sock) {
		ref_pipe_close(&p);
		return -ENOMEM;
	}
	for (size_t i = 0; i < window; i++)
		p->free_slots[i] = (uint32_t)(window - 1 - i);
	p->n_free = window;
	/* Every request in flight fits in the queue both ways, resends
	 * included, so a send never blocks and no answer is dropped here. */
	hwm = (int)(2 * window + 1000);
	zmq_setsockopt(p->sock, ZMQ_LINGER, &zero, sizeof(zero));
	zmq_setsockopt(p->sock, ZMQ_SNDHWM, &hwm, sizeof(hwm));
	zmq_setsockopt(p->sock, ZMQ_RCVHWM, &hwm, sizeof(hwm));
	if (zmq_connect(p->sock, c->endpoint) < 0) {
		snprintf(c->err, sizeof(c->err), "cannot connect to the node at "
			 "%s: %s", c->endpoint, zmq_strerror(errno));
		ref_pipe_close(&p);
		return REF_E_UNAVAILABLE;
	}
	*ret = p;
	return 0;
}

void ref_pipe_close(ref_pipe_t **pp)
{
	ref_pipe_t *p = pp ? *pp : NULL;

	if (!p)
		return;
	if (p->sock)
		zmq_close(p->sock);
	for (size_t i = 0; p->slots && i < p->window; i++)
		free(p->slots[i].req);
	free(p->slots);
	free(p->free_slots);
	free(p->done);
	free(p);
	*pp = NULL;
}

size_t ref_pipe_in_flight(const ref_pipe_t *p)
{
	return p->window - p->n_free;
}

int ref_pack_application(ref_client_t *c, const char *app_json,
			 const char *base_dir, uint8_t **ret_body,
			 size_t *ret_len)
{
	/* As ref_submit: the node applies its own limits. */
	application_limits_t lim = { 256u << 20, 1000, base_dir };

	return application_from_json(app_json, strlen(app_json), &lim, ret_body,
				     ret_len, c->err, sizeof(c->err));
}

static int send_req(ref_pipe_t *p, struct slot *s)
{
	if (zmq_send(p->sock, "", 0, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0 ||
	    zmq_send(p->sock, s->req, s->len, ZMQ_DONTWAIT) < 0)
		return REF_E_UNAVAILABLE;
	s->sent_ms = util_mono_ms();
	return 0;
}

/* Requests unanswered for the client's timeout go again, the same bytes. */
static void resend_overdue(ref_pipe_t *p)
{
	uint64_t now = util_mono_ms();

	if (now - p->last_scan_ms < RESEND_SCAN_MS)
		return;
	p->last_scan_ms = now;
	for (size_t i = 0; i < p->window; i++) {
		struct slot *s = &p->slots[i];
		if (s->used && now - s->sent_ms >= (uint64_t)p->c->timeout_ms)
			(void)send_req(p, s);
	}
}

static int keep_done(ref_pipe_t *p, const ref_pipe_done_t *d)
{
	if (p->done_n == p->done_cap) {
		size_t cap = p->done_cap ? 2 * p->done_cap : 64;
		ref_pipe_done_t *nd = malloc(cap * sizeof(*nd));

		if (!nd)
			return -ENOMEM;
		for (size_t i = 0; i < p->done_n; i++)
			nd[i] = p->done[(p->done_head + i) % p->done_cap];
		free(p->done);
		p->done = nd;
		p->done_head = 0;
		p->done_cap = cap;
	}
	p->done[(p->done_head + p->done_n++) % p->done_cap] = *d;
	return 0;
}

/* One frame set from the node: its answer frees its slot and is kept. */
static void take_reply(ref_pipe_t *p, const uint8_t *buf, size_t len)
{
	Referral__Local__V1__Reply *rep =
		referral__local__v1__reply__unpack(NULL, len, buf);
	ref_pipe_done_t d;
	const char *dash;
	unsigned long k;
	struct slot *s;

	if (!rep)
		return;
	dash = strrchr(rep->request_id, '-');
	k = dash ? strtoul(dash + 1, NULL, 10) : (unsigned long)p->window;
	if (k >= p->window || !p->slots[k].used ||
	    strcmp(p->slots[k].id, rep->request_id))
		goto out; /* an answer to a resend already answered */
	s = &p->slots[k];
	/* The node's "retry" (its store is growing, or the turn failed):
	 * the same bytes go again at the next scan. */
	if (rep->code == REF_E_UNAVAILABLE) {
		s->sent_ms = util_mono_ms() - (uint64_t)p->c->timeout_ms + 200;
		goto out;
	}
	memset(&d, 0, sizeof(d));
	d.tag = s->tag;
	d.code = rep->code;
	snprintf(d.referral_id, sizeof(d.referral_id), "%s", rep->referral_id);
	snprintf(d.error, sizeof(d.error), "%s", rep->error);
	if (keep_done(p, &d))
		goto out; /* kept in flight: the resend brings it again */
	free(s->req);
	memset(s, 0, sizeof(*s));
	p->free_slots[p->n_free++] = (uint32_t)k;
out:
	referral__local__v1__reply__free_unpacked(rep, NULL);
}

/* Waits up to timeout_ms for answers (at least one poll), taking all that
 * came; resends what is overdue. */
static void pump(ref_pipe_t *p, int timeout_ms)
{
	zmq_pollitem_t it = { p->sock, 0, ZMQ_POLLIN, 0 };

	resend_overdue(p);
	if (zmq_poll(&it, 1, timeout_ms < RESEND_SCAN_MS ? timeout_ms
							 : RESEND_SCAN_MS) <= 0)
		return;
	for (;;) {
		zmq_msg_t f[2];
		int nf = 0, more = 1;

		while (more) {
			zmq_msg_t x;
			zmq_msg_init(&x);
			if (zmq_msg_recv(&x, p->sock, nf ? 0 : ZMQ_DONTWAIT) < 0) {
				zmq_msg_close(&x);
				break;
			}
			more = zmq_msg_more(&x);
			if (nf < 2)
				f[nf++] = x;
			else
				zmq_msg_close(&x);
		}
		if (nf == 0)
			return;
		if (nf == 2 && zmq_msg_size(&f[0]) == 0)
			take_reply(p, zmq_msg_data(&f[1]), zmq_msg_size(&f[1]));
		for (int k = 0; k < nf; k++)
			zmq_msg_close(&f[k]);
	}
}

int ref_pipe_submit_packed(ref_pipe_t *p, const char *to_node,
			   const uint8_t *body, size_t len, const char *actor,
			   uint64_t tag)
{
	Referral__Local__V1__Request req = REFERRAL__LOCAL__V1__REQUEST__INIT;
	uint64_t until = util_mono_ms() + (uint64_t)p->c->timeout_ms;
	uint8_t uuid[16];
	char hex[33];
	struct slot *s;
	uint32_t k;

	while (!p->n_free) {
		if (util_mono_ms() >= until) {
			snprintf(p->c->err, sizeof(p->c->err), "the node at %s "
				 "answered none of %zu requests within %d ms",
				 p->c->endpoint, p->window, p->c->timeout_ms);
			return REF_E_UNAVAILABLE;
		}
		pump(p, RESEND_SCAN_MS);
	}
	k = p->free_slots[--p->n_free];
	s = &p->slots[k];
	util_uuid7(uuid);
	util_hex(uuid, 16, hex);
	snprintf(s->id, sizeof(s->id), "%s-%u", hex, k);
	req.request_id = s->id;
	req.op = REFERRAL__LOCAL__V1__OP__OP_SUBMIT;
	req.to_node = (char *)(to_node ? to_node : "");
	req.body.data = (uint8_t *)body;
	req.body.len = len;
	req.actor = (char *)(actor ? actor : "");
	s->len = referral__local__v1__request__get_packed_size(&req);
	s->req = malloc(s->len ? s->len : 1);
	if (!s->req) {
		p->free_slots[p->n_free++] = k;
		return -ENOMEM;
	}
	referral__local__v1__request__pack(&req, s->req);
	s->tag = tag;
	s->used = true;
	/* Not sent now (the queue is full, or no node yet): the next scan
	 * sends it, as any request not answered in time. */
	if (send_req(p, s))
		s->sent_ms = util_mono_ms() - (uint64_t)p->c->timeout_ms;
	/* Answers that came meanwhile, without waiting. */
	pump(p, 0);
	return 0;
}

int ref_pipe_next(ref_pipe_t *p, int timeout_ms, ref_pipe_done_t *ret)
{
	uint64_t until = util_mono_ms() + (uint64_t)(timeout_ms > 0 ? timeout_ms : 0);

	for (;;) {
		if (p->done_n) {
			*ret = p->done[p->done_head];
			p->done_head = (p->done_head + 1) % p->done_cap;
			p->done_n--;
			return 0;
		}
		if (util_mono_ms() >= until && timeout_ms >= 0) {
			pump(p, 0);
			if (!p->done_n)
				return REF_E_UNAVAILABLE;
			continue;
		}
		pump(p, (int)(until - util_mono_ms()));
	}
}
