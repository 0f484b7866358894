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
