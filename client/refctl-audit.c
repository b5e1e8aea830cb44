/* refctl-audit.c: what an auditor runs (docs/AUDIT.md).
 *
 * Every command here opens the node's store itself, read-only: it trusts
 * nothing the running node says and cannot change a record. Signatures are
 * checked against the signed directory in force (or one given on the
 * command line), never against a key the store itself supplies. The one
 * exception to "read-only" is an export with personal data: it goes ahead
 * only after the running node has checked the admin role and recorded the
 * export in its own chain. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <jansson.h>
#include <openssl/sha.h>

#include "audit.h"
#include "directory.h"
#include "envelope.h"
#include "errors.h"
#include "refctl.h"
#include "referral.h"
#include "seal.h"
#include "sign.h"
#include "store.h"
#include "util.h"

#define EXPORT_MANIFEST_FORMAT "referral.v1/audit-export"
#define BEIJING_MS (8 * 3600 * 1000LL)

static const char *js(json_t *o, const char *k)
{
	return refctl_js(o, k);
}

static seal_t *seal_ring;

/* The data key ring: [store] data_key in referrald.conf (relative to the
 * data folder unless absolute), data.keys by default. */
static void data_key_path(char *out, size_t len)
{
	char conf[4096], line[1024], val[600] = "data.keys";
	FILE *f;

	snprintf(conf, sizeof(conf), "%s/referrald.conf", refctl_data_dir);
	f = fopen(conf, "r");
	while (f && fgets(line, sizeof(line), f)) {
		char *p = line + strspn(line, " \t");
		if (!strncmp(p, "data_key", 8) &&
		    (p[8] == ' ' || p[8] == '=' || p[8] == '\t') &&
		    (p = strchr(p, '='))) {
			p += 1 + strspn(p + 1, " \t");
			p[strcspn(p, " \t\r\n;#")] = '\0';
			if (*p)
				snprintf(val, sizeof(val), "%s", p);
		}
	}
	if (f)
		fclose(f);
	if (val[0] == '/')
		snprintf(out, len, "%s", val);
	else
		snprintf(out, len, "%s/%s", refctl_data_dir, val);
}

/* The store, read-only, with the node's data key ring (data.keys in the
 * data folder) so that sealed records can be read and their tags checked. */
static int open_store(store_t **ret)
{
	store_opts_t so = { .map_initial = 1 << 20, .map_max = (size_t)1 << 40,
			    .readonly = true };
	char path[4096], err[400];
	struct stat st;
	int r;

	if (!refctl_data_dir || !*refctl_data_dir)
		return refctl_fail("no data folder: give --data DIR or set "
				   "REFERRAL_DATA");
	data_key_path(path, sizeof(path));
	if (stat(path, &st) == 0 &&
	    seal_load(path, &seal_ring, err, sizeof(err)))
		return refctl_fail("%s", err);
	snprintf(path, sizeof(path), "%s/store", refctl_data_dir);
	r = store_open(path, &so, ret);
	if (r) {
		seal_free(&seal_ring);
		return refctl_fail("cannot open the store in %s: %s", path,
				   store_open_error()[0] ? store_open_error()
							 : ref_strerror(r));
	}
	store_set_seal(*ret, seal_ring);
	return 0;
}

static const char *enum_name(const ProtobufCEnumDescriptor *d, int v)
{
	const ProtobufCEnumValue *ev = protobuf_c_enum_descriptor_get_value(d, v);
	return ev ? ev->name : "UNKNOWN";
}

/* ---- trust: the directory, and which entry is this node ---------------- */

typedef struct {
	directory_t *dir;
	const dir_node_t *self;  /* the entry holding signing.pub.pem */
	const char *self_key_id;
} trust_t;

static void trust_free(trust_t *t)
{
	directory_free(&t->dir);
}

/* The directory from --directory FILE (with FILE.sig and --authority), or
 * the one in force in the data folder, checked against the authority key.
 * With need_self, also finds this node by its signing key. */
static int trust_load(trust_t *t, int argc, char **argv, bool need_self)
{
	const char *file = refctl_opt(argc, argv, "--directory");
	const char *auth = refctl_opt(argc, argv, "--authority");
	char path[4096], err[300] = "";
	EVP_PKEY *authority = NULL, *pub = NULL;
	int r;

	memset(t, 0, sizeof(*t));
	if (!auth && (!refctl_data_dir || !*refctl_data_dir))
		return refctl_fail("no directory to check against: give --data "
				   "DIR, or --directory FILE --authority PUBKEY.pem");
	if (!auth) {
		snprintf(path, sizeof(path), "%s/authority.pub.pem",
			 refctl_data_dir);
		auth = path;
	}
	r = sign_key_load_public(auth, &authority);
	if (r)
		return refctl_fail("cannot read the authority key %s: %s", auth,
				   ref_strerror(r));
	if (file) {
		uint8_t *json = NULL, *sig = NULL;
		size_t len, slen;
		char sigpath[4096];

		snprintf(sigpath, sizeof(sigpath), "%s.sig", file);
		r = util_read_file(file, 16 << 20, &json, &len);
		if (r)
			snprintf(err, sizeof(err), "cannot read %.200s: %s", file,
				 ref_strerror(r));
		if (!r && (r = util_read_file(sigpath, 4096, &sig, &slen)))
			snprintf(err, sizeof(err), "cannot read %.200s: %s", sigpath,
				 ref_strerror(r));
		if (!r && (r = directory_verify_sig(json, len, (char *)sig,
						    authority)))
			snprintf(err, sizeof(err), "%.120s is not signed by the "
				 "authority key %.120s", file, auth);
		if (!r)
			r = directory_parse((char *)json, len, &t->dir, err,
					    sizeof(err));
		free(json);
		free(sig);
	} else {
		if (!refctl_data_dir || !*refctl_data_dir)
			snprintf(err, sizeof(err), "give --directory FILE or "
				 "--data DIR");
		r = refctl_data_dir && *refctl_data_dir
			? directory_load(refctl_data_dir, authority, &t->dir,
					 err, sizeof(err))
			: REF_E_DIRECTORY;
	}
	EVP_PKEY_free(authority);
	if (r)
		return refctl_fail("the directory cannot be used: %s",
				   err[0] ? err : ref_strerror(r));
	if (!need_self)
		return 0;
	snprintf(path, sizeof(path), "%s/signing.pub.pem", refctl_data_dir);
	r = sign_key_load_public(path, &pub);
	if (r) {
		trust_free(t);
		return refctl_fail("cannot read %s: %s", path, ref_strerror(r));
	}
	for (size_t i = 0; i < t->dir->n_nodes && !t->self; i++)
		for (size_t k = 0; k < t->dir->nodes[i].n_keys; k++)
			if (EVP_PKEY_eq(t->dir->nodes[i].keys[k].key, pub) == 1) {
				t->self = &t->dir->nodes[i];
				t->self_key_id = t->dir->nodes[i].keys[k].key_id;
				break;
			}
	EVP_PKEY_free(pub);
	if (!t->self) {
		uint64_t v = t->dir->version;
		trust_free(t);
		return refctl_fail("this node's signing key (%s) is in no entry "
				   "of the directory (version %llu)", path,
				   (unsigned long long)v);
	}
	return 0;
}

