/* gw-metrics.c: see gw-metrics.h. A value the node does not give is
 * left out rather than shown as 0: absent is not empty. */
#include <stdlib.h>
#include <string.h>

#include "gw-metrics.h"

static void gauge(FILE *f, const char *name, const char *help, json_t *v)
{
	if (!json_is_number(v))
		return;
	fprintf(f, "# HELP %s %s\n# TYPE %s gauge\n%s %.17g\n", name, help,
		name, name, json_number_value(v));
}

/* A label value as Prometheus reads it: backslash, quote and newline
 * escaped. Status names are the node's, but nothing is trusted here. */
static void label(FILE *f, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\' || *s == '"')
			fputc('\\', f), fputc(*s, f);
		else if (*s == '\n')
			fputs("\\n", f);
		else
			fputc(*s, f);
	}
}

static void outbox(FILE *f, json_t *m)
{
	json_t *ob = json_object_get(m, "outbox"), *v;
	const char *k;
	bool head = false;

	json_object_foreach(ob, k, v) {
		if (!json_is_number(v))
			continue;
		if (!head) {
			fprintf(f, "# HELP referral_outbox_messages Messages in "
				   "the outbox by delivery state.\n# TYPE "
				   "referral_outbox_messages gauge\n");
			head = true;
		}
		fprintf(f, "referral_outbox_messages{state=\"");
		label(f, k);
		fprintf(f, "\"} %.17g\n", json_number_value(v));
	}
}

static void receipts(FILE *f, json_t *m)
{
	json_t *rc = json_object_get(m, "receipts"), *v;
	const char *k;
	bool head = false;

	json_object_foreach(rc, k, v) {
		if (!json_is_number(v))
			continue;
		if (!head) {
			fprintf(f, "# HELP referral_receipts_total Receipts "
				   "received by status.\n# TYPE "
				   "referral_receipts_total counter\n");
			head = true;
		}
		fprintf(f, "referral_receipts_total{status=\"");
		label(f, k);
		fprintf(f, "\"} %.17g\n", json_number_value(v));
	}
}

/* buckets: [[le_ms, count], ...] in rising le_ms. Counts that ever fall
 * are per bucket and are summed here; rising ones are taken as already
 * cumulative, as "le" means in Prometheus. */
static void latency(FILE *f, json_t *m)
{
	json_t *h = json_object_get(m, "delivery_latency_ms");
	json_t *b = json_object_get(h, "buckets"), *e;
	json_t *count = json_object_get(h, "count");
	json_t *sum = json_object_get(h, "sum_ms");
	double prev = 0, run = 0;
	bool per_bucket = false;
	size_t i;

	if (!json_is_array(b) || !json_is_number(count))
		return;
	json_array_foreach(b, i, e) {
		double c = json_number_value(json_array_get(e, 1));
		if (c < prev)
			per_bucket = true;
		prev = c;
	}
	fprintf(f, "# HELP referral_delivery_latency_seconds From a "
		   "message's first send to its receipt.\n# TYPE "
		   "referral_delivery_latency_seconds histogram\n");
	json_array_foreach(b, i, e) {
		json_t *le = json_array_get(e, 0);
		double c = json_number_value(json_array_get(e, 1));
		if (!json_is_number(le))
			continue;
		run = per_bucket ? run + c : c;
		fprintf(f, "referral_delivery_latency_seconds_bucket{le=\"%g\"} "
			"%.17g\n", json_number_value(le) / 1000.0, run);
	}
	fprintf(f, "referral_delivery_latency_seconds_bucket{le=\"+Inf\"} "
		"%.17g\n", json_number_value(count));
	if (json_is_number(sum))
		fprintf(f, "referral_delivery_latency_seconds_sum %.17g\n",
			json_number_value(sum) / 1000.0);
	fprintf(f, "referral_delivery_latency_seconds_count %.17g\n",
		json_number_value(count));
}

void gw_metrics_render(FILE *f, json_t *m, _Atomic uint64_t *requests)
{
	json_t *st = json_object_get(m, "store");
	json_t *used = json_object_get(st, "used_bytes");
	json_t *max = json_object_get(st, "max_bytes");
	bool head = false;

	outbox(f, m);
	gauge(f, "referral_inbox_referrals", "Referrals in the inbox.",
	      json_object_get(m, "inbox"));
	gauge(f, "referral_overdue_referrals", "Referrals past a deadline or "
	      "within 24 hours of one.", json_object_get(m, "overdue"));
	latency(f, m);
	receipts(f, m);
	gauge(f, "referral_store_used_bytes", "Bytes the store uses.", used);
	gauge(f, "referral_store_max_bytes", "The store never grows past "
	      "this.", max);
	gauge(f, "referral_peers_quota_nearly_full", "Peers past "
	      "[store] quota_warn_pct of their store quota.",
	      json_object_get(m, "peers_quota_nearly_full"));
	if (json_is_number(used) && json_is_number(max)) {
		json_t *room = json_real(json_number_value(max) -
					 json_number_value(used));
		gauge(f, "referral_store_room_bytes", "Bytes left before the "
		      "store is full.", room);
		json_decref(room);
	}
	gauge(f, "referral_peers_up", "Peers whose link is up.",
	      json_object_get(m, "peers_up"));
	gauge(f, "referral_peers", "Peers in the directory in force.",
	      json_object_get(m, "peers"));
	for (int s = 100; s < 600; s++) {
		uint64_t n = atomic_load(&requests[s]);
		if (!n)
			continue;
		if (!head) {
			fprintf(f, "# HELP referral_gw_requests_total HTTP "
				   "requests the gateway answered, by "
				   "status.\n# TYPE referral_gw_requests_total "
				   "counter\n");
			head = true;
		}
		fprintf(f, "referral_gw_requests_total{code=\"%d\"} %llu\n", s,
			(unsigned long long)n);
	}
}

int gw_metrics_handle(gw_req_t *q)
{
	char err[2048], *buf = NULL;
	size_t len = 0;
	json_t *m;
	FILE *f;
	int r = gw_node_call(q->gw->node, "metrics", q->token, NULL, NULL,
			     NULL, &m, err, sizeof(err));

	if (r)
		return gw_http_node_error(q, r, err);
	f = open_memstream(&buf, &len);
	if (!f) {
		json_decref(m);
		return gw_http_problem(q, 500, "REF_E_INVALID", "out of memory");
	}
	gw_metrics_render(f, m, q->gw->requests);
	fclose(f);
	json_decref(m);
	return gw_http_send(q, 200, "text/plain; version=0.0.4; charset=utf-8",
			    buf, len);
}
