/* control.c: see control.h. Writes the node's client socket. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <limits.h>
#include <sys/stat.h>
#include <zmq.h>

#include "application.h"
#include "calls.h"
#include "casework.h"
#include "closing.h"
#include "checkpoint.h"
#include "control.h"
#include "delivery.h"
#include "dirsync.h"
#include "events.h"
#include "held.h"
#include "inbox.h"
#include "notice.h"
#include "notified.h"
#include "inbound.h"
#include "keys.h"
#include "lifecycle.h"
#include "log.h"
#include "objection.h"
#include "overdue.h"
#include "peer.h"
#include "principal.h"
#include "referrals.h"
#include "retention.h"
#include "routing.h"
#include "tokens.h"
#include "calendar.h"
#include "tzlocal.h"
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
	return views_list(n, req->box, req->body.data, req->body.len, rep, err,
			  errlen);
}

/* ---- named calls: adapters from JSON options ----------------------------- */

struct control_op;
typedef int (*build_fn)(node_t *n, const struct control_op *o, json_t *opts,
			request_t *req, uint8_t **ret_body, size_t *ret_len,
			char *err, size_t errlen);
typedef int (*call_fn)(node_t *n, const principal_t *who,
		       const request_t *req, json_t *opts, reply_t *rep,
		       char *err, size_t errlen);

/* ---- the table --------------------------------------------------------------- */

enum {
	WRITES = 1 << 0,   /* one event: all of the change, or none of it */
	ONCE = 1 << 1,     /* a retried request id gets the first answer */
	RECORD = 1 << 2,   /* the request id is recorded here on success */
	NEEDS_ID = 1 << 3, /* a request id is required */
	NEEDS_REF = 1 << 4, /* a referral id is required */
	AID_FIRST = 1 << 5, /* a move: Art 44's aid first */
	AS_ADMIN = 1 << 6,  /* a move: the justice bureau admin's */
	LOCAL_ONLY = 1 << 7, /* never through a token */
	OPERATOR = 1 << 8,  /* the node's own account, or an admin (tokens) */
	ANYONE = 1 << 9,    /* any account reaching the socket (the gateway) */
};

enum { ROLE_STAFF = 0, ROLE_ADMIN = 1 };

/* Token scopes an operation lets through (local callers: by role). */
#define S_COURT (1u << SCOPE_COURT)
#define S_LABOUR (1u << SCOPE_LABOUR)
#define S_STAFF (1u << SCOPE_STAFF)
#define S_ADMIN (1u << SCOPE_ADMIN)
#define S_AGENCY (S_COURT | S_LABOUR)
#define S_CENTRE (S_STAFF | S_ADMIN)

typedef struct control_op {
	Referral__Local__V1__Op op; /* its local operation (OP_CALL: by name only) */
	const char *name;      /* its name for OP_CALL, the gateway and "ops" */
	const char *kind;      /* for "ops": move, submit, show, list, event,
				  events, read, write */
	unsigned role;         /* ROLE_*: local callers, checked once, here */
	unsigned scopes;       /* S_*: token holders, checked once, here */
	unsigned flags;
	uint32_t body_kind;    /* a body of this wire kind is held to [limits] */
	const char *refused;   /* what a caller without the role is told */
	const char *refusal_event; /* audited refusal, or NULL */
	bool (*describe)(const request_t *req, char *buf, size_t len);
	int (*handler)(node_t *n, const request_t *req, reply_t *rep,
		       char *err, size_t errlen);
	/* OP_CALL: */
	const char *state;     /* a move: the state it moves to */
	build_fn build;        /* JSON options -> the handler's request */
	call_fn call;          /* or a handler of its own */
	const char *summary;
	const char *options;   /* JSON Schema of the options */
} control_op_t;

static int build_move(node_t *n, const control_op_t *o, json_t *opts,
		      request_t *req, uint8_t **ret_body, size_t *ret_len,
		      char *err, size_t errlen)
{
	const char *state = o->state;
	referral_rec_t *rr = NULL;
	int r;

	if (!strcmp(o->name, "mark-urgent")) {
		if (!state_str(opts, "ground")[0]) {
			snprintf(err, errlen, "mark-urgent needs \"ground\": "
				 "limitation, preservation or other (Art 44)");
			return REF_E_INVALID;
		}
	} else if (!state[0]) {
		/* Replacing the lawyer keeps the state the referral is in. */
		if (referrals_get(n, req->referral_id, &rr) == 0) {
			state = strcmp(rr->state, "IN_PROGRESS") ? "ASSIGNED"
								  : "IN_PROGRESS";
			referral__store__v1__referral_record__free_unpacked(rr,
									    NULL);
		} else {
			state = "ASSIGNED";
		}
	}
	r = calls_move(state, o->flags & AS_ADMIN, o->flags & AID_FIRST, opts,
		       req->actor, ret_body, ret_len, err, errlen);
	return r;
}

static int build_supplement(node_t *n, const control_op_t *o, json_t *opts,
			    request_t *req, uint8_t **ret_body, size_t *ret_len,
			    char *err, size_t errlen)
{
	(void)o, (void)req;
	return calls_supplement(opts, (size_t)n->cfg.max_documents,
				(size_t)n->cfg.max_document_bytes, ret_body,
				ret_len, err, errlen);
}

