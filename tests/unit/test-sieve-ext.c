/* test-sieve-ext.c: the extensions editheader (RFC 5293), regex, mime,
 * foreverypart, extracttext, replace, enclose (RFC 5703) and enotify with
 * mailto (RFC 5435, 5436) at the Sieve level: each case compiles a
 * script, runs it over a message and compares sieve_result_describe()'s
 * text, followed by the message when a script changed it; the examples
 * of the RFCs are among them, and so are the compile-time and run-time
 * errors.  Also imapsieve (RFC 6785): the environment items and the
 * commands that are errors on an IMAP event. */
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

static const char msg_plain[] =
	"Received: from a by b; Mon, 7 Dec 2026 10:00:00 +0000\r\n"
	"From: \"Joe Q\" <Joe+Lists@Example.COM>\r\n"
	"To: me@example.org\r\n"
	"Subject: =?utf-8?q?Caf=C3=A9?= news\r\n"
	"Delivered-To: bob@example.com\r\n"
	"X-Hello: one\r\n"
	"X-Hello: two\r\n"
	"X-Hello: three\r\n"
	"\r\n"
	"Hello there.\r\n";

static const char msg_mime[] =
	"From: alice@example.com\r\n"
	"To: bob@example.com\r\n"
	"Subject: Report\r\n"
	"MIME-Version: 1.0\r\n"
	"Content-Type: multipart/mixed; boundary=\"outer\"\r\n"
	"\r\n"
	"--outer\r\n"
	"Content-Type: text/plain; charset=iso-8859-1\r\n"
	"Content-Transfer-Encoding: quoted-printable\r\n"
	"Content-From: Tim <tim@example.com>\r\n"
	"\r\n"
	"Caf=E9 au lait\r\n"
	"--outer\r\n"
	"Content-Type: multipart/alternative; boundary=\"inner\"\r\n"
	"\r\n"
	"--inner\r\n"
	"Content-Type: text/plain\r\n"
	"\r\n"
	"plain text\r\n"
	"--inner\r\n"
	"Content-Type: text/html; charset=utf-8\r\n"
	"Content-MD5: Q2hlY2sgSW50ZWdyaXR5IQ==\r\n"
	"\r\n"
	"<p>html</p>\r\n"
	"--inner--\r\n"
	"--outer\r\n"
	"Content-Type: application/pdf; name=\"x.pdf\"\r\n"
	"Content-Disposition: attachment; filename=\"very-important.pdf\"\r\n"
	"Content-Transfer-Encoding: base64\r\n"
	"\r\n"
	"JVBERi0=\r\n"
	"--outer--\r\n";

/* RFC 5436 3: the triggering message */
static const char msg_knitting[] =
	"Return-Path: <knitting-bounces@example.com>\r\n"
	"Received: from mail.example.com by mail.example.org\r\n"
	"  for <recipient@example.org>; Wed, 7 Dec 2005 05:08:02 -0500\r\n"
	"Message-ID: <1234567.89ABCDEF@example.com>\r\n"
	"Date: Wed, 07 Dec 2005 10:59:19 +0100\r\n"
	"Precedence: list\r\n"
	"List-Id: Knitting Mailing List <knitting.example.com>\r\n"
	"Sender: knitting-bounces@example.com\r\n"
	"From: \"Jeff Smith\" <jeff@hobbies.example.com>\r\n"
	"To: \"Knitting Mailing List\" <knitting@example.com>\r\n"
	"Subject: [Knitting] A new sweater\r\n"
	"\r\n"
	"I just finished a great new sweater!\r\n";

/* Compiles and runs `script` over `msg`: the description, then "---\n"
 * and the message when the result changed it (the caller frees it), or
 * the compile errors prefixed with "COMPILE: ". */
static char *run_msg(const char *script, const char *msg)
{
	const char *const users[] = { "me@example.org", NULL };
	struct sieve_env env = { .user_addresses = users };
	struct sieve_limits limits;
	struct str errors = STR_INIT, out = STR_INIT;
	struct sieve_script *s;
	struct sieve_result result;
	struct sieve_message m = {
		.data = msg,
		.size = strlen(msg),
		.envelope_from = "joe@example.com",
		.envelope_to = "me@example.org",
		.received = 1796680800,
	};
	int ret;

	sieve_limits_default(&limits);
	s = sieve_compile("test", script, strlen(script), &limits, &errors);
	if (s == NULL) {
		str_append(&out, "COMPILE: ");
		str_append(&out, str_c(&errors));
		str_free(&errors);
		return str_steal(&out);
	}
	ret = sieve_execute(s, &m, &env, &limits, &result);
	assert_int_equal(ret < 0, result.error != NULL);
	sieve_result_describe(&result, &out);
	if (result.message_changed) {
		str_append(&out, "---\n");
		str_append_n(&out, result.message, result.message_size);
	} else {
		assert_ptr_equal(result.message, msg);
	}
	sieve_result_free(&result);
	sieve_script_free(&s);
	str_free(&errors);
	if (out.data == NULL)
		str_append(&out, "");
	return str_steal(&out);
}

