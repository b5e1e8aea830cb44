/* node.c: see node.h. The loop.
 *
 * A loop turn (turn()): poll; open the store's turn; answer ZAP requests;
 * read peer messages and receipts and start their checks (on the crypto
 * threads, verifier.h); take client requests meanwhile; then handle the
 * checked messages and receipts in the order they came (each event in its
 * own nested transaction, so it applies whole or not at all); send what
 * the outbox schedule says is due; re-seal a batch; sweep deadlines and
 * send a checkpoint when due; commit the turn; then let go the replies and
 * receipts the commit made true (turn.c). If the commit fails, those
 * replies are dropped (peers resend) or turned into errors (clients retry
 * with the same request id). Only this file opens, commits or aborts a
 * turn (docs/ARCHITECTURE.md, the rooms of the node and who writes what).
 *
 * node_new and node_free set the node up and take it down (setup.c), with
 * the start's own turn here. Writes the node's next_deadline_check. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "checkpoint.h"
#include "control.h"
#include "delivery.h"
#include "dirsync.h"
#include "inbound.h"
#include "keys.h"
#include "log.h"
#include "node.h"
#include "outbox.h"
#include "held.h"
#include "dues.h"
#include "overdue.h"
#include "quota.h"
#include "prune.h"
#include "retention.h"
#include "setup.h"
#include "state.h"
#include "util.h"
#include "zap.h"

static int commit(node_t *n);
static void abort_turn(node_t *n);

int node_new(const char *data_dir, node_t **ret, char *err, size_t errlen)
{
	node_t *n = calloc(1, sizeof(*n));
	uint64_t held = 0, count = 0;
	bool counted = false;
	int r;

	if (!n)
		return -ENOMEM;
	r = setup_open(n, data_dir, &held, &count, err, errlen);
	if (r)
		goto fail;
	/* The start's own turn, with room for it first: a store stopped
	 * near its map's end (a map_initial_mb smaller than the file, or a
	 * limit raised since) would otherwise refuse to start at all. */
	store_maybe_grow(n->store);
	r = turn_begin(&n->turn, n->store);
	if (!r && held < n->dir->version)
		r = dirsync_applied(n, n->dir->version, "at start");
	if (!r)
		r = keys_turn(n);
	if (!r)
		r = state_audit(n, "node_started", NULL, NULL, NULL, "node", "ok",
				NULL);
	if (!r)
		r = checkpoint_announce_restore(n);
	if (!r)
		r = quota_start(n, &counted);
	if (!r && counted)
		r = held_start(n);
	if (!r)
		r = commit(n);
	else
		abort_turn(n);
	checkpoint_after_commit(n, r == 0);
	if (!r)
		keys_after_commit(n);
	if (r) {
		snprintf(err, errlen, "cannot write to the store: %s",
			 ref_strerror(r));
		goto fail;
	}
	log_msg(LOG_INFO, "node", "started node=%s listen=%s directory=%llu "
		"pending=%zu audit_records=%llu", n->cfg.code, n->cfg.listen,
		(unsigned long long)n->dir->version, schedule_count(&n->sched),
		(unsigned long long)count);
	*ret = n;
	return 0;
fail:
	node_free(&n);
	return r ? r : -EIO;
}

void node_free(node_t **np)
{
	if (!np || !*np)
		return;
	setup_close(*np);
	outbox_drop_drafts(*np);
	free((*np)->drafts);
	dues_free(*np);
	free(*np);
	*np = NULL;
}

/* Every commit of the loop: the turn's new messages signed first, as a
 * batch, so nothing unsigned is ever committed; a turn that cannot sign
 * them is aborted whole. */
static int commit(node_t *n)
{
	int r = outbox_seal_turn(n);

	if (r) {
		log_msg(LOG_ERROR, "store", "the turn's messages could not be "
			"signed: %s; its replies are withheld", ref_strerror(r));
		turn_abort(&n->turn, n->store);
		return r;
	}
	return turn_commit(&n->turn, n->store, &n->sched);
}

/* An aborted turn takes its unsigned messages with it. */
static void abort_turn(node_t *n)
{
	dues_forget(n);
	outbox_drop_drafts(n);
	turn_abort(&n->turn, n->store);
}

/* When the loop must look again: the next due message, at most 200 ms
 * away so that a signal that lands just before the poll is seen soon. */
