/* test-mime.c: the decoding half of src/mime: transfer encodings (whole
 * and byte by byte), RFC 2047 encoded words in several charsets, RFC 2231
 * parameters, Content-Type and friends, address lists, dates. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "base/pool.h"
#include "base/str.h"
#include "mime/address.h"
#include "mime/charset.h"
#include "mime/date.h"
#include "mime/decode.h"
#include "mime/header.h"

/* Decodes `in` whole and one byte at a time; both must give `out`. */
static void check_decode(enum mime_encoding enc, const char *in,
			 const char *out, size_t out_len)
{
	struct mime_decoder dec;
	struct str whole = STR_INIT, bytes = STR_INIT;

	mime_decoder_init(&dec, enc);
	mime_decoder_feed(&dec, in, strlen(in), &whole);
	mime_decoder_finish(&dec, &whole);
	mime_decoder_init(&dec, enc);
	for (size_t i = 0; in[i] != '\0'; i++)
		mime_decoder_feed(&dec, in + i, 1, &bytes);
	mime_decoder_finish(&dec, &bytes);
	assert_int_equal(whole.len, out_len);
	assert_int_equal(bytes.len, out_len);
	if (out_len > 0) {
		assert_memory_equal(whole.data, out, out_len);
		assert_memory_equal(bytes.data, out, out_len);
	}
	str_free(&whole);
	str_free(&bytes);
}

#define CHECK(enc, in, out) check_decode(enc, in, out, sizeof(out) - 1)

static void test_mime_base64(void **state)
{
	(void)state;
	CHECK(MIME_ENCODING_BASE64, "aGVsbG8gd29ybGQ=", "hello world");
	CHECK(MIME_ENCODING_BASE64, "aGVs\r\nbG8g\r\nd29y\r\nbGQ=\r\n",
	      "hello world");
	/* garbage characters are skipped */
	CHECK(MIME_ENCODING_BASE64, "aGV*sbG8!gd2\x01\xff" "9ybGQ", "hello world");
	/* two concatenated encodings with padding between */
	CHECK(MIME_ENCODING_BASE64, "YQ==YQ==", "aa");
	/* leftover bits are dropped */
	CHECK(MIME_ENCODING_BASE64, "YWJjZ", "abc");
	CHECK(MIME_ENCODING_BASE64, "AAEC", "\x00\x01\x02");
	CHECK(MIME_ENCODING_BASE64, "", "");
}

static void test_mime_qp(void **state)
{
	(void)state;
	CHECK(MIME_ENCODING_QP, "caf=E9 cr=C3=A8me", "caf\xe9 cr\xc3\xa8me");
	CHECK(MIME_ENCODING_QP, "lower =e9 hex", "lower \xe9 hex");
	/* soft line breaks, with CRLF, LF and transport padding */
	CHECK(MIME_ENCODING_QP, "long=\r\nline=\nend=  \r\nhere",
	      "longlineendhere");
	/* trailing white space is dropped, line breaks kept as they are */
	CHECK(MIME_ENCODING_QP, "a  \r\nb\t\nc", "a\r\nb\nc");
	/* invalid sequences are kept as they are */
	CHECK(MIME_ENCODING_QP, "=XY =4 =\x01 100%=", "=XY =4 =\x01 100%");
	CHECK(MIME_ENCODING_QP, "end=4", "end=4");
	CHECK(MIME_ENCODING_QP, "bare\rcr", "bare\rcr");
	CHECK(MIME_ENCODING_QP, "=00nul", "\0nul");
	CHECK(MIME_ENCODING_QP, "soft at end=", "soft at end");
	CHECK(MIME_ENCODING_QP, "", "");
	/* identity encodings copy */
	CHECK(MIME_ENCODING_8BIT, "=E9 \r\n", "=E9 \r\n");
}

/* Decodes `in` (in_len bytes) with CRLF line ends, whole, one byte at a
 * time and in 2- and 3-byte chunks; each must give `out`, and a second use of
 * the decoder after finish() too. */
