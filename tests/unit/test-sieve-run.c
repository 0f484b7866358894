/* test-sieve-run.c: Sieve on delivery (sieve/run.h, sieve/apply.h).
 *
 * The first half applies results made by hand (sieve_apply_result()):
 * where each action files the message and with which flags, the INBOX
 * fallback of a missing mailbox, :create, discard, ereject's reason, a
 * changed message, the shared copy, the duplicate marks, and a redirect
 * that cannot be sent keeping the message.  The second half runs real
 * scripts from the store and from roost.conf's files through
 * sieve_run_deliver(): the compiled-script cache follows a changed
 * script, a broken or failing script keeps the message, sieve_before
 * and sieve_after run around the user's, sieve_default stands in for a
 * missing user script. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/base.h"
#include "base/istream.h"
#include "base/pool.h"
#include "conf/conf.h"
#include "sieve/apply.h"
#include "sieve/run.h"
#include "store/store.h"
#include "store-fixture.h"
#include "testlib.h"

static const char test_msg[] =
	"From: alice@example.org\r\n"
	"To: bob@example.org\r\n"
	"Subject: hello there\r\n"
	"\r\n"
	"Body text.\r\n";

/* A delivery of test_msg to user demo, with its config and store. */
struct fx {
	struct roost_config *config;
	struct store *store;
	struct istream *spool;
	struct str prefix;
	struct sieve_delivery d;
	const char *addresses[2];
	struct sieve_apply_env env;
};

static void fx_init(struct fx *fx)
{
	char *error = NULL;
	memset(fx, 0, sizeof(*fx));
	fx->config = config_load(NULL, &error);
	assert_non_null(fx->config);
	fx->store = open_store("demo");
	fx->spool = istream_from_memory(test_msg, strlen(test_msg));
	str_append(&fx->prefix, "Return-Path: <alice@example.org>\r\n");
	fx->d.config = fx->config;
	fx->d.store = fx->store;
	fx->d.user = "demo";
	fx->d.prefix = &fx->prefix;
	fx->d.spool = fx->spool;
	fx->d.size = strlen(test_msg);
	fx->d.envelope_from = "alice@example.org";
	fx->d.envelope_to = "demo@example.org";
	fx->d.log_prefix = "test";
	fx->d.now = 2000000000;
	fx->addresses[0] = "demo@example.org";
	fx->env.user_addresses = fx->addresses;
}

static void fx_deinit(struct fx *fx)
{
	istream_destroy(&fx->spool);
	str_free(&fx->prefix);
	store_close(&fx->store);
	config_free(&fx->config);
	sieve_run_cache_clear();
}

static void fx_set(char **field, const char *value)
{
	free(*field);
	*field = xstrdup(value);
}

/* A result holding `count` actions (zeroed, for the test to fill). */
static void result_init(struct sieve_result *r, size_t count)
{
	memset(r, 0, sizeof(*r));
	r->pool = pool_create(0);
	r->actions = p_malloc(r->pool, (count == 0 ? 1 : count) * sizeof(*r->actions));
	r->action_count = count;
	r->message = test_msg;
	r->message_size = strlen(test_msg);
}

/* The number of messages in `mailbox` of the fixture's store (-1 when
 * it does not exist), and the flags and text of the last one. */
static int box_count(struct fx *fx, const char *mailbox, uint32_t *flags_r,
		     char **keywords_r, char **text_r)
{
	struct store_mailbox *box;
	if (store_mailbox_open(fx->store, mailbox, true, &box) < 0)
		return -1;
	assert_int_equal(store_mailbox_sync(box, 0, NULL, NULL), 0);
	uint32_t count = store_mailbox_count(box);
	if (count > 0) {
		const struct store_msg *m = store_mailbox_msg(box, count);
		if (flags_r != NULL)
			*flags_r = m->flags;
		if (keywords_r != NULL) {
			size_t kw_count;
			const char *const *names = store_mailbox_keywords(box, &kw_count);
			struct str kw = STR_INIT;
			for (size_t i = 0; i < kw_count; i++) {
				if ((m->keywords & ((store_keywords_t)1 << i)) != 0)
					str_printfa(&kw, "%s%s", kw.len > 0 ? " " : "", names[i]);
			}
			*keywords_r = kw.len > 0 ? str_steal(&kw) : xstrdup("");
		}
		if (text_r != NULL)
			*text_r = read_msg(box, count);
	}
	store_mailbox_close(&box);
	return (int)count;
}

/* ---- results made by hand ---- */

static void test_implicit_keep_into_inbox(void **state)
{
	(void)state;
	struct fx fx;
	struct sieve_result r;
	struct sieve_delivery_result res;
	char *text;

	fx_init(&fx);
	result_init(&r, 1);
	r.actions[0].kind = SIEVE_ACT_KEEP;
	r.actions[0].implicit = true;
	assert_int_equal(sieve_apply_result(&fx.d, &r, &fx.env, &res), 0);
	assert_int_equal(res.status, SIEVE_DELIVERY_STORED);
	assert_int_equal(res.copies, 1);
	assert_string_equal(res.mailbox, "INBOX");
	assert_int_equal(box_count(&fx, "INBOX", NULL, NULL, &text), 1);
	/* the prefix (trace headers) and the spool, as stored without Sieve */
	assert_true(strncmp(text, "Return-Path: <alice@example.org>\r\nFrom: alice", 45) == 0);
	free(text);
	pool_destroy(&r.pool);
	fx_deinit(&fx);
}

