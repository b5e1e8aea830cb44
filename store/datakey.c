/* datakey.c: see datakey.h. The node's start-up rules for the key file
 * (made at the first start, never beside sealed records) live here so
 * that refctl and the node cannot disagree about them. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "datakey.h"
#include "errors.h"

void datakey_path(const config_t *c, char *out, size_t len)
{
	config_path(c, c->data_key, out, len);
}

seal_alg_t datakey_alg(const config_t *c)
{
	return strcmp(c->alg, "sm2-sm3") ? SEAL_AES_256_GCM : SEAL_SM4_GCM;
}

int datakey_create(const config_t *c)
{
	char path[PATH_MAX + 64];

	datakey_path(c, path, sizeof(path));
	return seal_keyfile_create(path, datakey_alg(c));
}

int datakey_load(const config_t *c, seal_t **ret_seal, char *err,
		 size_t errlen)
{
	char path[PATH_MAX + 64];
	struct stat st;

	datakey_path(c, path, sizeof(path));
	/* Told apart from the other failures: a caller may go on without a
	 * ring (an auditor on a store copy), but never with a broken one. */
	if (stat(path, &st) < 0 && errno == ENOENT) {
		snprintf(err, errlen, "cannot read the data key file %s: %s",
			 path, strerror(ENOENT));
		return -ENOENT;
	}
	return seal_load(path, ret_seal, err, errlen);
}

int datakey_open(const config_t *c, store_t *store, seal_t **ret_seal,
		 bool *ret_created, char *err, size_t errlen)
{
	char path[PATH_MAX + 64], inner[400];
	bool created = false;
	seal_t *seal = NULL;
	struct stat st;
	int r;

	datakey_path(c, path, sizeof(path));
	if (stat(path, &st) < 0 && errno == ENOENT) {
		/* Without a key, store_check answers REF_E_CONFIG at the first
		 * sealed record: a new key would not open it, and would hide
		 * that the real one is missing. */
		if (store_check(store, inner, sizeof(inner)) == REF_E_CONFIG) {
			snprintf(err, errlen, "the store holds encrypted records "
				 "but the data key file %s is missing: put back "
				 "the copy kept apart from the store", path);
			return REF_E_CONFIG;
		}
		r = seal_keyfile_create(path, datakey_alg(c));
		if (r) {
			snprintf(err, errlen, "cannot create the data key file "
				 "%s: %s", path, ref_strerror(r));
			return r;
		}
		created = true;
	}
	r = seal_load(path, &seal, err, errlen);
	if (r)
		return r;
	store_set_seal(store, seal);
	*ret_seal = seal;
	if (ret_created)
		*ret_created = created;
	return 0;
}
