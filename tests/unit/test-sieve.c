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
	assert_run("require [\"fileinto\"];\nfileinto text:\nJunk\n.\n;", "fileinto \"Junk\\n\"\n");
	/* dot-stuffing: a line that starts with ".." loses one dot */
	assert_run("require \"reject\";\nreject text: # comment\r\n..a\r\nb\r\n.\r\n;",
		   "reject \".a\\r\\nb\\r\\n\"\n");
	/* escapes in quoted strings: \" and \\, other backslashes dropped */
	assert_run("require \"fileinto\"; fileinto \"a\\\"b\\\\c\\d\";", "fileinto \"a\\\"b\\\\cd\"\n");
	assert_run("if size :over 1K { discard; }", "keep (implicit)\n");
	assert_run("if size :under 1k { discard; }", "discard\n");
	assert_run("if allof(true, anyof(false, true), not false) { discard; }", "discard\n");
}

/* RFC 5228 9: the extended example (note ":DOMAIN" and "NOT": identifiers
 * and tags are case-insensitive) */
static const char rfc5228_example[] =
	"#\n# Example Sieve Filter\n# Declare any optional features or extension used by the script\n#\n"
	"require [\"fileinto\"];\n"
	"if header :is \"Sender\" \"owner-ietf-mta-filters@imc.org\"\n"
	"        {\n        fileinto \"filter\";  # move to \"filter\" mailbox\n        }\n"
	"elsif address :DOMAIN :is [\"From\", \"To\"] \"example.com\"\n"
	"        {\n        keep;               # keep in \"In\" mailbox\n        }\n"
	"elsif anyof (NOT address :all :contains\n"
	"               [\"To\", \"Cc\", \"Bcc\"] \"me@example.com\",\n"
	"             header :matches \"subject\"\n"
	"               [\"*make*money*fast*\", \"*university*dipl*mas*\"])\n"
	"        {\n        fileinto \"spam\";   # move to \"spam\" mailbox\n        }\n"
	"else\n        {\n        fileinto \"personal\";\n        }\n";

static void test_rfc5228_example(void **state)
{
	(void)state;
	char *got = run_msg(rfc5228_example, "Sender: owner-ietf-mta-filters@imc.org\r\n\r\n", NULL);
	assert_string_equal(got, "fileinto \"filter\"\n");
	free(got);
	got = run_msg(rfc5228_example, "From: a@EXAMPLE.com\r\n\r\n", NULL);
	assert_string_equal(got, "keep\n");
	free(got);
	got = run_msg(rfc5228_example, "To: x@example.net\r\nCc: me@example.com\r\n"
		      "Subject: Make lots of money fast\r\n\r\n", NULL);
	assert_string_equal(got, "fileinto \"spam\"\n");
	free(got);
	got = run_msg(rfc5228_example, "To: someone@example.net\r\nSubject: hi\r\n\r\n", NULL);
	assert_string_equal(got, "fileinto \"spam\"\n");
	free(got);
	got = run_msg(rfc5228_example, "To: x@example.net\r\nCc: me@example.com\r\nSubject: hi\r\n\r\n", NULL);
	assert_string_equal(got, "fileinto \"personal\"\n");
	free(got);
}

static void test_parse_errors(void **state)
{
	(void)state;
	assert_error("foo;", "line 1: unknown command 'foo'");
	assert_error("keep;\nfileinto \"x\";",
		     "line 2: unknown command 'fileinto' (the script does not require \"fileinto\")");
	assert_error("require \"nosuch\";", "line 1: require command: unknown Sieve capability 'nosuch'");
	assert_error("keep;\nrequire \"fileinto\";",
		     "line 2: require commands can only be placed at top level at the beginning of the file");
	assert_error("keep", "line 1: expected end of command ';' or the beginning of a compound block '{', but found end of file");
	assert_error("if true {\nkeep;\n", "line 3: expected end of compound block '}', but found end of file");
	assert_error("\n\nkeep \"x;", "line 3: end of file before end of quoted string started at line 3");
	assert_error("/* open", "line 1: end of file before end of bracket comment ('/* ... */') started at line 1");
	assert_error("require \"reject\";\nreject text:\nabc\n", "line 4: end of file before end of multi-line string started at line 2");
	assert_error("else { keep; }", "line 1: the else command must follow an if or elsif command");
	assert_error("if true keep;", "line 1: the if command requires a command block, but it is missing");
	assert_error("if true;", "line 1: the if command requires a command block, but it is missing");
	assert_error("keep { }", "line 1: the keep command does not take a command block");
	assert_error("if header :is \"a\" { }", "line 1: the header test requires 2 positional argument(s), but 1 is/are specified");
	assert_error("if header :foo \"a\" \"b\" { }", "line 1: unknown tagged argument ':foo' for the header test");
	assert_error("if header :is :contains \"a\" \"b\" { }", "line 1: more than one match type for the header test");
	assert_error("if size 10 { }", "line 1: the size test requires either the :under or the :over tag to be specified");
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
	assert_error("if allof true { }", "line 1: the allof test requires a list of sub-tests, but a single test is specified");
	assert_error("if not (true, false) { }", "line 1: the not test requires one sub-test, but a list of tests is specified");
	assert_error("redirect \"not an address\";", "line 1: specified redirect address 'not an address' is invalid");
	assert_error("if address \"subject\" \"x\" { }",
		     "line 1: specified header 'subject' is not allowed for the address test");
	assert_error("if header :is \"sub ject\" \"x\" { }", "line 1: header: invalid header name 'sub ject'");
	assert_error("if exists [\"a\", \"\"] { }", "line 1: exists: invalid header name ''");
	assert_error("keep 12x;", "line 1: unexpected character 'x' after number");
	assert_error("if size :over 99999999999999999999 { }", "line 1: number is too large");
	assert_error("keep;\n\n@", "line 3: unexpected character '@'");
	assert_error("if header [\"a\" \"b\"] \"c\" { }",
		     "line 1: expected ',' or ']' in string list, but found string");
	assert_error("if anyof(true false) { }", "line 1: the true test does not take a test");
}

