/* test-mime-parser.c: the MIME parser, the ENVELOPE/BODY/BODYSTRUCTURE
 * writers and the part map.  Every message is parsed whole, one byte at a
 * time and in 7-byte chunks, and the three results must be identical.
 * Expected strings are worked out from RFC 9051 section 9 and RFC 2046
 * by hand (sizes count CRLF line ends; see parser.h for line counts). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "base/str.h"
#include "syntax/imap-bodystructure.h"
#include "syntax/imap-envelope.h"
#include "mime/parser.h"
#include "mime/part-map.h"

struct parsed {
	struct mime_parser *parser;
	struct mime_part *root;
	char *envelope, *body, *bodystructure;
	struct str map;
};

static void render(struct parsed *r, struct mime_parser *p)
{
	struct str s = STR_INIT;
	struct mime_part_map map;

	r->parser = p;
	r->root = mime_parser_finish(p);
	imap_envelope_write(&s, r->root, 0);
	r->envelope = str_steal(&s);
	imap_bodystructure_write(&s, r->root, false, 0);
	r->body = str_steal(&s);
	imap_bodystructure_write(&s, r->root, true, 0);
	r->bodystructure = str_steal(&s);
	/* what the store keeps is BODYSTRUCTURE; BODY is derived from it */
	assert_int_equal(imap_bodystructure_to_body(&s, r->bodystructure,
						    strlen(r->bodystructure)), 0);
	assert_string_equal(str_c(&s), r->body);
	str_free(&s);
	mime_part_map_init_tree(&map, r->root);
	mime_part_map_serialize(&map, &r->map);
	mime_part_map_deinit(&map);
}

static void parsed_free(struct parsed *r)
{
	mime_parser_destroy(&r->parser);
	free(r->envelope);
	free(r->body);
	free(r->bodystructure);
	str_free(&r->map);
}

/* Parses msg three ways, checks they agree, returns the whole parse. */
static void parse(const char *msg, size_t len, struct parsed *r)
{
	static const size_t chunks[] = { 1, 7 };

	struct mime_parser *whole = mime_parser_create();

	memset(r, 0, sizeof(*r));
	mime_parser_feed(whole, msg, len);
	render(r, whole);
	for (size_t c = 0; c < N_ELEMENTS(chunks); c++) {
		struct mime_parser *p = mime_parser_create();
		struct parsed other;
		memset(&other, 0, sizeof(other));
		for (size_t i = 0; i < len; i += chunks[c])
			mime_parser_feed(p, msg + i,
					 ROOST_MIN(chunks[c], len - i));
		render(&other, p);
		assert_string_equal(other.envelope, r->envelope);
		assert_string_equal(other.bodystructure, r->bodystructure);
		assert_int_equal(other.map.len, r->map.len);
		assert_memory_equal(other.map.data, r->map.data, r->map.len);
		parsed_free(&other);
	}
}

#define PARSE(msg, r) parse(msg, sizeof(msg) - 1, r)

static void test_mime_parser_simple(void **state)
{
	(void)state;
	static const char msg[] =
		"From: \"Joe Q. Public\" <john.q.public@example.com>\r\n"
		"To: Mary Smith <mary@x.test>, jdoe@example.org, Who? <one@y.test>\r\n"
		"Cc: <boss@nil.test>, \"Giant; \\\"Big\\\" Box\" <sysservices@example.net>\r\n"
		"Date: Tue, 1 Jul 2003 10:52:37 +0200\r\n"
		"Message-ID: <5678.21-Nov-1997@example.com>\r\n"
		"Subject: Saying\r\n"
		"  Hello\r\n"
		"\r\n"
		"Hi everyone.\r\n";
	struct parsed r;

	PARSE(msg, &r);
	assert_string_equal(r.envelope,
		"(\"Tue, 1 Jul 2003 10:52:37 +0200\" \"Saying  Hello\" "
		"((\"Joe Q. Public\" NIL \"john.q.public\" \"example.com\")) "
		"((\"Joe Q. Public\" NIL \"john.q.public\" \"example.com\")) "
		"((\"Joe Q. Public\" NIL \"john.q.public\" \"example.com\")) "
		"((\"Mary Smith\" NIL \"mary\" \"x.test\")"
		"(NIL NIL \"jdoe\" \"example.org\")"
		"(\"Who?\" NIL \"one\" \"y.test\")) "
		"((NIL NIL \"boss\" \"nil.test\")"
		"(\"Giant; \\\"Big\\\" Box\" NIL \"sysservices\" \"example.net\")) "
		"NIL NIL \"<5678.21-Nov-1997@example.com>\")");
	assert_string_equal(r.body,
		"(\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" 14 1)");
	assert_string_equal(r.bodystructure,
		"(\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" 14 1"
		" NIL NIL NIL NIL)");
	assert_int_equal(r.root->header_offset, 0);
	assert_int_equal(r.root->body_offset, sizeof(msg) - 1 - 14);
	assert_int_equal(r.root->header_lines, 8);
	assert_true((r.root->flags & MIME_PART_FLAG_DEFAULT_TYPE) != 0);
	parsed_free(&r);
}

