/* fuzz.h: what the fuzz targets share: the libFuzzer entry points, the
 * fixed test keys and the key lookup and policy that envelope checks run
 * under, and a few small helpers.
 *
 * Every target defines LLVMFuzzerInitialize and LLVMFuzzerTestOneInput;
 * the same source builds as a libFuzzer target (clang, -Dfuzz=true) and,
 * linked with replay.c, as a plain corpus-replay program in the normal
 * test run.
 *
 * Promises: the keys are the published test keys of ../shared/vectors
 * (RFC 8032 seeds and the SM2 vector), never real ones; they are made once
 * per process by fuzz_keys_init and stay reachable until exit, so
 * LeakSanitizer does not count them. A target breaks an invariant only by
 * calling fuzz_fail, which prints why and aborts, so libFuzzer keeps the
 * input as a crash. Not thread-safe: a fuzz process runs one input at a
 * time. */
#ifndef REF_FUZZ_H
#define REF_FUZZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <openssl/evp.h>

#include "envelope.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The vectors' created_at_ms (2025-11-28T00:00:00Z); the fixed policy's
 * clock stands one second after it, and the test keys are valid for a
 * year either side. */
#define FUZZ_T0 1764288000000ULL

/* Our node (the envelope's receiver) and the connection's peer. */
#define FUZZ_SELF "350582"
#define FUZZ_PEER "350581"

/* Our node as the vectors' directory.json lists it: its CURVE public key
 * (curve-keys.json) and the id of its signing key (350582-k1 below). */
#define FUZZ_SELF_CURVE "Qbxjxmn6]MuyQTt.-DkQ/E4>jy1:9aNNI7(2y&*H"
#define FUZZ_SELF_KEY_ID "350582-k1"

/* fuzz_keys_init: loads the test keys; 0, or -1 if OpenSSL refuses them
 * (then every target aborts: a fuzz run without keys would test nothing).
 * Safe to call twice. */
int fuzz_keys_init(void);

/* fuzz_lookup: envelope_key_lookup_fn over the test keys: 350581-k1 and
 * 350582-k1 (Ed25519) and 350583-k1 (SM2), each for its node only, valid
 * at FUZZ_T0 +/- 365 days. The keys are private keys, so fuzz_sign can
 * sign with what the verifier looks up. Borrowed; ctx unused. */
EVP_PKEY *fuzz_lookup(void *ctx, const char *node, const char *key_id,
		      uint64_t at_ms);

/* fuzz_authority: the authority's test key of the vectors (wire-v1.json,
 * keys.authority; Ed25519), whose signature directory.json.sig is. A
 * private key, so a target can sign a directory as the authority would;
 * a node given its public half trusts it. Borrowed. */
EVP_PKEY *fuzz_authority(void);

/* fuzz_policy: self FUZZ_SELF, peer FUZZ_PEER, now FUZZ_T0 + 1 s, the
 * default lifetime (14 days) and skew (5 min), 1 MiB at most. */
envelope_policy_t fuzz_policy(void);

/* fuzz_sign: signs prefix (with its terminating NUL) then data with key;
 * *ret_sig (malloc'd, caller frees) and *ret_len on success. */
int fuzz_sign(EVP_PKEY *key, const char *prefix, const uint8_t *data,
	      size_t len, uint8_t **ret_sig, size_t *ret_len);

/* fuzz_strdup: a NUL-terminated copy of data (malloc'd; NULL on ENOMEM),
 * for parsers that take C strings. */
char *fuzz_strdup(const uint8_t *data, size_t size);

/* fuzz_utf8_ok: every string in m and its sub-messages is valid UTF-8.
 * An independent walk, to check envelope_verify's own against. */
bool fuzz_utf8_ok(const ProtobufCMessage *m);

/* fuzz_check_result: for status, what envelope_verify returned into c:
 * aborts unless it is c's recorded status and a ReceiptStatus, and c's
 * detail is NUL-terminated, valid UTF-8 (it travels in a receipt's proto3
 * string) and not empty for a refusal; then packs and unpacks the receipt
 * a node would send. A negative status (-ENOMEM) passes unchecked. */
void fuzz_check_result(const envelope_check_t *c, int status);

/* What a node does with a body a client or a peer handed it, beyond
 * decoding (fuzz-checks.c; needs the broker library): the application
 * checks, priority, eligibility recommendation and JSON view of a
 * ReferralSubmit; the lifecycle table's answers for a StatusChange; the
 * document checks of a MaterialsSupplement. fuzz_checks_init parses the
 * fixed rule pack once (0, or -1). Each aborts through fuzz_fail when an
 * answer contradicts another. */
int fuzz_checks_init(void);
void fuzz_check_submit(const Referral__V1__ReferralSubmit *a);
void fuzz_check_status_change(const Referral__V1__StatusChange *sc);
void fuzz_check_supplement(const Referral__V1__MaterialsSupplement *ms);

/* fuzz_fail: prints "fuzz invariant broken: why" and aborts. */
void fuzz_fail(const char *why) __attribute__((noreturn));

#endif
