/* cli-trust.c: see cli-trust.h. A directory is used only once its
 * signature by the authority key verifies; this node is found by its
 * public key, never by a code or key id the store or a file claims. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "i18n.h"
#include "cli-trust.h"
#include "errors.h"
#include "sign.h"
#include "util.h"

void cli_trust_free(cli_trust_t *t)
{
	directory_free(&t->dir);
}

/* The directory from --directory FILE (with FILE.sig and --authority), or
 * the one in force in the data folder, checked against the authority key.
 * With need_self, also finds this node by its signing key. */
int cli_trust_load(cli_trust_t *t, int argc, char **argv, bool need_self)
{
	const char *file = cli_opt(argc, argv, "--directory");
	const char *auth = cli_opt(argc, argv, "--authority");
	char path[4096], err[300] = "";
	EVP_PKEY *authority = NULL, *pub = NULL;
	int r;

	memset(t, 0, sizeof(*t));
	if (!auth && (!cli_data_dir || !*cli_data_dir))
		return cli_fail(_("no directory to check against: give --data "
				"DIR, or --directory FILE --authority PUBKEY.pem"));
	if (!auth) {
		snprintf(path, sizeof(path), "%s/authority.pub.pem",
			 cli_data_dir);
		auth = path;
	}
	r = sign_key_load_public(auth, &authority);
	if (r)
		return cli_fail(_("cannot read the authority key %s: %s"), auth,
				ref_strerror(r));
	if (file) {
		uint8_t *json = NULL, *sig = NULL;
		size_t len, slen;
		char sigpath[4096];

		snprintf(sigpath, sizeof(sigpath), "%s.sig", file);
		r = util_read_file(file, 16 << 20, &json, &len);
		if (r)
			snprintf(err, sizeof(err), "cannot read %.200s: %s", file,
				 ref_strerror(r));
		if (!r && (r = util_read_file(sigpath, 4096, &sig, &slen)))
			snprintf(err, sizeof(err), "cannot read %.200s: %s", sigpath,
				 ref_strerror(r));
		if (!r && (r = directory_verify_sig(json, len, (char *)sig,
						    authority)))
			snprintf(err, sizeof(err), "%.120s is not signed by the "
				 "authority key %.120s", file, auth);
		if (!r)
			r = directory_parse((char *)json, len, &t->dir, err,
					    sizeof(err));
		free(json);
		free(sig);
	} else {
		if (!cli_data_dir || !*cli_data_dir)
			snprintf(err, sizeof(err), "give --directory FILE or "
				 "--data DIR");
		r = cli_data_dir && *cli_data_dir
			? directory_load(cli_data_dir, authority, &t->dir,
					 err, sizeof(err))
			: REF_E_DIRECTORY;
	}
	EVP_PKEY_free(authority);
	if (r)
		return cli_fail(_("the directory cannot be used: %s"),
				err[0] ? err : ref_strerror(r));
	if (!need_self)
		return 0;
	snprintf(path, sizeof(path), "%s/signing.pub.pem", cli_data_dir);
	r = sign_key_load_public(path, &pub);
	if (r) {
		cli_trust_free(t);
		return cli_fail(_("cannot read %s: %s"), path, ref_strerror(r));
	}
	for (size_t i = 0; i < t->dir->n_nodes && !t->self; i++)
		for (size_t k = 0; k < t->dir->nodes[i].n_keys; k++)
			if (EVP_PKEY_eq(t->dir->nodes[i].keys[k].key, pub) == 1) {
				t->self = &t->dir->nodes[i];
				t->self_key_id = t->dir->nodes[i].keys[k].key_id;
				break;
			}
	EVP_PKEY_free(pub);
	if (!t->self) {
		uint64_t v = t->dir->version;
		cli_trust_free(t);
		return cli_fail(_("this node's signing key (%s) is in no entry "
				"of the directory (version %llu)"), path,
				(unsigned long long)v);
	}
	return 0;
}

/* An envelope kept in the store, checked as an auditor would: the key the
 * directory gives its sender at its time, its signature and digest. */
bool cli_trust_signed_ok(const cli_trust_t *t, const uint8_t *buf, size_t len,
		      envelope_check_t *c)
{
	return envelope_verify_archived(directory_key, t->dir, buf, len, c) ==
	       REFERRAL__V1__RECEIPT_STATUS__STORED;
}