static const char nested_msg[] =
	"Subject: nested\r\n"
	"Content-Type: multipart/mixed; boundary=\"outer\"\r\n"
	"\r\n"
	"This is the preamble.\r\n"
	"--outer\r\n"
	"Content-Type: text/plain; charset=utf-8\r\n"
	"Content-ID: <id1@x>\r\n"
	"Content-Description: the text\r\n"
	"Content-Transfer-Encoding: quoted-printable\r\n"
	"\r\n"
	"caf=C3=A9\r\n"
	"line 2\r\n"
	"--outer\r\n"
	"Content-Type: message/rfc822\r\n"
	"\r\n"
	"From: a@b.test\r\n"
	"Subject: inner\r\n"
	"Content-Type: multipart/alternative; boundary=inner\r\n"
	"\r\n"
	"--inner\r\n"
	"\r\n"
	"plain\r\n"
	"--inner\r\n"
	"Content-Type: text/html\r\n"
	"\r\n"
	"<p>x</p>\r\n"
	"--inner--\r\n"
	"\r\n"
	"--outer\r\n"
	"Content-Type: application/pdf; name*0*=utf-8''%E2%82%AC; name*1=\" x.pdf\"\r\n"
	"Content-Disposition: attachment; filename=\"a.pdf\"\r\n"
	"Content-Transfer-Encoding: base64\r\n"
	"Content-Language: en, de\r\n"
	"Content-Location: http://x.test/a.pdf\r\n"
	"Content-MD5: Q2hlY2sgSW50ZWdyaXR5IQ==\r\n"
	"\r\n"
	"JVBERi0=\r\n"
	"--outer--\r\n"
	"epilogue\r\n";

static void test_mime_parser_nested(void **state)
{
	(void)state;
	struct parsed r;

	PARSE(nested_msg, &r);
	/* part 1: "caf=C3=A9\r\nline 2" is 17 bytes, 2 lines.
	 * part 2: the embedded message runs from "From:" to "--inner--\r\n"
	 * (the empty line's CRLF belongs to "--outer"): header 16+16+53+2 =
	 * 87, body 9+2+7+9+25+2+10+11 = 75, so 162 bytes and 12 lines;
	 * "plain" 5 bytes, 1 line; "<p>x</p>" 8 bytes, 1 line.
	 * part 3: "JVBERi0=" 8 bytes. */
	assert_string_equal(r.bodystructure,
		"((\"text\" \"plain\" (\"charset\" \"utf-8\") \"<id1@x>\" \"the text\""
		" \"quoted-printable\" 17 2 NIL NIL NIL NIL)"
		"(\"message\" \"rfc822\" NIL NIL NIL \"7BIT\" 162 "
		"(NIL \"inner\" ((NIL NIL \"a\" \"b.test\")) ((NIL NIL \"a\" \"b.test\"))"
		" ((NIL NIL \"a\" \"b.test\")) NIL NIL NIL NIL NIL) "
		"((\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" 5 1"
		" NIL NIL NIL NIL)"
		"(\"text\" \"html\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" 8 1"
		" NIL NIL NIL NIL) \"alternative\" (\"boundary\" \"inner\") NIL NIL NIL)"
		" 12 NIL NIL NIL NIL)"
		"(\"application\" \"pdf\" (\"name*\" \"utf-8''%E2%82%AC%20x.pdf\") NIL NIL"
		" \"base64\" 8 \"Q2hlY2sgSW50ZWdyaXR5IQ==\""
		" (\"attachment\" (\"filename\" \"a.pdf\")) (\"en\" \"de\")"
		" \"http://x.test/a.pdf\")"
		" \"mixed\" (\"boundary\" \"outer\") NIL NIL NIL)");
	assert_string_equal(r.body,
		"((\"text\" \"plain\" (\"charset\" \"utf-8\") \"<id1@x>\" \"the text\""
		" \"quoted-printable\" 17 2)"
		"(\"message\" \"rfc822\" NIL NIL NIL \"7BIT\" 162 "
		"(NIL \"inner\" ((NIL NIL \"a\" \"b.test\")) ((NIL NIL \"a\" \"b.test\"))"
		" ((NIL NIL \"a\" \"b.test\")) NIL NIL NIL NIL NIL) "
		"((\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" 5 1)"
		"(\"text\" \"html\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" 8 1)"
		" \"alternative\") 12)"
		"(\"application\" \"pdf\" (\"name*\" \"utf-8''%E2%82%AC%20x.pdf\") NIL NIL"
		" \"base64\" 8) \"mixed\")");
	assert_string_equal(r.envelope,
		"(NIL \"nested\" NIL NIL NIL NIL NIL NIL NIL NIL)");
	parsed_free(&r);
}

/* Reads section `spec` through a serialised and reloaded part map. */
static char *section(const char *msg, const struct str *map_blob,
		     const char *spec, enum mime_encoding *enc_r)
{
	struct mime_part_map map;
	uint32_t path[MIME_PART_MAP_MAX_PATH];
	unsigned int n;
	enum mime_section_kind kind;
	struct mime_section_range range;
	char *ret = NULL;

	assert_int_equal(mime_part_map_deserialize(&map, map_blob->data,
						   map_blob->len), 0);
	if (mime_section_parse(spec, path, &n, &kind) == 0 &&
	    mime_part_map_lookup(&map, path, n, kind, &range) == 0) {
		ret = xstrndup(msg + range.offset, range.size);
		if (enc_r != NULL)
			*enc_r = range.encoding;
	}
	mime_part_map_deinit(&map);
	return ret;
}

