/* test-sieve.c: the Sieve compiler and interpreter (src/sieve): parser
 * errors with their lines, the limits, every core test and action, the
 * match types and comparators, and the extensions, with the examples of
 * their RFCs.  Each case compiles a script, runs it over a message and
 * compares sieve_result_describe()'s text. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "base/str.h"
#include "sieve/sieve.h"
#include "testlib.h"

static const char msg_default[] =
	"Return-Path: <joe@example.com>\r\n"
	"From: \"Joe Q\" <Joe+Lists@Example.COM>\r\n"
	"To: me@example.org, \"Other\" <other@example.net>\r\n"
	"Cc: team@example.org\r\n"
	"Subject: =?utf-8?q?Caf=C3=A9?= news\r\n"
	"  continued\r\n"
	"X-Spam-Level: ******\r\n"
	"X-Count: 12\r\n"
	"Date: Mon, 7 Dec 2026 10:00:00 +0100\r\n"
	"\r\n"
	"Hello there.\r\n";

/* Compiles and runs `script` over `msg`; returns the description (the
 * caller frees it) or the compile errors prefixed with "COMPILE: ". */
static char *run_msg(const char *script, const char *msg, const struct sieve_env *env_in)
{
	struct sieve_limits limits;
	struct str errors = STR_INIT, out = STR_INIT;
	struct sieve_env env = { .ctx = NULL };

	if (env_in != NULL)
		env = *env_in;
	sieve_limits_default(&limits);
	struct sieve_script *s = sieve_compile("test", script, strlen(script), &limits, &errors);
	if (s == NULL) {
		str_append(&out, "COMPILE: ");
		str_append(&out, str_c(&errors));
		str_free(&errors);
		return str_steal(&out);
	}
	struct sieve_message m = {
		.data = msg,
		.size = strlen(msg),
		.envelope_from = "joe+lists@example.com",
		.envelope_to = "me+sieve@example.org",
	};
	struct sieve_result result;
	int ret = sieve_execute(s, &m, &env, &limits, &result);
	assert_int_equal(ret < 0, result.error != NULL);
	sieve_result_describe(&result, &out);
	sieve_result_free(&result);
	sieve_script_free(&s);
	assert_null(s);
	str_free(&errors);
	if (out.data == NULL)
		str_append(&out, "");
	return str_steal(&out);
}

static char *run(const char *script)
{
	return run_msg(script, msg_default, NULL);
}

#define assert_run(script, expected) do { \
		char *got_ = run(script); \
		assert_string_equal(got_, expected); \
		free(got_); \
	} while (0)

#define assert_error(script, expected) do { \
		char *got_ = run(script); \
		assert_string_equal(got_, "COMPILE: " expected "\n"); \
		free(got_); \
	} while (0)

/* ---- parser ---- */

static void test_parse_good(void **state)
{
	(void)state;
	assert_run("", "keep (implicit)\n");
	assert_run("# only a comment\n/* and\n a bracket comment */\n", "keep (implicit)\n");
	assert_run("keep;", "keep\n");
	assert_run("if true { discard; }", "discard\n");
	assert_run("if false { discard; } elsif true { keep; } else { discard; }", "keep\n");
	assert_run("if false { discard; } elsif false { keep; } else { stop; }", "keep (implicit)\n");
	assert_run("require [\"fileinto\"];\nfileinto text:\nJunk\n.\n;", "fileinto \"Junk\n\"\n");
	/* dot-stuffing: a line that starts with ".." loses one dot */
	assert_run("require \"reject\";\nreject text: # comment\r\n..a\r\nb\r\n.\r\n;",
		   "reject \".a\r\nb\r\n\"\n");
	/* escapes in quoted strings: \" and \\, other backslashes dropped */
	assert_run("require \"fileinto\"; fileinto \"a\\\"b\\\\c\\d\";", "fileinto \"a\\\"b\\\\cd\"\n");
	assert_run("if size :over 1K { discard; }", "keep (implicit)\n");
	assert_run("if size :under 1k { discard; }", "discard\n");
	assert_run("if allof(true, anyof(false, true), not false) { discard; }", "discard\n");
}

