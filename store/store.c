/* store.c: see store.h.
 *
 * Record layout: value bytes, then SHA-256(table name || 0 || key || value).
 * The digest covers the key so a record copied under another key is caught
 * as surely as an edited one. In the tables that hold personal data the
 * value bytes are sealed (seal.h) with AAD table name || 0 || key, so the
 * plaintext never reaches LMDB, and an edited or moved ciphertext fails
 * its tag on read. The background re-sealing is in store-reseal.c; the
 * turn's transaction and its events (undo log or nested transaction) are
 * in store-txn.c, which this file writes through; the state they share is
 * in store-int.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <lmdb.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "errors.h"
#include "seal.h"
#include "store.h"
#include "store-int.h"
#include "util.h"

#define FORMAT "referral.store.v1"

static const char *const table_names[STORE__N] = {
	[STORE_OUTBOX] = "outbox",     [STORE_INBOX] = "inbox",
	[STORE_REFERRALS] = "referrals", [STORE_SEEN] = "seen",
	[STORE_AUDIT] = "audit",       [STORE_REQUESTS] = "requests",
	[STORE_RECEIPTS] = "receipts",
	[STORE_HISTORY] = "history",     [STORE_HELD] = "held",
	[STORE_WITNESSED] = "witnessed",
	[STORE_META] = "meta",
	[STORE_TOKENS] = "tokens",      [STORE_FEED] = "feed",
	[STORE_RETENTION] = "retention", [STORE_REFKEYS] = "refkeys",
};

/* Applicants' details travel in envelopes (outbox, inbox, held changes)
 * and history records: those tables are sealed. */
static bool sealed_table(store_table_t t)
{
	return t == STORE_OUTBOX || t == STORE_INBOX || t == STORE_HELD ||
	       t == STORE_HISTORY || t == STORE_REFKEYS;
}

static int checked(store_t *s, store_table_t t, const MDB_val *k,
		   const MDB_val *v);
static int open_value(store_t *s, MDB_txn *txn, store_table_t t,
		      const MDB_val *k, const void *v, size_t vl,
		      uint8_t **ret_buf, size_t *ret_len);

/* The cache of referrals' keys: a slot per hash of the id. */
static struct refkey_slot *refkey_slot(store_t *s, const char *id,
				       size_t len)
{
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < len; i++)
		h = (h ^ (uint8_t)id[i]) * 16777619u;
	return &s->refkeys[h % REFKEY_SLOTS];
}

static void refkey_keep(store_t *s, const char *id, size_t idlen,
			const uint8_t *key, size_t len)
{
	struct refkey_slot *e = refkey_slot(s, id, idlen);

	OPENSSL_cleanse(e, sizeof(*e));
	if (idlen >= sizeof(e->id) || len > sizeof(e->key))
		return;
	memcpy(e->id, id, idlen);
	memcpy(e->key, key, len);
	e->len = len;
}

static void refkey_drop(store_t *s, const char *id, size_t idlen)
{
	struct refkey_slot *e = refkey_slot(s, id, idlen);

	if (e->len && strlen(e->id) == idlen && !memcmp(e->id, id, idlen))
		OPENSSL_cleanse(e, sizeof(*e));
}

/* A referral's own key, from the refkeys table in txn: REF_E_NOT_FOUND if
 * it has none. */
static int refkey_read(store_t *s, MDB_txn *txn, const char *id,
		       uint8_t out[SEAL_REFKEY_MAX], size_t *ret_len)
{
	MDB_val k = { strlen(id), (void *)id }, v;
	struct refkey_slot *e = refkey_slot(s, id, k.mv_size);
	uint8_t *plain;
	size_t pl;
	int rc, r;

	if (e->len && !strcmp(e->id, id)) {
		memcpy(out, e->key, e->len);
		*ret_len = e->len;
		return 0;
	}
	if (s->absent[STORE_REFKEYS])
		return REF_E_NOT_FOUND;
	rc = mdb_get(txn, s->dbi[STORE_REFKEYS], &k, &v);
	if (rc == MDB_NOTFOUND)
		return REF_E_NOT_FOUND;
	if (rc)
		return store_lmdb_err(s, rc, "get");
	r = checked(s, STORE_REFKEYS, &k, &v);
	if (!r)
		r = open_value(s, txn, STORE_REFKEYS, &k, v.mv_data,
			       v.mv_size - DIGEST_LEN, &plain, &pl);
	if (r)
		return r;
	if (!plain || pl > SEAL_REFKEY_MAX) {
		free(plain);
		return REF_E_CORRUPT;
	}
	memcpy(out, plain, pl);
	*ret_len = pl;
	refkey_keep(s, id, k.mv_size, plain, pl);
	OPENSSL_cleanse(plain, pl);
	free(plain);
	return 0;
}

