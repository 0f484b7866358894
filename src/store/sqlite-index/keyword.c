/* keyword.c: the keywords table of the SQLite index: each mailbox's
 * keyword names, name number i being bit i of its messages' keyword
 * masks.  Numbers are dense and a table only grows. */
#include "store/sqlite-index/index-private.h"

#include <stdlib.h>

int index_keyword_list(struct index *idx, int64_t mailbox_id, char ***names_r,
		       size_t *count_r)
{
	sqlite3_stmt *stmt = index_stmt(idx, "SELECT idx, name FROM keywords "
					"WHERE mailbox = ? ORDER BY idx", "i", mailbox_id);
	char **names = xcalloc(STORE_MAX_KEYWORDS, sizeof(*names));
	size_t count = 0;
	int ret;

	while ((ret = index_stmt_step(idx, stmt)) > 0) {
		int64_t n = sqlite3_column_int64(stmt, 0);

		/* numbers are dense: 0..count-1 */
		if (n != (int64_t)count || count >= STORE_MAX_KEYWORDS)
			continue;
		names[count++] = xstrdup(index_column_text(stmt, 1));
	}
	index_stmt_done(idx, stmt);
	if (ret < 0) {
		index_names_free(names, count);
		return -1;
	}
	*names_r = names;
	*count_r = count;
	return 0;
}

int index_keyword_add(struct index *idx, int64_t mailbox_id, size_t n, const char *name)
{
	return index_run(idx, "INSERT INTO keywords(mailbox, idx, name) VALUES (?, ?, ?)",
			 "iis", mailbox_id, (int64_t)n, name) < 0 ? -1 : 0;
}
