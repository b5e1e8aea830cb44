/* refctl-directory.c: refctl directory: the signed list of nodes and
 * their keys (docs/PROTOCOL.md). assemble, sign and verify work on files
 * alone, at the authority's desk; publish hands a signed directory to the
 * authority's node, and show asks a node which version is in force.
 *
 * Promises: a directory is signed over its exact bytes, and verify checks
 * those bytes against FILE.sig and the authority key given, nothing else. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "cli.h"
#include "i18n.h"
#include "errors.h"
#include "refctl-directory.h"
#include "referral.h"
#include "sign.h"
#include "util.h"

/* refctl directory publish FILE, at the authority's node: FILE and
 * FILE.sig go to the node, which installs them and sends them on. */
static int directory_publish(int argc, char **argv)
{
	static const char *const with_value[] = { NULL };
	const char *file = cli_positional(argc - 1, argv + 1, 0, with_value);
	char sigpath[4096], *text = NULL, *nl;
	uint8_t *json = NULL, *sig = NULL;
	size_t len, slen;
	ref_client_t *c = NULL;
	int r;

	if (!file)
		return cli_usage();
	snprintf(sigpath, sizeof(sigpath), "%s.sig", file);
	r = util_read_file(file, 16 << 20, &json, &len);
	if (r)
		return cli_fail(_("cannot read %s: %s"), file, ref_strerror(r));
	r = util_read_file(sigpath, 4096, &sig, &slen);
	if (r) {
		free(json);
		return cli_fail(_("cannot read %s: %s (sign it first: refctl "
				"directory sign)"), sigpath, ref_strerror(r));
	}
	if ((nl = strchr((char *)sig, '\n')))
		*nl = '\0';
	if (cli_client(&c)) {
		free(json);
		free(sig);
		return 1;
	}
	r = ref_publish_directory(c, json, len, (char *)sig, cli_actor, &text);
	free(json);
	free(sig);
	if (r) {
		cli_fail("%s", i18n_detail(ref_last_error(c)));
		ref_close(&c);
		return 1;
	}
	ref_close(&c);
	if (cli_want_json) {
		printf("%s\n", text);
	} else {
		json_t *o = json_loads(text, 0, NULL), *it;
		size_t i;
		printf(_("directory version %lld in force here; sent to"),
		       json_integer_value(json_object_get(o, "version")));
		json_array_foreach(json_object_get(o, "sent_to"), i, it)
			printf(" %s", json_string_value(it));
		printf("\n");
		json_decref(o);
	}
	free(text);
	return 0;
}

/* refctl directory show: the version the node has in force (asked of the
 * node), and the nodes of the directory file beside it. */
static int directory_show(void)
{
	ref_client_t *c = NULL;
	char *text = NULL, path[4096];
	json_t *st = NULL, *d, *it, *k;
	json_error_t jerr;
	size_t i, j;
	int r;

	if (cli_client(&c))
		return 1;
	r = ref_status(c, &text);
	if (r) {
		cli_fail("%s", i18n_detail(ref_last_error(c)));
		ref_close(&c);
		return 1;
	}
	ref_close(&c);
	st = json_loads(text, 0, NULL);
	free(text);
	snprintf(path, sizeof(path), "%s/directory.json", cli_data_dir);
	d = json_load_file(path, 0, &jerr);
	if (cli_want_json) {
		json_t *o = json_pack("{s:O, s:O, s:O}", "version",
				      json_object_get(st, "directory_version"),
				      "key_id", json_object_get(st, "key_id"),
				      "nodes", d ? json_object_get(d, "nodes")
						 : json_null());
		char *out = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		printf("%s\n", out);
		free(out);
		json_decref(o);
	} else {
		printf(_("directory version %lld in force (issued %s); this node "
		       "signs with %s\n"),
		       json_integer_value(json_object_get(st, "directory_version")),
		       cli_js(d, "issued_at"), cli_js(st, "key_id"));
		json_array_foreach(json_object_get(d, "nodes"), i, it) {
			printf(_("  %s  %-16s %s  keys:"), cli_js(it, "code"),
			       cli_js(it, "role"), cli_js(it, "endpoint"));
			json_array_foreach(json_object_get(it, "signing_keys"), j, k)
				printf(_(" %s (%s to %s)"), cli_js(k, "key_id"),
				       cli_js(k, "not_before"),
				       cli_js(k, "not_after"));
			printf("\n");
		}
	}
	json_decref(st);
	json_decref(d);
	return 0;
}

