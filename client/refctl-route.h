/* refctl-route.h: routing by jurisdiction from refctl (refctl-route.c):
 * `route APP.json` explains which centre a submit --auto would pick. Takes
 * the arguments from its own name on and returns refctl's exit status. */
#ifndef REF_REFCTL_ROUTE_H
#define REF_REFCTL_ROUTE_H

/* refctl_route: route FILE.json: the pick and its reason (the node's
 * "route" operation); exit 1 when nothing is picked. */
int refctl_route(int argc, char **argv);

#endif
