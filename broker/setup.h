/* setup.h: a node's start and stop: its settings, the lock on its data
 * folder, the directory and keys (each through its room), the store and
 * its checks, the calendar and rule pack, the schedule from the outbox,
 * and its sockets; then the reverse.
 *
 * A start refuses, with err saying why and what to do, on a bad setting,
 * a second node on the same folder, a private key others can read, a
 * directory that is missing, badly signed or does not list the node as it
 * is, a store that fails its checks, or a directory older than one the
 * node applied before. Nothing stored is changed by a refused start: the
 * start's own turn (node.c) comes after all of it. Writes cfg, store,
 * ctx, lock_fd, started_ms, calendar and rules. */
#ifndef REF_SETUP_H
#define REF_SETUP_H

#include "state.h"

/* setup_open: n (zeroed) set up from data_dir. ret_held: the directory
 * version the store last applied; ret_audit_records: the chain's length.
 * On failure n holds what was opened: setup_close it. */
int setup_open(node_t *n, const char *data_dir, uint64_t *ret_held,
	       uint64_t *ret_audit_records, char *ret_err, size_t errlen);
/* setup_close: everything setup_open opened, closed; safe on a node it
 * set up only in part. */
void setup_close(node_t *n);

#endif
