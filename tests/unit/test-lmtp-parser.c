/* test-lmtp-parser.c: the LMTP command parser and the DATA dot-unstuffer
 * (src/lmtp/parser.c).  Unstuffing is checked fed whole and one byte at a
 * time; every limit at and just past its value. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "lmtp/parser.h"

static struct lmtp_command cmd;
static const char *error;

static int parse(const char *line)
{
	error = NULL;
	return lmtp_parser_parse(line, strlen(line), &cmd, &error);
}

static void assert_error(const char *line, const char *prefix)
{
	assert_int_equal(parse(line), -1);
	if (strncmp(error, prefix, strlen(prefix)) != 0)
		fail_msg("%s: got \"%s\", expected \"%s...\"", line, error, prefix);
}

static void test_verbs(void **state)
{
	(void)state;
	assert_int_equal(parse("LHLO mx.example.org"), 1);
	assert_int_equal(cmd.verb, LMTP_CMD_LHLO);
	assert_string_equal(cmd.arg, "mx.example.org");
	assert_int_equal(parse("lhlo  host  "), 1);
	assert_string_equal(cmd.arg, "host");
	assert_int_equal(parse("DATA"), 1);
	assert_int_equal(cmd.verb, LMTP_CMD_DATA);
	assert_int_equal(parse("data\r"), 1);
	assert_int_equal(parse("RSET"), 1);
	assert_int_equal(cmd.verb, LMTP_CMD_RSET);
	assert_int_equal(parse("QUIT"), 1);
	assert_int_equal(parse("NOOP anything"), 1);
	assert_int_equal(cmd.verb, LMTP_CMD_NOOP);
	assert_int_equal(parse("VRFY demo"), 1);
	assert_int_equal(cmd.verb, LMTP_CMD_VRFY);
	assert_int_equal(parse("HELP"), 1);
	assert_int_equal(parse("EHLO x"), 1);
	assert_int_equal(cmd.verb, LMTP_CMD_EHLO);
	assert_error("LHLO", "501 5.5.4");
	assert_error("DATA x", "501 5.5.4");
	assert_error("QUITX", "500 5.5.2");
	assert_error("", "500 5.5.2");
	assert_error("VRFY", "501 5.5.4");
	assert_int_equal(lmtp_parser_parse("NOOP\0x", 6, &cmd, &error), -1);
	assert_string_equal(error, "500 5.5.2 NUL byte in command");
}

static void test_mail(void **state)
{
	(void)state;
	assert_int_equal(parse("MAIL FROM:<a@example.org>"), 1);
	assert_int_equal(cmd.verb, LMTP_CMD_MAIL);
	assert_string_equal(cmd.address, "a@example.org");
	assert_string_equal(cmd.local, "a");
	assert_string_equal(cmd.domain, "example.org");
	assert_false(cmd.has_size);
	assert_int_equal(parse("mail from: <>"), 1);
	assert_string_equal(cmd.address, "");
	assert_int_equal(parse("MAIL FROM:<a@b> SIZE=12345 BODY=8bitmime SMTPUTF8"), 1);
	assert_true(cmd.has_size);
	assert_int_equal(cmd.size, 12345);
	assert_int_equal(cmd.body, LMTP_BODY_8BITMIME);
	assert_true(cmd.smtputf8);
	assert_int_equal(parse("MAIL FROM:<a@b> BODY=7BIT"), 1);
	assert_int_equal(cmd.body, LMTP_BODY_7BIT);
	/* a source route is dropped (RFC 5321 4.1.2) */
	assert_int_equal(parse("MAIL FROM:<@r1.example,@r2.example:x@y>"), 1);
	assert_string_equal(cmd.address, "x@y");
	assert_int_equal(parse("MAIL FROM:<\"a b\\\"c\"@d>"), 1);
	assert_string_equal(cmd.local, "a b\"c");
	assert_error("MAIL FROM:a@b", "501 5.5.4");
	assert_error("MAIL TO:<a@b>", "501 5.5.4");
	assert_error("MAIL FROM:<a@b> SIZE=", "501 5.5.4");
	assert_error("MAIL FROM:<a@b> SIZE=99999999999999999999", "501 5.5.4");
	assert_error("MAIL FROM:<a@b> BODY=BINARYMIME", "501 5.5.4");
	/* a parameter without "=value" (UBSan: NULL + 0 found by fuzzing) */
	assert_error("MAIL FROM:<a@b> BODY", "501 5.5.4");
	assert_error("MAIL FROM:<a@b> SIZE=100 BODY", "501 5.5.4");
	assert_error("MAIL FROM:<a@b> AUTH=<>", "555 5.5.4");
	assert_error("MAIL FROM:<a@b>SIZE=1", "501 5.5.4");
	assert_error("MAIL FROM:<a@>", "501 5.1.3");
	assert_error("MAIL FROM:<@b>", "501 5.1.3");
	assert_error("MAIL FROM:<a@b", "501 5.1.3");
	assert_error("MAIL FROM:<\"a@b>", "501 5.1.3");
	assert_error("MAIL FROM:<j\xc3\xa9@b>", "553 5.6.7");
	assert_int_equal(parse("MAIL FROM:<j\xc3\xa9@b> SMTPUTF8"), 1);
}

