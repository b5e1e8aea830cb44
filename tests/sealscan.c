/* sealscan.c: what an attacker holding the store file and the node's key
 * file could read. Every value sealed under the ring anywhere in data.mdb
 * (live records and LMDB's free pages alike: found by its magic,
 * 00 'R' 'S' 01) is decrypted with every key in the key file, whatever
 * key id it names, as counter mode without the tag (so a torn or moved
 * value still gives up what it holds), and the result searched for each
 * canary. What such a value begins with, read as a referral key (an
 * algorithm byte and the key), is then tried on every value sealed under
 * a referral's key (00 'R' 'S' 02), wherever it lies. The raw file is
 * searched in clear too.
 *
 * usage: sealscan DATA.MDB DATA.KEYS CANARY...
 * Prints "sealed=N refsealed=R keys=K refkeys=F clear=C opened=O" (F:
 * what was tried as a referral key), O the sealed values in which
 * some canary was read; exits 0 if neither C nor O, 1 if a canary was
 * found, 2 on bad usage or unreadable files. A test tool: never built
 * into the node. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/evp.h>

#define WINDOW 65536
#define MAX_KEYS 64

typedef struct {
	unsigned id;
	int sm4;
	unsigned char key[32];
} key_t_;

static unsigned char *slurp(const char *path, size_t *ret_len)
{
	FILE *f = fopen(path, "rb");
	unsigned char *buf = NULL;
	size_t cap = 0, len = 0, n;

	if (!f)
		return NULL;
	do {
		if (len == cap) {
			unsigned char *p = realloc(buf, cap = cap ? cap * 2 : 1 << 20);
			if (!p) {
				free(buf);
				fclose(f);
				return NULL;
			}
			buf = p;
		}
		n = fread(buf + len, 1, cap - len, f);
		len += n;
	} while (n);
	fclose(f);
	*ret_len = len;
	return buf;
}

static int unhex(const char *h, unsigned char *out, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned v;
		if (sscanf(h + 2 * i, "%2x", &v) != 1)
			return -1;
		out[i] = (unsigned char)v;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static const unsigned char magic[4] = { 0x00, 'R', 'S', 0x01 };
	static const unsigned char ref_magic[4] = { 0x00, 'R', 'S', 0x02 };
	key_t_ *cands = NULL;
	size_t ncand = 0, capc = 0, refsealed = 0;
	key_t_ keys[MAX_KEYS];
	size_t nkeys = 0, len, sealed = 0, clear = 0, opened = 0;
	unsigned char *db, *out;
	char line[256];
	FILE *f;

	if (argc < 4) {
		fprintf(stderr, "usage: sealscan DATA.MDB DATA.KEYS CANARY...\n");
		return 2;
	}
	db = slurp(argv[1], &len);
	f = fopen(argv[2], "r");
	if (!db || !f) {
		fprintf(stderr, "sealscan: cannot read %s or %s\n", argv[1],
			argv[2]);
		return 2;
	}
	while (fgets(line, sizeof(line), f) && nkeys < MAX_KEYS) {
		char alg[32], hex[80];
		key_t_ *k = &keys[nkeys];
		if (line[0] == '#' ||
		    sscanf(line, "%u %31s %79s", &k->id, alg, hex) != 3)
			continue;
		k->sm4 = !strcmp(alg, "sm4-gcm");
		if (unhex(hex, k->key, k->sm4 ? 16 : 32) == 0)
			nkeys++;
	}
	fclose(f);
	for (int c = 3; c < argc; c++) {
		const unsigned char *p = db;
		size_t left = len, nl = strlen(argv[c]);
		while (left >= nl && (p = memmem(p, left, argv[c], nl))) {
			clear++;
			p++;
			left = len - (size_t)(p - db);
		}
	}
	out = malloc(WINDOW);
	for (size_t off = 0; out && off + 36 <= len; off++) {
		const unsigned char *v = db + off;
		size_t n = len - off - 20;
		int found = 0;

		if (memcmp(v, magic, 4))
			continue;
		sealed++;
		if (n > WINDOW)
			n = WINDOW;
		for (size_t k = 0; k < nkeys && !found; k++) {
			EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
			unsigned char iv[16];
			int outl = 0;

			/* GCM's first counter block for the payload: J0 + 1. */
			memcpy(iv, v + 8, 12);
			iv[12] = iv[13] = iv[14] = 0;
			iv[15] = 2;
			if (ctx && EVP_EncryptInit_ex(ctx, keys[k].sm4
					? EVP_sm4_ctr() : EVP_aes_256_ctr(), NULL,
					keys[k].key, iv) == 1 &&
			    EVP_EncryptUpdate(ctx, out, &outl, v + 20,
					      (int)n) == 1) {
				for (int c = 3; c < argc && !found; c++)
					found = memmem(out, (size_t)outl, argv[c],
						       strlen(argv[c])) != NULL;
				/* Maybe a referral key: alg 1 (32) or 2 (16). */
				if (outl >= 33 && (out[0] == 1 || out[0] == 2)) {
					if (ncand == capc) {
						key_t_ *p = realloc(cands, (capc = capc
							? capc * 2 : 64) * sizeof(*p));
						if (!p)
							return 2;
						cands = p;
					}
					cands[ncand].sm4 = out[0] == 2;
					memcpy(cands[ncand++].key, out + 1, 32);
				}
			}
			EVP_CIPHER_CTX_free(ctx);
		}
		opened += found;
	}
	/* Values under a referral's key: 00 'R' 'S' 02 | id length | id |
	 * nonce (12) | ciphertext. */
	for (size_t off = 0; out && off + 40 <= len; off++) {
		const unsigned char *v = db + off;
		size_t il, n;
		int found = 0;

		if (memcmp(v, ref_magic, 4))
			continue;
		il = v[4];
		if (!il || off + 5 + il + 12 + 16 > len)
			continue;
		refsealed++;
		n = len - off - 5 - il - 12;
		if (n > 16384)
			n = 16384;
		for (size_t k = 0; k < ncand && !found; k++) {
			EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
			unsigned char iv[16];
			int outl = 0;

			memcpy(iv, v + 5 + il, 12);
			iv[12] = iv[13] = iv[14] = 0;
			iv[15] = 2;
			if (ctx && EVP_EncryptInit_ex(ctx, cands[k].sm4
					? EVP_sm4_ctr() : EVP_aes_256_ctr(), NULL,
					cands[k].key, iv) == 1 &&
			    EVP_EncryptUpdate(ctx, out, &outl, v + 5 + il + 12,
					      (int)n) == 1)
				for (int c = 3; c < argc && !found; c++)
					found = memmem(out, (size_t)outl, argv[c],
						       strlen(argv[c])) != NULL;
			EVP_CIPHER_CTX_free(ctx);
		}
		opened += found;
	}
	printf("sealed=%zu refsealed=%zu keys=%zu refkeys=%zu clear=%zu "
	       "opened=%zu\n", sealed, refsealed, nkeys, ncand, clear, opened);
	free(cands);
	free(out);
	free(db);
	return clear || opened ? 1 : 0;
}
