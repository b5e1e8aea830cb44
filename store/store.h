/* store.h: a node's durable state in one LMDB environment.
 *
 * Tables: outbox, inbox, referrals, seen (message ids already applied),
 * audit (hash-chained), requests (client request ids), receipts (every
 * receipt held for what we sent), history (each referral's states),
 * held (status changes that arrived before their predecessors),
 * witnessed (peers' signed audit checkpoints), meta, tokens, feed,
 * retention (legal holds and purges), refkeys (each referral's own key,
 * sealed under the ring).
 *
 * Promises:
 * - One writer. Writes happen only inside the turn transaction opened by
 *   store_begin and made durable by store_commit (synced: never
 *   MDB_NOSYNC); the broker replies only after store_commit returns 0.
 * - Every record carries a SHA-256 over its table, key and value: LMDB has
 *   no checksums, so a torn or edited record is caught on read
 *   (REF_E_CORRUPT) and by store_check, never silently used.
 * - The map grows on demand up to map_max; past the submit limit new
 *   submissions are refused (REF_E_STORE_FULL) while the remaining room
 *   serves deliveries and receipts.
 * Not thread-safe: one thread owns a store_t. */
#ifndef REF_STORE_H
#define REF_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <protobuf-c/protobuf-c.h>

typedef struct store store_t;

typedef enum {
	STORE_OUTBOX,
	STORE_INBOX,
	STORE_REFERRALS,
	STORE_SEEN,
	STORE_AUDIT,
	STORE_REQUESTS,
	STORE_RECEIPTS,
	STORE_HISTORY,
	STORE_HELD,
	STORE_WITNESSED,
	STORE_META,
	STORE_TOKENS,       /* gateway tokens (hashes), by name */
	STORE_FEED,         /* what courts' and bureaus' systems are owed */
	STORE_RETENTION,    /* legal holds and purges, by referral id */
	STORE_REFKEYS,      /* each referral's own key, sealed by the ring */
	STORE__N
} store_table_t;

typedef struct {
	size_t map_initial;    /* bytes; rounded to pages */
	size_t map_max;        /* bytes: the store never grows past this */
	unsigned submit_limit_pct; /* refuse submissions past this % of map_max */
	size_t reserve;        /* keep this much free ahead of need (bytes) */
	bool readonly;         /* an auditor's view: nothing can be written,
				  and a missing store is not created */
} store_opts_t;

/* store_open: opens (creating if need be) the environment in dir. A file
 * shorter than its last page is refused (REF_E_CORRUPT) before any read;
 * store_open_error says why the last store_open failed. */
int store_open(const char *dir, const store_opts_t *opts, store_t **ret);
const char *store_open_error(void);
/* store_close: aborts an open turn; safe on NULL and twice. */
void store_close(store_t **s);

/* Turn transactions. store_begin is idempotent within a turn. */
int store_begin(store_t *s);
int store_commit(store_t *s);
void store_abort(store_t *s);
bool store_in_turn(const store_t *s);
/* Events: one event's writes apply whole or not at all within the turn.
 * With room in the map (the reserve kept ahead of a turn), an event writes
 * straight into the turn and store_event_abort puts back what its writes
 * replaced; near the store's limit, and for a minute after a write was
 * refused, it is an LMDB nested transaction, so that an event the store
 * cannot hold fails alone and the turn goes on. A write refused outside a
 * nested event fails the whole turn at store_commit. */
int store_event_begin(store_t *s);
int store_event_commit(store_t *s);
void store_event_abort(store_t *s);

/* store_maybe_grow: outside a turn, grows the map ahead of need, so that
 * at least the reserve is free (up to map_max). */
int store_maybe_grow(store_t *s);
/* store_submit_allowed: false once usage passes the submit limit. */
bool store_submit_allowed(store_t *s);
/* store_at_limit: the map has reached map_max and cannot grow further. */
bool store_at_limit(store_t *s);
/* store_usage: bytes in use (high-water mark) and the configured max. */
void store_usage(store_t *s, size_t *ret_used, size_t *ret_map,
		 size_t *ret_max);

int store_put(store_t *s, store_table_t t, const void *key, size_t klen,
	      const void *val, size_t vlen);
/* store_get: a checked copy of the value (*ret_val malloc'd). */
int store_get(store_t *s, store_table_t t, const void *key, size_t klen,
	      uint8_t **ret_val, size_t *ret_len);
