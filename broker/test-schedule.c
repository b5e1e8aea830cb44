/* test-schedule.c: the outbox schedule: the order due messages come out
 * in (priority, then age, then id), due times, replacing and removing by
 * msg_id, messages set aside and put back, a returned peer's backlog due
 * at once, the per-peer in-flight counts, and the backoff's doubling, cap
 * and jitter. A large schedule is checked against a plain sort. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../proto/testutil.h"
#include "schedule.h"

static sched_t entry(unsigned id, uint64_t next, uint32_t prio,
		     uint64_t created, const char *to)
{
	sched_t e = { 0 };

	for (int i = 0; i < 16; i++)
		e.msg_id[i] = (uint8_t)(id * 2654435761u >> (i % 4 * 8)) ^
			      (uint8_t)i;
	memcpy(e.msg_id + 12, &id, sizeof(id));
	e.next_ms = next;
	e.priority = prio;
	e.created_ms = created;
	snprintf(e.to, sizeof(e.to), "%s", to);
	return e;
}

static int order_cmp(const void *a, const void *b)
{
	const sched_t *x = a, *y = b;

	if (x->priority != y->priority)
		return x->priority > y->priority ? -1 : 1;
	if (x->created_ms != y->created_ms)
		return x->created_ms < y->created_ms ? -1 : 1;
	return memcmp(x->msg_id, y->msg_id, 16);
}

static void test_order(void)
{
	schedule_t s;
	sched_t a = entry(1, 100, 0, 10, "350582");
	sched_t b = entry(2, 100, 2, 30, "350582");
	sched_t c = entry(3, 100, 1, 20, "350582");
	sched_t d = entry(4, 100, 2, 5, "350582");
	sched_t later = entry(5, 500, 2, 1, "350582");
	uint8_t ids[8][16];
	size_t n;

	schedule_init(&s);
	CHECK_EQ_INT(schedule_next_due(&s, 0), UINT64_MAX);
	CHECK(!schedule_add(&s, &a));
	CHECK(!schedule_add(&s, &b));
	CHECK(!schedule_add(&s, &c));
	CHECK(!schedule_add(&s, &d));
	CHECK(!schedule_add(&s, &later));
	CHECK_EQ_INT(schedule_count(&s), 5);
	CHECK_EQ_INT(schedule_next_due(&s, 50), 100);
	CHECK_EQ_INT(schedule_next_due(&s, 100), 0);
	/* Not yet due: nothing comes out. */
	CHECK_EQ_INT(schedule_take_due(&s, 99, ids, 8), 0);
	/* Urgent (older first), then green channel, then ordinary; the one
	 * due later stays. */
	n = schedule_take_due(&s, 100, ids, 8);
	CHECK_EQ_INT(n, 4);
	CHECK(!memcmp(ids[0], d.msg_id, 16));
	CHECK(!memcmp(ids[1], b.msg_id, 16));
	CHECK(!memcmp(ids[2], c.msg_id, 16));
	CHECK(!memcmp(ids[3], a.msg_id, 16));
	/* Taken ones are aside: not due again until placed. */
	CHECK_EQ_INT(schedule_next_due(&s, 100), 500);
	/* One rescheduled, one removed, two put back (due at once). */
	schedule_set_next(&s, schedule_find(&s, b.msg_id), 1000);
	schedule_remove(&s, c.msg_id);
	CHECK(schedule_find(&s, c.msg_id) == NULL);
	schedule_put_back(&s, (const uint8_t (*)[16])ids, n);
	CHECK_EQ_INT(schedule_count(&s), 4);
	n = schedule_take_due(&s, 100, ids, 8);
	CHECK_EQ_INT(n, 2);
	CHECK(!memcmp(ids[0], d.msg_id, 16));
	CHECK(!memcmp(ids[1], a.msg_id, 16));
	/* A limit on how many come out, the rest stay due in order. */
	schedule_put_back(&s, (const uint8_t (*)[16])ids, n);
	n = schedule_take_due(&s, 600, ids, 1);
	CHECK_EQ_INT(n, 1);
	CHECK(!memcmp(ids[0], later.msg_id, 16));
	schedule_free(&s);
	schedule_free(&s); /* safe twice */
}

