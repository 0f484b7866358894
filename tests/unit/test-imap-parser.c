/* test-imap-parser.c: the incremental IMAP command parser.
 *
 * Most tests describe a conversation as input bytes and the expected
 * transcript of what the parser reports (commands, continuations, errors).
 * check() runs each input whole and split into chunks of 1, 2, 3, 5 and 7
 * bytes, on a fresh parser each time, and every run must give the same
 * transcript. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include "base/base.h"
#include "base/pool.h"
#include "base/str.h"
#include "syntax/imap-parser.h"

static const char *const error_names[] = {
	"NONE", "SYNTAX", "LINE_TOO_LONG", "LIMIT", "TOOBIG", "SERVER",
};

static void dump_bytes(struct str *out, const char *data, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (data[i] == '\0')
			str_append(out, "\\0");
		else
			str_append_c(out, data[i]);
	}
}

static void dump_args(struct str *out, const struct imap_arg *args,
		      unsigned int count)
{
	unsigned int i;

	for (i = 0; args[i].type != IMAP_ARG_EOL; i++) {
		const struct imap_arg *a = &args[i];
		if (i > 0)
			str_append_c(out, ' ');
		switch (a->type) {
		case IMAP_ARG_ATOM:
			assert_int_equal(strlen(a->str), a->len);
			str_append(out, a->str);
			break;
		case IMAP_ARG_QUOTED:
			str_append_c(out, '"');
			str_append_n(out, a->str, a->len);
			str_append_c(out, '"');
			break;
		case IMAP_ARG_LITERAL:
			assert_int_equal(a->str[a->len], '\0');
			assert_int_equal(memchr(a->str, '\0', a->len) != NULL,
					 a->has_nul);
			str_printfa(out, "%s{%zu}", a->literal8 ? "~" : "",
				    a->len);
			dump_bytes(out, a->str, a->len);
			break;
		case IMAP_ARG_LITERAL_FILE: {
			char *buf = xmalloc(a->size + 1);
			assert_true(a->fd >= 0);
			assert_int_equal(pread(a->fd, buf, a->size, a->offset),
					 (ssize_t)a->size);
			str_printfa(out, "%sF{%llu}", a->literal8 ? "~" : "",
				    (unsigned long long)a->size);
			dump_bytes(out, buf, a->size);
			free(buf);
			break;
		}
		case IMAP_ARG_LIST:
			str_append_c(out, '(');
			dump_args(out, a->list, a->list_count);
			str_append_c(out, ')');
			break;
		case IMAP_ARG_EOL:
			break;
		}
	}
	assert_int_equal(i, count);
}

static void dump_command(struct str *out, const struct imap_command *cmd)
{
	str_printfa(out, "[%s] %s", cmd->tag, cmd->name);
	if (cmd->arg_count > 0) {
		str_append_c(out, ' ');
		dump_args(out, cmd->args, cmd->arg_count);
	}
	str_append_c(out, '\n');
}

static void dump_error(struct str *out, struct imap_parser *p)
{
	enum imap_parser_error code;
	const char *msg = imap_parser_error(p, &code);
	const char *tag = imap_parser_error_tag(p);

	str_printfa(out, "ERR %s %s %s\n", error_names[code],
		    tag == NULL ? "*" : tag, msg);
}

/* Feeds data in chunks of `chunk` bytes (0 = whole) and appends what the
 * parser reports to out.  Continuations are answered at once. */
static void run(struct imap_parser *p, const char *data, size_t len,
		size_t chunk, struct str *out)
{
	size_t pos = 0;

	while (pos < len) {
		size_t n = chunk == 0 ? len - pos : ROOST_MIN(chunk, len - pos);
		size_t off = 0;
		while (off < n) {
			size_t used;
			int ret = imap_parser_feed(p,
				(const unsigned char *)data + pos + off,
				n - off, &used);
			assert_true(used <= n - off);
			off += used;
			if (ret == 1) {
				assert_true(used > 0);
				dump_command(out, imap_parser_command(p));
			} else if (ret == -1) {
				dump_error(out, p);
				if (imap_parser_must_close(p)) {
					str_append(out, "CLOSE\n");
					return;
				}
			} else {
				assert_int_equal(ret, 0);
				if (imap_parser_need_continuation(p))
					str_append(out, "+\n");
				else
					assert_int_equal(off, n);
			}
		}
		pos += n;
	}
}

static char *transcript(const struct imap_parser_settings *set,
			const char *data, size_t len, size_t chunk)
{
	struct imap_parser *p = imap_parser_create(set);
	struct str out = STR_INIT;

	run(p, data, len, chunk, &out);
	imap_parser_destroy(&p);
	assert_null(p);
	return str_steal(&out);
}

static void check_n(const struct imap_parser_settings *set,
		    const char *data, size_t len, const char *expected)
{
	static const size_t chunks[] = { 0, 1, 2, 3, 5, 7 };

	for (size_t i = 0; i < N_ELEMENTS(chunks); i++) {
		char *got = transcript(set, data, len, chunks[i]);
		if (strcmp(got, expected) != 0) {
			print_error("chunk size %zu:\n--- expected\n%s--- got\n%s",
				    chunks[i], expected, got);
			free(got);
			fail();
		}
		free(got);
	}
}

/* For inputs with NUL bytes: `lit` must be a string literal. */
#define check_bin(set, lit, expected) \
	check_n(set, lit, sizeof(lit) - 1, expected)

static void check(const struct imap_parser_settings *set, const char *data,
		  const char *expected)
{
	check_n(set, data, strlen(data), expected);
}

static void test_simple(void **state)
{
	(void)state;
	check(NULL, "a1 NOOP\r\n", "[a1] NOOP\n");
	check(NULL, "a1 noop\r\n", "[a1] noop\n");
	check(NULL, "a1 NOOP\n", "[a1] NOOP\n");
	/* runs of spaces and trailing spaces are accepted */
	check(NULL, "a1  SELECT   INBOX  \r\n", "[a1] SELECT INBOX\n");
	check(NULL, "a1 UID FETCH 1:*,5 FLAGS\r\n",
	      "[a1] UID FETCH 1:*,5 FLAGS\n");
}

