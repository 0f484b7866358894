/* mime.c: the parts of a message in foreverypart order, header :mime
 * values and extracttext (RFC 5703).  See mime.h. */
#include "sieve/mime.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/istream.h"
#include "base/pool.h"
#include "base/utf8.h"
#include "mime/charset.h"
#include "mime/header.h"
#include "mime/text.h"

struct sieve_mime {
	const char *data;
	size_t size;
	struct mime_parser *parser;
	const struct mime_part **parts;
	size_t *subtree_end;
	size_t count;
};

struct sieve_mime *sieve_mime_parse(const char *data, size_t size)
{
	struct sieve_mime *mime = xcalloc(1, sizeof(*mime));
	const struct mime_part *p, *root;
	size_t cap = 0;

	mime->data = data;
	mime->size = size;
	root = mime_parser_parse(data, size, &mime->parser);
	/* pre-order through the parent/next links: no recursion */
	for (p = root; p != NULL;) {
		ARRAY_RESERVE(mime->parts, cap, mime->count + 1);
		mime->parts[mime->count++] = p;
		if (p->children != NULL) {
			p = p->children;
			continue;
		}
		while (p != NULL && p != root && p->next == NULL)
			p = p->parent;
		p = p == NULL || p == root ? NULL : p->next;
	}
	mime->subtree_end = xcalloc(mime->count, sizeof(size_t));
	for (size_t i = mime->count; i-- > 0;) {
		size_t j = i + 1;

		while (j < mime->count && mime->parts[j]->depth > mime->parts[i]->depth)
			j = mime->subtree_end[j];
		mime->subtree_end[i] = j;
	}
	return mime;
}

void sieve_mime_free(struct sieve_mime **mime)
{
	if (*mime == NULL)
		return;
	mime_parser_destroy(&(*mime)->parser);
	free((*mime)->parts);
	free((*mime)->subtree_end);
	free(*mime);
	*mime = NULL;
}

size_t sieve_mime_part_count(const struct sieve_mime *mime)
{
	return mime->count;
}

const struct mime_part *sieve_mime_part(const struct sieve_mime *mime, size_t index)
{
	if (index >= mime->count)
		i_panic("sieve_mime_part: index %zu of %zu", index, mime->count);
	return mime->parts[index];
}

size_t sieve_mime_subtree_end(const struct sieve_mime *mime, size_t index)
{
	(void)sieve_mime_part(mime, index);
	return mime->subtree_end[index];
}

void sieve_mime_iter_init(const struct sieve_mime *mime, size_t context,
			  struct sieve_mime_iter *iter_r)
{
	if (context == SIEVE_MIME_TOP) {
		iter_r->next = 0;
		iter_r->end = mime->count;
	} else {
		iter_r->next = context + 1;
		iter_r->end = sieve_mime_subtree_end(mime, context);
	}
}

bool sieve_mime_iter_next(struct sieve_mime_iter *iter, size_t *index_r)
{
	if (iter->next >= iter->end)
		return false;
	*index_r = iter->next++;
	return true;
}

void sieve_mime_anychild_range(const struct sieve_mime *mime, size_t context,
			       size_t *first_r, size_t *end_r)
{
	if (context == SIEVE_MIME_TOP) {
		*first_r = 0;
		*end_r = mime->count;
	} else {
		*first_r = context;
		*end_r = sieve_mime_subtree_end(mime, context);
	}
}

void sieve_mime_part_header(const struct sieve_mime *mime, size_t index,
			    struct sieve_header *hdr_r)
{
	const struct mime_part *part = sieve_mime_part(mime, index);

	sieve_fields_parse(mime->data + part->header_offset, (size_t)part->header_size, hdr_r);
}

/* Calls fn with each parameter named in names[] and returns how many. */
static unsigned int param_values(const struct mime_param *params, unsigned int count,
				 const char *const *names, size_t name_count,
				 sieve_mime_value_fn *fn, void *ctx)
{
	struct str v = STR_INIT;
	unsigned int found = 0;
	bool stop = false;

	for (unsigned int i = 0; i < count && !stop; i++) {
		size_t len = strlen(params[i].name);

		for (size_t n = 0; n < name_count && !stop; n++) {
			size_t nlen = strlen(names[n]);

			if (!(len == nlen || (len == nlen + 1 && params[i].name[nlen] == '*')) ||
			    strncasecmp(params[i].name, names[n], nlen) != 0)
				continue;
			str_truncate(&v, 0);
			if (mime_param_get_utf8(&params[i], 1, names[n], &v) < 0)
				continue;
			found++;
			stop = fn(ctx, str_c(&v), v.len);
		}
	}
	str_free(&v);
	return found;
}

