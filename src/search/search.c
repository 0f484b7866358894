/* search.c: evaluating search programs over store messages.
 *
 * Index keys (flags, sizes, dates, UIDs) are answered from store_msg;
 * HEADER, BODY and TEXT from the store's decoded text and full-text index
 * (section "content matching"), SENT* from the Date: field of the same
 * header text.  The store answers most text keys from its index and
 * has the header text without reading the message; a body it must
 * verify (a needle of several words, say) is read from the message
 * (store_mailbox_msg_text()).  Everything content-related is reached
 * only through search_content_match().  Which messages are evaluated
 * at all is search_next()'s business (section "narrowing": those the
 * index's answers leave possible, the ones whose body must be read
 * among them).  This file must never know IMAP syntax or SQL. */
#include "search.h"
#include "base/casemap.h"
#include "base/pool.h"
#include "base/str.h"
#include "mime/text.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

struct search_ctx {
	struct store *store;
	struct store_mailbox *box;
	const struct search_key *program;
	bool had_expunged;
	time_t now;		/* OLDER, YOUNGER count back from here */

	/* the message being evaluated */
	uint32_t msn;
	const struct store_msg *msg;
	bool msg_gone;		/* expunged: no text */
	bool sent_day_known;
	bool sent_day_valid;
	int64_t sent_day;
	bool text_loaded;	/* text_header and text_body */
	bool header_loaded;	/* text_header (also set with text_loaded) */
	/* the store's text of the message (buffers reused between messages) */
	struct str text_header, text_body;

	/* HEADER, BODY and TEXT keys met so far, with the index's answers;
	 * a key equal to an earlier one (search_text_key_equal) is an alias
	 * entry pointing at it, so the index is asked once for both */
	struct search_text_key *text_keys;
	size_t text_key_count;

	/* EMAILID, THREADID and SAVED* keys met so far, with the UIDs the
	 * index gave for each */
	struct search_uid_key *uid_keys;
	size_t uid_key_count;

	/* search_next(): the next msn to consider; whether the program
	 * narrows (search_key_narrows()), and then the candidates of the
	 * current window of UIDs (up to window_hi), window_pos the range
	 * of them being looked at */
	uint32_t next_msn;
	bool narrows;
	/* every key of the program narrows (search_key_only_narrows()) */
	bool only_narrows;
	/* the UIDs a match can have (search_key_uid_bounds()), once known */
	bool bounds_known;
	uint32_t uid_min, uid_max;
	bool window_valid;
	uint32_t window_hi;
	struct uid_set {
		struct store_uid_range *r;
		size_t count, cap;
	} window;
	size_t window_pos;
};

/* The answer of the store's index for one key (search_uid_key_match()). */
struct search_uid_key {
	const struct search_key *key;
	uint32_t *uids;
	size_t count;
};

static void search_text_keys_free(struct search_ctx *ctx);
static bool search_key_narrows(const struct search_key *key);
static bool search_key_only_narrows(const struct search_key *key);

struct search_key *search_key_new(struct pool *pool, enum search_key_type type)
{
	struct search_key *key = p_malloc(pool, sizeof(*key));
	key->type = type;
	return key;
}

void search_key_add_child(struct search_key *parent, struct search_key *child)
{
	struct search_key **p = &parent->children;
	while (*p != NULL)
		p = &(*p)->next;
	*p = child;
	child->next = NULL;
}

/* Howard Hinnant's days_from_civil. */
int64_t search_day_from_date(int year, int month, int mday)
{
	int64_t y = year - (month <= 2);
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t mp = (month + 9) % 12;
	int64_t doy = (153 * mp + 2) / 5 + mday - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static int64_t floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;
	if ((a % b != 0) && ((a < 0) != (b < 0)))
		q--;
	return q;
}

bool search_key_needs_content(const struct search_key *key)
{
	switch (key->type) {
	case SEARCH_KEY_AND:
	case SEARCH_KEY_OR:
	case SEARCH_KEY_NOT:
		for (const struct search_key *c = key->children; c != NULL; c = c->next) {
			if (search_key_needs_content(c))
				return true;
		}
		return false;
	case SEARCH_KEY_SENTBEFORE:
	case SEARCH_KEY_SENTON:
	case SEARCH_KEY_SENTSINCE:
	case SEARCH_KEY_HEADER:
	case SEARCH_KEY_BODY:
	case SEARCH_KEY_TEXT:
		return true;
	default:
		return false;
	}
}

bool search_key_has(const struct search_key *key, enum search_key_type type)
{
	if (key->type == type)
		return true;
	for (const struct search_key *c = key->children; c != NULL; c = c->next) {
		if (search_key_has(c, type))
			return true;
	}
	return false;
}

struct search_ctx *search_ctx_create(struct store *store, struct store_mailbox *box,
				     const struct search_key *program)
{
	struct search_ctx *ctx = xcalloc(1, sizeof(*ctx));
	ctx->store = store;
	ctx->box = box;
	ctx->program = program;
	ctx->now = time(NULL);
	ctx->next_msn = 1;
	ctx->narrows = search_key_narrows(program);
	ctx->only_narrows = search_key_only_narrows(program);
	return ctx;
}

static void search_msg_reset(struct search_ctx *ctx)
{
	ctx->msg_gone = false;
	ctx->sent_day_known = false;
	ctx->text_loaded = false;
	ctx->header_loaded = false;
}

