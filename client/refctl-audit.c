/* refctl-audit.c: what an auditor runs (docs/AUDIT.md): refctl audit
 * verify, witnessed and trail here; export and verify-export, which it
 * also dispatches, in refctl-export.c.
 *
 * Every command here opens the node's store itself, read-only (through
 * cli-store.c): it trusts nothing the running node says and cannot change
 * a record. Signatures are checked against the signed directory in force
 * (or one given on the command line, cli-trust.c), never against a key
 * the store itself supplies. The one exception to "read-only" is an
 * export with personal data: it goes ahead only after the running node
 * has checked the admin role and recorded the export in its own chain. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <jansson.h>

#include "audit.h"
#include "cli.h"
#include "i18n.h"
#include "cli-store.h"
#include "cli-trust.h"
#include "directory.h"
#include "envelope.h"
#include "errors.h"
#include "refctl-audit.h"
#include "refctl-export.h"
#include "sign.h"
#include "store.h"
#include "util.h"

static const char *js(json_t *o, const char *k)
{
	return cli_js(o, k);
}

static const char *enum_name(const ProtobufCEnumDescriptor *d, int v)
{
	const ProtobufCEnumValue *ev = protobuf_c_enum_descriptor_get_value(d, v);
	return ev ? ev->name : "UNKNOWN";
}

/* ---- witnessed checkpoints --------------------------------------------- */

struct wctx {
	const char *node;
	json_t *arr;
};

static int witnessed_one(void *ctx, const uint8_t *k, size_t kl,
			 const uint8_t *v, size_t vl)
{
	struct wctx *w = ctx;
	Referral__V1__Envelope *e;
	Referral__V1__Header *h = NULL;
	Referral__V1__AuditCheckpoint *cp = NULL;
	char hex[65], ts[32], *b64 = NULL;

	if (kl != 14 || memcmp(k, w->node, 6))
		return 0;
	e = referral__v1__envelope__unpack(NULL, vl, v);
	if (e) {
		h = referral__v1__header__unpack(NULL, e->header.len, e->header.data);
		cp = referral__v1__audit_checkpoint__unpack(NULL, e->body.len,
							    e->body.data);
	}
	if (h && cp && cp->head_hash.len == 32) {
		json_t *o = json_object();
		util_hex(cp->head_hash.data, 32, hex);
		util_rfc3339(cp->at_ms, ts);
		util_b64_encode(v, vl, &b64);
		json_object_set_new(o, "seq", json_integer((json_int_t)cp->seq));
		json_object_set_new(o, "head_hash", json_string(hex));
		json_object_set_new(o, "at", json_string(ts));
		json_object_set_new(o, "signed_by", json_string(h->key_id));
		json_object_set_new(o, "envelope_base64", json_string(b64 ? b64 : ""));
		json_array_append_new(w->arr, o);
		free(b64);
	}
	if (cp)
		referral__v1__audit_checkpoint__free_unpacked(cp, NULL);
	if (h)
		referral__v1__header__free_unpacked(h, NULL);
	if (e)
		referral__v1__envelope__free_unpacked(e, NULL);
	return 0;
}

/* refctl audit witnessed --node CODE: the signed checkpoints this node
 * holds about CODE, as the file `audit verify --witness` reads. */
static int audit_witnessed(store_t *s, const cli_trust_t *t, const char *node)
{
	struct wctx w = { node, json_array() };
	json_t *o;
	char *text;
	size_t i;
	json_t *it;

	if (!node || !util_node_code_valid(node)) {
		json_decref(w.arr);
		return cli_fail(_("audit witnessed needs --node CODE (six digits)"));
	}
	if (!directory_node(t->dir, node)) {
		json_decref(w.arr);
		return cli_fail(_("node %s is not in the directory (version %llu)"),
				node, (unsigned long long)t->dir->version);
	}
	if (store_foreach(s, STORE_WITNESSED, witnessed_one, &w)) {
		json_decref(w.arr);
		return cli_fail(_("the witnessed checkpoints cannot be read"));
	}
	o = json_pack("{s:s, s:o}", "node", node, "checkpoints", w.arr);
	if (cli_want_json) {
		text = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		printf("%s\n", text);
		free(text);
	} else {
		printf(_("%zu checkpoint(s) held about %s\n"), json_array_size(w.arr),
		       node);
		json_array_foreach(w.arr, i, it)
			printf(_("  seq %-8lld %s  head %s  signed by %s\n"),
			       json_integer_value(json_object_get(it, "seq")),
			       js(it, "at"), js(it, "head_hash"), js(it, "signed_by"));
	}
	json_decref(o);
	return 0;
}

/* One checkpoint of a witness file, taken from its signed envelope (never
 * from the file's plain fields, which anyone could edit): it must be this
 * node's AUDIT_CHECKPOINT and verify against the directory. */
