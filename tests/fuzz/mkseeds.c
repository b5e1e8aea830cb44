/* mkseeds.c: writes the fuzz targets' seed corpora (tests/fuzz/corpus/),
 * run by hand once, when the formats change:
 *
 *   ninja -C BUILD tests/fuzz/mkseeds
 *   BUILD/tests/fuzz/mkseeds tests/fuzz/corpus ../shared/vectors
 *
 * Seeds are made with the project's own encoders (envelope_build, the
 * protobuf-c packers, application_from_json, config_write) from the shared
 * test vectors and from invented people only (application_example's
 * applicant; no real personal data), plus a few deliberately malformed
 * inputs. Each file is named for what it holds; every target's corpus
 * stays a few kilobytes. Not part of any test: the corpus is committed,
 * and the replay tests read that. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <jansson.h>

#include "application.h"
#include "client.pb-c.h"
#include "config.h"
#include "fuzz.h"
#include "sign.h"
#include "util.h"

static const char *out_dir;
static json_t *vec;
static int failures;

static void put(const char *target, const char *name, const void *a,
		size_t alen, const void *b, size_t blen)
{
	char path[1024];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", out_dir, target);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/%s/%s", out_dir, target, name);
	f = fopen(path, "wb");
	if (!f || (alen && fwrite(a, 1, alen, f) != alen) ||
	    (blen && fwrite(b, 1, blen, f) != blen)) {
		fprintf(stderr, "mkseeds: cannot write %s\n", path);
		failures++;
	}
	if (f)
		fclose(f);
}

/* A seed of one selector or flags byte, then bytes. */
static void put1(const char *target, const char *name, uint8_t first,
		 const void *b, size_t blen)
{
	put(target, name, &first, 1, b, blen);
}

static void put_text(const char *target, const char *name, const char *s)
{
	put(target, name, s, strlen(s), NULL, 0);
}

static uint8_t *hexv(const char *obj, const char *key, size_t *len)
{
	json_t *o = obj ? json_object_get(vec, obj) : vec;
	uint8_t *buf = NULL;

	if (util_unhex_alloc(json_string_value(json_object_get(o, key)), &buf,
			     len)) {
		fprintf(stderr, "mkseeds: vector %s.%s missing\n", obj, key);
		exit(1);
	}
	return buf;
}

static uint8_t *pack(const ProtobufCMessage *m, size_t *len)
{
	uint8_t *buf;

	*len = protobuf_c_message_get_packed_size(m);
	buf = malloc(*len ? *len : 1);
	if (!buf)
		exit(1);
	protobuf_c_message_pack(m, buf);
	return buf;
}

static uint8_t *example_body(size_t *len)
{
	application_limits_t lim = { 4 << 20, 32, NULL };
	char err[300];
	uint8_t *body;
	const char *t = application_example();

	if (application_from_json(t, strlen(t), &lim, &body, len, err,
				  sizeof(err))) {
		fprintf(stderr, "mkseeds: example application: %s\n", err);
		exit(1);
	}
	return body;
}

/* An envelope signed by node's test key. */
static uint8_t *envelope(const char *from, const char *key_id, const char *to,
			 int kind, const void *body, size_t blen, size_t *len)
{
	static const uint8_t msg_id[16] = { 0x01, 0x9a, 0xc9, 0xe0, 0xd4, 0x01,
					    0x7a, 0x3b, 0x8c, 0x1d };
	envelope_signer_t s = { from, key_id,
				fuzz_lookup(NULL, from, key_id, FUZZ_T0) };
	envelope_fields_t f = {
		.to_node = to, .kind = (Referral__V1__Kind)kind,
		.referral_id = "350581-019ac9e0d3ff7a3b8c1d2e3f40516274",
		.referral_seq = 2, .created_at_ms = FUZZ_T0, .msg_id = msg_id,
	};
	uint8_t *buf;

	if (!s.key || envelope_build(&s, &f, body, blen, &buf, len, NULL)) {
		fprintf(stderr, "mkseeds: cannot build an envelope\n");
		exit(1);
	}
	return buf;
}