static void test_arg_types(void **state)
{
	(void)state;
	check(NULL, "t X atom \"quo\\\\ted \\\"x\\\"\" \"\" NIL\r\n",
	      "[t] X atom \"quo\\ted \"x\"\" \"\" NIL\n");
	check(NULL, "t LOGIN {5}\r\nalice {3}\r\npwd\r\n",
	      "+\n+\n[t] LOGIN {5}alice {3}pwd\n");
	check(NULL, "t LOGIN {5+}\r\nalice {3+}\r\npwd\r\n",
	      "[t] LOGIN {5}alice {3}pwd\n");
	check(NULL, "t X (a (b c) () \"d\" {1+}\r\ne)\r\n",
	      "[t] X (a (b c) () \"d\" {1}e)\n");
	check(NULL, "t X ((()))\r\n", "[t] X ((()))\n");
	check(NULL, "t X {0}\r\n {0+}\r\n\r\n", "+\n[t] X {0} {0}\n");
	/* a literal's data may contain anything, NUL included */
	check_bin(NULL, "t X {5+}\r\na\0\r\n)\r\n",
		"[t] X {5}a\\0\r\n)\n");
	/* literal8 (RFC 3516), and "~" as an atom */
	check_bin(NULL, "t APPEND x ~{3}\r\n\0\1\2 ~{1+}\r\nz ~ ~a\r\n",
		"+\n[t] APPEND x ~{3}\\0\1\2 ~{1}z ~ ~a\n");
	/* UTF-8 (any 8-bit) in quoted strings */
	check(NULL, "t SELECT \"Entw\xc3\xbcrfe\"\r\n",
	      "[t] SELECT \"Entw\xc3\xbcrfe\"\n");
	/* other CTLs than CR, LF and NUL are TEXT-CHARs */
	check(NULL, "t X \"a\tb\"\r\n", "[t] X \"a\tb\"\n");
}

static void test_arg_structure(void **state)
{
	(void)state;
	struct imap_parser *p = imap_parser_create(NULL);
	const char *in = "a1 STORE 1 +FLAGS (\\Seen \\Deleted) \"q\" {2+}\r\nxy\r\n";
	size_t used;

	assert_int_equal(imap_parser_feed(p, (const unsigned char *)in,
					  strlen(in), &used), 1);
	assert_int_equal(used, strlen(in));
	const struct imap_command *cmd = imap_parser_command(p);
	assert_string_equal(cmd->tag, "a1");
	assert_string_equal(cmd->name, "STORE");
	assert_int_equal(cmd->arg_count, 5);
	const struct imap_arg *a = cmd->args;
	assert_int_equal(a[0].type, IMAP_ARG_ATOM);
	assert_string_equal(a[0].str, "1");
	assert_int_equal(a[1].type, IMAP_ARG_ATOM);
	assert_string_equal(a[1].str, "+FLAGS");
	assert_int_equal(a[2].type, IMAP_ARG_LIST);
	assert_int_equal(a[2].list_count, 2);
	assert_string_equal(a[2].list[0].str, "\\Seen");
	assert_string_equal(a[2].list[1].str, "\\Deleted");
	assert_int_equal(a[2].list[2].type, IMAP_ARG_EOL);
	assert_int_equal(a[3].type, IMAP_ARG_QUOTED);
	assert_string_equal(a[3].str, "q");
	assert_int_equal(a[4].type, IMAP_ARG_LITERAL);
	assert_int_equal(a[4].len, 2);
	assert_memory_equal(a[4].str, "xy", 2);
	assert_false(a[4].literal8);
	assert_int_equal(a[4].fd, -1);
	assert_int_equal(a[5].type, IMAP_ARG_EOL);
	/* nothing pending: a feed of nothing returns 0 */
	assert_int_equal(imap_parser_feed(p, NULL, 0, &used), 0);
	assert_null(imap_parser_command(p));
	imap_parser_destroy(&p);
}

