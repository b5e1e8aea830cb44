/* gw-conf.c: see gw-conf.h. inih reads the file; this table is the only
 * place a gateway setting, its default and its bounds are named (as
 * proto/config.c is for the node). */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ini.h>

#include "errors.h"
#include "gw-conf.h"
#include "util.h"

typedef enum { T_STR, T_INT } kind_t;

typedef struct {
	const char *section, *name;
	kind_t kind;
	size_t off, size;     /* size: for strings, the buffer */
	const char *def_str;
	int64_t def, min, max;
	const char *help;
} setting_t;

#define S(sec, nm, def, help) \
	{ sec, #nm, T_STR, offsetof(gw_conf_t, nm), \
	  sizeof(((gw_conf_t *)0)->nm), def, 0, 0, 0, help }
#define I(sec, nm, def, lo, hi, help) \
	{ sec, #nm, T_INT, offsetof(gw_conf_t, nm), 0, NULL, def, lo, hi, help }

static const setting_t settings[] = {
	S("http", listen, "127.0.0.1:8470",
	  "where the gateway listens, HOST:PORT or [IPv6]:PORT (--listen "
	  "overrides)"),
	I("http", max_body_bytes, 8 << 20, 1024, 256 << 20,
	  "largest request body; more gets 413 and changes nothing"),
	I("http", request_timeout_ms, 30000, 1000, 600000,
	  "a connection idle this long while a request or reply is under "
	  "way is closed (whole seconds, rounded up)"),
	I("http", max_connections, 64, 1, 4096,
	  "connections served at once, each on its own thread; more wait "
	  "in the kernel's backlog"),
	S("tls", tls_cert, "",
	  "PEM certificate chain: with tls_key, the gateway serves HTTPS only"),
	S("tls", tls_key, "", "PEM private key of tls_cert (mode 0600 or 0640)"),
	I("node", node_timeout_ms, 10000, 100, 600000,
	  "how long one call to the node may take before it is retried "
	  "(three tries) and then answered 503"),
	I("node", long_poll_max_s, 30, 0, 300,
	  "longest wait= of GET /v1/events; longer waits are cut to this"),
	I("console", session_ttl_s, 3600, 60, 86400,
	  "a console login lasts this long (the token's own expiry and "
	  "revocation still apply at every call)"),
	I("console", max_sessions, 1000, 1, 10000,
	  "console sessions held at once; the oldest goes first"),
	I("console", login_fail_delay_ms, 500, 0, 10000,
	  "a failed console login is answered after this delay, doubled "
	  "for each earlier failure from the same address (at most 30 s)"),
	I("console", login_fail_max, 10, 1, 1000,
	  "after this many failed logins from one address, its logins are "
	  "refused (429) until login_fail_window_s has passed"),
	I("console", login_fail_window_s, 900, 1, 86400,
	  "failed logins from an address are forgotten this long after its "
	  "last one"),
	S("daemon", log_level, "info", "debug, info, warn or error"),
};

#define N_SETTINGS (sizeof(settings) / sizeof(settings[0]))

struct parse {
	gw_conf_t *c;
	char *err;
	size_t errlen;
	int failed;
};

void gw_conf_defaults(gw_conf_t *c)
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

/* One value into its field, checked against its bounds. section NULL:
 * any section (the command line names settings without one). */
static int set_one(gw_conf_t *c, const char *section, const char *name,
		   const char *value, char *err, size_t errlen)
{
	for (size_t i = 0; i < N_SETTINGS; i++) {
		const setting_t *s = &settings[i];
		char *end;
		long long v;

		if ((section && strcmp(s->section, section)) ||
		    strcmp(s->name, name))
			continue;
		if (s->kind == T_STR) {
			if (strlen(value) >= s->size) {
				snprintf(err, errlen, "[%s] %s is longer than "
					 "%zu bytes", s->section, name,
					 s->size - 1);
				return REF_E_CONFIG;
			}
			snprintf((char *)c + s->off, s->size, "%s", value);
			return 0;
		}
		errno = 0;
		v = strtoll(value, &end, 10);
		if (errno || end == value || *end) {
			snprintf(err, errlen, "[%s] %s = \"%s\" is not a whole "
				 "number in %lld..%lld (%s)", s->section, name,
				 value, (long long)s->min, (long long)s->max,
				 s->help);
			return REF_E_CONFIG;
		}
		if (v < s->min || v > s->max) {
			snprintf(err, errlen, "[%s] %s = %lld is outside "
				 "%lld..%lld (%s)", s->section, name, v,
				 (long long)s->min, (long long)s->max, s->help);
			return REF_E_CONFIG;
		}
		*(int64_t *)((char *)c + s->off) = v;
		return 0;
	}
	if (section)
		snprintf(err, errlen, "[%s] %s is not a known setting", section,
			 name);
	else
		snprintf(err, errlen, "%s is not a known setting", name);
	return REF_E_CONFIG;
}

static int on_value(void *user, const char *section, const char *name,
		    const char *value)
{
	struct parse *p = user;

	if (p->failed)
		return 0;
	if (set_one(p->c, section, name, value, p->err, p->errlen)) {
		p->failed = 1;
		return 0;
	}
	return 1;
}

int gw_conf_split_listen(const char *listen, char *host, size_t hostlen,
			 char *port, size_t portlen)
{
	const char *colon, *h = listen;
	size_t hl;
	char *end;
	long pn;

	if (listen[0] == '[') {
		const char *close = strchr(listen, ']');
		if (!close || close[1] != ':')
			return REF_E_CONFIG;
		h = listen + 1;
		hl = (size_t)(close - h);
		colon = close + 1;
	} else {
		colon = strrchr(listen, ':');
		if (!colon || strchr(listen, ':') != colon)
			return REF_E_CONFIG;
		hl = (size_t)(colon - listen);
	}
	if (hl == 0 || hl >= hostlen || strlen(colon + 1) >= portlen)
		return REF_E_CONFIG;
	errno = 0;
	pn = strtol(colon + 1, &end, 10);
	if (errno || end == colon + 1 || *end || pn < 1 || pn > 65535)
		return REF_E_CONFIG;
	memcpy(host, h, hl);
	host[hl] = 0;
	snprintf(port, portlen, "%ld", pn);
	return 0;
}

int gw_conf_check(const gw_conf_t *c, char *err, size_t errlen)
{
	char host[256], port[8];

	if (gw_conf_split_listen(c->listen, host, sizeof(host), port,
				 sizeof(port))) {
		snprintf(err, errlen, "[http] listen = \"%s\" must be "
			 "HOST:PORT or [IPv6]:PORT, with a port in 1..65535",
			 c->listen);
		return REF_E_CONFIG;
	}
	if (!c->tls_cert[0] != !c->tls_key[0]) {
		snprintf(err, errlen, "[tls] %s is set but %s is not: give both "
			 "(HTTPS) or neither (plain HTTP)",
			 c->tls_cert[0] ? "tls_cert" : "tls_key",
			 c->tls_cert[0] ? "tls_key" : "tls_cert");
		return REF_E_CONFIG;
	}
	if (strcmp(c->log_level, "debug") && strcmp(c->log_level, "info") &&
	    strcmp(c->log_level, "warn") && strcmp(c->log_level, "error")) {
		snprintf(err, errlen, "[daemon] log_level = \"%s\" must be "
			 "debug, info, warn or error", c->log_level);
		return REF_E_CONFIG;
	}
	return 0;
}

int gw_conf_set(gw_conf_t *c, const char *name, const char *value,
		char *ret_err, size_t errlen)
{
	return set_one(c, NULL, name, value, ret_err, errlen);
}

int gw_conf_parse_text(const char *text, gw_conf_t *ret, char *ret_err,
		       size_t errlen)
{
	gw_conf_t c;
	struct parse p = { &c, ret_err, errlen, 0 };
	int line, r;

	gw_conf_defaults(&c);
	line = ini_parse_string(text, on_value, &p);
	if (p.failed)
		return REF_E_CONFIG;
	if (line != 0) {
		snprintf(ret_err, errlen, "line %d does not parse as "
			 "\"key = value\" or \"[section]\"", line);
		return REF_E_CONFIG;
	}
	r = gw_conf_check(&c, ret_err, errlen);
	if (r)
		return r;
	*ret = c;
	return 0;
}

int gw_conf_load(const char *path, gw_conf_t *ret, char *ret_err,
		 size_t errlen)
{
	char inner[600];
	uint8_t *text;
	size_t len;
	int r;

	if (!path)
		return gw_conf_parse_text("", ret, ret_err, errlen);
	r = util_read_file(path, 1 << 20, &text, &len);
	if (r) {
		snprintf(ret_err, errlen, "cannot read %s: %s", path,
			 ref_strerror(r));
		return r < 0 ? r : REF_E_CONFIG;
	}
	r = gw_conf_parse_text((char *)text, ret, inner, sizeof(inner));
	free(text);
	if (r)
		snprintf(ret_err, errlen, "%s: %s", path, inner);
	return r;
}

void gw_conf_print_table(FILE *f)
{
	fprintf(f, "| section | setting | default | bounds | meaning |\n");
	fprintf(f, "|---|---|---|---|---|\n");
	for (size_t i = 0; i < N_SETTINGS; i++) {
		const setting_t *s = &settings[i];
		fprintf(f, "| `[%s]` | `%s` | ", s->section, s->name);
		if (s->kind == T_STR)
			fprintf(f, "%s | text | ",
				*s->def_str ? s->def_str : "\"\"");
		else
			fprintf(f, "%lld | %lld to %lld | ", (long long)s->def,
				(long long)s->min, (long long)s->max);
		fprintf(f, "%s |\n", s->help);
	}
}
