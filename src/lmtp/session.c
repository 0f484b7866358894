/* session.c: an LMTP connection (RFC 2033, with RFC 3030 CHUNKING,
 * RFC 2920 PIPELINING, RFC 2034 ENHANCEDSTATUSCODES, RFC 1870 SIZE,
 * RFC 6152 8BITMIME, RFC 6531 SMTPUTF8).
 *
 * States of one connection:
 *
 *   greeting -> [LHLO] -> ready <-----------------------------+
 *                           | MAIL FROM                       |
 *                           v                                 |
 *                        mail --RCPT TO (1..max)--> rcpt      | RSET, LHLO,
 *                                                    |        | or the replies
 *                               DATA (354) / BDAT n  v        | after the data
 *                                           receiving data ---+
 *
 * Input is read as command lines (PIPELINING: each line is answered in
 * order, the replies queue in the output buffer), or as message data
 * (after DATA: dot-unstuffed until CRLF.CRLF; after BDAT n: exactly n
 * octets).  Data goes to one spool file per transaction, never to memory;
 * after the end of data each accepted recipient gets its own reply, sent
 * only when the message is on disk for that recipient.  A connection lost
 * before the end of data stores nothing.  This file never touches mail
 * files itself: lmtp/deliver.c does, through store/store.h. */
#include "session.h"
#include "deliver.h"
#include "parser.h"
#include "auth/auth.h"
#include "base/log.h"
#include "base/str.h"
#include "conf/conf.h"
#include "sieve/run.h"
#include "store/request.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* RFC 5321 4.5.3.1.4 allows 512 octets; MTAs send longer MAIL lines with
 * parameters, so we take up to this many. */
#define LMTP_MAX_LINE 4096
#define LMTP_DATA_CHUNK (64 * 1024)
#define LMTP_OUTPUT_HIGH_WATER (256 * 1024)
#define LMTP_OUTPUT_LOW_WATER (64 * 1024)

enum lmtp_input {
	LMTP_INPUT_COMMAND,
	LMTP_INPUT_SKIP_LINE,	/* the rest of an over-long line */
	LMTP_INPUT_DATA,	/* after DATA's 354 */
	LMTP_INPUT_BDAT,	/* inside a BDAT chunk */
};

struct lmtp_rcpt {
	char *address;		/* as given in RCPT TO */
	struct lmtp_recipient r;
};

/* One recipient's delivery as the helper thread sees it: filled on the
 * loop, read by lmtp_deliver_work() (which touches nothing else of the
 * session but what stays unchanged while input is paused: the spool, the
 * shared copy, the log prefix), and its result read back in
 * lmtp_deliver_done(). */
struct lmtp_delivery {
	struct store *store;
	const char *user;
	const char *address;	/* as given in RCPT TO */
	const char *mailbox;	/* NULL: INBOX */
	/* the client's address, copied on the loop: the connection may
	 * be destroyed while the work runs */
	char remote_ip[INET6_ADDRSTRLEN + 3];
	struct str prefix;	/* the trace headers (no shared copy) */
	struct sieve_delivery_result res;
	int ret;
};

struct lmtp_session {
	struct net_conn *conn;
	const struct roost_config *config;
	char *log_prefix;
	char *helo;		/* NULL until LHLO */

	/* the transaction */
	bool have_mail;
	bool smtputf8;
	char *sender;
	struct lmtp_rcpt *rcpts;
	size_t rcpt_count, rcpt_cap;
	bool bdat_used;		/* BDAT started: DATA is not allowed */
	int spool_fd;
	uint64_t spool_size;
	bool too_big;		/* over lmtp_max_message_size: data is dropped */
	bool spool_failed;	/* a write to the spool failed */
	bool spool_prev_cr;	/* the last byte spooled was CR */
	unsigned char *crlf_buf;	/* lmtp_spool_write()'s CRLF form */

	enum lmtp_input input;
	enum lmtp_data_state data_state;
	uint64_t bdat_left;
	bool bdat_last;
	const char *bdat_error;	/* reply for the chunk being skipped, or NULL */
	unsigned char *data_buf;

	/* delivering (lmtp_transaction_deliver_next): the next recipient,
	 * the shared copy, the queue id and the time of the trace headers */
	size_t deliver_next;
	struct store_message *deliver_msg;
	struct str deliver_msg_prefix;	/* deliver_msg's trace headers */
	char deliver_id[64];
	time_t deliver_now;
	/* the delivery to one recipient, a store request whose work runs
	 * on a helper thread (lmtp_deliver_work): waiting for it, and
	 * store_request_run_offload() has not returned yet */
	bool deliver_waiting;
	bool deliver_submitting;
	bool destroy_pending;	/* closed while waiting: freed after it */
	/* the recipient's delivery failed on a defunct store and runs
	 * again on a new one (once) */
	bool deliver_retried;
	struct lmtp_delivery job;

	/* a RCPT waiting for the user database (lmtp_deliver_resolve):
	 * input waits meanwhile, so pipelined replies keep their order */
	struct lmtp_resolve *rcpt_resolve;
	char *rcpt_address;

	unsigned int bad_count;
	uint64_t msg_count;
	bool input_busy, closing, shutting_down;
};

static struct auth *lmtp_auth;
static struct lmtp_session **all_sessions;
static size_t all_session_count, all_session_cap;
static char lmtp_hostname[256];

