/* ext-imap4flags.c: RFC 5232 imap4flags: setflag, addflag, removeflag,
 * the hasflag test and the internal flags variable (the :flags tag of
 * keep and fileinto is in ext-core.c). */
#include "sieve-private.h"

#include <stdlib.h>
#include <string.h>

static bool flag_in(const char *const *flags, size_t count, const char *flag, size_t len)
{
	for (size_t i = 0; i < count; i++) {
		if (strlen(flags[i]) == len && strncasecmp(flags[i], flag, len) == 0)
			return true;
	}
	return false;
}

void sieve_flags_apply(struct pool *pool, const char ***flags, size_t *count,
		       const char *const *strs, size_t n, char mode)
{
	const char **out = p_malloc(pool, sizeof(*out) * (*count + 1));
	size_t out_count = 0, cap = *count + 1;

	if (mode != 's' && *count > 0) {
		memcpy(out, *flags, *count * sizeof(*out));
		out_count = *count;
	}
	/* RFC 5232 3: each string is a space-separated list of flags;
	 * flags compare case-insensitively and are kept once */
	for (size_t i = 0; i < n; i++) {
		const char *p = strs[i];
		for (;;) {
			while (*p == ' ')
				p++;
			if (*p == '\0')
				break;
			size_t len = strcspn(p, " ");
			if (mode == 'r') {
				size_t k = 0;
				for (size_t j = 0; j < out_count; j++) {
					if (!(strlen(out[j]) == len && strncasecmp(out[j], p, len) == 0))
						out[k++] = out[j];
				}
				out_count = k;
			} else if (!flag_in(out, out_count, p, len)) {
				if (out_count + 1 >= cap) {
					const char **bigger = p_malloc(pool, sizeof(*out) * cap * 2);
					memcpy(bigger, out, out_count * sizeof(*out));
					out = bigger;
					cap *= 2;
				}
				out[out_count++] = p_strndup(pool, p, len);
			}
			p += len;
		}
	}
	*flags = out;
	*count = out_count;
}

/* Joins flags into one space-separated string (for a variable). */
static const char *flags_join(struct pool *pool, const char *const *flags, size_t count)
{
	struct str s = STR_INIT;

	for (size_t i = 0; i < count; i++) {
		if (i > 0)
			str_append_c(&s, ' ');
		str_append(&s, flags[i]);
	}
	const char *ret = p_strdup(pool, str_c(&s) != NULL ? str_c(&s) : "");
	str_free(&s);
	return ret;
}

static int validate_flagcmd(struct sieve_node *node, struct sieve_script *script,
			    struct str *error_r)
{
	if (node->pos_count == 2 && !script->uses_variables) {
		str_printfa(error_r, "%s: a variable name needs require \"variables\"", node->name);
		return -1;
	}
	return 0;
}

/* setflag    [<variablename: string>] <list-of-flags: string-list>
 * addflag    [<variablename: string>] <list-of-flags: string-list>
 * removeflag [<variablename: string>] <list-of-flags: string-list> */
static int exec_flagcmd(struct sieve_interp *interp, const struct sieve_node *node)
{
	char mode = node->name[0] == 's' ? 's' : node->name[0] == 'a' ? 'a' : 'r';
	const struct sieve_arg *list = node->pos[node->pos_count - 1];
	const char **strs = sieve_interp_strlist(interp, list);

	if (node->pos_count == 1) {
		sieve_flags_apply(interp->pool, &interp->flags, &interp->flag_count,
				  strs, list->count, mode);
		return 0;
	}
	const char *var = sieve_interp_str(interp, node->pos[0]->strs[0]);
	size_t len;
	const char *cur = sieve_interp_var_get(interp, var, &len);
	const char *start = cur != NULL ? p_strndup(interp->pool, cur, len) : "";
	const char **flags = NULL;
	size_t count = 0;
	sieve_flags_apply(interp->pool, &flags, &count, &start, 1, 'a');
	sieve_flags_apply(interp->pool, &flags, &count, strs, list->count, mode);
	const char *joined = flags_join(interp->pool, flags, count);
	return sieve_interp_var_set(interp, var, joined, strlen(joined));
}

/* hasflag [MATCH-TYPE] [COMPARATOR] [<variable-list: string-list>]
 *         <list-of-flags: string-list> */
static int exec_hasflag(struct sieve_interp *interp, const struct sieve_node *node)
{
	const char **flags = interp->flags;
	size_t count = interp->flag_count;

	if (node->pos_count == 2) {
		const char **names = sieve_interp_strlist(interp, node->pos[0]);
		flags = NULL;
		count = 0;
		for (size_t i = 0; i < node->pos[0]->count; i++) {
			size_t len;
			const char *v = sieve_interp_var_get(interp, names[i], &len);
			if (v == NULL)
				continue;
			const char *val = p_strndup(interp->pool, v, len);
			sieve_flags_apply(interp->pool, &flags, &count, &val, 1, 'a');
		}
	}
	return sieve_interp_match(interp, node, flags, NULL, count, node->pos[node->pos_count - 1]);
}

static const struct sieve_cmd_def imap4flags_cmds[] = {
	{ "setflag", "imap4flags", 0, "l?l", NULL, validate_flagcmd, exec_flagcmd },
	{ "addflag", "imap4flags", 0, "l?l", NULL, validate_flagcmd, exec_flagcmd },
	{ "removeflag", "imap4flags", 0, "l?l", NULL, validate_flagcmd, exec_flagcmd },
	{ "hasflag", "imap4flags", SIEVE_CMD_TEST | SIEVE_CMD_MATCH, "l?l", NULL,
	  validate_flagcmd, exec_hasflag },
	{ NULL, NULL, 0, NULL, NULL, NULL, NULL },
};

const struct sieve_extension sieve_ext_imap4flags = {
	"imap4flags", imap4flags_cmds, NULL, true,
};
