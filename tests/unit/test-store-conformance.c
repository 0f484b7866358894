/* test-store-conformance.c: what every store backend must do, tested
 * through store.h only: append, copy and move (also in steps), flags
 * and keywords, expunge, modseqs, \Recent, STATUS, mailbox create,
 * rename and delete, rebuild, several sessions and processes on one
 * user, and a crash in the middle of an append.
 *
 * Each test runs once per backend of `backends` in main(): a new
 * backend runs the suite by adding its line there.  What only one
 * backend can check (file names, directories, its index) belongs in
 * that backend's own tests (test-store-maildir.c, test-store-crash.c);
 * the little the suite asks of the backend's storage goes through the
 * probes of struct store_fixture_backend. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/base.h"
#include "base/istream.h"
#include "store/store.h"
#include "store-fixture.h"
#include "testlib.h"

/* A user name is checked only for what cannot be a name; domains are
 * case-insensitive, local parts are not. */
static void test_user_names(void **state)
{
	(void)state;
	struct store *store;
	const char *error;
	struct store_status status;

	assert_int_equal(store_open(&fixture_set, "a/b", &store, &error), -1);
	assert_int_equal(store_open(&fixture_set, ".hidden", &store, &error), -1);
	assert_int_equal(store_open(&fixture_set, "", &store, &error), -1);
	assert_int_equal(store_open(&fixture_set, "@example.org", &store, &error), -1);
	store = open_store("Bob@Example.ORG");
	append(store, "INBOX", msg1, 0, NULL, 0, 0);
	store_close(&store);
	assert_null(store);
	store = open_store("Bob@example.org");
	assert_int_equal(store_mailbox_status(store, "INBOX", &status), 0);
	assert_int_equal(status.messages, 1);
	store_close(&store);
}

static void test_defaults_and_list(void **state)
{
	(void)state;
	struct store *store = open_store("demo");
	struct store_mailbox_info *infos;
	size_t count;

	assert_int_equal(store_mailbox_list(store, &infos, &count), 0);
	assert_int_equal(count, 6);
	assert_string_equal(infos[0].name, "Archive");
	assert_int_equal(infos[0].special_use, STORE_USE_ARCHIVE);
	assert_string_equal(infos[2].name, "INBOX");
	for (size_t i = 0; i < count; i++) {
		assert_true(infos[i].exists);
		assert_true(infos[i].subscribed);
		assert_false(infos[i].has_children);
	}
	free(infos);
	store_close(&store);
	/* opening again does not create them twice */
	store = open_store("demo");
	assert_int_equal(store_mailbox_list(store, &infos, &count), 0);
	assert_int_equal(count, 6);
	free(infos);
	store_close(&store);
}

static void test_append_read(void **state)
{
	(void)state;
	struct store *store = open_store("demo");
	struct store_mailbox *box;
	const char *kws[] = { "$Forwarded", "Work" };
	const struct store_msg *msg;
	enum store_error err;
	struct store_status status;
	size_t kw_count;

	assert_int_equal(append(store, "INBOX", msg1, STORE_FLAG_SEEN, kws, 2, 1700000000), 1);
	assert_int_equal(append(store, "inbox", msg2, 0, NULL, 0, 0), 2);

	assert_int_equal(store_mailbox_status(store, "INBOX", &status), 0);
	assert_int_equal(status.messages, 2);
	assert_int_equal(status.unseen, 1);
	assert_int_equal(status.recent, 2);
	assert_int_equal(status.uidnext, 3);
	assert_int_equal(status.size, strlen(msg1) + strlen(msg2));

	assert_int_equal(store_mailbox_open(store, "INBOX", false, &box), 0);
	assert_string_equal(store_mailbox_name(box), "INBOX");
	assert_int_equal(store_mailbox_count(box), 2);
	assert_int_equal(store_mailbox_uidnext(box), 3);
	msg = store_mailbox_msg(box, 1);
	assert_int_equal(msg->uid, 1);
	assert_int_equal(msg->flags, STORE_FLAG_SEEN);
	assert_int_equal(msg->keywords, 3);
	assert_int_equal(msg->size, strlen(msg1));
	assert_int_equal(msg->header_size, strlen("From: a@example.org\r\nSubject: one\r\n\r\n"));
	assert_int_equal(msg->internaldate, 1700000000);
	assert_int_equal(msg->internaldate_tz, 60);
	const char *const *names = store_mailbox_keywords(box, &kw_count);
	assert_int_equal(kw_count, 2);
	assert_string_equal(names[0], "$Forwarded");
	assert_string_equal(names[1], "Work");
	assert_int_equal(kw_index(box, "work", false), 1);
	assert_int_equal(kw_index_error(store, box, "nope", false), STORE_ERR_NOTFOUND);

	char *text = read_msg(box, 1);
	assert_string_equal(text, msg1);
	free(text);

	assert_count(stored_count("demo", "INBOX"), 2);

	/* \Recent went to this session */
	assert_int_equal(store_mailbox_recent_count(box), 2);
	assert_true(store_mailbox_is_recent(box, 1));
	store_mailbox_close(&box);

	/* append to a missing mailbox */
	struct store_append *ctx;
	assert_int_equal(store_append_begin(store, "Nope", &ctx), -1);
	assert_string_equal(store_last_error(store, &err), "Mailbox doesn't exist: Nope");
	assert_int_equal(err, STORE_ERR_NOTFOUND);
	assert_int_equal(store_mailbox_open(store, "Nope", false, &box), -1);
	assert_int_equal(store_last_error(store, &err)[0] != '\0', 1);
	assert_int_equal(err, STORE_ERR_NOTFOUND);

	/* no blank line: the header is the whole message; bare LF tolerated */
	assert_int_equal(append(store, "Sent", "Subject: x\nno body", 0, NULL, 0, 0), 1);
	assert_int_equal(store_mailbox_open(store, "Sent", true, &box), 0);
	assert_int_equal(store_mailbox_msg(box, 1)->header_size, 18);
	store_mailbox_close(&box);
	assert_int_equal(append(store, "Sent", "A: b\n\nbody", 0, NULL, 0, 0), 2);
	assert_int_equal(store_mailbox_open(store, "Sent", true, &box), 0);
	assert_int_equal(store_mailbox_msg(box, 2)->header_size, 6);
	store_mailbox_close(&box);
	store_close(&store);
}

static void test_flags(void **state)
{
	(void)state;
	struct store *store = open_store("demo");
	struct store_mailbox *box;
	struct events ev = { "" };
	uint32_t msns[] = { 1, 2 };
	uint32_t *failed;
	size_t failed_count;
	int kw;

	append(store, "INBOX", msg1, 0, NULL, 0, 0);
	append(store, "INBOX", msg2, STORE_FLAG_DRAFT, NULL, 0, 0);
	assert_int_equal(store_mailbox_open(store, "INBOX", false, &box), 0);
	uint64_t modseq0 = store_mailbox_msg(box, 1)->modseq;

	assert_int_equal(store_mailbox_update_flags(box, msns, 2, STORE_FLAGS_ADD,
		STORE_FLAG_SEEN | STORE_FLAG_FLAGGED, 0, 0, &failed, &failed_count), 0);
	assert_null(failed);
	assert_int_equal(store_mailbox_msg(box, 1)->flags, STORE_FLAG_SEEN | STORE_FLAG_FLAGGED);
	assert_int_equal(store_mailbox_msg(box, 2)->flags,
			 STORE_FLAG_SEEN | STORE_FLAG_FLAGGED | STORE_FLAG_DRAFT);
	assert_true(store_mailbox_msg(box, 1)->modseq > modseq0);

	/* our own change is reported by the next sync */
	assert_int_equal(store_mailbox_sync(box, 0, &ev_callbacks, &ev), 0);
	assert_string_equal(ev.log, "F1=5 F2=21 ");
	ev.log[0] = '\0';
	assert_int_equal(store_mailbox_sync(box, 0, &ev_callbacks, &ev), 0);
	assert_string_equal(ev.log, "");

	assert_int_equal(store_mailbox_update_flags(box, msns, 1, STORE_FLAGS_REMOVE,
		STORE_FLAG_FLAGGED, 0, 0, &failed, &failed_count), 0);
	assert_int_equal(store_mailbox_msg(box, 1)->flags, STORE_FLAG_SEEN);
	assert_int_equal(store_mailbox_update_flags(box, msns + 1, 1, STORE_FLAGS_REPLACE,
		STORE_FLAG_ANSWERED, 0, 0, &failed, &failed_count), 0);
	assert_int_equal(store_mailbox_msg(box, 2)->flags, STORE_FLAG_ANSWERED);

	/* keywords */
	kw = kw_index(box, "Important", true);
	assert_int_equal(kw, 0);
	assert_int_equal(kw_index(box, "IMPORTANT", true), 0);
	assert_int_equal(kw_index_error(store, box, "bad kw", true), STORE_ERR_PARAMS);
	assert_int_equal(kw_index_error(store, box, "\\Seen", true), STORE_ERR_PARAMS);
	assert_int_equal(store_mailbox_update_flags(box, msns, 2, STORE_FLAGS_ADD,
		0, 1u << kw, 0, &failed, &failed_count), 0);
	assert_int_equal(store_mailbox_msg(box, 1)->keywords, 1);
	ev.log[0] = '\0';
	assert_int_equal(store_mailbox_sync(box, 0, &ev_callbacks, &ev), 0);
	assert_string_equal(ev.log, "K F1=1 F2=2 ");

	/* CONDSTORE UNCHANGEDSINCE */
	uint64_t m1 = store_mailbox_msg(box, 1)->modseq;
	assert_int_equal(store_mailbox_update_flags(box, msns, 2, STORE_FLAGS_ADD,
		STORE_FLAG_DELETED, 0, m1 - 1, &failed, &failed_count), 0);
	assert_int_equal(failed_count, 2);
	assert_int_equal(failed[0], 1);
	free(failed);
	assert_int_equal(store_mailbox_msg(box, 1)->flags & STORE_FLAG_DELETED, 0);

	/* read-only views cannot change flags */
	struct store_mailbox *ro;
	assert_int_equal(store_mailbox_open(store, "INBOX", true, &ro), 0);
	assert_true(store_mailbox_is_readonly(ro));
	assert_int_equal(store_mailbox_update_flags(ro, msns, 1, STORE_FLAGS_ADD,
		STORE_FLAG_DELETED, 0, 0, &failed, &failed_count), -1);
	store_mailbox_close(&ro);
	store_mailbox_close(&box);
	store_close(&store);
}

static void test_expunge_and_sync_order(void **state)
{
	(void)state;
	struct store *s1 = open_store("demo"), *s2 = open_store("demo");
	struct store_mailbox *a, *b;
	struct events ev = { "" };
	uint32_t *failed;
	size_t failed_count;

	append(s1, "INBOX", msg1, 0, NULL, 0, 0);
	append(s1, "INBOX", msg2, 0, NULL, 0, 0);
	append(s1, "INBOX", msg3, 0, NULL, 0, 0);
	assert_int_equal(store_mailbox_open(s1, "INBOX", false, &a), 0);
	assert_int_equal(store_mailbox_open(s2, "INBOX", false, &b), 0);
	uint64_t hms = store_mailbox_highestmodseq(a);

	/* b: flag 3, delete + expunge 1 and 2, append one */
	uint32_t m3 = 3, m12[] = { 1, 2 };
	assert_int_equal(store_mailbox_update_flags(b, &m3, 1, STORE_FLAGS_ADD,
		STORE_FLAG_SEEN, 0, 0, &failed, &failed_count), 0);
	assert_int_equal(store_mailbox_update_flags(b, m12, 2, STORE_FLAGS_ADD,
		STORE_FLAG_DELETED, 0, 0, &failed, &failed_count), 0);
	assert_int_equal(store_mailbox_expunge(b, NULL, 0), 0);
	/* the expunging view is unchanged until it syncs */
	assert_int_equal(store_mailbox_count(b), 3);
	append(s2, "INBOX", "Subject: four\r\n\r\n4\r\n", 0, NULL, 0, 0);

	assert_int_equal(store_mailbox_sync(a, 0, &ev_callbacks, &ev), 0);
	assert_string_equal(ev.log, "E2/2 E1/1 X2 F1=1 ");
	assert_int_equal(store_mailbox_count(a), 2);
	assert_int_equal(store_mailbox_msg(a, 1)->uid, 3);
	assert_int_equal(store_mailbox_msg(a, 2)->uid, 4);
	assert_int_equal(store_mailbox_msn_of_uid(a, 4), 2);
	assert_int_equal(store_mailbox_msn_of_uid(a, 1), 0);
	assert_true(store_mailbox_highestmodseq(a) > hms);
	assert_int_equal(store_mailbox_uidnext(a), 5);

	ev.log[0] = '\0';
	assert_int_equal(store_mailbox_sync(b, 0, &ev_callbacks, &ev), 0);
	assert_string_equal(ev.log, "E2/2 E1/1 X2 F1=1 ");

	/* expunge by msn list; message files are gone */
	uint32_t m1 = 1;
	assert_int_equal(store_mailbox_expunge(a, &m1, 1), 0);
	ev.log[0] = '\0';
	assert_int_equal(store_mailbox_sync(a, 0, &ev_callbacks, &ev), 0);
	assert_string_equal(ev.log, "E1/3 ");
	assert_count(stored_count("demo", "INBOX"), 1);

	/* an expunged message cannot be opened through a stale view */
	struct istream *msg;
	enum store_error err;
	assert_int_equal(store_mailbox_msg_stream(b, 1, &msg), -1);
	assert_null(msg);
	store_last_error(s2, &err);
	assert_int_equal(err, STORE_ERR_EXPUNGED);

	store_mailbox_close(&a);
	store_mailbox_close(&b);
	store_close(&s1);
	store_close(&s2);
}

