/* conf.c: reading roost.conf.
 *
 * The format is deliberately small: `key = value` per line, `#` comments,
 * `listen` repeatable.  Unknown keys are errors (a typo must not silently
 * fall back to a default).  Every key is documented in doc/roost.conf.5. */
#include "conf.h"
#include "base/str.h"

#include <errno.h>
#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

enum conf_type { T_STR, T_PATH, T_BOOL, T_UINT, T_SIZE };

struct conf_key {
	const char *name;
	enum conf_type type;
	size_t offset;
	uint64_t min, max;	/* for T_UINT and T_SIZE */
};

#define K(name, type, field, min, max) { name, type, offsetof(struct roost_config, field), min, max }
static const struct conf_key conf_keys[] = {
	K("data_dir", T_PATH, data_dir, 0, 0),
	K("user", T_STR, user, 0, 0),
	K("workers", T_UINT, workers, 0, 256),
	K("login_processes", T_BOOL, login_processes, 0, 0),
	K("login_user", T_STR, login_user, 0, 0),
	K("log_level", T_STR, log_level, 0, 0),
	K("log_syslog", T_BOOL, log_syslog, 0, 0),
	K("auth_mechanisms", T_STR, auth_mechanisms, 0, 0),
	K("auth_master_users", T_STR, auth_master_users, 0, 0),
	K("auth_anonymous_user", T_STR, auth_anonymous_user, 0, 0),
	K("tls_cert", T_PATH, tls_cert, 0, 0),
	K("tls_key", T_PATH, tls_key, 0, 0),
	K("tls_client_ca", T_PATH, tls_client_ca, 0, 0),
	K("tls_require_client_cert", T_BOOL, tls_require_client_cert, 0, 0),
	K("auth_scram_iterations", T_UINT, auth_scram_iterations, 1, 10000000),
	K("auth_realms", T_STR, auth_realms, 0, 0),
	K("fsync", T_BOOL, fsync, 0, 0),
	K("qresync_tombstones", T_UINT, qresync_tombstones, 100, 100000000),
	K("store", T_STR, store, 0, 0),
	K("maildir_root", T_PATH, maildir_root, 0, 0),
	K("max_line_length", T_SIZE, max_line_length, 8192, 16 * 1024 * 1024),
	K("max_append_size", T_SIZE, max_append_size, 1024, (uint64_t)4 << 30),
	K("max_preauth_literal", T_SIZE, max_preauth_literal, 256, 1024 * 1024),
	K("max_bad_commands", T_UINT, max_bad_commands, 1, 1000),
	K("max_auth_failures", T_UINT, max_auth_failures, 1, 100),
	K("auth_failure_delay_max", T_UINT, auth_failure_delay_max, 0, 600),
	K("auth_gssapi_keytab", T_PATH, auth_gssapi_keytab, 0, 0),
	K("auth_gssapi_hostname", T_STR, auth_gssapi_hostname, 0, 0),
	K("auth_gssapi_realms", T_STR, auth_gssapi_realms, 0, 0),
	K("auth_oauth_jwks", T_PATH, auth_oauth_jwks, 0, 0),
	K("auth_oauth_issuer", T_STR, auth_oauth_issuer, 0, 0),
	K("auth_oauth_audience", T_STR, auth_oauth_audience, 0, 0),
	K("auth_oauth_username_claim", T_STR, auth_oauth_username_claim, 0, 0),
	K("auth_oauth_leeway", T_UINT, auth_oauth_leeway, 0, 3600),
	K("auth_oauth_scope", T_STR, auth_oauth_scope, 0, 0),
	K("auth_oauth_openid_configuration", T_STR, auth_oauth_openid_configuration, 0, 0),
	K("preauth_timeout", T_UINT, preauth_timeout, 5, 3600),
	K("login_timeout", T_UINT, login_timeout, 2, 3600),
	K("autologout", T_UINT, autologout, 1800, 7 * 24 * 3600),
	K("max_connections", T_UINT, max_connections, 1, 1000000),
	K("max_preauth_connections_per_ip", T_UINT, max_preauth_connections_per_ip, 0, 65535),
	K("max_preauth_connections_per_ip_exempt", T_STR, max_preauth_connections_per_ip_exempt, 0, 0),
	K("recipient_delimiter", T_STR, recipient_delimiter, 0, 0),
	K("lmtp_detail_folder", T_BOOL, lmtp_detail_folder, 0, 0),
	K("lmtp_single_copy", T_BOOL, lmtp_single_copy, 0, 0),
	K("lmtp_local_domains", T_STR, lmtp_local_domains, 0, 0),
	K("lmtp_trusted_networks", T_STR, lmtp_trusted_networks, 0, 0),
	K("proxy_trusted_networks", T_STR, proxy_trusted_networks, 0, 0),
	K("proxy_trust_tls", T_BOOL, proxy_trust_tls, 0, 0),
	K("lmtp_max_message_size", T_SIZE, lmtp_max_message_size, 1024, (uint64_t)4 << 30),
	K("lmtp_max_recipients", T_UINT, lmtp_max_recipients, 1, 100000),
	K("lmtp_timeout", T_UINT, lmtp_timeout, 5, 3600),
	K("lmtp_socket_owner", T_STR, lmtp_socket_owner, 0, 0),
	K("sieve_before", T_PATH, sieve_before, 0, 0),
	K("sieve_after", T_PATH, sieve_after, 0, 0),
	K("sieve_default", T_PATH, sieve_default, 0, 0),
	K("sieve_global_dir", T_PATH, sieve_global_dir, 0, 0),
	K("sieve_max_script_size", T_SIZE, sieve_max_script_size, 1024, 64 * 1024 * 1024),
	K("sieve_max_nesting", T_UINT, sieve_max_nesting, 4, 1000),
	K("sieve_max_actions", T_UINT, sieve_max_actions, 1, 10000),
	K("sieve_max_redirects", T_UINT, sieve_max_redirects, 1, 1000),
	K("sieve_max_variable_size", T_SIZE, sieve_max_variable_size, 4000, 64 * 1024 * 1024),
	K("sieve_max_include_depth", T_UINT, sieve_max_include_depth, 3, 1000),
	K("sieve_max_cpu_time", T_UINT, sieve_max_cpu_time, 10, 3600 * 1000),
	K("sieve_spamtest_header", T_STR, sieve_spamtest_header, 0, 0),
	K("sieve_spamtest_max", T_UINT, sieve_spamtest_max, 1, 1000000),
	K("sieve_virustest_header", T_STR, sieve_virustest_header, 0, 0),
	K("sieve_virustest_max", T_UINT, sieve_virustest_max, 1, 1000000),
	K("managesieve_max_scripts", T_UINT, managesieve_max_scripts, 0, 1000000),
	K("managesieve_max_storage", T_SIZE, managesieve_max_storage, 0, (uint64_t)4 << 30),
	K("submission_timeout", T_UINT, submission_timeout, 1, 3600),
	K("sendmail_path", T_PATH, sendmail_path, 0, 0),
	K("submission_user", T_STR, submission_user, 0, 0),
	K("submission_password", T_STR, submission_password, 0, 0),
	K("ldap_uri", T_STR, ldap_uri, 0, 0),
	K("ldap_starttls", T_BOOL, ldap_starttls, 0, 0),
	K("ldap_tls_ca", T_PATH, ldap_tls_ca, 0, 0),
	K("ldap_bind_dn", T_STR, ldap_bind_dn, 0, 0),
	K("ldap_bind_password", T_STR, ldap_bind_password, 0, 0),
	K("ldap_bind_password_file", T_PATH, ldap_bind_password_file, 0, 0),
	K("ldap_base", T_STR, ldap_base, 0, 0),
	K("ldap_scope", T_STR, ldap_scope, 0, 0),
	K("ldap_user_filter", T_STR, ldap_user_filter, 0, 0),
	K("ldap_user_attr", T_STR, ldap_user_attr, 0, 0),
	K("ldap_auth", T_STR, ldap_auth, 0, 0),
	K("ldap_password_attr", T_STR, ldap_password_attr, 0, 0),
	K("ldap_cache_ttl", T_UINT, ldap_cache_ttl, 0, 86400),
	K("ldap_timeout", T_UINT, ldap_timeout, 1, 300),
	K("ldap_pool_size", T_UINT, ldap_pool_size, 1, 64),
};