static void envelopes(void)
{
	Referral__V1__StatusChange sc = REFERRAL__V1__STATUS_CHANGE__INIT;
	Referral__V1__AuditCheckpoint cp = REFERRAL__V1__AUDIT_CHECKPOINT__INIT;
	Referral__V1__Envelope e = REFERRAL__V1__ENVELOPE__INIT;
	Referral__V1__BatchProof bp = REFERRAL__V1__BATCH_PROOF__INIT;
	Referral__V1__Header h = REFERRAL__V1__HEADER__INIT;
	uint8_t zeros[32] = { 0 }, ones[32], digest[32], *path[2];
	uint8_t *v, *b, *x, *hb;
	size_t vl, bl, xl, hl;
	char name[64];

	memset(ones, 0xff, sizeof(ones));
	v = hexv("envelope", "envelope_hex", &vl);
	put1("envelope", "vector-submit-stored", 0, v, vl);
	put1("envelope", "vector-submit-no-peer", 0x04, v, vl);
	put1("envelope", "vector-submit-over-limit", 0x08, v, vl);
	put1("envelope", "vector-submit-truncated", 0, v, vl / 2);
	put1("envelope", "vector-submit-digest-fixed", 0x01, v, vl);
	free(v);
	v = hexv("receipt", "envelope_hex", &vl);
	put1("envelope", "vector-receipt-from-350582", 0, v, vl);
	free(v);
	for (size_t i = 0; i < json_array_size(json_object_get(vec,
							       "must_reject"));
	     i++) {
		json_t *r = json_array_get(json_object_get(vec, "must_reject"), i);
		if (util_unhex_alloc(json_string_value(json_object_get(
				r, "envelope_hex")), &v, &vl))
			continue;
		snprintf(name, sizeof(name), "vector-must-reject-%zu", i);
		put1("envelope", name, 0, v, vl);
		free(v);
	}
	put1("envelope", "not-protobuf", 0, "\xff\xff\xff\xff", 4);
	put1("envelope", "empty-resigned", 0x03, "", 0);

	b = example_body(&bl);
	v = envelope("350581", "350581-k1", "350582", 2, b, bl, &vl);
	put1("envelope", "submit-example-signed", 0x03, v, vl);
	free(v);
	free(b);

	sc.state = "AWAITING_MATERIALS";
	sc.from_state = "RECEIVED";
	sc.actor = "reviewer-02";
	sc.actor_role = "staff";
	sc.changed_at_ms = FUZZ_T0;
	sc.round = 1;
	b = pack(&sc.base, &bl);
	v = envelope("350582", "350582-k1", "350581", 3, b, bl, &vl);
	put1("envelope", "status-change-from-350582", 0x03, v, vl);
	free(v);
	v = envelope("350583", "350583-k1", "350582", 3, b, bl, &vl);
	put1("envelope", "status-change-sm2-from-350583", 0x03, v, vl);
	free(v);
	free(b);

	cp.seq = 42;
	cp.head_hash.data = ones;
	cp.head_hash.len = 32;
	cp.at_ms = FUZZ_T0;
	b = pack(&cp.base, &bl);
	v = envelope("350581", "350581-k1", "350582", 5, b, bl, &vl);
	put1("envelope", "audit-checkpoint", 0x03, v, vl);
	free(v);

	/* A batch-signed envelope: leaf 1 of 3; the harness signs the root
	 * its path leads to (flag 0x02). */
	hb = hexv("envelope", "header_hex", &hl);
	path[0] = zeros;
	path[1] = ones;
	bp.index = 1;
	bp.count = 3;
	bp.n_path = 2;
	{
		ProtobufCBinaryData p[2] = { { 32, path[0] }, { 32, path[1] } };
		bp.path = p;
		bp.key_id = "350581-k1";
		bp.root_signature.data = zeros;
		bp.root_signature.len = 32;
		e.header.data = hb;
		e.header.len = hl;
		e.body.data = (uint8_t *)"\x0a\x05hello";
		e.body.len = 7;
		e.batch = &bp;
		x = pack(&e.base, &xl);
		put1("envelope", "batch-proof-resigned", 0x02, x, xl);
		put1("envelope", "batch-proof-unsigned", 0x00, x, xl);
		free(x);
	}

	/* A correctly signed header whose referral_id holds a zero byte
	 * (flag 0x02 re-signs the header bytes exactly as they are). */
	util_sha256((const uint8_t *)"\x0a\x05hello", 7, digest);
	h.version = 1;
	h.msg_id.data = hb + 4; /* any 16 bytes */
	h.msg_id.len = 16;
	h.from_node = "350581";
	h.to_node = "350582";
	h.created_at_ms = FUZZ_T0;
	h.kind = 2;
	h.body_digest.data = digest;
	h.body_digest.len = 32;
	h.key_id = "350581-k1";
	h.referral_id = "350581-019ac9e0d3ff7a3b8c1d2e3f40516274";
	h.referral_seq = 1;
	free(hb);
	hb = pack(&h.base, &hl);
	{
		/* Patch the referral_id's last character into a zero byte. */
		uint8_t *p = memmem(hb, hl, "40516274", 8);
		if (p)
			p[7] = 0;
	}
	e = (Referral__V1__Envelope)REFERRAL__V1__ENVELOPE__INIT;
	e.header.data = hb;
	e.header.len = hl;
	e.body.data = (uint8_t *)"\x0a\x05hello";
	e.body.len = 7;
	e.signature.data = zeros;
	e.signature.len = 32;
	x = pack(&e.base, &xl);
	put1("envelope", "referral-id-zero-byte-resigned", 0x02, x, xl);
	free(x);
	free(hb);
}

