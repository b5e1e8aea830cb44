/* test-lifecycle.c: the lifecycle table (every DOMAIN.md edge, who may
 * move it, what it needs) and the Civil Code day counting, table-driven. */
#include <stdlib.h>
#include <string.h>

#include "../proto/testutil.h"
#include "clocks.h"
#include "deadline.h"
#include "eligibility.h"
#include "errors.h"
#include "application.h"
#include "history.h"
#include "lawmoves.h"
#include "lifecycle.h"
#include "referrals.h"
#include "util.h"

static uint64_t at(const char *rfc3339)
{
	uint64_t ms = 0;
	CHECK(util_rfc3339_parse(rfc3339, &ms) == 0);
	return ms;
}

static void test_edges(void)
{
	static const struct {
		lc_state_t from, to;
		bool aid_first;
		unsigned parties, needs;
	} t[] = {
		{ LC_REQUESTED, LC_RECEIVED, false, LC_RECEIVER, 0 },
		{ LC_RECEIVED, LC_AWAITING_MATERIALS, false, LC_RECEIVER, LC_NEEDS_ITEMS },
		{ LC_AWAITING_MATERIALS, LC_RECEIVED, false, LC_ORIGIN, 0 },
		{ LC_AWAITING_MATERIALS, LC_WITHDRAWN, false, LC_RECEIVER, LC_NEEDS_REASON },
		{ LC_RECEIVED, LC_REFERRED_ONWARD, false, LC_RECEIVER, LC_NEEDS_REASON | LC_NEEDS_ONWARD },
		{ LC_RECEIVED, LC_GRANTED, false, LC_RECEIVER, 0 },
		{ LC_RECEIVED, LC_DENIED, false, LC_RECEIVER, LC_NEEDS_REASON | LC_NEEDS_BASIS },
		{ LC_AWAITING_MATERIALS, LC_GRANTED, true, LC_RECEIVER, LC_NEEDS_REASON },
		{ LC_AWAITING_MATERIALS, LC_GRANTED, false, 0, 0 },
		{ LC_GRANTED, LC_ASSIGNED, false, LC_RECEIVER, LC_NEEDS_ASSIGNMENT },
		{ LC_ASSIGNED, LC_IN_PROGRESS, false, LC_RECEIVER, 0 },
		/* The lawyer replaced: same state, a new assignment and why. */
		{ LC_ASSIGNED, LC_ASSIGNED, false, LC_RECEIVER,
		  LC_NEEDS_ASSIGNMENT | LC_NEEDS_REASON },
		{ LC_IN_PROGRESS, LC_IN_PROGRESS, false, LC_RECEIVER,
		  LC_NEEDS_ASSIGNMENT | LC_NEEDS_REASON },
		{ LC_GRANTED, LC_GRANTED, false, 0, 0 },
		{ LC_IN_PROGRESS, LC_ON_HOLD, false, LC_RECEIVER, LC_NEEDS_REASON },
		{ LC_ON_HOLD, LC_IN_PROGRESS, false, LC_RECEIVER, 0 },
		{ LC_IN_PROGRESS, LC_TERMINATED, false, LC_RECEIVER, LC_NEEDS_REASON },
		{ LC_IN_PROGRESS, LC_CLOSED, false, LC_RECEIVER, LC_NEEDS_REPORT },
		/* The file review (结案审查); closing.c checks its content. */
		{ LC_CLOSED, LC_REVIEWED, false, LC_RECEIVER, 0 },
		{ LC_TERMINATED, LC_REVIEWED, false, 0, 0 },
		{ LC_DENIED, LC_OBJECTION, false, LC_BUREAU, LC_NEEDS_REASON },
		{ LC_TERMINATED, LC_OBJECTION, false, LC_BUREAU, LC_NEEDS_REASON },
		{ LC_OBJECTION, LC_UPHELD, false, LC_BUREAU, 0 },
		{ LC_OBJECTION, LC_GRANTED, false, LC_BUREAU, 0 },
		{ LC_REQUESTED, LC_CANCELLED, false, LC_ORIGIN | LC_RECEIVER, LC_NEEDS_REASON },
		{ LC_ASSIGNED, LC_CANCELLED, false, LC_ORIGIN | LC_RECEIVER, LC_NEEDS_REASON },
		/* Not edges. */
		{ LC_IN_PROGRESS, LC_CANCELLED, false, 0, 0 },
		{ LC_RECEIVED, LC_ASSIGNED, false, 0, 0 },
		{ LC_CLOSED, LC_IN_PROGRESS, false, 0, 0 },
		{ LC_DENIED, LC_GRANTED, false, 0, 0 },
		{ LC_REQUESTED, LC_GRANTED, false, 0, 0 },
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		unsigned needs = 99;
		unsigned p = lc_edge(t[i].from, t[i].to, t[i].aid_first, &needs);
		if (p != t[i].parties)
			fprintf(stderr, "edge %s -> %s\n", lc_state_name(t[i].from),
				lc_state_name(t[i].to));
		CHECK_EQ_INT(p, t[i].parties);
		if (p)
			CHECK_EQ_INT(needs, t[i].needs);
	}
	for (int s = 1; s < LC__MAX; s++)
		CHECK_EQ_INT(lc_state_from_name(lc_state_name((lc_state_t)s)), s);
	CHECK_EQ_INT(lc_state_from_name("granted"), LC_NONE);
	CHECK(!lc_final(LC_CLOSED) && lc_final(LC_REVIEWED));
	CHECK(lc_final(LC_UPHELD) && lc_final(LC_CANCELLED) &&
	      lc_final(LC_WITHDRAWN) && lc_final(LC_REFERRED_ONWARD));
	CHECK(!lc_final(LC_DENIED) && !lc_final(LC_ON_HOLD));
	{
		char buf[200];
		lc_moves_from(LC_RECEIVED, LC_RECEIVER, buf, sizeof(buf));
		CHECK(strstr(buf, "GRANTED") && strstr(buf, "DENIED") &&
		      strstr(buf, "AWAITING_MATERIALS") && !strstr(buf, "ASSIGNED"));
		lc_moves_from(LC_CLOSED, 0, buf, sizeof(buf));
		CHECK(!strcmp(buf, "REVIEWED"));
		lc_moves_from(LC_REVIEWED, 0, buf, sizeof(buf));
		CHECK(strstr(buf, "final") != NULL);
	}
}

