/* net-private.h: what the files of src/net share, and what the unit
 * tests of src/net use to drive a worker loop by hand.
 *
 * Only src/net and unit tests that drive a worker loop (test-net.c,
 * test-userdb-ldap.c) include this header: it exposes libevent and
 * OpenSSL types, which protocol code must never see. */
#ifndef ROOST_NET_PRIVATE_H
#define ROOST_NET_PRIVATE_H

#include "net.h"

#include <sys/socket.h>
#include <event2/event.h>
#include <openssl/ssl.h>

struct conf_listener;

/* ---- worker.c: the per-process event loop ---- */

/* Creates this process's event loop (idempotent).  Timers, jobs and
 * watches need it; without it jobs run inline, and creating a timer or
 * a watch panics. */
void net_worker_init(void);
/* The loop, or NULL before net_worker_init(). */
struct event_base *net_worker_base(void);
/* Runs the loop until net_worker_stop() (or until nothing is left to
 * wait for).  Returns 0, or -1 if the loop failed. */
int net_worker_run(void);
/* Makes net_worker_run() return after the current callback. */
void net_worker_stop(void);
/* Stops the job pool, frees the TLS context and the loop.  Connections, timers and watches must be gone. */
void net_worker_deinit(void);

/* The TLS context for new connections and for STARTTLS (NULL: none).
 * set_tls_ctx takes a reference of its own. */
SSL_CTX *net_worker_tls_ctx(void);
void net_worker_set_tls_ctx(SSL_CTX *ctx);

/* conn.c tells the worker when connections come and go. */
void net_worker_conn_added(void);
void net_worker_conn_removed(void);
/* conn.c: a connection counted against max_preauth_connections_per_ip
 * logged in or ended: the worker uncounts its address. */
struct net_peer_key;
void net_worker_peer_release(const struct net_peer_key *key);
/* conn.c: a counted connection's address changed (net_conn_set_addresses):
 * counts it for `key` without applying the limit.  Returns true if it is
 * counted (release it later), false if there is no table or it is full. */
bool net_worker_peer_count(const struct net_peer_key *key);

/* Certificate chain and private key as read from their files. */
struct net_tls_pem {
	char *cert;
	size_t cert_len;
	char *key;
	size_t key_len;
};

/* A listening socket handed from serve.c to the worker. */
struct net_listen_fd {
	int fd;
	const struct conf_listener *conf;
	const struct net_protocol *protocol;
	char *unix_path;	/* UNIX socket path to unlink at exit, or NULL */
	/* -1: every worker accepts on it (UNIX sockets, a single worker);
	 * else the worker whose own socket of a SO_REUSEPORT group it is.
	 * Every worker inherits all of them: it accepts on another
	 * worker's only while it adopts them (net_control_adopt). */
	int worker;
	/* served by the login processes, not the workers (IMAP over TCP
	 * while login_processes is on) */
	bool login;
};

/* What a process started by the supervisor is. */
enum net_role {
	NET_ROLE_WORKER,	/* a worker (or the single process) */
	NET_ROLE_LOGIN,		/* a login process (net/login.c) */
};
struct privs;

/* What a worker process (or the single process) needs to run. */
struct net_worker_setup {
	const struct roost_config *config;
	const struct net_protocol *protocols;
	struct net_listen_fd *listeners;
	size_t listener_count;
	/* PEM bytes of the certificate chain and key (cert NULL: no TLS).
	 * The worker wipes and frees them after building its context. */
	struct net_tls_pem pem;
	/* SOCK_SEQPACKET socket to the supervisor, or -1 (single process:
	 * SIGHUP re-reads the files itself). */
	int control_fd;
	/* config->max_connections, lowered to what the file descriptor
	 * limit allows (net_serve_connection_budget) */
	unsigned int max_connections;
	/* pre-login connections per address, shared by all workers (NULL:
	 * max_preauth_connections_per_ip = 0), and this worker's index in
	 * it */
	struct net_peer_limit *peer_limit;
	unsigned int worker_index;
	/* max_preauth_connections_per_ip_exempt, parsed (NULL: none) */
	const struct net_peer_networks *peer_exempt;
	/* this process's index in peer_limit (worker_index for workers,
	 * worker count + index for login processes) */
	unsigned int peer_index;
	enum net_role role;
	/* SOCK_SEQPACKET channel between worker i and login process i, or
	 * -1 (no login processes, or not paired yet: it comes later in a
	 * net_control_channel message) */
	int login_fd;
	/* a worker paired with a login process (login_fd may still be -1) */
	bool paired;
	/* NET_ROLE_LOGIN: the user to become (net_sandbox_enter) */
	const struct privs *login_privs;
	/* proxy_trusted_networks, parsed (NULL: none) */
	const struct net_peer_networks *proxy_trusted;
};

