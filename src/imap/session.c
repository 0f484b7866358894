/* session.c: an IMAP connection from greeting to BYE.
 *
 * The state machine (RFC 9051 section 3):
 *
 *            +----------------------+
 *            |  connection opened   |
 *            +----------------------+
 *             || greeting OK  \\ (PREAUTH: never)
 *             \/               \\
 *   +-----------------+  LOGIN / AUTHENTICATE   +-----------------+
 *   | NOT_AUTH        | ----------------------> | AUTH            |
 *   +-----------------+                         +-----------------+
 *             ||                 SELECT/EXAMINE ||     /\ CLOSE, UNSELECT,
 *             ||                                \/     || failed SELECT
 *             ||                                +-----------------+
 *             ||                                | SELECTED        |
 *             ||                                +-----------------+
 *             \/ LOGOUT, BYE, timeout                   || LOGOUT ...
 *   +--------------------------------------------------------------+
 *   |                          LOGOUT                              |
 *   +--------------------------------------------------------------+
 *
 * Input is handed to the incremental parser as it arrives.  One command
 * runs at a time; while it runs (a password check, a FETCH that waits for
 * the socket to drain) input stays buffered and reading is paused, so a
 * client that pipelines without reading cannot make us buffer without
 * bound.  The same holds while a store request of the session runs on a
 * helper thread (SELECT's open, the sync before a tagged reply: see
 * "store requests" in session.h), while the session waits for the
 * turn of a store whose request another session runs, and while a NOTIFY
 * push (notify.h) writes between two commands.  This file never
 * touches mail data itself: commands do, through store/store.h. */
#include "session.h"
#include "syntax/imap-parser.h"
#include "capability.h"
#include "syntax/imap-arg.h"
#include "flags.h"
#include "commands.h"
#include "search-result.h"
#include "notify.h"
#include "search-update.h"
#include "base/log.h"
#include "syntax/seqset.h"
#include "conf/conf.h"
#include "net/net.h"
#include "store/store.h"
#include "store/request.h"
#include "auth/auth.h"
#include "sieve/run.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Output above this many bytes pauses command processing until drained. */
#define IMAP_OUTPUT_HIGH_WATER (256 * 1024)
#define IMAP_OUTPUT_LOW_WATER (64 * 1024)

static void imap_session_input_process(struct imap_session *s);
static void imap_session_destroy(struct imap_session *s);

static uint64_t session_counter;

/* ---- writing ---- */

void imap_session_write(struct imap_session *s, const void *data, size_t size)
{
	if (s->conn != NULL && !s->closing)
		net_conn_write(s->conn, data, size);
}

void imap_session_write_line(struct imap_session *s, const struct str *line)
{
	imap_session_write(s, line->data == NULL ? "" : line->data, line->len);
	imap_session_write(s, "\r\n", 2);
}

void imap_session_untagged(struct imap_session *s, const char *fmt, ...)
{
	struct str line = STR_INIT;
	va_list args;
	str_append(&line, "* ");
	va_start(args, fmt);
	str_vprintfa(&line, fmt, args);
	va_end(args);
	imap_session_write_line(s, &line);
	str_free(&line);
}

void imap_session_bye(struct imap_session *s, const char *text)
{
	if (s->logout_sent || s->closing)
		return;
	imap_session_untagged(s, "BYE %s", text);
	s->logout_sent = true;
	s->state = IMAP_STATE_LOGOUT;
	net_conn_close(s->conn);
}

/* ---- command completion ---- */

/* A tagged reply waiting for the sync before it (imap_cmd_reply). */
struct imap_reply {
	struct imap_cmd *cmd;
	char *line;		/* in the command's pool */
	bool bad;
};

static void imap_reply_write(void *ctx)
{
	struct imap_reply *reply = ctx;
	struct imap_session *s = reply->cmd->session;
	imap_session_write(s, reply->line, strlen(reply->line));
	imap_session_write(s, "\r\n", 2);
	if (reply->bad) {
		if (++s->bad_count >= s->config->max_bad_commands)
			imap_session_bye(s, "Too many invalid commands.");
	} else {
		s->bad_count = 0;
	}
	s->reply_pending = false;
	if (s->finish_pending) {
		s->finish_pending = false;
		imap_cmd_finish(reply->cmd);
	}
}

static void imap_cmd_reply(struct imap_cmd *cmd, const char *status,
			   const char *fmt, va_list args) ATTR_PRINTF(3, 0);
static void imap_cmd_reply(struct imap_cmd *cmd, const char *status,
			   const char *fmt, va_list args)
{
	struct imap_session *s = cmd->session;
	struct imap_reply *reply = p_malloc(cmd->pool, sizeof(*reply));
	struct str line = STR_INIT;
	str_printfa(&line, "%s %s ", cmd->tag, status);
	str_vprintfa(&line, fmt, args);
	reply->cmd = cmd;
	reply->line = p_strdup(cmd->pool, str_c(&line));
	reply->bad = strcmp(status, "BAD") == 0;
	str_free(&line);
	/* answered: nothing of the command is left to undo if the
	 * connection fails while the reply waits for its sync */
	cmd->abort = NULL;
	s->reply_pending = true;
	if (s->box != NULL && s->state == IMAP_STATE_SELECTED) {
		bool allow = (cmd->def->flags & IMAP_CMD_FLAG_NO_EXPUNGES) == 0 || cmd->uid;
		imap_session_sync_request(s, allow, imap_reply_write, reply);
	} else {
		imap_reply_write(reply);
	}
}

#define IMAP_CMD_REPLY_FUNC(fname, status) \
	bool fname(struct imap_cmd *cmd, const char *fmt, ...) \
	{ \
		va_list args; \
		va_start(args, fmt); \
		imap_cmd_reply(cmd, status, fmt, args); \
		va_end(args); \
		return true; \
	}
IMAP_CMD_REPLY_FUNC(imap_cmd_ok, "OK")
IMAP_CMD_REPLY_FUNC(imap_cmd_no, "NO")
IMAP_CMD_REPLY_FUNC(imap_cmd_bad, "BAD")