static int build_submit(node_t *n, const control_op_t *o, json_t *opts,
			request_t *req, uint8_t **ret_body, size_t *ret_len,
			char *err, size_t errlen)
{
	static char to[8];

	(void)o;
	snprintf(to, sizeof(to), "%s", state_str(opts, "to"));
	req->to_node = to;
	return calls_application(opts, (size_t)n->cfg.max_documents,
				 (size_t)n->cfg.max_document_bytes, ret_body,
				 ret_len, err, errlen);
}

static int build_list(node_t *n, const control_op_t *o, json_t *opts,
		      request_t *req, uint8_t **ret_body, size_t *ret_len,
		      char *err, size_t errlen)
{
	const char *box = state_str(opts, "box");
	char *text;

	(void)n, (void)o;
	req->box = !strcmp(box, "inbox") ? 1 : !strcmp(box, "dead") ? 3 : 2;
	if (box[0] && strcmp(box, "inbox") && strcmp(box, "outbox") &&
	    strcmp(box, "dead")) {
		snprintf(err, errlen, "box is inbox, outbox or dead");
		return REF_E_INVALID;
	}
	/* The filters travel as the body: views_list reads them. */
	text = json_dumps(opts, JSON_COMPACT);
	if (!text)
		return -ENOMEM;
	*ret_body = (uint8_t *)text;
	*ret_len = strlen(text);
	return 0;
}

static int call_ops(node_t *n, const principal_t *who, const request_t *req,
		    json_t *opts, reply_t *rep, char *err, size_t errlen);
static int call_whoami(node_t *n, const principal_t *who, const request_t *req,
		       json_t *opts, reply_t *rep, char *err, size_t errlen);

#define MOVE(nm, st, fl, sum, opt) \
	{ REFERRAL__LOCAL__V1__OP__OP_MOVE, nm, "move", ROLE_STAFF, S_CENTRE, \
	  WRITES | ONCE | RECORD | NEEDS_ID | NEEDS_REF | (fl), \
	  REFERRAL__V1__KIND__STATUS_CHANGE, NULL, NULL, NULL, casework_move, \
	  st, build_move, NULL, sum, opt }
#define O_REASON "\"reason\":{\"type\":\"string\"}"
#define O_BASIS "\"legal_basis\":{\"type\":\"string\",\"description\":\"the article relied on\"}"
#define O_LAWYER "\"firm\":{\"type\":\"string\"},\"lawyer\":{\"type\":\"string\"}," \
	"\"licence_no\":{\"type\":\"string\"},\"contact\":{\"type\":\"string\"}"
#define SCHEMA(props, req) "{\"type\":\"object\",\"properties\":{" props "}," \
	"\"required\":[" req "],\"additionalProperties\":false}"

/* Every operation a local client or the gateway can ask for. A new
 * operation is a row here and a handler in the room that owns what it
 * changes; the gateway's API and its OpenAPI document follow the table
 * ("ops"). */