static int witness_checkpoint(const cli_trust_t *t, json_t *it, size_t i,
			      uint64_t *ret_seq, uint8_t ret_hash[32],
			      char *where, size_t len)
{
	uint8_t *buf = NULL;
	size_t blen;
	envelope_check_t c;
	Referral__V1__AuditCheckpoint *cp = NULL;
	int r = 0;

	if (util_b64_decode(js(it, "envelope_base64"), &buf, &blen)) {
		snprintf(where, len, "checkpoint %zu of the witness file has no "
			 "signed envelope (envelope_base64)", i + 1);
		return REF_E_MALFORMED;
	}
	if (!cli_trust_signed_ok(t, buf, blen, &c)) {
		snprintf(where, len, "checkpoint %zu of the witness file (seq "
			 "%lld) does not verify against the directory: %s",
			 i + 1, json_integer_value(json_object_get(it, "seq")),
			 c.detail);
		r = REF_E_BADSIG;
	} else if (strcmp(c.hdr->from_node, t->self->code) ||
		   c.hdr->kind != REFERRAL__V1__KIND__AUDIT_CHECKPOINT ||
		   !(cp = referral__v1__audit_checkpoint__unpack(
			     NULL, c.env->body.len, c.env->body.data)) ||
		   cp->head_hash.len != 32) {
		snprintf(where, len, "checkpoint %zu of the witness file is not "
			 "an audit checkpoint signed by %s", i + 1, t->self->code);
		r = REF_E_INVALID;
	} else {
		*ret_seq = cp->seq;
		memcpy(ret_hash, cp->head_hash.data, 32);
	}
	if (cp)
		referral__v1__audit_checkpoint__free_unpacked(cp, NULL);
	envelope_check_free(&c);
	free(buf);
	return r;
}

/* Each checkpoint a peer holds must verify and match the record at its
 * sequence number here: a rewritten and re-chained history does not. */
static int check_witness(store_t *s, const cli_trust_t *t, const char *file,
			 uint64_t *ret_bad, uint64_t *ret_n, char *where,
			 size_t len)
{
	json_error_t jerr;
	json_t *root = json_load_file(file, 0, &jerr), *arr, *it;
	const char *about = json_string_value(json_object_get(root, "node"));
	uint64_t head_seq;
	uint8_t head_hash[32];
	size_t i;
	int r = 0;

	arr = json_object_get(root, "checkpoints");
	if (!json_is_array(arr) || !about) {
		snprintf(where, len, "%s is not a witnessed-checkpoints file "
			 "(refctl audit witnessed --node CODE --json)", file);
		json_decref(root);
		return REF_E_INVALID;
	}
	if (!directory_node(t->dir, about)) {
		snprintf(where, len, "%s is about node %.16s, which is not in the "
			 "directory (version %llu)", file, about,
			 (unsigned long long)t->dir->version);
		json_decref(root);
		return REF_E_UNKNOWN_NODE;
	}
	if (strcmp(about, t->self->code)) {
		snprintf(where, len, "%s holds checkpoints about node %s; this "
			 "store is node %s's", file, about, t->self->code);
		json_decref(root);
		return REF_E_INVALID;
	}
	audit_head(s, &head_seq, head_hash);
	json_array_foreach(arr, i, it) {
		uint64_t seq;
		uint8_t want[32], have[32];

		r = witness_checkpoint(t, it, i, &seq, want, where, len);
		if (r)
			break;
		if (seq > head_seq) {
			snprintf(where, len, "a peer holds a checkpoint at sequence "
				 "%llu, past this chain's end at %llu: the chain "
				 "was cut", (unsigned long long)seq,
				 (unsigned long long)head_seq);
			*ret_bad = head_seq + 1;
			r = REF_E_CORRUPT;
			break;
		}
		if (audit_hash_at(s, seq, have) || memcmp(have, want, 32)) {
			snprintf(where, len, "the record at sequence %llu is not "
				 "the one a peer witnessed (signed by %s at %s): "
				 "the history was rewritten at or before it",
				 (unsigned long long)seq, js(it, "signed_by"),
				 js(it, "at"));
			*ret_bad = seq;
			r = REF_E_CORRUPT;
			break;
		}
		(*ret_n)++;
	}
	json_decref(root);
	return r;
}

/* ---- the node's own checkpoints ---------------------------------------- */

struct own_ctx {
	EVP_PKEY *pub;
	store_t *s;
	uint64_t count, bad;
	char *where;
	size_t len;
	/* Keys retired by a rotation, kept as signing.<key_id>.key: loaded
	 * once each. */
	struct { char id[64]; EVP_PKEY *key; } old[32];
	size_t n_old;
};

/* A checkpoint is checked with the key it names when that is one of this
 * node's retired keys (signing.<key_id>.key: a checkpoint made before a
 * rotation), else with its signing key now (signing.pub.pem). Only the
 * node's own key files are read, never a key a message brings. */