void search_ctx_destroy(struct search_ctx **_ctx)
{
	struct search_ctx *ctx = *_ctx;
	if (ctx == NULL)
		return;
	*_ctx = NULL;
	search_text_keys_free(ctx);
	for (size_t i = 0; i < ctx->uid_key_count; i++)
		free(ctx->uid_keys[i].uids);
	free(ctx->uid_keys);
	free(ctx->window.r);
	str_free(&ctx->text_header);
	str_free(&ctx->text_body);
	free(ctx);
}

bool search_ctx_had_expunged(const struct search_ctx *ctx)
{
	return ctx->had_expunged;
}

/* ---- content matching ----
 *
 * HEADER, BODY and TEXT match the decoded text of mime/text.h under
 * i;unicode-casemap (RFC 9051 6.4.4 leaves the collation to the server;
 * RFC 5051 is what I18NLEVEL=1 and SORT use): the needle is prepared
 * with casemap_unicode() and looked for as bytes in the store's prepared
 * header and body documents.  For each key the store is asked once,
 * on first use, for the messages its index finds; a message the index
 * does not hold yet (the store then extracts and stores its text), or a
 * needle the index cannot take (invalid UTF-8, a NUL), is matched
 * against store_mailbox_msg_text() one message at a time, which gives
 * the same answers from the same documents. */

struct search_text_key {
	const struct search_key *key;
	/* the index of the entry holding the answer for an equal key, or
	 * SIZE_MAX: this entry holds its own (the fields below) */
	size_t alias_of;
	struct str needle;	/* casemap_unicode(key->value) */
	struct str name;	/* casemap_unicode(key->name), HEADER */
	/* for the UIDs from first_uid to result.last_uid */
	uint32_t first_uid;
	struct store_text_result result;
	/* where in result.uids the last lookup ended: msns come in
	 * ascending order, so the next is near */
	size_t hint;
};

/* The index of the first of uids[0..count) (ascending, as
 * store_text_result's are) that is uid or above; count if none. */
