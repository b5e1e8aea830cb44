/* principal.c: see principal.h. Writes n->staff only. */
#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "principal.h"

typedef struct {
	uid_t uid;
	char account[33];  /* as the config names it, for messages */
	char id[72];       /* the staff id */
} staff_account_t;

struct principal_map {
	size_t n;
	staff_account_t a[];
};

/* A bare number is a uid: accounts without a name (containers, tests)
 * can be mapped too. */
static int account_uid(const char *name, uid_t *ret)
{
	char *end;
	unsigned long v;
	struct passwd *pw;

	if (name[0] >= '0' && name[0] <= '9') {
		errno = 0;
		v = strtoul(name, &end, 10);
		if (errno || *end || v >= (unsigned long)UINT32_MAX)
			return REF_E_INVALID;
		*ret = (uid_t)v;
		return 0;
	}
	pw = getpwnam(name);
	if (!pw)
		return REF_E_NOT_FOUND;
	*ret = pw->pw_uid;
	return 0;
}

static const char *account_name(uid_t uid, char *buf, size_t len)
{
	struct passwd *pw = getpwuid(uid);

	if (pw)
		snprintf(buf, len, "%s", pw->pw_name);
	else
		snprintf(buf, len, "uid %u", (unsigned)uid);
	return buf;
}

static bool id_ok(const char *s, size_t len)
{
	if (!len || len > 64)
		return false;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] <= ' ' || s[i] == 0x7f || s[i] == ':')
			return false;
	return true;
}

int principal_open(node_t *n, char *err, size_t errlen)
{
	const char *p = n->cfg.staff_accounts;
	size_t cap = 1;
	struct principal_map *m;

	for (const char *q = p; *q; q++)
		cap += *q == ',';
	m = calloc(1, sizeof(*m) + cap * sizeof(m->a[0]));
	if (!m)
		return -ENOMEM;
	while (*p) {
		size_t len, al, il;
		const char *colon;
		staff_account_t *a = &m->a[m->n];
		int r;

		p += strspn(p, " \t,");
		len = strcspn(p, ",");
		while (len && (p[len - 1] == ' ' || p[len - 1] == '\t'))
			len--;
		if (!len)
			break;
		colon = memchr(p, ':', len);
		al = colon ? (size_t)(colon - p) : 0;
		il = colon ? len - al - 1 : 0;
		if (!colon || !al || al >= sizeof(a->account) ||
		    !id_ok(colon + 1, il)) {
			snprintf(err, errlen, "[staff] accounts: \"%.*s\" is not "
				 "ACCOUNT:STAFF-ID (an OS account name or uid, "
				 "then a staff id of 1 to 64 bytes without "
				 "spaces)", (int)(len > 80 ? 80 : len), p);
			goto bad;
		}
		memcpy(a->account, p, al);
		memcpy(a->id, colon + 1, il);
		r = account_uid(a->account, &a->uid);
		if (r) {
			snprintf(err, errlen, "[staff] accounts: %s \"%s\" (for "
				 "%s)", r == REF_E_NOT_FOUND
				 ? "there is no OS account" : "bad uid",
				 a->account, a->id);
			goto bad;
		}
		if (a->uid == 0 || a->uid == geteuid()) {
			snprintf(err, errlen, "[staff] accounts: \"%s\" is %s, "
				 "which is the trusted local caller; give each "
				 "staff member an account of their own",
				 a->account, a->uid ? "the node's own account"
				 : "root");
			goto bad;
		}
		for (size_t k = 0; k < m->n; k++)
			if (m->a[k].uid == a->uid) {
				snprintf(err, errlen, "[staff] accounts: the OS "
					 "account %s is listed twice (as %s and "
					 "as %s)", a->account, m->a[k].id, a->id);
				goto bad;
			}
		m->n++;
		p += len;
	}
	n->staff = m;
	return 0;
bad:
	free(m);
	return REF_E_CONFIG;
}

void principal_close(node_t *n)
{
	free(n->staff);
	n->staff = NULL;
}

