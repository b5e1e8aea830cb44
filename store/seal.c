/* seal.c: see seal.h. Keys never leave this module except into the key
 * file; a failure never says more than which key or record. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "errors.h"
#include "seal.h"
#include "util.h"

#define MAX_KEYS 16

typedef struct {
	uint32_t id;
	seal_alg_t alg;
	uint8_t key[32];
} seal_key_t;

struct seal {
	seal_key_t keys[MAX_KEYS];
	size_t n;
};

static const uint8_t magic[4] = { 0x00, 'R', 'S', 0x01 };

static size_t key_len(seal_alg_t alg)
{
	return alg == SEAL_SM4_GCM ? 16 : 32;
}

int seal_alg_from_name(const char *name, seal_alg_t *ret_alg)
{
	if (!strcmp(name, "aes-256-gcm"))
		*ret_alg = SEAL_AES_256_GCM;
	else if (!strcmp(name, "sm4-gcm"))
		*ret_alg = SEAL_SM4_GCM;
	else
		return REF_E_INVALID;
	return 0;
}

const char *seal_alg_name(seal_alg_t alg)
{
	return alg == SEAL_SM4_GCM ? "sm4-gcm" : "aes-256-gcm";
}

/* ---- GCM over a block function (SP 800-38D) ----------------------------- */

/* X = X * Y in GF(2^128), GCM's bit order. */
/* GHASH with Shoup's 4-bit tables (16 multiples of H, built once per
 * message), as common GCM code does: a block costs 32 table steps, where
 * the bit-serial product cost 128 shifts of 16 bytes and made SM4-GCM
 * sealing two thirds of a GM/T node's time. */
typedef struct {
	uint64_t hh[16], hl[16];
} ghash_t;

static const uint64_t last4[16] = {
	0x0000, 0x1c20, 0x3840, 0x2460, 0x7080, 0x6ca0, 0x48c0, 0x54e0,
	0xe100, 0xfd20, 0xd940, 0xc560, 0x9180, 0x8da0, 0xa9c0, 0xb5e0
};

static void ghash_init(ghash_t *g, const uint8_t h[16])
{
	uint64_t vh = util_get_be64(h), vl = util_get_be64(h + 8);

	memset(g, 0, sizeof(*g));
	g->hl[8] = vl;
	g->hh[8] = vh;
	for (int i = 4; i > 0; i >>= 1) {
		uint64_t t = (vl & 1) * 0xe1000000ULL;
		vl = (vh << 63) | (vl >> 1);
		vh = (vh >> 1) ^ (t << 32);
		g->hl[i] = vl;
		g->hh[i] = vh;
	}
	for (int i = 2; i <= 8; i *= 2) {
		vh = g->hh[i];
		vl = g->hl[i];
		for (int j = 1; j < i; j++) {
			g->hh[i + j] = vh ^ g->hh[j];
			g->hl[i + j] = vl ^ g->hl[j];
		}
	}
}

static void gf_mul(const ghash_t *g, uint8_t x[16])
{
	uint8_t lo = x[15] & 0xf, hi, rem;
	uint64_t zh = g->hh[lo], zl = g->hl[lo];

	for (int i = 15; i >= 0; i--) {
		lo = x[i] & 0xf;
		hi = (x[i] >> 4) & 0xf;
		if (i != 15) {
			rem = (uint8_t)(zl & 0xf);
			zl = (zh << 60) | (zl >> 4);
			zh = (zh >> 4) ^ (last4[rem] << 48);
			zh ^= g->hh[lo];
			zl ^= g->hl[lo];
		}
		rem = (uint8_t)(zl & 0xf);
		zl = (zh << 60) | (zl >> 4);
		zh = (zh >> 4) ^ (last4[rem] << 48);
		zh ^= g->hh[hi];
		zl ^= g->hl[hi];
	}
	util_put_be64(x, zh);
	util_put_be64(x + 8, zl);
}

static void ghash_update(uint8_t acc[16], const ghash_t *g,
			 const uint8_t *p, size_t len)
{
	while (len) {
		size_t n = len < 16 ? len : 16;
		for (size_t i = 0; i < n; i++)
			acc[i] ^= p[i];
		gf_mul(g, acc);
		p += n;
		len -= n;
	}
}

