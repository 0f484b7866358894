/* fault.h: failures injected on purpose, for tests, at the few places
 * where real failures are rare and their handling matters: a full disk
 * or an I/O error while message files are written or synced, and SQLite
 * calls that fail (through the VFS shim of store/sqlite-index/fault-vfs.c).
 *
 * Nothing is armed unless a test arms it, either through fault_arm()
 * or, for a live server, through the environment variable ROOST_FAULTS
 * (read once, by fault_init_env() at the start of `roost`):
 *
 *   ROOST_FAULTS="POINT:ERRNO:NTH[:COUNT][,POINT:ERRNO:NTH[:COUNT]...]"
 *
 * e.g. "msg-write:ENOSPC:2" fails the second message write of each
 * process (workers count their own calls) once with ENOSPC, and
 * "index-lock:EBUSY:1:0" makes every index lock from the first on
 * busy.  POINT is a name of enum fault_point below; ERRNO one of ENOSPC,
 * EDQUOT, EIO, EBUSY; COUNT how many calls fail from the NTH on (1 when
 * left out, 0 for all).  A malformed value is refused and nothing is
 * armed.
 *
 * Unarmed, a hook costs one predictable branch on a global flag.  This
 * module must never be armed by anything but tests. */
#ifndef ROOST_FAULT_H
#define ROOST_FAULT_H

#include <stdbool.h>

enum fault_point {
	/* "msg-write": a write of a message file's bytes (APPEND, the
	 * single copy of LMTP, a copy where a link is refused) */
	FAULT_MSG_WRITE,
	/* "file-fsync": an fsync of the store's files: a message file, a
	 * directory a message file was renamed or linked into or removed
	 * from, a list kept beside the messages */
	FAULT_FILE_FSYNC,
	/* "index-write", "index-sync", "index-lock": an xWrite, xSync, or
	 * xLock/xShmLock (for a lock stronger than shared) of the index
	 * through SQLite's VFS; ENOSPC/EDQUOT give SQLITE_FULL, EBUSY
	 * SQLITE_BUSY, any other SQLITE_IOERR */
	FAULT_INDEX_WRITE,
	FAULT_INDEX_SYNC,
	FAULT_INDEX_LOCK,
	FAULT_POINT_COUNT
};

/* True once anything was armed in this process (and stays true after
 * fault_disarm()): the index then opens through the fault VFS.  Read it
 * through fault_inject() and fault_is_enabled() only. */
extern bool fault_enabled;

/* Reads ROOST_FAULTS (unset or empty: nothing armed).  Returns 0, or -1
 * with *error_r set to a static text when the value is malformed. */
int fault_init_env(const char **error_r);

/* Enables fault injection without arming anything: from now on the
 * index opens through the fault VFS, so that a point armed later can
 * reach a connection opened before. */
void fault_enable(void);
/* Arms `point`: its nth call from now (1 = the next) and the count - 1
 * calls after it (count 0: every call from the nth on) fail with
 * `error`, an errno value.  Replaces what was armed at that point. */
void fault_arm(enum fault_point point, int error, unsigned int nth, unsigned int count);
/* Disarms every point; the calls go through again. */
void fault_disarm(void);
/* How many calls of `point` failed since it was last armed. */
unsigned int fault_fired(enum fault_point point);

/* Whether fault injection was ever enabled in this process. */
static inline bool fault_is_enabled(void)
{
	return __builtin_expect(fault_enabled, 0);
}

/* fault_inject() once something is enabled: counts the call and
 * decides. */
int fault_hit(enum fault_point point);

/* The hook: 0 when this call of `point` goes through; -1 with errno set
 * to the armed error when it is to fail (the caller then behaves as if
 * the system call had failed). */
static inline int fault_inject(enum fault_point point)
{
	if (fault_is_enabled())
		return fault_hit(point);
	return 0;
}

#endif
