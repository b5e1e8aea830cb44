/* bench-submit.c: submits COUNT copies of the sample application to a
 * running node through libreferral, one at a time, and prints submissions
 * per second and latency percentiles. Each submission returns only after
 * the node's synced commit, so this measures the durable path. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "application.h"
#include "referral.h"
#include "util.h"

static int cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	ref_client_t *c;
	int n;
	uint64_t *lat, t0, t1;

	if (argc < 4) {
		fprintf(stderr, "usage: bench-submit DATA_DIR TO_CODE COUNT\n");
		return 2;
	}
	n = atoi(argv[3]);
	lat = calloc((size_t)n, sizeof(*lat));
	if (ref_open(argv[1], 30000, &c))
		return 1;
	t0 = util_mono_ms();
	for (int i = 0; i < n; i++) {
		char *id = NULL;
		uint64_t s = util_mono_ms();
		int r = ref_submit(c, argv[2], application_example(), NULL,
				   "bench", &id);
		if (r) {
			fprintf(stderr, "submit %d: %s\n", i, ref_last_error(c));
			return 1;
		}
		lat[i] = util_mono_ms() - s;
		free(id);
	}
	t1 = util_mono_ms();
	qsort(lat, (size_t)n, sizeof(*lat), cmp);
	printf("submitted %d in %llu ms: %.0f/s; latency p50 %llu ms, p99 %llu "
	       "ms, max %llu ms\n", n, (unsigned long long)(t1 - t0),
	       n * 1000.0 / (double)(t1 - t0 + 1),
	       (unsigned long long)lat[n / 2],
	       (unsigned long long)lat[(n * 99) / 100],
	       (unsigned long long)lat[n - 1]);
	ref_close(&c);
	free(lat);
	return 0;
}
