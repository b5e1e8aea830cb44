/* directory.c: see directory.h. Parsing is strict about what a node relies
 * on (codes, keys, endpoints) and silent about fields it does not know. */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include <zmq.h>

#include "directory.h"
#include "errors.h"
#include "util.h"

static int bad(char *err, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int bad(char *err, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, len, fmt, ap);
	va_end(ap);
	/* A reason may quote a field and be cut mid-character: it goes into
	 * receipts and logs, which must stay valid UTF-8. */
	if (len)
		util_utf8_trim(err);
	return REF_E_DIRECTORY;
}

/* The optional `serves` and `fallback` of one node's entry (DESIGN.md),
 * which routing reads (route.c). */
void directory_free_serves(dir_node_t *n)
{
	free(n->serves_divisions);
	free(n->serves_bodies);
	n->serves_divisions = NULL;
	n->serves_bodies = NULL;
	n->n_serves_divisions = n->n_serves_bodies = 0;
}

int directory_parse_serves(json_t *jn, dir_node_t *n, char *err,
			    size_t errlen)
{
	json_t *serves = json_object_get(jn, "serves"), *fb, *divs, *bodies, *it;
	size_t i;

	fb = json_object_get(jn, "fallback");
	if (fb) {
		const char *s = json_string_value(fb);
		if (!s || strlen(s) != 6 || !util_node_code_valid(s))
			return bad(err, errlen, "node %s: fallback is not a "
				   "six-digit node code", n->code);
		memcpy(n->fallback, s, 7);
	}
	if (!serves)
		return 0;
	if (!json_is_object(serves))
		return bad(err, errlen, "node %s: serves is not an object "
			   "{divisions, bodies}", n->code);
	divs = json_object_get(serves, "divisions");
	bodies = json_object_get(serves, "bodies");
	if ((divs && !json_is_array(divs)) || (bodies && !json_is_array(bodies)))
		return bad(err, errlen, "node %s: serves.divisions and "
			   "serves.bodies are lists", n->code);
	n->serves_divisions = calloc(json_array_size(divs) + 1,
				     sizeof(*n->serves_divisions));
	n->serves_bodies = calloc(json_array_size(bodies) + 1,
				  sizeof(*n->serves_bodies));
	if (!n->serves_divisions || !n->serves_bodies)
		return -ENOMEM;
	json_array_foreach(divs, i, it) {
		const char *s = json_string_value(it);
		if (!s || strlen(s) != 6 || !util_node_code_valid(s))
			return bad(err, errlen, "node %s: serves.divisions "
				   "holds something other than a six-digit "
				   "division code", n->code);
		memcpy(n->serves_divisions[i], s, 7);
		n->n_serves_divisions = i + 1;
	}
	json_array_foreach(bodies, i, it) {
		const char *s = json_string_value(it);
		if (!s || !s[0] || strlen(s) >= sizeof(n->serves_bodies[i]))
			return bad(err, errlen, "node %s: serves.bodies holds "
				   "an empty, too long or non-string name",
				   n->code);
		memcpy(n->serves_bodies[i], s, strlen(s) + 1);
		n->n_serves_bodies = i + 1;
	}
	return 0;
}

bool directory_takes_referrals(const dir_node_t *n)
{
	return n && !strcmp(n->role, "legal_aid_centre");
}


void directory_free(directory_t **dp)
{
	directory_t *d = dp ? *dp : NULL;

	if (!d)
		return;
	for (size_t i = 0; i < d->n_nodes; i++) {
		for (size_t k = 0; k < d->nodes[i].n_keys; k++)
			EVP_PKEY_free(d->nodes[i].keys[k].key);
		free(d->nodes[i].keys);
		free(d->nodes[i].accepts);
		directory_free_serves(&d->nodes[i]);
		free(d->nodes[i].oversees);
		free(d->nodes[i].objection_reviewers);
	}
	free(d->nodes);
	free(d);
	*dp = NULL;
}