static void headers(void)
{
	Referral__V1__Header h = REFERRAL__V1__HEADER__INIT;
	uint8_t msg_id[16] = { 0x01, 0x9a, 0xc9, 0xe0, 0xd4, 0x02 }, digest[32];
	uint8_t *hb, *v;
	size_t hl, vl;

	v = hexv("envelope", "header_hex", &vl);
	put_text("header", "empty", "");
	put("header", "vector-submit-header", v, vl, NULL, 0);
	free(v);
	v = hexv("receipt", "header_hex", &vl);
	put("header", "vector-receipt-header", v, vl, NULL, 0);
	free(v);

	/* The fuzz-header target's envelopes have an empty body: with this
	 * digest they get through to the end of the checks. */
	util_sha256((const uint8_t *)"", 0, digest);
	h.version = 1;
	h.msg_id.data = msg_id;
	h.msg_id.len = 16;
	h.from_node = "350581";
	h.to_node = "350582";
	h.created_at_ms = FUZZ_T0;
	h.kind = 2;
	h.body_digest.data = digest;
	h.body_digest.len = 32;
	h.key_id = "350581-k1";
	h.referral_id = "350581-019ac9e0d3ff7a3b8c1d2e3f40516274";
	h.referral_seq = 1;
	hb = pack(&h.base, &hl);
	put("header", "empty-body-stored", hb, hl, NULL, 0);
	/* The same with field 99 appended, and with to_node repeated (the
	 * last occurrence wins). */
	put("header", "unknown-field-99", hb, hl, "\x98\x06\x01", 3);
	put("header", "to-node-twice", hb, hl, "\x22\x06" "350583", 8);
	put("header", "from-node-zero-byte", hb, hl, "\x1a\x07" "350581\0",
	    9);
	put("header", "key-id-bad-utf8", hb, hl, "\x42\x03\xc3\x28\x41", 5);
	free(hb);
	h.version = 2;
	hb = pack(&h.base, &hl);
	put("header", "version-2", hb, hl, NULL, 0);
	free(hb);
	h.version = 1;
	h.msg_id.len = 15;
	hb = pack(&h.base, &hl);
	put("header", "msg-id-15-bytes", hb, hl, NULL, 0);
	free(hb);
	h.msg_id.len = 16;
	h.kind = 9;
	h.from_node = "350583";
	h.key_id = "350583-k1";
	hb = pack(&h.base, &hl);
	put("header", "sm2-receipt-batch", hb, hl, NULL, 0);
	free(hb);
	h.from_node = "350581";
	h.key_id = "350581-k1";
	h.kind = 42;
	h.created_at_ms = FUZZ_T0 - 20 * 86400000ULL;
	hb = pack(&h.base, &hl);
	put("header", "stale-unknown-kind", hb, hl, NULL, 0);
	free(hb);
}