static void test_rcpt(void **state)
{
	(void)state;
	assert_int_equal(parse("RCPT TO:<demo+x@localhost>"), 1);
	assert_int_equal(cmd.verb, LMTP_CMD_RCPT);
	assert_string_equal(cmd.local, "demo+x");
	assert_string_equal(cmd.domain, "localhost");
	assert_int_equal(parse("RCPT TO:<Postmaster>"), 1);
	assert_string_equal(cmd.domain, "");
	assert_int_equal(parse("RCPT TO:<a@[192.0.2.1]>"), 1);
	assert_string_equal(cmd.domain, "[192.0.2.1]");
	assert_error("RCPT TO:<>", "501 5.1.3");
	assert_error("RCPT TO:<a@b> NOTIFY=NEVER", "555 5.5.4");
	assert_error("RCPT TO:<a b@c>", "501 5.1.3");
	assert_error("RCPT FROM:<a@b>", "501 5.5.4");
}

static void test_address_limit(void **state)
{
	(void)state;
	char line[LMTP_ADDRESS_MAX + 64];
	/* a path of exactly LMTP_ADDRESS_MAX octets is fine, one more is not */
	memset(line, 0, sizeof(line));
	strcpy(line, "RCPT TO:<");
	size_t local = LMTP_ADDRESS_MAX - 2;
	memset(line + strlen(line), 'a', local);
	strcat(line, "@b>");
	assert_int_equal(parse(line), 1);
	assert_int_equal(strlen(cmd.address), LMTP_ADDRESS_MAX);
	memset(line, 0, sizeof(line));
	strcpy(line, "RCPT TO:<");
	memset(line + strlen(line), 'a', local + 1);
	strcat(line, "@b>");
	assert_error(line, "501 5.1.3");
}

static void test_bdat(void **state)
{
	(void)state;
	assert_int_equal(parse("BDAT 100"), 1);
	assert_int_equal(cmd.verb, LMTP_CMD_BDAT);
	assert_int_equal(cmd.chunk_size, 100);
	assert_false(cmd.last);
	assert_int_equal(parse("bdat 0 last"), 1);
	assert_int_equal(cmd.chunk_size, 0);
	assert_true(cmd.last);
	assert_error("BDAT", "501 5.5.4");
	assert_error("BDAT x", "501 5.5.4");
	assert_error("BDAT 1 LASTX", "501 5.5.4");
	assert_error("BDAT 1 LAST x", "501 5.5.4");
	assert_error("BDAT -1", "501 5.5.4");
}

static void test_split_detail(void **state)
{
	(void)state;
	char user[LMTP_ADDRESS_MAX + 1], detail[LMTP_ADDRESS_MAX + 1];
	lmtp_parser_split_detail("alice+lists", "+", user, detail);
	assert_string_equal(user, "alice");
	assert_string_equal(detail, "lists");
	lmtp_parser_split_detail("alice-a+b", "+-", user, detail);
	assert_string_equal(user, "alice");
	assert_string_equal(detail, "a+b");
	lmtp_parser_split_detail("alice+x", "", user, detail);
	assert_string_equal(user, "alice+x");
	assert_string_equal(detail, "");
	lmtp_parser_split_detail("bob", "+", user, detail);
	assert_string_equal(user, "bob");
	assert_string_equal(detail, "");
}

/* Unstuffs `in` whole and byte by byte; both must give `expected` and
 * consume `consumed` bytes. */
static void check_unstuff(const char *in, const char *expected, size_t consumed, int ret)
{
	size_t len = strlen(in);
	unsigned char out[512];
	enum lmtp_data_state st = LMTP_DATA_LINE_START;
	size_t out_len, used;
	assert_int_equal(lmtp_parser_data_unstuff(&st, (const unsigned char *)in, len, out,
						  &out_len, &used), ret);
	assert_int_equal(used, consumed);
	assert_int_equal(out_len, strlen(expected));
	assert_memory_equal(out, expected, out_len);

	char all[512];
	size_t total = 0, pos = 0;
	int r = 0;
	st = LMTP_DATA_LINE_START;
	while (pos < len && r == 0) {
		r = lmtp_parser_data_unstuff(&st, (const unsigned char *)in + pos, 1, out,
					     &out_len, &used);
		memcpy(all + total, out, out_len);
		total += out_len;
		pos += used;
	}
	assert_int_equal(r, ret);
	assert_int_equal(pos, consumed);
	assert_int_equal(total, strlen(expected));
	assert_memory_equal(all, expected, total);
}

static void test_unstuff(void **state)
{
	(void)state;
	check_unstuff("a\r\n.\r\nNOOP\r\n", "a\r\n", 6, 1);
	check_unstuff(".\r\n", "", 3, 1);
	check_unstuff("..\r\n.\r\n", ".\r\n", 7, 1);
	check_unstuff("...x\r\n.y\r\n.\r\n", "..x\r\ny\r\n", 13, 1);
	check_unstuff("a.\r\n.\r\n", "a.\r\n", 7, 1);
	check_unstuff(".\rb\r\n.\r\n", "\rb\r\n", 8, 1);
	check_unstuff("x\r\r\n.\r\n", "x\r\r\n", 7, 1);
	check_unstuff("x\n.\n", "x\n.\n", 4, 0);
	check_unstuff("x\r\n.", "x\r\n", 4, 0);
	check_unstuff("x\r\n.\r", "x\r\n", 5, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_verbs),
		cmocka_unit_test(test_mail),
		cmocka_unit_test(test_rcpt),
		cmocka_unit_test(test_address_limit),
		cmocka_unit_test(test_bdat),
		cmocka_unit_test(test_split_detail),
		cmocka_unit_test(test_unstuff),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