/* An envelope kept in the store, checked as an auditor would: the key the
 * directory gives its sender at its time, its signature and digest. */
static bool signed_ok(const trust_t *t, const uint8_t *buf, size_t len,
		      envelope_check_t *c)
{
	return envelope_verify_archived(directory_key, t->dir, buf, len, c) ==
	       REFERRAL__V1__RECEIPT_STATUS__STORED;
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
static int audit_witnessed(store_t *s, const trust_t *t, const char *node)
{
	struct wctx w = { node, json_array() };
	json_t *o;
	char *text;
	size_t i;
	json_t *it;

	if (!node || !util_node_code_valid(node)) {
		json_decref(w.arr);
		return refctl_fail("audit witnessed needs --node CODE (six digits)");
	}
	if (!directory_node(t->dir, node)) {
		json_decref(w.arr);
		return refctl_fail("node %s is not in the directory (version %llu)",
				   node, (unsigned long long)t->dir->version);
	}
	if (store_foreach(s, STORE_WITNESSED, witnessed_one, &w)) {
		json_decref(w.arr);
		return refctl_fail("the witnessed checkpoints cannot be read");
	}
	o = json_pack("{s:s, s:o}", "node", node, "checkpoints", w.arr);
	if (refctl_want_json) {
		text = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		printf("%s\n", text);
		free(text);
	} else {
		printf("%zu checkpoint(s) held about %s\n", json_array_size(w.arr),
		       node);
		json_array_foreach(w.arr, i, it)
			printf("  seq %-8lld %s  head %s  signed by %s\n",
			       json_integer_value(json_object_get(it, "seq")),
			       js(it, "at"), js(it, "head_hash"), js(it, "signed_by"));
	}
	json_decref(o);
	return 0;
}

/* One checkpoint of a witness file, taken from its signed envelope (never
 * from the file's plain fields, which anyone could edit): it must be this
 * node's AUDIT_CHECKPOINT and verify against the directory. */
static int witness_checkpoint(const trust_t *t, json_t *it, size_t i,
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
	if (!signed_ok(t, buf, blen, &c)) {
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
static int check_witness(store_t *s, const trust_t *t, const char *file,
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
};

/* Every checkpoint of this node is checked with its own signing key
 * (signing.pub.pem), whatever key id it names. */
static EVP_PKEY *own_key(void *ctx, const char *node, const char *key_id,
			 uint64_t at_ms)
{
	(void)node;
	(void)key_id;
	(void)at_ms;
	return ((struct own_ctx *)ctx)->pub;
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
			 "does not verify with this node's signing key "
			 "(signing.pub.pem)", (unsigned long long)cp->seq);
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
	struct own_ctx oc = { NULL, s, 0, 0, where, len };
	char path[4096];
	int r;

	snprintf(path, sizeof(path), "%s/signing.pub.pem", refctl_data_dir);
	if (sign_key_load_public(path, &oc.pub)) {
		snprintf(where, len, "cannot read %.200s to check this node's "
			 "checkpoints", path);
		return REF_E_CONFIG;
	}
	r = store_foreach(s, STORE_OUTBOX, own_one, &oc);
	EVP_PKEY_free(oc.pub);
	if (r && oc.bad)
		*ret_bad = oc.bad;
	*ret_count = oc.count;
	return r;
}

/* refctl audit verify [--witness FILE]: every record's digest, the whole
 * hash chain, the node's own checkpoints, and a peer's if given. */
static int audit_verify_cmd(store_t *s, int argc, char **argv)
{
	const char *witness = refctl_opt(argc, argv, "--witness");
	char where[400] = "";
	uint64_t bad = 0, count = 0, cps = 0, wcps = 0;
	trust_t t = { 0 };
	int r;

	if (witness && trust_load(&t, argc, argv, true))
		return 1;
	r = audit_verify(s, &bad, &count);
	if (!r)
		r = check_own_checkpoints(s, &bad, &cps, where, sizeof(where));
	if (!r && witness)
		r = check_witness(s, &t, witness, &bad, &wcps, where,
				  sizeof(where));
	trust_free(&t);
	if (r && !where[0])
		snprintf(where, sizeof(where), "%s", store_last_error(s));
	if (!r)
		r = store_check(s, where, sizeof(where));
	if (refctl_want_json) {
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
		printf("audit chain intact: %llu records, every record's digest "
		       "and link checked, %llu signed checkpoint(s) of this node "
		       "match", (unsigned long long)count,
		       (unsigned long long)cps);
		if (witness)
			printf(", %llu checkpoint(s) a peer witnessed verify and "
			       "match", (unsigned long long)wcps);
		printf("\n");
	}
	if (r && bad)
		return refctl_fail("audit chain broken at sequence %llu (%s)",
				   (unsigned long long)bad,
				   where[0] ? where : "the record does not link");
	if (r)
		return refctl_fail("%s%s", where[0] ? "" : "the store fails its "
				   "checks: ", where[0] ? where : ref_strerror(r));
	return 0;
}

/* ---- the merged trail of one referral ---------------------------------- */

struct trail {
	const trust_t *t;
	const char *id;
	json_t *arr;
	uint8_t (*ours)[16];   /* msg_ids of our outbox messages about it */
	uint32_t *our_kinds;
	uint64_t *our_seqs;
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
			bool ok)
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
		if (a)
			tr->ours = a;
		if (b)
			tr->our_kinds = b;
		if (c)
			tr->our_seqs = c;
		if (!a || !b || !c) {
			referral__store__v1__outbox_record__free_unpacked(ob, NULL);
			return -ENOMEM;
		}
		memcpy(tr->ours[n], k, 16);
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
	size_t i;
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
	ok = signed_ok(tr->t, rc->receipt.data, rc->receipt.len, &c);
	if (c.env)
		body = referral__v1__receipt__unpack(NULL, c.env->body.len,
						     c.env->body.data);
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
	mark_signed(tr, o, &c, ok);
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
		     const char **ret_outcome)
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
		referral__v1__materials_supplement__free_unpacked(ms, NULL);
		break;
	}
	case REFERRAL__V1__KIND__REFERRAL_SUBMIT:
		snprintf(out, len, "the application (%zu bytes, personal data "
			 "not shown)", c->env->body.len);
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
	json_t *o;
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
	ok = signed_ok(tr->t, ib->envelope.data, ib->envelope.len, &c);
	describe(&c, detail, sizeof(detail), &outcome);
	snprintf(event, sizeof(event), "%s",
		 enum_name(&referral__v1__kind__descriptor, (int)ib->kind));
	for (char *p = event; *p; p++)
		*p = (char)(*p >= 'A' && *p <= 'Z' ? *p - 'A' + 'a' : *p);
	o = entry(ib->received_at_ms, ib->from_node, event,
		  *outcome ? outcome : "STORED");
	json_object_set_new(o, "detail", json_string(detail));
	mark_signed(tr, o, &c, ok);
	json_array_append_new(tr->arr, o);
	envelope_check_free(&c);
	referral__store__v1__inbox_record__free_unpacked(ib, NULL);
	return 0;
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
	const char *id = refctl_positional(argc - 1, argv + 1, 0, with_value);
	Referral__Store__V1__ReferralRecord *rr = NULL;
	struct trail tr = { 0 };
	trust_t t;
	json_t *o, *sorted, *it;
	json_t **v;
	size_t i, n;
	int r;

	if (!id)
		return refctl_usage();
	if (!util_referral_id_valid(id))
		return refctl_fail("%s is not a referral id (CODE-32 hex digits)",
				   id);
	if (trust_load(&t, argc, argv, true))
		return 1;
	r = store_get_msg(s, STORE_REFERRALS, id, strlen(id),
			  &referral__store__v1__referral_record__descriptor,
			  (ProtobufCMessage **)&rr);
	if (r) {
		trust_free(&t);
		return refctl_fail(r == REF_E_NOT_FOUND
				   ? "referral %s is not in this store"
				   : "referral %s cannot be read", id);
	}
	tr.t = &t;
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
	if (r) {
		json_decref(tr.arr);
		referral__store__v1__referral_record__free_unpacked(rr, NULL);
		trust_free(&t);
		return refctl_fail("the store cannot be read: %s", ref_strerror(r));
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
	if (refctl_want_json) {
		char *text = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		printf("%s\n", text);
		free(text);
	} else {
		printf("merged trail of %s: this node %s (%s), counterpart %s\n",
		       id, t.self->code, js(o, "role"), js(o, "counterpart"));
		json_array_foreach(sorted, i, it) {
			char mark[80];
			if (json_object_get(it, "seq"))
				snprintf(mark, sizeof(mark), "chain #%lld",
					 json_integer_value(json_object_get(it,
									    "seq")));
			else
				snprintf(mark, sizeof(mark), "signed %s%s",
					 js(it, "signed_by"),
					 strcmp(js(it, "signature"), "good")
					 ? " BAD" : " ok");
			printf("  %s  %s  %-22s %-20s %-18s %s\n", js(it, "time"),
			       js(it, "by"), mark, js(it, "event"),
			       js(it, "outcome"), js(it, "detail"));
		}
	}
	json_decref(o);
	referral__store__v1__referral_record__free_unpacked(rr, NULL);
	trust_free(&t);
	if (tr.bad)
		return refctl_fail("%u signed item(s) of this trail do not verify "
				   "against the directory", tr.bad);
	return 0;
}

