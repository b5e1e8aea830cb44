/* test-events.c: COURT_EVENT (7) and LABOUR_EVENT (8) envelopes, body
 * referral.v1.CaseEvent, against proto/vectors/events-v1.json, with the
 * published keys of ../shared/vectors/wire-v1.json.
 *
 *   test-events EVENTS_VECTORS_DIR SHARED_VECTORS_DIR
 *
 * For every vector: the envelope, header and body bytes and their hashes;
 * each header field; the signature against the published public key, by
 * hand and through envelope_verify (clock at the vector's time) and
 * envelope_verify_archived; envelope_build making the same bytes; each
 * CaseEvent field against body_fields, and the body re-encoded from
 * body_fields byte for byte; the contract's rules for who sends which
 * type (docs/PROTOCOL.md); tampered bodies and signatures. Negative
 * controls show that the field comparisons can fail. */
#include <string.h>
#include <jansson.h>
#include <openssl/pem.h>

#include "application.h"
#include "envelope.h"
#include "sign.h"
#include "testutil.h"
#include "util.h"

static json_t *ev_vec, *wire;

/* The vectors' key ids, and the published key pair each stands for. */
static struct {
	const char *key_id, *node;
	EVP_PKEY *pub, *priv;
} keys[8];
static size_t n_keys;
static bool swap_keys; /* lookup answers with another key: must not verify */

static EVP_PKEY *lookup(void *ctx, const char *node, const char *key_id,
			uint64_t at)
{
	(void)ctx, (void)at;
	for (size_t i = 0; i < n_keys; i++)
		if (!strcmp(keys[i].node, node) && !strcmp(keys[i].key_id, key_id)) {
			if (!swap_keys)
				return keys[i].pub;
			for (size_t k = 0; k < n_keys; k++)
				if (EVP_PKEY_eq(keys[k].pub, keys[i].pub) != 1)
					return keys[k].pub;
		}
	return NULL;
}

static size_t key_index(const char *node, const char *key_id)
{
	for (size_t i = 0; i < n_keys; i++)
		if (!strcmp(keys[i].node, node) && !strcmp(keys[i].key_id, key_id))
			return i;
	return n_keys;
}

static const char *js(json_t *o, const char *name)
{
	const char *s = json_string_value(json_object_get(o, name));
	return s ? s : "";
}

static uint64_t ju(json_t *o, const char *name)
{
	return (uint64_t)json_integer_value(json_object_get(o, name));
}

/* hex from JSON, malloc'd; an empty buffer (never NULL) when absent. */
static uint8_t *jhex(json_t *o, const char *name, size_t *ret_len)
{
	uint8_t *b = NULL;

	if (util_unhex_alloc(js(o, name), &b, ret_len) || !b) {
		*ret_len = 0;
		b = malloc(1);
	}
	return b;
}

static bool same_bytes(const uint8_t *a, size_t al, const uint8_t *b, size_t bl)
{
	return al == bl && (al == 0 || !memcmp(a, b, al));
}

/* ---- messages and JSON, by descriptor ----------------------------------------
 * The vectors' body_fields: proto field names, enums by name, 64-bit
 * integers as numbers, bytes as hex, proto3 defaults left out. */

static size_t value_size(const ProtobufCFieldDescriptor *f)
{
	switch (f->type) {
	case PROTOBUF_C_TYPE_INT64: case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64: case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
		return 8;
	case PROTOBUF_C_TYPE_BOOL:
		return sizeof(protobuf_c_boolean);
	case PROTOBUF_C_TYPE_STRING:
		return sizeof(char *);
	case PROTOBUF_C_TYPE_BYTES:
		return sizeof(ProtobufCBinaryData);
	case PROTOBUF_C_TYPE_MESSAGE:
		return sizeof(ProtobufCMessage *);
	default:
		return 4;
	}
}

static ProtobufCMessage *msg_from_json(const ProtobufCMessageDescriptor *d,
				       json_t *o, const char *path);

