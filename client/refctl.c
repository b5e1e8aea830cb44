/* refctl.c: the command line for county staff and admins, built on
 * libreferral. Commands and flags named in the README are fixed (tests and
 * other tools drive them); human text by default, JSON with --json.
 * Exit status: 0 done, 1 refused or failed (the message says why),
 * 2 bad usage. */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <jansson.h>
#include <zmq.h>

#include "application.h"
#include "audit.h"
#include "envelope.h"
#include "store.h"
#include "referral.h"
#include "sign.h"
#include "util.h"

static bool want_json;
static const char *data_dir;
static const char *actor;

static int usage(void)
{
	fprintf(stderr,
"usage: refctl [--data DIR] [--json] COMMAND ...\n"
"\n"
"Setting up a node:\n"
"  init --data DIR --node CODE --name NAME --listen tcp://HOST:PORT\n"
"       --authority PUBKEY.pem [--alg ed25519|sm2-sm3] [--role ROLE]\n"
"       [--endpoint tcp://HOST:PORT] [--accepts TYPE,TYPE...]\n"
"  authority keygen --out DIR [--alg ed25519|sm2-sm3]\n"
"  directory assemble --version N --authority CODE --out FILE ENTRY.json...\n"
"  directory sign --key AUTHORITY_KEY directory.json\n"
"  directory verify --authority PUBKEY.pem directory.json\n"
"\n"
"Working with referrals (DIR may come from REFERRAL_DATA):\n"
"  status\n"
"  example application\n"
"  submit --to CODE FILE.json [--actor STAFF_ID]\n"
"  show ID\n"
"  list --inbox|--outbox\n"
"  trail ID\n"
"  overdue\n"
"  audit verify [--witness FILE]   (reads the store itself, read-only)\n"
"  audit witnessed --node CODE     (checkpoints this node holds about CODE)\n"
"\n"
"The lifecycle (--actor STAFF_ID names who acts; REFERRAL_ACTOR also works):\n"
"  accept ID                         deny ID --basis TEXT --reason TEXT\n"
"  request-materials ID --item TEXT [--item TEXT ...]\n"
"  supplement ID --doc FILE [--doc FILE ...]   (origin)\n"
"  assign ID --firm NAME --lawyer NAME --licence NO\n"
"  start ID      hold ID --reason TEXT      resume ID\n"
"  terminate ID --reason TEXT        close ID --report FILE\n"
"  cancel ID --reason TEXT           refer-onward ID --to CODE --reason TEXT\n"
"  pre-aid ID --reason TEXT          (Art 44: grant before the review ends)\n"
"  object ID --reason TEXT           decide-objection ID --uphold|--grant\n"
"                                    (the justice bureau's admin role)\n");
	return 2;
}

static int fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int fail(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "refctl: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return 1;
}

/* Finds "--name VALUE" in args; NULL if absent. */
static const char *opt(int argc, char **argv, const char *name)
{
	for (int i = 0; i < argc - 1; i++)
		if (!strcmp(argv[i], name))
			return argv[i + 1];
	return NULL;
}

static bool flag(int argc, char **argv, const char *name)
{
	for (int i = 0; i < argc; i++)
		if (!strcmp(argv[i], name))
			return true;
	return false;
}

/* The n-th argument that is neither an option nor an option's value. */
static const char *positional(int argc, char **argv, int n,
			      const char *const *with_value)
{
	for (int i = 0; i < argc; i++) {
		bool takes = false;
		if (!strncmp(argv[i], "--", 2)) {
			for (const char *const *w = with_value; *w; w++)
				if (!strcmp(argv[i], *w))
					takes = true;
			if (takes)
				i++;
			continue;
		}
		if (n-- == 0)
			return argv[i];
	}
	return NULL;
}

static int client(ref_client_t **ret)
{
	int r;

	if (!data_dir || !*data_dir)
		return fail("no data folder: give --data DIR or set REFERRAL_DATA");
	r = ref_open(data_dir, 0, ret);
	if (r)
		return fail("cannot open a client for %s: %s", data_dir,
			    ref_strerror(r));
	return 0;
}

static json_t *parse(const char *text)
{
	return json_loads(text, 0, NULL);
}

static const char *js(json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));
	return s ? s : "-";
}

/* ---- setup commands ------------------------------------------------------ */

static const char *const all_case_types[] = {
	"labour", "marriage_family", "food_drugs", "education_medical",
	"accident_compensation", "land_expropriation", "land_transfer",
	"epidemic_wage", "dismissal", "work_injury", "lease", "other", NULL };

