/* sasl.c: the mechanism table and the exchange every mechanism shares.
 *
 * An exchange holds the completed credentials and, after them, the
 * mechanism's own state.  Mechanisms live in their own files (sasl-plain.c)
 * and only see the exchange through the functions in sasl.h. */
#include "sasl.h"

#include <stdlib.h>
#include <string.h>

static const struct sasl_mech *const sasl_mechs[] = {
	&sasl_mech_plain,
};

struct sasl_exchange {
	const struct sasl_mech *mech;
	enum { SASL_EXCHANGE_RUNNING, SASL_EXCHANGE_DONE, SASL_EXCHANGE_FAILED } state;
	bool first_step_done;
	char *authzid, *authcid, *password;
	/* the mechanism's state follows, aligned for any type */
	max_align_t state_start[];
};

const struct sasl_mech *sasl_mech_find(const char *name)
{
	for (size_t i = 0; i < N_ELEMENTS(sasl_mechs); i++) {
		if (str_eq_icase(sasl_mechs[i]->name, name))
			return sasl_mechs[i];
	}
	return NULL;
}

const struct sasl_mech *sasl_mech_at(size_t i)
{
	return i < N_ELEMENTS(sasl_mechs) ? sasl_mechs[i] : NULL;
}

struct sasl_exchange *sasl_exchange_create(const struct sasl_mech *mech)
{
	struct sasl_exchange *ex = xcalloc(1, sizeof(*ex) + mech->state_size);
	ex->mech = mech;
	return ex;
}

static void sasl_free_secret(char **s)
{
	if (*s != NULL) {
		explicit_bzero(*s, strlen(*s));
		free(*s);
		*s = NULL;
	}
}

void sasl_exchange_destroy(struct sasl_exchange **exp)
{
	struct sasl_exchange *ex = *exp;
	if (ex == NULL)
		return;
	*exp = NULL;
	if (ex->mech->deinit != NULL)
		ex->mech->deinit(ex);
	explicit_bzero(ex->state_start, ex->mech->state_size);
	sasl_free_secret(&ex->password);
	free(ex->authzid);
	free(ex->authcid);
	free(ex);
}

int sasl_exchange_step(struct sasl_exchange *ex, const unsigned char *input,
		       size_t input_len, const unsigned char **output_r,
		       size_t *output_len_r, const char **error_r)
{
	if (ex->state != SASL_EXCHANGE_RUNNING)
		i_panic("sasl: step after the %s exchange ended", ex->mech->name);
	if (input == NULL && ex->first_step_done)
		i_panic("sasl: NULL input after the first %s step", ex->mech->name);
	ex->first_step_done = true;
	*output_r = NULL;
	*output_len_r = 0;
	int ret = ex->mech->step(ex, input, input_len, output_r, output_len_r, error_r);
	if (ret > 0) {
		if (ex->authcid == NULL)
			i_panic("sasl: %s completed without credentials", ex->mech->name);
		ex->state = SASL_EXCHANGE_DONE;
	} else if (ret < 0) {
		ex->state = SASL_EXCHANGE_FAILED;
	}
	return ret;
}

const struct sasl_mech *sasl_exchange_mech(const struct sasl_exchange *ex)
{
	return ex->mech;
}

const char *sasl_exchange_authcid(const struct sasl_exchange *ex)
{
	return ex->authcid;
}

const char *sasl_exchange_authzid(const struct sasl_exchange *ex)
{
	return ex->authzid;
}

const char *sasl_exchange_password(const struct sasl_exchange *ex)
{
	return ex->password;
}

void *sasl_exchange_state(struct sasl_exchange *ex)
{
	return ex->state_start;
}

void sasl_exchange_set_credentials(struct sasl_exchange *ex, const char *authzid,
				   const char *authcid, const char *password)
{
	free(ex->authzid);
	free(ex->authcid);
	sasl_free_secret(&ex->password);
	ex->authzid = xstrdup(authzid);
	ex->authcid = xstrdup(authcid);
	ex->password = password != NULL ? xstrdup(password) : NULL;
}
