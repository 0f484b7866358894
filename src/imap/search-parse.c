/* search-parse.c: search-program syntax -> src/search keys (see
 * search-parse.h). */
#include "search-parse.h"
#include "flags.h"
#include "search-result.h"
#include "base/pool.h"
#include "syntax/seqset.h"
#include "base/str.h"
#include "base/utf8.h"
#include "mime/charset.h"
#include "store/store.h"

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

static const struct {
	const char *name;
	enum search_key_type type;
	uint32_t flags;
} search_flag_keys[] = {
	{ "ANSWERED", SEARCH_KEY_FLAGS_SET, STORE_FLAG_ANSWERED },
	{ "DELETED", SEARCH_KEY_FLAGS_SET, STORE_FLAG_DELETED },
	{ "DRAFT", SEARCH_KEY_FLAGS_SET, STORE_FLAG_DRAFT },
	{ "FLAGGED", SEARCH_KEY_FLAGS_SET, STORE_FLAG_FLAGGED },
	{ "SEEN", SEARCH_KEY_FLAGS_SET, STORE_FLAG_SEEN },
	{ "UNANSWERED", SEARCH_KEY_FLAGS_UNSET, STORE_FLAG_ANSWERED },
	{ "UNDELETED", SEARCH_KEY_FLAGS_UNSET, STORE_FLAG_DELETED },
	{ "UNDRAFT", SEARCH_KEY_FLAGS_UNSET, STORE_FLAG_DRAFT },
	{ "UNFLAGGED", SEARCH_KEY_FLAGS_UNSET, STORE_FLAG_FLAGGED },
	{ "UNSEEN", SEARCH_KEY_FLAGS_UNSET, STORE_FLAG_SEEN },
};

static const struct {
	const char *name;
	enum search_key_type type;
} search_date_keys[] = {
	{ "BEFORE", SEARCH_KEY_BEFORE },
	{ "ON", SEARCH_KEY_ON },
	{ "SINCE", SEARCH_KEY_SINCE },
	{ "SENTBEFORE", SEARCH_KEY_SENTBEFORE },
	{ "SENTON", SEARCH_KEY_SENTON },
	{ "SENTSINCE", SEARCH_KEY_SENTSINCE },
};

/* Keys that search one header field: name on the wire -> field name. */
static const struct {
	const char *name;
	const char *field;
} search_header_keys[] = {
	{ "BCC", "Bcc" },
	{ "CC", "Cc" },
	{ "FROM", "From" },
	{ "SUBJECT", "Subject" },
	{ "TO", "To" },
};

static const char *const search_months[] = {
	"Jan", "Feb", "Mar", "Apr", "May", "Jun",
	"Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
};

/* astring = 1*ASTRING-CHAR / string */
static const char *search_arg_string(const struct imap_arg *arg, size_t *len_r)
{
	switch (arg->type) {
	case IMAP_ARG_ATOM:
	case IMAP_ARG_QUOTED:
	case IMAP_ARG_LITERAL:
		if (arg->has_nul)
			return NULL;
		*len_r = arg->len;
		return arg->str;
	default:
		return NULL;
	}
}

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
	const char *str = search_arg_string(arg, &len);
	if (str == NULL) {
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
	if (arg->type != IMAP_ARG_ATOM && arg->type != IMAP_ARG_QUOTED)
		return -1;
	const char *s = arg->str;
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
	struct search_range *ranges = p_malloc(b->pool, (n == 0 ? 1 : n) * sizeof(*ranges));
	for (size_t i = 0; i < n; i++) {
		ranges[i].first = set.ranges[i].seq1;
		ranges[i].last = set.ranges[i].seq2;
	}
	seqset_deinit(&set);
	key->ranges = ranges;
	key->range_count = n;
	return 0;
}

