/* log.c: see log.h. Lines are written whole with one fprintf so that a
 * log collector never sees two events interleaved. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "util.h"

static int min_level = LOG_INFO;

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
	char ts[32], line[1024];
	va_list ap;

	if (level < min_level)
		return;
	util_rfc3339(util_now_ms(), ts);
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	/* Messages quote what peers and clients sent: a control or bidi
	 * character there must not start a forged line or reorder one. */
	util_utf8_scrub(line);
	fprintf(stderr, "%s %s %s %s\n", ts, names[level], component, line);
	fflush(stderr);
}