static void test_atoms(void **state)
{
	(void)state;
	/* "[" continues the atom through "]", across spaces and parens */
	check(NULL, "a FETCH 1 (FLAGS BODY.PEEK[HEADER.FIELDS (From To)]<0.100>)\r\n",
	      "[a] FETCH 1 (FLAGS BODY.PEEK[HEADER.FIELDS (From To)]<0.100>)\n");
	check(NULL, "a FETCH 1 BODY[]\r\n", "[a] FETCH 1 BODY[]\n");
	check(NULL, "a FETCH 1 BODY[1.2.MIME] body[a[b ]c]d\r\n",
	      "[a] FETCH 1 BODY[1.2.MIME] body[a[b ]c]d\n");
	check(NULL, "a FETCH 1 (BODY[HEADER.FIELDS (\"X\")])\r\n",
	      "[a] FETCH 1 (BODY[HEADER.FIELDS (\"X\")])\n");
	check(NULL, "a UID FETCH 1 (FLAGS BINARY.PEEK[1 2] binary[] "
	      "Binary.Size[3 (4)])\r\n",
	      "[a] UID FETCH 1 (FLAGS BINARY.PEEK[1 2] binary[] "
	      "Binary.Size[3 (4)])\n");
	check(NULL, "a uid fetch 1 BODY[HEADER.FIELDS (A)]\r\n",
	      "[a] uid fetch 1 BODY[HEADER.FIELDS (A)]\n");
	/* only those names open a section: other atoms, and every atom of
	 * other commands, take "[" as an ATOM-CHAR (RFC 9051 section 9) */
	check(NULL, "a FETCH 1 X[a[b ]c]d\r\n",
	      "[a] FETCH 1 X[a[b ]c]d\n");
	check(NULL, "a SELECT a[b\r\n", "[a] SELECT a[b\n");
	check(NULL, "a SELECT a[b}\r\n", "[a] SELECT a[b}\n");
	check(NULL, "a CREATE [\r\n", "[a] CREATE [\n");
	check(NULL, "a SELECT BODY[x\r\n", "[a] SELECT BODY[x\n");
	check(NULL, "a UID SEARCH BODY[x\r\n", "[a] UID SEARCH BODY[x\n");
	check(NULL, "a UID (FETCH) BODY[x\r\n", "[a] UID (FETCH) BODY[x\n");
	check(NULL, "a X FETCH BODY[x\r\n", "[a] X FETCH BODY[x\n");
	check(NULL, "a SEARCH (SUBJECT a[b) TO [x]\r\n",
	      "[a] SEARCH (SUBJECT a[b) TO [x]\n");
	check(NULL, "a LIST \"\" !#$&'+,-.0123456789:;<=>?@^_`|[}%*\r\n",
	      "[a] LIST \"\" !#$&'+,-.0123456789:;<=>?@^_`|[}%*\n");
	check(NULL, "a LIST \"\" (a[ [b %[*)\r\n",
	      "[a] LIST \"\" (a[ [b %[*)\n");
	check(NULL, "a RENAME [a [b\r\nb NOOP\r\n",
	      "[a] RENAME [a [b\n[b] NOOP\n");
	/* flags, wildcards, sequence sets, "]" are atoms */
	check(NULL, "a X \\Seen \\* % * 1:*,5 ] $ a]b ~x\r\n",
	      "[a] X \\Seen \\* % * 1:*,5 ] $ a]b ~x\n");
	/* a line ending inside brackets */
	check(NULL, "a FETCH 1 BODY[HEADER\r\nb NOOP\r\n",
	      "ERR SYNTAX a Missing ']'\n[b] NOOP\n");
	/* atom-specials inside an atom */
	check(NULL, "a X ab(c\r\n", "ERR SYNTAX a Invalid characters in atom\n");
	check(NULL, "a X ab{1}\r\n", "ERR SYNTAX a Invalid characters in atom\n");
	check(NULL, "a X ab\"c\"\r\n", "ERR SYNTAX a Invalid characters in atom\n");
	check(NULL, "a X a\x01\r\n", "ERR SYNTAX a Invalid characters in atom\n");
	check(NULL, "a X Entw\xc3\xbcrfe\r\nb NOOP\r\n",
	      "ERR SYNTAX a 8-bit data in atom\n[b] NOOP\n");
	check(NULL, "a X [\xc3\xbc]\r\n", "ERR SYNTAX a 8-bit data in atom\n");
	check(NULL, "a FETCH 1 BODY[\xc3\xbc]\r\n",
	      "ERR SYNTAX a Invalid characters in atom\n");
}

static void test_tags(void **state)
{
	(void)state;
	/* tag = 1*<any ASTRING-CHAR except "+">: "]" and "[" are fine */
	check(NULL, "a]b NOOP\r\n", "[a]b] NOOP\n");
	check(NULL, "x[1 NOOP\r\n", "[x[1] NOOP\n");
	check(NULL, "A.1-~!#&' NOOP\r\n", "[A.1-~!#&'] NOOP\n");
	check(NULL, "+a NOOP\r\n", "ERR SYNTAX * Invalid tag\n");
	check(NULL, "a+ NOOP\r\n", "ERR SYNTAX * Invalid tag\n");
	check(NULL, "* NOOP\r\n", "ERR SYNTAX * Invalid tag\n");
	check(NULL, "a% NOOP\r\n", "ERR SYNTAX * Invalid tag\n");
	check(NULL, "a( NOOP\r\n", "ERR SYNTAX * Invalid tag\n");
	check(NULL, "a{ NOOP\r\n", "ERR SYNTAX * Invalid tag\n");
	check(NULL, "\"a\" NOOP\r\n", "ERR SYNTAX * Invalid tag\n");
	check(NULL, "a\\ NOOP\r\n", "ERR SYNTAX * Invalid tag\n");
	check(NULL, "\xc3\xa4 NOOP\r\n", "ERR SYNTAX * Invalid tag\n");
	check(NULL, " a NOOP\r\n", "ERR SYNTAX * Invalid tag\n");
	/* tag without a command: tagged error */
	check(NULL, "a1\r\n", "ERR SYNTAX a1 Missing command name\n");
	check(NULL, "a1 \r\n", "ERR SYNTAX a1 Missing command name\n");
	check(NULL, "a1 (x)\r\n", "ERR SYNTAX a1 Invalid command name\n");
	check(NULL, "a1 NO\"OP\r\n", "ERR SYNTAX a1 Invalid command name\n");
	check(NULL, "a1 NO]OP\r\n", "ERR SYNTAX a1 Invalid command name\n");
}

static void test_empty_lines(void **state)
{
	(void)state;
	check(NULL, "\r\n\n\r\na NOOP\r\n\r\nb NOOP\r\n",
	      "[a] NOOP\n[b] NOOP\n");
	check(NULL, "\r\r\na NOOP\r\n", "ERR SYNTAX * CR without LF\n[a] NOOP\n");
	check(NULL, "a NOOP\rx\r\nb NOOP\r\n",
	      "ERR SYNTAX a CR without LF\n[b] NOOP\n");
}

static void test_syntax_errors(void **state)
{
	(void)state;
	check(NULL, "a X (b\r\nc NOOP\r\n", "ERR SYNTAX a Missing ')'\n[c] NOOP\n");
	check(NULL, "a X b)\r\nc NOOP\r\n", "ERR SYNTAX a Unexpected ')'\n[c] NOOP\n");
	check(NULL, "a X )\r\n", "ERR SYNTAX a Unexpected ')'\n");
	check(NULL, "a X \"b\"c\r\n", "ERR SYNTAX a Missing space between arguments\n");
	check(NULL, "a X (b)(c)\r\n", "ERR SYNTAX a Missing space between arguments\n");
	check(NULL, "a X {1+}\r\nbc\r\n", "ERR SYNTAX a Missing space between arguments\n");
	check(NULL, "a X \"b\r\nc NOOP\r\n", "ERR SYNTAX a Missing '\"'\n[c] NOOP\n");
	check(NULL, "a X \"b\\c\"\r\n", "ERR SYNTAX a Invalid escape in quoted string\n");
	check_bin(NULL, "a X \"b\0\"\r\nc NOOP\r\n",
		"ERR SYNTAX a NUL in quoted string\n[c] NOOP\n");
	check(NULL, "a X {}\r\n", "ERR SYNTAX a Invalid literal size\n");
	check(NULL, "a X {+}\r\n", "ERR SYNTAX a Invalid literal size\n");
	check(NULL, "a X {1x}\r\n", "ERR SYNTAX a Invalid literal size\n");
	check(NULL, "a X {1+x\r\n", "ERR SYNTAX a Invalid literal size\n");
	check(NULL, "a X {1}x\r\n", "ERR SYNTAX a Missing CRLF after literal size\n");
	check(NULL, "a X {1}\rx\r\n", "ERR SYNTAX a Missing CRLF after literal size\n");
	check(NULL, "a X ~{x}\r\n", "ERR SYNTAX a Invalid literal size\n");
}