static void bodies(void)
{
	Referral__V1__StatusChange sc = REFERRAL__V1__STATUS_CHANGE__INIT;
	Referral__V1__Assignment as = REFERRAL__V1__ASSIGNMENT__INIT;
	Referral__V1__MaterialsSupplement ms =
		REFERRAL__V1__MATERIALS_SUPPLEMENT__INIT;
	Referral__V1__Document doc = REFERRAL__V1__DOCUMENT__INIT, *docs[1];
	Referral__V1__Receipt rc = REFERRAL__V1__RECEIPT__INIT, *rcs[2];
	Referral__V1__ReceiptBatch rb = REFERRAL__V1__RECEIPT_BATCH__INIT;
	Referral__V1__AuditCheckpoint cp = REFERRAL__V1__AUDIT_CHECKPOINT__INIT;
	Referral__V1__BatchProof bp = REFERRAL__V1__BATCH_PROOF__INIT;
	static char *items[] = { "labour contract copy", "wage slips" };
	uint8_t sha[32], id[16] = { 0x01, 0x9a }, ones[32];
	ProtobufCBinaryData path[2];
	uint8_t *b;
	size_t bl;

	memset(ones, 0xff, sizeof(ones));
	b = example_body(&bl);
	put1("bodies", "submit-example-enveloped", 0x82, b, bl);
	put1("bodies", "submit-example", 0x02, b, bl);
	free(b);
	put1("bodies", "submit-vector-hello", 0x82, "\x0a\x05hello", 7);
	put1("bodies", "submit-bad-utf8-enveloped", 0x82, "\x0a\x02\xc3\x28", 4);
	put1("bodies", "directory-update-enveloped", 0x86, "\x01\x02\x03", 3);

	sc.state = "AWAITING_MATERIALS";
	sc.from_state = "RECEIVED";
	sc.actor = "reviewer-02";
	sc.actor_role = "staff";
	sc.n_missing_items = 2;
	sc.missing_items = items;
	sc.round = 1;
	sc.changed_at_ms = FUZZ_T0;
	b = pack(&sc.base, &bl);
	put1("bodies", "status-awaiting-materials-enveloped", 0x83, b, bl);
	free(b);
	sc.n_missing_items = 0;
	sc.state = "ASSIGNED";
	sc.from_state = "GRANTED";
	as.firm = "示例律师事务所";
	as.lawyer = "王示例";
	as.licence_no = "13505000000000000";
	sc.assignment = &as;
	b = pack(&sc.base, &bl);
	put1("bodies", "status-assigned", 0x03, b, bl);
	free(b);
	sc.assignment = NULL;
	sc.state = "GRANTED";
	sc.from_state = "AWAITING_MATERIALS";
	sc.aid_first = 1;
	sc.legal_basis = "法律援助法第四十四条";
	b = pack(&sc.base, &bl);
	put1("bodies", "status-granted-aid-first", 0x83, b, bl);
	free(b);

	util_sha256((const uint8_t *)"INVENTED CONTRACT\n", 18, sha);
	doc.type = "labour_contract";
	doc.name = "contract.txt";
	doc.sha256.data = sha;
	doc.sha256.len = 32;
	doc.size = 18;
	doc.content.data = (uint8_t *)"INVENTED CONTRACT\n";
	doc.content.len = 18;
	docs[0] = &doc;
	ms.n_documents = 1;
	ms.documents = docs;
	ms.note = "the contract, as asked";
	ms.actor = "staff-0107";
	ms.round = 1;
	b = pack(&ms.base, &bl);
	put1("bodies", "supplement-enveloped", 0x84, b, bl);
	free(b);

	rc.msg_id.data = id;
	rc.msg_id.len = 16;
	rc.envelope_sha256.data = sha;
	rc.envelope_sha256.len = 32;
	rc.received_at_ms = FUZZ_T0;
	rc.status = 1;
	rc.detail = "stored";
	b = pack(&rc.base, &bl);
	put1("bodies", "receipt-enveloped", 0x81, b, bl);
	free(b);
	rcs[0] = &rc;
	rcs[1] = &rc;
	rb.n_receipts = 2;
	rb.receipts = rcs;
	b = pack(&rb.base, &bl);
	put1("bodies", "receipt-batch-enveloped", 0x89, b, bl);
	free(b);

	cp.seq = 7;
	cp.head_hash.data = sha;
	cp.head_hash.len = 32;
	cp.at_ms = FUZZ_T0;
	b = pack(&cp.base, &bl);
	put1("bodies", "audit-checkpoint-enveloped", 0x85, b, bl);
	free(b);

	path[0] = (ProtobufCBinaryData){ 32, sha };
	path[1] = (ProtobufCBinaryData){ 32, ones };
	bp.index = 1;
	bp.count = 3;
	bp.n_path = 2;
	bp.path = path;
	bp.key_id = "350581-k1";
	b = pack(&bp.base, &bl);
	put1("bodies", "batch-proof-1-of-3", 0x00, b, bl);
	free(b);
	bp.index = 6;
	bp.count = 7;
	b = pack(&bp.base, &bl);
	put1("bodies", "batch-proof-6-of-7", 0x00, b, bl);
	free(b);
}

