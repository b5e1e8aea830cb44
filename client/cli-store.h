/* cli-store.h: the node's data folder read directly by refctl, without
 * asking the running node: its settings and its store with the data key
 * ring. This is what lets an auditor check a store without trusting the
 * node that wrote it. The store is opened read-only here; only
 * `refctl restore` (refctl-store.c) writes one, with the node stopped. */
#ifndef REF_CLI_STORE_H
#define REF_CLI_STORE_H

#include "config.h"
#include "seal.h"
#include "store.h"

/* cli_store_config: the settings of the node in cli_data_dir (config_load,
 * the node's own parser). A data folder without referrald.conf (an
 * auditor's copy of the store and keys) gets every default, so the data
 * key is data.keys beside the store. On failure says why and returns 1;
 * *ret is written only on success. */
int cli_store_config(config_t *ret);

/* cli_store_open: the store in cli_data_dir, read-only, reading through
 * the node's data key ring if the data key file exists (without it,
 * sealed records do not open and say so). On success *ret_store and
 * *ret_seal (NULL without a key file) are the caller's: store_close
 * first, then seal_free, since the store borrows the ring. On failure
 * says why and returns 1. */
int cli_store_open(store_t **ret_store, seal_t **ret_seal);

#endif
