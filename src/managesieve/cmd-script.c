/* cmd-script.c: the commands on a user's scripts (RFC 5804 2.3 - 2.12):
 * HAVESPACE, PUTSCRIPT, CHECKSCRIPT, LISTSCRIPTS, SETACTIVE, GETSCRIPT,
 * DELETESCRIPT, RENAMESCRIPT.
 *
 * Scripts are compiled (sieve_compile()) before they are stored, so the
 * store never holds one that fails to compile.  The quota (count of
 * scripts, their total size: managesieve_max_scripts and
 * managesieve_max_storage) is checked here; a script over the size limit
 * never reaches memory (the parser drops its literal).  The store calls
 * of a command run in the store's turn (store/request.h), since the
 * user's IMAP sessions in this worker may share the store. */
#include "managesieve-private.h"
#include "base/log.h"
#include "conf/conf.h"
#include "sieve/sieve.h"
#include "store/request.h"
#include "store/store.h"

#include <stdlib.h>
#include <string.h>

void managesieve_sieve_limits(const struct roost_config *config, struct sieve_limits *limits_r)
{
	sieve_limits_default(limits_r);
	limits_r->max_script_size = config->sieve_max_script_size;
	limits_r->max_nesting = config->sieve_max_nesting;
	limits_r->max_actions = config->sieve_max_actions;
	limits_r->max_redirects = config->sieve_max_redirects;
	limits_r->max_variable_size = config->sieve_max_variable_size;
	limits_r->max_include_depth = config->sieve_max_include_depth;
	limits_r->max_cpu_ms = config->sieve_max_cpu_time;
}

uint64_t managesieve_script_max_size(const struct roost_config *config)
{
	uint64_t max = config->sieve_max_script_size;
	if (config->managesieve_max_storage != 0 && config->managesieve_max_storage < max)
		max = config->managesieve_max_storage;
	return max;
}

/* ---- answers ---- */

/* NO for the store's last error, with the RFC 5804 1.3 response code
 * that matches its class. */
static void reply_store_error(struct managesieve_session *s)
{
	enum store_error error;
	const char *text = store_last_error(s->store, &error);
	const char *code = NULL;
	switch (error) {
	case STORE_ERR_NOTFOUND: code = "NONEXISTENT"; break;
	case STORE_ERR_EXISTS: code = "ALREADYEXISTS"; break;
	case STORE_ERR_INUSE: code = "ACTIVE"; break;
	case STORE_ERR_NOSPACE: code = "QUOTA"; break;
	case STORE_ERR_TEMP:
	case STORE_ERR_BUSY: code = "TRYLATER"; break;
	default: break;
	}
	managesieve_reply(s, "NO", code, text);
}

/* ---- the store's turn ---- */

static void store_turn_done(void *ctx)
{
	struct managesieve_session *s = ctx;
	s->store_pending = false;
	if (!s->destroy_pending)
		s->store_turn(s);
	managesieve_session_command_done(s);
}

/* Runs turn(s) when the store is free (at once for a store nobody
 * else is using); returns what a handler returns. */
static bool run_in_store_turn(struct managesieve_session *s, const struct managesieve_arg *args,
			      size_t count, void (*turn)(struct managesieve_session *s))
{
	s->store_turn = turn;
	s->store_args = args;
	s->store_arg_count = count;
	s->store_pending = true;
	store_request_run(s->store, NULL, store_turn_done, s);
	return false;
}

/* ---- arguments ---- */

static bool arg_is_string(const struct managesieve_arg *arg)
{
	return arg->type == MANAGESIEVE_ARG_STRING;
}

/* A script name argument: a valid name, else NO and false. */
static bool check_name(struct managesieve_session *s, const struct managesieve_arg *arg)
{
	if (strlen(arg->str) == arg->len && store_sieve_name_is_valid(arg->str))
		return true;
	managesieve_reply(s, "NO", NULL, "Invalid script name.");
	return false;
}

/* number = (NZDIGIT *DIGIT) / "0", a 32-bit unsigned number */
static bool arg_get_number(const struct managesieve_arg *arg, uint64_t *num_r)
{
	return arg->type == MANAGESIEVE_ARG_ATOM &&
		str_to_u64(arg->str, UINT32_MAX, num_r) == 0 &&
		(arg->str[0] != '0' || arg->len == 1);
}

/* ---- quota ---- */

/* Whether a script `name` of `size` octets may be stored, replacing the
 * one of that name: else answers NO with the QUOTA code and returns
 * false (true on a store error too, which the put then meets). */
