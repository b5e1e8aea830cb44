/* referral.c: libreferral (referral.h).
 *
 * One REQ socket per call: a REQ socket that timed out cannot be reused,
 * and a fresh one costs little on ipc://. A changing call is retried with
 * the same request id, which the node answers from its request table
 * instead of applying again. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

#include "application.h"
#include "client.pb-c.h"
#include "referral-int.h"
#include "referral.h"
#include "util.h"

#define TRIES 3


int ref_open(const char *data_dir, int timeout_ms, ref_client_t **ret)
{
	ref_client_t *c;

	if (!data_dir || !*data_dir)
		return -EINVAL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->ctx = zmq_ctx_new();
	if (!c->ctx) {
		free(c);
		return -ENOMEM;
	}
	/* Absolute, so the endpoint does not depend on the working folder. */
	if (!realpath(data_dir, c->data_dir))
		snprintf(c->data_dir, sizeof(c->data_dir), "%s", data_dir);
	snprintf(c->endpoint, sizeof(c->endpoint), "ipc://%s/sock/referrald.sock",
		 c->data_dir);
	c->timeout_ms = timeout_ms > 0 ? timeout_ms : 10000;
	*ret = c;
	return 0;
}

void ref_close(ref_client_t **cp)
{
	ref_client_t *c = cp ? *cp : NULL;

	if (!c)
		return;
	zmq_ctx_term(c->ctx);
	free(c);
	*cp = NULL;
}

const char *ref_last_error(const ref_client_t *c)
{
	return c->err;
}

/* One request and its reply; *ret_rep is the caller's to free. */
static int call_once(ref_client_t *c, const uint8_t *req, size_t len,
		     Referral__Local__V1__Reply **ret_rep)
{
	void *s = zmq_socket(c->ctx, ZMQ_REQ);
	int zero = 0, r = 0;
	zmq_msg_t msg;

	/* Out of file descriptors (EMFILE) or sockets: never 0, which would
	 * claim a reply that is not there. */
	if (!s)
		return errno > 0 ? -errno : -EMFILE;
	zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof(zero));
	zmq_setsockopt(s, ZMQ_RCVTIMEO, &c->timeout_ms, sizeof(c->timeout_ms));
	zmq_setsockopt(s, ZMQ_SNDTIMEO, &c->timeout_ms, sizeof(c->timeout_ms));
	if (zmq_connect(s, c->endpoint) < 0 || zmq_send(s, req, len, 0) < 0) {
		r = REF_E_UNAVAILABLE;
		goto out;
	}
	zmq_msg_init(&msg);
	if (zmq_msg_recv(&msg, s, 0) < 0) {
		zmq_msg_close(&msg);
		r = REF_E_UNAVAILABLE;
		goto out;
	}
	*ret_rep = referral__local__v1__reply__unpack(NULL, zmq_msg_size(&msg),
						      zmq_msg_data(&msg));
	zmq_msg_close(&msg);
	if (!*ret_rep)
		r = REF_E_MALFORMED;
out:
	zmq_close(s);
	return r;
}

/* Sends req, retrying changes with the same request id; on success
 * *ret_rep holds the node's reply (code 0). req is the caller's and is
 * left as it was: the id made here lives only in the packed request, as
 * idhex does not outlive this call. */
static int call(ref_client_t *c, Referral__Local__V1__Request *req,
		bool retry, Referral__Local__V1__Reply **ret_rep)
{
	Referral__Local__V1__Reply *rep = NULL;
	char *given = req->request_id;
	uint8_t *buf, id[16];
	char idhex[33];
	size_t len;
	int r = REF_E_UNAVAILABLE;

	/* Fixed once, before the first try: every retry is the same bytes. */
	if (!given[0]) {
		util_uuid7(id);
		util_hex(id, 16, idhex);
		req->request_id = idhex;
	}
	len = referral__local__v1__request__get_packed_size(req);
	buf = malloc(len ? len : 1);
	if (buf)
		referral__local__v1__request__pack(req, buf);
	req->request_id = given;
	if (!buf)
		return -ENOMEM;
	for (int i = 0; i < (retry ? TRIES : 1); i++) {
		r = call_once(c, buf, len, &rep);
		/* The node may also answer "retry" (its store is growing). */
		if (!r && retry && rep->code == REF_E_UNAVAILABLE &&
		    i + 1 < TRIES) {
			referral__local__v1__reply__free_unpacked(rep, NULL);
			rep = NULL;
			usleep(200000);
			r = REF_E_UNAVAILABLE;
			continue;
		}
		if (r != REF_E_UNAVAILABLE)
			break;
	}
	free(buf);
	if (r == REF_E_UNAVAILABLE) {
		snprintf(c->err, sizeof(c->err),
			 "the node at %s did not answer within %d ms: is "
			 "referrald running with --data %s?", c->endpoint,
			 c->timeout_ms, c->data_dir);
		return r;
	}
	if (r == REF_E_MALFORMED) {
		snprintf(c->err, sizeof(c->err), "the node's reply does not "
			 "parse (client and node versions differ?)");
		return r;
	}
	if (r) {
		/* -errno from call_once (no socket): there is no reply. */
		snprintf(c->err, sizeof(c->err), "cannot open a socket to the "
			 "node at %s: %s", c->endpoint, ref_strerror(r));
		return r;
	}
	if (rep->code) {
		snprintf(c->err, sizeof(c->err), "%s", rep->error);
		r = rep->code;
		referral__local__v1__reply__free_unpacked(rep, NULL);
		return r;
	}
	/* On success the node may add a note (ref_last_error returns it). */
	snprintf(c->err, sizeof(c->err), "%s", rep->error);
	*ret_rep = rep;
	return 0;
}