bool imap_cmd_store_error(struct imap_cmd *cmd, bool trycreate)
{
	enum store_error err;
	/* copied: the sync before the tagged reply clears the store's error */
	const char *text = p_strdup(cmd->pool, store_last_error(cmd->session->store, &err));
	const char *code;
	switch (err) {
	case STORE_ERR_NOTFOUND:
		code = trycreate ? "TRYCREATE" : "NONEXISTENT";
		break;
	case STORE_ERR_EXISTS: code = "ALREADYEXISTS"; break;
	case STORE_ERR_PARAMS:
	case STORE_ERR_NOTPOSSIBLE: code = "CANNOT"; break;
	/* the store's only INUSE case: a \Noselect name with children
	 * (RFC 9051 6.3.5: [HASCHILDREN]) */
	case STORE_ERR_INUSE: code = "HASCHILDREN"; break;
	case STORE_ERR_LIMIT: code = "LIMIT"; break;
	case STORE_ERR_NOSPACE: code = "OVERQUOTA"; break;
	case STORE_ERR_EXPUNGED: code = "EXPUNGEISSUED"; break;
	/* RFC 5530 3: UNAVAILABLE, "temporary failure because a subsystem
	 * is down": the index stayed locked, the client may try again */
	case STORE_ERR_BUSY: code = "UNAVAILABLE"; break;
	case STORE_ERR_TEMP:
	default:
		log_error("%s: store error: %s", cmd->session->log_prefix, text);
		return imap_cmd_no(cmd, "[SERVERBUG] Internal error occurred. "
				   "Refer to server log for more information.");
	}
	return imap_cmd_no(cmd, "[%s] %s", code, text);
}

/* ---- imapsieve ---- */

void imap_session_imapsieve(struct imap_session *s, const char *mailbox, const char *from,
			    const char *cause, const uint32_t *uids, size_t count,
			    const char *changed_flags)
{
	if (s->config->imapsieve_count == 0 || s->store == NULL)
		return;
	sieve_run_imap_event_queue(s->config, s->store, s->user, mailbox, from, cause, uids,
				   count, changed_flags, s->log_prefix);
}

bool imap_session_imapsieve_wanted(struct imap_session *s, const char *mailbox,
				   const char *cause)
{
	return s->config->imapsieve_count > 0 &&
		sieve_run_imap_event_wanted(s->config, mailbox, cause);
}

/* How long after a command the store's caches are kept for the next one. */
#define IMAP_RELEASE_MSECS 2000

static void imap_session_release(void *ctx)
{
	struct imap_session *s = ctx;
	net_timer_destroy(&s->release_timer);
	/* not in the middle of a command running in slices: the end of
	 * the command arms the timer again */
	if (s->store == NULL || s->cmd != NULL)
		return;
	if (store_request_busy(s->store)) {
		/* another session's request has the store: try later */
		s->release_timer = net_timer_create(IMAP_RELEASE_MSECS, false,
						    imap_session_release, s);
		return;
	}
	store_release_memory(s->store);
}

static void imap_command_done(struct imap_session *s)
{
	struct imap_cmd *cmd = s->cmd;
	if (s->reply_pending) {
		/* the tagged reply waits for its sync: finished after it */
		s->finish_pending = true;
		if (s->conn != NULL)
			net_conn_input_pause(s->conn, true);
		return;
	}
	s->cmd = NULL;
	if (s->slice_timer != NULL)
		net_timer_destroy(&s->slice_timer);
	if (cmd != NULL)
		pool_destroy(&cmd->pool);
	if (s->conn != NULL && !s->closing && !s->logout_sent)
		net_conn_input_pause(s->conn, false);
	/* Soon after the client goes quiet, give the index connection back,
	 * so that idle sessions cost kilobytes (bench/idle); a client busy
	 * with commands keeps it open meanwhile. */
	if (s->store != NULL && s->release_timer == NULL && !s->closing)
		s->release_timer = net_timer_create(IMAP_RELEASE_MSECS, false,
						    imap_session_release, s);
	if (s->shutting_down)
		imap_session_bye(s, "Server shutting down.");
	else if (s->notify != NULL)
		imap_notify_kick(s);	/* what came while the command ran */
}

void imap_cmd_finish(struct imap_cmd *cmd)
{
	struct imap_session *s = cmd->session;
	if (s->cmd != cmd)
		i_panic("imap_cmd_finish: not the running command");
	imap_command_done(s);
	imap_session_input_process(s);
}

/* ---- store requests ---- */

struct imap_store_request {
	struct imap_session *s;
	void (*work)(void *ctx);
	void (*done)(void *ctx);
	void *ctx;
};

static void imap_session_free(struct imap_session *s);

static void imap_store_request_work(void *ctx)
{
	struct imap_store_request *req = ctx;
	req->work(req->ctx);
}

static void imap_store_request_done(void *ctx)
{
	struct imap_store_request *req = ctx;
	struct imap_session *s = req->s;
	req->done(req->ctx);
	free(req);
	/* still inside the store's turn: the store may be closed directly */
	if (--s->store_requests == 0 && s->destroy_pending)
		imap_session_free(s);
}

void imap_session_store_request(struct imap_session *s, void (*work)(void *ctx),
				void (*done)(void *ctx), void *ctx)
{
	struct imap_store_request *req = xmalloc(sizeof(*req));
	req->s = s;
	req->work = work;
	req->done = done;
	req->ctx = ctx;
	s->store_requests++;
	store_request_run(s->store, work == NULL ? NULL : imap_store_request_work,
			  imap_store_request_done, req);
}

struct imap_cmd_request {
	struct imap_cmd *cmd;
	void (*work)(void *ctx);
	void *work_ctx;		/* cmd->ctx, read on the loop */
	imap_command_func *done;
	bool submitting;	/* store_request_run() has not returned yet */
	bool ran, finished;	/* done ran while submitting, and returned */
};

static void imap_cmd_request_work(void *ctx)
{
	struct imap_cmd_request *req = ctx;
	req->work(req->work_ctx);
}

