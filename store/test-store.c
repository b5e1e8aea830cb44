/* test-store.c: tables, turn and event transactions (group commit), record
 * digests, map growth and the store-full refusal, the audit chain, and
 * the sealed tables (personal data encrypted before LMDB). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>
#include <lmdb.h>
#include <openssl/evp.h>

#include "../proto/testutil.h"
#include "audit.h"
#include "errors.h"
#include "seal.h"
#include "store.h"
#include "util.h"

static char dir[] = "/tmp/test-store-XXXXXX";

static store_t *open_store(size_t max)
{
	store_opts_t o = { .map_initial = 64 * 1024, .map_max = max,
			   .submit_limit_pct = 80 };
	store_t *s = NULL;

	CHECK(store_open(dir, &o, &s) == 0);
	return s;
}

static int has(store_t *s, const char *key)
{
	uint8_t *v;
	size_t n;
	int r = store_get(s, STORE_INBOX, key, strlen(key), &v, &n);

	if (r == 0)
		free(v);
	return r == 0;
}

/* One record put in a turn of its own, as the node commits: 0, or why
 * the put or the commit failed (the turn then aborted). */
static int put_turn(store_t *s, store_table_t t, const char *key,
		    const void *v, size_t n)
{
	int r = store_begin(s);

	if (!r)
		r = store_put(s, t, key, strlen(key), v, n);
	if (!r)
		return store_commit(s);
	store_abort(s);
	return r;
}

static void test_turns(void)
{
	store_t *s = open_store(1 << 20);
	uint8_t *v;
	size_t n;

	/* A turn that is aborted leaves nothing. */
	CHECK(store_begin(s) == 0);
	CHECK(store_put(s, STORE_INBOX, "a", 1, "1", 1) == 0);
	CHECK(has(s, "a")); /* the turn sees its own write */
	store_abort(s);
	CHECK(!has(s, "a"));

	/* Several events in one turn, one of them aborted: the others commit
	 * together. */
	CHECK(store_event_begin(s) == 0);
	CHECK(store_put(s, STORE_INBOX, "b", 1, "2", 1) == 0);
	CHECK(store_event_commit(s) == 0);
	CHECK(store_event_begin(s) == 0);
	CHECK(store_put(s, STORE_INBOX, "c", 1, "3", 1) == 0);
	store_event_abort(s);
	CHECK(store_event_begin(s) == 0);
	CHECK(store_put(s, STORE_INBOX, "d", 1, "4", 1) == 0);
	CHECK(store_event_commit(s) == 0);
	CHECK(store_commit(s) == 0);
	store_close(&s);
	CHECK(s == NULL);
	store_close(&s); /* safe twice */

	s = open_store(1 << 20);
	CHECK(has(s, "b") && !has(s, "c") && has(s, "d"));
	CHECK(store_get(s, STORE_INBOX, "d", 1, &v, &n) == 0 && n == 1 &&
	      v[0] == '4');
	free(v);
	CHECK_EQ_INT(store_get(s, STORE_INBOX, "zz", 2, &v, &n),
		     REF_E_NOT_FOUND);
	CHECK_EQ_INT(store_put(s, STORE_INBOX, "e", 1, "5", 1), -EINVAL);
	CHECK(store_check(s, NULL, 0) == 0);
	store_close(&s);
}

/* Events of one big record each until the store refuses one: why. */
static int fill_events(store_t *s, const uint8_t *big, size_t len)
{
	int r = 0;

	for (int i = 0; i < 16 && !r; i++) {
		char k[16];

		snprintf(k, sizeof(k), "big%d", i);
		CHECK(store_event_begin(s) == 0);
		r = store_put(s, STORE_META, k, strlen(k), big, len);
		if (r)
			store_event_abort(s);
		else
			CHECK(store_event_commit(s) == 0);
	}
	return r;
}

/* An event on the undo log (a map with room): its abort puts back what
 * each key held, a key written twice included, and removes what it made;
 * a write the store refuses there fails the whole turn at its commit, and
 * the events after it nest, so that each fails alone. */