#define assert_run_msg(script, msg, expected) do { \
		char *got_ = run_msg(script, msg); \
		assert_string_equal(got_, expected); \
		free(got_); \
	} while (0)
#define assert_run(script, expected) assert_run_msg(script, msg_plain, expected)
/* the compile error of `script` contains `expected` */
#define assert_compile_error(script, expected) do { \
		char *got_ = run_msg(script, msg_plain); \
		assert_true(strncmp(got_, "COMPILE: ", 9) == 0); \
		if (strstr(got_, expected) == NULL) \
			fail_msg("%s", got_); \
		free(got_); \
	} while (0)
/* the result contains `expected` */
#define assert_run_has(script, msg, expected) do { \
		char *got_ = run_msg(script, msg); \
		if (strstr(got_, expected) == NULL) \
			fail_msg("%s", got_); \
		free(got_); \
	} while (0)
#define assert_run_lacks(script, msg, unexpected) do { \
		char *got_ = run_msg(script, msg); \
		if (strstr(got_, unexpected) != NULL) \
			fail_msg("%s", got_); \
		free(got_); \
	} while (0)

/* ---- editheader (RFC 5293) ---- */

static void test_editheader_rfc_examples(void **state)
{
	(void)state;
	/* section 4 */
	static const char ex4[] =
		"require \"editheader\";\n"
		"/* Don't redirect if we already redirected */\n"
		"if not header :contains \"X-Sieve-Filtered\"\n"
		"        [\"<kim@job.example.com>\", \"<kim@home.example.com>\"]\n"
		"{\n"
		"        addheader \"X-Sieve-Filtered\" \"<kim@job.example.com>\";\n"
		"        redirect \"kim@home.example.com\";\n"
		"}\n";
	char *expect = xasprintf("redirect \"kim@home.example.com\"\n---\n"
				 "X-Sieve-Filtered: <kim@job.example.com>\r\n%s", msg_plain);
	assert_run(ex4, expect);
	free(expect);
	expect = xasprintf("X-Sieve-Filtered: <kim@home.example.com>\r\n%s", msg_plain);
	assert_run_msg(ex4, expect, "keep (implicit)\n");
	free(expect);

	/* section 7: add then delete :index 1 leaves the message as it was */
	expect = xasprintf("keep (implicit)\n---\n%s", msg_plain);
	assert_run("require \"editheader\";\naddheader \"X-Hello\" \"World\";\n"
		   "deleteheader :index 1 \"X-Hello\";", expect);
	free(expect);
	/* section 7: :index 1 then :index 2 deletes the first and third */
	assert_run_has("require \"editheader\";\ndeleteheader :index 1 \"X-Hello\";\n"
		       "deleteheader :index 2 \"X-Hello\";", msg_plain,
		       "Delivered-To: bob@example.com\r\nX-Hello: two\r\n\r\n");
	/* section 7: tests see the added field */
	assert_run_has("require [\"editheader\", \"fileinto\"];\naddheader \"X-Hello\" \"World\";\n"
		       "if header :contains \"X-Hello\" \"World\" { fileinto \"international\"; }",
		       msg_plain, "fileinto \"international\"\n---\nX-Hello: World\r\n");
	/* section 5: :index 1 :contains deletes the first Delivered-To only
	 * if it matches */
	assert_run_has("require \"editheader\";\n"
		       "deleteheader :index 1 :contains \"Delivered-To\" \"bob@example.com\";",
		       msg_plain, "X-Hello: one\r\n");
	assert_run_lacks("require \"editheader\";\n"
			 "deleteheader :index 1 :contains \"Delivered-To\" \"bob@example.com\";",
			 msg_plain, "Delivered-To");
	assert_run("require \"editheader\";\n"
		   "deleteheader :index 1 :contains \"Delivered-To\" \"alice@example.com\";",
		   "keep (implicit)\n");
}

