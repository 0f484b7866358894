/* search-parse.c: search-program syntax -> src/search keys (see
 * search-parse.h). */
#include "search-parse.h"
#include "flags.h"
#include "syntax/imap-arg.h"
#include "search-result.h"
#include "base/pool.h"
#include "syntax/seqset.h"
#include "syntax/partial-range.h"
#include "base/str.h"
#include "base/utf8.h"
#include "mime/charset.h"
#include "store/store.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Deepest nesting of NOT, OR and parentheses: keeps the recursion of
 * parsing and evaluation small whatever the client sends. */
#define SEARCH_MAX_DEPTH 100

/* Most HEADER, BODY and TEXT keys (FROM, TO, CC, BCC and SUBJECT are
 * HEADER keys) in one program: each asks the full-text index once and
 * keeps its answer, two UID arrays as long as the mailbox, for the whole
 * search.  More is NO [LIMIT] (RFC 5530); no client needs as many. */
#define SEARCH_MAX_TEXT_KEYS 64

/* Longest CHARSET name we hand to iconv. */
#define SEARCH_CHARSET_MAX 40

/* The BADCHARSET list: a few common charsets, each of which
 * imap_search_charset_ok() accepts (tests/protocol/test_search_keys.py
 * checks every one); iconv knows many more. */
#define SEARCH_BADCHARSET "[BADCHARSET (UTF-8 US-ASCII ISO-8859-1 ISO-8859-15 " \
	"WINDOWS-1252 KOI8-R ISO-2022-JP SHIFT_JIS EUC-JP GB2312 BIG5)]"

struct search_build {
	struct pool *pool;
	struct store_mailbox *box;
	const struct seqset *saved_uids;	/* "$"; NULL = empty */
	/* the CHARSET of the search strings; NULL for UTF-8 */
	const char *charset;
	/* the CHARSET is one Roost cannot search with: the strings are
	 * only parsed (the answer will be NO [BADCHARSET]) */
	bool charset_unknown;
	const char *error;	/* BAD text */
	unsigned int depth;
	unsigned int text_keys;	/* HEADER, BODY and TEXT keys built */
};

static const char *const search_months[] = {
	"Jan", "Feb", "Mar", "Apr", "May", "Jun",
	"Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
};

static bool search_is_utf8(const char *str, size_t len)
{
	for (size_t i = 0; i < len; ) {
		size_t n = utf8_seq_len((const unsigned char *)str + i, len - i);
		if (n == 0)
			return false;
		i += n;
	}
	return true;
}

/* A search string (astring) as UTF-8: converted from the CHARSET of the
 * program, allocated in the pool.  NULL with b->error on a missing
 * string or one that is not valid text in its charset.
 *
 * Invalid text answers BAD, not NO: RFC 9051 6.4.4 keeps NO for "can't
 * search that CHARSET or criteria" (a request the server cannot carry
 * out, BADCHARSET) and BAD for "arguments invalid"; a byte sequence that
 * is not text in the charset the client declared is an invalid argument,
 * and sending it again cannot succeed.  Without CHARSET the strings are
 * UTF-8 (RFC 9051 6.4.4: "IMAP4rev2 servers MUST assume UTF-8"; for a
 * rev1 client US-ASCII, which is a subset).  "CHARSET US-ASCII" with 8-bit
 * bytes is read as UTF-8 when it is valid UTF-8 (Dovecot, too, takes
 * US-ASCII for UTF-8): clients that label every search US-ASCII send their
 * users' non-ASCII text in UTF-8, and refusing it helps no one; other
 * 8-bit bytes are BAD. */
