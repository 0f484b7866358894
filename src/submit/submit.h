/* submit.h: outgoing mail, for what Sieve sends (RFC 5228 redirect, RFC
 * 5230 vacation, RFC 5429 reject and ereject, RFC 5435/5436 notify
 * mailto).
 *
 * Three parts, all of plain strings and buffers (nothing here knows the
 * Sieve interpreter, a store or a connection):
 *   - submit_send(): hands one message to the MTA, over SMTP to
 *     `submission_host` or through `sendmail_path` (send.c, smtp.c,
 *     sendmail.c).  It blocks (for up to submission_timeout per step):
 *     call it on a job thread, never on the event loop.
 *   - the rules of RFC 3834 and RFC 5230 4.5/4.6 on when an automatic
 *     reply may be sent, and redirect's loop protection (autoreply.c);
 *   - composers of complete RFC 5322 messages with CRLF line ends: the
 *     vacation reply, the reject MDN, the reject DSN, the notify mailto
 *     message, and the redirected copy (compose.c, report.c).
 *
 * "The header" of a message is its raw header block as stored (the
 * bytes before the empty line; the empty line itself may be included),
 * with LF or CRLF line ends and folded fields.  Addresses are addr-specs
 * without angle brackets ("user@example.org"); the empty string is the
 * null reverse path <>. */
#ifndef ROOST_SUBMIT_H
#define ROOST_SUBMIT_H

#include "base/base.h"
#include "base/str.h"
#include "conf/conf.h"

#include <time.h>

/* ---- send.c: handing a message to the MTA ---- */

enum submit_error {
	SUBMIT_ERR_NONE,
	/* neither submission_host nor sendmail_path is set: nothing was
	 * sent (the envelope was logged) */
	SUBMIT_ERR_NOT_CONFIGURED,
	/* worth trying again later: a 4xx reply, no connection, a
	 * timeout, a TLS failure, sendmail's EX_TEMPFAIL (75) or a signal */
	SUBMIT_ERR_TEMP,
	/* the MTA refused for good: a 5xx reply, a bad address, another
	 * sendmail exit status */
	SUBMIT_ERR_PERM,
};

/* Whether outgoing mail goes anywhere (submission_host or sendmail_path
 * set).  A caller whose action would lose the message when nothing is
 * sent (redirect without :copy) checks this and keeps the message. */
bool submit_is_configured(const struct roost_config *conf);

/* Sends msg[0..len) (a complete message; lines may end in LF, CRLF or
 * a CR alone) from envelope sender `sender` ("" for <>) to
 * rcpts[0..rcpt_count) (at least one; every address must pass
 * submit_address_is_valid(), else SUBMIT_ERR_PERM and nothing is
 * tried).  With submission_host set it speaks SMTP to it (RFC 5321:
 * EHLO, STARTTLS as submission_tls says (RFC 3207), AUTH PLAIN when
 * submission_user is set (RFC 4954; only over TLS or to a loopback
 * peer), MAIL FROM, one RCPT TO per recipient with NOTIFY=NEVER when the
 * sender is <> and the server has DSN (RFC 3461), DATA with dot-stuffing
 * and CRLF line ends, QUIT); otherwise it runs sendmail_path as
 * `sendmail_path -i -f SENDER -- RCPT...` (SENDER "<>" for the null
 * sender) with the message on its standard input (LF line ends) and
 * checks its exit status; with neither set it logs the envelope and
 * sends nothing (SUBMIT_ERR_NOT_CONFIGURED).  All or nothing: if any
 * recipient is refused, the message goes to none of them.  Each step
 * waits at most submission_timeout seconds (sendmail_path runs at most
 * that long in all).  SIGPIPE is blocked in the calling thread while it
 * runs.  Logs one line per message sent.
 *
 * Returns 0 when the MTA accepted the message for every recipient, or
 * -1 with *error_class_r and *error_r (xmalloc'd, the caller frees it;
 * it names the server or program and the command, and quotes the reply
 * or the program's error output, never a password). */
int submit_send(const struct roost_config *conf, const char *sender,
		const char *const *rcpts, size_t rcpt_count, const void *msg, size_t len,
		enum submit_error *error_class_r, char **error_r);

/* Whether addr may be given to the MTA as an envelope address: 1 to 254
 * bytes, none of them a space, a control, DEL or one of < > " , ( ) [ ]
 * ; : and the backslash (bytes above 127 are allowed: RFC 6531), not
 * starting with '-', with one '@' that is neither first nor last. */
