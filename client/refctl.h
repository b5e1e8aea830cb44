/* refctl.h: what refctl's command files share: the global flags and the
 * few helpers every command uses. Exit status of a command: 0 done,
 * 1 refused or failed (the message says why), 2 bad usage. */
#ifndef REF_REFCTL_H
#define REF_REFCTL_H

#include <stdbool.h>
#include <jansson.h>

extern bool refctl_want_json;        /* --json */
extern const char *refctl_data_dir;  /* --data, or REFERRAL_DATA */
extern const char *refctl_actor;     /* --actor, or REFERRAL_ACTOR */

/* refctl_usage: prints the usage and returns 2. */
int refctl_usage(void);
/* refctl_fail: prints "refctl: ..." to stderr and returns 1. */
int refctl_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* refctl_opt: the value of "--name VALUE" in args, or NULL. */
const char *refctl_opt(int argc, char **argv, const char *name);
bool refctl_flag(int argc, char **argv, const char *name);
/* refctl_positional: the n-th argument that is neither an option nor the
 * value of one of with_value. */
const char *refctl_positional(int argc, char **argv, int n,
			      const char *const *with_value);
/* refctl_js: o[k] as a string, "-" if absent. */
const char *refctl_js(json_t *o, const char *k);

/* refctl_audit: the audit commands (refctl-audit.c). */
int refctl_audit(int argc, char **argv);
/* refctl_store: refctl store check (refctl-audit.c). */
int refctl_store(int argc, char **argv);
/* refctl_backup: refctl backup DIR (refctl-audit.c). */
int refctl_backup(int argc, char **argv);
/* refctl_restore: refctl restore BACKUP (refctl-audit.c). */
int refctl_restore(int argc, char **argv);

#endif
