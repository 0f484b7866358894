/* auth-relay.c: struct auth in a login process (auth_create_relay()),
 * and the worker's side that answers it.
 *
 * A login process has no user database, no mechanisms' secrets and no
 * throttle: every call of auth.h on its struct auth becomes a message to
 * the paired worker (net_login_send), which runs the same call on its
 * own local struct auth (auth-local.c) and sends the answer back.
 * Messages (one each, fields in host byte order: both ends are the same
 * binary; strings and bytes as a 32-bit length and the bytes):
 *
 *   login -> worker
 *     'V' id user password remote_ip                  auth_verify_plain
 *     'S' id mech has_initial initial peer...         auth_sasl_start
 *     'C' id response                                 auth_sasl_continue
 *     'X' id                                          abort either
 *   worker -> login
 *     'v' id result user                              its callback
 *     'r' id status has_data read_only data user authcid error mech
 *
 * The worker keeps the ids it answered OK (RELAY_GRANT_MSECS, at most
 * RELAY_GRANTS_MAX, each used once) with the user and the read-only
 * flag, for the HANDOFF that follows (net_login_claim_cb): a login
 * process can hand over only a user the worker's own check accepted on
 * this channel.  A new channel (either side restarted) voids every id of
 * the old one; requests in flight then fail with TEMPFAIL. */
#include "auth-private.h"
#include "auth-relay.h"
#include "sasl.h"
#include "base/log.h"
#include "conf/conf.h"
#include "net/net.h"

#include <stdlib.h>
#include <string.h>

#define RELAY_GRANT_MSECS 60000
#define RELAY_GRANTS_MAX 1024
/* The longest field relayed (a SASL response is at most
 * SASL_MAX_RESPONSE_LEN; messages stay under net_login_send's limit). */
#define RELAY_FIELD_MAX (48 * 1024)

/* ---- messages ---- */

struct relay_writer {
	unsigned char *data;
	size_t len, cap;
};

static void relay_put(struct relay_writer *w, const void *p, size_t n)
{
	ARRAY_RESERVE(w->data, w->cap, w->len + n);
	if (n > 0)
		memcpy(w->data + w->len, p, n);
	w->len += n;
}

static void relay_put_u8(struct relay_writer *w, uint8_t v)
{
	relay_put(w, &v, 1);
}

static void relay_put_u32(struct relay_writer *w, uint32_t v)
{
	relay_put(w, &v, sizeof(v));
}

static void relay_put_bytes(struct relay_writer *w, const void *p, size_t n)
{
	relay_put_u32(w, (uint32_t)n);
	relay_put(w, p, n);
}

static void relay_put_str(struct relay_writer *w, const char *s)
{
	relay_put_bytes(w, s, s == NULL ? 0 : strlen(s));
}

/* Sends and frees (wiping: passwords and responses go through here). */
static int relay_send(struct relay_writer *w)
{
	int ret = w->len <= 64 * 1024 ? net_login_send(w->data, w->len) : -1;
	if (w->data != NULL)
		explicit_bzero(w->data, w->len);
	free(w->data);
	w->data = NULL;
	return ret;
}

struct relay_reader {
	const unsigned char *p;
	size_t left;
	bool bad;
};

static uint8_t relay_get_u8(struct relay_reader *r)
{
	if (r->left < 1) {
		r->bad = true;
		return 0;
	}
	r->left--;
	return *r->p++;
}

static uint32_t relay_get_u32(struct relay_reader *r)
{
	uint32_t v = 0;
	if (r->left < sizeof(v)) {
		r->bad = true;
		return 0;
	}
	memcpy(&v, r->p, sizeof(v));
	r->p += sizeof(v);
	r->left -= sizeof(v);
	return v;
}

/* The bytes of a field, valid as long as the message. */
static const unsigned char *relay_get_bytes(struct relay_reader *r, size_t *len_r)
{
	uint32_t n = relay_get_u32(r);
	*len_r = 0;
	if (r->bad || n > r->left || n > RELAY_FIELD_MAX) {
		r->bad = true;
		return (const unsigned char *)"";
	}
	const unsigned char *p = r->p;
	r->p += n;
	r->left -= n;
	*len_r = n;
	return p;
}

/* A field as an allocated string (a NUL inside ends it, as a C caller
 * would have seen it). */
