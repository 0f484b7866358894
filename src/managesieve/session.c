/* session.c: a ManageSieve connection (RFC 5804): greeting, input,
 * command dispatch, responses, and the net_protocol.
 *
 *   connect --capability greeting--> not authenticated
 *      | STARTTLS (capabilities again after the handshake)
 *      | AUTHENTICATE ... OK                 UNAUTHENTICATE
 *      v                                           ^
 *   authenticated --------------------------------+
 *      | LOGOUT (any state), BYE (too many errors, timeouts, shutdown)
 *      v
 *   closed
 *
 * Commands run one at a time, in order: a command that finishes later (a
 * password check, a store request) pauses the input until it has
 * answered.  This file never touches script files itself: cmd-script.c
 * does, through store/store.h. */
#include "managesieve/session.h"
#include "managesieve-private.h"
#include "auth/auth.h"
#include "auth/sasl.h"
#include "base/log.h"
#include "conf/conf.h"
#include "sieve/run.h"
#include "sieve/sieve.h"
#include "store/request.h"
#include "store/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MANAGESIEVE_INPUT_CHUNK (64 * 1024)
#define MANAGESIEVE_OUTPUT_HIGH_WATER (256 * 1024)
#define MANAGESIEVE_OUTPUT_LOW_WATER (64 * 1024)

static struct managesieve_session **all_sessions;
static size_t all_session_count, all_session_cap;

static void managesieve_session_input(struct managesieve_session *s);
static void managesieve_session_free(struct managesieve_session *s);

/* ---- responses ---- */

void managesieve_string_append(struct str *dest, const char *data, size_t len)
{
	bool quotable = len <= MANAGESIEVE_QUOTED_MAX;
	for (size_t i = 0; i < len && quotable; i++) {
		if (data[i] == '\0' || data[i] == '\r' || data[i] == '\n')
			quotable = false;
	}
	if (!quotable) {
		str_printfa(dest, "{%zu}\r\n", len);
		str_append_n(dest, data, len);
		return;
	}
	str_append_c(dest, '"');
	for (size_t i = 0; i < len; i++) {
		if (data[i] == '"' || data[i] == '\\')
			str_append_c(dest, '\\');
		str_append_c(dest, data[i]);
	}
	str_append_c(dest, '"');
}

void managesieve_reply(struct managesieve_session *s, const char *word, const char *code,
		       const char *text)
{
	if (s->closing)
		return;
	struct str line = STR_INIT;
	str_append(&line, word);
	if (code != NULL)
		str_printfa(&line, " (%s)", code);
	if (text != NULL) {
		str_append_c(&line, ' ');
		managesieve_string_append(&line, text, strlen(text));
	}
	str_append(&line, "\r\n");
	net_conn_write(s->conn, line.data, line.len);
	str_free(&line);
}

void managesieve_session_bye(struct managesieve_session *s, const char *code, const char *text)
{
	if (s->closing)
		return;
	managesieve_reply(s, "BYE", code, text);
	s->closing = true;
	net_conn_close(s->conn);
}

void managesieve_reply_bad(struct managesieve_session *s, const char *text)
{
	/* the last one is answered with BYE alone: a command gets one
	 * final response */
	if (++s->bad_count >= s->config->max_bad_commands)
		managesieve_session_bye(s, NULL, "Too many invalid commands.");
	else
		managesieve_reply(s, "NO", NULL, text);
}

bool managesieve_plaintext_allowed(struct managesieve_session *s)
{
	return auth_plaintext_allowed(s->config, s->conn);
}