int seal_gcm(seal_alg_t block, const uint8_t *key, const uint8_t iv[12],
	     const uint8_t *aad, size_t aadlen, const uint8_t *in, size_t len,
	     uint8_t *out, uint8_t tag[16], bool encrypt)
{
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	const EVP_CIPHER *c = block == SEAL_SM4_GCM ? EVP_sm4_ecb()
						    : EVP_aes_256_ecb();
	uint8_t h[16] = { 0 }, j0[16], ctr[16], acc[16] = { 0 };
	uint8_t lens[16], ek0[16], ctrs[1024], ks[1024];
	ghash_t g;
	int outl, r = 0;

	if (!ctx || !c)
		return -ENOMEM;
	if (EVP_EncryptInit_ex(ctx, c, NULL, key, NULL) != 1 ||
	    EVP_CIPHER_CTX_set_padding(ctx, 0) != 1 ||
	    EVP_EncryptUpdate(ctx, h, &outl, h, 16) != 1) {
		r = -EIO;
		goto out;
	}
	memcpy(j0, iv, 12);
	j0[12] = j0[13] = j0[14] = 0;
	j0[15] = 1;
	if (EVP_EncryptUpdate(ctx, ek0, &outl, j0, 16) != 1) {
		r = -EIO;
		goto out;
	}
	ghash_init(&g, h);
	ghash_update(acc, &g, aad, aadlen);
	if (!encrypt)
		ghash_update(acc, &g, in, len);
	memcpy(ctr, j0, 16);
	/* The key stream, 64 counter blocks to each call of the block
	 * cipher (one call per block cost more than the cipher itself). */
	for (size_t off = 0; off < len; off += sizeof(ks)) {
		size_t n = len - off < sizeof(ks) ? len - off : sizeof(ks);
		size_t blocks = (n + 15) / 16;

		for (size_t b = 0; b < blocks; b++) {
			/* inc32: the counter is the last 32 bits only. */
			for (int i = 15; i >= 12 && ++ctr[i] == 0; i--)
				;
			memcpy(ctrs + 16 * b, ctr, 16);
		}
		if (EVP_EncryptUpdate(ctx, ks, &outl, ctrs, (int)(16 * blocks)) != 1) {
			r = -EIO;
			goto out;
		}
		for (size_t i = 0; i < n; i++)
			out[off + i] = in[off + i] ^ ks[i];
	}
	if (encrypt)
		ghash_update(acc, &g, out, len);
	util_put_be64(lens, (uint64_t)aadlen * 8);
	util_put_be64(lens + 8, (uint64_t)len * 8);
	ghash_update(acc, &g, lens, 16);
	for (int i = 0; i < 16; i++)
		tag[i] = acc[i] ^ ek0[i];
out:
	OPENSSL_cleanse(h, sizeof(h));
	OPENSSL_cleanse(ks, sizeof(ks));
	EVP_CIPHER_CTX_free(ctx);
	return r;
}

/* AES-256-GCM through OpenSSL's own (hardware-accelerated) code. */
static int aes_gcm(const uint8_t *key, const uint8_t iv[12], const uint8_t *aad,
		   size_t aadlen, const uint8_t *in, size_t len, uint8_t *out,
		   uint8_t tag[16], bool encrypt)
{
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	int outl, ok;

	if (!ctx)
		return -ENOMEM;
	ok = EVP_CipherInit_ex(ctx, util_cipher_aes256gcm(), NULL, key, iv,
			       encrypt) == 1 &&
	     EVP_CipherUpdate(ctx, NULL, &outl, aad, (int)aadlen) == 1 &&
	     (len == 0 || EVP_CipherUpdate(ctx, out, &outl, in, (int)len) == 1);
	if (ok && !encrypt)
		ok = EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, 16, tag) == 1;
	if (ok)
		ok = EVP_CipherFinal_ex(ctx, out + len, &outl) == 1;
	if (ok && encrypt)
		ok = EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, 16, tag) == 1;
	EVP_CIPHER_CTX_free(ctx);
	return ok ? 0 : REF_E_CORRUPT;
}

