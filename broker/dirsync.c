/* dirsync.c: see dirsync.h. Writes dir, pending_dir and authority. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dirsync.h"
#include "keys.h"
#include "log.h"
#include "outbox.h"
#include "sign.h"
#include "util.h"

/* The directory must list this node as it is: same CURVE key, and its
 * signing key (or the next one, made by refctl rotate-keys, in place of a
 * revoked one). */
int dirsync_check_self(node_t *n, const directory_t *d, char *err, size_t errlen)
{
	const dir_node_t *me = directory_node(d, n->cfg.code);
	char *mine = NULL, *listed = NULL;
	int ok = 0;

	if (!me) {
		snprintf(err, errlen, "this node (%s) is not in the directory "
			 "(version %llu): ask the authority to add the entry "
			 "that refctl init printed", n->cfg.code,
			 (unsigned long long)d->version);
		return REF_E_DIRECTORY;
	}
	if (strcmp(me->curve_public, n->curve_pub)) {
		snprintf(err, errlen, "the directory lists another CURVE key for "
			 "this node (%s) than curve.json holds", n->cfg.code);
		return REF_E_DIRECTORY;
	}
	sign_key_to_b64(n->key, &mine);
	for (size_t i = 0; i < me->n_keys; i++)
		if (!strcmp(me->keys[i].key_id, n->key_id)) {
			sign_key_to_b64(me->keys[i].key, &listed);
			ok = mine && listed && !strcmp(mine, listed);
		}
	free(mine);
	free(listed);
	/* The key this node signs with was revoked, and the directory
	 * lists the one rotate-keys made next: taken, and the node switches
	 * to it as the directory is put in force (dirsync_switch, and at a
	 * start setup.c), before it signs anything more. */
	if (!ok && keys_next_listed(n, d))
		return 0;
	if (!ok) {
		snprintf(err, errlen, "the directory does not list key %s of "
			 "this node (%s) with the public half of signing.key: "
			 "if the authority revoked that key, make a new one "
			 "(refctl rotate-keys --switch-after 0s) and have the "
			 "authority list it; the node switches to it when that "
			 "directory comes", n->key_id, n->cfg.code);
		return REF_E_DIRECTORY;
	}
	return 0;
}

#define META_DIR_VERSION "directory_version"

/* The highest directory version this node has applied: a restart must not
 * fall back to an older one. 0 before the first. */
int dirsync_version_held(node_t *n, uint64_t *ret)
{
	uint8_t *v;
	size_t vl;
	int r = store_get(n->store, STORE_META, META_DIR_VERSION,
			  strlen(META_DIR_VERSION), &v, &vl);

	*ret = 0;
	if (r == REF_E_NOT_FOUND)
		return 0;
	if (r)
		return r;
	for (size_t i = 0; i < vl && i < 8; i++)
		*ret = *ret << 8 | v[i];
	free(v);
	return 0;
}

int dirsync_applied(node_t *n, uint64_t version, const char *via)
{
	uint8_t v[8];
	char detail[80];
	int r;

	for (int i = 0; i < 8; i++)
		v[i] = (uint8_t)(version >> (56 - 8 * i));
	r = store_put(n->store, STORE_META, META_DIR_VERSION,
		      strlen(META_DIR_VERSION), v, 8);
	snprintf(detail, sizeof(detail), "version %llu%s%s",
		 (unsigned long long)version, via ? " " : "", via ? via : "");
	if (!r)
		r = state_audit(n, "directory_applied", NULL, NULL, NULL, "admin",
			  "ok", detail);
	return r;
}

/* Puts d in force: peers are pinned again from it, and the peer socket is
 * opened anew, because ZAP runs only at a handshake: a node or key the new
 * directory removed must not keep a session opened under the old one. */
void dirsync_switch(node_t *n, directory_t *d)
{
	char err[300];

	peers_close(&n->peers);
	directory_free(&n->dir);
	n->dir = d;
	/* Keys the old directory gave may be gone or freed: no root
	 * verified under them stands for the new one. */
	envelope_roots_clear(&n->roots);
	if (n->peers.router) {
		peers_router_close(&n->peers);
		if (peers_router_open(&n->peers, n->cfg.listen, err, sizeof(err)))
			log_msg(LOG_ERROR, "net", "%s; peers cannot reach this "
				"node until it restarts", err);
	}
	keys_maybe_switch(n);
	log_msg(LOG_INFO, "directory", "loaded version=%llu nodes=%zu",
		(unsigned long long)d->version, d->n_nodes);
}

/* Checks a directory sent in a DIRECTORY_UPDATE or handed to the authority
 * node to publish: the authority's signature, the format, this node's own
 * entry, a version above the one in force. 0, or a receipt status. */
