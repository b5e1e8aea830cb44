/* overdue.c: see overdue.h. Writes the node's sweep fields only (the list of
 * written referrals still to read is dues.c's). */
#include <errno.h>
#include <time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lifecycle.h"
#include "log.h"
#include "dues.h"
#include "overdue.h"
#include "referrals.h"
#include "tzlocal.h"
#include "util.h"
#include "views.h"

static int mark_reported(referral_rec_t *rr, const char *name, uint64_t due)
{
	char **nv = realloc(rr->passed_clocks,
			    (rr->n_passed_clocks + 1) * sizeof(char *));
	char tag[64];

	(void)due;
	if (!nv)
		return -ENOMEM;
	rr->passed_clocks = nv;
	/* One report per clock run: the tag names the clock and its round. */
	snprintf(tag, sizeof(tag), "%s", name);
	nv[rr->n_passed_clocks] = strdup(tag);
	if (!nv[rr->n_passed_clocks])
		return -ENOMEM;
	rr->n_passed_clocks++;
	return 0;
}

/* Referrals read per step of a sweep: a step is part of one loop turn,
 * and a store of 100,000 open referrals walked at once held the loop for
 * seconds every deadline check; 512 a step still added about 10 ms to
 * each turn of a sweep. The written referrals a write could not settle
 * (dues.h) are read for at most DIRTY_STEP_US of a turn. */
#define SWEEP_STEP 128
#define DIRTY_STEP_US 2000

struct scan {
	node_t *n;
	uint64_t now;
	char (*ids)[48];
	size_t n_ids, cap;
	size_t seen;      /* records read in this step */
	char last[48];    /* the last key read */
	bool stopped;     /* the step ended before the table did */
};

static int collect_open(void *ctx, const uint8_t *k, size_t kl,
			const uint8_t *v, size_t vl)
{
	struct scan *sc = ctx;
	referral_rec_t *rr = referral__store__v1__referral_record__unpack(
		NULL, vl, v);

	if (sc->seen == SWEEP_STEP) {
		if (rr)
			referral__store__v1__referral_record__free_unpacked(rr, NULL);
		sc->stopped = true;
		return STORE_STOP;
	}
	sc->seen++;
	snprintf(sc->last, sizeof(sc->last), "%.*s", (int)(kl < 47 ? kl : 47),
		 (const char *)k);
	if (!rr)
		return REF_E_CORRUPT;
	if (!lc_final(lc_state_from_name(rr->state))) {
		if (sc->n_ids == sc->cap) {
			size_t cap = sc->cap ? sc->cap * 2 : 64;
			char (*ni)[48] = realloc(sc->ids, cap * sizeof(*ni));
			if (!ni) {
				referral__store__v1__referral_record__free_unpacked(
					rr, NULL);
				return -ENOMEM;
			}
			sc->ids = ni;
			sc->cap = cap;
		}
		snprintf(sc->ids[sc->n_ids++], 48, "%s", rr->referral_id);
	}
	referral__store__v1__referral_record__free_unpacked(rr, NULL);
	return 0;
}

/* One referral's running clocks: each passed one is audited and logged
 * once per clock run (in an event of its own); a passed materials wait
 * withdraws the application at the receiver (Art 43 para 2). Returns the
 * earliest clock still to pass (UINT64_MAX: none); 0 if what passed could
 * not be recorded (tried again at the next check). */
static uint64_t check_one(node_t *n, const char *id, uint64_t now)
{
	referral_rec_t *rr = NULL;
	clock_info_t ck[8];
	size_t nc, passed[8], n_passed = 0;
	int r = 0, changed = 0;
	turn_mark_t mark;
	uint64_t next;
	bool any;

	if (referrals_get(n, id, &rr))
		return UINT64_MAX;
	if (lc_final(lc_state_from_name(rr->state))) {
		referral__store__v1__referral_record__free_unpacked(rr, NULL);
		return UINT64_MAX;
	}
	nc = history_clocks(n, rr, ck, 8);
	next = dues_next(rr, ck, nc, now, &any);
	/* Most checks find nothing due: no event for those. */
	if (!any) {
		referral__store__v1__referral_record__free_unpacked(rr, NULL);
		return next;
	}
	mark = turn_mark(&n->turn);
	if (store_event_begin(n->store)) {
		referral__store__v1__referral_record__free_unpacked(rr, NULL);
		return 0;
	}
	for (size_t k = 0; k < nc && !r; k++) {
		char tag[64], due[32];

		if (ck[k].status != CLOCK_RUNNING || ck[k].due_ms > now)
			continue;
		if (dues_reported(rr, ck[k].name))
			continue;
		dues_tag(rr, ck[k].name, tag, sizeof(tag));
		util_rfc3339(ck[k].due_ms, due);
		r = mark_reported(rr, tag, ck[k].due_ms);
		if (!r)
			r = state_audit(n, "deadline_passed", rr->referral_id,
				  NULL, NULL, "node", ck[k].name, due);
		changed = 1;
		if (n_passed < 8)
			passed[n_passed++] = k;
		if (!r && !strcmp(ck[k].name, "materials") &&
		    rr->direction == DIR_INCOMING) {
			Referral__V1__StatusChange w =
				REFERRAL__V1__STATUS_CHANGE__INIT;
			char reason[120], *from = strdup(rr->state);
			snprintf(reason, sizeof(reason), "no supplement "
				 "within %lld days: deemed withdrawn "
				 "(Art 43)",
				 (long long)n->cfg.materials_wait_days);
			w.state = "WITHDRAWN";
			w.from_state = from ? from : "";
			w.reason = reason;
			w.actor = "node";
			w.changed_at_ms = now;
			r = referrals_apply_move(n, rr, &w, n->cfg.code, now, NULL);
			if (!r)
				r = referrals_send_about(n, rr,
					       REFERRAL__V1__KIND__STATUS_CHANGE,
					       &w.base, rr->priority,
					       now);
			free(from);
		}
	}
	if (!r && changed)
		r = referrals_put(n, rr);
	if (!r)
		r = store_event_commit(n->store);
	if (r) {
		store_event_abort(n->store);
		turn_rollback(&n->turn, mark);
	}
	/* Logged once it is recorded: a failed write is tried again
	 * at the next check, and logged then. */
	for (size_t k = 0; !r && k < n_passed; k++) {
		char due[32];
		util_rfc3339(ck[passed[k]].due_ms, due);
		log_msg(LOG_WARN, "deadline", "referral=%s clock=%s "
			"due=%s passed", rr->referral_id,
			ck[passed[k]].name, due);
	}
	referral__store__v1__referral_record__free_unpacked(rr, NULL);
	return r ? 0 : next;
}

