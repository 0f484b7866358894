/* sendmail.c: submit_send() through a sendmail-compatible command
 * (sendmail_path): `sendmail_path -i -f SENDER -- RCPT...` run with
 * fork/exec (no shell: nothing in an address is ever interpreted), the
 * message on its standard input with LF line ends, its exit status
 * checked (sysexits.h: 0 sent, 75 EX_TEMPFAIL temporary, any other
 * permanent; a signal or a timeout temporary).  -i: a line of a single
 * "." is text, not the end of the message. */
#include "submit/submit-private.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define EX_TEMPFAIL 75
/* how much of the command's error output goes into the error */
#define SENDMAIL_STDERR_MAX 512

/* The child: stdin from in_fd, stderr (and stdout) to err_fd, the
 * signal state of a fresh process, then exec.  Only async-signal-safe
 * calls: the parent may have other threads. */
static void ATTR_NORETURN sendmail_exec(const char *path, char *const *argv, int in_fd,
					int err_fd)
{
	static const char failed[] = "cannot execute ";
	sigset_t none;

	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGPIPE, SIG_DFL);
	if (dup2(in_fd, STDIN_FILENO) < 0 || dup2(err_fd, STDOUT_FILENO) < 0 ||
	    dup2(err_fd, STDERR_FILENO) < 0)
		_exit(EX_TEMPFAIL);
	/* nothing of the server's (sockets, the index) goes to the command */
	close_range(3, ~0U, 0);
	execv(path, argv);
	int err = errno;
	(void)!write(STDERR_FILENO, failed, sizeof(failed) - 1);
	(void)!write(STDERR_FILENO, path, strlen(path));
	_exit(err == ENOENT || err == EACCES ? 127 : EX_TEMPFAIL);
}

/* Writes msg with LF line ends to fd, reading the child's error output
 * meanwhile (so neither side blocks on a full pipe) until the deadline.
 * Returns 0, or -1 with errno (ETIMEDOUT at the deadline; EPIPE when the
 * command exited without reading it all). */
static int sendmail_feed(int in_fd, int err_fd, const char *msg, size_t len,
			 struct str *err_text, uint64_t deadline_ms)
{
	struct str out = STR_INIT;
	size_t pos = 0, line_len;
	int ret = 0;

	/* the message as sendmail expects it on a UNIX system: LF ends */
	for (const char *p = msg, *line;
	     submit_compose_next_line(&p, msg + len, &line, &line_len) > 0;) {
		str_append_n(&out, line, line_len);
		str_append_c(&out, '\n');
	}
	while (ret == 0 && (in_fd >= 0 || err_fd >= 0)) {
		struct pollfd pfd[2] = { { .fd = in_fd, .events = POLLOUT },
					 { .fd = err_fd, .events = POLLIN } };
		uint64_t now = time_monotonic_ms();

		if (now >= deadline_ms) {
			errno = ETIMEDOUT;
			ret = -1;
			break;
		}
		if (pos == out.len && in_fd >= 0) {
			close(in_fd);	/* end of the message */
			in_fd = pfd[0].fd = -1;
			continue;
		}
		if (poll(pfd, 2, (int)(deadline_ms - now)) < 0) {
			if (errno != EINTR)
				ret = -1;
			continue;
		}
		if (in_fd >= 0 && (pfd[0].revents & (POLLOUT | POLLERR | POLLHUP)) != 0) {
			ssize_t n = write(in_fd, out.data + pos, out.len - pos);
			if (n < 0 && errno != EINTR && errno != EAGAIN)
				ret = -1;
			else if (n > 0)
				pos += (size_t)n;
		}
		if (err_fd >= 0 && (pfd[1].revents & (POLLIN | POLLERR | POLLHUP)) != 0) {
			char buf[512];
			ssize_t n = read(err_fd, buf, sizeof(buf));
			if (n > 0 && err_text->len < SENDMAIL_STDERR_MAX)
				str_append_n(err_text, buf,
					     ROOST_MIN((size_t)n, SENDMAIL_STDERR_MAX - err_text->len));
			else if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN))
				err_fd = -1;	/* closed: the caller closes it */
		}
	}
	int saved_errno = errno;
	if (in_fd >= 0)
		close(in_fd);
	str_free(&out);
	errno = saved_errno;
	return ret;
}

/* Waits for pid until the deadline, then kills it; the status or -1. */
static int sendmail_wait(pid_t pid, uint64_t deadline_ms, bool *timed_out_r)
{
	int status;

	*timed_out_r = false;
	for (;;) {
		pid_t r = waitpid(pid, &status, WNOHANG);
		if (r == pid)
			return status;
		if (r < 0 && errno != EINTR)
			return -1;
		if (time_monotonic_ms() >= deadline_ms) {
			*timed_out_r = true;
			kill(pid, SIGKILL);
			while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
				;
			return status;
		}
		struct timespec pause = { .tv_nsec = 10 * 1000 * 1000 };
		nanosleep(&pause, NULL);
	}
}

