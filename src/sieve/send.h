/* send.h: the outgoing mail of a Sieve result for one delivery: redirect
 * (RFC 5228 4.2), reject (RFC 5429 2.2, an MDN), vacation (RFC 5230) and
 * notify's mailto method (RFC 5436), all through submit.h with its RFC
 * 3834 rules (nothing to <>, to auto-submitted mail, to lists, to
 * MAILER-DAEMON) and redirect loop protection.
 *
 * Sending never decides whether the message is kept: it says what could
 * not be sent and apply.c keeps the message then. */
#ifndef ROOST_SIEVE_SEND_H
#define ROOST_SIEVE_SEND_H

#include "sieve/apply.h"

/* Sends the mail of every REDIRECT, REJECT, VACATION and NOTIFY action
 * of `result` for delivery `d`.
 * A vacation reply goes only when the tracking memory says the sender
 * was not answered within the action's period, and is remembered once
 * sent.  Failures are logged.  Returns how many redirects and rejects
 * could not be sent (their message must then be kept), 0 when all went
 * or were rightly not sent (a reject to <>). */
int sieve_send_actions(const struct sieve_delivery *d, const struct sieve_result *result,
		       const struct sieve_apply_env *env);

#endif
