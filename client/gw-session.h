/* gw-session.h: the admin console's logins: sessions behind an HttpOnly,
 * SameSite=Strict cookie, each with its own CSRF token, and the slowing
 * down of repeated failed logins per client address.
 *
 * Promises: a session lives session_ttl_s at most and only in memory (a
 * restart logs everyone out); it holds the token the user typed, which
 * is passed to the node with every call exactly as a bearer header
 * would be, so the node's expiry and revocation apply at once. Ids and
 * CSRF tokens come from getrandom and are compared in constant time. No
 * more than max_sessions live at once: the one that would expire first
 * makes room. Thread-safe (one lock). */
#ifndef REF_GW_SESSION_H
#define REF_GW_SESSION_H

#include <stddef.h>
#include <stdint.h>

#include "gw-conf.h"
#include "gw-http.h"

#define GW_SESSION_ID_LEN 64    /* hex digits */
#define GW_CSRF_LEN 32

/* gw_sessions_new: for the [console] settings of c; NULL without memory. */
gw_sessions_t *gw_sessions_new(const gw_conf_t *c);
/* gw_sessions_free: wipes every token held; safe on NULL and twice. */
void gw_sessions_free(gw_sessions_t **s);

/* gw_sessions_open: a session for token (copied), whose holder is name.
 * Writes its id and CSRF token. Returns 0 or -errno (no randomness). */
int gw_sessions_open(gw_sessions_t *s, const char *token, const char *name,
		     char ret_id[GW_SESSION_ID_LEN + 1],
		     char ret_csrf[GW_CSRF_LEN + 1]);
/* gw_sessions_get: the token, holder and CSRF token of live session id.
 * Returns 0, or REF_E_NOT_FOUND for an unknown or expired one. */
int gw_sessions_get(gw_sessions_t *s, const char *id,
		    char ret_token[GW_TOKEN_MAX + 1], char ret_name[128],
		    char ret_csrf[GW_CSRF_LEN + 1]);
/* gw_sessions_close: ends session id (logout); unknown ids are ignored. */
void gw_sessions_close(gw_sessions_t *s, const char *id);
/* gw_sessions_csrf_ok: a form's CSRF token against the session's, in
 * constant time; false for NULL or a wrong length. */
bool gw_sessions_csrf_ok(const char *want, const char *got);

/* gw_sessions_login_blocked: seconds until addr may try to log in again
 * (it failed login_fail_max times within login_fail_window_s), or 0. */
int64_t gw_sessions_login_blocked(gw_sessions_t *s, const char *addr);
/* gw_sessions_login_failed: records a failure from addr; returns how
 * many it has now and, in *ret_delay_ms, how long to wait before
 * answering: login_fail_delay_ms doubled per earlier failure, at most
 * 30 s. */
int gw_sessions_login_failed(gw_sessions_t *s, const char *addr,
			     int64_t *ret_delay_ms);
/* gw_sessions_login_ok: forgets addr's failures. */
void gw_sessions_login_ok(gw_sessions_t *s, const char *addr);

#endif
