/* apply.c: the actions of a Sieve result, carried out for one delivery.
 *
 * Filing goes through the store's append (durable before it returns);
 * outgoing mail through submit.h.  This file never answers "stored"
 * before every copy is on disk, and never drops a message because mail
 * could not be sent. */
#include "apply.h"
#include "send.h"
#include "base/log.h"
#include "base/pool.h"
#include "base/istream.h"
#include "conf/conf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define APPLY_COPY_BUF (64 * 1024)

/* One mailbox the message goes to, with what imap4flags asked for. */
struct apply_target {
	const char *mailbox;
	uint32_t flags;
	const char **keywords;
	size_t keyword_count;
};

struct apply_ctx {
	const struct sieve_delivery *d;
	const struct sieve_result *result;	/* NULL: no script */
	struct pool *pool;
	struct apply_target *targets;
	size_t target_count, target_cap;
	struct sieve_delivery_result *res;
};

void sieve_apply_track_key(struct str *dest, char kind, const void *id, size_t id_len)
{
	str_truncate(dest, 0);
	str_append_c(dest, kind);
	str_append_n(dest, id, id_len);
}

/* ---- flags (RFC 5232) ---- */

static const struct {
	const char *name;
	uint32_t flag;
} apply_system_flags[] = {
	{ "\\Seen", STORE_FLAG_SEEN },
	{ "\\Answered", STORE_FLAG_ANSWERED },
	{ "\\Flagged", STORE_FLAG_FLAGGED },
	{ "\\Deleted", STORE_FLAG_DELETED },
	{ "\\Draft", STORE_FLAG_DRAFT },
};

/* flag-keyword = atom (RFC 9051): no atom-specials, no '\', no ']'. */
static bool apply_is_keyword(const char *s, size_t len)
{
	if (len == 0)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c <= 0x20 || c >= 0x7f || strchr("(){%*\"\\]", c) != NULL)
			return false;
	}
	return true;
}

static bool apply_has_keyword(const struct apply_target *t, const char *s, size_t len)
{
	for (size_t i = 0; i < t->keyword_count; i++) {
		if (strlen(t->keywords[i]) == len && strncasecmp(t->keywords[i], s, len) == 0)
			return true;
	}
	return false;
}

/* Adds one flag word of an imap4flags list: a system flag (any case), a
 * keyword, or (logged, skipped) something IMAP cannot store: RFC 5232 3
 * leaves invalid flags to the implementation, and \Recent is not settable. */
static void apply_add_flag(struct apply_ctx *ctx, struct apply_target *t,
			   const char *s, size_t len)
{
	for (size_t i = 0; i < N_ELEMENTS(apply_system_flags); i++) {
		const char *name = apply_system_flags[i].name;
		if (strlen(name) == len && strncasecmp(name, s, len) == 0) {
			t->flags |= apply_system_flags[i].flag;
			return;
		}
	}
	if (!apply_is_keyword(s, len)) {
		log_info("%s: sieve: flag \"%.*s\" of %s not stored (not an IMAP keyword)",
			 ctx->d->log_prefix, (int)ROOST_MIN(len, 100), s, ctx->d->user);
		return;
	}
	if (apply_has_keyword(t, s, len))
		return;
	const char **kw = p_malloc(ctx->pool, (t->keyword_count + 1) * sizeof(*kw));
	if (t->keyword_count > 0)
		memcpy(kw, t->keywords, t->keyword_count * sizeof(*kw));
	kw[t->keyword_count++] = p_strndup(ctx->pool, s, len);
	t->keywords = kw;
}

/* Each string of the list may hold several flags separated by spaces
 * (RFC 5232 3: "a space-separated list of flags"). */
static void apply_add_flags(struct apply_ctx *ctx, struct apply_target *t,
			    const char *const *flags, size_t count)
{
	for (size_t i = 0; i < count; i++) {
		const char *p = flags[i];
		while (*p != '\0') {
			p += strspn(p, " ");
			size_t n = strcspn(p, " ");
			if (n > 0)
				apply_add_flag(ctx, t, p, n);
			p += n;
		}
	}
}

/* ---- where a copy goes ---- */

/* The target for `mailbox`: RFC 5228 2.10.3, filing into the same
 * mailbox twice stores one copy (with the flags of both). */
