/* gw-log.h: referral-gw's log, one line per event on stderr, in the
 * node's form (broker/log.c):
 *   2026-11-28T10:00:00.000Z level gw key=value ...
 * Callers pass ids, codes and token names only: never a token, a query
 * value or personal data. Invisible and control characters are written
 * as "?", so text quoted from a client cannot forge a line. Thread-safe:
 * each line is one fprintf, which stdio writes whole. */
#ifndef REF_GW_LOG_H
#define REF_GW_LOG_H

enum { GW_DEBUG, GW_INFO, GW_WARN, GW_ERROR };

/* gw_log_set_level: from "debug", "info", "warn" or "error"; returns -1
 * for any other name (the level is then left as it was). Call before
 * threads start. */
int gw_log_set_level(const char *name);
void gw_log(int level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif
