/* base64.c: RFC 4648 base64 encoder and strict decoder.
 *
 * The decoder never accepts two spellings of one byte string: SASL data
 * from an unauthenticated client is parsed exactly or rejected. */
#include "base64.h"

static const char base64_alphabet[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

size_t base64_encoded_len(size_t len)
{
	return (len + 2) / 3 * 4;
}

size_t base64_decoded_max_len(size_t len)
{
	return len / 4 * 3 + 3;
}

void base64_encode(const void *src, size_t len, struct str *dest)
{
	const unsigned char *p = src;
	char out[4];
	size_t i;

	for (i = 0; i + 3 <= len; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
		out[0] = base64_alphabet[v >> 18];
		out[1] = base64_alphabet[(v >> 12) & 63];
		out[2] = base64_alphabet[(v >> 6) & 63];
		out[3] = base64_alphabet[v & 63];
		str_append_n(dest, out, 4);
	}
	if (i < len) {
		uint32_t v = (uint32_t)p[i] << 16;
		if (i + 1 < len)
			v |= (uint32_t)p[i + 1] << 8;
		out[0] = base64_alphabet[v >> 18];
		out[1] = base64_alphabet[(v >> 12) & 63];
		out[2] = i + 1 < len ? base64_alphabet[(v >> 6) & 63] : '=';
		out[3] = '=';
		str_append_n(dest, out, 4);
	}
}

/* Returns the 6-bit value of an alphabet character, or -1. */
static int base64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

int base64_decode(const char *src, size_t len, struct str *dest)
{
	const unsigned char *p = (const unsigned char *)src;
	size_t orig_len = dest->len;

	if (len % 4 != 0)
		return -1;
	for (size_t i = 0; i < len; i += 4) {
		bool last = i + 4 == len;
		int v[4];
		unsigned int pad = 0;

		for (unsigned int j = 0; j < 4; j++) {
			if (p[i + j] == '=' && last && j >= 2) {
				v[j] = 0;
				pad++;
				continue;
			}
			/* data after '=' ("ab=c") or '=' too early */
			if (pad > 0)
				goto invalid;
			v[j] = base64_value(p[i + j]);
			if (v[j] < 0)
				goto invalid;
		}
		uint32_t n = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 |
			(uint32_t)v[2] << 6 | (uint32_t)v[3];
		unsigned char out[3] = { n >> 16, (n >> 8) & 0xff, n & 0xff };
		/* the bits that padding hides must be zero (RFC 4648 3.5) */
		if ((pad == 1 && out[2] != 0) || (pad == 2 && (out[1] != 0 || out[2] != 0)))
			goto invalid;
		str_append_n(dest, out, 3 - pad);
	}
	return 0;
invalid:
	str_truncate(dest, orig_len);
	return -1;
}

int base64url_decode(const char *src, size_t len, struct str *dest)
{
	struct str std = STR_INIT;
	int ret;

	if (len % 4 == 1)
		return -1;
	for (size_t i = 0; i < len; i++) {
		char c = src[i];
		/* the base64 alphabet's own 62nd/63rd characters and padding
		 * do not belong to base64url */
		if (c == '+' || c == '/' || c == '=') {
			str_free(&std);
			return -1;
		}
		str_append_c(&std, c == '-' ? '+' : c == '_' ? '/' : c);
	}
	while (std.len % 4 != 0)
		str_append_c(&std, '=');
	ret = base64_decode(std.data != NULL ? std.data : "", std.len, dest);
	str_free(&std);
	return ret;
}