/* The setup net_worker_main() runs with (NULL outside it). */
const struct net_worker_setup *net_worker_setup(void);

/* Runs a worker: protocol worker_init, accept loop, SIGTERM handling.
 * Returns an exit code. */
int net_worker_main(struct net_worker_setup *setup);

/* Control message from supervisor to worker: "reload", carrying the new
 * certificate and key (both lengths 0: keep the current context). */
struct net_control_header {
	char type;		/* 'R' */
	uint32_t cert_len;
	uint32_t key_len;
};

/* Control message from supervisor to worker: worker `worker` is down,
 * accept on its listening sockets too (adopt 1), or it is back, stop
 * (adopt 0).  Connections the kernel hashed to a dead worker's socket
 * are served at once instead of after its restart. */
struct net_control_adopt {
	char type;		/* 'A' */
	uint32_t worker;
	uint32_t adopt;
};

/* Control message from supervisor to worker or login process: the
 * channel to the partner process is a new socket, passed with
 * SCM_RIGHTS (the partner was restarted). */
struct net_control_channel {
	char type;		/* 'C' */
};

/* ---- login.c: the channel between a worker and its login process ---- */

/* Starts using `fd` as the channel (replacing and closing the one before:
 * requests on the old one are dropped, see net_login_set_handler).  Needs
 * the loop.  role: what this process is. */
void net_login_channel_set(enum net_role role, int fd);
/* Sets what this process is (net_login_role()) before a channel exists. */
void net_login_channel_mark(enum net_role role);
/* Closes the channel, if any (at the end of net_worker_main). */
void net_login_channel_close(void);
/* Login process: hands a connection over, with SCM_RIGHTS carrying
 * `fd`.  Returns 0 or -1 (errno). */
struct net_handoff_header;
int net_login_send_handoff(const struct net_handoff_header *hdr, const void *state,
			   size_t state_len, const void *input, size_t input_len, int fd);
/* Login process: relays bytes between a TLS bufferevent (which the proxy
 * now owns, with its input still to be forwarded) and the local end of a
 * socket pair to the worker, until either side ends.  Counts as a
 * connection of this process while it runs. */
struct bufferevent;
void net_login_proxy_start(struct bufferevent *client, int worker_fd);

/* Login process, tests only: the ROOST_TEST_LOGIN_* hooks (login.c).
 * net_login_test_forge() returns true if it took the connection. */
void net_login_test_hooks(void);
bool net_login_test_forge(struct net_conn *conn, const char *protocol);

/* The fixed part of a HANDOFF message; the protocol's state and the
 * client's bytes after the login command follow. */
struct net_handoff_header {
	char type;		/* 'H' */
	uint8_t secured;	/* TLS ended in the login process */
	uint16_t remote_port, local_port;
	uint32_t auth_id;	/* the worker's OK on this channel */
	uint32_t state_len, input_len;
	char protocol[16];
	char remote_ip[64], local_ip[64];
};
/* The largest HANDOFF message: the client's bytes after the login
 * command are at most what a paused connection reads ahead. */
#define NET_HANDOFF_MAX (256 * 1024)

/* ---- fdpass.c ---- */

