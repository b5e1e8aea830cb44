/* dirsync.h: the directory in force and its updates.
 *
 * The signed directory pins every peer's keys and endpoint. A new version
 * arrives as a DIRECTORY_UPDATE from the authority's node, is published
 * there (refctl directory publish), or is copied in and read on SIGHUP.
 * Each is checked (the authority's signature, the format, this node's own
 * entry, a version above the one in force), installed and recorded in the
 * open turn, and put in force only after that turn has committed. Writes
 * the node's dir, pending_dir and authority. */
#ifndef REF_DIRSYNC_H
#define REF_DIRSYNC_H

#include "state.h"

/* dirsync_open: at start: the authority key, a cut-short update finished,
 * the directory loaded. */
int dirsync_open(node_t *n, char *ret_err, size_t errlen);
void dirsync_free(node_t *n);
/* dirsync_check_self: d lists this node as it is (its keys). */
int dirsync_check_self(node_t *n, const directory_t *d, char *ret_err,
		       size_t errlen);
/* dirsync_version_held: the highest version applied (0 before the first). */
int dirsync_version_held(node_t *n, uint64_t *ret);
/* dirsync_applied: records version as applied (via: how), in the turn. */
int dirsync_applied(node_t *n, uint64_t version, const char *via);
/* dirsync_update: a checked DIRECTORY_UPDATE from peer. 0 with the
 * receipt's status in *ret_status, or a store error or -errno. */
int dirsync_update(node_t *n, const envelope_check_t *c, const char *peer,
		   char *detail, size_t dlen, int *ret_status);
/* dirsync_op_publish: refctl directory publish (the authority's node). */
int dirsync_op_publish(node_t *n, const Referral__Local__V1__Request *req,
		       Referral__Local__V1__Reply *rep, char *err,
		       size_t errlen);
/* dirsync_reload: SIGHUP: the directory file read again, in the turn. */
int dirsync_reload(node_t *n);
/* dirsync_after_commit: the loop's turn ended: a directory applied in it
 * goes in force (committed), or is dropped. */
void dirsync_after_commit(node_t *n, bool committed);
/* dirsync_drop_pending: an event that installed one aborted. */
void dirsync_drop_pending(node_t *n);
/* dirsync_switch: d in force now (peers pinned again). */
void dirsync_switch(node_t *n, directory_t *d);

#endif