bool submit_address_is_valid(const char *addr);

/* ---- header.c: reading the fields of a raw header ---- */

struct submit_header_iter {
	const char *p, *end;
};

/* Starts iterating the fields of header[0..len) (it stops at the empty
 * line that ends a header, if there is one). */
void submit_header_init(struct submit_header_iter *iter, const void *header, size_t len);
/* The next field: its name in *name_r and *name_len_r (pointing into the
 * header) and its value unfolded (CR and LF of the folds removed, a CR
 * alone made a space: the value has neither), white space trimmed at
 * both ends, in `value` (emptied first).  Returns 1, or
 * 0 when there are no more fields.  A line without ':' is skipped. */
int submit_header_next(struct submit_header_iter *iter, const char **name_r,
		       size_t *name_len_r, struct str *value);
/* The value of the first field `name` (case-insensitive) in `value`, as
 * submit_header_next() gives it.  1 if found, 0 if not (value empty). */
int submit_header_get(const void *header, size_t len, const char *name, struct str *value);

/* ---- autoreply.c: RFC 3834 and loop protection ---- */

/* Whether an automatic reply (vacation, a reject MDN or DSN) may be sent
 * for the message with this header and envelope sender `sender` ("" or
 * NULL for <>) on behalf of a user whose addresses are
 * user_addrs[0..user_addr_count).  false with *reason_r (static text for
 * the log) when:
 *   - the sender is <> or NULL (RFC 3834 2: never reply to a null
 *     address; RFC 5429 2.2.1 and RFC 3464: no MDN or DSN for it);
 *   - the sender's local part is MAILER-DAEMON, LISTSERV, majordomo,
 *     owner-* or *-request (RFC 3834 2, RFC 5230 4.6), in any case;
 *   - the sender is one of the user's addresses (an answer to oneself);
 *   - Auto-Submitted is present with a value other than "no" (RFC 3834
 *     2 and 5, RFC 5230 4.6);
 *   - Precedence is bulk, list or junk (RFC 3834 2: "MAY refuse");
 *   - there is a List-Id (RFC 2919) or a List-Help, List-Subscribe,
 *     List-Unsubscribe, List-Post, List-Owner or List-Archive (RFC 2369)
 *     field (RFC 5230 4.6);
 *   - X-Auto-Response-Suppress names All, OOF or AutoReply (Microsoft's
 *     equivalent of Auto-Submitted);
 *   - X-Loop names one of the user's addresses (a loop marker that
 *     procmail-style filters add).
 * Addresses compare case-insensitively. */
bool submit_autoreply_is_allowed(const void *header, size_t len, const char *sender,
				 const char *const *user_addrs, size_t user_addr_count,
				 const char **reason_r);

/* Whether one of addrs[0..count) appears in the To, Cc, Bcc, Resent-To,
 * Resent-Cc or Resent-Bcc field of the header (RFC 5230 4.5 and RFC 3834
 * 2: a vacation reply only to mail addressed to the user).  Addresses
 * compare case-insensitively. */
bool submit_autoreply_is_addressed(const void *header, size_t len,
				   const char *const *addrs, size_t count);

#define SUBMIT_REDIRECT_FIELD "X-Sieve-Redirected-From"

/* Redirect's loop protection.  A redirected copy carries, above the
 * original header, "X-Sieve-Redirected-From: ADDRESS" for the user whose
 * script redirected it (the field Pigeonhole adds, so that Roost and
 * Dovecot recognise each other's copies).  A message that already
 * carries that field with one of the user's addresses has been through
 * this user's redirect before: redirecting it again would loop.
 * Returns whether such a field is in the header. */
bool submit_redirect_is_loop(const void *header, size_t len,
			     const char *const *user_addrs, size_t user_addr_count);

/* ---- compose.c: complete messages (CRLF line ends) ---- */

/* What every composed message has.  hostname: the right-hand side of the
 * Message-ID and the Reporting-MTA/UA (NULL: this host's name); date:
 * the Date field (0: now). */
struct submit_origin {
	const char *hostname;
	time_t date;
};

/* Appends msg[0..len) to dest as the redirected copy: the loop
 * protection field of submit_redirect_is_loop() for user_addr on top,
 * then the message unchanged but for its line ends, made CRLF. */
