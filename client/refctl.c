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
#include "referral.h"
#include "refctl.h"
#include "seal.h"
#include "sign.h"
#include "util.h"

bool refctl_want_json;
const char *refctl_data_dir;
const char *refctl_actor;

int refctl_usage(void)
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
"  directory publish directory.json  (at the authority's node: to every node)\n"
"  directory show                    (the version in force, its nodes and keys)\n"
"  rotate-keys [--switch-after 1h] [--overlap 1d]   (prints the new entry)\n"
"  rotate-data-key                   (admin: re-seals the store while it serves)\n"
"\n"
"Working with referrals (DIR may come from REFERRAL_DATA):\n"
"  status\n"
"  example application\n"
"  submit --to CODE FILE.json [--actor STAFF_ID]\n"
"  show ID\n"
"  list --inbox|--outbox|--dead\n"
"  requeue ID|--all                  (dead messages, signed anew and sent again)\n"
"  trail ID\n"
"  overdue\n"
"\n"
"Audit (read the store itself, read-only; the node may be running):\n"
"  audit verify [--witness FILE]    the chain, its checkpoints, a peer's file\n"
"  audit witnessed --node CODE      checkpoints this node holds about CODE\n"
"  audit trail ID                   both nodes' events, each marked who signed\n"
"  audit export --out FILE [--since T] [--until T] [--format jsonl|csv]\n"
"               [--include-personal]   (personal data: admin role, recorded)\n"
"  audit verify-export FILE [--directory FILE --authority PUBKEY.pem]\n"
"  store check                      every record's digest and seal, the chain\n"
"  backup DIR                       a hot, checked copy of the store\n"
"  restore DIR                      (node stopped) peers resend what came after\n"
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

int refctl_fail(const char *fmt, ...)
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
const char *refctl_opt(int argc, char **argv, const char *name)
{
	for (int i = 0; i < argc - 1; i++)
		if (!strcmp(argv[i], name))
			return argv[i + 1];
	return NULL;
}

bool refctl_flag(int argc, char **argv, const char *name)
{
	for (int i = 0; i < argc; i++)
		if (!strcmp(argv[i], name))
			return true;
	return false;
}

/* The n-th argument that is neither an option nor an option's value. */
const char *refctl_positional(int argc, char **argv, int n,
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

	if (!refctl_data_dir || !*refctl_data_dir)
		return refctl_fail("no data folder: give --data DIR or set REFERRAL_DATA");
	r = ref_open(refctl_data_dir, 0, ret);
	if (r)
		return refctl_fail("cannot open a client for %s: %s", refctl_data_dir,
			    ref_strerror(r));
	return 0;
}

static json_t *parse(const char *text)
{
	return json_loads(text, 0, NULL);
}

