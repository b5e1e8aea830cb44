/* schedule.c: see schedule.h.
 *
 * Each entry lives in a slot and in at most one binary heap: `wait`
 * ordered by next_ms, `ready` (due, not yet taken) ordered by priority,
 * age and msg_id, or its peer's `parked` heap (due, waiting for room in
 * flight), in the ready order. An entry taken by schedule_take_due is in
 * none until it is placed again. The index (open addressing, linear
 * probing, tombstones) finds a slot by msg_id. Writes only schedule_t. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "schedule.h"

/* IN_PARKED + f: the parked heap of flight[f]. */
enum { IN_NONE = 0, IN_WAIT = 1, IN_READY = 2, IN_PARKED = 3 };
#define TOMB UINT32_MAX

struct sched_slot {
	sched_t e;
	bool used;
	uint8_t heap;   /* IN_*, or IN_PARKED + its peer's flight index */
	size_t pos;     /* position in its heap */
};

void schedule_init(schedule_t *s)
{
	memset(s, 0, sizeof(*s));
}

void schedule_free(schedule_t *s)
{
	for (size_t f = 0; f < s->n_flight; f++)
		free(s->flight[f].parked);
	free(s->slots);
	free(s->free_list);
	free(s->wait);
	free(s->ready);
	free(s->index);
	schedule_init(s);
}

/* ---- the index ------------------------------------------------------------ */

static size_t hash_id(const uint8_t id[16])
{
	uint64_t h;

	/* Message ids are random (envelope.c): their bytes are the hash. */
	memcpy(&h, id, 8);
	return (size_t)(h ^ (h >> 29));
}

static uint32_t *index_lookup(const schedule_t *s, const uint8_t id[16])
{
	size_t mask, i;

	if (!s->cap_index)
		return NULL;
	mask = s->cap_index - 1;
	for (i = hash_id(id) & mask;; i = (i + 1) & mask) {
		uint32_t v = s->index[i];
		if (!v)
			return NULL;
		if (v != TOMB && !memcmp(s->slots[v - 1].e.msg_id, id, 16))
			return &s->index[i];
	}
}

static void index_insert_raw(uint32_t *index, size_t cap, const uint8_t id[16],
			     uint32_t slot)
{
	size_t mask = cap - 1, i;

	for (i = hash_id(id) & mask; index[i] && index[i] != TOMB;
	     i = (i + 1) & mask)
		;
	index[i] = slot + 1;
}

static int index_insert(schedule_t *s, uint32_t slot)
{
	if ((s->n_index + s->n_tomb + 1) * 10 >= s->cap_index * 7) {
		size_t cap = s->cap_index ? s->cap_index : 64;
		uint32_t *ni;

		while ((s->n_index + 1) * 10 >= cap * 5)
			cap *= 2;
		ni = calloc(cap, sizeof(*ni));
		if (!ni)
			return -ENOMEM;
		for (size_t i = 0; i < s->cap_index; i++)
			if (s->index[i] && s->index[i] != TOMB)
				index_insert_raw(ni, cap,
						 s->slots[s->index[i] - 1].e.msg_id,
						 s->index[i] - 1);
		free(s->index);
		s->index = ni;
		s->cap_index = cap;
		s->n_tomb = 0;
	}
	index_insert_raw(s->index, s->cap_index, s->slots[slot].e.msg_id, slot);
	s->n_index++;
	return 0;
}

/* ---- the heaps ------------------------------------------------------------ */

static bool before(const schedule_t *s, uint8_t heap, uint32_t a, uint32_t b)
{
	const sched_t *x = &s->slots[a].e, *y = &s->slots[b].e;

	if (heap == IN_WAIT)
		return x->next_ms != y->next_ms ? x->next_ms < y->next_ms
						: memcmp(x->msg_id, y->msg_id, 16) < 0;
	if (x->priority != y->priority)
		return x->priority > y->priority;
	if (x->created_ms != y->created_ms)
		return x->created_ms < y->created_ms;
	return memcmp(x->msg_id, y->msg_id, 16) < 0;
}

static uint32_t *heap_of(schedule_t *s, uint8_t heap, size_t **ret_n)
{
	if (heap >= IN_PARKED) {
		*ret_n = &s->flight[heap - IN_PARKED].n_parked;
		return s->flight[heap - IN_PARKED].parked;
	}
	*ret_n = heap == IN_WAIT ? &s->n_wait : &s->n_ready;
	return heap == IN_WAIT ? s->wait : s->ready;
}

static void heap_set(schedule_t *s, uint32_t *h, size_t i, uint32_t slot)
{
	h[i] = slot;
	s->slots[slot].pos = i;
}

static void sift_up(schedule_t *s, uint8_t heap, size_t i)
{
	size_t *n;
	uint32_t *h = heap_of(s, heap, &n), v = h[i];

	while (i > 0 && before(s, heap, v, h[(i - 1) / 2])) {
		heap_set(s, h, i, h[(i - 1) / 2]);
		i = (i - 1) / 2;
	}
	heap_set(s, h, i, v);
}

