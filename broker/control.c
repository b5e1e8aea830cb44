/* control.c: see control.h. Writes the node's client socket. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <limits.h>
#include <sys/stat.h>
#include <zmq.h>

#include "application.h"
#include "control.h"
#include "delivery.h"
#include "dirsync.h"
#include "inbound.h"
#include "keys.h"
#include "lifecycle.h"
#include "log.h"
#include "overdue.h"
#include "peer.h"
#include "referrals.h"
#include "util.h"
#include "views.h"

typedef Referral__Local__V1__Request request_t;
typedef Referral__Local__V1__Reply reply_t;

static uint8_t *pack_reply(const reply_t *rep, size_t *len)
{
	uint8_t *b;

	*len = referral__local__v1__reply__get_packed_size(rep);
	b = malloc(*len ? *len : 1);
	if (b)
		referral__local__v1__reply__pack(rep, b);
	return b;
}

/* [roles] admins: the staff ids holding the justice bureau's admin role. */
static bool is_admin(node_t *n, const char *actor)
{
	const char *p = n->cfg.admins;
	size_t al = strlen(actor);

	if (!al)
		return false;
	while (*p) {
		size_t len;
		while (*p == ' ' || *p == ',')
			p++;
		len = strcspn(p, ", ");
		if (len == al && !strncmp(p, actor, len))
			return true;
		p += len;
	}
	return false;
}

/* The referral a request names, or a reply that says why not. */
static int referral_for(node_t *n, const char *id, reply_t *rep, char *err,
			size_t errlen, referral_rec_t **ret)
{
	int r = referrals_get(n, id, ret);

	if (r)
		state_fail_reply(rep, r, err, errlen, r == REF_E_NOT_FOUND
				 ? "no referral %.64s on this node"
				 : "referral %.64s cannot be read", id);
	return r;
}

/* The one place where "same request id, applied once" is checked: a
 * change request retried by the client gets the first answer and changes
 * nothing. True if req was already applied (rep then holds its answer). */
static bool request_done(node_t *n, const request_t *req, reply_t *rep)
{
	static char id[48];
	Referral__Store__V1__RequestRecord *prev = NULL;

	if (!req->request_id[0] ||
	    store_get_msg(n->store, STORE_REQUESTS, req->request_id,
			  strlen(req->request_id),
			  &referral__store__v1__request_record__descriptor,
			  (ProtobufCMessage **)&prev))
		return false;
	snprintf(id, sizeof(id), "%s", prev->referral_id);
	rep->referral_id = id;
	referral__store__v1__request_record__free_unpacked(prev, NULL);
	return true;
}

/* ... and where it is recorded, in the request's own event. */
static int request_record(node_t *n, const request_t *req,
			  const char *referral_id)
{
	Referral__Store__V1__RequestRecord rq =
		REFERRAL__STORE__V1__REQUEST_RECORD__INIT;

	if (!req->request_id[0] || strlen(req->request_id) > 64)
		return 0;
	rq.referral_id = (char *)referral_id;
	rq.created_at_ms = util_now_ms();
	return store_put_msg(n->store, STORE_REQUESTS, req->request_id,
			     strlen(req->request_id), &rq.base);
}

