/* header.c: the fields of a raw message header, for the RFC 3834 checks
 * and the composers.  Reads only the bytes it is given; tolerant of LF
 * or CRLF line ends, of NUL bytes and of lines without a colon (skipped,
 * as the mime parser does). */
#include "submit/submit.h"

#include <string.h>
#include <strings.h>

void submit_header_init(struct submit_header_iter *iter, const void *header, size_t len)
{
	iter->p = header;
	iter->end = iter->p + len;
}

/* The end of the line at p (the LF, or end). */
static const char *line_end(const char *p, const char *end)
{
	const char *lf = memchr(p, '\n', (size_t)(end - p));

	return lf != NULL ? lf : end;
}

static bool is_wsp(char c)
{
	return c == ' ' || c == '\t';
}

/* field = field-name ":" unstructured CRLF, continued by lines that start
 * with white space (RFC 5322 2.2.3: unfolding removes the CRLF) */
int submit_header_next(struct submit_header_iter *iter, const char **name_r,
		       size_t *name_len_r, struct str *value)
{
	for (;;) {
		const char *start = iter->p, *end = iter->end, *p, *eol, *colon, *v;
		size_t name_len, first, last;

		str_truncate(value, 0);
		if (start >= end || *start == '\n' ||
		    (*start == '\r' && (start + 1 == end || start[1] == '\n')))
			return 0;	/* the empty line that ends the header */
		eol = line_end(start, end);
		colon = memchr(start, ':', (size_t)(eol - start));
		/* the value: this line after the colon, then each
		 * continuation line */
		v = colon != NULL ? colon + 1 : eol;
		for (;;) {
			const char *stop = eol;

			if (stop > v && stop[-1] == '\r')
				stop--;
			/* a CR alone inside a line is no line end: a space */
			for (const char *q = v; q < stop; q++)
				str_append_c(value, *q == '\r' ? ' ' : *q);
			p = eol < end ? eol + 1 : end;
			if (p >= end || !is_wsp(*p))
				break;
			v = p;
			eol = line_end(p, end);
		}
		iter->p = p;
		if (colon == NULL)
			continue;
		name_len = (size_t)(colon - start);
		while (name_len > 0 && is_wsp(start[name_len - 1]))
			name_len--;
		if (name_len == 0)
			continue;
		*name_r = start;
		*name_len_r = name_len;
		first = 0;
		last = value->len;
		while (first < last && is_wsp(value->data[first]))
			first++;
		while (last > first && is_wsp(value->data[last - 1]))
			last--;
		if (value->len > 0) {
			memmove(value->data, value->data + first, last - first);
			str_truncate(value, last - first);
		}
		return 1;
	}
}

int submit_header_get(const void *header, size_t len, const char *name, struct str *value)
{
	struct submit_header_iter iter;
	const char *fname;
	size_t flen, nlen = strlen(name);

	submit_header_init(&iter, header, len);
	while (submit_header_next(&iter, &fname, &flen, value) > 0) {
		if (flen == nlen && strncasecmp(fname, name, nlen) == 0)
			return 1;
	}
	return 0;
}
