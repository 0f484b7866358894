/* imap-bodystructure.c: IMAP BODY and BODYSTRUCTURE.
 * See imap-bodystructure.h. */
#include "syntax/imap-bodystructure.h"

#include <inttypes.h>
#include <string.h>

#include "syntax/imap-envelope.h"

#define EMPTY_TEXT_PART \
	"(\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" 0 0"

static void write_part(struct str *dest, const struct mime_part *part,
		       bool extended, enum imap_envelope_flags flags);

static void write_empty_text(struct str *dest, bool extended)
{
	str_append(dest, EMPTY_TEXT_PART);
	if (extended)
		str_append(dest, " NIL NIL NIL NIL");
	str_append_c(dest, ')');
}

static bool is_extended_name(const char *name)
{
	size_t len = strlen(name);

	return len > 1 && name[len - 1] == '*';
}

/* A parameter value.  RFC 9051 7.5.2, body parameter parenthesized list:
 * "if the message contains parameters "foo*0*" and "foo*1*", the server
 * should decode them per [RFC2231], convert to UTF-8, concatenate, and
 * return the resulting value as a parameter "foo*"."  The parser has
 * joined the sections already; IMAP4rev2 sessions get the value decoded
 * to UTF-8 (kept encoded when that is impossible: unknown charset, bad
 * escape, NUL).  RFC 3501 has no such rule, and IMAP4rev1 clients that
 * know RFC 2231 decode "charset'lang'%XX" themselves, so they get it as
 * it is (as Dovecot sends it). */
static void write_param_value(struct str *dest, const struct mime_param *param,
			      bool decode_charsets, enum imap_envelope_flags flags)
{
	enum imap_quote_flags quote = imap_envelope_quote_flags(flags);
	if (decode_charsets && (flags & IMAP_ENVELOPE_FLAG_IMAP4REV2) != 0 &&
	    is_extended_name(param->name)) {
		struct str text = STR_INIT;

		if (mime_param_decode_extended(param->value, &text) == 0) {
			imap_quote_string(dest, text.data, text.len, quote);
			str_free(&text);
			return;
		}
		str_free(&text);
	}
	imap_quote_nstring_c(dest, param->value, quote);
}

/* body-fld-param = "(" string SP string *(SP string SP string) ")" / nil
 * decode_charsets: for Content-Type parameters; RFC 9051 asks only for
 * continuations to be joined in disposition parameters. */
static void write_params(struct str *dest, const struct mime_param *params,
			 unsigned int count, bool default_charset,
			 bool decode_charsets, enum imap_envelope_flags flags)
{
	enum imap_quote_flags quote = imap_envelope_quote_flags(flags);
	bool add_charset = default_charset &&
		mime_param_find(params, count, "charset", NULL) == NULL;

	if (count == 0 && !add_charset) {
		str_append(dest, "NIL");
		return;
	}
	str_append_c(dest, '(');
	for (unsigned int i = 0; i < count; i++) {
		if (i > 0)
			str_append_c(dest, ' ');
		imap_quote_nstring_c(dest, params[i].name, quote);
		str_append_c(dest, ' ');
		write_param_value(dest, &params[i], decode_charsets, flags);
	}
	if (add_charset)
		str_append(dest, count > 0 ? " \"CHARSET\" \"US-ASCII\"" :
			   "\"CHARSET\" \"US-ASCII\"");
	str_append_c(dest, ')');
}

/* body-fld-dsp SP body-fld-lang SP body-fld-loc
 * body-fld-dsp  = "(" string SP body-fld-param ")" / nil
 * body-fld-lang = nstring / "(" string *(SP string) ")"
 * body-fld-loc  = nstring */
static void write_ext_common(struct str *dest, const struct mime_part *part,
			     enum imap_envelope_flags flags)
{
	enum imap_quote_flags quote = imap_envelope_quote_flags(flags);
	str_append_c(dest, ' ');
	if (part->disposition == NULL) {
		str_append(dest, "NIL");
	} else {
		str_append_c(dest, '(');
		imap_quote_nstring_c(dest, part->disposition, quote);
		str_append_c(dest, ' ');
		write_params(dest, part->disposition_params,
			     part->disposition_param_count, false, false, flags);
		str_append_c(dest, ')');
	}
	str_append_c(dest, ' ');
	if (part->language_count == 0) {
		str_append(dest, "NIL");
	} else if (part->language_count == 1) {
		imap_quote_nstring_c(dest, part->languages[0], quote);
	} else {
		str_append_c(dest, '(');
		for (unsigned int i = 0; i < part->language_count; i++) {
			if (i > 0)
				str_append_c(dest, ' ');
			imap_quote_nstring_c(dest, part->languages[i], quote);
		}
		str_append_c(dest, ')');
	}
	str_append_c(dest, ' ');
	imap_quote_nstring_c(dest, part->fields[MIME_FIELD_CONTENT_LOCATION],
			     quote);
}