static const control_op_t ops[] = {
	{ REFERRAL__LOCAL__V1__OP__OP_STATUS, "status", "read", ROLE_STAFF,
	  S_ADMIN, 0, 0, NULL, NULL, NULL, op_status, NULL, NULL, NULL,
	  "the node's health, queues, store and peers", SCHEMA("", "") },
	{ REFERRAL__LOCAL__V1__OP__OP_SUBMIT, "submit", "submit", ROLE_STAFF,
	  S_CENTRE, WRITES | ONCE | RECORD | NEEDS_ID,
	  REFERRAL__V1__KIND__REFERRAL_SUBMIT, NULL, NULL, NULL,
	  routing_submit, NULL, build_submit, NULL,
	  "a new referral to the centre with jurisdiction",
	  SCHEMA("\"to\":{\"type\":\"string\",\"description\":\"the receiving "
		 "centre's six-digit code; left out, the directory's serves "
		 "and fallback pick it (see route)\"},\"application\":{"
		 "\"type\":\"object\"}", "\"application\"") },
	{ REFERRAL__LOCAL__V1__OP__OP_SHOW, "show", "show", ROLE_STAFF,
	  S_CENTRE | S_AGENCY, NEEDS_REF | WRITES, 0, NULL, NULL, NULL, views_op_show, NULL,
	  NULL, NULL, "one referral: its state, history, clocks and delivery",
	  SCHEMA("", "") },
	{ REFERRAL__LOCAL__V1__OP__OP_LIST, "list", "list", ROLE_STAFF, S_CENTRE,
	  0, 0, NULL, NULL, NULL, op_list, NULL, build_list, NULL,
	  "the referrals of a box, most urgent first",
	  SCHEMA("\"box\":{\"type\":\"string\",\"enum\":[\"inbox\",\"outbox\","
		 "\"dead\"]},\"state\":{\"type\":\"string\"},\"overdue\":{"
		 "\"type\":\"boolean\"},\"open\":{\"type\":\"boolean\","
		 "\"description\":\"leave out closed cases\"},\"from\":{\"type\":"
		 "\"string\",\"description\":\"the origin's six-digit code\"},"
		 "\"since\":{\"type\":\"string\",\"description\":\"made on or "
		 "after: YYYY-MM-DD or an RFC 3339 time\"},"
		 "\"cursor\":{\"type\":\"string\"},"
		 "\"limit\":{\"type\":\"integer\"}", "") },
	{ REFERRAL__LOCAL__V1__OP__OP_TRAIL, "trail", "read", ROLE_STAFF,
	  S_CENTRE, NEEDS_REF, 0, NULL, NULL, NULL, views_op_trail, NULL, NULL, NULL,
	  "every audit event of a referral, in order", SCHEMA("", "") },
	{ REFERRAL__LOCAL__V1__OP__OP_MOVE, "move", NULL, ROLE_STAFF, 0,
	  WRITES | ONCE | RECORD | LOCAL_ONLY,
	  REFERRAL__V1__KIND__STATUS_CHANGE, NULL, NULL, NULL, casework_move,
	  NULL, NULL, NULL, NULL, NULL },
	{ REFERRAL__LOCAL__V1__OP__OP_SUPPLEMENT, "supplement", "move",
	  ROLE_STAFF, S_CENTRE, WRITES | ONCE | RECORD | NEEDS_REF,
	  REFERRAL__V1__KIND__MATERIALS_SUPPLEMENT, NULL, NULL, NULL,
	  casework_supplement, NULL, build_supplement, NULL,
	  "the applicant's missing materials, relayed by the origin",
	  SCHEMA("\"documents\":{\"type\":\"array\",\"items\":{\"type\":"
		 "\"object\",\"properties\":{\"type\":{\"type\":\"string\"},"
		 "\"name\":{\"type\":\"string\"},\"content_base64\":{\"type\":"
		 "\"string\"}}}}", "\"documents\"") },
	{ REFERRAL__LOCAL__V1__OP__OP_OVERDUE, "overdue", "read", ROLE_STAFF,
	  S_CENTRE, 0, 0, NULL, NULL, NULL, op_overdue, NULL, NULL, NULL,
	  "clocks past due or due within 24 hours", SCHEMA("", "") },
	{ REFERRAL__LOCAL__V1__OP__OP_AUDIT_EXPORT, "audit-export", NULL,
	  ROLE_ADMIN, 0, WRITES | LOCAL_ONLY, 0, "an export with personal data "
	  "needs the admin role at this node ([roles] admins); the refusal is "
	  "recorded", "export_refused", export_detail, op_audit_export, NULL,
	  NULL, NULL, NULL, NULL },
	{ REFERRAL__LOCAL__V1__OP__OP_PUBLISH, "publish", NULL, ROLE_STAFF, 0,
	  WRITES | LOCAL_ONLY | OPERATOR, 0, NULL, NULL, NULL,
	  dirsync_op_publish, NULL, NULL, NULL, NULL, NULL },
	{ REFERRAL__LOCAL__V1__OP__OP_ROTATE_DATA_KEY, "rotate-data-key", NULL,
	  ROLE_ADMIN, 0, WRITES | LOCAL_ONLY, 0, "rotating the data key needs "
	  "the admin role at this node ([roles] admins)", NULL, NULL,
	  keys_op_rotate, NULL, NULL, NULL, NULL, NULL },
	{ REFERRAL__LOCAL__V1__OP__OP_REQUEUE, "requeue", "write", ROLE_STAFF,
	  S_ADMIN, WRITES | ONCE | NEEDS_ID, 0, NULL, NULL, NULL,
	  delivery_requeue, NULL, NULL, NULL,
	  "a dead message signed anew and sent again", SCHEMA("", "") },
	/* Moves, by the names refctl and the gateway use. */
	MOVE("accept", "GRANTED", 0, "grant legal aid", SCHEMA(O_REASON, "")),
	MOVE("deny", "DENIED", 0, "refuse legal aid, with the reason and the "
	     "article", SCHEMA(O_REASON "," O_BASIS, "\"reason\",\"legal_basis\"")),
	MOVE("request-materials", "AWAITING_MATERIALS", 0, "the one-time notice "
	     "of every missing item", SCHEMA("\"items\":{\"type\":\"array\","
	     "\"items\":{\"type\":\"string\"}}," O_REASON, "\"items\"")),
	MOVE("pre-aid", "GRANTED", AID_FIRST, "aid first in an urgent case "
	     "(Art 44)", SCHEMA(O_REASON, "\"reason\"")),
	MOVE("assign", "ASSIGNED", 0, "the firm and lawyer assigned",
	     SCHEMA(O_LAWYER, "\"firm\",\"lawyer\",\"licence_no\"")),
	MOVE("reassign", "", 0, "the assigned lawyer replaced (the state stays)",
	     SCHEMA(O_LAWYER "," O_REASON,
		    "\"firm\",\"lawyer\",\"licence_no\",\"reason\"")),
	MOVE("start", "IN_PROGRESS", 0, "the lawyer started", SCHEMA("", "")),
	MOVE("hold", "ON_HOLD", 0, "the case paused", SCHEMA(O_REASON, "\"reason\"")),
	MOVE("resume", "IN_PROGRESS", 0, "the case resumed", SCHEMA("", "")),
	MOVE("terminate", "TERMINATED", 0, "aid terminated on an Art 48 ground",
	     SCHEMA(O_REASON "," O_BASIS "," CLOSING_GROUND,
		    "\"reason\",\"ground\"")),
	MOVE("close", "CLOSED", 0, "the case closed, with the closing report "
	     "and the coded outcome", SCHEMA("\"report\":{\"type\":\"string\"},"
	     CLOSING_OUTCOME, "\"report\",\"outcome\"")),
	MOVE("review", "REVIEWED", 0, "the file review of a closed case (结案审查)"
	     ", by a staff id other than the one that closed it",
	     SCHEMA(CLOSING_REVIEW, "\"follow_up\",\"follow_up_on\","
		    "\"quality_score\"")),
	MOVE("cancel", "CANCELLED", 0, "the referral cancelled: at the "
	     "receiver only to record the applicant's written withdrawal",
	     SCHEMA(O_REASON ",\"applicant_withdrawal\":{\"type\":\"string\","
		    "\"description\":\"how the applicant withdrew (written)\"}",
		    "\"reason\"")),
	MOVE("mark-urgent", "", 0, "the Art 44 urgency finding (the state "
	     "stays; the referral goes first)", SCHEMA("\"ground\":{\"type\":"
	     "\"string\",\"enum\":[\"limitation\",\"preservation\","
	     "\"other\"]}," O_REASON, "\"ground\",\"reason\"")),
	MOVE("refer-onward", "REFERRED_ONWARD", 0, "sent on to the centre with "
	     "jurisdiction", SCHEMA("\"onward_to\":{\"type\":\"string\"},"
	     O_REASON, "\"onward_to\",\"reason\"")),
	/* Objections (Art 49), at the justice bureau's node (objection.c). */
	{ REFERRAL__LOCAL__V1__OP__OP_CALL, "object", "move", ROLE_STAFF,
	  S_CENTRE, WRITES | ONCE | RECORD | NEEDS_ID | NEEDS_REF, 0, NULL, NULL,
	  NULL, NULL, NULL, NULL, objection_call_object, "the applicant's "
	  "objection (Art 49) to a centre's denial or termination, recorded at "
	  "the justice bureau's node and sent to the centre",
	  SCHEMA("\"centre\":{\"type\":\"string\",\"description\":\"the "
		 "centre that refused\"}," O_REASON, "\"centre\",\"reason\"") },
	{ REFERRAL__LOCAL__V1__OP__OP_CALL, "decide-objection", "move",
	  ROLE_STAFF, S_CENTRE, WRITES | ONCE | RECORD | NEEDS_ID | NEEDS_REF, 0,
	  NULL, NULL, NULL, NULL, NULL, NULL, objection_call_decide,
	  "the justice bureau's decision on an objection, by one of its "
	  "objection_reviewers", SCHEMA("\"decision\":{\"type\":\"string\","
	  "\"enum\":[\"uphold\",\"grant\"]}," O_REASON, "\"decision\"") },
	/* Operations that exist only by name. */
	{ REFERRAL__LOCAL__V1__OP__OP_CALL, "ops", "read", ROLE_STAFF,
	  S_CENTRE | S_AGENCY, ANYONE, 0, NULL, NULL, NULL, NULL, NULL, NULL,
	  call_ops, "the operations this node offers", SCHEMA("", "") },
	{ REFERRAL__LOCAL__V1__OP__OP_CALL, "route", "read", ROLE_STAFF,
	  S_CENTRE, 0, 0, NULL, NULL, NULL, NULL, NULL, NULL,
	  routing_call_route, "which centre a submit without \"to\" would "
	  "pick, and why", SCHEMA("\"application\":{\"type\":\"object\"}",
	  "\"application\"") },
	{ REFERRAL__LOCAL__V1__OP__OP_CALL, "docs", "read", ROLE_STAFF,
	  S_CENTRE, NEEDS_REF | WRITES, 0, NULL, NULL, NULL, NULL, NULL, NULL,
	  inbox_call_docs, "the documents of the application and its "
	  "supplements, with their bytes", SCHEMA("", "") },
	{ REFERRAL__LOCAL__V1__OP__OP_CALL, "whoami", "read", ROLE_STAFF,
	  S_CENTRE | S_AGENCY, 0, 0, NULL, NULL, NULL, NULL, NULL, NULL,
	  call_whoami, "who the token stands for", SCHEMA("", "") },
	{ REFERRAL__LOCAL__V1__OP__OP_CALL, "event", "event", ROLE_STAFF,
	  S_AGENCY, WRITES | ONCE | RECORD | NEEDS_ID, 0, NULL, NULL, NULL,
	  NULL, NULL, NULL, events_call_send, "a court's or labour bureau's event",
	  EVENTS_OPTIONS },
	{ REFERRAL__LOCAL__V1__OP__OP_CALL, "events", "events", ROLE_STAFF,
	  S_AGENCY | S_ADMIN, 0, 0, NULL, NULL, NULL, NULL, NULL, NULL,
	  events_call_feed, "what a court's or bureau's system is owed, in "
	  "order", SCHEMA("\"cursor\":{\"type\":\"string\"},\"limit\":{"
			  "\"type\":\"integer\"}", "") },
	{ REFERRAL__LOCAL__V1__OP__OP_CALL, "metrics", "read", ROLE_STAFF,
	  S_ADMIN, 0, 0, NULL, NULL, NULL, NULL, NULL, NULL, views_call_metrics,
	  "queue depths, delivery latency, receipts, overdue, store, peers",
	  SCHEMA("", "") },
	{ REFERRAL__LOCAL__V1__OP__OP_CALL, "calendar-due", "read", ROLE_STAFF,
	  S_CENTRE | S_ADMIN, 0, 0, NULL, NULL, NULL, NULL, NULL, NULL,
	  calendar_call_due, "the due day of a period (Civil Code counting, "
	  "the node's holiday calendar)", CALENDAR_DUE_OPTIONS },
	{ REFERRAL__LOCAL__V1__OP__OP_CALL, "audit", "read", ROLE_STAFF,
	  S_ADMIN, 0, 0, NULL, NULL, NULL, NULL, NULL, NULL, views_call_audit,
	  "the audit chain's last check and its witnesses", SCHEMA("", "") },
	{ REFERRAL__LOCAL__V1__OP__OP_CALL, "restore-acknowledge", NULL,
	  ROLE_ADMIN, 0, WRITES | LOCAL_ONLY, 0, "acknowledging a rolled-back "
	  "store needs the admin role at this node ([roles] admins)", NULL,
	  NULL, NULL, NULL, NULL, checkpoint_call_acknowledge, NULL, NULL },
	{ REFERRAL__LOCAL__V1__OP__OP_CALL, "notice-data", "move", ROLE_STAFF,
	  S_CENTRE, WRITES | NEEDS_REF, 0, NULL, NULL, NULL, NULL, NULL, NULL,
	  notice_call_data, "a notice's fields for the applicant, numbered "
	  "(refctl notice renders it)", SCHEMA("\"type\":{\"type\":\"string\","
	  "\"enum\":[\"materials\",\"grant\",\"denial\",\"assignment\","
	  "\"termination\",\"withdrawal\"]}", "\"type\"") },
	{ REFERRAL__LOCAL__V1__OP__OP_CALL, "notified", "move", ROLE_STAFF,
	  S_CENTRE, WRITES | ONCE | RECORD | NEEDS_ID | NEEDS_REF, 0, NULL,
	  NULL, NULL, NULL, NULL, NULL, notified_call, "the applicant notified of a decision (the state "
	  "stays)", SCHEMA("\"how\":{\"type\":\"string\",\"enum\":[\"post\","
	  "\"in-person\",\"sms\"]},\"on\":{\"type\":\"string\",\"format\":"
	  "\"date\"}", "\"how\",\"on\"") },
	/* Held changes (held.c): the node's admin, on the node's machine. */
	{ REFERRAL__LOCAL__V1__OP__OP_CALL, "held-list", NULL, ROLE_STAFF, 0,
	  LOCAL_ONLY, 0, NULL, NULL, NULL, NULL, NULL, NULL, held_call_list,
	  NULL, NULL },
	{ REFERRAL__LOCAL__V1__OP__OP_CALL, "held-drop", NULL, ROLE_ADMIN, 0,
	  WRITES | LOCAL_ONLY, 0, "dropping held changes needs the admin role "
	  "at this node ([roles] admins); the refusal is recorded",
	  "held_drop_refused", NULL, NULL, NULL, NULL, held_call_drop, NULL,
	  NULL },
	{ REFERRAL__LOCAL__V1__OP__OP_CALL, "purge", NULL, ROLE_ADMIN, 0,
	  WRITES | LOCAL_ONLY, 0, RETENTION_REFUSED, "purge_refused", NULL, NULL,
	  NULL, NULL, retention_call, NULL, NULL },
	{ REFERRAL__LOCAL__V1__OP__OP_CALL, "legal-hold-set", NULL, ROLE_ADMIN, 0,
	  WRITES | LOCAL_ONLY | NEEDS_REF, 0, RETENTION_REFUSED,
	  "legal_hold_refused", NULL, NULL, NULL, NULL, retention_call, NULL,
	  NULL },
	{ REFERRAL__LOCAL__V1__OP__OP_CALL, "legal-hold-clear", NULL, ROLE_ADMIN,
	  0, WRITES | LOCAL_ONLY | NEEDS_REF, 0, RETENTION_REFUSED,
	  "legal_hold_refused", NULL, NULL, NULL, NULL, retention_call, NULL,
	  NULL },
	{ REFERRAL__LOCAL__V1__OP__OP_CALL, "legal-hold-list", NULL, ROLE_STAFF,
	  0, LOCAL_ONLY, 0, NULL, NULL, NULL, NULL, NULL, NULL, retention_call,
	  NULL, NULL },
	{ REFERRAL__LOCAL__V1__OP__OP_CALL, "token-create", NULL, ROLE_STAFF, 0,
	  WRITES | LOCAL_ONLY | OPERATOR, 0, NULL, NULL, NULL, NULL, NULL, NULL,
	  tokens_call, NULL, NULL },
	{ REFERRAL__LOCAL__V1__OP__OP_CALL, "token-list", NULL, ROLE_STAFF, 0,
	  LOCAL_ONLY | OPERATOR, 0, NULL, NULL, NULL, NULL, NULL, NULL,
	  tokens_call, NULL, NULL },
	{ REFERRAL__LOCAL__V1__OP__OP_CALL, "token-revoke", NULL, ROLE_STAFF, 0,
	  WRITES | LOCAL_ONLY | OPERATOR, 0, NULL, NULL, NULL, NULL, NULL, NULL,
	  tokens_call, NULL, NULL },
};

