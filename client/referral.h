/* referral.h: libreferral, the public C API to a county's local referral
 * node (referrald), for intake systems, court and labour-bureau
 * integrations and the refctl CLI.
 *
 * The library talks to the node over the ipc:// socket in the node's data
 * folder. Every call that changes state carries a request id fixed before
 * the first try, so a call retried after a timeout is applied once.
 *
 * Conventions: functions return 0, a negative errno, or a positive REF_E_*
 * code (errors.h); ref_last_error() then says what was wrong and what to
 * do. Strings returned through ret_* are malloc'd and the caller frees
 * them. A ref_client_t is not thread-safe: use one per thread.
 * The library logs nothing. */
#ifndef REFERRAL_H
#define REFERRAL_H

#include <stddef.h>
#include <stdint.h>

#include "errors.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ref_client ref_client_t;

/* ref_open: a client for the node whose data folder is data_dir. Does not
 * contact the node yet. timeout_ms bounds each call (0: 10 s). */
int ref_open(const char *data_dir, int timeout_ms, ref_client_t **ret);
/* ref_close: safe on NULL and twice; sets *c to NULL. */
void ref_close(ref_client_t **c);
/* ref_last_error: the node's or the library's message for the last
 * failure, or after a success the node's note on it ("" if none, e.g.
 * that an origin's move waits for the receiver's confirmation); never
 * NULL; valid until the next call on c. */
const char *ref_last_error(const ref_client_t *c);

/* ref_status: the node's status as JSON (node, directory_version,
 * outbox counts, inbox count, store usage). */
int ref_status(ref_client_t *c, char **ret_json);

/* ref_submit: sends the application (JSON, as `refctl example application`
 * prints) to node to_node, or (to_node NULL) to the centre the node's
 * directory says serves the matter (its "serves" and "fallback"; refused,
 * with the candidates named, when two centres serve it). base_dir resolves documents given as "file"
 * (may be NULL); actor is the staff id recorded in the audit trail (may be
 * NULL). On success the node has committed the referral to its store and
 * *ret_referral_id is its id. */
int ref_submit(ref_client_t *c, const char *to_node, const char *app_json,
	       const char *base_dir, const char *actor, char **ret_referral_id);

/* ref_show: one referral as JSON, with "delivery" (pending, delivered or
 * dead), the attempts made, the receipt held, and the application. */
int ref_show(ref_client_t *c, const char *referral_id, char **ret_json);

enum { REF_BOX_INBOX = 1, REF_BOX_OUTBOX = 2, REF_BOX_DEAD = 3 };
/* ref_list: the referrals of one box as JSON; REF_BOX_DEAD lists the
 * messages given up (lifetime over or refused) and not yet requeued. */
int ref_list(ref_client_t *c, int box, char **ret_json);

/* ref_trail: every audit event of a referral, in order, as JSON. */
int ref_trail(ref_client_t *c, const char *referral_id, char **ret_json);

/* A move along the lifecycle (docs/LIFECYCLE.md). Unused fields NULL/0. */
typedef struct {
	const char *state;          /* the new state, e.g. "GRANTED" */
	const char *reason;
	const char *legal_basis;    /* e.g. "法律援助法第四十一条" */
	const char *const *items;   /* AWAITING_MATERIALS: every missing item */
	size_t n_items;
	const char *firm, *lawyer, *licence_no; /* ASSIGNED */
	const char *report;         /* CLOSED */
	const char *onward_to;      /* REFERRED_ONWARD */
	int aid_first;              /* Art 44: grant before the review ends */
	int as_admin;               /* the justice bureau's admin role */
	const char *urgency_ground; /* the Art 44 finding: limitation,
				     * preservation or other (state unused) */
	const char *withdrawal;     /* CANCELLED: how the applicant withdrew
				     * ("written": all a receiver records) */
} ref_move_t;

/* ref_move: makes the move if this node's party may make it from the
 * referral's current state; otherwise the error names the current state
 * and the moves open from it. *ret_id (may be NULL) gets the referral id,
 * or the new linked referral's id for REFERRED_ONWARD. */
int ref_move(ref_client_t *c, const char *referral_id, const ref_move_t *m,
	     const char *actor, char **ret_id);

/* ref_supplement: the origin relays the applicant's missing materials
 * (files read here); the referral goes back to RECEIVED once the
 * receiving centre has applied it and confirmed it back. */
int ref_supplement(ref_client_t *c, const char *referral_id,
		   const char *const *files, size_t n_files, const char *actor);

/* ref_overdue: referrals past a deadline or within 24 hours of one. */
int ref_overdue(ref_client_t *c, char **ret_json);

/* ref_audit_export: asks the node to allow an export with personal data
 * (what_json: {"since", "until", "format"}). The node checks that actor
 * has the admin role and records the export, or the refusal, in its audit
 * chain before answering; REF_E_REFUSED if actor is not an admin. */
