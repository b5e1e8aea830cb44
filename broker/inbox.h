/* inbox.h: what a reviewer takes out of a referral: its documents (the
 * application's and every supplement's), for "refctl docs" and the
 * gateway. A handler of control.c's table; reads the store, writes no
 * field of the node. */
#ifndef REF_INBOX_H
#define REF_INBOX_H

#include <jansson.h>

#include "state.h"

/* inbox_call_docs: the "docs" operation: {"documents": [{source, type,
 * name, size, sha256, content_base64}]}, the application's first, then
 * each supplement's in the order they were stored; each read is an
 * audit event ("read", detail "docs") naming who asked. */
int inbox_call_docs(node_t *n, const principal_t *who,
		    const Referral__Local__V1__Request *req, json_t *opts,
		    Referral__Local__V1__Reply *rep, char *err, size_t errlen);

#endif
