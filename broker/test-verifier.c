/* test-verifier.c: envelopes checked on the crypto threads get the same
 * answer, reason and detail as envelopes checked one by one on the loop,
 * whatever the number of threads and however the runs fall: batches of
 * good envelopes, a tampered path, root signature and count, a sender
 * that is not the connection's, bytes that do not parse, and a single
 * form; two batches started before either is waited for. The root cache
 * the threads share with the loop never lets a changed root signature
 * through, also after the batch's root was entered in it. With real
 * keys, real OpenSSL and real inproc ZeroMQ sockets. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "../proto/testutil.h"
#include "envelope.h"
#include "errors.h"
#include "sign.h"
#include "util.h"
#include "verifier.h"

#define N_JOBS 128

static EVP_PKEY *key;
static uint64_t t0;

static EVP_PKEY *lookup(void *ctx, const char *node, const char *key_id,
			uint64_t at)
{
	(void)ctx;
	(void)at;
	return !strcmp(node, "350581") && !strcmp(key_id, "350581-k1") ? key
									: NULL;
}

static envelope_policy_t policy(const char *peer, envelope_roots_t *roots)
{
	envelope_policy_t p = {
		.self = "350582", .peer = peer, .max_bytes = 1 << 20,
		.now_ms = t0 + 1000, .lifetime_ms = 14 * 86400000ULL,
		.future_ms = 300000, .lookup = lookup, .roots = roots,
	};
	return p;
}

/* n envelopes from 350581, sealed together (the single form for 1). */
static void seal(size_t n, uint8_t **out, size_t *len)
{
	envelope_signer_t s = { "350581", "350581-k1", key };
	envelope_draft_t d[64];
	const envelope_draft_t *dp[64];
	static const uint8_t body[] = { 0x0a, 0x03, 'a', 'b', 'c' };

	for (size_t i = 0; i < n; i++) {
		envelope_fields_t f = {
			.to_node = "350582",
			.kind = REFERRAL__V1__KIND__RECEIPT,
			.created_at_ms = t0,
		};
		CHECK(envelope_draft(&s, &f, body, sizeof(body), &d[i]) == 0);
		dp[i] = &d[i];
	}
	CHECK(envelope_seal(&s, dp, n, out, len) == 0);
	for (size_t i = 0; i < n; i++)
		envelope_draft_free(&d[i]);
}

/* buf with its BatchProof changed by what: 'p' a path hash, 's' the root
 * signature, 'c' the count. A new buffer. */
static uint8_t *tamper(const uint8_t *buf, size_t len, char what,
		       size_t *ret_len)
{
	Referral__V1__Envelope *e = referral__v1__envelope__unpack(NULL, len, buf);
	uint8_t *out = NULL;

	CHECK(e && e->batch);
	if (!e || !e->batch)
		return NULL;
	if (what == 'p')
		e->batch->path[0].data[3] ^= 0x40;
	else if (what == 's')
		e->batch->root_signature.data[10] ^= 0x01;
	else
		e->batch->count++;
	*ret_len = referral__v1__envelope__get_packed_size(e);
	out = malloc(*ret_len);
	referral__v1__envelope__pack(e, out);
	referral__v1__envelope__free_unpacked(e, NULL);
	return out;
}

static uint8_t *bufs[N_JOBS];
static size_t lens[N_JOBS];
static const char *peers[N_JOBS];
static int want[N_JOBS];
static char want_detail[N_JOBS][200];
static size_t expect_stored = 123;

/* The jobs: batches of 50, 30 and 40 (the last with each kind of
 * tampering), a single form, a message from the wrong sender and bytes
 * that do not parse; what each must get, checked alone with no cache. */
static void make_jobs(void)
{
	size_t k = 0, sizes[] = { 50, 30, 40, 1 };

	for (size_t b = 0; b < 4; b++) {
		seal(sizes[b], bufs + k, lens + k);
		for (size_t i = 0; i < sizes[b]; i++)
			peers[k + i] = "350581";
		k += sizes[b];
	}
	for (size_t i = 82, j = 0; j < 3; i += 9, j++) {
		size_t nl = 0;
		uint8_t *t = tamper(bufs[i], lens[i], "psc"[j], &nl);

		free(bufs[i]);
		bufs[i] = t;
		lens[i] = nl;
	}
	peers[110] = "350583";
	bufs[k] = (uint8_t *)strdup("not an envelope");
	lens[k] = 15;
	peers[k++] = "350581";
	for (; k < N_JOBS; k++) {
		bufs[k] = malloc(lens[k - 122]);
		memcpy(bufs[k], bufs[k - 122], lens[k - 122]);
		lens[k] = lens[k - 122];
		peers[k] = "350581";
	}
	for (size_t i = 0; i < N_JOBS; i++) {
		envelope_policy_t p = policy(peers[i], NULL);
		envelope_check_t c;

		want[i] = envelope_verify(&p, bufs[i], lens[i], &c);
		snprintf(want_detail[i], sizeof(want_detail[i]), "%s", c.detail);
		envelope_check_free(&c);
	}
	CHECK_EQ_INT(want[0], REFERRAL__V1__RECEIPT_STATUS__STORED);
	CHECK_EQ_INT(want[82], REFERRAL__V1__RECEIPT_STATUS__BAD_SIGNATURE);
	CHECK_EQ_INT(want[91], REFERRAL__V1__RECEIPT_STATUS__BAD_SIGNATURE);
	CHECK_EQ_INT(want[100], REFERRAL__V1__RECEIPT_STATUS__BAD_SIGNATURE);
	CHECK_EQ_INT(want[110], REFERRAL__V1__RECEIPT_STATUS__SENDER_MISMATCH);
	CHECK_EQ_INT(want[120], REFERRAL__V1__RECEIPT_STATUS__STORED);
	CHECK_EQ_INT(want[121], REFERRAL__V1__RECEIPT_STATUS__MALFORMED);
}

