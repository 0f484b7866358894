/* test-sieve-mime.c: the MIME parts of RFC 5703 (src/sieve/mime.c and
 * src/sieve/mime-edit.c): the foreverypart order, nested loops and
 * :anychild ranges, the header :mime options (:type, :subtype,
 * :contenttype, :param with RFC 2231) with their :count, extracttext with
 * charsets, transfer encodings and :first, and replace and enclose
 * (whole message and one part, :subject, :from, :mime, :headers), each
 * result parsed again to check its structure. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "base/str.h"
#include "sieve/mime.h"
#include "sieve/mime-edit.h"

static const char msg[] =
	"From: alice@example.com\r\n"
	"To: bob@example.com\r\n"
	"Subject: Report\r\n"
	"MIME-Version: 1.0\r\n"
	"Content-Type: multipart/mixed; boundary=\"outer\"\r\n"
	"\r\n"
	"preamble\r\n"
	"--outer\r\n"
	"Content-Type: text/plain; charset=iso-8859-1\r\n"
	"Content-Transfer-Encoding: quoted-printable\r\n"
	"\r\n"
	"Caf=E9 au lait\r\n"
	"--outer\r\n"
	"Content-Type: multipart/alternative; boundary=\"inner\"\r\n"
	"\r\n"
	"--inner\r\n"
	"Content-Type: text/plain\r\n"
	"\r\n"
	"plain text\r\n"
	"--inner\r\n"
	"Content-Type: text/html; charset=utf-8\r\n"
	"\r\n"
	"<p>html</p>\r\n"
	"--inner--\r\n"
	"--outer\r\n"
	"Content-Type: application/pdf; name=\"important.pdf\"\r\n"
	"Content-Disposition: attachment;\r\n"
	" filename*0*=utf-8''%C3%A9t%C3%A9;\r\n"
	" filename*1=\"-important.pdf\"\r\n"
	"Content-Transfer-Encoding: base64\r\n"
	"\r\n"
	"JVBERi0=\r\n"
	"--outer\r\n"
	"Content-Type: message/rfc822\r\n"
	"\r\n"
	"Subject: inner message\r\n"
	"Content-Type: text/plain; charset=x-unknown-charset\r\n"
	"\r\n"
	"unknown\r\n"
	"--outer--\r\n";

/* The part types in foreverypart order, joined by spaces. */
static void order(const struct sieve_mime *mime, size_t context, struct str *out)
{
	struct sieve_mime_iter iter;
	size_t i;

	sieve_mime_iter_init(mime, context, &iter);
	while (sieve_mime_iter_next(&iter, &i)) {
		const struct mime_part *p = sieve_mime_part(mime, i);

		str_printfa(out, "%s%s/%s", out->len > 0 ? " " : "", p->type, p->subtype);
	}
}

static void test_order(void **state)
{
	struct sieve_mime *mime = sieve_mime_parse(msg, strlen(msg));
	struct str out = STR_INIT;
	size_t first, end;

	(void)state;
	assert_int_equal(sieve_mime_part_count(mime), 8);
	order(mime, SIEVE_MIME_TOP, &out);
	assert_string_equal(str_c(&out), "multipart/mixed text/plain multipart/alternative "
			    "text/plain text/html application/pdf message/rfc822 text/plain");
	/* a nested loop: the descendants of the current part only */
	str_truncate(&out, 0);
	order(mime, 2, &out);
	assert_string_equal(str_c(&out), "text/plain text/html");
	str_truncate(&out, 0);
	order(mime, 1, &out);		/* a leaf: nothing */
	assert_string_equal(str_c(&out), "");
	str_truncate(&out, 0);
	order(mime, 6, &out);		/* message/rfc822: the embedded message */
	assert_string_equal(str_c(&out), "text/plain");
	assert_int_equal(sieve_mime_subtree_end(mime, 0), 8);
	assert_int_equal(sieve_mime_subtree_end(mime, 2), 5);
	sieve_mime_anychild_range(mime, SIEVE_MIME_TOP, &first, &end);
	assert_int_equal(first, 0);
	assert_int_equal(end, 8);
	sieve_mime_anychild_range(mime, 2, &first, &end);
	assert_int_equal(first, 2);
	assert_int_equal(end, 5);
	sieve_mime_free(&mime);
	assert_null(mime);
	str_free(&out);

	/* a single-part message: the loop visits the message itself */
	mime = sieve_mime_parse("Subject: x\n\nbody\n", 17);
	order(mime, SIEVE_MIME_TOP, &out);
	assert_string_equal(str_c(&out), "TEXT/PLAIN");
	sieve_mime_free(&mime);
	str_free(&out);
}