/* ---- the key ring --------------------------------------------------------- */

static int ring_write(const seal_t *s, const char *path)
{
	char *text = NULL, hex[65];
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	int r;

	if (!f)
		return -ENOMEM;
	fprintf(f, "# referral data keys: the last line is the current key.\n"
		   "# Keep this file apart from backups of the store.\n");
	for (size_t i = 0; i < s->n; i++) {
		util_hex(s->keys[i].key, key_len(s->keys[i].alg), hex);
		fprintf(f, "%u %s %s\n", s->keys[i].id,
			seal_alg_name(s->keys[i].alg), hex);
	}
	fclose(f);
	r = util_write_file(path, text, len, 0600);
	OPENSSL_cleanse(text, len);
	free(text);
	OPENSSL_cleanse(hex, sizeof(hex));
	return r;
}

static int ring_add(seal_t *s, seal_alg_t alg)
{
	seal_key_t *k;

	if (s->n == MAX_KEYS)
		return REF_E_TOO_LARGE;
	k = &s->keys[s->n];
	k->id = s->n ? s->keys[s->n - 1].id + 1 : 1;
	k->alg = alg;
	if (RAND_bytes(k->key, (int)key_len(alg)) != 1)
		return -EIO;
	s->n++;
	return 0;
}

int seal_keyfile_create(const char *path, seal_alg_t alg)
{
	seal_t s = { .n = 0 };
	struct stat st;
	int r;

	if (stat(path, &st) == 0)
		return -EEXIST;
	r = ring_add(&s, alg);
	if (!r)
		r = ring_write(&s, path);
	OPENSSL_cleanse(&s, sizeof(s));
	return r;
}

int seal_load(const char *path, seal_t **ret, char *err, size_t errlen)
{
	struct stat st;
	uint8_t *text;
	size_t len;
	char *line, *save = NULL;
	seal_t *s;
	int r, lineno = 0;

	if (stat(path, &st) < 0) {
		snprintf(err, errlen, "cannot read the data key file %s: %s",
			 path, strerror(errno));
		return -errno;
	}
	if (st.st_mode & 077) {
		snprintf(err, errlen, "the data key file %s is readable by "
			 "others (mode %03o): run chmod 600 on it", path,
			 (unsigned)(st.st_mode & 0777));
		return REF_E_KEY_PERMS;
	}
	r = util_read_file(path, 1 << 16, &text, &len);
	if (r) {
		snprintf(err, errlen, "cannot read the data key file %s: %s",
			 path, ref_strerror(r));
		return r;
	}
	s = calloc(1, sizeof(*s));
	if (!s) {
		free(text);
		return -ENOMEM;
	}
	for (line = strtok_r((char *)text, "\n", &save); line && !r;
	     line = strtok_r(NULL, "\n", &save)) {
		char alg[32], hex[80];
		unsigned id;
		seal_key_t *k;

		lineno++;
		if (line[0] == '#' || line[0] == '\0')
			continue;
		k = &s->keys[s->n];
		if (s->n == MAX_KEYS ||
		    sscanf(line, "%u %31s %79s", &id, alg, hex) != 3 ||
		    seal_alg_from_name(alg, &k->alg) ||
		    strlen(hex) != 2 * key_len(k->alg) ||
		    util_unhex(hex, k->key, key_len(k->alg))) {
			snprintf(err, errlen, "the data key file %s: line %d is "
				 "not \"ID aes-256-gcm|sm4-gcm HEX\" with a key of "
				 "the right length", path, lineno);
			r = REF_E_CONFIG;
		}
		k->id = id;
		OPENSSL_cleanse(hex, sizeof(hex));
		if (!r)
			s->n++;
	}
	OPENSSL_cleanse(text, len);
	free(text);
	if (!r && !s->n) {
		snprintf(err, errlen, "the data key file %s holds no key", path);
		r = REF_E_CONFIG;
	}
	if (r) {
		seal_free(&s);
		return r;
	}
	*ret = s;
	return 0;
}

void seal_free(seal_t **s)
{
	if (!*s)
		return;
	OPENSSL_cleanse(*s, sizeof(**s));
	free(*s);
	*s = NULL;
}

