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

static int on_value(void *user, const char *section, const char *name,
		    const char *value)
{
	struct parse *p = user;
	rules_t *r = p->r;

	if (p->failed)
		return 0;
	if (!strcmp(section, "hardship") && !strcmp(name, "threshold_yuan")) {
		char *end;
		double y = strtod(value, &end);
		/* Written so that "nan" fails too: NaN compares false. */
		if (end == value || *end || !(y >= 0 && y <= 1e7)) {
			snprintf(p->err, p->errlen, "[hardship] threshold_yuan = "
				 "\"%s\" is not an amount of yuan", value);
			p->failed = 1;
			return 0;
		}
		r->threshold_fen = (int64_t)(y * 100 + 0.5);
		r->has_threshold = true;
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
	if (!p.failed && !r->has_threshold) {
		snprintf(err, errlen, "[hardship] threshold_yuan is required");
		p.failed = 1;
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

void rules_recommend(const rules_t *r, const Referral__V1__Means *m,
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
		if (in(r->exempt, r->n_exempt, m->category)) {
			*ret_outcome = "eligible";
			snprintf(rule, len, "exempt from the means test: %s",
				 m->category);
		} else {
			snprintf(rule, len, "exempt category %.48s is not in this "
				 "county's list", m->category);
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
		bool below = per_head < r->threshold_fen;
		if (below)
			*ret_outcome = "eligible";
		snprintf(rule, len, "hardship: income per head %lld.%02lld yuan "
			 "%s the threshold of %lld.%02lld yuan",
			 (long long)(per_head / 100), (long long)(per_head % 100),
			 below ? "below" : "not below",
			 (long long)(r->threshold_fen / 100),
			 (long long)(r->threshold_fen % 100));
	}
}