static struct apply_target *apply_target_get(struct apply_ctx *ctx, const char *mailbox)
{
	for (size_t i = 0; i < ctx->target_count; i++) {
		const char *m = ctx->targets[i].mailbox;
		if (strcmp(m, mailbox) == 0 ||
		    (strcasecmp(m, "INBOX") == 0 && strcasecmp(mailbox, "INBOX") == 0))
			return &ctx->targets[i];
	}
	ARRAY_RESERVE(ctx->targets, ctx->target_cap, ctx->target_count + 1);
	struct apply_target *t = &ctx->targets[ctx->target_count++];
	memset(t, 0, sizeof(*t));
	t->mailbox = p_strdup(ctx->pool, mailbox);
	return t;
}

uint32_t sieve_apply_special_use_bit(const char *use)
{
	static const struct {
		const char *name;
		uint32_t bit;
	} uses[] = {
		{ "\\All", STORE_USE_ALL }, { "\\Archive", STORE_USE_ARCHIVE },
		{ "\\Drafts", STORE_USE_DRAFTS }, { "\\Flagged", STORE_USE_FLAGGED },
		{ "\\Junk", STORE_USE_JUNK }, { "\\Sent", STORE_USE_SENT },
		{ "\\Trash", STORE_USE_TRASH },
	};
	for (size_t i = 0; i < N_ELEMENTS(uses); i++) {
		if (strcasecmp(uses[i].name, use) == 0)
			return uses[i].bit;
	}
	return 0;
}

/* RFC 8579 3 (fileinto :specialuse) and RFC 9042 3 (fileinto
 * :mailboxid): the mailbox of that special use or that MAILBOXID, if
 * one exists; else NULL and the named mailbox is used. */
static const char *apply_find_mailbox(struct apply_ctx *ctx, const char *special_use,
				      const char *mailbox_id)
{
	struct store_mailbox_info *infos;
	size_t count;
	const char *found = NULL;
	uint32_t bit = special_use == NULL ? 0 : sieve_apply_special_use_bit(special_use);

	if (bit == 0 && mailbox_id == NULL)
		return NULL;
	if (store_mailbox_list(ctx->d->store, &infos, &count) < 0)
		return NULL;
	for (size_t i = 0; i < count && found == NULL; i++) {
		if (!infos[i].exists)
			continue;
		if (mailbox_id != NULL) {
			struct store_status st;
			if (store_mailbox_status(ctx->d->store, infos[i].name, &st) == 0 &&
			    strcmp(st.mailboxid, mailbox_id) == 0)
				found = p_strdup(ctx->pool, infos[i].name);
		} else if ((infos[i].special_use & bit) != 0) {
			found = p_strdup(ctx->pool, infos[i].name);
		}
	}
	free(infos);
	return found;
}

/* ---- storing one copy ---- */

static int apply_copy_spool(struct store_append *append, struct istream *spool, uint64_t size)
{
	static _Thread_local unsigned char buf[APPLY_COPY_BUF];
	for (uint64_t off = 0; off < size; ) {
		size_t want = (size_t)ROOST_MIN(size - off, (uint64_t)APPLY_COPY_BUF);
		ssize_t n = istream_pread(spool, buf, want, off);
		if (n < (ssize_t)want) {
			log_error("deliver: reading the spooled message: %s",
				  n < 0 ? strerror(errno) : "unexpected end of file");
			return -1;
		}
		if (store_append_write(append, buf, want) < 0)
			return -2;
		off += want;
	}
	return 0;
}

static int apply_begin(struct apply_ctx *ctx, const char *mailbox, bool own_copy,
		       struct store_append **append_r)
{
	const struct sieve_delivery *d = ctx->d;
	if (d->shared != NULL && !own_copy)
		return store_append_begin_message(d->store, mailbox, d->shared, append_r);
	return store_append_begin(d->store, mailbox, append_r);
}

/* Writes the message's bytes: the script's new message when it changed
 * it (editheader, RFC 5293), else the delivery's prefix and spool. */
