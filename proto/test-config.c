/* test-config.c: referrald.conf parsing: defaults for unset settings, every
 * refusal naming the setting (or line, or file) and what is allowed, and
 * config_write / config_load round trips. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testutil.h"
#include "config.h"
#include "errors.h"

/* The four required settings and nothing else. */
#define NODE_CODE    "code = 350581\n"
#define NODE_NAME    "name = Test Legal Aid Centre\n"
#define NODE_LISTEN  "listen = tcp://127.0.0.1:7451\n"
#define NODE_KEY_ID  "key_id = 350581-k1\n"
#define MINIMAL "[node]\n" NODE_CODE NODE_NAME NODE_LISTEN NODE_KEY_ID

static char dir[] = "/tmp/test-config-XXXXXX";

/* Parses text into a zeroed config; err is always a C string afterwards. */
static int parse(const char *text, config_t *c, char *err, size_t errlen)
{
	memset(c, 0, sizeof(*c));
	err[0] = '\0';
	return config_parse_text(text, c, err, errlen);
}

static void test_minimal(void)
{
	config_t c;
	char err[512];

	CHECK_EQ_INT(parse(MINIMAL, &c, err, sizeof(err)), 0);
	CHECK_EQ_INT(err[0], '\0');
	CHECK(!strcmp(c.code, "350581"));
	CHECK(!strcmp(c.name, "Test Legal Aid Centre"));
	CHECK(!strcmp(c.listen, "tcp://127.0.0.1:7451"));
	CHECK(!strcmp(c.key_id, "350581-k1"));
	/* Everything unset takes its default. */
	CHECK(!strcmp(c.role, "legal_aid_centre"));
	CHECK(!strcmp(c.alg, "ed25519"));
	CHECK(!strcmp(c.authority_key, "authority.pub.pem"));
	CHECK(!strcmp(c.log_level, "info"));
	CHECK_EQ_INT(c.max_message_bytes, 16 << 20);
	CHECK_EQ_INT(c.max_document_bytes, 4 << 20);
	CHECK_EQ_INT(c.max_documents, 32);
	CHECK_EQ_INT(c.retry_first_ms, 1000);
	CHECK_EQ_INT(c.retry_cap_ms, 300000);
	CHECK_EQ_INT(c.message_lifetime_ms, 14LL * 86400000);
	CHECK_EQ_INT(c.future_skew_ms, 300000);
	CHECK_EQ_INT(c.map_initial_mb, 16);
	CHECK_EQ_INT(c.map_max_mb, 4096);
	CHECK_EQ_INT(c.submit_limit_pct, 90);
	CHECK_EQ_INT(c.linger_ms, 1000);
	CHECK_EQ_INT(c.heartbeat_ms, 5000);
	CHECK(c.data_dir[0] == '\0');

	/* config_defaults agrees with what parsing leaves unset. */
	{
		config_t d;
		config_defaults(&d);
		CHECK(d.code[0] == '\0' && d.name[0] == '\0');
		CHECK(!strcmp(d.role, c.role) && !strcmp(d.alg, c.alg));
		CHECK_EQ_INT(d.max_message_bytes, c.max_message_bytes);
		CHECK_EQ_INT(d.heartbeat_ms, c.heartbeat_ms);
	}

	/* Comments, blank lines and spacing are fine; a setting may be given
	 * in any order. */
	CHECK_EQ_INT(parse("# a comment\n; another\n\n[node]\n"
			   "key_id=350581-k2\n  \n" NODE_LISTEN NODE_NAME
			   "code   =   350582  \n", &c, err, sizeof(err)), 0);
	CHECK(!strcmp(c.code, "350582"));
	CHECK(!strcmp(c.key_id, "350581-k2"));
}

/* A config from before peer quotas, with a low submit_limit_pct, still
 * loads: the unset quota follows it; a quota set by hand over it does not. */
