/* retention.c: see retention.h. A purge happens inside one store event:
 * every record of every referral in the batch is rewritten, or none is.
 * The retention table holds, per referral id, a small JSON object:
 * {"hold": reason, "hold_by", "hold_at_ms"} while a legal hold is set,
 * {"purged_at_ms", "purged_by"} once purged. It is not sealed: a hold's
 * reason names the court case or order, never the person. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "calls.h"
#include "keys.h"
#include "held.h"
#include "log.h"
#include "quota.h"
#include "retention.h"
#include "referrals.h"
#include "util.h"

#define DAY_MS 86400000ULL
#define PURGE_CHECK_MS 600000ULL /* the node's own purge looks this often */
#define PURGE_LOOK 2000          /* referrals one step looks at */
#define MAX_MANUAL 1000  /* referrals one refctl purge takes; run it again */
/* The store's meta: how many referrals were purged since the data key
 * last rotated (8 bytes, big-endian), written in each purge's turn and
 * removed in the rotation's: a stop between the two leaves the rotation
 * owed, and the next start makes it. */
#define META_ROTATION_OWED "purge_rotation_owed"

typedef struct {
	char id[64];
	char state[32];
	uint64_t at_ms;     /* when it reached its final state (last update) */
	const char *skip;   /* why it stays, or NULL */
	size_t blanked, steps, held;
} cand_t;

typedef struct {
	cand_t *c;
	size_t n, cap, max;
	bool more;          /* more expired ones than max */
	uint64_t before;    /* manual: final before this; 0: by the settings */
	uint64_t now;
	const config_t *cfg;
	size_t looked, look_max; /* the node's own purge: a bounded walk */
	char last[72];           /* the last referral id looked at */
	bool stopped;            /* the walk stopped before the end */
	const char *after;       /* resumed: this one was looked at already */
} scan_t;

/* Field 3 (referral_id, a string) of an OutboxRecord or InboxRecord, read
 * off the wire format without unpacking the envelope it carries. */
static size_t wire_field3(const uint8_t *p, size_t n, char *out, size_t cap)
{
	size_t i = 0;

	while (i < n) {
		uint64_t tag = 0, len = 0;
		int sh = 0;
		while (i < n && sh < 64) {
			tag |= (uint64_t)(p[i] & 0x7f) << sh;
			sh += 7;
			if (!(p[i++] & 0x80))
				break;
		}
		switch (tag & 7) {
		case 0:
			while (i < n && (p[i++] & 0x80))
				;
			break;
		case 2:
			sh = 0;
			while (i < n && sh < 64) {
				len |= (uint64_t)(p[i] & 0x7f) << sh;
				sh += 7;
				if (!(p[i++] & 0x80))
					break;
			}
			if (len > n - i)
				return 0;
			if (tag >> 3 == 3) {
				if (!len || len >= cap)
					return 0;
				memcpy(out, p + i, len);
				out[len] = '\0';
				return len;
			}
			i += len;
			break;
		case 1:
			i += 8;
			break;
		case 5:
			i += 4;
			break;
		default:
			return 0;
		}
	}
	return 0;
}

size_t retention_owner(store_t *s, store_table_t t, const uint8_t *key,
		       size_t klen, const uint8_t *val, size_t vlen, char *out,
		       size_t cap)
{
	size_t l = 0;
	uint8_t *v;
	size_t vl;

	if (t == STORE_OUTBOX || t == STORE_INBOX) {
		l = wire_field3(val, vlen, out, cap);
	} else if (t == STORE_HISTORY || t == STORE_HELD) {
		size_t tail = t == STORE_HISTORY ? 4 : 8;
		if (klen > tail && klen - tail < cap) {
			l = klen - tail;
			memcpy(out, key, l);
			out[l] = '\0';
		}
	}
	if (!l || !util_referral_id_valid(out))
		return 0;
	/* Purged: what remains of it is sealed under the ring. */
	if (!store_get(s, STORE_RETENTION, out, l, &v, &vl)) {
		bool purged = strstr((const char *)v, "purged_at_ms") != NULL;
		free(v);
		if (purged)
			return 0;
	}
	return l;
}

