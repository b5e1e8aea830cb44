/* dues.c: see dues.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dues.h"
#include "history.h"
#include "lifecycle.h"
#include "util.h"

/* At most this many referrals written between checks (about 400 KB):
 * beyond it a whole sweep is cheaper than the list. */
#define DUES_MAX 8192

void dues_touch(node_t *n, const char *id)
{
	/* A move writes its history and then its record: once is enough. */
	if (n->dues_lost || (n->n_dues > n->dues_head &&
			      !strcmp(n->dues[n->n_dues - 1], id)))
		return;
	if (n->n_dues == n->cap_dues && n->dues_head) {
		/* Room at the front, where those taken were. */
		memmove(n->dues, n->dues + n->dues_head,
			(n->n_dues - n->dues_head) * sizeof(*n->dues));
		n->n_dues -= n->dues_head;
		n->dues_head = 0;
	}
	if (n->n_dues == n->cap_dues) {
		size_t cap = n->cap_dues ? 2 * n->cap_dues : 64;
		char (*nv)[48] = cap <= DUES_MAX
			? realloc(n->dues, cap * sizeof(*nv)) : NULL;
		if (!nv) {
			/* Too many (or no memory): sweep everything instead. */
			n->dues_lost = true;
			n->n_dues = n->dues_head = 0;
			return;
		}
		n->dues = nv;
		n->cap_dues = cap;
	}
	snprintf(n->dues[n->n_dues++], 48, "%s", id);
}

void dues_tag(const referral_rec_t *rr, const char *clock, char *out,
	      size_t len)
{
	snprintf(out, len, "%s/%u/%u", clock, rr->history_len,
		 rr->materials_round);
}

bool dues_reported(const referral_rec_t *rr, const char *clock)
{
	char tag[64];

	dues_tag(rr, clock, tag, sizeof(tag));
	for (size_t i = 0; i < rr->n_passed_clocks; i++)
		if (!strcmp(rr->passed_clocks[i], tag))
			return true;
	return false;
}

uint64_t dues_next(const referral_rec_t *rr, const clock_info_t *ck,
		   size_t nc, uint64_t now, bool *ret_passed)
{
	uint64_t next = UINT64_MAX;

	*ret_passed = false;
	for (size_t i = 0; i < nc; i++) {
		if (ck[i].status != CLOCK_RUNNING ||
		    dues_reported(rr, ck[i].name))
			continue;
		if (ck[i].due_ms <= now)
			*ret_passed = true;
		else if (ck[i].due_ms < next)
			next = ck[i].due_ms;
	}
	return next;
}

void dues_written(node_t *n, const referral_rec_t *rr)
{
	clock_info_t ck[8];
	size_t nc;
	uint64_t next;
	bool passed;

	/* A closed referral runs no clock, and is never opened again. */
	if (lc_final(lc_state_from_name(rr->state)))
		return;
	if (!history_has_summary(rr)) {
		dues_touch(n, rr->referral_id);
		return;
	}
	nc = history_clocks(n, rr, ck, 8);
	next = dues_next(rr, ck, nc, util_now_ms(), &passed);
	if (passed)
		dues_touch(n, rr->referral_id); /* the check reports it */
	else
		dues_seen(n, next);
}

void dues_forget(node_t *n)
{
	n->dues_lost = true;
}

bool dues_sweep_whole(const node_t *n, uint64_t now)
{
	return !n->dues_swept || n->dues_lost || now >= n->dues_next_ms;
}

void dues_sweep_started(node_t *n)
{
	n->n_dues = n->dues_head = 0;
	n->dues_lost = false;
	n->dues_next_ms = UINT64_MAX;
}

void dues_sweep_done(node_t *n)
{
	n->dues_swept = true;
}

size_t dues_take(node_t *n, char (*ret)[48], size_t max)
{
	size_t left = n->n_dues - n->dues_head, k = left < max ? left : max;

	if (!k)
		return 0;
	memcpy(ret, n->dues + n->dues_head, k * sizeof(*ret));
	n->dues_head += k;
	if (n->dues_head == n->n_dues) {
		n->dues_head = n->n_dues = 0;
		/* Emptied: its memory goes back, a backlog's peak with it. */
		if (n->cap_dues > 64) {
			free(n->dues);
			n->dues = NULL;
			n->cap_dues = 0;
		}
	}
	return k;
}

void dues_seen(node_t *n, uint64_t next_ms)
{
	if (next_ms < n->dues_next_ms)
		n->dues_next_ms = next_ms;
}

size_t dues_pending(const node_t *n)
{
	return n->n_dues - n->dues_head;
}

void dues_free(node_t *n)
{
	free(n->dues);
	n->dues = NULL;
	n->n_dues = n->cap_dues = n->dues_head = 0;
}