static const char *const national_day =
	"# 2026 National Day (invented for tests)\n"
	"2026-10-01 holiday\n2026-10-02 holiday\n2026-10-03 holiday\n"
	"2026-10-04 holiday\n2026-10-05 holiday\n2026-10-06 holiday\n"
	"2026-10-07 holiday\n"
	"2026-10-10 workday   # an adjusted working Saturday\n";

static void test_deadlines(void)
{
	calendar_t *cal = NULL;
	char err[200];
	static const struct {
		const char *start;
		int days;
		bool with_calendar;
		const char *due; /* UTC: local 24:00 is 16:00Z */
	} t[] = {
		/* Monday + 7 days = Monday: a working day. */
		{ "2026-11-23T02:00:00Z", 7, false, "2026-11-30T16:00:00Z" },
		/* The start day is not counted, late at night or not. */
		{ "2026-11-23T15:59:00Z", 7, false, "2026-11-30T16:00:00Z" },
		/* 16:00Z is already the next local day. */
		{ "2026-11-23T16:00:00Z", 7, false, "2026-12-01T16:00:00Z" },
		/* Wednesday + 3 = Saturday: moves to Monday. */
		{ "2026-11-25T03:00:00Z", 3, false, "2026-11-30T16:00:00Z" },
		/* Friday + 3 = Monday. */
		{ "2026-11-27T03:00:00Z", 3, false, "2026-11-30T16:00:00Z" },
		/* Across the year. */
		{ "2026-12-31T03:00:00Z", 5, false, "2027-01-05T16:00:00Z" },
		/* Monday 28 Sep + 7 = Monday 5 Oct, inside the holiday: 8 Oct. */
		{ "2026-09-28T03:00:00Z", 7, true, "2026-10-08T16:00:00Z" },
		/* Without the calendar the same period ends on 5 Oct. */
		{ "2026-09-28T03:00:00Z", 7, false, "2026-10-05T16:00:00Z" },
		/* Ends on the adjusted working Saturday: it stays. */
		{ "2026-10-07T03:00:00Z", 3, true, "2026-10-10T16:00:00Z" },
		/* Ends Sunday 11 Oct, a rest day: Monday 12 Oct. */
		{ "2026-10-08T03:00:00Z", 3, true, "2026-10-12T16:00:00Z" },
	};

	CHECK(calendar_parse(national_day, &cal, err, sizeof(err)) == 0);
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		uint64_t due = deadline_due(t[i].with_calendar ? cal : NULL,
					    at(t[i].start), t[i].days);
		char got[32];
		util_rfc3339(due, got);
		if (due != at(t[i].due))
			fprintf(stderr, "start %s + %d: got %s, want %s\n",
				t[i].start, t[i].days, got, t[i].due);
		CHECK(due == at(t[i].due));
	}
	CHECK_EQ_INT(deadline_days_used(at("2026-11-25T02:00:00Z"),
					at("2026-11-27T01:00:00Z")), 2);
	CHECK_EQ_INT(deadline_days_used(at("2026-11-25T02:00:00Z"),
					at("2026-11-25T09:00:00Z")), 0);
	calendar_free(&cal);
	CHECK(cal == NULL);

	{
		static const struct { const char *text; const char *needle; } bad[] = {
			{ "2026-10-01 holiday\n2026-10-02 feast\n", "line 2" },
			{ "2026-13-01 holiday\n", "line 1" },
			{ "2026-02-30 holiday\n", "not a date" },
			{ "\n\n# ok\n2026/10/01 holiday\n", "line 4" },
			{ "2026-10-01 holiday extra\n", "line 1" },
			{ "2026-10-01 holiday\n1969-12-31 holiday\n", "before 1970" },
		};
		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			err[0] = '\0';
			CHECK_EQ_INT(calendar_parse(bad[i].text, &cal, err,
						    sizeof(err)), REF_E_CONFIG);
			if (!strstr(err, bad[i].needle))
				fprintf(stderr, "calendar error \"%s\" lacks \"%s\"\n",
					err, bad[i].needle);
			CHECK(strstr(err, bad[i].needle) != NULL);
			CHECK(cal == NULL);
		}
	}
}