static char *relay_get_str(struct relay_reader *r)
{
	size_t len;
	const unsigned char *p = relay_get_bytes(r, &len);
	return xstrndup((const char *)p, len);
}

/* ---- login process: the client ---- */

struct relay_pending {
	/* the public request, at offset 0 as auth.h requires */
	union {
		struct auth_request verify;
		struct auth_sasl_request sasl;
	} u;
	struct relay_pending *next;
	struct relay_auth *auth;
	uint32_t id;
	bool is_sasl;
	auth_callback *verify_cb;
	auth_sasl_callback *sasl_cb;
	void *ctx;
	struct net_timer *timer;	/* TEMPFAIL without a worker */
};

struct relay_auth {
	struct auth auth;		/* first */
	struct relay_pending *pending;
	/* the id of the OK being answered (auth_handoff_id()) */
	uint32_t ok_id;
};

/* The channel has one handler: the login process's auths (IMAP's and
 * ManageSieve's) share it through this list. */
static struct relay_auth *relay_auths[4];
static uint32_t relay_next_id;

static const struct auth_ops relay_ops;

static struct relay_pending *relay_pending_take(uint32_t id)
{
	for (size_t i = 0; i < N_ELEMENTS(relay_auths); i++) {
		struct relay_auth *auth = relay_auths[i];
		if (auth == NULL)
			continue;
		for (struct relay_pending **p = &auth->pending; *p != NULL; p = &(*p)->next) {
			if ((*p)->id == id) {
				struct relay_pending *found = *p;
				*p = found->next;
				return found;
			}
		}
	}
	return NULL;
}

static void relay_pending_free(struct relay_pending *p)
{
	net_timer_destroy(&p->timer);
	free(p);
}

static void relay_answer_verify(struct relay_pending *p, enum auth_result result,
				const char *user)
{
	struct relay_auth *auth = p->auth;
	auth->ok_id = result == AUTH_RESULT_OK ? p->id : 0;
	p->verify_cb(result, user, p->ctx);
	auth->ok_id = 0;
}

static void relay_answer_sasl(struct relay_pending *p, const struct auth_sasl_reply *reply)
{
	struct relay_auth *auth = p->auth;
	auth->ok_id = reply->status == AUTH_SASL_OK ? p->id : 0;
	p->sasl_cb(reply, p->ctx);
	auth->ok_id = 0;
}

/* No worker, or the worker went away: TEMPFAIL.  Frees p. */
static void relay_unavailable(struct relay_pending *p)
{
	if (p->is_sasl) {
		struct auth_sasl_reply reply = {
			.status = AUTH_SASL_TEMPFAIL,
			.error = "Authentication service unavailable; try again.",
		};
		relay_answer_sasl(p, &reply);
	} else {
		relay_answer_verify(p, AUTH_RESULT_TEMPFAIL, "");
	}
	relay_pending_free(p);
}

static void relay_unavailable_timer(void *ctx)
{
	struct relay_pending *p = ctx;
	if (relay_pending_take(p->id) == p)
		relay_unavailable(p);
}

static void relay_client_message(const unsigned char *data, size_t len, void *ctx ATTR_UNUSED)
{
	struct relay_reader r = { .p = data + 1, .left = len - 1 };
	uint32_t id = relay_get_u32(&r);
	if (data[0] == 'v') {
		uint8_t result = relay_get_u8(&r);
		char *user = relay_get_str(&r);
		struct relay_pending *p = r.bad || result > AUTH_RESULT_TEMPFAIL ? NULL :
			relay_pending_take(id);
		if (p != NULL && !p->is_sasl) {
			relay_answer_verify(p, (enum auth_result)result, user);
			relay_pending_free(p);
		} else if (p != NULL) {
			relay_unavailable(p);
		}
		free(user);
		return;
	}
	if (data[0] != 'r')
		return;
	struct auth_sasl_reply reply = { 0 };
	uint8_t status = relay_get_u8(&r);
	reply.has_data = relay_get_u8(&r) != 0;
	reply.read_only = relay_get_u8(&r) != 0;
	reply.data = relay_get_bytes(&r, &reply.data_len);
	char *user = relay_get_str(&r), *authcid = relay_get_str(&r);
	char *error = relay_get_str(&r), *mech = relay_get_str(&r);
	reply.status = (enum auth_sasl_status)status;
	reply.user = user;
	reply.authcid = authcid;
	/* the texts the client sees come from the worker's static ones */
	reply.error = error;
	reply.mech = mech;
	struct relay_pending *p = NULL;
	if (!r.bad && status <= AUTH_SASL_TEMPFAIL) {
		if (status == AUTH_SASL_CONTINUE) {
			/* the request stays: find it without taking it */
			for (size_t i = 0; i < N_ELEMENTS(relay_auths) && p == NULL; i++) {
				for (struct relay_pending *q = relay_auths[i] == NULL ? NULL :
				     relay_auths[i]->pending; q != NULL; q = q->next) {
					if (q->id == id) {
						p = q;
						break;
					}
				}
			}
			if (p != NULL && p->is_sasl)
				relay_answer_sasl(p, &reply);
		} else {
			p = relay_pending_take(id);
			if (p != NULL && p->is_sasl) {
				relay_answer_sasl(p, &reply);
				relay_pending_free(p);
			} else if (p != NULL) {
				relay_unavailable(p);
			}
		}
	}
	free(user);
	free(authcid);
	free(error);
	free(mech);
}

