/* test-calendar.c: the shipped holiday calendar (data/holidays-cn.txt,
 * given as argv[1]) with the deadline code the node counts with: DOMAIN.md's
 * three worked examples through deadline_due and through the clocks the
 * overdue sweep uses, the coverage rule, and local time in the tz
 * database's Asia/Shanghai. */
#include <stdlib.h>
#include <string.h>

#include "../proto/testutil.h"
#include "clocks.h"
#include "deadline.h"
#include "errors.h"
#include "tzlocal.h"
#include "util.h"

static uint64_t at(const char *rfc3339)
{
	uint64_t ms = 0;
	CHECK(util_rfc3339_parse(rfc3339, &ms) == 0);
	return ms;
}

static void ok(int good, const char *what)
{
	CHECK(good);
	printf("%s - %s\n", good ? "ok" : "not ok", what);
}

static const clock_info_t *find(const clock_info_t *c, size_t n,
				const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(c[i].name, name))
			return &c[i];
	return NULL;
}

static void test_examples(const calendar_t *cal)
{
	/* 24:00 Beijing time of a day is 16:00Z of the same date. */
	const uint64_t oct8 = at("2026-10-08T16:00:00Z");
	const uint64_t oct10 = at("2026-10-10T16:00:00Z");
	const uint64_t oct12 = at("2026-10-12T16:00:00Z");
	clock_info_t ck[8];
	size_t n;

	/* 1: received Friday 2026-09-25 (10:00 Beijing). */
	ok(deadline_due(cal, at("2026-09-25T02:00:00Z"), 7) == oct8,
	   "example 1: a 7-day review from Fri 2026-09-25 is due 2026-10-08");
	ok(deadline_due_day(cal, deadline_day_of(2026, 9, 25), 7) ==
	   deadline_day_of(2026, 10, 8), "example 1 by day number");
	{
		clock_step_t s[] = {
			{ LC_REQUESTED, at("2026-09-25T01:00:00Z") },
			{ LC_RECEIVED, at("2026-09-25T02:00:00Z") },
		};
		n = clocks_compute(s, 2, cal, 15, ck, 8);
		const clock_info_t *r = find(ck, n, "review");
		ok(r && r->status == CLOCK_RUNNING && r->due_ms == oct8,
		   "example 1: the review clock is due 2026-10-08 24:00");
	}
	/* 2: granted Wednesday 2026-10-07; Sat 10 Oct is a working day. */
	ok(deadline_due(cal, at("2026-10-07T03:00:00Z"), 3) == oct10,
	   "example 2: 3 days from Wed 2026-10-07 end on the make-up "
	   "working Saturday 2026-10-10");
	{
		clock_step_t s[] = {
			{ LC_RECEIVED, at("2026-10-05T02:00:00Z") },
			{ LC_GRANTED, at("2026-10-07T03:00:00Z") },
		};
		n = clocks_compute(s, 2, cal, 15, ck, 8);
		const clock_info_t *a = find(ck, n, "assignment");
		ok(a && a->status == CLOCK_RUNNING && a->due_ms == oct10,
		   "example 2: the assignment clock is due 2026-10-10 24:00");
	}
	/* 3: paused Tue 09-29 (4 days used), supplement relayed Fri 10-09. */
	{
		clock_step_t s[] = {
			{ LC_RECEIVED, at("2026-09-25T02:00:00Z") },
			{ LC_AWAITING_MATERIALS, at("2026-09-29T06:00:00Z") },
			{ LC_RECEIVED, at("2026-10-09T07:00:00Z") },
		};
		n = clocks_compute(s, 2, cal, 15, ck, 8);
		const clock_info_t *r = find(ck, n, "review");
		ok(r && r->status == CLOCK_PAUSED && r->days_left == 3,
		   "example 3: paused on 2026-09-29 with 3 days left");
		n = clocks_compute(s, 3, cal, 15, ck, 8);
		r = find(ck, n, "review");
		ok(r && r->status == CLOCK_RUNNING && r->due_ms == oct12,
		   "example 3: resumed 2026-10-09, the review is due Mon "
		   "2026-10-12");
	}
	/* The file's other facts, one from each kind of line. */
	ok(calendar_rest_day(cal, deadline_day_of(2025, 10, 8)) &&
	   !calendar_rest_day(cal, deadline_day_of(2025, 10, 11)) &&
	   !calendar_rest_day(cal, deadline_day_of(2026, 2, 28)) &&
	   calendar_rest_day(cal, deadline_day_of(2026, 2, 23)) &&
	   !calendar_rest_day(cal, deadline_day_of(2026, 9, 28)),
	   "2025 and 2026 holidays and make-up days as the notices say");
	/* Without the calendar the same review would end on Fri 2 Oct. */
	ok(deadline_due(NULL, at("2026-09-25T02:00:00Z"), 7) ==
	   at("2026-10-02T16:00:00Z"), "weekends only: example 1 would be "
	   "due 2026-10-02 (why the calendar ships)");
}