/* After an error the rest of the command is skipped, including the data of
 * non-synchronising literals that end skipped lines. */
static void test_error_recovery(void **state)
{
	(void)state;
	check(NULL, "a1 X ) {5+}\r\nhello\r\na2 NOOP\r\n",
	      "ERR SYNTAX a1 Unexpected ')'\n[a2] NOOP\n");
	/* the literal data looks like a command: it must not be parsed */
	check(NULL, "a1 X ) {9+}\r\nb1 NOOP\r\n {3+}\r\nc1\n\r\na2 NOOP\r\n",
	      "ERR SYNTAX a1 Unexpected ')'\n[a2] NOOP\n");
	/* a synchronising literal at the end of a skipped line: the client
	 * got no continuation and sends no data */
	check(NULL, "a1 X ) {5}\r\na2 NOOP\r\n",
	      "ERR SYNTAX a1 Unexpected ')'\n[a2] NOOP\n");
	/* error inside the announcement itself */
	check(NULL, "a1 X {1x2+}\r\na2 NOOP\r\n",
	      "ERR SYNTAX a1 Invalid literal size\n[a2] NOOP\n");
	check(NULL, "a1 X {3+}x\r\nabc\r\na2 NOOP\r\n",
	      "ERR SYNTAX a1 Missing CRLF after literal size\n"
	      "ERR SYNTAX abc Missing command name\n[a2] NOOP\n");
	/* "{n+}" not at the end of the line does not count */
	check(NULL, "a1 X ) {2+} x\r\na2 NOOP\r\n",
	      "ERR SYNTAX a1 Unexpected ')'\n[a2] NOOP\n");
	/* many bad commands in a row, then a good one */
	check(NULL, "(\r\n)\r\na\r\nb )\r\nc NOOP\r\n",
	      "ERR SYNTAX * Invalid tag\nERR SYNTAX * Invalid tag\n"
	      "ERR SYNTAX a Missing command name\nERR SYNTAX b Invalid command name\n"
	      "[c] NOOP\n");
}

static void test_pipelining(void **state)
{
	(void)state;
	check(NULL, "a1 NOOP\r\na2 LOGIN {1+}\r\nx y\r\na3 SELECT \"INBOX\"\r\n"
	      "a4 FETCH 1:* (FLAGS)\r\na5 LOGOUT\r\n",
	      "[a1] NOOP\n[a2] LOGIN {1}x y\n[a3] SELECT \"INBOX\"\n"
	      "[a4] FETCH 1:* (FLAGS)\n[a5] LOGOUT\n");

	/* consumed_r stops exactly at each command's end */
	struct imap_parser *p = imap_parser_create(NULL);
	const char *in = "a NOOP\r\nbb NOOP\nc";
	size_t used;
	assert_int_equal(imap_parser_feed(p, (const unsigned char *)in,
					  strlen(in), &used), 1);
	assert_int_equal(used, 8);
	assert_string_equal(imap_parser_command(p)->tag, "a");
	assert_int_equal(imap_parser_feed(p, (const unsigned char *)in + 8,
					  strlen(in) - 8, &used), 1);
	assert_int_equal(used, 8);
	assert_string_equal(imap_parser_command(p)->tag, "bb");
	assert_int_equal(imap_parser_feed(p, (const unsigned char *)in + 16,
					  1, &used), 0);
	assert_int_equal(used, 1);
	assert_null(imap_parser_command(p));
	imap_parser_destroy(&p);
}

static void test_sync_literal_flow(void **state)
{
	(void)state;
	struct imap_parser *p = imap_parser_create(NULL);
	const char *in = "a1 LOGIN {5}\r\nalice {3}\r\npwd\r\n";
	const unsigned char *d = (const unsigned char *)in;
	size_t used;

	/* the parser stops right after the announcement's CRLF */
	assert_int_equal(imap_parser_feed(p, d, strlen(in), &used), 0);
	assert_int_equal(used, 14);
	assert_true(imap_parser_need_continuation(p));
	assert_int_equal(imap_parser_literal_size(p), 5);
	assert_string_equal(imap_parser_current_tag(p), "a1");
	assert_string_equal(imap_parser_current_name(p), "LOGIN");
	d += used;
	assert_int_equal(imap_parser_feed(p, d, 3, &used), 0);
	assert_int_equal(used, 3);
	assert_false(imap_parser_need_continuation(p));
	d += used;
	assert_int_equal(imap_parser_feed(p, d, strlen((const char *)d), &used), 0);
	assert_true(imap_parser_need_continuation(p));
	assert_int_equal(imap_parser_literal_size(p), 3);
	d += used;
	assert_int_equal(imap_parser_feed(p, d, strlen((const char *)d), &used), 1);
	assert_false(imap_parser_need_continuation(p));
	const struct imap_command *cmd = imap_parser_command(p);
	assert_string_equal(cmd->args[0].str, "alice");
	assert_string_equal(cmd->args[1].str, "pwd");

	/* rejecting the literal instead of sending "+": reset */
	in = "a2 APPEND INBOX {100}\r\n";
	assert_int_equal(imap_parser_feed(p, (const unsigned char *)in,
					  strlen(in), &used), 0);
	assert_int_equal(used, strlen(in));
	assert_true(imap_parser_need_continuation(p));
	assert_int_equal(imap_parser_literal_size(p), 100);
	assert_string_equal(imap_parser_current_name(p), "APPEND");
	imap_parser_reset(p);
	assert_false(imap_parser_need_continuation(p));
	assert_null(imap_parser_current_tag(p));
	in = "a3 NOOP\r\n";
	assert_int_equal(imap_parser_feed(p, (const unsigned char *)in,
					  strlen(in), &used), 1);
	assert_string_equal(imap_parser_command(p)->tag, "a3");
	imap_parser_destroy(&p);
}