/* Sets the value at p from j: 0, or -1 (said on stderr). */
static int set_value(const ProtobufCFieldDescriptor *f, void *p, json_t *j,
		     const char *path)
{
	char sub[256];

	switch (f->type) {
	case PROTOBUF_C_TYPE_INT32: case PROTOBUF_C_TYPE_SINT32:
	case PROTOBUF_C_TYPE_SFIXED32:
		if (!json_is_integer(j))
			break;
		*(int32_t *)p = (int32_t)json_integer_value(j);
		return 0;
	case PROTOBUF_C_TYPE_UINT32: case PROTOBUF_C_TYPE_FIXED32:
		if (!json_is_integer(j))
			break;
		*(uint32_t *)p = (uint32_t)json_integer_value(j);
		return 0;
	case PROTOBUF_C_TYPE_INT64: case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
		if (!json_is_integer(j))
			break;
		*(int64_t *)p = (int64_t)json_integer_value(j);
		return 0;
	case PROTOBUF_C_TYPE_UINT64: case PROTOBUF_C_TYPE_FIXED64:
		if (!json_is_integer(j))
			break;
		*(uint64_t *)p = (uint64_t)json_integer_value(j);
		return 0;
	case PROTOBUF_C_TYPE_BOOL:
		if (!json_is_boolean(j))
			break;
		*(protobuf_c_boolean *)p = json_is_true(j);
		return 0;
	case PROTOBUF_C_TYPE_ENUM: {
		const ProtobufCEnumValue *v = json_is_string(j)
			? protobuf_c_enum_descriptor_get_value_by_name(
				  f->descriptor, json_string_value(j))
			: NULL;
		if (json_is_integer(j)) {
			*(int *)p = (int)json_integer_value(j);
			return 0;
		}
		if (!v)
			break;
		*(int *)p = v->value;
		return 0;
	}
	case PROTOBUF_C_TYPE_STRING:
		if (!json_is_string(j))
			break;
		*(char **)p = strdup(json_string_value(j));
		return *(char **)p ? 0 : -1;
	case PROTOBUF_C_TYPE_BYTES: {
		ProtobufCBinaryData *b = p;
		if (!json_is_string(j) ||
		    util_unhex_alloc(json_string_value(j), &b->data, &b->len))
			break;
		return 0;
	}
	case PROTOBUF_C_TYPE_MESSAGE:
		snprintf(sub, sizeof(sub), "%s.%s", path, f->name);
		*(ProtobufCMessage **)p = msg_from_json(f->descriptor, j, sub);
		return *(ProtobufCMessage **)p ? 0 : -1;
	default:
		break;
	}
	fprintf(stderr, "body_fields: %s.%s has a value of the wrong type\n",
		path, f->name);
	return -1;
}

/* A message built from JSON, every part malloc'd, so that
 * protobuf_c_message_free_unpacked frees it; NULL (said) on a bad field. */
static ProtobufCMessage *msg_from_json(const ProtobufCMessageDescriptor *d,
				       json_t *o, const char *path)
{
	ProtobufCMessage *m;
	const char *key;
	json_t *j;

	if (!json_is_object(o)) {
		fprintf(stderr, "body_fields: %s is not an object\n", path);
		return NULL;
	}
	m = calloc(1, d->sizeof_message);
	if (!m)
		return NULL;
	d->message_init(m);
	json_object_foreach(o, key, j) {
		const ProtobufCFieldDescriptor *f =
			protobuf_c_message_descriptor_get_field_by_name(d, key);
		char *p;

		if (!f) {
			fprintf(stderr, "body_fields: %s.%s is not a field of %s\n",
				path, key, d->name);
			goto fail;
		}
		p = (char *)m + f->offset;
		if (f->label == PROTOBUF_C_LABEL_REPEATED) {
			size_t n = json_array_size(j), sz = value_size(f);
			char *arr;

			if (!json_is_array(j) || !n)
				goto fail;
			arr = calloc(n, sz);
			if (!arr)
				goto fail;
			*(size_t *)((char *)m + f->quantifier_offset) = n;
			*(char **)p = arr;
			for (size_t k = 0; k < n; k++)
				if (set_value(f, arr + k * sz, json_array_get(j, k),
					      path))
					goto fail;
		} else if (set_value(f, p, j, path)) {
			goto fail;
		}
	}
	return m;
fail:
	protobuf_c_message_free_unpacked(m, NULL);
	return NULL;
}

static bool is_default(const ProtobufCFieldDescriptor *f, const void *p)
{
	static const uint8_t zero[8];

	switch (f->type) {
	case PROTOBUF_C_TYPE_STRING:
		return !*(char *const *)p || !**(char *const *)p;
	case PROTOBUF_C_TYPE_BYTES:
		return ((const ProtobufCBinaryData *)p)->len == 0;
	case PROTOBUF_C_TYPE_MESSAGE:
		return !*(ProtobufCMessage *const *)p;
	default:
		return !memcmp(p, zero, value_size(f));
	}
}

static int diff_json(const ProtobufCMessage *m, json_t *o, const char *path,
		     bool say);

