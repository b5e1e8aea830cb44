/* gw-log.c: see gw-log.h. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "gw-log.h"
#include "util.h"

static const char *const names[] = { "debug", "info", "warn", "error" };
static int min_level = GW_INFO;

int gw_log_set_level(const char *name)
{
	for (int i = 0; i < 4; i++)
		if (!strcmp(name, names[i])) {
			min_level = i;
			return 0;
		}
	return -1;
}

void gw_log(int level, const char *fmt, ...)
{
	char ts[32], line[1024];
	va_list ap;

	if (level < min_level)
		return;
	util_rfc3339(util_now_ms(), ts);
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	util_utf8_scrub(line);
	fprintf(stderr, "%s %s gw %s\n", ts, names[level], line);
	fflush(stderr);
}