struct collect {
	struct str all;
	const char *stop_at;
};

static bool collect(void *ctx, const char *value, size_t len)
{
	struct collect *c = ctx;

	assert_int_equal(strlen(value), len);
	str_printfa(&c->all, "[%s]", value);
	return c->stop_at != NULL && strcmp(value, c->stop_at) == 0;
}

/* The values of field `name` of part `index` for `opt`, and the count. */
static unsigned int values(const struct sieve_mime *mime, size_t index, const char *name,
			   enum sieve_mime_opt opt, const char *const *params, size_t np,
			   struct collect *c)
{
	struct sieve_header hdr;
	struct str v = STR_INIT;
	unsigned int count = 0;

	str_truncate(&c->all, 0);
	sieve_mime_part_header(mime, index, &hdr);
	for (size_t i = 0; i < hdr.count; i++) {
		if (!sieve_fields_name_is(&hdr.fields[i], name))
			continue;
		str_truncate(&v, 0);
		sieve_fields_value(&hdr.fields[i], &v);
		count += sieve_mime_field_values(name, str_c(&v), opt, params, np, collect, c);
	}
	sieve_fields_free(&hdr);
	str_free(&v);
	return count;
}

static void test_mimeopts(void **state)
{
	struct sieve_mime *mime = sieve_mime_parse(msg, strlen(msg));
	struct collect c = { .all = STR_INIT };
	const char *filename[] = { "filename" }, *two[] = { "name", "charset" };

	(void)state;
	assert_int_equal(values(mime, 0, "Content-Type", SIEVE_MIME_OPT_TYPE, NULL, 0, &c), 1);
	assert_string_equal(str_c(&c.all), "[multipart]");
	assert_int_equal(values(mime, 5, "Content-Type", SIEVE_MIME_OPT_SUBTYPE, NULL, 0, &c), 1);
	assert_string_equal(str_c(&c.all), "[pdf]");
	assert_int_equal(values(mime, 4, "content-type", SIEVE_MIME_OPT_CONTENTTYPE, NULL, 0, &c), 1);
	assert_string_equal(str_c(&c.all), "[text/html]");
	/* Content-Disposition: :type and :contenttype the disposition, :subtype "" */
	assert_int_equal(values(mime, 5, "Content-Disposition", SIEVE_MIME_OPT_TYPE, NULL, 0, &c), 1);
	assert_string_equal(str_c(&c.all), "[attachment]");
	assert_int_equal(values(mime, 5, "Content-Disposition", SIEVE_MIME_OPT_CONTENTTYPE, NULL, 0, &c), 1);
	assert_string_equal(str_c(&c.all), "[attachment]");
	values(mime, 5, "Content-Disposition", SIEVE_MIME_OPT_SUBTYPE, NULL, 0, &c);
	assert_string_equal(str_c(&c.all), "[]");
	/* another field: "" and not counted */
	assert_int_equal(values(mime, 0, "Subject", SIEVE_MIME_OPT_TYPE, NULL, 0, &c), 0);
	assert_string_equal(str_c(&c.all), "[]");
	/* :param with RFC 2231 continuations and charset (RFC 5703 4.1 example) */
	assert_int_equal(values(mime, 5, "Content-Disposition", SIEVE_MIME_OPT_PARAM, filename, 1, &c), 1);
	assert_string_equal(str_c(&c.all), "[\xc3\xa9t\xc3\xa9-important.pdf]");
	assert_int_equal(values(mime, 1, "Content-Type", SIEVE_MIME_OPT_PARAM, two, 2, &c), 1);
	assert_string_equal(str_c(&c.all), "[iso-8859-1]");
	assert_int_equal(values(mime, 3, "Content-Type", SIEVE_MIME_OPT_PARAM, filename, 1, &c), 0);
	assert_string_equal(str_c(&c.all), "");
	/* the whole value, and stopping early */
	assert_int_equal(values(mime, 0, "Subject", SIEVE_MIME_OPT_NONE, NULL, 0, &c), 1);
	assert_string_equal(str_c(&c.all), "[Report]");
	sieve_mime_free(&mime);
	str_free(&c.all);
}

static void extract(const struct sieve_mime *mime, size_t index, size_t first, size_t max,
		    const char *expect)
{
	struct str out = STR_INIT;

	sieve_mime_extract_text(mime, index, first, max, &out);
	assert_string_equal(str_c(&out), expect);
	str_free(&out);
}

