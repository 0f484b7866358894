/* net.h: connections, timers, background jobs and watches of readable
 * descriptors for the protocol code.
 *
 * libevent stays behind this header: protocols see a `struct net_conn`
 * with "input arrived", "output drained", "TLS ready" and "closed" events,
 * never a bufferevent.  Everything here runs on the worker's single event
 * loop; the only thread is the job pool behind net_job_run(), whose `work`
 * functions must not touch anything but their own context. */
#ifndef ROOST_NET_H
#define ROOST_NET_H

#include "base/base.h"

struct net_conn;
struct net_timer;
struct net_watch;

struct net_conn_callbacks {
	/* New input is buffered: read it with net_conn_input(). */
	void (*input)(struct net_conn *conn, void *ctx);
	/* Pending output fell below the low-water mark
	 * (net_conn_set_low_watermark); used to resume long responses. */
	void (*drained)(struct net_conn *conn, void *ctx);
	/* The peer closed, a read/write/TLS error happened, or
	 * net_conn_close() finished flushing.  The protocol must destroy
	 * its session and call net_conn_destroy(). `reason` is for the log. */
	void (*closed)(struct net_conn *conn, void *ctx, const char *reason);
	/* STARTTLS handshake finished (success) */
	void (*tls_ready)(struct net_conn *conn, void *ctx);
	/* Optional: no input for the idle timeout (net_conn_set_idle_timeout).
	 * The protocol may write a goodbye; the connection is then closed
	 * after flushing, and closed() follows.  Without it, closed(...,
	 * "timeout") is called at once. */
	void (*timeout)(struct net_conn *conn, void *ctx);
	/* Optional: the login deadline passed (see net_conn_login_done()).
	 * Like timeout: the protocol may write a goodbye, the connection is
	 * then closed after flushing.  Without it, or while a TLS handshake
	 * is running (no goodbye can be written then), closed(...,
	 * "login timeout") is called at once. */
	void (*login_timeout)(struct net_conn *conn, void *ctx);
};

/* Sets the protocol's callbacks and context; called by the protocol's
 * accept handler. */
void net_conn_set_callbacks(struct net_conn *conn, const struct net_conn_callbacks *cb,
			    void *ctx);
/* Frees the connection (closing the socket).  Sets *conn to NULL. */
void net_conn_destroy(struct net_conn **conn);

/* A short id for log lines ("a1b2c3"), the peer's address ("192.0.2.1" or
 * "[::1]" style without port) and whether the peer is on loopback or a
 * UNIX socket. */
const char *net_conn_id(struct net_conn *conn);
const char *net_conn_remote_ip(struct net_conn *conn);
bool net_conn_is_local(struct net_conn *conn);
/* True once TLS is up (implicit TLS, or after STARTTLS). */
bool net_conn_is_tls(struct net_conn *conn);
/* True if a TLS context is configured, so STARTTLS can be offered. */
bool net_conn_can_starttls(struct net_conn *conn);

/* The local address ("192.0.2.1", "" for UNIX sockets) and both ports
 * (0 for UNIX sockets).  After a PROXY protocol header (see
 * net_conn_set_addresses) these are the client's and the address it
 * connected to, not the balancer's. */
const char *net_conn_local_ip(struct net_conn *conn);
unsigned int net_conn_remote_port(struct net_conn *conn);
unsigned int net_conn_local_port(struct net_conn *conn);
/* Replaces the addresses the connection reports (a PROXY protocol header
 * from a trusted balancer, or the state a login process hands over);
 * is_local, the per-address limits and throttling then use the new
 * remote address.  `local_ip` NULL keeps the local address. */
void net_conn_set_addresses(struct net_conn *conn, const char *remote_ip,
			    unsigned int remote_port, const char *local_ip,
			    unsigned int local_port);
/* Marks a plaintext socket as secured by TLS terminated before it (by a
 * login process that proxies the TLS connection, or a PROXY v2 header
 * with PP2_CLIENT_SSL from a trusted balancer): net_conn_is_tls() is then
 * true and STARTTLS is not offered. */
void net_conn_set_secured(struct net_conn *conn);

/* TLS channel bindings of the connection (RFC 9266 "tls-exporter": 32
 * bytes of the exporter with label "EXPORTER-Channel-Binding" and no
 * context; RFC 5929 "tls-server-end-point": the hash of the server's
 * certificate with its signature's hash, SHA-256 for MD5/SHA-1).
 * Copies at most `size` bytes to `buf` and returns the length, or 0 when
 * the connection has no TLS or the binding cannot be had (tls-exporter
 * over TLS 1.2 without extended master secret, RFC 9266 section 3). */
enum net_tls_binding { NET_TLS_BINDING_EXPORTER, NET_TLS_BINDING_SERVER_END_POINT };
size_t net_conn_tls_channel_binding(struct net_conn *conn, enum net_tls_binding type,
				    unsigned char *buf, size_t size);
