/* auth-relay.c: password checks between a login process and its worker.
 *
 * Messages on the channel (net_login_send; one message each, host byte
 * order: both ends are the same binary on the same machine):
 *
 *   'V' check:  id, user, password, remote address  (login -> worker)
 *   'X' abort:  id                                    (login -> worker)
 *   'v' answer: id, result, normalised user           (worker -> login)
 *
 * The worker is the only judge: it runs auth_verify_plain() with its user
 * database and the shared throttle, exactly as for a session of its own,
 * and keeps the ids it answered OK (for a minute, at most
 * RELAY_GRANTS_MAX) so that the HANDOFF of that connection can be
 * matched (net_login_claim_cb).  Ids are the login process's; a new
 * channel (either side restarted) voids every id of the old one.  A login
 * process never sees a password hash or the database, and cannot get a
 * session for a user whose password it was not sent. */
#include "auth-relay.h"
#include "base/log.h"
#include "net/net.h"

#include <stdlib.h>
#include <string.h>

/* Ids answered OK and not yet claimed: kept this long, this many. */
#define RELAY_GRANT_MSECS 60000
#define RELAY_GRANTS_MAX 1024
/* The longest user name, password and address relayed. */
#define RELAY_FIELD_MAX 4096

struct relay_check {
	char type;		/* 'V' */
	uint32_t id;
	uint16_t user_len, password_len, ip_len;
};

struct relay_abort {
	char type;		/* 'X' */
	uint32_t id;
};

struct relay_answer {
	char type;		/* 'v' */
	uint32_t id;
	uint8_t result;		/* enum auth_result */
	uint16_t user_len;
};

/* ---- login process: the client ---- */

struct relay_pending {
	struct relay_pending *next;
	uint32_t id;
	auth_callback *callback;
	void *ctx;
	struct net_timer *timer;	/* TEMPFAIL without a worker */
	struct auth_relay *relay;
};

/* One per process: IMAP's and ManageSieve's struct auth share it (and
 * the channel's one handler). */
struct auth_relay {
	unsigned int refcount;
	uint32_t next_id;
	struct relay_pending *pending;
};

static struct auth_relay relay_client;

static struct relay_pending *relay_pending_take(struct auth_relay *relay, uint32_t id)
{
	for (struct relay_pending **p = &relay->pending; *p != NULL; p = &(*p)->next) {
		if ((*p)->id == id) {
			struct relay_pending *found = *p;
			*p = found->next;
			return found;
		}
	}
	return NULL;
}

static void relay_pending_free(struct relay_pending *p)
{
	net_timer_destroy(&p->timer);
	free(p);
}

static void relay_client_message(const unsigned char *data, size_t len, void *ctx)
{
	struct auth_relay *relay = ctx;
	struct relay_answer ans;
	if (len < sizeof(ans) || data[0] != 'v')
		return;
	memcpy(&ans, data, sizeof(ans));
	if (len != sizeof(ans) + ans.user_len || ans.result > AUTH_RESULT_TEMPFAIL)
		return;
	struct relay_pending *p = relay_pending_take(relay, ans.id);
	if (p == NULL)
		return;		/* aborted meanwhile */
	char *user = xstrndup((const char *)data + sizeof(ans), ans.user_len);
	p->callback((enum auth_result)ans.result, user, p->ctx);
	free(user);
	relay_pending_free(p);
}

/* The worker went away or was replaced: what was in flight is lost. */
static void relay_client_reset(void *ctx)
{
	struct auth_relay *relay = ctx;
	while (relay->pending != NULL) {
		struct relay_pending *p = relay->pending;
		relay->pending = p->next;
		p->callback(AUTH_RESULT_TEMPFAIL, "", p->ctx);
		relay_pending_free(p);
	}
}

struct auth_relay *auth_relay_create(void)
{
	struct auth_relay *relay = &relay_client;
	if (relay->refcount++ == 0)
		net_login_set_handler(relay_client_message, relay_client_reset, NULL, relay);
	return relay;
}

void auth_relay_destroy(struct auth_relay **relayp)
{
	struct auth_relay *relay = *relayp;
	if (relay == NULL)
		return;
	*relayp = NULL;
	/* the requests of this struct auth were aborted by auth_destroy() */
	if (--relay->refcount > 0)
		return;
	net_login_set_handler(NULL, NULL, NULL, NULL);
	while (relay->pending != NULL) {
		struct relay_pending *p = relay->pending;
		relay->pending = p->next;
		relay_pending_free(p);
	}
}

static void relay_unavailable(void *ctx)
{
	struct relay_pending *p = ctx;
	struct relay_pending *taken = relay_pending_take(p->relay, p->id);
	if (taken == NULL)
		return;
	taken->callback(AUTH_RESULT_TEMPFAIL, "", taken->ctx);
	relay_pending_free(taken);
}