/* A move made here, by local staff: checked, applied, sent. */
static int op_move(node_t *n, const Referral__Local__V1__Request *req,
		   Referral__Local__V1__Reply *rep, char *err, size_t errlen)
{
	Referral__V1__StatusChange *sc;
	referral_rec_t *rr = NULL;
	unsigned party;
	uint64_t now = util_now_ms();
	static char onward[48];
	int r;

	onward[0] = '\0';
	sc = referral__v1__status_change__unpack(NULL, req->body.len,
						 req->body.data);
	if (!sc)
		return state_fail_reply(rep, REF_E_MALFORMED, err, errlen,
				  "the status change does not parse");
	r = referral_for(n, req->referral_id, rep, err, errlen, &rr);
	if (r)
		goto out;
	party = rr->direction == DIR_OUTGOING ? LC_ORIGIN : LC_RECEIVER;
	if (!strcmp(sc->actor_role, "admin")) {
		if (party != LC_RECEIVER || !is_admin(n, req->actor)) {
			r = state_fail_reply(rep, REF_E_REFUSED, err, errlen,
				       "actor %.64s does not hold the admin role "
				       "at this node ([roles] admins)",
				       req->actor[0] ? req->actor : "(none)");
			goto out;
		}
		party = LC_ADMIN;
	}
	if (lc_state_from_name(sc->state) == LC_WITHDRAWN) {
		r = state_fail_reply(rep, REF_E_REFUSED, err, errlen,
			       "WITHDRAWN is set by the node when the wait for "
			       "materials ends (Art 43); to stop a referral, "
			       "cancel it with a reason");
		goto out;
	}
	sc->round = 0; /* the node numbers the rounds, not the client */
	r = referrals_move_allowed(rr, sc, party, err, errlen);
	if (r) {
		rep->code = r;
		rep->error = err;
		goto out;
	}
	referrals_set_str(&sc->from_state, rr->state);
	referrals_set_str(&sc->actor, req->actor);
	sc->changed_at_ms = now;
	if (lc_state_from_name(sc->state) == LC_REFERRED_ONWARD) {
		const dir_node_t *dest = directory_node(n->dir, sc->onward_to);
		Referral__V1__ReferralSubmit *a;
		uint8_t *body = NULL;
		size_t blen = 0;

		if (!dest || !strcmp(dest->code, n->cfg.code) ||
		    !strcmp(dest->code, rr->origin_node)) {
			r = state_fail_reply(rep, REF_E_UNKNOWN_NODE, err, errlen,
				       "%.16s is not another county in the "
				       "directory", sc->onward_to);
			goto out;
		}
		if (!store_submit_allowed(n->store)) {
			r = state_fail_reply(rep, REF_E_STORE_FULL, err, errlen,
				       "store full: no new referral can be made "
				       "([store] map_max_mb = %lld)",
				       (long long)n->cfg.map_max_mb);
			goto out;
		}
		a = referrals_application_of(n, rr, &body, &blen);
		if (a && a->matter && !directory_accepts(dest, a->matter->case_type)) {
			referral__v1__referral_submit__free_unpacked(a, NULL);
			free(body);
			r = state_fail_reply(rep, REF_E_REFUSED, err, errlen,
				       "%s does not accept case type %s according "
				       "to the directory", dest->code,
				       rr->case_type);
			goto out;
		}
		if (!a || !body) {
			free(body);
			if (a)
				referral__v1__referral_submit__free_unpacked(a, NULL);
			r = state_fail_reply(rep, REF_E_CORRUPT, err, errlen,
				       "the application of %s cannot be read",
				       rr->referral_id);
			goto out;
		}
		r = referrals_new(n, dest, body, blen, a, req->actor,
				 rr->referral_id, onward, sizeof(onward), err,
				 errlen);
		free(body);
		referral__v1__referral_submit__free_unpacked(a, NULL);
		if (r) {
			if (!rep->code)
				state_fail_reply(rep, r, err, errlen, "%s",
					   err[0] ? err : ref_strerror(r));
			goto out;
		}
		referrals_set_str(&sc->onward_referral_id, onward);
	}
	if (party == LC_ORIGIN) {
		/* The receiver applies the origin's moves and confirms them
		 * back; until then the referral here keeps its state. */
		r = referrals_send_about(n, rr, REFERRAL__V1__KIND__STATUS_CHANGE,
			       &sc->base, rr->priority, now);
		if (!r)
			r = state_audit(n, "status_requested", rr->referral_id, NULL,
				  referrals_counterpart(n, rr), sc->actor, sc->state,
				  sc->reason);
		rep->error = "sent to the receiving centre, which applies it and "
			     "confirms it back";
	} else {
		r = referrals_apply_move(n, rr, sc, n->cfg.code, now, NULL);
		if (!r)
			r = referrals_send_about(n, rr, REFERRAL__V1__KIND__STATUS_CHANGE,
				       &sc->base, rr->priority, now);
	}
	if (!r)
		r = referrals_put(n, rr);
	if (r) {
		state_fail_reply(rep, r, err, errlen, "the move was not stored: %s",
			   ref_strerror(r));
		goto out;
	}
	rep->referral_id = onward[0] && sc->onward_referral_id[0] ? onward
								    : req->referral_id;
	log_msg(LOG_INFO, "lifecycle", "referral=%s %s -> %s by actor=%s",
		rr->referral_id, sc->from_state, sc->state, sc->actor);
out:
	if (rr)
		referral__store__v1__referral_record__free_unpacked(rr, NULL);
	referral__v1__status_change__free_unpacked(sc, NULL);
	return r;
}

