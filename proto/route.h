/* route.h: which centre takes a matter (Art 38), read from the directory.
 *
 * A directory entry may say which divisions and handling bodies its centre
 * serves (`serves`) and which node takes what no centre serves
 * (`fallback`); DESIGN.md, "The directory file". route_pick applies them:
 * a centre serving the matter's handling body, else one serving its
 * division code, else the sending node's fallback. Two centres serving the
 * same matter is a question for a person, never a guess: the candidates
 * are returned and nothing is picked. Only a legal-aid centre takes a
 * referral (a court, a labour bureau or the authority never does), whatever
 * its entry's `accepts` says. Pure: no I/O, no logging. */
#ifndef REF_ROUTE_H
#define REF_ROUTE_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>

#include "directory.h"

#define ROUTE_MAX_CANDIDATES 8

typedef enum {
	ROUTE_BODY = 1,      /* a centre serving the handling body */
	ROUTE_DIVISION,      /* a centre serving the division code */
	ROUTE_FALLBACK,      /* no centre serves it: the sender's fallback */
	ROUTE_AMBIGUOUS,     /* two or more serve it: a person chooses */
	ROUTE_NONE,          /* nobody serves it and there is no fallback */
	ROUTE_HERE,          /* this node itself serves it: no referral */
} route_how_t;

typedef struct {
	route_how_t how;
	const dir_node_t *to;        /* ROUTE_BODY, _DIVISION, _FALLBACK */
	const dir_node_t *candidates[ROUTE_MAX_CANDIDATES];
	size_t n_candidates;         /* ROUTE_AMBIGUOUS: the centres */
	char why[512];               /* for people: the choice, or its lack */
} route_t;


/* route_pick: the centre for a matter of case_type handled by body (may be
 * "") in division (may be ""), sent from the node self. Always fills ret
 * (ret->why says what happened); returns 0 when ret->to is set, else
 * REF_E_REFUSED (ambiguous: ret->candidates) or REF_E_UNKNOWN_NODE (no
 * centre and no usable fallback, or the matter is self's own). */
int route_pick(const directory_t *d, const char *self, const char *case_type,
	       const char *body, const char *division, route_t *ret);
const char *route_how_name(route_how_t how);

#endif
