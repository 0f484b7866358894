/* json.c: the strict RFC 8259 parser of json.h.
 *
 * A recursive descent parser over a byte range; the recursion is bounded
 * by the caller's max_depth, so a hostile "[[[[..." cannot exhaust the
 * stack.  It never reads past data[len) and never trusts a length that
 * came from the input. */
#include "json.h"
#include "str.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistr.h>

struct json_parser {
	const unsigned char *p, *end;
	unsigned int depth, max_depth;
	const char *error;
};

static struct json_value *json_parse_value(struct json_parser *jp);

/* RFC 8259 section 2: ws = *( %x20 / %x09 / %x0A / %x0D ) */
static void json_skip_ws(struct json_parser *jp)
{
	while (jp->p < jp->end &&
	       (*jp->p == ' ' || *jp->p == '\t' || *jp->p == '\n' || *jp->p == '\r'))
		jp->p++;
}

static struct json_value *json_new(enum json_type type)
{
	struct json_value *v = xcalloc(1, sizeof(*v));
	v->type = type;
	return v;
}

static int json_fail(struct json_parser *jp, const char *error)
{
	if (jp->error == NULL)
		jp->error = error;
	return -1;
}

static int json_hex4(struct json_parser *jp, unsigned int *value_r)
{
	unsigned int v = 0;

	if (jp->end - jp->p < 4)
		return json_fail(jp, "truncated \\u escape");
	for (int i = 0; i < 4; i++) {
		unsigned char c = *jp->p++;
		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= c - '0';
		else if (c >= 'a' && c <= 'f')
			v |= c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			v |= c - 'A' + 10;
		else
			return json_fail(jp, "invalid \\u escape");
	}
	*value_r = v;
	return 0;
}

/* escape after the backslash:
 *   %x22 / %x5C / %x2F / %x62 / %x66 / %x6E / %x72 / %x74 / %x75 4HEXDIG
 * A surrogate pair must be two escapes, high then low (section 7). */
static int json_parse_escape(struct json_parser *jp, struct str *out)
{
	unsigned int cp, low;
	uint8_t buf[6];
	size_t buf_len = sizeof(buf);

	if (jp->p == jp->end)
		return json_fail(jp, "truncated escape");
	switch (*jp->p++) {
	case '"': str_append_c(out, '"'); return 0;
	case '\\': str_append_c(out, '\\'); return 0;
	case '/': str_append_c(out, '/'); return 0;
	case 'b': str_append_c(out, '\b'); return 0;
	case 'f': str_append_c(out, '\f'); return 0;
	case 'n': str_append_c(out, '\n'); return 0;
	case 'r': str_append_c(out, '\r'); return 0;
	case 't': str_append_c(out, '\t'); return 0;
	case 'u': break;
	default: return json_fail(jp, "invalid escape");
	}
	if (json_hex4(jp, &cp) < 0)
		return -1;
	if (cp >= 0xDC00 && cp <= 0xDFFF)
		return json_fail(jp, "unpaired low surrogate");
	if (cp >= 0xD800 && cp <= 0xDBFF) {
		if (jp->end - jp->p < 2 || jp->p[0] != '\\' || jp->p[1] != 'u')
			return json_fail(jp, "unpaired high surrogate");
		jp->p += 2;
		if (json_hex4(jp, &low) < 0)
			return -1;
		if (low < 0xDC00 || low > 0xDFFF)
			return json_fail(jp, "unpaired high surrogate");
		cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
	}
	int n = u8_uctomb(buf, cp, (int)buf_len);
	if (n <= 0)
		return json_fail(jp, "invalid code point");
	str_append_n(out, buf, (size_t)n);
	return 0;
}

/* string = quotation-mark *char quotation-mark
 * char = unescaped / escape ...
 * unescaped = %x20-21 / %x23-5B / %x5D-10FFFF */
static int json_parse_string(struct json_parser *jp, struct str *out)
{
	const unsigned char *run;

	jp->p++;	/* the opening quote */
	for (;;) {
		run = jp->p;
		while (jp->p < jp->end && *jp->p != '"' && *jp->p != '\\' && *jp->p >= 0x20)
			jp->p++;
		if (jp->p > run) {
			if (u8_check(run, (size_t)(jp->p - run)) != NULL)
				return json_fail(jp, "string is not valid UTF-8");
			str_append_n(out, run, (size_t)(jp->p - run));
		}
		if (jp->p == jp->end)
			return json_fail(jp, "unterminated string");
		if (*jp->p == '"') {
			jp->p++;
			return 0;
		}
		if (*jp->p < 0x20)
			return json_fail(jp, "control character in string");
		jp->p++;
		if (json_parse_escape(jp, out) < 0)
			return -1;
	}
}

