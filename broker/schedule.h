/* schedule.h: the outbox's pending messages, by due time.
 *
 * A lower part of the node: it knows message ids, due times, priorities
 * and peer codes, never the node, the store or a socket. Every operation
 * on one message is O(log n) or O(1) (a heap by due time, a heap of the
 * messages already due by priority and age, an index by msg_id), so a
 * backlog of a week's outage costs no scan per message.
 *
 * The order in which due messages come out (schedule_take_due): urgent
 * first, then the green channel, then the rest; within a priority, in the
 * order they were made, so a referral's later messages never overtake its
 * earlier ones. Not thread-safe: the loop's thread only. */
#ifndef REF_SCHEDULE_H
#define REF_SCHEDULE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
	uint8_t msg_id[16];
	uint64_t next_ms;    /* due at (wall clock, ms) */
	uint32_t priority;   /* 2 urgent, 1 green channel, 0 ordinary */
	uint64_t created_ms;
	char to[8];          /* the peer's code */
	bool in_flight;      /* sent in this run, no receipt yet */
	uint64_t send_seq;   /* its last send's number (peer.h: send_seq) */
	uint32_t down_tries; /* tries while its peer was known down */
} sched_t;

typedef struct {
	char to[8];
	size_t n;
	/* Messages to this peer that are due but wait for room in flight
	 * (schedule_park): a heap in the ready order, from which one returns
	 * to the ready heap each time one in flight is settled. */
	uint32_t *parked;
	size_t n_parked, cap_parked;
} sched_flight_t;

typedef struct {
	struct sched_slot *slots;  /* entries; a free slot has used false */
	size_t n_slots, cap_slots, n_used;
	uint32_t *free_list;
	size_t n_free;
	uint32_t *wait, *ready;    /* heaps of slot numbers */
	size_t n_wait, n_ready, cap_heap;
	uint32_t *index;           /* msg_id -> slot + 1; 0 empty */
	size_t cap_index, n_index, n_tomb;
	sched_flight_t flight[64]; /* in-flight counts per peer */
	size_t n_flight;
} schedule_t;

/* schedule_init / schedule_free: an empty schedule; free is safe twice. */
void schedule_init(schedule_t *s);
void schedule_free(schedule_t *s);
/* schedule_add: adds e, or replaces the entry with e's msg_id.
 * 0 or -ENOMEM (nothing changed then). */
int schedule_add(schedule_t *s, const sched_t *e);
/* schedule_find: the entry for msg_id, or NULL. The pointer is valid until
 * the next add or remove; change its next_ms only through schedule_set_next
 * and its in_flight only through schedule_set_in_flight. */
sched_t *schedule_find(schedule_t *s, const uint8_t msg_id[16]);
/* schedule_remove: drops msg_id's entry, if any. */
void schedule_remove(schedule_t *s, const uint8_t msg_id[16]);
/* schedule_set_next: e (from find) is due again at next_ms. */
void schedule_set_next(schedule_t *s, sched_t *e, uint64_t next_ms);
/* schedule_set_in_flight: marks e sent (or not) and keeps the per-peer
 * counts that [limits] peer_in_flight is checked against. */
void schedule_set_in_flight(schedule_t *s, sched_t *e, bool in_flight);
/* schedule_in_flight: messages to peer sent and not receipted (peer NULL:
 * to every peer). */
size_t schedule_in_flight(const schedule_t *s, const char *peer);
size_t schedule_count(const schedule_t *s);
/* schedule_next_due: when the next message is due: 0 if one is due now,
 * UINT64_MAX if none waits. */
uint64_t schedule_next_due(const schedule_t *s, uint64_t now);
/* schedule_take_due: up to max messages due at now, in order, into
 * ret_ids. They are set aside: schedule_set_next or schedule_remove places
 * each, and schedule_put_back returns the ones still aside, due at once. */
size_t schedule_take_due(schedule_t *s, uint64_t now, uint8_t (*ret_ids)[16],
			 size_t max);
void schedule_put_back(schedule_t *s, const uint8_t (*ids)[16], size_t n);
/* schedule_park: e (taken, not yet placed) waits until one of its peer's
 * messages in flight is settled (removed, or marked not in flight): then
 * the first parked, in the ready order, is due again. A peer's backlog
 * waiting for room so costs nothing per turn. 0, or -ENOMEM (e is left
 * as it was: place it otherwise). */
int schedule_park(schedule_t *s, sched_t *e);
size_t schedule_parked(const schedule_t *s);
/* schedule_parked_ahead: whether a message parked for e's peer comes
 * before e (taken, not yet sent) in the ready order; if so, the first
 * parked is due again (it goes before e: park e in its place). A place
 * in flight freed while nothing was parked, then taken by a later
 * message, would otherwise let the green channel wait behind ordinary
 * referrals. */
bool schedule_parked_ahead(schedule_t *s, const sched_t *e);
/* schedule_due_now: every message to peer is due at now (its backlog
 * goes, by priority, once it is back). */
void schedule_due_now(schedule_t *s, const char *peer, uint64_t now);
/* schedule_foreach: fn for every entry until it returns true. */
void schedule_foreach(schedule_t *s, bool (*fn)(void *ctx, sched_t *e),
		      void *ctx);

/* schedule_backoff: the wait before try number `attempts` (1 for the
 * first resend): first_ms doubled per try up to cap_ms, then a jitter from
 * rnd (a random number) that puts it in [d/2, d). */
uint64_t schedule_backoff(uint64_t first_ms, uint64_t cap_ms, uint32_t attempts,
			  uint32_t rnd);

#endif