static void test_parse_errors(void **state)
{
	(void)state;
	assert_error("foo;", "line 1: unknown command 'foo'");
	assert_error("keep;\nfileinto \"x\";",
		     "line 2: unknown command 'fileinto' (the script does not require \"fileinto\")");
	assert_error("require \"nosuch\";", "line 1: require: unknown Sieve capability 'nosuch'");
	assert_error("keep;\nrequire \"fileinto\";",
		     "line 2: the require command must come before any other command");
	assert_error("keep", "line 1: expected ';' or '{' after the arguments of command 'keep', but found end of script");
	assert_error("if true {\nkeep;\n", "line 3: unexpected end of script (missing '}')");
	assert_error("\n\nkeep \"x;", "line 3: unterminated string");
	assert_error("/* open", "line 1: unterminated comment");
	assert_error("require \"reject\";\nreject text:\nabc\n", "line 2: unterminated multi-line string (missing '.' line)");
	assert_error("else { keep; }", "line 1: the else command must follow an if or elsif command");
	assert_error("if true keep;", "line 1: the if command needs a block");
	assert_error("if true;", "line 1: the if command needs a block");
	assert_error("keep { }", "line 1: the keep command takes no block");
	assert_error("if header :is \"a\" { }", "line 1: the header test needs 2 positional arguments, but 1 given");
	assert_error("if header :foo \"a\" \"b\" { }", "line 1: unknown tagged argument ':foo' for the header test");
	assert_error("if header :is :contains \"a\" \"b\" { }", "line 1: more than one match type for the header test");
	assert_error("if size 10 { }", "line 1: the size test needs exactly one of :over or :under");
	assert_error("if size :over :under 10 { }",
		     "line 1: tagged arguments ':over' and ':under' of the size test exclude each other");
	assert_error("if size :over \"10\" { }",
		     "line 1: the size test expects a number as argument 1, but found a string");
	assert_error("if header :comparator \"i;foo\" \"a\" \"b\" { }", "line 1: unknown comparator 'i;foo'");
	assert_error("if header :comparator \"i;ascii-numeric\" \"a\" \"b\" { }",
		     "line 1: comparator 'i;ascii-numeric' needs require \"comparator-i;ascii-numeric\"");
	assert_error("require \"comparator-i;ascii-numeric\";\nif header :contains :comparator \"i;ascii-numeric\" \"a\" \"b\" { }",
		     "line 2: the i;ascii-numeric comparator does not support substring matching (:contains)");
	assert_error("if keep { }", "line 1: 'keep' is a command, not a test");
	assert_error("if allof true { }", "line 1: the allof test needs a test list");
	assert_error("if not (true, false) { }", "line 1: the not test needs exactly one test");
	assert_error("redirect \"not an address\";", "line 1: redirect: invalid address 'not an address'");
	assert_error("if address \"subject\" \"x\" { }",
		     "line 1: the address test cannot be used with header 'subject': it does not hold addresses");
	assert_error("keep 12x;", "line 1: unexpected character 'x' after number");
	assert_error("if size :over 99999999999999999999 { }", "line 1: number is too large");
	assert_error("keep;\n\n@", "line 3: unexpected character '@'");
	assert_error("if header [\"a\" \"b\"] \"c\" { }",
		     "line 1: expected ',' or ']' in string list, but found string");
	assert_error("if anyof(true false) { }", "line 1: the true test takes no test");
}