int config_parse_size(const char *value, uint64_t *size_r)
{
	char *end;
	errno = 0;
	if (!isdigit((unsigned char)value[0]))
		return -1;
	unsigned long long n = strtoull(value, &end, 10);
	if (errno != 0)
		return -1;
	uint64_t mult = 1;
	switch (toupper((unsigned char)*end)) {
	case '\0': break;
	case 'K': mult = 1024; end++; break;
	case 'M': mult = 1024 * 1024; end++; break;
	case 'G': mult = 1024 * 1024 * 1024; end++; break;
	default: return -1;
	}
	if (*end == 'B' || *end == 'b')
		end++;
	if (*end != '\0' || (n != 0 && mult > UINT64_MAX / n))
		return -1;
	*size_r = n * mult;
	return 0;
}

static void config_defaults(struct roost_config *c)
{
	c->data_dir = xstrdup("/var/lib/roost");
	c->user = xstrdup("roost");
	c->workers = 0;
	c->login_processes = true;
	c->login_user = xstrdup("roost-login");
	c->log_level = xstrdup("info");
	c->fsync = true;
	c->qresync_tombstones = 20000;
	c->store = xstrdup("maildir");
	c->lmtp_single_copy = true;
	c->plaintext_auth = CONF_PLAINTEXT_LOCAL;
	c->auth_mechanisms = xstrdup("");
	c->auth_master_users = xstrdup("");
	c->auth_anonymous_user = xstrdup("");
	c->max_line_length = 64 * 1024;
	c->max_append_size = 64 * 1024 * 1024;
	c->max_preauth_literal = 8 * 1024;
	c->max_bad_commands = 10;
	c->max_auth_failures = 3;
	c->auth_scram_iterations = 4096;
	c->auth_failure_delay_max = 15;
	c->auth_gssapi_keytab = xstrdup("/etc/krb5.keytab");
	c->auth_gssapi_hostname = xstrdup("");
	c->auth_gssapi_realms = xstrdup("");
	c->auth_oauth_jwks = xstrdup("");
	c->auth_oauth_issuer = xstrdup("");
	c->auth_oauth_audience = xstrdup("");
	c->auth_oauth_username_claim = xstrdup("email");
	c->auth_oauth_leeway = 30;
	c->auth_oauth_scope = xstrdup("");
	c->auth_oauth_openid_configuration = xstrdup("");
	c->preauth_timeout = 60;
	c->login_timeout = 120;
	c->autologout = 1800;
	c->max_connections = 10000;
	c->max_preauth_connections_per_ip = 100;
	c->max_preauth_connections_per_ip_exempt = xstrdup("");
	c->recipient_delimiter = xstrdup("+");
	c->lmtp_local_domains = xstrdup("");
	c->lmtp_trusted_networks = xstrdup("127.0.0.0/8 ::1");
	c->proxy_trusted_networks = xstrdup("");
	c->lmtp_max_message_size = 64 * 1024 * 1024;
	c->lmtp_max_recipients = 100;
	c->lmtp_timeout = 300;
	c->lmtp_socket_mode = 0666;
	c->lmtp_socket_owner = xstrdup("");
	c->ldap_uri = xstrdup("");
	c->ldap_tls_ca = xstrdup("");
	c->ldap_bind_dn = xstrdup("");
	c->ldap_bind_password = xstrdup("");
	c->ldap_bind_password_file = xstrdup("");
	c->ldap_base = xstrdup("");
	c->ldap_scope = xstrdup("subtree");
	c->ldap_user_filter = xstrdup("(&(objectClass=inetOrgPerson)(|(uid=%u)(mail=%u)))");
	c->ldap_user_attr = xstrdup("uid");
	c->ldap_auth = xstrdup("bind");
	c->ldap_password_attr = xstrdup("userPassword");
	c->ldap_cache_ttl = 60;
	c->ldap_timeout = 5;
	c->ldap_pool_size = 2;
	c->sieve_before = xstrdup("");
	c->tls_client_ca = xstrdup("");
	c->auth_realms = xstrdup("");
	c->sieve_after = xstrdup("");
	c->sieve_default = xstrdup("");
	c->sieve_global_dir = xstrdup("");
	/* the defaults of sieve_limits_default() */
	c->sieve_max_script_size = 1024 * 1024;
	c->sieve_max_nesting = 32;
	c->sieve_max_actions = 32;
	c->sieve_max_redirects = 4;
	c->sieve_max_variable_size = 4096;
	c->sieve_max_include_depth = 10;
	c->sieve_max_cpu_time = 10000;
	c->sieve_spamtest_header = xstrdup("");
	c->sieve_spamtest_max = 10;
	c->sieve_virustest_header = xstrdup("");
	c->sieve_virustest_max = 5;
	c->managesieve_max_scripts = 100;
	c->managesieve_max_storage = 10 * 1024 * 1024;
	c->submission_host = xstrdup("");
	c->submission_tls = CONF_SUBMISSION_TLS_STARTTLS;
	c->submission_timeout = 30;
	c->sendmail_path = xstrdup("");
	c->submission_user = xstrdup("");
	c->submission_password = xstrdup("");
}

