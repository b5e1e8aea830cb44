/* fuzz-bodies.c: every body message of proto/referral.proto as a peer
 * sends it, decoded and then checked the way the receiving node does.
 *
 * Input: one selector byte, then the body bytes. The selector's low four
 * bits (mod 10) pick the message: the envelope Kind of the same number
 * (1 Receipt, 2 ReferralSubmit, 3 StatusChange, 4 MaterialsSupplement,
 * 5 AuditCheckpoint, 6 DirectoryUpdate, 9 ReceiptBatch; 7 and 8 have no
 * body schema), or 0 for a BatchProof, whose path is walked to a root
 * over a fixed header. With bit 0x80 set the body also travels in an
 * envelope of that kind, built and signed with envelope_build, through
 * envelope_verify's body check. For a DirectoryUpdate, bit 0x40 has the
 * harness sign the directory with the authority's test key in place of
 * the signature the body carries, so that mutated directories get past
 * the signature check to the parser and the self check, as one the
 * authority signed would; without it the body's own signature is judged
 * (the seeds carry the vectors' real one).
 *
 * Invariants checked: those of fuzz-checks.c; the verifier stores a
 * correctly signed envelope exactly when its body decodes as the kind
 * says and every string in it is UTF-8 (by an independent walk); and for
 * a DirectoryUpdate, those of directory_update below. */
#include <stdlib.h>
#include <string.h>

#include "directory.h"
#include "errors.h"
#include "fuzz.h"
#include "sign.h"
#include "util.h"

#define RESIGN 0x40

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	if (fuzz_keys_init() || fuzz_checks_init())
		abort();
	return 0;
}

static void batch_proof(const uint8_t *data, size_t size)
{
	static const uint8_t header[] = "fixed header bytes";
	Referral__V1__BatchProof *b = referral__v1__batch_proof__unpack(
		NULL, size, data);
	uint8_t **path, root[32];
	size_t *plen;

	if (!b)
		return;
	path = calloc(b->n_path + 1, sizeof(*path));
	plen = calloc(b->n_path + 1, sizeof(*plen));
	if (path && plen) {
		for (size_t i = 0; i < b->n_path; i++) {
			path[i] = b->path[i].data;
			plen[i] = b->path[i].len;
		}
		envelope_batch_root(header, sizeof(header), b->index, b->count,
				    path, plen, b->n_path, root);
	}
	free(path);
	free(plen);
	referral__v1__batch_proof__free_unpacked(b, NULL);
}

/* The node's self check (broker/node.c: check_self), from the same
 * library calls: the directory lists this node with its CURVE key and,
 * under its key_id, the public half of its signing key. */
static bool lists_self(const directory_t *d)
{
	const dir_node_t *me = directory_node(d, FUZZ_SELF);
	EVP_PKEY *mine = fuzz_lookup(NULL, FUZZ_SELF, FUZZ_SELF_KEY_ID, FUZZ_T0);
	char *b64 = NULL, *listed = NULL;
	bool ok = false;

	if (!me || strcmp(me->curve_public, FUZZ_SELF_CURVE))
		return false;
	sign_key_to_b64(mine, &b64);
	for (size_t i = 0; i < me->n_keys; i++)
		if (!strcmp(me->keys[i].key_id, FUZZ_SELF_KEY_ID)) {
			free(listed);
			listed = NULL;
			sign_key_to_b64(me->keys[i].key, &listed);
			ok = b64 && listed && !strcmp(b64, listed);
		}
	free(b64);
	free(listed);
	return ok;
}

/* What a node does with a DIRECTORY_UPDATE body (broker/node.c:
 * directory_update, directory_check_new), by the same library calls, for
 * a node whose directory in force is the vectors' (version 1): no
 * directory is MALFORMED; then the authority's signature over the exact
 * bytes, the parse, a version above the one in force, this node listed
 * as it is. (Its first check, the same bytes as the file in force
 * answered DUPLICATE, is a memcmp against a file: left out.)
 *
 * Invariants: a signature accepted under the authority's key is refused
 * under another key; the harness's own signature is accepted, and no
 * longer once one byte of the directory changes; a failed parse hands
 * nothing back and says why in valid UTF-8 (the node sends that text in
 * the REFUSED receipt's detail, a proto3 string); a directory the node
 * would apply is found by this node's CURVE key as ZAP looks it up, and
 * the key it lists verifies this node's own signature. */