static void test_extracttext(void **state)
{
	struct sieve_mime *mime = sieve_mime_parse(msg, strlen(msg));

	(void)state;
	extract(mime, 1, 0, 1000, "Caf\xc3\xa9 au lait");
	extract(mime, 1, 4, 1000, "Caf\xc3\xa9");	/* :first counts characters */
	extract(mime, 1, 0, 4, "Caf");			/* a byte limit keeps characters whole */
	extract(mime, 3, 0, 1000, "plain text");
	extract(mime, 0, 0, 1000, "");			/* multipart */
	extract(mime, 2, 0, 1000, "");
	extract(mime, 5, 0, 1000, "");			/* application/pdf */
	extract(mime, 6, 0, 1000, "");			/* message/rfc822 */
	extract(mime, 7, 0, 1000, "");			/* unknown charset */
	sieve_mime_free(&mime);

	mime = sieve_mime_parse("Content-Transfer-Encoding: x-foo\n\nabc\n", 38);
	extract(mime, 0, 0, 1000, "");			/* unknown transfer encoding */
	sieve_mime_free(&mime);
	mime = sieve_mime_parse("Content-Transfer-Encoding: base64\n\naGVsbG8=\n", 44);
	extract(mime, 0, 0, 1000, "hello");
	sieve_mime_free(&mime);
}

/* Parses `text` and returns the part types in order, as order() does. */
static void structure(const char *text, size_t len, struct str *out)
{
	struct sieve_mime *mime = sieve_mime_parse(text, len);

	str_truncate(out, 0);
	order(mime, SIEVE_MIME_TOP, out);
	sieve_mime_free(&mime);
}

static void test_replace_part(void **state)
{
	struct sieve_mime *mime = sieve_mime_parse(msg, strlen(msg));
	struct sieve_mime_replace r = { .text = "removed", .text_len = 7 };
	struct str out = STR_INIT, types = STR_INIT;
	const char *error = NULL;

	(void)state;
	/* the pdf becomes a text/plain part; the structure stays */
	assert_int_equal(sieve_mime_edit_replace(msg, strlen(msg), sieve_mime_part(mime, 5), &r,
						 &out, &error), 0);
	assert_null(strstr(str_c(&out), "JVBERi0"));
	assert_non_null(strstr(str_c(&out), "charset=utf-8\r\nContent-Transfer-Encoding: 7bit\r\n\r\nremoved\r\n--outer\r\n"));
	structure(out.data, out.len, &types);
	assert_string_equal(str_c(&types), "multipart/mixed text/plain multipart/alternative "
			    "text/plain text/html text/plain message/rfc822 text/plain");
	/* a multipart part: its children go (RFC 5703 5) */
	str_truncate(&out, 0);
	r.mime = true;
	r.text = "Content-Type: text/x-note\n\nnote\n";
	r.text_len = strlen(r.text);
	assert_int_equal(sieve_mime_edit_replace(msg, strlen(msg), sieve_mime_part(mime, 2), &r,
						 &out, &error), 0);
	structure(out.data, out.len, &types);
	assert_string_equal(str_c(&types), "multipart/mixed text/plain text/x-note "
			    "application/pdf message/rfc822 text/plain");
	assert_null(strstr(str_c(&out), "\r\n\n"));	/* line ends follow the message */
	/* UTF-8 text goes out in base64 */
	str_truncate(&out, 0);
	r.mime = false;
	r.text = "\xc3\xa9t\xc3\xa9";
	r.text_len = 5;
	assert_int_equal(sieve_mime_edit_replace(msg, strlen(msg), sieve_mime_part(mime, 1), &r,
						 &out, &error), 0);
	assert_non_null(strstr(str_c(&out), "base64\r\n\r\nw6l0w6k=\r\n--outer"));
	sieve_mime_free(&mime);
	str_free(&out);
	str_free(&types);
}