#define N_OPS (sizeof(ops) / sizeof(ops[0]))

static const control_op_t *op_find(int op)
{
	for (size_t i = 0; i < N_OPS; i++)
		if ((int)ops[i].op == op && op != REFERRAL__LOCAL__V1__OP__OP_CALL)
			return &ops[i];
	return NULL;
}

static const control_op_t *op_named(const char *name)
{
	for (size_t i = 0; i < N_OPS; i++)
		if (!strcmp(ops[i].name, name))
			return &ops[i];
	return NULL;
}

/* The caller may ask for o: one check, for local callers and tokens. */
static int allowed(node_t *n, const control_op_t *o, const principal_t *who,
		   const char **ret_why)
{
	*ret_why = NULL;
	if (who->token) {
		if (!(o->scopes & (1u << who->scope)) || (o->flags & LOCAL_ONLY)) {
			*ret_why = "this token's scope does not allow it";
			return REF_E_FORBIDDEN;
		}
		if (o->role == ROLE_ADMIN && who->scope != SCOPE_ADMIN) {
			*ret_why = o->refused;
			return REF_E_FORBIDDEN;
		}
		return 0;
	}
	if (o->role == ROLE_ADMIN && !state_is_admin(n, who)) {
		*ret_why = o->refused;
		return REF_E_REFUSED;
	}
	/* A staff account (principal.c) minting itself an admin token would
	 * be an admin: tokens and directories are the operator's. */
	if ((o->flags & OPERATOR) && who->scope != SCOPE_LOCAL &&
	    !state_is_admin(n, who)) {
		*ret_why = "tokens and directories are managed by the node's "
			   "own OS account or an admin ([roles] admins)";
		return REF_E_REFUSED;
	}
	return 0;
}

