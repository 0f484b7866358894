/* test-sieve-mailto.c: mailto URIs as enotify methods (src/sieve/mailto.c):
 * the examples of RFC 6068 section 6 and RFC 5436, recipients from the
 * "to" part and the to/cc headers, the headers RFC 5436 2.7 says to
 * ignore, every error and limit (at and past it), :encodeurl, the
 * capability answers and the notification message of RFC 5436 3. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "base/pool.h"
#include "base/str.h"
#include "sieve/mailto.h"
#include "submit/submit.h"

static struct pool *pool;

static int setup(void **state)
{
	(void)state;
	pool = pool_create(0);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	pool_destroy(&pool);
	return 0;
}

/* The recipients of a valid URI, "to:a cc:b ...". */
static const char *recipients(const char *uri, struct sieve_mailto *m)
{
	const char *error = NULL;
	struct str s = STR_INIT;
	const char *ret;

	if (sieve_mailto_parse(pool, uri, m, &error) < 0)
		fail_msg("%s: %s", uri, error);
	for (size_t i = 0; i < m->recipient_count; i++)
		str_printfa(&s, "%s%s:%s", i > 0 ? " " : "", m->recipients[i].cc ? "cc" : "to",
			    m->recipients[i].address);
	ret = p_strdup(pool, str_c(&s));
	str_free(&s);
	return ret;
}

static void test_rfc6068_examples(void **state)
{
	struct sieve_mailto m;

	(void)state;
	assert_string_equal(recipients("mailto:chris@example.com", &m), "to:chris@example.com");
	assert_string_equal(recipients("mailto:infobot@example.com?subject=current-issue", &m),
			    "to:infobot@example.com");
	assert_string_equal(m.subject, "current-issue");
	recipients("mailto:infobot@example.com?body=send%20current-issue%0D%0Asend%20index", &m);
	assert_string_equal(m.body, "send current-issue\r\nsend index");
	recipients("mailto:list@example.org?In-Reply-To=%3C3469A91.D10AF4C@example.com%3E", &m);
	assert_int_equal(m.header_count, 1);
	assert_string_equal(m.headers[0].name, "In-Reply-To");
	assert_string_equal(m.headers[0].value, "<3469A91.D10AF4C@example.com>");
	assert_string_equal(recipients("mailto:joe@example.com?cc=bob@example.com&body=hello", &m),
			    "to:joe@example.com cc:bob@example.com");
	assert_string_equal(recipients("mailto:gorby%25kremvax@example.com", &m),
			    "to:gorby%kremvax@example.com");
	assert_string_equal(recipients("mailto:unlikely%3Faddress@example.com?blat=foop", &m),
			    "to:unlikely?address@example.com");
	assert_string_equal(recipients("mailto:%22not%40me%22@example.org", &m),
			    "to:\"not@me\"@example.org");
	assert_string_equal(recipients("mailto:%22%5C%5C%22@example.com", &m),
			    "to:\"\\\\\"@example.com");
	assert_string_equal(recipients("mailto:?to=addr1@an.example,addr2@an.example", &m),
			    "to:addr1@an.example to:addr2@an.example");
	assert_string_equal(recipients("mailto:addr1@an.example,addr2@an.example", &m),
			    "to:addr1@an.example to:addr2@an.example");
	assert_string_equal(recipients("mailto:user@%5B192.0.2.1%5D", &m), "to:user@[192.0.2.1]");
	/* "/" and "?" are taken in header values (RFC 3986 query characters) */
	recipients("mailto:a@example.com?body=see%20http://example.com/?a", &m);
	assert_string_equal(m.body, "see http://example.com/?a");
	recipients("mailto:user@example.org?subject=caf%C3%A9", &m);
	assert_string_equal(m.subject, "caf\xc3\xa9");
	/* RFC 5436 3 */
	assert_string_equal(recipients("MAILTO:0123456789@sms.example.net?to=backup@example.com", &m),
			    "to:0123456789@sms.example.net to:backup@example.com");
	/* no recipient: valid (RFC 5435 4's example; Pigeonhole) */
	assert_string_equal(recipients("mailto:", &m), "");
	assert_string_equal(recipients("mailto:?subject=x&to=", &m), "");
	/* duplicates are dropped */
	assert_string_equal(recipients("mailto:a@example.com?to=A@EXAMPLE.COM&cc=a@example.com", &m),
			    "to:a@example.com");
}

