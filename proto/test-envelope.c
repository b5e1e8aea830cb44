/* test-envelope.c: envelope build, parse, sign and verify against
 * ../shared/vectors/wire-v1.json, and one check per rejection reason. */
#include <string.h>
#include <jansson.h>
#include <openssl/pem.h>
#include <openssl/sha.h>

#include "envelope.h"
#include "pblimits.h"
#include "errors.h"
#include "sign.h"
#include "testutil.h"
#include "util.h"

static json_t *vec;
static EVP_PKEY *k581, *k582, *k581_pub, *k582_pub;
static uint64_t t0; /* the vector's created_at_ms */

static EVP_PKEY *pem_priv(const char *pem)
{
	BIO *b = BIO_new_mem_buf(pem, -1);
	EVP_PKEY *k = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL);
	BIO_free(b);
	return k;
}

static EVP_PKEY *lookup(void *ctx, const char *node, const char *key_id,
			uint64_t at)
{
	(void)ctx;
	/* A validity window around the vector's time, to test UNKNOWN_KEY for
	 * a key used outside it. */
	if (at < t0 - 86400000ULL * 365 || at > t0 + 86400000ULL * 365)
		return NULL;
	if (!strcmp(node, "350581") && !strcmp(key_id, "350581-k1"))
		return k581_pub;
	if (!strcmp(node, "350582") && !strcmp(key_id, "350582-k1"))
		return k582_pub;
	return NULL;
}

static const char *vs(const char *path1, const char *path2)
{
	return json_string_value(json_object_get(json_object_get(vec, path1),
						 path2));
}

static envelope_policy_t policy(const char *self, const char *peer)
{
	envelope_policy_t p = {
		.self = self, .peer = peer, .max_bytes = 1 << 20,
		.now_ms = t0 + 1000, .lifetime_ms = 14 * 86400000ULL,
		.future_ms = 300000, .lookup = lookup,
	};
	return p;
}

/* Packs h (then extra, raw protobuf bytes), signs it with key as a sender
 * would, and wraps body. */
static uint8_t *raw_envelope_extra(Referral__V1__Header *h, const uint8_t *extra,
				   size_t xl, const uint8_t *body, size_t blen,
				   EVP_PKEY *key, size_t *ret_len)
{
	Referral__V1__Envelope e = REFERRAL__V1__ENVELOPE__INIT;
	size_t hl = referral__v1__header__get_packed_size(h) + xl, sl;
	uint8_t *hb = malloc(hl), *in = malloc(hl + 21), sig[SIGN_MAX_SIG];
	uint8_t *out;

	referral__v1__header__pack(h, hb);
	if (xl)
		memcpy(hb + hl - xl, extra, xl);
	memcpy(in, "referral.v1/envelope", 21);
	memcpy(in + 21, hb, hl);
	CHECK(sign_data(key, in, hl + 21, sig, &sl) == 0);
	e.header.data = hb;
	e.header.len = hl;
	e.body.data = (uint8_t *)body;
	e.body.len = blen;
	e.signature.data = sig;
	e.signature.len = sl;
	*ret_len = referral__v1__envelope__get_packed_size(&e);
	out = malloc(*ret_len);
	referral__v1__envelope__pack(&e, out);
	free(hb);
	free(in);
	return out;
}

static uint8_t *raw_envelope(Referral__V1__Header *h, const uint8_t *body,
			     size_t blen, EVP_PKEY *key, size_t *ret_len)
{
	return raw_envelope_extra(h, NULL, 0, body, blen, key, ret_len);
}

static uint8_t body[] = { 0x0a, 0x05, 'h', 'e', 'l', 'l', 'o' };
static uint8_t digest[32], msgid[16];

static void good_header(Referral__V1__Header *h)
{
	Referral__V1__Header init = REFERRAL__V1__HEADER__INIT;

	*h = init;
	h->version = 1;
	h->msg_id.data = msgid;
	h->msg_id.len = 16;
	h->from_node = "350581";
	h->to_node = "350582";
	h->created_at_ms = t0;
	h->kind = REFERRAL__V1__KIND__REFERRAL_SUBMIT;
	h->body_digest.data = digest;
	h->body_digest.len = 32;
	h->key_id = "350581-k1";
	h->referral_id = "350581-019ac9e0d3ff7a3b8c1d2e3f40516274";
	h->referral_seq = 1;
}

