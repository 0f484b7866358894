/* header.h: the values of MIME header fields.
 *
 * Content-Type and Content-Disposition with their parameters (RFC 2045
 * section 5.1, RFC 2183, RFC 2231 continuations and charsets),
 * Content-Transfer-Encoding tokens, Content-Language lists (RFC 3282),
 * and RFC 2047 encoded words in unstructured text.  Input values are
 * unfolded and NUL-terminated, as the parser keeps them; everything is
 * tolerant of broken mail and never fails on bad bytes.  Nothing here
 * knows IMAP or storage. */
#ifndef ROOST_MIME_HEADER_H
#define ROOST_MIME_HEADER_H

#include "base/base.h"
#include "base/pool.h"
#include "base/str.h"

/* Content parameters beyond this count are ignored (per field). */
#define MIME_HEADER_MAX_PARAMS 128

struct mime_param {
	/* The attribute as it appears; for an RFC 2231 value whose first
	 * section was extended ("name*" or "name*0*") the name ends in "*"
	 * and the value is "charset'language'%XX..." with the sections
	 * joined (Dovecot's practice, so clients that know RFC 2231 can
	 * decode it).  Continuations "name*N" are joined in N order. */
	const char *name;
	const char *value;
};

/* Appends the text of an unstructured field value with RFC 2047 encoded
 * words decoded to UTF-8.  B and Q encodings; white space between two
 * adjacent encoded words is dropped; adjacent words in the same charset
 * are converted together (a character may be split between them); a word
 * whose charset iconv does not know is kept as it was, raw; CR and LF
 * (folding) are dropped.  Other bytes are copied as they are. */
void mime_header_decode_utf8(const char *value, size_t len, struct str *dest);

/* content := "Content-Type" ":" type "/" subtype *(";" parameter)
 * Parses a Content-Type value into pool memory.  Returns 0, or -1 when
 * type or subtype is missing or not a token (the caller then uses the
 * RFC 2045 default); the outputs are unset after -1.  Comments are
 * skipped; type and subtype are returned as they appear. */
int mime_header_parse_content_type(struct pool *pool, const char *value,
				   const char **type_r, const char **subtype_r,
				   struct mime_param **params_r,
				   unsigned int *count_r);

/* disposition := "Content-Disposition" ":" disposition-type
 *                *(";" disposition-parm)
 * As above for Content-Disposition.  Returns -1 when there is no type
 * token. */
int mime_header_parse_disposition(struct pool *pool, const char *value,
				  const char **type_r,
				  struct mime_param **params_r,
				  unsigned int *count_r);

/* Parses *(";" parameter) starting at p (leading white space and
 * comments allowed), joining RFC 2231 continuations.  Tolerant: a value
 * that is neither a token nor a quoted string runs to the next ";"; a
 * parameter without "=" is skipped.  Never fails; *count_r may be 0
 * (then *params_r is NULL). */
void mime_header_parse_params(struct pool *pool, const char *p,
			      struct mime_param **params_r,
			      unsigned int *count_r);

/* The first token of a value with comments and white space skipped
 * (Content-Transfer-Encoding), allocated from pool; NULL if none. */
const char *mime_header_parse_token(struct pool *pool, const char *value);

/* Content-Language := Language-List = Language-Tag [CFWS]
 *                     *("," [CFWS] Language-Tag [CFWS])
 * Returns the tags (as they appear) in a pool array; count 0 and NULL
 * when there are none. */
void mime_header_parse_language(struct pool *pool, const char *value,
				const char ***tags_r, unsigned int *count_r);

/* Finds the first parameter named `name` (case-insensitive; the RFC 2231
 * "name*" form matches too).  Returns its value or NULL; *extended_r (if
 * not NULL) says whether the value is in the "charset'lang'%XX" form. */
const char *mime_param_find(const struct mime_param *params,
			    unsigned int count, const char *name,
			    bool *extended_r);

/* Decodes an RFC 2231 extended value as kept in struct mime_param
 * ("charset'language'%XX...", sections joined): percent-decoded and
 * converted to UTF-8 (the language is dropped).  Appends the text to dest
 * and returns 0; returns -1 with dest unchanged when the value has no
 * charset'language' prefix, a bad %-escape, a charset iconv does not
 * know (an empty one is US-ASCII), or when the text would have a NUL or
 * not be valid UTF-8 (8-bit bytes in a US-ASCII value). */
int mime_param_decode_extended(const char *value, struct str *dest);

/* Appends the UTF-8 value of parameter `name`: an RFC 2231 extended
 * value is percent-decoded and converted from its charset (kept raw when
 * the charset is unknown); a plain value has RFC 2047 encoded words
 * decoded (what many mailers send for file names).  Returns 0, or -1 when
 * there is no such parameter (dest unchanged). */
int mime_param_get_utf8(const struct mime_param *params, unsigned int count,
			const char *name, struct str *dest);

#endif
