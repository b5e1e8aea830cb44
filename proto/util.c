/* util.c: see util.h. */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include "errors.h"
#include "util.h"

static int64_t clock_offset;
static bool clock_offset_read;

uint64_t util_now_ms(void)
{
	struct timespec ts;

	if (!clock_offset_read) {
		const char *s = getenv("REFERRAL_CLOCK_OFFSET_MS");
		if (s && *s)
			clock_offset = strtoll(s, NULL, 10);
		clock_offset_read = true;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000 +
	       (uint64_t)clock_offset;
}

void util_clock_set_offset(int64_t offset_ms)
{
	clock_offset = offset_ms;
	clock_offset_read = true;
}

uint64_t util_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void util_hex(const uint8_t *in, size_t len, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < len; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * len] = '\0';
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int util_unhex(const char *hex, uint8_t *out, size_t len)
{
	if (strlen(hex) != 2 * len)
		return REF_E_MALFORMED;
	for (size_t i = 0; i < len; i++) {
		int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return REF_E_MALFORMED;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

int util_unhex_alloc(const char *hex, uint8_t **ret_buf, size_t *ret_len)
{
	size_t n = strlen(hex);
	uint8_t *buf;
	int r;

	if (n % 2)
		return REF_E_MALFORMED;
	buf = malloc(n / 2 + 1);
	if (!buf)
		return -ENOMEM;
	r = util_unhex(hex, buf, n / 2);
	if (r) {
		free(buf);
		return r;
	}
	*ret_buf = buf;
	*ret_len = n / 2;
	return 0;
}

int util_b64_encode(const uint8_t *in, size_t len, char **ret_text)
{
	char *out = malloc(4 * ((len + 2) / 3) + 1);

	if (!out)
		return -ENOMEM;
	EVP_EncodeBlock((unsigned char *)out, in, (int)len);
	*ret_text = out;
	return 0;
}

int util_b64_decode(const char *text, uint8_t **ret_buf, size_t *ret_len)
{
	size_t n = strlen(text), pad = 0;
	uint8_t *out;
	int got;

	/* Accept a trailing newline, as files written by tools usually have. */
	while (n && (text[n - 1] == '\n' || text[n - 1] == '\r'))
		n--;
	if (n == 0 || n % 4)
		return REF_E_MALFORMED;
	out = malloc(n / 4 * 3 + 1);
	if (!out)
		return -ENOMEM;
	got = EVP_DecodeBlock(out, (const unsigned char *)text, (int)n);
	if (got < 0) {
		free(out);
		return REF_E_MALFORMED;
	}
	/* EVP_DecodeBlock counts padding as zero bytes; take them off. */
	if (text[n - 1] == '=')
		pad++;
	if (text[n - 2] == '=')
		pad++;
	*ret_buf = out;
	*ret_len = (size_t)got - pad;
	return 0;
}

/*
 * Random bytes come from a small per-thread pool that OpenSSL's generator
 * fills 1 KiB at a time. Each RAND_bytes call checks the process id (a
 * system call) and takes the generator's lock: with a nonce per sealed
 * record, a referral id and a key per referral, that was a seventh of a
 * busy node's time. The pool is emptied in a forked child, so parent and
 * child never hand out the same bytes, and each byte is wiped once used.
 */
#define RANDOM_POOL 1024

static _Thread_local uint8_t pool[RANDOM_POOL];
static _Thread_local size_t pool_left;
static pthread_once_t pool_once = PTHREAD_ONCE_INIT;

static void pool_forget(void)
{
	OPENSSL_cleanse(pool, sizeof(pool));
	pool_left = 0;
}

static void pool_register(void)
{
	pthread_atfork(NULL, NULL, pool_forget);
}

int util_random(void *out, size_t n)
{
	uint8_t *o = out;

	pthread_once(&pool_once, pool_register);
	if (n > RANDOM_POOL / 4)
		return RAND_bytes(o, (int)n) == 1 ? 0 : -EIO;
	while (n) {
		size_t take;

		if (!pool_left) {
			if (RAND_bytes(pool, sizeof(pool)) != 1)
				return -EIO;
			pool_left = sizeof(pool);
		}
		take = n < pool_left ? n : pool_left;
		memcpy(o, pool + sizeof(pool) - pool_left, take);
		OPENSSL_cleanse(pool + sizeof(pool) - pool_left, take);
		pool_left -= take;
		o += take;
		n -= take;
	}
	return 0;
}

int util_uuid7(uint8_t out[16])
{
	uint64_t ms = util_now_ms();

	if (util_random(out, 16))
		return -EIO;
	for (int i = 0; i < 6; i++)
		out[i] = (uint8_t)(ms >> (40 - 8 * i));
	out[6] = (uint8_t)(0x70 | (out[6] & 0x0f));
	out[8] = (uint8_t)(0x80 | (out[8] & 0x3f));
	return 0;
}

bool util_node_code_valid(const char *code)
{
	if (!code || strlen(code) != 6)
		return false;
	for (int i = 0; i < 6; i++)
		if (code[i] < '0' || code[i] > '9')
			return false;
	return true;
}

int util_referral_id(const char *node, char *out, size_t outlen)
{
	uint8_t u[16];
	char hex[33];
	int r;

	if (outlen < 6 + 1 + 32 + 1)
		return -ENOSPC;
	r = util_uuid7(u);
	if (r)
		return r;
	util_hex(u, 16, hex);
	snprintf(out, outlen, "%s-%s", node, hex);
	return 0;
}

bool util_referral_id_valid(const char *id)
{
	char code[7];

	if (!id || strlen(id) != 6 + 1 + 32 || id[6] != '-')
		return false;
	memcpy(code, id, 6);
	code[6] = '\0';
	if (!util_node_code_valid(code))
		return false;
	for (int i = 7; i < 39; i++)
		if (!((id[i] >= '0' && id[i] <= '9') ||
		      (id[i] >= 'a' && id[i] <= 'f')))
			return false;
	return true;
}

uint64_t util_get_be64(const uint8_t p[8])
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

void util_put_be64(uint8_t p[8], uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (56 - 8 * i));
}

void util_sha256(const uint8_t *in, size_t len, uint8_t out[32])
{
	/* SHA256() fetches the implementation again at every call. */
	if (EVP_Digest(in, len, out, NULL, util_md_sha256(), NULL) != 1)
		SHA256(in, len, out);
}

static EVP_MD *md_sha256;
static EVP_CIPHER *cipher_gcm;
static pthread_once_t fetched = PTHREAD_ONCE_INIT;

static void fetch_once(void)
{
	md_sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
	cipher_gcm = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL);
}

const EVP_MD *util_md_sha256(void)
{
	pthread_once(&fetched, fetch_once);
	return md_sha256 ? md_sha256 : EVP_sha256();
}

const EVP_CIPHER *util_cipher_aes256gcm(void)
{
	pthread_once(&fetched, fetch_once);
	return cipher_gcm ? cipher_gcm : EVP_aes_256_gcm();
}

size_t util_utf8_decode(const char *str, size_t len, uint32_t *ret_cp)
{
	const unsigned char *s = (const unsigned char *)str;
	unsigned char c;
	size_t n;
	uint32_t cp;

	if (!len)
		return 0;
	c = s[0];
	if (c < 0x80) {
		*ret_cp = c;
		return 1;
	} else if ((c & 0xe0) == 0xc0) {
		n = 1;
		cp = c & 0x1f;
	} else if ((c & 0xf0) == 0xe0) {
		n = 2;
		cp = c & 0x0f;
	} else if ((c & 0xf8) == 0xf0) {
		n = 3;
		cp = c & 0x07;
	} else {
		return 0;
	}
	if (n >= len)
		return 0;
	for (size_t k = 1; k <= n; k++) {
		if ((s[k] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[k] & 0x3f);
	}
	/* Overlong forms, surrogates and values past U+10FFFF. */
	if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) ||
	    (n == 3 && cp < 0x10000) || cp > 0x10ffff ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	*ret_cp = cp;
	return n + 1;
}

bool util_utf8_valid(const char *str, size_t len)
{
	size_t i = 0, n;
	uint32_t cp;

	while (i < len) {
		n = util_utf8_decode(str + i, len - i, &cp);
		if (!n)
			return false;
		i += n;
	}
	return true;
}

bool util_invisible(uint32_t cp)
{
	return cp < 0x20 || (cp >= 0x7f && cp <= 0xa0) || cp == 0xad ||
	       cp == 0x1680 || cp == 0x180e || (cp >= 0x2000 && cp <= 0x200f) ||
	       (cp >= 0x2028 && cp <= 0x202f) || (cp >= 0x205f && cp <= 0x206f) ||
	       cp == 0x3000 || cp == 0xfeff || (cp >= 0xfff9 && cp <= 0xfffb);
}

void util_utf8_scrub(char *s)
{
	size_t len = strlen(s), i = 0, n;
	uint32_t cp;

	while (i < len) {
		n = util_utf8_decode(s + i, len - i, &cp);
		if (!n || util_invisible(cp)) {
			n = n ? n : 1;
			memset(s + i, '?', n);
		}
		i += n;
	}
}

int util_remove_temps(const char *dir, const char *name)
{
	size_t nl = strlen(name);
	struct dirent *e;
	DIR *d = opendir(dir);
	int r = 0;

	if (!d)
		return -errno;
	while ((e = readdir(d)))
		if (!strncmp(e->d_name, name, nl) &&
		    !strncmp(e->d_name + nl, ".tmp.", 5)) {
			char path[4096];
			snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
			if (unlink(path) < 0 && errno != ENOENT)
				r = -errno;
		}
	closedir(d);
	return r;
}

void util_utf8_trim(char *s)
{
	size_t len = strlen(s);

	while (len && !util_utf8_valid(s, len))
		s[--len] = '\0';
}

int util_read_file(const char *path, size_t max, uint8_t **ret_buf,
		   size_t *ret_len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	size_t len = 0, cap = 0;
	int r = 0;

	if (!f)
		return -errno;
	for (;;) {
		if (len == cap) {
			uint8_t *nb;
			cap = cap ? cap * 2 : 4096;
			nb = realloc(buf, cap + 1);
			if (!nb) {
				r = -ENOMEM;
				goto out;
			}
			buf = nb;
		}
		size_t got = fread(buf + len, 1, cap - len, f);
		len += got;
		if (len > max) {
			r = REF_E_TOO_LARGE;
			goto out;
		}
		if (got == 0) {
			if (ferror(f))
				r = -EIO;
			break;
		}
	}
out:
	fclose(f);
	if (r) {
		free(buf);
		return r;
	}
	if (!buf) {
		buf = malloc(1);
		if (!buf)
			return -ENOMEM;
	}
	buf[len] = '\0';
	*ret_buf = buf;
	*ret_len = len;
	return 0;
}

int util_write_file(const char *path, const void *buf, size_t len, int mode)
{
	char tmp[4096], dir[4096];
	int fd, dfd, r = 0;
	const uint8_t *p = buf;
	size_t left = len;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid()) >=
	    (int)sizeof(tmp))
		return -ENAMETOOLONG;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0)
		return -errno;
	if (fchmod(fd, (mode_t)mode) < 0)
		r = -errno;
	while (!r && left) {
		ssize_t n = write(fd, p, left);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			r = -errno;
			break;
		}
		p += n;
		left -= (size_t)n;
	}
	if (!r && fsync(fd) < 0)
		r = -errno;
	if (close(fd) < 0 && !r)
		r = -errno;
	if (!r && rename(tmp, path) < 0)
		r = -errno;
	if (r) {
		unlink(tmp);
		return r;
	}
	snprintf(dir, sizeof(dir), "%s", path);
	dfd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		if (fsync(dfd) < 0)
			r = -errno;
		close(dfd);
	}
	return r;
}

