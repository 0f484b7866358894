/* test-mime-text.c: the decoded header and body text SEARCH looks at
 * (src/mime/text.c): unfolding and RFC 2047 decoding of every field,
 * transfer decoding and charset conversion of text parts, which parts
 * count, embedded messages, invalid UTF-8, the size limits at and past
 * their values, read errors, and the field matcher. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "base/str.h"
#include "mime/parser.h"
#include "mime/text.h"
#include "testlib.h"

/* Extracts msg[0..len), parsing it whole and also fed one byte at a
 * time; both must give the same documents, returned in header/body. */
static void extract_n(const char *msg, size_t len, struct str *header, struct str *body)
{
	struct istream *m = testlib_istream_create(msg, len, UINT64_MAX);
	struct mime_parser *parser;
	const struct mime_part *root = mime_parser_parse(msg, len, &parser);
	struct str h2 = STR_INIT, b2 = STR_INIT;

	assert_int_equal(mime_text_extract(root, m, header, body), 0);
	mime_parser_destroy(&parser);

	parser = mime_parser_create();
	for (size_t i = 0; i < len; i++)
		mime_parser_feed(parser, msg + i, 1);
	root = mime_parser_finish(parser);
	assert_int_equal(mime_text_extract(root, m, &h2, &b2), 0);
	mime_parser_destroy(&parser);
	istream_destroy(&m);
	assert_int_equal(h2.len, header->len);
	assert_int_equal(b2.len, body->len);
	assert_memory_equal(h2.data, header->data, header->len);
	assert_memory_equal(b2.data, body->data, body->len);
	str_free(&h2);
	str_free(&b2);
}

static void extract(const char *msg, struct str *header, struct str *body)
{
	extract_n(msg, strlen(msg), header, body);
}

static void test_header_document(void **state)
{
	struct str h = STR_INIT, b = STR_INIT;

	(void)state;
	extract("From: =?ISO-8859-1?Q?J=F6rg_M=FCller?= <j@example.de>\r\n"
		"Subject:   =?UTF-8?B?R3LDvMOfZQ==?=\r\n"
		"  und\r\n"
		"\tmehr  \r\n"
		"Subject : second\r\n"
		"no colon here\r\n"
		"nor here\r\n"
		" but: on a continuation line\r\n"
		"X-Empty:\r\n"
		"Cc: =?windows-1252?Q?=93Dave=94?= <d@example.org>\r\n"
		"X-Nl: =?UTF-8?Q?a=0Ab=0Dc=00d?=\r\n"
		"X-8bit: Stra\xc3\x9f" "e \xff end\r\n"
		"\r\n"
		"Subject: not a header\r\n", &h, &b);
	assert_string_equal(h.data,
		"From: J\xc3\xb6rg M\xc3\xbcller <j@example.de>\n"
		"Subject: Gr\xc3\xbc\xc3\x9f" "e  und\tmehr\n"
		"Subject: second\n"
		"X-Empty: \n"
		"Cc: \xe2\x80\x9c" "Dave\xe2\x80\x9d <d@example.org>\n"
		"X-Nl: a b c\xef\xbf\xbd" "d\n"
		"X-8bit: Stra\xc3\x9f" "e \xef\xbf\xbd end\n");
	assert_string_equal(b.data, "Subject: not a header\r\n\n");
	str_free(&h);
	str_free(&b);
}

