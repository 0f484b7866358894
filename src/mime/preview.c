/* preview.c: the RFC 8970 preview text of a message (see preview.h for
 * which part and what is done to it).  The HTML reduction is a small
 * state machine over the decoded text, not an HTML parser: it never
 * builds a tree and uses no memory beyond its output, whatever the
 * markup. */
#include "mime/preview.h"
#include "base/utf8.h"
#include "mime/text.h"

#include <string.h>
#include <strings.h>

/* ---- the part ---- */

static bool part_is_attachment(const struct mime_part *part)
{
	return part->disposition != NULL && strcasecmp(part->disposition, "attachment") == 0;
}

static bool part_is_text(const struct mime_part *part, const char *subtype)
{
	return (part->flags & MIME_PART_FLAG_TEXT) != 0 && part->children == NULL &&
		(part->flags & (MIME_PART_FLAG_MULTIPART | MIME_PART_FLAG_MESSAGE_RFC822)) == 0 &&
		part->subtype != NULL && strcasecmp(part->subtype, subtype) == 0 &&
		!part_is_attachment(part);
}

static bool part_is_candidate(const struct mime_part *part)
{
	return part_is_text(part, "plain") || part_is_text(part, "html");
}

/* The next part in pre-order below root, not descending into
 * message/rfc822 parts (an attached message's text is not this
 * message's, even when it is all the message has). */
static const struct mime_part *next_part(const struct mime_part *root, const struct mime_part *p)
{
	if (p->children != NULL && (p->flags & MIME_PART_FLAG_MESSAGE_RFC822) == 0)
		return p->children;
	while (p != NULL && p != root) {
		if (p->next != NULL)
			return p->next;
		p = p->parent;
	}
	return NULL;
}

/* The part the preview comes from, or NULL. */
static const struct mime_part *preview_part(const struct mime_part *root)
{
	for (const struct mime_part *p = root; p != NULL; p = next_part(root, p)) {
		if (!part_is_candidate(p))
			continue;
		/* in a multipart/alternative, its text/plain alternative */
		const struct mime_part *parent = p->parent;

		if (parent != NULL && parent->subtype != NULL &&
		    strcasecmp(parent->subtype, "alternative") == 0 && !part_is_text(p, "plain")) {
			for (const struct mime_part *c = parent->children; c != NULL; c = c->next) {
				if (part_is_text(c, "plain"))
					return c;
			}
		}
		return p;
	}
	return NULL;
}

/* ---- output with white space normalised ---- */

struct preview_out {
	struct str *dest;
	size_t max_chars;	/* SIZE_MAX: no limit */
	size_t chars;
	bool pending_space;	/* white space seen since the last character */
	bool full;
};

static void out_space(struct preview_out *out)
{
	out->pending_space = true;
}

/* Whether code point c counts as white space (or is a control
 * character, which a preview does not show). */
static bool is_space(uint32_t c)
{
	return c <= 0x20 || (c >= 0x7f && c <= 0xa0) || c == 0x1680 ||
		(c >= 0x2000 && c <= 0x200b) || c == 0x2028 || c == 0x2029 ||
		c == 0x202f || c == 0x205f || c == 0x3000 || c == 0xfeff;
}

static void out_utf8(struct preview_out *out, const char *s, size_t len, uint32_t c)
{
	if (out->full)
		return;
	if (is_space(c)) {
		out_space(out);
		return;
	}
	if (out->pending_space && out->chars > 0) {
		if (out->chars + 1 >= out->max_chars) {
			out->full = true;
			return;
		}
		str_append_c(out->dest, ' ');
		out->chars++;
	}
	out->pending_space = false;
	str_append_n(out->dest, s, len);
	if (++out->chars >= out->max_chars)
		out->full = true;
}