static int verify_header(Referral__V1__Header *h, envelope_policy_t p)
{
	envelope_check_t c;
	size_t n;
	uint8_t *e = raw_envelope(h, body, sizeof(body), k581, &n);
	int st = envelope_verify(&p, e, n, &c);

	envelope_check_free(&c);
	free(e);
	return st;
}

static void test_vector_build(void)
{
	envelope_signer_t s = { "350581", "350581-k1", k581 };
	envelope_fields_t f = {
		.to_node = "350582", .kind = REFERRAL__V1__KIND__REFERRAL_SUBMIT,
		.referral_id = "350581-019ac9e0d3ff7a3b8c1d2e3f40516274",
		.referral_seq = 1, .created_at_ms = t0, .msg_id = msgid,
	};
	uint8_t *buf, *want, id[16];
	size_t len, wlen;

	CHECK(envelope_build(&s, &f, body, sizeof(body), &buf, &len, id) == 0);
	CHECK(util_unhex_alloc(vs("envelope", "envelope_hex"), &want, &wlen) == 0);
	/* Ed25519 is deterministic: our bytes must equal the vector's. */
	CHECK_EQ_INT(len, wlen);
	CHECK(len == wlen && memcmp(buf, want, len) == 0);
	CHECK(memcmp(id, msgid, 16) == 0);
	free(buf);
	free(want);
}

static void test_vector_verify(void)
{
	envelope_policy_t p = policy("350582", "350581");
	envelope_check_t c;
	uint8_t *env, sha[32];
	size_t len;

	CHECK(util_unhex_alloc(vs("envelope", "envelope_hex"), &env, &len) == 0);
	CHECK_EQ_INT(envelope_verify(&p, env, len, &c),
		     REFERRAL__V1__RECEIPT_STATUS__STORED);
	CHECK(util_unhex(vs("envelope", "envelope_sha256_hex"), sha, 32) == 0);
	CHECK(memcmp(c.sha256, sha, 32) == 0);
	CHECK(c.hdr && !strcmp(c.hdr->referral_id,
			       "350581-019ac9e0d3ff7a3b8c1d2e3f40516274"));
	envelope_check_free(&c);

	/* The vector is a year old: with the real lifetime it is STALE. */
	p.now_ms = t0 + 365 * 86400000ULL;
	CHECK_EQ_INT(envelope_verify(&p, env, len, &c),
		     REFERRAL__V1__RECEIPT_STATUS__STALE);
	envelope_check_free(&c);

	/* An auditor's check years later: freshness is judged at the
	 * envelope's own time, the signature is not. */
	CHECK_EQ_INT(envelope_verify_archived(lookup, NULL, env, len, &c),
		     REFERRAL__V1__RECEIPT_STATUS__STORED);
	envelope_check_free(&c);
	env[len - 3] ^= 1; /* inside the signature, the envelope's last field */
	CHECK_EQ_INT(envelope_verify_archived(lookup, NULL, env, len, &c),
		     REFERRAL__V1__RECEIPT_STATUS__BAD_SIGNATURE);
	envelope_check_free(&c);
	CHECK_EQ_INT(envelope_verify_archived(lookup, NULL, env, 5, &c),
		     REFERRAL__V1__RECEIPT_STATUS__MALFORMED);
	envelope_check_free(&c);
	free(env);
}

