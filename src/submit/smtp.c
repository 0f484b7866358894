/* smtp.c: a small blocking SMTP client (RFC 5321) for submit_send(): one
 * connection per message to submission_host, EHLO (HELO when EHLO is
 * refused), STARTTLS (RFC 3207) as submission_tls says, AUTH PLAIN
 * (RFC 4954) when submission_user is set, MAIL FROM with SIZE (RFC
 * 1870) and BODY=8BITMIME (RFC 6152) when the server has them, RCPT TO
 * for each recipient, DATA, QUIT.
 *
 * The client state, in order (any reply other than the one expected
 * ends the session with an error naming the command and quoting the
 * reply):
 *   connect -> 220 greeting -> EHLO 250 [-> STARTTLS 220 -> handshake
 *   -> EHLO 250] [-> AUTH PLAIN 235] -> MAIL 250 -> RCPT 250/251 (each)
 *   -> DATA 354 -> message "." 250 -> QUIT
 * Blocking sockets with SO_RCVTIMEO/SO_SNDTIMEO: each read or write
 * waits at most submission_timeout (it runs on a job thread, never on
 * the event loop). */
#include "submit/submit-private.h"
#include "base/base64.h"
#include "base/log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

/* RFC 5321 4.5.3.1.5: a reply line is at most 512 octets; be lenient */
#define SMTP_REPLY_LINE_MAX 2048
#define SMTP_REPLY_LINES_MAX 100
/* the message is written in pieces of about this size */
#define SMTP_DATA_CHUNK (64 * 1024)

struct smtp_client {
	const struct roost_config *conf;
	int fd;
	SSL_CTX *ssl_ctx;
	SSL *ssl;
	char buf[4096];
	size_t buf_pos, buf_len;
	/* the last reply: its code and its text, lines joined by " " */
	int code;
	struct str reply;
	/* the extensions of the last EHLO reply */
	bool has_starttls, has_8bitmime, has_dsn, has_smtputf8, has_auth_plain;
	uint64_t size_max;	/* SIZE's value, 0: none or no limit */
	char *error;
	enum submit_error error_class;
	/* the error was a reply: the server still listens, and a QUIT is
	 * polite (after a timeout or a broken connection it would only
	 * wait) */
	bool error_is_reply;
};

static void smtp_set_error(struct smtp_client *c, enum submit_error class, const char *fmt,
			   ...) ATTR_PRINTF(3, 4);
static void smtp_set_error(struct smtp_client *c, enum submit_error class, const char *fmt, ...)
{
	va_list args;
	char *text;

	if (c->error != NULL)
		return;		/* the first error is the cause */
	va_start(args, fmt);
	text = xvasprintf(fmt, args);
	va_end(args);
	c->error = xasprintf("submission_host %s:%u: %s", c->conf->submission_host,
			     c->conf->submission_port, text);
	c->error_class = class;
	free(text);
}

/* Sets the error for a reply that was not the one expected: 4xx is
 * temporary, 5xx and anything else permanent (RFC 5321 4.2.1). */
static void smtp_set_reply_error(struct smtp_client *c, const char *command)
{
	if (c->error == NULL)
		c->error_is_reply = true;
	smtp_set_error(c, c->code >= 400 && c->code < 500 ? SUBMIT_ERR_TEMP : SUBMIT_ERR_PERM,
		       "%s: %d %s", command, c->code, str_c(&c->reply));
}

/* Forgets an error that the session got over (EHLO refused, then HELO;
 * STARTTLS refused under submission_tls = starttls; QUIT's reply). */
static void smtp_clear_error(struct smtp_client *c)
{
	free(c->error);
	c->error = NULL;
	c->error_is_reply = false;
}

static void smtp_set_io_error(struct smtp_client *c, const char *what, int err)
{
	if (err == EAGAIN || err == EWOULDBLOCK)
		smtp_set_error(c, SUBMIT_ERR_TEMP, "%s: timed out after %u s", what,
			       c->conf->submission_timeout);
	else if (err == 0)
		smtp_set_error(c, SUBMIT_ERR_TEMP, "%s: the server closed the connection",
			       what);
	else
		smtp_set_error(c, SUBMIT_ERR_TEMP, "%s: %s", what, strerror(err));
}

