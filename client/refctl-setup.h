/* refctl-setup.h: making keys and a node's files (refctl-setup.c). Each
 * command takes the arguments from its own name on (argv[0] is "init",
 * "authority" or "rotate-keys") and returns refctl's exit status (cli.h). */
#ifndef REF_REFCTL_SETUP_H
#define REF_REFCTL_SETUP_H

/* refctl init: a node's keys, data key file and referrald.conf in
 * --data DIR; prints its directory entry for the authority. */
int refctl_setup_init(int argc, char **argv);
/* refctl authority keygen --out DIR: the directory authority's key pair. */
int refctl_setup_authority(int argc, char **argv);
/* refctl rotate-keys: a next signing key and the entry listing it. */
int refctl_setup_rotate_keys(int argc, char **argv);

#endif
