/* test-directory.c: the signed directory against the shared vectors
 * (argv[1]): signature, parsing, loading from a data folder and every way a
 * load fails, key and node lookups, and directory_parse's refusals, built
 * with jansson as edits of the vector so each case differs in one thing. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <jansson.h>

#include "testutil.h"
#include "directory.h"
#include "errors.h"
#include "sign.h"
#include "util.h"

/* 2020-01-01T00:00:00Z and 2099-01-01T00:00:00Z, the vector keys' window. */
#define NOT_BEFORE_MS 1577836800000ULL
#define NOT_AFTER_MS  4070908800000ULL
/* 2026-11-28T00:00:00Z */
#define SOME_DAY_MS   1795824000000ULL

static const char *vectors;
static char dir[] = "/tmp/test-directory-XXXXXX";
static uint8_t *vec_json, *vec_sig;
static size_t vec_json_len, vec_sig_len;
static EVP_PKEY *authority;
static json_t *vec_root;       /* directory.json, parsed by jansson */
static json_t *curve_keys;     /* curve-keys.json */

static void path_in(char *out, size_t len, const char *folder,
		    const char *name)
{
	snprintf(out, len, "%s/%s", folder, name);
}

static int read_vector(const char *name, uint8_t **buf, size_t *len)
{
	char path[1024];

	path_in(path, sizeof(path), vectors, name);
	return util_read_file(path, 1 << 20, buf, len);
}

static void put_file(const char *name, const void *buf, size_t len)
{
	char path[1024];

	path_in(path, sizeof(path), dir, name);
	CHECK_EQ_INT(util_write_file(path, buf, len, 0644), 0);
}

/* The vector directory, verified and parsed as it is on disk. */
static void test_vector(void)
{
	directory_t *d = NULL;
	const dir_node_t *n;
	char err[512] = "";
	EVP_PKEY *want = NULL;

	CHECK_EQ_INT(directory_verify_sig(vec_json, vec_json_len,
					  (char *)vec_sig, authority), 0);
	CHECK_EQ_INT(directory_parse((char *)vec_json, vec_json_len, &d, err,
				     sizeof(err)), 0);
	CHECK(d != NULL);
	if (!d)
		return;
	CHECK_EQ_INT(d->version, 1);
	CHECK(!strcmp(d->authority, "350500"));
	CHECK(!strcmp(d->issued_at, "2026-11-28T00:00:00Z"));
	CHECK_EQ_INT(d->n_nodes, 2);
	CHECK(!strcmp(d->nodes[0].code, "350581"));
	CHECK(!strcmp(d->nodes[1].code, "350582"));

	n = directory_node(d, "350581");
	CHECK(n == &d->nodes[0]);
	CHECK(!strcmp(n->name, "石狮市法律援助中心"));
	CHECK(!strcmp(n->role, "legal_aid_centre"));
	CHECK(!strcmp(n->endpoint, "tcp://127.0.0.1:7451"));
	CHECK(!strcmp(n->curve_public, json_string_value(json_object_get(
		json_object_get(curve_keys, "350581"), "public"))));
	CHECK_EQ_INT(n->n_keys, 1);
	CHECK(!strcmp(n->keys[0].key_id, "350581-k1"));
	CHECK_EQ_INT(n->keys[0].alg, SIGN_ALG_ED25519);
	CHECK_EQ_INT(n->keys[0].not_before_ms, NOT_BEFORE_MS);
	CHECK_EQ_INT(n->keys[0].not_after_ms, NOT_AFTER_MS);
	CHECK(sign_key_from_b64("MCowBQYDK2VwAyEA11qYAYKxCrfVS/7TyWQHOg7hcvPa"
				"piMlrwIaaPcHURo=", &want) == 0);
	CHECK(EVP_PKEY_eq(n->keys[0].key, want) == 1);
	EVP_PKEY_free(want);
	CHECK_EQ_INT(n->n_accepts, 2);
	CHECK(!strcmp(n->accepts[0], "labour"));
	CHECK(!strcmp(n->accepts[1], "marriage_family"));

	n = directory_node(d, "350582");
	CHECK(n == &d->nodes[1]);
	CHECK(!strcmp(n->endpoint, "tcp://127.0.0.1:7452"));
	CHECK(!strcmp(n->keys[0].key_id, "350582-k1"));
	CHECK_EQ_INT(n->n_accepts, 1);
	CHECK(!strcmp(n->accepts[0], "labour"));
	CHECK(directory_node(d, "350583") == NULL);

	directory_free(&d);
	CHECK(d == NULL);
	directory_free(&d); /* safe twice */

	/* The signature covers the exact bytes: one changed, or one more
	 * (a trailing newline that changes nothing for JSON), fails. */
	{
		uint8_t *copy = malloc(vec_json_len + 1);
		memcpy(copy, vec_json, vec_json_len);
		copy[vec_json_len] = '\n';
		CHECK_EQ_INT(directory_verify_sig(copy, vec_json_len + 1,
						  (char *)vec_sig, authority),
			     REF_E_DIRECTORY);
		copy[vec_json_len / 2] ^= 0x01;
		CHECK_EQ_INT(directory_verify_sig(copy, vec_json_len,
						  (char *)vec_sig, authority),
			     REF_E_DIRECTORY);
		free(copy);
	}
	CHECK_EQ_INT(directory_verify_sig(vec_json, vec_json_len,
					  "not base64!", authority),
		     REF_E_DIRECTORY);
}

