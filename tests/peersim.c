/* peersim.c: a test peer that speaks the wire contract on purpose badly.
 *
 * It takes a real node's data folder (its signing key, CURVE keys and
 * signed directory), connects to another node exactly as referrald would
 * (CURVE, pinned to the directory's key), sends one envelope shaped by
 * --case, and prints each receipt it gets back, verified against the
 * directory:
 *
 *   RECEIPT status=STORED verified=yes matches=yes detail="stored"
 *   NO_RECEIPT
 *
 * Integration tests use it to show that every bad envelope is answered
 * with its reason code and changes nothing. --case flood sends --count
 * MATERIALS_SUPPLEMENTs (a --size byte document each, referral_seq --seq,
 * default 2) for referrals that do not exist, each under a fresh id with
 * the sender's prefix (or all for --referral), as a hostile county with
 * valid keys would, and prints one line per message and a total:
 *
 *   FLOOD 3 STORED detail="stored; applies when the referral arrives"
 *   FLOOD 4 NO_RECEIPT
 *   FLOOD_TOTAL stored=3 refused=0 no_receipt=1
 *
 * --case checkpoint-flood sends --count AUDIT_CHECKPOINTs in turn: one
 * with a --size byte head_hash, a restore announcement with at_ms 0, a
 * restore announcement that looks real (fresh seq, at_ms a minute ago),
 * a plain checkpoint with a fresh seq; one line per message:
 *
 *   CHECKPOINT 1 big-hash REFUSED detail="..."
 *
 * --save FILE keeps the bytes
 * sent, --replay FILE sends such bytes again as they are; --key PEM with
 * --key-id ID signs with another key (a retired one) and --back-ms N
 * dates the message N ms in the past; --made-by CODE marks a --case
 * status change as that node's move (a confirmation of the origin's). Test-only: never installed. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <getopt.h>
#include <stdbool.h>
#include <sys/stat.h>
#include <unistd.h>
#include <openssl/rand.h>
#include <zmq.h>

#include "application.h"
#include "config.h"
#include "directory.h"
#include "envelope.h"
#include "errors.h"
#include "sign.h"
#include "util.h"

static const char *const cases[] = {
	"good", "duplicate", "bad-signature", "bad-digest", "sender-mismatch",
	"stale", "future", "not-for-me", "unknown-key", "unknown-field",
	"bad-version", "garbage", "oversized", "unknown-kind", "multipart",
	"not-origin", "reused-id", "status", "receipt", "bad-receipt",
	"directory-update", "session", "long-field", "not-party", "seq-zero",
	"flood", "receipt-no-id", "checkpoint-flood", NULL };

/* What the connection went through, from libzmq's monitor: printed as
 * DISCONNECTED / HANDSHAKE_REFUSED lines for the "session" case. */
static void drain_monitor(void *mon, bool *disc, bool *refused)
{
	for (;;) {
		zmq_msg_t m;
		uint16_t ev;
		zmq_msg_init(&m);
		if (zmq_msg_recv(&m, mon, ZMQ_DONTWAIT) < 0) {
			zmq_msg_close(&m);
			return;
		}
		memcpy(&ev, zmq_msg_data(&m), 2);
		if (zmq_msg_more(&m)) {
			zmq_msg_t a;
			zmq_msg_init(&a);
			zmq_msg_recv(&a, mon, 0);
			zmq_msg_close(&a);
		}
		zmq_msg_close(&m);
		if (ev == ZMQ_EVENT_DISCONNECTED && !*disc) {
			*disc = true;
			printf("DISCONNECTED\n");
		}
		if ((ev == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH ||
		     ev == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL) && !*refused) {
			*refused = true;
			printf("HANDSHAKE_REFUSED\n");
		}
		fflush(stdout);
	}
}

static void die(const char *msg)
{
	fprintf(stderr, "peersim: %s\n", msg);
	exit(2);
}

/* Packs h and signs it the way a sender does; extra bytes (already valid
 * protobuf) are appended to the header before signing. */
