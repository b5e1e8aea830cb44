/* gw-notice.h: GET /v1/referrals/{id}/notice?type=KIND, the law's notice
 * to the applicant as a PDF (what `refctl notice` writes).
 *
 * Promises: the node numbers the notice ("notice-data", the caller's token
 * and scope checked there) and the same notice keeps its number however
 * often it is fetched; the gateway lays it out (notice-pdf.c) and stores
 * nothing. The PDF holds the applicant's name, so it is never cached. */
#ifndef REF_GW_NOTICE_H
#define REF_GW_NOTICE_H

#include "gw-http.h"

int gw_notice_pdf(gw_req_t *q);

#endif
