/* application.c: see application.h.
 *
 * The JSON form mirrors the protobuf body field for field, with money in
 * yuan (converted to fen) and documents given by "content_base64", "file"
 * or "reference". Conversion builds the protobuf message on a scratch arena
 * of malloc'd strings freed together at the end. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/sha.h>

#include "application.h"
#include "errors.h"
#include "util.h"

#define MAX_STR 1000
#define MAX_SUMMARY 20000
#define MAX_LIST 32

static const char *const services[] = {
	"consultation", "document_drafting", "criminal_defence",
	"civil_representation", "administrative_representation",
	"duty_lawyer", "labour_mediation", "labour_arbitration", NULL };
static const char *const case_types[] = {
	"labour", "marriage_family", "food_drugs", "education_medical",
	"accident_compensation", "land_expropriation", "land_transfer",
	"epidemic_wage", "dismissal", "work_injury", "lease", "other", NULL };
static const char *const groups[] = {
	"minor", "elderly", "disabled", "woman", "migrant_worker", "veteran",
	"minimum_allowance", "extreme_poverty", NULL };
static const char *const id_types[] = {
	"resident_id", "passport", "hk_macao_permit", "taiwan_permit",
	"foreign_permanent_resident", "other", NULL };
static const char *const sexes[] = { "female", "male", NULL };
static const char *const roles[] = {
	"claimant", "respondent", "plaintiff", "defendant", "victim",
	"applicant", "third_party", NULL };
static const char *const paths[] = {
	"full_check", "exempt", "no_condition", "commitment", NULL };
static const char *const residences[] = { "urban", "rural", NULL };
static const char *const urgencies[] = {
	"limitation_near", "preservation", "other", NULL };

static int bad(char *err, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int bad(char *err, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, len, fmt, ap);
	va_end(ap);
	return REF_E_INVALID;
}

static bool in_list(const char *v, const char *const *list)
{
	for (; *list; list++)
		if (!strcmp(v, *list))
			return true;
	return false;
}

static void list_text(const char *const *list, char *out, size_t len)
{
	size_t used = 0;

	out[0] = '\0';
	for (; *list && used < len; list++)
		used += (size_t)snprintf(out + used, len - used, "%s%s",
					 used ? ", " : "", *list);
}

/* Checks one string field of the body. */
static int check_str(const char *v, const char *name, bool required,
		     const char *const *vocab, size_t max, char *err,
		     size_t errlen)
{
	char allowed[400];

	if (!v || !*v) {
		if (required)
			return bad(err, errlen, "%s is required", name);
		return 0;
	}
	if (strlen(v) > max)
		return bad(err, errlen, "%s is longer than %zu bytes", name, max);
	if (!util_utf8_valid(v, strlen(v)))
		return bad(err, errlen, "%s is not valid UTF-8", name);
	if (vocab && !in_list(v, vocab)) {
		list_text(vocab, allowed, sizeof(allowed));
		return bad(err, errlen, "%s must be one of: %s", name, allowed);
	}
	return 0;
}

static bool date_ok(const char *d)
{
	int y, m, day, n = 0;

	return sscanf(d, "%4d-%2d-%2d%n", &y, &m, &day, &n) == 3 &&
	       n == 10 && d[10] == '\0' && m >= 1 && m <= 12 && day >= 1 &&
	       day <= 31 && y >= 1900;
}

