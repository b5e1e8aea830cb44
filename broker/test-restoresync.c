/* test-restoresync.c: how a RESTORE_SYNC answer is cut into parts
 * (restoresync_plan): an item too large for any part is in none (not in
 * the part before or after it), every other item is in exactly one part,
 * parts come in item order, and no part passes the limit. And when a
 * restored node takes archived messages back (restoresync_window): only
 * within a message lifetime of its announcement, on a real store. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../proto/testutil.h"
#include "restoresync.h"
#include "testnode.h"

#define LIMIT 10000

/* The bytes of items in part p (plus the first part's checkpoint). */
static size_t part_bytes(const size_t *sizes, const size_t *part_of,
			 size_t count, size_t p, size_t first)
{
	size_t used = 8 + (p ? 0 : first);

	for (size_t i = 0; i < count; i++)
		if (part_of[i] == p)
			used += sizes[i];
	return used;
}

/* An oversized item in the middle of a pending range: the items before
 * it go in a part without it, the ones after in the same or a later one. */
static void test_oversized_kept(void)
{
	size_t sizes[] = { 1000, 1000, LIMIT, 1000, LIMIT - 100, 500 };
	size_t n = sizeof(sizes) / sizeof(sizes[0]), part_of[6];
	size_t parts = restoresync_plan(sizes, n, 0, LIMIT, part_of);

	CHECK(part_of[2] == RESTORESYNC_KEPT);
	CHECK(part_of[4] == RESTORESYNC_KEPT);
	CHECK_EQ_INT(parts, 1);
	CHECK_EQ_INT(part_of[0], 0);
	CHECK_EQ_INT(part_of[1], 0);
	CHECK_EQ_INT(part_of[3], 0);
	CHECK_EQ_INT(part_of[5], 0);
}

/* Random sizes: each item in one part or kept, parts in order, none over
 * the limit, none empty (but the checkpoint's). */
static void test_random(void)
{
	size_t sizes[500], part_of[500];

	srand(7);
	for (int round = 0; round < 200; round++) {
		size_t n = (size_t)(rand() % 500), first = (size_t)(rand() % 3) * 300;
		size_t parts, last = 0;

		for (size_t i = 0; i < n; i++)
			sizes[i] = rand() % 10 == 0
				? LIMIT - RESTORESYNC_OVERHEAD + 1 +
					  (size_t)(rand() % 5000)
				: 20 + (size_t)(rand() % 4000);
		parts = restoresync_plan(sizes, n, first, LIMIT, part_of);
		for (size_t i = 0; i < n; i++) {
			bool big = sizes[i] + RESTORESYNC_OVERHEAD > LIMIT;
			CHECK(big == (part_of[i] == RESTORESYNC_KEPT));
			if (big)
				continue;
			CHECK(part_of[i] < parts);
			CHECK(part_of[i] >= last);
			last = part_of[i];
		}
		for (size_t p = 0; p < parts; p++) {
			size_t b = part_bytes(sizes, part_of, n, p, first);
			CHECK(b <= LIMIT || (p == 0 && b == 8 + first));
			CHECK(b > 8 + (p ? 0 : first) || (p == 0 && first));
		}
		if (!first) {
			bool any = false;
			for (size_t i = 0; i < n; i++)
				any |= part_of[i] != RESTORESYNC_KEPT;
			CHECK(any == (parts > 0));
		}
	}
}

static void put_point(node_t *n, const char *text)
{
	CHECK(!store_put(n->store, STORE_META, RESTORESYNC_META_POINT,
			 strlen(RESTORESYNC_META_POINT), text, strlen(text)));
}

static void test_window(void)
{
	testnode_t t;
	uint64_t life, at = 1800000000000ULL;
	char text[64];

	if (testnode_open(&t, 2 << 20)) {
		CHECK(!"cannot set up the test node");
		return;
	}
	life = (uint64_t)t.n->cfg.message_lifetime_ms;
	CHECK(!turn_begin(&t.n->turn, t.n->store));
	CHECK(!restoresync_window(t.n, at)); /* no restore announced */
	snprintf(text, sizeof(text), "5 1000 %llu", (unsigned long long)at);
	put_point(t.n, text);
	CHECK(restoresync_window(t.n, at));
	CHECK(restoresync_window(t.n, at + life));
	CHECK(!restoresync_window(t.n, at + life + 1));
	/* An older release's mark has no announcement time: no window. */
	put_point(t.n, "5 1000");
	CHECK(!restoresync_window(t.n, at));
	put_point(t.n, "0 1000 1800000000000");
	CHECK(!restoresync_window(t.n, at));
	turn_abort(&t.n->turn, t.n->store);
	testnode_close(&t);
}

int main(void)
{
	test_window();
	test_oversized_kept();
	test_random();
	return test_finish("restoresync");
}