/* The worker went away or was replaced: what was in flight is lost. */
static void relay_client_reset(void *ctx ATTR_UNUSED)
{
	for (size_t i = 0; i < N_ELEMENTS(relay_auths); i++) {
		while (relay_auths[i] != NULL && relay_auths[i]->pending != NULL) {
			struct relay_pending *p = relay_auths[i]->pending;
			relay_auths[i]->pending = p->next;
			relay_unavailable(p);
		}
	}
}

static struct relay_pending *relay_pending_new(struct relay_auth *auth, bool is_sasl)
{
	struct relay_pending *p = xcalloc(1, sizeof(*p));
	if (is_sasl)
		p->u.sasl.ops = &relay_ops;
	else
		p->u.verify.ops = &relay_ops;
	p->auth = auth;
	p->is_sasl = is_sasl;
	p->id = ++relay_next_id;
	if (p->id == 0)
		p->id = ++relay_next_id;
	p->next = auth->pending;
	auth->pending = p;
	return p;
}

/* After a failed send: the answer comes from a timer, never before the
 * call returns. */
static void relay_sent(struct relay_pending *p, int ret)
{
	if (ret < 0)
		p->timer = net_timer_create(0, false, relay_unavailable_timer, p);
}

static struct auth_request *relay_verify_plain(struct auth *_auth, const char *user,
					       const char *password, const char *remote_ip,
					       auth_callback *callback, void *ctx)
{
	struct relay_auth *auth = (struct relay_auth *)_auth;
	struct relay_pending *p = relay_pending_new(auth, false);
	p->verify_cb = callback;
	p->ctx = ctx;
	struct relay_writer w = { 0 };
	relay_put_u8(&w, 'V');
	relay_put_u32(&w, p->id);
	relay_put_str(&w, user);
	relay_put_str(&w, password);
	relay_put_str(&w, remote_ip);
	relay_sent(p, relay_send(&w));
	return &p->u.verify;
}

static struct auth_sasl_request *relay_sasl_start(struct auth *_auth, const char *mech,
						  const struct sasl_peer *peer,
						  const unsigned char *initial, size_t initial_len,
						  auth_sasl_callback *callback, void *ctx)
{
	struct relay_auth *auth = (struct relay_auth *)_auth;
	struct relay_pending *p = relay_pending_new(auth, true);
	p->sasl_cb = callback;
	p->ctx = ctx;
	struct relay_writer w = { 0 };
	relay_put_u8(&w, 'S');
	relay_put_u32(&w, p->id);
	relay_put_str(&w, mech);
	relay_put_u8(&w, initial != NULL ? 1 : 0);
	relay_put_bytes(&w, initial, initial != NULL ? initial_len : 0);
	relay_put_str(&w, peer->remote_ip);
	relay_put_str(&w, peer->local_ip);
	relay_put_u32(&w, peer->remote_port);
	relay_put_u32(&w, peer->local_port);
	relay_put_u8(&w, peer->secured ? 1 : 0);
	relay_put_str(&w, peer->service);
	relay_put_bytes(&w, peer->cb_tls_exporter, peer->cb_tls_exporter_len);
	relay_put_bytes(&w, peer->cb_tls_server_end_point, peer->cb_tls_server_end_point_len);
	relay_put_u8(&w, peer->cert_user != NULL ? 1 : 0);
	relay_put_str(&w, peer->cert_user);
	relay_sent(p, relay_send(&w));
	return &p->u.sasl;
}