const char *refctl_js(json_t *o, const char *k)
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
	const char *code = refctl_opt(argc, argv, "--node");
	const char *name = refctl_opt(argc, argv, "--name");
	const char *listen = refctl_opt(argc, argv, "--listen");
	const char *auth = refctl_opt(argc, argv, "--authority");
	const char *alg_name = refctl_opt(argc, argv, "--alg");
	const char *role = refctl_opt(argc, argv, "--role");
	const char *endpoint = refctl_opt(argc, argv, "--endpoint");
	const char *accepts = refctl_opt(argc, argv, "--accepts");
	char path[4096], key_id[64], pub[41], sec[41], *b64 = NULL, *conf;
	char nb[32], na[32];
	EVP_PKEY *key = NULL, *authority = NULL;
	sign_alg_t alg = SIGN_ALG_ED25519;
	json_t *entry, *keys, *k, *acc;
	struct stat st;
	uint64_t now = util_now_ms();
	int r;

	if (!refctl_data_dir || !code || !name || !listen || !auth)
		return refctl_usage();
	if (alg_name && sign_alg_from_name(alg_name, &alg))
		return refctl_fail("--alg %s: use ed25519 or sm2-sm3", alg_name);
	if (!util_node_code_valid(code))
		return refctl_fail("--node %s is not a six-digit division code", code);
	if (strncmp(listen, "tcp://", 6))
		return refctl_fail("--listen %s must be tcp://HOST:PORT", listen);
	for (const char *p = name; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == ';' || *p == '#')
			return refctl_fail("--name must be one line without ';' or '#'");
	if (strlen(name) > 150)
		return refctl_fail("--name is longer than 150 bytes");
	if (!role)
		role = "legal_aid_centre";
	if (strcmp(role, "legal_aid_centre") && strcmp(role, "court") &&
	    strcmp(role, "labour_bureau") && strcmp(role, "authority"))
		return refctl_fail("--role %s: use legal_aid_centre, court, "
			    "labour_bureau or authority", role);
	r = sign_key_load_public(auth, &authority);
	if (r)
		return refctl_fail("--authority %s is not a PEM public key: %s", auth,
			    ref_strerror(r));
	snprintf(path, sizeof(path), "%s/signing.key", refctl_data_dir);
	if (stat(path, &st) == 0) {
		EVP_PKEY_free(authority);
		return refctl_fail("%s already holds a node (signing.key exists); "
			    "refusing to overwrite its keys", refctl_data_dir);
	}
	if (mkdir(refctl_data_dir, 0700) < 0 && errno != EEXIST) {
		EVP_PKEY_free(authority);
		return refctl_fail("cannot create %s: %s", refctl_data_dir, strerror(errno));
	}
	r = sign_key_generate(alg, &key);
	if (!r)
		r = sign_key_save_private(key, path);
	snprintf(path, sizeof(path), "%s/signing.pub.pem", refctl_data_dir);
	if (!r)
		r = sign_key_save_public(key, path);
	snprintf(path, sizeof(path), "%s/authority.pub.pem", refctl_data_dir);
	if (!r)
		r = sign_key_save_public(authority, path);
	/* Personal data at rest: AES-256-GCM, or SM4-GCM for the GM/T suite. */
	snprintf(path, sizeof(path), "%s/data.keys", refctl_data_dir);
	if (!r)
		r = seal_keyfile_create(path, alg == SIGN_ALG_SM2_SM3
					      ? SEAL_SM4_GCM : SEAL_AES_256_GCM);
	if (!r && zmq_curve_keypair(pub, sec) < 0)
		r = -EIO;
	if (!r) {
		char buf[200];
		int len = snprintf(buf, sizeof(buf),
				   "{\"public\": \"%s\", \"secret\": \"%s\"}\n",
				   pub, sec);
		snprintf(path, sizeof(path), "%s/curve.json", refctl_data_dir);
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
		snprintf(path, sizeof(path), "%s/referrald.conf", refctl_data_dir);
		if (!r)
			r = util_write_file(path, conf, strlen(conf), 0640);
		free(conf);
	}
	if (!r)
		r = sign_key_to_b64(key, &b64);
	EVP_PKEY_free(key);
	EVP_PKEY_free(authority);
	if (r)
		return refctl_fail("cannot write the node's files in %s: %s", refctl_data_dir,
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
	const char *out = refctl_opt(argc, argv, "--out");
	const char *alg_name = refctl_opt(argc, argv, "--alg");
	sign_alg_t alg = SIGN_ALG_ED25519;
	char path[4096];
	EVP_PKEY *key = NULL;
	struct stat st;
	int r;

	if (argc < 1 || strcmp(argv[0], "keygen") || !out)
		return refctl_usage();
	if (alg_name && sign_alg_from_name(alg_name, &alg))
		return refctl_fail("--alg %s: use ed25519 or sm2-sm3", alg_name);
	if (mkdir(out, 0700) < 0 && errno != EEXIST)
		return refctl_fail("cannot create %s: %s", out, strerror(errno));
	snprintf(path, sizeof(path), "%s/authority.key", out);
	if (stat(path, &st) == 0)
		return refctl_fail("%s exists; refusing to overwrite an authority key",
			    path);
	r = sign_key_generate(alg, &key);
	if (!r)
		r = sign_key_save_private(key, path);
	snprintf(path, sizeof(path), "%s/authority.pub.pem", out);
	if (!r)
		r = sign_key_save_public(key, path);
	EVP_PKEY_free(key);
	if (r)
		return refctl_fail("cannot write the authority key in %s: %s", out,
			    ref_strerror(r));
	printf("%s/authority.key (private, mode 0600)\n%s\n", out, path);
	return 0;
}