static void test_lookups(void)
{
	directory_t *d = NULL;
	const dir_node_t *n581, *n582;
	EVP_PKEY *k;
	char err[512];
	const char *z582 = json_string_value(json_object_get(
		json_object_get(curve_keys, "350582"), "public"));

	CHECK_EQ_INT(directory_parse((char *)vec_json, vec_json_len, &d, err,
				     sizeof(err)), 0);
	if (!d)
		return;
	n581 = directory_node(d, "350581");
	n582 = directory_node(d, "350582");
	CHECK(n581 && n582);
	if (!n581 || !n582)
		goto out;

	/* Inside the window, its first and last millisecond included. */
	k = directory_key(d, "350581", "350581-k1", SOME_DAY_MS);
	CHECK(k != NULL && k == n581->keys[0].key);
	CHECK(directory_key(d, "350581", "350581-k1", NOT_BEFORE_MS) == k);
	CHECK(directory_key(d, "350581", "350581-k1", NOT_AFTER_MS - 1) == k);
	/* Outside it. */
	CHECK(directory_key(d, "350581", "350581-k1", NOT_BEFORE_MS - 1) == NULL);
	CHECK(directory_key(d, "350581", "350581-k1", NOT_AFTER_MS) == NULL);
	CHECK(directory_key(d, "350581", "350581-k1", 0) == NULL);
	/* Unknown key id, another node's key id, unknown node. */
	CHECK(directory_key(d, "350581", "350581-k2", SOME_DAY_MS) == NULL);
	CHECK(directory_key(d, "350581", "350582-k1", SOME_DAY_MS) == NULL);
	CHECK(directory_key(d, "350599", "350581-k1", SOME_DAY_MS) == NULL);
	CHECK(directory_key(d, "350582", "350582-k1", SOME_DAY_MS) ==
	      n582->keys[0].key);
	CHECK(directory_key(NULL, "350581", "350581-k1", SOME_DAY_MS) == NULL);

	/* By CURVE key, as the peer's ZAP handler sees it. */
	CHECK(z582 != NULL);
	CHECK(directory_node_by_curve(d, z582) == n582);
	CHECK(directory_node_by_curve(d, n581->curve_public) == n581);
	CHECK(directory_node_by_curve(d,
		"0000000000000000000000000000000000000000") == NULL);
	CHECK(directory_node_by_curve(d, "") == NULL);

	CHECK(directory_accepts(n581, "labour"));
	CHECK(directory_accepts(n581, "marriage_family"));
	CHECK(directory_accepts(n582, "labour"));
	CHECK(!directory_accepts(n582, "marriage_family"));
	CHECK(!directory_accepts(n581, "Labour"));
	CHECK(!directory_accepts(n581, ""));
out:
	directory_free(&d);
}