int refctl_directory(int argc, char **argv)
{
	static const char *const with_value[] = { "--key", "--authority",
		"--version", "--out", NULL };
	const char *sub = argc > 1 ? argv[1] : "";
	char sigpath[4096];
	uint8_t *json = NULL, *sigtext = NULL;
	size_t len, slen;
	EVP_PKEY *key = NULL;
	int r;

	/* Past "directory": below, argv[0] is the subcommand. */
	argc--;
	argv++;
	if (!strcmp(sub, "assemble")) {
		const char *ver = cli_opt(argc, argv, "--version");
		const char *auth = cli_opt(argc, argv, "--authority");
		const char *out = cli_opt(argc, argv, "--out");
		json_t *root, *nodes = json_array();
		char ts[32], *text;
		const char *f;

		if (!ver || !auth || !out || atoll(ver) < 1)
			return cli_usage();
		for (int i = 0; (f = cli_positional(argc - 1, argv + 1, i, with_value));
		     i++) {
			json_error_t jerr;
			json_t *e = json_load_file(f, 0, &jerr);
			if (!json_is_object(e))
				return cli_fail(_("%s is not a directory entry "
					    "(JSON object): %s"), f, jerr.text);
			json_array_append_new(nodes, e);
		}
		util_rfc3339(util_now_ms(), ts);
		ts[19] = 'Z';
		ts[20] = '\0';
		root = json_pack("{s:s, s:I, s:s, s:s, s:o}", "format",
				 "referral.v1/directory", "version",
				 (json_int_t)atoll(ver), "issued_at", ts,
				 "authority", auth, "nodes", nodes);
		text = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		json_decref(root);
		r = util_write_file(out, text, strlen(text), 0644);
		free(text);
		if (r)
			return cli_fail(_("cannot write %s: %s"), out, ref_strerror(r));
		return 0;
	}
	if (!strcmp(sub, "publish"))
		return directory_publish(argc, argv);
	if (!strcmp(sub, "show"))
		return directory_show();
	if (strcmp(sub, "sign") && strcmp(sub, "verify"))
		return cli_usage();
	{
		const char *file = cli_positional(argc - 1, argv + 1, 0, with_value);
		const char *keyfile = cli_opt(argc, argv, !strcmp(sub, "sign")
						      ? "--key" : "--authority");
		if (!file || !keyfile)
			return cli_usage();
		r = util_read_file(file, 16 << 20, &json, &len);
		if (r)
			return cli_fail(_("cannot read %s: %s"), file, ref_strerror(r));
		snprintf(sigpath, sizeof(sigpath), "%s.sig", file);
		if (!strcmp(sub, "sign")) {
			uint8_t sig[SIGN_MAX_SIG];
			size_t siglen;
			char *b64;

			r = sign_key_load_private(keyfile, &key);
			if (r) {
				free(json);
				return cli_fail(_("cannot load the authority key %s: %s"),
					    keyfile, ref_strerror(r));
			}
			r = sign_data(key, json, len, sig, &siglen);
			if (!r)
				r = util_b64_encode(sig, siglen, &b64);
			if (!r) {
				size_t bl = strlen(b64);
				char *line = malloc(bl + 2);
				if (line) {
					memcpy(line, b64, bl);
					line[bl] = '\n';
					r = util_write_file(sigpath, line, bl + 1,
							    0644);
				} else {
					r = -ENOMEM;
				}
				free(line);
				free(b64);
			}
			EVP_PKEY_free(key);
			free(json);
			if (r)
				return cli_fail(_("cannot sign %s: %s"), file,
					    ref_strerror(r));
			printf("%s\n", sigpath);
			return 0;
		}
		r = sign_key_load_public(keyfile, &key);
		if (!r)
			r = util_read_file(sigpath, 4096, &sigtext, &slen);
		if (!r) {
			uint8_t *sig;
			size_t siglen;
			r = util_b64_decode((char *)sigtext, &sig, &siglen);
			if (!r) {
				r = sign_verify(key, json, len, sig, siglen);
				free(sig);
			}
		}
		EVP_PKEY_free(key);
		free(json);
		free(sigtext);
		if (r)
			return cli_fail(_("%s is not correctly signed by %s (%s)"), file,
				    keyfile, ref_strerror(r));
		printf(_("%s: signature good\n"), file);
		return 0;
	}
}
