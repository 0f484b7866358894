/* test-import-source.c: the parsers of `roost import` (cli/import-source.h):
 * mbox messages and their From_ dates, >From unquoting in both formats,
 * the flag headers, CRLF; Maildir file names; dovecot-uidlist (1 and 3),
 * courierimapuiddb and dovecot-keywords, with what does not parse. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "base/base.h"
#include "base/str.h"
#include "cli/import-source.h"
#include "store/store.h"
#include "testlib.h"

static int next(struct import_mbox *mbox, struct import_mbox_msg *msg)
{
	const char *error = NULL;
	int ret = import_mbox_next(mbox, msg, &error);

	assert_true(ret >= 0 || error != NULL);
	return ret;
}

static void test_mbox_messages(void **state)
{
	(void)state;
	const char data[] =
		"From a@b Mon Jan  8 09:30:00 2024\n"
		"Subject: one\n\nbody\nFrom me, no date\n\n"
		"From c@d Tue Feb 13 23:59:59 +0100 2024\n"
		"Subject: two\n\n>From x\n\n"
		"From e@f Wed Mar  6 01:02:03 2024\r\n"
		"Subject: three\r\n\r\nend";
	struct import_mbox mbox;
	struct import_mbox_msg msg;

	import_mbox_init(&mbox, data, strlen(data));
	assert_int_equal(next(&mbox, &msg), 1);
	assert_true(msg.has_date);
	assert_int_equal(msg.date, 1704706200);
	assert_int_equal(msg.offset, 0);
	assert_int_equal(msg.text_len, strlen("Subject: one\n\nbody\nFrom me, no date\n"));
	assert_memory_equal(msg.text, "Subject: one\n\nbody\nFrom me, no date\n", msg.text_len);
	assert_false(msg.truncated);
	assert_int_equal(next(&mbox, &msg), 1);
	/* 23:59:59 +0100 is 22:59:59 UTC */
	assert_int_equal(msg.date, 1707865199);
	assert_memory_equal(msg.text, "Subject: two\n\n>From x\n", msg.text_len);
	assert_int_equal(next(&mbox, &msg), 1);
	assert_true(msg.truncated);
	assert_int_equal(next(&mbox, &msg), 0);

	import_mbox_init(&mbox, "", 0);
	assert_int_equal(next(&mbox, &msg), 0);
	import_mbox_init(&mbox, "Subject: x\n", 11);
	assert_int_equal(next(&mbox, &msg), -1);
	/* a From_ line alone, cut */
	import_mbox_init(&mbox, "From x", 6);
	assert_int_equal(next(&mbox, &msg), 1);
	assert_true(msg.truncated);
	assert_false(msg.has_date);
	assert_int_equal(next(&mbox, &msg), 0);
}

static void test_from_dates(void **state)
{
	(void)state;
	static const struct {
		const char *line;
		time_t date;
	} good[] = {
		{ "a Mon Jan  8 09:30:00 2024", 1704706200 },
		{ "a Jan 8 09:30 2024", 1704706200 },
		{ "MAILER-DAEMON Mon Jan  8 09:30:00 2024 -0500", 1704706200 + 5 * 3600 },
		{ "a Mon Jan  8 09:30:00 UTC 2024", 1704706200 },
		{ "a Mon Jan  8 09:30:00 2024 remote from x", 1704706200 },
	};
	static const char *const bad[] = {
		"", "a", "a Mon", "a Mon Foo  8 09:30:00 2024", "a Mon Jan 32 09:30:00 2024",
		"a Mon Jan  8 25:30:00 2024", "a Mon Jan  8 09:30:00 99", "a Mon Jan  8 0930 2024",
		"a Mon Jan  8 09:30:00 +01 2024",
	};
	time_t date;

	for (size_t i = 0; i < N_ELEMENTS(good); i++) {
		assert_int_equal(import_mbox_from_date(good[i].line, strlen(good[i].line), &date), 0);
		assert_int_equal(date, good[i].date);
	}
	for (size_t i = 0; i < N_ELEMENTS(bad); i++)
		assert_int_equal(import_mbox_from_date(bad[i], strlen(bad[i]), &date), -1);
}