static void test_fileinto_flags_and_keywords(void **state)
{
	(void)state;
	struct fx fx;
	struct sieve_result r;
	struct sieve_delivery_result res;
	static const char *const flags[] = { "\\seen $Label1", "\\Flagged", "bad]kw", "\\Recent" };
	uint32_t mflags;
	char *kw;

	fx_init(&fx);
	assert_int_equal(store_mailbox_create(fx.store, "Work", 0), 0);
	result_init(&r, 1);
	r.actions[0].kind = SIEVE_ACT_FILEINTO;
	r.actions[0].mailbox = "Work";
	r.actions[0].flags = flags;
	r.actions[0].flag_count = 4;
	assert_int_equal(sieve_apply_result(&fx.d, &r, &fx.env, &res), 0);
	assert_int_equal(res.status, SIEVE_DELIVERY_STORED);
	assert_string_equal(res.mailbox, "Work");
	assert_int_equal(box_count(&fx, "Work", &mflags, &kw, NULL), 1);
	/* RFC 5232: system flags in any case; what IMAP cannot store is
	 * dropped (a keyword with ']', \Recent) */
	assert_int_equal(mflags, STORE_FLAG_SEEN | STORE_FLAG_FLAGGED);
	assert_string_equal(kw, "$Label1");
	free(kw);
	assert_int_equal(box_count(&fx, "INBOX", NULL, NULL, NULL), 0);
	pool_destroy(&r.pool);
	fx_deinit(&fx);
}

static void test_fileinto_missing_mailbox_falls_back_to_inbox(void **state)
{
	(void)state;
	struct fx fx;
	struct sieve_result r;
	struct sieve_delivery_result res;

	fx_init(&fx);
	result_init(&r, 1);
	r.actions[0].kind = SIEVE_ACT_FILEINTO;
	r.actions[0].mailbox = "Nowhere";
	assert_int_equal(sieve_apply_result(&fx.d, &r, &fx.env, &res), 0);
	assert_int_equal(res.status, SIEVE_DELIVERY_STORED);
	assert_string_equal(res.mailbox, "INBOX");
	/* RFC 5490: only :create creates it */
	assert_int_equal(box_count(&fx, "Nowhere", NULL, NULL, NULL), -1);
	assert_int_equal(box_count(&fx, "INBOX", NULL, NULL, NULL), 1);
	pool_destroy(&r.pool);
	/* with a keep as well: still one copy in INBOX */
	result_init(&r, 2);
	r.actions[0].kind = SIEVE_ACT_FILEINTO;
	r.actions[0].mailbox = "Nowhere";
	r.actions[1].kind = SIEVE_ACT_KEEP;
	assert_int_equal(sieve_apply_result(&fx.d, &r, &fx.env, &res), 0);
	assert_int_equal(res.copies, 1);
	assert_int_equal(box_count(&fx, "INBOX", NULL, NULL, NULL), 2);
	pool_destroy(&r.pool);
	fx_deinit(&fx);
}

static void test_fileinto_create(void **state)
{
	(void)state;
	struct fx fx;
	struct sieve_result r;
	struct sieve_delivery_result res;

	fx_init(&fx);
	result_init(&r, 2);
	r.actions[0].kind = SIEVE_ACT_FILEINTO;
	r.actions[0].mailbox = "Lists/roost";
	r.actions[0].create = true;
	/* the same mailbox twice is one copy (RFC 5228 2.10.3) */
	r.actions[1] = r.actions[0];
	assert_int_equal(sieve_apply_result(&fx.d, &r, &fx.env, &res), 0);
	assert_int_equal(res.copies, 1);
	assert_int_equal(box_count(&fx, "Lists/roost", NULL, NULL, NULL), 1);
	/* :create of a mailbox that exists files into it */
	assert_int_equal(sieve_apply_result(&fx.d, &r, &fx.env, &res), 0);
	assert_int_equal(box_count(&fx, "Lists/roost", NULL, NULL, NULL), 2);
	assert_int_equal(box_count(&fx, "INBOX", NULL, NULL, NULL), 0);
	pool_destroy(&r.pool);
	fx_deinit(&fx);
}

static void test_keep_and_fileinto_two_copies(void **state)
{
	(void)state;
	struct fx fx;
	struct sieve_result r;
	struct sieve_delivery_result res;

	fx_init(&fx);
	assert_int_equal(store_mailbox_create(fx.store, "Lists", 0), 0);
	/* keep goes to the delivery's own mailbox (a +detail one) */
	fx.d.mailbox = "Lists";
	result_init(&r, 2);
	r.actions[0].kind = SIEVE_ACT_FILEINTO;
	r.actions[0].mailbox = "Archive";
	r.actions[1].kind = SIEVE_ACT_KEEP;
	assert_int_equal(sieve_apply_result(&fx.d, &r, &fx.env, &res), 0);
	assert_int_equal(res.copies, 2);
	assert_string_equal(res.mailbox, "Archive");
	assert_int_equal(box_count(&fx, "Archive", NULL, NULL, NULL), 1);
	assert_int_equal(box_count(&fx, "Lists", NULL, NULL, NULL), 1);
	/* a +detail mailbox that does not exist: INBOX */
	fx.d.mailbox = "Gone";
	assert_int_equal(sieve_apply_keep(&fx.d, &res), 0);
	assert_string_equal(res.mailbox, "INBOX");
	assert_int_equal(box_count(&fx, "INBOX", NULL, NULL, NULL), 1);
	pool_destroy(&r.pool);
	fx_deinit(&fx);
}