static uint8_t *build(Referral__V1__Header *h, const uint8_t *extra,
		      size_t extra_len, const uint8_t *body, size_t blen,
		      EVP_PKEY *key, size_t *ret_len)
{
	Referral__V1__Envelope e = REFERRAL__V1__ENVELOPE__INIT;
	size_t hl = referral__v1__header__get_packed_size(h), sl;
	uint8_t *hb = malloc(hl + extra_len), *in, sig[SIGN_MAX_SIG], *out;

	referral__v1__header__pack(h, hb);
	if (extra_len) /* memcpy from NULL is undefined even for 0 bytes */
		memcpy(hb + hl, extra, extra_len);
	hl += extra_len;
	in = malloc(hl + 21);
	memcpy(in, ENVELOPE_SIGN_PREFIX, 21);
	memcpy(in + 21, hb, hl);
	if (sign_data(key, in, hl + 21, sig, &sl))
		die("cannot sign");
	e.header.data = hb;
	e.header.len = hl;
	e.body.data = (uint8_t *)body;
	e.body.len = blen;
	e.signature.data = sig;
	e.signature.len = sl;
	*ret_len = referral__v1__envelope__get_packed_size(&e);
	out = malloc(*ret_len);
	referral__v1__envelope__pack(&e, out);
	free(hb);
	free(in);
	return out;
}

static int print_receipt(const uint8_t *buf, size_t len, const char *self,
			 const char *peer, directory_t *dir,
			 const uint8_t *sent_sha, const uint8_t *sent_id)
{
	envelope_policy_t pol = {
		.self = self, .peer = peer, .max_bytes = 1 << 24,
		.now_ms = util_now_ms(), .lifetime_ms = 86400000ULL,
		.future_ms = 300000, .lookup = directory_key, .lookup_ctx = dir,
	};
	envelope_check_t c;
	int st = envelope_verify(&pol, buf, len, &c);
	Referral__V1__Receipt *rc = NULL;

	if (st == REFERRAL__V1__RECEIPT_STATUS__STORED &&
	    c.hdr->kind == REFERRAL__V1__KIND__RECEIPT)
		rc = referral__v1__receipt__unpack(NULL, c.env->body.len,
						   c.env->body.data);
	if (!rc) {
		printf("RECEIPT status=? verified=no reason=%s\n",
		       envelope_status_name(st));
		envelope_check_free(&c);
		return 1;
	}
	printf("RECEIPT status=%s verified=yes matches=%s detail=\"%s\"\n",
	       envelope_status_name(rc->status),
	       rc->envelope_sha256.len == 32 &&
	       !memcmp(rc->envelope_sha256.data, sent_sha, 32) &&
	       (rc->msg_id.len == 0 || !memcmp(rc->msg_id.data, sent_id, 16))
	       ? "yes" : "no", rc->detail);
	referral__v1__receipt__free_unpacked(rc, NULL);
	envelope_check_free(&c);
	return 0;
}

/* Signs and sends one message of the floods below on s, and waits up to
 * timeout ms for its receipt: "LABEL RECEIPT ..." or "LABEL NO_RECEIPT".
 * True if a receipt came. */
static bool send_one(void *s, Referral__V1__Header *h, const uint8_t *body,
		     size_t blen, EVP_PKEY *key, int timeout,
		     const config_t *cfg, const char *to, directory_t *dir,
		     const char *label)
{
	uint8_t digest[32], sha[32], *env;
	size_t elen;
	uint64_t deadline;
	bool got = false;

	sign_digest(sign_key_alg(key), body, blen, digest);
	h->body_digest.data = digest;
	h->body_digest.len = 32;
	env = build(h, NULL, 0, body, blen, key, &elen);
	util_sha256(env, elen, sha);
	zmq_send(s, env, elen, 0);
	deadline = util_mono_ms() + (uint64_t)timeout;
	while (!got && util_mono_ms() < deadline) {
		zmq_pollitem_t it = { s, 0, ZMQ_POLLIN, 0 };
		if (zmq_poll(&it, 1, 100) > 0) {
			zmq_msg_t m;
			zmq_msg_init(&m);
			zmq_msg_recv(&m, s, 0);
			printf("%s ", label);
			print_receipt(zmq_msg_data(&m), zmq_msg_size(&m),
				      cfg->code, to, dir, sha, h->msg_id.data);
			zmq_msg_close(&m);
			got = true;
		}
	}
	if (!got)
		printf("%s NO_RECEIPT\n", label);
	fflush(stdout);
	free(env);
	return got;
}