static long poll_timeout(node_t *n)
{
	uint64_t now = util_now_ms(), next = schedule_next_due(&n->sched, now);

	if (next <= now)
		return 0;
	return next - now > 200 ? 200 : (long)(next - now);
}

/* One turn: everything that happened since the last poll, in one synced
 * commit, then the replies it made true. */
static int turn(node_t *n, zmq_pollitem_t *items, bool reload)
{
	int r = turn_begin(&n->turn, n->store);

	if (r) {
		abort_turn(n);
		return r;
	}
	if (reload)
		dirsync_reload(n);
	if (items[0].revents & ZMQ_POLLIN)
		for (int k = 0; k < 16 && zap_handle(n->zap, n->dir,
						      n->cfg.code); k++)
			;
	/* Peer messages and receipts are read first and checked on the
	 * crypto threads while the loop takes the clients' requests; then
	 * they are handled, in the order they came (verifier.h). */
	if (items[1].revents & ZMQ_POLLIN)
		inbound_read(n);
	delivery_read(n, items, 4);
	if (items[3].revents & ZMQ_POLLIN)
		peers_drain_monitor(&n->peers);
	peers_drain_handshakes(&n->peers);
	if (items[2].revents & ZMQ_POLLIN)
		control_drain(n);
	inbound_handle(n);
	delivery_handle(n);
	delivery_run(n);
	keys_reseal_step(n);
	prune_step(n);
	overdue_step(n);
	if (util_mono_ms() >= n->next_deadline_check) {
		n->next_deadline_check = util_mono_ms() +
					 (uint64_t)n->cfg.deadline_check_ms;
		overdue_check(n);
		held_sweep(n);
		checkpoint_maybe(n);
		/* A rotated key whose window opens later. */
		keys_maybe_switch(n);
		retention_step(n);
	}
	keys_turn(n);
	if (n->store_nudge)
		delivery_nudge(n);
	r = commit(n);
	if (!r)
		keys_after_commit(n);
	dirsync_after_commit(n, r == 0);
	checkpoint_after_commit(n, r == 0);
	return r;
}

int node_run(node_t *n, volatile sig_atomic_t *stop,
	     volatile sig_atomic_t *reload)
{
	zmq_pollitem_t *items = NULL;
	int r = 0;

	while (!*stop) {
		size_t ni;
		zmq_pollitem_t *ni_items;
		bool again = false;

		ni = 4 + n->peers.n;
		ni_items = realloc(items, ni * sizeof(*items));
		if (!ni_items) {
			r = -ENOMEM;
			break;
		}
		items = ni_items;
		memset(items, 0, ni * sizeof(*items));
		items[0].socket = n->zap;
		items[1].socket = n->peers.router;
		items[2].socket = n->client;
		items[3].socket = n->peers.router_mon;
		for (size_t i = 0; i < n->peers.n; i++)
			items[4 + i].socket = n->peers.v[i].dealer;
		for (size_t i = 0; i < ni; i++)
			items[i].events = items[i].socket ? ZMQ_POLLIN : 0;
		store_maybe_grow(n->store);
		log_flush();
		if (*reload) {
			/* Read in this turn, without waiting for a socket. */
			*reload = 0;
			again = true;
		} else if (zmq_poll(items, (int)ni, poll_timeout(n)) < 0) {
			if (errno == EINTR)
				continue;
			r = -errno;
			log_msg(LOG_ERROR, "node", "poll failed: %s",
				zmq_strerror(errno));
			break;
		}
		r = turn(n, items, again);
		if (r == -EIO || store_failed(n->store)) {
			/* fsync failed: what the kernel kept is unknown, so
			 * retrying could acknowledge lost data; or LMDB cannot
			 * go on without reopening. Stop; a start checks the
			 * store and resumes from its last good state. */
			log_msg(LOG_ERROR, "node", "stopping: the store could not "
				"be synced to disk (EIO: %s); restart once the "
				"disk is healthy (or has room)",
				store_last_error(n->store));
			r = -EIO;
			break;
		}
		r = 0;
	}
	free(items);
	if (!r) {
		if (!turn_begin(&n->turn, n->store) &&
		    !state_audit(n, "node_stopped", NULL, NULL, NULL, "node",
				 "ok", NULL))
			commit(n);
		else
			abort_turn(n);
		log_msg(LOG_INFO, "node", "stopped node=%s", n->cfg.code);
	}
	return r;
}