static void check_crlf(enum mime_encoding enc, const char *in, size_t in_len,
		       const char *out, size_t out_len)
{
	struct mime_decoder dec;

	const size_t steps[] = { 1, 2, 3, in_len == 0 ? 1 : in_len };

	for (size_t k = 0; k < N_ELEMENTS(steps); k++) {
		size_t step = steps[k];
		struct str got = STR_INIT;

		mime_decoder_init(&dec, enc);
		mime_decoder_set_crlf(&dec, true);
		for (int round = 0; round < 2; round++) {
			str_truncate(&got, 0);
			for (size_t i = 0; i < in_len; i += step) {
				size_t n = in_len - i < step ? in_len - i : step;
				mime_decoder_feed(&dec, in + i, n, &got);
			}
			mime_decoder_finish(&dec, &got);
			assert_int_equal(got.len, out_len);
			if (out_len > 0)
				assert_memory_equal(got.data, out, out_len);
		}
		str_free(&got);
	}
}

#define CHECK_CRLF(enc, in, out) \
	check_crlf(enc, in, sizeof(in) - 1, out, sizeof(out) - 1)

static void test_mime_decode_crlf(void **state)
{
	(void)state;
	/* a raw NUL in quoted-printable is data, not a line end */
	CHECK_CRLF(MIME_ENCODING_QP, "ab\0cd=\r\n\0", "ab\0cd\0");
	CHECK_CRLF(MIME_ENCODING_QP, "\0\0", "\0\0");
	/* bare LF becomes CRLF; CRLF and bare CR stay */
	CHECK_CRLF(MIME_ENCODING_7BIT, "a\nb\r\nc\rd\n\n", "a\r\nb\r\nc\rd\r\n\r\n");
	CHECK_CRLF(MIME_ENCODING_7BIT, "\n", "\r\n");
	CHECK_CRLF(MIME_ENCODING_7BIT, "\r", "\r");
	CHECK_CRLF(MIME_ENCODING_7BIT, "", "");
	/* "line1\nline2\r\nx\n" in base64: the LFs come out of the
	 * decoder, across chunk boundaries */
	CHECK_CRLF(MIME_ENCODING_BASE64, "bGluZTEKbGluZTINCngK",
		   "line1\r\nline2\r\nx\r\n");
	/* "\r" then "\n" in separate quanta */
	CHECK_CRLF(MIME_ENCODING_BASE64, "DQ==Cg==", "\r\n");
	/* QP: =0A is a bare LF too; a CR held back at a chunk end */
	CHECK_CRLF(MIME_ENCODING_QP, "a=0Ab\r\nc\nd=0D=0Ae", "a\r\nb\r\nc\r\nd\r\ne");
	CHECK_CRLF(MIME_ENCODING_QP, "x\r", "x\r");
	/* NUL passes through */
	CHECK_CRLF(MIME_ENCODING_QP, "=00\n=00", "\0\r\n\0");

	/* off by default */
	struct mime_decoder dec;
	struct str got = STR_INIT;
	mime_decoder_init(&dec, MIME_ENCODING_7BIT);
	mime_decoder_feed(&dec, "a\nb", 3, &got);
	mime_decoder_finish(&dec, &got);
	assert_int_equal(got.len, 3);
	/* text before the decoder's output is not touched */
	str_truncate(&got, 0);
	str_append(&got, "pre\n");
	mime_decoder_init(&dec, MIME_ENCODING_7BIT);
	mime_decoder_set_crlf(&dec, true);
	mime_decoder_feed(&dec, "\nz", 2, &got);
	mime_decoder_finish(&dec, &got);
	assert_string_equal(str_c(&got), "pre\n\r\nz");
	str_free(&got);
}

static void test_mime_encoding_names(void **state)
{
	(void)state;
	assert_int_equal(mime_encoding_from_name(NULL), MIME_ENCODING_7BIT);
	assert_int_equal(mime_encoding_from_name("BASE64"), MIME_ENCODING_BASE64);
	assert_int_equal(mime_encoding_from_name("Quoted-Printable"),
			 MIME_ENCODING_QP);
	assert_int_equal(mime_encoding_from_name("8Bit"), MIME_ENCODING_8BIT);
	assert_int_equal(mime_encoding_from_name("x-uuencode"),
			 MIME_ENCODING_UNKNOWN);
	assert_true(mime_encoding_is_identity(MIME_ENCODING_BINARY));
	assert_false(mime_encoding_is_identity(MIME_ENCODING_QP));
}

static void check_2047(const char *in, const char *out)
{
	struct str s = STR_INIT;
	mime_header_decode_utf8(in, strlen(in), &s);
	assert_string_equal(str_c(&s) == NULL ? "" : str_c(&s), out);
	str_free(&s);
}

