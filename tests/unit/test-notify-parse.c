/* test-notify-parse.c: the NOTIFY argument parser (src/imap/notify-parse.c):
 * both forms, every filter and event in any case, the events with and
 * without their parentheses, fetch-atts, and each RFC 5465 rule that is
 * a BAD or a NO [BADEVENT].  Each command goes through the IMAP parser
 * whole and one byte at a time (NOTIFY's fetch-atts are FETCH's, with
 * spaces inside the brackets). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "base/pool.h"
#include "base/str.h"
#include "imap/notify-parse.h"
#include "syntax/imap-parser.h"

struct parsed {
	struct imap_parser *parser;
	struct pool *pool;
	struct imap_notify_spec *spec;
	const char *error;
	enum imap_notify_parse_result result;
};

/* Feeds "t NOTIFY <args>\r\n" whole, or one byte at a time. */
static void parse(struct parsed *p, const char *args, bool bytewise)
{
	struct str line = STR_INIT;
	str_printfa(&line, "t NOTIFY %s\r\n", args);
	p->parser = imap_parser_create(NULL);
	size_t pos = 0, used;
	int ret = 0;
	while (pos < line.len && ret == 0) {
		size_t n = bytewise ? 1 : line.len - pos;
		ret = imap_parser_feed(p->parser, (const unsigned char *)line.data + pos, n, &used);
		pos += used;
	}
	assert_int_equal(ret, 1);
	assert_int_equal(pos, line.len);
	str_free(&line);
	p->pool = pool_create(1024);
	p->error = NULL;
	p->result = imap_notify_parse(imap_parser_command(p->parser)->args, p->pool,
				      &p->spec, &p->error);
}

static void parsed_free(struct parsed *p)
{
	pool_destroy(&p->pool);
	imap_parser_destroy(&p->parser);
}

static enum imap_notify_parse_result result_of(const char *args)
{
	struct parsed whole, bytes;
	parse(&whole, args, false);
	parse(&bytes, args, true);
	assert_int_equal(whole.result, bytes.result);
	if (whole.result == IMAP_NOTIFY_PARSE_BAD || whole.result == IMAP_NOTIFY_PARSE_BADEVENT)
		assert_true(whole.error != NULL && whole.error[0] != '\0');
	enum imap_notify_parse_result r = whole.result;
	parsed_free(&whole);
	parsed_free(&bytes);
	return r;
}

static void test_none(void **state)
{
	(void)state;
	assert_int_equal(result_of("NONE"), IMAP_NOTIFY_PARSE_NONE);
	assert_int_equal(result_of("none"), IMAP_NOTIFY_PARSE_NONE);
	assert_int_equal(result_of("NONE x"), IMAP_NOTIFY_PARSE_BAD);
}

static void test_rfc_example(void **state)
{
	(void)state;
	struct parsed p;
	parse(&p, "set status (selected (MessageNew (uid body.peek[header.fields "
		  "(from to subject)]) MessageExpunge)) (subtree Lists MessageNew "
		  "MessageExpunge) (mailboxes (misc \"a b\") (MessageNew MessageExpunge "
		  "FlagChange))", true);
	assert_int_equal(p.result, IMAP_NOTIFY_PARSE_SET);
	struct imap_notify_spec *spec = p.spec;
	assert_true(spec->status);
	assert_int_equal(spec->selected, IMAP_NOTIFY_SELECTED);
	assert_int_equal(spec->selected_events,
			 IMAP_NOTIFY_MESSAGE_NEW | IMAP_NOTIFY_MESSAGE_EXPUNGE);
	assert_true(spec->has_fetch);
	assert_int_equal(spec->fetch.body_count, 1);
	assert_string_equal(spec->fetch.bodies[0].resp_name,
			    "BODY[HEADER.FIELDS (from to subject)]");
	assert_int_equal(spec->group_count, 2);
	assert_int_equal(spec->groups[0].filter, IMAP_NOTIFY_FILTER_SUBTREE);
	assert_int_equal(spec->groups[0].name_count, 1);
	assert_string_equal(spec->groups[0].names[0], "Lists");
	assert_int_equal(spec->groups[1].filter, IMAP_NOTIFY_FILTER_MAILBOXES);
	assert_int_equal(spec->groups[1].name_count, 2);
	assert_string_equal(spec->groups[1].names[1], "a b");
	assert_int_equal(spec->groups[1].events, IMAP_NOTIFY_MESSAGE_EVENTS);
	parsed_free(&p);
}