/* The origin relays the applicant's supplement: AWAITING_MATERIALS ->
 * RECEIVED here, and the documents go to the receiver. */
static int op_supplement(node_t *n, const Referral__Local__V1__Request *req,
			 Referral__Local__V1__Reply *rep, char *err,
			 size_t errlen)
{
	Referral__V1__MaterialsSupplement *ms;
	Referral__V1__StatusChange sc = REFERRAL__V1__STATUS_CHANGE__INIT;
	referral_rec_t *rr = NULL;
	uint64_t now = util_now_ms();
	int r;

	ms = referral__v1__materials_supplement__unpack(NULL, req->body.len,
							req->body.data);
	if (!ms)
		return state_fail_reply(rep, REF_E_MALFORMED, err, errlen,
				  "the supplement does not parse");
	r = referral_for(n, req->referral_id, rep, err, errlen, &rr);
	if (r)
		goto out;
	if (!ms->n_documents) {
		r = state_fail_reply(rep, REF_E_INVALID, err, errlen,
			       "a supplement needs at least one document");
		goto out;
	}
	if (ms->n_documents > (size_t)n->cfg.max_documents) {
		r = state_fail_reply(rep, REF_E_TOO_LARGE, err, errlen,
			       "%zu documents, more than [limits] max_documents "
			       "= %lld", ms->n_documents,
			       (long long)n->cfg.max_documents);
		goto out;
	}
	for (size_t i = 0; i < ms->n_documents; i++)
		if (ms->documents[i]->content.len >
		    (size_t)n->cfg.max_document_bytes) {
			r = state_fail_reply(rep, REF_E_TOO_LARGE, err, errlen,
				       "document %zu is %zu bytes, more than "
				       "[limits] max_document_bytes = %lld", i + 1,
				       ms->documents[i]->content.len,
				       (long long)n->cfg.max_document_bytes);
			goto out;
		}
	sc.state = "RECEIVED";
	sc.reason = "materials supplied";
	r = referrals_move_allowed(rr, &sc, rr->direction == DIR_OUTGOING ? LC_ORIGIN
								: LC_RECEIVER,
			 err, errlen);
	if (r) {
		rep->code = r;
		rep->error = err;
		goto out;
	}
	sc.from_state = rr->state;
	sc.actor = req->actor;
	sc.changed_at_ms = now;
	sc.round = rr->materials_round;
	ms->round = rr->materials_round;
	referrals_set_str(&ms->actor, req->actor);
	/* The receiver applies it (back to RECEIVED) and confirms it; the
	 * referral here moves when that confirmation arrives. */
	r = referrals_send_about(n, rr, REFERRAL__V1__KIND__MATERIALS_SUPPLEMENT,
		       &ms->base, rr->priority, now);
	if (!r)
		r = state_audit(n, "status_requested", rr->referral_id, NULL,
			  referrals_counterpart(n, rr), req->actor, "RECEIVED",
			  "materials supplied");
	rep->error = "sent to the receiving centre, which applies it and "
		     "confirms it back";
	if (!r)
		r = referrals_put(n, rr);
	if (r == REF_E_TOO_LARGE)
		state_fail_reply(rep, r, err, errlen, "the supplement is larger than "
			   "[limits] max_message_bytes = %lld; send fewer or "
			   "smaller documents", (long long)n->cfg.max_message_bytes);
	else if (r)
		state_fail_reply(rep, r, err, errlen, "the supplement was not stored: %s",
			   ref_strerror(r));
	else
		rep->referral_id = req->referral_id;
out:
	if (rr)
		referral__store__v1__referral_record__free_unpacked(rr, NULL);
	referral__v1__materials_supplement__free_unpacked(ms, NULL);
	return r;
}

