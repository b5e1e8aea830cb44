/* fuzz-bodies.c: every body message of proto/referral.proto as a peer
 * sends it, decoded and then checked the way the receiving node does.
 *
 * Input: one selector byte, then the body bytes. The selector's low four
 * bits (mod 10) pick the message: the envelope Kind of the same number
 * (1 Receipt, 2 ReferralSubmit, 3 StatusChange, 4 MaterialsSupplement,
 * 5 AuditCheckpoint, 9 ReceiptBatch; 6-8 have no body schema), or 0 for
 * a BatchProof, whose path is walked to a root over a fixed header. With
 * bit 0x80 set the body also travels in an envelope of that kind, built
 * and signed with envelope_build, through envelope_verify's body check.
 *
 * Invariants checked: those of fuzz-checks.c; and the verifier stores a
 * correctly signed envelope exactly when its body decodes as the kind
 * says and every string in it is UTF-8 (by an independent walk). */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "util.h"

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

/* Decodes the body as kind, runs the node's checks on it; returns the
 * message (caller frees) or NULL. */
static ProtobufCMessage *decode(int kind, const uint8_t *data, size_t size)
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
	m = decode(kind, data + 1, size - 1);
	if (data[0] & 0x80)
		through_envelope(kind, data + 1, size - 1, m);
	if (m)
		protobuf_c_message_free_unpacked(m, NULL);
	return 0;
}