/* The user name from the client's TLS certificate, if it sent one that
 * verified against tls_client_ca: the field config->auth_ssl_username_from
 * names (commonName by default, or emailAddress, or the first rfc822Name
 * subjectAltName).  NULL when there is none. */
const char *net_conn_tls_cert_user(struct net_conn *conn);

/* Buffered input: returns a pointer to the first *len_r contiguous bytes
 * (at most `max`; all buffered bytes if fewer), valid until the next
 * net_conn_* call.  Returns NULL with *len_r = 0 when nothing is buffered. */
const unsigned char *net_conn_input(struct net_conn *conn, size_t max, size_t *len_r);
/* Removes n bytes from the front of the input buffer. */
void net_conn_input_skip(struct net_conn *conn, size_t n);
size_t net_conn_input_len(struct net_conn *conn);
/* Stops delivering input (it stays buffered) or starts again.  While
 * paused the socket is still read a little ahead and its idle timeout
 * does not run: a reset or error of the connection is reported (closed)
 * at once; an EOF (the client may have only shut down its sending side)
 * is reported after the input before it has been delivered, once
 * unpaused. */
void net_conn_input_pause(struct net_conn *conn, bool pause);

/* Queues output; it is sent as the socket allows. */
void net_conn_write(struct net_conn *conn, const void *data, size_t size);
void net_conn_printf(struct net_conn *conn, const char *fmt, ...) ATTR_PRINTF(2, 3);
/* Bytes queued and not yet sent. */
size_t net_conn_output_len(struct net_conn *conn);
/* The drained callback fires when output goes from above to at/below
 * `low` bytes (default 0: when all is written). */
void net_conn_set_low_watermark(struct net_conn *conn, size_t low);

/* Starts TLS on a plaintext connection once queued output is written:
 * buffered plaintext input is discarded (RFC 9051 6.2.1), and tls_ready
 * fires after the handshake (closed on failure).  Returns -1 if TLS is
 * not configured. */
int net_conn_starttls(struct net_conn *conn);

/* Closes after queued output is written; the closed callback follows. */
void net_conn_close(struct net_conn *conn);

/* Inactivity timeout: when no input arrives for `secs` seconds (0
 * disables), the timeout callback runs (see struct net_conn_callbacks),
 * or closed("timeout") when there is none.  Output that cannot be written
 * for that long also ends the connection with closed("timeout"). */
void net_conn_set_idle_timeout(struct net_conn *conn, unsigned int secs);

/* Connections of a protocol with a login (net_protocol.has_login) start
 * unauthenticated: from the moment they are accepted (TLS handshake,
 * STARTTLS and SASL exchanges included) they have config->login_timeout
 * seconds to log in, however busy they keep the line, and they count
 * against config->max_preauth_connections_per_ip.  The protocol calls
 * this when the client has logged in: the deadline ends and the
 * connection no longer counts.  Idempotent; a no-op for other
 * connections. */
void net_conn_login_done(struct net_conn *conn);

/* ---- timers ---- */
typedef void net_timer_callback(void *ctx);
/* Calls cb after `msecs`, once or (repeat) every `msecs`. */
struct net_timer *net_timer_create(unsigned int msecs, bool repeat,
				   net_timer_callback *cb, void *ctx);
void net_timer_destroy(struct net_timer **timer);

/* ---- background jobs ---- */
/* Runs work(ctx) on a helper thread, then done(ctx) on the event loop.
 * For blocking work only (password hashing).  `work` must not call any
 * net_ function nor touch data the loop uses.  If the pool is not running
 * (CLI tools, tests), work runs inline and done is called before return. */
void net_job_run(void (*work)(void *ctx), void (*done)(void *ctx), void *ctx);

/* ---- readable descriptors ---- */
typedef void net_watch_callback(void *ctx);
/* Calls cb(ctx) whenever `fd` (owned by the caller, open until the watch
 * is destroyed) is readable.  With delay_msecs > 0 the call comes that
 * long after the fd became readable, once for all that arrived
 * meanwhile.  cb must drain the fd or it is called again; it may
 * destroy the watch.  Needs the worker's loop (net_worker_init). */
struct net_watch *net_watch_create(int fd, unsigned int delay_msecs, net_watch_callback *cb,
				   void *ctx);
/* Stops calling; NULL is a no-op.  Sets *watch to NULL. */
void net_watch_destroy(struct net_watch **watch);

/* ---- serving (net/serve.c, net/worker.c) ---- */
struct roost_config;

/* Why a connection is refused before its protocol's session starts. */
enum net_refusal {
	/* this worker serves max_connections (or all the file descriptors
	 * allow) */
	NET_REFUSAL_BUSY,
	/* the address has max_preauth_connections_per_ip connections that
	 * have not logged in yet */
	NET_REFUSAL_ADDRESS,
};

/* A protocol that listeners of `config.listeners[].protocol == name`
 * hand their connections to. */