/* 0 when the value at p is what j says, else 1 (said if say). */
static int diff_value(const ProtobufCFieldDescriptor *f, const void *p,
		      json_t *j, const char *path, bool say)
{
	char sub[256];
	bool same;

	switch (f->type) {
	case PROTOBUF_C_TYPE_INT32: case PROTOBUF_C_TYPE_SINT32:
	case PROTOBUF_C_TYPE_SFIXED32:
		same = json_is_integer(j) &&
		       json_integer_value(j) == *(const int32_t *)p;
		break;
	case PROTOBUF_C_TYPE_UINT32: case PROTOBUF_C_TYPE_FIXED32:
		same = json_is_integer(j) &&
		       json_integer_value(j) == *(const uint32_t *)p;
		break;
	case PROTOBUF_C_TYPE_INT64: case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
		same = json_is_integer(j) &&
		       json_integer_value(j) == *(const int64_t *)p;
		break;
	case PROTOBUF_C_TYPE_UINT64: case PROTOBUF_C_TYPE_FIXED64:
		same = json_is_integer(j) &&
		       (uint64_t)json_integer_value(j) == *(const uint64_t *)p;
		break;
	case PROTOBUF_C_TYPE_BOOL:
		same = json_is_boolean(j) &&
		       json_is_true(j) == !!*(const protobuf_c_boolean *)p;
		break;
	case PROTOBUF_C_TYPE_ENUM: {
		const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value(
			f->descriptor, *(const int *)p);
		same = json_is_string(j)
			? v && !strcmp(v->name, json_string_value(j))
			: json_is_integer(j) &&
			  json_integer_value(j) == *(const int *)p;
		break;
	}
	case PROTOBUF_C_TYPE_STRING:
		same = json_is_string(j) &&
		       !strcmp(json_string_value(j), *(char *const *)p);
		break;
	case PROTOBUF_C_TYPE_BYTES: {
		const ProtobufCBinaryData *b = p;
		uint8_t *want = NULL;
		size_t wl = 0;
		same = json_is_string(j) &&
		       !util_unhex_alloc(json_string_value(j), &want, &wl) &&
		       same_bytes(want, wl, b->data, b->len);
		free(want);
		break;
	}
	case PROTOBUF_C_TYPE_MESSAGE:
		snprintf(sub, sizeof(sub), "%s.%s", path, f->name);
		if (!*(ProtobufCMessage *const *)p) {
			same = false;
			break;
		}
		return diff_json(*(ProtobufCMessage *const *)p, j, sub, say);
	default:
		same = false;
		break;
	}
	if (!same && say)
		fprintf(stderr, "FAIL %s.%s differs from body_fields\n", path,
			f->name);
	return !same;
}

/* The number of fields of m that differ from o (each said if say): a field
 * o names must hold that value, one o leaves out must be at its default,
 * and o names no field the schema lacks. */
static int diff_json(const ProtobufCMessage *m, json_t *o, const char *path,
		     bool say)
{
	const ProtobufCMessageDescriptor *d = m->descriptor;
	const char *key;
	json_t *j;
	int bad = 0;

	if (!json_is_object(o)) {
		if (say)
			fprintf(stderr, "FAIL %s: body_fields has no object\n", path);
		return 1;
	}
	json_object_foreach(o, key, j)
		if (!protobuf_c_message_descriptor_get_field_by_name(d, key)) {
			if (say)
				fprintf(stderr, "FAIL %s.%s is not a field of %s\n",
					path, key, d->name);
			bad++;
		}
	for (unsigned i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];
		const char *p = (const char *)m + f->offset;

		j = json_object_get(o, f->name);
		if (f->label == PROTOBUF_C_LABEL_REPEATED) {
			size_t n = *(const size_t *)((const char *)m +
						     f->quantifier_offset);
			const char *arr = *(char *const *)p;
			if (json_array_size(j) != n) {
				if (say)
					fprintf(stderr, "FAIL %s.%s has %zu items, "
						"body_fields %zu\n", path, f->name,
						n, json_array_size(j));
				bad++;
				continue;
			}
			for (size_t k = 0; k < n; k++)
				bad += diff_value(f, arr + k * value_size(f),
						  json_array_get(j, k), path, say);
		} else if (!j) {
			if (!is_default(f, p)) {
				if (say)
					fprintf(stderr, "FAIL %s.%s is set, but not "
						"in body_fields\n", path, f->name);
				bad++;
			}
		} else {
			bad += diff_value(f, p, j, path, say);
		}
	}
	return bad;
}

