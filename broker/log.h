/* log.h: the daemon's log, one line per event on stderr:
 *   2026-11-28T10:00:00.000Z level component key=value ...
 * Callers pass ids and codes only: never personal data. Control, bidi
 * and other invisible characters in a message are written as "?", so text
 * quoted from a peer or a client cannot forge a line. Not thread-safe
 * (the daemon is one thread). */
#ifndef REF_LOG_H
#define REF_LOG_H

enum { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };

void log_set_level(int level);
/* log_flush: writes the informational lines held so far. The loop calls
 * it before it waits; a warning, an error and the exit flush too. */
void log_flush(void);
int log_level_from_name(const char *name); /* -1 if unknown */
void log_msg(int level, const char *component, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
