/* cli.h: what every refctl command file shares: the global flags, the one
 * way a command fails, argument parsing, JSON helpers, the usage text and
 * a client of the running node.
 *
 * Arrows point down: refctl.c (main) calls the command files, and the
 * command files call this one; nothing here calls a command or main. A
 * command returns refctl's exit status: 0 done, 1 refused or failed (the
 * message on stderr says why), 2 bad usage. Not thread-safe (refctl is
 * one thread). */
#ifndef REF_CLI_H
#define REF_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>

#include "referral.h"

/* Set once by main before any command runs, read-only after. */
extern bool cli_want_json;        /* --json */
extern const char *cli_data_dir;  /* --data, or REFERRAL_DATA; may be NULL */
extern const char *cli_actor;     /* --actor, or REFERRAL_ACTOR; may be NULL */

/* cli_usage: prints the usage to stderr and returns 2. */
int cli_usage(void);
/* cli_fail: prints "refctl: ..." and a newline to stderr; returns 1. */
int cli_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* cli_need_data_dir: 0 if a data folder was given, else cli_fail's 1
 * with a message saying how to give one. */
int cli_need_data_dir(void);

/* cli_opt: the value of "--name VALUE" in argv, or NULL (borrowed). */
const char *cli_opt(int argc, char **argv, const char *name);
/* cli_opts_all: every value of a repeated "--name VALUE", in order, as a
 * NULL-ended array in *ret (malloc'd, the caller frees the array, not the
 * strings; NULL if out of memory); returns how many. */
size_t cli_opts_all(int argc, char **argv, const char *name,
		    const char ***ret);
/* cli_flag: "--name" stands in argv. */
bool cli_flag(int argc, char **argv, const char *name);
/* cli_positional: the n-th argument (from 0) that is neither an option
 * nor the value of one of with_value (NULL-ended), or NULL. */
const char *cli_positional(int argc, char **argv, int n,
			   const char *const *with_value);

/* cli_js: o[k] as a string, "-" if absent (borrowed from o). */
const char *cli_js(json_t *o, const char *k);
/* cli_jt: the time o[k] as people here read it: o[k_local] (the node's
 * time zone) as "2026-10-09 00:00:00 +08:00", else o[k], else "-". The
 * result lives until the fourth call after. */
const char *cli_jt(json_t *o, const char *k);
/* cli_due: a deadline o[k] said as the day it ends, "2026年10月8日 24:00
 * 前", from o[day_key] (its local day) and o[k_local]; else as cli_js.
 * The result lives until the fourth call after. */
const char *cli_due(json_t *o, const char *day_key, const char *k);
/* cli_print_json: o on stdout, indented, keys in their order. */
void cli_print_json(json_t *o);

/* cli_client: a client of the node in cli_data_dir (ref_close it). On
 * failure says why and returns 1; *ret is written only on success. */
int cli_client(ref_client_t **ret);

/* cli_ask_on: one named call of the node's operation table (ref_call) on c,
 * opts (kept by the caller, may be NULL) as its JSON options; token and
 * request_id may be NULL. *ret the node's JSON answer (json_decref it).
 * 0, or 1 after saying why. */
int cli_ask_on(ref_client_t *c, const char *name, const char *token,
	       const char *request_id, const char *referral_id,
	       const json_t *opts, json_t **ret);

/* cli_ask: cli_ask_on with a client of its own; opts released here. */
int cli_ask(const char *name, const char *token, const char *request_id,
	    const char *referral_id, json_t *opts, json_t **ret);

/* cli_call: one named call of the node's operation table (ref_call), opts
 * (released here) as its JSON options; token and request_id may be NULL.
 * Its JSON answer is printed (--json, or no show) or handed to show.
 * 0, or 1 after saying why. */
int cli_call(const char *name, const char *token, const char *request_id,
	     const char *referral_id, json_t *opts, void (*show)(json_t *ans));

#endif