static void test_undo(void)
{
	char big_dir[] = "/tmp/test-store-undo-XXXXXX";
	store_opts_t o = { .map_initial = 9u << 20, .map_max = 9u << 20,
			   .submit_limit_pct = 80 };
	store_t *s = NULL;
	static uint8_t mb[1 << 20];
	uint8_t *v;
	size_t n;

	CHECK(mkdtemp(big_dir) != NULL);
	CHECK(store_open(big_dir, &o, &s) == 0);
	CHECK(put_turn(s, STORE_INBOX, "a", "1", 1) == 0);
	CHECK(put_turn(s, STORE_INBOX, "x", "9", 1) == 0);
	CHECK(store_event_begin(s) == 0);
	CHECK(store_put(s, STORE_INBOX, "a", 1, "2", 1) == 0);
	CHECK(store_put(s, STORE_INBOX, "a", 1, "3", 1) == 0);
	CHECK(store_put(s, STORE_INBOX, "b", 1, "new", 3) == 0);
	CHECK(store_del(s, STORE_INBOX, "x", 1) == 0);
	CHECK(!has(s, "x") && has(s, "b")); /* the event sees its writes */
	store_event_abort(s);
	CHECK(store_get(s, STORE_INBOX, "a", 1, &v, &n) == 0 && n == 1 &&
	      v[0] == '1');
	free(v);
	CHECK(!has(s, "b") && has(s, "x"));
	CHECK(store_event_begin(s) == 0);
	CHECK(store_put(s, STORE_INBOX, "c", 1, "4", 1) == 0);
	CHECK(store_event_commit(s) == 0);
	CHECK(store_commit(s) == 0);
	CHECK(has(s, "c") && has(s, "x") && !has(s, "b"));
	CHECK(store_check(s, NULL, 0) == 0);
	/* A key written again after many others is noted twice: put back
	 * all the same. */
	CHECK(store_event_begin(s) == 0);
	CHECK(store_put(s, STORE_INBOX, "a", 1, "X", 1) == 0);
	for (int i = 0; i < 100; i++) {
		char k[16];

		snprintf(k, sizeof(k), "n%d", i);
		CHECK(store_put(s, STORE_INBOX, k, strlen(k), "v", 1) == 0);
	}
	CHECK(store_put(s, STORE_INBOX, "a", 1, "Y", 1) == 0);
	store_event_abort(s);
	CHECK(store_get(s, STORE_INBOX, "a", 1, &v, &n) == 0 && n == 1 &&
	      v[0] == '1');
	free(v);
	CHECK(!has(s, "n0") && !has(s, "n99"));
	/* A key LMDB refuses before touching a page leaves the turn whole. */
	{
		char key[600];

		memset(key, 'k', sizeof(key));
		CHECK(store_event_begin(s) == 0);
		CHECK(store_put(s, STORE_INBOX, "h", 1, "9", 1) == 0);
		CHECK_EQ_INT(store_put(s, STORE_META, key, sizeof(key), "v", 1),
			     REF_E_STORE);
		store_event_abort(s);
		CHECK(store_event_begin(s) == 0);
		CHECK(store_put(s, STORE_INBOX, "i", 1, "0", 1) == 0);
		CHECK(store_event_commit(s) == 0);
		CHECK(store_commit(s) == 0);
		CHECK(has(s, "i") && !has(s, "h"));
	}

	/* Filled inside one turn past what the map holds. */
	CHECK(store_begin(s) == 0);
	CHECK(store_put(s, STORE_INBOX, "d", 1, "5", 1) == 0);
	CHECK_EQ_INT(fill_events(s, mb, sizeof(mb)), REF_E_STORE_FULL);
	CHECK_EQ_INT(store_event_begin(s), REF_E_STORE_FULL);
	CHECK_EQ_INT(store_put(s, STORE_INBOX, "e", 1, "6", 1),
		     REF_E_STORE_FULL);
	CHECK_EQ_INT(store_commit(s), REF_E_STORE_FULL);
	CHECK(strstr(store_last_error(s), "refused") != NULL);
	CHECK(!store_in_turn(s));
	CHECK(!has(s, "d") && has(s, "a") && has(s, "c"));
	/* Nested now: the event that does not fit fails alone. */
	CHECK(store_begin(s) == 0);
	CHECK(store_event_begin(s) == 0);
	CHECK(store_put(s, STORE_INBOX, "f", 1, "7", 1) == 0);
	CHECK(store_event_commit(s) == 0);
	CHECK_EQ_INT(fill_events(s, mb, sizeof(mb)), REF_E_STORE_FULL);
	CHECK(store_event_begin(s) == 0);
	CHECK(store_put(s, STORE_INBOX, "g", 1, "8", 1) == 0);
	CHECK(store_event_commit(s) == 0);
	CHECK(store_commit(s) == 0);
	CHECK(has(s, "f") && has(s, "g"));
	CHECK(store_check(s, NULL, 0) == 0);
	store_close(&s);
	snprintf((char *)mb, sizeof(mb), "rm -rf %s", big_dir);
	CHECK(system((char *)mb) == 0);
}