static void test_editheader_rules(void **state)
{
	(void)state;
	/* :last, non-ASCII values encoded, deletion by value with :matches */
	assert_run_has("require \"editheader\";\naddheader :last \"X-Note\" \"caf\xc3\xa9\";",
		       msg_plain, "X-Hello: three\r\nX-Note: =?UTF-8?B?Y2Fmw6k=?=\r\n\r\nHello");
	assert_run_has("require \"editheader\";\ndeleteheader :matches \"X-Hello\" \"t*\";",
		       msg_plain, "X-Hello: one\r\n\r\n");
	/* the decoded Subject is what the value patterns see */
	assert_run_lacks("require \"editheader\";\ndeleteheader :is \"Subject\" \"Caf\xc3\xa9 news\";",
			 msg_plain, "Subject:");
	/* :last counts from the end */
	assert_run_has("require \"editheader\";\ndeleteheader :index 1 :last \"X-Hello\";",
		       msg_plain, "X-Hello: two\r\n\r\n");
	/* RFC 5293 6: Received and Auto-Submitted are kept silently;
	 * Subject may be deleted and added */
	assert_run("require \"editheader\";\ndeleteheader \"Received\";", "keep (implicit)\n");
	assert_run_has("require \"editheader\";\ndeleteheader \"subject\";\n"
		       "addheader \"Subject\" \"new\";", msg_plain, "---\nSubject: new\r\nReceived:");
	/* a run-time error keeps the original message (RFC 5293 7) */
	assert_run("require [\"editheader\", \"variables\"];\nset \"n\" \"bad name\";\n"
		   "addheader \"X-A\" \"1\";\naddheader \"${n}\" \"x\";",
		   "error: line 4: addheader: the field name is not a valid RFC 5322 field-name\n"
		   "keep (implicit)\n");
	/* compile-time errors */
	assert_compile_error("addheader \"X\" \"y\";", "unknown command 'addheader'");
	assert_compile_error("require \"editheader\";\naddheader \"Bad Name\" \"y\";",
			     "line 2: addheader: invalid header field name 'Bad Name'");
	assert_compile_error("require \"editheader\";\naddheader \"X\" \"a\nb\";",
			     "not folding");
	assert_compile_error("require \"editheader\";\ndeleteheader :last \"X\";",
			     ":last requires :index");
	assert_compile_error("require \"editheader\";\ndeleteheader :index 0 \"X\";",
			     "from 1");
	assert_compile_error("require [\"editheader\", \"relational\"];\n"
			     "deleteheader :count \"eq\" \"X\" \"1\";", ":count");
}

/* ---- regex ---- */

static void test_regex(void **state)
{
	(void)state;
	assert_run("require [\"regex\", \"fileinto\"];\n"
		   "if header :regex \"subject\" \"^caf.* NEWS$\" { fileinto \"a\"; }",
		   "fileinto \"a\"\n");
	/* i;octet is case-sensitive */
	assert_run("require [\"regex\", \"fileinto\"];\n"
		   "if header :regex :comparator \"i;octet\" \"subject\" \"^caf\" { fileinto \"a\"; }",
		   "keep (implicit)\n");
	/* match variables from the groups */
	assert_run("require [\"regex\", \"fileinto\", \"variables\"];\n"
		   "if address :regex :all \"from\" \"^([a-z]+)\\\\+([a-z]+)@(x)?\" {\n"
		   "  fileinto \"${1}-${2}-${3}-${0}\"; }",
		   "fileinto \"Joe-Lists--Joe+Lists@\"\n");
	/* a pattern built from variables is compiled when used */
	assert_run("require [\"regex\", \"fileinto\", \"variables\"];\nset \"p\" \"ne(w)s\";\n"
		   "if header :regex \"subject\" \"${p}\" { fileinto \"${1}\"; }",
		   "fileinto \"w\"\n");
	assert_run("require [\"regex\", \"fileinto\", \"variables\"];\nset \"p\" \"(a)\\\\1\";\n"
		   "if header :regex \"subject\" \"${p}\" { fileinto \"x\"; }",
		   "error: line 3: regex: backreferences are not supported at offset 5 in '(a)\\1'\n"
		   "keep (implicit)\n");
	assert_compile_error("if header :regex \"subject\" \"x\" { keep; }",
			     "unknown tagged argument ':regex'");
	assert_compile_error("require \"regex\";\nif header :regex \"subject\" \"(a)\\\\1\" { keep; }",
			     "line 2: regex: backreferences are not supported");
	assert_compile_error("require \"regex\";\nif header :regex \"subject\" \"(\" { keep; }",
			     "unmatched (");
	assert_compile_error("require \"regex\";\nif header :regex \"subject\" \"a{1000}\" { keep; }",
			     "over 255");
	assert_compile_error("require [\"regex\", \"comparator-i;ascii-numeric\"];\n"
			     "if header :regex :comparator \"i;ascii-numeric\" \"x\" \"1\" { keep; }",
			     "i;octet and i;ascii-casemap");
	assert_compile_error("require [\"regex\", \"relational\"];\n"
			     "if header :regex :count \"eq\" \"x\" \"1\" { keep; }", "more than one match type");
}

/* ---- mime, foreverypart, extracttext (RFC 5703 3, 4, 7) ---- */