static void relay_sasl_continue(struct auth_sasl_request *request,
				const unsigned char *response, size_t response_len)
{
	struct relay_pending *p = (struct relay_pending *)request;
	if (p->timer != NULL)
		return;		/* answered TEMPFAIL already */
	struct relay_writer w = { 0 };
	relay_put_u8(&w, 'C');
	relay_put_u32(&w, p->id);
	relay_put_bytes(&w, response, response_len);
	relay_sent(p, relay_send(&w));
}

static void relay_abort(struct relay_pending *p)
{
	if (relay_pending_take(p->id) != p)
		return;
	uint32_t id = p->id;
	relay_pending_free(p);
	struct relay_writer w = { 0 };
	relay_put_u8(&w, 'X');
	relay_put_u32(&w, id);
	(void)relay_send(&w);
}

static void relay_request_abort(struct auth_request *request)
{
	relay_abort((struct relay_pending *)request);
}

static void relay_sasl_abort(struct auth_sasl_request *request)
{
	relay_abort((struct relay_pending *)request);
}

static struct auth_request *relay_user_lookup(struct auth *_auth, const char *user ATTR_UNUSED,
					      auth_callback *callback, void *ctx)
{
	/* no protocol of a login process looks users up: TEMPFAIL */
	struct relay_auth *auth = (struct relay_auth *)_auth;
	struct relay_pending *p = relay_pending_new(auth, false);
	p->verify_cb = callback;
	p->ctx = ctx;
	relay_sent(p, -1);
	return &p->u.verify;
}

static int relay_user_exists(struct auth *auth ATTR_UNUSED, const char *user ATTR_UNUSED)
{
	log_error("auth: no user database in a login process");
	return -1;
}

static void relay_reload(struct auth *auth ATTR_UNUSED)
{
}

static void relay_destroy(struct auth *_auth)
{
	struct relay_auth *auth = (struct relay_auth *)_auth;
	while (auth->pending != NULL) {
		struct relay_pending *p = auth->pending;
		auth->pending = p->next;
		relay_pending_free(p);
	}
	bool any = false;
	for (size_t i = 0; i < N_ELEMENTS(relay_auths); i++) {
		if (relay_auths[i] == auth)
			relay_auths[i] = NULL;
		any = any || relay_auths[i] != NULL;
	}
	if (!any)
		net_login_set_handler(NULL, NULL, NULL, NULL);
	free(auth);
}

static const struct auth_ops relay_ops = {
	.destroy = relay_destroy,
	.reload = relay_reload,
	.user_exists = relay_user_exists,
	.verify_plain = relay_verify_plain,
	.user_lookup = relay_user_lookup,
	.request_abort = relay_request_abort,
	.sasl_start = relay_sasl_start,
	.sasl_continue = relay_sasl_continue,
	.sasl_abort = relay_sasl_abort,
};

struct auth *auth_create_relay(const struct roost_config *config)
{
	/* before the sandbox: the keytab can still be looked at */
	auth_mech_freeze_usable(config);
	struct relay_auth *auth = xcalloc(1, sizeof(*auth));
	auth->auth.ops = &relay_ops;
	size_t i;
	for (i = 0; i < N_ELEMENTS(relay_auths) && relay_auths[i] != NULL; i++)
		;
	if (i == N_ELEMENTS(relay_auths))
		i_panic("auth_create_relay: too many");
	relay_auths[i] = auth;
	net_login_set_handler(relay_client_message, relay_client_reset, NULL, NULL);
	return &auth->auth;
}

uint32_t auth_handoff_id(struct auth *_auth)
{
	if (_auth->ops != &relay_ops)
		return 0;
	return ((struct relay_auth *)_auth)->ok_id;
}

int auth_handoff(struct auth *auth, uint32_t id, struct net_conn *conn, const char *protocol,
		 const void *state, size_t state_len)
{
	if (auth->ops != &relay_ops || id == 0)
		return -1;
	net_conn_handoff(conn, id, protocol, state, state_len);
	return 0;
}

