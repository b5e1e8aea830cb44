/* held.c: see held.h. Writes next_held_sweep. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "held.h"
#include "log.h"
#include "quota.h"
#include "util.h"

/* A time as RFC 3339 in o (none for 0). */
static void put_time(json_t *o, const char *key, uint64_t ms)
{
	char ts[32];

	if (!ms)
		return;
	util_rfc3339(ms, ts);
	json_object_set_new(o, key, json_string(ts));
}

void held_key(const char *id, uint64_t seq, uint8_t *key, size_t *klen)
{
	size_t l = strnlen(id, HELD_KEY_MAX - 8);

	memcpy(key, id, l);
	for (int i = 0; i < 8; i++)
		key[l + i] = (uint8_t)(seq >> (56 - 8 * i));
	*klen = l + 8;
}

int held_read(const uint8_t *v, size_t vl, held_rec_t *rec)
{
	Referral__V1__Envelope *e = NULL;
	Referral__V1__Header *h = NULL;
	Referral__Store__V1__InboxRecord *ib;

	memset(rec, 0, sizeof(*rec));
	/* An inbox record always has its kind and time; an older release's
	 * bare envelope has neither field (its fields are 1 to 3). */
	ib = referral__store__v1__inbox_record__unpack(NULL, vl, v);
	if (ib && ib->kind && ib->received_at_ms && ib->envelope.len) {
		rec->ib = ib;
		rec->env = ib->envelope.data;
		rec->env_len = ib->envelope.len;
	} else {
		if (ib)
			referral__store__v1__inbox_record__free_unpacked(ib, NULL);
		rec->env = v;
		rec->env_len = vl;
	}
	e = referral__v1__envelope__unpack(NULL, rec->env_len, rec->env);
	h = e ? referral__v1__header__unpack(NULL, e->header.len,
					     e->header.data) : NULL;
	if (!h) {
		if (e)
			referral__v1__envelope__free_unpacked(e, NULL);
		held_rec_free(rec);
		return REF_E_CORRUPT;
	}
	snprintf(rec->from, sizeof(rec->from), "%s",
		 rec->ib ? rec->ib->from_node : h->from_node);
	if (h->msg_id.len == 16)
		memcpy(rec->msg_id, h->msg_id.data, 16);
	rec->kind = h->kind;
	rec->created_at_ms = h->created_at_ms;
	rec->received_at_ms = rec->ib ? rec->ib->received_at_ms
				      : h->created_at_ms;
	referral__v1__header__free_unpacked(h, NULL);
	referral__v1__envelope__free_unpacked(e, NULL);
	return 0;
}

void held_rec_free(held_rec_t *rec)
{
	if (rec->ib)
		referral__store__v1__inbox_record__free_unpacked(rec->ib, NULL);
	rec->ib = NULL;
}

int held_check(node_t *n, const Referral__V1__Header *h, size_t len,
	       const char *peer, bool unbounded, char *detail, size_t dlen,
	       bool *ret_refused, bool *ret_bound)
{
	uint8_t key[HELD_KEY_MAX], *v;
	size_t klen, vl;
	quota_use_t u;
	int r;

	*ret_refused = *ret_bound = false;
	held_key(h->referral_id, h->referral_seq, key, &klen);
	r = store_get(n->store, STORE_HELD, key, klen, &v, &vl);
	if (!r) {
		/* The same message again is a DUPLICATE before it gets here:
		 * this is another one, and the first keeps its place. */
		free(v);
		snprintf(detail, dlen, "referral_seq %llu of referral %s is "
			 "already held under another message",
			 (unsigned long long)h->referral_seq, h->referral_id);
		*ret_refused = true;
		return 0;
	}
	if (r != REF_E_NOT_FOUND)
		return r;
	if (unbounded)
		return 0;
	r = quota_get(n, peer, &u);
	if (r)
		return r;
	if (u.held >= (uint64_t)n->cfg.held_per_peer)
		snprintf(detail, dlen, "%llu changes from %s are already held "
			 "waiting for their referral or an earlier change "
			 "([limits] held_per_peer = %lld)",
			 (unsigned long long)u.held, peer,
			 (long long)n->cfg.held_per_peer);
	else if (u.held_bytes + len > (uint64_t)n->cfg.held_bytes_per_peer)
		snprintf(detail, dlen, "changes held from %s would take %llu "
			 "bytes ([limits] held_bytes_per_peer = %lld)", peer,
			 (unsigned long long)(u.held_bytes + len),
			 (long long)n->cfg.held_bytes_per_peer);
	else
		return 0;
	*ret_refused = *ret_bound = true;
	return 0;
}

