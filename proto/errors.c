/* errors.c: names for the project's error codes (errors.h). */
#include <string.h>
#include "errors.h"

const char *ref_strerror(int r)
{
	static const char *const names[REF_E__MAX] = {
		[REF_E_MALFORMED] = "malformed input",
		[REF_E_BADSIG] = "bad signature",
		[REF_E_UNKNOWN_KEY] = "unknown key",
		[REF_E_BAD_DIGEST] = "body digest mismatch",
		[REF_E_STALE] = "outside the replay window",
		[REF_E_SENDER_MISMATCH] = "sender mismatch",
		[REF_E_NOT_FOR_ME] = "addressed to another node",
		[REF_E_UNSUPPORTED_VERSION] = "unsupported version",
		[REF_E_REFUSED] = "refused",
		[REF_E_DUPLICATE] = "duplicate",
		[REF_E_STORE_FULL] = "store full",
		[REF_E_NOT_FOUND] = "not found",
		[REF_E_CORRUPT] = "stored record is corrupt",
		[REF_E_INVALID] = "invalid value",
		[REF_E_UNKNOWN_NODE] = "unknown node",
		[REF_E_TOO_LARGE] = "too large",
		[REF_E_CONFIG] = "bad configuration",
		[REF_E_KEY_PERMS] = "private key readable by others",
		[REF_E_DIRECTORY] = "bad directory",
		[REF_E_UNAVAILABLE] = "node not answering",
		[REF_E_ABORTED] = "turn aborted",
		[REF_E_STORE] = "store error",
		[REF_E_UNAUTHENTICATED] = "not authenticated",
		[REF_E_FORBIDDEN] = "forbidden",
		[REF_E_CONFLICT] = "conflict",
	};
	if (r == 0)
		return "ok";
	if (r < 0)
		return strerror(-r);
	if (r < REF_E__MAX && names[r])
		return names[r];
	return "unknown error";
}