/* Any unknown field anywhere in m (a field this schema does not know). */
static size_t unknown_fields(const ProtobufCMessage *m)
{
	const ProtobufCMessageDescriptor *d = m->descriptor;
	size_t n = m->n_unknown_fields;

	for (unsigned i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];
		const char *p = (const char *)m + f->offset;

		if (f->type != PROTOBUF_C_TYPE_MESSAGE)
			continue;
		if (f->label == PROTOBUF_C_LABEL_REPEATED) {
			size_t c = *(const size_t *)((const char *)m +
						     f->quantifier_offset);
			for (size_t k = 0; k < c; k++)
				n += unknown_fields((*(ProtobufCMessage **const *)p)[k]);
		} else if (*(ProtobufCMessage *const *)p) {
			n += unknown_fields(*(ProtobufCMessage *const *)p);
		}
	}
	return n;
}

/* ---- the contract's rules (docs/PROTOCOL.md, broker/events.c) -------------- */

enum { COURT = REFERRAL__V1__KIND__COURT_EVENT,
       LABOUR = REFERRAL__V1__KIND__LABOUR_EVENT };

static int kind_of_role(const char *role)
{
	return !strcmp(role, "court") ? COURT
	       : !strcmp(role, "labour_bureau") ? LABOUR : 0;
}

static bool agency_may_send(int kind, int type)
{
	switch (type) {
	case REFERRAL__V1__EVENT_TYPE__FORWARD_APPLICATION:
		return kind == COURT || kind == LABOUR;
	case REFERRAL__V1__EVENT_TYPE__NOTIFY_DEFENCE:
	case REFERRAL__V1__EVENT_TYPE__HEARING_CHANGED:
	case REFERRAL__V1__EVENT_TYPE__CUSTODY_CHANGED:
	case REFERRAL__V1__EVENT_TYPE__JUDGMENT_SERVED:
	case REFERRAL__V1__EVENT_TYPE__CASE_ENDED:
		return kind == COURT;
	case REFERRAL__V1__EVENT_TYPE__ARBITRATION_ACCEPTED:
	case REFERRAL__V1__EVENT_TYPE__HEARING_SCHEDULED:
	case REFERRAL__V1__EVENT_TYPE__AWARD_OR_MEDIATION:
		return kind == LABOUR;
	default:
		return false;
	}
}

static bool is_notice(int type)
{
	return type >= REFERRAL__V1__EVENT_TYPE__AID_GRANTED &&
	       type <= REFERRAL__V1__EVENT_TYPE__CASE_CLOSED;
}

static bool opens(int type)
{
	return type == REFERRAL__V1__EVENT_TYPE__NOTIFY_DEFENCE ||
	       type == REFERRAL__V1__EVENT_TYPE__FORWARD_APPLICATION;
}

static const char *role_of(const char *code)
{
	return js(json_object_get(json_object_get(ev_vec, "nodes"), code), "role");
}

/* The opening vector of referral_id (NULL if none). */
static json_t *opening_of(const char *referral_id)
{
	json_t *v;
	size_t i;

	json_array_foreach(json_object_get(ev_vec, "vectors"), i, v) {
		json_t *h = json_object_get(v, "header_fields");
		json_t *b = json_object_get(v, "body_fields");
		int type = protobuf_c_enum_descriptor_get_value_by_name(
			&referral__v1__event_type__descriptor, js(b, "type"))
			? protobuf_c_enum_descriptor_get_value_by_name(
				  &referral__v1__event_type__descriptor,
				  js(b, "type"))->value : 0;
		if (opens(type) && !strcmp(js(h, "referral_id"), referral_id))
			return v;
	}
	return NULL;
}