static int op_submit(node_t *n, const Referral__Local__V1__Request *req,
		     Referral__Local__V1__Reply *rep, char *err, size_t errlen)
{
	Referral__V1__ReferralSubmit *a = NULL;
	application_limits_t lim = {
		(size_t)n->cfg.max_document_bytes, (size_t)n->cfg.max_documents,
		NULL };
	const dir_node_t *dest;
	static char id[48];
	char inner[300];
	int r;

	dest = directory_node(n->dir, req->to_node);
	if (!dest)
		return state_fail_reply(rep, REF_E_UNKNOWN_NODE, err, errlen,
				  "destination %.16s is not a node in the "
				  "directory (version %llu); check the code or "
				  "ask the authority for a newer directory",
				  req->to_node,
				  (unsigned long long)n->dir->version);
	if (!strcmp(req->to_node, n->cfg.code))
		return state_fail_reply(rep, REF_E_INVALID, err, errlen,
				  "destination %s is this node: a referral goes "
				  "to another county", req->to_node);
	a = referral__v1__referral_submit__unpack(NULL, req->body.len,
						  req->body.data);
	if (!a)
		return state_fail_reply(rep, REF_E_MALFORMED, err, errlen,
				  "the application body does not parse");
	r = application_check(a, &lim, inner, sizeof(inner));
	if (r) {
		state_fail_reply(rep, r, err, errlen, "%s", inner);
		goto out;
	}
	if (!directory_accepts(dest, a->matter->case_type)) {
		r = state_fail_reply(rep, REF_E_REFUSED, err, errlen,
			       "%s (%s) does not accept case type %s according "
			       "to the directory", dest->code, dest->name,
			       a->matter->case_type);
		goto out;
	}
	if (!store_submit_allowed(n->store)) {
		r = state_fail_reply(rep, REF_E_STORE_FULL, err, errlen,
			       "store full: this node's store has reached its "
			       "limit ([store] map_max_mb = %lld); deliveries "
			       "go on, but new submissions are refused until "
			       "an admin makes room",
			       (long long)n->cfg.map_max_mb);
		goto out;
	}
	inner[0] = '\0';
	r = referrals_new(n, dest, req->body.data, req->body.len, a,
			 req->actor[0] ? req->actor : "local", NULL, id,
			 sizeof(id), inner, sizeof(inner));
	if (!r)
		r = request_record(n, req, id);
	if (r == REF_E_STORE_FULL && !store_at_limit(n->store)) {
		/* The map grows before the next turn: ask for a retry. */
		state_fail_reply(rep, REF_E_UNAVAILABLE, err, errlen,
			   "the store is growing; retry (the same request is "
			   "applied once)");
		goto out;
	}
	if (r == REF_E_STORE_FULL) {
		state_fail_reply(rep, r, err, errlen,
			   "store full: the referral could not be stored "
			   "([store] map_max_mb = %lld); nothing was accepted",
			   (long long)n->cfg.map_max_mb);
		goto out;
	}
	if (r) {
		if (inner[0])
			state_fail_reply(rep, r, err, errlen, "%s", inner);
		goto out;
	}
	rep->referral_id = id;
out:
	referral__v1__referral_submit__free_unpacked(a, NULL);
	return r;
}

/* A staff id goes into audit records, logs and trails: at most 64 bytes
 * of UTF-8 without spaces, controls or other invisible characters, so
 * that it can neither forge a log line nor look like another id. */
static bool staff_id_ok(const char *s)
{
	size_t len = strlen(s), i = 0, n;
	uint32_t cp;

	if (len > 64)
		return false;
	while (i < len) {
		n = util_utf8_decode(s + i, len - i, &cp);
		if (!n || cp == ' ' || util_invisible(cp))
			return false;
		i += n;
	}
	return true;
}

/* An export with personal data leaves only with an admin's name on it in
 * the audit chain: the node checks the role (the table) and records the
 * export (or the refusal) before refctl reads a byte. The record holds the
 * range and format, never the data. */
static bool export_detail(const request_t *req, char *buf, size_t len)
{
	json_t *o = json_loadb((const char *)req->body.data, req->body.len, 0,
			       NULL);
	const char *since = json_string_value(json_object_get(o, "since"));
	const char *until = json_string_value(json_object_get(o, "until"));
	const char *format = json_string_value(json_object_get(o, "format"));
	bool ok = json_is_object(o) && since && until && format &&
		  strlen(since) <= 40 && strlen(until) <= 40 &&
		  strlen(format) <= 8;

	if (ok)
		snprintf(buf, len, "with personal data: %s to %s, %s", since,
			 until, format);
	json_decref(o);
	return ok;
}

static int op_audit_export(node_t *n, const request_t *req, reply_t *rep,
			   char *err, size_t errlen)
{
	char detail[200];

	if (!export_detail(req, detail, sizeof(detail))) {
		state_fail_reply(rep, REF_E_MALFORMED, err, errlen, "the export "
				 "request does not parse (client and node "
				 "versions differ?)");
		return 0;
	}
	return state_audit(n, "export", NULL, NULL, NULL, req->actor, "ok",
			   detail);
}

