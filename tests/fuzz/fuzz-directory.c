/* fuzz-directory.c: directory_parse on a directory.json as the authority
 * (or anyone able to put a file in a node's data folder) wrote it.
 *
 * Input: the file's bytes. The signature is not checked here: a node
 * checks it before parsing, but the parser must be safe on any bytes all
 * the same (refctl directory verify parses what it is given).
 *
 * Invariants checked: a parsed directory answers every lookup for what it
 * holds: directory_node and directory_node_by_curve find each node (codes
 * and CURVE keys are unique), directory_key finds each key at its
 * not_before (key ids are unique per node) and not at its not_after, and
 * directory_accepts says yes to each case type listed on a legal-aid
 * centre's entry (and no on any other role's); a failed parse
 * names its problem. */
#include <string.h>

#include "directory.h"
#include "fuzz.h"
#include "util.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	directory_t *d = NULL;
	char err[300];
	int r;

	memset(err, 0x55, sizeof(err));
	r = directory_parse((const char *)data, size, &d, err, sizeof(err));
	if (r) {
		if (d)
			fuzz_fail("a failed parse handed a directory back");
		if (!memchr(err, 0, sizeof(err)) || !err[0])
			fuzz_fail("a failed parse says nothing");
		return 0;
	}
	if (!d || d->version < 1)
		fuzz_fail("a parsed directory has no positive version");
	for (size_t i = 0; i < d->n_nodes; i++) {
		dir_node_t *n = &d->nodes[i];

		if (!util_node_code_valid(n->code) ||
		    directory_node(d, n->code) != n ||
		    directory_node_by_curve(d, n->curve_public) != n)
			fuzz_fail("a parsed node is not found by its code or key");
		if (!n->n_keys)
			fuzz_fail("a parsed node has no signing key");
		for (size_t k = 0; k < n->n_keys; k++) {
			dir_key_t *key = &n->keys[k];
			if (!key->key ||
			    directory_key(d, n->code, key->key_id,
					  key->not_before_ms) != key->key ||
			    directory_key(d, n->code, key->key_id,
					  key->not_after_ms) != NULL)
				fuzz_fail("a parsed key is not valid in its "
					  "window only");
		}
		for (size_t k = 0; k < n->n_accepts; k++)
			if (directory_accepts(n, n->accepts[k]) !=
			    !strcmp(n->role, "legal_aid_centre"))
				fuzz_fail("a listed case type is not accepted "
					  "by a centre, or is by another role");
	}
	directory_free(&d);
	directory_free(&d); /* safe twice, and d is NULL now */
	return 0;
}
