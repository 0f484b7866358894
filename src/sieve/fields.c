/* fields.c: header fields as raw bytes, and the writer of new fields
 * (RFC 5322 folding, RFC 2047 encoding).  See fields.h. */
#include "sieve/fields.h"

#include <stdlib.h>
#include <string.h>

#include "base/base64.h"
#include "base/utf8.h"
#include "mime/header.h"

static bool is_wsp(char c)
{
	return c == ' ' || c == '\t';
}

/* The end of the line that starts at p: the offset of its LF, or size. */
static size_t line_end(const char *data, size_t size, size_t p)
{
	const char *lf = memchr(data + p, '\n', size - p);

	return lf == NULL ? size : (size_t)(lf - data);
}

void sieve_fields_parse(const char *data, size_t size, struct sieve_header *hdr_r)
{
	size_t cap = 0, p = 0;
	struct sieve_raw_field *cur = NULL;
	const char *lf = memchr(data, '\n', size);

	memset(hdr_r, 0, sizeof(*hdr_r));
	hdr_r->crlf = lf == NULL || (lf > data && lf[-1] == '\r');
	while (p < size) {
		size_t le = line_end(data, size, p), content_end = le;
		size_t next = le < size ? le + 1 : size;
		const char *colon;

		if (content_end > p && data[content_end - 1] == '\r')
			content_end--;
		if (content_end == p) {
			/* the empty line: the header ends before it */
			hdr_r->end = p;
			hdr_r->body = next;
			return;
		}
		if (is_wsp(data[p]) && cur != NULL) {
			cur->value_len = content_end - (size_t)(cur->value - data);
			cur->end = next;
		} else if ((colon = memchr(data + p, ':', content_end - p)) != NULL &&
			   colon > data + p) {
			size_t name_len = (size_t)(colon - (data + p));

			while (name_len > 0 && is_wsp(data[p + name_len - 1]))
				name_len--;
			ARRAY_RESERVE(hdr_r->fields, cap, hdr_r->count + 1);
			cur = &hdr_r->fields[hdr_r->count++];
			cur->name = data + p;
			cur->name_len = name_len;
			cur->value = colon + 1;
			cur->value_len = content_end - (size_t)(colon + 1 - data);
			cur->start = p;
			cur->end = next;
		} else {
			cur = NULL;
		}
		hdr_r->unterminated = le == size;
		p = next;
	}
	hdr_r->end = size;
	hdr_r->body = size;
}

void sieve_fields_free(struct sieve_header *hdr)
{
	free(hdr->fields);
	hdr->fields = NULL;
	hdr->count = 0;
}

bool sieve_fields_name_is(const struct sieve_raw_field *field, const char *name)
{
	size_t len = strlen(name);

	if (len != field->name_len)
		return false;
	for (size_t i = 0; i < len; i++) {
		char a = field->name[i], b = name[i];

		if (a >= 'A' && a <= 'Z')
			a = (char)(a - 'A' + 'a');
		if (b >= 'A' && b <= 'Z')
			b = (char)(b - 'A' + 'a');
		if (a != b)
			return false;
	}
	return true;
}

void sieve_fields_value(const struct sieve_raw_field *field, struct str *dest)
{
	const char *p = field->value, *end = field->value + field->value_len;
	size_t start = dest->len;

	while (p < end && (is_wsp(*p) || *p == '\r' || *p == '\n'))
		p++;
	for (; p < end; p++) {
		if (*p != '\r' && *p != '\n')
			str_append_c(dest, *p);
	}
	while (dest->len > start && is_wsp(dest->data[dest->len - 1]))
		str_truncate(dest, dest->len - 1);
}

void sieve_fields_value_utf8(const struct sieve_raw_field *field, struct str *dest)
{
	struct str raw = STR_INIT;

	sieve_fields_value(field, &raw);
	mime_header_decode_utf8(str_c(&raw), raw.len, dest);
	str_free(&raw);
}

bool sieve_fields_name_is_valid(const char *name)
{
	if (*name == '\0')
		return false;
	for (const unsigned char *p = (const unsigned char *)name; *p != '\0'; p++) {
		if (*p < 33 || *p > 126 || *p == ':')
			return false;
	}
	return true;
}

