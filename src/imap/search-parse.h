/* search-parse.h: the IMAP search-program syntax (RFC 9051 section 9,
 * RFC 3501 section 6.4.4) into a src/search key tree.
 *
 * Shared by SEARCH, SORT and THREAD, which all take a search program, and
 * by the fuzz target.  It reads the mailbox only for the sizes of sequence
 * sets and the keyword table; it never reads a message. */
#ifndef ROOST_IMAP_SEARCH_PARSE_H
#define ROOST_IMAP_SEARCH_PARSE_H

#include "syntax/imap-parser.h"
#include "search/search.h"

struct partial_range;
struct pool;
struct seqset;
struct store_mailbox;

enum imap_search_parse_result {
	IMAP_SEARCH_PARSE_OK = 0,
	/* syntax error: answer BAD with *error_r */
	IMAP_SEARCH_PARSE_BAD = -1,
	/* valid syntax the server refuses (unknown CHARSET, more than 64
	 * HEADER/BODY/TEXT keys): answer NO with *error_r, which starts
	 * with its response code */
	IMAP_SEARCH_PARSE_NO = -2,
};

/* Parses `args` (up to the EOL entry) as
 *   search-program = ["CHARSET" SP charset SP] search-key *(SP search-key)
 *   search-key =/ ( "OLDER" / "YOUNGER" ) SP nz-number   ; RFC 5032
 * into an AND key allocated in `pool`.  With `charset` NULL (SEARCH) the
 * program may begin with CHARSET.  A non-NULL `charset` is the separate,
 * mandatory charset argument of SORT and THREAD, which the caller has
 * taken: a leading CHARSET is then a search key error, and an unknown
 * charset is NO [BADCHARSET] once the rest has parsed (a BAD command stays
 * BAD whatever its charset).  Search strings in
 * another CHARSET are converted to UTF-8 here (iconv, through
 * mime/charset.h), so the keys always hold UTF-8; a string that is not
 * valid text in its charset is BAD.  More than 64 text keys (HEADER,
 * BODY, TEXT, FROM, TO, CC, BCC, SUBJECT, counted as written, duplicates
 * too) is NO [LIMIT], after any BAD or BADCHARSET.  `box` gives the
 * message count and UIDs for sequence sets and the keyword table; NULL
 * stands for an empty mailbox.  `saved_uids` is the SEARCHRES variable that "$" stands for
 * (read during the call only; NULL is the empty sequence).  Error texts
 * are static or in pool. */
enum imap_search_parse_result
imap_search_parse_program(struct pool *pool, struct store_mailbox *box,
			  const struct seqset *saved_uids,
			  const struct imap_arg *args, const char *charset,
			  struct search_key **program_r, const char **error_r);

/* The search-return-opts of SEARCH (RFC 4731, RFC 9051) and SORT (ESORT,
 * RFC 5267 3.1), as bits. */
enum imap_search_return {
	IMAP_SEARCH_RETURN_MIN = 1 << 0,
	IMAP_SEARCH_RETURN_MAX = 1 << 1,
	IMAP_SEARCH_RETURN_COUNT = 1 << 2,
	IMAP_SEARCH_RETURN_ALL = 1 << 3,
	/* SEARCHRES (RFC 5182, RFC 9051 6.4.4.1): keep the result in the
	 * session's search result variable */
	IMAP_SEARCH_RETURN_SAVE = 1 << 4,
	/* PARTIAL (RFC 9394, RFC 5267 4.4): a range of the results, in
	 * the struct partial_range given with the bits */
	IMAP_SEARCH_RETURN_PARTIAL = 1 << 5,
	/* CONTEXT=SEARCH (RFC 5267 4.2, 4.3): the CONTEXT hint (taken and
	 * ignored, as 4.2 allows) and UPDATE */
	IMAP_SEARCH_RETURN_CONTEXT = 1 << 6,
	IMAP_SEARCH_RETURN_UPDATE = 1 << 7,
};
#define IMAP_SEARCH_RETURN_ANSWERS (IMAP_SEARCH_RETURN_MIN | IMAP_SEARCH_RETURN_MAX | \
				    IMAP_SEARCH_RETURN_COUNT | IMAP_SEARCH_RETURN_ALL | \
				    IMAP_SEARCH_RETURN_PARTIAL)

/* search-return-opts = SP "RETURN" SP "(" [search-return-opt
 *                      *(SP search-return-opt)] ")"        (RFC 4466)
 * search-return-opt  = "MIN" / "MAX" / "ALL" / "COUNT" / "SAVE" /
 *                      modifier-partial /                  (RFC 9394)
 *                      modifier-context / modifier-update  (RFC 5267)
 * modifier-partial   = "PARTIAL" SP partial-range
 * modifier-context   = "CONTEXT"
 * modifier-update    = "UPDATE"
 * Parses the list `arg` into *returns_r (enum imap_search_return); SAVE
 * only when `save_allowed`.  PARTIAL fills *partial_r (left alone
 * without it); more than one PARTIAL, or PARTIAL with ALL, is BAD (RFC
 * 9394 3.1: "either one PARTIAL, one ALL, or neither").  "RETURN ()"
 * means ALL (RFC 4731 3.1, RFC 5267 3.3), and so do options that ask
 * for no answer and no SAVE ("RETURN (UPDATE)", "RETURN (CONTEXT)": the
 * client gets the result it will be told the changes of).  0, or -1
 * with a BAD text. */
int imap_search_parse_return(const struct imap_arg *arg, bool save_allowed,
			     unsigned int *returns_r, struct partial_range *partial_r,
			     const char **error_r);

/* Whether Roost can search with `charset` (a CHARSET argument: UTF-8,
 * US-ASCII or a name iconv knows); fills *error_r with the static
 * NO "[BADCHARSET (...)] ..." text when it cannot. */
bool imap_search_charset_ok(const char *charset, const char **error_r);

#endif
