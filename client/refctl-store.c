/* refctl-store.c: refctl store check, backup and restore: the store as a
 * whole, read from the data folder itself (docs/RELIABILITY.md).
 *
 * check and backup only read the live store (a backup is LMDB's copy from
 * one snapshot, taken while the node serves); restore is the one command
 * that writes a store, and only with the node stopped (it holds the
 * node's lock file) and the current store put aside, never deleted. Every
 * copy is checked, record by record and along the audit chain, before it
 * is called good. */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <jansson.h>

#include "audit.h"
#include "cli.h"
#include "i18n.h"
#include "cli-store.h"
#include "datakey.h"
#include "errors.h"
#include "referral.h"
#include "refctl-store.h"
#include "store.h"
#include "util.h"

struct count_ctx {
	uint64_t n;
};

static int count_one(void *ctx, const uint8_t *k, size_t kl, const uint8_t *v,
		     size_t vl)
{
	(void)k; (void)kl; (void)v; (void)vl;
	((struct count_ctx *)ctx)->n++;
	return 0;
}

/* Every record of every table read and checked: its digest, and for a
 * sealed record its tag (so a changed ciphertext is caught), then the
 * audit chain. Read-only. */
static int store_check_all(store_t *s, uint64_t *ret_n, char *where, size_t wlen)
{
	uint64_t bad = 0, count = 0;
	int r = 0;

	*ret_n = 0;
	for (int t = 0; t < STORE__N && !r; t++) {
		struct count_ctx cc = { 0 };
		r = store_foreach(s, (store_table_t)t, count_one, &cc);
		*ret_n += cc.n;
		if (r)
			snprintf(where, wlen, "%s", store_last_error(s));
	}
	if (!r && (r = audit_verify(s, &bad, &count)))
		snprintf(where, wlen, "audit chain broken at sequence %llu",
			 (unsigned long long)bad);
	return r;
}

/* refctl store check: see store_check_all. */
int refctl_store(int argc, char **argv)
{
	store_t *s = NULL;
	seal_t *ring = NULL;
	char where[300] = "";
	uint64_t n;
	int r;

	if (argc < 2 || strcmp(argv[1], "check"))
		return cli_usage();
	if (cli_store_open(&s, &ring))
		return 1;
	r = store_check_all(s, &n, where, sizeof(where));
	store_close(&s);
	seal_free(&ring);
	if (r)
		return cli_fail(_("the store fails its checks: %s"),
				where[0] ? where : ref_strerror(r));
	printf(_("store intact: %llu records, every digest, every sealed "
	       "record's tag and the audit chain checked\n"),
	       (unsigned long long)n);
	return 0;
}

/* refctl backup DIR: a hot, consistent copy of the store (LMDB's copy,
 * from one snapshot, while the node serves), checked like `store check`
 * before it is called good, with backup.json saying what it holds. The
 * node's keys are not copied: keep them, and data.keys above all, apart. */