/* A DirectoryUpdate seed for fuzz-bodies (kind 6) carrying json and sig;
 * flags as fuzz-bodies.c reads them (0x40: the harness signs json). */
static void put_update(const char *name, uint8_t flags, const char *json,
		       size_t len, const char *sig)
{
	Referral__V1__DirectoryUpdate u = REFERRAL__V1__DIRECTORY_UPDATE__INIT;
	uint8_t *b;
	size_t bl;

	u.directory.data = (uint8_t *)json;
	u.directory.len = len;
	u.signature = (char *)sig;
	b = pack(&u.base, &bl);
	put1("bodies", name, (uint8_t)(0x06 | flags), b, bl);
	free(b);
}

/* fuzz-bodies' DIRECTORY_UPDATE seeds, from the vectors' signed directory
 * (nodes 350581 and 350582, version 1, the one the harness's node holds):
 * as signed, and as version 2 variants that reach each of the node's
 * checks: the signature, the parse, the version, this node's own entry. */
static void directory_updates(const char *vectors)
{
	char path[1024], *t;
	uint8_t *json, *sig;
	size_t jl, sl;
	json_t *d, *nodes;

	snprintf(path, sizeof(path), "%s/directory.json", vectors);
	if (util_read_file(path, 1 << 20, &json, &jl)) {
		fprintf(stderr, "mkseeds: cannot read %s\n", path);
		exit(1);
	}
	snprintf(path, sizeof(path), "%s/directory.json.sig", vectors);
	if (util_read_file(path, 4096, &sig, &sl)) {
		fprintf(stderr, "mkseeds: cannot read %s\n", path);
		exit(1);
	}
	/* The .sig file's text without its line break, as refctl sends it. */
	while (sl && (sig[sl - 1] == '\n' || sig[sl - 1] == '\r'))
		sig[--sl] = '\0';
	put_update("directory-update-vector", 0, (char *)json, jl, (char *)sig);
	put_update("directory-update-vector-enveloped", 0x80, (char *)json, jl,
		   (char *)sig);
	put_update("directory-update-empty", 0, "", 0, "");

	d = json_loadb((char *)json, jl, 0, NULL);
	if (!d)
		exit(1);
	json_object_set_new(d, "version", json_integer(2));
	t = json_dumps(d, JSON_INDENT(2));
	/* Version 2 under version 1's signature: changed after signing. */
	put_update("directory-update-v2-old-signature", 0, t, strlen(t),
		   (char *)sig);
	put_update("directory-update-v2-resigned", 0x40, t, strlen(t), "");
	/* Cut short: signed, but no longer JSON. */
	put_update("directory-update-v2-cut-resigned", 0x40, t, strlen(t) / 2,
		   "");
	free(t);
	/* This node (350582, the second) with another CURVE key. */
	nodes = json_object_get(d, "nodes");
	json_object_set_new(json_array_get(nodes, 1), "curve_public_key",
			    json_string("rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7"));
	t = json_dumps(d, JSON_INDENT(2));
	put_update("directory-update-v2-other-curve-resigned", 0x40, t,
		   strlen(t), "");
	free(t);
	/* This node left out. */
	json_array_remove(nodes, 1);
	t = json_dumps(d, JSON_INDENT(2));
	put_update("directory-update-v2-no-self-resigned", 0x40, t, strlen(t),
		   "");
	free(t);
	json_decref(d);
	free(json);
	free(sig);
}

