/* inbox.c: see inbox.h. Documents are the applicant's personal data: they
 * leave only through this operation, to the centre's own staff (the
 * table's scopes), and nothing of them is logged. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "casework.h"
#include "inbox.h"
#include "referrals.h"
#include "util.h"

static void add_doc(json_t *arr, const char *source,
		    const Referral__V1__Document *d)
{
	json_t *o = json_object();
	char *b64 = NULL, hex[65];

	json_object_set_new(o, "source", json_string(source));
	json_object_set_new(o, "type", json_string(d->type));
	json_object_set_new(o, "name", json_string(d->name));
	json_object_set_new(o, "size", json_integer((json_int_t)d->content.len));
	if (d->sha256.len == 32) {
		util_hex(d->sha256.data, 32, hex);
		json_object_set_new(o, "sha256", json_string(hex));
	}
	if (d->content.len && !util_b64_encode(d->content.data, d->content.len,
					       &b64))
		json_object_set_new(o, "content_base64", json_string(b64));
	else if (d->reference[0])
		json_object_set_new(o, "reference", json_string(d->reference));
	free(b64);
	json_array_append_new(arr, o);
}

struct supp_ctx {
	const char *id;
	bool outbox;
	json_t *arr;
	size_t round;
};

/* One stored message: a supplement of the referral adds its documents. */
static int supp_one(void *ctx, const uint8_t *k, size_t kl, const uint8_t *v,
		    size_t vl)
{
	struct supp_ctx *sc = ctx;
	ProtobufCBinaryData env = { 0, NULL };
	Referral__Store__V1__OutboxRecord *ob = NULL;
	Referral__Store__V1__InboxRecord *in = NULL;
	Referral__V1__Envelope *e = NULL;
	Referral__V1__MaterialsSupplement *ms = NULL;
	const char *rid = NULL;
	uint32_t kind = 0;
	char source[48];

	(void)k, (void)kl;
	if (sc->outbox) {
		ob = referral__store__v1__outbox_record__unpack(NULL, vl, v);
		if (ob)
			rid = ob->referral_id, kind = ob->kind, env = ob->envelope;
	} else {
		in = referral__store__v1__inbox_record__unpack(NULL, vl, v);
		if (in)
			rid = in->referral_id, kind = in->kind, env = in->envelope;
	}
	if (!ob && !in)
		return REF_E_CORRUPT;
	if (kind == REFERRAL__V1__KIND__MATERIALS_SUPPLEMENT &&
	    !strcmp(rid, sc->id) &&
	    (e = referral__v1__envelope__unpack(NULL, env.len, env.data)) &&
	    (ms = referral__v1__materials_supplement__unpack(
		    NULL, e->body.len, e->body.data))) {
		snprintf(source, sizeof(source), "supplement-%zu", ++sc->round);
		for (size_t i = 0; i < ms->n_documents; i++)
			add_doc(sc->arr, source, ms->documents[i]);
	}
	if (ms)
		referral__v1__materials_supplement__free_unpacked(ms, NULL);
	if (e)
		referral__v1__envelope__free_unpacked(e, NULL);
	if (ob)
		referral__store__v1__outbox_record__free_unpacked(ob, NULL);
	if (in)
		referral__store__v1__inbox_record__free_unpacked(in, NULL);
	return 0;
}

int inbox_call_docs(node_t *n, const principal_t *who,
		    const Referral__Local__V1__Request *req, json_t *opts,
		    Referral__Local__V1__Reply *rep, char *err, size_t errlen)
{
	Referral__V1__ReferralSubmit *a;
	referral_rec_t *rr = NULL;
	struct supp_ctx sc;
	json_t *arr;
	int r;

	(void)opts;
	r = casework_referral_for(n, req->referral_id, rep, err, errlen, &rr);
	if (r)
		return r;
	arr = json_array();
	a = referrals_application_of(n, rr, NULL, NULL);
	if (!a) {
		json_decref(arr);
		r = state_fail_reply(rep, REF_E_CORRUPT, err, errlen, "the "
				     "application of %s cannot be read",
				     rr->referral_id);
		referral__store__v1__referral_record__free_unpacked(rr, NULL);
		return r;
	}
	for (size_t i = 0; i < a->n_documents; i++)
		add_doc(arr, "application", a->documents[i]);
	referral__v1__referral_submit__free_unpacked(a, NULL);
	/* The origin keeps the supplements it sent in its outbox; the
	 * receiver, those it received in its inbox. */
	sc.id = rr->referral_id;
	sc.outbox = rr->direction == DIR_OUTGOING;
	sc.arr = arr;
	sc.round = 0;
	r = store_foreach(n->store, sc.outbox ? STORE_OUTBOX : STORE_INBOX,
			  supp_one, &sc);
	/* Documents copied out are on the record: whoever asked, through a
	 * token or at the node. */
	if (!r)
		r = state_audit(n, "read", rr->referral_id, NULL, NULL,
				who && who->token ? who->name
				: req->actor[0] ? req->actor : "local", "ok",
				"docs");
	if (r) {
		json_decref(arr);
		state_fail_reply(rep, r < 0 ? REF_E_STORE : r, err, errlen,
				 "the documents could not be read or the read "
				 "recorded (%s)", ref_strerror(r));
	} else {
		rep->referral_id = req->referral_id;
		rep->json = state_dump(json_pack("{s:s, s:o}", "referral_id",
						 rr->referral_id, "documents",
						 arr));
	}
	referral__store__v1__referral_record__free_unpacked(rr, NULL);
	return r;
}
