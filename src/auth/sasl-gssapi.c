/* sasl-gssapi.c: the GSSAPI mechanism (RFC 4752): Kerberos V5 through the
 * system's GSS-API library (MIT krb5).
 *
 * The client's tokens go to gss_accept_sec_context() with an acceptor
 * credential for the keys of auth_gssapi_keytab; the ticket must be for
 * <service>/<auth_gssapi_hostname> ("imap/mail.example.org@REALM"), or
 * for any <service>/host principal when the hostname is "*".
 * Once the context is up, the RFC 4752 section 3.1 security-layer
 * negotiation follows: Roost offers no security layer (bit 1, maximum
 * size 0: TLS protects the session) and reads the client's choice and
 * authorization identity.  The client principal becomes the user name:
 * "alice@EXAMPLE.ORG" is "alice" when EXAMPLE.ORG is one of
 * auth_gssapi_realms (default: the default realm of krb5.conf), the full
 * principal otherwise; then a USER lookup.  The authzid is reported to
 * the driver, which decides whether the principal may act as it.
 *
 * The GSS calls run on the event loop.  They read the keytab and the
 * replay cache (a file under /var/tmp or KRB5RCACHEDIR, appended to for
 * every accepted authenticator); on a local disk that takes well under a
 * millisecond, but on a slow or network file system it would stall the
 * worker: keep the keytab and the replay cache on local storage.  No call
 * here talks to the KDC (acceptors never do). */
#include "sasl.h"
#include "conf/conf.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <unistr.h>

#include <gssapi/gssapi.h>
#include <gssapi/gssapi_ext.h>
#include <gssapi/gssapi_krb5.h>
#include <krb5.h>

/* RFC 4752 section 3.1: the security layer bit-mask */
#define SASL_GSSAPI_LAYER_NONE 0x01

struct sasl_gssapi_state {
	enum {
		SASL_GSSAPI_ACCEPTING,
		SASL_GSSAPI_WAIT_EMPTY,	/* sent the last context token */
		SASL_GSSAPI_WAIT_LAYER,	/* sent the security-layer offer */
		SASL_GSSAPI_LOOKUP,
	} state;
	gss_cred_id_t cred;
	gss_ctx_id_t ctx;
	char *user;
	char *authzid;
};

static void sasl_gssapi_init(struct sasl_exchange *ex)
{
	struct sasl_gssapi_state *st = sasl_exchange_state(ex);
	st->cred = GSS_C_NO_CREDENTIAL;
	st->ctx = GSS_C_NO_CONTEXT;
}

static void sasl_gssapi_deinit(struct sasl_exchange *ex)
{
	struct sasl_gssapi_state *st = sasl_exchange_state(ex);
	OM_uint32 minor;

	if (st->ctx != GSS_C_NO_CONTEXT)
		gss_delete_sec_context(&minor, &st->ctx, GSS_C_NO_BUFFER);
	if (st->cred != GSS_C_NO_CREDENTIAL)
		gss_release_cred(&minor, &st->cred);
	free(st->user);
	free(st->authzid);
}

static const char *sasl_gssapi_service(const struct sasl_exchange *ex)
{
	const struct sasl_peer *peer = sasl_exchange_peer(ex);
	return peer != NULL && peer->service != NULL && peer->service[0] != '\0' ?
		peer->service : "imap";
}

/* The acceptor credential: every key of the configured keytab, through
 * the cred store so that no process-wide state such as KRB5_KTNAME
 * changes.  RFC 4752 section 3.2 recommends GSS_C_NO_NAME; the principal
 * the client asked for is checked once the context is up
 * (sasl_gssapi_target_ok()).  (Acquiring for a name instead also leaks
 * in MIT krb5 1.20 each time the keytab lacks the key.) */
