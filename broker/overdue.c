/* overdue.c: see overdue.h. Writes the node's sweep cursor only. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lifecycle.h"
#include "log.h"
#include "overdue.h"
#include "referrals.h"
#include "tzlocal.h"
#include "util.h"
#include "views.h"

static bool clock_reported(const referral_rec_t *rr, const char *name)
{
	for (size_t i = 0; i < rr->n_passed_clocks; i++)
		if (!strcmp(rr->passed_clocks[i], name))
			return true;
	return false;
}

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
 * seconds every deadline check. */
#define SWEEP_STEP 512

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

/* Every open referral's running clocks: a passed one is audited and
 * logged once; a passed materials wait withdraws the application at the
 * receiver (Art 43 para 2). */
void overdue_check(node_t *n)
{
	/* A sweep starts; overdue_step walks it in parts. */
	if (!n->overdue_active) {
		n->overdue_active = true;
		n->overdue_cursor[0] = '\0';
	}
}

void overdue_step(node_t *n)
{
	struct scan sc = { n, util_now_ms(), NULL, 0, 0, 0, "", false };
	int w;

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
	else
		n->overdue_active = false;
	for (size_t i = 0; i < sc.n_ids; i++) {
		referral_rec_t *rr = NULL;
		clock_info_t ck[8];
		size_t nc, passed[8], n_passed = 0;
		int r = 0, changed = 0;
		turn_mark_t mark;

		if (referrals_get(n, sc.ids[i], &rr))
			continue;
		nc = referrals_clocks(n, rr, ck, 8);
		/* Most checks find nothing due: no transaction for those (a
		 * nested one per open referral, every few seconds, cost more
		 * than everything else the loop does under a large store). */
		{
			bool any = false;
			for (size_t k = 0; k < nc && !any; k++) {
				char tag[64];
				if (ck[k].status != CLOCK_RUNNING ||
				    ck[k].due_ms > sc.now)
					continue;
				snprintf(tag, sizeof(tag), "%s/%u/%u", ck[k].name,
					 rr->history_len, rr->materials_round);
				any = !clock_reported(rr, tag);
			}
			if (!any) {
				referral__store__v1__referral_record__free_unpacked(
					rr, NULL);
				continue;
			}
		}
		mark = turn_mark(&n->turn);
		if (store_event_begin(n->store)) {
			referral__store__v1__referral_record__free_unpacked(rr, NULL);
			break;
		}
		for (size_t k = 0; k < nc && !r; k++) {
			char tag[64], due[32];

			if (ck[k].status != CLOCK_RUNNING || ck[k].due_ms > sc.now)
				continue;
			snprintf(tag, sizeof(tag), "%s/%u/%u", ck[k].name,
				 rr->history_len, rr->materials_round);
			if (clock_reported(rr, tag))
				continue;
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
				w.changed_at_ms = sc.now;
				r = referrals_apply_move(n, rr, &w, n->cfg.code, sc.now, NULL);
				if (!r)
					r = referrals_send_about(n, rr,
						       REFERRAL__V1__KIND__STATUS_CHANGE,
						       &w.base, rr->priority,
						       sc.now);
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
		: referrals_clocks(oc->n, rr, ck, 8);
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