static int call_json(ref_client_t *c, Referral__Local__V1__Request *req,
		     char **ret_json)
{
	Referral__Local__V1__Reply *rep;
	int r = call(c, req, false, &rep);

	if (r)
		return r;
	*ret_json = strdup(rep->json);
	referral__local__v1__reply__free_unpacked(rep, NULL);
	return *ret_json ? 0 : -ENOMEM;
}

int ref_status(ref_client_t *c, char **ret_json)
{
	Referral__Local__V1__Request req = REFERRAL__LOCAL__V1__REQUEST__INIT;

	req.op = REFERRAL__LOCAL__V1__OP__OP_STATUS;
	return call_json(c, &req, ret_json);
}

int ref_submit(ref_client_t *c, const char *to_node, const char *app_json,
	       const char *base_dir, const char *actor, char **ret_referral_id)
{
	Referral__Local__V1__Request req = REFERRAL__LOCAL__V1__REQUEST__INIT;
	Referral__Local__V1__Reply *rep;
	/* The node applies its own configured limits; these only stop a
	 * file too large to be worth sending. */
	application_limits_t lim = { 256u << 20, 1000, base_dir };
	uint8_t *body;
	size_t blen;
	int r;

	/* No destination: the node picks it from the directory (route). */
	if (to_node && !util_node_code_valid(to_node)) {
		snprintf(c->err, sizeof(c->err), "destination \"%s\" is not a "
			 "six-digit division code", to_node ? to_node : "");
		return REF_E_INVALID;
	}
	r = application_from_json(app_json, strlen(app_json), &lim, &body, &blen,
				  c->err, sizeof(c->err));
	if (r)
		return r;
	req.op = REFERRAL__LOCAL__V1__OP__OP_SUBMIT;
	req.to_node = (char *)(to_node ? to_node : "");
	req.body.data = body;
	req.body.len = blen;
	req.actor = (char *)(actor ? actor : "");
	r = call(c, &req, true, &rep);
	free(body);
	if (r)
		return r;
	*ret_referral_id = strdup(rep->referral_id);
	referral__local__v1__reply__free_unpacked(rep, NULL);
	return *ret_referral_id ? 0 : -ENOMEM;
}

int ref_show(ref_client_t *c, const char *referral_id, char **ret_json)
{
	Referral__Local__V1__Request req = REFERRAL__LOCAL__V1__REQUEST__INIT;

	req.op = REFERRAL__LOCAL__V1__OP__OP_SHOW;
	req.referral_id = (char *)referral_id;
	return call_json(c, &req, ret_json);
}

int ref_list(ref_client_t *c, int box, char **ret_json)
{
	Referral__Local__V1__Request req = REFERRAL__LOCAL__V1__REQUEST__INIT;

	req.op = REFERRAL__LOCAL__V1__OP__OP_LIST;
	req.box = (uint32_t)box;
	return call_json(c, &req, ret_json);
}

int ref_trail(ref_client_t *c, const char *referral_id, char **ret_json)
{
	Referral__Local__V1__Request req = REFERRAL__LOCAL__V1__REQUEST__INIT;

	req.op = REFERRAL__LOCAL__V1__OP__OP_TRAIL;
	req.referral_id = (char *)referral_id;
	return call_json(c, &req, ret_json);
}