static const clock_info_t *find(const clock_info_t *c, size_t n,
			       const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(c[i].name, name))
			return &c[i];
	return NULL;
}

static void test_clocks(void)
{
	clock_info_t c[8];
	size_t n;
	const clock_info_t *k;
	/* Received Monday 23 Nov; notice Wednesday 25 (2 days used); the
	 * supplement Monday 30: 5 days left from then -> Saturday 5 Dec,
	 * a rest day -> Monday 7 Dec. */
	clock_step_t h[] = {
		{ LC_REQUESTED, at("2026-11-23T01:00:00Z") },
		{ LC_RECEIVED, at("2026-11-23T02:00:00Z") },
		{ LC_AWAITING_MATERIALS, at("2026-11-25T02:00:00Z") },
		{ LC_RECEIVED, at("2026-11-30T02:00:00Z") },
		{ LC_GRANTED, at("2026-12-01T02:00:00Z") },
		{ LC_ASSIGNED, at("2026-12-02T02:00:00Z") },
		{ LC_IN_PROGRESS, at("2026-12-03T02:00:00Z") },
	};

	n = clocks_compute(h, 2, NULL, 15, c, 8);
	k = find(c, n, "review");
	CHECK(n == 1 && k && k->status == CLOCK_RUNNING &&
	      k->due_ms == at("2026-11-30T16:00:00Z"));
	n = clocks_compute(h, 3, NULL, 15, c, 8);
	k = find(c, n, "review");
	CHECK(k && k->status == CLOCK_PAUSED && k->days_left == 5);
	k = find(c, n, "materials");
	CHECK(k && k->status == CLOCK_RUNNING &&
	      k->due_ms == at("2026-12-10T16:00:00Z"));
	n = clocks_compute(h, 4, NULL, 15, c, 8);
	k = find(c, n, "review");
	CHECK(n == 1 && k && k->status == CLOCK_RUNNING &&
	      k->due_ms == at("2026-12-07T16:00:00Z"));
	n = clocks_compute(h, 5, NULL, 15, c, 8);
	k = find(c, n, "assignment");
	CHECK(n == 1 && k && k->due_ms == at("2026-12-04T16:00:00Z"));
	n = clocks_compute(h, 6, NULL, 15, c, 8);
	k = find(c, n, "agreement");
	CHECK(n == 1 && k && k->due_ms == at("2026-12-07T16:00:00Z"));
	n = clocks_compute(h, 7, NULL, 15, c, 8);
	CHECK_EQ_INT(n, 0);
	{
		clock_step_t o[] = {
			{ LC_RECEIVED, at("2026-11-23T02:00:00Z") },
			{ LC_DENIED, at("2026-11-24T02:00:00Z") },
			{ LC_OBJECTION, at("2026-11-25T02:00:00Z") },
		};
		n = clocks_compute(o, 3, NULL, 15, c, 8);
		k = find(c, n, "objection");
		CHECK(n == 1 && k && k->due_ms == at("2026-11-30T16:00:00Z"));
		n = clocks_compute(o, 2, NULL, 15, c, 8);
		CHECK_EQ_INT(n, 0);
	}
	{
		/* A notice sent after the review fell due (Nov 30) does not
		 * pause it: it stays running, still past due, and the
		 * supplement does not restart it (一次性告知). */
		clock_step_t o[] = {
			{ LC_RECEIVED, at("2026-11-23T02:00:00Z") },
			{ LC_AWAITING_MATERIALS, at("2026-12-02T02:00:00Z") },
			{ LC_RECEIVED, at("2026-12-04T02:00:00Z") },
		};
		n = clocks_compute(o, 2, NULL, 15, c, 8);
		k = find(c, n, "review");
		CHECK(k && k->status == CLOCK_RUNNING &&
		      k->due_ms == at("2026-11-30T16:00:00Z"));
		CHECK(find(c, n, "materials") != NULL);
		n = clocks_compute(o, 3, NULL, 15, c, 8);
		k = find(c, n, "review");
		CHECK(n == 1 && k && k->status == CLOCK_RUNNING &&
		      k->due_ms == at("2026-11-30T16:00:00Z"));
	}
}

