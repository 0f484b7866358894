/* test-basesubject.c: base-subject extraction, RFC 5256 section 2.1, and
 * its "reply or forward" flag (section 3, REFERENCES). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "base/str.h"
#include "syntax/basesubject.h"

static void check_n(const char *in, size_t len, const char *expected,
		    size_t expected_len, bool refwd)
{
	struct str out = STR_INIT;
	bool is_refwd = !refwd;

	str_append(&out, "old content");	/* replaced */
	basesubject_extract(in, len, &out, &is_refwd);
	if (out.len != expected_len ||
	    memcmp(out.data, expected, expected_len) != 0)
		fail_msg("\"%s\" -> \"%s\", expected \"%s\"", in, str_c(&out),
			 expected);
	if (is_refwd != refwd)
		fail_msg("\"%s\": reply/forward %d, expected %d", in,
			 is_refwd, refwd);
	assert_int_equal(out.data[out.len], '\0');
	str_free(&out);
}

static void check(const char *in, const char *expected, bool refwd)
{
	check_n(in, strlen(in), expected, strlen(expected), refwd);
}

static void test_plain(void **state)
{
	(void)state;
	check("", "", false);
	check(" ", "", false);
	check("Hello", "Hello", false);
	check("Hello World", "Hello World", false);
	/* step (1): tabs and continuations to space, runs to one space */
	check("  Hello   World \t ", "Hello World", false);
	check("Hello\r\n World", "Hello World", false);
	check("Hello\r\n\tWorld", "Hello World", false);
	check("Hello\tWorld", "Hello World", false);
	/* not artifacts */
	check("Reply to me", "Reply to me", false);
	check("Re", "Re", false);
	check("Fwd x", "Fwd x", false);
	check("fw d: x", "fw d: x", false);
	check("Reply: x", "Reply: x", false);
	check("a (fwd) b", "a (fwd) b", false);
	check("a [fwd: b]", "a [fwd: b]", false);
	check("[fwd: x", "[fwd: x", false);	/* no subj-fwd-trl */
	check("x]", "x]", false);
	check("R\xc3\xa9: x", "R\xc3\xa9: x", false);
	/* RFC 5256 section 7: translations are not removed */
	check("AW: x", "AW: x", false);
	check("Sv: x", "Sv: x", false);
}

static void test_refwd(void **state)
{
	(void)state;
	/* subj-refwd = ("re" / ("fw" ["d"])) *WSP [subj-blob] ":" */
	check("Re: Hello", "Hello", true);
	check("RE:Hello", "Hello", true);
	check("rE : Hello", "Hello", true);
	check("re  \t : Hello", "Hello", true);
	check("Re[2]: Hello", "Hello", true);
	check("Re [2] : Hello", "Hello", true);
	check("Re[PATCH]: Hello", "Hello", true);
	check("Fw: Hello", "Hello", true);
	check("FWD: Hello", "Hello", true);
	check("Fwd:Hello", "Hello", true);
	check("fwd [x]: Hello", "Hello", true);
	check("Re: Re: Fwd: Re: Hello", "Hello", true);
	check("Re:Re:Re", "Re", true);
	check("Re:", "", true);
	check("Re: ", "", true);
	check("fwd:", "", true);
	check("Re: Grüße", "Grüße", true);
	check("Re[: x", "Re[: x", false);	/* unclosed blob */
	check("Re[a][b]: x", "Re[a][b]: x", false);	/* at most one blob */
}

static void test_blobs(void **state)
{
	(void)state;
	/* subj-leader = (*subj-blob subj-refwd) / WSP */
	check("[PATCH] Re: foo", "foo", true);
	check("[list] [x] Re: Fwd: foo", "foo", true);
	check("[list] Re: [other] Fwd: x", "x", true);
	check("[PATCH] Re:", "", true);
	/* step (4): a blob goes when what is left is not empty */
	check("[PATCH v2] foo", "foo", false);
	check("[a] [b] foo", "foo", false);
	check("[a]x", "x", false);
	check("[a][b]x", "x", false);
	check("[] x", "x", false);
	/* "last subj-blob is subj-base if subj-base would otherwise be
	 * empty" */
	check("[PATCH]", "[PATCH]", false);
	check("[a] [b]", "[b]", false);
	check("[a][b]", "[b]", false);
	check("[]", "[]", false);
	check("Re: [PATCH]", "[PATCH]", true);
	check("Re: [a] ", "[a]", true);
	check("[a] Re: [b]", "[b]", true);
	/* an unclosed "[" ends the blob run: what follows is text */
	check("[a] [b", "[b", false);
	check("[a [b] x", "[a [b] x", false);
	check("[a]] x", "] x", false);
	/* brackets and UTF-8 inside blobs */
	check("[Liste \xc3\xa9t\xc3\xa9] x", "x", false);
}