static void test_mime_rfc_examples(void **state)
{
	(void)state;
	/* 4.1 (the RFC's third example quotes the size, "100K", which RFC
	 * 5228 8.1 does not allow: a number here) */
	assert_run_msg("require [\"mime\", \"fileinto\"];\n"
		       "if header :mime :type \"Content-Type\" \"image\" { fileinto \"INBOX.images\"; }",
		       "Content-Type: image/png\r\n\r\nx", "fileinto \"INBOX.images\"\n");
	assert_run_msg("require [\"mime\", \"fileinto\"];\n"
		       "if header :mime :type \"Content-Type\" \"image\" { fileinto \"INBOX.images\"; }",
		       msg_mime, "keep (implicit)\n");
	assert_run_msg("require [\"mime\", \"fileinto\"];\n"
		       "if header :mime :anychild :contenttype\n"
		       "          \"Content-Type\" \"text/html\" { fileinto \"INBOX.html\"; }",
		       msg_mime, "fileinto \"INBOX.html\"\n");
	assert_run_msg("require [\"mime\", \"foreverypart\", \"fileinto\"];\n"
		       "foreverypart\n{\n"
		       "    if allof (\n"
		       "      header :mime :param \"filename\" :contains\n"
		       "         \"Content-Disposition\" \"important\",\n"
		       "      header :mime :subtype \"Content-Type\" \"pdf\",\n"
		       "      size :over 100)\n"
		       "    {\n"
		       "        fileinto \"INBOX.important\";\n"
		       "        break;\n"
		       "    }\n"
		       "}\n", msg_mime, "fileinto \"INBOX.important\"\n");
	/* 4.2: Content-From is only at the top level here, not in a part */
	assert_run_msg("require [\"mime\", \"fileinto\"];\n"
		       "if address :mime :is :all \"content-from\" \"tim@example.com\"\n"
		       "{ fileinto \"INBOX.part-from-tim\"; }",
		       msg_mime, "keep (implicit)\n");
	assert_run_msg("require [\"mime\", \"fileinto\"];\n"
		       "if address :mime :anychild :is :all \"content-from\" \"tim@example.com\"\n"
		       "{ fileinto \"INBOX.part-from-tim\"; }",
		       msg_mime, "fileinto \"INBOX.part-from-tim\"\n");
	/* 4.3 */
	assert_run_msg("require [\"mime\", \"fileinto\"];\n"
		       "if exists :mime :anychild \"content-md5\" { fileinto \"INBOX.md5\"; }",
		       msg_mime, "fileinto \"INBOX.md5\"\n");
	assert_run_msg("require [\"mime\", \"fileinto\"];\n"
		       "if exists :mime \"content-md5\" { fileinto \"INBOX.md5\"; }",
		       msg_mime, "keep (implicit)\n");
}

static void test_foreverypart(void **state)
{
	(void)state;
	/* the order of the parts, the message first */
	assert_run_msg("require [\"mime\", \"foreverypart\", \"variables\", \"fileinto\"];\n"
		       "foreverypart { if header :mime :contenttype :matches \"content-type\" \"*\" {\n"
		       "  set \"all\" \"${all} ${1}\"; } }\nfileinto \"${all}\";",
		       msg_mime, "fileinto \" multipart/mixed text/plain multipart/alternative "
		       "text/plain text/html application/pdf\"\n");
	/* a nested loop walks the current part's children; break :name
	 * leaves the outer loop */
	assert_run_msg("require [\"mime\", \"foreverypart\", \"variables\", \"fileinto\"];\n"
		       "foreverypart :name \"outer\" {\n"
		       "  set \"n\" \"${n}o\";\n"
		       "  foreverypart {\n"
		       "    set \"n\" \"${n}i\";\n"
		       "    if header :mime :subtype \"content-type\" \"html\" { break :name \"outer\"; }\n"
		       "  }\n"
		       "}\nfileinto \"${n}\";",
		       msg_mime, "fileinto \"oiiii\"\n");
	/* break without a name leaves the innermost loop only */
	assert_run_msg("require [\"mime\", \"foreverypart\", \"variables\", \"fileinto\"];\n"
		       "foreverypart { set \"n\" \"${n}o\"; foreverypart { set \"n\" \"${n}i\"; break; } }\n"
		       "fileinto \"${n}\";", msg_mime, "fileinto \"oiooiooo\"\n");
	/* :anychild inside a loop: the current part and below */
	assert_run_msg("require [\"mime\", \"foreverypart\", \"variables\", \"fileinto\"];\n"
		       "foreverypart { if header :mime :anychild :subtype \"content-type\" \"html\" {\n"
		       "  set \"n\" \"${n}x\"; } }\nfileinto \"${n}\";", msg_mime, "fileinto \"xxx\"\n");
	/* :index (RFC 5260) still applies with :mime */
	assert_run_msg("require [\"mime\", \"index\", \"fileinto\"];\n"
		       "if header :mime :index 2 :contains \"to\" \"second\" { fileinto \"second\"; }\n"
		       "if header :mime :index 1 :last :contenttype \"content-type\" \"text/plain\"\n"
		       "{ fileinto \"last-plain\"; }",
		       "To: first@example.com\r\nTo: second@example.com\r\n"
		       "Content-Type: text/html\r\nContent-Type: text/plain\r\n\r\nx",
		       "fileinto \"second\"\nfileinto \"last-plain\"\n");
	/* :param with :count */
	assert_run_msg("require [\"mime\", \"foreverypart\", \"relational\", \"fileinto\"];\n"
		       "if header :mime :anychild :param [\"charset\", \"name\"] :count \"eq\"\n"
		       "  \"content-type\" \"1\" { fileinto \"one\"; }", msg_mime, "fileinto \"one\"\n");
	assert_compile_error("require \"foreverypart\";\nbreak;", "break outside a foreverypart");
	assert_compile_error("require \"foreverypart\";\nforeverypart :name \"a\" { break :name \"b\"; }",
			     "no enclosing foreverypart loop has this :name");
	assert_compile_error("require \"mime\";\nif header :anychild \"a\" \"b\" { keep; }",
			     ":anychild needs :mime");
	assert_compile_error("require \"mime\";\nif header :type \"a\" \"b\" { keep; }",
			     ":type needs :mime");
	assert_compile_error("require \"mime\";\nif header :mime :type :subtype \"a\" \"b\" { keep; }",
			     "exclude each other");
	assert_compile_error("if header :mime \"a\" \"b\" { keep; }", "unknown tagged argument ':mime'");
	assert_compile_error("foreverypart { keep; }", "unknown command 'foreverypart'");
}

