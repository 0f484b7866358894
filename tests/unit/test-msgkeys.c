/* test-msgkeys.c: the SORT and THREAD keys of a message (syntax/msgkeys.h):
 * the DISPLAYFROM/DISPLAYTO key rule, what msgkeys_build() extracts
 * from a header, the round trip
 * through the serialised form, and that damaged blobs are refused
 * without reading past their end. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "base/str.h"
#include "syntax/msgkeys.h"
#include "mime/parser.h"

/* Parses `msg`, builds its blob into *blob and deserialises it into
 * *keys (pointing into blob). */
static void keys_of(const char *msg, struct str *blob, struct msgkeys *keys)
{
	struct mime_parser *parser;
	const struct mime_part *root = mime_parser_parse(msg, strlen(msg), &parser);

	str_truncate(blob, 0);
	msgkeys_build(root, blob);
	mime_parser_destroy(&parser);
	assert_int_equal(msgkeys_deserialize(keys, blob->data, blob->len), 0);
}

static void test_full_header(void **state)
{
	(void)state;
	struct str blob = STR_INIT;
	struct msgkeys k;

	keys_of("From: =?UTF-8?Q?=C3=89mile_Z?= <\"e.z\"@Example.COM>, b@c\r\n"
		"To: undisclosed:;, Team: Ann <ann@t.example>, bo@t.example;\r\n"
		"Cc: (comment only) carl@x.example (Carl)\r\n"
		"Subject: =?ISO-8859-1?Q?Re=3A_[list]_Fwd=3A_=E4pfel_(fwd)?=\r\n"
		"Date: Tue, 31 Dec 2019 23:00:00 -0300\r\n"
		"Message-ID: <\"id1\"@host.example> trailing junk\r\n"
		"In-Reply-To: \"Joe's\" <p@q> <r@s>\r\n"
		"References: <a@b>\r\n  junk <c@d> <(x)e@f> <bad\r\n"
		"\r\nbody\r\n", &blob, &k);
	/* 2019-12-31 23:00 -0300 = 2020-01-01 02:00 UTC */
	assert_true(k.has_sent_date);
	assert_int_equal(k.sent_date, 1577844000);
	/* addr-mailbox: the local part, unquoted */
	assert_string_equal(k.from, "e.z");
	/* the first address is a group, an empty one: its name */
	assert_string_equal(k.to, "undisclosed");
	assert_string_equal(k.cc, "carl");
	assert_string_equal(k.displayfrom, "\xc3\x89mile Z");
	assert_string_equal(k.displayto, "undisclosed");
	/* decoded, then "Re:", "[list]", "Fwd:" and "(fwd)" removed */
	assert_string_equal(k.base_subject, "\xc3\xa4pfel");
	assert_true(k.is_reply_or_forward);
	assert_string_equal(k.message_id, "<id1@host.example>");
	assert_string_equal(k.in_reply_to, "<p@q>");
	assert_int_equal(k.references_count, 3);
	const char *r = k.references;
	assert_string_equal(r, "<a@b>");
	r = msgkeys_reference_next(r);
	assert_string_equal(r, "<c@d>");
	r = msgkeys_reference_next(r);
	assert_string_equal(r, "<e@f>");
	str_free(&blob);
}

static void test_empty_header(void **state)
{
	(void)state;
	struct str blob = STR_INIT;
	struct msgkeys k;

	keys_of("\r\nonly a body\r\n", &blob, &k);
	assert_false(k.has_sent_date);
	assert_int_equal(k.sent_date, 0);
	assert_string_equal(k.from, "");
	assert_string_equal(k.to, "");
	assert_string_equal(k.cc, "");
	assert_string_equal(k.displayfrom, "");
	assert_string_equal(k.displayto, "");
	assert_string_equal(k.base_subject, "");
	assert_false(k.is_reply_or_forward);
	assert_string_equal(k.message_id, "");
	assert_string_equal(k.in_reply_to, "");
	assert_int_equal(k.references_count, 0);
	str_free(&blob);
}

static void check_display(const char *name, const char *mailbox,
			  const char *host, const char *expected)
{
	struct str out = STR_INIT;

	str_append(&out, "old");
	msgkeys_display_key(name, mailbox, host, &out);
	assert_string_equal(str_c(&out), expected);
	str_free(&out);
}