static void test_mime_encoded_words(void **state)
{
	(void)state;
	/* RFC 2047 section 8 examples */
	check_2047("=?ISO-8859-1?Q?a?=", "a");
	check_2047("=?ISO-8859-1?Q?a?= b", "a b");
	check_2047("=?ISO-8859-1?Q?a?= =?ISO-8859-1?Q?b?=", "ab");
	check_2047("=?ISO-8859-1?Q?a?=  =?ISO-8859-1?Q?b?=", "ab");
	check_2047("=?ISO-8859-1?Q?a?=\r\n   =?ISO-8859-1?Q?b?=", "ab");
	check_2047("=?ISO-8859-1?Q?a_b?=", "a b");
	check_2047("=?ISO-8859-1?Q?a?= =?ISO-8859-2?Q?_b?=", "a b");
	check_2047("(=?ISO-8859-1?Q?a?=)", "(a)");
	/* charsets */
	check_2047("=?utf-8?B?w6lsw6h2ZQ==?=", "\xc3\xa9l\xc3\xa8ve");
	check_2047("=?iso-8859-1?q?caf=E9?=", "caf\xc3\xa9");
	check_2047("=?windows-1252?Q?=80uro_=93quoted=94?=",
		   "\xe2\x82\xac" "uro \xe2\x80\x9cquoted\xe2\x80\x9d");
	/* ISO-2022-JP: "日本語" (Japanese) */
	check_2047("=?ISO-2022-JP?B?GyRCRnxLXDhsGyhC?=",
		   "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e");
	/* a UTF-8 character split between two adjacent words */
	check_2047("=?utf-8?Q?caf=C3?= =?utf-8?Q?=A9!?=", "caf\xc3\xa9!");
	/* RFC 2231 language in the charset */
	check_2047("=?US-ASCII*EN?Q?Keith_Moore?=", "Keith Moore");
	/* unknown charsets and broken words stay raw */
	check_2047("=?x-unknown?Q?abc?= tail", "=?x-unknown?Q?abc?= tail");
	check_2047("=?utf-8?X?abc?=", "=?utf-8?X?abc?=");
	check_2047("=?utf-8?Q?no end", "=?utf-8?Q?no end");
	check_2047("plain 8bit \xe9", "plain 8bit \xe9");
	/* text between words is kept with its white space */
	check_2047("=?utf-8?Q?a?= and =?utf-8?Q?b?=", "a and b");
	check_2047("Re: =?utf-8?B?SGk=?=", "Re: Hi");
}

static void check_ct(const char *value, int ret, const char *type,
		     const char *subtype, const char *expect_params)
{
	struct pool *pool = pool_create(0);
	const char *t, *s;
	struct mime_param *params;
	unsigned int count;
	struct str got = STR_INIT;

	assert_int_equal(mime_header_parse_content_type(pool, value, &t, &s,
							&params, &count), ret);
	if (ret == 0) {
		assert_string_equal(t, type);
		assert_string_equal(s, subtype);
		for (unsigned int i = 0; i < count; i++)
			str_printfa(&got, "[%s=%s]", params[i].name,
				    params[i].value);
		assert_string_equal(got.len == 0 ? "" : str_c(&got),
				    expect_params);
	}
	str_free(&got);
	pool_destroy(&pool);
}

static void test_mime_content_type(void **state)
{
	(void)state;
	check_ct("text/plain; charset=us-ascii (Plain text)", 0, "text",
		 "plain", "[charset=us-ascii]");
	check_ct("Text/HTML;Charset=\"UTF-8\"", 0, "Text", "HTML",
		 "[Charset=UTF-8]");
	check_ct(" (comment) multipart / mixed ; boundary=\"a b;c\" ; x=y", 0,
		 "multipart", "mixed", "[boundary=a b;c][x=y]");
	check_ct("text/plain; name=my file.txt; a=b", 0, "text", "plain",
		 "[name=my file.txt][a=b]");
	check_ct("text/plain; broken; =x; c=\"q\\\"d\"", 0, "text", "plain",
		 "[c=q\"d]");
	check_ct("text", -1, NULL, NULL, NULL);
	check_ct("text/", -1, NULL, NULL, NULL);
	check_ct("", -1, NULL, NULL, NULL);
	check_ct("/plain", -1, NULL, NULL, NULL);
	/* RFC 2231 */
	check_ct("application/x-stuff; title*=us-ascii'en-us'This%20is%20%2A%2A%2Afun%2A%2A%2A",
		 0, "application", "x-stuff",
		 "[title*=us-ascii'en-us'This%20is%20%2A%2A%2Afun%2A%2A%2A]");
	check_ct("message/external-body; access-type=URL;\r\n"
		 " URL*0=\"ftp://\";\r\n URL*1=\"cs.utk.edu/pub/moore/bulk-mailer/bulk-mailer.tar\"",
		 0, "message", "external-body",
		 "[access-type=URL][URL=ftp://cs.utk.edu/pub/moore/bulk-mailer/bulk-mailer.tar]");
	check_ct("application/x-stuff; title*1*=%2A%2A%2Afun%2A%2A%2A%20;"
		 " title*2=\"isn't it!\"; title*0*=us-ascii'en'This%20is%20even%20more%20",
		 0, "application", "x-stuff",
		 "[title*=us-ascii'en'This%20is%20even%20more%20%2A%2A%2Afun%2A%2A%2A%20isn%27t%20it!]");
}

