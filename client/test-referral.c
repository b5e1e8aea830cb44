/* test-referral.c: libreferral's calls to the node, against a stand-in
 * node (a REP socket on the data folder's ipc:// endpoint, in a thread of
 * this program) and against no node at all.
 *
 * It includes referral.c itself, so that call(), which every public
 * function goes through, can be checked for what it does to the caller's
 * request; the library exports only ref_*. What it shows:
 * - a reply and its JSON come back; a change the node answers "retry"
 *   is sent again with the same request id, a new call gets a new one;
 * - no node: REF_E_UNAVAILABLE with a message, within the timeout;
 * - no socket to be had (the process is out of file descriptors):
 *   a negative errno and a message, not a crash on the missing reply;
 * - call() leaves the caller's request as it was, never pointing at its
 *   own stack. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "referral.c"
#include "testutil.h"

static char dir[PATH_MAX], endpoint[PATH_MAX + 32];

/* ---- the stand-in node ------------------------------------------------- */

#define MAX_SEEN 8

typedef struct {
	void *ctx, *sock;
	int n_replies;                 /* how many requests to answer */
	int codes[MAX_SEEN];           /* the code of each answer */
	char seen_ids[MAX_SEEN][40];   /* the request id of each request */
	int seen_ops[MAX_SEEN];
	int n_seen;
} fake_node_t;

static void *fake_node_run(void *arg)
{
	fake_node_t *f = arg;

	for (int i = 0; i < f->n_replies; i++) {
		Referral__Local__V1__Reply rep = REFERRAL__LOCAL__V1__REPLY__INIT;
		Referral__Local__V1__Request *req;
		uint8_t buf[4096];
		int n = zmq_recv(f->sock, buf, sizeof(buf), 0);
		size_t len;

		if (n < 0)
			break;
		req = referral__local__v1__request__unpack(NULL, (size_t)n, buf);
		if (req) {
			snprintf(f->seen_ids[f->n_seen], sizeof(f->seen_ids[0]),
				 "%s", req->request_id);
			f->seen_ops[f->n_seen] = (int)req->op;
			referral__local__v1__request__free_unpacked(req, NULL);
		}
		f->n_seen++;
		rep.code = f->codes[i];
		rep.error = rep.code ? "store growing, try again" : "";
		rep.json = "{\"node\": \"350581\"}";
		rep.referral_id = "350581-0123456789abcdef0123456789abcdef";
		len = referral__local__v1__reply__pack(&rep, buf);
		zmq_send(f->sock, buf, len, 0);
	}
	return NULL;
}

static int fake_node_start(fake_node_t *f, pthread_t *th)
{
	int zero = 0, timeout = 5000;

	f->ctx = zmq_ctx_new();
	f->sock = zmq_socket(f->ctx, ZMQ_REP);
	zmq_setsockopt(f->sock, ZMQ_LINGER, &zero, sizeof(zero));
	zmq_setsockopt(f->sock, ZMQ_RCVTIMEO, &timeout, sizeof(timeout));
	if (zmq_bind(f->sock, endpoint) < 0)
		return -errno;
	return pthread_create(th, NULL, fake_node_run, f) ? -EAGAIN : 0;
}

static void fake_node_stop(fake_node_t *f, pthread_t th)
{
	pthread_join(th, NULL);
	zmq_close(f->sock);
	zmq_ctx_term(f->ctx);
}

/* ---- the tests ---------------------------------------------------------- */

static bool all_hex(const char *s, size_t n)
{
	if (strlen(s) != n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!strchr("0123456789abcdef", s[i]))
			return false;
	return true;
}

static void test_replies_and_retry(void)
{
	fake_node_t f = { .n_replies = 3,
			  .codes = { 0, REF_E_UNAVAILABLE, 0 } };
	ref_move_t m = { .state = "GRANTED" };
	ref_client_t *c = NULL;
	char *json = NULL, *id = NULL;
	pthread_t th;

	CHECK_EQ_INT(fake_node_start(&f, &th), 0);
	CHECK_EQ_INT(ref_open(dir, 5000, &c), 0);
	CHECK_EQ_INT(ref_status(c, &json), 0);
	CHECK(json && !strcmp(json, "{\"node\": \"350581\"}"));
	/* The node says "retry" once: the move goes again, the same id. */
	CHECK_EQ_INT(ref_move(c, "350581-0123456789abcdef0123456789abcdef", &m,
			      "staff-01", &id), 0);
	CHECK(id && !strcmp(id, "350581-0123456789abcdef0123456789abcdef"));
	fake_node_stop(&f, th);
	CHECK_EQ_INT(f.n_seen, 3);
	CHECK_EQ_INT(f.seen_ops[0], REFERRAL__LOCAL__V1__OP__OP_STATUS);
	CHECK_EQ_INT(f.seen_ops[1], REFERRAL__LOCAL__V1__OP__OP_MOVE);
	CHECK(all_hex(f.seen_ids[0], 32));
	CHECK(all_hex(f.seen_ids[1], 32));
	CHECK(!strcmp(f.seen_ids[1], f.seen_ids[2]));
	CHECK(strcmp(f.seen_ids[0], f.seen_ids[1]));
	free(json);
	free(id);
	ref_close(&c);
	CHECK(c == NULL);
}