static int apply_write(struct apply_ctx *ctx, struct store_append *append, bool own_copy)
{
	const struct sieve_delivery *d = ctx->d;
	if (d->shared != NULL && !own_copy)
		return 0;
	if (ctx->result != NULL && ctx->result->message_changed) {
		return store_append_write(append, ctx->result->message,
					  ctx->result->message_size) < 0 ? -2 : 0;
	}
	if (d->prefix != NULL && d->prefix->len > 0 &&
	    store_append_write(append, d->prefix->data, d->prefix->len) < 0)
		return -2;
	return apply_copy_spool(append, d->spool, d->size);
}

/* Whether one of the result's targets is INBOX itself. */
static bool apply_has_inbox_target(const struct apply_ctx *ctx)
{
	for (size_t i = 0; i < ctx->target_count; i++) {
		if (strcasecmp(ctx->targets[i].mailbox, "INBOX") == 0)
			return true;
	}
	return false;
}

/* Stores the message in t->mailbox.  With `fallback`, a mailbox that
 * does not exist (or cannot be named) is replaced by INBOX, logged.
 * Returns 0 with the first copy recorded in ctx->res, or -1 with
 * ctx->res FAILED (logged). */
static int apply_store(struct apply_ctx *ctx, const struct apply_target *t, bool fallback)
{
	const struct sieve_delivery *d = ctx->d;
	struct sieve_delivery_result *res = ctx->res;
	bool own_copy = ctx->result != NULL && ctx->result->message_changed;
	const char *mailbox = t->mailbox;
	struct store_append *append;
	enum store_error err = STORE_ERR_NONE;

	if (apply_begin(ctx, mailbox, own_copy, &append) < 0) {
		const char *text = store_last_error(d->store, &err);
		if (!fallback || strcasecmp(mailbox, "INBOX") == 0 ||
		    (err != STORE_ERR_NOTFOUND && err != STORE_ERR_PARAMS))
			goto failed;
		/* RFC 5228 4.1: a mailbox that cannot be filed into: the
		 * message is kept in INBOX instead, and the user told (the log) */
		log_warning("%s: sieve: %s: cannot file into \"%s\" (%s): kept in INBOX",
			    d->log_prefix, d->user, mailbox, text);
		mailbox = "INBOX";
		if (apply_has_inbox_target(ctx))
			return 0;	/* INBOX gets its copy anyway */
		if (apply_begin(ctx, mailbox, own_copy, &append) < 0)
			goto failed;
	}
	int ret = apply_write(ctx, append, own_copy);
	if (ret < 0) {
		store_append_abort(&append);
		if (ret == -1) {
			err = STORE_ERR_TEMP;
			goto failed_logged;
		}
		goto failed;
	}
	uint32_t uidvalidity, uid;
	if (store_append_commit(&append, t->flags, t->keywords, t->keyword_count, 0, 0,
				&uidvalidity, &uid) < 0)
		goto failed;
	if (res->copies++ == 0) {
		snprintf(res->mailbox, sizeof(res->mailbox), "%s", mailbox);
		res->uid = uid;
	}
	return 0;

failed:
	log_error("%s: delivery to %s (%s) failed: %s", d->log_prefix, d->user, mailbox,
		  store_last_error(d->store, &err));
failed_logged:
	res->status = SIEVE_DELIVERY_FAILED;
	res->error = err == STORE_ERR_NONE ? STORE_ERR_TEMP : err;
	return -1;
}

/* The mailbox of implicit keep and keep: the delivery's own (a +detail
 * mailbox, -m), else INBOX. */
static const char *apply_keep_mailbox(const struct sieve_delivery *d)
{
	return d->mailbox != NULL ? d->mailbox : "INBOX";
}

int sieve_apply_keep(const struct sieve_delivery *d, struct sieve_delivery_result *result_r)
{
	struct apply_ctx ctx = { .d = d, .res = result_r };
	struct apply_target t = { .mailbox = apply_keep_mailbox(d) };

	memset(result_r, 0, sizeof(*result_r));
	if (apply_store(&ctx, &t, true) < 0)
		return -1;
	result_r->status = SIEVE_DELIVERY_STORED;
	return 0;
}

/* ---- fileinto ---- */

/* The mailbox a FILEINTO action files into; with :create (RFC 5490 3.2)
 * it is created first if it does not exist. */
