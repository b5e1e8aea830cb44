/* application.h: the application JSON that intake staff and integrations
 * write (refctl example application prints one), converted to and from the
 * REFERRAL_SUBMIT body.
 *
 * Promises: application_from_json checks every field a receiving centre
 * relies on and names the first bad one ("applicant.id_number is
 * required"); values are never echoed into the error, because they are
 * personal data. Thread-safe. */
#ifndef REF_APPLICATION_H
#define REF_APPLICATION_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>
#include "referral.pb-c.h"

typedef struct {
	size_t max_document_bytes;
	size_t max_documents;
	const char *base_dir;   /* for documents given as "file": relative paths */
	bool no_files;          /* "file" refused: the JSON came from elsewhere
				   (the gateway), and the reader is the node */
} application_limits_t;

/* application_from_json: *ret_body is a packed ReferralSubmit (malloc'd). */
int application_from_json(const char *text, size_t len,
			  const application_limits_t *lim, uint8_t **ret_body,
			  size_t *ret_len, char *ret_err, size_t errlen);
/* application_check: the same checks on a parsed body (the daemon repeats
 * them, since a client may be another program). */
int application_check(const Referral__V1__ReferralSubmit *a,
		      const application_limits_t *lim, char *ret_err,
		      size_t errlen);
/* application_to_json: a new JSON object (documents without their bytes). */
json_t *application_to_json(const Referral__V1__ReferralSubmit *a);
/* application_example: a complete sample for an invented person. */
const char *application_example(void);
/* application_priority: 2 urgent (an urgency flag, or a limitation
 * deadline within 7 days of now: Art 44), 1 green channel, 0 ordinary. */
int application_priority(const Referral__V1__ReferralSubmit *a);

#endif