static void sift_down(schedule_t *s, uint8_t heap, size_t i)
{
	size_t *n;
	uint32_t *h = heap_of(s, heap, &n), v = h[i];

	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= *n)
			break;
		if (c + 1 < *n && before(s, heap, h[c + 1], h[c]))
			c++;
		if (!before(s, heap, h[c], v))
			break;
		heap_set(s, h, i, h[c]);
		i = c;
	}
	heap_set(s, h, i, v);
}

static void heap_push(schedule_t *s, uint8_t heap, uint32_t slot)
{
	size_t *n;
	uint32_t *h = heap_of(s, heap, &n);

	s->slots[slot].heap = heap;
	h[*n] = slot;
	s->slots[slot].pos = (*n)++;
	sift_up(s, heap, *n - 1);
}

static void heap_unlink(schedule_t *s, uint32_t slot)
{
	uint8_t heap = s->slots[slot].heap;
	size_t *n, i = s->slots[slot].pos;
	uint32_t *h;

	if (heap == IN_NONE)
		return;
	h = heap_of(s, heap, &n);
	s->slots[slot].heap = IN_NONE;
	if (i == --*n)
		return;
	{
		uint32_t moved = h[*n];
		heap_set(s, h, i, moved);
		sift_up(s, heap, i);
		sift_down(s, heap, s->slots[moved].pos);
	}
}

static uint32_t slot_of(const schedule_t *s, const sched_t *e);

/* ---- in-flight counts ------------------------------------------------------ */

static void flight_add(schedule_t *s, const char *to, int d)
{
	size_t f;

	for (f = 0; f < s->n_flight && strcmp(s->flight[f].to, to); f++)
		;
	if (f == s->n_flight) {
		if (d < 0 || f == 64)
			return;
		memset(&s->flight[f], 0, sizeof(s->flight[f]));
		memcpy(s->flight[f].to, to, strnlen(to, 7));
		s->n_flight++;
	}
	if (d < 0 && s->flight[f].n)
		s->flight[f].n--;
	else if (d > 0)
		s->flight[f].n++;
	/* Room in flight: the first parked message is due again. */
	if (d < 0 && s->flight[f].n_parked) {
		uint32_t slot = s->flight[f].parked[0];
		heap_unlink(s, slot);
		heap_push(s, IN_READY, slot);
	}
}

int schedule_park(schedule_t *s, sched_t *e)
{
	uint32_t slot = slot_of(s, e);
	sched_flight_t *fl;
	size_t f;

	for (f = 0; f < s->n_flight && strcmp(s->flight[f].to, e->to); f++)
		;
	if (f == s->n_flight)
		return -ENOMEM; /* no message in flight to wait for */
	fl = &s->flight[f];
	if (fl->n_parked == fl->cap_parked) {
		size_t cap = fl->cap_parked ? 2 * fl->cap_parked : 256;
		uint32_t *np = realloc(fl->parked, cap * sizeof(*np));
		if (!np)
			return -ENOMEM;
		fl->parked = np;
		fl->cap_parked = cap;
	}
	heap_unlink(s, slot);
	heap_push(s, (uint8_t)(IN_PARKED + f), slot);
	return 0;
}

bool schedule_parked_ahead(schedule_t *s, const sched_t *e)
{
	uint32_t slot = slot_of(s, e), top;
	size_t f;

	for (f = 0; f < s->n_flight && strcmp(s->flight[f].to, e->to); f++)
		;
	if (f == s->n_flight || !s->flight[f].n_parked)
		return false;
	top = s->flight[f].parked[0];
	if (!before(s, IN_READY, top, slot))
		return false;
	heap_unlink(s, top);
	heap_push(s, IN_READY, top);
	return true;
}

size_t schedule_parked(const schedule_t *s)
{
	size_t t = 0;

	for (size_t f = 0; f < s->n_flight; f++)
		t += s->flight[f].n_parked;
	return t;
}

size_t schedule_in_flight(const schedule_t *s, const char *peer)
{
	size_t t = 0;

	for (size_t f = 0; f < s->n_flight; f++)
		if (!peer || !strcmp(s->flight[f].to, peer))
			t += s->flight[f].n;
	return t;
}

void schedule_set_in_flight(schedule_t *s, sched_t *e, bool in_flight)
{
	if (e->in_flight != in_flight)
		flight_add(s, e->to, in_flight ? 1 : -1);
	e->in_flight = in_flight;
}

/* ---- entries --------------------------------------------------------------- */

static uint32_t slot_of(const schedule_t *s, const sched_t *e)
{
	return (uint32_t)((const struct sched_slot *)(const void *)e - s->slots);
}

sched_t *schedule_find(schedule_t *s, const uint8_t msg_id[16])
{
	uint32_t *p = index_lookup(s, msg_id);

	return p ? &s->slots[*p - 1].e : NULL;
}