int config_parse_host_port(const char *value, char **host_r, unsigned int *port_r,
			   const char **error_r)
{
	const char *colon = strrchr(value, ':');
	const char *host = value;
	size_t host_len;
	uint64_t port;

	if (colon == NULL || str_to_u64(colon + 1, 65535, &port) < 0 || port == 0) {
		*error_r = "expected HOST:PORT (e.g. 127.0.0.1:25, [::1]:587, smtp.example.com:587)";
		return -1;
	}
	host_len = (size_t)(colon - value);
	if (host_len >= 2 && host[0] == '[' && host[host_len - 1] == ']') {
		host++;
		host_len -= 2;
	} else if (memchr(host, ':', host_len) != NULL) {
		*error_r = "an IPv6 address goes in brackets: [::1]:25";
		return -1;
	}
	if (host_len == 0 || memchr(host, ' ', host_len) != NULL ||
	    memchr(host, '\t', host_len) != NULL) {
		*error_r = "expected HOST:PORT with a host name or address";
		return -1;
	}
	*host_r = xstrndup(host, host_len);
	*port_r = (unsigned int)port;
	return 0;
}

static char *config_path(const struct roost_config *c, const char *value)
{
	if (value[0] == '/' || value[0] == '\0' || c->path == NULL)
		return xstrdup(value);
	const char *slash = strrchr(c->path, '/');
	if (slash == NULL)
		return xstrdup(value);
	return xasprintf("%.*s/%s", (int)(slash - c->path), c->path, value);
}

