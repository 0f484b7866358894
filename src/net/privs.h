/* privs.h: running as the configured unprivileged `user`.
 *
 * `roost serve` started as root binds its ports and then runs its workers
 * as config->user; the admin commands that touch mail data (`roost
 * deliver`, `roost check`) switch to the same user when started as root,
 * so every file in the data directory stays owned by the user the server
 * runs as.  One lookup and one switch for both. */
#ifndef ROOST_NET_PRIVS_H
#define ROOST_NET_PRIVS_H

#include "base/base.h"

#include <sys/types.h>

struct privs {
	bool drop;		/* privs_drop() changes user: root and a non-root `user` */
	bool user_is_root;	/* root and `user` names uid 0: nothing to drop */
	uid_t uid;
	gid_t gid;		/* the user's primary group */
	gid_t *groups;		/* its supplementary groups (getgrouplist) */
	int group_count;
	char *user;		/* NULL unless drop */
};

/* Fills *privs_r for `user` (config->user; NULL or "" = stay who we are).
 * Only a process running as root (euid 0) looks the user up; otherwise
 * privs_r->drop is false and nothing else is set.  Returns 0, or -1 with
 * *error_r (allocated; the caller frees it) when the user does not exist
 * or cannot be looked up.  Free with privs_free(). */
int privs_lookup(const char *user, struct privs *privs_r, char **error_r);
void privs_free(struct privs *privs);

/* Changes this process to privs->user for good (setgroups, setgid,
 * setuid) and checks that root cannot be regained.  Nothing to do unless
 * privs->drop.  Returns 0, or -1 with *error_r (allocated). */
int privs_drop(const struct privs *privs, char **error_r);

#endif