static int sasl_gssapi_acquire(struct sasl_exchange *ex)
{
	struct sasl_gssapi_state *st = sasl_exchange_state(ex);
	const struct roost_config *config = sasl_exchange_config(ex);
	gss_key_value_element_desc element = { "keytab", config->auth_gssapi_keytab };
	gss_key_value_set_desc store = { 1, &element };
	gss_OID_set_desc mechs = { 1, (gss_OID)gss_mech_krb5 };
	OM_uint32 major, minor;

	major = gss_acquire_cred_from(&minor, GSS_C_NO_NAME, GSS_C_INDEFINITE, &mechs,
				      GSS_C_ACCEPT, &store, &st->cred, NULL, NULL);
	return GSS_ERROR(major) ? -1 : 0;
}

static char *sasl_gssapi_display(gss_name_t name)
{
	gss_buffer_desc buf = GSS_C_EMPTY_BUFFER;
	OM_uint32 minor;
	char *s = NULL;

	if (!GSS_ERROR(gss_display_name(&minor, name, &buf, NULL))) {
		if (memchr(buf.value, '\0', buf.length) == NULL)
			s = xstrndup(buf.value, buf.length);
		gss_release_buffer(&minor, &buf);
	}
	return s;
}

/* RFC 4752 section 3.2: the target the client used must be the
 * two-component principal <service>/<auth_gssapi_hostname> (any host for
 * "*"; the host part compares without case, as DNS names do). */
static bool sasl_gssapi_target_ok(struct sasl_exchange *ex)
{
	struct sasl_gssapi_state *st = sasl_exchange_state(ex);
	const struct roost_config *config = sasl_exchange_config(ex);
	const char *service = sasl_gssapi_service(ex), *host = config->auth_gssapi_hostname;
	gss_name_t target = GSS_C_NO_NAME;
	OM_uint32 minor;
	char hostname[256], *s, *at;
	size_t n = strlen(service);
	bool ok = false;

	if (host[0] == '\0') {
		if (gethostname(hostname, sizeof(hostname)) < 0)
			return false;
		hostname[sizeof(hostname) - 1] = '\0';
		host = hostname;
	}
	if (GSS_ERROR(gss_inquire_context(&minor, st->ctx, NULL, &target, NULL, NULL, NULL,
					  NULL, NULL)))
		return false;
	s = sasl_gssapi_display(target);
	gss_release_name(&minor, &target);
	if (s != NULL && (at = strrchr(s, '@')) != NULL) {
		*at = '\0';
		ok = strncmp(s, service, n) == 0 && s[n] == '/' && s[n + 1] != '\0' &&
			strchr(s + n + 1, '/') == NULL &&
			(strcmp(host, "*") == 0 || strcasecmp(s + n + 1, host) == 0);
	}
	free(s);
	return ok;
}

/* Whether `realm` is one of auth_gssapi_realms (space- or comma-
 * separated), or, when that is empty, krb5.conf's default realm.
 * Kerberos realms compare case-sensitively. */
static bool sasl_gssapi_realm_local(const struct roost_config *config, const char *realm)
{
	const char *list = config->auth_gssapi_realms;
	size_t n = strlen(realm);

	if (list[0] == '\0') {
		krb5_context kctx;
		char *def = NULL;
		bool ok = false;
		if (krb5_init_context(&kctx) != 0)
			return false;
		if (krb5_get_default_realm(kctx, &def) == 0) {
			ok = strcmp(def, realm) == 0;
			krb5_free_default_realm(kctx, def);
		}
		krb5_free_context(kctx);
		return ok;
	}
	for (const char *p = list; *p != '\0';) {
		size_t len = strcspn(p, " ,");
		if (len == n && memcmp(p, realm, n) == 0)
			return true;
		p += len;
		p += strspn(p, " ,");
	}
	return false;
}

/* The user a principal names: see the file comment. */
static char *sasl_gssapi_principal_user(const struct roost_config *config, const char *principal)
{
	const char *at = strrchr(principal, '@');

	if (at != NULL && at != principal && sasl_gssapi_realm_local(config, at + 1))
		return xstrndup(principal, (size_t)(at - principal));
	return xstrdup(principal);
}

/* The context is up: check the mechanism (and target), map the client
 * principal, and send the security-layer offer. */