/* ---- worker: the server ---- */

struct relay_running {
	struct relay_running *next;
	uint32_t id;
	struct auth_request *verify;
	struct auth_sasl_request *sasl;
};

struct relay_grant {
	uint32_t id;
	bool read_only;
	uint64_t expires_ms;
	char *user;
};

static struct {
	struct auth *auth;		/* NULL: not serving */
	struct relay_running *running;
	struct relay_grant grants[RELAY_GRANTS_MAX];
	size_t grant_count;
} server;

static void relay_grant_remove(size_t i)
{
	free(server.grants[i].user);
	server.grants[i] = server.grants[--server.grant_count];
}

static void relay_grants_expire(void)
{
	uint64_t now = time_monotonic_ms();
	for (size_t i = 0; i < server.grant_count;) {
		if (server.grants[i].expires_ms <= now)
			relay_grant_remove(i);
		else
			i++;
	}
}

static void relay_grant_add(uint32_t id, const char *user, bool read_only)
{
	relay_grants_expire();
	if (server.grant_count == RELAY_GRANTS_MAX) {
		/* the oldest has waited longest for its handover */
		size_t oldest = 0;
		for (size_t i = 1; i < server.grant_count; i++) {
			if (server.grants[i].expires_ms < server.grants[oldest].expires_ms)
				oldest = i;
		}
		relay_grant_remove(oldest);
	}
	struct relay_grant *g = &server.grants[server.grant_count++];
	g->id = id;
	g->read_only = read_only;
	g->expires_ms = time_monotonic_ms() + RELAY_GRANT_MSECS;
	g->user = xstrdup(user);
}

static char *relay_server_claim(uint32_t id, bool *read_only_r, void *ctx ATTR_UNUSED)
{
	relay_grants_expire();
	for (size_t i = 0; i < server.grant_count; i++) {
		if (server.grants[i].id == id) {
			char *user = server.grants[i].user;
			*read_only_r = server.grants[i].read_only;
			server.grants[i].user = NULL;
			relay_grant_remove(i);
			return user;
		}
	}
	return NULL;
}

static struct relay_running *relay_running_find(uint32_t id, bool take)
{
	for (struct relay_running **p = &server.running; *p != NULL; p = &(*p)->next) {
		if ((*p)->id == id) {
			struct relay_running *found = *p;
			if (take)
				*p = found->next;
			return found;
		}
	}
	return NULL;
}

static struct relay_running *relay_running_new(uint32_t id)
{
	struct relay_running *run = xcalloc(1, sizeof(*run));
	run->id = id;
	run->next = server.running;
	server.running = run;
	return run;
}

static void relay_server_verified(enum auth_result result, const char *user, void *ctx)
{
	struct relay_running *run = ctx;
	uint32_t id = run->id;
	if (relay_running_find(id, true) == run)
		free(run);
	if (result == AUTH_RESULT_OK)
		relay_grant_add(id, user, false);
	struct relay_writer w = { 0 };
	relay_put_u8(&w, 'v');
	relay_put_u32(&w, id);
	relay_put_u8(&w, (uint8_t)result);
	relay_put_str(&w, user);
	(void)relay_send(&w);
}

static void relay_server_sasl_reply(const struct auth_sasl_reply *reply, void *ctx)
{
	struct relay_running *run = ctx;
	uint32_t id = run->id;
	if (reply->status != AUTH_SASL_CONTINUE && relay_running_find(id, true) == run)
		free(run);
	if (reply->status == AUTH_SASL_OK)
		relay_grant_add(id, reply->user, reply->read_only);
	struct relay_writer w = { 0 };
	relay_put_u8(&w, 'r');
	relay_put_u32(&w, id);
	relay_put_u8(&w, (uint8_t)reply->status);
	relay_put_u8(&w, reply->has_data ? 1 : 0);
	relay_put_u8(&w, reply->read_only ? 1 : 0);
	relay_put_bytes(&w, reply->data, reply->data_len);
	relay_put_str(&w, reply->user);
	relay_put_str(&w, reply->authcid);
	relay_put_str(&w, reply->error);
	relay_put_str(&w, reply->mech);
	(void)relay_send(&w);
}