static void config_add_listener(struct roost_config *c, const struct conf_listener *l)
{
	c->listeners = xrealloc(c->listeners, (c->listener_count + 1) * sizeof(*l));
	c->listeners[c->listener_count++] = *l;
}

/* Splits `value` at spaces and tabs into words[0..max-1]: their count,
 * or -1 when there are more than `max`. */
static int config_split_words(char *value, char **words, int max)
{
	int n = 0;
	for (char *w = strtok(value, " \t"); w != NULL; w = strtok(NULL, " \t")) {
		if (n == max)
			return -1;
		words[n++] = w;
	}
	return n;
}

/* listen = PROTOCOL ADDRESS:PORT [implicit|starttls|none] [proxy]
 * listen = PROTOCOL /path/to/socket   (or ./socket, beside the config file) */
static int config_parse_listen(struct roost_config *c, char *value, const char **error_r)
{
	char *words[4];
	int n = config_split_words(value, words, N_ELEMENTS(words));
	if (n < 0) {
		*error_r = "too many words (listen = PROTOCOL ADDRESS:PORT TLS [proxy])";
		return -1;
	}
	bool proxy = n >= 3 && strcmp(words[n - 1], "proxy") == 0;
	if (proxy)
		n--;
	if (n > 3) {
		*error_r = "unknown word after the TLS mode (only `proxy` may follow it)";
		return -1;
	}
	if (n < 2) {
		*error_r = "expected: listen = PROTOCOL ADDRESS:PORT [implicit|starttls|none]";
		return -1;
	}
	struct conf_listener l = { 0 };
	if (strcmp(words[0], "imap") != 0 && strcmp(words[0], "lmtp") != 0 &&
	    strcmp(words[0], "managesieve") != 0) {
		*error_r = "unknown protocol (known: imap, lmtp, managesieve)";
		return -1;
	}
	l.tls = CONF_TLS_NONE;
	if (n >= 3) {
		if (strcmp(words[2], "implicit") == 0)
			l.tls = CONF_TLS_IMPLICIT;
		else if (strcmp(words[2], "starttls") == 0)
			l.tls = CONF_TLS_STARTTLS;
		else if (strcmp(words[2], "none") != 0) {
			*error_r = "TLS mode must be implicit, starttls or none";
			return -1;
		}
	}
	if (words[1][0] == '/' || strncmp(words[1], "./", 2) == 0) {
		/* a UNIX socket; "./name" is relative to the config file */
		l.address = config_path(c, words[1][0] == '/' ? words[1] : words[1] + 2);
		if (l.address[0] != '/') {
			free(l.address);
			*error_r = "a relative socket path needs a config file path";
			return -1;
		}
		if (proxy) {
			free(l.address);
			*error_r = "`proxy` is for TCP listeners, not UNIX sockets";
			return -1;
		}
	} else {
		char *colon = strrchr(words[1], ':');
		size_t wlen = strlen(words[1]);
		uint64_t port;
		if (strcmp(words[0], "managesieve") == 0 &&
		    (colon == NULL || words[1][wlen - 1] == ']')) {
			/* RFC 5804 1.8: ManageSieve's port is 4190 */
			port = 4190;
			colon = words[1] + wlen;
		} else if (colon == NULL || str_to_u64(colon + 1, 65535, &port) < 0 || port == 0) {
			*error_r = "address must be ADDRESS:PORT (e.g. 127.0.0.1:143, [::1]:143, *:993)";
			return -1;
		}
		*colon = '\0';
		char *addr = words[1];
		size_t alen = strlen(addr);
		if (addr[0] == '[' && alen >= 2 && addr[alen - 1] == ']') {
			addr[alen - 1] = '\0';
			addr++;
		}
		if (*addr == '\0') {
			*error_r = "empty address";
			return -1;
		}
		l.address = xstrdup(addr);
		l.port = (unsigned int)port;
	}
	l.protocol = xstrdup(words[0]);
	l.proxy = proxy;
	config_add_listener(c, &l);
	return 0;
}

