/* userdb-ldap-conn.c: the LDAP source's libldap calls: connecting (with
 * StartTLS and the service bind), searching for a user, binding as one,
 * checking a password attribute.  Every function here blocks and runs on
 * one of the source's threads (or inline without a loop), on that
 * thread's own connections; the source's lock guards the little shared
 * state (backoff, settings generation, bind password).  Never logs: errors
 * go into the request for the loop to log. */
#include "userdb-ldap-private.h"
#include "userdb-ldap-filter.h"
#include "password.h"
#include "password-ldap.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

void userdb_ldap_free_secret(char **s)
{
	if (*s != NULL) {
		explicit_bzero(*s, strlen(*s));
		free(*s);
		*s = NULL;
	}
}

static void userdb_ldap_set_error(struct userdb_source_request *req, bool down,
				  const char *fmt, ...) ATTR_PRINTF(3, 4);
static void userdb_ldap_set_error(struct userdb_source_request *req, bool down,
				  const char *fmt, ...)
{
	va_list args;
	va_start(args, fmt);
	free(req->error);
	req->error = xvasprintf(fmt, args);
	va_end(args);
	req->result = USERDB_TEMPFAIL;
	req->server_down = down;
}

void userdb_ldap_conn_close(struct userdb_ldap_conn *c)
{
	if (c->ld != NULL)
		ldap_unbind_ext_s(c->ld, NULL, NULL);
	if (c->bind_ld != NULL)
		ldap_unbind_ext_s(c->bind_ld, NULL, NULL);
	c->ld = c->bind_ld = NULL;
}

static bool userdb_ldap_rc_is_down(int rc)
{
	return rc == LDAP_SERVER_DOWN || rc == LDAP_CONNECT_ERROR || rc == LDAP_TIMEOUT ||
		rc == LDAP_UNAVAILABLE || rc == LDAP_BUSY;
}

/* Opens one handle to the servers of ldap_uri (libldap tries them in
 * order), with StartTLS as configured.  Returns an LDAP result code. */
static int userdb_ldap_conn_open(struct userdb_ldap *src, LDAP **ld_r)
{
	struct timeval tv = { (time_t)src->timeout, 0 };
	int version = LDAP_VERSION3, zero = 0;
	LDAP *ld;

	int rc = ldap_initialize(&ld, src->uri);
	if (rc != LDAP_SUCCESS)
		return rc;
	ldap_set_option(ld, LDAP_OPT_PROTOCOL_VERSION, &version);
	ldap_set_option(ld, LDAP_OPT_NETWORK_TIMEOUT, &tv);
	ldap_set_option(ld, LDAP_OPT_TIMEOUT, &tv);
	ldap_set_option(ld, LDAP_OPT_REFERRALS, LDAP_OPT_OFF);
	if (src->tls_ca[0] != '\0') {
		int demand = LDAP_OPT_X_TLS_DEMAND;
		ldap_set_option(ld, LDAP_OPT_X_TLS_CACERTFILE, src->tls_ca);
		ldap_set_option(ld, LDAP_OPT_X_TLS_REQUIRE_CERT, &demand);
		ldap_set_option(ld, LDAP_OPT_X_TLS_NEWCTX, &zero);
	}
	if (src->starttls) {
		rc = ldap_start_tls_s(ld, NULL, NULL);
		if (rc != LDAP_SUCCESS) {
			ldap_unbind_ext_s(ld, NULL, NULL);
			/* a server that refuses TLS is as unusable as a
			 * down one, and retrying is right for both */
			return rc == LDAP_SERVER_DOWN || rc == LDAP_CONNECT_ERROR ? rc :
				LDAP_CONNECT_ERROR;
		}
	}
	*ld_r = ld;
	return LDAP_SUCCESS;
}

/* Makes sure c->ld is open and bound as ldap_bind_dn; with `need_bind_ld`
 * c->bind_ld too.  Returns 0, or -1 with the request's error set. */
static int userdb_ldap_conn_ensure(struct userdb_ldap *src, struct userdb_ldap_conn *c,
				   bool need_bind_ld,
				   struct userdb_source_request *req)
{
	pthread_mutex_lock(&src->lock);
	if (c->generation != src->generation) {
		pthread_mutex_unlock(&src->lock);
		userdb_ldap_conn_close(c);
		pthread_mutex_lock(&src->lock);
		c->generation = src->generation;
	}
	bool have = c->ld != NULL && (!need_bind_ld || c->bind_ld != NULL);
	if (!have && time_monotonic_ms() < src->next_connect_ms) {
		pthread_mutex_unlock(&src->lock);
		userdb_ldap_set_error(req, true, "not reconnecting yet after the last failure");
		return -1;
	}
	char *bind_password = xstrdup(src->bind_password);
	pthread_mutex_unlock(&src->lock);
	if (have) {
		userdb_ldap_free_secret(&bind_password);
		return 0;
	}

