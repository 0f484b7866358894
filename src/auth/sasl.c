/* sasl.c: the mechanism table and the exchange every mechanism shares.
 *
 * An exchange holds the proven identities, a buffer for challenges and
 * lookup strings, and after them the mechanism's own state.  Mechanisms
 * live in their own files (sasl-plain.c, ...) and only see the exchange
 * through the functions in sasl.h. */
#include "sasl.h"
#include "auth.h"

#include <stdlib.h>
#include <string.h>
#include <unistr.h>

/* In the order to advertise them, strongest first; one line each:
 * SCRAM-SHA-256-PLUS, SCRAM-SHA-256, SCRAM-SHA-1-PLUS, SCRAM-SHA-1,
 * GSSAPI, OAUTHBEARER, XOAUTH2, EXTERNAL, PLAIN, LOGIN, CRAM-MD5,
 * DIGEST-MD5, ANONYMOUS. */
static const struct sasl_mech *const sasl_mechs[] = {
	&sasl_mech_scram_sha_256_plus,
	&sasl_mech_scram_sha_256,
	&sasl_mech_scram_sha_1_plus,
	&sasl_mech_scram_sha_1,
	&sasl_mech_gssapi,
	&sasl_mech_oauthbearer,
	&sasl_mech_xoauth2,
	&sasl_mech_cram_md5,
	&sasl_mech_digest_md5,
	&sasl_mech_external,
	&sasl_mech_plain,
	&sasl_mech_login,
	&sasl_mech_anonymous,
};

/* sasl_mech_register()'s, after the table's */
static const struct sasl_mech *sasl_mechs_extra[4];
static size_t sasl_mechs_extra_count;

void sasl_mech_register(const struct sasl_mech *mech)
{
	if (sasl_mechs_extra_count == N_ELEMENTS(sasl_mechs_extra))
		i_panic("sasl: too many registered mechanisms");
	sasl_mechs_extra[sasl_mechs_extra_count++] = mech;
}

struct sasl_exchange {
	const struct sasl_mech *mech;
	const struct roost_config *config;
	const struct sasl_peer *peer;
	enum {
		SASL_EXCHANGE_RUNNING,
		SASL_EXCHANGE_LOOKUP,
		SASL_EXCHANGE_DONE,
		SASL_EXCHANGE_FAILED,
	} state;
	bool first_step_done;
	bool read_only;
	char *authzid, *authcid;
	char *log_note;
	unsigned char *buffer;
	size_t buffer_size;
	/* the mechanism's state follows, aligned for any type */
	max_align_t state_start[];
};

const struct sasl_mech *sasl_mech_find(const char *name)
{
	const struct sasl_mech *mech;
	for (size_t i = 0; (mech = sasl_mech_at(i)) != NULL; i++) {
		if (str_eq_icase(mech->name, name))
			return mech;
	}
	return NULL;
}

const struct sasl_mech *sasl_mech_at(size_t i)
{
	if (i < N_ELEMENTS(sasl_mechs))
		return sasl_mechs[i];
	i -= N_ELEMENTS(sasl_mechs);
	return i < sasl_mechs_extra_count ? sasl_mechs_extra[i] : NULL;
}

struct sasl_exchange *sasl_exchange_create(const struct sasl_mech *mech,
					   const struct roost_config *config,
					   const struct sasl_peer *peer)
{
	struct sasl_exchange *ex = xcalloc(1, sizeof(*ex) + mech->state_size);
	ex->mech = mech;
	ex->config = config;
	ex->peer = peer;
	if (mech->init != NULL)
		mech->init(ex);
	return ex;
}

