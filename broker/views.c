/* views.c: see views.h. Writes no field of the node. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "application.h"
#include "closing.h"
#include "audit.h"
#include "delivery.h"
#include "lawmoves.h"
#include "lifecycle.h"
#include "outbox.h"
#include "quota.h"
#include "prune.h"
#include "referrals.h"
#include "calendar.h"
#include "casework.h"
#include "tzlocal.h"
#include "util.h"
#include "views.h"

static const char *delivery_name(uint32_t state)
{
	return state == OUT_DELIVERED ? "delivered"
	       : state == OUT_DEAD    ? "dead" : "pending";
}

/* The receipt we hold, checked again against the directory now in force:
 * what an auditor would do with it. */
static json_t *receipt_json(node_t *n, const uint8_t *buf, size_t len,
			    const char *from, const char *to, uint64_t at_ms,
			    const uint8_t msg_id[16], const uint8_t *sha)
{
	envelope_policy_t pol = state_policy(n, to, from, at_ms);
	envelope_check_t c;
	json_t *o = json_object();
	char hex[65];
	int st = envelope_verify(&pol, buf, len, &c);

	json_object_set_new(o, "verified",
			    json_boolean(st == REFERRAL__V1__RECEIPT_STATUS__STORED));
	if (c.hdr) {
		json_object_set_new(o, "from", json_string(c.hdr->from_node));
		json_object_set_new(o, "signed_by", json_string(c.hdr->key_id));
		if (c.hdr->msg_id.len == 16)
			json_object_set_new(o, "receipt_msg_id", json_string(
				state_msg_hex(c.hdr->msg_id.data, hex)));
	}
	if (c.env && c.hdr) {
		Referral__V1__Receipt *rc = NULL;
		size_t count = 0;

		/* A RECEIPT_BATCH's entry for this message, and how many
		 * messages the batch answered. */
		(void)envelope_receipt_for(c.hdr->kind, c.env->body.data,
					   c.env->body.len, msg_id, sha, &rc,
					   &count);
		if (c.hdr->kind == REFERRAL__V1__KIND__RECEIPT_BATCH)
			json_object_set_new(o, "batch_receipts",
					    json_integer((json_int_t)count));
		if (rc) {
			json_object_set_new(o, "status", json_string(
				envelope_status_name(rc->status)));
			tzlocal_json_time(o, "received_at", rc->received_at_ms);
			json_object_set_new(o, "detail", json_string(rc->detail));
			if (rc->envelope_sha256.len == 32) {
				util_hex(rc->envelope_sha256.data, 32, hex);
				json_object_set_new(o, "envelope_sha256",
						    json_string(hex));
			}
			referral__v1__receipt__free_unpacked(rc, NULL);
		}
	}
	envelope_check_free(&c);
	return o;
}

