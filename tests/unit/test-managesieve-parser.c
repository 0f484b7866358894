/* test-managesieve-parser.c: the ManageSieve command parser
 * (src/managesieve/parser.c): atoms, quoted strings, both kinds of
 * literal, errors and how the rest of a bad command is dropped, every
 * limit at and just past its value.  Every stream is fed whole and one
 * byte at a time, and must give the same commands. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "base/str.h"
#include "managesieve/parser.h"

#define MAX_LINE 64
#define MAX_LITERAL 16

/* The parser's results over a stream, as text: each command as
 * "ARG|ARG|...\n" (a atom, s quoted, l literal, then the value), each
 * error as "!KIND:NAME\n". */
static char *run(const char *data, size_t len, size_t chunk)
{
	struct managesieve_parser *p = managesieve_parser_create(MAX_LINE, MAX_LITERAL);
	struct str out = STR_INIT;
	size_t pos = 0;

	while (pos < len) {
		size_t n = ROOST_MIN(chunk, len - pos), used;
		const struct managesieve_arg *args;
		size_t count;
		const char *error = NULL;
		int ret = managesieve_parser_read(p, (const unsigned char *)data + pos, n, &used,
						  &args, &count, &error);
		assert_true(used <= n);
		pos += used;
		if (ret == 0) {
			assert_int_equal(used, n);
			continue;
		}
		if (ret < 0) {
			assert_non_null(error);
			str_printfa(&out, "!%d:%s\n", (int)managesieve_parser_error(p),
				    managesieve_parser_command_name(p));
			continue;
		}
		assert_int_equal(ret, 1);
		assert_true(count >= 1 && count <= MANAGESIEVE_MAX_ARGS);
		for (size_t i = 0; i < count; i++) {
			char kind = args[i].type == MANAGESIEVE_ARG_ATOM ? 'a' :
				args[i].literal ? 'l' : 's';
			assert_int_equal(args[i].str[args[i].len], '\0');
			str_printfa(&out, "%s%c", i == 0 ? "" : "|", kind);
			str_append_n(&out, args[i].str, args[i].len);
		}
		str_append_c(&out, '\n');
	}
	managesieve_parser_destroy(&p);
	assert_null(p);
	str_append(&out, "");
	return str_steal(&out);
}

/* Runs the stream whole and byte by byte; both must give `expected`. */
static void check_n(const char *data, size_t len, const char *expected)
{
	char *whole = run(data, len, len), *bytes = run(data, len, 1), *three = run(data, len, 3);
	assert_string_equal(whole, expected);
	assert_string_equal(bytes, expected);
	assert_string_equal(three, expected);
	free(whole);
	free(bytes);
	free(three);
}

static void check(const char *data, const char *expected)
{
	check_n(data, strlen(data), expected);
}

static void test_commands(void **state)
{
	(void)state;
	check("CAPABILITY\r\n", "aCAPABILITY\n");
	check("logout\n", "alogout\n");
	check("HAVESPACE \"myscript\" 999999\r\n", "aHAVESPACE|smyscript|a999999\n");
	check("PUTSCRIPT \"a\" {5+}\r\nkeep;\r\n", "aPUTSCRIPT|sa|lkeep;\n");
	check("PUTSCRIPT \"a\" {5}\r\nkeep;\r\n", "aPUTSCRIPT|sa|lkeep;\n");
	check("PUTSCRIPT {1+}\r\nx {0+}\r\n\r\n", "aPUTSCRIPT|lx|l\n");
	check("NOOP \"\"\r\n", "aNOOP|s\n");
	check("NOOP \"a\\\"b\\\\c\"\r\n", "aNOOP|sa\"b\\c\n");
	check("NOOP \"Zürich\"\r\n", "aNOOP|sZürich\n");
	check("\"dGVzdA==\"\r\n", "sdGVzdA==\n");
	check("A\r\nB\r\nC\r\n", "aA\naB\naC\n");
	/* a literal may hold anything, CRLF and NUL included */
	check_n("X {4+}\r\n\r\n\0\"\r\n", 15, "aX|l\r\n\0\"\n");
}

static void test_errors(void **state)
{
	(void)state;
	/* each error drops the rest of its command only */
	check("\r\nNOOP\r\n", "!0:\naNOOP\n");
	check("NOOP (x)\r\nNOOP\r\n", "!0:NOOP\naNOOP\n");
	check("NOOP  x\r\nNOOP\r\n", "!0:NOOP\naNOOP\n");
	check("NOOP x \r\nNOOP\r\n", "!0:NOOP\naNOOP\n");
	check("NOOP \"a\r\nNOOP\r\n", "!0:NOOP\naNOOP\n");
	check("NOOP \"a\\x\"\r\nNOOP\r\n", "!0:NOOP\naNOOP\n");
	check("NOOP \"\xff\"\r\nNOOP\r\n", "!0:NOOP\naNOOP\n");
	check("NOOP {x}\r\nNOOP\r\n", "!0:NOOP\naNOOP\n");
	check("NOOP {}\r\nNOOP\r\n", "!0:NOOP\naNOOP\n");
	check("NOOP {1+]\r\nNOOP\r\n", "!0:NOOP\naNOOP\n");
	check("NOOP {1+}x\r\nNOOP\r\n", "!0:NOOP\naNOOP\n");
	check("NOOP\rx\r\nNOOP\r\n", "!0:NOOP\naNOOP\n");
	check("NOOP\"x\"\r\nNOOP\r\n", "!0:NOOP\naNOOP\n");
	check_n("NOOP \"a\0\"\r\nNOOP\r\n", 17, "!0:NOOP\naNOOP\n");
	/* an error before a literal's announcement: its octets are dropped
	 * too, so they are not taken for a command */
	check("NOOP ( {6+}\r\nNOOP\r\n\r\nNOOP\r\n", "!0:NOOP\naNOOP\n");
	check("NOOP ( {6}\r\nNOOP\r\n\r\nNOOP\r\n", "!0:NOOP\naNOOP\n");
	/* arguments: at most MANAGESIEVE_MAX_ARGS items */
	check("A 1 2 3 4 5 6 7\r\n", "aA|a1|a2|a3|a4|a5|a6|a7\n");
	check("A 1 2 3 4 5 6 7 8\r\nB\r\n", "!0:A\naB\n");
}