static EVP_PKEY *own_key(void *ctx, const char *node, const char *key_id,
			 uint64_t at_ms)
{
	struct own_ctx *oc = ctx;
	char path[4096];
	EVP_PKEY *k = NULL;

	(void)node;
	(void)at_ms;
	if (!key_id || !key_id[0] || strlen(key_id) >= sizeof(oc->old[0].id) ||
	    strchr(key_id, '/'))
		return oc->pub;
	for (size_t i = 0; i < oc->n_old; i++)
		if (!strcmp(oc->old[i].id, key_id))
			return oc->old[i].key;
	snprintf(path, sizeof(path), "%s/signing.%s.key", cli_data_dir, key_id);
	if (oc->n_old == sizeof(oc->old) / sizeof(oc->old[0]) ||
	    access(path, F_OK) || sign_key_load_private(path, &k))
		return oc->pub;
	snprintf(oc->old[oc->n_old].id, sizeof(oc->old[0].id), "%s", key_id);
	oc->old[oc->n_old++].key = k;
	return k;
}

static int own_one(void *ctx, const uint8_t *k, size_t kl, const uint8_t *v,
		   size_t vl)
{
	struct own_ctx *oc = ctx;
	Referral__Store__V1__OutboxRecord *ob;
	Referral__V1__AuditCheckpoint *cp = NULL;
	envelope_check_t c = { 0 };
	uint8_t have[32];
	bool ok;
	int r = 0;

	(void)k;
	(void)kl;
	ob = referral__store__v1__outbox_record__unpack(NULL, vl, v);
	if (!ob)
		return REF_E_CORRUPT;
	if (ob->kind != REFERRAL__V1__KIND__AUDIT_CHECKPOINT)
		goto out;
	ok = envelope_verify_archived(own_key, oc, ob->envelope.data,
				      ob->envelope.len, &c) ==
	     REFERRAL__V1__RECEIPT_STATUS__STORED;
	cp = c.env ? referral__v1__audit_checkpoint__unpack(NULL, c.env->body.len,
							    c.env->body.data)
		   : NULL;
	if (!cp || !c.hdr || cp->head_hash.len != 32) {
		snprintf(oc->where, oc->len, "a checkpoint of this node does not "
			 "parse");
		r = REF_E_CORRUPT;
		goto out;
	}
	if (!ok) {
		snprintf(oc->where, oc->len, "the checkpoint at sequence %llu "
			 "does not verify with this node's signing key %s "
			 "(signing.pub.pem, or signing.%s.key if kept)",
			 (unsigned long long)cp->seq, c.hdr->key_id,
			 c.hdr->key_id);
		oc->bad = cp->seq;
		r = REF_E_BADSIG;
		goto out;
	}
	if (audit_hash_at(oc->s, cp->seq, have) ||
	    memcmp(have, cp->head_hash.data, 32)) {
		snprintf(oc->where, oc->len, "the record at sequence %llu is not "
			 "the one this node signed in its checkpoint",
			 (unsigned long long)cp->seq);
		oc->bad = cp->seq;
		r = REF_E_CORRUPT;
		goto out;
	}
	oc->count++;
out:
	if (cp)
		referral__v1__audit_checkpoint__free_unpacked(cp, NULL);
	envelope_check_free(&c);
	referral__store__v1__outbox_record__free_unpacked(ob, NULL);
	return r;
}

/* The node's own signed checkpoints (in its outbox) must verify with its
 * key and match its chain. */
static int check_own_checkpoints(store_t *s, uint64_t *ret_bad,
				 uint64_t *ret_count, char *where, size_t len)
{
	struct own_ctx oc = { .s = s, .where = where, .len = len };
	char path[4096];
	int r;

	snprintf(path, sizeof(path), "%s/signing.pub.pem", cli_data_dir);
	if (sign_key_load_public(path, &oc.pub)) {
		snprintf(where, len, "cannot read %.200s to check this node's "
			 "checkpoints", path);
		return REF_E_CONFIG;
	}
	r = store_foreach(s, STORE_OUTBOX, own_one, &oc);
	EVP_PKEY_free(oc.pub);
	for (size_t i = 0; i < oc.n_old; i++)
		EVP_PKEY_free(oc.old[i].key);
	if (r && oc.bad)
		*ret_bad = oc.bad;
	*ret_count = oc.count;
	return r;
}

/* refctl audit verify [--witness FILE]: every record's digest, the whole
 * hash chain, the node's own checkpoints, and a peer's if given. */
