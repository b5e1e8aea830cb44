/* refctl-call.h: the commands built on the node's named operations
 * (refctl-call.c): gateway tokens, a lawyer replaced, a court's or
 * bureau's events and its feed, and any operation by name. Each takes the
 * arguments from its own name on and returns refctl's exit status. */
#ifndef REF_REFCTL_CALL_H
#define REF_REFCTL_CALL_H

/* refctl_call_token: token create|list|revoke. */
int refctl_call_token(int argc, char **argv);
/* refctl_call_reassign: reassign ID --firm --lawyer --licence --reason. */
int refctl_call_reassign(int argc, char **argv);
/* refctl_call_event: event TYPE [--to CODE] [--referral ID] ... */
int refctl_call_event(int argc, char **argv);
/* refctl_call_events: events [--cursor C]: the feed. */
int refctl_call_events(int argc, char **argv);
/* refctl_call_held: held list | held drop ID [--seq N] | held drop --from
 * CODE (admin); refctl_call_held_list: list --held. */
int refctl_call_held(int argc, char **argv);
int refctl_call_held_list(void);
/* refctl_call_any: call NAME [--referral ID] [JSON]. */
int refctl_call_any(int argc, char **argv);

#endif