static size_t aad_of(store_table_t t, const void *key, size_t klen,
		     uint8_t *out, size_t cap)
{
	size_t nl = strlen(table_names[t]);

	if (nl + 1 + klen > cap)
		klen = cap - nl - 1;
	memcpy(out, table_names[t], nl);
	out[nl] = 0;
	memcpy(out + nl + 1, key, klen);
	return nl + 1 + klen;
}

/* The plaintext of a checked record: *ret_buf is NULL when v itself is
 * the plaintext (an unsealed table, or a record written before the node
 * had a data key), else malloc'd. txn: the one v was read in (a referral's
 * key is read there). */
static int open_value(store_t *s, MDB_txn *txn, store_table_t t,
		      const MDB_val *k, const void *v, size_t vl,
		      uint8_t **ret_buf, size_t *ret_len)
{
	uint8_t aad[600], rk[SEAL_REFKEY_MAX];
	char kh[2 * 40 + 1], rid[SEAL_REF_ID_MAX + 1];
	size_t al, rkl;
	uint32_t id;
	bool ref;
	int r;

	*ret_buf = NULL;
	*ret_len = vl;
	if (!sealed_table(t))
		return 0;
	ref = t != STORE_REFKEYS && seal_ref_id(v, vl, rid, sizeof(rid));
	if (!ref && !seal_is_sealed(v, vl, &id))
		return 0;
	util_hex(k->mv_data, k->mv_size < 40 ? k->mv_size : 40, kh);
	if (!s->seal) {
		snprintf(s->err, sizeof(s->err), "%s record with key %s is "
			 "encrypted and no data key was given", table_names[t],
			 kh);
		return REF_E_CONFIG;
	}
	al = aad_of(t, k->mv_data, k->mv_size, aad, sizeof(aad));
	if (ref) {
		r = refkey_read(s, txn, rid, rk, &rkl);
		if (r == REF_E_NOT_FOUND) {
			snprintf(s->err, sizeof(s->err), "%s record of referral "
				 "%.64s: its key is no longer held (purged)",
				 table_names[t], rid);
			return REF_E_CORRUPT;
		}
		if (!r)
			r = seal_ref_decrypt(rk, rkl, aad, al, v, vl, ret_buf,
					     ret_len);
		OPENSSL_cleanse(rk, sizeof(rk));
		if (r)
			snprintf(s->err, sizeof(s->err), "%s record with key %s "
				 "does not decrypt: its ciphertext was changed or "
				 "moved", table_names[t], kh);
		return r;
	}
	r = seal_decrypt(s->seal, aad, al, v, vl, ret_buf, ret_len);
	if (r == REF_E_UNKNOWN_KEY)
		snprintf(s->err, sizeof(s->err), "%s record with key %s is "
			 "sealed under data key %u, which the data key file "
			 "does not hold", table_names[t], kh, id);
	else if (r)
		snprintf(s->err, sizeof(s->err), "%s record with key %s does "
			 "not decrypt: its ciphertext was changed or moved",
			 table_names[t], kh);
	return r == REF_E_UNKNOWN_KEY ? REF_E_CORRUPT : r;
}

void store_set_owner(store_t *s, store_owner_fn fn)
{
	s->owner = fn;
}

void store_set_seal(store_t *s, seal_t *seal)
{
	s->seal = seal;
	s->reseal_t = 0;
	s->reseal_klen = 0;
}

const char *store_table_name(store_table_t t)
{
	return t < STORE__N ? table_names[t] : "?";
}

const char *store_last_error(const store_t *s)
{
	return s->err;
}

static void digest(store_table_t t, const void *key, size_t klen,
		   const void *val, size_t vlen, uint8_t out[DIGEST_LEN])
{
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	const char *name = table_names[t];

	EVP_DigestInit_ex(c, util_md_sha256(), NULL);
	EVP_DigestUpdate(c, name, strlen(name) + 1);
	EVP_DigestUpdate(c, key, klen);
	EVP_DigestUpdate(c, val, vlen);
	EVP_DigestFinal_ex(c, out, NULL);
	EVP_MD_CTX_free(c);
}