static void directory_update(const Referral__V1__DirectoryUpdate *u,
			     bool resign)
{
	const uint8_t *json = u->directory.data;
	size_t len = u->directory.len;
	EVP_PKEY *other = fuzz_lookup(NULL, FUZZ_PEER, "350581-k1", FUZZ_T0);
	char *sig = u->signature, *own = NULL;
	char err[300]; /* directory_check_new's, the size the node parses with */
	directory_t *d = NULL;
	int r;

	if (!len || len > 16 << 20)
		return; /* MALFORMED, or REFUSED before any check */
	if (resign) {
		uint8_t raw[SIGN_MAX_SIG];
		size_t rl;
		if (sign_data(fuzz_authority(), json, len, raw, &rl) ||
		    util_b64_encode(raw, rl, &own))
			return;
		sig = own;
	}
	r = directory_verify_sig(json, len, sig, fuzz_authority());
	if (r > 0 && r != REF_E_DIRECTORY)
		fuzz_fail("directory_verify_sig gave neither 0 nor REF_E_DIRECTORY");
	if (r == 0 && !directory_verify_sig(json, len, sig, other))
		fuzz_fail("a directory signature verifies under two keys");
	if (resign && r > 0)
		fuzz_fail("the authority's own signature over the exact bytes "
			  "was refused");
	if (resign && r == 0) {
		uint8_t *changed = malloc(len);
		if (changed) {
			memcpy(changed, json, len);
			changed[len - 1] ^= 0x01;
			if (!directory_verify_sig(changed, len, sig,
						  fuzz_authority()))
				fuzz_fail("a directory changed after signing "
					  "still verifies");
			free(changed);
		}
	}
	free(own);
	if (r)
		return; /* REFUSED: not signed by this node's authority key */
	memset(err, 0x55, sizeof(err));
	r = directory_parse((const char *)json, len, &d, err, sizeof(err));
	if (r) {
		if (d)
			fuzz_fail("a failed parse handed a directory back");
		if (r > 0 && (!memchr(err, 0, sizeof(err)) || !err[0] ||
			      !util_utf8_valid(err, strlen(err))))
			fuzz_fail("a refused directory's reason is not a "
				  "non-empty UTF-8 string");
		return;
	}
	if (d->version > 1 && lists_self(d)) {
		/* Applied: what the node then relies on. */
		const dir_node_t *me = directory_node(d, FUZZ_SELF);
		EVP_PKEY *mine = fuzz_lookup(NULL, FUZZ_SELF, FUZZ_SELF_KEY_ID,
					     FUZZ_T0);
		uint8_t s[SIGN_MAX_SIG];
		size_t sl;
		bool verified = false;

		if (directory_node_by_curve(d, FUZZ_SELF_CURVE) != me)
			fuzz_fail("an applied directory does not find this node "
				  "by its CURVE key");
		if (sign_data(mine, (const uint8_t *)"referral", 8, s, &sl) == 0)
			for (size_t i = 0; i < me->n_keys; i++)
				if (!strcmp(me->keys[i].key_id, FUZZ_SELF_KEY_ID))
					verified = !sign_verify(me->keys[i].key,
						(const uint8_t *)"referral", 8,
						s, sl);
		if (!verified)
			fuzz_fail("an applied directory's key for this node "
				  "does not verify its signature");
	}
	directory_free(&d);
}

/* Decodes the body as kind, runs the node's checks on it; returns the
 * message (caller frees) or NULL. */