int seal_rotate(seal_t *s, const char *path, seal_alg_t alg)
{
	int r = ring_add(s, alg);

	if (!r)
		r = ring_write(s, path);
	if (r && s->n)
		s->n--; /* the file holds the old ring: so does memory */
	return r;
}

int seal_retire(seal_t *s, const char *path)
{
	seal_t keep = { .n = 1 };
	int r;

	keep.keys[0] = s->keys[s->n - 1];
	r = ring_write(&keep, path);
	if (!r) {
		OPENSSL_cleanse(s->keys, sizeof(s->keys));
		s->keys[0] = keep.keys[0];
		s->n = 1;
	}
	OPENSSL_cleanse(&keep, sizeof(keep));
	return r;
}

uint32_t seal_current_id(const seal_t *s)
{
	return s->keys[s->n - 1].id;
}

seal_alg_t seal_current_alg(const seal_t *s)
{
	return s->keys[s->n - 1].alg;
}

size_t seal_key_count(const seal_t *s)
{
	return s->n;
}

/* ---- values ------------------------------------------------------------- */

bool seal_is_sealed(const uint8_t *v, size_t len, uint32_t *ret_key_id)
{
	if (len < SEAL_OVERHEAD || memcmp(v, magic, 4))
		return false;
	if (ret_key_id)
		*ret_key_id = (uint32_t)v[4] << 24 | (uint32_t)v[5] << 16 |
			      (uint32_t)v[6] << 8 | v[7];
	return true;
}

static int crypt(const seal_key_t *k, const uint8_t iv[12], const uint8_t *aad,
		 size_t aadlen, const uint8_t *in, size_t len, uint8_t *out,
		 uint8_t tag[16], bool encrypt)
{
	uint8_t want[16];
	int r;

	if (k->alg == SEAL_AES_256_GCM)
		return aes_gcm(k->key, iv, aad, aadlen, in, len, out, tag, encrypt);
	r = seal_gcm(SEAL_SM4_GCM, k->key, iv, aad, aadlen, in, len, out, want,
		     encrypt);
	if (r)
		return r;
	if (encrypt) {
		memcpy(tag, want, 16);
		return 0;
	}
	return CRYPTO_memcmp(want, tag, 16) ? REF_E_CORRUPT : 0;
}

int seal_encrypt(const seal_t *s, const uint8_t *aad, size_t aadlen,
		 const uint8_t *pt, size_t len, uint8_t **ret, size_t *ret_len)
{
	const seal_key_t *k = &s->keys[s->n - 1];
	uint8_t *out = malloc(len + SEAL_OVERHEAD + 16);
	int r;

	if (!out)
		return -ENOMEM;
	memcpy(out, magic, 4);
	for (int i = 0; i < 4; i++)
		out[4 + i] = (uint8_t)(k->id >> (24 - 8 * i));
	if (util_random(out + 8, 12)) {
		free(out);
		return -EIO;
	}
	r = crypt(k, out + 8, aad, aadlen, pt, len, out + SEAL_HEADER,
		  out + SEAL_HEADER + len, true);
	if (r) {
		free(out);
		return r;
	}
	*ret = out;
	*ret_len = len + SEAL_OVERHEAD;
	return 0;
}

int seal_decrypt(const seal_t *s, const uint8_t *aad, size_t aadlen,
		 const uint8_t *ct, size_t len, uint8_t **ret, size_t *ret_len)
{
	const seal_key_t *k = NULL;
	uint32_t id;
	uint8_t *out, tag[16];
	size_t n;
	int r;

	if (!seal_is_sealed(ct, len, &id))
		return REF_E_MALFORMED;
	for (size_t i = 0; i < s->n; i++)
		if (s->keys[i].id == id)
			k = &s->keys[i];
	if (!k)
		return REF_E_UNKNOWN_KEY;
	n = len - SEAL_OVERHEAD;
	out = malloc(n + 16 + 1);
	if (!out)
		return -ENOMEM;
	memcpy(tag, ct + SEAL_HEADER + n, 16);
	r = crypt(k, ct + 8, aad, aadlen, ct + SEAL_HEADER, n, out, tag, false);
	if (r) {
		OPENSSL_cleanse(out, n);
		free(out);
		return REF_E_CORRUPT;
	}
	out[n] = 0;
	*ret = out;
	*ret_len = n;
	return 0;
}

