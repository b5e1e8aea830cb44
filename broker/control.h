/* control.h: the local clients' operations (refctl, libreferral, the
 * gateway): one table of name, required role and handler, checked in one
 * place.
 *
 * Each request is checked once here, in this order: it parses; its staff
 * id is one a log can hold; the operation is in the table; its body is
 * within [limits]; the caller holds the operation's role ([roles] admins
 * for the admin's operations; a refusal is recorded where the table says
 * so); a retried request id gets its first answer and changes nothing (the
 * one place this is checked). Then its handler runs, in its own event for
 * an operation that writes, and the reply is queued in the turn: sent
 * after the commit, or replaced by "retry" if the turn fails.
 *
 * A new client operation is a row in the table (control.c) and a handler
 * in the room that owns what it changes. Writes the node's client socket. */
#ifndef REF_CONTROL_H
#define REF_CONTROL_H

#include "state.h"

/* control_open: binds DATA/sock/referrald.sock (folder 0750, socket
 * 0660: the node's group may connect). */
int control_open(node_t *n, char *ret_err, size_t errlen);
void control_close(node_t *n);
/* control_drain: the requests waiting (a turn's worth). */
void control_drain(node_t *n);
/* control_check: would actor be let through operation op (a
 * Referral__Local__V1__Op)? 0, or REF_E_INVALID (no such operation) or
 * REF_E_REFUSED (the role) with *ret_why saying so. For tests and for
 * tools that list what a caller may do. */
int control_check(node_t *n, int op, const char *actor, const char **ret_why);
/* control_check_call: the same for an operation by name and a caller
 * (a token's holder or a local staff id): 0, REF_E_NOT_FOUND (no such
 * operation), REF_E_FORBIDDEN (a token's scope) or REF_E_REFUSED (a local
 * caller's role), with *ret_why saying so. */
int control_check_call(node_t *n, const char *name, const principal_t *who,
		       const char **ret_why);

#endif