static const char *apply_fileinto_mailbox(struct apply_ctx *ctx, const struct sieve_action *a)
{
	const char *found = apply_find_mailbox(ctx, a->special_use, a->mailbox_id);
	if (found != NULL)
		return found;
	if (a->create && store_mailbox_create(ctx->d->store, a->mailbox,
					      a->special_use == NULL ? 0 :
					      sieve_apply_special_use_bit(a->special_use)) < 0) {
		enum store_error err;
		const char *text = store_last_error(ctx->d->store, &err);
		if (err != STORE_ERR_EXISTS)
			log_warning("%s: sieve: %s: cannot create \"%s\": %s",
				    ctx->d->log_prefix, ctx->d->user, a->mailbox, text);
	}
	return a->mailbox;
}

/* ---- the result ---- */

/* RFC 5429 2.1.1: a reason sent at the protocol level must be US-ASCII;
 * one line of it, or a fixed text when it holds anything else. */
static void apply_reject_reason(const char *reason, char *dest, size_t size)
{
	size_t len = 0;
	for (const unsigned char *p = (const unsigned char *)reason; *p != '\0'; p++) {
		if (*p >= 0x80) {
			snprintf(dest, size, "Message rejected by the recipient's mail filter");
			return;
		}
	}
	for (const char *p = reason; *p != '\0' && len + 1 < size; p++) {
		char c = *p == '\r' || *p == '\n' || *p == '\t' ? ' ' : *p;
		if ((unsigned char)c < 0x20 || c == 0x7f)
			continue;
		if (c == ' ' && (len == 0 || dest[len - 1] == ' '))
			continue;
		dest[len++] = c;
	}
	while (len > 0 && dest[len - 1] == ' ')
		len--;
	dest[len] = '\0';
	if (len == 0)
		snprintf(dest, size, "Message rejected by the recipient's mail filter");
}

/* Remembers the result's duplicate ids (RFC 7352 3: only once the
 * message was delivered).  A failure costs one more duplicate later. */
static void apply_mark_duplicates(struct apply_ctx *ctx)
{
	const struct sieve_result *result = ctx->result;
	struct str key = STR_INIT;
	for (size_t i = 0; i < result->duplicate_count; i++) {
		const struct sieve_duplicate_mark *m = &result->duplicates[i];
		sieve_apply_track_key(&key, 'D', m->id, m->id_len);
		if (store_sieve_track_mark(ctx->d->store, key.data, key.len,
					   ctx->d->now + (time_t)m->period) < 0) {
			enum store_error err;
			log_error("%s: sieve: %s: cannot remember a duplicate id: %s",
				  ctx->d->log_prefix, ctx->d->user,
				  store_last_error(ctx->d->store, &err));
		}
	}
	str_free(&key);
}

int sieve_apply_result(const struct sieve_delivery *d, const struct sieve_result *result,
		       const struct sieve_apply_env *env,
		       struct sieve_delivery_result *result_r)
{
	struct apply_ctx ctx = { .d = d, .result = result, .res = result_r };
	bool cancels_keep = false, sends = false;
	int ret = 0;