static int audit_verify_cmd(store_t *s, int argc, char **argv)
{
	const char *witness = cli_opt(argc, argv, "--witness");
	char where[400] = "";
	uint64_t bad = 0, count = 0, cps = 0, wcps = 0;
	cli_trust_t t = { 0 };
	int r;

	if (witness && cli_trust_load(&t, argc, argv, true))
		return 1;
	r = audit_verify(s, &bad, &count);
	if (!r)
		r = check_own_checkpoints(s, &bad, &cps, where, sizeof(where));
	if (!r && witness)
		r = check_witness(s, &t, witness, &bad, &wcps, where,
				  sizeof(where));
	cli_trust_free(&t);
	if (r && !where[0])
		snprintf(where, sizeof(where), "%s", store_last_error(s));
	if (!r)
		r = store_check(s, where, sizeof(where));
	if (cli_want_json) {
		json_t *o = json_pack("{s:b, s:I, s:I}", "ok", r == 0, "records",
				      (json_int_t)count, "own_checkpoints",
				      (json_int_t)cps);
		char *text;
		if (witness)
			json_object_set_new(o, "witnessed_checkpoints",
					    json_integer((json_int_t)wcps));
		if (r && bad)
			json_object_set_new(o, "first_bad_seq",
					    json_integer((json_int_t)bad));
		if (r)
			json_object_set_new(o, "problem", json_string(
				where[0] ? where : ref_strerror(r)));
		text = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		printf("%s\n", text);
		free(text);
		json_decref(o);
	} else if (!r) {
		printf(_("audit chain intact: %llu records, every record's digest "
		       "and link checked, %llu signed checkpoint(s) of this node "
		       "match"), (unsigned long long)count,
		       (unsigned long long)cps);
		if (witness)
			printf(_(", %llu checkpoint(s) a peer witnessed verify and "
			       "match"), (unsigned long long)wcps);
		printf("\n");
	}
	if (r && bad)
		return cli_fail(_("audit chain broken at sequence %llu (%s)"),
				(unsigned long long)bad,
				where[0] ? where : _("the record does not link"));
	if (r)
		return cli_fail("%s%s", where[0] ? "" : _("the store fails its "
				"checks: "), where[0] ? where : ref_strerror(r));
	return 0;
}

/* ---- the merged trail of one referral ---------------------------------- */

struct trail {
	const cli_trust_t *t;
	store_t *s;
	const char *id;
	json_t *arr;
	uint8_t (*ours)[16];   /* msg_ids of our outbox messages about it */
	uint32_t *our_kinds;
	uint64_t *our_seqs;
	uint8_t (*our_shas)[32]; /* their envelopes' SHA-256 */
	size_t n_ours;
	unsigned bad;
};

static json_t *entry(uint64_t at_ms, const char *by, const char *event,
		     const char *outcome)
{
	char ts[32];

	util_rfc3339(at_ms, ts);
	return json_pack("{s:s, s:I, s:s, s:s, s:s}", "time", ts, "time_ms",
			 (json_int_t)at_ms, "by", by, "event", event, "outcome",
			 outcome ? outcome : "");
}

static int trail_audit_one(void *ctx, const Referral__Store__V1__AuditRecord *a)
{
	struct trail *tr = ctx;
	json_t *o;
	char hex[33] = "";

	if (strcmp(a->referral_id, tr->id))
		return 0;
	o = entry(a->time_ms, tr->t->self->code, a->event, a->outcome);
	json_object_set_new(o, "recorded_in", json_string("audit chain"));
	json_object_set_new(o, "seq", json_integer((json_int_t)a->seq));
	if (a->msg_id.len == 16) {
		util_hex(a->msg_id.data, 16, hex);
		json_object_set_new(o, "msg_id", json_string(hex));
	}
	json_object_set_new(o, "peer", json_string(a->peer));
	json_object_set_new(o, "actor", json_string(a->actor));
	json_object_set_new(o, "detail", json_string(a->detail));
	json_array_append_new(tr->arr, o);
	return 0;
}

/* Marks o with who signed env and whether it verifies; returns the check
 * (free it) so the caller can read the body. */
static void mark_signed(struct trail *tr, json_t *o, const envelope_check_t *c,
			bool ok, const uint8_t *raw, size_t raw_len)
{
	char ts[32], hex[33];

	json_object_set_new(o, "recorded_in", json_string("signed envelope"));
	if (c->hdr) {
		util_rfc3339(c->hdr->created_at_ms, ts);
		json_object_set_new(o, "signed_by", json_string(c->hdr->key_id));
		json_object_set_new(o, "signed_at", json_string(ts));
		if (c->hdr->msg_id.len == 16) {
			util_hex(c->hdr->msg_id.data, 16, hex);
			json_object_set_new(o, "msg_id", json_string(hex));
		}
	}
	json_object_set_new(o, "signature", json_string(ok ? "good" : c->detail));
	/* Signed as one of a batch (DESIGN.md): its place in it, and for
	 * what carries no personal data (receipts, status changes) the
	 * envelope itself, which an auditor checks alone: its path leads to
	 * the root the signature covers. */
	if (c->env && c->env->batch) {
		json_object_set_new(o, "batch", json_pack(
			"{s:I, s:I}", "index", (json_int_t)c->env->batch->index,
			"count", (json_int_t)c->env->batch->count));
	}
	if (c->env && c->hdr &&
	    (c->hdr->kind == REFERRAL__V1__KIND__RECEIPT ||
	     c->hdr->kind == REFERRAL__V1__KIND__RECEIPT_BATCH ||
	     c->hdr->kind == REFERRAL__V1__KIND__STATUS_CHANGE)) {
		char *b64 = NULL;
		if (!util_b64_encode(raw, raw_len, &b64))
			json_object_set_new(o, "envelope_base64", json_string(b64));
		free(b64);
	}
	if (!ok)
		tr->bad++;
}