static void test_extracttext(void **state)
{
	(void)state;
	assert_run_msg("require [\"mime\", \"foreverypart\", \"extracttext\", \"variables\", \"fileinto\"];\n"
		       "foreverypart { if header :mime :subtype \"content-type\" \"plain\" {\n"
		       "  extracttext :first 4 :upper \"t\"; fileinto \"${t}\"; break; } }",
		       msg_mime, "fileinto \"CAF\xc3\xa9\"\n");
	assert_compile_error("require [\"extracttext\", \"variables\"];\nextracttext \"t\";",
			     "extracttext outside a foreverypart loop");
	assert_compile_error("require [\"extracttext\", \"foreverypart\"];\n"
			     "foreverypart { extracttext \"t\"; }", "require \"variables\"");
}

static void test_replace_enclose(void **state)
{
	(void)state;
	/* a part in a loop */
	assert_run_has("require [\"mime\", \"foreverypart\", \"replace\"];\n"
		       "foreverypart { if header :mime :subtype \"content-type\" \"pdf\" {\n"
		       "  replace \"The attachment was removed.\"; } }",
		       msg_mime, "--outer\r\nContent-Type: text/plain; charset=utf-8\r\n"
		       "Content-Transfer-Encoding: 7bit\r\n\r\nThe attachment was removed.\r\n--outer--\r\n");
	/* after a multipart is replaced the loop does not go into its old
	 * children, and later tests see the new structure */
	assert_run_msg("require [\"mime\", \"foreverypart\", \"replace\", \"variables\", \"fileinto\"];\n"
		       "foreverypart { if header :mime :contenttype :matches \"content-type\" \"*\" {\n"
		       "  set \"all\" \"${all} ${1}\"; }\n"
		       "  if header :mime :subtype \"content-type\" \"alternative\" { replace \"x\"; } }\n"
		       "if not header :mime :anychild :subtype \"content-type\" \"html\" {\n"
		       "  fileinto \"${all}\"; }\ndiscard;",
		       msg_mime, "fileinto \" multipart/mixed text/plain multipart/alternative "
		       "application/pdf\"\ndiscard\n---\n"
		       "From: alice@example.com\r\nTo: bob@example.com\r\nSubject: Report\r\n"
		       "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"outer\"\r\n\r\n"
		       "--outer\r\nContent-Type: text/plain; charset=iso-8859-1\r\n"
		       "Content-Transfer-Encoding: quoted-printable\r\n"
		       "Content-From: Tim <tim@example.com>\r\n\r\nCaf=E9 au lait\r\n"
		       "--outer\r\nContent-Type: text/plain; charset=utf-8\r\n"
		       "Content-Transfer-Encoding: 7bit\r\n\r\nx\r\n"
		       "--outer\r\nContent-Type: application/pdf; name=\"x.pdf\"\r\n"
		       "Content-Disposition: attachment; filename=\"very-important.pdf\"\r\n"
		       "Content-Transfer-Encoding: base64\r\n\r\nJVBERi0=\r\n--outer--\r\n");
	/* the whole message, with :subject and :from */
	assert_run_msg("require \"replace\";\n"
		       "replace :subject \"Removed\" :from \"filter@example.org\" \"Gone.\";",
		       msg_mime, "keep (implicit)\n---\n"
		       "Original-From: alice@example.com\r\nTo: bob@example.com\r\n"
		       "Original-Subject: Report\r\nSubject: Removed\r\nFrom: filter@example.org\r\n"
		       "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
		       "Content-Transfer-Encoding: 7bit\r\n\r\nGone.\r\n");
	assert_compile_error("require \"replace\";\nreplace :mime :subject \"a\" \"b\";",
			     ":mime excludes :subject and :from");
	assert_run("require \"replace\";\nreplace :from \"not an address\" \"x\";",
		   "error: line 2: replace: the :from is not a valid mailbox-list\nkeep (implicit)\n");
	/* enclose: the original as message/rfc822, Subject, Date and From
	 * synthesized; later tests see the new message */
	assert_run_has("require [\"enclose\", \"mime\", \"fileinto\"];\n"
		       "enclose :subject \"Quarantined\" \"This message was quarantined.\";\n"
		       "if header :mime :anychild :contenttype \"content-type\" \"message/rfc822\" {\n"
		       "  fileinto \"Quarantine\"; }",
		       msg_plain, "fileinto \"Quarantine\"\n---\nSubject: Quarantined\r\n"
		       "Date: Mon, 07 Dec 2026 22:00:00 +0000\r\nFrom: me@example.org\r\n"
		       "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"roost-enclose-");
	assert_run_has("require \"enclose\";\nenclose :headers [\"from\", \"to\"] \"See attached.\";",
		       msg_plain, "---\nFrom: \"Joe Q\" <Joe+Lists@Example.COM>\r\nTo: me@example.org\r\n"
		       "Subject: =?utf-8?q?Caf=C3=A9?= news\r\nDate: ");
}

/* RFC 5703 6: enclose "does not affect messages that are forwarded via
 * a "redirect" action": the redirect carries the message as it was
 * before the enclose, editheader changes made until then included. */
static void test_enclose_redirect(void **state)
{
	static const char script[] =
		"require [\"enclose\", \"editheader\"];\n"
		"addheader \"X-Before\" \"1\";\n"
		"enclose \"wrapped\";\n"
		"addheader \"X-After\" \"1\";\n"
		"redirect \"a@example.com\";\nkeep;";
	struct sieve_limits limits;
	struct str errors = STR_INIT;
	struct sieve_message m = { .data = msg_plain, .size = strlen(msg_plain) };
	struct sieve_result result;
	struct sieve_script *s;
	char *before = xasprintf("X-Before: 1\r\n%s", msg_plain);

	(void)state;
	sieve_limits_default(&limits);
	s = sieve_compile("t", script, strlen(script), &limits, &errors);
	assert_non_null(s);
	assert_int_equal(sieve_execute(s, &m, NULL, &limits, &result), 0);
	assert_true(result.message_changed);
	assert_true(strncmp(result.message, "X-After: 1\r\n", 12) == 0);
	assert_non_null(memmem(result.message, result.message_size, before, strlen(before)));
	assert_int_equal(result.action_count, 2);
	assert_int_equal(result.actions[0].kind, SIEVE_ACT_REDIRECT);
	assert_int_equal(result.actions[0].redirect_message_size, strlen(before));
	assert_memory_equal(result.actions[0].redirect_message, before, strlen(before));
	assert_null(result.actions[1].redirect_message);
	sieve_result_free(&result);
	sieve_script_free(&s);
	free(before);
	str_free(&errors);
}

/* ---- enotify and mailto (RFC 5435, 5436) ---- */

static void test_enotify(void **state)
{
	(void)state;
	/* RFC 5436 3 */
	assert_run_msg("require [\"enotify\", \"variables\"];\n"
		       "if header :contains \"list-id\" \"knitting.example.com\" {\n"
		       "  if header :matches \"Subject\" \"[*] *\" {\n"
		       "    notify :message \"From ${1} list: ${2}\"\n"
		       "        :importance \"3\"\n"
		       "        \"mailto:0123456789@sms.example.net?to=backup@example.com\";\n"
		       "  }\n"
		       "}\n", msg_knitting,
		       "notify \"mailto:0123456789@sms.example.net?to=backup@example.com\"\n"
		       "keep (implicit)\n");
	/* RFC 5435 4, 5 */
	assert_run("require [\"enotify\", \"fileinto\"];\n"
		   "if valid_notify_method [\"mailto:a@example.com\", \"mailto:b@example.com?subject=x\"]\n"
		   "{ fileinto \"ok\"; }", "fileinto \"ok\"\n");
	assert_run("require [\"enotify\", \"fileinto\"];\n"
		   "if valid_notify_method [\"mailto:a@example.com\", \"http://gw.example.net/notify?test\"]\n"
		   "{ fileinto \"ok\"; }", "keep (implicit)\n");
	assert_run("require [\"enotify\", \"fileinto\"];\n"
		   "if valid_notify_method \"mailto:\" { fileinto \"ok\"; }", "fileinto \"ok\"\n");
	/* a URI without recipients notifies nobody (as Pigeonhole) */
	assert_run("require \"enotify\";\nnotify \"mailto:?subject=x\";", "keep (implicit)\n");
	assert_run("require [\"enotify\", \"fileinto\"];\n"
		   "if notify_method_capability \"mailto:a@example.com\" \"Online\" \"maybe\"\n"
		   "{ fileinto \"maybe\"; }", "fileinto \"maybe\"\n");
	assert_run("require [\"enotify\", \"fileinto\"];\n"
		   "if notify_method_capability \"mailto:a@example.com\" \"online\" \"yes\"\n"
		   "{ fileinto \"yes\"; }", "keep (implicit)\n");
	assert_run("require [\"enotify\", \"fileinto\"];\n"
		   "if notify_method_capability \"xmpp:tim@example.com\" \"online\" \"maybe\"\n"
		   "{ fileinto \"x\"; }", "keep (implicit)\n");
	assert_run("require [\"enotify\", \"fileinto\"];\n"
		   "if notify_method_capability \"mailto:a@example.com\" \"battery\" \"maybe\"\n"
		   "{ fileinto \"x\"; }", "keep (implicit)\n");
	/* RFC 5435 6: :encodeurl */
	assert_run("require [\"enotify\", \"variables\"];\n"
		   "set :encodeurl \"body_param\" \"Safe body&evil=evilbody\";\n"
		   "notify \"mailto:tim@example.com?body=${body_param}\";",
		   "notify \"mailto:tim@example.com?body=Safe%20body%26evil%3Devilbody\"\nkeep (implicit)\n");
	/* the same URI twice notifies once; an Auto-Submitted message none */
	assert_run("require \"enotify\";\nnotify \"mailto:a@example.com\";\nnotify \"mailto:a@example.com\";",
		   "notify \"mailto:a@example.com\"\nkeep (implicit)\n");
	assert_run_msg("require \"enotify\";\nnotify \"mailto:a@example.com\";",
		       "Auto-Submitted: auto-replied\r\n\r\nx", "keep (implicit)\n");
	assert_run_msg("require \"enotify\";\nnotify \"mailto:a@example.com\";",
		       "Auto-Submitted: no\r\n\r\nx", "notify \"mailto:a@example.com\"\nkeep (implicit)\n");
	/* errors */
	assert_compile_error("require \"enotify\";\nnotify \"xmpp:a@example.com\";",
			     "invalid or unsupported notification method");
	assert_compile_error("require \"enotify\";\nnotify :importance \"4\" \"mailto:a@example.com\";",
			     ":importance");
	assert_compile_error("require \"enotify\";\nnotify :from \"x\" \"mailto:a@example.com\";",
			     "invalid :from");
	assert_compile_error("require \"enotify\";\n"
			     "notify :from \"a@example.com\r\nBcc: b@example.com\" \"mailto:a@example.com\";",
			     "invalid :from");
	assert_compile_error("require \"variables\";\nset :encodeurl \"a\" \"b\";",
			     "unknown tagged argument ':encodeurl'");
	assert_run("require [\"enotify\", \"variables\"];\nset \"m\" \"mailto:%zz\";\nnotify \"${m}\";",
		   "error: line 3: notify: mailto URI: invalid recipient \"%zz\"\nkeep (implicit)\n");
}

/* ---- imapsieve (RFC 6785) ---- */

static const char *imap_env_item(void *ctx, const char *item)
{
	(void)ctx;
	if (strcmp(item, "imap.user") == 0)
		return "tim";
	if (strcmp(item, "imap.changedflags") == 0)
		return "\\Flagged";
	if (strcmp(item, "location") == 0)
		return "MDA";
	return NULL;
}

/* Runs `script` as on an IMAP event `cause` in mailbox `mailbox`. */
static char *run_imap(const char *script, const char *cause, const char *mailbox)
{
	const char *const flags[] = { "\\Flagged", "$Label1", NULL };
	struct sieve_env env = { .environment = imap_env_item, .imap_cause = cause,
		.imap_mailbox = mailbox, .imap_flags = flags };
	struct sieve_message m = { .data = msg_plain, .size = strlen(msg_plain) };
	struct sieve_limits limits;
	struct str errors = STR_INIT, out = STR_INIT;
	struct sieve_result result;
	struct sieve_script *s;

	sieve_limits_default(&limits);
	s = sieve_compile("t", script, strlen(script), &limits, &errors);
	if (s == NULL)
		fail_msg("%s", str_c(&errors));
	(void)sieve_execute(s, &m, &env, &limits, &result);
	sieve_result_describe(&result, &out);
	sieve_result_free(&result);
	sieve_script_free(&s);
	str_free(&errors);
	return str_steal(&out);
}

#define assert_run_imap(script, cause, mailbox, expected) do { \
		char *got_ = run_imap(script, cause, mailbox); \
		assert_string_equal(got_, expected); \
		free(got_); \
	} while (0)