static enum sasl_step_result sasl_gssapi_offer(struct sasl_exchange *ex, struct sasl_output *out)
{
	struct sasl_gssapi_state *st = sasl_exchange_state(ex);
	/* no security layer; maximum message size 0 (section 3.1) */
	unsigned char offer[4] = { SASL_GSSAPI_LAYER_NONE, 0, 0, 0 };
	gss_buffer_desc in = { sizeof(offer), offer }, wrapped = GSS_C_EMPTY_BUFFER;
	OM_uint32 minor;
	unsigned char *buf;

	if (GSS_ERROR(gss_wrap(&minor, st->ctx, 0, GSS_C_QOP_DEFAULT, &in, NULL, &wrapped))) {
		out->error = "Kerberos security layer negotiation failed";
		return SASL_STEP_FAILED;
	}
	buf = sasl_exchange_buffer(ex, wrapped.length);
	memcpy(buf, wrapped.value, wrapped.length);
	out->data = buf;
	out->data_len = wrapped.length;
	gss_release_buffer(&minor, &wrapped);
	st->state = SASL_GSSAPI_WAIT_LAYER;
	return SASL_STEP_CONTINUE;
}

static enum sasl_step_result sasl_gssapi_accept(struct sasl_exchange *ex,
						const unsigned char *input, size_t input_len,
						struct sasl_output *out)
{
	struct sasl_gssapi_state *st = sasl_exchange_state(ex);
	const struct roost_config *config = sasl_exchange_config(ex);
	gss_buffer_desc in = { input_len, (void *)input }, token = GSS_C_EMPTY_BUFFER;
	gss_name_t client = GSS_C_NO_NAME;
	gss_OID mech = GSS_C_NO_OID;
	OM_uint32 major, minor;
	char *principal;

	if (st->cred == GSS_C_NO_CREDENTIAL && sasl_gssapi_acquire(ex) < 0) {
		out->error = "Kerberos keytab unusable";
		out->tempfail = true;
		return SASL_STEP_FAILED;
	}
	major = gss_accept_sec_context(&minor, &st->ctx, st->cred, &in,
				       GSS_C_NO_CHANNEL_BINDINGS, &client, &mech, &token,
				       NULL, NULL, NULL);
	if (GSS_ERROR(major)) {
		gss_release_buffer(&minor, &token);
		out->error = "Kerberos authentication failed";
		return SASL_STEP_FAILED;
	}
	if (token.length > 0) {
		unsigned char *buf = sasl_exchange_buffer(ex, token.length);
		memcpy(buf, token.value, token.length);
		out->data = buf;
		out->data_len = token.length;
	} else {
		out->data = (const unsigned char *)"";
	}
	gss_release_buffer(&minor, &token);
	if (major & GSS_S_CONTINUE_NEEDED)
		return SASL_STEP_CONTINUE;

	/* section 3.2: the mechanism must be Kerberos V5 */
	if (mech == GSS_C_NO_OID || mech->length != gss_mech_krb5->length ||
	    memcmp(mech->elements, gss_mech_krb5->elements, mech->length) != 0 ||
	    !sasl_gssapi_target_ok(ex)) {
		gss_release_name(&minor, &client);
		out->error = "Kerberos authentication failed (wrong mechanism or service)";
		return SASL_STEP_FAILED;
	}
	principal = sasl_gssapi_display(client);
	gss_release_name(&minor, &client);
	if (principal == NULL || u8_check((const uint8_t *)principal, strlen(principal)) != NULL) {
		free(principal);
		out->error = "Kerberos principal name unusable";
		return SASL_STEP_FAILED;
	}
	st->user = sasl_gssapi_principal_user(config, principal);
	free(principal);
	if (out->data_len > 0) {
		/* the last context token goes first; the client answers it
		 * with an empty response */
		st->state = SASL_GSSAPI_WAIT_EMPTY;
		return SASL_STEP_CONTINUE;
	}
	return sasl_gssapi_offer(ex, out);
}

/* The client's wrapped answer (section 3.1): its chosen layer, its
 * maximum size, then the authorization identity (not NUL-terminated). */
