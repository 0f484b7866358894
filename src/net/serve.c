/* serve.c: `roost serve`: binds the listeners, loads the TLS certificate,
 * starts the worker processes and supervises them.
 *
 * The supervisor never talks to clients.  When started as root it stays
 * root (to bind, to re-read a root-only key on SIGHUP and to start
 * replacement workers); workers drop to config->user right after fork,
 * before any client byte is read.  Its loop is a plain sigtimedwait():
 * SIGCHLD restarts workers (with a back-off), SIGHUP re-reads the
 * certificate and key and sends them to every worker over its control
 * socket, SIGTERM/SIGINT stop everything.  Before forking it sizes
 * max_connections to the file descriptor limit and makes the table of
 * pre-login connections per address that all workers share
 * (peer-limit.c); a dead worker's connections are taken off it before
 * its replacement starts. */
#include "net-private.h"
#include "privs.h"
#include "base/log.h"
#include "conf/conf.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <grp.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define SERVE_BACKLOG 1024
/* How long stopping workers get before SIGKILL. */
#define SERVE_STOP_TIMEOUT_MSECS 15000
/* A worker that dies sooner than this after its start is restarted
 * with a growing delay, up to the maximum. */
#define SERVE_QUICK_DEATH_MSECS 10000
#define SERVE_BACKOFF_FIRST_MSECS 1000
#define SERVE_BACKOFF_MAX_MSECS 60000
/* File descriptors budgeted per connection, in eighths: 1.5.  An idle
 * connection keeps only its socket: its user's store lets go of the
 * index (the database, -wal, -shm) and the lock 2 s after the last
 * command (issue #10 measured 2.0 per idle connection with the lock,
 * 1.0 without).  The half is room for one connection in eight to be
 * busy at once with those 4 descriptors of its user's (shared by the
 * user's sessions in the worker) or with a message file being sent or a
 * literal being spooled.  Should more be busy at once, a store open
 * fails (NO) and new clients are refused (the spare descriptor), but
 * nothing breaks. */
#define SERVE_FDS_PER_CONNECTION_8THS 12
/* ... and per worker, beyond what the supervisor has open when it counts:
 * the event loop, its signal and thread-notification descriptors, the
 * store's change notification, the control socket, the spare descriptor for
 * refusing at EMFILE, the user database being read, syslog, and the
 * files the one command running at a time opens and closes again (the
 * source and destination of a copy, a directory being synced). */
#define SERVE_FDS_PER_WORKER 32
/* Addresses the per-address table can hold at once; past that, new
 * addresses are let in uncounted (a flood from that many addresses is
 * not what a per-address limit stops). */
#define SERVE_PEER_MAX_ADDRESSES 65536

struct serve_worker {
	pid_t pid;		/* 0: not running */
	int control_fd;		/* supervisor's end, -1 when not running */
	uint64_t started_ms;
	uint64_t next_start_ms;
	unsigned int backoff_ms;
	/* while not running: the worker accepting on its listening sockets
	 * (net_control_adopt), or -1; and that worker's process then
	 * (a replacement of the adopter has adopted nothing) */
	int adopter;
	pid_t adopter_pid;
};

struct serve {
	const struct roost_config *config;
	const struct net_protocol *protocols;
	struct net_listen_fd *listeners;
	size_t listener_count, listener_cap;

	bool need_tls;
	struct net_tls_pem pem;

	struct privs privs;	/* the workers' user */

	struct serve_worker *workers;
	unsigned int worker_count;
	/* login_processes: login process i beside worker i (NULL: none);
	 * their user; and per index, the end of a new channel kept for the
	 * partner that is not running yet (-1: none) */
	struct serve_worker *logins;
	struct privs login_privs;
	int *channel_spare;
	/* config->max_connections as the file descriptor limit allows it */
	unsigned int max_connections;
	struct net_peer_limit *peer_limit;
	struct net_peer_networks *peer_exempt;
	struct net_peer_networks *proxy_trusted;
	pid_t supervisor_pid;
	sigset_t old_mask;
};

static const int serve_signals[] = { SIGCHLD, SIGTERM, SIGINT, SIGHUP };

/* ---- listeners ---- */

static const char *serve_tls_name(enum conf_tls_mode mode)
{
	switch (mode) {
	case CONF_TLS_STARTTLS:
		return "starttls";
	case CONF_TLS_IMPLICIT:
		return "tls";
	case CONF_TLS_NONE:
		break;
	}
	return "plaintext";
}

static void serve_add_listener(struct serve *s, int fd, const struct conf_listener *conf,
			       const struct net_protocol *protocol, const char *unix_path,
			       int worker)
{
	ARRAY_RESERVE(s->listeners, s->listener_cap, s->listener_count + 1);
	struct net_listen_fd *lfd = &s->listeners[s->listener_count++];
	lfd->fd = fd;
	lfd->conf = conf;
	lfd->protocol = protocol;
	lfd->unix_path = unix_path == NULL ? NULL : xstrdup(unix_path);
	lfd->worker = worker;
	lfd->login = false;
}

/* A bound TCP socket for sa (listening unless `probe`), or -1 (logged).
 * With `reuseport` it joins the port's SO_REUSEPORT group. */
