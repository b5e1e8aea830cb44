/* keys.c: see keys.h. Writes key, key_id, key_note, seal_note,
 * notes_written, seal, resealing, retire_keys, curve_pub and curve_sec. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

#include "datakey.h"
#include "keys.h"
#include "retention.h"
#include "log.h"
#include "sign.h"
#include "util.h"

/* referrald.conf names the key in force: rewritten after a switch. The
 * configuration in memory stays as loaded; key_id here is the one used. */
static int set_conf_key_id(node_t *n)
{
	config_t c = n->cfg;

	snprintf(c.key_id, sizeof(c.key_id), "%s", n->key_id);
	return config_set_key_id(&c);
}

int keys_load_signing(node_t *n, char *err, size_t errlen)
{
	char path[PATH_MAX + 64];
	int r;

	config_path(&n->cfg, "signing.key", path, sizeof(path));
	r = sign_key_load_private(path, &n->key);
	if (r) {
		struct stat st;
		if (r == REF_E_KEY_PERMS && stat(path, &st) == 0)
			snprintf(err, errlen, "%s is readable by others (mode "
				 "%03o): run chmod 600 on it; a signing key must "
				 "stay private", path,
				 (unsigned)(st.st_mode & 0777));
		else
			snprintf(err, errlen, "cannot load signing key %s: %s",
				 path, ref_strerror(r));
		return r;
	}
	if (strcmp(sign_alg_name(sign_key_alg(n->key)), n->cfg.alg)) {
		snprintf(err, errlen, "signing.key is %s but [node] alg = %s",
			 sign_alg_name(sign_key_alg(n->key)), n->cfg.alg);
		return REF_E_CONFIG;
	}
	return 0;
}

void keys_init(node_t *n)
{
	snprintf(n->key_id, sizeof(n->key_id), "%s", n->cfg.key_id);
}

int keys_turn(node_t *n)
{
	int r;

	n->notes_written = false;
	if (!n->key_note[0] && !n->seal_note[0])
		return 0;
	r = store_event_begin(n->store);
	if (!r && n->key_note[0])
		r = state_audit(n, "key_rotated", NULL, NULL, NULL, "node", "ok",
				n->key_note);
	if (!r && n->seal_note[0])
		r = state_audit(n, "data_key_retired", NULL, NULL, NULL, "node",
				"ok", n->seal_note);
	if (!r)
		r = store_event_commit(n->store);
	if (r) {
		store_event_abort(n->store);
		log_msg(LOG_WARN, "keys", "a key event is not recorded yet: %s; "
			"tried again next turn", ref_strerror(r));
		return r;
	}
	n->notes_written = true;
	return 0;
}

envelope_signer_t keys_signer(node_t *n)
{
	envelope_signer_t s = { n->cfg.code, n->key_id, n->key };
	return s;
}

int keys_load_curve(node_t *n, char *err, size_t errlen)
{
	char path[1024];
	struct stat st;
	json_t *j;
	json_error_t jerr;
	uint8_t pub[32], sec[32], derived[41];
	const char *p, *s;

	config_path(&n->cfg, "curve.json", path, sizeof(path));
	if (stat(path, &st) < 0) {
		snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
		return -errno;
	}
	if (st.st_mode & 077) {
		snprintf(err, errlen, "%s is readable by others (mode %03o): "
			 "run chmod 600 on it; a CURVE secret key must stay "
			 "private", path, (unsigned)(st.st_mode & 0777));
		return REF_E_KEY_PERMS;
	}
	j = json_load_file(path, 0, &jerr);
	p = json_string_value(json_object_get(j, "public"));
	s = json_string_value(json_object_get(j, "secret"));
	if (!p || !s || strlen(p) != 40 || strlen(s) != 40 ||
	    !zmq_z85_decode(pub, p) || !zmq_z85_decode(sec, s) ||
	    zmq_curve_public((char *)derived, s) < 0 || strcmp((char *)derived, p)) {
		snprintf(err, errlen, "%s must hold \"public\" and \"secret\" "
			 "CURVE keys (40 characters of Z85 each, a matching "
			 "pair)", path);
		json_decref(j);
		return REF_E_CONFIG;
	}
	snprintf(n->curve_pub, sizeof(n->curve_pub), "%s", p);
	snprintf(n->curve_sec, sizeof(n->curve_sec), "%s", s);
	json_decref(j);
	return 0;
}

/* The id under which the directory lists key for this node (me), with
 * its window open at now_ms, or at any time if now_ms is 0; NULL if none. */