static const char *search_parse_string(struct search_build *b,
				       const struct imap_arg *arg, size_t *len_r)
{
	size_t len;
	const char *str;
	if (!imap_arg_get_astring(arg, &str, &len)) {
		b->error = "Missing or invalid search string.";
		return NULL;
	}
	if (b->charset_unknown) {
		*len_r = len;
		return str;
	}
	if (b->charset == NULL || mime_charset_is_utf8(b->charset)) {
		if (!search_is_utf8(str, len)) {
			b->error = "Search string is not valid UTF-8.";
			return NULL;
		}
		*len_r = len;
		return str;
	}
	struct str utf8 = STR_INIT;
	if (mime_charset_to_utf8(b->charset, str, len, &utf8) < 0)
		i_panic("search charset %s accepted but unknown", b->charset);
	/* mime_charset_to_utf8() turns undecodable bytes into U+FFFD; a
	 * client that wants to find U+FFFD itself sends it in UTF-8 */
	bool invalid = utf8.len > 0 &&
		(memmem(utf8.data, utf8.len, "\xef\xbf\xbd", 3) != NULL ||
		 memchr(utf8.data, '\0', utf8.len) != NULL);
	const char *result = invalid ? NULL :
		p_strndup(b->pool, utf8.len == 0 ? "" : utf8.data, utf8.len);
	*len_r = utf8.len;
	str_free(&utf8);
	if (invalid)
		b->error = p_strdup_printf(b->pool, "Search string is not valid %s.",
					   b->charset);
	return result;
}

/* date = date-text / DQUOTE date-text DQUOTE
 * date-text = date-day "-" date-month "-" date-year
 * date-day = 1*2DIGIT; date-year = 4DIGIT */
static int search_parse_date(const struct imap_arg *arg, int64_t *day_r)
{
	const char *s;
	if (!imap_arg_get_atom(arg, &s) && !imap_arg_get_quoted(arg, &s))
		return -1;
	int mday = 0, digits = 0;
	while (*s >= '0' && *s <= '9' && digits < 2) {
		mday = mday * 10 + (*s++ - '0');
		digits++;
	}
	if (digits == 0 || *s++ != '-' || mday < 1 || mday > 31)
		return -1;
	int month = 0;
	for (int m = 0; m < 12; m++) {
		if (strncasecmp(s, search_months[m], 3) == 0) {
			month = m + 1;
			break;
		}
	}
	if (month == 0 || s[3] != '-')
		return -1;
	s += 4;
	int year = 0;
	/* at most one digit past the 4 allowed: "1777777777" must not
	 * overflow the int on its way to being refused */
	for (digits = 0; *s >= '0' && *s <= '9' && digits <= 4; digits++)
		year = year * 10 + (*s++ - '0');
	if (digits != 4 || *s != '\0')
		return -1;
	*day_r = search_day_from_date(year, month, mday);
	return 0;
}

/* A sequence set (msns or UIDs) as the sorted ranges src/search wants. */
static int search_parse_set(struct search_build *b, const char *str, bool uid,
			    struct search_key *key)
{
	struct seqset set = SEQSET_INIT;
	if (strcmp(str, "$") == 0) {
		/* the saved result is UIDs: "$" and "UID $" are the same
		 * key (RFC 5182 2.2, example 3) */
		uid = true;
		key->type = SEARCH_KEY_UID;
	}
	if (imap_search_result_parse_set(b->box, b->saved_uids, str, uid, &set) < 0) {
		b->error = "Invalid sequence set.";
		return -1;
	}
	size_t n = set.count;
	struct store_uid_range *ranges = p_malloc(b->pool, (n == 0 ? 1 : n) * sizeof(*ranges));
	for (size_t i = 0; i < n; i++) {
		ranges[i].first = set.ranges[i].seq1;
		ranges[i].last = set.ranges[i].seq2;
	}
	seqset_deinit(&set);
	key->ranges = ranges;
	key->range_count = n;
	return 0;
}

/* sequence-set as an atom: true with *set_r = its text. */
static bool search_get_set_atom(const struct imap_arg *arg, const char **set_r)
{
	const char *str;
	if (!imap_arg_get_atom(arg, &str))
		return false;
	char c = str[0];
	if (!((c >= '0' && c <= '9') || c == '*' || c == '$'))
		return false;
	*set_r = str;
	return true;
}