/* RFC 5804 1.7: one capability per line, then OK. */
void managesieve_capability_write(struct managesieve_session *s)
{
	struct str out = STR_INIT, mechs = STR_INIT;
	struct sieve_limits limits;
	const char *extensions = sieve_extensions();

	sieve_run_limits(s->config, &limits);
	str_append(&out, "\"IMPLEMENTATION\" \"Roost\"\r\n");
	/* before login: the mechanisms this connection may use now (a
	 * plaintext one only over TLS, as plaintext_auth says); none after */
	if (s->state == MANAGESIEVE_STATE_NOT_AUTH) {
		const char *names[32];
		size_t n = managesieve_auth_mechs(s, names, N_ELEMENTS(names));
		for (size_t i = 0; i < n; i++)
			str_printfa(&mechs, "%s%s", mechs.len > 0 ? " " : "", names[i]);
	}
	str_append(&out, "\"SASL\" ");
	managesieve_string_append(&out, mechs.len > 0 ? mechs.data : "", mechs.len);
	str_append(&out, "\r\n\"SIEVE\" ");
	managesieve_string_append(&out, extensions, strlen(extensions));
	str_append(&out, "\r\n");
	str_printfa(&out, "\"MAXREDIRECTS\" \"%u\"\r\n", limits.max_redirects);
	/* RFC 5804 1.7: NOTIFY lists the methods of the enotify extension */
	const char *p = extensions;
	size_t elen = strlen("enotify");
	while ((p = strstr(p, "enotify")) != NULL) {
		if ((p == extensions || p[-1] == ' ') && (p[elen] == '\0' || p[elen] == ' ')) {
			str_append(&out, "\"NOTIFY\" \"mailto\"\r\n");
			break;
		}
		p += elen;
	}
	if (s->state == MANAGESIEVE_STATE_NOT_AUTH && !net_conn_is_tls(s->conn) &&
	    net_conn_can_starttls(s->conn))
		str_append(&out, "\"STARTTLS\"\r\n");
	if (s->state == MANAGESIEVE_STATE_AUTH) {
		str_append(&out, "\"OWNER\" ");
		managesieve_string_append(&out, s->user, strlen(s->user));
		str_append(&out, "\r\n");
	}
	str_append(&out, "\"UNAUTHENTICATE\"\r\n");
	str_append(&out, "\"VERSION\" \"1.0\"\r\n");
	if (!s->closing)
		net_conn_write(s->conn, out.data, out.len);
	str_free(&out);
	str_free(&mechs);
}

/* ---- the user ---- */

int managesieve_session_login(struct managesieve_session *s, const char *user)
{
	struct store_settings set;
	const char *error;
	store_settings_init(&set, s->config);
	if (store_open(&set, user, &s->store, &error) < 0) {
		log_error("%s: cannot open store of %s: %s", s->log_prefix, user, error);
		return -1;
	}
	s->user = xstrdup(user);
	s->state = MANAGESIEVE_STATE_AUTH;
	free(s->log_prefix);
	s->log_prefix = xasprintf("managesieve(%s,%s,%s)", user, net_conn_remote_ip(s->conn),
				  net_conn_id(s->conn));
	managesieve_parser_set_max_literal_size(s->parser,
						managesieve_script_max_size(s->config));
	net_conn_set_idle_timeout(s->conn, s->config->autologout);
	net_conn_login_done(s->conn);
	return 0;
}

void managesieve_session_logout_user(struct managesieve_session *s)
{
	store_close(&s->store);
	free(s->user);
	s->user = NULL;
	s->state = MANAGESIEVE_STATE_NOT_AUTH;
	free(s->log_prefix);
	s->log_prefix = xasprintf("managesieve(%s,%s)", net_conn_remote_ip(s->conn),
				  net_conn_id(s->conn));
	managesieve_parser_set_max_literal_size(s->parser, s->config->max_preauth_literal);
	net_conn_set_idle_timeout(s->conn, s->config->preauth_timeout);
}

/* ---- commands ---- */

enum command_states {
	IN_NOT_AUTH = 1 << 0,
	IN_AUTH = 1 << 1,
	IN_ANY = IN_NOT_AUTH | IN_AUTH,
};

static bool cmd_capability(struct managesieve_session *s, const struct managesieve_arg *args,
			   size_t count)
{
	(void)args;
	if (count != 0) {
		managesieve_reply_bad(s, "CAPABILITY takes no arguments.");
		return true;
	}
	managesieve_capability_write(s);
	managesieve_reply(s, "OK", NULL, "Capability completed.");
	return true;
}