static void check_section(const char *msg, const struct str *map,
			  const char *spec, const char *expect)
{
	char *got = section(msg, map, spec, NULL);

	if (expect == NULL) {
		assert_null(got);
		return;
	}
	assert_non_null(got);
	assert_string_equal(got, expect);
	free(got);
}

static void test_mime_part_map_sections(void **state)
{
	(void)state;
	struct parsed r;
	enum mime_encoding enc;
	const char *m = nested_msg;

	PARSE(nested_msg, &r);
	check_section(m, &r.map, "1", "caf=C3=A9\r\nline 2");
	check_section(m, &r.map, "1.MIME",
		"Content-Type: text/plain; charset=utf-8\r\n"
		"Content-ID: <id1@x>\r\n"
		"Content-Description: the text\r\n"
		"Content-Transfer-Encoding: quoted-printable\r\n\r\n");
	char *p1 = section(m, &r.map, "1", &enc);
	assert_int_equal(enc, MIME_ENCODING_QP);
	free(p1);
	check_section(m, &r.map, "2.HEADER",
		"From: a@b.test\r\nSubject: inner\r\n"
		"Content-Type: multipart/alternative; boundary=inner\r\n\r\n");
	check_section(m, &r.map, "2.HEADER.FIELDS (From)",
		"From: a@b.test\r\nSubject: inner\r\n"
		"Content-Type: multipart/alternative; boundary=inner\r\n\r\n");
	check_section(m, &r.map, "2.1", "plain");
	check_section(m, &r.map, "2.2", "<p>x</p>");
	check_section(m, &r.map, "2.2.MIME", "Content-Type: text/html\r\n\r\n");
	check_section(m, &r.map, "2.MIME", "Content-Type: message/rfc822\r\n\r\n");
	check_section(m, &r.map, "3", "JVBERi0=");
	check_section(m, &r.map, "HEADER",
		"Subject: nested\r\n"
		"Content-Type: multipart/mixed; boundary=\"outer\"\r\n\r\n");
	check_section(m, &r.map, "", m);
	/* not there */
	check_section(m, &r.map, "4", NULL);
	check_section(m, &r.map, "0", NULL);
	check_section(m, &r.map, "1.1", NULL);
	check_section(m, &r.map, "1.HEADER", NULL);
	check_section(m, &r.map, "2.3", NULL);
	check_section(m, &r.map, "2.1.1", NULL);
	check_section(m, &r.map, "MIME", NULL);
	check_section(m, &r.map, "1.", NULL);
	check_section(m, &r.map, "1.FOO", NULL);
	check_section(m, &r.map, "1..2", NULL);
	check_section(m, &r.map, "01", NULL);
	parsed_free(&r);
}

static void test_mime_part_map_single(void **state)
{
	(void)state;
	static const char msg[] = "Subject: x\r\n\r\nbody\r\n";
	static const char rfc822[] =
		"Content-Type: message/rfc822\r\n\r\n"
		"Subject: in\r\n\r\ninner body\r\n";
	struct parsed r;

	/* BODY[1] of a non-multipart message is its body */
	PARSE(msg, &r);
	check_section(msg, &r.map, "1", "body\r\n");
	check_section(msg, &r.map, "TEXT", "body\r\n");
	check_section(msg, &r.map, "1.MIME", "Subject: x\r\n\r\n");
	check_section(msg, &r.map, "2", NULL);
	check_section(msg, &r.map, "1.2", NULL);
	parsed_free(&r);

	PARSE(rfc822, &r);
	check_section(rfc822, &r.map, "1", "Subject: in\r\n\r\ninner body\r\n");
	check_section(rfc822, &r.map, "1.1", "inner body\r\n");
	check_section(rfc822, &r.map, "1.HEADER", "Subject: in\r\n\r\n");
	check_section(rfc822, &r.map, "1.TEXT", "inner body\r\n");
	assert_string_equal(r.body,
		"(\"message\" \"rfc822\" NIL NIL NIL \"7BIT\" 27 "
		"(NIL \"in\" NIL NIL NIL NIL NIL NIL NIL NIL) "
		"(\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" 12 1) 3)");
	parsed_free(&r);
}

static void test_mime_part_map_corrupt(void **state)
{
	(void)state;
	struct parsed r;
	struct mime_part_map map;

	PARSE(nested_msg, &r);
	assert_int_equal(mime_part_map_deserialize(&map, r.map.data,
						   r.map.len), 0);
	assert_int_equal(map.count, 7);
	mime_part_map_deinit(&map);
	/* every truncation and every single-byte change is either rejected
	 * or still a consistent map */
	for (size_t i = 0; i < r.map.len; i++) {
		assert_int_equal(mime_part_map_deserialize(&map, r.map.data, i),
				 -1);
		for (unsigned int bit = 0; bit < 8; bit++) {
			char *copy = xmemdup(r.map.data, r.map.len);
			copy[i] ^= (char)(1u << bit);
			if (mime_part_map_deserialize(&map, copy,
						      r.map.len) == 0) {
				uint32_t path[2] = { 2, 1 };
				struct mime_section_range range;
				(void)mime_part_map_lookup(&map, path, 2,
					MIME_SECTION_BODY, &range);
				mime_part_map_deinit(&map);
			}
			free(copy);
		}
	}
	assert_int_equal(mime_part_map_deserialize(&map, "", 0), -1);
	assert_int_equal(mime_part_map_deserialize(&map, "M\x02", 2), -1);
	parsed_free(&r);
}