static void lmtp_session_input_process(struct lmtp_session *s);

/* ---- output ---- */

static void lmtp_reply(struct lmtp_session *s, const char *fmt, ...) ATTR_PRINTF(2, 3);
static void lmtp_reply(struct lmtp_session *s, const char *fmt, ...)
{
	if (s->closing)
		return;
	struct str line = STR_INIT;
	va_list args;
	va_start(args, fmt);
	str_vprintfa(&line, fmt, args);
	va_end(args);
	str_append(&line, "\r\n");
	net_conn_write(s->conn, line.data, line.len);
	str_free(&line);
}

static void lmtp_session_close(struct lmtp_session *s, const char *reply)
{
	if (s->closing)
		return;
	if (reply != NULL)
		lmtp_reply(s, "%s", reply);
	s->closing = true;
	net_conn_close(s->conn);
}

/* A 500/501 reply: counts against max_bad_commands. */
static void lmtp_reply_bad(struct lmtp_session *s, const char *reply)
{
	lmtp_reply(s, "%s", reply);
	if (++s->bad_count >= s->config->max_bad_commands)
		lmtp_session_close(s, "421 4.7.0 Too many errors, closing connection");
}

/* ---- the transaction ---- */

static void lmtp_transaction_reset(struct lmtp_session *s)
{
	s->have_mail = false;
	s->smtputf8 = false;
	free(s->sender);
	s->sender = NULL;
	for (size_t i = 0; i < s->rcpt_count; i++)
		free(s->rcpts[i].address);
	s->rcpt_count = 0;
	s->bdat_used = false;
	/* the spool file is kept for the next transaction */
	if (s->spool_fd >= 0 &&
	    (ftruncate(s->spool_fd, 0) < 0 || lseek(s->spool_fd, 0, SEEK_SET) < 0)) {
		close(s->spool_fd);
		s->spool_fd = -1;
	}
	s->spool_size = 0;
	s->spool_prev_cr = false;
	s->too_big = false;
	s->spool_failed = false;
	if (s->shutting_down)
		lmtp_session_close(s, "421 4.3.2 Server shutting down");
}

/* ---- open stores ---- */

/* Stores opened for deliveries stay open while this worker has LMTP
 * sessions, so that a burst of mail to the same users does not reopen
 * each user's index for every message (opening SQLite and mapping its
 * files costs more than the append itself).  At most
 * LMTP_STORE_CACHE_MAX, the least recently used closed first; all closed
 * when the worker's last LMTP session ends. */
#define LMTP_STORE_CACHE_MAX 16

struct lmtp_cached_store {
	char *user;
	struct store *store;
	uint64_t last_used;
};

static struct lmtp_cached_store store_cache[LMTP_STORE_CACHE_MAX];
static unsigned int store_cache_count;
static uint64_t store_cache_clock;

static struct store *lmtp_store_get(struct lmtp_session *s, const char *user)
{
	for (unsigned int i = 0; i < store_cache_count; i++) {
		if (strcmp(store_cache[i].user, user) == 0) {
			store_cache[i].last_used = ++store_cache_clock;
			return store_cache[i].store;
		}
	}
	struct store_settings set;
	struct store *store;
	const char *error;
	store_settings_init(&set, s->config);
	if (store_open(&set, user, &store, &error) < 0) {
		log_error("%s: cannot open the store of %s: %s", s->log_prefix, user, error);
		return NULL;
	}
	unsigned int slot = store_cache_count;
	if (store_cache_count == LMTP_STORE_CACHE_MAX) {
		slot = 0;
		for (unsigned int i = 1; i < store_cache_count; i++) {
			if (store_cache[i].last_used < store_cache[slot].last_used)
				slot = i;
		}
		store_close(&store_cache[slot].store);
		free(store_cache[slot].user);
	} else {
		store_cache_count++;
	}
	store_cache[slot].user = xstrdup(user);
	store_cache[slot].store = store;
	store_cache[slot].last_used = ++store_cache_clock;
	return store;
}

/* Closes the cache's reference to store (found defunct: a rebuild
 * replaced its index), so that the user's next delivery opens a new
 * one.  Requests queued on it keep their own references. */
static void lmtp_store_forget(struct store *store)
{
	for (unsigned int i = 0; i < store_cache_count; i++) {
		if (store_cache[i].store == store) {
			store_close(&store_cache[i].store);
			free(store_cache[i].user);
			store_cache[i] = store_cache[--store_cache_count];
			return;
		}
	}
}

static void lmtp_store_cache_clear(void)
{
	for (unsigned int i = 0; i < store_cache_count; i++) {
		store_close(&store_cache[i].store);
		free(store_cache[i].user);
	}
	store_cache_count = 0;
}

/* An unnamed file for the message: in data_dir, else in $TMPDIR.  It is
 * only read: the single copy (store_message_begin()) and each
 * recipient's copy are files the store makes in its own place. */
static int lmtp_spool_open(struct lmtp_session *s)
{
	int fd = spool_file_open(s->config->data_dir);

	if (fd < 0)
		log_error("%s: cannot create a spool file: %s", s->log_prefix, strerror(errno));
	return fd;
}