/* LMDB's own error codes (MDB_KEYEXIST .. MDB_LAST_ERRCODE) leave the
 * store as REF_E_STORE, never as a negative that reads as some errno: a
 * key longer than LMDB takes fails with MDB_BAD_VALSIZE, which the store
 * used to pass on as -30781 ("Unknown error 30781"). */
static void test_lmdb_codes(void)
{
	store_t *s = open_store(1 << 20);
	char key[600];

	memset(key, 'k', sizeof(key));
	CHECK(store_begin(s) == 0);
	CHECK_EQ_INT(store_put(s, STORE_META, key, sizeof(key), "v", 1),
		     REF_E_STORE);
	CHECK(strstr(store_last_error(s), "MDB_BAD_VALSIZE") != NULL);
	CHECK(!strcmp(ref_strerror(REF_E_STORE), "store error"));
	store_abort(s);
	store_close(&s);
}

/* Edits a record behind the store's back, as a disk fault or a person
 * would, and expects the digest to catch it. */
static void test_digest(void)
{
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	MDB_val k = { 1, "b" }, v;
	store_t *s;
	char where[200];
	uint8_t *val;
	size_t n;

	mdb_env_create(&env);
	mdb_env_set_maxdbs(env, 16);
	CHECK(mdb_env_open(env, dir, 0, 0600) == 0);
	mdb_txn_begin(env, NULL, 0, &txn);
	CHECK(mdb_dbi_open(txn, "inbox", 0, &dbi) == 0);
	CHECK(mdb_get(txn, dbi, &k, &v) == 0);
	{
		uint8_t copy[64];
		memcpy(copy, v.mv_data, v.mv_size);
		copy[0] ^= 1;
		v.mv_data = copy;
		CHECK(mdb_put(txn, dbi, &k, &v, 0) == 0);
	}
	CHECK(mdb_txn_commit(txn) == 0);
	mdb_env_close(env);

	s = open_store(1 << 20);
	CHECK_EQ_INT(store_get(s, STORE_INBOX, "b", 1, &val, &n), REF_E_CORRUPT);
	CHECK_EQ_INT(store_check(s, where, sizeof(where)), REF_E_CORRUPT);
	CHECK(strstr(where, "inbox") && strstr(where, "62")); /* "b" in hex */
	/* Still readable elsewhere, and nothing was rewritten. */
	CHECK(has(s, "d"));
	store_close(&s);
}

static void test_full(void)
{
	char small[] = "/tmp/test-store-full-XXXXXX";
	store_opts_t o = { .map_initial = 32 * 1024, .map_max = 512 * 1024,
			   .submit_limit_pct = 50 };
	store_t *s = NULL;
	uint8_t blob[2000] = { 0 };
	int r = 0, i, refused_at = -1;
	size_t used, map, max, first_map;

	CHECK(mkdtemp(small) != NULL);
	CHECK(store_open(small, &o, &s) == 0);
	store_usage(s, NULL, &first_map, NULL);
	for (i = 0; i < 2000 && r == 0; i++) {
		char key[16];
		if (refused_at < 0 && !store_submit_allowed(s))
			refused_at = i;
		CHECK(store_maybe_grow(s) == 0);
		snprintf(key, sizeof(key), "k%05d", i);
		blob[0] = (uint8_t)i;
		r = put_turn(s, STORE_OUTBOX, key, blob, sizeof(blob));
	}
	store_usage(s, &used, &map, &max);
	printf("store full after %d records: used %zu of map %zu (max %zu), "
	       "submissions refused from record %d\n", i, used, map, max,
	       refused_at);
	CHECK_EQ_INT(r, REF_E_STORE_FULL);
	CHECK(map > first_map);          /* it grew */
	CHECK(map == max);               /* up to the limit, not past it */
	CHECK(refused_at > 0 && refused_at < i - 1);
	CHECK(!store_submit_allowed(s));
	/* What was committed before the refusal is intact. */
	CHECK(store_check(s, NULL, 0) == 0);
	{
		uint8_t *v;
		size_t n;
		CHECK(store_get(s, STORE_OUTBOX, "k00000", 6, &v, &n) == 0 &&
		      n == sizeof(blob));
		free(v);
	}
	/* Deleting frees room; new writes fit again. */
	CHECK(store_begin(s) == 0);
	CHECK(store_del(s, STORE_OUTBOX, "k00000", 6) == 0);
	CHECK(store_del(s, STORE_OUTBOX, "k00001", 6) == 0);
	CHECK(store_commit(s) == 0);
	CHECK(store_begin(s) == 0);
	CHECK(store_put(s, STORE_OUTBOX, "again", 5, blob, 100) == 0);
	CHECK(store_commit(s) == 0);
	store_close(&s);
	{
		char cmd[300];
		snprintf(cmd, sizeof(cmd), "rm -rf %s", small);
		CHECK(system(cmd) == 0);
	}
}

