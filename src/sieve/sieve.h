/* sieve.h: the Sieve language (RFC 5228 and its extensions): compiling a
 * script and running it against one message.
 *
 * This is the interpreter only.  It never touches the store, a socket or
 * a file: what it needs from the world (whether a mailbox exists, the text
 * of an included script, the duplicate-tracking memory) it asks through
 * the callbacks of struct sieve_env, and what the script decided comes
 * back as a list of actions (struct sieve_result) that the caller carries
 * out.  src/sieve/run.h does that for a delivery (the user's scripts from
 * the store, the compiled-script cache, filing, outgoing mail).
 *
 * A script is validated completely when it is compiled (upload time, RFC
 * 5804 PUTSCRIPT/CHECKSCRIPT); running a compiled script never finds a
 * syntax error.  It can still fail at run time (a limit, a missing
 * include): the result then says so and the caller applies implicit keep
 * (RFC 5228 2.10.6). */
#ifndef ROOST_SIEVE_H
#define ROOST_SIEVE_H

#include "base/base.h"
#include "base/str.h"

#include <time.h>

struct pool;

/* ---- limits (against hostile scripts; all > 0) ---- */

struct sieve_limits {
	size_t max_script_size;		/* bytes of source */
	unsigned int max_nesting;	/* blocks and test lists inside each other */
	unsigned int max_actions;	/* actions one run may collect */
	unsigned int max_redirects;	/* redirect actions per message */
	size_t max_variable_size;	/* bytes of one variable's value */
	unsigned int max_include_depth;	/* include chain (RFC 6609) */
	unsigned int max_cpu_ms;	/* CPU time of one run, includes too */
	size_t max_regex_size;		/* bytes of one :regex pattern */
};

/* The defaults, also those of roost.conf (sieve_max_*). */
void sieve_limits_default(struct sieve_limits *limits_r);

/* ---- compiling ---- */

struct sieve_script;

/* Where a script comes from, for include (RFC 6609 :personal/:global)
 * and for messages. */
enum sieve_location {
	SIEVE_PERSONAL,
	SIEVE_GLOBAL,
};

/* Compiles `len` bytes of `text` named `name` (for messages).  Returns a
 * script (freed with sieve_script_free()) or NULL with the errors, one per
 * line, each "line N: message" (RFC 5228 errors such as an unknown
 * command, a missing require, an extension Roost does not have, a bad
 * argument, a limit), appended to *errors_r.  Includes are not opened here
 * (RFC 6609 3.2: they are found when the script runs); a compiled script
 * never fails to run for a syntax reason. */
struct sieve_script *sieve_compile(const char *name, const char *text, size_t len,
				   const struct sieve_limits *limits, struct str *errors_r);
/* Frees the script; NULL is a no-op.  Sets *script to NULL. */
void sieve_script_free(struct sieve_script **script);

/* The extensions this interpreter implements, space separated, in the
 * form of RFC 5804's SIEVE capability (e.g. "fileinto reject envelope
 * ..."): only what works completely is listed. */
const char *sieve_extensions(void);

/* ---- the message and its delivery ---- */

/* One message as the script sees it.  The bytes stay the caller's and
 * must outlive the run (a mapped spool file is fine). */
struct sieve_message {
	const char *data;	/* the whole message, header and body */
	size_t size;
	/* envelope (RFC 5228 5.4; NULL when not known, e.g. imapsieve) */
	const char *envelope_from;	/* "" for the null sender <> */
	const char *envelope_to;	/* the recipient as given to RCPT TO */
	const char *auth_user;		/* "auth" envelope part, or NULL */
	time_t received;		/* for date's currentdate; 0 = now */
};

/* What the interpreter asks of the world while it runs.  Any callback
 * may be NULL: the matching test then behaves as if nothing exists. */
struct sieve_env {
	void *ctx;
	/* RFC 5490 mailboxexists: 1 if mailbox `name` exists, 0 if not */
	int (*mailbox_exists)(void *ctx, const char *name);
	/* RFC 9042: the MAILBOXID of mailbox `name` into *id_r (a pool
	 * string), 0 if it has none, -1 on error */
	int (*mailbox_id)(void *ctx, const char *name, struct pool *pool, const char **id_r);
	/* RFC 9042 mailboxidexists: 1 if a mailbox has MAILBOXID `id`, 0
	 * if not (NULL: none has) */
	int (*mailbox_id_exists)(void *ctx, const char *id);
	/* RFC 8579 specialuse_exists: 1 if a mailbox has special use `use`
	 * ("\\Junk"), with its name in *name_r if name_r is not NULL */
	int (*special_use)(void *ctx, const char *use, struct pool *pool, const char **name_r);
	/* RFC 6609: the source of script `name` of `where` into *text_r;
	 * 1 found, 0 no such script, -1 error */
	int (*include)(void *ctx, enum sieve_location where, const char *name,
		       struct str *text_r);
	/* RFC 7352 duplicate: 1 if `id` was seen within its period, 0 if not.
	 * The id is only remembered when the caller applies the result
	 * (struct sieve_result.duplicates), so a failed run forgets it. */
	int (*duplicate_seen)(void *ctx, const void *id, size_t id_len);
	/* RFC 5183 environment items Roost knows ("domain", "host",
	 * "location", "name", "phase", "remote-host", "remote-ip",
	 * "version", "imap.*" for imapsieve): the value or NULL */
	const char *(*environment)(void *ctx, const char *item);
	/* the configured spam/virus score headers of RFC 5235 are read by
	 * the interpreter itself; these name them and their scale */
	const char *spam_header;	/* e.g. "X-Spam-Score", or NULL */
	const char *virus_header;	/* e.g. "X-Virus-Scan", or NULL */
	/* the header's score that means "certainly spam" / "infected"
	 * when the value has no "/MAX" (0: 10 and 5); values are numbers
	 * ("5.3", "5.3/10") or runs of '*' (X-Spam-Level) */
	double spam_max;
	double virus_max;
	/* imapsieve (RFC 6785): the cause ("APPEND", "COPY", "FLAG") and the
	 * mailbox; NULL for a delivery */
	const char *imap_cause;
	const char *imap_mailbox;
	/* the user's own addresses, for vacation's :addresses default and
	 * the "never reply to myself" rule (RFC 5230 4.5); NULL-terminated */
	const char *const *user_addresses;
	/* RFC 5233 subaddress: the separators between user and detail in
	 * a local part (any of these characters; the first one found
	 * splits); NULL or "" means "+" */
	const char *subaddress_delimiter;
};