/* The first n jobs through v (loop cache roots), each answer compared. */
static void run_and_compare(verifier_t *v, size_t n, envelope_roots_t *roots)
{
	verifier_job_t *jobs = calloc(n, sizeof(*jobs));
	size_t stored = 0;

	for (size_t i = 0; i < n; i++) {
		jobs[i].pol = policy(peers[i], roots);
		jobs[i].buf = bufs[i];
		jobs[i].len = lens[i];
		jobs[i].st = -1;
	}
	{
		verifier_batch_t b;

		verifier_start(v, &b, jobs, n);
		verifier_wait(v, &b);
	}
	for (size_t i = 0; i < n; i++) {
		CHECK_EQ_INT(jobs[i].st, want[i]);
		CHECK(!strcmp(jobs[i].c.detail, want_detail[i]));
		if (jobs[i].st == REFERRAL__V1__RECEIPT_STATUS__STORED) {
			stored++;
			CHECK(jobs[i].c.hdr && jobs[i].c.hdr->msg_id.len == 16);
		}
		envelope_check_free(&jobs[i].c);
	}
	/* Of 128: three tampered, one from the wrong sender and one that
	 * does not parse; the rest (six of them copies) stored. */
	if (n == N_JOBS)
		CHECK_EQ_INT(stored, expect_stored);
	free(jobs);
}

/* Two batches started before either is waited for (a turn's peer
 * messages and its receipts), the second made of the jobs after the
 * first: both answered as when checked alone. */
static void two_batches(verifier_t *v, envelope_roots_t *roots)
{
	verifier_job_t *jobs = calloc(N_JOBS, sizeof(*jobs));
	verifier_batch_t a, b;

	for (size_t i = 0; i < N_JOBS; i++) {
		jobs[i].pol = policy(peers[i], roots);
		jobs[i].buf = bufs[i];
		jobs[i].len = lens[i];
		jobs[i].st = -1;
	}
	verifier_start(v, &a, jobs, 70);
	verifier_start(v, &b, jobs + 70, N_JOBS - 70);
	verifier_wait(v, &a);
	verifier_wait(v, &b);
	for (size_t i = 0; i < N_JOBS; i++) {
		CHECK_EQ_INT(jobs[i].st, want[i]);
		CHECK(!strcmp(jobs[i].c.detail, want_detail[i]));
		envelope_check_free(&jobs[i].c);
	}
	free(jobs);
}

int main(void)
{
	void *ctx = zmq_ctx_new();
	unsigned counts[] = { 0, 1, 3, 16 };

	t0 = util_now_ms();
	{
		verifier_t *v = NULL;

		/* More than [limits] crypto_threads allows. */
		CHECK_EQ_INT(verifier_new(ctx, VERIFIER_MAX_THREADS + 1, NULL,
					  &v), REF_E_INVALID);
		CHECK(v == NULL);
	}
	CHECK(sign_key_generate(SIGN_ALG_ED25519, &key) == 0);
	make_jobs();
	for (size_t t = 0; t < sizeof(counts) / sizeof(counts[0]); t++) {
		verifier_t *v = NULL;
		envelope_roots_t roots = { 0 };

		CHECK(verifier_new(ctx, counts[t], &roots, &v) == 0);
		CHECK(counts[t] == 0 || roots.lock != NULL);
		CHECK_EQ_INT(verifier_threads(v), counts[t]);
		/* Every split: too few to hand over, then more and more. */
		for (size_t n = 1; n <= N_JOBS; n += n < 20 ? 1 : 27)
			run_and_compare(v, n, &roots);
		run_and_compare(v, N_JOBS, &roots);
		/* With every root now in the shared cache: a changed root
		 * signature is still refused, by whichever thread checks it. */
		for (size_t i = 0; i < 50; i += 7) {
			size_t nl = 0;
			uint8_t *t2 = tamper(bufs[i], lens[i], 's', &nl);
			uint8_t *keep = bufs[i];
			size_t keep_len = lens[i];

			bufs[i] = t2;
			lens[i] = nl;
			want[i] = REFERRAL__V1__RECEIPT_STATUS__BAD_SIGNATURE;
			expect_stored = 122;
			snprintf(want_detail[i], sizeof(want_detail[i]),
				 "batch root signature does not verify");
			run_and_compare(v, N_JOBS, &roots);
			free(t2);
			bufs[i] = keep;
			lens[i] = keep_len;
			want[i] = REFERRAL__V1__RECEIPT_STATUS__STORED;
			want_detail[i][0] = '\0';
			expect_stored = 123;
		}
		two_batches(v, &roots);
		envelope_roots_clear(&roots);
		run_and_compare(v, N_JOBS, &roots);
		/* With no cache at all: every root verified. */
		run_and_compare(v, N_JOBS, NULL);
		verifier_free(&v);
		CHECK(v == NULL);
		CHECK(roots.lock == NULL);
	}
	for (size_t i = 0; i < N_JOBS; i++)
		free(bufs[i]);
	EVP_PKEY_free(key);
	zmq_ctx_term(ctx);
	return test_finish("verifier");
}
