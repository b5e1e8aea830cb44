/* gw-conf.h: referral-gw's own settings, from the file given by
 * --config (referral-gw.conf in the gateway's own folder), over defaults.
 *
 * One table (gw-conf.c) names every setting with its default and bounds,
 * in the manner of the node's proto/config.c; gw_conf_parse_text checks
 * all of it and names the first bad setting, so the gateway never starts
 * on settings it half understood. The gateway holds no secrets: there is
 * no token or key here, only where a TLS certificate and key are. */
#ifndef REF_GW_CONF_H
#define REF_GW_CONF_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef struct {
	/* [http] */
	char listen[256];          /* HOST:PORT; [v6]:PORT */
	int64_t max_body_bytes;
	int64_t request_timeout_ms;
	int64_t max_connections;
	/* [tls] */
	char tls_cert[512];        /* PEM; both or neither */
	char tls_key[512];
	/* [node] */
	int64_t node_timeout_ms;
	int64_t long_poll_max_s;
	/* [console] */
	int64_t session_ttl_s;
	int64_t max_sessions;
	int64_t login_fail_delay_ms;
	int64_t login_fail_max;
	int64_t login_fail_window_s;
	/* [daemon] */
	char log_level[16];
} gw_conf_t;

/* gw_conf_defaults: every setting at its default. */
void gw_conf_defaults(gw_conf_t *c);
/* gw_conf_parse_text: text (an ini file) over the defaults, checked.
 * Returns 0, or REF_E_CONFIG with ret_err naming the line or setting and
 * what is allowed; *ret is written only on success. */
int gw_conf_parse_text(const char *text, gw_conf_t *ret, char *ret_err,
		       size_t errlen);
/* gw_conf_load: the file at path (NULL: only the defaults, checked). The
 * error names the file too. Returns 0, REF_E_CONFIG or -errno. */
int gw_conf_load(const char *path, gw_conf_t *ret, char *ret_err,
		 size_t errlen);
/* gw_conf_set: one setting by name ("listen") as if read from the file,
 * for the command line's overrides; checked again with the rest by
 * gw_conf_check. Returns 0 or REF_E_CONFIG with ret_err. */
int gw_conf_set(gw_conf_t *c, const char *name, const char *value,
		char *ret_err, size_t errlen);
/* gw_conf_check: the checks across settings (both TLS files or neither,
 * listen's form, log_level). Returns 0 or REF_E_CONFIG with ret_err. */
int gw_conf_check(const gw_conf_t *c, char *ret_err, size_t errlen);
/* gw_conf_split_listen: HOST and PORT of listen ("[::1]:8470" gives
 * "::1"). Returns 0 or REF_E_CONFIG. */
int gw_conf_split_listen(const char *listen, char *host, size_t hostlen,
			 char *port, size_t portlen);
/* gw_conf_print_table: every setting as a Markdown table. */
void gw_conf_print_table(FILE *f);

#endif
