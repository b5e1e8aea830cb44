/* tzlocal.c: see tzlocal.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "errors.h"
#include "tzlocal.h"
#include "util.h"

static const char *tz_dir(void)
{
	const char *d = getenv("TZDIR");
	return d && d[0] ? d : "/usr/share/zoneinfo";
}

bool tzlocal_valid(const char *zone)
{
	char path[1024], magic[4];
	FILE *f;
	bool ok;

	if (!zone || !zone[0] || zone[0] == '/' || strstr(zone, "..") ||
	    strlen(zone) > 200)
		return false;
	for (const char *p = zone; *p; p++)
		if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
		      (*p >= '0' && *p <= '9') || strchr("/_+-", *p)))
			return false;
	snprintf(path, sizeof(path), "%s/%s", tz_dir(), zone);
	f = fopen(path, "rb");
	if (!f)
		return false;
	ok = fread(magic, 1, 4, f) == 4 && !memcmp(magic, "TZif", 4);
	fclose(f);
	return ok;
}

int tzlocal_use(const char *zone)
{
	if (!tzlocal_valid(zone))
		return REF_E_CONFIG;
	/* ":" makes glibc read the name as a file in the tz database only. */
	{
		char tz[256];
		snprintf(tz, sizeof(tz), ":%s", zone);
		if (setenv("TZ", tz, 1))
			return REF_E_CONFIG;
	}
	tzset();
	return 0;
}

void tzlocal_time(uint64_t ms, char out[32])
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	char z[8] = "";
	size_t n;

	localtime_r(&t, &tm);
	n = strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &tm);
	/* RFC 3339 wants the offset as +08:00, strftime gives +0800. */
	if (strftime(z, sizeof(z), "%z", &tm) == 5 && n + 7 <= 32)
		snprintf(out + n, 32 - n, "%.3s:%.2s", z, z + 3);
}

void tzlocal_day_ending(uint64_t ms, char out[16])
{
	time_t t = (time_t)((ms ? ms - 1 : 0) / 1000);
	struct tm tm;

	localtime_r(&t, &tm);
	if (!strftime(out, 16, "%Y-%m-%d", &tm))
		out[0] = '\0';
}

void tzlocal_json_time(json_t *o, const char *key, uint64_t ms)
{
	char ts[32], k[64], lt[32];

	if (!ms)
		return;
	util_rfc3339(ms, ts);
	json_object_set_new(o, key, json_string(ts));
	snprintf(k, sizeof(k), "%s_local", key);
	tzlocal_time(ms, lt);
	json_object_set_new(o, k, json_string(lt));
}

void tzlocal_json_day(json_t *o, const char *key, uint64_t due_ms)
{
	char day[16];

	if (!due_ms)
		return;
	tzlocal_day_ending(due_ms, day);
	json_object_set_new(o, key, json_string(day));
}
