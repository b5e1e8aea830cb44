/* audit-tamper.c: changes a node's audit table behind its back, with
 * LMDB's own API, as someone with the file would: so tests can show that
 * `refctl audit verify` catches each change at the right sequence number.
 *
 *   audit-tamper STORE_DIR edit|rehash|delete|swap|truncate SEQ
 *
 * edit     flips a byte of record SEQ, leaving its stored digest stale
 * rehash   flips the same byte and recomputes the record's digest, as an
 *          informed forger would (only the hash chain catches this)
 * delete   removes record SEQ
 * swap     exchanges records SEQ and SEQ+1 (digests recomputed)
 * truncate removes SEQ and every later record
 * rechain  changes record SEQ's outcome, then recomputes every later
 *          record's link, every digest and the chain head, and drops the
 *          node's own signed checkpoints from its outbox: a history
 *          rewritten by its owner, which only peers' checkpoints catch
 * rechain-keep  the same, leaving the node's own checkpoints in place
 * Test-only: never installed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <lmdb.h>
#include <openssl/evp.h>
#include <openssl/sha.h>

#include "seal.h"
#include "store.pb-c.h"

static void key_of(unsigned long long seq, unsigned char k[8])
{
	for (int i = 0; i < 8; i++)
		k[i] = (unsigned char)(seq >> (56 - 8 * i));
}

/* The store's record digest: SHA-256(table || 0 || key || value). */
static void digest_in(const char *table, const unsigned char *k, size_t kl,
		      const unsigned char *v, size_t vl, unsigned char out[32])
{
	EVP_MD_CTX *c = EVP_MD_CTX_new();

	EVP_DigestInit_ex(c, EVP_sha256(), NULL);
	EVP_DigestUpdate(c, table, strlen(table) + 1);
	EVP_DigestUpdate(c, k, kl);
	EVP_DigestUpdate(c, v, vl);
	EVP_DigestFinal_ex(c, out, NULL);
	EVP_MD_CTX_free(c);
}

static void digest(const unsigned char *k, const unsigned char *v, size_t vl,
		   unsigned char out[32])
{
	EVP_MD_CTX *c = EVP_MD_CTX_new();

	EVP_DigestInit_ex(c, EVP_sha256(), NULL);
	EVP_DigestUpdate(c, "audit", 6);
	EVP_DigestUpdate(c, k, 8);
	EVP_DigestUpdate(c, v, vl);
	EVP_DigestFinal_ex(c, out, NULL);
	EVP_MD_CTX_free(c);
}

static int put(MDB_txn *t, MDB_dbi d, unsigned long long seq,
	       const unsigned char *val, size_t vl, int rehash)
{
	unsigned char k[8], *buf = malloc(vl);
	MDB_val key = { 8, k }, v = { vl, buf };
	int rc;

	key_of(seq, k);
	memcpy(buf, val, vl);
	if (rehash)
		digest(k, buf, vl - 32, buf + vl - 32);
	rc = mdb_put(t, d, &key, &v, 0);
	free(buf);
	return rc;
}

