/* test-submit.c: the submit layer's pure parts: reading raw header
 * fields, the RFC 3834 / RFC 5230 rules on automatic replies, redirect's
 * loop protection, the composers (each message parsed back with the mime
 * parser and every required field and part checked), and the config
 * keys of outgoing mail.  Sending is test-submit-send.c's. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/base.h"
#include "base/str.h"
#include "conf/conf.h"
#include "mime/date.h"
#include "mime/decode.h"
#include "mime/header.h"
#include "mime/parser.h"
#include "submit/submit.h"
#include "testlib.h"

#define T0 ((time_t)1700000000)	/* Tue, 14 Nov 2023 22:13:20 +0000 */

static const struct submit_origin origin = { .hostname = "mx.example.org", .date = T0 };

static const char orig_header[] =
	"Return-Path: <sender@example.com>\r\n"
	"From: Sender Person <sender@example.com>\r\n"
	"To: user@example.org\r\n"
	"Subject: =?ISO-8859-1?Q?Caf=E9?= plans\r\n"
	"Message-ID: <orig.1@example.com>\r\n"
	"References: <a.0@example.com>\r\n"
	"\t<b.0@example.com>\r\n"
	"In-Reply-To: <b.0@example.com>\r\n"
	"\r\n";

/* ---- helpers ---- */

/* Every line of m ends in CRLF and is at most 998 octets (RFC 5322
 * 2.1.1 and 2.3). */
static void assert_crlf_lines(const struct str *m)
{
	size_t line = 0;

	assert_true(m->len >= 2);
	assert_memory_equal(m->data + m->len - 2, "\r\n", 2);
	for (size_t i = 0; i < m->len; i++) {
		if (m->data[i] == '\n') {
			assert_true(i > 0 && m->data[i - 1] == '\r');
			line = 0;
		} else if (m->data[i] == '\r') {
			assert_true(i + 1 < m->len && m->data[i + 1] == '\n');
		} else if (++line > 998) {
			fail_msg("a line longer than 998 octets at %zu", i);
		}
	}
}

/* The value of header field `name` of the part (its header bytes in
 * msg), unfolded; NULL when absent (the caller frees). */
static char *part_field(const struct str *msg, const struct mime_part *part, const char *name)
{
	struct str v = STR_INIT;

	if (submit_header_get(msg->data + part->header_offset, part->header_size, name, &v) == 0) {
		str_free(&v);
		return NULL;
	}
	return v.data != NULL ? str_steal(&v) : xstrdup("");
}

static void assert_field(const struct str *msg, const struct mime_part *part, const char *name,
			 const char *expected)
{
	char *v = part_field(msg, part, name);

	if (v == NULL)
		fail_msg("no %s field", name);
	assert_string_equal(v, expected);
	free(v);
}

static void assert_no_field(const struct str *msg, const struct mime_part *part,
			    const char *name)
{
	char *v = part_field(msg, part, name);

	if (v != NULL)
		fail_msg("unexpected %s: %s", name, v);
}

/* The decoded body of a part (its transfer encoding undone). */
static char *part_body(const struct str *msg, const struct mime_part *part)
{
	struct str out = STR_INIT;
	const char *body = msg->data + part->body_offset;

	if (part->transfer_encoding == MIME_ENCODING_QP)
		mime_decode_qp(body, part->body_size, &out);
	else if (part->transfer_encoding == MIME_ENCODING_BASE64)
		mime_decode_base64(body, part->body_size, &out);
	else
		str_append_n(&out, body, part->body_size);
	return out.data != NULL ? str_steal(&out) : xstrdup("");
}

/* The Subject of the part decoded to UTF-8; also checks that no encoded
 * word is longer than 75 characters (RFC 2047 2). */
static char *decoded_subject(const struct str *msg, const struct mime_part *part)
{
	char *raw = part_field(msg, part, "Subject");
	struct str out = STR_INIT;

	assert_non_null(raw);
	for (const char *p = strstr(raw, "=?"), *end; p != NULL; p = strstr(end + 2, "=?")) {
		/* "=?UTF-8?B?" ... "?=": the end is after the third '?' */
		end = strstr(p + 10, "?=");
		assert_non_null(end);
		assert_true(end + 2 - p <= 75);
	}
	mime_header_decode_utf8(raw, strlen(raw), &out);
	free(raw);
	return out.data != NULL ? str_steal(&out) : xstrdup("");
}

/* A Date field that parses and says T0, and a Message-ID at the
 * origin's host. */
