/* tzlocal.h: times as the people at a node read them, in the node's time
 * zone ([node] time_zone, a name from the system's tz database such as
 * "Asia/Shanghai"). The wire, the store and JSON keep UTC; this only
 * formats. Zones come from the tz database (tzdata), never hand-coded
 * offsets, so a zone's history (and any daylight saving) is honoured.
 *
 * tzlocal_use sets the process's TZ: call it once at start, before any
 * other thread exists; the formatters are then safe to call from the one
 * thread that called it. */
#ifndef REF_TZLOCAL_H
#define REF_TZLOCAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#define TZLOCAL_DEFAULT "Asia/Shanghai"

/* tzlocal_valid: zone names a zone file in the tz database (a relative
 * name without "..", whose file starts with the TZif magic). glibc would
 * quietly read an unknown name as UTC: this is what refuses it. */
bool tzlocal_valid(const char *zone);
/* tzlocal_use: zone becomes the process's local time (TZ). 0, or
 * REF_E_CONFIG for a zone tzlocal_valid refuses. */
int tzlocal_use(const char *zone);
/* tzlocal_time: "2026-10-09T00:00:00+08:00", the local wall time of ms
 * with its offset. out holds 32 bytes. */
void tzlocal_time(uint64_t ms, char out[32]);
/* tzlocal_day_ending: "2026-10-08", the local day a period ending at ms
 * (a deadline's 24:00) belongs to: the day of the last millisecond
 * before it. out holds 16 bytes. */
void tzlocal_day_ending(uint64_t ms, char out[16]);

/* tzlocal_json_time: o[key] = ms as RFC 3339 UTC (nothing for 0), and
 * o[key_local] = the same moment as people here read it. */
void tzlocal_json_time(json_t *o, const char *key, uint64_t ms);
/* tzlocal_json_day: o[key] = "YYYY-MM-DD", the local day a deadline ending
 * at due_ms belongs to (nothing for 0). */
void tzlocal_json_day(json_t *o, const char *key, uint64_t due_ms);

#endif