/* Signs buf with key into a base64 .sig text (malloc'd). */
static char *sign_b64(EVP_PKEY *key, const uint8_t *buf, size_t len)
{
	uint8_t sig[SIGN_MAX_SIG];
	size_t siglen = 0;
	char *b64 = NULL;

	CHECK_EQ_INT(sign_data(key, buf, len, sig, &siglen), 0);
	CHECK_EQ_INT(util_b64_encode(sig, siglen, &b64), 0);
	return b64;
}

static void test_load(void)
{
	directory_t *d = NULL;
	char err[512], jpath[1024], spath[1100];
	uint8_t *tampered;
	EVP_PKEY *other = NULL;
	char *other_sig;
	char *p;

	path_in(jpath, sizeof(jpath), dir, "directory.json");
	snprintf(spath, sizeof(spath), "%s.sig", jpath);

	/* Copies of the vector files load. */
	put_file("directory.json", vec_json, vec_json_len);
	put_file("directory.json.sig", vec_sig, vec_sig_len);
	err[0] = '\0';
	CHECK_EQ_INT(directory_load(dir, authority, &d, err, sizeof(err)), 0);
	CHECK(d != NULL && d->n_nodes == 2 && d->version == 1);
	CHECK(err[0] == '\0');
	directory_free(&d);

	/* One byte changed: "version": 1 becomes 2. Still a good directory
	 * (parse accepts it), but not the one the authority signed. */
	tampered = malloc(vec_json_len + 1);
	memcpy(tampered, vec_json, vec_json_len + 1);
	p = strstr((char *)tampered, "\"version\": 1");
	CHECK(p != NULL);
	if (p) {
		p[strlen("\"version\": ")] = '2';
		CHECK_EQ_INT(directory_parse((char *)tampered, vec_json_len, &d,
					     err, sizeof(err)), 0);
		CHECK(d && d->version == 2);
		directory_free(&d);
	}
	put_file("directory.json", tampered, vec_json_len);
	CHECK_EQ_INT(directory_load(dir, authority, &d, err, sizeof(err)),
		     REF_E_DIRECTORY);
	CHECK(d == NULL);
	CHECK(strstr(err, "not signed by the authority") != NULL);
	CHECK(strstr(err, jpath) != NULL);

	/* No .sig: the message names it and says how to make one. */
	put_file("directory.json", vec_json, vec_json_len);
	CHECK(unlink(spath) == 0);
	CHECK_EQ_INT(directory_load(dir, authority, &d, err, sizeof(err)),
		     REF_E_DIRECTORY);
	CHECK(d == NULL);
	CHECK(strstr(err, spath) != NULL);
	CHECK(strstr(err, "signed by the authority") != NULL);

	/* An empty or garbled .sig. */
	put_file("directory.json.sig", "", 0);
	CHECK_EQ_INT(directory_load(dir, authority, &d, err, sizeof(err)),
		     REF_E_DIRECTORY);
	CHECK(strstr(err, "not signed by the authority") != NULL);
	put_file("directory.json.sig", "@@@@\n", 5);
	CHECK_EQ_INT(directory_load(dir, authority, &d, err, sizeof(err)),
		     REF_E_DIRECTORY);
	CHECK(strstr(err, "not signed by the authority") != NULL);

	/* A good signature by a key that is not the authority's. */
	CHECK_EQ_INT(sign_key_generate(SIGN_ALG_ED25519, &other), 0);
	other_sig = sign_b64(other, vec_json, vec_json_len);
	put_file("directory.json.sig", other_sig, strlen(other_sig));
	CHECK_EQ_INT(directory_load(dir, authority, &d, err, sizeof(err)),
		     REF_E_DIRECTORY);
	CHECK(d == NULL);
	CHECK(strstr(err, "not signed by the authority") != NULL);
	/* ... which is a good directory for a node that trusts that key. */
	CHECK_EQ_INT(directory_load(dir, other, &d, err, sizeof(err)), 0);
	CHECK(d != NULL && d->n_nodes == 2);
	directory_free(&d);
	free(other_sig);

	/* Signed, but refused by the parser: the message names the file and
	 * what is wrong in it. */
	if (p) {
		p[strlen("\"version\": ")] = '0';
		other_sig = sign_b64(other, tampered, vec_json_len);
		put_file("directory.json", tampered, vec_json_len);
		put_file("directory.json.sig", other_sig, strlen(other_sig));
		CHECK_EQ_INT(directory_load(dir, other, &d, err, sizeof(err)),
			     REF_E_DIRECTORY);
		CHECK(d == NULL);
		CHECK(strstr(err, jpath) != NULL);
		CHECK(strstr(err, "version") != NULL);
		free(other_sig);
	}

	/* No directory.json at all. */
	CHECK(unlink(jpath) == 0);
	CHECK_EQ_INT(directory_load(dir, authority, &d, err, sizeof(err)),
		     REF_E_DIRECTORY);
	CHECK(d == NULL);
	CHECK(strstr(err, jpath) != NULL);
	CHECK(strstr(err, "cannot read") != NULL);
	unlink(spath);

	EVP_PKEY_free(other);
	free(tampered);
}

