/* notice.h: the data of a notice a centre hands or posts to the applicant
 * (Legal Aid Law Art 43, 44, 48, 49 and the assignment), with its number.
 *
 * The node holds the referral and the numbering, so it assigns the number
 * here, in the open turn: one sequence per year and kind of notice, kept
 * in the store's meta table (notice_seq/YEAR/KIND), and the number given
 * to a referral's notice of a kind is kept with it (notice/ID/KIND), so a
 * reprint shows the same number and no number is ever given twice, across
 * restarts too. Rendering (Pango, Cairo, the QR code) happens in refctl:
 * the daemon stays free of them. Writes nothing of node_t. */
#ifndef REF_NOTICE_H
#define REF_NOTICE_H

#include <jansson.h>

#include "principal.h"
#include "state.h"

/* notice_call_data: the "notice-data" operation: options {"type": one of
 * materials, grant, denial, assignment, termination, withdrawal}. Answers
 * the referral as "show" does, plus "notice" (number, kind, title, the
 * centre's name and code, issued_at, the history step it reports). A
 * referral without the decision the kind reports is refused
 * (REF_E_INVALID), nothing stored. Runs in the open turn (WRITES). */
int notice_call_data(node_t *n, const principal_t *who,
		     const Referral__Local__V1__Request *req, json_t *opts,
		     Referral__Local__V1__Reply *rep, char *err, size_t errlen);

#endif