int held_put(node_t *n, const Referral__V1__Header *h, const uint8_t *buf,
	     size_t len, const char *peer, uint64_t now,
	     const uint8_t *receipt, size_t rlen)
{
	Referral__Store__V1__InboxRecord in = REFERRAL__STORE__V1__INBOX_RECORD__INIT;
	uint8_t key[HELD_KEY_MAX];
	size_t klen;
	int r;

	held_key(h->referral_id, h->referral_seq, key, &klen);
	in.envelope.data = (uint8_t *)buf;
	in.envelope.len = len;
	in.from_node = (char *)peer;
	in.referral_id = h->referral_id;
	in.kind = h->kind;
	in.received_at_ms = now;
	in.receipt.data = (uint8_t *)receipt;
	in.receipt.len = rlen;
	r = store_put_msg(n->store, STORE_HELD, key, klen, &in.base);
	if (!r && !receipt)
		r = quota_add(n, peer, 1, (int64_t)len, (int64_t)len);
	return r;
}

int held_release(node_t *n, const uint8_t *key, size_t klen,
		 const held_rec_t *rec, bool into_inbox)
{
	int r = 0;

	/* An older record's envelope is in the inbox already. */
	if (into_inbox && rec->ib)
		r = store_put_msg(n->store, STORE_INBOX, rec->msg_id, 16,
				  &rec->ib->base);
	if (!r)
		r = store_del(n->store, STORE_HELD, key, klen);
	if (!r)
		r = quota_add(n, rec->from, -1, -(int64_t)rec->env_len,
			      into_inbox || !rec->ib ? 0 : -(int64_t)rec->env_len);
	return r;
}

/* ---- walking the table --------------------------------------------------- */

struct pick {
	node_t *n;
	uint64_t older_than;     /* received before this (0: any time) */
	const char *from, *id;   /* only this sender, this referral */
	uint64_t seq;            /* and this number (0: any) */
	uint8_t keys[32][HELD_KEY_MAX];
	size_t klens[32], n_keys;
	json_t *list;            /* or listed here */
	int err;
};

static bool key_split(const uint8_t *k, size_t kl, char *id, size_t idlen,
		      uint64_t *seq)
{
	uint64_t s = 0;

	if (kl <= 8 || kl - 8 >= idlen)
		return false;
	memcpy(id, k, kl - 8);
	id[kl - 8] = '\0';
	for (int i = 0; i < 8; i++)
		s = s << 8 | k[kl - 8 + i];
	*seq = s;
	return true;
}

static int pick_one(void *ctx, const uint8_t *k, size_t kl, const uint8_t *v,
		    size_t vl)
{
	struct pick *p = ctx;
	held_rec_t rec;
	char id[HELD_KEY_MAX], hex[33];
	uint64_t seq;

	if (!key_split(k, kl, id, sizeof(id), &seq) || held_read(v, vl, &rec))
		return 0; /* store_check reports a bad record */
	if ((p->from && strcmp(p->from, rec.from)) ||
	    (p->id && strcmp(p->id, id)) || (p->seq && p->seq != seq) ||
	    (p->older_than && rec.received_at_ms >= p->older_than)) {
		held_rec_free(&rec);
		return 0;
	}
	if (p->older_than && !p->list) {
		/* A gap in a referral this node holds fills while the change
		 * before it may still come (its lifetime): kept until then,
		 * within the sender's bounds. */
		uint8_t *rv;
		size_t rl;
		if (!store_get(p->n->store, STORE_REFERRALS, id, strlen(id), &rv,
			       &rl)) {
			free(rv);
			if (rec.received_at_ms + (uint64_t)p->n->cfg.
			    message_lifetime_ms >= util_now_ms()) {
				held_rec_free(&rec);
				return 0;
			}
		}
	}
	if (p->list) {
		json_t *o = json_pack("{s:s, s:I, s:s, s:s, s:s, s:I}",
				      "referral_id", id, "referral_seq",
				      (json_int_t)seq, "from", rec.from,
				      "msg_id", state_msg_hex(rec.msg_id, hex),
				      "kind", envelope_kind_name(rec.kind),
				      "bytes", (json_int_t)rec.env_len);
		put_time(o, "received_at", rec.received_at_ms);
		put_time(o, "expires_at", rec.received_at_ms +
			   (uint64_t)p->n->cfg.held_ttl_ms);
		json_array_append_new(p->list, o);
	} else {
		memcpy(p->keys[p->n_keys], k, kl);
		p->klens[p->n_keys++] = kl;
	}
	held_rec_free(&rec);
	return !p->list && p->n_keys == 32 ? STORE_STOP : 0;
}

