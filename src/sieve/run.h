/* run.h: Sieve where mail arrives: the user's scripts run on every
 * delivery (LMTP, `roost deliver`) and their actions are carried out.
 *
 * This is the glue between the interpreter (sieve.h), the user's store
 * (scripts, mailboxes, tracking memory) and outgoing mail (submit.h).
 * The delivery code hands one recipient's delivery to sieve_run_deliver()
 * and gets back what to answer: stored, refused (ereject), or a temporary
 * failure.  A user without scripts costs one check of the store.
 *
 * The durability rules of delivery hold here: "stored" is answered only
 * when every copy the actions asked for is on disk; outgoing mail is sent
 * only after that, and its failure never loses the message (it is then
 * kept in INBOX).  A script that does not compile or fails at run time
 * means implicit keep (RFC 5228 2.10.6), with the error logged. */
#ifndef ROOST_SIEVE_RUN_H
#define ROOST_SIEVE_RUN_H

#include "base/base.h"
#include "base/str.h"
#include "store/store.h"

#include <time.h>

struct istream;
struct roost_config;
struct sieve_limits;
struct sieve_env;

/* One recipient's delivery, as the delivery code describes it.  Nothing
 * here is kept after sieve_run_deliver() returns. */
struct sieve_delivery {
	const struct roost_config *config;
	struct store *store;		/* the recipient's open store */
	const char *user;		/* its user, as in the user database */
	/* where the message goes without a script (and on implicit keep):
	 * a +detail mailbox or `roost deliver -m`; NULL for INBOX.  When
	 * it does not exist, INBOX. */
	const char *mailbox;
	/* the message as stored: `prefix` (the trace headers, may be NULL)
	 * followed by the first `size` bytes of `spool` (read at their
	 * offsets), or, when `shared` is not NULL, that finished message
	 * (store_message_*: the same bytes for several recipients, which
	 * `prefix` + `spool` then also hold) */
	const struct str *prefix;
	struct istream *spool;
	uint64_t size;
	struct store_message *shared;
	/* the envelope: MAIL FROM ("" for <>) and the recipient address as
	 * given (RCPT TO, `roost deliver -u`) */
	const char *envelope_from;
	const char *envelope_to;
	/* the LMTP client's address (RFC 5183 "remote-ip"), or NULL */
	const char *remote_ip;
	/* for logs ("lmtp(127.0.0.1,3)") */
	const char *log_prefix;
	time_t now;			/* the time of the delivery */
};

enum sieve_delivery_status {
	/* at least one copy is on disk (mailbox/uid name the first one) */
	SIEVE_DELIVERY_STORED,
	/* done and nothing stored: discard, or a reject or redirect that
	 * took the message elsewhere */
	SIEVE_DELIVERY_DISCARDED,
	/* ereject (RFC 5429 2.1): refuse this recipient in the protocol
	 * with `reason` (LMTP 550 5.7.1; `roost deliver` exits EX_NOPERM) */
	SIEVE_DELIVERY_REJECTED,
	/* a copy could not be stored: `error` (a temporary failure unless
	 * it says otherwise; logged) */
	SIEVE_DELIVERY_FAILED,
};

#define SIEVE_REJECT_REASON_MAX 400

struct sieve_delivery_result {
	enum sieve_delivery_status status;
	enum store_error error;		/* FAILED: the store's error class */
	char mailbox[256];		/* STORED: the first copy's mailbox */
	uint32_t uid;			/* STORED: its UID */
	unsigned int copies;		/* STORED: copies on disk */
	/* REJECTED: the reason as one line of printable US-ASCII (RFC
	 * 5429 2.1.1: a reason with other characters is replaced) */
	char reason[SIEVE_REJECT_REASON_MAX + 1];
};

/* Delivers the message of `d` for its recipient: finds the recipient's
 * scripts (roost.conf's sieve_before, the user's active script or else
 * sieve_default, sieve_after), runs them and carries out their actions.
 * Returns 0 with result_r filled (STORED, DISCARDED or REJECTED), or -1
 * with result_r->status FAILED: nothing may be answered as delivered,
 * although copies already stored stay (a retry may store them again).
 * Safe to call from several threads at once for different stores. */