static void sasl_free_wiped(void *p, size_t len)
{
	if (p != NULL) {
		explicit_bzero(p, len);
		free(p);
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
	sasl_free_wiped(ex->buffer, ex->buffer_size);
	free(ex->authzid);
	free(ex->authcid);
	free(ex->log_note);
	free(ex);
}

/* Moves the exchange to the state a mechanism's return means. */
static enum sasl_step_result sasl_exchange_result(struct sasl_exchange *ex,
						  enum sasl_step_result ret,
						  const struct sasl_output *out)
{
	switch (ret) {
	case SASL_STEP_CONTINUE:
		ex->state = SASL_EXCHANGE_RUNNING;
		break;
	case SASL_STEP_LOOKUP:
		if (ex->mech->lookup_done == NULL || out->lookup.user == NULL)
			i_panic("sasl: %s asked for a lookup it cannot take", ex->mech->name);
		ex->state = SASL_EXCHANGE_LOOKUP;
		break;
	case SASL_STEP_DONE:
		if (ex->authcid == NULL)
			i_panic("sasl: %s completed without an identity", ex->mech->name);
		ex->state = SASL_EXCHANGE_DONE;
		break;
	case SASL_STEP_FAILED:
		if (out->error == NULL)
			i_panic("sasl: %s failed without an error", ex->mech->name);
		ex->state = SASL_EXCHANGE_FAILED;
		break;
	}
	return ret;
}

enum sasl_step_result sasl_exchange_step(struct sasl_exchange *ex,
					 const unsigned char *input, size_t input_len,
					 struct sasl_output *out)
{
	if (ex->state != SASL_EXCHANGE_RUNNING)
		i_panic("sasl: step of the %s exchange in state %d", ex->mech->name, ex->state);
	if (input == NULL && ex->first_step_done)
		i_panic("sasl: NULL input after the first %s step", ex->mech->name);
	ex->first_step_done = true;
	memset(out, 0, sizeof(*out));
	return sasl_exchange_result(ex, ex->mech->step(ex, input, input_len, out), out);
}

enum sasl_step_result sasl_exchange_lookup_done(struct sasl_exchange *ex,
						const struct sasl_lookup_result *result,
						struct sasl_output *out)
{
	if (ex->state != SASL_EXCHANGE_LOOKUP)
		i_panic("sasl: lookup answer for the %s exchange without a lookup",
			ex->mech->name);
	memset(out, 0, sizeof(*out));
	return sasl_exchange_result(ex, ex->mech->lookup_done(ex, result, out), out);
}

const struct sasl_mech *sasl_exchange_mech(const struct sasl_exchange *ex)
{
	return ex->mech;
}

const struct roost_config *sasl_exchange_config(const struct sasl_exchange *ex)
{
	return ex->config;
}

const struct sasl_peer *sasl_exchange_peer(const struct sasl_exchange *ex)
{
	return ex->peer;
}

const char *sasl_exchange_authcid(const struct sasl_exchange *ex)
{
	return ex->authcid;
}

const char *sasl_exchange_authzid(const struct sasl_exchange *ex)
{
	return ex->authzid != NULL ? ex->authzid : "";
}

bool sasl_exchange_read_only(const struct sasl_exchange *ex)
{
	return ex->read_only;
}

void *sasl_exchange_state(struct sasl_exchange *ex)
{
	return ex->state_start;
}

void sasl_exchange_set_identity(struct sasl_exchange *ex, const char *authcid,
				const char *authzid)
{
	free(ex->authzid);
	free(ex->authcid);
	ex->authcid = xstrdup(authcid);
	ex->authzid = xstrdup(authzid != NULL ? authzid : "");
}

void sasl_exchange_set_log_note(struct sasl_exchange *ex, const char *note)
{
	free(ex->log_note);
	ex->log_note = xstrdup(note);
}

const char *sasl_exchange_log_note(const struct sasl_exchange *ex)
{
	return ex->log_note;
}

void sasl_exchange_set_read_only(struct sasl_exchange *ex)
{
	ex->read_only = true;
}

enum sasl_step_result sasl_lookup_failed(const struct sasl_lookup_result *result,
					 struct sasl_output *out)
{
	if (result->status == SASL_LOOKUP_TEMPFAIL) {
		out->error = "Temporary authentication failure.";
		out->tempfail = true;
	} else {
		out->error = "Authentication failed.";
	}
	return SASL_STEP_FAILED;
}

unsigned char *sasl_exchange_buffer(struct sasl_exchange *ex, size_t len)
{
	sasl_free_wiped(ex->buffer, ex->buffer_size);
	ex->buffer = xmalloc(len + 1);
	ex->buffer_size = len + 1;
	ex->buffer[len] = '\0';
	return ex->buffer;
}

bool sasl_authzid_is_self(const char *authzid, const char *authcid)
{
	if (authzid[0] == '\0')
		return true;
	char *a = xstrdup(authzid), *u = xstrdup(authcid);
	auth_user_normalize(a);
	auth_user_normalize(u);
	bool same = strcmp(a, u) == 0;
	free(a);
	free(u);
	return same;
}

enum sasl_step_result sasl_lookup_identity(struct sasl_exchange *ex,
					   const struct sasl_lookup_result *result,
					   const char *authcid, const char *authzid,
					   struct sasl_output *out)
{
	if (result->status != SASL_LOOKUP_OK)
		return sasl_lookup_failed(result, out);
	sasl_exchange_set_identity(ex, result->user != NULL ? result->user : authcid, authzid);
	return SASL_STEP_DONE;
}

bool sasl_saslname_decode(const char *p, size_t len, char *dest, size_t size)
{
	size_t n = 0;

	if (len == 0 || size == 0)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = p[i];
		if (c == '=') {
			if (len - i < 3)
				return false;
			if (p[i + 1] == '2' && p[i + 2] == 'C')
				c = ',';
			else if (p[i + 1] == '3' && p[i + 2] == 'D')
				c = '=';
			else
				return false;
			i += 2;
		} else if (c == ',' || c == '\0') {
			return false;
		}
		if (n + 1 >= size)
			return false;
		dest[n++] = c;
	}
	dest[n] = '\0';
	return u8_check((const uint8_t *)dest, n) == NULL;
}
