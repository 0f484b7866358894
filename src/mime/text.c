/* text.c: the decoded header and body text of a message for SEARCH.  See
 * text.h for the two documents and their limits.  The part tree is
 * walked in pre-order through parent/next links (no recursion, so the
 * parser's nesting limit costs no C stack here); bodies are read in
 * chunks and decoded as they come. */
#include "mime/text.h"
#include "base/pool.h"
#include "base/utf8.h"
#include "mime/address.h"
#include "mime/charset.h"
#include "mime/header.h"

#include <string.h>
#include <strings.h>

void mime_text_append_utf8(struct str *dest, const char *src, size_t len)
{
	const unsigned char *p = (const unsigned char *)src;
	size_t i = 0, run = 0;

	while (i < len) {
		size_t n = p[i] == 0 ? 0 : p[i] < 0x80 ? 1 : utf8_seq_len(p + i, len - i);

		if (n > 0) {
			i += n;
			continue;
		}
		str_append_n(dest, src + run, i - run);
		str_append(dest, "\xef\xbf\xbd");	/* U+FFFD */
		run = ++i;
	}
	str_append_n(dest, src + run, len - run);
	if (dest->data == NULL)
		str_append(dest, "");
}

/* Cuts dest back to at most limit bytes at a character boundary (dest is
 * valid UTF-8). */
static void truncate_utf8(struct str *dest, size_t limit)
{
	size_t pos = limit;

	if (dest->len <= limit)
		return;
	while (pos > 0 && ((unsigned char)dest->data[pos] & 0xc0) == 0x80)
		pos--;
	str_truncate(dest, pos);
}

/* Appends s[0..len) with CR and LF as SP and the white space at both ends
 * removed. */
static void append_line_text(struct str *dest, const char *s, size_t len)
{
	while (len > 0 && (s[0] == ' ' || s[0] == '\t' || s[0] == '\r' || s[0] == '\n'))
		s++, len--;
	while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t' ||
			   s[len - 1] == '\r' || s[len - 1] == '\n'))
		len--;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];

		str_append_c(dest, c == '\r' || c == '\n' ? ' ' : c);
	}
}

/* The fields whose value is an address list (RFC 5322 sections 3.6.2,
 * 3.6.3 and 3.6.6). */
static bool is_address_field(const char *name, size_t len)
{
	static const char *const names[] = {
		"From", "Sender", "Reply-To", "To", "Cc", "Bcc",
		"Resent-From", "Resent-Sender", "Resent-To", "Resent-Cc", "Resent-Bcc",
	};

	for (size_t i = 0; i < N_ELEMENTS(names); i++) {
		if (strlen(names[i]) == len && strncasecmp(names[i], name, len) == 0)
			return true;
	}
	return false;
}

/* For an address field, the "name: value" LF line of which is all of
 * *clean (the name is name_len bytes): appends a second line of the same
 * name with the addresses of the raw value normalised (see text.h),
 * unless it reads the same as the first. */
static void append_address_line(struct str *clean, size_t name_len, const struct str *raw_value)
{
	struct pool *pool = pool_create(1024);
	struct str norm = { 0 }, line = { 0 }, tmp = { 0 };
	const struct mime_address *list =
		mime_address_parse(pool, raw_value->data == NULL ? "" : raw_value->data);

	mime_address_write_normalised(list, &norm);
	if (norm.len > 0) {
		mime_text_append_utf8(&tmp, norm.data, norm.len);
		append_line_text(&line, tmp.data, tmp.len);
	}
	/* the first line's value: after "name: ", before the LF */
	size_t first_len = clean->len - name_len - 3;
	if (line.len > 0 && (line.len != first_len ||
			     memcmp(line.data, clean->data + name_len + 2, first_len) != 0)) {
		/* "name: " copied first: clean may move as it grows */
		str_truncate(&tmp, 0);
		str_append_n(&tmp, clean->data, name_len + 2);
		str_append_n(&tmp, line.data, line.len);
		str_append_c(&tmp, '\n');
		str_append_n(clean, tmp.data, tmp.len);
	}
	str_free(&tmp);
	str_free(&norm);
	str_free(&line);
	pool_destroy(&pool);
}

