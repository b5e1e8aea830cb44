/* outbox.c: see outbox.h. Writes no field of the node. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keys.h"
#include "outbox.h"
#include "util.h"

/* Writes a built envelope's record and queues its schedule entry. */
static int put_built(node_t *n, const char *to, uint32_t kind,
		     const char *referral_id, const uint8_t *env, size_t el,
		     const uint8_t msg_id[16], uint32_t priority, uint64_t now)
{
	Referral__Store__V1__OutboxRecord ob =
		REFERRAL__STORE__V1__OUTBOX_RECORD__INIT;
	sched_t e = { 0 };
	int r;

	ob.envelope.data = (uint8_t *)env;
	ob.envelope.len = el;
	ob.to_node = (char *)to;
	ob.referral_id = (char *)referral_id;
	ob.kind = kind;
	ob.created_at_ms = now;
	ob.next_attempt_ms = now;
	ob.priority = priority;
	r = store_put_msg(n->store, STORE_OUTBOX, msg_id, 16, &ob.base);
	if (r)
		return r;
	memcpy(e.msg_id, msg_id, 16);
	e.next_ms = now;
	e.priority = priority;
	e.created_ms = now;
	snprintf(e.to, sizeof(e.to), "%s", to);
	return turn_schedule(&n->turn, &e);
}

int outbox_put(node_t *n, const char *to, uint32_t kind,
	       const char *referral_id, uint64_t seq, const uint8_t *body,
	       size_t blen, uint32_t priority, uint64_t now,
	       uint8_t ret_msg_id[16], size_t *ret_len)
{
	envelope_signer_t s = keys_signer(n);
	envelope_fields_t f = { 0 };
	uint8_t *env = NULL, msg_id[16];
	size_t el;
	int r;

	f.to_node = to;
	f.kind = kind;
	f.referral_id = referral_id;
	f.referral_seq = seq;
	f.created_at_ms = now;
	r = envelope_build(&s, &f, body, blen, &env, &el, msg_id);
	if (r)
		return r;
	if (ret_len)
		*ret_len = el;
	if (el > (size_t)n->cfg.max_message_bytes) {
		free(env);
		return REF_E_TOO_LARGE;
	}
	r = put_built(n, to, kind, referral_id, env, el, msg_id, priority, now);
	free(env);
	if (!r && ret_msg_id)
		memcpy(ret_msg_id, msg_id, 16);
	return r;
}

int outbox_put_msg(node_t *n, const char *to, uint32_t kind,
		   const char *referral_id, uint64_t seq,
		   const ProtobufCMessage *body, uint32_t priority, uint64_t at)
{
	size_t bl = protobuf_c_message_get_packed_size(body);
	uint8_t *bb = malloc(bl ? bl : 1);
	int r;

	if (!bb)
		return -ENOMEM;
	protobuf_c_message_pack(body, bb);
	r = outbox_put(n, to, kind, referral_id, seq, bb, bl, priority,
		       at ? at : util_now_ms(), NULL, NULL);
	free(bb);
	return r;
}

int outbox_node_level(node_t *n, const char *to, uint32_t kind,
		      const ProtobufCMessage *body, uint32_t priority,
		      uint64_t at)
{
	return outbox_put_msg(n, to, kind, "", 0, body, priority, at);
}

int outbox_resign(node_t *n, const Referral__Store__V1__OutboxRecord *ob,
		  uint64_t now, char ret_hex[33])
{
	Referral__V1__Envelope *e = referral__v1__envelope__unpack(
		NULL, ob->envelope.len, ob->envelope.data);
	Referral__V1__Header *h = e ? referral__v1__header__unpack(
		NULL, e->header.len, e->header.data) : NULL;
	envelope_signer_t s = keys_signer(n);
	envelope_fields_t f = { 0 };
	uint8_t msg_id[16], *env = NULL;
	size_t el;
	int r = -EINVAL;

	if (!h)
		goto out;
	f.to_node = ob->to_node;
	f.kind = h->kind;
	f.referral_id = h->referral_id;
	f.referral_seq = h->referral_seq;
	f.created_at_ms = now;
	r = envelope_build(&s, &f, e->body.data, e->body.len, &env, &el, msg_id);
	if (r)
		goto out;
	r = put_built(n, ob->to_node, ob->kind, ob->referral_id, env, el,
		      msg_id, ob->priority, now);
	if (!r)
		state_msg_hex(msg_id, ret_hex);
out:
	free(env);
	if (h)
		referral__v1__header__free_unpacked(h, NULL);
	if (e)
		referral__v1__envelope__free_unpacked(e, NULL);
	return r;
}
