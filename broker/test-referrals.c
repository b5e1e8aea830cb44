/* test-referrals.c: a status change from the counterpart when the store
 * fails under it. The result and the receipt's status are apart: a store
 * error comes back as the error (the event aborts, no receipt, the sender
 * resends), never as a status; the code it used to share a value with
 * (REF_E_STORE_FULL = 11 = REFUSED) made it a REFUSED receipt, and made
 * drain_held drop a held change it had failed to apply. Also: a held
 * record is read whether it is this release's (an inbox record) or an
 * older one's (the bare envelope). */
#include "../proto/testutil.h"
#include "dues.h"
#include "held.h"
#include "history.h"
#include "referrals.h"
#include "testnode.h"

#define RID TN_PEER "-0123456789abcdef0123456789abcdef"

static void put_referral(node_t *n)
{
	referral_rec_t rr = REFERRAL__STORE__V1__REFERRAL_RECORD__INIT;

	rr.referral_id = RID;
	rr.direction = DIR_INCOMING;
	rr.origin_node = TN_PEER;
	rr.receiver_node = TN_SELF;
	rr.state = "RECEIVED";
	rr.seq_in = 1;
	CHECK(!store_event_begin(n->store));
	CHECK(!referrals_put(n, &rr));
	CHECK(!store_event_commit(n->store));
}

/* The origin's cancel as referral_seq seq, checked as the node checks it;
 * handle_change's result, its status in *st (-1 if it set none). */
static int change(testnode_t *t, uint64_t seq, int *st)
{
	Referral__V1__StatusChange sc = REFERRAL__V1__STATUS_CHANGE__INIT;
	envelope_policy_t pol = state_policy(t->n, TN_SELF, TN_PEER,
					     util_now_ms());
	envelope_check_t c;
	uint8_t *buf, id[16];
	size_t len;
	char detail[400];
	bool was_held;
	int r;

	sc.state = "CANCELLED";
	sc.reason = "the applicant moved away (test)";
	sc.actor = "staff-0107";
	buf = testnode_envelope(t, false, REFERRAL__V1__KIND__STATUS_CHANGE,
				RID, seq, &sc.base, &len, id);
	CHECK(buf != NULL);
	CHECK_EQ_INT(envelope_verify(&pol, buf, len, &c),
		     REFERRAL__V1__RECEIPT_STATUS__STORED);
	*st = -1;
	CHECK(!store_event_begin(t->n->store));
	r = referrals_handle_change(t->n, &c, buf, len, TN_PEER, detail,
				    sizeof(detail), st, &was_held);
	if (r)
		store_event_abort(t->n->store);
	else
		CHECK(!store_event_commit(t->n->store));
	envelope_check_free(&c);
	free(buf);
	return r;
}

static bool held(node_t *n, uint64_t seq)
{
	uint8_t key[80], *v;
	size_t l = strlen(RID), vl;

	memcpy(key, RID, l);
	for (int i = 0; i < 8; i++)
		key[l + i] = (uint8_t)(seq >> (56 - 8 * i));
	if (store_get(n->store, STORE_HELD, key, l + 8, &v, &vl))
		return false;
	free(v);
	return true;
}

/* The applicant-notified step (lifecycle.h): allowed where it keeps the
 * state, in final states too; refused where the sender's state differs
 * from the one here (it would otherwise pass as the origin's return to
 * RECEIVED), and before anything was decided. */
