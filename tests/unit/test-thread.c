/* test-thread.c: THREAD=ORDEREDSUBJECT and THREAD=REFERENCES (RFC 5256
 * section 3) on hand-built message sets and the thread-list writer. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "base/str.h"
#include "syntax/basesubject.h"
#include "syntax/msgid.h"
#include "search/thread.h"

/* A message as the tests write it: the raw Subject (its base subject and
 * reply flag are extracted here), Message-ID, References as a list of
 * msg-ids separated by white space, In-Reply-To. */
struct def {
	uint32_t id;
	int64_t date;
	const char *subject;
	const char *message_id;
	const char *references;
	const char *in_reply_to;
};

struct built {
	struct thread_msg *msgs;
	struct str *subjects;
	char ***refs;
	size_t count;
};

static void build(struct built *b, const struct def *defs, size_t count)
{
	b->count = count;
	b->msgs = xcalloc(count + 1, sizeof(*b->msgs));
	b->subjects = xcalloc(count + 1, sizeof(*b->subjects));
	b->refs = xcalloc(count + 1, sizeof(*b->refs));
	for (size_t i = 0; i < count; i++) {
		const struct def *d = &defs[i];
		struct thread_msg *m = &b->msgs[i];
		m->id = d->id;
		m->sent_date = d->date;
		m->message_id = d->message_id;
		m->in_reply_to = d->in_reply_to;
		if (d->subject != NULL) {
			basesubject_extract(d->subject, strlen(d->subject),
					    &b->subjects[i],
					    &m->is_reply_or_forward);
			m->base_subject = str_c(&b->subjects[i]);
		}
		if (d->references != NULL) {
			const char *p = d->references;
			struct str id = STR_INIT;
			size_t n = 0;
			b->refs[i] = xcalloc(strlen(p) + 1, sizeof(char *));
			while (msgid_next(&p, &id) == 1)
				b->refs[i][n++] = xstrdup(str_c(&id));
			str_free(&id);
			m->references = (const char *const *)b->refs[i];
			m->references_count = n;
		}
	}
}

static void built_free(struct built *b)
{
	for (size_t i = 0; i < b->count; i++) {
		str_free(&b->subjects[i]);
		if (b->refs[i] != NULL) {
			for (size_t k = 0; b->refs[i][k] != NULL; k++)
				free(b->refs[i][k]);
			free(b->refs[i]);
		}
	}
	free(b->refs);
	free(b->subjects);
	free(b->msgs);
}

static void check_alg(enum thread_algorithm alg, const struct def *defs,
		      size_t count, const char *expected)
{
	struct built b;
	struct thread_tree tree;
	struct str out = STR_INIT;

	build(&b, defs, count);
	thread_build(alg, b.msgs, count, &tree);
	thread_write(&tree, &out);
	if (strcmp(str_c(&out), expected) != 0)
		fail_msg("threaded \"%s\", expected \"%s\"", str_c(&out),
			 expected);
	thread_tree_deinit(&tree);
	built_free(&b);
	str_free(&out);
}

#define REFS(expected, ...) do { \
	const struct def d_[] = { __VA_ARGS__ }; \
	check_alg(THREAD_REFERENCES, d_, N_ELEMENTS(d_), expected); \
} while (0)
#define ORDERED(expected, ...) do { \
	const struct def d_[] = { __VA_ARGS__ }; \
	check_alg(THREAD_ORDEREDSUBJECT, d_, N_ELEMENTS(d_), expected); \
} while (0)

static void test_empty(void **state)
{
	(void)state;
	struct thread_tree tree;
	struct str out = STR_INIT;

	thread_build(THREAD_REFERENCES, NULL, 0, &tree);
	assert_int_equal(tree.first_root, THREAD_NONE);
	thread_write(&tree, &out);
	assert_string_equal(str_c(&out), "");
	thread_tree_deinit(&tree);
	thread_build(THREAD_ORDEREDSUBJECT, NULL, 0, &tree);
	thread_write(&tree, &out);
	assert_string_equal(str_c(&out), "");
	thread_tree_deinit(&tree);
	str_free(&out);
}

