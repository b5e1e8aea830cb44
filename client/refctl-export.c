/* refctl-export.c: refctl audit export and audit verify-export
 * (docs/AUDIT.md).
 *
 * An export is the audit records of a time range, as JSON lines or CSV,
 * read from the store itself, with a manifest signed by the node's key
 * that anyone can check offline with openssl. Personal data is added only
 * after the running node has checked the admin role and recorded the
 * export in its own chain. verify-export trusts nothing but the directory
 * and the authority key: the manifest's signature, the file's digest and
 * size, and the records' own links. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include <openssl/sha.h>

#include "audit.h"
#include "cli.h"
#include "i18n.h"
#include "cli-trust.h"
#include "directory.h"
#include "errors.h"
#include "refctl-export.h"
#include "referral.h"
#include "sign.h"
#include "store.h"
#include "util.h"

#define EXPORT_MANIFEST_FORMAT "referral.v1/audit-export"
#define BEIJING_MS (8 * 3600 * 1000LL)

static const char *js(json_t *o, const char *k)
{
	return cli_js(o, k);
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
int refctl_export_run(store_t *s, int argc, char **argv)
{
	const char *out = cli_opt(argc, argv, "--out");
	const char *since_s = cli_opt(argc, argv, "--since");
	const char *until_s = cli_opt(argc, argv, "--until");
	const char *format = cli_opt(argc, argv, "--format");
	struct export x = { s, NULL, 0, UINT64_MAX, 0, 0, 0, false, false, 0 };
	char path[4096], hex[65], ts[32], head_hex[65], *buf = NULL;
	char *mtext = NULL, *base;
	uint8_t sha[32], head_hash[32], sig[SIGN_MAX_SIG];
	size_t len = 0, siglen;
	uint64_t head_seq;
	EVP_PKEY *key = NULL;
	cli_trust_t t;
	json_t *m;
	int r;

	if (!out)
		return cli_usage();
	if (!format)
		format = "jsonl";
	if (strcmp(format, "jsonl") && strcmp(format, "csv"))
		return cli_fail(_("--format %s: use jsonl or csv"), format);
	x.csv = !strcmp(format, "csv");
	x.personal = cli_flag(argc, argv, "--include-personal");
	if (since_s && parse_when(since_s, &x.since))
		return cli_fail(_("--since %s: give YYYY-MM-DD (a Beijing day) "
				"or YYYY-MM-DDTHH:MM:SSZ"), since_s);
	if (until_s && parse_when(until_s, &x.until))
		return cli_fail(_("--until %s: give YYYY-MM-DD (a Beijing day) "
				"or YYYY-MM-DDTHH:MM:SSZ"), until_s);
	if (x.until <= x.since)
		return cli_fail(_("--until must come after --since"));
	if (cli_trust_load(&t, argc, argv, true))
		return 1;
	snprintf(path, sizeof(path), "%s/signing.key", cli_data_dir);
	r = sign_key_load_private(path, &key);
	if (r) {
		cli_trust_free(&t);
		return cli_fail(_("cannot load this node's signing key %s: %s"),
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
		r = ref_open(cli_data_dir, 0, &c);
		if (!r)
			r = ref_audit_export(c, wt, cli_actor);
		free(wt);
		if (r) {
			fprintf(stderr, "refctl: no export written: %s\n",
				c ? ref_last_error(c) : ref_strerror(r));
			ref_close(&c);
			EVP_PKEY_free(key);
			cli_trust_free(&t);
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
		cli_trust_free(&t);
		return cli_fail(_("no export written to %s: %s"), out,
				ref_strerror(r));
	}
	util_sha256((uint8_t *)buf, len, sha);
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
		cli_trust_free(&t);
		return cli_fail(_("the manifest of %s cannot be written: %s"), out,
				ref_strerror(r));
	}
	printf(_("%s: %llu record(s)%s, sha256 %s\n%s.manifest: signed by %s "
	       "(%s.manifest.sig)\ncheck it with: refctl audit verify-export %s\n"),
	       out, (unsigned long long)x.count,
	       x.personal ? _(" with personal data") : "", hex, out,
	       t.self_key_id, out, out);
	cli_trust_free(&t);
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
int refctl_export_verify(int argc, char **argv)
{
	static const char *const with_value[] = { "--directory",
		"--authority", NULL };
	const char *file = cli_positional(argc - 1, argv + 1, 0, with_value);
	char path[4096], where[300] = "", hex[65];
	uint8_t *mbuf = NULL, *sig = NULL, *data = NULL, sha[32];
	size_t mlen, slen, dlen;
	uint64_t n = 0, first = 0, last = 0, at;
	const dir_node_t *node;
	EVP_PKEY *key;
	json_t *m;
	cli_trust_t t;
	int r;

	if (!file)
		return cli_usage();
	snprintf(path, sizeof(path), "%s.manifest", file);
	if ((r = util_read_file(path, 1 << 20, &mbuf, &mlen)))
		return cli_fail(_("cannot read %s: %s"), path, ref_strerror(r));
	snprintf(path, sizeof(path), "%s.manifest.sig", file);
	if ((r = util_read_file(path, 4096, &sig, &slen))) {
		free(mbuf);
		return cli_fail(_("cannot read %s: %s"), path, ref_strerror(r));
	}
	m = json_loadb((char *)mbuf, mlen, 0, NULL);
	if (!json_is_object(m) ||
	    strcmp(js(m, "manifest"), EXPORT_MANIFEST_FORMAT)) {
		snprintf(where, sizeof(where), "%s.manifest is not an export "
			 "manifest (%s)", file, EXPORT_MANIFEST_FORMAT);
		r = REF_E_MALFORMED;
		goto out;
	}
	if (cli_trust_load(&t, argc, argv, false)) {
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
		util_sha256(data, dlen, sha);
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
		printf(_("%s: %llu record(s), seq %llu to %llu, %s; signed by %s "
		       "of %s (%s) in directory version %llu: it matches its "
		       "manifest\n"), file, (unsigned long long)n,
		       (unsigned long long)first, (unsigned long long)last,
		       json_is_true(json_object_get(m, "include_personal"))
		       ? _("with personal data") : _("no personal data"),
		       js(m, "key_id"), node->code, node->name,
		       (unsigned long long)t.dir->version);
	cli_trust_free(&t);
out:
	json_decref(m);
	free(mbuf);
	free(sig);
	free(data);
	if (r)
		return cli_fail("%s", where[0] ? where : ref_strerror(r));
	return 0;
}
