/* envelope.c: see envelope.h. The check order is DESIGN.md's and must not
 * change: other vendors' nodes answer the same bad envelope with the same
 * reason code only if every node stops at the same first failure. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/sha.h>

#include "envelope.h"
#include "errors.h"
#include "sign.h"
#include "util.h"

#define PREFIX_LEN (sizeof(ENVELOPE_SIGN_PREFIX)) /* includes the NUL */

static uint8_t *signing_input(const uint8_t *hdr, size_t len, size_t *ret_len)
{
	uint8_t *in = malloc(PREFIX_LEN + len);

	if (!in)
		return NULL;
	memcpy(in, ENVELOPE_SIGN_PREFIX, PREFIX_LEN);
	memcpy(in + PREFIX_LEN, hdr, len);
	*ret_len = PREFIX_LEN + len;
	return in;
}

int envelope_draft(const envelope_signer_t *signer, const envelope_fields_t *f,
		   const uint8_t *body, size_t body_len, envelope_draft_t *ret)
{
	Referral__V1__Header hdr = REFERRAL__V1__HEADER__INIT;
	uint8_t digest[32];
	int r;

	memset(ret, 0, sizeof(*ret));
	if (f->msg_id)
		memcpy(ret->msg_id, f->msg_id, 16);
	else if ((r = util_uuid7(ret->msg_id)))
		return r;
	r = sign_digest(sign_key_alg(signer->key), body, body_len, digest);
	if (r)
		return r;
	hdr.version = ENVELOPE_VERSION;
	hdr.msg_id.data = ret->msg_id;
	hdr.msg_id.len = 16;
	hdr.from_node = (char *)signer->node;
	hdr.to_node = (char *)f->to_node;
	hdr.created_at_ms = f->created_at_ms ? f->created_at_ms : util_now_ms();
	hdr.kind = f->kind;
	hdr.body_digest.data = digest;
	hdr.body_digest.len = 32;
	hdr.key_id = (char *)signer->key_id;
	hdr.referral_id = (char *)(f->referral_id ? f->referral_id : "");
	hdr.referral_seq = f->referral_seq;
	ret->header_len = referral__v1__header__get_packed_size(&hdr);
	ret->header = malloc(ret->header_len ? ret->header_len : 1);
	ret->body = malloc(body_len ? body_len : 1);
	if (!ret->header || !ret->body) {
		envelope_draft_free(ret);
		return -ENOMEM;
	}
	referral__v1__header__pack(&hdr, ret->header);
	if (body_len)
		memcpy(ret->body, body, body_len);
	ret->body_len = body_len;
	return 0;
}

void envelope_draft_free(envelope_draft_t *d)
{
	free(d->header);
	free(d->body);
	d->header = d->body = NULL;
}

/* Bytes a length-delimited field of len bytes takes (tag of one byte). */
static size_t field_size(size_t len)
{
	size_t n = 1;

	while (len >= 0x80) {
		len >>= 7;
		n++;
	}
	return 1 + n;
}

size_t envelope_sealed_max(const envelope_draft_t *d, size_t key_id_len,
			   size_t max_count)
{
	size_t depth = 0, proof;

	while (((size_t)1 << depth) < max_count)
		depth++;
	/* root_signature, index, count (varints of at most 5 bytes each),
	 * the path and key_id. */
	proof = field_size(SIGN_MAX_SIG) + SIGN_MAX_SIG + 2 * 6 +
		depth * (field_size(32) + 32) + field_size(key_id_len) +
		key_id_len;
	if (proof < SIGN_MAX_SIG)
		proof = SIGN_MAX_SIG;
	return field_size(d->header_len) + d->header_len +
	       field_size(d->body_len) + d->body_len + field_size(proof) + proof;
}

static int hash_leaf(const uint8_t *header, size_t len, uint8_t out[32])
{
	uint8_t *leaf = malloc(len + 1);

	if (!leaf)
		return -ENOMEM;
	leaf[0] = 0x00;
	memcpy(leaf + 1, header, len);
	util_sha256(leaf, len + 1, out);
	free(leaf);
	return 0;
}