static void check_rules(json_t *v, const Referral__V1__Header *h,
			const Referral__V1__CaseEvent *ev)
{
	const char *from_role = role_of(h->from_node), *to_role = role_of(h->to_node);
	int kind = (int)h->kind, type = (int)ev->type;
	json_t *op, *oh;

	CHECK(kind == COURT || kind == LABOUR);
	CHECK(util_referral_id_valid(h->referral_id));
	CHECK(ev->event_id[0]); /* the sender's id for the event */
	CHECK(ev->body_name[0]);
	if (is_notice(type)) {
		/* A centre answers the agency with the matter's kind. */
		CHECK(!strcmp(from_role, "legal_aid_centre"));
		CHECK_EQ_INT(kind, kind_of_role(to_role));
		CHECK(ev->application == NULL);
		op = opening_of(h->referral_id);
		CHECK(op != NULL);
		oh = json_object_get(op, "header_fields");
		CHECK(!strcmp(js(oh, "from_node"), h->to_node));
		CHECK(!strcmp(js(oh, "to_node"), h->from_node));
		CHECK(h->referral_seq >= 1);
		if (type == REFERRAL__V1__EVENT_TYPE__ASSIGNMENT_NOTICE ||
		    type == REFERRAL__V1__EVENT_TYPE__LAWYER_REPLACED) {
			CHECK(ev->assignment && ev->assignment->firm[0] &&
			      ev->assignment->lawyer[0] &&
			      ev->assignment->licence_no[0]);
		}
		return;
	}
	/* An agency's event: its role's kind, a type that role may send. */
	CHECK_EQ_INT(kind, kind_of_role(from_role));
	CHECK(agency_may_send(kind, type));
	CHECK(!strcmp(to_role, "legal_aid_centre"));
	if (opens(type)) {
		application_limits_t lim = { 4 << 20, 32, NULL, true };
		char err[300] = "";

		CHECK_EQ_INT(h->referral_seq, 1);
		CHECK(!strncmp(h->referral_id, h->from_node, 6) &&
		      h->referral_id[6] == '-');
		CHECK(ev->application && ev->application->matter);
		if (ev->application) {
			CHECK_EQ_INT(application_check(ev->application, &lim, err,
						       sizeof(err)), 0);
			if (err[0])
				fprintf(stderr, "  application_check: %s\n", err);
		}
		CHECK(ev->assignment == NULL);
		return;
	}
	/* A follow-up: the matter its sender opened, a later number. */
	op = opening_of(h->referral_id);
	CHECK(op != NULL && op != v);
	oh = json_object_get(op, "header_fields");
	CHECK(!strcmp(js(oh, "from_node"), h->from_node));
	CHECK(!strcmp(js(oh, "to_node"), h->to_node));
	CHECK(h->referral_seq >= 2);
	CHECK(h->created_at_ms > ju(oh, "created_at_ms"));
	CHECK(ev->application == NULL);
}

/* ---- one vector ------------------------------------------------------------------ */

static envelope_policy_t policy(const Referral__V1__Header *h)
{
	envelope_policy_t p = {
		.self = h->to_node, .peer = h->from_node, .max_bytes = 1 << 20,
		.now_ms = h->created_at_ms + 1000,
		.lifetime_ms = 14 * 86400000ULL, .future_ms = 300000,
		.lookup = lookup,
	};
	return p;
}

static int verify(const envelope_policy_t *p, const uint8_t *env, size_t len)
{
	envelope_check_t c;
	int st = envelope_verify(p, env, len, &c);

	envelope_check_free(&c);
	return st;
}

/* env with one bit changed in its body or its signature, re-packed. */
static uint8_t *tamper(const uint8_t *env, size_t len, bool body,
		       size_t *ret_len)
{
	Referral__V1__Envelope *e = referral__v1__envelope__unpack(NULL, len, env);
	uint8_t *out;

	if (!e)
		return NULL;
	if (body && e->body.len)
		e->body.data[e->body.len / 2] ^= 0x10;
	else if (!body && e->signature.len)
		e->signature.data[e->signature.len - 1] ^= 0x01;
	*ret_len = referral__v1__envelope__get_packed_size(e);
	out = malloc(*ret_len);
	if (out)
		referral__v1__envelope__pack(e, out);
	referral__v1__envelope__free_unpacked(e, NULL);
	return out;
}

