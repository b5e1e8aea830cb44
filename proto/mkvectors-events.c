/* mkvectors-events.c: writes proto/vectors/events-v1.json, the test vectors
 * for kinds COURT_EVENT (7) and LABOUR_EVENT (8), whose body is
 * referral.v1.CaseEvent (docs/PROTOCOL.md, "Court and labour-bureau
 * events").
 *
 *   mkvectors-events ../shared/vectors/wire-v1.json > proto/vectors/events-v1.json
 *   mkvectors-events ../shared/vectors/wire-v1.json --check proto/vectors/events-v1.json
 *
 * Promises: the output depends only on this file and on the published test
 * keys in wire-v1.json. Every msg_id, referral id and time is fixed here,
 * Ed25519 is deterministic and protobuf-c writes fields in number order, so
 * two runs give the same bytes; --check exits 1 when the file differs from
 * what this program writes now. The envelopes are made by the node's own
 * envelope_build and signed with keys loaded by sign_key_load_private.
 *
 * The agencies' key ids (350521-k1, 350524-k1) are aliases of the published
 * key pair 350581-k1: no court or bureau key is published, and a signature
 * needs a private key. The vectors are about the encoding; whether a role
 * may send a type is the receiver's check (broker/events.c). Built, never
 * installed: a tool for people who change the vectors. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <jansson.h>

#include "envelope.h"
#include "sign.h"
#include "util.h"

/* The nodes of the vectors, and their roles as a directory would list
 * them. 350521 and 350524 are the codes the integration tests use. */
static const struct { const char *code, *role, *name; } nodes[] = {
	{ "350521", "court", "晋江市人民法院" },
	{ "350524", "labour_bureau", "晋江市劳动人事争议仲裁委员会" },
	{ "350582", "legal_aid_centre", "晋江市法律援助中心" },
};

/* Each header key_id, the node it belongs to, and the published key pair
 * (wire-v1.json "keys") that signs for it. */
static const struct { const char *key_id, *node, *published; } keys[] = {
	{ "350521-k1", "350521", "350581-k1" },
	{ "350524-k1", "350524", "350581-k1" },
	{ "350582-k1", "350582", "350582-k1" },
};

static const char *node_name(const char *code)
{
	for (size_t i = 0; i < sizeof(nodes) / sizeof(nodes[0]); i++)
		if (!strcmp(nodes[i].code, code))
			return nodes[i].name;
	return "";
}

static void die(const char *what)
{
	fprintf(stderr, "mkvectors-events: %s\n", what);
	exit(2);
}

/* ---- CaseEvent (or any message) to JSON, by its descriptor ------------------
 * proto field names; enums by name; 64-bit integers as JSON numbers; bytes
 * as lower-case hex; a field at its proto3 default is left out, as it is
 * on the wire. */

static json_t *msg_to_json(const ProtobufCMessage *m);

static json_t *value_to_json(const ProtobufCFieldDescriptor *f, const void *p)
{
	switch (f->type) {
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_SINT32:
	case PROTOBUF_C_TYPE_SFIXED32:
		return json_integer(*(const int32_t *)p);
	case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_FIXED32:
		return json_integer(*(const uint32_t *)p);
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
		return json_integer(*(const int64_t *)p);
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
		if (*(const uint64_t *)p > (uint64_t)INT64_MAX)
			die("a uint64 over 2^63 has no JSON number here");
		return json_integer((json_int_t)*(const uint64_t *)p);
	case PROTOBUF_C_TYPE_BOOL:
		return json_boolean(*(const protobuf_c_boolean *)p);
	case PROTOBUF_C_TYPE_ENUM: {
		const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value(
			f->descriptor, *(const int *)p);
		return v ? json_string(v->name) : json_integer(*(const int *)p);
	}
	case PROTOBUF_C_TYPE_STRING:
		return json_string(*(char *const *)p);
	case PROTOBUF_C_TYPE_BYTES: {
		const ProtobufCBinaryData *b = p;
		char *hex = malloc(b->len * 2 + 1);
		json_t *j;
		if (!hex)
			die("out of memory");
		util_hex(b->data, b->len, hex);
		j = json_string(hex);
		free(hex);
		return j;
	}
	case PROTOBUF_C_TYPE_MESSAGE:
		return msg_to_json(*(ProtobufCMessage *const *)p);
	default:
		die("a field type the vectors do not use");
	}
	return NULL;
}

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