static void test_notified_moves(void)
{
	referral_rec_t rr = REFERRAL__STORE__V1__REFERRAL_RECORD__INIT;
	Referral__V1__StatusChange sc = REFERRAL__V1__STATUS_CHANGE__INIT;
	char why[400];

	rr.referral_id = RID;
	sc.reason = "notified: post 2026-10-08";
	rr.state = sc.state = "AWAITING_MATERIALS";
	CHECK_EQ_INT(referrals_move_allowed(&rr, &sc, LC_ORIGIN, why,
					    sizeof(why)), 0);
	CHECK_EQ_INT(referrals_move_allowed(&rr, &sc, LC_RECEIVER, why,
					    sizeof(why)), 0);
	rr.state = sc.state = "CANCELLED";
	CHECK_EQ_INT(referrals_move_allowed(&rr, &sc, LC_ORIGIN, why,
					    sizeof(why)), 0);
	rr.state = "AWAITING_MATERIALS";
	sc.state = "RECEIVED";
	CHECK_EQ_INT(referrals_move_allowed(&rr, &sc, LC_ORIGIN, why,
					    sizeof(why)), REF_E_REFUSED);
	CHECK(strstr(why, "keeps the state") != NULL);
	rr.state = sc.state = "REQUESTED";
	CHECK_EQ_INT(referrals_move_allowed(&rr, &sc, LC_RECEIVER, why,
					    sizeof(why)), REF_E_REFUSED);
	/* Not of the form: judged as an ordinary move, and none. */
	rr.state = sc.state = "GRANTED";
	sc.reason = "notified: pigeon 2026-10-08";
	CHECK_EQ_INT(referrals_move_allowed(&rr, &sc, LC_RECEIVER, why,
					    sizeof(why)), REF_E_REFUSED);
}

/* The clocks from a record's own summary of its clock steps are the
 * clocks its history gives: a notice to the applicant and a finding keep
 * their places out of it. A record written before the summary (none,
 * with a history), or one whose summary does not add up, is read from its
 * steps, and gains no partial summary. */
static void test_clock_summary(node_t *n)
{
	static const struct {
		const char *state, *from, *reason, *ground;
		bool supplement, moves;
	} steps[] = {
		{ "REQUESTED", "", "", "", false, true },
		{ "RECEIVED", "REQUESTED", "", "", false, true },
		{ "AWAITING_MATERIALS", "RECEIVED", "", "", false, true },
		{ "AWAITING_MATERIALS", "AWAITING_MATERIALS",
		  "notified: post 2026-11-02", "", false, false },
		{ "AWAITING_MATERIALS", "AWAITING_MATERIALS", "", "wages owed",
		  false, false },
		{ "AWAITING_MATERIALS", "AWAITING_MATERIALS", "", "", true,
		  false },
		{ "RECEIVED", "AWAITING_MATERIALS", "", "", true, true },
		{ "GRANTED", "RECEIVED", "", "", false, true },
	};
	referral_rec_t rr = REFERRAL__STORE__V1__REFERRAL_RECORD__INIT;
	referral_rec_t old = REFERRAL__STORE__V1__REFERRAL_RECORD__INIT;
	referral_rec_t odd = REFERRAL__STORE__V1__REFERRAL_RECORD__INIT;
	clock_info_t a[8], b[8], c[8];
	uint64_t t0 = util_now_ms() - 3 * 86400000ull;
	size_t na, nb, moving = 0;

	rr.referral_id = TN_PEER "-00000000000000000000000000000c10";
	rr.direction = DIR_INCOMING;
	old.referral_id = TN_PEER "-00000000000000000000000000000c11";
	old.direction = DIR_INCOMING;
	odd.referral_id = TN_PEER "-00000000000000000000000000000c12";
	odd.direction = DIR_INCOMING;
	odd.clock_state = malloc(sizeof(char *));
	CHECK(odd.clock_state != NULL);
	if (!odd.clock_state)
		return;
	odd.clock_state[0] = strdup("RECEIVED");
	odd.n_clock_state = 1; /* and no time beside it */
	CHECK(!store_event_begin(n->store));
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		Referral__V1__StatusChange sc =
			REFERRAL__V1__STATUS_CHANGE__INIT;

		sc.state = (char *)steps[i].state;
		sc.from_state = (char *)steps[i].from;
		sc.reason = (char *)steps[i].reason;
		sc.urgency_ground = (char *)steps[i].ground;
		sc.supplement = steps[i].supplement;
		CHECK_EQ_INT(history_moves_clocks(&sc), steps[i].moves);
		moving += steps[i].moves;
		CHECK(!history_append(n, &rr, &sc, TN_PEER,
				      t0 + i * 3600000ull, NULL));
		CHECK(!history_append(n, &old, &sc, TN_PEER,
				      t0 + i * 3600000ull, NULL));
		CHECK(!history_append(n, &odd, &sc, TN_PEER,
				      t0 + i * 3600000ull, NULL));
		if (i == 0) {
			/* As if written before the summary: one step, none. */
			history_rec_release(&old);
			old.clock_steps_of = 0;
		}
	}
	CHECK(!store_event_commit(n->store));
	CHECK_EQ_INT(rr.clock_steps_of, rr.history_len);
	CHECK_EQ_INT(rr.n_clock_state, moving);
	CHECK_EQ_INT(old.clock_steps_of, 0);
	CHECK_EQ_INT(old.n_clock_state, 0);
	CHECK_EQ_INT(odd.clock_steps_of, 0);
	CHECK_EQ_INT(odd.n_clock_state, 1);
	for (int round = 0; round < 2; round++) {
		na = history_clocks(n, &rr, a, 8);
		nb = history_clocks(n, &old, b, 8);
		CHECK(na > 0);
		CHECK_EQ_INT(na, nb);
		CHECK_EQ_INT(history_clocks(n, &odd, c, 8), na);
		for (size_t k = 0; k < na && k < nb; k++) {
			CHECK(!strcmp(a[k].name, b[k].name));
			CHECK_EQ_INT(a[k].status, b[k].status);
			CHECK(a[k].due_ms == b[k].due_ms);
			CHECK_EQ_INT(a[k].days_left, b[k].days_left);
			CHECK(!strcmp(a[k].name, c[k].name));
			CHECK(a[k].due_ms == c[k].due_ms);
		}
		/* Read from the history as well, the summary set aside. */
		rr.clock_steps_of = 0;
	}
	history_rec_release(&rr);
	history_rec_release(&odd);
}