int principal_share(node_t *n, char *err, size_t errlen)
{
	const char *g = n->cfg.staff_group;
	char path[PATH_MAX + 64];
	const char *what[3] = { "", "/sock", "/sock/referrald.sock" };
	const mode_t mode[3] = { 0710, 0750, 0660 };
	struct group *gr;
	gid_t gid;

	if (!g[0])
		return 0;
	gr = getgrnam(g);
	if (gr) {
		gid = gr->gr_gid;
	} else if (g[0] >= '0' && g[0] <= '9' && !g[strspn(g, "0123456789")]) {
		gid = (gid_t)strtoul(g, NULL, 10);
	} else {
		snprintf(err, errlen, "[staff] group = \"%s\" is no group on this "
			 "host", g);
		return REF_E_CONFIG;
	}
	for (int i = 0; i < 3; i++) {
		snprintf(path, sizeof(path), "%s%s", n->cfg.data_dir, what[i]);
		if (chown(path, (uid_t)-1, gid) < 0 || chmod(path, mode[i]) < 0) {
			int r = -errno;
			snprintf(err, errlen, "cannot give %s to the group %s "
				 "([staff] group): %s (the node's account must "
				 "own it and be in the group)", path, g,
				 strerror(errno));
			return r;
		}
	}
	return 0;
}

long principal_peer_uid(const char *peer)
{
	const char *c[3] = { NULL, NULL, NULL };
	char *end;
	unsigned long v;

	/* "...:UID:GID:PID": the last three colons. */
	if (!peer)
		return -1;
	for (const char *p = peer; *p; p++)
		if (*p == ':') {
			c[0] = c[1];
			c[1] = c[2];
			c[2] = p;
		}
	if (!c[0] || c[0][1] < '0' || c[0][1] > '9')
		return -1;
	errno = 0;
	v = strtoul(c[0] + 1, &end, 10);
	if (errno || end != c[1] || v >= (unsigned long)UINT32_MAX)
		return -1;
	return (long)v;
}

int principal_local(node_t *n, const char *peer, const char *actor,
		    bool pass, principal_t *ret, char *err, size_t errlen)
{
	long uid = principal_peer_uid(peer);
	char name[64];

	ret->name[0] = '\0';
	if (uid < 0) {
		snprintf(err, errlen, "nothing was done: the node cannot tell "
			 "which OS account called (no peer credentials on the "
			 "client socket)");
		return REF_E_UNAUTHENTICATED;
	}
	if (uid == 0 || (uid_t)uid == geteuid()) {
		snprintf(ret->name, sizeof(ret->name), "%s", actor);
		return 0;
	}
	for (size_t i = 0; n->staff && i < n->staff->n; i++) {
		const staff_account_t *a = &n->staff->a[i];
		if (a->uid != (uid_t)uid)
			continue;
		if (actor[0] && strcmp(actor, a->id)) {
			snprintf(err, errlen, "nothing was done: --actor %.64s "
				 "names another person; the OS account %s is "
				 "staff id %s here and acts only as %s",
				 actor, account_name((uid_t)uid, name,
						     sizeof(name)), a->id, a->id);
			log_msg(LOG_WARN, "client", "refused: account %s (staff "
				"id %s) asked to act as %.64s", name, a->id,
				actor);
			return REF_E_FORBIDDEN;
		}
		snprintf(ret->name, sizeof(ret->name), "%s", a->id);
		ret->scope = SCOPE_STAFF; /* not the node's own account */
		return 0;
	}
	if (pass) {
		ret->scope = SCOPE_STAFF; /* never the node's own account */
		return 0;
	}
	snprintf(err, errlen, "nothing was done: the OS account %s is not a "
		 "staff account of this node ([staff] accounts); ask the "
		 "node's admin to map it to your staff id, or use the gateway "
		 "with a token", account_name((uid_t)uid, name, sizeof(name)));
	log_msg(LOG_WARN, "client", "refused: account %s is not in [staff] "
		"accounts", name);
	return REF_E_UNAUTHENTICATED;
}