int store_del(store_t *s, store_table_t t, const void *key, size_t klen);

int store_put_msg(store_t *s, store_table_t t, const void *key, size_t klen,
		  const ProtobufCMessage *m);
/* store_get_msg: unpacks into *ret (free with protobuf_c_message_free_unpacked). */
int store_get_msg(store_t *s, store_table_t t, const void *key, size_t klen,
		  const ProtobufCMessageDescriptor *d, ProtobufCMessage **ret);

/* store_foreach: calls fn for every record in key order (checked first).
 * fn returns 0 to go on, > 0 to stop (returned), < 0 on error. Reads fn
 * makes outside a turn see the walk's snapshot, and the map is not grown
 * (store_maybe_grow answers -EBUSY) until the walk ends. */
typedef int (*store_foreach_fn)(void *ctx, const uint8_t *key, size_t klen,
				const uint8_t *val, size_t vlen);
int store_foreach(store_t *s, store_table_t t, store_foreach_fn fn, void *ctx);
/* store_foreach_from: the same from the first key >= from (flen bytes). A
 * callback returning STORE_STOP ends either walk early, as a success. */
int store_foreach_from(store_t *s, store_table_t t, const void *from,
		       size_t flen, store_foreach_fn fn, void *ctx);
#define STORE_STOP 0x7fffff00
/* store_last: the last record of a table in key order (REF_E_NOT_FOUND). */
int store_last(store_t *s, store_table_t t, uint8_t **ret_key, size_t *ret_klen,
	       uint8_t **ret_val, size_t *ret_vlen);

/* store_set_seal: from now on, the tables that hold personal data
 * (outbox, inbox, held, history) and refkeys are written sealed under
 * seal's current key, or a referral's own key (store_set_owner), and read
 * through it (seal is borrowed; NULL: written in clear).
 * Records written before stay readable as they are. */
struct seal;
void store_set_seal(store_t *s, struct seal *seal);
/* store_set_owner: fn names the referral a record of a sealed table
 * belongs to (its id in out, which holds cap bytes; returns the id's
 * length, 0 for none): such a record is sealed under that referral's own
 * key (seal.h), made on first use and kept in the refkeys table, sealed
 * under the ring. Deleting a referral's key (store_del on STORE_REFKEYS)
 * leaves its records unreadable: rewrite them first. Records of no
 * referral, and every record when fn is NULL, are sealed under the ring.
 * Reads need no owner: a sealed value names its referral. */
typedef size_t (*store_owner_fn)(store_t *s, store_table_t t,
				 const uint8_t *key, size_t klen,
				 const uint8_t *val, size_t vlen, char *out,
				 size_t cap);
void store_set_owner(store_t *s, store_owner_fn fn);
/* store_foreach_owner: every record of t (checked) with the id of the
 * referral it belongs to, "" for none: read off a value sealed under a
 * referral's key without opening it; any other value opened and named
 * by the owner function. fn as store_foreach's. */
typedef int (*store_owner_walk_fn)(void *ctx, const uint8_t *key,
				   size_t klen, const char *referral_id);
int store_foreach_owner(store_t *s, store_table_t t, store_owner_walk_fn fn,
			void *ctx);
/* store_reseal_some: inside a turn, rewrites up to max records of those
 * tables (and the referral keys) that are not sealed under the current
 * key (a record under its referral's key is left as it is), from where the last
 * call stopped; *ret_all once every table has been walked. A rotation
 * (store_set_seal again) starts the walk over. */
int store_reseal_some(store_t *s, size_t max, size_t *ret_done, bool *ret_all);

/* store_copy: a consistent copy of the whole store into dir (created
 * 0700; data.mdb must not exist there), taken from one read snapshot while
 * the writer goes on. Sealed records stay sealed. */
int store_copy(store_t *s, const char *dir);

/* store_check: verifies every record's digest; on failure names the table
 * and key (hex) in ret_where (caller-sized, may be NULL). */
int store_check(store_t *s, char *ret_where, size_t where_len);

/* store_failed: LMDB reported a fatal error (a write it cannot undo):
 * nothing can be committed until the store is opened again. */
bool store_failed(const store_t *s);

const char *store_table_name(store_table_t t);
/* store_strerror_detail: the LMDB text of the last failure, for logs. */
const char *store_last_error(const store_t *s);

#endif