json_t *views_referral(node_t *n, const Referral__Store__V1__ReferralRecord *rr,
			     bool full, int *ret_err)
{
	json_t *o = json_object();
	char hex[33];
	store_table_t t = rr->direction == DIR_OUTGOING ? STORE_OUTBOX
							 : STORE_INBOX;
	const uint8_t *env = NULL;
	size_t env_len = 0;
	uint8_t *rb = NULL; /* the receipt that decided our message */
	size_t rbl = 0;
	uint8_t ours[32];   /* our envelope's SHA-256 */
	Referral__Store__V1__OutboxRecord *ob = NULL;
	Referral__Store__V1__InboxRecord *in = NULL;
	int r;

	*ret_err = 0;
	json_object_set_new(o, "referral_id", json_string(rr->referral_id));
	json_object_set_new(o, "direction", json_string(
		rr->direction == DIR_OUTGOING ? "outgoing"
		: rr->direction == DIR_BUREAU ? "objection" : "incoming"));
	json_object_set_new(o, "origin", json_string(rr->origin_node));
	json_object_set_new(o, "receiver", json_string(rr->receiver_node));
	json_object_set_new(o, "state", json_string(rr->state));
	json_object_set_new(o, "case_type", json_string(rr->case_type));
	json_object_set_new(o, "service", json_string(rr->service));
	tzlocal_json_time(o, "created_at", rr->created_at_ms);
	json_object_set_new(o, "priority", json_string(
		rr->priority == 2 ? "urgent" : rr->priority == 1
		? "green_channel" : "ordinary"));
	{
		uint64_t earliest;
		json_t *clocks = views_clocks(n, rr, &earliest);
		if (earliest != UINT64_MAX) {
			tzlocal_json_time(o, "next_due", earliest);
			tzlocal_json_day(o, "next_due_day", earliest);
		}
		if (full)
			json_object_set_new(o, "clocks", clocks);
		else
			json_decref(clocks);
	}
	if (full) {
		json_object_set_new(o, "history", views_history(n, rr));
		if (rr->recommendation[0])
			json_object_set_new(o, "recommendation", json_pack(
				"{s:s, s:s}", "outcome", rr->recommendation,
				"rule", rr->recommendation_rule));
		if (rr->linked_from[0])
			json_object_set_new(o, "linked_from",
					    json_string(rr->linked_from));
		if (rr->onward_id[0])
			json_object_set_new(o, "onward_referral_id",
					    json_string(rr->onward_id));
		if (rr->materials_round)
			json_object_set_new(o, "materials_round",
					    json_integer(rr->materials_round));
		lawmoves_view(n, rr, o);
	}
	if (rr->submit_msg_id.len == 16)
		json_object_set_new(o, "msg_id", json_string(
			state_msg_hex(rr->submit_msg_id.data, hex)));
	if (rr->submit_msg_id.len != 16)
		return o;
	if (t == STORE_OUTBOX) {
		r = store_get_msg(n->store, t, rr->submit_msg_id.data, 16,
				  &referral__store__v1__outbox_record__descriptor,
				  (ProtobufCMessage **)&ob);
		if (r) {
			*ret_err = r;
			return o;
		}
		json_object_set_new(o, "delivery",
				    json_string(delivery_name(ob->state)));
		{
			/* Tries while the peer is known down are counted in
			 * memory only (attempt() spares the disk then). */
			sched_t *e = schedule_find(&n->sched,
						   rr->submit_msg_id.data);
			uint32_t extra = e ? e->down_tries : 0;
			json_object_set_new(o, "attempts",
					    json_integer(ob->attempts + extra));
		}
		json_object_set_new(o, "sends", json_integer(ob->sends));
		tzlocal_json_time(o, "last_attempt_at", ob->last_attempt_ms);
		if (ob->state == OUT_PENDING)
			tzlocal_json_time(o, "next_attempt_at", ob->next_attempt_ms);
		if (ob->dead_reason[0])
			json_object_set_new(o, "dead_reason",
					    json_string(ob->dead_reason));
		if (full && !outbox_receipt_envelope(n, ob, &rb, &rbl)) {
			util_sha256(ob->envelope.data, ob->envelope.len, ours);
			json_object_set_new(o, "receipt", receipt_json(n,
				rb, rbl, ob->to_node, n->cfg.code,
				ob->receipt_at_ms, rr->submit_msg_id.data, ours));
		} else if (outbox_holds_receipt(ob))
			json_object_set_new(o, "receipt_status", json_string(
				envelope_status_name(ob->receipt_status)));
		env = ob->envelope.data;
		env_len = ob->envelope.len;
	} else {
		r = store_get_msg(n->store, t, rr->submit_msg_id.data, 16,
				  &referral__store__v1__inbox_record__descriptor,
				  (ProtobufCMessage **)&in);
		if (r) {
			*ret_err = r;
			return o;
		}
		/* Delivered to us: we hold it and sent a STORED receipt. */
		json_object_set_new(o, "delivery", json_string("delivered"));
		tzlocal_json_time(o, "received_at", in->received_at_ms);
		/* The STORED receipt this node sent, as the origin holds it. */
		if (full && in->receipt.len)
			json_object_set_new(o, "receipt", receipt_json(n,
				in->receipt.data, in->receipt.len, n->cfg.code,
				in->from_node, in->received_at_ms,
				rr->submit_msg_id.data, NULL));
		env = in->envelope.data;
		env_len = in->envelope.len;
	}
	if (full && env) {
		Referral__V1__ReferralSubmit *a = referrals_submit_in(env, env_len, NULL,
							    NULL);
		char sha[65];
		uint8_t d[32];
		util_sha256(env, env_len, d);
		util_hex(d, 32, sha);
		json_object_set_new(o, "envelope_sha256", json_string(sha));
		if (a) {
			json_object_set_new(o, "application",
					    application_to_json(a));
			referral__v1__referral_submit__free_unpacked(a, NULL);
		}
	}
	if (ob)
		referral__store__v1__outbox_record__free_unpacked(ob, NULL);
	free(rb);
	if (in)
		referral__store__v1__inbox_record__free_unpacked(in, NULL);
	return o;
}