/* Edits of the vector, for the parse cases. */
static json_t *node(json_t *root, size_t i)
{
	return json_array_get(json_object_get(root, "nodes"), i);
}

static json_t *key0(json_t *root, size_t i)
{
	return json_array_get(json_object_get(node(root, i), "signing_keys"), 0);
}

static void set_str(json_t *o, const char *k, const char *v)
{
	CHECK_EQ_INT(json_object_set_new(o, k, json_string(v)), 0);
}

static void e_format(json_t *r) { set_str(r, "format", "referral.v2/directory"); }
static void e_no_format(json_t *r) { json_object_del(r, "format"); }
static void e_version0(json_t *r)
{
	json_object_set_new(r, "version", json_integer(0));
}
static void e_version_str(json_t *r) { set_str(r, "version", "1"); }
static void e_nodes_obj(json_t *r)
{
	json_object_set_new(r, "nodes", json_object());
}
static void e_dup_code(json_t *r) { set_str(node(r, 1), "code", "350581"); }
static void e_bad_code(json_t *r) { set_str(node(r, 1), "code", "35058"); }
static void e_dup_curve(json_t *r)
{
	json_object_set(node(r, 1), "curve_public_key",
			json_object_get(node(r, 0), "curve_public_key"));
}
static void e_curve_short(json_t *r)
{
	char z[41];

	snprintf(z, sizeof(z), "%s", json_string_value(json_object_get(
		node(r, 1), "curve_public_key")));
	z[39] = '\0';
	set_str(node(r, 1), "curve_public_key", z);
}
/* 35 characters: good Z85 (28 bytes), but not a 32-byte key. */
static void e_curve_35(json_t *r)
{
	char z[41];

	snprintf(z, sizeof(z), "%s", json_string_value(json_object_get(
		node(r, 1), "curve_public_key")));
	z[35] = '\0';
	set_str(node(r, 1), "curve_public_key", z);
}
static void e_curve_long(json_t *r)
{
	char z[64];

	snprintf(z, sizeof(z), "%s0", json_string_value(json_object_get(
		node(r, 1), "curve_public_key")));
	set_str(node(r, 1), "curve_public_key", z);
}
static void e_curve_not_z85(json_t *r)
{
	char z[41];

	snprintf(z, sizeof(z), "%s", json_string_value(json_object_get(
		node(r, 1), "curve_public_key")));
	z[0] = '~'; /* not in the Z85 alphabet */
	set_str(node(r, 1), "curve_public_key", z);
}
static void e_alg_mismatch(json_t *r) { set_str(key0(r, 0), "alg", "sm2-sm3"); }
static void e_alg_unknown(json_t *r) { set_str(key0(r, 0), "alg", "rsa"); }
static void e_pub_not_b64(json_t *r)
{
	set_str(key0(r, 0), "public_key", "not a key");
}
static void e_window_reversed(json_t *r)
{
	set_str(key0(r, 0), "not_before", "2099-01-01T00:00:00Z");
	set_str(key0(r, 0), "not_after", "2020-01-01T00:00:00Z");
}
static void e_window_empty(json_t *r)
{
	set_str(key0(r, 0), "not_after", "2020-01-01T00:00:00Z");
}
static void e_window_bad_time(json_t *r)
{
	set_str(key0(r, 0), "not_before", "2020-01-01");
}
static void e_no_keys(json_t *r) { json_object_del(node(r, 1), "signing_keys"); }
static void e_empty_keys(json_t *r)
{
	json_object_set_new(node(r, 1), "signing_keys", json_array());
}
static void e_no_key_id(json_t *r) { json_object_del(key0(r, 0), "key_id"); }
static void e_dup_key_id(json_t *r)
{
	json_array_append_new(json_object_get(node(r, 0), "signing_keys"),
			      json_deep_copy(key0(r, 0)));
}
static void e_endpoint_ipc(json_t *r)
{
	set_str(node(r, 0), "endpoint", "ipc:///tmp/node.sock");
}
static void e_no_endpoint(json_t *r) { json_object_del(node(r, 0), "endpoint"); }
static void e_no_name(json_t *r) { json_object_del(node(r, 0), "name"); }
static void e_accepts_str(json_t *r) { set_str(node(r, 0), "accepts", "labour"); }
static void e_accepts_num(json_t *r)
{
	json_array_append_new(json_object_get(node(r, 0), "accepts"),
			      json_integer(7));
}