static void test_no_expunges(void **state)
{
	(void)state;
	struct store *s1 = open_store("demo"), *s2 = open_store("demo");
	struct store_mailbox *a, *b;
	struct events ev = { "" };
	uint32_t m2 = 2;

	append(s1, "INBOX", msg1, 0, NULL, 0, 0);
	append(s1, "INBOX", msg2, 0, NULL, 0, 0);
	append(s1, "INBOX", msg3, 0, NULL, 0, 0);
	assert_int_equal(store_mailbox_open(s1, "INBOX", false, &a), 0);
	assert_int_equal(store_mailbox_open(s2, "INBOX", false, &b), 0);
	assert_int_equal(store_mailbox_expunge(b, &m2, 1), 0);
	append(s2, "INBOX", "Subject: four\r\n\r\n4\r\n", 0, NULL, 0, 0);

	assert_int_equal(store_mailbox_sync(a, STORE_SYNC_NO_EXPUNGES, &ev_callbacks, &ev), 0);
	assert_string_equal(ev.log, "X4 ");
	assert_int_equal(store_mailbox_count(a), 4);
	assert_true(store_mailbox_is_expunged(a, 2));
	assert_false(store_mailbox_is_expunged(a, 1));
	assert_int_equal(store_mailbox_msg(a, 2)->uid, 2);
	assert_int_equal(store_mailbox_msg(a, 2)->size, strlen(msg2));

	/* again: nothing new, still kept */
	ev.log[0] = '\0';
	assert_int_equal(store_mailbox_sync(a, STORE_SYNC_NO_EXPUNGES, &ev_callbacks, &ev), 0);
	assert_string_equal(ev.log, "");
	assert_int_equal(store_mailbox_count(a), 4);

	ev.log[0] = '\0';
	assert_int_equal(store_mailbox_sync(a, 0, &ev_callbacks, &ev), 0);
	assert_string_equal(ev.log, "E2/2 ");
	assert_int_equal(store_mailbox_count(a), 3);
	assert_false(store_mailbox_is_expunged(a, 2));
	assert_int_equal(store_mailbox_msg(a, 2)->uid, 3);

	store_mailbox_close(&a);
	store_mailbox_close(&b);
	store_close(&s1);
	store_close(&s2);
}

static void test_concurrent_flags(void **state)
{
	(void)state;
	struct store *s1 = open_store("demo"), *s2 = open_store("demo");
	struct store_mailbox *a, *b;
	uint32_t m1 = 1, *failed;
	size_t failed_count;

	append(s1, "INBOX", msg1, 0, NULL, 0, 0);
	assert_int_equal(store_mailbox_open(s1, "INBOX", false, &a), 0);
	assert_int_equal(store_mailbox_open(s2, "INBOX", false, &b), 0);
	/* both views are stale relative to each other's change */
	assert_int_equal(store_mailbox_update_flags(a, &m1, 1, STORE_FLAGS_ADD,
		STORE_FLAG_SEEN, 0, 0, &failed, &failed_count), 0);
	assert_int_equal(store_mailbox_update_flags(b, &m1, 1, STORE_FLAGS_ADD,
		STORE_FLAG_FLAGGED, 0, 0, &failed, &failed_count), 0);
	int ka = kw_index(a, "KA", true);
	int kb = kw_index(b, "KB", true);
	assert_int_equal(ka, 0);
	assert_int_equal(kb, 1);
	assert_int_equal(store_mailbox_update_flags(a, &m1, 1, STORE_FLAGS_ADD,
		0, 1u << ka, 0, &failed, &failed_count), 0);
	assert_int_equal(store_mailbox_update_flags(b, &m1, 1, STORE_FLAGS_ADD,
		0, 1u << kb, 0, &failed, &failed_count), 0);

	assert_int_equal(store_mailbox_sync(a, 0, NULL, NULL), 0);
	assert_int_equal(store_mailbox_msg(a, 1)->flags, STORE_FLAG_SEEN | STORE_FLAG_FLAGGED);
	assert_int_equal(store_mailbox_msg(a, 1)->keywords, 3);
	size_t n;
	store_mailbox_keywords(a, &n);
	assert_int_equal(n, 2);
	store_mailbox_close(&a);
	store_mailbox_close(&b);

	struct store_mailbox *c;
	assert_int_equal(store_mailbox_open(s1, "INBOX", true, &c), 0);
	assert_int_equal(store_mailbox_msg(c, 1)->flags, STORE_FLAG_SEEN | STORE_FLAG_FLAGGED);
	assert_int_equal(store_mailbox_msg(c, 1)->keywords, 3);
	store_mailbox_close(&c);
	store_close(&s1);
	store_close(&s2);
}

struct recent_probe {
	struct store_mailbox *box;
	uint32_t recent_at_exists;
};

static void probe_exists(void *ctx, uint32_t count)
{
	struct recent_probe *p = ctx;

	(void)count;
	p->recent_at_exists = store_mailbox_recent_count(p->box);
}

static void test_recent(void **state)
{
	(void)state;
	struct store *s1 = open_store("demo"), *s2 = open_store("demo");
	struct store_mailbox *a, *b, *ro;
	struct store_status status;

	append(s1, "INBOX", msg1, 0, NULL, 0, 0);
	append(s1, "INBOX", msg2, 0, NULL, 0, 0);
	/* EXAMINE sees them as \Recent but does not claim them */
	assert_int_equal(store_mailbox_open(s1, "INBOX", true, &ro), 0);
	assert_int_equal(store_mailbox_recent_count(ro), 2);
	assert_true(store_mailbox_is_recent(ro, 1));
	assert_int_equal(store_mailbox_status(s1, "INBOX", &status), 0);
	assert_int_equal(status.recent, 2);

	assert_int_equal(store_mailbox_open(s1, "INBOX", false, &a), 0);
	assert_int_equal(store_mailbox_open(s2, "INBOX", false, &b), 0);
	assert_int_equal(store_mailbox_recent_count(a), 2);
	assert_int_equal(store_mailbox_recent_count(b), 0);
	assert_int_equal(store_mailbox_status(s1, "INBOX", &status), 0);
	assert_int_equal(status.recent, 0);

	append(s2, "INBOX", msg3, 0, NULL, 0, 0);
	/* \Recent is known when EXISTS is reported (IMAP sends RECENT next) */
	struct store_sync_callbacks probe_cb = { .exists = probe_exists };
	struct recent_probe probe = { b, 99 };
	assert_int_equal(store_mailbox_sync(b, 0, &probe_cb, &probe), 0);
	assert_int_equal(probe.recent_at_exists, 1);
	assert_int_equal(store_mailbox_sync(a, 0, NULL, NULL), 0);
	assert_int_equal(store_mailbox_sync(ro, 0, NULL, NULL), 0);
	assert_int_equal(store_mailbox_recent_count(b), 1);
	assert_true(store_mailbox_is_recent(b, 3));
	assert_int_equal(store_mailbox_recent_count(a), 2);
	assert_false(store_mailbox_is_recent(a, 3));
	/* b claimed 3 before ro saw it; ro keeps what it saw */
	assert_int_equal(store_mailbox_recent_count(ro), 2);
	assert_false(store_mailbox_is_recent(ro, 3));
	assert_int_equal(store_mailbox_count(ro), 3);

	store_mailbox_close(&a);
	store_mailbox_close(&b);
	store_mailbox_close(&ro);
	store_close(&s1);
	store_close(&s2);
}

static void test_copy_move(void **state)
{
	(void)state;
	struct store *store = open_store("demo");
	struct store_mailbox *src, *dst;
	const char *kws_src[] = { "one", "two" };
	const char *kws_dst[] = { "two" };
	uint32_t msns[] = { 1, 3 }, uidvalidity, *uids;
	struct store_status status;

	append(store, "Archive", msg3, 0, kws_dst, 1, 0);	/* dest table: two=0 */
	append(store, "INBOX", msg1, STORE_FLAG_SEEN, kws_src, 2, 1600000000);
	append(store, "INBOX", msg2, 0, NULL, 0, 0);
	append(store, "INBOX", msg3, STORE_FLAG_FLAGGED, kws_src + 1, 1, 1500000000);
	assert_int_equal(store_mailbox_open(store, "INBOX", false, &src), 0);

	assert_int_equal(store_mailbox_copy(src, msns, 2, "Nope", false, &uidvalidity, &uids), -1);
	enum store_error err;
	store_last_error(store, &err);
	assert_int_equal(err, STORE_ERR_NOTFOUND);

	assert_int_equal(store_mailbox_copy(src, msns, 2, "Archive", false, &uidvalidity, &uids), 0);
	assert_int_equal(uids[0], 2);
	assert_int_equal(uids[1], 3);
	free(uids);
	assert_int_equal(store_mailbox_status(store, "Archive", &status), 0);
	assert_int_equal(uidvalidity, status.uidvalidity);
	assert_int_equal(status.messages, 3);

	assert_int_equal(store_mailbox_open(store, "Archive", true, &dst), 0);
	const struct store_msg *m = store_mailbox_msg(dst, 2);
	size_t kwc;
	const char *const *names = store_mailbox_keywords(dst, &kwc);
	assert_int_equal(kwc, 2);
	assert_string_equal(names[0], "two");
	assert_string_equal(names[1], "one");
	assert_int_equal(m->flags, STORE_FLAG_SEEN);
	assert_int_equal(m->keywords, 3);
	assert_int_equal(m->internaldate, 1600000000);
	assert_int_equal(m->size, strlen(msg1));
	m = store_mailbox_msg(dst, 3);
	assert_int_equal(m->flags, STORE_FLAG_FLAGGED);
	assert_int_equal(m->keywords, 1);
	assert_int_equal(m->internaldate, 1500000000);
	char *text = read_msg(dst, 3);
	assert_string_equal(text, msg3);
	free(text);
	store_mailbox_close(&dst);

	/* move */
	uint32_t m2 = 2;
	assert_int_equal(store_mailbox_copy(src, &m2, 1, "Trash", true, &uidvalidity, &uids), 0);
	assert_int_equal(uids[0], 1);
	free(uids);
	assert_int_equal(store_mailbox_count(src), 3);
	struct events ev = { "" };
	assert_int_equal(store_mailbox_sync(src, STORE_SYNC_NO_EXPUNGES, &ev_callbacks, &ev), 0);
	assert_true(store_mailbox_is_expunged(src, 2));
	assert_int_equal(store_mailbox_status(store, "Trash", &status), 0);
	assert_int_equal(status.messages, 1);
	assert_int_equal(store_mailbox_open(store, "Trash", false, &dst), 0);
	text = read_msg(dst, 1);
	assert_string_equal(text, msg2);
	free(text);
	store_mailbox_close(&dst);

	/* a source expunged meanwhile (still in this view) fails the whole
	 * copy: nothing is copied */
	uint32_t m123[] = { 1, 2, 3 };
	assert_int_equal(store_mailbox_copy(src, m123, 3, "Archive", false, &uidvalidity, &uids), -1);
	store_last_error(store, &err);
	assert_int_equal(err, STORE_ERR_EXPUNGED);
	assert_null(uids);
	assert_int_equal(store_mailbox_status(store, "Archive", &status), 0);
	assert_int_equal(status.messages, 3);
	assert_count(stored_count("demo", "Archive"), 3);
	ev.log[0] = '\0';
	assert_int_equal(store_mailbox_sync(src, 0, &ev_callbacks, &ev), 0);
	assert_string_equal(ev.log, "E2/2 ");
	store_mailbox_close(&src);
	store_close(&store);
}

static int copy_run(struct store_copy *ctx)
{
	int ret;

	while ((ret = store_copy_continue(ctx, 1)) == 0)
		;
	return ret;
}

/* store_copy_*(): the destination shows nothing until the copy is done,
 * an abandoned or failed copy leaves no trace, and appends made between
 * the steps come before the copy's UIDs. */
static void test_copy_in_steps(void **state)
{
	(void)state;
	struct store *store = open_store("demo");
	struct store_mailbox *src, *other;
	struct store_copy *ctx;
	struct store_status status;
	uint32_t msns[] = { 1, 2, 3, 4, 5 }, uidvalidity, *uids;
	const char *kw[] = { "$label" };
	enum store_error err;

	for (int i = 0; i < 5; i++)
		append(store, "INBOX", i == 2 ? msg2 : msg1, i == 0 ? STORE_FLAG_SEEN : 0,
		       i == 4 ? kw : NULL, i == 4 ? 1 : 0, 1500000000);
	append(store, "Archive", msg3, 0, NULL, 0, 0);
	assert_int_equal(store_mailbox_open(store, "INBOX", false, &src), 0);

	/* abandoned after staging two: nothing in the destination */
	assert_int_equal(store_copy_begin(src, msns, 5, "Archive", false, &ctx), 0);
	assert_int_equal(store_copy_continue(ctx, 2), 0);
	assert_count(staged_count("demo", "Archive"), 2);
	assert_int_equal(store_mailbox_status(store, "Archive", &status), 0);
	assert_int_equal(status.messages, 1);
	assert_int_equal(status.uidnext, 2);
	/* another session appends meanwhile; a mailbox open cleans tmp/
	 * but keeps the staged files although their mtime is 2017's */
	append(store, "Archive", msg3, 0, NULL, 0, 0);
	assert_int_equal(store_mailbox_open(store, "Archive", false, &other), 0);
	store_mailbox_close(&other);
	assert_count(staged_count("demo", "Archive"), 2);
	store_copy_free(&ctx);
	assert_null(ctx);
	assert_count(staged_count("demo", "Archive"), 0);
	assert_int_equal(store_mailbox_status(store, "Archive", &status), 0);
	assert_int_equal(status.messages, 2);
	assert_int_equal(status.uidnext, 3);

	/* staged, then an append, then done: UIDs after the append's */
	assert_int_equal(store_copy_begin(src, msns, 5, "Archive", false, &ctx), 0);
	assert_int_equal(store_copy_continue(ctx, 5), 0);
	append(store, "Archive", msg3, 0, NULL, 0, 0);
	assert_int_equal(copy_run(ctx), 1);
	store_copy_result(ctx, &uidvalidity, &uids);
	store_copy_free(&ctx);
	for (int i = 0; i < 5; i++)
		assert_int_equal(uids[i], 4 + i);
	free(uids);
	assert_count(staged_count("demo", "Archive"), 0);
	assert_int_equal(store_mailbox_open(store, "Archive", true, &other), 0);
	assert_int_equal(store_mailbox_count(other), 8);
	assert_int_equal(store_mailbox_msg(other, 4)->flags, STORE_FLAG_SEEN);
	assert_int_equal(store_mailbox_msg(other, 4)->internaldate, 1500000000);
	assert_int_equal(store_mailbox_msg(other, 8)->keywords, 1);
	char *text = read_msg(other, 6);
	assert_string_equal(text, msg2);
	free(text);
	struct store_msg_cache cache;
	assert_int_equal(store_mailbox_msg_cache(other, 6, &cache), 0);
	assert_non_null(cache.envelope);
	store_mailbox_close(&other);

	/* a source expunged between staging and the end fails the copy and
	 * leaves the destination as it was */
	assert_int_equal(store_copy_begin(src, msns, 5, "Archive", false, &ctx), 0);
	assert_int_equal(store_copy_continue(ctx, 5), 0);
	assert_int_equal(store_mailbox_open(store, "INBOX", false, &other), 0);
	uint32_t m3 = 3;
	assert_int_equal(store_mailbox_expunge(other, &m3, 1), 0);
	store_mailbox_close(&other);
	assert_int_equal(copy_run(ctx), -1);
	store_last_error(store, &err);
	assert_int_equal(err, STORE_ERR_EXPUNGED);
	store_copy_free(&ctx);
	assert_count(staged_count("demo", "Archive"), 0);
	assert_int_equal(store_mailbox_status(store, "Archive", &status), 0);
	assert_int_equal(status.messages, 8);
	assert_int_equal(status.uidnext, 9);
	assert_count(stored_count("demo", "Archive"), 8);

	store_mailbox_close(&src);
	store_close(&store);
}

