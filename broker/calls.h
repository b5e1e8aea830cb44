/* calls.h: a named operation's JSON options, turned into what its handler
 * takes.
 *
 * The gateway (and refctl, for the newer operations) calls the node's
 * operations by name with their options as a JSON object (OP_CALL).
 * control.c finds the operation in its table, checks the caller, and uses
 * these to build the request the operation's handler already takes: a
 * move's StatusChange, a supplement, an application. Each option is
 * checked against the operation's schema first: an unknown option, or one
 * of the wrong JSON type, is refused by name. Pure functions of their
 * input; they write nothing. */
#ifndef REF_CALLS_H
#define REF_CALLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

/* calls_check_options: every key of opts is a property of schema (a JSON
 * Schema object's text) with the JSON type it names. REF_E_INVALID with
 * err naming the option otherwise. */
int calls_check_options(const char *schema, json_t *opts, char *err,
			size_t errlen);
/* calls_move: the StatusChange (packed, *ret_body malloc'd) for a move to
 * state with opts (reason, legal_basis, items, firm, lawyer, licence_no,
 * contact, report, onward_to), made by actor; admin: as the justice
 * bureau's admin; aid_first: Art 44. */
int calls_move(const char *state, bool admin, bool aid_first, json_t *opts,
	       const char *actor, uint8_t **ret_body, size_t *ret_len,
	       char *err, size_t errlen);
/* calls_supplement: the MaterialsSupplement for opts.documents, each
 * {"type", "name", "content_base64"} (never a file: the node reads no
 * path a caller names), at most max_docs of at most max_bytes each. */
int calls_supplement(json_t *opts, size_t max_docs, size_t max_bytes,
		     uint8_t **ret_body, size_t *ret_len, char *err,
		     size_t errlen);
/* calls_application: the ReferralSubmit for opts.application (the JSON
 * format of `refctl example application`, documents inline only). */
int calls_application(json_t *opts, size_t max_docs, size_t max_bytes,
		      uint8_t **ret_body, size_t *ret_len, char *err,
		      size_t errlen);
/* calls_str: opts[key] as a string, or "" if absent. */
const char *state_str(json_t *opts, const char *key);

#endif
