/* replay.c: runs a fuzz target's committed inputs through it without
 * libFuzzer, so the normal test run (any compiler, no sanitizer needed)
 * replays every seed and every crash regression on every build.
 *
 *   replay-TARGET NAME CORPUS_DIR [MORE_DIR...]
 *
 * CORPUS_DIR must hold at least one input: an empty or missing corpus
 * would make the test pass having tested nothing. MORE_DIRs (crash
 * regressions) may be absent. Files are run in name order, each from its
 * own buffer of exactly its size, so a sanitizer build sees reads past
 * the end. Prints "NAME: N inputs replayed" and exits 0; a target that
 * breaks an invariant aborts, and the test fails there. */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Reads path whole: 0, or -errno. *ret_buf is malloc'd (at least one
 * byte, so a zero-length input still has an address). */
static int read_input(const char *path, uint8_t **ret_buf, size_t *ret_len)
{
	FILE *f = fopen(path, "rb");
	struct stat st;
	uint8_t *buf;
	size_t len;

	if (!f)
		return -errno;
	if (fstat(fileno(f), &st) || st.st_size < 0) {
		fclose(f);
		return -EIO;
	}
	len = (size_t)st.st_size;
	buf = malloc(len ? len : 1);
	if (!buf || fread(buf, 1, len, f) != len) {
		free(buf);
		fclose(f);
		return buf ? -EIO : -ENOMEM;
	}
	fclose(f);
	*ret_buf = buf;
	*ret_len = len;
	return 0;
}

/* Replays every regular file in dir: the count, or -errno. */
static long replay_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char **names = NULL, path[4096];
	size_t n = 0, cap = 0;
	long count = 0;

	if (!d)
		return -errno;
	while ((e = readdir(d))) {
		struct stat st;
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (stat(path, &st) || !S_ISREG(st.st_mode))
			continue;
		if (n == cap) {
			char **nn = realloc(names, (cap = cap ? cap * 2 : 64) *
						   sizeof(*nn));
			if (!nn)
				break;
			names = nn;
		}
		if (!(names[n] = strdup(e->d_name)))
			break;
		n++;
	}
	closedir(d);
	if (n)
		qsort(names, n, sizeof(*names), by_name);
	for (size_t i = 0; i < n; i++) {
		uint8_t *buf = NULL;
		size_t len = 0;
		int r;

		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		r = read_input(path, &buf, &len);
		if (r) {
			fprintf(stderr, "replay: cannot read %s: %s\n", path,
				strerror(-r));
			count = r;
			break;
		}
		LLVMFuzzerTestOneInput(buf, len);
		free(buf);
		count++;
	}
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return count;
}

int main(int argc, char **argv)
{
	long total = 0;

	if (argc < 3) {
		fprintf(stderr, "usage: %s NAME CORPUS_DIR [MORE_DIR...]\n",
			argv[0]);
		return 2;
	}
	LLVMFuzzerInitialize(&argc, &argv);
	for (int i = 2; i < argc; i++) {
		long n = replay_dir(argv[i]);
		if (n == -ENOENT && i > 2)
			continue; /* no regressions recorded for this target */
		if (n < 0 || (i == 2 && n == 0)) {
			fprintf(stderr, "%s: corpus %s is %s\n", argv[1], argv[i],
				n < 0 ? strerror((int)-n) : "empty");
			return 1;
		}
		total += n;
	}
	printf("%s: %ld inputs replayed\n", argv[1], total);
	return 0;
}