static void check_vector(json_t *v)
{
	json_t *hf = json_object_get(v, "header_fields");
	json_t *bf = json_object_get(v, "body_fields");
	size_t el, hl, bl, dl, sl, ml, tl, nl, pl;
	uint8_t *env = jhex(v, "envelope_hex", &el);
	uint8_t *hdr = jhex(v, "header_hex", &hl);
	uint8_t *body = jhex(v, "body_hex", &bl);
	uint8_t *dig = jhex(v, "body_digest_hex", &dl);
	uint8_t *sig = jhex(v, "signature_hex", &sl);
	uint8_t *sha = jhex(v, "envelope_sha256_hex", &tl);
	uint8_t *mid = jhex(hf, "msg_id_hex", &ml);
	uint8_t mine[32], *in, *built = NULL, *t;
	Referral__V1__Envelope *e = NULL;
	Referral__V1__Header *h = NULL;
	Referral__V1__CaseEvent *ev = NULL;
	ProtobufCMessage *fromj;
	const ProtobufCEnumValue *kv;
	envelope_policy_t pol;
	envelope_check_t c;
	size_t ki;

	fprintf(stderr, "vector: %s\n", js(v, "name"));
	CHECK(el > 0 && hl > 0 && bl > 0 && dl == 32 && sl == 64 && tl == 32 &&
	      ml == 16);

	/* The bytes, and what they hash to. */
	util_sha256(env, el, mine);
	CHECK(same_bytes(mine, 32, sha, tl));
	e = referral__v1__envelope__unpack(NULL, el, env);
	CHECK(e != NULL);
	if (!e)
		goto out;
	CHECK_EQ_INT(e->base.n_unknown_fields, 0);
	CHECK(e->batch == NULL);
	CHECK(same_bytes(e->header.data, e->header.len, hdr, hl));
	CHECK(same_bytes(e->body.data, e->body.len, body, bl));
	CHECK(same_bytes(e->signature.data, e->signature.len, sig, sl));

	/* Each header field. */
	h = referral__v1__header__unpack(NULL, hl, hdr);
	CHECK(h != NULL);
	if (!h)
		goto out;
	CHECK_EQ_INT(h->base.n_unknown_fields, 0);
	CHECK_EQ_INT(h->version, ju(hf, "version"));
	CHECK_EQ_INT(h->version, 1);
	CHECK(same_bytes(h->msg_id.data, h->msg_id.len, mid, ml));
	CHECK(!strcmp(h->from_node, js(hf, "from_node")));
	CHECK(!strcmp(h->to_node, js(hf, "to_node")));
	CHECK(h->created_at_ms == ju(hf, "created_at_ms"));
	kv = protobuf_c_enum_descriptor_get_value_by_name(
		&referral__v1__kind__descriptor, js(hf, "kind"));
	CHECK(kv && (int)h->kind == kv->value);
	CHECK(!strcmp(h->key_id, js(hf, "key_id")));
	CHECK(!strcmp(h->referral_id, js(hf, "referral_id")));
	CHECK(h->referral_seq == ju(hf, "referral_seq"));
	/* A UUIDv7 whose time is the message's. */
	CHECK((h->msg_id.data[6] >> 4) == 7 && (h->msg_id.data[8] >> 6) == 2);

	/* The body digest: SHA-256 (Ed25519 suite), in the header. */
	CHECK(same_bytes(h->body_digest.data, h->body_digest.len, dig, dl));
	CHECK_EQ_INT(sign_digest(SIGN_ALG_ED25519, body, bl, mine), 0);
	CHECK(same_bytes(mine, 32, dig, dl));

	/* The signature, by hand, with the published public key. */
	ki = key_index(h->from_node, h->key_id);
	CHECK(ki < n_keys);
	if (ki >= n_keys)
		goto out;
	CHECK(!strcmp(js(json_object_get(json_object_get(ev_vec, "keys"),
					  h->key_id), "published_key"),
		      js(v, "signing_key")));
	in = malloc(21 + hl);
	memcpy(in, ENVELOPE_SIGN_PREFIX, 21); /* with its zero byte */
	memcpy(in + 21, hdr, hl);
	CHECK_EQ_INT(sign_verify(keys[ki].pub, in, 21 + hl, sig, sl), 0);
	in[21 + hl - 1] ^= 1;
	CHECK(sign_verify(keys[ki].pub, in, 21 + hl, sig, sl) != 0);
	free(in);

	/* As a receiver checks it, with its clock at the vector's time. */
	pol = policy(h);
	CHECK_EQ_INT(envelope_verify(&pol, env, el, &c),
		     REFERRAL__V1__RECEIPT_STATUS__STORED);
	CHECK(memcmp(c.sha256, sha, 32) == 0);
	envelope_check_free(&c);
	CHECK_EQ_INT(envelope_verify_archived(lookup, NULL, env, el, &c),
		     REFERRAL__V1__RECEIPT_STATUS__STORED);
	envelope_check_free(&c);
	swap_keys = true;
	CHECK_EQ_INT(verify(&pol, env, el), REFERRAL__V1__RECEIPT_STATUS__BAD_SIGNATURE);
	swap_keys = false;
	pol.now_ms = h->created_at_ms + 15 * 86400000ULL;
	CHECK_EQ_INT(verify(&pol, env, el), REFERRAL__V1__RECEIPT_STATUS__STALE);
	pol = policy(h);

	/* Tampered: a body bit, then a signature bit. */
	t = tamper(env, el, true, &nl);
	CHECK(t && verify(&pol, t, nl) == REFERRAL__V1__RECEIPT_STATUS__BAD_DIGEST);
	free(t);
	t = tamper(env, el, false, &nl);
	CHECK(t && verify(&pol, t, nl) ==
		   REFERRAL__V1__RECEIPT_STATUS__BAD_SIGNATURE);
	free(t);

	/* The node's envelope_build makes these very bytes. */
	{
		envelope_signer_t s = { h->from_node, h->key_id, keys[ki].priv };
		envelope_fields_t f = {
			.to_node = h->to_node, .kind = h->kind,
			.referral_id = h->referral_id,
			.referral_seq = h->referral_seq,
			.created_at_ms = h->created_at_ms, .msg_id = mid,
		};
		CHECK_EQ_INT(envelope_build(&s, &f, body, bl, &built, &nl, NULL), 0);
		CHECK(built && same_bytes(built, nl, env, el));
	}

	/* The body: each field, then the bytes again from the fields. */
	ev = referral__v1__case_event__unpack(NULL, bl, body);
	CHECK(ev != NULL);
	if (!ev)
		goto out;
	CHECK_EQ_INT(unknown_fields(&ev->base), 0);
	CHECK_EQ_INT(diff_json(&ev->base, bf, "body", true), 0);
	pl = referral__v1__case_event__get_packed_size(ev);
	t = malloc(pl ? pl : 1);
	referral__v1__case_event__pack(ev, t);
	CHECK(same_bytes(t, pl, body, bl));
	free(t);
	fromj = msg_from_json(&referral__v1__case_event__descriptor, bf, "body");
	CHECK(fromj != NULL);
	if (fromj) {
		pl = protobuf_c_message_get_packed_size(fromj);
		t = malloc(pl ? pl : 1);
		protobuf_c_message_pack(fromj, t);
		CHECK(same_bytes(t, pl, body, bl));
		free(t);
		protobuf_c_message_free_unpacked(fromj, NULL);
	}
	check_rules(v, h, ev);
out:
	if (ev)
		referral__v1__case_event__free_unpacked(ev, NULL);
	if (h)
		referral__v1__header__free_unpacked(h, NULL);
	if (e)
		referral__v1__envelope__free_unpacked(e, NULL);
	free(built);
	free(env);
	free(hdr);
	free(body);
	free(dig);
	free(sig);
	free(sha);
	free(mid);
}

