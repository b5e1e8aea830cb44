/* test-control.c: the local-client operation table's role checks: an
 * admin's operation refused to staff not listed in [roles] admins (and
 * to no staff id at all), let through for one that is, staff operations
 * open to any staff id, and an operation not in the table refused. The
 * table is checked in one place (control_check, the same check
 * handle_client makes); the integration tests drive the same refusals
 * through refctl against a running node. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../proto/testutil.h"
#include "control.h"

int main(void)
{
	node_t *n = calloc(1, sizeof(*n));
	const char *why;

	if (!n)
		return 1;
	snprintf(n->cfg.admins, sizeof(n->cfg.admins), "%s",
		 " admin-01, bureau-07 ,admin-02");
	/* Admin operations. */
	CHECK_EQ_INT(control_check(n, REFERRAL__LOCAL__V1__OP__OP_ROTATE_DATA_KEY,
				   "staff-0107", &why), REF_E_REFUSED);
	CHECK(why && strstr(why, "admin role"));
	CHECK_EQ_INT(control_check(n, REFERRAL__LOCAL__V1__OP__OP_AUDIT_EXPORT,
				   "", &why), REF_E_REFUSED);
	CHECK(why && strstr(why, "recorded"));
	/* A prefix or a longer id is not the listed one. */
	CHECK_EQ_INT(control_check(n, REFERRAL__LOCAL__V1__OP__OP_AUDIT_EXPORT,
				   "admin-0", &why), REF_E_REFUSED);
	CHECK_EQ_INT(control_check(n, REFERRAL__LOCAL__V1__OP__OP_AUDIT_EXPORT,
				   "admin-011", &why), REF_E_REFUSED);
	CHECK_EQ_INT(control_check(n, REFERRAL__LOCAL__V1__OP__OP_AUDIT_EXPORT,
				   "bureau-07", &why), 0);
	CHECK_EQ_INT(control_check(n, REFERRAL__LOCAL__V1__OP__OP_ROTATE_DATA_KEY,
				   "admin-02", &why), 0);
	/* Staff operations. */
	for (int op = REFERRAL__LOCAL__V1__OP__OP_STATUS;
	     op <= REFERRAL__LOCAL__V1__OP__OP_REQUEUE; op++)
		if (op != REFERRAL__LOCAL__V1__OP__OP_ROTATE_DATA_KEY &&
		    op != REFERRAL__LOCAL__V1__OP__OP_AUDIT_EXPORT)
			CHECK_EQ_INT(control_check(n, op, "staff-0107", &why), 0);
	/* Not in the table. */
	CHECK_EQ_INT(control_check(n, 0, "admin-01", &why), REF_E_INVALID);
	CHECK_EQ_INT(control_check(n, 999, "admin-01", &why), REF_E_INVALID);
	/* Through a token, by name: its scope decides. */
	{
		principal_t court = { SCOPE_COURT, "case-system", "350521", true, 0 };
		principal_t staff = { SCOPE_STAFF, "reviewer-02", "", true, 0 };
		principal_t admin = { SCOPE_ADMIN, "admin-01", "", true, 0 };

		CHECK_EQ_INT(control_check_call(n, "event", &court, &why), 0);
		CHECK_EQ_INT(control_check_call(n, "show", &court, &why), 0);
		CHECK_EQ_INT(control_check_call(n, "accept", &court, &why),
			     REF_E_FORBIDDEN);
		CHECK_EQ_INT(control_check_call(n, "list", &court, &why),
			     REF_E_FORBIDDEN);
		CHECK_EQ_INT(control_check_call(n, "accept", &staff, &why), 0);
		CHECK_EQ_INT(control_check_call(n, "reassign", &staff, &why), 0);
		CHECK_EQ_INT(control_check_call(n, "event", &staff, &why),
			     REF_E_FORBIDDEN);
		CHECK_EQ_INT(control_check_call(n, "metrics", &staff, &why),
			     REF_E_FORBIDDEN);
		CHECK_EQ_INT(control_check_call(n, "metrics", &admin, &why), 0);
		/* Local-only operations never through a token, even an
		 * admin's: a token cannot make tokens. */
		CHECK_EQ_INT(control_check_call(n, "token-create", &admin, &why),
			     REF_E_FORBIDDEN);
		CHECK_EQ_INT(control_check_call(n, "no-such-op", &admin, &why),
			     REF_E_NOT_FOUND);
	}
	/* No admins configured: nobody holds the role. */
	n->cfg.admins[0] = '\0';
	CHECK_EQ_INT(control_check(n, REFERRAL__LOCAL__V1__OP__OP_ROTATE_DATA_KEY,
				   "admin-01", &why), REF_E_REFUSED);
	free(n);
	return test_finish("control");
}