/* Steps REQUESTED then RECEIVED, at `at`, into a fresh record. */
static void received_at(node_t *n, referral_rec_t *rr, const char *id,
			uint64_t at)
{
	Referral__V1__StatusChange req = REFERRAL__V1__STATUS_CHANGE__INIT;
	Referral__V1__StatusChange got = REFERRAL__V1__STATUS_CHANGE__INIT;

	rr->referral_id = (char *)id;
	rr->direction = DIR_INCOMING;
	rr->state = "RECEIVED";
	req.state = "REQUESTED";
	got.state = "RECEIVED";
	got.from_state = "REQUESTED";
	CHECK(!store_event_begin(n->store));
	CHECK(!history_append(n, rr, &req, TN_PEER, at, NULL));
	CHECK(!history_append(n, rr, &got, TN_SELF, at, NULL));
	CHECK(!store_event_commit(n->store));
}

/* A written referral's clocks are worked out from its record: one running
 * leaves only its due time (the next whole sweep's), one already passed,
 * or a record without the summary, waits on the list for the check. */
static void test_dues_written(node_t *n)
{
	referral_rec_t fresh = REFERRAL__STORE__V1__REFERRAL_RECORD__INIT;
	referral_rec_t late = REFERRAL__STORE__V1__REFERRAL_RECORD__INIT;
	clock_info_t ck[8];
	uint64_t now = util_now_ms(), due = UINT64_MAX;
	size_t nc, pending = dues_pending(n);

	received_at(n, &fresh, TN_PEER "-00000000000000000000000000000d10",
		    now - 3600000ull);
	received_at(n, &late, TN_PEER "-00000000000000000000000000000d11",
		    now - 400 * 86400000ull);
	nc = history_clocks(n, &fresh, ck, 8);
	for (size_t k = 0; k < nc; k++)
		if (ck[k].status == CLOCK_RUNNING && ck[k].due_ms < due)
			due = ck[k].due_ms;
	CHECK(nc > 0 && due > now && due != UINT64_MAX);
	n->dues_next_ms = UINT64_MAX;
	dues_written(n, &fresh);
	CHECK_EQ_INT(dues_pending(n), pending);
	CHECK(n->dues_next_ms == due);
	dues_written(n, &late);
	CHECK_EQ_INT(dues_pending(n), pending + 1);
	CHECK(n->dues_next_ms == due);
	fresh.clock_steps_of = 0; /* as written before the summary */
	dues_written(n, &fresh);
	CHECK_EQ_INT(dues_pending(n), pending + 2);
	fresh.state = "CLOSED";
	dues_written(n, &fresh);
	CHECK_EQ_INT(dues_pending(n), pending + 2);
	history_rec_release(&fresh);
	history_rec_release(&late);
}