/* The vectors must hold what the contract needs shown, each at least once. */
static void check_coverage(void)
{
	bool nd = false, fa = false, follow = false, notice = false;
	json_t *v;
	size_t i;

	json_array_foreach(json_object_get(ev_vec, "vectors"), i, v) {
		json_t *h = json_object_get(v, "header_fields");
		json_t *b = json_object_get(v, "body_fields");
		json_t *a = json_object_get(b, "assignment");
		const char *kind = js(h, "kind"), *type = js(b, "type");

		nd |= !strcmp(kind, "COURT_EVENT") && !strcmp(type, "NOTIFY_DEFENCE");
		fa |= !strcmp(kind, "LABOUR_EVENT") &&
		      !strcmp(type, "FORWARD_APPLICATION");
		follow |= !strcmp(type, "HEARING_CHANGED") &&
			  ju(h, "referral_seq") == 2;
		notice |= !strcmp(type, "ASSIGNMENT_NOTICE") && js(a, "firm")[0] &&
			  js(a, "lawyer")[0] && js(a, "licence_no")[0] &&
			  js(a, "contact")[0];
	}
	CHECK(json_array_size(json_object_get(ev_vec, "vectors")) >= 4);
	CHECK(nd);
	CHECK(fa);
	CHECK(follow);
	CHECK(notice);
}

static void check_must_reject(void)
{
	json_t *r;
	size_t i;

	CHECK(json_array_size(json_object_get(ev_vec, "must_reject")) >= 2);
	json_array_foreach(json_object_get(ev_vec, "must_reject"), i, r) {
		const ProtobufCEnumValue *want =
			protobuf_c_enum_descriptor_get_value_by_name(
				&referral__v1__receipt_status__descriptor,
				js(r, "expect"));
		size_t el;
		uint8_t *env = jhex(r, "envelope_hex", &el);
		envelope_check_t c;
		envelope_policy_t p;

		CHECK(want != NULL);
		CHECK_EQ_INT(envelope_verify_archived(lookup, NULL, env, el, &c),
			     want ? want->value : -1);
		if (c.hdr) {
			p = policy(c.hdr);
			CHECK_EQ_INT(verify(&p, env, el), want ? want->value : -1);
		}
		CHECK(c.hdr != NULL);
		envelope_check_free(&c);
		free(env);
	}
}

