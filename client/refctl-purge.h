/* refctl-purge.h: retention's commands (refctl-purge.c): purge of expired
 * referrals' personal data, and legal holds that keep it. Each takes the
 * arguments from its own name on and returns refctl's exit status. */
#ifndef REF_REFCTL_PURGE_H
#define REF_REFCTL_PURGE_H

/* refctl_purge: purge --before DATE [--dry-run] (admin). */
int refctl_purge(int argc, char **argv);
/* refctl_legal_hold: legal-hold set ID --reason TEXT | clear ID | list. */
int refctl_legal_hold(int argc, char **argv);

/* refctl_compact: compact (node stopped): the store without free pages. */
int refctl_compact(int argc, char **argv);

#endif