/* Spools message bytes (at most LMTP_DATA_CHUNK + 1) with bare LF line
 * ends made CRLF.  SMTP data is text whose lines end in CRLF (RFC 5321
 * 2.3.8; no BINARYMIME is offered), yet MTAs pass on mail with bare LF;
 * the store keeps what IMAP serves, the RFC 5322 form, so RFC822.SIZE,
 * BODY[] and BODYSTRUCTURE describe the same bytes (see cmd-append.c).
 * The size limit counts the stored (CRLF) bytes.  Dot-unstuffing and the
 * end of DATA still see only CRLF line ends (a bare LF "." LF is text,
 * never the end: SMTP smuggling). */
static void lmtp_spool_write(struct lmtp_session *s, const void *input, size_t input_size)
{
	if (input_size == 0 || s->too_big || s->spool_failed)
		return;
	size_t size = lf_to_crlf(input, input_size, s->crlf_buf, &s->spool_prev_cr);
	const unsigned char *data = s->crlf_buf;
	if (s->spool_size + size > s->config->lmtp_max_message_size) {
		s->too_big = true;
		return;
	}
	if (write_full(s->spool_fd, data, size) < 0) {
		log_error("%s: writing the spool file: %s", s->log_prefix, strerror(errno));
		s->spool_failed = true;
		return;
	}
	s->spool_size += size;
}

static const char *lmtp_store_error_reply(enum store_error err)
{
	switch (err) {
	case STORE_ERR_NOSPACE:
		return "452 4.2.2";
	case STORE_ERR_LIMIT:
		return "452 4.2.2";
	default:
		return "451 4.3.0";
	}
}

/* The message of a transaction with several recipients, written and
 * parsed once, for every recipient to share (lmtp_single_copy): the
 * spool with the trace headers that are the same for all of them.  NULL
 * on failure (logged). */
static struct store_message *lmtp_shared_message(struct lmtp_session *s, struct istream *spool,
						 const char *id, time_t now)
{
	static unsigned char buf[64 * 1024];
	struct store_settings set;
	struct store_message *msg;
	struct str *prefix = &s->deliver_msg_prefix;
	const char *error;
	uint64_t off = 0;
	int ret;

	store_settings_init(&set, s->config);
	if (store_message_begin(&set, &msg, &error) < 0) {
		log_error("%s: %s", s->log_prefix, error);
		return NULL;
	}
	str_truncate(prefix, 0);
	lmtp_deliver_trace_headers(prefix, s->sender, NULL, s->helo,
				   net_conn_remote_ip(s->conn),
				   s->smtputf8 ? "UTF8LMTP" : "LMTP", id, now);
	ret = store_message_write(msg, prefix->data, prefix->len, &error);
	while (ret == 0 && off < s->spool_size) {
		size_t want = (size_t)ROOST_MIN((uint64_t)sizeof(buf), s->spool_size - off);
		ssize_t n = istream_pread(spool, buf, want, off);
		if (n < (ssize_t)want) {
			error = n < 0 ? strerror(errno) : "unexpected end of the spool file";
			ret = -1;
			break;
		}
		ret = store_message_write(msg, buf, want, &error);
		off += want;
	}
	if (ret == 0)
		ret = store_message_finish(msg, 0, &error);
	if (ret < 0) {
		log_error("%s: cannot store the message once for %zu recipients: %s",
			  s->log_prefix, s->rcpt_count, error);
		store_message_free(&msg);
	}
	return msg;
}

static void lmtp_session_free(struct lmtp_session *s);
static void lmtp_transaction_deliver_next(struct lmtp_session *s);

/* On a helper thread (store/request.h): the recipient's Sieve scripts
 * and the durable appends they ask for, fsyncs included, then their
 * outgoing mail. */
static void lmtp_deliver_work(void *ctx)
{
	struct lmtp_session *s = ctx;
	struct lmtp_delivery *job = &s->job;
	struct istream *spool = istream_from_fd_borrowed(s->spool_fd);
	struct sieve_delivery d = {
		.config = s->config,
		.store = job->store,
		.user = job->user,
		.mailbox = job->mailbox,
		.prefix = s->deliver_msg != NULL ? &s->deliver_msg_prefix : &job->prefix,
		.spool = spool,
		.size = s->spool_size,
		.shared = s->deliver_msg,
		.envelope_from = s->sender,
		.envelope_to = job->address,
		.remote_ip = job->remote_ip,
		.log_prefix = s->log_prefix,
		.now = s->deliver_now,
	};

	job->ret = sieve_run_deliver(&d, &job->res);
	istream_destroy(&spool);
}

/* The recipient's reply: 250 only now that the appends returned (every
 * copy is on disk), 550 for a Sieve ereject (RFC 5429 2.1.1: LMTP
 * refuses per recipient), else its store error's code. */
