/* config.c: see config.h. inih reads the file; this table is the only
 * place a setting, its default and its bounds are named. */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ini.h>

#include "config.h"
#include "errors.h"
#include "sign.h"
#include "tzlocal.h"
#include "util.h"

typedef enum { T_STR, T_INT } kind_t;

typedef struct {
	const char *section, *name;
	kind_t kind;
	size_t off, size;     /* size: for strings, the buffer */
	const char *def_str;
	int64_t def, min, max;
	int required;
	const char *help;
} setting_t;

#define S(sec, nm, field, def, req, help) \
	{ sec, nm, T_STR, offsetof(config_t, field), \
	  sizeof(((config_t *)0)->field), def, 0, 0, 0, req, help }
#define I(sec, nm, field, def, lo, hi, help) \
	{ sec, nm, T_INT, offsetof(config_t, field), 0, NULL, def, lo, hi, 0, help }

static const setting_t settings[] = {
	S("node", "code", code, "", 1, "six-digit division code (GB/T 2260)"),
	S("node", "name", name, "", 1, "the centre's name"),
	S("node", "role", role, "legal_aid_centre", 0,
	  "legal_aid_centre, court, labour_bureau, justice_bureau or authority"),
	S("node", "listen", listen, "", 1, "peer endpoint, tcp://HOST:PORT"),
	S("node", "key_id", key_id, "", 1, "this node's signing key id"),
	S("node", "alg", alg, "ed25519", 0, "ed25519 or sm2-sm3"),
	S("node", "time_zone", time_zone, TZLOCAL_DEFAULT, 0,
	  "the time zone people here read times in (a tz database name)"),
	S("trust", "authority_key", authority_key, "authority.pub.pem", 0,
	  "PEM public key of the directory authority"),
	I("limits", "max_message_bytes", max_message_bytes, 16 << 20,
	  4096, 256 << 20, "largest envelope accepted or sent"),
	I("limits", "max_document_bytes", max_document_bytes, 4 << 20,
	  0, 128 << 20, "largest document carried inline"),
	I("limits", "max_documents", max_documents, 32, 0, 1000,
	  "documents per referral"),
	I("limits", "max_string_bytes", max_string_bytes, 4096, 64, 1 << 20,
	  "longest text field in any message (names, reasons, addresses)"),
	I("limits", "max_list_items", max_list_items, 100, 1, 100000,
	  "most items in any list field (addresses, missing items...)"),
	I("limits", "max_message_document_bytes", max_message_document_bytes,
	  12 << 20, 0, 256 << 20, "most bytes of documents (all bytes fields "
	  "together) in one message; max_document_bytes bounds each one"),
	I("limits", "held_per_peer", held_per_peer, 64, 0, 100000,
	  "changes held from one peer that arrived before their referral or "
	  "an earlier change; more are refused"),
	I("limits", "held_bytes_per_peer", held_bytes_per_peer, 32 << 20, 0,
	  1 << 30, "bytes of changes held from one peer; more are refused"),
	I("limits", "peer_in_flight", peer_in_flight, 512, 1, 1000000,
	  "messages sent to one peer and not yet receipted; more wait"),
	I("limits", "peer_rate_per_s", peer_rate_per_s, 5000, 1, 1000000,
	  "messages taken from one peer per second (bursts of twice that); "
	  "more are dropped unanswered and the sender resends"),
	I("limits", "max_connections", max_connections, 512, 2, 65536,
	  "peer connections open at once; more are closed at accept"),
	I("limits", "handshake_ms", handshake_ms, 5000, 100, 60000,
	  "time a connection has to complete its CURVE handshake"),
	I("limits", "crypto_threads", crypto_threads, 1, 0, 16,
	  "threads that check a turn's incoming envelopes (signatures, batch "
	  "paths, digests) while the loop takes clients' requests, when it "
	  "brings 16 or more; 0: the loop checks every one itself"),
	I("delivery", "retry_first_ms", retry_first_ms, 1000, 10, 5000,
	  "longest delay before the first resend (jitter picks between "
	  "half of it and all of it; each later delay doubles)"),
	I("delivery", "retry_cap_ms", retry_cap_ms, 300000, 100, 86400000,
	  "longest delay between resends (jittered the same way)"),
	I("delivery", "message_lifetime_ms", message_lifetime_ms,
	  14LL * 86400000, 60000, 365LL * 86400000,
	  "how long a message is retried, and how old a received one may be"),
	I("delivery", "future_skew_ms", future_skew_ms, 300000, 0, 3600000,
	  "how far ahead of this node's clock a message may be"),
	I("delivery", "held_ttl_ms", held_ttl_ms, 86400000, 10000,
	  365LL * 86400000, "how long a change held for a referral not on "
	  "this node waits for it; then it is dropped (audited). A change "
	  "waiting for an earlier one waits the message lifetime"),
	I("store", "map_initial_mb", map_initial_mb, 16, 1, 1 << 20,
	  "initial LMDB map size"),
	I("store", "map_max_mb", map_max_mb, 4096, 1, 1 << 24,
	  "the store never grows past this"),
	I("store", "submit_limit_pct", submit_limit_pct, 90, 10, 99,
	  "refuse new submissions past this share of map_max_mb"),
	I("store", "peer_quota_pct", peer_quota_pct, 40, 1, 98,
	  "share of map_max_mb the messages received from one peer may take "
	  "(below submit_limit_pct); past it the peer gets no receipt and "
	  "resends later"),
	I("store", "quota_warn_pct", quota_warn_pct, 80, 10, 100,
	  "a peer past this share of its quota shows as nearly full in "
	  "status, the log and the metrics"),
	I("store", "seen_prune_batch", seen_prune_batch, 256, 1, 100000,
	  "dedup entries past the replay window deleted per turn at most "
	  "(4 times as many looked at)"),
	S("store", "data_key", data_key, "data.keys", 0,
	  "key ring sealing personal data at rest (mode 0600; made at first "
	  "start: aes-256-gcm, or sm4-gcm for alg = sm2-sm3)"),
	S("deadlines", "holidays", holidays, "shipped", 0,
	  "holiday calendar: lines \"YYYY-MM-DD holiday|workday\"; "
	  "\"shipped\" for the State Council calendar installed with "
	  "referrald, \"\" for weekends only"),
	I("deadlines", "materials_wait_days", materials_wait_days, 15, 1, 365,
	  "days to wait for missing materials before deemed withdrawn"),
	I("deadlines", "deadline_check_ms", deadline_check_ms, 5000, 100,
	  3600000, "how often running deadlines are checked"),
	S("roles", "admins", admins, "", 0,
	  "staff ids with this node's admin role (exports, keys, purge, tokens), comma-separated"),
	S("staff", "accounts", staff_accounts, "", 0,
	  "OS accounts (name or uid) that may use the client socket, each "
	  "as one staff id: \"alice:reviewer-01, 1001:admin-01\" (the "
	  "node's own account and root act as any --actor they name)"),
	S("staff", "group", staff_group, "", 0,
	  "OS group given the data folder (0710) and the socket folder, so "
	  "its members reach the client socket and nothing else"),
	S("eligibility", "rules", rules, "", 0,
	  "the county's eligibility rule pack (rules.ini)"),
	I("audit", "checkpoint_records", checkpoint_records, 100, 1, 1000000,
	  "sign and send the chain head to peers after this many records"),
	I("audit", "checkpoint_minutes", checkpoint_minutes, 60, 1, 10080,
	  "or after this many minutes, if anything was recorded"),
	I("retention", "days_after_closed", days_after_closed, 3650, 0, 36500,
	  "days after CLOSED, TERMINATED or UPHELD before the node purges a "
	  "referral's personal data (0: only refctl purge does)"),
	I("retention", "days_after_refused", days_after_refused, 1095, 0, 36500,
	  "days after DENIED, WITHDRAWN, CANCELLED or REFERRED_ONWARD before "
	  "the node purges it (0: only refctl purge does)"),
	I("retention", "purge_batch", purge_batch, 16, 1, 1000,
	  "referrals purged at most in one turn of the node's own purge"),
	I("daemon", "linger_ms", linger_ms, 1000, 0, 60000,
	  "how long unsent frames may hold up shutdown"),
	I("daemon", "heartbeat_ms", heartbeat_ms, 5000, 100, 600000,
	  "ZeroMQ heartbeat interval to peers"),
	S("daemon", "log_level", log_level, "info", 0,
	  "debug, info, warn or error; lines go to stderr, informational ones "
	  "once per loop turn (before the node waits), warnings and errors at "
	  "once"),
};