/* ---- export ------------------------------------------------------------ */

/* "YYYY-MM-DD" is a Beijing calendar day's start; otherwise RFC 3339 in
 * UTC ("YYYY-MM-DDTHH:MM:SSZ"). */
static int parse_when(const char *s, uint64_t *ret_ms)
{
	char buf[32];

	if (strlen(s) == 10) {
		snprintf(buf, sizeof(buf), "%sT00:00:00Z", s);
		if (util_rfc3339_parse(buf, ret_ms) || *ret_ms < BEIJING_MS)
			return REF_E_INVALID;
		*ret_ms -= BEIJING_MS;
		return 0;
	}
	return util_rfc3339_parse(s, ret_ms);
}

/* The applicant's and proxy's personal fields, from the application the
 * node holds (its outbox as origin, its inbox as receiver). */
static json_t *personal_of(store_t *s, const char *id)
{
	Referral__Store__V1__ReferralRecord *rr = NULL;
	Referral__Store__V1__OutboxRecord *ob = NULL;
	Referral__Store__V1__InboxRecord *ib = NULL;
	Referral__V1__Envelope *e = NULL;
	Referral__V1__ReferralSubmit *a = NULL;
	ProtobufCBinaryData env = { 0, NULL };
	json_t *o = NULL;

	if (store_get_msg(s, STORE_REFERRALS, id, strlen(id),
			  &referral__store__v1__referral_record__descriptor,
			  (ProtobufCMessage **)&rr))
		return NULL;
	if (rr->submit_msg_id.len == 16 && rr->direction == 1 &&
	    !store_get_msg(s, STORE_OUTBOX, rr->submit_msg_id.data, 16,
			   &referral__store__v1__outbox_record__descriptor,
			   (ProtobufCMessage **)&ob))
		env = ob->envelope;
	else if (rr->submit_msg_id.len == 16 &&
		 !store_get_msg(s, STORE_INBOX, rr->submit_msg_id.data, 16,
				&referral__store__v1__inbox_record__descriptor,
				(ProtobufCMessage **)&ib))
		env = ib->envelope;
	if (env.data)
		e = referral__v1__envelope__unpack(NULL, env.len, env.data);
	if (e)
		a = referral__v1__referral_submit__unpack(NULL, e->body.len,
							  e->body.data);
	if (a) {
		Referral__V1__Applicant *ap = a->applicant;
		Referral__V1__Proxy *px = a->proxy;
		json_t *addr = json_array();
		for (size_t i = 0; ap && i < ap->n_addresses; i++)
			json_array_append_new(addr, json_string(ap->addresses[i]));
		o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:o, s:s, s:s, s:s, s:s}",
			      "applicant_name", ap ? ap->name : "",
			      "applicant_id_type", ap ? ap->id_type : "",
			      "applicant_id_number", ap ? ap->id_number : "",
			      "applicant_birth_date", ap ? ap->birth_date : "",
			      "applicant_phone", ap ? ap->phone : "",
			      "applicant_addresses", addr,
			      "applicant_employer", ap ? ap->employer : "",
			      "proxy_name", px ? px->name : "",
			      "proxy_id_number", px ? px->id_number : "",
			      "proxy_phone", px ? px->phone : "");
	}
	if (a)
		referral__v1__referral_submit__free_unpacked(a, NULL);
	if (e)
		referral__v1__envelope__free_unpacked(e, NULL);
	if (ob)
		referral__store__v1__outbox_record__free_unpacked(ob, NULL);
	if (ib)
		referral__store__v1__inbox_record__free_unpacked(ib, NULL);
	referral__store__v1__referral_record__free_unpacked(rr, NULL);
	return o;
}

