/* datakey.h: the data key file, the one owner of it: the key ring
 * (seal.h) that seals personal data at rest, at [store] data_key in
 * referrald.conf (data.keys in the data folder by default).
 *
 * Promises:
 * - Where the file is, which suite a new ring uses, and when a new one may
 *   be made are decided here only; the node, refctl init and refctl's
 *   audit commands all go through this module.
 * - A ring is never made beside a store that already holds sealed
 *   records: those need their own key back (datakey_open refuses).
 * - A key file is never overwritten (datakey_create: -EEXIST).
 * Returns: 0, a negative errno passed up, or a positive REF_E_* code as
 * documented per function. err (caller-sized) says what was wrong and
 * what to do; the text names the file but carries no key material.
 * Logs nothing: datakey_open tells its caller whether it made a ring, and
 * the caller logs. Thread safety: none needed beyond the caller's own
 * (no state is kept here). */
#ifndef REF_DATAKEY_H
#define REF_DATAKEY_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "seal.h"
#include "store.h"

/* datakey_path: the data key file of c: config_path of c->data_key
 * (relative to c->data_dir unless absolute). */
void datakey_path(const config_t *c, char *out, size_t len);

/* datakey_alg: the suite a new ring of c's node uses: SM4-GCM for the
 * GM/T suite (alg = sm2-sm3), AES-256-GCM otherwise. */
seal_alg_t datakey_alg(const config_t *c);

/* datakey_create: a new ring with one fresh key of datakey_alg(c) at
 * datakey_path(c), mode 0600. -EEXIST if the file is there; -errno if it
 * cannot be written. */
int datakey_create(const config_t *c);

/* datakey_load: the existing ring of c. -ENOENT if there is no key file
 * (never makes one); REF_E_KEY_PERMS if group or others may read it;
 * REF_E_CONFIG if it does not parse; -errno if it cannot be read. On
 * success *ret_seal is the caller's (seal_free). */
int datakey_load(const config_t *c, seal_t **ret_seal, char *err,
		 size_t errlen);

/* datakey_open: the node's start. If the key file is missing, and store
 * holds no sealed record, a new ring is made (*ret_created true, may be
 * NULL); if store holds sealed records, REF_E_CONFIG ("put back the copy
 * kept apart from the store"). Then the ring is loaded (datakey_load's
 * codes) and store reads and writes through it (store_set_seal). On
 * success *ret_seal is the caller's: seal_free it after store_close, as
 * the store borrows it. err is not prefixed: the caller says what it was
 * doing ("refusing to start: ..."). */
int datakey_open(const config_t *c, store_t *store, seal_t **ret_seal,
		 bool *ret_created, char *err, size_t errlen);

#endif