static void test_vector_receipt(void)
{
	envelope_policy_t p = policy("350581", "350582");
	envelope_check_t c;
	Referral__V1__Receipt *rc;
	uint8_t *env, sha[32], *body_want;
	size_t len, blen;

	CHECK(util_unhex_alloc(vs("receipt", "envelope_hex"), &env, &len) == 0);
	CHECK_EQ_INT(envelope_verify(&p, env, len, &c),
		     REFERRAL__V1__RECEIPT_STATUS__STORED);
	CHECK(c.hdr && c.hdr->kind == REFERRAL__V1__KIND__RECEIPT);
	rc = referral__v1__receipt__unpack(NULL, c.env->body.len,
					   c.env->body.data);
	CHECK(rc != NULL);
	if (rc) {
		CHECK_EQ_INT(rc->status, REFERRAL__V1__RECEIPT_STATUS__STORED);
		CHECK(rc->msg_id.len == 16 && !memcmp(rc->msg_id.data, msgid, 16));
		util_unhex(vs("envelope", "envelope_sha256_hex"), sha, 32);
		CHECK(rc->envelope_sha256.len == 32 &&
		      !memcmp(rc->envelope_sha256.data, sha, 32));
		referral__v1__receipt__free_unpacked(rc, NULL);
	}
	/* Our receipt body for the same check equals the vector's. */
	{
		envelope_policy_t p2 = policy("350582", "350581");
		envelope_check_t c2;
		uint8_t *e2, *rb;
		size_t l2, rl;

		util_unhex_alloc(vs("envelope", "envelope_hex"), &e2, &l2);
		envelope_verify(&p2, e2, l2, &c2);
		CHECK(envelope_receipt_body(&c2, rc ? 0 : 0, 1, "stored", &rb,
					    &rl) == 0);
		util_unhex_alloc(vs("receipt", "body_hex"), &body_want, &blen);
		{
			Referral__V1__Receipt *w = referral__v1__receipt__unpack(
				NULL, blen, body_want);
			uint8_t *rb2;
			size_t rl2;
			envelope_receipt_body(&c2, w->received_at_ms, 1,
					      "stored", &rb2, &rl2);
			CHECK(rl2 == blen && !memcmp(rb2, body_want, blen));
			referral__v1__receipt__free_unpacked(w, NULL);
			free(rb2);
		}
		free(rb);
		free(body_want);
		free(e2);
		envelope_check_free(&c2);
	}
	envelope_check_free(&c);
	free(env);
}

static void test_vector_rejects(void)
{
	json_t *arr = json_object_get(vec, "must_reject"), *it;
	size_t i;

	CHECK(json_array_size(arr) >= 3);
	json_array_foreach(arr, i, it) {
		envelope_policy_t p = policy("350582", "350581");
		envelope_check_t c;
		uint8_t *env;
		size_t len;
		const char *expect = json_string_value(json_object_get(it, "expect"));
		int st;

		CHECK(util_unhex_alloc(json_string_value(json_object_get(
					       it, "envelope_hex")),
				       &env, &len) == 0);
		st = envelope_verify(&p, env, len, &c);
		if (strcmp(envelope_status_name(st), expect) != 0)
			fprintf(stderr, "case '%s': got %s, expected %s\n",
				json_string_value(json_object_get(it, "case")),
				envelope_status_name(st), expect);
		CHECK(strcmp(envelope_status_name(st), expect) == 0);
		CHECK(c.detail[0] != '\0');
		envelope_check_free(&c);
		free(env);
	}
}

