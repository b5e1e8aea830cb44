/* pblimits.c: see pblimits.h. Walks the message through its descriptor,
 * so a field added to a schema is covered without a change here. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "errors.h"
#include "pblimits.h"

/* What one walk checks: the strings and list lengths (pblimits_check), or
 * the bytes fields, added up (pblimits_check_bytes). */
typedef struct {
	ProtobufCType leaf;  /* PROTOBUF_C_TYPE_STRING or _BYTES */
	size_t max_leaf;     /* one leaf's bytes */
	size_t max_items;    /* a repeated field's length */
	size_t total;        /* every leaf's bytes, added up */
	char path[256];      /* the field being looked at */
	char *where;
	size_t wlen;
} limits_t;

/* The fields of m of lim's leaf type and its sub-messages; path[0, at) is
 * m's own place. The first leaf or list over its limit stops the walk. */
static int walk(const ProtobufCMessage *m, limits_t *lim, size_t at,
		int depth)
{
	const ProtobufCMessageDescriptor *d = m->descriptor;
	char *path = lim->path;
	const size_t plen = sizeof(lim->path);

	if (depth > 8) {
		snprintf(lim->where, lim->wlen, "%s: nested too deep",
			 at ? path : "message");
		return REF_E_TOO_LARGE;
	}
	for (unsigned i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];
		const char *base = (const char *)m + f->offset;
		bool repeated = f->label == PROTOBUF_C_LABEL_REPEATED;
		size_t n = 1, len;
		int r;

		if (f->type != lim->leaf && f->type != PROTOBUF_C_TYPE_MESSAGE)
			continue;
		len = (size_t)snprintf(path + at, plen - at, "%s%s",
				       at ? "." : "", f->name);
		if (at + len >= plen)
			len = plen - at - 1;
		if (repeated) {
			n = *(const size_t *)((const char *)m +
					      f->quantifier_offset);
			if (n > lim->max_items) {
				snprintf(lim->where, lim->wlen, "%s: %zu items, "
					 "over the limit of %zu", path, n,
					 lim->max_items);
				return REF_E_TOO_LARGE;
			}
			base = *(const char *const *)base;
		}
		for (size_t k = 0; k < n; k++) {
			size_t el = at + len, sl;

			if (repeated) {
				int w = snprintf(path + el, plen - el, "[%zu]", k);
				if (w > 0 && (size_t)w < plen - el)
					el += (size_t)w;
			}
			if (f->type == PROTOBUF_C_TYPE_MESSAGE) {
				const ProtobufCMessage *sub = repeated
					? ((const ProtobufCMessage *const *)base)[k]
					: *(const ProtobufCMessage *const *)base;
				if (sub) {
					r = walk(sub, lim, el, depth + 1);
					if (r)
						return r;
				}
				path[at + len] = '\0';
				continue;
			}
			if (f->type == PROTOBUF_C_TYPE_BYTES) {
				sl = ((const ProtobufCBinaryData *)base)[k].len;
			} else {
				const char *str = repeated
					? ((const char *const *)base)[k]
					: *(const char *const *)base;
				sl = str ? strlen(str) : 0;
			}
			if (sl > lim->max_leaf) {
				snprintf(lim->where, lim->wlen, "%s: %zu bytes, over "
					 "the limit of %zu", path, sl, lim->max_leaf);
				return REF_E_TOO_LARGE;
			}
			lim->total += sl;
			path[at + len] = '\0';
		}
		path[at] = '\0';
	}
	return 0;
}

int pblimits_check(const ProtobufCMessage *m, size_t max_string,
		   size_t max_items, char *where, size_t wlen)
{
	limits_t lim = { PROTOBUF_C_TYPE_STRING, max_string, max_items, 0, "",
			 where, wlen };

	return walk(m, &lim, 0, 0);
}

int pblimits_check_bytes(const ProtobufCMessage *m, size_t max_field,
			 size_t max_total, char *where, size_t wlen)
{
	/* Lists are pblimits_check's to bound: no count is checked here. */
	limits_t lim = { PROTOBUF_C_TYPE_BYTES, max_field, SIZE_MAX, 0, "",
			 where, wlen };
	int r = walk(m, &lim, 0, 0);

	if (!r && lim.total > max_total) {
		snprintf(where, wlen, "bytes fields: %zu bytes in all, over the "
			 "limit of %zu", lim.total, max_total);
		r = REF_E_TOO_LARGE;
	}
	return r;
}
