/* test-prune.c: when a dedup entry may go (prune_seen_due): never while a
 * replay of its message could pass the replay window, also for the
 * records of an older release that carry no created_at_ms and age from
 * the time they were received. */
#include "../proto/testutil.h"
#include "prune.h"

int main(void)
{
	const uint64_t life = 60000, skew = 300000, t0 = 1700000000000ULL;
	Referral__Store__V1__SeenRecord sr =
		REFERRAL__STORE__V1__SEEN_RECORD__INIT;

	/* A message created at t0, received a little later. */
	sr.created_at_ms = t0;
	sr.received_at_ms = t0 + 1000;
	CHECK(!prune_seen_due(&sr, t0, life, skew));
	/* Past its lifetime it is STALE already, but kept for the margin. */
	CHECK(!prune_seen_due(&sr, t0 + life + 1, life, skew));
	CHECK(!prune_seen_due(&sr, t0 + life + skew, life, skew));
	CHECK(prune_seen_due(&sr, t0 + life + skew + 1, life, skew));
	/* A sender whose clock ran ahead: the header time counts. */
	sr.created_at_ms = t0 + skew;
	sr.received_at_ms = t0;
	CHECK(!prune_seen_due(&sr, t0 + life + skew + 1, life, skew));
	CHECK(prune_seen_due(&sr, t0 + life + 2 * skew + 1, life, skew));

	/* An older release's record: no created_at_ms. The message may have
	 * been created up to skew after it was received, so it ages from
	 * there: never earlier than a record with the time would. */
	sr.created_at_ms = 0;
	sr.received_at_ms = t0;
	CHECK(!prune_seen_due(&sr, t0 + life + skew + 1, life, skew));
	CHECK(!prune_seen_due(&sr, t0 + life + 2 * skew, life, skew));
	CHECK(prune_seen_due(&sr, t0 + life + 2 * skew + 1, life, skew));
	/* No skew allowed: the received time bounds the created time. */
	CHECK(prune_seen_due(&sr, t0 + life + 1, life, 0));
	CHECK(!prune_seen_due(&sr, t0 + life, life, 0));
	return test_finish("prune");
}