static size_t uid_array_lower_bound(const uint32_t *uids, size_t count, uint32_t uid)
{
	size_t lo = 0, hi = count;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (uids[mid] < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Whether uids[0..count) (ascending) holds uid, looking from *hint on
 * first (galloping: a few steps when uid is near), and leaving there. */
static bool uid_array_has(const uint32_t *uids, size_t count, uint32_t uid, size_t *hint)
{
	size_t lo = *hint, step = 1, i;

	if (lo >= count || uids[lo] > uid) {
		i = uid_array_lower_bound(uids, count, uid);
	} else {
		/* uids[lo] <= uid: gallop to an index past uid, then halve */
		while (lo + step < count && uids[lo + step] <= uid) {
			lo += step;
			step *= 2;
		}
		i = lo + uid_array_lower_bound(uids + lo, (lo + step < count ? lo + step : count) - lo,
					       uid);
	}
	*hint = i;
	return i < count && uids[i] == uid;
}

static void search_text_keys_free(struct search_ctx *ctx)
{
	for (size_t i = 0; i < ctx->text_key_count; i++) {
		str_free(&ctx->text_keys[i].needle);
		str_free(&ctx->text_keys[i].name);
		store_text_result_free(&ctx->text_keys[i].result);
	}
	free(ctx->text_keys);
	ctx->text_keys = NULL;
	ctx->text_key_count = 0;
}

/* Whether two text keys always give the same answer: same type, same
 * field name (ASCII case-insensitively, as fields are matched), same
 * needle bytes. */
static bool search_text_key_equal(const struct search_key *a, const struct search_key *b)
{
	if (a == b)
		return true;
	if (a->type != b->type || a->value_len != b->value_len)
		return false;
	if (a->type == SEARCH_KEY_HEADER && strcasecmp(a->name, b->name) != 0)
		return false;
	return a->value_len == 0 || memcmp(a->value, b->value, a->value_len) == 0;
}

/* The state of a text key, asking the store's index on first use (for
 * the UIDs from uid to max_uid; for one part only as one_part says, see
 * store_mailbox_search_text()).  NULL on a store error.
 *
 * Keys are found by address (a cheap loop per message; the IMAP parser
 * bounds their number); a key met for the first time is compared once
 * with the earlier ones and, when equal to one, becomes an alias of it
 * instead of a second question to the index and a second pair of UID
 * arrays. */
static struct search_text_key *search_text_key_get(struct search_ctx *ctx,
						   const struct search_key *key, uint32_t uid,
						   uint32_t max_uid, bool one_part)
{
	struct search_text_key *tk;
	enum store_text_field field;
	size_t alias_of = SIZE_MAX;
	int ret;

	for (size_t i = 0; i < ctx->text_key_count; i++) {
		if (ctx->text_keys[i].key != key)
			continue;
		if (ctx->text_keys[i].alias_of != SIZE_MAX)
			return &ctx->text_keys[ctx->text_keys[i].alias_of];
		return &ctx->text_keys[i];
	}
	for (size_t i = 0; i < ctx->text_key_count; i++) {
		if (ctx->text_keys[i].alias_of == SIZE_MAX &&
		    search_text_key_equal(ctx->text_keys[i].key, key)) {
			alias_of = i;
			break;
		}
	}
	ctx->text_keys = xrealloc(ctx->text_keys,
				  (ctx->text_key_count + 1) * sizeof(*ctx->text_keys));
	tk = &ctx->text_keys[ctx->text_key_count++];
	memset(tk, 0, sizeof(*tk));
	tk->key = key;
	tk->alias_of = alias_of;
	if (alias_of != SIZE_MAX)
		return &ctx->text_keys[alias_of];
	/* an invalid UTF-8 needle stays as it is (RFC 5051 step 1b) and can
	 * only match bytes of the same form */
	(void)casemap_unicode(key->value == NULL ? "" : key->value, key->value_len,
			      &tk->needle);
	str_append(&tk->needle, "");
	if (key->type == SEARCH_KEY_HEADER) {
		(void)casemap_unicode(key->name, strlen(key->name), &tk->name);
		str_append(&tk->name, "");
		field = STORE_TEXT_HEADER;
	} else {
		field = key->type == SEARCH_KEY_BODY ? STORE_TEXT_BODY : STORE_TEXT_ANY;
	}
	tk->first_uid = uid;
	ret = store_mailbox_search_text(ctx->box, field, key->name,
					key->value == NULL ? "" : key->value, key->value_len,
					tk->first_uid, max_uid, one_part, &tk->result);
	if (ret < 0) {
		/* forget the entry, so a retry asks again */
		str_free(&tk->needle);
		str_free(&tk->name);
		ctx->text_key_count--;
		return NULL;
	}
	return tk;
}

/* The store's text of the current message (only the header document
 * unless need_body: the store may have that without reading the
 * message); 0, or -1 on a store error.  A message that is gone sets
 * msg_gone and returns 0 with no text. */
static int search_text_load(struct search_ctx *ctx, bool need_body)
{
	if (ctx->text_loaded || (ctx->header_loaded && !need_body) || ctx->msg_gone)
		return 0;
	if (store_mailbox_msg_text(ctx->box, ctx->msn, &ctx->text_header,
				   need_body ? &ctx->text_body : NULL) == 0) {
		ctx->header_loaded = true;
		ctx->text_loaded = need_body;
		return 0;
	}
	enum store_error err;
	(void)store_last_error(ctx->store, &err);
	if (err == STORE_ERR_EXPUNGED) {
		ctx->msg_gone = true;
		ctx->had_expunged = true;
		return 0;
	}
	return -1;
}

static bool text_contains(const char *hay, size_t hay_len, const struct str *needle)
{
	return needle->len == 0 || memmem(hay, hay_len, needle->data, needle->len) != NULL;
}

/* The state of a text key with the index's answer for uid: asked again
 * for the UIDs from uid to max_uid when the answer it has is for other
 * UIDs (the store answered for part of the mailbox; msns come in
 * ascending order, so this is rare).  A declined answer (one_part)
 * covers no UID: the next call asks again.  NULL on a store error. */
static struct search_text_key *search_text_key_cover(struct search_ctx *ctx,
						     const struct search_key *key, uint32_t uid,
						     uint32_t max_uid, bool one_part)
{
	struct search_text_key *tk = search_text_key_get(ctx, key, uid, max_uid, one_part);
	struct store_text_result result;

	if (tk == NULL || (uid >= tk->first_uid && uid <= tk->result.last_uid))
		return tk;
	if (store_mailbox_search_text(ctx->box,
		tk->key->type == SEARCH_KEY_HEADER ? STORE_TEXT_HEADER :
		tk->key->type == SEARCH_KEY_BODY ? STORE_TEXT_BODY : STORE_TEXT_ANY,
		tk->key->name, tk->key->value == NULL ? "" : tk->key->value,
		tk->key->value_len, uid, max_uid, one_part, &result) < 0)
		return NULL;
	store_text_result_free(&tk->result);
	tk->result = result;
	tk->first_uid = uid;
	tk->hint = 0;
	return tk;
}

/* Binary search in ascending disjoint ranges (store_text_result's
 * unindexed ones, a parsed sequence set). */
static bool uid_ranges_have(const struct store_uid_range *ranges, size_t count, uint32_t uid)
{
	size_t lo = 0, hi = count;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (uid < ranges[mid].first)
			hi = mid;
		else if (uid > ranges[mid].last)
			lo = mid + 1;
		else
			return true;
	}
	return false;
}

/* HEADER, BODY, TEXT.  Returns 1, 0 or -1 like search_match(). */
static int search_match_text(struct search_ctx *ctx, const struct search_key *key)
{
	struct search_text_key *tk = search_text_key_cover(ctx, key, ctx->msg->uid, UINT32_MAX,
							   false);

	if (tk == NULL)
		return -1;
	if (!uid_ranges_have(tk->result.unindexed, tk->result.unindexed_count, ctx->msg->uid))
		return uid_array_has(tk->result.uids, tk->result.count, ctx->msg->uid, &tk->hint);
	if (search_text_load(ctx, key->type != SEARCH_KEY_HEADER) < 0)
		return -1;
	if (!ctx->header_loaded)
		return 0;	/* expunged */
	switch (key->type) {
	case SEARCH_KEY_HEADER:
		return mime_text_header_has(ctx->text_header.data, ctx->text_header.len,
					    tk->name.data, tk->needle.data, tk->needle.len);
	case SEARCH_KEY_BODY:
		return text_contains(ctx->text_body.data, ctx->text_body.len, &tk->needle);
	case SEARCH_KEY_TEXT:
		return text_contains(ctx->text_header.data, ctx->text_header.len, &tk->needle) ||
			text_contains(ctx->text_body.data, ctx->text_body.len, &tk->needle);
	default:
		i_panic("search_match_text: key type %d", (int)key->type);
	}
}

static const char *const month_names[] = {
	"Jan", "Feb", "Mar", "Apr", "May", "Jun",
	"Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
};

/* RFC 5322 date-time, leniently: [day-of-week ","] day month year ...
 * The date as written, disregarding time and zone.  Returns 0 or -1. */
static int parse_rfc5322_day(const char *s, size_t len, int64_t *day_r)
{
	size_t i = 0;
	while (i < len && (s[i] == ' ' || s[i] == '\t'))
		i++;
	/* optional day of week */
	if (i < len && ((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= 'a' && s[i] <= 'z'))) {
		while (i < len && s[i] != ',')
			i++;
		if (i == len)
			return -1;
		i++;
		while (i < len && (s[i] == ' ' || s[i] == '\t'))
			i++;
	}
	int mday = 0, digits = 0;
	while (i < len && s[i] >= '0' && s[i] <= '9' && digits < 3) {
		mday = mday * 10 + (s[i++] - '0');
		digits++;
	}
	if (digits == 0 || mday < 1 || mday > 31)
		return -1;
	while (i < len && (s[i] == ' ' || s[i] == '\t' || s[i] == '-'))
		i++;
	if (len - i < 3)
		return -1;
	int month = 0;
	for (int m = 0; m < 12; m++) {
		if (strncasecmp(s + i, month_names[m], 3) == 0) {
			month = m + 1;
			break;
		}
	}
	if (month == 0)
		return -1;
	i += 3;
	while (i < len && (s[i] == ' ' || s[i] == '\t' || s[i] == '-'))
		i++;
	int year = 0;
	digits = 0;
	while (i < len && s[i] >= '0' && s[i] <= '9' && digits < 5) {
		year = year * 10 + (s[i++] - '0');
		digits++;
	}
	if (digits < 2)
		return -1;
	if (digits == 2)	/* RFC 5322 4.3 obsolete years */
		year += year < 50 ? 2000 : 1900;
	else if (digits == 3)
		year += 1900;
	*day_r = search_day_from_date(year, month, mday);
	return 0;
}

/* The day of the first Date: field, from the header document. */
static int search_sent_day(struct search_ctx *ctx)
{
	if (ctx->sent_day_known)
		return 0;
	if (search_text_load(ctx, false) < 0)
		return -1;
	ctx->sent_day_known = true;
	ctx->sent_day_valid = false;
	if (!ctx->header_loaded)
		return 0;	/* expunged */

	const char *doc = ctx->text_header.data;
	size_t len = ctx->text_header.len, pos = 0;
	while (pos < len) {
		const char *line = doc + pos;
		const char *nl = memchr(line, '\n', len - pos);
		size_t line_len = nl == NULL ? len - pos : (size_t)(nl - line);

		pos += line_len + 1;
		if (line_len < 6 || strncasecmp(line, "DATE: ", 6) != 0)
			continue;
		if (parse_rfc5322_day(line + 6, line_len - 6, &ctx->sent_day) == 0)
			ctx->sent_day_valid = true;
		break;
	}
	return 0;
}

/* Keys that need the message's text.  Returns 1, 0 or -1 like
 * search_match(). */
static int search_content_match(struct search_ctx *ctx, const struct search_key *key)
{
	switch (key->type) {
	case SEARCH_KEY_SENTBEFORE:
	case SEARCH_KEY_SENTON:
	case SEARCH_KEY_SENTSINCE:
		if (search_sent_day(ctx) < 0)
			return -1;
		if (!ctx->sent_day_valid)
			return 0;
		if (key->type == SEARCH_KEY_SENTBEFORE)
			return ctx->sent_day < key->day;
		if (key->type == SEARCH_KEY_SENTON)
			return ctx->sent_day == key->day;
		return ctx->sent_day >= key->day;
	case SEARCH_KEY_HEADER:
	case SEARCH_KEY_BODY:
	case SEARCH_KEY_TEXT:
		return search_match_text(ctx, key);
	default:
		i_panic("search_content_match: key type %d", (int)key->type);
	}
}

/* ---- keys the index answers with a UID set ---- */

/* Asks the store for the UIDs of key (EMAILID, THREADID, SAVED*). */
static int search_uid_key_ask(struct search_ctx *ctx, const struct search_key *key,
			      struct search_uid_key *uk)
{
	const int64_t day_secs = 24 * 60 * 60;

	uk->key = key;
	switch (key->type) {
	case SEARCH_KEY_EMAILID:
	case SEARCH_KEY_THREADID:
		return store_mailbox_search_objectid(ctx->box, key->type == SEARCH_KEY_THREADID,
						     key->value, &uk->uids, &uk->count);
	case SEARCH_KEY_SAVEDBEFORE:
		return store_mailbox_search_savedate(ctx->box, INT64_MIN, key->day * day_secs,
						     &uk->uids, &uk->count);
	case SEARCH_KEY_SAVEDON:
		return store_mailbox_search_savedate(ctx->box, key->day * day_secs,
						     (key->day + 1) * day_secs, &uk->uids,
						     &uk->count);
	case SEARCH_KEY_SAVEDSINCE:
		return store_mailbox_search_savedate(ctx->box, key->day * day_secs, INT64_MAX,
						     &uk->uids, &uk->count);
	default:
		i_panic("search_uid_key_ask: key type %d", (int)key->type);
	}
}

static int uid_cmp(const void *a, const void *b)
{
	uint32_t ua = *(const uint32_t *)a, ub = *(const uint32_t *)b;

	return ua < ub ? -1 : ua > ub;
}

/* Whether the current message is in the key's UID set, asked from the
 * index at the key's first use.  1, 0 or -1 like search_match(). */
static int search_uid_key_match(struct search_ctx *ctx, const struct search_key *key)
{
	struct search_uid_key *uk = NULL;

	for (size_t i = 0; i < ctx->uid_key_count; i++) {
		if (ctx->uid_keys[i].key == key)
			uk = &ctx->uid_keys[i];
	}
	if (uk == NULL) {
		struct search_uid_key new_key = { 0 };

		if (search_uid_key_ask(ctx, key, &new_key) < 0)
			return -1;
		ctx->uid_keys = xrealloc(ctx->uid_keys,
					 (ctx->uid_key_count + 1) * sizeof(*ctx->uid_keys));
		uk = &ctx->uid_keys[ctx->uid_key_count++];
		*uk = new_key;
	}
	return uk->count > 0 &&
		bsearch(&ctx->msg->uid, uk->uids, uk->count, sizeof(*uk->uids), uid_cmp) != NULL;
}

/* ---- evaluation ---- */

static bool ranges_contain(const struct store_uid_range *ranges, size_t count, uint32_t n)
{
	/* ranges are sorted and disjoint when built from a seqset; fall back
	 * to a linear scan if they are not */
	if (uid_ranges_have(ranges, count, n))
		return true;
	for (size_t i = 0; i < count; i++) {
		if (n >= ranges[i].first && n <= ranges[i].last)
			return true;
	}
	return false;
}

static int64_t internaldate_day(const struct store_msg *msg)
{
	return floor_div((int64_t)msg->internaldate + (int64_t)msg->internaldate_tz * 60, 86400);
}

static int search_eval(struct search_ctx *ctx, const struct search_key *key);

static int search_eval_and(struct search_ctx *ctx, const struct search_key *key)
{
	/* index keys first: they may spare opening the file */
	for (int pass = 0; pass < 2; pass++) {
		for (const struct search_key *c = key->children; c != NULL; c = c->next) {
			if (search_key_needs_content(c) != (pass == 1))
				continue;
			int ret = search_eval(ctx, c);
			if (ret <= 0)
				return ret;
		}
	}
	return 1;
}

static int search_eval(struct search_ctx *ctx, const struct search_key *key)
{
	const struct store_msg *msg = ctx->msg;
	int ret;

	switch (key->type) {
	case SEARCH_KEY_ALL:
		return 1;
	case SEARCH_KEY_AND:
		return search_eval_and(ctx, key);
	case SEARCH_KEY_OR:
		for (const struct search_key *c = key->children; c != NULL; c = c->next) {
			ret = search_eval(ctx, c);
			if (ret != 0)
				return ret;
		}
		return 0;
	case SEARCH_KEY_NOT:
		if (key->children == NULL)
			return 0;
		ret = search_eval(ctx, key->children);
		return ret < 0 ? ret : !ret;
	case SEARCH_KEY_MSN:
		return ranges_contain(key->ranges, key->range_count, ctx->msn);
	case SEARCH_KEY_UID:
		return ranges_contain(key->ranges, key->range_count, msg->uid);
	case SEARCH_KEY_FLAGS_SET:
		return (msg->flags & key->flags) == key->flags;
	case SEARCH_KEY_FLAGS_UNSET:
		return (msg->flags & key->flags) == 0;
	case SEARCH_KEY_KEYWORD:
		if (key->keyword < 0 || key->keyword >= STORE_MAX_KEYWORDS)
			return 0;
		return (msg->keywords & ((store_keywords_t)1 << key->keyword)) != 0;
	case SEARCH_KEY_RECENT:
		return store_mailbox_is_recent(ctx->box, ctx->msn);
	case SEARCH_KEY_MODSEQ:
		return msg->modseq >= key->number;
	case SEARCH_KEY_LARGER:
		return msg->size > key->number;
	case SEARCH_KEY_SMALLER:
		return msg->size < key->number;
	case SEARCH_KEY_BEFORE:
		return internaldate_day(msg) < key->day;
	case SEARCH_KEY_ON:
		return internaldate_day(msg) == key->day;
	case SEARCH_KEY_SINCE:
		return internaldate_day(msg) >= key->day;
	case SEARCH_KEY_OLDER:
		/* RFC 5032 2: "less recent than or equal to the target
		 * time", the target being now minus the interval */
		return (int64_t)msg->internaldate <= (int64_t)ctx->now - (int64_t)key->number;
	case SEARCH_KEY_YOUNGER:
		return (int64_t)msg->internaldate >= (int64_t)ctx->now - (int64_t)key->number;
	case SEARCH_KEY_SENTBEFORE:
	case SEARCH_KEY_SENTON:
	case SEARCH_KEY_SENTSINCE:
	case SEARCH_KEY_HEADER:
	case SEARCH_KEY_BODY:
	case SEARCH_KEY_TEXT:
		return search_content_match(ctx, key);
	case SEARCH_KEY_EMAILID:
	case SEARCH_KEY_THREADID:
	case SEARCH_KEY_SAVEDBEFORE:
	case SEARCH_KEY_SAVEDON:
	case SEARCH_KEY_SAVEDSINCE:
		return search_uid_key_match(ctx, key);
	}
	i_panic("search_eval: key type %d", (int)key->type);
}

int search_match(struct search_ctx *ctx, uint32_t msn)
{
	ctx->msn = msn;
	ctx->msg = store_mailbox_msg(ctx->box, msn);
	int ret = search_eval(ctx, ctx->program);
	search_msg_reset(ctx);
	return ret;
}

/* ---- narrowing: the messages a program can match, from the index ----
 *
 * A program that requires a text key (HEADER, BODY, TEXT: in an AND, or
 * in every branch of an OR) can only match the messages that the key's
 * index answer holds (result.uids) or leaves to the caller
 * (result.unindexed, which holds every message of the view the index
 * has no text for, the expunged ones included, and every candidate
 * whose body must be read to decide, search_match_text() reading it);
 * likewise a program
 * that requires a UID or sequence set.  search_next() hands out only
 * those candidates, and search_match() judges each of them as it
 * judges any message, so the answer is the same as when every message
 * is looked at; the messages passed over are exactly those for which
 * search_match() would return 0 at that key.  The text keys' answers
 * may cover only part of the UIDs (store_text_result.last_uid): the
 * candidates are worked out for one window of UIDs at a time, up to the
 * lowest last_uid of the keys concerned. */

static bool search_key_narrows(const struct search_key *key)
{
	switch (key->type) {
	case SEARCH_KEY_HEADER:
	case SEARCH_KEY_BODY:
	case SEARCH_KEY_TEXT:
	case SEARCH_KEY_MSN:
	case SEARCH_KEY_UID:
		return true;
	case SEARCH_KEY_AND:
		for (const struct search_key *c = key->children; c != NULL; c = c->next) {
			if (search_key_narrows(c))
				return true;
		}
		return false;
	case SEARCH_KEY_OR:
		for (const struct search_key *c = key->children; c != NULL; c = c->next) {
			if (!search_key_narrows(c))
				return false;
		}
		return key->children != NULL;
	default:
		return false;
	}
}

/* Whether `key` is made of text keys, UID and sequence sets only (with
 * AND and OR): then no other key could rule a message out before its
 * text keys are asked, as search_match() does when the index answers
 * in parts (search_next()). */
static bool search_key_only_narrows(const struct search_key *key)
{
	switch (key->type) {
	case SEARCH_KEY_AND:
	case SEARCH_KEY_OR:
		for (const struct search_key *c = key->children; c != NULL; c = c->next) {
			if (!search_key_only_narrows(c))
				return false;
		}
		return key->children != NULL;
	default:
		return search_key_narrows(key);
	}
}

/* Appends [first, last] to an ascending set, joined with the range
 * before when they touch or overlap (first >= the previous first). */
static void uid_set_push(struct uid_set *set, uint32_t first, uint32_t last)
{
	struct store_uid_range *prev = set->count == 0 ? NULL : &set->r[set->count - 1];

	if (prev != NULL && first <= (uint64_t)prev->last + 1) {
		if (last > prev->last)
			prev->last = last;
		return;
	}
	ARRAY_RESERVE(set->r, set->cap, set->count + 1);
	set->r[set->count].first = first;
	set->r[set->count].last = last;
	set->count++;
}

static void uid_set_free(struct uid_set *set)
{
	free(set->r);
	memset(set, 0, sizeof(*set));
}

/* *dest = a | b (all ascending; dest empty on entry). */
static void uid_set_union(struct uid_set *dest, const struct uid_set *a, const struct uid_set *b)
{
	size_t i = 0, k = 0;

	while (i < a->count || k < b->count) {
		if (k == b->count || (i < a->count && a->r[i].first <= b->r[k].first)) {
			uid_set_push(dest, a->r[i].first, a->r[i].last);
			i++;
		} else {
			uid_set_push(dest, b->r[k].first, b->r[k].last);
			k++;
		}
	}
}

/* *dest = a & b (all ascending; dest empty on entry). */
static void uid_set_intersect(struct uid_set *dest, const struct uid_set *a,
			      const struct uid_set *b)
{
	size_t i = 0, k = 0;

	while (i < a->count && k < b->count) {
		uint32_t first = a->r[i].first > b->r[k].first ? a->r[i].first : b->r[k].first;
		uint32_t last = a->r[i].last < b->r[k].last ? a->r[i].last : b->r[k].last;

		if (first <= last)
			uid_set_push(dest, first, last);
		if (a->r[i].last < b->r[k].last)
			i++;
		else
			k++;
	}
}

static int uid_range_cmp(const void *a, const void *b)
{
	const struct store_uid_range *x = a, *y = b;

	return x->first < y->first ? -1 : x->first > y->first;
}

/* A set from ranges in any order (a UID or sequence set as parsed),
 * clipped to [lo, hi]. */
static void uid_set_from_ranges(struct uid_set *dest, struct store_uid_range *ranges,
				size_t count, uint32_t lo, uint32_t hi)
{
	qsort(ranges, count, sizeof(*ranges), uid_range_cmp);
	for (size_t i = 0; i < count; i++) {
		uint32_t first = ranges[i].first > lo ? ranges[i].first : lo;
		uint32_t last = ranges[i].last < hi ? ranges[i].last : hi;

		if (first <= last)
			uid_set_push(dest, first, last);
	}
}

/* The lowest and highest UID a message can have to match `key`, which
 * narrows: UID and sequence sets bound it (lo > hi: nothing matches),
 * text keys do not. */
static void search_key_uid_bounds(struct search_ctx *ctx, const struct search_key *key,
				  uint32_t *lo_r, uint32_t *hi_r)
{
	uint32_t count = store_mailbox_count(ctx->box), lo, hi;
	bool first = true;

	*lo_r = UINT32_MAX;
	*hi_r = 0;
	switch (key->type) {
	case SEARCH_KEY_HEADER:
	case SEARCH_KEY_BODY:
	case SEARCH_KEY_TEXT:
		*lo_r = 0;
		*hi_r = UINT32_MAX;
		return;
	case SEARCH_KEY_UID:
	case SEARCH_KEY_MSN:
		for (size_t i = 0; i < key->range_count; i++) {
			lo = key->ranges[i].first;
			hi = key->ranges[i].last;
			if (key->type == SEARCH_KEY_MSN) {
				if (lo > count || hi < 1)
					continue;
				lo = store_mailbox_msg(ctx->box, lo < 1 ? 1 : lo)->uid;
				hi = store_mailbox_msg(ctx->box, hi > count ? count : hi)->uid;
			}
			*lo_r = lo < *lo_r ? lo : *lo_r;
			*hi_r = hi > *hi_r ? hi : *hi_r;
		}
		return;
	case SEARCH_KEY_AND:
	case SEARCH_KEY_OR:
		for (const struct search_key *c = key->children; c != NULL; c = c->next) {
			if (!search_key_narrows(c))
				continue;
			search_key_uid_bounds(ctx, c, &lo, &hi);
			if (first) {
				*lo_r = lo;
				*hi_r = hi;
				first = false;
			} else if (key->type == SEARCH_KEY_AND) {
				*lo_r = lo > *lo_r ? lo : *lo_r;
				*hi_r = hi < *hi_r ? hi : *hi_r;
			} else {
				*lo_r = lo < *lo_r ? lo : *lo_r;
				*hi_r = hi > *hi_r ? hi : *hi_r;
			}
		}
		return;
	default:
		i_panic("search_key_uid_bounds: key type %d", (int)key->type);
	}
}

/* Makes the index's answer of every text key that narrows `key` cover
 * lo, asking for no UID above ctx->uid_max, and lowers *hi to the last
 * UID they all cover.  A program with other keys asks for one part only
 * (see search_next()): 1 when an answer was declined.  0 or -1. */
static int search_window_prepare(struct search_ctx *ctx, const struct search_key *key,
				 uint32_t lo, uint32_t *hi)
{
	struct search_text_key *tk;
	int ret;

	switch (key->type) {
	case SEARCH_KEY_HEADER:
	case SEARCH_KEY_BODY:
	case SEARCH_KEY_TEXT:
		tk = search_text_key_cover(ctx, key, lo, ctx->uid_max, !ctx->only_narrows);
		if (tk == NULL)
			return -1;
		if (tk->result.declined)
			return 1;
		if (tk->result.last_uid < *hi)
			*hi = tk->result.last_uid;
		return 0;
	case SEARCH_KEY_AND:
	case SEARCH_KEY_OR:
		for (const struct search_key *c = key->children; c != NULL; c = c->next) {
			if (search_key_narrows(c) &&
			    (ret = search_window_prepare(ctx, c, lo, hi)) != 0)
				return ret;
		}
		return 0;
	default:
		return 0;
	}
}

/* The UIDs in [lo, hi] that a message must have to match `key`, which
 * narrows (search_window_prepare() done for the window), into *dest
 * (empty on entry). */
static void search_window_set(struct search_ctx *ctx, const struct search_key *key,
			      uint32_t lo, uint32_t hi, struct uid_set *dest)
{
	uint32_t count = store_mailbox_count(ctx->box);
	struct uid_set hits = { 0 }, rest = { 0 }, both = { 0 };
	struct store_uid_range *ranges;
	const struct search_text_key *tk;
	size_t n = 0;

	switch (key->type) {
	case SEARCH_KEY_HEADER:
	case SEARCH_KEY_BODY:
	case SEARCH_KEY_TEXT:
		/* the window's keys have an entry that covers it */
		tk = search_text_key_get(ctx, key, lo, ctx->uid_max, false);
		for (size_t i = uid_array_lower_bound(tk->result.uids, tk->result.count, lo);
		     i < tk->result.count && tk->result.uids[i] <= hi; i++)
			uid_set_push(&hits, tk->result.uids[i], tk->result.uids[i]);
		for (size_t i = 0; i < tk->result.unindexed_count; i++) {
			const struct store_uid_range *r = &tk->result.unindexed[i];

			if (r->last >= lo && r->first <= hi)
				uid_set_push(&rest, r->first > lo ? r->first : lo,
					     r->last < hi ? r->last : hi);
		}
		uid_set_union(dest, &hits, &rest);
		uid_set_free(&hits);
		uid_set_free(&rest);
		return;
	case SEARCH_KEY_UID:
	case SEARCH_KEY_MSN:
		ranges = xmalloc((key->range_count + 1) * sizeof(*ranges));
		for (size_t i = 0; i < key->range_count; i++) {
			uint32_t first = key->ranges[i].first, last = key->ranges[i].last;

			if (key->type == SEARCH_KEY_MSN) {
				/* msns first..last are exactly the view's UIDs
				 * from the one of first to the one of last */
				if (first > count || last < 1)
					continue;
				first = store_mailbox_msg(ctx->box, first < 1 ? 1 : first)->uid;
				last = store_mailbox_msg(ctx->box, last > count ? count : last)->uid;
			}
			ranges[n].first = first;
			ranges[n++].last = last;
		}
		uid_set_from_ranges(dest, ranges, n, lo, hi);
		free(ranges);
		return;
	case SEARCH_KEY_AND:
	case SEARCH_KEY_OR: {
		bool first = true;

		for (const struct search_key *c = key->children; c != NULL; c = c->next) {
			if (!search_key_narrows(c))
				continue;
			if (first) {
				search_window_set(ctx, c, lo, hi, dest);
				first = false;
				continue;
			}
			search_window_set(ctx, c, lo, hi, &rest);
			if (key->type == SEARCH_KEY_AND)
				uid_set_intersect(&both, dest, &rest);
			else
				uid_set_union(&both, dest, &rest);
			uid_set_free(dest);
			uid_set_free(&rest);
			*dest = both;
			memset(&both, 0, sizeof(both));
		}
		return;
	}
	default:
		i_panic("search_window_set: key type %d", (int)key->type);
	}
}

/* The msn of the first message from ctx->next_msn on whose UID is uid
 * or above (count + 1 if none), galloping from ctx->next_msn: the next
 * candidate is usually a few messages on. */
static uint32_t search_msn_from_uid(struct search_ctx *ctx, uint32_t uid)
{
	uint64_t count = store_mailbox_count(ctx->box);
	uint64_t lo = ctx->next_msn, step = 1, hi;

	/* msgs[lo] < uid: find hi with msgs[hi] >= uid (or past the end) */
	while (lo + step <= count &&
	       store_mailbox_msg(ctx->box, (uint32_t)(lo + step))->uid < uid) {
		lo += step;
		step *= 2;
	}
	hi = lo + step <= count ? lo + step : count + 1;
	while (hi - lo > 1) {
		uint64_t mid = lo + (hi - lo) / 2;

		if (store_mailbox_msg(ctx->box, (uint32_t)mid)->uid < uid)
			lo = mid;
		else
			hi = mid;
	}
	return (uint32_t)hi;
}

int search_next(struct search_ctx *ctx, uint32_t *msn_r)
{
	uint32_t count = store_mailbox_count(ctx->box);

	*msn_r = 0;
	if (ctx->next_msn > count)
		return 0;
	if (!ctx->narrows) {
		*msn_r = ctx->next_msn++;
		return 1;
	}
	if (!ctx->bounds_known) {
		/* a UID or sequence set bounds the UIDs the index is asked
		 * about: its answer beyond them would be verified for naught */
		search_key_uid_bounds(ctx, ctx->program, &ctx->uid_min, &ctx->uid_max);
		ctx->bounds_known = true;
		if (ctx->uid_min > ctx->uid_max) {
			ctx->next_msn = count + 1;
			return 0;
		}
		if (store_mailbox_msg(ctx->box, ctx->next_msn)->uid < ctx->uid_min)
			ctx->next_msn = store_mailbox_msn_from_uid(ctx->box, ctx->uid_min);
		if (ctx->next_msn > count)
			return 0;
	}
	if (!ctx->window_valid) {
		uint32_t lo = store_mailbox_msg(ctx->box, ctx->next_msn)->uid, hi = ctx->uid_max;

		if (lo > ctx->uid_max) {
			ctx->next_msn = count + 1;
			return 0;
		}

		int ret = search_window_prepare(ctx, ctx->program, lo, &hi);

		if (ret < 0)
			return -1;
		if (ret > 0) {
			/* an answer would come in parts and the program has
			 * other keys: message by message, as search_match()
			 * asks lazily */
			ctx->narrows = false;
			return 1;
		}
		uid_set_free(&ctx->window);
		search_window_set(ctx, ctx->program, lo, hi, &ctx->window);
		ctx->window_valid = true;
		ctx->window_hi = hi;
		ctx->window_pos = 0;
	}
	while (ctx->window_pos < ctx->window.count) {
		const struct store_uid_range *r = &ctx->window.r[ctx->window_pos];
		uint32_t uid = store_mailbox_msg(ctx->box, ctx->next_msn)->uid;

		if (uid > r->last) {
			ctx->window_pos++;
		} else if (uid < r->first) {
			ctx->next_msn = search_msn_from_uid(ctx, r->first);
			if (ctx->next_msn > count)
				return 0;
		} else {
			*msn_r = ctx->next_msn++;
			return 1;
		}
	}
	/* the window is used up: the next one starts at the first message
	 * above it */
	ctx->window_valid = false;
	if (ctx->window_hi == UINT32_MAX) {
		ctx->next_msn = count + 1;
		return 0;
	}
	ctx->next_msn = store_mailbox_msn_from_uid(ctx->box, ctx->window_hi + 1);
	return ctx->next_msn > count ? 0 : 1;
}