static void assert_date_and_id(const struct str *msg, const struct mime_part *root)
{
	char *date = part_field(msg, root, "Date"), *id = part_field(msg, root, "Message-ID");
	time_t t;
	int tz;

	assert_non_null(date);
	assert_int_equal(mime_date_parse(date, &t, &tz), 0);
	assert_int_equal(t, T0);
	assert_string_equal(date, "Tue, 14 Nov 2023 22:13:20 +0000");
	assert_non_null(id);
	assert_true(id[0] == '<' && strchr(id, '@') != NULL);
	assert_string_equal(strchr(id, '@'), "@mx.example.org>");
	free(date);
	free(id);
}

/* ---- header.c ---- */

static void test_header_fields(void **state)
{
	(void)state;
	static const char h[] =
		"Subject:  folded\r\n\t over  \r\n  lines \r\n"
		"no colon line\n"
		"X-Empty:\n"
		"x-lower : value\n"
		"\r\n"
		"After: the body\r\n";
	struct submit_header_iter iter;
	struct str v = STR_INIT;
	const char *name;
	size_t len;

	submit_header_init(&iter, h, sizeof(h) - 1);
	assert_int_equal(submit_header_next(&iter, &name, &len, &v), 1);
	assert_int_equal(len, 7);
	assert_memory_equal(name, "Subject", 7);
	assert_string_equal(str_c(&v), "folded\t over    lines");
	assert_int_equal(submit_header_next(&iter, &name, &len, &v), 1);
	assert_memory_equal(name, "X-Empty", len);
	assert_string_equal(str_c(&v), "");
	assert_int_equal(submit_header_next(&iter, &name, &len, &v), 1);
	assert_int_equal(len, 7);	/* the space before ':' is not in the name */
	assert_string_equal(str_c(&v), "value");
	/* the empty line ends the header */
	assert_int_equal(submit_header_next(&iter, &name, &len, &v), 0);
	assert_int_equal(submit_header_get(h, sizeof(h) - 1, "X-LOWER", &v), 1);
	assert_string_equal(str_c(&v), "value");
	assert_int_equal(submit_header_get(h, sizeof(h) - 1, "After", &v), 0);
	assert_string_equal(str_c(&v), "");
	/* a header without its empty line, ending without a line end */
	assert_int_equal(submit_header_get("A: 1\nB: 2", 10, "B", &v), 1);
	assert_string_equal(str_c(&v), "2");
	assert_int_equal(submit_header_get("", 0, "B", &v), 0);
	/* a CR alone inside a line (fuzz-submit found it) is a space */
	assert_int_equal(submit_header_get("A: x\ry\r\n\tz\r\n", 13, "A", &v), 1);
	assert_string_equal(str_c(&v), "x y\tz");
	str_free(&v);
}

/* ---- autoreply.c ---- */

static const char *const user_addrs[] = { "user@example.org", "alias@example.org" };

static bool allowed(const char *header, const char *sender)
{
	const char *reason = NULL;
	bool ok = submit_autoreply_is_allowed(header, strlen(header), sender, user_addrs, 2,
					      &reason);

	assert_true(ok == (reason == NULL));
	return ok;
}

