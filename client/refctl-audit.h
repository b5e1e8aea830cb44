/* refctl-audit.h: refctl audit verify|witnessed|trail|export|verify-export
 * (refctl-audit.c; export and verify-export in refctl-export.c). */
#ifndef REF_REFCTL_AUDIT_H
#define REF_REFCTL_AUDIT_H

/* refctl_audit: argv[0] is "audit", argv[1] the subcommand. Reads the
 * store itself, read-only; returns refctl's exit status (cli.h). */
int refctl_audit(int argc, char **argv);

#endif