static void test_rules(void)
{
	static const char *const pack =
		"[hardship]\nthreshold_yuan = 1780\n"
		"[exempt]\ncategories = migrant_worker_wages, minimum_allowance\n"
		"[no_condition]\ncategories = domestic_violence\n"
		"[commitment]\naccepted = yes\n";
	static const struct {
		const char *path, *category;
		int64_t income_fen;
		uint32_t size;
		const char *outcome, *rule;
	} t[] = {
		{ "full_check", "", 300000, 3, "eligible", "income per head 1000.00 yuan below the threshold of 1780.00" },
		{ "full_check", "", 600000, 3, "review", "not below" },
		{ "full_check", "", 534000, 3, "review", "1780.00 yuan not below" },
		{ "full_check", "", 533997, 3, "eligible", "below" },
		{ "full_check", "", 300000, 0, "review", "household size missing" },
		{ "exempt", "migrant_worker_wages", 900000, 1, "eligible", "exempt from the means test" },
		{ "exempt", "soldier", 0, 1, "review", "not in this county's list" },
		{ "no_condition", "domestic_violence", 900000, 2, "eligible", "Art 32" },
		{ "commitment", "", 0, 1, "eligible", "Art 41" },
	};
	rules_t *r = NULL;
	char err[200], rule[200];
	const char *out;

	Referral__V1__Matter labour = REFERRAL__V1__MATTER__INIT;

	labour.case_type = "labour";
	CHECK(rules_parse(pack, &r, err, sizeof(err)) == 0);
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		Referral__V1__Means m = REFERRAL__V1__MEANS__INIT;
		m.path = (char *)t[i].path;
		m.category = (char *)t[i].category;
		m.household_income_fen = t[i].income_fen;
		m.household_size = t[i].size;
		rules_recommend(r, &m, &labour, &out, rule, sizeof(rule));
		if (strcmp(out, t[i].outcome) || !strstr(rule, t[i].rule))
			fprintf(stderr, "applicant %zu: %s / %s\n", i, out, rule);
		CHECK(!strcmp(out, t[i].outcome));
		CHECK(strstr(rule, t[i].rule) != NULL);
	}
	rules_free(&r);
	rules_recommend(NULL, NULL, NULL, &out, rule, sizeof(rule));
	CHECK(!strcmp(out, "review"));
	{
		static const struct { const char *text, *needle; } bad[] = {
			{ "[hardship]\nthreshold_yuan = lots\n", "line 2" },
			{ "[hardship]\nthreshold_yuan = 1\n[exempt]\nkinds = x\n", "line 4" },
			{ "[exempt]\ncategories = a\n", "_rural_yuan lines, is required" },
			{ "[hardship]\nthreshold_yuan = 1\n[commitment]\naccepted = maybe\n", "yes or no" },
			{ "[hardship\n", "line 1" },
			{ "[hardship]\nthreshold_yuan = 1\nminimum_allowance_urban_yuan = 2\n", "not both" },
			{ "[hardship]\nminimum_allowance_urban_yuan = 890\n", "minimum_allowance_rural_yuan is required" },
			{ "[hardship]\nminimum_allowance_urban_yuan = 890\nminimum_allowance_rural_yuan = 760\nmultiplier = 0\n", "more than 0" },
			{ "[hardship]\nminimum_allowance_urban_yuan = 890\nminimum_allowance_rural_yuan = 760\nmultiplier = 11\n", "multiplier from 0 to 10" },
		};
		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			err[0] = '\0';
			CHECK_EQ_INT(rules_parse(bad[i].text, &r, err, sizeof(err)),
				     REF_E_CONFIG);
			if (!strstr(err, bad[i].needle))
				fprintf(stderr, "rules error \"%s\" lacks \"%s\"\n",
					err, bad[i].needle);
			CHECK(strstr(err, bad[i].needle) != NULL);
		}
	}
}