struct net_protocol {
	const char *name;	/* "imap" */
	/* Clients log in: login_timeout and max_preauth_connections_per_ip
	 * apply to a connection until the protocol calls
	 * net_conn_login_done() (see there).  LMTP has no login. */
	bool has_login;
	/* Optional: the line (with CRLF, static) written before closing a
	 * refused connection on a plaintext or STARTTLS listener, e.g.
	 * "* BYE Too many connections from your address.\r\n".  On an
	 * implicit TLS listener, and without it, the connection is closed
	 * without a word (a TLS handshake is not spent on a refusal). */
	const char *(*refusal)(enum net_refusal why);
	/* In each worker after it started (privileges dropped): set up
	 * per-worker state (user database, ...). */
	void (*worker_init)(const struct roost_config *config);
	/* A new connection: the protocol sets its callbacks and greets.
	 * For implicit TLS this is called after the handshake. */
	void (*accept)(struct net_conn *conn, const struct roost_config *config);
	/* SIGHUP reached the worker: reload what can be reloaded (the
	 * certificate is reloaded by net itself). */
	void (*reload)(void);
	/* Optional: a connection a login process authenticated and handed
	 * over (net/login.c) for `user`, whom this worker's own user
	 * database check proved on that login process's channel.  The
	 * protocol starts the session logged in and answers the login
	 * command; `state` is what the protocol's login process code
	 * passed to net_conn_handoff() (not trusted: check it); `read_only`
	 * as the login said (ANONYMOUS).  The
	 * client's bytes after the login command are buffered input.
	 * Without it the protocol's listeners stay in the workers. */
	void (*handoff)(struct net_conn *conn, const struct roost_config *config,
			const char *user, bool read_only, const unsigned char *state,
			size_t state_len);
	/* SIGTERM: stop the sessions cleanly (let a running command finish,
	 * say BYE, close).  The worker exits when its last connection is
	 * gone, or after a grace period. */
	void (*shutdown)(void);
};

/* Runs the server: binds every listener, drops privileges to
 * config->user when started as root, starts config->workers worker
 * processes (restarting any that crash) and returns when the server has
 * been stopped by SIGTERM/SIGINT.  It stays in the foreground (systemd
 * style) and logs to stderr unless config->log_syslog.  With
 * `single_process` (roost serve --foreground, for debugging) there is no
 * supervisor: one worker loop runs in this process.  Returns a process
 * exit code. `protocols` ends with an entry whose name is NULL. */
int net_serve(const struct roost_config *config, const struct net_protocol *protocols,
	      bool single_process);

/* ---- login processes (net/login.c) ----
 *
 * With login_processes on, login process i accepts the IMAP connections,
 * runs TLS and everything before login in a sandbox, and relays password
 * checks to worker i over a channel; on success it hands the connection
 * over.  These calls are the auth layer's and the protocols' part. */
enum net_login_role {
	NET_LOGIN_NONE,		/* no login processes: everything is here */
	NET_LOGIN_WORKER,	/* a worker paired with a login process */
	NET_LOGIN_PROCESS,	/* a login process */
};
/* What this process is; set before the protocols' worker_init. */
enum net_login_role net_login_role(void);
/* Sends one message (at most 64 KiB) to the partner process.  Returns 0,
 * or -1 when there is no channel now or it is full. */
int net_login_send(const void *data, size_t len);
/* `message`: a message from the partner (HANDOFF messages excepted,
 * net handles those).  `reset`: the channel was lost or replaced by a new
 * one (the partner was restarted): everything in flight on the old one is
 * void.  `claim` (worker): a login process hands over a connection with
 * `auth_id`: return the user this process authenticated on the channel
 * under that id (allocated; the claim is used up) and whether that login
 * is read-only, or NULL to refuse.
 * One handler per process; a second call replaces the first, NULL
 * functions remove it. */
typedef void net_login_message_cb(const unsigned char *data, size_t len, void *ctx);
typedef void net_login_reset_cb(void *ctx);
typedef char *net_login_claim_cb(uint32_t auth_id, bool *read_only_r, void *ctx);
void net_login_set_handler(net_login_message_cb *message, net_login_reset_cb *reset,
			   net_login_claim_cb *claim, void *ctx);
/* In a login process: hands `conn` over to the worker once its queued
 * output is written: the client socket itself (plaintext), or for TLS one
 * end of a socket pair through which this process then relays the
 * decrypted bytes.  The buffered input (the client's bytes after the
 * login command) goes along.  `protocol` names the net_protocol whose
 * handoff() the worker calls; `state` (at most 4 KiB) is passed to it.
 * The connection's closed() callback follows (reason "handed over", or
 * an error): the protocol then destroys its session as usual. */
void net_conn_handoff(struct net_conn *conn, uint32_t auth_id, const char *protocol,
		      const void *state, size_t state_len);

/* Number of connections this worker currently serves. */
unsigned int net_worker_connection_count(void);

#endif
