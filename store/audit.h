/* audit.h: the hash-chained audit table.
 *
 * Every event a node handles (submitted, sent, receipt, verified, rejected,
 * admin action...) is appended as an AuditRecord whose prev_hash is the
 * SHA-256 of the previous record's stored bytes, so an edit, deletion or
 * reordering breaks the chain at a sequence number audit_verify can name.
 * Records carry ids, codes and outcomes only: never personal data.
 * Appends happen inside the store's turn; not thread-safe. */
#ifndef REF_AUDIT_H
#define REF_AUDIT_H

#include <stdint.h>
#include "store.h"
#include "store.pb-c.h"

typedef struct {
	const char *event;        /* e.g. "submitted", "receipt", "rejected" */
	const char *referral_id;  /* may be NULL */
	const uint8_t *msg_id;    /* 16 bytes or NULL */
	const char *peer;         /* node code or NULL */
	const char *actor;        /* staff id, "node" or NULL */
	const char *outcome;      /* e.g. "STORED", "BAD_SIGNATURE", "ok" */
	const char *detail;       /* for people; never personal data */
	uint64_t time_ms;         /* 0: now */
} audit_event_t;

/* audit_append: appends e; ret_seq (may be NULL) gets its sequence number. */
int audit_append(store_t *s, const audit_event_t *e, uint64_t *ret_seq);

/* audit_head: the last sequence number and its record's hash (0 and
 * zeros for an empty chain). */
int audit_head(store_t *s, uint64_t *ret_seq, uint8_t ret_hash[32]);
/* audit_hash_at: the SHA-256 of record seq's stored bytes. */
int audit_hash_at(store_t *s, uint64_t seq, uint8_t ret_hash[32]);

/* audit_foreach: every record in sequence order; fn as store_foreach_fn's
 * return convention, with the unpacked record (borrowed for the call). */
typedef int (*audit_fn)(void *ctx, const Referral__Store__V1__AuditRecord *r);
int audit_foreach(store_t *s, audit_fn fn, void *ctx);

/* audit_verify: recomputes the chain. REF_E_CORRUPT with *ret_bad_seq the
 * first sequence number that does not follow, or 0 when the chain holds.
 * ret_count gets the number of records checked. */
int audit_verify(store_t *s, uint64_t *ret_bad_seq, uint64_t *ret_count);

#endif