static size_t round_pages(size_t n, size_t page)
{
	return (n + page - 1) / page * page;
}

static char open_err[300];

const char *store_open_error(void)
{
	return open_err;
}

int store_open(const char *dir, const store_opts_t *o, store_t **ret)
{
	store_t *s = calloc(1, sizeof(*s));
	MDB_txn *txn = NULL;
	int rc, r;

	if (!s)
		return -ENOMEM;
	s->page = (size_t)sysconf(_SC_PAGESIZE);
	s->map_max = round_pages(o->map_max, s->page);
	s->map_size = round_pages(o->map_initial < o->map_max ? o->map_initial
							       : o->map_max,
				  s->page);
	s->submit_pct = o->submit_limit_pct ? o->submit_limit_pct : 90;
	s->reserve = o->reserve;
	if (!o->readonly && mkdir(dir, 0700) < 0 && errno != EEXIST) {
		r = -errno;
		free(s);
		return r;
	}
	rc = mdb_env_create(&s->env);
	if (rc)
		goto fail;
	mdb_env_set_maxdbs(s->env, STORE__N + 2);
	/* An existing store keeps its size if larger than the initial one. */
	{
		char path[4096];
		struct stat st;
		snprintf(path, sizeof(path), "%s/data.mdb", dir);
		if (stat(path, &st) == 0 && (size_t)st.st_size > s->map_size) {
			s->map_size = round_pages((size_t)st.st_size, s->page);
			if (s->map_size > s->map_max)
				s->map_max = s->map_size;
		}
	}
	rc = mdb_env_set_mapsize(s->env, s->map_size);
	if (rc)
		goto fail;
	rc = mdb_env_open(s->env, dir, MDB_NOTLS | (o->readonly ? MDB_RDONLY : 0),
			  0600);
	if (rc)
		goto fail;
	{
		MDB_envinfo info;
		MDB_stat est;
		char path[4096];
		struct stat st;

		mdb_env_info(s->env, &info);
		s->map_size = info.me_mapsize;
		/* A file cut short would be read past its end through the map
		 * (SIGBUS): refuse it here, naming it, before any read. */
		snprintf(path, sizeof(path), "%s/data.mdb", dir);
		if (!mdb_env_stat(s->env, &est) && stat(path, &st) == 0 &&
		    (uint64_t)st.st_size < ((uint64_t)info.me_last_pgno + 1) *
					  est.ms_psize) {
			snprintf(open_err, sizeof(open_err), "%.200s is %lld bytes, "
				 "shorter than its last page (%llu bytes): the "
				 "file was truncated", path, (long long)st.st_size,
				 ((unsigned long long)info.me_last_pgno + 1) *
				 est.ms_psize);
			mdb_env_close(s->env);
			free(s);
			return REF_E_CORRUPT;
		}
	}
	rc = mdb_txn_begin(s->env, NULL, o->readonly ? MDB_RDONLY : 0, &txn);
	if (rc == MDB_MAP_RESIZED && o->readonly) {
		/* The node grew the map between the open and this read. */
		rc = mdb_env_set_mapsize(s->env, 0);
		if (!rc)
			rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn);
	}
	if (rc)
		goto fail;
	for (int i = 0; i < STORE__N; i++) {
		rc = mdb_dbi_open(txn, table_names[i],
				  o->readonly ? 0 : MDB_CREATE, &s->dbi[i]);
		if (rc == MDB_NOTFOUND && o->readonly && i >= STORE_TOKENS) {
			s->absent[i] = true;
			rc = 0;
		}
		if (rc)
			goto fail;
	}
	rc = mdb_txn_commit(txn);
	txn = NULL;
	if (rc)
		goto fail;
	*ret = s;
	/* A new store is stamped with its format; an old one must carry it. */
	{
		uint8_t *val;
		size_t vlen;
		r = store_get(s, STORE_META, "format", 6, &val, &vlen);
		if (r == REF_E_NOT_FOUND && o->readonly) {
			r = REF_E_CORRUPT;
		} else if (r == REF_E_NOT_FOUND) {
			r = store_begin(s);
			if (!r)
				r = store_put(s, STORE_META, "format", 6, FORMAT,
					      strlen(FORMAT));
			if (!r)
				r = store_commit(s);
			else
				store_abort(s);
		} else if (r == 0) {
			if (vlen != strlen(FORMAT) || memcmp(val, FORMAT, vlen))
				r = REF_E_CORRUPT;
			free(val);
		}
	}
	if (r) {
		store_close(ret);
		return r;
	}
	return 0;