static int trail_outbox_one(void *ctx, const uint8_t *k, size_t kl,
			    const uint8_t *v, size_t vl)
{
	struct trail *tr = ctx;
	Referral__Store__V1__OutboxRecord *ob;
	Referral__V1__Envelope *e;
	Referral__V1__Header *h;
	size_t n = tr->n_ours;

	ob = referral__store__v1__outbox_record__unpack(NULL, vl, v);
	if (!ob)
		return REF_E_CORRUPT;
	if (kl == 16 && !strcmp(ob->referral_id, tr->id)) {
		void *a = realloc(tr->ours, (n + 1) * 16);
		void *b = realloc(tr->our_kinds, (n + 1) * sizeof(uint32_t));
		void *c = realloc(tr->our_seqs, (n + 1) * sizeof(uint64_t));
		void *d = realloc(tr->our_shas, (n + 1) * 32);
		if (a)
			tr->ours = a;
		if (b)
			tr->our_kinds = b;
		if (c)
			tr->our_seqs = c;
		if (d)
			tr->our_shas = d;
		if (!a || !b || !c || !d) {
			referral__store__v1__outbox_record__free_unpacked(ob, NULL);
			return -ENOMEM;
		}
		memcpy(tr->ours[n], k, 16);
		util_sha256(ob->envelope.data, ob->envelope.len,
			    tr->our_shas[n]);
		tr->our_kinds[n] = ob->kind;
		tr->our_seqs[n] = 0;
		e = referral__v1__envelope__unpack(NULL, ob->envelope.len,
						   ob->envelope.data);
		h = e ? referral__v1__header__unpack(NULL, e->header.len,
						     e->header.data) : NULL;
		if (h)
			tr->our_seqs[n] = h->referral_seq;
		if (h)
			referral__v1__header__free_unpacked(h, NULL);
		if (e)
			referral__v1__envelope__free_unpacked(e, NULL);
		tr->n_ours++;
	}
	referral__store__v1__outbox_record__free_unpacked(ob, NULL);
	return 0;
}

static int trail_receipt_one(void *ctx, const uint8_t *k, size_t kl,
			     const uint8_t *v, size_t vl)
{
	struct trail *tr = ctx;
	Referral__Store__V1__ReceiptRecord *rc;
	Referral__V1__Receipt *body = NULL;
	envelope_check_t c;
	char detail[400];
	json_t *o;
	size_t i, in_batch = 0;
	bool ok;

	if (kl != 32)
		return 0;
	for (i = 0; i < tr->n_ours; i++)
		if (!memcmp(tr->ours[i], k, 16))
			break;
	if (i == tr->n_ours)
		return 0;
	rc = referral__store__v1__receipt_record__unpack(NULL, vl, v);
	if (!rc)
		return REF_E_CORRUPT;
	/* An entry of a RECEIPT_BATCH: the batch envelope is kept once,
	 * under its own msg_id, and is what was signed. */
	if (rc->in_batch) {
		Referral__Store__V1__ReceiptRecord *whole = NULL;

		if (store_get_msg(tr->s, STORE_RECEIPTS, k + 16, 16,
				  &referral__store__v1__receipt_record__descriptor,
				  (ProtobufCMessage **)&whole) == 0) {
			free(rc->receipt.data);
			rc->receipt = whole->receipt;
			whole->receipt.data = NULL;
			whole->receipt.len = 0;
			referral__store__v1__receipt_record__free_unpacked(
				whole, NULL);
		}
	}
	ok = cli_trust_signed_ok(tr->t, rc->receipt.data, rc->receipt.len, &c);
	if (c.env && c.hdr)
		(void)envelope_receipt_for(c.hdr->kind, c.env->body.data,
					   c.env->body.len, k, tr->our_shas[i],
					   &body, &in_batch);
	o = entry(rc->received_at_ms, rc->from_node, "receipt",
		  enum_name(&referral__v1__receipt_status__descriptor,
			    (int)rc->status));
	snprintf(detail, sizeof(detail), "for our %s%s%.0llu%s%s",
		 enum_name(&referral__v1__kind__descriptor,
			   (int)tr->our_kinds[i]),
		 tr->our_seqs[i] ? " seq " : "",
		 (unsigned long long)tr->our_seqs[i],
		 body && body->detail[0] ? ": " : "",
		 body ? body->detail : "");
	json_object_set_new(o, "detail", json_string(detail));
	/* The parts, so a reader's line can be said in their language. */
	json_object_set_new(o, "receipt_for", json_string(enum_name(
		&referral__v1__kind__descriptor, (int)tr->our_kinds[i])));
	if (tr->our_seqs[i])
		json_object_set_new(o, "referral_seq", json_integer(
			(json_int_t)tr->our_seqs[i]));
	if (body && body->detail[0])
		json_object_set_new(o, "receipt_detail",
				    json_string(body->detail));
	if (c.hdr && c.hdr->kind == REFERRAL__V1__KIND__RECEIPT_BATCH)
		json_object_set_new(o, "batch_receipts",
				    json_integer((json_int_t)in_batch));
	mark_signed(tr, o, &c, ok, rc->receipt.data, rc->receipt.len);
	json_array_append_new(tr->arr, o);
	if (body)
		referral__v1__receipt__free_unpacked(body, NULL);
	envelope_check_free(&c);
	referral__store__v1__receipt_record__free_unpacked(rc, NULL);
	return 0;
}