static const char *const export_columns[] = { "seq", "time", "time_ms",
	"event", "referral_id", "msg_id", "peer", "actor", "outcome", "detail",
	"prev_hash", "hash", NULL };
static const char *const personal_columns[] = { "applicant_name",
	"applicant_id_type", "applicant_id_number", "applicant_birth_date",
	"applicant_phone", "applicant_addresses", "applicant_employer",
	"proxy_name", "proxy_id_number", "proxy_phone", NULL };

struct export {
	store_t *s;
	FILE *f;
	uint64_t since, until, count, first, last;
	bool csv, personal;
	int err;
};

/* RFC 4180: quoted when it holds a comma, quote or line break. A field
 * that starts like a formula (=, +, -, @, tab, CR) gets an apostrophe in
 * front, so a spreadsheet shows it as text instead of running it: staff ids,
 * reasons and personal fields are typed by people or sent by peers.
 * verify-export reads only the sequence numbers and hashes, never so. */
static void csv_field(FILE *f, const char *v, bool last)
{
	bool formula = v[0] && strchr("=+-@\t\r", v[0]);

	if (strpbrk(v, ",\"\r\n")) {
		fputc('"', f);
		if (formula)
			fputc('\'', f);
		for (const char *p = v; *p; p++) {
			if (*p == '"')
				fputc('"', f);
			fputc(*p, f);
		}
		fputc('"', f);
	} else {
		if (formula)
			fputc('\'', f);
		fputs(v, f);
	}
	fputs(last ? "\r\n" : ",", f);
}

static void csv_row(FILE *f, json_t *o, const char *const *cols, bool more)
{
	for (const char *const *c = cols; *c; c++) {
		json_t *v = json_object_get(o, *c);
		char num[24];
		const char *text = "";

		if (json_is_integer(v)) {
			snprintf(num, sizeof(num), "%lld", json_integer_value(v));
			text = num;
		} else if (json_is_string(v)) {
			text = json_string_value(v);
		} else if (json_is_array(v)) {
			/* Addresses: one field, separated by "; ". */
			static char joined[2048];
			size_t i, at = 0;
			json_t *it;
			joined[0] = '\0';
			json_array_foreach(v, i, it) {
				int w = snprintf(joined + at, sizeof(joined) - at,
						 "%s%s", i ? "; " : "",
						 json_string_value(it));
				if (w < 0 || (size_t)w >= sizeof(joined) - at)
					break; /* cut: the rest does not fit */
				at += (size_t)w;
			}
			text = joined;
		}
		csv_field(f, text, !c[1] && !more);
	}
}

static int export_one(void *ctx, const Referral__Store__V1__AuditRecord *a)
{
	struct export *x = ctx;
	char ts[32], mid[33] = "", prev[65] = "", hash[65];
	uint8_t h[32];
	json_t *o, *p = NULL;

	if (a->time_ms < x->since || a->time_ms >= x->until)
		return 0;
	if (audit_hash_at(x->s, a->seq, h))
		return REF_E_CORRUPT;
	util_hex(h, 32, hash);
	if (a->prev_hash.len == 32)
		util_hex(a->prev_hash.data, 32, prev);
	if (a->msg_id.len == 16)
		util_hex(a->msg_id.data, 16, mid);
	util_rfc3339(a->time_ms, ts);
	o = json_pack("{s:I, s:s, s:I, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, "
		      "s:s}", "seq", (json_int_t)a->seq, "time", ts, "time_ms",
		      (json_int_t)a->time_ms, "event", a->event, "referral_id",
		      a->referral_id, "msg_id", mid, "peer", a->peer, "actor",
		      a->actor, "outcome", a->outcome, "detail", a->detail,
		      "prev_hash", prev, "hash", hash);
	if (x->personal && a->referral_id[0])
		p = personal_of(x->s, a->referral_id);
	if (x->csv) {
		csv_row(x->f, o, export_columns, x->personal);
		if (x->personal) {
			json_t *empty = json_object();
			csv_row(x->f, p ? p : empty, personal_columns, false);
			json_decref(empty);
		}
	} else {
		char *line;
		if (x->personal)
			json_object_set_new(o, "personal", p ? json_incref(p)
								: json_null());
		line = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
		if (!line) {
			json_decref(o);
			json_decref(p);
			return -ENOMEM;
		}
		fputs(line, x->f);
		fputc('\n', x->f);
		free(line);
	}
	json_decref(p);
	json_decref(o);
	if (!x->count)
		x->first = a->seq;
	x->last = a->seq;
	x->count++;
	return 0;
}

static int write_signed(const char *path, const void *buf, size_t len,
			bool personal)
{
	return util_write_file(path, buf, len, personal ? 0600 : 0640);
}

/* refctl audit export --out FILE: the records of a time range, as JSON
 * lines or CSV, with FILE.manifest (the file's SHA-256 and what it holds)
 * and FILE.manifest.sig (the node key's signature over the manifest's
 * exact bytes, checkable with the openssl command line). */
