/* turn.c: see turn.h. Writes only turn_t. */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "errors.h"
#include "log.h"
#include "turn.h"

enum { OUT_REPLY, OUT_SCHEDULE, OUT_UNSCHEDULE };

struct turn_out {
	struct turn_out *next;
	int what;            /* OUT_* */
	void *sock;
	uint8_t *rid;        /* routing id, or NULL for a DEALER */
	size_t rid_len;
	bool delimiter;      /* REQ clients expect an empty frame */
	uint8_t *data, *fail;
	size_t len, fail_len;
	sched_t sched;       /* OUT_SCHEDULE; OUT_UNSCHEDULE: its msg_id */
	bool awaiting;       /* a reply whose data turn_fill gives */
	uint8_t seal_id[16];
};

void turn_init(turn_t *t)
{
	t->head = NULL;
	t->tail = &t->head;
	t->open = false;
}

static void out_free(turn_out_t *o)
{
	free(o->rid);
	free(o->data);
	free(o->fail);
	free(o);
}

static void queue(turn_t *t, turn_out_t *o)
{
	o->next = NULL;
	*t->tail = o;
	t->tail = &o->next;
}

int turn_reply(turn_t *t, void *sock, const uint8_t *rid, size_t rid_len,
	       bool delim, uint8_t *data, size_t len, uint8_t *fail,
	       size_t fail_len)
{
	turn_out_t *o = calloc(1, sizeof(*o));

	if (!o) {
		free(data);
		free(fail);
		return -ENOMEM;
	}
	if (rid) {
		o->rid = malloc(rid_len ? rid_len : 1);
		if (!o->rid) {
			free(o);
			free(data);
			free(fail);
			return -ENOMEM;
		}
		memcpy(o->rid, rid, rid_len);
		o->rid_len = rid_len;
	}
	o->what = OUT_REPLY;
	o->sock = sock;
	o->delimiter = delim;
	o->data = data;
	o->len = len;
	o->fail = fail;
	o->fail_len = fail_len;
	queue(t, o);
	return 0;
}

int turn_schedule(turn_t *t, const sched_t *e)
{
	turn_out_t *o = calloc(1, sizeof(*o));

	if (!o)
		return -ENOMEM;
	o->what = OUT_SCHEDULE;
	o->sched = *e;
	queue(t, o);
	return 0;
}

int turn_reply_awaiting(turn_t *t, void *sock, const uint8_t *rid,
			size_t rid_len, const uint8_t seal_id[16])
{
	int r = turn_reply(t, sock, rid, rid_len, false, NULL, 0, NULL, 0);
	turn_out_t *o;

	if (r)
		return r;
	o = (turn_out_t *)((char *)t->tail - offsetof(turn_out_t, next));
	o->awaiting = true;
	memcpy(o->seal_id, seal_id, 16);
	return 0;
}

void turn_fill(turn_t *t, const uint8_t seal_id[16], uint8_t *data, size_t len)
{
	for (turn_out_t *o = t->head; o; o = o->next)
		if (o->awaiting && !memcmp(o->seal_id, seal_id, 16)) {
			o->data = data;
			o->len = len;
			o->awaiting = false;
			return;
		}
	free(data); /* its reply was dropped with its event */
}

void turn_foreach_awaiting(const turn_t *t, turn_awaiting_fn *fn, void *ctx)
{
	for (const turn_out_t *o = t->head; o; o = o->next)
		if (o->awaiting)
			fn(ctx, o->seal_id, o->sock, o->rid, o->rid_len);
}

int turn_unschedule(turn_t *t, const uint8_t msg_id[16])
{
	turn_out_t *o = calloc(1, sizeof(*o));

	if (!o)
		return -ENOMEM;
	o->what = OUT_UNSCHEDULE;
	memcpy(o->sched.msg_id, msg_id, 16);
	queue(t, o);
	return 0;
}

turn_mark_t turn_mark(turn_t *t)
{
	return t->tail;
}

void turn_rollback(turn_t *t, turn_mark_t mark)
{
	turn_out_t *o = *mark, *next;

	for (; o; o = next) {
		next = o->next;
		out_free(o);
	}
	*mark = NULL;
	t->tail = mark;
}

size_t turn_pending(const turn_t *t)
{
	size_t n = 0;

	for (const turn_out_t *o = t->head; o; o = o->next)
		n++;
	return n;
}

static void send_out(turn_out_t *o, bool committed)
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

/* Sends (or drops) everything queued and empties the queue. */
static void flush(turn_t *t, bool committed, schedule_t *sched)
{
	turn_out_t *o, *next;

	for (o = t->head; o; o = next) {
		next = o->next;
		if (o->what == OUT_REPLY)
			send_out(o, committed);
		else if (o->what == OUT_UNSCHEDULE) {
			if (committed)
				schedule_remove(sched, o->sched.msg_id);
		} else if (committed && schedule_add(sched, &o->sched))
			log_msg(LOG_ERROR, "delivery", "out of memory: a "
				"committed message waits for the next restart "
				"to be sent");
		out_free(o);
	}
	t->head = NULL;
	t->tail = &t->head;
}

int turn_begin(turn_t *t, store_t *s)
{
	int r = store_begin(s);

	t->open = r == 0;
	return r;
}

int turn_commit(turn_t *t, store_t *s, schedule_t *sched)
{
	int r;

	/* A turn aborted behind the loop's back has thrown its writes away:
	 * store_commit would find no turn and return 0, and the replies would
	 * claim writes that never happened. */
	if (t->open && !store_in_turn(s)) {
		r = REF_E_ABORTED;
		log_msg(LOG_ERROR, "store", "the turn was aborted before its "
			"commit; its replies are withheld");
	} else {
		r = store_commit(s);
		if (r)
			log_msg(LOG_ERROR, "store", "commit failed: %s (%s); "
				"replies of this turn withheld", ref_strerror(r),
				store_last_error(s));
	}
	t->open = false;
	flush(t, r == 0, sched);
	return r;
}

void turn_abort(turn_t *t, store_t *s)
{
	store_abort(s);
	t->open = false;
	flush(t, false, NULL);
}