/* Days a final state is kept, 0 if the state is not final or not purged
 * by the node itself; *ret_final says whether it is final at all. */
static int64_t keep_days(const config_t *c, const char *state, bool *ret_final)
{
	static const char *const closed[] = { "CLOSED", "TERMINATED", "UPHELD",
		"REVIEWED" };
	static const char *const refused[] = { "DENIED", "WITHDRAWN",
		"CANCELLED", "REFERRED_ONWARD" };

	*ret_final = true;
	for (size_t i = 0; i < 4; i++)
		if (!strcmp(state, closed[i]))
			return c->days_after_closed;
	for (size_t i = 0; i < 4; i++)
		if (!strcmp(state, refused[i]))
			return c->days_after_refused;
	*ret_final = false;
	return 0;
}

static int scan_one(void *ctx, const uint8_t *k, size_t kl, const uint8_t *v,
		    size_t vl)
{
	scan_t *sc = ctx;
	referral_rec_t *rr;
	bool final;
	int64_t days;
	uint64_t cutoff;
	int r = 0;

	if (sc->after && kl == strlen(sc->after) && !memcmp(k, sc->after, kl))
		return 0;
	rr = referral__store__v1__referral_record__unpack(NULL, vl, v);
	if (!rr)
		return REF_E_CORRUPT;
	snprintf(sc->last, sizeof(sc->last), "%.*s", (int)(kl < 64 ? kl : 64),
		 (const char *)k);
	sc->looked++;
	days = keep_days(sc->cfg, rr->state, &final);
	if (sc->before)
		cutoff = sc->before;
	else
		cutoff = days > 0 && sc->now > (uint64_t)days * DAY_MS
			 ? sc->now - (uint64_t)days * DAY_MS : 0;
	/* A manual purge lists the referrals that are not final but old
	 * enough, with why they stay (an open objection above all). */
	if (rr->updated_at_ms < cutoff && (final || sc->before)) {
		if (sc->n == sc->max) {
			sc->more = true;
		} else {
			if (sc->n == sc->cap) {
				size_t cap = sc->cap ? sc->cap * 2 : 16;
				cand_t *c = realloc(sc->c, cap * sizeof(*c));
				if (!c) {
					r = -ENOMEM;
					goto out;
				}
				sc->c = c;
				sc->cap = cap;
			}
			memset(&sc->c[sc->n], 0, sizeof(sc->c[0]));
			snprintf(sc->c[sc->n].id, sizeof(sc->c[0].id), "%s",
				 rr->referral_id);
			snprintf(sc->c[sc->n].state, sizeof(sc->c[0].state), "%s",
				 rr->state);
			sc->c[sc->n].at_ms = rr->updated_at_ms;
			if (!final)
				sc->c[sc->n].skip = !strcmp(rr->state, "OBJECTION")
					? "an objection is open"
					: "not in a final state";
			sc->n++;
		}
	}
out:
	referral__store__v1__referral_record__free_unpacked(rr, NULL);
	/* The node's own purge stops with a full batch or after look_max:
	 * the next step goes on from sc->last. */
	if (!r && sc->look_max && (sc->looked >= sc->look_max ||
				   sc->n == sc->max)) {
		sc->stopped = true;
		return STORE_STOP;
	}
	return r;
}

/* The retention record of id: *ret NULL if there is none. */
static int rec_get(node_t *n, const char *id, json_t **ret)
{
	uint8_t *v;
	size_t vl;
	int r = store_get(n->store, STORE_RETENTION, id, strlen(id), &v, &vl);

	*ret = NULL;
	if (r == REF_E_NOT_FOUND)
		return 0;
	if (r)
		return r;
	*ret = json_loadb((const char *)v, vl, 0, NULL);
	free(v);
	return *ret ? 0 : REF_E_CORRUPT;
}

static int rec_put(node_t *n, const char *id, json_t *o)
{
	char *text = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	int r;

	if (!text)
		return -ENOMEM;
	r = store_put(n->store, STORE_RETENTION, id, strlen(id), text,
		      strlen(text));
	free(text);
	return r;
}