#define N_SETTINGS (sizeof(settings) / sizeof(settings[0]))

struct parse {
	config_t *c;
	char *err;
	size_t errlen;
	int failed;
	unsigned char seen[N_SETTINGS];
};

void config_defaults(config_t *c)
{
	memset(c, 0, sizeof(*c));
	for (size_t i = 0; i < N_SETTINGS; i++) {
		const setting_t *s = &settings[i];
		if (s->kind == T_STR)
			snprintf((char *)c + s->off, s->size, "%s", s->def_str);
		else
			*(int64_t *)((char *)c + s->off) = s->def;
	}
}

static int on_value(void *user, const char *section, const char *name,
		    const char *value)
{
	struct parse *p = user;

	if (p->failed)
		return 0;
	for (size_t i = 0; i < N_SETTINGS; i++) {
		const setting_t *s = &settings[i];
		char *end;
		long long v;

		if (strcmp(s->section, section) || strcmp(s->name, name))
			continue;
		p->seen[i] = 1;
		if (s->kind == T_STR) {
			if (strlen(value) >= s->size) {
				snprintf(p->err, p->errlen,
					 "[%s] %s is longer than %zu bytes",
					 section, name, s->size - 1);
				p->failed = 1;
				return 0;
			}
			snprintf((char *)p->c + s->off, s->size, "%s", value);
			return 1;
		}
		errno = 0;
		v = strtoll(value, &end, 10);
		if (errno || end == value || *end) {
			snprintf(p->err, p->errlen,
				 "[%s] %s = \"%s\" is not a whole number in "
				 "%lld..%lld (%s)", section, name, value,
				 (long long)s->min, (long long)s->max, s->help);
			p->failed = 1;
			return 0;
		}
		if (v < s->min || v > s->max) {
			snprintf(p->err, p->errlen,
				 "[%s] %s = %lld is outside %lld..%lld (%s)",
				 section, name, v, (long long)s->min,
				 (long long)s->max, s->help);
			p->failed = 1;
			return 0;
		}
		*(int64_t *)((char *)p->c + s->off) = v;
		return 1;
	}
	snprintf(p->err, p->errlen, "[%s] %s is not a known setting", section,
		 name);
	p->failed = 1;
	return 0;
}

