/* log.c: see log.h. Lines are written whole, so that a log collector
 * never sees two events interleaved. Informational lines are held until
 * the loop is about to wait (log_flush) or the buffer is full: a write
 * per line was a twentieth of a busy node's time. A warning or an error
 * goes out at once, with whatever was held before it. */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "util.h"

static int min_level = LOG_INFO;
static char held[16384];
static size_t held_len;
static bool flush_at_exit;

void log_flush(void)
{
	size_t off = 0;

	while (off < held_len) {
		ssize_t w = write(STDERR_FILENO, held + off, held_len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			break; /* nowhere to write: the lines are dropped */
		off += (size_t)w;
	}
	held_len = 0;
}

void log_set_level(int level)
{
	min_level = level;
}

int log_level_from_name(const char *name)
{
	static const char *const names[] = { "debug", "info", "warn", "error" };

	for (int i = 0; i < 4; i++)
		if (!strcmp(name, names[i]))
			return i;
	return -1;
}

void log_msg(int level, const char *component, const char *fmt, ...)
{
	static const char *const names[] = { "debug", "info", "warn", "error" };
	char ts[32], line[1024], whole[1200];
	va_list ap;
	int n;

	if (level < min_level)
		return;
	util_rfc3339(util_now_ms(), ts);
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	/* Messages quote what peers and clients sent: a control or bidi
	 * character there must not start a forged line or reorder one. */
	util_utf8_scrub(line);
	n = snprintf(whole, sizeof(whole), "%s %s %s %s\n", ts, names[level],
		     component, line);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(whole)) {
		n = sizeof(whole) - 1;
		whole[n - 1] = '\n';
	}
	if (!flush_at_exit) {
		flush_at_exit = true;
		atexit(log_flush);
	}
	if (held_len + (size_t)n > sizeof(held))
		log_flush();
	memcpy(held + held_len, whole, (size_t)n);
	held_len += (size_t)n;
	if (level >= LOG_WARN)
		log_flush();
}
