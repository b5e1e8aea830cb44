/* test-seal.c: the data-key ring and sealed values. The GCM built here is
 * checked against OpenSSL's own AES-256-GCM (same mode code over AES) and
 * against RFC 8998's SM4-GCM vector; tampering, a moved value, a retired
 * key and a key file others can read are each refused. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "errors.h"
#include "seal.h"
#include "testutil.h"
#include "util.h"

static void openssl_aes_gcm(const uint8_t *key, const uint8_t *iv,
			    const uint8_t *aad, int aadlen, const uint8_t *in,
			    int len, uint8_t *out, uint8_t *tag)
{
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	int l;

	EVP_EncryptInit_ex(c, EVP_aes_256_gcm(), NULL, key, iv);
	EVP_EncryptUpdate(c, NULL, &l, aad, aadlen);
	if (len)
		EVP_EncryptUpdate(c, out, &l, in, len);
	EVP_EncryptFinal_ex(c, out + len, &l);
	EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, 16, tag);
	EVP_CIPHER_CTX_free(c);
}

static void test_gcm_against_openssl(void)
{
	uint8_t key[32], iv[12], aad[40], in[100], a[100], b[116], ta[16], tb[16];
	int same = 0;

	for (int t = 0; t < 200; t++) {
		int len = t % 100, aadlen = t % 40;
		RAND_bytes(key, 32);
		RAND_bytes(iv, 12);
		RAND_bytes(aad, 40);
		RAND_bytes(in, 100);
		CHECK(seal_gcm(SEAL_AES_256_GCM, key, iv, aad, (size_t)aadlen, in,
			       (size_t)len, a, ta, true) == 0);
		openssl_aes_gcm(key, iv, aad, aadlen, in, len, b, tb);
		same += !memcmp(a, b, (size_t)len) && !memcmp(ta, tb, 16);
	}
	CHECK_EQ_INT(same, 200);
}

static void test_sm4_gcm_vector(void)
{
	/* RFC 8998, Appendix A.1. */
	uint8_t key[16], iv[12], aad[20], pt[64], ct[64], tag[16], out[64], t[16];

	CHECK(util_unhex("0123456789ABCDEFFEDCBA9876543210", key, 16) == 0);
	CHECK(util_unhex("00001234567800000000ABCD", iv, 12) == 0);
	CHECK(util_unhex("FEEDFACEDEADBEEFFEEDFACEDEADBEEFABADDAD2", aad, 20) == 0);
	CHECK(util_unhex("AAAAAAAAAAAAAAAABBBBBBBBBBBBBBBBCCCCCCCCCCCCCCCCDDDDDDDDDDDDDDDD"
			 "EEEEEEEEEEEEEEEEFFFFFFFFFFFFFFFFEEEEEEEEEEEEEEEEAAAAAAAAAAAAAAAA",
			 pt, 64) == 0);
	CHECK(util_unhex("17F399F08C67D5EE19D0DC9969C4BB7D5FD46FD3756489069157B282BB200735"
			 "D82710CA5C22F0CCFA7CBF93D496AC15A56834CBCF98C397B4024A2691233B8D",
			 ct, 64) == 0);
	CHECK(util_unhex("83DE3541E4C2B58177E065A9BF7B62EC", tag, 16) == 0);
	CHECK(seal_gcm(SEAL_SM4_GCM, key, iv, aad, 20, pt, 64, out, t, true) == 0);
	CHECK(memcmp(out, ct, 64) == 0);
	CHECK(memcmp(t, tag, 16) == 0);
	CHECK(seal_gcm(SEAL_SM4_GCM, key, iv, aad, 20, ct, 64, out, t, false) == 0);
	CHECK(memcmp(out, pt, 64) == 0 && memcmp(t, tag, 16) == 0);
}