static json_t *msg_to_json(const ProtobufCMessage *m)
{
	const ProtobufCMessageDescriptor *d = m->descriptor;
	json_t *o = json_object();

	for (unsigned i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];
		const char *p = (const char *)m + f->offset;

		if (f->label == PROTOBUF_C_LABEL_REPEATED) {
			size_t n = *(const size_t *)((const char *)m +
						     f->quantifier_offset);
			const char *arr = *(char *const *)p;
			json_t *a;
			if (!n)
				continue;
			a = json_array();
			for (size_t k = 0; k < n; k++)
				json_array_append_new(a, value_to_json(f,
					arr + k * value_size(f)));
			json_object_set_new(o, f->name, a);
		} else if (f->label == PROTOBUF_C_LABEL_NONE) {
			if (!is_default(f, p))
				json_object_set_new(o, f->name, value_to_json(f, p));
		} else {
			die("a proto2 field: the vectors' schema is proto3");
		}
	}
	return o;
}

/* ---- fixed ids ---------------------------------------------------------------- */

/* A UUIDv7 (RFC 9562) at ms whose other 74 bits come from tag: fixed, so
 * the vectors are reproducible, and unlike any id a node would make. */
static void uuid7_fixed(uint64_t ms, uint8_t tag, uint8_t out[16])
{
	static const uint8_t tail[10] = { 0x0e, 0x7e, 0xa5, 0x1c, 0x0d, 0xe0,
					  0x0c, 0x0a, 0x5e, 0x00 };

	for (int i = 0; i < 6; i++)
		out[i] = (uint8_t)(ms >> (40 - 8 * i));
	memcpy(out + 6, tail, 10);
	out[6] = (uint8_t)(0x70 | (out[6] & 0x0f));
	out[8] = (uint8_t)(0x80 | (out[8] & 0x3f));
	out[15] = tag;
}

static void referral_id_fixed(const char *code, uint64_t ms, uint8_t tag,
			      char out[40])
{
	uint8_t id[16];
	char hex[33];

	uuid7_fixed(ms, tag, id);
	util_hex(id, 16, hex);
	snprintf(out, 40, "%s-%s", code, hex);
}

/* ---- the applications inside the opening events ------------------------------ */
/* Invented people: the names, ID numbers (all-zero sequence part) and phone
 * numbers belong to no one. Both pass application_check, which a
 * receiving centre runs on an opening event's application. */

static Referral__V1__Applicant ap_court = REFERRAL__V1__APPLICANT__INIT;
static Referral__V1__Matter m_court = REFERRAL__V1__MATTER__INIT;
static Referral__V1__Means me_court = REFERRAL__V1__MEANS__INIT;
static Referral__V1__Consent c_court = REFERRAL__V1__CONSENT__INIT;
static Referral__V1__ReferralSubmit a_court = REFERRAL__V1__REFERRAL_SUBMIT__INIT;

static Referral__V1__Applicant ap_lab = REFERRAL__V1__APPLICANT__INIT;
static Referral__V1__OpposingParty op_lab = REFERRAL__V1__OPPOSING_PARTY__INIT;
static Referral__V1__OpposingParty *ops_lab[] = { &op_lab };
static Referral__V1__Matter m_lab = REFERRAL__V1__MATTER__INIT;
static Referral__V1__Means me_lab = REFERRAL__V1__MEANS__INIT;
static Referral__V1__Consent c_lab = REFERRAL__V1__CONSENT__INIT;
static Referral__V1__ReferralSubmit a_lab = REFERRAL__V1__REFERRAL_SUBMIT__INIT;