static void imap_cmd_request_done(void *ctx)
{
	struct imap_cmd_request *req = ctx;
	bool finished = req->done(req->cmd);
	if (req->submitting) {
		req->ran = true;
		req->finished = finished;
	} else if (finished) {
		imap_cmd_finish(req->cmd);
	}
}

bool imap_cmd_store_request(struct imap_cmd *cmd, void (*work)(void *ctx),
			    imap_command_func *done)
{
	/* in the command's pool: the command is not finished before done */
	struct imap_cmd_request *req = p_malloc(cmd->pool, sizeof(*req));
	req->cmd = cmd;
	req->work = work;
	req->work_ctx = cmd->ctx;
	req->done = done;
	req->submitting = true;
	imap_session_store_request(cmd->session, imap_cmd_request_work,
				   imap_cmd_request_done, req);
	req->submitting = false;
	return req->ran && req->finished;
}

/* ---- dispatch ---- */

static void imap_session_dispatch(struct imap_session *s, const struct imap_command *pc)
{
	struct pool *pool = pool_create(2048);
	struct imap_cmd *cmd = p_malloc(pool, sizeof(*cmd));
	cmd->session = s;
	cmd->pool = pool;
	cmd->tag = p_strdup(pool, pc->tag);
	cmd->name = p_strdup(pool, pc->name);
	cmd->args = pc->args;
	s->cmd_count++;

	const char *name = cmd->name;
	if (str_eq_icase(name, "UID")) {
		if (!imap_arg_get_atom(&cmd->args[0], &name)) {
			static const struct imap_command_def uid_def = {
				.name = "UID", .states = IMAP_STATE_ANY,
			};
			cmd->def = &uid_def;
			s->cmd = cmd;
			imap_cmd_bad(cmd, "UID needs a command name.");
			imap_command_done(s);
			return;
		}
		cmd->uid = true;
		cmd->args++;
	}
	const struct imap_command_def *def = imap_command_find(name);
	static const struct imap_command_def unknown_def = {
		.name = "", .states = IMAP_STATE_ANY,
	};
	s->cmd = cmd;
	if (def == NULL || (cmd->uid && (def->flags & IMAP_CMD_FLAG_UID) == 0)) {
		cmd->def = &unknown_def;
		imap_cmd_bad(cmd, "Unknown command %s%.40s.", cmd->uid ? "UID " : "", name);
		imap_command_done(s);
		return;
	}
	cmd->def = def;
	if ((def->states & s->state) == 0) {
		if (s->state == IMAP_STATE_NOT_AUTH)
			imap_cmd_bad(cmd, "Command not valid before authentication.");
		else if (s->state == IMAP_STATE_AUTH && (def->states & IMAP_STATE_SELECTED))
			imap_cmd_bad(cmd, "No mailbox selected.");
		else
			imap_cmd_bad(cmd, "Command not valid in this state.");
		imap_command_done(s);
		return;
	}
	if (s->read_only && (def->flags & IMAP_CMD_FLAG_WRITES) != 0) {
		imap_cmd_no(cmd, "[NOPERM] This session is read-only.");
		imap_command_done(s);
		return;
	}
	if (s->uidonly && (def->flags & IMAP_CMD_FLAG_MSNS) != 0 && !cmd->uid) {
		/* RFC 9586 3.2 */
		imap_cmd_bad(cmd, "[UIDREQUIRED] Message numbers are not allowed once "
			     "UIDONLY is enabled; use UID %s.", def->name);
		imap_command_done(s);
		return;
	}
	log_debug("%s: command %s%s", s->log_prefix, cmd->uid ? "UID " : "", def->name);
	if (def->func(cmd)) {
		imap_command_done(s);
	} else if (cmd->raw_line == NULL) {
		/* waits for a callback or for output to drain */
		net_conn_input_pause(s->conn, true);
	}
}

static void imap_session_parse_error(struct imap_session *s)
{
	enum imap_parser_error code;
	const char *msg = imap_parser_error(s->parser, &code);
	const char *tag = imap_parser_error_tag(s->parser);
	const char *status = "BAD", *rcode = "";
	switch (code) {
	case IMAP_PARSER_ERROR_TOOBIG:
		status = "NO";
		rcode = "[TOOBIG] ";
		break;
	case IMAP_PARSER_ERROR_LIMIT:
		rcode = "[LIMIT] ";
		break;
	case IMAP_PARSER_ERROR_SERVER:
		status = "NO";
		rcode = "[SERVERBUG] ";
		log_error("%s: %s", s->log_prefix, imap_parser_system_error(s->parser));
		break;
	default:
		break;
	}
	if (imap_parser_must_close(s->parser)) {
		struct str text = STR_INIT;
		str_printfa(&text, "%s%s", rcode, msg);
		imap_session_bye(s, str_c(&text));
		str_free(&text);
		return;
	}
	struct str line = STR_INIT;
	str_printfa(&line, "%s %s %s%s", tag != NULL && *tag != '\0' ? tag : "*",
		    status, rcode, msg);
	imap_session_write_line(s, &line);
	str_free(&line);
	if (strcmp(status, "BAD") == 0 && ++s->bad_count >= s->config->max_bad_commands)
		imap_session_bye(s, "Too many invalid commands.");
}

static void imap_session_raw_input(struct imap_session *s)
{
	while (s->cmd != NULL && s->cmd->raw_line != NULL && !s->closing && !s->logout_sent) {
		size_t len, consumed = 0;
		const unsigned char *data = net_conn_input(s->conn, 65536, &len);
		if (len == 0)
			return;
		const char *line;
		int ret = imap_parser_read_line(s->parser, data, len, &consumed, &line);
		net_conn_input_skip(s->conn, consumed);
		if (ret < 0) {
			imap_session_bye(s, "Line too long.");
			return;
		}
		if (ret == 0) {
			if (consumed == 0)
				return;
			continue;
		}
		s->cmd->raw_line(s->cmd, line);
	}
}

static void imap_session_resume(struct imap_session *s);

static void imap_session_store_turn(void *ctx)
{
	struct imap_session *s = ctx;
	s->store_wait = false;
	if (!s->closing)
		imap_session_resume(s);
}