static void hash_node(const uint8_t *l, const uint8_t *r, uint8_t out[32]);

/* RFC 6962's MTH over leaves[lo, hi): each leaf's audit path gets its
 * sibling subtrees' hashes, from the leaf level up (the order the
 * verifier's RFC 9162 walk takes them in). */
static void tree(uint8_t (*leaves)[32], size_t lo, size_t hi,
		 uint8_t (*paths)[64][32], size_t *depth, uint8_t out[32])
{
	uint8_t l[32], r[32];
	size_t k = 1;

	if (hi - lo == 1) {
		memcpy(out, leaves[lo], 32);
		return;
	}
	while (k * 2 < hi - lo)
		k *= 2;
	tree(leaves, lo, lo + k, paths, depth, l);
	tree(leaves, lo + k, hi, paths, depth, r);
	for (size_t i = lo; i < lo + k; i++)
		memcpy(paths[i][depth[i]++], r, 32);
	for (size_t i = lo + k; i < hi; i++)
		memcpy(paths[i][depth[i]++], l, 32);
	hash_node(l, r, out);
}

int envelope_seal(const envelope_signer_t *signer,
		  const envelope_draft_t *const *drafts, size_t n,
		  uint8_t **ret_bufs, size_t *ret_lens)
{
	uint8_t sig[SIGN_MAX_SIG], root[32], (*leaves)[32] = NULL;
	uint8_t (*paths)[64][32] = NULL, in[sizeof(ENVELOPE_BATCH_PREFIX) + 36];
	size_t siglen, *depth = NULL, i, off = sizeof(ENVELOPE_BATCH_PREFIX);
	int r = 0;

	if (n == 0)
		return 0;
	if (n > UINT32_MAX)
		return -EINVAL;
	if (n == 1) {
		size_t inlen;
		uint8_t *sin = signing_input(drafts[0]->header,
					     drafts[0]->header_len, &inlen);

		if (!sin)
			return -ENOMEM;
		r = sign_data(signer->key, sin, inlen, sig, &siglen);
		free(sin);
	} else {
		leaves = malloc(n * sizeof(*leaves));
		paths = malloc(n * sizeof(*paths));
		depth = calloc(n, sizeof(*depth));
		if (!leaves || !paths || !depth) {
			r = -ENOMEM;
			goto out;
		}
		for (i = 0; i < n && !r; i++)
			r = hash_leaf(drafts[i]->header, drafts[i]->header_len,
				      leaves[i]);
		if (r)
			goto out;
		tree(leaves, 0, n, paths, depth, root);
		memcpy(in, ENVELOPE_BATCH_PREFIX, off);
		memcpy(in + off, root, 32);
		in[off + 32] = (uint8_t)(n >> 24);
		in[off + 33] = (uint8_t)(n >> 16);
		in[off + 34] = (uint8_t)(n >> 8);
		in[off + 35] = (uint8_t)n;
		r = sign_data(signer->key, in, sizeof(in), sig, &siglen);
	}
	if (r)
		goto out;
	for (i = 0; i < n; i++) {
		Referral__V1__Envelope env = REFERRAL__V1__ENVELOPE__INIT;
		Referral__V1__BatchProof bp = REFERRAL__V1__BATCH_PROOF__INIT;
		ProtobufCBinaryData pd[64];

		env.header.data = drafts[i]->header;
		env.header.len = drafts[i]->header_len;
		env.body.data = drafts[i]->body;
		env.body.len = drafts[i]->body_len;
		if (n == 1) {
			env.signature.data = sig;
			env.signature.len = siglen;
		} else {
			bp.root_signature.data = sig;
			bp.root_signature.len = siglen;
			bp.index = (uint32_t)i;
			bp.count = (uint32_t)n;
			for (size_t k = 0; k < depth[i]; k++) {
				pd[k].data = paths[i][k];
				pd[k].len = 32;
			}
			bp.n_path = depth[i];
			bp.path = pd;
			bp.key_id = (char *)signer->key_id;
			env.batch = &bp;
		}
		ret_lens[i] = referral__v1__envelope__get_packed_size(&env);
		ret_bufs[i] = malloc(ret_lens[i]);
		if (!ret_bufs[i]) {
			while (i--)
				free(ret_bufs[i]);
			r = -ENOMEM;
			goto out;
		}
		referral__v1__envelope__pack(&env, ret_bufs[i]);
	}
out:
	free(leaves);
	free(paths);
	free(depth);
	return r;
}