/* MOVE commits in parts (RFC 6851 3.1): a source expunged before its
 * part fails the MOVE there; each message is moved or unaffected, none
 * is in both mailboxes or lost. */
static void test_move_in_parts(void **state)
{
	(void)state;
	struct store *store = open_store("demo");
	struct store_mailbox *src, *other;
	struct store_copy *ctx;
	struct store_status status;
	uint32_t msns[300];
	enum store_error err;

	for (uint32_t i = 0; i < 300; i++) {
		append(store, "INBOX", msg1, 0, NULL, 0, 0);
		msns[i] = i + 1;
	}
	assert_int_equal(store_mailbox_open(store, "INBOX", false, &src), 0);
	assert_int_equal(store_copy_begin(src, msns, 300, "Archive", true, &ctx), 0);
	for (int i = 0; i < 3; i++)
		assert_int_equal(store_copy_continue(ctx, 100), 0);
	assert_count(staged_count("demo", "Archive"), 300);
	/* another session expunges message 290 */
	assert_int_equal(store_mailbox_open(store, "INBOX", false, &other), 0);
	uint32_t m290 = 290;
	assert_int_equal(store_mailbox_expunge(other, &m290, 1), 0);
	store_mailbox_close(&other);
	assert_int_equal(copy_run(ctx), -1);
	store_last_error(store, &err);
	assert_int_equal(err, STORE_ERR_EXPUNGED);
	store_copy_free(&ctx);
	assert_count(staged_count("demo", "Archive"), 0);
	/* the first part moved, the rest unaffected */
	assert_int_equal(store_mailbox_status(store, "Archive", &status), 0);
	assert_int_equal(status.messages, 256);
	assert_int_equal(store_mailbox_status(store, "INBOX", &status), 0);
	assert_int_equal(status.messages, 300 - 256 - 1);
	assert_count(stored_count("demo", "Archive"), 256);
	assert_count(stored_count("demo", "INBOX"), 43);
	store_mailbox_close(&src);
	store_close(&store);
}

/* The destination renamed between the steps: the copy lands in it under
 * its new name; deleted: the copy fails with STORE_ERR_NOTFOUND. */
static void test_copy_dest_renamed_or_deleted(void **state)
{
	(void)state;
	struct store *store = open_store("demo");
	struct store_mailbox *src;
	struct store_copy *ctx;
	struct store_status status;
	uint32_t msns[] = { 1, 2, 3 }, uidvalidity, *uids;
	enum store_error err;

	for (int i = 0; i < 3; i++)
		append(store, "INBOX", msg1, 0, NULL, 0, 0);
	assert_int_equal(store_mailbox_create(store, "Box", 0), 0);
	assert_int_equal(store_mailbox_open(store, "INBOX", false, &src), 0);

	assert_int_equal(store_copy_begin(src, msns, 3, "Box", false, &ctx), 0);
	assert_int_equal(store_copy_continue(ctx, 1), 0);
	assert_int_equal(store_mailbox_rename(store, "Box", "Renamed"), 0);
	assert_int_equal(copy_run(ctx), 1);
	store_copy_result(ctx, &uidvalidity, &uids);
	store_copy_free(&ctx);
	free(uids);
	assert_int_equal(store_mailbox_status(store, "Renamed", &status), 0);
	assert_int_equal(status.messages, 3);

	assert_int_equal(store_copy_begin(src, msns, 3, "Renamed", false, &ctx), 0);
	assert_int_equal(store_copy_continue(ctx, 1), 0);
	assert_int_equal(store_mailbox_delete(store, "Renamed"), 0);
	assert_int_equal(copy_run(ctx), -1);
	store_last_error(store, &err);
	assert_int_equal(err, STORE_ERR_NOTFOUND);
	store_copy_free(&ctx);

	store_mailbox_close(&src);
	store_close(&store);
}

static bool list_lacks(struct store_mailbox_info *infos, size_t count, const char *name)
{
	for (size_t i = 0; i < count; i++) {
		if (strcmp(infos[i].name, name) == 0)
			return false;
	}
	return true;
}

static void test_mailbox_ops(void **state)
{
	(void)state;
	struct store *store = open_store("demo");
	struct store_mailbox_info *infos;
	struct store_mailbox *box;
	size_t count;
	enum store_error err;

	assert_int_equal(store_mailbox_create(store, "A/B/C", 0), 0);
	assert_int_equal(store_mailbox_create(store, "A/B", 0), -1);
	store_last_error(store, &err);
	assert_int_equal(err, STORE_ERR_EXISTS);
	assert_int_equal(store_mailbox_create(store, "inbox", 0), -1);
	store_last_error(store, &err);
	assert_int_equal(err, STORE_ERR_EXISTS);
	assert_int_equal(store_mailbox_create(store, "bad//name", 0), -1);
	store_last_error(store, &err);
	assert_int_equal(err, STORE_ERR_PARAMS);
	assert_int_equal(store_mailbox_create(store, "bad\xff", 0), -1);
	assert_int_equal(store_mailbox_create(store, "v1.2%/x", 0), 0);
	assert_int_equal(store_mailbox_create(store, "Überweisungen", STORE_USE_ALL), 0);

	assert_int_equal(store_mailbox_list(store, &infos, &count), 0);
	assert_true(list_has(infos, count, "A", true, true));
	assert_true(list_has(infos, count, "A/B", true, true));
	assert_true(list_has(infos, count, "A/B/C", true, false));
	assert_true(list_has(infos, count, "v1.2%/x", true, false));
	assert_true(list_has(infos, count, "Überweisungen", true, false));
	free(infos);

	/* delete a parent: stays as \Noselect */
	append(store, "A", msg1, 0, NULL, 0, 0);
	assert_int_equal(store_mailbox_delete(store, "A"), 0);
	assert_int_equal(store_mailbox_list(store, &infos, &count), 0);
	assert_true(list_has(infos, count, "A", false, true));
	free(infos);
	assert_int_equal(store_mailbox_delete(store, "A"), -1);
	store_last_error(store, &err);
	assert_int_equal(err, STORE_ERR_INUSE);
	assert_int_equal(store_mailbox_open(store, "A", false, &box), -1);
	assert_int_equal(store_mailbox_delete(store, "INBOX"), -1);
	store_last_error(store, &err);
	assert_int_equal(err, STORE_ERR_NOTPOSSIBLE);
	assert_int_equal(store_mailbox_delete(store, "Nope"), -1);
	assert_string_equal(store_last_error(store, &err), "Mailbox doesn't exist: Nope");
	assert_int_equal(err, STORE_ERR_NOTFOUND);
	/* recreate the \Noselect name: a fresh mailbox */
	assert_int_equal(store_mailbox_create(store, "A", 0), 0);
	struct store_status status;
	assert_int_equal(store_mailbox_status(store, "A", &status), 0);
	assert_int_equal(status.messages, 0);
	assert_int_equal(store_mailbox_delete(store, "A/B/C"), 0);

	/* rename: children follow, parents are created */
	assert_int_equal(store_mailbox_create(store, "A/B/D", 0), 0);
	append(store, "A/B/D", msg2, STORE_FLAG_SEEN, NULL, 0, 0);
	assert_int_equal(store_mailbox_status(store, "A/B/D", &status), 0);
	uint32_t uv = status.uidvalidity;
	assert_int_equal(store_mailbox_rename(store, "A/B", "X/Y"), 0);
	assert_int_equal(store_mailbox_list(store, &infos, &count), 0);
	assert_true(list_has(infos, count, "X", true, true));
	assert_true(list_has(infos, count, "X/Y", true, true));
	assert_true(list_has(infos, count, "X/Y/D", true, false));
	assert_true(list_lacks(infos, count, "A/B"));
	assert_true(list_lacks(infos, count, "A/B/D"));
	free(infos);
	assert_int_equal(store_mailbox_status(store, "X/Y/D", &status), 0);
	assert_int_equal(status.messages, 1);
	assert_int_equal(status.uidvalidity, uv);
	assert_int_equal(store_mailbox_open(store, "X/Y/D", false, &box), 0);
	char *text = read_msg(box, 1);
	assert_string_equal(text, msg2);
	free(text);
	store_mailbox_close(&box);
	/* a view open during a rename by another store keeps working */
	struct store *other = open_store("demo");
	struct store_mailbox *follow;
	assert_int_equal(store_mailbox_open(other, "X/Y/D", false, &follow), 0);
	assert_int_equal(store_mailbox_rename(store, "X/Y/D", "X/Y/E"), 0);
	append(store, "X/Y/E", msg3, 0, NULL, 0, 0);
	struct events fev = { "" };
	assert_int_equal(store_mailbox_sync(follow, 0, &ev_callbacks, &fev), 0);
	assert_string_equal(fev.log, "X2 ");
	assert_string_equal(store_mailbox_name(follow), "X/Y/E");
	text = read_msg(follow, 2);
	assert_string_equal(text, msg3);
	free(text);
	store_mailbox_close(&follow);
	store_close(&other);
	assert_int_equal(store_mailbox_rename(store, "X/Y/E", "X/Y/D"), 0);

	assert_int_equal(store_mailbox_rename(store, "X", "Sent"), -1);
	store_last_error(store, &err);
	assert_int_equal(err, STORE_ERR_EXISTS);
	assert_int_equal(store_mailbox_rename(store, "Nope", "Nope2"), -1);
	store_last_error(store, &err);
	assert_int_equal(err, STORE_ERR_NOTFOUND);
	assert_int_equal(store_mailbox_rename(store, "X", "X/Z"), -1);

	/* rename INBOX: messages move, INBOX stays and is empty */
	const char *kw[] = { "k" };
	append(store, "INBOX", msg1, STORE_FLAG_SEEN, kw, 1, 0);
	append(store, "INBOX", msg3, 0, NULL, 0, 0);
	struct store_mailbox *inbox;
	assert_int_equal(store_mailbox_open(store, "INBOX", false, &inbox), 0);
	assert_int_equal(store_mailbox_rename(store, "INBOX", "Old/Inbox"), 0);
	assert_int_equal(store_mailbox_status(store, "INBOX", &status), 0);
	assert_int_equal(status.messages, 0);
	assert_int_equal(status.uidnext, 3);
	assert_int_equal(store_mailbox_status(store, "Old/Inbox", &status), 0);
	assert_int_equal(status.messages, 2);
	assert_int_equal(store_mailbox_open(store, "Old/Inbox", false, &box), 0);
	assert_int_equal(store_mailbox_msg(box, 1)->flags, STORE_FLAG_SEEN);
	assert_int_equal(store_mailbox_msg(box, 1)->keywords, 1);
	text = read_msg(box, 2);
	assert_string_equal(text, msg3);
	free(text);
	store_mailbox_close(&box);
	struct events ev = { "" };
	assert_int_equal(store_mailbox_sync(inbox, 0, &ev_callbacks, &ev), 0);
	assert_string_equal(ev.log, "E2/2 E1/1 ");
	store_mailbox_close(&inbox);
	append(store, "INBOX", msg2, 0, NULL, 0, 0);

	/* subscriptions */
	assert_int_equal(store_mailbox_subscribe(store, "Ghost/Town", true), 0);
	assert_int_equal(store_mailbox_subscribe(store, "Sent", false), 0);
	assert_int_equal(store_mailbox_list(store, &infos, &count), 0);
	for (size_t i = 0; i < count; i++) {
		if (strcmp(infos[i].name, "Ghost/Town") == 0) {
			assert_true(infos[i].subscribed);
			assert_false(infos[i].exists);
		}
		if (strcmp(infos[i].name, "Sent") == 0)
			assert_false(infos[i].subscribed);
	}
	assert_true(list_lacks(infos, count, "Ghost"));
	free(infos);
	store_close(&store);
}

/* A process that dies in the middle of an append stores nothing; an
 * aborted append neither. */
static void test_crash_append(void **state)
{
	(void)state;
	struct store *store;
	struct store_append *ctx;
	struct store_status status;

	fixture_set.fsync = true;
	store = open_store("demo");
	store_close(&store);
	die_in_append("INBOX");

	store = open_store("demo");
	assert_int_equal(store_mailbox_status(store, "INBOX", &status), 0);
	assert_int_equal(status.messages, 0);
	assert_int_equal(status.uidnext, 1);
	assert_count(stored_count("demo", "INBOX"), 0);

	/* abort: nothing stored, nothing staged */
	assert_int_equal(store_append_begin(store, "Sent", &ctx), 0);
	assert_int_equal(store_append_write(ctx, msg1, 10), 0);
	store_append_abort(&ctx);
	assert_null(ctx);
	assert_count(staged_count("demo", "Sent"), 0);
	assert_count(stored_count("demo", "Sent"), 0);
	assert_int_equal(store_mailbox_status(store, "Sent", &status), 0);
	assert_int_equal(status.messages, 0);

	/* a durable append works with fsync on and survives reopening */
	assert_int_equal(append(store, "INBOX", msg1, 0, NULL, 0, 0), 1);
	store_close(&store);
	store = open_store("demo");
	assert_int_equal(store_mailbox_status(store, "INBOX", &status), 0);
	assert_int_equal(status.messages, 1);
	store_close(&store);
	fixture_set.fsync = false;
}