/* refctl directory publish FILE, at the authority's node: FILE and
 * FILE.sig go to the node, which installs them and sends them on. */
static int directory_publish(int argc, char **argv)
{
	static const char *const with_value[] = { NULL };
	const char *file = refctl_positional(argc - 1, argv + 1, 0, with_value);
	char sigpath[4096], *text = NULL, *nl;
	uint8_t *json = NULL, *sig = NULL;
	size_t len, slen;
	ref_client_t *c = NULL;
	int r;

	if (!file)
		return refctl_usage();
	snprintf(sigpath, sizeof(sigpath), "%s.sig", file);
	r = util_read_file(file, 16 << 20, &json, &len);
	if (r)
		return refctl_fail("cannot read %s: %s", file, ref_strerror(r));
	r = util_read_file(sigpath, 4096, &sig, &slen);
	if (r) {
		free(json);
		return refctl_fail("cannot read %s: %s (sign it first: refctl "
				   "directory sign)", sigpath, ref_strerror(r));
	}
	if ((nl = strchr((char *)sig, '\n')))
		*nl = '\0';
	if (client(&c)) {
		free(json);
		free(sig);
		return 1;
	}
	r = ref_publish_directory(c, json, len, (char *)sig, refctl_actor, &text);
	free(json);
	free(sig);
	if (r) {
		refctl_fail("%s", ref_last_error(c));
		ref_close(&c);
		return 1;
	}
	ref_close(&c);
	if (refctl_want_json) {
		printf("%s\n", text);
	} else {
		json_t *o = parse(text), *it;
		size_t i;
		printf("directory version %lld in force here; sent to",
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

	if (client(&c))
		return 1;
	r = ref_status(c, &text);
	if (r) {
		refctl_fail("%s", ref_last_error(c));
		ref_close(&c);
		return 1;
	}
	ref_close(&c);
	st = parse(text);
	free(text);
	snprintf(path, sizeof(path), "%s/directory.json", refctl_data_dir);
	d = json_load_file(path, 0, &jerr);
	if (refctl_want_json) {
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
		printf("directory version %lld in force (issued %s); this node "
		       "signs with %s\n",
		       json_integer_value(json_object_get(st, "directory_version")),
		       refctl_js(d, "issued_at"), refctl_js(st, "key_id"));
		json_array_foreach(json_object_get(d, "nodes"), i, it) {
			printf("  %s  %-16s %s  keys:", refctl_js(it, "code"),
			       refctl_js(it, "role"), refctl_js(it, "endpoint"));
			json_array_foreach(json_object_get(it, "signing_keys"), j, k)
				printf(" %s (%s to %s)", refctl_js(k, "key_id"),
				       refctl_js(k, "not_before"),
				       refctl_js(k, "not_after"));
			printf("\n");
		}
	}
	json_decref(st);
	json_decref(d);
	return 0;
}

/* "30s", "15m", "2h", "7d": milliseconds, or 0 on a bad value. */
static uint64_t duration_ms(const char *s, bool *ok)
{
	char *end;
	unsigned long long v = strtoull(s, &end, 10);
	uint64_t unit = !strcmp(end, "s") ? 1000 : !strcmp(end, "m") ? 60000
		: !strcmp(end, "h") ? 3600000 : !strcmp(end, "d") ? 86400000 : 0;

	*ok = end != s && unit && v < 100000;
	return *ok ? v * unit : 0;
}

/* refctl rotate-keys [--switch-after D] [--overlap D]: a new signing key
 * beside the node's (signing.next.key), and the node's directory entry
 * with it for the authority to sign. The node switches to it by itself
 * once a directory in force lists it and its window has opened; the old
 * key stays valid for overlap after that, and a message it signed before
 * its not_after verifies for the message's whole lifetime. */
static int cmd_rotate_keys(int argc, char **argv)
{
	const char *sa = refctl_opt(argc, argv, "--switch-after");
	const char *ov = refctl_opt(argc, argv, "--overlap");
	char path[4096], *mine = NULL, *pub = NULL, nb[32], na[32], oa[32];
	json_t *dir, *entry = NULL, *keys, *k, *it_node;
	json_error_t jerr;
	EVP_PKEY *cur = NULL, *next = NULL;
	uint64_t now = util_now_ms(), switch_ms = 3600000, overlap_ms = 86400000;
	struct stat stt;
	int max_n = 0, r;
	size_t i, j;
	bool ok = true;
	sign_alg_t alg;

	if (!refctl_data_dir || !*refctl_data_dir)
		return refctl_fail("no data folder: give --data DIR or set "
				   "REFERRAL_DATA");
	if (sa && (switch_ms = duration_ms(sa, &ok), !ok))
		return refctl_fail("--switch-after %s: give a duration such as "
				   "30s, 15m, 2h or 7d", sa);
	if (ov && (overlap_ms = duration_ms(ov, &ok), !ok))
		return refctl_fail("--overlap %s: give a duration such as 30s, "
				   "15m, 2h or 7d", ov);
	snprintf(path, sizeof(path), "%s/signing.next.key", refctl_data_dir);
	if (stat(path, &stt) == 0)
		return refctl_fail("%s exists: a rotation is under way (the node "
				   "switches once the directory lists the key)",
				   path);
	snprintf(path, sizeof(path), "%s/signing.pub.pem", refctl_data_dir);
	r = sign_key_load_public(path, &cur);
	if (r)
		return refctl_fail("cannot read %s: %s", path, ref_strerror(r));
	sign_key_to_b64(cur, &mine);
	alg = sign_key_alg(cur);
	EVP_PKEY_free(cur);
	snprintf(path, sizeof(path), "%s/directory.json", refctl_data_dir);
	dir = json_load_file(path, 0, &jerr);
	json_array_foreach(json_object_get(dir, "nodes"), i, it_node) {
		json_array_foreach(json_object_get(it_node, "signing_keys"), j, k)
			if (mine && !strcmp(refctl_js(k, "public_key"), mine))
				entry = it_node;
	}
	free(mine);
	if (!entry) {
		json_decref(dir);
		return refctl_fail("this node's signing key is in no entry of %s",
				   path);
	}
	keys = json_object_get(entry, "signing_keys");
	json_array_foreach(keys, j, k) {
		const char *id = refctl_js(k, "key_id"), *dash = strrchr(id, 'k');
		int kn = dash ? atoi(dash + 1) : 0;
		if (kn > max_n)
			max_n = kn;
	}
	util_rfc3339(now + switch_ms, nb);
	util_rfc3339(now + switch_ms + overlap_ms, oa);
	util_rfc3339(now + switch_ms + 730 * 86400000ULL, na);
	/* The directory's times are whole seconds. */
	nb[19] = oa[19] = na[19] = 'Z';
	nb[20] = oa[20] = na[20] = '\0';
	/* Every current key ends overlap after the switch. */
	json_array_foreach(keys, j, k) {
		uint64_t end;
		if (util_rfc3339_parse(refctl_js(k, "not_after"), &end) ||
		    end > now + switch_ms + overlap_ms)
			json_object_set_new(k, "not_after", json_string(oa));
	}
	r = sign_key_generate(alg, &next);
	snprintf(path, sizeof(path), "%s/signing.next.key", refctl_data_dir);
	if (!r)
		r = sign_key_save_private(next, path);
	snprintf(path, sizeof(path), "%s/signing.next.pub.pem", refctl_data_dir);
	if (!r)
		r = sign_key_save_public(next, path);
	if (!r)
		r = sign_key_to_b64(next, &pub);
	EVP_PKEY_free(next);
	if (r) {
		json_decref(dir);
		return refctl_fail("cannot write the new key in %s: %s",
				   refctl_data_dir, ref_strerror(r));
	}
	{
		char id[64], *out;
		snprintf(id, sizeof(id), "%s-k%d", refctl_js(entry, "code"),
			 max_n + 1);
		k = json_object();
		json_object_set_new(k, "key_id", json_string(id));
		json_object_set_new(k, "alg", json_string(sign_alg_name(alg)));
		json_object_set_new(k, "public_key", json_string(pub));
		json_object_set_new(k, "not_before", json_string(nb));
		json_object_set_new(k, "not_after", json_string(na));
		json_array_append_new(keys, k);
		out = json_dumps(entry, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		printf("%s\n", out);
		free(out);
		fprintf(stderr, "refctl: new key %s in %s/signing.next.key; give "
			"the entry above to the authority: the node signs with "
			"%s from %s once a directory in force lists it\n", id,
			refctl_data_dir, id, nb);
	}
	free(pub);
	json_decref(dir);
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
		const char *ver = refctl_opt(argc, argv, "--version");
		const char *auth = refctl_opt(argc, argv, "--authority");
		const char *out = refctl_opt(argc, argv, "--out");
		json_t *root, *nodes = json_array();
		char ts[32], *text;
		const char *f;

		if (!ver || !auth || !out || atoll(ver) < 1)
			return refctl_usage();
		for (int i = 0; (f = refctl_positional(argc - 1, argv + 1, i, with_value));
		     i++) {
			json_error_t jerr;
			json_t *e = json_load_file(f, 0, &jerr);
			if (!json_is_object(e))
				return refctl_fail("%s is not a directory entry "
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
			return refctl_fail("cannot write %s: %s", out, ref_strerror(r));
		return 0;
	}
	if (!strcmp(sub, "publish"))
		return directory_publish(argc, argv);
	if (!strcmp(sub, "show"))
		return directory_show();
	if (strcmp(sub, "sign") && strcmp(sub, "verify"))
		return refctl_usage();
	{
		const char *file = refctl_positional(argc - 1, argv + 1, 0, with_value);
		const char *keyfile = refctl_opt(argc, argv, !strcmp(sub, "sign")
						      ? "--key" : "--authority");
		if (!file || !keyfile)
			return refctl_usage();
		r = util_read_file(file, 16 << 20, &json, &len);
		if (r)
			return refctl_fail("cannot read %s: %s", file, ref_strerror(r));
		snprintf(sigpath, sizeof(sigpath), "%s.sig", file);
		if (!strcmp(sub, "sign")) {
			uint8_t sig[SIGN_MAX_SIG];
			size_t siglen;
			char *b64;

			r = sign_key_load_private(keyfile, &key);
			if (r) {
				free(json);
				return refctl_fail("cannot load the authority key %s: %s",
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
				return refctl_fail("cannot sign %s: %s", file,
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
			return refctl_fail("%s is not correctly signed by %s (%s)", file,
				    keyfile, ref_strerror(r));
		printf("%s: signature good\n", file);
		return 0;
	}
}

/* ---- node commands ------------------------------------------------------- */

static int print_json_or(const char *text, void (*human)(json_t *))
{
	json_t *o;

	if (refctl_want_json || !human) {
		printf("%s\n", text);
		return 0;
	}
	o = parse(text);
	if (!o)
		return refctl_fail("the node's reply is not JSON");
	human(o);
	json_decref(o);
	return 0;
}

static void human_status(json_t *o)
{
	json_t *ob = json_object_get(o, "outbox"), *st = json_object_get(o, "store");

	printf("node %s (%s), directory version %lld\n", refctl_js(o, "node"),
	       refctl_js(o, "name"), json_integer_value(json_object_get(o,
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
	{
		json_t *dk = json_object_get(o, "data_key");
		printf("signing key %s; personal data sealed under data key "
		       "%lld (%s)%s\n", refctl_js(o, "key_id"),
		       json_integer_value(json_object_get(dk, "key")),
		       refctl_js(dk, "alg"),
		       json_is_true(json_object_get(dk, "resealing"))
		       ? ", re-sealing under way" : "");
	}
}

static void human_show(json_t *o)
{
	json_t *rc = json_object_get(o, "receipt");

	printf("referral  %s (%s)\n", refctl_js(o, "referral_id"), refctl_js(o, "direction"));
	printf("from %s to %s, %s / %s, state %s\n", refctl_js(o, "origin"),
	       refctl_js(o, "receiver"), refctl_js(o, "case_type"), refctl_js(o, "service"),
	       refctl_js(o, "state"));
	printf("created   %s\n", refctl_js(o, "created_at"));
	printf("delivery  %s", refctl_js(o, "delivery"));
	if (json_object_get(o, "attempts"))
		printf(" after %lld attempt(s)",
		       json_integer_value(json_object_get(o, "attempts")));
	printf("\n");
	if (json_object_get(o, "dead_reason"))
		printf("reason    %s\n", refctl_js(o, "dead_reason"));
	if (rc)
		printf("receipt   %s at %s, signed by %s (%s)\n", refctl_js(rc, "status"),
		       refctl_js(rc, "received_at"), refctl_js(rc, "signed_by"),
		       json_is_true(json_object_get(rc, "verified"))
		       ? "signature verified" : "SIGNATURE DOES NOT VERIFY");
	printf("priority  %s\n", refctl_js(o, "priority"));
	if (json_object_get(o, "recommendation"))
		printf("eligibility recommendation: %s (%s)\n",
		       refctl_js(json_object_get(o, "recommendation"), "outcome"),
		       refctl_js(json_object_get(o, "recommendation"), "rule"));
	{
		json_t *arr = json_object_get(o, "clocks"), *it;
		size_t i;
		json_array_foreach(arr, i, it) {
			if (json_object_get(it, "due"))
				printf("clock     %-10s due %s%s\n", refctl_js(it, "clock"),
				       refctl_js(it, "due"),
				       json_is_true(json_object_get(it, "overdue"))
				       ? "  OVERDUE" : "");
			else
				printf("clock     %-10s paused, %lld day(s) left\n",
				       refctl_js(it, "clock"), json_integer_value(
					       json_object_get(it, "days_left")));
		}
		arr = json_object_get(o, "history");
		json_array_foreach(arr, i, it)
			printf("history   %-18s by %s at %s%s%s\n", refctl_js(it, "state"),
			       refctl_js(it, "by"), refctl_js(it, "at"),
			       json_object_get(it, "reason") ? ": " : "",
			       json_object_get(it, "reason") ? refctl_js(it, "reason") : "");
	}
}

static void human_list(json_t *o)
{
	json_t *arr = json_object_get(o, "referrals"), *it;
	size_t i;

	printf("%s: %zu referral(s)\n", refctl_js(o, "box"), json_array_size(arr));
	json_array_foreach(arr, i, it)
		printf("  %s  %s->%s  %-10s %-15s %s\n", refctl_js(it, "referral_id"),
		       refctl_js(it, "origin"), refctl_js(it, "receiver"), refctl_js(it, "state"),
		       refctl_js(it, "case_type"), refctl_js(it, "delivery"));
}

static void human_dead(json_t *o)
{
	json_t *arr = json_object_get(o, "messages"), *it;
	size_t i;

	printf("%zu dead message(s) (refctl requeue ID|--all sends them again)\n",
	       json_array_size(arr));
	json_array_foreach(arr, i, it)
		printf("  %s  %-20s to %s  created %s  %lld attempt(s): %s\n",
		       refctl_js(it, "referral_id"), refctl_js(it, "kind"),
		       refctl_js(it, "to"), refctl_js(it, "created"),
		       json_integer_value(json_object_get(it, "attempts")),
		       refctl_js(it, "reason"));
}

static void human_requeued(json_t *o)
{
	json_t *arr = json_object_get(o, "requeued"), *it;
	size_t i;

	printf("%zu message(s) sent again\n", json_array_size(arr));
	json_array_foreach(arr, i, it)
		printf("  %s  %s -> %s\n", refctl_js(it, "referral_id"),
		       refctl_js(it, "msg_id"), refctl_js(it, "sent_as"));
}

static void human_trail(json_t *o)
{
	json_t *arr = json_object_get(o, "events"), *it;
	size_t i;

	printf("trail of %s\n", refctl_js(o, "referral_id"));
	json_array_foreach(arr, i, it)
		printf("  #%lld %s %-10s %-10s peer=%s actor=%s %s\n",
		       json_integer_value(json_object_get(it, "seq")),
		       refctl_js(it, "time"), refctl_js(it, "event"), refctl_js(it, "outcome"),
		       refctl_js(it, "peer"), refctl_js(it, "actor"), refctl_js(it, "detail"));
}

static void human_rotated(json_t *o)
{
	printf("data key %lld (%s) is current; every record is being sealed "
	       "again under it, then the old key is dropped (refctl status "
	       "shows when)\n", json_integer_value(json_object_get(o, "key")),
	       refctl_js(o, "alg"));
}

static int node_call(int r, ref_client_t *c, char **textp,
		     void (*human)(json_t *))
{
	char *text = *textp;

	if (r) {
		refctl_fail("%s", ref_last_error(c));
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
	const char *to = refctl_opt(argc, argv, "--to");
	const char *file = refctl_positional(argc, argv, 0, with_value);
	ref_client_t *c = NULL;
	uint8_t *text;
	size_t len;
	char *id = NULL, *dir, *slash;
	int r;

	if (!to || !file)
		return refctl_usage();
	r = util_read_file(file, 512u << 20, &text, &len);
	if (r)
		return refctl_fail("cannot read %s: %s", file, ref_strerror(r));
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
	r = ref_submit(c, to, (char *)text, dir, refctl_actor, &id);
	free(dir);
	free(text);
	if (r) {
		refctl_fail("%s: %s", file, ref_last_error(c));
		ref_close(&c);
		return 1;
	}
	if (refctl_want_json)
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
	const char *id = refctl_positional(argc, argv, 0, with_value);
	ref_move_t m = { 0 };
	const char **items = NULL;
	char *report = NULL, *out_id = NULL;
	ref_client_t *c = NULL;
	int r;

	if (!id)
		return refctl_usage();
	m.reason = refctl_opt(argc, argv, "--reason");
	if (!strcmp(cmd, "accept")) {
		m.state = "GRANTED";
	} else if (!strcmp(cmd, "deny")) {
		m.state = "DENIED";
		m.legal_basis = refctl_opt(argc, argv, "--basis");
	} else if (!strcmp(cmd, "request-materials")) {
		m.state = "AWAITING_MATERIALS";
		m.n_items = opts_all(argc, argv, "--item", &items);
		m.items = items;
	} else if (!strcmp(cmd, "assign")) {
		m.state = "ASSIGNED";
		m.firm = refctl_opt(argc, argv, "--firm");
		m.lawyer = refctl_opt(argc, argv, "--lawyer");
		m.licence_no = refctl_opt(argc, argv, "--licence");
	} else if (!strcmp(cmd, "start") || !strcmp(cmd, "resume")) {
		m.state = "IN_PROGRESS";
	} else if (!strcmp(cmd, "hold")) {
		m.state = "ON_HOLD";
	} else if (!strcmp(cmd, "terminate")) {
		m.state = "TERMINATED";
	} else if (!strcmp(cmd, "close")) {
		const char *f = refctl_opt(argc, argv, "--report");
		uint8_t *text;
		size_t len;
		if (!f)
			return refctl_fail("close needs --report FILE (the closing report)");
		r = util_read_file(f, 1 << 20, &text, &len);
		if (r)
			return refctl_fail("cannot read %s: %s", f, ref_strerror(r));
		report = (char *)text;
		m.state = "CLOSED";
		m.report = report;
	} else if (!strcmp(cmd, "cancel")) {
		m.state = "CANCELLED";
	} else if (!strcmp(cmd, "refer-onward")) {
		m.state = "REFERRED_ONWARD";
		m.onward_to = refctl_opt(argc, argv, "--to");
	} else if (!strcmp(cmd, "pre-aid")) {
		m.state = "GRANTED";
		m.aid_first = 1;
	} else if (!strcmp(cmd, "object")) {
		m.state = "OBJECTION";
		m.as_admin = 1;
	} else if (!strcmp(cmd, "decide-objection")) {
		bool up = refctl_flag(argc, argv, "--uphold"), gr = refctl_flag(argc, argv, "--grant");
		if (up == gr)
			return refctl_fail("decide-objection needs --uphold or --grant");
		m.state = up ? "UPHELD" : "GRANTED";
		m.as_admin = 1;
	}
	if (client(&c)) {
		free(items);
		free(report);
		return 1;
	}
	r = ref_move(c, id, &m, refctl_actor, &out_id);
	free(items);
	free(report);
	if (r) {
		refctl_fail("%s", ref_last_error(c));
		ref_close(&c);
		return 1;
	}
	if (refctl_want_json)
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
	const char *id = refctl_positional(argc, argv, 0, with_value);
	const char **docs = NULL;
	size_t n = opts_all(argc, argv, "--doc", &docs);
	ref_client_t *c = NULL;
	int r;

	if (!id || !n) {
		free(docs);
		return refctl_fail("supplement needs ID and at least one --doc FILE");
	}
	if (client(&c)) {
		free(docs);
		return 1;
	}
	r = ref_supplement(c, id, docs, n, refctl_actor);
	free(docs);
	if (r) {
		refctl_fail("%s", ref_last_error(c));
		ref_close(&c);
		return 1;
	}
	if (refctl_want_json)
		printf("{\"referral_id\": \"%s\", \"requested\": \"RECEIVED\"}\n", id);
	else
		printf("%s: %zu document(s) %s\n", id, n, ref_last_error(c));
	ref_close(&c);
	return 0;
}

static void human_overdue(json_t *o)
{
	json_t *arr = json_object_get(o, "overdue"), *it;
	size_t i;

	printf("%zu clock(s) past due or due within 24 hours\n",
	       json_array_size(arr));
	json_array_foreach(arr, i, it)
		printf("  %s  %-18s %-10s due %s%s\n", refctl_js(it, "referral_id"),
		       refctl_js(it, "state"), refctl_js(it, "clock"), refctl_js(it, "due"),
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
		return refctl_fail("out of memory");
	args_to_free = args;
	atexit(free_args);
	refctl_data_dir = getenv("REFERRAL_DATA");
	refctl_actor = getenv("REFERRAL_ACTOR");
	/* --data and --json may stand anywhere; the rest is the command. */
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--data") && i + 1 < argc)
			refctl_data_dir = argv[++i];
		else if (!strcmp(argv[i], "--json"))
			refctl_want_json = true;
		else if (!strcmp(argv[i], "--actor") && i + 1 < argc)
			refctl_actor = argv[++i];
		else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))
			return refctl_usage() ? 0 : 0;
		else
			args[n++] = argv[i];
	}
	if (n == 0)
		return refctl_usage();
	cmd = args[0];
	if (!strcmp(cmd, "init"))
		return cmd_init(n - 1, args + 1);
	if (!strcmp(cmd, "authority"))
		return cmd_authority(n - 1, args + 1);
	if (!strcmp(cmd, "directory"))
		return cmd_directory(n - 1, args + 1);
	if (!strcmp(cmd, "rotate-keys"))
		return cmd_rotate_keys(n - 1, args + 1);
	if (!strcmp(cmd, "rotate-data-key")) {
		if (client(&c))
			return 1;
		{
			int r = ref_rotate_data_key(c, refctl_actor, &text);
			return node_call(r, c, &text, human_rotated);
		}
	}
	if (!strcmp(cmd, "example")) {
		if (n < 2 || strcmp(args[1], "application"))
			return refctl_usage();
		fputs(application_example(), stdout);
		return 0;
	}
	if (!strcmp(cmd, "submit"))
		return cmd_submit(n - 1, args + 1);
	if (!strcmp(cmd, "supplement"))
		return cmd_supplement(n - 1, args + 1);
	if (!strcmp(cmd, "audit"))
		return refctl_audit(n - 1, args + 1);
	if (!strcmp(cmd, "store"))
		return refctl_store(n - 1, args + 1);
	if (!strcmp(cmd, "backup"))
		return refctl_backup(n - 1, args + 1);
	if (!strcmp(cmd, "restore"))
		return refctl_restore(n - 1, args + 1);
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
			return refctl_usage();
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
		bool in = refctl_flag(n, args, "--inbox"), out = refctl_flag(n, args, "--outbox");
		bool dead = refctl_flag(n, args, "--dead");
		if (in + out + dead != 1)
			return refctl_usage();
		if (client(&c))
			return 1;
		{
			int r = ref_list(c, in ? REF_BOX_INBOX : out ? REF_BOX_OUTBOX
				     : REF_BOX_DEAD, &text);
			return node_call(r, c, &text, dead ? human_dead : human_list);
		}
	}
	if (!strcmp(cmd, "requeue")) {
		bool all = refctl_flag(n, args, "--all");
		const char *id = n > 1 && strncmp(args[1], "--", 2) ? args[1] : NULL;
		if (all == (id != NULL))
			return refctl_usage();
		if (client(&c))
			return 1;
		{
			int r = ref_requeue(c, id, refctl_actor, &text);
			return node_call(r, c, &text, human_requeued);
		}
	}
	fprintf(stderr, "refctl: unknown command \"%s\"\n", cmd);
	return refctl_usage();
}
