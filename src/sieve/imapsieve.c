/* imapsieve.c: the environment items and restrictions of RFC 6785 for a
 * script run on an IMAP event.  See imapsieve.h. */
#include "sieve/imapsieve.h"

static const char *const inapplicable[] = { "reject", "ereject", "vacation", "envelope" };

static bool is_event(const struct sieve_env *env)
{
	return env != NULL && env->imap_cause != NULL;
}

/* An item from the caller's callback, "" when it has none. */
static const char *from_callback(const struct sieve_env *env, const char *item)
{
	const char *value = env->environment == NULL ? NULL :
		env->environment(env->ctx, item);

	return value == NULL ? "" : value;
}

const char *sieve_imapsieve_environment(const struct sieve_env *env, const char *item)
{
	bool event = is_event(env);

	if (str_eq_icase(item, "location"))
		return event ? "MS" : NULL;
	if (str_eq_icase(item, "phase"))
		return event ? "post" : NULL;
	if (str_eq_icase(item, "imap.user"))
		return event ? from_callback(env, "imap.user") : "";
	if (str_eq_icase(item, "imap.email"))
		return event ? from_callback(env, "imap.email") : "";
	if (str_eq_icase(item, "imap.cause"))
		return event ? env->imap_cause : "";
	if (str_eq_icase(item, "imap.mailbox"))
		return event && env->imap_mailbox != NULL ? env->imap_mailbox : "";
	if (str_eq_icase(item, "imap.changedflags"))
		return event && str_eq_icase(env->imap_cause, "FLAG") ?
			from_callback(env, "imap.changedflags") : "";
	return NULL;
}

bool sieve_imapsieve_command_allowed(const struct sieve_env *env, const char *name)
{
	if (!is_event(env))
		return true;
	for (size_t i = 0; i < N_ELEMENTS(inapplicable); i++) {
		if (str_eq_icase(name, inapplicable[i]))
			return false;
	}
	return true;
}