int envelope_build(const envelope_signer_t *signer, const envelope_fields_t *f,
		   const uint8_t *body, size_t body_len, uint8_t **ret_buf,
		   size_t *ret_len, uint8_t ret_msg_id[16])
{
	envelope_draft_t d;
	const envelope_draft_t *one = &d;
	int r = envelope_draft(signer, f, body, body_len, &d);

	if (r)
		return r;
	r = envelope_seal(signer, &one, 1, ret_buf, ret_len);
	if (!r && ret_msg_id)
		memcpy(ret_msg_id, d.msg_id, 16);
	envelope_draft_free(&d);
	return r;
}

void envelope_roots_clear(envelope_roots_t *r)
{
	pthread_mutex_t *lock = r->lock;

	if (lock)
		pthread_mutex_lock(lock);
	memset(r->used, 0, sizeof(r->used));
	r->next = 0;
	if (lock)
		pthread_mutex_unlock(lock);
}

/* Whether root id is in r (under its lock, if it has one). */
static bool roots_has(envelope_roots_t *r, const uint8_t id[32])
{
	bool found = false;

	if (r->lock)
		pthread_mutex_lock(r->lock);
	for (size_t i = 0; i < ENVELOPE_ROOTS && !found; i++)
		found = r->used[i] && !memcmp(r->id[i], id, 32);
	if (r->lock)
		pthread_mutex_unlock(r->lock);
	return found;
}

static void roots_add(envelope_roots_t *r, const uint8_t id[32])
{
	size_t k;

	if (r->lock)
		pthread_mutex_lock(r->lock);
	k = r->next++ % ENVELOPE_ROOTS;
	memcpy(r->id[k], id, 32);
	r->used[k] = true;
	if (r->lock)
		pthread_mutex_unlock(r->lock);
}

static int fail(envelope_check_t *c, int status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(envelope_check_t *c, int status, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->detail, sizeof(c->detail), fmt, ap);
	va_end(ap);
	/* The detail travels in a proto3 string: never half a character. */
	util_utf8_trim(c->detail);
	c->status = status;
	return status;
}

/* protobuf-c hands strings over NUL-terminated, so a string holding a
 * zero byte would compare equal to its prefix. The wire lengths of the
 * header's string fields tell; a strict decoder compares whole values. */
static int read_varint(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
	*v = 0;
	for (int shift = 0; shift < 64 && *p < end; shift += 7) {
		uint8_t b = *(*p)++;
		*v |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80))
			return 0;
	}
	return -1;
}

enum { CUT_FROM = 1, CUT_TO = 2, CUT_KEY = 4, CUT_REFERRAL = 8, BAD_UTF8 = 16 };

/* Looks at the wire bytes of the header's string fields, as a strict
 * decoder would see them: the last occurrence of a field wins (protobuf's
 * rule), a zero byte inside it sets its CUT_* bit, and invalid UTF-8
 * anywhere in it (after a zero byte too) sets BAD_UTF8. */
