/* subscription.c: the subscriptions table of the SQLite index (LSUB and
 * LIST (SUBSCRIBED) names, which need not exist). */
#include "store/sqlite-index/index-private.h"

#include <stdlib.h>

int index_subscription_set(struct index *idx, const char *name, bool subscribed)
{
	int changes = index_run(idx, subscribed ?
				"INSERT OR IGNORE INTO subscriptions(name) VALUES (?)" :
				"DELETE FROM subscriptions WHERE name = ?", "s", name);

	return changes < 0 ? -1 : changes > 0 ? 1 : 0;
}

void index_names_free(char **names, size_t count)
{
	for (size_t i = 0; i < count; i++)
		free(names[i]);
	free(names);
}

static void name_read(sqlite3_stmt *stmt, void *elem)
{
	*(char **)elem = xstrdup(index_column_text(stmt, 0));
}

int index_subscription_list(struct index *idx, char ***names_r, size_t *count_r)
{
	sqlite3_stmt *stmt = index_stmt(idx, "SELECT name FROM subscriptions ORDER BY name", "");

	if (index_stmt_rows(idx, stmt, sizeof(**names_r), name_read, (void **)names_r,
			    count_r) < 0) {
		index_names_free(*names_r, *count_r);
		return -1;
	}
	return 0;
}