static const char *listed_key_id(const dir_node_t *me, EVP_PKEY *key,
				 uint64_t now_ms)
{
	for (size_t i = 0; me && key && i < me->n_keys; i++)
		if (EVP_PKEY_eq(me->keys[i].key, key) == 1 &&
		    (!now_ms || (me->keys[i].not_before_ms <= now_ms &&
				 now_ms < me->keys[i].not_after_ms)))
			return me->keys[i].key_id;
	return NULL;
}

bool keys_next_listed(node_t *n, const directory_t *d)
{
	char next[PATH_MAX + 64];
	EVP_PKEY *key = NULL;
	bool listed;

	config_path(&n->cfg, "signing.next.key", next, sizeof(next));
	if (access(next, F_OK) < 0 || sign_key_load_private(next, &key))
		return false;
	listed = listed_key_id(directory_node(d, n->cfg.code), key,
			       util_now_ms()) != NULL;
	EVP_PKEY_free(key);
	return listed;
}

/* The key this node signs with next, once the directory lists it and its
 * window has opened: refctl rotate-keys leaves it as signing.next.key.
 * The old key is kept as signing.<key_id>.key, since messages signed with
 * it may still be resent (same bytes) and verify until their lifetime. */
void keys_maybe_switch(node_t *n)
{
	const dir_node_t *me = directory_node(n->dir, n->cfg.code);
	char next[PATH_MAX + 64], cur[PATH_MAX + 64], old[PATH_MAX + 128];
	char npub[PATH_MAX + 64], cpub[PATH_MAX + 64], detail[160];
	EVP_PKEY *key = NULL;
	const char *new_id = NULL;
	uint64_t now = util_now_ms();
	struct stat st;

	config_path(&n->cfg, "signing.next.key", next, sizeof(next));
	if (!me || stat(next, &st) < 0)
		return;
	if (sign_key_load_private(next, &key)) {
		log_msg(LOG_ERROR, "keys", "%s cannot be loaded (mode 0600, a "
			"private key from refctl rotate-keys?); still signing "
			"with %s", next, n->key_id);
		return;
	}
	new_id = listed_key_id(me, key, now);
	if (!new_id) {
		EVP_PKEY_free(key);
		return; /* not listed yet, or its window has not opened */
	}
	config_path(&n->cfg, "signing.key", cur, sizeof(cur));
	config_path(&n->cfg, "signing.pub.pem", cpub, sizeof(cpub));
	config_path(&n->cfg, "signing.next.pub.pem", npub, sizeof(npub));
	snprintf(old, sizeof(old), "%s/signing.%s.key", n->cfg.data_dir,
		 n->key_id);
	/* Old key aside first: a stop between the renames leaves the old
	 * key aside and the rest to do, which the next start finishes
	 * (finish_key_files, finish_key_switch); never a node signing with a
	 * key the directory does not give it. */
	if (rename(cur, old) < 0 || rename(next, cur) < 0 ||
	    (stat(npub, &st) == 0 && rename(npub, cpub) < 0)) {
		log_msg(LOG_ERROR, "keys", "switching to key %s failed: %s; "
			"check the signing key files in %s", new_id,
			strerror(errno), n->cfg.data_dir);
		EVP_PKEY_free(key);
		return;
	}
	snprintf(detail, sizeof(detail), "%s -> %s", n->key_id, new_id);
	EVP_PKEY_free(n->key);
	n->key = key;
	snprintf(n->key_id, sizeof(n->key_id), "%s", new_id);
	set_conf_key_id(n);
	/* Recorded in the chain by the next turn (keys_turn): this may run
	 * between turns, and only the loop opens one. */
	snprintf(n->key_note, sizeof(n->key_note), "%s", detail);
	log_msg(LOG_INFO, "keys", "now signing with %s (switched %s)",
		new_id, detail);
}

static void data_key_path(const node_t *n, char *out, size_t len)
{
	datakey_path(&n->cfg, out, len);
}

/* The data key ring. Made at the first start, but never beside a store
 * that already holds sealed records: those need their own key back. */
int keys_open_data(node_t *n, char *err, size_t errlen)
{
	char path[PATH_MAX + 64], inner[500], *slash;
	bool created = false;
	int r;

	/* A key file write a stop cut short (a rotation, a retirement)
	 * leaves its temporary copy beside it, holding keys the ring may
	 * since have dropped: nothing may keep those once they are retired. */
	datakey_path(&n->cfg, path, sizeof(path));
	slash = strrchr(path, '/');
	if (slash) {
		*slash = '\0';
		util_remove_temps(path, slash + 1);
	}
	r = datakey_open(&n->cfg, n->store, &n->seal, &created, inner,
			 sizeof(inner));
	if (r) {
		snprintf(err, errlen, "refusing to start: %s", inner);
		return r;
	}
	/* Each referral's personal data under a key of its own. */
	store_set_owner(n->store, retention_owner);
	datakey_path(&n->cfg, path, sizeof(path));
	if (created)
		log_msg(LOG_INFO, "store", "made a new data key file %s; keep "
			"a copy apart from the store's backups", path);
	/* Records written before a key existed, or under a key being
	 * retired when the node stopped, are sealed again as it serves. */
	n->resealing = true;
	return 0;
}