static void test_replace_and_flight(void)
{
	schedule_t s;
	sched_t a = entry(1, 100, 0, 10, "350582");
	sched_t b = entry(2, 100, 0, 11, "350582");
	sched_t c = entry(3, 100, 0, 12, "350583");
	sched_t *e;

	schedule_init(&s);
	schedule_add(&s, &a);
	schedule_add(&s, &b);
	schedule_add(&s, &c);
	schedule_set_in_flight(&s, schedule_find(&s, a.msg_id), true);
	schedule_set_in_flight(&s, schedule_find(&s, b.msg_id), true);
	schedule_set_in_flight(&s, schedule_find(&s, b.msg_id), true);
	schedule_set_in_flight(&s, schedule_find(&s, c.msg_id), true);
	CHECK_EQ_INT(schedule_in_flight(&s, "350582"), 2);
	CHECK_EQ_INT(schedule_in_flight(&s, "350583"), 1);
	CHECK_EQ_INT(schedule_in_flight(&s, NULL), 3);
	/* A receipt takes one off; a replaced entry starts over. */
	schedule_remove(&s, a.msg_id);
	CHECK_EQ_INT(schedule_in_flight(&s, "350582"), 1);
	b.next_ms = 5000;
	schedule_add(&s, &b);
	CHECK_EQ_INT(schedule_count(&s), 2);
	CHECK_EQ_INT(schedule_in_flight(&s, "350582"), 0);
	e = schedule_find(&s, b.msg_id);
	CHECK(e && e->next_ms == 5000 && !e->in_flight);
	/* A peer back from an outage: its backlog is due now. */
	schedule_due_now(&s, "350582", 200);
	CHECK_EQ_INT(schedule_find(&s, b.msg_id)->next_ms, 200);
	CHECK_EQ_INT(schedule_find(&s, c.msg_id)->next_ms, 100);
	schedule_free(&s);
}

/* Many entries, added, some removed and rescheduled, against a sort. */
static void test_large(void)
{
	enum { N = 20000 };
	schedule_t s;
	sched_t *all = calloc(N, sizeof(*all)), *want = calloc(N, sizeof(*want));
	uint8_t (*ids)[16] = calloc(N, 16);
	size_t n_want = 0, n;
	unsigned seed = 7;

	schedule_init(&s);
	for (unsigned i = 0; i < N; i++) {
		seed = seed * 1103515245u + 12345u;
		all[i] = entry(i + 10, seed % 1000, seed >> 16 & 3 ? 0 : 2,
			       seed % 777, i % 3 ? "350582" : "350583");
		CHECK(!schedule_add(&s, &all[i]));
	}
	for (unsigned i = 0; i < N; i += 7)
		schedule_remove(&s, all[i].msg_id);
	for (unsigned i = 3; i < N; i += 11)
		if (schedule_find(&s, all[i].msg_id)) {
			all[i].next_ms = 5000;
			schedule_set_next(&s, schedule_find(&s, all[i].msg_id),
					  5000);
		}
	for (unsigned i = 0; i < N; i++)
		if (i % 7 && all[i].next_ms <= 999)
			want[n_want++] = all[i];
	qsort(want, n_want, sizeof(*want), order_cmp);
	n = schedule_take_due(&s, 999, ids, N);
	CHECK_EQ_INT(n, n_want);
	for (size_t i = 0; i < n && i < n_want; i++)
		if (memcmp(ids[i], want[i].msg_id, 16)) {
			CHECK(0 && "large schedule out of order");
			break;
		}
	CHECK_EQ_INT(schedule_next_due(&s, 999), 5000);
	free(all);
	free(want);
	free(ids);
	schedule_free(&s);
}

/* Parked: messages due for a peer with no room in flight wait outside the
 * heaps (nothing is due, the loop can sleep), and each message in flight
 * settled lets the first parked, by priority, be due again. */
