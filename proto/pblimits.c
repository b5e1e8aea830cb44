/* pblimits.c: see pblimits.h. Walks the message through its descriptor,
 * so a field added to a schema is covered without a change here. */
#include <stdio.h>
#include <string.h>

#include "errors.h"
#include "pblimits.h"

static int walk(const ProtobufCMessage *m, size_t max_string, size_t max_items,
		char *path, size_t plen, size_t at, int depth, char *where,
		size_t wlen)
{
	const ProtobufCMessageDescriptor *d = m->descriptor;

	if (depth > 8) {
		snprintf(where, wlen, "%s: nested too deep", at ? path : "message");
		return REF_E_TOO_LARGE;
	}
	for (unsigned i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];
		const char *base = (const char *)m + f->offset;
		size_t n = 1, len;
		int r;

		if (f->type != PROTOBUF_C_TYPE_STRING &&
		    f->type != PROTOBUF_C_TYPE_MESSAGE)
			continue;
		len = (size_t)snprintf(path + at, plen - at, "%s%s",
				       at ? "." : "", f->name);
		if (at + len >= plen)
			len = plen - at - 1;
		if (f->label == PROTOBUF_C_LABEL_REPEATED) {
			n = *(const size_t *)((const char *)m +
					      f->quantifier_offset);
			if (n > max_items) {
				snprintf(where, wlen, "%s: %zu items, over the "
					 "limit of %zu", path, n, max_items);
				return REF_E_TOO_LARGE;
			}
			base = *(const char *const *)base;
		}
		for (size_t k = 0; k < n; k++) {
			size_t el = at + len;
			if (f->label == PROTOBUF_C_LABEL_REPEATED) {
				int w = snprintf(path + el, plen - el, "[%zu]", k);
				if (w > 0 && (size_t)w < plen - el)
					el += (size_t)w;
			}
			if (f->type == PROTOBUF_C_TYPE_STRING) {
				const char *s = f->label == PROTOBUF_C_LABEL_REPEATED
					? ((const char *const *)base)[k]
					: *(const char *const *)base;
				size_t sl = s ? strlen(s) : 0;
				if (sl > max_string) {
					snprintf(where, wlen, "%s: %zu bytes, over "
						 "the limit of %zu", path, sl,
						 max_string);
					return REF_E_TOO_LARGE;
				}
			} else {
				const ProtobufCMessage *sub =
					f->label == PROTOBUF_C_LABEL_REPEATED
					? ((const ProtobufCMessage *const *)base)[k]
					: *(const ProtobufCMessage *const *)base;
				if (sub) {
					r = walk(sub, max_string, max_items, path,
						 plen, el, depth + 1, where, wlen);
					if (r)
						return r;
				}
			}
			path[at + len] = '\0';
		}
		path[at] = '\0';
	}
	return 0;
}

int pblimits_check(const ProtobufCMessage *m, size_t max_string,
		   size_t max_items, char *where, size_t wlen)
{
	char path[256] = "";

	return walk(m, max_string, max_items, path, sizeof(path), 0, 0, where,
		    wlen);
}

/* The bytes fields of m and its sub-messages: the first one over max_field
 * stops the walk; *total adds up the rest. */
static int walk_bytes(const ProtobufCMessage *m, size_t max_field,
		      size_t *total, char *path, size_t plen, size_t at,
		      int depth, char *where, size_t wlen)
{
	const ProtobufCMessageDescriptor *d = m->descriptor;

	if (depth > 8) {
		snprintf(where, wlen, "%s: nested too deep", at ? path : "message");
		return REF_E_TOO_LARGE;
	}
	for (unsigned i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];
		const char *base = (const char *)m + f->offset;
		size_t n = 1, len;
		int r;

		if (f->type != PROTOBUF_C_TYPE_BYTES &&
		    f->type != PROTOBUF_C_TYPE_MESSAGE)
			continue;
		len = (size_t)snprintf(path + at, plen - at, "%s%s",
				       at ? "." : "", f->name);
		if (at + len >= plen)
			len = plen - at - 1;
		if (f->label == PROTOBUF_C_LABEL_REPEATED) {
			n = *(const size_t *)((const char *)m +
					      f->quantifier_offset);
			base = *(const char *const *)base;
		}
		for (size_t k = 0; k < n; k++) {
			size_t el = at + len;
			if (f->label == PROTOBUF_C_LABEL_REPEATED) {
				int w = snprintf(path + el, plen - el, "[%zu]", k);
				if (w > 0 && (size_t)w < plen - el)
					el += (size_t)w;
			}
			if (f->type == PROTOBUF_C_TYPE_BYTES) {
				const ProtobufCBinaryData *b =
					&((const ProtobufCBinaryData *)base)[k];
				if (b->len > max_field) {
					snprintf(where, wlen, "%s: %zu bytes, over "
						 "the limit of %zu", path, b->len,
						 max_field);
					return REF_E_TOO_LARGE;
				}
				*total += b->len;
			} else {
				const ProtobufCMessage *sub =
					f->label == PROTOBUF_C_LABEL_REPEATED
					? ((const ProtobufCMessage *const *)base)[k]
					: *(const ProtobufCMessage *const *)base;
				if (sub) {
					r = walk_bytes(sub, max_field, total, path,
						       plen, el, depth + 1, where,
						       wlen);
					if (r)
						return r;
				}
			}
			path[at + len] = '\0';
		}
		path[at] = '\0';
	}
	return 0;
}

int pblimits_check_bytes(const ProtobufCMessage *m, size_t max_field,
			 size_t max_total, char *where, size_t wlen)
{
	char path[256] = "";
	size_t total = 0;
	int r = walk_bytes(m, max_field, &total, path, sizeof(path), 0, 0,
			   where, wlen);

	if (!r && total > max_total) {
		snprintf(where, wlen, "bytes fields: %zu bytes in all, over the "
			 "limit of %zu", total, max_total);
		r = REF_E_TOO_LARGE;
	}
	return r;
}