static void test_each_reason(void)
{
	Referral__V1__Header h;
	envelope_policy_t p = policy("350582", "350581");
	envelope_check_t c;
	uint8_t *e, bad_id[8] = { 0 };
	size_t n;

	good_header(&h);
	CHECK_EQ_INT(verify_header(&h, p), REFERRAL__V1__RECEIPT_STATUS__STORED);

	/* UNSUPPORTED_VERSION */
	good_header(&h);
	h.version = 2;
	CHECK_EQ_INT(verify_header(&h, p),
		     REFERRAL__V1__RECEIPT_STATUS__UNSUPPORTED_VERSION);
	/* SENDER_MISMATCH: the connection is 350581, the header claims 350583 */
	good_header(&h);
	h.from_node = "350583";
	CHECK_EQ_INT(verify_header(&h, p),
		     REFERRAL__V1__RECEIPT_STATUS__SENDER_MISMATCH);
	/* NOT_FOR_ME */
	good_header(&h);
	h.to_node = "350583";
	CHECK_EQ_INT(verify_header(&h, p),
		     REFERRAL__V1__RECEIPT_STATUS__NOT_FOR_ME);
	/* UNKNOWN_KEY: no such key id, and a known key outside its window */
	good_header(&h);
	h.key_id = "350581-k9";
	CHECK_EQ_INT(verify_header(&h, p),
		     REFERRAL__V1__RECEIPT_STATUS__UNKNOWN_KEY);
	good_header(&h);
	h.created_at_ms = t0 - 400 * 86400000ULL;
	CHECK_EQ_INT(verify_header(&h, p),
		     REFERRAL__V1__RECEIPT_STATUS__UNKNOWN_KEY);
	/* BAD_SIGNATURE: signed by another node's key */
	good_header(&h);
	{
		uint8_t *e2 = raw_envelope(&h, body, sizeof(body), k582, &n);
		CHECK_EQ_INT(envelope_verify(&p, e2, n, &c),
			     REFERRAL__V1__RECEIPT_STATUS__BAD_SIGNATURE);
		envelope_check_free(&c);
		free(e2);
	}
	/* BAD_DIGEST */
	good_header(&h);
	{
		uint8_t other[32] = { 1 };
		h.body_digest.data = other;
		CHECK_EQ_INT(verify_header(&h, p),
			     REFERRAL__V1__RECEIPT_STATUS__BAD_DIGEST);
	}
	/* STALE: too old, and too far in the future */
	good_header(&h);
	{
		envelope_policy_t q = p;
		q.now_ms = t0 + 15 * 86400000ULL;
		CHECK_EQ_INT(verify_header(&h, q),
			     REFERRAL__V1__RECEIPT_STATUS__STALE);
		q.now_ms = t0 - 600000;
		CHECK_EQ_INT(verify_header(&h, q),
			     REFERRAL__V1__RECEIPT_STATUS__STALE);
		q.now_ms = t0 - 200000; /* within 5 minutes ahead: fine */
		CHECK_EQ_INT(verify_header(&h, q),
			     REFERRAL__V1__RECEIPT_STATUS__STORED);
	}
	/* MALFORMED: msg_id length, bad UTF-8, unknown kind, garbage, body */
	good_header(&h);
	h.msg_id.data = bad_id;
	h.msg_id.len = 8;
	CHECK_EQ_INT(verify_header(&h, p), REFERRAL__V1__RECEIPT_STATUS__MALFORMED);
	good_header(&h);
	h.referral_id = "\xff\xfe";
	CHECK_EQ_INT(verify_header(&h, p), REFERRAL__V1__RECEIPT_STATUS__MALFORMED);
	good_header(&h);
	h.kind = 77;
	CHECK_EQ_INT(verify_header(&h, p), REFERRAL__V1__RECEIPT_STATUS__MALFORMED);
	{
		uint8_t junk[] = { 0xff, 0xff, 0xff, 0x01, 0x02 };
		CHECK_EQ_INT(envelope_verify(&p, junk, sizeof(junk), &c),
			     REFERRAL__V1__RECEIPT_STATUS__MALFORMED);
		CHECK(c.hdr == NULL);
		envelope_check_free(&c);
	}
	good_header(&h);
	{
		/* A body that is not a ReferralSubmit: a field 1 of wire type
		 * varint where a message is expected. */
		uint8_t bad_body[] = { 0x08, 0x01 };
		uint8_t *e2;
		sign_digest(SIGN_ALG_ED25519, bad_body, 2, digest);
		e2 = raw_envelope(&h, bad_body, 2, k581, &n);
		CHECK_EQ_INT(envelope_verify(&p, e2, n, &c),
			     REFERRAL__V1__RECEIPT_STATUS__MALFORMED);
		envelope_check_free(&c);
		free(e2);
		sign_digest(SIGN_ALG_ED25519, body, sizeof(body), digest);
	}
	/* Unknown envelope field (15, varint) appended to a good envelope */
	good_header(&h);
	e = raw_envelope(&h, body, sizeof(body), k581, &n);
	{
		uint8_t *e2 = malloc(n + 2);
		memcpy(e2, e, n);
		e2[n] = 0x78;
		e2[n + 1] = 0x01;
		CHECK_EQ_INT(envelope_verify(&p, e2, n + 2, &c),
			     REFERRAL__V1__RECEIPT_STATUS__MALFORMED);
		envelope_check_free(&c);
		free(e2);
	}
	/* REFUSED: over the size limit, checked before anything is parsed */
	{
		envelope_policy_t q = p;
		q.max_bytes = n - 1;
		CHECK_EQ_INT(envelope_verify(&q, e, n, &c),
			     REFERRAL__V1__RECEIPT_STATUS__REFUSED);
		CHECK(c.env == NULL);
		envelope_check_free(&c);
	}
	free(e);
}

/* Values a strict decoder sees whole: a zero byte inside a header string,
 * invalid UTF-8 inside the body, and details that stay valid UTF-8. */
