/* test-mime-preview.c: the RFC 8970 preview (src/mime/preview.c): which
 * part it comes from (plain, HTML-only, multipart/alternative, an
 * attachment or an attached message not counting), transfer encodings
 * and charsets, the HTML reduction (tags, comments, hidden elements,
 * character references, things that only look like tags), white space
 * normalisation, the length limit at and past its value in characters
 * (not bytes), invalid UTF-8, broken MIME and read errors. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "base/str.h"
#include "base/utf8.h"
#include "mime/parser.h"
#include "mime/preview.h"
#include "testlib.h"

/* The preview of msg, parsed whole and fed one byte at a time (both
 * must agree); checked to be valid UTF-8 of at most the limit. */
static void preview_of(const char *msg, struct str *dest)
{
	size_t len = strlen(msg);
	struct istream *m = testlib_istream_create(msg, len, UINT64_MAX);
	struct mime_parser *parser;
	const struct mime_part *root = mime_parser_parse(msg, len, &parser);
	struct str again = STR_INIT;
	size_t chars = 0;

	assert_int_equal(mime_preview_extract(root, m, dest), 0);
	mime_parser_destroy(&parser);
	parser = mime_parser_create();
	for (size_t i = 0; i < len; i++)
		mime_parser_feed(parser, msg + i, 1);
	assert_int_equal(mime_preview_extract(mime_parser_finish(parser), m, &again), 0);
	mime_parser_destroy(&parser);
	istream_destroy(&m);
	assert_string_equal(again.data, dest->data);
	str_free(&again);
	for (size_t i = 0; i < dest->len; chars++) {
		size_t n = utf8_seq_len((const unsigned char *)dest->data + i, dest->len - i);

		assert_true(n > 0);
		i += n;
	}
	assert_true(chars <= MIME_PREVIEW_MAX_CHARS);
	assert_int_equal(strlen(dest->data), dest->len);
}

static void assert_preview(const char *msg, const char *want)
{
	struct str p = STR_INIT;

	preview_of(msg, &p);
	assert_string_equal(p.data, want);
	str_free(&p);
}

static void test_plain(void **state)
{
	(void)state;
	assert_preview("Subject: x\r\n\r\n  Hello,\r\n\r\n\tthe  report\r\nis ready.  \r\n",
		       "Hello, the report is ready.");
	/* no body, no text part: "" (RFC 8970 3.2) */
	assert_preview("Subject: x\r\n\r\n", "");
	assert_preview("Subject: x\r\nContent-Type: image/png\r\n"
		       "Content-Transfer-Encoding: base64\r\n\r\niVBORw0KGgo=\r\n", "");
	/* no header at all: the default text/plain */
	assert_preview("\r\nonly a body\r\n", "only a body");
}

