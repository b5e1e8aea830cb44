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