unsigned int sieve_mime_field_values(const char *name, const char *value,
				     enum sieve_mime_opt opt,
				     const char *const *params, size_t param_count,
				     sieve_mime_value_fn *fn, void *ctx)
{
	struct pool *pool = pool_create(0);
	const char *type = NULL, *subtype = NULL;
	struct mime_param *plist = NULL;
	unsigned int pcount = 0, ret = 0;
	bool is_ct = str_eq_icase(name, "Content-Type");
	bool is_cd = str_eq_icase(name, "Content-Disposition");
	bool parsed = false;
	struct str v = STR_INIT;

	if (is_ct)
		parsed = mime_header_parse_content_type(pool, value, &type, &subtype,
							&plist, &pcount) == 0;
	else if (is_cd)
		parsed = mime_header_parse_disposition(pool, value, &type, &plist,
						       &pcount) == 0;
	switch (opt) {
	case SIEVE_MIME_OPT_NONE:
		mime_header_decode_utf8(value, strlen(value), &v);
		fn(ctx, str_c(&v), v.len);
		ret = 1;
		break;
	case SIEVE_MIME_OPT_TYPE:
	case SIEVE_MIME_OPT_SUBTYPE:
	case SIEVE_MIME_OPT_CONTENTTYPE:
		if (parsed && opt == SIEVE_MIME_OPT_TYPE)
			str_append(&v, type);
		else if (parsed && is_ct && opt == SIEVE_MIME_OPT_SUBTYPE)
			str_append(&v, subtype);
		else if (parsed && is_ct)
			str_printfa(&v, "%s/%s", type, subtype);
		else if (parsed && opt == SIEVE_MIME_OPT_CONTENTTYPE)
			str_append(&v, type);
		fn(ctx, str_c(&v), v.len);
		ret = parsed ? 1 : 0;
		break;
	case SIEVE_MIME_OPT_PARAM:
		if (!is_ct && !is_cd) {
			/* any other field: the parameters after its first ";" */
			const char *semi = strchr(value, ';');

			if (semi != NULL)
				mime_header_parse_params(pool, semi, &plist, &pcount);
		}
		ret = param_values(plist, pcount, params, param_count, fn, ctx);
		break;
	}
	str_free(&v);
	pool_destroy(&pool);
	return ret;
}

/* Drops the characters of dest[start..) after the first `n`. */
static void keep_chars(struct str *dest, size_t start, size_t n)
{
	size_t p = start;

	while (p < dest->len && n > 0) {
		size_t c = utf8_seq_len((const unsigned char *)dest->data + p, dest->len - p);

		p += c == 0 ? 1 : c;
		n--;
	}
	str_truncate(dest, p);
}

/* Drops a partial character left at the end of dest by a byte cut. */
static void cut_bytes(struct str *dest, size_t start, size_t max_bytes)
{
	size_t p = start;

	while (p < dest->len) {
		size_t c = utf8_seq_len((const unsigned char *)dest->data + p, dest->len - p);

		c = c == 0 ? 1 : c;
		if (p + c - start > max_bytes)
			break;
		p += c;
	}
	str_truncate(dest, p);
}

void sieve_mime_extract_text(const struct sieve_mime *mime, size_t index,
			     size_t first, size_t max_bytes, struct str *dest)
{
	const struct mime_part *part = sieve_mime_part(mime, index);
	const char *charset;
	struct istream *in;
	bool extended = false;
	size_t start = dest->len, budget = max_bytes;

	if ((part->flags & MIME_PART_FLAG_TEXT) == 0 ||
	    (part->flags & (MIME_PART_FLAG_MULTIPART | MIME_PART_FLAG_MESSAGE_RFC822)) != 0 ||
	    part->transfer_encoding == MIME_ENCODING_UNKNOWN)
		return;
	charset = mime_param_find(part->params, part->param_count, "charset", &extended);
	if (charset != NULL && !mime_charset_is_utf8(charset)) {
		struct str probe = STR_INIT;
		int known = extended ? -1 : mime_charset_to_utf8(charset, "", 0, &probe);

		str_free(&probe);
		if (known < 0)
			return;
	}
	/* a character is at most 4 bytes of UTF-8, and a decoded byte of
	 * another charset becomes at most 4 */
	if (first > 0 && first < budget / 4)
		budget = first * 4;
	in = istream_from_memory(mime->data, mime->size);
	if (mime_text_part_decode(part, in, budget, dest) < 0)
		str_truncate(dest, start);
	istream_destroy(&in);
	if (first > 0)
		keep_chars(dest, start, first);
	cut_bytes(dest, start, max_bytes);
}