/* The justice bureau's fields (Art 49), on the wrong role or malformed. */
static void e_oversees_centre(json_t *r)
{
	json_object_set_new(node(r, 0), "oversees", json_pack("[s]", "350582"));
}

static void e_oversees_code(json_t *r)
{
	set_str(node(r, 0), "role", "justice_bureau");
	json_object_set_new(node(r, 0), "oversees", json_pack("[s]", "3505"));
}

static void e_reviewers_num(json_t *r)
{
	set_str(node(r, 0), "role", "justice_bureau");
	json_object_set_new(node(r, 0), "objection_reviewers",
			    json_pack("[i]", 7));
}

static void e_reviewers_str(json_t *r)
{
	set_str(node(r, 0), "role", "authority");
	json_object_set_new(node(r, 0), "objection_reviewers",
			    json_string("bureau-0301"));
}

static void test_parse_refusals(void)
{
	static const struct {
		const char *what;
		void (*edit)(json_t *root);
		const char *want[3];
	} cases[] = {
		{ "format", e_format, { "format", DIRECTORY_FORMAT } },
		{ "no format", e_no_format, { "format" } },
		{ "version 0", e_version0, { "version", "positive integer" } },
		{ "version text", e_version_str, { "version" } },
		{ "nodes object", e_nodes_obj, { "nodes", "not a list" } },
		{ "duplicate code", e_dup_code, { "node 350581", "twice" } },
		{ "bad code", e_bad_code, { "code", "six digits" } },
		{ "duplicate curve", e_dup_curve,
		  { "350581", "350582", "CURVE key" } },
		{ "curve 39", e_curve_short, { "node 350582", "curve_public_key",
					       "40 characters" } },
		{ "curve 35", e_curve_35, { "node 350582", "curve_public_key",
					    "40 characters" } },
		{ "curve 41", e_curve_long, { "node 350582", "curve_public_key" } },
		{ "curve not z85", e_curve_not_z85,
		  { "node 350582", "curve_public_key", "Z85" } },
		{ "alg mismatch", e_alg_mismatch,
		  { "node 350581", "key 350581-k1", "not of alg sm2-sm3" } },
		{ "alg unknown", e_alg_unknown,
		  { "node 350581", "key 350581-k1", "alg \"rsa\"" } },
		{ "public key", e_pub_not_b64,
		  { "node 350581", "key 350581-k1", "public_key" } },
		{ "window reversed", e_window_reversed,
		  { "node 350581", "key 350581-k1", "not_before first" } },
		{ "window empty", e_window_empty,
		  { "node 350581", "key 350581-k1", "not_after" } },
		{ "window bad time", e_window_bad_time,
		  { "node 350581", "key 350581-k1", "RFC 3339" } },
		{ "no signing keys", e_no_keys, { "node 350582", "signing_keys" } },
		{ "empty signing keys", e_empty_keys,
		  { "node 350582", "signing_keys" } },
		{ "no key id", e_no_key_id, { "node 350581", "key_id" } },
		{ "duplicate key id", e_dup_key_id,
		  { "node 350581", "key_id 350581-k1", "twice" } },
		{ "endpoint ipc", e_endpoint_ipc,
		  { "node 350581", "endpoint", "tcp://" } },
		{ "no endpoint", e_no_endpoint, { "node 350581", "endpoint" } },
		{ "no name", e_no_name, { "node 350581", "name" } },
		{ "accepts text", e_accepts_str,
		  { "node 350581", "accepts", "not a list" } },
		{ "accepts number", e_accepts_num, { "node 350581", "accepts" } },
		{ "oversees on a centre", e_oversees_centre,
		  { "node 350581", "justice_bureau or authority entry",
		    "not a legal_aid_centre" } },
		{ "oversees bad code", e_oversees_code,
		  { "node 350581", "oversees", "six-digit" } },
		{ "reviewers number", e_reviewers_num,
		  { "node 350581", "objection_reviewers", "staff id" } },
		{ "reviewers text", e_reviewers_str,
		  { "node 350581", "objection_reviewers", "not a list" } },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_t *r = json_deep_copy(vec_root);
		directory_t *d = NULL;
		char err[512] = "", *text;
		int ok = 1;

		cases[i].edit(r);
		text = json_dumps(r, JSON_INDENT(2));
		CHECK(text != NULL);
		if (!text) {
			json_decref(r);
			continue;
		}
		CHECK_EQ_INT(directory_parse(text, strlen(text), &d, err,
					     sizeof(err)), REF_E_DIRECTORY);
		CHECK(d == NULL);
		for (int w = 0; w < 3 && cases[i].want[w]; w++) {
			CHECK(strstr(err, cases[i].want[w]) != NULL);
			ok &= strstr(err, cases[i].want[w]) != NULL;
		}
		if (!ok)
			fprintf(stderr, "case %s: message was: %s\n",
				cases[i].what, err);
		directory_free(&d);
		free(text);
		json_decref(r);
	}

	/* Not JSON at all. */
	{
		directory_t *d = NULL;
		char err[512] = "";

		CHECK_EQ_INT(directory_parse("{\"format\": ", 11, &d, err,
					     sizeof(err)), REF_E_DIRECTORY);
		CHECK(d == NULL);
		CHECK(strstr(err, "not JSON") != NULL);
	}
}