int control_check(node_t *n, int op, const char *actor, const char **ret_why)
{
	const control_op_t *o = op_find(op);
	principal_t who = { SCOPE_LOCAL, "", "", false, 0 };

	*ret_why = NULL;
	if (!o) {
		*ret_why = "unknown operation";
		return REF_E_INVALID;
	}
	snprintf(who.name, sizeof(who.name), "%s", actor);
	return allowed(n, o, &who, ret_why);
}

int control_check_call(node_t *n, const char *name, const principal_t *who,
		       const char **ret_why)
{
	const control_op_t *o = op_named(name);

	if (!o) {
		*ret_why = "unknown operation";
		return REF_E_NOT_FOUND;
	}
	return allowed(n, o, who, ret_why);
}

/* A caller without the operation's role or scope: refused, and recorded
 * where the operation says so (a token's refusal always is). */
static int refuse(node_t *n, const control_op_t *o, const request_t *req,
		  const principal_t *who, int code, const char *why,
		  reply_t *rep, char *err, size_t errlen)
{
	char detail[200] = "";
	int r = 0;

	if (o->refusal_event || who->token) {
		if (o->describe)
			o->describe(req, detail, sizeof(detail));
		else
			snprintf(detail, sizeof(detail), "%s (scope %s)",
				 o->name, tokens_scope_name(who->scope));
		r = state_audit(n, o->refusal_event ? o->refusal_event
						    : "call_refused",
				req->referral_id[0] &&
				util_referral_id_valid(req->referral_id)
				? req->referral_id : NULL, NULL, NULL,
				who->name[0] ? who->name : "local", "REFUSED",
				detail);
	}
	if (!r)
		state_fail_reply(rep, code, err, errlen, "%s", why);
	return r;
}