struct list_ctx {
	node_t *n;
	uint32_t direction;
	json_t *arr;
	int err;
	const char *state;   /* only referrals in this state, if set */
	bool open;           /* only those not closed (not final, not CLOSED) */
	const char *from;    /* only those from this origin, if set */
	uint64_t since_ms;   /* only those made at or after this */
};

static int list_one(void *ctx, const uint8_t *k, size_t kl, const uint8_t *v,
		    size_t vl)
{
	struct list_ctx *lc = ctx;
	Referral__Store__V1__ReferralRecord *rr;
	int err = 0;

	(void)k;
	(void)kl;
	rr = referral__store__v1__referral_record__unpack(NULL, vl, v);
	if (!rr)
		return REF_E_CORRUPT;
	if (rr->direction == lc->direction &&
	    (!lc->state || !strcmp(lc->state, rr->state)) &&
	    (!lc->open || (!lc_final(lc_state_from_name(rr->state)) &&
			   strcmp(rr->state, "CLOSED"))) &&
	    (!lc->from || !strcmp(lc->from, rr->origin_node)) &&
	    rr->created_at_ms >= lc->since_ms)
		json_array_append_new(lc->arr, views_referral(lc->n, rr, false,
							     &err));
	referral__store__v1__referral_record__free_unpacked(rr, NULL);
	if (err)
		lc->err = err;
	return 0;
}

static int rank(const char *prio)
{
	return !strcmp(prio, "urgent") ? 0 : !strcmp(prio, "green_channel") ? 1
									   : 2;
}

static int list_cmp(const void *a, const void *b)
{
	json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
	const char *px = json_string_value(json_object_get(x, "priority"));
	const char *py = json_string_value(json_object_get(y, "priority"));
	const char *dx = json_string_value(json_object_get(x, "next_due"));
	const char *dy = json_string_value(json_object_get(y, "next_due"));
	int c = rank(px ? px : "") - rank(py ? py : "");

	if (c)
		return c;
	/* RFC 3339 UTC times of one form sort as text; none sorts last. */
	c = strcmp(dx ? dx : "~", dy ? dy : "~");
	if (c)
		return c;
	return strcmp(json_string_value(json_object_get(x, "created_at")),
		      json_string_value(json_object_get(y, "created_at")));
}

/* Priority first (urgent, green channel, ordinary), then the nearest
 * deadline, then arrival. */
static void sort_list(json_t *arr)
{
	size_t n = json_array_size(arr);
	json_t **v = calloc(n + 1, sizeof(*v));

	if (!v)
		return;
	for (size_t i = 0; i < n; i++)
		v[i] = json_incref(json_array_get(arr, i));
	qsort(v, n, sizeof(*v), list_cmp);
	json_array_clear(arr);
	for (size_t i = 0; i < n; i++)
		json_array_append_new(arr, v[i]);
	free(v);
}

struct trail_ctx {
	const char *id;
	json_t *arr;
};

static int trail_one(void *ctx, const Referral__Store__V1__AuditRecord *a)
{
	struct trail_ctx *tc = ctx;
	json_t *o;
	char hex[33];

	if (strcmp(a->referral_id, tc->id))
		return 0;
	o = json_object();
	json_object_set_new(o, "seq", json_integer((json_int_t)a->seq));
	tzlocal_json_time(o, "time", a->time_ms);
	json_object_set_new(o, "event", json_string(a->event));
	if (a->msg_id.len == 16)
		json_object_set_new(o, "msg_id",
				    json_string(state_msg_hex(a->msg_id.data, hex)));
	if (a->peer[0])
		json_object_set_new(o, "peer", json_string(a->peer));
	if (a->actor[0])
		json_object_set_new(o, "actor", json_string(a->actor));
	json_object_set_new(o, "outcome", json_string(a->outcome));
	if (a->detail[0])
		json_object_set_new(o, "detail", json_string(a->detail));
	json_array_append_new(tc->arr, o);
	return 0;
}

struct count_ctx {
	size_t by_state[3];
};