/* Negative controls: the comparisons above notice a changed field. */
static void check_controls(void)
{
	json_t *v, *bf, *alt;
	Referral__V1__CaseEvent *ev;
	ProtobufCMessage *m;
	uint8_t *body, *t;
	size_t bl, pl, i;
	bool done = false;

	json_array_foreach(json_object_get(ev_vec, "vectors"), i, v) {
		bf = json_object_get(v, "body_fields");
		if (!json_object_get(bf, "assignment") || done)
			continue;
		done = true;
		body = jhex(v, "body_hex", &bl);
		ev = referral__v1__case_event__unpack(NULL, bl, body);
		CHECK(ev != NULL);
		alt = json_deep_copy(bf);
		json_object_set_new(json_object_get(alt, "assignment"), "contact",
				    json_string("0595-99999999"));
		if (ev) {
			CHECK(diff_json(&ev->base, alt, "control", false) == 1);
			json_object_set_new(alt, "unheard_of", json_true());
			CHECK(diff_json(&ev->base, alt, "control", false) == 2);
			json_object_del(alt, "unheard_of");
			json_object_del(alt, "case_ref");
			CHECK(diff_json(&ev->base, alt, "control", false) == 2);
		}
		m = msg_from_json(&referral__v1__case_event__descriptor, alt,
				  "control");
		CHECK(m != NULL);
		if (m) {
			pl = protobuf_c_message_get_packed_size(m);
			t = malloc(pl ? pl : 1);
			protobuf_c_message_pack(m, t);
			CHECK(!same_bytes(t, pl, body, bl));
			free(t);
			protobuf_c_message_free_unpacked(m, NULL);
		}
		json_decref(alt);
		if (ev)
			referral__v1__case_event__free_unpacked(ev, NULL);
		free(body);
	}
	CHECK(done);
}

static EVP_PKEY *pem_priv(const char *pem)
{
	BIO *b = BIO_new_mem_buf(pem, -1);
	EVP_PKEY *k = b ? PEM_read_bio_PrivateKey(b, NULL, NULL, NULL) : NULL;

	BIO_free(b);
	return k;
}

/* The vectors' key ids, each the published key pair it names. */
static void load_keys(void)
{
	json_t *k, *pubd;
	const char *id;

	json_object_foreach(json_object_get(ev_vec, "keys"), id, k) {
		if (n_keys == sizeof(keys) / sizeof(keys[0]))
			break;
		pubd = json_object_get(json_object_get(wire, "keys"),
				       js(k, "published_key"));
		CHECK(pubd != NULL);
		/* The copy in the vectors is the published one. */
		CHECK(!strcmp(js(k, "public_der_b64"), js(pubd, "public_der_b64")));
		keys[n_keys].key_id = id;
		keys[n_keys].node = js(k, "node");
		CHECK(sign_key_from_b64(js(pubd, "public_der_b64"),
					&keys[n_keys].pub) == 0);
		keys[n_keys].priv = pem_priv(js(pubd, "private_pem"));
		CHECK(keys[n_keys].pub && keys[n_keys].priv);
		if (keys[n_keys].pub && keys[n_keys].priv)
			n_keys++;
	}
	CHECK(n_keys >= 2);
}

int main(int argc, char **argv)
{
	char path[4096];
	json_error_t jerr;
	json_t *v;
	size_t i;

	if (argc < 3) {
		fprintf(stderr, "usage: test-events EVENTS_VECTORS_DIR "
			"SHARED_VECTORS_DIR\n");
		return 2;
	}
	snprintf(path, sizeof(path), "%s/events-v1.json", argv[1]);
	ev_vec = json_load_file(path, 0, &jerr);
	if (!ev_vec) {
		fprintf(stderr, "cannot read %s: %s\n", path, jerr.text);
		return 1;
	}
	snprintf(path, sizeof(path), "%s/wire-v1.json", argv[2]);
	wire = json_load_file(path, 0, &jerr);
	if (!wire) {
		fprintf(stderr, "cannot read %s: %s\n", path, jerr.text);
		return 1;
	}
	load_keys();
	check_coverage();
	json_array_foreach(json_object_get(ev_vec, "vectors"), i, v)
		check_vector(v);
	check_must_reject();
	check_controls();
	for (i = 0; i < n_keys; i++) {
		EVP_PKEY_free(keys[i].pub);
		EVP_PKEY_free(keys[i].priv);
	}
	json_decref(ev_vec);
	json_decref(wire);
	return test_finish("test-events");
}