struct iovec;
/* Sends one message made of iov[0..iov_count) with `fd` attached
 * (SCM_RIGHTS), without blocking.  Returns sendmsg()'s result. */
ssize_t net_fd_send(int sock, const struct iovec *iov, size_t iov_count, int fd);
/* Receives one message of at most `size` bytes without blocking;
 * *fd_r is the descriptor it carried (close-on-exec) or -1 (extra ones
 * are closed).  Returns recvmsg()'s result. */
ssize_t net_fd_recv(int sock, void *buf, size_t size, int *fd_r);

/* ---- sandbox.c ---- */

/* Confines this login process for good (see sandbox.c): chroot and
 * privs->user when root, no_new_privs, Landlock, seccomp.  Returns 0, or
 * -1 (logged) if a step that should work failed: the process must exit. */
int net_sandbox_enter(const struct privs *privs);

/* ---- conn.c ---- */

/* Wraps an accepted, nonblocking socket (the connection owns it from now
 * on).  `can_starttls`: the listener allows STARTTLS.  With `tls_ctx`
 * the TLS handshake starts at once (implicit TLS) and tls_ready fires when
 * it is done.  Never fails. */
struct net_conn *net_conn_create(int fd, const struct sockaddr *addr, socklen_t addrlen,
				 bool can_starttls, SSL_CTX *tls_ctx);

/* A PROXY protocol header gave the client's address (`remote`) and the one
 * it connected to (`local`), both AF_INET or AF_INET6: the connection
 * reports them from now on.  Call before net_conn_start_login(). */
void net_conn_set_sockaddrs(struct net_conn *conn, const struct sockaddr *remote,
			    const struct sockaddr *local);

/* Connections of a protocol with a login: starts the login deadline
 * (secs, 0: none) and, if `peer_key` is not NULL, marks the connection as
 * counted against that address, to be released through
 * net_worker_peer_release() at net_conn_login_done() or destruction. */
void net_conn_start_login(struct net_conn *conn, unsigned int secs,
			  const struct net_peer_key *peer_key);

/* Creates a connection for a socket a login process handed over
 * (net_login.c): addresses and TLS state from the header, `input` (the
 * client's bytes after its login command) as if read already. */
struct net_conn *net_conn_create_handed(int fd, const struct net_handoff_header *hdr,
					const void *input, size_t input_len);

/* ---- peer-limit.c: connections per address across workers ---- */

/* An address as the per-address limit counts it: IPv4 (and IPv4-mapped
 * IPv6) whole, IPv6 by its /64 network, since one client usually holds a
 * whole /64.  Compared with memcmp: zero the padding (the constructor
 * does). */
struct net_peer_key {
	uint8_t family;		/* 4 or 6 */
	uint8_t addr[8];
};

/* Fills *key_r from an accepted socket's address.  Returns false for
 * addresses that are not counted (UNIX sockets, unknown families). */
bool net_peer_key_from_sockaddr(const struct sockaddr *addr, socklen_t addrlen,
				struct net_peer_key *key_r);

struct net_peer_limit;

/* Makes a table for up to `max_addresses` different addresses with
 * connections at once, shared with every process forked afterwards, for
 * workers 0 .. worker_count-1.  Aborts if the memory cannot be had.  Free
 * (in each process) with net_peer_limit_destroy(), which sets *limit to
 * NULL. */
struct net_peer_limit *net_peer_limit_create(unsigned int max_addresses,
					     unsigned int worker_count);
void net_peer_limit_destroy(struct net_peer_limit **limit);
/* Counts a new connection of `worker` from `key`, unless the address has
 * `limit` connections counted already (in all workers together).
 * Returns 1 if counted, 0 if refused (nothing counted), -1 if not counted
 * because the table holds max_addresses addresses already: let it in
 * uncounted, and do not remove it later. */
int net_peer_limit_add(struct net_peer_limit *limit, unsigned int worker,
		       const struct net_peer_key *key, unsigned int max);