void mime_text_header_append(const char *raw, size_t len, struct str *dest, size_t limit)
{
	struct str value = { 0 }, decoded = { 0 }, clean = { 0 };
	size_t pos = 0;

	if (dest->data == NULL)
		str_append(dest, "");
	while (pos < len) {
		size_t start = pos, end = pos;

		/* the field ends at a line end not followed by WSP */
		for (;;) {
			const char *nl = memchr(raw + end, '\n', len - end);

			if (nl == NULL) {
				end = len;
				break;
			}
			end = (size_t)(nl - raw) + 1;
			if (end >= len || (raw[end] != ' ' && raw[end] != '\t'))
				break;
		}
		pos = end;
		size_t line_end = end;
		while (line_end > start && (raw[line_end - 1] == '\n' || raw[line_end - 1] == '\r'))
			line_end--;
		if (line_end == start)
			break;	/* the blank line: end of the header */
		/* the name ends on the field's first line */
		const char *first_nl = memchr(raw + start, '\n', line_end - start);
		size_t first_len = first_nl == NULL ? line_end - start :
			(size_t)(first_nl - (raw + start));
		const char *colon = memchr(raw + start, ':', first_len);
		if (colon == NULL)
			continue;	/* not a field: the parser skips it too */
		size_t name_len = (size_t)(colon - (raw + start));
		while (name_len > 0 && (raw[start + name_len - 1] == ' ' ||
					raw[start + name_len - 1] == '\t'))
			name_len--;
		if (name_len == 0)
			continue;

		/* unfold: the line breaks before WSP go, the WSP stays */
		str_truncate(&value, 0);
		for (const char *p = colon + 1; p < raw + line_end; p++) {
			if (*p != '\r' && *p != '\n')
				str_append_c(&value, *p);
		}
		str_truncate(&decoded, 0);
		mime_header_decode_utf8(value.data == NULL ? "" : value.data, value.len, &decoded);
		str_truncate(&clean, 0);
		mime_text_append_utf8(&clean, raw + start, name_len);
		size_t clean_name_len = clean.len;
		str_append(&clean, ": ");
		struct str tmp = { 0 };
		mime_text_append_utf8(&tmp, decoded.data == NULL ? "" : decoded.data, decoded.len);
		append_line_text(&clean, tmp.data, tmp.len);
		str_free(&tmp);
		str_append_c(&clean, '\n');
		/* a CR in the name would break the line format */
		for (size_t i = 0; i < clean_name_len; i++) {
			if (clean.data[i] == '\r')
				clean.data[i] = ' ';
		}
		if (is_address_field(raw + start, name_len))
			append_address_line(&clean, clean_name_len, &value);
		if (dest->len + clean.len > limit)
			break;
		str_append_n(dest, clean.data, clean.len);
	}
	str_free(&value);
	str_free(&decoded);
	str_free(&clean);
}

bool mime_text_header_has(const char *doc, size_t len, const char *name,
			  const char *needle, size_t needle_len)
{
	size_t name_len = strlen(name), pos = 0;

	while (pos < len) {
		const char *line = doc + pos;
		const char *nl = memchr(line, '\n', len - pos);
		size_t line_len = nl == NULL ? len - pos : (size_t)(nl - line);

		pos += line_len + 1;
		if (line_len < name_len + 2 || line[name_len] != ':' ||
		    strncasecmp(line, name, name_len) != 0 || memchr(line, ':', name_len) != NULL)
			continue;
		if (needle_len == 0)
			return true;
		if (memmem(line + name_len + 2, line_len - name_len - 2, needle, needle_len) != NULL)
			return true;
	}
	return false;
}

/* Reads [offset, offset + size) whole or up to the end; -1 on error. */
static int read_range(struct istream *msg, uint64_t offset, size_t size, struct str *dest)
{
	char buf[MIME_TEXT_READ_SIZE];

	while (size > 0) {
		ssize_t n = istream_pread(msg, buf, ROOST_MIN(size, sizeof(buf)), offset);

		if (n < 0)
			return -1;
		if (n == 0)
			break;
		str_append_n(dest, buf, (size_t)n);
		offset += (uint64_t)n;
		size -= (size_t)n;
	}
	return 0;
}