static void test_html_only(void **state)
{
	(void)state;
	assert_preview("Content-Type: text/html; charset=utf-8\r\n\r\n"
		       "<!DOCTYPE html><html><head><title>Title</title>\r\n"
		       "<style>p { color: red }</style><script>var a = '<p>';</script></head>\r\n"
		       "<body><!-- a <b>comment</b> --><p>Hello&nbsp;<b>w</b>orld &amp; "
		       "caf&eacute; &#233;&#xE9;&#XE9;</p><div>second<br>line</div>"
		       "<p>a &lt; b &unknown; & c < d</p></body></html>\r\n",
		       "Hello world & caf&eacute; \xc3\xa9\xc3\xa9\xc3\xa9 second line "
		       "a < b &unknown; & c < d");
	/* tags that never close, an element that never ends */
	assert_preview("Content-Type: text/html\r\n\r\nbefore<p class=\"x", "before");
	assert_preview("Content-Type: text/html\r\n\r\nshown<script>hidden", "shown");
	assert_preview("Content-Type: text/html\r\n\r\n<!-- never closed", "");
	/* character references out of range become U+FFFD */
	assert_preview("Content-Type: text/html\r\n\r\n&#0;&#xD800;&#99999999;",
		       "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
}

static void test_alternative_and_parts(void **state)
{
	(void)state;
	/* multipart/alternative: its text/plain, even after the HTML */
	assert_preview("Content-Type: multipart/alternative; boundary=b\r\n\r\n"
		       "--b\r\nContent-Type: text/html\r\n\r\n<p>html version</p>\r\n"
		       "--b\r\nContent-Type: text/plain\r\n\r\nplain version\r\n--b--\r\n",
		       "plain version");
	/* an alternative without text/plain: its HTML */
	assert_preview("Content-Type: multipart/alternative; boundary=b\r\n\r\n"
		       "--b\r\nContent-Type: text/html\r\n\r\n<i>only</i> html\r\n--b--\r\n",
		       "only html");
	/* mixed: the first text part that is not an attachment; nothing
	 * of an attached message */
	assert_preview("Content-Type: multipart/mixed; boundary=m\r\n\r\n"
		       "--m\r\nContent-Type: message/rfc822\r\n\r\n"
		       "Subject: inner\r\n\r\ninner text\r\n"
		       "--m\r\nContent-Type: text/plain\r\nContent-Disposition: attachment\r\n\r\n"
		       "attached\r\n"
		       "--m\r\nContent-Type: multipart/alternative; boundary=a\r\n\r\n"
		       "--a\r\nContent-Type: text/plain\r\n\r\nthe text\r\n"
		       "--a\r\nContent-Type: text/html\r\n\r\n<p>the html</p>\r\n--a--\r\n"
		       "--m--\r\n", "the text");
	/* a message/rfc822 alone is not this message's text */
	assert_preview("Content-Type: message/rfc822\r\n\r\nSubject: inner\r\n\r\ninner\r\n", "");
}

static void test_encodings_and_charsets(void **state)
{
	(void)state;
	assert_preview("Content-Type: text/plain; charset=utf-8\r\n"
		       "Content-Transfer-Encoding: base64\r\n\r\n"
		       "R3LDvMOfZSBhdXMgS8O2bG4=\r\n", "Gr\xc3\xbc\xc3\x9f" "e aus K\xc3\xb6ln");
	assert_preview("Content-Type: text/plain; charset=iso-8859-1\r\n"
		       "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
		       "J=F6rg sagt: =\r\nsoft break\r\n", "J\xc3\xb6rg sagt: soft break");
	assert_preview("Content-Type: text/html; charset=windows-1252\r\n"
		       "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
		       "<p>=93quoted=94 =80 5</p>\r\n",
		       "\xe2\x80\x9cquoted\xe2\x80\x9d \xe2\x82\xac 5");
	/* an unknown charset: the bytes, invalid UTF-8 made U+FFFD */
	assert_preview("Content-Type: text/plain; charset=x-unknown\r\n\r\nab\xff\xfe" "c\r\n",
		       "ab\xef\xbf\xbd\xef\xbf\xbd" "c");
	/* Unicode white space and control characters are white space */
	assert_preview("Content-Type: text/plain; charset=utf-8\r\n\r\n"
		       "a\xc2\xa0\xe2\x80\x83 b\x01\x7f" "c\xe3\x80\x80\r\n", "a b c");
}

static void test_limit(void **state)
{
	struct str p = STR_INIT, msg = STR_INIT;

	(void)state;
	/* exactly the limit: all of it */
	str_append(&msg, "\r\n");
	for (int i = 0; i < MIME_PREVIEW_MAX_CHARS; i++)
		str_append(&msg, "\xc3\xa9");	/* two bytes, one character */
	preview_of(msg.data, &p);
	assert_int_equal(p.len, 2 * MIME_PREVIEW_MAX_CHARS);
	/* one more: cut at a character boundary */
	str_append(&msg, "x");
	preview_of(msg.data, &p);
	assert_int_equal(p.len, 2 * MIME_PREVIEW_MAX_CHARS);
	/* words: no space is left at the end of a cut */
	str_truncate(&msg, 0);
	str_append(&msg, "\r\n");
	for (int i = 0; i < 1000; i++)
		str_append(&msg, "ab ");
	preview_of(msg.data, &p);
	assert_true(p.len <= MIME_PREVIEW_MAX_CHARS && p.data[p.len - 1] != ' ');
	/* a long HTML preamble of markup still finds the text, whatever
	 * follows the read limit is not looked at */
	str_truncate(&msg, 0);
	str_append(&msg, "Content-Type: text/html\r\n\r\n");
	for (int i = 0; i < 2000; i++)
		str_append(&msg, "<span></span>");
	str_append(&msg, "found");
	for (int i = 0; i < MIME_PREVIEW_READ_MAX; i++)
		str_append_c(&msg, ' ');
	str_append(&msg, "never");
	preview_of(msg.data, &p);
	assert_string_equal(p.data, "found");
	str_free(&p);
	str_free(&msg);
}

static void test_broken_mime(void **state)
{
	(void)state;
	/* a multipart without its boundary, a boundary never closed, a
	 * bad base64 body: still a preview, never a failure */
	assert_preview("Content-Type: multipart/mixed\r\n\r\nno boundary parameter\r\n", "");
	assert_preview("Content-Type: multipart/mixed; boundary=z\r\n\r\n"
		       "--z\r\nContent-Type: text/plain\r\n\r\nunterminated part", "unterminated part");
	assert_preview("Content-Transfer-Encoding: base64\r\n\r\n!!!!aGVs\r\nbG8=\r\n", "hello");
	assert_preview("Subject: header only, no blank line", "");
}

static void test_from_text(void **state)
{
	struct str p = STR_INIT;

	(void)state;
	mime_preview_from_text("a\0b", 3, false, &p);
	assert_string_equal(p.data, "a b");
	mime_preview_from_text("<b>x</b>", 8, false, &p);
	assert_string_equal(p.data, "<b>x</b>");
	mime_preview_from_text("", 0, true, &p);
	assert_string_equal(p.data, "");
	str_free(&p);
}

static void test_read_error(void **state)
{
	const char *msg = "Subject: a\r\n\r\nbody text\r\n";
	struct istream *m = testlib_istream_create(msg, strlen(msg), 16);
	struct mime_parser *parser;
	const struct mime_part *root = mime_parser_parse(msg, strlen(msg), &parser);
	struct str p = STR_INIT;

	(void)state;
	assert_int_equal(mime_preview_extract(root, m, &p), -1);
	assert_string_equal(p.data, "");
	mime_parser_destroy(&parser);
	istream_destroy(&m);
	str_free(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain),
		cmocka_unit_test(test_html_only),
		cmocka_unit_test(test_alternative_and_parts),
		cmocka_unit_test(test_encodings_and_charsets),
		cmocka_unit_test(test_limit),
		cmocka_unit_test(test_broken_mime),
		cmocka_unit_test(test_from_text),
		cmocka_unit_test(test_read_error),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