/* ---- the calls that are names only ---------------------------------------- */

static int call_ops(node_t *n, const principal_t *who, const request_t *req,
		    json_t *opts, reply_t *rep, char *err, size_t errlen)
{
	json_t *arr = json_array();

	(void)n, (void)who, (void)req, (void)opts, (void)err, (void)errlen;
	for (size_t i = 0; i < N_OPS; i++) {
		const control_op_t *o = &ops[i];
		json_t *sc, *opt;

		if (!o->kind)
			continue; /* local only */
		sc = json_array();
		for (int s = SCOPE_COURT; s <= SCOPE_ADMIN; s++)
			if ((o->scopes & (1u << s)) &&
			    (o->role != ROLE_ADMIN || s == SCOPE_ADMIN))
				json_array_append_new(sc, json_string(
					tokens_scope_name((scope_t)s)));
		opt = json_loads(o->options ? o->options : "{}", 0, NULL);
		json_array_append_new(arr, json_pack("{s:s, s:s, s:o, s:s, s:o, "
			"s:b, s:b}", "name", o->name, "kind", o->kind, "scopes", sc,
			"summary", o->summary ? o->summary : "", "options",
			opt ? opt : json_object(), "writes",
			(o->flags & WRITES) != 0, "needs_referral",
			(o->flags & NEEDS_REF) != 0));
	}
	rep->json = state_dump(json_pack("{s:o}", "operations", arr));
	return 0;
}

