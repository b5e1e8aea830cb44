/* sign.c: see sign.h. OpenSSL's error queue is cleared at this edge so a
 * failure here never leaks into an unrelated later call. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <unistd.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "errors.h"
#include "sign.h"
#include "util.h"

int sign_alg_from_name(const char *name, sign_alg_t *ret_alg)
{
	if (!name)
		return REF_E_INVALID;
	if (strcmp(name, "ed25519") == 0)
		*ret_alg = SIGN_ALG_ED25519;
	else if (strcmp(name, "sm2-sm3") == 0)
		*ret_alg = SIGN_ALG_SM2_SM3;
	else
		return REF_E_INVALID;
	return 0;
}

const char *sign_alg_name(sign_alg_t alg)
{
	switch (alg) {
	case SIGN_ALG_ED25519:
		return "ed25519";
	case SIGN_ALG_SM2_SM3:
		return "sm2-sm3";
	default:
		return "none";
	}
}

sign_alg_t sign_key_alg(EVP_PKEY *key)
{
	if (!key)
		return SIGN_ALG_NONE;
	if (EVP_PKEY_is_a(key, "ED25519"))
		return SIGN_ALG_ED25519;
	if (EVP_PKEY_is_a(key, "SM2"))
		return SIGN_ALG_SM2_SM3;
	/* OpenSSL 3.0 may read an SM2 SubjectPublicKeyInfo as a generic EC
	 * key whose group is SM2. */
	if (EVP_PKEY_is_a(key, "EC")) {
		char group[64];
		size_t glen = 0;
		if (EVP_PKEY_get_group_name(key, group, sizeof(group), &glen) &&
		    strcmp(group, "SM2") == 0)
			return SIGN_ALG_SM2_SM3;
	}
	return SIGN_ALG_NONE;
}

int sign_key_generate(sign_alg_t alg, EVP_PKEY **ret_key)
{
	EVP_PKEY *key = NULL;

	if (alg == SIGN_ALG_ED25519)
		key = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	else if (alg == SIGN_ALG_SM2_SM3)
		key = EVP_PKEY_Q_keygen(NULL, NULL, "SM2");
	else
		return REF_E_INVALID;
	if (!key) {
		ERR_clear_error();
		return -EIO;
	}
	*ret_key = key;
	return 0;
}

int sign_key_load_private(const char *path, EVP_PKEY **ret_key)
{
	struct stat st;
	EVP_PKEY *key;
	FILE *f;

	f = fopen(path, "r");
	if (!f)
		return -errno;
	if (fstat(fileno(f), &st) < 0) {
		int r = -errno;
		fclose(f);
		return r;
	}
	if (st.st_mode & 077) {
		fclose(f);
		return REF_E_KEY_PERMS;
	}
	key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	if (!key || sign_key_alg(key) == SIGN_ALG_NONE) {
		EVP_PKEY_free(key);
		ERR_clear_error();
		return REF_E_MALFORMED;
	}
	*ret_key = key;
	return 0;
}

static int save_pem(EVP_PKEY *key, const char *path, int mode, int private)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *data;
	long len;
	int r, ok;

	if (!bio)
		return -ENOMEM;
	ok = private ? PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0,
						NULL, NULL)
		     : PEM_write_bio_PUBKEY(bio, key);
	if (!ok) {
		BIO_free(bio);
		ERR_clear_error();
		return -EIO;
	}
	len = BIO_get_mem_data(bio, &data);
	r = util_write_file(path, data, (size_t)len, mode);
	BIO_free(bio);
	return r;
}

int sign_key_save_private(EVP_PKEY *key, const char *path)
{
	return save_pem(key, path, 0600, 1);
}

int sign_key_save_public(EVP_PKEY *key, const char *path)
{
	return save_pem(key, path, 0644, 0);
}

int sign_key_load_public(const char *path, EVP_PKEY **ret_key)
{
	EVP_PKEY *key;
	FILE *f = fopen(path, "r");

	if (!f)
		return -errno;
	key = PEM_read_PUBKEY(f, NULL, NULL, NULL);
	fclose(f);
	if (!key || sign_key_alg(key) == SIGN_ALG_NONE) {
		EVP_PKEY_free(key);
		ERR_clear_error();
		return REF_E_MALFORMED;
	}
	*ret_key = key;
	return 0;
}