static void lmtp_deliver_reply(struct lmtp_session *s, const struct lmtp_rcpt *r,
			       int ret, const struct sieve_delivery_result *res)
{
	if (ret == 0 && res->status == SIEVE_DELIVERY_REJECTED) {
		log_info("%s: rejected <%s> from <%s> for %s by Sieve: %s", s->log_prefix,
			 r->address, s->sender, r->r.user, res->reason);
		lmtp_reply(s, "550 5.7.1 <%s> %s", r->address, res->reason);
	} else if (ret == 0 && res->status == SIEVE_DELIVERY_DISCARDED) {
		log_info("%s: delivered <%s> from <%s> to %s: nothing stored (Sieve), "
			 "%llu bytes", s->log_prefix, r->address, s->sender, r->r.user,
			 (unsigned long long)s->spool_size);
		lmtp_reply(s, "250 2.0.0 <%s> %s Saved", r->address, s->deliver_id);
	} else if (ret == 0) {
		log_info("%s: delivered <%s> from <%s> to %s/%s uid %u, %llu bytes",
			 s->log_prefix, r->address, s->sender, r->r.user, res->mailbox,
			 res->uid, (unsigned long long)s->spool_size);
		lmtp_reply(s, "250 2.0.0 <%s> %s Saved", r->address, s->deliver_id);
	} else {
		lmtp_reply(s, "%s <%s> %s", lmtp_store_error_reply(res->error), r->address,
			   res->error == STORE_ERR_NOSPACE ? "Mailbox full" :
			   "Temporary failure, try again later");
	}
}

/* On the loop, after lmtp_deliver_work(): replies and goes on with the
 * next recipient, then with the input. */
static void lmtp_deliver_done(void *ctx)
{
	struct lmtp_session *s = ctx;

	s->deliver_waiting = false;
	str_free(&s->job.prefix);
	if (s->destroy_pending) {
		lmtp_session_free(s);
		return;
	}
	if (s->job.ret < 0 && store_is_defunct(s->job.store)) {
		/* the user's index was rebuilt while the store was idle:
		 * nothing was written; the recipient again, on a new store */
		lmtp_store_forget(s->job.store);
		s->deliver_retried = !s->deliver_retried;
	} else {
		s->deliver_retried = false;
	}
	if (!s->deliver_retried) {
		lmtp_deliver_reply(s, &s->rcpts[s->deliver_next], s->job.ret, &s->job.res);
		s->deliver_next++;
	}
	if (s->deliver_submitting)
		return;	/* ran inline: the caller's loop goes on */
	lmtp_transaction_deliver_next(s);
	if (s->deliver_waiting || s->closing)
		return;
	net_conn_input_pause(s->conn, false);
	lmtp_session_input_process(s);
}

/* Delivers to the recipients from s->deliver_next on, one after the
 * other.  Each append is a store request whose work runs on the worker's
 * helper threads (store_request_run_offload()): the loop serves other
 * connections while this one waits for the disk, and appends to
 * different users' stores wait on the disk at the same time.  Requests
 * of one store run in order, so an IMAP session's request (or another
 * delivery) to the same user waits its turn.  Input waits meanwhile. */
static void lmtp_transaction_deliver_next(struct lmtp_session *s)
{
	while (s->deliver_next < s->rcpt_count) {
		const struct lmtp_rcpt *r = &s->rcpts[s->deliver_next];
		struct store *store = lmtp_store_get(s, r->r.user);
		struct lmtp_delivery *job = &s->job;

		if (store == NULL) {
			struct sieve_delivery_result res = {
				.status = SIEVE_DELIVERY_FAILED,
				.error = STORE_ERR_TEMP,
			};

			lmtp_deliver_reply(s, r, -1, &res);
			s->deliver_next++;
			continue;
		}
		memset(job, 0, sizeof(*job));
		job->store = store;
		job->user = r->r.user;
		job->address = r->address;
		snprintf(job->remote_ip, sizeof(job->remote_ip), "%s",
			 net_conn_remote_ip(s->conn));
		job->mailbox = lmtp_deliver_detail_mailbox(s->config, &r->r);
		job->res.status = SIEVE_DELIVERY_FAILED;
		job->res.error = STORE_ERR_TEMP;
		job->ret = -1;
		if (s->deliver_msg == NULL) {
			lmtp_deliver_trace_headers(&job->prefix, s->sender, r->address, s->helo,
						   net_conn_remote_ip(s->conn),
						   s->smtputf8 ? "UTF8LMTP" : "LMTP",
						   s->deliver_id, s->deliver_now);
		}
		s->deliver_waiting = true;
		s->deliver_submitting = true;
		store_request_run_offload(store, lmtp_deliver_work, lmtp_deliver_done, s);
		s->deliver_submitting = false;
		if (s->deliver_waiting) {
			net_conn_input_pause(s->conn, true);
			return;
		}
	}
	store_message_free(&s->deliver_msg);
	str_truncate(&s->deliver_msg_prefix, 0);
	lmtp_transaction_reset(s);
}

/* The end of the data: one reply per accepted recipient (RFC 2033 4.2). */
static void lmtp_transaction_deliver(struct lmtp_session *s)
{
	if (s->too_big || s->spool_failed) {
		for (size_t i = 0; i < s->rcpt_count; i++) {
			if (s->too_big)
				lmtp_reply(s, "552 5.3.4 <%s> Message too big for system",
					   s->rcpts[i].address);
			else
				lmtp_reply(s, "451 4.3.0 <%s> Temporary failure, try again later",
					   s->rcpts[i].address);
		}
		lmtp_transaction_reset(s);
		return;
	}
	snprintf(s->deliver_id, sizeof(s->deliver_id), "%s-%llu", net_conn_id(s->conn),
		 (unsigned long long)++s->msg_count);
	s->deliver_now = time(NULL);
	/* one copy for all; when it cannot be made (logged), a copy per
	 * recipient, so that each still gets its own result */
	s->deliver_msg = NULL;
	if (s->rcpt_count > 1 && s->config->lmtp_single_copy) {
		struct istream *spool = istream_from_fd_borrowed(s->spool_fd);
		s->deliver_msg = lmtp_shared_message(s, spool, s->deliver_id, s->deliver_now);
		istream_destroy(&spool);
	}
	s->deliver_next = 0;
	s->deliver_retried = false;
	lmtp_transaction_deliver_next(s);
}