static void test_header_address_lines(void **state)
{
	struct str h = STR_INIT, b = STR_INIT;

	(void)state;
	/* an address field whose addresses read differently once normalised
	 * gets a second line of the same name; To: reads the same */
	extract("From: <user-from (comment)@ (comment) domain.org>\r\n"
		"To: Jo <jo@x.example>\r\n"
		"cc: \"a.b\"@c.example,\r\n"
		"  grp: =?UTF-8?Q?M=C3=BC?= <m (x) @y>;\r\n"
		"Bcc: \r\n"
		"Resent-To: r (c) @d\r\n"
		"X-From: <user-from (comment)@ (comment) domain.org>\r\n"
		"\r\n", &h, &b);
	assert_string_equal(h.data,
		"From: <user-from (comment)@ (comment) domain.org>\n"
		"From: user-from@domain.org\n"
		"To: Jo <jo@x.example>\n"
		"cc: \"a.b\"@c.example,  grp: M\xc3\xbc <m (x) @y>;\n"
		"cc: a.b@c.example, grp: M\xc3\xbc <m@y>;\n"
		"Bcc: \n"
		"Resent-To: r (c) @d\n"
		"Resent-To: r@d\n"
		"X-From: <user-from (comment)@ (comment) domain.org>\n");
	assert_true(mime_text_header_has(h.data, h.len, "from", "user-from@domain.org", 20));
	assert_true(mime_text_header_has(h.data, h.len, "From", "(comment)", 9));
	assert_false(mime_text_header_has(h.data, h.len, "x-from", "user-from@domain.org", 20));
	assert_true(mime_text_header_has(h.data, h.len, "CC", "m@y", 3));
	str_free(&h);
	str_free(&b);
	/* the pair is kept or left out whole at the limit */
	const char *raw = "A: 1\r\nTo: a (b) @c\r\n\r\n";
	mime_text_header_append(raw, strlen(raw), &h, 5 + 13 + 8);
	assert_string_equal(h.data, "A: 1\nTo: a (b) @c\nTo: a@c\n");
	str_truncate(&h, 0);
	mime_text_header_append(raw, strlen(raw), &h, 5 + 13 + 7);
	assert_string_equal(h.data, "A: 1\n");
	str_free(&h);
}

static void test_header_limit(void **state)
{
	struct str h = STR_INIT;
	const char *raw = "A: 1\r\nB: 22\r\n\r\n";

	(void)state;
	/* "A: 1\n" is 5 bytes, "B: 22\n" 6: a field that does not fit goes */
	mime_text_header_append(raw, strlen(raw), &h, 11);
	assert_string_equal(h.data, "A: 1\nB: 22\n");
	str_truncate(&h, 0);
	mime_text_header_append(raw, strlen(raw), &h, 10);
	assert_string_equal(h.data, "A: 1\n");
	str_truncate(&h, 0);
	mime_text_header_append(raw, strlen(raw), &h, 0);
	assert_string_equal(h.data, "");
	/* LF line ends and no blank line */
	str_truncate(&h, 0);
	mime_text_header_append("X: y\nZ: w", 9, &h, 100);
	assert_string_equal(h.data, "X: y\nZ: w\n");
	str_free(&h);
}

static void test_utf8_cleanup(void **state)
{
	struct str s = STR_INIT;

	(void)state;
	/* valid: kept; overlong, surrogate, lone continuation, truncated:
	 * one U+FFFD per bad byte */
	mime_text_append_utf8(&s, "a\xc3\xa4\xf0\x9f\x98\x80", 7);
	assert_string_equal(s.data, "a\xc3\xa4\xf0\x9f\x98\x80");
	str_truncate(&s, 0);
	mime_text_append_utf8(&s, "\xc0\xaf-\xed\xa0\x80-\x80-\xe2\x82", 11);
	assert_string_equal(s.data, "\xef\xbf\xbd\xef\xbf\xbd-\xef\xbf\xbd\xef\xbf\xbd"
			    "\xef\xbf\xbd-\xef\xbf\xbd-\xef\xbf\xbd\xef\xbf\xbd");
	str_truncate(&s, 0);
	mime_text_append_utf8(&s, "x\0y", 3);
	assert_string_equal(s.data, "x\xef\xbf\xbdy");
	str_free(&s);
}

