/* calls.c: see calls.h. Writes nothing. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "application.h"
#include "calls.h"
#include "closing.h"
#include "errors.h"
#include "referral.pb-c.h"
#include "util.h"

static bool type_ok(const char *type, json_t *v)
{
	if (!type)
		return true;
	if (!strcmp(type, "string"))
		return json_is_string(v);
	if (!strcmp(type, "array"))
		return json_is_array(v);
	if (!strcmp(type, "object"))
		return json_is_object(v);
	if (!strcmp(type, "boolean"))
		return json_is_boolean(v);
	if (!strcmp(type, "integer"))
		return json_is_integer(v);
	return true;
}

int calls_check_options(const char *schema, json_t *opts, char *err,
			size_t errlen)
{
	json_t *s = json_loads(schema ? schema : "{}", 0, NULL);
	json_t *props = json_object_get(s, "properties"), *v;
	const char *key;
	int r = 0;

	if (!json_is_object(opts)) {
		snprintf(err, errlen, "the options must be a JSON object");
		json_decref(s);
		return REF_E_INVALID;
	}
	json_object_foreach(opts, key, v) {
		json_t *p = json_object_get(props, key);
		const char *type = json_string_value(json_object_get(p, "type"));

		if (!p) {
			snprintf(err, errlen, "unknown option \"%.64s\"", key);
			r = REF_E_INVALID;
			break;
		}
		if (!type_ok(type, v)) {
			snprintf(err, errlen, "option \"%.64s\" must be a JSON "
				 "%s", key, type);
			r = REF_E_INVALID;
			break;
		}
	}
	json_decref(s);
	return r;
}

static uint8_t *pack(const ProtobufCMessage *m, size_t *ret_len)
{
	size_t len = protobuf_c_message_get_packed_size(m);
	uint8_t *b = malloc(len ? len : 1);

	if (b)
		protobuf_c_message_pack(m, b);
	*ret_len = len;
	return b;
}

int calls_move(const char *state, bool admin, bool aid_first, json_t *opts,
	       const char *actor, uint8_t **ret_body, size_t *ret_len,
	       char *err, size_t errlen)
{
	Referral__V1__StatusChange sc = REFERRAL__V1__STATUS_CHANGE__INIT;
	Referral__V1__Assignment as = REFERRAL__V1__ASSIGNMENT__INIT;
	Referral__V1__FileReview fr = REFERRAL__V1__FILE_REVIEW__INIT;
	json_t *items = json_object_get(opts, "items");
	const char **iv = NULL;
	size_t ni = json_array_size(items);

	if (ni) {
		iv = calloc(ni, sizeof(*iv));
		if (!iv)
			return -ENOMEM;
		for (size_t i = 0; i < ni; i++) {
			iv[i] = json_string_value(json_array_get(items, i));
			if (!iv[i]) {
				free(iv);
				snprintf(err, errlen, "items must be strings");
				return REF_E_INVALID;
			}
		}
	}
	sc.state = (char *)state;
	sc.reason = (char *)state_str(opts, "reason");
	sc.legal_basis = (char *)state_str(opts, "legal_basis");
	sc.missing_items = (char **)iv;
	sc.n_missing_items = ni;
	if (json_object_get(opts, "firm") || json_object_get(opts, "lawyer") ||
	    json_object_get(opts, "licence_no")) {
		as.firm = (char *)state_str(opts, "firm");
		as.lawyer = (char *)state_str(opts, "lawyer");
		as.licence_no = (char *)state_str(opts, "licence_no");
		as.contact = (char *)state_str(opts, "contact");
		sc.assignment = &as;
	}
	sc.report = (char *)state_str(opts, "report");
	sc.onward_to = (char *)state_str(opts, "onward_to");
	sc.aid_first = aid_first;
	sc.withdrawal = (char *)state_str(opts, "applicant_withdrawal");
	closing_from_opts(opts, &sc, &fr);
	/* "ground" is the Art 48 ground of a termination, and the Art 44
	 * urgency ground of any other move (mark-urgent keeps the state). */
	if (strcmp(state, "TERMINATED")) {
		sc.urgency_ground = (char *)state_str(opts, "ground");
		sc.termination_ground = (char *)"";
	}
	sc.actor_role = (char *)(admin ? "admin" : "staff");
	sc.actor = (char *)actor;
	*ret_body = pack(&sc.base, ret_len);
	free(iv);
	return *ret_body ? 0 : -ENOMEM;
}

int calls_supplement(json_t *opts, size_t max_docs, size_t max_bytes,
		     uint8_t **ret_body, size_t *ret_len, char *err,
		     size_t errlen)
{
	Referral__V1__MaterialsSupplement ms =
		REFERRAL__V1__MATERIALS_SUPPLEMENT__INIT;
	json_t *docs = json_object_get(opts, "documents");
	size_t n = json_array_size(docs);
	Referral__V1__Document *dv = calloc(n + 1, sizeof(*dv));
	Referral__V1__Document **dp = calloc(n + 1, sizeof(*dp));
	uint8_t **bytes = calloc(n + 1, sizeof(*bytes));
	uint8_t (*sha)[32] = calloc(n + 1, 32);
	int r = 0;

	if (!dv || !dp || !bytes || !sha) {
		r = -ENOMEM;
		goto out;
	}
	if (!n || n > max_docs) {
		snprintf(err, errlen, "a supplement needs 1 to %zu documents",
			 max_docs);
		r = REF_E_INVALID;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		json_t *d = json_array_get(docs, i);
		const char *b64 = state_str(d, "content_base64");
		size_t len = 0;

		referral__v1__document__init(&dv[i]);
		if (!json_is_object(d) || json_object_get(d, "file") ||
		    util_b64_decode(b64, &bytes[i], &len) || !len) {
			snprintf(err, errlen, "documents[%zu] needs its bytes as "
				 "content_base64 (a file is not read on this path)",
				 i);
			r = REF_E_INVALID;
			goto out;
		}
		if (len > max_bytes) {
			snprintf(err, errlen, "documents[%zu] is %zu bytes, more "
				 "than [limits] max_document_bytes = %zu", i, len,
				 max_bytes);
			r = REF_E_TOO_LARGE;
			goto out;
		}
		util_sha256(bytes[i], len, sha[i]);
		dv[i].type = (char *)state_str(d, "type");
		dv[i].name = (char *)state_str(d, "name");
		dv[i].content.data = bytes[i];
		dv[i].content.len = len;
		dv[i].sha256.data = sha[i];
		dv[i].sha256.len = 32;
		dv[i].size = len;
		dp[i] = &dv[i];
	}
	ms.documents = dp;
	ms.n_documents = n;
	*ret_body = pack(&ms.base, ret_len);
	if (!*ret_body)
		r = -ENOMEM;
out:
	for (size_t i = 0; bytes && i < n; i++)
		free(bytes[i]);
	free(bytes);
	free(sha);
	free(dp);
	free(dv);
	return r;
}

int calls_application(json_t *opts, size_t max_docs, size_t max_bytes,
		      uint8_t **ret_body, size_t *ret_len, char *err,
		      size_t errlen)
{
	application_limits_t lim = { max_bytes, max_docs, NULL, true };
	json_t *app = json_object_get(opts, "application");
	char *text;
	int r;

	if (!json_is_object(app)) {
		snprintf(err, errlen, "\"application\" must be the application, "
			 "a JSON object");
		return REF_E_INVALID;
	}
	text = json_dumps(app, JSON_COMPACT);
	if (!text)
		return -ENOMEM;
	r = application_from_json(text, strlen(text), &lim, ret_body, ret_len,
				  err, errlen);
	free(text);
	return r;
}