/* The backend comes from the settings, by name. */
static void test_backends(void **state)
{
	(void)state;
	struct store_settings nope = fixture_set;
	struct store *store;
	struct store_message *msg;
	const char *error;
	char *msg_text = NULL;

	assert_int_equal(store_backend_check("maildir", &msg_text), 0);
	assert_null(msg_text);
	assert_int_equal(store_backend_check("postgresql", &msg_text), -1);
	assert_string_equal(msg_text, "unknown store backend \"postgresql\" (known: maildir)");
	free(msg_text);
	nope.backend = "postgresql";
	assert_int_equal(store_open(&nope, "demo", &store, &error), -1);
	assert_non_null(error);
	assert_int_equal(store_message_begin(&nope, &msg, &error), -1);
	assert_int_equal(store_rebuild(&nope, "demo", &error), -1);
}

/* ---- change notification ---- */

struct notified {
	char log[64];
	/* the watches by cookie: a report of one removes the other */
	struct store_notify_watch **watches[2];
};

static const char notify_cookies[2] = { 'a', 'b' };

static void notified_cb(void *ctx, void *cookie)
{
	struct notified *got = ctx;
	const char *c = cookie;
	size_t len = strlen(got->log);

	snprintf(got->log + len, sizeof(got->log) - len, "%c", *c);
	if (got->watches[0] != NULL)
		store_notify_remove(got->watches[c == &notify_cookies[0] ? 1 : 0]);
}

/* Waits up to timeout_ms for the descriptor, then reads what it has. */
static const char *notify_wait(struct store_notify *notify, struct notified *got,
			       int timeout_ms)
{
	struct pollfd pfd = { .fd = store_notify_fd(notify), .events = POLLIN };

	got->log[0] = '\0';
	(void)poll(&pfd, 1, timeout_ms);
	store_notify_read(notify, notified_cb, got);
	return got->log;
}

/* Appends msg to demo's `mailbox` from another process. */
static void append_elsewhere(const char *mailbox, const char *msg)
{
	int wstatus;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		struct store *child;
		struct store_append *ctx;
		const char *error;
		uint32_t uidvalidity, uid;

		if (store_open(&fixture_set, "demo", &child, &error) < 0 ||
		    store_append_begin(child, mailbox, &ctx) < 0 ||
		    store_append_write(ctx, msg, strlen(msg)) < 0 ||
		    store_append_commit(&ctx, 0, NULL, 0, 0, 0, &uidvalidity, &uid) < 0)
			_exit(1);
		store_close(&child);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &wstatus, 0), pid);
	assert_true(WIFEXITED(wstatus));
	assert_int_equal(WEXITSTATUS(wstatus), 0);
}

static void test_notify_watches(void **state)
{
	(void)state;
	struct store *demo = open_store("demo"), *other = open_store("other@example.org");
	struct store_mailbox *inbox, *other_inbox;
	struct store_notify *notify;
	struct store_notify_watch *wa, *wb;
	struct notified got = { .log = "" };
	const char *error;

	/* no descriptor left (as when the inotify instances run out): the
	 * caller is told, and polls */
	struct rlimit rl, none;
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &rl), 0);
	none = rl;
	none.rlim_cur = 0;
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &none), 0);
	error = NULL;
	assert_int_equal(store_notify_create(&fixture_set, &notify, &error), -1);
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &rl), 0);
	assert_non_null(error);

	assert_int_equal(store_notify_create(&fixture_set, &notify, &error), 0);
	assert_true(store_notify_fd(notify) >= 0);
	assert_int_equal(store_mailbox_open(demo, "INBOX", false, &inbox), 0);
	assert_int_equal(store_mailbox_open(other, "INBOX", false, &other_inbox), 0);
	assert_int_equal(store_notify_add(notify, inbox, (void *)&notify_cookies[0], &wa), 0);
	assert_int_equal(store_notify_add(notify, other_inbox, (void *)&notify_cookies[1], &wb),
			 0);
	/* the watches do not need the mailboxes */
	store_mailbox_close(&other_inbox);
	assert_string_equal(notify_wait(notify, &got, 0), "");

	/* a change by another process is reported once, for its watch only */
	append_elsewhere("INBOX", msg1);
	assert_string_equal(notify_wait(notify, &got, 1000), "a");
	assert_string_equal(notify_wait(notify, &got, 0), "");
	/* a flag change through this process's store, too */
	uint32_t msn = 1, *failed;
	size_t failed_count;
	assert_int_equal(store_mailbox_sync(inbox, 0, NULL, NULL), 0);
	assert_int_equal(store_mailbox_update_flags(inbox, &msn, 1, STORE_FLAGS_ADD,
						    STORE_FLAG_SEEN, 0, 0, &failed,
						    &failed_count), 0);
	assert_string_equal(notify_wait(notify, &got, 1000), "a");
	/* and another user's change for the other watch */
	append(other, "INBOX", msg2, 0, NULL, 0, 0);
	assert_string_equal(notify_wait(notify, &got, 1000), "b");

	/* a removed watch is not reported, not even for a pending change */
	append(other, "INBOX", msg2, 0, NULL, 0, 0);
	store_notify_remove(&wb);
	assert_null(wb);
	assert_string_equal(notify_wait(notify, &got, 100), "");
	append(other, "INBOX", msg2, 0, NULL, 0, 0);
	assert_string_equal(notify_wait(notify, &got, 100), "");

	/* with Maildir: a mail program dropping a file into new/ is seen */
	if (strcmp(fixture_backend->name, "maildir") == 0) {
		char *path = user_path("Maildir/new/1.M1P1.host");
		int fd = open(path, O_WRONLY | O_CREAT, 0600);
		assert_true(fd >= 0);
		close(fd);
		free(path);
		assert_string_equal(notify_wait(notify, &got, 1000), "a");
	}

	/* a callback may remove another pending watch: one report */
	assert_int_equal(store_notify_add(notify, inbox, (void *)&notify_cookies[1], &wb), 0);
	got.watches[0] = &wa;
	got.watches[1] = &wb;
	append(demo, "INBOX", msg2, 0, NULL, 0, 0);
	const char *log = notify_wait(notify, &got, 1000);
	assert_int_equal(strlen(log), 1);
	assert_true(wa == NULL || wb == NULL);
	store_notify_remove(&wa);
	store_notify_remove(&wb);
	got.watches[0] = got.watches[1] = NULL;

	/* the watch follows the folder when another session renames it */
	assert_int_equal(store_mailbox_create(demo, "Old", 0), 0);
	struct store_mailbox *box;
	assert_int_equal(store_mailbox_open(demo, "Old", false, &box), 0);
	assert_int_equal(store_notify_add(notify, box, (void *)&notify_cookies[0], &wa), 0);
	store_mailbox_close(&box);
	assert_int_equal(store_mailbox_rename(demo, "Old", "New"), 0);
	assert_string_equal(notify_wait(notify, &got, 1000), "a");
	if (strcmp(fixture_backend->name, "maildir") == 0) {
		/* a file dropped into the renamed folder's new/ */
		char *path = user_path("Maildir/.New/new/2.M1P1.host");
		int fd = open(path, O_WRONLY | O_CREAT, 0600);
		assert_true(fd >= 0);
		close(fd);
		free(path);
	} else {
		append(demo, "New", msg2, 0, NULL, 0, 0);
	}
	assert_string_equal(notify_wait(notify, &got, 1000), "a");
	store_notify_remove(&wa);

	store_notify_destroy(&notify);
	assert_null(notify);
	store_mailbox_close(&inbox);
	store_close(&demo);
	store_close(&other);
}

static void count_cb(void *ctx, void *cookie)
{
	(void)cookie;
	(*(size_t *)ctx)++;
}

/* store_notify_add_user(): every change of the user, whatever the
 * mailbox, by this process or another; and many watches at once (the
 * backend's lookup of a report's watch) */
static void test_notify_user_watch(void **state)
{
	(void)state;
	struct store *demo = open_store("demo");
	struct store_notify *notify;
	struct store_notify_watch *wa, *wb;
	struct notified got = { .log = "" };
	const char *error;

	assert_int_equal(store_mailbox_create(demo, "Lists", 0), 0);
	assert_int_equal(store_notify_create(&fixture_set, &notify, &error), 0);
	assert_int_equal(store_notify_add_user(notify, demo, (void *)&notify_cookies[0], &wa), 0);
	assert_string_equal(notify_wait(notify, &got, 0), "");
	append_elsewhere("Lists", msg1);
	assert_string_equal(notify_wait(notify, &got, 1000), "a");
	assert_string_equal(notify_wait(notify, &got, 0), "");
	assert_int_equal(store_mailbox_create(demo, "New", 0), 0);
	assert_string_equal(notify_wait(notify, &got, 1000), "a");
	assert_int_equal(store_mailbox_subscribe(demo, "New", true), 0);
	assert_string_equal(notify_wait(notify, &got, 1000), "a");
	/* nothing changed: nothing to tell */
	assert_int_equal(store_mailbox_subscribe(demo, "New", true), 0);
	assert_string_equal(notify_wait(notify, &got, 100), "");
	assert_int_equal(store_mailbox_rename(demo, "New", "Newer"), 0);
	assert_string_equal(notify_wait(notify, &got, 1000), "a");
	assert_int_equal(store_mailbox_delete(demo, "Newer"), 0);
	assert_string_equal(notify_wait(notify, &got, 1000), "a");
	store_notify_remove(&wa);

	/* 300 mailbox watches besides a user watch: a file dropped into one
	 * folder's new/ is reported for that folder's watch alone */
	if (strcmp(fixture_backend->name, "maildir") == 0) {
		enum { N = 300 };
		static char cookies[N];
		struct store_notify_watch *watches[N];
		char name[32];
		assert_int_equal(store_notify_add_user(notify, demo, (void *)&notify_cookies[1], &wb),
				 0);
		for (int i = 0; i < N; i++) {
			struct store_mailbox *box;
			snprintf(name, sizeof(name), "m%d", i);
			cookies[i] = (char)('A' + i % 26);
			assert_int_equal(store_mailbox_create(demo, name, 0), 0);
			assert_int_equal(store_mailbox_open(demo, name, false, &box), 0);
			assert_int_equal(store_notify_add(notify, box, &cookies[i], &watches[i]), 0);
			store_mailbox_close(&box);
		}
		(void)notify_wait(notify, &got, 100);
		char *path = user_path("Maildir/.m277/new/1.M1P1.host");
		int fd = open(path, O_WRONLY | O_CREAT, 0600);
		assert_true(fd >= 0);
		close(fd);
		free(path);
		assert_string_equal(notify_wait(notify, &got, 1000), "R");	/* 'A' + 277 % 26 */
		/* a change through the store: every watch of the user, once */
		append(demo, "m3", msg2, 0, NULL, 0, 0);
		struct pollfd pfd = { .fd = store_notify_fd(notify), .events = POLLIN };
		size_t reports = 0;
		(void)poll(&pfd, 1, 1000);
		store_notify_read(notify, count_cb, &reports);
		assert_int_equal(reports, N + 1);
		for (int i = 0; i < N; i++)
			store_notify_remove(&watches[i]);
		store_notify_remove(&wb);
	}
	store_notify_destroy(&notify);
	store_close(&demo);
}

/* store_mailbox_states(): sorted by name, the id kept by RENAME, the
 * counters moved by every change of the messages, a new UIDVALIDITY for
 * a mailbox made again */
static void test_mailbox_states(void **state)
{
	(void)state;
	struct store *store = open_store("demo");
	struct store_mailbox_state *s0, *s1;
	size_t n0, n1;

	assert_int_equal(store_mailbox_create(store, "b", 0), 0);
	assert_int_equal(store_mailbox_create(store, "a/x", 0), 0);
	assert_int_equal(store_mailbox_states(store, &s0, &n0), 0);
	for (size_t i = 1; i < n0; i++)
		assert_true(strcmp(s0[i - 1].name, s0[i].name) < 0);
	size_t b = 0;
	while (b < n0 && strcmp(s0[b].name, "b") != 0)
		b++;
	assert_true(b < n0);
	/* an append moves UIDNEXT and HIGHESTMODSEQ */
	append(store, "b", msg1, 0, NULL, 0, 0);
	assert_int_equal(store_mailbox_states(store, &s1, &n1), 0);
	assert_int_equal(n1, n0);
	assert_int_equal(s1[b].id, s0[b].id);
	assert_int_equal(s1[b].uidnext, s0[b].uidnext + 1);
	assert_true(s1[b].highestmodseq > s0[b].highestmodseq);
	uint64_t modseq = s1[b].highestmodseq;
	free(s1);
	/* a flag change and an expunge move HIGHESTMODSEQ */
	struct store_mailbox *box;
	uint32_t msn = 1, *failed;
	size_t failed_count;
	assert_int_equal(store_mailbox_open(store, "b", false, &box), 0);
	assert_int_equal(store_mailbox_update_flags(box, &msn, 1, STORE_FLAGS_ADD,
						    STORE_FLAG_SEEN, 0, 0, &failed,
						    &failed_count), 0);
	assert_int_equal(store_mailbox_states(store, &s1, &n1), 0);
	assert_true(s1[b].highestmodseq > modseq);
	modseq = s1[b].highestmodseq;
	free(s1);
	assert_int_equal(store_mailbox_expunge(box, &msn, 1), 0);
	store_mailbox_close(&box);
	assert_int_equal(store_mailbox_states(store, &s1, &n1), 0);
	assert_true(s1[b].highestmodseq > modseq);
	free(s1);
	/* RENAME keeps the id and UIDVALIDITY */
	assert_int_equal(store_mailbox_rename(store, "b", "c"), 0);
	assert_int_equal(store_mailbox_states(store, &s1, &n1), 0);
	assert_string_equal(s1[n1 - 1].name, "c");
	assert_int_equal(s1[n1 - 1].id, s0[b].id);
	assert_int_equal(s1[n1 - 1].uidvalidity, s0[b].uidvalidity);
	free(s1);
	/* made again: another UIDVALIDITY */
	assert_int_equal(store_mailbox_delete(store, "c"), 0);
	assert_int_equal(store_mailbox_create(store, "c", 0), 0);
	assert_int_equal(store_mailbox_states(store, &s1, &n1), 0);
	assert_string_equal(s1[n1 - 1].name, "c");
	assert_true(s1[n1 - 1].uidvalidity != s0[b].uidvalidity);
	free(s1);
	free(s0);
	store_close(&store);
}

