/* eligibility.h: a county's rule pack and the recommendation it gives for
 * an application's means. It recommends; it never decides: only a
 * reviewer grants or denies.
 *
 * The rule pack (rules.ini in the data folder, named by [eligibility]
 * rules):
 *   [hardship]
 *   threshold_yuan = 1780        ; per person per month, e.g. twice the
 *                                ; local minimum living standard
 *   [exempt]
 *   categories = migrant_worker_wages, minimum_allowance, ...
 *   [no_condition]
 *   categories = domestic_violence, abuse, abandonment, ...
 *   [commitment]
 *   accepted = yes               ; a written commitment stands in for proof
 * Immutable once parsed; thread-safe. */
#ifndef REF_ELIGIBILITY_H
#define REF_ELIGIBILITY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "referral.pb-c.h"

typedef struct rules rules_t;

int rules_parse(const char *text, rules_t **ret, char *ret_err, size_t errlen);
void rules_free(rules_t **r);

/* rules_recommend: "eligible" or "review" in ret_outcome (static text),
 * and the rule that produced it in ret_rule (for people; no personal
 * data). A NULL rule pack recommends "review" for everything. */
void rules_recommend(const rules_t *r, const Referral__V1__Means *m,
		     const char **ret_outcome, char *ret_rule, size_t rulelen);

#endif