	int rc = LDAP_SUCCESS;
	const char *what = "connect";
	if (c->ld == NULL) {
		rc = userdb_ldap_conn_open(src, &c->ld);
		if (rc == LDAP_SUCCESS) {
			struct berval cred = { strlen(bind_password), bind_password };
			what = "bind as ldap_bind_dn";
			rc = ldap_sasl_bind_s(c->ld, src->bind_dn, LDAP_SASL_SIMPLE, &cred,
					      NULL, NULL, NULL);
			if (rc != LDAP_SUCCESS) {
				ldap_unbind_ext_s(c->ld, NULL, NULL);
				c->ld = NULL;
			}
		}
	}
	if (rc == LDAP_SUCCESS && need_bind_ld && c->bind_ld == NULL) {
		what = "connect";
		rc = userdb_ldap_conn_open(src, &c->bind_ld);
	}
	userdb_ldap_free_secret(&bind_password);

	pthread_mutex_lock(&src->lock);
	if (rc == LDAP_SUCCESS) {
		src->backoff_ms = 0;
		src->next_connect_ms = 0;
	} else if (userdb_ldap_rc_is_down(rc)) {
		unsigned int next = src->backoff_ms * 2;
		src->backoff_ms = src->backoff_ms == 0 ? USERDB_LDAP_BACKOFF_MIN_MS :
			next > USERDB_LDAP_BACKOFF_MAX_MS ? USERDB_LDAP_BACKOFF_MAX_MS : next;
		src->next_connect_ms = time_monotonic_ms() + src->backoff_ms;
	}
	pthread_mutex_unlock(&src->lock);
	if (rc != LDAP_SUCCESS) {
		userdb_ldap_conn_close(c);
		userdb_ldap_set_error(req, userdb_ldap_rc_is_down(rc), "%s %s: %s", what,
				      src->uri,
			       ldap_err2string(rc));
		return -1;
	}
	return 0;
}

/* A canonical user name names a directory of the store: it must be
 * usable as one. */
static bool userdb_ldap_user_name_is_valid(const char *name, size_t len)
{
	if (len == 0 || len > 255 || name[0] == '.' || memchr(name, '\0', len) != NULL)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];
		if (c < 0x20 || c == 0x7f || c == '/')
			return false;
	}
	return true;
}

/* Copies the first value of `attr` in `entry`, or NULL. */
static char *userdb_ldap_entry_value(LDAP *ld, LDAPMessage *entry, const char *attr)
{
	struct berval **vals = ldap_get_values_len(ld, entry, attr);
	char *value = NULL;
	if (vals != NULL && vals[0] != NULL &&
	    memchr(vals[0]->bv_val, '\0', vals[0]->bv_len) == NULL)
		value = xstrndup(vals[0]->bv_val, vals[0]->bv_len);
	ldap_value_free_len(vals);
	return value;
}

/* Searches for req->key: sets result OK (user, dn, stored_password),
 * NOT_FOUND or TEMPFAIL.  One retry after a lost connection (the
 * server restarted since it was opened). */
static void userdb_ldap_conn_search(struct userdb_ldap *src, struct userdb_ldap_conn *c,
				    struct userdb_source_request *req)
{
	const char *error;
	char *filter = userdb_ldap_filter_expand(src->filter, req->key, &error);
	if (filter == NULL) {
		/* checked at create: cannot happen */
		userdb_ldap_set_error(req, false, "ldap_user_filter: %s", error);
		return;
	}
	char *attrs[3] = { src->user_attr, src->auth_bind ? NULL : src->password_attr, NULL };
	struct timeval tv = { (time_t)src->timeout, 0 };
	LDAPMessage *res = NULL;
	int rc = LDAP_SERVER_DOWN;

	for (int attempt = 0; attempt < 2; attempt++) {
		bool was_open = c->ld != NULL;
		if (userdb_ldap_conn_ensure(src, c, false, req) < 0) {
			free(filter);
			return;
		}
		rc = ldap_search_ext_s(c->ld, src->base, src->scope, filter, attrs, 0,
				       NULL, NULL, &tv, 2, &res);
		if (!userdb_ldap_rc_is_down(rc))
			break;
		ldap_msgfree(res);
		res = NULL;
		userdb_ldap_conn_close(c);
		if (!was_open || attempt == 1) {
			userdb_ldap_set_error(req, true, "search on %s: %s", src->uri,
				       ldap_err2string(rc));
			free(filter);
			return;
		}
	}
	free(filter);
	req->from_server = true;