static bool search_is_set_atom(const struct imap_arg *arg)
{
	if (arg->type != IMAP_ARG_ATOM)
		return false;
	char c = arg->str[0];
	return (c >= '0' && c <= '9') || c == '*' || c == '$';
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
	if (arg->type == IMAP_ARG_EOL) {
		b->error = "Missing search key.";
		return -1;
	}
	while (arg->type != IMAP_ARG_EOL) {
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

static struct search_key *search_parse_key_inner(struct search_build *b,
						 const struct imap_arg **argp)
{
	struct pool *pool = b->pool;
	const struct imap_arg *arg = *argp;
	struct search_key *key;

	if (arg->type == IMAP_ARG_LIST) {
		/* "(" search-key *(SP search-key) ")" */
		key = search_key_new(pool, SEARCH_KEY_AND);
		if (search_parse_keys(b, arg->list, key) < 0)
			return NULL;
		*argp = arg + 1;
		return key;
	}
	if (arg->type != IMAP_ARG_ATOM) {
		b->error = "Invalid search key.";
		return NULL;
	}
	const char *name = arg->str;
	arg++;

	if (search_is_set_atom(&arg[-1])) {
		key = search_key_new(pool, SEARCH_KEY_MSN);
		if (search_parse_set(b, name, false, key) < 0)
			return NULL;
		*argp = arg;
		return key;
	}
	for (size_t i = 0; i < N_ELEMENTS(search_flag_keys); i++) {
		if (strcasecmp(name, search_flag_keys[i].name) == 0) {
			key = search_key_new(pool, search_flag_keys[i].type);
			key->flags = search_flag_keys[i].flags;
			*argp = arg;
			return key;
		}
	}
	for (size_t i = 0; i < N_ELEMENTS(search_date_keys); i++) {
		if (strcasecmp(name, search_date_keys[i].name) == 0) {
			key = search_key_new(pool, search_date_keys[i].type);
			if (search_parse_date(arg, &key->day) < 0) {
				b->error = "Invalid date (expected d-Mon-yyyy).";
				return NULL;
			}
			*argp = arg + 1;
			return key;
		}
	}
	for (size_t i = 0; i < N_ELEMENTS(search_header_keys); i++) {
		if (strcasecmp(name, search_header_keys[i].name) == 0) {
			key = search_key_new(pool, SEARCH_KEY_HEADER);
			key->name = search_header_keys[i].field;
			key->value = search_parse_string(b, arg, &key->value_len);
			if (key->value == NULL)
				return NULL;
			b->text_keys++;
			*argp = arg + 1;
			return key;
		}
	}
	if (strcasecmp(name, "ALL") == 0) {
		key = search_key_new(pool, SEARCH_KEY_ALL);
	} else if (strcasecmp(name, "RECENT") == 0) {
		key = search_key_new(pool, SEARCH_KEY_RECENT);
	} else if (strcasecmp(name, "NEW") == 0) {
		/* \Recent and not \Seen */
		key = search_key_new(pool, SEARCH_KEY_AND);
		search_key_add_child(key, search_key_new(pool, SEARCH_KEY_RECENT));
		struct search_key *unseen = search_key_new(pool, SEARCH_KEY_FLAGS_UNSET);
		unseen->flags = STORE_FLAG_SEEN;
		search_key_add_child(key, unseen);
	} else if (strcasecmp(name, "OLD") == 0) {
		key = search_key_new(pool, SEARCH_KEY_NOT);
		search_key_add_child(key, search_key_new(pool, SEARCH_KEY_RECENT));
	} else if (strcasecmp(name, "KEYWORD") == 0 || strcasecmp(name, "UNKEYWORD") == 0) {
		if (arg->type != IMAP_ARG_ATOM || !imap_flags_is_keyword(arg->str)) {
			b->error = "Invalid keyword.";
			return NULL;
		}
		struct search_key *kw = search_key_new(pool, SEARCH_KEY_KEYWORD);
		/* -1 (not in the mailbox's table) matches nothing */
		unsigned int idx;
		kw->keyword = b->box != NULL &&
			store_mailbox_keyword_index(b->box, arg->str, false, &idx) == 0 ?
			(int)idx : -1;
		arg++;
		if (strcasecmp(name, "KEYWORD") == 0) {
			key = kw;
		} else {
			key = search_key_new(pool, SEARCH_KEY_NOT);
			search_key_add_child(key, kw);
		}
	} else if (strcasecmp(name, "LARGER") == 0 || strcasecmp(name, "SMALLER") == 0) {
		key = search_key_new(pool, strcasecmp(name, "LARGER") == 0 ?
				     SEARCH_KEY_LARGER : SEARCH_KEY_SMALLER);
		if (arg->type != IMAP_ARG_ATOM ||
		    str_to_u64(arg->str, INT64_MAX, &key->number) < 0) {
			b->error = "Invalid number.";
			return NULL;
		}
		arg++;
	} else if (strcasecmp(name, "OLDER") == 0 || strcasecmp(name, "YOUNGER") == 0) {
		/* search-key =/ ( "OLDER" / "YOUNGER" ) SP nz-number
		 * (RFC 5032 section 3) */
		key = search_key_new(pool, strcasecmp(name, "OLDER") == 0 ?
				     SEARCH_KEY_OLDER : SEARCH_KEY_YOUNGER);
		if (arg->type != IMAP_ARG_ATOM ||
		    str_to_u64(arg->str, UINT32_MAX, &key->number) < 0 ||
		    key->number == 0) {
			b->error = "OLDER and YOUNGER need a number of seconds (1 or more).";
			return NULL;
		}
		arg++;
	} else if (strcasecmp(name, "HEADER") == 0) {
		key = search_key_new(pool, SEARCH_KEY_HEADER);
		size_t name_len;
		key->name = search_arg_string(arg, &name_len);
		if (key->name == NULL || name_len == 0 || arg[1].type == IMAP_ARG_EOL) {
			b->error = "HEADER needs a field name and a string.";
			return NULL;
		}
		key->value = search_parse_string(b, &arg[1], &key->value_len);
		if (key->value == NULL)
			return NULL;
		b->text_keys++;
		arg += 2;
	} else if (strcasecmp(name, "BODY") == 0 || strcasecmp(name, "TEXT") == 0) {
		key = search_key_new(pool, strcasecmp(name, "BODY") == 0 ?
				     SEARCH_KEY_BODY : SEARCH_KEY_TEXT);
		key->value = search_parse_string(b, arg, &key->value_len);
		if (key->value == NULL)
			return NULL;
		b->text_keys++;
		arg++;
	} else if (strcasecmp(name, "UID") == 0) {
		key = search_key_new(pool, SEARCH_KEY_UID);
		if (arg->type != IMAP_ARG_ATOM || !search_is_set_atom(arg)) {
			b->error = "UID needs a sequence set.";
			return NULL;
		}
		if (search_parse_set(b, arg->str, true, key) < 0)
			return NULL;
		arg++;
	} else if (strcasecmp(name, "NOT") == 0) {
		if (arg->type == IMAP_ARG_EOL) {
			b->error = "NOT needs a search key.";
			return NULL;
		}
		key = search_key_new(pool, SEARCH_KEY_NOT);
		struct search_key *child = search_parse_key(b, &arg);
		if (child == NULL)
			return NULL;
		search_key_add_child(key, child);
	} else if (strcasecmp(name, "OR") == 0) {
		key = search_key_new(pool, SEARCH_KEY_OR);
		for (int i = 0; i < 2; i++) {
			if (arg->type == IMAP_ARG_EOL) {
				b->error = "OR needs two search keys.";
				return NULL;
			}
			struct search_key *child = search_parse_key(b, &arg);
			if (child == NULL)
				return NULL;
			search_key_add_child(key, child);
		}
	} else {
		b->error = p_strdup_printf(pool, "Unknown search key %.40s.", name);
		return NULL;
	}
	*argp = arg;
	return key;
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
	if (charset == NULL && args[0].type == IMAP_ARG_ATOM &&
	    strcasecmp(args[0].str, "CHARSET") == 0) {
		size_t len;
		const char *name = search_arg_string(&args[1], &len);
		if (name == NULL) {
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
			     unsigned int *returns_r, const char **error_r)
{
	static const struct {
		const char *name;
		unsigned int bit;
	} opts[] = {
		{ "MIN", IMAP_SEARCH_RETURN_MIN }, { "MAX", IMAP_SEARCH_RETURN_MAX },
		{ "COUNT", IMAP_SEARCH_RETURN_COUNT }, { "ALL", IMAP_SEARCH_RETURN_ALL },
		{ "SAVE", IMAP_SEARCH_RETURN_SAVE },
	};

	if (arg->type != IMAP_ARG_LIST) {
		*error_r = "RETURN needs a list of options.";
		return -1;
	}
	*returns_r = 0;
	for (unsigned int i = 0; i < arg->list_count; i++) {
		const struct imap_arg *o = &arg->list[i];
		size_t j;

		if (o->type != IMAP_ARG_ATOM) {
			*error_r = "Invalid RETURN option.";
			return -1;
		}
		for (j = 0; j < N_ELEMENTS(opts); j++) {
			if (strcasecmp(o->str, opts[j].name) == 0)
				break;
		}
		if (j == N_ELEMENTS(opts) ||
		    (opts[j].bit == IMAP_SEARCH_RETURN_SAVE && !save_allowed)) {
			*error_r = "Unknown RETURN option.";
			return -1;
		}
		*returns_r |= opts[j].bit;
	}
	if (*returns_r == 0)
		*returns_r = IMAP_SEARCH_RETURN_ALL;
	return 0;
}