static void test_strict_strings(void)
{
	Referral__V1__Header h;
	envelope_policy_t p = policy("350582", "350581");
	envelope_check_t c;
	uint8_t *e;
	size_t n;
	/* field 4 (to_node) again, "350582\0zz": protobuf keeps the last */
	static const uint8_t to_nul[] = { 0x22, 9, '3', '5', '0', '5', '8', '2',
					  0, 'z', 'z' };
	static const uint8_t from_nul[] = { 0x1a, 8, '3', '5', '0', '5', '8',
					    '1', 0, 'x' };

	good_header(&h);
	e = raw_envelope_extra(&h, to_nul, sizeof(to_nul), body, sizeof(body),
			       k581, &n);
	CHECK_EQ_INT(envelope_verify(&p, e, n, &c),
		     REFERRAL__V1__RECEIPT_STATUS__NOT_FOR_ME);
	envelope_check_free(&c);
	free(e);
	e = raw_envelope_extra(&h, from_nul, sizeof(from_nul), body,
			       sizeof(body), k581, &n);
	CHECK_EQ_INT(envelope_verify(&p, e, n, &c),
		     REFERRAL__V1__RECEIPT_STATUS__SENDER_MISMATCH);
	envelope_check_free(&c);
	free(e);

	/* to_node "xx", then "350582": the last one counts, and it is ours. */
	{
		static const uint8_t again[] = { 0x22, 6, '3', '5', '0', '5', '8',
						 '2' };
		good_header(&h);
		h.to_node = "xx";
		e = raw_envelope_extra(&h, again, sizeof(again), body,
				       sizeof(body), k581, &n);
		CHECK_EQ_INT(envelope_verify(&p, e, n, &c),
			     REFERRAL__V1__RECEIPT_STATUS__STORED);
		envelope_check_free(&c);
		free(e);
	}
	/* Invalid UTF-8 hidden after a zero byte is still invalid. */
	{
		static const uint8_t hidden[] = { 0x1a, 8, '3', '5', '0', '5',
						  '8', '1', 0, 0xff };
		good_header(&h);
		e = raw_envelope_extra(&h, hidden, sizeof(hidden), body,
				       sizeof(body), k581, &n);
		CHECK_EQ_INT(envelope_verify(&p, e, n, &c),
			     REFERRAL__V1__RECEIPT_STATUS__MALFORMED);
		envelope_check_free(&c);
		free(e);
	}
	/* Unknown fields do not excuse invalid UTF-8 in the body. */
	{
		uint8_t bad[] = { 0x0a, 0x02, 0xc0, 0xaf, 0x98, 0x06, 0x01 };
		good_header(&h);
		sign_digest(SIGN_ALG_ED25519, bad, sizeof(bad), digest);
		e = raw_envelope(&h, bad, sizeof(bad), k581, &n);
		CHECK_EQ_INT(envelope_verify(&p, e, n, &c),
			     REFERRAL__V1__RECEIPT_STATUS__MALFORMED);
		envelope_check_free(&c);
		free(e);
		sign_digest(SIGN_ALG_ED25519, body, sizeof(body), digest);
	}

	/* A sender code of six Chinese characters: the detail quotes it cut
	 * to 16 bytes, and must still be valid UTF-8. */
	good_header(&h);
	h.from_node = "石狮市晋江市";
	CHECK_EQ_INT(verify_header(&h, p),
		     REFERRAL__V1__RECEIPT_STATUS__SENDER_MISMATCH);
	e = raw_envelope(&h, body, sizeof(body), k581, &n);
	envelope_verify(&p, e, n, &c);
	CHECK(util_utf8_valid(c.detail, strlen(c.detail)));
	envelope_check_free(&c);
	free(e);

	/* Body: origin_reference (field 1) holding invalid UTF-8. */
	{
		uint8_t bad[] = { 0x0a, 0x02, 0xc0, 0xaf };
		good_header(&h);
		sign_digest(SIGN_ALG_ED25519, bad, sizeof(bad), digest);
		e = raw_envelope(&h, bad, sizeof(bad), k581, &n);
		CHECK_EQ_INT(envelope_verify(&p, e, n, &c),
			     REFERRAL__V1__RECEIPT_STATUS__MALFORMED);
		CHECK(strstr(c.detail, "UTF-8") != NULL);
		envelope_check_free(&c);
		free(e);
		sign_digest(SIGN_ALG_ED25519, body, sizeof(body), digest);
	}
}

/* Builds a batch of three headers, signs the root once, and checks each
 * envelope alone, then a tampered path. */