/* ---- commands ---- */

static void lmtp_cmd_lhlo(struct lmtp_session *s, const struct lmtp_command *cmd)
{
	lmtp_transaction_reset(s);
	free(s->helo);
	s->helo = xstrdup(cmd->arg);
	lmtp_reply(s, "250-%s", lmtp_hostname);
	lmtp_reply(s, "250-PIPELINING");
	lmtp_reply(s, "250-ENHANCEDSTATUSCODES");
	lmtp_reply(s, "250-8BITMIME");
	lmtp_reply(s, "250-SMTPUTF8");
	lmtp_reply(s, "250-CHUNKING");
	lmtp_reply(s, "250 SIZE %llu", (unsigned long long)s->config->lmtp_max_message_size);
}

static void lmtp_cmd_mail(struct lmtp_session *s, const struct lmtp_command *cmd)
{
	if (s->helo == NULL) {
		lmtp_reply(s, "503 5.5.1 Send LHLO first");
		return;
	}
	if (s->have_mail) {
		lmtp_reply(s, "503 5.5.1 Nested MAIL command");
		return;
	}
	if (cmd->has_size && cmd->size > s->config->lmtp_max_message_size) {
		lmtp_reply(s, "552 5.3.4 Message too big for system");
		return;
	}
	s->have_mail = true;
	s->smtputf8 = cmd->smtputf8;
	s->sender = xstrdup(cmd->address);
	lmtp_reply(s, "250 2.1.0 OK");
}

static bool has_8bit(const char *s)
{
	for (; *s != '\0'; s++) {
		if ((unsigned char)*s >= 0x80)
			return true;
	}
	return false;
}

/* The user database answered a RCPT (inline, or later from the loop:
 * then the input goes on). */
static void lmtp_rcpt_resolved(int ret, const struct lmtp_recipient *r, void *ctx)
{
	struct lmtp_session *s = ctx;
	bool resumed = s->rcpt_resolve != NULL;
	char *address = s->rcpt_address;

	s->rcpt_resolve = NULL;
	s->rcpt_address = NULL;
	switch (ret) {
	case 1:
		ARRAY_RESERVE(s->rcpts, s->rcpt_cap, s->rcpt_count + 1);
		s->rcpts[s->rcpt_count].address = address;
		s->rcpts[s->rcpt_count].r = *r;
		s->rcpt_count++;
		address = NULL;
		lmtp_reply(s, "250 2.1.5 <%s> OK", s->rcpts[s->rcpt_count - 1].address);
		break;
	case 0:
		lmtp_reply(s, "550 5.1.1 <%s> User doesn't exist", address);
		break;
	case -2:
		lmtp_reply(s, "550 5.1.2 <%s> Domain not handled here", address);
		break;
	default:
		lmtp_reply(s, "451 4.3.0 <%s> Temporary user lookup failure", address);
		break;
	}
	free(address);
	if (resumed && !s->closing) {
		net_conn_input_pause(s->conn, false);
		lmtp_session_input_process(s);
	}
}

static void lmtp_cmd_rcpt(struct lmtp_session *s, const struct lmtp_command *cmd)
{
	if (!s->have_mail) {
		lmtp_reply(s, "503 5.5.1 Send MAIL first");
		return;
	}
	if (s->bdat_used) {
		lmtp_reply(s, "503 5.5.1 RCPT not allowed after BDAT");
		return;
	}
	if (!s->smtputf8 && has_8bit(cmd->address)) {
		lmtp_reply(s, "553 5.6.7 <%s> Non-ASCII address needs SMTPUTF8", cmd->address);
		return;
	}
	if (s->rcpt_count >= s->config->lmtp_max_recipients) {
		lmtp_reply(s, "452 4.5.3 Too many recipients");
		return;
	}
	s->rcpt_address = xstrdup(cmd->address);
	s->rcpt_resolve = lmtp_deliver_resolve(lmtp_auth, s->config, cmd->local, cmd->domain,
					       lmtp_rcpt_resolved, s);
	if (s->rcpt_resolve != NULL)
		net_conn_input_pause(s->conn, true);
}

/* Why the data of DATA/BDAT cannot be taken now, or NULL. */
static const char *lmtp_data_refusal(struct lmtp_session *s)
{
	if (!s->have_mail)
		return "503 5.5.1 Send MAIL first";
	if (s->rcpt_count == 0)
		return "503 5.5.1 No valid recipients";
	if (s->spool_fd < 0 && (s->spool_fd = lmtp_spool_open(s)) < 0)
		return "451 4.3.0 Temporary failure, try again later";
	return NULL;
}