/* Goes on (dispatching or resuming the command) when the requests on the
 * store that other sessions made have finished. */
static void imap_session_wait_store(struct imap_session *s)
{
	net_conn_input_pause(s->conn, true);
	if (s->store_wait)
		return;
	s->store_wait = true;
	imap_session_store_request(s, NULL, imap_session_store_turn, s);
}

static void imap_session_input_process(struct imap_session *s)
{
	/* a NOTIFY push runs like a command: the next one waits */
	if (s->input_busy || s->conn == NULL || imap_notify_is_busy(s))
		return;
	s->input_busy = true;
	while (!s->closing && !s->logout_sent && !s->tls_pending) {
		/* a push the last command's end started (imap_notify_kick) */
		if (imap_notify_is_busy(s))
			break;
		if (s->cmd != NULL) {
			if (s->cmd->raw_line == NULL)
				break;
			imap_session_raw_input(s);
			if (s->cmd != NULL)
				break;
			continue;
		}
		if (net_conn_output_len(s->conn) > IMAP_OUTPUT_HIGH_WATER) {
			/* resumed by the drained callback */
			net_conn_input_pause(s->conn, true);
			break;
		}
		size_t len, consumed = 0;
		const unsigned char *data = net_conn_input(s->conn, 65536, &len);
		if (len == 0)
			break;
		if (s->store != NULL && store_request_busy(s->store)) {
			/* the next command may call the store directly */
			imap_session_wait_store(s);
			break;
		}
		int ret = imap_parser_feed(s->parser, data, len, &consumed);
		net_conn_input_skip(s->conn, consumed);
		if (ret == 1) {
			imap_session_dispatch(s, imap_parser_command(s->parser));
		} else if (ret < 0) {
			imap_session_parse_error(s);
		} else {
			if (imap_parser_need_continuation(s->parser))
				imap_session_write(s, "+ OK\r\n", 6);
			if (consumed == 0)
				break;
		}
	}
	s->input_busy = false;
}

/* ---- connection events ---- */

static void imap_session_conn_input(struct net_conn *conn, void *ctx)
{
	struct imap_session *s = ctx;
	(void)conn;
	imap_session_input_process(s);
}

/* ---- long commands ---- */

uint64_t imap_cmd_slice_deadline(void)
{
	return time_monotonic_ms() + IMAP_SLICE_MSECS;
}

static void imap_session_slice_timer(void *ctx);

bool imap_cmd_slice_end(struct imap_cmd *cmd, uint64_t deadline)
{
	struct imap_session *s = cmd->session;
	if (s->conn != NULL && net_conn_output_len(s->conn) > IMAP_OUTPUT_HIGH_WATER)
		return true;	/* the drained callback resumes */
	if (time_monotonic_ms() < deadline)
		return false;
	if (s->slice_timer == NULL)
		s->slice_timer = net_timer_create(0, false, imap_session_slice_timer, s);
	return true;
}

static void imap_session_resume(struct imap_session *s)
{
	struct imap_cmd *cmd = s->cmd;
	if (s->slice_timer != NULL)
		net_timer_destroy(&s->slice_timer);
	if (s->store_wait)
		return;
	if (imap_notify_resume(s))
		return;
	if (cmd != NULL && cmd->resume != NULL) {
		if (s->store != NULL && store_request_busy(s->store)) {
			/* each slice calls the store directly */
			imap_session_wait_store(s);
			return;
		}
		if (!cmd->resume(cmd))
			return;
		imap_command_done(s);
	}
	if (s->cmd == NULL && !s->closing && !s->logout_sent) {
		net_conn_input_pause(s->conn, false);
		imap_session_input_process(s);
	}
}

static void imap_session_slice_timer(void *ctx)
{
	imap_session_resume(ctx);
}

static void imap_session_conn_drained(struct net_conn *conn, void *ctx)
{
	(void)conn;
	imap_session_resume(ctx);
}

static void imap_session_conn_closed(struct net_conn *conn, void *ctx, const char *reason)
{
	struct imap_session *s = ctx;
	(void)conn;
	if (s->state == IMAP_STATE_AUTH || s->state == IMAP_STATE_SELECTED ||
	    (s->state == IMAP_STATE_LOGOUT && s->user != NULL)) {
		log_info("%s: Disconnected (%s): commands=%llu fetched=%llu expunged=%llu appended=%llu",
			 s->log_prefix, reason, (unsigned long long)s->cmd_count,
			 (unsigned long long)s->fetch_count,
			 (unsigned long long)s->expunge_count,
			 (unsigned long long)s->append_count);
	} else {
		log_info("%s: Disconnected before login (%s)", s->log_prefix, reason);
	}
	imap_session_destroy(s);
}

static void imap_session_conn_tls_ready(struct net_conn *conn, void *ctx)
{
	struct imap_session *s = ctx;
	(void)conn;
	log_debug("%s: TLS established", s->log_prefix);
	s->tls_pending = false;
	imap_session_input_process(s);
}

/* RFC 9051 7.1.5: BYE is also sent "because the server is closing the
 * connection ... autologout". */
static void imap_session_conn_timeout(struct net_conn *conn, void *ctx)
{
	struct imap_session *s = ctx;
	(void)conn;
	log_info("%s: Autologout after %u s idle", s->log_prefix,
		 s->state == IMAP_STATE_NOT_AUTH ? s->config->preauth_timeout :
		 s->config->autologout);
	imap_session_bye(s, "Autologout; idle for too long.");
}

/* login_timeout after connecting, however active the client. */
static void imap_session_conn_login_timeout(struct net_conn *conn, void *ctx)
{
	struct imap_session *s = ctx;
	(void)conn;
	log_info("%s: Not logged in after %u s: disconnecting", s->log_prefix,
		 s->config->login_timeout);
	imap_session_bye(s, "Login timed out.");
}

static const struct net_conn_callbacks imap_conn_callbacks = {
	.timeout = imap_session_conn_timeout,
	.login_timeout = imap_session_conn_login_timeout,
	.input = imap_session_conn_input,
	.drained = imap_session_conn_drained,
	.closed = imap_session_conn_closed,
	.tls_ready = imap_session_conn_tls_ready,
};

