/* store-event.c: the store's events (store.h, store_event_begin): one
 * event's writes apply whole or not at all within the turn. With room in
 * the map an event writes straight into the turn's transaction and keeps
 * an undo log of what each key held; near the store's limit, and for a
 * minute after a write was refused, it is an LMDB nested transaction. A
 * write LMDB refuses outside a nested event leaves the turn's transaction
 * unusable: the turn is doomed and fails at store_commit. Part of the
 * store module, sharing its state through store-int.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <lmdb.h>

#include "errors.h"
#include "store.h"
#include "store-int.h"
#include "util.h"

/* One key an open event wrote, and what it held before (raw, as stored:
 * sealed bytes and digest), so store_event_abort can put it back. */
struct store_undo {
	store_table_t t;
	bool had;
	uint8_t *key, *old;
	size_t klen, oldlen;
};

/* How long events nest after a write was refused: while the store is at
 * its limit each event fails alone, as it did before the undo log. */
#define NESTED_AFTER_FAILURE_MS 60000

void store_undo_clear(store_t *s)
{
	for (size_t i = 0; i < s->n_undo; i++) {
		free(s->undo[i].key);
		free(s->undo[i].old);
	}
	s->n_undo = 0;
	s->in_event = false;
}

/* How far back store_undo_note looks for the same key. A key noted twice
 * is still put back right (the log is replayed newest first, so it ends
 * as it began); the look only saves a copy, and a bounded one keeps an
 * event of thousands of writes (a purge) linear. */
#define UNDO_LOOK_BACK 64

/* Before an event's write of key in t: what the key holds now (the first
 * value is the one to restore). */
int store_undo_note(store_t *s, store_table_t t, const void *key,
		    size_t klen)
{
	struct store_undo *u;
	MDB_val k = { klen, (void *)key }, v;
	int rc;

	for (size_t i = s->n_undo > UNDO_LOOK_BACK ? s->n_undo - UNDO_LOOK_BACK
						   : 0; i < s->n_undo; i++)
		if (s->undo[i].t == t && s->undo[i].klen == klen &&
		    !memcmp(s->undo[i].key, key, klen))
			return 0;
	if (s->n_undo == s->cap_undo) {
		size_t cap = s->cap_undo ? s->cap_undo * 2 : 16;
		struct store_undo *nu = realloc(s->undo, cap * sizeof(*nu));

		if (!nu)
			return -ENOMEM;
		s->undo = nu;
		s->cap_undo = cap;
	}
	rc = mdb_get(s->turn, s->dbi[t], &k, &v);
	if (rc && rc != MDB_NOTFOUND)
		return store_lmdb_err(s, rc, "get before write");
	u = &s->undo[s->n_undo];
	memset(u, 0, sizeof(*u));
	u->t = t;
	u->had = rc == 0;
	u->klen = klen;
	u->key = malloc(klen ? klen : 1);
	if (u->had) {
		u->oldlen = v.mv_size;
		u->old = malloc(v.mv_size ? v.mv_size : 1);
	}
	if (!u->key || (u->had && !u->old)) {
		free(u->key);
		free(u->old);
		return -ENOMEM;
	}
	memcpy(u->key, key, klen);
	if (u->had)
		memcpy(u->old, v.mv_data, v.mv_size);
	s->n_undo++;
	return 0;
}

/* Whether LMDB's refusal of a write left its transaction unusable: a
 * key or value it checks before touching a page (too long, say) does
 * not; a page it could not get (the map full) does. */
static bool poisons(int rc)
{
	return rc && rc != MDB_NOTFOUND && rc != MDB_KEYEXIST &&
	       rc != MDB_BAD_VALSIZE && rc != EINVAL && rc != EACCES &&
	       rc != MDB_BAD_DBI;
}

static void doom_turn(store_t *s)
{
	s->turn_doomed = true;
	s->nested_until_mono = util_mono_ms() + NESTED_AFTER_FAILURE_MS;
}

void store_write_refused(store_t *s, int rc)
{
	if (!s->event && poisons(rc))
		doom_turn(s);
}

/* Whether the map has the room store_maybe_grow keeps ahead of a turn
 * (and at least UNDO_ROOM): then no write of the turn can find it full.
 * A store at its limit is where writes are refused, and there each event
 * must be able to fail alone. */
#define UNDO_ROOM (8u << 20)
static bool room_for_turn(store_t *s)
{
	size_t used, map;

	store_usage(s, &used, &map, NULL);
	return used < map && map - used >= (s->reserve > UNDO_ROOM
					    ? s->reserve : UNDO_ROOM);
}

/* An event: LMDB's nested transaction costs two allocations of 1 and
 * 2 MiB at each begin (its dirty and free page lists), which is most of
 * an event's cost under AddressSanitizer; the undo log costs one read
 * per key written. */
int store_event_begin(store_t *s)
{
	int r = store_begin(s), rc;

	if (r)
		return r;
	if (s->event || s->in_event)
		return 0;
	if (s->turn_doomed)
		return REF_E_STORE_FULL;
	if ((s->nested_until_mono && util_mono_ms() < s->nested_until_mono) ||
	    !room_for_turn(s)) {
		rc = mdb_txn_begin(s->env, s->turn, 0, &s->event);
		if (rc) {
			s->event = NULL;
			return store_lmdb_err(s, rc, "begin event");
		}
		return 0;
	}
	s->nested_until_mono = 0;
	s->in_event = true;
	s->n_undo = 0;
	return 0;
}

int store_event_commit(store_t *s)
{
	int rc;

	if (s->in_event) {
		store_undo_clear(s);
		return s->turn_doomed ? REF_E_STORE_FULL : 0;
	}
	if (!s->event)
		return 0;
	rc = mdb_txn_commit(s->event);
	s->event = NULL;
	return store_lmdb_err(s, rc, "commit event");
}

void store_event_abort(store_t *s)
{
	if (s->event) {
		mdb_txn_abort(s->event);
		s->event = NULL;
	}
	if (!s->in_event)
		return;
	/* Newest first, so a key written twice ends as it began. */
	for (size_t i = s->n_undo; !s->turn_doomed && i-- > 0;) {
		struct store_undo *u = &s->undo[i];
		MDB_val k = { u->klen, u->key }, v = { u->oldlen, u->old };
		int rc = u->had ? mdb_put(s->turn, s->dbi[u->t], &k, &v, 0)
				: mdb_del(s->turn, s->dbi[u->t], &k, NULL);

		if (rc && rc != MDB_NOTFOUND) {
			store_lmdb_err(s, rc, "undo an event");
			doom_turn(s);
		}
	}
	store_undo_clear(s);
}
