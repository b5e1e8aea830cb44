/* state.h: the node's state, and the few helpers every room of the node
 * uses.
 *
 * The node is divided into rooms (docs/ARCHITECTURE.md), one file each,
 * and every field below has one writer: the file named above it. Other
 * files read a field, or call its writer's functions to change it. Lower
 * parts (turn.c, schedule.c, peer.c, zap.c) have structs of their own and
 * never see this one. Only node.c (the loop) opens, commits or aborts the
 * store's turn; every other room adds to the open turn through store
 * events and queues its replies with turn_reply.
 *
 * state.c holds only helpers that read the state (an audit record in the
 * open turn, the envelope policy, a reply's error): it writes no field. */
#ifndef REF_STATE_H
#define REF_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <openssl/evp.h>
#include <jansson.h>

#include "client.pb-c.h"
#include "config.h"
#include "deadline.h"
#include "directory.h"
#include "eligibility.h"
#include "envelope.h"
#include "errors.h"
#include "peer.h"
#include "schedule.h"
#include "seal.h"
#include "store.h"
#include "store.pb-c.h"
#include "turn.h"
#include "verifier.h"

/* The delivery latency histogram (delivery.c, the metrics). */
#define DELIVERY_LATENCY_BUCKETS 12

/* Messages taken from one socket in one turn: the others get their turn.
 * 128, not 256: a turn's dirty pages and the backlog that submits taken
 * faster than they are delivered leave stay smaller (REF-1 at 100,000:
 * 18-20 MB at the origin with 256, 12 MB with 128, same throughput; 64
 * cost a fifth of it in commits). */
#define BATCH_PER_TURN 128

enum { OUT_PENDING = 0, OUT_DELIVERED = 1, OUT_DEAD = 2 };
/* DIR_BUREAU: the justice bureau's file of an objection to a centre's
 * referral it does not otherwise hold (objection.c). */
enum { DIR_OUTGOING = 1, DIR_INCOMING = 2, DIR_BUREAU = 3 };

typedef Referral__Store__V1__ReferralRecord referral_rec_t;
typedef struct node node_t; /* as node.h names it for referrald.c */

/* Who a call is for (tokens.c authenticates tokens; control.c sets the
 * node's caller for the length of one request). */
typedef enum {
	SCOPE_LOCAL = 0,   /* a local client on the node's socket (refctl) */
	SCOPE_COURT,       /* a court, procuratorate or police system */
	SCOPE_LABOUR,      /* a labour bureau or arbitration commission */
	SCOPE_STAFF,       /* the centre's staff */
	SCOPE_ADMIN,       /* the centre's or bureau's admin */
} scope_t;

/* Who a call is made for. */
typedef struct {
	scope_t scope;
	char name[72];     /* the token's name, or the local staff id */
	char code[8];      /* court, labour: the body's code, if given */
	bool token;        /* authenticated by a token */
	uint64_t expires_at_ms;
} principal_t;