int application_check(const Referral__V1__ReferralSubmit *a,
		      const application_limits_t *lim, char *err,
		      size_t errlen)
{
	const Referral__V1__Applicant *ap = a->applicant;
	const Referral__V1__Matter *m = a->matter;
	const Referral__V1__Means *me = a->means;
	int r;

#define STR(v, name, req, vocab, max) \
	if ((r = check_str(v, name, req, vocab, max, err, errlen))) return r
	STR(a->origin_reference, "origin_reference", false, NULL, 64);
	STR(a->intake_officer, "intake_officer", false, NULL, 64);
	if (!ap)
		return bad(err, errlen, "applicant is required");
	STR(ap->name, "applicant.name", true, NULL, 200);
	STR(ap->id_type, "applicant.id_type", true, id_types, 64);
	STR(ap->id_number, "applicant.id_number", true, NULL, 64);
	STR(ap->sex, "applicant.sex", false, sexes, 16);
	STR(ap->birth_date, "applicant.birth_date", false, NULL, 10);
	if (ap->birth_date[0] && !date_ok(ap->birth_date))
		return bad(err, errlen, "applicant.birth_date must be YYYY-MM-DD");
	STR(ap->phone, "applicant.phone", true, NULL, 32);
	STR(ap->employer, "applicant.employer", false, NULL, MAX_STR);
	if (ap->n_addresses > MAX_LIST || ap->n_groups > MAX_LIST)
		return bad(err, errlen, "applicant lists hold at most %d items",
			   MAX_LIST);
	for (size_t i = 0; i < ap->n_addresses; i++)
		STR(ap->addresses[i], "applicant.addresses[]", true, NULL, MAX_STR);
	for (size_t i = 0; i < ap->n_groups; i++)
		STR(ap->groups[i], "applicant.groups[]", true, groups, 32);
	if (a->proxy) {
		STR(a->proxy->name, "proxy.name", true, NULL, 200);
		STR(a->proxy->id_type, "proxy.id_type", false, id_types, 64);
		STR(a->proxy->id_number, "proxy.id_number", false, NULL, 64);
		STR(a->proxy->phone, "proxy.phone", false, NULL, 32);
		STR(a->proxy->relationship, "proxy.relationship", true, NULL, 64);
		STR(a->proxy->authority, "proxy.authority", true, NULL, MAX_STR);
	}
	if (!m)
		return bad(err, errlen, "matter is required");
	STR(m->service, "matter.service", true, services, 64);
	STR(m->case_type, "matter.case_type", true, case_types, 64);
	STR(m->applicant_role, "matter.applicant_role", false, roles, 64);
	STR(m->stage, "matter.stage", false, NULL, 64);
	STR(m->handling_body, "matter.handling_body", false, NULL, MAX_STR);
	STR(m->handling_case_no, "matter.handling_case_no", false, NULL, 128);
	STR(m->handling_division, "matter.handling_division", false, NULL, 6);
	if (m->handling_division[0] &&
	    (strlen(m->handling_division) != 6 ||
	     !util_node_code_valid(m->handling_division)))
		return bad(err, errlen, "matter.handling_division must be a "
			   "six-digit division code (GB/T 2260)");
	STR(m->limitation_deadline, "matter.limitation_deadline", false, NULL, 10);
	if (m->limitation_deadline[0] && !date_ok(m->limitation_deadline))
		return bad(err, errlen,
			   "matter.limitation_deadline must be YYYY-MM-DD");
	STR(m->summary, "matter.summary", false, NULL, MAX_SUMMARY);
	if (m->claim_amount_fen < 0)
		return bad(err, errlen, "matter.claim_amount_yuan is negative");
	if (m->n_opposing_parties > MAX_LIST || m->n_urgency > MAX_LIST)
		return bad(err, errlen, "matter lists hold at most %d items",
			   MAX_LIST);
	for (size_t i = 0; i < m->n_opposing_parties; i++)
		STR(m->opposing_parties[i]->name,
		    "matter.opposing_parties[].name", true, NULL, MAX_STR);
	for (size_t i = 0; i < m->n_urgency; i++)
		STR(m->urgency[i], "matter.urgency[]", true, urgencies, 32);
	if (!me)
		return bad(err, errlen, "means is required");
	STR(me->path, "means.path", true, paths, 32);
	if ((!strcmp(me->path, "exempt") || !strcmp(me->path, "no_condition")) &&
	    !me->category[0])
		return bad(err, errlen,
			   "means.category is required when means.path is %s",
			   me->path);
	STR(me->category, "means.category", false, NULL, 64);
	STR(me->residence, "means.residence", false, residences, 16);
	if (me->household_income_fen < 0 || me->threshold_fen < 0)
		return bad(err, errlen, "means amounts must not be negative");
	if (!a->consent || !a->consent->cross_county_transfer)
		return bad(err, errlen,
			   "consent.cross_county_transfer must be true: the "
			   "applicant has to agree to the transfer");
	STR(a->consent->signed_at, "consent.signed_at", false, NULL, 40);
	STR(a->consent->method, "consent.method", false, NULL, 32);
	if (a->n_documents > lim->max_documents)
		return bad(err, errlen, "%zu documents, more than the limit of %zu",
			   a->n_documents, lim->max_documents);
	for (size_t i = 0; i < a->n_documents; i++) {
		const Referral__V1__Document *d = a->documents[i];
		uint8_t sha[32];

		STR(d->type, "documents[].type", true, NULL, 64);
		STR(d->name, "documents[].name", false, NULL, 256);
		STR(d->reference, "documents[].reference", false, NULL, MAX_STR);
		if (d->sha256.len != 32)
			return bad(err, errlen, "documents[%zu].sha256 is not 32 bytes",
				   i);
		if (d->content.len > lim->max_document_bytes)
			return bad(err, errlen,
				   "documents[%zu] is %zu bytes, more than the "
				   "limit of %zu (send a reference instead)", i,
				   d->content.len, lim->max_document_bytes);
		if (d->content.len) {
			util_sha256(d->content.data, d->content.len, sha);
			if (d->size != d->content.len ||
			    memcmp(sha, d->sha256.data, 32))
				return bad(err, errlen,
					   "documents[%zu]: size or sha256 does "
					   "not match its bytes", i);
		} else if (!d->reference[0]) {
			return bad(err, errlen,
				   "documents[%zu] has neither bytes nor a "
				   "reference", i);
		}
	}
#undef STR
	return 0;
}