static int serve_socket_inet(const struct conf_listener *conf, const struct sockaddr *sa,
			     socklen_t salen, bool v6only, bool reuseport, bool probe,
			     const char *display)
{
	int fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		log_error("cannot listen on %s: socket(): %s", display, strerror(errno));
		return -1;
	}
	int one = 1, v6 = v6only ? 1 : 0;
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (reuseport && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0) {
		log_error("cannot listen on %s: SO_REUSEPORT: %s", display, strerror(errno));
		close(fd);
		return -1;
	}
	if (sa->sa_family == AF_INET6)
		(void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6, sizeof(v6));
	if (bind(fd, sa, salen) < 0) {
		int err = errno;
		log_error("cannot listen on %s: %s%s", display, strerror(err),
			  err == EACCES && conf->port < 1024 ?
			  " (ports below 1024 need root or CAP_NET_BIND_SERVICE)" : "");
		close(fd);
		return -1;
	}
	if (!probe && listen(fd, SERVE_BACKLOG) < 0) {
		log_error("cannot listen on %s: %s", display, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/* Binds a TCP listener.  With several workers each gets a socket of its
 * own in one SO_REUSEPORT group: the kernel spreads new connections over
 * the group by a hash of their addresses and ports, where one shared
 * socket let whichever worker woke first take most of a burst (954 to
 * 31 of 1,000 in issue #10).  The supervisor keeps every socket open, so
 * connections queued on a dead worker's socket wait for its replacement
 * (or the worker that adopts the socket meanwhile: net_control_adopt)
 * instead of being reset. */
static int serve_bind_inet(struct serve *s, const struct conf_listener *conf,
			   const struct net_protocol *protocol, const struct sockaddr *sa,
			   socklen_t salen, bool v6only, const char *display)
{
	bool reuseport = s->worker_count > 1;
	if (reuseport) {
		/* Sockets of one user may join a group: a second server
		 * started on the same port would share its connections
		 * instead of failing.  A plain bind first fails on a port
		 * that is in use, as without SO_REUSEPORT. */
		int probe = serve_socket_inet(conf, sa, salen, v6only, false, true, display);
		if (probe < 0)
			return -1;
		close(probe);
	}
	unsigned int copies = reuseport ? s->worker_count : 1;
	for (unsigned int i = 0; i < copies; i++) {
		int fd = serve_socket_inet(conf, sa, salen, v6only, reuseport, false, display);
		if (fd < 0)
			return -1;
		serve_add_listener(s, fd, conf, protocol, NULL, reuseport ? (int)i : -1);
	}
	log_info("listening on %s (%s, %s%s%s)", display, conf->protocol,
		 serve_tls_name(conf->tls), conf->proxy ? ", PROXY protocol" : "",
		 reuseport ? ", a socket per worker" : "");
	return 0;
}

static int serve_bind_wildcard(struct serve *s, const struct conf_listener *conf,
			       const struct net_protocol *protocol)
{
	char display[32];
	snprintf(display, sizeof(display), "*:%u", conf->port);
	/* one dual-stack IPv6 socket serves IPv4 as well */
	int fd = socket(AF_INET6, SOCK_STREAM, 0);
	if (fd >= 0) {
		close(fd);
		struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_ANY_INIT,
					     .sin6_port = htons((uint16_t)conf->port) };
		return serve_bind_inet(s, conf, protocol, (struct sockaddr *)&sin6, sizeof(sin6),
				       false, display);
	}
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_ANY),
				   .sin_port = htons((uint16_t)conf->port) };
	return serve_bind_inet(s, conf, protocol, (struct sockaddr *)&sin, sizeof(sin), false,
			       display);
}

static int serve_bind_host(struct serve *s, const struct conf_listener *conf,
			   const struct net_protocol *protocol)
{
	/* "[::1]" or "::1" */
	char host[256];
	const char *addr = conf->address;
	size_t len = strlen(addr);
	if (len >= 2 && addr[0] == '[' && addr[len - 1] == ']') {
		addr++;
		len -= 2;
	}
	if (len >= sizeof(host)) {
		log_error("listener address too long: %s", conf->address);
		return -1;
	}
	memcpy(host, addr, len);
	host[len] = '\0';

	char port[16];
	snprintf(port, sizeof(port), "%u", conf->port);
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_PASSIVE | AI_NUMERICSERV };
	struct addrinfo *res;
	int ret = getaddrinfo(host, port, &hints, &res);
	if (ret != 0) {
		log_error("cannot listen on %s:%u: %s", conf->address, conf->port,
			  ret == EAI_SYSTEM ? strerror(errno) : gai_strerror(ret));
		return -1;
	}
	ret = 0;
	for (struct addrinfo *ai = res; ai != NULL && ret == 0; ai = ai->ai_next) {
		char ip[INET6_ADDRSTRLEN], display[INET6_ADDRSTRLEN + 16];
		if (ai->ai_family == AF_INET6) {
			inet_ntop(AF_INET6, &((struct sockaddr_in6 *)ai->ai_addr)->sin6_addr, ip,
				  sizeof(ip));
			snprintf(display, sizeof(display), "[%s]:%u", ip, conf->port);
		} else if (ai->ai_family == AF_INET) {
			inet_ntop(AF_INET, &((struct sockaddr_in *)ai->ai_addr)->sin_addr, ip,
				  sizeof(ip));
			snprintf(display, sizeof(display), "%s:%u", ip, conf->port);
		} else {
			continue;
		}
		ret = serve_bind_inet(s, conf, protocol, ai->ai_addr, ai->ai_addrlen, true,
				      display);
	}
	freeaddrinfo(res);
	return ret;
}