static bool quota_check(struct managesieve_session *s, const char *name, uint64_t size)
{
	const struct roost_config *config = s->config;
	struct store_sieve_info *infos;
	size_t count;

	if (size > managesieve_script_max_size(config)) {
		managesieve_reply(s, "NO", "QUOTA/MAXSIZE", "Script is too large.");
		return false;
	}
	if (store_sieve_list(s->store, &infos, &count) < 0) {
		reply_store_error(s);
		return false;
	}
	uint64_t total = 0, replaced = 0;
	bool exists = false;
	for (size_t i = 0; i < count; i++) {
		total += infos[i].size;
		if (strcmp(infos[i].name, name) == 0) {
			exists = true;
			replaced = infos[i].size;
		}
	}
	free(infos);
	if (!exists && config->managesieve_max_scripts != 0 &&
	    count + 1 > config->managesieve_max_scripts) {
		managesieve_reply(s, "NO", "QUOTA/MAXSCRIPTS", "Too many scripts.");
		return false;
	}
	if (config->managesieve_max_storage != 0 &&
	    total - replaced + size > config->managesieve_max_storage) {
		managesieve_reply(s, "NO", "QUOTA", "Not enough room for the script.");
		return false;
	}
	return true;
}

/* ---- compiling ---- */

/* Compiles the script: true if it is valid, else answers NO with the
 * errors and returns false. */
static bool script_check(struct managesieve_session *s, const char *name,
			 const struct managesieve_arg *script)
{
	struct sieve_limits limits;
	struct str errors = STR_INIT;

	managesieve_sieve_limits(s->config, &limits);
	struct sieve_script *compiled = sieve_compile(name, script->str, script->len, &limits,
						      &errors);
	if (compiled != NULL) {
		sieve_script_free(&compiled);
		str_free(&errors);
		return true;
	}
	/* the errors, one per line, as one string (RFC 5804 2.6: a
	 * multi-line literal) */
	while (errors.len > 0 && (errors.data[errors.len - 1] == '\n' ||
				  errors.data[errors.len - 1] == '\r'))
		str_truncate(&errors, errors.len - 1);
	managesieve_reply(s, "NO", NULL, errors.len > 0 ? str_c(&errors) : "Invalid script.");
	str_free(&errors);
	return false;
}

/* ---- HAVESPACE ---- */

static void havespace_turn(struct managesieve_session *s)
{
	uint64_t size;
	(void)arg_get_number(&s->store_args[1], &size);
	if (quota_check(s, s->store_args[0].str, size))
		managesieve_reply(s, "OK", NULL, "Putscript would succeed.");
}

/* command-havespace = "HAVESPACE" SP sieve-name SP number */
bool managesieve_cmd_havespace(struct managesieve_session *s, const struct managesieve_arg *args,
			       size_t count)
{
	uint64_t size;
	if (count != 2 || !arg_is_string(&args[0]) || !arg_get_number(&args[1], &size)) {
		managesieve_reply_bad(s, "HAVESPACE expects a script name and a size.");
		return true;
	}
	if (!check_name(s, &args[0]))
		return true;
	return run_in_store_turn(s, args, count, havespace_turn);
}

/* ---- PUTSCRIPT, CHECKSCRIPT ---- */

static void putscript_turn(struct managesieve_session *s)
{
	const struct managesieve_arg *name = &s->store_args[0], *script = &s->store_args[1];
	if (!quota_check(s, name->str, script->len))
		return;
	if (store_sieve_put(s->store, name->str, script->str, script->len) < 0) {
		reply_store_error(s);
		return;
	}
	log_info("%s: Stored script \"%s\" (%zu bytes)", s->log_prefix, name->str, script->len);
	managesieve_reply(s, "OK", NULL, "Putscript completed.");
}

/* command-putscript = "PUTSCRIPT" SP sieve-name SP sieve-script */
bool managesieve_cmd_putscript(struct managesieve_session *s, const struct managesieve_arg *args,
			       size_t count)
{
	if (count != 2 || !arg_is_string(&args[0]) || !arg_is_string(&args[1])) {
		managesieve_reply_bad(s, "PUTSCRIPT expects a script name and a script.");
		return true;
	}
	if (!check_name(s, &args[0]))
		return true;
	if (args[1].len > managesieve_script_max_size(s->config)) {
		managesieve_reply(s, "NO", "QUOTA/MAXSIZE", "Script is too large.");
		return true;
	}
	if (!script_check(s, args[0].str, &args[1]))
		return true;
	return run_in_store_turn(s, args, count, putscript_turn);
}

/* command-checkscript = "CHECKSCRIPT" SP sieve-script */
bool managesieve_cmd_checkscript(struct managesieve_session *s,
				 const struct managesieve_arg *args, size_t count)
{
	if (count != 1 || !arg_is_string(&args[0])) {
		managesieve_reply_bad(s, "CHECKSCRIPT expects a script.");
		return true;
	}
	if (args[0].len > managesieve_script_max_size(s->config)) {
		managesieve_reply(s, "NO", "QUOTA/MAXSIZE", "Script is too large.");
		return true;
	}
	if (script_check(s, "checkscript", &args[0]))
		managesieve_reply(s, "OK", NULL, "Script is valid.");
	return true;
}

/* ---- LISTSCRIPTS ---- */