/* ---- JSON to protobuf ---------------------------------------------------- */

typedef struct {
	void **ptrs;
	size_t n, cap;
	int failed;
} arena_t;

static void *keep(arena_t *ar, void *p)
{
	if (!p) {
		ar->failed = 1;
		return NULL;
	}
	if (ar->n == ar->cap) {
		size_t cap = ar->cap ? ar->cap * 2 : 64;
		void **np = realloc(ar->ptrs, cap * sizeof(*np));
		if (!np) {
			free(p);
			ar->failed = 1;
			return NULL;
		}
		ar->ptrs = np;
		ar->cap = cap;
	}
	ar->ptrs[ar->n++] = p;
	return p;
}

static void arena_free(arena_t *ar)
{
	for (size_t i = 0; i < ar->n; i++)
		free(ar->ptrs[i]);
	free(ar->ptrs);
}

static char empty[] = "";

/* A JSON string field, or "" if absent; a non-string is an error. */
static int jstr(arena_t *ar, json_t *o, const char *key, const char *path,
		char **out, char *err, size_t errlen)
{
	json_t *v = json_object_get(o, key);

	*out = empty;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_string(v))
		return bad(err, errlen, "%s.%s must be a string", path, key);
	*out = keep(ar, strdup(json_string_value(v)));
	return ar->failed ? -ENOMEM : 0;
}

static int jstrs(arena_t *ar, json_t *o, const char *key, const char *path,
		 char ***out, size_t *n, char *err, size_t errlen)
{
	json_t *v = json_object_get(o, key), *it;
	size_t i;

	*n = 0;
	*out = NULL;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_array(v) || json_array_size(v) > MAX_LIST)
		return bad(err, errlen, "%s.%s must be a list of at most %d "
			   "strings", path, key, MAX_LIST);
	*out = keep(ar, calloc(json_array_size(v) + 1, sizeof(char *)));
	if (!*out)
		return -ENOMEM;
	json_array_foreach(v, i, it) {
		if (!json_is_string(it))
			return bad(err, errlen, "%s.%s[%zu] must be a string",
				   path, key, i);
		(*out)[i] = keep(ar, strdup(json_string_value(it)));
		if (ar->failed)
			return -ENOMEM;
		*n = i + 1;
	}
	return 0;
}