static void test_body_decoding(void **state)
{
	struct str h = STR_INIT, b = STR_INIT;

	(void)state;
	/* base64 UTF-8 */
	extract("Content-Type: text/plain; charset=utf-8\r\n"
		"Content-Transfer-Encoding: base64\r\n\r\n"
		"w4RyZ2VyIG1pdCBkZXIgU3RyYcOfZQ==\r\n", &h, &b);
	assert_string_equal(b.data, "\xc3\x84rger mit der Stra\xc3\x9f" "e\n");
	str_truncate(&h, 0);
	str_truncate(&b, 0);
	/* QP ISO-8859-1 with a soft line break inside a word */
	extract("Content-Type: text/plain; charset=\"ISO-8859-1\"\r\n"
		"Content-Transfer-Encoding: Quoted-Printable\r\n\r\n"
		"Caf=E9 super=\r\ncali\r\n", &h, &b);
	assert_string_equal(b.data, "Caf\xc3\xa9 supercali\r\n\n");
	str_truncate(&h, 0);
	str_truncate(&b, 0);
	/* an unknown charset: the bytes as they are, made valid UTF-8 */
	extract("Content-Type: text/plain; charset=x-unknown-42\r\n\r\n"
		"ok \xc3\xa4 bad \xe4\r\n", &h, &b);
	assert_string_equal(b.data, "ok \xc3\xa4 bad \xef\xbf\xbd\r\n\n");
	str_truncate(&h, 0);
	str_truncate(&b, 0);
	/* no Content-Type: text/plain us-ascii; 8-bit UTF-8 kept */
	extract("Subject: x\r\n\r\nplain gr\xc3\xbc\xc3\x9f" "e", &h, &b);
	assert_string_equal(b.data, "plain gr\xc3\xbc\xc3\x9f" "e\n");
	/* a NUL in the text is U+FFFD too */
	str_truncate(&h, 0);
	str_truncate(&b, 0);
	extract_n("\r\na\0b", 5, &h, &b);
	assert_string_equal(b.data, "a\xef\xbf\xbd" "b\n");
	str_free(&h);
	str_free(&b);
}

static void test_which_parts(void **state)
{
	struct str h = STR_INIT, b = STR_INIT;

	(void)state;
	extract("Subject: outer\r\n"
		"Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n"
		"preamble words\r\n"
		"--b1\r\n"
		"Content-Type: text/plain\r\n\r\n"
		"first text\r\n"
		"--b1\r\n"
		"Content-Type: image/png\r\n"
		"Content-Transfer-Encoding: base64\r\n\r\n"
		"c2VjcmV0cGl4ZWw=\r\n"
		"--b1\r\n"
		"Content-Type: application/octet-stream\r\n\r\n"
		"binary words\r\n"
		"--b1\r\n"
		"Content-Type: multipart/alternative; boundary=\"b2\"\r\n\r\n"
		"--b2\r\n"
		"Content-Type: text/html; charset=utf-8\r\n\r\n"
		"<p>html text</p>\r\n"
		"--b2--\r\n"
		"--b1\r\n"
		"Content-Type: message/rfc822\r\n\r\n"
		"Subject: =?UTF-8?Q?inner_=C3=B6?=\r\n"
		"Content-Type: text/plain; charset=utf-8\r\n"
		"Content-Transfer-Encoding: quoted-printable\r\n\r\n"
		"inner =C3=A4\r\n"
		"--b1\r\n"
		"Content-Type: message/rfc822\r\n"
		"Content-Transfer-Encoding: base64\r\n\r\n"
		"U3ViamVjdDogaGlkZGVuDQoNCmhpZGRlbg==\r\n"
		"--b1--\r\n"
		"epilogue words\r\n", &h, &b);
	assert_string_equal(h.data, "Subject: outer\n"
			    "Content-Type: multipart/mixed; boundary=\"b1\"\n");
	assert_string_equal(b.data,
		"first text\n"
		"<p>html text</p>\n"
		"Subject: inner \xc3\xb6\n"
		"Content-Type: text/plain; charset=utf-8\n"
		"Content-Transfer-Encoding: quoted-printable\n"
		"inner \xc3\xa4\n");
	str_free(&h);
	str_free(&b);
}