static int validate(config_t *c, struct parse *p)
{
	sign_alg_t alg;

	/* An empty value ("name =") is as missing as no line at all. */
	for (size_t i = 0; i < N_SETTINGS; i++)
		if (settings[i].required &&
		    (!p->seen[i] || (settings[i].kind == T_STR &&
				     !((char *)c + settings[i].off)[0]))) {
			snprintf(p->err, p->errlen, "[%s] %s is required (%s)",
				 settings[i].section, settings[i].name,
				 settings[i].help);
			return REF_E_CONFIG;
		}
	if (!util_node_code_valid(c->code)) {
		snprintf(p->err, p->errlen,
			 "[node] code = \"%s\" is not a six-digit division code",
			 c->code);
		return REF_E_CONFIG;
	}
	if (strncmp(c->listen, "tcp://", 6) != 0) {
		snprintf(p->err, p->errlen,
			 "[node] listen = \"%s\" must be tcp://HOST:PORT",
			 c->listen);
		return REF_E_CONFIG;
	}
	if (sign_alg_from_name(c->alg, &alg)) {
		snprintf(p->err, p->errlen,
			 "[node] alg = \"%s\" must be ed25519 or sm2-sm3", c->alg);
		return REF_E_CONFIG;
	}
	if (strcmp(c->role, "legal_aid_centre") && strcmp(c->role, "court") &&
	    strcmp(c->role, "labour_bureau") && strcmp(c->role, "authority") &&
	    strcmp(c->role, "justice_bureau")) {
		snprintf(p->err, p->errlen,
			 "[node] role = \"%s\" must be legal_aid_centre, court, "
			 "labour_bureau, justice_bureau or authority", c->role);
		return REF_E_CONFIG;
	}
	if (!tzlocal_valid(c->time_zone)) {
		snprintf(p->err, p->errlen,
			 "[node] time_zone = \"%s\" is not a zone in the tz "
			 "database (e.g. Asia/Shanghai)", c->time_zone);
		return REF_E_CONFIG;
	}
	if (c->map_initial_mb > c->map_max_mb) {
		snprintf(p->err, p->errlen,
			 "[store] map_initial_mb (%lld) is larger than "
			 "map_max_mb (%lld)", (long long)c->map_initial_mb,
			 (long long)c->map_max_mb);
		return REF_E_CONFIG;
	}
	if (c->retry_first_ms > c->retry_cap_ms) {
		snprintf(p->err, p->errlen,
			 "[delivery] retry_first_ms is larger than retry_cap_ms");
		return REF_E_CONFIG;
	}
	/* A config written before peer quotas existed may hold a low
	 * submit_limit_pct: the quota left unset follows it down, so such a
	 * node still starts; only a quota set by hand at or over it is
	 * refused. */
	for (size_t i = 0; i < N_SETTINGS; i++)
		if (!strcmp(settings[i].name, "peer_quota_pct") && !p->seen[i] &&
		    c->peer_quota_pct >= c->submit_limit_pct)
			c->peer_quota_pct = c->submit_limit_pct / 2;
	if (c->peer_quota_pct >= c->submit_limit_pct) {
		snprintf(p->err, p->errlen,
			 "[store] peer_quota_pct (%lld) must be smaller than "
			 "submit_limit_pct (%lld): the room above a peer's quota "
			 "is kept for the other peers' deliveries and receipts",
			 (long long)c->peer_quota_pct,
			 (long long)c->submit_limit_pct);
		return REF_E_CONFIG;
	}
	if (c->max_document_bytes >= c->max_message_bytes) {
		snprintf(p->err, p->errlen,
			 "[limits] max_document_bytes must be smaller than "
			 "max_message_bytes");
		return REF_E_CONFIG;
	}
	if (strcmp(c->log_level, "debug") && strcmp(c->log_level, "info") &&
	    strcmp(c->log_level, "warn") && strcmp(c->log_level, "error")) {
		snprintf(p->err, p->errlen,
			 "[daemon] log_level = \"%s\" must be debug, info, warn "
			 "or error", c->log_level);
		return REF_E_CONFIG;
	}
	return 0;
}