static struct search_key *search_parse_key(struct search_build *b,
					   const struct imap_arg **argp);
static struct search_key *search_parse_key_inner(struct search_build *b,
						 const struct imap_arg **argp);

/* Parses keys until EOL into `parent` (an AND). */
static int search_parse_keys(struct search_build *b, const struct imap_arg *args,
			     struct search_key *parent)
{
	const struct imap_arg *arg = args;
	if (imap_arg_is_eol(arg)) {
		b->error = "Missing search key.";
		return -1;
	}
	while (!imap_arg_is_eol(arg)) {
		struct search_key *key = search_parse_key(b, &arg);
		if (key == NULL)
			return -1;
		search_key_add_child(parent, key);
	}
	return 0;
}

/* search-key (RFC 9051 section 9), one key; advances *argp past it. */
static struct search_key *search_parse_key(struct search_build *b,
					   const struct imap_arg **argp)
{
	if (b->depth >= SEARCH_MAX_DEPTH) {
		b->error = "Search keys nested too deep.";
		return NULL;
	}
	b->depth++;
	struct search_key *key = search_parse_key_inner(b, argp);
	b->depth--;
	return key;
}

/* One search key of the table below.  The handler gets *argp just past
 * the key's name, reads the key's own arguments, advances *argp past
 * them and returns the key, or NULL with b->error set. */
struct search_key_def;
typedef struct search_key *
search_key_parse_func(struct search_build *b, const struct search_key_def *def,
		      const struct imap_arg **argp);

struct search_key_def {
	const char *name;
	search_key_parse_func *parse;
	/* the type of the key made (NOT for UNKEYWORD, which wraps a
	 * KEYWORD key) */
	enum search_key_type type;
	/* flag keys: the flag */
	uint32_t flags;
	/* keys that search one header field: its name */
	const char *field;
};

/* ALL, RECENT and the flag keys: no argument */
static struct search_key *search_parse_bare(struct search_build *b,
					    const struct search_key_def *def,
					    const struct imap_arg **argp)
{
	struct search_key *key = search_key_new(b->pool, def->type);
	key->flags = def->flags;
	return key;
}

/* "NEW": \Recent and not \Seen */
static struct search_key *search_parse_new(struct search_build *b,
					   const struct search_key_def *def,
					   const struct imap_arg **argp)
{
	struct search_key *key = search_key_new(b->pool, SEARCH_KEY_AND);
	search_key_add_child(key, search_key_new(b->pool, SEARCH_KEY_RECENT));
	struct search_key *unseen = search_key_new(b->pool, SEARCH_KEY_FLAGS_UNSET);
	unseen->flags = STORE_FLAG_SEEN;
	search_key_add_child(key, unseen);
	return key;
}

/* "OLD": not \Recent */
static struct search_key *search_parse_old(struct search_build *b,
					   const struct search_key_def *def,
					   const struct imap_arg **argp)
{
	struct search_key *key = search_key_new(b->pool, SEARCH_KEY_NOT);
	search_key_add_child(key, search_key_new(b->pool, SEARCH_KEY_RECENT));
	return key;
}

/* ( "BEFORE" / "ON" / "SINCE" / "SENTBEFORE" / "SENTON" / "SENTSINCE" /
 *   "SAVEDBEFORE" / "SAVEDON" / "SAVEDSINCE" ) SP date */
static struct search_key *search_parse_date_key(struct search_build *b,
						const struct search_key_def *def,
						const struct imap_arg **argp)
{
	struct search_key *key = search_key_new(b->pool, def->type);
	if (search_parse_date(*argp, &key->day) < 0) {
		b->error = "Invalid date (expected d-Mon-yyyy).";
		return NULL;
	}
	(*argp)++;
	return key;
}

/* search-key =/ "EMAILID" SP objectid / "THREADID" SP objectid
 * objectid = 1*255(ALPHA / DIGIT / "_" / "-")          (RFC 8474 7) */