static void test_batch(void)
{
	Referral__V1__Header h[3];
	uint8_t *hb[3], leaf[3][32], n01[32], root[32], sig[SIGN_MAX_SIG];
	uint8_t ids[3][16];
	size_t hl[3], sl;
	envelope_policy_t p = policy("350582", "350581");

	for (int i = 0; i < 3; i++) {
		uint8_t *lb;
		good_header(&h[i]);
		memcpy(ids[i], msgid, 16);
		ids[i][15] = (uint8_t)i;
		h[i].msg_id.data = ids[i];
		hl[i] = referral__v1__header__get_packed_size(&h[i]);
		hb[i] = malloc(hl[i]);
		referral__v1__header__pack(&h[i], hb[i]);
		lb = malloc(hl[i] + 1);
		lb[0] = 0;
		memcpy(lb + 1, hb[i], hl[i]);
		SHA256(lb, hl[i] + 1, leaf[i]);
		free(lb);
	}
	/* RFC 6962 tree of 3: root = H(1 || H(1||l0||l1) || l2) */
	{
		uint8_t b[65];
		b[0] = 1;
		memcpy(b + 1, leaf[0], 32);
		memcpy(b + 33, leaf[1], 32);
		SHA256(b, 65, n01);
		memcpy(b + 1, n01, 32);
		memcpy(b + 33, leaf[2], 32);
		SHA256(b, 65, root);
	}
	{
		uint8_t in[18 + 36];
		/* DESIGN.md: "referral.v1/batch" and one zero byte. */
		memcpy(in, "referral.v1/batch", 18);
		memcpy(in + 18, root, 32);
		in[50] = 0; in[51] = 0; in[52] = 0; in[53] = 3;
		CHECK(sign_data(k581, in, sizeof(in), sig, &sl) == 0);
	}
	for (int i = 0; i < 3; i++) {
		Referral__V1__Envelope e = REFERRAL__V1__ENVELOPE__INIT;
		Referral__V1__BatchProof b = REFERRAL__V1__BATCH_PROOF__INIT;
		ProtobufCBinaryData path[2];
		envelope_check_t c;
		uint8_t *out;
		size_t n;

		if (i == 0) {
			path[0] = (ProtobufCBinaryData){ 32, leaf[1] };
			path[1] = (ProtobufCBinaryData){ 32, leaf[2] };
			b.n_path = 2;
		} else if (i == 1) {
			path[0] = (ProtobufCBinaryData){ 32, leaf[0] };
			path[1] = (ProtobufCBinaryData){ 32, leaf[2] };
			b.n_path = 2;
		} else {
			path[0] = (ProtobufCBinaryData){ 32, n01 };
			b.n_path = 1;
		}
		b.path = path;
		b.index = (uint32_t)i;
		b.count = 3;
		b.key_id = "350581-k1";
		b.root_signature = (ProtobufCBinaryData){ sl, sig };
		e.header = (ProtobufCBinaryData){ hl[i], hb[i] };
		e.body = (ProtobufCBinaryData){ sizeof(body), body };
		e.batch = &b;
		n = referral__v1__envelope__get_packed_size(&e);
		out = malloc(n);
		referral__v1__envelope__pack(&e, out);
		CHECK_EQ_INT(envelope_verify(&p, out, n, &c),
			     REFERRAL__V1__RECEIPT_STATUS__STORED);
		envelope_check_free(&c);
		free(out);
		/* A wrong index does not reach the signed root. */
		b.index = (uint32_t)((i + 1) % 3);
		n = referral__v1__envelope__get_packed_size(&e);
		out = malloc(n);
		referral__v1__envelope__pack(&e, out);
		CHECK_EQ_INT(envelope_verify(&p, out, n, &c),
			     REFERRAL__V1__RECEIPT_STATUS__BAD_SIGNATURE);
		envelope_check_free(&c);
		free(out);
	}
	for (int i = 0; i < 3; i++)
		free(hb[i]);
}

/* Field limits on any body: strings and lists, named by path. */
/* e packed again (after a change to it) and verified under p: the status. */
static int verify_changed(const envelope_policy_t *p,
			  const Referral__V1__Envelope *e)
{
	size_t bl = referral__v1__envelope__get_packed_size(e);
	uint8_t *b = malloc(bl);
	envelope_check_t c;
	int st;

	referral__v1__envelope__pack(e, b);
	st = envelope_verify(p, b, bl, &c);
	envelope_check_free(&c);
	free(b);
	return st;
}

/* envelope_seal: batches of 1 to 33 (every shape of RFC 6962 tree up to
 * there), each envelope verified alone; a batch of one is the single form;
 * a changed path, root signature, count or index is BAD_SIGNATURE; the
 * root cache verifies a root once and never lets a changed one through. */