int sieve_run_deliver(const struct sieve_delivery *d, struct sieve_delivery_result *result_r);

/* One IMAP event (RFC 6785 2.2) to run administrator-configured scripts
 * on: messages `uids` of `mailbox` of the user's open store were
 * appended (cause "APPEND"), copied or moved in ("COPY"), or had their
 * flags changed ("FLAG", with `changed_flags` the flags that changed,
 * space separated: RFC 6785 4.5 imap.changedflags).  Nothing here is
 * kept after sieve_run_imap_event() returns. */
#define SIEVE_IMAP_SCRIPTS_MAX 8

struct sieve_imap_event {
	const struct roost_config *config;
	struct store *store;
	const char *user;
	const char *mailbox;
	const char *cause;
	const uint32_t *uids;
	size_t uid_count;
	const char *changed_flags;	/* FLAG; NULL otherwise */
	/* the script files, run in this order as one sequence (as
	 * sieve_execute_sequence()); 1 to SIEVE_IMAP_SCRIPTS_MAX of them */
	const char *const *scripts;
	size_t script_count;
	const char *log_prefix;		/* for logs ("imap(user)") */
	time_t now;
};

/* Runs the scripts of `ev` on each of its messages (compiled through the
 * same per-process cache as deliveries) with the message's current flags
 * as imap4flags' internal flags (RFC 6785 3.8) and carries out the result
 * as RFC 6785 3.1-3.8 say: keep and implicit keep leave the message with
 * the flags the script left it (a change "as though a client had made
 * the change", which is no new event: the caller never runs scripts for
 * it); fileinto stores a new copy; redirect and notify are sent with the
 * user as MAIL FROM (3.4: the user name when it is an address, else
 * USER@HOST with this host's name); when no keep is in effect (fileinto,
 * redirect, discard) the message gets \Deleted (3.3-3.5).  A script that
 * does not compile or fails, a message that is gone or cannot be read:
 * logged, and that message is left unchanged.  Returns how many messages
 * the scripts ran on, or -1 when the mailbox cannot be opened (logged).
 * Blocks on the store and on sending: call it from a job thread. */
int sieve_run_imap_event(const struct sieve_imap_event *ev);

/* The IMAP side's entry (RFC 6785 2.2): after APPEND into, COPY or MOVE
 * into (`from` the source mailbox, else NULL) or a flag change in
 * `mailbox` ("APPEND", "COPY" or "FLAG" `cause`, `changed_flags` as in
 * struct sieve_imap_event) of messages `uids`, finds the scripts of
 * roost.conf's imapsieve_mailbox lines for it.  When there are some,
 * queues the event, with copies of everything, as a store request of
 * `store` that runs sieve_run_imap_event() off the event loop
 * (store_request_run_offload(): the session's later store calls wait for
 * it, its answer does not); otherwise does nothing, and with no
 * imapsieve_mailbox line at all it costs one test.  Call it on the loop
 * after the command has made its change; `store` is the user's open
 * store (the request holds its own reference). */
void sieve_run_imap_event_queue(const struct roost_config *config, struct store *store,
				const char *user, const char *mailbox, const char *from,
				const char *cause, const uint32_t *uids, size_t count,
				const char *changed_flags, const char *log_prefix);
/* Whether an imapsieve_mailbox line of `config` has `cause` for
 * `mailbox` (whatever its FROM): a quick check on the loop, so that a
 * command gathers what the event needs only when it is wanted. */
bool sieve_run_imap_event_wanted(const struct roost_config *config, const char *mailbox,
				 const char *cause);

/* The interpreter's limits from roost.conf's sieve_max_* keys. */
void sieve_run_limits(const struct roost_config *config, struct sieve_limits *limits_r);
/* Sets the fields of *env that come from roost.conf: the subaddress
 * delimiter (recipient_delimiter) and the spamtest/virustest headers and
 * scales (sieve_spamtest_*, sieve_virustest_*); the rest is left alone. */
void sieve_run_env_config(const struct roost_config *config, struct sieve_env *env);

/* Frees the compiled scripts this process keeps (at exit, for leak
 * checkers); scripts are compiled again when next needed. */
void sieve_run_cache_clear(void);

#endif