static const char *str(json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

static int copy(char *dst, size_t size, const char *src)
{
	if (!src || strlen(src) >= size)
		return -1;
	memcpy(dst, src, strlen(src) + 1);
	return 0;
}

static int parse_key(json_t *jk, const char *code, dir_key_t *k, char *err,
		     size_t errlen)
{
	const char *alg = str(jk, "alg");

	if (copy(k->key_id, sizeof(k->key_id), str(jk, "key_id")) ||
	    !k->key_id[0])
		return bad(err, errlen, "node %s: a signing key has no key_id",
			   code);
	if (sign_alg_from_name(alg, &k->alg))
		return bad(err, errlen,
			   "node %s key %s: alg \"%s\" is not ed25519 or sm2-sm3",
			   code, k->key_id, alg ? alg : "");
	if (str(jk, "public_key") &&
	    sign_key_from_b64(str(jk, "public_key"), &k->key) == REF_E_INVALID)
		return bad(err, errlen,
			   "node %s key %s: the key is not of alg %s (only "
			   "Ed25519 and SM2 keys are accepted)", code, k->key_id,
			   alg);
	if (!k->key)
		return bad(err, errlen,
			   "node %s key %s: public_key is not base64 DER "
			   "SubjectPublicKeyInfo", code, k->key_id);
	if (sign_key_alg(k->key) != k->alg)
		return bad(err, errlen,
			   "node %s key %s: the key is not of alg %s", code,
			   k->key_id, alg);
	if (util_rfc3339_parse(str(jk, "not_before"), &k->not_before_ms) ||
	    util_rfc3339_parse(str(jk, "not_after"), &k->not_after_ms) ||
	    k->not_after_ms <= k->not_before_ms)
		return bad(err, errlen,
			   "node %s key %s: not_before/not_after must be "
			   "RFC 3339 UTC times, not_before first", code,
			   k->key_id);
	return 0;
}

static int parse_node(json_t *jn, dir_node_t *n, char *err, size_t errlen)
{
	json_t *keys, *acc, *it;
	uint8_t z[32];
	size_t i;
	int r;

	if (copy(n->code, sizeof(n->code), str(jn, "code")) ||
	    !util_node_code_valid(n->code))
		return bad(err, errlen, "a node's code is not six digits");
	if (copy(n->name, sizeof(n->name), str(jn, "name")))
		return bad(err, errlen, "node %s: name missing or too long",
			   n->code);
	if (copy(n->role, sizeof(n->role), str(jn, "role")))
		return bad(err, errlen, "node %s: role missing", n->code);
	if (copy(n->endpoint, sizeof(n->endpoint), str(jn, "endpoint")) ||
	    strncmp(n->endpoint, "tcp://", 6))
		return bad(err, errlen, "node %s: endpoint must be tcp://HOST:PORT",
			   n->code);
	if (copy(n->curve_public, sizeof(n->curve_public),
		 str(jn, "curve_public_key")) ||
	    strlen(n->curve_public) != 40 || !zmq_z85_decode(z, n->curve_public))
		return bad(err, errlen,
			   "node %s: curve_public_key is not 40 characters of Z85",
			   n->code);
	keys = json_object_get(jn, "signing_keys");
	if (!json_is_array(keys) || json_array_size(keys) == 0)
		return bad(err, errlen, "node %s: signing_keys is empty", n->code);
	n->keys = calloc(json_array_size(keys), sizeof(*n->keys));
	if (!n->keys)
		return -ENOMEM;
	json_array_foreach(keys, i, it) {
		r = parse_key(it, n->code, &n->keys[i], err, errlen);
		n->n_keys = i + 1; /* so directory_free frees what was made */
		if (r)
			return r;
		for (size_t j = 0; j < i; j++)
			if (!strcmp(n->keys[j].key_id, n->keys[i].key_id))
				return bad(err, errlen,
					   "node %s: key_id %s appears twice",
					   n->code, n->keys[i].key_id);
	}
	acc = json_object_get(jn, "accepts");
	if (acc && !json_is_array(acc))
		return bad(err, errlen, "node %s: accepts is not a list", n->code);
	n->accepts = calloc(json_array_size(acc) + 1, sizeof(*n->accepts));
	if (!n->accepts)
		return -ENOMEM;
	json_array_foreach(acc, i, it) {
		if (copy(n->accepts[i], sizeof(n->accepts[i]),
			 json_string_value(it)))
			return bad(err, errlen,
				   "node %s: accepts holds a non-string", n->code);
		n->n_accepts = i + 1;
	}
	acc = json_object_get(jn, "oversees");
	if (acc && !json_is_array(acc))
		return bad(err, errlen, "node %s: oversees is not a list", n->code);
	n->oversees = calloc(json_array_size(acc) + 1, sizeof(*n->oversees));
	if (!n->oversees)
		return -ENOMEM;
	json_array_foreach(acc, i, it) {
		if (copy(n->oversees[i], sizeof(n->oversees[i]),
			 json_string_value(it)) ||
		    !util_node_code_valid(n->oversees[i]))
			return bad(err, errlen, "node %s: oversees holds something "
				   "that is not a six-digit node code", n->code);
		n->n_oversees = i + 1;
	}
	acc = json_object_get(jn, "objection_reviewers");
	if (acc && !json_is_array(acc))
		return bad(err, errlen, "node %s: objection_reviewers is not a "
			   "list", n->code);
	n->objection_reviewers = calloc(json_array_size(acc) + 1,
					sizeof(*n->objection_reviewers));
	if (!n->objection_reviewers)
		return -ENOMEM;
	json_array_foreach(acc, i, it) {
		if (copy(n->objection_reviewers[i],
			 sizeof(n->objection_reviewers[i]),
			 json_string_value(it)) || !n->objection_reviewers[i][0])
			return bad(err, errlen, "node %s: objection_reviewers holds "
				   "something that is not a staff id of 1 to 64 "
				   "bytes", n->code);
		n->n_objection_reviewers = i + 1;
	}
	if ((n->n_oversees || n->n_objection_reviewers) &&
	    strcmp(n->role, "justice_bureau") && strcmp(n->role, "authority"))
		return bad(err, errlen, "node %s: oversees and "
			   "objection_reviewers belong to a justice_bureau or "
			   "authority entry, not a %s", n->code, n->role);
	return directory_parse_serves(jn, n, err, errlen);
}

int directory_parse(const char *text, size_t len, directory_t **ret,
		    char *err, size_t errlen)
{
	json_error_t jerr;
	json_t *root = json_loadb(text, len, 0, &jerr), *nodes, *it;
	directory_t *d = NULL;
	size_t i;
	int r = 0;

	if (!root)
		return bad(err, errlen, "not JSON (line %d: %s)", jerr.line,
			   jerr.text);
	if (!str(root, "format") || strcmp(str(root, "format"), DIRECTORY_FORMAT)) {
		r = bad(err, errlen, "format is not \"%s\"", DIRECTORY_FORMAT);
		goto out;
	}
	if (!json_is_integer(json_object_get(root, "version")) ||
	    json_integer_value(json_object_get(root, "version")) < 1) {
		r = bad(err, errlen, "version is not a positive integer");
		goto out;
	}
	nodes = json_object_get(root, "nodes");
	if (!json_is_array(nodes)) {
		r = bad(err, errlen, "nodes is not a list");
		goto out;
	}
	d = calloc(1, sizeof(*d));
	if (!d || !(d->nodes = calloc(json_array_size(nodes) + 1,
				      sizeof(*d->nodes)))) {
		r = -ENOMEM;
		goto out;
	}
	d->version = (uint64_t)json_integer_value(json_object_get(root, "version"));
	util_sha256((const uint8_t *)text, len, d->sha256);
	copy(d->authority, sizeof(d->authority), str(root, "authority"));
	copy(d->issued_at, sizeof(d->issued_at), str(root, "issued_at"));
	json_array_foreach(nodes, i, it) {
		d->n_nodes = i + 1;
		r = parse_node(it, &d->nodes[i], err, errlen);
		if (r)
			goto out;
		for (size_t j = 0; j < i; j++) {
			if (!strcmp(d->nodes[j].code, d->nodes[i].code)) {
				r = bad(err, errlen, "node %s appears twice",
					d->nodes[i].code);
				goto out;
			}
			if (!strcmp(d->nodes[j].curve_public,
				    d->nodes[i].curve_public)) {
				r = bad(err, errlen,
					"nodes %s and %s share a CURVE key",
					d->nodes[j].code, d->nodes[i].code);
				goto out;
			}
		}
	}
out:
	json_decref(root);
	if (r) {
		directory_free(&d);
		return r;
	}
	*ret = d;
	return 0;
}

int directory_verify_sig(const uint8_t *json, size_t len, const char *sig_b64,
			 EVP_PKEY *authority)
{
	uint8_t *sig;
	size_t siglen;
	int r;

	if (util_b64_decode(sig_b64, &sig, &siglen))
		return REF_E_DIRECTORY;
	r = sign_verify(authority, json, len, sig, siglen);
	free(sig);
	return r == 0 ? 0 : (r < 0 ? r : REF_E_DIRECTORY);
}

int directory_load(const char *data_dir, EVP_PKEY *authority,
		   directory_t **ret, char *err, size_t errlen)
{
	char path[1024], spath[1100], inner[300];
	uint8_t *json = NULL, *sig = NULL;
	size_t jlen, slen;
	int r;

	snprintf(path, sizeof(path), "%s/directory.json", data_dir);
	snprintf(spath, sizeof(spath), "%s.sig", path);
	r = util_read_file(path, 16 << 20, &json, &jlen);
	if (r) {
		snprintf(err, errlen, "cannot read %s: %s", path, ref_strerror(r));
		return REF_E_DIRECTORY;
	}
	r = util_read_file(spath, 4096, &sig, &slen);
	if (r) {
		snprintf(err, errlen,
			 "cannot read %s: %s (the directory must be signed by "
			 "the authority: refctl directory sign)", spath,
			 ref_strerror(r));
		free(json);
		return REF_E_DIRECTORY;
	}
	r = directory_verify_sig(json, jlen, (char *)sig, authority);
	if (r) {
		snprintf(err, errlen,
			 "%s is not signed by the authority key in this node's "
			 "configuration (checked against %s)", path, spath);
		goto out;
	}
	r = directory_parse((char *)json, jlen, ret, inner, sizeof(inner));
	if (r)
		snprintf(err, errlen, "%s: %s", path, inner);
out:
	free(json);
	free(sig);
	return r;
}

int directory_recover(const char *data_dir)
{
	char json[1024], sig[1100], jnew[1100], snew[1110];
	struct stat st;

	snprintf(json, sizeof(json), "%s/directory.json", data_dir);
	snprintf(sig, sizeof(sig), "%s.sig", json);
	snprintf(jnew, sizeof(jnew), "%s.new", json);
	snprintf(snew, sizeof(snew), "%s.new", sig);
	/* A write cut short before its rename leaves only a temp file. */
	util_remove_temps(data_dir, "directory.json.new");
	util_remove_temps(data_dir, "directory.json.sig.new");
	if (stat(jnew, &st) == 0) {
		if (stat(snew, &st) == 0 && rename(snew, sig) < 0)
			return -errno;
		if (rename(jnew, json) < 0)
			return -errno;
		return util_sync_dir(data_dir);
	}
	if (stat(snew, &st) == 0 && unlink(snew) < 0)
		return -errno;
	return 0;
}

int directory_install(const char *data_dir, const uint8_t *json, size_t len,
		      const char *sig_b64)
{
	char path[1024], sig[1100], jnew[1100], snew[1110], *line;
	size_t sl = strlen(sig_b64);
	int r;

	snprintf(path, sizeof(path), "%s/directory.json", data_dir);
	snprintf(sig, sizeof(sig), "%s.sig", path);
	snprintf(jnew, sizeof(jnew), "%s.new", path);
	snprintf(snew, sizeof(snew), "%s.new", sig);
	line = malloc(sl + 2);
	if (!line)
		return -ENOMEM;
	memcpy(line, sig_b64, sl);
	line[sl] = '\n';
	r = util_write_file(snew, line, sl + 1, 0644);
	free(line);
	if (!r)
		r = util_write_file(jnew, json, len, 0644);
	if (!r)
		r = directory_recover(data_dir);
	return r;
}

const dir_node_t *directory_node(const directory_t *d, const char *code)
{
	for (size_t i = 0; d && i < d->n_nodes; i++)
		if (!strcmp(d->nodes[i].code, code))
			return &d->nodes[i];
	return NULL;
}

const dir_node_t *directory_node_by_curve(const directory_t *d,
					  const char *z85)
{
	for (size_t i = 0; d && i < d->n_nodes; i++)
		if (!strcmp(d->nodes[i].curve_public, z85))
			return &d->nodes[i];
	return NULL;
}

EVP_PKEY *directory_key(void *ctx, const char *node, const char *key_id,
			uint64_t at_ms)
{
	const dir_node_t *n = directory_node(ctx, node);

	for (size_t i = 0; n && i < n->n_keys; i++) {
		const dir_key_t *k = &n->keys[i];
		if (!strcmp(k->key_id, key_id) && at_ms >= k->not_before_ms &&
		    at_ms < k->not_after_ms)
			return k->key;
	}
	return NULL;
}

bool directory_oversees(const dir_node_t *b, const char *centre)
{
	if (!b || (strcmp(b->role, "justice_bureau") &&
		   strcmp(b->role, "authority")))
		return false;
	for (size_t i = 0; i < b->n_oversees; i++)
		if (!strcmp(b->oversees[i], centre))
			return true;
	return false;
}

bool directory_objection_reviewer(const dir_node_t *b, const char *staff)
{
	if (!b || !staff || !staff[0])
		return false;
	for (size_t i = 0; i < b->n_objection_reviewers; i++)
		if (!strcmp(b->objection_reviewers[i], staff))
			return true;
	return false;
}

bool directory_accepts(const dir_node_t *n, const char *case_type)
{
	/* A court or labour bureau listing case types would otherwise be
	 * sent referrals it has no way to decide. */
	if (!directory_takes_referrals(n))
		return false;
	for (size_t i = 0; i < n->n_accepts; i++)
		if (!strcmp(n->accepts[i], case_type))
			return true;
	return false;
}
