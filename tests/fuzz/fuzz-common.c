/* fuzz-common.c: see fuzz.h. The keys are the published test keys of
 * ../shared/vectors/wire-v1.json, kept here as text so a fuzz binary runs
 * from any folder; the SM2 one stands in for an invented third node,
 * 350583, so both signature suites are reached; the authority's signs
 * directories. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/err.h>
#include <openssl/pem.h>

#include "errors.h"
#include "fuzz.h"
#include "sign.h"
#include "util.h"

static const char pem_581[] =
	"-----BEGIN PRIVATE KEY-----\n"
	"MC4CAQAwBQYDK2VwBCIEIJ1hsZ3v/VpguoRK9JLsLMREScVpezJpGXA7rAMcrn9g\n"
	"-----END PRIVATE KEY-----\n";
static const char pem_582[] =
	"-----BEGIN PRIVATE KEY-----\n"
	"MC4CAQAwBQYDK2VwBCIEIEzNCJso/5banbbDRuwRTg9bijGfNaumJNqM9u1PuKb7\n"
	"-----END PRIVATE KEY-----\n";
static const char pem_583[] =
	"-----BEGIN PRIVATE KEY-----\n"
	"MIGHAgEAMBMGByqGSM49AgEGCCqBHM9VAYItBG0wawIBAQQgJJae57vIBQnONHLj\n"
	"Y4yX/OK7+/9NHvjCZH2dcC8dl2ahRANCAAQBFIlMUpNeejvphlypm9WNwqxqtUJX\n"
	"NovIBD9M28wvrJAHeFSn7ip5x/eZ2RbF7mLba9LDWUROLGK7OvF6rp4a\n"
	"-----END PRIVATE KEY-----\n";

static const char pem_authority[] =
	"-----BEGIN PRIVATE KEY-----\n"
	"MC4CAQAwBQYDK2VwBCIEIMWqjfQ/n4N77bdELzHct7Fm04U1B28JS4XOOi4LRFj3\n"
	"-----END PRIVATE KEY-----\n";

static struct {
	const char *node, *key_id, *pem;
	sign_alg_t alg;
	EVP_PKEY *key;
} keys[] = {
	{ "350581", "350581-k1", pem_581, SIGN_ALG_ED25519, NULL },
	{ "350582", "350582-k1", pem_582, SIGN_ALG_ED25519, NULL },
	{ "350583", "350583-k1", pem_583, SIGN_ALG_SM2_SM3, NULL },
	/* No node: the authority signs directories, never envelopes, so
	 * fuzz_lookup skips it. */
	{ "", "authority", pem_authority, SIGN_ALG_ED25519, NULL },
};
#define N_KEYS (sizeof(keys) / sizeof(keys[0]))

void fuzz_fail(const char *why)
{
	fprintf(stderr, "fuzz invariant broken: %s\n", why);
	abort();
}

int fuzz_keys_init(void)
{
	static int done;

	if (done)
		return 0;
	for (size_t i = 0; i < N_KEYS; i++) {
		BIO *b = BIO_new_mem_buf(keys[i].pem, -1);
		uint8_t sig[SIGN_MAX_SIG];
		size_t siglen;

		keys[i].key = b ? PEM_read_bio_PrivateKey(b, NULL, NULL, NULL)
				: NULL;
		BIO_free(b);
		/* Prove the key signs and verifies as its suite before any
		 * input depends on it. */
		if (!keys[i].key || sign_key_alg(keys[i].key) != keys[i].alg ||
		    sign_data(keys[i].key, (const uint8_t *)"k", 1, sig,
			      &siglen) ||
		    sign_verify(keys[i].key, (const uint8_t *)"k", 1, sig,
				siglen)) {
			fprintf(stderr, "fuzz: test key %s does not load\n",
				keys[i].key_id);
			ERR_clear_error();
			return -1;
		}
	}
	done = 1;
	return 0;
}

