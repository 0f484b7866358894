/* fuzz-json.c: libFuzzer target for src/base/json.c and the JWKS reader
 * (src/auth/jwks.c) on top of it.
 *
 * Whatever parses must hold only valid UTF-8 strings and NUL-free member
 * names, and must print back (json_append_string) to JSON that parses to
 * the same string. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistr.h>

#include "auth/jwks.h"
#include "base/json.h"
#include "base/str.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_json_check(const struct json_value *v)
{
	switch (v->type) {
	case JSON_STRING: {
		if (u8_check((const uint8_t *)v->u.string.data, v->u.string.len) != NULL ||
		    v->u.string.data[v->u.string.len] != '\0')
			abort();
		if (strlen(v->u.string.data) == v->u.string.len) {
			struct str s = STR_INIT;
			struct json_value *back;
			const char *error;
			json_append_string(&s, v->u.string.data);
			if (json_parse(s.data, s.len, s.len, 1, &back, &error) < 0 ||
			    back->type != JSON_STRING || strcmp(back->u.string.data, v->u.string.data) != 0)
				abort();
			json_free(&back);
			str_free(&s);
		}
		break;
	}
	case JSON_ARRAY:
		for (size_t i = 0; i < v->u.array.count; i++)
			fuzz_json_check(v->u.array.items[i]);
		break;
	case JSON_OBJECT:
		for (size_t i = 0; i < v->u.object.count; i++) {
			if (strchr(v->u.object.members[i].name, '\0') == NULL)
				abort();
			fuzz_json_check(v->u.object.members[i].value);
		}
		break;
	default:
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct json_value *v;
	struct jwks *jwks;
	const char *error;

	if (json_parse(data, size, 65536, 16, &v, &error) == 0) {
		fuzz_json_check(v);
		json_free(&v);
	} else if (v != NULL || error == NULL) {
		abort();
	}
	if (jwks_parse(data, size, &jwks, &error) == 0)
		jwks_free(&jwks);
	else if (jwks != NULL)
		abort();
	return 0;
}
