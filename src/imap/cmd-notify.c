/* cmd-notify.c: NOTIFY (RFC 5465).  The arguments are parsed by
 * notify-parse.c; here the mailbox names become the store's form, the
 * request goes to notify.c, and SET STATUS writes the STATUS responses in
 * slices (a request may name thousands of mailboxes). */
#include "commands.h"
#include "notify.h"
#include "mailbox-name.h"
#include "base/pool.h"

#include <stdlib.h>
#include <string.h>

struct cmd_notify {
	size_t status_pos;
};

static int cmd_notify_name_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The names of each group in the store's form, sorted and without
 * duplicates.  RFC 5465 3.1: "If the name does not refer to an existing
 * mailbox, the server MUST ignore it": a name that cannot be a mailbox
 * (invalid modified UTF-7) is left out; 6.6: "The server MUST NOT do a
 * wildcard expansion". */
static void cmd_notify_names(struct imap_session *s, struct pool *pool,
			     struct imap_notify_spec *spec)
{
	for (size_t i = 0; i < spec->group_count; i++) {
		struct imap_notify_group *g = &spec->groups[i];
		size_t count = 0;
		for (size_t j = 0; j < g->name_count; j++) {
			const char *name = imap_mailbox_from_client(s, pool, g->names[j]);
			if (name != NULL)
				g->names[count++] = name;
		}
		if (count > 1)
			qsort(g->names, count, sizeof(*g->names), cmd_notify_name_cmp);
		size_t unique = 0;
		for (size_t j = 0; j < count; j++) {
			if (unique == 0 || strcmp(g->names[unique - 1], g->names[j]) != 0)
				g->names[unique++] = g->names[j];
		}
		g->name_count = unique;
	}
}

static bool cmd_notify_status(struct imap_cmd *cmd)
{
	struct cmd_notify *ctx = cmd->ctx;
	int ret = imap_notify_write_status(cmd, &ctx->status_pos, imap_cmd_slice_deadline());
	if (ret == 0)
		return false;
	if (ret < 0)
		return imap_cmd_store_error(cmd, false);
	return imap_cmd_ok(cmd, "NOTIFY completed.");
}

/* notify = "NOTIFY" SP (notify-set / notify-none) */
bool cmd_notify(struct imap_cmd *cmd)
{
	struct imap_session *s = cmd->session;
	struct pool *pool = pool_create(1024);
	struct imap_notify_spec *spec;
	const char *error;

	switch (imap_notify_parse(cmd->args, pool, &spec, &error)) {
	case IMAP_NOTIFY_PARSE_BAD:
		error = p_strdup(cmd->pool, error);
		pool_destroy(&pool);
		return imap_cmd_bad(cmd, "%s", error);
	case IMAP_NOTIFY_PARSE_BADEVENT:
		error = p_strdup(cmd->pool, error);
		pool_destroy(&pool);
		return imap_cmd_no(cmd, "%s", error);
	case IMAP_NOTIFY_PARSE_NONE:
		pool_destroy(&pool);
		(void)imap_notify_set(s, NULL, NULL);
		return imap_cmd_ok(cmd, "NOTIFY completed.");
	case IMAP_NOTIFY_PARSE_SET:
		break;
	}
	cmd_notify_names(s, pool, spec);
	bool status = spec->status;
	if (imap_notify_set(s, spec, pool) < 0)
		return imap_cmd_store_error(cmd, false);
	if (!status)
		return imap_cmd_ok(cmd, "NOTIFY completed.");
	struct cmd_notify *ctx = p_malloc(cmd->pool, sizeof(*ctx));
	ctx->status_pos = 0;
	cmd->ctx = ctx;
	cmd->resume = cmd_notify_status;
	return cmd_notify_status(cmd);
}
