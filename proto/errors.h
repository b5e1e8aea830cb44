/* errors.h: the project's error codes, shared by every module and by the
 * public client API.
 *
 * Functions that can fail return int: 0 on success, -errno for failures passed
 * up unchanged, or one of these positive codes for conditions a caller is
 * expected to handle. The values are stable: clients compare against them. */
#ifndef REF_ERRORS_H
#define REF_ERRORS_H

enum {
	REF_E_MALFORMED = 1,      /* input does not parse or breaks the format */
	REF_E_BADSIG,             /* a signature does not verify */
	REF_E_UNKNOWN_KEY,        /* no valid key for that node and key id */
	REF_E_BAD_DIGEST,         /* body does not match its digest */
	REF_E_STALE,              /* outside the replay window */
	REF_E_SENDER_MISMATCH,    /* claimed sender is not the connection's */
	REF_E_NOT_FOR_ME,         /* addressed to another node */
	REF_E_UNSUPPORTED_VERSION,
	REF_E_REFUSED,            /* well-formed, but refused by policy */
	REF_E_DUPLICATE,          /* already applied; nothing changed */
	REF_E_STORE_FULL,         /* the store reached its configured limit */
	REF_E_NOT_FOUND,
	REF_E_CORRUPT,            /* a stored record fails its digest */
	REF_E_INVALID,            /* a request or file has a bad value */
	REF_E_UNKNOWN_NODE,       /* node code not in the directory */
	REF_E_TOO_LARGE,          /* a size limit was exceeded */
	REF_E_CONFIG,             /* configuration is invalid */
	REF_E_KEY_PERMS,          /* a private key file is readable by others */
	REF_E_DIRECTORY,          /* directory missing, unsigned or badly signed */
	REF_E_UNAVAILABLE,        /* the local node did not answer */
	REF_E_ABORTED,            /* a store turn was aborted before its commit */
	REF_E_STORE,              /* the store failed (an LMDB error of its own) */
	REF_E_UNAUTHENTICATED,    /* no token, or one that is unknown, expired or revoked */
	REF_E_FORBIDDEN,          /* the caller's scope does not allow this */
	REF_E_CONFLICT,           /* not possible in the record's present state */
	REF_E__MAX
};

/* These are results, never receipt statuses: a receipt's status
 * (Referral__V1__ReceiptStatus, STORED = 1 ... REFUSED = 11) overlaps their
 * values, so a function that decides a receipt returns one of these (or 0)
 * and gives the status through a separate ret_status output. */

/* ref_strerror: a short English name for r (positive code or -errno).
 * Never NULL; the string is static. Thread-safe. */
const char *ref_strerror(int r);

#endif