static unsigned strings_cut(const uint8_t *buf, size_t len)
{
	/* An empty header comes as NULL, and NULL + 0 is undefined in C. */
	const uint8_t *p = buf, *end = buf ? buf + len : buf;
	const uint8_t *val[4] = { NULL };
	size_t vlen[4] = { 0 };
	unsigned out = 0;

	while (p < end) {
		uint64_t key, n;
		if (read_varint(&p, end, &key))
			break;
		if ((key & 7) == 0) {
			if (read_varint(&p, end, &n))
				break;
		} else if ((key & 7) == 1) {
			p += 8;
		} else if ((key & 7) == 5) {
			p += 4;
		} else if ((key & 7) == 2) {
			int slot = -1;
			if (read_varint(&p, end, &n) || n > (uint64_t)(end - p))
				break;
			switch (key >> 3) {
			case 3: slot = 0; break;
			case 4: slot = 1; break;
			case 8: slot = 2; break;
			case 9: slot = 3; break;
			}
			if (slot >= 0) {
				val[slot] = p;
				vlen[slot] = (size_t)n;
			}
			p += n;
		} else {
			break; /* the header parsed, so this cannot happen */
		}
	}
	for (int i = 0; i < 4; i++) {
		if (!val[i])
			continue;
		if (memchr(val[i], 0, vlen[i]))
			out |= 1u << i;
		if (!util_utf8_valid((const char *)val[i], vlen[i]))
			out |= BAD_UTF8;
	}
	return out;
}

static bool str_ok(const char *s)
{
	return util_utf8_valid(s, strlen(s));
}

/* proto3 strings must be UTF-8; protobuf-c does not check, strict decoders
 * do. Walks a message and its sub-messages (the schemas are not recursive,
 * so the depth is bounded by the schema). */
static bool message_utf8_ok(const ProtobufCMessage *m)
{
	const ProtobufCMessageDescriptor *d = m->descriptor;

	for (unsigned i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];
		const char *base = (const char *)m + f->offset;
		size_t count = 1;
		const void *vals = base;

		if (f->label == PROTOBUF_C_LABEL_REPEATED) {
			count = *(const size_t *)((const char *)m +
						  f->quantifier_offset);
			vals = *(void *const *)base;
		}
		for (size_t k = 0; k < count; k++) {
			if (f->type == PROTOBUF_C_TYPE_STRING) {
				const char *s = ((const char *const *)vals)[k];
				if (s && !str_ok(s))
					return false;
			} else if (f->type == PROTOBUF_C_TYPE_MESSAGE) {
				const ProtobufCMessage *sub =
					((const ProtobufCMessage *const *)vals)[k];
				if (sub && !message_utf8_ok(sub))
					return false;
			}
		}
	}
	return true;
}

static void hash_node(const uint8_t *l, const uint8_t *r, uint8_t out[32])
{
	uint8_t buf[65];

	buf[0] = 0x01;
	memcpy(buf + 1, l, 32);
	memcpy(buf + 33, r, 32);
	util_sha256(buf, sizeof(buf), out);
}

int envelope_batch_root(const uint8_t *header, size_t header_len,
			uint32_t index, uint32_t count, uint8_t *const *path,
			const size_t *path_len, size_t n_path, uint8_t out[32])
{
	uint8_t r[32], *leaf;
	uint64_t fn = index, sn;

	if (count == 0 || index >= count)
		return REF_E_MALFORMED;
	leaf = malloc(header_len + 1);
	if (!leaf)
		return -ENOMEM;
	leaf[0] = 0x00;
	memcpy(leaf + 1, header, header_len);
	util_sha256(leaf, header_len + 1, r);
	free(leaf);
	sn = (uint64_t)count - 1;
	/* RFC 9162 section 2.1.3.2, inclusion proof verification. */
	for (size_t i = 0; i < n_path; i++) {
		if (path_len[i] != 32 || sn == 0)
			return REF_E_MALFORMED;
		if ((fn & 1) || fn == sn) {
			hash_node(path[i], r, r);
			if (!(fn & 1))
				while (!(fn & 1) && fn != 0) {
					fn >>= 1;
					sn >>= 1;
				}
		} else {
			hash_node(r, path[i], r);
		}
		fn >>= 1;
		sn >>= 1;
	}
	if (sn != 0)
		return REF_E_MALFORMED;
	memcpy(out, r, 32);
	return 0;
}