/* A reader (refctl) walks a table while the node, another process, grows
 * the map far past the reader's. Reads made from inside the walk (the
 * export looks up each record's hash there) must go through the walk's
 * own transaction: remapping for them would pull the pages from under the
 * walk's cursor. */
struct walk {
	const char *dir;
	store_t *s;
	int seen, bad;
};

/* The node: 8 MB written in 1,000 turns, its map doubling as it fills. */
static int node_writes(const char *d, char prefix)
{
	store_opts_t o = { .map_initial = 64 * 1024, .map_max = 64 << 20 };
	store_t *s = NULL;
	static uint8_t big[8000];
	int r = store_open(d, &o, &s);

	memset(big, 7, sizeof(big));
	for (int i = 0; !r && i < 1000; i++) {
		char bk[16];
		snprintf(bk, sizeof(bk), "%c%05d", prefix, i);
		r = store_maybe_grow(s);
		if (!r)
			r = put_turn(s, STORE_INBOX, bk, big, sizeof(big));
	}
	store_close(&s);
	return r;
}

static int walk_one(void *ctx, const uint8_t *k, size_t kl, const uint8_t *v,
		    size_t vl)
{
	struct walk *w = ctx;
	char key[16];
	uint8_t *nv;
	size_t nl;

	snprintf(key, sizeof(key), "k%05d", w->seen);
	if (kl != strlen(key) || memcmp(k, key, kl) || vl != 1000 ||
	    v[0] != (uint8_t)w->seen || v[999] != (uint8_t)w->seen)
		w->bad++;
	if (w->seen++ == 0) {
		pid_t pid = fork();
		int st = -1;
		if (pid == 0)
			_exit(node_writes(w->dir, 'b') ? 1 : 0);
		CHECK(pid > 0 && waitpid(pid, &st, 0) == pid);
		CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	}
	if (store_get(w->s, STORE_OUTBOX, k, kl, &nv, &nl) == 0) {
		if (nl != vl || memcmp(nv, v, vl))
			w->bad++;
		free(nv);
	} else {
		w->bad++;
	}
	return 0;
}

static void test_reader_while_node_grows(void)
{
	store_opts_t ro = { .map_initial = 64 * 1024, .map_max = (size_t)1 << 40,
			    .readonly = true };
	store_t *s = open_store(64 << 20);
	struct walk w = { dir, NULL, 0, 0 };
	uint8_t rec[1000], *v;
	size_t n, map_before, map_after;

	for (int i = 0; i < 200; i++) {
		char key[16];
		snprintf(key, sizeof(key), "k%05d", i);
		memset(rec, i, sizeof(rec));
		CHECK(store_maybe_grow(s) == 0);
		CHECK(store_begin(s) == 0);
		CHECK(store_put(s, STORE_OUTBOX, key, strlen(key), rec,
				sizeof(rec)) == 0);
		CHECK(store_commit(s) == 0);
	}
	store_close(&s);
	CHECK(store_open(dir, &ro, &w.s) == 0);
	store_usage(w.s, NULL, &map_before, NULL);
	CHECK(store_foreach(w.s, STORE_OUTBOX, walk_one, &w) == 0);
	CHECK_EQ_INT(w.seen, 200);
	CHECK_EQ_INT(w.bad, 0);
	/* After the walk the reader adopts the node's larger map and sees
	 * what it wrote. */
	CHECK(store_get(w.s, STORE_INBOX, "b00999", 6, &v, &n) == 0 &&
	      n == 8000 && v[0] == 7);
	free(v);
	store_usage(w.s, NULL, &map_after, NULL);
	printf("reader's map %zu before the node grew the store, %zu after\n",
	       map_before, map_after);
	CHECK(map_after > map_before);
	store_close(&w.s);

	/* A backup (refctl backup) taken by a reader whose map the node
	 * outgrew since it opened the store. */
	{
		char copy[300], cmd[400], fresh[300];
		store_opts_t small = { .map_initial = 64 * 1024,
				       .map_max = 64 << 20 };
		store_t *c = NULL;
		pid_t pid;
		int st = -1;

		snprintf(fresh, sizeof(fresh), "%s/fresh", dir);
		CHECK(store_open(fresh, &small, &c) == 0);
		CHECK(store_begin(c) == 0);
		CHECK(store_put(c, STORE_INBOX, "a", 1, "x", 1) == 0);
		CHECK(store_commit(c) == 0);
		store_close(&c);
		CHECK(store_open(fresh, &ro, &w.s) == 0);
		pid = fork();
		if (pid == 0)
			_exit(node_writes(fresh, 'c') ? 1 : 0);
		CHECK(pid > 0 && waitpid(pid, &st, 0) == pid);
		CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
		snprintf(copy, sizeof(copy), "%s-copy", dir);
		CHECK_EQ_INT(store_copy(w.s, copy), 0);
		store_close(&w.s);
		CHECK(store_open(copy, &ro, &c) == 0);
		CHECK(c && store_get(c, STORE_INBOX, "c00999", 6, &v, &n) == 0 &&
		      n == 8000);
		if (c)
			free(v);
		store_close(&c);
		snprintf(cmd, sizeof(cmd), "rm -rf %s", copy);
		CHECK(system(cmd) == 0);
	}
}

