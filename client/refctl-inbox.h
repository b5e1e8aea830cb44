/* refctl-inbox.h: the reviewer's inbox (refctl-inbox.c): list with its
 * filters, the case sheet that show prints, and docs, which writes a
 * referral's documents to files. Each command returns refctl's exit
 * status. */
#ifndef REF_REFCTL_INBOX_H
#define REF_REFCTL_INBOX_H

#include <stdbool.h>
#include <jansson.h>

/* refctl_inbox_list: list --inbox|--outbox [--state S] [--overdue]
 * [--open] [--from CODE] [--since DATE] [--all]; human prints the page.
 * Without --json, closed cases are left out unless --all or --state. */
int refctl_inbox_list(int argc, char **argv, bool inbox,
		      void (*human)(json_t *));
/* refctl_inbox_sheet: the case sheet of a show answer: the applicant,
 * the matter, the missing items, the legal basis and the assignment. */
void refctl_inbox_sheet(json_t *o);
/* refctl_docs: docs ID --out DIR. */
int refctl_docs(int argc, char **argv);

#endif