/* Holds and earlier purges: why each candidate stays. */
static int mark_skips(node_t *n, scan_t *sc)
{
	for (size_t i = 0; i < sc->n; i++) {
		json_t *o;
		int r = rec_get(n, sc->c[i].id, &o);
		if (r)
			return r;
		if (o && json_object_get(o, "purged_at_ms"))
			sc->c[i].skip = "already purged";
		else if (o && json_object_get(o, "hold") && !sc->c[i].skip)
			sc->c[i].skip = "under a legal hold";
		json_decref(o);
	}
	return 0;
}

static cand_t *find(scan_t *sc, const char *id)
{
	for (size_t i = 0; i < sc->n; i++)
		if (!sc->c[i].skip && !strcmp(sc->c[i].id, id))
			return &sc->c[i];
	return NULL;
}

/* Envelopes about the candidates: outbox first (a pending one keeps its
 * referral out of this purge), then inbox. */
typedef struct {
	scan_t *sc;
	uint8_t (*ids)[16];
	size_t n, cap;
	bool outbox;
	store_t *n_store;
} env_t;

static int env_one(void *ctx, const uint8_t *k, size_t kl, const char *rid)
{
	env_t *e = ctx;
	cand_t *c;

	if (kl != 16 || !rid[0] || !(c = find(e->sc, rid)))
		return 0;
	if (e->outbox) {
		Referral__Store__V1__OutboxRecord *ob = NULL;
		int r = store_get_msg(e->n_store, STORE_OUTBOX, k, 16,
				      &referral__store__v1__outbox_record__descriptor,
				      (ProtobufCMessage **)&ob);
		bool pending;

		if (r)
			return r;
		pending = ob->state == OUT_PENDING;
		referral__store__v1__outbox_record__free_unpacked(ob, NULL);
		if (pending) {
			c->skip = "a message about it is still being delivered";
			return 0;
		}
	}
	if (e->n == e->cap) {
		size_t cap = e->cap ? e->cap * 2 : 32;
		void *p = realloc(e->ids, cap * 16);
		if (!p)
			return -ENOMEM;
		e->ids = p;
		e->cap = cap;
	}
	memcpy(e->ids[e->n++], k, 16);
	return 0;
}

/* Rewrites one envelope record with no envelope bytes (the record's
 * delivery state, receipt and times stay). */
static int blank(node_t *n, store_table_t t, const uint8_t id[16],
		 scan_t *sc)
{
	const ProtobufCMessageDescriptor *d = t == STORE_OUTBOX
		? &referral__store__v1__outbox_record__descriptor
		: &referral__store__v1__inbox_record__descriptor;
	ProtobufCMessage *m = NULL;
	ProtobufCBinaryData *env;
	const char *rid;
	cand_t *c;
	int r = store_get_msg(n->store, t, id, 16, d, &m);

	if (r)
		return r;
	if (t == STORE_OUTBOX) {
		Referral__Store__V1__OutboxRecord *ob = (void *)m;
		env = &ob->envelope;
		rid = ob->referral_id;
	} else {
		Referral__Store__V1__InboxRecord *ib = (void *)m;
		env = &ib->envelope;
		rid = ib->referral_id;
	}
	c = find(sc, rid);
	if (c) {
		size_t was = env->len;

		/* The unpacked bytes belong to m: only the length says empty. */
		env->len = 0;
		r = store_put_msg(n->store, t, id, 16, m);
		/* What a peer's message took counts against its quota
		 * (quota.c); the purge gives it back. */
		if (!r && t == STORE_INBOX && was)
			r = quota_add(n, ((Referral__Store__V1__InboxRecord *)
					  m)->from_node, 0, 0, -(int64_t)was);
		if (!r)
			c->blanked++;
	}
	protobuf_c_message_free_unpacked(m, NULL);
	return r;
}

