/* tokens.c: see tokens.h. Writes no field of the node. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "calls.h"
#include "log.h"
#include "tokens.h"
#include "util.h"

#define TOKEN_PREFIX "rgw_"

static const char *const scope_names[] = {
	[SCOPE_LOCAL] = "local", [SCOPE_COURT] = "court",
	[SCOPE_LABOUR] = "labour", [SCOPE_STAFF] = "staff",
	[SCOPE_ADMIN] = "admin",
};

const char *tokens_scope_name(scope_t s)
{
	return (unsigned)s <= SCOPE_ADMIN ? scope_names[s] : "?";
}

int tokens_scope_from_name(const char *name)
{
	for (int i = SCOPE_COURT; i <= SCOPE_ADMIN; i++)
		if (!strcmp(name, scope_names[i]))
			return i;
	return -1;
}

/* A token's name goes into audit records and logs: letters, digits and
 * ".-_" only, 1 to 64 of them. */
static bool name_ok(const char *s)
{
	size_t len = strlen(s);

	if (!len || len > 64)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		      (s[i] >= '0' && s[i] <= '9') || strchr(".-_", s[i])))
			return false;
	return true;
}

/* base64url without padding: the token travels in an HTTP header. */
static void b64url(const uint8_t *in, size_t len, char *out)
{
	static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
				"0123456789-_";
	size_t o = 0;
	uint32_t acc = 0;
	int bits = 0;

	for (size_t i = 0; i < len; i++) {
		acc = acc << 8 | in[i];
		bits += 8;
		while (bits >= 6) {
			out[o++] = a[(acc >> (bits - 6)) & 63];
			bits -= 6;
		}
	}
	if (bits)
		out[o++] = a[(acc << (6 - bits)) & 63];
	out[o] = '\0';
}

int tokens_create(node_t *n, const char *name, scope_t scope, const char *code,
		  uint64_t expires_ms, const char *by, char *ret_token,
		  char *err, size_t errlen)
{
	Referral__Store__V1__TokenRecord t = REFERRAL__STORE__V1__TOKEN_RECORD__INIT;
	uint8_t raw[32], sha[32], *v;
	size_t vl;
	char token[64], detail[160];
	int r;

	if (!name_ok(name)) {
		snprintf(err, errlen, "a token's name is 1 to 64 letters, digits, "
			 "'.', '-' or '_'");
		return REF_E_INVALID;
	}
	if (scope < SCOPE_COURT || scope > SCOPE_ADMIN) {
		snprintf(err, errlen, "the scope is court, labour, staff or admin");
		return REF_E_INVALID;
	}
	if (code[0] && !util_node_code_valid(code)) {
		snprintf(err, errlen, "--code is a six-digit division code");
		return REF_E_INVALID;
	}
	if (expires_ms && expires_ms <= util_now_ms()) {
		snprintf(err, errlen, "the expiry date has passed");
		return REF_E_INVALID;
	}
	if (!store_get(n->store, STORE_TOKENS, name, strlen(name), &v, &vl)) {
		free(v);
		snprintf(err, errlen, "a token named %s exists: revoke it, or "
			 "choose another name", name);
		return REF_E_DUPLICATE;
	}
	if (RAND_bytes(raw, sizeof(raw)) != 1) {
		snprintf(err, errlen, "no randomness for a token");
		return -EIO;
	}
	memcpy(token, TOKEN_PREFIX, strlen(TOKEN_PREFIX));
	b64url(raw, sizeof(raw), token + strlen(TOKEN_PREFIX));
	OPENSSL_cleanse(raw, sizeof(raw));
	util_sha256((const uint8_t *)token, strlen(token), sha);
	t.name = (char *)name;
	t.scope = (char *)tokens_scope_name(scope);
	t.code = (char *)code;
	t.sha256.data = sha;
	t.sha256.len = 32;
	t.created_at_ms = util_now_ms();
	t.expires_at_ms = expires_ms;
	t.created_by = (char *)by;
	r = store_put_msg(n->store, STORE_TOKENS, name, strlen(name), &t.base);
	snprintf(detail, sizeof(detail), "%s, scope %s%s%s", name,
		 tokens_scope_name(scope), code[0] ? ", body " : "", code);
	if (!r)
		r = state_audit(n, "token_created", NULL, NULL, NULL, by, "ok",
				detail);
	if (!r)
		snprintf(ret_token, 64, "%s", token);
	OPENSSL_cleanse(token, sizeof(token));
	return r;
}

int tokens_revoke(node_t *n, const char *name, const char *by, char *err,
		  size_t errlen)
{
	Referral__Store__V1__TokenRecord *t = NULL;
	int r = store_get_msg(n->store, STORE_TOKENS, name, strlen(name),
			      &referral__store__v1__token_record__descriptor,
			      (ProtobufCMessage **)&t);

	if (r == REF_E_NOT_FOUND)
		snprintf(err, errlen, "no token named %.64s", name);
	if (r)
		return r;
	if (!t->revoked_at_ms) {
		t->revoked_at_ms = util_now_ms();
		r = store_put_msg(n->store, STORE_TOKENS, name, strlen(name),
				  &t->base);
		if (!r)
			r = state_audit(n, "token_revoked", NULL, NULL, NULL, by,
					"ok", t->name);
	}
	referral__store__v1__token_record__free_unpacked(t, NULL);
	return r;
}

static void time_field(json_t *o, const char *key, uint64_t ms)
{
	char ts[32];

	if (!ms)
		return;
	util_rfc3339(ms, ts);
	json_object_set_new(o, key, json_string(ts));
}