static int op_status(node_t *n, const request_t *req, reply_t *rep, char *err,
		     size_t errlen)
{
	(void)req, (void)err, (void)errlen;
	return views_status(n, rep);
}

static int op_overdue(node_t *n, const request_t *req, reply_t *rep,
		      char *err, size_t errlen)
{
	(void)req, (void)err, (void)errlen;
	return overdue_list(n, rep);
}

static int op_list(node_t *n, const request_t *req, reply_t *rep, char *err,
		   size_t errlen)
{
	if (req->box == 3)
		return delivery_list_dead(n, rep, err, errlen);
	return views_list(n, req->box, rep, err, errlen);
}

static int op_show(node_t *n, const request_t *req, reply_t *rep, char *err,
		   size_t errlen)
{
	referral_rec_t *rr = NULL;
	int r = referral_for(n, req->referral_id, rep, err, errlen, &rr);

	if (!r)
		r = views_show(n, rr, rep, err, errlen);
	if (rr)
		referral__store__v1__referral_record__free_unpacked(rr, NULL);
	return r;
}

static int op_trail(node_t *n, const request_t *req, reply_t *rep, char *err,
		    size_t errlen)
{
	referral_rec_t *rr = NULL;
	int r = referral_for(n, req->referral_id, rep, err, errlen, &rr);

	if (!r)
		r = views_trail(n, rr, rep, err, errlen);
	if (rr)
		referral__store__v1__referral_record__free_unpacked(rr, NULL);
	return r;
}

/* ---- the table --------------------------------------------------------------- */

enum {
	WRITES = 1 << 0,   /* one event: all of the change, or none of it */
	ONCE = 1 << 1,     /* a retried request id gets the first answer */
	RECORD = 1 << 2,   /* the request id is recorded here on success */
	NEEDS_ID = 1 << 3, /* a request id is required */
};

enum { ROLE_STAFF = 0, ROLE_ADMIN = 1 };

typedef struct {
	Referral__Local__V1__Op op;
	const char *name;
	unsigned role;         /* ROLE_*: checked once, here */
	unsigned flags;
	uint32_t body_kind;    /* a body of this wire kind is held to [limits] */
	const char *refused;   /* what a caller without the role is told */
	const char *refusal_event; /* audited refusal, or NULL */
	bool (*describe)(const request_t *req, char *buf, size_t len);
	int (*handler)(node_t *n, const request_t *req, reply_t *rep,
		       char *err, size_t errlen);
} control_op_t;

/* Every operation a local client can ask for. A new operation is a row
 * here and a handler in the room that owns what it changes. */
static const control_op_t ops[] = {
	{ REFERRAL__LOCAL__V1__OP__OP_STATUS, "status", ROLE_STAFF, 0, 0,
	  NULL, NULL, NULL, op_status },
	{ REFERRAL__LOCAL__V1__OP__OP_SUBMIT, "submit", ROLE_STAFF,
	  WRITES | ONCE | NEEDS_ID, REFERRAL__V1__KIND__REFERRAL_SUBMIT,
	  NULL, NULL, NULL, op_submit },
	{ REFERRAL__LOCAL__V1__OP__OP_SHOW, "show", ROLE_STAFF, 0, 0,
	  NULL, NULL, NULL, op_show },
	{ REFERRAL__LOCAL__V1__OP__OP_LIST, "list", ROLE_STAFF, 0, 0,
	  NULL, NULL, NULL, op_list },
	{ REFERRAL__LOCAL__V1__OP__OP_TRAIL, "trail", ROLE_STAFF, 0, 0,
	  NULL, NULL, NULL, op_trail },
	{ REFERRAL__LOCAL__V1__OP__OP_MOVE, "move", ROLE_STAFF,
	  WRITES | ONCE | RECORD, REFERRAL__V1__KIND__STATUS_CHANGE,
	  NULL, NULL, NULL, op_move },
	{ REFERRAL__LOCAL__V1__OP__OP_SUPPLEMENT, "supplement", ROLE_STAFF,
	  WRITES | ONCE | RECORD, REFERRAL__V1__KIND__MATERIALS_SUPPLEMENT,
	  NULL, NULL, NULL, op_supplement },
	{ REFERRAL__LOCAL__V1__OP__OP_OVERDUE, "overdue", ROLE_STAFF, 0, 0,
	  NULL, NULL, NULL, op_overdue },
	{ REFERRAL__LOCAL__V1__OP__OP_AUDIT_EXPORT, "audit-export", ROLE_ADMIN,
	  WRITES, 0, "an export with personal data needs the admin role at "
	  "this node ([roles] admins); the refusal is recorded",
	  "export_refused", export_detail, op_audit_export },
	{ REFERRAL__LOCAL__V1__OP__OP_PUBLISH, "publish", ROLE_STAFF, WRITES, 0,
	  NULL, NULL, NULL, dirsync_op_publish },
	{ REFERRAL__LOCAL__V1__OP__OP_ROTATE_DATA_KEY, "rotate-data-key",
	  ROLE_ADMIN, WRITES, 0, "rotating the data key needs the admin role "
	  "at this node ([roles] admins)", NULL, NULL, keys_op_rotate },
	{ REFERRAL__LOCAL__V1__OP__OP_REQUEUE, "requeue", ROLE_STAFF, WRITES, 0,
	  NULL, NULL, NULL, delivery_requeue },
};

