/* notice-pdf.h: the law's notices to the applicant, laid out as PDF.
 *
 * a is the node's "notice-data" answer (the notice's kind, number, centre,
 * the referral's application, history and envelope digest). Both calls
 * are safe on several threads at once; neither keeps a. */
#ifndef REFERRAL_NOTICE_PDF_H
#define REFERRAL_NOTICE_PDF_H

#include <stddef.h>

#include <jansson.h>

/* notice_pdf_file: the notice written to out (mode 0600, through a
 * temporary file renamed over it, synced). 0, -errno or a REF_E_*, with
 * err saying why. */
int notice_pdf_file(json_t *a, const char *out, char *err, size_t errlen);

/* notice_pdf_memory: the notice's PDF bytes; *ret_buf is the caller's to
 * free. 0, -errno or a REF_E_*, with err saying why. */
int notice_pdf_memory(json_t *a, char **ret_buf, size_t *ret_len, char *err,
		      size_t errlen);

/* notice_pdf_release: drops the font map and Cairo's and fontconfig's
 * caches, held for the process, before exit (so a leak checker sees only
 * real leaks). No notice may be rendered after. */
void notice_pdf_release(void);

#endif