static void test_coverage(const calendar_t *cal)
{
	ok(calendar_covers(cal, 2025) && calendar_covers(cal, 2026) &&
	   !calendar_covers(cal, 2027) && !calendar_covers(NULL, 2026),
	   "the shipped file covers 2025 and 2026");
	ok(calendar_missing_year(cal, at("2026-06-01T00:00:00Z")) == 0,
	   "June 2026: nothing missing");
	ok(calendar_missing_year(cal, at("2026-11-30T15:59:00Z")) == 0,
	   "30 Nov 2026 (Beijing): next year not needed yet");
	ok(calendar_missing_year(cal, at("2026-11-30T16:00:00Z")) == 2027,
	   "1 Dec 2026 (Beijing): 2027 is missing");
	ok(calendar_missing_year(cal, at("2027-03-01T00:00:00Z")) == 2027,
	   "2027: the current year is missing");
	ok(calendar_missing_year(NULL, at("2026-06-01T00:00:00Z")) == 2026,
	   "no calendar: the current year is missing");
	CHECK_EQ_INT(deadline_day_of(2026, 2, 29), -1);
	CHECK_EQ_INT(deadline_day_of(1969, 12, 31), -1);
	CHECK_EQ_INT(deadline_day_of(1970, 1, 1), 0);
}

static void test_local_time(void)
{
	char t[32], d[16];

	ok(!tzlocal_valid("Asia/Nowhere") && !tzlocal_valid("../etc/passwd") &&
	   !tzlocal_valid("/usr/share/zoneinfo/UTC") && !tzlocal_valid("") &&
	   tzlocal_valid("Asia/Shanghai"), "time zones: only tz database "
	   "names");
	CHECK_EQ_INT(tzlocal_use("Asia/Nowhere"), REF_E_CONFIG);
	CHECK_EQ_INT(tzlocal_use("Asia/Shanghai"), 0);
	tzlocal_time(at("2026-10-08T16:30:00Z"), t);
	ok(!strcmp(t, "2026-10-09T00:30:00+08:00"),
	   "16:30Z prints as the next local day in Asia/Shanghai");
	tzlocal_day_ending(at("2026-10-08T16:00:00Z"), d);
	ok(!strcmp(d, "2026-10-08"), "a deadline at 16:00Z ends on the local "
	   "day before (24:00)");
	CHECK_EQ_INT(tzlocal_use("Europe/Berlin"), 0);
	tzlocal_time(at("2026-07-01T12:00:00Z"), t);
	ok(!strcmp(t, "2026-07-01T14:00:00+02:00"), "another zone's summer "
	   "time comes from the tz database");
}

int main(int argc, char **argv)
{
	calendar_t *cal = NULL;
	uint8_t *text;
	size_t len;
	char err[200] = "";

	if (argc < 2) {
		fprintf(stderr, "usage: test-calendar holidays-cn.txt\n");
		return 2;
	}
	CHECK(util_read_file(argv[1], 1 << 20, &text, &len) == 0);
	CHECK(calendar_parse((char *)text, &cal, err, sizeof(err)) == 0);
	free(text);
	if (!cal) {
		fprintf(stderr, "%s: %s\n", argv[1], err);
		return 1;
	}
	test_examples(cal);
	test_coverage(cal);
	test_local_time();
	calendar_free(&cal);
	return test_finish("calendar");
}