static void test_mime_param_utf8(void **state)
{
	(void)state;
	struct pool *pool = pool_create(0);
	struct mime_param *params;
	unsigned int count;
	struct str s = STR_INIT;

	mime_header_parse_params(pool,
		"; filename*0*=utf-8''%E2%82%AC%20rates; filename*1*=.pdf;"
		" name=\"=?iso-8859-1?q?r=E9sum=E9.doc?=\"; other=x", &params,
		&count);
	assert_int_equal(count, 3);
	assert_string_equal(params[0].name, "filename*");
	assert_int_equal(mime_param_get_utf8(params, count, "filename", &s), 0);
	assert_string_equal(str_c(&s), "\xe2\x82\xac rates.pdf");
	str_truncate(&s, 0);
	assert_int_equal(mime_param_get_utf8(params, count, "name", &s), 0);
	assert_string_equal(str_c(&s), "r\xc3\xa9sum\xc3\xa9.doc");
	str_truncate(&s, 0);
	assert_int_equal(mime_param_get_utf8(params, count, "missing", &s), -1);
	bool ext;
	assert_string_equal(mime_param_find(params, count, "FILENAME", &ext),
			    "utf-8''%E2%82%AC%20rates.pdf");
	assert_true(ext);
	assert_string_equal(mime_param_find(params, count, "other", &ext), "x");
	assert_false(ext);

	/* ISO-8859-1 RFC 2231 value, unknown charset kept raw */
	mime_header_parse_params(pool, "a*=iso-8859-1'fr'caf%E9; b*=x-no''%41%42",
				 &params, &count);
	str_truncate(&s, 0);
	assert_int_equal(mime_param_get_utf8(params, count, "a", &s), 0);
	assert_string_equal(str_c(&s), "caf\xc3\xa9");
	str_truncate(&s, 0);
	assert_int_equal(mime_param_get_utf8(params, count, "b", &s), 0);
	assert_string_equal(str_c(&s), "AB");
	str_free(&s);
	pool_destroy(&pool);
}

/* The IMAP4rev2 decoding of RFC 2231 values (RFC 9051 7.5.2): UTF-8 or
 * nothing, so a value that cannot be decoded is kept encoded. */
static void test_mime_param_decode_extended(void **state)
{
	(void)state;
	static const struct {
		const char *value, *text;	/* text NULL: -1 */
	} cases[] = {
		{ "utf-8''%E2%82%AC%20x", "\xe2\x82\xac x" },
		{ "iso-8859-1'fr'r%E9sum%E9", "r\xc3\xa9sum\xc3\xa9" },
		{ "windows-1252''%93q%94", "\xe2\x80\x9cq\xe2\x80\x9d" },
		{ "''plain", "plain" },
		{ "us-ascii'en'", "" },
		{ "''%E9", NULL },		/* 8-bit, no charset */
		{ "x-unknown''abc", NULL },
		{ "utf-8''a%00b", NULL },	/* NUL */
		{ "utf-8''%C3", NULL },		/* invalid UTF-8 */
		{ "utf-8''%G1", NULL },		/* bad escape */
		{ "utf-8''%4", NULL },
		{ "no quotes", NULL },
		{ "utf-8'only one", NULL },
	};
	struct str s = STR_INIT;

	for (size_t i = 0; i < N_ELEMENTS(cases); i++) {
		str_truncate(&s, 0);
		str_append(&s, "<");
		int ret = mime_param_decode_extended(cases[i].value, &s);
		if (cases[i].text == NULL) {
			assert_int_equal(ret, -1);
			assert_string_equal(str_c(&s), "<");
		} else {
			assert_int_equal(ret, 0);
			assert_string_equal(str_c(&s) + 1, cases[i].text);
		}
	}
	str_free(&s);
}