/* Each history step keeps its states, actor ids, times and round. */
static int strip_history(node_t *n, cand_t *c)
{
	referral_rec_t *rr = NULL;
	int r = referrals_get(n, c->id, &rr);

	for (uint32_t i = 0; !r && i < rr->history_len; i++) {
		Referral__Store__V1__HistoryRecord *h = NULL;
		Referral__V1__StatusChange *sc, keep =
			REFERRAL__V1__STATUS_CHANGE__INIT;
		uint8_t key[80], *buf;
		size_t l = strlen(c->id), blen;

		memcpy(key, c->id, l);
		for (int b = 0; b < 4; b++)
			key[l + b] = (uint8_t)(i >> (24 - 8 * b));
		r = store_get_msg(n->store, STORE_HISTORY, key, l + 4,
				  &referral__store__v1__history_record__descriptor,
				  (ProtobufCMessage **)&h);
		if (r)
			break;
		sc = referral__v1__status_change__unpack(NULL, h->change.len,
							 h->change.data);
		if (!sc) {
			referral__store__v1__history_record__free_unpacked(h, NULL);
			r = REF_E_CORRUPT;
			break;
		}
		keep.state = sc->state;
		keep.from_state = sc->from_state;
		keep.actor = sc->actor;
		keep.actor_role = sc->actor_role;
		keep.onward_referral_id = sc->onward_referral_id;
		keep.onward_to = sc->onward_to;
		keep.aid_first = sc->aid_first;
		keep.changed_at_ms = sc->changed_at_ms;
		keep.round = sc->round;
		keep.made_by = sc->made_by;
		keep.urgency_ground = sc->urgency_ground;
		keep.withdrawal = sc->withdrawal;
		keep.further_request = sc->further_request;
		keep.supplement = sc->supplement;
		blen = referral__v1__status_change__get_packed_size(&keep);
		buf = malloc(blen ? blen : 1);
		if (!buf) {
			r = -ENOMEM;
		} else {
			ProtobufCBinaryData old = h->change;
			referral__v1__status_change__pack(&keep, buf);
			h->change.data = buf;
			h->change.len = blen;
			r = store_put_msg(n->store, STORE_HISTORY, key, l + 4,
					  &h->base);
			h->change = old;
			free(buf);
		}
		referral__v1__status_change__free_unpacked(sc, NULL);
		referral__store__v1__history_record__free_unpacked(h, NULL);
		if (!r)
			c->steps++;
	}
	if (rr)
		referral__store__v1__referral_record__free_unpacked(rr, NULL);
	return r;
}

/* Held changes: key = referral id || 8-byte sequence. */
typedef struct {
	const char *id;
	uint8_t (*keys)[80];
	size_t n;
} held_t;

static int held_one(void *ctx, const uint8_t *k, size_t kl, const uint8_t *v,
		    size_t vl)
{
	held_t *h = ctx;
	size_t l = strlen(h->id);

	(void)v, (void)vl;
	if (kl < l || memcmp(k, h->id, l))
		return STORE_STOP;
	if (kl == l + 8 && h->n < 64)
		memcpy(h->keys[h->n++], k, kl);
	return 0;
}

static int drop_held(node_t *n, cand_t *c)
{
	uint8_t keys[64][80];
	held_t h = { c->id, keys, 0 };
	size_t l = strlen(c->id);
	int r;

	do {
		h.n = 0;
		r = store_foreach_from(n->store, STORE_HELD, c->id, l, held_one, &h);
		if (r == STORE_STOP)
			r = 0;
		/* Through held.c, so the sender's held counts and store
		 * quota give back what the change took. */
		for (size_t i = 0; !r && i < h.n; i++) {
			uint8_t *v;
			size_t vl;
			held_rec_t rec;

			r = store_get(n->store, STORE_HELD, keys[i], l + 8, &v,
				      &vl);
			if (r)
				break;
			r = held_read(v, vl, &rec);
			if (!r) {
				r = held_release(n, keys[i], l + 8, &rec, false);
				held_rec_free(&rec);
			}
			free(v);
		}
		c->held += h.n;
	} while (!r && h.n == 64);
	return r;
}

/* The referrals purged since the data key last rotated, by the store's
 * mark (0: no rotation owed). */
static int owed_get(node_t *n, uint64_t *ret)
{
	uint8_t *v;
	size_t vl;
	int r = store_get(n->store, STORE_META, META_ROTATION_OWED,
			  strlen(META_ROTATION_OWED), &v, &vl);

	*ret = 0;
	if (r == REF_E_NOT_FOUND)
		return 0;
	if (r)
		return r;
	for (size_t i = 0; i < vl && i < 8; i++)
		*ret = *ret << 8 | v[i];
	free(v);
	/* A mark is a rotation owed, whatever count it carries. */
	if (!*ret)
		*ret = 1;
	return 0;
}

