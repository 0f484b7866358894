/* test-base64.c: RFC 4648 vectors, round trips and strict decoding. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "base/base64.h"

/* RFC 4648 section 10 */
static const struct { const char *plain, *encoded; } rfc4648_vectors[] = {
	{ "", "" },
	{ "f", "Zg==" },
	{ "fo", "Zm8=" },
	{ "foo", "Zm9v" },
	{ "foob", "Zm9vYg==" },
	{ "fooba", "Zm9vYmE=" },
	{ "foobar", "Zm9vYmFy" },
};

static void test_base64_rfc4648_vectors(void **state)
{
	(void)state;
	for (size_t i = 0; i < N_ELEMENTS(rfc4648_vectors); i++) {
		const char *plain = rfc4648_vectors[i].plain;
		const char *encoded = rfc4648_vectors[i].encoded;
		struct str s = STR_INIT;

		base64_encode(plain, strlen(plain), &s);
		assert_string_equal(str_c(&s), encoded);
		assert_int_equal(s.len, base64_encoded_len(strlen(plain)));
		str_truncate(&s, 0);
		assert_int_equal(base64_decode(encoded, strlen(encoded), &s), 0);
		assert_int_equal(s.len, strlen(plain));
		assert_memory_equal(str_c(&s), plain, s.len);
		assert_true(s.len <= base64_decoded_max_len(strlen(encoded)));
		str_free(&s);
	}
}

static void test_base64_binary_round_trip(void **state)
{
	(void)state;
	unsigned char data[300];
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (unsigned char)(i * 7 + 3);
	for (size_t len = 0; len <= sizeof(data); len++) {
		struct str enc = STR_INIT, dec = STR_INIT;
		base64_encode(data, len, &enc);
		assert_int_equal(enc.len, base64_encoded_len(len));
		assert_int_equal(base64_decode(enc.data, enc.len, &dec), 0);
		assert_int_equal(dec.len, len);
		if (len > 0)
			assert_memory_equal(dec.data, data, len);
		str_free(&enc);
		str_free(&dec);
	}
	/* every byte value, including NUL */
	struct str dec = STR_INIT;
	assert_int_equal(base64_decode("AP8A", 4, &dec), 0);
	assert_int_equal(dec.len, 3);
	assert_memory_equal(dec.data, "\0\xff\0", 3);
	str_free(&dec);
}

static void test_base64_strict_decode(void **state)
{
	(void)state;
	static const char *const invalid[] = {
		"Zg", "Zg=", "Zm9vY", "Zm9vYg=",	/* length not a multiple of 4 */
		"Z===", "====", "Zg==Zg==", "Z=g=", "Zg=a", "=Zg=",	/* misplaced padding */
		"Zh==", "Zm9=", "Zm8B", /* "Zm8B" is valid data, see below */
		"Zm 9", "Zm9v\n", " Zm9", "Zm9v\r\n",	/* white space */
		"Zm-_", "Zm9\x80", "Zm9\0",	/* other alphabets, 8-bit, NUL */
	};
	for (size_t i = 0; i < N_ELEMENTS(invalid); i++) {
		const char *in = invalid[i];
		size_t len = strcmp(in, "Zm9") == 0 ? 4 : strlen(in);
		struct str s = STR_INIT;
		str_append(&s, "kept");
		int ret = base64_decode(in, len, &s);
		if (strcmp(in, "Zm8B") == 0) {
			/* a full quantum: no padding bits to check */
			assert_int_equal(ret, 0);
			str_free(&s);
			continue;
		}
		if (ret != -1)
			fail_msg("accepted invalid base64 \"%s\"", in);
		/* dest is left as it was */
		assert_int_equal(s.len, 4);
		assert_string_equal(str_c(&s), "kept");
		str_free(&s);
	}
	/* the NUL case above: "Zm9\0" has length 4 */
	struct str s = STR_INIT;
	assert_int_equal(base64_decode("Zm9\0", 4, &s), -1);
	/* padding bits: "Zg==" is canonical, "Zh==" differs only in them */
	assert_int_equal(base64_decode("Zg==", 4, &s), 0);
	assert_int_equal(base64_decode("Zh==", 4, &s), -1);
	assert_int_equal(base64_decode("Zm8=", 4, &s), 0);
	assert_int_equal(base64_decode("Zm9=", 4, &s), -1);
	assert_int_equal(s.len, 3);
	assert_memory_equal(s.data, "ffo", 3);
	str_free(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_base64_rfc4648_vectors),
		cmocka_unit_test(test_base64_binary_round_trip),
		cmocka_unit_test(test_base64_strict_decode),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
