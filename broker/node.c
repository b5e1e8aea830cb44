/* node.c: see node.h. The loop, and the node's setup.
 *
 * A loop turn (turn()): poll; open the store's turn; answer ZAP requests;
 * drain peer messages, receipts and client requests (each event in its
 * own nested transaction, so it applies whole or not at all); send what
 * the outbox schedule says is due; re-seal a batch; sweep deadlines and
 * send a checkpoint when due; commit the turn; then let go the replies and
 * receipts the commit made true (turn.c). If the commit fails, those
 * replies are dropped (peers resend) or turned into errors (clients retry
 * with the same request id). Only this file opens, commits or aborts a
 * turn (docs/ARCHITECTURE.md, the rooms of the node and who writes what).
 *
 * Writes the node's cfg, store, ctx, lock_fd, started_ms,
 * next_deadline_check, calendar, rules and zap (through zap.c). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

#include "audit.h"
#include "checkpoint.h"
#include "control.h"
#include "delivery.h"
#include "dirsync.h"
#include "inbound.h"
#include "keys.h"
#include "log.h"
#include "node.h"
#include "overdue.h"
#include "state.h"
#include "util.h"
#include "zap.h"

int node_new(const char *data_dir, node_t **ret, char *err, size_t errlen)
{
	node_t *n = calloc(1, sizeof(*n));
	char path[PATH_MAX + 64], inner[600], abs[PATH_MAX];
	store_opts_t so = { 0 };
	uint64_t bad, count, held = 0;
	int r;

	if (!n)
		return -ENOMEM;
	n->lock_fd = -1;
	turn_init(&n->turn);
	schedule_init(&n->sched);
	checkpoint_init(n);
	/* Absolute, so the client socket's path does not depend on the
	 * working folder of whoever started the node. */
	if (realpath(data_dir, abs))
		data_dir = abs;
	n->started_ms = util_now_ms();
	r = config_load(data_dir, &n->cfg, err, errlen);
	if (r)
		goto fail;
	log_set_level(log_level_from_name(n->cfg.log_level));
	keys_init(n);

	snprintf(path, sizeof(path), "%s/referrald.lock", data_dir);
	n->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (n->lock_fd < 0 || flock(n->lock_fd, LOCK_EX | LOCK_NB) < 0) {
		r = -errno;
		snprintf(err, errlen, "another referrald is running on %s "
			 "(cannot lock %s)", data_dir, path);
		goto fail;
	}
	r = keys_load_curve(n, err, errlen);
	if (r)
		goto fail;
	r = dirsync_open(n, err, errlen);
	if (r)
		goto fail;
	r = keys_finish_files(n, err, errlen);
	if (r)
		goto fail;
	r = keys_load_signing(n, err, errlen);
	if (r)
		goto fail;
	r = dirsync_check_self(n, n->dir, err, errlen);
	if (r == REF_E_DIRECTORY) {
		bool done;
		int f = keys_finish_switch(n, &done, err, errlen);
		if (f)
			r = f;
		else if (done)
			r = dirsync_check_self(n, n->dir, err, errlen);
	}
	if (r)
		goto fail;

	if (n->cfg.holidays[0] || n->cfg.rules[0]) {
		uint8_t *text;
		size_t tl;
		char what[600];

		if (n->cfg.holidays[0]) {
			config_path(&n->cfg, n->cfg.holidays, path, sizeof(path));
			r = util_read_file(path, 1 << 20, &text, &tl);
			if (!r) {
				r = calendar_parse((char *)text, &n->calendar,
						   what, sizeof(what));
				free(text);
			} else {
				snprintf(what, sizeof(what), "%s", ref_strerror(r));
			}
			if (r) {
				snprintf(err, errlen, "refusing to start: the "
					 "holiday calendar %s ([deadlines] "
					 "holidays): %s", path, what);
				goto fail;
			}
		}
		if (n->cfg.rules[0]) {
			config_path(&n->cfg, n->cfg.rules, path, sizeof(path));
			r = util_read_file(path, 1 << 20, &text, &tl);
			if (!r) {
				r = rules_parse((char *)text, &n->rules, what,
						sizeof(what));
				free(text);
			} else {
				snprintf(what, sizeof(what), "%s", ref_strerror(r));
			}
			if (r) {
				snprintf(err, errlen, "refusing to start: the rule "
					 "pack %s ([eligibility] rules): %s", path,
					 what);
				goto fail;
			}
		}
	}
	snprintf(path, sizeof(path), "%s/store", data_dir);
	so.map_initial = (size_t)n->cfg.map_initial_mb << 20;
	so.map_max = (size_t)n->cfg.map_max_mb << 20;
	so.submit_limit_pct = (unsigned)n->cfg.submit_limit_pct;
	/* Room for a turn's largest writes: an envelope in the outbox or
	 * inbox, its receipt, and the records around them. */
	so.reserve = (size_t)n->cfg.max_message_bytes * 2 + (1u << 20);
	r = store_open(path, &so, &n->store);
	if (r) {
		snprintf(err, errlen, "refusing to start: the store in %s cannot "
			 "be opened: %s; it was not changed", path,
			 store_open_error()[0] ? store_open_error()
					       : ref_strerror(r));
		goto fail;
	}
	r = keys_open_data(n, err, errlen);
	if (r)
		goto fail;
	r = store_check(n->store, inner, sizeof(inner));
	if (!r)
		r = audit_verify(n->store, &bad, &count);
	if (r) {
		snprintf(err, errlen, "refusing to start: the store in %s fails "
			 "its checks (%s); it was not changed: restore it from "
			 "a backup", path,
			 r == REF_E_CORRUPT && inner[0] ? inner : ref_strerror(r));
		goto fail;
	}
	r = dirsync_version_held(n, &held);
	if (r) {
		snprintf(err, errlen, "refusing to start: the directory version "
			 "this node applied cannot be read from its store (%s)",
			 ref_strerror(r));
		goto fail;
	}
	if (held > n->dir->version) {
		r = REF_E_DIRECTORY;
		snprintf(err, errlen, "refusing to start: directory.json is "
			 "version %llu, older than version %llu that this node "
			 "applied before; install the newer directory",
			 (unsigned long long)n->dir->version,
			 (unsigned long long)held);
		goto fail;
	}
	r = delivery_load(n);
	if (r) {
		snprintf(err, errlen, "cannot load the outbox: %s", ref_strerror(r));
		goto fail;
	}

	n->ctx = zmq_ctx_new();
	/* Three sockets a peer (its DEALER, the monitor's two ends) and a
	 * province's directory of several hundred nodes: past libzmq's
	 * default of 1023. */
	if (n->ctx)
		zmq_ctx_set(n->ctx, ZMQ_MAX_SOCKETS, 8192);
	if (!n->ctx) {
		r = -errno;
		snprintf(err, errlen, "cannot make a ZeroMQ context: %s",
			 zmq_strerror(errno));
		goto fail;
	}
	{
		peers_opts_t po = {
			n->cfg.linger_ms, n->cfg.heartbeat_ms,
			n->cfg.max_message_bytes, n->cfg.max_connections,
			n->cfg.handshake_ms, n->cfg.peer_rate_per_s, "", ""
		};
		snprintf(po.curve_pub, sizeof(po.curve_pub), "%s", n->curve_pub);
		snprintf(po.curve_sec, sizeof(po.curve_sec), "%s", n->curve_sec);
		peers_init(&n->peers, n->ctx, &po);
	}
	/* The ZAP handler is bound before any server socket: without it
	 * libzmq would let every CURVE key in. */
	r = zap_open(n->ctx, &n->zap, err, errlen);
	if (r)
		goto fail;
	r = peers_router_open(&n->peers, n->cfg.listen, err, errlen);
	if (r)
		goto fail;
	r = control_open(n, err, errlen);
	if (r)
		goto fail;
	/* The start's own turn. */
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
		r = turn_commit(&n->turn, n->store, &n->sched);
	else
		turn_abort(&n->turn, n->store);
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
	node_t *n = np ? *np : NULL;

	if (!n)
		return;
	/* Whatever a turn left queued goes with it. */
	if (n->store)
		turn_abort(&n->turn, n->store);
	peers_free(&n->peers);
	control_close(n);
	zap_close(&n->zap);
	if (n->ctx)
		zmq_ctx_term(n->ctx);
	store_close(&n->store);
	dirsync_free(n);
	calendar_free(&n->calendar);
	rules_free(&n->rules);
	keys_free(n);
	if (n->lock_fd >= 0)
		close(n->lock_fd);
	schedule_free(&n->sched);
	free(n);
	*np = NULL;
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
		turn_abort(&n->turn, n->store);
		return r;
	}
	if (reload)
		dirsync_reload(n);
	if (items[0].revents & ZMQ_POLLIN)
		for (int k = 0; k < 16 && zap_handle(n->zap, n->dir,
						      n->cfg.code); k++)
			;
	if (items[1].revents & ZMQ_POLLIN)
		inbound_drain(n);
	if (items[3].revents & ZMQ_POLLIN)
		peers_drain_monitor(&n->peers);
	delivery_drain(n, items, 4);
	peers_drain_handshakes(&n->peers);
	if (items[2].revents & ZMQ_POLLIN)
		control_drain(n);
	delivery_run(n);
	keys_reseal_step(n);
	if (util_mono_ms() >= n->next_deadline_check) {
		n->next_deadline_check = util_mono_ms() +
					 (uint64_t)n->cfg.deadline_check_ms;
		overdue_check(n);
		checkpoint_maybe(n);
		/* A rotated key whose window opens later. */
		keys_maybe_switch(n);
	}
	keys_turn(n);
	if (n->store_nudge)
		delivery_nudge(n);
	r = turn_commit(&n->turn, n->store, &n->sched);
	if (!r)
		keys_after_commit(n);
	dirsync_after_commit(n, r == 0);
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
			turn_commit(&n->turn, n->store, &n->sched);
		else
			turn_abort(&n->turn, n->store);
		log_msg(LOG_INFO, "node", "stopped node=%s", n->cfg.code);
	}
	return r;
}