static void out_codepoint(struct preview_out *out, uint32_t c)
{
	char buf[4];
	size_t n;

	if (c == 0 || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		c = 0xfffd;
	n = utf8_encode(c, buf);
	out_utf8(out, buf, n, c);
}

/* The code point of the valid UTF-8 sequence at s (n bytes). */
static uint32_t utf8_decode(const unsigned char *s, size_t n)
{
	static const unsigned char first_mask[] = { 0, 0x7f, 0x1f, 0x0f, 0x07 };
	uint32_t c = s[0] & first_mask[n];

	for (size_t i = 1; i < n; i++)
		c = (c << 6) | (s[i] & 0x3f);
	return c;
}

/* Writes text[0..len) (valid UTF-8, mime_text_part_decode() made it so)
 * character by character. */
static void out_text(struct preview_out *out, const char *text, size_t len)
{
	const unsigned char *p = (const unsigned char *)text;
	size_t i = 0;

	while (i < len && !out->full) {
		size_t n = p[i] < 0x80 ? 1 : utf8_seq_len(p + i, len - i);

		if (n == 0) {
			out_codepoint(out, 0xfffd);
			i++;
			continue;
		}
		out_utf8(out, text + i, n, utf8_decode(p + i, n));
		i += n;
	}
}

/* ---- HTML ---- */

static const struct {
	const char *name;
	uint32_t c;
} html_entities[] = {
	{ "amp", '&' }, { "lt", '<' }, { "gt", '>' }, { "quot", '"' }, { "apos", '\'' },
	{ "nbsp", 0xa0 }, { "copy", 0xa9 }, { "reg", 0xae }, { "trade", 0x2122 },
	{ "hellip", 0x2026 }, { "mdash", 0x2014 }, { "ndash", 0x2013 },
	{ "lsquo", 0x2018 }, { "rsquo", 0x2019 }, { "ldquo", 0x201c }, { "rdquo", 0x201d },
	{ "bull", 0x2022 }, { "middot", 0xb7 }, { "euro", 0x20ac }, { "pound", 0xa3 },
	{ "zwnj", 0x200c }, { "zwj", 0x200d }, { "shy", 0xad },
};

/* A character reference at text[0..len) (text[0] == '&'): the code point
 * and the bytes it takes, or 0 when it is not one (the '&' is text). */
static size_t html_entity(const char *text, size_t len, uint32_t *c_r)
{
	size_t i = 1;

	if (i < len && text[i] == '#') {
		uint32_t c = 0;
		bool hex = i + 1 < len && (text[i + 1] == 'x' || text[i + 1] == 'X');
		size_t digits = 0;

		i += hex ? 2 : 1;
		for (; i < len && digits < 8; i++, digits++) {
			char ch = text[i];
			int v = ch >= '0' && ch <= '9' ? ch - '0' :
				hex && ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 :
				hex && ch >= 'A' && ch <= 'F' ? ch - 'A' + 10 : -1;

			if (v < 0)
				break;
			c = c * (hex ? 16 : 10) + (uint32_t)v;
		}
		if (digits == 0)
			return 0;
		if (i < len && text[i] == ';')
			i++;
		*c_r = c;
		return i;
	}
	size_t name_len = 0;

	while (i + name_len < len && name_len < 8 &&
	       ((text[i + name_len] >= 'a' && text[i + name_len] <= 'z') ||
		(text[i + name_len] >= 'A' && text[i + name_len] <= 'Z')))
		name_len++;
	if (i + name_len >= len || text[i + name_len] != ';')
		return 0;
	for (size_t k = 0; k < N_ELEMENTS(html_entities); k++) {
		if (strlen(html_entities[k].name) == name_len &&
		    strncmp(html_entities[k].name, text + i, name_len) == 0) {
			*c_r = html_entities[k].c;
			return i + name_len + 1;
		}
	}
	return 0;
}

/* The tag name at text[0..len) (after '<' and an optional '/'), its
 * length in *name_len_r. */
static const char *tag_name(const char *text, size_t len, size_t *name_len_r)
{
	size_t n = 0;

	while (n < len && ((text[n] >= 'a' && text[n] <= 'z') || (text[n] >= 'A' && text[n] <= 'Z') ||
			   (text[n] >= '0' && text[n] <= '9')))
		n++;
	*name_len_r = n;
	return text;
}

static bool tag_is(const char *name, size_t len, const char *const *list, size_t count)
{
	for (size_t i = 0; i < count; i++) {
		if (strlen(list[i]) == len && strncasecmp(list[i], name, len) == 0)
			return true;
	}
	return false;
}

/* elements whose content is not text */
static const char *const html_hidden[] = { "head", "script", "style", "title" };
/* elements that start or end a block or a line: white space */
static const char *const html_breaking[] = {
	"address", "article", "aside", "blockquote", "br", "dd", "div", "dl", "dt",
	"footer", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "li", "ol", "p",
	"pre", "section", "table", "td", "th", "tr", "ul",
};

/* The end of the element `name` (its closing tag's '>' + 1) from pos,
 * or len. */
static size_t html_skip_element(const char *text, size_t len, size_t pos, const char *name,
				size_t name_len)
{
	while (pos < len) {
		const char *lt = memchr(text + pos, '<', len - pos);

		if (lt == NULL)
			return len;
		pos = (size_t)(lt - text) + 1;
		if (pos + 1 + name_len <= len && text[pos] == '/' &&
		    strncasecmp(text + pos + 1, name, name_len) == 0) {
			const char *gt = memchr(text + pos, '>', len - pos);

			return gt == NULL ? len : (size_t)(gt - text) + 1;
		}
	}
	return len;
}

static void html_to_preview(struct preview_out *out, const char *text, size_t len)
{
	size_t i = 0, run = 0;

	while (i < len && !out->full) {
		char ch = text[i];

		if (ch != '<' && ch != '&') {
			i++;
			continue;
		}
		out_text(out, text + run, i - run);
		if (ch == '&') {
			uint32_t c;
			size_t n = html_entity(text + i, len - i, &c);

			if (n == 0) {
				out_codepoint(out, '&');
				i++;
			} else {
				out_codepoint(out, c);
				i += n;
			}
			run = i;
			continue;
		}
		/* a comment, a declaration, or a tag */
		if (len - i >= 4 && memcmp(text + i, "<!--", 4) == 0) {
			const char *end = memmem(text + i + 4, len - i - 4, "-->", 3);

			i = end == NULL ? len : (size_t)(end - text) + 3;
		} else {
			bool closing = i + 1 < len && text[i + 1] == '/';
			size_t name_len, start = i + (closing ? 2 : 1);
			const char *name = tag_name(text + start, len - start, &name_len);
			const char *gt;

			if (name_len == 0 && !(start < len && text[start] == '!')) {
				/* "a < b": not a tag */
				out_codepoint(out, '<');
				run = ++i;
				continue;
			}
			gt = memchr(text + i, '>', len - i);
			i = gt == NULL ? len : (size_t)(gt - text) + 1;
			if (!closing && tag_is(name, name_len, html_hidden, N_ELEMENTS(html_hidden)))
				i = html_skip_element(text, len, i, name, name_len);
			else if (tag_is(name, name_len, html_breaking, N_ELEMENTS(html_breaking)))
				out_space(out);
		}
		run = i;
	}
	if (!out->full)
		out_text(out, text + run, len - run);
}

void mime_preview_from_text(const char *text, size_t len, bool is_html, struct str *dest)
{
	struct preview_out out = { .dest = dest, .max_chars = MIME_PREVIEW_MAX_CHARS };

	str_truncate(dest, 0);
	str_append(dest, "");
	if (is_html)
		html_to_preview(&out, text, len);
	else
		out_text(&out, text, len);
}

void mime_preview_html_text(const char *text, size_t len, struct str *dest)
{
	struct preview_out out = { .dest = dest, .max_chars = SIZE_MAX };

	str_append(dest, "");
	html_to_preview(&out, text, len);
}

int mime_preview_extract(const struct mime_part *root, struct istream *msg,
			 struct str *dest)
{
	const struct mime_part *part = preview_part(root);
	struct str text = { 0 };
	int ret = 0;

	if (part != NULL)
		ret = mime_text_part_decode(part, msg, MIME_PREVIEW_READ_MAX, &text);
	if (ret < 0)
		str_truncate(&text, 0);
	mime_preview_from_text(text.data == NULL ? "" : text.data, text.len,
			       part != NULL && part_is_text(part, "html"), dest);
	str_free(&text);
	return ret;
}