static int count_outbox(void *ctx, const uint8_t *k, size_t kl,
			const uint8_t *v, size_t vl)
{
	struct count_ctx *cc = ctx;
	Referral__Store__V1__OutboxRecord *ob =
		referral__store__v1__outbox_record__unpack(NULL, vl, v);

	(void)k;
	(void)kl;
	if (!ob)
		return REF_E_CORRUPT;
	/* A dead letter sent again (requeued) is no longer one. */
	if (ob->state < 3 && !(ob->state == OUT_DEAD && ob->requeued_as.len))
		cc->by_state[ob->state]++;
	referral__store__v1__outbox_record__free_unpacked(ob, NULL);
	return 0;
}

/* Referrals received (the inbox as staff see it), not messages. */
static int count_incoming(void *ctx, const uint8_t *k, size_t kl,
			  const uint8_t *v, size_t vl)
{
	Referral__Store__V1__ReferralRecord *rr =
		referral__store__v1__referral_record__unpack(NULL, vl, v);

	(void)k, (void)kl;
	if (!rr)
		return REF_E_CORRUPT;
	if (rr->direction == DIR_INCOMING)
		(*(size_t *)ctx)++;
	referral__store__v1__referral_record__free_unpacked(rr, NULL);
	return 0;
}

/* Every other node of the directory: its link and last contact. */
static json_t *peers_json(node_t *n, size_t *ret_up)
{
	json_t *arr = json_array();
	size_t up = 0;

	for (size_t i = 0; i < n->dir->n_nodes; i++) {
		const dir_node_t *d = &n->dir->nodes[i];
		uint64_t last;
		const char *link;
		json_t *o;

		if (!strcmp(d->code, n->cfg.code))
			continue;
		link = peers_link(&n->peers, d->code, &last);
		up += !strcmp(link, "up");
		o = json_pack("{s:s, s:s, s:s, s:s}", "code", d->code, "name",
			      d->name, "role", d->role, "link", link);
		tzlocal_json_time(o, "last_contact", last);
		json_array_append_new(arr, o);
	}
	if (ret_up)
		*ret_up = up;
	return arr;
}

int views_status(node_t *n, Referral__Local__V1__Reply *rep)
{
	json_t *o = json_object(), *ob = json_object(), *st = json_object();
	struct count_ctx cc = { { 0 } };
	size_t inbox = 0, used, map, max;
	int r;

	r = store_foreach(n->store, STORE_OUTBOX, count_outbox, &cc);
	if (!r)
		r = store_foreach(n->store, STORE_REFERRALS, count_incoming,
				  &inbox);
	store_usage(n->store, &used, &map, &max);
	json_object_set_new(o, "node", json_string(n->cfg.code));
	json_object_set_new(o, "name", json_string(n->cfg.name));
	json_object_set_new(o, "role", json_string(n->cfg.role));
	json_object_set_new(o, "listen", json_string(n->cfg.listen));
	json_object_set_new(o, "key_id", json_string(n->key_id));
	json_object_set_new(o, "peers", peers_json(n, NULL));
	{
		uint64_t dropped = peers_rate_dropped(&n->peers);
		size_t in_flight = schedule_in_flight(&n->sched, NULL);
		json_object_set_new(o, "limits", json_pack(
			"{s:I, s:I, s:I, s:I}", "in_flight", (json_int_t)in_flight,
			"connections_open",
			(json_int_t)n->peers.n_conns, "connections_refused",
			(json_int_t)n->peers.conn_refused, "rate_dropped",
			(json_int_t)dropped));
	}
	if (n->seal)
		json_object_set_new(o, "data_key", json_pack("{s:I, s:s, s:I, s:b}",
			"key", (json_int_t)seal_current_id(n->seal), "alg",
			seal_alg_name(seal_current_alg(n->seal)), "keys",
			(json_int_t)seal_key_count(n->seal), "resealing",
			n->resealing || n->retire_keys));
	json_object_set_new(o, "directory_version",
			    json_integer((json_int_t)n->dir->version));
	json_object_set_new(ob, "pending", json_integer((json_int_t)cc.by_state[0]));
	json_object_set_new(ob, "delivered", json_integer((json_int_t)cc.by_state[1]));
	json_object_set_new(ob, "dead", json_integer((json_int_t)cc.by_state[2]));
	json_object_set_new(o, "outbox", ob);
	json_object_set_new(o, "inbox", json_integer((json_int_t)inbox));
	{
		size_t nearly;
		json_object_set_new(o, "peer_quota", quota_json(n, &nearly));
		json_object_set_new(o, "quota_nearly_full",
				    json_integer((json_int_t)nearly));
	}
	{
		uint8_t *k = NULL, *v = NULL;
		size_t kl, vl;
		uint64_t seq = 0;
		if (store_last(n->store, STORE_AUDIT, &k, &kl, &v, &vl) == 0 &&
		    kl == 8)
			for (int i = 0; i < 8; i++)
				seq = seq << 8 | k[i];
		free(k);
		free(v);
		json_object_set_new(o, "audit_records",
				    json_integer((json_int_t)seq));
	}
	json_object_set_new(st, "used_bytes", json_integer((json_int_t)used));
	json_object_set_new(st, "map_bytes", json_integer((json_int_t)map));
	json_object_set_new(st, "max_bytes", json_integer((json_int_t)max));
	json_object_set_new(st, "accepting_submissions",
			    json_boolean(store_submit_allowed(n->store)));
	json_object_set_new(o, "store", st);
	json_object_set_new(o, "dedup", prune_status(n));
	json_object_set_new(o, "calendar", calendar_status(n));
	json_object_set_new(o, "uptime_s", json_integer(
		(json_int_t)((util_now_ms() - n->started_ms) / 1000)));
	rep->json = state_dump(o);
	return r;
}

