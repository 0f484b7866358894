/* charset.c: MIME charsets to UTF-8 through iconv.  See charset.h. */
#include "mime/charset.h"

#include <errno.h>
#include <iconv.h>
#include <string.h>

#define UTF8_REPLACEMENT "\xef\xbf\xbd"

bool mime_charset_is_utf8(const char *charset)
{
	static const char *const names[] = {
		"utf-8", "utf8", "us-ascii", "ascii",
	};
	for (size_t i = 0; i < N_ELEMENTS(names); i++) {
		if (str_eq_icase(charset, names[i]))
			return true;
	}
	return false;
}

/* Runs the conversion; invalid input bytes become U+FFFD one at a time,
 * a truncated sequence at the end one U+FFFD. */
static void convert(iconv_t cd, const char *src, size_t len, struct str *dest)
{
	char buf[1024];
	char *in = (char *)src, *out;
	size_t inleft = len, outleft;

	while (inleft > 0) {
		out = buf;
		outleft = sizeof(buf);
		size_t ret = iconv(cd, &in, &inleft, &out, &outleft);
		int err = errno;

		str_append_n(dest, buf, sizeof(buf) - outleft);
		if (ret != (size_t)-1 || err == E2BIG)
			continue;
		str_append(dest, UTF8_REPLACEMENT);
		if (err != EILSEQ)
			break;
		in++;
		inleft--;
	}
	/* the shift state back to the initial one (ISO-2022-JP) */
	out = buf;
	outleft = sizeof(buf);
	(void)iconv(cd, NULL, NULL, &out, &outleft);
	str_append_n(dest, buf, sizeof(buf) - outleft);
}

int mime_charset_to_utf8(const char *charset, const void *src, size_t len,
			 struct str *dest)
{
	char name[64];
	size_t n = strcspn(charset, "*");

	if (n >= sizeof(name) || n == 0)
		return -1;
	memcpy(name, charset, n);
	name[n] = '\0';
	if (mime_charset_is_utf8(name)) {
		str_append_n(dest, src, len);
		return 0;
	}
	iconv_t cd = iconv_open("UTF-8", name);
	if (cd == (iconv_t)-1)
		return -1;
	if (len > 0)
		convert(cd, src, len, dest);
	iconv_close(cd);
	return 0;
}