static void test_autoreply_rules(void **state)
{
	(void)state;
	static const char plain[] = "From: a@example.com\r\nTo: user@example.org\r\n\r\n";

	assert_true(allowed(plain, "a@example.com"));
	/* RFC 3834 2: never to a null address */
	assert_false(allowed(plain, ""));
	assert_false(allowed(plain, NULL));
	/* RFC 5230 4.6, RFC 3834 2: addresses of automated systems */
	assert_false(allowed(plain, "MAILER-DAEMON@example.com"));
	assert_false(allowed(plain, "mailer-daemon@example.com"));
	assert_false(allowed(plain, "listserv@example.com"));
	assert_false(allowed(plain, "Majordomo@example.com"));
	assert_false(allowed(plain, "owner-knitting@example.com"));
	assert_false(allowed(plain, "knitting-request@example.com"));
	assert_true(allowed(plain, "postmaster@example.com"));	/* people read it */
	assert_true(allowed(plain, "requester@example.com"));
	assert_true(allowed(plain, "the-owner@example.com"));
	/* the user's own address, in any case */
	assert_false(allowed(plain, "USER@example.org"));
	assert_false(allowed(plain, "alias@Example.org"));
	/* RFC 3834 5: Auto-Submitted other than "no" */
	assert_false(allowed("Auto-Submitted: auto-replied\r\n\r\n", "a@example.com"));
	assert_false(allowed("auto-submitted: Auto-Generated (cron)\r\n", "a@example.com"));
	assert_false(allowed("Auto-Submitted: auto-notified; owner-email=\"x@y\"\r\n",
			     "a@example.com"));
	assert_true(allowed("Auto-Submitted: no\r\n", "a@example.com"));
	assert_true(allowed("Auto-Submitted: No (a person)\r\n", "a@example.com"));
	/* Precedence */
	assert_false(allowed("Precedence: bulk\r\n", "a@example.com"));
	assert_false(allowed("Precedence: LIST\r\n", "a@example.com"));
	assert_false(allowed("Precedence: junk\r\n", "a@example.com"));
	assert_true(allowed("Precedence: first-class\r\n", "a@example.com"));
	/* List-* (RFC 2369, RFC 2919) */
	assert_false(allowed("List-Id: Knitting <knitting.example.com>\r\n", "a@example.com"));
	assert_false(allowed("List-Unsubscribe: <mailto:x@example.com>\r\n", "a@example.com"));
	assert_false(allowed("list-post: NO\r\n", "a@example.com"));
	assert_false(allowed("List-Archive: <http://x>\r\n", "a@example.com"));
	assert_false(allowed("List-Owner: <mailto:o@x>\r\n", "a@example.com"));
	assert_false(allowed("List-Help: <mailto:o@x>\r\n", "a@example.com"));
	assert_false(allowed("List-Subscribe: <mailto:o@x>\r\n", "a@example.com"));
	assert_true(allowed("List-Unknown-Thing: x\r\nX-List: y\r\n", "a@example.com"));
	/* X-Auto-Response-Suppress */
	assert_false(allowed("X-Auto-Response-Suppress: DR, OOF\r\n", "a@example.com"));
	assert_false(allowed("X-Auto-Response-Suppress: All\r\n", "a@example.com"));
	assert_true(allowed("X-Auto-Response-Suppress: DR, RN\r\n", "a@example.com"));
	/* X-Loop naming the user */
	assert_false(allowed("X-Loop: user@example.org\r\n", "a@example.com"));
	assert_true(allowed("X-Loop: other@example.org\r\n", "a@example.com"));
	/* a field in the body does not count */
	assert_true(allowed("From: a@example.com\r\n\r\nList-Id: x\r\n", "a@example.com"));
}

static void test_autoreply_addressed(void **state)
{
	(void)state;
	const char *h;

#define ADDRESSED(hdr) submit_autoreply_is_addressed(hdr, strlen(hdr), user_addrs, 2)
	assert_true(ADDRESSED("To: Someone <user@example.org>\r\n"));
	assert_true(ADDRESSED("To: a@x, b@y\r\nCc: \"U\" <USER@EXAMPLE.ORG>\r\n"));
	assert_true(ADDRESSED("Bcc: alias@example.org\r\n"));
	assert_true(ADDRESSED("Resent-To: x@y\r\nResent-Cc: alias@example.org\r\n"));
	assert_true(ADDRESSED("Resent-Bcc: friends: alias@example.org, z@y;\r\n"));
	h = "From: user@example.org\r\nTo: list@example.com\r\n"
		"Reply-To: user@example.org\r\n";
	assert_false(ADDRESSED(h));
	assert_false(ADDRESSED("To: user@example.org.evil\r\n"));
	assert_false(ADDRESSED("To: xuser@example.org\r\n"));
	assert_false(ADDRESSED(""));
#undef ADDRESSED
}

/* ---- the redirected copy and its loop protection ---- */

static void test_redirect(void **state)
{
	(void)state;
	static const char msg[] = "From: a@example.com\nTo: user@example.org\nSubject: hi\n\n"
		"line one\n.dot line\nlast";
	static const char *const other[] = { "other@example.org" };
	struct str out = STR_INIT;

	assert_false(submit_redirect_is_loop(msg, sizeof(msg) - 1, user_addrs, 2));
	submit_redirect_compose(&out, "user@example.org", msg, sizeof(msg) - 1);
	assert_crlf_lines(&out);
	assert_string_equal(str_c(&out),
			    "X-Sieve-Redirected-From: user@example.org\r\n"
			    "From: a@example.com\r\nTo: user@example.org\r\nSubject: hi\r\n\r\n"
			    "line one\r\n.dot line\r\nlast\r\n");
	/* the copy coming back is a loop for this user, not for another */
	assert_true(submit_redirect_is_loop(out.data, out.len, user_addrs, 2));
	assert_false(submit_redirect_is_loop(out.data, out.len, other, 1));
	/* the field in the body is not looked at */
	assert_false(submit_redirect_is_loop("A: b\r\n\r\nX-Sieve-Redirected-From: user@example.org\r\n",
					     48, user_addrs, 2));
	/* a CR alone ends a line too: no bare CR goes out */
	str_truncate(&out, 0);
	submit_redirect_compose(&out, "u@x", "A: b\rC: d\r\n\r\nx\r\ry", 17);
	assert_string_equal(str_c(&out), "X-Sieve-Redirected-From: u@x\r\nA: b\r\nC: d\r\n\r\n"
			    "x\r\n\r\ny\r\n");
	/* a CR LF in the address cannot add a field */
	str_truncate(&out, 0);
	submit_redirect_compose(&out, "u@x\r\nBcc: evil@x", "A: b\r\n\r\n", 8);
	assert_string_equal(str_c(&out), "X-Sieve-Redirected-From: u@x  Bcc: evil@x\r\nA: b\r\n\r\n");
	str_free(&out);
}