static void test_ignored_headers(void **state)
{
	struct sieve_mailto m;

	(void)state;
	recipients("mailto:a@example.com?from=evil@example.com&Auto-Submitted=no&received=x"
		   "&message-id=x&date=x&sender=x&bcc=c@example.com&resent-to=x"
		   "&content-type=text/html&mime-version=2&X-Keep=yes", &m);
	assert_int_equal(m.header_count, 1);
	assert_string_equal(m.headers[0].name, "X-Keep");
	assert_int_equal(m.recipient_count, 1);
}

static void expect_error(const char *uri, const char *expect)
{
	struct sieve_mailto m;
	const char *error = NULL;

	assert_int_equal(sieve_mailto_parse(pool, uri, &m, &error), -1);
	if (strstr(error, expect) == NULL)
		fail_msg("%s: %s", uri, error);
	assert_false(sieve_mailto_is_valid(uri));
	assert_null(sieve_mailto_capability(uri, "online"));
}

static void test_errors(void **state)
{
	struct str uri = STR_INIT;

	(void)state;
	expect_error("http://example.com/", "not a mailto URI");
	expect_error("mailto:a", "invalid recipient");
	expect_error("mailto:a@", "invalid recipient");
	expect_error("mailto:a@b,", "invalid recipient");
	expect_error("mailto:a..b@example.com", "invalid recipient");
	expect_error("mailto:a b@example.com", "invalid recipient");
	expect_error("mailto:a%2@example.com", "invalid recipient");
	expect_error("mailto:a%00@example.com", "invalid recipient");
	expect_error("mailto:a%ff@example.com", "invalid recipient");
	expect_error("mailto:a@example.com?subject", "has no \"=\"");
	expect_error("mailto:a@example.com?bad%20name=x", "invalid header name");
	expect_error("mailto:a@example.com?subject=a%0D%0Ab", "line break");
	expect_error("mailto:a@example.com?subject=a&subject=b", "given twice");
	expect_error("mailto:a@example.com?body=a&body=b", "given twice");
	expect_error("mailto:a@example.com?subject=a b", "invalid value");
	expect_error("mailto:a/b@example.com", "invalid recipient");
	expect_error("mailto:a@example.com?cc=x", "invalid recipient");
	/* the limits, at and past */
	str_append(&uri, "mailto:");
	for (int i = 0; i < SIEVE_MAILTO_MAX_ADDRESS - 12; i++)
		str_append_c(&uri, 'a');
	str_append(&uri, "@example.com");
	assert_true(sieve_mailto_is_valid(str_c(&uri)));
	str_truncate(&uri, 7);
	for (int i = 0; i < SIEVE_MAILTO_MAX_ADDRESS - 11; i++)
		str_append_c(&uri, 'a');
	str_append(&uri, "@example.com");
	expect_error(str_c(&uri), "invalid recipient");
	str_truncate(&uri, 0);
	str_append(&uri, "mailto:a@example.com?");
	for (int i = 0; i < SIEVE_MAILTO_MAX_NAME; i++)
		str_append_c(&uri, 'x');
	str_append(&uri, "=1");
	assert_true(sieve_mailto_is_valid(str_c(&uri)));
	str_truncate(&uri, 21);
	for (int i = 0; i <= SIEVE_MAILTO_MAX_NAME; i++)
		str_append_c(&uri, 'x');
	str_append(&uri, "=1");
	expect_error(str_c(&uri), "invalid header name");
	str_truncate(&uri, 0);
	str_append(&uri, "mailto:a0@example.com");
	for (int i = 1; i < SIEVE_MAILTO_MAX_RECIPIENTS; i++)
		str_printfa(&uri, ",a%d@example.com", i);
	assert_true(sieve_mailto_is_valid(str_c(&uri)));
	str_append(&uri, ",over@example.com");
	expect_error(str_c(&uri), "recipients");
	str_truncate(&uri, 0);
	str_append(&uri, "mailto:a@example.com?");
	for (int i = 0; i < SIEVE_MAILTO_MAX_HEADERS; i++)
		str_printfa(&uri, "%sx-%d=1", i > 0 ? "&" : "", i);
	assert_true(sieve_mailto_is_valid(str_c(&uri)));
	str_append(&uri, "&x-over=1");
	expect_error(str_c(&uri), "headers");
	str_free(&uri);
}