static void test_fwd_trailer(void **state)
{
	(void)state;
	/* subj-trailer = "(fwd)" / WSP, repeatedly */
	check("Hello (fwd)", "Hello", true);
	check("Hello(fwd)", "Hello", true);
	check("Hello (FWD) (Fwd)  ", "Hello", true);
	check("(fwd)", "", true);
	check("Re: (fwd)", "", true);
	check("Hello (fwd) x", "Hello (fwd) x", false);
	check("Hello (fwd", "Hello (fwd", false);
}

static void test_fwd_wrapper(void **state)
{
	(void)state;
	/* step (6): "[fwd:" ... "]" */
	check("[fwd: Hello]", "Hello", true);
	check("[FWD:Hello]", "Hello", true);
	check("[Fwd: Hello World ]", "Hello World", true);
	check("[fwd:]", "", true);
	check("[fwd: ]", "", true);
	check("Re: [fwd: ]", "", true);
	/* nested, and "repeat from step (2)" */
	check("Re: [fwd: Re: x]", "x", true);
	check("[fwd: [fwd: x] (fwd)]", "x", true);
	check("[fwd: Re: x (fwd)]", "x", true);
	check("Re: Re: [fwd: [list] x]", "x", true);
	check("[fwd: [fwd: [fwd: Re: Deep]]]", "Deep", true);
	check("[fwd: x] y", "y", false);	/* a blob, not a wrapper */
	check("[fwd: x] [fwd: y]", "y", true);
	check("[fwd: a] Re: [fwd: b]", "b", true);
	/* the trailer must close the whole text */
	check("[fwd: a] b]", "b]", false);
}

static void test_bytes(void **state)
{
	(void)state;
	/* NUL and invalid UTF-8 are carried through */
	check_n("Re: a\0b", 7, "a\0b", 3, true);
	check_n("\0", 1, "\0", 1, false);
	check("Re: \xff\xfe", "\xff\xfe", true);
	check("[\xff] \xfe", "\xfe", false);
	/* the flag pointer may be NULL */
	struct str out = STR_INIT;
	basesubject_extract("Re: x", 5, &out, NULL);
	assert_string_equal(str_c(&out), "x");
	basesubject_extract("", 0, &out, NULL);
	assert_string_equal(str_c(&out), "");
	str_free(&out);
}

/* Long adversarial subjects finish quickly (no quadratic rescans). */
static void test_long(void **state)
{
	(void)state;
	const size_t n = 200000;
	struct str in = STR_INIT, out = STR_INIT;
	bool refwd;

	for (size_t i = 0; i < n; i++)
		str_append(&in, "[a] ");
	str_append(&in, "x");
	basesubject_extract(in.data, in.len, &out, &refwd);
	assert_string_equal(str_c(&out), "x");
	assert_false(refwd);

	str_truncate(&in, 0);
	for (size_t i = 0; i < n; i++)
		str_append(&in, "[a]");
	basesubject_extract(in.data, in.len, &out, &refwd);
	assert_string_equal(str_c(&out), "[a]");

	str_truncate(&in, 0);
	for (size_t i = 0; i < n; i++)
		str_append(&in, "[fwd: Re: ");
	str_append(&in, "x");
	for (size_t i = 0; i < n; i++)
		str_append(&in, " (fwd)]");
	basesubject_extract(in.data, in.len, &out, &refwd);
	assert_string_equal(str_c(&out), "x");
	assert_true(refwd);

	str_truncate(&in, 0);
	for (size_t i = 0; i < n; i++)
		str_append(&in, "Re: [a] ");
	basesubject_extract(in.data, in.len, &out, &refwd);
	assert_string_equal(str_c(&out), "[a]");

	str_truncate(&in, 0);
	for (size_t i = 0; i < n; i++)
		str_append(&in, " \t ");
	basesubject_extract(in.data, in.len, &out, &refwd);
	assert_string_equal(str_c(&out), "");
	str_free(&in);
	str_free(&out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain),
		cmocka_unit_test(test_refwd),
		cmocka_unit_test(test_blobs),
		cmocka_unit_test(test_fwd_trailer),
		cmocka_unit_test(test_fwd_wrapper),
		cmocka_unit_test(test_bytes),
		cmocka_unit_test(test_long),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