/* In the open turn: count referrals purged and not yet rotated away; 0
 * once the rotation is made. */
static int owed_put(node_t *n, uint64_t count)
{
	uint8_t v[8];
	int r;

	if (!count) {
		r = store_del(n->store, STORE_META, META_ROTATION_OWED,
			      strlen(META_ROTATION_OWED));
		return r == REF_E_NOT_FOUND ? 0 : r;
	}
	for (size_t i = 0; i < 8; i++)
		v[i] = (uint8_t)(count >> (56 - 8 * i));
	return store_put(n->store, STORE_META, META_ROTATION_OWED,
			 strlen(META_ROTATION_OWED), v, sizeof(v));
}

/* Purges every candidate not skipped, in the open turn; then the key. */
static int purge(node_t *n, scan_t *sc, const char *actor, bool rotate,
		 size_t *ret_done, char *err, size_t errlen)
{
	env_t e = { sc, NULL, 0, 0, true, n->store };
	size_t done = 0, outn;
	int r;

	*ret_done = 0;
	/* Walked by the ids the sealed values carry: only the old records
	 * sealed under the ring are opened to find theirs. */
	r = store_foreach_owner(n->store, STORE_OUTBOX, env_one, &e);
	outn = e.n;
	e.outbox = false;
	if (!r)
		r = store_foreach_owner(n->store, STORE_INBOX, env_one, &e);
	/* Marked purged first: what is written back below is no longer
	 * sealed under the referral's own key (retention_owner), which goes
	 * last. */
	for (size_t i = 0; !r && i < sc->n; i++) {
		cand_t *c = &sc->c[i];
		json_t *o;

		if (c->skip)
			continue;
		r = rec_get(n, c->id, &o);
		if (r)
			break;
		if (!o)
			o = json_object();
		json_object_del(o, "hold");
		json_object_set_new(o, "purged_at_ms",
				    json_integer((json_int_t)util_now_ms()));
		json_object_set_new(o, "purged_by", json_string(actor));
		r = rec_put(n, c->id, o);
		json_decref(o);
	}
	for (size_t i = 0; !r && i < e.n; i++)
		r = blank(n, i < outn ? STORE_OUTBOX : STORE_INBOX, e.ids[i], sc);
	free(e.ids);
	for (size_t i = 0; !r && i < sc->n; i++) {
		cand_t *c = &sc->c[i];
		char detail[200];

		if (c->skip)
			continue;
		r = strip_history(n, c);
		if (!r)
			r = drop_held(n, c);
		if (!r) {
			r = store_del(n->store, STORE_REFKEYS, c->id,
				      strlen(c->id));
			if (r == REF_E_NOT_FOUND)
				r = 0; /* sealed under the ring only */
		}
		if (r)
			break;
		snprintf(detail, sizeof(detail), "%s since %llu: %zu envelopes "
			 "emptied, %zu history steps kept without their text, "
			 "%zu held changes dropped, its key destroyed", c->state,
			 (unsigned long long)c->at_ms, c->blanked, c->steps,
			 c->held);
		r = state_audit(n, "personal_data_purged", c->id, NULL, NULL,
				actor, "ok", detail);
		done++;
	}
	/* The referral's key, gone from the table, lingers in a free page
	 * sealed under the ring as it is now: a fresh ring key, the other
	 * referral keys (and what is sealed under the ring) sealed again
	 * under it, the old ones dropped from the key file
	 * (keys_after_commit). */
	if (!r && done && rotate) {
		char why[80];
		snprintf(why, sizeof(why), "after a purge of %zu referrals", done);
		r = keys_rotate_data(n, actor, why, err, errlen);
		/* The fresh key covers what an unfinished cycle of the node's
		 * own purge deleted too. */
		if (!r)
			r = owed_put(n, 0);
	}
	*ret_done = done;
	return r;
}

static void scan_free(scan_t *sc)
{
	free(sc->c);
	sc->c = NULL;
	sc->n = sc->cap = 0;
}

