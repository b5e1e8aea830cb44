/* refctl-setup.c: making a node's and an authority's keys and files:
 * refctl init, refctl authority keygen and refctl rotate-keys.
 *
 * Promises: a key file is never overwritten (each command refuses if its
 * file is there); private keys are written mode 0600; referrald.conf is
 * written by config_write and the data key file by datakey_create, the
 * same code the node reads them with, so what init writes is what the
 * node starts on. What a command prints for the authority (a directory
 * entry) holds public keys only. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <jansson.h>
#include <zmq.h>

#include "cli.h"
#include "i18n.h"
#include "config.h"
#include "datakey.h"
#include "errors.h"
#include "refctl-setup.h"
#include "sign.h"
#include "util.h"

static const char *const all_case_types[] = {
	"labour", "marriage_family", "food_drugs", "education_medical",
	"accident_compensation", "land_expropriation", "land_transfer",
	"epidemic_wage", "dismissal", "work_injury", "lease", "other", NULL };

int refctl_setup_init(int argc, char **argv)
{
	const char *code = cli_opt(argc, argv, "--node");
	const char *name = cli_opt(argc, argv, "--name");
	const char *listen = cli_opt(argc, argv, "--listen");
	const char *auth = cli_opt(argc, argv, "--authority");
	const char *alg_name = cli_opt(argc, argv, "--alg");
	const char *role = cli_opt(argc, argv, "--role");
	const char *endpoint = cli_opt(argc, argv, "--endpoint");
	const char *accepts = cli_opt(argc, argv, "--accepts");
	char path[4096], pub[41], sec[41], *b64 = NULL;
	char nb[32], na[32];
	config_t conf;
	EVP_PKEY *key = NULL, *authority = NULL;
	sign_alg_t alg = SIGN_ALG_ED25519;
	json_t *entry, *keys, *k, *acc;
	struct stat st;
	uint64_t now = util_now_ms();
	int r;

	if (!cli_data_dir || !code || !name || !listen || !auth)
		return cli_usage();
	if (alg_name && sign_alg_from_name(alg_name, &alg))
		return cli_fail(_("--alg %s: use ed25519 or sm2-sm3"), alg_name);
	if (!util_node_code_valid(code))
		return cli_fail(_("--node %s is not a six-digit division code"), code);
	if (strncmp(listen, "tcp://", 6))
		return cli_fail(_("--listen %s must be tcp://HOST:PORT"), listen);
	for (const char *p = name; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == ';' || *p == '#')
			return cli_fail(_("--name must be one line without ';' or '#'"));
	if (strlen(name) > 150)
		return cli_fail(_("--name is longer than 150 bytes"));
	if (!role)
		role = "legal_aid_centre";
	if (strcmp(role, "legal_aid_centre") && strcmp(role, "court") &&
	    strcmp(role, "labour_bureau") && strcmp(role, "authority") &&
	    strcmp(role, "justice_bureau"))
		return cli_fail(_("--role %s: use legal_aid_centre, court, "
			    "labour_bureau, justice_bureau or authority"), role);
	if (strlen(listen) >= sizeof(conf.listen))
		return cli_fail(_("--listen is longer than %zu bytes"),
				sizeof(conf.listen) - 1);
	if (strlen(cli_data_dir) >= sizeof(conf.data_dir))
		return cli_fail(_("--data %s: the path is longer than %zu bytes"),
				cli_data_dir, sizeof(conf.data_dir) - 1);
	/* Only what differs from the defaults is set; config_write still
	 * writes every setting, each with what it means. */
	config_defaults(&conf);
	snprintf(conf.data_dir, sizeof(conf.data_dir), "%s", cli_data_dir);
	snprintf(conf.code, sizeof(conf.code), "%s", code);
	snprintf(conf.name, sizeof(conf.name), "%s", name);
	snprintf(conf.role, sizeof(conf.role), "%s", role);
	snprintf(conf.listen, sizeof(conf.listen), "%s", listen);
	snprintf(conf.key_id, sizeof(conf.key_id), "%s-k1", code);
	snprintf(conf.alg, sizeof(conf.alg), "%s", sign_alg_name(alg));
	r = sign_key_load_public(auth, &authority);
	if (r)
		return cli_fail(_("--authority %s is not a PEM public key: %s"), auth,
			    ref_strerror(r));
	snprintf(path, sizeof(path), "%s/signing.key", cli_data_dir);
	if (stat(path, &st) == 0) {
		EVP_PKEY_free(authority);
		return cli_fail(_("%s already holds a node (signing.key exists); "
			    "refusing to overwrite its keys"), cli_data_dir);
	}
	if (mkdir(cli_data_dir, 0700) < 0 && errno != EEXIST) {
		EVP_PKEY_free(authority);
		return cli_fail(_("cannot create %s: %s"), cli_data_dir, strerror(errno));
	}
	r = sign_key_generate(alg, &key);
	if (!r)
		r = sign_key_save_private(key, path);
	snprintf(path, sizeof(path), "%s/signing.pub.pem", cli_data_dir);
	if (!r)
		r = sign_key_save_public(key, path);
	snprintf(path, sizeof(path), "%s/authority.pub.pem", cli_data_dir);
	if (!r)
		r = sign_key_save_public(authority, path);
	/* Personal data at rest: the suite follows conf.alg (datakey.h). */
	if (!r)
		r = datakey_create(&conf);
	if (!r && zmq_curve_keypair(pub, sec) < 0)
		r = -EIO;
	if (!r) {
		char buf[200];
		int len = snprintf(buf, sizeof(buf),
				   "{\"public\": \"%s\", \"secret\": \"%s\"}\n",
				   pub, sec);
		snprintf(path, sizeof(path), "%s/curve.json", cli_data_dir);
		r = util_write_file(path, buf, (size_t)len, 0600);
	}
	snprintf(path, sizeof(path), "%s/referrald.conf", cli_data_dir);
	if (!r)
		r = config_write(&conf, path);
	if (!r)
		r = sign_key_to_b64(key, &b64);
	EVP_PKEY_free(key);
	EVP_PKEY_free(authority);
	if (r)
		return cli_fail(_("cannot write the node's files in %s: %s"), cli_data_dir,
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
	json_object_set_new(k, "key_id", json_string(conf.key_id));
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
	} else if (!strcmp(role, "legal_aid_centre")) {
		/* Only a centre takes referrals: a court's or bureau's entry
		 * lists none, so no sender is pointed at it. */
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

int refctl_setup_authority(int argc, char **argv)
{
	const char *out = cli_opt(argc, argv, "--out");
	const char *alg_name = cli_opt(argc, argv, "--alg");
	sign_alg_t alg = SIGN_ALG_ED25519;
	char path[4096];
	EVP_PKEY *key = NULL;
	struct stat st;
	int r;

	if (argc < 2 || strcmp(argv[1], "keygen") || !out)
		return cli_usage();
	if (alg_name && sign_alg_from_name(alg_name, &alg))
		return cli_fail(_("--alg %s: use ed25519 or sm2-sm3"), alg_name);
	if (mkdir(out, 0700) < 0 && errno != EEXIST)
		return cli_fail(_("cannot create %s: %s"), out, strerror(errno));
	snprintf(path, sizeof(path), "%s/authority.key", out);
	if (stat(path, &st) == 0)
		return cli_fail(_("%s exists; refusing to overwrite an authority key"),
			    path);
	r = sign_key_generate(alg, &key);
	if (!r)
		r = sign_key_save_private(key, path);
	snprintf(path, sizeof(path), "%s/authority.pub.pem", out);
	if (!r)
		r = sign_key_save_public(key, path);
	EVP_PKEY_free(key);
	if (r)
		return cli_fail(_("cannot write the authority key in %s: %s"), out,
			    ref_strerror(r));
	printf(_("%s/authority.key (private, mode 0600)\n%s\n"), out, path);
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
int refctl_setup_rotate_keys(int argc, char **argv)
{
	const char *sa = cli_opt(argc, argv, "--switch-after");
	const char *ov = cli_opt(argc, argv, "--overlap");
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

	if (cli_need_data_dir())
		return 1;
	if (sa && (switch_ms = duration_ms(sa, &ok), !ok))
		return cli_fail(_("--switch-after %s: give a duration such as "
				"30s, 15m, 2h or 7d"), sa);
	if (ov && (overlap_ms = duration_ms(ov, &ok), !ok))
		return cli_fail(_("--overlap %s: give a duration such as 30s, "
				"15m, 2h or 7d"), ov);
	snprintf(path, sizeof(path), "%s/signing.next.key", cli_data_dir);
	if (stat(path, &stt) == 0)
		return cli_fail(_("%s exists: a rotation is under way (the node "
				"switches once the directory lists the key)"),
				path);
	snprintf(path, sizeof(path), "%s/signing.pub.pem", cli_data_dir);
	r = sign_key_load_public(path, &cur);
	if (r)
		return cli_fail(_("cannot read %s: %s"), path, ref_strerror(r));
	sign_key_to_b64(cur, &mine);
	alg = sign_key_alg(cur);
	EVP_PKEY_free(cur);
	snprintf(path, sizeof(path), "%s/directory.json", cli_data_dir);
	dir = json_load_file(path, 0, &jerr);
	json_array_foreach(json_object_get(dir, "nodes"), i, it_node) {
		json_array_foreach(json_object_get(it_node, "signing_keys"), j, k)
			if (mine && !strcmp(cli_js(k, "public_key"), mine))
				entry = it_node;
	}
	free(mine);
	if (!entry) {
		json_decref(dir);
		return cli_fail(_("this node's signing key is in no entry of %s"),
				path);
	}
	keys = json_object_get(entry, "signing_keys");
	json_array_foreach(keys, j, k) {
		const char *id = cli_js(k, "key_id"), *dash = strrchr(id, 'k');
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
		if (util_rfc3339_parse(cli_js(k, "not_after"), &end) ||
		    end > now + switch_ms + overlap_ms)
			json_object_set_new(k, "not_after", json_string(oa));
	}
	r = sign_key_generate(alg, &next);
	snprintf(path, sizeof(path), "%s/signing.next.key", cli_data_dir);
	if (!r)
		r = sign_key_save_private(next, path);
	snprintf(path, sizeof(path), "%s/signing.next.pub.pem", cli_data_dir);
	if (!r)
		r = sign_key_save_public(next, path);
	if (!r)
		r = sign_key_to_b64(next, &pub);
	EVP_PKEY_free(next);
	if (r) {
		json_decref(dir);
		return cli_fail(_("cannot write the new key in %s: %s"),
				cli_data_dir, ref_strerror(r));
	}
	{
		char id[64], *out;
		snprintf(id, sizeof(id), "%s-k%d", cli_js(entry, "code"),
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
			cli_data_dir, id, nb);
	}
	free(pub);
	json_decref(dir);
	return 0;
}