static void test_mime_parser_boundaries(void **state)
{
	(void)state;
	/* trailing white space after boundaries; the outer boundary closes
	 * the inner multipart (which lacks its close delimiter); missing
	 * final boundary; bare LF line ends */
	static const char msg[] =
		"Content-Type: multipart/mixed; boundary=a\n"
		"\n"
		"--a  \t\n"
		"Content-Type: multipart/related; boundary=b\n"
		"\n"
		"--b\n"
		"\n"
		"inner1\n"
		"--a\n"
		"\n"
		"outer2\n"
		"--a-- trailing garbage\n"
		"epilogue --a\n"
		"--a\n";
	struct parsed r;

	PARSE(msg, &r);
	/* inner1: 6 bytes; outer2 6 bytes; bare LFs count as CRLF */
	assert_string_equal(r.body,
		"(((\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" 6 1)"
		" \"related\")"
		"(\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" 6 1)"
		" \"mixed\")");
	assert_int_equal(r.root->child_count, 2);
	/* the second --a after the close delimiter is epilogue */
	assert_int_equal(r.root->body_size, sizeof(msg) - 1 - 43);
	assert_int_equal(r.root->body_vsize, r.root->body_size + 12);
	parsed_free(&r);

	static const char missing_end[] =
		"Content-Type: multipart/mixed; boundary=\"x y\"\r\n\r\n"
		"--x y\r\n\r\nno end\r\n";
	PARSE(missing_end, &r);
	assert_string_equal(r.body,
		"((\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" 8 1)"
		" \"mixed\")");
	parsed_free(&r);

	/* a line that starts with "--" and the boundary is a delimiter
	 * line, whatever follows (RFC 2046 5.1.1, note to implementors):
	 * "--abc" ends the first (empty) part and starts the second */
	static const char prefix[] =
		"Content-Type: multipart/mixed; boundary=ab\r\n\r\n"
		"--ab\r\n\r\n--abc\r\n--ab\r\n\r\ntwo\r\n--ab--\r\n";
	PARSE(prefix, &r);
	assert_string_equal(r.body,
		"((\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" 0 0)"
		"(\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" 0 0)"
		"(\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" 3 1)"
		" \"mixed\")");
	parsed_free(&r);

	/* two open boundaries match "--ab": the longer one wins, so the
	 * inner "a" does not take the outer "ab"'s delimiter, and "--ab" in
	 * the inner part's body is the outer's */
	static const char longest[] =
		"Content-Type: multipart/mixed; boundary=ab\r\n\r\n"
		"--ab\r\nContent-Type: multipart/alternative; boundary=a\r\n\r\n"
		"--a\r\n\r\ni1\r\n--a\r\n\r\ni2\r\n"
		"--ab\r\n\r\nouter\r\n--ab--\r\n";
	PARSE(longest, &r);
	assert_string_equal(r.body,
		"(((\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" 2 1)"
		"(\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" 2 1)"
		" \"alternative\")"
		"(\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" 5 1)"
		" \"mixed\")");
	parsed_free(&r);

	/* empty parts, a part with no header, a header ended by a boundary */
	static const char empty[] =
		"Content-Type: multipart/mixed; boundary=e\r\n\r\n"
		"--e\r\n--e\r\nContent-Type: text/x-a\r\n\r\n--e\r\n"
		"Content-Type: text/x-b\r\n--e--\r\n";
	PARSE(empty, &r);
	assert_string_equal(r.body,
		"((\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" 0 0)"
		"(\"text\" \"x-a\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" 0 0)"
		"(\"text\" \"x-b\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" 0 0)"
		" \"mixed\")");
	assert_true((r.root->children->next->next->flags &
		     MIME_PART_FLAG_HEADER_UNTERMINATED) != 0);
	parsed_free(&r);
}

/* Found by fuzz-mime-parser: a part whose header's empty line is the
 * line break a boundary owns used to end past its parent. */
static void test_mime_parser_header_at_boundary(void **state)
{
	(void)state;
	struct parsed r;
	static const char msg[] =
		"Content-Type: multipart/mixed; boundary=o\r\n\r\n"
		"--o\r\nContent-Type: multipart/mixed; boundary=i\r\n\r\n"
		"--i\r\n--o\r\nContent-Type: message/rfc822\r\n\r\n"
		"Subject: header only\r\n\r\n--o--\r\n";

	PARSE(msg, &r);
	const struct mime_part *inner = r.root->children;
	const struct mime_part *empty = inner->children;
	/* the inner part starts after "--i\r\n" but "--o" takes its CRLF */
	assert_int_equal(empty->header_offset, inner->body_offset + 3);
	assert_int_equal(empty->header_size + empty->body_size, 0);
	const struct mime_part *rfc822 = inner->next, *embedded = rfc822->children;
	assert_int_equal(embedded->header_size, 22);
	assert_int_equal(embedded->body_size, 0);
	assert_int_equal(rfc822->body_size, 22);
	assert_string_equal(r.body,
		"(((\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" 0 0)"
		" \"mixed\")(\"message\" \"rfc822\" NIL NIL NIL \"7BIT\" 22 "
		"(NIL \"header only\" NIL NIL NIL NIL NIL NIL NIL NIL) "
		"(\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" 0 0) 1)"
		" \"mixed\")");
	parsed_free(&r);
}

