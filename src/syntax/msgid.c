/* msgid.c: msg-id normalisation.  See msgid.h. */
#include "syntax/msgid.h"
#include "mime/lex.h"

/* RFC 5322 specials without ".": what ends a run of atext and dots
 * (8-bit bytes count as atext, RFC 6532 UTF-8). */
#define MSGID_DOT_ATOM_SPECIALS "()<>[]:;@\\,\""

/* A run of dot-atom-text / obs words: atext and ".", with quoted-strings
 * (unquoted into dest) when `quoted` is allowed, CFWS between tokens.
 * Returns the end, having appended at least one byte, or NULL. */
static const char *parse_id_part(const char *s, bool quoted, struct str *dest)
{
	size_t start = dest->len;

	for (;;) {
		mime_lex_skip_cfws(&s, NULL);
		size_t n = mime_lex_span(s, MSGID_DOT_ATOM_SPECIALS);
		if (n > 0) {
			str_append_n(dest, s, n);
			s += n;
		} else if (quoted && *s == '"') {
			for (s++; *s != '"'; s++) {
				if (*s == '\0')
					return NULL;
				if (*s == '\\' && s[1] != '\0')
					s++;
				if (*s != '\r' && *s != '\n')
					str_append_c(dest, *s);
			}
			s++;
		} else {
			break;
		}
	}
	return dest->len > start ? s : NULL;
}

/*   msg-id          = [CFWS] "<" id-left "@" id-right ">" [CFWS]
 *   id-left         = dot-atom-text / obs-id-left
 *   id-right        = dot-atom-text / no-fold-literal / obs-id-right
 *   obs-id-left     = local-part
 *   obs-id-right    = domain
 * `s` is just past "<".  Returns the end (past ">") with the normalised
 * id in dest, or NULL. */
static const char *parse_msgid(const char *s, struct str *dest)
{
	str_truncate(dest, 0);
	str_append_c(dest, '<');
	if ((s = parse_id_part(s, true, dest)) == NULL)
		return NULL;
	mime_lex_skip_cfws(&s, NULL);
	if (*s++ != '@')
		return NULL;
	str_append_c(dest, '@');
	mime_lex_skip_cfws(&s, NULL);
	if (*s == '[') {
		/* domain-literal = [CFWS] "[" *([FWS] dtext) [FWS] "]" [CFWS] */
		str_append_c(dest, *s++);
		for (; *s != ']'; s++) {
			if (*s == '\0' || *s == '[' || *s == '<' || *s == '>')
				return NULL;
			if (*s == '\\' && s[1] != '\0')
				s++;
			if (!mime_lex_is_space((unsigned char)*s))
				str_append_c(dest, *s);
		}
		str_append_c(dest, *s++);
	} else if ((s = parse_id_part(s, false, dest)) == NULL) {
		return NULL;
	}
	mime_lex_skip_cfws(&s, NULL);
	if (*s++ != '>')
		return NULL;
	str_append_c(dest, '>');
	return s;
}

int msgid_next(const char **p, struct str *dest)
{
	const char *s = *p;

	while (*s != '\0') {
		if (*s == '(') {
			mime_lex_skip_cfws(&s, NULL);
		} else if (*s == '"') {
			/* a quoted phrase between ids ("Joe's message") */
			for (s++; *s != '\0' && *s != '"'; s++) {
				if (*s == '\\' && s[1] != '\0')
					s++;
			}
			if (*s == '"')
				s++;
		} else if (*s == '<') {
			const char *end = parse_msgid(s + 1, dest);
			if (end != NULL) {
				*p = end;
				return 1;
			}
			s++;
		} else {
			s++;
		}
	}
	str_truncate(dest, 0);
	*p = s;
	return 0;
}