static void test_references_links(void **state)
{
	(void)state;
	/* a chain from full References */
	REFS("(1 2 3)",
	     { 1, 10, "a", "<a@x>", NULL, NULL },
	     { 2, 20, "b", "<b@x>", "<a@x>", NULL },
	     { 3, 30, "c", "<c@x>", "<a@x> <b@x>", NULL });
	/* a chain from truncated References */
	REFS("(1 2 3)",
	     { 1, 10, "a", "<a@x>", NULL, NULL },
	     { 2, 20, "b", "<b@x>", "<a@x>", NULL },
	     { 3, 30, "c", "<c@x>", "<b@x>", NULL });
	/* the RFC's example "(2)(3 6 (4 23)(44 7 96))", built from
	 * References, messages given out of parent order */
	REFS("(2)(3 6 (4 23)(44 7 96))",
	     { 2, 1, "two", "<2@x>", NULL, NULL },
	     { 3, 2, "three", "<3@x>", NULL, NULL },
	     { 4, 4, "four", "<4@x>", "<3@x> <6@x>", NULL },
	     { 6, 3, "six", "<6@x>", "<3@x>", NULL },
	     { 7, 6, "seven", "<7@x>", "<3@x> <6@x> <44@x>", NULL },
	     { 23, 5, "t", "<23@x>", "<3@x> <6@x> <4@x>", NULL },
	     { 44, 5, "ff", "<44@x>", "<3@x> <6@x>", NULL },
	     { 96, 7, "nn", "<96@x>", "<3@x> <6@x> <44@x> <7@x>", NULL });
	/* In-Reply-To when there is no References */
	REFS("(1 2)",
	     { 1, 10, "a", "<a@x>", NULL, NULL },
	     { 2, 20, "b", "<b@x>", NULL, "<a@x>" });
	/* ... and when References has no valid msg-id */
	REFS("(1 2)",
	     { 1, 10, "a", "<a@x>", NULL, NULL },
	     { 2, 20, "b", "<b@x>", "junk <nonsense>", "<a@x>" });
	/* but not when References has one */
	REFS("(1 3)(2)",
	     { 1, 10, "a", "<a@x>", NULL, NULL },
	     { 2, 20, "b", "<b@x>", NULL, NULL },
	     { 3, 30, "c", "<c@x>", "<a@x>", "<b@x>" });
	/* quoting differences in msg-ids do not matter (RFC's example) */
	REFS("(1 2)",
	     { 1, 10, "a", "<01KF8JCEOCBS0045PS@xxx.yyy.com>", NULL, NULL },
	     { 2, 20, "b", "<b@x>", "<\"01KF8JCEOCBS0045PS\"@xxx.yyy.com>",
	       NULL });
	/* but case does ("Message ID comparisons are case-sensitive") */
	REFS("(1)(2)",
	     { 1, 10, "a", "<a@x>", NULL, NULL },
	     { 2, 20, "b", "<b@x>", "<A@x>", NULL });
}

static void test_references_dummies(void **state)
{
	(void)state;
	/* two replies to a message that is not there: a dummy parent,
	 * kept at the root because it has two children */
	REFS("((2)(3))",
	     { 2, 20, "b", "<b@x>", "<gone@x>", NULL },
	     { 3, 30, "c", "<c@x>", "<gone@x>", NULL });
	/* one reply to a missing message: the dummy is pruned and its
	 * only child promoted to the root */
	REFS("(2)",
	     { 2, 20, "b", "<b@x>", "<gone@x>", NULL });
	/* a missing message in the middle of a chain: its child is
	 * promoted (not at the root, so whatever the count) */
	REFS("(1 3)",
	     { 1, 10, "a", "<a@x>", NULL, NULL },
	     { 3, 30, "c", "<c@x>", "<a@x> <gone@x>", NULL });
	REFS("(1 (3)(4))",
	     { 1, 10, "a", "<a@x>", NULL, NULL },
	     { 3, 30, "c", "<c@x>", "<a@x> <gone@x>", NULL },
	     { 4, 40, "d", "<d@x>", "<a@x> <gone@x>", NULL });
	/* two missing levels: the lower dummy is pruned first, so the
	 * root dummy counts the two messages as its children */
	REFS("((2)(3))",
	     { 2, 20, "b", "<b@x>", "<top@x> <mid@x>", NULL },
	     { 3, 30, "c", "<c@x>", "<top@x> <mid@x>", NULL });
	/* a root dummy whose children are a message and a dummy that
	 * lost its only child (message 4 took <c@x> away from under <e@x>
	 * in step (1)(B)): after pruning it has one child, which is
	 * promoted */
	REFS("(2)(4 3)",
	     { 2, 20, "b", "<b@x>", "<top@x>", NULL },
	     { 3, 30, "z", "<z@x>", "<top@x> <e@x> <c@x>", NULL },
	     { 4, 40, "c", "<c@x>", "<other@x>", NULL });
	/* a dummy is placed at the root by its first child's date */
	REFS("((2)(3))(4)(1)",
	     { 1, 50, "one", "<1@x>", NULL, NULL },
	     { 2, 10, "two", "<2@x>", "<gone@x>", NULL },
	     { 3, 20, "three", "<3@x>", "<gone@x>", NULL },
	     { 4, 30, "four", "<4@x>", NULL, NULL });
}