static void test_peer_quota_follows(void)
{
	config_t c;
	char err[256];

	CHECK_EQ_INT(parse(MINIMAL "[store]\nsubmit_limit_pct = 30\n", &c, err,
			   sizeof(err)), 0);
	CHECK_EQ_INT(c.peer_quota_pct, 15);
	CHECK_EQ_INT(parse(MINIMAL "[store]\nsubmit_limit_pct = 30\n"
			   "peer_quota_pct = 35\n", &c, err, sizeof(err)),
		     REF_E_CONFIG);
	CHECK(strstr(err, "peer_quota_pct (35) must be smaller") != NULL);
	CHECK_EQ_INT(parse(MINIMAL, &c, err, sizeof(err)), 0);
	CHECK_EQ_INT(c.peer_quota_pct, 40);
}

static void test_required(void)
{
	static const struct {
		const char *text, *name;
	} cases[] = {
		{ "[node]\n" NODE_NAME NODE_LISTEN NODE_KEY_ID, "[node] code" },
		{ "[node]\n" NODE_CODE NODE_LISTEN NODE_KEY_ID, "[node] name" },
		{ "[node]\n" NODE_CODE NODE_NAME NODE_KEY_ID, "[node] listen" },
		{ "[node]\n" NODE_CODE NODE_NAME NODE_LISTEN, "[node] key_id" },
		/* Present but empty is as good as missing. */
		{ "[node]\nname =\n" NODE_CODE NODE_LISTEN NODE_KEY_ID,
		  "[node] name" },
		{ "[node]\nkey_id =\n" NODE_CODE NODE_NAME NODE_LISTEN,
		  "[node] key_id" },
		{ "", "[node] code" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		config_t c;
		char err[512];

		CHECK_EQ_INT(parse(cases[i].text, &c, err, sizeof(err)),
			     REF_E_CONFIG);
		if (!strstr(err, cases[i].name) || !strstr(err, "required"))
			fprintf(stderr, "case %zu: %s\n", i, err);
		CHECK(strstr(err, cases[i].name) != NULL);
		CHECK(strstr(err, "required") != NULL);
	}
}

/* Each refusal is REF_E_CONFIG with all of want[] in the message. */
static void test_refusals(void)
{
	static const struct {
		const char *text;
		const char *want[3];
	} cases[] = {
		/* Unknown names. */
		{ MINIMAL "colour = blue\n",
		  { "[node] colour", "not a known setting" } },
		{ MINIMAL "[limits]\nmax_message = 5000\n",
		  { "[limits] max_message", "not a known setting" } },
		{ MINIMAL "[bogus]\nretry_first_ms = 100\n",
		  { "[bogus]", "retry_first_ms", "not a known setting" } },
		{ "port = 7451\n" MINIMAL, { "port", "not a known setting" } },
		/* Integers: not a number, below min, above max. */
		{ MINIMAL "[limits]\nmax_documents = many\n",
		  { "[limits] max_documents", "\"many\"", "0..1000" } },
		{ MINIMAL "[limits]\nmax_documents = 12abc\n",
		  { "[limits] max_documents", "not a whole number", "0..1000" } },
		{ MINIMAL "[limits]\nmax_documents = 1.5\n",
		  { "[limits] max_documents", "not a whole number", "0..1000" } },
		{ MINIMAL "[limits]\nmax_documents =\n",
		  { "[limits] max_documents", "not a whole number", "0..1000" } },
		{ MINIMAL "[daemon]\nlinger_ms = 99999999999999999999\n",
		  { "[daemon] linger_ms", "not a whole number", "0..60000" } },
		{ MINIMAL "[limits]\nmax_documents = 1001\n",
		  { "[limits] max_documents", "1001", "outside 0..1000" } },
		{ MINIMAL "[delivery]\nretry_first_ms = 9\n",
		  { "[delivery] retry_first_ms", "= 9 ", "outside 10..5000" } },
		{ MINIMAL "[daemon]\nlinger_ms = -1\n",
		  { "[daemon] linger_ms", "-1", "outside 0..60000" } },
		{ MINIMAL "[limits]\nmax_message_bytes = 4095\n",
		  { "[limits] max_message_bytes", "outside 4096..268435456" } },
		{ MINIMAL "[limits]\nmax_message_bytes = 268435457\n",
		  { "[limits] max_message_bytes", "outside 4096..268435456" } },
		{ MINIMAL "[store]\nsubmit_limit_pct = 100\n",
		  { "[store] submit_limit_pct", "outside 10..99" } },
		{ MINIMAL "[daemon]\nheartbeat_ms = 99\n",
		  { "[daemon] heartbeat_ms", "outside 100..600000" } },
		/* Values checked after parsing. */
		{ "[node]\ncode = 35058\n" NODE_NAME NODE_LISTEN NODE_KEY_ID,
		  { "[node] code", "\"35058\"", "six-digit" } },
		{ "[node]\ncode = 35058a\n" NODE_NAME NODE_LISTEN NODE_KEY_ID,
		  { "[node] code", "\"35058a\"", "six-digit" } },
		{ "[node]\ncode = 3505810\n" NODE_NAME NODE_LISTEN NODE_KEY_ID,
		  { "[node] code", "six-digit" } },
		{ "[node]\nlisten = ipc:///tmp/node.sock\n" NODE_CODE NODE_NAME
		  NODE_KEY_ID,
		  { "[node] listen", "ipc:///tmp/node.sock", "tcp://" } },
		{ "[node]\nlisten = 127.0.0.1:7451\n" NODE_CODE NODE_NAME
		  NODE_KEY_ID, { "[node] listen", "tcp://" } },
		{ MINIMAL "alg = rsa\n",
		  { "[node] alg", "\"rsa\"", "ed25519 or sm2-sm3" } },
		{ MINIMAL "alg = ED25519\n", { "[node] alg", "\"ED25519\"" } },
		{ MINIMAL "role = judge\n",
		  { "[node] role", "\"judge\"", "legal_aid_centre, court" } },
		{ MINIMAL "[daemon]\nlog_level = verbose\n",
		  { "[daemon] log_level", "\"verbose\"", "debug, info" } },
		{ MINIMAL "[store]\nmap_initial_mb = 5000\n",
		  { "map_initial_mb (5000)", "map_max_mb (4096)" } },
		{ MINIMAL "[store]\nmap_initial_mb = 64\nmap_max_mb = 32\n",
		  { "map_initial_mb (64)", "map_max_mb (32)" } },
		{ MINIMAL "[delivery]\nretry_first_ms = 1000\n"
		  "retry_cap_ms = 500\n", { "retry_first_ms", "retry_cap_ms" } },
		{ MINIMAL "[limits]\nmax_message_bytes = 8192\n"
		  "max_document_bytes = 8192\n",
		  { "max_document_bytes", "max_message_bytes" } },
		/* Lines that are not settings name the line. */
		{ "[node]\n" NODE_CODE "this is not a setting\n" NODE_NAME
		  NODE_LISTEN NODE_KEY_ID, { "line 3", "does not parse" } },
		{ MINIMAL "[limits\n", { "line 6", "does not parse" } },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		config_t c;
		char err[512];
		int ok = 1;

		CHECK_EQ_INT(parse(cases[i].text, &c, err, sizeof(err)),
			     REF_E_CONFIG);
		for (int w = 0; w < 3 && cases[i].want[w]; w++) {
			CHECK(strstr(err, cases[i].want[w]) != NULL);
			ok &= strstr(err, cases[i].want[w]) != NULL;
		}
		if (!ok)
			fprintf(stderr, "case %zu: message was: %s\n", i, err);
	}
}

/* Values at the edges of their bounds, and the other allowed names. */
static void test_accepted(void)
{
	static const struct {
		const char *text;
		size_t off;
		int64_t want;
	} ints[] = {
		{ "[limits]\nmax_documents = 0\n",
		  offsetof(config_t, max_documents), 0 },
		{ "[limits]\nmax_documents = 1000\n",
		  offsetof(config_t, max_documents), 1000 },
		{ "[delivery]\nretry_first_ms = 10\n",
		  offsetof(config_t, retry_first_ms), 10 },
		{ "[delivery]\nmessage_lifetime_ms = 31536000000\n",
		  offsetof(config_t, message_lifetime_ms), 31536000000LL },
		{ "[store]\nmap_initial_mb = 4096\n",
		  offsetof(config_t, map_initial_mb), 4096 },
		{ "[store]\nsubmit_limit_pct = 99\n",
		  offsetof(config_t, submit_limit_pct), 99 },
		{ "[daemon]\nlinger_ms = 0\n", offsetof(config_t, linger_ms), 0 },
	};
	static const char *const strs[] = {
		"alg = sm2-sm3\n", "role = court\n", "role = labour_bureau\n",
		"role = authority\n", "[daemon]\nlog_level = debug\n",
		"[daemon]\nlog_level = error\n",
	};
	config_t c;
	char err[512], text[1024];

	for (size_t i = 0; i < sizeof(ints) / sizeof(ints[0]); i++) {
		snprintf(text, sizeof(text), MINIMAL "%s", ints[i].text);
		CHECK_EQ_INT(parse(text, &c, err, sizeof(err)), 0);
		CHECK_EQ_INT(*(int64_t *)((char *)&c + ints[i].off),
			     ints[i].want);
	}
	for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++) {
		snprintf(text, sizeof(text), MINIMAL "%s", strs[i]);
		CHECK_EQ_INT(parse(text, &c, err, sizeof(err)), 0);
	}
	CHECK(!strcmp(c.log_level, "error"));
}