static int jyuan(json_t *o, const char *key, const char *path, int64_t *fen,
		 char *err, size_t errlen)
{
	json_t *v = json_object_get(o, key);
	double d;

	*fen = 0;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_number(v))
		return bad(err, errlen, "%s.%s must be a number of yuan", path, key);
	d = json_number_value(v);
	if (!(d >= 0 && d < 1e13))
		return bad(err, errlen, "%s.%s is out of range", path, key);
	*fen = (int64_t)llround(d * 100);
	return 0;
}

static json_t *obj(json_t *root, const char *key)
{
	json_t *v = json_object_get(root, key);
	return json_is_object(v) ? v : NULL;
}

static int load_document(arena_t *ar, json_t *jd, size_t i,
			 const application_limits_t *lim,
			 Referral__V1__Document *d, char *err, size_t errlen)
{
	char path[32], *b64 = NULL, *file = NULL, *sha_hex = NULL;
	uint8_t *bytes = NULL;
	size_t len = 0;
	int r;

	snprintf(path, sizeof(path), "documents[%zu]", i);
	if (!json_is_object(jd))
		return bad(err, errlen, "%s must be an object", path);
	if ((r = jstr(ar, jd, "type", path, &d->type, err, errlen)) ||
	    (r = jstr(ar, jd, "name", path, &d->name, err, errlen)) ||
	    (r = jstr(ar, jd, "reference", path, &d->reference, err, errlen)) ||
	    (r = jstr(ar, jd, "content_base64", path, &b64, err, errlen)) ||
	    (r = jstr(ar, jd, "file", path, &file, err, errlen)) ||
	    (r = jstr(ar, jd, "sha256", path, &sha_hex, err, errlen)))
		return r;
	if (*b64 && *file)
		return bad(err, errlen, "%s: give content_base64 or file, not both",
			   path);
	if (*b64) {
		if (util_b64_decode(b64, &bytes, &len))
			return bad(err, errlen, "%s.content_base64 is not base64",
				   path);
	} else if (*file && lim->no_files) {
		return bad(err, errlen, "%s: give content_base64; a file is not "
			   "read on this path", path);
	} else if (*file) {
		char full[4096];
		if (file[0] == '/' || !lim->base_dir)
			snprintf(full, sizeof(full), "%s", file);
		else
			snprintf(full, sizeof(full), "%s/%s", lim->base_dir, file);
		r = util_read_file(full, lim->max_document_bytes, &bytes, &len);
		if (r == REF_E_TOO_LARGE)
			return bad(err, errlen,
				   "%s.file is larger than the limit of %zu bytes "
				   "(send a reference instead)", path,
				   lim->max_document_bytes);
		if (r)
			return bad(err, errlen, "%s.file cannot be read: %s", path,
				   ref_strerror(r));
	}
	if (bytes) {
		keep(ar, bytes);
		if (ar->failed)
			return -ENOMEM;
		d->content.data = bytes;
		d->content.len = len;
		d->size = len;
	}
	d->sha256.data = keep(ar, malloc(32));
	if (!d->sha256.data)
		return -ENOMEM;
	d->sha256.len = 32;
	if (bytes) {
		util_sha256(bytes, len, d->sha256.data);
		if (*sha_hex) {
			uint8_t want[32];
			if (util_unhex(sha_hex, want, 32) ||
			    memcmp(want, d->sha256.data, 32))
				return bad(err, errlen, "%s.sha256 does not match "
					   "the document's bytes", path);
		}
	} else {
		json_t *size = json_object_get(jd, "size");
		if (util_unhex(sha_hex, d->sha256.data, 32))
			return bad(err, errlen, "%s: a document given by reference "
				   "needs sha256 (64 hex digits)", path);
		if (json_is_integer(size) && json_integer_value(size) >= 0)
			d->size = (uint64_t)json_integer_value(size);
	}
	return 0;
}