static void test_display_key_rule(void **state)
{
	(void)state;
	check_display("Joe Q. Public", "john.q.public", "example.com",
		      "Joe Q. Public");
	check_display(NULL, "john", "example.com", "john@example.com");
	check_display("", "john", "example.com", "john@example.com");
	check_display(" \t", "john", "example.com", "john@example.com");
	check_display(NULL, "john", NULL, "john");
	check_display(NULL, "john", "", "john");
	check_display(NULL, NULL, NULL, "");
	check_display("\xc3\x89mile", "e", "x.org", "\xc3\x89mile");
}

static void test_display_keys(void **state)
{
	(void)state;
	struct str blob = STR_INIT;
	struct msgkeys k;

	/* RFC 5957: an empty or blank display name gives the addr-spec */
	keys_of("From: \"\" <a@b.example>\r\nTo: \"  \" <c@d.example>\r\n\r\n", &blob, &k);
	assert_string_equal(k.displayfrom, "a@b.example");
	assert_string_equal(k.displayto, "c@d.example");
	/* no domain: just the local part; an empty group: its name */
	keys_of("From: local\r\nTo: nobody:;\r\n\r\n", &blob, &k);
	assert_string_equal(k.from, "local");
	assert_string_equal(k.displayfrom, "local");
	assert_string_equal(k.to, "nobody");
	assert_string_equal(k.displayto, "nobody");
	/* a comment inside the addr-spec is no display name; one after it
	 * is (RFC 5322 3.2.2, 3.4.1) */
	keys_of("From: user-from (comment)@ (comment) domain.org\r\n"
		"To: to (x)@ (y) domain.org (Tom)\r\n\r\n", &blob, &k);
	assert_string_equal(k.displayfrom, "user-from@domain.org");
	assert_string_equal(k.displayto, "Tom");
	str_free(&blob);
}

/* RFC 5256 section 3 "addr-mailbox of the first ... address" with the
 * ENVELOPE's group start (RFC 9051 7.5.2: "the mailbox name field holds
 * the group name phrase"): a field that begins with a group sorts by the
 * group name, for FROM/TO/CC and DISPLAYFROM/DISPLAYTO alike. */
static void test_group_keys(void **state)
{
	(void)state;
	struct str blob = STR_INIT;
	struct msgkeys k;

	/* the headers */
	keys_of("To: a: xx@xx.org, yy@yy.org;\r\n"
		"Cc: user2: blah@domain1.org;\r\n\r\n", &blob, &k);
	assert_string_equal(k.to, "a");
	assert_string_equal(k.displayto, "a");
	assert_string_equal(k.cc, "user2");
	/* a group followed by a mailbox; a mailbox followed by a group */
	keys_of("From: \"The Team\" (c): Ann <ann@t.example>;, zed@z.example\r\n"
		"To: Bob <bob@b.example>, g: c@d.example;\r\n"
		"Cc: <carl@x.example>, grp:;\r\n\r\n", &blob, &k);
	assert_string_equal(k.from, "The Team");
	assert_string_equal(k.displayfrom, "The Team");
	assert_string_equal(k.to, "bob");
	assert_string_equal(k.displayto, "Bob");
	assert_string_equal(k.cc, "carl");
	/* an encoded group name is decoded; a blank one gives "" and no
	 * member's address; a group without ";" still counts */
	keys_of("From: =?UTF-8?Q?=C3=89quipe?=: e@x.example;\r\n"
		"To: : m@x.example;\r\n"
		"Cc: open: o@x.example\r\n\r\n", &blob, &k);
	assert_string_equal(k.from, "\xc3\x89quipe");
	assert_string_equal(k.displayfrom, "\xc3\x89quipe");
	assert_string_equal(k.to, "");
	assert_string_equal(k.displayto, "");
	assert_string_equal(k.cc, "open");
	str_free(&blob);
}

static void test_version(void **state)
{
	(void)state;
	struct str blob = STR_INIT;
	struct msgkeys k;

	keys_of("From: a@b\r\n\r\n", &blob, &k);
	assert_int_equal(blob.data[1], 3);
	assert_true(msgkeys_is_current(blob.data, blob.len));
	assert_true(msgkeys_is_current(blob.data, 2));
	assert_false(msgkeys_is_current(blob.data, 1));
	assert_false(msgkeys_is_current("", 0));
	/* version 1 and 2 blobs (what Roost wrote before groups had their
	 * rule, and before comments in an addr-spec stopped being display
	 * names) are not current and are refused */
	for (char v = 1; v <= 2; v++) {
		blob.data[1] = v;
		assert_false(msgkeys_is_current(blob.data, blob.len));
		assert_int_equal(msgkeys_deserialize(&k, blob.data, blob.len), -1);
	}
	blob.data[0] = 'k';
	blob.data[1] = 3;
	assert_false(msgkeys_is_current(blob.data, blob.len));
	str_free(&blob);
}

