/* zap.h: ZAP (ZeroMQ RFC 27) for the peer socket: only nodes of the
 * directory in force get in, and each connection carries the code of the
 * node whose CURVE key it proved as its User-Id.
 *
 * A lower part of the node: it knows the directory and its own socket,
 * never the node. The handler is bound before any server socket (without
 * it libzmq would let every CURVE key in). Not thread-safe. */
#ifndef REF_ZAP_H
#define REF_ZAP_H

#include <stdbool.h>
#include <stddef.h>

#include "directory.h"

/* zap_open: binds the handler in ctx (*ret_sock). ret_err says why not. */
int zap_open(void *ctx, void **ret_sock, char *ret_err, size_t errlen);
/* zap_close: closes it; safe twice. */
void zap_close(void **sock);
/* zap_handle: answers one request waiting on sock: admitted if dir lists
 * the key and it is not this node's (self). False when none waited. */
bool zap_handle(void *sock, const directory_t *dir, const char *self);

#endif