/* ---- selection ---- */

/* The store's change notification, one per worker for all its sessions
 * (DESIGN.md: one inotify instance per worker); created when a session
 * first selects a mailbox, again after a failure. */
static struct {
	struct store_notify *notify;
	struct net_watch *readable;
} imap_notify;

/* inotify reports a delivery as several events in a few milliseconds:
 * one sync for all of them */
#define IMAP_NOTIFY_COALESCE_MSECS 50

static void imap_session_box_changed(struct imap_watch_target *target)
{
	struct imap_session *s = (struct imap_session *)
		((char *)target - offsetof(struct imap_session, watch_target));
	s->box_changed = true;
	if (s->idling || s->notify != NULL) {
		/* RFC 2177: push the changes now; RFC 5465: as NOTIFY says */
		imap_session_idle_sync(s);
	}
}

static void imap_watch_changed(void *ctx ATTR_UNUSED, void *cookie)
{
	struct imap_watch_target *target = cookie;
	target->changed(target);
}

static void imap_notify_readable(void *ctx ATTR_UNUSED)
{
	store_notify_read(imap_notify.notify, imap_watch_changed, NULL);
}

/* The worker's notification object, made at first use; NULL when the
 * store cannot notify now. */
static struct store_notify *imap_session_notifier(struct imap_session *s)
{
	if (imap_notify.notify == NULL) {
		struct store_settings set;
		const char *error;
		store_settings_init(&set, s->config);
		if (store_notify_create(&set, &imap_notify.notify, &error) < 0)
			return NULL;
		imap_notify.readable = net_watch_create(store_notify_fd(imap_notify.notify),
							IMAP_NOTIFY_COALESCE_MSECS,
							imap_notify_readable, NULL);
	}
	return imap_notify.notify;
}

static void imap_session_watch(struct imap_session *s, struct store_mailbox *box)
{
	struct store_notify *notify = imap_session_notifier(s);
	s->watch_target.changed = imap_session_box_changed;
	if (notify != NULL)
		(void)store_notify_add(notify, box, &s->watch_target, &s->watch);
}

int imap_session_watch_user(struct imap_session *s, struct imap_watch_target *target,
			    struct store_notify_watch **watch_r)
{
	struct store_notify *notify = imap_session_notifier(s);
	*watch_r = NULL;
	if (notify == NULL)
		return -1;
	return store_notify_add_user(notify, s->store, target, watch_r);
}

void imap_session_input_resume(struct imap_session *s)
{
	if (s->conn == NULL || s->closing || s->logout_sent)
		return;
	if (s->cmd != NULL && s->cmd->raw_line == NULL)
		return;
	/* the push used the index: give it back soon, as after a command */
	if (s->cmd == NULL && s->store != NULL && s->release_timer == NULL)
		s->release_timer = net_timer_create(IMAP_RELEASE_MSECS, false,
						    imap_session_release, s);
	net_conn_input_pause(s->conn, false);
	imap_session_input_process(s);
}

void imap_session_select(struct imap_session *s, struct store_mailbox *box)
{
	s->box = box;
	/* RFC 9051 6.4.4.1: SELECT and EXAMINE empty the variable */
	imap_search_result_clear(s);
	s->state = IMAP_STATE_SELECTED;
	imap_session_watch(s, box);
}

void imap_session_enable_condstore(struct imap_session *s)
{
	if (s->condstore)
		return;
	s->condstore = true;
	if (s->box != NULL)
		imap_session_untagged(s, "OK [HIGHESTMODSEQ %llu] Highest mailbox modseq.",
				      (unsigned long long)store_mailbox_highestmodseq(s->box));
}

void imap_session_unselect(struct imap_session *s)
{
	store_notify_remove(&s->watch);
	if (s->box != NULL)
		store_mailbox_close(&s->box);
	/* its UIDs belong to the mailbox that was selected */
	imap_search_result_clear(s);
	/* RFC 5267 4.3: "Updates will cease when the mailbox is no longer
	 * selected" */
	imap_search_update_clear(s);
	if (s->state == IMAP_STATE_SELECTED)
		s->state = IMAP_STATE_AUTH;
}

/* ---- sync ----
 *
 * A sync runs in two halves, so that the store half can be a request
 * (off the loop): the store's callbacks record what changed
 * (imap_sync_record_*), and the responses are written from the record
 * afterwards (imap_sync_replay).  The view does not change between the
 * halves, so the replay writes what writing from the callbacks would
 * have: the msns, the \Recent marks and the keyword table are those the
 * callbacks saw. */

enum imap_sync_event_type {
	IMAP_SYNC_EXPUNGE,
	IMAP_SYNC_EXISTS,
	IMAP_SYNC_KEYWORDS,
	IMAP_SYNC_FLAGS,
	IMAP_SYNC_OWN_FLAGS,
};

struct imap_sync_event {
	enum imap_sync_event_type type;
	uint32_t msn;		/* EXPUNGE, FLAGS, OWN_FLAGS; the count for EXISTS */
	uint32_t uid;		/* EXPUNGE */
	struct store_msg msg;	/* FLAGS, OWN_FLAGS */
};

/* What one sync reported, in order. */
struct imap_sync_record {
	struct imap_sync_event *events;
	size_t count, cap;
};

static struct imap_sync_event *imap_sync_record_add(struct imap_sync_record *rec,
						    enum imap_sync_event_type type,
						    uint32_t msn)
{
	ARRAY_RESERVE(rec->events, rec->cap, rec->count + 1);
	struct imap_sync_event *ev = &rec->events[rec->count++];
	ev->type = type;
	ev->msn = msn;
	return ev;
}

static void imap_sync_record_expunge(void *ctx, uint32_t msn, uint32_t uid)
{
	imap_sync_record_add(ctx, IMAP_SYNC_EXPUNGE, msn)->uid = uid;
}

static void imap_sync_record_exists(void *ctx, uint32_t count)
{
	imap_sync_record_add(ctx, IMAP_SYNC_EXISTS, count);
}

static void imap_sync_record_keywords(void *ctx)
{
	imap_sync_record_add(ctx, IMAP_SYNC_KEYWORDS, 0);
}

