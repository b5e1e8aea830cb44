/* deadline.c: see deadline.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "deadline.h"
#include "errors.h"

struct calendar {
	int64_t *holidays, *workdays;
	size_t n_holidays, n_workdays;
};

static int64_t floor_div(int64_t a, int64_t b)
{
	return a >= 0 ? a / b : -((-a + b - 1) / b);
}

int64_t deadline_local_day(uint64_t ms)
{
	return floor_div((int64_t)ms + DEADLINE_TZ_MS, DEADLINE_DAY_MS);
}

static bool listed(const int64_t *v, size_t n, int64_t day)
{
	for (size_t i = 0; i < n; i++)
		if (v[i] == day)
			return true;
	return false;
}

bool calendar_rest_day(const calendar_t *c, int64_t day)
{
	/* 1970-01-01 was a Thursday: day 0 -> weekday 4 (0 = Sunday). */
	int64_t wd = ((day % 7) + 7 + 4) % 7;

	if (c && listed(c->holidays, c->n_holidays, day))
		return true;
	if (c && listed(c->workdays, c->n_workdays, day))
		return false;
	return wd == 0 || wd == 6;
}

int64_t deadline_due_day(const calendar_t *c, int64_t start_day, int days)
{
	int64_t last = start_day + days;

	while (calendar_rest_day(c, last))
		last++;
	return last;
}

uint64_t deadline_due(const calendar_t *c, uint64_t start_ms, int days)
{
	int64_t last = deadline_due_day(c, deadline_local_day(start_ms), days);

	/* 24:00 of the last local day, as Unix ms. */
	return (uint64_t)((last + 1) * DEADLINE_DAY_MS - DEADLINE_TZ_MS);
}

static int year_of(int64_t day)
{
	time_t t = (time_t)(day * 86400);
	struct tm tm;

	gmtime_r(&t, &tm);
	return tm.tm_year + 1900;
}

bool calendar_covers(const calendar_t *c, int year)
{
	if (!c)
		return false;
	for (size_t i = 0; i < c->n_holidays; i++)
		if (year_of(c->holidays[i]) == year)
			return true;
	for (size_t i = 0; i < c->n_workdays; i++)
		if (year_of(c->workdays[i]) == year)
			return true;
	return false;
}

int calendar_missing_year(const calendar_t *c, uint64_t now_ms)
{
	time_t t = (time_t)(deadline_local_day(now_ms) * 86400);
	struct tm tm;

	gmtime_r(&t, &tm);
	if (!calendar_covers(c, tm.tm_year + 1900))
		return tm.tm_year + 1900;
	if (tm.tm_mon == 11 && !calendar_covers(c, tm.tm_year + 1901))
		return tm.tm_year + 1901;
	return 0;
}

int64_t deadline_day_of(int y, int m, int d)
{
	struct tm tm = { .tm_year = y - 1900, .tm_mon = m - 1, .tm_mday = d,
			 .tm_hour = 12 };
	struct tm back;
	time_t t;

	if (y < 1970 || y > 9999 || m < 1 || m > 12 || d < 1 || d > 31)
		return -1;
	t = timegm(&tm);
	gmtime_r(&t, &back);
	if (back.tm_mday != d || back.tm_mon != m - 1)
		return -1;
	return (int64_t)(t / 86400);
}

int deadline_days_used(uint64_t start_ms, uint64_t at_ms)
{
	int64_t d = deadline_local_day(at_ms) - deadline_local_day(start_ms);
	return d < 0 ? 0 : (int)d;
}

static int add(int64_t **v, size_t *n, int64_t day)
{
	int64_t *nv = realloc(*v, (*n + 1) * sizeof(**v));

	if (!nv)
		return -ENOMEM;
	nv[(*n)++] = day;
	*v = nv;
	return 0;
}

int calendar_parse(const char *text, calendar_t **ret, char *err,
		   size_t errlen)
{
	calendar_t *c = calloc(1, sizeof(*c));
	const char *p = text;
	int line = 0, r = 0;

	if (!c)
		return -ENOMEM;
	while (*p) {
		const char *eol = strchr(p, '\n');
		size_t len = eol ? (size_t)(eol - p) : strlen(p);
		char buf[128], kind[32] = "";
		int y, m, d, n = 0;

		line++;
		if (len >= sizeof(buf)) {
			snprintf(err, errlen, "line %d is too long", line);
			r = REF_E_CONFIG;
			break;
		}
		memcpy(buf, p, len);
		buf[len] = '\0';
		p += len + (eol ? 1 : 0);
		{
			char *hash = strchr(buf, '#');
			if (hash)
				*hash = '\0';
		}
		if (strspn(buf, " \t\r") == strlen(buf))
			continue;
		if (sscanf(buf, " %4d-%2d-%2d %31s %n", &y, &m, &d, kind, &n) != 4 ||
		    buf[n] != '\0' || m < 1 || m > 12 || d < 1 || d > 31 ||
		    (strcmp(kind, "holiday") && strcmp(kind, "workday"))) {
			snprintf(err, errlen, "line %d: expected \"YYYY-MM-DD "
				 "holiday\" or \"YYYY-MM-DD workday\"", line);
			r = REF_E_CONFIG;
			break;
		}
		/* Days are counted from 1970 (a date before it would land on
		 * the wrong day), and no deadline runs that far back. */
		if (y < 1970) {
			snprintf(err, errlen, "line %d: %04d is before 1970",
				 line, y);
			r = REF_E_CONFIG;
			break;
		}
		{
			struct tm tm = { .tm_year = y - 1900, .tm_mon = m - 1,
					 .tm_mday = d, .tm_hour = 12 };
			time_t t = timegm(&tm);
			struct tm back;
			gmtime_r(&t, &back);
			if (back.tm_mday != d) {
				snprintf(err, errlen, "line %d: %04d-%02d-%02d "
					 "is not a date", line, y, m, d);
				r = REF_E_CONFIG;
				break;
			}
			r = kind[0] == 'h'
				? add(&c->holidays, &c->n_holidays, t / 86400)
				: add(&c->workdays, &c->n_workdays, t / 86400);
			if (r)
				break;
		}
	}
	if (r) {
		calendar_free(&c);
		return r;
	}
	*ret = c;
	return 0;
}

void calendar_free(calendar_t **cp)
{
	calendar_t *c = cp ? *cp : NULL;

	if (!c)
		return;
	free(c->holidays);
	free(c->workdays);
	free(c);
	*cp = NULL;
}