json_t *views_clocks(node_t *n, const referral_rec_t *rr,
			   uint64_t *ret_earliest)
{
	clock_info_t ck[8];
	size_t nc = history_clocks(n, rr, ck, 8);
	json_t *arr = json_array();
	uint64_t now = util_now_ms(), earliest = UINT64_MAX;

	for (size_t k = 0; k < nc; k++) {
		json_t *o = json_object();
		json_object_set_new(o, "clock", json_string(ck[k].name));
		json_object_set_new(o, "status", json_string(
			ck[k].status == CLOCK_RUNNING ? "running" : "paused"));
		if (ck[k].status == CLOCK_RUNNING) {
			tzlocal_json_time(o, "due", ck[k].due_ms);
			tzlocal_json_day(o, "due_day", ck[k].due_ms);
			json_object_set_new(o, "overdue",
					    json_boolean(ck[k].due_ms <= now));
			if (ck[k].due_ms < earliest)
				earliest = ck[k].due_ms;
		} else {
			json_object_set_new(o, "days_left",
					    json_integer(ck[k].days_left));
		}
		json_array_append_new(arr, o);
	}
	if (ret_earliest)
		*ret_earliest = earliest;
	return arr;
}

json_t *views_history(node_t *n, const referral_rec_t *rr)
{
	json_t *arr = json_array();
	history_step_t *s;

	if (history_load(n, rr, &s))
		return arr;
	for (uint32_t i = 0; i < rr->history_len; i++) {
		Referral__V1__StatusChange *c = s[i].sc;
		json_t *o = json_object();
		json_object_set_new(o, "state", json_string(c->state));
		if (c->from_state[0])
			json_object_set_new(o, "from", json_string(c->from_state));
		json_object_set_new(o, "by", json_string(s[i].by));
		tzlocal_json_time(o, "at", s[i].at);
		if (c->actor[0])
			json_object_set_new(o, "actor", json_string(c->actor));
		if (c->actor_role[0])
			json_object_set_new(o, "role", json_string(c->actor_role));
		if (c->reason[0])
			json_object_set_new(o, "reason", json_string(c->reason));
		if (c->legal_basis[0])
			json_object_set_new(o, "legal_basis",
					    json_string(c->legal_basis));
		if (c->n_missing_items) {
			json_t *items = json_array();
			for (size_t k = 0; k < c->n_missing_items; k++)
				json_array_append_new(items, json_string(
					c->missing_items[k]));
			json_object_set_new(o, "missing_items", items);
		}
		if (c->assignment) {
			json_object_set_new(o, "assignment", json_pack(
				"{s:s, s:s, s:s}", "firm", c->assignment->firm,
				"lawyer", c->assignment->lawyer, "licence_no",
				c->assignment->licence_no));
			/* The lawyer's work phone, for the assignment notice. */
			if (c->assignment->contact[0])
				json_object_set_new(json_object_get(o,
					"assignment"), "contact", json_string(
					c->assignment->contact));
		}
		if (c->report[0])
			json_object_set_new(o, "report", json_string(c->report));
		if (c->onward_referral_id[0])
			json_object_set_new(o, "onward_referral_id",
					    json_string(c->onward_referral_id));
		if (c->aid_first)
			json_object_set_new(o, "aid_first", json_true());
		if (c->round)
			json_object_set_new(o, "round", json_integer(c->round));
		lawmoves_view_step(c, o);
		closing_json(o, c);
		json_array_append_new(arr, o);
	}
	history_steps_free(s, rr->history_len);
	return arr;
}