static int audit_export(store_t *s, int argc, char **argv)
{
	const char *out = refctl_opt(argc, argv, "--out");
	const char *since_s = refctl_opt(argc, argv, "--since");
	const char *until_s = refctl_opt(argc, argv, "--until");
	const char *format = refctl_opt(argc, argv, "--format");
	struct export x = { s, NULL, 0, UINT64_MAX, 0, 0, 0, false, false, 0 };
	char path[4096], hex[65], ts[32], head_hex[65], *buf = NULL;
	char *mtext = NULL, *base;
	uint8_t sha[32], head_hash[32], sig[SIGN_MAX_SIG];
	size_t len = 0, siglen;
	uint64_t head_seq;
	EVP_PKEY *key = NULL;
	trust_t t;
	json_t *m;
	int r;

	if (!out)
		return refctl_usage();
	if (!format)
		format = "jsonl";
	if (strcmp(format, "jsonl") && strcmp(format, "csv"))
		return refctl_fail("--format %s: use jsonl or csv", format);
	x.csv = !strcmp(format, "csv");
	x.personal = refctl_flag(argc, argv, "--include-personal");
	if (since_s && parse_when(since_s, &x.since))
		return refctl_fail("--since %s: give YYYY-MM-DD (a Beijing day) "
				   "or YYYY-MM-DDTHH:MM:SSZ", since_s);
	if (until_s && parse_when(until_s, &x.until))
		return refctl_fail("--until %s: give YYYY-MM-DD (a Beijing day) "
				   "or YYYY-MM-DDTHH:MM:SSZ", until_s);
	if (x.until <= x.since)
		return refctl_fail("--until must come after --since");
	if (trust_load(&t, argc, argv, true))
		return 1;
	snprintf(path, sizeof(path), "%s/signing.key", refctl_data_dir);
	r = sign_key_load_private(path, &key);
	if (r) {
		trust_free(&t);
		return refctl_fail("cannot load this node's signing key %s: %s",
				   path, ref_strerror(r));
	}
	if (x.personal) {
		/* The node checks the role and records the export first. */
		ref_client_t *c = NULL;
		json_t *what = json_pack("{s:s, s:s, s:s}", "since",
					 since_s ? since_s : "the beginning",
					 "until", until_s ? until_s : "now",
					 "format", format);
		char *wt = json_dumps(what, JSON_COMPACT);
		json_decref(what);
		r = ref_open(refctl_data_dir, 0, &c);
		if (!r)
			r = ref_audit_export(c, wt, refctl_actor);
		free(wt);
		if (r) {
			fprintf(stderr, "refctl: no export written: %s\n",
				c ? ref_last_error(c) : ref_strerror(r));
			ref_close(&c);
			EVP_PKEY_free(key);
			trust_free(&t);
			return 1;
		}
		ref_close(&c);
	}
	x.f = open_memstream(&buf, &len);
	if (!x.f)
		r = -ENOMEM;
	if (!r && x.csv) {
		for (const char *const *c = export_columns; *c; c++)
			csv_field(x.f, *c, !c[1] && !x.personal);
		for (const char *const *c = personal_columns; x.personal && *c;
		     c++)
			csv_field(x.f, *c, !c[1]);
	}
	if (!r)
		r = audit_foreach(s, export_one, &x);
	if (!r)
		r = audit_head(s, &head_seq, head_hash);
	if (x.f && fclose(x.f) && !r)
		r = -ENOMEM;
	if (!r)
		r = write_signed(out, buf, len, x.personal);
	if (r) {
		free(buf);
		EVP_PKEY_free(key);
		trust_free(&t);
		return refctl_fail("no export written to %s: %s", out,
				   ref_strerror(r));
	}
	SHA256((uint8_t *)buf, len, sha);
	free(buf);
	util_hex(sha, 32, hex);
	util_hex(head_hash, 32, head_hex);
	util_rfc3339(util_now_ms(), ts);
	base = strrchr(out, '/');
	m = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:I, s:I, "
		      "s:s, s:s, s:b, s:I, s:s, s:s, s:I}",
		      "manifest", EXPORT_MANIFEST_FORMAT,
		      "node", t.self->code, "key_id", t.self_key_id,
		      "alg", sign_alg_name(sign_key_alg(key)),
		      "file", base ? base + 1 : out, "format", format,
		      "sha256", hex, "bytes", (json_int_t)len,
		      "records", (json_int_t)x.count,
		      "first_seq", (json_int_t)x.first,
		      "last_seq", (json_int_t)x.last,
		      "since", since_s ? since_s : "",
		      "until", until_s ? until_s : "",
		      "include_personal", x.personal,
		      "chain_head_seq", (json_int_t)head_seq,
		      "chain_head_hash", head_hex,
		      "created_at", ts, "created_at_ms",
		      (json_int_t)util_now_ms());
	/* A final newline, so the manifest reads well; signed as written. */
	{
		char *body = json_dumps(m, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		if (body && asprintf(&mtext, "%s\n", body) < 0)
			mtext = NULL;
		free(body);
	}
	json_decref(m);
	snprintf(path, sizeof(path), "%s.manifest", out);
	r = mtext ? util_write_file(path, mtext, strlen(mtext), 0644) : -ENOMEM;
	if (!r)
		r = sign_data(key, (uint8_t *)mtext, strlen(mtext), sig, &siglen);
	snprintf(path, sizeof(path), "%s.manifest.sig", out);
	if (!r)
		r = util_write_file(path, sig, siglen, 0644);
	free(mtext);
	EVP_PKEY_free(key);
	if (r) {
		trust_free(&t);
		return refctl_fail("the manifest of %s cannot be written: %s", out,
				   ref_strerror(r));
	}
	printf("%s: %llu record(s)%s, sha256 %s\n%s.manifest: signed by %s "
	       "(%s.manifest.sig)\ncheck it with: refctl audit verify-export %s\n",
	       out, (unsigned long long)x.count,
	       x.personal ? " with personal data" : "", hex, out,
	       t.self_key_id, out, out);
	trust_free(&t);
	return 0;
}

/* ---- verify-export ----------------------------------------------------- */