static void write_multipart(struct str *dest, const struct mime_part *part,
			    bool extended, enum imap_envelope_flags flags)
{
	enum imap_quote_flags quote = imap_envelope_quote_flags(flags);
	if (part->children == NULL)
		write_empty_text(dest, extended);
	for (const struct mime_part *c = part->children; c != NULL; c = c->next)
		write_part(dest, c, extended, flags);
	str_append_c(dest, ' ');
	imap_quote_nstring_c(dest, part->subtype, quote);
	if (!extended)
		return;
	str_append_c(dest, ' ');
	write_params(dest, part->params, part->param_count, false, true, flags);
	write_ext_common(dest, part, flags);
}

static void write_single(struct str *dest, const struct mime_part *part,
			 bool extended, enum imap_envelope_flags flags)
{
	enum imap_quote_flags quote = imap_envelope_quote_flags(flags);
	bool text = (part->flags & MIME_PART_FLAG_TEXT) != 0;
	bool message = (part->flags & MIME_PART_FLAG_MESSAGE_RFC822) != 0 &&
		((flags & IMAP_ENVELOPE_FLAG_IMAP4REV2) != 0 ||
		 str_eq_icase(part->subtype, "rfc822"));

	imap_quote_nstring_c(dest, part->type, quote);
	str_append_c(dest, ' ');
	imap_quote_nstring_c(dest, part->subtype, quote);
	str_append_c(dest, ' ');
	write_params(dest, part->params, part->param_count,
		     text || ((part->flags & MIME_PART_FLAG_DEFAULT_TYPE) != 0 &&
			      (part->flags & MIME_PART_FLAG_MESSAGE_RFC822) == 0),
		     true, flags);
	str_append_c(dest, ' ');
	imap_quote_nstring_c(dest, part->fields[MIME_FIELD_CONTENT_ID], quote);
	str_append_c(dest, ' ');
	imap_quote_nstring_c(dest,
			     part->fields[MIME_FIELD_CONTENT_DESCRIPTION],
			     quote);
	str_append_c(dest, ' ');
	imap_quote_nstring_c(dest, part->encoding != NULL ?
			     part->encoding : "7BIT", quote);
	str_printfa(dest, " %" PRIu64, part->body_vsize);
	if (message) {
		str_append_c(dest, ' ');
		if (part->children != NULL) {
			imap_envelope_write(dest, part->children, flags);
			str_append_c(dest, ' ');
			write_part(dest, part->children, extended, flags);
		} else {
			str_append(dest, "(NIL NIL NIL NIL NIL NIL NIL NIL "
				   "NIL NIL) ");
			write_empty_text(dest, extended);
		}
		str_printfa(dest, " %" PRIu64, part->body_lines);
	} else if (text) {
		str_printfa(dest, " %" PRIu64, part->body_lines);
	}
	if (!extended)
		return;
	str_append_c(dest, ' ');
	imap_quote_nstring_c(dest, part->fields[MIME_FIELD_CONTENT_MD5],
			     quote);
	write_ext_common(dest, part, flags);
}

static void write_part(struct str *dest, const struct mime_part *part,
		       bool extended, enum imap_envelope_flags flags)
{
	str_append_c(dest, '(');
	if ((part->flags & MIME_PART_FLAG_MULTIPART) != 0)
		write_multipart(dest, part, extended, flags);
	else
		write_single(dest, part, extended, flags);
	str_append_c(dest, ')');
}

void imap_bodystructure_write(struct str *dest, const struct mime_part *part,
			      bool extended, enum imap_envelope_flags flags)
{
	write_part(dest, part, extended, flags);
}

/* ---- BODY from BODYSTRUCTURE ---- */

/* Lists a written body structure nests at most: a part per MIME level
 * (MIME_PARSER_MAX_DEPTH) and, inside a part, an envelope's address
 * lists or a disposition's parameters.  Deeper input (a corrupt stored
 * copy) is refused before it can exhaust the C stack: the reader
 * recurses once per list. */
#define BS_MAX_NESTING (2 * MIME_PARSER_MAX_DEPTH + 16)

/* A reader of a written body structure: p, up to end; nesting counts the
 * lists open around p. */
struct bs_reader {
	const char *p, *end;
	unsigned int nesting;
};

/* Enters a list whose "(" is at p (steps over it); false when that
 * nests deeper than BS_MAX_NESTING. */
static bool bs_open(struct bs_reader *r)
{
	if (r->nesting >= BS_MAX_NESTING)
		return false;
	r->nesting++;
	r->p++;
	return true;
}

static bool bs_skip(struct bs_reader *r);

/* Steps over the rest of a list, values separated by SP, and its ")",
 * leaving the list bs_open() entered. */
static bool bs_skip_rest(struct bs_reader *r)
{
	while (r->p < r->end && *r->p != ')') {
		if (*r->p == ' ')
			r->p++;
		else if (!bs_skip(r))
			return false;
	}
	if (r->p >= r->end)
		return false;
	r->p++;
	r->nesting--;
	return true;
}