static int verify_batch(const envelope_policy_t *pol, envelope_check_t *c,
			const Referral__V1__BatchProof *b)
{
	Referral__V1__Header *h = c->hdr;
	/* sizeof counts the terminating NUL, which is part of the prefix. */
	uint8_t root[32], in[sizeof(ENVELOPE_BATCH_PREFIX) + 36], id[32];
	size_t plen[64];
	EVP_PKEY *key;
	size_t off = sizeof(ENVELOPE_BATCH_PREFIX);

	if (b->n_path > 64 || b->base.n_unknown_fields)
		return fail(c, REFERRAL__V1__RECEIPT_STATUS__MALFORMED,
			    "batch proof is malformed");
	for (size_t i = 0; i < b->n_path; i++)
		plen[i] = b->path[i].len;
	{
		uint8_t *paths[64];
		for (size_t i = 0; i < b->n_path; i++)
			paths[i] = b->path[i].data;
		if (envelope_batch_root(c->env->header.data,
					c->env->header.len, b->index, b->count,
					paths, plen, b->n_path, root))
			return fail(c, REFERRAL__V1__RECEIPT_STATUS__BAD_SIGNATURE,
				    "batch path does not lead to a root");
	}
	key = pol->lookup(pol->lookup_ctx, h->from_node, b->key_id,
			  h->created_at_ms);
	if (!key)
		return fail(c, REFERRAL__V1__RECEIPT_STATUS__UNKNOWN_KEY,
			    "batch key %s is not a valid key of %s",
			    b->key_id, h->from_node);
	memcpy(in, ENVELOPE_BATCH_PREFIX, off);
	memcpy(in + off, root, 32);
	in[off + 32] = (uint8_t)(b->count >> 24);
	in[off + 33] = (uint8_t)(b->count >> 16);
	in[off + 34] = (uint8_t)(b->count >> 8);
	in[off + 35] = (uint8_t)b->count;
	/* Verified before, for another envelope of the same batch: the same
	 * sender, key id and key object, root, count and signature bytes. */
	/* A signature longer than any the suites make is never cached. */
	bool cached = pol->roots && b->root_signature.len <= SIGN_MAX_SIG;

	if (cached) {
		/* from_node and key_id are checked strings of at most 64
		 * bytes; the signature at most SIGN_MAX_SIG here. */
		uint8_t buf[2 * 65 + sizeof(key) + sizeof(in) + SIGN_MAX_SIG];
		size_t fl = strnlen(h->from_node, 64), kl = strnlen(b->key_id, 64);
		size_t sl = b->root_signature.len, o = 0;

		memcpy(buf + o, h->from_node, fl);
		o += fl;
		buf[o++] = 0;
		memcpy(buf + o, b->key_id, kl);
		o += kl;
		buf[o++] = 0;
		memcpy(buf + o, &key, sizeof(key));
		o += sizeof(key);
		memcpy(buf + o, in, sizeof(in));
		o += sizeof(in);
		memcpy(buf + o, b->root_signature.data, sl);
		o += sl;
		util_sha256(buf, o, id);
		if (roots_has(pol->roots, id))
			return 0;
	}
	if (sign_verify(key, in, sizeof(in), b->root_signature.data,
			b->root_signature.len))
		return fail(c, REFERRAL__V1__RECEIPT_STATUS__BAD_SIGNATURE,
			    "batch root signature does not verify");
	if (cached)
		roots_add(pol->roots, id);
	return 0;
}

