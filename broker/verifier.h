/* verifier.h: incoming envelopes checked on worker threads.
 *
 * A lower part of the node: the loop reads a turn's peer messages and
 * receipts first and starts their checks here (verifier_start), does the
 * turn's other work (clients' requests, which write the store) while the
 * crypto threads check them, then waits (verifier_wait) and handles each
 * in the order it came. The waiting loop checks what no thread has taken
 * yet itself. Jobs are taken in runs of neighbours (a batch's envelopes
 * come together, so a run mostly needs its batch root verified once);
 * each job is envelope_verify on its own bytes and policy: the checks and
 * their order are the wire contract's, unchanged.
 *
 * What a crypto thread may touch between start and wait: the jobs, their
 * policies' directory (read only; a directory is put in force only after
 * the turn's commit, and a turn waits for every batch it started) and the
 * loop's cache of verified batch roots, under the lock this gives it
 * (envelope.h), nothing else of the node.
 *
 * Owns its threads and their sockets (one inproc:// pair each); the loop's
 * thread alone calls it. */
#ifndef REF_VERIFIER_H
#define REF_VERIFIER_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include "envelope.h"

typedef struct verifier verifier_t;

/* One envelope to check: pol and buf are the caller's (buf must stay put
 * until the wait returns); st and c are envelope_verify's answer (free c
 * with envelope_check_free). pol.roots may be the cache given to
 * verifier_new, or NULL. */
typedef struct {
	envelope_policy_t pol;
	const uint8_t *buf;
	size_t len;
	int st;
	envelope_check_t c;
} verifier_job_t;

/* Jobs started and not yet waited for: the caller's, left alone until
 * verifier_wait returns. */
#define VERIFIER_MAX_THREADS 16
typedef struct {
	verifier_job_t *jobs;
	size_t n;
	atomic_size_t next;  /* the next job no one has taken */
	atomic_uint done;    /* threads that finished with the batch */
	bool sent[VERIFIER_MAX_THREADS];
} verifier_batch_t;

/* verifier_new: threads crypto threads on zmq context zctx (0: none; the
 * jobs are then all checked in verifier_wait), sharing the root cache
 * shared (given its lock until verifier_free; may be NULL). 0, -ENOMEM,
 * REF_E_INVALID (more than VERIFIER_MAX_THREADS), or -errno from libzmq
 * or pthreads (nothing is left running on failure). */
int verifier_new(void *zctx, unsigned threads, envelope_roots_t *shared,
		 verifier_t **ret);
/* verifier_start: jobs[0..n) begin to be checked on the crypto threads
 * (too few to share are left for the wait). Waits must come in the order
 * of their starts. */
void verifier_start(verifier_t *v, verifier_batch_t *b, verifier_job_t *jobs,
		    size_t n);
/* verifier_wait: returns once every job of b is checked, checking the
 * ones no thread has taken. */
void verifier_wait(verifier_t *v, verifier_batch_t *b);
/* verifier_threads: how many crypto threads run (for status and tests). */
unsigned verifier_threads(const verifier_t *v);
/* verifier_free: stops and joins the threads; before zmq_ctx_term, with
 * no batch started and not waited for. */
void verifier_free(verifier_t **v);

#endif
