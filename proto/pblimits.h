/* pblimits.h: size limits on a decoded protobuf message, whatever its type:
 * every string no longer than max_string bytes, every repeated field no
 * more than max_items long, nesting no deeper than the schema allows (the
 * schemas have no recursive types; the walk stops at depth 8 anyway).
 * Bytes fields (documents) have their own limits: pblimits_check_bytes. */
#ifndef REF_PBLIMITS_H
#define REF_PBLIMITS_H

#include <stddef.h>
#include <protobuf-c/protobuf-c.h>

/* pblimits_check: 0, or REF_E_TOO_LARGE with ret_where naming the field
 * ("applicant.addresses[2]: 5000 bytes, over the limit of 4096"); never
 * the value. */
int pblimits_check(const ProtobufCMessage *m, size_t max_string,
		   size_t max_items, char *ret_where, size_t wlen);

/* pblimits_check_bytes: 0, or REF_E_TOO_LARGE with ret_where naming the
 * field ("documents[1].content: 5000000 bytes, over the limit of 4194304")
 * when one bytes field is longer than max_field, or ("bytes fields: 13000000
 * bytes in all, over the limit of 12582912") when all of them together are
 * longer than max_total. Never the value. */
int pblimits_check_bytes(const ProtobufCMessage *m, size_t max_field,
			 size_t max_total, char *ret_where, size_t wlen);

#endif