int views_list(node_t *n, uint32_t box, const uint8_t *filters, size_t flen,
	       Referral__Local__V1__Reply *rep, char *err, size_t errlen)
{
	json_t *f = flen ? json_loadb((const char *)filters, flen, 0, NULL) : NULL;
	struct list_ctx lc = { n, box == 1 ? DIR_INCOMING : DIR_OUTGOING,
			       json_array(), 0,
			       json_string_value(json_object_get(f, "state")) };
	json_t *o = json_object(), *page = json_array();
	bool overdue = json_is_true(json_object_get(f, "overdue"));
	const char *cursor = json_string_value(json_object_get(f, "cursor"));
	json_int_t limit = json_integer_value(json_object_get(f, "limit"));
	size_t from = cursor ? strtoul(cursor, NULL, 10) : 0, i, taken = 0;
	const char *since = json_string_value(json_object_get(f, "since"));
	char next[24], when[40];
	int r;

	/* The reviewer's filters (refctl list, GET /v1/referrals): each
	 * value checked, so a typo is an error, never an empty page. */
	lc.open = json_is_true(json_object_get(f, "open"));
	lc.from = json_string_value(json_object_get(f, "from"));
	if (lc.from && !util_node_code_valid(lc.from)) {
		json_decref(lc.arr);
		json_decref(f);
		json_decref(o);
		json_decref(page);
		return state_fail_reply(rep, REF_E_INVALID, err, errlen, "from "
					"must be a six-digit node code");
	}
	snprintf(when, sizeof(when), since && strlen(since) == 10
		 ? "%sT00:00:00Z" : "%s", since ? since : "");
	if (since && util_rfc3339_parse(when, &lc.since_ms)) {
		json_decref(lc.arr);
		json_decref(f);
		json_decref(o);
		json_decref(page);
		return state_fail_reply(rep, REF_E_INVALID, err, errlen, "since "
					"must be a day, YYYY-MM-DD (from its "
					"start, UTC), or an RFC 3339 UTC time");
	}
	r = store_foreach(n->store, STORE_REFERRALS, list_one, &lc);

	if (limit <= 0 || limit > 1000)
		limit = f ? 100 : 1000000;
	sort_list(lc.arr);
	/* A page of the sorted list; the cursor is where the next begins. */
	for (i = 0; i < json_array_size(lc.arr) && taken < (size_t)limit; i++) {
		json_t *it = json_array_get(lc.arr, i);
		const char *due = json_string_value(json_object_get(it, "next_due"));
		char now[32];

		util_rfc3339(util_now_ms(), now);
		if (overdue && (!due || strcmp(due, now) > 0))
			continue;
		if (i < from)
			continue;
		json_array_append(page, it);
		taken++;
	}
	json_object_set_new(o, "box", json_string(box == 1 ? "inbox"
							   : "outbox"));
	json_object_set_new(o, "referrals", page);
	if (i < json_array_size(lc.arr)) {
		snprintf(next, sizeof(next), "%zu", i);
		json_object_set_new(o, "next_cursor", json_string(next));
	} else if (f) {
		json_object_set_new(o, "next_cursor", json_null());
	}
	json_decref(lc.arr);
	json_decref(f);
	rep->json = state_dump(o);
	if (r || lc.err)
		state_fail_reply(rep, r ? r : lc.err, err, errlen,
				 "the store cannot be read (%s)",
				 ref_strerror(r ? r : lc.err));
	return r;
}

static int views_show_agency(node_t *n, const referral_rec_t *rr,
		      Referral__Local__V1__Reply *rep)
{
	int e = 0;
	json_t *o = views_referral(n, rr, false, &e);

	/* What a court or bureau is owed of its matter: the decisions and
	 * the assignment, never the applicant's data or the documents. */
	json_object_set_new(o, "history", views_history(n, rr));
	if (rr->case_ref[0])
		json_object_set_new(o, "case_ref", json_string(rr->case_ref));
	json_object_del(o, "msg_id");
	rep->json = state_dump(o);
	return 0;
}