/* Drops the picked records, each audited as event; how many in *ret_n. */
static int drop_picked(node_t *n, struct pick *p, const char *event,
		       const char *actor, const char *detail, size_t *ret_n)
{
	for (size_t i = 0; i < p->n_keys; i++) {
		uint8_t *v;
		size_t vl;
		held_rec_t rec;
		char id[HELD_KEY_MAX];
		uint64_t seq;
		int r = store_get(n->store, STORE_HELD, p->keys[i], p->klens[i],
				  &v, &vl);

		if (r)
			return r;
		r = held_read(v, vl, &rec);
		if (!r)
			r = held_release(n, p->keys[i], p->klens[i], &rec, false);
		key_split(p->keys[i], p->klens[i], id, sizeof(id), &seq);
		if (!r)
			r = state_audit(n, event, id, rec.msg_id, rec.from, actor,
					"DROPPED", detail);
		held_rec_free(&rec);
		free(v);
		if (r)
			return r;
		(*ret_n)++;
	}
	return 0;
}

/* ---- the first count ----------------------------------------------------- */

struct first_count {
	char (*from)[8];
	uint64_t *bytes;
	bool *in_inbox;
	size_t n, cap;
	int err;
};

static int first_one(void *ctx, const uint8_t *k, size_t kl,
		     const uint8_t *v, size_t vl)
{
	struct first_count *fc = ctx;
	held_rec_t rec;

	(void)k, (void)kl;
	if (held_read(v, vl, &rec))
		return 0;
	if (fc->n == fc->cap) {
		size_t cap = fc->cap ? fc->cap * 2 : 64;
		char (*f)[8] = realloc(fc->from, cap * 8);
		uint64_t *b = f ? realloc(fc->bytes, cap * 8) : NULL;
		bool *ib = b ? realloc(fc->in_inbox, cap) : NULL;

		if (f)
			fc->from = f;
		if (b)
			fc->bytes = b;
		if (!ib) {
			held_rec_free(&rec);
			fc->err = -ENOMEM;
			return STORE_STOP;
		}
		fc->in_inbox = ib;
		fc->cap = cap;
	}
	snprintf(fc->from[fc->n], 8, "%s", rec.from);
	fc->bytes[fc->n] = rec.env_len;
	/* An older record's envelope is in the inbox too, counted there. */
	fc->in_inbox[fc->n++] = rec.ib == NULL;
	held_rec_free(&rec);
	return 0;
}

int held_start(node_t *n)
{
	struct first_count fc = { 0 };
	int r = store_foreach(n->store, STORE_HELD, first_one, &fc);

	if (r == STORE_STOP)
		r = fc.err;
	/* Counted after the walk: quota_add writes the store's meta. */
	for (size_t i = 0; !r && i < fc.n; i++)
		r = quota_add(n, fc.from[i], 1, (int64_t)fc.bytes[i],
			      fc.in_inbox[i] ? 0 : (int64_t)fc.bytes[i]);
	free(fc.from);
	free(fc.bytes);
	free(fc.in_inbox);
	return r;
}