int config_parse_text(const char *text, config_t *ret, char *ret_err,
		      size_t errlen)
{
	config_t c;
	struct parse p = { &c, ret_err, errlen, 0, { 0 } };
	int line, r;

	config_defaults(&c);
	line = ini_parse_string(text, on_value, &p);
	if (p.failed)
		return REF_E_CONFIG;
	if (line != 0) {
		snprintf(ret_err, errlen, "line %d does not parse as "
			 "\"key = value\" or \"[section]\"", line);
		return REF_E_CONFIG;
	}
	r = validate(&c, &p);
	if (r)
		return r;
	snprintf(c.data_dir, sizeof(c.data_dir), "%s", ret->data_dir);
	*ret = c;
	return 0;
}

int config_load(const char *data_dir, config_t *ret, char *ret_err,
		size_t errlen)
{
	char path[1024], inner[400];
	config_t c;   /* *ret is written only on success */
	uint8_t *text;
	size_t len;
	int r;

	snprintf(path, sizeof(path), "%s/referrald.conf", data_dir);
	r = util_read_file(path, 1 << 20, &text, &len);
	if (r) {
		snprintf(ret_err, errlen, "cannot read %s: %s", path,
			 ref_strerror(r));
		return r < 0 ? r : REF_E_CONFIG;
	}
	snprintf(c.data_dir, sizeof(c.data_dir), "%s", data_dir);
	r = config_parse_text((char *)text, &c, inner, sizeof(inner));
	free(text);
	if (r)
		snprintf(ret_err, errlen, "%s: %s", path, inner);
	else
		*ret = c;
	return r;
}