/* What a signed message about the referral says, in one line and with no
 * personal data: the move and its reason, or what arrived. */
static void describe(const envelope_check_t *c, char *out, size_t len,
		     const char **ret_outcome, json_t *parts)
{
	*ret_outcome = "";
	out[0] = '\0';
	if (!c->env || !c->hdr)
		return;
	switch (c->hdr->kind) {
	case REFERRAL__V1__KIND__STATUS_CHANGE: {
		Referral__V1__StatusChange *sc =
			referral__v1__status_change__unpack(NULL, c->env->body.len,
							    c->env->body.data);
		static char state[40];
		if (!sc)
			return;
		snprintf(state, sizeof(state), "%s", sc->state);
		*ret_outcome = state;
		snprintf(out, len, "seq %llu: %s -> %s%s%s%s%s%s%s",
			 (unsigned long long)c->hdr->referral_seq, sc->from_state,
			 sc->state, sc->actor[0] ? ", by " : "", sc->actor,
			 sc->made_by[0] ? ", a move made at " : "", sc->made_by,
			 sc->reason[0] ? ": " : "", sc->reason);
		json_object_set_new(parts, "referral_seq", json_integer(
			(json_int_t)c->hdr->referral_seq));
		json_object_set_new(parts, "from_state",
				    json_string(sc->from_state));
		json_object_set_new(parts, "actor", json_string(sc->actor));
		if (sc->made_by[0])
			json_object_set_new(parts, "made_by",
					    json_string(sc->made_by));
		json_object_set_new(parts, "reason", json_string(sc->reason));
		referral__v1__status_change__free_unpacked(sc, NULL);
		break;
	}
	case REFERRAL__V1__KIND__MATERIALS_SUPPLEMENT: {
		Referral__V1__MaterialsSupplement *ms =
			referral__v1__materials_supplement__unpack(
				NULL, c->env->body.len, c->env->body.data);
		if (!ms)
			return;
		snprintf(out, len, "seq %llu: %zu document(s) for materials round "
			 "%u", (unsigned long long)c->hdr->referral_seq,
			 ms->n_documents, ms->round);
		json_object_set_new(parts, "referral_seq", json_integer(
			(json_int_t)c->hdr->referral_seq));
		json_object_set_new(parts, "documents",
				    json_integer((json_int_t)ms->n_documents));
		json_object_set_new(parts, "round",
				    json_integer((json_int_t)ms->round));
		referral__v1__materials_supplement__free_unpacked(ms, NULL);
		break;
	}
	case REFERRAL__V1__KIND__REFERRAL_SUBMIT:
		snprintf(out, len, "the application (%zu bytes, personal data "
			 "not shown)", c->env->body.len);
		json_object_set_new(parts, "application_bytes",
				    json_integer((json_int_t)c->env->body.len));
		break;
	default:
		snprintf(out, len, "seq %llu",
			 (unsigned long long)c->hdr->referral_seq);
	}
}

static int trail_inbox_one(void *ctx, const uint8_t *k, size_t kl,
			   const uint8_t *v, size_t vl)
{
	struct trail *tr = ctx;
	Referral__Store__V1__InboxRecord *ib;
	envelope_check_t c;
	char detail[600], event[40];
	const char *outcome;
	json_t *o, *parts;
	bool ok;

	(void)k;
	(void)kl;
	ib = referral__store__v1__inbox_record__unpack(NULL, vl, v);
	if (!ib)
		return REF_E_CORRUPT;
	if (strcmp(ib->referral_id, tr->id)) {
		referral__store__v1__inbox_record__free_unpacked(ib, NULL);
		return 0;
	}
	snprintf(event, sizeof(event), "%s",
		 enum_name(&referral__v1__kind__descriptor, (int)ib->kind));
	for (char *p = event; *p; p++)
		*p = (char)(*p >= 'A' && *p <= 'Z' ? *p - 'A' + 'a' : *p);
	if (!ib->envelope.len) {
		/* Purged (broker/retention.c): the chain keeps its digest. */
		o = entry(ib->received_at_ms, ib->from_node, event, "PURGED");
		json_object_set_new(o, "detail", json_string(
			"personal data purged: the envelope is no longer held"));
		json_object_set_new(o, "recorded_in", json_string("purged"));
		json_object_set_new(o, "signature", json_string("purged"));
		json_array_append_new(tr->arr, o);
		referral__store__v1__inbox_record__free_unpacked(ib, NULL);
		return 0;
	}
	ok = cli_trust_signed_ok(tr->t, ib->envelope.data, ib->envelope.len, &c);
	parts = json_object();
	describe(&c, detail, sizeof(detail), &outcome, parts);
	o = entry(ib->received_at_ms, ib->from_node, event,
		  *outcome ? outcome : "STORED");
	json_object_set_new(o, "detail", json_string(detail));
	json_object_update(o, parts);
	json_decref(parts);
	mark_signed(tr, o, &c, ok, ib->envelope.data, ib->envelope.len);
	json_array_append_new(tr->arr, o);
	envelope_check_free(&c);
	referral__store__v1__inbox_record__free_unpacked(ib, NULL);
	return 0;
}

