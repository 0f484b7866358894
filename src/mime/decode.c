/* decode.c: tolerant streaming base64 and quoted-printable decoders.
 * See decode.h. */
#include "mime/decode.h"

#include <assert.h>
#include <string.h>

enum qp_state {
	QP_NORMAL = 0,
	QP_WS,		/* pending: a run of white space */
	QP_CR,		/* pending: "\r" */
	QP_EQ,		/* pending: "=" */
	QP_EQ1,		/* pending: "=" HEXDIG */
	QP_EQ_WS,	/* pending: "=" and white space */
	QP_SOFT_CR,	/* after "=" ... "\r": a soft line break */
};

static const struct {
	const char *name;
	enum mime_encoding encoding;
} encoding_names[] = {
	{ "7bit", MIME_ENCODING_7BIT },
	{ "8bit", MIME_ENCODING_8BIT },
	{ "binary", MIME_ENCODING_BINARY },
	{ "base64", MIME_ENCODING_BASE64 },
	{ "quoted-printable", MIME_ENCODING_QP },
};

enum mime_encoding mime_encoding_from_name(const char *name)
{
	if (name == NULL)
		return MIME_ENCODING_7BIT;
	for (size_t i = 0; i < N_ELEMENTS(encoding_names); i++) {
		if (str_eq_icase(name, encoding_names[i].name))
			return encoding_names[i].encoding;
	}
	return MIME_ENCODING_UNKNOWN;
}

bool mime_encoding_is_identity(enum mime_encoding encoding)
{
	return encoding == MIME_ENCODING_7BIT ||
		encoding == MIME_ENCODING_8BIT ||
		encoding == MIME_ENCODING_BINARY;
}

void mime_decoder_init(struct mime_decoder *dec, enum mime_encoding encoding)
{
	memset(dec, 0, sizeof(*dec));
	dec->encoding = encoding;
}