static void directories(const char *vectors)
{
	char path[1024];
	uint8_t *buf;
	size_t len;
	json_t *d, *n;
	char *t;

	snprintf(path, sizeof(path), "%s/directory.json", vectors);
	if (util_read_file(path, 1 << 20, &buf, &len)) {
		fprintf(stderr, "mkseeds: cannot read %s\n", path);
		exit(1);
	}
	put("directory", "vector-directory", buf, len, NULL, 0);
	d = json_loadb((char *)buf, len, 0, NULL);
	free(buf);
	if (!d)
		exit(1);
	/* One node of the SM2 suite (the vector's SM2 key). */
	n = json_array_get(json_object_get(d, "nodes"), 1);
	json_object_set_new(json_array_get(json_object_get(n, "signing_keys"),
					   0), "alg", json_string("sm2-sm3"));
	json_object_set_new(json_array_get(json_object_get(n, "signing_keys"),
					   0), "public_key",
			    json_string(json_string_value(json_object_get(
				    json_object_get(vec, "sm2_sm3"),
				    "public_der_b64"))));
	t = json_dumps(d, JSON_COMPACT);
	put_text("directory", "sm2-node", t);
	free(t);
	/* The same node listed twice. */
	json_array_append(json_object_get(d, "nodes"), n);
	t = json_dumps(d, JSON_COMPACT);
	put_text("directory", "node-twice", t);
	free(t);
	json_decref(d);
	put_text("directory", "not-json", "{\"format\": \"referral.v1/direc");
	put_text("directory", "wrong-format",
		 "{\"format\":\"referral.v2/directory\",\"version\":1,\"nodes\":[]}");
	put_text("directory", "no-nodes",
		 "{\"format\":\"referral.v1/directory\",\"version\":3,"
		 "\"authority\":\"350500\",\"nodes\":[]}");
	put_text("directory", "bad-key",
		 "{\"format\":\"referral.v1/directory\",\"version\":1,\"nodes\":"
		 "[{\"code\":\"350583\",\"name\":\"x\",\"role\":\"court\","
		 "\"endpoint\":\"tcp://127.0.0.1:7453\",\"curve_public_key\":"
		 "\"rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7\",\"signing_keys\":"
		 "[{\"key_id\":\"k\",\"alg\":\"ed25519\",\"public_key\":\"AAAA\","
		 "\"not_before\":\"2020-01-01T00:00:00Z\",\"not_after\":"
		 "\"2099-01-01T00:00:00Z\"}],\"accepts\":[\"labour\", 7]}]}");
}

static void configs(void)
{
	char path[] = "/tmp/mkseeds-XXXXXX", file[64];
	config_t c;
	uint8_t *buf;
	size_t len;

	config_defaults(&c);
	snprintf(c.code, sizeof(c.code), "350581");
	snprintf(c.name, sizeof(c.name), "石狮市法律援助中心");
	snprintf(c.listen, sizeof(c.listen), "tcp://0.0.0.0:7451");
	snprintf(c.key_id, sizeof(c.key_id), "350581-k1");
	snprintf(c.holidays, sizeof(c.holidays), "holidays.txt");
	snprintf(c.rules, sizeof(c.rules), "rules.ini");
	snprintf(c.admins, sizeof(c.admins), "admin-01,admin-02");
	if (!mkdtemp(path))
		exit(1);
	snprintf(file, sizeof(file), "%s/referrald.conf", path);
	if (config_write(&c, file) || util_read_file(file, 1 << 20, &buf, &len)) {
		fprintf(stderr, "mkseeds: cannot write a referrald.conf\n");
		exit(1);
	}
	put("config", "referrald-conf-full", buf, len, NULL, 0);
	free(buf);
	unlink(file);
	rmdir(path);
	put_text("config", "referrald-conf-minimal",
		 "[node]\ncode = 350582\nname = 晋江市法律援助中心\n"
		 "listen = tcp://127.0.0.1:7452\nkey_id = 350582-k1\n"
		 "alg = sm2-sm3\nrole = court\n[limits]\nmax_documents = 0\n");
	put_text("config", "referrald-conf-out-of-bounds",
		 "[node]\ncode = 350581\nname = x\nlisten = tcp://h:1\n"
		 "key_id = k\n[store]\nmap_max_mb = 99999999999\n");
	put_text("config", "referrald-conf-unknown-setting",
		 "[node]\ncode = 350581\nspeed = 11\n");
	put_text("config", "referrald-conf-no-section", "code = 350581\n");
	put_text("config", "rules-ini",
		 "[hardship]\nthreshold_yuan = 1780.5\n"
		 "[exempt]\ncategories = migrant_worker_wages, minimum_allowance,"
		 " extreme_poverty\n[no_condition]\n"
		 "categories = domestic_violence, abuse\n"
		 "[commitment]\naccepted = yes\n");
	put_text("config", "rules-lines-ini",
		 "[hardship]\nminimum_allowance_urban_yuan = 890\n"
		 "minimum_allowance_rural_yuan = 760.5\nmultiplier = 2\n"
		 "[exempt]\ncategories = migrant_worker_wages, minimum_allowance\n"
		 "migrant_worker_case_types = labour, epidemic_wage, work_injury\n"
		 "[commitment]\naccepted = yes\n");
	put_text("config", "holidays-txt",
		 "# invented calendar\n2025-12-01 holiday\n2025-12-02 holiday\n"
		 "2025-12-06 workday\n\n2025-12-13 holiday # a Saturday\n");
	put_text("config", "holidays-bad-date", "2025-02-30 holiday\n");
}