fail:
	r = store_lmdb_err(s, rc, "open store");
	snprintf(open_err, sizeof(open_err), "%s", s->err);
	if (txn)
		mdb_txn_abort(txn);
	if (s->env)
		mdb_env_close(s->env);
	free(s);
	return r;
}

void store_close(store_t **sp)
{
	store_t *s = sp ? *sp : NULL;

	if (!s)
		return;
	store_abort(s);
	refkey_forget(s);
	free(s->undo);
	mdb_env_close(s->env);
	free(s);
	*sp = NULL;
}

int store_maybe_grow(store_t *s)
{
	size_t used, map, want;
	int rc;

	/* Not inside a turn, nor a walk: a remap would pull the pages from
	 * under either. */
	if (s->turn || s->walk)
		return -EBUSY;
	store_usage(s, &used, &map, NULL);
	/* Grow at three quarters full, or when less than the reserve (room
	 * for the largest message a turn may bring) is free: LMDB cannot grow
	 * the map while a transaction is open, so the room must be there
	 * before the turn starts. */
	if (map >= s->map_max ||
	    (used < map / 4 * 3 && map - used >= s->reserve))
		return 0;
	want = map * 2;
	if (want < used + 2 * s->reserve)
		want = round_pages(used + 2 * s->reserve, s->page);
	if (want > s->map_max)
		want = s->map_max;
	rc = mdb_env_set_mapsize(s->env, want);
	if (rc)
		return store_lmdb_err(s, rc, "grow map");
	s->map_size = want;
	return 0;
}

bool store_at_limit(store_t *s)
{
	size_t map;

	store_usage(s, NULL, &map, NULL);
	return map >= s->map_max;
}

bool store_submit_allowed(store_t *s)
{
	size_t used;

	store_usage(s, &used, NULL, NULL);
	return used < s->map_max / 100 * s->submit_pct;
}

/* A referral's own key, made and kept (sealed under the ring) if it has
 * none yet. */
static int refkey_get_or_make(store_t *s, MDB_txn *txn, const char *id,
			      uint8_t out[SEAL_REFKEY_MAX], size_t *ret_len)
{
	int r = refkey_read(s, txn, id, out, ret_len);

	if (r != REF_E_NOT_FOUND)
		return r;
	r = seal_refkey_new(s->seal, out, ret_len);
	if (!r)
		r = store_put(s, STORE_REFKEYS, id, strlen(id), out, *ret_len);
	if (!r) /* forgotten if this event or turn is undone */
		refkey_keep(s, id, strlen(id), out, *ret_len);
	return r;
}

int store_put(store_t *s, store_table_t t, const void *key, size_t klen,
	      const void *val, size_t vlen)
{
	MDB_val k = { klen, (void *)key }, v;
	MDB_txn *txn = store_wtxn(s);
	uint8_t *sealed = NULL;
	int rc = store_write_check(s, t, key, klen);

	if (rc)
		return rc;
	if (s->seal && sealed_table(t)) {
		uint8_t aad[600], rk[SEAL_REFKEY_MAX];
		char rid[SEAL_REF_ID_MAX + 1];
		size_t al = aad_of(t, key, klen, aad, sizeof(aad)), il = 0, rkl;
		int r;

		if (t != STORE_REFKEYS && s->owner)
			il = s->owner(s, t, key, klen, val, vlen, rid,
				      sizeof(rid));
		if (il && il < sizeof(rid)) {
			rid[il] = '\0';
			r = refkey_get_or_make(s, txn, rid, rk, &rkl);
			if (!r)
				r = seal_ref_encrypt(rk, rkl, rid, aad, al, val,
						     vlen, &sealed, &vlen);
			OPENSSL_cleanse(rk, sizeof(rk));
		} else {
			r = seal_encrypt(s->seal, aad, al, val, vlen, &sealed,
					 &vlen);
		}
		if (r)
			return r;
		val = sealed;
	}
	v.mv_size = vlen + DIGEST_LEN;
	v.mv_data = NULL;
	rc = mdb_put(txn, s->dbi[t], &k, &v, MDB_RESERVE);
	if (rc) {
		free(sealed);
		store_write_refused(s, rc);
		return store_lmdb_err(s, rc, "put");
	}
	memcpy(v.mv_data, val, vlen);
	digest(t, key, klen, val, vlen, (uint8_t *)v.mv_data + vlen);
	free(sealed);
	if (t == STORE_REFKEYS)
		refkey_drop(s, key, klen); /* read again, as stored */
	return 0;
}