int ref_move(ref_client_t *c, const char *referral_id, const ref_move_t *m,
	     const char *actor, char **ret_id)
{
	Referral__Local__V1__Request req = REFERRAL__LOCAL__V1__REQUEST__INIT;
	Referral__V1__StatusChange sc = REFERRAL__V1__STATUS_CHANGE__INIT;
	Referral__V1__Assignment as = REFERRAL__V1__ASSIGNMENT__INIT;
	Referral__Local__V1__Reply *rep;
	uint8_t *body;
	size_t blen;
	int r;

	sc.state = (char *)(m->state ? m->state : "");
	sc.reason = (char *)(m->reason ? m->reason : "");
	sc.legal_basis = (char *)(m->legal_basis ? m->legal_basis : "");
	sc.missing_items = (char **)m->items;
	sc.n_missing_items = m->n_items;
	if (m->firm || m->lawyer || m->licence_no) {
		as.firm = (char *)(m->firm ? m->firm : "");
		as.lawyer = (char *)(m->lawyer ? m->lawyer : "");
		as.licence_no = (char *)(m->licence_no ? m->licence_no : "");
		sc.assignment = &as;
	}
	sc.report = (char *)(m->report ? m->report : "");
	sc.onward_to = (char *)(m->onward_to ? m->onward_to : "");
	sc.aid_first = m->aid_first != 0;
	sc.urgency_ground = (char *)(m->urgency_ground ? m->urgency_ground : "");
	sc.withdrawal = (char *)(m->withdrawal ? m->withdrawal : "");
	sc.actor_role = (char *)(m->as_admin ? "admin" : "staff");
	sc.actor = (char *)(actor ? actor : "");
	for (size_t i = 0; i < m->n_items; i++)
		if (!util_utf8_valid(m->items[i], strlen(m->items[i]))) {
			snprintf(c->err, sizeof(c->err), "an item is not UTF-8");
			return REF_E_INVALID;
		}
	blen = referral__v1__status_change__get_packed_size(&sc);
	body = malloc(blen ? blen : 1);
	if (!body)
		return -ENOMEM;
	referral__v1__status_change__pack(&sc, body);
	req.op = REFERRAL__LOCAL__V1__OP__OP_MOVE;
	req.referral_id = (char *)referral_id;
	req.body.data = body;
	req.body.len = blen;
	req.actor = (char *)(actor ? actor : "");
	r = call(c, &req, true, &rep);
	free(body);
	if (r)
		return r;
	if (ret_id)
		*ret_id = strdup(rep->referral_id);
	referral__local__v1__reply__free_unpacked(rep, NULL);
	return ret_id && !*ret_id ? -ENOMEM : 0;
}

int ref_supplement(ref_client_t *c, const char *referral_id,
		   const char *const *files, size_t n_files, const char *actor)
{
	Referral__Local__V1__Request req = REFERRAL__LOCAL__V1__REQUEST__INIT;
	Referral__V1__MaterialsSupplement ms =
		REFERRAL__V1__MATERIALS_SUPPLEMENT__INIT;
	Referral__V1__Document *docs = calloc(n_files + 1, sizeof(*docs));
	Referral__V1__Document **ptrs = calloc(n_files + 1, sizeof(*ptrs));
	Referral__Local__V1__Reply *rep;
	uint8_t (*sha)[32] = calloc(n_files + 1, 32);
	uint8_t **bytes = calloc(n_files + 1, sizeof(*bytes));
	uint8_t *body = NULL;
	size_t blen;
	int r = 0;

	if (!docs || !ptrs || !sha || !bytes) {
		r = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < n_files; i++) {
		size_t len;
		const char *base = strrchr(files[i], '/');

		r = util_read_file(files[i], 256u << 20, &bytes[i], &len);
		if (r) {
			snprintf(c->err, sizeof(c->err), "cannot read %s: %s",
				 files[i], ref_strerror(r));
			goto out;
		}
		referral__v1__document__init(&docs[i]);
		docs[i].type = "supplement";
		docs[i].name = (char *)(base ? base + 1 : files[i]);
		util_sha256(bytes[i], len, sha[i]);
		docs[i].sha256.data = sha[i];
		docs[i].sha256.len = 32;
		docs[i].size = len;
		docs[i].content.data = bytes[i];
		docs[i].content.len = len;
		ptrs[i] = &docs[i];
	}
	ms.documents = ptrs;
	ms.n_documents = n_files;
	ms.actor = (char *)(actor ? actor : "");
	blen = referral__v1__materials_supplement__get_packed_size(&ms);
	body = malloc(blen ? blen : 1);
	if (!body) {
		r = -ENOMEM;
		goto out;
	}
	referral__v1__materials_supplement__pack(&ms, body);
	req.op = REFERRAL__LOCAL__V1__OP__OP_SUPPLEMENT;
	req.referral_id = (char *)referral_id;
	req.body.data = body;
	req.body.len = blen;
	req.actor = (char *)(actor ? actor : "");
	r = call(c, &req, true, &rep);
	if (!r)
		referral__local__v1__reply__free_unpacked(rep, NULL);
out:
	for (size_t i = 0; bytes && i < n_files; i++)
		free(bytes[i]);
	free(bytes);
	free(sha);
	free(ptrs);
	free(docs);
	free(body);
	return r;
}

