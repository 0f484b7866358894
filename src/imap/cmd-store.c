/* cmd-store.c: STORE and UID STORE (RFC 9051 6.4.6, RFC 3501 6.4.6).
 *
 * The flags change through store_mailbox_update_flags() in batches of
 * STORE_BATCH messages (one short index transaction each), run in slices
 * of IMAP_SLICE_MSECS (session.h) so that a STORE over 100,000 messages
 * does not stall the worker's other sessions; then
 * the mailbox is synced (without expunges) with the command's messages
 * left out (imap_session_sync_skipping()), which reports other sessions'
 * changes and new keywords, and finally the command itself answers one
 * FETCH (FLAGS) per message of its set, unless .SILENT.  Those responses are written as
 * the connection drains, like FETCH output.  The only per-message memory
 * is a bitmap of the set (and one of the messages that failed
 * UNCHANGEDSINCE).
 *
 * CONDSTORE (RFC 7162 3.1.3): with UNCHANGEDSINCE n, a message whose
 * modseq is above n is left alone and named in the tagged OK's
 * [MODIFIED set]; once CONDSTORE is on, every FETCH response carries UID
 * and MODSEQ, and .SILENT still answers "FETCH (UID u MODSEQ (m))" for
 * each message that passed.  The "avoid spurious MODIFIED for +FLAGS"
 * optimisation of 3.1.12 (a SHOULD) is not done: the test is on the
 * message's one modseq. */
#include "commands.h"
#include "syntax/imap-parser.h"
#include "syntax/imap-arg.h"
#include "flags.h"
#include "syntax/seqset.h"
#include "qresync.h"
#include "net/net.h"
#include "store/store.h"

#include <stdlib.h>
#include <string.h>

#define STORE_HIGH_WATER (256 * 1024)
/* msns per store transaction */
#define STORE_BATCH 512

struct store_ctx {
	struct imap_cmd *cmd;
	uint8_t *set;		/* bit msn - 1: in the command's set; xmalloc'd */
	uint32_t count;		/* messages in the view (bits in set) */
	uint32_t next_msn;	/* next FETCH response to write */
	bool silent;
	bool had_expunged;
	/* changing the flags (before the responses) */
	bool updating;
	uint32_t update_msn;	/* next msn to look at */
	enum store_flags_mode mode;
	uint32_t flags;
	store_keywords_t kw_mask;
	/* UNCHANGEDSINCE (RFC 7162 3.1.3): the messages that failed its
	 * test (bit msn - 1; xmalloc'd, NULL without the modifier) */
	bool conditional;
	uint64_t unchangedsince;
	uint8_t *failed;
	/* imapsieve (RFC 6785 2.2.3): the messages whose flags changed and
	 * how (xmalloc'd), gathered only when a rule wants FLAG events of
	 * this mailbox */
	bool imapsieve;
	struct store_flag_change {
		uint32_t uid;
		uint32_t flags;			/* the flags that changed */
		store_keywords_t keywords;	/* the keywords that changed */
	} *changes;
	size_t change_count, change_cap;
};

static bool store_bit(const struct store_ctx *ctx, uint32_t msn)
{
	return imap_session_bitmap_has_msn(ctx->set, ctx->count, msn);
}

/* Marks the messages of the client's set in ctx->set.  Returns 0, or -1
 * with *error_r (BAD). */
static int store_parse_set(struct store_ctx *ctx, const char *str, const char **error_r)
{
	struct imap_cmd *cmd = ctx->cmd;
	struct seqset msns = SEQSET_INIT;

	if (imap_session_parse_msns(cmd->session, cmd->uid, str, &msns, error_r) < 0) {
		seqset_deinit(&msns);
		return -1;
	}
	for (unsigned int i = 0; i < msns.count; i++) {
		uint32_t first = msns.ranges[i].seq1, last = msns.ranges[i].seq2;
		for (uint32_t msn = first; msn <= last; msn++) {
			imap_session_bitmap_add_msn(ctx->set, msn);
			if (msn == UINT32_MAX)
				break;
		}
	}
	seqset_deinit(&msns);
	return 0;
}