EVP_PKEY *fuzz_lookup(void *ctx, const char *node, const char *key_id,
		      uint64_t at_ms)
{
	const uint64_t year = 365 * 86400000ULL;

	(void)ctx;
	if (at_ms < FUZZ_T0 - year || at_ms > FUZZ_T0 + year)
		return NULL;
	for (size_t i = 0; i < N_KEYS; i++)
		if (keys[i].node[0] && !strcmp(node, keys[i].node) &&
		    !strcmp(key_id, keys[i].key_id))
			return keys[i].key;
	return NULL;
}

EVP_PKEY *fuzz_authority(void)
{
	return keys[N_KEYS - 1].key;
}

envelope_policy_t fuzz_policy(void)
{
	envelope_policy_t p = {
		.self = FUZZ_SELF, .peer = FUZZ_PEER, .max_bytes = 1 << 20,
		.now_ms = FUZZ_T0 + 1000, .lifetime_ms = 14 * 86400000ULL,
		.future_ms = 300000, .lookup = fuzz_lookup, .lookup_ctx = NULL,
	};
	return p;
}

int fuzz_sign(EVP_PKEY *key, const char *prefix, const uint8_t *data,
	      size_t len, uint8_t **ret_sig, size_t *ret_len)
{
	size_t plen = strlen(prefix) + 1, siglen;
	uint8_t *in = malloc(plen + len), *sig = malloc(SIGN_MAX_SIG);
	int r = -1;

	if (in && sig) {
		memcpy(in, prefix, plen);
		if (len)
			memcpy(in + plen, data, len);
		r = sign_data(key, in, plen + len, sig, &siglen);
	}
	free(in);
	if (r) {
		free(sig);
		return r;
	}
	*ret_sig = sig;
	*ret_len = siglen;
	return 0;
}

char *fuzz_strdup(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	if (!s)
		return NULL;
	if (size)
		memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

bool fuzz_utf8_ok(const ProtobufCMessage *m)
{
	const ProtobufCMessageDescriptor *d = m->descriptor;

	for (unsigned i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];
		const char *base = (const char *)m + f->offset;
		size_t n = 1;
		void *const *vals = (void *const *)base;

		if (f->type != PROTOBUF_C_TYPE_STRING &&
		    f->type != PROTOBUF_C_TYPE_MESSAGE)
			continue;
		if (f->label == PROTOBUF_C_LABEL_REPEATED) {
			n = *(const size_t *)((const char *)m +
					      f->quantifier_offset);
			vals = *(void *const *const *)base;
		}
		for (size_t k = 0; k < n; k++) {
			const void *v = vals[k];
			if (!v)
				continue;
			if (f->type == PROTOBUF_C_TYPE_STRING
			    ? !util_utf8_valid(v, strlen(v))
			    : !fuzz_utf8_ok(v))
				return false;
		}
	}
	return true;
}

void fuzz_check_result(const envelope_check_t *c, int status)
{
	Referral__V1__Receipt *rc;
	uint8_t *body;
	size_t len;

	if (status < 0)
		return; /* -ENOMEM: nothing was decided */
	if (status != c->status || status < 1 ||
	    status > REFERRAL__V1__RECEIPT_STATUS__REFUSED)
		fuzz_fail("envelope_verify returned a status it did not record");
	if (!memchr(c->detail, 0, sizeof(c->detail)) ||
	    !util_utf8_valid(c->detail, strlen(c->detail)))
		fuzz_fail("the check's detail is not a valid UTF-8 string");
	if (status != REFERRAL__V1__RECEIPT_STATUS__STORED && !c->detail[0])
		fuzz_fail("a refused envelope has no detail");
	if (envelope_receipt_body(c, FUZZ_T0, status, c->detail, &body, &len))
		return;
	/* What a node answers must parse as a Receipt at the other end. */
	rc = referral__v1__receipt__unpack(NULL, len, body);
	free(body);
	if (!rc)
		fuzz_fail("the receipt body does not parse");
	if ((int)rc->status != status || rc->envelope_sha256.len != 32 ||
	    (rc->msg_id.len != 0 && rc->msg_id.len != 16) ||
	    !fuzz_utf8_ok(&rc->base))
		fuzz_fail("the receipt does not say what was checked");
	referral__v1__receipt__free_unpacked(rc, NULL);
}
