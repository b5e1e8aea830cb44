/* deadline.h: the Legal Aid Law's periods, counted as the Civil Code
 * counts days (Arts 201, 203): the start day is not counted; a period ends
 * at 24:00 of its last day; a last day that falls on a rest day (a public
 * holiday, or a weekend not made a working day) moves to the next working
 * day. Days are local calendar days (China, UTC+8).
 *
 * Pure: no clock and no I/O; the caller passes times and the calendar.
 * A calendar_t is immutable once parsed; thread-safe. */
#ifndef REF_DEADLINE_H
#define REF_DEADLINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DEADLINE_TZ_MS (8 * 3600 * 1000LL) /* Beijing time, no DST */
#define DEADLINE_DAY_MS 86400000LL

typedef struct calendar calendar_t;

/* calendar_parse: lines "YYYY-MM-DD holiday" or "YYYY-MM-DD workday" (an
 * adjusted working weekend day), blank lines and "# comments". ret_err
 * names the line of the first problem. */
int calendar_parse(const char *text, calendar_t **ret, char *ret_err,
		   size_t errlen);
void calendar_free(calendar_t **c);
/* calendar_rest_day: day is days since 1970-01-01 (local). NULL calendar:
 * weekends only. */
bool calendar_rest_day(const calendar_t *c, int64_t day);

/* calendar_covers: the calendar lists at least one day (holiday or
 * workday) of year: every year has New Year's Day, so a year with no line
 * is one whose notice was never added. NULL covers nothing. */
bool calendar_covers(const calendar_t *c, int year);
/* calendar_missing_year: the year a node at now_ms needs and the calendar
 * lacks, or 0. The rule: the current (Beijing) year always; from 1
 * December on, the next year too, since periods started then run into it
 * and the next year's notice is out by November. */
int calendar_missing_year(const calendar_t *c, uint64_t now_ms);

/* deadline_day_of: the day number (days since 1970-01-01) of a date, or
 * -1 if y-m-d is not a date from 1970 on. */
int64_t deadline_day_of(int y, int m, int d);
/* deadline_due_day: the last day (a day number) of a period of days
 * whose start day is start_day: start_day + days, moved past rest days. */
int64_t deadline_due_day(const calendar_t *c, int64_t start_day, int days);
/* deadline_local_day: the local calendar day of a Unix ms time. */
int64_t deadline_local_day(uint64_t ms);
/* deadline_due: the end (24:00 local, as Unix ms) of a period of days
 * starting at start_ms. */
uint64_t deadline_due(const calendar_t *c, uint64_t start_ms, int days);
/* deadline_days_used: whole days of a period counted between start_ms and
 * at_ms (the start day not counted), for clocks that pause. */
int deadline_days_used(uint64_t start_ms, uint64_t at_ms);

#endif