/* imapsieve_mailbox = MAILBOX CAUSES SCRIPT [FROM]
 * CAUSES: APPEND, COPY, FLAG separated by commas (any case) */
static int config_parse_imapsieve(struct roost_config *c, char *value, const char **error_r)
{
	static const char usage[] = "expected: imapsieve_mailbox = MAILBOX CAUSES SCRIPT [FROM]";
	char *words[4];
	int n = config_split_words(value, words, N_ELEMENTS(words));
	if (n < 3) {
		*error_r = usage;
		return -1;
	}
	unsigned int causes = 0;
	for (char *w = strtok(words[1], ","); w != NULL; w = strtok(NULL, ",")) {
		if (strcasecmp(w, "APPEND") == 0)
			causes |= CONF_IMAPSIEVE_APPEND;
		else if (strcasecmp(w, "COPY") == 0)
			causes |= CONF_IMAPSIEVE_COPY;
		else if (strcasecmp(w, "FLAG") == 0)
			causes |= CONF_IMAPSIEVE_FLAG;
		else {
			*error_r = "CAUSES must be APPEND, COPY or FLAG, separated by commas";
			return -1;
		}
	}
	if (causes == 0) {
		*error_r = usage;
		return -1;
	}
	if (n == 4 && causes != CONF_IMAPSIEVE_COPY) {
		*error_r = "FROM is only for the COPY cause";
		return -1;
	}
	struct conf_imapsieve r = {
		.mailbox = xstrdup(words[0]),
		.causes = causes,
		.script = config_path(c, words[2]),
		.from = n == 4 ? xstrdup(words[3]) : NULL,
	};
	c->imapsieve = xrealloc(c->imapsieve, (c->imapsieve_count + 1) * sizeof(r));
	c->imapsieve[c->imapsieve_count++] = r;
	return 0;
}

/* userdb = SOURCE...: each a passwd-file path (relative ones to the
 * configuration's directory), "passwd-file:PATH", or "ldap" (the user
 * database sources of auth/userdb.h; this list must follow that one). */