static void test_seal(void)
{
	envelope_signer_t s = { "350581", "350581-k1", k581 };
	envelope_policy_t p = policy("350582", "350581");
	envelope_roots_t roots = { 0 };

	for (size_t n = 1; n <= 33; n++) {
		envelope_draft_t d[33];
		const envelope_draft_t *dp[33];
		uint8_t *out[33];
		size_t len[33];

		for (size_t i = 0; i < n; i++) {
			envelope_fields_t f = {
				.to_node = "350582",
				.kind = REFERRAL__V1__KIND__REFERRAL_SUBMIT,
				.referral_id = "350581-019ac9e0d3ff7a3b8c1d2e3f40516274",
				.referral_seq = 1, .created_at_ms = t0,
			};
			CHECK(envelope_draft(&s, &f, body, sizeof(body), &d[i]) == 0);
			dp[i] = &d[i];
		}
		CHECK(envelope_seal(&s, dp, n, out, len) == 0);
		for (size_t i = 0; i < n; i++) {
			envelope_check_t c;
			Referral__V1__Envelope *e;

			CHECK(len[i] <= envelope_sealed_max(&d[i], 9, 64));
			CHECK_EQ_INT(envelope_verify(&p, out[i], len[i], &c),
				     REFERRAL__V1__RECEIPT_STATUS__STORED);
			envelope_check_free(&c);
			e = referral__v1__envelope__unpack(NULL, len[i], out[i]);
			CHECK(e != NULL);
			if (!e)
				continue;
			/* One: the single form, as every node has always sent. */
			CHECK(n == 1 ? e->signature.len > 0 && !e->batch
				     : e->signature.len == 0 && e->batch &&
				       e->batch->count == n && e->batch->index == i);
			if (n > 1 && e->batch->n_path > 0) {
				/* A path entry changed. */
				e->batch->path[0].data[0] ^= 1;
				CHECK_EQ_INT(verify_changed(&p, e),
					     REFERRAL__V1__RECEIPT_STATUS__BAD_SIGNATURE);
				e->batch->path[0].data[0] ^= 1;
				/* The root signature changed. */
				e->batch->root_signature.data[3] ^= 1;
				CHECK_EQ_INT(verify_changed(&p, e),
					     REFERRAL__V1__RECEIPT_STATUS__BAD_SIGNATURE);
				e->batch->root_signature.data[3] ^= 1;
				/* Another count. */
				e->batch->count = (uint32_t)n + 1;
				CHECK_EQ_INT(verify_changed(&p, e),
					     REFERRAL__V1__RECEIPT_STATUS__BAD_SIGNATURE);
			}
			referral__v1__envelope__free_unpacked(e, NULL);
		}
		/* The cache: a batch of n > 1 has its root signature
		 * verified once, for the first of its envelopes. */
		if (n == 17) {
			envelope_policy_t pc = p;
			envelope_check_t c;

			envelope_roots_clear(&roots);
			pc.roots = &roots;
			for (size_t i = 0; i < n; i++) {
				CHECK_EQ_INT(envelope_verify(&pc, out[i], len[i], &c),
					     REFERRAL__V1__RECEIPT_STATUS__STORED);
				envelope_check_free(&c);
			}
			CHECK(roots.next == 1); /* one root verified, once */
			/* With the root known, a changed signature still fails:
			 * the cache is keyed on its bytes. */
			{
				Referral__V1__Envelope *e =
					referral__v1__envelope__unpack(NULL, len[5],
								       out[5]);
				e->batch->root_signature.data[0] ^= 1;
				CHECK_EQ_INT(verify_changed(&pc, e),
					     REFERRAL__V1__RECEIPT_STATUS__BAD_SIGNATURE);
				referral__v1__envelope__free_unpacked(e, NULL);
			}
		}
		for (size_t i = 0; i < n; i++) {
			free(out[i]);
			envelope_draft_free(&d[i]);
		}
	}
}

