/* zap.c: see zap.h. Writes only its socket. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <zmq.h>

#include "errors.h"
#include "log.h"
#include "zap.h"

#define ZAP_DOMAIN "referral"

int zap_open(void *ctx, void **ret_sock, char *err, size_t errlen)
{
	void *s = zmq_socket(ctx, ZMQ_REP);
	int linger = 0, r;

	if (!s) {
		snprintf(err, errlen, "cannot make the ZAP handler: %s",
			 zmq_strerror(errno));
		return -errno;
	}
	zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof(linger));
	if (zmq_bind(s, "inproc://zeromq.zap.01") < 0) {
		r = -errno;
		snprintf(err, errlen, "cannot bind the ZAP handler: %s",
			 zmq_strerror(errno));
		zmq_close(s);
		return r;
	}
	*ret_sock = s;
	return 0;
}

void zap_close(void **sock)
{
	if (*sock)
		zmq_close(*sock);
	*sock = NULL;
}

static void zap_reply(void *zap, const char *req_id, size_t req_len,
		      const char *status, const char *text, const char *user)
{
	zmq_send(zap, "1.0", 3, ZMQ_SNDMORE);
	zmq_send(zap, req_id, req_len, ZMQ_SNDMORE);
	zmq_send(zap, status, strlen(status), ZMQ_SNDMORE);
	zmq_send(zap, text, strlen(text), ZMQ_SNDMORE);
	zmq_send(zap, user, strlen(user), ZMQ_SNDMORE);
	zmq_send(zap, "", 0, 0);
}

bool zap_handle(void *sock, const directory_t *dir, const char *self)
{
	zmq_msg_t f[8];
	int nf = 0, more = 1;
	char z85[41] = "", addr[64] = "";
	const dir_node_t *dn = NULL;

	while (more && nf < 8) {
		zmq_msg_init(&f[nf]);
		if (zmq_msg_recv(&f[nf], sock, ZMQ_DONTWAIT) < 0) {
			zmq_msg_close(&f[nf]);
			more = 0;
			break;
		}
		more = zmq_msg_more(&f[nf]);
		nf++;
	}
	/* Drain an over-long request so the REP socket stays in step. */
	while (more) {
		zmq_msg_t x;
		zmq_msg_init(&x);
		zmq_msg_recv(&x, sock, 0);
		more = zmq_msg_more(&x);
		zmq_msg_close(&x);
	}
	if (nf < 6) {
		/* Not a ZAP request we understand: a REP socket must still
		 * answer before it can read the next one. */
		if (nf >= 2)
			zap_reply(sock, zmq_msg_data(&f[1]), zmq_msg_size(&f[1]),
				  "500", "malformed ZAP request", "");
		else if (nf == 1)
			zap_reply(sock, "", 0, "500", "malformed ZAP request", "");
		for (int i = 0; i < nf; i++)
			zmq_msg_close(&f[i]);
		return nf > 0;
	}
	if (zmq_msg_size(&f[3]) < sizeof(addr))
		memcpy(addr, zmq_msg_data(&f[3]), zmq_msg_size(&f[3]));
	if (nf >= 7 && zmq_msg_size(&f[5]) == 5 &&
	    !memcmp(zmq_msg_data(&f[5]), "CURVE", 5) &&
	    zmq_msg_size(&f[6]) == 32 &&
	    zmq_msg_size(&f[2]) == strlen(ZAP_DOMAIN) &&
	    !memcmp(zmq_msg_data(&f[2]), ZAP_DOMAIN, strlen(ZAP_DOMAIN))) {
		zmq_z85_encode(z85, zmq_msg_data(&f[6]), 32);
		dn = directory_node_by_curve(dir, z85);
	}
	if (dn && strcmp(dn->code, self) != 0) {
		zap_reply(sock, zmq_msg_data(&f[1]), zmq_msg_size(&f[1]),
			  "200", "OK", dn->code);
		log_msg(LOG_DEBUG, "zap", "admitted peer=%s address=%s",
			dn->code, addr);
	} else {
		zap_reply(sock, zmq_msg_data(&f[1]), zmq_msg_size(&f[1]),
			  "400", "key not in directory", "");
		log_msg(LOG_WARN, "zap", "refused connection address=%s "
			"curve_key=%s reason=\"not a node in directory version "
			"%llu\"", addr, z85[0] ? z85 : "-",
			(unsigned long long)dir->version);
	}
	for (int i = 0; i < nf; i++)
		zmq_msg_close(&f[i]);
	return true;
}
