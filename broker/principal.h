/* principal.h: who calls on the node's client socket.
 *
 * The client socket (DATA/sock/referrald.sock, ZeroMQ ipc://) tells the
 * node the OS account of the calling process: libzmq reads the Unix
 * socket's SO_PEERCRED and puts it in every message's "Peer-Address"
 * property as "...:UID:GID:PID". This room maps that account to a staff
 * id through [staff] accounts, and promises:
 *
 * - the node's own account and root are the trusted local caller (the
 *   node's own tools, `refctl` run by its operator): their --actor is
 *   taken as given, as it always was;
 * - a mapped account acts as its staff id and nobody else: an --actor
 *   naming another person is refused, and the admin role ([roles]
 *   admins) is judged on the mapped id;
 * - any other account is refused, unless it passes a gateway token on a
 *   named call (referral-gw's account): then the token, checked by
 *   tokens.c, says who acts; or asks for the operations list ("ops"),
 *   which the gateway reads without a token;
 * - with [staff] group set, the data folder (0710) and the socket folder
 *   (0750) and socket (0660) belong to that group: its members reach the
 *   socket and read nothing of the data folder (its files are 0600, its
 *   folders 0700).
 *
 * Writes n->staff (the accounts resolved at start) and nothing else. */
#ifndef REF_PRINCIPAL_H
#define REF_PRINCIPAL_H

#include <stdbool.h>
#include "state.h"

/* principal_open: resolves [staff] accounts (names through the OS's
 * account database, or bare uids) into n->staff. REF_E_CONFIG, with err
 * naming the entry, for a malformed entry, an unknown account, one listed
 * twice, or root or the node's own account listed. */
int principal_open(node_t *n, char *err, size_t errlen);
/* principal_share: with [staff] group set, gives the data folder, the
 * socket folder and the socket to that group (modes 0710, 0750, 0660).
 * REF_E_CONFIG for an unknown group; -errno if the node cannot (its
 * account must own the folder and be in the group). */
int principal_share(node_t *n, char *err, size_t errlen);
void principal_close(node_t *n);
/* principal_local: who a request on the client socket is for. peer is
 * the message's Peer-Address (NULL if libzmq gave none), actor the staff
 * id the client named ("" for none), pass whether the request may come
 * from any account (a named call with a gateway token, or "ops"). On
 * success ret->name is the id the records
 * will name ("" for a token call: the token names it; the --actor as
 * given for the node's own account or root). Refusals:
 * REF_E_UNAUTHENTICATED (no credentials, or an account that is not
 * staff here), REF_E_FORBIDDEN (--actor names another person); err says
 * which, naming the account and the ids. */
int principal_local(node_t *n, const char *peer, const char *actor,
		    bool pass, principal_t *ret, char *err, size_t errlen);
/* principal_peer_uid: the uid in a Peer-Address; -1 if it holds none. */
long principal_peer_uid(const char *peer);

#endif
