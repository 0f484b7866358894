/* deliver.h: what the LMTP session and `roost deliver` share before a
 * message is stored: recipient resolution (local part, +detail, local
 * domains, the user database) and the trace headers.  Storing, as
 * durable as an IMAP APPEND and through the user's Sieve scripts, is
 * sieve_run_deliver() (sieve/run.h) for both. */
#ifndef ROOST_LMTP_DELIVER_H
#define ROOST_LMTP_DELIVER_H

#include "base/base.h"
#include "base/str.h"
#include "lmtp/parser.h"
#include "store/store.h"

#include <time.h>

struct auth;
struct roost_config;

/* A recipient resolved to a user of the database. */
struct lmtp_recipient {
	char user[LMTP_ADDRESS_MAX * 2 + 2];	/* as in the user database */
	char detail[LMTP_ADDRESS_MAX + 1];	/* "" if none */
};

/* Resolves local@domain (domain "" for a bare name): the detail is split
 * off at config->recipient_delimiter; a domain outside
 * config->lmtp_local_domains (when set) is not ours; then "user@domain"
 * and, failing that, "user" (and "local" when it holds the delimiter)
 * are looked up in the user database with auth_user_lookup(), which
 * names the canonical user (an LDAP directory maps a mail address or
 * alias to its account): rcpt->user is that name.
 *
 * callback(ret, rcpt, ctx): ret 1 with the recipient, 0 if there is no
 * such user, -2 if the domain is not local, -1 if the database cannot
 * answer (a temporary failure); `rcpt` is valid during the call only.
 * With a worker loop the callback comes later, from the loop, and the
 * running resolution is returned (cancel it with
 * lmtp_deliver_resolve_abort()); without one (roost deliver) it is
 * called before this returns NULL. */
struct lmtp_resolve;
typedef void lmtp_resolve_callback(int ret, const struct lmtp_recipient *rcpt, void *ctx);
struct lmtp_resolve *lmtp_deliver_resolve(struct auth *auth, const struct roost_config *config,
					  const char *local, const char *domain,
					  lmtp_resolve_callback *callback, void *ctx);
/* The callback will not be called.  Sets *resolve to NULL; NULL is a
 * no-op. */
void lmtp_deliver_resolve_abort(struct lmtp_resolve **resolve);

/* Appends the trace headers of one delivery to dest:
 *   Return-Path: <sender>
 *   Delivered-To: <recipient>
 *   Received: from HELO ([IP]) by HOST (Roost) with LMTP id ID for <rcpt>; DATE
 * (the Received line only when `helo` is not NULL; `with` is "LMTP" or
 * "LMTPA" etc.).  With `recipient` NULL (one copy shared by several
 * recipients) there is no Delivered-To line and no "for" clause: RFC 5321
 * 7.2, the FOR clause "should be supplied with caution or not at all when
 * multiple recipients are involved lest it inadvertently disclose the
 * identities of 'blind copy' recipients to others", and a shared
 * Delivered-To would do the same.  Lines end in CRLF. */
void lmtp_deliver_trace_headers(struct str *dest, const char *sender,
				const char *recipient, const char *helo,
				const char *remote_ip, const char *with, const char *id,
				time_t now);

/* The mailbox a +detail names, if delivery there is enabled and the
 * detail is a usable mailbox name; NULL for INBOX. */
const char *lmtp_deliver_detail_mailbox(const struct roost_config *config,
					const struct lmtp_recipient *rcpt);

#endif