/* --case flood: count supplements on one connection, each waited for
 * (timeout ms) before the next. */
static void flood(EVP_PKEY *key, const config_t *cfg, directory_t *dir,
		  const dir_node_t *dest, const char *pub, const char *sec,
		  const char *to, int count, size_t size, const char *referral,
		  uint64_t seq, int timeout)
{
	Referral__V1__MaterialsSupplement ms =
		REFERRAL__V1__MATERIALS_SUPPLEMENT__INIT;
	Referral__V1__Document doc = REFERRAL__V1__DOCUMENT__INIT, *docs[1];
	uint8_t *content = calloc(1, size ? size : 1), dsha[32];
	void *ctx = zmq_ctx_new(), *s = zmq_socket(ctx, ZMQ_DEALER);
	int zero = 0, none = 0;
	uint8_t *body;
	size_t blen;

	util_sha256(content, size, dsha);
	doc.type = "other";
	doc.name = "padding.bin";
	doc.sha256.data = dsha;
	doc.sha256.len = 32;
	doc.size = size;
	doc.content.data = content;
	doc.content.len = size;
	docs[0] = &doc;
	ms.documents = docs;
	ms.n_documents = 1;
	ms.note = "flood (test)";
	ms.actor = "peersim";
	blen = referral__v1__materials_supplement__get_packed_size(&ms);
	body = malloc(blen);
	referral__v1__materials_supplement__pack(&ms, body);
	zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof(zero));
	zmq_setsockopt(s, ZMQ_CURVE_SERVERKEY, dest->curve_public, 40);
	zmq_setsockopt(s, ZMQ_CURVE_PUBLICKEY, pub, 40);
	zmq_setsockopt(s, ZMQ_CURVE_SECRETKEY, sec, 40);
	if (zmq_connect(s, dest->endpoint) < 0)
		die("connect failed");
	for (int i = 0; i < count; i++) {
		Referral__V1__Header h = REFERRAL__V1__HEADER__INIT;
		uint8_t msg_id[16];
		char rid[48], label[64];

		util_uuid7(msg_id);
		if (referral)
			snprintf(rid, sizeof(rid), "%s", referral);
		else
			util_referral_id(cfg->code, rid, sizeof(rid));
		h.version = 1;
		h.msg_id.data = msg_id;
		h.msg_id.len = 16;
		h.from_node = (char *)cfg->code;
		h.to_node = (char *)to;
		h.created_at_ms = util_now_ms();
		h.kind = REFERRAL__V1__KIND__MATERIALS_SUPPLEMENT;
		h.key_id = (char *)cfg->key_id;
		h.referral_id = rid;
		h.referral_seq = seq;
		snprintf(label, sizeof(label), "FLOOD %d", i + 1);
		none += !send_one(s, &h, body, blen, key, timeout, cfg, to, dir,
				  label);
	}
	zmq_close(s);
	zmq_ctx_term(ctx);
	free(body);
	free(content);
	printf("FLOOD_TOTAL no_receipt=%d\n", none);
}

/* --case checkpoint-flood: count checkpoints on one connection, each
 * waited for (timeout ms) before the next. */