static void test_limits(void **state)
{
	(void)state;
	char buf[4096];
	/* the literal limit: 16 octets taken, 17 refused and dropped */
	snprintf(buf, sizeof(buf), "P {16+}\r\n%s\r\n", "0123456789abcdef");
	check(buf, "aP|l0123456789abcdef\n");
	snprintf(buf, sizeof(buf), "P {17+}\r\n%s\r\nNOOP\r\n", "0123456789abcdefg");
	check(buf, "!2:P\naNOOP\n");
	check("PUTSCRIPT \"x\" {4294967296+}\r\n", "!2:PUTSCRIPT\n");
	check("PUTSCRIPT \"x\" {99999999999999999999+}\r\nNOOP\r\n", "!0:PUTSCRIPT\naNOOP\n");
	/* the line limit counts what is outside literals, CRLF included */
	memset(buf, 'x', sizeof(buf));
	memcpy(buf, "A ", 2);
	memcpy(buf + MAX_LINE - 2, "\r\n", 3);
	char expected[256];
	snprintf(expected, sizeof(expected), "aA|a%.*s\n", MAX_LINE - 4, buf + 2);
	check(buf, expected);
	memcpy(buf + MAX_LINE - 2, "x\r\nB\r\n", 7);
	check(buf, "!1:A\naB\n");
	/* quoted strings and atoms: 1024 octets (the line limit is larger
	 * here) */
	struct managesieve_parser *p = managesieve_parser_create(4096, 16);
	for (size_t n = 1024; n <= 1025; n++) {
		for (int atom = 0; atom <= 1; atom++) {
			struct str line = STR_INIT;
			str_append(&line, atom ? "N " : "N \"");
			for (size_t i = 0; i < n; i++)
				str_append_c(&line, 'q');
			str_append(&line, atom ? "\r\n" : "\"\r\n");
			const struct managesieve_arg *args;
			size_t count, used;
			const char *error;
			int ret = managesieve_parser_read(p, (const unsigned char *)line.data,
							  line.len, &used, &args, &count, &error);
			assert_int_equal(ret, n == 1024 ? 1 : -1);
			if (ret == 1)
				assert_int_equal(args[1].len, 1024);
			else {
				size_t more;
				assert_int_equal(managesieve_parser_read(
					p, (const unsigned char *)line.data + used, line.len - used,
					&more, &args, &count, &error), 0);
				assert_false(managesieve_parser_is_busy(p));
			}
			str_free(&line);
		}
	}
	managesieve_parser_destroy(&p);
}

/* A bigger literal limit applies from the next command on; reset drops a
 * partial command. */
static void test_set_limit_and_reset(void **state)
{
	(void)state;
	struct managesieve_parser *p = managesieve_parser_create(MAX_LINE, 4);
	const struct managesieve_arg *args;
	size_t count, used;
	const char *error;
	const char *cmd = "P {5+}\r\nabcde\r\n";

	assert_int_equal(managesieve_parser_read(p, (const unsigned char *)"P", 1, &used, &args,
						 &count, &error), 0);
	assert_true(managesieve_parser_is_busy(p));
	managesieve_parser_set_max_literal_size(p, 5);
	/* the command begun still has the old limit */
	assert_int_equal(managesieve_parser_read(p, (const unsigned char *)cmd + 1,
						 strlen(cmd) - 1, &used, &args, &count, &error),
			 -1);
	assert_int_equal(managesieve_parser_error(p), MANAGESIEVE_PARSE_LITERAL_TOO_BIG);
	size_t rest = strlen(cmd) - 1 - used;
	assert_int_equal(managesieve_parser_read(p, (const unsigned char *)cmd + 1 + used, rest,
						 &used, &args, &count, &error), 0);
	assert_false(managesieve_parser_is_busy(p));
	assert_int_equal(managesieve_parser_read(p, (const unsigned char *)cmd, strlen(cmd),
						 &used, &args, &count, &error), 1);
	assert_int_equal(args[1].len, 5);
	/* reset: the half-read literal is forgotten */
	assert_int_equal(managesieve_parser_read(p, (const unsigned char *)"P {5+}\r\nab", 10,
						 &used, &args, &count, &error), 0);
	managesieve_parser_reset(p);
	assert_false(managesieve_parser_is_busy(p));
	assert_int_equal(managesieve_parser_read(p, (const unsigned char *)"NOOP\r\n", 6, &used,
						 &args, &count, &error), 1);
	assert_string_equal(args[0].str, "NOOP");
	managesieve_parser_destroy(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_commands),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_set_limit_and_reset),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