static int append_header(const struct mime_part *part, struct istream *msg,
			 struct str *dest, size_t limit)
{
	struct str raw = { 0 };
	size_t size = (size_t)ROOST_MIN(part->header_size, (uint64_t)MIME_TEXT_MAX_HEADER);
	int ret = read_range(msg, part->header_offset, size, &raw);

	if (ret == 0)
		mime_text_header_append(raw.data == NULL ? "" : raw.data, raw.len, dest, limit);
	str_free(&raw);
	return ret;
}

int mime_text_part_decode(const struct mime_part *part, struct istream *msg,
			  size_t budget, struct str *dest)
{
	char buf[MIME_TEXT_READ_SIZE];
	struct mime_decoder dec;
	struct str raw = { 0 }, conv = { 0 };
	const struct str *text = &raw;
	uint64_t off = part->body_offset, end = part->body_offset + part->body_size;
	bool extended = false;
	const char *charset = mime_param_find(part->params, part->param_count, "charset",
					      &extended);

	mime_decoder_init(&dec, part->transfer_encoding);
	while (off < end && raw.len < budget) {
		ssize_t n = istream_pread(msg, buf, (size_t)ROOST_MIN((uint64_t)sizeof(buf), end - off), off);
		if (n < 0) {
			str_free(&raw);
			return -1;
		}
		if (n == 0)
			break;
		mime_decoder_feed(&dec, buf, (size_t)n, &raw);
		off += (uint64_t)n;
	}
	mime_decoder_finish(&dec, &raw);
	if (charset != NULL && !extended && !mime_charset_is_utf8(charset) &&
	    mime_charset_to_utf8(charset, raw.data == NULL ? "" : raw.data, raw.len, &conv) == 0)
		text = &conv;
	/* unknown charset: the bytes as they are (made valid UTF-8 below) */
	size_t before = dest->len;
	mime_text_append_utf8(dest, text->data == NULL ? "" : text->data, text->len);
	truncate_utf8(dest, before + budget);
	str_free(&raw);
	str_free(&conv);
	return 0;
}

/* A text leaf: transfer-decoded, converted, appended to body within
 * MIME_TEXT_MAX_BODY. */
static int append_text_part(const struct mime_part *part, struct istream *msg,
			    struct str *body)
{
	if (body->len >= MIME_TEXT_MAX_BODY)
		return 0;
	if (mime_text_part_decode(part, msg, MIME_TEXT_MAX_BODY - body->len, body) < 0)
		return -1;
	if (body->len < MIME_TEXT_MAX_BODY)
		str_append_c(body, '\n');
	return 0;
}

static const struct mime_part *next_part(const struct mime_part *p)
{
	if (p->children != NULL)
		return p->children;
	while (p != NULL) {
		if (p->next != NULL)
			return p->next;
		p = p->parent;
	}
	return NULL;
}

int mime_text_extract(const struct mime_part *root, struct istream *msg,
		      struct str *header, struct str *body)
{
	const unsigned int container = MIME_PART_FLAG_MULTIPART | MIME_PART_FLAG_MESSAGE_RFC822;

	if (header->data == NULL)
		str_append(header, "");
	if (body->data == NULL)
		str_append(body, "");
	for (const struct mime_part *p = root; p != NULL; p = next_part(p)) {
		if (p == root) {
			if (append_header(p, msg, header, MIME_TEXT_MAX_HEADER) < 0)
				return -1;
		} else if ((p->flags & MIME_PART_FLAG_IS_MESSAGE) != 0) {
			if (append_header(p, msg, body, MIME_TEXT_MAX_BODY) < 0)
				return -1;
		}
		if ((p->flags & MIME_PART_FLAG_TEXT) != 0 && (p->flags & container) == 0 &&
		    p->children == NULL) {
			if (append_text_part(p, msg, body) < 0)
				return -1;
		}
	}
	return 0;
}
