/* fields.h: the header fields of a message or MIME part as raw bytes, for
 * the Sieve extensions that read or rewrite them (editheader RFC 5293,
 * mime/replace/enclose RFC 5703, the mailto notification RFC 5436).
 *
 * A header here is the bytes from a given offset up to the first empty
 * line (LF or CRLF), or to the end of the data when there is none.  A
 * field is a line with a ":" and the continuation lines (starting with
 * SP or HTAB) that follow it; a line without ":" is not a field and is
 * kept as it is by rewriters (as mime/parser.h skips it).  Nothing here
 * knows the interpreter: it takes bytes and gives offsets into them. */
#ifndef ROOST_SIEVE_FIELDS_H
#define ROOST_SIEVE_FIELDS_H

#include "base/base.h"
#include "base/str.h"

/* Longest line a field writer produces before a break is forced
 * (RFC 5322 2.1.1: SHOULD NOT exceed 78, MUST NOT exceed 998). */
#define SIEVE_FIELDS_FOLD_WIDTH 76

struct sieve_raw_field {
	const char *name;	/* points into the data; not NUL-terminated */
	size_t name_len;	/* without white space before the ":" */
	const char *value;	/* after the ":", up to the final line break */
	size_t value_len;	/* folded lines included, raw */
	size_t start, end;	/* the field's bytes: [start, end), line break(s) included */
};

struct sieve_header {
	struct sieve_raw_field *fields;	/* malloc'd, in order */
	size_t count;
	/* offset where a field added last goes: after the last header
	 * line, before the empty line (or the end of the data) */
	size_t end;
	/* offset of the body: after the empty line; equals the size of the
	 * data when there is no empty line */
	size_t body;
	/* the data's first line break is CRLF (new lines are written so) */
	bool crlf;
	/* the last header line has no line break (the data ends inside it) */
	bool unterminated;
};

/* Splits the header of data[0..size) into fields.  Never fails; a
 * header without fields gives count 0.  Free with sieve_fields_free(). */
void sieve_fields_parse(const char *data, size_t size, struct sieve_header *hdr_r);
/* Frees the field array; the struct may be parsed into again. */
void sieve_fields_free(struct sieve_header *hdr);

/* Whether the field's name is `name`, ASCII case-insensitively. */
bool sieve_fields_name_is(const struct sieve_raw_field *field, const char *name);

/* Appends the field's value unfolded (CR and LF removed) and with the
 * leading and trailing white space removed, raw (RFC 2047 words kept). */
void sieve_fields_value(const struct sieve_raw_field *field, struct str *dest);

/* Appends the field's value as Sieve's "header" test sees it (RFC 5228
 * 5.7 and 2.7.2): unfolded, trimmed and RFC 2047-decoded to UTF-8. */
void sieve_fields_value_utf8(const struct sieve_raw_field *field, struct str *dest);

/* field-name = 1*ftext; ftext = %d33-57 / %d59-126 (RFC 5322 3.6.8).
 * True when `name` is one. */
bool sieve_fields_name_is_valid(const char *name);

/* Checks a field value a script gives (editheader's addheader value,
 * replace's :subject): any UTF-8 text without NUL, where CR and LF appear
 * only as folding (a line break followed by SP or HTAB).  Returns true
 * when it is acceptable for sieve_fields_write(). */
bool sieve_fields_value_is_valid(const char *value, size_t len);

/* Appends the field "name: value" and its line break (CRLF when `crlf`,
 * else LF) to dest, in the form RFC 5322 wants: the value unfolded, then
 * encoded as RFC 2047 "B" words in UTF-8 if and only if it has a byte
 * that is not printable US-ASCII (RFC 5703 5: "if and only if non-ASCII
 * characters are present") or a word too long to fold, and folded at
 * white space (or between encoded words) so that lines stay within
 * SIEVE_FIELDS_FOLD_WIDTH where the text allows.  The value must have
 * passed sieve_fields_value_is_valid(); the name sieve_fields_name_is_valid(). */
void sieve_fields_write(struct str *dest, const char *name, const char *value,
			size_t value_len, bool crlf);

/* Appends text[0..len) to dest with every line break (CRLF, bare LF or
 * bare CR) written as CRLF when `crlf`, else LF. */
void sieve_fields_append_lines(struct str *dest, const char *text, size_t len, bool crlf);

#endif