static int body_check(envelope_check_t *c)
{
	ProtobufCMessage *m = NULL;
	const ProtobufCBinaryData *b = &c->env->body;

	/* DESIGN.md's last check, "the body parses as the kind says": a
	 * kind this contract does not define has no body to parse as. */
	if (c->hdr->kind <= REFERRAL__V1__KIND__KIND_UNSPECIFIED ||
	    c->hdr->kind > REFERRAL__V1__KIND__RESTORE_SYNC)
		return fail(c, REFERRAL__V1__RECEIPT_STATUS__MALFORMED,
			    "kind %d is unknown", (int)c->hdr->kind);
	switch (c->hdr->kind) {
	case REFERRAL__V1__KIND__RECEIPT:
		m = (ProtobufCMessage *)referral__v1__receipt__unpack(
			NULL, b->len, b->data);
		break;
	case REFERRAL__V1__KIND__RECEIPT_BATCH:
		m = (ProtobufCMessage *)referral__v1__receipt_batch__unpack(
			NULL, b->len, b->data);
		break;
	case REFERRAL__V1__KIND__REFERRAL_SUBMIT:
		m = (ProtobufCMessage *)referral__v1__referral_submit__unpack(
			NULL, b->len, b->data);
		break;
	case REFERRAL__V1__KIND__STATUS_CHANGE:
		m = (ProtobufCMessage *)referral__v1__status_change__unpack(
			NULL, b->len, b->data);
		break;
	case REFERRAL__V1__KIND__MATERIALS_SUPPLEMENT:
		m = (ProtobufCMessage *)referral__v1__materials_supplement__unpack(
			NULL, b->len, b->data);
		break;
	case REFERRAL__V1__KIND__AUDIT_CHECKPOINT:
		m = (ProtobufCMessage *)referral__v1__audit_checkpoint__unpack(
			NULL, b->len, b->data);
		break;
	case REFERRAL__V1__KIND__RESTORE_SYNC:
		m = (ProtobufCMessage *)referral__v1__restore_sync__unpack(
			NULL, b->len, b->data);
		break;
	default:
		return 0; /* the caller knows (or refuses) the other kinds */
	}
	if (!m)
		return fail(c, REFERRAL__V1__RECEIPT_STATUS__MALFORMED,
			    "body does not parse as %s",
			    envelope_kind_name(c->hdr->kind));
	if (!message_utf8_ok(m)) {
		protobuf_c_message_free_unpacked(m, NULL);
		return fail(c, REFERRAL__V1__RECEIPT_STATUS__MALFORMED,
			    "body strings are not valid UTF-8");
	}
	protobuf_c_message_free_unpacked(m, NULL);
	return 0;
}