/* A failed parse or load leaves the caller's config as it was. */
static void test_untouched(void)
{
	config_t c, before;
	char err[512], path[600];

	memset(&c, 0x5a, sizeof(c));
	c.data_dir[10] = '\0';
	before = c;
	CHECK_EQ_INT(config_parse_text(MINIMAL "role = judge\n", &c, err,
				       sizeof(err)), REF_E_CONFIG);
	CHECK(!memcmp(&c, &before, sizeof(c)));

	snprintf(path, sizeof(path), "%s/referrald.conf", dir);
	{
		FILE *f = fopen(path, "w");
		CHECK(f != NULL);
		if (f) {
			fputs(MINIMAL "[store]\nmap_max_mb = 0\n", f);
			fclose(f);
		}
	}
	CHECK_EQ_INT(config_load(dir, &c, err, sizeof(err)), REF_E_CONFIG);
	CHECK(!memcmp(&c, &before, sizeof(c)));
	/* The message says which file, and what is wrong in it. */
	CHECK(strstr(err, path) != NULL);
	CHECK(strstr(err, "[store] map_max_mb") != NULL);
	CHECK(strstr(err, "1..16777216") != NULL);
	unlink(path);
}

static void test_load_missing(void)
{
	config_t c;
	char err[512], path[600];

	snprintf(path, sizeof(path), "%s/referrald.conf", dir);
	unlink(path);
	memset(&c, 0, sizeof(c));
	CHECK_EQ_INT(config_load(dir, &c, err, sizeof(err)), -ENOENT);
	CHECK(strstr(err, path) != NULL);
	CHECK(strstr(err, "cannot read") != NULL);
}