static void test_convert(void **state)
{
	(void)state;
	const char text[] =
		"Subject: s\nStatus: RO\nX-Status: AFTD\nX-Keywords: $Label1, work\n"
		" more \\bad\nContent-Length: 5\nX-UID: 3\n\n"
		">From a\n>>From b\nFrom c\nStatus: body\n";
	struct str out = STR_INIT;
	struct import_meta meta = { .keywords = STR_INIT };

	import_message_convert(text, strlen(text), true, IMPORT_MBOX_RD, &out, &meta);
	assert_string_equal(str_c(&out), "Subject: s\r\n\r\nFrom a\r\n>From b\r\nFrom c\r\n"
			    "Status: body\r\n");
	assert_int_equal(meta.flags, STORE_FLAG_SEEN | STORE_FLAG_ANSWERED | STORE_FLAG_FLAGGED |
			 STORE_FLAG_DRAFT | STORE_FLAG_DELETED);
	assert_int_equal(meta.keyword_count, 3);
	assert_memory_equal(meta.keywords.data, "$Label1\0work\0more\0", 18);
	assert_int_equal(meta.bad_keywords, 1);

	str_truncate(&out, 0);
	import_message_convert(text, strlen(text), true, IMPORT_MBOX_O, &out, &meta);
	assert_non_null(strstr(str_c(&out), "\r\nFrom a\r\n>>From b\r\n"));
	/* not an mbox: only line ends change, CRLF stays */
	str_truncate(&out, 0);
	import_message_convert("Status: RO\r\n\n>From x", 21, false, IMPORT_MBOX_RD, &out, NULL);
	assert_string_equal(str_c(&out), "Status: RO\r\n\r\n>From x");
	str_free(&out);
	str_free(&meta.keywords);
}

static void test_maildir_names(void **state)
{
	(void)state;
	struct import_maildir_name fn;

	import_maildir_name_parse("123.M1.host,S=5:2,DFRSTab", &fn);
	assert_int_equal(fn.unique_len, strlen("123.M1.host,S=5"));
	assert_true(fn.has_info);
	assert_int_equal(fn.flags, STORE_FLAGS_ALL);
	assert_int_equal(fn.keyword_letters, 3);
	assert_int_equal(fn.bad_flags, 0);
	import_maildir_name_parse("123.host", &fn);
	assert_false(fn.has_info);
	assert_int_equal(fn.flags, 0);
	import_maildir_name_parse("123.host:2,S!X1P", &fn);
	assert_int_equal(fn.flags, STORE_FLAG_SEEN);
	assert_int_equal(fn.bad_flags, 3);
	import_maildir_name_parse("123.host:1,S", &fn);
	assert_false(fn.has_info);
	assert_int_equal(fn.unique_len, 8);
}

static void test_uidlists(void **state)
{
	(void)state;
	struct import_uidlist list;
	const char *error;
	const char v3[] = "3 V1234 N40 Gabc\n7 :a.host\n12 W1 S2 :b.host:2,S\n"
		"12 :dup\n0 :zero\nx :bad\n13 noname\n30 :c\n";

	assert_int_equal(import_uidlist_parse(v3, strlen(v3), false, &list, &error), 0);
	assert_int_equal(list.uidvalidity, 1234);
	assert_int_equal(list.uidnext, 40);
	assert_int_equal(list.count, 3);
	assert_int_equal(list.bad_lines, 4);
	import_uidlist_sort(&list);
	assert_int_equal(import_uidlist_lookup(&list, "b.host:2,X", 6), 12);
	assert_int_equal(import_uidlist_lookup(&list, "c", 1), 30);
	assert_int_equal(import_uidlist_lookup(&list, "a.hos", 5), 0);
	import_uidlist_free(&list);

	const char v1[] = "1 55 9\n3 x.host\n4 y.host:2,S\n";
	assert_int_equal(import_uidlist_parse(v1, strlen(v1), false, &list, &error), 0);
	assert_int_equal(list.uidvalidity, 55);
	assert_int_equal(list.count, 2);
	import_uidlist_free(&list);
	assert_int_equal(import_uidlist_parse(v1, strlen(v1), true, &list, &error), 0);
	assert_int_equal(list.count, 2);
	import_uidlist_free(&list);

	static const char *const bad[] = { "", "2 V1\n", "3 N5\n", "3 V0\n", "1 5\n", "1 x 5\n" };
	for (size_t i = 0; i < N_ELEMENTS(bad); i++) {
		assert_int_equal(import_uidlist_parse(bad[i], strlen(bad[i]), false, &list,
						      &error), -1);
		assert_int_equal(list.count, 0);
	}
	assert_int_equal(import_uidlist_parse("3 V1\n", 5, true, &list, &error), -1);
}

static void test_keywords(void **state)
{
	(void)state;
	char *names[26];
	size_t bad;
	const char data[] = "0 $Important\n1 work\n26 toohigh\n2 bad word\n0 again\nx y\n\n3 ok";

	import_keywords_parse(data, strlen(data), names, &bad);
	assert_string_equal(names[0], "$Important");
	assert_string_equal(names[1], "work");
	assert_null(names[2]);
	assert_string_equal(names[3], "ok");
	assert_int_equal(bad, 4);
	import_keywords_free(names);
	assert_null(names[0]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mbox_messages),
		cmocka_unit_test(test_from_dates),
		cmocka_unit_test(test_convert),
		cmocka_unit_test(test_maildir_names),
		cmocka_unit_test(test_uidlists),
		cmocka_unit_test(test_keywords),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