/* Trims the command's output to one line for the error text. */
static const char *one_line(struct str *text)
{
	for (size_t i = 0; i < text->len; i++) {
		if (text->data[i] == '\n' || text->data[i] == '\r' || text->data[i] == '\0')
			text->data[i] = ' ';
	}
	while (text->len > 0 && text->data[text->len - 1] == ' ')
		str_truncate(text, text->len - 1);
	return text->len > 0 ? str_c(text) : "(no output)";
}

int submit_sendmail_send(const struct roost_config *conf, const char *sender,
			 const char *const *rcpts, size_t rcpt_count, const void *msg,
			 size_t len, enum submit_error *error_class_r, char **error_r)
{
	const char *path = conf->sendmail_path;
	uint64_t deadline_ms = time_monotonic_ms() + (uint64_t)conf->submission_timeout * 1000;
	char **argv = xcalloc(rcpt_count + 6, sizeof(*argv));
	struct str err_text = STR_INIT;
	int in_pipe[2], err_pipe[2], status, feed_errno = 0;
	bool timed_out;
	pid_t pid;
	size_t n = 0;

	argv[n++] = (char *)path;
	argv[n++] = (char *)"-i";
	argv[n++] = (char *)"-f";
	argv[n++] = (char *)(sender[0] == '\0' ? "<>" : sender);
	argv[n++] = (char *)"--";
	for (size_t i = 0; i < rcpt_count; i++)
		argv[n++] = (char *)rcpts[i];
	argv[n] = NULL;

	if (pipe2(in_pipe, O_CLOEXEC) < 0) {
		*error_class_r = SUBMIT_ERR_TEMP;
		*error_r = xasprintf("sendmail_path %s: pipe: %s", path, strerror(errno));
		free(argv);
		return -1;
	}
	if (pipe2(err_pipe, O_CLOEXEC) < 0) {
		*error_class_r = SUBMIT_ERR_TEMP;
		*error_r = xasprintf("sendmail_path %s: pipe: %s", path, strerror(errno));
		close(in_pipe[0]);
		close(in_pipe[1]);
		free(argv);
		return -1;
	}
	pid = fork();
	if (pid == 0)
		sendmail_exec(path, argv, in_pipe[0], err_pipe[1]);
	close(in_pipe[0]);
	close(err_pipe[1]);
	free(argv);
	if (pid < 0) {
		*error_class_r = SUBMIT_ERR_TEMP;
		*error_r = xasprintf("sendmail_path %s: fork: %s", path, strerror(errno));
		close(in_pipe[1]);
		close(err_pipe[0]);
		return -1;
	}
	fcntl(in_pipe[1], F_SETFL, O_NONBLOCK);
	if (sendmail_feed(in_pipe[1], err_pipe[0], msg, len, &err_text, deadline_ms) < 0)
		feed_errno = errno;
	close(err_pipe[0]);
	status = sendmail_wait(pid, deadline_ms, &timed_out);
	if (timed_out || feed_errno == ETIMEDOUT) {
		*error_class_r = SUBMIT_ERR_TEMP;
		*error_r = xasprintf("sendmail_path %s: timed out after %u s", path,
				     conf->submission_timeout);
	} else if (status < 0) {
		*error_class_r = SUBMIT_ERR_TEMP;
		*error_r = xasprintf("sendmail_path %s: waitpid: %s", path, strerror(errno));
	} else if (WIFSIGNALED(status)) {
		*error_class_r = SUBMIT_ERR_TEMP;
		*error_r = xasprintf("sendmail_path %s: killed by signal %d: %s", path,
				     WTERMSIG(status), one_line(&err_text));
	} else if (WEXITSTATUS(status) != 0) {
		*error_class_r = WEXITSTATUS(status) == EX_TEMPFAIL ? SUBMIT_ERR_TEMP :
			SUBMIT_ERR_PERM;
		*error_r = xasprintf("sendmail_path %s: exit status %d: %s", path,
				     WEXITSTATUS(status), one_line(&err_text));
	} else if (feed_errno != 0) {
		/* exit 0 without reading the whole message: not trusted */
		*error_class_r = SUBMIT_ERR_TEMP;
		*error_r = xasprintf("sendmail_path %s: writing the message: %s", path,
				     strerror(feed_errno));
	} else {
		str_free(&err_text);
		return 0;
	}
	str_free(&err_text);
	return -1;
}