static void test_no_node(void)
{
	ref_client_t *c = NULL;
	char *json = NULL;

	CHECK_EQ_INT(ref_open(dir, 100, &c), 0);
	CHECK_EQ_INT(ref_status(c, &json), REF_E_UNAVAILABLE);
	CHECK(json == NULL);
	CHECK(strstr(ref_last_error(c), "did not answer") != NULL);
	ref_close(&c);
}

/* call() fixes a request id before the first try; afterwards the
 * caller's request must not point at call()'s own (gone) stack frame. */
static void test_request_left_as_given(void)
{
	Referral__Local__V1__Request req = REFERRAL__LOCAL__V1__REQUEST__INIT;
	Referral__Local__V1__Reply *rep = NULL;
	ref_client_t *c = NULL;
	char *before;

	CHECK_EQ_INT(ref_open(dir, 100, &c), 0);
	req.op = REFERRAL__LOCAL__V1__OP__OP_STATUS;
	before = req.request_id;
	CHECK_EQ_INT(call(c, &req, false, &rep), REF_E_UNAVAILABLE);
	CHECK(rep == NULL);
	CHECK(req.request_id == before);
	/* Read only once known to be the caller's: the old pointer was dead. */
	if (req.request_id == before)
		CHECK_EQ_INT(strlen(req.request_id), 0);
	ref_close(&c);
}

/* zmq_socket fails when the process has no file descriptor left: call
 * gets a negative errno and no reply. It must say so, not read one. */
static void test_out_of_descriptors(void)
{
	struct rlimit old, low;
	ref_client_t *c = NULL;
	char *json = NULL;
	int fds[512], n = 0, r;

	CHECK_EQ_INT(ref_open(dir, 100, &c), 0);
	/* A first call starts libzmq's own threads, which hold their
	 * descriptors from then on; only the call's socket needs new ones. */
	CHECK_EQ_INT(ref_status(c, &json), REF_E_UNAVAILABLE);
	CHECK_EQ_INT(getrlimit(RLIMIT_NOFILE, &old), 0);
	low = old;
	low.rlim_cur = 256;
	CHECK_EQ_INT(setrlimit(RLIMIT_NOFILE, &low), 0);
	/* The first call's socket is closed by libzmq's reaper thread, in
	 * its own time: a descriptor it frees after the table was filled
	 * would let the call below open its socket. So fill, give the reaper
	 * a moment, and fill again, until nothing more comes free. */
	for (int quiet = 0; quiet < 3;) {
		int before = n;
		while (n < (int)(sizeof(fds) / sizeof(fds[0])) &&
		       (fds[n] = open("/dev/null", O_RDONLY | O_CLOEXEC)) >= 0)
			n++;
		quiet = n == before ? quiet + 1 : 0;
		if (quiet < 3)
			nanosleep(&(struct timespec){ 0, 50 * 1000000L }, NULL);
	}
	CHECK(n < (int)(sizeof(fds) / sizeof(fds[0])));
	r = ref_status(c, &json);
	while (n > 0)
		close(fds[--n]);
	setrlimit(RLIMIT_NOFILE, &old);
	CHECK(r < 0);
	CHECK_EQ_INT(r, -EMFILE);
	CHECK(json == NULL);
	CHECK(strstr(ref_last_error(c), "cannot open a socket") != NULL);
	/* And the client still works once descriptors are free again. */
	CHECK_EQ_INT(ref_status(c, &json), REF_E_UNAVAILABLE);
	ref_close(&c);
}

int main(void)
{
	char tmpl[] = "/tmp/test-referral-XXXXXX";

	if (!mkdtemp(tmpl) || !realpath(tmpl, dir)) {
		perror("test-referral: mkdtemp");
		return 1;
	}
	snprintf(endpoint, sizeof(endpoint), "ipc://%s/sock", dir);
	if (mkdir(endpoint + 6, 0750) < 0) {
		perror("test-referral: mkdir");
		return 1;
	}
	snprintf(endpoint, sizeof(endpoint), "ipc://%s/sock/referrald.sock", dir);
	test_replies_and_retry();
	unlink(endpoint + 6);
	test_no_node();
	test_request_left_as_given();
	test_out_of_descriptors();
	unlink(endpoint + 6);
	*strrchr(endpoint, '/') = '\0';
	rmdir(endpoint + 6);
	rmdir(dir);
	return test_finish("test-referral");
}
