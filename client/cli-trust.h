/* cli-trust.h: what refctl's audit commands trust: the signed directory
 * (the data folder's, or one given with --directory FILE --authority
 * PUBKEY.pem), checked against the authority key, and this node's entry
 * in it, found by its own signing key (signing.pub.pem).
 *
 * Signatures held in the store are checked against this directory, never
 * against a key the store itself supplies: an auditor need not trust the
 * node that wrote the store. */
#ifndef REF_CLI_TRUST_H
#define REF_CLI_TRUST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "directory.h"
#include "envelope.h"

typedef struct {
	directory_t *dir;
	const dir_node_t *self;  /* the entry holding signing.pub.pem */
	const char *self_key_id;
} cli_trust_t;

/* cli_trust_load: the directory from --directory/--authority in argv, or
 * the one in force in cli_data_dir; with need_self, also this node's
 * entry. On failure says why (cli_fail) and returns 1, with *t holding
 * nothing to free. On success cli_trust_free(t) when done. */
int cli_trust_load(cli_trust_t *t, int argc, char **argv, bool need_self);
/* cli_trust_free: safe on a zeroed or freed t, and twice. */
void cli_trust_free(cli_trust_t *t);

/* cli_trust_signed_ok: buf is an envelope whose signature and digest
 * verify with the key the directory gives its sender at its time. c is
 * filled either way (envelope_check_free it; c->detail says why not). */
bool cli_trust_signed_ok(const cli_trust_t *t, const uint8_t *buf,
			 size_t len, envelope_check_t *c);

#endif