/* ---- the result ---- */

enum sieve_action_kind {
	SIEVE_ACT_KEEP,		/* file into INBOX (explicit or implicit) */
	SIEVE_ACT_FILEINTO,	/* RFC 5228 4.1 */
	SIEVE_ACT_REDIRECT,	/* RFC 5228 4.2 */
	SIEVE_ACT_DISCARD,	/* RFC 5228 4.4 (cancels implicit keep only) */
	SIEVE_ACT_REJECT,	/* RFC 5429 2.2: refuse with an MDN/DSN */
	SIEVE_ACT_EREJECT,	/* RFC 5429 2.1: refuse in the protocol */
	SIEVE_ACT_VACATION,	/* RFC 5230 */
	SIEVE_ACT_NOTIFY,	/* RFC 5435 (method "mailto:" only) */
};

struct sieve_action {
	enum sieve_action_kind kind;
	/* KEEP: true when it is the implicit keep (RFC 5228 2.10.2), not
	 * the script's keep command */
	bool implicit;
	/* KEEP and FILEINTO: the mailbox (modified UTF-7 is not used: the
	 * name is UTF-8 as in the script), :create (RFC 5490), the
	 * imap4flags (RFC 5232 "\\Seen", keywords) to store it with,
	 * :specialuse (RFC 8579) and :mailboxid (RFC 9042) */
	const char *mailbox;
	bool create;
	const char *const *flags;
	size_t flag_count;
	const char *special_use;
	const char *mailbox_id;
	/* REDIRECT: the address; KEEP/FILEINTO/REDIRECT: :copy (RFC 3894)
	 * is folded into implicit keep, not reported */
	const char *address;
	/* REJECT/EREJECT: the reason (UTF-8) */
	const char *reason;
	/* VACATION (RFC 5230 4): the reply to send, if the tracking
	 * memory (keyed by `track_id`) says the sender was not answered
	 * within `period` seconds.  `recipient` is the address to answer
	 * (the return path), `from` the From: to use, `subject`, `body`
	 * (with :mime, a whole MIME entity), `handle`. */
	const char *recipient;
	const char *from;
	const char *subject;
	const char *body;
	bool mime;
	unsigned int period;
	const void *track_id;
	size_t track_id_len;
	const char *handle;	/* :handle as given, or NULL */
	/* NOTIFY: method URI ("mailto:..."), :from, :importance ("1".."3"),
	 * :options, :message */
	const char *method;
	const char *importance;
	const char *message;
};

struct sieve_result {
	struct pool *pool;	/* everything below lives in it */
	struct sieve_action *actions;
	size_t action_count;
	/* the message as the actions must store it: the original bytes, or
	 * (editheader RFC 5293, replace/enclose RFC 5703) a new message in
	 * the pool */
	const char *message;
	size_t message_size;
	bool message_changed;
	/* duplicate ids (RFC 7352) to remember with their periods when the
	 * result is applied */
	struct sieve_duplicate_mark {
		const void *id;
		size_t id_len;
		unsigned int period;
	} *duplicates;
	size_t duplicate_count;
	/* a run-time error (a limit, a missing include, CPU time): the
	 * actions are dropped except implicit keep, and this says why
	 * ("line N: ..."), NULL when the run succeeded */
	const char *error;
};

/* Runs `script` against `msg`.  Fills *result_r (its pool created here,
 * freed by sieve_result_free()).  Returns 0, or -1 when the run failed:
 * result_r->error says why and the only action is a KEEP (RFC 5228
 * 2.10.6).  Never fails for syntax; never blocks on I/O except through
 * env's callbacks. */
int sieve_execute(const struct sieve_script *script, const struct sieve_message *msg,
		  const struct sieve_env *env, const struct sieve_limits *limits,
		  struct sieve_result *result_r);
/* Runs several scripts in turn as one delivery (a global "before"
 * script, the user's, a global "after"): RFC 5228 stop ends only the
 * script it is in, actions accumulate, implicit keep is decided at the
 * end.  `count` > 0. */
int sieve_execute_sequence(const struct sieve_script *const *scripts, size_t count,
			   const struct sieve_message *msg, const struct sieve_env *env,
			   const struct sieve_limits *limits, struct sieve_result *result_r);
void sieve_result_free(struct sieve_result *result);

/* Appends a description of the result for an administrator (`roost sieve
 * test`): one action per line, e.g. "fileinto \"Junk\" :flags \\Seen",
 * "keep (implicit)", "redirect \"a@example.com\"", "discard",
 * "reject \"reason\"", "vacation to \"addr\" :subject \"...\" :seconds N";
 * a run-time error first, as "error: line N: ...".  In quoted strings
 * " and \ are escaped and CR, LF, TAB written \r, \n, \t. */
void sieve_result_describe(const struct sieve_result *result, struct str *dest);

#endif