static void test_discard_stores_nothing(void **state)
{
	(void)state;
	struct fx fx;
	struct sieve_result r;
	struct sieve_delivery_result res;

	fx_init(&fx);
	result_init(&r, 1);
	r.actions[0].kind = SIEVE_ACT_DISCARD;
	assert_int_equal(sieve_apply_result(&fx.d, &r, &fx.env, &res), 0);
	assert_int_equal(res.status, SIEVE_DELIVERY_DISCARDED);
	assert_int_equal(res.copies, 0);
	assert_int_equal(box_count(&fx, "INBOX", NULL, NULL, NULL), 0);
	/* an empty result is no discard: implicit keep */
	r.action_count = 0;
	assert_int_equal(sieve_apply_result(&fx.d, &r, &fx.env, &res), 0);
	assert_int_equal(res.status, SIEVE_DELIVERY_STORED);
	assert_int_equal(box_count(&fx, "INBOX", NULL, NULL, NULL), 1);
	/* nor is a notify alone (it does not cancel implicit keep) */
	r.actions[0].kind = SIEVE_ACT_NOTIFY;
	r.actions[0].method = "mailto:x@example.net";
	r.action_count = 1;
	assert_int_equal(sieve_apply_result(&fx.d, &r, &fx.env, &res), 0);
	assert_int_equal(res.status, SIEVE_DELIVERY_STORED);
	assert_int_equal(box_count(&fx, "INBOX", NULL, NULL, NULL), 2);
	pool_destroy(&r.pool);
	fx_deinit(&fx);
}

static void test_ereject_reason(void **state)
{
	(void)state;
	struct fx fx;
	struct sieve_result r;
	struct sieve_delivery_result res;

	fx_init(&fx);
	result_init(&r, 1);
	r.actions[0].kind = SIEVE_ACT_EREJECT;
	r.actions[0].reason = "  No\r\n  thanks\tplease ";
	assert_int_equal(sieve_apply_result(&fx.d, &r, &fx.env, &res), 0);
	assert_int_equal(res.status, SIEVE_DELIVERY_REJECTED);
	assert_string_equal(res.reason, "No thanks please");
	assert_int_equal(box_count(&fx, "INBOX", NULL, NULL, NULL), 0);
	/* RFC 5429 2.1.1: non-ASCII is replaced at the protocol level */
	r.actions[0].reason = "Nein, danke sch\xc3\xb6n";
	assert_int_equal(sieve_apply_result(&fx.d, &r, &fx.env, &res), 0);
	assert_int_equal(res.status, SIEVE_DELIVERY_REJECTED);
	assert_string_equal(res.reason, "Message rejected by the recipient's mail filter");
	/* a reason longer than a reply line is cut */
	char *longer = xmalloc(2000);
	memset(longer, 'x', 1999);
	longer[1999] = '\0';
	r.actions[0].reason = longer;
	assert_int_equal(sieve_apply_result(&fx.d, &r, &fx.env, &res), 0);
	assert_int_equal(strlen(res.reason), SIEVE_REJECT_REASON_MAX);
	free(longer);
	pool_destroy(&r.pool);
	fx_deinit(&fx);
}

static void test_changed_message_stored(void **state)
{
	(void)state;
	struct fx fx;
	struct sieve_result r;
	struct sieve_delivery_result res;
	static const char changed[] = "X-Added: yes\r\nSubject: new\r\n\r\nbody\r\n";
	char *text;

	fx_init(&fx);
	result_init(&r, 1);
	r.actions[0].kind = SIEVE_ACT_KEEP;
	r.message = changed;
	r.message_size = strlen(changed);
	r.message_changed = true;
	assert_int_equal(sieve_apply_result(&fx.d, &r, &fx.env, &res), 0);
	assert_int_equal(box_count(&fx, "INBOX", NULL, NULL, &text), 1);
	assert_string_equal(text, changed);
	free(text);
	pool_destroy(&r.pool);
	fx_deinit(&fx);
}