static void test_mime_disposition_language(void **state)
{
	(void)state;
	struct pool *pool = pool_create(0);
	const char *type, **tags;
	struct mime_param *params;
	unsigned int count;

	assert_int_equal(mime_header_parse_disposition(pool,
		"attachment; filename=genome.jpeg;\r\n"
		" modification-date=\"Wed, 12 Feb 1997 16:29:51 -0500\"",
		&type, &params, &count), 0);
	assert_string_equal(type, "attachment");
	assert_int_equal(count, 2);
	assert_string_equal(params[1].value, "Wed, 12 Feb 1997 16:29:51 -0500");
	assert_int_equal(mime_header_parse_disposition(pool, " ; x=y", &type,
						       &params, &count), -1);
	mime_header_parse_language(pool, "en (English), de-CH ,fr", &tags,
				   &count);
	assert_int_equal(count, 3);
	assert_string_equal(tags[0], "en");
	assert_string_equal(tags[1], "de-CH");
	assert_string_equal(tags[2], "fr");
	mime_header_parse_language(pool, "  ", &tags, &count);
	assert_int_equal(count, 0);
	assert_string_equal(mime_header_parse_token(pool, " (c) BASE64 (x)"),
			    "BASE64");
	assert_null(mime_header_parse_token(pool, " (only a comment)"));
	pool_destroy(&pool);
}

/* Renders an address list as "name|route|mailbox|domain;" items, with
 * "<group:" and ">" for group markers and "!" for invalid ones. */
static void check_addr(const char *value, const char *expect)
{
	struct pool *pool = pool_create(0);
	struct str s = STR_INIT;

	for (const struct mime_address *a = mime_address_parse(pool, value);
	     a != NULL; a = a->next) {
		if (a->is_group_start)
			str_printfa(&s, "<%s:", a->mailbox);
		else if (a->is_group_end)
			str_append(&s, ">");
		else
			str_printfa(&s, "%s|%s|%s|%s%s;",
				    a->name == NULL ? "-" : a->name,
				    a->route == NULL ? "-" : a->route,
				    a->mailbox, a->domain,
				    a->is_invalid ? "!" : "");
	}
	assert_string_equal(s.len == 0 ? "" : str_c(&s), expect);
	str_free(&s);
	pool_destroy(&pool);
}