static int hex_value(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* The value of each base64 alphabet byte plus one; 0 for the others.
 * One load per input byte instead of a chain of range tests: BINARY
 * decodes attachments of tens of megabytes. */
static const uint8_t base64_values[256] = {
	['A'] = 1, ['B'] = 2, ['C'] = 3, ['D'] = 4, ['E'] = 5, ['F'] = 6,
	['G'] = 7, ['H'] = 8, ['I'] = 9, ['J'] = 10, ['K'] = 11, ['L'] = 12,
	['M'] = 13, ['N'] = 14, ['O'] = 15, ['P'] = 16, ['Q'] = 17,
	['R'] = 18, ['S'] = 19, ['T'] = 20, ['U'] = 21, ['V'] = 22,
	['W'] = 23, ['X'] = 24, ['Y'] = 25, ['Z'] = 26, ['a'] = 27,
	['b'] = 28, ['c'] = 29, ['d'] = 30, ['e'] = 31, ['f'] = 32,
	['g'] = 33, ['h'] = 34, ['i'] = 35, ['j'] = 36, ['k'] = 37,
	['l'] = 38, ['m'] = 39, ['n'] = 40, ['o'] = 41, ['p'] = 42,
	['q'] = 43, ['r'] = 44, ['s'] = 45, ['t'] = 46, ['u'] = 47,
	['v'] = 48, ['w'] = 49, ['x'] = 50, ['y'] = 51, ['z'] = 52,
	['0'] = 53, ['1'] = 54, ['2'] = 55, ['3'] = 56, ['4'] = 57,
	['5'] = 58, ['6'] = 59, ['7'] = 60, ['8'] = 61, ['9'] = 62,
	['+'] = 63, ['/'] = 64,
};

static int base64_value(unsigned char c)
{
	return (int)base64_values[c] - 1;
}

static void base64_feed(struct mime_decoder *dec, const unsigned char *p,
			size_t len, struct str *dest)
{
	char out[256];
	size_t n = 0;

	for (size_t i = 0; i < len; i++) {
		int v = base64_value(p[i]);
		if (v < 0) {
			/* padding ends a quantum: a concatenated second
			 * encoding starts aligned */
			if (p[i] == '=') {
				dec->bits = 0;
				dec->nbits = 0;
			}
			continue;
		}
		dec->bits = (dec->bits << 6) | (uint32_t)v;
		dec->nbits += 6;
		if (dec->nbits >= 8) {
			dec->nbits -= 8;
			out[n++] = (char)(dec->bits >> dec->nbits);
			dec->bits &= (1u << dec->nbits) - 1;
			if (n == sizeof(out)) {
				str_append_n(dest, out, n);
				n = 0;
			}
		}
	}
	str_append_n(dest, out, n);
}

static void qp_pend(struct mime_decoder *dec, char c)
{
	dec->pending[dec->pending_len++] = c;
}

static void qp_flush(struct mime_decoder *dec, struct str *dest)
{
	str_append_n(dest, dec->pending, dec->pending_len);
	dec->pending_len = 0;
	dec->state = QP_NORMAL;
}

static void qp_feed(struct mime_decoder *dec, const unsigned char *p,
		    size_t len, struct str *dest)
{
	size_t i = 0;

	while (i < len) {
		unsigned char c = p[i];
		bool ws = c == ' ' || c == '\t';

		switch ((enum qp_state)dec->state) {
		case QP_NORMAL: {
			/* copy the plain run in one go */
			size_t n = 0;
			/* memchr, not strchr: strchr finds a NUL byte (the
			 * terminator), which is data here */
			while (i + n < len && memchr("= \t\r\n", p[i + n], 5) == NULL)
				n++;
			if (n > 0) {
				str_append_n(dest, p + i, n);
				i += n;
				continue;
			}
			if (c == '=') {
				qp_pend(dec, '=');
				dec->state = QP_EQ;
			} else if (ws) {
				qp_pend(dec, (char)c);
				dec->state = QP_WS;
			} else if (c == '\r') {
				qp_pend(dec, '\r');
				dec->state = QP_CR;
			} else {
				/* the run stops only at the bytes above */
				assert(c == '\n');
				str_append_c(dest, '\n');
			}
			i++;
			continue;
		}
		case QP_WS:
			if (ws) {
				if (dec->pending_len == sizeof(dec->pending))
					qp_flush(dec, dest);
				qp_pend(dec, (char)c);
				dec->state = QP_WS;
				i++;
			} else if (c == '\r' || c == '\n') {
				/* trailing white space is transport padding */
				dec->pending_len = 0;
				dec->state = QP_NORMAL;
			} else {
				qp_flush(dec, dest);
			}
			continue;
		case QP_CR:
			if (c == '\n') {
				dec->pending_len = 0;
				dec->state = QP_NORMAL;
				str_append(dest, "\r\n");
				i++;
			} else {
				qp_flush(dec, dest);
			}
			continue;
		case QP_EQ:
			if (hex_value(c) >= 0) {
				qp_pend(dec, (char)c);
				dec->state = QP_EQ1;
			} else if (c == '\r') {
				dec->pending_len = 0;
				dec->state = QP_SOFT_CR;
			} else if (c == '\n') {
				dec->pending_len = 0;
				dec->state = QP_NORMAL;
			} else if (ws) {
				qp_pend(dec, (char)c);
				dec->state = QP_EQ_WS;
			} else {
				qp_flush(dec, dest);
				continue;
			}
			i++;
			continue;
		case QP_EQ1:
			if (hex_value(c) >= 0) {
				str_append_c(dest, (char)(hex_value(
					(unsigned char)dec->pending[1]) * 16 +
					hex_value(c)));
				dec->pending_len = 0;
				dec->state = QP_NORMAL;
				i++;
			} else {
				qp_flush(dec, dest);
			}
			continue;
		case QP_EQ_WS:
			if (ws && dec->pending_len < sizeof(dec->pending)) {
				qp_pend(dec, (char)c);
				i++;
			} else if (c == '\r' || c == '\n') {
				dec->pending_len = 0;
				dec->state = c == '\r' ? QP_SOFT_CR : QP_NORMAL;
				i++;
			} else {
				qp_flush(dec, dest);
			}
			continue;
		case QP_SOFT_CR:
			dec->state = QP_NORMAL;
			if (c == '\n')
				i++;
			continue;
		}
	}
}

void mime_decoder_set_crlf(struct mime_decoder *dec, bool crlf)
{
	dec->crlf = crlf;
	dec->last_cr = false;
}

/* Turns the bare LFs of dest[start..] into CRLF, in place; dec->last_cr
 * says whether the byte before dest[start] (output by an earlier call)
 * was CR. */
static void crlf_convert(struct mime_decoder *dec, struct str *dest, size_t start)
{
	const bool cr_before = dec->last_cr;
	size_t bare = 0;
	bool cr = cr_before;

	if (dest->len == start)
		return;
	for (size_t i = start; i < dest->len; i++) {
		if (dest->data[i] == '\n' && !cr)
			bare++;
		cr = dest->data[i] == '\r';
	}
	dec->last_cr = cr;
	if (bare == 0)
		return;
	size_t old_len = dest->len;
	for (size_t i = 0; i < bare; i++)
		str_append_c(dest, '\r');
	/* from the end backwards: a byte moves right by the number of bare
	 * LFs before it, so dest[i - 2] is still unmoved when dest[i - 1]
	 * is placed */
	size_t to = dest->len;
	for (size_t i = old_len; i > start; i--) {
		char c = dest->data[i - 1];
		dest->data[--to] = c;
		if (c == '\n') {
			bool after_cr = i - 1 > start ? dest->data[i - 2] == '\r' :
				cr_before;
			if (!after_cr)
				dest->data[--to] = '\r';
		}
	}
}

static void decoder_feed(struct mime_decoder *dec, const void *src, size_t len,
			 struct str *dest)
{
	switch (dec->encoding) {
	case MIME_ENCODING_BASE64:
		base64_feed(dec, src, len, dest);
		break;
	case MIME_ENCODING_QP:
		qp_feed(dec, src, len, dest);
		break;
	default:
		str_append_n(dest, src, len);
		break;
	}
}

void mime_decoder_feed(struct mime_decoder *dec, const void *src, size_t len,
		       struct str *dest)
{
	size_t start = dest->len;

	decoder_feed(dec, src, len, dest);
	if (dec->crlf)
		crlf_convert(dec, dest, start);
}

void mime_decoder_finish(struct mime_decoder *dec, struct str *dest)
{
	size_t start = dest->len;
	bool crlf = dec->crlf;

	if (dec->encoding == MIME_ENCODING_QP) {
		switch ((enum qp_state)dec->state) {
		case QP_CR:
		case QP_EQ1:
			str_append_n(dest, dec->pending, dec->pending_len);
			break;
		default:
			/* trailing white space, or a soft break at the end:
			 * a body part's last line break belongs to the
			 * boundary, so "text=" ends in a soft break */
			break;
		}
	}
	if (crlf)
		crlf_convert(dec, dest, start);
	mime_decoder_init(dec, dec->encoding);
	dec->crlf = crlf;
}

void mime_decode_base64(const void *src, size_t len, struct str *dest)
{
	struct mime_decoder dec;

	mime_decoder_init(&dec, MIME_ENCODING_BASE64);
	mime_decoder_feed(&dec, src, len, dest);
	mime_decoder_finish(&dec, dest);
}

void mime_decode_qp(const void *src, size_t len, struct str *dest)
{
	struct mime_decoder dec;

	mime_decoder_init(&dec, MIME_ENCODING_QP);
	mime_decoder_feed(&dec, src, len, dest);
	mime_decoder_finish(&dec, dest);
}