static void test_parse_limits(void **state)
{
	struct sieve_limits limits;
	struct str errors = STR_INIT, text = STR_INIT;

	(void)state;
	sieve_limits_default(&limits);
	/* 100,000 nested blocks: an error, not a stack overflow */
	for (int i = 0; i < 100000; i++)
		str_append(&text, "if true {");
	struct sieve_script *s = sieve_compile("deep", text.data, text.len, &limits, &errors);
	assert_null(s);
	assert_string_equal(str_c(&errors), "line 1: nesting too deep (limit 32)\n");
	/* nested tests count too */
	str_truncate(&text, 0);
	str_truncate(&errors, 0);
	str_append(&text, "if ");
	for (int i = 0; i < 100000; i++)
		str_append(&text, "not ");
	str_append(&text, "true { }");
	s = sieve_compile("deep", text.data, text.len, &limits, &errors);
	assert_null(s);
	assert_string_equal(str_c(&errors), "line 1: nesting too deep (limit 32)\n");
	/* exactly at the limit */
	str_truncate(&text, 0);
	str_truncate(&errors, 0);
	for (unsigned int i = 0; i < limits.max_nesting; i++)
		str_append(&text, "if true {");
	for (unsigned int i = 0; i < limits.max_nesting; i++)
		str_append(&text, "}");
	s = sieve_compile("deep", text.data, text.len, &limits, &errors);
	assert_non_null(s);
	sieve_script_free(&s);
	/* script size: at the limit and one past */
	limits.max_script_size = 5;
	s = sieve_compile("size", "keep;", 5, &limits, &errors);
	assert_non_null(s);
	sieve_script_free(&s);
	s = sieve_compile("size", "keep; ", 6, &limits, &errors);
	assert_null(s);
	assert_string_equal(str_c(&errors), "line 1: script is too large (6 bytes, limit 5)\n");
	/* a NUL byte */
	str_truncate(&errors, 0);
	sieve_limits_default(&limits);
	s = sieve_compile("nul", "keep;\n\0", 7, &limits, &errors);
	assert_null(s);
	assert_string_equal(str_c(&errors), "line 2: NUL character in script\n");
	str_free(&errors);
	str_free(&text);
}

/* ---- core tests and actions ---- */

static void test_header(void **state)
{
	(void)state;
	/* RFC 5228 2.7.2: decoded and unfolded */
	assert_run("if header :is \"subject\" \"Café news  continued\" { discard; }", "discard\n");
	assert_run("if header :contains \"Subject\" \"CAFÉ\" { discard; }", "keep (implicit)\n");
	assert_run("if header :contains \"Subject\" \"NEWS\" { discard; }", "discard\n");
	assert_run("if header :contains :comparator \"i;octet\" \"Subject\" \"NEWS\" { discard; }",
		   "keep (implicit)\n");
	assert_run("if header :matches \"x-spam-level\" \"\\\\*\\\\*\\\\*\\\\*\\\\*\" { discard; }",
		   "keep (implicit)\n");
	assert_run("if header :matches \"x-spam-level\" \"*****?\" { discard; }", "discard\n");
	assert_run("if header :matches \"x-spam-level\" \"\\\\*\\\\*\\\\*\\\\**\" { discard; }", "discard\n");
	assert_run("if header :matches \"subject\" \"Caf? *\" { discard; }", "discard\n");
	assert_run("if header :is [\"x-none\", \"to\"] \"me@example.org, \\\"Other\\\" <other@example.net>\" { discard; }",
		   "discard\n");
	assert_run("if exists [\"from\", \"x-count\"] { discard; }", "discard\n");
	assert_run("if exists [\"from\", \"x-nope\"] { discard; }", "keep (implicit)\n");
	assert_run("if not header :contains \"x-nope\" \"\" { discard; }", "discard\n");
}

