/* conf.h: the configuration of `roost serve` and the CLI tools.
 *
 * A config file holds `key = value` lines; `#` starts a comment; `listen`
 * and `imapsieve_mailbox` may be repeated.  Every key has a default, so no file is needed.  The
 * reference of every key is doc/roost.conf.5 (keep them in step).
 * Relative paths are relative to the directory of the config file. */
#ifndef ROOST_CONF_H
#define ROOST_CONF_H

#include "base/base.h"

enum conf_tls_mode { CONF_TLS_NONE, CONF_TLS_STARTTLS, CONF_TLS_IMPLICIT };
/* submission_tls: never; STARTTLS when offered, certificate not
 * checked; STARTTLS required and the certificate verified */
enum conf_submission_tls { CONF_SUBMISSION_TLS_NO, CONF_SUBMISSION_TLS_STARTTLS,
			   CONF_SUBMISSION_TLS_REQUIRED };
/* auth_ssl_username_from: the client certificate field naming the user */
enum conf_ssl_username_from { CONF_SSL_USERNAME_CN, CONF_SSL_USERNAME_EMAIL,
			      CONF_SSL_USERNAME_SAN_EMAIL };
enum conf_plaintext_auth { CONF_PLAINTEXT_LOCAL, CONF_PLAINTEXT_ALWAYS, CONF_PLAINTEXT_NEVER };

struct conf_listener {
	char *protocol;		/* "imap", "lmtp", "managesieve" */
	char *address;		/* "127.0.0.1", "::1", "*" (all IPv4+IPv6), or a UNIX socket path starting with '/' */
	unsigned int port;	/* 0 for UNIX sockets */
	enum conf_tls_mode tls;
	/* `proxy`: every connection starts with a PROXY protocol header
	 * from a balancer in proxy_trusted_networks (TCP listeners only) */
	bool proxy;
	/* UNIX sockets: permission bits and "user[:group]" owner ("" = the
	 * server's), from lmtp_socket_mode/lmtp_socket_owner for lmtp */
	unsigned int socket_mode;
	char *socket_owner;
};

/* imapsieve (RFC 6785): one `imapsieve_mailbox` line */
enum conf_imapsieve_cause {
	CONF_IMAPSIEVE_APPEND = 1 << 0,
	CONF_IMAPSIEVE_COPY = 1 << 1,	/* COPY and MOVE */
	CONF_IMAPSIEVE_FLAG = 1 << 2,
};
struct conf_imapsieve {
	char *mailbox;		/* the mailbox (UTF-8, INBOX any case), "*" = every one */
	unsigned int causes;	/* enum conf_imapsieve_cause */
	char *script;		/* the script file (absolute) */
	/* COPY/MOVE only from this mailbox ("*" = any); NULL = no condition */
	char *from;
};