static void smtp_set_tls_error(struct smtp_client *c, const char *what)
{
	unsigned long e = ERR_get_error();
	char text[256];

	if (e != 0)
		ERR_error_string_n(e, text, sizeof(text));
	else
		snprintf(text, sizeof(text), "%s", errno != 0 ? strerror(errno) : "failed");
	ERR_clear_error();
	smtp_set_error(c, SUBMIT_ERR_TEMP, "%s: %s", what, text);
}

/* ---- connection ---- */

/* Connects fd to addr within the timeout (a non-blocking connect and
 * poll), then makes it blocking with the timeout on reads and writes. */
static int smtp_connect_one(struct smtp_client *c, const struct addrinfo *ai, int *err_r)
{
	struct timeval tv = { .tv_sec = c->conf->submission_timeout };
	struct pollfd pfd;
	socklen_t len = sizeof(*err_r);
	int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK,
			ai->ai_protocol);

	if (fd < 0) {
		*err_r = errno;
		return -1;
	}
	*err_r = 0;
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
		if (errno != EINPROGRESS) {
			*err_r = errno;
		} else {
			pfd.fd = fd;
			pfd.events = POLLOUT;
			int n = poll(&pfd, 1, (int)c->conf->submission_timeout * 1000);
			if (n == 0)
				*err_r = ETIMEDOUT;
			else if (n < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, err_r, &len) < 0)
				*err_r = errno;
		}
	}
	if (*err_r == 0 &&
	    (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) < 0 ||
	     setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0 ||
	     setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0))
		*err_r = errno;
	if (*err_r != 0) {
		close(fd);
		return -1;
	}
	c->fd = fd;
	return 0;
}

static int smtp_connect(struct smtp_client *c)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_ADDRCONFIG };
	struct addrinfo *res, *ai;
	char port[16];
	int rc, err = 0;

	snprintf(port, sizeof(port), "%u", c->conf->submission_port);
	rc = getaddrinfo(c->conf->submission_host, port, &hints, &res);
	if (rc != 0) {
		smtp_set_error(c, SUBMIT_ERR_TEMP, "cannot resolve the host: %s",
			       gai_strerror(rc));
		return -1;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		if (smtp_connect_one(c, ai, &err) == 0)
			break;
	}
	freeaddrinfo(res);
	if (ai == NULL) {
		smtp_set_error(c, SUBMIT_ERR_TEMP, "connect: %s", strerror(err));
		return -1;
	}
	return 0;
}

/* ---- reading and writing ---- */

static int smtp_fill(struct smtp_client *c)
{
	ssize_t n;

	if (c->ssl != NULL) {
		errno = 0;
		int r = SSL_read(c->ssl, c->buf, sizeof(c->buf));
		if (r <= 0) {
			int e = SSL_get_error(c->ssl, r);
			if (e == SSL_ERROR_ZERO_RETURN || (e == SSL_ERROR_SYSCALL && errno == 0))
				smtp_set_io_error(c, "read", 0);
			else if (e == SSL_ERROR_SYSCALL || e == SSL_ERROR_WANT_READ)
				smtp_set_io_error(c, "read", errno != 0 ? errno : EAGAIN);
			else
				smtp_set_tls_error(c, "TLS read");
			return -1;
		}
		n = r;
	} else {
		do {
			n = recv(c->fd, c->buf, sizeof(c->buf), 0);
		} while (n < 0 && errno == EINTR);
		if (n <= 0) {
			smtp_set_io_error(c, "read", n == 0 ? 0 : errno);
			return -1;
		}
	}
	c->buf_pos = 0;
	c->buf_len = (size_t)n;
	return 0;
}