static void test_references_rules(void **state)
{
	(void)state;
	/* duplicate Message-ID: only the first message has it */
	REFS("(1 3)(2)",
	     { 1, 10, "a", "<a@x>", NULL, NULL },
	     { 2, 20, "b", "<a@x>", NULL, NULL },
	     { 3, 30, "c", "<c@x>", "<a@x>", NULL });
	/* the later duplicate (in mailbox order) has no Message-ID even
	 * when it is older */
	REFS("(2)(1 3)",
	     { 1, 10, "a", "<a@x>", NULL, NULL },
	     { 2, 5, "b", "<a@x>", NULL, NULL },
	     { 3, 30, "c", "<c@x>", "<a@x>", NULL });
	/* no Message-ID: a unique one; nothing can point at it */
	REFS("(1)(2)",
	     { 1, 10, "a", NULL, NULL, NULL },
	     { 2, 20, "b", "", "<>", NULL });
	/* a loop between two messages: the second link is refused */
	REFS("(2 1)",
	     { 1, 10, "a", "<a@x>", "<b@x>", NULL },
	     { 2, 20, "b", "<b@x>", "<a@x>", NULL });
	/* a message that references itself */
	REFS("(1)",
	     { 1, 10, "a", "<a@x>", "<a@x>", NULL });
	/* its own Message-ID among its references is ignored */
	REFS("(1 2)",
	     { 1, 10, "a", "<a@x>", NULL, NULL },
	     { 2, 20, "b", "<b@x>", "<a@x> <b@x>", NULL });
	REFS("(1 2)",
	     { 1, 10, "a", "<a@x>", NULL, NULL },
	     { 2, 20, "b", "<b@x>", "<b@x> <a@x>", NULL });
	/* ... but it is a valid Message ID: no In-Reply-To fallback */
	REFS("(1)(2)",
	     { 1, 10, "a", "<a@x>", NULL, NULL },
	     { 2, 20, "b", "<b@x>", "<b@x>", "<a@x>" });
	/* a loop inside one References header */
	REFS("(1 2 3)",
	     { 1, 10, "a", "<a@x>", NULL, NULL },
	     { 2, 20, "b", "<b@x>", "<a@x>", NULL },
	     { 3, 30, "c", "<c@x>", "<a@x> <b@x> <a@x> <b@x>", NULL });
	/* (1)(A): an existing link is not changed by a later References:
	 * b stays under a, and x (now childless) disappears */
	REFS("((3)(4))",
	     { 3, 30, "c", "<c@x>", "<a@x> <b@x>", NULL },
	     { 4, 40, "d", "<d@x>", "<x@x> <b@x>", NULL });
	/* (1)(B): a message's own parent link is replaced by its
	 * References: b was put under "x" by message 1 */
	REFS("(3 2 1)",
	     { 1, 10, "c", "<c@x>", "<x@x> <b@x>", NULL },
	     { 2, 20, "b", "<b@x>", "<a@x>", NULL },
	     { 3, 30, "a", "<a@x>", NULL, NULL });
	/* (1)(B) refuses a link that would make a loop, and the message is
	 * then left without a parent */
	REFS("(2 1)",
	     { 1, 10, "a", "<a@x>", "<b@x>", NULL },
	     { 2, 20, "b", "<b@x>", "<c@x> <a@x>", NULL });
}

