/* envelope.h: build, sign, parse and verify referral.v1 envelopes.
 *
 * Promises:
 * - envelope_build signs the header bytes exactly as serialized here and
 *   never re-serializes them afterwards; what is stored is what is sent.
 * - envelope_verify checks an incoming envelope in DESIGN.md's order and
 *   stops at the first failure, naming the receipt status that answers it.
 *   It does no I/O and reads the time only from its policy, so it can be
 *   tested against fixed vectors.
 * Not thread-safe per envelope_check_t; otherwise no shared state. */
#ifndef REF_ENVELOPE_H
#define REF_ENVELOPE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <openssl/evp.h>

#include "referral.pb-c.h"

#define ENVELOPE_SIGN_PREFIX "referral.v1/envelope"  /* then one NUL byte */
#define ENVELOPE_BATCH_PREFIX "referral.v1/batch"   /* then one NUL byte */
#define ENVELOPE_VERSION 1

typedef struct {
	const char *node;     /* our node code: the header's from_node */
	const char *key_id;   /* which of our directory keys this is */
	EVP_PKEY *key;        /* borrowed */
} envelope_signer_t;

typedef struct {
	const char *to_node;
	Referral__V1__Kind kind;
	const char *referral_id;    /* may be NULL or "" for node-level kinds */
	uint64_t referral_seq;
	uint64_t created_at_ms;     /* 0: now */
	const uint8_t *msg_id;      /* 16 bytes, or NULL for a fresh UUIDv7 */
} envelope_fields_t;

/* envelope_build: serializes a header for f and body, signs it and returns
 * the envelope bytes (*ret_buf malloc'd, caller frees). ret_msg_id, if not
 * NULL, receives the 16-byte msg_id used. */
int envelope_build(const envelope_signer_t *signer, const envelope_fields_t *f,
		   const uint8_t *body, size_t body_len, uint8_t **ret_buf,
		   size_t *ret_len, uint8_t ret_msg_id[16]);

/* A header made and not yet signed: envelope_seal signs a batch of them
 * at once. The body is the draft's own copy. */
typedef struct {
	uint8_t *header, *body;
	size_t header_len, body_len;
	uint8_t msg_id[16];
} envelope_draft_t;

/* envelope_draft: f's header for body, under signer's node and key_id
 * (digest by the key's suite), with a fresh msg_id unless f names one. */
int envelope_draft(const envelope_signer_t *signer, const envelope_fields_t *f,
		   const uint8_t *body, size_t body_len, envelope_draft_t *ret);
void envelope_draft_free(envelope_draft_t *d);
/* envelope_sealed_max: the most bytes d's envelope can take once sealed in
 * a batch of at most max_count with a key_id of key_id_len bytes. */
size_t envelope_sealed_max(const envelope_draft_t *d, size_t key_id_len,
			   size_t max_count);
/* envelope_seal: signs n drafts (all made with signer's key_id) at once and
 * packs each into ret_bufs[i] (malloc'd), ret_lens[i]. n == 1: the single
 * form (the signature over the header). n > 1: DESIGN.md's batch form,
 * one signature over the RFC 6962 root of the headers' leaves and count,
 * each envelope with its own BatchProof (its index and audit path), so each
 * stays verifiable alone. On failure nothing is returned. */
int envelope_seal(const envelope_signer_t *signer,
		  const envelope_draft_t *const *drafts, size_t n,
		  uint8_t **ret_bufs, size_t *ret_lens);

/* The batch roots a verifier has already checked: one root signature
 * covers many envelopes, so it is verified once. An entry binds the
 * sender, the key id, the key object, the root, the count and the
 * signature's bytes; the holder empties it whenever the keys it looked up
 * may have changed (a directory put in force). With lock set, threads
 * checking envelopes at once share it: each look and each entry is made
 * under the lock (two threads may still both verify a root neither has
 * entered yet). */
