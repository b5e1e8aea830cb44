/* notice.c: see notice.h. Writes nothing of node_t (store records only). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "calls.h"
#include "casework.h"
#include "errors.h"
#include "notice.h"
#include "referrals.h"
#include "store.h"
#include "util.h"
#include "views.h"

/* Asia/Shanghai keeps no summer time: a fixed offset is exact. When the
 * node's [node] time_zone setting lands this is the one place to switch. */
#define NOTICE_TZ_OFFSET_MS (8LL * 3600 * 1000)

typedef struct {
	const char *kind;   /* the option's value */
	const char *title;  /* the notice's name, as centres print it */
	const char *word;   /* the number's character (补字, 给字...) */
	const char *states[2]; /* the decision it reports: its history step */
} kind_t;

static const kind_t kinds[] = {
	{ "materials", "补充材料通知书", "补",
	  { "AWAITING_MATERIALS", NULL } },
	{ "grant", "给予法律援助决定书", "给", { "GRANTED", NULL } },
	{ "denial", "不予法律援助决定书", "不", { "DENIED", NULL } },
	{ "assignment", "指派通知书", "指", { "ASSIGNED", NULL } },
	{ "termination", "终止法律援助决定书", "终", { "TERMINATED", NULL } },
	{ "withdrawal", "撤回法律援助申请通知书", "撤",
	  { "WITHDRAWN", "CANCELLED" } },
};

static const kind_t *kind_find(const char *k)
{
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (!strcmp(kinds[i].kind, k))
			return &kinds[i];
	return NULL;
}

static int local_year(uint64_t ms)
{
	time_t t = (time_t)((ms + (uint64_t)NOTICE_TZ_OFFSET_MS) / 1000);
	struct tm tm;

	gmtime_r(&t, &tm);
	return tm.tm_year + 1900;
}

/* The centre's short name for the number: its name's first character
 * (石狮市法律援助中心 -> 石), then 援; a node without a name uses its code. */
static void short_name(const char *name, const char *code, char *out,
		       size_t len)
{
	size_t n = 0;
	unsigned char c = name ? (unsigned char)name[0] : 0;

	if (c >= 0xf0)
		n = 4;
	else if (c >= 0xe0)
		n = 3;
	else if (c >= 0xc0)
		n = 2;
	else if (c)
		n = 1;
	if (n && strlen(name) >= n)
		snprintf(out, len, "%.*s援", (int)n, name);
	else
		snprintf(out, len, "%s援", code);
}

static int meta_read(node_t *n, const char *key, char *out, size_t len)
{
	uint8_t *v;
	size_t vl;
	int r = store_get(n->store, STORE_META, key, strlen(key), &v, &vl);

	if (r)
		return r;
	snprintf(out, len, "%.*s", (int)(vl < len - 1 ? vl : len - 1),
		 (char *)v);
	free(v);
	return 0;
}

/* The number of this referral's notice of kind k: the one it was given,
 * or the year's next, both written in the open turn. */
static int number_for(node_t *n, const referral_rec_t *rr, const kind_t *k,
		      const char *centre, char *out, size_t len)
{
	char key[160], seqkey[64], text[32], sn[16];
	unsigned long long seq = 0;
	int year = local_year(util_now_ms()), r;

	snprintf(key, sizeof(key), "notice/%s/%s", rr->referral_id, k->kind);
	r = meta_read(n, key, out, len);
	if (r != REF_E_NOT_FOUND)
		return r;
	snprintf(seqkey, sizeof(seqkey), "notice_seq/%d/%s", year, k->kind);
	r = meta_read(n, seqkey, text, sizeof(text));
	if (r && r != REF_E_NOT_FOUND)
		return r;
	if (!r && sscanf(text, "%llu", &seq) != 1)
		return REF_E_CORRUPT;
	seq++;
	snprintf(text, sizeof(text), "%llu", seq);
	if ((r = store_put(n->store, STORE_META, seqkey, strlen(seqkey), text,
			   strlen(text))))
		return r;
	short_name(centre, n->cfg.code, sn, sizeof(sn));
	snprintf(out, len, "(%d)%s%s字第%04llu号", year, sn, k->word, seq);
	return store_put(n->store, STORE_META, key, strlen(key), out,
			 strlen(out));
}

/* The last history step in one of k's states: the decision reported. */
static int step_for(json_t *history, const kind_t *k)
{
	for (int i = (int)json_array_size(history) - 1; i >= 0; i--) {
		const char *s = json_string_value(json_object_get(
			json_array_get(history, (size_t)i), "state"));
		for (int j = 0; j < 2 && k->states[j]; j++)
			if (s && !strcmp(s, k->states[j]))
				return i;
	}
	return -1;
}

int notice_call_data(node_t *n, const principal_t *who,
		     const Referral__Local__V1__Request *req, json_t *opts,
		     Referral__Local__V1__Reply *rep, char *err, size_t errlen)
{
	const kind_t *k = kind_find(state_str(opts, "type"));
	const dir_node_t *self = directory_node(n->dir, n->cfg.code);
	const char *centre = self ? self->name : "";
	referral_rec_t *rr = NULL;
	json_t *o = NULL, *note;
	char number[160], ts[32];
	int r, e = 0, step;

	if (!k)
		return state_fail_reply(rep, REF_E_INVALID, err, errlen,
					"notice-data needs \"type\": materials, "
					"grant, denial, assignment, termination "
					"or withdrawal");
	r = casework_referral_for(n, req->referral_id, rep, err, errlen, &rr);
	if (r || rep->code)
		goto out;
	o = views_referral(n, rr, true, &e);
	if (e) {
		r = state_fail_reply(rep, e, err, errlen, "referral %s: a record "
				     "cannot be read (%s)", rr->referral_id,
				     ref_strerror(e));
		goto out;
	}
	step = step_for(json_object_get(o, "history"), k);
	if (step < 0) {
		r = state_fail_reply(rep, REF_E_INVALID, err, errlen,
				     "referral %s has no %s step: a %s notice "
				     "reports that decision (it is %s now)",
				     rr->referral_id, k->states[0], k->kind,
				     rr->state);
		goto out;
	}
	if ((r = number_for(n, rr, k, centre, number, sizeof(number))))
		goto out;
	util_rfc3339(util_now_ms(), ts);
	note = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:i, s:i}", "number",
			 number, "type", k->kind, "title", k->title, "centre",
			 centre, "centre_code", n->cfg.code, "issued_at", ts,
			 "step", step, "tz_offset_minutes",
			 (int)(NOTICE_TZ_OFFSET_MS / 60000));
	json_object_set_new(o, "notice", note);
	/* Who printed which notice is on the record; the number, no names. */
	r = state_audit(n, "notice", rr->referral_id, NULL, NULL,
			who && who->name[0] ? who->name : "local", "ok", number);
	if (!r) {
		rep->json = state_dump(o);
		o = NULL;
	}
out:
	json_decref(o);
	if (rr)
		referral__store__v1__referral_record__free_unpacked(rr, NULL);
	return r;
}