/* number = [ minus ] int [ frac ] [ exp ]
 * int = zero / ( digit1-9 *DIGIT )
 * frac = decimal-point 1*DIGIT
 * exp = e [ minus / plus ] 1*DIGIT */
static struct json_value *json_parse_number(struct json_parser *jp)
{
	const unsigned char *start = jp->p;
	char buf[64];
	size_t n;

	if (jp->p < jp->end && *jp->p == '-')
		jp->p++;
	if (jp->p == jp->end || *jp->p < '0' || *jp->p > '9') {
		json_fail(jp, "invalid number");
		return NULL;
	}
	if (*jp->p == '0') {
		jp->p++;
	} else {
		while (jp->p < jp->end && *jp->p >= '0' && *jp->p <= '9')
			jp->p++;
	}
	if (jp->p < jp->end && *jp->p == '.') {
		jp->p++;
		if (jp->p == jp->end || *jp->p < '0' || *jp->p > '9') {
			json_fail(jp, "invalid number");
			return NULL;
		}
		while (jp->p < jp->end && *jp->p >= '0' && *jp->p <= '9')
			jp->p++;
	}
	if (jp->p < jp->end && (*jp->p == 'e' || *jp->p == 'E')) {
		jp->p++;
		if (jp->p < jp->end && (*jp->p == '+' || *jp->p == '-'))
			jp->p++;
		if (jp->p == jp->end || *jp->p < '0' || *jp->p > '9') {
			json_fail(jp, "invalid number");
			return NULL;
		}
		while (jp->p < jp->end && *jp->p >= '0' && *jp->p <= '9')
			jp->p++;
	}
	n = (size_t)(jp->p - start);
	if (n >= sizeof(buf)) {
		json_fail(jp, "number too long");
		return NULL;
	}
	memcpy(buf, start, n);
	buf[n] = '\0';
	double number = strtod(buf, NULL);
	if (!isfinite(number)) {
		json_fail(jp, "number out of range");
		return NULL;
	}
	struct json_value *v = json_new(JSON_NUMBER);
	v->u.number = number;
	return v;
}

static bool json_literal(struct json_parser *jp, const char *word)
{
	size_t n = strlen(word);
	if ((size_t)(jp->end - jp->p) < n || memcmp(jp->p, word, n) != 0)
		return false;
	jp->p += n;
	return true;
}

/* array = begin-array [ value *( value-separator value ) ] end-array */
static struct json_value *json_parse_array(struct json_parser *jp)
{
	struct json_value *v = json_new(JSON_ARRAY), *item;
	size_t cap = 0;

	jp->p++;
	json_skip_ws(jp);
	if (jp->p < jp->end && *jp->p == ']') {
		jp->p++;
		return v;
	}
	for (;;) {
		if ((item = json_parse_value(jp)) == NULL)
			break;
		array_reserve((void **)&v->u.array.items, &cap, v->u.array.count + 1,
			      sizeof(*v->u.array.items));
		v->u.array.items[v->u.array.count++] = item;
		json_skip_ws(jp);
		if (jp->p < jp->end && *jp->p == ',') {
			jp->p++;
			continue;
		}
		if (jp->p < jp->end && *jp->p == ']') {
			jp->p++;
			return v;
		}
		json_fail(jp, "expected , or ] in array");
		break;
	}
	json_free(&v);
	return NULL;
}

/* object = begin-object [ member *( value-separator member ) ] end-object
 * member = string name-separator value */
static struct json_value *json_parse_object(struct json_parser *jp)
{
	struct json_value *v = json_new(JSON_OBJECT);
	size_t cap = 0;

	jp->p++;
	json_skip_ws(jp);
	if (jp->p < jp->end && *jp->p == '}') {
		jp->p++;
		return v;
	}
	for (;;) {
		struct str name = STR_INIT;
		struct json_value *item;

		json_skip_ws(jp);
		if (jp->p == jp->end || *jp->p != '"') {
			json_fail(jp, "expected a member name");
			break;
		}
		if (json_parse_string(jp, &name) < 0) {
			str_free(&name);
			break;
		}
		size_t name_len = name.len;
		char *name_str = str_steal(&name);
		if (strlen(name_str) != name_len) {
			free(name_str);
			json_fail(jp, "NUL in a member name");
			break;
		}
		if (json_object_get(v, name_str) != NULL) {
			free(name_str);
			json_fail(jp, "duplicate member name");
			break;
		}
		json_skip_ws(jp);
		if (jp->p == jp->end || *jp->p != ':') {
			free(name_str);
			json_fail(jp, "expected : after a member name");
			break;
		}
		jp->p++;
		if ((item = json_parse_value(jp)) == NULL) {
			free(name_str);
			break;
		}
		array_reserve((void **)&v->u.object.members, &cap, v->u.object.count + 1,
			      sizeof(*v->u.object.members));
		v->u.object.members[v->u.object.count].name = name_str;
		v->u.object.members[v->u.object.count].value = item;
		v->u.object.count++;
		json_skip_ws(jp);
		if (jp->p < jp->end && *jp->p == ',') {
			jp->p++;
			continue;
		}
		if (jp->p < jp->end && *jp->p == '}') {
			jp->p++;
			return v;
		}
		json_fail(jp, "expected , or } in object");
		break;
	}
	json_free(&v);
	return NULL;
}

