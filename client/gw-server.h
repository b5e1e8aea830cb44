/* gw-server.h: referral-gw's HTTP daemon (libmicrohttpd, one thread per
 * connection, max_connections of them) and its table of routes: which
 * path and method go to which handler, and which need a bearer token.
 *
 * Promises: a request body over max_body_bytes is answered 413 without
 * being read further, and reaches no handler; a route that needs a token
 * gets none without one (401, nothing asked of the node but who the
 * token is); every request gets one log line at info when it is done:
 * method, path (no query values: only the argument names), status, ms
 * and the token's name if known, never the token. Each answer is
 * counted by status in gw->requests (GET /metrics shows them). */
#ifndef REF_GW_SERVER_H
#define REF_GW_SERVER_H

#include <stddef.h>

#include "gw-http.h"

typedef struct gw_server gw_server_t;

/* gw_server_start: listens on gw->conf.listen, with TLS when cert_pem
 * and key_pem (PEM text, borrowed until gw_server_stop) are given.
 * Returns 0, or -errno/REF_E_CONFIG with err saying what failed. */
int gw_server_start(gw_t *gw, const char *cert_pem, const char *key_pem,
		    gw_server_t **ret, char *err, size_t errlen);
/* gw_server_stop: stops listening, waits for the requests under way;
 * safe on NULL and twice. */
void gw_server_stop(gw_server_t **s);

#endif