static void test_address(void **state)
{
	(void)state;
	assert_run("if address :is \"from\" \"joe+lists@example.com\" { discard; }", "discard\n");
	assert_run("if address :localpart \"from\" \"joe+lists\" { discard; }", "discard\n");
	assert_run("if address :domain :is \"from\" \"EXAMPLE.com\" { discard; }", "discard\n");
	assert_run("if address :domain :is :comparator \"i;octet\" \"from\" \"example.com\" { discard; }",
		   "keep (implicit)\n");
	assert_run("if address :all :is [\"to\", \"cc\"] \"team@example.org\" { discard; }", "discard\n");
	assert_run("if address :domain :matches \"to\" \"*.net\" { discard; }", "discard\n");
	/* envelope (RFC 5228 5.4) */
	assert_error("if envelope \"to\" \"x\" { }",
		     "line 1: unknown test 'envelope' (the script does not require \"envelope\")");
	assert_error("require \"envelope\"; if envelope \"bcc\" \"x\" { }",
		     "line 1: envelope: unknown envelope part 'bcc'");
	assert_run("require \"envelope\"; if envelope :localpart \"to\" \"me+sieve\" { discard; }", "discard\n");
	assert_run("require \"envelope\"; if envelope :domain \"from\" \"example.com\" { discard; }", "discard\n");
}

static void test_null_sender(void **state)
{
	struct sieve_limits limits;
	struct str errors = STR_INIT, out = STR_INIT;
	const char *script = "require \"envelope\";\n"
		"if envelope :all :is \"from\" \"\" { discard; }";

	(void)state;
	sieve_limits_default(&limits);
	struct sieve_script *s = sieve_compile("t", script, strlen(script), &limits, &errors);
	assert_non_null(s);
	struct sieve_message m = { .data = msg_default, .size = strlen(msg_default),
				   .envelope_from = "" };
	struct sieve_env env = { .ctx = NULL };
	struct sieve_result r;
	assert_int_equal(sieve_execute(s, &m, &env, &limits, &r), 0);
	sieve_result_describe(&r, &out);
	assert_string_equal(str_c(&out), "discard\n");
	sieve_result_free(&r);
	sieve_script_free(&s);
	str_free(&out);
	str_free(&errors);
}

static void test_comparators(void **state)
{
	(void)state;
	/* RFC 4790 9.1: i;ascii-numeric compares leading digits; strings
	 * without them are positive infinity */
	assert_run("require \"comparator-i;ascii-numeric\";\n"
		   "if header :is :comparator \"i;ascii-numeric\" \"x-count\" \"012\" { discard; }",
		   "discard\n");
	assert_run("require [\"relational\", \"comparator-i;ascii-numeric\"];\n"
		   "if header :value \"gt\" :comparator \"i;ascii-numeric\" \"x-count\" \"9\" { discard; }",
		   "discard\n");
	assert_run("require [\"relational\", \"comparator-i;ascii-numeric\"];\n"
		   "if header :value \"lt\" :comparator \"i;ascii-numeric\" \"subject\" \"99999\" { discard; }",
		   "keep (implicit)\n");
	assert_run("require [\"relational\", \"comparator-i;ascii-numeric\"];\n"
		   "if header :value \"eq\" :comparator \"i;ascii-numeric\" \"subject\" \"abc\" { discard; }",
		   "discard\n");
	/* i;ascii-casemap :value is a string comparison */
	assert_run("require \"relational\";\n"
		   "if header :value \"gt\" \"x-count\" \"9\" { discard; }", "keep (implicit)\n");
}