bool sieve_fields_value_is_valid(const char *value, size_t len)
{
	const unsigned char *p = (const unsigned char *)value, *end = p + len;

	while (p < end) {
		if (*p == '\0')
			return false;
		if (*p == '\r' || *p == '\n') {
			/* folding: CRLF (or a lone LF) then SP / HTAB */
			if (*p == '\r') {
				if (p + 1 == end || p[1] != '\n')
					return false;
				p++;
			}
			if (p + 1 == end || (p[1] != ' ' && p[1] != '\t'))
				return false;
			p++;
			continue;
		}
		if (*p >= 0x80) {
			size_t n = utf8_seq_len(p, (size_t)(end - p));

			if (n == 0)
				return false;
			p += n;
			continue;
		}
		p++;
	}
	return true;
}

static void append_break(struct str *dest, bool crlf)
{
	str_append(dest, crlf ? "\r\n" : "\n");
}

/* The bytes one encoded word may hold so that its line, after `prefix`
 * characters, stays within the fold width: "=?UTF-8?B?" and "?=" take 12,
 * each 3 bytes take 4 (and RFC 2047 2 caps a word at 75 characters). */
static size_t word_bytes(size_t prefix)
{
	size_t room = SIEVE_FIELDS_FOLD_WIDTH > prefix + 12 + 12 ?
		SIEVE_FIELDS_FOLD_WIDTH - prefix - 12 : 12;

	return room / 4 * 3;
}

/* Writes the value as "B" encoded words, each on its own line after the
 * first; a chunk never splits a UTF-8 character. */
static void write_encoded(struct str *dest, const char *v, size_t len, size_t name_len,
			  bool crlf)
{
	size_t p = 0;

	while (p < len) {
		size_t n = 0, max = word_bytes(p == 0 ? name_len + 2 : 1);

		while (p + n < len) {
			size_t c = utf8_seq_len((const unsigned char *)v + p + n, len - p - n);

			if (c == 0)
				c = 1;
			if (n > 0 && n + c > max)
				break;
			n += c;
		}
		if (p > 0)
			append_break(dest, crlf);
		str_append(dest, " =?UTF-8?B?");
		base64_encode(v + p, n, dest);
		str_append(dest, "?=");
		p += n;
	}
}

/* Whether the unfolded value must be encoded: a byte that is not
 * printable US-ASCII or white space, or a word so long that no folding
 * keeps its line within RFC 5322's 998 characters. */
static bool needs_encoding(const char *v, size_t len, size_t name_len)
{
	size_t word = 0;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)v[i];

		if (c >= 0x7f || (c < 0x20 && c != '\t'))
			return true;
		word = is_wsp(v[i]) ? 0 : word + 1;
		if (word + name_len + 2 > 998)
			return true;
	}
	return false;
}

void sieve_fields_write(struct str *dest, const char *name, const char *value,
			size_t value_len, bool crlf)
{
	struct str v = STR_INIT;
	size_t name_len = strlen(name), p, line;

	for (size_t i = 0; i < value_len; i++) {
		if (value[i] != '\r' && value[i] != '\n')
			str_append_c(&v, value[i]);
	}
	p = 0;
	while (p < v.len && is_wsp(v.data[p]))
		p++;
	while (v.len > p && is_wsp(v.data[v.len - 1]))
		str_truncate(&v, v.len - 1);
	str_append_n(dest, name, name_len);
	str_append_c(dest, ':');
	if (p == v.len) {
		/* empty value */
	} else if (needs_encoding(v.data + p, v.len - p, name_len)) {
		write_encoded(dest, v.data + p, v.len - p, name_len, crlf);
	} else {
		/* fold before a white space run when the next word would pass
		 * the width; unfolding gives the value back exactly */
		str_append_c(dest, ' ');
		line = name_len + 2;
		while (p < v.len) {
			size_t ws = p, word;

			while (ws < v.len && is_wsp(v.data[ws]))
				ws++;
			word = ws;
			while (word < v.len && !is_wsp(v.data[word]))
				word++;
			if (ws > p && line + (word - p) > SIEVE_FIELDS_FOLD_WIDTH &&
			    line > name_len + 2) {
				append_break(dest, crlf);
				line = 0;
			}
			str_append_n(dest, v.data + p, word - p);
			line += word - p;
			p = word;
		}
	}
	append_break(dest, crlf);
	str_free(&v);
}

void sieve_fields_append_lines(struct str *dest, const char *text, size_t len, bool crlf)
{
	for (size_t i = 0; i < len; i++) {
		if (text[i] == '\r') {
			if (i + 1 < len && text[i + 1] == '\n')
				i++;
			append_break(dest, crlf);
		} else if (text[i] == '\n') {
			append_break(dest, crlf);
		} else {
			str_append_c(dest, text[i]);
		}
	}
}