static void test_capability_and_encodeurl(void **state)
{
	struct str s = STR_INIT;

	(void)state;
	assert_string_equal(sieve_mailto_capability("mailto:a@example.com", "ONLINE"), "maybe");
	assert_null(sieve_mailto_capability("mailto:a@example.com", "battery"));
	sieve_mailto_encodeurl("Safe body&evil=evilbody", 23, &s);
	assert_string_equal(str_c(&s), "Safe%20body%26evil%3Devilbody");
	str_truncate(&s, 0);
	sieve_mailto_encodeurl("a-._~\xc3\xa9\x01", 8, &s);
	assert_string_equal(str_c(&s), "a-._~%C3%A9%01");
	str_free(&s);
}

/* RFC 5436 3: the notification of the example, from the parsed URI
 * (sieve_mailto_notify_fill) through submit_notify_compose() as the
 * delivery sends it */
static void test_compose(void **state)
{
	static const char trigger[] =
		"Return-Path: <knitting-bounces@example.com>\r\n"
		"Message-ID: <1234567.89ABCDEF@example.com>\r\n"
		"Subject: [Knitting] A new sweater\r\n"
		"\r\n";
	struct sieve_mailto m;
	const char *error = NULL;
	struct submit_origin origin = { .hostname = "mail.example.org", .date = 1133950135 };
	struct str out = STR_INIT;

	(void)state;
	assert_int_equal(sieve_mailto_parse(pool, "mailto:0123456789@sms.example.net?"
					    "cc=backup@example.com&X-Tag=caf%C3%A9&body=Look%21",
					    &m, &error), 0);
	struct submit_notify n = {
		.orig_header = trigger,
		.orig_header_len = strlen(trigger),
		.from = "recipient@example.org",
		.owner = "recipient@example.org",
		.importance = 3,
	};
	sieve_mailto_notify_fill(&m, pool, &n);
	assert_int_equal(n.to_count, 1);
	assert_int_equal(n.cc_count, 1);
	assert_string_equal(n.to[0], "0123456789@sms.example.net");
	assert_string_equal(n.cc[0], "backup@example.com");
	assert_int_equal(n.header_count, 1);
	assert_string_equal(n.body, "Look!");
	submit_notify_compose(&out, &n, &origin);
	const char *msg = str_c(&out);
	assert_true(strncmp(msg, "Auto-Submitted: auto-notified; "
			    "owner-email=\"recipient@example.org\"\r\n", 67) == 0);
	assert_non_null(strstr(msg, "\r\nTo: <0123456789@sms.example.net>\r\n"));
	assert_non_null(strstr(msg, "\r\nCc: <backup@example.com>\r\n"));
	assert_non_null(strstr(msg, "\r\nSubject: [Knitting] A new sweater\r\n"));
	assert_non_null(strstr(msg, "\r\nImportance: low\r\n"));
	assert_non_null(strstr(msg, "\r\nX-Tag: =?UTF-8?"));
	assert_non_null(strstr(msg, "\r\n\r\nLook!"));
	str_free(&out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc6068_examples),
		cmocka_unit_test(test_ignored_headers),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_capability_and_encodeurl),
		cmocka_unit_test(test_compose),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