static int checked(store_t *s, store_table_t t, const MDB_val *k,
		   const MDB_val *v)
{
	uint8_t d[DIGEST_LEN];
	char kh[2 * 40 + 1];
	size_t kl = k->mv_size < 40 ? k->mv_size : 40;

	if (v->mv_size >= DIGEST_LEN) {
		digest(t, k->mv_data, k->mv_size, v->mv_data,
		       v->mv_size - DIGEST_LEN, d);
		if (!memcmp(d, (uint8_t *)v->mv_data + v->mv_size - DIGEST_LEN,
			    DIGEST_LEN))
			return 0;
	}
	util_hex(k->mv_data, kl, kh);
	snprintf(s->err, sizeof(s->err),
		 "%s record with key %s fails its digest", table_names[t], kh);
	return REF_E_CORRUPT;
}

/* Reads go through the turn's transaction when one is open (so a turn
 * sees its own writes), else through the walk's when called from a
 * store_foreach callback (one snapshot; and a remap below would unmap the
 * pages under the walk's cursor), else through a short read-only one. */
static int rtxn(store_t *s, MDB_txn **ret, bool *ret_own)
{
	int rc;

	if (store_wtxn(s) || s->walk) {
		*ret = store_wtxn(s) ? store_wtxn(s) : s->walk;
		*ret_own = false;
		return 0;
	}
	rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, ret);
	if (rc == MDB_MAP_RESIZED) {
		/* Another process (the node) grew the map since this one
		 * opened it: adopt the new size and read on. */
		rc = mdb_env_set_mapsize(s->env, 0);
		if (!rc)
			rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, ret);
	}
	*ret_own = true;
	return store_lmdb_err(s, rc, "begin read");
}

int store_get(store_t *s, store_table_t t, const void *key, size_t klen,
	      uint8_t **ret_val, size_t *ret_len)
{
	MDB_val k = { klen, (void *)key }, v;
	MDB_txn *txn;
	bool own;
	uint8_t *out;
	int r, rc;

	if (s->absent[t])
		return REF_E_NOT_FOUND;
	r = rtxn(s, &txn, &own);
	if (r)
		return r;
	rc = mdb_get(txn, s->dbi[t], &k, &v);
	r = store_lmdb_err(s, rc, "get");
	if (!r)
		r = checked(s, t, &k, &v);
	if (!r)
		r = open_value(s, txn, t, &k, v.mv_data, v.mv_size - DIGEST_LEN,
			       &out, ret_len);
	if (!r && out) {
		*ret_val = out;
	} else if (!r) {
		out = malloc(v.mv_size - DIGEST_LEN + 1);
		if (!out) {
			r = -ENOMEM;
		} else {
			memcpy(out, v.mv_data, v.mv_size - DIGEST_LEN);
			out[v.mv_size - DIGEST_LEN] = 0;
			*ret_val = out;
			*ret_len = v.mv_size - DIGEST_LEN;
		}
	}
	if (own)
		mdb_txn_abort(txn);
	return r;
}

int store_del(store_t *s, store_table_t t, const void *key, size_t klen)
{
	MDB_val k = { klen, (void *)key };
	MDB_txn *txn = store_wtxn(s);
	int rc = store_write_check(s, t, key, klen);

	if (rc)
		return rc;
	if (t == STORE_REFKEYS)
		refkey_drop(s, key, klen);
	rc = mdb_del(txn, s->dbi[t], &k, NULL);
	store_write_refused(s, rc);
	return store_lmdb_err(s, rc, "del");
}