int config_write(const config_t *c, const char *path)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	const char *sec = "";
	int r;

	if (!f)
		return -errno;
	fprintf(f, "# referrald configuration. Every setting, its default and "
		   "bounds: docs/CONFIG.md.\n");
	for (size_t i = 0; i < N_SETTINGS; i++) {
		const setting_t *s = &settings[i];
		if (strcmp(sec, s->section)) {
			sec = s->section;
			fprintf(f, "\n[%s]\n", sec);
		}
		fprintf(f, "# %s\n", s->help);
		if (s->kind == T_STR)
			fprintf(f, "%s = %s\n", s->name,
				(const char *)c + s->off);
		else
			fprintf(f, "%s = %lld\n", s->name,
				(long long)*(const int64_t *)((const char *)c +
							       s->off));
	}
	fclose(f);
	r = util_write_file(path, buf, len, 0600);
	free(buf);
	return r;
}

void config_print_table(FILE *f)
{
	fprintf(f, "| section | setting | default | bounds | meaning |\n");
	fprintf(f, "|---|---|---|---|---|\n");
	for (size_t i = 0; i < N_SETTINGS; i++) {
		const setting_t *s = &settings[i];
		fprintf(f, "| `[%s]` | `%s` | ", s->section, s->name);
		if (s->kind == T_STR)
			fprintf(f, "%s | %s | ",
				s->required ? "(required)"
				: *s->def_str ? s->def_str : "\"\"",
				"text");
		else
			fprintf(f, "%lld | %lld to %lld | ", (long long)s->def,
				(long long)s->min, (long long)s->max);
		fprintf(f, "%s |\n", s->help);
	}
}

void config_path(const config_t *c, const char *rel, char *out, size_t len)
{
	if (rel[0] == '/')
		snprintf(out, len, "%s", rel);
	else
		snprintf(out, len, "%s/%s", c->data_dir, rel);
}

int config_set_key_id(const config_t *c)
{
	char path[4200], *out = NULL, *line, *save = NULL;
	uint8_t *text;
	size_t len, olen = 0;
	FILE *f;
	bool done = false;
	int r;

	snprintf(path, sizeof(path), "%s/referrald.conf", c->data_dir);
	r = util_read_file(path, 1 << 20, &text, &len);
	if (r)
		return r;
	f = open_memstream(&out, &olen);
	if (!f) {
		free(text);
		return -ENOMEM;
	}
	for (line = strtok_r((char *)text, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		const char *p = line + strspn(line, " \t");
		if (!done && !strncmp(p, "key_id", 6) &&
		    (p[6] == ' ' || p[6] == '=' || p[6] == '\t')) {
			fprintf(f, "key_id = %s\n", c->key_id);
			done = true;
		} else {
			fprintf(f, "%s\n", line);
		}
	}
	fclose(f);
	free(text);
	r = done ? util_write_file(path, out, olen, 0600) : REF_E_NOT_FOUND;
	free(out);
	return r;
}