/* owner = "user", "user:group" or ":group" */
static int serve_chown_socket(const char *path, const char *owner)
{
	char *copy = xstrdup(owner);
	char *colon = strchr(copy, ':');
	uid_t uid = (uid_t)-1;
	gid_t gid = (gid_t)-1;
	if (colon != NULL)
		*colon = '\0';
	int ret = 0;
	if (copy[0] != '\0') {
		struct passwd *pw = getpwnam(copy);
		if (pw == NULL) {
			log_error("cannot set the owner of %s: no user \"%s\"", path, copy);
			ret = -1;
		} else {
			uid = pw->pw_uid;
			gid = pw->pw_gid;
		}
	}
	if (ret == 0 && colon != NULL && colon[1] != '\0') {
		struct group *gr = getgrnam(colon + 1);
		if (gr == NULL) {
			log_error("cannot set the owner of %s: no group \"%s\"", path, colon + 1);
			ret = -1;
		} else {
			gid = gr->gr_gid;
		}
	}
	if (ret == 0 && chown(path, uid, gid) < 0) {
		log_error("cannot set the owner of %s to %s: %s", path, owner, strerror(errno));
		ret = -1;
	}
	free(copy);
	return ret;
}

static int serve_bind_unix(struct serve *s, const struct conf_listener *conf,
			   const struct net_protocol *protocol)
{
	const char *path = conf->address;
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof(sun.sun_path)) {
		log_error("cannot listen on %s: path too long", path);
		return -1;
	}
	strcpy(sun.sun_path, path);

	struct stat st;
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			log_error("cannot listen on %s: it exists and is not a socket", path);
			return -1;
		}
		/* a stale socket of a dead server is replaced; a live one is not */
		int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (probe >= 0 && connect(probe, (struct sockaddr *)&sun, sizeof(sun)) == 0) {
			close(probe);
			log_error("cannot listen on %s: another server is listening there", path);
			return -1;
		}
		if (probe >= 0)
			close(probe);
		if (unlink(path) < 0) {
			log_error("cannot remove stale socket %s: %s", path, strerror(errno));
			return -1;
		}
	}
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		log_error("cannot listen on %s: socket(): %s", path, strerror(errno));
		return -1;
	}
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		log_error("cannot listen on %s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	/* who may connect is the socket file's business: mode and owner come
	 * from the config (lmtp_socket_mode/owner), 0666 otherwise */
	mode_t mode = conf->socket_mode != 0 ? (mode_t)conf->socket_mode : 0666;
	if (conf->socket_owner != NULL && conf->socket_owner[0] != '\0' &&
	    serve_chown_socket(path, conf->socket_owner) < 0) {
		close(fd);
		(void)unlink(path);
		return -1;
	}
	if (chmod(path, mode) < 0 || listen(fd, SERVE_BACKLOG) < 0) {
		log_error("cannot listen on %s: %s", path, strerror(errno));
		close(fd);
		(void)unlink(path);
		return -1;
	}
	log_info("listening on %s (%s, %s)", path, conf->protocol, serve_tls_name(conf->tls));
	serve_add_listener(s, fd, conf, protocol, path, -1);
	return 0;
}

static int serve_bind_all(struct serve *s)
{
	const struct roost_config *config = s->config;
	if (config->listener_count == 0) {
		log_error("no listeners configured");
		return -1;
	}
	for (size_t i = 0; i < config->listener_count; i++) {
		const struct conf_listener *conf = &config->listeners[i];
		const struct net_protocol *protocol = NULL;
		for (const struct net_protocol *p = s->protocols; p->name != NULL; p++) {
			if (strcmp(p->name, conf->protocol) == 0) {
				protocol = p;
				break;
			}
		}
		if (protocol == NULL || protocol->accept == NULL) {
			log_error("listener %s: unknown protocol \"%s\"", conf->address,
				  conf->protocol);
			return -1;
		}
		if (conf->tls != CONF_TLS_NONE)
			s->need_tls = true;
		int ret;
		if (conf->address[0] == '/')
			ret = serve_bind_unix(s, conf, protocol);
		else if (strcmp(conf->address, "*") == 0)
			ret = serve_bind_wildcard(s, conf, protocol);
		else
			ret = serve_bind_host(s, conf, protocol);
		if (ret < 0)
			return -1;
	}
	return 0;
}

static void serve_close_listeners(struct serve *s)
{
	for (size_t i = 0; i < s->listener_count; i++) {
		struct net_listen_fd *lfd = &s->listeners[i];
		if (lfd->fd >= 0)
			close(lfd->fd);
		if (lfd->unix_path != NULL) {
			(void)unlink(lfd->unix_path);
			free(lfd->unix_path);
		}
	}
	free(s->listeners);
	s->listeners = NULL;
	s->listener_count = 0;
}

/* ---- privileges ---- */

static int serve_lookup_user(struct serve *s)
{
	char *error;
	if (privs_lookup(s->config->user, &s->privs, &error) < 0) {
		log_error("%s", error);
		free(error);
		return -1;
	}
	if (s->privs.user_is_root)
		log_warning("user %s is root: the workers will run as root", s->config->user);
	return 0;
}

