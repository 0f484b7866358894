/* casemap.h (base/): the two collations that IMAP SORT, THREAD and SEARCH use.
 *
 * i;unicode-casemap (RFC 5051) is what RFC 5256 section 7 requires for
 * SORT and THREAD (I18NLEVEL=1, RFC 5255) and what SEARCH uses for its
 * case-insensitive substring match.  i;ascii-casemap (RFC 4790 section
 * 9.2) is the older collation that only folds US-ASCII letters.
 *
 * Both are defined as a "preparation" of each string followed by i;octet
 * (memcmp) equality, ordering and substring.  Callers that compare one
 * string many times (sorting) prepare it once with casemap_unicode() and
 * compare the results with memcmp; the _compare and _contains helpers
 * are for one-off use.
 *
 * Pure functions of their input: no locale (toupper() and strcasecmp()
 * are locale-sensitive, RFC 5051 warns against them), no global state,
 * safe on arbitrary bytes. */
#ifndef ROOST_BASE_CASEMAP_H
#define ROOST_BASE_CASEMAP_H

#include "base/base.h"
#include "base/str.h"

/* i;unicode-casemap preparation (RFC 5051 section 2): appends to `dest`
 * the "titlecased canonicalized UTF-8" form of in[0..len): every code
 * point is replaced by its simple titlecase mapping, then by its full
 * compatibility decomposition (recursively, as UnicodeData.txt gives it,
 * so effectively NFKD without reordering of combining marks, which RFC
 * 5051 section 4 allows either way).  The mapping works code point by
 * code point, so prepare(a + b) == prepare(a) + prepare(b) for valid
 * UTF-8, which keeps substring matching exact.
 *
 * Returns true, or false when `in` is not valid UTF-8 (RFC 3629: overlong
 * forms, surrogates and values above U+10FFFF are invalid): then, per RFC
 * 5051 step (1)(b), `in` is appended unchanged (the string is compared
 * as i;octet).  NUL bytes are ordinary characters. */
bool casemap_unicode(const char *in, size_t len, struct str *dest);

/* i;unicode-casemap ordering: <0, 0 or >0 as a sorts before, equal to or
 * after b.  The empty string sorts before every other string. */
int casemap_unicode_compare(const char *a, size_t a_len,
			    const char *b, size_t b_len);

/* i;unicode-casemap substring: true when `needle` occurs in `haystack`
 * (the empty needle occurs in every string). */
bool casemap_unicode_contains(const char *haystack, size_t haystack_len,
			      const char *needle, size_t needle_len);

/* i;ascii-casemap preparation (RFC 4790 section 9.2.1): appends in[0..len)
 * to `dest` with a-z changed to A-Z; every other byte is kept. */
void casemap_ascii(const char *in, size_t len, struct str *dest);

/* i;ascii-casemap ordering (like casemap_unicode_compare) and substring
 * (like casemap_unicode_contains).  No allocation. */
int casemap_ascii_compare(const char *a, size_t a_len,
			  const char *b, size_t b_len);
bool casemap_ascii_contains(const char *haystack, size_t haystack_len,
			    const char *needle, size_t needle_len);

#endif
