/* history.c: see history.h. Writes no field of the node: steps go to the
 * store's open turn. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "history.h"
#include "lifecycle.h"

/* Replaces an unpacked message's string (protobuf-c frees it with free()). */
int history_set_str(char **field, const char *v)
{
	char *copy = strdup(v ? v : "");

	if (!copy)
		return -ENOMEM;
	if (*field && *field != protobuf_c_empty_string)
		free(*field);
	*field = copy;
	return 0;
}

bool history_finding(const Referral__V1__StatusChange *sc)
{
	if (sc->urgency_ground[0])
		return true;
	return sc->supplement && !strcmp(sc->state, sc->from_state);
}

bool history_moves_clocks(const Referral__V1__StatusChange *sc)
{
	/* Telling the applicant keeps the state and moves no clock. */
	if (!strcmp(sc->state, sc->from_state) &&
	    lc_notified_reason(sc->reason))
		return false;
	return !history_finding(sc);
}

/* Adds a clock step to rr's summary (rr->clock_state/clock_at, protobuf-c's
 * arrays: freed with the record). */
static int clock_note(referral_rec_t *rr, const char *state, uint64_t at)
{
	size_t k = rr->n_clock_state;
	char **ns, *copy;
	uint64_t *na;

	ns = realloc(rr->clock_state, (k + 1) * sizeof(*ns));
	if (!ns)
		return -ENOMEM;
	rr->clock_state = ns;
	na = realloc(rr->clock_at, (k + 1) * sizeof(*na));
	if (!na)
		return -ENOMEM;
	rr->clock_at = na;
	copy = strdup(state);
	if (!copy)
		return -ENOMEM;
	ns[k] = copy;
	na[k] = at;
	rr->n_clock_state = rr->n_clock_at = k + 1;
	return 0;
}

void history_rec_release(referral_rec_t *rr)
{
	for (size_t k = 0; k < rr->n_clock_state; k++)
		free(rr->clock_state[k]);
	free(rr->clock_state);
	free(rr->clock_at);
	rr->clock_state = NULL;
	rr->clock_at = NULL;
	rr->n_clock_state = rr->n_clock_at = 0;
}

bool history_has_summary(const referral_rec_t *rr)
{
	return rr->clock_steps_of == rr->history_len &&
	       rr->n_clock_state == rr->n_clock_at;
}

size_t history_clocks(node_t *n, const referral_rec_t *rr, clock_info_t *out,
		      size_t max)
{
	history_step_t *s;
	clock_step_t *cs;
	size_t k = 0, w;

	cs = malloc(((history_has_summary(rr) ? rr->n_clock_state
					      : rr->history_len) + 1) *
		    sizeof(*cs));
	if (!cs)
		return 0;
	if (history_has_summary(rr)) {
		for (; k < rr->n_clock_state; k++)
			cs[k] = (clock_step_t){
				lc_state_from_name(rr->clock_state[k]),
				rr->clock_at[k] };
	} else {
		/* A record older than the summary: its steps, a sealed read
		 * each. */
		if (history_load(n, rr, &s)) {
			free(cs);
			return 0;
		}
		for (uint32_t i = 0; i < rr->history_len; i++)
			if (history_moves_clocks(s[i].sc))
				cs[k++] = (clock_step_t){
					lc_state_from_name(s[i].sc->state),
					s[i].at };
		history_steps_free(s, rr->history_len);
	}
	w = clocks_compute(cs, k, n->calendar, (int)n->cfg.materials_wait_days,
			   out, max);
	free(cs);
	return w;
}

static void history_key(const char *id, uint32_t i, uint8_t *key, size_t *klen)
{
	size_t l = strlen(id);

	memcpy(key, id, l);
	key[l] = (uint8_t)(i >> 24);
	key[l + 1] = (uint8_t)(i >> 16);
	key[l + 2] = (uint8_t)(i >> 8);
	key[l + 3] = (uint8_t)i;
	*klen = l + 4;
}

int history_append(node_t *n, referral_rec_t *rr,
			  const Referral__V1__StatusChange *sc,
			  const char *by, uint64_t at, const uint8_t *msg_id)
{
	Referral__Store__V1__HistoryRecord h =
		REFERRAL__STORE__V1__HISTORY_RECORD__INIT;
	uint8_t key[80], *buf;
	size_t klen, blen;
	int r;

	blen = referral__v1__status_change__get_packed_size(sc);
	buf = malloc(blen ? blen : 1);
	if (!buf)
		return -ENOMEM;
	referral__v1__status_change__pack(sc, buf);
	h.change.data = buf;
	h.change.len = blen;
	h.by_node = (char *)by;
	h.at_ms = at;
	if (msg_id) {
		h.msg_id.data = (uint8_t *)msg_id;
		h.msg_id.len = 16;
	}
	history_key(rr->referral_id, rr->history_len, key, &klen);
	r = store_put_msg(n->store, STORE_HISTORY, key, klen, &h.base);
	free(buf);
	/* The summary follows the history from its first step; a record
	 * older than it (or one whose summary does not add up) keeps
	 * reading its clocks from the steps. */
	if (!r && history_has_summary(rr)) {
		if (history_moves_clocks(sc))
			r = clock_note(rr, sc->state, at);
		if (!r)
			rr->clock_steps_of = rr->history_len + 1;
	}
	if (!r)
		rr->history_len++;
	return r;
}

void history_steps_free(history_step_t *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i].sc)
			referral__v1__status_change__free_unpacked(s[i].sc, NULL);
	free(s);
}

/* The referral's history in order (*ret malloc'd; steps_free it). */
int history_load(node_t *n, const referral_rec_t *rr, history_step_t **ret)
{
	history_step_t *s = calloc(rr->history_len + 1, sizeof(*s));
	int r = 0;

	if (!s)
		return -ENOMEM;
	for (uint32_t i = 0; i < rr->history_len && !r; i++) {
		Referral__Store__V1__HistoryRecord *h = NULL;
		uint8_t key[80];
		size_t klen;

		history_key(rr->referral_id, i, key, &klen);
		r = store_get_msg(n->store, STORE_HISTORY, key, klen,
				  &referral__store__v1__history_record__descriptor,
				  (ProtobufCMessage **)&h);
		if (r)
			break;
		s[i].sc = referral__v1__status_change__unpack(NULL, h->change.len,
							      h->change.data);
		snprintf(s[i].by, sizeof(s[i].by), "%s", h->by_node);
		s[i].at = h->at_ms;
		referral__store__v1__history_record__free_unpacked(h, NULL);
		if (!s[i].sc)
			r = REF_E_CORRUPT;
	}
	if (r) {
		history_steps_free(s, rr->history_len);
		return r;
	}
	*ret = s;
	return 0;
}