static void test_actions(void **state)
{
	(void)state;
	/* RFC 5228 2.10.3: duplicates collapse */
	assert_run("require \"fileinto\"; fileinto \"A\"; fileinto \"A\"; keep; keep;",
		   "fileinto \"A\"\nkeep\n");
	assert_run("require \"fileinto\"; fileinto \"INBOX\"; keep;", "fileinto \"INBOX\"\n");
	assert_run("redirect \"a@example.com\"; redirect \"<a@example.com>\";",
		   "redirect \"a@example.com\"\n");
	/* discard cancels only implicit keep */
	assert_run("discard; keep;", "discard\nkeep\n");
	/* copy (RFC 3894) does not cancel implicit keep */
	assert_run("require [\"copy\", \"fileinto\"]; fileinto :copy \"A\"; redirect :copy \"b@example.com\";",
		   "fileinto \"A\"\nredirect \"b@example.com\"\nkeep (implicit)\n");
	assert_error("require \"fileinto\"; fileinto :copy \"A\";",
		     "line 1: unknown tagged argument ':copy' for the fileinto command");
	/* stop ends the script; implicit keep still applies */
	assert_run("stop; discard;", "keep (implicit)\n");
	/* reject (RFC 5429) */
	assert_run("require \"reject\"; reject \"no\";", "reject \"no\"\n");
	assert_run("require \"ereject\"; ereject \"no\";", "ereject \"no\"\n");
	assert_run("require [\"reject\", \"fileinto\"]; fileinto \"A\"; reject \"no\";",
		   "error: line 1: the reject action conflicts with the fileinto action\nkeep (implicit)\n");
}

static void test_limits_run(void **state)
{
	(void)state;
	/* RFC 5228 2.10.6: after a run-time error only implicit keep */
	assert_run("redirect \"a@x.org\"; redirect \"b@x.org\"; redirect \"c@x.org\";"
		   "redirect \"d@x.org\"; redirect \"e@x.org\";",
		   "error: line 1: too many redirect actions (limit 4)\nkeep (implicit)\n");
	struct str s = STR_INIT;
	str_append(&s, "require \"fileinto\";\n");
	for (int i = 0; i < 33; i++)
		str_printfa(&s, "fileinto \"f%d\";\n", i);
	char *got = run(str_c(&s));
	assert_string_equal(got, "error: line 34: too many actions (limit 32)\nkeep (implicit)\n");
	free(got);
	str_free(&s);
}

static void test_matches(void **state)
{
	(void)state;
	/* RFC 5229 3.2's example: the first wildcard matches as little as
	 * possible */
	const char *msg = "Subject: [acme-users] [fwd] version 1.0 is out\r\n"
		"List-ID: Dovecot Mailing List <dovecot@dovecot.org>\r\n\r\n";
	char *got = run_msg("require [\"variables\", \"fileinto\"];\n"
			    "if header :matches \"Subject\" \"[*] *\" { fileinto \"${1}|${2}\"; }",
			    msg, NULL);
	assert_string_equal(got, "fileinto \"acme-users|[fwd] version 1.0 is out\"\n");
	free(got);
	got = run_msg("require [\"variables\", \"fileinto\"];\n"
		      "if header :matches \"List-ID\" \"*<*@*\" { fileinto \"INBOX.lists.${2}\"; stop; }",
		      msg, NULL);
	assert_string_equal(got, "fileinto \"INBOX.lists.dovecot\"\n");
	free(got);
	assert_run("require [\"variables\", \"fileinto\"];\n"
		   "if header :matches \"x-count\" \"?*\" { fileinto \"${0}-${1}-${2}-${3}\"; }",
		   "fileinto \"12-1-2-\"\n");
}

