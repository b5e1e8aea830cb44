/* gw-metrics.h: GET /metrics, in Prometheus' text format (0.0.4): the
 * node's queue depths, delivery latency histogram, receipts by status,
 * overdue count, store size and room, and peers up, all from the node's
 * "metrics" operation; and the gateway's own requests by HTTP status.
 *
 * Promises: the node decides who may read them (its "metrics" operation
 * checks the token's scope, admin); numbers only, never an id or a name
 * of a person. The histogram is cumulative, as Prometheus wants, in
 * seconds. */
#ifndef REF_GW_METRICS_H
#define REF_GW_METRICS_H

#include <jansson.h>
#include <stdio.h>

#include "gw-http.h"

/* gw_metrics_handle: answers GET /metrics for q (token set). */
int gw_metrics_handle(gw_req_t *q);
/* gw_metrics_render: the text for the node's answer m and the gateway's
 * counts by status (600 of them, index = status). */
void gw_metrics_render(FILE *f, json_t *m, _Atomic uint64_t *requests);

#endif
