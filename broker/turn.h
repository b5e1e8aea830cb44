/* turn.h: what one loop turn sends once its writes are durable.
 *
 * A lower part of the node: replies and receipts queued in a turn (and
 * messages to schedule, or to take off the schedule) leave only after
 * the turn's commit; an aborted turn drops every one of them (a client's
 * reply becomes its "retry" answer, a peer's receipt is never sent, so
 * the peer resends). It knows sockets, the store's turn and the schedule,
 * never the node.
 *
 * Rule of the house (docs/ARCHITECTURE.md): only the loop (node.c) calls
 * turn_begin, turn_commit and turn_abort; handlers add to the open turn
 * through store events and queue with turn_reply/turn_schedule. Not
 * thread-safe: the loop's thread only. */
#ifndef REF_TURN_H
#define REF_TURN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "schedule.h"
#include "store.h"

typedef struct turn_out turn_out_t;

typedef struct {
	turn_out_t *head, **tail;
	bool open;         /* turn_begin opened the store's turn */
} turn_t;

/* A point in the queue: what is queued after it can be dropped. */
typedef turn_out_t **turn_mark_t;

void turn_init(turn_t *t);
/* turn_begin: opens the store's turn. 0 or the store's error. */
int turn_begin(turn_t *t, store_t *s);
/* turn_commit: commits the store's turn, then sends what was queued (on
 * success) or drops it (on failure), and adds the queued schedule entries
 * to sched only on success. A turn that is no longer open in the store (aborted
 * by someone) counts as failed: nothing queued in it leaves. Returns the
 * commit's result (REF_E_ABORTED if the turn was gone). */
int turn_commit(turn_t *t, store_t *s, schedule_t *sched);
/* turn_abort: aborts the store's turn and drops everything queued. */
void turn_abort(turn_t *t, store_t *s);
/* turn_reply: queues data for sock (to routing id rid when not NULL, with
 * an empty delimiter frame first when delim, for REQ clients). fail, if
 * not NULL, is sent instead when the turn fails. Takes ownership of data
 * and fail (freed even on failure). 0 or -ENOMEM. */
int turn_reply(turn_t *t, void *sock, const uint8_t *rid, size_t rid_len,
	       bool delim, uint8_t *data, size_t len, uint8_t *fail,
	       size_t fail_len);
/* turn_reply_awaiting: a reply to sock (routing id rid) whose bytes are
 * not made yet: turn_fill gives them, matched by seal_id, before the
 * commit (a receipt signed with the turn's batch). One never filled is
 * never sent. 0 or -ENOMEM. */
int turn_reply_awaiting(turn_t *t, void *sock, const uint8_t *rid,
			size_t rid_len, const uint8_t seal_id[16]);
/* turn_fill: data (taken over) for the awaiting reply seal_id; freed if
 * there is none (its event was rolled back). */
void turn_fill(turn_t *t, const uint8_t seal_id[16], uint8_t *data, size_t len);
/* turn_foreach_awaiting: fn for each reply still awaiting its bytes, in
 * the order they were queued, with its socket and routing id (valid
 * until the turn ends). A reply filled with no data (turn_fill(NULL))
 * is never sent: its receipt went out in a batch instead. */
typedef void turn_awaiting_fn(void *ctx, const uint8_t seal_id[16],
			      void *sock, const uint8_t *rid, size_t rid_len);
void turn_foreach_awaiting(const turn_t *t, turn_awaiting_fn *fn, void *ctx);
/* turn_schedule: e goes on the schedule once the turn has committed. */
int turn_schedule(turn_t *t, const sched_t *e);
/* turn_unschedule: msg_id leaves the schedule once the turn has committed
 * (its receipt is durable), which frees its place among the peer's
 * messages in flight at once rather than at its next due time. 0 or
 * -ENOMEM (it then leaves when its next attempt finds it delivered). */
int turn_unschedule(turn_t *t, const uint8_t msg_id[16]);
/* turn_mark / turn_rollback: drops what was queued after the mark (an
 * event that aborts must not leave a reply or a schedule entry behind). */
turn_mark_t turn_mark(turn_t *t);
void turn_rollback(turn_t *t, turn_mark_t mark);
/* turn_pending: how many things are queued (for tests). */
size_t turn_pending(const turn_t *t);

#endif