/* A rotation a stop cut off: the store's mark says referrals were
 * purged and their keys not yet rotated away (the cycle's walk, kept in
 * memory only, was lost). Made in its own turn before any new walk, even
 * with retention since switched off. True if the step is taken (made or
 * failed: tried again at the next housekeeping). */
static bool owed_rotation(node_t *n)
{
	char err[300] = "", why[120];
	uint64_t owed;
	int r;

	if (n->purge_cursor[0] || n->purge_pending)
		return false; /* this run's walk rotates at its end */
	if (util_mono_ms() < n->next_purge_check)
		return false; /* after a cycle's end, or a failure below */
	if (store_event_begin(n->store))
		return true;
	r = owed_get(n, &owed);
	if (!r && !owed) {
		store_event_abort(n->store);
		return false;
	}
	snprintf(why, sizeof(why), "after a purge of %llu referrals (the "
		 "rotation owed by a cycle a stop cut short)",
		 (unsigned long long)owed);
	if (!r)
		r = keys_rotate_data(n, "node", why, err, sizeof(err));
	if (!r)
		r = owed_put(n, 0);
	if (r || (r = store_event_commit(n->store))) {
		store_event_abort(n->store);
		if (!err[0])
			snprintf(err, sizeof(err), "%s", store_last_error(n->store));
		log_msg(LOG_WARN, "retention", "the data-key rotation owed by "
			"an earlier purge paused: %s%s%s; it is tried again later",
			ref_strerror(r), err[0] ? ": " : "", err);
		n->next_purge_check = util_mono_ms() + PURGE_CHECK_MS;
		return true;
	}
	log_msg(LOG_INFO, "retention", "the data key rotates for the %llu "
		"referrals purged before the node stopped", (unsigned long long)owed);
	return true;
}

/* The node's own purge goes in cycles: a walk of the referrals, a batch
 * purged per turn, and at the walk's end one data-key rotation for all
 * of them (a rotation re-seals the whole store: once per cycle, not per
 * batch). Each batch's turn marks the rotation owed in the store, the
 * rotation's turn clears it (owed_rotation makes one a stop cut off). No
 * purge while a re-seal is under way: what it purged could be sealed
 * under the key that re-seal keeps. */
void retention_step(node_t *n)
{
	scan_t sc = { 0 };
	char err[300] = "";
	size_t done = 0;
	bool end;
	int r;

	if (n->resealing || !n->seal || owed_rotation(n) ||
	    (!n->cfg.days_after_closed && !n->cfg.days_after_refused) ||
	    util_mono_ms() < n->next_purge_check)
		return;
	sc.cfg = &n->cfg;
	sc.now = util_now_ms();
	sc.max = (size_t)n->cfg.purge_batch;
	sc.look_max = PURGE_LOOK;
	sc.after = n->purge_cursor[0] ? n->purge_cursor : NULL;
	if (store_event_begin(n->store))
		return;
	r = n->purge_cursor[0]
		? store_foreach_from(n->store, STORE_REFERRALS, n->purge_cursor,
				     strlen(n->purge_cursor), scan_one, &sc)
		: store_foreach(n->store, STORE_REFERRALS, scan_one, &sc);
	end = !sc.stopped;
	if (!r)
		r = mark_skips(n, &sc);
	if (!r)
		r = purge(n, &sc, "node", false, &done, err, sizeof(err));
	if (!r && end && (n->purge_pending || done)) {
		char why[80];
		snprintf(why, sizeof(why), "after a purge of %zu referrals",
			 n->purge_pending + done);
		r = keys_rotate_data(n, "node", why, err, sizeof(err));
		if (!r)
			r = owed_put(n, 0);
	} else if (!r && done) {
		/* The rotation comes at the walk's end, turns later: owed
		 * until then, whatever stops the node in between. */
		r = owed_put(n, n->purge_pending + done);
	}
	if (r || (r = store_event_commit(n->store))) {
		store_event_abort(n->store);
		if (!err[0])
			snprintf(err, sizeof(err), "%s", store_last_error(n->store));
		log_msg(LOG_WARN, "retention", "the purge of expired referrals "
			"paused: %s%s%s; it is tried again later", ref_strerror(r),
			err[0] ? ": " : "", err);
		n->next_purge_check = util_mono_ms() + PURGE_CHECK_MS;
		scan_free(&sc);
		return;
	}
	if (done)
		log_msg(LOG_INFO, "retention", "purged the personal data of %zu "
			"referrals past their retention", done);
	if (end) {
		if (n->purge_pending + done)
			log_msg(LOG_INFO, "retention", "a purge cycle ended (%zu "
				"referrals): the data key rotates, and the old one "
				"is dropped once the store is sealed again",
				n->purge_pending + done);
		n->purge_pending = 0;
		n->purge_cursor[0] = '\0';
		n->next_purge_check = util_mono_ms() + PURGE_CHECK_MS;
	} else {
		/* The rest of the walk at the next turn. */
		n->purge_pending += done;
		snprintf(n->purge_cursor, sizeof(n->purge_cursor), "%s", sc.last);
	}
	scan_free(&sc);
}