static void test_references_subjects(void **state)
{
	(void)state;
	/* two unrelated messages with one subject: a new dummy */
	REFS("((1)(2))",
	     { 1, 10, "Hello", "<a@x>", NULL, NULL },
	     { 2, 20, "Hello", "<b@x>", NULL, NULL });
	/* case-insensitive (i;unicode-casemap) */
	REFS("(1 2)",
	     { 1, 10, "H\xc3\xa9llo", "<a@x>", NULL, NULL },
	     { 2, 20, "Re: H\xc3\x89LLO (fwd)", "<b@x>", NULL, NULL });
	/* a reply joins the non-reply as its child */
	REFS("(1 2)",
	     { 1, 10, "Hello", "<a@x>", NULL, NULL },
	     { 2, 20, "Re: Hello", "<b@x>", NULL, NULL });
	/* also when the reply is older: the non-reply is the table's */
	REFS("(2 1)",
	     { 1, 10, "Re: Hello", "<a@x>", NULL, NULL },
	     { 2, 20, "Hello", "<b@x>", NULL, NULL });
	REFS("(3 (1)(2))",
	     { 1, 10, "Re: Hello", "<a@x>", NULL, NULL },
	     { 2, 20, "Fwd: Hello", "<b@x>", NULL, NULL },
	     { 3, 30, "Hello", "<c@x>", NULL, NULL });
	/* two replies: a dummy */
	REFS("((1)(2))",
	     { 1, 10, "Re: Hello", "<a@x>", NULL, NULL },
	     { 2, 20, "[fwd: Hello]", "<b@x>", NULL, NULL });
	/* three non-replies: one dummy with all three */
	REFS("((1)(2)(3))",
	     { 1, 10, "Hello", "<a@x>", NULL, NULL },
	     { 2, 20, "Hello", "<b@x>", NULL, NULL },
	     { 3, 30, "Hello", "<c@x>", NULL, NULL });
	/* a dummy wins the table: the message joins it */
	REFS("((1)(2)(3))",
	     { 1, 10, "Hello", "<a@x>", NULL, NULL },
	     { 2, 20, "Hello", "<b@x>", "<gone@x>", NULL },
	     { 3, 30, "Re: Hello", "<c@x>", "<gone@x>", NULL });
	/* two dummies: their children become siblings */
	REFS("((1)(2)(3)(4))",
	     { 1, 10, "Hello", "<a@x>", "<g1@x>", NULL },
	     { 2, 20, "Hello", "<b@x>", "<g1@x>", NULL },
	     { 3, 30, "Re: Hello", "<c@x>", "<g2@x>", NULL },
	     { 4, 40, "Re: Hello", "<d@x>", "<g2@x>", NULL });
	/* the thread subject of a thread is its top message's: the reply
	 * 3 joins thread 1, where 2 already is by References */
	REFS("(1 (2)(3))",
	     { 1, 10, "Hello", "<a@x>", NULL, NULL },
	     { 2, 20, "Re: Hello", "<b@x>", "<a@x>", NULL },
	     { 3, 30, "Re: Hello", "<c@x>", NULL, NULL });
	/* only the top of a thread counts: 3 is not grouped with 2 */
	REFS("(1 2)(3)",
	     { 1, 10, "Top", "<a@x>", NULL, NULL },
	     { 2, 20, "Hello", "<b@x>", "<a@x>", NULL },
	     { 3, 30, "Hello", "<c@x>", NULL, NULL });
	/* empty thread subjects are never grouped */
	REFS("(1)(2)(3)",
	     { 1, 10, "", "<a@x>", NULL, NULL },
	     { 2, 20, NULL, "<b@x>", NULL, NULL },
	     { 3, 30, "Re:", "<c@x>", NULL, NULL });
	/* grouping by base subject: blobs and wrappers do not matter */
	REFS("(1 (2)(3))",
	     { 1, 10, "[list] Hello", "<a@x>", NULL, NULL },
	     { 2, 20, "Re: [list] Hello", "<b@x>", NULL, NULL },
	     { 3, 30, "[fwd: Hello]", "<c@x>", NULL, NULL });
}