void held_sweep(node_t *n)
{
	uint64_t now = util_now_ms();
	struct pick *p;
	size_t dropped = 0;
	char detail[120];
	int r;

	if (util_mono_ms() < n->next_held_sweep)
		return;
	/* A few times per lifetime of a held change, at most every second
	 * and at least every minute. */
	n->next_held_sweep = util_mono_ms() +
		(uint64_t)(n->cfg.held_ttl_ms / 4 > 60000 ? 60000
			   : n->cfg.held_ttl_ms / 4 < 1000 ? 1000
			   : n->cfg.held_ttl_ms / 4);
	if (now < (uint64_t)n->cfg.held_ttl_ms)
		return;
	p = calloc(1, sizeof(*p));
	if (!p)
		return;
	p->n = n;
	p->older_than = now - (uint64_t)n->cfg.held_ttl_ms;
	if (store_event_begin(n->store)) {
		free(p);
		return;
	}
	r = store_foreach(n->store, STORE_HELD, pick_one, p);
	snprintf(detail, sizeof(detail), "held longer than [delivery] "
		 "held_ttl_ms = %lld; neither its referral nor the change "
		 "before it came", (long long)n->cfg.held_ttl_ms);
	if (!r)
		r = drop_picked(n, p, "held_expired", "node", detail, &dropped);
	if (!r)
		r = store_event_commit(n->store);
	if (r) {
		store_event_abort(n->store);
		log_msg(LOG_ERROR, "held", "expired held changes not dropped: "
			"%s; tried again at the next sweep", ref_strerror(r));
	} else if (dropped) {
		log_msg(LOG_WARN, "held", "dropped %zu held changes older than "
			"[delivery] held_ttl_ms (%lld ms)", dropped,
			(long long)n->cfg.held_ttl_ms);
	}
	free(p);
}

/* ---- the operations ------------------------------------------------------ */

int held_call_list(node_t *n, const principal_t *who,
		   const Referral__Local__V1__Request *req, json_t *opts,
		   Referral__Local__V1__Reply *rep, char *err, size_t errlen)
{
	struct pick *p = calloc(1, sizeof(*p));
	int r;

	(void)who, (void)req, (void)opts, (void)err, (void)errlen;
	if (!p)
		return -ENOMEM;
	p->n = n;
	p->list = json_array();
	r = store_foreach(n->store, STORE_HELD, pick_one, p);
	if (!r)
		rep->json = state_dump(json_pack("{s:o, s:o}", "held", p->list,
						 "peers", quota_json(n, NULL)));
	else
		json_decref(p->list);
	free(p);
	return r;
}

int held_call_drop(node_t *n, const principal_t *who,
		   const Referral__Local__V1__Request *req, json_t *opts,
		   Referral__Local__V1__Reply *rep, char *err, size_t errlen)
{
	const char *from = state_str(opts, "from"), *id = state_str(opts, "referral_id");
	json_int_t seq = json_integer_value(json_object_get(opts, "referral_seq"));
	const char *actor = who && who->name[0] ? who->name : "local";
	struct pick *p;
	size_t dropped = 0;
	char detail[120];
	int r;

	(void)req;
	if (!from[0] == !id[0])
		return state_fail_reply(rep, REF_E_INVALID, err, errlen,
					"held drop needs a referral id or "
					"--from CODE (one of them)");
	if (seq < 0)
		return state_fail_reply(rep, REF_E_INVALID, err, errlen,
					"referral_seq is a positive number");
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->n = n;
	p->from = from[0] ? from : NULL;
	p->id = id[0] ? id : NULL;
	p->seq = (uint64_t)seq;
	snprintf(detail, sizeof(detail), "dropped by an admin (%s)",
		 p->from ? "every change held from the sender"
			 : "the referral's held changes");
	/* 32 at a time: the walk does not write while it reads. */
	do {
		p->n_keys = 0;
		r = store_foreach(n->store, STORE_HELD, pick_one, p);
		if (!r)
			r = drop_picked(n, p, "held_dropped", actor, detail,
					&dropped);
	} while (!r && p->n_keys == 32);
	free(p);
	if (r)
		return r;
	if (!dropped)
		return state_fail_reply(rep, REF_E_NOT_FOUND, err, errlen,
					"no held change matches %s %s",
					from[0] ? "sender" : "referral",
					from[0] ? from : id);
	log_msg(LOG_INFO, "held", "%zu held changes dropped by %s", dropped,
		actor);
	rep->json = state_dump(json_pack("{s:I}", "dropped", (json_int_t)dropped));
	return 0;
}