/* ---- the vacation reply ---- */

static void test_vacation_reply(void **state)
{
	(void)state;
	struct submit_vacation v = {
		.orig_header = orig_header, .orig_header_len = sizeof(orig_header) - 1,
		.from = "User <user@example.org>", .to = "sender@example.com",
		.reason = "I am away until Monday.\nLine with \xc3\xa9t\xc3\xa9.\n",
	};
	struct str out = STR_INIT;
	struct mime_parser *parser;
	struct mime_part *root;
	char *s;

	submit_vacation_compose(&out, &v, &origin);
	assert_crlf_lines(&out);
	root = mime_parser_parse(out.data, out.len, &parser);
	assert_date_and_id(&out, root);
	assert_field(&out, root, "From", "User <user@example.org>");
	assert_field(&out, root, "To", "<sender@example.com>");
	/* RFC 5230 5.3: "Auto: " and the original subject (decoded from
	 * ISO-8859-1 and encoded again, RFC 5230 4.3) */
	s = decoded_subject(&out, root);
	assert_string_equal(s, "Auto: Caf\xc3\xa9 plans");
	free(s);
	/* RFC 5230 5.8, RFC 5322 3.6.4 */
	assert_field(&out, root, "In-Reply-To", "<orig.1@example.com>");
	assert_field(&out, root, "References",
		     "<a.0@example.com> <b.0@example.com> <orig.1@example.com>");
	assert_field(&out, root, "Auto-Submitted", "auto-replied");
	assert_field(&out, root, "MIME-Version", "1.0");
	assert_string_equal(root->type, "text");
	assert_string_equal(root->subtype, "plain");
	assert_string_equal(mime_param_find(root->params, root->param_count, "charset", NULL),
			    "utf-8");
	/* not 7-bit: quoted-printable, decoding to the reason */
	assert_int_equal(root->transfer_encoding, MIME_ENCODING_QP);
	s = part_body(&out, root);
	assert_string_equal(s, "I am away until Monday.\r\nLine with \xc3\xa9t\xc3\xa9.\r\n");
	free(s);
	mime_parser_destroy(&parser);

	/* :subject given, ASCII: as it is; an original without subject or
	 * Message-ID: no In-Reply-To, and the fixed subject */
	str_truncate(&out, 0);
	v.orig_header = "From: x@y\r\n\r\n";
	v.orig_header_len = 13;
	v.subject = "Away";
	v.reason = "ascii only";
	submit_vacation_compose(&out, &v, &origin);
	root = mime_parser_parse(out.data, out.len, &parser);
	assert_field(&out, root, "Subject", "Away");
	assert_no_field(&out, root, "In-Reply-To");
	assert_no_field(&out, root, "References");
	assert_int_equal(root->transfer_encoding, MIME_ENCODING_7BIT);
	s = part_body(&out, root);
	assert_string_equal(s, "ascii only\r\n");
	free(s);
	mime_parser_destroy(&parser);

	str_truncate(&out, 0);
	v.subject = NULL;
	submit_vacation_compose(&out, &v, &origin);
	root = mime_parser_parse(out.data, out.len, &parser);
	assert_field(&out, root, "Subject", "Automated reply");
	mime_parser_destroy(&parser);
	str_free(&out);
}

static void test_vacation_subject_encoding(void **state)
{
	(void)state;
	struct str subject = STR_INIT, out = STR_INIT;
	struct submit_vacation v = {
		.orig_header = "", .from = "u@x", .to = "s@y", .reason = "r",
	};
	struct mime_parser *parser;
	struct mime_part *root;
	char *s;

	/* 200 characters of two bytes each: several encoded words, none
	 * split inside a character; "=?" in ASCII text is encoded too */
	for (int i = 0; i < 200; i++)
		str_append(&subject, "\xc3\xa9");
	str_append(&subject, " =?x?= \xff end");
	v.subject = str_c(&subject);
	submit_vacation_compose(&out, &v, &origin);
	assert_crlf_lines(&out);
	root = mime_parser_parse(out.data, out.len, &parser);
	s = decoded_subject(&out, root);
	/* the invalid byte became U+FFFD */
	str_truncate(&subject, subject.len - 5);
	str_append(&subject, "\xef\xbf\xbd end");
	assert_string_equal(s, str_c(&subject));
	free(s);
	/* every line of the header fits 78 characters */
	for (const char *p = out.data; p < out.data + root->header_size;) {
		const char *eol = strstr(p, "\r\n");
		assert_true(eol - p <= 76);
		p = eol + 2;
	}
	mime_parser_destroy(&parser);
	str_free(&subject);
	str_free(&out);
}