static const control_op_t *op_find(int op)
{
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		if ((int)ops[i].op == op)
			return &ops[i];
	return NULL;
}

int control_check(node_t *n, int op, const char *actor, const char **ret_why)
{
	const control_op_t *o = op_find(op);

	*ret_why = NULL;
	if (!o) {
		*ret_why = "unknown operation";
		return REF_E_INVALID;
	}
	if (o->role == ROLE_ADMIN && !is_admin(n, actor)) {
		*ret_why = o->refused;
		return REF_E_REFUSED;
	}
	return 0;
}

/* A caller without the operation's role: refused, and recorded where the
 * operation says so. */
static int refuse(node_t *n, const control_op_t *o, const request_t *req,
		  reply_t *rep, char *err, size_t errlen)
{
	char detail[200] = "";
	int r = 0;

	if (o->refusal_event) {
		if (o->describe)
			o->describe(req, detail, sizeof(detail));
		r = state_audit(n, o->refusal_event, NULL, NULL, NULL,
				req->actor[0] ? req->actor : "local", "REFUSED",
				detail);
	}
	if (!r)
		state_fail_reply(rep, REF_E_REFUSED, err, errlen, "%s",
				 o->refused);
	return r;
}

static void handle_client(node_t *n, const uint8_t *rid, size_t rid_len,
			  const uint8_t *buf, size_t len)
{
	request_t *req;
	reply_t rep = REFERRAL__LOCAL__V1__REPLY__INIT;
	reply_t fail = REFERRAL__LOCAL__V1__REPLY__INIT;
	const control_op_t *o = NULL;
	char err[512] = "";
	uint8_t *data, *fdata;
	size_t dlen, flen;
	turn_mark_t mark = NULL;
	int r = 0;

	req = referral__local__v1__request__unpack(NULL, len, buf);
	if (!req) {
		state_fail_reply(&rep, REF_E_MALFORMED, err, sizeof(err),
				 "the request does not parse (client and node "
				 "versions differ?)");
		goto reply;
	}
	if (!staff_id_ok(req->actor)) {
		state_fail_reply(&rep, REF_E_INVALID, err, sizeof(err),
				 "nothing was done: the staff id (--actor) must "
				 "be at most 64 bytes of UTF-8 without spaces, "
				 "control or other invisible characters");
		goto reply;
	}
	o = op_find(req->op);
	if (!o) {
		state_fail_reply(&rep, REF_E_INVALID, err, sizeof(err),
				 "unknown request %d", (int)req->op);
		goto reply;
	}
	if (o->body_kind) {
		char what[300];
		if (inbound_body_limits(n, o->body_kind, req->body.data,
					req->body.len, what, sizeof(what))) {
			state_fail_reply(&rep, REF_E_TOO_LARGE, err, sizeof(err),
					 "nothing was stored: %s", what);
			goto reply;
		}
	}
	if ((o->flags & NEEDS_ID) &&
	    (!req->request_id[0] || strlen(req->request_id) > 64)) {
		state_fail_reply(&rep, REF_E_INVALID, err, sizeof(err),
				 "the request has no request id (1 to 64 bytes)");
		goto reply;
	}
	if (o->flags & WRITES) {
		mark = turn_mark(&n->turn);
		if ((r = store_event_begin(n->store))) {
			state_fail_reply(&rep, r, err, sizeof(err), "store: %s",
					 ref_strerror(r));
			goto reply;
		}
	}
	if (o->role == ROLE_ADMIN && !is_admin(n, req->actor))
		r = refuse(n, o, req, &rep, err, sizeof(err));
	else if ((o->flags & ONCE) && request_done(n, req, &rep))
		r = 0;
	else
		r = o->handler(n, req, &rep, err, sizeof(err));
	if (!r && !rep.code && (o->flags & RECORD) && rep.referral_id[0] &&
	    (r = request_record(n, req, rep.referral_id)))
		state_fail_reply(&rep, r, err, sizeof(err), "the request was "
				 "not stored: %s", ref_strerror(r));
	if (o->flags & WRITES) {
		if (r || (r = store_event_commit(n->store))) {
			store_event_abort(n->store);
			turn_rollback(&n->turn, mark);
			if (!rep.code)
				state_fail_reply(&rep, r, err, sizeof(err),
						 "nothing was stored: %s",
						 ref_strerror(r));
			log_msg(LOG_WARN, "client", "request refused: %s", err);
		}
	}
reply:
	if (rep.code == 0 && r)
		state_fail_reply(&rep, r, err, sizeof(err), "%s", ref_strerror(r));
	data = pack_reply(&rep, &dlen);
	fail.code = REF_E_UNAVAILABLE;
	fail.error = "the node could not commit this request to its store; "
		     "retry (the same request is applied once)";
	fdata = pack_reply(&fail, &flen);
	if (data && fdata)
		turn_reply(&n->turn, n->client, rid, rid_len, true, data, dlen,
			   fdata, flen);
	else {
		free(data);
		free(fdata);
	}
	if (rep.json != protobuf_c_empty_string)
		free(rep.json);
	if (req)
		referral__local__v1__request__free_unpacked(req, NULL);
}