static int directory_check_new(node_t *n, const uint8_t *json, size_t len,
			       const char *sig, directory_t **ret, char *detail,
			       size_t dlen)
{
	uint64_t in_force = n->pending_dir ? n->pending_dir->version
					   : n->dir->version;
	char inner[300];

	*ret = NULL;
	if (len > 16 << 20) {
		snprintf(detail, dlen, "the directory is larger than 16 MB");
		return REFERRAL__V1__RECEIPT_STATUS__REFUSED;
	}
	if (directory_verify_sig(json, len, sig, n->authority)) {
		snprintf(detail, dlen, "the directory is not signed by this "
			 "node's authority key ([trust] authority_key)");
		return REFERRAL__V1__RECEIPT_STATUS__REFUSED;
	}
	if (directory_parse((const char *)json, len, ret, inner, sizeof(inner))) {
		snprintf(detail, dlen, "the directory does not parse: %s", inner);
		return REFERRAL__V1__RECEIPT_STATUS__REFUSED;
	}
	if ((*ret)->version <= in_force) {
		snprintf(detail, dlen, "directory version %llu is not newer than "
			 "version %llu in force", (unsigned long long)(*ret)->version,
			 (unsigned long long)in_force);
		directory_free(ret);
		return REFERRAL__V1__RECEIPT_STATUS__REFUSED;
	}
	if (dirsync_check_self(n, *ret, inner, sizeof(inner))) {
		snprintf(detail, dlen, "directory version %llu: %s",
			 (unsigned long long)(*ret)->version, inner);
		directory_free(ret);
		return REFERRAL__V1__RECEIPT_STATUS__REFUSED;
	}
	return 0;
}

/* A DIRECTORY_UPDATE: installed (files, then the version and an audit
 * record in this event) and put in force once the turn has committed. */
int dirsync_update(node_t *n, const envelope_check_t *c, const char *peer,
		   char *detail, size_t dlen, int *ret_status)
{
	Referral__V1__DirectoryUpdate *u = referral__v1__directory_update__unpack(
		NULL, c->env->body.len, c->env->body.data);
	directory_t *d = NULL;
	char via[40];
	int st, r;

	if (!u || !u->directory.len) {
		if (u)
			referral__v1__directory_update__free_unpacked(u, NULL);
		snprintf(detail, dlen, "the DIRECTORY_UPDATE body holds no "
			 "directory");
		*ret_status = REFERRAL__V1__RECEIPT_STATUS__MALFORMED;
		return 0;
	}
	{
		/* The one in force, sent again (its receipt was lost): the
		 * sender must learn it arrived, not that it was refused. The
		 * one in force, not the file on disk: a file copied in and not
		 * yet reloaded, or one a reload refused, is not applied. */
		uint8_t h[32];
		util_sha256(u->directory.data, u->directory.len, h);
		const directory_t *in_force = n->pending_dir ? n->pending_dir
							     : n->dir;
		if (!memcmp(h, in_force->sha256, 32)) {
			referral__v1__directory_update__free_unpacked(u, NULL);
			snprintf(detail, dlen, "directory version %llu is the "
				 "one in force; applied once",
				 (unsigned long long)in_force->version);
			*ret_status = REFERRAL__V1__RECEIPT_STATUS__DUPLICATE;
			return 0;
		}
	}
	st = directory_check_new(n, u->directory.data, u->directory.len,
				 u->signature, &d, detail, dlen);
	if (st) {
		referral__v1__directory_update__free_unpacked(u, NULL);
		log_msg(LOG_WARN, "directory", "update from %s refused: %s", peer,
			detail);
		*ret_status = st;
		return 0;
	}
	r = directory_install(n->cfg.data_dir, u->directory.data,
			      u->directory.len, u->signature);
	referral__v1__directory_update__free_unpacked(u, NULL);
	snprintf(via, sizeof(via), "from %s", peer);
	if (!r)
		r = dirsync_applied(n, d->version, via);
	if (r) {
		directory_free(&d);
		return r;
	}
	snprintf(detail, dlen, "directory version %llu installed",
		 (unsigned long long)d->version);
	directory_free(&n->pending_dir);
	n->pending_dir = d;
	*ret_status = REFERRAL__V1__RECEIPT_STATUS__STORED;
	return 0;
}

/* refctl directory publish, at the authority's node: installs the
 * directory here and sends it to every other node it lists. */