/* store-modifiers = SP "(" store-modifier *(SP store-modifier) ")"
 * store-modifier =/ "UNCHANGEDSINCE" SP mod-sequence-valzer  (RFC 7162)
 * 0, or -1 with *error_r (BAD). */
static int store_parse_modifiers(const struct imap_arg *arg, uint64_t *unchangedsince_r,
				 const char **error_r)
{
	const struct imap_arg *list;
	unsigned int count;
	if (!imap_arg_get_list(arg, &list, &count) || count != 2 ||
	    !imap_arg_atom_equals(&list[0], "UNCHANGEDSINCE")) {
		*error_r = "Unknown STORE modifier (UNCHANGEDSINCE n).";
		return -1;
	}
	if (imap_modseq_parse(&list[1], true, unchangedsince_r) < 0) {
		*error_r = "UNCHANGEDSINCE needs a mod-sequence (0 to 2^63-1).";
		return -1;
	}
	return 0;
}

/* store-att-flags = (["+" / "-"] "FLAGS" [".SILENT"]) SP
 *                   (flag-list / (flag *(SP flag))) */
static const struct {
	const char *name;
	enum store_flags_mode mode;
	bool silent;
} store_items[] = {
	{ "FLAGS", STORE_FLAGS_REPLACE, false },
	{ "FLAGS.SILENT", STORE_FLAGS_REPLACE, true },
	{ "+FLAGS", STORE_FLAGS_ADD, false },
	{ "+FLAGS.SILENT", STORE_FLAGS_ADD, true },
	{ "-FLAGS", STORE_FLAGS_REMOVE, false },
	{ "-FLAGS.SILENT", STORE_FLAGS_REMOVE, true },
};

/* The STORE item `name` (any case): true with its mode and .SILENT. */
static bool store_parse_item(const char *name, enum store_flags_mode *mode_r,
			     bool *silent_r)
{
	for (size_t i = 0; i < N_ELEMENTS(store_items); i++) {
		if (str_eq_icase(name, store_items[i].name)) {
			*mode_r = store_items[i].mode;
			*silent_r = store_items[i].silent;
			return true;
		}
	}
	return false;
}

static void store_deinit(struct store_ctx *ctx)
{
	free(ctx->changes);
	ctx->changes = NULL;
	ctx->change_count = 0;
	free(ctx->set);
	ctx->set = NULL;
	free(ctx->failed);
	ctx->failed = NULL;
}

static bool store_failed_bit(const struct store_ctx *ctx, uint32_t msn)
{
	return imap_session_bitmap_has_msn(ctx->failed, ctx->count, msn);
}

/* "[MODIFIED set] " for the messages that failed UNCHANGEDSINCE (msns,
 * or UIDs for UID STORE), into `dest`; nothing when none did. */
static void store_write_modified(struct store_ctx *ctx, struct str *dest)
{
	struct store_mailbox *box = ctx->cmd->session->box;
	struct seqset set = SEQSET_INIT;
	if (ctx->failed == NULL)
		return;
	/* msns ascend with UIDs: each addition is O(1) */
	for (uint32_t msn = 1; msn <= ctx->count; msn++) {
		if (store_failed_bit(ctx, msn))
			seqset_add(&set, ctx->cmd->uid ? store_mailbox_msg(box, msn)->uid : msn);
	}
	if (set.count > 0) {
		str_append(dest, "[MODIFIED ");
		seqset_write(&set, dest);
		str_append(dest, "] ");
	}
	seqset_deinit(&set);
}

static void cmd_store_abort(struct imap_cmd *cmd)
{
	store_deinit(cmd->ctx);
}

static bool store_reply(struct imap_cmd *cmd, bool expunged, struct str *modified);

/* The flags of `flags` and `keywords` as IMAP writes them, space separated
 * (RFC 6785 4.5 imap.changedflags). */
static void store_write_changed(struct store_mailbox *box, uint32_t flags,
				store_keywords_t keywords, struct str *dest)
{
	static const char *const names[] = {
		"\\Seen", "\\Answered", "\\Flagged", "\\Deleted", "\\Draft"
	};
	size_t kw_count;
	const char *const *kw = store_mailbox_keywords(box, &kw_count);

	for (size_t i = 0; i < N_ELEMENTS(names); i++) {
		if ((flags & (1u << i)) != 0)
			str_printfa(dest, "%s%s", dest->len > 0 ? " " : "", names[i]);
	}
	for (size_t i = 0; i < kw_count && i < STORE_MAX_KEYWORDS; i++) {
		if ((keywords & ((store_keywords_t)1 << i)) != 0)
			str_printfa(dest, "%s%s", dest->len > 0 ? " " : "", kw[i]);
	}
}