uint32_t auth_relay_verify(struct auth_relay *relay, const char *user, const char *password,
			   const char *remote_ip, auth_callback *callback, void *ctx)
{
	struct relay_pending *p = xcalloc(1, sizeof(*p));
	p->id = ++relay->next_id;
	if (p->id == 0)
		p->id = ++relay->next_id;
	p->callback = callback;
	p->ctx = ctx;
	p->relay = relay;
	p->next = relay->pending;
	relay->pending = p;

	if (remote_ip == NULL)
		remote_ip = "";
	struct relay_check hdr = { .type = 'V', .id = p->id };
	size_t ulen = strlen(user), plen = strlen(password), ilen = strlen(remote_ip);
	int ret = -1;
	if (ulen <= RELAY_FIELD_MAX && plen <= RELAY_FIELD_MAX && ilen <= RELAY_FIELD_MAX) {
		hdr.user_len = (uint16_t)ulen;
		hdr.password_len = (uint16_t)plen;
		hdr.ip_len = (uint16_t)ilen;
		size_t size = sizeof(hdr) + ulen + plen + ilen;
		char *msg = xmalloc(size);
		memcpy(msg, &hdr, sizeof(hdr));
		memcpy(msg + sizeof(hdr), user, ulen);
		memcpy(msg + sizeof(hdr) + ulen, password, plen);
		memcpy(msg + sizeof(hdr) + ulen + plen, remote_ip, ilen);
		ret = net_login_send(msg, size);
		explicit_bzero(msg, size);
		free(msg);
	}
	if (ret < 0)
		p->timer = net_timer_create(0, false, relay_unavailable, p);
	return p->id;
}

void auth_relay_abort(struct auth_relay *relay, uint32_t id)
{
	struct relay_pending *p = relay_pending_take(relay, id);
	if (p == NULL)
		return;
	relay_pending_free(p);
	struct relay_abort msg = { .type = 'X', .id = id };
	(void)net_login_send(&msg, sizeof(msg));
}

/* ---- worker: the server ---- */

struct relay_check_running {
	struct relay_check_running *next;
	uint32_t id;
	struct auth_request *request;
};

struct relay_grant {
	uint32_t id;
	uint64_t expires_ms;
	char *user;
};

static struct {
	struct auth *auth;		/* NULL: not serving */
	struct relay_check_running *running;
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

static void relay_grant_add(uint32_t id, const char *user)
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
	g->expires_ms = time_monotonic_ms() + RELAY_GRANT_MSECS;
	g->user = xstrdup(user);
}

static char *relay_server_claim(uint32_t id, void *ctx ATTR_UNUSED)
{
	relay_grants_expire();
	for (size_t i = 0; i < server.grant_count; i++) {
		if (server.grants[i].id == id) {
			char *user = server.grants[i].user;
			server.grants[i].user = NULL;
			relay_grant_remove(i);
			return user;
		}
	}
	return NULL;
}

static struct relay_check_running *relay_running_take(uint32_t id)
{
	for (struct relay_check_running **p = &server.running; *p != NULL; p = &(*p)->next) {
		if ((*p)->id == id) {
			struct relay_check_running *found = *p;
			*p = found->next;
			return found;
		}
	}
	return NULL;
}

static void relay_server_answered(enum auth_result result, const char *user, void *ctx)
{
	struct relay_check_running *run = ctx;
	uint32_t id = run->id;
	(void)relay_running_take(id);
	free(run);
	if (result == AUTH_RESULT_OK)
		relay_grant_add(id, user);
	size_t ulen = result == AUTH_RESULT_OK ? strlen(user) : 0;
	struct relay_answer ans = { .type = 'v', .id = id, .result = (uint8_t)result,
				    .user_len = (uint16_t)ulen };
	char *msg = xmalloc(sizeof(ans) + ulen);
	memcpy(msg, &ans, sizeof(ans));
	memcpy(msg + sizeof(ans), user, ulen);
	(void)net_login_send(msg, sizeof(ans) + ulen);
	free(msg);
}

static void relay_server_check(const unsigned char *data, size_t len)
{
	struct relay_check hdr;
	memcpy(&hdr, data, sizeof(hdr));
	if (len != sizeof(hdr) + (size_t)hdr.user_len + hdr.password_len + hdr.ip_len ||
	    hdr.user_len > RELAY_FIELD_MAX || hdr.password_len > RELAY_FIELD_MAX ||
	    hdr.ip_len > RELAY_FIELD_MAX) {
		log_error("auth: malformed check from the login process");
		return;
	}
	const char *p = (const char *)data + sizeof(hdr);
	char *user = xstrndup(p, hdr.user_len);
	char *password = xstrndup(p + hdr.user_len, hdr.password_len);
	char *ip = xstrndup(p + hdr.user_len + hdr.password_len, hdr.ip_len);
	struct relay_check_running *run = xcalloc(1, sizeof(*run));
	run->id = hdr.id;
	run->next = server.running;
	server.running = run;
	/* a NUL inside a field shortens it: the check sees what the
	 * worker's own session would have seen */
	struct auth_request *req = auth_verify_plain(server.auth, user, password, ip,
						     relay_server_answered, run);
	/* answered inline (no loop): run is gone */
	if (req != NULL)
		run->request = req;
	explicit_bzero(password, strlen(password));
	free(password);
	free(user);
	free(ip);
}

static void relay_server_message(const unsigned char *data, size_t len, void *ctx ATTR_UNUSED)
{
	if (len >= sizeof(struct relay_check) && data[0] == 'V') {
		relay_server_check(data, len);
	} else if (len == sizeof(struct relay_abort) && data[0] == 'X') {
		struct relay_abort msg;
		memcpy(&msg, data, sizeof(msg));
		struct relay_check_running *run = relay_running_take(msg.id);
		if (run != NULL) {
			auth_request_abort(&run->request);
			free(run);
		}
	} else {
		log_error("auth: unknown message from the login process");
	}
}

static void relay_server_reset(void *ctx ATTR_UNUSED)
{
	while (server.running != NULL) {
		struct relay_check_running *run = server.running;
		server.running = run->next;
		auth_request_abort(&run->request);
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