static char *addr_court[] = { "晋江市示例路2号" };
static char *addr_lab[] = { "晋江市示例路3号" };
static char *groups_lab[] = { "migrant_worker" };

static void applications(void)
{
	ap_court.name = "林示例";
	ap_court.id_type = "resident_id";
	ap_court.id_number = "350582199501010000";
	ap_court.sex = "male";
	ap_court.birth_date = "1995-01-01";
	ap_court.phone = "13900000000";
	ap_court.n_addresses = 1;
	ap_court.addresses = addr_court;
	m_court.service = "criminal_defence";
	m_court.case_type = "other";
	m_court.applicant_role = "defendant";
	m_court.stage = "first_instance";
	m_court.handling_body = "晋江市人民法院";
	m_court.handling_case_no = "(2026)闽0582刑初101号";
	m_court.summary = "Public prosecution; the defendant has no defence "
			  "counsel (Art 25).";
	me_court.path = "no_condition";
	me_court.category = "notified_defence";
	c_court.cross_county_transfer = 1;
	c_court.signed_at = "2026-12-01T00:30:00Z";
	c_court.method = "written";
	a_court.applicant = &ap_court;
	a_court.matter = &m_court;
	a_court.means = &me_court;
	a_court.consent = &c_court;

	ap_lab.name = "黄示例";
	ap_lab.id_type = "resident_id";
	ap_lab.id_number = "522101199207150000";
	ap_lab.sex = "female";
	ap_lab.birth_date = "1992-07-15";
	ap_lab.phone = "13700000000";
	ap_lab.n_addresses = 1;
	ap_lab.addresses = addr_lab;
	ap_lab.employer = "晋江示例鞋业有限公司";
	ap_lab.n_groups = 1;
	ap_lab.groups = groups_lab;
	op_lab.name = "晋江示例鞋业有限公司";
	op_lab.kind = "organisation";
	m_lab.service = "labour_arbitration";
	m_lab.case_type = "labour";
	m_lab.applicant_role = "claimant";
	m_lab.stage = "arbitration";
	m_lab.handling_body = "晋江市劳动人事争议仲裁委员会";
	m_lab.handling_case_no = "晋劳人仲案字〔2026〕88号";
	m_lab.n_opposing_parties = 1;
	m_lab.opposing_parties = ops_lab;
	m_lab.claim_amount_fen = 3860050;
	m_lab.limitation_deadline = "2027-06-30";
	m_lab.summary = "Unpaid wages for March to August.";
	me_lab.path = "exempt";
	me_lab.category = "migrant_worker_wages";
	me_lab.household_income_fen = 210000;
	me_lab.household_size = 3;
	me_lab.threshold_fen = 178000;
	c_lab.cross_county_transfer = 1;
	c_lab.signed_at = "2026-12-01T01:40:00Z";
	c_lab.method = "written";
	a_lab.origin_reference = "JJ-LAB-2026-0088";
	a_lab.applicant = &ap_lab;
	a_lab.matter = &m_lab;
	a_lab.means = &me_lab;
	a_lab.consent = &c_lab;
}

/* ---- one vector ----------------------------------------------------------------- */

static EVP_PKEY *published[2];  /* 350581-k1, 350582-k1 */

static EVP_PKEY *key_for(const char *key_id, const char **ret_published)
{
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (!strcmp(keys[i].key_id, key_id)) {
			*ret_published = keys[i].published;
			return !strcmp(keys[i].published, "350581-k1")
				? published[0] : published[1];
		}
	die("no key");
	return NULL;
}

static char *hex_of(const uint8_t *p, size_t n)
{
	char *h = malloc(n * 2 + 1);

	if (!h)
		die("out of memory");
	util_hex(p, n, h);
	return h;
}

