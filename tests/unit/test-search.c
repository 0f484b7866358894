/* test-search.c: search programs evaluated over a real (Maildir) store. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/base.h"
#include "base/casemap.h"
#include "base/pool.h"
#include "base/str.h"
#include "mime/text.h"
#include "search/search.h"
#include "store/store.h"

static char data_dir[64];
static struct store_settings set;
static struct store *store;
static struct store_mailbox *box;
static struct pool *pool;

static int rm_cb(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st; (void)flag; (void)ftw;
	return remove(path);
}

static void append(const char *text, uint32_t flags, time_t date, int tz)
{
	struct store_append *ctx;
	uint32_t uidvalidity, uid;

	assert_int_equal(store_append_begin(store, "INBOX", &ctx), 0);
	assert_int_equal(store_append_write(ctx, text, strlen(text)), 0);
	assert_int_equal(store_append_commit(&ctx, flags, NULL, 0, date, tz,
					     &uidvalidity, &uid), 0);
}

static char *big_body(void)
{
	/* "NEEDLE" straddles the evaluator's 64 KiB read boundary */
	size_t n = 65530 + 6 + 100;
	char *s = xmalloc(n + 64);
	strcpy(s, "Subject: big\r\n\r\n");
	size_t h = strlen(s);
	memset(s + h, 'y', 65530);
	memcpy(s + h + 65530, "NEEDLE", 6);
	memset(s + h + 65536, 'z', 98);
	strcpy(s + h + 65634, "\r\n");
	return s;
}

/* Opens the store in a new data directory. */
static void open_store(void)
{
	const char *error;

	strcpy(data_dir, "/tmp/roost-test-search-XXXXXX");
	assert_non_null(mkdtemp(data_dir));
	set.backend = "maildir";
	set.maildir.root = data_dir;
	set.fsync = false;
	if (store_open(&set, "demo", &store, &error) < 0)
		fail_msg("store_open: %s", error);
}

static int setup(void **state)
{
	(void)state;
	open_store();
	/* 1: 2000-03-03 23:30 -0500 (04:30 UTC on the 4th) */
	append("From: Alice <alice@example.com>\r\n"
	       "Subject: Hello\r\n\tworld\r\n"
	       "Date: Fri, 3 Mar 2000 23:30:00 -0500\r\n"
	       "X-Empty:\r\n"
	       "Broken line without colon\r\n"
	       "\r\n"
	       "the quick brown fox\r\n", STORE_FLAG_SEEN, 952144200, -300);
	/* 2: obsolete two-digit year, no weekday, no body */
	append("From: carol@example.org\r\n"
	       "Date: 1 Feb 94 10:00 GMT\r\n"
	       "Subject : spaced name\r\n", STORE_FLAG_FLAGGED, 760096800, 0);
	char *big = big_body();
	append(big, 0, 0, 0);
	free(big);
	assert_int_equal(store_mailbox_open(store, "INBOX", false, &box), 0);
	assert_int_equal(store_mailbox_sync(box, 0, NULL, NULL), 0);
	assert_int_equal(store_mailbox_count(box), 3);
	pool = pool_create(0);
	return 0;
}