/* Splits one CSV record at *p (RFC 4180) into fields; advances *p. */
static int csv_record(const char **p, const char *end, char **fields,
		      size_t max, size_t *ret_n)
{
	size_t n = 0;

	while (*p < end) {
		size_t cap = 64, at = 0;
		char *f = malloc(cap);
		bool quoted = **p == '"';

		if (!f)
			return -ENOMEM;
		if (quoted)
			(*p)++;
		for (;;) {
			char ch;
			if (*p >= end) {
				if (quoted) {
					free(f);
					return REF_E_MALFORMED;
				}
				break;
			}
			ch = **p;
			if (quoted && ch == '"') {
				if (*p + 1 < end && (*p)[1] == '"') {
					*p += 2;
				} else {
					(*p)++;
					quoted = false;
					continue;
				}
			} else if (!quoted && (ch == ',' || ch == '\r' ||
					       ch == '\n')) {
				break;
			} else {
				(*p)++;
			}
			if (at + 2 > cap) {
				char *g = realloc(f, cap *= 2);
				if (!g) {
					free(f);
					return -ENOMEM;
				}
				f = g;
			}
			f[at++] = ch;
		}
		f[at] = '\0';
		if (n < max)
			fields[n] = f;
		else
			free(f);
		n++;
		if (*p < end && **p == ',') {
			(*p)++;
			continue;
		}
		if (*p < end && **p == '\r')
			(*p)++;
		if (*p < end && **p == '\n')
			(*p)++;
		break;
	}
	*ret_n = n;
	return 0;
}

/* Walks the export's records: contiguous sequence numbers, each linking to
 * the one before by its hash. */
static int check_records(const char *data, size_t len, bool csv,
			 uint64_t *ret_n, uint64_t *ret_first,
			 uint64_t *ret_last, char *where, size_t wlen)
{
	const char *p = data, *end = data + len;
	char prev_hash[65] = "";
	uint64_t n = 0, line = 0;

	if (csv) {
		char *fields[32];
		size_t nf;
		if (csv_record(&p, end, fields, 32, &nf) || nf < 12) {
			snprintf(where, wlen, "the header row is not the export's");
			return REF_E_MALFORMED;
		}
		for (size_t i = 0; i < nf && i < 32; i++)
			free(fields[i]);
		line = 1;
	}
	while (p < end) {
		uint64_t seq;
		char hash[65], prev[65];

		line++;
		if (csv) {
			char *fields[32];
			size_t nf;
			int r = csv_record(&p, end, fields, 32, &nf);
			if (r || nf < 12) {
				if (!r)
					for (size_t i = 0; i < nf && i < 32; i++)
						free(fields[i]);
				snprintf(where, wlen, "record %llu does not parse",
					 (unsigned long long)line);
				return REF_E_MALFORMED;
			}
			seq = strtoull(fields[0], NULL, 10);
			snprintf(prev, sizeof(prev), "%s", fields[10]);
			snprintf(hash, sizeof(hash), "%s", fields[11]);
			for (size_t i = 0; i < nf && i < 32; i++)
				free(fields[i]);
		} else {
			const char *nl = memchr(p, '\n', (size_t)(end - p));
			json_t *o = json_loadb(p, nl ? (size_t)(nl - p)
						    : (size_t)(end - p), 0, NULL);
			p = nl ? nl + 1 : end;
			if (!json_is_object(o)) {
				json_decref(o);
				snprintf(where, wlen, "line %llu is not a JSON "
					 "record", (unsigned long long)line);
				return REF_E_MALFORMED;
			}
			seq = (uint64_t)json_integer_value(json_object_get(o,
									   "seq"));
			snprintf(prev, sizeof(prev), "%s", js(o, "prev_hash"));
			snprintf(hash, sizeof(hash), "%s", js(o, "hash"));
			json_decref(o);
		}
		if (n && (seq != *ret_last + 1 || strcmp(prev, prev_hash))) {
			snprintf(where, wlen, "record %llu (seq %llu) does not "
				 "follow the one before it", (unsigned long long)line,
				 (unsigned long long)seq);
			return REF_E_CORRUPT;
		}
		if (!n)
			*ret_first = seq;
		*ret_last = seq;
		memcpy(prev_hash, hash, sizeof(prev_hash));
		n++;
	}
	*ret_n = n;
	return 0;
}

/* refctl audit verify-export FILE: offline, against the directory (the
 * data folder's, or --directory FILE --authority PUBKEY.pem): the
 * manifest's signature by the key the directory gives the node, the file's
 * SHA-256 and size, and the records' own links. */
static int audit_verify_export(int argc, char **argv)
{
	static const char *const with_value[] = { "--directory",
		"--authority", NULL };
	const char *file = refctl_positional(argc - 1, argv + 1, 0, with_value);
	char path[4096], where[300] = "", hex[65];
	uint8_t *mbuf = NULL, *sig = NULL, *data = NULL, sha[32];
	size_t mlen, slen, dlen;
	uint64_t n = 0, first = 0, last = 0, at;
	const dir_node_t *node;
	EVP_PKEY *key;
	json_t *m;
	trust_t t;
	int r;

	if (!file)
		return refctl_usage();
	snprintf(path, sizeof(path), "%s.manifest", file);
	if ((r = util_read_file(path, 1 << 20, &mbuf, &mlen)))
		return refctl_fail("cannot read %s: %s", path, ref_strerror(r));
	snprintf(path, sizeof(path), "%s.manifest.sig", file);
	if ((r = util_read_file(path, 4096, &sig, &slen))) {
		free(mbuf);
		return refctl_fail("cannot read %s: %s", path, ref_strerror(r));
	}
	m = json_loadb((char *)mbuf, mlen, 0, NULL);
	if (!json_is_object(m) ||
	    strcmp(js(m, "manifest"), EXPORT_MANIFEST_FORMAT)) {
		snprintf(where, sizeof(where), "%s.manifest is not an export "
			 "manifest (%s)", file, EXPORT_MANIFEST_FORMAT);
		r = REF_E_MALFORMED;
		goto out;
	}
	if (trust_load(&t, argc, argv, false)) {
		json_decref(m);
		free(mbuf);
		free(sig);
		return 1;
	}
	node = directory_node(t.dir, js(m, "node"));
	at = (uint64_t)json_integer_value(json_object_get(m, "created_at_ms"));
	key = node ? directory_key(t.dir, node->code, js(m, "key_id"), at) : NULL;
	if (!node) {
		snprintf(where, sizeof(where), "the manifest names node %.16s, "
			 "which is not in the directory (version %llu)",
			 js(m, "node"), (unsigned long long)t.dir->version);
		r = REF_E_UNKNOWN_NODE;
	} else if (!key) {
		snprintf(where, sizeof(where), "%.64s is not a key of node %s "
			 "valid at the manifest's time (directory version %llu)",
			 js(m, "key_id"), node->code,
			 (unsigned long long)t.dir->version);
		r = REF_E_UNKNOWN_KEY;
	} else if (sign_verify(key, mbuf, mlen, sig, slen)) {
		snprintf(where, sizeof(where), "the manifest's signature does not "
			 "verify with %s's key %.64s: the manifest was changed "
			 "or not signed by that node", node->code, js(m, "key_id"));
		r = REF_E_BADSIG;
	}
	if (!r && (r = util_read_file(file, (size_t)1 << 34, &data, &dlen)))
		snprintf(where, sizeof(where), "cannot read %s: %s", file,
			 ref_strerror(r));
	if (!r) {
		SHA256(data, dlen, sha);
		util_hex(sha, 32, hex);
		if (strcmp(hex, js(m, "sha256")) ||
		    dlen != (size_t)json_integer_value(json_object_get(m,
								      "bytes"))) {
			snprintf(where, sizeof(where), "%s does not match its "
				 "manifest: its SHA-256 is %s, the signed "
				 "manifest says %.64s", file, hex,
				 js(m, "sha256"));
			r = REF_E_BAD_DIGEST;
		}
	}
	if (!r)
		r = check_records((char *)data, dlen, !strcmp(js(m, "format"), "csv"),
				  &n, &first, &last, where, sizeof(where));
	if (!r && (n != (uint64_t)json_integer_value(json_object_get(m, "records"))
		   || (n && (first != (uint64_t)json_integer_value(
				     json_object_get(m, "first_seq")) ||
			     last != (uint64_t)json_integer_value(
				     json_object_get(m, "last_seq")))))) {
		snprintf(where, sizeof(where), "%s holds %llu records, seq %llu "
			 "to %llu; its manifest says otherwise", file,
			 (unsigned long long)n, (unsigned long long)first,
			 (unsigned long long)last);
		r = REF_E_CORRUPT;
	}
	if (!r)
		printf("%s: %llu record(s), seq %llu to %llu, %s; signed by %s "
		       "of %s (%s) in directory version %llu: it matches its "
		       "manifest\n", file, (unsigned long long)n,
		       (unsigned long long)first, (unsigned long long)last,
		       json_is_true(json_object_get(m, "include_personal"))
		       ? "with personal data" : "no personal data",
		       js(m, "key_id"), node->code, node->name,
		       (unsigned long long)t.dir->version);
	trust_free(&t);
out:
	json_decref(m);
	free(mbuf);
	free(sig);
	free(data);
	if (r)
		return refctl_fail("%s", where[0] ? where : ref_strerror(r));
	return 0;
}