static void imap_sync_record_flags(void *ctx, uint32_t msn, const struct store_msg *msg)
{
	imap_sync_record_add(ctx, IMAP_SYNC_FLAGS, msn)->msg = *msg;
}

static void imap_sync_record_own_flags(void *ctx, uint32_t msn, const struct store_msg *msg)
{
	imap_sync_record_add(ctx, IMAP_SYNC_OWN_FLAGS, msn)->msg = *msg;
}

/* The store half: syncs `box` into `rec`.  Touches nothing but the two.
 * Returns what store_mailbox_sync() returns. */
static int imap_sync_record(struct store_mailbox *box, bool allow_expunges,
			    struct imap_sync_record *rec)
{
	static const struct store_sync_callbacks cb = {
		.expunge = imap_sync_record_expunge,
		.exists = imap_sync_record_exists,
		.flags = imap_sync_record_flags,
		.keywords = imap_sync_record_keywords,
		.own_flags = imap_sync_record_own_flags,
	};
	return store_mailbox_sync(box, allow_expunges ? 0 : STORE_SYNC_NO_EXPUNGES, &cb, rec);
}

static void imap_sync_write_flags(struct imap_session *s, uint32_t msn,
				  const struct store_msg *msg)
{
	struct str line = STR_INIT;
	bool uid_said = imap_session_fetch_begin(s, &line, msn, msg->uid);
	/* RFC 7162 3.2.4: once CONDSTORE is on, every untagged FETCH
	 * carries UID and MODSEQ; NOTIFY's FlagChange asks for UID too
	 * (RFC 5465 5.1) */
	if (!uid_said && ((s->cmd != NULL && s->cmd->uid) || s->condstore ||
			  imap_notify_flags_need_uid(s)))
		str_printfa(&line, "UID %u ", msg->uid);
	str_append(&line, "FLAGS (");
	imap_flags_write(&line, s->box, msg, store_mailbox_is_recent(s->box, msn));
	str_append_c(&line, ')');
	if (s->condstore)
		str_printfa(&line, " MODSEQ (%llu)", (unsigned long long)msg->modseq);
	str_append_c(&line, ')');
	imap_session_write_line(s, &line);
	str_free(&line);
}

bool imap_session_fetch_begin(struct imap_session *s, struct str *line,
			      uint32_t msn, uint32_t uid)
{
	if (s->uidonly) {
		str_printfa(line, "* %u UIDFETCH (", uid);
		return true;
	}
	str_printfa(line, "* %u FETCH (", msn);
	return false;
}

/* A VANISHED line longer than this is split into several responses. */
#define IMAP_VANISHED_LINE_MAX 8000

void imap_session_write_vanished(struct imap_session *s, bool earlier,
				 const struct seqset *uids)
{
	struct str line = STR_INIT;
	unsigned int i = 0;
	while (i < uids->count) {
		str_truncate(&line, 0);
		str_append(&line, earlier ? "* VANISHED (EARLIER) " : "* VANISHED ");
		for (bool first = true; i < uids->count && line.len < IMAP_VANISHED_LINE_MAX;
		     i++, first = false) {
			const struct seqset_range *r = &uids->ranges[i];
			if (!first)
				str_append_c(&line, ',');
			if (r->seq1 == r->seq2)
				str_printfa(&line, "%u", r->seq1);
			else
				str_printfa(&line, "%u:%u", r->seq1, r->seq2);
		}
		imap_session_write_line(s, &line);
	}
	str_free(&line);
}

/* Writes the expunges of rec->events[*i...] that follow each other as
 * one VANISHED response (RFC 7162 3.2.10.2: QRESYNC replaces EXPUNGE);
 * *i ends at the last of them.  The store reports them highest msn
 * first, so their UIDs descend. */
static void imap_sync_write_vanished(struct imap_session *s,
				     const struct imap_sync_record *rec, size_t *i)
{
	size_t end = *i;
	while (end + 1 < rec->count && rec->events[end + 1].type == IMAP_SYNC_EXPUNGE)
		end++;
	/* RFC 5267 4.3.4: the contexts' REMOVEFROM come before the
	 * expunge is reported, here for each message, highest msn first */
	for (size_t k = *i; k <= end; k++)
		imap_search_update_expunge(s, rec->events[k].msn, rec->events[k].uid);
	struct seqset uids = SEQSET_INIT;
	/* ascending: each addition is O(1) */
	for (size_t k = end + 1; k > *i; k--)
		seqset_add(&uids, rec->events[k - 1].uid);
	imap_session_write_vanished(s, false, &uids);
	seqset_deinit(&uids);
	*i = end;
}

/* The loop half: logs a failed sync (ret < 0), writes the responses of
 * `rec` (skipping flag changes as imap_session_sync_skipping() says) and
 * frees it. */