static void test_references_order(void **state)
{
	(void)state;
	/* children by sent date */
	REFS("(1 (3)(2))",
	     { 1, 100, "a", "<a@x>", NULL, NULL },
	     { 2, 300, "b", "<b@x>", "<a@x>", NULL },
	     { 3, 200, "c", "<c@x>", "<a@x>", NULL });
	/* equal dates: mailbox order */
	REFS("(1 (2)(3))(4)(5)",
	     { 1, 100, "a", "<a@x>", NULL, NULL },
	     { 2, 100, "b", "<b@x>", "<a@x>", NULL },
	     { 3, 100, "c", "<c@x>", "<a@x>", NULL },
	     { 4, 100, "d", "<d@x>", NULL, NULL },
	     { 5, 100, "e", "<e@x>", NULL, NULL });
	/* top level by date, a parent older than its thread's top */
	REFS("(3)(2 1)",
	     { 1, 5, "a", "<a@x>", "<b@x>", NULL },
	     { 2, 20, "b", "<b@x>", NULL, NULL },
	     { 3, 10, "c", "<c@x>", NULL, NULL });
	/* grandchildren sorted as well; dummy children too */
	REFS("((4 (6)(5))(2 (3)(7)))",
	     { 2, 30, "b", "<b@x>", "<g@x>", NULL },
	     { 3, 40, "c", "<c@x>", "<g@x> <b@x>", NULL },
	     { 4, 10, "d", "<d@x>", "<g@x>", NULL },
	     { 5, 60, "e", "<e@x>", "<g@x> <d@x>", NULL },
	     { 6, 50, "f", "<f@x>", "<g@x> <d@x>", NULL },
	     { 7, 40, "h", "<h@x>", "<b@x>", NULL });
}

/* A deep chain and a deep comb: no recursion over the tree. */
static void test_references_deep(void **state)
{
	(void)state;
	const size_t n = 20000;
	struct thread_msg *m = xcalloc(n, sizeof(*m));
	char (*ids)[24] = xcalloc(n, sizeof(*ids));
	const char **parents = xcalloc(n, sizeof(*parents));
	struct thread_tree tree;
	struct str out = STR_INIT, expected = STR_INIT;

	for (size_t i = 0; i < n; i++) {
		snprintf(ids[i], sizeof(ids[i]), "<%zu@x>", i);
		m[i].id = (uint32_t)i + 1;
		m[i].sent_date = (int64_t)i;
		m[i].message_id = ids[i];
		m[i].base_subject = "s";
		if (i > 0) {
			parents[i] = ids[i - 1];
			m[i].references = &parents[i];
			m[i].references_count = 1;
		}
	}
	thread_build(THREAD_REFERENCES, m, n, &tree);
	thread_write(&tree, &out);
	str_append_c(&expected, '(');
	for (size_t i = 0; i < n; i++)
		str_printfa(&expected, "%s%zu", i > 0 ? " " : "", i + 1);
	str_append_c(&expected, ')');
	assert_string_equal(str_c(&out), str_c(&expected));
	thread_tree_deinit(&tree);

	/* a comb: message 2k+1 has children 2k+2 (a leaf, older) and
	 * 2k+3 */
	for (size_t i = 1; i < n; i++)
		parents[i] = ids[i % 2 == 1 ? i - 1 : i - 2];
	thread_build(THREAD_REFERENCES, m, n, &tree);
	str_truncate(&out, 0);
	thread_write(&tree, &out);
	str_truncate(&expected, 0);
	size_t open = 0;
	str_append(&expected, "(1");
	for (size_t i = 1; i < n; i += 2) {
		if (i + 1 < n) {
			str_printfa(&expected, " (%zu)(%zu", i + 1, i + 2);
			open++;
		} else {
			str_printfa(&expected, " %zu", i + 1);
		}
	}
	for (size_t i = 0; i <= open; i++)
		str_append_c(&expected, ')');
	assert_string_equal(str_c(&out), str_c(&expected));
	thread_tree_deinit(&tree);

	str_free(&out);
	str_free(&expected);
	free(parents);
	free(ids);
	free(m);
}

