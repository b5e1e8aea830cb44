/* config.h: a node's settings, from referrald.conf in its data folder.
 *
 * One table (config.c) lists every setting with its default and bounds;
 * config_load validates all of it and names the first bad setting, so a
 * node never starts on a configuration it half understood. */
#ifndef REF_CONFIG_H
#define REF_CONFIG_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef struct {
	char data_dir[512];
	/* [node] */
	char code[8];
	char name[256];
	char role[32];
	char listen[256];
	char key_id[64];
	char alg[16];
	char time_zone[128];       /* tz database name (tzlocal.h) */
	/* [trust] */
	char authority_key[512];   /* relative to data_dir unless absolute */
	/* [limits] */
	int64_t max_message_bytes;
	int64_t max_document_bytes;
	int64_t max_documents;
	int64_t max_string_bytes;
	int64_t max_list_items;
	int64_t max_message_document_bytes; /* all bytes fields of one message */
	int64_t held_per_peer;     /* early changes held from one peer */
	int64_t held_bytes_per_peer;
	int64_t peer_in_flight;
	int64_t peer_rate_per_s;
	int64_t max_connections;
	int64_t handshake_ms;
	int64_t crypto_threads;   /* workers checking incoming envelopes */
	/* [delivery] */
	int64_t retry_first_ms;
	int64_t retry_cap_ms;
	int64_t message_lifetime_ms;
	int64_t future_skew_ms;
	int64_t held_ttl_ms;       /* how long an early change is held */
	/* [store] */
	int64_t map_initial_mb;
	int64_t map_max_mb;
	int64_t submit_limit_pct;
	int64_t peer_quota_pct;    /* one peer's share of map_max_mb */
	int64_t quota_warn_pct;    /* of its quota: shown as nearly full */
	int64_t seen_prune_batch;
	char data_key[512];        /* the data key ring (seal.h) */
	/* [deadlines] */
	char holidays[512];        /* calendar file, "shipped", "" for none */
	int64_t materials_wait_days;
	int64_t deadline_check_ms;
	/* [roles] */
	char admins[512];          /* staff ids holding the justice bureau's
				      admin role, comma-separated */
	/* [staff] (broker/principal.c) */
	char staff_accounts[8192]; /* "account:staff-id, ..." */
	char staff_group[64];      /* the socket's group, "" for the node's */
	/* [eligibility] */
	char rules[512];           /* the county's rule pack, "" for none */
	/* [audit] */
	int64_t checkpoint_records;
	int64_t checkpoint_minutes;
	/* [retention] */
	int64_t days_after_closed;
	int64_t days_after_refused;
	int64_t purge_batch;
	/* [daemon] */
	int64_t linger_ms;
	int64_t heartbeat_ms;
	char log_level[16];
} config_t;

/* config_defaults: every setting at its default; strings empty. */
void config_defaults(config_t *c);
/* config_load: reads DIR/referrald.conf over the defaults. On failure
 * ret_err names the file, line or setting and what is allowed. */
int config_load(const char *data_dir, config_t *ret, char *ret_err,
		size_t errlen);
/* config_parse_text: the same, from text (for tests and tools). */
int config_parse_text(const char *text, config_t *ret, char *ret_err,
		      size_t errlen);
/* config_write: a referrald.conf for c, with each setting's default shown. */
int config_write(const config_t *c, const char *path);
/* config_print_table: every setting as a Markdown table (docs/CONFIG.md). */
void config_print_table(FILE *f);
/* config_set_key_id: rewrites the key_id line of DATA/referrald.conf to
 * c->key_id (after a key rotation), leaving every other line as it is. */
int config_set_key_id(const config_t *c);
/* config_path: joins data_dir and a relative path (absolute kept). */
void config_path(const config_t *c, const char *rel, char *out, size_t len);

#endif