/* An empty INBOX (no token longer than FTS5 keeps, unlike setup()'s). */
static int setup_empty(void **state)
{
	(void)state;
	open_store();
	assert_int_equal(store_mailbox_open(store, "INBOX", false, &box), 0);
	pool = pool_create(0);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	pool_destroy(&pool);
	store_mailbox_close(&box);
	store_close(&store);
	nftw(data_dir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
	return 0;
}

/* The msns matching `key` as a bit mask (bit msn - 1) as search_next()
 * hands them out, which must be what search_match() says of every
 * message (checked by the callers). */
static uint64_t run_next64(const struct search_key *key)
{
	struct search_ctx *ctx = search_ctx_create(store, box, key);
	uint64_t mask = 0;
	uint32_t msn, last = 0;
	int ret;

	while ((ret = search_next(ctx, &msn)) > 0) {
		if (msn == 0)
			continue;
		/* ascending, each once */
		assert_true(msn > last && msn <= store_mailbox_count(box));
		last = msn;
		ret = search_match(ctx, msn);
		assert_true(ret >= 0);
		if (ret > 0)
			mask |= (uint64_t)1 << (msn - 1);
	}
	assert_int_equal(ret, 0);
	search_ctx_destroy(&ctx);
	return mask;
}

/* The msns matching `key` as a bit mask (bit msn - 1). */
static unsigned int run(const struct search_key *key)
{
	struct search_ctx *ctx = search_ctx_create(store, box, key);
	unsigned int mask = 0;
	for (uint32_t msn = 1; msn <= store_mailbox_count(box); msn++) {
		int ret = search_match(ctx, msn);
		assert_true(ret >= 0);
		if (ret > 0)
			mask |= 1u << (msn - 1);
	}
	search_ctx_destroy(&ctx);
	assert_null(ctx);
	assert_int_equal(run_next64(key), mask);
	return mask;
}

static struct search_key *header(const char *name, const char *value)
{
	struct search_key *key = search_key_new(pool, SEARCH_KEY_HEADER);
	key->name = name;
	key->value = value;
	key->value_len = strlen(value);
	return key;
}

static struct search_key *text(enum search_key_type type, const char *value)
{
	struct search_key *key = search_key_new(pool, type);
	key->value = value;
	key->value_len = strlen(value);
	return key;
}

static struct search_key *day(enum search_key_type type, int y, int m, int d)
{
	struct search_key *key = search_key_new(pool, type);
	key->day = search_day_from_date(y, m, d);
	return key;
}

static void test_day_from_date(void **state)
{
	(void)state;
	assert_int_equal(search_day_from_date(1970, 1, 1), 0);
	assert_int_equal(search_day_from_date(2000, 3, 1), 11017);
	assert_int_equal(search_day_from_date(1969, 12, 31), -1);
	assert_int_equal(search_day_from_date(2024, 2, 29) + 1, search_day_from_date(2024, 3, 1));
}

static void test_headers(void **state)
{
	(void)state;
	/* folded value, unfolded with its leading whitespace */
	assert_int_equal(run(header("Subject", "hello\tworld")), 1);
	assert_int_equal(run(header("subject", "WORLD")), 1);
	/* a name with space before the colon */
	assert_int_equal(run(header("Subject", "spaced")), 2);
	/* empty value: field exists, even with an empty body */
	assert_int_equal(run(header("X-Empty", "")), 1);
	assert_int_equal(run(header("Subject", "")), 7);
	assert_int_equal(run(header("From", "")), 3);
	/* a name must match whole */
	assert_int_equal(run(header("Subj", "")), 0);
	assert_int_equal(run(header("Broken line without colon", "")), 0);
}

static void test_body_and_text(void **state)
{
	(void)state;
	assert_int_equal(run(text(SEARCH_KEY_BODY, "QUICK brown")), 1);
	assert_int_equal(run(text(SEARCH_KEY_BODY, "alice")), 0);
	assert_int_equal(run(text(SEARCH_KEY_TEXT, "alice")), 1);
	assert_int_equal(run(text(SEARCH_KEY_BODY, "needle")), 4);
	assert_int_equal(run(text(SEARCH_KEY_TEXT, "yNEEDLEz")), 4);
	assert_int_equal(run(text(SEARCH_KEY_BODY, "")), 7);
	assert_int_equal(run(text(SEARCH_KEY_BODY, "spaced")), 0);
}

static void test_dates(void **state)
{
	(void)state;
	/* internal date in its own zone */
	assert_int_equal(run(day(SEARCH_KEY_ON, 2000, 3, 3)), 1);
	assert_int_equal(run(day(SEARCH_KEY_ON, 2000, 3, 4)), 0);
	assert_int_equal(run(day(SEARCH_KEY_BEFORE, 2000, 3, 3)), 2);
	assert_int_equal(run(day(SEARCH_KEY_SINCE, 2000, 3, 3)), 5);
	/* Date: header as written, two-digit years */
	assert_int_equal(run(day(SEARCH_KEY_SENTON, 2000, 3, 3)), 1);
	assert_int_equal(run(day(SEARCH_KEY_SENTON, 1994, 2, 1)), 2);
	assert_int_equal(run(day(SEARCH_KEY_SENTBEFORE, 1994, 2, 2)), 2);
	assert_int_equal(run(day(SEARCH_KEY_SENTSINCE, 1994, 2, 2)), 1);
	/* no Date: never matches */
	struct search_key *not = search_key_new(pool, SEARCH_KEY_NOT);
	search_key_add_child(not, day(SEARCH_KEY_SENTSINCE, 1900, 1, 1));
	assert_int_equal(run(not), 4);
}

static void test_logic_and_index_keys(void **state)
{
	(void)state;
	struct search_key *and = search_key_new(pool, SEARCH_KEY_AND);
	assert_int_equal(run(and), 7);
	struct search_key *seen = search_key_new(pool, SEARCH_KEY_FLAGS_SET);
	seen->flags = STORE_FLAG_SEEN;
	struct search_key *flagged = search_key_new(pool, SEARCH_KEY_FLAGS_SET);
	flagged->flags = STORE_FLAG_FLAGGED;
	struct search_key *or = search_key_new(pool, SEARCH_KEY_OR);
	search_key_add_child(or, seen);
	search_key_add_child(or, flagged);
	assert_int_equal(run(or), 3);
	search_key_add_child(and, or);
	search_key_add_child(and, text(SEARCH_KEY_TEXT, "carol"));
	assert_int_equal(run(and), 2);
	assert_true(search_key_needs_content(and));
	assert_false(search_key_needs_content(or));

	struct store_uid_range ranges[] = { { 1, 1 }, { 3, 9 } };
	struct search_key *msn = search_key_new(pool, SEARCH_KEY_MSN);
	msn->ranges = ranges;
	msn->range_count = 2;
	assert_int_equal(run(msn), 5);
	struct search_key *larger = search_key_new(pool, SEARCH_KEY_LARGER);
	larger->number = 60000;
	assert_int_equal(run(larger), 4);
	struct search_key *kw = search_key_new(pool, SEARCH_KEY_KEYWORD);
	kw->keyword = -1;
	assert_int_equal(run(kw), 0);
}

static void test_expunged_file(void **state)
{
	(void)state;
	uint32_t msn = 1;
	assert_int_equal(store_mailbox_expunge(box, &msn, 1), 0);
	assert_int_equal(store_mailbox_sync(box, STORE_SYNC_NO_EXPUNGES, NULL, NULL), 0);
	assert_true(store_mailbox_is_expunged(box, 1));
	struct search_key *key = text(SEARCH_KEY_TEXT, "e");
	struct search_ctx *ctx = search_ctx_create(store, box, key);
	assert_int_equal(search_match(ctx, 1), 0);
	assert_true(search_ctx_had_expunged(ctx));
	assert_int_equal(search_match(ctx, 2), 1);
	search_ctx_destroy(&ctx);
	/* index keys still answer */
	struct search_key *seen = search_key_new(pool, SEARCH_KEY_FLAGS_SET);
	seen->flags = STORE_FLAG_SEEN;
	assert_int_equal(run(seen), 1);
}

/* ---- the full-text index gives what a scan of the stored text gives ---- */

/* 70 characters, longer than the phrase fts.c gives FTS5 (64) */
#define LONG70 "the-long-one 0123456789 abcdefghijklmnopqrstuvwxyz 0123456789 @#%&-+=!"

/* Text that trips FTS5 query syntax, casemapping corner cases and
 * multi-byte characters; U+FFFD, U+FFFE and U+FFFF (which SQLite's
 * tokenizer reads alike); text longer than the FTS5 phrase. */
static const char *const fragments[] = {
	"ab\xef\xbf\xbd" "cd", "xy\xef\xbf\xbf" "z", "pq\xef\xbf\xbe" "r",
	LONG70 "TAILONE", "\xc3\x84" LONG70 "\xc3\x84",
	"Gr\xc3\xbc\xc3\x9f" "e", "STRASSE", "stra\xc3\x9f" "e", "\xef\xac\x81nance",
	"\"quoted\"", "a*b", "NOT this", "x:y", "(paren)", "^caret", "NEAR(a b)",
	"\xc3\x84RGER", "\xc3\xa4rger", "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e",
	"emoji \xf0\x9f\x98\x80!", "a\"b", "--", "{x}", "AND OR", "O'Brien",
	"\xc7\x85" "ebug", "\xc4\xb0stanbul", "\xc4\xb1rmak",
	"\xce\xa3\xce\xaf\xcf\x83\xcf\x85\xcf\x86\xce\xbf\xcf\x82",
	"\xef\xbc\xa6\xef\xbc\xb5\xef\xbc\xac\xef\xbc\xac", "caf\xc3\xa9", "cafe\xcc\x81",
};

static const char *const needles[] = {
	"gr\xc3\xbc\xc3\x9f" "e", "GR\xc3\x9c\xc3\x9f" "E", "strasse", "STRA\xc3\x9f" "E", "\xc3\x9f",
	"\xef\xac\x81", "fi", "FINANCE", "\xef\xac\x81n", "\"quoted\"", "\"", "\"\"", "a*b",
	"*", "not this", "x:y", ":", "(paren", "paren)", "^car", "near(a", "\xc3\xa4rger",
	"\xc3\x84", "a\xcc\x88", "\xe6\x97\xa5", "\xe6\x97\xa5\xe6\x9c\xac", "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e",
	"\xf0\x9f\x98\x80", "\xf0\x9f\x98\x80!", "a\"b", "--", "{x}", "and or", "o'brien",
	"\xc7\x84" "EBUG", "\xc7\x86" "ebug", "\xc4\xb0st", "ist", "i\xcc\x87st", "\xc4\xb1rm",
	"irm", "\xcf\x83\xce\xaf\xcf\x83", "\xcf\x82", "full", "\xef\xbd\x86\xef\xbd\x95ll",
	"caf\xc3\xa9", "cafe", "e\xcc\x81", "\xc3\xa9", "e", "ee", "eee", "stra\xc3\x9f" "e gr",
	"e\n", "\n", "subject: ", "ject: gr", "zzzz", "", "byteword", "o\xef\xbf\xbd" "b",
	"\xef\xbf\xbd",
	/* U+FFFx: only the same character matches */
	"b\xef\xbf\xbd" "c", "b\xef\xbf\xbf" "c", "b\xef\xbf\xbe" "c",
	"y\xef\xbf\xbf" "z", "y\xef\xbf\xbd" "z", "q\xef\xbf\xbe" "r", "q\xef\xbf\xbf" "r",
	"\xef\xbf\xbf", "\xef\xbf\xbe", "\xef\xbf\xbd" "cd", "\xef\xbf\xbf" "cd",
	/* longer than the FTS5 phrase: found, casemapped, or differing only
	 * after its first 64 characters */
	LONG70, LONG70 "TAILONE", LONG70 "TAILTWO", LONG70 "tailone", "THE-LONG-ONE 0123",
	"\xc3\xa4" LONG70 "\xc3\x84", "\xc3\xa4" LONG70 "\xc3\x85",
	"\xc3\xa4" LONG70 "\xc3\xa4" " " LONG70,
};

static void append_text_messages(void)
{
	uint32_t seed = 12345;

	for (int m = 0; m < 40; m++) {
		struct str msg = STR_INIT;
		int n;

		str_append(&msg, "Subject: ");
		n = 1 + (int)((seed = seed * 1103515245 + 12345) >> 16) % 3;
		for (int k = 0; k < n; k++) {
			seed = seed * 1103515245 + 12345;
			str_printfa(&msg, "%s%s", k > 0 ? " " : "",
				    fragments[(seed >> 16) % N_ELEMENTS(fragments)]);
		}
		str_append(&msg, "\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n");
		n = 2 + (int)((seed = seed * 1103515245 + 12345) >> 16) % 6;
		for (int k = 0; k < n; k++) {
			seed = seed * 1103515245 + 12345;
			str_printfa(&msg, "%s%s", (seed & 0x100) != 0 ? "\r\n" : " ",
				    fragments[(seed >> 16) % N_ELEMENTS(fragments)]);
		}
		str_append(&msg, "\r\n");
		append(msg.data, 0, 0, 0);
		str_free(&msg);
	}
	/* a NUL in a text part (quoted-printable) and words after it */
	append("Subject: nul\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"
	       "zero=00byteword and more\r\n", 0, 0, 0);
}

static uint64_t run64(const struct search_key *key)
{
	struct search_ctx *ctx = search_ctx_create(store, box, key);
	uint64_t mask = 0;

	for (uint32_t msn = 1; msn <= store_mailbox_count(box); msn++) {
		int ret = search_match(ctx, msn);

		assert_true(ret >= 0);
		if (ret > 0)
			mask |= (uint64_t)1 << (msn - 1);
	}
	search_ctx_destroy(&ctx);
	assert_int_equal(run_next64(key), mask);
	return mask;
}

/* The reference: the casemapped needle as bytes in the stored text. */
static uint64_t scan64(enum search_key_type type, const char *needle)
{
	struct str prepared = STR_INIT, header = STR_INIT, body = STR_INIT;
	uint64_t mask = 0;

	(void)casemap_unicode(needle, strlen(needle), &prepared);
	str_append(&prepared, "");
	for (uint32_t msn = 1; msn <= store_mailbox_count(box); msn++) {
		bool hit;

		assert_int_equal(store_mailbox_msg_text(box, msn, &header, &body), 0);
		if (type == SEARCH_KEY_HEADER) {
			hit = mime_text_header_has(header.data, header.len, "SUBJECT",
						   prepared.data, prepared.len);
		} else {
			hit = prepared.len == 0 ||
				memmem(body.data, body.len, prepared.data, prepared.len) != NULL;
			if (type == SEARCH_KEY_TEXT && prepared.len > 0)
				hit = hit || memmem(header.data, header.len, prepared.data,
						    prepared.len) != NULL;
		}
		if (hit)
			mask |= (uint64_t)1 << (msn - 1);
	}
	str_free(&prepared);
	str_free(&header);
	str_free(&body);
	return mask;
}

static void test_index_equals_scan(void **state)
{
	struct store_mailbox *all;
	unsigned int indexed = 0, nonempty = 0;

	(void)state;
	append_text_messages();
	assert_int_equal(store_mailbox_open(store, "INBOX", false, &all), 0);
	store_mailbox_close(&box);
	box = all;
	assert_int_equal(store_mailbox_count(box), 44);
	for (size_t i = 0; i < N_ELEMENTS(needles); i++) {
		static const enum search_key_type types[] = {
			SEARCH_KEY_BODY, SEARCH_KEY_TEXT, SEARCH_KEY_HEADER
		};
		struct store_text_result res;
		int ret = store_mailbox_search_text(box, STORE_TEXT_BODY, NULL, needles[i],
						    strlen(needles[i]), 1, UINT32_MAX, false, &res);

		assert_int_equal(ret, 0);
		/* the index answers for some messages: a needle verified on
		 * the body leaves its candidates to the caller, one the
		 * index cannot narrow every message */
		uint64_t unindexed = 0;
		for (size_t k = 0; k < res.unindexed_count; k++)
			unindexed += (uint64_t)res.unindexed[k].last - res.unindexed[k].first + 1;
		indexed += unindexed < store_mailbox_count(box);
		store_text_result_free(&res);
		for (size_t t = 0; t < N_ELEMENTS(types); t++) {
			struct search_key *key = types[t] == SEARCH_KEY_HEADER ?
				header("Subject", needles[i]) : text(types[t], needles[i]);
			uint64_t want = scan64(types[t], needles[i]);

			if (run64(key) != want)
				fail_msg("needle %zu \"%s\" type %d: index %#llx, scan %#llx", i,
					 needles[i], (int)types[t], (unsigned long long)run64(key),
					 (unsigned long long)want);
			if (want != 0)
				nonempty++;
		}
	}
	/* the comparison is not vacuous: most needles went to the index and
	 * most found something */
	assert_true(indexed > N_ELEMENTS(needles) / 2);
	assert_true(nonempty > N_ELEMENTS(needles));
	/* the text after a NUL is in the index too */
	assert_int_equal(run64(text(SEARCH_KEY_BODY, "byteword")), (uint64_t)1 << 43);
	/* the cases the phrase alone gets wrong are present */
	assert_true(run64(text(SEARCH_KEY_TEXT, "b\xef\xbf\xbd" "c")) != 0);
	assert_int_equal(run64(text(SEARCH_KEY_TEXT, "b\xef\xbf\xbf" "c")), 0);
	assert_true(run64(text(SEARCH_KEY_TEXT, LONG70 "TAILONE")) != 0);
	assert_int_equal(run64(text(SEARCH_KEY_TEXT, LONG70 "TAILTWO")), 0);
}

/* ---- randomized: the index answers what a scan answers ---- */

/* Pieces of text for the random corpus: token characters of every kind
 * (ASCII, Latin with and without case, the ligature U+FB01 that
 * casemaps to a lower-case "fi", CJK, U+FFFD), separators, repeats. */
static const char *const pieces[] = {
	"a", "b", "ab", "ba", "aaa", "fi", "\xef\xac\x81", "F", "I", "1", "9",
	"\xc3\xa9", "\xc3\x89", "\xc3\x9f", "SS", "\xc3\xa4", "\xc3\x84", "\xe6\x97\xa5",
	"\xef\xbf\xbd", "x", "Y", " ", " ", ".", "-", "@", ", ", "_", "'", "\t",
};

static uint32_t rnd(uint32_t *seed, uint32_t n)
{
	*seed = *seed * 1103515245 + 12345;
	return (*seed >> 16) % n;
}

static void random_text(struct str *dest, uint32_t *seed, size_t pieces_count)
{
	for (size_t i = 0; i < pieces_count; i++)
		str_append(dest, pieces[rnd(seed, N_ELEMENTS(pieces))]);
}

/* A random needle: a piece of a random stored text (cut at character
 * boundaries), or random pieces. */
static void random_needle(struct str *dest, uint32_t *seed, const struct str *texts,
			  size_t count)
{
	const struct str *t = &texts[rnd(seed, (uint32_t)count)];
	size_t start, len;

	str_truncate(dest, 0);
	if (rnd(seed, 3) == 0 || t->len == 0) {
		random_text(dest, seed, 1 + rnd(seed, 4));
		return;
	}
	start = rnd(seed, (uint32_t)t->len);
	len = 1 + rnd(seed, rnd(seed, 8) == 0 ? 90 : 12);
	while (start > 0 && ((unsigned char)t->data[start] & 0xc0) == 0x80)
		start--;
	if (start + len > t->len)
		len = t->len - start;
	while (start + len < t->len && ((unsigned char)t->data[start + len] & 0xc0) == 0x80)
		len++;
	str_append_n(dest, t->data + start, len);
}

/* Compares `rounds` random needles' index answers with a scan. */
static void random_round(uint32_t *seed, const struct str *texts, size_t count, int rounds,
			 unsigned int *nonempty, unsigned int *short_hits)
{
	static const enum search_key_type types[] = {
		SEARCH_KEY_BODY, SEARCH_KEY_TEXT, SEARCH_KEY_HEADER
	};
	struct str needle = STR_INIT;

	for (int i = 0; i < rounds; i++) {
		char *copy;

		random_needle(&needle, seed, texts, count);
		copy = p_strdup(pool, needle.data);
		for (size_t t = 0; t < N_ELEMENTS(types); t++) {
			struct search_key *key = types[t] == SEARCH_KEY_HEADER ?
				header("Subject", copy) : text(types[t], copy);
			uint64_t want = scan64(types[t], copy), got = run64(key);

			if (got != want)
				fail_msg("needle %d \"%s\" type %d: index %#llx, scan %#llx", i,
					 copy, (int)types[t], (unsigned long long)got,
					 (unsigned long long)want);
			*nonempty += want != 0;
			*short_hits += want != 0 && needle.len <= 2;
		}
	}
	str_free(&needle);
}

static void reopen_inbox(void)
{
	struct store_mailbox *all;

	assert_int_equal(store_mailbox_open(store, "INBOX", false, &all), 0);
	store_mailbox_close(&box);
	box = all;
}

static void test_random_needles_equal_scan(void **state)
{
	struct str texts[51], msg = STR_INIT;
	uint32_t seed = 20261207;
	unsigned int nonempty = 0, short_hits = 0;

	(void)state;
	for (size_t m = 0; m < N_ELEMENTS(texts); m++) {
		memset(&texts[m], 0, sizeof(texts[m]));
		str_truncate(&msg, 0);
		random_text(&texts[m], &seed, 2 + rnd(&seed, 10));
		str_append(&msg, "Subject: ");
		str_append(&msg, texts[m].data);
		str_append(&msg, "\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n");
		str_truncate(&texts[m], 0);
		random_text(&texts[m], &seed, 5 + rnd(&seed, 60));
		if (m == N_ELEMENTS(texts) - 1) {
			/* after the first round: a token longer than FTS5 keeps
			 * (32768 bytes) */
			/* tokens that differ only in ASCII case after
			 * casemapping (the ligature U+FB01 becomes a
			 * lower-case "fi"), which the tokenizer folds alike */
			append("Subject: c1\r\n\r\nthe \xef\xac\x81 sign\r\n", 0, 0, 0);
			append("Subject: c2\r\n\r\nthe fi sign\r\n", 0, 0, 0);
			reopen_inbox();
			assert_int_equal(store_mailbox_count(box), 52);
			assert_int_equal(run64(text(SEARCH_KEY_BODY, "\xef\xac\x81")) >> 50, 1);
			assert_int_equal(run64(text(SEARCH_KEY_BODY, "FI")) >> 50, 2);
			random_round(&seed, texts, m, 400, &nonempty, &short_hits);
			for (int k = 0; k < 40000; k++)
				str_append_c(&texts[m], (char)('A' + k % 7));
			str_append(&texts[m], "TAILWORD");
		}
		str_append(&msg, texts[m].data);
		str_append(&msg, "\r\n");
		append(msg.data, 0, 0, 0);
	}
	str_free(&msg);
	reopen_inbox();
	assert_int_equal(store_mailbox_count(box), 53);
	random_round(&seed, texts, N_ELEMENTS(texts), 100, &nonempty, &short_hits);
	/* not vacuous */
	assert_true(nonempty > 700);
	assert_true(short_hits > 10);
	/* inside the long token, past what FTS5 keeps */
	assert_int_equal(run64(text(SEARCH_KEY_BODY, "GABTAILWORD")), (uint64_t)1 << 52);
	assert_int_equal(run64(text(SEARCH_KEY_BODY, "GABCDEFGABTAIL")), (uint64_t)1 << 52);
	for (size_t m = 0; m < N_ELEMENTS(texts); m++)
		str_free(&texts[m]);
}

/* Equal text keys share one answer from the index (search.c merges
 * them); the answers stay those of each key alone. */
static void test_equal_text_keys(void **state)
{
	struct search_key *and = search_key_new(pool, SEARCH_KEY_AND);
	struct search_key *or = search_key_new(pool, SEARCH_KEY_OR);
	struct search_key *not = search_key_new(pool, SEARCH_KEY_NOT);

	(void)state;
	/* msn 1 "quick brown fox", msn 3 "NEEDLE" */
	for (int i = 0; i < 10; i++)
		search_key_add_child(and, text(SEARCH_KEY_BODY, "quick"));
	search_key_add_child(and, text(SEARCH_KEY_TEXT, "quick"));
	assert_int_equal(run(and), 1);
	search_key_add_child(and, text(SEARCH_KEY_BODY, "quicker"));
	assert_int_equal(run(and), 0);
	search_key_add_child(or, text(SEARCH_KEY_BODY, "needle"));
	search_key_add_child(or, text(SEARCH_KEY_BODY, "needle"));
	assert_int_equal(run(or), 4);
	search_key_add_child(not, text(SEARCH_KEY_BODY, "needle"));
	search_key_add_child(or, not);
	assert_int_equal(run(or), 7);
	/* same field name in another case, same needle: one answer */
	struct search_key *h = search_key_new(pool, SEARCH_KEY_AND);
	search_key_add_child(h, header("subject", "hello"));
	search_key_add_child(h, header("SUBJECT", "hello"));
	search_key_add_child(h, header("Subject", "hello"));
	assert_int_equal(run(h), 1);
	/* another field, same needle: not merged */
	struct search_key *o = search_key_new(pool, SEARCH_KEY_OR);
	search_key_add_child(o, header("Subject", "alice"));
	search_key_add_child(o, header("From", "alice"));
	assert_int_equal(run(o), 1);
	search_key_add_child(h, header("From", "hello"));
	assert_int_equal(run(h), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_day_from_date),
		cmocka_unit_test_setup_teardown(test_headers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_body_and_text, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dates, setup, teardown),
		cmocka_unit_test_setup_teardown(test_logic_and_index_keys, setup, teardown),
		cmocka_unit_test_setup_teardown(test_expunged_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_index_equals_scan, setup, teardown),
		cmocka_unit_test_setup_teardown(test_equal_text_keys, setup, teardown),
		cmocka_unit_test_setup_teardown(test_random_needles_equal_scan, setup_empty, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