static void checkpoint_flood(EVP_PKEY *key, const config_t *cfg,
			     directory_t *dir, const dir_node_t *dest,
			     const char *pub, const char *sec, const char *to,
			     int count, size_t size, int timeout)
{
	static const char *const what[] = { "big-hash", "restored-at-0",
					    "restored", "fresh-seq" };
	void *ctx = zmq_ctx_new(), *s = zmq_socket(ctx, ZMQ_DEALER);
	uint8_t *hash = calloc(1, size > 32 ? size : 32);
	int zero = 0, none = 0;

	zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof(zero));
	zmq_setsockopt(s, ZMQ_CURVE_SERVERKEY, dest->curve_public, 40);
	zmq_setsockopt(s, ZMQ_CURVE_PUBLICKEY, pub, 40);
	zmq_setsockopt(s, ZMQ_CURVE_SECRETKEY, sec, 40);
	if (zmq_connect(s, dest->endpoint) < 0)
		die("connect failed");
	for (int i = 0; i < count; i++) {
		Referral__V1__AuditCheckpoint cp =
			REFERRAL__V1__AUDIT_CHECKPOINT__INIT;
		Referral__V1__Header h = REFERRAL__V1__HEADER__INIT;
		uint8_t msg_id[16], *body;
		size_t blen;
		char label[64];
		int w = i % 4;

		RAND_bytes(hash, 32);
		cp.seq = 1000000 + (uint64_t)i;
		cp.head_hash.data = hash;
		cp.head_hash.len = w == 0 ? (size > 32 ? size : 33) : 32;
		cp.at_ms = w == 1 ? 0 : util_now_ms() - 60000;
		cp.restored = w == 1 || w == 2;
		blen = referral__v1__audit_checkpoint__get_packed_size(&cp);
		body = malloc(blen);
		referral__v1__audit_checkpoint__pack(&cp, body);
		util_uuid7(msg_id);
		h.version = 1;
		h.msg_id.data = msg_id;
		h.msg_id.len = 16;
		h.from_node = (char *)cfg->code;
		h.to_node = (char *)to;
		h.created_at_ms = util_now_ms();
		h.kind = REFERRAL__V1__KIND__AUDIT_CHECKPOINT;
		h.key_id = (char *)cfg->key_id;
		h.referral_id = "";
		snprintf(label, sizeof(label), "CHECKPOINT %d %s", i + 1,
			 what[w]);
		none += !send_one(s, &h, body, blen, key, timeout, cfg, to, dir,
				  label);
		free(body);
	}
	zmq_close(s);
	zmq_ctx_term(ctx);
	free(hash);
	printf("CHECKPOINT_TOTAL no_receipt=%d\n", none);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "data", required_argument, NULL, 'd' },
		{ "to", required_argument, NULL, 't' },
		{ "case", required_argument, NULL, 'c' },
		{ "timeout", required_argument, NULL, 'w' },
		{ "size", required_argument, NULL, 's' },
		{ "fresh-curve", no_argument, NULL, 'f' },
		{ "referral", required_argument, NULL, 'r' },
		{ "state", required_argument, NULL, 'S' },
		{ "from-state", required_argument, NULL, 'F' },
		{ "seq", required_argument, NULL, 'q' },
		{ "role", required_argument, NULL, 'R' },
		{ "file", required_argument, NULL, 'D' },
		{ "hold-until", required_argument, NULL, 'H' },
		{ "count", required_argument, NULL, 'n' },
		{ "save", required_argument, NULL, 'W' },
		{ "replay", required_argument, NULL, 'P' },
		{ "key", required_argument, NULL, 'K' },
		{ "key-id", required_argument, NULL, 'I' },
		{ "back-ms", required_argument, NULL, 'B' },
		{ "made-by", required_argument, NULL, 'M' },
		{ NULL, 0, NULL, 0 },
	};
	const char *data = NULL, *to = NULL, *kase = "good";
	const char *referral = NULL, *state = NULL, *from_state = "", *role = "",
		   *made_by = "";
	const char *dfile = NULL, *hold = NULL;
	const char *save = NULL, *replay = NULL, *keyfile = NULL, *key_id = NULL;
	uint64_t back_ms = 0;
	uint64_t seq = 0;
	int timeout = 3000, fresh = 0, c, known = 0, count = 1;
	size_t size = 0;
	config_t cfg = { 0 };
	char err[1024], path[4096], pub[41], sec[41];
	EVP_PKEY *key = NULL, *auth = NULL;
	directory_t *dir = NULL;
	const dir_node_t *dest;
	json_t *cj;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'd': data = optarg; break;
		case 't': to = optarg; break;
		case 'c': kase = optarg; break;
		case 'w': timeout = atoi(optarg); break;
		case 's': size = (size_t)atoll(optarg); break;
		case 'f': fresh = 1; break;
		case 'r': referral = optarg; break;
		case 'S': state = optarg; break;
		case 'F': from_state = optarg; break;
		case 'q': seq = (uint64_t)atoll(optarg); break;
		case 'R': role = optarg; break;
		case 'M': made_by = optarg; break;
		case 'D': dfile = optarg; break;
		case 'H': hold = optarg; break;
		case 'n': count = atoi(optarg); break;
		case 'W': save = optarg; break;
		case 'P': replay = optarg; break;
		case 'K': keyfile = optarg; break;
		case 'I': key_id = optarg; break;
		case 'B': back_ms = (uint64_t)atoll(optarg); break;
		default: die("usage: peersim --data DIR --to CODE --case CASE "
			     "[--timeout MS] [--size BYTES] [--fresh-curve]");
		}
	}
	for (const char *const *k = cases; *k; k++)
		known |= !strcmp(*k, kase);
	if (!data || !to || !known)
		die("usage: peersim --data DIR --to CODE --case CASE");
	if (config_load(data, &cfg, err, sizeof(err)))
		die(err);
	snprintf(path, sizeof(path), "%s/signing.key", data);
	if (sign_key_load_private(keyfile ? keyfile : path, &key))
		die("cannot load the signing key");
	config_path(&cfg, cfg.authority_key, path, sizeof(path));
	if (sign_key_load_public(path, &auth) ||
	    directory_load(data, auth, &dir, err, sizeof(err)))
		die("cannot load the directory");
	dest = directory_node(dir, to);
	if (!dest)
		die("destination not in the directory");
	snprintf(path, sizeof(path), "%s/curve.json", data);
	cj = json_load_file(path, 0, NULL);
	snprintf(pub, sizeof(pub), "%s", json_string_value(json_object_get(cj, "public")));
	snprintf(sec, sizeof(sec), "%s", json_string_value(json_object_get(cj, "secret")));
	json_decref(cj);
	if (fresh)
		zmq_curve_keypair(pub, sec);
	if (!strcmp(kase, "checkpoint-flood")) {
		checkpoint_flood(key, &cfg, dir, dest, pub, sec, to,
				 count ? count : 4, size ? size : 4096,
				 timeout);
		EVP_PKEY_free(key);
		EVP_PKEY_free(auth);
		directory_free(&dir);
		return 0;
	}
	if (!strcmp(kase, "flood")) {
		flood(key, &cfg, dir, dest, pub, sec, to, count, size, referral,
		      seq ? seq : 2, timeout);
		EVP_PKEY_free(key);
		EVP_PKEY_free(auth);
		directory_free(&dir);
		return 0;
	}

	/* The body: the sample application, plus padding for "oversized". */
	uint8_t *body = NULL, *env = NULL;
	size_t blen, elen;
	{
		application_limits_t lim = { 1u << 30, 100, NULL };
		const char *ex = application_example();
		char *text = NULL;
		if (size) {
			/* One more document of `size` zero bytes, inline. */
			uint8_t *zeros = calloc(1, size);
			char *b64;
			util_b64_encode(zeros, size, &b64);
			free(zeros);
			const char *cut = strstr(ex, "  ],\n  \"consent\"");
			if (!cut)
				die("example changed");
			if (asprintf(&text, "%.*s    ,{\"type\": \"padding\", "
				     "\"content_base64\": \"%s\"}\n%s",
				     (int)(cut - ex), ex, b64, cut) < 0)
				die("no memory");
			free(b64);
			ex = text;
		}
		if (application_from_json(ex, strlen(ex), &lim, &body, &blen,
					  err, sizeof(err)))
			die(err);
		free(text);
	}

	Referral__V1__Header h = REFERRAL__V1__HEADER__INIT;
	uint8_t msg_id[16], digest[32], sha[32], extra[3] = { 0 };
	size_t extra_len = 0;
	char rid[48];

	util_uuid7(msg_id);
	util_referral_id(cfg.code, rid, sizeof(rid));
	h.version = 1;
	h.msg_id.data = msg_id;
	h.msg_id.len = 16;
	h.from_node = cfg.code;
	h.to_node = (char *)to;
	h.created_at_ms = util_now_ms();
	h.kind = REFERRAL__V1__KIND__REFERRAL_SUBMIT;
	h.key_id = key_id ? (char *)key_id : cfg.key_id;
	h.referral_id = rid;
	h.referral_seq = 1;
	sign_digest(sign_key_alg(key), body, blen, digest);
	h.body_digest.data = digest;
	h.body_digest.len = 32;

	if (!strcmp(kase, "sender-mismatch"))
		h.from_node = "350589";
	else if (!strcmp(kase, "stale"))
		h.created_at_ms -= 2ULL * 3600000; /* past a 1 h lifetime, inside the key window */
	else if (!strcmp(kase, "future"))
		h.created_at_ms += 3600000;
	else if (!strcmp(kase, "not-for-me"))
		h.to_node = "350589";
	else if (!strcmp(kase, "unknown-key"))
		h.key_id = "350589-k9";
	else if (!strcmp(kase, "bad-version"))
		h.version = 2;
	else if (!strcmp(kase, "status") || !strcmp(kase, "not-party") ||
		 !strcmp(kase, "seq-zero")) {
		/* A status change about an existing referral, as this node.
		 * "not-party" is sent by a node that is neither the referral's
		 * origin nor its receiver: the test runs it with a third node's
		 * data folder, and an id that names this node as the origin
		 * is refused here, so the case cannot pass for a party's move
		 * by mistake. "seq-zero" carries referral_seq 0, which orders
		 * nothing (DESIGN.md: the counter starts at 1). */
		Referral__V1__StatusChange sc = REFERRAL__V1__STATUS_CHANGE__INIT;
		bool zero = !strcmp(kase, "seq-zero");
		if (!referral || !state || (!seq && !zero))
			die("--case status and not-party need --referral, --state "
			    "and --seq; seq-zero needs --referral and --state");
		if (!strcmp(kase, "not-party") && !strncmp(referral, cfg.code, 6))
			die("--case not-party: this node is the referral's origin");
		if (zero)
			seq = 0;
		sc.state = (char *)state;
		sc.from_state = (char *)from_state;
		sc.actor = "peersim";
		sc.actor_role = (char *)role;
		sc.made_by = (char *)made_by;
		sc.reason = "test";
		sc.legal_basis = "Legal Aid Law Art 41";
		{
			static Referral__V1__Assignment as =
				REFERRAL__V1__ASSIGNMENT__INIT;
			as.firm = "Example Law Firm";
			as.lawyer = "Lawyer A";
			as.licence_no = "13505200000001";
			sc.assignment = &as;
		}
		sc.changed_at_ms = util_now_ms();
		free(body);
		blen = referral__v1__status_change__get_packed_size(&sc);
		body = malloc(blen);
		referral__v1__status_change__pack(&sc, body);
		sign_digest(sign_key_alg(key), body, blen, digest);
		h.kind = REFERRAL__V1__KIND__STATUS_CHANGE;
		h.referral_id = (char *)referral;
		h.referral_seq = seq;
	} else if (!strcmp(kase, "receipt") || !strcmp(kase, "bad-receipt") ||
		   !strcmp(kase, "receipt-no-id")) {
		/* A receipt, on the ROUTER, for a message the node never sent:
		 * receipts are never answered, whatever they hold. */
		Referral__V1__Receipt rc = REFERRAL__V1__RECEIPT__INIT;
		uint8_t other[16], sha0[32] = { 0 };
		util_uuid7(other);
		rc.msg_id.data = other;
		/* "receipt-no-id": as for an envelope that could not be read,
		 * only a digest, which the node looks for among its sends. */
		rc.msg_id.len = strcmp(kase, "receipt-no-id") ? 16 : 0;
		rc.envelope_sha256.data = sha0;
		rc.envelope_sha256.len = 32;
		rc.status = REFERRAL__V1__RECEIPT_STATUS__STORED;
		rc.detail = "stored";
		free(body);
		blen = referral__v1__receipt__get_packed_size(&rc);
		body = malloc(blen);
		referral__v1__receipt__pack(&rc, body);
		sign_digest(sign_key_alg(key), body, blen, digest);
		h.kind = REFERRAL__V1__KIND__RECEIPT;
		h.referral_seq = 0;
	} else if (!strcmp(kase, "directory-update")) {
		/* A directory and its signature as given: the node judges. */
		Referral__V1__DirectoryUpdate u = REFERRAL__V1__DIRECTORY_UPDATE__INIT;
		uint8_t *dj = NULL, *ds = NULL;
		size_t djl, dsl;
		char sp[4200], *nl;
		if (!dfile)
			die("--case directory-update needs --file directory.json");
		snprintf(sp, sizeof(sp), "%s.sig", dfile);
		if (util_read_file(dfile, 16 << 20, &dj, &djl) ||
		    util_read_file(sp, 4096, &ds, &dsl))
			die("cannot read the directory or its .sig");
		if ((nl = strchr((char *)ds, '\n')))
			*nl = '\0';
		u.directory.data = dj;
		u.directory.len = djl;
		u.signature = (char *)ds;
		free(body);
		blen = referral__v1__directory_update__get_packed_size(&u);
		body = malloc(blen);
		referral__v1__directory_update__pack(&u, body);
		free(dj);
		free(ds);
		sign_digest(sign_key_alg(key), body, blen, digest);
		h.kind = REFERRAL__V1__KIND__DIRECTORY_UPDATE;
		h.referral_id = "";
		h.referral_seq = 0;
	} else if (!strcmp(kase, "long-field")) {
		/* The sample application with a 5000-byte employer field. */
		Referral__V1__ReferralSubmit *a =
			referral__v1__referral_submit__unpack(NULL, blen, body);
		char *longv = malloc(5001);
		if (!a || !a->applicant || !longv)
			die("sample application");
		memset(longv, 'x', 5000);
		longv[5000] = '\0';
		a->applicant->employer = longv; /* freed by hand below */
		free(body);
		blen = referral__v1__referral_submit__get_packed_size(a);
		body = malloc(blen);
		referral__v1__referral_submit__pack(a, body);
		a->applicant->employer = NULL;
		referral__v1__referral_submit__free_unpacked(a, NULL);
		free(longv);
		sign_digest(sign_key_alg(key), body, blen, digest);
	} else if (!strcmp(kase, "unknown-kind"))
		h.kind = REFERRAL__V1__KIND__COURT_EVENT;
	else if (!strcmp(kase, "not-origin")) {
		/* A referral id that claims another county as its origin. */
		memcpy(rid, "350589", 6);
	} else if (!strcmp(kase, "unknown-field")) {
		/* field 99, varint 1: tag (99 << 3) = 0x318 -> 98 06, value 01 */
		extra[0] = 0x98;
		extra[1] = 0x06;
		extra[2] = 0x01;
		extra_len = 3;
	}
	h.created_at_ms -= back_ms;
	env = build(&h, extra, extra_len, body, blen, key, &elen);
	if (replay) {
		free(env);
		if (util_read_file(replay, 1u << 28, &env, &elen))
			die("cannot read --replay");
	}
	if (!strcmp(kase, "bad-signature") || !strcmp(kase, "bad-receipt")) {
		/* The signature is the last field: flip a bit in it. */
		env[elen - 10] ^= 0x04;
	} else if (!strcmp(kase, "bad-digest")) {
		/* Change one byte of the body after signing: find the body's
		 * bytes in the envelope and alter the last of them. */
		uint8_t *p = memmem(env, elen, body, blen);
		if (!p)
			die("body not found");
		p[blen - 1] ^= 0x01;
	} else if (!strcmp(kase, "garbage")) {
		RAND_bytes(env, (int)(elen < 64 ? elen : 64));
		env[0] = 0xff;
		env[1] = 0xff;
		elen = 64 < elen ? 64 : elen;
	}
	util_sha256(env, elen, sha);
	if (save) {
		FILE *f = fopen(save, "wb");
		if (!f || fwrite(env, 1, elen, f) != elen || fclose(f))
			die("cannot write --save");
	}

	void *ctx = zmq_ctx_new(), *s = zmq_socket(ctx, ZMQ_DEALER);
	int zero = 0;
	zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof(zero));
	zmq_setsockopt(s, ZMQ_CURVE_SERVERKEY, dest->curve_public, 40);
	zmq_setsockopt(s, ZMQ_CURVE_PUBLICKEY, pub, 40);
	zmq_setsockopt(s, ZMQ_CURVE_SECRETKEY, sec, 40);
	void *mon = NULL;
	bool disc = false, refused = false;
	if (!strcmp(kase, "session")) {
		if (!hold)
			die("--case session needs --hold-until FILE");
		zmq_socket_monitor(s, "inproc://peersim-monitor", ZMQ_EVENT_ALL);
		mon = zmq_socket(ctx, ZMQ_PAIR);
		zmq_connect(mon, "inproc://peersim-monitor");
	}
	if (zmq_connect(s, dest->endpoint) < 0)
		die("connect failed");
	int sends = !strcmp(kase, "duplicate") || !strcmp(kase, "reused-id")
		    ? 2 : 1, got = 0;
	uint64_t deadline = util_mono_ms() + (uint64_t)timeout;
	for (int i = 0; i < sends; i++) {
		if (i == 1 && !strcmp(kase, "reused-id")) {
			/* The same msg_id on another message (a later time). */
			free(env);
			h.created_at_ms += 1;
			env = build(&h, extra, extra_len, body, blen, key, &elen);
			util_sha256(env, elen, sha);
		}
		if (!strcmp(kase, "multipart")) {
			zmq_send(s, env, elen, ZMQ_SNDMORE);
			zmq_send(s, "x", 1, 0);
		} else {
			zmq_send(s, env, elen, 0);
		}
		/* Wait for this one's receipt before sending again, so the
		 * duplicate is a duplicate of something stored. */
		while (util_mono_ms() < deadline) {
			zmq_pollitem_t it = { s, 0, ZMQ_POLLIN, 0 };
			if (zmq_poll(&it, 1, 100) > 0) {
				zmq_msg_t m;
				zmq_msg_init(&m);
				zmq_msg_recv(&m, s, 0);
				print_receipt(zmq_msg_data(&m), zmq_msg_size(&m),
					      cfg.code, to, dir, sha, msg_id);
				zmq_msg_close(&m);
				got++;
				break;
			}
		}
	}
	if (!got)
		printf("NO_RECEIPT\n");
	fflush(stdout);
	if (mon) {
		/* "session": keep the connection open until the test says so,
		 * then send a fresh referral on it and report what happened. */
		struct stat hs;
		while (stat(hold, &hs) < 0) {
			drain_monitor(mon, &disc, &refused);
			usleep(50000);
		}
		free(env);
		util_uuid7(msg_id);
		util_referral_id(cfg.code, rid, sizeof(rid));
		h.created_at_ms = util_now_ms();
		env = build(&h, extra, extra_len, body, blen, key, &elen);
		util_sha256(env, elen, sha);
		zmq_send(s, env, elen, ZMQ_DONTWAIT);
		got = 0;
		deadline = util_mono_ms() + (uint64_t)timeout;
		while (util_mono_ms() < deadline && !got) {
			zmq_pollitem_t it = { s, 0, ZMQ_POLLIN, 0 };
			drain_monitor(mon, &disc, &refused);
			if (zmq_poll(&it, 1, 100) > 0) {
				zmq_msg_t m;
				zmq_msg_init(&m);
				zmq_msg_recv(&m, s, 0);
				print_receipt(zmq_msg_data(&m), zmq_msg_size(&m),
					      cfg.code, to, dir, sha, msg_id);
				zmq_msg_close(&m);
				got++;
			}
		}
		drain_monitor(mon, &disc, &refused);
		if (!got)
			printf("NO_RECEIPT\n");
		fflush(stdout);
		zmq_socket_monitor(s, NULL, 0);
		zmq_close(mon);
	}
	zmq_close(s);
	zmq_ctx_term(ctx);
	free(env);
	free(body);
	EVP_PKEY_free(key);
	EVP_PKEY_free(auth);
	directory_free(&dir);
	return 0;
}