static void test_mime_parser_defaults(void **state)
{
	(void)state;
	struct parsed r;

	/* digest: parts without Content-Type are message/rfc822 */
	static const char digest[] =
		"Content-Type: multipart/digest; boundary=d\r\n\r\n"
		"--d\r\n\r\nSubject: d1\r\n\r\nx\r\n"
		"--d\r\nContent-Type: text/plain\r\n\r\ny\r\n--d--\r\n";
	PARSE(digest, &r);
	assert_string_equal(r.body,
		"((\"MESSAGE\" \"RFC822\" NIL NIL NIL \"7BIT\" 16 "
		"(NIL \"d1\" NIL NIL NIL NIL NIL NIL NIL NIL) "
		"(\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" 1 1) 3)"
		"(\"text\" \"plain\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" 1 1)"
		" \"digest\")");
	parsed_free(&r);

	/* malformed Content-Type; duplicate fields (first wins); Content-Type
	 * "multipart" without a boundary */
	static const char malformed[] =
		"Content-Type: text\r\nSubject: first\r\nSubject: second\r\n"
		"\r\nx";
	PARSE(malformed, &r);
	assert_string_equal(r.bodystructure,
		"(\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" 1 1"
		" NIL NIL NIL NIL)");
	assert_string_equal(r.envelope,
		"(NIL \"first\" NIL NIL NIL NIL NIL NIL NIL NIL)");
	parsed_free(&r);

	static const char no_boundary[] =
		"Content-Type: multipart/mixed\r\n"
		"Content-Type: text/html\r\n\r\n--x\r\n";
	PARSE(no_boundary, &r);
	assert_string_equal(r.bodystructure,
		"((\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" 0 0"
		" NIL NIL NIL NIL) \"mixed\" NIL NIL NIL NIL)");
	assert_true((r.root->flags & MIME_PART_FLAG_OPAQUE) != 0);
	parsed_free(&r);

	/* message/rfc822 in base64 is not parsed; message/global is */
	static const char encoded[] =
		"Content-Type: multipart/mixed; boundary=q\r\n\r\n"
		"--q\r\nContent-Type: message/rfc822\r\n"
		"Content-Transfer-Encoding: base64\r\n\r\nU3ViamVjdDogeA0KDQp4\r\n"
		"--q\r\nContent-Type: message/global\r\n\r\n"
		"Subject: =?utf-8?q?x?=\r\n\r\n\xc3\xa9\r\n--q--\r\n";
	PARSE(encoded, &r);
	assert_string_equal(r.body,
		"((\"message\" \"rfc822\" NIL NIL NIL \"base64\" 20 "
		"(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL) "
		"(\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" 0 0) 1)"
		"(\"message\" \"global\" NIL NIL NIL \"7BIT\" 28)"
		" \"mixed\")");
	assert_true(imap_bodystructure_has_global(r.root));
	/* IMAP4rev2 writes message/global as a message (RFC 9051) */
	struct str s = STR_INIT;
	imap_bodystructure_write(&s, r.root, false, IMAP_ENVELOPE_FLAG_IMAP4REV2);
	assert_string_equal(str_c(&s),
		"((\"message\" \"rfc822\" NIL NIL NIL \"base64\" 20 "
		"(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL) "
		"(\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" 0 0) 1)"
		"(\"message\" \"global\" NIL NIL NIL \"7BIT\" 28 "
		"(NIL \"=?utf-8?q?x?=\" NIL NIL NIL NIL NIL NIL NIL NIL) "
		"(\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" 2 1) 3)"
		" \"mixed\")");
	str_free(&s);
	parsed_free(&r);
	/* no message/global, but an RFC 2231 name*: IMAP4rev2 gets its value
	 * decoded to UTF-8 (RFC 9051 7.5.2), so the strings differ too */
	PARSE(nested_msg, &r);
	assert_true(imap_bodystructure_has_global(r.root));
	imap_bodystructure_write(&s, r.root, false, IMAP_ENVELOPE_FLAG_IMAP4REV2);
	assert_non_null(strstr(str_c(&s),
		"(\"application\" \"pdf\" (\"name*\" {9}\r\n\xe2\x82\xac x.pdf) NIL NIL"));
	str_free(&s);
	parsed_free(&r);
	PARSE(malformed, &r);
	assert_false(imap_bodystructure_has_global(r.root));
	parsed_free(&r);
}

static void test_mime_parser_header_bytes(void **state)
{
	(void)state;
	struct parsed r;
	/* NUL and 8-bit bytes in headers; a line without a colon; a
	 * continuation line before any field; "Name :" with white space */
	static const char msg[] =
		" stray continuation\r\n"
		"no colon here\r\n"
		"Subject : a\0b \xe9t\xe9\r\n"
		"From: J\xc3\xb6rg <j@x.test>\r\n"
		"\r\n"
		"body";
	PARSE(msg, &r);
	/* without UTF8 every 8-bit string is a literal */
	assert_string_equal(r.envelope,
		"(NIL {7}\r\na\x80" "b \xe9t\xe9 (({5}\r\nJ\xc3\xb6rg NIL \"j\" \"x.test\"))"
		" (({5}\r\nJ\xc3\xb6rg NIL \"j\" \"x.test\"))"
		" (({5}\r\nJ\xc3\xb6rg NIL \"j\" \"x.test\")) NIL NIL NIL NIL NIL)");
	parsed_free(&r);
	PARSE(msg, &r);
	struct str s = STR_INIT;
	imap_envelope_write(&s, r.root, IMAP_ENVELOPE_FLAG_UTF8);
	/* valid UTF-8 may be quoted, the Latin-1 subject may not */
	assert_string_equal(str_c(&s),
		"(NIL {7}\r\na\x80" "b \xe9t\xe9 ((\"J\xc3\xb6rg\" NIL \"j\" \"x.test\"))"
		" ((\"J\xc3\xb6rg\" NIL \"j\" \"x.test\"))"
		" ((\"J\xc3\xb6rg\" NIL \"j\" \"x.test\")) NIL NIL NIL NIL NIL)");
	str_free(&s);
	parsed_free(&r);
}