static void lmtp_cmd_data(struct lmtp_session *s)
{
	if (s->bdat_used) {
		lmtp_reply(s, "503 5.5.1 DATA not allowed after BDAT");
		return;
	}
	const char *refusal = lmtp_data_refusal(s);
	if (refusal != NULL) {
		lmtp_reply(s, "%s", refusal);
		return;
	}
	s->input = LMTP_INPUT_DATA;
	s->data_state = LMTP_DATA_LINE_START;
	lmtp_reply(s, "354 Start mail input; end with <CRLF>.<CRLF>");
}

/* RFC 3030: the chunk's octets follow the command line whatever the
 * answer will be, so they are always read (and dropped on error). */
static void lmtp_cmd_bdat(struct lmtp_session *s, const struct lmtp_command *cmd)
{
	s->bdat_error = lmtp_data_refusal(s);
	if (s->bdat_error == NULL)
		s->bdat_used = true;
	s->bdat_left = cmd->chunk_size;
	s->bdat_last = cmd->last;
	s->input = LMTP_INPUT_BDAT;
}

static void lmtp_bdat_chunk_done(struct lmtp_session *s)
{
	s->input = LMTP_INPUT_COMMAND;
	if (s->bdat_error != NULL) {
		lmtp_reply(s, "%s", s->bdat_error);
		s->bdat_error = NULL;
		return;
	}
	if (s->too_big) {
		/* RFC 3030 2: the client must not send more chunks of it */
		lmtp_reply(s, "552 5.3.4 Message too big for system");
		lmtp_transaction_reset(s);
		return;
	}
	if (!s->bdat_last) {
		lmtp_reply(s, "250 2.0.0 %llu octets received",
			   (unsigned long long)s->spool_size);
		return;
	}
	lmtp_transaction_deliver(s);
}

static void lmtp_session_command(struct lmtp_session *s, const struct lmtp_command *cmd)
{
	s->bad_count = 0;
	switch (cmd->verb) {
	case LMTP_CMD_LHLO:
		lmtp_cmd_lhlo(s, cmd);
		break;
	case LMTP_CMD_HELO:
	case LMTP_CMD_EHLO:
		lmtp_reply_bad(s, "500 5.5.1 This is an LMTP server: use LHLO");
		break;
	case LMTP_CMD_MAIL:
		lmtp_cmd_mail(s, cmd);
		break;
	case LMTP_CMD_RCPT:
		lmtp_cmd_rcpt(s, cmd);
		break;
	case LMTP_CMD_DATA:
		lmtp_cmd_data(s);
		break;
	case LMTP_CMD_BDAT:
		lmtp_cmd_bdat(s, cmd);
		break;
	case LMTP_CMD_RSET:
		lmtp_transaction_reset(s);
		lmtp_reply(s, "250 2.0.0 OK");
		break;
	case LMTP_CMD_NOOP:
		lmtp_reply(s, "250 2.0.0 OK");
		break;
	case LMTP_CMD_QUIT:
		lmtp_session_close(s, "221 2.0.0 Bye");
		break;
	case LMTP_CMD_VRFY:
		lmtp_reply(s, "252 2.5.2 Cannot VRFY user, but will accept message "
			   "and attempt delivery");
		break;
	case LMTP_CMD_EXPN:
		lmtp_reply(s, "502 5.5.1 EXPN not supported");
		break;
	case LMTP_CMD_HELP:
		lmtp_reply(s, "214 2.0.0 Commands: LHLO MAIL RCPT DATA BDAT RSET NOOP "
			   "QUIT VRFY HELP");
		break;
	}
}

/* ---- input ---- */

/* Returns true if something was consumed. */
static bool lmtp_input_line(struct lmtp_session *s)
{
	size_t len;
	const unsigned char *data = net_conn_input(s->conn, LMTP_MAX_LINE, &len);
	if (len == 0)
		return false;
	const unsigned char *nl = memchr(data, '\n', len);
	if (s->input == LMTP_INPUT_SKIP_LINE) {
		if (nl == NULL) {
			net_conn_input_skip(s->conn, len);
			return true;
		}
		net_conn_input_skip(s->conn, (size_t)(nl - data) + 1);
		s->input = LMTP_INPUT_COMMAND;
		return true;
	}
	if (nl == NULL) {
		if (len < LMTP_MAX_LINE)
			return false;
		net_conn_input_skip(s->conn, len);
		s->input = LMTP_INPUT_SKIP_LINE;
		lmtp_reply_bad(s, "500 5.5.2 Line too long");
		return true;
	}
	size_t line_len = (size_t)(nl - data);
	struct lmtp_command cmd;
	const char *error;
	int ret = lmtp_parser_parse((const char *)data, line_len, &cmd, &error);
	if (ret > 0) {
		size_t log_len = line_len > 0 && data[line_len - 1] == '\r' ?
			line_len - 1 : line_len;
		log_debug("%s: command %.*s", s->log_prefix, (int)ROOST_MIN(log_len, 200),
			  data);
	}
	/* `data` is gone after this */
	net_conn_input_skip(s->conn, line_len + 1);
	if (ret < 0) {
		if (error[0] == '5' && error[1] == '0')
			lmtp_reply_bad(s, error);
		else
			lmtp_reply(s, "%s", error);
		return true;
	}
	lmtp_session_command(s, &cmd);
	return true;
}

