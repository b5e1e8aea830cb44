/* peer.h: the node's sockets to other nodes and what limits them.
 *
 * A lower part of the node: the peer ROUTER (CURVE server, ZAP-checked)
 * and its monitor, one pinned DEALER per peer with its monitor, the rate
 * bucket of each peer ([limits] peer_rate_per_s) and the count of accepted
 * connections ([limits] max_connections). It knows the directory's
 * entries and its own settings, never the node, the store or a message.
 * Writes only peers_t. Not thread-safe: the loop's thread only. */
#ifndef REF_PEER_H
#define REF_PEER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "directory.h"

typedef struct {
	char code[8];
	char endpoint[256];
	char curve[41];
	void *dealer;
	void *mon;          /* the dealer's monitor (PAIR): handshake results */
	uint64_t opened_mono;
	uint64_t hs_failed; /* handshakes failed since the last that worked */
	uint64_t hs_warned_mono;
	bool down;          /* the last send found no connection */
	bool woke;          /* back this turn: its backlog goes next turn */
	uint64_t sent_ms;   /* the last message sent to it (wall clock) */
	/* From send to receipt, smoothed (RFC 6298's estimator): a backlog
	 * queued at the peer makes receipts slow, and a resend timed by it
	 * only adds to the queue. */
	double srtt_ms, rttvar_ms;
	bool rtt_known;
	/* Sends to it numbered in order (send_seq), and of its receipts,
	 * when the last came (monotonic) and the latest send any answered.
	 * One connection delivers in order, so a message sent after that
	 * one, while receipts still come, is waiting in the peer's queue,
	 * not lost. */
	uint64_t send_seq;
	uint64_t receipt_mono;
	uint64_t receipted_seq;
	/* The longest pause between its receipts lately (a busy peer's long
	 * turns), decaying slowly toward the recent ones: a silence shorter
	 * than twice that is the peer at work, not the peer done. */
	uint64_t gap_ms;
} peer_t;

/* Messages taken from one peer: a token bucket (bursts of twice the rate),
 * so one busy or hostile peer cannot starve the loop; what it drops the
 * sender resends. */
typedef struct {
	char code[8];
	double tokens;
	uint64_t at_mono, warned_mono;
	uint64_t dropped;
	uint64_t heard_ms;   /* the last message taken from it (wall clock) */
} bucket_t;

typedef struct {
	int64_t linger_ms, heartbeat_ms, max_message_bytes, max_connections,
		handshake_ms, peer_rate_per_s, peer_in_flight;
	char curve_pub[41], curve_sec[41];
} peers_opts_t;

typedef struct {
	peers_opts_t o;
	void *ctx;
	peer_t *v;
	size_t n;
	bucket_t buckets[64];
	size_t n_buckets;
	void *router;             /* the peer ROUTER */
	void *router_mon;         /* its monitor (PAIR) */
	unsigned router_gen;      /* names each monitor endpoint */
	unsigned peer_mon_gen;    /* names each peer monitor's endpoint */
	int *conns;               /* accepted peer connections (fds) */
	size_t n_conns, cap_conns;
	uint64_t conn_refused, conn_warned_mono;
} peers_t;

void peers_init(peers_t *ps, void *ctx, const peers_opts_t *o);
/* peers_free: closes every socket; safe twice. */
void peers_free(peers_t *ps);
/* peers_close: closes the DEALERs (they are made again by peer_get). */
void peers_close(peers_t *ps);
/* peers_socket_common: linger, heartbeats and the size limit of s. */
void peers_socket_common(const peers_t *ps, void *s);
/* peer_find: the peer already open for code, or NULL (nothing is made). */
peer_t *peer_find(peers_t *ps, const char *code);
/* peer_get: the peer `code` of dir, its DEALER connected (pinned to the
 * CURVE key dir lists); NULL if dir does not list it or it cannot be
 * made. */
peer_t *peer_get(peers_t *ps, const directory_t *dir, const char *code);
/* peer_writable: a message could be queued to p now. */
bool peer_writable(peer_t *p);
/* peer_mark_down: the last send found no room or no connection to p. */
void peer_mark_down(peer_t *p);
/* peer_mark_lost: p's connection dropped (peers_drain_handshakes): down,
 * and what it had in flight is taken as lost. */
void peer_mark_lost(peer_t *p);
/* peer_mark_back: p answers again: its backlog goes from the next turn. */
void peer_mark_back(peer_t *p);
/* peers_link: what is known of the link to code: "up" (connected, the
 * last send went out), "down" (the last send found no connection),
 * "unknown" (nothing sent yet); *ret_last: the last message either way
 * (0: none). */
const char *peers_link(const peers_t *ps, const char *code,
		       uint64_t *ret_last);
/* peer_sent: a message went out to p now; returns the send's number. */
uint64_t peer_sent(peer_t *p);
/* peer_receipted: a receipt came from p for the send numbered seq (0:
 * not known). */
void peer_receipted(peer_t *p, uint64_t seq);
/* peer_working: p still answers (a receipt within the last ms, or within
 * twice its usual longest pause, at most cap_ms) and has answered nothing
 * sent at or after send seq: that message is queued at p, and resending
 * it would only lengthen the queue. */
bool peer_working(const peer_t *p, uint64_t seq, uint64_t ms,
		  uint64_t cap_ms);
/* peer_rtt_sample: a message sent once got its receipt ms after its send. */
void peer_rtt_sample(peer_t *p, uint64_t ms);
/* peer_rto_ms: how long a message sent to p may wait for its receipt
 * before it is sent again (srtt + 4 rttvar); 0 before any sample. */
uint64_t peer_rto_ms(const peer_t *p);
/* peers_new_turn: no peer counts as back "this turn" any more. */
void peers_new_turn(peers_t *ps);
/* peers_router_open: binds the peer ROUTER on listen (and its monitor).
 * On failure ret_err says why. */
int peers_router_open(peers_t *ps, const char *listen, char *ret_err,
		      size_t errlen);
/* peers_router_close: closes it, letting this turn's receipts leave. */
void peers_router_close(peers_t *ps);
/* peers_rate_ok: one message from peer may be taken now. */
bool peers_rate_ok(peers_t *ps, const char *peer);
/* peers_rate_dropped: messages dropped for the rate so far. */
uint64_t peers_rate_dropped(const peers_t *ps);
/* peers_drain_monitor: the ROUTER's monitor: connections over the limit
 * are shut at accept. */
void peers_drain_monitor(peers_t *ps);
/* peers_drain_handshakes: what each DEALER's monitor saw, logged. */
void peers_drain_handshakes(peers_t *ps);

#endif