int refctl_store_backup(int argc, char **argv)
{
	const char *dir = argc > 1 ? argv[1] : NULL;
	store_t *s = NULL, *copy = NULL;
	seal_t *ring = NULL;
	store_opts_t so = { .map_initial = 1 << 20, .map_max = (size_t)1 << 40,
			    .readonly = true };
	char path[4096], where[300] = "", ts[32], hex[65], *text;
	uint64_t seq, n;
	uint8_t hash[32];
	struct stat st;
	json_t *o;
	int r;

	if (!dir || !strncmp(dir, "--", 2))
		return cli_usage();
	snprintf(path, sizeof(path), "%s/store/data.mdb", dir);
	if (stat(path, &st) == 0)
		return cli_fail(_("%s holds a store already; give an empty "
				"folder"), dir);
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return cli_fail(_("cannot create %s: %s"), dir, strerror(errno));
	if (cli_store_open(&s, &ring))
		return 1;
	snprintf(path, sizeof(path), "%s/store", dir);
	r = store_copy(s, path);
	if (r) {
		snprintf(where, sizeof(where), "the copy failed: %s",
			 store_last_error(s));
		store_close(&s);
		seal_free(&ring);
		return cli_fail(_("no backup in %s: %s"), dir, where);
	}
	store_close(&s);
	r = store_open(path, &so, &copy);
	if (!r) {
		store_set_seal(copy, ring);
		r = store_check_all(copy, &n, where, sizeof(where));
	}
	if (!r)
		r = audit_head(copy, &seq, hash);
	store_close(&copy);
	seal_free(&ring);
	if (r)
		return cli_fail(_("the copy in %s fails its checks (%s): do not "
				"keep it"), path, where[0] ? where : ref_strerror(r));
	util_hex(hash, 32, hex);
	util_rfc3339(util_now_ms(), ts);
	o = json_pack("{s:s, s:s, s:I, s:I, s:s, s:s}", "format",
		      "referral.v1/backup", "taken_at", ts, "records",
		      (json_int_t)n, "audit_head_seq", (json_int_t)seq,
		      "audit_head_hash", hex, "not_included",
		      "signing.key, curve.json, data.keys: keep them apart");
	text = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(o);
	snprintf(path, sizeof(path), "%s/backup.json", dir);
	r = text ? util_write_file(path, text, strlen(text), 0600) : -ENOMEM;
	free(text);
	if (r)
		return cli_fail(_("cannot write %s: %s"), path, ref_strerror(r));
	for (const char *const *f = (const char *const[]){ "referrald.conf",
		"directory.json", "directory.json.sig", "authority.pub.pem",
		"signing.pub.pem", NULL }; *f; f++) {
		uint8_t *b;
		size_t bl;
		char src[4096];
		snprintf(src, sizeof(src), "%s/%s", cli_data_dir, *f);
		snprintf(path, sizeof(path), "%s/%s", dir, *f);
		if (!util_read_file(src, 16 << 20, &b, &bl)) {
			util_write_file(path, b, bl, 0640);
			free(b);
		}
	}
	printf(_("backup in %s: %llu records, checked; audit chain up to "
	       "sequence %llu\n"), dir, (unsigned long long)n,
	       (unsigned long long)seq);
	return 0;
}

struct head_at {
	uint64_t seq, at_ms;
};

static int head_at_one(void *ctx, const Referral__Store__V1__AuditRecord *a)
{
	struct head_at *h = ctx;

	if (a->seq == h->seq)
		h->at_ms = a->time_ms;
	return 0;
}

/* "SEQ TIME_MS" of the backup's last audit record: where the restored
 * node's knowledge ends, told to its peers at its next start. */
static int backup_head(store_t *b, char *out, size_t len)
{
	struct head_at h = { 0, 0 };
	uint8_t hash[32];
	int r = audit_head(b, &h.seq, hash);

	if (!r)
		r = audit_foreach(b, head_at_one, &h);
	if (!r)
		snprintf(out, len, "%llu %llu", (unsigned long long)h.seq,
			 (unsigned long long)h.at_ms);
	return r;
}

/* fsync of one file, by path. */
static int sync_file(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), r = 0;

	if (fd < 0)
		return -errno;
	if (fsync(fd) < 0)
		r = -errno;
	close(fd);
	return r;
}

/* dir/BASE-TS, or dir/BASE-TS.N if taken (two restores in one second):
 * a name for a store put aside, never one already used. */
static void aside_name(const char *base, const char *ts, char *out, size_t len)
{
	struct stat st;

	snprintf(out, len, "%s/%s-%.19s", cli_data_dir, base, ts);
	for (int i = 2; stat(out, &st) == 0 && i < 1000; i++)
		snprintf(out, len, "%s/%s-%.19s.%d", cli_data_dir, base, ts, i);
}

/* A restore cut short leaves store.restoring behind: before the switch a
 * partial or marked copy, after it the store that was replaced. Either
 * way it is never in force and never deleted: it is put aside under a
 * name that says what it is, and the admin is told. */
