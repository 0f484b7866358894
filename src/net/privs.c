/* privs.c: looking up the unprivileged user and switching to it. */
#include "privs.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int privs_lookup(const char *user, struct privs *privs_r, char **error_r)
{
	memset(privs_r, 0, sizeof(*privs_r));
	if (geteuid() != 0 || user == NULL || user[0] == '\0')
		return 0;
	errno = 0;
	struct passwd *pw = getpwnam(user);
	if (pw == NULL) {
		if (errno != 0)
			*error_r = xasprintf("cannot look up user %s: %s", user, strerror(errno));
		else
			*error_r = xasprintf("user %s does not exist (set `user` in the config, "
					     "or create the user)", user);
		return -1;
	}
	if (pw->pw_uid == 0) {
		privs_r->user_is_root = true;
		return 0;
	}
	privs_r->uid = pw->pw_uid;
	privs_r->gid = pw->pw_gid;
	int n = 16;
	privs_r->groups = xmalloc(sizeof(gid_t) * (size_t)n);
	if (getgrouplist(user, pw->pw_gid, privs_r->groups, &n) < 0) {
		privs_r->groups = xrealloc(privs_r->groups, sizeof(gid_t) * (size_t)n);
		if (getgrouplist(user, pw->pw_gid, privs_r->groups, &n) < 0) {
			privs_free(privs_r);
			*error_r = xasprintf("cannot get the groups of user %s", user);
			return -1;
		}
	}
	privs_r->group_count = n;
	privs_r->user = xstrdup(user);
	privs_r->drop = true;
	return 0;
}

void privs_free(struct privs *privs)
{
	free(privs->groups);
	free(privs->user);
	memset(privs, 0, sizeof(*privs));
}

int privs_drop(const struct privs *privs, char **error_r)
{
	if (!privs->drop)
		return 0;
	if (setgroups((size_t)privs->group_count, privs->groups) < 0 ||
	    setgid(privs->gid) < 0 || setuid(privs->uid) < 0) {
		*error_r = xasprintf("cannot change to user %s: %s", privs->user,
				     strerror(errno));
		return -1;
	}
	if (setuid(0) == 0) {
		*error_r = xstrdup("dropping privileges failed: root can be regained");
		return -1;
	}
	return 0;
}
