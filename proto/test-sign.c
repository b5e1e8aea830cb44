/* test-sign.c: both signature suites (the SM2-with-SM3 vector included),
 * key files and their permissions, and the helpers in util.c. */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <jansson.h>

#include "errors.h"
#include "sign.h"
#include "testutil.h"
#include "util.h"

static void test_sm2_vector(json_t *vec)
{
	json_t *s = json_object_get(vec, "sm2_sm3");
	EVP_PKEY *pub = NULL;
	uint8_t *in, *sig;
	size_t inlen, siglen;

	CHECK(sign_key_from_b64(json_string_value(json_object_get(s,
			"public_der_b64")), &pub) == 0);
	CHECK(sign_key_alg(pub) == SIGN_ALG_SM2_SM3);
	util_unhex_alloc(json_string_value(json_object_get(s,
			"signing_input_hex")), &in, &inlen);
	util_unhex_alloc(json_string_value(json_object_get(s,
			"signature_der_hex")), &sig, &siglen);
	CHECK_EQ_INT(sign_verify(pub, in, inlen, sig, siglen), 0);
	in[inlen - 1] ^= 1;
	CHECK_EQ_INT(sign_verify(pub, in, inlen, sig, siglen), REF_E_BADSIG);
	free(in);
	free(sig);
	EVP_PKEY_free(pub);
}

static void test_roundtrip(sign_alg_t alg)
{
	EVP_PKEY *k = NULL, *pub = NULL;
	uint8_t sig[SIGN_MAX_SIG], msg[] = "referral";
	size_t siglen;
	char *b64 = NULL;

	CHECK(sign_key_generate(alg, &k) == 0);
	CHECK(sign_key_alg(k) == alg);
	CHECK(sign_data(k, msg, sizeof(msg), sig, &siglen) == 0);
	CHECK(sign_key_to_b64(k, &b64) == 0);
	CHECK(sign_key_from_b64(b64, &pub) == 0);
	CHECK_EQ_INT(sign_verify(pub, msg, sizeof(msg), sig, siglen), 0);
	sig[siglen / 2] ^= 0x40;
	CHECK_EQ_INT(sign_verify(pub, msg, sizeof(msg), sig, siglen),
		     REF_E_BADSIG);
	free(b64);
	EVP_PKEY_free(k);
	EVP_PKEY_free(pub);
}

static void test_key_files(void)
{
	char dir[] = "/tmp/test-sign-XXXXXX", path[256];
	EVP_PKEY *k = NULL, *k2 = NULL;

	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/signing.key", dir);
	CHECK(sign_key_generate(SIGN_ALG_ED25519, &k) == 0);
	CHECK(sign_key_save_private(k, path) == 0);
	CHECK(sign_key_load_private(path, &k2) == 0);
	EVP_PKEY_free(k2);
	k2 = NULL;
	chmod(path, 0640);
	CHECK_EQ_INT(sign_key_load_private(path, &k2), REF_E_KEY_PERMS);
	CHECK(k2 == NULL);
	unlink(path);
	CHECK_EQ_INT(sign_key_load_private(path, &k2), -ENOENT);
	rmdir(dir);
	EVP_PKEY_free(k);
}

