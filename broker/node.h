/* node.h: one running referrald: its keys, directory, store and sockets,
 * and the loop that serves peers and local clients.
 *
 * Promises (DESIGN.md "Durability"):
 * - One thread, one writer: each loop turn gathers the writes of every
 *   event it handled into one synced LMDB transaction, and only after that
 *   commit do the replies and receipts that depend on it leave.
 * - An envelope is written to the outbox before anyone is told it is
 *   accepted, and resent unchanged (same bytes, same msg_id) with
 *   exponential backoff and jitter until a signed receipt arrives or its
 *   lifetime ends (then it is dead, for an admin to see).
 * - Incoming envelopes are checked in the wire contract's order; each
 *   failure is answered with a signed negative receipt, audited, and
 *   changes nothing else. A msg_id is applied once.
 * - A referral's status changes apply in referral_seq order on both nodes,
 *   and both hold the same history (docs/LIFECYCLE.md). */
#ifndef REF_NODE_H
#define REF_NODE_H

#include <signal.h>
#include <stddef.h>

typedef struct node node_t;

/* node_new: loads DIR (config, keys, signed directory, store), binds the
 * sockets. On failure ret_err says what is wrong and what to do. */
int node_new(const char *data_dir, node_t **ret, char *ret_err, size_t errlen);
/* node_run: serves until *stop is set; *reload asks for the directory to
 * be read again. Returns 0 after a clean stop, or a fatal error (e.g. -EIO
 * from a failed fsync) after logging it. */
int node_run(node_t *n, volatile sig_atomic_t *stop,
	     volatile sig_atomic_t *reload);
void node_free(node_t **n);

#endif