int application_from_json(const char *text, size_t len,
			  const application_limits_t *lim, uint8_t **ret_body,
			  size_t *ret_len, char *err, size_t errlen)
{
	Referral__V1__ReferralSubmit a = REFERRAL__V1__REFERRAL_SUBMIT__INIT;
	Referral__V1__Applicant ap = REFERRAL__V1__APPLICANT__INIT;
	Referral__V1__Proxy px = REFERRAL__V1__PROXY__INIT;
	Referral__V1__Matter m = REFERRAL__V1__MATTER__INIT;
	Referral__V1__Means me = REFERRAL__V1__MEANS__INIT;
	Referral__V1__Consent co = REFERRAL__V1__CONSENT__INIT;
	arena_t ar = { 0 };
	json_error_t jerr;
	json_t *root, *j, *it;
	size_t i;
	int r;

	root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root)
		/* jansson's text quotes the input near the fault, and the
		 * input is personal data: give the place only. */
		return bad(err, errlen, "the application is not JSON (line %d, "
			   "column %d)", jerr.line, jerr.column);
	if (!json_is_object(root)) {
		r = bad(err, errlen, "the application must be a JSON object");
		goto out;
	}
	if ((r = jstr(&ar, root, "origin_reference", "application",
		      &a.origin_reference, err, errlen)) ||
	    (r = jstr(&ar, root, "intake_officer", "application",
		      &a.intake_officer, err, errlen)))
		goto out;
	if ((j = obj(root, "applicant"))) {
		a.applicant = &ap;
		if ((r = jstr(&ar, j, "name", "applicant", &ap.name, err, errlen)) ||
		    (r = jstr(&ar, j, "id_type", "applicant", &ap.id_type, err, errlen)) ||
		    (r = jstr(&ar, j, "id_number", "applicant", &ap.id_number, err, errlen)) ||
		    (r = jstr(&ar, j, "sex", "applicant", &ap.sex, err, errlen)) ||
		    (r = jstr(&ar, j, "birth_date", "applicant", &ap.birth_date, err, errlen)) ||
		    (r = jstr(&ar, j, "phone", "applicant", &ap.phone, err, errlen)) ||
		    (r = jstr(&ar, j, "employer", "applicant", &ap.employer, err, errlen)) ||
		    (r = jstrs(&ar, j, "addresses", "applicant", &ap.addresses,
			       &ap.n_addresses, err, errlen)) ||
		    (r = jstrs(&ar, j, "groups", "applicant", &ap.groups,
			       &ap.n_groups, err, errlen)))
			goto out;
	}
	if ((j = obj(root, "proxy"))) {
		a.proxy = &px;
		if ((r = jstr(&ar, j, "name", "proxy", &px.name, err, errlen)) ||
		    (r = jstr(&ar, j, "id_type", "proxy", &px.id_type, err, errlen)) ||
		    (r = jstr(&ar, j, "id_number", "proxy", &px.id_number, err, errlen)) ||
		    (r = jstr(&ar, j, "phone", "proxy", &px.phone, err, errlen)) ||
		    (r = jstr(&ar, j, "relationship", "proxy", &px.relationship, err, errlen)) ||
		    (r = jstr(&ar, j, "authority", "proxy", &px.authority, err, errlen)))
			goto out;
	}
	if ((j = obj(root, "matter"))) {
		json_t *op = json_object_get(j, "opposing_parties");
		a.matter = &m;
		if ((r = jstr(&ar, j, "service", "matter", &m.service, err, errlen)) ||
		    (r = jstr(&ar, j, "case_type", "matter", &m.case_type, err, errlen)) ||
		    (r = jstr(&ar, j, "applicant_role", "matter", &m.applicant_role, err, errlen)) ||
		    (r = jstr(&ar, j, "stage", "matter", &m.stage, err, errlen)) ||
		    (r = jstr(&ar, j, "handling_body", "matter", &m.handling_body, err, errlen)) ||
		    (r = jstr(&ar, j, "handling_case_no", "matter", &m.handling_case_no, err, errlen)) ||
		    (r = jstr(&ar, j, "handling_division", "matter", &m.handling_division, err, errlen)) ||
		    (r = jstr(&ar, j, "limitation_deadline", "matter", &m.limitation_deadline, err, errlen)) ||
		    (r = jstr(&ar, j, "summary", "matter", &m.summary, err, errlen)) ||
		    (r = jstrs(&ar, j, "urgency", "matter", &m.urgency, &m.n_urgency, err, errlen)) ||
		    (r = jyuan(j, "claim_amount_yuan", "matter", &m.claim_amount_fen, err, errlen)))
			goto out;
		if (op && (!json_is_array(op) || json_array_size(op) > MAX_LIST)) {
			r = bad(err, errlen, "matter.opposing_parties must be a "
				"list of at most %d objects", MAX_LIST);
			goto out;
		}
		m.opposing_parties = keep(&ar, calloc(json_array_size(op) + 1,
						      sizeof(void *)));
		json_array_foreach(op, i, it) {
			Referral__V1__OpposingParty *p = keep(&ar, malloc(sizeof(*p)));
			if (!p) {
				r = -ENOMEM;
				goto out;
			}
			referral__v1__opposing_party__init(p);
			if (!json_is_object(it)) {
				r = bad(err, errlen, "matter.opposing_parties[%zu] "
					"must be an object", i);
				goto out;
			}
			if ((r = jstr(&ar, it, "name", "matter.opposing_parties[]",
				      &p->name, err, errlen)) ||
			    (r = jstr(&ar, it, "kind", "matter.opposing_parties[]",
				      &p->kind, err, errlen)))
				goto out;
			m.opposing_parties[i] = p;
			m.n_opposing_parties = i + 1;
		}
	}
	if ((j = obj(root, "means"))) {
		json_t *hs = json_object_get(j, "household_size");
		a.means = &me;
		if ((r = jstr(&ar, j, "path", "means", &me.path, err, errlen)) ||
		    (r = jstr(&ar, j, "category", "means", &me.category, err, errlen)) ||
		    (r = jstr(&ar, j, "residence", "means", &me.residence, err,
			      errlen)) ||
		    (r = jyuan(j, "household_income_yuan", "means",
			       &me.household_income_fen, err, errlen)) ||
		    (r = jyuan(j, "threshold_yuan", "means", &me.threshold_fen,
			       err, errlen)))
			goto out;
		if (hs && (!json_is_integer(hs) || json_integer_value(hs) < 0 ||
			   json_integer_value(hs) > 100)) {
			r = bad(err, errlen, "means.household_size must be a whole "
				"number from 0 to 100");
			goto out;
		}
		me.household_size = (uint32_t)json_integer_value(hs);
	}
	if ((j = obj(root, "consent"))) {
		json_t *x = json_object_get(j, "cross_county_transfer");
		a.consent = &co;
		if (x && !json_is_boolean(x)) {
			r = bad(err, errlen, "consent.cross_county_transfer must "
				"be true or false");
			goto out;
		}
		co.cross_county_transfer = json_is_true(x);
		if ((r = jstr(&ar, j, "signed_at", "consent", &co.signed_at, err, errlen)) ||
		    (r = jstr(&ar, j, "method", "consent", &co.method, err, errlen)))
			goto out;
	}
	j = json_object_get(root, "documents");
	if (j && !json_is_array(j)) {
		r = bad(err, errlen, "documents must be a list");
		goto out;
	}
	if (json_array_size(j) > lim->max_documents) {
		r = bad(err, errlen, "%zu documents, more than the limit of %zu",
			json_array_size(j), lim->max_documents);
		goto out;
	}
	a.documents = keep(&ar, calloc(json_array_size(j) + 1, sizeof(void *)));
	json_array_foreach(j, i, it) {
		Referral__V1__Document *d = keep(&ar, malloc(sizeof(*d)));
		if (!d) {
			r = -ENOMEM;
			goto out;
		}
		referral__v1__document__init(d);
		r = load_document(&ar, it, i, lim, d, err, errlen);
		if (r)
			goto out;
		a.documents[i] = d;
		a.n_documents = i + 1;
	}
	if (ar.failed) {
		r = -ENOMEM;
		goto out;
	}
	r = application_check(&a, lim, err, errlen);
	if (r)
		goto out;
	*ret_len = referral__v1__referral_submit__get_packed_size(&a);
	*ret_body = malloc(*ret_len ? *ret_len : 1);
	if (!*ret_body) {
		r = -ENOMEM;
		goto out;
	}
	referral__v1__referral_submit__pack(&a, *ret_body);