/* RFC 5804 2.11: NOOP [string]: the string comes back in a TAG code. */
static bool cmd_noop(struct managesieve_session *s, const struct managesieve_arg *args,
		     size_t count)
{
	if (count > 1 || (count == 1 && args[0].type != MANAGESIEVE_ARG_STRING)) {
		managesieve_reply_bad(s, "NOOP takes at most one string.");
		return true;
	}
	if (count == 0) {
		managesieve_reply(s, "OK", NULL, "NOOP completed.");
		return true;
	}
	struct str code = STR_INIT;
	str_append(&code, "TAG ");
	managesieve_string_append(&code, args[0].str, args[0].len);
	managesieve_reply(s, "OK", str_c(&code), "Done");
	str_free(&code);
	return true;
}

static bool cmd_logout(struct managesieve_session *s, const struct managesieve_arg *args,
		       size_t count)
{
	(void)args;
	if (count != 0) {
		managesieve_reply_bad(s, "LOGOUT takes no arguments.");
		return true;
	}
	managesieve_reply(s, "OK", NULL, "Logout completed.");
	s->closing = true;
	net_conn_close(s->conn);
	return true;
}

static const struct managesieve_command {
	const char *name;
	managesieve_command_func *func;
	enum command_states states;
} managesieve_commands[] = {
	{ "CAPABILITY", cmd_capability, IN_ANY },
	{ "NOOP", cmd_noop, IN_ANY },
	{ "LOGOUT", cmd_logout, IN_ANY },
	{ "STARTTLS", managesieve_cmd_starttls, IN_NOT_AUTH },
	{ "AUTHENTICATE", managesieve_cmd_authenticate, IN_NOT_AUTH },
	{ "UNAUTHENTICATE", managesieve_cmd_unauthenticate, IN_AUTH },
	{ "HAVESPACE", managesieve_cmd_havespace, IN_AUTH },
	{ "PUTSCRIPT", managesieve_cmd_putscript, IN_AUTH },
	{ "CHECKSCRIPT", managesieve_cmd_checkscript, IN_AUTH },
	{ "LISTSCRIPTS", managesieve_cmd_listscripts, IN_AUTH },
	{ "SETACTIVE", managesieve_cmd_setactive, IN_AUTH },
	{ "GETSCRIPT", managesieve_cmd_getscript, IN_AUTH },
	{ "DELETESCRIPT", managesieve_cmd_deletescript, IN_AUTH },
	{ "RENAMESCRIPT", managesieve_cmd_renamescript, IN_AUTH },
};

static void managesieve_dispatch(struct managesieve_session *s,
				 const struct managesieve_arg *args, size_t count)
{
	if (s->sasl_waiting) {
		managesieve_auth_response(s, args, count);
		return;
	}
	if (args[0].type != MANAGESIEVE_ARG_ATOM) {
		managesieve_reply_bad(s, "Expected a command name.");
		return;
	}
	const struct managesieve_command *cmd = NULL;
	for (size_t i = 0; i < N_ELEMENTS(managesieve_commands); i++) {
		if (strcasecmp(managesieve_commands[i].name, args[0].str) == 0) {
			cmd = &managesieve_commands[i];
			break;
		}
	}
	if (cmd == NULL) {
		managesieve_reply_bad(s, "Unknown command.");
		return;
	}
	enum command_states now = s->state == MANAGESIEVE_STATE_AUTH ? IN_AUTH : IN_NOT_AUTH;
	if ((cmd->states & now) == 0) {
		managesieve_reply_bad(s, now == IN_AUTH ? "Already authenticated." :
				      "Authenticate first.");
		return;
	}
	s->in_dispatch = true;
	s->cmd_pending = true;
	if (cmd->func(s, args + 1, count - 1))
		s->cmd_pending = false;
	s->in_dispatch = false;
}

void managesieve_session_command_done(struct managesieve_session *s)
{
	s->cmd_pending = false;
	if (s->destroy_pending) {
		managesieve_session_free(s);
		return;
	}
	if (s->in_dispatch)
		return;
	if (s->shutting_down) {
		managesieve_session_bye(s, NULL, "Server shutting down.");
		return;
	}
	net_conn_input_pause(s->conn, false);
	managesieve_session_input(s);
}