/* A trail entry's detail in the reader's language, from its parts; the
 * English "detail" stays for --json and for entries without parts. */
static void trail_line(json_t *it, char *out, size_t len)
{
	json_int_t seq = json_integer_value(json_object_get(it, "referral_seq"));
	size_t n = 0;
	/* Only what the entry holds ("" when absent; cli_js says "-"). */
#define HAS(k) (json_string_value(json_object_get(it, k)) && \
		*json_string_value(json_object_get(it, k)))

#define ADD(...) (n += (size_t)snprintf(out + n, n < len ? len - n : 0, \
					__VA_ARGS__), n = n < len ? n : len)
	out[0] = '\0';
	if (json_object_get(it, "from_state")) {
		ADD(_("seq %lld: %s -> %s"), (long long)seq,
		    i18n_state(js(it, "from_state")),
		    i18n_state(js(it, "outcome")));
		if (HAS("actor"))
			ADD(_(", by %s"), js(it, "actor"));
		if (HAS("made_by"))
			ADD(_(", a move made at %s"), js(it, "made_by"));
		if (HAS("reason"))
			ADD(_(": %s"), i18n_detail(js(it, "reason")));
	} else if (json_object_get(it, "documents")) {
		ADD(_("seq %lld: %lld document(s) for materials round %lld"),
		    (long long)seq,
		    (long long)json_integer_value(json_object_get(it,
								  "documents")),
		    (long long)json_integer_value(json_object_get(it, "round")));
	} else if (json_object_get(it, "application_bytes")) {
		ADD(_("the application (%lld bytes, personal data not shown)"),
		    (long long)json_integer_value(json_object_get(
			    it, "application_bytes")));
	} else if (json_object_get(it, "receipt_for")) {
		if (seq)
			ADD(_("for our %s seq %lld"), js(it, "receipt_for"),
			    (long long)seq);
		else
			ADD(_("for our %s"), js(it, "receipt_for"));
		if (HAS("receipt_detail"))
			ADD(_(": %s"), i18n_detail(js(it, "receipt_detail")));
	} else {
		ADD("%s", i18n_detail(js(it, "detail")));
	}
#undef HAS
#undef ADD
}

static int by_time(const void *a, const void *b)
{
	json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
	json_int_t tx = json_integer_value(json_object_get(x, "time_ms"));
	json_int_t ty = json_integer_value(json_object_get(y, "time_ms"));
	json_int_t ix = json_integer_value(json_object_get(x, "_order"));
	json_int_t iy = json_integer_value(json_object_get(y, "_order"));

	if (tx != ty)
		return tx < ty ? -1 : 1;
	return ix < iy ? -1 : ix > iy;
}

/* refctl audit trail ID: this node's chained events about the referral,
 * merged in time with what the counterpart signed and this node holds
 * (its receipts, its status changes, its application), each marked with
 * who signed it and whether the signature verifies. */