static void applications(void)
{
	put_text("application", "example", application_example());
	put_text("application", "minimal-reference-document",
		 "{\"applicant\":{\"name\":\"林示例\",\"id_type\":\"passport\","
		 "\"id_number\":\"E00000000\",\"phone\":\"13900000000\"},"
		 "\"matter\":{\"service\":\"consultation\",\"case_type\":\"other\","
		 "\"urgency\":[\"limitation_near\"]},"
		 "\"means\":{\"path\":\"commitment\"},"
		 "\"documents\":[{\"type\":\"note\",\"reference\":\"dms://1\","
		 "\"size\":12,\"sha256\":\"e3b0c44298fc1c149afbf4c8996fb924"
		 "27ae41e4649b934ca495991b7852b855\"}],"
		 "\"consent\":{\"cross_county_transfer\":true}}");
	put_text("application", "with-proxy-and-file",
		 "{\"applicant\":{\"name\":\"赵示例\",\"id_type\":\"resident_id\","
		 "\"id_number\":\"350582201001010000\",\"phone\":\"13700000000\","
		 "\"birth_date\":\"2010-01-01\",\"groups\":[\"minor\"]},"
		 "\"proxy\":{\"name\":\"赵示例父\",\"relationship\":\"guardian\","
		 "\"authority\":\"statutory\"},"
		 "\"matter\":{\"service\":\"civil_representation\","
		 "\"case_type\":\"education_medical\",\"claim_amount_yuan\":1e3},"
		 "\"means\":{\"path\":\"full_check\",\"household_size\":4},"
		 "\"documents\":[{\"type\":\"x\",\"file\":\"missing.pdf\"}],"
		 "\"consent\":{\"cross_county_transfer\":true}}");
	put_text("application", "no-consent",
		 "{\"applicant\":{\"name\":\"a\",\"id_type\":\"other\","
		 "\"id_number\":\"1\",\"phone\":\"2\"},\"matter\":{\"service\":"
		 "\"consultation\",\"case_type\":\"lease\"},\"means\":{\"path\":"
		 "\"exempt\",\"category\":\"c\"}}");
	put_text("application", "not-json", "{\"applicant\": [");
	put_text("application", "wrong-types",
		 "{\"origin_reference\":7,\"documents\":{},\"means\":"
		 "{\"household_size\":-1}}");
}