/* What parses: unknown fields anywhere, no accepts list, an SM2 key. */
static void test_parse_accepted(void)
{
	json_t *r = json_deep_copy(vec_root), *k;
	directory_t *d = NULL;
	EVP_PKEY *sm2 = NULL;
	char err[512] = "", *text, *b64 = NULL;
	const dir_node_t *n;

	json_object_set_new(r, "contact", json_string("ops@example.invalid"));
	json_object_set_new(r, "extensions", json_pack("{s:[i,i],s:{s:b}}",
		"levels", 1, 2, "flags", "beta", 1));
	json_object_set_new(node(r, 0), "region", json_string("Quanzhou"));
	json_object_set_new(node(r, 0), "hours", json_pack("{s:s}", "mon",
							   "09:00-17:00"));
	json_object_set_new(key0(r, 0), "comment", json_integer(42));
	json_object_del(node(r, 1), "accepts");

	/* A second key for 350581, SM2 with SM3, valid from 2027. */
	CHECK_EQ_INT(sign_key_generate(SIGN_ALG_SM2_SM3, &sm2), 0);
	CHECK_EQ_INT(sign_key_to_b64(sm2, &b64), 0);
	k = json_pack("{s:s,s:s,s:s,s:s,s:s}", "key_id", "350581-k2",
		      "alg", "sm2-sm3", "public_key", b64 ? b64 : "",
		      "not_before", "2027-01-01T00:00:00Z",
		      "not_after", "2028-01-01T00:00:00Z");
	json_array_append_new(json_object_get(node(r, 0), "signing_keys"), k);

	text = json_dumps(r, 0);
	CHECK_EQ_INT(directory_parse(text, strlen(text), &d, err, sizeof(err)),
		     0);
	if (err[0])
		fprintf(stderr, "unknown fields: %s\n", err);
	CHECK(d != NULL);
	if (d) {
		CHECK_EQ_INT(d->n_nodes, 2);
		n = directory_node(d, "350581");
		CHECK(n && n->n_keys == 2 && n->n_accepts == 2);
		CHECK(n && n->keys[1].alg == SIGN_ALG_SM2_SM3);
		/* 2026 is k1's time, 2027 is both keys'. */
		CHECK(directory_key(d, "350581", "350581-k2",
				    SOME_DAY_MS) == NULL);
		CHECK(directory_key(d, "350581", "350581-k2",
				    SOME_DAY_MS + 60ULL * 86400000) ==
		      (n ? n->keys[1].key : NULL));
		CHECK(directory_key(d, "350581", "350581-k1",
				    SOME_DAY_MS + 60ULL * 86400000) != NULL);
		n = directory_node(d, "350582");
		CHECK(n && n->n_accepts == 0);
		CHECK(n && !directory_accepts(n, "labour"));
	}
	directory_free(&d);
	free(text);

	/* The SM2 key under alg ed25519 is refused the other way round. */
	set_str(json_array_get(json_object_get(node(r, 0), "signing_keys"), 1),
		"alg", "ed25519");
	text = json_dumps(r, 0);
	CHECK_EQ_INT(directory_parse(text, strlen(text), &d, err, sizeof(err)),
		     REF_E_DIRECTORY);
	CHECK(d == NULL);
	CHECK(strstr(err, "key 350581-k2") && strstr(err, "not of alg ed25519"));
	free(text);

	free(b64);
	EVP_PKEY_free(sm2);
	json_decref(r);

	/* A justice bureau overseeing a centre, with its reviewers. */
	r = json_deep_copy(vec_root);
	set_str(node(r, 1), "role", "justice_bureau");
	json_object_set_new(node(r, 1), "oversees", json_pack("[s]", "350581"));
	json_object_set_new(node(r, 1), "objection_reviewers",
			    json_pack("[s,s]", "bureau-0301", "bureau-0302"));
	text = json_dumps(r, 0);
	CHECK_EQ_INT(directory_parse(text, strlen(text), &d, err, sizeof(err)),
		     0);
	if (d) {
		const dir_node_t *b = directory_node(d, "350582");
		const dir_node_t *c = directory_node(d, "350581");
		CHECK(directory_oversees(b, "350581"));
		CHECK(!directory_oversees(b, "350582"));
		CHECK(!directory_oversees(c, "350581"));
		CHECK(directory_objection_reviewer(b, "bureau-0302"));
		CHECK(!directory_objection_reviewer(b, "bureau-03"));
		CHECK(!directory_objection_reviewer(b, ""));
		CHECK(!directory_objection_reviewer(c, "bureau-0301"));
	}
	directory_free(&d);
	free(text);
	json_decref(r);
}