static void test_shared_copy(void **state)
{
	(void)state;
	struct fx fx;
	struct sieve_result r;
	struct sieve_delivery_result res;
	static const char *const seen[] = { "\\Seen" };
	uint32_t flags;
	char *text;

	fx_init(&fx);
	struct store_message *msg = shared_message(test_msg);
	fx.d.shared = msg;
	fx.d.prefix = NULL;
	result_init(&r, 2);
	r.actions[0].kind = SIEVE_ACT_FILEINTO;
	r.actions[0].mailbox = "Archive";
	r.actions[0].flags = seen;
	r.actions[0].flag_count = 1;
	r.actions[1].kind = SIEVE_ACT_KEEP;
	assert_int_equal(sieve_apply_result(&fx.d, &r, &fx.env, &res), 0);
	assert_int_equal(res.copies, 2);
	assert_int_equal(box_count(&fx, "Archive", &flags, NULL, &text), 1);
	assert_int_equal(flags, STORE_FLAG_SEEN);
	assert_string_equal(text, test_msg);
	free(text);
	assert_int_equal(box_count(&fx, "INBOX", &flags, NULL, NULL), 1);
	assert_int_equal(flags, 0);
	store_message_free(&msg);
	pool_destroy(&r.pool);
	fx_deinit(&fx);
}

static void test_duplicate_marks_after_delivery(void **state)
{
	(void)state;
	struct fx fx;
	struct sieve_result r;
	struct sieve_delivery_result res;
	struct sieve_duplicate_mark mark = { .id = "msgid-1", .id_len = 7, .period = 600 };
	struct str key = STR_INIT;

	fx_init(&fx);
	result_init(&r, 1);
	r.actions[0].kind = SIEVE_ACT_KEEP;
	r.duplicates = &mark;
	r.duplicate_count = 1;
	sieve_apply_track_key(&key, 'D', "msgid-1", 7);
	assert_int_equal(store_sieve_track_seen(fx.store, key.data, key.len, fx.d.now), 0);
	assert_int_equal(sieve_apply_result(&fx.d, &r, &fx.env, &res), 0);
	assert_int_equal(store_sieve_track_seen(fx.store, key.data, key.len, fx.d.now), 1);
	assert_int_equal(store_sieve_track_seen(fx.store, key.data, key.len,
						fx.d.now + 600), 0);
	/* the vacation memory of the same id is another key */
	sieve_apply_track_key(&key, 'V', "msgid-1", 7);
	assert_int_equal(store_sieve_track_seen(fx.store, key.data, key.len, fx.d.now), 0);
	str_free(&key);
	pool_destroy(&r.pool);
	fx_deinit(&fx);
}

static void test_redirect_not_sent_keeps(void **state)
{
	(void)state;
	struct fx fx;
	struct sieve_result r;
	struct sieve_delivery_result res;

	fx_init(&fx);
	/* no submission_host, no sendmail_path: the redirect cannot go */
	result_init(&r, 1);
	r.actions[0].kind = SIEVE_ACT_REDIRECT;
	r.actions[0].address = "elsewhere@example.net";
	assert_int_equal(sieve_apply_result(&fx.d, &r, &fx.env, &res), 0);
	assert_int_equal(res.status, SIEVE_DELIVERY_STORED);
	assert_string_equal(res.mailbox, "INBOX");
	assert_int_equal(box_count(&fx, "INBOX", NULL, NULL, NULL), 1);
	pool_destroy(&r.pool);
	fx_deinit(&fx);
}

/* ---- outgoing mail, through a recording sendmail_path ---- */

/* A sendmail stand-in: appends its arguments and standard input to the
 * file "sent" beside itself, each call ending in a line "----". */
static const char sendmail_script[] =
	"#!/bin/sh\n"
	"d=$(dirname \"$0\")\n"
	"{ printf 'ARGS'; printf ' %s' \"$@\"; printf '\\n'; cat; echo ----; } >> \"$d/sent\"\n";

static void fx_sendmail(struct fx *fx)
{
	char *path = testlib_path("sendmail");
	testlib_write_file(path, sendmail_script, sizeof(sendmail_script) - 1);
	assert_int_equal(chmod(path, 0755), 0);
	free(fx->config->sendmail_path);
	fx->config->sendmail_path = path;
}

/* What the stand-in was given so far ("" if nothing). */
static char *sent(void)
{
	char *path = testlib_path("sent");
	char *text = access(path, F_OK) == 0 ? testlib_read_file(path) : xstrdup("");
	free(path);
	return text;
}

static size_t count_of(const char *text, const char *needle)
{
	size_t n = 0;
	for (const char *p = text; (p = strstr(p, needle)) != NULL; p += strlen(needle))
		n++;
	return n;
}

static void test_vacation_once_per_period(void **state)
{
	(void)state;
	struct fx fx;
	struct sieve_result r;
	struct sieve_delivery_result res;
	char *text;

	fx_init(&fx);
	fx_sendmail(&fx);
	result_init(&r, 2);
	r.actions[0].kind = SIEVE_ACT_KEEP;
	r.actions[0].implicit = true;
	r.actions[1].kind = SIEVE_ACT_VACATION;
	r.actions[1].recipient = "alice@example.org";
	r.actions[1].subject = "Away";
	r.actions[1].body = "Back on Monday.";
	r.actions[1].period = 3600;
	r.actions[1].track_id = "alice-away";
	r.actions[1].track_id_len = 10;
	assert_int_equal(sieve_apply_result(&fx.d, &r, &fx.env, &res), 0);
	assert_int_equal(res.status, SIEVE_DELIVERY_STORED);
	text = sent();
	/* from <> (RFC 5230 5.1), to the sender */
	assert_non_null(strstr(text, "ARGS -i -f <> -- alice@example.org\n"));
	assert_non_null(strstr(text, "Subject: Away\n"));
	assert_non_null(strstr(text, "Back on Monday."));
	free(text);
	/* within the period: not again */
	assert_int_equal(sieve_apply_result(&fx.d, &r, &fx.env, &res), 0);
	text = sent();
	assert_int_equal(count_of(text, "ARGS"), 1);
	free(text);
	/* after it: again */
	fx.d.now += 3600;
	assert_int_equal(sieve_apply_result(&fx.d, &r, &fx.env, &res), 0);
	text = sent();
	assert_int_equal(count_of(text, "ARGS"), 2);
	free(text);
	assert_int_equal(box_count(&fx, "INBOX", NULL, NULL, NULL), 3);
	pool_destroy(&r.pool);
	fx_deinit(&fx);
}