static void test_roundtrip(void)
{
	config_t c, back;
	char err[512], path[600], rel[600];
	struct stat st;

	CHECK_EQ_INT(parse(MINIMAL, &c, err, sizeof(err)), 0);
	/* Every setting away from its default. */
	snprintf(c.code, sizeof(c.code), "350582");
	snprintf(c.name, sizeof(c.name), "晋江市法律援助中心");
	snprintf(c.role, sizeof(c.role), "court");
	snprintf(c.listen, sizeof(c.listen), "tcp://0.0.0.0:7999");
	snprintf(c.key_id, sizeof(c.key_id), "350582-k7");
	snprintf(c.alg, sizeof(c.alg), "sm2-sm3");
	snprintf(c.authority_key, sizeof(c.authority_key),
		 "/etc/referral/authority.pub.pem");
	c.max_message_bytes = 8 << 20;
	c.max_document_bytes = 2 << 20;
	c.max_documents = 7;
	c.retry_first_ms = 250;
	c.retry_cap_ms = 60000;
	c.message_lifetime_ms = 3LL * 86400000;
	c.future_skew_ms = 0;
	c.map_initial_mb = 32;
	c.map_max_mb = 128;
	c.submit_limit_pct = 75;
	c.linger_ms = 0;
	c.heartbeat_ms = 2500;
	snprintf(c.log_level, sizeof(c.log_level), "warn");

	snprintf(path, sizeof(path), "%s/referrald.conf", dir);
	CHECK_EQ_INT(config_write(&c, path), 0);
	CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600);

	memset(&back, 0, sizeof(back));
	CHECK_EQ_INT(config_load(dir, &back, err, sizeof(err)), 0);
	if (err[0] && strstr(err, "referrald.conf"))
		fprintf(stderr, "round trip: %s\n", err);
	CHECK(!strcmp(back.data_dir, dir));
	CHECK(!strcmp(back.code, c.code));
	CHECK(!strcmp(back.name, c.name));
	CHECK(!strcmp(back.role, c.role));
	CHECK(!strcmp(back.listen, c.listen));
	CHECK(!strcmp(back.key_id, c.key_id));
	CHECK(!strcmp(back.alg, c.alg));
	CHECK(!strcmp(back.authority_key, c.authority_key));
	CHECK(!strcmp(back.log_level, c.log_level));
	CHECK_EQ_INT(back.max_message_bytes, c.max_message_bytes);
	CHECK_EQ_INT(back.max_document_bytes, c.max_document_bytes);
	CHECK_EQ_INT(back.max_documents, c.max_documents);
	CHECK_EQ_INT(back.retry_first_ms, c.retry_first_ms);
	CHECK_EQ_INT(back.retry_cap_ms, c.retry_cap_ms);
	CHECK_EQ_INT(back.message_lifetime_ms, c.message_lifetime_ms);
	CHECK_EQ_INT(back.future_skew_ms, c.future_skew_ms);
	CHECK_EQ_INT(back.map_initial_mb, c.map_initial_mb);
	CHECK_EQ_INT(back.map_max_mb, c.map_max_mb);
	CHECK_EQ_INT(back.submit_limit_pct, c.submit_limit_pct);
	CHECK_EQ_INT(back.linger_ms, c.linger_ms);
	CHECK_EQ_INT(back.heartbeat_ms, c.heartbeat_ms);

	/* The defaults round-trip too (written files show every setting). */
	CHECK_EQ_INT(parse(MINIMAL, &c, err, sizeof(err)), 0);
	CHECK_EQ_INT(config_write(&c, path), 0);
	memset(&back, 0, sizeof(back));
	CHECK_EQ_INT(config_load(dir, &back, err, sizeof(err)), 0);
	CHECK(!strcmp(back.role, "legal_aid_centre"));
	CHECK(!strcmp(back.authority_key, "authority.pub.pem"));
	CHECK_EQ_INT(back.max_message_bytes, 16 << 20);
	CHECK_EQ_INT(back.message_lifetime_ms, 14LL * 86400000);

	/* config_path joins relative paths to data_dir, keeps absolute ones. */
	config_path(&back, back.authority_key, rel, sizeof(rel));
	snprintf(path, sizeof(path), "%s/authority.pub.pem", dir);
	CHECK(!strcmp(rel, path));
	config_path(&back, "/etc/referral/a.pem", rel, sizeof(rel));
	CHECK(!strcmp(rel, "/etc/referral/a.pem"));

	snprintf(path, sizeof(path), "%s/referrald.conf", dir);
	unlink(path);
}

int main(void)
{
	char cmd[300];

	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	test_minimal();
	test_peer_quota_follows();
	test_required();
	test_refusals();
	test_accepted();
	test_untouched();
	test_load_missing();
	test_roundtrip();
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	CHECK(system(cmd) == 0);
	return test_finish("config");
}
