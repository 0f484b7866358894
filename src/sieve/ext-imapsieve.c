/* ext-imapsieve.c: the "imapsieve" extension (RFC 6785) in the
 * interpreter: the environment items of section 4 and the commands that
 * are an error on an IMAP event (3.11, 4.6), from imapsieve.c.  What the
 * actions mean on an IMAP event (3.1-3.9: keep leaves the message, changes
 * are transient) is the caller's to carry out. */
#include "sieve-private.h"
#include "sieve/imapsieve.h"

static const char *const inapplicable_requires[] = { "reject", "ereject", "vacation" };

int sieve_ext_imapsieve_check(struct sieve_interp *interp, const struct sieve_node *node)
{
	if (interp->env == NULL || interp->env->imap_cause == NULL)
		return 0;
	/* "Their appearance in the "require" control or their use in an
	 * IMAP event MUST result in an error condition that will terminate
	 * the Sieve script" */
	for (size_t i = 0; i < N_ELEMENTS(inapplicable_requires); i++) {
		if (sieve_script_requires(interp->script, inapplicable_requires[i]))
			return sieve_interp_fail(interp, "%s cannot be used on an IMAP event "
						 "(RFC 6785 3.11)", inapplicable_requires[i]);
	}
	if (!sieve_imapsieve_command_allowed(interp->env, node->name))
		return sieve_interp_fail(interp, "%s cannot be used on an IMAP event (RFC 6785)",
					 node->name);
	return 0;
}

const char *sieve_ext_imapsieve_environment(struct sieve_interp *interp, const char *item)
{
	return interp->env == NULL ? NULL : sieve_imapsieve_environment(interp->env, item);
}

const struct sieve_extension sieve_ext_imapsieve = {
	"imapsieve", NULL, NULL, true,
};