/* Checks the invariants of a tree over `count` messages: every message
 * exactly once, dummies only at the root with two or more children (none
 * at all for ORDEREDSUBJECT, which has no grandchildren either), siblings
 * in (sent date, mailbox order) with a dummy placed by its first child,
 * and the written form balanced with every number once. */
static void check_tree(enum thread_algorithm alg, const struct thread_msg *m,
		       size_t count, const struct thread_tree *tree)
{
	uint8_t *seen = xcalloc(count + 1, 1);
	uint32_t *stack = xcalloc(tree->count + 1, sizeof(*stack));
	uint32_t *depth = xcalloc(tree->count + 1, sizeof(*depth));
	size_t sp = 0;

	for (uint32_t r = tree->first_root; r != THREAD_NONE;
	     r = tree->nodes[r].next_sibling) {
		stack[sp++] = r;
		depth[r] = 0;
	}
	while (sp > 0) {
		uint32_t x = stack[--sp];
		const struct thread_node *node = &tree->nodes[x];
		size_t children = 0;
		int64_t prev_date = INT64_MIN;
		uint32_t prev_msg = 0;
		for (uint32_t ch = node->first_child; ch != THREAD_NONE;
		     ch = tree->nodes[ch].next_sibling) {
			children++;
			depth[ch] = depth[x] + 1;
			stack[sp++] = ch;
		}
		if (node->msg == THREAD_NONE) {
			assert_int_equal(alg, THREAD_REFERENCES);
			assert_int_equal(depth[x], 0);
			assert_true(children >= 2);
			assert_int_equal(node->id, 0);
		} else {
			assert_true(node->msg < count);
			assert_int_equal(seen[node->msg], 0);
			seen[node->msg] = 1;
			assert_int_equal(node->id, m[node->msg].id);
		}
		if (alg == THREAD_ORDEREDSUBJECT)
			assert_true(depth[x] <= 1);
		/* the children's order */
		for (uint32_t ch = node->first_child; ch != THREAD_NONE;
		     ch = tree->nodes[ch].next_sibling) {
			uint32_t k = ch;
			while (tree->nodes[k].msg == THREAD_NONE)
				k = tree->nodes[k].first_child;
			uint32_t mi = tree->nodes[k].msg;
			if (prev_date != INT64_MIN || ch != node->first_child) {
				assert_true(m[mi].sent_date > prev_date ||
					    (m[mi].sent_date == prev_date &&
					     mi > prev_msg));
			}
			prev_date = m[mi].sent_date;
			prev_msg = mi;
		}
	}
	for (size_t i = 0; i < count; i++)
		assert_int_equal(seen[i], 1);
	/* the threads' order */
	int64_t prev_date = INT64_MIN;
	uint32_t prev_msg = 0;
	for (uint32_t r = tree->first_root; r != THREAD_NONE;
	     r = tree->nodes[r].next_sibling) {
		uint32_t k = r;
		while (tree->nodes[k].msg == THREAD_NONE)
			k = tree->nodes[k].first_child;
		uint32_t mi = tree->nodes[k].msg;
		if (r != tree->first_root)
			assert_true(m[mi].sent_date > prev_date ||
				    (m[mi].sent_date == prev_date &&
				     mi > prev_msg));
		prev_date = m[mi].sent_date;
		prev_msg = mi;
	}

	/* the written form */
	struct str out = STR_INIT;
	thread_write(tree, &out);
	const char *p = str_c(&out);
	int level = 0;
	size_t numbers = 0;
	memset(seen, 0, count + 1);
	for (size_t i = 0; p[i] != '\0'; i++) {
		if (p[i] == '(') {
			level++;
			assert_true(p[i + 1] != ')' && p[i + 1] != ' ');
		} else if (p[i] == ')') {
			assert_true(level > 0);
			level--;
		} else if (p[i] == ' ') {
			assert_true(p[i + 1] != ' ' && p[i + 1] != ')');
		} else {
			char *end;
			unsigned long v = strtoul(p + i, &end, 10);
			assert_true(end > p + i && v >= 1 && v <= count);
			assert_int_equal(seen[v], 0);
			seen[v] = 1;
			numbers++;
			i = (size_t)(end - p) - 1;
		}
		if (level == 0)
			assert_true(p[i + 1] == '\0' || p[i + 1] == '(');
	}
	assert_int_equal(level, 0);
	assert_int_equal(numbers, count);
	str_free(&out);
	free(depth);
	free(stack);
	free(seen);
}