static void test_mime_envelope_rules(void **state)
{
	(void)state;
	struct parsed r;
	static const char msg[] =
		"From: a@b.test (Alice)\r\n"
		"Sender:\r\n"
		"Reply-To: Team: x@y.test, <@r1,@r2:z@w.test>;\r\n"
		"To: undisclosed-recipients:;\r\n"
		"Cc: localonly\r\n"
		"Bcc: \r\n"
		"In-Reply-To: <a@b>\r\n"
		"Subject:\r\n"
		"\r\n";
	PARSE(msg, &r);
	assert_string_equal(r.envelope,
		"(NIL \"\" ((\"Alice\" NIL \"a\" \"b.test\")) "
		"((\"Alice\" NIL \"a\" \"b.test\")) "
		"((NIL NIL \"Team\" NIL)(NIL NIL \"x\" \"y.test\")"
		"(NIL \"@r1,@r2\" \"z\" \"w.test\")(NIL NIL NIL NIL)) "
		"((NIL NIL \"undisclosed-recipients\" NIL)(NIL NIL NIL NIL)) "
		"((NIL NIL \"localonly\" \"MISSING_DOMAIN\")) NIL \"<a@b>\" NIL)");
	parsed_free(&r);
}

static void test_mime_parser_limits(void **state)
{
	(void)state;
	struct str msg = STR_INIT;
	struct parsed r;
	const struct mime_part *p;
	unsigned int depth = 0;

	/* nesting past MIME_PARSER_MAX_DEPTH: 150 levels of multipart */
	for (unsigned int i = 0; i < 150; i++)
		str_printfa(&msg, "Content-Type: multipart/mixed; boundary=b%u\r\n"
			    "\r\n--b%u\r\n", i, i);
	str_append(&msg, "\r\ndeep\r\n");
	parse(msg.data, msg.len, &r);
	for (p = r.root; p->children != NULL; p = p->children)
		depth++;
	assert_int_equal(depth, MIME_PARSER_MAX_DEPTH);
	assert_true((p->flags & MIME_PART_FLAG_OPAQUE) != 0);
	assert_int_equal(p->depth, MIME_PARSER_MAX_DEPTH);
	parsed_free(&r);

	/* message/rfc822 nested 1000 deep: no stack, bounded depth */
	str_truncate(&msg, 0);
	for (unsigned int i = 0; i < 1000; i++)
		str_append(&msg, "Content-Type: message/rfc822\r\n\r\n");
	struct mime_parser *parser;
	struct mime_part *root = mime_parser_parse(msg.data, msg.len, &parser);
	depth = 0;
	for (p = root; p->children != NULL; p = p->children)
		depth++;
	assert_int_equal(depth, MIME_PARSER_MAX_DEPTH);
	struct str bs = STR_INIT;
	imap_bodystructure_write(&bs, root, true, 0);
	assert_true(bs.len > 0);
	str_free(&bs);
	mime_parser_destroy(&parser);

	/* parts past MIME_PARSER_MAX_PARTS stay in the last part's body */
	str_truncate(&msg, 0);
	str_append(&msg, "Content-Type: multipart/mixed; boundary=p\r\n\r\n");
	for (unsigned int i = 0; i < MIME_PARSER_MAX_PARTS + 10; i++)
		str_append(&msg, "--p\r\n\r\nx\r\n");
	root = mime_parser_parse(msg.data, msg.len, &parser);
	assert_int_equal(mime_parser_part_count(parser), MIME_PARSER_MAX_PARTS);
	assert_int_equal(root->child_count, MIME_PARSER_MAX_PARTS - 1);
	mime_parser_destroy(&parser);

	/* a field is kept up to MIME_PARSER_MAX_FIELD_SIZE: at and past */
	for (unsigned int extra = 0; extra < 2; extra++) {
		str_truncate(&msg, 0);
		str_append(&msg, "Subject: ");
		for (unsigned int i = 0; i < MIME_PARSER_MAX_FIELD_SIZE + extra; i++)
			str_append_c(&msg, (char)('a' + i % 26));
		str_append(&msg, "\r\n\r\n");
		root = mime_parser_parse(msg.data, msg.len, &parser);
		assert_int_equal(strlen(root->fields[MIME_FIELD_SUBJECT]),
				 MIME_PARSER_MAX_FIELD_SIZE);
		mime_parser_destroy(&parser);
	}

	/* an enormous header block (20 MB of fields, folded and not):
	 * bounded memory, and the Content-Type after it still counts */
	parser = mime_parser_create();
	mime_parser_feed(parser, "Subject: start\r\n", 16);
	char *line = xmalloc(1000);
	memset(line, 'x', 998);
	line[0] = ' ';
	memcpy(line + 998, "\r\n", 2);
	for (unsigned int i = 0; i < 20000; i++) {
		mime_parser_feed(parser, "X-Big: y\r\n", 10);
		mime_parser_feed(parser, line, 1000);
	}
	free(line);
	mime_parser_feed(parser, "Content-Type: text/html\r\n\r\nbody", 31);
	root = mime_parser_finish(parser);
	assert_string_equal(root->subtype, "html");
	assert_int_equal(root->header_lines, 40003);
	assert_int_equal(root->body_size, 4);
	mime_parser_destroy(&parser);

	/* a boundary longer than MIME_PARSER_MAX_BOUNDARY_LEN is unusable */
	for (unsigned int extra = 0; extra < 2; extra++) {
		str_truncate(&msg, 0);
		char b[MIME_PARSER_MAX_BOUNDARY_LEN + 2];
		memset(b, 'b', sizeof(b));
		b[MIME_PARSER_MAX_BOUNDARY_LEN + extra] = '\0';
		str_printfa(&msg, "Content-Type: multipart/mixed; boundary=%s\r\n"
			    "\r\n--%s\r\n\r\nx\r\n--%s--\r\n", b, b, b);
		root = mime_parser_parse(msg.data, msg.len, &parser);
		assert_int_equal(root->child_count, extra == 0 ? 1 : 0);
		mime_parser_destroy(&parser);
	}
	str_free(&msg);
}