static void test_park(void)
{
	schedule_t s;
	sched_t a = entry(1, 10, 0, 1, "350582");
	uint8_t ids[8][16];
	size_t n;

	schedule_init(&s);
	CHECK(!schedule_add(&s, &a));
	for (unsigned i = 2; i <= 5; i++) {
		sched_t e = entry(i, 10, i == 4 ? 2 : 0, i, "350582");
		CHECK(!schedule_add(&s, &e));
	}
	n = schedule_take_due(&s, 100, ids, 8);
	CHECK_EQ_INT(n, 5);
	/* The first out (the urgent one, id 4) goes; the peer is then full
	 * (a limit of one) and the other four park. */
	{
		sched_t u = entry(4, 0, 0, 0, "x");
		CHECK(!memcmp(ids[0], u.msg_id, 16));
	}
	schedule_set_in_flight(&s, schedule_find(&s, ids[0]), true);
	schedule_set_next(&s, schedule_find(&s, ids[0]), 5000);
	for (size_t k = 1; k < n; k++)
		CHECK(!schedule_park(&s, schedule_find(&s, ids[k])));
	CHECK_EQ_INT(schedule_parked(&s), 4);
	CHECK(schedule_next_due(&s, 100) == 5000); /* nothing due meanwhile */
	CHECK_EQ_INT(schedule_take_due(&s, 100, ids, 8), 0);
	/* Its receipt: one place free, the oldest parked one (id 1) is due. */
	{
		sched_t u = entry(4, 0, 0, 0, "x");
		schedule_remove(&s, u.msg_id);
	}
	CHECK_EQ_INT(schedule_parked(&s), 3);
	n = schedule_take_due(&s, 100, ids, 8);
	CHECK_EQ_INT(n, 1);
	CHECK(n == 1 && !memcmp(ids[0], a.msg_id, 16));
	/* A parked message removed (its lifetime over) leaves the heap. */
	{
		sched_t two = entry(2, 0, 0, 0, "x");
		schedule_remove(&s, two.msg_id);
		CHECK_EQ_INT(schedule_parked(&s), 2);
	}
	/* A peer never sent to has nothing to wait for: not parked. */
	{
		sched_t o = entry(9, 10, 0, 9, "350583");
		CHECK(!schedule_add(&s, &o));
		CHECK_EQ_INT(schedule_take_due(&s, 100, ids, 8), 1);
		CHECK(schedule_park(&s, schedule_find(&s, o.msg_id)) != 0);
	}
	schedule_free(&s);
}

/* A message about to take a free place while one ahead of it in the
 * ready order is parked for the same peer gives way: the parked one is
 * due again, and the later one parks. */
static void test_parked_ahead(void)
{
	schedule_t s;
	sched_t x = entry(1, 10, 0, 1, "350582"), g = entry(2, 10, 1, 2, "350582");
	sched_t o = entry(3, 10, 0, 3, "350582"), u = entry(4, 10, 2, 4, "350582");
	uint8_t ids[4][16];

	schedule_init(&s);
	CHECK(!schedule_add(&s, &x));
	CHECK_EQ_INT(schedule_take_due(&s, 100, ids, 4), 1);
	schedule_set_in_flight(&s, schedule_find(&s, x.msg_id), true);
	schedule_set_next(&s, schedule_find(&s, x.msg_id), 5000);
	CHECK(!schedule_add(&s, &g));
	CHECK_EQ_INT(schedule_take_due(&s, 100, ids, 4), 1);
	CHECK(!schedule_park(&s, schedule_find(&s, g.msg_id)));
	/* The green one is parked: an ordinary one gives way to it. */
	CHECK(!schedule_add(&s, &o));
	CHECK_EQ_INT(schedule_take_due(&s, 100, ids, 4), 1);
	CHECK(schedule_parked_ahead(&s, schedule_find(&s, o.msg_id)));
	CHECK(!schedule_park(&s, schedule_find(&s, o.msg_id)));
	CHECK_EQ_INT(schedule_take_due(&s, 100, ids, 4), 1);
	CHECK(!memcmp(ids[0], g.msg_id, 16));
	/* Only the ordinary one is parked now: the green one goes. */
	CHECK(!schedule_parked_ahead(&s, schedule_find(&s, g.msg_id)));
	CHECK(!schedule_add(&s, &u));
	CHECK_EQ_INT(schedule_take_due(&s, 100, ids, 4), 1);
	CHECK(!schedule_parked_ahead(&s, schedule_find(&s, u.msg_id)));
	CHECK_EQ_INT(schedule_parked(&s), 1);
	schedule_free(&s);
}

static void test_backoff(void)
{
	/* Doubling from the first wait up to the cap, each in [d/2, d). */
	uint64_t d = 1000;

	for (uint32_t a = 1; a <= 12; a++) {
		uint64_t lo = schedule_backoff(1000, 60000, a, 0);
		uint64_t hi = schedule_backoff(1000, 60000, a, UINT32_MAX - 1);
		CHECK_EQ_INT(lo, d / 2);
		CHECK(hi >= d / 2 && hi < d);
		d = d * 2 > 60000 ? 60000 : d * 2;
	}
	CHECK_EQ_INT(schedule_backoff(1000, 60000, 1000, 0), 30000);
	CHECK_EQ_INT(schedule_backoff(1, 1, 3, 99), 0);
}

int main(void)
{
	test_order();
	test_replace_and_flight();
	test_large();
	test_park();
	test_parked_ahead();
	test_backoff();
	return test_finish("schedule");
}