static struct search_key *search_parse_objectid(struct search_build *b,
						const struct search_key_def *def,
						const struct imap_arg **argp)
{
	struct search_key *key = search_key_new(b->pool, def->type);
	const char *id;
	size_t len;

	/* an atom by the ABNF; a quoted one is taken too, as clients that
	 * quote every argument send it */
	if (!imap_arg_get_astring(*argp, &id, &len) || len == 0 || len > 255 ||
	    strspn(id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") != len) {
		b->error = "Invalid object id.";
		return NULL;
	}
	key->value = id;
	key->value_len = len;
	(*argp)++;
	return key;
}

/* "HEADER" SP header-fld-name SP astring */
static struct search_key *search_parse_header(struct search_build *b,
					      const struct search_key_def *def,
					      const struct imap_arg **argp)
{
	const struct imap_arg *arg = *argp;
	struct search_key *key = search_key_new(b->pool, SEARCH_KEY_HEADER);
	size_t name_len;
	if (!imap_arg_get_astring(arg, &key->name, &name_len) || name_len == 0 ||
	    imap_arg_is_eol(&arg[1])) {
		b->error = "HEADER needs a field name and a string.";
		return NULL;
	}
	key->value = search_parse_string(b, &arg[1], &key->value_len);
	if (key->value == NULL)
		return NULL;
	b->text_keys++;
	*argp = arg + 2;
	return key;
}

/* ( "BODY" / "TEXT" ) SP astring, and the keys that search one header
 * field: ( "BCC" / "CC" / "FROM" / "SUBJECT" / "TO" ) SP astring */
static struct search_key *search_parse_text(struct search_build *b,
					    const struct search_key_def *def,
					    const struct imap_arg **argp)
{
	struct search_key *key = search_key_new(b->pool, def->type);
	key->name = def->field;
	key->value = search_parse_string(b, *argp, &key->value_len);
	if (key->value == NULL)
		return NULL;
	b->text_keys++;
	(*argp)++;
	return key;
}

/* ( "KEYWORD" / "UNKEYWORD" ) SP flag-keyword */
static struct search_key *search_parse_keyword(struct search_build *b,
					       const struct search_key_def *def,
					       const struct imap_arg **argp)
{
	const char *name;
	if (!imap_arg_get_atom(*argp, &name) || !imap_flags_is_keyword(name)) {
		b->error = "Invalid keyword.";
		return NULL;
	}
	struct search_key *kw = search_key_new(b->pool, SEARCH_KEY_KEYWORD);
	/* the name too, for a program kept past the command (search-
	 * update.h) that must find a keyword added to the table later */
	kw->name = name;
	/* -1 (not in the mailbox's table) matches nothing */
	unsigned int idx;
	kw->keyword = b->box != NULL &&
		store_mailbox_keyword_index(b->box, name, false, &idx) == 0 ? (int)idx : -1;
	(*argp)++;
	if (def->type == SEARCH_KEY_KEYWORD)
		return kw;
	struct search_key *key = search_key_new(b->pool, SEARCH_KEY_NOT);
	search_key_add_child(key, kw);
	return key;
}

/* ( "LARGER" / "SMALLER" ) SP number64
 * search-key =/ ( "OLDER" / "YOUNGER" ) SP nz-number   (RFC 5032 3) */
static struct search_key *search_parse_number(struct search_build *b,
					      const struct search_key_def *def,
					      const struct imap_arg **argp)
{
	bool age = def->type == SEARCH_KEY_OLDER || def->type == SEARCH_KEY_YOUNGER;
	struct search_key *key = search_key_new(b->pool, def->type);
	const char *number;
	if (!imap_arg_get_atom(*argp, &number) ||
	    str_to_u64(number, age ? UINT32_MAX : INT64_MAX, &key->number) < 0 ||
	    (age && key->number == 0)) {
		b->error = age ? "OLDER and YOUNGER need a number of seconds (1 or more)." :
			"Invalid number.";
		return NULL;
	}
	(*argp)++;
	return key;
}

/* search-key =/ "MODSEQ" [search-modsequence-ext] SP mod-sequence-valzer
 * search-modsequence-ext = SP entry-name SP entry-type-req
 * entry-name = entry-flag-name
 * entry-flag-name = DQUOTE "/flags/" attr-flag DQUOTE
 * entry-type-req = entry-type-resp / "all"
 * entry-type-resp = "priv" / "shared"                    (RFC 7162 7)
 * Roost keeps one modseq per message, so the entry is checked and then
 * ignored, as RFC 7162 3.1.5 says. */
static struct search_key *search_parse_modseq(struct search_build *b,
					      const struct search_key_def *def,
					      const struct imap_arg **argp)
{
	struct search_key *key = search_key_new(b->pool, def->type);
	const char *entry, *type, *number;
	if (imap_arg_get_string(*argp, &entry, NULL) &&
	    !imap_arg_get_atom(*argp, &number)) {
		if (strncasecmp(entry, "/flags/", 7) != 0 || entry[7] == '\0' ||
		    !imap_arg_get_atom(&(*argp)[1], &type) ||
		    (!str_eq_icase(type, "priv") && !str_eq_icase(type, "shared") &&
		     !str_eq_icase(type, "all"))) {
			b->error = "MODSEQ entry must be \"/flags/<flag>\" priv, shared or all.";
			return NULL;
		}
		*argp += 2;
	}
	if (!imap_arg_get_atom(*argp, &number) ||
	    str_to_u64(number, INT64_MAX, &key->number) < 0) {
		b->error = "MODSEQ needs a mod-sequence (0 to 2^63-1).";
		return NULL;
	}
	(*argp)++;
	return key;
}

/* "UID" SP sequence-set */
static struct search_key *search_parse_uid(struct search_build *b,
					   const struct search_key_def *def,
					   const struct imap_arg **argp)
{
	struct search_key *key = search_key_new(b->pool, SEARCH_KEY_UID);
	const char *set;
	if (!search_get_set_atom(*argp, &set)) {
		b->error = "UID needs a sequence set.";
		return NULL;
	}
	if (search_parse_set(b, set, true, key) < 0)
		return NULL;
	(*argp)++;
	return key;
}

/* "NOT" SP search-key */
static struct search_key *search_parse_not(struct search_build *b,
					   const struct search_key_def *def,
					   const struct imap_arg **argp)
{
	if (imap_arg_is_eol(*argp)) {
		b->error = "NOT needs a search key.";
		return NULL;
	}
	struct search_key *child = search_parse_key(b, argp);
	if (child == NULL)
		return NULL;
	struct search_key *key = search_key_new(b->pool, SEARCH_KEY_NOT);
	search_key_add_child(key, child);
	return key;
}

/* "OR" SP search-key SP search-key */
static struct search_key *search_parse_or(struct search_build *b,
					  const struct search_key_def *def,
					  const struct imap_arg **argp)
{
	struct search_key *key = search_key_new(b->pool, SEARCH_KEY_OR);
	for (int i = 0; i < 2; i++) {
		if (imap_arg_is_eol(*argp)) {
			b->error = "OR needs two search keys.";
			return NULL;
		}
		struct search_key *child = search_parse_key(b, argp);
		if (child == NULL)
			return NULL;
		search_key_add_child(key, child);
	}
	return key;
}

/* Every search-key that starts with a keyword (RFC 9051 section 9, RFC
 * 5032), sorted by name (ASCII, as strcasecmp() orders them) for bsearch(). */
static const struct search_key_def search_key_defs[] = {
	{ "ALL", search_parse_bare, SEARCH_KEY_ALL, 0, NULL },
	{ "ANSWERED", search_parse_bare, SEARCH_KEY_FLAGS_SET, STORE_FLAG_ANSWERED, NULL },
	{ "BCC", search_parse_text, SEARCH_KEY_HEADER, 0, "Bcc" },
	{ "BEFORE", search_parse_date_key, SEARCH_KEY_BEFORE, 0, NULL },
	{ "BODY", search_parse_text, SEARCH_KEY_BODY, 0, NULL },
	{ "CC", search_parse_text, SEARCH_KEY_HEADER, 0, "Cc" },
	{ "DELETED", search_parse_bare, SEARCH_KEY_FLAGS_SET, STORE_FLAG_DELETED, NULL },
	{ "DRAFT", search_parse_bare, SEARCH_KEY_FLAGS_SET, STORE_FLAG_DRAFT, NULL },
	{ "EMAILID", search_parse_objectid, SEARCH_KEY_EMAILID, 0, NULL },
	{ "FLAGGED", search_parse_bare, SEARCH_KEY_FLAGS_SET, STORE_FLAG_FLAGGED, NULL },
	{ "FROM", search_parse_text, SEARCH_KEY_HEADER, 0, "From" },
	{ "HEADER", search_parse_header, SEARCH_KEY_HEADER, 0, NULL },
	{ "KEYWORD", search_parse_keyword, SEARCH_KEY_KEYWORD, 0, NULL },
	{ "LARGER", search_parse_number, SEARCH_KEY_LARGER, 0, NULL },
	{ "MODSEQ", search_parse_modseq, SEARCH_KEY_MODSEQ, 0, NULL },
	{ "NEW", search_parse_new, SEARCH_KEY_AND, 0, NULL },
	{ "NOT", search_parse_not, SEARCH_KEY_NOT, 0, NULL },
	{ "OLD", search_parse_old, SEARCH_KEY_NOT, 0, NULL },
	{ "OLDER", search_parse_number, SEARCH_KEY_OLDER, 0, NULL },
	{ "ON", search_parse_date_key, SEARCH_KEY_ON, 0, NULL },
	{ "OR", search_parse_or, SEARCH_KEY_OR, 0, NULL },
	{ "RECENT", search_parse_bare, SEARCH_KEY_RECENT, 0, NULL },
	/* RFC 8514 4.3; every mailbox has save dates, so SAVEDATESUPPORTED
	 * matches every message */
	{ "SAVEDATESUPPORTED", search_parse_bare, SEARCH_KEY_ALL, 0, NULL },
	{ "SAVEDBEFORE", search_parse_date_key, SEARCH_KEY_SAVEDBEFORE, 0, NULL },
	{ "SAVEDON", search_parse_date_key, SEARCH_KEY_SAVEDON, 0, NULL },
	{ "SAVEDSINCE", search_parse_date_key, SEARCH_KEY_SAVEDSINCE, 0, NULL },
	{ "SEEN", search_parse_bare, SEARCH_KEY_FLAGS_SET, STORE_FLAG_SEEN, NULL },
	{ "SENTBEFORE", search_parse_date_key, SEARCH_KEY_SENTBEFORE, 0, NULL },
	{ "SENTON", search_parse_date_key, SEARCH_KEY_SENTON, 0, NULL },
	{ "SENTSINCE", search_parse_date_key, SEARCH_KEY_SENTSINCE, 0, NULL },
	{ "SINCE", search_parse_date_key, SEARCH_KEY_SINCE, 0, NULL },
	{ "SMALLER", search_parse_number, SEARCH_KEY_SMALLER, 0, NULL },
	{ "SUBJECT", search_parse_text, SEARCH_KEY_HEADER, 0, "Subject" },
	{ "TEXT", search_parse_text, SEARCH_KEY_TEXT, 0, NULL },
	{ "THREADID", search_parse_objectid, SEARCH_KEY_THREADID, 0, NULL },
	{ "TO", search_parse_text, SEARCH_KEY_HEADER, 0, "To" },
	{ "UID", search_parse_uid, SEARCH_KEY_UID, 0, NULL },
	{ "UNANSWERED", search_parse_bare, SEARCH_KEY_FLAGS_UNSET, STORE_FLAG_ANSWERED, NULL },
	{ "UNDELETED", search_parse_bare, SEARCH_KEY_FLAGS_UNSET, STORE_FLAG_DELETED, NULL },
	{ "UNDRAFT", search_parse_bare, SEARCH_KEY_FLAGS_UNSET, STORE_FLAG_DRAFT, NULL },
	{ "UNFLAGGED", search_parse_bare, SEARCH_KEY_FLAGS_UNSET, STORE_FLAG_FLAGGED, NULL },
	{ "UNKEYWORD", search_parse_keyword, SEARCH_KEY_NOT, 0, NULL },
	{ "UNSEEN", search_parse_bare, SEARCH_KEY_FLAGS_UNSET, STORE_FLAG_SEEN, NULL },
	{ "YOUNGER", search_parse_number, SEARCH_KEY_YOUNGER, 0, NULL },
};

static int search_key_def_cmp(const void *name, const void *def)
{
	return strcasecmp(name, ((const struct search_key_def *)def)->name);
}

static struct search_key *search_parse_key_inner(struct search_build *b,
						 const struct imap_arg **argp)
{
	const struct imap_arg *arg = *argp, *children;
	const char *name;

	if (imap_arg_get_list(arg, &children, NULL)) {
		/* "(" search-key *(SP search-key) ")" */
		struct search_key *key = search_key_new(b->pool, SEARCH_KEY_AND);
		if (search_parse_keys(b, children, key) < 0)
			return NULL;
		*argp = arg + 1;
		return key;
	}
	if (search_get_set_atom(arg, &name)) {
		/* sequence-set */
		struct search_key *key = search_key_new(b->pool, SEARCH_KEY_MSN);
		if (search_parse_set(b, name, false, key) < 0)
			return NULL;
		*argp = arg + 1;
		return key;
	}
	if (!imap_arg_get_atom(arg, &name)) {
		b->error = "Invalid search key.";
		return NULL;
	}
	const struct search_key_def *def =
		bsearch(name, search_key_defs, N_ELEMENTS(search_key_defs),
			sizeof(search_key_defs[0]), search_key_def_cmp);
	if (def == NULL) {
		b->error = p_strdup_printf(b->pool, "Unknown search key %.40s.", name);
		return NULL;
	}
	*argp = arg + 1;
	return def->parse(b, def, argp);
}

bool imap_search_charset_ok(const char *charset, const char **error_r)
{
	size_t len = strlen(charset);
	/* RFC 2978 names, minus what iconv reads as options ("//IGNORE")
	 * or mime_charset_to_utf8() as a language ("*en") */
	bool name_ok = len > 0 && len <= SEARCH_CHARSET_MAX &&
		strspn(charset, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
		       "0123456789-_.:+") == len;
	if (name_ok) {
		/* one that iconv knows and that writes ASCII as ASCII: search
		 * strings are astrings, without NUL, so UTF-16 and the like
		 * could carry nothing */
		struct str probe = STR_INIT;
		int ret = mime_charset_to_utf8(charset, "a", 1, &probe);
		bool ascii = ret == 0 && probe.len == 1 && probe.data[0] == 'a';
		str_free(&probe);
		if (ascii)
			return true;
	}
	*error_r = SEARCH_BADCHARSET " Unsupported charset.";
	return false;
}

enum imap_search_parse_result
imap_search_parse_program(struct pool *pool, struct store_mailbox *box,
			  const struct seqset *saved_uids,
			  const struct imap_arg *args, const char *charset,
			  struct search_key **program_r, const char **error_r)
{
	struct search_build b = { .pool = pool, .box = box, .saved_uids = saved_uids };
	const char *charset_error = NULL;

	/* A BAD command stays BAD whatever its charset (and a SEARCH
	 * RETURN (SAVE) answered BAD must keep the saved result, RFC 9051
	 * 6.4.4.1), so an unknown charset is reported after the syntax. */
	if (charset == NULL && imap_arg_atom_equals(&args[0], "CHARSET")) {
		size_t len;
		const char *name;
		if (!imap_arg_get_astring(&args[1], &name, &len)) {
			*error_r = "CHARSET needs a name.";
			return IMAP_SEARCH_PARSE_BAD;
		}
		charset = p_strndup(pool, name, len);
		args += 2;
	}
	if (charset != NULL) {
		if (imap_search_charset_ok(charset, &charset_error))
			b.charset = charset;
		else
			b.charset_unknown = true;
	}
	*program_r = search_key_new(pool, SEARCH_KEY_AND);
	if (search_parse_keys(&b, args, *program_r) < 0) {
		*error_r = b.error;
		return IMAP_SEARCH_PARSE_BAD;
	}
	if (charset_error != NULL) {
		*error_r = charset_error;
		return IMAP_SEARCH_PARSE_NO;
	}
	if (b.text_keys > SEARCH_MAX_TEXT_KEYS) {
		*error_r = "[LIMIT] Too many text search keys.";
		return IMAP_SEARCH_PARSE_NO;
	}
	return IMAP_SEARCH_PARSE_OK;
}

int imap_search_parse_return(const struct imap_arg *arg, bool save_allowed,
			     unsigned int *returns_r, struct partial_range *partial_r,
			     const char **error_r)
{
	static const struct imap_keyword opts[] = {
		{ "MIN", IMAP_SEARCH_RETURN_MIN }, { "MAX", IMAP_SEARCH_RETURN_MAX },
		{ "COUNT", IMAP_SEARCH_RETURN_COUNT }, { "ALL", IMAP_SEARCH_RETURN_ALL },
		{ "SAVE", IMAP_SEARCH_RETURN_SAVE },
		{ "PARTIAL", IMAP_SEARCH_RETURN_PARTIAL },
		{ "CONTEXT", IMAP_SEARCH_RETURN_CONTEXT },
		{ "UPDATE", IMAP_SEARCH_RETURN_UPDATE },
	};

	const struct imap_arg *list;
	unsigned int count;
	if (!imap_arg_get_list(arg, &list, &count)) {
		*error_r = "RETURN needs a list of options.";
		return -1;
	}
	*returns_r = 0;
	for (unsigned int i = 0; i < count; ) {
		const char *name;
		unsigned int bit;

		if (!imap_arg_get_atom(&list[i], &name)) {
			*error_r = "Invalid RETURN option.";
			return -1;
		}
		if (!imap_keyword_find(opts, N_ELEMENTS(opts), name, &bit) ||
		    (bit == IMAP_SEARCH_RETURN_SAVE && !save_allowed)) {
			*error_r = "Unknown RETURN option.";
			return -1;
		}
		if (bit == IMAP_SEARCH_RETURN_PARTIAL) {
			const char *range;
			if ((*returns_r & IMAP_SEARCH_RETURN_PARTIAL) != 0) {
				*error_r = "Only one PARTIAL is allowed.";
				return -1;
			}
			if (i + 1 == count || !imap_arg_get_atom(&list[i + 1], &range) ||
			    partial_range_parse(range, partial_r) < 0) {
				*error_r = "PARTIAL needs a range (n:m or -n:-m, "
					"numbers from 1 to 4294967295).";
				return -1;
			}
			i++;	/* the range */
		}
		*returns_r |= bit;
		i++;
	}
	if ((*returns_r & IMAP_SEARCH_RETURN_PARTIAL) != 0 &&
	    (*returns_r & IMAP_SEARCH_RETURN_ALL) != 0) {
		*error_r = "PARTIAL and ALL cannot be used together.";
		return -1;
	}
	if ((*returns_r & (IMAP_SEARCH_RETURN_ANSWERS | IMAP_SEARCH_RETURN_SAVE)) == 0)
		*returns_r |= IMAP_SEARCH_RETURN_ALL;
	return 0;
}