static void test_keyword_limit(void **state)
{
	(void)state;
	struct store *store = open_store("demo");
	struct store_mailbox *box;
	enum store_error err;
	uint32_t m1 = 1, *failed;
	size_t failed_count;
	char name[32];

	append(store, "INBOX", msg1, 0, NULL, 0, 0);
	assert_int_equal(store_mailbox_open(store, "INBOX", false, &box), 0);
	for (int i = 0; i < STORE_MAX_KEYWORDS; i++) {
		snprintf(name, sizeof(name), "kw%d", i);
		assert_int_equal(kw_index(box, name, true), i);
	}
	assert_int_equal(kw_index_error(store, box, "one-too-many", true), STORE_ERR_LIMIT);
	store_last_error(store, &err);
	assert_int_equal(err, STORE_ERR_LIMIT);
	store_keywords_t mask = ((store_keywords_t)1 << 0) | ((store_keywords_t)1 << 25) |
		((store_keywords_t)1 << 26) | ((store_keywords_t)1 << 63);
	assert_int_equal(store_mailbox_update_flags(box, &m1, 1, STORE_FLAGS_REPLACE,
		0, mask, 0, &failed, &failed_count), 0);
	store_mailbox_close(&box);
	assert_int_equal(store_mailbox_open(store, "INBOX", true, &box), 0);
	assert_true(store_mailbox_msg(box, 1)->keywords == mask);
	store_mailbox_close(&box);
	/* append with too many new keywords fails cleanly */
	struct store_append *ctx;
	const char *kws[] = { "brand-new" };
	uint32_t uv, uid;
	assert_int_equal(store_append_begin(store, "INBOX", &ctx), 0);
	assert_int_equal(store_append_write(ctx, msg2, strlen(msg2)), 0);
	assert_int_equal(store_append_commit(&ctx, 0, kws, 1, 0, 0, &uv, &uid), -1);
	store_last_error(store, &err);
	assert_int_equal(err, STORE_ERR_LIMIT);
	assert_count(staged_count("demo", "INBOX"), 0);
	struct store_status status;
	assert_int_equal(store_mailbox_status(store, "INBOX", &status), 0);
	assert_int_equal(status.messages, 1);
	store_close(&store);
}

static void test_keywords_all_or_none(void **state)
{
	(void)state;
	struct store *s1 = open_store("demo"), *s2 = open_store("demo");
	struct store_mailbox *a, *b;
	enum store_error err;
	store_keywords_t mask;
	const char *names[STORE_MAX_KEYWORDS];
	char bufs[STORE_MAX_KEYWORDS][16];
	uint32_t m1 = 1, m2 = 2, *failed;
	size_t n, failed_count;

	for (int i = 0; i < STORE_MAX_KEYWORDS; i++) {
		snprintf(bufs[i], sizeof(bufs[i]), "k%d", i);
		names[i] = bufs[i];
	}
	append(s1, "INBOX", msg1, 0, NULL, 0, 0);
	append(s1, "INBOX", msg2, 0, NULL, 0, 0);
	assert_int_equal(store_mailbox_open(s1, "INBOX", false, &a), 0);
	assert_int_equal(store_mailbox_open(s2, "INBOX", false, &b), 0);
	assert_int_equal(store_mailbox_keywords_mask(a, names, 60, true, &mask), 0);
	assert_true(mask == ((store_keywords_t)1 << 60) - 1);
	/* b's table is older: 3 of the 5 are new, 64 - 60 = 4 places */
	const char *more[] = { "k58", "K59", "x1", "x2", "x3", "x4", "x5" };
	assert_int_equal(store_mailbox_keywords_mask(b, more, 7, true, &mask), -1);
	store_last_error(s2, &err);
	assert_int_equal(err, STORE_ERR_LIMIT);
	assert_int_equal(store_mailbox_keywords_mask(b, more, 6, true, &mask), 0);
	store_mailbox_keywords(b, &n);
	assert_int_equal(n, 64);
	assert_true(mask == (((store_keywords_t)3 << 58) | ((store_keywords_t)15 << 60)));
	/* without create, names the mailbox does not have (x5) are left
	 * out; those b added since a's last sync are found, the table
	 * reloaded (a -FLAGS of them must remove them) */
	assert_int_equal(store_mailbox_keywords_mask(a, more, 7, false, &mask), 0);
	assert_true(mask == (((store_keywords_t)3 << 58) | ((store_keywords_t)15 << 60)));
	store_mailbox_keywords(a, &n);
	assert_int_equal(n, 64);

	/* own change of what a knew: own_flags; merged with b's: flags */
	struct events ev = { .log = "" };
	struct store_sync_callbacks cb = ev_callbacks;
	cb.own_flags = ev_own_flags;
	assert_int_equal(store_mailbox_sync(a, 0, &cb, &ev), 0);
	ev.log[0] = '\0';
	assert_int_equal(store_mailbox_update_flags(b, &m2, 1, STORE_FLAGS_ADD,
		STORE_FLAG_FLAGGED, 0, 0, &failed, &failed_count), 0);
	assert_int_equal(store_mailbox_update_flags(a, &m1, 1, STORE_FLAGS_ADD,
		STORE_FLAG_SEEN, 0, 0, &failed, &failed_count), 0);
	assert_int_equal(store_mailbox_update_flags(a, &m2, 1, STORE_FLAGS_ADD,
		STORE_FLAG_SEEN, 0, 0, &failed, &failed_count), 0);
	assert_int_equal(store_mailbox_sync(a, 0, &cb, &ev), 0);
	assert_string_equal(ev.log, "O1=1 F2=5 ");
	store_mailbox_close(&a);
	store_mailbox_close(&b);
	store_close(&s1);
	store_close(&s2);
}

static void test_delete_recreate(void **state)
{
	(void)state;
	struct store *store = open_store("demo");
	struct store_status st1, st2;

	assert_int_equal(store_mailbox_create(store, "Tmp", 0), 0);
	append(store, "Tmp", msg1, 0, NULL, 0, 0);
	assert_int_equal(store_mailbox_status(store, "Tmp", &st1), 0);
	assert_int_equal(store_mailbox_delete(store, "Tmp"), 0);
	assert_count(stored_count("demo", "Tmp"), 0);
	assert_int_equal(store_mailbox_create(store, "Tmp", 0), 0);
	assert_int_equal(store_mailbox_status(store, "Tmp", &st2), 0);
	assert_int_equal(st2.messages, 0);
	assert_int_equal(st2.uidnext, 1);
	assert_true(st2.uidvalidity != st1.uidvalidity);
	store_close(&store);
}

/* Several processes append and flag at once: no lost update, unique UIDs. */
static void test_multiprocess(void **state)
{
	(void)state;
	enum { CHILDREN = 3, PER_CHILD = 15 };
	struct store *store = open_store("demo");
	struct store_mailbox *box;
	pid_t pids[CHILDREN];

	append(store, "INBOX", msg1, 0, NULL, 0, 0);
	store_close(&store);
	for (int c = 0; c < CHILDREN; c++) {
		pids[c] = fork();
		assert_true(pids[c] >= 0);
		if (pids[c] == 0) {
			struct store *cs;
			struct store_mailbox *cb;
			const char *error;
			uint32_t m1 = 1, *failed;
			size_t failed_count;
			char kw[16];

			if (store_open(&fixture_set, "demo", &cs, &error) < 0 ||
			    store_mailbox_open(cs, "INBOX", false, &cb) < 0)
				_exit(1);
			snprintf(kw, sizeof(kw), "child%d", c);
			int idx = kw_index(cb, kw, true);
			if (idx < 0 || store_mailbox_update_flags(cb, &m1, 1, STORE_FLAGS_ADD,
					c == 0 ? STORE_FLAG_SEEN : c == 1 ? STORE_FLAG_FLAGGED :
					STORE_FLAG_ANSWERED, (store_keywords_t)1 << idx, 0,
					&failed, &failed_count) < 0)
				_exit(2);
			for (int i = 0; i < PER_CHILD; i++) {
				struct store_append *ctx;
				uint32_t uv, uid;

				if (store_append_begin(cs, "INBOX", &ctx) < 0 ||
				    store_append_write(ctx, msg2, strlen(msg2)) < 0 ||
				    store_append_commit(&ctx, 0, NULL, 0, 0, 0, &uv, &uid) < 0)
					_exit(3);
				if (store_mailbox_sync(cb, 0, NULL, NULL) < 0)
					_exit(4);
			}
			store_mailbox_close(&cb);
			store_close(&cs);
			_exit(0);
		}
	}
	for (int c = 0; c < CHILDREN; c++) {
		int wstatus;

		assert_int_equal(waitpid(pids[c], &wstatus, 0), pids[c]);
		assert_true(WIFEXITED(wstatus));
		assert_int_equal(WEXITSTATUS(wstatus), 0);
	}
	store = open_store("demo");
	assert_int_equal(store_mailbox_open(store, "INBOX", true, &box), 0);
	assert_int_equal(store_mailbox_count(box), 1 + CHILDREN * PER_CHILD);
	for (uint32_t i = 1; i <= store_mailbox_count(box); i++)
		assert_int_equal(store_mailbox_msg(box, i)->uid, i);
	assert_int_equal(store_mailbox_msg(box, 1)->flags,
			 STORE_FLAG_SEEN | STORE_FLAG_FLAGGED | STORE_FLAG_ANSWERED);
	assert_int_equal(store_mailbox_msg(box, 1)->keywords, 7);
	store_mailbox_close(&box);
	assert_count(stored_count("demo", "INBOX"), 1 + CHILDREN * PER_CHILD);
	store_close(&store);
}

/* One message, written and parsed once, into mailboxes of two users:
 * every index with the model, each copy independent. */
static void test_shared_message(void **state)
{
	(void)state;
	static const char text[] =
		"From: a@example.org\r\nSubject: shared\r\n\r\nonce on disk\r\n";
	struct store *demo = open_store("demo"), *alice = open_store("alice");
	struct store_message *msg = shared_message(text);
	struct store_append *ctx;
	struct store_mailbox *box;
	struct store_msg_cache cache;
	enum store_error err;

	assert_int_equal(append_message(demo, "INBOX", msg, STORE_FLAG_SEEN), 1);
	assert_int_equal(append_message(alice, "INBOX", msg, 0), 1);
	assert_int_equal(append_message(demo, "Archive", msg, 0), 1);

	/* no writing into it, no unfinished message, no missing mailbox */
	assert_int_equal(store_append_begin_message(demo, "INBOX", msg, &ctx), 0);
	assert_int_equal(store_append_write(ctx, "x", 1), -1);
	store_last_error(demo, &err);
	assert_int_equal(err, STORE_ERR_PARAMS);
	store_append_abort(&ctx);
	assert_int_equal(store_append_begin_message(demo, "Nope", msg, &ctx), -1);
	store_last_error(demo, &err);
	assert_int_equal(err, STORE_ERR_NOTFOUND);
	store_message_free(&msg);
	assert_null(msg);

	assert_count(stored_count("demo", "INBOX"), 1);
	assert_count(stored_count("alice", "INBOX"), 1);
	assert_count(stored_count("demo", "Archive"), 1);

	assert_int_equal(store_mailbox_open(alice, "INBOX", false, &box), 0);
	const struct store_msg *m = store_mailbox_msg(box, 1);
	assert_int_equal(m->size, strlen(text));
	assert_int_equal(m->header_size, strlen(text) - strlen("once on disk\r\n"));
	assert_int_equal(m->internaldate, 1700000000);
	assert_int_equal(m->flags, 0);
	assert_int_equal(store_mailbox_msg_cache(box, 1, &cache), 0);
	assert_non_null(strstr(cache.envelope, "\"shared\""));
	char *read = read_msg(box, 1);
	assert_string_equal(read, text);
	free(read);
	/* expunging alice's copy leaves demo's */
	uint32_t msn = 1, *failed;
	size_t failed_count;
	assert_int_equal(store_mailbox_update_flags(box, &msn, 1, STORE_FLAGS_ADD,
						    STORE_FLAG_DELETED, 0, 0, &failed,
						    &failed_count), 0);
	free(failed);
	assert_int_equal(store_mailbox_expunge(box, NULL, 0), 0);
	store_mailbox_close(&box);
	assert_count(stored_count("alice", "INBOX"), 0);
	assert_count(stored_count("demo", "INBOX"), 1);
	assert_int_equal(store_mailbox_open(demo, "INBOX", true, &box), 0);
	assert_int_equal(store_mailbox_msg(box, 1)->flags, STORE_FLAG_SEEN);
	read = read_msg(box, 1);
	assert_string_equal(read, text);
	free(read);
	store_mailbox_close(&box);
	store_close(&alice);
	store_close(&demo);
}

/* ---- store_mailbox_msg_cache_many() ---- */

/* A copy of one message's model, to compare with. */
struct cache_copy {
	bool called, gone;
	char *envelope, *bodystructure, *bodystructure_rev2;
	void *part_map, *msgkeys;
	size_t part_map_size, msgkeys_size;
};

static char *dup_or_null(const char *s)
{
	return s == NULL ? NULL : xstrdup(s);
}

static void cache_copy_set(struct cache_copy *c, const struct store_msg_cache *cache)
{
	assert_false(c->called);	/* once for each i */
	c->called = true;
	c->gone = cache == NULL;
	if (cache == NULL)
		return;
	c->envelope = xstrdup(cache->envelope);
	c->bodystructure = xstrdup(cache->bodystructure);
	c->bodystructure_rev2 = dup_or_null(cache->bodystructure_rev2);
	c->part_map_size = cache->part_map_size;
	c->part_map = xmalloc(cache->part_map_size + 1);
	memcpy(c->part_map, cache->part_map, cache->part_map_size);
	c->msgkeys_size = cache->msgkeys_size;
	c->msgkeys = xmalloc(cache->msgkeys_size + 1);
	memcpy(c->msgkeys, cache->msgkeys, cache->msgkeys_size);
}