static int serve_drop_privileges(const struct serve *s)
{
	char *error;
	if (privs_drop(&s->privs, &error) < 0) {
		log_error("%s", error);
		free(error);
		return -1;
	}
	return 0;
}

/* ---- workers ---- */

static void serve_signals_restore(const struct serve *s)
{
	for (size_t i = 0; i < N_ELEMENTS(serve_signals); i++)
		signal(serve_signals[i], SIG_DFL);
	sigprocmask(SIG_SETMASK, &s->old_mask, NULL);
}

static void ATTR_NORETURN serve_worker_child(struct serve *s, unsigned int index,
					       enum net_role role, int control_fd, int login_fd)
{
	/* die with the supervisor, even if it is killed with SIGKILL */
	(void)prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (getppid() != s->supervisor_pid)
		_exit(0);
	for (unsigned int i = 0; i < s->worker_count; i++) {
		if (s->workers[i].control_fd >= 0)
			close(s->workers[i].control_fd);
		if (s->logins != NULL && s->logins[i].control_fd >= 0)
			close(s->logins[i].control_fd);
		if (s->channel_spare != NULL && s->channel_spare[i] >= 0)
			close(s->channel_spare[i]);
	}
	/* ps and the tests tell a login process from a worker by its name */
	if (role == NET_ROLE_LOGIN)
		(void)prctl(PR_SET_NAME, "roost-login");
	/* each keeps only the listening sockets of its role: a login process
	 * none of LMTP's or the workers', a worker none of the login
	 * processes' (held open without accepting, their queued
	 * connections would be reset when it exits) */
	for (size_t i = 0; i < s->listener_count; i++) {
		struct net_listen_fd *lfd = &s->listeners[i];
		if (lfd->login != (role == NET_ROLE_LOGIN) && lfd->fd >= 0) {
			close(lfd->fd);
			lfd->fd = -1;
		}
	}
	/* SIGTERM, SIGINT and SIGHUP stay blocked until the worker's loop
	 * handles them, so a stop right after the fork is not lost */
	for (size_t i = 0; i < N_ELEMENTS(serve_signals); i++)
		signal(serve_signals[i], SIG_DFL);
	sigset_t mask = s->old_mask;
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_SETMASK, &mask, NULL);
	/* a login process changes user in its sandbox (net_sandbox_enter) */
	if (role == NET_ROLE_WORKER && serve_drop_privileges(s) < 0)
		_exit(1);

	enum log_level level = LOG_LEVEL_INFO;
	if (s->config->log_level != NULL)
		(void)log_level_parse(s->config->log_level, &level);
	log_init(role == NET_ROLE_LOGIN ? "roost-login" : "roost-worker", s->config->log_syslog,
		 level);

	struct net_worker_setup setup = {
		.config = s->config,
		.protocols = s->protocols,
		.listeners = s->listeners,
		.listener_count = s->listener_count,
		.pem = s->pem,		/* this process's copy: the worker wipes it */
		.control_fd = control_fd,
		.max_connections = s->max_connections,
		.peer_limit = s->peer_limit,
		.worker_index = index,
		.peer_exempt = s->peer_exempt,
		.peer_index = role == NET_ROLE_LOGIN ? s->worker_count + index : index,
		.role = role,
		.login_fd = login_fd,
		.paired = s->logins != NULL,
		.login_privs = &s->login_privs,
		.proxy_trusted = s->proxy_trusted,
	};
	int ret = net_worker_main(&setup);
	_exit(ret);
}

/* Sends `fd`, the new channel to the partner process, over a control
 * socket.  False if it could not be sent. */
static bool serve_send_channel(int control_fd, int fd)
{
	struct net_control_channel msg = { .type = 'C' };
	struct iovec iov = { .iov_base = &msg, .iov_len = sizeof(msg) };
	return net_fd_send(control_fd, &iov, 1, fd) >= 0;
}

/* The channel end for a process of pair `index` about to start: the
 * spare one its partner's start left, or a new pair whose other end goes
 * to the running partner at once (or is kept as the spare).  -1 when
 * there are no login processes or no socket could be made. */
static int serve_channel_for(struct serve *s, unsigned int index,
			     struct serve_worker *partner)
{
	if (s->logins == NULL)
		return -1;
	if (s->channel_spare[index] >= 0) {
		int fd = s->channel_spare[index];
		s->channel_spare[index] = -1;
		return fd;
	}
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		log_error("socketpair() failed: %s", strerror(errno));
		return -1;
	}
	if (partner->pid != 0) {
		if (!serve_send_channel(partner->control_fd, sv[1]))
			log_error("cannot send the new channel to pid %d: %s", (int)partner->pid,
				  strerror(errno));
		close(sv[1]);
	} else {
		s->channel_spare[index] = sv[1];
	}
	return sv[0];
}

