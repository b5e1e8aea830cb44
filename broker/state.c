/* state.c: see state.h. Reads the node's state; writes none of it. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "state.h"
#include "util.h"

envelope_policy_t state_policy(node_t *n, const char *self, const char *peer,
				uint64_t now_ms)
{
	envelope_policy_t p = {
		.self = self, .peer = peer,
		.max_bytes = (size_t)n->cfg.max_message_bytes,
		.now_ms = now_ms,
		.lifetime_ms = (uint64_t)n->cfg.message_lifetime_ms,
		.future_ms = (uint64_t)n->cfg.future_skew_ms,
		.lookup = directory_key, .lookup_ctx = n->dir,
		.roots = &n->roots,
	};
	return p;
}

char *state_msg_hex(const uint8_t *id, char out[33])
{
	util_hex(id, 16, out);
	return out;
}

int state_audit(node_t *n, const char *event, const char *referral_id,
		 const uint8_t *msg_id, const char *peer, const char *actor,
		 const char *outcome, const char *detail)
{
	audit_event_t e = { event, referral_id, msg_id, peer, actor, outcome,
			    detail, 0 };
	return audit_append(n->store, &e, NULL);
}

char *state_dump(json_t *o)
{
	char *s = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(o);
	return s;
}

int state_fail_reply(Referral__Local__V1__Reply *rep, int code, char *buf,
		      size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, len, fmt, ap);
	va_end(ap);
	rep->code = code;
	rep->error = buf;
	return code;
}

bool state_is_admin(node_t *n, const principal_t *who)
{
	const char *p = n->cfg.admins;
	size_t al;

	if (!who)
		return false;
	if (who->token)
		return who->scope == SCOPE_ADMIN;
	al = strlen(who->name);
	if (!al)
		return false;
	while (*p) {
		size_t len;
		while (*p == ' ' || *p == ',')
			p++;
		len = strcspn(p, ", ");
		if (len == al && !strncmp(p, who->name, len))
			return true;
		p += len;
	}
	return false;
}

int state_fail_as(Referral__Local__V1__Reply *rep, int code, char *err)
{
	rep->code = code;
	rep->error = err;
	return code;
}

const char *state_str(json_t *opts, const char *key)
{
	const char *s = json_string_value(json_object_get(opts, key));

	return s ? s : "";
}