/* At the map's limit, the pages a commit frees are reused only after a
 * later commit: a turn whose every write failed commits nothing and would
 * fail the same way for ever. The node's nudge_store commits one page,
 * after which the write fits. */
static void test_full_reuse(void)
{
	char d[] = "/tmp/test-store-reuse-XXXXXX", cmd[300];
	store_opts_t o = { .map_initial = 256 * 1024, .map_max = 256 * 1024,
			   .submit_limit_pct = 100 };
	store_t *s = NULL;
	static uint8_t blob[8000];
	int i, n = 0, r = 0, stuck = -1;

	CHECK(mkdtemp(d) != NULL);
	CHECK(store_open(d, &o, &s) == 0);
	for (n = 0; r == 0 && n < 100; n++) {
		char key[16];
		snprintf(key, sizeof(key), "k%03d", n);
		r = put_turn(s, STORE_OUTBOX, key, blob, sizeof(blob));
	}
	CHECK_EQ_INT(r, REF_E_STORE_FULL);
	n--; /* records k000 .. k(n-1) are stored */
	/* One record goes (a receipt's rewrite leaves its old copy free):
	 * the next turn cannot use those pages yet. */
	CHECK(store_begin(s) == 0);
	CHECK(store_del(s, STORE_OUTBOX, "k000", 4) == 0);
	CHECK(store_commit(s) == 0);
	for (i = 1; i < n && stuck < 0; i++) {
		char key[16];
		snprintf(key, sizeof(key), "k%03d", i);
		blob[0] = 1;
		r = put_turn(s, STORE_OUTBOX, key, blob, sizeof(blob));
		if (r)
			stuck = i;
	}
	printf("store full at %d records, one deleted: rewriting record %d "
	       "found it full until one page was committed\n", n, stuck);
	CHECK(stuck >= 0);
	if (stuck >= 0) {
		char key[16];
		uint8_t v[8] = { 0 };
		snprintf(key, sizeof(key), "k%03d", stuck);
		/* Again, with nothing committed between: the same refusal. */
		CHECK(store_begin(s) == 0);
		CHECK_EQ_INT(store_put(s, STORE_OUTBOX, key, strlen(key), blob,
				       sizeof(blob)), REF_E_STORE_FULL);
		store_abort(s);
		/* One page committed, then it fits. */
		CHECK(store_begin(s) == 0);
		CHECK(store_put(s, STORE_META, "full_at", 7, v, 8) == 0);
		CHECK(store_commit(s) == 0);
		CHECK(store_begin(s) == 0);
		r = store_put(s, STORE_OUTBOX, key, strlen(key), blob,
			      sizeof(blob));
		CHECK_EQ_INT(r, 0);
		if (!r)
			CHECK(store_commit(s) == 0);
		else
			store_abort(s);
	}
	store_close(&s);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", d);
	CHECK(system(cmd) == 0);
}

static int count_rec(void *ctx, const Referral__Store__V1__AuditRecord *r)
{
	(void)r;
	(*(int *)ctx)++;
	return 0;
}

static void test_audit(void)
{
	store_t *s = open_store(1 << 20);
	uint64_t bad = 99, count = 0, seq = 0;
	uint8_t id[16] = { 1 };
	int n = 0;

	CHECK(audit_verify(s, &bad, &count) == 0 && bad == 0 && count == 0);
	CHECK(store_begin(s) == 0);
	for (int i = 0; i < 5; i++) {
		audit_event_t e = { .event = "submitted",
				    .referral_id = "350581-x", .msg_id = id,
				    .outcome = "ok" };
		CHECK(audit_append(s, &e, &seq) == 0);
	}
	CHECK(store_commit(s) == 0);
	CHECK_EQ_INT(seq, 5);
	CHECK(audit_verify(s, &bad, &count) == 0 && count == 5);
	CHECK(audit_foreach(s, count_rec, &n) == 0 && n == 5);

	/* Delete record 3 behind the store's back (with its digest valid):
	 * the chain breaks there. */
	{
		uint8_t k[8] = { 0, 0, 0, 0, 0, 0, 0, 3 };
		CHECK(store_begin(s) == 0);
		CHECK(store_del(s, STORE_AUDIT, k, 8) == 0);
		CHECK(store_commit(s) == 0);
	}
	CHECK_EQ_INT(audit_verify(s, &bad, &count), REF_E_CORRUPT);
	CHECK_EQ_INT(bad, 3);
	store_close(&s);
}