static int audit_trail(store_t *s, int argc, char **argv)
{
	static const char *const with_value[] = { "--directory",
		"--authority", NULL };
	const char *id = cli_positional(argc - 1, argv + 1, 0, with_value);
	Referral__Store__V1__ReferralRecord *rr = NULL;
	struct trail tr = { 0 };
	cli_trust_t t;
	json_t *o, *sorted, *it;
	json_t **v;
	size_t i, n;
	int r;

	if (!id)
		return cli_usage();
	if (!util_referral_id_valid(id))
		return cli_fail(_("%s is not a referral id (CODE-32 hex digits)"),
				id);
	if (cli_trust_load(&t, argc, argv, true))
		return 1;
	r = store_get_msg(s, STORE_REFERRALS, id, strlen(id),
			  &referral__store__v1__referral_record__descriptor,
			  (ProtobufCMessage **)&rr);
	if (r) {
		cli_trust_free(&t);
		return cli_fail(r == REF_E_NOT_FOUND
				? _("referral %s is not in this store")
				: _("referral %s cannot be read"), id);
	}
	tr.t = &t;
	tr.s = s;
	tr.id = id;
	tr.arr = json_array();
	r = audit_foreach(s, trail_audit_one, &tr);
	if (!r)
		r = store_foreach(s, STORE_OUTBOX, trail_outbox_one, &tr);
	if (!r)
		r = store_foreach(s, STORE_RECEIPTS, trail_receipt_one, &tr);
	if (!r)
		r = store_foreach(s, STORE_INBOX, trail_inbox_one, &tr);
	free(tr.ours);
	free(tr.our_kinds);
	free(tr.our_seqs);
	free(tr.our_shas);
	if (r) {
		json_decref(tr.arr);
		referral__store__v1__referral_record__free_unpacked(rr, NULL);
		cli_trust_free(&t);
		return cli_fail(_("the store cannot be read: %s"), ref_strerror(r));
	}
	/* Stable sort by this node's time: records it made, then what it
	 * received, in the order it held them. */
	n = json_array_size(tr.arr);
	v = calloc(n ? n : 1, sizeof(*v));
	json_array_foreach(tr.arr, i, it) {
		json_object_set_new(it, "_order", json_integer((json_int_t)i));
		v[i] = it;
	}
	qsort(v, n, sizeof(*v), by_time);
	sorted = json_array();
	for (i = 0; i < n; i++) {
		json_object_del(v[i], "_order");
		json_array_append(sorted, v[i]);
	}
	free(v);
	json_decref(tr.arr);
	o = json_pack("{s:s, s:s, s:s, s:s, s:I, s:o, s:I}", "referral_id", id,
		      "this_node", t.self->code, "role",
		      rr->direction == 1 ? "origin" : "receiver", "counterpart",
		      rr->direction == 1 ? rr->receiver_node : rr->origin_node,
		      "directory_version", (json_int_t)t.dir->version,
		      "entries", sorted, "bad_signatures", (json_int_t)tr.bad);
	if (cli_want_json) {
		char *text = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		printf("%s\n", text);
		free(text);
	} else {
		printf(_("merged trail of %s: this node %s (%s), counterpart %s\n"),
		       id, t.self->code, js(o, "role"), js(o, "counterpart"));
		json_array_foreach(sorted, i, it) {
			char mark[80], line[1024];
			const char *sig = js(it, "signature");
			if (json_object_get(it, "seq"))
				snprintf(mark, sizeof(mark), _("chain #%lld"),
					 json_integer_value(json_object_get(it,
									    "seq")));
			else if (!strcmp(sig, "purged"))
				snprintf(mark, sizeof(mark), "%s", _("purged"));
			else if (!strcmp(sig, "good"))
				snprintf(mark, sizeof(mark), _("signed %s ok"),
					 js(it, "signed_by"));
			else
				snprintf(mark, sizeof(mark), _("signed %s BAD"),
					 js(it, "signed_by"));
			trail_line(it, line, sizeof(line));
			printf("  %s  %s  %-22s %-20s %-18s %s\n", js(it, "time"),
			       js(it, "by"), mark, js(it, "event"),
			       js(it, "outcome"), line);
		}
	}
	json_decref(o);
	referral__store__v1__referral_record__free_unpacked(rr, NULL);
	cli_trust_free(&t);
	if (tr.bad)
		return cli_fail(_("%u signed item(s) of this trail do not verify "
				"against the directory"), tr.bad);
	return 0;
}

/* refctl audit SUB: the read-only subcommands open the store here, once;
 * verify-export reads only the export and the directory. */
int refctl_audit(int argc, char **argv)
{
	const char *sub = argc > 1 ? argv[1] : "";
	store_t *s = NULL;
	seal_t *ring = NULL;
	cli_trust_t t;
	int r;

	/* Past "audit": below, argv[0] is the subcommand. */
	argc--;
	argv++;
	if (!strcmp(sub, "verify-export"))
		return refctl_export_verify(argc, argv);
	if (strcmp(sub, "verify") && strcmp(sub, "witnessed") &&
	    strcmp(sub, "trail") && strcmp(sub, "export"))
		return cli_usage();
	if (cli_store_open(&s, &ring))
		return 1;
	if (!strcmp(sub, "witnessed")) {
		if (cli_trust_load(&t, argc, argv, false)) {
			store_close(&s);
			seal_free(&ring);
			return 1;
		}
		r = audit_witnessed(s, &t, cli_opt(argc, argv, "--node"));
		cli_trust_free(&t);
	} else if (!strcmp(sub, "trail")) {
		r = audit_trail(s, argc, argv);
	} else if (!strcmp(sub, "export")) {
		r = refctl_export_run(s, argc, argv);
	} else {
		r = audit_verify_cmd(s, argc, argv);
	}
	store_close(&s);
	seal_free(&ring);
	return r;
}