static void imap_sync_replay(struct imap_session *s, int ret, struct imap_sync_record *rec,
			     const uint8_t *skip, uint32_t skip_count, bool skip_own_only)
{
	if (ret < 0) {
		enum store_error err;
		log_error("%s: sync failed: %s", s->log_prefix,
			  store_last_error(s->store, &err));
	}
	for (size_t i = 0; i < rec->count; i++) {
		const struct imap_sync_event *ev = &rec->events[i];
		switch (ev->type) {
		case IMAP_SYNC_EXPUNGE:
			/* RFC 7162 3.2.10.2, RFC 9586 3.6 (REMOVEFROM first:
			 * imap_sync_write_vanished()) */
			if (s->qresync || s->uidonly) {
				imap_sync_write_vanished(s, rec, &i);
				break;
			}
			/* RFC 5267 4.3.4: REMOVEFROM before the EXPUNGE */
			imap_search_update_expunge(s, ev->msn, ev->uid);
			imap_session_untagged(s, "%u EXPUNGE", ev->msn);
			break;
		case IMAP_SYNC_EXISTS:
			imap_session_untagged(s, "%u EXISTS", ev->msn);
			if (!s->rev2)
				imap_session_untagged(s, "%u RECENT",
						      store_mailbox_recent_count(s->box));
			/* RFC 5267 4.3.3: ADDTO after the EXISTS */
			imap_search_update_exists(s);
			break;
		case IMAP_SYNC_KEYWORDS:
			/* RFC 9051 7.3.5: a client keeps its list of the
			 * mailbox's flags from the FLAGS response, so a keyword
			 * new to the mailbox is announced (with PERMANENTFLAGS)
			 * before any FETCH that carries it: here, where the view
			 * reports it, after EXISTS and before the flag changes
			 * (store.h). */
			imap_flags_write_flags_responses(s);
			break;
		case IMAP_SYNC_FLAGS:
			/* STORE answers these itself; a change by someone
			 * else must be told even after STORE .SILENT or
			 * FETCH's own \Seen */
			if (skip_own_only ||
			    !imap_session_bitmap_has_msn(skip, skip_count, ev->msn))
				imap_sync_write_flags(s, ev->msn, &ev->msg);
			imap_search_update_flags(s, ev->msn);
			break;
		case IMAP_SYNC_OWN_FLAGS:
			/* STORE / FETCH answer these themselves, or must not
			 * (.SILENT) */
			if (!imap_session_bitmap_has_msn(skip, skip_count, ev->msn))
				imap_sync_write_flags(s, ev->msn, &ev->msg);
			/* the result changes by this session's own STORE too */
			imap_search_update_flags(s, ev->msn);
			break;
		}
	}
	imap_search_update_end(s);
	free(rec->events);
	memset(rec, 0, sizeof(*rec));
}

struct imap_sync_request {
	struct imap_session *s;
	struct store_mailbox *box;
	bool allow_expunges;
	struct imap_sync_record rec;
	int ret;
	void (*then)(void *ctx);
	void *then_ctx;
};

static void imap_sync_request_work(void *ctx)
{
	struct imap_sync_request *req = ctx;
	req->ret = imap_sync_record(req->box, req->allow_expunges, &req->rec);
}

static void imap_sync_request_done(void *ctx)
{
	struct imap_sync_request *req = ctx;
	imap_sync_replay(req->s, req->ret, &req->rec, NULL, 0, false);
	if (req->then != NULL)
		req->then(req->then_ctx);
	free(req);
}

void imap_session_sync_request(struct imap_session *s, bool allow_expunges,
			       void (*then)(void *ctx), void *ctx)
{
	if (s->box == NULL) {
		if (then != NULL)
			then(ctx);
		return;
	}
	struct imap_sync_request *req = xcalloc(1, sizeof(*req));
	req->s = s;
	req->box = s->box;
	req->allow_expunges = allow_expunges;
	req->then = then;
	req->then_ctx = ctx;
	s->box_changed = false;
	imap_session_store_request(s, imap_sync_request_work, imap_sync_request_done, req);
}

static void imap_session_idle_sync_done(void *ctx)
{
	struct imap_session *s = ctx;
	s->idle_sync_running = false;
	/* a change noticed while the sync ran may have come too late for it */
	if (s->idling && s->box_changed)
		imap_session_idle_sync(s);
}

void imap_session_idle_sync(struct imap_session *s)
{
	if (s->notify != NULL) {
		/* RFC 5465 4: "while processing any IDLE command, the server
		 * MUST send exactly the same events as instructed by the
		 * client using the NOTIFY command" */
		imap_notify_kick(s);
		return;
	}
	if (s->closing || s->box == NULL)
		return;
	if (s->idle_sync_running) {
		s->box_changed = true;
		return;
	}
	s->idle_sync_running = true;
	imap_session_sync_request(s, true, imap_session_idle_sync_done, s);
}

void imap_session_sync_skipping(struct imap_session *s, const uint8_t *skip,
				uint32_t skip_count, bool own_only)
{
	struct imap_sync_record rec = { 0 };
	if (s->box == NULL)
		return;
	s->box_changed = false;
	int ret = imap_sync_record(s->box, false, &rec);
	imap_sync_replay(s, ret, &rec, skip, skip_count, own_only);
}

bool imap_session_bitmap_has_msn(const uint8_t *bitmap, uint32_t count,
				 uint32_t msn)
{
	return bitmap != NULL && msn != 0 && msn <= count &&
		(bitmap[(msn - 1) / 8] & (1u << ((msn - 1) % 8))) != 0;
}

void imap_session_bitmap_add_msn(uint8_t *bitmap, uint32_t msn)
{
	assert(msn != 0);
	bitmap[(msn - 1) / 8] |= (uint8_t)(1u << ((msn - 1) % 8));
}

