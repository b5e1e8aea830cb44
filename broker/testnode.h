/* testnode.h: a node's state in a unit test, without its sockets: real
 * Ed25519 keys for two counties, a directory that lists both, a real LMDB
 * store in a temporary folder, and the node's turn and schedule. The
 * rooms' functions run on it as they do in referrald. Test code only. */
#ifndef REF_TESTNODE_H
#define REF_TESTNODE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dues.h"
#include "outbox.h"
#include "sign.h"
#include "state.h"
#include "util.h"

#define TN_SELF "350582"
#define TN_PEER "350581"

typedef struct {
	node_t *n;
	EVP_PKEY *peer_key;   /* the other county's signing key */
	char dir[64];
} testnode_t;

/* A directory listing both counties with their signing keys. */
static inline directory_t *testnode_directory(EVP_PKEY *self, EVP_PKEY *peer)
{
	char *a = NULL, *b = NULL, json[4096];
	directory_t *d = NULL;
	char err[300];

	sign_key_to_b64(self, &a);
	sign_key_to_b64(peer, &b);
	snprintf(json, sizeof(json),
		 "{\"format\":\"referral.v1/directory\",\"version\":1,"
		 "\"issued_at\":\"2026-11-28T00:00:00Z\",\"authority\":\"350500\","
		 "\"nodes\":[{\"code\":\"" TN_SELF "\",\"name\":\"B\","
		 "\"role\":\"legal_aid_centre\",\"endpoint\":\"tcp://127.0.0.1:1\","
		 "\"curve_public_key\":\"Qbxjxmn6]MuyQTt.-DkQ/E4>jy1:9aNNI7(2y&*H\","
		 "\"signing_keys\":[{\"key_id\":\"" TN_SELF "-k1\",\"alg\":\"ed25519\","
		 "\"public_key\":\"%s\",\"not_before\":\"2020-01-01T00:00:00Z\","
		 "\"not_after\":\"2099-01-01T00:00:00Z\"}],\"accepts\":[\"labour\"]},"
		 "{\"code\":\"" TN_PEER "\",\"name\":\"A\","
		 "\"role\":\"legal_aid_centre\",\"endpoint\":\"tcp://127.0.0.1:2\","
		 "\"curve_public_key\":\"A$r{c^(5gTH.5g]+F-TpRJs!LqW(fZ@*3{9*hFS4\","
		 "\"signing_keys\":[{\"key_id\":\"" TN_PEER "-k1\",\"alg\":\"ed25519\","
		 "\"public_key\":\"%s\",\"not_before\":\"2020-01-01T00:00:00Z\","
		 "\"not_after\":\"2099-01-01T00:00:00Z\"}],\"accepts\":[\"labour\"]}]}",
		 a, b);
	free(a);
	free(b);
	if (directory_parse(json, strlen(json), &d, err, sizeof(err)))
		fprintf(stderr, "test directory: %s\n", err);
	return d;
}

/* testnode_open: the node TN_SELF with a store of map_max bytes. */
static inline int testnode_open(testnode_t *t, size_t map_max)
{
	node_t *n = calloc(1, sizeof(*n));
	store_opts_t so = { 0 };
	char path[128];

	memset(t, 0, sizeof(*t));
	snprintf(t->dir, sizeof(t->dir), "/tmp/testnode-XXXXXX");
	if (!n || !mkdtemp(t->dir))
		return -1;
	t->n = n;
	config_defaults(&n->cfg);
	snprintf(n->cfg.data_dir, sizeof(n->cfg.data_dir), "%s", t->dir);
	snprintf(n->cfg.code, sizeof(n->cfg.code), TN_SELF);
	snprintf(n->key_id, sizeof(n->key_id), TN_SELF "-k1");
	turn_init(&n->turn);
	schedule_init(&n->sched);
	if (sign_key_generate(SIGN_ALG_ED25519, &n->key) ||
	    sign_key_generate(SIGN_ALG_ED25519, &t->peer_key))
		return -1;
	n->dir = testnode_directory(n->key, t->peer_key);
	snprintf(path, sizeof(path), "%s/store", t->dir);
	so.map_initial = map_max;
	so.map_max = map_max;
	so.submit_limit_pct = 90;
	return n->dir && !store_open(path, &so, &n->store) ? 0 : -1;
}

static inline void testnode_close(testnode_t *t)
{
	char cmd[128];

	if (t->n) {
		if (t->n->store)
			turn_abort(&t->n->turn, t->n->store);
		outbox_drop_drafts(t->n);
		free(t->n->drafts);
		dues_free(t->n);
		store_close(&t->n->store);
		directory_free(&t->n->dir);
		EVP_PKEY_free(t->n->key);
		schedule_free(&t->n->sched);
		free(t->n);
	}
	EVP_PKEY_free(t->peer_key);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", t->dir);
	if (t->dir[0] && system(cmd))
		fprintf(stderr, "could not remove %s\n", t->dir);
}

/* An envelope from the peer (or from self when from_self) to the other. */
static inline uint8_t *testnode_envelope(testnode_t *t, bool from_self, uint32_t kind,
				  const char *referral_id, uint64_t seq,
				  const ProtobufCMessage *body, size_t *ret_len,
				  uint8_t ret_msg_id[16])
{
	envelope_signer_t s = {
		from_self ? TN_SELF : TN_PEER,
		from_self ? TN_SELF "-k1" : TN_PEER "-k1",
		from_self ? t->n->key : t->peer_key
	};
	envelope_fields_t f = { from_self ? TN_PEER : TN_SELF, kind,
				referral_id, seq, util_now_ms(), NULL };
	size_t bl = protobuf_c_message_get_packed_size(body);
	uint8_t *bb = malloc(bl ? bl : 1), *out = NULL;

	protobuf_c_message_pack(body, bb);
	if (envelope_build(&s, &f, bb, bl, &out, ret_len, ret_msg_id))
		out = NULL;
	free(bb);
	return out;
}

/* Writes big values in events until one does not fit: its error. */
static inline int testnode_fill(node_t *n)
{
	static char big[100000];
	int r = 0;

	memset(big, 'x', sizeof(big));
	for (int i = 0; i < 4096 && !r; i++) {
		char k[16];
		snprintf(k, sizeof(k), "fill%d", i);
		if ((r = store_event_begin(n->store)))
			break;
		r = store_put(n->store, STORE_META, k, strlen(k), big,
			      i < 64 ? sizeof(big) : 2000);
		if (r)
			store_event_abort(n->store);
		else
			r = store_event_commit(n->store);
		if (r == REF_E_STORE_FULL && i < 64) {
			/* Then smaller ones, to leave almost nothing. */
			r = 0;
			i = 63;
		}
	}
	return r;
}

#endif