struct count_ctx {
	uint64_t n;
};

static int count_one(void *ctx, const uint8_t *k, size_t kl, const uint8_t *v,
		     size_t vl)
{
	(void)k; (void)kl; (void)v; (void)vl;
	((struct count_ctx *)ctx)->n++;
	return 0;
}

/* Every record of every table read and checked: its digest, and for a
 * sealed record its tag (so a changed ciphertext is caught), then the
 * audit chain. Read-only. */
static int store_check_all(store_t *s, uint64_t *ret_n, char *where, size_t wlen)
{
	uint64_t bad = 0, count = 0;
	int r = 0;

	*ret_n = 0;
	for (int t = 0; t < STORE__N && !r; t++) {
		struct count_ctx cc = { 0 };
		r = store_foreach(s, (store_table_t)t, count_one, &cc);
		*ret_n += cc.n;
		if (r)
			snprintf(where, wlen, "%s", store_last_error(s));
	}
	if (!r && (r = audit_verify(s, &bad, &count)))
		snprintf(where, wlen, "audit chain broken at sequence %llu",
			 (unsigned long long)bad);
	return r;
}

/* refctl store check: see store_check_all. */
int refctl_store(int argc, char **argv)
{
	store_t *s = NULL;
	char where[300] = "";
	uint64_t n;
	int r;

	if (argc < 1 || strcmp(argv[0], "check"))
		return refctl_usage();
	if (open_store(&s))
		return 1;
	r = store_check_all(s, &n, where, sizeof(where));
	store_close(&s);
	seal_free(&seal_ring);
	if (r)
		return refctl_fail("the store fails its checks: %s",
				   where[0] ? where : ref_strerror(r));
	printf("store intact: %llu records, every digest, every sealed "
	       "record's tag and the audit chain checked\n",
	       (unsigned long long)n);
	return 0;
}

/* refctl backup DIR: a hot, consistent copy of the store (LMDB's copy,
 * from one snapshot, while the node serves), checked like `store check`
 * before it is called good, with backup.json saying what it holds. The
 * node's keys are not copied: keep them, and data.keys above all, apart. */
int refctl_backup(int argc, char **argv)
{
	const char *dir = argc > 0 ? argv[0] : NULL;
	store_t *s = NULL, *copy = NULL;
	store_opts_t so = { .map_initial = 1 << 20, .map_max = (size_t)1 << 40,
			    .readonly = true };
	char path[4096], where[300] = "", ts[32], hex[65], *text;
	uint64_t seq, n;
	uint8_t hash[32];
	struct stat st;
	json_t *o;
	int r;

	if (!dir || !strncmp(dir, "--", 2))
		return refctl_usage();
	snprintf(path, sizeof(path), "%s/store/data.mdb", dir);
	if (stat(path, &st) == 0)
		return refctl_fail("%s holds a store already; give an empty "
				   "folder", dir);
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return refctl_fail("cannot create %s: %s", dir, strerror(errno));
	if (open_store(&s))
		return 1;
	snprintf(path, sizeof(path), "%s/store", dir);
	r = store_copy(s, path);
	if (r) {
		snprintf(where, sizeof(where), "the copy failed: %s",
			 store_last_error(s));
		store_close(&s);
		seal_free(&seal_ring);
		return refctl_fail("no backup in %s: %s", dir, where);
	}
	store_close(&s);
	r = store_open(path, &so, &copy);
	if (!r) {
		store_set_seal(copy, seal_ring);
		r = store_check_all(copy, &n, where, sizeof(where));
	}
	if (!r)
		r = audit_head(copy, &seq, hash);
	store_close(&copy);
	seal_free(&seal_ring);
	if (r)
		return refctl_fail("the copy in %s fails its checks (%s): do not "
				   "keep it", path, where[0] ? where : ref_strerror(r));
	util_hex(hash, 32, hex);
	util_rfc3339(util_now_ms(), ts);
	o = json_pack("{s:s, s:s, s:I, s:I, s:s, s:s}", "format",
		      "referral.v1/backup", "taken_at", ts, "records",
		      (json_int_t)n, "audit_head_seq", (json_int_t)seq,
		      "audit_head_hash", hex, "not_included",
		      "signing.key, curve.json, data.keys: keep them apart");
	text = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(o);
	snprintf(path, sizeof(path), "%s/backup.json", dir);
	r = text ? util_write_file(path, text, strlen(text), 0600) : -ENOMEM;
	free(text);
	if (r)
		return refctl_fail("cannot write %s: %s", path, ref_strerror(r));
	for (const char *const *f = (const char *const[]){ "referrald.conf",
		"directory.json", "directory.json.sig", "authority.pub.pem",
		"signing.pub.pem", NULL }; *f; f++) {
		uint8_t *b;
		size_t bl;
		char src[4096];
		snprintf(src, sizeof(src), "%s/%s", refctl_data_dir, *f);
		snprintf(path, sizeof(path), "%s/%s", dir, *f);
		if (!util_read_file(src, 16 << 20, &b, &bl)) {
			util_write_file(path, b, bl, 0640);
			free(b);
		}
	}
	printf("backup in %s: %llu records, checked; audit chain up to "
	       "sequence %llu\n", dir, (unsigned long long)n,
	       (unsigned long long)seq);
	return 0;
}