static ProtobufCMessage *decode(int kind, const uint8_t *data, size_t size,
				bool resign)
{
	ProtobufCMessage *m = NULL;

	switch (kind) {
	case REFERRAL__V1__KIND__RECEIPT: {
		Referral__V1__Receipt *rc = referral__v1__receipt__unpack(
			NULL, size, data);
		if (rc) {
			char hex[33];
			envelope_status_name(rc->status);
			if (rc->msg_id.len == 16)
				util_hex(rc->msg_id.data, 16, hex);
		}
		m = rc ? &rc->base : NULL;
		break;
	}
	case REFERRAL__V1__KIND__RECEIPT_BATCH: {
		Referral__V1__ReceiptBatch *rb =
			referral__v1__receipt_batch__unpack(NULL, size, data);
		for (size_t i = 0; rb && i < rb->n_receipts; i++)
			envelope_status_name(rb->receipts[i]->status);
		m = rb ? &rb->base : NULL;
		break;
	}
	case REFERRAL__V1__KIND__REFERRAL_SUBMIT: {
		Referral__V1__ReferralSubmit *a =
			referral__v1__referral_submit__unpack(NULL, size, data);
		if (a)
			fuzz_check_submit(a);
		m = a ? &a->base : NULL;
		break;
	}
	case REFERRAL__V1__KIND__STATUS_CHANGE: {
		Referral__V1__StatusChange *sc =
			referral__v1__status_change__unpack(NULL, size, data);
		if (sc)
			fuzz_check_status_change(sc);
		m = sc ? &sc->base : NULL;
		break;
	}
	case REFERRAL__V1__KIND__MATERIALS_SUPPLEMENT: {
		Referral__V1__MaterialsSupplement *ms =
			referral__v1__materials_supplement__unpack(NULL, size,
								   data);
		if (ms)
			fuzz_check_supplement(ms);
		m = ms ? &ms->base : NULL;
		break;
	}
	case REFERRAL__V1__KIND__AUDIT_CHECKPOINT: {
		Referral__V1__AuditCheckpoint *cp =
			referral__v1__audit_checkpoint__unpack(NULL, size, data);
		m = cp ? &cp->base : NULL;
		break;
	}
	case REFERRAL__V1__KIND__DIRECTORY_UPDATE: {
		Referral__V1__DirectoryUpdate *u =
			referral__v1__directory_update__unpack(NULL, size, data);
		if (u)
			directory_update(u, resign);
		m = u ? &u->base : NULL;
		break;
	}
	default:
		break;
	}
	return m;
}

/* The body in a correctly signed envelope of kind, through the verifier:
 * stored exactly when it decodes and its strings are UTF-8. */
static void through_envelope(int kind, const uint8_t *data, size_t size,
			     const ProtobufCMessage *m)
{
	static const uint8_t msg_id[16] = { 0x01, 0x9a, 0xc9, 0xe0 };
	envelope_signer_t s = { FUZZ_PEER, "350581-k1", NULL };
	envelope_fields_t f = {
		.to_node = FUZZ_SELF, .kind = (Referral__V1__Kind)kind,
		.referral_id = "350581-019ac9e0d3ff7a3b8c1d2e3f40516274",
		.referral_seq = 1, .created_at_ms = FUZZ_T0, .msg_id = msg_id,
	};
	envelope_policy_t pol = fuzz_policy();
	envelope_check_t c;
	uint8_t *buf;
	size_t len;
	bool want;
	int r;

	s.key = fuzz_lookup(NULL, s.node, s.key_id, FUZZ_T0);
	if (envelope_build(&s, &f, data, size, &buf, &len, NULL))
		return;
	r = envelope_verify(&pol, buf, len, &c);
	fuzz_check_result(&c, r);
	/* Kinds 6-8 have no schema here: the verifier lets them through. */
	want = (kind >= REFERRAL__V1__KIND__DIRECTORY_UPDATE &&
		kind <= REFERRAL__V1__KIND__LABOUR_EVENT) ||
	       (m && fuzz_utf8_ok(m));
	if (r >= 0 && want != (r == REFERRAL__V1__RECEIPT_STATUS__STORED))
		fuzz_fail(want ? "a well-formed body was refused"
			       : "a malformed body was stored");
	envelope_check_free(&c);
	free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	ProtobufCMessage *m;
	int kind;

	if (size < 1)
		return 0;
	kind = (data[0] & 0x0f) % 10;
	if (kind == 0) {
		batch_proof(data + 1, size - 1);
		return 0;
	}
	m = decode(kind, data + 1, size - 1, data[0] & RESIGN);
	if (data[0] & 0x80)
		through_envelope(kind, data + 1, size - 1, m);
	if (m)
		protobuf_c_message_free_unpacked(m, NULL);
	return 0;
}