/* Hands the flag changes to imapsieve, one event per distinct change
 * (the messages whose flags changed the same way together). */
static void store_imapsieve(struct imap_session *s, struct store_flag_change *changes,
			    size_t count)
{
	uint32_t *uids = xmalloc(count * sizeof(*uids));
	struct str changed = STR_INIT;

	for (size_t i = 0; i < count; i++) {
		if (changes[i].uid == 0)
			continue;	/* in an earlier event */
		size_t n = 0;
		for (size_t j = i; j < count; j++) {
			if (changes[j].uid != 0 && changes[j].flags == changes[i].flags &&
			    changes[j].keywords == changes[i].keywords) {
				uids[n++] = changes[j].uid;
				if (j > i)
					changes[j].uid = 0;
			}
		}
		str_truncate(&changed, 0);
		store_write_changed(s->box, changes[i].flags, changes[i].keywords, &changed);
		imap_session_imapsieve(s, store_mailbox_name(s->box), NULL, "FLAG", uids, n,
				       str_c(&changed));
	}
	str_free(&changed);
	free(uids);
}

static bool store_finish(struct store_ctx *ctx)
{
	struct imap_cmd *cmd = ctx->cmd;
	bool expunged = ctx->had_expunged;
	struct str modified = STR_INIT;
	struct store_flag_change *changes = ctx->changes;
	size_t change_count = ctx->change_count;
	store_write_modified(ctx, &modified);
	ctx->changes = NULL;
	store_deinit(ctx);
	bool ret = store_reply(cmd, expunged, &modified);
	str_free(&modified);
	/* RFC 6785 2.2.3: after the reply, which does not wait for it */
	if (change_count > 0)
		store_imapsieve(cmd->session, changes, change_count);
	free(changes);
	return ret;
}

static bool store_reply(struct imap_cmd *cmd, bool expunged, struct str *modified)
{
	if (modified->len > 0) {
		/* RFC 7162 3.1.3: OK with MODIFIED; the messages that
		 * passed were changed */
		return imap_cmd_ok(cmd, "%sConditional STORE failed for some messages.",
				   str_c(modified));
	}
	/* RFC 2180 4.2.1/4.2.3, RFC 9051 7.1 (EXPUNGEISSUED): the flags of
	 * the messages that still exist are set and answered, and the
	 * command succeeds, as FETCH does; a NO would say nothing was
	 * changed.  UID STORE ignores UIDs that no longer exist (RFC 9051
	 * 6.4.9); their EXPUNGE responses precede its tagged OK. */
	if (expunged && !cmd->uid)
		return imap_cmd_ok(cmd, "[EXPUNGEISSUED] Some messages were already expunged.");
	return imap_cmd_ok(cmd, "Store completed.");
}

/* Writes "* n FETCH (FLAGS (...))" for the set, as output drains. */
static bool store_continue(struct store_ctx *ctx)
{
	struct imap_cmd *cmd = ctx->cmd;
	struct imap_session *s = cmd->session;
	struct str line = STR_INIT;

	while (ctx->next_msn <= ctx->count) {
		if (net_conn_output_len(s->conn) >= STORE_HIGH_WATER) {
			str_free(&line);
			return false;	/* cmd->resume runs when drained */
		}
		uint32_t msn = ctx->next_msn++;
		if (!store_bit(ctx, msn) || store_mailbox_is_expunged(s->box, msn))
			continue;
		/* .SILENT with CONDSTORE: MODSEQ alone, for the messages
		 * changed (RFC 7162 3.1.3, and example 14 of 3.1.4.2) */
		if (ctx->silent && store_failed_bit(ctx, msn))
			continue;
		const struct store_msg *msg = store_mailbox_msg(s->box, msn);
		str_truncate(&line, 0);
		bool uid_said = imap_session_fetch_begin(s, &line, msn, msg->uid);
		/* RFC 7162 3.2.4: UID too once CONDSTORE is on */
		if (!uid_said && (cmd->uid || s->condstore))
			str_printfa(&line, "UID %u ", msg->uid);
		if (!ctx->silent) {
			str_append(&line, "FLAGS (");
			imap_flags_write(&line, s->box, msg, store_mailbox_is_recent(s->box, msn));
			str_append(&line, ") ");
		}
		if (s->condstore)
			str_printfa(&line, "MODSEQ (%llu) ", (unsigned long long)msg->modseq);
		str_truncate(&line, line.len - 1);
		str_append_c(&line, ')');
		imap_session_write_line(s, &line);
	}
	str_free(&line);
	return store_finish(ctx);
}

