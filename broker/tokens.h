/* tokens.h: the gateway's bearer tokens, kept by the node.
 *
 * Courts, labour bureaus and the centre's own staff and admins reach the
 * node through the HTTP gateway (referral-gw), which holds no secrets: it
 * passes each caller's token on, and the node authenticates it here and
 * acts for its holder within the token's scope. Only a token's SHA-256 is
 * stored (table `tokens`, by name); the token itself is shown once, when
 * it is made. Tokens expire and can be revoked; making and revoking one is
 * an audit event. Writes no field of the node (store records only). */
#ifndef REF_TOKENS_H
#define REF_TOKENS_H

#include "state.h"

/* tokens_scope_name / tokens_scope_from_name: "court", "labour", "staff",
 * "admin" ("local" for SCOPE_LOCAL); -1 for an unknown name. */
const char *tokens_scope_name(scope_t s);
int tokens_scope_from_name(const char *name);
/* tokens_create: a new token NAME of scope (code for court and labour,
 * may be ""), expiring at expires_ms (0: never), recorded as made by
 * `by`. ret_token (at least 64 bytes) gets the token, shown once.
 * REF_E_INVALID for a bad name, scope or code; REF_E_DUPLICATE if a
 * token of that name exists (revoke it first). In the open turn. */
int tokens_create(node_t *n, const char *name, scope_t scope, const char *code,
		  uint64_t expires_ms, const char *by, char *ret_token,
		  char *err, size_t errlen);
/* tokens_revoke: NAME no longer authenticates. REF_E_NOT_FOUND. */
int tokens_revoke(node_t *n, const char *name, const char *by, char *err,
		  size_t errlen);
/* tokens_list: every token (never the token itself) as a JSON array. */
int tokens_list(node_t *n, json_t **ret);
/* tokens_check: the principal token stands for. REF_E_UNAUTHENTICATED
 * (err says why: unknown, expired or revoked) otherwise. */
int tokens_check(node_t *n, const char *token, principal_t *ret, char *err,
		 size_t errlen);

/* tokens_call: the "token-create", "token-list" and "token-revoke" operations
 * (broker/control.c's table; local only). */
int tokens_call(node_t *n, const principal_t *who,
		const Referral__Local__V1__Request *req, json_t *opts,
		Referral__Local__V1__Reply *rep, char *err, size_t errlen);

#endif