static void test_ring(const char *dir, seal_alg_t alg)
{
	char path[4096], err[300];
	const char *pt = "陈示例 350581199003070000 13800000000";
	uint8_t *ct, *back, *ct2;
	size_t cl, bl, cl2;
	seal_t *s = NULL;
	uint32_t id;

	snprintf(path, sizeof(path), "%s/keys-%s", dir, seal_alg_name(alg));
	unlink(path);
	CHECK(seal_keyfile_create(path, alg) == 0);
	CHECK(seal_keyfile_create(path, alg) == -EEXIST);
	chmod(path, 0644);
	CHECK_EQ_INT(seal_load(path, &s, err, sizeof(err)), REF_E_KEY_PERMS);
	CHECK(strstr(err, "readable by others") != NULL);
	chmod(path, 0600);
	CHECK(seal_load(path, &s, err, sizeof(err)) == 0);
	CHECK_EQ_INT(seal_current_alg(s), alg);
	CHECK(seal_encrypt(s, (const uint8_t *)"outbox", 6, (const uint8_t *)pt,
			   strlen(pt), &ct, &cl) == 0);
	CHECK(cl == strlen(pt) + SEAL_OVERHEAD);
	CHECK(seal_is_sealed(ct, cl, &id) && id == 1);
	CHECK(memmem(ct, cl, "350581199003070000", 18) == NULL);
	CHECK(seal_decrypt(s, (const uint8_t *)"outbox", 6, ct, cl, &back, &bl) == 0);
	CHECK(bl == strlen(pt) && !memcmp(back, pt, bl));
	free(back);
	/* Moved to another record (other AAD), or changed: refused. */
	CHECK_EQ_INT(seal_decrypt(s, (const uint8_t *)"inbox", 5, ct, cl, &back, &bl),
		     REF_E_CORRUPT);
	ct[SEAL_HEADER + 3] ^= 1;
	CHECK_EQ_INT(seal_decrypt(s, (const uint8_t *)"outbox", 6, ct, cl, &back, &bl),
		     REF_E_CORRUPT);
	ct[SEAL_HEADER + 3] ^= 1;
	/* Rotation: a new current key; the old one still opens its values. */
	CHECK(seal_rotate(s, path, alg) == 0);
	CHECK_EQ_INT(seal_current_id(s), 2);
	CHECK(seal_encrypt(s, NULL, 0, (const uint8_t *)"x", 1, &ct2, &cl2) == 0);
	CHECK(seal_is_sealed(ct2, cl2, &id) && id == 2);
	seal_free(&s);
	CHECK(seal_load(path, &s, err, sizeof(err)) == 0);
	CHECK_EQ_INT(seal_key_count(s), 2);
	CHECK(seal_decrypt(s, (const uint8_t *)"outbox", 6, ct, cl, &back, &bl) == 0);
	free(back);
	/* Retired: what key 1 sealed no longer opens. */
	CHECK(seal_retire(s, path) == 0);
	seal_free(&s);
	CHECK(seal_load(path, &s, err, sizeof(err)) == 0);
	CHECK_EQ_INT(seal_key_count(s), 1);
	CHECK_EQ_INT(seal_decrypt(s, (const uint8_t *)"outbox", 6, ct, cl, &back, &bl),
		     REF_E_UNKNOWN_KEY);
	CHECK(seal_decrypt(s, NULL, 0, ct2, cl2, &back, &bl) == 0 && bl == 1);
	free(back);
	free(ct);
	free(ct2);
	seal_free(&s);
	/* A broken key file names its line, never the key. */
	util_write_file(path, "1 aes-256-gcm 00ff\n", 19, 0600);
	CHECK_EQ_INT(seal_load(path, &s, err, sizeof(err)), REF_E_CONFIG);
	CHECK(strstr(err, "line 1") != NULL);
}

int main(void)
{
	char dir[] = "/tmp/test-seal.XXXXXX";

	if (!mkdtemp(dir))
		return 1;
	test_gcm_against_openssl();
	test_sm4_gcm_vector();
	test_ring(dir, SEAL_AES_256_GCM);
	test_ring(dir, SEAL_SM4_GCM);
	{
		char cmd[64];
		snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
		if (system(cmd) != 0)
			fprintf(stderr, "could not remove %s\n", dir);
	}
	return test_finish("seal");
}
