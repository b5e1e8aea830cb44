/* refctl-closing.h: the end of a case (refctl-closing.c): terminate on a
 * coded Art 48 ground, close with the closing report and a coded outcome,
 * the file review of a closed case, and the justice bureau's objections. Each is the node's operation of
 * that name; the node checks the codes. Each takes the arguments from its
 * own name on and returns refctl's exit status. */
#ifndef REF_REFCTL_CLOSING_H
#define REF_REFCTL_CLOSING_H

/* terminate ID --ground CODE --reason TEXT [--basis TEXT] */
int refctl_closing_terminate(int argc, char **argv);
/* close ID --report FILE --outcome CODE */
int refctl_closing_close(int argc, char **argv);
/* object ID --centre CODE --reason TEXT; decide-objection ID
 * --uphold|--grant [--reason TEXT]: at the justice bureau's node (Art 49). */
int refctl_closing_object(int argc, char **argv);
int refctl_closing_decide(int argc, char **argv);
/* review ID --follow-up HOW --on DATE --score N [--note TEXT] */
int refctl_closing_review(int argc, char **argv);

#endif
