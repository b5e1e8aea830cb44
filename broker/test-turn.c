/* test-turn.c: what a turn sends, and when: replies leave only after the
 * store's commit; an aborted turn sends none of them (a client's reply
 * becomes its "retry" answer); an event that rolls back drops what it
 * queued; schedule changes apply only with the commit. With a real LMDB
 * store and real ZeroMQ sockets.
 *
 * The case the loop once got wrong: an audit append that fails inside a
 * turn (the store at its map limit) must not let the turn's replies go
 * for writes that were thrown away. The key switch used to abort the whole
 * turn at such a failure and store_commit then found no turn and returned
 * 0, so every receipt queued before went out. turn_commit now refuses a
 * turn that is no longer open, and only the loop aborts one. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

#include "../proto/testutil.h"
#include "audit.h"
#include "errors.h"
#include "turn.h"

static char dir[] = "/tmp/test-turn-XXXXXX";
static void *ctx, *tx, *rx;

/* What arrived on rx (empty string when nothing did), one message. */
static void got(char *out, size_t len)
{
	int n = zmq_recv(rx, out, len - 1, ZMQ_DONTWAIT);

	out[n < 0 ? 0 : n] = '\0';
}

static uint8_t *text(const char *s, size_t *ret_len)
{
	*ret_len = strlen(s);
	return (uint8_t *)strdup(s);
}

static void reply(turn_t *t, const char *ok, const char *fail)
{
	size_t l1, l2 = 0;
	uint8_t *a = text(ok, &l1), *b = fail ? text(fail, &l2) : NULL;

	CHECK(!turn_reply(t, tx, NULL, 0, false, a, l1, b, l2));
}

static store_t *open_store(const char *name, size_t max)
{
	char path[128];
	store_opts_t o = { 0 };
	store_t *s = NULL;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	o.map_initial = max;
	o.map_max = max;
	CHECK(!store_open(path, &o, &s));
	return s;
}

static void test_commit_and_abort(store_t *s)
{
	turn_t t;
	schedule_t sched;
	sched_t e = { .msg_id = { 1 }, .next_ms = 5, .to = "350582" };
	char buf[64];

	turn_init(&t);
	schedule_init(&sched);
	/* Committed: the reply goes, the schedule entry is added. */
	CHECK(!turn_begin(&t, s));
	CHECK(!store_put(s, STORE_META, "k1", 2, "v", 1));
	reply(&t, "receipt-1", NULL);
	CHECK(!turn_schedule(&t, &e));
	got(buf, sizeof(buf));
	CHECK_EQ_INT(strlen(buf), 0); /* nothing before the commit */
	CHECK(!turn_commit(&t, s, &sched));
	got(buf, sizeof(buf));
	CHECK(!strcmp(buf, "receipt-1"));
	CHECK(schedule_find(&sched, e.msg_id) != NULL);
	CHECK_EQ_INT(turn_pending(&t), 0);

	/* Aborted: the peer's receipt never leaves, the client gets its
	 * retry answer, and the entry stays off the schedule. */
	CHECK(!turn_begin(&t, s));
	reply(&t, "receipt-2", NULL);
	reply(&t, "reply-ok", "reply-retry");
	e.msg_id[0] = 2;
	CHECK(!turn_schedule(&t, &e));
	turn_abort(&t, s);
	got(buf, sizeof(buf));
	CHECK(!strcmp(buf, "reply-retry"));
	got(buf, sizeof(buf));
	CHECK_EQ_INT(strlen(buf), 0);
	CHECK(schedule_find(&sched, e.msg_id) == NULL);

	/* An event that rolls back drops only what it queued. */
	CHECK(!turn_begin(&t, s));
	reply(&t, "kept", NULL);
	{
		turn_mark_t mark = turn_mark(&t);
		reply(&t, "dropped-1", NULL);
		e.msg_id[0] = 3;
		CHECK(!turn_schedule(&t, &e));
		reply(&t, "dropped-2", NULL);
		turn_rollback(&t, mark);
	}
	reply(&t, "kept-too", NULL);
	CHECK_EQ_INT(turn_pending(&t), 2);
	CHECK(!turn_commit(&t, s, &sched));
	got(buf, sizeof(buf));
	CHECK(!strcmp(buf, "kept"));
	got(buf, sizeof(buf));
	CHECK(!strcmp(buf, "kept-too"));
	got(buf, sizeof(buf));
	CHECK_EQ_INT(strlen(buf), 0);
	CHECK(schedule_find(&sched, e.msg_id) == NULL);
	CHECK_EQ_INT(schedule_count(&sched), 1);
	schedule_free(&sched);
}