static void test_replace_message(void **state)
{
	struct sieve_mime *mime = sieve_mime_parse(msg, strlen(msg));
	struct sieve_mime_replace r = { .text = "Your message was removed.", .text_len = 25,
		.subject = "R\xc3\xa9sum\xc3\xa9", .from = "Filter <filter@example.com>" };
	struct str out = STR_INIT, types = STR_INIT;
	const char *error = NULL;

	(void)state;
	assert_int_equal(sieve_mime_edit_replace(msg, strlen(msg), sieve_mime_part(mime, 0), &r,
						 &out, &error), 0);
	assert_string_equal(str_c(&out),
			    "Original-From: alice@example.com\r\n"
			    "To: bob@example.com\r\n"
			    "Original-Subject: Report\r\n"
			    "Subject: =?UTF-8?B?UsOpc3Vtw6k=?=\r\n"
			    "From: Filter <filter@example.com>\r\n"
			    "MIME-Version: 1.0\r\n"
			    "Content-Type: text/plain; charset=utf-8\r\n"
			    "Content-Transfer-Encoding: 7bit\r\n"
			    "\r\n"
			    "Your message was removed.\r\n");
	/* :mime: the entity as given, :subject and :from ignored */
	str_truncate(&out, 0);
	r.mime = true;
	r.text = "Content-Type: text/html\r\n\r\n<p>gone</p>";
	r.text_len = strlen(r.text);
	assert_int_equal(sieve_mime_edit_replace(msg, strlen(msg), sieve_mime_part(mime, 0), &r,
						 &out, &error), 0);
	assert_non_null(strstr(str_c(&out), "From: alice@example.com\r\nTo: bob@example.com\r\n"
			       "Subject: Report\r\nMIME-Version: 1.0\r\nContent-Type: text/html\r\n\r\n<p>gone</p>"));
	structure(out.data, out.len, &types);
	assert_string_equal(str_c(&types), "text/html");
	/* a bad :from is an error; a non-ASCII one is ignored */
	str_truncate(&out, 0);
	r.mime = false;
	r.from = "not an address";
	assert_int_equal(sieve_mime_edit_replace(msg, strlen(msg), sieve_mime_part(mime, 0), &r,
						 &out, &error), -1);
	assert_non_null(strstr(error, ":from"));
	assert_int_equal(out.len, 0);
	r.from = "J\xc3\xb6rg <j@example.com>";
	assert_int_equal(sieve_mime_edit_replace(msg, strlen(msg), sieve_mime_part(mime, 0), &r,
						 &out, &error), 0);
	assert_true(strncmp(str_c(&out), "From: alice@example.com\r\n", 25) == 0);
	sieve_mime_free(&mime);
	str_free(&out);
	str_free(&types);
}

static void test_enclose(void **state)
{
	const char *const headers[] = { "to", "From" };
	struct sieve_mime_enclose e = { .text = "See the attached message.", .text_len = 25,
		.date = 1796680800, .from = "bob@example.com" };
	struct str out = STR_INIT, types = STR_INIT;
	struct sieve_mime *mime;
	const char *lf = "Subject: hi\nFrom: a@example.com\n\n--roost-enclose-x\n";

	(void)state;
	sieve_mime_edit_enclose(msg, strlen(msg), &e, &out);
	assert_true(strncmp(str_c(&out), "Subject: Report\r\nDate: Mon, 07 Dec 2026 22:00:00 +0000\r\n"
			    "From: bob@example.com\r\nMIME-Version: 1.0\r\n"
			    "Content-Type: multipart/mixed; boundary=\"roost-enclose-", 152) == 0);
	structure(out.data, out.len, &types);
	assert_string_equal(str_c(&types), "multipart/mixed text/plain message/rfc822 "
			    "multipart/mixed text/plain multipart/alternative text/plain "
			    "text/html application/pdf message/rfc822 text/plain");
	/* the enclosed message is byte for byte the original */
	mime = sieve_mime_parse(out.data, out.len);
	assert_int_equal(sieve_mime_part(mime, 3)->header_offset +
			 sieve_mime_part(mime, 3)->header_size +
			 sieve_mime_part(mime, 3)->body_size,
			 sieve_mime_part(mime, 3)->header_offset + strlen(msg));
	assert_memory_equal(out.data + sieve_mime_part(mime, 3)->header_offset, msg, strlen(msg));
	sieve_mime_free(&mime);

	/* :subject and :headers; LF line ends */
	str_truncate(&out, 0);
	e.subject = "Fwd";
	e.headers = headers;
	e.header_count = 2;
	sieve_mime_edit_enclose(lf, strlen(lf), &e, &out);
	assert_true(strncmp(str_c(&out), "From: a@example.com\nSubject: Fwd\nDate: ", 39) == 0);
	assert_null(strstr(str_c(&out), "\r\n"));
	assert_null(strstr(str_c(&out), "boundary=\"roost-enclose-x\""));
	structure(out.data, out.len, &types);
	assert_string_equal(str_c(&types), "multipart/mixed text/plain message/rfc822 TEXT/PLAIN");
	str_free(&out);
	str_free(&types);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_order),
		cmocka_unit_test(test_mimeopts),
		cmocka_unit_test(test_extracttext),
		cmocka_unit_test(test_replace_part),
		cmocka_unit_test(test_replace_message),
		cmocka_unit_test(test_enclose),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
