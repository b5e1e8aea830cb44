/* fuzz-envelope.c: envelope_verify and envelope_verify_archived on
 * envelopes from outside.
 *
 * Input: one flags byte, then envelope bytes. A fuzzer cannot forge a
 * signature or a SHA-256, so with raw bytes alone it would never get past
 * the signature check; the flags let the harness repair what a sender
 * with the key would have got right, and so reach the digest, freshness
 * and body checks with everything else as the fuzzer made it:
 *   0x01  set the header's body_digest to the body's (header re-packed)
 *   0x02  sign: the header (signature), or for an envelope with a batch
 *         proof and no signature, the root its path leads to, with the key
 *         the verifier will look up
 *   0x04  no peer identity on the connection
 *   0x08  a 64-byte size limit
 * Without 0x01 and 0x02 the bytes go to the verifier exactly as given.
 *
 * Invariants checked: the status returned is the one recorded, its detail
 * is valid UTF-8 and the receipt for it parses (fuzz_check_result); an
 * envelope the live check stores also passes the archived check, which
 * judges addressing and freshness by the envelope's own header. */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "sign.h"

enum { FIX_DIGEST = 1, FIX_SIG = 2, NO_PEER = 4, SMALL = 8 };

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	if (fuzz_keys_init())
		abort();
	return 0;
}

/* Re-packs the header with the body's digest under the suite of the key
 * the verifier will use. *hbuf is replaced (malloc'd). */
static void fix_digest(uint8_t **hbuf, size_t *hlen, const uint8_t *body,
		       size_t blen)
{
	Referral__V1__Header *h = referral__v1__header__unpack(NULL, *hlen,
							       *hbuf);
	EVP_PKEY *key;
	uint8_t digest[32], *keep, *out;
	size_t n;

	if (!h)
		return;
	key = fuzz_lookup(NULL, h->from_node, h->key_id, h->created_at_ms);
	if (sign_digest(key ? sign_key_alg(key) : SIGN_ALG_ED25519, body, blen,
			digest)) {
		referral__v1__header__free_unpacked(h, NULL);
		return;
	}
	/* free_unpacked frees what the field points at: lend it ours only
	 * while packing. */
	keep = h->body_digest.data;
	h->body_digest.data = digest;
	h->body_digest.len = 32;
	n = referral__v1__header__get_packed_size(h);
	out = malloc(n ? n : 1);
	if (out) {
		referral__v1__header__pack(h, out);
		free(*hbuf);
		*hbuf = out;
		*hlen = n;
	}
	h->body_digest.data = keep;
	referral__v1__header__free_unpacked(h, NULL);
}

/* The envelope as a sender holding the keys would have sent it; NULL if
 * the bytes are not an envelope at all (then they go as they are). */
static uint8_t *repair(unsigned flags, const uint8_t *data, size_t size,
		       size_t *ret_len)
{
	Referral__V1__Envelope *env = referral__v1__envelope__unpack(NULL, size,
								     data);
	Referral__V1__Envelope out;
	Referral__V1__BatchProof batch;
	Referral__V1__Header *h = NULL;
	uint8_t *hbuf, *sig = NULL, *buf = NULL;
	size_t hlen, siglen = 0, n;

	if (!env)
		return NULL;
	out = *env;
	hlen = env->header.len;
	hbuf = malloc(hlen ? hlen : 1);
	if (!hbuf)
		goto done;
	if (hlen)
		memcpy(hbuf, env->header.data, hlen);
	if (flags & FIX_DIGEST)
		fix_digest(&hbuf, &hlen, env->body.data, env->body.len);
	out.header.data = hbuf;
	out.header.len = hlen;
	if ((flags & FIX_SIG) &&
	    (h = referral__v1__header__unpack(NULL, hlen, hbuf))) {
		if (env->signature.len == 0 && env->batch) {
			uint8_t root[32 + 4];
			uint32_t count = env->batch->count;
			size_t *plen = calloc(env->batch->n_path + 1,
					      sizeof(*plen));
			uint8_t **path = calloc(env->batch->n_path + 1,
						sizeof(*path));
			EVP_PKEY *key = fuzz_lookup(NULL, h->from_node,
						    env->batch->key_id,
						    h->created_at_ms);

			for (size_t i = 0; plen && path &&
			     i < env->batch->n_path; i++) {
				plen[i] = env->batch->path[i].len;
				path[i] = env->batch->path[i].data;
			}
			root[32] = (uint8_t)(count >> 24);
			root[33] = (uint8_t)(count >> 16);
			root[34] = (uint8_t)(count >> 8);
			root[35] = (uint8_t)count;
			batch = *env->batch;
			if (key && plen && path &&
			    !envelope_batch_root(hbuf, hlen, batch.index, count,
						 path, plen, batch.n_path,
						 root) &&
			    !fuzz_sign(key, ENVELOPE_BATCH_PREFIX, root,
				       sizeof(root), &sig, &siglen)) {
				batch.root_signature.data = sig;
				batch.root_signature.len = siglen;
				out.batch = &batch;
			}
			free(plen);
			free(path);
		} else {
			EVP_PKEY *key = fuzz_lookup(NULL, h->from_node,
						    h->key_id,
						    h->created_at_ms);
			if (key && !fuzz_sign(key, ENVELOPE_SIGN_PREFIX, hbuf,
					      hlen, &sig, &siglen)) {
				out.signature.data = sig;
				out.signature.len = siglen;
			}
		}
	}
	n = referral__v1__envelope__get_packed_size(&out);
	buf = malloc(n ? n : 1);
	if (buf) {
		referral__v1__envelope__pack(&out, buf);
		*ret_len = n;
	}
done:
	if (h)
		referral__v1__header__free_unpacked(h, NULL);
	free(sig);
	free(hbuf);
	referral__v1__envelope__free_unpacked(env, NULL);
	return buf;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	envelope_policy_t pol = fuzz_policy();
	envelope_check_t c, a;
	uint8_t *fixed = NULL;
	const uint8_t *buf;
	size_t len = 0;
	unsigned flags;
	int r, ra;

	if (size < 1)
		return 0;
	flags = data[0];
	if (flags & (FIX_DIGEST | FIX_SIG))
		fixed = repair(flags, data + 1, size - 1, &len);
	buf = fixed ? fixed : data + 1;
	if (!fixed)
		len = size - 1;
	if (flags & NO_PEER)
		pol.peer = NULL;
	if (flags & SMALL)
		pol.max_bytes = 64;

	r = envelope_verify(&pol, buf, len, &c);
	fuzz_check_result(&c, r);
	if (c.hdr) {
		envelope_kind_name(c.hdr->kind);
		envelope_status_name(r);
	}
	envelope_check_free(&c);
	envelope_check_free(&c); /* safe twice, as CLASS promises */

	ra = envelope_verify_archived(fuzz_lookup, NULL, buf, len, &a);
	fuzz_check_result(&a, ra);
	envelope_check_free(&a);
	if (r == REFERRAL__V1__RECEIPT_STATUS__STORED &&
	    ra != REFERRAL__V1__RECEIPT_STATUS__STORED)
		fuzz_fail("stored when it arrived, rejected when archived");
	free(fixed);
	return 0;
}