/* Random message sets with duplicate and missing IDs, loops, equal dates
 * and shared subjects, for both algorithms. */
static void test_random(void **state)
{
	(void)state;
	static const char *const subjects[] = {
		"a", "Re: a", "Fwd: a", "b", "Re: b", "[fwd: b]", "", "Re:",
		"c (fwd)", "C",
	};
	const size_t n = 120;
	struct thread_msg *m = xcalloc(n, sizeof(*m));
	char (*ids)[16] = xcalloc(n, sizeof(*ids));
	char (*refids)[6][16] = xcalloc(n, sizeof(*refids));
	const char *(*refs)[6] = xcalloc(n, sizeof(*refs));
	struct str *base = xcalloc(n, sizeof(*base));
	uint32_t seed = 12345;

	for (unsigned int round = 0; round < 300; round++) {
		size_t id_space = 20 + round % 200;
		for (size_t i = 0; i < n; i++) {
#define RAND() (seed = seed * 1103515245u + 12345u, (seed >> 8) & 0xffff)
			const char *subj = subjects[RAND() % N_ELEMENTS(subjects)];
			memset(&m[i], 0, sizeof(m[i]));
			m[i].id = (uint32_t)i + 1;
			m[i].sent_date = RAND() % 40;
			basesubject_extract(subj, strlen(subj), &base[i],
					    &m[i].is_reply_or_forward);
			m[i].base_subject = str_c(&base[i]);
			snprintf(ids[i], sizeof(ids[i]), "<%u@x>",
				 (unsigned int)(RAND() % id_space));
			m[i].message_id = RAND() % 10 == 0 ? NULL : ids[i];
			size_t nrefs = RAND() % 6;
			for (size_t r = 0; r < nrefs; r++) {
				snprintf(refids[i][r], sizeof(refids[i][r]),
					 "<%u@x>",
					 (unsigned int)(RAND() % id_space));
				refs[i][r] = refids[i][r];
			}
			m[i].references = refs[i];
			m[i].references_count = nrefs;
			if (RAND() % 3 == 0)
				m[i].in_reply_to = refs[i][0] != NULL ?
					refids[i][0] : NULL;
#undef RAND
		}
		struct thread_tree tree;
		thread_build(THREAD_REFERENCES, m, n, &tree);
		check_tree(THREAD_REFERENCES, m, n, &tree);
		thread_tree_deinit(&tree);
		thread_build(THREAD_ORDEREDSUBJECT, m, n, &tree);
		check_tree(THREAD_ORDEREDSUBJECT, m, n, &tree);
		thread_tree_deinit(&tree);
	}
	for (size_t i = 0; i < n; i++)
		str_free(&base[i]);
	free(base);
	free(refs);
	free(refids);
	free(ids);
	free(m);
}

