/* sieve-track.c: the Maildir backend's Sieve tracking memory, a table of
 * its index (store/sqlite-index/sieve-track.c).  Each mark is its own
 * write transaction; every MAILDIR_SIEVE_TRACK_PRUNE-th mark of a store
 * (the first one included) also deletes the rows that have expired, so
 * the table holds about what is live plus what expired since. */
#include "store/maildir/maildir-private.h"

#include <time.h>

#define MAILDIR_SIEVE_TRACK_PRUNE 32

int maildir_sieve_track_seen(struct store *store, const void *id, size_t id_len, time_t now)
{
	struct maildir_store *ms = (struct maildir_store *)store;

	return index_sieve_track_seen(ms->index, id, id_len, now);
}

int maildir_sieve_track_mark(struct store *store, const void *id, size_t id_len,
			     time_t expires)
{
	struct maildir_store *ms = (struct maildir_store *)store;
	int ret;

	if (index_begin(ms->index, true) < 0)
		return -1;
	ret = index_sieve_track_mark(ms->index, id, id_len, expires);
	if (ret == 0 && ms->sieve_track_marks++ % MAILDIR_SIEVE_TRACK_PRUNE == 0 &&
	    index_sieve_track_prune(ms->index, time(NULL)) < 0)
		ret = -1;
	return index_end(ms->index, ret);
}