/* A sweep of every open referral's clocks, or of the written ones their
 * write could not settle (dues.h), is due: overdue_step walks it in parts. */
void overdue_check(node_t *n)
{
	if (n->overdue_active || n->overdue_dirty)
		return;
	if (dues_sweep_whole(n, util_now_ms())) {
		n->overdue_active = true;
		n->overdue_cursor[0] = '\0';
		dues_sweep_started(n);
	} else if (dues_pending(n)) {
		n->overdue_dirty = true;
		n->overdue_dirty_left = dues_pending(n);
	}
}

static uint64_t mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/* The listed referrals (dues.h), for DIRTY_STEP_US a turn; those listed
 * meanwhile wait for the next check. */
static void dirty_step(node_t *n)
{
	uint64_t now = util_now_ms(), t0 = mono_us();
	char id[1][48];

	while (n->overdue_dirty_left && mono_us() - t0 < DIRTY_STEP_US &&
	       dues_take(n, id, 1) == 1) {
		uint64_t next = check_one(n, id[0], now);
		n->overdue_dirty_left--;
		if (!next)
			dues_forget(n); /* not recorded: look at everything */
		else
			dues_seen(n, next);
	}
	if (!n->overdue_dirty_left || !dues_pending(n))
		n->overdue_dirty = false;
}

void overdue_step(node_t *n)
{
	struct scan sc = { n, util_now_ms(), NULL, 0, 0, 0, "", false };
	int w;

	if (n->overdue_dirty && !n->overdue_active) {
		dirty_step(n);
		return;
	}
	if (!n->overdue_active)
		return;
	/* From the key read last (read again: a key >= it), or the start. */
	w = n->overdue_cursor[0]
		? store_foreach_from(n->store, STORE_REFERRALS, n->overdue_cursor,
				     strlen(n->overdue_cursor), collect_open, &sc)
		: store_foreach(n->store, STORE_REFERRALS, collect_open, &sc);
	if (w) {
		free(sc.ids);
		return;
	}
	if (sc.stopped)
		snprintf(n->overdue_cursor, sizeof(n->overdue_cursor), "%s",
			 sc.last);
	for (size_t i = 0; i < sc.n_ids; i++) {
		uint64_t next = check_one(n, sc.ids[i], sc.now);
		if (!next)
			dues_forget(n); /* not recorded: the next check again */
		else
			dues_seen(n, next);
	}
	if (!sc.stopped) {
		n->overdue_active = false;
		dues_sweep_done(n);
	}
	free(sc.ids);
}

struct overdue_ctx {
	node_t *n;
	json_t *arr;
	uint64_t horizon;
};

static int overdue_one(void *ctx, const uint8_t *k, size_t kl, const uint8_t *v,
		       size_t vl)
{
	struct overdue_ctx *oc = ctx;
	referral_rec_t *rr = referral__store__v1__referral_record__unpack(
		NULL, vl, v);
	clock_info_t ck[8];
	size_t nc;

	(void)k;
	(void)kl;
	if (!rr)
		return REF_E_CORRUPT;
	nc = lc_final(lc_state_from_name(rr->state)) ? 0
		: history_clocks(oc->n, rr, ck, 8);
	for (size_t i = 0; i < nc; i++) {
		json_t *o;
		if (ck[i].status != CLOCK_RUNNING || ck[i].due_ms > oc->horizon)
			continue;
		o = json_object();
		json_object_set_new(o, "referral_id", json_string(rr->referral_id));
		json_object_set_new(o, "state", json_string(rr->state));
		json_object_set_new(o, "clock", json_string(ck[i].name));
		tzlocal_json_time(o, "due", ck[i].due_ms);
		tzlocal_json_day(o, "due_day", ck[i].due_ms);
		json_object_set_new(o, "overdue",
				    json_boolean(ck[i].due_ms <= util_now_ms()));
		json_object_set_new(o, "priority", json_integer(rr->priority));
		json_array_append_new(oc->arr, o);
	}
	referral__store__v1__referral_record__free_unpacked(rr, NULL);
	return 0;
}

int overdue_list(node_t *n, Referral__Local__V1__Reply *rep)
{
	struct overdue_ctx oc = { n, json_array(),
				  util_now_ms() + DEADLINE_DAY_MS };
	json_t *o = json_object();
	int r = store_foreach(n->store, STORE_REFERRALS, overdue_one, &oc);

	json_object_set_new(o, "overdue", oc.arr);
	rep->json = state_dump(o);
	return r;
}
