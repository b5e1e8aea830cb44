/* gw-console.h: the admin console under /console/: server-rendered HTML
 * that needs no script. The node's health, peers with their last contact
 * and link, the outbox, inbox and dead-letter depths, overdue referrals
 * by deadline, a referral's steps, receipts and audit events as a
 * timeline, the audit chain's last verification and its witnesses, and
 * the requeue of a dead letter (a confirmation page, then a POST form
 * with the session's CSRF token).
 *
 * Promises: admin scope only (checked at login, and by the node at every
 * call it makes for a page); the token comes from a login form (then an
 * HttpOnly, SameSite=Strict session cookie, Secure under TLS) or from the
 * Authorization header. Every value from the node is escaped
 * (gw-html.h). Failed logins are slowed per client address and logged
 * without the token. The application itself (personal data) is not
 * shown: the console is for running the node. */
#ifndef REF_GW_CONSOLE_H
#define REF_GW_CONSOLE_H

#include "gw-http.h"

/* gw_console_handle: answers any request whose path starts with
 * /console. */
int gw_console_handle(gw_req_t *q);

#endif
