/* gw-node.c: see gw-node.h. The pool holds idle clients only: a call
 * takes one (or opens one) and gives it back, so there are never more
 * than the calls in flight, which max_connections bounds. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "gw-log.h"
#include "gw-node.h"
#include "referral.h"
#include "util.h"

#define POOL_MAX 256
#define WHO_SLOTS 256
#define WHO_TTL_MS 30000
#define OPS_TTL_MS 2000

struct who_slot {
	uint8_t key[32];     /* SHA-256 of the token; never the token */
	uint64_t until_ms;   /* 0: empty */
	gw_who_t who;
};

struct gw_node {
	char data_dir[1024];
	int timeout_ms;
	pthread_mutex_t lock; /* pool, ops and who below */
	ref_client_t *idle[POOL_MAX];
	size_t n_idle;
	json_t *ops;
	uint64_t ops_ms;
	struct who_slot who[WHO_SLOTS];
};

gw_node_t *gw_node_new(const char *data_dir, int timeout_ms)
{
	gw_node_t *n = calloc(1, sizeof(*n));

	if (!n)
		return NULL;
	snprintf(n->data_dir, sizeof(n->data_dir), "%s", data_dir);
	n->timeout_ms = timeout_ms;
	pthread_mutex_init(&n->lock, NULL);
	return n;
}

void gw_node_free(gw_node_t **np)
{
	gw_node_t *n = np ? *np : NULL;

	if (!n)
		return;
	for (size_t i = 0; i < n->n_idle; i++)
		ref_close(&n->idle[i]);
	json_decref(n->ops);
	pthread_mutex_destroy(&n->lock);
	free(n);
	*np = NULL;
}

static int take(gw_node_t *n, ref_client_t **ret)
{
	ref_client_t *c = NULL;

	pthread_mutex_lock(&n->lock);
	if (n->n_idle)
		c = n->idle[--n->n_idle];
	pthread_mutex_unlock(&n->lock);
	if (c) {
		*ret = c;
		return 0;
	}
	return ref_open(n->data_dir, n->timeout_ms, ret);
}

static void give(gw_node_t *n, ref_client_t *c)
{
	pthread_mutex_lock(&n->lock);
	if (n->n_idle < POOL_MAX) {
		n->idle[n->n_idle++] = c;
		c = NULL;
	}
	pthread_mutex_unlock(&n->lock);
	ref_close(&c);
}

int gw_node_call(gw_node_t *n, const char *name, const char *token,
		 const char *request_id, const char *referral_id,
		 const char *json, json_t **ret_json, char *err, size_t errlen)
{
	ref_client_t *c;
	char *out = NULL;
	json_t *o;
	int r = take(n, &c);

	if (r) {
		snprintf(err, errlen, "cannot open a client to the node: %s",
			 ref_strerror(r));
		return r;
	}
	r = ref_call(c, name, token, NULL, request_id, referral_id, json,
		     ret_json ? &out : NULL);
	if (r == REF_E_UNAVAILABLE || r < 0) {
		/* The library's message names the node's folder: that is
		 * for the operator's log, not for any caller. */
		gw_log(GW_WARN, "node_unavailable op=%s code=%s detail=\"%s\"",
		       name, gw_node_code_name(r), ref_last_error(c));
		snprintf(err, errlen, "the local node did not answer: try "
			 "again shortly");
	} else {
		snprintf(err, errlen, "%s", ref_last_error(c));
	}
	give(n, c);
	if (r || !ret_json)
		return r;
	o = json_loads(out, 0, NULL);
	free(out);
	if (!json_is_object(o)) {
		json_decref(o);
		snprintf(err, errlen, "the node's answer to \"%s\" is not a "
			 "JSON object (gateway and node versions differ?)",
			 name);
		return REF_E_MALFORMED;
	}
	*ret_json = o;
	return 0;
}

int gw_node_ops(gw_node_t *n, json_t **ret, char *err, size_t errlen)
{
	uint64_t now = util_mono_ms();
	json_t *o = NULL, *ops;
	int r;

	pthread_mutex_lock(&n->lock);
	if (n->ops && now - n->ops_ms < OPS_TTL_MS)
		o = json_incref(n->ops);
	pthread_mutex_unlock(&n->lock);
	if (o) {
		*ret = o;
		return 0;
	}
	r = gw_node_call(n, "ops", NULL, NULL, NULL, NULL, &o, err, errlen);
	if (r)
		return r;
	ops = json_object_get(o, "operations");
	if (!json_is_array(ops)) {
		json_decref(o);
		snprintf(err, errlen, "the node's \"ops\" answer has no "
			 "\"operations\" list");
		return REF_E_MALFORMED;
	}
	json_incref(ops);
	json_decref(o);
	pthread_mutex_lock(&n->lock);
	json_decref(n->ops);
	n->ops = json_incref(ops);
	n->ops_ms = now;
	pthread_mutex_unlock(&n->lock);
	*ret = ops;
	return 0;
}

json_t *gw_node_op_find(json_t *ops, const char *name)
{
	size_t i;
	json_t *op;

	json_array_foreach(ops, i, op) {
		const char *nm = json_string_value(json_object_get(op, "name"));
		if (nm && !strcmp(nm, name))
			return op;
	}
	return NULL;
}

static void copy_str(char *dst, size_t len, json_t *o, const char *key)
{
	const char *v = json_string_value(json_object_get(o, key));

	snprintf(dst, len, "%s", v ? v : "");
}