static void test_notify_mailto(void **state)
{
	(void)state;
	struct fx fx;
	struct sieve_result r;
	struct sieve_delivery_result res;
	char *text;

	fx_init(&fx);
	fx_sendmail(&fx);
	result_init(&r, 2);
	r.actions[0].kind = SIEVE_ACT_KEEP;
	r.actions[1].kind = SIEVE_ACT_NOTIFY;
	r.actions[1].method = "mailto:ops%40example.net,b@example.net?cc=c@example.net"
		"&subject=New%20mail&X-Tag=t1&from=evil@example.com&auto-submitted=no";
	r.actions[1].importance = "1";
	assert_int_equal(sieve_apply_result(&fx.d, &r, &fx.env, &res), 0);
	text = sent();
	/* RFC 5436 2.7: the envelope sender is the recipient's address; the
	 * URI's to and cc are the recipients */
	assert_non_null(strstr(text, "ARGS -i -f demo@example.org -- ops@example.net "
			       "b@example.net c@example.net\n"));
	assert_non_null(strstr(text, "Subject: New mail\n"));
	assert_non_null(strstr(text, "Auto-Submitted: auto-notified"));
	assert_non_null(strstr(text, "X-Tag: t1\n"));
	/* a "from" or "auto-submitted" of the URI is ignored */
	assert_null(strstr(text, "evil@example.com"));
	assert_int_equal(count_of(text, "Auto-Submitted:"), 1);
	free(text);
	/* nothing for a message that is itself automatic */
	static const char automatic[] = "Auto-Submitted: auto-replied\r\nSubject: x\r\n\r\nb\r\n";
	r.message = automatic;
	r.message_size = strlen(automatic);
	assert_int_equal(sieve_apply_result(&fx.d, &r, &fx.env, &res), 0);
	text = sent();
	assert_int_equal(count_of(text, "ARGS"), 1);
	free(text);
	pool_destroy(&r.pool);
	fx_deinit(&fx);
}

static void test_reject_mdn_and_redirect(void **state)
{
	(void)state;
	struct fx fx;
	struct sieve_result r;
	struct sieve_delivery_result res;
	char *text;

	fx_init(&fx);
	fx_sendmail(&fx);
	result_init(&r, 1);
	r.actions[0].kind = SIEVE_ACT_REJECT;
	r.actions[0].reason = "Not wanted.";
	assert_int_equal(sieve_apply_result(&fx.d, &r, &fx.env, &res), 0);
	assert_int_equal(res.status, SIEVE_DELIVERY_DISCARDED);
	text = sent();
	assert_non_null(strstr(text, "ARGS -i -f <> -- alice@example.org\n"));
	assert_non_null(strstr(text, "Not wanted."));
	free(text);
	/* none to <>, and the message is refused all the same */
	fx.d.envelope_from = "";
	assert_int_equal(sieve_apply_result(&fx.d, &r, &fx.env, &res), 0);
	assert_int_equal(res.status, SIEVE_DELIVERY_DISCARDED);
	text = sent();
	assert_int_equal(count_of(text, "ARGS"), 1);
	free(text);
	/* redirect: from the original sender, with submit's loop marker */
	fx.d.envelope_from = "alice@example.org";
	r.actions[0].kind = SIEVE_ACT_REDIRECT;
	r.actions[0].address = "fwd@example.net";
	assert_int_equal(sieve_apply_result(&fx.d, &r, &fx.env, &res), 0);
	assert_int_equal(res.status, SIEVE_DELIVERY_DISCARDED);
	text = sent();
	assert_non_null(strstr(text, "ARGS -i -f alice@example.org -- fwd@example.net\n"
			       "X-Sieve-Redirected-From: demo@example.org\n"));
	free(text);
	/* the redirected copy coming back is a loop: kept, not sent */
	static const char looped[] = "X-Sieve-Redirected-From: demo@example.org\r\n"
		"Subject: x\r\n\r\nb\r\n";
	r.message = looped;
	r.message_size = strlen(looped);
	assert_int_equal(sieve_apply_result(&fx.d, &r, &fx.env, &res), 0);
	assert_int_equal(res.status, SIEVE_DELIVERY_STORED);
	text = sent();
	assert_int_equal(count_of(text, "ARGS"), 2);
	free(text);
	assert_int_equal(box_count(&fx, "INBOX", NULL, NULL, NULL), 1);
	pool_destroy(&r.pool);
	fx_deinit(&fx);
}