out:
	arena_free(&ar);
	json_decref(root);
	return r;
}

/* ---- protobuf to JSON ---------------------------------------------------- */

static void put_str(json_t *o, const char *key, const char *v)
{
	if (v && *v)
		json_object_set_new(o, key, json_string(v));
}

static void put_strs(json_t *o, const char *key, char **v, size_t n)
{
	json_t *a;

	if (!n)
		return;
	a = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, json_string(v[i]));
	json_object_set_new(o, key, a);
}

static void put_yuan(json_t *o, const char *key, int64_t fen)
{
	if (fen)
		json_object_set_new(o, key, json_real((double)fen / 100.0));
}

json_t *application_to_json(const Referral__V1__ReferralSubmit *a)
{
	json_t *root = json_object(), *o, *docs;

	put_str(root, "origin_reference", a->origin_reference);
	put_str(root, "intake_officer", a->intake_officer);
	if (a->applicant) {
		const Referral__V1__Applicant *p = a->applicant;
		o = json_object();
		put_str(o, "name", p->name);
		put_str(o, "id_type", p->id_type);
		put_str(o, "id_number", p->id_number);
		put_str(o, "sex", p->sex);
		put_str(o, "birth_date", p->birth_date);
		put_str(o, "phone", p->phone);
		put_strs(o, "addresses", p->addresses, p->n_addresses);
		put_str(o, "employer", p->employer);
		put_strs(o, "groups", p->groups, p->n_groups);
		json_object_set_new(root, "applicant", o);
	}
	if (a->proxy) {
		o = json_object();
		put_str(o, "name", a->proxy->name);
		put_str(o, "id_type", a->proxy->id_type);
		put_str(o, "id_number", a->proxy->id_number);
		put_str(o, "phone", a->proxy->phone);
		put_str(o, "relationship", a->proxy->relationship);
		put_str(o, "authority", a->proxy->authority);
		json_object_set_new(root, "proxy", o);
	}
	if (a->matter) {
		const Referral__V1__Matter *m = a->matter;
		json_t *ops = json_array();
		o = json_object();
		put_str(o, "service", m->service);
		put_str(o, "case_type", m->case_type);
		put_str(o, "applicant_role", m->applicant_role);
		put_str(o, "stage", m->stage);
		put_str(o, "handling_body", m->handling_body);
		put_str(o, "handling_case_no", m->handling_case_no);
		if (m->handling_division[0])
			put_str(o, "handling_division", m->handling_division);
		for (size_t i = 0; i < m->n_opposing_parties; i++) {
			json_t *p = json_object();
			put_str(p, "name", m->opposing_parties[i]->name);
			put_str(p, "kind", m->opposing_parties[i]->kind);
			json_array_append_new(ops, p);
		}
		json_object_set_new(o, "opposing_parties", ops);
		put_yuan(o, "claim_amount_yuan", m->claim_amount_fen);
		put_str(o, "limitation_deadline", m->limitation_deadline);
		put_strs(o, "urgency", m->urgency, m->n_urgency);
		put_str(o, "summary", m->summary);
		json_object_set_new(root, "matter", o);
	}
	if (a->means) {
		o = json_object();
		put_str(o, "path", a->means->path);
		put_str(o, "category", a->means->category);
		put_str(o, "residence", a->means->residence);
		put_yuan(o, "household_income_yuan", a->means->household_income_fen);
		if (a->means->household_size)
			json_object_set_new(o, "household_size",
					    json_integer(a->means->household_size));
		put_yuan(o, "threshold_yuan", a->means->threshold_fen);
		json_object_set_new(root, "means", o);
	}
	docs = json_array();
	for (size_t i = 0; i < a->n_documents; i++) {
		const Referral__V1__Document *d = a->documents[i];
		char hex[65];
		o = json_object();
		put_str(o, "type", d->type);
		put_str(o, "name", d->name);
		if (d->sha256.len == 32) {
			util_hex(d->sha256.data, 32, hex);
			json_object_set_new(o, "sha256", json_string(hex));
		}
		json_object_set_new(o, "size", json_integer((json_int_t)d->size));
		json_object_set_new(o, "inline", json_boolean(d->content.len > 0));
		put_str(o, "reference", d->reference);
		json_array_append_new(docs, o);
	}
	json_object_set_new(root, "documents", docs);
	if (a->consent) {
		o = json_object();
		json_object_set_new(o, "cross_county_transfer",
				    json_boolean(a->consent->cross_county_transfer));
		put_str(o, "signed_at", a->consent->signed_at);
		put_str(o, "method", a->consent->method);
		json_object_set_new(root, "consent", o);
	}
	return root;
}