static void test_imapsieve(void **state)
{
	/* RFC 6785 5, example 1 */
	static const char ex1[] =
		"require [\"copy\", \"environment\", \"imapsieve\"];\n"
		"if anyof (environment :is \"imap.cause\" \"APPEND\",\n"
		"          environment :is \"imap.cause\" \"COPY\")  {\n"
		"    if environment :is \"imap.mailbox\" \"ActionItems\" {\n"
		"        redirect :copy \"actionitems@example.com\";\n"
		"    }\n"
		"}\n";
	/* example 2, with a mailto method (Roost has no xmpp) */
	static const char ex2[] =
		"require [\"enotify\", \"imap4flags\", \"variables\",\n"
		"         \"environment\", \"imapsieve\"];\n"
		"if environment :matches \"imap.mailbox\" \"*\" {\n"
		"    set \"mailbox\" \"${1}\";\n"
		"}\n"
		"if allof (hasflag \"\\\\Flagged\",\n"
		"          environment :contains \"imap.changedflags\" \"\\\\Flagged\") {\n"
		"  notify :message \"Important message in ${mailbox}\"\n"
		"      \"mailto:tim@example.com?subject=SIEVE\";\n"
		"}\n";

	(void)state;
	assert_run_imap(ex1, "COPY", "ActionItems",
			"redirect \"actionitems@example.com\"\nkeep (implicit) :flags \\Flagged $Label1\n");
	assert_run_imap(ex1, "FLAG", "ActionItems", "keep (implicit) :flags \\Flagged $Label1\n");
	assert_run_imap(ex1, "APPEND", "INBOX", "keep (implicit) :flags \\Flagged $Label1\n");
	assert_run_imap(ex2, "FLAG", "Work",
			"notify \"mailto:tim@example.com?subject=SIEVE\"\n"
			"keep (implicit) :flags \\Flagged $Label1\n");
	assert_run_imap(ex2, "COPY", "Work", "keep (implicit) :flags \\Flagged $Label1\n");
	/* location and phase (4.1); imap.user from the caller (4.2) */
	assert_run_imap("require [\"environment\", \"imapsieve\", \"fileinto\"];\n"
			"if allof (environment \"location\" \"MS\", environment \"phase\" \"post\",\n"
			"  environment \"imap.user\" \"tim\", environment \"imap.email\" \"\")\n"
			"{ fileinto \"ok\"; }", "APPEND", "INBOX",
			"fileinto \"ok\"\n");
	/* 3.11 and 4.6: run-time errors on an IMAP event */
	assert_run_imap("require [\"vacation\", \"imapsieve\"];\nkeep;", "APPEND", "INBOX",
			"error: line 1: vacation cannot be used on an IMAP event (RFC 6785 3.11)\n"
			"keep (implicit)\n");
	assert_run_imap("require [\"envelope\", \"imapsieve\"];\n"
			"if envelope \"from\" \"x\" { keep; }", "APPEND", "INBOX",
			"error: line 2: envelope cannot be used on an IMAP event (RFC 6785)\n"
			"keep (implicit)\n");
	/* a delivery: the imap.* items are empty, the rest is the caller's */
	assert_run("require [\"environment\", \"imapsieve\", \"fileinto\"];\n"
		   "if allof (environment :is \"imap.cause\" \"\", environment :is \"imap.mailbox\" \"\")\n"
		   "{ fileinto \"delivery\"; }", "fileinto \"delivery\"\n");
}

static void test_capabilities(void **state)
{
	const char *caps = sieve_extensions();

	(void)state;
	assert_non_null(strstr(caps, " editheader"));
	assert_non_null(strstr(caps, " regex"));
	assert_non_null(strstr(caps, " mime"));
	assert_non_null(strstr(caps, " foreverypart"));
	assert_non_null(strstr(caps, " extracttext"));
	assert_non_null(strstr(caps, " replace"));
	assert_non_null(strstr(caps, " enotify"));
	assert_non_null(strstr(caps, " imapsieve"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_editheader_rfc_examples),
		cmocka_unit_test(test_editheader_rules),
		cmocka_unit_test(test_regex),
		cmocka_unit_test(test_mime_rfc_examples),
		cmocka_unit_test(test_foreverypart),
		cmocka_unit_test(test_extracttext),
		cmocka_unit_test(test_replace_enclose),
		cmocka_unit_test(test_enclose_redirect),
		cmocka_unit_test(test_enotify),
		cmocka_unit_test(test_imapsieve),
		cmocka_unit_test(test_capabilities),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