/* ---- scripts through sieve_run_deliver() ---- */

static void put_active(struct fx *fx, const char *name, const char *text)
{
	assert_int_equal(store_sieve_put(fx->store, name, text, strlen(text)), 0);
	assert_int_equal(store_sieve_activate(fx->store, name), 0);
}

static void test_no_script_is_inbox(void **state)
{
	(void)state;
	struct fx fx;
	struct sieve_delivery_result res;

	fx_init(&fx);
	assert_int_equal(sieve_run_deliver(&fx.d, &res), 0);
	assert_int_equal(res.status, SIEVE_DELIVERY_STORED);
	assert_string_equal(res.mailbox, "INBOX");
	fx_deinit(&fx);
}

static void test_user_script_and_cache(void **state)
{
	(void)state;
	struct fx fx;
	struct sieve_delivery_result res;

	fx_init(&fx);
	put_active(&fx, "main", "require \"fileinto\";\n"
		   "if header :contains \"subject\" \"hello\" {\n"
		   "  fileinto \"Archive\";\n}\n");
	assert_int_equal(sieve_run_deliver(&fx.d, &res), 0);
	assert_string_equal(res.mailbox, "Archive");
	/* the second delivery runs the cached script */
	assert_int_equal(sieve_run_deliver(&fx.d, &res), 0);
	assert_string_equal(res.mailbox, "Archive");
	assert_int_equal(box_count(&fx, "Archive", NULL, NULL, NULL), 2);
	/* a replaced script is compiled again */
	put_active(&fx, "main", "discard;\n");
	assert_int_equal(sieve_run_deliver(&fx.d, &res), 0);
	assert_int_equal(res.status, SIEVE_DELIVERY_DISCARDED);
	/* no active script: INBOX */
	assert_int_equal(store_sieve_activate(fx.store, NULL), 0);
	assert_int_equal(sieve_run_deliver(&fx.d, &res), 0);
	assert_string_equal(res.mailbox, "INBOX");
	fx_deinit(&fx);
}

static void test_broken_script_keeps(void **state)
{
	(void)state;
	struct fx fx;
	struct sieve_delivery_result res;

	fx_init(&fx);
	/* the store checks nothing: a script stored around ManageSieve */
	put_active(&fx, "broken", "fileinto \"X\";\nif {\n");
	assert_int_equal(sieve_run_deliver(&fx.d, &res), 0);
	assert_int_equal(res.status, SIEVE_DELIVERY_STORED);
	assert_string_equal(res.mailbox, "INBOX");
	/* and again from the cache's memory of the failure */
	assert_int_equal(sieve_run_deliver(&fx.d, &res), 0);
	assert_string_equal(res.mailbox, "INBOX");
	assert_int_equal(box_count(&fx, "INBOX", NULL, NULL, NULL), 2);
	fx_deinit(&fx);
}

static char *write_file(const char *name, const char *text)
{
	char *path = testlib_path(name);
	testlib_write_file(path, text, strlen(text));
	return path;
}

static void test_before_after_default(void **state)
{
	(void)state;
	struct fx fx;
	struct sieve_delivery_result res;
	const char *before_name = "before.sieve", *default_name = "default.sieve";
	char *before = write_file(before_name, "require [\"fileinto\", \"imap4flags\"];\n"
				  "fileinto :flags \"\\\\Flagged\" \"Drafts\";\n");
	char *dflt = write_file(default_name,
				"require \"fileinto\";\nfileinto \"Archive\";\n");
	uint32_t flags;

	fx_init(&fx);
	fx_set(&fx.config->sieve_before, before);
	fx_set(&fx.config->sieve_default, dflt);
	/* no user script: the default one, after the global "before" */
	assert_int_equal(sieve_run_deliver(&fx.d, &res), 0);
	assert_string_equal(res.mailbox, "Drafts");
	assert_int_equal(res.copies, 2);
	assert_int_equal(box_count(&fx, "Drafts", &flags, NULL, NULL), 1);
	assert_int_equal(flags, STORE_FLAG_FLAGGED);
	assert_int_equal(box_count(&fx, "Archive", &flags, NULL, NULL), 1);
	assert_int_equal(flags, 0);
	/* a user script replaces the default one */
	put_active(&fx, "mine", "keep;\n");
	assert_int_equal(sieve_run_deliver(&fx.d, &res), 0);
	assert_int_equal(res.copies, 2);
	assert_int_equal(box_count(&fx, "Drafts", NULL, NULL, NULL), 2);
	assert_int_equal(box_count(&fx, "INBOX", NULL, NULL, NULL), 1);
	assert_int_equal(box_count(&fx, "Archive", NULL, NULL, NULL), 1);
	/* a changed file is compiled again; a missing one is skipped */
	free(write_file(before_name, "require \"fileinto\";\nfileinto \"Archive\";\n"));
	assert_int_equal(sieve_run_deliver(&fx.d, &res), 0);
	assert_string_equal(res.mailbox, "Archive");
	assert_int_equal(res.copies, 2);
	assert_int_equal(box_count(&fx, "INBOX", NULL, NULL, NULL), 2);
	unlink(before);
	assert_int_equal(sieve_run_deliver(&fx.d, &res), 0);
	assert_string_equal(res.mailbox, "INBOX");
	fx_deinit(&fx);
	unlink(dflt);
	free(before);
	free(dflt);
}

