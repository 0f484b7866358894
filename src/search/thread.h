/* thread.h: THREAD=ORDEREDSUBJECT and THREAD=REFERENCES (RFC 5256
 * section 3) as pure algorithms, and the thread-list writer.
 *
 * The caller (the THREAD command) gives one `struct thread_msg` per
 * message that matched the search, in mailbox order, with the keys cached
 * at delivery; this module builds the thread tree and can write it in the
 * RFC's thread-list syntax.  It reads nothing else: no index, no message,
 * no IMAP session.
 *
 * Subjects are compared with i;unicode-casemap (RFC 5256 section 7);
 * Message IDs byte for byte ("Message ID comparisons are case-sensitive").
 * Trees of any depth are handled without recursion, so a References
 * header with thousands of IDs cannot exhaust the stack. */
#ifndef ROOST_SEARCH_THREAD_H
#define ROOST_SEARCH_THREAD_H

#include "base/base.h"
#include "base/str.h"

#define THREAD_NONE UINT32_MAX

enum thread_algorithm {
	THREAD_ORDEREDSUBJECT,
	THREAD_REFERENCES,
};

/* One message.  Strings are NUL-terminated and borrowed for the duration
 * of thread_build(); NULL and "" both mean "none". */
struct thread_msg {
	/* the number written for this message: msn for THREAD, uid for UID
	 * THREAD; never 0 (nz-number) */
	uint32_t id;
	/* sent date as RFC 5256 section 2.2 defines it (Date: adjusted to
	 * UTC, INTERNALDATE when there is none: sort_msg_sent_date()),
	 * seconds since the epoch.  Equal dates keep mailbox order. */
	int64_t sent_date;
	/* base subject (basesubject_extract()) and its reply-or-forward
	 * flag, both from the original Subject */
	const char *base_subject;
	bool is_reply_or_forward;
	/* REFERENCES only.  Message IDs normalised by msgid_next()
	 * (syntax/msgid.h) or equivalently, so that quoting differences do
	 * not matter. */
	const char *message_id;
	/* the valid Message IDs of the References header, in header order */
	const char *const *references;
	size_t references_count;
	/* the first valid Message ID of In-Reply-To; used only when
	 * references_count is 0 (RFC 5256: no References, or none valid) */
	const char *in_reply_to;
};

/* A thread tree.  Node `msg` is the index of the message in the array
 * given to thread_build(), or THREAD_NONE for a dummy (a parent that is
 * not among the messages; it has at least two children).  Siblings are in
 * the RFC's order: by sent date, ties by mailbox order, a dummy placed by
 * its first child.  Only the nodes reachable from first_root belong to
 * the tree. */
struct thread_node {
	uint32_t msg;
	uint32_t id;		/* msgs[msg].id, 0 for a dummy */
	uint32_t first_child;	/* THREAD_NONE when none */
	uint32_t next_sibling;	/* THREAD_NONE when last */
};

struct thread_tree {
	struct thread_node *nodes;
	size_t count;
	uint32_t first_root;	/* THREAD_NONE for no messages */
};

/* Threads msgs[0..count), which must be in mailbox order (ascending msn:
 * "the first (lowest sequence number) message" wins duplicate Message
 * IDs, and ties in sent date go by this order).  Fills *tree_r, which
 * the caller releases with thread_tree_deinit().  Cannot fail; time
 * O(n log n) plus, for REFERENCES, the loop checks (each walks up the
 * tree, so O(references x depth) for pathological References chains). */
void thread_build(enum thread_algorithm algorithm,
		  const struct thread_msg *msgs, size_t count,
		  struct thread_tree *tree_r);
void thread_tree_deinit(struct thread_tree *tree);

/* Appends the tree to `dest` in the syntax of RFC 5256 section 5:
 *   thread-data     = "THREAD" [SP 1*thread-list]
 *   thread-list     = "(" (thread-members / thread-nested) ")"
 *   thread-members  = nz-number *(SP nz-number) [SP thread-nested]
 *   thread-nested   = 2*thread-list
 * i.e. the 1*thread-list part, e.g. "(1 2)(3 (4)(5))((6)(7))"; nothing
 * for an empty tree.  The caller writes "THREAD" and the space. */
void thread_write(const struct thread_tree *tree, struct str *dest);

#endif