static void test_literal_limits(void **state)
{
	(void)state;
	struct imap_parser_settings set = { .max_literal_size = 10 };

	/* synchronising: at the limit fine, past it TOOBIG and go on */
	check(&set, "a X {10}\r\n0123456789\r\n", "+\n[a] X {10}0123456789\n");
	check(&set, "a X {11}\r\nb NOOP\r\n", "ERR TOOBIG a Literal too big\n[b] NOOP\n");
	check(&set, "a X {0000000000000000000000000000011}\r\nb NOOP\r\n",
	      "ERR TOOBIG a Literal too big\n[b] NOOP\n");
	check(&set, "a X {99999999999999999999999}\r\nb NOOP\r\n",
	      "ERR TOOBIG a Literal too big\n[b] NOOP\n");
	check(&set, "a X ~{11}\r\nb NOOP\r\n", "ERR TOOBIG a Literal too big\n[b] NOOP\n");
	/* non-synchronising past the limit: must close */
	check(&set, "a X {10+}\r\n0123456789\r\n", "[a] X {10}0123456789\n");
	check(&set, "a X {11+}\r\n01234567890\r\nb NOOP\r\n",
	      "ERR TOOBIG a Non-synchronizing literal too big\nCLOSE\n");
	check(&set, "a X ~{11+}\r\n01234567890\r\n",
	      "ERR TOOBIG a Non-synchronizing literal too big\nCLOSE\n");
	/* ...also in a line being skipped after an error */
	check(&set, "a X ) {11+}\r\n01234567890\r\n",
	      "ERR SYNTAX a Unexpected ')'\n"
	      "ERR TOOBIG * Non-synchronizing literal too big\nCLOSE\n");
	check(&set, "a X ) {10+}\r\n0123456789\r\nb NOOP\r\n",
	      "ERR SYNTAX a Unexpected ')'\n[b] NOOP\n");

	/* LITERAL-: non-synchronising literals up to 4096 only */
	struct imap_parser_settings minus = {
		.max_literal_size = 1 << 20, .max_nonsync_literal_size = 4096,
	};
	check(&minus, "a X {4097}\r\n", "+\n");
	check(&minus, "a X {4097+}\r\n", "ERR TOOBIG a Non-synchronizing literal too big\nCLOSE\n");
	check(&minus, "a X {4096+}\r\n", "");

	/* after must-close, feeding returns -1 and consumes nothing */
	struct imap_parser *p = imap_parser_create(&set);
	const char *in = "a X {11+}\r\n";
	size_t used;
	assert_int_equal(imap_parser_feed(p, (const unsigned char *)in,
					  strlen(in), &used), -1);
	assert_int_equal(used, 9);
	assert_true(imap_parser_must_close(p));
	assert_int_equal(imap_parser_feed(p, (const unsigned char *)in,
					  strlen(in), &used), -1);
	assert_int_equal(used, 0);

	/* the limit can change between commands */
	imap_parser_reset(p);
	assert_false(imap_parser_must_close(p));
	imap_parser_set_max_literal_size(p, 11);
	in = "a X {11+}\r\n01234567890\r\n";
	assert_int_equal(imap_parser_feed(p, (const unsigned char *)in,
					  strlen(in), &used), 1);
	imap_parser_set_max_nonsync_literal_size(p, 5);
	assert_int_equal(imap_parser_feed(p, (const unsigned char *)in,
					  strlen(in), &used), -1);
	assert_true(imap_parser_must_close(p));
	imap_parser_destroy(&p);
}

static bool fd_is_open(int fd)
{
	return fcntl(fd, F_GETFD) != -1;
}