static void test_vacation_for_a_detail_address(void **state)
{
	(void)state;
	struct fx fx;
	struct sieve_delivery_result res;
	static const char to_demo[] = "From: alice@example.org\r\nTo: demo@example.org\r\n"
		"Subject: hi\r\n\r\nb\r\n";
	char *text;

	fx_init(&fx);
	fx_sendmail(&fx);
	istream_destroy(&fx.spool);
	fx.spool = istream_from_memory(to_demo, strlen(to_demo));
	fx.d.spool = fx.spool;
	fx.d.size = strlen(to_demo);
	/* RCPT TO:<demo+lists@example.org>: the message is addressed to
	 * demo@example.org, one of the user's addresses (RFC 5230 4.5) */
	fx.d.envelope_to = "demo+lists@example.org";
	put_active(&fx, "away", "require \"vacation\";\nvacation \"Away.\";\n");
	assert_int_equal(sieve_run_deliver(&fx.d, &res), 0);
	assert_string_equal(res.mailbox, "INBOX");
	text = sent();
	assert_non_null(strstr(text, "ARGS -i -f <> -- alice@example.org\n"));
	free(text);
	fx_deinit(&fx);
}

/* ---- IMAP events (RFC 6785) through sieve_run_imap_event() ---- */

/* Appends test_msg to `mailbox` (created) with `flags`; its UID. */
static uint32_t event_put(struct fx *fx, const char *mailbox, uint32_t flags)
{
	struct store_append *append;
	uint32_t uidvalidity, uid;
	(void)store_mailbox_create(fx->store, mailbox, 0);
	assert_int_equal(store_append_begin(fx->store, mailbox, &append), 0);
	assert_int_equal(store_append_write(append, test_msg, strlen(test_msg)), 0);
	assert_int_equal(store_append_commit(&append, flags, NULL, 0, 0, 0, &uidvalidity,
					     &uid), 0);
	return uid;
}

/* Runs script `text` (a file) on message `uid` of `mailbox`. */
static int event_run(struct fx *fx, const char *mailbox, const char *cause, uint32_t uid,
		     const char *changed, const char *text)
{
	char *path = write_file("event.sieve", text);
	const char *scripts[1] = { path };
	struct sieve_imap_event ev = {
		.config = fx->config,
		.store = fx->store,
		.user = "demo@example.org",
		.mailbox = mailbox,
		.cause = cause,
		.uids = &uid,
		.uid_count = 1,
		.changed_flags = changed,
		.scripts = scripts,
		.script_count = 1,
		.log_prefix = "test",
		.now = 2000000000,
	};
	int ret = sieve_run_imap_event(&ev);
	unlink(path);
	free(path);
	return ret;
}

static void test_event_redirect_copy_and_flags(void **state)
{
	(void)state;
	struct fx fx;
	uint32_t flags;
	char *kw, *text;

	fx_init(&fx);
	fx_sendmail(&fx);
	uint32_t uid = event_put(&fx, "Junk", STORE_FLAG_SEEN);
	assert_int_equal(event_run(&fx, "Junk", "COPY", uid, NULL,
				   "require [\"copy\", \"imap4flags\", \"environment\", \"imapsieve\"];\n"
				   "if environment :is \"imap.cause\" \"COPY\" {\n"
				   "  addflag \"$Reported\";\n"
				   "  redirect :copy \"spam-report@example.net\";\n"
				   "}\n"), 1);
	text = sent();
	assert_non_null(strstr(text, "-f demo@example.org -- spam-report@example.net\n"));
	assert_non_null(strstr(text, "Subject: hello there"));
	free(text);
	/* keep: the message stays, with the script's flags (RFC 6785 3.8) */
	assert_int_equal(box_count(&fx, "Junk", &flags, &kw, NULL), 1);
	assert_int_equal(flags, STORE_FLAG_SEEN);
	assert_string_equal(kw, "$Reported");
	free(kw);
	/* another cause: the script does nothing, nothing changes */
	uid = event_put(&fx, "Junk", 0);
	assert_int_equal(event_run(&fx, "Junk", "APPEND", uid, NULL,
				   "require [\"copy\", \"imap4flags\", \"environment\", \"imapsieve\"];\n"
				   "if environment :is \"imap.cause\" \"COPY\" {\n"
				   "  addflag \"$Reported\";\n"
				   "}\n"), 1);
	assert_int_equal(box_count(&fx, "Junk", &flags, &kw, NULL), 2);
	assert_int_equal(flags, 0);
	assert_string_equal(kw, "");
	free(kw);
	fx_deinit(&fx);
}