static void test_mime_address(void **state)
{
	(void)state;
	check_addr("user@example.com", "-|-|user|example.com;");
	check_addr("\"Joe Q. Public\" <john.q.public@example.com>",
		   "Joe Q. Public|-|john.q.public|example.com;");
	check_addr("Mary Smith <mary@x.test>, jdoe@example.org, Who? <one@y.test>",
		   "Mary Smith|-|mary|x.test;-|-|jdoe|example.org;"
		   "Who?|-|one|y.test;");
	check_addr("<boss@nil.test>, \"Giant; \\\"Big\\\" Box\" <sysservices@example.net>",
		   "-|-|boss|nil.test;Giant; \"Big\" Box|-|sysservices|example.net;");
	/* groups (RFC 5322 appendix A.1.3) */
	check_addr("A Group:Ed Jones <c@a.test>,joe@where.test,John <jdoe@one.test>;",
		   "<A Group:Ed Jones|-|c|a.test;-|-|joe|where.test;"
		   "John|-|jdoe|one.test;>");
	check_addr("Undisclosed recipients:;", "<Undisclosed recipients:>");
	check_addr("g: a@b.c", "<g:-|-|a|b.c;>");
	/* quoted local part, comments (A.5) */
	check_addr("\"john doe\"@example.com", "-|-|john doe|example.com;");
	check_addr("Pete(A nice \\) chap) <pete(his account)@silly.test(his host)>",
		   "Pete|-|pete|silly.test;");
	check_addr("jdoe@example.org (John Doe)", "John Doe|-|jdoe|example.org;");
	/* comments inside an addr-spec are no display name (RFC 5322
	 * 3.2.2, 3.4.1); the one after it is */
	check_addr("user-from (comment)@ (comment) domain.org",
		   "-|-|user-from|domain.org;");
	check_addr("<user-from (comment)@ (comment) domain.org>",
		   "-|-|user-from|domain.org;");
	check_addr("a (x) @ (y) b (z) . c (Name), d@ (y) [1.2.3.4]",
		   "Name|-|a|b.c;-|-|d|[1.2.3.4];");
	/* obsolete route (A.6.1) and domain literal */
	check_addr("Joe <@a.test,@b.test:joe@c.test>",
		   "Joe|@a.test,@b.test|joe|c.test;");
	check_addr("<@a, @b :user@host>", "-|@a,@b|user|host;");
	check_addr("x@[192.0.2.1]", "-|-|x|[192.0.2.1];");
	/* obs-phrase with dots, encoded words kept raw */
	check_addr("Joe Q. Public <j@x>", "Joe Q. Public|-|j|x;");
	check_addr("=?utf-8?Q?J=C3=B6rg?= <j@x>", "=?utf-8?Q?J=C3=B6rg?=|-|j|x;");
	/* broken */
	check_addr("localonly", "-|-|localonly|!;");
	check_addr("<@only.route>", "-|-||only.route!;");
	check_addr("Name <a@b", "Name|-|a|b!;");
	check_addr(",,, ;;", "");
	check_addr("", "");
	check_addr("a@b, , c@d", "-|-|a|b;-|-|c|d;");

	/* 64 KB of broken routes and literals: linear time, no crash */
	static const char *const patterns[] = { "<@,", "[<", "\"(", "=?a?", ":;<" };
	for (size_t i = 0; i < N_ELEMENTS(patterns); i++) {
		struct str big = STR_INIT;
		struct pool *pool = pool_create(0);
		while (big.len < 65536)
			str_append(&big, patterns[i]);
		(void)mime_address_parse(pool, str_c(&big));
		pool_destroy(&pool);
		str_free(&big);
	}
}

static void check_addr_norm(const char *value, const char *expect)
{
	struct pool *pool = pool_create(0);
	struct str s = STR_INIT;

	mime_address_write_normalised(mime_address_parse(pool, value), &s);
	assert_string_equal(s.len == 0 ? "" : str_c(&s), expect);
	str_free(&s);
	pool_destroy(&pool);
}

static void test_mime_address_normalised(void **state)
{
	(void)state;
	/* CFWS inside an addr-spec goes (RFC 5322 3.2.2, 3.4.1) */
	check_addr_norm("<user-from (comment)@ (comment) domain.org>",
			"user-from@domain.org");
	check_addr_norm("user-from (comment)@ (comment) domain.org",
			"user-from@domain.org");
	check_addr_norm("first (a) . (b) last @ sub (c) . example . org (d)",
			"d <first.last@sub.example.org>");
	check_addr_norm("Pete(A nice \\) chap) <pete(his account)@silly.test(his host)>",
			"Pete <pete@silly.test>");
	/* quoted local part unquoted; display names decoded and unquoted */
	check_addr_norm("\"john.doe\"@example.com", "john.doe@example.com");
	check_addr_norm("\"Doe, John\" <\"john doe\" @ example.com>",
			"Doe, John <john doe@example.com>");
	check_addr_norm("=?UTF-8?Q?J=C3=B6rg?= <j (x) @example.de>, b@c",
			"J\xc3\xb6rg <j@example.de>, b@c");
	/* groups, an empty one, a route, no domain */
	check_addr_norm("a: xx (1) @xx.org, yy@yy.org;, z@z",
			"a: xx@xx.org, yy@yy.org;, z@z");
	check_addr_norm("Undisclosed recipients:;", "Undisclosed recipients: ;");
	check_addr_norm("<@a.test,@b.test:joe@c.test>", "joe@c.test");
	check_addr_norm("localonly", "localonly");
	check_addr_norm("", "");
}

static void check_date(const char *value, int ret, time_t t, int tz)
{
	time_t got_t = 0;
	int got_tz = 12345;

	assert_int_equal(mime_date_parse(value, &got_t, &got_tz), ret);
	if (ret == 0) {
		assert_int_equal(got_t, t);
		assert_int_equal(got_tz, tz);
	}
}