static void test_literal_spool(void **state)
{
	(void)state;
	struct imap_parser_settings set = { .literal_memory_max = 16 };

	/* 10 bytes fit in memory, the next 10 do not: both spooled ones
	 * share one file */
	check_bin(&set, "a APPEND x {10+}\r\n0123456789 {10}\r\nabcdefghij ~{7+}\r\nABC\0EFG {6+}\r\n123456 {0+}\r\n\r\n",
	      "+\n[a] APPEND x {10}0123456789 F{10}abcdefghij ~F{7}ABC\\0EFG {6}123456 {0}\n");
	check(&set, "a APPEND x {17+}\r\n0123456789abcdefg\r\n",
	      "[a] APPEND x F{17}0123456789abcdefg\n");
	check(&set, "a APPEND x {16+}\r\n0123456789abcdef\r\n",
	      "[a] APPEND x {16}0123456789abcdef\n");

	struct imap_parser *p = imap_parser_create(&set);
	const char *in = "a APPEND x {3+}\r\nabc {20+}\r\n01234567890123456789 {14+}\r\nhello, world!!\r\nb NOOP\r\n";
	size_t used;
	assert_int_equal(imap_parser_feed(p, (const unsigned char *)in,
					  strlen(in), &used), 1);
	const struct imap_command *cmd = imap_parser_command(p);
	assert_int_equal(cmd->args[1].type, IMAP_ARG_LITERAL);
	assert_int_equal(cmd->args[2].type, IMAP_ARG_LITERAL_FILE);
	assert_int_equal(cmd->args[3].type, IMAP_ARG_LITERAL_FILE);
	assert_int_equal(cmd->args[2].offset, 0);
	assert_int_equal(cmd->args[2].size, 20);
	assert_int_equal(cmd->args[3].offset, 20);
	assert_int_equal(cmd->args[3].size, 14);
	assert_int_equal(cmd->args[2].fd, cmd->args[3].fd);
	int fd = cmd->args[2].fd;
	/* the file is unlinked and private */
	struct stat st;
	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal(st.st_nlink, 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(st.st_size, 34);
	/* without take, the next feed closes it */
	const char *rest = in + used;
	assert_int_equal(imap_parser_feed(p, (const unsigned char *)rest,
					  strlen(rest), &used), 1);
	assert_false(fd_is_open(fd));
	assert_int_equal(imap_parser_take_literal_fd(p), -1);

	/* with take, the caller owns it */
	assert_int_equal(imap_parser_feed(p, (const unsigned char *)in,
					  strlen(in), &used), 1);
	fd = imap_parser_take_literal_fd(p);
	assert_true(fd >= 0);
	assert_int_equal(imap_parser_take_literal_fd(p), -1);
	assert_int_equal(imap_parser_feed(p, (const unsigned char *)rest,
					  strlen(rest), &used), 1);
	assert_true(fd_is_open(fd));
	char buf[5];
	assert_int_equal(pread(fd, buf, 5, 20), 5);
	assert_memory_equal(buf, "hello", 5);
	close(fd);

	/* a bad command's file is closed too, and destroy closes the last */
	in = "a APPEND x {20+}\r\n01234567890123456789 )\r\n";
	assert_int_equal(imap_parser_feed(p, (const unsigned char *)in,
					  strlen(in), &used), -1);
	imap_parser_destroy(&p);

	/* an unusable temp dir is a server error, and the data is skipped */
	struct imap_parser_settings bad = {
		.literal_memory_max = 4, .temp_dir = "/nonexistent/dir",
	};
	check(&bad, "a APPEND x {5+}\r\nb NOP\r\nc NOOP\r\n",
	      "ERR SERVER a Internal error while receiving a literal\n[c] NOOP\n");
	check(&bad, "a APPEND x {5}\r\nc NOOP\r\n",
	      "ERR SERVER a Internal error while receiving a literal\n[c] NOOP\n");
	p = imap_parser_create(&bad);
	in = "a APPEND x {5}\r\n";
	assert_int_equal(imap_parser_feed(p, (const unsigned char *)in,
					  strlen(in), &used), -1);
	assert_non_null(imap_parser_system_error(p));
	assert_non_null(strstr(imap_parser_system_error(p), "/nonexistent/dir"));
	imap_parser_destroy(&p);
}

/* The disk fills up in the middle of a spooled literal (RLIMIT_FSIZE makes
 * write() fail with EFBIG): a server error, the rest of the literal and of
 * the command is skipped, and the next command parses. */
static void test_literal_spool_write_error(void **state)
{
	(void)state;
	struct imap_parser_settings set = { .literal_memory_max = 4 };
	struct rlimit old, small = { 10, 10 };
	void (*old_handler)(int) = signal(SIGXFSZ, SIG_IGN);

	assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
	small.rlim_max = old.rlim_max;
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &small), 0);
	check(&set, "a APPEND x {30+}\r\n0123456789a NOOP\r\n0123456789 ) {3+}\r\nabc\r\nb NOOP\r\n",
	      "ERR SERVER a Internal error while receiving a literal\n[b] NOOP\n");

	struct imap_parser *p = imap_parser_create(&set);
	const char *in = "a APPEND x {30+}\r\n0123456789abcdef";
	size_t used;
	assert_int_equal(imap_parser_feed(p, (const unsigned char *)in,
					  strlen(in), &used), -1);
	assert_non_null(imap_parser_system_error(p));
	imap_parser_destroy(&p);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
	signal(SIGXFSZ, old_handler);
}

/* The client disconnects in the middle of a literal: destroying the
 * parser frees and closes everything (ASan and the fd check see leaks). */
static void test_destroy_mid_command(void **state)
{
	(void)state;
	struct imap_parser_settings set = { .literal_memory_max = 4 };
	const char *inputs[] = {
		"a APPEND x {30+}\r\n0123",
		"a APPEND x {3+}\r\n012",
		"a APPEND x (a (b \"c",
		"a X ) {5+}\r\nab",
		"a APPEND x {30}\r\n",
	};
	int fd_before = dup(0);
	close(fd_before);

	for (size_t i = 0; i < N_ELEMENTS(inputs); i++) {
		struct imap_parser *p = imap_parser_create(&set);
		size_t used;
		(void)imap_parser_feed(p, (const unsigned char *)inputs[i],
				       strlen(inputs[i]), &used);
		imap_parser_destroy(&p);
		int fd = dup(0);
		assert_int_equal(fd, fd_before);
		close(fd);
	}
}

static void test_depth_limit(void **state)
{
	(void)state;
	struct imap_parser_settings set = { .max_depth = 3 };

	check(&set, "a X (((x))) (((y)))\r\n", "[a] X (((x))) (((y)))\n");
	check(&set, "a X ((((x))))\r\nb NOOP\r\n",
	      "ERR LIMIT a Too deeply nested lists\n[b] NOOP\n");

	/* the default */
	char buf[200];
	int n = IMAP_PARSER_DEFAULT_MAX_DEPTH;
	struct str in = STR_INIT;
	str_append(&in, "a X ");
	for (int i = 0; i < n; i++)
		str_append_c(&in, '(');
	for (int i = 0; i < n; i++)
		str_append_c(&in, ')');
	str_append(&in, "\r\n");
	snprintf(buf, sizeof(buf), "[a] %s", in.data + 2);
	buf[strlen(buf) - 2] = '\n';
	buf[strlen(buf) - 1] = '\0';
	check(NULL, in.data, buf);
	str_truncate(&in, 0);
	str_append(&in, "a X ");
	for (int i = 0; i <= n; i++)
		str_append_c(&in, '(');
	str_append(&in, "\r\n");
	check(NULL, in.data, "ERR LIMIT a Too deeply nested lists\n");
	str_free(&in);
}

