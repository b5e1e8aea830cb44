/* prune.c: see prune.h. Writes prune_from, prune_from_set, prune_next_ms,
 * prune_passes, prune_deleted and prune_horizon_ms. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "prune.h"
#include "util.h"

#define META_HORIZON "seen_pruned_through"

int prune_open(node_t *n)
{
	uint8_t *v;
	size_t vl;
	int r = store_get(n->store, STORE_META, META_HORIZON,
			  strlen(META_HORIZON), &v, &vl);

	n->prune_horizon_ms = 0;
	if (r == REF_E_NOT_FOUND)
		return 0;
	if (r)
		return r;
	for (size_t i = 0; i < vl && i < 8; i++)
		n->prune_horizon_ms = n->prune_horizon_ms << 8 | v[i];
	free(v);
	return 0;
}

void prune_policy(node_t *n, envelope_policy_t *pol)
{
	uint64_t h = n->prune_horizon_ms;

	/* created + lifetime < now exactly when created <= h. */
	if (!h)
		return;
	if (pol->now_ms <= h)
		pol->lifetime_ms = 0;
	else if (pol->now_ms - h - 1 < pol->lifetime_ms)
		pol->lifetime_ms = pol->now_ms - h - 1;
}

/* The time a record ages from (see prune.h). */
static uint64_t seen_base(const Referral__Store__V1__SeenRecord *sr,
			  uint64_t skew_ms)
{
	return sr->created_at_ms ? sr->created_at_ms
				 : sr->received_at_ms + skew_ms;
}

bool prune_seen_due(const Referral__Store__V1__SeenRecord *sr, uint64_t now_ms,
		    uint64_t lifetime_ms, uint64_t skew_ms)
{
	/* An old release's record has only the time it was received: the
	 * message was created at most skew_ms after that. */
	return seen_base(sr, skew_ms) + lifetime_ms + skew_ms < now_ms;
}

struct walk {
	node_t *n;
	uint64_t now;
	size_t looked, max_look, max_del;
	uint8_t (*del)[16];
	size_t n_del;
	uint8_t last[16];
	bool any, stopped;
	uint64_t newest;   /* the newest base among those to delete */
};

static int look(void *ctx, const uint8_t *k, size_t kl, const uint8_t *v,
		size_t vl)
{
	struct walk *w = ctx;
	Referral__Store__V1__SeenRecord *sr;

	if (w->looked >= w->max_look || w->n_del >= w->max_del) {
		w->stopped = true;
		return STORE_STOP;
	}
	/* Where the last step stopped: already looked at. */
	if (kl == 16 && w->n->prune_from_set && !w->any &&
	    !memcmp(k, w->n->prune_from, 16))
		return 0;
	w->looked++;
	if (kl != 16)
		return 0;
	memcpy(w->last, k, 16);
	w->any = true;
	sr = referral__store__v1__seen_record__unpack(NULL, vl, v);
	/* A record that does not parse is kept: store check reports it. */
	if (sr && prune_seen_due(sr, w->now,
				 (uint64_t)w->n->cfg.message_lifetime_ms,
				 (uint64_t)w->n->cfg.future_skew_ms)) {
		uint64_t b = seen_base(sr, (uint64_t)w->n->cfg.future_skew_ms);
		memcpy(w->del[w->n_del++], k, 16);
		if (b > w->newest)
			w->newest = b;
	}
	if (sr)
		referral__store__v1__seen_record__free_unpacked(sr, NULL);
	return 0;
}

void prune_step(node_t *n)
{
	size_t batch = (size_t)n->cfg.seen_prune_batch;
	struct walk w = { n, util_now_ms(), 0, 4 * batch, batch, NULL, 0,
			  { 0 }, false, false, 0 };
	uint64_t mono = util_mono_ms();
	turn_mark_t mark;
	bool pass_done;
	int r;

	if (mono < n->prune_next_ms)
		return;
	w.del = malloc(batch * sizeof(*w.del));
	if (!w.del)
		return;
	mark = turn_mark(&n->turn);
	r = store_event_begin(n->store);
	if (r) {
		free(w.del);
		n->prune_next_ms = mono + (uint64_t)n->cfg.deadline_check_ms;
		return;
	}
	if (n->prune_from_set)
		r = store_foreach_from(n->store, STORE_SEEN, n->prune_from, 16,
				       look, &w);
	else
		r = store_foreach(n->store, STORE_SEEN, look, &w);
	/* Stopped early (a full batch): the walk goes on next turn. */
	pass_done = !w.stopped;
	for (size_t i = 0; !r && i < w.n_del; i++)
		r = store_del(n->store, STORE_SEEN, w.del[i], 16);
	if (!r && w.newest > n->prune_horizon_ms) {
		uint8_t v[8];
		for (int i = 0; i < 8; i++)
			v[i] = (uint8_t)(w.newest >> (56 - 8 * i));
		r = store_put(n->store, STORE_META, META_HORIZON,
			      strlen(META_HORIZON), v, 8);
	}
	if (!r)
		r = store_event_commit(n->store);
	if (r) {
		store_event_abort(n->store);
		turn_rollback(&n->turn, mark);
		free(w.del);
		/* Tried again after a pause; nothing else depends on it. A
		 * full store is reported where it stops deliveries. */
		log_msg(r == REF_E_STORE_FULL ? LOG_DEBUG : LOG_WARN, "store", "dedup pruning paused: %s (%s)",
			ref_strerror(r), store_last_error(n->store));
		n->prune_next_ms = mono + (uint64_t)n->cfg.deadline_check_ms;
		return;
	}
	free(w.del);
	/* Ahead of the disk only if the turn then fails: that refuses no
	 * more than the replay window already does. */
	if (w.newest > n->prune_horizon_ms)
		n->prune_horizon_ms = w.newest;
	n->prune_deleted += w.n_del;
	if (pass_done) {
		n->prune_from_set = false;
		n->prune_passes++;
		n->prune_next_ms = mono + (uint64_t)n->cfg.deadline_check_ms;
	} else {
		memcpy(n->prune_from, w.last, 16);
		n->prune_from_set = w.any;
		n->prune_next_ms = 0;
	}
	if (w.n_del)
		log_msg(LOG_DEBUG, "store", "dedup pruned %zu message ids past "
			"the replay window", w.n_del);
}

static int count_one(void *ctx, const uint8_t *k, size_t kl,
		     const uint8_t *v, size_t vl)
{
	(void)k;
	(void)kl;
	(void)v;
	(void)vl;
	(*(uint64_t *)ctx)++;
	return 0;
}

json_t *prune_status(node_t *n)
{
	uint64_t held = 0;

	store_foreach(n->store, STORE_SEEN, count_one, &held);
	return json_pack("{s:I, s:I, s:I, s:I}", "seen", (json_int_t)held,
			 "pruned", (json_int_t)n->prune_deleted, "passes",
			 (json_int_t)n->prune_passes, "window_ms",
			 (json_int_t)(n->cfg.message_lifetime_ms +
				      n->cfg.future_skew_ms));
}
