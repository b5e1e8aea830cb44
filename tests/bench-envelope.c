/* bench-envelope.c: how many envelopes a node can build and sign, and
 * verify, per second, for each signature suite. Prints figures; asserts
 * nothing (machines here are noisy). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "application.h"
#include "envelope.h"
#include "sign.h"
#include "util.h"

static EVP_PKEY *the_key;

static EVP_PKEY *lookup(void *ctx, const char *node, const char *key_id,
			uint64_t at)
{
	(void)ctx; (void)node; (void)key_id; (void)at;
	return the_key;
}

static void run(sign_alg_t alg, const uint8_t *body, size_t blen, int n)
{
	envelope_signer_t s = { "350581", "350581-k1", NULL };
	envelope_fields_t f = { .to_node = "350582",
				.kind = REFERRAL__V1__KIND__REFERRAL_SUBMIT,
				.referral_id = "350581-019ac9e0d3ff7a3b8c1d2e3f40516274",
				.referral_seq = 1 };
	envelope_policy_t p = { .self = "350582", .peer = "350581",
				.max_bytes = 1 << 24, .lifetime_ms = 86400000,
				.future_ms = 300000, .lookup = lookup };
	uint8_t *env = NULL;
	size_t elen = 0;
	uint64_t t0, t1;

	sign_key_generate(alg, &the_key);
	s.key = the_key;
	t0 = util_mono_ms();
	for (int i = 0; i < n; i++) {
		free(env);
		envelope_build(&s, &f, body, blen, &env, &elen, NULL);
	}
	t1 = util_mono_ms();
	printf("%-8s build+sign: %8.0f envelopes/s (%zu bytes each)\n",
	       sign_alg_name(alg), n * 1000.0 / (double)(t1 - t0 + 1), elen);
	p.now_ms = util_now_ms();
	t0 = util_mono_ms();
	for (int i = 0; i < n; i++) {
		envelope_check_t c;
		if (envelope_verify(&p, env, elen, &c) != 1) {
			fprintf(stderr, "verify failed: %s\n", c.detail);
			exit(1);
		}
		envelope_check_free(&c);
	}
	t1 = util_mono_ms();
	printf("%-8s verify:     %8.0f envelopes/s\n", sign_alg_name(alg),
	       n * 1000.0 / (double)(t1 - t0 + 1));
	free(env);
	EVP_PKEY_free(the_key);
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 2000;
	application_limits_t lim = { 1 << 24, 100, NULL };
	const char *ex = application_example();
	uint8_t *body;
	size_t blen;
	char err[200];

	if (application_from_json(ex, strlen(ex), &lim, &body, &blen, err,
				  sizeof(err))) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	run(SIGN_ALG_ED25519, body, blen, n);
	run(SIGN_ALG_SM2_SM3, body, blen, n / 4);
	free(body);
	return 0;
}