static void test_args_limit(void **state)
{
	(void)state;
	struct imap_parser_settings set = { .max_args = 5 };

	check(&set, "a X 1 2 3 4 5\r\n", "[a] X 1 2 3 4 5\n");
	check(&set, "a X (1 2) 3 4\r\n", "[a] X (1 2) 3 4\n");
	check(&set, "a X 1 \"2\" {1+}\r\n3 ~{1+}\r\n4 ~5\r\n", "[a] X 1 \"2\" {1}3 ~{1}4 ~5\n");
	check(&set, "a X 1 2 3 4 5 6\r\nb NOOP\r\n",
	      "ERR LIMIT a Too many arguments\n[b] NOOP\n");
	check(&set, "a X (1 2) 3 4 ()\r\n", "ERR LIMIT a Too many arguments\n");
	check(&set, "a X 1 2 3 4 5 \"6\"\r\n", "ERR LIMIT a Too many arguments\n");
	check(&set, "a X 1 2 3 4 5 ~6\r\n", "ERR LIMIT a Too many arguments\n");
	/* the data of a literal refused for the count is skipped */
	check(&set, "a X 1 2 3 4 5 {6+}\r\nb NOOP\r\nc NOOP\r\n",
	      "ERR LIMIT a Too many arguments\n[c] NOOP\n");
	check(&set, "a X 1 2 3 4 5 ~{6+}\r\nb NOOP\r\nc NOOP\r\n",
	      "ERR LIMIT a Too many arguments\n[c] NOOP\n");
	/* the limit is per command */
	check(&set, "a X 1 2 3 4 5\r\nb X 1 2 3 4 5\r\n",
	      "[a] X 1 2 3 4 5\n[b] X 1 2 3 4 5\n");
}

static void test_line_limit(void **state)
{
	(void)state;
	struct imap_parser_settings set = { .max_line_length = 20 };

	/* 20 bytes of text (CRLF not counted) */
	check(&set, "a1 SELECT 0123456789\r\n", "[a1] SELECT 0123456789\n");
	check(&set, "a1 SELECT 01234567890\r\nb NOOP\r\n",
	      "ERR LINE_TOO_LONG a1 Command line too long\n[b] NOOP\n");
	check(&set, "a1 SELECT \"01234567\"\r\n", "[a1] SELECT \"01234567\"\n");
	check(&set, "a1 SELECT \"012345678\"\r\n",
	      "ERR LINE_TOO_LONG a1 Command line too long\n");
	/* too long before the tag ended: untagged */
	check(&set, "a12345678901234567890 NOOP\r\nb NOOP\r\n",
	      "ERR LINE_TOO_LONG * Command line too long\n[b] NOOP\n");
	/* literal data does not count, the text of all lines does */
	check(&set, "a1 X {30+}\r\n012345678901234567890123456789 abc\r\n",
	      "[a1] X {30}012345678901234567890123456789 abc\n");
	check(&set, "a1 X {3+}\r\n012 abcdefghij\r\n",
	      "[a1] X {3}012 abcdefghij\n");
	check(&set, "a1 X {3+}\r\n012 abcdefghijk\r\nb NOOP\r\n",
	      "ERR LINE_TOO_LONG a1 Command line too long\n[b] NOOP\n");
	/* an error in the middle of a literal announcement still skips
	 * the literal's data */
	check(&set, "a1 X 01234567890 {5+}\r\nb NOP\r\nc NOOP\r\n",
	      "ERR LINE_TOO_LONG a1 Command line too long\n[c] NOOP\n");
	/* empty lines do not count */
	check(&set, "\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\na1 SELECT 0123456789\r\n",
	      "[a1] SELECT 0123456789\n");

	/* a huge line is skipped, never stored */
	struct str in = STR_INIT;
	str_append(&in, "a1 X ");
	for (int i = 0; i < 100000; i++)
		str_append(&in, "abcdefghi ");
	str_append(&in, "\r\nb NOOP\r\n");
	char *got = transcript(&set, in.data, in.len, 0);
	assert_string_equal(got, "ERR LINE_TOO_LONG a1 Command line too long\n[b] NOOP\n");
	free(got);
	got = transcript(&set, in.data, in.len, 1000);
	assert_string_equal(got, "ERR LINE_TOO_LONG a1 Command line too long\n[b] NOOP\n");
	free(got);
	str_free(&in);
}

static void test_take_command_pool(void **state)
{
	(void)state;
	struct imap_parser *p = imap_parser_create(NULL);
	const char *in = "a1 FETCH 1 (FLAGS) {3+}\r\nabc\r\na2 NOOP\r\n";
	size_t used;

	assert_int_equal(imap_parser_feed(p, (const unsigned char *)in,
					  strlen(in), &used), 1);
	const struct imap_command *cmd = imap_parser_command(p);
	struct pool *pool = imap_parser_take_command_pool(p);
	assert_int_equal(imap_parser_feed(p, (const unsigned char *)in + used,
					  strlen(in) - used, &used), 1);
	assert_string_equal(imap_parser_command(p)->tag, "a2");
	/* the first command is still intact */
	assert_string_equal(cmd->tag, "a1");
	assert_string_equal(cmd->name, "FETCH");
	assert_string_equal(cmd->args[1].list[0].str, "FLAGS");
	assert_string_equal(cmd->args[2].str, "abc");
	pool_destroy(&pool);
	imap_parser_destroy(&p);
}

