/* stmt.c: the SQLite index's prepared statements: a small cache keyed by
 * the SQL literal, parameters bound from a type string, and one step
 * function that turns SQLite's result codes into the index's 1/0/-1 and
 * the store's error.  The only place that prepares, binds, resets and
 * finalizes statements. */
#include "store/sqlite-index/index-private.h"

#include <assert.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

static void stmt_bind(sqlite3_stmt *stmt, const char *types, va_list args)
{
	for (int i = 0; types[i] != '\0'; i++) {
		switch (types[i]) {
		case 'i':
			sqlite3_bind_int64(stmt, i + 1, va_arg(args, int64_t));
			break;
		case 'u':
			sqlite3_bind_int64(stmt, i + 1, va_arg(args, uint32_t));
			break;
		case 's':
			sqlite3_bind_text(stmt, i + 1, va_arg(args, const char *), -1,
					  SQLITE_STATIC);
			break;
		case 'b': {
			const void *data = va_arg(args, const void *);
			size_t len = va_arg(args, size_t);

			assert(len <= INT_MAX);
			sqlite3_bind_blob(stmt, i + 1, data, (int)len, SQLITE_STATIC);
			break;
		}
		default:
			assert(!"unknown parameter type");
		}
	}
}

static sqlite3_stmt *stmt_prepare(struct index *idx, const char *sql)
{
	struct index_stmt_cache *free_slot = NULL;
	sqlite3_stmt *stmt;

	if (index_ensure(idx) < 0)
		return NULL;
	for (size_t i = 0; i < INDEX_STMT_CACHE_SIZE; i++) {
		struct index_stmt_cache *c = &idx->stmts[i];

		if (c->sql == sql) {
			if (c->busy)
				break;	/* in use further up the stack */
			c->busy = true;
			return c->stmt;
		}
		if (c->sql == NULL && free_slot == NULL)
			free_slot = c;
	}
	if (sqlite3_prepare_v3(idx->db, sql, -1, free_slot != NULL ? SQLITE_PREPARE_PERSISTENT : 0,
			       &stmt, NULL) != SQLITE_OK) {
		index_set_sqlite_error(idx, sql);
		return NULL;
	}
	if (free_slot != NULL) {
		free_slot->sql = sql;
		free_slot->stmt = stmt;
		free_slot->busy = true;
	}
	return stmt;
}

sqlite3_stmt *index_stmt(struct index *idx, const char *sql, const char *types, ...)
{
	sqlite3_stmt *stmt = stmt_prepare(idx, sql);
	va_list args;

	if (stmt == NULL)
		return NULL;
	va_start(args, types);
	stmt_bind(stmt, types, args);
	va_end(args);
	return stmt;
}

int index_stmt_step(struct index *idx, sqlite3_stmt *stmt)
{
	int rc;

	if (stmt == NULL)
		return -1;
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW)
		return 1;
	if (rc == SQLITE_DONE)
		return 0;
	return index_set_sqlite_error(idx, sqlite3_sql(stmt));
}

void index_stmt_done(struct index *idx, sqlite3_stmt *stmt)
{
	if (stmt == NULL)
		return;
	for (size_t i = 0; i < INDEX_STMT_CACHE_SIZE; i++) {
		if (idx->stmts[i].stmt == stmt) {
			sqlite3_reset(stmt);
			sqlite3_clear_bindings(stmt);
			idx->stmts[i].busy = false;
			return;
		}
	}
	sqlite3_finalize(stmt);
}

int index_run(struct index *idx, const char *sql, const char *types, ...)
{
	sqlite3_stmt *stmt = stmt_prepare(idx, sql);
	va_list args;
	int ret;

	if (stmt == NULL)
		return -1;
	va_start(args, types);
	stmt_bind(stmt, types, args);
	va_end(args);
	/* to the end: a RETURNING statement completes only there */
	while ((ret = index_stmt_step(idx, stmt)) > 0)
		;
	index_stmt_done(idx, stmt);
	return ret < 0 ? -1 : sqlite3_changes(idx->db);
}

int index_stmt_rows(struct index *idx, sqlite3_stmt *stmt, size_t elem_size,
		    void (*read)(sqlite3_stmt *stmt, void *elem), void **array_r,
		    size_t *count_r)
{
	char *array = NULL;
	size_t count = 0, cap = 0;
	int ret;

	while ((ret = index_stmt_step(idx, stmt)) > 0) {
		if (count == cap) {
			cap = cap == 0 ? 16 : cap * 2;
			array = xrealloc(array, cap * elem_size);
		}
		read(stmt, array + count * elem_size);
		count++;
	}
	index_stmt_done(idx, stmt);
	*array_r = array;
	*count_r = count;
	return ret < 0 ? -1 : 0;
}

static void uid_read(sqlite3_stmt *stmt, void *elem)
{
	*(uint32_t *)elem = (uint32_t)sqlite3_column_int64(stmt, 0);
}

int index_stmt_uids(struct index *idx, sqlite3_stmt *stmt, uint32_t **uids_r,
		    size_t *count_r)
{
	if (index_stmt_rows(idx, stmt, sizeof(**uids_r), uid_read, (void **)uids_r,
			    count_r) < 0) {
		free(*uids_r);
		return -1;
	}
	return 0;
}

void index_stmt_cache_clear(struct index *idx)
{
	for (size_t i = 0; i < INDEX_STMT_CACHE_SIZE; i++) {
		/* a busy statement here is a missing index_stmt_done() */
		assert(!idx->stmts[i].busy);
		sqlite3_finalize(idx->stmts[i].stmt);
		memset(&idx->stmts[i], 0, sizeof(idx->stmts[i]));
	}
}

bool index_stmt_cache_busy(struct index *idx)
{
	for (size_t i = 0; i < INDEX_STMT_CACHE_SIZE; i++) {
		if (idx->stmts[i].busy)
			return true;
	}
	return false;
}

const char *index_column_text(sqlite3_stmt *stmt, int col)
{
	const unsigned char *text = sqlite3_column_text(stmt, col);

	return text == NULL ? "" : (const char *)text;
}

void index_column_append(struct str *dest, sqlite3_stmt *stmt, int col)
{
	const void *data = sqlite3_column_blob(stmt, col);
	int len = sqlite3_column_bytes(stmt, col);

	if (len > 0)
		str_append_n(dest, data, (size_t)len);
	str_append(dest, "");
}