static void test_vacation_mime(void **state)
{
	(void)state;
	/* RFC 5230 4.4's example */
	static const char reason[] =
		"Content-Type: multipart/alternative; boundary=foo\n"
		"\n"
		"--foo\n"
		"\n"
		"I'm at the beach relaxing.  Mmmm, surf...\n"
		"\n"
		"--foo\n"
		"Content-Type: text/html; charset=us-ascii\n"
		"\n"
		"<P>I'm at the <A HREF=\"beach.gif\">beach</A> relaxing.\n"
		"--foo--\n";
	struct submit_vacation v = {
		.orig_header = orig_header, .orig_header_len = sizeof(orig_header) - 1,
		.from = "u@example.org", .to = "s@example.com", .reason = reason, .mime = true,
	};
	struct str out = STR_INIT;
	struct mime_parser *parser;
	struct mime_part *root;
	char *s;

	submit_vacation_compose(&out, &v, &origin);
	assert_crlf_lines(&out);
	root = mime_parser_parse(out.data, out.len, &parser);
	assert_string_equal(root->type, "multipart");
	assert_string_equal(root->subtype, "alternative");
	assert_int_equal(root->child_count, 2);
	s = part_body(&out, root->children);
	assert_string_equal(s, "I'm at the beach relaxing.  Mmmm, surf...\r\n");
	free(s);
	assert_string_equal(root->children->next->subtype, "html");
	assert_field(&out, root, "Auto-Submitted", "auto-replied");
	assert_field(&out, root, "MIME-Version", "1.0");
	mime_parser_destroy(&parser);
	str_free(&out);
}

static void test_vacation_no_injection(void **state)
{
	(void)state;
	struct submit_vacation v = {
		.orig_header = "", .from = "u@x\r\nBcc: evil@x", .to = "s@y\nCc: evil@x",
		.subject = "s\r\nX-Evil: 1", .reason = "r",
	};
	struct str out = STR_INIT;
	struct mime_parser *parser;
	struct mime_part *root;

	submit_vacation_compose(&out, &v, &origin);
	root = mime_parser_parse(out.data, out.len, &parser);
	assert_no_field(&out, root, "Bcc");
	assert_no_field(&out, root, "Cc");
	assert_no_field(&out, root, "X-Evil");
	mime_parser_destroy(&parser);
	str_free(&out);
}

static void test_long_lines_and_bad_utf8(void **state)
{
	(void)state;
	struct str reason = STR_INIT, out = STR_INIT, expect = STR_INIT;
	struct submit_vacation v = { .orig_header = "", .from = "u@x", .to = "s@y" };
	struct mime_parser *parser;
	struct mime_part *root;
	char *s;

	/* a 3,000-character line, "=" and trailing white space: quoted-
	 * printable, and decoding gives them back */
	for (int i = 0; i < 1000; i++)
		str_append(&reason, "ab=");
	str_append(&reason, " \nnext\t\n\xc3(bad)\n");
	v.reason = str_c(&reason);
	submit_vacation_compose(&out, &v, &origin);
	assert_crlf_lines(&out);
	root = mime_parser_parse(out.data, out.len, &parser);
	assert_int_equal(root->transfer_encoding, MIME_ENCODING_QP);
	for (const char *p = out.data + root->body_offset; *p != '\0';) {
		const char *eol = strstr(p, "\r\n");
		assert_true(eol - p <= 76);
		p = eol + 2;
	}
	s = part_body(&out, root);
	for (int i = 0; i < 1000; i++)
		str_append(&expect, "ab=");
	str_append(&expect, " \r\nnext\t\r\n\xef\xbf\xbd(bad)\r\n");
	assert_string_equal(s, str_c(&expect));
	free(s);
	mime_parser_destroy(&parser);
	str_free(&reason);
	str_free(&out);
	str_free(&expect);
}

/* ---- the reject reports ---- */

static const char *const reject_reason = "I am not taking mail from you, and I don't\n"
	"want your birdseed, either!";

