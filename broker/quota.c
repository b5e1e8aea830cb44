/* quota.c: see quota.h. Writes quota_over. The counts live in the meta
 * table under "quota/<code>" (three 8-byte big-endian numbers: held,
 * held bytes, stored bytes); "quota_counted" marks a store counted. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "quota.h"
#include "util.h"

#define META_QUOTA "quota/"
#define META_COUNTED "quota_counted"

static void meta_key(const char *peer, char *key, size_t *klen)
{
	*klen = (size_t)snprintf(key, 32, META_QUOTA "%.8s", peer);
}

int quota_get(node_t *n, const char *peer, quota_use_t *ret)
{
	char key[32];
	size_t klen, vl;
	uint8_t *v;
	int r;

	memset(ret, 0, sizeof(*ret));
	meta_key(peer, key, &klen);
	r = store_get(n->store, STORE_META, key, klen, &v, &vl);
	if (r == REF_E_NOT_FOUND)
		return 0;
	if (r)
		return r;
	if (vl == 24) {
		ret->held = util_get_be64(v);
		ret->held_bytes = util_get_be64(v + 8);
		ret->stored = util_get_be64(v + 16);
	}
	free(v);
	return vl == 24 ? 0 : REF_E_CORRUPT;
}

static int quota_put(node_t *n, const char *peer, const quota_use_t *u)
{
	char key[32];
	uint8_t v[24];
	size_t klen;

	meta_key(peer, key, &klen);
	util_put_be64(v, u->held);
	util_put_be64(v + 8, u->held_bytes);
	util_put_be64(v + 16, u->stored);
	return store_put(n->store, STORE_META, key, klen, v, sizeof(v));
}

uint64_t quota_limit(const node_t *n)
{
	return ((uint64_t)n->cfg.map_max_mb << 20) / 100 *
	       (uint64_t)n->cfg.peer_quota_pct;
}

static uint64_t warn_at(const node_t *n)
{
	return quota_limit(n) / 100 * (uint64_t)n->cfg.quota_warn_pct;
}

static uint64_t plus(uint64_t v, int64_t d)
{
	if (d < 0 && (uint64_t)-d > v)
		return 0; /* never below 0, whatever was deleted before */
	return v + (uint64_t)d;
}

static void over_forget(node_t *n, const char *peer)
{
	for (size_t i = 0; i < n->n_quota_over; i++)
		if (!strcmp(n->quota_over[i], peer)) {
			memmove(n->quota_over[i], n->quota_over[i + 1],
				(n->n_quota_over - i - 1) * 8);
			n->n_quota_over--;
			return;
		}
}

int quota_add(node_t *n, const char *peer, int64_t d_held,
	      int64_t d_held_bytes, int64_t d_stored)
{
	quota_use_t u;
	uint64_t before;
	int r = quota_get(n, peer, &u);

	if (r)
		return r;
	before = u.stored;
	u.held = plus(u.held, d_held);
	u.held_bytes = plus(u.held_bytes, d_held_bytes);
	u.stored = plus(u.stored, d_stored);
	r = quota_put(n, peer, &u);
	/* Said once, when the peer crosses the line (a turn that aborts
	 * may say it again: the next crossing is then the real one). */
	if (!r && before < warn_at(n) && u.stored >= warn_at(n))
		log_msg(LOG_WARN, "quota", "peer=%s store quota nearly full: "
			"%llu of %llu bytes ([store] peer_quota_pct = %lld, "
			"quota_warn_pct = %lld)", peer,
			(unsigned long long)u.stored,
			(unsigned long long)quota_limit(n),
			(long long)n->cfg.peer_quota_pct,
			(long long)n->cfg.quota_warn_pct);
	if (!r && u.stored < quota_limit(n))
		over_forget(n, peer);
	return r;
}

bool quota_refuses(node_t *n, const char *peer, size_t len)
{
	quota_use_t u;
	size_t i;

	if (quota_get(n, peer, &u))
		return false; /* the write that follows reports the store */
	if (u.stored + len <= quota_limit(n))
		return false;
	for (i = 0; i < n->n_quota_over && strcmp(n->quota_over[i], peer); i++)
		;
	if (i == n->n_quota_over) {
		log_msg(LOG_WARN, "quota", "peer=%s is over its store quota "
			"(%llu of %llu bytes kept, [store] peer_quota_pct = "
			"%lld): its messages get no receipt and it resends "
			"later; other peers are served", peer,
			(unsigned long long)u.stored,
			(unsigned long long)quota_limit(n),
			(long long)n->cfg.peer_quota_pct);
		if (n->n_quota_over < 64)
			snprintf(n->quota_over[n->n_quota_over++], 8, "%s", peer);
	}
	return true;
}

