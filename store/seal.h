/* seal.h: personal data encrypted before it reaches LMDB (DESIGN.md,
 * Durability): LMDB keeps deleted values in free pages, so only
 * ciphertext may ever be written, and a purged referral's own key
 * (below) is what makes what it left there unreadable.
 *
 * A key ring lives in one file (mode 0600, refused otherwise), one key a
 * line, "ID ALG HEX", the last line the current key:
 *   aes-256-gcm (the default suite) or sm4-gcm (the GM/T suite).
 * A sealed value is: 00 'R' 'S' 01 | key id (4, big-endian) | nonce (12) |
 * ciphertext | tag (16). The caller's AAD binds it to where it is stored
 * (table and key), so a value moved to another record does not open.
 * OpenSSL 3.0 has SM4 but not SM4-GCM: GCM is built here over SM4's block
 * function (NIST SP 800-38D), and checked against OpenSSL's AES-256-GCM
 * with the same code over AES, and against RFC 8998's SM4-GCM vector. */
#ifndef REF_SEAL_H
#define REF_SEAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct seal seal_t;

typedef enum {
	SEAL_AES_256_GCM = 1,
	SEAL_SM4_GCM = 2,
} seal_alg_t;

#define SEAL_HEADER 20   /* magic 4, key id 4, nonce 12 */
#define SEAL_TAG 16
#define SEAL_OVERHEAD (SEAL_HEADER + SEAL_TAG)

int seal_alg_from_name(const char *name, seal_alg_t *ret_alg);
const char *seal_alg_name(seal_alg_t alg);

/* seal_keyfile_create: a new key ring with one fresh key; -EEXIST if the
 * file is there (a key file is never overwritten). */
int seal_keyfile_create(const char *path, seal_alg_t alg);
/* seal_load: REF_E_KEY_PERMS if group or others may read the file;
 * REF_E_CONFIG with ret_err naming the line if it does not parse. */
int seal_load(const char *path, seal_t **ret, char *ret_err, size_t errlen);
void seal_free(seal_t **s);

/* seal_rotate: a fresh key of alg becomes current, written to path (old
 * keys stay, to open what they sealed until it is sealed again). */
int seal_rotate(seal_t *s, const char *path, seal_alg_t alg);
/* seal_retire: drops every key but the current one, in memory and path. */
int seal_retire(seal_t *s, const char *path);

uint32_t seal_current_id(const seal_t *s);
seal_alg_t seal_current_alg(const seal_t *s);
size_t seal_key_count(const seal_t *s);

/* seal_is_sealed: v is a sealed value; ret_key_id (may be NULL) gets the
 * id of the key that sealed it. */
bool seal_is_sealed(const uint8_t *v, size_t len, uint32_t *ret_key_id);

/* seal_encrypt / seal_decrypt: *ret malloc'd. Decrypt returns
 * REF_E_UNKNOWN_KEY for a key not in the ring and REF_E_CORRUPT when the
 * tag does not verify (changed, moved, or another key's). */
int seal_encrypt(const seal_t *s, const uint8_t *aad, size_t aadlen,
		 const uint8_t *pt, size_t len, uint8_t **ret, size_t *ret_len);
int seal_decrypt(const seal_t *s, const uint8_t *aad, size_t aadlen,
		 const uint8_t *ct, size_t len, uint8_t **ret, size_t *ret_len);

/* Per-referral keys. Each referral's personal data is sealed under a key
 * of its own (seal_refkey_new: an algorithm byte and the key, itself kept
 * sealed under the ring by the store, in its refkeys table), so that a
 * purge that deletes the key leaves nothing any remaining key opens. A
 * value sealed under one is 00 'R' 'S' 02 | id length (1) | referral id |
 * nonce (12) | ciphertext | tag (16). */
#define SEAL_REFKEY_MAX 33
#define SEAL_REF_ID_MAX 64
int seal_refkey_new(const seal_t *s, uint8_t out[SEAL_REFKEY_MAX],
		    size_t *ret_len);
/* seal_ref_id: v is sealed under a referral's key; its id (NUL-ended) in
 * out, which holds cap bytes. */
bool seal_ref_id(const uint8_t *v, size_t len, char *out, size_t cap);
int seal_ref_encrypt(const uint8_t *refkey, size_t rklen, const char *id,
		     const uint8_t *aad, size_t aadlen, const uint8_t *pt,
		     size_t len, uint8_t **ret, size_t *ret_len);
/* seal_ref_decrypt: REF_E_CORRUPT when the tag does not verify. */
int seal_ref_decrypt(const uint8_t *refkey, size_t rklen, const uint8_t *aad,
		     size_t aadlen, const uint8_t *ct, size_t len, uint8_t **ret,
		     size_t *ret_len);

/* seal_gcm: the GCM mode built here, over SM4 or AES-256 as block
 * function (exposed for its tests). out gets len bytes; tag 16. */
int seal_gcm(seal_alg_t block, const uint8_t *key, const uint8_t iv[12],
	     const uint8_t *aad, size_t aadlen, const uint8_t *in, size_t len,
	     uint8_t *out, uint8_t tag[16], bool encrypt);

#endif
