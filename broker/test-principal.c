/* test-principal.c: who calls on the client socket (principal.c),
 * without a socket: the uid read from libzmq's Peer-Address (with and
 * without a host part, and strings that hold none), [staff] accounts
 * resolved or refused with the entry named, and the rules a request is
 * judged by: the node's own account and root take --actor as given, a
 * mapped account acts only as its id, any other account is refused unless
 * it passes a token. And the operator's operations (tokens) need the
 * node's own account or an admin. tests/integration/staff-identity.sh
 * drives the same through real OS accounts. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../proto/testutil.h"
#include "control.h"
#include "principal.h"

static int open_with(node_t *n, const char *accounts, char *err, size_t len)
{
	principal_close(n);
	snprintf(n->cfg.staff_accounts, sizeof(n->cfg.staff_accounts), "%s",
		 accounts);
	return principal_open(n, err, len);
}

int main(void)
{
	node_t *n = calloc(1, sizeof(*n));
	principal_t who;
	char err[400], peer[80];
	const char *why;
	unsigned me = (unsigned)geteuid();

	if (!n)
		return 1;
	/* The uid is the third field from the end. */
	CHECK(principal_peer_uid("localhost:4321:4321:13504") == 4321);
	CHECK(principal_peer_uid(":1001:100:7") == 1001);
	CHECK(principal_peer_uid(":0:0:1") == 0);
	CHECK(principal_peer_uid(NULL) == -1);
	CHECK(principal_peer_uid("") == -1);
	CHECK(principal_peer_uid("127.0.0.1") == -1);
	CHECK(principal_peer_uid(":x:1:2") == -1);
	CHECK(principal_peer_uid(":12a:1:2") == -1);
	CHECK(principal_peer_uid(":99999999999:1:2") == -1);

	/* [staff] accounts: bare uids need no account database. */
	CHECK_EQ_INT(open_with(n, " 61701:reviewer-07 ,61702:admin-07, ", err,
			       sizeof(err)), 0);
	CHECK_EQ_INT(open_with(n, "61701", err, sizeof(err)), REF_E_CONFIG);
	CHECK(strstr(err, "\"61701\" is not ACCOUNT:STAFF-ID"));
	CHECK_EQ_INT(open_with(n, "61701:", err, sizeof(err)), REF_E_CONFIG);
	CHECK_EQ_INT(open_with(n, ":reviewer-07", err, sizeof(err)), REF_E_CONFIG);
	CHECK_EQ_INT(open_with(n, "61701:a b", err, sizeof(err)), REF_E_CONFIG);
	CHECK_EQ_INT(open_with(n, "61701:r-1, 61701:r-2", err, sizeof(err)),
		     REF_E_CONFIG);
	CHECK(strstr(err, "listed twice (as r-1 and as r-2)"));
	CHECK_EQ_INT(open_with(n, "0:root-01", err, sizeof(err)), REF_E_CONFIG);
	CHECK(strstr(err, "root"));
	CHECK_EQ_INT(open_with(n, "nosuch-account-q7:r-1", err, sizeof(err)),
		     REF_E_CONFIG);
	CHECK(strstr(err, "there is no OS account \"nosuch-account-q7\""));
	snprintf(peer, sizeof(peer), "%u:r-1", me);
	if (me) {
		CHECK_EQ_INT(open_with(n, peer, err, sizeof(err)), REF_E_CONFIG);
		CHECK(strstr(err, "the node's own account"));
	}
	CHECK_EQ_INT(open_with(n, "61701:reviewer-07, 61702:admin-07", err,
			       sizeof(err)), 0);
	snprintf(n->cfg.admins, sizeof(n->cfg.admins), "admin-07");

	/* The node's own account and root: --actor as given. */
	memset(&who, 0, sizeof(who));
	snprintf(peer, sizeof(peer), ":%u:%u:1", me, me);
	CHECK_EQ_INT(principal_local(n, peer, "anyone-01", false, &who, err,
				     sizeof(err)), 0);
	CHECK(!strcmp(who.name, "anyone-01") && who.scope == SCOPE_LOCAL);
	memset(&who, 0, sizeof(who));
	CHECK_EQ_INT(principal_local(n, ":0:0:1", "", false, &who, err,
				     sizeof(err)), 0);
	CHECK(who.scope == SCOPE_LOCAL);
	/* A mapped account: its id, whatever it says. */
	memset(&who, 0, sizeof(who));
	CHECK_EQ_INT(principal_local(n, ":61701:61700:9", "", false, &who, err,
				     sizeof(err)), 0);
	CHECK(!strcmp(who.name, "reviewer-07") && who.scope == SCOPE_STAFF);
	CHECK_EQ_INT(principal_local(n, ":61701:61700:9", "reviewer-07", false,
				     &who, err, sizeof(err)), 0);
	CHECK_EQ_INT(principal_local(n, ":61701:61700:9", "admin-07", true,
				     &who, err, sizeof(err)), REF_E_FORBIDDEN);
	CHECK(strstr(err, "--actor admin-07 names another person"));
	CHECK(strstr(err, "staff id reviewer-07"));
	/* The admin role follows the account. */
	CHECK_EQ_INT(principal_local(n, ":61701:61700:9", "", false, &who, err,
				     sizeof(err)), 0);
	CHECK(!state_is_admin(n, &who));
	CHECK_EQ_INT(control_check_call(n, "token-create", &who, &why),
		     REF_E_REFUSED);
	CHECK_EQ_INT(principal_local(n, ":61702:61700:9", "", false, &who, err,
				     sizeof(err)), 0);
	CHECK(state_is_admin(n, &who));
	CHECK_EQ_INT(control_check_call(n, "token-create", &who, &why), 0);
	/* Any other account: refused, unless it passes a token. */
	CHECK_EQ_INT(principal_local(n, ":61703:61700:9", "admin-07", false,
				     &who, err, sizeof(err)),
		     REF_E_UNAUTHENTICATED);
	CHECK(strstr(err, "is not a staff account of this node"));
	memset(&who, 0, sizeof(who));
	CHECK_EQ_INT(principal_local(n, ":61703:61700:9", "admin-07", true,
				     &who, err, sizeof(err)), 0);
	CHECK(!who.name[0] && who.scope != SCOPE_LOCAL);
	/* No credentials at all: refused. */
	CHECK_EQ_INT(principal_local(n, NULL, "", true, &who, err, sizeof(err)),
		     REF_E_UNAUTHENTICATED);
	CHECK(strstr(err, "cannot tell which OS account"));
	principal_close(n);
	free(n);
	return test_finish("principal");
}