static void serve_worker_start(struct serve *s, struct serve_worker *w, enum net_role role)
{
	int sv[2];
	uint64_t now = time_monotonic_ms();
	unsigned int index = (unsigned int)(w - (role == NET_ROLE_LOGIN ? s->logins : s->workers));
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		log_error("socketpair() failed: %s", strerror(errno));
		w->next_start_ms = now + SERVE_BACKOFF_FIRST_MSECS;
		return;
	}
	int login_fd = -1;
	if (s->logins != NULL)
		login_fd = serve_channel_for(s, index, role == NET_ROLE_LOGIN ?
					     &s->workers[index] : &s->logins[index]);
	pid_t pid = fork();
	if (pid < 0) {
		log_error("fork() failed: %s", strerror(errno));
		close(sv[0]);
		close(sv[1]);
		if (login_fd >= 0)
			close(login_fd);
		w->next_start_ms = now + SERVE_BACKOFF_FIRST_MSECS;
		return;
	}
	if (pid == 0) {
		close(sv[0]);
		serve_worker_child(s, index, role, sv[1], login_fd);
	}
	close(sv[1]);
	if (login_fd >= 0)
		close(login_fd);
	w->pid = pid;
	w->control_fd = sv[0];
	w->started_ms = now;
}

/* Describes how a worker ended.  An abnormal end is always logged as
 * "worker N (pid P) died: killed by signal S (NAME)" or "worker N (pid P)
 * died: exited with status S": the test harness fails any test whose
 * server log has such a line (a worker restarted by the supervisor would
 * otherwise go unnoticed). */
static void serve_describe_status(int status, char *buf, size_t size)
{
	if (WIFEXITED(status))
		snprintf(buf, size, "exited with status %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(buf, size, "killed by signal %d (%s)%s", WTERMSIG(status),
			 strsignal(WTERMSIG(status)), WCOREDUMP(status) ? ", core dumped" : "");
	else
		snprintf(buf, size, "ended with status 0x%x", (unsigned int)status);
}

static struct serve_worker *serve_worker_find(struct serve *s, pid_t pid, bool *login_r)
{
	for (unsigned int i = 0; i < s->worker_count; i++) {
		*login_r = false;
		if (s->workers[i].pid == pid)
			return &s->workers[i];
		*login_r = true;
		if (s->logins != NULL && s->logins[i].pid == pid)
			return &s->logins[i];
	}
	return NULL;
}

/* Tells worker `to` to accept on the sockets of worker `owner` (adopt)
 * or to stop.  False if the message could not be sent. */
