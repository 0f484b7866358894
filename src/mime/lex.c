/* lex.c: white space, comments, quoted strings and tokens of structured
 * header fields.  See lex.h. */
#include "mime/lex.h"

#include <string.h>

bool mime_lex_is_space(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* comment = "(" *([FWS] ccontent) [FWS] ")"
 * ccontent = ctext / quoted-pair / comment */
static void skip_comment(const char **pp, struct str *comment_r)
{
	const char *p = *pp + 1;
	unsigned int level = 1;

	while (*p != '\0') {
		char c = *p;
		if (c == '\\' && p[1] != '\0') {
			if (comment_r != NULL)
				str_append_c(comment_r, p[1]);
			p += 2;
			continue;
		}
		p++;
		if (c == '(') {
			level++;
		} else if (c == ')') {
			if (--level == 0)
				break;
		} else if (c == '\r' || c == '\n') {
			continue;
		}
		if (comment_r != NULL)
			str_append_c(comment_r, c);
	}
	*pp = p;
}

void mime_lex_skip_cfws(const char **pp, struct str *comment_r)
{
	const char *p = *pp;

	for (;;) {
		while (mime_lex_is_space((unsigned char)*p))
			p++;
		if (*p != '(')
			break;
		if (comment_r != NULL && comment_r->len > 0)
			str_append_c(comment_r, ' ');
		skip_comment(&p, comment_r);
	}
	*pp = p;
}

void mime_lex_quoted_string(const char **pp, struct str *dest)
{
	const char *p = *pp + 1;

	while (*p != '\0' && *p != '"') {
		if (*p == '\\' && p[1] != '\0') {
			str_append_c(dest, p[1]);
			p += 2;
		} else {
			if (*p != '\r' && *p != '\n')
				str_append_c(dest, *p);
			p++;
		}
	}
	if (*p == '"')
		p++;
	*pp = p;
}

size_t mime_lex_span(const char *p, const char *specials)
{
	size_t n = 0;

	for (;; n++) {
		unsigned char c = (unsigned char)p[n];
		if (c <= 0x20 || c == 0x7f || strchr(specials, c) != NULL)
			break;
	}
	return n;
}
