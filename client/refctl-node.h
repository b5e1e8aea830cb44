/* refctl-node.h: the commands that ask the running node (refctl-node.c).
 * Each takes the arguments from its own name on (argv[0] is "submit",
 * "accept", ...) and returns refctl's exit status (cli.h). */
#ifndef REF_REFCTL_NODE_H
#define REF_REFCTL_NODE_H

int refctl_node_submit(int argc, char **argv);
/* refctl_node_move: every lifecycle move; argv[0] names it ("accept",
 * "deny", ..., "decide-objection"). */
int refctl_node_move(int argc, char **argv);
int refctl_node_supplement(int argc, char **argv);
int refctl_node_status(int argc, char **argv);
/* refctl_node_show: "show ID" and "trail ID". */
int refctl_node_show(int argc, char **argv);
int refctl_node_list(int argc, char **argv);
int refctl_node_requeue(int argc, char **argv);
int refctl_node_overdue(int argc, char **argv);
int refctl_node_rotate_data_key(int argc, char **argv);

#endif