static void set_hex(json_t *o, const char *name, const uint8_t *p, size_t n)
{
	char *h = hex_of(p, n);

	json_object_set_new(o, name, json_string(h));
	free(h);
}

typedef struct {
	const char *name;
	const char *from, *to, *key_id;
	Referral__V1__Kind kind;
	const char *referral_id;
	uint64_t seq, created;
	uint8_t msg_tag;
	const char *note;
} spec_t;

/* Builds and signs one vector; *ret_env gets the envelope (malloc'd) for
 * the must_reject cases. */
static json_t *vector(const spec_t *s, const Referral__V1__CaseEvent *ev,
		      uint8_t **ret_env, size_t *ret_len)
{
	const char *pub_name;
	EVP_PKEY *key = key_for(s->key_id, &pub_name);
	envelope_signer_t signer = { s->from, s->key_id, key };
	envelope_fields_t f = {
		.to_node = s->to, .kind = s->kind, .referral_id = s->referral_id,
		.referral_seq = s->seq, .created_at_ms = s->created,
	};
	uint8_t msg_id[16], *body, *env, digest[32], sha[32];
	size_t blen, elen;
	Referral__V1__Envelope *e;
	const ProtobufCEnumValue *kv;
	json_t *o = json_object(), *h = json_object();

	uuid7_fixed(s->created, s->msg_tag, msg_id);
	f.msg_id = msg_id;
	blen = referral__v1__case_event__get_packed_size(ev);
	body = malloc(blen ? blen : 1);
	if (!body)
		die("out of memory");
	referral__v1__case_event__pack(ev, body);
	if (envelope_build(&signer, &f, body, blen, &env, &elen, NULL))
		die("envelope_build failed");
	e = referral__v1__envelope__unpack(NULL, elen, env);
	if (!e)
		die("own envelope does not parse");
	sign_digest(SIGN_ALG_ED25519, body, blen, digest);
	util_sha256(env, elen, sha);
	kv = protobuf_c_enum_descriptor_get_value(&referral__v1__kind__descriptor,
						  s->kind);

	json_object_set_new(o, "name", json_string(s->name));
	json_object_set_new(h, "version", json_integer(ENVELOPE_VERSION));
	set_hex(h, "msg_id_hex", msg_id, 16);
	json_object_set_new(h, "from_node", json_string(s->from));
	json_object_set_new(h, "to_node", json_string(s->to));
	json_object_set_new(h, "created_at_ms", json_integer((json_int_t)s->created));
	json_object_set_new(h, "kind", json_string(kv->name));
	json_object_set_new(h, "key_id", json_string(s->key_id));
	json_object_set_new(h, "referral_id", json_string(s->referral_id));
	json_object_set_new(h, "referral_seq", json_integer((json_int_t)s->seq));
	json_object_set_new(o, "header_fields", h);
	set_hex(o, "header_hex", e->header.data, e->header.len);
	json_object_set_new(o, "body_fields",
			    msg_to_json((const ProtobufCMessage *)ev));
	set_hex(o, "body_hex", body, blen);
	set_hex(o, "body_digest_hex", digest, 32);
	set_hex(o, "signature_hex", e->signature.data, e->signature.len);
	set_hex(o, "envelope_hex", env, elen);
	set_hex(o, "envelope_sha256_hex", sha, 32);
	json_object_set_new(o, "signing_key", json_string(pub_name));
	json_object_set_new(o, "note", json_string(s->note));
	referral__v1__envelope__free_unpacked(e, NULL);
	free(body);
	*ret_env = env;
	*ret_len = elen;
	return o;
}

