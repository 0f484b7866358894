/* cmd-thread.c: THREAD and UID THREAD (RFC 5256 section 3) with the
 * ORDEREDSUBJECT and REFERENCES algorithms.
 *
 * The search and the gathering of keys is sort-collect.c's; threading
 * and the thread-list syntax are search/thread.c's.  Every key comes
 * from the blob cached at delivery (syntax/msgkeys.h): this file never
 * reads a message.  The response is written in pieces of at most
 * THREAD_LINE_FLUSH bytes. */
#include "commands.h"
#include "syntax/imap-parser.h"
#include "syntax/imap-arg.h"
#include "search-parse.h"
#include "sort-collect.h"
#include "search/thread.h"
#include "store/store.h"

#include <stdlib.h>
#include <string.h>

#define THREAD_LINE_FLUSH (32 * 1024)

struct cmd_thread_ctx {
	enum thread_algorithm algorithm;
};

/* Writes " " 1*thread-list (RFC 5256 section 5) after "* THREAD": each
 * top-level thread with thread_write() on its own, flushing the line
 * between threads once it is THREAD_LINE_FLUSH long, so at most one
 * thread's text (and one flush's worth) is held, not the whole response. */
static void thread_write_streamed(struct imap_session *s, struct thread_tree *tree,
				  struct str *line)
{
	bool wrote_any = false;

	for (uint32_t r = tree->first_root; r != THREAD_NONE;) {
		struct thread_tree one = *tree;
		uint32_t next = tree->nodes[r].next_sibling;
		size_t len = line->len;

		one.first_root = r;
		tree->nodes[r].next_sibling = THREAD_NONE;
		if (!wrote_any)
			str_append_c(line, ' ');
		thread_write(&one, line);
		tree->nodes[r].next_sibling = next;
		if (!wrote_any && line->len == len + 1)
			str_truncate(line, len);	/* an empty dummy */
		else
			wrote_any = true;
		if (line->len >= THREAD_LINE_FLUSH) {
			imap_session_write(s, line->data, line->len);
			str_truncate(line, 0);
		}
		r = next;
	}
}

static bool thread_done(struct imap_cmd *cmd, struct imap_sort_collect *coll)
{
	struct imap_session *s = cmd->session;
	struct cmd_thread_ctx *ctx = imap_sort_collect_context(coll);
	size_t count = imap_sort_collect_count(coll), ref_total = 0;
	struct thread_msg *msgs = xcalloc(count == 0 ? 1 : count, sizeof(*msgs));
	const char **refs;
	struct thread_tree tree;
	struct str line = STR_INIT;

	for (size_t i = 0; i < count; i++) {
		struct msgkeys keys;

		imap_sort_collect_keys(coll, i, &keys);
		ref_total += keys.references_count;
	}
	refs = xcalloc(ref_total == 0 ? 1 : ref_total, sizeof(*refs));
	ref_total = 0;
	for (size_t i = 0; i < count; i++) {
		uint32_t msn = imap_sort_collect_msn(coll, i);
		const struct store_msg *m = store_mailbox_msg(s->box, msn);
		struct msgkeys keys;

		imap_sort_collect_keys(coll, i, &keys);
		msgs[i] = (struct thread_msg){
			.id = cmd->uid ? m->uid : msn,
			/* RFC 5256 2.2: INTERNALDATE when there is no Date: */
			.sent_date = keys.has_sent_date ? keys.sent_date :
				(int64_t)m->internaldate,
			.base_subject = keys.base_subject,
			.is_reply_or_forward = keys.is_reply_or_forward,
			.message_id = keys.message_id,
			.references = refs + ref_total,
			.references_count = keys.references_count,
			.in_reply_to = keys.in_reply_to,
		};
		const char *r = keys.references;
		for (size_t j = 0; j < keys.references_count; j++) {
			refs[ref_total++] = r;
			r = msgkeys_reference_next(r);
		}
	}
	thread_build(ctx->algorithm, msgs, count, &tree);
	str_append(&line, "* THREAD");
	thread_write_streamed(s, &tree, &line);
	str_append(&line, "\r\n");
	imap_session_write(s, line.data, line.len);
	str_free(&line);
	thread_tree_deinit(&tree);
	free(refs);
	free(msgs);
	if (imap_sort_collect_had_expunged(coll))
		return imap_cmd_ok(cmd, "[EXPUNGEISSUED] Thread completed (some messages were expunged).");
	return imap_cmd_ok(cmd, "Thread completed.");
}

/* thread     = ["UID" SP] "THREAD" SP thread-alg SP search-criteria
 * thread-alg = "ORDEREDSUBJECT" / "REFERENCES" / thread-alg-ext
 * search-criteria = charset 1*(SP search-key) */
bool cmd_thread(struct imap_cmd *cmd)
{
	const struct imap_arg *args = cmd->args;
	struct cmd_thread_ctx *ctx = p_malloc(cmd->pool, sizeof(*ctx));
	struct search_key *program;

	static const struct imap_keyword algorithms[] = {
		{ "ORDEREDSUBJECT", THREAD_ORDEREDSUBJECT },
		{ "REFERENCES", THREAD_REFERENCES },
	};
	const char *name;
	unsigned int algorithm;

	if (!imap_arg_get_atom(&args[0], &name))
		return imap_cmd_bad(cmd, "THREAD needs an algorithm.");
	if (!imap_keyword_find(algorithms, N_ELEMENTS(algorithms), name, &algorithm))
		return imap_cmd_bad(cmd, "Unknown thread algorithm.");
	ctx->algorithm = (enum thread_algorithm)algorithm;
	if ((program = imap_sort_collect_program(cmd, &args[1], "THREAD", false)) == NULL)
		return true;
	return imap_sort_collect_start(cmd, program, IMAP_SORT_COLLECT_ALL, thread_done, ctx);
}