static void relay_server_verify(struct relay_reader *r, uint32_t id)
{
	char *user = relay_get_str(r), *password = relay_get_str(r), *ip = relay_get_str(r);
	if (!r->bad && relay_running_find(id, false) == NULL) {
		struct relay_running *run = relay_running_new(id);
		struct auth_request *req = auth_verify_plain(server.auth, user, password, ip,
							     relay_server_verified, run);
		/* NULL: answered inline, run is gone */
		if (req != NULL)
			run->verify = req;
	} else {
		log_error("auth: malformed check from the login process");
	}
	explicit_bzero(password, strlen(password));
	free(password);
	free(user);
	free(ip);
}

static void relay_server_sasl_start(struct relay_reader *r, uint32_t id)
{
	char *mech = relay_get_str(r);
	bool has_initial = relay_get_u8(r) != 0;
	size_t initial_len;
	const unsigned char *initial = relay_get_bytes(r, &initial_len);
	char *remote_ip = relay_get_str(r), *local_ip = relay_get_str(r);
	struct sasl_peer peer = { .remote_ip = remote_ip, .local_ip = local_ip };
	peer.remote_port = relay_get_u32(r);
	peer.local_port = relay_get_u32(r);
	peer.secured = relay_get_u8(r) != 0;
	char *service = relay_get_str(r);
	peer.service = service;
	peer.cb_tls_exporter = relay_get_bytes(r, &peer.cb_tls_exporter_len);
	peer.cb_tls_server_end_point = relay_get_bytes(r, &peer.cb_tls_server_end_point_len);
	if (peer.cb_tls_exporter_len == 0)
		peer.cb_tls_exporter = NULL;
	if (peer.cb_tls_server_end_point_len == 0)
		peer.cb_tls_server_end_point = NULL;
	bool has_cert_user = relay_get_u8(r) != 0;
	char *cert_user = relay_get_str(r);
	peer.cert_user = has_cert_user ? cert_user : NULL;
	if (!r->bad && relay_running_find(id, false) == NULL) {
		struct relay_running *run = relay_running_new(id);
		struct auth_sasl_request *req = auth_sasl_start(server.auth, mech, &peer,
								has_initial ? initial : NULL,
								initial_len,
								relay_server_sasl_reply, run);
		if (req != NULL)
			run->sasl = req;
	} else {
		log_error("auth: malformed SASL start from the login process");
	}
	free(mech);
	free(remote_ip);
	free(local_ip);
	free(service);
	free(cert_user);
}

static void relay_server_message(const unsigned char *data, size_t len, void *ctx ATTR_UNUSED)
{
	struct relay_reader r = { .p = data + 1, .left = len - 1 };
	uint32_t id = relay_get_u32(&r);
	struct relay_running *run;
	switch (data[0]) {
	case 'V':
		relay_server_verify(&r, id);
		break;
	case 'S':
		relay_server_sasl_start(&r, id);
		break;
	case 'C': {
		size_t n;
		const unsigned char *resp = relay_get_bytes(&r, &n);
		run = relay_running_find(id, false);
		if (!r.bad && run != NULL && run->sasl != NULL)
			auth_sasl_continue(run->sasl, resp, n);
		break;
	}
	case 'X':
		run = relay_running_find(id, true);
		if (run != NULL) {
			auth_request_abort(&run->verify);
			auth_sasl_abort(&run->sasl);
			free(run);
		}
		break;
	default:
		log_error("auth: unknown message from the login process");
		break;
	}
}

static void relay_server_reset(void *ctx ATTR_UNUSED)
{
	while (server.running != NULL) {
		struct relay_running *run = server.running;
		server.running = run->next;
		auth_request_abort(&run->verify);
		auth_sasl_abort(&run->sasl);
		free(run);
	}
	while (server.grant_count > 0)
		relay_grant_remove(0);
}

bool auth_relay_serve(struct auth *auth)
{
	if (server.auth != NULL)
		return false;
	server.auth = auth;
	net_login_set_handler(relay_server_message, relay_server_reset, relay_server_claim, NULL);
	return true;
}

void auth_relay_serve_end(struct auth *auth)
{
	if (server.auth != auth)
		return;
	relay_server_reset(NULL);
	net_login_set_handler(NULL, NULL, NULL, NULL);
	server.auth = NULL;
}