/* A batch of re-sealing, inside the turn: a rotation completes while the
 * node serves. The old keys are dropped only after the turn that sealed
 * the last record has committed (reseal_finish). */
void keys_reseal_step(node_t *n)
{
	size_t done = 0;
	bool all = false;
	int r;

	if (!n->resealing || !n->seal)
		return;
	if (store_event_begin(n->store))
		return;
	r = store_reseal_some(n->store, 256, &done, &all);
	if (r || (r = store_event_commit(n->store))) {
		store_event_abort(n->store);
		log_msg(LOG_WARN, "store", "re-sealing paused: %s (%s); it "
			"resumes next turn", ref_strerror(r),
			store_last_error(n->store));
		return;
	}
	if (all) {
		n->resealing = false;
		n->retire_keys = seal_key_count(n->seal) > 1;
	}
}

void keys_after_commit(node_t *n)
{
	char path[PATH_MAX + 64], detail[80];
	uint32_t id;
	int r;

	if (n->notes_written) {
		n->key_note[0] = n->seal_note[0] = '\0';
		n->notes_written = false;
	}
	if (!n->retire_keys)
		return;
	id = seal_current_id(n->seal);
	n->retire_keys = false;
	data_key_path(n, path, sizeof(path));
	r = seal_retire(n->seal, path);
	if (r) {
		log_msg(LOG_ERROR, "store", "every record is sealed under data "
			"key %u, but the old keys could not be dropped from %s: "
			"%s", id, path, ref_strerror(r));
		return;
	}
	snprintf(detail, sizeof(detail), "every record sealed under key %u; "
		 "older keys dropped", id);
	snprintf(n->seal_note, sizeof(n->seal_note), "%s", detail);
	log_msg(LOG_INFO, "store", "%s", detail);
}

/* A new data key, current at once; every record is sealed again under it
 * in the background, then the old ones dropped (keys_after_commit). */
int keys_rotate_data(node_t *n, const char *actor, const char *why,
		     char *err, size_t errlen)
{
	char path[PATH_MAX + 64], detail[160];
	int r;

	data_key_path(n, path, sizeof(path));
	r = seal_rotate(n->seal, path, seal_current_alg(n->seal));
	if (r) {
		snprintf(err, errlen, "the data key file %s cannot be written "
			 "(%s)", path, ref_strerror(r));
		return r;
	}
	store_set_seal(n->store, n->seal);
	n->resealing = true;
	n->retire_keys = false;
	snprintf(detail, sizeof(detail), "key %u (%s); re-sealing begins%s%s",
		 seal_current_id(n->seal),
		 seal_alg_name(seal_current_alg(n->seal)), why ? ": " : "",
		 why ? why : "");
	return state_audit(n, "data_key_rotated", NULL, NULL, NULL, actor, "ok",
			   detail);
}

/* refctl rotate-data-key. */
int keys_op_rotate(node_t *n, const Referral__Local__V1__Request *req,
			      Referral__Local__V1__Reply *rep, char *err,
			      size_t errlen)
{
	char why[400];
	int r;

	why[0] = '\0';
	r = keys_rotate_data(n, req->actor, NULL, why, sizeof(why));
	if (r && why[0]) {
		/* The key file: a refusal the caller reads, not a failed turn. */
		state_fail_reply(rep, r, err, errlen, "%s; nothing changed", why);
		return 0;
	}
	if (!r)
		rep->json = state_dump(json_pack("{s:I, s:s}", "key",
					   (json_int_t)seal_current_id(n->seal),
					   "alg", seal_alg_name(
						   seal_current_alg(n->seal))));
	return r;
}

/* A signing key switch (maybe_switch_key) that a stop cut short between
 * its renames is finished before the key is loaded. It is one of ours only
 * if the key set aside as signing.<key_id>.key is the one the directory
 * lists under the key_id referrald.conf names: then a missing signing.key
 * is replaced by signing.next.key, if the directory lists that for this
 * node with its window open, and then its public half is moved in. Anything
 * else is left as it is, and the load that follows says what is wrong. */
