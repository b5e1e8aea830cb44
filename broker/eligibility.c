/* eligibility.c: see eligibility.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ini.h>

#include "eligibility.h"
#include "errors.h"

#define MAX_CATS 64

struct rules {
	int64_t threshold_fen;
	bool has_threshold;
	/* The minimum living allowance lines and the multiplier: the
	 * hardship line is line * multiplier, so the recommendation can say
	 * which figures it compared. */
	int64_t urban_fen, rural_fen;
	bool has_urban, has_rural;
	int64_t multiplier_pct; /* 200 = 2 times */
	char migrant_types[MAX_CATS][48];
	size_t n_migrant_types;
	bool has_migrant_types;
	char exempt[MAX_CATS][48];
	size_t n_exempt;
	char no_condition[MAX_CATS][48];
	size_t n_no_condition;
	bool commitment;
};

struct parse {
	rules_t *r;
	char *err;
	size_t errlen;
	int failed;
};

static int split(const char *v, char (*out)[48], size_t *n)
{
	const char *p = v;

	*n = 0;
	while (*p) {
		size_t len;
		while (*p == ' ' || *p == ',')
			p++;
		len = strcspn(p, ", ");
		if (!len)
			break;
		if (*n == MAX_CATS || len >= 48)
			return -1;
		memcpy(out[*n], p, len);
		out[*n][len] = '\0';
		(*n)++;
		p += len;
	}
	return 0;
}

/* An amount of yuan, 0 to max, in hundredths. */
static int amount(struct parse *p, const char *name, const char *value,
		  double max, int64_t *ret)
{
	char *end;
	double y = strtod(value, &end);

	/* Written so that "nan" fails too: NaN compares false. */
	if (end == value || *end || !(y >= 0 && y <= max)) {
		snprintf(p->err, p->errlen, "[hardship] %s = \"%s\" is not %s",
			 name, value, max > 100 ? "an amount of yuan" :
			 "a multiplier from 0 to 10");
		p->failed = 1;
		return 0;
	}
	*ret = (int64_t)(y * 100 + 0.5);
	return 1;
}

static int on_value(void *user, const char *section, const char *name,
		    const char *value)
{
	struct parse *p = user;
	rules_t *r = p->r;

	if (p->failed)
		return 0;
	if (!strcmp(section, "hardship") && !strcmp(name, "threshold_yuan")) {
		r->has_threshold = true;
		return amount(p, name, value, 1e7, &r->threshold_fen);
	}
	if (!strcmp(section, "hardship") &&
	    !strcmp(name, "minimum_allowance_urban_yuan")) {
		r->has_urban = true;
		return amount(p, name, value, 1e7, &r->urban_fen);
	}
	if (!strcmp(section, "hardship") &&
	    !strcmp(name, "minimum_allowance_rural_yuan")) {
		r->has_rural = true;
		return amount(p, name, value, 1e7, &r->rural_fen);
	}
	if (!strcmp(section, "hardship") && !strcmp(name, "multiplier")) {
		if (!amount(p, name, value, 10, &r->multiplier_pct))
			return 0;
		if (r->multiplier_pct == 0) {
			snprintf(p->err, p->errlen, "[hardship] multiplier must "
				 "be more than 0");
			p->failed = 1;
			return 0;
		}
		return 1;
	}
	if (!strcmp(section, "exempt") &&
	    !strcmp(name, "migrant_worker_case_types")) {
		r->has_migrant_types = true;
		if (split(value, r->migrant_types, &r->n_migrant_types)) {
			snprintf(p->err, p->errlen, "[exempt] migrant_worker_"
				 "case_types: at most %d names of under 48 "
				 "bytes", MAX_CATS);
			p->failed = 1;
			return 0;
		}
		return 1;
	}
	if (!strcmp(name, "categories") &&
	    (!strcmp(section, "exempt") || !strcmp(section, "no_condition"))) {
		bool ex = !strcmp(section, "exempt");
		if (split(value, ex ? r->exempt : r->no_condition,
			  ex ? &r->n_exempt : &r->n_no_condition)) {
			snprintf(p->err, p->errlen, "[%s] categories: at most %d "
				 "names of under 48 bytes", section, MAX_CATS);
			p->failed = 1;
			return 0;
		}
		return 1;
	}
	if (!strcmp(section, "commitment") && !strcmp(name, "accepted")) {
		if (!strcmp(value, "yes") || !strcmp(value, "no")) {
			r->commitment = !strcmp(value, "yes");
			return 1;
		}
		snprintf(p->err, p->errlen, "[commitment] accepted must be yes "
			 "or no");
		p->failed = 1;
		return 0;
	}
	snprintf(p->err, p->errlen, "[%s] %s is not a rule this pack knows",
		 section, name);
	p->failed = 1;
	return 0;
}

