/* test-dues.c: the deadline sweep's memory between checks (dues.c): a
 * whole sweep first, then only what was written, until the earliest
 * running clock comes due, a turn is undone, or too much was written. */
#include <stdlib.h>
#include <string.h>

#include "../proto/testutil.h"
#include "dues.h"

int main(void)
{
	node_t *n = calloc(1, sizeof(*n));
	char ids[16][48], id[48];
	size_t k;

	CHECK(n != NULL);
	if (!n)
		return 1;
	/* Nothing swept yet: the first check reads everything. */
	CHECK(dues_sweep_whole(n, 1000));
	dues_sweep_started(n);
	dues_touch(n, "350581-a"); /* written while the sweep walks */
	dues_seen(n, 5000);
	dues_sweep_done(n);
	CHECK(!dues_sweep_whole(n, 4999));
	CHECK(dues_sweep_whole(n, 5000)); /* the earliest clock is due */
	/* Written since, oldest first; a write right after the same
	 * referral's (its history, then its record) kept once. */
	dues_touch(n, "350581-a");
	dues_touch(n, "350581-b");
	dues_touch(n, "350581-b");
	dues_touch(n, "350581-a");
	CHECK_EQ_INT(dues_pending(n), 3);
	k = dues_take(n, ids, 2);
	CHECK_EQ_INT(k, 2);
	CHECK(!strcmp(ids[0], "350581-a") && !strcmp(ids[1], "350581-b"));
	k = dues_take(n, ids, 16);
	CHECK(k == 1 && !strcmp(ids[0], "350581-a"));
	CHECK_EQ_INT(dues_pending(n), 0);
	/* A referral read again with an earlier clock brings the sweep on. */
	dues_seen(n, 3000);
	CHECK(dues_sweep_whole(n, 3000) && !dues_sweep_whole(n, 2999));
	/* An undone turn: everything again, and the list starts afresh. */
	dues_forget(n);
	CHECK(dues_sweep_whole(n, 0));
	dues_sweep_started(n);
	dues_seen(n, UINT64_MAX);
	dues_sweep_done(n);
	CHECK(!dues_sweep_whole(n, UINT64_MAX - 1));
	/* Taken one at a time while more are written: none lost, in order. */
	for (int i = 0; i < 100; i++) {
		snprintf(id, sizeof(id), "350581-w%d", i);
		dues_touch(n, id);
	}
	{
		int next = 0, bad = 0;
		for (int i = 100; i < 300; i++) {
			if (dues_take(n, ids, 1) == 1) {
				snprintf(id, sizeof(id), "350581-w%d", next++);
				bad += strcmp(ids[0], id) != 0;
			}
			snprintf(id, sizeof(id), "350581-w%d", i);
			dues_touch(n, id);
		}
		while (dues_take(n, ids, 1) == 1) {
			snprintf(id, sizeof(id), "350581-w%d", next++);
			bad += strcmp(ids[0], id) != 0;
		}
		CHECK_EQ_INT(bad, 0);
		CHECK_EQ_INT(next, 300);
	}
	/* More written than the list keeps: a whole sweep instead. */
	for (int i = 0; i < 9000; i++) {
		snprintf(id, sizeof(id), "350581-%d", i);
		dues_touch(n, id);
	}
	CHECK(dues_sweep_whole(n, 0));
	CHECK_EQ_INT(dues_pending(n), 0);
	dues_free(n);
	free(n);
	return test_finish("dues");
}