int util_sync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), r = 0;

	if (fd < 0)
		return -errno;
	if (fsync(fd) < 0)
		r = -errno;
	close(fd);
	return r;
}

int util_rfc3339_parse(const char *s, uint64_t *ret_ms)
{
	struct tm tm = { 0 };
	int y, mo, d, h, mi, sec, n = 0;
	time_t t;

	if (!s || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi,
			 &sec, &n) != 6)
		return REF_E_MALFORMED;
	/* Only UTC, optionally with fractional seconds: the directory format
	 * and our own output use nothing else. */
	s += n;
	if (*s == '.') {
		s++;
		while (*s >= '0' && *s <= '9')
			s++;
	}
	if (strcmp(s, "Z") != 0)
		return REF_E_MALFORMED;
	if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 ||
	    sec > 60)
		return REF_E_MALFORMED;
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	t = timegm(&tm);
	if (t < 0)
		return REF_E_MALFORMED;
	*ret_ms = (uint64_t)t * 1000;
	return 0;
}

void util_rfc3339(uint64_t ms, char out[32])
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	gmtime_r(&t, &tm);
	snprintf(out, 32, "%04u-%02u-%02uT%02u:%02u:%02u.%03uZ",
		 (unsigned)(tm.tm_year + 1900) % 10000, (unsigned)tm.tm_mon + 1,
		 (unsigned)tm.tm_mday % 100, (unsigned)tm.tm_hour % 100,
		 (unsigned)tm.tm_min % 100, (unsigned)tm.tm_sec % 100,
		 (unsigned)(ms % 1000));
}