int ref_overdue(ref_client_t *c, char **ret_json)
{
	Referral__Local__V1__Request req = REFERRAL__LOCAL__V1__REQUEST__INIT;

	req.op = REFERRAL__LOCAL__V1__OP__OP_OVERDUE;
	return call_json(c, &req, ret_json);
}

int ref_audit_export(ref_client_t *c, const char *what_json, const char *actor)
{
	Referral__Local__V1__Request req = REFERRAL__LOCAL__V1__REQUEST__INIT;
	Referral__Local__V1__Reply *rep = NULL;
	int r;

	req.op = REFERRAL__LOCAL__V1__OP__OP_AUDIT_EXPORT;
	req.body.data = (uint8_t *)what_json;
	req.body.len = strlen(what_json);
	req.actor = (char *)(actor ? actor : "");
	/* Not retried: each attempt is a separate record in the chain. */
	r = call(c, &req, false, &rep);
	if (rep)
		referral__local__v1__reply__free_unpacked(rep, NULL);
	return r;
}

int ref_publish_directory(ref_client_t *c, const uint8_t *json, size_t len,
			  const char *sig_b64, const char *actor,
			  char **ret_json)
{
	Referral__Local__V1__Request req = REFERRAL__LOCAL__V1__REQUEST__INIT;
	Referral__V1__DirectoryUpdate u = REFERRAL__V1__DIRECTORY_UPDATE__INIT;
	Referral__Local__V1__Reply *rep = NULL;
	uint8_t *body;
	int r;

	u.directory.data = (uint8_t *)json;
	u.directory.len = len;
	u.signature = (char *)sig_b64;
	body = malloc(referral__v1__directory_update__get_packed_size(&u) + 1);
	if (!body)
		return -ENOMEM;
	req.body.len = referral__v1__directory_update__pack(&u, body);
	req.body.data = body;
	req.op = REFERRAL__LOCAL__V1__OP__OP_PUBLISH;
	req.actor = (char *)(actor ? actor : "");
	r = call(c, &req, false, &rep);
	free(body);
	if (r)
		return r;
	*ret_json = strdup(rep->json);
	referral__local__v1__reply__free_unpacked(rep, NULL);
	return *ret_json ? 0 : -ENOMEM;
}

int ref_rotate_data_key(ref_client_t *c, const char *actor, char **ret_json)
{
	Referral__Local__V1__Request req = REFERRAL__LOCAL__V1__REQUEST__INIT;

	req.op = REFERRAL__LOCAL__V1__OP__OP_ROTATE_DATA_KEY;
	req.actor = (char *)(actor ? actor : "");
	return call_json(c, &req, ret_json);
}

int ref_requeue(ref_client_t *c, const char *referral_id, const char *actor,
		char **ret_json)
{
	Referral__Local__V1__Request req = REFERRAL__LOCAL__V1__REQUEST__INIT;

	req.op = REFERRAL__LOCAL__V1__OP__OP_REQUEUE;
	req.referral_id = (char *)(referral_id ? referral_id : "");
	req.actor = (char *)(actor ? actor : "");
	return call_json(c, &req, ret_json);
}

int ref_call(ref_client_t *c, const char *name, const char *token,
	     const char *actor, const char *request_id, const char *referral_id,
	     const char *json, char **ret_json)
{
	Referral__Local__V1__Request req = REFERRAL__LOCAL__V1__REQUEST__INIT;
	Referral__Local__V1__Reply *rep;
	int r;

	if (!name || !name[0] || strlen(name) > 64) {
		snprintf(c->err, sizeof(c->err), "an operation name is needed");
		return REF_E_INVALID;
	}
	if (request_id && strlen(request_id) > 64) {
		snprintf(c->err, sizeof(c->err), "the request id is longer than "
			 "64 bytes");
		return REF_E_INVALID;
	}
	req.op = REFERRAL__LOCAL__V1__OP__OP_CALL;
	req.name = (char *)name;
	req.token = (char *)(token ? token : "");
	req.actor = (char *)(actor ? actor : "");
	req.request_id = (char *)(request_id ? request_id : "");
	req.referral_id = (char *)(referral_id ? referral_id : "");
	req.json = (char *)(json ? json : "{}");
	/* Every call that writes is applied once per request id at the node,
	 * so a call the node did not answer can be sent again. */
	r = call(c, &req, true, &rep);
	if (r)
		return r;
	if (ret_json) {
		*ret_json = strdup(rep->json[0] ? rep->json : "{}");
		if (!*ret_json)
			r = -ENOMEM;
	}
	referral__local__v1__reply__free_unpacked(rep, NULL);
	return r;
}
