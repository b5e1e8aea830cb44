/* fuzz-client.c: a request on the node's local client socket
 * (referral.local.v1.Request, proto/client.proto), decoded and its body
 * decoded the way referrald's handle_client does for each op: OP_SUBMIT a
 * ReferralSubmit, OP_MOVE a StatusChange, OP_SUPPLEMENT a
 * MaterialsSupplement, OP_AUDIT_EXPORT the JSON {since, until, format}.
 * The socket is local, but any program of the node's user can write to
 * it, and refctl and the daemon may be of different versions.
 *
 * Input: the request bytes. node.c is not linked (it needs a store and
 * sockets); the export body is read here with node.c's own rules, and the
 * other bodies go through what node.c calls (fuzz-checks.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "client.pb-c.h"
#include "fuzz.h"
#include "util.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	if (fuzz_checks_init())
		abort();
	return 0;
}

/* As op_audit_export reads it; the detail it records in the audit chain
 * is built the same way, so a sanitizer sees that too. */
static void audit_export(const ProtobufCBinaryData *b)
{
	json_t *o = json_loadb((const char *)b->data, b->len, 0, NULL);
	const char *since = json_string_value(json_object_get(o, "since"));
	const char *until = json_string_value(json_object_get(o, "until"));
	const char *format = json_string_value(json_object_get(o, "format"));
	char detail[200];
	uint64_t ms;

	if (json_is_object(o) && since && until && format &&
	    strlen(since) <= 40 && strlen(until) <= 40 && strlen(format) <= 8) {
		snprintf(detail, sizeof(detail),
			 "with personal data: %s to %s, %s", since, until,
			 format);
		util_rfc3339_parse(since, &ms);
		util_rfc3339_parse(until, &ms);
	}
	json_decref(o);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	Referral__Local__V1__Request *req =
		referral__local__v1__request__unpack(NULL, size, data);
	const ProtobufCBinaryData *b;

	if (!req)
		return 0;
	b = &req->body;
	util_referral_id_valid(req->referral_id);
	util_node_code_valid(req->to_node);
	util_utf8_valid(req->actor, strlen(req->actor));
	util_utf8_valid(req->request_id, strlen(req->request_id));
	switch (req->op) {
	case REFERRAL__LOCAL__V1__OP__OP_SUBMIT: {
		Referral__V1__ReferralSubmit *a =
			referral__v1__referral_submit__unpack(NULL, b->len,
							      b->data);
		if (a) {
			fuzz_check_submit(a);
			referral__v1__referral_submit__free_unpacked(a, NULL);
		}
		break;
	}
	case REFERRAL__LOCAL__V1__OP__OP_MOVE: {
		Referral__V1__StatusChange *sc =
			referral__v1__status_change__unpack(NULL, b->len,
							    b->data);
		if (sc) {
			fuzz_check_status_change(sc);
			referral__v1__status_change__free_unpacked(sc, NULL);
		}
		break;
	}
	case REFERRAL__LOCAL__V1__OP__OP_SUPPLEMENT: {
		Referral__V1__MaterialsSupplement *ms =
			referral__v1__materials_supplement__unpack(NULL, b->len,
								   b->data);
		if (ms) {
			fuzz_check_supplement(ms);
			referral__v1__materials_supplement__free_unpacked(ms,
									  NULL);
		}
		break;
	}
	case REFERRAL__LOCAL__V1__OP__OP_AUDIT_EXPORT:
		audit_export(b);
		break;
	default:
		break;
	}
	referral__local__v1__request__free_unpacked(req, NULL);
	return 0;
}