int main(int argc, char **argv)
{
	char path[1024], cmd[300];
	json_error_t jerr;
	uint8_t *buf;
	size_t len;

	vectors = argc > 1 ? argv[1] : "../shared/vectors";
	if (read_vector("directory.json", &vec_json, &vec_json_len) ||
	    read_vector("directory.json.sig", &vec_sig, &vec_sig_len)) {
		fprintf(stderr, "cannot read the directory vectors in %s\n",
			vectors);
		return 1;
	}
	path_in(path, sizeof(path), vectors, "authority.pub.pem");
	if (sign_key_load_public(path, &authority)) {
		fprintf(stderr, "cannot load %s\n", path);
		return 1;
	}
	vec_root = json_loadb((char *)vec_json, vec_json_len, 0, &jerr);
	if (read_vector("curve-keys.json", &buf, &len) == 0) {
		curve_keys = json_loadb((char *)buf, len, 0, &jerr);
		free(buf);
	}
	if (!vec_root || !curve_keys) {
		fprintf(stderr, "the vectors in %s are not JSON\n", vectors);
		return 1;
	}
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}

	test_vector();
	test_lookups();
	test_load();
	test_parse_refusals();
	test_parse_accepted();

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	CHECK(system(cmd) == 0);
	json_decref(vec_root);
	json_decref(curve_keys);
	EVP_PKEY_free(authority);
	free(vec_json);
	free(vec_sig);
	return test_finish("directory");
}