/* Art 42 and the seed programme: the hardship line is twice the minimum
 * living allowance, urban or rural, and the migrant-worker exemption
 * covers wage and work-injury claims only. */
static void test_rules_lines(void)
{
	static const char *const pack =
		"[hardship]\nminimum_allowance_urban_yuan = 890\n"
		"minimum_allowance_rural_yuan = 760\nmultiplier = 2\n"
		"[exempt]\ncategories = migrant_worker_wages, minimum_allowance\n";
	static const struct {
		const char *path, *category, *residence, *case_type;
		int64_t income_fen;
		uint32_t size;
		const char *outcome, *rule;
	} t[] = {
		/* 1600 a head: under 2 x 890 (1780), not under 2 x 760 (1520). */
		{ "full_check", "", "urban", "labour", 480000, 3, "eligible",
		  "income per head 1600.00 yuan below the threshold of 1780.00 yuan (2 times the urban minimum living allowance of 890.00 yuan)" },
		{ "full_check", "", "rural", "labour", 480000, 3, "review",
		  "income per head 1600.00 yuan not below the threshold of 1520.00 yuan (2 times the rural minimum living allowance of 760.00 yuan)" },
		{ "full_check", "", "", "labour", 480000, 3, "review",
		  "means.residence (urban or rural) not stated; the minimum living allowance is 890.00 yuan urban, 760.00 yuan rural" },
		{ "exempt", "migrant_worker_wages", "", "labour", 900000, 1, "eligible", "exempt from the means test" },
		{ "exempt", "migrant_worker_wages", "", "epidemic_wage", 900000, 1, "eligible", "exempt from the means test" },
		{ "exempt", "migrant_worker_wages", "", "work_injury", 900000, 1, "eligible", "exempt from the means test" },
		{ "exempt", "migrant_worker_wages", "", "marriage_family", 900000, 1, "review",
		  "covers wage and work-injury claims only (Art 42); case type marriage_family needs the means test" },
		{ "exempt", "migrant_worker_wages", "", "lease", 900000, 1, "review", "Art 42" },
		{ "exempt", "minimum_allowance", "", "lease", 900000, 1, "eligible", "exempt from the means test" },
	};
	rules_t *r = NULL;
	char err[200], rule[200];
	const char *out;

	CHECK(rules_parse(pack, &r, err, sizeof(err)) == 0);
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		Referral__V1__Means m = REFERRAL__V1__MEANS__INIT;
		Referral__V1__Matter mt = REFERRAL__V1__MATTER__INIT;
		m.path = (char *)t[i].path;
		m.category = (char *)t[i].category;
		m.residence = (char *)t[i].residence;
		m.household_income_fen = t[i].income_fen;
		m.household_size = t[i].size;
		mt.case_type = (char *)t[i].case_type;
		rules_recommend(r, &m, &mt, &out, rule, sizeof(rule));
		if (strcmp(out, t[i].outcome) || !strstr(rule, t[i].rule))
			fprintf(stderr, "applicant %zu: %s / %s\n", i, out, rule);
		CHECK(!strcmp(out, t[i].outcome));
		CHECK(strstr(rule, t[i].rule) != NULL);
	}
	rules_free(&r);
	/* A pack listing its own case types replaces the default list. */
	CHECK(rules_parse("[hardship]\nthreshold_yuan = 1780\n[exempt]\n"
			  "categories = migrant_worker_wages\n"
			  "migrant_worker_case_types = work_injury\n",
			  &r, err, sizeof(err)) == 0);
	{
		Referral__V1__Means m = REFERRAL__V1__MEANS__INIT;
		Referral__V1__Matter mt = REFERRAL__V1__MATTER__INIT;
		m.path = "exempt";
		m.category = "migrant_worker_wages";
		mt.case_type = "labour";
		rules_recommend(r, &m, &mt, &out, rule, sizeof(rule));
		CHECK(!strcmp(out, "review"));
		mt.case_type = "work_injury";
		rules_recommend(r, &m, &mt, &out, rule, sizeof(rule));
		CHECK(!strcmp(out, "eligible"));
	}
	rules_free(&r);
}