int ref_audit_export(ref_client_t *c, const char *what_json, const char *actor);

/* ref_publish_directory: at the authority's node, installs a signed
 * directory (json and the base64 signature of directory.json.sig) and
 * sends it to every node it lists. *ret_json: {"version", "sent_to"}. */
int ref_publish_directory(ref_client_t *c, const uint8_t *json, size_t len,
			  const char *sig_b64, const char *actor,
			  char **ret_json);

/* ref_rotate_data_key: a new data key, current at once; the node seals
 * every record again under it while it serves, then drops the old one.
 * actor must have the admin role. *ret_json: {"key", "alg"}. */
int ref_rotate_data_key(ref_client_t *c, const char *actor, char **ret_json);

/* ref_requeue: sends every dead message of referral_id (NULL: of every
 * referral) again, each signed anew as a new message; the dead one points
 * to it. *ret_json: {"requeued": [{msg_id, referral_id, sent_as}]}. */
int ref_requeue(ref_client_t *c, const char *referral_id, const char *actor,
		char **ret_json);

/* ref_call: the node's operation `name` with its options as a JSON object
 * (json; NULL for none), as the node's "ops" operation describes them.
 * token: a bearer token the caller presented (the gateway passes it on:
 * the node authenticates it and acts for its holder, within its scope);
 * NULL for a local call, made as actor (a staff id). referral_id: the
 * referral the operation is about, or NULL. request_id (1 to 64 bytes, or
 * NULL for a new one): a call that writes is applied once per request id,
 * and a retry gets the first answer. On success *ret_json (if not NULL)
 * is the node's answer, a JSON object the caller frees. On failure returns
 * a REF_E_* code (REF_E_UNAUTHENTICATED, REF_E_FORBIDDEN, REF_E_CONFLICT
 * among them) or -errno, and ref_last_error says why. */
int ref_call(ref_client_t *c, const char *name, const char *token,
	     const char *actor, const char *request_id, const char *referral_id,
	     const char *json, char **ret_json);

/* ---- Many submissions in flight (a bulk transfer, a backlog) ----------
 *
 * ref_submit waits for each answer; a pipe keeps up to `window` submissions
 * in flight on one connection, each answered after the node's synced
 * commit, as ref_submit's are. Every request has its own id, fixed when it
 * is made: one that is not answered within the client's timeout is sent
 * again, the same bytes, and the node applies it once (a node killed and
 * restarted meanwhile answers it then). Answers come in any order, by the
 * caller's tag. One thread per pipe. */
typedef struct ref_pipe ref_pipe_t;

typedef struct {
	uint64_t tag;          /* the caller's, from ref_pipe_submit */
	int code;              /* 0, or a REF_E_* code (error says why) */
	char referral_id[48];  /* on success */
	char error[512];
} ref_pipe_done_t;

/* ref_pipe_open: a pipe to c's node (c must outlive it); window 1 to
 * 100000. 0, -EINVAL or -ENOMEM. */
int ref_pipe_open(ref_client_t *c, unsigned window, ref_pipe_t **ret);
/* ref_pipe_close: drops what is still in flight (the node may still
 * commit it); safe on NULL. */
void ref_pipe_close(ref_pipe_t **p);
/* ref_pack_application: the application (JSON, as ref_submit takes it)
 * checked and packed once, for ref_pipe_submit_packed; *ret_body is the
 * caller's to free. 0 or a REF_E_* code (ref_last_error says why). */
int ref_pack_application(ref_client_t *c, const char *app_json,
			 const char *base_dir, uint8_t **ret_body,
			 size_t *ret_len);
/* ref_pipe_submit_packed: one submission of a packed application to
 * to_node (NULL: the node routes it), as actor (may be NULL). While the
 * window is full it waits for answers, which are kept for ref_pipe_next.
 * 0, or REF_E_UNAVAILABLE if no answer came within the client's timeout
 * and nothing could be queued, or -ENOMEM. */
int ref_pipe_submit_packed(ref_pipe_t *p, const char *to_node,
			   const uint8_t *body, size_t len, const char *actor,
			   uint64_t tag);
/* ref_pipe_next: one answer, waiting up to timeout_ms (0: only what has
 * come). 0 with *ret filled, or REF_E_UNAVAILABLE if none came; resends
 * what is overdue while it waits. */
int ref_pipe_next(ref_pipe_t *p, int timeout_ms, ref_pipe_done_t *ret);
/* ref_pipe_in_flight: submissions sent and not yet answered. */
size_t ref_pipe_in_flight(const ref_pipe_t *p);

/* ref_strerror: a short name for a return code. */
const char *ref_strerror(int r);

#ifdef __cplusplus
}
#endif
#endif