static void test_variables(void **state)
{
	(void)state;
	/* RFC 5229 4.1's examples */
	assert_run("require [\"variables\", \"fileinto\"];\n"
		   "set \"a\" \"juMBlEd lETteRS\";\n"
		   "set :length \"b\" \"${a}\";\n"
		   "set :lower \"c\" \"${a}\";\n"
		   "set :upper \"d\" \"${a}\";\n"
		   "set :lowerfirst \"e\" \"${a}\";\n"
		   "set :upperfirst \"f\" \"${a}\";\n"
		   "set :upperfirst :lower \"g\" \"${a}\";\n"
		   "set :quotewildcard \"h\" \"a*b?c\\\\d\";\n"
		   "fileinto \"${b}|${c}|${d}|${e}|${f}|${g}|${h}\";",
		   "fileinto \"15|jumbled letters|JUMBLED LETTERS|juMBlEd lETteRS|JuMBlEd lETteRS|Jumbled letters|a\\\\*b\\\\?c\\\\\\\\d\"\n");
	/* unknown variables are empty; invalid references stay */
	assert_run("require [\"variables\", \"fileinto\"]; fileinto \"[${none}][${bad-name}][${]\";",
		   "fileinto \"[][${bad-name}][${]\"\n");
	/* without require "variables", "${" is literal */
	assert_run("require \"fileinto\"; fileinto \"${x}\";", "fileinto \"${x}\"\n");
	/* the string test */
	assert_run("require [\"variables\", \"relational\"]; set \"e\" \"\";\n"
		   "if string :count \"eq\" [\"${e}\", \"a\", \"b\"] \"2\" { discard; }", "discard\n");
	assert_run("require \"variables\"; set \"x\" \"Hello\";\n"
		   "if string :is \"${x}\" \"hello\" { discard; }", "discard\n");
	assert_error("require \"variables\"; set \"1a\" \"x\";", "line 1: set: invalid variable name '1a'");
}

static void test_encoded_character(void **state)
{
	(void)state;
	/* RFC 5228 2.4.2.4's example */
	assert_run("require [\"encoded-character\", \"fileinto\"];\n"
		   "fileinto \"$${hex:24 24}{unicode:24}\";", "fileinto \"$$${unicode:24}\"\n");
	assert_run("require [\"encoded-character\", \"fileinto\"];\n"
		   "fileinto \"${unicode:E9}${hex:zz}\";", "fileinto \"é${hex:zz}\"\n");
	assert_error("require [\"encoded-character\", \"fileinto\"];\nfileinto \"${unicode:D800}\";",
		     "line 2: invalid unicode character 0xd800 in encoded-character");
}

static void test_imap4flags(void **state)
{
	(void)state;
	/* RFC 5232 section 6's example, shortened */
	assert_run("require [\"imap4flags\", \"fileinto\"];\n"
		   "setflag \"\\\\Seen foo\";\naddflag [\"bar\", \"FOO\"];\nremoveflag \"\\\\seen\";\n"
		   "if hasflag :is \"Bar\" { fileinto \"A\"; }\n"
		   "fileinto :flags \"\\\\Answered\" \"B\";",
		   "fileinto \"A\" :flags foo bar\nfileinto \"B\" :flags \\Answered\n");
	/* implicit keep takes the internal variable */
	assert_run("require \"imap4flags\"; addflag \"\\\\Flagged\";", "keep (implicit) :flags \\Flagged\n");
	assert_run("require [\"imap4flags\", \"variables\"];\n"
		   "setflag \"v\" \"a b\"; addflag \"v\" \"c\";\n"
		   "if hasflag :contains \"v\" \"c\" { discard; }", "discard\n");
	assert_error("require \"imap4flags\"; setflag \"v\" \"a\";",
		     "line 1: setflag: a variable name needs require \"variables\"");
	assert_run("require [\"imap4flags\", \"relational\"]; setflag [\"a b\", \"c\"];\n"
		   "if hasflag :count \"eq\" \"3\" { discard; }", "discard\n");
}

static void test_subaddress(void **state)
{
	(void)state;
	/* RFC 5233 4 */
	assert_run("require \"subaddress\"; if address :user \"from\" \"joe\" { discard; }", "discard\n");
	assert_run("require \"subaddress\"; if address :detail \"from\" \"LISTS\" { discard; }", "discard\n");
	assert_run("require \"subaddress\"; if address :detail \"to\" \"\" { discard; }", "keep (implicit)\n");
	assert_run("require [\"subaddress\", \"envelope\"]; if envelope :detail \"to\" \"sieve\" { discard; }",
		   "discard\n");
	struct sieve_env env = { .subaddress_delimiter = "-" };
	char *got = run_msg("require \"subaddress\"; if address :user \"cc\" \"team@example.org\" { discard; }"
			    "if address :user \"to\" \"other\" { keep; }", msg_default, &env);
	assert_string_equal(got, "keep\n");
	free(got);
}