static void test_body_limit(void **state)
{
	struct str h = STR_INIT, b = STR_INIT;
	const char *head = "Content-Type: text/plain; charset=utf-8\r\n\r\n";
	size_t hl = strlen(head);
	/* a body of exactly the limit minus the final LF, then one byte more:
	 * the LF goes first, then whole characters (ä is 2 bytes) */
	size_t n = MIME_TEXT_MAX_BODY - 1;
	char *msg = malloc(hl + n + 2);

	(void)state;
	memcpy(msg, head, hl);
	memset(msg + hl, 'x', n);
	extract_n(msg, hl + n, &h, &b);
	assert_int_equal(b.len, MIME_TEXT_MAX_BODY);
	assert_int_equal(b.data[b.len - 1], '\n');
	str_truncate(&h, 0);
	str_truncate(&b, 0);
	memset(msg + hl, 'x', n + 1);
	extract_n(msg, hl + n + 1, &h, &b);
	assert_int_equal(b.len, MIME_TEXT_MAX_BODY);
	assert_int_equal(b.data[b.len - 1], 'x');
	str_truncate(&h, 0);
	str_truncate(&b, 0);
	/* "ä" straddling the limit is left out whole (the part's LF then
	 * fits) */
	memset(msg + hl, 'x', n);
	memcpy(msg + hl + n, "\xc3\xa4", 2);
	extract_n(msg, hl + n + 2, &h, &b);
	assert_int_equal(b.len, MIME_TEXT_MAX_BODY);
	assert_int_equal(b.data[b.len - 2], 'x');
	assert_int_equal(b.data[b.len - 1], '\n');
	free(msg);
	str_free(&h);
	str_free(&b);
}

static void test_read_error(void **state)
{
	const char *msg = "Subject: a\r\n\r\nbody text\r\n";
	struct istream *m = testlib_istream_create(msg, strlen(msg), 14);
	struct mime_parser *parser;
	const struct mime_part *root = mime_parser_parse(msg, strlen(msg), &parser);
	struct str h = STR_INIT, b = STR_INIT;

	(void)state;
	assert_int_equal(mime_text_extract(root, m, &h, &b), -1);
	testlib_istream_fail_at(m, 0);
	str_truncate(&h, 0);
	assert_int_equal(mime_text_extract(root, m, &h, &b), -1);
	mime_parser_destroy(&parser);
	istream_destroy(&m);
	str_free(&h);
	str_free(&b);
}

static void test_header_has(void **state)
{
	const char *doc = "FROM: J\xc3\xb6rg <j@x>\nSUBJECT: hello world\nX-EMPTY: \n"
		"SUBJECTX: other\n";
	size_t len = strlen(doc);

	(void)state;
	assert_true(mime_text_header_has(doc, len, "subject", "lo wo", 5));
	assert_true(mime_text_header_has(doc, len, "Subject", "", 0));
	assert_true(mime_text_header_has(doc, len, "x-empty", "", 0));
	assert_false(mime_text_header_has(doc, len, "x-empty", " ", 1));
	assert_false(mime_text_header_has(doc, len, "x-missing", "", 0));
	/* the name is not part of the value, and matches whole */
	assert_false(mime_text_header_has(doc, len, "subject", "SUBJECT", 7));
	assert_false(mime_text_header_has(doc, len, "subj", "", 0));
	assert_true(mime_text_header_has(doc, len, "subjectx", "other", 5));
	assert_false(mime_text_header_has(doc, len, "subject", "other", 5));
	/* a value never spans lines */
	assert_false(mime_text_header_has(doc, len, "subject", "world\nX", 7));
	assert_true(mime_text_header_has(doc, len, "from", "J\xc3\xb6rg", 5));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_header_document),
		cmocka_unit_test(test_header_address_lines),
		cmocka_unit_test(test_header_limit),
		cmocka_unit_test(test_utf8_cleanup),
		cmocka_unit_test(test_body_decoding),
		cmocka_unit_test(test_which_parts),
		cmocka_unit_test(test_body_limit),
		cmocka_unit_test(test_read_error),
		cmocka_unit_test(test_header_has),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