void submit_redirect_compose(struct str *dest, const char *user_addr, const void *msg,
			     size_t len);

/* RFC 5230 5's vacation reply to the message with header orig[0..len):
 *   From: `from` (an RFC 5322 mailbox, e.g. the :from argument, used as
 *         given, or the user's address);
 *   To: `to` (the address the reply goes to: the original's envelope
 *       sender, RFC 5230 5.5 and RFC 3834 4);
 *   Subject: `subject` (UTF-8; NULL: "Auto: " and the original's
 *            subject decoded, or "Automated reply" without one, RFC 5230
 *            5.3), RFC 2047-encoded when not ASCII (RFC 5230 4.3);
 *   In-Reply-To and References: the original's Message-ID, References
 *       after its own References (or In-Reply-To) as RFC 5322 3.6.4
 *       says (RFC 5230 5.8), left out when it has none;
 *   Auto-Submitted: auto-replied (RFC 3834 5, RFC 5230 5.6);
 *   Date, Message-ID, MIME-Version;
 *   the body: with `mime`, `reason` is a MIME entity (its header fields,
 *   an empty line, its content) used as given (RFC 5230 4.4); else
 *   text/plain; charset=utf-8, 8bit when not ASCII. */
struct submit_vacation {
	const void *orig_header;
	size_t orig_header_len;
	const char *from, *to;
	const char *subject;
	const char *reason;
	bool mime;
};
void submit_vacation_compose(struct str *dest, const struct submit_vacation *vacation,
			     const struct submit_origin *origin);

/* RFC 5436's notification message:
 *   From: `from`; To: to[0..to_count) (the mailto URI's addresses),
 *   Cc: cc[0..cc_count) when any;
 *   Subject: `subject` (the :message text or the URI's subject, UTF-8),
 *            or NULL: the triggering message's subject (RFC 5436 2.7);
 *   Auto-Submitted: auto-notified; owner-email="OWNER" (RFC 5436 2.7.1);
 *   References: the triggering message's Message-ID, when it has one;
 *   Importance (RFC 2156): high for importance 1, low for 3, none for 2
 *     or 0;
 *   headers[0..header_count): other fields of the URI as "Name" and
 *     value, except those RFC 5436 2.7 says to ignore (From, To, Cc, Bcc,
 *     Auto-Submitted, Received, Message-ID, Date, Subject, Body, and any
 *     field the composer writes itself);
 *   the body: `body` (the URI's body) or a short text naming the
 *   triggering message's sender and subject; text/plain, UTF-8. */
struct submit_header_field {
	const char *name, *value;
};
struct submit_notify {
	const void *orig_header;
	size_t orig_header_len;
	const char *from, *owner;
	const char *const *to;
	size_t to_count;
	const char *const *cc;
	size_t cc_count;
	const char *subject;
	unsigned int importance;
	const struct submit_header_field *headers;
	size_t header_count;
	const char *body;
};
void submit_notify_compose(struct str *dest, const struct submit_notify *notify,
			   const struct submit_origin *origin);

/* ---- report.c: the reject MDN (RFC 5429 2.2.1, RFC 8098) and DSN
 * (RFC 5429 2.1.2, RFC 3464), multipart/report (RFC 6522) ----
 *
 * Both are sent from <> (RFC 8098 3, RFC 3464 2) to the original's
 * envelope sender `to`, and carry the original's header as a third part
 * (text/rfc822-headers), not its body. */
struct submit_reject {
	const void *orig_header;
	size_t orig_header_len;
	/* the user: From of the MDN, Final-Recipient of both */
	const char *user;
	/* the original recipient as the sender gave it (RFC 3461 ORCPT, or
	 * the Original-Recipient field); NULL when not known */
	const char *original_recipient;
	/* the original's envelope sender: the report's To */
	const char *to;
	/* the script's reason (UTF-8) */
	const char *reason;
};
/* The MDN: "Disposition: automatic-action/MDN-sent-automatically;
 * deleted", the human part quoting the reason. */
void submit_reject_mdn_compose(struct str *dest, const struct submit_reject *reject,
			       const struct submit_origin *origin);
/* The DSN: Action: failed, Status: 5.7.1, from MAILER-DAEMON@hostname,
 * the human part quoting the reason (RFC 5429 2.1.2). */
void submit_reject_dsn_compose(struct str *dest, const struct submit_reject *reject,
			       const struct submit_origin *origin);

#endif