int sign_key_from_b64(const char *b64, EVP_PKEY **ret_key)
{
	uint8_t *der;
	const unsigned char *p;
	size_t len;
	EVP_PKEY *key;
	int r;

	r = util_b64_decode(b64, &der, &len);
	if (r)
		return r;
	p = der;
	key = d2i_PUBKEY(NULL, &p, (long)len);
	free(der);
	if (!key || sign_key_alg(key) == SIGN_ALG_NONE) {
		/* A key that parses but is neither Ed25519 nor SM2 (RSA, a
		 * NIST curve...) is told apart from bytes that do not parse. */
		r = key ? REF_E_INVALID : REF_E_MALFORMED;
		EVP_PKEY_free(key);
		ERR_clear_error();
		return r;
	}
	*ret_key = key;
	return 0;
}

int sign_key_to_b64(EVP_PKEY *key, char **ret_b64)
{
	unsigned char *der = NULL;
	int len = i2d_PUBKEY(key, &der);
	int r;

	if (len <= 0) {
		ERR_clear_error();
		return -EIO;
	}
	r = util_b64_encode(der, (size_t)len, ret_b64);
	OPENSSL_free(der);
	return r;
}

/* Sets up ctx for one sign or verify. SM2 needs its distinguishing id on
 * the key context before init, and SM3 as the digest; Ed25519 takes no
 * digest (it hashes internally). */
static int md_init(EVP_MD_CTX *ctx, EVP_PKEY *key, int for_sign,
		   EVP_PKEY_CTX **ret_own)
{
	sign_alg_t alg = sign_key_alg(key);
	EVP_PKEY_CTX *pctx = NULL;
	int ok;

	if (alg == SIGN_ALG_ED25519) {
		ok = for_sign ? EVP_DigestSignInit(ctx, NULL, NULL, NULL, key)
			      : EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, key);
		return ok == 1 ? 0 : -EIO;
	}
	if (alg != SIGN_ALG_SM2_SM3)
		return REF_E_INVALID;
	pctx = EVP_PKEY_CTX_new(key, NULL);
	if (!pctx)
		return -ENOMEM;
	if (EVP_PKEY_CTX_set1_id(pctx, SIGN_SM2_ID, strlen(SIGN_SM2_ID)) != 1) {
		EVP_PKEY_CTX_free(pctx);
		return -EIO;
	}
	/* A context given with set_pkey_ctx stays the caller's to free. */
	EVP_MD_CTX_set_pkey_ctx(ctx, pctx);
	*ret_own = pctx;
	ok = for_sign ? EVP_DigestSignInit(ctx, NULL, EVP_sm3(), NULL, key)
		      : EVP_DigestVerifyInit(ctx, NULL, EVP_sm3(), NULL, key);
	return ok == 1 ? 0 : -EIO;
}

static void md_free(EVP_MD_CTX *ctx, EVP_PKEY_CTX *own)
{
	EVP_MD_CTX_free(ctx);
	EVP_PKEY_CTX_free(own);
}

int sign_data(EVP_PKEY *key, const uint8_t *data, size_t len,
	      uint8_t *ret_sig, size_t *ret_len)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	EVP_PKEY_CTX *own = NULL;
	size_t siglen = SIGN_MAX_SIG;
	int r;

	if (!ctx)
		return -ENOMEM;
	r = md_init(ctx, key, 1, &own);
	if (!r && EVP_DigestSign(ctx, ret_sig, &siglen, data, len) != 1)
		r = -EIO;
	md_free(ctx, own);
	ERR_clear_error();
	if (!r)
		*ret_len = siglen;
	return r;
}

int sign_verify(EVP_PKEY *key, const uint8_t *data, size_t len,
		const uint8_t *sig, size_t siglen)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	EVP_PKEY_CTX *own = NULL;
	int r;

	if (!ctx)
		return -ENOMEM;
	r = md_init(ctx, key, 0, &own);
	if (!r && EVP_DigestVerify(ctx, sig, siglen, data, len) != 1)
		r = REF_E_BADSIG;
	md_free(ctx, own);
	ERR_clear_error();
	return r;
}

int sign_digest(sign_alg_t alg, const uint8_t *data, size_t len,
		uint8_t out[32])
{
	unsigned int n = 0;
	const EVP_MD *md = alg == SIGN_ALG_SM2_SM3 ? EVP_sm3() : util_md_sha256();

	if (EVP_Digest(data, len, out, &n, md, NULL) != 1 || n != 32) {
		ERR_clear_error();
		return -EIO;
	}
	return 0;
}