static int list_one(void *ctx, const uint8_t *k, size_t kl, const uint8_t *v,
		    size_t vl)
{
	Referral__Store__V1__TokenRecord *t =
		referral__store__v1__token_record__unpack(NULL, vl, v);
	json_t *o;

	(void)k, (void)kl;
	if (!t)
		return REF_E_CORRUPT;
	o = json_pack("{s:s, s:s}", "name", t->name, "scope", t->scope);
	if (t->code[0])
		json_object_set_new(o, "code", json_string(t->code));
	time_field(o, "created_at", t->created_at_ms);
	time_field(o, "expires_at", t->expires_at_ms);
	time_field(o, "revoked_at", t->revoked_at_ms);
	json_object_set_new(o, "in_force", json_boolean(!t->revoked_at_ms &&
		(!t->expires_at_ms || t->expires_at_ms > util_now_ms())));
	json_array_append_new(ctx, o);
	referral__store__v1__token_record__free_unpacked(t, NULL);
	return 0;
}

int tokens_list(node_t *n, json_t **ret)
{
	json_t *arr = json_array();
	int r = store_foreach(n->store, STORE_TOKENS, list_one, arr);

	if (r) {
		json_decref(arr);
		return r;
	}
	*ret = arr;
	return 0;
}

struct find {
	uint8_t sha[32];
	Referral__Store__V1__TokenRecord *hit;
};

static int find_one(void *ctx, const uint8_t *k, size_t kl, const uint8_t *v,
		    size_t vl)
{
	struct find *f = ctx;
	Referral__Store__V1__TokenRecord *t =
		referral__store__v1__token_record__unpack(NULL, vl, v);

	(void)k, (void)kl;
	if (!t)
		return REF_E_CORRUPT;
	/* Compared in constant time: how much of a guess matched a stored
	 * hash must not show in how long the answer takes. */
	if (!f->hit && t->sha256.len == 32 &&
	    !CRYPTO_memcmp(t->sha256.data, f->sha, 32)) {
		f->hit = t;
		return 0;
	}
	referral__store__v1__token_record__free_unpacked(t, NULL);
	return 0;
}

int tokens_check(node_t *n, const char *token, principal_t *ret, char *err,
		 size_t errlen)
{
	struct find f = { { 0 }, NULL };
	int r, scope;

	if (!token[0] || strlen(token) > 200) {
		snprintf(err, errlen, "no token: send Authorization: Bearer TOKEN");
		return REF_E_UNAUTHENTICATED;
	}
	util_sha256((const uint8_t *)token, strlen(token), f.sha);
	r = store_foreach(n->store, STORE_TOKENS, find_one, &f);
	if (r)
		return r;
	if (!f.hit) {
		snprintf(err, errlen, "the token is not one this node made");
		return REF_E_UNAUTHENTICATED;
	}
	scope = tokens_scope_from_name(f.hit->scope);
	if (f.hit->revoked_at_ms || scope < 0) {
		snprintf(err, errlen, "token %s was revoked", f.hit->name);
		r = REF_E_UNAUTHENTICATED;
	} else if (f.hit->expires_at_ms && f.hit->expires_at_ms <= util_now_ms()) {
		snprintf(err, errlen, "token %s has expired", f.hit->name);
		r = REF_E_UNAUTHENTICATED;
	} else {
		memset(ret, 0, sizeof(*ret));
		ret->scope = (scope_t)scope;
		snprintf(ret->name, sizeof(ret->name), "%s", f.hit->name);
		snprintf(ret->code, sizeof(ret->code), "%s", f.hit->code);
		ret->token = true;
		ret->expires_at_ms = f.hit->expires_at_ms;
	}
	referral__store__v1__token_record__free_unpacked(f.hit, NULL);
	return r;
}

/* ---- the token-create, token-list and token-revoke calls -------------------- */

int tokens_call(node_t *n, const principal_t *who,
		const Referral__Local__V1__Request *req, json_t *opts,
		Referral__Local__V1__Reply *rep, char *err, size_t errlen)
{
	const char *name = state_str(opts, "name");
	int r;

	if (!strcmp(req->name, "token-list")) {
		json_t *arr;
		r = tokens_list(n, &arr);
		if (!r)
			rep->json = state_dump(json_pack("{s:o}", "tokens", arr));
		return r;
	}
	if (!strcmp(req->name, "token-revoke")) {
		r = tokens_revoke(n, name, who->name[0] ? who->name : "local", err,
				  errlen);
		if (r)
			return state_fail_as(rep, r, err);
		rep->json = state_dump(json_pack("{s:s, s:b}", "name", name,
						 "revoked", 1));
		return 0;
	}
	{
		char token[64];
		int scope = tokens_scope_from_name(state_str(opts, "scope"));
		uint64_t expires = 0;
		const char *exp = state_str(opts, "expires");

		char when[40];

		/* A date is the end of that day, Beijing time (UTC+8). */
		snprintf(when, sizeof(when), strlen(exp) == 10
			 ? "%sT15:59:59Z" : "%s", exp);
		if (exp[0] && util_rfc3339_parse(when, &expires))
			return state_fail_reply(rep, REF_E_INVALID, err, errlen,
						"--expires is a date or time "
						"(2027-01-31 or RFC 3339)");
		r = tokens_create(n, name, scope < 0 ? SCOPE_LOCAL
						      : (scope_t)scope,
				  state_str(opts, "code"), expires,
				  who->name[0] ? who->name : "local", token,
				  err, errlen);
		if (r)
			return state_fail_as(rep, r, err);
		rep->json = state_dump(json_pack("{s:s, s:s, s:s}", "name", name,
						 "scope", state_str(opts, "scope"),
						 "token", token));
		return 0;
	}
}