static void test_util(void)
{
	uint8_t *b;
	size_t n;
	char *t, id[64], ts[32];
	uint64_t ms;
	uint8_t u[16];

	CHECK(util_b64_encode((const uint8_t *)"ab", 2, &t) == 0);
	CHECK(!strcmp(t, "YWI="));
	CHECK(util_b64_decode(t, &b, &n) == 0 && n == 2 && !memcmp(b, "ab", 2));
	free(b);
	free(t);
	CHECK_EQ_INT(util_b64_decode("abc", &b, &n), REF_E_MALFORMED);
	CHECK_EQ_INT(util_b64_decode("@@@@", &b, &n), REF_E_MALFORMED);

	CHECK(util_utf8_valid("石狮", strlen("石狮")));
	CHECK(!util_utf8_valid("\xc0\xaf", 2));      /* overlong */
	CHECK(!util_utf8_valid("\xed\xa0\x80", 3));  /* surrogate */
	CHECK(!util_utf8_valid("\xe7\x9f", 2));      /* truncated */
	{
		/* What a log line may not carry: controls, C1, bidi, the
		 * Unicode spaces; Chinese text and U+0020 stay. */
		char line[] = "staff\n2026 info x \xe2\x80\xae|\xc2\x85|"
			      "\xe3\x80\x80|\xef\xbb\xbf|\xff|石狮 ok";
		uint32_t cp;
		util_utf8_scrub(line);
		CHECK(!strcmp(line, "staff?2026 info x ???|??|???|???|?|石狮 ok"));
		CHECK(util_utf8_decode("\xe7\x9f\xb3", 3, &cp) == 3 &&
		      cp == 0x77f3);
		CHECK(util_utf8_decode("\xe7\x9f", 2, &cp) == 0);
		CHECK(util_invisible(0x2066) && util_invisible(0xa0) &&
		      !util_invisible(' ') && !util_invisible(0x77f3));
	}

	CHECK(util_uuid7(u) == 0 && (u[6] >> 4) == 7 && (u[8] >> 6) == 2);
	CHECK(util_referral_id("350581", id, sizeof(id)) == 0);
	CHECK(util_referral_id_valid(id));
	CHECK(!util_referral_id_valid("350581-XYZ"));
	CHECK(!util_node_code_valid("35058"));

	CHECK(util_rfc3339_parse("2026-11-28T00:00:00Z", &ms) == 0);
	CHECK(ms == 1795824000000ULL);
	util_rfc3339(ms + 5, ts);
	CHECK(!strcmp(ts, "2026-11-28T00:00:00.005Z"));
	CHECK_EQ_INT(util_rfc3339_parse("2026-11-28 00:00:00", &ms),
		     REF_E_MALFORMED);
	CHECK_EQ_INT(util_rfc3339_parse("2026-13-28T00:00:00Z", &ms),
		     REF_E_MALFORMED);
}

/* util_random's pool: draws never repeat across its refills, and a forked
 * child does not hand out the bytes its parent is about to. */
static void test_random(void)
{
	uint8_t d[200][12], big[600], a[32], b[32], h[32], hex[65];
	int fds[2];
	pid_t pid;
	bool same = false;

	for (int i = 0; i < 200; i++)
		CHECK(util_random(d[i], sizeof(d[i])) == 0);
	for (int i = 0; i < 200; i++)
		for (int j = i + 1; j < 200; j++)
			same |= !memcmp(d[i], d[j], sizeof(d[i]));
	CHECK(!same);
	CHECK(util_random(big, sizeof(big)) == 0);
	CHECK(memcmp(big, big + 300, 300) != 0);

	CHECK(util_random(a, 1) == 0); /* the pool holds bytes now */
	CHECK(pipe(fds) == 0);
	pid = fork();
	if (pid == 0) {
		uint8_t c[32];
		ssize_t w = -1;
		if (util_random(c, sizeof(c)) == 0)
			w = write(fds[1], c, sizeof(c));
		_exit(w == (ssize_t)sizeof(c) ? 0 : 1);
	}
	CHECK(pid > 0);
	CHECK(util_random(a, sizeof(a)) == 0);
	CHECK(read(fds[0], b, sizeof(b)) == (ssize_t)sizeof(b));
	CHECK(memcmp(a, b, sizeof(a)) != 0);
	close(fds[0]);
	close(fds[1]);
	waitpid(pid, NULL, 0);

	util_sha256((const uint8_t *)"abc", 3, h);
	util_hex(h, sizeof(h), (char *)hex);
	CHECK(!strcmp((char *)hex, "ba7816bf8f01cfea414140de5dae2223"
				   "b00361a396177a9cb410ff61f20015ad"));
}

int main(int argc, char **argv)
{
	char path[4096];
	json_t *vec;

	if (argc < 2)
		return 2;
	snprintf(path, sizeof(path), "%s/wire-v1.json", argv[1]);
	vec = json_load_file(path, 0, NULL);
	CHECK(vec != NULL);
	if (vec)
		test_sm2_vector(vec);
	test_roundtrip(SIGN_ALG_ED25519);
	test_roundtrip(SIGN_ALG_SM2_SM3);
	test_key_files();
	test_util();
	test_random();
	json_decref(vec);
	return test_finish("sign");
}