static bool serve_send_adopt(struct serve *s, unsigned int to, unsigned int owner, bool adopt)
{
	struct net_control_adopt msg = { .type = 'A', .worker = owner, .adopt = adopt ? 1 : 0 };
	struct serve_worker *w = &s->workers[to];

	if (w->pid == 0 || send(w->control_fd, &msg, sizeof(msg), MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
		return false;
	return true;
}

/* Gives the listening sockets of every worker that is down (its own, in
 * a SO_REUSEPORT group) to a running worker, so that connections the
 * kernel hashes to them are not left waiting for a restart that a
 * back-off may delay by up to a minute. */
static void serve_adopt_orphans(struct serve *s)
{
	bool per_worker = false;
	for (size_t i = 0; i < s->listener_count; i++) {
		if (s->listeners[i].worker >= 0 && !s->listeners[i].login)
			per_worker = true;
	}
	if (!per_worker)
		return;
	for (unsigned int k = 0; k < s->worker_count; k++) {
		struct serve_worker *w = &s->workers[k];
		if (w->pid != 0 || (w->adopter >= 0 &&
				    s->workers[w->adopter].pid == w->adopter_pid))
			continue;
		w->adopter = -1;
		/* the next running worker after k, so that two dead workers'
		 * sockets tend to go to different ones */
		for (unsigned int d = 1; d < s->worker_count && w->adopter < 0; d++) {
			unsigned int j = (k + d) % s->worker_count;
			if (serve_send_adopt(s, j, k, true)) {
				w->adopter = (int)j;
				w->adopter_pid = s->workers[j].pid;
			}
		}
	}
}

/* Worker w runs again: its adopter stops accepting on its sockets (both
 * accept from them meanwhile, which loses nothing). */
static void serve_end_adoption(struct serve *s, struct serve_worker *w)
{
	if (w->adopter < 0)
		return;
	if (s->workers[w->adopter].pid == w->adopter_pid)
		(void)serve_send_adopt(s, (unsigned int)w->adopter,
				       (unsigned int)(w - s->workers), false);
	w->adopter = -1;
}

/* Reaps dead workers; unless stopping, schedules their restart. */
static void serve_reap(struct serve *s, bool stopping)
{
	int status;
	pid_t pid;
	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		bool is_login;
		struct serve_worker *w = serve_worker_find(s, pid, &is_login);
		if (w == NULL)
			continue;
		unsigned int n = (unsigned int)(w - (is_login ? s->logins : s->workers));
		const char *what = is_login ? "login process" : "worker";
		w->pid = 0;
		close(w->control_fd);
		w->control_fd = -1;
		if (s->channel_spare != NULL && s->channel_spare[n] >= 0) {
			/* its other end died with this process */
			close(s->channel_spare[n]);
			s->channel_spare[n] = -1;
		}
		if (s->peer_limit != NULL) {
			/* its connections died with it */
			unsigned int k = net_peer_limit_release_worker(
				s->peer_limit, is_login ? s->worker_count + n : n);
			if (k > 0)
				log_debug("%s %d: %u pre-login connection(s) uncounted", what,
					  (int)pid, k);
		}
		char desc[128];
		serve_describe_status(status, desc, sizeof(desc));
		if (stopping) {
			if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
				log_debug("%s %u (pid %d) stopped", what, n, (int)pid);
			else
				log_error("%s %u (pid %d) died: %s", what, n, (int)pid, desc);
			continue;
		}
		uint64_t now = time_monotonic_ms();
		if (now - w->started_ms < SERVE_QUICK_DEATH_MSECS) {
			w->backoff_ms = w->backoff_ms == 0 ? SERVE_BACKOFF_FIRST_MSECS :
				ROOST_MIN(w->backoff_ms * 2, SERVE_BACKOFF_MAX_MSECS);
		} else {
			w->backoff_ms = 0;
		}
		w->next_start_ms = now + w->backoff_ms;
		if (w->backoff_ms == 0)
			log_error("%s %u (pid %d) died: %s; restarting it", what, n, (int)pid,
				  desc);
		else
			log_error("%s %u (pid %d) died: %s; restarting it in %u s", what, n,
				  (int)pid, desc, w->backoff_ms / 1000);
	}
}

static void serve_send_reload(struct serve *s, const struct net_tls_pem *pem)
{
	struct net_control_header hdr = { .type = 'R' };
	size_t size = sizeof(hdr);
	if (pem != NULL) {
		hdr.cert_len = (uint32_t)pem->cert_len;
		hdr.key_len = (uint32_t)pem->key_len;
		size += pem->cert_len + pem->key_len;
	}
	char *msg = xcalloc(1, size);
	memcpy(msg, &hdr, sizeof(hdr));
	if (pem != NULL) {
		memcpy(msg + sizeof(hdr), pem->cert, pem->cert_len);
		memcpy(msg + sizeof(hdr) + pem->cert_len, pem->key, pem->key_len);
	}
	for (unsigned int i = 0; i < 2 * s->worker_count; i++) {
		struct serve_worker *w = i < s->worker_count ? &s->workers[i] :
			s->logins != NULL ? &s->logins[i - s->worker_count] : NULL;
		if (w == NULL || w->pid == 0)
			continue;
		if (send(w->control_fd, msg, size, MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
			log_error("cannot send the reload to pid %d: %s", (int)w->pid,
				  strerror(errno));
	}
	net_tls_free_secret(&msg, size);
}

static void serve_reload(struct serve *s)
{
	log_info("SIGHUP: reloading");
	if (!s->need_tls) {
		serve_send_reload(s, NULL);
		return;
	}
	struct net_tls_pem pem;
	char *error;
	if (net_tls_pem_load(s->config->tls_cert, s->config->tls_key, &pem, NULL, &error) < 0) {
		log_error("keeping the current certificate: %s", error);
		free(error);
		serve_send_reload(s, NULL);
		return;
	}
	net_tls_pem_free(&s->pem);
	s->pem = pem;
	serve_send_reload(s, &s->pem);
	log_info("TLS certificate reloaded");
}

static bool serve_workers_alive(const struct serve *s)
{
	for (unsigned int i = 0; i < s->worker_count; i++) {
		if (s->workers[i].pid != 0 || (s->logins != NULL && s->logins[i].pid != 0))
			return true;
	}
	return false;
}

static void serve_stop_workers(struct serve *s, sigset_t *set)
{
	for (unsigned int i = 0; i < s->worker_count; i++) {
		if (s->workers[i].pid != 0)
			(void)kill(s->workers[i].pid, SIGTERM);
		if (s->logins != NULL && s->logins[i].pid != 0)
			(void)kill(s->logins[i].pid, SIGTERM);
	}
	uint64_t deadline = time_monotonic_ms() + SERVE_STOP_TIMEOUT_MSECS;
	while (serve_workers_alive(s)) {
		serve_reap(s, true);
		if (!serve_workers_alive(s))
			break;
		uint64_t now = time_monotonic_ms();
		if (now >= deadline)
			break;
		uint64_t wait = ROOST_MIN(deadline - now, 1000);
		struct timespec ts = { .tv_sec = (time_t)(wait / 1000),
				       .tv_nsec = (long)(wait % 1000) * 1000000 };
		int sig = sigtimedwait(set, NULL, &ts);
		if (sig == SIGTERM || sig == SIGINT) {
			log_warning("second stop signal: not waiting for the workers");
			break;
		}
	}
	for (unsigned int j = 0; j < 2 * s->worker_count; j++) {
		unsigned int i = j % s->worker_count;
		struct serve_worker *w = j < s->worker_count ? &s->workers[i] :
			s->logins != NULL ? &s->logins[i] : NULL;
		if (w == NULL || w->pid == 0)
			continue;
		log_error("%s %u (pid %d) did not stop in time: killing it",
			  j < s->worker_count ? "worker" : "login process", i, (int)w->pid);
		(void)kill(w->pid, SIGKILL);
		(void)waitpid(w->pid, NULL, 0);
		w->pid = 0;
		close(w->control_fd);
		w->control_fd = -1;
	}
}

static void serve_signal_noop(int sig ATTR_UNUSED)
{
}

static int serve_supervise(struct serve *s)
{
	s->workers = xcalloc(s->worker_count, sizeof(*s->workers));
	for (unsigned int i = 0; i < s->worker_count; i++) {
		s->workers[i].control_fd = -1;
		s->workers[i].adopter = -1;
		if (s->logins != NULL) {
			s->logins[i].control_fd = -1;
			s->logins[i].adopter = -1;
		}
	}
	s->supervisor_pid = getpid();

	/* signals are taken synchronously with sigtimedwait(); the handlers
	 * only make sure none of them is ignored */
	sigset_t set;
	sigemptyset(&set);
	struct sigaction sa = { .sa_handler = serve_signal_noop };
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < N_ELEMENTS(serve_signals); i++) {
		sigaddset(&set, serve_signals[i]);
		sigaction(serve_signals[i], &sa, NULL);
	}
	sigprocmask(SIG_BLOCK, &set, &s->old_mask);

	log_info("starting %u worker(s)%s", s->worker_count,
		 s->logins != NULL ? " and as many login processes" : "");
	for (;;) {
		uint64_t now = time_monotonic_ms();
		uint64_t wait = 1000;
		for (unsigned int i = 0; i < s->worker_count; i++) {
			struct serve_worker *w = &s->workers[i];
			if (w->pid != 0)
				continue;
			if (w->next_start_ms <= now) {
				serve_worker_start(s, w, NET_ROLE_WORKER);
				if (w->pid != 0)
					serve_end_adoption(s, w);
			}
			if (w->pid == 0 && w->next_start_ms > now)
				wait = ROOST_MIN(wait, w->next_start_ms - now);
		}
		for (unsigned int i = 0; s->logins != NULL && i < s->worker_count; i++) {
			struct serve_worker *w = &s->logins[i];
			if (w->pid == 0 && w->next_start_ms <= now)
				serve_worker_start(s, w, NET_ROLE_LOGIN);
			if (w->pid == 0 && w->next_start_ms > now)
				wait = ROOST_MIN(wait, w->next_start_ms - now);
		}
		serve_adopt_orphans(s);
		struct timespec ts = { .tv_sec = (time_t)(wait / 1000),
				       .tv_nsec = (long)(wait % 1000) * 1000000 };
		int sig = sigtimedwait(&set, NULL, &ts);
		if (sig == SIGCHLD) {
			serve_reap(s, false);
		} else if (sig == SIGHUP) {
			serve_reload(s);
		} else if (sig == SIGTERM || sig == SIGINT) {
			log_info("received %s: stopping", sig == SIGINT ? "SIGINT" : "SIGTERM");
			break;
		}
	}
	serve_stop_workers(s, &set);
	serve_signals_restore(s);
	free(s->workers);
	s->workers = NULL;
	log_info("stopped");
	return 0;
}

/* Each connection costs a socket, and a logged-in one the user's index
 * (3 descriptors) and mailbox files while they are read: the default soft
 * limit of 1024 descriptors would cap a worker at a few hundred clients.
 * Raise it to the hard limit. */
static void serve_raise_fd_limit(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
			log_warning("setrlimit(RLIMIT_NOFILE): %m");
	}
}

/* Descriptors open in this process now. */
static unsigned int serve_open_fds(void)
{
	unsigned int n = 0;
	DIR *d = opendir("/proc/self/fd");
	if (d == NULL)
		return 16;	/* a guess: stdio, listeners, log */
	while (readdir(d) != NULL)
		n++;
	closedir(d);
	/* ".", ".." and the directory's own descriptor */
	return n > 3 ? n - 3 : 0;
}

/* How many connections a worker can hold within the file descriptor
 * limit at SERVE_FDS_PER_CONNECTION_8THS each: a worker
 * that accepted until accept() failed with EMFILE would leave its
 * logged-in sessions unable to open their mail.  Lowers
 * config->max_connections to that, with a warning. */
static unsigned int serve_connection_budget(const struct roost_config *config)
{
	struct rlimit rl;
	unsigned int max = config->max_connections;
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur == RLIM_INFINITY)
		return max;
	uint64_t reserved = (uint64_t)serve_open_fds() + SERVE_FDS_PER_WORKER;
	uint64_t fit = rl.rlim_cur > reserved ?
		(rl.rlim_cur - reserved) * 8 / SERVE_FDS_PER_CONNECTION_8THS : 0;
	if (fit >= max)
		return max;
	if (fit == 0) {
		log_error("the file descriptor limit (%llu) leaves no room for connections: "
			  "serving one connection per worker at most; raise it (ulimit -n, "
			  "LimitNOFILE= in systemd)", (unsigned long long)rl.rlim_cur);
		return 1;
	}
	log_warning("the file descriptor limit (%llu) allows %llu connections per worker "
		    "(%.1f descriptors each for the socket and the mail store): serving at "
		    "most that many instead of max_connections = %u; raise the limit "
		    "(ulimit -n, LimitNOFILE= in systemd) to serve more",
		    (unsigned long long)rl.rlim_cur, (unsigned long long)fit,
		    SERVE_FDS_PER_CONNECTION_8THS / 8.0, max);
	return (unsigned int)fit;
}