/* Past MIME_PARSER_MAX_KEPT_SIZE only the structural fields are kept, at
 * most MIME_PARSER_MAX_SMALL_FIELD_SIZE bytes each; envelope fields are
 * kept only for messages. */
static void test_mime_parser_kept_budget(void **state)
{
	(void)state;
	struct str msg = STR_INIT, desc = STR_INIT;
	struct mime_parser *parser;
	unsigned int parts = MIME_PARSER_MAX_KEPT_SIZE /
		MIME_PARSER_MAX_FIELD_SIZE + 4;

	while (desc.len < MIME_PARSER_MAX_FIELD_SIZE)
		str_append(&desc, "0123456789abcdef");
	str_append(&msg, "Content-Type: multipart/mixed; boundary=k\r\n\r\n");
	for (unsigned int i = 0; i < parts; i++)
		str_printfa(&msg, "--k\r\nSubject: not a message\r\n"
			    "Content-Description: %s\r\n"
			    "Content-Type: text/html; x=\"%.2000s\"\r\n\r\nx\r\n",
			    str_c(&desc), str_c(&desc));
	str_append(&msg, "--k--\r\n");
	const struct mime_part *root = mime_parser_parse(msg.data, msg.len,
							 &parser);
	const struct mime_part *p = root->children;
	unsigned int kept = 0, i = 0;
	for (; p != NULL; p = p->next, i++) {
		assert_null(p->fields[MIME_FIELD_SUBJECT]);
		assert_string_equal(p->subtype, "html");
		if (p->fields[MIME_FIELD_CONTENT_DESCRIPTION] != NULL) {
			assert_int_equal(kept, i);
			kept++;
		} else {
			/* the 2000-byte parameter is cut to the small cap */
			assert_int_equal(strlen(p->fields[MIME_FIELD_CONTENT_TYPE]),
					 MIME_PARSER_MAX_SMALL_FIELD_SIZE);
		}
	}
	assert_int_equal(i, parts);
	assert_true(kept > 0 && kept < parts);
	assert_true((uint64_t)kept * MIME_PARSER_MAX_FIELD_SIZE >=
		    MIME_PARSER_MAX_KEPT_SIZE - 2 * MIME_PARSER_MAX_FIELD_SIZE);
	mime_parser_destroy(&parser);
	str_free(&msg);
	str_free(&desc);
}

static void test_mime_parser_line_counts(void **state)
{
	(void)state;
	struct parsed r;
	/* a body without a final line break is one line more than its LFs */
	static const char msg[] = "Subject: x\r\n\r\na\r\nb";
	PARSE(msg, &r);
	assert_int_equal(r.root->body_lines, 2);
	assert_int_equal(r.root->body_size, 4);
	assert_int_equal(r.root->header_lines, 2);
	parsed_free(&r);

	static const char empty[] = "";
	PARSE(empty, &r);
	assert_string_equal(r.bodystructure,
		"(\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" 0 0"
		" NIL NIL NIL NIL)");
	assert_string_equal(r.envelope,
		"(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)");
	parsed_free(&r);

	/* only a header, no empty line */
	static const char header_only[] = "Subject: x\r\nFrom: a@b";
	PARSE(header_only, &r);
	assert_int_equal(r.root->header_size, sizeof(header_only) - 1);
	assert_int_equal(r.root->body_size, 0);
	assert_true((r.root->flags & MIME_PART_FLAG_HEADER_UNTERMINATED) != 0);
	assert_string_equal(r.envelope,
		"(NIL \"x\" ((NIL NIL \"a\" \"b\")) ((NIL NIL \"a\" \"b\"))"
		" ((NIL NIL \"a\" \"b\")) NIL NIL NIL NIL NIL)");
	parsed_free(&r);
}