/* An envelope with one bit of its body or its signature changed. */
static json_t *tampered(const char *kase, const char *of, const char *expect,
			const uint8_t *env, size_t elen, bool in_body)
{
	Referral__V1__Envelope *e = referral__v1__envelope__unpack(NULL, elen, env);
	Referral__V1__CaseEvent *ev;
	uint8_t *out;
	size_t ol;
	json_t *o;

	if (!e)
		die("own envelope does not parse");
	if (in_body) {
		/* The last byte is inside the last string, ASCII: the body
		 * still parses, so only its digest can give it away. */
		e->body.data[e->body.len - 1] ^= 0x01;
		ev = referral__v1__case_event__unpack(NULL, e->body.len,
						      e->body.data);
		if (!ev)
			die("the changed body must still parse");
		referral__v1__case_event__free_unpacked(ev, NULL);
	} else {
		e->signature.data[10] ^= 0x01;
	}
	ol = referral__v1__envelope__get_packed_size(e);
	out = malloc(ol);
	if (!out)
		die("out of memory");
	referral__v1__envelope__pack(e, out);
	o = json_pack("{s:s, s:s, s:s}", "case", kase, "of", of, "expect", expect);
	set_hex(o, "envelope_hex", out, ol);
	free(out);
	referral__v1__envelope__free_unpacked(e, NULL);
	return o;
}

static EVP_PKEY *load_published(json_t *wire, const char *name)
{
	json_t *k = json_object_get(json_object_get(wire, "keys"), name);
	const char *pem = json_string_value(json_object_get(k, "private_pem"));
	const char *b64 = json_string_value(json_object_get(k, "public_der_b64"));
	char path[] = "/tmp/mkvectors-events.XXXXXX", *mine = NULL;
	EVP_PKEY *key = NULL;
	int fd;

	if (!pem || !b64)
		die("wire-v1.json has no such published key");
	/* Through the node's own loader, which wants a file of mode 0600:
	 * mkstemp makes one. */
	fd = mkstemp(path);
	if (fd < 0)
		die("cannot make a temporary key file");
	if (write(fd, pem, strlen(pem)) != (ssize_t)strlen(pem))
		die("cannot write the temporary key file");
	close(fd);
	if (sign_key_load_private(path, &key))
		die("sign_key_load_private refused the published key");
	unlink(path);
	if (sign_key_to_b64(key, &mine) || strcmp(mine, b64))
		die("the published private key does not match its public key");
	free(mine);
	return key;
}