/* The shared per-address table, if some listener's protocol has a login
 * and the limit is on, the networks exempt from it and the balancers that
 * may send PROXY headers.  Returns -1 (logged) for an invalid network or
 * a `proxy` listener without trusted networks. */
static int serve_peer_limit_create(struct serve *s)
{
	char *error;
	if (net_peer_networks_parse(s->config->max_preauth_connections_per_ip_exempt,
				    &s->peer_exempt, &error) < 0) {
		log_error("max_preauth_connections_per_ip_exempt: %s", error);
		free(error);
		return -1;
	}
	if (net_peer_networks_parse(s->config->proxy_trusted_networks, &s->proxy_trusted,
				    &error) < 0) {
		log_error("proxy_trusted_networks: %s", error);
		free(error);
		return -1;
	}
	for (size_t i = 0; i < s->config->listener_count; i++) {
		if (s->config->listeners[i].proxy &&
		    (s->config->proxy_trusted_networks == NULL ||
		     s->config->proxy_trusted_networks[strspn(s->config->proxy_trusted_networks,
							       " ,\t")] == '\0')) {
			log_error("a listener has `proxy` but proxy_trusted_networks is empty: "
				  "name the balancers' addresses");
			return -1;
		}
	}
	bool login = false;
	for (size_t i = 0; i < s->listener_count; i++) {
		if (s->listeners[i].protocol->has_login)
			login = true;
	}
	if (!login || s->config->max_preauth_connections_per_ip == 0)
		return 0;
	uint64_t addresses = (uint64_t)s->worker_count * s->max_connections;
	/* login process i counts as worker_count + i */
	s->peer_limit = net_peer_limit_create(
		(unsigned int)ROOST_MIN(addresses, SERVE_PEER_MAX_ADDRESSES),
		s->logins != NULL ? 2 * s->worker_count : s->worker_count);
	return 0;
}