/* ---- per-referral keys ---------------------------------------------------- */

static const uint8_t ref_magic[4] = { 0x00, 'R', 'S', 0x02 };

int seal_refkey_new(const seal_t *s, uint8_t out[SEAL_REFKEY_MAX],
		    size_t *ret_len)
{
	seal_alg_t alg = seal_current_alg(s);

	out[0] = (uint8_t)alg;
	if (util_random(out + 1, key_len(alg)))
		return -EIO;
	*ret_len = 1 + key_len(alg);
	return 0;
}

static int refkey_of(const uint8_t *rk, size_t rklen, seal_key_t *k)
{
	if (rklen < 1 || (rk[0] != SEAL_AES_256_GCM && rk[0] != SEAL_SM4_GCM) ||
	    rklen != 1 + key_len((seal_alg_t)rk[0]))
		return REF_E_CORRUPT;
	k->id = 0;
	k->alg = (seal_alg_t)rk[0];
	memcpy(k->key, rk + 1, rklen - 1);
	return 0;
}

bool seal_ref_id(const uint8_t *v, size_t len, char *out, size_t cap)
{
	size_t il;

	if (len < 5 || memcmp(v, ref_magic, 4))
		return false;
	il = v[4];
	if (!il || il > SEAL_REF_ID_MAX || il >= cap ||
	    len < 5 + il + 12 + SEAL_TAG)
		return false;
	memcpy(out, v + 5, il);
	out[il] = '\0';
	return true;
}

int seal_ref_encrypt(const uint8_t *refkey, size_t rklen, const char *id,
		     const uint8_t *aad, size_t aadlen, const uint8_t *pt,
		     size_t len, uint8_t **ret, size_t *ret_len)
{
	size_t il = strlen(id), hl = 5 + il + 12;
	seal_key_t k;
	uint8_t *out;
	int r = refkey_of(refkey, rklen, &k);

	if (r)
		return r;
	if (!il || il > SEAL_REF_ID_MAX)
		return REF_E_INVALID;
	out = malloc(hl + len + SEAL_TAG + 16);
	if (!out) {
		OPENSSL_cleanse(&k, sizeof(k));
		return -ENOMEM;
	}
	memcpy(out, ref_magic, 4);
	out[4] = (uint8_t)il;
	memcpy(out + 5, id, il);
	if (util_random(out + 5 + il, 12))
		r = -EIO;
	if (!r)
		r = crypt(&k, out + 5 + il, aad, aadlen, pt, len, out + hl,
			  out + hl + len, true);
	OPENSSL_cleanse(&k, sizeof(k));
	if (r) {
		free(out);
		return r;
	}
	*ret = out;
	*ret_len = hl + len + SEAL_TAG;
	return 0;
}

int seal_ref_decrypt(const uint8_t *refkey, size_t rklen, const uint8_t *aad,
		     size_t aadlen, const uint8_t *ct, size_t len, uint8_t **ret,
		     size_t *ret_len)
{
	char id[SEAL_REF_ID_MAX + 1];
	size_t hl, n;
	seal_key_t k;
	uint8_t *out, tag[16];
	int r;

	if (!seal_ref_id(ct, len, id, sizeof(id)))
		return REF_E_MALFORMED;
	r = refkey_of(refkey, rklen, &k);
	if (r)
		return r;
	hl = 5 + strlen(id) + 12;
	n = len - hl - SEAL_TAG;
	out = malloc(n + 16 + 1);
	if (!out) {
		OPENSSL_cleanse(&k, sizeof(k));
		return -ENOMEM;
	}
	memcpy(tag, ct + hl + n, 16);
	r = crypt(&k, ct + hl - 12, aad, aadlen, ct + hl, n, out, tag, false);
	OPENSSL_cleanse(&k, sizeof(k));
	if (r) {
		OPENSSL_cleanse(out, n);
		free(out);
		return REF_E_CORRUPT;
	}
	out[n] = 0;
	*ret = out;
	*ret_len = n;
	return 0;
}