/* One counted connection of `worker` from `key` ended (or logged in). */
void net_peer_limit_remove(struct net_peer_limit *limit, unsigned int worker,
			   const struct net_peer_key *key);
/* Connections counted for `key` in all workers. */
unsigned int net_peer_limit_count(struct net_peer_limit *limit, const struct net_peer_key *key);
/* `worker` died: forgets every connection it had counted (the supervisor
 * calls this before starting its replacement).  Returns how many. */
unsigned int net_peer_limit_release_worker(struct net_peer_limit *limit, unsigned int worker);

/* CIDR blocks exempt from the per-address limit. */
struct net_peer_networks;
/* Parses a list of CIDR blocks separated by spaces or commas
 * ("127.0.0.0/8 ::1, 2001:db8::/32"; a bare address is a /32 or /128).
 * Returns 0 with the set in *nets_r (empty for an empty or NULL list; free
 * with net_peer_networks_free, which sets *nets to NULL), or -1 with
 * *error_r (allocated) naming the first invalid block. */
int net_peer_networks_parse(const char *list, struct net_peer_networks **nets_r,
			    char **error_r);
/* True if addr (IPv4, IPv6; an IPv4-mapped IPv6 address as IPv4) is in
 * one of the blocks.  False for NULL sets and other families. */
bool net_peer_networks_match(const struct net_peer_networks *nets, const struct sockaddr *addr,
			     socklen_t addrlen);
void net_peer_networks_free(struct net_peer_networks **nets);

/* ---- tls.c ---- */

/* Builds a server context (TLS 1.2+, no compression, small buffers) from
 * PEM bytes: the certificate followed by its chain, and the private key.
 * Returns NULL with *error_r (allocated) on failure. */
SSL_CTX *net_tls_ctx_create(const char *cert_pem, size_t cert_len, const char *key_pem,
			    size_t key_len, char **error_r);
/* Reads a whole file of at most 1 MB.  Returns 0, or -1 with *error_r
 * (allocated, naming the file). */
int net_tls_read_file(const char *path, char **data_r, size_t *len_r, char **error_r);
/* Frees key material after wiping it; sets *data to NULL. */
void net_tls_free_secret(char **data, size_t len);
/* Reads the certificate and key files and checks that they make a
 * context.  Returns 0 (and the context in *ctx_r if ctx_r is not NULL),
 * or -1 with *error_r (allocated).  Free with net_tls_pem_free(). */
int net_tls_pem_load(const char *cert_path, const char *key_path, struct net_tls_pem *pem_r,
		     SSL_CTX **ctx_r, char **error_r);
/* Wipes and frees both; the struct is zeroed. */
void net_tls_pem_free(struct net_tls_pem *pem);
/* The last OpenSSL error as text (static buffer), clearing the queue. */
const char *net_tls_last_error(void);

/* Client certificates (tls_client_ca, tls_require_client_cert,
 * auth_ssl_username_from): net_tls_client_auth_init() keeps `config`
 * (which must outlive the process's contexts) and reads the CA file;
 * every context net_tls_ctx_create() makes afterwards asks clients for
 * a certificate when tls_client_ca is set.  Without tls_require_client_cert
 * a certificate that does not verify does not stop the handshake; it
 * just gives no user.  Returns 0, or -1 with *error_r (allocated).  A
 * second call with the same config does nothing (workers inherit what
 * the supervisor read). */
int net_tls_client_auth_init(const struct roost_config *config, char **error_r);
/* The channel binding `type` of the TLS connection `ssl` (see
 * net_conn_tls_channel_binding()). */
size_t net_tls_channel_binding(SSL *ssl, enum net_tls_binding type, unsigned char *buf,
			       size_t size);
/* The user name of `ssl`'s client certificate if it verified (see
 * net_conn_tls_cert_user()), written to buf; NULL when none. */
const char *net_tls_cert_user(SSL *ssl, char *buf, size_t size);

/* ---- job.c: per-worker teardown ---- */
void net_job_deinit(void);

#endif