static void check_report_common(const struct str *out, struct mime_part *root,
				const char *report_type, const char *second_subtype)
{
	char *s;

	assert_crlf_lines(out);
	assert_date_and_id(out, root);
	assert_field(out, root, "To", "<sender@example.com>");
	assert_field(out, root, "MIME-Version", "1.0");
	assert_field(out, root, "Auto-Submitted", "auto-replied");
	assert_no_field(out, root, "Disposition-Notification-To");
	s = decoded_subject(out, root);
	assert_string_equal(s, "Rejected: Caf\xc3\xa9 plans");
	free(s);
	assert_string_equal(root->type, "multipart");
	assert_string_equal(root->subtype, "report");
	assert_string_equal(mime_param_find(root->params, root->param_count, "report-type",
					    NULL), report_type);
	assert_int_equal(root->child_count, 3);
	/* 1: the human part with the reason */
	const struct mime_part *human = root->children;
	assert_string_equal(human->type, "text");
	assert_string_equal(human->subtype, "plain");
	s = part_body(out, human);
	assert_non_null(strstr(s, "I am not taking mail from you, and I don't\r\n"
			       "want your birdseed, either!"));
	assert_non_null(strstr(s, "refused by the recipient's mail filtering program"));
	free(s);
	/* 2: the machine-readable part */
	assert_string_equal(human->next->type, "message");
	assert_string_equal(human->next->subtype, second_subtype);
	/* 3: the original's header, whole */
	const struct mime_part *hdr = human->next->next;
	assert_string_equal(hdr->type, "text");
	assert_string_equal(hdr->subtype, "rfc822-headers");
	s = part_body(out, hdr);
	assert_non_null(strstr(s, "Subject: =?ISO-8859-1?Q?Caf=E9?= plans\r\n"));
	assert_non_null(strstr(s, "References: <a.0@example.com>\r\n\t<b.0@example.com>\r\n"));
	free(s);
}

typedef void report_compose_t(struct str *dest, const struct submit_reject *reject,
			      const struct submit_origin *origin);

/* Composes the report of r, checks what every report has and its From,
 * and that its second part's body is `second`. */
static void check_reject_report(report_compose_t *compose, const struct submit_reject *r,
				const char *report_type, const char *from, const char *second)
{
	struct str out = STR_INIT;
	struct mime_parser *parser;
	struct mime_part *root;
	char *s;

	compose(&out, r, &origin);
	root = mime_parser_parse(out.data, out.len, &parser);
	check_report_common(&out, root, report_type, report_type);
	assert_field(&out, root, "From", from);
	s = part_body(&out, root->children->next);
	assert_string_equal(s, second);
	free(s);
	mime_parser_destroy(&parser);
	str_free(&out);
}

static void test_reject_mdn(void **state)
{
	(void)state;
	struct submit_reject r = {
		.orig_header = orig_header, .orig_header_len = sizeof(orig_header) - 1,
		.user = "user@example.org", .original_recipient = "User@Example.org",
		.to = "sender@example.com", .reason = reject_reason,
	};
	struct str out = STR_INIT;
	struct mime_parser *parser;
	struct mime_part *root;
	char *s;

	/* RFC 8098 3: From is the person the MDN is issued for */
	check_reject_report(submit_reject_mdn_compose, &r, "disposition-notification",
			    "user@example.org",
			    "Reporting-UA: mx.example.org; Roost\r\n"
			    "Original-Recipient: rfc822; User@Example.org\r\n"
			    "Final-Recipient: rfc822; user@example.org\r\n"
			    "Original-Message-ID: <orig.1@example.com>\r\n"
			    "Disposition: automatic-action/MDN-sent-automatically; deleted\r\n");

	/* no original recipient known, no Message-ID */
	r.original_recipient = NULL;
	r.orig_header = "Subject: x\r\n\r\n";
	r.orig_header_len = 14;
	submit_reject_mdn_compose(&out, &r, &origin);
	root = mime_parser_parse(out.data, out.len, &parser);
	s = part_body(&out, root->children->next);
	assert_null(strstr(s, "Original-Recipient"));
	assert_null(strstr(s, "Original-Message-ID"));
	assert_non_null(strstr(s, "Final-Recipient: rfc822; user@example.org\r\n"));
	free(s);
	mime_parser_destroy(&parser);
	str_free(&out);
}

static void test_reject_dsn(void **state)
{
	(void)state;
	struct submit_reject r = {
		.orig_header = orig_header, .orig_header_len = sizeof(orig_header) - 1,
		.user = "user@example.org", .to = "sender@example.com", .reason = reject_reason,
	};

	/* RFC 3464 2.1: per-message fields, an empty line, per-recipient
	 * fields; RFC 5429 2.1.2: Action failed */
	check_reject_report(submit_reject_dsn_compose, &r, "delivery-status",
			    "Mail Delivery System <MAILER-DAEMON@mx.example.org>",
			    "Reporting-MTA: dns; mx.example.org\r\n"
			    "\r\n"
			    "Final-Recipient: rfc822; user@example.org\r\n"
			    "Action: failed\r\n"
			    "Status: 5.7.1\r\n");
}