int store_put_msg(store_t *s, store_table_t t, const void *key, size_t klen,
		  const ProtobufCMessage *m)
{
	size_t n = protobuf_c_message_get_packed_size(m);
	uint8_t *buf = malloc(n ? n : 1);
	int r;

	if (!buf)
		return -ENOMEM;
	protobuf_c_message_pack(m, buf);
	r = store_put(s, t, key, klen, buf, n);
	free(buf);
	return r;
}

int store_get_msg(store_t *s, store_table_t t, const void *key, size_t klen,
		  const ProtobufCMessageDescriptor *d, ProtobufCMessage **ret)
{
	uint8_t *buf;
	size_t n;
	ProtobufCMessage *m;
	int r = store_get(s, t, key, klen, &buf, &n);

	if (r)
		return r;
	m = protobuf_c_message_unpack(d, NULL, n, buf);
	free(buf);
	if (!m) {
		snprintf(s->err, sizeof(s->err), "%s record does not parse",
			 table_names[t]);
		return REF_E_CORRUPT;
	}
	*ret = m;
	return 0;
}

/* One record of a walk: its key and its checked value (the digest at its
 * end), in the walk's transaction. */
typedef int (*step_fn)(store_t *s, MDB_txn *txn, store_table_t t,
		       const MDB_val *k, const MDB_val *v, void *ctx);

/* Walks t from `from` (its first key if NULL) in the store's read
 * transaction, each record checked before step sees it; a step's
 * STORE_STOP ends the walk as a success. */
static int cursor_walk(store_t *s, store_table_t t, const void *from,
		       size_t flen, step_fn step, void *ctx)
{
	MDB_txn *txn;
	MDB_cursor *cur;
	MDB_val k, v;
	bool own;
	int r, rc;

	if (s->absent[t])
		return 0;
	r = rtxn(s, &txn, &own);
	if (r)
		return r;
	rc = mdb_cursor_open(txn, s->dbi[t], &cur);
	if (rc) {
		if (own)
			mdb_txn_abort(txn);
		return store_lmdb_err(s, rc, "cursor");
	}
	r = 0;
	if (own)
		s->walk = txn;
	k.mv_data = (void *)from;
	k.mv_size = flen;
	for (rc = mdb_cursor_get(cur, &k, &v, from ? MDB_SET_RANGE : MDB_FIRST);
	     rc == 0; rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		r = checked(s, t, &k, &v);
		if (!r)
			r = step(s, txn, t, &k, &v, ctx);
		if (r)
			break;
	}
	if (!r && rc != MDB_NOTFOUND)
		r = store_lmdb_err(s, rc, "cursor get");
	if (r == STORE_STOP)
		r = 0;
	mdb_cursor_close(cur);
	if (own) {
		s->walk = NULL;
		mdb_txn_abort(txn);
	}
	return r;
}

struct value_walk {
	store_foreach_fn fn;
	void *ctx;
};

/* store_foreach's step: the value opened (unsealed) for fn. */
static int value_step(store_t *s, MDB_txn *txn, store_table_t t,
		      const MDB_val *k, const MDB_val *v, void *ctx)
{
	struct value_walk *w = ctx;
	uint8_t *plain;
	size_t pl;
	int r = open_value(s, txn, t, k, v->mv_data, v->mv_size - DIGEST_LEN,
			   &plain, &pl);

	if (r)
		return r;
	r = w->fn(w->ctx, k->mv_data, k->mv_size, plain ? plain : v->mv_data,
		  pl);
	free(plain);
	return r;
}

static int walk(store_t *s, store_table_t t, const void *from, size_t flen,
		store_foreach_fn fn, void *ctx)
{
	struct value_walk w = { fn, ctx };

	return cursor_walk(s, t, from, flen, value_step, &w);
}

struct owner_walk {
	store_owner_walk_fn fn;
	void *ctx;
};

/* store_foreach_owner's step: the referral a record belongs to, read
 * from its sealed header, or else from the record opened (an older
 * record sealed under the ring, or one not sealed at all). */