static void test_several_errors(void **state)
{
	(void)state;
	/* validation goes on after an error (a parse error stops) */
	char *got = run("foo;\nkeep;\nif header :is \"a\" { bar; }\nkeep;\nelse { }\n");
	assert_string_equal(got, "COMPILE: line 1: unknown command 'foo'\n"
			    "line 3: the header test requires 2 positional argument(s), but 1 is/are specified\n"
			    "line 5: the else command must follow an if or elsif command\n");
	free(got);
	struct str s = STR_INIT;
	for (int i = 1; i <= 12; i++)
		str_printfa(&s, "x%d;\n", i);
	got = run(str_c(&s));
	str_free(&s);
	str_append(&s, "COMPILE: ");
	for (int i = 1; i <= 10; i++)
		str_printfa(&s, "line %d: unknown command 'x%d'\n", i, i);
	str_append(&s, "line 11: more errors; only the first 10 are listed\n");
	assert_string_equal(got, str_c(&s));
	free(got);
	str_free(&s);
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

static void test_cpu_limit(void **state)
{
	struct sieve_limits limits;
	struct str errors = STR_INIT, script = STR_INIT, msg = STR_INIT, out = STR_INIT;

	(void)state;
	sieve_limits_default(&limits);
	limits.max_cpu_ms = 50;
	/* :matches "*aaa...ab" over a long run of "a": O(value x key) */
	str_append(&script, "require \"body\";\nif body :raw :matches \"*");
	for (int i = 0; i < 20000; i++)
		str_append_c(&script, 'a');
	str_append(&script, "b\" { discard; }");
	str_append(&msg, "Subject: x\r\n\r\n");
	for (int i = 0; i < 1000000; i++)
		str_append_c(&msg, 'a');
	struct sieve_script *s = sieve_compile("cpu", script.data, script.len, &limits, &errors);
	assert_non_null(s);
	struct sieve_message m = { .data = msg.data, .size = msg.len };
	struct sieve_env env = { .ctx = NULL };
	struct sieve_result r;
	assert_int_equal(sieve_execute(s, &m, &env, &limits, &r), -1);
	sieve_result_describe(&r, &out);
	assert_string_equal(str_c(&out), "error: line 2: the script used more than 50 ms of CPU time\n"
			    "keep (implicit)\n");
	sieve_result_free(&r);
	/* the same with :contains */
	str_truncate(&script, 0);
	str_truncate(&out, 0);
	sieve_script_free(&s);
	str_append(&script, "require \"body\";\nif body :raw :contains [");
	for (int k = 0; k < 200; k++) {
		str_append(&script, k == 0 ? "\"" : ", \"");
		for (int i = 0; i < 5000; i++)
			str_append_c(&script, 'a');
		str_printfa(&script, "%d\"", k);
	}
	str_append(&script, "] { discard; }");
	s = sieve_compile("cpu", script.data, script.len, &limits, &errors);
	assert_non_null(s);
	assert_int_equal(sieve_execute(s, &m, &env, &limits, &r), -1);
	sieve_result_describe(&r, &out);
	assert_string_equal(str_c(&out), "error: line 2: the script used more than 50 ms of CPU time\n"
			    "keep (implicit)\n");
	sieve_result_free(&r);
	sieve_script_free(&s);
	str_free(&errors);
	str_free(&script);
	str_free(&msg);
	str_free(&out);
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
	/* a failed :matches leaves the match variables as they were */
	assert_run("require [\"variables\", \"fileinto\"];\n"
		   "if header :matches \"x-count\" \"1*\" { }\n"
		   "if header :matches \"x-count\" \"9*\" { }\n"
		   "fileinto \"${1}\";", "fileinto \"2\"\n");
	/* a variable's value is not a wildcard pattern unless it is one */
	assert_run("require [\"variables\", \"fileinto\"]; set \"p\" \"1?\";\n"
		   "if string :matches \"12\" \"${p}\" { fileinto \"pattern\"; }\n"
		   "set :quotewildcard \"q\" \"1?\";\n"
		   "if string :matches \"12\" \"${q}\" { fileinto \"never\"; }",
		   "fileinto \"pattern\"\n");
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
	/* in tag parameters too */
	assert_run("require [\"encoded-character\", \"fileinto\", \"imap4flags\"];\n"
		   "fileinto :flags \"${hex:5c}Seen\" \"A\";", "fileinto \"A\" :flags \\Seen\n");
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
	/* RFC 5232 3: filing twice into one mailbox, the last flags win */
	assert_run("require [\"imap4flags\", \"fileinto\"];\n"
		   "fileinto :flags \"a\" \"X\"; fileinto :flags \"b\" \"X\";", "fileinto \"X\" :flags b\n");
	/* implicit keep takes the internal variable */
	assert_run("require \"imap4flags\"; addflag \"\\\\Flagged\";", "keep (implicit) :flags \\Flagged\n");
	assert_run("require [\"imap4flags\", \"variables\"];\n"
		   "setflag \"v\" \"a b\"; addflag \"v\" \"c\";\n"
		   "if hasflag :contains \"v\" \"c\" { discard; }", "discard\n");
	/* RFC 5232 9's example (its first two rules: the rest has an
	 * "anyof" without parentheses and a "remove" command, both errors) */
	const char *rfc5232 = "require [\"fileinto\", \"imap4flags\", \"variables\"];\n"
		"if size :over 1M {\n"
		"  addflag \"MyFlags\" \"Big\";\n"
		"  if header :is \"From\" \"boss@company.example.com\" { addflag \"MyFlags\" \"\\\\Flagged\"; }\n"
		"  fileinto :flags \"${MyFlags}\" \"Big messages\";\n"
		"}\n"
		"if header :is \"From\" \"grandma@example.net\" {\n"
		"  addflag \"MyFlags\" [\"\\\\Answered\", \"$MDNSent\"];\n"
		"  fileinto :flags \"${MyFlags}\" \"GrandMa\";\n"
		"}\n";
	char *got = run_msg(rfc5232, "From: grandma@example.net\r\n\r\nhi\r\n", NULL);
	assert_string_equal(got, "fileinto \"GrandMa\" :flags \\Answered $MDNSent\n");
	free(got);
	struct str big = STR_INIT;
	str_append(&big, "From: boss@company.example.com\r\n\r\n");
	str_append_space(&big, 1024 * 1024);
	memset(big.data + big.len - 1024 * 1024, 'x', 1024 * 1024);
	got = run_msg(rfc5232, big.data, NULL);
	assert_string_equal(got, "fileinto \"Big messages\" :flags Big \\Flagged\n");
	free(got);
	str_free(&big);
	assert_error("require [\"imap4flags\", \"variables\"];\nremove \"MyFlags\" \"\\\\Flagged\";",
		     "line 2: unknown command 'remove'");
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
	/* a run-time error in any script: only implicit keep, no marks */
	const char *fail_text = "require \"ihave\"; error \"x\";";
	struct sieve_script *c = sieve_compile("c", fail_text, strlen(fail_text), &limits, &errors);
	assert_non_null(c);
	const struct sieve_script *const failing[] = { b, c };
	assert_int_equal(sieve_execute_sequence(failing, 2, &m, &env, &limits, &r), -1);
	sieve_result_describe(&r, &out);
	assert_string_equal(str_c(&out), "error: line 1: x\nkeep (implicit)\n");
	assert_int_equal(r.action_count, 1);
	assert_true(r.actions[0].implicit);
	sieve_result_free(&r);
	sieve_script_free(&c);
	str_truncate(&out, 0);
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


/* ---- the world's callbacks for the extensions that ask ---- */

static int fake_mailbox_exists(void *ctx, const char *name)
{
	(void)ctx;
	return strcmp(name, "INBOX") == 0 || strcmp(name, "Junk") == 0;
}

static int fake_mailbox_id_exists(void *ctx, const char *id)
{
	(void)ctx;
	return strcmp(id, "F123") == 0;
}

static int fake_special_use(void *ctx, const char *use, struct pool *pool, const char **name_r)
{
	(void)ctx;
	(void)pool;
	if (strcmp(use, "\\Junk") != 0)
		return 0;
	if (name_r != NULL)
		*name_r = "Junk";
	return 1;
}

static const char *fake_environment(void *ctx, const char *item)
{
	(void)ctx;
	if (strcmp(item, "domain") == 0)
		return "example.org";
	if (strcmp(item, "phase") == 0)
		return "during";
	return NULL;
}

static int fake_include(void *ctx, enum sieve_location where, const char *name, struct str *text_r)
{
	(void)ctx;
	if (where == SIEVE_GLOBAL && strcmp(name, "spam") == 0) {
		str_append(text_r, "require \"fileinto\";\nif header :contains \"subject\" \"news\" { fileinto \"Spam\"; }");
		return 1;
	}
	if (strcmp(name, "self") == 0) {
		str_append(text_r, "require \"include\"; include \"self\";");
		return 1;
	}
	if (strcmp(name, "ping") == 0 || strcmp(name, "pong") == 0) {
		/* a cycle of two scripts */
		str_append(text_r, strcmp(name, "ping") == 0 ?
			   "require \"include\"; include \"pong\";" :
			   "require \"include\"; include \"ping\";");
		return 1;
	}
	if (strcmp(name, "stopper") == 0) {
		str_append(text_r, "stop;");
		return 1;
	}
	if (strcmp(name, "returner") == 0) {
		str_append(text_r, "require \"include\"; return; discard;");
		return 1;
	}
	if (strcmp(name, "setter") == 0) {
		str_append(text_r, "require [\"include\", \"variables\"]; global \"g\"; set \"g\" \"from-included\"; set \"l\" \"local\";");
		return 1;
	}
	if (strcmp(name, "broken") == 0) {
		str_append(text_r, "nosuch;");
		return 1;
	}
	if (strcmp(name, "unreadable") == 0)
		return -1;
	if (strcmp(name, "failing") == 0) {
		str_append(text_r, "require \"ihave\";\n\nerror \"deep\";");
		return 1;
	}
	return 0;
}

static int seen_ids;
static int fake_duplicate_seen(void *ctx, const void *id, size_t len)
{
	(void)ctx;
	/* ids for Message-ID <dup@x> count as seen */
	return memmem(id, len, "<dup@x>", 7) != NULL ? (seen_ids++, 1) : 0;
}

static const struct sieve_env fake_env = {
	.mailbox_exists = fake_mailbox_exists,
	.mailbox_id_exists = fake_mailbox_id_exists,
	.special_use = fake_special_use,
	.environment = fake_environment,
	.include = fake_include,
	.duplicate_seen = fake_duplicate_seen,
	.spam_header = "X-Spam-Score",
	.virus_header = "X-Virus-Score",
};

#define assert_env_run(script, msg, expected) do { \
		char *got_ = run_msg(script, msg, &fake_env); \
		assert_string_equal(got_, expected); \
		free(got_); \
	} while (0)

static void test_mailbox(void **state)
{
	(void)state;
	/* RFC 5490 3.2/3.3 */
	assert_env_run("require [\"mailbox\", \"fileinto\"];\n"
		       "if mailboxexists \"Junk\" { fileinto :create \"Junk\"; }\n"
		       "if mailboxexists [\"Junk\", \"Nope\"] { discard; }",
		       msg_default, "fileinto \"Junk\" :create\n");
	assert_error("require \"fileinto\"; fileinto :create \"X\";",
		     "line 1: unknown tagged argument ':create' for the fileinto command");
	/* RFC 9042 and RFC 8579 */
	assert_env_run("require [\"mailboxid\", \"fileinto\"];\n"
		       "if mailboxidexists \"F123\" { fileinto :mailboxid \"F123\" \"Other\"; }",
		       msg_default, "fileinto \"Other\" :mailboxid \"F123\"\n");
	assert_env_run("require [\"special-use\", \"fileinto\"];\n"
		       "if specialuse_exists \"Junk\" \"\\\\Junk\" { fileinto :specialuse \"\\\\Junk\" \"Spam\"; }\n"
		       "if specialuse_exists \"\\\\Sent\" { discard; }",
		       msg_default, "fileinto \"Spam\" :specialuse \"\\\\Junk\"\n");
	assert_error("require [\"special-use\", \"mailboxid\", \"fileinto\"];\n"
		     "fileinto :specialuse \"\\\\Junk\" :mailboxid \"F1\" \"x\";",
		     "line 2: tagged arguments ':specialuse' and ':mailboxid' of the fileinto command exclude each other");
	/* no callbacks: nothing exists */
	assert_run("require \"mailbox\"; if mailboxexists \"INBOX\" { discard; }", "keep (implicit)\n");
}

static void test_environment_ihave(void **state)
{
	(void)state;
	assert_env_run("require \"environment\";\n"
		       "if environment :is \"domain\" \"example.org\" { discard; }",
		       msg_default, "discard\n");
	assert_env_run("require \"environment\";\n"
		       "if environment :contains \"remote-host\" \"\" { discard; }",
		       msg_default, "keep (implicit)\n");
	/* RFC 5463 4: the block may use what ihave names; an unknown
	 * extension makes the test false and its block is not compiled */
	assert_run("require \"ihave\";\n"
		   "if ihave \"fileinto\" { fileinto \"A\"; }\n"
		   "if ihave \"x-unknown\" { x_unknown_command 1 2 3; } else { discard; }",
		   "fileinto \"A\"\ndiscard\n");
	assert_run("require \"ihave\"; error \"this went wrong\";",
		   "error: line 1: this went wrong\nkeep (implicit)\n");
}

static void test_date(void **state)
{
	(void)state;
	/* Date: Mon, 7 Dec 2026 10:00:00 +0100 */
	assert_run("require \"date\";\n"
		   "if date :zone \"+0000\" \"date\" \"date\" \"2026-12-07\" { discard; }", "discard\n");
	assert_run("require \"date\";\n"
		   "if date :zone \"-1100\" \"date\" \"date\" \"2026-12-06\" { discard; }", "discard\n");
	assert_run("require \"date\";\n"
		   "if allof(date :originalzone \"date\" \"hour\" \"10\",\n"
		   "         date :originalzone \"date\" \"zone\" \"+0100\",\n"
		   "         date :zone \"+0000\" \"date\" \"time\" \"09:00:00\",\n"
		   "         date :zone \"+0000\" \"date\" \"weekday\" \"1\",\n"
		   "         date :zone \"+0000\" \"date\" \"julian\" \"61381\",\n"
		   "         date :originalzone \"date\" \"iso8601\" \"2026-12-07T10:00:00+01:00\",\n"
		   "         date :originalzone \"date\" \"std11\" \"Mon, 7 Dec 2026 10:00:00 +0100\") { discard; }",
		   "discard\n");
	assert_error("require \"date\"; if date :zone \"0100\" \"date\" \"date\" \"x\" { }",
		     "line 1: date: invalid time zone '0100'");
	assert_error("require \"date\"; if date \"date\" \"decade\" \"x\" { }",
		     "line 1: date: unknown date part 'decade'");
	/* RFC 5260 5's example: relational with currentdate */
	assert_run("require [\"date\", \"relational\"];\n"
		   "if currentdate :value \"ge\" \"date\" \"2000-01-01\" { discard; }", "discard\n");
	/* index (RFC 5260 7) */
	const char *msg = "Received: from a by b; Tue, 8 Dec 2026 01:00:00 +0000\r\n"
		"Received: from c by d; Mon, 7 Dec 2026 23:00:00 +0000\r\n"
		"X-A: one\r\nX-A: two\r\nX-A: three\r\n\r\n";
	char *got = run_msg("require [\"date\", \"index\"];\n"
			    "if date :index 1 :zone \"+0000\" \"received\" \"date\" \"2026-12-08\" { discard; }\n",
			    msg, NULL);
	assert_string_equal(got, "discard\n");
	free(got);
	got = run_msg("require [\"index\", \"fileinto\"];\n"
		      "if header :index 2 :is \"x-a\" \"two\" { fileinto \"second\"; }\n"
		      "if header :index 1 :last :is \"x-a\" \"three\" { fileinto \"last\"; }\n"
		      "if header :index 4 :contains \"x-a\" \"\" { fileinto \"fourth\"; }\n",
		      msg, NULL);
	assert_string_equal(got, "fileinto \"second\"\nfileinto \"last\"\n");
	free(got);
	assert_error("require \"index\"; if header :last \"x\" \"y\" { }", "line 1: header: :last needs :index");
}

static void test_body(void **state)
{
	(void)state;
	const char *msg = "From: a@example.com\r\n"
		"Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n"
		"--b\r\nContent-Type: text/plain; charset=iso-8859-1\r\n"
		"Content-Transfer-Encoding: quoted-printable\r\n\r\n"
		"Caf=E9 au lait\r\n"
		"--b\r\nContent-Type: text/html\r\n\r\n<b>MONEY</b>\r\n"
		"--b\r\nContent-Type: application/octet-stream\r\n"
		"Content-Transfer-Encoding: base64\r\n\r\naGlkZGVu\r\n"
		"--b--\r\n";
	/* :text (the default): text parts, decoded and converted */
	{
		char *got = run_msg("require \"body\"; if body :contains \"café\" { discard; }", msg, NULL);
		assert_string_equal(got, "discard\n");
		free(got);
		got = run_msg("require \"body\"; if body :contains \"hidden\" { discard; }", msg, NULL);
		assert_string_equal(got, "keep (implicit)\n");
		free(got);
		got = run_msg("require \"body\"; if body :content \"application\" :contains \"hidden\" { discard; }",
			      msg, NULL);
		assert_string_equal(got, "discard\n");
		free(got);
		got = run_msg("require \"body\"; if body :content \"text/html\" :contains \"money\" { discard; }",
			      msg, NULL);
		assert_string_equal(got, "discard\n");
		free(got);
		got = run_msg("require \"body\"; if body :content \"text/plain\" :contains \"money\" { discard; }",
			      msg, NULL);
		assert_string_equal(got, "keep (implicit)\n");
		free(got);
		/* :raw: undecoded */
		got = run_msg("require \"body\"; if body :raw :contains \"Caf=E9\" { discard; }", msg, NULL);
		assert_string_equal(got, "discard\n");
		free(got);
		got = run_msg("require \"body\"; if body :raw :contains \"aGlkZGVu\" { discard; }", msg, NULL);
		assert_string_equal(got, "discard\n");
		free(got);
	}
	assert_error("require [\"body\", \"relational\"]; if body :count \"eq\" \"1\" { }",
		     "line 1: body: the :count match type cannot be used with the body test");
}

/* RFC 5173 5.2's example: what each :content looks at */
static void test_body_rfc5173(void **state)
{
	(void)state;
	char *msg = testlib_read_file(SIEVE_DATA_DIR "/messages/rfc5173.eml");
	static const struct {
		const char *test, *expected;
	} cases[] = {
		{ "body :content \"multipart\" :contains \"MIME\"", "discard\n" },
		{ "body :content \"multipart\" :contains \"Hello\"", "keep (implicit)\n" },
		{ "body :content \"text/plain\" :contains \"Hello\"", "discard\n" },
		{ "body :content \"text/plain\" :contains \"Please say\"", "discard\n" },
		{ "body :content \"text/html\" :contains \"Hello\"", "discard\n" },
		{ "body :content \"text/html\" :contains \"Please\"", "keep (implicit)\n" },
		{ "body :content \"message/rfc822\" :contains \"Hello\"", "discard\n" },
		{ "body :content \"message/rfc822\" :contains \"Please\"", "keep (implicit)\n" },
		{ "body :content [\"text/\", \"/plain\", \"a/b/c\"] :contains \"\"", "keep (implicit)\n" },
		{ "body :text :contains \"<html>\"", "keep (implicit)\n" },
		{ "body :raw :contains \"<html>\"", "discard\n" },
	};
	for (size_t i = 0; i < N_ELEMENTS(cases); i++) {
		char *script = xasprintf("require \"body\"; if %s { discard; }", cases[i].test);
		char *got = run_msg(script, msg, NULL);
		if (strcmp(got, cases[i].expected) != 0)
			fail_msg("%s: got %s", cases[i].test, got);
		free(got);
		free(script);
	}
	free(msg);
}

static void test_vacation(void **state)
{
	struct sieve_env env = { .ctx = NULL };
	const char *const mine[] = { "me@example.org", NULL };

	(void)state;
	env.user_addresses = mine;
	/* RFC 5230 4.8's example; the default subject is "Auto: " + original */
	char *got = run_msg("require \"vacation\";\n"
			    "vacation :days 23 :addresses [\"tjs@example.edu\", \"ts4z@landru.example.edu\"]\n"
			    "\"I'm away until October 19.\";", msg_default, &env);
	assert_string_equal(got, "vacation to \"joe+lists@example.com\" :subject \"Auto: Café news  continued\""
			    " :seconds 1987200\nkeep (implicit)\n");
	free(got);
	/* RFC 6131 */
	got = run_msg("require \"vacation-seconds\";\n"
		      "vacation :seconds 0 :subject \"Out\" :from \"me@example.org\" \"x\";", msg_default, &env);
	assert_string_equal(got, "vacation to \"joe+lists@example.com\" :subject \"Out\" :from \"me@example.org\""
			    " :seconds 0\nkeep (implicit)\n");
	free(got);
	/* RFC 5230 4.5: not addressed to the user: no reply */
	const char *other = "From: joe@example.com\r\nTo: someone@else.org\r\nSubject: hi\r\n\r\nx\r\n";
	const char *const nobody[] = { "nobody@example.org", NULL };
	env.user_addresses = nobody;
	struct sieve_limits limits;
	sieve_limits_default(&limits);
	const char *script = "require \"vacation\"; vacation \"away\";";
	struct str errors = STR_INIT, out = STR_INIT;
	struct sieve_script *s = sieve_compile("v", script, strlen(script), &limits, &errors);
	assert_non_null(s);
	struct sieve_message m = { .data = other, .size = strlen(other),
				   .envelope_from = "joe@example.com", .envelope_to = "nobody@example.org" };
	struct sieve_result r;
	assert_int_equal(sieve_execute(s, &m, &env, &limits, &r), 0);
	sieve_result_describe(&r, &out);
	assert_string_equal(str_c(&out), "keep (implicit)\n");
	sieve_result_free(&r);
	/* ... but with :addresses naming the To: address it answers */
	str_truncate(&out, 0);
	sieve_script_free(&s);
	script = "require \"vacation\"; vacation :addresses \"someone@else.org\" :handle \"h\" \"away\";";
	s = sieve_compile("v", script, strlen(script), &limits, &errors);
	assert_int_equal(sieve_execute(s, &m, &env, &limits, &r), 0);
	sieve_result_describe(&r, &out);
	assert_string_equal(str_c(&out), "vacation to \"joe@example.com\" :subject \"Auto: hi\" :seconds 604800\n"
			    "keep (implicit)\n");
	assert_memory_equal(r.actions[0].track_id, "h:h\0joe@example.com", r.actions[0].track_id_len);
	sieve_result_free(&r);
	/* RFC 3834 / RFC 5230 4.6: automated mail and senders */
	const char *auto_msgs[] = {
		"To: someone@else.org\r\nAuto-Submitted: auto-replied\r\n\r\n",
		"To: someone@else.org\r\nList-Id: <l.example.org>\r\n\r\n",
		"To: someone@else.org\r\nPrecedence: bulk\r\n\r\n",
	};
	for (size_t i = 0; i < N_ELEMENTS(auto_msgs); i++) {
		m.data = auto_msgs[i];
		m.size = strlen(auto_msgs[i]);
		str_truncate(&out, 0);
		assert_int_equal(sieve_execute(s, &m, &env, &limits, &r), 0);
		sieve_result_describe(&r, &out);
		assert_string_equal(str_c(&out), "keep (implicit)\n");
		sieve_result_free(&r);
	}
	m.data = other;
	m.size = strlen(other);
	const char *senders[] = { "MAILER-DAEMON@example.com", "owner-list@example.com",
				  "list-request@example.com", "", "someone@else.org" };
	for (size_t i = 0; i < N_ELEMENTS(senders); i++) {
		m.envelope_from = senders[i];
		str_truncate(&out, 0);
		assert_int_equal(sieve_execute(s, &m, &env, &limits, &r), 0);
		sieve_result_describe(&r, &out);
		assert_string_equal(str_c(&out), "keep (implicit)\n");
		sieve_result_free(&r);
	}
	sieve_script_free(&s);
	/* two vacations: a run-time error (RFC 5230 4.7); vacation and reject conflict */
	got = run_msg("require \"vacation\"; vacation :addresses \"me@example.org\" \"a\";"
		      "vacation :addresses \"me@example.org\" \"b\";", msg_default, &env);
	assert_string_equal(got, "error: line 1: more than one vacation action\nkeep (implicit)\n");
	free(got);
	str_free(&out);
	str_free(&errors);
}

/* RFC 5229 3: a value past sieve_max_variable_size (4096 by default) is
 * truncated; 30 doublings would be 8 GiB without the limit */
static void test_huge_variable(void **state)
{
	struct str script = STR_INIT;

	(void)state;
	str_append(&script, "require [\"variables\", \"fileinto\"];\nset \"a\" \"xxxxxxxx\";\n");
	for (int i = 0; i < 30; i++)
		str_append(&script, "set \"a\" \"${a}${a}\";\n");
	str_append(&script, "set :length \"n\" \"${a}\"; fileinto \"len-${n}\";\n");
	assert_run(str_c(&script), "fileinto \"len-4096\"\n");
	str_free(&script);
}

static void test_include(void **state)
{
	(void)state;
	assert_env_run("require [\"include\"]; include :global \"spam\";", msg_default, "fileinto \"Spam\"\n");
	assert_env_run("require [\"include\"]; include :personal \"spam\";", msg_default,
		       "error: line 1: include: the personal script 'spam' does not exist\nkeep (implicit)\n");
	assert_env_run("require [\"include\"]; include :optional \"missing\"; discard;", msg_default, "discard\n");
	/* RFC 6609 3.2: recursion is an error at run time, never at upload */
	assert_env_run("require [\"include\"]; include \"self\";", msg_default,
		       "error: line 1: in personal script 'self': line 1: include: the personal script 'self' "
		       "includes itself\nkeep (implicit)\n");
	/* a cycle through another script */
	{
		char *got = run_msg("require \"include\"; include \"ping\"; discard;", msg_default,
				    &fake_env);
		assert_non_null(strstr(got, "includes itself"));
		assert_non_null(strstr(got, "keep (implicit)\n"));
		assert_null(strstr(got, "discard"));
		free(got);
	}
	assert_env_run("require \"include\"; include \"stopper\"; discard;", msg_default, "keep (implicit)\n");
	assert_env_run("require \"include\"; include \"returner\"; redirect \"x@example.com\";", msg_default,
		       "redirect \"x@example.com\"\n");
	assert_env_run("require \"include\"; include \"broken\";", msg_default,
		       "error: line 1: include: the personal script 'broken' is invalid: line 1: unknown command 'nosuch'\n"
		       "keep (implicit)\n");
	assert_env_run("require \"include\"; include \"unreadable\";", msg_default,
		       "error: line 1: include: the personal script 'unreadable' cannot be read\nkeep (implicit)\n");
	/* an error inside an included script says where */
	assert_env_run("require \"include\";\nkeep;\ninclude :global \"failing\";", msg_default,
		       "error: line 3: in global script 'failing': line 3: deep\nkeep (implicit)\n");
	/* global variables (RFC 6609 3.3) */
	assert_env_run("require [\"include\", \"variables\", \"fileinto\"]; global \"g\";\n"
		       "include \"setter\"; fileinto \"${g}|${l}|${global.g}\";", msg_default,
		       "fileinto \"from-included||from-included\"\n");
	assert_error("require \"include\"; global \"g\";", "line 1: global: needs require \"variables\" too");
	assert_env_run("require [\"include\", \"variables\", \"fileinto\"];\n"
		       "set \"global.g\" \"before\"; include \"setter\"; fileinto \"${global.g}\";", msg_default,
		       "fileinto \"from-included\"\n");
	assert_error("require \"variables\"; set \"global.g\" \"x\";",
		     "line 1: set: invalid variable name 'global.g'");
	/* :once */
	assert_env_run("require [\"include\"]; include :global :once \"spam\"; include :global :once \"spam\";",
		       msg_default, "fileinto \"Spam\"\n");
}

static void test_duplicate(void **state)
{
	(void)state;
	const char *dup = "Message-ID: <dup@x>\r\nX-Other: abc\r\n\r\n";
	const char *fresh = "Message-ID: <fresh@x>\r\n\r\n";
	assert_env_run("require \"duplicate\"; if duplicate { discard; }", dup, "discard\n");
	assert_env_run("require \"duplicate\"; if duplicate { discard; }", fresh, "keep (implicit)\n");
	/* a second test on the same id in one run sees the first */
	assert_env_run("require \"duplicate\"; if duplicate { discard; } if duplicate { redirect \"a@b.org\"; }",
		       fresh, "redirect \"a@b.org\"\n");
	assert_env_run("require \"duplicate\"; if duplicate :header \"x-other\" { discard; }", dup,
		       "keep (implicit)\n");
	assert_env_run("require \"duplicate\"; if duplicate :header \"x-none\" { discard; }", dup,
		       "keep (implicit)\n");
	assert_env_run("require \"duplicate\"; if duplicate :uniqueid \"<dup@x>\" { discard; }", fresh,
		       "discard\n");
	assert_error("require \"duplicate\"; if duplicate :header \"a\" :uniqueid \"b\" { }",
		     "line 1: duplicate: :header and :uniqueid exclude each other");

	/* the marks the caller stores, with their periods */
	struct sieve_limits limits;
	struct str errors = STR_INIT;
	sieve_limits_default(&limits);
	const char *script = "require \"duplicate\"; if duplicate :seconds 60 :handle \"h\" { }";
	struct sieve_script *s = sieve_compile("d", script, strlen(script), &limits, &errors);
	struct sieve_message m = { .data = fresh, .size = strlen(fresh) };
	struct sieve_result r;
	assert_int_equal(sieve_execute(s, &m, &fake_env, &limits, &r), 0);
	assert_int_equal(r.duplicate_count, 1);
	assert_int_equal(r.duplicates[0].period, 60);
	assert_memory_equal(r.duplicates[0].id, "duplicate:h\0<fresh@x>", r.duplicates[0].id_len);
	sieve_result_free(&r);
	/* seen, without :last: nothing to remember */
	m.data = dup;
	m.size = strlen(dup);
	assert_int_equal(sieve_execute(s, &m, &fake_env, &limits, &r), 0);
	assert_int_equal(r.duplicate_count, 0);
	sieve_result_free(&r);
	sieve_script_free(&s);
	str_free(&errors);
}

static void test_spamtest(void **state)
{
	(void)state;
	const char *spam = "X-Spam-Score: 7.5/10\r\nX-Virus-Score: 5\r\n\r\n";
	const char *ham = "X-Spam-Score: -1.2\r\n\r\n";
	/* RFC 5235 3.2's example */
	assert_env_run("require [\"spamtest\", \"fileinto\", \"relational\", \"comparator-i;ascii-numeric\"];\n"
		       "if spamtest :value \"eq\" :comparator \"i;ascii-numeric\" \"0\" { fileinto \"INBOX.unclassified\"; }\n"
		       "elsif spamtest :value \"ge\" :comparator \"i;ascii-numeric\" \"3\" { fileinto \"INBOX.spam-trap\"; }",
		       spam, "fileinto \"INBOX.spam-trap\"\n");
	assert_env_run("require [\"spamtest\"]; if spamtest :is \"1\" { discard; }", ham, "discard\n");
	assert_env_run("require [\"spamtest\"]; if spamtest :is \"0\" { discard; }", msg_default, "discard\n");
	assert_env_run("require [\"spamtestplus\"]; if spamtest :percent :is \"75\" { discard; }", spam, "discard\n");
	assert_error("require [\"spamtest\"]; if spamtest :percent \"75\" { }",
		     "line 1: unknown tagged argument ':percent' for the spamtest test");
	assert_env_run("require [\"virustest\"]; if virustest :is \"5\" { discard; }", spam, "discard\n");
	assert_env_run("require [\"virustest\"]; if virustest :is \"0\" { discard; }", ham, "discard\n");
	/* RFC 5235 3.1: :count is 1 when tested, 0 when not; :percent of
	 * an untested message is "0" */
	assert_env_run("require [\"spamtest\", \"relational\", \"comparator-i;ascii-numeric\"];\n"
		       "if spamtest :count \"eq\" :comparator \"i;ascii-numeric\" \"1\" { discard; }",
		       spam, "discard\n");
	assert_env_run("require [\"spamtest\", \"relational\", \"comparator-i;ascii-numeric\"];\n"
		       "if spamtest :count \"eq\" :comparator \"i;ascii-numeric\" \"0\" { discard; }",
		       msg_default, "discard\n");
	assert_env_run("require [\"spamtestplus\"]; if spamtest :percent \"0\" { discard; }",
		       msg_default, "discard\n");
}

static void test_extensions_list(void **state)
{
	(void)state;
	const char *caps = sieve_extensions();
	assert_non_null(strstr(caps, "fileinto"));
	assert_non_null(strstr(caps, "imap4flags"));
	assert_null(strstr(caps, "comparator-i;ascii-casemap"));
	assert_null(strstr(caps, "comparator-i;octet"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_good),
		cmocka_unit_test(test_rfc5228_example),
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_several_errors),
		cmocka_unit_test(test_parse_limits),
		cmocka_unit_test(test_header),
		cmocka_unit_test(test_address),
		cmocka_unit_test(test_null_sender),
		cmocka_unit_test(test_comparators),
		cmocka_unit_test(test_actions),
		cmocka_unit_test(test_limits_run),
		cmocka_unit_test(test_cpu_limit),
		cmocka_unit_test(test_matches),
		cmocka_unit_test(test_variables),
		cmocka_unit_test(test_encoded_character),
		cmocka_unit_test(test_imap4flags),
		cmocka_unit_test(test_subaddress),
		cmocka_unit_test(test_relational),
		cmocka_unit_test(test_sequence),
		cmocka_unit_test(test_mailbox),
		cmocka_unit_test(test_environment_ihave),
		cmocka_unit_test(test_date),
		cmocka_unit_test(test_body),
		cmocka_unit_test(test_body_rfc5173),
		cmocka_unit_test(test_vacation),
		cmocka_unit_test(test_include),
		cmocka_unit_test(test_huge_variable),
		cmocka_unit_test(test_duplicate),
		cmocka_unit_test(test_spamtest),
		cmocka_unit_test(test_extensions_list),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