static void test_filters_and_events(void **state)
{
	(void)state;
	struct parsed p;
	parse(&p, "SET (Selected-Delayed (messagenew messageexpunge flagchange)) "
		  "(INBOXES NONE) (personal (MailboxName)) (subscribed (SubscriptionChange))",
		  false);
	assert_int_equal(p.result, IMAP_NOTIFY_PARSE_SET);
	assert_false(p.spec->status);
	assert_int_equal(p.spec->selected, IMAP_NOTIFY_SELECTED_DELAYED);
	assert_int_equal(p.spec->selected_events, IMAP_NOTIFY_MESSAGE_EVENTS);
	assert_false(p.spec->has_fetch);
	assert_int_equal(p.spec->group_count, 3);
	assert_int_equal(p.spec->groups[0].filter, IMAP_NOTIFY_FILTER_INBOXES);
	assert_int_equal(p.spec->groups[0].events, 0);
	assert_int_equal(p.spec->groups[1].events, IMAP_NOTIFY_MAILBOX_NAME);
	assert_int_equal(p.spec->groups[2].filter, IMAP_NOTIFY_FILTER_SUBSCRIBED);
	assert_int_equal(p.spec->groups[2].events, IMAP_NOTIFY_SUBSCRIPTION_CHANGE);
	parsed_free(&p);
}

static void test_bad(void **state)
{
	(void)state;
	static const char *const bad[] = {
		"", "SET", "SET STATUS", "FOO", "SET ()", "SET x",
		"SET (selected)", "SET (selected ())", "SET (selected (MessageNew))",
		"SET (selected (MessageNew FlagChange))", "SET (selected (MailboxName))",
		"SET (selected NONE) (selected-delayed NONE)",
		"SET (selected (MessageNew (x-bogus) MessageExpunge))",
		"SET (selected (MessageNew () MessageExpunge))",
		"SET (personal (MessageNew (UID) MessageExpunge))",
		"SET (personal (MessageNew MessageExpunge) x)",
		"SET (personal NONE x)", "SET (personal ((MessageNew)))",
		"SET (personal (\"MessageNew\" MessageExpunge))",
		"SET (subtree)", "SET (subtree (MessageNew MessageExpunge))",
		"SET (mailboxes () (MessageNew MessageExpunge))",
		"SET (mailboxes (NIL (x)) (MessageNew MessageExpunge))",
		"SET (mailboxes INBOX)", "SET (personal (AnnotationChange))",
		"SET (personal (MessageNew MessageExpunge)) x",
	};
	for (size_t i = 0; i < N_ELEMENTS(bad); i++) {
		if (result_of(bad[i]) != IMAP_NOTIFY_PARSE_BAD)
			fail_msg("not BAD: %s", bad[i]);
	}
}

static void test_badevent(void **state)
{
	(void)state;
	static const char *const unsupported[] = {
		"SET (personal (MessageNew MessageExpunge AnnotationChange))",
		"SET (personal (MailboxMetadataChange))",
		"SET (personal (ServerMetadataChange))",
		"SET (inboxes (X-Event))",
	};
	for (size_t i = 0; i < N_ELEMENTS(unsupported); i++) {
		struct parsed p;
		parse(&p, unsupported[i], false);
		assert_int_equal(p.result, IMAP_NOTIFY_PARSE_BADEVENT);
		assert_string_equal(p.error, "[BADEVENT (" IMAP_NOTIFY_SUPPORTED_EVENTS ")] "
				    "Unsupported NOTIFY event.");
		assert_null(p.spec);
		parsed_free(&p);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_none),
		cmocka_unit_test(test_rfc_example),
		cmocka_unit_test(test_filters_and_events),
		cmocka_unit_test(test_bad),
		cmocka_unit_test(test_badevent),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
