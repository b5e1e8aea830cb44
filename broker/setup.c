/* setup.c: see setup.h. Writes the node's cfg, store, ctx, lock_fd,
 * started_ms, calendar and rules, and opens (through their rooms) the
 * directory, the keys, the sockets and the schedule. */
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
#include "calendar.h"
#include "checkpoint.h"
#include "control.h"
#include "delivery.h"
#include "dirsync.h"
#include "keys.h"
#include "log.h"
#include "principal.h"
#include "prune.h"
#include "setup.h"
#include "tzlocal.h"
#include "util.h"
#include "zap.h"

int setup_open(node_t *n, const char *data_dir, uint64_t *ret_held,
	       uint64_t *ret_audit_records, char *err, size_t errlen)
{
	char path[PATH_MAX + 64], inner[600], abs[PATH_MAX];
	store_opts_t so = { 0 };
	uint64_t bad, count, held = 0;
	int r;

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
		return r;
	log_set_level(log_level_from_name(n->cfg.log_level));
	keys_init(n);
	r = principal_open(n, err, errlen);
	if (r)
		return r;

	snprintf(path, sizeof(path), "%s/referrald.lock", data_dir);
	n->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (n->lock_fd < 0 || flock(n->lock_fd, LOCK_EX | LOCK_NB) < 0) {
		r = -errno;
		snprintf(err, errlen, "another referrald is running on %s "
			 "(cannot lock %s)", data_dir, path);
		return r;
	}
	r = keys_load_curve(n, err, errlen);
	if (r)
		return r;
	r = dirsync_open(n, err, errlen);
	if (r)
		return r;
	r = keys_finish_files(n, err, errlen);
	if (r)
		return r;
	r = keys_load_signing(n, err, errlen);
	if (r)
		return r;
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
		return r;
	/* A directory that revoked the current key for the next one: switch
	 * before the first turn signs anything. */
	keys_maybe_switch(n);

	/* People read times in the node's zone (the config checked it). */
	r = tzlocal_use(n->cfg.time_zone);
	if (!r)
		r = calendar_load(n, err, errlen);
	if (r)
		return r;
	if (n->cfg.rules[0]) {
		uint8_t *text;
		size_t tl;
		char what[600];

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
				return r;
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
		return r;
	}
	r = keys_open_data(n, err, errlen);
	if (r)
		return r;
	r = store_check(n->store, inner, sizeof(inner));
	if (!r)
		r = audit_verify(n->store, &bad, &count);
	if (r) {
		snprintf(err, errlen, "refusing to start: the store in %s fails "
			 "its checks (%s); it was not changed: restore it from "
			 "a backup", path,
			 r == REF_E_CORRUPT && inner[0] ? inner : ref_strerror(r));
		return r;
	}
	r = prune_open(n);
	if (r) {
		snprintf(err, errlen, "refusing to start: the dedup horizon "
			 "cannot be read from the store (%s)", ref_strerror(r));
		return r;
	}
	r = dirsync_version_held(n, &held);
	if (r) {
		snprintf(err, errlen, "refusing to start: the directory version "
			 "this node applied cannot be read from its store (%s)",
			 ref_strerror(r));
		return r;
	}
	if (held > n->dir->version) {
		r = REF_E_DIRECTORY;
		snprintf(err, errlen, "refusing to start: directory.json is "
			 "version %llu, older than version %llu that this node "
			 "applied before; install the newer directory",
			 (unsigned long long)n->dir->version,
			 (unsigned long long)held);
		return r;
	}
	r = delivery_load(n);
	if (r) {
		snprintf(err, errlen, "cannot load the outbox: %s", ref_strerror(r));
		return r;
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
		return r;
	}
	{
		peers_opts_t po = {
			n->cfg.linger_ms, n->cfg.heartbeat_ms,
			n->cfg.max_message_bytes, n->cfg.max_connections,
			n->cfg.handshake_ms, n->cfg.peer_rate_per_s,
			n->cfg.peer_in_flight, "", ""
		};
		snprintf(po.curve_pub, sizeof(po.curve_pub), "%s", n->curve_pub);
		snprintf(po.curve_sec, sizeof(po.curve_sec), "%s", n->curve_sec);
		peers_init(&n->peers, n->ctx, &po);
	}
	r = verifier_new(n->ctx, (unsigned)n->cfg.crypto_threads, &n->roots,
			 &n->verifier);
	if (r) {
		snprintf(err, errlen, "cannot start %lld crypto threads: %s",
			 (long long)n->cfg.crypto_threads, ref_strerror(r));
		return r;
	}
	/* The ZAP handler is bound before any server socket: without it
	 * libzmq would let every CURVE key in. */
	r = zap_open(n->ctx, &n->zap, err, errlen);
	if (r)
		return r;
	r = peers_router_open(&n->peers, n->cfg.listen, err, errlen);
	if (r)
		return r;
	r = control_open(n, err, errlen);
	if (!r)
		r = principal_share(n, err, errlen);
	if (r)
		return r;
	*ret_held = held;
	*ret_audit_records = count;
	return 0;
}

void setup_close(node_t *n)
{
	/* Whatever a turn left queued goes with it. */
	if (n->store)
		turn_abort(&n->turn, n->store);
	peers_free(&n->peers);
	control_close(n);
	principal_close(n);
	zap_close(&n->zap);
	verifier_free(&n->verifier);
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
}
