/* store-int.h: the store's own state, shared by the files of store/ that
 * make up one module (store.c, store-reseal.c, store-txn.c) and by
 * nothing else: the rest of the tree sees store_t only through store.h. */
#ifndef REF_STORE_INT_H
#define REF_STORE_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <lmdb.h>

#include "seal.h"
#include "store.h"

/* Each record ends with its SHA-256 (store.c's layout). */
#define DIGEST_LEN 32

#define REFKEY_SLOTS 64

struct store {
	MDB_env *env;
	MDB_dbi dbi[STORE__N];
	/* A store written by an older node lacks the tables added since: a
	 * read-only open (an auditor's) reads them as empty; a node's open
	 * makes them. */
	bool absent[STORE__N];
	MDB_txn *turn;     /* the turn's write transaction, or NULL */
	/* An event (store_event_begin) writes straight into the turn and
	 * keeps what each key held before, so that store_event_abort can put
	 * it back (store.c). A write that LMDB refuses leaves the whole
	 * transaction unusable: that turn then fails at its commit, and for
	 * a while events take LMDB's nested transactions instead (`event`). */
	MDB_txn *event;    /* a nested transaction inside it, or NULL */
	bool in_event;     /* an event is open on the undo log */
	bool turn_doomed;  /* a write failed in it: the turn cannot commit */
	bool turn_room;    /* the map had a turn's reserve free at its start */
	uint64_t nested_until_mono; /* events nest until then */
	struct store_undo *undo;
	size_t n_undo, cap_undo;
	MDB_txn *walk;     /* the read transaction a store_foreach holds */
	size_t map_size, map_max, page, reserve;
	unsigned submit_pct;
	seal_t *seal;      /* borrowed; NULL: nothing is sealed */
	store_owner_fn owner; /* whose record: sealed under its referral's key */
	bool failed;       /* LMDB reported a fatal error: reopen to go on */
	int reseal_t;      /* background re-sealing: table and key reached */
	uint8_t reseal_key[512];
	size_t reseal_klen;
	/* Referrals' own keys lately read or made, in the clear: each
	 * sealed record of a referral needed its key read and unsealed
	 * (store.c, refkey_*). Forgotten whenever a write may be undone. */
	struct refkey_slot {
		char id[SEAL_REF_ID_MAX + 1];
		uint8_t key[SEAL_REFKEY_MAX];
		size_t len;
	} refkeys[REFKEY_SLOTS];
	char err[200];
};

/* refkey_forget (store-txn.c, beside the undo it goes with): the cached
 * keys dropped (and wiped): an event or a turn
 * was undone, or a commit failed, so what was made may not be stored. */
void refkey_forget(store_t *s);

/* store_wtxn: the open write transaction (an event's, or the turn's), or
 * NULL outside a turn. */
MDB_txn *store_wtxn(store_t *s);
/* store-txn.c, for store_put and store_del (store.c):
 * store_write_check: before a write of key in t: 0, or why it cannot be
 * made (no turn open: -EINVAL; the turn doomed); in an event, what the key
 * holds is noted first; store_write_refused: LMDB refused a write with
 * rc, which may leave the turn unusable (doomed). */
int store_write_check(store_t *s, store_table_t t, const void *key,
		      size_t klen);
void store_write_refused(store_t *s, int rc);
/* store_lmdb_err: LMDB's code rc translated at the module edge (what:
 * the operation), recorded in s->err; 0 for 0. */
int store_lmdb_err(store_t *s, int rc, const char *what);

#endif