static void test_priority(void)
{
	Referral__V1__ReferralSubmit a = REFERRAL__V1__REFERRAL_SUBMIT__INIT;
	Referral__V1__Matter m = REFERRAL__V1__MATTER__INIT;
	Referral__V1__Applicant p = REFERRAL__V1__APPLICANT__INIT;
	char *groups[] = { "veteran" }, *urgent[] = { "preservation" };
	char soon[16], later[16];
	uint64_t now = util_now_ms();
	char ts[32];

	a.matter = &m;
	a.applicant = &p;
	CHECK_EQ_INT(application_priority(&a), 0);
	p.groups = groups;
	p.n_groups = 1;
	CHECK_EQ_INT(application_priority(&a), 1);
	m.urgency = urgent;
	m.n_urgency = 1;
	CHECK_EQ_INT(application_priority(&a), 2);
	m.n_urgency = 0;
	util_rfc3339(now + 5 * 86400000ULL, ts);
	snprintf(soon, sizeof(soon), "%.10s", ts);
	util_rfc3339(now + 30 * 86400000ULL, ts);
	snprintf(later, sizeof(later), "%.10s", ts);
	m.limitation_deadline = soon;
	CHECK_EQ_INT(application_priority(&a), 2);
	m.limitation_deadline = later;
	CHECK_EQ_INT(application_priority(&a), 1);
}