/* One reply line (without CRLF) into line. */
static int smtp_read_line(struct smtp_client *c, struct str *line)
{
	str_truncate(line, 0);
	for (;;) {
		if (c->buf_pos == c->buf_len && smtp_fill(c) < 0)
			return -1;
		char ch = c->buf[c->buf_pos++];
		if (ch == '\n')
			break;
		if (line->len >= SMTP_REPLY_LINE_MAX) {
			smtp_set_error(c, SUBMIT_ERR_TEMP, "a reply line longer than %d bytes",
				       SMTP_REPLY_LINE_MAX);
			return -1;
		}
		str_append_c(line, ch);
	}
	if (line->len > 0 && line->data[line->len - 1] == '\r')
		str_truncate(line, line->len - 1);
	return 0;
}

/* Remembers an EHLO keyword (RFC 5321 4.1.1.1: ehlo-line) */
static void smtp_ehlo_keyword(struct smtp_client *c, const char *line)
{
	if (strcasecmp(line, "STARTTLS") == 0)
		c->has_starttls = true;
	else if (strcasecmp(line, "8BITMIME") == 0)
		c->has_8bitmime = true;
	else if (strcasecmp(line, "DSN") == 0)
		c->has_dsn = true;
	else if (strcasecmp(line, "SMTPUTF8") == 0)
		c->has_smtputf8 = true;
	else if (strncasecmp(line, "AUTH ", 5) == 0) {
		/* ehlo-line: "AUTH" SP mechanism *(SP mechanism) (RFC 4954 3) */
		for (const char *p = line + 5; *p != '\0'; p += strcspn(p, " ")) {
			p += strspn(p, " ");
			if (strncasecmp(p, "PLAIN", 5) == 0 && (p[5] == ' ' || p[5] == '\0'))
				c->has_auth_plain = true;
		}
	}
	else if (strncasecmp(line, "SIZE", 4) == 0 && (line[4] == ' ' || line[4] == '\0')) {
		uint64_t n;
		if (line[4] == ' ' && str_to_u64(line + 5, UINT64_MAX, &n) == 0)
			c->size_max = n;
	}
}

/* Reads a reply (RFC 5321 4.2: Reply-line = *( Reply-code "-" [ textstring ]
 * CRLF ) Reply-code [ SP textstring ] CRLF) into c->code and c->reply.
 * With ehlo, each line after the first is an extension keyword. */
static int smtp_read_reply(struct smtp_client *c, bool ehlo)
{
	struct str line = STR_INIT;
	int ret = -1;

	str_truncate(&c->reply, 0);
	if (ehlo) {
		c->has_starttls = c->has_8bitmime = c->has_dsn = c->has_smtputf8 = false;
		c->has_auth_plain = false;
		c->size_max = 0;
	}
	for (unsigned int i = 0; i < SMTP_REPLY_LINES_MAX; i++) {
		if (smtp_read_line(c, &line) < 0)
			goto out;
		const char *l = str_c(&line);
		if (line.len < 3 || l[0] < '2' || l[0] > '5' || l[1] < '0' || l[1] > '9' ||
		    l[2] < '0' || l[2] > '9' || (l[3] != '\0' && l[3] != ' ' && l[3] != '-') ||
		    (i > 0 && (l[0] - '0') * 100 + (l[1] - '0') * 10 + (l[2] - '0') != c->code)) {
			smtp_set_error(c, SUBMIT_ERR_TEMP, "not an SMTP reply: %.100s", l);
			goto out;
		}
		c->code = (l[0] - '0') * 100 + (l[1] - '0') * 10 + (l[2] - '0');
		const char *text = l[3] == '\0' ? "" : l + 4;
		if (ehlo && i > 0)
			smtp_ehlo_keyword(c, text);
		if (c->reply.len > 0)
			str_append_c(&c->reply, ' ');
		str_append(&c->reply, text);
		if (l[3] != '-') {
			ret = 0;
			goto out;
		}
	}
	smtp_set_error(c, SUBMIT_ERR_TEMP, "a reply of more than %d lines",
		       SMTP_REPLY_LINES_MAX);
out:
	str_free(&line);
	return ret;
}

