/* cli.c: what the `roost` subcommands share. */
#include "cli.h"
#include "auth/passwd-file.h"
#include "base/str.h"
#include "conf/conf.h"
#include "net/privs.h"
#include "store/store.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sysexits.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

struct roost_config *cli_config_load(const char *path, const char *subcommand)
{
	char *error = NULL;
	if (path == NULL && access(CLI_DEFAULT_CONFIG, F_OK) == 0)
		path = CLI_DEFAULT_CONFIG;
	struct roost_config *config = config_load(path, &error);
	if (config != NULL && store_backend_check(config->store, &error) < 0) {
		char *msg = xasprintf("%s: store: %s", path == NULL ? "defaults" : path, error);
		free(error);
		error = msg;
		config_free(&config);
	}
	if (config == NULL) {
		fprintf(stderr, "roost %s: %s\n", subcommand, error);
		free(error);
	}
	return config;
}

int cli_switch_user(const struct roost_config *config, const char *subcommand)
{
	struct privs privs;
	char *error = NULL;
	if (privs_lookup(config->user, &privs, &error) < 0) {
		fprintf(stderr, "roost %s: %s; as root, this command runs as the server's "
			"user so that the files it writes stay the server's\n", subcommand, error);
		free(error);
		return EX_CONFIG;
	}
	int ret = 0;
	if (privs_drop(&privs, &error) < 0) {
		fprintf(stderr, "roost %s: %s\n", subcommand, error);
		free(error);
		ret = EX_OSERR;
	}
	privs_free(&privs);
	return ret;
}

int cli_userdb_check(const struct roost_config *config, char **error_r)
{
	/* a chain without a passwd-file: its sources report themselves */
	if (config->passwd_file == NULL)
		return 1;
	if (access(config->passwd_file, F_OK) < 0 && errno == ENOENT)
		return 0;
	struct privs privs;
	char *error = NULL;
	if (privs_lookup(config->user, &privs, &error) < 0) {
		*error_r = xasprintf("cannot tell whether the server can read %s: %s",
				     config->passwd_file, error);
		free(error);
		return -1;
	}
	int fds[2];
	if (pipe(fds) < 0) {
		*error_r = xasprintf("pipe() failed: %s", strerror(errno));
		privs_free(&privs);
		return -1;
	}
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0) {
		close(fds[0]);
		close(fds[1]);
		privs_free(&privs);
		*error_r = xasprintf("fork() failed: %s", strerror(errno));
		return -1;
	}
	if (pid == 0) {
		/* the child reads the file as the workers will */
		close(fds[0]);
		const char *read_error = NULL;
		if (privs_drop(&privs, &error) == 0) {
			struct passwd_file *pf = passwd_file_create(config->passwd_file);
			if (passwd_file_reload(pf, &read_error) < 0) {
				char *msg = xasprintf("user database unusable: %s", read_error);
				(void)write_full(fds[1], msg, strlen(msg));
				free(msg);
			}
			passwd_file_destroy(&pf);
		} else {
			(void)write_full(fds[1], error, strlen(error));
		}
		_exit(0);
	}
	privs_free(&privs);
	close(fds[1]);
	struct str msg = STR_INIT;
	char buf[512];
	for (;;) {
		ssize_t n = read(fds[0], buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		str_append_n(&msg, buf, (size_t)n);
	}
	close(fds[0]);
	int status;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (msg.len == 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		str_free(&msg);
		return 1;
	}
	*error_r = msg.len > 0 ? xstrdup(str_c(&msg)) :
		xstrdup("checking the user database failed");
	str_free(&msg);
	return -1;
}

char *cli_user_name(const struct roost_config *config, const char *name,
		    const char *subcommand, int *exit_r)
{
	if (config->passwd_file == NULL) {
		fprintf(stderr, "roost %s: %s: userdb names no passwd-file\n", subcommand, name);
		*exit_r = EX_CONFIG;
		return NULL;
	}
	struct passwd_file *db = passwd_file_create(config->passwd_file);
	const struct passwd_file_entry *entry;
	const char *error = NULL;
	char *user = NULL;
	int ret = passwd_file_refresh(db, &error);

	if (ret == 0)
		ret = passwd_file_lookup(db, name, &entry, &error);
	if (ret < 0) {
		fprintf(stderr, "roost %s: %s: %s\n", subcommand, name, error);
		*exit_r = EX_NOINPUT;
	} else if (ret == 0) {
		fprintf(stderr, "roost %s: %s: no such user in %s\n", subcommand, name,
			config->passwd_file);
		*exit_r = EX_NOUSER;
	} else {
		user = xstrdup(name);
		passwd_file_user_normalize(user);
	}
	passwd_file_destroy(&db);
	return user;
}
