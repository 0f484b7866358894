/* ext.c: the registry of extensions.
 *
 * Each extension is a table of command and test definitions and shared
 * tags in its own ext-*.c file; this list is the only place that names
 * them all, and the SIEVE capability (RFC 5804 1.7) is generated from it.
 * A new extension is a new file and two lines here (its declaration and
 * its place in the list). */
#include "sieve-private.h"

#include <stdlib.h>
#include <pthread.h>
#include <string.h>

/* Defined in the ext-*.c files. */
extern const struct sieve_extension sieve_ext_core;
extern const struct sieve_extension sieve_ext_fileinto;
extern const struct sieve_extension sieve_ext_envelope;
extern const struct sieve_extension sieve_ext_encoded_character;
extern const struct sieve_extension sieve_ext_cmp_octet;
extern const struct sieve_extension sieve_ext_cmp_casemap;
extern const struct sieve_extension sieve_ext_cmp_numeric;
extern const struct sieve_extension sieve_ext_reject;
extern const struct sieve_extension sieve_ext_ereject;
extern const struct sieve_extension sieve_ext_imap4flags;
extern const struct sieve_extension sieve_ext_copy;
extern const struct sieve_extension sieve_ext_subaddress;
extern const struct sieve_extension sieve_ext_relational;
extern const struct sieve_extension sieve_ext_variables;
extern const struct sieve_extension sieve_ext_mailbox;
extern const struct sieve_extension sieve_ext_mailboxid;
extern const struct sieve_extension sieve_ext_specialuse;
extern const struct sieve_extension sieve_ext_environment;
extern const struct sieve_extension sieve_ext_ihave;
extern const struct sieve_extension sieve_ext_date;
extern const struct sieve_extension sieve_ext_index;
extern const struct sieve_extension sieve_ext_body;
extern const struct sieve_extension sieve_ext_vacation;
extern const struct sieve_extension sieve_ext_vacation_seconds;
extern const struct sieve_extension sieve_ext_duplicate;
extern const struct sieve_extension sieve_ext_spamtest;
extern const struct sieve_extension sieve_ext_spamtestplus;
extern const struct sieve_extension sieve_ext_virustest;
extern const struct sieve_extension sieve_ext_include;
extern const struct sieve_extension sieve_ext_editheader;
extern const struct sieve_extension sieve_ext_mime;
extern const struct sieve_extension sieve_ext_foreverypart;
extern const struct sieve_extension sieve_ext_extracttext;
extern const struct sieve_extension sieve_ext_replace;
extern const struct sieve_extension sieve_ext_enclose;
extern const struct sieve_extension sieve_ext_enotify;
extern const struct sieve_extension sieve_ext_regex;
extern const struct sieve_extension sieve_ext_imapsieve;

static const struct sieve_extension *const extensions[] = {
	&sieve_ext_core,
	&sieve_ext_cmp_octet,
	&sieve_ext_cmp_casemap,
	&sieve_ext_cmp_numeric,
	&sieve_ext_fileinto,
	&sieve_ext_reject,
	&sieve_ext_ereject,
	&sieve_ext_envelope,
	&sieve_ext_encoded_character,
	&sieve_ext_imap4flags,
	&sieve_ext_copy,
	&sieve_ext_subaddress,
	&sieve_ext_relational,
	&sieve_ext_variables,
	&sieve_ext_mailbox,
	&sieve_ext_mailboxid,
	&sieve_ext_specialuse,
	&sieve_ext_environment,
	&sieve_ext_ihave,
	&sieve_ext_date,
	&sieve_ext_index,
	&sieve_ext_body,
	&sieve_ext_vacation,
	&sieve_ext_vacation_seconds,
	&sieve_ext_duplicate,
	&sieve_ext_spamtest,
	&sieve_ext_spamtestplus,
	&sieve_ext_virustest,
	&sieve_ext_include,
	&sieve_ext_editheader,
	&sieve_ext_mime,
	&sieve_ext_foreverypart,
	&sieve_ext_extracttext,
	&sieve_ext_replace,
	&sieve_ext_enclose,
	&sieve_ext_enotify,
	&sieve_ext_regex,
	&sieve_ext_imapsieve,
};

size_t sieve_ext_count(void)
{
	return N_ELEMENTS(extensions);
}

const struct sieve_extension *sieve_ext_get(size_t idx)
{
	return extensions[idx];
}

int sieve_ext_find(const char *name)
{
	for (size_t i = 0; i < N_ELEMENTS(extensions); i++) {
		if (extensions[i]->name != NULL && strcmp(extensions[i]->name, name) == 0)
			return (int)i;
	}
	return -1;
}

const struct sieve_cmd_def *sieve_ext_find_cmd(const char *name, bool is_test,
					       int *ext_idx_r)
{
	for (size_t i = 0; i < N_ELEMENTS(extensions); i++) {
		const struct sieve_cmd_def *d = extensions[i]->cmds;
		for (; d != NULL && d->name != NULL; d++) {
			if (strcmp(d->name, name) == 0 &&
			    ((d->flags & SIEVE_CMD_TEST) != 0) == is_test) {
				*ext_idx_r = (int)i;
				return d;
			}
		}
	}
	return NULL;
}

const struct sieve_tag_def *sieve_ext_find_shared_tag(const char *name, int *ext_idx_r)
{
	for (size_t i = 0; i < N_ELEMENTS(extensions); i++) {
		const struct sieve_tag_def *t = extensions[i]->shared_tags;
		for (; t != NULL && t->name != NULL; t++) {
			if (strcmp(t->name, name) == 0) {
				*ext_idx_r = extensions[i]->name == NULL ? -1 : (int)i;
				return t;
			}
		}
	}
	return NULL;
}

static char caps[1024];
static pthread_once_t caps_once = PTHREAD_ONCE_INIT;

static void caps_build(void)
{
	size_t len = 0;

	for (size_t i = 0; i < N_ELEMENTS(extensions); i++) {
		const char *name = extensions[i]->name;
		if (name == NULL || !extensions[i]->advertise)
			continue;
		size_t n = strlen(name);
		if (len + n + 2 >= sizeof(caps))
			i_panic("sieve: the capability string outgrew its buffer");
		if (len > 0)
			caps[len++] = ' ';
		memcpy(caps + len, name, n);
		len += n;
		caps[len] = '\0';
	}
}

const char *sieve_extensions(void)
{
	/* workers call it from several threads */
	pthread_once(&caps_once, caps_build);
	return caps;
}