int main(void)
{
	testnode_t t;
	referral_rec_t *rr = NULL;
	int st, r;

	if (testnode_open(&t, 2 << 20)) {
		fprintf(stderr, "cannot set up the test node\n");
		return 1;
	}
	test_notified_moves();
	test_clock_summary(t.n);
	test_dues_written(t.n);
	CHECK(!turn_begin(&t.n->turn, t.n->store));
	put_referral(t.n);
	/* Ahead of its turn: held, and receipted STORED. */
	CHECK_EQ_INT(change(&t, 3, &st), 0);
	CHECK_EQ_INT(st, REFERRAL__V1__RECEIPT_STATUS__STORED);
	CHECK(held(t.n, 3));

	/* A held record of this release, and one of an older release. */
	{
		Referral__V1__StatusChange sc = REFERRAL__V1__STATUS_CHANGE__INIT;
		uint8_t key[HELD_KEY_MAX], *v, *env, id[16];
		size_t kl, vl, el;
		held_rec_t rec;

		held_key(RID, 3, key, &kl);
		CHECK(!store_get(t.n->store, STORE_HELD, key, kl, &v, &vl));
		CHECK(!held_read(v, vl, &rec));
		CHECK(rec.ib != NULL && !strcmp(rec.from, TN_PEER) &&
		      rec.kind == REFERRAL__V1__KIND__STATUS_CHANGE &&
		      rec.received_at_ms > 0);
		held_rec_free(&rec);
		free(v);
		sc.state = "CANCELLED";
		env = testnode_envelope(&t, false,
					REFERRAL__V1__KIND__STATUS_CHANGE, RID, 9,
					&sc.base, &el, id);
		CHECK(env && !held_read(env, el, &rec));
		CHECK(rec.ib == NULL && rec.env == env && rec.env_len == el &&
		      !strcmp(rec.from, TN_PEER) && !memcmp(rec.msg_id, id, 16) &&
		      rec.kind == REFERRAL__V1__KIND__STATUS_CHANGE);
		held_rec_free(&rec);
		free(env);
	}

	/* Past its sender's held bound (one change here), another early
	 * change of a referral this node holds gets no receipt, not a
	 * refusal: it comes again once the gap has filled. */
	t.n->cfg.held_per_peer = 1;
	CHECK_EQ_INT(change(&t, 4, &st), REF_E_REFUSED);
	CHECK_EQ_INT(st, -1);
	CHECK(!held(t.n, 4));
	t.n->cfg.held_per_peer = 64;

	/* Now the store has no room: the next change cannot be applied. */
	CHECK_EQ_INT(testnode_fill(t.n), REF_E_STORE_FULL);
	r = change(&t, 2, &st);
	CHECK_EQ_INT(r, REF_E_STORE_FULL);
	CHECK_EQ_INT(st, -1); /* no receipt status: no receipt at all */
	CHECK(held(t.n, 3));   /* the held change is still there */

	/* drain_held itself, on the full store: the error comes back and
	 * the change stays held for the next try. */
	CHECK(!referrals_get(t.n, RID, &rr));
	if (rr) {
		rr->seq_in = 2;
		CHECK(!store_event_begin(t.n->store));
		r = referrals_drain_held(t.n, rr, TN_PEER);
		CHECK(r != 0);
		store_event_abort(t.n->store);
		CHECK(held(t.n, 3));
		referral__store__v1__referral_record__free_unpacked(rr, NULL);
	}
	/* Nothing of it was committed: the referral is as it was. */
	rr = NULL;
	CHECK(!referrals_get(t.n, RID, &rr));
	CHECK(rr && rr->seq_in == 1 && !strcmp(rr->state, "RECEIVED"));
	if (rr)
		referral__store__v1__referral_record__free_unpacked(rr, NULL);
	testnode_close(&t);
	return test_finish("referrals");
}