/* Records the messages of `batch` whose flags the update changed. */
static void store_note_changes(struct store_ctx *ctx, const uint32_t *batch, size_t n,
			       const uint32_t *old_flags, const store_keywords_t *old_keywords)
{
	struct store_mailbox *box = ctx->cmd->session->box;
	for (size_t i = 0; i < n; i++) {
		if (store_mailbox_is_expunged(box, batch[i]))
			continue;
		const struct store_msg *m = store_mailbox_msg(box, batch[i]);
		uint32_t flags = (m->flags ^ old_flags[i]) & STORE_FLAGS_ALL;
		store_keywords_t keywords = m->keywords ^ old_keywords[i];
		if (flags == 0 && keywords == 0)
			continue;
		ARRAY_RESERVE(ctx->changes, ctx->change_cap, ctx->change_count + 1);
		ctx->changes[ctx->change_count++] = (struct store_flag_change) {
			.uid = m->uid, .flags = flags, .keywords = keywords,
		};
	}
}

/* Changes the flags batch by batch until all are done (then the
 * responses follow) or the slice is over (false: cmd->resume goes on). */
static bool store_update(struct store_ctx *ctx)
{
	struct imap_cmd *cmd = ctx->cmd;
	struct imap_session *s = cmd->session;
	struct store_mailbox *box = s->box;
	uint64_t deadline = imap_cmd_slice_deadline();
	uint32_t batch[STORE_BATCH];
	uint32_t old_flags[STORE_BATCH];
	store_keywords_t old_keywords[STORE_BATCH];

	while (ctx->update_msn <= ctx->count) {
		size_t n = 0;
		while (ctx->update_msn <= ctx->count && n < STORE_BATCH) {
			uint32_t msn = ctx->update_msn++;
			if (store_bit(ctx, msn))
				batch[n++] = msn;
		}
		if (n > 0 && ctx->conditional && ctx->unchangedsince == 0) {
			/* RFC 7162 3.1.3: "UNCHANGEDSINCE 0 always fails if
			 * the metadata item exists"; every message has a
			 * modseq and all its flags */
			for (size_t i = 0; i < n; i++)
				imap_session_bitmap_add_msn(ctx->failed, batch[i]);
		} else if (n > 0) {
			uint32_t *failed = NULL;
			size_t failed_count = 0;
			if (ctx->imapsieve) {
				for (size_t i = 0; i < n; i++) {
					const struct store_msg *m = store_mailbox_msg(box, batch[i]);
					old_flags[i] = m->flags;
					old_keywords[i] = m->keywords;
				}
			}
			if (store_mailbox_update_flags(box, batch, n, ctx->mode, ctx->flags,
						       ctx->kw_mask, ctx->unchangedsince, &failed,
						       &failed_count) < 0) {
				store_deinit(ctx);
				return imap_cmd_store_error(cmd, false);
			}
			if (ctx->imapsieve)
				store_note_changes(ctx, batch, n, old_flags, old_keywords);
			for (size_t i = 0; i < failed_count && ctx->failed != NULL; i++)
				imap_session_bitmap_add_msn(ctx->failed, failed[i]);
			free(failed);
		}
		if (ctx->update_msn <= ctx->count && imap_cmd_slice_end(cmd, deadline))
			return false;
	}
	ctx->updating = false;

	/* Report what others changed meanwhile and any new keyword, but not
	 * this command's messages: their FETCH follows (or, .SILENT, not,
	 * unless another session's change was merged into them). */
	imap_session_sync_skipping(s, ctx->set, ctx->count, ctx->silent);
	for (uint32_t msn = 1; msn <= ctx->count; msn++) {
		if (store_bit(ctx, msn) && store_mailbox_is_expunged(box, msn)) {
			ctx->had_expunged = true;
			break;
		}
	}
	if (ctx->silent && !s->condstore)
		return store_finish(ctx);
	ctx->next_msn = 1;
	return store_continue(ctx);
}