uint32_t imap_session_msn_lower_bound(struct store_mailbox *box, uint32_t uid)
{
	uint32_t lo = 1, hi = store_mailbox_count(box) + 1;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (store_mailbox_msg(box, mid)->uid < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

int imap_session_parse_msns(struct imap_session *s, bool uid, const char *str,
			    struct seqset *msns, const char **error_r)
{
	struct store_mailbox *box = s->box;
	uint32_t count = store_mailbox_count(box);
	struct seqset set = SEQSET_INIT;

	if (imap_search_result_parse_set(box, &s->search_result, str, uid, &set) < 0) {
		*error_r = "Invalid sequence set.";
		return -1;
	}
	for (unsigned int i = 0; i < set.count; i++) {
		uint32_t first = set.ranges[i].seq1, last = set.ranges[i].seq2;
		if (!uid) {
			if (last > count) {
				seqset_deinit(&set);
				seqset_clear(msns);
				*error_r = "Invalid message sequence number.";
				return -1;
			}
		} else {
			first = imap_session_msn_lower_bound(box, first);
			last = last == UINT32_MAX ? count :
				imap_session_msn_lower_bound(box, last + 1) - 1;
			if (first > last)
				continue;
		}
		seqset_add_range(msns, first, last);
	}
	seqset_deinit(&set);
	return 0;
}

/* ---- login ---- */

int imap_session_login(struct imap_session *s, const char *user, bool read_only)
{
	struct store_settings set;
	const char *error;
	store_settings_init(&set, s->config);
	if (store_open(&set, user, &s->store, &error) < 0) {
		log_error("%s: cannot open store of %s: %s", s->log_prefix, user, error);
		return -1;
	}
	s->user = xstrdup(user);
	s->read_only = read_only;
	s->state = IMAP_STATE_AUTH;
	free(s->log_prefix);
	s->log_prefix = xasprintf("imap(%s,%s,%s)", user, net_conn_remote_ip(s->conn),
				  net_conn_id(s->conn));
	imap_parser_set_max_literal_size(s->parser, s->config->max_append_size);
	net_conn_set_idle_timeout(s->conn, s->config->autologout);
	/* no login deadline and no pre-login count from now on */
	net_conn_login_done(s->conn);
	return 0;
}

/* ---- life cycle ---- */

static struct imap_session **all_sessions;
static size_t all_session_count, all_session_cap;

static void imap_session_accept(struct net_conn *conn, const struct roost_config *config)
{
	struct imap_session *s = xcalloc(1, sizeof(*s));
	s->conn = conn;
	s->config = config;
	s->state = IMAP_STATE_NOT_AUTH;
	s->id_seq = ++session_counter;
	s->log_prefix = xasprintf("imap(%s,%s)", net_conn_remote_ip(conn), net_conn_id(conn));
	struct imap_parser_settings pset = {
		.max_line_length = config->max_line_length,
		.max_literal_size = config->max_preauth_literal,
		/* large literals (APPEND) spool next to the mail, not into a
		 * /tmp that may be RAM-backed */
		.temp_dir = config->data_dir,
	};
	s->parser = imap_parser_create(&pset);
	ARRAY_RESERVE(all_sessions, all_session_cap, all_session_count + 1);
	all_sessions[all_session_count++] = s;

	net_conn_set_callbacks(conn, &imap_conn_callbacks, s);
	net_conn_set_low_watermark(conn, IMAP_OUTPUT_LOW_WATER);
	net_conn_set_idle_timeout(conn, config->preauth_timeout);
	log_debug("%s: connected", s->log_prefix);

	struct str line = STR_INIT;
	str_append(&line, "* OK [CAPABILITY ");
	imap_capability_write(s, &line);
	str_append(&line, "] Roost ready.");
	imap_session_write_line(s, &line);
	str_free(&line);
}

static void imap_session_destroy_turn(void *ctx)
{
	(void)ctx;	/* imap_store_request_done() frees the session */
}

/* The connection is gone.  While a store request of the session runs,
 * or the store is another session's, closing the mailbox and the store
 * must wait: the session is freed after its last request. */
static void imap_session_destroy(struct imap_session *s)
{
	for (size_t i = 0; i < all_session_count; i++) {
		if (all_sessions[i] == s) {
			all_sessions[i] = all_sessions[--all_session_count];
			break;
		}
	}
	s->closing = true;
	if (s->store_requests == 0 && (s->store == NULL || !store_request_busy(s->store))) {
		imap_session_free(s);
		return;
	}
	s->destroy_pending = true;
	s->idling = false;
	if (s->release_timer != NULL)
		net_timer_destroy(&s->release_timer);
	if (s->slice_timer != NULL)
		net_timer_destroy(&s->slice_timer);
	net_conn_destroy(&s->conn);
	if (s->store_requests == 0)
		imap_session_store_request(s, NULL, imap_session_destroy_turn, s);
}

static void imap_session_free(struct imap_session *s)
{
	if (s->cmd != NULL) {
		if (s->cmd->abort != NULL)
			s->cmd->abort(s->cmd);
		pool_destroy(&s->cmd->pool);
		s->cmd = NULL;
	}
	imap_notify_free(s);
	imap_session_unselect(s);
	seqset_deinit(&s->search_result);
	if (s->release_timer != NULL)
		net_timer_destroy(&s->release_timer);
	if (s->slice_timer != NULL)
		net_timer_destroy(&s->slice_timer);
	if (s->store != NULL)
		store_close(&s->store);
	imap_parser_destroy(&s->parser);
	net_conn_destroy(&s->conn);
	free(s->user);
	free(s->log_prefix);
	free(s);
}

/* Store requests (store/request.h) run on the worker's job pool. */
static const struct store_executor imap_store_executor = { .submit = net_job_run };

/* Closed stores a worker keeps with their snapshots, so that a client
 * logging in again selects without loading every message (store.h). */
#define IMAP_KEPT_STORES_MAX 64
#define IMAP_KEPT_STORES_BYTES_MAX (64 * 1024 * 1024)

static void imap_worker_init(const struct roost_config *config)
{
	imap_auth_init(config);
	store_request_init(&imap_store_executor, config->store_offload_always);
	store_keep_set_limits(IMAP_KEPT_STORES_MAX, IMAP_KEPT_STORES_BYTES_MAX);
}

static void imap_reload(void)
{
	imap_auth_reload();
}

static void imap_shutdown(void)
{
	/* the worker exits when its sessions are gone: nothing is kept */
	store_keep_set_limits(0, 0);
	/* a copy: a session may go away while we walk the list */
	size_t n = all_session_count;
	if (n == 0)
		return;
	struct imap_session **list = xmemdup(all_sessions, n * sizeof(*list));
	for (size_t i = 0; i < n; i++) {
		struct imap_session *s = list[i];
		if (s->cmd == NULL || s->cmd->raw_line != NULL)
			imap_session_bye(s, "Server shutting down.");
		else
			s->shutting_down = true;
	}
	free(list);
}

/* RFC 9051 7.1.5: BYE as the greeting, when the server is not willing to
 * accept a connection. */
static const char *imap_refusal(enum net_refusal why)
{
	switch (why) {
	case NET_REFUSAL_ADDRESS:
		return "* BYE Too many connections from your address.\r\n";
	case NET_REFUSAL_BUSY:
		break;
	}
	return "* BYE Server too busy; try again later.\r\n";
}

const struct net_protocol imap_protocol = {
	.name = "imap",
	.has_login = true,
	.refusal = imap_refusal,
	.worker_init = imap_worker_init,
	.accept = imap_session_accept,
	.reload = imap_reload,
	.shutdown = imap_shutdown,
};