static void test_event_fileinto_marks_deleted(void **state)
{
	(void)state;
	struct fx fx;
	uint32_t flags;

	fx_init(&fx);
	uint32_t uid = event_put(&fx, "Work", STORE_FLAG_FLAGGED);
	(void)store_mailbox_create(fx.store, "Archive", 0);
	assert_int_equal(event_run(&fx, "Work", "APPEND", uid, NULL,
				   "require [\"fileinto\", \"imap4flags\"];\n"
				   "fileinto \"Archive\";\n"), 1);
	/* RFC 6785 3.3: a new message with the flags (3.8: the internal
	 * flags start with the message's), the original marked */
	assert_int_equal(box_count(&fx, "Archive", &flags, NULL, NULL), 1);
	assert_int_equal(flags, STORE_FLAG_FLAGGED);
	assert_int_equal(box_count(&fx, "Work", &flags, NULL, NULL), 1);
	assert_int_equal(flags, STORE_FLAG_FLAGGED | STORE_FLAG_DELETED);
	/* discard (3.5) marks it too; a gone UID is skipped */
	uid = event_put(&fx, "Work", 0);
	assert_int_equal(event_run(&fx, "Work", "APPEND", uid, NULL, "discard;\n"), 1);
	assert_int_equal(box_count(&fx, "Work", &flags, NULL, NULL), 2);
	assert_int_equal(flags, STORE_FLAG_DELETED);
	assert_int_equal(event_run(&fx, "Work", "APPEND", uid + 10, NULL, "discard;\n"), 0);
	/* fileinto :copy "INBOX" is a new copy and the implicit keep stays */
	uid = event_put(&fx, "Work", 0);
	assert_int_equal(event_run(&fx, "Work", "COPY", uid, NULL,
				   "require [\"fileinto\", \"copy\"];\n"
				   "fileinto :copy \"INBOX\";\n"), 1);
	assert_int_equal(box_count(&fx, "Work", &flags, NULL, NULL), 3);
	assert_int_equal(flags, 0);
	assert_int_equal(box_count(&fx, "INBOX", NULL, NULL, NULL), 1);
	fx_deinit(&fx);
}

static void test_event_changedflags_and_errors(void **state)
{
	(void)state;
	struct fx fx;
	uint32_t flags;
	char *kw;

	fx_init(&fx);
	uint32_t uid = event_put(&fx, "INBOX", STORE_FLAG_FLAGGED);
	/* RFC 6785 4.5 and 3.8: hasflag sees the flags after the change */
	assert_int_equal(event_run(&fx, "INBOX", "FLAG", uid, "\\Flagged",
				   "require [\"environment\", \"imap4flags\", \"imapsieve\"];\n"
				   "if allof (environment :is \"imap.changedflags\" \"\\\\Flagged\",\n"
				   "          hasflag \"\\\\Flagged\") {\n"
				   "  removeflag \"\\\\Flagged\"; addflag \"\\\\Seen\";\n"
				   "}\n"), 1);
	assert_int_equal(box_count(&fx, "INBOX", &flags, NULL, NULL), 1);
	assert_int_equal(flags, STORE_FLAG_SEEN);
	/* a script that does not compile, one that fails at run time
	 * (vacation: RFC 6785 3.11): nothing changes */
	assert_int_equal(event_run(&fx, "INBOX", "FLAG", uid, "\\Seen", "discard\n"), 0);
	assert_int_equal(event_run(&fx, "INBOX", "FLAG", uid, "\\Seen",
				   "require [\"vacation\", \"imap4flags\"];\n"
				   "addflag \"x\";\nvacation \"away\";\n"), 1);
	assert_int_equal(box_count(&fx, "INBOX", &flags, &kw, NULL), 1);
	assert_int_equal(flags, STORE_FLAG_SEEN);
	assert_string_equal(kw, "");
	free(kw);
	/* a mailbox that does not exist */
	assert_int_equal(event_run(&fx, "Nope", "APPEND", 1, NULL, "keep;\n"), -1);
	fx_deinit(&fx);
}

#define RUN_TEST(fn) cmocka_unit_test_setup_teardown(fn, fixture_setup, fixture_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		RUN_TEST(test_implicit_keep_into_inbox),
		RUN_TEST(test_fileinto_flags_and_keywords),
		RUN_TEST(test_fileinto_missing_mailbox_falls_back_to_inbox),
		RUN_TEST(test_fileinto_create),
		RUN_TEST(test_keep_and_fileinto_two_copies),
		RUN_TEST(test_discard_stores_nothing),
		RUN_TEST(test_ereject_reason),
		RUN_TEST(test_changed_message_stored),
		RUN_TEST(test_shared_copy),
		RUN_TEST(test_duplicate_marks_after_delivery),
		RUN_TEST(test_redirect_not_sent_keeps),
		RUN_TEST(test_vacation_once_per_period),
		RUN_TEST(test_notify_mailto),
		RUN_TEST(test_reject_mdn_and_redirect),
		RUN_TEST(test_no_script_is_inbox),
		RUN_TEST(test_user_script_and_cache),
		RUN_TEST(test_broken_script_keeps),
		RUN_TEST(test_before_after_default),
		RUN_TEST(test_vacation_for_a_detail_address),
		RUN_TEST(test_event_redirect_copy_and_flags),
		RUN_TEST(test_event_fileinto_marks_deleted),
		RUN_TEST(test_event_changedflags_and_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