static enum sasl_step_result sasl_gssapi_layer(struct sasl_exchange *ex,
					       const unsigned char *input, size_t input_len,
					       struct sasl_output *out)
{
	struct sasl_gssapi_state *st = sasl_exchange_state(ex);
	gss_buffer_desc in = { input_len, (void *)input }, plain = GSS_C_EMPTY_BUFFER;
	OM_uint32 minor;
	const unsigned char *p;
	size_t authzid_len;

	if (GSS_ERROR(gss_unwrap(&minor, st->ctx, &in, &plain, NULL, NULL))) {
		out->error = "Kerberos security layer message invalid";
		return SASL_STEP_FAILED;
	}
	p = plain.value;
	if (plain.length < 4 || p[0] != SASL_GSSAPI_LAYER_NONE) {
		gss_release_buffer(&minor, &plain);
		out->error = "Kerberos client chose a security layer that was not offered";
		return SASL_STEP_FAILED;
	}
	authzid_len = plain.length - 4;
	if (authzid_len > SASL_PLAIN_MAX_FIELD_LEN || memchr(p + 4, '\0', authzid_len) != NULL ||
	    u8_check(p + 4, authzid_len) != NULL) {
		gss_release_buffer(&minor, &plain);
		out->error = "Kerberos authorization identity invalid";
		return SASL_STEP_FAILED;
	}
	st->authzid = xstrndup((const char *)p + 4, authzid_len);
	gss_release_buffer(&minor, &plain);
	st->state = SASL_GSSAPI_LOOKUP;
	out->lookup.kind = SASL_LOOKUP_USER;
	out->lookup.user = st->user;
	return SASL_STEP_LOOKUP;
}

static enum sasl_step_result sasl_gssapi_step(struct sasl_exchange *ex,
					      const unsigned char *input, size_t input_len,
					      struct sasl_output *out)
{
	struct sasl_gssapi_state *st = sasl_exchange_state(ex);

	if (input == NULL) {
		out->data = (const unsigned char *)"";
		return SASL_STEP_CONTINUE;
	}
	switch (st->state) {
	case SASL_GSSAPI_ACCEPTING:
		if (input_len == 0) {
			out->error = "Empty Kerberos token";
			return SASL_STEP_FAILED;
		}
		return sasl_gssapi_accept(ex, input, input_len, out);
	case SASL_GSSAPI_WAIT_EMPTY:
		if (input_len != 0) {
			out->error = "Expected an empty response";
			return SASL_STEP_FAILED;
		}
		return sasl_gssapi_offer(ex, out);
	case SASL_GSSAPI_WAIT_LAYER:
		return sasl_gssapi_layer(ex, input, input_len, out);
	case SASL_GSSAPI_LOOKUP:
		break;
	}
	i_panic("sasl: GSSAPI step in state %d", st->state);
}

static enum sasl_step_result sasl_gssapi_lookup_done(struct sasl_exchange *ex,
						     const struct sasl_lookup_result *result,
						     struct sasl_output *out)
{
	struct sasl_gssapi_state *st = sasl_exchange_state(ex);

	if (result->status != SASL_LOOKUP_OK)
		return sasl_lookup_failed(result, out);
	sasl_exchange_set_identity(ex, result->user != NULL ? result->user : st->user,
				   st->authzid);
	return SASL_STEP_DONE;
}

/* RFC 4752 section 3.2: advertised only with an acceptor credential;
 * a readable keytab is the cheap test of that. */
static bool sasl_gssapi_usable(const struct roost_config *config, const struct sasl_peer *peer)
{
	return config != NULL && config->auth_gssapi_keytab[0] != '\0' &&
		access(config->auth_gssapi_keytab, R_OK) == 0;
}

const struct sasl_mech sasl_mech_gssapi = {
	.name = "GSSAPI",
	.flags = SASL_MECH_FLAG_USABLE_BY_CONFIG,
	.state_size = sizeof(struct sasl_gssapi_state),
	.usable = sasl_gssapi_usable,
	.init = sasl_gssapi_init,
	.step = sasl_gssapi_step,
	.lookup_done = sasl_gssapi_lookup_done,
	.deinit = sasl_gssapi_deinit,
};
