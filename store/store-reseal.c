/* store-reseal.c: the store's background re-sealing (store.h,
 * store_reseal_some): records not sealed under the current data key are
 * rewritten a batch at a time inside the caller's turn, table by table, the
 * referral keys first, resuming where the last batch stopped. Each record
 * is read and written back through store_get and store_put, so it is
 * checked and sealed as any other. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <lmdb.h>

#include "seal.h"
#include "store.h"
#include "store-int.h"

/* One table's next batch of records not sealed under the current key. */
static int reseal_table(store_t *s, store_table_t t, size_t max,
			size_t *ret_done, bool *ret_end)
{
	MDB_txn *txn = store_wtxn(s);
	MDB_cursor *cur;
	MDB_val k, v;
	uint8_t (*keys)[512] = malloc(max * sizeof(*keys));
	size_t *lens = malloc(max * sizeof(size_t)), n = 0;
	uint32_t cur_id = seal_current_id(s->seal), id;
	int rc, r = 0;

	*ret_end = false;
	if (!keys || !lens) {
		free(keys);
		free(lens);
		return -ENOMEM;
	}
	rc = mdb_cursor_open(txn, s->dbi[t], &cur);
	if (rc) {
		free(keys);
		free(lens);
		return store_lmdb_err(s, rc, "cursor");
	}
	if (s->reseal_klen) {
		k.mv_size = s->reseal_klen;
		k.mv_data = s->reseal_key;
		rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
		if (!rc && k.mv_size == s->reseal_klen &&
		    !memcmp(k.mv_data, s->reseal_key, k.mv_size))
			rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
	} else {
		rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
	}
	/* Gather first, rewrite after: a put moves the cursor's page. */
	for (size_t seen = 0; !rc && n < max && seen < max * 8; seen++) {
		char rid[SEAL_REF_ID_MAX + 1];

		if (k.mv_size <= sizeof(keys[0]) && v.mv_size >= DIGEST_LEN &&
		    (t == STORE_REFKEYS ||
		     !seal_ref_id(v.mv_data, v.mv_size - DIGEST_LEN, rid,
				  sizeof(rid))) &&
		    (!seal_is_sealed(v.mv_data, v.mv_size - DIGEST_LEN, &id) ||
		     id != cur_id)) {
			memcpy(keys[n], k.mv_data, k.mv_size);
			lens[n++] = k.mv_size;
		}
		if (k.mv_size <= sizeof(s->reseal_key)) {
			memcpy(s->reseal_key, k.mv_data, k.mv_size);
			s->reseal_klen = k.mv_size;
		}
		rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
	}
	mdb_cursor_close(cur);
	if (rc == MDB_NOTFOUND)
		*ret_end = true;
	else if (rc)
		r = store_lmdb_err(s, rc, "cursor get");
	for (size_t i = 0; !r && i < n; i++) {
		uint8_t *val;
		size_t vl;
		r = store_get(s, t, keys[i], lens[i], &val, &vl);
		if (!r) {
			r = store_put(s, t, keys[i], lens[i], val, vl);
			free(val);
		}
	}
	*ret_done = n;
	free(keys);
	free(lens);
	return r;
}

int store_reseal_some(store_t *s, size_t max, size_t *ret_done, bool *ret_all)
{
	/* The referral keys first: a purge's rotation needs only them. */
	static const store_table_t order[] = { STORE_REFKEYS, STORE_OUTBOX,
		STORE_INBOX, STORE_HELD, STORE_HISTORY };
	const int n_order = (int)(sizeof(order) / sizeof(order[0]));
	size_t done = 0;
	int r = 0;

	*ret_all = false;
	*ret_done = 0;
	if (!s->seal || !store_wtxn(s))
		return -EINVAL;
	while (s->reseal_t < n_order && done < max) {
		size_t n = 0;
		bool end = false;
		r = reseal_table(s, order[s->reseal_t], max - done, &n, &end);
		if (r)
			return r;
		done += n;
		if (!end)
			break;
		s->reseal_t++;
		s->reseal_klen = 0;
	}
	*ret_done = done;
	*ret_all = s->reseal_t >= n_order;
	return 0;
}