/* login_processes: the TCP listeners of protocols that can hand their
 * connections over go to the login processes, and their user is looked
 * up.  Returns -1 (logged) if that user cannot be had. */
static int serve_logins_prepare(struct serve *s)
{
	bool any = false;
	for (size_t i = 0; i < s->listener_count; i++) {
		struct net_listen_fd *lfd = &s->listeners[i];
		if (lfd->unix_path == NULL && lfd->protocol->handoff != NULL) {
			lfd->login = true;
			any = true;
		}
	}
	if (!any)
		return 0;
	const char *user = s->config->login_user;
	char *error;
	if (privs_lookup(user, &s->login_privs, &error) < 0) {
		if (strcmp(user, "roost-login") != 0) {
			log_error("login_user: %s", error);
			free(error);
			return -1;
		}
		/* the default user was not created: nobody has no files
		 * either (README: create roost-login) */
		free(error);
		if (privs_lookup("nobody", &s->login_privs, &error) < 0) {
			log_error("login_user: %s", error);
			free(error);
			return -1;
		}
		log_warning("login_user roost-login does not exist: login processes run as "
			    "nobody");
	}
	if (s->login_privs.user_is_root) {
		log_error("login_user %s is root: refusing to run login processes as root", user);
		return -1;
	}
	s->logins = xcalloc(s->worker_count, sizeof(*s->logins));
	s->channel_spare = xmalloc(s->worker_count * sizeof(*s->channel_spare));
	for (unsigned int i = 0; i < s->worker_count; i++)
		s->channel_spare[i] = -1;
	return 0;
}

static void serve_logins_free(struct serve *s)
{
	for (unsigned int i = 0; s->channel_spare != NULL && i < s->worker_count; i++) {
		if (s->channel_spare[i] >= 0)
			close(s->channel_spare[i]);
	}
	free(s->channel_spare);
	s->channel_spare = NULL;
	free(s->logins);
	s->logins = NULL;
	privs_free(&s->login_privs);
}

int net_serve(const struct roost_config *config, const struct net_protocol *protocols,
	      bool single_process)
{
	struct serve s = { .config = config, .protocols = protocols };
	int ret = 1;

	signal(SIGPIPE, SIG_IGN);
	serve_raise_fd_limit();
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	s.worker_count = single_process ? 1 : config->workers != 0 ? config->workers :
			 (cpus > 0 ? (unsigned int)cpus : 1);
	if (serve_lookup_user(&s) < 0 || serve_bind_all(&s) < 0)
		goto out;
	if (!single_process && config->login_processes && serve_logins_prepare(&s) < 0)
		goto out;
	s.max_connections = serve_connection_budget(config);
	if (serve_peer_limit_create(&s) < 0)
		goto out;
	if (s.need_tls) {
		char *error;
		if (net_tls_pem_load(config->tls_cert, config->tls_key, &s.pem, NULL, &error) < 0 ||
		    net_tls_client_auth_init(config, &error) < 0) {
			log_error("%s", error);
			free(error);
			goto out;
		}
	}
	if (single_process) {
		if (serve_drop_privileges(&s) < 0)
			goto out;
		struct net_worker_setup setup = {
			.config = config,
			.protocols = protocols,
			.listeners = s.listeners,
			.listener_count = s.listener_count,
			.pem = s.pem,
			.control_fd = -1,
			.max_connections = s.max_connections,
			.peer_limit = s.peer_limit,
			.worker_index = 0,
			.peer_exempt = s.peer_exempt,
			.proxy_trusted = s.proxy_trusted,
		};
		memset(&s.pem, 0, sizeof(s.pem));	/* the worker frees it */
		ret = net_worker_main(&setup);
		net_tls_pem_free(&setup.pem);
	} else {
		ret = serve_supervise(&s);
	}
out:
	serve_close_listeners(&s);
	net_tls_pem_free(&s.pem);
	privs_free(&s.privs);
	serve_logins_free(&s);
	net_peer_limit_destroy(&s.peer_limit);
	net_peer_networks_free(&s.peer_exempt);
	net_peer_networks_free(&s.proxy_trusted);
	return ret;
}