int keys_finish_files(node_t *n, char *err, size_t errlen)
{
	const dir_node_t *me = directory_node(n->dir, n->cfg.code);
	char cur[PATH_MAX + 64], next[PATH_MAX + 64], old[PATH_MAX + 128];
	char npub[PATH_MAX + 64], cpub[PATH_MAX + 64];
	EVP_PKEY *old_key = NULL, *key = NULL, *pub = NULL;
	const char *bad = NULL;
	struct stat st;
	bool moved = false;
	int r = 0;

	/* The configuration's rewrite, cut short before its rename. */
	util_remove_temps(n->cfg.data_dir, "referrald.conf");
	config_path(&n->cfg, "signing.key", cur, sizeof(cur));
	config_path(&n->cfg, "signing.next.key", next, sizeof(next));
	config_path(&n->cfg, "signing.pub.pem", cpub, sizeof(cpub));
	config_path(&n->cfg, "signing.next.pub.pem", npub, sizeof(npub));
	snprintf(old, sizeof(old), "%s/signing.%s.key", n->cfg.data_dir,
		 n->key_id);
	if (stat(old, &st) < 0 || sign_key_load_private(old, &old_key) ||
	    !listed_key_id(me, old_key, 0) ||
	    strcmp(listed_key_id(me, old_key, 0), n->key_id))
		goto out;
	if (stat(cur, &st) < 0 && errno == ENOENT && stat(next, &st) == 0) {
		if (sign_key_load_private(next, &key) ||
		    !listed_key_id(me, key, util_now_ms())) {
			bad = "signing.key is missing, and signing.next.key is "
			      "not a key the directory in force lists for this "
			      "node now";
			r = REF_E_CONFIG;
			goto out;
		}
		if (rename(next, cur) < 0) {
			r = -errno;
			goto out;
		}
		moved = true;
	}
	EVP_PKEY_free(key);
	key = NULL;
	if (stat(next, &st) < 0 && stat(npub, &st) == 0 &&
	    !sign_key_load_private(cur, &key) &&
	    !sign_key_load_public(npub, &pub) && EVP_PKEY_eq(key, pub) == 1) {
		if (rename(npub, cpub) < 0) {
			r = -errno;
			goto out;
		}
		moved = true;
	}
	if (moved)
		r = util_sync_dir(n->cfg.data_dir);
out:
	if (r)
		snprintf(err, errlen, "refusing to start: a signing key switch cut "
			 "short in %s cannot be finished: %s", n->cfg.data_dir,
			 bad ? bad : r < 0 ? strerror(-r) : ref_strerror(r));
	else if (moved)
		log_msg(LOG_WARN, "keys", "a switch of signing keys was cut "
			"short: signing.next.key moved in as signing.key");
	EVP_PKEY_free(old_key);
	EVP_PKEY_free(key);
	EVP_PKEY_free(pub);
	return r;
}

/* The rest of such a switch: signing.key is a key the directory lists for
 * this node with its window open, while referrald.conf still names the key
 * set aside as signing.<key_id>.key. The configuration is brought up to
 * date and *ret_done set; otherwise nothing changes, and check_self's
 * refusal stands. */
int keys_finish_switch(node_t *n, bool *ret_done, char *err,
			     size_t errlen)
{
	const dir_node_t *me = directory_node(n->dir, n->cfg.code);
	const char *id = listed_key_id(me, n->key, util_now_ms());
	char old[PATH_MAX + 128], was[64];
	struct stat st;
	int r;

	*ret_done = false;
	snprintf(old, sizeof(old), "%s/signing.%s.key", n->cfg.data_dir,
		 n->key_id);
	if (!id || !strcmp(id, n->key_id) || stat(old, &st) < 0)
		return 0;
	snprintf(was, sizeof(was), "%s", n->key_id);
	snprintf(n->key_id, sizeof(n->key_id), "%s", id);
	r = set_conf_key_id(n);
	if (r) {
		snprintf(err, errlen, "refusing to start: signing.key is key %s "
			 "of this node, but referrald.conf, which names %s, "
			 "cannot be rewritten: %s", id, was,
			 r < 0 ? strerror(-r) : ref_strerror(r));
		return r;
	}
	snprintf(n->key_note, sizeof(n->key_note),
		 "%s -> %s (finished at start)", was, id);
	log_msg(LOG_WARN, "keys", "a switch of signing keys was cut short: "
		"finished now, signing with %s (was %s)", id, was);
	*ret_done = true;
	return 0;
}

void keys_free(node_t *n)
{
	seal_free(&n->seal);
	EVP_PKEY_free(n->key);
	n->key = NULL;
}