static void test_mime_parser_large_attachment(void **state)
{
	(void)state;
	/* 5 MB base64 attachment generated here, fed in 64 KB chunks */
	struct mime_parser *parser = mime_parser_create();
	static const char head[] =
		"Content-Type: multipart/mixed; boundary=L\r\n\r\n--L\r\n"
		"Content-Type: application/octet-stream\r\n"
		"Content-Transfer-Encoding: base64\r\n\r\n";
	char chunk[77 * 851];
	uint64_t body = 0;

	for (size_t i = 0; i < sizeof(chunk); i += 77) {
		memset(chunk + i, 'Q', 75);
		memcpy(chunk + i + 75, "\r\n", 2);
	}
	mime_parser_feed(parser, head, sizeof(head) - 1);
	for (unsigned int i = 0; i < 80; i++) {
		mime_parser_feed(parser, chunk, sizeof(chunk));
		body += sizeof(chunk);
	}
	mime_parser_feed(parser, "--L--\r\n", 7);
	struct mime_part *root = mime_parser_finish(parser);
	assert_int_equal(root->child_count, 1);
	assert_int_equal(root->children->body_size, body - 2);
	assert_int_equal(root->children->transfer_encoding, MIME_ENCODING_BASE64);
	mime_parser_destroy(&parser);
}

/* mime_parser_feed_crlf(): bare LF becomes CRLF except in the body of a
 * binary part, whose boundary line is a line again; fed whole and byte
 * by byte (a CR at the end of one piece and its LF in the next), the
 * output and the tree are those of the CRLF form. */
static void test_mime_parser_feed_crlf(void **state)
{
	(void)state;
	static const char in[] =
		"Subject: x\n"
		"Content-Type: multipart/mixed; boundary=b\n"
		"\n"
		"pre\r\n"
		"--b\n"
		"Content-Type: text/plain\n"
		"\n"
		"one\ntwo\r\n\n"
		"--b\n"
		"Content-Transfer-Encoding: binary\n"
		"\n"
		"\x01\n\n--c\n\r\n\r"
		"\n--b--\n"
		"epi\n";
	static const char want[] =
		"Subject: x\r\n"
		"Content-Type: multipart/mixed; boundary=b\r\n"
		"\r\n"
		"pre\r\n"
		"--b\r\n"
		"Content-Type: text/plain\r\n"
		"\r\n"
		"one\r\ntwo\r\n\r\n"
		"--b\r\n"
		"Content-Transfer-Encoding: binary\r\n"
		"\r\n"
		"\x01\n\n--c\n\r\n\r"
		"\n--b--\r\n"
		"epi\r\n";
	const size_t bin_size = 9;	/* "\x01\n\n--c\n\r\n": the CRLF before "--b--" is the delimiter's */

	for (int pass = 0; pass < 2; pass++) {
		struct mime_parser *parser = mime_parser_create();
		struct str out = STR_INIT;

		mime_parser_set_physical_sizes(parser);
		if (pass == 0) {
			mime_parser_feed_crlf(parser, in, sizeof(in) - 1, &out);
		} else {
			for (size_t i = 0; i < sizeof(in) - 1; i++)
				mime_parser_feed_crlf(parser, in + i, 1, &out);
		}
		assert_int_equal(out.len, sizeof(want) - 1);
		assert_memory_equal(out.data, want, out.len);
		struct mime_part *root = mime_parser_finish(parser);
		assert_int_equal(root->child_count, 2);
		struct mime_part *text = root->children, *bin = text->next;
		assert_int_equal(text->body_size, 10);	/* "one\r\ntwo\r\n" */
		assert_int_equal(text->body_vsize, 10);
		assert_int_equal(bin->transfer_encoding, MIME_ENCODING_BINARY);
		assert_int_equal(bin->body_size, bin_size);
		/* physical sizes: the binary part's bare LF count as one byte */
		assert_int_equal(bin->body_vsize, bin_size);
		assert_int_equal(root->body_vsize, root->body_size);
		mime_parser_destroy(&parser);
		str_free(&out);
	}

	/* without set_physical_sizes() a bare LF counts as CRLF in vsize */
	struct mime_parser *parser;
	struct mime_part *root = mime_parser_parse("a: b\n\nx\ny\n", 10, &parser);
	assert_int_equal(root->body_size, 4);
	assert_int_equal(root->body_vsize, 6);
	assert_int_equal(root->header_vsize, 8);
	mime_parser_destroy(&parser);
	parser = mime_parser_create();
	mime_parser_set_physical_sizes(parser);
	mime_parser_feed(parser, "a: b\n\nx\ny\n", 10);
	root = mime_parser_finish(parser);
	assert_int_equal(root->body_vsize, 4);
	assert_int_equal(root->header_vsize, 6);
	mime_parser_destroy(&parser);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mime_parser_simple),
		cmocka_unit_test(test_mime_parser_nested),
		cmocka_unit_test(test_mime_part_map_sections),
		cmocka_unit_test(test_mime_part_map_single),
		cmocka_unit_test(test_mime_part_map_corrupt),
		cmocka_unit_test(test_mime_parser_boundaries),
		cmocka_unit_test(test_mime_parser_header_at_boundary),
		cmocka_unit_test(test_mime_parser_defaults),
		cmocka_unit_test(test_mime_parser_header_bytes),
		cmocka_unit_test(test_mime_envelope_rules),
		cmocka_unit_test(test_mime_parser_limits),
		cmocka_unit_test(test_mime_parser_kept_budget),
		cmocka_unit_test(test_mime_parser_line_counts),
		cmocka_unit_test(test_mime_parser_large_attachment),
		cmocka_unit_test(test_mime_parser_feed_crlf),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
