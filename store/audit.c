/* audit.c: see audit.h. Keys are big-endian sequence numbers, so LMDB's key
 * order is the chain order; the head (last seq and its hash) is kept in
 * meta and moves in the same transaction as the record. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "errors.h"
#include "util.h"

#define HEAD_KEY "audit_head"

static void seq_key(uint64_t seq, uint8_t k[8])
{
	for (int i = 0; i < 8; i++)
		k[i] = (uint8_t)(seq >> (56 - 8 * i));
}

static int head(store_t *s, uint64_t *ret_seq, uint8_t ret_hash[32])
{
	uint8_t *v;
	size_t n;
	int r = store_get(s, STORE_META, HEAD_KEY, strlen(HEAD_KEY), &v, &n);

	if (r == REF_E_NOT_FOUND) {
		*ret_seq = 0;
		memset(ret_hash, 0, 32);
		return 0;
	}
	if (r)
		return r;
	if (n != 40) {
		free(v);
		return REF_E_CORRUPT;
	}
	*ret_seq = 0;
	for (int i = 0; i < 8; i++)
		*ret_seq = *ret_seq << 8 | v[i];
	memcpy(ret_hash, v + 8, 32);
	free(v);
	return 0;
}

int audit_head(store_t *s, uint64_t *ret_seq, uint8_t ret_hash[32])
{
	return head(s, ret_seq, ret_hash);
}

int audit_hash_at(store_t *s, uint64_t seq, uint8_t ret_hash[32])
{
	uint8_t key[8], *v;
	size_t vl;
	int r;

	seq_key(seq, key);
	r = store_get(s, STORE_AUDIT, key, 8, &v, &vl);
	if (r)
		return r;
	util_sha256(v, vl, ret_hash);
	free(v);
	return 0;
}

int audit_append(store_t *s, const audit_event_t *e, uint64_t *ret_seq)
{
	Referral__Store__V1__AuditRecord rec =
		REFERRAL__STORE__V1__AUDIT_RECORD__INIT;
	uint8_t prev[32], key[8], hv[40], *buf;
	uint64_t seq;
	size_t n;
	int r;

	r = head(s, &seq, prev);
	if (r)
		return r;
	seq++;
	rec.seq = seq;
	rec.time_ms = e->time_ms ? e->time_ms : util_now_ms();
	rec.event = (char *)(e->event ? e->event : "");
	rec.referral_id = (char *)(e->referral_id ? e->referral_id : "");
	if (e->msg_id) {
		rec.msg_id.data = (uint8_t *)e->msg_id;
		rec.msg_id.len = 16;
	}
	rec.peer = (char *)(e->peer ? e->peer : "");
	rec.actor = (char *)(e->actor ? e->actor : "");
	rec.outcome = (char *)(e->outcome ? e->outcome : "");
	rec.detail = (char *)(e->detail ? e->detail : "");
	rec.prev_hash.data = prev;
	rec.prev_hash.len = 32;
	n = referral__store__v1__audit_record__get_packed_size(&rec);
	buf = malloc(n);
	if (!buf)
		return -ENOMEM;
	referral__store__v1__audit_record__pack(&rec, buf);
	seq_key(seq, key);
	r = store_put(s, STORE_AUDIT, key, 8, buf, n);
	if (!r) {
		memcpy(hv, key, 8);
		util_sha256(buf, n, hv + 8);
		r = store_put(s, STORE_META, HEAD_KEY, strlen(HEAD_KEY), hv, 40);
	}
	free(buf);
	if (!r && ret_seq)
		*ret_seq = seq;
	return r;
}

struct each {
	audit_fn fn;
	void *ctx;
};

static int each_one(void *ctx, const uint8_t *k, size_t kl, const uint8_t *v,
		    size_t vl)
{
	struct each *e = ctx;
	Referral__Store__V1__AuditRecord *rec;
	int r;

	(void)k;
	(void)kl;
	rec = referral__store__v1__audit_record__unpack(NULL, vl, v);
	if (!rec)
		return REF_E_CORRUPT;
	r = e->fn(e->ctx, rec);
	referral__store__v1__audit_record__free_unpacked(rec, NULL);
	return r;
}

int audit_foreach(store_t *s, audit_fn fn, void *ctx)
{
	struct each e = { fn, ctx };

	return store_foreach(s, STORE_AUDIT, each_one, &e);
}

struct chain {
	uint64_t expect_seq;
	uint8_t prev[32];
	uint64_t bad;
};

static int chain_one(void *ctx, const uint8_t *k, size_t kl, const uint8_t *v,
		     size_t vl)
{
	struct chain *c = ctx;
	Referral__Store__V1__AuditRecord *rec;
	uint8_t key[8];
	int ok;

	rec = referral__store__v1__audit_record__unpack(NULL, vl, v);
	seq_key(c->expect_seq, key);
	/* The record expected here is missing, or another stands in its
	 * place (deleted, reordered): this sequence number is the first bad. */
	ok = rec && kl == 8 && !memcmp(k, key, 8) && rec->seq == c->expect_seq;
	if (!ok) {
		c->bad = c->expect_seq;
		if (rec)
			referral__store__v1__audit_record__free_unpacked(rec, NULL);
		return REF_E_CORRUPT;
	}
	/* In place, but it does not link to its predecessor: the record
	 * before it was changed after this one was written. */
	ok = rec->prev_hash.len == 32 && !memcmp(rec->prev_hash.data, c->prev, 32);
	referral__store__v1__audit_record__free_unpacked(rec, NULL);
	if (!ok) {
		c->bad = c->expect_seq > 1 ? c->expect_seq - 1 : 1;
		return REF_E_CORRUPT;
	}
	util_sha256(v, vl, c->prev);
	c->expect_seq++;
	return 0;
}

int audit_verify(store_t *s, uint64_t *ret_bad_seq, uint64_t *ret_count)
{
	struct chain c = { .expect_seq = 1 };
	uint8_t hh[32];
	uint64_t hs;
	int r;

	r = store_foreach(s, STORE_AUDIT, chain_one, &c);
	if (r == REF_E_CORRUPT && !c.bad)
		c.bad = c.expect_seq; /* the record's own digest failed */
	if (!r) {
		/* A truncated chain still links: the head in meta says where
		 * it must end. */
		r = head(s, &hs, hh);
		if (!r && hs != c.expect_seq - 1) {
			/* Truncated: the head says more records were written. */
			c.bad = c.expect_seq;
			r = REF_E_CORRUPT;
		} else if (!r && memcmp(hh, c.prev, 32)) {
			/* The last record was changed after it was written. */
			c.bad = c.expect_seq - 1;
			r = REF_E_CORRUPT;
		}
	}
	*ret_bad_seq = c.bad;
	if (ret_count)
		*ret_count = c.expect_seq - 1;
	return r;
}