static void client_requests(void)
{
	Referral__Local__V1__Request rq = REFERRAL__LOCAL__V1__REQUEST__INIT;
	Referral__V1__StatusChange sc = REFERRAL__V1__STATUS_CHANGE__INIT;
	Referral__V1__MaterialsSupplement ms =
		REFERRAL__V1__MATERIALS_SUPPLEMENT__INIT;
	Referral__V1__Document doc = REFERRAL__V1__DOCUMENT__INIT, *docs[1];
	static const char export[] =
		"{\"since\":\"2026-11-01\",\"until\":\"2026-12-01T00:00:00Z\","
		"\"format\":\"jsonl\"}";
	uint8_t *b, *x, sha[32];
	size_t bl, xl;

	rq.request_id = "0190f0e0-0000-7000-8000-000000000001";
	rq.actor = "staff-0107";
	rq.op = REFERRAL__LOCAL__V1__OP__OP_STATUS;
	x = pack(&rq.base, &xl);
	put("client", "status", x, xl, NULL, 0);
	free(x);

	rq.op = REFERRAL__LOCAL__V1__OP__OP_SUBMIT;
	rq.to_node = "350582";
	b = example_body(&bl);
	rq.body.data = b;
	rq.body.len = bl;
	x = pack(&rq.base, &xl);
	put("client", "submit-example", x, xl, NULL, 0);
	free(x);
	free(b);

	rq.op = REFERRAL__LOCAL__V1__OP__OP_MOVE;
	rq.to_node = "";
	rq.referral_id = "350581-019ac9e0d3ff7a3b8c1d2e3f40516274";
	rq.actor = "reviewer-02";
	sc.state = "DENIED";
	sc.from_state = "RECEIVED";
	sc.reason = "outside the scope of legal aid";
	sc.legal_basis = "法律援助法第四十一条";
	sc.actor = "reviewer-02";
	sc.actor_role = "admin";
	b = pack(&sc.base, &bl);
	rq.body.data = b;
	rq.body.len = bl;
	x = pack(&rq.base, &xl);
	put("client", "move-denied", x, xl, NULL, 0);
	free(x);
	free(b);

	rq.op = REFERRAL__LOCAL__V1__OP__OP_SUPPLEMENT;
	util_sha256((const uint8_t *)"", 0, sha);
	doc.type = "wage_records";
	doc.reference = "dms://wages/1";
	doc.sha256.data = sha;
	doc.sha256.len = 32;
	docs[0] = &doc;
	ms.documents = docs;
	ms.n_documents = 1;
	ms.actor = "staff-0107";
	ms.round = 1;
	b = pack(&ms.base, &bl);
	rq.body.data = b;
	rq.body.len = bl;
	x = pack(&rq.base, &xl);
	put("client", "supplement", x, xl, NULL, 0);
	free(x);
	free(b);

	rq.op = REFERRAL__LOCAL__V1__OP__OP_AUDIT_EXPORT;
	rq.referral_id = "";
	rq.actor = "admin-01";
	rq.body.data = (uint8_t *)export;
	rq.body.len = strlen(export);
	x = pack(&rq.base, &xl);
	put("client", "audit-export", x, xl, NULL, 0);
	free(x);
	rq.body.data = (uint8_t *)"[1,2]";
	rq.body.len = 5;
	x = pack(&rq.base, &xl);
	put("client", "audit-export-not-object", x, xl, NULL, 0);
	free(x);

	rq.op = REFERRAL__LOCAL__V1__OP__OP_LIST;
	rq.body.len = 0;
	rq.box = 2;
	x = pack(&rq.base, &xl);
	put("client", "list-outbox", x, xl, NULL, 0);
	free(x);
	rq.op = (Referral__Local__V1__Op)99;
	x = pack(&rq.base, &xl);
	put("client", "unknown-op", x, xl, NULL, 0);
	free(x);
	put("client", "not-protobuf", "\x0a\xff\xff", 3, NULL, 0);
}

int main(int argc, char **argv)
{
	char path[1024];
	json_error_t jerr;

	if (argc != 3) {
		fprintf(stderr, "usage: %s CORPUS_DIR VECTORS_DIR\n", argv[0]);
		return 2;
	}
	out_dir = argv[1];
	mkdir(out_dir, 0755);
	snprintf(path, sizeof(path), "%s/wire-v1.json", argv[2]);
	vec = json_load_file(path, 0, &jerr);
	if (!vec || fuzz_keys_init()) {
		fprintf(stderr, "mkseeds: cannot load %s or the test keys\n",
			path);
		return 1;
	}
	envelopes();
	headers();
	bodies();
	directory_updates(argv[2]);
	directories(argv[2]);
	configs();
	applications();
	client_requests();
	json_decref(vec);
	return failures ? 1 : 0;
}