struct roost_config {
	char *path;		/* the file read, or NULL for defaults */
	char *data_dir;		/* data_dir = /var/lib/roost */
	char *user;		/* user = roost; "" = do not change user */
	unsigned int workers;	/* workers = 0 (0 = number of CPUs) */
	/* login_processes = yes: one login process per worker runs TLS and
	 * everything before login for IMAP (net/login.c) */
	bool login_processes;
	char *login_user;	/* login_user = roost-login (fallback nobody) */
	char *log_level;	/* log_level = info */
	bool log_syslog;	/* log_syslog = no */
	bool log_json;		/* log_format = text; json: one JSON object a line */
	/* userdb = <data_dir>/passwd: the user database chain (auth/userdb.h),
	 * sources separated by spaces, passwd-file paths made absolute */
	char *userdb;
	/* the first passwd-file of the chain (what `roost user` edits), or
	 * NULL when the chain has none */
	char *passwd_file;
	/* auth_mechanisms = (empty: every default mechanism): SASL names,
	 * space-separated, checked by auth_config_check() */
	char *auth_mechanisms;
	/* auth_master_users = (empty): users who may log in as anyone with
	 * an authorization identity (PLAIN's authzid) */
	char *auth_master_users;
	/* auth_anonymous_user = (empty): the account ANONYMOUS logs into,
	 * read-only */
	char *auth_anonymous_user;
	/* auth_failure_log = normal; fail2ban adds one stable line per
	 * failure */
	bool auth_failure_log_fail2ban;
	char *tls_cert;		/* tls_cert = <data_dir>/tls/cert.pem */
	char *tls_key;		/* tls_key = <data_dir>/tls/key.pem */
	/* TLS client certificates (EXTERNAL): the CA file they must verify
	 * against ("": none asked for), whether a connection without a
	 * verified one is refused, and the field naming the user */
	char *tls_client_ca;		/* tls_client_ca = (empty: none asked for) */
	bool tls_require_client_cert;	/* tls_require_client_cert = no */
	enum conf_ssl_username_from auth_ssl_username_from;	/* = commonName */
	/* SCRAM: PBKDF2 rounds of keys made by `roost user` and from
	 * {PLAIN} passwords, and shown for unknown users */
	unsigned int auth_scram_iterations;	/* auth_scram_iterations = 4096 */
	/* DIGEST-MD5: the realms offered (space-separated; "": the host
	 * name) */
	char *auth_realms;		/* auth_realms = (empty: host name) */
	struct conf_listener *listeners;
	size_t listener_count;	/* default: imap *:143 starttls, imap *:993 implicit */
	enum conf_plaintext_auth plaintext_auth;	/* plaintext_auth = local */
	bool fsync;		/* fsync = yes */
	/* qresync_tombstones = 20000: expunge tombstones kept per mailbox */
	unsigned int qresync_tombstones;
	/* the mail store: the backend and each backend's own keys */
	char *store;		/* store = maildir */
	char *maildir_root;	/* maildir_root = <data_dir>/users */
	/* store_offload = auto; always: every store request runs on the
	 * worker's threads, as a blocking backend's do (for tests) */
	bool store_offload_always;
	uint64_t max_line_length;	/* max_line_length = 64K (min 8K) */
	uint64_t max_append_size;	/* max_append_size = 64M */
	uint64_t max_preauth_literal;	/* max_preauth_literal = 8K */
	unsigned int max_bad_commands;	/* max_bad_commands = 10 */
	unsigned int max_auth_failures;	/* max_auth_failures = 3 */
	unsigned int auth_failure_delay_max;	/* auth_failure_delay_max = 15 (s) */
	/* Kerberos (GSSAPI, RFC 4752) */
	char *auth_gssapi_keytab;	/* auth_gssapi_keytab = /etc/krb5.keytab */
	char *auth_gssapi_hostname;	/* auth_gssapi_hostname = (empty: the host's name; "*": any) */
	char *auth_gssapi_realms;	/* auth_gssapi_realms = (empty: the default realm) */
	/* OAuth 2.0 (OAUTHBEARER RFC 7628, XOAUTH2): JWT access tokens */
	char *auth_oauth_jwks;		/* auth_oauth_jwks = (empty: OAuth off) */
	char *auth_oauth_issuer;	/* auth_oauth_issuer = (empty: not checked) */
	char *auth_oauth_audience;	/* auth_oauth_audience = (empty: not checked) */
	char *auth_oauth_username_claim;	/* auth_oauth_username_claim = email */
	unsigned int auth_oauth_leeway;	/* auth_oauth_leeway = 30 (s) */
	char *auth_oauth_scope;		/* auth_oauth_scope = (empty: not checked) */
	char *auth_oauth_openid_configuration;	/* = (empty: not in errors) */
	unsigned int preauth_timeout;	/* preauth_timeout = 60 (s) */
	unsigned int login_timeout;	/* login_timeout = 120 (s from connect to login) */
	unsigned int autologout;	/* autologout = 1800 (s; at least 1800 per RFC 9051) */
	unsigned int max_connections;	/* max_connections = 10000 (per worker) */
	unsigned int max_preauth_connections_per_ip;	/* = 100 (all workers; 0 = no limit) */
	char *max_preauth_connections_per_ip_exempt;	/* = (empty: none; CIDR list) */
	/* delivery (LMTP, roost deliver) */
	char *recipient_delimiter;	/* recipient_delimiter = + ("" = none) */
	bool lmtp_detail_folder;	/* lmtp_detail_folder = no */
	bool lmtp_single_copy;		/* lmtp_single_copy = yes */
	char *lmtp_local_domains;	/* lmtp_local_domains = (empty: any) */
	/* proxy_trusted_networks = (none): who may send a PROXY header on a
	 * `proxy` listener */
	char *proxy_trusted_networks;
	bool proxy_trust_tls;	/* proxy_trust_tls = no: PP2_CLIENT_SSL counts as TLS */
	char *lmtp_trusted_networks;	/* lmtp_trusted_networks = 127.0.0.0/8 ::1 */
	uint64_t lmtp_max_message_size;	/* lmtp_max_message_size = 64M */
	unsigned int lmtp_max_recipients;	/* lmtp_max_recipients = 100 */
	unsigned int lmtp_timeout;	/* lmtp_timeout = 300 (s) */
	unsigned int lmtp_socket_mode;	/* lmtp_socket_mode = 0666 */
	char *lmtp_socket_owner;	/* lmtp_socket_owner = (empty: unchanged) */

