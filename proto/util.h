/* util.h: small helpers every module needs: time (with a test clock), hex and
 * base64, UUIDv7, SHA-256, UTF-8 checks and durable file writes.
 *
 * Promises: no function here logs; buffers returned through ret_* are
 * malloc'd and owned by the caller; outputs are written only on success. */
#ifndef REF_UTIL_H
#define REF_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* util_now_ms: Unix time in ms, plus the test clock offset. The offset comes
 * from the environment variable REFERRAL_CLOCK_OFFSET_MS (signed ms) read at
 * first use, or from util_clock_set_offset(); tests use it to jump time
 * without sleeping. Not thread-safe to change while others read it. */
uint64_t util_now_ms(void);
void util_clock_set_offset(int64_t offset_ms);
/* util_mono_ms: monotonic ms, for timeouts that must not follow the clock. */
uint64_t util_mono_ms(void);

/* util_hex: writes 2*len lower-case hex digits and a NUL to out. */
void util_hex(const uint8_t *in, size_t len, char *out);
/* util_unhex: decodes exactly 2*len hex digits; returns REF_E_MALFORMED. */
int util_unhex(const char *hex, uint8_t *out, size_t len);
/* util_unhex_alloc: any even-length hex string; *ret_buf malloc'd. */
int util_unhex_alloc(const char *hex, uint8_t **ret_buf, size_t *ret_len);

int util_b64_encode(const uint8_t *in, size_t len, char **ret_text);
int util_b64_decode(const char *text, uint8_t **ret_buf, size_t *ret_len);

/* util_random: n unpredictable bytes for nonces, ids and per-record keys
 * (OpenSSL's generator, drawn through a per-thread pool); 0 or -EIO. */
int util_random(void *out, size_t n);
/* util_uuid7: a fresh UUIDv7 (RFC 9562) for the current util_now_ms(). */
int util_uuid7(uint8_t out[16]);
/* util_referral_id: "<node>-<uuid7 hex>" into out (at least 7+1+32+1). */
int util_referral_id(const char *node, char *out, size_t outlen);
bool util_referral_id_valid(const char *id);
bool util_node_code_valid(const char *code);

/* util_get_be64 / util_put_be64: a 64-bit number as 8 bytes, most
 * significant first (store keys and values, GCM's lengths). */
uint64_t util_get_be64(const uint8_t p[8]);
void util_put_be64(uint8_t p[8], uint64_t v);
void util_sha256(const uint8_t *in, size_t len, uint8_t out[32]);
/* util_md_sha256 / util_cipher_aes256gcm: OpenSSL's implementations,
 * fetched once for the process (thread-safe) and never freed: the legacy
 * EVP_sha256() and EVP_aes_256_gcm() fetch them again at every use, which
 * cost a tenth of the node's time per referral. */
const struct evp_md_st *util_md_sha256(void);
const struct evp_cipher_st *util_cipher_aes256gcm(void);

bool util_utf8_valid(const char *s, size_t len);
/* util_utf8_decode: the code point at s (at most len bytes) and its length
 * in bytes; 0 if the bytes there are not one valid UTF-8 character. */
size_t util_utf8_decode(const char *s, size_t len, uint32_t *ret_cp);
/* util_invisible: a code point that moves or hides text: C0 and C1
 * controls, DEL, the Unicode spaces other than U+0020, zero-width and
 * bidi format characters, line and paragraph separators, the BOM. */
bool util_invisible(uint32_t cp);
/* util_utf8_scrub: writes '?' over each invisible character and each byte
 * that is not valid UTF-8, in place, so quoted text can neither split a
 * log line nor reorder it. */
void util_utf8_scrub(char *s);
/* util_utf8_trim: shortens s in place to its longest valid UTF-8 prefix,
 * so text cut at a byte limit never ends in half a character. */
void util_utf8_trim(char *s);

/* util_read_file: whole file, NUL-terminated (not counted in *ret_len).
 * Refuses files over max bytes with REF_E_TOO_LARGE. */
int util_read_file(const char *path, size_t max, uint8_t **ret_buf,
		   size_t *ret_len);
/* util_write_file: temp file, fsync, rename, fsync of the folder: a crash
 * leaves either the old file or the new one, never a torn one. */
int util_write_file(const char *path, const void *buf, size_t len, int mode);
/* util_sync_dir: fsync of a folder, so that renames in it are durable. */
int util_sync_dir(const char *dir);
/* util_remove_temps: removes DIR/NAME.tmp.* that a util_write_file cut
 * short left behind. */
int util_remove_temps(const char *dir, const char *name);

/* util_rfc3339_parse: "YYYY-MM-DDTHH:MM:SSZ" (UTC) to Unix ms. */
int util_rfc3339_parse(const char *s, uint64_t *ret_ms);
/* util_rfc3339: Unix ms to "YYYY-MM-DDTHH:MM:SS.mmmZ" in out[32]. */
void util_rfc3339(uint64_t ms, char out[32]);

#endif
