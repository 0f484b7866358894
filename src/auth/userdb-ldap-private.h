/* userdb-ldap-private.h: what the two halves of the LDAP source share:
 * userdb-ldap.c (the source, its queue, threads, cache and answers on the
 * loop) and userdb-ldap-conn.c (libldap's blocking calls, on a thread or
 * inline).  Nothing else includes it. */
#ifndef ROOST_AUTH_USERDB_LDAP_PRIVATE_H
#define ROOST_AUTH_USERDB_LDAP_PRIVATE_H

#include "userdb.h"

#include <ldap.h>
#include <pthread.h>

/* Requests waiting for a thread; more are answered TEMPFAIL at once (a
 * directory that is that far behind would time them out anyway). */
#define USERDB_LDAP_QUEUE_MAX 1024
/* Cache entries; when full, expired ones are dropped, then all. */
#define USERDB_LDAP_CACHE_MAX 8192
#define USERDB_LDAP_CACHE_BUCKETS 1024
#define USERDB_LDAP_BACKOFF_MIN_MS 250
#define USERDB_LDAP_BACKOFF_MAX_MS 5000
#define USERDB_LDAP_DIGEST_LEN 32

enum userdb_ldap_op { USERDB_LDAP_OP_LOOKUP, USERDB_LDAP_OP_VERIFY };

struct userdb_ldap_conn {
	LDAP *ld;		/* searches, bound as ldap_bind_dn */
	LDAP *bind_ld;		/* binds as users */
	unsigned int generation;	/* of the settings it was made with */
};

struct userdb_ldap_cache_entry {
	struct userdb_ldap_cache_entry *next;
	char *key;		/* the user name asked for */
	uint64_t expires_ms;
	bool found;
	char *user, *dn, *password;
	bool has_digest;	/* a password that was accepted */
	unsigned char digest[USERDB_LDAP_DIGEST_LEN];
};

struct userdb_ldap {
	/* settings (read-only after create, except under `lock`) */
	char *uri, *tls_ca, *bind_dn, *bind_password, *bind_password_file, *base;
	char *filter, *user_attr, *password_attr;
	int scope;
	bool starttls, auth_bind;
	unsigned int cache_ttl, timeout, pool_size;

	/* the threads' */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	pthread_t *threads;
	unsigned int thread_count;
	bool stopping;
	struct userdb_source_request *queue_head, *queue_tail;
	unsigned int queue_len;
	struct userdb_source_request *done_head, *done_tail;
	uint64_t next_connect_ms;	/* backoff: no connect before this */
	unsigned int backoff_ms;
	unsigned int generation;	/* bumped by reload: reconnect */
	int efd;

	/* the loop's */
	bool probed, inline_mode;
	struct net_watch *watch;
	struct userdb_ldap_conn inline_conn;
	bool down;		/* an outage is logged */
	bool queue_full_logged;
	unsigned char salt[16];
	struct userdb_ldap_cache_entry *cache[USERDB_LDAP_CACHE_BUCKETS];
	unsigned int cache_count;
};

struct userdb_source_request {
	struct userdb_ldap *src;
	struct userdb_source_request *next;
	enum userdb_ldap_op op;
	bool aborted;			/* under src->lock */
	userdb_callback *done;
	void *ctx;
	char *key;			/* the user name asked for */
	unsigned char digest[USERDB_LDAP_DIGEST_LEN];	/* VERIFY: of the password */

	/* work: the thread's while queued or running */
	char *password;			/* VERIFY; wiped after use */
	enum userdb_result result;
	bool from_server;		/* the server answered (else cache) */
	bool server_down;		/* TEMPFAIL because it cannot be reached */
	bool cacheable;			/* result may be cached */
	char *user, *dn, *stored_password;
	char *error;			/* for the log, without secrets */
};

/* Wipes and frees a string that may hold a password; sets *s to NULL. */
void userdb_ldap_free_secret(char **s);
/* Closes both connections of `c` (NULL handles are fine). */
void userdb_ldap_conn_close(struct userdb_ldap_conn *c);
/* The work of one request on connection `c` (reopened as needed): fills
 * the request's result fields and wipes its password.  Blocks for up to
 * a few ldap_timeout; never on the loop. */
void userdb_ldap_request_work(struct userdb_ldap *src, struct userdb_ldap_conn *c,
			      struct userdb_source_request *req);

#endif