static int grow(schedule_t *s)
{
	size_t cap = s->cap_slots ? s->cap_slots * 2 : 64;
	struct sched_slot *ns;
	uint32_t *w, *r, *fl;

	if (cap >= UINT32_MAX / 2)
		return -ENOMEM;
	ns = realloc(s->slots, cap * sizeof(*ns));
	if (!ns)
		return -ENOMEM;
	s->slots = ns;
	w = realloc(s->wait, cap * sizeof(*w));
	if (w)
		s->wait = w;
	r = realloc(s->ready, cap * sizeof(*r));
	if (r)
		s->ready = r;
	fl = realloc(s->free_list, cap * sizeof(*fl));
	if (fl)
		s->free_list = fl;
	if (!w || !r || !fl)
		return -ENOMEM;
	s->cap_slots = cap;
	s->cap_heap = cap;
	return 0;
}

int schedule_add(schedule_t *s, const sched_t *e)
{
	sched_t *old = schedule_find(s, e->msg_id);
	uint32_t slot;

	if (old) {
		slot = slot_of(s, old);
		heap_unlink(s, slot);
		if (old->in_flight)
			flight_add(s, old->to, -1);
		*old = *e;
		if (e->in_flight)
			flight_add(s, e->to, 1);
		heap_push(s, IN_WAIT, slot);
		return 0;
	}
	if (!s->n_free && s->n_slots == s->cap_slots && grow(s))
		return -ENOMEM;
	slot = s->n_free ? s->free_list[--s->n_free] : (uint32_t)s->n_slots++;
	memset(&s->slots[slot], 0, sizeof(s->slots[slot]));
	s->slots[slot].e = *e;
	s->slots[slot].used = true;
	if (index_insert(s, slot)) {
		s->slots[slot].used = false;
		s->free_list[s->n_free++] = slot;
		return -ENOMEM;
	}
	s->n_used++;
	if (e->in_flight)
		flight_add(s, e->to, 1);
	heap_push(s, IN_WAIT, slot);
	return 0;
}

void schedule_remove(schedule_t *s, const uint8_t msg_id[16])
{
	uint32_t *p = index_lookup(s, msg_id), slot;

	if (!p)
		return;
	slot = *p - 1;
	*p = TOMB;
	s->n_index--;
	s->n_tomb++;
	heap_unlink(s, slot);
	if (s->slots[slot].e.in_flight)
		flight_add(s, s->slots[slot].e.to, -1);
	s->slots[slot].used = false;
	s->free_list[s->n_free++] = slot;
	s->n_used--;
}

void schedule_set_next(schedule_t *s, sched_t *e, uint64_t next_ms)
{
	uint32_t slot = slot_of(s, e);

	heap_unlink(s, slot);
	e->next_ms = next_ms;
	heap_push(s, IN_WAIT, slot);
}

size_t schedule_count(const schedule_t *s)
{
	return s->n_used;
}

uint64_t schedule_next_due(const schedule_t *s, uint64_t now)
{
	if (s->n_ready)
		return 0;
	if (!s->n_wait)
		return UINT64_MAX;
	return s->slots[s->wait[0]].e.next_ms <= now
		? 0 : s->slots[s->wait[0]].e.next_ms;
}

size_t schedule_take_due(schedule_t *s, uint64_t now, uint8_t (*ret_ids)[16],
			 size_t max)
{
	size_t n = 0;

	while (s->n_wait && s->slots[s->wait[0]].e.next_ms <= now) {
		uint32_t slot = s->wait[0];
		heap_unlink(s, slot);
		heap_push(s, IN_READY, slot);
	}
	while (n < max && s->n_ready) {
		uint32_t slot = s->ready[0];
		heap_unlink(s, slot);
		memcpy(ret_ids[n++], s->slots[slot].e.msg_id, 16);
	}
	return n;
}

void schedule_put_back(schedule_t *s, const uint8_t (*ids)[16], size_t n)
{
	for (size_t i = 0; i < n; i++) {
		sched_t *e = schedule_find(s, ids[i]);
		if (e && s->slots[slot_of(s, e)].heap == IN_NONE)
			heap_push(s, IN_READY, slot_of(s, e));
	}
}

void schedule_due_now(schedule_t *s, const char *peer, uint64_t now)
{
	for (size_t i = 0; i < s->n_slots; i++)
		if (s->slots[i].used && !strcmp(s->slots[i].e.to, peer) &&
		    s->slots[i].heap == IN_WAIT)
			schedule_set_next(s, &s->slots[i].e, now);
}

void schedule_foreach(schedule_t *s, bool (*fn)(void *ctx, sched_t *e),
		      void *ctx)
{
	for (size_t i = 0; i < s->n_slots; i++)
		if (s->slots[i].used && fn(ctx, &s->slots[i].e))
			return;
}

uint64_t schedule_backoff(uint64_t first_ms, uint64_t cap_ms, uint32_t attempts,
			  uint32_t rnd)
{
	uint64_t d = first_ms;

	for (uint32_t i = 1; i < attempts && d < cap_ms; i++)
		d *= 2;
	if (d > cap_ms)
		d = cap_ms;
	/* Jitter in [d/2, d): peers that went down together do not come
	 * back to a storm of simultaneous resends. */
	return d / 2 + (d > 1 ? rnd % (d / 2) : 0);
}