static int set_leftover_aside(const char *tmp, const char *ts)
{
	char aside[4300];
	struct stat st;

	if (stat(tmp, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	aside_name("store.unfinished", ts, aside, sizeof(aside));
	if (rename(tmp, aside) < 0)
		return -errno;
	fprintf(stderr, "refctl: a restore cut short earlier left %s: put "
		"aside as %s (it is not in force; remove it once you have "
		"checked it)\n", tmp, aside);
	return util_sync_dir(cli_data_dir);
}

/* refctl restore --acknowledge (admin, the node running): a peer proved
 * that this store was rolled back without refctl restore (it witnessed
 * more of the node's audit chain), and the node holds every send until
 * an admin says so. Then it is taken as a restore from where the node's
 * run began: announced, and each peer sends back what it holds. */
static int acknowledge(void)
{
	ref_client_t *c = NULL;
	char *out = NULL;
	json_t *ans;
	int r;

	if (cli_client(&c))
		return 1;
	r = ref_call(c, "restore-acknowledge", NULL, cli_actor, NULL, NULL,
		     "{}", &out);
	if (r) {
		cli_fail("%s", i18n_detail(ref_last_error(c)));
		ref_close(&c);
		return 1;
	}
	ans = json_loads(out, 0, NULL);
	if (cli_want_json)
		cli_print_json(ans);
	else
		printf(_("acknowledged: the store, rolled back, is taken as a "
		       "restore from audit sequence %lld (%s witnessed up to "
		       "%lld); sending resumes, every peer is told, and each "
		       "sends back what it holds from after. The log and the "
		       "audit chain say how much came back; referrals "
		       "acknowledged after that point that never reached a "
		       "peer are gone.\n"),
		       (long long)json_integer_value(json_object_get(ans,
				"restore_point_seq")),
		       json_string_value(json_object_get(ans, "witnessed_by"))
				?: _("a peer"),
		       (long long)json_integer_value(json_object_get(ans,
				"witnessed_seq")));
	json_decref(ans);
	free(out);
	ref_close(&c);
	return 0;
}

/* refctl restore BACKUP: with the node stopped, the checked backup is
 * copied into store.restoring, marked there (so that the node, at its
 * next start, asks every peer to send again what it had receipted after
 * the backup), synced, and only then switched with the live store in one
 * rename (RENAME_EXCHANGE); the store that was there is put aside
 * (store.replaced-TIME, never deleted). A kill at any step leaves either
 * the old store in force or the marked restored one, never an unmarked
 * old store: the mark is in the copy before the copy can be in force. */
int refctl_store_restore(int argc, char **argv)
{
	const char *bk = argc > 1 ? argv[1] : NULL;
	store_opts_t ro = { .map_initial = 1 << 20, .map_max = (size_t)1 << 40,
			    .readonly = true };
	store_opts_t rw = { .map_initial = 1 << 20, .map_max = (size_t)1 << 40 };
	char path[4096], tmp[4200], aside[4200], file[4300], where[300] = "";
	char ts[32], mark[64];
	store_t *b = NULL, *s = NULL;
	seal_t *ring = NULL;
	struct stat st;
	bool had_store;
	config_t c;
	uint64_t n;
	int fd, r;

	if (bk && !strcmp(bk, "--acknowledge"))
		return acknowledge();
	if (!bk || !cli_data_dir || !*cli_data_dir)
		return cli_usage();
	snprintf(path, sizeof(path), "%s/referrald.lock", cli_data_dir);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0 || flock(fd, LOCK_EX | LOCK_NB) < 0) {
		if (fd >= 0)
			close(fd);
		return cli_fail(_("the node on %s is running: stop it before a "
				"restore"), cli_data_dir);
	}
	/* Unlike the read-only commands, a restore needs the ring: the store
	 * it writes must open at the node's next start. */
	if (cli_store_config(&c)) {
		close(fd);
		return 1;
	}
	if (datakey_load(&c, &ring, where, sizeof(where))) {
		close(fd);
		return cli_fail("%s", where);
	}
	snprintf(path, sizeof(path), "%s/store", bk);
	r = store_open(path, &ro, &b);
	if (!r) {
		store_set_seal(b, ring);
		r = store_check_all(b, &n, where, sizeof(where));
	}
	if (!r)
		r = backup_head(b, mark, sizeof(mark));
	if (r) {
		store_close(&b);
		seal_free(&ring);
		close(fd);
		return cli_fail(_("the backup in %s fails its checks (%s); "
				"nothing was changed"), bk,
				where[0] ? where : ref_strerror(r));
	}
	util_rfc3339(util_now_ms(), ts);
	snprintf(path, sizeof(path), "%s/store", cli_data_dir);
	snprintf(tmp, sizeof(tmp), "%s/store.restoring", cli_data_dir);
	r = set_leftover_aside(tmp, ts);
	if (r) {
		store_close(&b);
		seal_free(&ring);
		close(fd);
		return cli_fail(_("cannot put aside %s, left by a restore cut "
				"short: %s; nothing was changed"), tmp,
				strerror(-r));
	}
	/* 1. The copy, in a folder that is never opened as the store. */
	r = store_copy(b, tmp);
	store_close(&b);
	snprintf(where, sizeof(where), "copying the backup");
	/* 2. The mark, committed (and synced) in the copy itself. */
	if (!r) {
		snprintf(where, sizeof(where), "marking the copy restored");
		r = store_open(tmp, &rw, &s);
	}
	if (!r) {
		store_set_seal(s, ring);
		r = store_begin(s);
	}
	if (!r)
		r = store_put(s, STORE_META, "restored_from_backup", 20, mark,
			      strlen(mark));
	if (!r)
		r = store_commit(s);
	store_close(&s);
	seal_free(&ring);
	/* 3. The copy's files and its folder on disk before it can be in
	 * force (LMDB's copy writes without a sync of its own). */
	if (!r) {
		snprintf(where, sizeof(where), "syncing the copy");
		snprintf(file, sizeof(file), "%s/data.mdb", tmp);
		r = sync_file(file);
	}
	if (!r)
		r = util_sync_dir(tmp);
	/* 4. The switch: one rename, so the store in force is the old one
	 * or the marked copy, never neither. */
	had_store = stat(path, &st) == 0;
	if (!r && had_store) {
		snprintf(where, sizeof(where), "switching the stores");
		if (renameat2(AT_FDCWD, tmp, AT_FDCWD, path,
			      RENAME_EXCHANGE) < 0)
			r = -errno;
	} else if (!r) {
		snprintf(where, sizeof(where), "moving the copy in");
		if (rename(tmp, path) < 0)
			r = -errno;
	}
	if (!r)
		r = util_sync_dir(cli_data_dir);
	/* 5. The replaced store, now in store.restoring, put aside. */
	if (!r && had_store) {
		aside_name("store.replaced", ts, aside, sizeof(aside));
		snprintf(where, sizeof(where), "putting the replaced store aside");
		if (rename(tmp, aside) < 0)
			r = -errno;
		if (!r)
			r = util_sync_dir(cli_data_dir);
	}
	close(fd);
	if (r && !strcmp(where, "putting the replaced store aside"))
		return cli_fail(_("the backup is in force, but the store it "
				"replaced is still in %s (%s): move it aside "
				"yourself"), tmp, r < 0 ? strerror(-r)
						       : ref_strerror(r));
	if (r)
		return cli_fail(_("the restore failed while %s (%s); the store "
				"in %s is unchanged and still in force"),
				where, r < 0 ? strerror(-r) : ref_strerror(r),
				path);
	printf(_("restored %llu records from %s (audit chain up to sequence "
	       "%.*s); the store that was there is in %s.\n"
	       "At its next start the node announces the restore to its "
	       "peers; each sends again what it holds from after the backup, "
	       "and the node's log and audit chain then say how many audit "
	       "records past the backup its peers' checkpoints prove and how "
	       "many messages came back. Referrals acknowledged after the "
	       "backup that never reached a peer are gone: only their "
	       "senders can submit them again.\n"), (unsigned long long)n, bk,
	       (int)strcspn(mark, " "), mark,
	       had_store ? aside : _("(no store)"));
	return 0;
}