static void test_mime_date(void **state)
{
	(void)state;
	/* 1997-11-21 09:55:06 -0600 = 15:55:06 UTC */
	check_date("Fri, 21 Nov 1997 09:55:06 -0600", 0, 880127706, -360);
	check_date("21 Nov 1997 09:55:06 -0600", 0, 880127706, -360);
	check_date("Fri, 21 Nov 97 09:55:06 -0600", 0, 880127706, -360);
	check_date("Fri, 21 Nov 097 09:55:06 -0600", 0, 880127706, -360);
	check_date("Fri, 21 Nov 1997 09:55 -0600", 0, 880127706 - 6, -360);
	check_date("Fri, 21 Nov 1997 10:55:06 EST", 0, 880127706, -300);
	check_date("Fri, 21 Nov 1997 08:55:06 PDT", 0, 880127706, -420);
	check_date("Fri, 21 Nov 1997 15:55:06 GMT", 0, 880127706, 0);
	check_date("Fri, 21 Nov 1997 15:55:06 UT", 0, 880127706, 0);
	check_date("Fri, 21 Nov 1997 15:55:06 Z", 0, 880127706, 0);
	check_date("Fri, 21 Nov 1997 15:55:06 A", 0, 880127706, 0);
	check_date("Fri, 21 Nov 1997 15:55:06", 0, 880127706, 0);
	check_date("Fri,21 Nov 1997 15:55:06 +0000 (UTC)", 0, 880127706, 0);
	check_date(" Fri , 21 nov 1997 15 : 55 : 06 +0000", 0, 880127706, 0);
	check_date("21-Nov-1997 15:55:06 +0000", 0, 880127706, 0);
	check_date("1 Jan 2049 00:00:00 +0000", 0, 2493072000, 0);
	check_date("1 Jan 49 00:00:00 +0000", 0, 2493072000, 0);
	check_date("1 Jan 50 00:00:00 +0000", 0, -631152000, 0);
	check_date("Thu, 1 Jan 1970 00:00:00 +0100", 0, -3600, 60);
	check_date("", -1, 0, 0);
	check_date("yesterday", -1, 0, 0);
	check_date("Fri, 32 Nov 1997 09:55:06 -0600", -1, 0, 0);
	check_date("Fri, 21 Foo 1997 09:55:06 -0600", -1, 0, 0);
	check_date("Fri, 21 Nov 1997 24:55:06 -0600", -1, 0, 0);
	check_date("Fri, 21 Nov 1997 09:60:06 -0600", -1, 0, 0);
	check_date("Fri, 21 Nov 1997 09:55:06 -06", -1, 0, 0);
	check_date("Fri, 21 Nov 1997 0955", -1, 0, 0);
}

static void test_mime_charset(void **state)
{
	(void)state;
	struct str s = STR_INIT;

	assert_int_equal(mime_charset_to_utf8("ISO-8859-1", "\xe9", 1, &s), 0);
	assert_string_equal(str_c(&s), "\xc3\xa9");
	str_truncate(&s, 0);
	/* invalid UTF-16 tail becomes U+FFFD, nothing is lost silently */
	assert_int_equal(mime_charset_to_utf8("UTF-16BE", "\x00" "A\x00", 3, &s), 0);
	assert_string_equal(str_c(&s), "A\xef\xbf\xbd");
	str_truncate(&s, 0);
	assert_int_equal(mime_charset_to_utf8("x-nonexistent", "a", 1, &s), -1);
	assert_int_equal(s.len, 0);
	assert_int_equal(mime_charset_to_utf8("UTF-8", "\xff", 1, &s), 0);
	assert_int_equal(s.len, 1);
	assert_true(mime_charset_is_utf8("us-ascii"));
	assert_false(mime_charset_is_utf8("latin1"));
	str_free(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mime_base64),
		cmocka_unit_test(test_mime_qp),
		cmocka_unit_test(test_mime_decode_crlf),
		cmocka_unit_test(test_mime_encoding_names),
		cmocka_unit_test(test_mime_encoded_words),
		cmocka_unit_test(test_mime_content_type),
		cmocka_unit_test(test_mime_param_utf8),
		cmocka_unit_test(test_mime_param_decode_extended),
		cmocka_unit_test(test_mime_disposition_language),
		cmocka_unit_test(test_mime_address),
		cmocka_unit_test(test_mime_address_normalised),
		cmocka_unit_test(test_mime_date),
		cmocka_unit_test(test_mime_charset),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
