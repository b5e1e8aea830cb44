/* gw-notice.c: see gw-notice.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gw-node.h"
#include "gw-notice.h"
#include "notice-pdf.h"

#define ERRLEN 2048

int gw_notice_pdf(gw_req_t *q)
{
	static const char *const kinds[] = { "materials", "grant", "denial",
					     "assignment", "termination",
					     "withdrawal", NULL };
	const char *type = gw_http_query(q, "type");
	char err[ERRLEN], opts[64], disp[224], *pdf = NULL;
	size_t len = 0;
	json_t *ans;
	int r, known = 0;

	for (int i = 0; type && kinds[i]; i++)
		known |= !strcmp(type, kinds[i]);
	if (!known)
		return gw_http_problem(q, 400, "REF_E_INVALID", "type must be "
				       "one of materials, grant, denial, "
				       "assignment, termination, withdrawal");
	snprintf(opts, sizeof(opts), "{\"type\":\"%s\"}", type);
	r = gw_node_call(q->gw->node, "notice-data", q->token, NULL,
			 q->param[0], opts, &ans, err, sizeof(err));
	if (r)
		return gw_http_node_error(q, r, err);
	r = notice_pdf_memory(ans, &pdf, &len, err, sizeof(err));
	json_decref(ans);
	if (r)
		return gw_http_problem(q, 500, "REF_E_INVALID", "the notice "
				       "cannot be laid out: %s", err);
	/* The id was matched as id characters by the router: safe in a
	 * quoted file name. */
	snprintf(disp, sizeof(disp), "attachment; filename=\"notice-%s-%s.pdf\"",
		 q->param[0], type);
	gw_http_add_header(q, "Content-Disposition", disp);
	return gw_http_send(q, 200, "application/pdf", pdf, len);
}
