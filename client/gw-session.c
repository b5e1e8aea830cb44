/* gw-session.c: see gw-session.h. Both tables are small fixed arrays
 * scanned under the lock: a few thousand entries at most, touched once
 * per console page, never per API call. */
#include <errno.h>
#include <openssl/crypto.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "errors.h"
#include "gw-session.h"
#include "util.h"

#define ADDR_SLOTS 4096
#define DELAY_CAP_MS 30000

struct session {
	char id[GW_SESSION_ID_LEN + 1];
	char csrf[GW_CSRF_LEN + 1];
	char token[GW_TOKEN_MAX + 1];
	char name[128];
	uint64_t until_ms;          /* monotonic; 0: free */
};

struct addr {
	char addr[64];
	int failures;
	uint64_t last_ms;           /* monotonic; 0: free */
};

struct gw_sessions {
	pthread_mutex_t lock;
	struct session *s;
	size_t n;
	uint64_t ttl_ms;
	int64_t delay_ms, fail_max;
	uint64_t window_ms;
	struct addr a[ADDR_SLOTS];
};

gw_sessions_t *gw_sessions_new(const gw_conf_t *c)
{
	gw_sessions_t *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->n = (size_t)c->max_sessions;
	s->s = calloc(s->n, sizeof(*s->s));
	if (!s->s) {
		free(s);
		return NULL;
	}
	s->ttl_ms = (uint64_t)c->session_ttl_s * 1000;
	s->delay_ms = c->login_fail_delay_ms;
	s->fail_max = c->login_fail_max;
	s->window_ms = (uint64_t)c->login_fail_window_s * 1000;
	pthread_mutex_init(&s->lock, NULL);
	return s;
}

void gw_sessions_free(gw_sessions_t **sp)
{
	gw_sessions_t *s = sp ? *sp : NULL;

	if (!s)
		return;
	OPENSSL_cleanse(s->s, s->n * sizeof(*s->s));
	free(s->s);
	pthread_mutex_destroy(&s->lock);
	free(s);
	*sp = NULL;
}