/* Steps over one value (nstring, number, literal or a list of values).
 * false when the input ends first or is not one. */
static bool bs_skip(struct bs_reader *r)
{
	if (r->p >= r->end)
		return false;
	switch (*r->p) {
	case '(':
		return bs_open(r) && bs_skip_rest(r);
	case '"':
		/* quoted = DQUOTE *QUOTED-CHAR DQUOTE, with "\" escapes */
		for (r->p++; r->p < r->end && *r->p != '"'; r->p++) {
			if (*r->p == '\\')
				r->p++;
		}
		if (r->p >= r->end)
			return false;
		r->p++;
		return true;
	case '{': {
		/* literal = "{" number "}" CRLF *CHAR8 */
		uint64_t n = 0;

		for (r->p++; r->p < r->end && *r->p >= '0' && *r->p <= '9'; r->p++) {
			if (n > (uint64_t)(r->end - r->p))
				return false;
			n = n * 10 + (uint64_t)(*r->p - '0');
		}
		if (r->end - r->p < 3 || memcmp(r->p, "}\r\n", 3) != 0 ||
		    n > (uint64_t)(r->end - r->p - 3))
			return false;
		r->p += 3 + n;
		return true;
	}
	case ')':
	case ' ':
		return false;
	default:
		/* NIL or a number */
		while (r->p < r->end && *r->p != ' ' && *r->p != '(' && *r->p != ')')
			r->p++;
		return true;
	}
}

/* Copies one value to dest. */
static bool bs_copy(struct bs_reader *r, struct str *dest)
{
	const char *start = r->p;

	if (!bs_skip(r))
		return false;
	str_append_n(dest, start, (size_t)(r->p - start));
	return true;
}

/* Copies SP if it is next. */
static bool bs_space(struct bs_reader *r, struct str *dest)
{
	if (r->p >= r->end || *r->p != ' ')
		return false;
	r->p++;
	str_append_c(dest, ' ');
	return true;
}

/* Steps over the rest of a part's list (its extension data) and its
 * ")", which it copies. */
static bool bs_close(struct bs_reader *r, struct str *dest)
{
	if (!bs_skip_rest(r))
		return false;
	str_append_c(dest, ')');
	return true;
}

/* body: one part, without extension data.  A multipart's list starts
 * with its parts; a single part's with 7 body-fields values, then an
 * envelope (a list: body-type-msg, then its body and lines), or the
 * lines (a number: body-type-text), or extension data (body-fld-md5 is
 * an nstring, never a list or a number). */
static bool bs_part(struct bs_reader *r, struct str *dest)
{
	if (r->p >= r->end || *r->p != '(' || !bs_open(r))
		return false;
	str_append_c(dest, '(');
	if (r->p < r->end && *r->p == '(') {
		while (r->p < r->end && *r->p == '(') {
			if (!bs_part(r, dest))
				return false;
		}
		return bs_space(r, dest) && bs_copy(r, dest) && bs_close(r, dest);
	}
	for (int i = 0; i < 7; i++) {
		if ((i > 0 && !bs_space(r, dest)) || !bs_copy(r, dest))
			return false;
	}
	if (r->end - r->p >= 2 && r->p[0] == ' ' && r->p[1] == '(') {
		if (!bs_space(r, dest) || !bs_copy(r, dest) || !bs_space(r, dest) ||
		    !bs_part(r, dest) || !bs_space(r, dest) || !bs_copy(r, dest))
			return false;
	} else if (r->end - r->p >= 2 && r->p[0] == ' ' && r->p[1] >= '0' && r->p[1] <= '9') {
		if (!bs_space(r, dest) || !bs_copy(r, dest))
			return false;
	}
	return bs_close(r, dest);
}

int imap_bodystructure_to_body(struct str *dest, const char *src, size_t len)
{
	struct bs_reader r = { src, src + len, 0 };

	return bs_part(&r, dest) && r.p == r.end ? 0 : -1;
}

static bool part_depends_on_rev2(const struct mime_part *p)
{
	if ((p->flags & MIME_PART_FLAG_MESSAGE_RFC822) != 0 &&
	    str_eq_icase(p->subtype, "global"))
		return true;
	for (unsigned int i = 0; i < p->param_count; i++) {
		if (is_extended_name(p->params[i].name))
			return true;
	}
	return false;
}

bool imap_bodystructure_has_global(const struct mime_part *root)
{
	const struct mime_part *p = root;

	/* pre-order walk without recursion */
	while (p != NULL) {
		if (part_depends_on_rev2(p))
			return true;
		if (p->children != NULL) {
			p = p->children;
			continue;
		}
		while (p != root && p->next == NULL)
			p = p->parent;
		p = p == root ? NULL : p->next;
	}
	return false;
}