/* ---- the first count ----------------------------------------------------- */

struct count {
	char peer[256][8];
	quota_use_t use[256];
	size_t n;
};

static quota_use_t *count_of(struct count *c, const char *peer)
{
	size_t i;

	for (i = 0; i < c->n && strcmp(c->peer[i], peer); i++)
		;
	if (i == c->n) {
		if (c->n == 256)
			return NULL;
		snprintf(c->peer[c->n++], 8, "%s", peer);
	}
	return &c->use[i];
}

static int count_inbox(void *ctx, const uint8_t *k, size_t kl,
		       const uint8_t *v, size_t vl)
{
	Referral__Store__V1__InboxRecord *ib =
		referral__store__v1__inbox_record__unpack(NULL, vl, v);
	quota_use_t *u;

	(void)k, (void)kl;
	if (!ib)
		return 0; /* store_check reports it; it costs nobody */
	u = count_of(ctx, ib->from_node);
	if (u)
		u->stored += ib->envelope.len;
	referral__store__v1__inbox_record__free_unpacked(ib, NULL);
	return 0;
}

int quota_start(node_t *n, bool *ret_fresh)
{
	struct count *c;
	uint8_t *v;
	size_t vl;
	int r;

	r = store_get(n->store, STORE_META, META_COUNTED, strlen(META_COUNTED),
		      &v, &vl);
	*ret_fresh = false;
	if (!r) {
		free(v);
		return 0;
	}
	if (r != REF_E_NOT_FOUND)
		return r;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	/* The held table is counted by held_start, which adds to these. */
	r = store_foreach(n->store, STORE_INBOX, count_inbox, c);
	for (size_t i = 0; !r && i < c->n; i++)
		r = quota_put(n, c->peer[i], &c->use[i]);
	if (!r)
		r = store_put(n->store, STORE_META, META_COUNTED,
			      strlen(META_COUNTED), "1", 1);
	if (!r)
		log_msg(LOG_INFO, "quota", "counted what the store holds from "
			"%zu peers", c->n);
	*ret_fresh = !r;
	free(c);
	return r;
}

/* ---- what status shows --------------------------------------------------- */

struct show {
	node_t *n;
	json_t *arr;
	size_t nearly;
};

static int show_one(void *ctx, const uint8_t *k, size_t kl, const uint8_t *v,
		    size_t vl)
{
	struct show *s = ctx;
	char peer[8];
	uint64_t stored, limit = quota_limit(s->n);
	size_t i;

	if (kl <= strlen(META_QUOTA) || kl - strlen(META_QUOTA) >= sizeof(peer) ||
	    memcmp(k, META_QUOTA, strlen(META_QUOTA)))
		return kl >= strlen(META_QUOTA) &&
		       memcmp(k, META_QUOTA, strlen(META_QUOTA)) > 0
		       ? STORE_STOP : 0;
	if (vl != 24)
		return 0;
	memcpy(peer, k + strlen(META_QUOTA), kl - strlen(META_QUOTA));
	peer[kl - strlen(META_QUOTA)] = '\0';
	stored = util_get_be64(v + 16);
	if (stored >= warn_at(s->n))
		s->nearly++;
	for (i = 0; i < s->n->n_quota_over &&
		    strcmp(s->n->quota_over[i], peer); i++)
		;
	json_array_append_new(s->arr, json_pack(
		"{s:s, s:I, s:I, s:I, s:I, s:b, s:b}", "peer", peer,
		"stored_bytes", (json_int_t)stored, "quota_bytes",
		(json_int_t)limit, "held", (json_int_t)util_get_be64(v),
		"held_bytes", (json_int_t)util_get_be64(v + 8), "nearly_full",
		stored >= warn_at(s->n), "over", i < s->n->n_quota_over));
	return 0;
}

json_t *quota_json(node_t *n, size_t *ret_nearly)
{
	struct show s = { n, json_array(), 0 };

	store_foreach_from(n->store, STORE_META, META_QUOTA,
			   strlen(META_QUOTA), show_one, &s);
	if (ret_nearly)
		*ret_nearly = s.nearly;
	return s.arr;
}