#define ENVELOPE_ROOTS 64
typedef struct {
	uint8_t id[ENVELOPE_ROOTS][32];
	bool used[ENVELOPE_ROOTS];
	size_t next;
	pthread_mutex_t *lock;  /* NULL: one thread uses it */
} envelope_roots_t;
/* envelope_roots_clear: empties r; its lock stays. */
void envelope_roots_clear(envelope_roots_t *r);

/* The verifier's view of the directory: the public key of node's key_id if
 * that key is valid at at_ms (borrowed; must outlive the check), or NULL. */
typedef EVP_PKEY *(*envelope_key_lookup_fn)(void *ctx, const char *node,
					    const char *key_id, uint64_t at_ms);

typedef struct {
	const char *self;            /* this node's code */
	const char *peer;            /* the connection's ZAP User-Id */
	size_t max_bytes;            /* largest envelope accepted */
	uint64_t now_ms;
	uint64_t lifetime_ms;        /* oldest created_at_ms accepted: now - this */
	uint64_t future_ms;          /* newest accepted: now + this */
	envelope_key_lookup_fn lookup;
	void *lookup_ctx;
	envelope_roots_t *roots;     /* may be NULL: every root verified */
} envelope_policy_t;

typedef struct {
	Referral__V1__Envelope *env;   /* NULL if it did not parse */
	Referral__V1__Header *hdr;     /* NULL if it did not parse */
	uint8_t sha256[32];            /* of the envelope bytes as received */
	int status;                    /* a Referral__V1__ReceiptStatus */
	char detail[200];              /* for people; never personal data */
} envelope_check_t;

/* envelope_verify: fills *ret (always, even on failure: free it with
 * envelope_check_free) and returns ret->status: STORED (1) when every check
 * passed, else the reason code for the negative receipt. Kinds this module
 * knows no body schema for pass the body check; the caller decides. */
int envelope_verify(const envelope_policy_t *pol, const uint8_t *buf,
		    size_t len, envelope_check_t *ret);
void envelope_check_free(envelope_check_t *c);

/* envelope_verify_archived: the same checks for an envelope kept in a
 * store, as an auditor makes them later: addressing and freshness are
 * judged as of the envelope's own header (its to_node, from_node and
 * created_at_ms), so only the parse, the key valid at that time, the
 * signature, the digest and the body are left to fail. */
int envelope_verify_archived(envelope_key_lookup_fn lookup, void *lookup_ctx,
			     const uint8_t *buf, size_t len,
			     envelope_check_t *ret);

/* envelope_receipt_body: a serialized Receipt for a checked envelope.
 * *ret_buf malloc'd. */
int envelope_receipt_body(const envelope_check_t *c, uint64_t received_at_ms,
			  int status, const char *detail, uint8_t **ret_buf,
			  size_t *ret_len);

/* envelope_receipt_for: the Receipt that answers our message msg_id in a
 * checked receipt envelope's body: a RECEIPT's own, or the entry of a
 * RECEIPT_BATCH that names msg_id (an entry with no msg_id is matched by
 * sha256, the SHA-256 of our envelope, when given). *ret is the caller's
 * (referral__v1__receipt__free_unpacked); *ret_count, if not NULL, how
 * many receipts the body holds. 0, REF_E_NOT_FOUND (no entry for it),
 * REF_E_MALFORMED (the body does not parse as the kind's) or -ENOMEM. */
int envelope_receipt_for(uint32_t kind, const uint8_t *body, size_t blen,
			 const uint8_t msg_id[16], const uint8_t sha256[32],
			 Referral__V1__Receipt **ret, size_t *ret_count);

const char *envelope_status_name(int status);
const char *envelope_kind_name(int kind);

/* envelope_batch_root: the RFC 6962 root a BatchProof proves for leaf
 * SHA-256(0x00 || header); REF_E_MALFORMED for an inconsistent path. */
int envelope_batch_root(const uint8_t *header, size_t header_len,
			uint32_t index, uint32_t count, uint8_t *const *path,
			const size_t *path_len, size_t n_path, uint8_t out[32]);

#endif