static int cmd_init(int argc, char **argv)
{
	const char *code = opt(argc, argv, "--node");
	const char *name = opt(argc, argv, "--name");
	const char *listen = opt(argc, argv, "--listen");
	const char *auth = opt(argc, argv, "--authority");
	const char *alg_name = opt(argc, argv, "--alg");
	const char *role = opt(argc, argv, "--role");
	const char *endpoint = opt(argc, argv, "--endpoint");
	const char *accepts = opt(argc, argv, "--accepts");
	char path[4096], key_id[64], pub[41], sec[41], *b64 = NULL, *conf;
	char nb[32], na[32];
	EVP_PKEY *key = NULL, *authority = NULL;
	sign_alg_t alg = SIGN_ALG_ED25519;
	json_t *entry, *keys, *k, *acc;
	struct stat st;
	uint64_t now = util_now_ms();
	int r;

	if (!data_dir || !code || !name || !listen || !auth)
		return usage();
	if (alg_name && sign_alg_from_name(alg_name, &alg))
		return fail("--alg %s: use ed25519 or sm2-sm3", alg_name);
	if (!util_node_code_valid(code))
		return fail("--node %s is not a six-digit division code", code);
	if (strncmp(listen, "tcp://", 6))
		return fail("--listen %s must be tcp://HOST:PORT", listen);
	for (const char *p = name; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == ';' || *p == '#')
			return fail("--name must be one line without ';' or '#'");
	if (strlen(name) > 150)
		return fail("--name is longer than 150 bytes");
	if (!role)
		role = "legal_aid_centre";
	if (strcmp(role, "legal_aid_centre") && strcmp(role, "court") &&
	    strcmp(role, "labour_bureau") && strcmp(role, "authority"))
		return fail("--role %s: use legal_aid_centre, court, "
			    "labour_bureau or authority", role);
	r = sign_key_load_public(auth, &authority);
	if (r)
		return fail("--authority %s is not a PEM public key: %s", auth,
			    ref_strerror(r));
	snprintf(path, sizeof(path), "%s/signing.key", data_dir);
	if (stat(path, &st) == 0) {
		EVP_PKEY_free(authority);
		return fail("%s already holds a node (signing.key exists); "
			    "refusing to overwrite its keys", data_dir);
	}
	if (mkdir(data_dir, 0700) < 0 && errno != EEXIST) {
		EVP_PKEY_free(authority);
		return fail("cannot create %s: %s", data_dir, strerror(errno));
	}
	r = sign_key_generate(alg, &key);
	if (!r)
		r = sign_key_save_private(key, path);
	snprintf(path, sizeof(path), "%s/signing.pub.pem", data_dir);
	if (!r)
		r = sign_key_save_public(key, path);
	snprintf(path, sizeof(path), "%s/authority.pub.pem", data_dir);
	if (!r)
		r = sign_key_save_public(authority, path);
	if (!r && zmq_curve_keypair(pub, sec) < 0)
		r = -EIO;
	if (!r) {
		char buf[200];
		int len = snprintf(buf, sizeof(buf),
				   "{\"public\": \"%s\", \"secret\": \"%s\"}\n",
				   pub, sec);
		snprintf(path, sizeof(path), "%s/curve.json", data_dir);
		r = util_write_file(path, buf, (size_t)len, 0600);
	}
	snprintf(key_id, sizeof(key_id), "%s-k1", code);
	if (!r) {
		conf = NULL;
		if (asprintf(&conf,
"# referrald configuration for %s. Settings left out take their defaults;\n"
"# docs/CONFIG.md lists every setting with its default and bounds.\n"
"[node]\n"
"code = %s\n"
"name = %s\n"
"role = %s\n"
"listen = %s\n"
"key_id = %s\n"
"alg = %s\n"
"\n"
"[trust]\n"
"authority_key = authority.pub.pem\n",
			     code, code, name, role, listen, key_id,
			     sign_alg_name(alg)) < 0)
			r = -ENOMEM;
		snprintf(path, sizeof(path), "%s/referrald.conf", data_dir);
		if (!r)
			r = util_write_file(path, conf, strlen(conf), 0640);
		free(conf);
	}
	if (!r)
		r = sign_key_to_b64(key, &b64);
	EVP_PKEY_free(key);
	EVP_PKEY_free(authority);
	if (r)
		return fail("cannot write the node's files in %s: %s", data_dir,
			    ref_strerror(r));

	/* Valid from yesterday, so a peer whose clock runs a little behind
	 * still accepts the first messages; two years, then rotate. */
	util_rfc3339((now / 86400000 - 1) * 86400000, nb);
	util_rfc3339((now / 86400000 + 730) * 86400000, na);
	nb[19] = 'Z'; nb[20] = '\0';
	na[19] = 'Z'; na[20] = '\0';
	entry = json_object();
	json_object_set_new(entry, "code", json_string(code));
	json_object_set_new(entry, "name", json_string(name));
	json_object_set_new(entry, "role", json_string(role));
	json_object_set_new(entry, "endpoint",
			    json_string(endpoint ? endpoint : listen));
	json_object_set_new(entry, "curve_public_key", json_string(pub));
	keys = json_array();
	k = json_object();
	json_object_set_new(k, "key_id", json_string(key_id));
	json_object_set_new(k, "alg", json_string(sign_alg_name(alg)));
	json_object_set_new(k, "public_key", json_string(b64));
	json_object_set_new(k, "not_before", json_string(nb));
	json_object_set_new(k, "not_after", json_string(na));
	json_array_append_new(keys, k);
	json_object_set_new(entry, "signing_keys", keys);
	acc = json_array();
	if (accepts) {
		char *copy = strdup(accepts), *save = NULL;
		for (char *t = strtok_r(copy, ",", &save); t;
		     t = strtok_r(NULL, ",", &save))
			json_array_append_new(acc, json_string(t));
		free(copy);
	} else {
		for (const char *const *t = all_case_types; *t; t++)
			json_array_append_new(acc, json_string(*t));
	}
	json_object_set_new(entry, "accepts", acc);
	free(b64);
	{
		char *out = json_dumps(entry, JSON_INDENT(2) |
					      JSON_PRESERVE_ORDER);
		printf("%s\n", out);
		free(out);
	}
	json_decref(entry);
	return 0;
}