static int views_show(node_t *n, const referral_rec_t *rr,
	       Referral__Local__V1__Reply *rep, char *err, size_t errlen)
{
	int e = 0;

	rep->json = state_dump(views_referral(n, rr, true, &e));
	if (e)
		state_fail_reply(rep, e, err, errlen, "referral %s: a record "
				 "cannot be read (%s)", rr->referral_id,
				 ref_strerror(e));
	return 0;
}

static int views_trail(node_t *n, const referral_rec_t *rr,
		Referral__Local__V1__Reply *rep, char *err, size_t errlen)
{
	struct trail_ctx tc = { rr->referral_id, json_array() };
	json_t *o = json_object();
	int r = audit_foreach(n->store, trail_one, &tc);

	json_object_set_new(o, "referral_id", json_string(rr->referral_id));
	json_object_set_new(o, "events", tc.arr);
	rep->json = state_dump(o);
	if (r)
		state_fail_reply(rep, r, err, errlen, "the audit table cannot be "
				 "read (%s)", ref_strerror(r));
	return r;
}

int views_op_show(node_t *n, const Referral__Local__V1__Request *req,
		  Referral__Local__V1__Reply *rep, char *err, size_t errlen)
{
	referral_rec_t *rr = NULL;
	int r = casework_referral_for(n, req->referral_id, rep, err, errlen, &rr);

	const principal_t *who = n->caller;

	if (!r && who && who->token &&
	    (who->scope == SCOPE_COURT || who->scope == SCOPE_LABOUR)) {
		/* Its own matters only: at the centre, the ones its token
		 * opened; at its own node, the ones the node sent. */
		bool own = !strcmp(n->cfg.role, "court") ||
			   !strcmp(n->cfg.role, "labour_bureau")
			   ? rr->direction == DIR_OUTGOING && rr->origin_kind
			   : !strcmp(rr->origin_token, who->name);
		if (own)
			r = views_show_agency(n, rr, rep);
		else
			r = state_fail_reply(rep, REF_E_NOT_FOUND, err, errlen,
					     "no referral %.64s sent by %s",
					     req->referral_id, who->name);
	} else if (!r) {
		r = views_show(n, rr, rep, err, errlen);
		/* A token holder read personal data: on the record. */
		if (!r && who && who->token)
			r = state_audit(n, "read", rr->referral_id, NULL, NULL,
					who->name, "ok", "show");
	}
	if (rr)
		referral__store__v1__referral_record__free_unpacked(rr, NULL);
	return r;
}

int views_op_trail(node_t *n, const Referral__Local__V1__Request *req,
		   Referral__Local__V1__Reply *rep, char *err, size_t errlen)
{
	referral_rec_t *rr = NULL;
	int r = casework_referral_for(n, req->referral_id, rep, err, errlen, &rr);

	if (!r)
		r = views_trail(n, rr, rep, err, errlen);
	if (rr)
		referral__store__v1__referral_record__free_unpacked(rr, NULL);
	return r;
}

struct overdue_count {
	node_t *n;
	uint64_t now;
	size_t count;
};

static int count_overdue(void *ctx, const uint8_t *k, size_t kl,
			 const uint8_t *v, size_t vl)
{
	struct overdue_count *oc = ctx;
	referral_rec_t *rr = referral__store__v1__referral_record__unpack(
		NULL, vl, v);
	clock_info_t ck[8];
	size_t nc;

	(void)k, (void)kl;
	if (!rr)
		return REF_E_CORRUPT;
	nc = lc_final(lc_state_from_name(rr->state)) ? 0
		: history_clocks(oc->n, rr, ck, 8);
	for (size_t i = 0; i < nc; i++)
		if (ck[i].status == CLOCK_RUNNING && ck[i].due_ms <= oc->now) {
			oc->count++;
			break;
		}
	referral__store__v1__referral_record__free_unpacked(rr, NULL);
	return 0;
}

