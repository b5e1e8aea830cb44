/* sign.h: signing keys and signatures, through OpenSSL's EVP one-shot API.
 *
 * Two suites: Ed25519 with SHA-256 digests (the default) and SM2 with SM3
 * (GM/T), whose signatures use the distinguishing id "1234567812345678",
 * set explicitly because OpenSSL's default differs between versions.
 * Keys are EVP_PKEY; the caller owns every key returned and frees it with
 * EVP_PKEY_free. Thread-safe (no shared state). */
#ifndef REF_SIGN_H
#define REF_SIGN_H

#include <stddef.h>
#include <stdint.h>
#include <openssl/evp.h>

typedef enum {
	SIGN_ALG_NONE = 0,
	SIGN_ALG_ED25519 = 1,
	SIGN_ALG_SM2_SM3 = 2,
} sign_alg_t;

#define SIGN_SM2_ID "1234567812345678"
#define SIGN_MAX_SIG 80   /* DER SM2 is at most 72; Ed25519 is 64 */

/* "ed25519" / "sm2-sm3" */
int sign_alg_from_name(const char *name, sign_alg_t *ret_alg);
const char *sign_alg_name(sign_alg_t alg);
/* sign_key_alg: the suite a key belongs to, or SIGN_ALG_NONE. */
sign_alg_t sign_key_alg(EVP_PKEY *key);

int sign_key_generate(sign_alg_t alg, EVP_PKEY **ret_key);
/* sign_key_load_private: a PEM private key file. Refuses (REF_E_KEY_PERMS)
 * a file that group or others may read or write. */
int sign_key_load_private(const char *path, EVP_PKEY **ret_key);
int sign_key_save_private(EVP_PKEY *key, const char *path);
/* PEM public key files, as the authority's key is handed around. */
int sign_key_load_public(const char *path, EVP_PKEY **ret_key);
int sign_key_save_public(EVP_PKEY *key, const char *path);
/* base64 of DER SubjectPublicKeyInfo, the directory's form. From b64:
 * REF_E_MALFORMED if it does not parse, REF_E_INVALID for a key of
 * another type (RSA, a NIST curve...). */
int sign_key_from_b64(const char *b64, EVP_PKEY **ret_key);
int sign_key_to_b64(EVP_PKEY *key, char **ret_b64);

/* sign_data: signs data (the whole message, not a digest) with key. */
int sign_data(EVP_PKEY *key, const uint8_t *data, size_t len,
	      uint8_t *ret_sig, size_t *ret_len);
/* sign_verify: 0, or REF_E_BADSIG for any signature that does not verify. */
int sign_verify(EVP_PKEY *key, const uint8_t *data, size_t len,
		const uint8_t *sig, size_t siglen);
/* sign_digest: SHA-256 (Ed25519 suite) or SM3 (GM/T suite); 32 bytes. */
int sign_digest(sign_alg_t alg, const uint8_t *data, size_t len,
		uint8_t out[32]);

#endif