int main(int argc, char **argv)
{
	MDB_env *env;
	MDB_txn *t;
	MDB_dbi d;
	MDB_val key, val;
	unsigned char k[8];
	unsigned long long seq;
	int rc;

	if (argc != 4) {
		fprintf(stderr, "usage: audit-tamper STORE_DIR "
			"edit|rehash|delete|swap|truncate SEQ\n");
		return 2;
	}
	seq = strtoull(argv[3], NULL, 10);
	mdb_env_create(&env);
	mdb_env_set_maxdbs(env, 16);
	if ((rc = mdb_env_open(env, argv[1], 0, 0600)) ||
	    (rc = mdb_txn_begin(env, NULL, 0, &t)) ||
	    (rc = mdb_dbi_open(t, "audit", 0, &d))) {
		fprintf(stderr, "audit-tamper: %s\n", mdb_strerror(rc));
		return 1;
	}
	key_of(seq, k);
	key.mv_size = 8;
	key.mv_data = k;
	if ((rc = mdb_get(t, d, &key, &val))) {
		fprintf(stderr, "audit-tamper: record %llu: %s\n", seq,
			mdb_strerror(rc));
		return 1;
	}
	if (!strcmp(argv[2], "edit") || !strcmp(argv[2], "rehash")) {
		unsigned char *copy = malloc(val.mv_size);
		memcpy(copy, val.mv_data, val.mv_size);
		/* A byte in the middle of the record: its event or outcome. */
		copy[(val.mv_size - 32) / 2] ^= 0x01;
		rc = put(t, d, seq, copy, val.mv_size, argv[2][0] == 'r');
		free(copy);
	} else if (!strcmp(argv[2], "delete")) {
		rc = mdb_del(t, d, &key, NULL);
	} else if (!strcmp(argv[2], "swap")) {
		unsigned char *a = malloc(val.mv_size), *b;
		size_t al = val.mv_size, bl;
		unsigned char k2[8];
		MDB_val key2 = { 8, k2 }, v2;
		memcpy(a, val.mv_data, al);
		key_of(seq + 1, k2);
		if ((rc = mdb_get(t, d, &key2, &v2)) == 0) {
			bl = v2.mv_size;
			b = malloc(bl);
			memcpy(b, v2.mv_data, bl);
			rc = put(t, d, seq, b, bl, 1);
			if (!rc)
				rc = put(t, d, seq + 1, a, al, 1);
			free(b);
		}
		free(a);
	} else if (!strncmp(argv[2], "rechain", 7)) {
		unsigned char prev[32], *buf = NULL;
		int first = 1;
		unsigned long long last = seq;
		MDB_dbi meta;

		for (unsigned long long s = seq;; s++) {
			Referral__Store__V1__AuditRecord *r;
			size_t n;
			key_of(s, k);
			if (mdb_get(t, d, &key, &val))
				break;
			r = referral__store__v1__audit_record__unpack(NULL,
				val.mv_size - 32, val.mv_data);
			if (!r)
				return 1;
			char *orig_outcome = r->outcome;
			ProtobufCBinaryData orig_prev = r->prev_hash;
			if (first) {
				r->outcome = "REWRITTEN"; /* the forged change */
				first = 0;
			} else {
				r->prev_hash.data = prev;
				r->prev_hash.len = 32;
			}
			n = referral__store__v1__audit_record__get_packed_size(r);
			buf = realloc(buf, n + 32);
			referral__store__v1__audit_record__pack(r, buf);
			SHA256(buf, n, prev);
			/* Give back what protobuf-c allocated, not our stand-ins. */
			r->outcome = orig_outcome;
			r->prev_hash = orig_prev;
			referral__store__v1__audit_record__free_unpacked(r, NULL);
			if ((rc = put(t, d, s, buf, n + 32, 1)))
				break;
			last = s;
		}
		if (!rc && !(rc = mdb_dbi_open(t, "meta", 0, &meta))) {
			unsigned char hv[40 + 32];
			MDB_val mk = { 10, "audit_head" }, mv = { 72, hv };
			key_of(last, hv);
			memcpy(hv + 8, prev, 32);
			digest_in("meta", mk.mv_data, 10, hv, 40, hv + 40);
			rc = mdb_put(t, meta, &mk, &mv, 0);
		}
		free(buf);
		if (!rc && !strcmp(argv[2], "rechain")) {
			/* The owner holds the key: it drops what it signed. */
			MDB_dbi out;
			MDB_cursor *cur;
			MDB_val ck, cv;
			if (!(rc = mdb_dbi_open(t, "outbox", 0, &out)) &&
			    !(rc = mdb_cursor_open(t, out, &cur))) {
				/* Outbox records are sealed: the owner has
				 * the data key too (beside the store). */
				char kp[4200], kerr[300];
				seal_t *ring = NULL;
				snprintf(kp, sizeof(kp), "%s/../data.keys", argv[1]);
				seal_load(kp, &ring, kerr, sizeof(kerr));
				while (!mdb_cursor_get(cur, &ck, &cv, MDB_NEXT)) {
					uint8_t aad[300], *plain = NULL;
					size_t pl = cv.mv_size - 32;
					Referral__Store__V1__OutboxRecord *ob;
					memcpy(aad, "outbox", 7);
					memcpy(aad + 7, ck.mv_data,
					       ck.mv_size < 256 ? ck.mv_size : 256);
					if (ring && seal_is_sealed(cv.mv_data, pl, NULL))
						seal_decrypt(ring, aad, 7 + (ck.mv_size < 256
							? ck.mv_size : 256), cv.mv_data,
							pl, &plain, &pl);
					ob = referral__store__v1__outbox_record__unpack(
						NULL, pl, plain ? plain : cv.mv_data);
					free(plain);
					int cp = ob && ob->kind == 5;
					if (ob)
						referral__store__v1__outbox_record__free_unpacked(
							ob, NULL);
					if (cp)
						mdb_cursor_del(cur, 0);
				}
				mdb_cursor_close(cur);
				seal_free(&ring);
			}
		}
	} else if (!strcmp(argv[2], "truncate")) {
		for (unsigned long long s = seq;; s++) {
			key_of(s, k);
			if (mdb_del(t, d, &key, NULL))
				break;
		}
		rc = 0;
	} else {
		fprintf(stderr, "audit-tamper: unknown change %s\n", argv[2]);
		return 2;
	}
	if (!rc)
		rc = mdb_txn_commit(t);
	if (rc) {
		fprintf(stderr, "audit-tamper: %s\n", mdb_strerror(rc));
		return 1;
	}
	mdb_env_close(env);
	return 0;
}
