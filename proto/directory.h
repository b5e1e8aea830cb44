/* directory.h: the signed directory of nodes (DESIGN.md, normative).
 *
 * directory.json holds every node: code, name, role, endpoint, CURVE public
 * key, signing keys with validity windows, and the case types it accepts.
 * directory.json.sig holds the authority's signature over the file's exact
 * bytes (base64). A node trusts nothing the directory does not list.
 * Unknown JSON fields are ignored so the format can grow.
 * A directory_t is immutable once loaded; lookups are thread-safe. */
#ifndef REF_DIRECTORY_H
#define REF_DIRECTORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "sign.h"

#define DIRECTORY_FORMAT "referral.v1/directory"

typedef struct {
	char key_id[64];
	sign_alg_t alg;
	EVP_PKEY *key;
	uint64_t not_before_ms, not_after_ms;
} dir_key_t;

typedef struct {
	char code[8];
	char name[256];
	char role[32];
	char endpoint[256];
	char curve_public[41];   /* Z85 */
	dir_key_t *keys;
	size_t n_keys;
	char (*accepts)[32];
	size_t n_accepts;
	/* Optional (route.h): what the centre serves, and its fallback. */
	char (*serves_divisions)[8];
	size_t n_serves_divisions;
	char (*serves_bodies)[256];
	size_t n_serves_bodies;
	char fallback[8];
	/* A justice_bureau's (or the authority's) entry: the centres whose
	 * objections (Art 49) it decides, and the staff ids who decide them.
	 * Optional; empty elsewhere. */
	char (*oversees)[8];
	size_t n_oversees;
	char (*objection_reviewers)[65];
	size_t n_objection_reviewers;
} dir_node_t;

typedef struct {
	uint64_t version;
	char authority[8];
	char issued_at[40];
	dir_node_t *nodes;
	size_t n_nodes;
	uint8_t sha256[32];  /* of the exact bytes parsed: which file it is */
} directory_t;

/* directory_parse: checks the format and every node; ret_err names the
 * first problem (node code and field). No signature check. */
int directory_parse(const char *json, size_t len, directory_t **ret,
		    char *ret_err, size_t errlen);
/* directory_verify_sig: REF_E_DIRECTORY unless sig_b64 is authority's
 * signature over exactly json[0..len). */
int directory_verify_sig(const uint8_t *json, size_t len, const char *sig_b64,
			 EVP_PKEY *authority);
/* directory_load: reads DIR/directory.json and its .sig, verifies, parses.
 * Every failure is REF_E_DIRECTORY (or -errno) with ret_err saying why. */
int directory_load(const char *data_dir, EVP_PKEY *authority,
		   directory_t **ret, char *ret_err, size_t errlen);
void directory_free(directory_t **d);

/* directory_install: makes json (with its base64 signature) the directory
 * in data_dir, so that a crash at any point leaves the old pair or the new
 * one, never a mix: both are written as .new files first (signature
 * first), then renamed over the old (signature first). */
int directory_install(const char *data_dir, const uint8_t *json, size_t len,
		      const char *sig_b64);
/* directory_recover: finishes an install a crash cut short (a complete
 * directory.json.new means its signature was written before it), or
 * drops a lone signature.new; temp files of a write cut short go too.
 * Called before directory_load at start. */
int directory_recover(const char *data_dir);

const dir_node_t *directory_node(const directory_t *d, const char *code);
/* directory_oversees: true if bureau is a justice_bureau or authority node
 * whose entry lists centre under oversees. */
bool directory_oversees(const dir_node_t *bureau, const char *centre);
/* directory_objection_reviewer: true if staff is listed under the entry's
 * objection_reviewers. */
bool directory_objection_reviewer(const dir_node_t *bureau, const char *staff);
const dir_node_t *directory_node_by_curve(const directory_t *d,
					  const char *z85);
/* directory_key: node's key_id if valid at at_ms, else NULL (borrowed).
 * Has the shape of envelope_key_lookup_fn with ctx = the directory. */
EVP_PKEY *directory_key(void *d, const char *node, const char *key_id,
			uint64_t at_ms);
/* directory_accepts: the node takes referrals of case_type: it is a
 * legal-aid centre (no other role takes one, whatever its entry lists)
 * and its entry's accepts names the type. */
bool directory_accepts(const dir_node_t *n, const char *case_type);

/* directory_takes_referrals: the node is a legal-aid centre (only
 * they take referrals, whatever an entry's accepts lists). */
bool directory_takes_referrals(const dir_node_t *n);

/* directory_parse_serves: the optional `serves` and `fallback` of one
 * node's entry jn into n (REF_E_DIRECTORY with err saying which is wrong);
 * directory_free_serves releases them. */
int directory_parse_serves(json_t *jn, dir_node_t *n, char *err,
			    size_t errlen);
void directory_free_serves(dir_node_t *n);

#endif
