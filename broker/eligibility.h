/* eligibility.h: a county's rule pack and the recommendation it gives for
 * an application's means. It recommends; it never decides: only a
 * reviewer grants or denies.
 *
 * The rule pack (rules.ini in the data folder, named by [eligibility]
 * rules):
 *   [hardship]
 *   minimum_allowance_urban_yuan = 890  ; the county's published minimum
 *   minimum_allowance_rural_yuan = 890  ; living allowance lines (低保标准),
 *                                       ; per person per month
 *   multiplier = 2               ; the hardship line is this many times the
 *                                ; allowance (Shishi's programme: 2; the
 *                                ; default)
 *   ; or, as older packs say it, one figure for everyone:
 *   threshold_yuan = 1780        ; per person per month
 *   [exempt]
 *   categories = migrant_worker_wages, minimum_allowance, ...
 *   migrant_worker_case_types = labour, epidemic_wage, work_injury
 *                                ; a category named migrant_worker* exempts
 *                                ; only for these case types: Art 42 names
 *                                ; wage and work-injury claims (this is the
 *                                ; default; wage arrears are filed as labour)
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
 * and the rule that produced it in ret_rule, with the figures it compared
 * (for people; no personal data beyond the amounts). A NULL rule pack
 * recommends "review" for everything. The matter (may be NULL) says the
 * case type the migrant-worker exemption depends on. */
void rules_recommend(const rules_t *r, const Referral__V1__Means *m,
		     const Referral__V1__Matter *matter,
		     const char **ret_outcome, char *ret_rule, size_t rulelen);

#endif