static void test_relational(void **state)
{
	(void)state;
	/* RFC 5231 6's examples */
	const char *msg = "Received: ...\r\nReceived: ...\r\nSubject: example\r\n"
		"To: foo@example.com, baz@example.com\r\nCC: qux@example.com\r\n\r\n";
	char *got = run_msg("require [\"relational\", \"comparator-i;ascii-numeric\"];\n"
			    "if address :count \"ge\" :comparator \"i;ascii-numeric\" [\"to\", \"cc\"] [\"3\"] { discard; }",
			    msg, NULL);
	assert_string_equal(got, "discard\n");
	free(got);
	got = run_msg("require [\"relational\", \"comparator-i;ascii-numeric\"];\n"
		      "if header :count \"ge\" :comparator \"i;ascii-numeric\" [\"received\"] [\"3\"] { discard; }",
		      msg, NULL);
	assert_string_equal(got, "keep (implicit)\n");
	free(got);
	got = run_msg("require \"relational\";\n"
		      "if header :value \"gt\" :comparator \"i;ascii-casemap\" [\"subject\"] [\"M\"] { discard; }",
		      msg, NULL);
	assert_string_equal(got, "keep (implicit)\n");
	free(got);
	got = run_msg("require \"relational\";\n"
		      "if address :value \"gt\" :all :comparator \"i;ascii-casemap\" [\"from\"] [\"M\"] { discard; }",
		      msg, NULL);
	assert_string_equal(got, "keep (implicit)\n");
	free(got);
	assert_error("require \"relational\"; if header :count \"xx\" \"a\" \"1\" { }",
		     "line 1: invalid relation 'xx' for ':count' (expected gt, ge, lt, le, eq or ne)");
}

static void test_sequence(void **state)
{
	struct sieve_limits limits;
	struct str errors = STR_INIT, out = STR_INIT;

	(void)state;
	sieve_limits_default(&limits);
	struct sieve_script *a = sieve_compile("a", "stop; discard;", 14, &limits, &errors);
	struct sieve_script *b = sieve_compile("b", "require \"fileinto\"; fileinto \"X\";", 33, &limits, &errors);
	assert_non_null(a);
	assert_non_null(b);
	const struct sieve_script *const scripts[] = { a, b };
	struct sieve_message m = { .data = msg_default, .size = strlen(msg_default) };
	struct sieve_env env = { .ctx = NULL };
	struct sieve_result r;
	/* stop ends only the first script */
	assert_int_equal(sieve_execute_sequence(scripts, 2, &m, &env, &limits, &r), 0);
	sieve_result_describe(&r, &out);
	assert_string_equal(str_c(&out), "fileinto \"X\"\n");
	sieve_result_free(&r);
	sieve_script_free(&a);
	sieve_script_free(&b);
	str_free(&out);
	str_free(&errors);
}

static void test_extensions_list(void **state)
{
	(void)state;
	const char *caps = sieve_extensions();
	assert_non_null(strstr(caps, "fileinto"));
	assert_non_null(strstr(caps, "imap4flags"));
	assert_null(strstr(caps, "regex"));
	assert_null(strstr(caps, "comparator-i;octet"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_good),
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_parse_limits),
		cmocka_unit_test(test_header),
		cmocka_unit_test(test_address),
		cmocka_unit_test(test_null_sender),
		cmocka_unit_test(test_comparators),
		cmocka_unit_test(test_actions),
		cmocka_unit_test(test_limits_run),
		cmocka_unit_test(test_matches),
		cmocka_unit_test(test_variables),
		cmocka_unit_test(test_encoded_character),
		cmocka_unit_test(test_imap4flags),
		cmocka_unit_test(test_subaddress),
		cmocka_unit_test(test_relational),
		cmocka_unit_test(test_sequence),
		cmocka_unit_test(test_extensions_list),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