/* A command the parser refused. */
static void managesieve_parse_failed(struct managesieve_session *s, const char *error)
{
	const char *name = managesieve_parser_command_name(s->parser);
	if (s->sasl_waiting) {
		managesieve_auth_abort(s);
		managesieve_reply(s, "NO", NULL, error);
		return;
	}
	if (managesieve_parser_error(s->parser) == MANAGESIEVE_PARSE_LITERAL_TOO_BIG &&
	    s->state == MANAGESIEVE_STATE_AUTH &&
	    (strcasecmp(name, "PUTSCRIPT") == 0 || strcasecmp(name, "CHECKSCRIPT") == 0)) {
		/* RFC 5804 2.6: the script is over the size the quota allows;
		 * its bytes are dropped by the parser, never kept */
		managesieve_reply(s, "NO", "QUOTA/MAXSIZE", "Script is too large.");
		return;
	}
	managesieve_reply_bad(s, error);
}

static void managesieve_session_input(struct managesieve_session *s)
{
	if (s->input_busy || s->closing || s->cmd_pending || s->tls_pending)
		return;
	s->input_busy = true;
	while (!s->closing && !s->cmd_pending && !s->tls_pending) {
		if (net_conn_output_len(s->conn) > MANAGESIEVE_OUTPUT_HIGH_WATER) {
			/* resumed by the drained callback */
			net_conn_input_pause(s->conn, true);
			break;
		}
		size_t len, used;
		const unsigned char *data = net_conn_input(s->conn, MANAGESIEVE_INPUT_CHUNK, &len);
		if (len == 0)
			break;
		const struct managesieve_arg *args;
		size_t count;
		const char *error;
		int ret = managesieve_parser_read(s->parser, data, len, &used, &args, &count,
						  &error);
		net_conn_input_skip(s->conn, used);
		if (ret < 0)
			managesieve_parse_failed(s, error);
		else if (ret > 0)
			managesieve_dispatch(s, args, count);
		if (s->cmd_pending)
			net_conn_input_pause(s->conn, true);
	}
	s->input_busy = false;
}

/* ---- connection events ---- */

static void managesieve_session_free(struct managesieve_session *s)
{
	managesieve_auth_abort(s);
	store_close(&s->store);
	managesieve_parser_destroy(&s->parser);
	net_conn_destroy(&s->conn);
	free(s->user);
	free(s->log_prefix);
	free(s);
}

static void managesieve_session_destroy(struct managesieve_session *s)
{
	for (size_t i = 0; i < all_session_count; i++) {
		if (all_sessions[i] == s) {
			all_sessions[i] = all_sessions[--all_session_count];
			break;
		}
	}
	s->closing = true;
	managesieve_auth_abort(s);
	if (s->store_pending) {
		/* a store request holds the session: freed when it is done */
		s->destroy_pending = true;
		net_conn_destroy(&s->conn);
		return;
	}
	managesieve_session_free(s);
}

static void managesieve_conn_input(struct net_conn *conn, void *ctx)
{
	(void)conn;
	managesieve_session_input(ctx);
}

static void managesieve_conn_drained(struct net_conn *conn, void *ctx)
{
	struct managesieve_session *s = ctx;
	if (s->closing || s->cmd_pending || s->tls_pending)
		return;
	net_conn_input_pause(conn, false);
	managesieve_session_input(s);
}

static void managesieve_conn_closed(struct net_conn *conn, void *ctx, const char *reason)
{
	struct managesieve_session *s = ctx;
	(void)conn;
	if (managesieve_parser_is_busy(s->parser))
		log_info("%s: Disconnected in the middle of a command (%s)", s->log_prefix,
			 reason);
	else
		log_info("%s: Disconnected (%s)", s->log_prefix, reason);
	managesieve_session_destroy(s);
}