int dirsync_op_publish(node_t *n, const Referral__Local__V1__Request *req,
		      Referral__Local__V1__Reply *rep, char *err, size_t errlen)
{
	Referral__V1__DirectoryUpdate *u = referral__v1__directory_update__unpack(
		NULL, req->body.len, req->body.data);
	directory_t *d = NULL;
	char detail[400], via[80];
	json_t *o, *to;
	size_t sent = 0;
	int r = 0, st;

	if (!u) {
		state_fail_reply(rep, REF_E_MALFORMED, err, errlen, "the publish request "
			   "does not parse (client and node versions differ?)");
		return 0;
	}
	if (strcmp(n->cfg.role, "authority")) {
		referral__v1__directory_update__free_unpacked(u, NULL);
		state_fail_reply(rep, REF_E_REFUSED, err, errlen, "this node's role is "
			   "%s: only the authority's node publishes the directory",
			   n->cfg.role);
		return 0;
	}
	st = directory_check_new(n, u->directory.data, u->directory.len,
				 u->signature, &d, detail, sizeof(detail));
	if (st) {
		referral__v1__directory_update__free_unpacked(u, NULL);
		state_fail_reply(rep, REF_E_REFUSED, err, errlen, "not published: %s",
			   detail);
		return 0;
	}
	r = directory_install(n->cfg.data_dir, u->directory.data,
			      u->directory.len, u->signature);
	snprintf(via, sizeof(via), "published by %s",
		 req->actor[0] ? req->actor : "local");
	if (!r)
		r = dirsync_applied(n, d->version, via);
	to = json_array();
	for (size_t i = 0; !r && i < d->n_nodes; i++) {
		if (!strcmp(d->nodes[i].code, n->cfg.code))
			continue;
		/* The envelope goes under the new directory's pins. */
		r = outbox_node_level(n, d->nodes[i].code,
				    REFERRAL__V1__KIND__DIRECTORY_UPDATE,
				    &u->base, 2, util_now_ms());
		json_array_append_new(to, json_string(d->nodes[i].code));
		sent++;
	}
	referral__v1__directory_update__free_unpacked(u, NULL);
	if (r) {
		json_decref(to);
		directory_free(&d);
		return r;
	}
	o = json_pack("{s:I, s:o}", "version", (json_int_t)d->version,
		      "sent_to", to);
	rep->json = state_dump(o);
	log_msg(LOG_INFO, "directory", "version %llu published to %zu node(s)",
		(unsigned long long)d->version, sent);
	directory_free(&n->pending_dir);
	n->pending_dir = d;
	return 0;
}

int dirsync_reload(node_t *n)
{
	directory_t *d = NULL;
	char err[600];
	int r;

	r = directory_load(n->cfg.data_dir, n->authority, &d, err, sizeof(err));
	if (!r)
		r = dirsync_check_self(n, d, err, sizeof(err));
	if (r) {
		log_msg(LOG_ERROR, "directory", "reload refused, keeping version "
			"%llu: %s", (unsigned long long)n->dir->version, err);
		directory_free(&d);
		return r;
	}
	if (d->version == n->dir->version) {
		log_msg(LOG_INFO, "directory", "version %llu is already in "
			"force; nothing changed", (unsigned long long)d->version);
		directory_free(&d);
		return 0;
	}
	if (d->version < n->dir->version) {
		log_msg(LOG_ERROR, "directory", "reload refused: version %llu "
			"is older than version %llu in force",
			(unsigned long long)d->version,
			(unsigned long long)n->dir->version);
		directory_free(&d);
		return REF_E_DIRECTORY;
	}
	/* In the loop's open turn, as its own event; put in force once the
	 * turn has committed (dirsync_after_commit). */
	r = store_event_begin(n->store);
	if (!r)
		r = dirsync_applied(n, d->version, "on SIGHUP");
	if (!r)
		r = store_event_commit(n->store);
	if (r) {
		store_event_abort(n->store);
		log_msg(LOG_ERROR, "directory", "reload of version %llu not "
			"recorded (%s); keeping version %llu",
			(unsigned long long)d->version, ref_strerror(r),
			(unsigned long long)n->dir->version);
		directory_free(&d);
		return r;
	}
	directory_free(&n->pending_dir);
	n->pending_dir = d;
	return 0;
}

void dirsync_after_commit(node_t *n, bool committed)
{
	directory_t *d = n->pending_dir;

	n->pending_dir = NULL;
	if (!d)
		return;
	/* A directory installed in a turn that failed stays on disk (it is
	 * signed and newer, so the next start takes it) but is not put in
	 * force now. */
	if (!committed) {
		directory_free(&d);
		return;
	}
	/* Re-pin: connections to peers are made again from the new entries. */
	dirsync_switch(n, d);
}

void dirsync_drop_pending(node_t *n)
{
	directory_free(&n->pending_dir);
}

int dirsync_open(node_t *n, char *err, size_t errlen)
{
	char path[PATH_MAX + 64], inner[600];
	int r;

	config_path(&n->cfg, n->cfg.authority_key, path, sizeof(path));
	r = sign_key_load_public(path, &n->authority);
	if (r) {
		snprintf(err, errlen, "cannot load the authority key %s: %s",
			 path, ref_strerror(r));
		return r;
	}
	/* A directory update a crash cut short is finished first. */
	r = directory_recover(n->cfg.data_dir);
	if (r) {
		snprintf(err, errlen, "refusing to start: a directory update in "
			 "%s cannot be finished: %s", n->cfg.data_dir,
			 ref_strerror(r));
		return r;
	}
	r = directory_load(n->cfg.data_dir, n->authority, &n->dir, inner,
			   sizeof(inner));
	if (r)
		snprintf(err, errlen, "refusing to start: %s", inner);
	return r;
}

void dirsync_free(node_t *n)
{
	directory_free(&n->dir);
	directory_free(&n->pending_dir);
	EVP_PKEY_free(n->authority);
	n->authority = NULL;
}