	memset(result_r, 0, sizeof(*result_r));
	for (size_t i = 0; i < result->action_count; i++) {
		if (result->actions[i].kind == SIEVE_ACT_EREJECT) {
			/* RFC 5429 2.1: refused in the protocol; nothing
			 * else of the result is carried out */
			result_r->status = SIEVE_DELIVERY_REJECTED;
			apply_reject_reason(result->actions[i].reason, result_r->reason,
					    sizeof(result_r->reason));
			return 0;
		}
	}
	ctx.pool = pool_create(1024);
	for (size_t i = 0; i < result->action_count; i++) {
		const struct sieve_action *a = &result->actions[i];
		struct apply_target *t;
		switch (a->kind) {
		case SIEVE_ACT_KEEP:
			t = apply_target_get(&ctx, apply_keep_mailbox(d));
			apply_add_flags(&ctx, t, a->flags, a->flag_count);
			break;
		case SIEVE_ACT_FILEINTO:
			t = apply_target_get(&ctx, apply_fileinto_mailbox(&ctx, a));
			apply_add_flags(&ctx, t, a->flags, a->flag_count);
			break;
		case SIEVE_ACT_DISCARD:
			cancels_keep = true;
			break;
		case SIEVE_ACT_REDIRECT:
		case SIEVE_ACT_REJECT:
			cancels_keep = true;
			sends = true;
			break;
		case SIEVE_ACT_VACATION:
		case SIEVE_ACT_NOTIFY:
			sends = true;
			break;
		case SIEVE_ACT_EREJECT:
			break;
		}
	}
	if (ctx.target_count == 0 && !cancels_keep) {
		/* nothing that cancels implicit keep (RFC 5228 2.10.2; vacation
		 * and notify do not), and no keep: the message is kept all
		 * the same */
		(void)apply_target_get(&ctx, apply_keep_mailbox(d));
	}
	/* every copy on disk first: a failure here answers "try again"
	 * before any mail went out */
	for (size_t i = 0; i < ctx.target_count && ret == 0; i++)
		ret = apply_store(&ctx, &ctx.targets[i], true);
	if (ret == 0 && sends &&
	    sieve_send_actions(d, result, env) > 0 &&
	    result_r->copies == 0) {
		/* mail that should have taken the message elsewhere did not
		 * go: the message stays with the user */
		struct apply_target keep = { .mailbox = "INBOX" };
		ret = apply_store(&ctx, &keep, true);
	}
	if (ret == 0) {
		apply_mark_duplicates(&ctx);
		result_r->status = result_r->copies > 0 ? SIEVE_DELIVERY_STORED :
			SIEVE_DELIVERY_DISCARDED;
	}
	free(ctx.targets);
	pool_destroy(&ctx.pool);
	return ret;
}

/* ---- an IMAP event (RFC 6785 3) ---- */

int sieve_apply_event(const struct sieve_delivery *d, const struct sieve_result *result,
		      const struct sieve_apply_env *env, struct pool *pool,
		      struct sieve_apply_event *event_r)
{
	struct sieve_delivery_result res;
	struct apply_ctx ctx = { .d = d, .result = result, .res = &res, .pool = pool };
	struct apply_target keep = { .mailbox = d->mailbox };
	bool sends = false;
	int ret = 0;

	memset(&res, 0, sizeof(res));
	memset(event_r, 0, sizeof(*event_r));
	for (size_t i = 0; i < result->action_count; i++) {
		const struct sieve_action *a = &result->actions[i];
		struct apply_target *t;
		switch (a->kind) {
		case SIEVE_ACT_KEEP:
			/* 3.1, 3.2: the message is left as it is; its
			 * transient changes are not kept */
			event_r->keep = true;
			apply_add_flags(&ctx, &keep, a->flags, a->flag_count);
			break;
		case SIEVE_ACT_FILEINTO:
			t = apply_target_get(&ctx, apply_fileinto_mailbox(&ctx, a));
			apply_add_flags(&ctx, t, a->flags, a->flag_count);
			break;
		case SIEVE_ACT_REDIRECT:
		case SIEVE_ACT_NOTIFY:
			sends = true;
			break;
		case SIEVE_ACT_DISCARD:
			/* 3.5: the original is marked \Deleted unless a keep
			 * is in effect, as for no keep at all */
			break;
		case SIEVE_ACT_REJECT:
		case SIEVE_ACT_EREJECT:
		case SIEVE_ACT_VACATION:
			/* 3.11: a run-time error on an event, so never in a
			 * result the interpreter made */
			break;
		}
	}
	/* 3.3: "For APPEND and COPY, the message is stored into the
	 * fileinto mailbox IN ADDITION TO the original target mailbox";
	 * never the event's own mailbox instead (no fallback to INBOX) */
	for (size_t i = 0; i < ctx.target_count; i++) {
		if (apply_store(&ctx, &ctx.targets[i], false) < 0)
			ret = -1;
	}
	if (event_r->keep) {
		event_r->set_flags = true;
		event_r->flags = keep.flags;
		event_r->keywords = keep.keywords;
		event_r->keyword_count = keep.keyword_count;
	}
	/* what did not happen must not lose the original */
	if ((sends && sieve_send_actions(d, result, env) > 0) || ret < 0)
		event_r->keep = true;
	free(ctx.targets);
	return ret;
}