static int cmd_authority(int argc, char **argv)
{
	const char *out = opt(argc, argv, "--out");
	const char *alg_name = opt(argc, argv, "--alg");
	sign_alg_t alg = SIGN_ALG_ED25519;
	char path[4096];
	EVP_PKEY *key = NULL;
	struct stat st;
	int r;

	if (argc < 1 || strcmp(argv[0], "keygen") || !out)
		return usage();
	if (alg_name && sign_alg_from_name(alg_name, &alg))
		return fail("--alg %s: use ed25519 or sm2-sm3", alg_name);
	if (mkdir(out, 0700) < 0 && errno != EEXIST)
		return fail("cannot create %s: %s", out, strerror(errno));
	snprintf(path, sizeof(path), "%s/authority.key", out);
	if (stat(path, &st) == 0)
		return fail("%s exists; refusing to overwrite an authority key",
			    path);
	r = sign_key_generate(alg, &key);
	if (!r)
		r = sign_key_save_private(key, path);
	snprintf(path, sizeof(path), "%s/authority.pub.pem", out);
	if (!r)
		r = sign_key_save_public(key, path);
	EVP_PKEY_free(key);
	if (r)
		return fail("cannot write the authority key in %s: %s", out,
			    ref_strerror(r));
	printf("%s/authority.key (private, mode 0600)\n%s\n", out, path);
	return 0;
}