static void test_read_line(void **state)
{
	(void)state;
	struct imap_parser_settings set = { .max_line_length = 8 };
	struct imap_parser *p = imap_parser_create(&set);
	const char *line;
	size_t used;

	/* IDLE: the command stays valid while DONE is read */
	const char *in = "a1 IDLE\r\nDONE\r\na2 NOOP\r\n";
	assert_int_equal(imap_parser_feed(p, (const unsigned char *)in,
					  strlen(in), &used), 1);
	const struct imap_command *cmd = imap_parser_command(p);
	in += used;
	assert_int_equal(imap_parser_read_line(p, (const unsigned char *)in,
					       2, &used, &line), 0);
	assert_int_equal(used, 2);
	assert_null(line);
	in += used;
	assert_int_equal(imap_parser_read_line(p, (const unsigned char *)in,
					       strlen(in), &used, &line), 1);
	assert_int_equal(used, 4);
	assert_string_equal(line, "DONE");
	assert_string_equal(cmd->tag, "a1");
	in += used;
	assert_int_equal(imap_parser_feed(p, (const unsigned char *)in,
					  strlen(in), &used), 1);
	assert_string_equal(imap_parser_command(p)->tag, "a2");

	/* byte by byte, bare LF, CR inside, empty line, at the limit */
	in = "dGVzdA==\r\nx\ny\rz\r\n\r\n12345678\n";
	const char *expect[] = { "dGVzdA==", "x", "y\rz", "", "12345678" };
	size_t k = 0;
	for (const char *s = in; *s != '\0'; s++) {
		int ret = imap_parser_read_line(p, (const unsigned char *)s,
						1, &used, &line);
		assert_int_equal(used, 1);
		if (ret == 1) {
			assert_true(k < N_ELEMENTS(expect));
			assert_string_equal(line, expect[k++]);
		} else {
			assert_int_equal(ret, 0);
		}
	}
	assert_int_equal(k, N_ELEMENTS(expect));

	/* too long: -1, the rest of the line is skipped */
	in = "123456789abc\r\n*\r\n";
	enum imap_parser_error code;
	assert_int_equal(imap_parser_read_line(p, (const unsigned char *)in,
					       strlen(in), &used, &line), -1);
	assert_int_equal(used, 9);
	imap_parser_error(p, &code);
	assert_int_equal(code, IMAP_PARSER_ERROR_LINE_TOO_LONG);
	in += used;
	assert_int_equal(imap_parser_read_line(p, (const unsigned char *)in,
					       strlen(in), &used, &line), 1);
	assert_string_equal(line, "*");
	/* "12345678" + CR not followed by LF is 9 bytes */
	in = "12345678\rx\n";
	assert_int_equal(imap_parser_read_line(p, (const unsigned char *)in,
					       strlen(in), &used, &line), -1);
	/* NUL */
	static const char in_nul[] = "\nab\0c\r\nok\r\n";
	assert_int_equal(imap_parser_read_line(p, (const unsigned char *)in_nul,
					       sizeof(in_nul) - 1, &used,
					       &line), -1);
	assert_int_equal(used, 4);
	imap_parser_error(p, &code);
	assert_int_equal(code, IMAP_PARSER_ERROR_SYNTAX);
	assert_int_equal(imap_parser_read_line(p,
		(const unsigned char *)in_nul + used,
		sizeof(in_nul) - 1 - used, &used, &line), 1);
	assert_string_equal(line, "ok");
	/* a line skipped after a read_line error ends at its LF even if
	 * it looks like a literal announcement */
	in = "123456789 {5+}\r\nb NOOP\r\n";
	assert_int_equal(imap_parser_read_line(p, (const unsigned char *)in,
					       strlen(in), &used, &line), -1);
	in += used;
	assert_int_equal(imap_parser_feed(p, (const unsigned char *)in,
					  strlen(in), &used), 1);
	assert_string_equal(imap_parser_command(p)->tag, "b");
	imap_parser_destroy(&p);
}

/* A long conversation of good and bad commands: every split gives the same
 * transcript as feeding it whole. */
static void test_split_anywhere(void **state)
{
	(void)state;
	static const char conv[] =
		"a1 CAPABILITY\r\n"
		"\r\n"
		"a2 LOGIN {5}\r\nalice \"pass \\\"word\\\"\"\r\n"
		"a3 SELECT ) {4+}\r\nxxxx\r\n"
		"a4 APPEND INBOX (\\Seen) ~{12+}\r\nFrom: a\r\n\r\nx\r\n"
		"a5 UID FETCH 1:*,7 (UID BODY.PEEK[HEADER.FIELDS (Subject)]<0.50>)\r\n"
		"a6 SEARCH CHARSET UTF-8 (OR (FROM \"\xc3\xa4\") TO x)\n"
		"+bad\r\n"
		"a7 APPEND INBOX {40+}\r\n0123456789012345678901234567890123456789\r\n"
		"a8 NOOP (\r\n"
		"a9 LOGOUT\r\n";
	struct imap_parser_settings set = { .literal_memory_max = 32 };
	char *whole = transcript(&set, conv, sizeof(conv) - 1, 0);

	assert_string_equal(whole,
		"[a1] CAPABILITY\n"
		"+\n"
		"[a2] LOGIN {5}alice \"pass \"word\"\"\n"
		"ERR SYNTAX a3 Unexpected ')'\n"
		"[a4] APPEND INBOX (\\Seen) ~{12}From: a\r\n\r\nx\n"
		"[a5] UID FETCH 1:*,7 (UID BODY.PEEK[HEADER.FIELDS (Subject)]<0.50>)\n"
		"[a6] SEARCH CHARSET UTF-8 (OR (FROM \"\xc3\xa4\") TO x)\n"
		"ERR SYNTAX * Invalid tag\n"
		"[a7] APPEND INBOX F{40}0123456789012345678901234567890123456789\n"
		"ERR SYNTAX a8 Missing ')'\n"
		"[a9] LOGOUT\n");
	for (size_t chunk = 1; chunk < sizeof(conv); chunk++) {
		char *got = transcript(&set, conv, sizeof(conv) - 1, chunk);
		if (strcmp(got, whole) != 0) {
			print_error("chunk %zu:\n%s", chunk, got);
			fail();
		}
		free(got);
	}
	free(whole);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_simple),
		cmocka_unit_test(test_arg_types),
		cmocka_unit_test(test_arg_structure),
		cmocka_unit_test(test_atoms),
		cmocka_unit_test(test_tags),
		cmocka_unit_test(test_empty_lines),
		cmocka_unit_test(test_syntax_errors),
		cmocka_unit_test(test_error_recovery),
		cmocka_unit_test(test_pipelining),
		cmocka_unit_test(test_sync_literal_flow),
		cmocka_unit_test(test_literal_limits),
		cmocka_unit_test(test_literal_spool),
		cmocka_unit_test(test_literal_spool_write_error),
		cmocka_unit_test(test_destroy_mid_command),
		cmocka_unit_test(test_depth_limit),
		cmocka_unit_test(test_args_limit),
		cmocka_unit_test(test_line_limit),
		cmocka_unit_test(test_take_command_pool),
		cmocka_unit_test(test_read_line),
		cmocka_unit_test(test_split_anywhere),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