/* "YYYY-MM-DD" (the start of that day, Beijing time) or RFC 3339. */
static int parse_before(const char *s, uint64_t *ret)
{
	char when[40];

	if (strlen(s) == 10)
		snprintf(when, sizeof(when), "%sT00:00:00Z", s);
	else
		snprintf(when, sizeof(when), "%.39s", s);
	if (!s[0] || util_rfc3339_parse(when, ret))
		return REF_E_INVALID;
	if (strlen(s) == 10)
		*ret -= 8 * 3600000ULL; /* UTC+8 */
	return 0;
}

static json_t *cand_json(const cand_t *c)
{
	json_t *o = json_pack("{s:s, s:s}", "referral_id", c->id, "state",
			      c->state);
	char ts[32];

	util_rfc3339(c->at_ms, ts);
	json_object_set_new(o, "since", json_string(ts));
	if (c->skip)
		json_object_set_new(o, "kept", json_string(c->skip));
	return o;
}

static int call_purge(node_t *n, const principal_t *who, json_t *opts,
		      Referral__Local__V1__Reply *rep, char *err, size_t errlen)
{
	scan_t sc = { 0 };
	bool dry = json_is_true(json_object_get(opts, "dry_run"));
	json_t *go, *kept;
	size_t done = 0;
	int r;

	if (parse_before(state_str(opts, "before"), &sc.before))
		return state_fail_reply(rep, REF_E_INVALID, err, errlen,
					"purge needs --before DATE (2020-12-31 "
					"or RFC 3339): referrals in a final "
					"state since before it are purged");
	if (sc.before > util_now_ms())
		return state_fail_reply(rep, REF_E_INVALID, err, errlen,
					"--before is in the future: only what "
					"is already past can be purged");
	sc.cfg = &n->cfg;
	sc.now = util_now_ms();
	sc.max = MAX_MANUAL;
	r = store_foreach(n->store, STORE_REFERRALS, scan_one, &sc);
	if (!r)
		r = mark_skips(n, &sc);
	if (!r && !dry) {
		char why[300] = "";
		r = purge(n, &sc, who->name[0] ? who->name : "local", true, &done,
			  why, sizeof(why));
		if (r && why[0]) {
			scan_free(&sc);
			return state_fail_reply(rep, r, err, errlen, "nothing was "
						"purged: %s", why);
		}
	} else if (!r) {
		/* What a purge would find now: the outbox is looked at too. */
		env_t e = { &sc, NULL, 0, 0, true, n->store };
		r = store_foreach_owner(n->store, STORE_OUTBOX, env_one, &e);
		free(e.ids);
	}
	if (r) {
		scan_free(&sc);
		return r;
	}
	go = json_array();
	kept = json_array();
	for (size_t i = 0; i < sc.n; i++) {
		if (sc.c[i].skip && !strcmp(sc.c[i].skip, "already purged"))
			continue;
		json_array_append_new(sc.c[i].skip ? kept : go,
				      cand_json(&sc.c[i]));
	}
	rep->json = state_dump(json_pack("{s:b, s:o, s:o, s:b}", "dry_run", dry,
					 dry ? "would_purge" : "purged", go,
					 "kept", kept, "more", sc.more));
	scan_free(&sc);
	return 0;
}