static int config_parse_userdb(struct roost_config *c, const char *value,
			       const char **error_r)
{
	static const char *const named_sources[] = { "ldap" };
	struct str list = STR_INIT;
	char *first_file = NULL;
	char *copy = xstrdup(value);

	for (char *save = NULL, *item = strtok_r(copy, " \t", &save); item != NULL;
	     item = strtok_r(NULL, " \t", &save)) {
		bool named = false;
		for (size_t i = 0; i < N_ELEMENTS(named_sources); i++) {
			size_t len = strlen(named_sources[i]);
			if (strncmp(item, named_sources[i], len) == 0 &&
			    (item[len] == '\0' || item[len] == ':'))
				named = true;
		}
		if (list.len > 0)
			str_append(&list, " ");
		if (named) {
			str_append(&list, item);
			continue;
		}
		const char *path = item;
		if (strncmp(item, "passwd-file:", 12) == 0)
			path = item + 12;
		if (path[0] == '\0') {
			*error_r = "passwd-file: needs a path";
			free(copy);
			free(first_file);
			str_free(&list);
			return -1;
		}
		char *resolved = config_path(c, path);
		str_append(&list, resolved);
		if (first_file == NULL)
			first_file = resolved;
		else
			free(resolved);
	}
	free(copy);
	if (list.len == 0) {
		*error_r = "userdb needs at least one source";
		str_free(&list);
		return -1;
	}
	free(c->userdb);
	c->userdb = xstrdup(str_c(&list));
	str_free(&list);
	free(c->passwd_file);
	c->passwd_file = first_file;
	return 0;
}

static int config_set(struct roost_config *c, const char *key, char *value,
		      const char **error_r)
{
	if (strcmp(key, "listen") == 0)
		return config_parse_listen(c, value, error_r);
	if (strcmp(key, "imapsieve_mailbox") == 0)
		return config_parse_imapsieve(c, value, error_r);
	if (strcmp(key, "plaintext_auth") == 0) {
		if (strcmp(value, "local") == 0)
			c->plaintext_auth = CONF_PLAINTEXT_LOCAL;
		else if (strcmp(value, "always") == 0)
			c->plaintext_auth = CONF_PLAINTEXT_ALWAYS;
		else if (strcmp(value, "never") == 0)
			c->plaintext_auth = CONF_PLAINTEXT_NEVER;
		else {
			*error_r = "plaintext_auth must be local, always or never";
			return -1;
		}
		return 0;
	}
	if (strcmp(key, "log_format") == 0) {
		if (strcmp(value, "text") == 0)
			c->log_json = false;
		else if (strcmp(value, "json") == 0)
			c->log_json = true;
		else {
			*error_r = "log_format must be text or json";
			return -1;
		}
		return 0;
	}
	if (strcmp(key, "auth_ssl_username_from") == 0) {
		if (strcmp(value, "commonName") == 0)
			c->auth_ssl_username_from = CONF_SSL_USERNAME_CN;
		else if (strcmp(value, "emailAddress") == 0)
			c->auth_ssl_username_from = CONF_SSL_USERNAME_EMAIL;
		else if (strcmp(value, "subjectAltName") == 0)
			c->auth_ssl_username_from = CONF_SSL_USERNAME_SAN_EMAIL;
		else {
			*error_r = "auth_ssl_username_from must be commonName, emailAddress or subjectAltName";
			return -1;
		}
		return 0;
	}
	if (strcmp(key, "userdb") == 0)
		return config_parse_userdb(c, value, error_r);
	if (strcmp(key, "auth_failure_log") == 0) {
		if (strcmp(value, "normal") == 0)
			c->auth_failure_log_fail2ban = false;
		else if (strcmp(value, "fail2ban") == 0)
			c->auth_failure_log_fail2ban = true;
		else {
			*error_r = "auth_failure_log must be normal or fail2ban";
			return -1;
		}
		return 0;
	}
	if (strcmp(key, "store_offload") == 0) {
		if (strcmp(value, "auto") == 0)
			c->store_offload_always = false;
		else if (strcmp(value, "always") == 0)
			c->store_offload_always = true;
		else {
			*error_r = "store_offload must be auto or always";
			return -1;
		}
		return 0;
	}
	if (strcmp(key, "submission_host") == 0) {
		char *host;
		unsigned int port = 0;

		if (value[0] == '\0')
			host = xstrdup("");
		else if (config_parse_host_port(value, &host, &port, error_r) < 0)
			return -1;
		free(c->submission_host);
		c->submission_host = host;
		c->submission_port = port;
		return 0;
	}
	if (strcmp(key, "submission_tls") == 0) {
		if (strcmp(value, "no") == 0)
			c->submission_tls = CONF_SUBMISSION_TLS_NO;
		else if (strcmp(value, "starttls") == 0)
			c->submission_tls = CONF_SUBMISSION_TLS_STARTTLS;
		else if (strcmp(value, "required") == 0)
			c->submission_tls = CONF_SUBMISSION_TLS_REQUIRED;
		else {
			*error_r = "submission_tls must be no, starttls or required";
			return -1;
		}
		return 0;
	}
	if (strcmp(key, "lmtp_socket_mode") == 0) {
		char *end;
		errno = 0;
		unsigned long mode = strtoul(value, &end, 8);
		if (value[0] < '0' || value[0] > '7' || *end != '\0' || errno != 0 ||
		    mode == 0 || mode > 0777) {
			*error_r = "value must be an octal mode such as 0660";
			return -1;
		}
		c->lmtp_socket_mode = (unsigned int)mode;
		return 0;
	}
	for (size_t i = 0; i < N_ELEMENTS(conf_keys); i++) {
		const struct conf_key *k = &conf_keys[i];
		if (strcmp(k->name, key) != 0)
			continue;
		void *field = (char *)c + k->offset;
		uint64_t n;
		switch (k->type) {
		case T_STR:
		case T_PATH: {
			char **s = field;
			free(*s);
			*s = k->type == T_PATH ? config_path(c, value) : xstrdup(value);
			return 0;
		}
		case T_BOOL:
			if (strcmp(value, "yes") == 0 || strcmp(value, "true") == 0)
				*(bool *)field = true;
			else if (strcmp(value, "no") == 0 || strcmp(value, "false") == 0)
				*(bool *)field = false;
			else {
				*error_r = "value must be yes or no";
				return -1;
			}
			return 0;
		case T_UINT:
			if (str_to_u64(value, k->max, &n) < 0 || n < k->min) {
				*error_r = "value must be a number in range";
				return -1;
			}
			*(unsigned int *)field = (unsigned int)n;
			return 0;
		case T_SIZE:
			if (config_parse_size(value, &n) < 0 || n < k->min || n > k->max) {
				*error_r = "value must be a size in range (e.g. 64K, 64M)";
				return -1;
			}
			*(uint64_t *)field = n;
			return 0;
		}
	}
	*error_r = "unknown setting";
	return -1;
}

