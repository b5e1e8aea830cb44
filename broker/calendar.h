/* calendar.h: the node's holiday calendar as a room of its own: which file
 * it is ([deadlines] holidays: "shipped" is the State Council calendar
 * installed with referrald, data/holidays-cn.txt), loading it at start,
 * saying which years it lacks (status and one log line at start), and the
 * "calendar-due" operation: the due day of a period under the Civil
 * Code's counting (deadline.h), with the calendar the node's own clocks
 * use, so what staff are told and what the overdue sweep does agree.
 *
 * Writes the node's calendar (at start only); the rest only reads. */
#ifndef REF_CALENDAR_H
#define REF_CALENDAR_H

#include "state.h"

/* calendar_file: the file the setting names, or "" for weekends only.
 * "shipped" is the installed copy, else (a build not installed) the
 * source tree's. */
void calendar_file(const config_t *cfg, char *out, size_t len);
/* calendar_load: reads and parses calendar_file into n->calendar; warns
 * once in the log when a year the node needs is missing. On failure err
 * names the file and the line. */
int calendar_load(node_t *n, char *err, size_t errlen);
/* calendar_status: {"file", "years": [...], "missing_year", "warning"}
 * for refctl status (missing_year and warning only when one is missing). */
json_t *calendar_status(node_t *n);
/* calendar_call_due: the "calendar-due" operation: options {"from":
 * "YYYY-MM-DD", "days": N}. */
int calendar_call_due(node_t *n, const principal_t *who,
		      const Referral__Local__V1__Request *req, json_t *opts,
		      Referral__Local__V1__Reply *rep, char *err, size_t errlen);

#define CALENDAR_DUE_OPTIONS \
	"{\"type\":\"object\",\"properties\":{\"from\":{\"type\":\"string\"," \
	"\"description\":\"the day the period starts (not counted), " \
	"YYYY-MM-DD\"},\"days\":{\"type\":\"integer\",\"description\":" \
	"\"the period in days (1 to 3650)\"}},\"required\":[\"from\"," \
	"\"days\"],\"additionalProperties\":false}"

#endif