/* Writes big values in events until one does not fit: its error. */
static int fill(store_t *s, const char *big, size_t len)
{
	int r = 0;

	for (int i = 0; i < 64 && !r; i++) {
		char k[16];
		snprintf(k, sizeof(k), "fill%d", i);
		if ((r = store_event_begin(s)))
			break;
		r = store_put(s, STORE_META, k, strlen(k), big, len);
		if (r)
			store_event_abort(s);
		else
			r = store_event_commit(s);
	}
	return r;
}

/* The store at its map limit: the audit append fails inside the turn. */
static void test_audit_fails_at_limit(void)
{
	store_t *s = open_store("full", 1 << 20);
	turn_t t;
	schedule_t sched;
	audit_event_t ev = { "key_rotated", NULL, NULL, NULL, "node", "ok",
			     NULL, 0 };
	static char big[200000];
	char buf[64];
	int r;

	memset(big, 'x', sizeof(big) - 1);
	turn_init(&t);
	schedule_init(&sched);
	/* Fill the store until a write fails. */
	CHECK(!turn_begin(&t, s));
	CHECK_EQ_INT(fill(s, big, sizeof(big)), REF_E_STORE_FULL);
	/* A reply for a write that fit, then an audit record that does not
	 * (its detail is too large for what is left). */
	reply(&t, "receipt-for-a-write", NULL);
	ev.detail = big + sizeof(big) - 150000;
	CHECK(!store_event_begin(s));
	r = audit_append(s, &ev, NULL);
	CHECK_EQ_INT(r, REF_E_STORE_FULL);

	/* What the key switch used to do here: abort the whole turn. */
	store_abort(s);
	r = turn_commit(&t, s, &sched);
	CHECK_EQ_INT(r, REF_E_ABORTED);
	got(buf, sizeof(buf));
	CHECK_EQ_INT(strlen(buf), 0); /* nothing queued in that turn is sent */

	/* What it does now: the failed append is its own event; the turn
	 * goes on and its earlier writes and replies stand. */
	CHECK(!turn_begin(&t, s));
	CHECK_EQ_INT(fill(s, big, sizeof(big)), REF_E_STORE_FULL);
	reply(&t, "receipt-after", NULL);
	CHECK(!store_event_begin(s));
	CHECK_EQ_INT(audit_append(s, &ev, NULL), REF_E_STORE_FULL);
	store_event_abort(s);
	CHECK(!turn_commit(&t, s, &sched));
	got(buf, sizeof(buf));
	CHECK(!strcmp(buf, "receipt-after"));
	schedule_free(&sched);
	store_close(&s);
}

int main(void)
{
	store_t *s;
	char cmd[64];

	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	ctx = zmq_ctx_new();
	tx = zmq_socket(ctx, ZMQ_PAIR);
	rx = zmq_socket(ctx, ZMQ_PAIR);
	CHECK(!zmq_bind(rx, "inproc://test-turn"));
	CHECK(!zmq_connect(tx, "inproc://test-turn"));
	s = open_store("plain", 8 << 20);
	if (s) {
		test_commit_and_abort(s);
		store_close(&s);
	}
	test_audit_fails_at_limit();
	zmq_close(tx);
	zmq_close(rx);
	zmq_ctx_term(ctx);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd))
		fprintf(stderr, "could not remove %s\n", dir);
	return test_finish("turn");
}
