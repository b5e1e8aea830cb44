/* fuzz-application.c: application_from_json on an application as intake
 * staff or an integration wrote it (refctl submit reads it from a file).
 *
 * Input: the JSON text. Documents given as "file" are read relative to a
 * folder that does not exist, and through a 4 KiB limit, so a fuzzed path
 * reads at most a little of whatever file it names; scripts/fuzz.sh gives
 * the fuzzer /dev/null as standard input, so "/dev/stdin" ends at once.
 *
 * Invariants checked: a failure names its problem in plain ASCII (never a
 * value from the application: application.h); a body the parser accepts
 * decodes again as a ReferralSubmit that passes application_check (what
 * refctl sends, the node accepts) and then everything fuzz-checks.c
 * checks. */
#include <stdlib.h>
#include <string.h>

#include "application.h"
#include "fuzz.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	if (fuzz_checks_init())
		abort();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	application_limits_t lim = { 4096, 8, "/nonexistent/fuzz-application" };
	Referral__V1__ReferralSubmit *a;
	uint8_t *body = NULL;
	size_t len = 0;
	char err[300], again[300];
	int r;

	memset(err, 0x55, sizeof(err));
	r = application_from_json((const char *)data, size, &lim, &body, &len,
				  err, sizeof(err));
	if (r) {
		if (!memchr(err, 0, sizeof(err)) || !err[0])
			fuzz_fail("application_from_json fails silently");
		for (const char *p = err; *p; p++)
			if ((unsigned char)*p >= 0x80)
				fuzz_fail("application_from_json's message "
					  "echoes a value");
		return 0;
	}
	a = referral__v1__referral_submit__unpack(NULL, len, body);
	if (!a)
		fuzz_fail("an accepted application does not decode");
	if (application_check(a, &lim, again, sizeof(again)))
		fuzz_fail("an accepted application fails application_check "
			  "once decoded");
	fuzz_check_submit(a);
	referral__v1__referral_submit__free_unpacked(a, NULL);
	free(body);
	return 0;
}