static int random_hex(char *out, size_t bytes)
{
	uint8_t b[64];
	size_t got = 0;

	while (got < bytes) {
		ssize_t n = getrandom(b + got, bytes - got, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		got += (size_t)n;
	}
	util_hex(b, bytes, out);
	return 0;
}

static bool same(const char *a, const char *b, size_t len)
{
	return strlen(b) == len && CRYPTO_memcmp(a, b, len) == 0;
}

bool gw_sessions_csrf_ok(const char *want, const char *got)
{
	return want && got && strlen(want) == GW_CSRF_LEN &&
	       same(want, got, GW_CSRF_LEN);
}

int gw_sessions_open(gw_sessions_t *s, const char *token, const char *name,
		     char ret_id[GW_SESSION_ID_LEN + 1],
		     char ret_csrf[GW_CSRF_LEN + 1])
{
	uint64_t now = util_mono_ms();
	struct session *slot;
	int r;

	if ((r = random_hex(ret_id, GW_SESSION_ID_LEN / 2)) ||
	    (r = random_hex(ret_csrf, GW_CSRF_LEN / 2)))
		return r;
	pthread_mutex_lock(&s->lock);
	slot = &s->s[0];
	for (size_t i = 0; i < s->n; i++) {
		struct session *e = &s->s[i];
		if (e->until_ms <= now) {   /* free or expired */
			slot = e;
			break;
		}
		if (e->until_ms < slot->until_ms)
			slot = e;
	}
	OPENSSL_cleanse(slot, sizeof(*slot));
	memcpy(slot->id, ret_id, GW_SESSION_ID_LEN + 1);
	memcpy(slot->csrf, ret_csrf, GW_CSRF_LEN + 1);
	snprintf(slot->token, sizeof(slot->token), "%s", token);
	snprintf(slot->name, sizeof(slot->name), "%s", name);
	slot->until_ms = now + s->ttl_ms;
	pthread_mutex_unlock(&s->lock);
	return 0;
}

/* The live session id, under the lock; NULL if none. */
static struct session *find(gw_sessions_t *s, const char *id)
{
	uint64_t now = util_mono_ms();

	if (!id || strlen(id) != GW_SESSION_ID_LEN)
		return NULL;
	for (size_t i = 0; i < s->n; i++)
		if (s->s[i].until_ms > now &&
		    same(s->s[i].id, id, GW_SESSION_ID_LEN))
			return &s->s[i];
	return NULL;
}

int gw_sessions_get(gw_sessions_t *s, const char *id,
		    char ret_token[GW_TOKEN_MAX + 1], char ret_name[128],
		    char ret_csrf[GW_CSRF_LEN + 1])
{
	struct session *e;
	int r = REF_E_NOT_FOUND;

	pthread_mutex_lock(&s->lock);
	e = find(s, id);
	if (e) {
		memcpy(ret_token, e->token, sizeof(e->token));
		memcpy(ret_name, e->name, sizeof(e->name));
		memcpy(ret_csrf, e->csrf, sizeof(e->csrf));
		r = 0;
	}
	pthread_mutex_unlock(&s->lock);
	return r;
}

void gw_sessions_close(gw_sessions_t *s, const char *id)
{
	struct session *e;

	pthread_mutex_lock(&s->lock);
	e = find(s, id);
	if (e)
		OPENSSL_cleanse(e, sizeof(*e));
	pthread_mutex_unlock(&s->lock);
}

/* addr's slot under the lock, forgetting it once its window is over;
 * NULL if it has none. */
static struct addr *addr_find(gw_sessions_t *s, const char *addr,
			      uint64_t now)
{
	for (size_t i = 0; i < ADDR_SLOTS; i++) {
		struct addr *a = &s->a[i];
		if (!a->last_ms || strcmp(a->addr, addr))
			continue;
		if (now - a->last_ms >= s->window_ms) {
			memset(a, 0, sizeof(*a));
			return NULL;
		}
		return a;
	}
	return NULL;
}

int64_t gw_sessions_login_blocked(gw_sessions_t *s, const char *addr)
{
	uint64_t now = util_mono_ms();
	struct addr *a;
	int64_t wait = 0;

	pthread_mutex_lock(&s->lock);
	a = addr_find(s, addr, now);
	if (a && a->failures >= s->fail_max)
		wait = (int64_t)((a->last_ms + s->window_ms - now + 999) / 1000);
	pthread_mutex_unlock(&s->lock);
	return wait;
}

int gw_sessions_login_failed(gw_sessions_t *s, const char *addr,
			     int64_t *ret_delay_ms)
{
	uint64_t now = util_mono_ms();
	struct addr *a;
	int64_t d;
	int n;

	pthread_mutex_lock(&s->lock);
	a = addr_find(s, addr, now);
	if (!a) {
		/* A free slot, or else the address heard from longest ago. */
		a = &s->a[0];
		for (size_t i = 0; i < ADDR_SLOTS; i++) {
			struct addr *e = &s->a[i];
			if (!e->last_ms || now - e->last_ms >= s->window_ms) {
				a = e;
				break;
			}
			if (e->last_ms < a->last_ms)
				a = e;
		}
		memset(a, 0, sizeof(*a));
		snprintf(a->addr, sizeof(a->addr), "%s", addr);
	}
	n = ++a->failures;
	a->last_ms = now ? now : 1;
	pthread_mutex_unlock(&s->lock);
	d = s->delay_ms;
	for (int i = 1; i < n && d < DELAY_CAP_MS; i++)
		d *= 2;
	*ret_delay_ms = d > DELAY_CAP_MS ? DELAY_CAP_MS : d;
	return n;
}

void gw_sessions_login_ok(gw_sessions_t *s, const char *addr)
{
	struct addr *a;

	pthread_mutex_lock(&s->lock);
	a = addr_find(s, addr, util_mono_ms());
	if (a)
		memset(a, 0, sizeof(*a));
	pthread_mutex_unlock(&s->lock);
}