/* The applicant-notified step's reason: a way from the list and a real
 * day; anything else is an ordinary reason. */
static void test_notified(void)
{
	CHECK_EQ_INT(lc_notified_reason("notified: post 2026-10-08"), 1);
	CHECK_EQ_INT(lc_notified_reason("notified: in-person 2028-02-29"), 1);
	CHECK_EQ_INT(lc_notified_reason("notified: sms 2026-12-31"), 1);
	CHECK_EQ_INT(lc_notified_reason("notified: pigeon 2026-10-08"), 0);
	CHECK_EQ_INT(lc_notified_reason("notified: post 2026-02-29"), 0);
	CHECK_EQ_INT(lc_notified_reason("notified: post 2026-13-01"), 0);
	CHECK_EQ_INT(lc_notified_reason("notified: post 2026-10-08 "), 0);
	CHECK_EQ_INT(lc_notified_reason("notified: post 26-10-08"), 0);
	CHECK_EQ_INT(lc_notified_reason("notified: post"), 0);
	CHECK_EQ_INT(lc_notified_reason("the lawyer moved away"), 0);
	CHECK_EQ_INT(lc_notified_reason(""), 0);
	CHECK_EQ_INT(lc_notified_reason(NULL), 0);
}

/* The rules beyond the table (lawmoves.c), as referrals_move_allowed
 * applies them on either node. */