int rules_parse(const char *text, rules_t **ret, char *err, size_t errlen)
{
	rules_t *r = calloc(1, sizeof(*r));
	struct parse p = { r, err, errlen, 0 };
	int line;

	if (!r)
		return -ENOMEM;
	r->multiplier_pct = 200;
	line = ini_parse_string(text, on_value, &p);
	if (!p.failed && line) {
		snprintf(err, errlen, "line %d does not parse as \"key = value\" "
			 "or \"[section]\"", line);
		p.failed = 1;
	} else if (p.failed && line > 0) {
		/* inih reports the line of the first handler refusal. */
		char inner[300];
		snprintf(inner, sizeof(inner), "%s", err);
		snprintf(err, errlen, "line %d: %s", line, inner);
	}
	if (!p.failed && r->has_threshold && (r->has_urban || r->has_rural)) {
		snprintf(err, errlen, "[hardship] give threshold_yuan or the "
			 "minimum_allowance_urban_yuan and _rural_yuan lines, "
			 "not both");
		p.failed = 1;
	}
	if (!p.failed && !r->has_threshold && r->has_urban != r->has_rural) {
		snprintf(err, errlen, "[hardship] minimum_allowance_%s_yuan is "
			 "required with minimum_allowance_%s_yuan",
			 r->has_urban ? "rural" : "urban",
			 r->has_urban ? "urban" : "rural");
		p.failed = 1;
	}
	if (!p.failed && !r->has_threshold && !r->has_urban) {
		snprintf(err, errlen, "[hardship] threshold_yuan, or the "
			 "minimum_allowance_urban_yuan and _rural_yuan lines, "
			 "is required");
		p.failed = 1;
	}
	if (!p.failed && !r->has_migrant_types) {
		static const char *const dflt[] = { "labour", "epidemic_wage",
						    "work_injury" };
		for (size_t i = 0; i < 3; i++)
			snprintf(r->migrant_types[i], 48, "%s", dflt[i]);
		r->n_migrant_types = 3;
	}
	if (p.failed) {
		free(r);
		return REF_E_CONFIG;
	}
	*ret = r;
	return 0;
}

void rules_free(rules_t **rp)
{
	if (rp) {
		free(*rp);
		*rp = NULL;
	}
}

static bool in(const char (*list)[48], size_t n, const char *v)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(list[i], v))
			return true;
	return false;
}

static void yuan(char *out, size_t len, int64_t fen)
{
	snprintf(out, len, "%lld.%02lld", (long long)(fen / 100),
		 (long long)(fen % 100));
}

void rules_recommend(const rules_t *r, const Referral__V1__Means *m,
		     const Referral__V1__Matter *matter,
		     const char **ret_outcome, char *rule, size_t len)
{
	*ret_outcome = "review";
	if (!r) {
		snprintf(rule, len, "no rule pack configured");
		return;
	}
	if (!m) {
		snprintf(rule, len, "the application states no means");
		return;
	}
	if (!strcmp(m->path, "exempt")) {
		const char *ct = matter && matter->case_type ?
				 matter->case_type : "";
		if (!in(r->exempt, r->n_exempt, m->category)) {
			snprintf(rule, len, "exempt category %.48s is not in this "
				 "county's list", m->category);
		} else if (!strncmp(m->category, "migrant_worker", 14) &&
			   !in(r->migrant_types, r->n_migrant_types, ct)) {
			/* Art 42: the migrant-worker exemption covers claims
			 * for wages and work-injury compensation only. */
			snprintf(rule, len, "exempt category %.48s covers wage "
				 "and work-injury claims only (Art 42); case "
				 "type %.48s needs the means test", m->category,
				 *ct ? ct : "(none)");
		} else {
			*ret_outcome = "eligible";
			snprintf(rule, len, "exempt from the means test: %s",
				 m->category);
		}
		return;
	}
	if (!strcmp(m->path, "no_condition")) {
		if (in(r->no_condition, r->n_no_condition, m->category)) {
			*ret_outcome = "eligible";
			snprintf(rule, len, "no hardship condition (Art 32): %s",
				 m->category);
		} else {
			snprintf(rule, len, "no-condition category %.48s is not "
				 "in this county's list", m->category);
		}
		return;
	}
	if (!strcmp(m->path, "commitment")) {
		if (r->commitment) {
			*ret_outcome = "eligible";
			snprintf(rule, len, "written commitment stands in for "
				 "hardship proof (Art 41)");
		} else {
			snprintf(rule, len, "this county does not accept a "
				 "commitment in place of proof");
		}
		return;
	}
	if (m->household_size == 0) {
		snprintf(rule, len, "full check: household size missing");
		return;
	}
	{
		int64_t per_head = m->household_income_fen / m->household_size;
		int64_t threshold = r->threshold_fen, line = 0;
		const char *res = m->residence ? m->residence : "";
		char a[32], b[32], c[32], how[160] = "";
		bool below;

		if (!r->has_threshold) {
			if (!strcmp(res, "urban") || !strcmp(res, "rural")) {
				line = !strcmp(res, "urban") ? r->urban_fen :
					r->rural_fen;
			} else if (r->urban_fen == r->rural_fen) {
				line = r->urban_fen;
				res = "urban and rural";
			} else {
				yuan(a, sizeof(a), r->urban_fen);
				yuan(b, sizeof(b), r->rural_fen);
				snprintf(rule, len, "full check: means.residence "
					 "(urban or rural) not stated; the "
					 "minimum living allowance is %s yuan "
					 "urban, %s yuan rural", a, b);
				return;
			}
			/* Rounded down to the fen: the line is never
			 * raised by rounding. */
			threshold = line * r->multiplier_pct / 100;
			yuan(a, sizeof(a), line);
			snprintf(b, sizeof(b), "%g",
				 (double)r->multiplier_pct / 100);
			snprintf(how, sizeof(how), " (%s times the %s minimum "
				 "living allowance of %s yuan)", b, res, a);
		}
		below = per_head < threshold;
		if (below)
			*ret_outcome = "eligible";
		yuan(c, sizeof(c), per_head);
		yuan(a, sizeof(a), threshold);
		snprintf(rule, len, "hardship: income per head %s yuan %s the "
			 "threshold of %s yuan%s", c,
			 below ? "below" : "not below", a, how);
	}
}