static int call_whoami(node_t *n, const principal_t *who, const request_t *req,
		       json_t *opts, reply_t *rep, char *err, size_t errlen)
{
	json_t *o = json_pack("{s:s, s:s, s:b}", "name", who->name, "scope",
			      tokens_scope_name(who->scope), "token",
			      who->token);

	(void)n, (void)req, (void)opts, (void)err, (void)errlen;
	if (who->code[0])
		json_object_set_new(o, "code", json_string(who->code));
	if (who->expires_at_ms)
		tzlocal_json_time(o, "expires_at", who->expires_at_ms);
	rep->json = state_dump(o);
	return 0;
}

/* ---- one request ------------------------------------------------------------- */

/* The classic path, for a local operation or a named one built into it. */
static int run(node_t *n, const control_op_t *o, const request_t *req,
	       const principal_t *who, json_t *opts, reply_t *rep, char *err,
	       size_t errlen)
{
	turn_mark_t mark = NULL;
	const char *why;
	int r = 0, code;

	if (o->body_kind) {
		char what[300];
		if (inbound_body_limits(n, o->body_kind, req->body.data,
					req->body.len, what, sizeof(what)))
			return state_fail_reply(rep, REF_E_TOO_LARGE, err, errlen,
						"nothing was stored: %s", what);
	}
	if ((o->flags & NEEDS_ID) &&
	    (!req->request_id[0] || strlen(req->request_id) > 64))
		return state_fail_reply(rep, REF_E_INVALID, err, errlen,
					"the request has no request id (1 to 64 "
					"bytes)");
	if ((o->flags & NEEDS_REF) && !req->referral_id[0])
		return state_fail_reply(rep, REF_E_INVALID, err, errlen,
					"%s needs the referral's id", o->name);
	if (o->flags & WRITES) {
		mark = turn_mark(&n->turn);
		if ((r = store_event_begin(n->store)))
			return state_fail_reply(rep, r, err, errlen, "store: %s",
						ref_strerror(r));
	}
	code = allowed(n, o, who, &why);
	if (code)
		r = refuse(n, o, req, who, code, why, rep, err, errlen);
	else if ((o->flags & ONCE) && request_done(n, req, rep))
		r = 0;
	else if (o->call)
		r = o->call(n, who, req, opts, rep, err, errlen);
	else
		r = o->handler(n, req, rep, err, errlen);
	if (!r && !rep->code && (o->flags & RECORD) && rep->referral_id[0] &&
	    (r = request_record(n, req, rep->referral_id))) {
		if (r == REF_E_STORE_FULL && !store_at_limit(n->store))
			/* The map grows before the next turn. */
			state_fail_reply(rep, REF_E_UNAVAILABLE, err, errlen,
					 "the store is growing; retry (the same "
					 "request is applied once)");
		else
			state_fail_reply(rep, r, err, errlen, "store full: the "
					 "request could not be stored (%s); "
					 "nothing was accepted", ref_strerror(r));
	}
	if (o->flags & WRITES) {
		if (r || (r = store_event_commit(n->store))) {
			store_event_abort(n->store);
			turn_rollback(&n->turn, mark);
			if (!rep->code)
				state_fail_reply(rep, r, err, errlen, "nothing was "
						 "stored: %s", ref_strerror(r));
			log_msg(LOG_WARN, "client", "request refused: %s", err);
		}
	}
	return r;
}

/* OP_CALL: the caller (a token's holder, or the local actor), the named
 * operation, its options checked, then the classic path. */
static int run_call(node_t *n, const principal_t *local, const request_t *req,
		    reply_t *rep, char *err, size_t errlen)
{
	const control_op_t *o = op_named(req->name);
	principal_t who = *local;
	request_t r2 = *req;
	uint8_t *body = NULL;
	size_t blen = 0;
	json_t *opts;
	int r;

	if (req->token[0]) {
		r = tokens_check(n, req->token, &who, err, errlen);
		if (r)
			return state_fail_as(rep, r, err);
	}
	/* Local-only operations are not named to token holders at all. */
	if (!o || (!o->kind && who.token) ||
	    (o->op != REFERRAL__LOCAL__V1__OP__OP_CALL && !o->build &&
	     !o->options))
		return state_fail_reply(rep, REF_E_NOT_FOUND, err, errlen,
					"no operation \"%.64s\" at this node",
					req->name);
	opts = json_loads(req->json[0] ? req->json : "{}", 0, NULL);
	r = o->options ? calls_check_options(o->options, opts, err, errlen) : 0;
	if (r) {
		json_decref(opts);
		return state_fail_as(rep, r, err);
	}
	/* Who asks is who the records name: a token's name, or the staff id. */
	r2.actor = who.name;
	r2.op = o->op;
	if (o->build) {
		r = o->build(n, o, opts, &r2, &body, &blen, err, errlen);
		if (r) {
			json_decref(opts);
			return state_fail_as(rep, r, err);
		}
		r2.body.data = body;
		r2.body.len = blen;
	}
	n->caller = &who;
	r = run(n, o, &r2, &who, opts, rep, err, errlen);
	n->caller = NULL;
	free(body);
	json_decref(opts);
	/* A write answers with what it made; a move, with the state now. */
	if (!r && !rep->code && !rep->json[0] && rep->referral_id[0]) {
		json_t *a = json_pack("{s:s}", "referral_id", rep->referral_id);
		referral_rec_t *rr = NULL;
		if (o->state && !referrals_get(n, rep->referral_id, &rr)) {
			json_object_set_new(a, "state", json_string(rr->state));
			referral__store__v1__referral_record__free_unpacked(rr, NULL);
		}
		if (rep->error[0])
			json_object_set_new(a, "note", json_string(rep->error));
		/* A retried event: its id is the request's (events.c), and
		 * it went where the matter is held. */
		if (!strcmp(o->kind, "event")) {
			json_object_set_new(a, "event_id",
					    json_string(req->request_id));
			if (!referrals_get(n, rep->referral_id, &rr)) {
				json_object_set_new(a, "to", json_string(
					rr->direction == DIR_OUTGOING
					? rr->receiver_node : n->cfg.code));
				referral__store__v1__referral_record__free_unpacked(
					rr, NULL);
			}
		}
		rep->json = state_dump(a);
	}
	return r;
}