static void test_dates(void **state)
{
	(void)state;
	struct str blob = STR_INIT;
	struct msgkeys k;

	/* RFC 5256 2.2: an invalid time counts as 00:00:00 UTC */
	keys_of("Date: Sun, 05 Jan 2020 99:99:99 +0000\r\n\r\n", &blob, &k);
	assert_true(k.has_sent_date);
	assert_int_equal(k.sent_date, 1578182400);
	keys_of("Date: 5 Jan 2020\r\n\r\n", &blob, &k);
	assert_true(k.has_sent_date);
	assert_int_equal(k.sent_date, 1578182400);
	/* not a date: the caller uses INTERNALDATE */
	keys_of("Date: soon\r\n\r\n", &blob, &k);
	assert_false(k.has_sent_date);
	keys_of("Date: \r\n\r\n", &blob, &k);
	assert_false(k.has_sent_date);
	/* before the epoch: negative, kept exactly (zigzag varint) */
	keys_of("Date: 1 Jan 1960 00:00:00 +0000\r\n\r\n", &blob, &k);
	assert_true(k.has_sent_date);
	assert_int_equal(k.sent_date, -315619200);
	str_free(&blob);
}

static void test_no_valid_ids(void **state)
{
	(void)state;
	struct str blob = STR_INIT;
	struct msgkeys k;

	keys_of("Message-ID: no-brackets@x\r\nIn-Reply-To: <>\r\n"
		"References: <@x> <y@> junk\r\nSubject: Re:\r\n\r\n", &blob, &k);
	assert_string_equal(k.message_id, "");
	assert_string_equal(k.in_reply_to, "");
	assert_int_equal(k.references_count, 0);
	assert_string_equal(k.base_subject, "");
	assert_true(k.is_reply_or_forward);
	str_free(&blob);
}

static const char damaged_src[] =
	"From: A <a@b>\r\nTo: c@d\r\nSubject: s\r\nDate: 1 Jan 2020 00:00 +0000\r\n"
	"Message-ID: <m@x>\r\nReferences: <r1@x> <r2@x>\r\n\r\n";

/* Every proper prefix, every extra byte and every single-byte change
 * either deserialises to a consistent result or is refused; the copies
 * are exact-size heap blocks so ASan sees any read past the end. */
static void test_damaged(void **state)
{
	(void)state;
	struct str blob = STR_INIT;
	struct msgkeys k;

	keys_of(damaged_src, &blob, &k);
	for (size_t len = 0; len < blob.len; len++) {
		char *copy = xmemdup(blob.data, len == 0 ? 1 : len);
		assert_int_equal(msgkeys_deserialize(&k, copy, len), -1);
		free(copy);
	}
	char *longer = xmalloc(blob.len + 1);
	memcpy(longer, blob.data, blob.len);
	longer[blob.len] = '\0';
	assert_int_equal(msgkeys_deserialize(&k, longer, blob.len + 1), -1);
	free(longer);
	for (size_t i = 0; i < blob.len; i++) {
		for (unsigned int bit = 0; bit < 8; bit++) {
			char *copy = xmemdup(blob.data, blob.len);
			copy[i] ^= (char)(1u << bit);
			if (msgkeys_deserialize(&k, copy, blob.len) == 0) {
				/* whatever was accepted is walkable */
				const char *r = k.references;
				for (size_t j = 0; j < k.references_count; j++) {
					assert_true(r >= copy && r < copy + blob.len);
					r = msgkeys_reference_next(r);
				}
				assert_true(strlen(k.from) < blob.len);
				assert_true(strlen(k.in_reply_to) < blob.len);
			}
			free(copy);
		}
	}
	/* wrong magic and version */
	char *copy = xmemdup(blob.data, blob.len);
	copy[0] = 'M';
	assert_int_equal(msgkeys_deserialize(&k, copy, blob.len), -1);
	copy[0] = 'K';
	copy[1] = 4;
	assert_int_equal(msgkeys_deserialize(&k, copy, blob.len), -1);
	free(copy);
	str_free(&blob);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full_header),
		cmocka_unit_test(test_empty_header),
		cmocka_unit_test(test_display_key_rule),
		cmocka_unit_test(test_display_keys),
		cmocka_unit_test(test_group_keys),
		cmocka_unit_test(test_version),
		cmocka_unit_test(test_dates),
		cmocka_unit_test(test_no_valid_ids),
		cmocka_unit_test(test_damaged),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