int envelope_verify(const envelope_policy_t *pol, const uint8_t *buf,
		    size_t len, envelope_check_t *c)
{
	Referral__V1__Header *h;
	EVP_PKEY *key;
	uint8_t digest[32];
	unsigned cut;
	int r;

	memset(c, 0, sizeof(*c));
	util_sha256(buf, len, c->sha256);

	if (len > pol->max_bytes)
		return fail(c, REFERRAL__V1__RECEIPT_STATUS__REFUSED,
			    "envelope of %zu bytes exceeds the limit of %zu",
			    len, pol->max_bytes);
	c->env = referral__v1__envelope__unpack(NULL, len, buf);
	if (!c->env)
		return fail(c, REFERRAL__V1__RECEIPT_STATUS__MALFORMED,
			    "envelope does not parse");
	if (c->env->base.n_unknown_fields)
		return fail(c, REFERRAL__V1__RECEIPT_STATUS__MALFORMED,
			    "envelope has unknown fields");
	c->hdr = referral__v1__header__unpack(NULL, c->env->header.len,
					      c->env->header.data);
	if (!c->hdr)
		return fail(c, REFERRAL__V1__RECEIPT_STATUS__MALFORMED,
			    "header does not parse");
	h = c->hdr;
	if (h->base.n_unknown_fields)
		return fail(c, REFERRAL__V1__RECEIPT_STATUS__MALFORMED,
			    "header has unknown fields");
	cut = strings_cut(c->env->header.data, c->env->header.len);
	if ((cut & BAD_UTF8) || !str_ok(h->from_node) || !str_ok(h->to_node) ||
	    !str_ok(h->key_id) || !str_ok(h->referral_id))
		return fail(c, REFERRAL__V1__RECEIPT_STATUS__MALFORMED,
			    "header strings are not valid UTF-8");
	if (h->version != ENVELOPE_VERSION)
		return fail(c, REFERRAL__V1__RECEIPT_STATUS__UNSUPPORTED_VERSION,
			    "header version %u is not supported (this node "
			    "speaks 1)", h->version);
	if (h->msg_id.len != 16)
		return fail(c, REFERRAL__V1__RECEIPT_STATUS__MALFORMED,
			    "msg_id is %zu bytes, not 16", h->msg_id.len);
	if (!pol->peer || (cut & CUT_FROM) ||
	    strcmp(h->from_node, pol->peer) != 0)
		return fail(c, REFERRAL__V1__RECEIPT_STATUS__SENDER_MISMATCH,
			    "from_node %.16s is not the connection's node %s",
			    h->from_node, pol->peer ? pol->peer : "(none)");
	if ((cut & CUT_TO) || strcmp(h->to_node, pol->self) != 0)
		return fail(c, REFERRAL__V1__RECEIPT_STATUS__NOT_FOR_ME,
			    "addressed to %.16s, this node is %s", h->to_node,
			    pol->self);

	if (c->env->signature.len == 0 && c->env->batch) {
		key = cut & CUT_KEY ? NULL
			: pol->lookup(pol->lookup_ctx, h->from_node, h->key_id,
				      h->created_at_ms);
		if (!key)
			return fail(c, REFERRAL__V1__RECEIPT_STATUS__UNKNOWN_KEY,
				    "key %.64s is not a valid key of %s at the "
				    "message's time", h->key_id, h->from_node);
		r = verify_batch(pol, c, c->env->batch);
		if (r)
			return r;
	} else {
		uint8_t *in;
		size_t inlen;

		key = cut & CUT_KEY ? NULL
			: pol->lookup(pol->lookup_ctx, h->from_node, h->key_id,
				      h->created_at_ms);
		if (!key)
			return fail(c, REFERRAL__V1__RECEIPT_STATUS__UNKNOWN_KEY,
				    "key %.64s is not a valid key of %s at the "
				    "message's time", h->key_id, h->from_node);
		in = signing_input(c->env->header.data, c->env->header.len,
				   &inlen);
		if (!in)
			return -ENOMEM;
		r = sign_verify(key, in, inlen, c->env->signature.data,
				c->env->signature.len);
		free(in);
		if (r == -ENOMEM)
			return r;
		if (r)
			return fail(c, REFERRAL__V1__RECEIPT_STATUS__BAD_SIGNATURE,
				    "signature does not verify with key %.64s",
				    h->key_id);
	}
	if (sign_digest(sign_key_alg(key), c->env->body.data, c->env->body.len,
			digest) ||
	    h->body_digest.len != 32 || memcmp(digest, h->body_digest.data, 32))
		return fail(c, REFERRAL__V1__RECEIPT_STATUS__BAD_DIGEST,
			    "body does not match body_digest");
	if (h->created_at_ms + pol->lifetime_ms < pol->now_ms)
		return fail(c, REFERRAL__V1__RECEIPT_STATUS__STALE,
			    "created %llu ms ago, older than the lifetime of "
			    "%llu ms",
			    (unsigned long long)(pol->now_ms - h->created_at_ms),
			    (unsigned long long)pol->lifetime_ms);
	if (h->created_at_ms > pol->now_ms + pol->future_ms)
		return fail(c, REFERRAL__V1__RECEIPT_STATUS__STALE,
			    "created %llu ms in the future, more than the "
			    "allowed %llu ms of clock skew",
			    (unsigned long long)(h->created_at_ms - pol->now_ms),
			    (unsigned long long)pol->future_ms);
	r = body_check(c);
	if (r)
		return r;
	if (cut & CUT_REFERRAL)
		return fail(c, REFERRAL__V1__RECEIPT_STATUS__MALFORMED,
			    "referral_id holds a zero byte");
	c->status = REFERRAL__V1__RECEIPT_STATUS__STORED;
	return c->status;
}

int envelope_verify_archived(envelope_key_lookup_fn lookup, void *lookup_ctx,
			     const uint8_t *buf, size_t len,
			     envelope_check_t *c)
{
	Referral__V1__Envelope *e = referral__v1__envelope__unpack(NULL, len,
								   buf);
	Referral__V1__Header *h = e ? referral__v1__header__unpack(
		NULL, e->header.len, e->header.data) : NULL;
	char self[16] = "", peer[16] = "";
	envelope_policy_t pol = { self, peer, SIZE_MAX, 0, 0, 0, lookup,
				  lookup_ctx };

	if (h) {
		snprintf(self, sizeof(self), "%s", h->to_node);
		snprintf(peer, sizeof(peer), "%s", h->from_node);
		pol.now_ms = h->created_at_ms;
		referral__v1__header__free_unpacked(h, NULL);
	}
	if (e)
		referral__v1__envelope__free_unpacked(e, NULL);
	return envelope_verify(&pol, buf, len, c);
}