	int count = ldap_count_entries(c->ld, res);
	if (rc == LDAP_SIZELIMIT_EXCEEDED || count > 1) {
		userdb_ldap_set_error(req, false,
				      "user %s: several entries match ldap_user_filter",
			       req->key);
	} else if (rc != LDAP_SUCCESS) {
		userdb_ldap_set_error(req, false, "search under \"%s\": %s", src->base,
			       ldap_err2string(rc));
	} else if (count <= 0) {
		req->result = USERDB_NOT_FOUND;
		req->cacheable = true;
	} else {
		LDAPMessage *entry = ldap_first_entry(c->ld, res);
		char *dn = ldap_get_dn(c->ld, entry);
		char *user = userdb_ldap_entry_value(c->ld, entry, src->user_attr);
		if (user == NULL || dn == NULL) {
			userdb_ldap_set_error(req, false, "user %s: the entry has no %s",
					      req->key,
				       dn == NULL ? "DN" : src->user_attr);
		} else if (!userdb_ldap_user_name_is_valid(user, strlen(user))) {
			userdb_ldap_set_error(req, false,
					      "user %s: the entry's %s is not a usable "
				       "user name", req->key, src->user_attr);
		} else {
			for (char *p = user; *p != '\0'; p++) {
				if (*p >= 'A' && *p <= 'Z')
					*p = (char)(*p - 'A' + 'a');
			}
			req->result = USERDB_OK;
			req->cacheable = true;
			req->user = user;
			user = NULL;
			req->dn = xstrdup(dn);
			if (!src->auth_bind)
				req->stored_password = userdb_ldap_entry_value(c->ld, entry,
									src->password_attr);
		}
		free(user);
		ldap_memfree(dn);
	}
	ldap_msgfree(res);
}

/* Binds as req->dn with req->password: OK, FAILED or TEMPFAIL. */
static void userdb_ldap_conn_bind_user(struct userdb_ldap *src, struct userdb_ldap_conn *c,
				       struct userdb_source_request *req)
{
	for (int attempt = 0; attempt < 2; attempt++) {
		bool was_open = c->bind_ld != NULL;
		if (userdb_ldap_conn_ensure(src, c, true, req) < 0)
			return;
		struct berval cred = { strlen(req->password), req->password };
		int rc = ldap_sasl_bind_s(c->bind_ld, req->dn, LDAP_SASL_SIMPLE, &cred,
					  NULL, NULL, NULL);
		if (rc == LDAP_SUCCESS) {
			req->result = USERDB_OK;
			return;
		}
		if (rc == LDAP_INVALID_CREDENTIALS) {
			req->result = USERDB_FAILED;
			req->cacheable = false;
			return;
		}
		if (!userdb_ldap_rc_is_down(rc)) {
			userdb_ldap_set_error(req, false, "bind as user %s: %s", req->key,
				       ldap_err2string(rc));
			return;
		}
		ldap_unbind_ext_s(c->bind_ld, NULL, NULL);
		c->bind_ld = NULL;
		userdb_ldap_set_error(req, true, "bind on %s: %s", src->uri,
				      ldap_err2string(rc));
		if (!was_open)
			return;
	}
}

/* The work of one request, on a thread or inline. */
void userdb_ldap_request_work(struct userdb_ldap *src, struct userdb_ldap_conn *c,
			      struct userdb_source_request *req)
{
	if (req->op == USERDB_LDAP_OP_VERIFY && req->password[0] == '\0') {
		/* RFC 4513 section 5.1.2: a simple bind with a DN and an
		 * empty password is an unauthenticated bind, which servers
		 * may answer with success.  An empty password never logs
		 * in, whichever method. */
		req->result = USERDB_FAILED;
	} else {
		userdb_ldap_conn_search(src, c, req);
		if (req->op == USERDB_LDAP_OP_VERIFY && req->result == USERDB_OK) {
			if (src->auth_bind) {
				userdb_ldap_conn_bind_user(src, c, req);
			} else if (req->stored_password == NULL) {
				/* no password the server lets us read: no login */
				req->result = USERDB_FAILED;
			} else {
				const char *error;
				int ret = password_ldap_is_sha(req->stored_password) ?
					password_ldap_verify(req->password,
							     req->stored_password, &error) :
					password_verify(req->password, req->stored_password,
							&error);
				if (ret < 0)
					userdb_ldap_set_error(req, false, "user %s: %s: %s",
							      req->key,
						       src->password_attr, error);
				else if (ret == 0)
					req->result = USERDB_FAILED;
			}
		}
	}
	userdb_ldap_free_secret(&req->password);
}