static bool file_has(const char *path, const char *needle)
{
	uint8_t *b;
	size_t n;
	bool found;

	if (util_read_file(path, (size_t)1 << 30, &b, &n))
		return true; /* unreadable: count as found, so the check fails */
	found = memmem(b, n, needle, strlen(needle)) != NULL;
	free(b);
	return found;
}

/* Sealed tables: plaintext never in the file, read back through the key,
 * refused without it or when the ciphertext is altered; a rotation
 * re-seals every record under the new key. */
static void test_sealed(void)
{
	const char *canary = "ID 350581199003070000 of 陈示例";
	char kpath[4200], mdb[4200], err[300], where[300];
	seal_t *seal = NULL;
	store_t *s;
	uint8_t *v;
	size_t n, done = 0, total = 0;
	bool all = false;

	snprintf(kpath, sizeof(kpath), "%s/data.keys", dir);
	snprintf(mdb, sizeof(mdb), "%s/data.mdb", dir);
	CHECK(seal_keyfile_create(kpath, SEAL_AES_256_GCM) == 0);
	CHECK(seal_load(kpath, &seal, err, sizeof(err)) == 0);
	s = open_store(1 << 20);
	store_set_seal(s, seal);
	CHECK(store_begin(s) == 0);
	for (int i = 0; i < 50; i++) {
		char k[8];
		snprintf(k, sizeof(k), "k%02d", i);
		CHECK(store_put(s, STORE_OUTBOX, k, strlen(k), canary,
				strlen(canary)) == 0);
	}
	CHECK(store_put(s, STORE_REFERRALS, "r", 1, "plain", 5) == 0);
	CHECK(store_commit(s) == 0);
	CHECK(store_get(s, STORE_OUTBOX, "k07", 3, &v, &n) == 0);
	CHECK(n == strlen(canary) && !memcmp(v, canary, n));
	free(v);
	store_close(&s);
	CHECK(!file_has(mdb, "350581199003070000"));
	CHECK(file_has(mdb, "plain")); /* unsealed tables stay as they are */

	/* Without the key: a clear refusal naming the record. */
	s = open_store(1 << 20);
	CHECK_EQ_INT(store_get(s, STORE_OUTBOX, "k07", 3, &v, &n), REF_E_CONFIG);
	CHECK(strstr(store_last_error(s), "no data key") != NULL);
	CHECK_EQ_INT(store_check(s, where, sizeof(where)), REF_E_CONFIG);

	/* Rotation: every record sealed again under key 2, in batches. */
	store_set_seal(s, seal);
	CHECK(seal_rotate(seal, kpath, SEAL_AES_256_GCM) == 0);
	store_set_seal(s, seal);
	for (int turn = 0; turn < 20 && !all; turn++) {
		store_maybe_grow(s);
		CHECK(store_begin(s) == 0);
		CHECK(store_reseal_some(s, 8, &done, &all) == 0);
		total += done;
		CHECK(store_commit(s) == 0);
	}
	CHECK(all);
	CHECK_EQ_INT(total, 50);
	CHECK(seal_retire(seal, kpath) == 0);
	v = NULL;
	CHECK(store_get(s, STORE_OUTBOX, "k49", 3, &v, &n) == 0);
	CHECK(v && n == strlen(canary) && !memcmp(v, canary, n));
	free(v);
	CHECK(store_check(s, where, sizeof(where)) == 0);
	store_close(&s);
	CHECK(!file_has(mdb, "350581199003070000"));

	/* A ciphertext changed with its digest recomputed: the tag fails. */
	{
		MDB_env *env;
		MDB_txn *txn;
		MDB_dbi dbi;
		MDB_val k = { 3, "k10" }, val;
		uint8_t copy[512], d[32];
		EVP_MD_CTX *md = EVP_MD_CTX_new();
		unsigned dl;

		mdb_env_create(&env);
		mdb_env_set_maxdbs(env, 16);
		CHECK(mdb_env_open(env, dir, 0, 0600) == 0);
		mdb_txn_begin(env, NULL, 0, &txn);
		CHECK(mdb_dbi_open(txn, "outbox", 0, &dbi) == 0);
		CHECK(mdb_get(txn, dbi, &k, &val) == 0 && val.mv_size < sizeof(copy));
		memcpy(copy, val.mv_data, val.mv_size);
		copy[SEAL_HEADER + 2] ^= 1;
		EVP_DigestInit_ex(md, EVP_sha256(), NULL);
		EVP_DigestUpdate(md, "outbox", 7);
		EVP_DigestUpdate(md, "k10", 3);
		EVP_DigestUpdate(md, copy, val.mv_size - 32);
		EVP_DigestFinal_ex(md, d, &dl);
		EVP_MD_CTX_free(md);
		memcpy(copy + val.mv_size - 32, d, 32);
		val.mv_data = copy;
		CHECK(mdb_put(txn, dbi, &k, &val, 0) == 0);
		CHECK(mdb_txn_commit(txn) == 0);
		mdb_env_close(env);
	}
	s = open_store(1 << 20);
	store_set_seal(s, seal);
	CHECK_EQ_INT(store_get(s, STORE_OUTBOX, "k10", 3, &v, &n), REF_E_CORRUPT);
	CHECK(strstr(store_last_error(s), "does not decrypt") != NULL);
	CHECK(store_get(s, STORE_OUTBOX, "k11", 3, &v, &n) == 0);
	free(v);
	store_close(&s);
	seal_free(&seal);
}

