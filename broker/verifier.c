/* verifier.c: see verifier.h. Threads that check envelopes.
 *
 * Each crypto thread has one PAIR socket to the loop (inproc://, so a
 * batch is handed over as its address, never a copy of the bytes). A
 * thread given a batch takes runs of VERIFIER_RUN jobs from its shared
 * counter until none is left, then answers with an empty message; the
 * loop's wait takes runs from the same counter, then reads one answer from
 * each thread it gave the batch to, so it returns only once no thread
 * still reads a job. A thread answers its batches in the order it got
 * them, which is why waits come in the order of their starts. A NULL
 * batch stops a thread. Threads block every signal, so a stop or reload
 * request reaches the loop's thread. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "errors.h"
#include "verifier.h"

/* Jobs taken at once: neighbours share a batch root, and each take is
 * one atomic add. A batch of fewer than two runs is not handed over: a
 * hand-over costs two inproc messages and a wake-up, about what checking
 * a few envelopes does. */
#define VERIFIER_RUN 8

typedef struct {
	pthread_t thread;
	void *loop_end, *worker_end;
	bool started;
} worker_t;

struct verifier {
	worker_t *w;
	unsigned n;
	/* The lock of the loop's root cache, while the threads share it
	 * (made with w). */
	pthread_mutex_t lock;
	envelope_roots_t *shared;
};

/* Takes runs of b until none is left. */
static void take_runs(verifier_batch_t *b)
{
	for (;;) {
		size_t lo = atomic_fetch_add(&b->next, VERIFIER_RUN);
		size_t hi = lo + VERIFIER_RUN < b->n ? lo + VERIFIER_RUN : b->n;

		if (lo >= b->n)
			return;
		for (size_t i = lo; i < hi; i++)
			b->jobs[i].st = envelope_verify(&b->jobs[i].pol,
							b->jobs[i].buf,
							b->jobs[i].len,
							&b->jobs[i].c);
	}
}

static void *worker_main(void *arg)
{
	worker_t *w = arg;

	for (;;) {
		verifier_batch_t *b;
		int got = zmq_recv(w->worker_end, &b, sizeof(b), 0);

		if (got < 0 && errno == EINTR)
			continue;
		if (got != (int)sizeof(b) || !b)
			break;
		/* Pairs with verifier_start's release: the batch and its
		 * jobs as the loop wrote them (libzmq's own ordering is not
		 * one that C11 or a race detector can see). */
		(void)atomic_load_explicit(&b->next, memory_order_acquire);
		take_runs(b);
		/* Pairs with verifier_wait's acquire: the answers written. */
		atomic_fetch_add_explicit(&b->done, 1, memory_order_release);
		while (zmq_send(w->worker_end, "", 0, 0) < 0 && errno == EINTR)
			;
	}
	return NULL;
}

/* The two ends of a thread's pair; 0 or -errno. */
static int pair_open(void *zctx, unsigned i, worker_t *w)
{
	/* A name never used before in this process: libzmq lets go of a
	 * closed socket's name later, on its own thread, so a new verifier
	 * could find an old one's name still taken. */
	static atomic_uint made;
	char ep[64];
	int zero = 0;

	snprintf(ep, sizeof(ep), "inproc://verifier-%u-%u",
		 atomic_fetch_add(&made, 1), i);
	w->loop_end = zmq_socket(zctx, ZMQ_PAIR);
	w->worker_end = zmq_socket(zctx, ZMQ_PAIR);
	if (!w->loop_end || !w->worker_end)
		return -errno;
	zmq_setsockopt(w->loop_end, ZMQ_LINGER, &zero, sizeof(zero));
	zmq_setsockopt(w->worker_end, ZMQ_LINGER, &zero, sizeof(zero));
	if (zmq_bind(w->loop_end, ep) || zmq_connect(w->worker_end, ep))
		return -errno;
	return 0;
}

int verifier_new(void *zctx, unsigned threads, envelope_roots_t *shared,
		 verifier_t **ret)
{
	verifier_t *v;
	sigset_t all, old;
	int r = 0;

	*ret = NULL;
	if (threads > VERIFIER_MAX_THREADS)
		return REF_E_INVALID;
	v = calloc(1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	if (threads) {
		v->w = calloc(threads, sizeof(*v->w));
		if (!v->w || pthread_mutex_init(&v->lock, NULL)) {
			free(v->w);
			free(v);
			return -ENOMEM;
		}
		if (shared) {
			shared->lock = &v->lock;
			v->shared = shared;
		}
	}
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	for (unsigned i = 0; i < threads && !r; i++) {
		worker_t *w = &v->w[i];

		v->n = i + 1;
		r = pair_open(zctx, i, w);
		if (!r) {
			r = -pthread_create(&w->thread, NULL, worker_main, w);
			w->started = r == 0;
		}
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r) {
		verifier_free(&v);
		return r;
	}
	*ret = v;
	return 0;
}

void verifier_start(verifier_t *v, verifier_batch_t *b, verifier_job_t *jobs,
		    size_t n)
{
	/* Whole runs in the batch: threads are given at most one fewer,
	 * so the wait always has one to take. */
	size_t share = n / VERIFIER_RUN;

	memset(b->sent, 0, sizeof(b->sent));
	b->jobs = jobs;
	b->n = n;
	atomic_init(&b->done, 0);
	atomic_store_explicit(&b->next, 0, memory_order_release);
	if (!v || share < 2)
		return;
	for (unsigned k = 0; k < v->n && k + 1 < share; k++) {
		int s;

		while ((s = zmq_send(v->w[k].loop_end, &b, sizeof(b), 0)) < 0 &&
		       errno == EINTR)
			;
		/* One not sent leaves its share to the others and the wait. */
		b->sent[k] = s == (int)sizeof(b);
	}
}

void verifier_wait(verifier_t *v, verifier_batch_t *b)
{
	unsigned answered = 0;

	take_runs(b);
	for (unsigned k = 0; v && k < v->n; k++) {
		char c;
		int got;

		if (!b->sent[k])
			continue;
		/* Every thread given the batch is waited for: it may still
		 * be checking its last run, in the caller's jobs. */
		do
			got = zmq_recv(v->w[k].loop_end, &c, 1, 0);
		while (got < 0 && errno == EINTR);
		answered += got >= 0;
		b->sent[k] = false;
	}
	/* Each answer was sent after its thread's count: this reads them. */
	while (atomic_load_explicit(&b->done, memory_order_acquire) < answered)
		;
}

unsigned verifier_threads(const verifier_t *v)
{
	return v ? v->n : 0;
}

void verifier_free(verifier_t **vp)
{
	verifier_t *v = vp ? *vp : NULL;

	if (!v)
		return;
	for (unsigned i = 0; i < v->n; i++) {
		worker_t *w = &v->w[i];
		verifier_batch_t *stop = NULL;

		if (w->started) {
			while (zmq_send(w->loop_end, &stop, sizeof(stop), 0) < 0 &&
			       errno == EINTR)
				;
			pthread_join(w->thread, NULL);
		}
		if (w->loop_end)
			zmq_close(w->loop_end);
		if (w->worker_end)
			zmq_close(w->worker_end);
	}
	if (v->shared)
		v->shared->lock = NULL;
	if (v->w)
		pthread_mutex_destroy(&v->lock);
	free(v->w);
	free(v);
	*vp = NULL;
}