void envelope_check_free(envelope_check_t *c)
{
	if (c->hdr)
		referral__v1__header__free_unpacked(c->hdr, NULL);
	if (c->env)
		referral__v1__envelope__free_unpacked(c->env, NULL);
	c->hdr = NULL;
	c->env = NULL;
}

int envelope_receipt_body(const envelope_check_t *c, uint64_t received_at_ms,
			  int status, const char *detail, uint8_t **ret_buf,
			  size_t *ret_len)
{
	Referral__V1__Receipt rc = REFERRAL__V1__RECEIPT__INIT;
	uint8_t *out;
	size_t n;

	if (c->hdr && c->hdr->msg_id.len == 16) {
		rc.msg_id.data = c->hdr->msg_id.data;
		rc.msg_id.len = 16;
	}
	rc.envelope_sha256.data = (uint8_t *)c->sha256;
	rc.envelope_sha256.len = 32;
	rc.received_at_ms = received_at_ms;
	rc.status = (Referral__V1__ReceiptStatus)status;
	rc.detail = (char *)(detail ? detail : "");
	n = referral__v1__receipt__get_packed_size(&rc);
	out = malloc(n ? n : 1);
	if (!out)
		return -ENOMEM;
	referral__v1__receipt__pack(&rc, out);
	*ret_buf = out;
	*ret_len = n;
	return 0;
}

int envelope_receipt_for(uint32_t kind, const uint8_t *body, size_t blen,
			 const uint8_t msg_id[16], const uint8_t sha256[32],
			 Referral__V1__Receipt **ret, size_t *ret_count)
{
	Referral__V1__ReceiptBatch *rb;
	Referral__V1__Receipt *hit = NULL;
	uint8_t *buf;
	size_t n;

	*ret = NULL;
	if (ret_count)
		*ret_count = 0;
	if (kind == REFERRAL__V1__KIND__RECEIPT) {
		*ret = referral__v1__receipt__unpack(NULL, blen, body);
		if (ret_count)
			*ret_count = *ret ? 1 : 0;
		return *ret ? 0 : REF_E_MALFORMED;
	}
	if (kind != REFERRAL__V1__KIND__RECEIPT_BATCH)
		return REF_E_MALFORMED;
	rb = referral__v1__receipt_batch__unpack(NULL, blen, body);
	if (!rb)
		return REF_E_MALFORMED;
	if (ret_count)
		*ret_count = rb->n_receipts;
	for (size_t i = 0; i < rb->n_receipts && !hit; i++) {
		Referral__V1__Receipt *e = rb->receipts[i];

		if (e->msg_id.len == 16 ? !memcmp(e->msg_id.data, msg_id, 16)
		    : sha256 && e->envelope_sha256.len == 32 &&
		      !memcmp(e->envelope_sha256.data, sha256, 32))
			hit = e;
	}
	if (!hit) {
		referral__v1__receipt_batch__free_unpacked(rb, NULL);
		return REF_E_NOT_FOUND;
	}
	/* An entry belongs to its batch: packed and read again, it is the
	 * caller's alone. */
	n = referral__v1__receipt__get_packed_size(hit);
	buf = malloc(n ? n : 1);
	if (buf) {
		referral__v1__receipt__pack(hit, buf);
		*ret = referral__v1__receipt__unpack(NULL, n, buf);
		free(buf);
	}
	referral__v1__receipt_batch__free_unpacked(rb, NULL);
	return *ret ? 0 : -ENOMEM;
}

const char *envelope_status_name(int status)
{
	const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value(
		&referral__v1__receipt_status__descriptor, status);
	return v ? v->name : "UNKNOWN";
}

const char *envelope_kind_name(int kind)
{
	const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value(
		&referral__v1__kind__descriptor, kind);
	return v ? v->name : "UNKNOWN";
}