int views_call_metrics(node_t *n, const principal_t *who,
		       const Referral__Local__V1__Request *req, json_t *opts,
		       Referral__Local__V1__Reply *rep, char *err,
		       size_t errlen)
{
	struct count_ctx cc = { { 0 } };
	struct overdue_count oc = { n, util_now_ms(), 0 };
	size_t inbox = 0, used, map, max, up = 0;
	json_t *o, *rc = json_object(), *buckets = json_array(), *peers;
	uint64_t cum = 0;
	int r;

	(void)who, (void)req, (void)opts, (void)err, (void)errlen;
	r = store_foreach(n->store, STORE_OUTBOX, count_outbox, &cc);
	if (!r)
		r = store_foreach(n->store, STORE_REFERRALS, count_incoming,
				  &inbox);
	if (!r)
		r = store_foreach(n->store, STORE_REFERRALS, count_overdue, &oc);
	store_usage(n->store, &used, &map, &max);
	for (int st = 1; st < 12; st++)
		json_object_set_new(rc, envelope_status_name(st), json_integer(
			(json_int_t)n->receipts_by_status[st]));
	for (int b = 0; b < DELIVERY_LATENCY_BUCKETS; b++) {
		cum += n->latency_buckets[b];
		json_array_append_new(buckets, json_pack("[I, I]",
			(json_int_t)delivery_latency_le[b], (json_int_t)cum));
	}
	peers = peers_json(n, &up);
	o = json_pack("{s:{s:I, s:I, s:I}, s:I, s:I, s:{s:I, s:I, s:I}, s:I, "
		      "s:I, s:o, s:{s:o, s:I, s:I}}",
		      "outbox", "pending", (json_int_t)cc.by_state[0],
		      "delivered", (json_int_t)cc.by_state[1], "dead",
		      (json_int_t)cc.by_state[2], "inbox", (json_int_t)inbox,
		      "overdue", (json_int_t)oc.count, "store", "used_bytes",
		      (json_int_t)used, "map_bytes", (json_int_t)map, "max_bytes",
		      (json_int_t)max, "peers", (json_int_t)json_array_size(peers),
		      "peers_up", (json_int_t)up, "receipts", rc,
		      "delivery_latency_ms", "buckets", buckets, "count",
		      (json_int_t)n->latency_count, "sum_ms",
		      (json_int_t)n->latency_sum_ms);
	{
		size_t nearly;
		json_decref(quota_json(n, &nearly));
		json_object_set_new(o, "peers_quota_nearly_full",
				    json_integer((json_int_t)nearly));
	}
	json_decref(peers);
	rep->json = state_dump(o);
	return r;
}

static int witness_one(void *ctx, const uint8_t *k, size_t kl,
		       const uint8_t *v, size_t vl)
{
	Referral__V1__Envelope *e;
	Referral__V1__AuditCheckpoint *cp = NULL;
	json_t *o;
	char code[8];

	if (kl != 14)
		return 0;
	e = referral__v1__envelope__unpack(NULL, vl, v);
	if (e)
		cp = referral__v1__audit_checkpoint__unpack(NULL, e->body.len,
							    e->body.data);
	memcpy(code, k, 6);
	code[6] = '\0';
	o = json_pack("{s:s}", "node", code);
	if (cp) {
		json_object_set_new(o, "seq", json_integer((json_int_t)cp->seq));
		tzlocal_json_time(o, "at", cp->at_ms);
		referral__v1__audit_checkpoint__free_unpacked(cp, NULL);
	}
	if (e)
		referral__v1__envelope__free_unpacked(e, NULL);
	json_array_append_new(ctx, o);
	return 0;
}

int views_call_audit(node_t *n, const principal_t *who,
		     const Referral__Local__V1__Request *req, json_t *opts,
		     Referral__Local__V1__Reply *rep, char *err, size_t errlen)
{
	uint64_t bad = 0, count = 0;
	json_t *o, *w = json_array();
	int r = audit_verify(n->store, &bad, &count);

	(void)who, (void)req, (void)opts, (void)err, (void)errlen;
	o = json_pack("{s:I, s:b}", "records", (json_int_t)count, "intact",
		      r == 0);
	if (r == REF_E_CORRUPT)
		json_object_set_new(o, "broken_at", json_integer((json_int_t)bad));
	tzlocal_json_time(o, "verified_at", util_now_ms());
	/* The checkpoints of peers' chains this node holds as their witness;
	 * this node's own go to the peers it talks with. */
	store_foreach(n->store, STORE_WITNESSED, witness_one, w);
	json_object_set_new(o, "witnessed", w);
	json_object_set_new(o, "last_checkpoint_seq",
			    json_integer((json_int_t)n->last_cp_seq));
	rep->json = state_dump(o);
	return r == REF_E_CORRUPT ? 0 : r;
}