static bool cmd_store_resume(struct imap_cmd *cmd)
{
	struct store_ctx *ctx = cmd->ctx;
	if (ctx->updating)
		return store_update(ctx);
	return store_continue(ctx);
}

bool cmd_store(struct imap_cmd *cmd)
{
	struct imap_session *s = cmd->session;
	struct store_mailbox *box = s->box;
	const struct imap_arg *args = cmd->args;
	struct store_ctx *ctx = p_malloc(cmd->pool, sizeof(*ctx));
	enum store_flags_mode mode;
	const char *error;
	uint32_t flags;
	const char **keywords;
	size_t keyword_count;

	ctx->cmd = cmd;
	const char *set, *item;
	if (!imap_arg_get_atom(&args[0], &set))
		return imap_cmd_bad(cmd, "STORE needs a sequence set, an item and flags.");
	if (args[1].type == IMAP_ARG_LIST) {
		if (store_parse_modifiers(&args[1], &ctx->unchangedsince, &error) < 0)
			return imap_cmd_bad(cmd, "%s", error);
		ctx->conditional = true;
		args++;
	}
	if (!imap_arg_get_atom(&args[1], &item) || imap_arg_is_eol(&args[2]))
		return imap_cmd_bad(cmd, "STORE needs a sequence set, an item and flags.");
	if (!store_parse_item(item, &mode, &ctx->silent))
		return imap_cmd_bad(cmd, "Unknown STORE item (FLAGS, +FLAGS or -FLAGS).");

	/* a parenthesised list, or flags as separate arguments */
	const struct imap_arg *flag_args = &args[2];
	if (imap_arg_get_list(&args[2], &flag_args, NULL) && !imap_arg_is_eol(&args[3]))
		return imap_cmd_bad(cmd, "Unexpected arguments after the flag list.");
	if (imap_flags_parse(flag_args, cmd->pool, &flags, &keywords, &keyword_count,
			     &error) < 0)
		return imap_cmd_bad(cmd, "%s", error);

	ctx->count = store_mailbox_count(box);
	ctx->set = xcalloc(ctx->count / 8 + 1, 1);
	if (ctx->conditional) {
		ctx->failed = xcalloc(ctx->count / 8 + 1, 1);
		/* a CONDSTORE enabling command (RFC 7162 3.1) */
		imap_session_enable_condstore(s);
	}
	cmd->ctx = ctx;
	cmd->abort = cmd_store_abort;
	if (store_parse_set(ctx, set, &error) < 0) {
		store_deinit(ctx);
		return imap_cmd_bad(cmd, "%s", error);
	}
	if (store_mailbox_is_readonly(box)) {
		store_deinit(ctx);
		return imap_cmd_no(cmd, "[READ-ONLY] The mailbox is read-only.");
	}

	/* removing a keyword the mailbox never had changes nothing; new
	 * ones are created all together or (NO [LIMIT]) none */
	store_keywords_t kw_mask;
	bool create = mode != STORE_FLAGS_REMOVE &&
		!(ctx->conditional && ctx->unchangedsince == 0);	/* changes nothing */
	if (store_mailbox_keywords_mask(box, keywords, keyword_count, create, &kw_mask) < 0) {
		store_deinit(ctx);
		return imap_cmd_store_error(cmd, false);
	}

	ctx->mode = mode;
	ctx->flags = flags;
	ctx->kw_mask = kw_mask;
	ctx->imapsieve = imap_session_imapsieve_wanted(s, store_mailbox_name(box), "FLAG");
	ctx->updating = true;
	ctx->update_msn = 1;
	cmd->resume = cmd_store_resume;
	return store_update(ctx);
}
