/* refctl-store.h: refctl store check, backup and restore (refctl-store.c).
 * Each takes the arguments from its own name on (argv[0] is "store",
 * "backup" or "restore") and returns refctl's exit status (cli.h). */
#ifndef REF_REFCTL_STORE_H
#define REF_REFCTL_STORE_H

/* refctl_store: refctl store check (read-only). */
int refctl_store(int argc, char **argv);
/* refctl_store_backup: refctl backup DIR, while the node serves. */
int refctl_store_backup(int argc, char **argv);
/* refctl_store_restore: refctl restore BACKUP, with the node stopped. */
int refctl_store_restore(int argc, char **argv);

#endif
