/* fuzz-config.c: the text files a node's settings come from, as an
 * operator wrote them: referrald.conf (config_parse_text, which
 * config_load runs on the file's bytes), and the two files it names, the
 * eligibility rule pack (rules_parse) and the holiday calendar
 * (calendar_parse). Each input goes through all three parsers: they are
 * line-oriented, and a line one accepts is an interesting line for the
 * others.
 *
 * Invariants checked: a failure names its problem; a configuration that
 * loads holds what validation promises (a valid node code, tcp:// listen
 * address, bounds that agree with each other); a calendar that parses
 * gives deadlines after their start. */
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "deadline.h"
#include "eligibility.h"
#include "fuzz.h"
#include "util.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	return 0;
}

static void said_why(int r, const char *err, size_t len, const char *what)
{
	if (r && (!memchr(err, 0, len) || !err[0]))
		fuzz_fail(what);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	Referral__V1__Means means = REFERRAL__V1__MEANS__INIT;
	char *text = fuzz_strdup(data, size), err[600], path[1200];
	calendar_t *cal = NULL;
	rules_t *rules = NULL;
	const char *outcome;
	config_t c;
	int r;

	if (!text)
		return 0;

	memset(&c, 0, sizeof(c));
	strcpy(c.data_dir, "/var/lib/referral");
	memset(err, 0x55, sizeof(err));
	r = config_parse_text(text, &c, err, sizeof(err));
	said_why(r, err, sizeof(err), "config_parse_text fails silently");
	if (!r) {
		if (!util_node_code_valid(c.code) ||
		    strncmp(c.listen, "tcp://", 6) || !c.name[0] ||
		    !c.key_id[0] || c.map_initial_mb > c.map_max_mb ||
		    c.retry_first_ms > c.retry_cap_ms ||
		    c.max_document_bytes >= c.max_message_bytes ||
		    strcmp(c.data_dir, "/var/lib/referral"))
			fuzz_fail("a configuration loaded that validation "
				  "should have refused");
		config_path(&c, c.authority_key, path, sizeof(path));
		config_path(&c, c.holidays, path, sizeof(path));
		config_path(&c, c.rules, path, sizeof(path));
	}

	memset(err, 0x55, sizeof(err));
	r = rules_parse(text, &rules, err, sizeof(err));
	said_why(r, err, sizeof(err), "rules_parse fails silently");
	if (!r) {
		static const char *const paths[] = { "full_check", "exempt",
			"no_condition", "commitment", "" };
		char rule[200];
		means.category = (char *)"migrant_worker_wages";
		means.household_size = 3;
		means.household_income_fen = 210000;
		means.residence = (char *)"rural";
		for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
			means.path = (char *)paths[i];
			rules_recommend(rules, &means, NULL, &outcome, rule,
					sizeof(rule));
		}
		rules_free(&rules);
	}

	memset(err, 0x55, sizeof(err));
	r = calendar_parse(text, &cal, err, sizeof(err));
	said_why(r, err, sizeof(err), "calendar_parse fails silently");
	if (!r) {
		int64_t day = deadline_local_day(FUZZ_T0);
		for (int i = 0; i < 400; i++)
			calendar_rest_day(cal, day + i);
		if (deadline_due(cal, FUZZ_T0, 15) <= FUZZ_T0 ||
		    deadline_due(cal, FUZZ_T0, 1) > deadline_due(cal, FUZZ_T0, 15))
			fuzz_fail("a deadline falls before its start");
		calendar_free(&cal);
	}
	free(text);
	return 0;
}