static void cache_copy_free(struct cache_copy *c)
{
	free(c->envelope);
	free(c->bodystructure);
	free(c->bodystructure_rev2);
	free(c->part_map);
	free(c->msgkeys);
	memset(c, 0, sizeof(*c));
}

static void assert_opt_string_equal(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		assert_ptr_equal(a, b);
	else
		assert_string_equal(a, b);
}

static void assert_cache_equal(const struct cache_copy *a, const struct cache_copy *b)
{
	assert_true(a->called && b->called);
	assert_int_equal(a->gone, b->gone);
	if (a->gone)
		return;
	assert_string_equal(a->envelope, b->envelope);
	assert_string_equal(a->bodystructure, b->bodystructure);
	assert_opt_string_equal(a->bodystructure_rev2, b->bodystructure_rev2);
	assert_int_equal(a->part_map_size, b->part_map_size);
	assert_memory_equal(a->part_map, b->part_map, a->part_map_size);
	assert_int_equal(a->msgkeys_size, b->msgkeys_size);
	assert_memory_equal(a->msgkeys, b->msgkeys, a->msgkeys_size);
}

static void cache_many_cb(void *ctx, size_t i, const struct store_msg_cache *cache)
{
	cache_copy_set((struct cache_copy *)ctx + i, cache);
}

#define CACHE_MANY_MSGS 6

/* Reads msns[0..count-1] with store_mailbox_msg_cache_many() and checks
 * each against want[msn - 1] (NULL: must be gone). */
static void check_cache_many(struct store_mailbox *box, const uint32_t *msns, size_t count,
			     const struct cache_copy *want)
{
	struct cache_copy got[CACHE_MANY_MSGS] = { 0 };

	assert_int_equal(store_mailbox_msg_cache_many(box, msns, count, cache_many_cb, got), 0);
	for (size_t i = 0; i < count; i++) {
		assert_cache_equal(&got[i], &want[msns[i] - 1]);
		cache_copy_free(&got[i]);
	}
}

/* The model of many messages in one call is what store_mailbox_msg_cache()
 * gives for each, in any order and spread of msns (the backend may scan
 * or look up), with the IMAP4rev2 forms of a message/global message and
 * of none other; a message expunged by another session since the view
 * was made is reported gone; after a rebuild (rows without the model)
 * the models are parsed, the same, and written back. */
static void test_msg_cache_many(void **state)
{
	(void)state;
	static const char global[] =
		"From: g@example.org\r\nSubject: global\r\nMIME-Version: 1.0\r\n"
		"Content-Type: multipart/mixed; boundary=\"q\"\r\n\r\n"
		"--q\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n"
		"--q\r\nContent-Type: message/global\r\n\r\n"
		"Subject: =?utf-8?q?inner?=\r\nFrom: h@example.org\r\n\r\ninner body\r\n"
		"--q--\r\n";
	static const char broken[] =
		"Subject: broken\r\nContent-Type: multipart/alternative\r\n\r\n"
		"no boundary parameter, no parts\r\n";
	static const char alt[] =
		"Subject: alt\r\nContent-Type: multipart/alternative; boundary=b\r\n\r\n"
		"--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nplain\r\n"
		"--b\r\nContent-Type: text/html\r\n\r\n<p>html</p>\r\n--b--\r\n";
	const char *texts[CACHE_MANY_MSGS] = { msg1, global, broken, msg2, alt, msg3 };
	struct cache_copy want[CACHE_MANY_MSGS] = { 0 }, none[CACHE_MANY_MSGS] = { 0 };
	struct store *store = open_store("demo");
	struct store_mailbox *box, *other;
	struct store_msg_cache cache;
	const char *error;

	for (size_t i = 0; i < CACHE_MANY_MSGS; i++)
		append(store, "INBOX", texts[i], 0, NULL, 0, 0);
	assert_int_equal(store_mailbox_open(store, "INBOX", true, &box), 0);
	for (uint32_t msn = 1; msn <= CACHE_MANY_MSGS; msn++) {
		assert_int_equal(store_mailbox_msg_cache(box, msn, &cache), 0);
		cache_copy_set(&want[msn - 1], &cache);
	}
	assert_non_null(want[1].bodystructure_rev2);
	assert_null(want[0].bodystructure_rev2);
	assert_null(want[2].bodystructure_rev2);

	const uint32_t all[] = { 1, 2, 3, 4, 5, 6 }, down[] = { 6, 4, 2, 1 };
	const uint32_t sparse[] = { 1, 6 }, some[] = { 2, 3, 5 };
	check_cache_many(box, all, 6, want);
	check_cache_many(box, down, 4, want);
	check_cache_many(box, sparse, 2, want);
	check_cache_many(box, some, 3, want);
	check_cache_many(box, all + 5, 1, want);
	assert_int_equal(store_mailbox_msg_cache_many(box, all, 0, cache_many_cb, none), 0);
	assert_false(none[0].called);
	store_mailbox_close(&box);

	/* msn 3 expunged by another session: gone for this view */
	assert_int_equal(store_mailbox_open(store, "INBOX", true, &box), 0);
	assert_int_equal(store_mailbox_open(store, "INBOX", false, &other), 0);
	uint32_t m3 = 3;
	assert_int_equal(store_mailbox_expunge(other, &m3, 1), 0);
	store_mailbox_close(&other);
	cache_copy_free(&want[2]);
	want[2].called = true;
	want[2].gone = true;
	check_cache_many(box, all, 6, want);
	check_cache_many(box, down + 1, 3, want);
	const uint32_t around[] = { 2, 3, 4 }, last[] = { 3 };
	check_cache_many(box, around, 3, want);
	check_cache_many(box, last, 1, want);
	store_mailbox_close(&box);
	store_close(&store);

	/* a rebuilt index has no model: parsed once, then read */
	assert_int_equal(store_rebuild(&fixture_set, "demo", &error), 0);
	store = open_store("demo");
	assert_int_equal(store_mailbox_open(store, "INBOX", true, &box), 0);
	assert_int_equal(store_mailbox_count(box), CACHE_MANY_MSGS - 1);
	struct cache_copy renum[CACHE_MANY_MSGS] = { 0 };
	for (size_t i = 0, j = 0; i < CACHE_MANY_MSGS; i++) {
		if (!want[i].gone)
			renum[j++] = want[i];
	}
	check_cache_many(box, down + 1, 3, renum);	/* some parsed, by lookup */
	check_cache_many(box, all, 5, renum);		/* the rest, by scan */
	check_cache_many(box, all, 5, renum);		/* all written back */
	store_mailbox_close(&box);
	store_close(&store);
	for (size_t i = 0; i < CACHE_MANY_MSGS; i++)
		cache_copy_free(&want[i]);
}

/* A rebuild refuses while another process has the store open. */
static void test_rebuild_refused_while_open(void **state)
{
	(void)state;
	struct store *store = open_store("demo");
	const char *error = NULL;
	int fds[2];
	char c;

	assert_int_equal(append(store, "INBOX", msg1, 0, NULL, 0, 0), 1);
	store_close(&store);
	assert_int_equal(pipe(fds), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct store *child;

		close(fds[0]);
		if (store_open(&fixture_set, "demo", &child, &error) < 0 || write(fds[1], "x", 1) != 1)
			_exit(1);
		usleep(500000);
		store_close(&child);
		_exit(0);
	}
	close(fds[1]);
	assert_int_equal(read(fds[0], &c, 1), 1);
	close(fds[0]);
	assert_int_equal(store_rebuild(&fixture_set, "demo", &error), -1);
	assert_non_null(strstr(error, "in use"));
	wait_child(pid);
	assert_int_equal(store_rebuild(&fixture_set, "demo", &error), 0);
}

/* Another session renames the selected mailbox and creates one under
 * the old name: until this session's next sync its view still has the
 * old directory, where the files are not.  A read then must not take the messages for vanished ones
 * and expunge them: they are all in the new directory. */
static void test_read_after_rename_expunges_nothing(void **state)
{
	(void)state;
	struct store *a = open_store("demo"), *b = open_store("demo");
	struct store_mailbox *box;
	struct store_status status;
	struct istream *msg;

	assert_int_equal(store_mailbox_create(a, "Sub", 0), 0);
	assert_int_equal(append(a, "Sub", msg1, 0, NULL, 0, 0), 1);
	assert_int_equal(append(a, "Sub", msg2, 0, NULL, 0, 0), 2);
	assert_int_equal(store_mailbox_open(a, "Sub", false, &box), 0);
	assert_int_equal(store_mailbox_rename(b, "Sub", "Other"), 0);
	/* the old directory is a new mailbox's now */
	assert_int_equal(store_mailbox_create(b, "Sub", 0), 0);
	(void)store_mailbox_msg_stream(box, 1, &msg);
	istream_destroy(&msg);
	assert_int_equal(store_mailbox_status(b, "Other", &status), 0);
	assert_int_equal(status.messages, 2);
	store_mailbox_close(&box);
	store_close(&a);
	/* nor does another process's first open of it */
	a = open_store("demo");
	assert_int_equal(store_mailbox_open(a, "Other", true, &box), 0);
	assert_int_equal(store_mailbox_count(box), 2);
	store_mailbox_close(&box);
	store_close(&a);
	store_close(&b);
}

/* HIGHESTMODSEQ of mailbox now, asserted above `before`. */
static uint64_t modseq_grew(struct store *store, const char *mailbox, uint64_t before)
{
	struct store_status status;

	assert_int_equal(store_mailbox_status(store, mailbox, &status), 0);
	if (status.highestmodseq <= before)
		fail_msg("%s: HIGHESTMODSEQ %llu did not grow past %llu", mailbox,
			 (unsigned long long)status.highestmodseq, (unsigned long long)before);
	return status.highestmodseq;
}

static uint64_t modseq_of(struct store *store, const char *mailbox)
{
	struct store_status status;

	assert_int_equal(store_mailbox_status(store, mailbox, &status), 0);
	return status.highestmodseq;
}

/* Every change bumps the HIGHESTMODSEQ of its mailbox and gives what it
 * touched a modseq above every earlier one (RFC 7162 3.1.1); a change
 * that changes nothing bumps nothing. */
static void test_modseq(void **state)
{
	(void)state;
	struct store *store = open_store("demo");
	struct store_mailbox *box;
	uint32_t m1 = 1, m2 = 2, uidvalidity, *uids, *failed;
	size_t failed_count;
	uint64_t inbox = modseq_of(store, "INBOX"), archive = modseq_of(store, "Archive");
	uint64_t trash = modseq_of(store, "Trash");

	append(store, "INBOX", msg1, 0, NULL, 0, 0);
	inbox = modseq_grew(store, "INBOX", inbox);
	append(store, "INBOX", msg2, 0, NULL, 0, 0);
	inbox = modseq_grew(store, "INBOX", inbox);
	append(store, "INBOX", msg3, 0, NULL, 0, 0);
	inbox = modseq_grew(store, "INBOX", inbox);
	assert_int_equal(store_mailbox_open(store, "INBOX", false, &box), 0);
	assert_true(store_mailbox_highestmodseq(box) == inbox);
	assert_true(store_mailbox_msg(box, 1)->modseq < store_mailbox_msg(box, 2)->modseq);
	assert_true(store_mailbox_msg(box, 3)->modseq == inbox);

	/* a flag */
	uint64_t m2_before = store_mailbox_msg(box, 2)->modseq;
	assert_int_equal(store_mailbox_update_flags(box, &m1, 1, STORE_FLAGS_ADD,
		STORE_FLAG_SEEN, 0, 0, &failed, &failed_count), 0);
	inbox = modseq_grew(store, "INBOX", inbox);
	assert_true(store_mailbox_msg(box, 1)->modseq == inbox);
	assert_true(store_mailbox_msg(box, 2)->modseq == m2_before);
	/* the same flag again: nothing changes */
	assert_int_equal(store_mailbox_update_flags(box, &m1, 1, STORE_FLAGS_ADD,
		STORE_FLAG_SEEN, 0, 0, &failed, &failed_count), 0);
	assert_true(modseq_of(store, "INBOX") == inbox);
	assert_true(store_mailbox_msg(box, 1)->modseq == inbox);
	/* a keyword, added and removed */
	int kw = kw_index(box, "Later", true);
	assert_true(kw >= 0);
	assert_int_equal(store_mailbox_update_flags(box, &m2, 1, STORE_FLAGS_ADD,
		0, (store_keywords_t)1 << kw, 0, &failed, &failed_count), 0);
	inbox = modseq_grew(store, "INBOX", inbox);
	assert_true(store_mailbox_msg(box, 2)->modseq == inbox);
	assert_int_equal(store_mailbox_update_flags(box, &m2, 1, STORE_FLAGS_REMOVE,
		0, (store_keywords_t)1 << kw, 0, &failed, &failed_count), 0);
	inbox = modseq_grew(store, "INBOX", inbox);

	/* a copy changes the destination only */
	assert_int_equal(store_mailbox_copy(box, &m1, 1, "Archive", false, &uidvalidity,
					    &uids), 0);
	free(uids);
	archive = modseq_grew(store, "Archive", archive);
	assert_true(modseq_of(store, "INBOX") == inbox);
	/* a move both */
	assert_int_equal(store_mailbox_copy(box, &m2, 1, "Trash", true, &uidvalidity, &uids), 0);
	free(uids);
	trash = modseq_grew(store, "Trash", trash);
	inbox = modseq_grew(store, "INBOX", inbox);
	/* an expunge */
	uint32_t m3 = 3;
	assert_int_equal(store_mailbox_expunge(box, &m3, 1), 0);
	inbox = modseq_grew(store, "INBOX", inbox);

	/* the view catches up, and another process's view agrees */
	assert_int_equal(store_mailbox_sync(box, 0, NULL, NULL), 0);
	assert_true(store_mailbox_highestmodseq(box) == inbox);
	assert_int_equal(store_mailbox_count(box), 1);
	store_mailbox_close(&box);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct store *other;
		struct store_status status;
		const char *error;

		if (store_open(&fixture_set, "demo", &other, &error) < 0 ||
		    store_mailbox_status(other, "INBOX", &status) < 0)
			_exit(1);
		_exit(status.highestmodseq == inbox ? 0 : 2);
	}
	wait_child(pid);
	assert_true(modseq_of(store, "Archive") == archive);
	assert_true(modseq_of(store, "Trash") == trash);
	store_close(&store);
}