struct head_at {
	uint64_t seq, at_ms;
};

static int head_at_one(void *ctx, const Referral__Store__V1__AuditRecord *a)
{
	struct head_at *h = ctx;

	if (a->seq == h->seq)
		h->at_ms = a->time_ms;
	return 0;
}

/* "SEQ TIME_MS" of the backup's last audit record: where the restored
 * node's knowledge ends, told to its peers at its next start. */
static int backup_head(store_t *b, char *out, size_t len)
{
	struct head_at h = { 0, 0 };
	uint8_t hash[32];
	int r = audit_head(b, &h.seq, hash);

	if (!r)
		r = audit_foreach(b, head_at_one, &h);
	if (!r)
		snprintf(out, len, "%llu %llu", (unsigned long long)h.seq,
			 (unsigned long long)h.at_ms);
	return r;
}

/* refctl restore BACKUP: with the node stopped, its store is put aside
 * (store.replaced-TIME, never deleted) and the checked backup copied in,
 * marked so that the node, at its next start, asks every peer to send
 * again what it had receipted after the backup. */
int refctl_restore(int argc, char **argv)
{
	const char *bk = argc > 0 ? argv[0] : NULL;
	store_opts_t ro = { .map_initial = 1 << 20, .map_max = (size_t)1 << 40,
			    .readonly = true };
	store_opts_t rw = { .map_initial = 1 << 20, .map_max = (size_t)1 << 40 };
	char path[4096], aside[4200], where[300] = "", ts[32], mark[64];
	store_t *b = NULL, *s = NULL;
	uint64_t n;
	int fd, r;

	if (!bk || !refctl_data_dir || !*refctl_data_dir)
		return refctl_usage();
	snprintf(path, sizeof(path), "%s/referrald.lock", refctl_data_dir);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0 || flock(fd, LOCK_EX | LOCK_NB) < 0) {
		if (fd >= 0)
			close(fd);
		return refctl_fail("the node on %s is running: stop it before a "
				   "restore", refctl_data_dir);
	}
	data_key_path(path, sizeof(path));
	if (seal_load(path, &seal_ring, where, sizeof(where))) {
		close(fd);
		return refctl_fail("%s", where);
	}
	snprintf(path, sizeof(path), "%s/store", bk);
	r = store_open(path, &ro, &b);
	if (!r) {
		store_set_seal(b, seal_ring);
		r = store_check_all(b, &n, where, sizeof(where));
	}
	if (!r)
		r = backup_head(b, mark, sizeof(mark));
	if (r) {
		store_close(&b);
		seal_free(&seal_ring);
		close(fd);
		return refctl_fail("the backup in %s fails its checks (%s); "
				   "nothing was changed", bk,
				   where[0] ? where : ref_strerror(r));
	}
	util_rfc3339(util_now_ms(), ts);
	snprintf(path, sizeof(path), "%s/store", refctl_data_dir);
	snprintf(aside, sizeof(aside), "%s/store.replaced-%.19s", refctl_data_dir,
		 ts);
	if (rename(path, aside) < 0 && errno != ENOENT) {
		store_close(&b);
		seal_free(&seal_ring);
		close(fd);
		return refctl_fail("cannot put the current store aside: %s",
				   strerror(errno));
	}
	r = store_copy(b, path);
	store_close(&b);
	if (!r)
		r = store_open(path, &rw, &s);
	if (!r) {
		store_set_seal(s, seal_ring);
		r = store_begin(s);
	}
	if (!r)
		r = store_put(s, STORE_META, "restored_from_backup", 20, mark,
			      strlen(mark));
	if (!r)
		r = store_commit(s);
	store_close(&s);
	seal_free(&seal_ring);
	close(fd);
	if (r)
		return refctl_fail("the restore into %s failed (%s); the store "
				   "that was there is in %s", path,
				   ref_strerror(r), aside);
	printf("restored %llu records from %s; the store that was there is in "
	       "%s. At its next start the node asks its peers to send again "
	       "what it received after the backup.\n", (unsigned long long)n,
	       bk, aside);
	return 0;
}

int refctl_audit(int argc, char **argv)
{
	const char *sub = argc > 0 ? argv[0] : "";
	store_t *s = NULL;
	trust_t t;
	int r;

	if (!strcmp(sub, "verify-export"))
		return audit_verify_export(argc, argv);
	if (strcmp(sub, "verify") && strcmp(sub, "witnessed") &&
	    strcmp(sub, "trail") && strcmp(sub, "export"))
		return refctl_usage();
	if (open_store(&s))
		return 1;
	if (!strcmp(sub, "witnessed")) {
		if (trust_load(&t, argc, argv, false)) {
			store_close(&s);
			return 1;
		}
		r = audit_witnessed(s, &t, refctl_opt(argc, argv, "--node"));
		trust_free(&t);
	} else if (!strcmp(sub, "trail")) {
		r = audit_trail(s, argc, argv);
	} else if (!strcmp(sub, "export")) {
		r = audit_export(s, argc, argv);
	} else {
		r = audit_verify_cmd(s, argc, argv);
	}
	store_close(&s);
	seal_free(&seal_ring);
	return r;
}
