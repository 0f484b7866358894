/* ext-mailbox.c: the extensions that ask the world about mailboxes and
 * the environment: mailbox (RFC 5490 :create, mailboxexists), mailboxid
 * (RFC 9042), special-use (RFC 8579), environment (RFC 5183) and ihave
 * (RFC 5463, with its "error" command).  Every answer comes from a
 * struct sieve_env callback; a missing callback means "nothing exists". */
#include "sieve-private.h"

#include <stdlib.h>
#include <string.h>

/* mailboxexists <mailbox-names: string-list>: true when all exist */
static int exec_mailboxexists(struct sieve_interp *interp, const struct sieve_node *node)
{
	const char **names = sieve_interp_strlist(interp, node->pos[0]);

	for (size_t i = 0; i < node->pos[0]->count; i++) {
		if (interp->env == NULL || interp->env->mailbox_exists == NULL ||
		    interp->env->mailbox_exists(interp->env->ctx, names[i]) != 1)
			return 0;
	}
	return 1;
}

/* mailboxidexists <mailbox-objectids: string-list> */
static int exec_mailboxidexists(struct sieve_interp *interp, const struct sieve_node *node)
{
	const char **ids = sieve_interp_strlist(interp, node->pos[0]);

	for (size_t i = 0; i < node->pos[0]->count; i++) {
		if (interp->env == NULL || interp->env->mailbox_id_exists == NULL ||
		    interp->env->mailbox_id_exists(interp->env->ctx, ids[i]) != 1)
			return 0;
	}
	return 1;
}

/* specialuse_exists [<mailbox: string>] <special-use-attrs: string-list>
 * RFC 8579 3: without a mailbox, true when every attribute is on some
 * mailbox; with one, when they are all on that mailbox. */
static int exec_specialuse_exists(struct sieve_interp *interp, const struct sieve_node *node)
{
	const struct sieve_arg *attrs = node->pos[node->pos_count - 1];
	const char **uses = sieve_interp_strlist(interp, attrs);
	const char *mailbox = node->pos_count == 2 ?
		sieve_interp_str(interp, node->pos[0]->strs[0]) : NULL;

	for (size_t i = 0; i < attrs->count; i++) {
		const char *name = NULL;
		if (interp->env == NULL || interp->env->special_use == NULL ||
		    interp->env->special_use(interp->env->ctx, uses[i], interp->pool,
					     mailbox != NULL ? &name : NULL) != 1)
			return 0;
		if (mailbox != NULL && (name == NULL || strcmp(name, mailbox) != 0))
			return 0;
	}
	return 1;
}

static int validate_fileinto_target(struct sieve_node *node, struct sieve_script *script,
				    struct str *error_r);

/* environment [COMPARATOR] [MATCH-TYPE] <name: string> <key-list: string-list>
 * RFC 5183 4: an item the implementation does not know makes the test
 * false whatever the match type. */
static int exec_environment(struct sieve_interp *interp, const struct sieve_node *node)
{
	const char *name = sieve_interp_str(interp, node->pos[0]->strs[0]);
	const char *value = NULL;

	/* RFC 6785 4: the items of imapsieve (ext-imapsieve.c) */
	if (sieve_script_requires(interp->script, "imapsieve"))
		value = sieve_ext_imapsieve_environment(interp, name);
	if (value == NULL && interp->env != NULL && interp->env->environment != NULL)
		value = interp->env->environment(interp->env->ctx, name);
	if (value == NULL)
		return 0;
	return sieve_interp_match(interp, node, &value, NULL, 1, node->pos[1]);
}

/* ihave <capabilities: string-list>: true when all are implemented
 * (validate.c also lets the block of "if ihave" use them). */
static int exec_ihave(struct sieve_interp *interp, const struct sieve_node *node)
{
	(void)interp;
	for (size_t i = 0; i < node->pos[0]->count; i++) {
		if (sieve_ext_find(node->pos[0]->strs[i]) < 0)
			return 0;
	}
	return 1;
}

/* error <message: string>: RFC 5463 5, a run-time error */
static int exec_error(struct sieve_interp *interp, const struct sieve_node *node)
{
	return sieve_interp_fail(interp, "%s", sieve_interp_str(interp, node->pos[0]->strs[0]));
}

static const struct sieve_cmd_def mailbox_cmds[] = {
	{ "mailboxexists", "mailbox", SIEVE_CMD_TEST, "l", NULL, NULL, exec_mailboxexists },
	{ NULL, NULL, 0, NULL, NULL, NULL, NULL },
};

const struct sieve_extension sieve_ext_mailbox = {
	"mailbox", mailbox_cmds, NULL, true,
};

static const struct sieve_cmd_def mailboxid_cmds[] = {
	{ "mailboxidexists", "mailboxid", SIEVE_CMD_TEST, "l", NULL, NULL, exec_mailboxidexists },
	{ NULL, NULL, 0, NULL, NULL, NULL, NULL },
};

const struct sieve_extension sieve_ext_mailboxid = {
	"mailboxid", mailboxid_cmds, NULL, true,
};

static const struct sieve_cmd_def specialuse_cmds[] = {
	{ "specialuse_exists", "special-use", SIEVE_CMD_TEST, "l?l", NULL,
	  validate_fileinto_target, exec_specialuse_exists },
	{ NULL, NULL, 0, NULL, NULL, NULL, NULL },
};

const struct sieve_extension sieve_ext_specialuse = {
	"special-use", specialuse_cmds, NULL, true,
};

static const struct sieve_cmd_def environment_cmds[] = {
	{ "environment", "environment", SIEVE_CMD_TEST | SIEVE_CMD_MATCH, "sl", NULL, NULL,
	  exec_environment },
	{ NULL, NULL, 0, NULL, NULL, NULL, NULL },
};

const struct sieve_extension sieve_ext_environment = {
	"environment", environment_cmds, NULL, true,
};

static const struct sieve_cmd_def ihave_cmds[] = {
	{ "ihave", "ihave", SIEVE_CMD_TEST, "l", NULL, NULL, exec_ihave },
	{ "error", "ihave", 0, "s", NULL, NULL, exec_error },
	{ NULL, NULL, 0, NULL, NULL, NULL, NULL },
};

const struct sieve_extension sieve_ext_ihave = {
	"ihave", ihave_cmds, NULL, true,
};

/* specialuse_exists with a mailbox: a single string */
static int validate_fileinto_target(struct sieve_node *node, struct sieve_script *script,
				    struct str *error_r)
{
	(void)script;
	if (node->pos_count == 2 && node->pos[0]->kind != SIEVE_ARG_STRING) {
		str_append(error_r, "specialuse_exists: the mailbox must be a single string");
		return -1;
	}
	return 0;
}