/* value = false / null / true / object / array / number / string */
static struct json_value *json_parse_value(struct json_parser *jp)
{
	struct json_value *v = NULL;

	json_skip_ws(jp);
	if (jp->p == jp->end) {
		json_fail(jp, "unexpected end of input");
		return NULL;
	}
	switch (*jp->p) {
	case '{':
	case '[':
		if (jp->depth == jp->max_depth) {
			json_fail(jp, "nested too deeply");
			return NULL;
		}
		jp->depth++;
		v = *jp->p == '{' ? json_parse_object(jp) : json_parse_array(jp);
		jp->depth--;
		return v;
	case '"': {
		struct str s = STR_INIT;
		if (json_parse_string(jp, &s) < 0) {
			str_free(&s);
			return NULL;
		}
		v = json_new(JSON_STRING);
		v->u.string.len = s.len;
		v->u.string.data = str_steal(&s);
		return v;
	}
	case 't':
		if (json_literal(jp, "true"))
			return json_new(JSON_TRUE);
		break;
	case 'f':
		if (json_literal(jp, "false"))
			return json_new(JSON_FALSE);
		break;
	case 'n':
		if (json_literal(jp, "null"))
			return json_new(JSON_NULL);
		break;
	default:
		if (*jp->p == '-' || (*jp->p >= '0' && *jp->p <= '9'))
			return json_parse_number(jp);
		break;
	}
	json_fail(jp, "invalid value");
	return NULL;
}

int json_parse(const void *data, size_t len, size_t max_len, unsigned int max_depth,
	       struct json_value **value_r, const char **error_r)
{
	struct json_parser jp = {
		.p = data, .end = (const unsigned char *)data + len, .max_depth = max_depth,
	};
	struct json_value *v;

	*value_r = NULL;
	if (len > max_len) {
		*error_r = "JSON text too long";
		return -1;
	}
	if ((v = json_parse_value(&jp)) == NULL) {
		*error_r = jp.error;
		return -1;
	}
	json_skip_ws(&jp);
	if (jp.p != jp.end) {
		json_free(&v);
		*error_r = "data after the JSON text";
		return -1;
	}
	*value_r = v;
	return 0;
}

void json_free(struct json_value **vp)
{
	struct json_value *v = *vp;

	if (v == NULL)
		return;
	*vp = NULL;
	switch (v->type) {
	case JSON_STRING:
		free(v->u.string.data);
		break;
	case JSON_ARRAY:
		for (size_t i = 0; i < v->u.array.count; i++)
			json_free(&v->u.array.items[i]);
		free(v->u.array.items);
		break;
	case JSON_OBJECT:
		for (size_t i = 0; i < v->u.object.count; i++) {
			free(v->u.object.members[i].name);
			json_free(&v->u.object.members[i].value);
		}
		free(v->u.object.members);
		break;
	default:
		break;
	}
	free(v);
}

const struct json_value *json_object_get(const struct json_value *object, const char *name)
{
	if (object == NULL || object->type != JSON_OBJECT)
		return NULL;
	for (size_t i = 0; i < object->u.object.count; i++) {
		if (strcmp(object->u.object.members[i].name, name) == 0)
			return object->u.object.members[i].value;
	}
	return NULL;
}

const char *json_object_get_string(const struct json_value *object, const char *name)
{
	const struct json_value *v = json_object_get(object, name);

	if (v == NULL || v->type != JSON_STRING || strlen(v->u.string.data) != v->u.string.len)
		return NULL;
	return v->u.string.data;
}

void json_append_string(struct str *dest, const char *text)
{
	str_append_c(dest, '"');
	for (const unsigned char *p = (const unsigned char *)text; *p != '\0'; p++) {
		if (*p == '"' || *p == '\\') {
			str_append_c(dest, '\\');
			str_append_c(dest, (char)*p);
		} else if (*p < 0x20) {
			str_printfa(dest, "\\u%04x", *p);
		} else {
			str_append_c(dest, (char)*p);
		}
	}
	str_append_c(dest, '"');
}