/* ---- the notification ---- */

static void test_notify(void **state)
{
	(void)state;
	static const char *const to[] = { "0123456789@sms.example.net", "backup@example.com" };
	static const char *const cc[] = { "cc@example.com" };
	static const struct submit_header_field headers[] = {
		{ "from", "evil@example.com" }, { "Auto-Submitted", "no" },
		{ "received", "from evil" }, { "Message-ID", "<x@y>" }, { "date", "yesterday" },
		{ "x-custom", "value \xc3\xa9" }, { "bad name", "x" }, { "In-Reply-To", "<x@y>" },
		{ "keywords", "knitting" },
	};
	struct submit_notify n = {
		.orig_header = orig_header, .orig_header_len = sizeof(orig_header) - 1,
		.from = "recipient@example.org", .owner = "recipient@example.org",
		.to = to, .to_count = 2, .cc = cc, .cc_count = 1,
		.subject = "From knitting list: A new sweater", .importance = 1,
		.headers = headers, .header_count = N_ELEMENTS(headers),
		.body = "See the list.",
	};
	struct str out = STR_INIT;
	struct mime_parser *parser;
	struct mime_part *root;
	char *s;

	submit_notify_compose(&out, &n, &origin);
	assert_crlf_lines(&out);
	/* RFC 5436 2.7.1: Auto-Submitted with owner-email, on top */
	static const char first[] = "Auto-Submitted: auto-notified; "
		"owner-email=\"recipient@example.org\"\r\n";
	assert_true(strncmp(out.data, first, sizeof(first) - 1) == 0);
	root = mime_parser_parse(out.data, out.len, &parser);
	assert_date_and_id(&out, root);
	assert_field(&out, root, "From", "recipient@example.org");
	assert_field(&out, root, "To", "<0123456789@sms.example.net>, <backup@example.com>");
	assert_field(&out, root, "Cc", "<cc@example.com>");
	assert_field(&out, root, "Subject", "From knitting list: A new sweater");
	assert_field(&out, root, "References", "<orig.1@example.com>");
	assert_field(&out, root, "Importance", "high");
	assert_field(&out, root, "Keywords", "knitting");
	s = decoded_subject(&out, root);	/* checks encoded words too */
	free(s);
	s = part_field(&out, root, "X-custom");
	assert_non_null(s);
	struct str dec = STR_INIT;
	mime_header_decode_utf8(s, strlen(s), &dec);
	assert_string_equal(str_c(&dec), "value \xc3\xa9");
	str_free(&dec);
	free(s);
	/* the unsafe URI headers are ignored (RFC 5436 2.7) */
	s = part_field(&out, root, "Date");
	assert_string_equal(s, "Tue, 14 Nov 2023 22:13:20 +0000");
	free(s);
	assert_no_field(&out, root, "Received");
	assert_no_field(&out, root, "In-Reply-To");
	assert_no_field(&out, root, "bad name");
	int count = 0;
	struct submit_header_iter iter;
	struct str v = STR_INIT;
	const char *name;
	size_t len;
	submit_header_init(&iter, out.data, root->header_size);
	while (submit_header_next(&iter, &name, &len, &v) > 0) {
		if ((len == 4 && strncasecmp(name, "From", 4) == 0) ||
		    (len == 14 && strncasecmp(name, "Auto-Submitted", 14) == 0) ||
		    (len == 10 && strncasecmp(name, "Message-ID", 10) == 0))
			count++;
	}
	assert_int_equal(count, 3);	/* one each */
	str_free(&v);
	s = part_body(&out, root);
	assert_string_equal(s, "See the list.\r\n");
	free(s);
	mime_parser_destroy(&parser);

	/* no :message, no body, no Cc: the original's subject, a body
	 * naming the original */
	str_truncate(&out, 0);
	n.subject = NULL;
	n.body = NULL;
	n.cc_count = 0;
	n.importance = 2;
	n.header_count = 0;
	submit_notify_compose(&out, &n, &origin);
	root = mime_parser_parse(out.data, out.len, &parser);
	s = decoded_subject(&out, root);
	assert_string_equal(s, "Caf\xc3\xa9 plans");
	free(s);
	assert_no_field(&out, root, "Cc");
	assert_no_field(&out, root, "Importance");
	s = part_body(&out, root);
	assert_non_null(strstr(s, "Sender Person <sender@example.com>"));
	assert_non_null(strstr(s, "Caf\xc3\xa9 plans"));
	free(s);
	mime_parser_destroy(&parser);
	str_free(&out);
}

/* ---- configuration ---- */

static struct roost_config *load(const char *text, char **error_r)
{
	char *path = testlib_path("roost.conf");
	struct roost_config *conf;