static int cmd_directory(int argc, char **argv)
{
	static const char *const with_value[] = { "--key", "--authority",
		"--version", "--out", NULL };
	const char *sub = argc > 0 ? argv[0] : "";
	char sigpath[4096];
	uint8_t *json = NULL, *sigtext = NULL;
	size_t len, slen;
	EVP_PKEY *key = NULL;
	int r;

	if (!strcmp(sub, "assemble")) {
		const char *ver = opt(argc, argv, "--version");
		const char *auth = opt(argc, argv, "--authority");
		const char *out = opt(argc, argv, "--out");
		json_t *root, *nodes = json_array();
		char ts[32], *text;
		const char *f;

		if (!ver || !auth || !out || atoll(ver) < 1)
			return usage();
		for (int i = 0; (f = positional(argc - 1, argv + 1, i, with_value));
		     i++) {
			json_error_t jerr;
			json_t *e = json_load_file(f, 0, &jerr);
			if (!json_is_object(e))
				return fail("%s is not a directory entry "
					    "(JSON object): %s", f, jerr.text);
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
			return fail("cannot write %s: %s", out, ref_strerror(r));
		return 0;
	}
	if (strcmp(sub, "sign") && strcmp(sub, "verify"))
		return usage();
	{
		const char *file = positional(argc - 1, argv + 1, 0, with_value);
		const char *keyfile = opt(argc, argv, !strcmp(sub, "sign")
						      ? "--key" : "--authority");
		if (!file || !keyfile)
			return usage();
		r = util_read_file(file, 16 << 20, &json, &len);
		if (r)
			return fail("cannot read %s: %s", file, ref_strerror(r));
		snprintf(sigpath, sizeof(sigpath), "%s.sig", file);
		if (!strcmp(sub, "sign")) {
			uint8_t sig[SIGN_MAX_SIG];
			size_t siglen;
			char *b64;

			r = sign_key_load_private(keyfile, &key);
			if (r) {
				free(json);
				return fail("cannot load the authority key %s: %s",
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
				return fail("cannot sign %s: %s", file,
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
			return fail("%s is not correctly signed by %s (%s)", file,
				    keyfile, ref_strerror(r));
		printf("%s: signature good\n", file);
		return 0;
	}
}

/* ---- node commands ------------------------------------------------------- */

static int print_json_or(const char *text, void (*human)(json_t *))
{
	json_t *o;

	if (want_json || !human) {
		printf("%s\n", text);
		return 0;
	}
	o = parse(text);
	if (!o)
		return fail("the node's reply is not JSON");
	human(o);
	json_decref(o);
	return 0;
}

static void human_status(json_t *o)
{
	json_t *ob = json_object_get(o, "outbox"), *st = json_object_get(o, "store");

	printf("node %s (%s), directory version %lld\n", js(o, "node"),
	       js(o, "name"), json_integer_value(json_object_get(o,
							"directory_version")));
	printf("outbox: %lld pending, %lld delivered, %lld dead; inbox: %lld\n",
	       json_integer_value(json_object_get(ob, "pending")),
	       json_integer_value(json_object_get(ob, "delivered")),
	       json_integer_value(json_object_get(ob, "dead")),
	       json_integer_value(json_object_get(o, "inbox")));
	printf("store: %lld of %lld bytes used%s\n",
	       json_integer_value(json_object_get(st, "used_bytes")),
	       json_integer_value(json_object_get(st, "max_bytes")),
	       json_is_true(json_object_get(st, "accepting_submissions"))
	       ? "" : " (FULL: new submissions refused)");
}

static void human_show(json_t *o)
{
	json_t *rc = json_object_get(o, "receipt");

	printf("referral  %s (%s)\n", js(o, "referral_id"), js(o, "direction"));
	printf("from %s to %s, %s / %s, state %s\n", js(o, "origin"),
	       js(o, "receiver"), js(o, "case_type"), js(o, "service"),
	       js(o, "state"));
	printf("created   %s\n", js(o, "created_at"));
	printf("delivery  %s", js(o, "delivery"));
	if (json_object_get(o, "attempts"))
		printf(" after %lld attempt(s)",
		       json_integer_value(json_object_get(o, "attempts")));
	printf("\n");
	if (json_object_get(o, "dead_reason"))
		printf("reason    %s\n", js(o, "dead_reason"));
	if (rc)
		printf("receipt   %s at %s, signed by %s (%s)\n", js(rc, "status"),
		       js(rc, "received_at"), js(rc, "signed_by"),
		       json_is_true(json_object_get(rc, "verified"))
		       ? "signature verified" : "SIGNATURE DOES NOT VERIFY");
	printf("priority  %s\n", js(o, "priority"));
	if (json_object_get(o, "recommendation"))
		printf("eligibility recommendation: %s (%s)\n",
		       js(json_object_get(o, "recommendation"), "outcome"),
		       js(json_object_get(o, "recommendation"), "rule"));
	{
		json_t *arr = json_object_get(o, "clocks"), *it;
		size_t i;
		json_array_foreach(arr, i, it) {
			if (json_object_get(it, "due"))
				printf("clock     %-10s due %s%s\n", js(it, "clock"),
				       js(it, "due"),
				       json_is_true(json_object_get(it, "overdue"))
				       ? "  OVERDUE" : "");
			else
				printf("clock     %-10s paused, %lld day(s) left\n",
				       js(it, "clock"), json_integer_value(
					       json_object_get(it, "days_left")));
		}
		arr = json_object_get(o, "history");
		json_array_foreach(arr, i, it)
			printf("history   %-18s by %s at %s%s%s\n", js(it, "state"),
			       js(it, "by"), js(it, "at"),
			       json_object_get(it, "reason") ? ": " : "",
			       json_object_get(it, "reason") ? js(it, "reason") : "");
	}
}

static void human_list(json_t *o)
{
	json_t *arr = json_object_get(o, "referrals"), *it;
	size_t i;

	printf("%s: %zu referral(s)\n", js(o, "box"), json_array_size(arr));
	json_array_foreach(arr, i, it)
		printf("  %s  %s->%s  %-10s %-15s %s\n", js(it, "referral_id"),
		       js(it, "origin"), js(it, "receiver"), js(it, "state"),
		       js(it, "case_type"), js(it, "delivery"));
}

static void human_trail(json_t *o)
{
	json_t *arr = json_object_get(o, "events"), *it;
	size_t i;

	printf("trail of %s\n", js(o, "referral_id"));
	json_array_foreach(arr, i, it)
		printf("  #%lld %s %-10s %-10s peer=%s actor=%s %s\n",
		       json_integer_value(json_object_get(it, "seq")),
		       js(it, "time"), js(it, "event"), js(it, "outcome"),
		       js(it, "peer"), js(it, "actor"), js(it, "detail"));
}

static int node_call(int r, ref_client_t *c, char **textp,
		     void (*human)(json_t *))
{
	char *text = *textp;

	if (r) {
		fail("%s", ref_last_error(c));
		ref_close(&c);
		return 1;
	}
	r = print_json_or(text, human);
	free(text);
	ref_close(&c);
	return r;
}

static int cmd_submit(int argc, char **argv)
{
	static const char *const with_value[] = { "--to", NULL };
	const char *to = opt(argc, argv, "--to");
	const char *file = positional(argc, argv, 0, with_value);
	ref_client_t *c = NULL;
	uint8_t *text;
	size_t len;
	char *id = NULL, *dir, *slash;
	int r;

	if (!to || !file)
		return usage();
	r = util_read_file(file, 512u << 20, &text, &len);
	if (r)
		return fail("cannot read %s: %s", file, ref_strerror(r));
	if (client(&c)) {
		free(text);
		return 1;
	}
	dir = strdup(file);
	slash = strrchr(dir, '/');
	if (slash)
		*slash = '\0';
	else
		strcpy(dir, ".");
	r = ref_submit(c, to, (char *)text, dir, actor, &id);
	free(dir);
	free(text);
	if (r) {
		fail("%s: %s", file, ref_last_error(c));
		ref_close(&c);
		return 1;
	}
	if (want_json)
		printf("{\"referral_id\": \"%s\"}\n", id);
	else
		printf("%s\n", id);
	free(id);
	ref_close(&c);
	return 0;
}

static char **args_to_free;

static void free_args(void)
{
	free(args_to_free);
}

/* Every value of a repeated option, in order (*ret malloc'd). */
static size_t opts_all(int argc, char **argv, const char *name,
		       const char ***ret)
{
	const char **v = calloc((size_t)argc + 1, sizeof(*v));
	size_t n = 0;

	for (int i = 0; v && i < argc - 1; i++)
		if (!strcmp(argv[i], name))
			v[n++] = argv[++i];
	*ret = v;
	return n;
}

static int cmd_move(const char *cmd, int argc, char **argv)
{
	static const char *const with_value[] = { "--reason", "--basis",
		"--item", "--firm", "--lawyer", "--licence", "--report", "--to",
		"--doc", NULL };
	const char *id = positional(argc, argv, 0, with_value);
	ref_move_t m = { 0 };
	const char **items = NULL;
	char *report = NULL, *out_id = NULL;
	ref_client_t *c = NULL;
	int r;

	if (!id)
		return usage();
	m.reason = opt(argc, argv, "--reason");
	if (!strcmp(cmd, "accept")) {
		m.state = "GRANTED";
	} else if (!strcmp(cmd, "deny")) {
		m.state = "DENIED";
		m.legal_basis = opt(argc, argv, "--basis");
	} else if (!strcmp(cmd, "request-materials")) {
		m.state = "AWAITING_MATERIALS";
		m.n_items = opts_all(argc, argv, "--item", &items);
		m.items = items;
	} else if (!strcmp(cmd, "assign")) {
		m.state = "ASSIGNED";
		m.firm = opt(argc, argv, "--firm");
		m.lawyer = opt(argc, argv, "--lawyer");
		m.licence_no = opt(argc, argv, "--licence");
	} else if (!strcmp(cmd, "start") || !strcmp(cmd, "resume")) {
		m.state = "IN_PROGRESS";
	} else if (!strcmp(cmd, "hold")) {
		m.state = "ON_HOLD";
	} else if (!strcmp(cmd, "terminate")) {
		m.state = "TERMINATED";
	} else if (!strcmp(cmd, "close")) {
		const char *f = opt(argc, argv, "--report");
		uint8_t *text;
		size_t len;
		if (!f)
			return fail("close needs --report FILE (the closing report)");
		r = util_read_file(f, 1 << 20, &text, &len);
		if (r)
			return fail("cannot read %s: %s", f, ref_strerror(r));
		report = (char *)text;
		m.state = "CLOSED";
		m.report = report;
	} else if (!strcmp(cmd, "cancel")) {
		m.state = "CANCELLED";
	} else if (!strcmp(cmd, "refer-onward")) {
		m.state = "REFERRED_ONWARD";
		m.onward_to = opt(argc, argv, "--to");
	} else if (!strcmp(cmd, "pre-aid")) {
		m.state = "GRANTED";
		m.aid_first = 1;
	} else if (!strcmp(cmd, "object")) {
		m.state = "OBJECTION";
		m.as_admin = 1;
	} else if (!strcmp(cmd, "decide-objection")) {
		bool up = flag(argc, argv, "--uphold"), gr = flag(argc, argv, "--grant");
		if (up == gr)
			return fail("decide-objection needs --uphold or --grant");
		m.state = up ? "UPHELD" : "GRANTED";
		m.as_admin = 1;
	}
	if (client(&c)) {
		free(items);
		free(report);
		return 1;
	}
	r = ref_move(c, id, &m, actor, &out_id);
	free(items);
	free(report);
	if (r) {
		fail("%s", ref_last_error(c));
		ref_close(&c);
		return 1;
	}
	if (want_json)
		printf("{\"referral_id\": \"%s\", \"state\": \"%s\"}\n", out_id,
		       m.state);
	else if (!strcmp(cmd, "refer-onward"))
		printf("%s now REFERRED_ONWARD; new referral %s\n", id, out_id);
	else if (*ref_last_error(c))
		printf("%s: %s %s\n", id, m.state, ref_last_error(c));
	else
		printf("%s now %s\n", id, m.state);
	free(out_id);
	ref_close(&c);
	return 0;
}

static int cmd_supplement(int argc, char **argv)
{
	static const char *const with_value[] = { "--doc", NULL };
	const char *id = positional(argc, argv, 0, with_value);
	const char **docs = NULL;
	size_t n = opts_all(argc, argv, "--doc", &docs);
	ref_client_t *c = NULL;
	int r;

	if (!id || !n) {
		free(docs);
		return fail("supplement needs ID and at least one --doc FILE");
	}
	if (client(&c)) {
		free(docs);
		return 1;
	}
	r = ref_supplement(c, id, docs, n, actor);
	free(docs);
	if (r) {
		fail("%s", ref_last_error(c));
		ref_close(&c);
		return 1;
	}
	if (want_json)
		printf("{\"referral_id\": \"%s\", \"requested\": \"RECEIVED\"}\n", id);
	else
		printf("%s: %zu document(s) %s\n", id, n, ref_last_error(c));
	ref_close(&c);
	return 0;
}

struct wctx {
	const char *node;
	json_t *arr;
};

static int witnessed_one(void *ctx, const uint8_t *k, size_t kl,
			 const uint8_t *v, size_t vl)
{
	struct wctx *w = ctx;
	Referral__V1__Envelope *e;
	Referral__V1__Header *h = NULL;
	Referral__V1__AuditCheckpoint *cp = NULL;
	char hex[65], ts[32], *b64 = NULL;

	if (kl != 14 || memcmp(k, w->node, 6))
		return 0;
	e = referral__v1__envelope__unpack(NULL, vl, v);
	if (e) {
		h = referral__v1__header__unpack(NULL, e->header.len, e->header.data);
		cp = referral__v1__audit_checkpoint__unpack(NULL, e->body.len,
							    e->body.data);
	}
	if (h && cp && cp->head_hash.len == 32) {
		json_t *o = json_object();
		util_hex(cp->head_hash.data, 32, hex);
		util_rfc3339(cp->at_ms, ts);
		util_b64_encode(v, vl, &b64);
		json_object_set_new(o, "seq", json_integer((json_int_t)cp->seq));
		json_object_set_new(o, "head_hash", json_string(hex));
		json_object_set_new(o, "at", json_string(ts));
		json_object_set_new(o, "signed_by", json_string(h->key_id));
		json_object_set_new(o, "envelope_base64", json_string(b64 ? b64 : ""));
		json_array_append_new(w->arr, o);
		free(b64);
	}
	if (cp)
		referral__v1__audit_checkpoint__free_unpacked(cp, NULL);
	if (h)
		referral__v1__header__free_unpacked(h, NULL);
	if (e)
		referral__v1__envelope__free_unpacked(e, NULL);
	return 0;
}

/* refctl audit witnessed --node CODE: the signed checkpoints this node
 * holds about CODE, as the file `audit verify --witness` reads. */
static int audit_witnessed(store_t *s, const char *node)
{
	struct wctx w = { node, json_array() };
	json_t *o;
	char *text;
	size_t i;
	json_t *it;

	if (!node || !util_node_code_valid(node)) {
		json_decref(w.arr);
		return fail("audit witnessed needs --node CODE (six digits)");
	}
	if (store_foreach(s, STORE_WITNESSED, witnessed_one, &w)) {
		json_decref(w.arr);
		return fail("the witnessed checkpoints cannot be read");
	}
	o = json_pack("{s:s, s:o}", "node", node, "checkpoints", w.arr);
	if (want_json) {
		text = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		printf("%s\n", text);
		free(text);
	} else {
		printf("%zu checkpoint(s) held about %s\n", json_array_size(w.arr),
		       node);
		json_array_foreach(w.arr, i, it)
			printf("  seq %-8lld %s  head %s  signed by %s\n",
			       json_integer_value(json_object_get(it, "seq")),
			       js(it, "at"), js(it, "head_hash"), js(it, "signed_by"));
	}
	json_decref(o);
	return 0;
}

/* Each checkpoint a peer holds must match the record at its sequence
 * number here: a rewritten and re-chained history does not. */
static int check_witness(store_t *s, const char *file, uint64_t *ret_bad,
			 char *where, size_t len)
{
	json_error_t jerr;
	json_t *root = json_load_file(file, 0, &jerr), *arr, *it;
	uint64_t head_seq;
	uint8_t head_hash[32];
	size_t i;
	int r = 0;

	arr = json_object_get(root, "checkpoints");
	if (!json_is_array(arr)) {
		snprintf(where, len, "%s is not a witnessed-checkpoints file "
			 "(refctl audit witnessed --node CODE --json)", file);
		json_decref(root);
		return REF_E_INVALID;
	}
	audit_head(s, &head_seq, head_hash);
	json_array_foreach(arr, i, it) {
		uint64_t seq = (uint64_t)json_integer_value(json_object_get(it, "seq"));
		uint8_t want[32], have[32];

		if (util_unhex(js(it, "head_hash"), want, 32)) {
			snprintf(where, len, "checkpoint %zu has no head_hash", i);
			r = REF_E_INVALID;
			break;
		}
		if (seq > head_seq) {
			snprintf(where, len, "a peer holds a checkpoint at sequence "
				 "%llu, past this chain's end at %llu: the chain "
				 "was cut", (unsigned long long)seq,
				 (unsigned long long)head_seq);
			*ret_bad = head_seq + 1;
			r = REF_E_CORRUPT;
			break;
		}
		if (audit_hash_at(s, seq, have) || memcmp(have, want, 32)) {
			snprintf(where, len, "the record at sequence %llu is not "
				 "the one a peer witnessed (signed by %s at %s): "
				 "the history was rewritten at or before it",
				 (unsigned long long)seq, js(it, "signed_by"),
				 js(it, "at"));
			*ret_bad = seq;
			r = REF_E_CORRUPT;
			break;
		}
	}
	json_decref(root);
	return r;
}

struct own_ctx {
	EVP_PKEY *pub;
	store_t *s;
	uint64_t count, bad;
	char *where;
	size_t len;
};

static int own_one(void *ctx, const uint8_t *k, size_t kl, const uint8_t *v,
		   size_t vl)
{
	struct own_ctx *oc = ctx;
	Referral__Store__V1__OutboxRecord *ob;
	Referral__V1__Envelope *e = NULL;
	Referral__V1__AuditCheckpoint *cp = NULL;
	uint8_t *in = NULL, have[32];
	int r = 0;

	(void)k;
	(void)kl;
	ob = referral__store__v1__outbox_record__unpack(NULL, vl, v);
	if (!ob)
		return REF_E_CORRUPT;
	if (ob->kind != REFERRAL__V1__KIND__AUDIT_CHECKPOINT)
		goto out;
	e = referral__v1__envelope__unpack(NULL, ob->envelope.len,
					   ob->envelope.data);
	cp = e ? referral__v1__audit_checkpoint__unpack(NULL, e->body.len,
							e->body.data) : NULL;
	if (!cp || cp->head_hash.len != 32) {
		snprintf(oc->where, oc->len, "a checkpoint of this node does not "
			 "parse");
		r = REF_E_CORRUPT;
		goto out;
	}
	/* The signature covers the header, which holds the body's digest. */
	in = malloc(sizeof(ENVELOPE_SIGN_PREFIX) + e->header.len);
	memcpy(in, ENVELOPE_SIGN_PREFIX, sizeof(ENVELOPE_SIGN_PREFIX));
	memcpy(in + sizeof(ENVELOPE_SIGN_PREFIX), e->header.data, e->header.len);
	{
		uint8_t d[32];
		Referral__V1__Header *h = referral__v1__header__unpack(
			NULL, e->header.len, e->header.data);
		bool digest_ok = h && h->body_digest.len == 32 &&
			!sign_digest(sign_key_alg(oc->pub), e->body.data,
				     e->body.len, d) &&
			!memcmp(d, h->body_digest.data, 32);
		if (h)
			referral__v1__header__free_unpacked(h, NULL);
		if (!digest_ok ||
		    sign_verify(oc->pub, in, sizeof(ENVELOPE_SIGN_PREFIX) +
				e->header.len, e->signature.data,
				e->signature.len)) {
			snprintf(oc->where, oc->len, "the checkpoint at sequence "
				 "%llu does not verify with this node's signing "
				 "key (signing.pub.pem)",
				 (unsigned long long)cp->seq);
			oc->bad = cp->seq;
			r = REF_E_BADSIG;
			goto out;
		}
	}
	if (audit_hash_at(oc->s, cp->seq, have) ||
	    memcmp(have, cp->head_hash.data, 32)) {
		snprintf(oc->where, oc->len, "the record at sequence %llu is not "
			 "the one this node signed in its checkpoint",
			 (unsigned long long)cp->seq);
		oc->bad = cp->seq;
		r = REF_E_CORRUPT;
		goto out;
	}
	oc->count++;
out:
	free(in);
	if (cp)
		referral__v1__audit_checkpoint__free_unpacked(cp, NULL);
	if (e)
		referral__v1__envelope__free_unpacked(e, NULL);
	referral__store__v1__outbox_record__free_unpacked(ob, NULL);
	return r;
}

/* The node's own signed checkpoints (in its outbox) must verify with its
 * key and match its chain. */
static int check_own_checkpoints(store_t *s, uint64_t *ret_bad,
				 uint64_t *ret_count, char *where, size_t len)
{
	struct own_ctx oc = { NULL, s, 0, 0, where, len };
	char path[4096];
	int r;

	snprintf(path, sizeof(path), "%s/signing.pub.pem", data_dir);
	if (sign_key_load_public(path, &oc.pub)) {
		snprintf(where, len, "cannot read %.200s to check this node's "
			 "checkpoints", path);
		return REF_E_CONFIG;
	}
	r = store_foreach(s, STORE_OUTBOX, own_one, &oc);
	EVP_PKEY_free(oc.pub);
	if (r && oc.bad)
		*ret_bad = oc.bad;
	*ret_count = oc.count;
	return r;
}

/* refctl audit verify: reads the store itself, read-only, and recomputes
 * every record's digest and the whole hash chain; it trusts nothing the
 * running node says and changes nothing. */
static int cmd_audit(int argc, char **argv)
{
	store_opts_t so = { .map_initial = 1 << 20, .map_max = (size_t)1 << 40,
			    .readonly = true };
	store_t *s = NULL;
	char path[4096], where[300] = "";
	uint64_t bad = 0, count = 0, cps = 0;
	int r;

	if (argc < 1 || (strcmp(argv[0], "verify") && strcmp(argv[0], "witnessed")))
		return usage();
	if (!data_dir || !*data_dir)
		return fail("no data folder: give --data DIR or set REFERRAL_DATA");
	snprintf(path, sizeof(path), "%s/store", data_dir);
	r = store_open(path, &so, &s);
	if (r)
		return fail("cannot open the store in %s: %s", path,
			    ref_strerror(r));
	if (!strcmp(argv[0], "witnessed")) {
		r = audit_witnessed(s, opt(argc, argv, "--node"));
		store_close(&s);
		return r;
	}
	r = audit_verify(s, &bad, &count);
	if (!r)
		r = check_own_checkpoints(s, &bad, &cps, where, sizeof(where));
	if (!r && opt(argc, argv, "--witness")) {
		r = check_witness(s, opt(argc, argv, "--witness"), &bad, where,
				  sizeof(where));
	}
	if (r == REF_E_CORRUPT && !where[0])
		snprintf(where, sizeof(where), "%s", store_last_error(s));
	if (!r)
		r = store_check(s, where, sizeof(where));
	store_close(&s);
	if (want_json) {
		json_t *o = json_pack("{s:b, s:I, s:I}", "ok", r == 0, "records",
				      (json_int_t)count, "own_checkpoints",
				      (json_int_t)cps);
		char *text;
		if (r && bad)
			json_object_set_new(o, "first_bad_seq",
					    json_integer((json_int_t)bad));
		if (r)
			json_object_set_new(o, "problem", json_string(
				where[0] ? where : ref_strerror(r)));
		text = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		printf("%s\n", text);
		free(text);
		json_decref(o);
	} else if (!r) {
		printf("audit chain intact: %llu records, every record's digest "
		       "and link checked, %llu signed checkpoint(s) of this node "
		       "match\n", (unsigned long long)count,
		       (unsigned long long)cps);
	}
	if (r && bad)
		return fail("audit chain broken at sequence %llu (%s)",
			    (unsigned long long)bad,
			    where[0] ? where : "the record does not link");
	if (r)
		return fail("the store fails its checks: %s",
			    where[0] ? where : ref_strerror(r));
	return 0;
}

static void human_overdue(json_t *o)
{
	json_t *arr = json_object_get(o, "overdue"), *it;
	size_t i;

	printf("%zu clock(s) past due or due within 24 hours\n",
	       json_array_size(arr));
	json_array_foreach(arr, i, it)
		printf("  %s  %-18s %-10s due %s%s\n", js(it, "referral_id"),
		       js(it, "state"), js(it, "clock"), js(it, "due"),
		       json_is_true(json_object_get(it, "overdue"))
		       ? "  OVERDUE" : "");
}

int main(int argc, char **argv)
{
	char **args; /* pointers into argv, freed at exit */
	int n = 0;
	ref_client_t *c = NULL;
	char *text = NULL;
	const char *cmd;

	args = calloc((size_t)argc + 1, sizeof(char *));
	if (!args)
		return fail("out of memory");
	args_to_free = args;
	atexit(free_args);
	data_dir = getenv("REFERRAL_DATA");
	actor = getenv("REFERRAL_ACTOR");
	/* --data and --json may stand anywhere; the rest is the command. */
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--data") && i + 1 < argc)
			data_dir = argv[++i];
		else if (!strcmp(argv[i], "--json"))
			want_json = true;
		else if (!strcmp(argv[i], "--actor") && i + 1 < argc)
			actor = argv[++i];
		else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))
			return usage() ? 0 : 0;
		else
			args[n++] = argv[i];
	}
	if (n == 0)
		return usage();
	cmd = args[0];
	if (!strcmp(cmd, "init"))
		return cmd_init(n - 1, args + 1);
	if (!strcmp(cmd, "authority"))
		return cmd_authority(n - 1, args + 1);
	if (!strcmp(cmd, "directory"))
		return cmd_directory(n - 1, args + 1);
	if (!strcmp(cmd, "example")) {
		if (n < 2 || strcmp(args[1], "application"))
			return usage();
		fputs(application_example(), stdout);
		return 0;
	}
	if (!strcmp(cmd, "submit"))
		return cmd_submit(n - 1, args + 1);
	if (!strcmp(cmd, "supplement"))
		return cmd_supplement(n - 1, args + 1);
	if (!strcmp(cmd, "audit"))
		return cmd_audit(n - 1, args + 1);
	{
		static const char *const moves[] = { "accept", "deny",
			"request-materials", "assign", "start", "hold", "resume",
			"terminate", "close", "cancel", "refer-onward", "pre-aid",
			"object", "decide-objection", NULL };
		for (const char *const *m = moves; *m; m++)
			if (!strcmp(cmd, *m))
				return cmd_move(cmd, n - 1, args + 1);
	}
	if (!strcmp(cmd, "overdue")) {
		if (client(&c))
			return 1;
		{
			int r = ref_overdue(c, &text);
			return node_call(r, c, &text, human_overdue);
		}
	}
	if (!strcmp(cmd, "status")) {
		if (client(&c))
			return 1;
		{
			int r = ref_status(c, &text);
			return node_call(r, c, &text, human_status);
		}
	}
	if (!strcmp(cmd, "show") || !strcmp(cmd, "trail")) {
		if (n < 2)
			return usage();
		if (client(&c))
			return 1;
		if (!strcmp(cmd, "show")) {
			int r = ref_show(c, args[1], &text);
			return node_call(r, c, &text, human_show);
		}
		{
			int r = ref_trail(c, args[1], &text);
			return node_call(r, c, &text, human_trail);
		}
	}
	if (!strcmp(cmd, "list")) {
		bool in = flag(n, args, "--inbox"), out = flag(n, args, "--outbox");
		if (in == out)
			return usage();
		if (client(&c))
			return 1;
		{
			int r = ref_list(c, in ? REF_BOX_INBOX : REF_BOX_OUTBOX,
					 &text);
			return node_call(r, c, &text, human_list);
		}
	}
	fprintf(stderr, "refctl: unknown command \"%s\"\n", cmd);
	return usage();
}
