/* store-txn.c: the store's transactions (store.h): the turn's write
 * transaction (store_begin, store_commit, store_abort) and its events
 * (store_event_begin): one event's writes apply whole or not at all
 * within the turn. With room in the map an event writes straight into the
 * turn's transaction and keeps an undo log of what each key held; near the
 * store's limit, and for a minute after a write was refused, it is an LMDB
 * nested transaction. A write LMDB refuses outside a nested event leaves
 * the turn's transaction unusable: the turn is doomed and fails at
 * store_commit. Also LMDB's codes at the module's edge (store_lmdb_err)
 * and the map's usage. Part of the store module, sharing its state
 * through store-int.h; store.c's records are written through it, and it
 * calls nothing of theirs. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <lmdb.h>
#include <openssl/crypto.h>

#include "errors.h"
#include "store.h"
#include "store-int.h"
#include "util.h"

static void undo_clear(store_t *s);
static bool room_for_turn(store_t *s);

int store_lmdb_err(store_t *s, int rc, const char *what)
{
	snprintf(s->err, sizeof(s->err), "%s: %s", what, mdb_strerror(rc));
	switch (rc) {
	case 0:
		return 0;
	case MDB_PANIC:
		/* A write failed where LMDB cannot undo it (the meta page):
		 * nothing more can be committed until the store is opened
		 * again, which finds the last good state. */
		s->failed = true;
		return -EIO;
	case MDB_NOTFOUND:
		return REF_E_NOT_FOUND;
	case MDB_MAP_FULL:
	case MDB_TXN_FULL:
		return REF_E_STORE_FULL;
	case MDB_CORRUPTED:
	case MDB_PAGE_NOTFOUND:
	case MDB_INVALID:
	case MDB_VERSION_MISMATCH:
		return REF_E_CORRUPT;
	default:
		/* LMDB's own codes (MDB_KEYEXIST .. MDB_LAST_ERRCODE) are not
		 * errno values: passed on as negatives they would read as
		 * some unrelated errno. */
		if (rc >= MDB_KEYEXIST && rc <= MDB_LAST_ERRCODE)
			return REF_E_STORE;
		return rc > 0 ? -rc : -EIO;
	}
}

bool store_in_turn(const store_t *s)
{
	return s->turn != NULL;
}

int store_begin(store_t *s)
{
	int rc;

	if (s->turn)
		return 0;
	rc = mdb_txn_begin(s->env, NULL, 0, &s->turn);
	if (rc) {
		s->turn = NULL;
		return store_lmdb_err(s, rc, "begin");
	}
	s->turn_doomed = false;
	/* The map's usage is the last commit's: the same for every event of
	 * the turn. */
	s->turn_room = room_for_turn(s);
	return 0;
}

int store_commit(store_t *s)
{
	int rc;

	if (s->event || s->in_event)
		store_event_abort(s);
	if (!s->turn)
		return 0;
	if (s->turn_doomed) {
		/* The commit fails as LMDB's own does: the transaction is
		 * gone and the store holds what it held before the turn. */
		char why[sizeof(s->err)];

		snprintf(why, sizeof(why), "%s", s->err);
		snprintf(s->err, sizeof(s->err), "commit: a write of this turn "
			 "was refused (%.150s)", why);
		mdb_txn_abort(s->turn);
		s->turn = NULL;
		s->turn_doomed = false;
		refkey_forget(s);
		return REF_E_STORE_FULL;
	}
	/* mdb_txn_commit syncs (the environment has no NOSYNC flag): when it
	 * returns 0 the turn is on disk. Any failure, EIO from fsync
	 * included, leaves the previous state intact. */
	rc = mdb_txn_commit(s->turn);
	s->turn = NULL;
	if (rc)
		refkey_forget(s);
	return store_lmdb_err(s, rc, "commit");
}

void refkey_forget(store_t *s)
{
	OPENSSL_cleanse(s->refkeys, sizeof(s->refkeys));
}

/* An open nested event's transaction thrown away. */
static void abort_nested(store_t *s)
{
	if (s->event) {
		mdb_txn_abort(s->event);
		s->event = NULL;
	}
}

void store_abort(store_t *s)
{
	refkey_forget(s);
	abort_nested(s);
	undo_clear(s); /* the turn goes whole: nothing to put back */
	if (s->turn) {
		mdb_txn_abort(s->turn);
		s->turn = NULL;
	}
	s->turn_doomed = false;
}

MDB_txn *store_wtxn(store_t *s)
{
	return s->event ? s->event : s->turn;
}

void store_usage(store_t *s, size_t *ret_used, size_t *ret_map,
		 size_t *ret_max)
{
	MDB_envinfo info;

	mdb_env_info(s->env, &info);
	if (ret_used)
		*ret_used = (info.me_last_pgno + 1) * s->page;
	if (ret_map)
		*ret_map = info.me_mapsize;
	if (ret_max)
		*ret_max = s->map_max;
}

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

static void undo_clear(store_t *s)
{
	for (size_t i = 0; i < s->n_undo; i++) {
		free(s->undo[i].key);
		free(s->undo[i].old);
	}
	s->n_undo = 0;
	s->in_event = false;
}

/* How far back undo_note looks for the same key. A key noted twice
 * is still put back right (the log is replayed newest first, so it ends
 * as it began); the look only saves a copy, and a bounded one keeps an
 * event of thousands of writes (a purge) linear. */
#define UNDO_LOOK_BACK 64

/* Before an event's write of key in t: what the key holds now (the first
 * value is the one to restore). */
static int undo_note(store_t *s, store_table_t t, const void *key,
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

int store_write_check(store_t *s, store_table_t t, const void *key,
		      size_t klen)
{
	if (!store_wtxn(s))
		return -EINVAL;
	if (s->turn_doomed)
		return REF_E_STORE_FULL;
	return s->in_event ? undo_note(s, t, key, klen) : 0;
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
	    !s->turn_room) {
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
		undo_clear(s);
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
	refkey_forget(s);
	abort_nested(s);
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
	undo_clear(s);
}