int gw_node_whoami(gw_node_t *n, const char *token, gw_who_t *ret,
		   char *err, size_t errlen)
{
	uint8_t key[32];
	uint64_t now = util_mono_ms();
	struct who_slot *slot, *oldest;
	json_t *o;
	gw_who_t who;
	int r, hit = 0;

	util_sha256((const uint8_t *)token, strlen(token), key);
	pthread_mutex_lock(&n->lock);
	for (size_t i = 0; i < WHO_SLOTS; i++) {
		slot = &n->who[i];
		if (slot->until_ms > now && !memcmp(slot->key, key, 32)) {
			*ret = slot->who;
			hit = 1;
			break;
		}
	}
	pthread_mutex_unlock(&n->lock);
	if (hit)
		return 0;
	r = gw_node_call(n, "whoami", token, NULL, NULL, NULL, &o, err, errlen);
	if (r)
		return r;
	copy_str(who.name, sizeof(who.name), o, "name");
	copy_str(who.scope, sizeof(who.scope), o, "scope");
	copy_str(who.code, sizeof(who.code), o, "code");
	json_decref(o);
	/* The slot expiring first (or an empty one) makes room. */
	pthread_mutex_lock(&n->lock);
	oldest = &n->who[0];
	for (size_t i = 1; i < WHO_SLOTS; i++)
		if (n->who[i].until_ms < oldest->until_ms)
			oldest = &n->who[i];
	memcpy(oldest->key, key, 32);
	oldest->who = who;
	oldest->until_ms = now + WHO_TTL_MS;
	pthread_mutex_unlock(&n->lock);
	*ret = who;
	return 0;
}

int gw_node_http_status(int r)
{
	if (r < 0)
		return 503;
	switch (r) {
	case 0:
		return 200;
	case REF_E_MALFORMED:
	case REF_E_INVALID:
	case REF_E_UNKNOWN_NODE:
		return 400;
	case REF_E_UNAUTHENTICATED:
		return 401;
	case REF_E_FORBIDDEN:
		return 403;
	case REF_E_NOT_FOUND:
		return 404;
	case REF_E_CONFLICT:
	case REF_E_REFUSED:
	case REF_E_DUPLICATE:
		return 409;
	case REF_E_TOO_LARGE:
		return 413;
	case REF_E_STORE_FULL:
		return 507;
	case REF_E_UNAVAILABLE:
	case REF_E_ABORTED:
		return 503;
	default:
		/* A signature, key, store or configuration failure at the
		 * node: nothing the caller can fix. */
		return 500;
	}
}

const char *gw_node_code_name(int r)
{
	static const char *const names[REF_E__MAX] = {
		[REF_E_MALFORMED] = "REF_E_MALFORMED",
		[REF_E_BADSIG] = "REF_E_BADSIG",
		[REF_E_UNKNOWN_KEY] = "REF_E_UNKNOWN_KEY",
		[REF_E_BAD_DIGEST] = "REF_E_BAD_DIGEST",
		[REF_E_STALE] = "REF_E_STALE",
		[REF_E_SENDER_MISMATCH] = "REF_E_SENDER_MISMATCH",
		[REF_E_NOT_FOR_ME] = "REF_E_NOT_FOR_ME",
		[REF_E_UNSUPPORTED_VERSION] = "REF_E_UNSUPPORTED_VERSION",
		[REF_E_REFUSED] = "REF_E_REFUSED",
		[REF_E_DUPLICATE] = "REF_E_DUPLICATE",
		[REF_E_STORE_FULL] = "REF_E_STORE_FULL",
		[REF_E_NOT_FOUND] = "REF_E_NOT_FOUND",
		[REF_E_CORRUPT] = "REF_E_CORRUPT",
		[REF_E_INVALID] = "REF_E_INVALID",
		[REF_E_UNKNOWN_NODE] = "REF_E_UNKNOWN_NODE",
		[REF_E_TOO_LARGE] = "REF_E_TOO_LARGE",
		[REF_E_CONFIG] = "REF_E_CONFIG",
		[REF_E_KEY_PERMS] = "REF_E_KEY_PERMS",
		[REF_E_DIRECTORY] = "REF_E_DIRECTORY",
		[REF_E_UNAVAILABLE] = "REF_E_UNAVAILABLE",
		[REF_E_ABORTED] = "REF_E_ABORTED",
		[REF_E_STORE] = "REF_E_STORE",
		[REF_E_UNAUTHENTICATED] = "REF_E_UNAUTHENTICATED",
		[REF_E_FORBIDDEN] = "REF_E_FORBIDDEN",
		[REF_E_CONFLICT] = "REF_E_CONFLICT",
	};
	if (r < 0)
		return "REF_E_UNAVAILABLE";
	if (r > 0 && r < REF_E__MAX && names[r])
		return names[r];
	return "REF_E_UNKNOWN";
}

void gw_node_request_id(const char *token, const char *key, char out[33])
{
	/* The HTTP side bounds both (a token to 512 bytes, a key to 255);
	 * longer ones are cut here, never overrun. */
	uint8_t buf[512 + 1 + 255], h[32];
	size_t tl = strnlen(token, 512), kl = strnlen(key, 255);

	memcpy(buf, token, tl);
	buf[tl] = 0;
	memcpy(buf + tl + 1, key, kl);
	util_sha256(buf, tl + 1 + kl, h);
	util_hex(h, 16, out);
}
