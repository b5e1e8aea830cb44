/* fuzz-header.c: the envelope Header as decoded from a peer, and the
 * verifier's strict checks on it (unknown fields, version, msg_id, UTF-8,
 * and string fields cut short by a zero byte).
 *
 * Input: the header bytes exactly. The harness unpacks them, then wraps
 * them in an envelope with an empty body, signed with the key the
 * verifier will look up for the header's from_node and key_id (so the
 * signature never hides what the header checks would say), and verifies
 * it under the fixed policy.
 *
 * Invariants checked: fuzz_check_result's; and a header that is stored
 * names exactly this node and the peer, version 1, a 16-byte msg_id, and
 * each string field's last occurrence on the wire equals the decoded
 * value byte for byte (a second, independent walk over the wire format:
 * no zero byte may hide a suffix). */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "util.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	if (fuzz_keys_init())
		abort();
	return 0;
}

static int varint(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
	unsigned shift = 0;

	*v = 0;
	while (*p < end && shift < 64) {
		uint8_t b = *(*p)++;
		*v |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80))
			return 0;
		shift += 7;
	}
	return -1;
}

/* The wire value of the last occurrence of length-delimited field
 * number, or false if there is none (or the bytes do not walk). */
static bool last_field(const uint8_t *buf, size_t len, unsigned number,
		       const uint8_t **ret_val, size_t *ret_len)
{
	const uint8_t *p = buf, *end = buf + len;
	bool found = false;

	while (p < end) {
		uint64_t key, n;
		if (varint(&p, end, &key))
			return false;
		switch (key & 7) {
		case 0:
			if (varint(&p, end, &n))
				return false;
			break;
		case 1:
			if (end - p < 8)
				return false;
			p += 8;
			break;
		case 5:
			if (end - p < 4)
				return false;
			p += 4;
			break;
		case 2:
			if (varint(&p, end, &n) || n > (uint64_t)(end - p))
				return false;
			if ((key >> 3) == number) {
				*ret_val = p;
				*ret_len = (size_t)n;
				found = true;
			}
			p += n;
			break;
		default:
			return false;
		}
	}
	return found;
}

static bool exact(const uint8_t *buf, size_t len, unsigned number,
		  const char *decoded)
{
	const uint8_t *v = NULL;
	size_t n = 0;

	if (!last_field(buf, len, number, &v, &n))
		return decoded[0] == '\0';
	return n == strlen(decoded) && !memcmp(v, decoded, n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	Referral__V1__Envelope env = REFERRAL__V1__ENVELOPE__INIT;
	Referral__V1__Header *h = referral__v1__header__unpack(NULL, size, data);
	envelope_policy_t pol = fuzz_policy();
	envelope_check_t c;
	uint8_t zeros[64] = { 0 }, *sig = NULL, *buf;
	size_t siglen = 0, n;
	int r;

	if (h) {
		EVP_PKEY *key = fuzz_lookup(NULL, h->from_node, h->key_id,
					    h->created_at_ms);
		envelope_kind_name(h->kind);
		util_referral_id_valid(h->referral_id);
		util_node_code_valid(h->from_node);
		util_node_code_valid(h->to_node);
		if (key)
			fuzz_sign(key, ENVELOPE_SIGN_PREFIX, data, size, &sig,
				  &siglen);
	}
	env.header.data = (uint8_t *)data;
	env.header.len = size;
	env.signature.data = sig ? sig : zeros;
	env.signature.len = sig ? siglen : sizeof(zeros);
	n = referral__v1__envelope__get_packed_size(&env);
	buf = malloc(n);
	if (!buf)
		goto out;
	referral__v1__envelope__pack(&env, buf);
	r = envelope_verify(&pol, buf, n, &c);
	fuzz_check_result(&c, r);
	if (r == REFERRAL__V1__RECEIPT_STATUS__STORED &&
	    (!h || h->version != 1 || h->msg_id.len != 16 ||
	     strcmp(h->from_node, FUZZ_PEER) || strcmp(h->to_node, FUZZ_SELF) ||
	     !exact(data, size, 3, h->from_node) ||
	     !exact(data, size, 4, h->to_node) ||
	     !exact(data, size, 8, h->key_id) ||
	     !exact(data, size, 9, h->referral_id)))
		fuzz_fail("a header that is not exactly what it says was stored");
	envelope_check_free(&c);
	free(buf);
out:
	free(sig);
	if (h)
		referral__v1__header__free_unpacked(h, NULL);
	return 0;
}