static void test_limits(void)
{
	Referral__V1__ReferralSubmit a = REFERRAL__V1__REFERRAL_SUBMIT__INIT;
	Referral__V1__Applicant ap = REFERRAL__V1__APPLICANT__INIT;
	char *addr[3] = { "a", "b", NULL }, where[200], big[5001];

	memset(big, 'x', 5000);
	big[5000] = '\0';
	addr[2] = big;
	a.applicant = &ap;
	ap.name = "Invented Person";
	ap.addresses = addr;
	ap.n_addresses = 2;
	CHECK(pblimits_check(&a.base, 4096, 10, where, sizeof(where)) == 0);
	ap.n_addresses = 3;
	CHECK_EQ_INT(pblimits_check(&a.base, 4096, 10, where, sizeof(where)),
		     REF_E_TOO_LARGE);
	CHECK(!strcmp(where, "applicant.addresses[2]: 5000 bytes, over the "
		      "limit of 4096"));
	CHECK_EQ_INT(pblimits_check(&a.base, 8192, 2, where, sizeof(where)),
		     REF_E_TOO_LARGE);
	CHECK(!strcmp(where, "applicant.addresses: 3 items, over the limit of 2"));
	ap.n_addresses = 2;
	ap.name = big;
	CHECK_EQ_INT(pblimits_check(&a.base, 4096, 10, where, sizeof(where)),
		     REF_E_TOO_LARGE);
	CHECK(strstr(where, "applicant.name: 5000 bytes") == where);
	CHECK(strstr(where, "xxxx") == NULL); /* never the value */

	/* Bytes fields: each one, then all of them together. */
	{
		Referral__V1__Document d1 = REFERRAL__V1__DOCUMENT__INIT,
				       d2 = REFERRAL__V1__DOCUMENT__INIT,
				       *docs[2] = { &d1, &d2 };
		static uint8_t content[3000];

		ap.name = "Invented Person";
		d1.content.data = content;
		d1.content.len = 2000;
		d2.content.data = content;
		d2.content.len = 3000;
		a.documents = docs;
		a.n_documents = 2;
		CHECK(pblimits_check_bytes(&a.base, 3000, 5000, where,
					   sizeof(where)) == 0);
		CHECK_EQ_INT(pblimits_check_bytes(&a.base, 2999, 5000, where,
						  sizeof(where)),
			     REF_E_TOO_LARGE);
		CHECK(!strcmp(where, "documents[1].content: 3000 bytes, over "
			      "the limit of 2999"));
		CHECK_EQ_INT(pblimits_check_bytes(&a.base, 3000, 4999, where,
						  sizeof(where)),
			     REF_E_TOO_LARGE);
		CHECK(!strcmp(where, "bytes fields: 5000 bytes in all, over "
			      "the limit of 4999"));
		a.documents = NULL;
		a.n_documents = 0;
	}
}

int main(int argc, char **argv)
{
	char path[4096];
	json_error_t jerr;
	json_t *keys;
	char *b64;

	if (argc < 2) {
		fprintf(stderr, "usage: test-envelope VECTORS_DIR\n");
		return 2;
	}
	snprintf(path, sizeof(path), "%s/wire-v1.json", argv[1]);
	vec = json_load_file(path, 0, &jerr);
	if (!vec) {
		fprintf(stderr, "cannot read %s: %s\n", path, jerr.text);
		return 1;
	}
	keys = json_object_get(vec, "keys");
	k581 = pem_priv(json_string_value(json_object_get(
		json_object_get(keys, "350581-k1"), "private_pem")));
	k582 = pem_priv(json_string_value(json_object_get(
		json_object_get(keys, "350582-k1"), "private_pem")));
	CHECK(k581 && k582);
	CHECK(sign_key_from_b64(json_string_value(json_object_get(json_object_get(
			keys, "350581-k1"), "public_der_b64")), &k581_pub) == 0);
	CHECK(sign_key_from_b64(json_string_value(json_object_get(json_object_get(
			keys, "350582-k1"), "public_der_b64")), &k582_pub) == 0);
	CHECK(sign_key_to_b64(k581, &b64) == 0);
	CHECK(!strcmp(b64, json_string_value(json_object_get(json_object_get(
			keys, "350581-k1"), "public_der_b64"))));
	free(b64);
	t0 = (uint64_t)json_integer_value(json_object_get(json_object_get(
		json_object_get(vec, "envelope"), "header_fields"),
		"created_at_ms"));
	CHECK(t0 == 1764288000000ULL);
	util_unhex("019ac9e0d4007a3b8c1d2e3f40516273", msgid, 16);
	sign_digest(SIGN_ALG_ED25519, body, sizeof(body), digest);

	test_vector_build();
	test_vector_verify();
	test_vector_receipt();
	test_vector_rejects();
	test_each_reason();
	test_batch();
	test_seal();
	test_limits();
	test_strict_strings();

	EVP_PKEY_free(k581);
	EVP_PKEY_free(k582);
	EVP_PKEY_free(k581_pub);
	EVP_PKEY_free(k582_pub);
	json_decref(vec);
	return test_finish("envelope");
}