static int call_hold(node_t *n, const principal_t *who,
		     const Referral__Local__V1__Request *req, json_t *opts,
		     Referral__Local__V1__Reply *rep, char *err, size_t errlen)
{
	bool set = !strcmp(req->name, "legal-hold-set");
	const char *reason = state_str(opts, "reason");
	const char *actor = who->name[0] ? who->name : "local";
	referral_rec_t *rr = NULL;
	json_t *o;
	int r;

	if (set && (!reason[0] || strlen(reason) > 200))
		return state_fail_reply(rep, REF_E_INVALID, err, errlen,
					"legal-hold set needs --reason (1 to 200 "
					"bytes: the court case or order, never "
					"the person's name)");
	r = referrals_get(n, req->referral_id, &rr);
	if (r == REF_E_NOT_FOUND)
		return state_fail_reply(rep, r, err, errlen, "no referral %.64s "
					"on this node", req->referral_id);
	if (r)
		return r;
	referral__store__v1__referral_record__free_unpacked(rr, NULL);
	r = rec_get(n, req->referral_id, &o);
	if (r)
		return r;
	if (o && json_object_get(o, "purged_at_ms")) {
		json_decref(o);
		return state_fail_reply(rep, REF_E_INVALID, err, errlen,
					"%.64s was purged already: there is no "
					"personal data left to hold",
					req->referral_id);
	}
	if (!set && !(o && json_object_get(o, "hold"))) {
		json_decref(o);
		return state_fail_reply(rep, REF_E_NOT_FOUND, err, errlen,
					"%.64s is under no legal hold",
					req->referral_id);
	}
	if (!o)
		o = json_object();
	if (set) {
		json_object_set_new(o, "hold", json_string(reason));
		json_object_set_new(o, "hold_by", json_string(actor));
		json_object_set_new(o, "hold_at_ms",
				    json_integer((json_int_t)util_now_ms()));
		r = rec_put(n, req->referral_id, o);
	} else {
		r = store_del(n->store, STORE_RETENTION, req->referral_id,
			      strlen(req->referral_id));
	}
	json_decref(o);
	if (!r)
		r = state_audit(n, set ? "legal_hold_set" : "legal_hold_cleared",
				req->referral_id, NULL, NULL, actor, "ok",
				set ? reason : NULL);
	if (!r) {
		rep->json = state_dump(json_pack("{s:s, s:b}", "referral_id",
						 req->referral_id, "legal_hold",
						 set));
	}
	return r;
}

static int list_one(void *ctx, const uint8_t *k, size_t kl, const uint8_t *v,
		    size_t vl)
{
	json_t *arr = ctx, *o = json_loadb((const char *)v, vl, 0, NULL);
	char id[80], ts[32];

	if (!o)
		return REF_E_CORRUPT;
	snprintf(id, sizeof(id), "%.*s", (int)(kl < 64 ? kl : 64),
		 (const char *)k);
	if (json_object_get(o, "hold")) {
		util_rfc3339((uint64_t)json_integer_value(
			json_object_get(o, "hold_at_ms")), ts);
		json_array_append_new(arr, json_pack("{s:s, s:O, s:O, s:s}",
			"referral_id", id, "reason", json_object_get(o, "hold"),
			"by", json_object_get(o, "hold_by"), "since", ts));
	}
	json_decref(o);
	return 0;
}

int retention_call(node_t *n, const principal_t *who,
		   const Referral__Local__V1__Request *req, json_t *opts,
		   Referral__Local__V1__Reply *rep, char *err, size_t errlen)
{
	if (!strcmp(req->name, "purge"))
		return call_purge(n, who, opts, rep, err, errlen);
	if (!strcmp(req->name, "legal-hold-list")) {
		json_t *arr = json_array();
		int r = store_foreach(n->store, STORE_RETENTION, list_one, arr);
		if (r) {
			json_decref(arr);
			return r;
		}
		rep->json = state_dump(json_pack("{s:o}", "holds", arr));
		return 0;
	}
	return call_hold(n, who, req, opts, rep, err, errlen);
}
