/* fuzz-import.c: libFuzzer target for src/cli/import-source.c, the
 * readers of `roost import`.
 *
 * The input is read as an mbox file (every message converted in both
 * mbox formats and as a plain message), as a dovecot-uidlist and a
 * courierimapuiddb, as dovecot-keywords, and as a Maildir file name.
 * Checks: messages lie inside the input, in order; the converted bytes
 * have no bare LF; UID lists are strictly ascending with non-empty
 * names; parsed keywords are valid. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "base/str.h"
#include "cli/import-source.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_crlf(const struct str *out)
{
	for (size_t i = 0; i < out->len; i++) {
		if (out->data[i] == '\n' && (i == 0 || out->data[i - 1] != '\r'))
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	struct import_mbox mbox;
	struct import_mbox_msg msg;
	struct str out = STR_INIT;
	struct import_meta meta = { .keywords = STR_INIT };
	const char *error;
	uint64_t last = 0;
	bool first = true;
	int ret;

	import_mbox_init(&mbox, data, size);
	while ((ret = import_mbox_next(&mbox, &msg, &error)) > 0) {
		if ((!first && msg.offset <= last) || msg.offset >= size ||
		    msg.text < text || msg.text + msg.text_len > text + size)
			abort();
		first = false;
		last = msg.offset;
		for (int f = 0; f < 3; f++) {
			str_truncate(&out, 0);
			import_message_convert(msg.text, msg.text_len, f < 2,
					       f == 0 ? IMPORT_MBOX_RD : IMPORT_MBOX_O, &out,
					       f < 2 ? &meta : NULL);
			check_crlf(&out);
			const char *k = meta.keywords.data;
			for (size_t i = 0; f < 2 && i < meta.keyword_count; i++) {
				if (!import_keyword_is_valid(k, strlen(k)))
					abort();
				k += strlen(k) + 1;
			}
		}
	}
	if (ret < 0 && error == NULL)
		abort();

	for (int courier = 0; courier < 2; courier++) {
		struct import_uidlist list;

		if (import_uidlist_parse(text, size, courier != 0, &list, &error) == 0) {
			for (size_t i = 0; i < list.count; i++) {
				if (list.entries[i].uid == 0 || list.entries[i].unique[0] == '\0' ||
				    (i > 0 && list.entries[i].uid <= list.entries[i - 1].uid))
					abort();
			}
			import_uidlist_sort(&list);
			for (size_t i = 0; i < list.count; i++) {
				const char *u = list.entries[i].unique;

				if (import_uidlist_lookup(&list, u, strlen(u)) == 0)
					abort();
			}
		} else if (list.count != 0) {
			abort();
		}
		import_uidlist_free(&list);
	}

	char *names[26];
	size_t bad;
	import_keywords_parse(text, size, names, &bad);
	for (size_t i = 0; i < 26; i++) {
		if (names[i] != NULL && !import_keyword_is_valid(names[i], strlen(names[i])))
			abort();
	}
	import_keywords_free(names);

	char *name = xstrndup(text, size);
	struct import_maildir_name fn;
	import_maildir_name_parse(name, &fn);
	if (fn.unique_len > strlen(name))
		abort();
	free(name);
	str_free(&out);
	str_free(&meta.keywords);
	return 0;
}