static void managesieve_conn_tls_ready(struct net_conn *conn, void *ctx)
{
	struct managesieve_session *s = ctx;
	(void)conn;
	s->tls_pending = false;
	/* RFC 5804 2.2: after the handshake the server sends the
	 * capabilities again (the SASL list may have changed) */
	managesieve_capability_write(s);
	managesieve_reply(s, "OK", NULL, "TLS negotiation successful.");
	managesieve_session_input(s);
}

static void managesieve_conn_timeout(struct net_conn *conn, void *ctx)
{
	struct managesieve_session *s = ctx;
	(void)conn;
	log_info("%s: Disconnected for inactivity", s->log_prefix);
	managesieve_reply(s, "BYE", NULL, "Disconnected for inactivity.");
	s->closing = true;
}

static void managesieve_conn_login_timeout(struct net_conn *conn, void *ctx)
{
	struct managesieve_session *s = ctx;
	(void)conn;
	log_info("%s: Login timeout", s->log_prefix);
	managesieve_reply(s, "BYE", NULL, "Login timeout.");
	s->closing = true;
}

static const struct net_conn_callbacks managesieve_conn_callbacks = {
	.input = managesieve_conn_input,
	.drained = managesieve_conn_drained,
	.closed = managesieve_conn_closed,
	.tls_ready = managesieve_conn_tls_ready,
	.timeout = managesieve_conn_timeout,
	.login_timeout = managesieve_conn_login_timeout,
};

/* ---- life cycle ---- */

static void managesieve_session_accept(struct net_conn *conn, const struct roost_config *config)
{
	struct managesieve_session *s = xcalloc(1, sizeof(*s));
	s->conn = conn;
	s->config = config;
	s->state = MANAGESIEVE_STATE_NOT_AUTH;
	s->log_prefix = xasprintf("managesieve(%s,%s)", net_conn_remote_ip(conn),
				  net_conn_id(conn));
	s->parser = managesieve_parser_create(config->max_line_length,
					      config->max_preauth_literal);
	ARRAY_RESERVE(all_sessions, all_session_cap, all_session_count + 1);
	all_sessions[all_session_count++] = s;
	net_conn_set_callbacks(conn, &managesieve_conn_callbacks, s);
	net_conn_set_low_watermark(conn, MANAGESIEVE_OUTPUT_LOW_WATER);
	net_conn_set_idle_timeout(conn, config->preauth_timeout);
	log_debug("%s: connected", s->log_prefix);
	managesieve_capability_write(s);
	managesieve_reply(s, "OK", NULL, "Roost ManageSieve ready.");
}

static const struct store_executor managesieve_store_executor = { .submit = net_job_run };

static void managesieve_worker_init(const struct roost_config *config)
{
	/* the same as imap_worker_init()'s, for a server without IMAP */
	store_request_init(&managesieve_store_executor, config->store_offload_always);
	managesieve_auth_init(config);
}

static void managesieve_shutdown(void)
{
	size_t n = all_session_count;
	if (n == 0)
		return;
	struct managesieve_session **list = xmemdup(all_sessions, n * sizeof(*list));
	for (size_t i = 0; i < n; i++) {
		struct managesieve_session *s = list[i];
		if (s->cmd_pending)
			s->shutting_down = true;
		else
			managesieve_session_bye(s, NULL, "Server shutting down.");
	}
	free(list);
}

/* RFC 5804 1.3: BYE may be the greeting of a server that will not serve. */
static const char *managesieve_refusal(enum net_refusal why)
{
	switch (why) {
	case NET_REFUSAL_ADDRESS:
		return "BYE (TRYLATER) \"Too many connections from your address.\"\r\n";
	case NET_REFUSAL_BUSY:
		break;
	}
	return "BYE (TRYLATER) \"Server too busy; try again later.\"\r\n";
}

const struct net_protocol managesieve_protocol = {
	.name = "managesieve",
	.has_login = true,
	.refusal = managesieve_refusal,
	.worker_init = managesieve_worker_init,
	.accept = managesieve_session_accept,
	.reload = managesieve_auth_reload,
	.shutdown = managesieve_shutdown,
};
