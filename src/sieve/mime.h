/* mime.h: the MIME parts of a message as Sieve's mime, foreverypart and
 * extracttext extensions see them (RFC 5703 3, 4, 7).
 *
 * The message is parsed once (mime/parser.h) and its parts are numbered
 * in depth-first order, the order foreverypart walks them: index 0 is the
 * message itself, a part's descendants follow it contiguously.  The
 * interpreter keeps a loop's current part as an index; a replace or
 * enclose gives a new message, which the interpreter parses again.
 *
 * The order of a loop (as Pigeonhole, the reference, walks it): the
 * outermost foreverypart visits every part, the message itself first,
 * then each part depth first (a message/rfc822 part, then the embedded
 * message, then that message's parts); a nested foreverypart visits the
 * descendants of the enclosing loop's current part, not the part itself,
 * and nothing when that part is a leaf (RFC 5703 3).
 *
 * Nothing here knows the interpreter: the header test's comparison is
 * the caller's callback.  The message bytes are borrowed. */
#ifndef ROOST_SIEVE_MIME_H
#define ROOST_SIEVE_MIME_H

#include "base/base.h"
#include "base/str.h"
#include "mime/parser.h"
#include "sieve/fields.h"

struct sieve_mime;

/* Parses data[0..size), which must stay unchanged until
 * sieve_mime_free().  Never fails. */
struct sieve_mime *sieve_mime_parse(const char *data, size_t size);
/* Frees the parse; NULL is a no-op.  Sets *mime to NULL. */
void sieve_mime_free(struct sieve_mime **mime);

/* The number of parts (>= 1: the message itself is part 0). */
size_t sieve_mime_part_count(const struct sieve_mime *mime);
/* Part `index` (< the count), owned by the parse. */
const struct mime_part *sieve_mime_part(const struct sieve_mime *mime, size_t index);
/* The index just past part `index`'s descendants: its subtree is
 * [index, sieve_mime_subtree_end()). */
size_t sieve_mime_subtree_end(const struct sieve_mime *mime, size_t index);

/* foreverypart: a loop over parts, an init/next iterator. */
struct sieve_mime_iter {
	size_t next, end;
};
/* Starts a loop.  `context` is the current part of the nearest
 * enclosing foreverypart, or SIEVE_MIME_TOP for an outermost loop. */
#define SIEVE_MIME_TOP ((size_t)-1)
void sieve_mime_iter_init(const struct sieve_mime *mime, size_t context,
			  struct sieve_mime_iter *iter_r);
/* The next part's index into *index_r and true, or false at the end. */
bool sieve_mime_iter_next(struct sieve_mime_iter *iter, size_t *index_r);

/* The parts ":anychild" looks at (RFC 5703 4.1): the subtree of the
 * current part `context` (itself included), or every part with
 * SIEVE_MIME_TOP, as [*first_r, *end_r). */
void sieve_mime_anychild_range(const struct sieve_mime *mime, size_t context,
			       size_t *first_r, size_t *end_r);

/* The header fields of part `index` (offsets relative to the part's
 * header; pointers into the message).  Free with sieve_fields_free(). */
void sieve_mime_part_header(const struct sieve_mime *mime, size_t index,
			    struct sieve_header *hdr_r);

/* The [MIMEOPTS] of header :mime (RFC 5703 4.1). */
enum sieve_mime_opt {
	SIEVE_MIME_OPT_NONE,		/* the whole value, RFC 2047-decoded */
	SIEVE_MIME_OPT_TYPE,
	SIEVE_MIME_OPT_SUBTYPE,
	SIEVE_MIME_OPT_CONTENTTYPE,
	SIEVE_MIME_OPT_PARAM,
};

/* Called with each string to compare (UTF-8, NUL-terminated); returns
 * true to stop (a match was found and no count is wanted). */
typedef bool sieve_mime_value_fn(void *ctx, const char *value, size_t len);

/* Gives `fn` the strings header :mime compares for one field `name` with
 * the unfolded raw value `value` (RFC 5703 4.1):
 *   NONE         the value, RFC 2047-decoded
 *   TYPE         Content-Type: the type; Content-Disposition: the
 *                disposition type; other fields: ""
 *   SUBTYPE      Content-Type: the subtype; others: ""
 *   CONTENTTYPE  Content-Type: "type/subtype"; Content-Disposition: the
 *                disposition type; others: ""
 *   PARAM        the value of each parameter named in params[0..count)
 *                (case-insensitive; RFC 2231 continuations joined,
 *                decoded from their charset; RFC 2047 words decoded),
 *                one call per parameter found; no call when none is
 * Returns the number that :count (RFC 5231) counts for the field: for
 * TYPE, SUBTYPE and CONTENTTYPE 1 when it is a Content-Type or
 * Content-Disposition that parsed, else 0; for PARAM the parameters
 * found; for NONE 1.  Stops early (the count so far) when fn says so. */
unsigned int sieve_mime_field_values(const char *name, const char *value,
				     enum sieve_mime_opt opt,
				     const char *const *params, size_t param_count,
				     sieve_mime_value_fn *fn, void *ctx);

/* extracttext (RFC 5703 7): appends the text of part `index` to dest,
 * transfer-decoded and converted from its charset to UTF-8 (valid UTF-8,
 * NUL and bad sequences as U+FFFD): at most `first` characters (0: no
 * such limit) and at most `max_bytes` bytes (whole characters).  Nothing
 * is appended for a part that is not a text/... leaf (a multipart, a
 * message, an image...) or whose transfer encoding or charset is
 * unknown ("an empty string will result"). */
void sieve_mime_extract_text(const struct sieve_mime *mime, size_t index,
			     size_t first, size_t max_bytes, struct str *dest);

#endif