	/* Sieve (the limits of struct sieve_limits, src/sieve/sieve.h) */
	uint64_t sieve_max_script_size;	/* sieve_max_script_size = 1M */
	unsigned int sieve_max_nesting;	/* sieve_max_nesting = 32 */
	unsigned int sieve_max_actions;	/* sieve_max_actions = 32 */
	unsigned int sieve_max_redirects;	/* sieve_max_redirects = 4 */
	uint64_t sieve_max_variable_size;	/* sieve_max_variable_size = 4K */
	unsigned int sieve_max_include_depth;	/* sieve_max_include_depth = 10 */
	unsigned int sieve_max_cpu_time;	/* sieve_max_cpu_time = 10000 (ms) */
	/* RFC 5235: the header the spam/virus filter writes its score in
	 * ("" = not tested) and the score that means spam/infected */
	char *sieve_spamtest_header;	/* sieve_spamtest_header = (empty) */
	unsigned int sieve_spamtest_max;	/* sieve_spamtest_max = 10 */
	char *sieve_virustest_header;	/* sieve_virustest_header = (empty) */
	unsigned int sieve_virustest_max;	/* sieve_virustest_max = 5 */

	/* ManageSieve (RFC 5804) quota per user; 0 = no limit */
	unsigned int managesieve_max_scripts;	/* managesieve_max_scripts = 100 */
	uint64_t managesieve_max_storage;	/* managesieve_max_storage = 10M (all scripts) */

	/* Sieve on delivery (src/sieve/run.c): script files run before and
	 * after the user's, the script of users without one, and the
	 * directory of include :global scripts ("" = none for each) */
	char *sieve_before;		/* sieve_before = (empty) */
	char *sieve_after;		/* sieve_after = (empty) */
	char *sieve_default;		/* sieve_default = (empty) */
	char *sieve_global_dir;		/* sieve_global_dir = (empty) */
	/* imapsieve (sieve/run.h sieve_run_imap_event_queue()): repeated
	 * `imapsieve_mailbox = MAILBOX CAUSES SCRIPT [FROM]`; none by default */
	struct conf_imapsieve *imapsieve;
	size_t imapsieve_count;
	/* outgoing mail (Sieve's redirect, vacation, notify, reject; see
	 * submit/submit.h): over SMTP when submission_host is set, else
	 * through sendmail_path when that is set, else not sent (logged) */
	char *submission_host;		/* submission_host = (empty: none); HOST of HOST:PORT */
	unsigned int submission_port;	/* PORT of submission_host (0 when none) */
	enum conf_submission_tls submission_tls;	/* submission_tls = starttls */
	unsigned int submission_timeout;	/* submission_timeout = 30 (s) */
	/* AUTH PLAIN (RFC 4954, RFC 4616) towards submission_host when the
	 * user is set; only over TLS or to a loopback address */
	char *submission_user;		/* submission_user = (empty: no AUTH) */
	char *submission_password;	/* submission_password = (empty) */
	char *sendmail_path;		/* sendmail_path = (empty: none) */

	/* LDAP user database (userdb = ... ldap; src/auth/userdb-ldap.c) */
	char *ldap_uri;			/* ldap_uri = (empty); several, space-separated */
	bool ldap_starttls;		/* ldap_starttls = no */
	char *ldap_tls_ca;		/* ldap_tls_ca = (empty: the system's CAs) */
	char *ldap_bind_dn;		/* ldap_bind_dn = (empty: anonymous searches) */
	char *ldap_bind_password;	/* ldap_bind_password = (empty) */
	char *ldap_bind_password_file;	/* ldap_bind_password_file = (empty) */
	char *ldap_base;		/* ldap_base = (empty: required with ldap) */
	char *ldap_scope;		/* ldap_scope = subtree (base, onelevel, subtree) */
	/* ldap_user_filter = (&(objectClass=inetOrgPerson)(|(uid=%u)(mail=%u))) */
	char *ldap_user_filter;
	char *ldap_user_attr;		/* ldap_user_attr = uid */
	char *ldap_auth;		/* ldap_auth = bind (bind, password) */
	char *ldap_password_attr;	/* ldap_password_attr = userPassword */
	unsigned int ldap_cache_ttl;	/* ldap_cache_ttl = 60 (s; 0 = no cache) */
	unsigned int ldap_timeout;	/* ldap_timeout = 5 (s) */
	unsigned int ldap_pool_size;	/* ldap_pool_size = 2 (connections per worker) */
};

/* Reads `path` (NULL: defaults only).  Returns the config (free with
 * config_free) or NULL with *error_r set to an allocated message
 * naming the file and line; the caller frees it. */
struct roost_config *config_load(const char *path, char **error_r);
void config_free(struct roost_config **config);

/* Parses HOST:PORT ("[::1]:25" for an IPv6 address) into *host_r
 * (allocated; the caller frees it) and *port_r (1 to 65535).  Returns 0
 * or -1 with *error_r (static). */
int config_parse_host_port(const char *value, char **host_r, unsigned int *port_r,
			   const char **error_r);

/* Parses a size with optional K/M/G suffix ("64M").  Returns 0 or -1. */
int config_parse_size(const char *value, uint64_t *size_r);

#endif
