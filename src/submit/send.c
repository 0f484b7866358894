/* send.c: submit_send(), which checks the envelope and hands the message
 * to smtp.c (submission_host) or sendmail.c (sendmail_path), or logs it
 * when neither is set.  Blocking: job threads only. */
#include "submit/submit-private.h"
#include "base/log.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* RFC 5321 4.5.3.1.3: a path is at most 256 octets with its brackets */
#define SUBMIT_ADDRESS_MAX 254

bool submit_is_configured(const struct roost_config *conf)
{
	return conf->submission_host[0] != '\0' || conf->sendmail_path[0] != '\0';
}

bool submit_address_is_valid(const char *addr)
{
	const char *at = strrchr(addr, '@');
	size_t len = strlen(addr);

	if (len == 0 || len > SUBMIT_ADDRESS_MAX || at == NULL || at == addr || at[1] == '\0' ||
	    strchr(addr, '@') != at || addr[0] == '-')
		return false;
	for (const unsigned char *p = (const unsigned char *)addr; *p != '\0'; p++) {
		if (*p <= ' ' || *p == 0x7f || strchr("<>\",\\()[];:", *p) != NULL)
			return false;
	}
	return true;
}

/* The pending SIGPIPE of this thread, if a write raised one while it was
 * blocked, is taken so that it does not fire when unblocked. */
static void sigpipe_restore(const sigset_t *old)
{
	sigset_t pending, pipe_set;
	struct timespec zero = { 0, 0 };

	sigemptyset(&pipe_set);
	sigaddset(&pipe_set, SIGPIPE);
	if (sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE) == 1 &&
	    sigismember(old, SIGPIPE) != 1) {
		while (sigtimedwait(&pipe_set, NULL, &zero) < 0 && errno == EINTR)
			;
	}
	pthread_sigmask(SIG_SETMASK, old, NULL);
}

int submit_send(const struct roost_config *conf, const char *sender,
		const char *const *rcpts, size_t rcpt_count, const void *msg, size_t len,
		enum submit_error *error_class_r, char **error_r)
{
	sigset_t pipe_set, old;
	int ret;

	*error_class_r = SUBMIT_ERR_NONE;
	*error_r = NULL;
	if (rcpt_count == 0) {
		*error_class_r = SUBMIT_ERR_PERM;
		*error_r = xstrdup("no recipient");
		return -1;
	}
	/* the null sender is "", never "<>" */
	if (sender[0] != '\0' && !submit_address_is_valid(sender)) {
		*error_class_r = SUBMIT_ERR_PERM;
		*error_r = xasprintf("invalid sender address: %.300s", sender);
		return -1;
	}
	for (size_t i = 0; i < rcpt_count; i++) {
		if (!submit_address_is_valid(rcpts[i])) {
			*error_class_r = SUBMIT_ERR_PERM;
			*error_r = xasprintf("invalid recipient address: %.300s", rcpts[i]);
			return -1;
		}
	}
	if (!submit_is_configured(conf)) {
		log_info("submit: not sent (neither submission_host nor sendmail_path is set): "
			 "from=<%s> to=<%s>%s, %zu bytes", sender, rcpts[0],
			 rcpt_count > 1 ? " and others" : "", len);
		*error_class_r = SUBMIT_ERR_NOT_CONFIGURED;
		*error_r = xstrdup("outgoing mail is not configured "
				   "(neither submission_host nor sendmail_path is set)");
		return -1;
	}
	sigemptyset(&pipe_set);
	sigaddset(&pipe_set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
	if (conf->submission_host[0] != '\0')
		ret = submit_smtp_send(conf, sender, rcpts, rcpt_count, msg, len,
				       error_class_r, error_r);
	else
		ret = submit_sendmail_send(conf, sender, rcpts, rcpt_count, msg, len,
					   error_class_r, error_r);
	sigpipe_restore(&old);
	if (ret == 0)
		log_info("submit: sent from=<%s> to=<%s>%s, %zu bytes", sender, rcpts[0],
			 rcpt_count > 1 ? " and others" : "", len);
	return ret;
}