struct node {
	/* node.c: set up by node_new; read-only after it. */
	config_t cfg;
	store_t *store;
	void *ctx;
	int lock_fd;
	uint64_t started_ms;
	uint64_t next_deadline_check;
	calendar_t *calendar;     /* calendar.c (calendar_load, at start) */
	rules_t *rules;
	void *zap;                /* opened and closed through zap.c */
	/* Lower parts, each written only by its own file's functions. */
	turn_t turn;              /* turn.c */
	schedule_t sched;         /* schedule.c */
	peers_t peers;            /* peer.c */
	/* control.c */
	void *client;             /* the local clients' ROUTER */
	const principal_t *caller; /* who the request being handled is for */
	/* principal.c: [staff] accounts, resolved at start */
	struct principal_map *staff;
	/* overdue.c: the deadline sweep in progress, and where it goes on
	 * (the key read last). */
	bool overdue_active;
	char overdue_cursor[48];
	bool overdue_dirty;       /* checking only the listed referrals */
	size_t overdue_dirty_left; /* of those, still to read in this look */
	/* dues.c: the written referrals their write could not settle, and
	 * when the earliest running clock it saw passes. */
	char (*dues)[48];
	size_t n_dues, cap_dues, dues_head; /* [dues_head, n_dues) wait */
	bool dues_lost, dues_swept;
	uint64_t dues_next_ms;
	/* outbox.c: the messages made in the open turn, signed together
	 * at its end (outbox_seal_turn): one signature for the batch. */
	struct outbox_draft *drafts;
	size_t n_drafts, cap_drafts;
	/* dirsync.c */
	directory_t *dir;         /* in force */
	/* Batch roots already verified, emptied when a directory is put in
	 * force (envelope_verify fills it through state_policy, a memo). */
	envelope_roots_t roots;
	/* verifier.c: the crypto threads that check a turn's envelopes
	 * (sharing roots, under the lock verifier_new gives it). */
	verifier_t *verifier;
	/* inbound.c, delivery.c: a turn's peer messages and receipts, read
	 * and being checked, until they are handled later in the turn. */
	struct inbound_turn *inbound_pending;
	struct receipts_turn *receipts_pending;
	directory_t *pending_dir; /* applied in this turn; in force after it */
	EVP_PKEY *authority;
	/* keys.c */
	EVP_PKEY *key;
	char key_id[64];          /* the signing key's id ([node] key_id) */
	char key_note[160];       /* a key switch still to record in the chain */
	char seal_note[120];      /* old data keys dropped: still to record */
	bool notes_written;       /* both written in this turn */
	seal_t *seal;             /* the data key ring (store_set_seal) */
	bool resealing;           /* records not under the current key remain */
	bool retire_keys;         /* all re-sealed and committed: drop old keys */
	char curve_pub[41], curve_sec[41];
	/* checkpoint.c: peers heard from or written to since the last
	 * checkpoint, and when that was. */
	char talked[64][8];
	size_t n_talked;
	uint64_t last_cp_seq, last_cp_ms;
	/* prune.c: where the walk over `seen` goes on, when the next step
	 * is due (util_mono_ms), its figures since the start, and the
	 * newest message time pruned (kept in the store's meta). */
	uint8_t prune_from[16];
	bool prune_from_set;
	uint64_t prune_next_ms;
	uint64_t prune_passes, prune_deleted;
	uint64_t prune_horizon_ms;  /* the latest created_at pruned */
	/* retention.c: when the node's own purge looks again (mono ms),
	 * where its walk of the referrals goes on, and how many it purged
	 * in this cycle (one data-key rotation at the cycle's end). */
	uint64_t next_purge_check;
	char purge_cursor[72];
	size_t purge_pending;
	/* checkpoint.c: peers sent our chain head in this run (the first
	 * contact: a peer that witnessed more learns of a rollback), and a
	 * rolled-back store found and not yet acknowledged: nothing is sent. */
	char greeted[64][8];
	size_t n_greeted;
	bool rolled_back;
	int rolled_back_next;   /* set in the open turn, applied after its
				 * commit (-1: no change) */
	/* delivery.c */
	bool store_nudge;         /* a write found the store full this turn */
	uint64_t receipts_by_status[12];   /* first receipts, by status */
	uint64_t latency_buckets[DELIVERY_LATENCY_BUCKETS + 1];
	uint64_t latency_count, latency_sum_ms;
	/* quota.c: peers logged as over their store quota (logged once
	 * until they are back under it). held.c: the next held sweep. */
	char quota_over[64][8];
	size_t n_quota_over;
	uint64_t next_held_sweep;
};

/* state_audit: appends an audit event to the open turn (audit.h). */
int state_audit(node_t *n, const char *event, const char *referral_id,
		const uint8_t *msg_id, const char *peer, const char *actor,
		const char *outcome, const char *detail);
/* state_policy: how an envelope from peer to self is judged as of now_ms:
 * this node's limits and replay window, and the directory in force. */
envelope_policy_t state_policy(node_t *n, const char *self, const char *peer,
			       uint64_t now_ms);
/* state_msg_hex: msg_id as 32 hex digits in out; returns out. */
char *state_msg_hex(const uint8_t *id, char out[33]);
/* state_dump: o as indented JSON (malloc'd), o released. */
char *state_dump(json_t *o);
/* state_fail_as: sets rep's code and error to err (already written, and
 * outliving rep) and returns code. */
int state_fail_as(Referral__Local__V1__Reply *rep, int code, char *err);
/* state_is_admin: who holds the admin role here: an admin token, or a
 * local staff id listed in [roles] admins. */
bool state_is_admin(node_t *n, const principal_t *who);
/* state_fail_reply: sets rep's code and error (formatted into buf, which
 * must outlive rep) and returns code. */
int state_fail_reply(Referral__Local__V1__Reply *rep, int code, char *buf,
		     size_t len, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

/* state_str: opts[key] as a string, or "" if absent (an operation's
 * JSON options). */
const char *state_str(json_t *opts, const char *key);

#endif