static char *trim(char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	size_t len = strlen(s);
	while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t' ||
			   s[len - 1] == '\r' || s[len - 1] == '\n'))
		s[--len] = '\0';
	return s;
}

static void config_finish(struct roost_config *c)
{
	if (c->userdb == NULL) {
		c->userdb = xasprintf("%s/passwd", c->data_dir);
		c->passwd_file = xstrdup(c->userdb);
	}
	if (c->tls_cert == NULL)
		c->tls_cert = xasprintf("%s/tls/cert.pem", c->data_dir);
	if (c->tls_key == NULL)
		c->tls_key = xasprintf("%s/tls/key.pem", c->data_dir);
	if (c->maildir_root == NULL)
		c->maildir_root = xasprintf("%s/users", c->data_dir);
	if (c->listener_count == 0) {
		struct conf_listener l1 = { xstrdup("imap"), xstrdup("*"), 143, CONF_TLS_STARTTLS,
					    false, 0, NULL };
		struct conf_listener l2 = { xstrdup("imap"), xstrdup("*"), 993, CONF_TLS_IMPLICIT,
					    false, 0, NULL };
		config_add_listener(c, &l1);
		config_add_listener(c, &l2);
	}
	/* the lmtp_socket_* keys may come after the listen lines */
	for (size_t i = 0; i < c->listener_count; i++) {
		struct conf_listener *l = &c->listeners[i];
		bool lmtp = strcmp(l->protocol, "lmtp") == 0;
		l->socket_mode = lmtp ? c->lmtp_socket_mode : 0666;
		free(l->socket_owner);
		l->socket_owner = xstrdup(lmtp ? c->lmtp_socket_owner : "");
	}
}