int application_priority(const Referral__V1__ReferralSubmit *a)
{
	static const char *const green[] = { "migrant_worker", "disabled",
		"veteran", "elderly", "minor", NULL };

	if (a->matter && a->matter->n_urgency)
		return 2;
	/* Art 44: a limitation period ending within 7 days is urgent too. */
	if (a->matter && a->matter->limitation_deadline[0]) {
		char ts[32];
		uint64_t due;
		/* The end of that day in Beijing (UTC+8). */
		snprintf(ts, sizeof(ts), "%.10sT15:59:59Z",
			 a->matter->limitation_deadline);
		if (util_rfc3339_parse(ts, &due) == 0 &&
		    due <= util_now_ms() + 7 * 86400000ULL)
			return 2;
	}
	for (size_t i = 0; a->applicant && i < a->applicant->n_groups; i++)
		if (in_list(a->applicant->groups[i], green))
			return 1;
	return 0;
}

const char *application_example(void)
{
	/* An invented person: the name, ID number (all-zero sequence part)
	 * and phone number belong to no one. */
	return
"{\n"
"  \"origin_reference\": \"SS-2026-0142\",\n"
"  \"intake_officer\": \"staff-0107\",\n"
"  \"applicant\": {\n"
"    \"name\": \"陈示例\",\n"
"    \"id_type\": \"resident_id\",\n"
"    \"id_number\": \"350581199003070000\",\n"
"    \"sex\": \"female\",\n"
"    \"birth_date\": \"1990-03-07\",\n"
"    \"phone\": \"13800000000\",\n"
"    \"addresses\": [\"石狮市示例路1号\"],\n"
"    \"employer\": \"晋江示例鞋业有限公司\",\n"
"    \"groups\": [\"migrant_worker\", \"woman\"]\n"
"  },\n"
"  \"matter\": {\n"
"    \"service\": \"labour_arbitration\",\n"
"    \"case_type\": \"labour\",\n"
"    \"applicant_role\": \"claimant\",\n"
"    \"stage\": \"pre_litigation\",\n"
"    \"handling_body\": \"晋江市劳动人事争议仲裁委员会\",\n"
"    \"opposing_parties\": [{\"name\": \"晋江示例鞋业有限公司\", \"kind\": \"organisation\"}],\n"
"    \"claim_amount_yuan\": 38600.5,\n"
"    \"limitation_deadline\": \"2027-06-30\",\n"
"    \"summary\": \"Unpaid wages for March to August; the employer is in Jinjiang.\"\n"
"  },\n"
"  \"means\": {\n"
"    \"path\": \"exempt\",\n"
"    \"category\": \"migrant_worker_wages\",\n"
"    \"household_income_yuan\": 2100,\n"
"    \"household_size\": 3,\n"
"    \"threshold_yuan\": 1780\n"
"  },\n"
"  \"documents\": [\n"
"    {\"type\": \"id_card_copy\", \"name\": \"id-card.txt\", \"content_base64\": \"SU5WRU5URUQgVEVTVCBET0NVTUVOVAo=\"},\n"
"    {\"type\": \"wage_records\", \"name\": \"wages.txt\", \"content_base64\": \"TWFyY2gtQXVndXN0OiB1bnBhaWQK\"}\n"
"  ],\n"
"  \"consent\": {\"cross_county_transfer\": true, \"signed_at\": \"2026-11-28T09:00:00Z\", \"method\": \"written\"}\n"
"}\n";
}