	*error_r = NULL;
	testlib_write_file(path, text, strlen(text));
	conf = config_load(path, error_r);
	free(path);
	return conf;
}

static void test_config(void **state)
{
	(void)state;
	struct roost_config *conf;
	char *error;

	conf = config_load(NULL, &error);
	assert_string_equal(conf->submission_host, "");
	assert_int_equal(conf->submission_port, 0);
	assert_int_equal(conf->submission_tls, CONF_SUBMISSION_TLS_STARTTLS);
	assert_int_equal(conf->submission_timeout, 30);
	assert_string_equal(conf->sendmail_path, "");
	assert_string_equal(conf->submission_user, "");
	assert_string_equal(conf->submission_password, "");
	assert_false(submit_is_configured(conf));
	config_free(&conf);

	conf = load("submission_host = smtp.example.com:587\nsubmission_tls = required\n"
		    "submission_timeout = 5\nsendmail_path = /usr/sbin/sendmail\n"
		    "submission_user = relay\nsubmission_password = p w\n", &error);
	assert_non_null(conf);
	assert_string_equal(conf->submission_host, "smtp.example.com");
	assert_int_equal(conf->submission_port, 587);
	assert_int_equal(conf->submission_tls, CONF_SUBMISSION_TLS_REQUIRED);
	assert_int_equal(conf->submission_timeout, 5);
	assert_string_equal(conf->sendmail_path, "/usr/sbin/sendmail");
	assert_string_equal(conf->submission_user, "relay");
	assert_string_equal(conf->submission_password, "p w");
	assert_true(submit_is_configured(conf));
	config_free(&conf);

	conf = load("submission_host = [::1]:25\nsubmission_tls = no\n", &error);
	assert_string_equal(conf->submission_host, "::1");
	assert_int_equal(conf->submission_port, 25);
	assert_int_equal(conf->submission_tls, CONF_SUBMISSION_TLS_NO);
	config_free(&conf);

	/* a relative sendmail_path is relative to the config file */
	conf = load("sendmail_path = bin/sendmail\n", &error);
	assert_string_equal(strrchr(conf->sendmail_path, '/') - 3, "bin/sendmail");
	assert_true(conf->sendmail_path[0] == '/');
	assert_true(submit_is_configured(conf));
	config_free(&conf);

	static const char *const bad[] = {
		"submission_host = smtp.example.com\n", "submission_host = host:0\n",
		"submission_host = host:65536\n", "submission_host = :25\n",
		"submission_host = ::1:25\n", "submission_host = host:25x\n",
		"submission_tls = yes\n", "submission_timeout = 0\n",
	};
	for (size_t i = 0; i < N_ELEMENTS(bad); i++) {
		conf = load(bad[i], &error);
		if (conf != NULL)
			fail_msg("accepted: %s", bad[i]);
		assert_non_null(error);
		free(error);
	}
}

static void test_address_validity(void **state)
{
	(void)state;
	assert_true(submit_address_is_valid("a@b"));
	assert_true(submit_address_is_valid("first.last+tag@example.org"));
	assert_true(submit_address_is_valid("\xc3\xa9@example.org"));
	static const char *const bad[] = {
		"", "a", "@b", "a@", "a@b@c", "a b@c", "<a@b>", "a@b\r\n", "\"a\"@b",
		"-oQ/tmp@x", "a,b@c", "a@b;c",
	};
	for (size_t i = 0; i < N_ELEMENTS(bad); i++) {
		if (submit_address_is_valid(bad[i]))
			fail_msg("valid: %s", bad[i]);
	}
	char long_addr[300];
	memset(long_addr, 'a', sizeof(long_addr));
	strcpy(long_addr + 250, "@b.c");	/* 254 octets: the limit */
	assert_true(submit_address_is_valid(long_addr));
	strcpy(long_addr + 251, "@b.c");
	assert_false(submit_address_is_valid(long_addr));
}

static int setup(void **state)
{
	(void)state;
	return testlib_dir_create("submit");
}

static int teardown(void **state)
{
	(void)state;
	testlib_dir_remove();
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_header_fields),
		cmocka_unit_test(test_autoreply_rules),
		cmocka_unit_test(test_autoreply_addressed),
		cmocka_unit_test(test_redirect),
		cmocka_unit_test(test_vacation_reply),
		cmocka_unit_test(test_vacation_subject_encoding),
		cmocka_unit_test(test_vacation_mime),
		cmocka_unit_test(test_vacation_no_injection),
		cmocka_unit_test(test_long_lines_and_bad_utf8),
		cmocka_unit_test(test_reject_mdn),
		cmocka_unit_test(test_reject_dsn),
		cmocka_unit_test(test_notify),
		cmocka_unit_test(test_config),
		cmocka_unit_test(test_address_validity),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
