/* views.h: the node's records as JSON for its local clients: a referral
 * (with its history, clocks, delivery and receipt checked again against
 * the directory in force, as an auditor would), the boxes, a trail, and
 * the node's status. Reads the store and the node's state; writes no
 * field, and no record but the audit chain's "read" when a token holder
 * is shown personal data. Times are RFC 3339 UTC. */
#ifndef REF_VIEWS_H
#define REF_VIEWS_H

#include "state.h"

/* views_referral: rr as JSON (full: with history, clocks, receipt and the
 * application); *ret_err: a record that could not be read. */
json_t *views_referral(node_t *n, const referral_rec_t *rr, bool full,
		       int *ret_err);
json_t *views_clocks(node_t *n, const referral_rec_t *rr,
		     uint64_t *ret_earliest);
json_t *views_history(node_t *n, const referral_rec_t *rr);
/* The client operations that read: each fills rep (json, or an error). */
int views_status(node_t *n, Referral__Local__V1__Reply *rep);
/* views_list: box 1 inbox, 2 outbox; filters (may be NULL): a JSON
 * object with state, overdue, cursor and limit. */
int views_list(node_t *n, uint32_t box, const uint8_t *filters, size_t flen,
	       Referral__Local__V1__Reply *rep, char *err, size_t errlen);
/* views_op_show: the "show" operation: the referral req names, whole for
 * the centre's staff (a token holder's read is recorded), or for a
 * court's or bureau's token the view it is owed of its own matter
 * (state, decisions, assignment; no personal data). */
int views_op_show(node_t *n, const Referral__Local__V1__Request *req,
		  Referral__Local__V1__Reply *rep, char *err, size_t errlen);
/* views_op_trail: the "trail" operation: the audit events of the
 * referral req names. */
int views_op_trail(node_t *n, const Referral__Local__V1__Request *req,
		   Referral__Local__V1__Reply *rep, char *err, size_t errlen);

/* views_call_metrics, views_call_audit: the "metrics" and "audit"
 * operations (control.c's table). */
int views_call_metrics(node_t *n, const principal_t *who,
		       const Referral__Local__V1__Request *req, json_t *opts,
		       Referral__Local__V1__Reply *rep, char *err,
		       size_t errlen);
int views_call_audit(node_t *n, const principal_t *who,
		     const Referral__Local__V1__Request *req, json_t *opts,
		     Referral__Local__V1__Reply *rep, char *err, size_t errlen);

#endif
