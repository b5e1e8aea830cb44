/* refctl-export.h: refctl audit export and verify-export (refctl-export.c),
 * run by refctl audit (refctl-audit.c). Both take the arguments from the
 * subcommand on (argv[0] is "export" or "verify-export") and return
 * refctl's exit status (cli.h). */
#ifndef REF_REFCTL_EXPORT_H
#define REF_REFCTL_EXPORT_H

#include "store.h"

/* refctl_export_run: the audit records of s (opened read-only by the
 * caller, which closes it) to --out FILE, with its signed manifest. */
int refctl_export_run(store_t *s, int argc, char **argv);
/* refctl_export_verify: an export and its manifest, checked offline. */
int refctl_export_verify(int argc, char **argv);

#endif