static bool lmtp_input_data(struct lmtp_session *s)
{
	size_t len;
	const unsigned char *data = net_conn_input(s->conn, LMTP_DATA_CHUNK, &len);
	if (len == 0)
		return false;
	size_t out_len, consumed;
	int ret = lmtp_parser_data_unstuff(&s->data_state, data, len, s->data_buf,
					   &out_len, &consumed);
	net_conn_input_skip(s->conn, consumed);
	lmtp_spool_write(s, s->data_buf, out_len);
	if (ret == 1) {
		s->input = LMTP_INPUT_COMMAND;
		lmtp_transaction_deliver(s);
	}
	return true;
}

static bool lmtp_input_bdat(struct lmtp_session *s)
{
	if (s->bdat_left == 0) {
		lmtp_bdat_chunk_done(s);
		return true;
	}
	size_t len;
	size_t max = s->bdat_left < LMTP_DATA_CHUNK ? (size_t)s->bdat_left : LMTP_DATA_CHUNK;
	const unsigned char *data = net_conn_input(s->conn, max, &len);
	if (len == 0)
		return false;
	if (s->bdat_error == NULL)
		lmtp_spool_write(s, data, len);
	net_conn_input_skip(s->conn, len);
	s->bdat_left -= len;
	if (s->bdat_left == 0)
		lmtp_bdat_chunk_done(s);
	return true;
}

static void lmtp_session_input_process(struct lmtp_session *s)
{
	if (s->input_busy)
		return;
	s->input_busy = true;
	while (!s->closing && !s->deliver_waiting && s->rcpt_resolve == NULL) {
		if (net_conn_output_len(s->conn) > LMTP_OUTPUT_HIGH_WATER) {
			/* a client that pipelines without reading: resumed
			 * by the drained callback */
			net_conn_input_pause(s->conn, true);
			break;
		}
		bool progress;
		switch (s->input) {
		case LMTP_INPUT_DATA:
			progress = lmtp_input_data(s);
			break;
		case LMTP_INPUT_BDAT:
			progress = lmtp_input_bdat(s);
			break;
		default:
			progress = lmtp_input_line(s);
			break;
		}
		if (!progress)
			break;
	}
	s->input_busy = false;
}

/* ---- connection events ---- */

/* The connection is gone; a session waiting for a store's turn is freed
 * when the turn comes (the store's queue holds it). */
static void lmtp_session_destroy(struct lmtp_session *s)
{
	for (size_t i = 0; i < all_session_count; i++) {
		if (all_sessions[i] == s) {
			all_sessions[i] = all_sessions[--all_session_count];
			break;
		}
	}
	s->closing = true;
	s->shutting_down = false;
	if (s->deliver_waiting) {
		s->destroy_pending = true;
		net_conn_destroy(&s->conn);
		return;
	}
	lmtp_session_free(s);
}

static void lmtp_session_free(struct lmtp_session *s)
{
	lmtp_deliver_resolve_abort(&s->rcpt_resolve);
	free(s->rcpt_address);
	store_message_free(&s->deliver_msg);
	str_free(&s->deliver_msg_prefix);
	lmtp_transaction_reset(s);
	if (s->spool_fd >= 0)
		close(s->spool_fd);
	if (all_session_count == 0)
		lmtp_store_cache_clear();
	net_conn_destroy(&s->conn);
	free(s->rcpts);
	free(s->helo);
	free(s->data_buf);
	free(s->crlf_buf);
	free(s->log_prefix);
	free(s);
}

static void lmtp_conn_input(struct net_conn *conn, void *ctx)
{
	(void)conn;
	lmtp_session_input_process(ctx);
}

static void lmtp_conn_drained(struct net_conn *conn, void *ctx)
{
	struct lmtp_session *s = ctx;
	if (s->closing || s->deliver_waiting || s->rcpt_resolve != NULL)
		return;
	net_conn_input_pause(conn, false);
	lmtp_session_input_process(s);
}

static void lmtp_conn_closed(struct net_conn *conn, void *ctx, const char *reason)
{
	struct lmtp_session *s = ctx;
	(void)conn;
	if (s->input == LMTP_INPUT_DATA || s->input == LMTP_INPUT_BDAT || s->have_mail)
		log_info("%s: Disconnected in a transaction (%s): nothing stored for it",
			 s->log_prefix, reason);
	else
		log_info("%s: Disconnected (%s): messages=%llu", s->log_prefix, reason,
			 (unsigned long long)s->msg_count);
	lmtp_session_destroy(s);
}

/* RFC 5321 4.5.3.2: a server that times out a client should say 421
 * first.  A transaction in progress is dropped: nothing was stored. */
static void lmtp_conn_timeout(struct net_conn *conn, void *ctx)
{
	struct lmtp_session *s = ctx;
	(void)conn;
	log_info("%s: Timeout after %u s without input", s->log_prefix,
		 s->config->lmtp_timeout);
	lmtp_session_close(s, "421 4.4.2 Timeout, closing connection");
}

static const struct net_conn_callbacks lmtp_conn_callbacks = {
	.timeout = lmtp_conn_timeout,
	.input = lmtp_conn_input,
	.drained = lmtp_conn_drained,
	.closed = lmtp_conn_closed,
};

/* ---- trusted networks ---- */

/* Whether ip ("192.0.2.1", "[::1]") is in one of the CIDR blocks of
 * `networks` ("127.0.0.0/8 ::1 10.0.0.0/8"). */