static int owner_step(store_t *s, MDB_txn *txn, store_table_t t,
		      const MDB_val *k, const MDB_val *v, void *ctx)
{
	struct owner_walk *w = ctx;
	char rid[SEAL_REF_ID_MAX + 1] = "";
	size_t vl = v->mv_size - DIGEST_LEN;

	if (!sealed_table(t) || t == STORE_REFKEYS ||
	    !seal_ref_id(v->mv_data, vl, rid, sizeof(rid))) {
		uint8_t *plain = NULL;
		size_t pl;
		int r = open_value(s, txn, t, k, v->mv_data, vl, &plain, &pl);

		if (r)
			return r;
		rid[0] = '\0';
		if (s->owner && s->owner(s, t, k->mv_data, k->mv_size,
					 plain ? plain : v->mv_data, pl, rid,
					 sizeof(rid)) == 0)
			rid[0] = '\0';
		free(plain);
	}
	return w->fn(w->ctx, k->mv_data, k->mv_size, rid);
}

int store_foreach_owner(store_t *s, store_table_t t, store_owner_walk_fn fn,
			void *ctx)
{
	struct owner_walk w = { fn, ctx };

	return cursor_walk(s, t, NULL, 0, owner_step, &w);
}

int store_foreach(store_t *s, store_table_t t, store_foreach_fn fn, void *ctx)
{
	return walk(s, t, NULL, 0, fn, ctx);
}

int store_foreach_from(store_t *s, store_table_t t, const void *from,
		       size_t flen, store_foreach_fn fn, void *ctx)
{
	return walk(s, t, from, flen, fn, ctx);
}

int store_last(store_t *s, store_table_t t, uint8_t **ret_key, size_t *ret_klen,
	       uint8_t **ret_val, size_t *ret_vlen)
{
	MDB_txn *txn;
	MDB_cursor *cur;
	MDB_val k, v;
	bool own;
	int r, rc;

	if (s->absent[t])
		return REF_E_NOT_FOUND;
	r = rtxn(s, &txn, &own);
	if (r)
		return r;
	rc = mdb_cursor_open(txn, s->dbi[t], &cur);
	if (!rc) {
		rc = mdb_cursor_get(cur, &k, &v, MDB_LAST);
		r = store_lmdb_err(s, rc, "last");
		if (!r)
			r = checked(s, t, &k, &v);
		if (!r && sealed_table(t)) {
			/* Only unsealed tables are read this way (the audit
			 * chain's head); a sealed one would need opening. */
			r = -ENOTSUP;
		}
		if (!r) {
			uint8_t *kb = malloc(k.mv_size + 1);
			uint8_t *vb = malloc(v.mv_size - DIGEST_LEN + 1);
			if (!kb || !vb) {
				free(kb);
				free(vb);
				r = -ENOMEM;
			} else {
				memcpy(kb, k.mv_data, k.mv_size);
				memcpy(vb, v.mv_data, v.mv_size - DIGEST_LEN);
				*ret_key = kb;
				*ret_klen = k.mv_size;
				*ret_val = vb;
				*ret_vlen = v.mv_size - DIGEST_LEN;
			}
		}
		mdb_cursor_close(cur);
	} else {
		r = store_lmdb_err(s, rc, "cursor");
	}
	if (own)
		mdb_txn_abort(txn);
	return r;
}

static int count_one(void *ctx, const uint8_t *k, size_t kl, const uint8_t *v,
		     size_t vl)
{
	(void)ctx; (void)k; (void)kl; (void)v; (void)vl;
	return 0;
}

int store_check(store_t *s, char *ret_where, size_t where_len)
{
	for (int t = 0; t < STORE__N; t++) {
		int r = store_foreach(s, (store_table_t)t, count_one, NULL);
		if (r) {
			if (ret_where)
				snprintf(ret_where, where_len, "%s", s->err);
			return r;
		}
	}
	return 0;
}

int store_copy(store_t *s, const char *dir)
{
	char path[4200];
	int rc;

	if (s->walk)
		return -EBUSY;
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return -errno;
	snprintf(path, sizeof(path), "%s/data.mdb", dir);
	/* A read transaction's snapshot, while the node goes on writing:
	 * compacted, so free pages (and what they held) are left behind. */
	for (int i = 0;; i++) {
		rc = mdb_env_copy2(s->env, dir, MDB_CP_COMPACT);
		if (rc != MDB_MAP_RESIZED || i == 4)
			break;
		/* The node grew the map since this reader opened it: adopt
		 * the new size and copy again, over a fresh file. */
		unlink(path);
		rc = mdb_env_set_mapsize(s->env, 0);
		if (rc)
			break;
	}
	return store_lmdb_err(s, rc, "copy");
}

bool store_failed(const store_t *s)
{
	return s->failed;
}
