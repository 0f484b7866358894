/* test-msgid.c: msg-id normalisation (syntax/msgid.h): the forms RFC
 * 5322 allows and the obsolete ones, text between ids, and damaged ids
 * that must be skipped without reading past the end. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "base/base.h"
#include "base/str.h"
#include "syntax/msgid.h"

static void check_msgids(const char *in, const char *expected)
{
	struct str id = STR_INIT, all = STR_INIT;
	const char *p = in;

	while (msgid_next(&p, &id) == 1)
		str_printfa(&all, "%s%s", all.len > 0 ? " " : "", str_c(&id));
	assert_int_equal(*p, '\0');
	if (strcmp(str_c(&all), expected) != 0)
		fail_msg("\"%s\" -> \"%s\", expected \"%s\"", in, str_c(&all),
			 expected);
	str_free(&id);
	str_free(&all);
}

static void test_msgid(void **state)
{
	(void)state;
	check_msgids("", "");
	check_msgids("<a@b>", "<a@b>");
	check_msgids("  <a.b.c@d.e.f>  ", "<a.b.c@d.e.f>");
	check_msgids("<\"01KF8JCEOCBS0045PS\"@xxx.yyy.com>",
		     "<01KF8JCEOCBS0045PS@xxx.yyy.com>");
	check_msgids("<a@b> <c@d>\r\n\t<e@f>", "<a@b> <c@d> <e@f>");
	check_msgids("<a@b><c@d>", "<a@b> <c@d>");
	/* comments, also inside (obs-id-left / obs-id-right) */
	check_msgids("<a@b> (see <x@y> (nested <z@w>)) <c@d>", "<a@b> <c@d>");
	check_msgids("< a (c) . b @ (d) host . example >", "<a.b@host.example>");
	check_msgids("<\"a b\"@c>", "<a b@c>");
	check_msgids("<\"a\\\"b\"@c>", "<a\"b@c>");
	check_msgids("<\"a\".\"b\"@c>", "<a.b@c>");
	check_msgids("<a@[1.2.3.4]>", "<a@[1.2.3.4]>");
	check_msgids("<a@[ 1.2.3.4 ]>", "<a@[1.2.3.4]>");
	/* In-Reply-To as seen in the wild */
	check_msgids("Your message of \"Tue, 1 Jan <x>\" <a@b>", "<a@b>");
	check_msgids("<a@b> (Joe's message of Mon)", "<a@b>");
	check_msgids("joe@example.com's message <a@b>", "<a@b>");
	/* invalid ones are skipped */
	check_msgids("<no-at-sign>", "");
	check_msgids("<no-at-sign> <x@y>", "<x@y>");
	check_msgids("<@b> <a@> <> <a@b@c> <a@b", "");
	check_msgids("<a<b@c>", "<b@c>");
	check_msgids("<a@b <c@d>", "<c@d>");
	check_msgids("<\"unclosed@b>", "");
	check_msgids("(unclosed <a@b>", "");
	check_msgids("<a@[x>", "");
	/* a quoted left part may hold "@" (found by fuzz-basesubject) */
	check_msgids("a<@e>) <\"@ y\"@[2]>", "<@ y@[2]>");
	/* 8-bit (RFC 6532) */
	check_msgids("<\xc3\xa9@b>", "<\xc3\xa9@b>");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_msgid),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