static bool lmtp_ip_in_networks(const char *ip, const char *networks)
{
	char addr[INET6_ADDRSTRLEN + 2];
	size_t len = strlen(ip);
	if (ip[0] == '[' && len >= 2)
		snprintf(addr, sizeof(addr), "%.*s", (int)(len - 2), ip + 1);
	else
		snprintf(addr, sizeof(addr), "%s", ip);
	unsigned char a[16], n[16];
	int family = strchr(addr, ':') != NULL ? AF_INET6 : AF_INET;
	if (inet_pton(family, addr, a) != 1)
		return false;
	const char *p = networks;
	while (*p != '\0') {
		p += strspn(p, " ,\t");
		size_t wlen = strcspn(p, " ,\t");
		if (wlen == 0)
			break;
		char word[INET6_ADDRSTRLEN + 8];
		snprintf(word, sizeof(word), "%.*s", (int)ROOST_MIN(wlen, sizeof(word) - 1), p);
		p += wlen;
		char *slash = strchr(word, '/');
		if (slash != NULL)
			*slash = '\0';
		int nfamily = strchr(word, ':') != NULL ? AF_INET6 : AF_INET;
		if (nfamily != family || inet_pton(nfamily, word, n) != 1)
			continue;
		unsigned int max_bits = family == AF_INET ? 32 : 128;
		uint64_t bits = max_bits;
		if (slash != NULL && (str_to_u64(slash + 1, max_bits, &bits) < 0))
			continue;
		unsigned int full = (unsigned int)bits / 8, rest = (unsigned int)bits % 8;
		if (memcmp(a, n, full) != 0)
			continue;
		if (rest != 0) {
			unsigned char mask = (unsigned char)(0xff << (8 - rest));
			if ((a[full] & mask) != (n[full] & mask))
				continue;
		}
		return true;
	}
	return false;
}

/* ---- life cycle ---- */

static void lmtp_session_accept(struct net_conn *conn, const struct roost_config *config)
{
	struct lmtp_session *s = xcalloc(1, sizeof(*s));
	s->conn = conn;
	s->config = config;
	s->spool_fd = -1;
	s->log_prefix = xasprintf("lmtp(%s,%s)", net_conn_remote_ip(conn), net_conn_id(conn));
	s->data_buf = xmalloc(LMTP_DATA_CHUNK + 1);
	s->crlf_buf = xmalloc(2 * (LMTP_DATA_CHUNK + 1));
	ARRAY_RESERVE(all_sessions, all_session_cap, all_session_count + 1);
	all_sessions[all_session_count++] = s;
	net_conn_set_callbacks(conn, &lmtp_conn_callbacks, s);
	net_conn_set_low_watermark(conn, LMTP_OUTPUT_LOW_WATER);
	net_conn_set_idle_timeout(conn, config->lmtp_timeout);

	const char *ip = net_conn_remote_ip(conn);
	bool unix_socket = strcmp(ip, "local") == 0;
	if (!unix_socket && !lmtp_ip_in_networks(ip, config->lmtp_trusted_networks)) {
		log_warning("%s: refused: not in lmtp_trusted_networks", s->log_prefix);
		lmtp_session_close(s, "554 5.7.1 Not allowed to use LMTP from this address");
		return;
	}
	log_debug("%s: connected", s->log_prefix);
	lmtp_reply(s, "220 %s Roost LMTP ready", lmtp_hostname);
}

/* Deliveries are store requests on the worker's job pool. */
static const struct store_executor lmtp_store_executor = { .submit = net_job_run };

static void lmtp_worker_init(const struct roost_config *config)
{
	/* the same as imap_worker_init()'s, for a server without IMAP */
	store_request_init(&lmtp_store_executor, config->store_offload_always);
	if (gethostname(lmtp_hostname, sizeof(lmtp_hostname)) < 0 || lmtp_hostname[0] == '\0')
		strcpy(lmtp_hostname, "localhost");
	lmtp_hostname[sizeof(lmtp_hostname) - 1] = '\0';
	if (lmtp_auth == NULL)
		lmtp_auth = auth_create(config);
}

static void lmtp_reload(void)
{
	if (lmtp_auth != NULL)
		auth_reload(lmtp_auth);
}

static void lmtp_shutdown(void)
{
	size_t n = all_session_count;
	if (n == 0)
		return;
	struct lmtp_session **list = xmemdup(all_sessions, n * sizeof(*list));
	for (size_t i = 0; i < n; i++) {
		struct lmtp_session *s = list[i];
		if (s->input == LMTP_INPUT_COMMAND && !s->have_mail)
			lmtp_session_close(s, "421 4.3.2 Server shutting down");
		else
			s->shutting_down = true;
	}
	free(list);
}

/* Only the worker-full refusal happens here: LMTP has no login, so no
 * per-address limit (its clients are the trusted MTAs, checked against
 * lmtp_trusted_networks on accept). */
static const char *lmtp_refusal(enum net_refusal why)
{
	(void)why;
	return "421 4.3.2 Server too busy; try again later\r\n";
}

const struct net_protocol lmtp_protocol = {
	.name = "lmtp",
	.refusal = lmtp_refusal,
	.worker_init = lmtp_worker_init,
	.accept = lmtp_session_accept,
	.reload = lmtp_reload,
	.shutdown = lmtp_shutdown,
};