static void handle_client(node_t *n, const uint8_t *rid, size_t rid_len,
			  const uint8_t *buf, size_t len, const char *peer)
{
	request_t *req;
	reply_t rep = REFERRAL__LOCAL__V1__REPLY__INIT;
	reply_t fail = REFERRAL__LOCAL__V1__REPLY__INIT;
	const control_op_t *o;
	principal_t who = { SCOPE_LOCAL, "", "", false, 0 };
	char err[512] = "";
	uint8_t *data, *fdata;
	size_t dlen, flen;
	char *given = NULL;
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
	/* Who calls is the OS account (principal.c); the records name the
	 * staff id it maps to, whatever the client said. A gateway's own
	 * account passes tokens, and reads the operations list. */
	o = req->op == REFERRAL__LOCAL__V1__OP__OP_CALL ? op_named(req->name)
							: NULL;
	r = principal_local(n, peer, req->actor, o && (req->token[0] ||
			    (o->flags & ANYONE)), &who, err, sizeof(err));
	if (r) {
		state_fail_as(&rep, r, err);
		goto reply;
	}
	given = req->actor;
	req->actor = who.name;
	if (req->op == REFERRAL__LOCAL__V1__OP__OP_CALL) {
		r = run_call(n, &who, req, &rep, err, sizeof(err));
		goto reply;
	}
	o = op_find(req->op);
	if (!o) {
		state_fail_reply(&rep, REF_E_INVALID, err, sizeof(err),
				 "unknown request %d", (int)req->op);
		goto reply;
	}
	n->caller = &who;
	r = run(n, o, req, &who, NULL, &rep, err, sizeof(err));
	n->caller = NULL;
reply:
	if (rep.code == 0 && r)
		state_fail_reply(&rep, r, err, sizeof(err), "%s", ref_strerror(r));
	/* Echoed, so that a client with many requests in flight (one
	 * DEALER, referral-pipe.c) knows whose answer this is. */
	if (req) {
		rep.request_id = req->request_id;
		fail.request_id = req->request_id;
	}
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
	if (given)
		req->actor = given; /* the request's own, freed with it */
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
				      zmq_msg_data(&f[2]), zmq_msg_size(&f[2]),
				      zmq_msg_gets(&f[2], "Peer-Address"));
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
	int one = 1, hwm = 200000, r;

	n->client = zmq_socket(n->ctx, ZMQ_ROUTER);
	if (!n->client) {
		snprintf(err, errlen, "cannot make the client socket: %s",
			 zmq_strerror(errno));
		return -errno;
	}
	peers_socket_common(&n->peers, n->client);
	zmq_setsockopt(n->client, ZMQ_MAXMSGSIZE, &cmax, sizeof(cmax));
	zmq_setsockopt(n->client, ZMQ_ROUTER_MANDATORY, &one, sizeof(one));
	/* A pipelined client keeps thousands of requests in flight: their
	 * answers, queued in one turn, must not overflow libzmq's default
	 * 1000 and be dropped (the client would only resend them). */
	zmq_setsockopt(n->client, ZMQ_SNDHWM, &hwm, sizeof(hwm));
	zmq_setsockopt(n->client, ZMQ_RCVHWM, &hwm, sizeof(hwm));
	/* The socket has a folder of its own: a gateway's account, in the
	 * node's group, reaches it (data folder 0710, sock/ 0750, the socket
	 * 0660) and nothing else of the data folder (files 0600). */
	snprintf(path, sizeof(path), "%s/sock", n->cfg.data_dir);
	if (mkdir(path, 0750) < 0 && errno != EEXIST) {
		r = -errno;
		snprintf(err, errlen, "cannot make the socket folder %s: %s",
			 path, strerror(errno));
		return r;
	}
	chmod(path, 0750);
	snprintf(path, sizeof(path), "%s/sock/referrald.sock", n->cfg.data_dir);
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