static void test_orderedsubject(void **state)
{
	(void)state;
	/* sorted by base subject and date, split by subject, threads by
	 * the date of their first message; no grandchildren */
	ORDERED("(3)(2 (1)(5)(4))",
		{ 1, 10, "Hello", NULL, NULL, NULL },
		{ 2, 5, "Re: hello", NULL, NULL, NULL },
		{ 3, 1, "World", NULL, NULL, NULL },
		{ 4, 20, "HELLO", NULL, NULL, NULL },
		{ 5, 15, "[fwd: Hello]", NULL, NULL, NULL });
	/* two messages: "(a b)" */
	ORDERED("(1 2)(3)",
		{ 1, 10, "a", NULL, NULL, NULL },
		{ 2, 20, "Re: a", NULL, NULL, NULL },
		{ 3, 30, "b", NULL, NULL, NULL });
	/* equal dates: mailbox order, for members and for threads */
	ORDERED("(1 (2)(4))(3)",
		{ 1, 10, "a", NULL, NULL, NULL },
		{ 2, 10, "a", NULL, NULL, NULL },
		{ 3, 10, "b", NULL, NULL, NULL },
		{ 4, 10, "a", NULL, NULL, NULL });
	/* empty subjects are one subject here */
	ORDERED("(1 (2)(3))",
		{ 1, 10, "", NULL, NULL, NULL },
		{ 2, 20, NULL, NULL, NULL, NULL },
		{ 3, 30, "Re:", NULL, NULL, NULL });
	/* references are ignored */
	ORDERED("(1)(2)",
		{ 1, 10, "a", "<a@x>", NULL, NULL },
		{ 2, 20, "b", "<b@x>", "<a@x>", NULL });
	ORDERED("(7)",
		{ 7, 10, "a", NULL, NULL, NULL });
}

/* thread_write() on hand-built trees, including shapes the algorithms
 * never produce (a dummy with one child, a dummy below a message, an
 * empty dummy at the root). */
static void test_write(void **state)
{
	(void)state;
#define N THREAD_NONE
#define D(first, next) { N, 0, first, next }
#define M(id, first, next) { id - 1, id, first, next }
	/* (2)(3 6 (4 23)(44 7 96)) with nodes indexed by hand */
	struct thread_node rfc[] = {
		M(2, N, 1),		/* 0 */
		M(3, 2, N),		/* 1 */
		M(6, 3, N),		/* 2 */
		M(4, 4, 5),		/* 3 */
		M(23, N, N),		/* 4 */
		M(44, 6, N),		/* 5 */
		M(7, 7, N),		/* 6 */
		M(96, N, N),		/* 7 */
	};
	/* ((3)(5)), an empty dummy, (1 (2)(8 (9)(10))) where 8 sits under
	 * a one-child dummy, and (11 (12)(13)) where the pair sits under a
	 * dummy */
	struct thread_node odd[] = {
		D(1, 3),		/* 0: root dummy */
		M(3, N, 2),		/* 1 */
		M(5, N, N),		/* 2 */
		D(N, 4),		/* 3: empty dummy */
		M(1, 5, 10),		/* 4 */
		M(2, N, 6),		/* 5 */
		D(7, N),		/* 6: dummy with one child */
		M(8, 8, N),		/* 7 */
		M(9, N, 9),		/* 8 */
		M(10, N, N),		/* 9 */
		M(11, 11, N),		/* 10 */
		D(12, N),		/* 11: dummy under a message */
		M(12, N, 13),		/* 12 */
		M(13, N, N),		/* 13 */
	};
#undef M
#undef D
#undef N
	struct thread_tree tree = { rfc, N_ELEMENTS(rfc), 0 };
	struct str out = STR_INIT;

	thread_write(&tree, &out);
	assert_string_equal(str_c(&out), "(2)(3 6 (4 23)(44 7 96))");
	str_truncate(&out, 0);
	tree.first_root = 1;
	thread_write(&tree, &out);
	assert_string_equal(str_c(&out), "(3 6 (4 23)(44 7 96))");

	struct thread_tree tree2 = { odd, N_ELEMENTS(odd), 0 };
	str_truncate(&out, 0);
	str_append(&out, "THREAD ");	/* appends */
	thread_write(&tree2, &out);
	assert_string_equal(str_c(&out),
			    "THREAD ((3)(5))(1 (2)(8 (9)(10)))(11 (12)(13))");
	str_free(&out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_references_links),
		cmocka_unit_test(test_references_dummies),
		cmocka_unit_test(test_references_rules),
		cmocka_unit_test(test_references_subjects),
		cmocka_unit_test(test_references_order),
		cmocka_unit_test(test_references_deep),
		cmocka_unit_test(test_random),
		cmocka_unit_test(test_orderedsubject),
		cmocka_unit_test(test_write),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
