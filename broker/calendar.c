/* calendar.c: see calendar.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "calendar.h"
#include "calls.h"
#include "deadline.h"
#include "errors.h"
#include "log.h"
#include "tzlocal.h"
#include "util.h"

#ifndef REF_SHIPPED_CALENDAR
#define REF_SHIPPED_CALENDAR "/usr/local/share/referral/holidays-cn.txt"
#endif
#ifndef REF_SOURCE_CALENDAR
#define REF_SOURCE_CALENDAR ""
#endif

void calendar_file(const config_t *cfg, char *out, size_t len)
{
	if (!cfg->holidays[0]) {
		snprintf(out, len, "%s", "");
		return;
	}
	if (strcmp(cfg->holidays, "shipped")) {
		config_path(cfg, cfg->holidays, out, len);
		return;
	}
	/* Installed first: that is what a county's node runs. A build run
	 * from its tree (the tests) has only the source's copy. */
	if (access(REF_SHIPPED_CALENDAR, R_OK) == 0 || !REF_SOURCE_CALENDAR[0])
		snprintf(out, len, "%s", REF_SHIPPED_CALENDAR);
	else
		snprintf(out, len, "%s", REF_SOURCE_CALENDAR);
}

int calendar_load(node_t *n, char *err, size_t errlen)
{
	char path[1200], what[600];
	uint8_t *text;
	size_t tl;
	int r, missing;

	calendar_file(&n->cfg, path, sizeof(path));
	if (path[0]) {
		r = util_read_file(path, 1 << 20, &text, &tl);
		if (!r) {
			r = calendar_parse((char *)text, &n->calendar, what,
					   sizeof(what));
			free(text);
		} else {
			snprintf(what, sizeof(what), "%s", ref_strerror(r));
		}
		if (r) {
			snprintf(err, errlen, "refusing to start: the holiday "
				 "calendar %s ([deadlines] holidays): %s", path,
				 what);
			return r;
		}
	}
	missing = calendar_missing_year(n->calendar, util_now_ms());
	if (missing)
		log_msg(LOG_WARN, "calendar", "event=calendar_not_covered "
			"year=%d file=%s detail=\"the holiday calendar lacks "
			"%d: deadlines count weekends only there; add the "
			"State Council's notice for it ([deadlines] holidays)\"",
			missing, path[0] ? path : "none", missing);
	return 0;
}

static json_t *day_json(int64_t day)
{
	time_t t = (time_t)(day * 86400);
	struct tm tm;
	char s[16];

	gmtime_r(&t, &tm);
	snprintf(s, sizeof(s), "%04d-%02d-%02d", (tm.tm_year + 1900) % 10000,
		 (tm.tm_mon + 1) % 100, tm.tm_mday % 100);
	return json_string(s);
}

json_t *calendar_status(node_t *n)
{
	char path[1200];
	json_t *o = json_object(), *years = json_array();
	int missing = calendar_missing_year(n->calendar, util_now_ms());

	calendar_file(&n->cfg, path, sizeof(path));
	json_object_set_new(o, "file", json_string(path[0] ? path : "none"));
	/* Every year the file covers (a few dozen lines a year). */
	for (int y = 1970; y <= 2200 && n->calendar; y++)
		if (calendar_covers(n->calendar, y))
			json_array_append_new(years, json_integer(y));
	json_object_set_new(o, "years", years);
	if (missing) {
		char w[200];
		snprintf(w, sizeof(w), "the holiday calendar does not cover %d: "
			 "deadlines there count weekends only", missing);
		json_object_set_new(o, "missing_year", json_integer(missing));
		json_object_set_new(o, "warning", json_string(w));
	}
	return o;
}

int calendar_call_due(node_t *n, const principal_t *who,
		      const Referral__Local__V1__Request *req, json_t *opts,
		      Referral__Local__V1__Reply *rep, char *err, size_t errlen)
{
	const char *from = state_str(opts, "from");
	json_t *jd = json_object_get(opts, "days"), *o;
	int y, m, d, k = 0, days;
	int64_t start, nominal, due_day;
	uint64_t due_ms;
	char ts[32], path[1200];
	bool covered = true;

	(void)who, (void)req;
	if (sscanf(from, "%4d-%2d-%2d%n", &y, &m, &d, &k) != 3 ||
	    from[k] || strlen(from) != 10 ||
	    (start = deadline_day_of(y, m, d)) < 0) {
		return state_fail_reply(rep, REF_E_INVALID, err, errlen,
					"from = \"%s\" is not a date "
					"(YYYY-MM-DD, from 1970)", from);
	}
	if (!json_is_integer(jd) || json_integer_value(jd) < 1 ||
	    json_integer_value(jd) > 3650) {
		return state_fail_reply(rep, REF_E_INVALID, err, errlen,
					"days must be a whole number of days "
					"from 1 to 3650");
	}
	days = (int)json_integer_value(jd);
	nominal = start + days;
	due_day = deadline_due_day(n->calendar, start, days);
	due_ms = (uint64_t)((due_day + 1) * DEADLINE_DAY_MS - DEADLINE_TZ_MS);

	o = json_object();
	json_object_set_new(o, "from", json_string(from));
	json_object_set_new(o, "days", json_integer(days));
	json_object_set_new(o, "counting_from", day_json(start + 1));
	json_object_set_new(o, "last_counted_day", day_json(nominal));
	json_object_set_new(o, "due_day", day_json(due_day));
	json_object_set_new(o, "extended", json_boolean(due_day != nominal));
	tzlocal_json_time(o, "due", due_ms);
	tzlocal_time(due_ms, ts);
	json_object_set_new(o, "due_local", json_string(ts));
	calendar_file(&n->cfg, path, sizeof(path));
	json_object_set_new(o, "calendar", json_string(path[0] ? path : "none"));
	/* A period in a year the file lacks counted weekends only there:
	 * say so rather than print a day that may be wrong. */
	for (int64_t dd = start + 1; dd <= due_day; dd += 28) {
		time_t t = (time_t)(dd * 86400);
		struct tm tm;
		gmtime_r(&t, &tm);
		if (!calendar_covers(n->calendar, tm.tm_year + 1900))
			covered = false;
	}
	{
		time_t t = (time_t)(due_day * 86400);
		struct tm tm;
		gmtime_r(&t, &tm);
		if (!calendar_covers(n->calendar, tm.tm_year + 1900))
			covered = false;
	}
	json_object_set_new(o, "calendar_covers", json_boolean(covered));
	if (!covered)
		json_object_set_new(o, "warning", json_string(
			"the holiday calendar does not cover every year of "
			"this period: holidays there are not counted"));
	rep->json = state_dump(o);
	return 0;
}