/* History-like keys "ID" || 4 bytes belong to referral ID. */
static size_t owner_of(store_t *s, store_table_t t, const uint8_t *key,
		       size_t klen, const uint8_t *val, size_t vlen, char *out,
		       size_t cap)
{
	(void)s, (void)val, (void)vlen;
	if (t != STORE_HISTORY || klen <= 4 || klen - 4 >= cap)
		return 0;
	memcpy(out, key, klen - 4);
	out[klen - 4] = '\0';
	return klen - 4;
}

/* A store sealed with a fresh key file in dir, each referral's records
 * under its own key (owner_of). */
static seal_t *new_seal(void)
{
	char kpath[4200], err[300];
	seal_t *seal = NULL;

	snprintf(kpath, sizeof(kpath), "%s/data.keys", dir);
	CHECK(seal_keyfile_create(kpath, SEAL_AES_256_GCM) == 0);
	CHECK(seal_load(kpath, &seal, err, sizeof(err)) == 0);
	return seal;
}

static store_t *open_sealed(seal_t *seal)
{
	store_t *s = open_store(1 << 20);

	store_set_seal(s, seal);
	store_set_owner(s, owner_of);
	return s;
}

/* Per-referral keys: each referral's records sealed under a key of its
 * own, kept sealed under the ring; its key deleted, its records no longer
 * open; a rotation re-seals the keys, not the records under them. */
static void test_refkeys(void)
{
	const char *canary = "Canary applicant of a per-referral key";
	char kpath[4200], where[300], id[8];
	uint8_t key[8], *v;
	seal_t *seal = NULL;
	store_t *s;
	size_t n, done = 0, total = 0;
	bool all = false;

	seal = new_seal();
	s = open_sealed(seal);
	snprintf(kpath, sizeof(kpath), "%s/data.keys", dir);
	CHECK(store_begin(s) == 0);
	for (int r = 0; r < 3; r++)
		for (int i = 0; i < 4; i++) {
			snprintf(id, sizeof(id), "ref%d", r);
			memcpy(key, id, 4);
			memset(key + 4, 0, 3);
			key[7] = (uint8_t)i;
			CHECK(store_put(s, STORE_HISTORY, key, 8, canary,
					strlen(canary)) == 0);
		}
	CHECK(store_put(s, STORE_OUTBOX, "none", 4, canary, strlen(canary)) == 0);
	CHECK(store_commit(s) == 0);
	memcpy(key, "ref1", 4);
	memset(key + 4, 0, 4);
	CHECK(store_get(s, STORE_HISTORY, key, 8, &v, &n) == 0);
	CHECK(n == strlen(canary) && !memcmp(v, canary, n));
	free(v);
	CHECK(store_get(s, STORE_REFKEYS, "ref1", 4, &v, &n) == 0);
	CHECK_EQ_INT(n, 33); /* the algorithm byte and an AES-256 key */
	free(v);
	CHECK_EQ_INT(store_get(s, STORE_REFKEYS, "none", 4, &v, &n),
		     REF_E_NOT_FOUND);
	/* Rotation: the three referral keys and the one record under the
	 * ring are sealed again; the twelve under referral keys are not. */
	CHECK(seal_rotate(seal, kpath, SEAL_AES_256_GCM) == 0);
	store_set_seal(s, seal);
	for (int turn = 0; turn < 20 && !all; turn++) {
		CHECK(store_begin(s) == 0);
		CHECK(store_reseal_some(s, 8, &done, &all) == 0);
		total += done;
		CHECK(store_commit(s) == 0);
	}
	CHECK(all);
	CHECK_EQ_INT(total, 4);
	CHECK(seal_retire(seal, kpath) == 0);
	CHECK(store_get(s, STORE_HISTORY, key, 8, &v, &n) == 0);
	free(v);
	CHECK(store_check(s, where, sizeof(where)) == 0);
	/* The key deleted: its records no longer open, and say why. */
	CHECK(store_begin(s) == 0);
	CHECK(store_del(s, STORE_REFKEYS, "ref1", 4) == 0);
	CHECK(store_commit(s) == 0);
	CHECK_EQ_INT(store_get(s, STORE_HISTORY, key, 8, &v, &n), REF_E_CORRUPT);
	CHECK(strstr(store_last_error(s), "no longer held") != NULL);
	memcpy(key, "ref2", 4);
	CHECK(store_get(s, STORE_HISTORY, key, 8, &v, &n) == 0);
	free(v);
	store_close(&s);
	seal_free(&seal);
}

