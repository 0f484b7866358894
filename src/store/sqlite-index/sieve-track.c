/* sieve-track.c: the sieve_track table of the SQLite index (schema 10):
 * Sieve's tracking memory, opaque ids with an expiry (RFC 5230 vacation's
 * "already answered this sender", RFC 7352 duplicate's "seen this
 * message").  An expired row reads as absent; the rows are deleted by
 * index_sieve_track_prune(), which the backend calls now and then.  A
 * rebuild keeps the rows that have not expired when it can read the old
 * index (salvage.c); losing them costs one more vacation reply or one
 * more delivery of a duplicate, never a message. */
#include "store/sqlite-index/index-private.h"

int index_sieve_track_seen(struct index *idx, const void *id, size_t id_len, time_t now)
{
	sqlite3_stmt *stmt = index_stmt(idx, "SELECT 1 FROM sieve_track WHERE id = ? AND expires > ?",
					"bi", id, id_len, (int64_t)now);
	int ret = index_stmt_step(idx, stmt);

	index_stmt_done(idx, stmt);
	return ret;
}

int index_sieve_track_mark(struct index *idx, const void *id, size_t id_len, time_t expires)
{
	return index_run(idx, "INSERT OR REPLACE INTO sieve_track (id, expires) VALUES (?, ?)",
			 "bi", id, id_len, (int64_t)expires) < 0 ? -1 : 0;
}

int index_sieve_track_prune(struct index *idx, time_t now)
{
	return index_run(idx, "DELETE FROM sieve_track WHERE expires <= ?", "i", (int64_t)now);
}