static void test_law_rules(void)
{
	referral_rec_t rr = REFERRAL__STORE__V1__REFERRAL_RECORD__INIT;
	Referral__V1__StatusChange sc = REFERRAL__V1__STATUS_CHANGE__INIT;
	char why[400];

	rr.referral_id = "350581-0123456789abcdef0123456789abcdef";
	rr.state = "RECEIVED";
	/* The receiver cancels only to record a written withdrawal. */
	sc.state = "CANCELLED";
	sc.reason = "the centre will not take it (test)";
	CHECK_EQ_INT(referrals_move_allowed(&rr, &sc, LC_RECEIVER, why,
					    sizeof(why)), REF_E_REFUSED);
	CHECK(strstr(why, "own motion") != NULL);
	CHECK_EQ_INT(referrals_move_allowed(&rr, &sc, LC_ORIGIN, why,
					    sizeof(why)), 0);
	sc.withdrawal = "written";
	CHECK_EQ_INT(referrals_move_allowed(&rr, &sc, LC_RECEIVER, why,
					    sizeof(why)), 0);
	/* A further materials round needs a reason, and is marked. */
	{
		Referral__V1__StatusChange m = REFERRAL__V1__STATUS_CHANGE__INIT;
		char *items[] = { "bank statement" };
		m.state = "AWAITING_MATERIALS";
		m.missing_items = items;
		m.n_missing_items = 1;
		CHECK_EQ_INT(referrals_move_allowed(&rr, &m, LC_RECEIVER, why,
						    sizeof(why)), 0);
		rr.materials_round = 1;
		CHECK_EQ_INT(referrals_move_allowed(&rr, &m, LC_RECEIVER, why,
						    sizeof(why)), REF_E_INVALID);
		CHECK(strstr(why, "asked for once") != NULL);
		m.reason = "an account not declared (test)";
		CHECK_EQ_INT(referrals_move_allowed(&rr, &m, LC_RECEIVER, why,
						    sizeof(why)), 0);
		CHECK(!lawmoves_prepare(&rr, &m) && m.further_request);
	}
	/* The urgency finding: a ground, a reason, a centre's party. */
	{
		Referral__V1__StatusChange u = REFERRAL__V1__STATUS_CHANGE__INIT;
		u.state = "RECEIVED";
		u.urgency_ground = "soon";
		u.reason = "limitation in 5 days (test)";
		CHECK_EQ_INT(referrals_move_allowed(&rr, &u, LC_RECEIVER, why,
						    sizeof(why)), REF_E_INVALID);
		u.urgency_ground = "limitation";
		CHECK_EQ_INT(referrals_move_allowed(&rr, &u, LC_RECEIVER, why,
						    sizeof(why)), 0);
		CHECK_EQ_INT(referrals_move_allowed(&rr, &u, LC_ORIGIN, why,
						    sizeof(why)), 0);
		CHECK_EQ_INT(referrals_move_allowed(&rr, &u, LC_ADMIN, why,
						    sizeof(why)), REF_E_REFUSED);
		CHECK(history_finding(&u));
		rr.priority = 0;
		lawmoves_applied(&rr, &u);
		CHECK_EQ_INT(rr.priority, 2);
	}
	/* Aid first leaves materials owed; a supplement in the same state
	 * is the origin's only while they are. */
	{
		Referral__V1__StatusChange g = REFERRAL__V1__STATUS_CHANGE__INIT;
		Referral__V1__StatusChange s = REFERRAL__V1__STATUS_CHANGE__INIT;
		g.state = "GRANTED";
		g.aid_first = true;
		rr.state = "AWAITING_MATERIALS";
		lawmoves_applied(&rr, &g);
		CHECK(rr.materials_owed);
		rr.state = "GRANTED";
		s.state = "GRANTED";
		s.from_state = "GRANTED";
		s.supplement = true;
		CHECK_EQ_INT(referrals_move_allowed(&rr, &s, LC_RECEIVER, why,
						    sizeof(why)), REF_E_REFUSED);
		CHECK_EQ_INT(referrals_move_allowed(&rr, &s, LC_ORIGIN, why,
						    sizeof(why)), 0);
		CHECK(history_finding(&s));
		lawmoves_applied(&rr, &s);
		CHECK(!rr.materials_owed);
		CHECK_EQ_INT(referrals_move_allowed(&rr, &s, LC_ORIGIN, why,
						    sizeof(why)), REF_E_REFUSED);
		CHECK(strstr(why, "owes no materials") != NULL);
	}
}

/* At the origin, a move marked as its own matches one it asked for,
 * once. */
static void test_origin_asks(void)
{
	referral_rec_t *rr = calloc(1, sizeof(*rr));
	Referral__V1__StatusChange sc = REFERRAL__V1__STATUS_CHANGE__INIT;

	CHECK(rr != NULL);
	referral__store__v1__referral_record__init(rr);
	sc.state = "CANCELLED";
	sc.actor = "staff-0107";
	CHECK(!lawmoves_answer(rr, &sc));
	CHECK(!lawmoves_ask(rr, &sc, false));
	sc.actor = "staff-0999";
	CHECK(!lawmoves_answer(rr, &sc));
	sc.actor = "staff-0107";
	CHECK(lawmoves_answer(rr, &sc));
	CHECK(!lawmoves_answer(rr, &sc));
	/* Bounded: the oldest ask goes first. */
	for (int i = 0; i < 40; i++)
		CHECK(!lawmoves_ask(rr, &sc, false));
	CHECK(rr->n_origin_asks <= 16);
	for (size_t i = 0; i < rr->n_origin_asks; i++)
		free(rr->origin_asks[i]);
	free(rr->origin_asks);
	free(rr);
}

int main(void)
{
	test_notified();
	test_law_rules();
	test_origin_asks();
	test_priority();
	test_edges();
	test_deadlines();
	test_clocks();
	test_rules();
	test_rules_lines();
	return test_finish("lifecycle");
}