/* A referral's key made in an event or a turn that is undone is not
 * kept in memory either: the same referral's next record gets a key that
 * is stored, and opens after a restart. */
static void test_refkey_undone(void)
{
	const char *canary = "Canary applicant of an undone key";
	uint8_t k9[8] = { 'r', 'e', 'f', '9', 0, 0, 0, 1 };
	uint8_t k8[8] = { 'r', 'e', 'f', '8', 0, 0, 0, 1 };
	uint8_t *v = NULL;
	seal_t *seal = NULL;
	store_t *s;
	size_t n;

	seal = new_seal();
	s = open_sealed(seal);
	CHECK(store_begin(s) == 0);
	CHECK(store_event_begin(s) == 0);
	CHECK(store_put(s, STORE_HISTORY, k9, 8, canary, strlen(canary)) == 0);
	store_event_abort(s);
	CHECK(store_event_begin(s) == 0);
	CHECK(store_put(s, STORE_HISTORY, k9, 8, canary, strlen(canary)) == 0);
	CHECK(store_event_commit(s) == 0);
	CHECK(store_commit(s) == 0);
	CHECK(store_begin(s) == 0);
	CHECK(store_put(s, STORE_HISTORY, k8, 8, canary, strlen(canary)) == 0);
	store_abort(s);
	CHECK(store_begin(s) == 0);
	CHECK(store_put(s, STORE_HISTORY, k8, 8, canary, strlen(canary)) == 0);
	CHECK(store_commit(s) == 0);
	store_close(&s);
	s = open_sealed(seal);
	CHECK_EQ_INT(store_get(s, STORE_HISTORY, k9, 8, &v, &n), 0);
	if (v)
		CHECK(n == strlen(canary) && !memcmp(v, canary, n));
	free(v);
	v = NULL;
	CHECK_EQ_INT(store_get(s, STORE_HISTORY, k8, 8, &v, &n), 0);
	free(v);
	store_close(&s);
	seal_free(&seal);
}

int main(void)
{
	char cmd[300];

	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	test_turns();
	test_undo();
	test_lmdb_codes();
	test_digest();
	test_full();
	snprintf(cmd, sizeof(cmd), "rm -rf %s && mkdir -p %s", dir, dir);
	CHECK(system(cmd) == 0);
	test_reader_while_node_grows();
	test_full_reuse();
	rmdir(dir);
	snprintf(cmd, sizeof(cmd), "rm -rf %s && mkdir -p %s", dir, dir);
	CHECK(system(cmd) == 0);
	test_audit();
	snprintf(cmd, sizeof(cmd), "rm -rf %s && mkdir -p %s", dir, dir);
	CHECK(system(cmd) == 0);
	test_sealed();
	snprintf(cmd, sizeof(cmd), "rm -rf %s && mkdir -p %s", dir, dir);
	CHECK(system(cmd) == 0);
	test_refkeys();
	snprintf(cmd, sizeof(cmd), "rm -rf %s && mkdir -p %s", dir, dir);
	CHECK(system(cmd) == 0);
	test_refkey_undone();
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	CHECK(system(cmd) == 0);
	return test_finish("store");
}