static int smtp_write(struct smtp_client *c, const void *data, size_t len)
{
	const char *p = data;

	while (len > 0) {
		ssize_t n;

		if (c->ssl != NULL) {
			errno = 0;
			int r = SSL_write(c->ssl, p, len > INT32_MAX ? INT32_MAX : (int)len);
			if (r <= 0) {
				int e = SSL_get_error(c->ssl, r);
				if (e == SSL_ERROR_SYSCALL || e == SSL_ERROR_WANT_WRITE)
					smtp_set_io_error(c, "write", errno != 0 ? errno : EAGAIN);
				else
					smtp_set_tls_error(c, "TLS write");
				return -1;
			}
			n = r;
		} else {
			n = send(c->fd, p, len, MSG_NOSIGNAL);
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0) {
				smtp_set_io_error(c, "write", errno);
				return -1;
			}
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Sends the command line (CRLF added) and reads the reply; 0 when its
 * code is `expect` (or also 251 for 250: RFC 5321 4.2.2 "will
 * forward"), else -1 with the error set. */
static int smtp_command(struct smtp_client *c, const char *line, int expect)
{
	struct str cmd = STR_INIT;
	int ret;

	str_printfa(&cmd, "%s\r\n", line);
	ret = smtp_write(c, cmd.data, cmd.len);
	str_free(&cmd);
	if (ret == 0)
		ret = smtp_read_reply(c, strncmp(line, "EHLO ", 5) == 0);
	if (ret == 0 && c->code != expect && !(expect == 250 && c->code == 251)) {
		smtp_set_reply_error(c, line);
		ret = -1;
	}
	return ret;
}

/* ---- the session ---- */

static int smtp_hello(struct smtp_client *c)
{
	char *line = xasprintf("EHLO %s", submit_compose_hostname(NULL));
	int ret = smtp_command(c, line, 250);

	free(line);
	if (ret < 0 && c->code >= 500 && c->code < 600 && c->error_class == SUBMIT_ERR_PERM) {
		/* RFC 5321 3.2: a server that does not know EHLO; HELO
		 * announces no extensions */
		smtp_clear_error(c);
		line = xasprintf("HELO %s", submit_compose_hostname(NULL));
		ret = smtp_command(c, line, 250);
		free(line);
	}
	return ret;
}

static int smtp_starttls(struct smtp_client *c)
{
	bool verify = c->conf->submission_tls == CONF_SUBMISSION_TLS_REQUIRED;
	const char *host = c->conf->submission_host;
	struct in6_addr addr6;
	struct in_addr addr4;
	bool is_ip = inet_pton(AF_INET, host, &addr4) == 1 || inet_pton(AF_INET6, host, &addr6) == 1;

	if (smtp_command(c, "STARTTLS", 220) < 0)
		return -1;
	c->ssl_ctx = SSL_CTX_new(TLS_client_method());
	if (c->ssl_ctx == NULL) {
		smtp_set_tls_error(c, "TLS setup");
		return -1;
	}
	SSL_CTX_set_min_proto_version(c->ssl_ctx, TLS1_2_VERSION);
	if (verify) {
		/* the system's CAs (SSL_CERT_FILE and SSL_CERT_DIR override
		 * them, as everywhere in OpenSSL) */
		SSL_CTX_set_default_verify_paths(c->ssl_ctx);
		SSL_CTX_set_verify(c->ssl_ctx, SSL_VERIFY_PEER, NULL);
	}
	c->ssl = SSL_new(c->ssl_ctx);
	if (c->ssl == NULL || SSL_set_fd(c->ssl, c->fd) != 1) {
		smtp_set_tls_error(c, "TLS setup");
		return -1;
	}
	if (!is_ip)
		SSL_set_tlsext_host_name(c->ssl, host);
	if (verify && (is_ip ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(c->ssl), host) :
		       SSL_set1_host(c->ssl, host)) != 1) {
		smtp_set_tls_error(c, "TLS setup");
		return -1;
	}
	errno = 0;
	if (SSL_connect(c->ssl) != 1) {
		long result = SSL_get_verify_result(c->ssl);
		if (verify && result != X509_V_OK) {
			ERR_clear_error();
			smtp_set_error(c, SUBMIT_ERR_TEMP, "TLS: the server's certificate: %s",
				       X509_verify_cert_error_string(result));
		} else {
			smtp_set_tls_error(c, "TLS handshake");
		}
		SSL_free(c->ssl);
		c->ssl = NULL;	/* no close_notify on a failed handshake */
		return -1;
	}
	/* RFC 3207 4.2: everything learned before TLS is forgotten */
	return smtp_hello(c);
}

/* Whether the peer is a loopback address (where a password in the clear
 * stays on this host). */
static bool smtp_peer_is_loopback(struct smtp_client *c)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (getpeername(c->fd, (struct sockaddr *)&ss, &len) < 0)
		return false;
	if (ss.ss_family == AF_INET)
		return (ntohl(((struct sockaddr_in *)&ss)->sin_addr.s_addr) >> 24) == 127;
	if (ss.ss_family == AF_INET6)
		return IN6_IS_ADDR_LOOPBACK(&((struct sockaddr_in6 *)&ss)->sin6_addr);
	return false;
}

/* AUTH PLAIN with an initial response (RFC 4954 4, RFC 4616 2:
 * message = [authzid] UTF8NUL authcid UTF8NUL passwd).  The command is
 * never quoted in an error: it holds the password. */
static int smtp_auth(struct smtp_client *c)
{
	const char *user = c->conf->submission_user, *password = c->conf->submission_password;
	struct str plain = STR_INIT, cmd = STR_INIT;
	int ret;

	if (c->ssl == NULL && !smtp_peer_is_loopback(c)) {
		smtp_set_error(c, SUBMIT_ERR_TEMP, "will not send the password without TLS "
			       "(submission_user is set, and the connection is not TLS)");
		return -1;
	}
	if (!c->has_auth_plain) {
		smtp_set_error(c, SUBMIT_ERR_PERM, "the server does not offer AUTH PLAIN "
			       "(submission_user is set)");
		return -1;
	}
	str_append_c(&plain, '\0');
	str_append(&plain, user);
	str_append_c(&plain, '\0');
	str_append(&plain, password);
	str_append(&cmd, "AUTH PLAIN ");
	base64_encode(plain.data, plain.len, &cmd);
	str_append(&cmd, "\r\n");
	ret = smtp_write(c, cmd.data, cmd.len);
	memset(plain.data, 0, plain.len);
	memset(cmd.data, 0, cmd.len);
	str_free(&plain);
	str_free(&cmd);
	if (ret == 0)
		ret = smtp_read_reply(c, false);
	if (ret == 0 && c->code != 235) {
		smtp_set_reply_error(c, "AUTH PLAIN (as submission_user)");
		ret = -1;
	}
	return ret;
}

static bool addrs_are_ascii(const char *sender, const char *const *rcpts, size_t count)
{
	if (!submit_compose_is_7bit(sender, strlen(sender)))
		return false;
	for (size_t i = 0; i < count; i++) {
		if (!submit_compose_is_7bit(rcpts[i], strlen(rcpts[i])))
			return false;
	}
	return true;
}

static int smtp_envelope(struct smtp_client *c, const char *sender, const char *const *rcpts,
			 size_t rcpt_count, const void *msg, size_t len)
{
	struct str cmd = STR_INIT;
	int ret;

	if (c->size_max != 0 && len > c->size_max) {
		smtp_set_error(c, SUBMIT_ERR_PERM,
			       "the message (%zu bytes) is larger than the server's SIZE %llu",
			       len, (unsigned long long)c->size_max);
		return -1;
	}
	str_printfa(&cmd, "MAIL FROM:<%s>", sender);
	if (c->size_max != 0)
		str_printfa(&cmd, " SIZE=%zu", len);
	if (c->has_8bitmime && !submit_compose_is_7bit(msg, len))
		str_append(&cmd, " BODY=8BITMIME");
	if (c->has_smtputf8 && !addrs_are_ascii(sender, rcpts, rcpt_count))
		str_append(&cmd, " SMTPUTF8");
	ret = smtp_command(c, str_c(&cmd), 250);
	for (size_t i = 0; i < rcpt_count && ret == 0; i++) {
		str_truncate(&cmd, 0);
		str_printfa(&cmd, "RCPT TO:<%s>", rcpts[i]);
		/* RFC 3834 3.3 and RFC 5230 5.1: no DSN about a message
		 * from <> */
		if (sender[0] == '\0' && c->has_dsn)
			str_append(&cmd, " NOTIFY=NEVER");
		ret = smtp_command(c, str_c(&cmd), 250);
	}
	str_free(&cmd);
	return ret;
}

/* DATA: the message with CRLF line ends and each line that starts with
 * "." doubled (RFC 5321 4.5.2), then "." on a line of its own. */
static int smtp_data(struct smtp_client *c, const void *msg, size_t len)
{
	struct str out = STR_INIT;
	const char *p = msg, *end = p + len, *line;
	size_t n;
	int ret;

	if (smtp_command(c, "DATA", 354) < 0)
		return -1;
	ret = 0;
	while (ret == 0 && submit_compose_next_line(&p, end, &line, &n) > 0) {
		if (n > 0 && line[0] == '.')
			str_append_c(&out, '.');
		str_append_n(&out, line, n);
		str_append(&out, "\r\n");
		if (out.len >= SMTP_DATA_CHUNK) {
			ret = smtp_write(c, out.data, out.len);
			str_truncate(&out, 0);
		}
	}
	str_append(&out, ".\r\n");
	if (ret == 0)
		ret = smtp_write(c, out.data, out.len);
	str_free(&out);
	if (ret == 0 && smtp_read_reply(c, false) == 0 && c->code != 250) {
		smtp_set_reply_error(c, "the message (after DATA)");
		ret = -1;
	}
	return ret < 0 || c->error != NULL ? -1 : 0;
}

static int smtp_session(struct smtp_client *c, const char *sender, const char *const *rcpts,
			size_t rcpt_count, const void *msg, size_t len)
{
	enum conf_submission_tls tls = c->conf->submission_tls;

	if (smtp_connect(c) < 0 || smtp_read_reply(c, false) < 0)
		return -1;
	if (c->code != 220) {
		smtp_set_reply_error(c, "greeting");
		return -1;
	}
	if (smtp_hello(c) < 0)
		return -1;
	if (tls == CONF_SUBMISSION_TLS_REQUIRED && !c->has_starttls) {
		smtp_set_error(c, SUBMIT_ERR_TEMP, "the server does not offer STARTTLS "
			       "(submission_tls = required)");
		return -1;
	}
	if (tls != CONF_SUBMISSION_TLS_NO && c->has_starttls && smtp_starttls(c) < 0) {
		/* refused with 4xx/5xx (the connection is still plain and
		 * usable) under submission_tls = starttls: go on without
		 * TLS, as an opportunistic client does */
		if (tls == CONF_SUBMISSION_TLS_REQUIRED || c->ssl_ctx != NULL)
			return -1;
		log_warning("submit: %s; sending without TLS", c->error);
		smtp_clear_error(c);
	}
	if (c->conf->submission_user[0] != '\0' && smtp_auth(c) < 0)
		return -1;
	if (smtp_envelope(c, sender, rcpts, rcpt_count, msg, len) < 0 ||
	    smtp_data(c, msg, len) < 0)
		return -1;
	/* the message is accepted: QUIT's reply does not matter */
	(void)smtp_command(c, "QUIT", 221);
	smtp_clear_error(c);
	return 0;
}

int submit_smtp_send(const struct roost_config *conf, const char *sender,
		     const char *const *rcpts, size_t rcpt_count, const void *msg, size_t len,
		     enum submit_error *error_class_r, char **error_r)
{
	struct smtp_client c = { .conf = conf, .fd = -1 };
	int ret = smtp_session(&c, sender, rcpts, rcpt_count, msg, len);

	if (ret < 0 && c.error_is_reply)
		(void)smtp_command(&c, "QUIT", 221);
	if (c.ssl != NULL) {
		(void)SSL_shutdown(c.ssl);
		SSL_free(c.ssl);
	}
	SSL_CTX_free(c.ssl_ctx);
	ERR_clear_error();
	if (c.fd >= 0)
		close(c.fd);
	str_free(&c.reply);
	if (ret < 0) {
		*error_class_r = c.error_class;
		*error_r = c.error;
	} else {
		free(c.error);
	}
	return ret;
}