static void count_expunge(void *ctx, uint32_t msn, uint32_t uid)
{
	(void)msn;
	(void)uid;
	(*(unsigned int *)ctx)++;
}

/* store_mailbox_vanished(): the UIDs expunged above a modseq, ascending
 * and complete (floor 0) while every tombstone is kept; once more than
 * `tombstones` (+10 %) were written the oldest go and the floor says
 * from where the list is complete, and a view older than the floor
 * still learns every expunge at its sync. */
static void test_vanished_and_compaction(void **state)
{
	(void)state;
	fixture_set.tombstones = 100;
	struct store *store = open_store("demo");
	struct store_mailbox *box, *old;
	uint32_t *uids;
	size_t count;
	uint64_t floor;

	for (int i = 0; i < 400; i++)
		append(store, "INBOX", msg1, 0, NULL, 0, 0);
	assert_int_equal(store_mailbox_open(store, "INBOX", false, &box), 0);
	assert_int_equal(store_mailbox_sync(box, 0, NULL, NULL), 0);
	assert_int_equal(store_mailbox_open(store, "INBOX", true, &old), 0);
	assert_int_equal(store_mailbox_sync(old, 0, NULL, NULL), 0);
	uint64_t start = store_mailbox_highestmodseq(box);

	/* 10 expunged, highest msn first so the msns stay valid */
	uint32_t msns[10];
	for (uint32_t i = 0; i < 10; i++)
		msns[i] = 20 - 2 * i;	/* UIDs 20, 18, ..., 2 */
	assert_int_equal(store_mailbox_expunge(box, msns, 10), 0);
	assert_int_equal(store_mailbox_vanished(box, start, &uids, &count, &floor), 0);
	assert_int_equal(count, 10);
	assert_int_equal(floor, 0);
	for (size_t i = 0; i < count; i++)
		assert_int_equal(uids[i], 2 * (i + 1));
	free(uids);
	assert_int_equal(store_mailbox_vanished(box, store_mailbox_highestmodseq(box) + 5,
						&uids, &count, &floor), 0);
	assert_int_equal(count, 0);

	/* 300 more, in one expunge each of 100: the count runs after 256 */
	assert_int_equal(store_mailbox_sync(box, 0, NULL, NULL), 0);
	for (int round = 0; round < 3; round++) {
		uint32_t batch[100];
		for (uint32_t i = 0; i < 100; i++)
			batch[i] = 100 - i;
		assert_int_equal(store_mailbox_expunge(box, batch, 100), 0);
		assert_int_equal(store_mailbox_sync(box, 0, NULL, NULL), 0);
	}
	assert_int_equal(store_mailbox_count(box), 90);
	assert_int_equal(store_mailbox_vanished(box, start, &uids, &count, &floor), 0);
	free(uids);
	assert_true(floor > start);
	assert_true(count <= 110 && count >= 100);
	/* from the floor on the list is complete: exactly what came after */
	assert_int_equal(store_mailbox_vanished(box, floor, &uids, &count, &floor), 0);
	free(uids);
	assert_true(count > 0 && count <= 110);

	/* the view from before every expunge: its sync reports all 310 */
	static const struct store_sync_callbacks count_cb = { .expunge = count_expunge };
	unsigned int expunges = 0;
	assert_int_equal(store_mailbox_sync(old, 0, &count_cb, &expunges), 0);
	assert_int_equal(expunges, 310);
	assert_int_equal(store_mailbox_count(old), 90);
	for (uint32_t msn = 1; msn <= 90; msn++)
		assert_int_equal(store_mailbox_msg(old, msn)->uid, store_mailbox_msg(box, msn)->uid);
	store_mailbox_close(&old);
	store_mailbox_close(&box);
	store_close(&store);
}

/* Whether message msn of box has the keyword called name. */
static bool has_keyword(struct store_mailbox *box, uint32_t msn, const char *name)
{
	int idx = kw_index(box, name, false);

	return idx >= 0 && (store_mailbox_msg(box, msn)->keywords >> idx & 1) != 0;
}

/* store_rebuild() keeps UIDVALIDITY, UIDNEXT, the UIDs, flags, keywords,
 * internal dates and text of the messages, and the mailboxes with their
 * subscriptions; appends continue above. */
static void test_rebuild_keeps_messages(void **state)
{
	(void)state;
	struct store *store = open_store("demo");
	struct store_mailbox *box;
	struct store_status before_inbox, before_sub, after;
	const char *kws[] = { "Alpha", "Beta" };
	const char *error;
	uint32_t m2 = 2, m3 = 3, *failed;
	size_t failed_count;

	assert_int_equal(store_mailbox_create(store, "Sub/Box", 0), 0);
	assert_int_equal(store_mailbox_subscribe(store, "Sub/Box", true), 0);
	append(store, "INBOX", msg1, STORE_FLAG_SEEN, kws, 2, 1600000000);
	append(store, "INBOX", msg2, STORE_FLAG_ANSWERED | STORE_FLAG_DRAFT, kws + 1, 1, 0);
	append(store, "INBOX", msg3, 0, NULL, 0, 0);
	append(store, "Sub/Box", msg3, STORE_FLAG_FLAGGED, kws, 1, 0);
	assert_int_equal(store_mailbox_open(store, "INBOX", false, &box), 0);
	assert_int_equal(store_mailbox_update_flags(box, &m2, 1, STORE_FLAGS_ADD,
		STORE_FLAG_FLAGGED, 0, 0, &failed, &failed_count), 0);
	/* the highest UID expunged: UIDNEXT must not go back */
	assert_int_equal(store_mailbox_expunge(box, &m3, 1), 0);
	store_mailbox_close(&box);
	assert_int_equal(store_mailbox_status(store, "INBOX", &before_inbox), 0);
	assert_int_equal(store_mailbox_status(store, "Sub/Box", &before_sub), 0);
	store_close(&store);

	assert_int_equal(store_rebuild(&fixture_set, "demo", &error), 0);

	store = open_store("demo");
	assert_int_equal(store_mailbox_status(store, "INBOX", &after), 0);
	assert_int_equal(after.uidvalidity, before_inbox.uidvalidity);
	assert_int_equal(after.uidnext, before_inbox.uidnext);
	assert_int_equal(after.messages, 2);
	assert_int_equal(after.unseen, 1);
	assert_int_equal(store_mailbox_status(store, "Sub/Box", &after), 0);
	assert_int_equal(after.uidvalidity, before_sub.uidvalidity);
	assert_int_equal(after.messages, 1);

	assert_int_equal(store_mailbox_open(store, "INBOX", false, &box), 0);
	const struct store_msg *m = store_mailbox_msg(box, 1);
	assert_int_equal(m->uid, 1);
	assert_int_equal(m->flags, STORE_FLAG_SEEN);
	assert_int_equal(m->internaldate, 1600000000);
	assert_int_equal(m->size, strlen(msg1));
	assert_true(has_keyword(box, 1, "Alpha") && has_keyword(box, 1, "Beta"));
	m = store_mailbox_msg(box, 2);
	assert_int_equal(m->uid, 2);
	assert_int_equal(m->flags, STORE_FLAG_ANSWERED | STORE_FLAG_DRAFT | STORE_FLAG_FLAGGED);
	assert_true(!has_keyword(box, 2, "Alpha") && has_keyword(box, 2, "Beta"));
	char *text = read_msg(box, 2);
	assert_string_equal(text, msg2);
	free(text);
	store_mailbox_close(&box);
	assert_int_equal(append(store, "INBOX", msg3, 0, NULL, 0, 0), before_inbox.uidnext);

	struct store_mailbox_info *infos;
	size_t count;
	assert_int_equal(store_mailbox_list(store, &infos, &count), 0);
	assert_true(list_has(infos, count, "Sub/Box", true, false));
	for (size_t i = 0; i < count; i++) {
		if (strcmp(infos[i].name, "Sub/Box") == 0)
			assert_true(infos[i].subscribed);
	}
	free(infos);
	assert_store_consistent(store);
	store_close(&store);
}

/* The body of the n-th message of test_kill_during_append(). */
static char *kill_text(uint32_t n)
{
	return xasprintf("Subject: kill %u\r\nMessage-ID: <%u@kill.test>\r\n\r\nbody %u\r\n",
			 n, n, n);
}

/* What the appending child tells the parent: after each commit the UID
 * of message n; uid 0 when it has written half of message n and waits
 * to be killed. */
struct kill_ack {
	uint32_t uid, n;
};

/* A child appending messages first..first+count-1, with fsync; when
 * stop_at is one of them, it writes half of that one and waits. */
static pid_t kill_child(int fd, uint32_t first, uint32_t count, uint32_t stop_at)
{
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid != 0)
		return pid;
	struct store *store;
	const char *error;

	if (store_open(&fixture_set, "demo", &store, &error) < 0)
		_exit(1);
	for (uint32_t n = first; n < first + count; n++) {
		struct store_append *ctx;
		struct kill_ack ack = { 0, n };
		uint32_t uidvalidity;
		char *text = kill_text(n);
		size_t half = strlen(text) / 2;

		if (store_append_begin(store, "INBOX", &ctx) < 0 ||
		    store_append_write(ctx, text, half) < 0)
			_exit(2);
		if (n == stop_at) {
			if (write(fd, &ack, sizeof(ack)) != sizeof(ack))
				_exit(3);
			for (;;)
				pause();
		}
		if (store_append_write(ctx, text + half, strlen(text) - half) < 0 ||
		    store_append_commit(&ctx, 0, NULL, 0, 0, 0, &uidvalidity, &ack.uid) < 0 ||
		    write(fd, &ack, sizeof(ack)) != sizeof(ack))
			_exit(4);
		free(text);
	}
	_exit(0);
}

/* kill -9 of a process in the middle of its appends loses none that it
 * acknowledged, and leaves the store consistent: once at a chosen
 * point (half a message written) and once wherever the signal lands
 * while it appends as fast as it can. */
static void test_kill_during_append(void **state)
{
	(void)state;
	struct kill_ack acks[64];
	size_t acked = 0;
	struct store *store;
	int wstatus;

	fixture_set.fsync = true;
	store = open_store("demo");
	store_close(&store);
	for (int round = 0; round < 2; round++) {
		int fds[2];
		struct kill_ack ack;
		ssize_t n;

		assert_int_equal(pipe(fds), 0);
		pid_t pid = round == 0 ? kill_child(fds[1], 1, 4, 4) :
			kill_child(fds[1], 100, 1000, 0);
		close(fds[1]);
		/* round 0: until the child waits in the middle of message 4;
		 * round 1: after 3 acknowledged appends */
		size_t round_acks = 0;
		while ((n = read(fds[0], &ack, sizeof(ack))) == sizeof(ack)) {
			if (ack.uid == 0 || (round == 1 && ++round_acks == 3))
				break;
			acks[acked++] = ack;
		}
		assert_int_equal(n, sizeof(ack));
		if (ack.uid != 0)
			acks[acked++] = ack;
		assert_int_equal(kill(pid, SIGKILL), 0);
		/* what it acknowledged before the signal landed */
		while (read(fds[0], &ack, sizeof(ack)) == sizeof(ack) && acked < N_ELEMENTS(acks))
			acks[acked++] = ack;
		close(fds[0]);
		assert_int_equal(waitpid(pid, &wstatus, 0), pid);
		assert_true(WIFSIGNALED(wstatus));
		assert_int_equal(WTERMSIG(wstatus), SIGKILL);
	}
	assert_true(acked >= 6);

	store = open_store("demo");
	struct store_mailbox *box;
	assert_int_equal(store_mailbox_open(store, "INBOX", false, &box), 0);
	for (size_t i = 0; i < acked; i++) {
		uint32_t msn = store_mailbox_msn_of_uid(box, acks[i].uid);

		if (msn == 0)
			fail_msg("acknowledged UID %u (message %u) is lost", acks[i].uid, acks[i].n);
		char *text = read_msg(box, msn), *expected = kill_text(acks[i].n);
		assert_string_equal(text, expected);
		free(text);
		free(expected);
	}
	/* UIDs stay unique and increasing */
	for (uint32_t msn = 2; msn <= store_mailbox_count(box); msn++)
		assert_true(store_mailbox_msg(box, msn - 1)->uid < store_mailbox_msg(box, msn)->uid);
	store_mailbox_close(&box);
	assert_store_consistent(store);
	/* and the next append works */
	append(store, "INBOX", msg1, 0, NULL, 0, 0);
	store_close(&store);
}

/* Expunges msn 3, sets \Seen and keyword "later" on msn 2 of demo's
 * INBOX, and appends one message, from another process. */
static void change_elsewhere(void)
{
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		struct store *child;
		struct store_mailbox *box;
		const char *error;
		uint32_t msn2 = 2, msn3 = 3, *failed;
		size_t failed_count;

		if (store_open(&fixture_set, "demo", &child, &error) < 0 ||
		    store_mailbox_open(child, "INBOX", false, &box) < 0)
			_exit(1);
		int kw = kw_index(box, "later", true);
		if (kw < 0 ||
		    store_mailbox_update_flags(box, &msn2, 1, STORE_FLAGS_ADD, STORE_FLAG_SEEN,
					       (store_keywords_t)1 << kw, 0, &failed,
					       &failed_count) < 0 ||
		    store_mailbox_expunge(box, &msn3, 1) < 0)
			_exit(1);
		store_mailbox_close(&box);
		store_close(&child);
		_exit(0);
	}
	wait_child(pid);
	append_elsewhere("INBOX", msg3);
}

/* Opening a mailbox again starts from what the store kept of its last
 * view and applies what changed since, as the sync of an open view
 * does: the result must be what a fresh load gives, after changes by
 * another process and by other sessions, with \Recent still given to
 * exactly one read-write view. */