void control_drain(node_t *n)
{
	for (int i = 0; i < BATCH_PER_TURN; i++) {
		zmq_msg_t f[3];
		int nf = 0, more = 1;

		while (more) {
			zmq_msg_t x;
			zmq_msg_init(&x);
			if (zmq_msg_recv(&x, n->client, nf ? 0 : ZMQ_DONTWAIT) < 0) {
				zmq_msg_close(&x);
				if (nf == 0)
					return;
				break;
			}
			more = zmq_msg_more(&x);
			if (nf < 3)
				f[nf++] = x;
			else
				zmq_msg_close(&x);
		}
		/* A REQ client sends routing id, empty delimiter, request. */
		if (nf == 3 && zmq_msg_size(&f[1]) == 0)
			handle_client(n, zmq_msg_data(&f[0]), zmq_msg_size(&f[0]),
				      zmq_msg_data(&f[2]), zmq_msg_size(&f[2]));
		for (int k = 0; k < nf; k++)
			zmq_msg_close(&f[k]);
	}
}

int control_open(node_t *n, char *err, size_t errlen)
{
	char path[PATH_MAX + 64], ep[PATH_MAX + 80];
	/* Local clients are trusted: let an oversized submission in so it is
	 * answered "too large" instead of cut off unanswered. */
	int64_t cmax = (int64_t)512 << 20;
	int one = 1, r;

	n->client = zmq_socket(n->ctx, ZMQ_ROUTER);
	if (!n->client) {
		snprintf(err, errlen, "cannot make the client socket: %s",
			 zmq_strerror(errno));
		return -errno;
	}
	peers_socket_common(&n->peers, n->client);
	zmq_setsockopt(n->client, ZMQ_MAXMSGSIZE, &cmax, sizeof(cmax));
	zmq_setsockopt(n->client, ZMQ_ROUTER_MANDATORY, &one, sizeof(one));
	snprintf(path, sizeof(path), "%s/referrald.sock", n->cfg.data_dir);
	snprintf(ep, sizeof(ep), "ipc://%s", path);
	if (zmq_bind(n->client, ep) < 0) {
		r = -errno;
		snprintf(err, errlen, "cannot bind the client socket %s: %s",
			 ep, zmq_strerror(errno));
		return r;
	}
	chmod(path, 0660);
	return 0;
}

void control_close(node_t *n)
{
	if (n->client)
		zmq_close(n->client);
	n->client = NULL;
}