struct roost_config *config_load(const char *path, char **error_r)
{
	struct roost_config *c = xcalloc(1, sizeof(*c));
	config_defaults(c);
	if (path == NULL) {
		config_finish(c);
		return c;
	}
	if (path[0] != '/') {
		char cwd[PATH_MAX];
		if (getcwd(cwd, sizeof(cwd)) == NULL) {
			*error_r = xasprintf("getcwd: %s", strerror(errno));
			config_free(&c);
			return NULL;
		}
		c->path = xasprintf("%s/%s", cwd, path);
	} else {
		c->path = xstrdup(path);
	}
	FILE *f = fopen(path, "r");
	if (f == NULL) {
		*error_r = xasprintf("%s: %s", path, strerror(errno));
		config_free(&c);
		return NULL;
	}
	char *line = NULL;
	size_t cap = 0;
	unsigned int lineno = 0;
	int ret = 0;
	while (getline(&line, &cap, f) >= 0) {
		lineno++;
		char *hash = strchr(line, '#');
		if (hash != NULL)
			*hash = '\0';
		char *s = trim(line);
		if (*s == '\0')
			continue;
		char *eq = strchr(s, '=');
		const char *error = NULL;
		if (eq == NULL) {
			error = "expected key = value";
		} else {
			*eq = '\0';
			char *key = trim(s), *value = trim(eq + 1);
			if (config_set(c, key, value, &error) < 0) {
				*error_r = xasprintf("%s line %u: %s: %s", path, lineno, key, error);
				ret = -1;
				break;
			}
		}
		if (error != NULL) {
			*error_r = xasprintf("%s line %u: %s", path, lineno, error);
			ret = -1;
			break;
		}
	}
	free(line);
	fclose(f);
	if (ret < 0) {
		config_free(&c);
		return NULL;
	}
	config_finish(c);
	return c;
}

void config_free(struct roost_config **_c)
{
	struct roost_config *c = *_c;
	if (c == NULL)
		return;
	*_c = NULL;
	for (size_t i = 0; i < c->listener_count; i++) {
		free(c->listeners[i].protocol);
		free(c->listeners[i].address);
		free(c->listeners[i].socket_owner);
	}
	free(c->listeners);
	for (size_t i = 0; i < c->imapsieve_count; i++) {
		free(c->imapsieve[i].mailbox);
		free(c->imapsieve[i].script);
		free(c->imapsieve[i].from);
	}
	free(c->imapsieve);
	free(c->path);
	free(c->data_dir);
	free(c->user);
	free(c->login_user);
	free(c->log_level);
	free(c->userdb);
	free(c->auth_gssapi_keytab);
	free(c->auth_gssapi_hostname);
	free(c->auth_gssapi_realms);
	free(c->auth_oauth_jwks);
	free(c->auth_oauth_issuer);
	free(c->auth_oauth_audience);
	free(c->auth_oauth_username_claim);
	free(c->auth_oauth_scope);
	free(c->auth_oauth_openid_configuration);
	free(c->passwd_file);
	free(c->auth_mechanisms);
	free(c->auth_master_users);
	free(c->auth_anonymous_user);
	free(c->tls_cert);
	free(c->tls_key);
	free(c->tls_client_ca);
	free(c->auth_realms);
	free(c->store);
	free(c->maildir_root);
	free(c->recipient_delimiter);
	free(c->lmtp_local_domains);
	free(c->lmtp_trusted_networks);
	free(c->proxy_trusted_networks);
	free(c->max_preauth_connections_per_ip_exempt);
	free(c->lmtp_socket_owner);
	free(c->sieve_before);
	free(c->sieve_after);
	free(c->sieve_default);
	free(c->sieve_global_dir);
	free(c->sieve_spamtest_header);
	free(c->sieve_virustest_header);
	free(c->submission_host);
	free(c->sendmail_path);
	free(c->submission_user);
	free(c->submission_password);
	free(c->ldap_uri);
	free(c->ldap_tls_ca);
	free(c->ldap_bind_dn);
	free(c->ldap_bind_password);
	free(c->ldap_bind_password_file);
	free(c->ldap_base);
	free(c->ldap_scope);
	free(c->ldap_user_filter);
	free(c->ldap_user_attr);
	free(c->ldap_auth);
	free(c->ldap_password_attr);
	free(c);
}