static void listscripts_turn(struct managesieve_session *s)
{
	struct store_sieve_info *infos;
	size_t count;
	if (store_sieve_list(s->store, &infos, &count) < 0) {
		reply_store_error(s);
		return;
	}
	/* response-listscripts = *(sieve-name [SP "ACTIVE"] CRLF) response-oknobye */
	struct str out = STR_INIT;
	for (size_t i = 0; i < count; i++) {
		managesieve_string_append(&out, infos[i].name, strlen(infos[i].name));
		str_append(&out, infos[i].active ? " ACTIVE\r\n" : "\r\n");
	}
	free(infos);
	if (out.len > 0)
		net_conn_write(s->conn, out.data, out.len);
	str_free(&out);
	managesieve_reply(s, "OK", NULL, "Listscripts completed.");
}

/* command-listscripts = "LISTSCRIPTS" */
bool managesieve_cmd_listscripts(struct managesieve_session *s,
				 const struct managesieve_arg *args, size_t count)
{
	if (count != 0) {
		managesieve_reply_bad(s, "LISTSCRIPTS takes no arguments.");
		return true;
	}
	return run_in_store_turn(s, args, count, listscripts_turn);
}

/* ---- SETACTIVE ---- */

static void setactive_turn(struct managesieve_session *s)
{
	const struct managesieve_arg *name = &s->store_args[0];
	if (store_sieve_activate(s->store, name->len == 0 ? NULL : name->str) < 0) {
		reply_store_error(s);
		return;
	}
	managesieve_reply(s, "OK", NULL, name->len == 0 ? "No script is active now." :
			  "Setactive completed.");
}

/* command-setactive = "SETACTIVE" SP active-sieve-name ("" = none) */
bool managesieve_cmd_setactive(struct managesieve_session *s, const struct managesieve_arg *args,
			       size_t count)
{
	if (count != 1 || !arg_is_string(&args[0])) {
		managesieve_reply_bad(s, "SETACTIVE expects a script name.");
		return true;
	}
	if (args[0].len > 0 && !check_name(s, &args[0]))
		return true;
	return run_in_store_turn(s, args, count, setactive_turn);
}

/* ---- GETSCRIPT ---- */

static void getscript_turn(struct managesieve_session *s)
{
	struct str text = STR_INIT;
	if (store_sieve_get(s->store, s->store_args[0].str, &text, NULL) < 0) {
		str_free(&text);
		reply_store_error(s);
		return;
	}
	/* response-getscript = sieve-script CRLF response-ok; always a
	 * literal, whatever the script holds */
	struct str out = STR_INIT;
	str_printfa(&out, "{%zu}\r\n", text.len);
	str_append_n(&out, text.len > 0 ? text.data : "", text.len);
	str_append(&out, "\r\n");
	net_conn_write(s->conn, out.data, out.len);
	str_free(&out);
	str_free(&text);
	managesieve_reply(s, "OK", NULL, "Getscript completed.");
}

/* command-getscript = "GETSCRIPT" SP sieve-name */
bool managesieve_cmd_getscript(struct managesieve_session *s, const struct managesieve_arg *args,
			       size_t count)
{
	if (count != 1 || !arg_is_string(&args[0])) {
		managesieve_reply_bad(s, "GETSCRIPT expects a script name.");
		return true;
	}
	if (!check_name(s, &args[0]))
		return true;
	return run_in_store_turn(s, args, count, getscript_turn);
}

/* ---- DELETESCRIPT ---- */

static void deletescript_turn(struct managesieve_session *s)
{
	if (store_sieve_delete(s->store, s->store_args[0].str) < 0) {
		reply_store_error(s);
		return;
	}
	managesieve_reply(s, "OK", NULL, "Deletescript completed.");
}

/* command-deletescript = "DELETESCRIPT" SP sieve-name */
bool managesieve_cmd_deletescript(struct managesieve_session *s,
				  const struct managesieve_arg *args, size_t count)
{
	if (count != 1 || !arg_is_string(&args[0])) {
		managesieve_reply_bad(s, "DELETESCRIPT expects a script name.");
		return true;
	}
	if (!check_name(s, &args[0]))
		return true;
	return run_in_store_turn(s, args, count, deletescript_turn);
}

/* ---- RENAMESCRIPT ---- */

static void renamescript_turn(struct managesieve_session *s)
{
	if (store_sieve_rename(s->store, s->store_args[0].str, s->store_args[1].str) < 0) {
		reply_store_error(s);
		return;
	}
	managesieve_reply(s, "OK", NULL, "Renamescript completed.");
}

/* command-renamescript = "RENAMESCRIPT" SP old-sieve-name SP new-sieve-name */
bool managesieve_cmd_renamescript(struct managesieve_session *s,
				  const struct managesieve_arg *args, size_t count)
{
	if (count != 2 || !arg_is_string(&args[0]) || !arg_is_string(&args[1])) {
		managesieve_reply_bad(s, "RENAMESCRIPT expects two script names.");
		return true;
	}
	if (!check_name(s, &args[0]) || !check_name(s, &args[1]))
		return true;
	return run_in_store_turn(s, args, count, renamescript_turn);
}