static void test_reopen_from_snapshot(void **state)
{
	(void)state;
	struct store *store = open_store("demo");
	struct store_mailbox *a, *b, *c;
	uint32_t msn1 = 1, *failed;
	size_t failed_count;

	for (int i = 0; i < 4; i++)
		append(store, "INBOX", i % 2 == 0 ? msg1 : msg2, STORE_FLAG_SEEN, NULL, 0, 0);
	assert_int_equal(store_mailbox_open(store, "INBOX", false, &a), 0);
	assert_int_equal(store_mailbox_recent_count(a), 4);
	assert_int_equal(store_mailbox_first_unseen(a), 0);
	assert_view_fresh(a);
	store_mailbox_close(&a);

	/* unchanged: the same view, and \Recent was claimed by a */
	assert_int_equal(store_mailbox_open(store, "INBOX", false, &a), 0);
	assert_int_equal(store_mailbox_recent_count(a), 0);
	assert_view_fresh(a);
	store_mailbox_close(&a);

	/* changed by another process since the snapshot */
	change_elsewhere();
	assert_int_equal(store_mailbox_open(store, "INBOX", true, &b), 0);
	assert_int_equal(store_mailbox_count(b), 4);
	assert_int_equal(store_mailbox_first_unseen(b), 4);
	assert_int_equal(store_mailbox_recent_count(b), 1);
	assert_true(store_mailbox_is_recent(b, 4));
	assert_view_fresh(b);
	assert_int_equal(store_mailbox_open(store, "INBOX", false, &a), 0);
	assert_int_equal(store_mailbox_recent_count(a), 1);
	assert_view_fresh(a);

	/* a shares its snapshot with b; a's own change must not show in b
	 * until b syncs, and a later open sees it */
	assert_int_equal(store_mailbox_update_flags(a, &msn1, 1, STORE_FLAGS_ADD,
						    STORE_FLAG_FLAGGED, 0, 0, &failed,
						    &failed_count), 0);
	assert_int_equal(store_mailbox_msg(b, 1)->flags, STORE_FLAG_SEEN);
	assert_int_equal(store_mailbox_update_flags(a, &msn1, 1, STORE_FLAGS_REMOVE,
						    STORE_FLAG_SEEN, 0, 0, &failed,
						    &failed_count), 0);
	assert_int_equal(store_mailbox_first_unseen(a), 1);
	assert_int_equal(store_mailbox_first_unseen(b), 4);
	assert_int_equal(store_mailbox_update_flags(a, &msn1, 1, STORE_FLAGS_ADD,
						    STORE_FLAG_SEEN, 0, 0, &failed,
						    &failed_count), 0);
	assert_int_equal(store_mailbox_open(store, "INBOX", false, &c), 0);
	assert_int_equal(store_mailbox_msg(c, 1)->flags, STORE_FLAG_SEEN | STORE_FLAG_FLAGGED);
	assert_int_equal(store_mailbox_recent_count(c), 0);
	assert_view_fresh(c);
	store_mailbox_close(&c);
	assert_int_equal(store_mailbox_sync(b, 0, NULL, NULL), 0);
	assert_view_fresh(b);

	/* an expunge that b holds back: b's view is not kept, and the next
	 * open does not show the message */
	assert_int_equal(store_mailbox_expunge(a, &msn1, 1), 0);
	assert_int_equal(store_mailbox_sync(b, STORE_SYNC_NO_EXPUNGES, NULL, NULL), 0);
	assert_int_equal(store_mailbox_count(b), 4);
	store_mailbox_close(&b);
	assert_int_equal(store_mailbox_open(store, "INBOX", true, &b), 0);
	assert_int_equal(store_mailbox_count(b), 3);
	assert_view_fresh(b);
	store_mailbox_close(&b);
	store_mailbox_close(&a);

	/* deleted and created again: the old snapshot is not used */
	assert_int_equal(store_mailbox_create(store, "Other", 0), 0);
	append(store, "Other", msg1, 0, NULL, 0, 0);
	assert_int_equal(store_mailbox_open(store, "Other", false, &a), 0);
	store_mailbox_close(&a);
	assert_int_equal(store_mailbox_delete(store, "Other"), 0);
	assert_int_equal(store_mailbox_create(store, "Other", 0), 0);
	assert_int_equal(store_mailbox_open(store, "Other", false, &a), 0);
	assert_int_equal(store_mailbox_count(a), 0);
	assert_view_fresh(a);
	store_mailbox_close(&a);

	/* after the idle release, a full load gives the same */
	store_release_memory(store);
	assert_int_equal(store_mailbox_open(store, "INBOX", false, &a), 0);
	assert_int_equal(store_mailbox_count(a), 3);
	assert_view_fresh(a);
	store_mailbox_close(&a);
	assert_store_consistent(store);
	store_close(&store);
}

/* What one store_mailbox_msg_ids_many() call gave, per msn. */
struct ids_seen {
	char emailid[STORE_OBJECTID_SIZE], threadid[STORE_OBJECTID_SIZE];
	char preview[256 * 4 + 1];
	bool gone, has_thread, has_preview;
	time_t savedate;
};

static void ids_seen_cb(void *ctx, size_t i, const struct store_msg_ids *ids)
{
	struct ids_seen *seen = (struct ids_seen *)ctx + i;

	memset(seen, 0, sizeof(*seen));
	seen->gone = ids == NULL;
	if (ids == NULL)
		return;
	assert_true(strlen(ids->emailid) > 0 && strlen(ids->emailid) < STORE_OBJECTID_SIZE);
	snprintf(seen->emailid, sizeof(seen->emailid), "%s", ids->emailid);
	seen->has_thread = ids->threadid != NULL;
	if (ids->threadid != NULL)
		snprintf(seen->threadid, sizeof(seen->threadid), "%s", ids->threadid);
	seen->has_preview = ids->preview != NULL;
	if (ids->preview != NULL)
		snprintf(seen->preview, sizeof(seen->preview), "%s", ids->preview);
	seen->savedate = ids->savedate;
}

/* The ids of msns 1..count of box (count <= 4). */
static void ids_of(struct store_mailbox *box, size_t count, unsigned int want,
		   struct ids_seen *seen)
{
	uint32_t msns[4] = { 1, 2, 3, 4 };

	assert_true(count <= N_ELEMENTS(msns));
	assert_int_equal(store_mailbox_msg_ids_many(box, msns, count, want, ids_seen_cb, seen), 0);
}

/* store.h's object data: MAILBOXID kept by a rename, new for INBOX's
 * rename target; EMAILID and THREADID kept by COPY and MOVE, a reply in
 * its parent's thread in another mailbox; save dates of the save; the
 * preview stored at delivery; SEARCH by id and save date. */
static void test_object_ids(void **state)
{
	(void)state;
	struct store *store = open_store("demo");
	struct store_mailbox *box;
	struct store_status st;
	struct ids_seen a[4], b[4];
	uint32_t msns[] = { 1 }, uidvalidity, *uids, *found;
	size_t found_count;
	char inbox_id[STORE_OBJECTID_SIZE], sent_id[STORE_OBJECTID_SIZE];
	time_t before = time(NULL);
	const unsigned int all = STORE_IDS_THREADID | STORE_IDS_PREVIEW;

	append(store, "INBOX", "Message-ID: <p@x>\r\n\r\nthe  parent\r\n", 0, NULL, 0,
	       1000000000);
	append(store, "Sent", "In-Reply-To: <p@x>\r\n\r\nthe reply\r\n", 0, NULL, 0, 0);
	append(store, "INBOX", "Subject: other\r\n\r\n", 0, NULL, 0, 0);

	assert_int_equal(store_mailbox_open(store, "INBOX", false, &box), 0);
	snprintf(inbox_id, sizeof(inbox_id), "%s", store_mailbox_id(box));
	ids_of(box, 2, all, a);
	assert_string_equal(a[0].preview, "the parent");
	assert_string_equal(a[1].preview, "");
	assert_true(a[0].has_thread && a[1].has_thread);
	assert_string_not_equal(a[0].emailid, a[1].emailid);
	assert_string_not_equal(a[0].threadid, a[1].threadid);
	assert_string_not_equal(a[0].emailid, a[0].threadid);
	assert_true(a[0].savedate >= before && a[0].savedate <= time(NULL) + 1);
	/* not asked for: NULL */
	ids_of(box, 1, 0, b);
	assert_false(b[0].has_thread || b[0].has_preview);
	assert_string_equal(b[0].emailid, a[0].emailid);

	assert_int_equal(store_mailbox_search_objectid(box, false, a[0].emailid, &found,
						       &found_count), 0);
	assert_int_equal(found_count, 1);
	assert_int_equal(found[0], 1);
	free(found);
	assert_int_equal(store_mailbox_search_objectid(box, true, "Tnone", &found,
						       &found_count), 0);
	assert_int_equal(found_count, 0);
	assert_int_equal(store_mailbox_search_savedate(box, before, INT64_MAX, &found,
						       &found_count), 0);
	assert_int_equal(found_count, 2);
	free(found);
	assert_int_equal(store_mailbox_search_savedate(box, 0, before, &found, &found_count), 0);
	assert_int_equal(found_count, 0);

	/* COPY keeps the ids, the copy is saved now */
	assert_int_equal(store_mailbox_copy(box, msns, 1, "Archive", false, &uidvalidity,
					    &uids), 0);
	free(uids);
	store_mailbox_close(&box);
	assert_int_equal(store_mailbox_open(store, "Archive", false, &box), 0);
	ids_of(box, 1, all, b);
	assert_string_equal(b[0].emailid, a[0].emailid);
	assert_string_equal(b[0].threadid, a[0].threadid);
	assert_string_equal(b[0].preview, "the parent");
	store_mailbox_close(&box);

	/* the reply, in another mailbox, is in its parent's thread */
	assert_int_equal(store_mailbox_open(store, "Sent", false, &box), 0);
	snprintf(sent_id, sizeof(sent_id), "%s", store_mailbox_id(box));
	ids_of(box, 1, all, b);
	assert_string_equal(b[0].threadid, a[0].threadid);
	store_mailbox_close(&box);
	assert_string_not_equal(inbox_id, sent_id);

	/* rename: the same MAILBOXID; INBOX's: a new mailbox, INBOX keeps
	 * its own, the messages their ids */
	assert_int_equal(store_mailbox_rename(store, "Sent", "Sent2"), 0);
	assert_int_equal(store_mailbox_status(store, "Sent2", &st), 0);
	assert_string_equal(st.mailboxid, sent_id);
	assert_int_equal(store_mailbox_rename(store, "INBOX", "Old"), 0);
	assert_int_equal(store_mailbox_status(store, "INBOX", &st), 0);
	assert_string_equal(st.mailboxid, inbox_id);
	assert_int_equal(store_mailbox_status(store, "Old", &st), 0);
	assert_string_not_equal(st.mailboxid, inbox_id);
	assert_string_not_equal(st.mailboxid, sent_id);
	assert_int_equal(store_mailbox_open(store, "Old", false, &box), 0);
	ids_of(box, 2, all, b);
	assert_string_equal(b[0].emailid, a[0].emailid);
	assert_string_equal(b[1].threadid, a[1].threadid);
	assert_string_equal(b[0].preview, "the parent");

	/* MOVE keeps them too */
	assert_int_equal(store_mailbox_copy(box, msns, 1, "Sent2", true, &uidvalidity, &uids), 0);
	free(uids);
	store_mailbox_close(&box);
	assert_int_equal(store_mailbox_open(store, "Sent2", false, &box), 0);
	ids_of(box, 2, all, b);
	assert_string_equal(b[1].emailid, a[0].emailid);
	assert_string_equal(b[1].threadid, a[0].threadid);
	store_mailbox_close(&box);
	assert_store_consistent(store);
	store_close(&store);
}

#define CONFORMANCE_TEST(fn) cmocka_unit_test_setup_teardown(fn, fixture_setup, fixture_teardown)

static const struct CMUnitTest suite[] = {
	CONFORMANCE_TEST(test_backends),
	CONFORMANCE_TEST(test_notify_watches),
	CONFORMANCE_TEST(test_notify_user_watch),
	CONFORMANCE_TEST(test_mailbox_states),
	CONFORMANCE_TEST(test_user_names),
	CONFORMANCE_TEST(test_defaults_and_list),
	CONFORMANCE_TEST(test_append_read),
	CONFORMANCE_TEST(test_flags),
	CONFORMANCE_TEST(test_expunge_and_sync_order),
	CONFORMANCE_TEST(test_no_expunges),
	CONFORMANCE_TEST(test_concurrent_flags),
	CONFORMANCE_TEST(test_recent),
	CONFORMANCE_TEST(test_copy_move),
	CONFORMANCE_TEST(test_copy_in_steps),
	CONFORMANCE_TEST(test_move_in_parts),
	CONFORMANCE_TEST(test_copy_dest_renamed_or_deleted),
	CONFORMANCE_TEST(test_mailbox_ops),
	CONFORMANCE_TEST(test_crash_append),
	CONFORMANCE_TEST(test_keyword_limit),
	CONFORMANCE_TEST(test_keywords_all_or_none),
	CONFORMANCE_TEST(test_delete_recreate),
	CONFORMANCE_TEST(test_multiprocess),
	CONFORMANCE_TEST(test_shared_message),
	CONFORMANCE_TEST(test_msg_cache_many),
	CONFORMANCE_TEST(test_rebuild_refused_while_open),
	CONFORMANCE_TEST(test_read_after_rename_expunges_nothing),
	CONFORMANCE_TEST(test_modseq),
	CONFORMANCE_TEST(test_vanished_and_compaction),
	CONFORMANCE_TEST(test_rebuild_keeps_messages),
	CONFORMANCE_TEST(test_kill_during_append),
	CONFORMANCE_TEST(test_reopen_from_snapshot),
	CONFORMANCE_TEST(test_object_ids),
};

int main(void)
{
	/* every backend, one line each */
	static const struct store_fixture_backend *const backends[] = {
		&store_fixture_maildir,
	};
	struct CMUnitTest tests[N_ELEMENTS(suite)];
	int failed = 0;

	for (size_t b = 0; b < N_ELEMENTS(backends); b++) {
		memcpy(tests, suite, sizeof(suite));
		for (size_t i = 0; i < N_ELEMENTS(tests); i++)
			tests[i].initial_state = (void *)backends[b];
		failed += _cmocka_run_group_tests(backends[b]->name, tests, N_ELEMENTS(tests),
						  NULL, NULL);
	}
	return failed;
}