int main(int argc, char **argv)
{
	static char rid_court[40], rid_lab[40], eid_an[33], eid_ag[33];
	uint8_t idb[16];
	Referral__V1__CaseEvent nd = REFERRAL__V1__CASE_EVENT__INIT;
	Referral__V1__CaseEvent fa = REFERRAL__V1__CASE_EVENT__INIT;
	Referral__V1__CaseEvent hc = REFERRAL__V1__CASE_EVENT__INIT;
	Referral__V1__CaseEvent an = REFERRAL__V1__CASE_EVENT__INIT;
	Referral__V1__CaseEvent ag = REFERRAL__V1__CASE_EVENT__INIT;
	Referral__V1__Assignment as = REFERRAL__V1__ASSIGNMENT__INIT;
	json_t *wire, *root, *arr, *rej, *jn, *jk;
	json_error_t jerr;
	uint8_t *env_nd = NULL, *env_x;
	size_t len_nd = 0, len_x;
	char *text;
	int rc = 0;

	if (argc != 2 && !(argc == 4 && !strcmp(argv[2], "--check"))) {
		fprintf(stderr, "usage: mkvectors-events WIRE_V1_JSON "
			"[--check EVENTS_V1_JSON]\n");
		return 2;
	}
	wire = json_load_file(argv[1], 0, &jerr);
	if (!wire) {
		fprintf(stderr, "mkvectors-events: cannot read %s: %s\n", argv[1],
			jerr.text);
		return 2;
	}
	published[0] = load_published(wire, "350581-k1");
	published[1] = load_published(wire, "350582-k1");
	applications();
	/* Matter ids: made by the sender of the opening event, at its time. */
	referral_id_fixed("350521", 1796086800000ULL, 0x01, rid_court);
	referral_id_fixed("350524", 1796090400000ULL, 0x02, rid_lab);

	nd.type = REFERRAL__V1__EVENT_TYPE__NOTIFY_DEFENCE;
	nd.event_id = "350521-ev-2026-000101";
	nd.case_ref = "(2026)闽0582刑初101号";
	nd.body_name = (char *)node_name("350521");
	nd.application = &a_court;
	nd.detail = "Notice to provide a defence (Art 36): the defendant is "
		    "in custody";

	fa.type = REFERRAL__V1__EVENT_TYPE__FORWARD_APPLICATION;
	fa.event_id = "350524-ev-2026-000088";
	fa.case_ref = "晋劳人仲案字〔2026〕88号";
	fa.body_name = (char *)node_name("350524");
	fa.application = &a_lab;
	fa.detail = "A worker's application for legal aid, forwarded";

	hc.type = REFERRAL__V1__EVENT_TYPE__HEARING_CHANGED;
	hc.event_id = "350521-ev-2026-000102";
	hc.case_ref = nd.case_ref;
	hc.body_name = nd.body_name;
	hc.detail = "Hearing moved to 2026-12-20 09:30, court room 3";
	hc.at_ms = 1797730200000ULL;

	as.firm = "福建示例律师事务所";
	as.lawyer = "王示例";
	as.licence_no = "13505200000000";
	as.contact = "0595-00000000";
	an.type = REFERRAL__V1__EVENT_TYPE__ASSIGNMENT_NOTICE;
	/* A centre names its notices with a UUIDv7 (feed.c). */
	uuid7_fixed(1796180400000ULL, 0x04, idb);
	util_hex(idb, 16, eid_an);
	an.event_id = eid_an;
	an.case_ref = nd.case_ref;
	an.body_name = (char *)node_name("350582");
	an.at_ms = 1796180400000ULL;
	an.assignment = &as;

	ag.type = REFERRAL__V1__EVENT_TYPE__AID_GRANTED;
	uuid7_fixed(1796091000000ULL, 0x05, idb);
	util_hex(idb, 16, eid_ag);
	ag.event_id = eid_ag;
	ag.case_ref = fa.case_ref;
	ag.body_name = (char *)node_name("350582");
	ag.at_ms = 1796091000000ULL;

	{
		const spec_t specs[] = {
			{ "court notify_defence opens a matter", "350521", "350582",
			  "350521-k1", REFERRAL__V1__KIND__COURT_EVENT, rid_court, 1,
			  1796086800000ULL, 0x11,
			  "Opens a matter at the centre at GRANTED (Art 36): a new "
			  "referral id of the court's, referral_seq 1, the "
			  "application inside. 350521-k1 is the published key pair "
			  "350581-k1 under the court's key id." },
			{ "labour forward_application opens a matter", "350524",
			  "350582", "350524-k1", REFERRAL__V1__KIND__LABOUR_EVENT,
			  rid_lab, 1, 1796090400000ULL, 0x12,
			  "Opens a matter at the centre at RECEIVED (the review "
			  "clock). 350524-k1 is the published key pair 350581-k1 "
			  "under the bureau's key id." },
			{ "court hearing_changed follows the matter", "350521",
			  "350582", "350521-k1", REFERRAL__V1__KIND__COURT_EVENT,
			  rid_court, 2, 1796286600000ULL, 0x13,
			  "A follow-up: the same referral id, the court's next "
			  "referral_seq (2); at_ms is the new hearing time. Recorded "
			  "on the matter's trail; changes no state." },
			{ "centre assignment_notice back to the court", "350582",
			  "350521", "350582-k1", REFERRAL__V1__KIND__COURT_EVENT,
			  rid_court, 2, 1796180400000ULL, 0x14,
			  "A notice, not a status change: the kind of the matter "
			  "(COURT_EVENT), the centre's own referral_seq (1 was the "
			  "aid_granted sent when the matter opened at GRANTED), the "
			  "lawyer and their contact." },
			{ "centre aid_granted back to the labour bureau", "350582",
			  "350524", "350582-k1", REFERRAL__V1__KIND__LABOUR_EVENT,
			  rid_lab, 1, 1796091000000ULL, 0x15,
			  "The grant of a matter that opened at RECEIVED: the "
			  "centre's first message about it, so referral_seq 1." },
		};
		const Referral__V1__CaseEvent *evs[] = { &nd, &fa, &hc, &an, &ag };

		arr = json_array();
		for (size_t i = 0; i < sizeof(specs) / sizeof(specs[0]); i++) {
			json_array_append_new(arr, vector(&specs[i], evs[i], &env_x,
							  &len_x));
			if (i == 0) {
				env_nd = env_x;
				len_nd = len_x;
			} else {
				free(env_x);
			}
		}
	}
	rej = json_array();
	json_array_append_new(rej, tampered("body does not match body_digest "
					    "(last body byte changed; it still "
					    "parses)", "court notify_defence opens "
					    "a matter", "BAD_DIGEST", env_nd,
					    len_nd, true));
	json_array_append_new(rej, tampered("signature bit flipped",
					    "court notify_defence opens a matter",
					    "BAD_SIGNATURE", env_nd, len_nd, false));
	free(env_nd);

	jn = json_object();
	for (size_t i = 0; i < sizeof(nodes) / sizeof(nodes[0]); i++)
		json_object_set_new(jn, nodes[i].code, json_pack("{s:s, s:s}",
			"role", nodes[i].role, "name", nodes[i].name));
	jk = json_object();
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		json_object_set_new(jk, keys[i].key_id, json_pack("{s:s, s:s, s:s}",
			"node", keys[i].node, "published_key", keys[i].published,
			"public_der_b64", json_string_value(json_object_get(
				json_object_get(json_object_get(wire, "keys"),
						keys[i].published),
				"public_der_b64"))));
	root = json_pack("{s:s, s:s, s:s, s:s, s:o, s:o, s:o, s:o}",
		"about", "Test vectors for COURT_EVENT (7) and LABOUR_EVENT (8), "
		"body referral.v1.CaseEvent (proto/referral.proto; "
		"docs/PROTOCOL.md, Court and labour-bureau events). Signed with "
		"the published test keys of ../shared/vectors/wire-v1.json: never "
		"use them outside tests. Made by proto/mkvectors-events.c; see "
		"README.md.",
		"signing_input", "ASCII 'referral.v1/envelope' then one zero byte, "
		"then the header bytes",
		"body_fields", "proto field names; enums by name; 64-bit integers "
		"as JSON numbers; bytes as lower-case hex; a field at its proto3 "
		"default is left out, as protobuf-c leaves it off the wire",
		"keys_note", "A header key_id and the published key pair (wire-v1.json "
		"keys) whose private half signed for it: the court's and the "
		"bureau's key ids are aliases of 350581-k1, since no agency key is "
		"published. A directory for these vectors lists each key_id under "
		"its node.",
		"nodes", jn, "keys", jk, "vectors", arr, "must_reject", rej);
	text = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	if (!text)
		die("out of memory");
	if (argc == 4) {
		uint8_t *have = NULL;
		size_t hl = 0;
		size_t tl = strlen(text);

		if (util_read_file(argv[3], 1 << 24, &have, &hl)) {
			fprintf(stderr, "mkvectors-events: cannot read %s\n", argv[3]);
			rc = 1;
		} else if (hl != tl + 1 || memcmp(have, text, tl) ||
			   have[tl] != '\n') {
			fprintf(stderr, "mkvectors-events: %s is not what this "
				"program writes now; regenerate it (README.md)\n",
				argv[3]);
			rc = 1;
		} else {
			printf("mkvectors-events: %s is up to date\n", argv[3]);
		}
		free(have);
	} else {
		printf("%s\n", text);
	}
	free(text);
	json_decref(root);
	json_decref(wire);
	EVP_PKEY_free(published[0]);
	EVP_PKEY_free(published[1]);
	return rc;
}
