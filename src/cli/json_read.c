// SPDX-License-Identifier: MIT
/*
 * json_read.c - a small strict JSON reader (RFC 8259) for the files the
 * command reads back (simulate --config).  Everything the RFC refuses is
 * refused, with the line and column of the first byte that is wrong: no
 * trailing commas, comments, single quotes, bare words, leading zeros, NaN,
 * control characters or malformed UTF-8 in strings, nor a key twice in one
 * object.  Nesting is bounded (JSON_READ_MAX_DEPTH), so no input can run
 * the recursion out of stack; the fuzz target tests/fuzz/fuzz_config.c
 * feeds it.
 */
#include "cli.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define JSON_READ_MAX_DEPTH   64
#define JSON_READ_MAX_MEMBERS 1024   /* per object: the duplicate check is quadratic */

struct jr {
	const char *s, *end;
	const char *line_start;
	unsigned int line;
	char *err;
	size_t errlen;
	bool failed;
};

/* The first error wins: "LINE:COL: message". */
static void __attribute__((format(printf, 3, 4))) jr_error(struct jr *r, const char *at,
							    const char *fmt, ...)
{
	va_list ap;
	int n;

	if (r->failed)
		return;
	r->failed = true;
	n = snprintf(r->err, r->errlen, "line %u, column %u: ", r->line,
		     (unsigned int)(at - r->line_start) + 1);
	if (n < 0 || (size_t)n >= r->errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(r->err + n, r->errlen - (size_t)n, fmt, ap);
	va_end(ap);
}

static void jr_space(struct jr *r)
{
	for (; r->s < r->end; r->s++) {
		if (*r->s == '\n') {
			r->line++;
			r->line_start = r->s + 1;
		} else if (*r->s != ' ' && *r->s != '\t' && *r->s != '\r') {
			break;
		}
	}
}

/* What the reader found at p, for messages: "'x'", "the end of the file". */
static const char *jr_what(const struct jr *r, const char *p, char buf[32])
{
	unsigned char c;

	if (p >= r->end)
		return "the end of the file";
	c = (unsigned char)*p;
	if (c >= 0x20 && c < 0x7f)
		snprintf(buf, 32, "'%c'", c);
	else
		snprintf(buf, 32, "byte 0x%02x", c);
	return buf;
}

static struct json_node *jr_node(struct jr *r, enum json_type type, const char *at)
{
	struct json_node *n = calloc(1, sizeof(*n));

	if (!n) {
		jr_error(r, at, "out of memory");
		return NULL;
	}
	n->type = type;
	n->line = r->line;
	n->col = (unsigned int)(at - r->line_start) + 1;
	return n;
}

/* Append cp as UTF-8. */
static size_t jr_put_utf8(char *out, unsigned long cp)
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xc0 | (cp >> 6));
		out[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xe0 | (cp >> 12));
		out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		out[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (char)(0xf0 | (cp >> 18));
	out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	out[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/* Four hex digits at p, or -1. */
static long jr_hex4(const struct jr *r, const char *p)
{
	long v = 0;

	for (int i = 0; i < 4; i++, p++) {
		if (p >= r->end)
			return -1;
		v <<= 4;
		if (*p >= '0' && *p <= '9')
			v |= *p - '0';
		else if (*p >= 'a' && *p <= 'f')
			v |= *p - 'a' + 10;
		else if (*p >= 'A' && *p <= 'F')
			v |= *p - 'A' + 10;
		else
			return -1;
	}
	return v;
}

/* "\uXXXX", with its low surrogate when it is a high one; the code point or -1. */
static long jr_unicode_escape(struct jr *r, const char **pp)
{
	const char *p = *pp;
	long hi = jr_hex4(r, p + 2), lo;

	if (hi < 0) {
		jr_error(r, p, "\\u needs four hex digits");
		return -1;
	}
	p += 6;
	if (hi >= 0xdc00 && hi <= 0xdfff) {
		jr_error(r, *pp, "a low surrogate \\u%04lx with no high one before it", hi);
		return -1;
	}
	if (hi >= 0xd800 && hi <= 0xdbff) {
		lo = p + 1 < r->end && p[0] == '\\' && p[1] == 'u' ? jr_hex4(r, p + 2) : -1;
		if (lo < 0xdc00 || lo > 0xdfff) {
			jr_error(r, *pp, "a high surrogate \\u%04lx with no low one after it", hi);
			return -1;
		}
		p += 6;
		hi = 0x10000 + ((hi - 0xd800) << 10) + (lo - 0xdc00);
	}
	*pp = p;
	return hi;
}

/* Bytes of the well-formed UTF-8 sequence at p (RFC 3629: no overlong, no surrogates), or 0. */
static size_t jr_utf8_len(const struct jr *r, const char *p)
{
	const unsigned char *u = (const unsigned char *)p;
	size_t left = (size_t)(r->end - p), n;
	unsigned long cp;

	if (u[0] >= 0xc2 && u[0] <= 0xdf)
		n = 2, cp = u[0] & 0x1f;
	else if (u[0] >= 0xe0 && u[0] <= 0xef)
		n = 3, cp = u[0] & 0x0f;
	else if (u[0] >= 0xf0 && u[0] <= 0xf4)
		n = 4, cp = u[0] & 0x07;
	else
		return 0;
	if (left < n)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((u[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (u[i] & 0x3f);
	}
	if ((n == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (n == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return n;
}

static const char jr_escapes[] = "\"\"\\\\//b\bf\fn\nr\rt\t";

/* One escape at *pp into out; returns the bytes written or 0 after an error. */
static size_t jr_escape(struct jr *r, const char **pp, char *out)
{
	const char *p = *pp, *e;
	long cp;

	if (p + 1 < r->end && p[1] == 'u') {
		cp = jr_unicode_escape(r, pp);
		if (cp < 0)
			return 0;
		if (cp == 0) {
			jr_error(r, p, "\\u0000 in a string (the command's text cannot hold it)");
			return 0;
		}
		return jr_put_utf8(out, (unsigned long)cp);
	}
	for (e = jr_escapes; p + 1 < r->end && *e; e += 2) {
		if (p[1] == e[0]) {
			*out = e[1];
			*pp = p + 2;
			return 1;
		}
	}
	jr_error(r, p, "bad escape in a string (valid: \\\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX)");
	return 0;
}

/*
 * A string at r->s (its opening quote), decoded into a new buffer.  The
 * decoded text is never longer than the quoted one, so one allocation of
 * that length holds it.
 */
static char *jr_string(struct jr *r)
{
	const char *start = r->s, *p = r->s + 1, *q = p;
	char *out, *o;
	size_t n;

	while (q < r->end && *q != '"')
		q += *q == '\\' && q + 1 < r->end ? 2 : 1;
	out = malloc((size_t)(q - p) + 1);
	if (!out) {
		jr_error(r, start, "out of memory");
		return NULL;
	}
	for (o = out; p < r->end && *p != '"';) {
		unsigned char c = (unsigned char)*p;

		if (c < 0x20) {
			jr_error(r, p, "a control character (byte 0x%02x) in a string: escape it", c);
			goto fail;
		}
		if (c == '\\') {
			n = jr_escape(r, &p, o);
			if (!n)
				goto fail;
			o += n;
		} else if (c < 0x80) {
			*o++ = *p++;
		} else {
			n = jr_utf8_len(r, p);
			if (!n) {
				jr_error(r, p, "not UTF-8 (byte 0x%02x)", c);
				goto fail;
			}
			memcpy(o, p, n);
			o += n;
			p += n;
		}
	}
	if (p >= r->end) {
		jr_error(r, start, "a string with no closing quote");
		goto fail;
	}
	*o = '\0';
	r->s = p + 1;
	return out;
fail:
	free(out);
	return NULL;
}

static bool jr_digit(const struct jr *r, const char *p)
{
	return p < r->end && *p >= '0' && *p <= '9';
}

/* -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?, kept as written and as a double. */
static struct json_node *jr_number(struct jr *r)
{
	const char *start = r->s, *p = r->s;
	struct json_node *n;
	char buf[32];

	if (*p == '-')
		p++;
	if (!jr_digit(r, p)) {
		jr_error(r, p, "expected a digit, found %s", jr_what(r, p, buf));
		return NULL;
	}
	if (*p == '0' && jr_digit(r, p + 1)) {
		jr_error(r, p, "a number with a leading zero");
		return NULL;
	}
	while (jr_digit(r, p))
		p++;
	if (p < r->end && *p == '.') {
		if (!jr_digit(r, ++p)) {
			jr_error(r, p, "expected a digit after '.', found %s", jr_what(r, p, buf));
			return NULL;
		}
		while (jr_digit(r, p))
			p++;
	}
	if (p < r->end && (*p == 'e' || *p == 'E')) {
		p++;
		if (p < r->end && (*p == '+' || *p == '-'))
			p++;
		if (!jr_digit(r, p)) {
			jr_error(r, p, "expected a digit in the exponent, found %s", jr_what(r, p, buf));
			return NULL;
		}
		while (jr_digit(r, p))
			p++;
	}
	n = jr_node(r, JSON_NUMBER, start);
	if (!n)
		return NULL;
	n->text = strndup(start, (size_t)(p - start));
	if (!n->text) {
		free(n);
		jr_error(r, start, "out of memory");
		return NULL;
	}
	n->num = strtod(n->text, NULL);
	r->s = p;
	return n;
}

static struct json_node *jr_value(struct jr *r, int depth);

/* Whether obj already has a member named key. */
static bool jr_has_key(const struct json_node *obj, const char *key)
{
	for (const struct json_node *m = obj->child; m; m = m->next)
		if (!strcmp(m->key, key))
			return true;
	return false;
}

/* One "key": value of an object at r->s; the member (its position: the key's), or NULL. */
static struct json_node *jr_member(struct jr *r, struct json_node *obj, int depth)
{
	const char *at = r->s;
	unsigned int line = r->line, col = (unsigned int)(at - r->line_start) + 1;
	struct json_node *v;
	char buf[32], *key;

	if (at >= r->end || *at != '"') {
		jr_error(r, at, "expected a key in double quotes, found %s", jr_what(r, at, buf));
		return NULL;
	}
	key = jr_string(r);
	if (!key)
		return NULL;
	if (jr_has_key(obj, key)) {
		jr_error(r, at, "key \"%s\" appears twice in one object", key);
		free(key);
		return NULL;
	}
	jr_space(r);
	if (r->s >= r->end || *r->s != ':') {
		jr_error(r, r->s, "expected ':' after key \"%s\", found %s", key, jr_what(r, r->s, buf));
		free(key);
		return NULL;
	}
	r->s++;
	jr_space(r);
	v = jr_value(r, depth + 1);
	if (!v) {
		free(key);
		return NULL;
	}
	v->key = key;
	v->line = line;
	v->col = col;
	return v;
}

/* An object or an array at r->s (its opening bracket). */
static struct json_node *jr_container(struct jr *r, int depth)
{
	const bool obj = *r->s == '{';
	const char close = obj ? '}' : ']';
	struct json_node *n = jr_node(r, obj ? JSON_OBJECT : JSON_ARRAY, r->s), **tail;
	char buf[32];

	if (!n)
		return NULL;
	tail = &n->child;
	r->s++;
	jr_space(r);
	if (r->s < r->end && *r->s == close) {
		r->s++;
		return n;
	}
	for (unsigned int nr = 1;; nr++) {
		struct json_node *v;

		if (obj && nr > JSON_READ_MAX_MEMBERS) {
			jr_error(r, r->s, "an object with more than %d members", JSON_READ_MAX_MEMBERS);
			goto fail;
		}
		v = obj ? jr_member(r, n, depth) : jr_value(r, depth + 1);
		if (!v)
			goto fail;
		*tail = v;
		tail = &v->next;
		jr_space(r);
		if (r->s < r->end && *r->s == close) {
			r->s++;
			return n;
		}
		if (r->s >= r->end || *r->s != ',') {
			jr_error(r, r->s, "expected ',' or '%c', found %s", close, jr_what(r, r->s, buf));
			goto fail;
		}
		r->s++;
		jr_space(r);
		if (r->s < r->end && *r->s == close) {
			jr_error(r, r->s, "a ',' before '%c' (no trailing commas in JSON)", close);
			goto fail;
		}
	}
fail:
	json_node_free(n);
	return NULL;
}

static struct json_node *jr_literal(struct jr *r)
{
	static const struct { const char *word; enum json_type type; } lits[] = {
		{ "true", JSON_TRUE }, { "false", JSON_FALSE }, { "null", JSON_NULL },
	};
	char buf[32];

	for (unsigned int i = 0; i < sizeof(lits) / sizeof(lits[0]); i++) {
		size_t len = strlen(lits[i].word);
		struct json_node *n;

		if ((size_t)(r->end - r->s) < len || memcmp(r->s, lits[i].word, len))
			continue;
		n = jr_node(r, lits[i].type, r->s);
		r->s += n ? len : 0;
		return n;
	}
	jr_error(r, r->s, "expected a JSON value, found %s", jr_what(r, r->s, buf));
	return NULL;
}

static struct json_node *jr_value(struct jr *r, int depth)
{
	struct json_node *n;
	const char *at = r->s;

	if (depth > JSON_READ_MAX_DEPTH) {
		jr_error(r, at, "nested deeper than %d", JSON_READ_MAX_DEPTH);
		return NULL;
	}
	if (at >= r->end)
		return jr_literal(r);
	switch (*at) {
	case '{':
	case '[':
		return jr_container(r, depth);
	case '"':
		n = jr_node(r, JSON_STRING, at);
		if (n && !(n->text = jr_string(r))) {
			free(n);
			n = NULL;
		}
		return n;
	default:
		if (*at == '-' || (*at >= '0' && *at <= '9'))
			return jr_number(r);
		return jr_literal(r);
	}
}

int json_parse(const char *text, size_t len, struct json_node **out, char *err, size_t errlen)
{
	struct jr r = { .s = text, .end = text + len, .line_start = text, .line = 1,
			.err = err, .errlen = errlen };
	struct json_node *n;
	char buf[32];

	*out = NULL;
	if (errlen)
		err[0] = '\0';
	/* A UTF-8 byte order mark is not JSON text (RFC 8259, 8.1), but editors write it. */
	if (len >= 3 && !memcmp(text, "\xef\xbb\xbf", 3))
		r.s = r.line_start = text + 3;
	jr_space(&r);
	n = jr_value(&r, 1);
	if (!n)
		return SNP_EINVAL;
	jr_space(&r);
	if (r.s < r.end) {
		jr_error(&r, r.s, "%s after the JSON value", jr_what(&r, r.s, buf));
		json_node_free(n);
		return SNP_EINVAL;
	}
	*out = n;
	return 0;
}

void json_node_free(struct json_node *n)
{
	while (n) {
		struct json_node *next = n->next;

		json_node_free(n->child);
		free(n->key);
		free(n->text);
		free(n);
		n = next;
	}
}

const struct json_node *json_member(const struct json_node *obj, const char *key)
{
	if (!obj || obj->type != JSON_OBJECT)
		return NULL;
	for (const struct json_node *m = obj->child; m; m = m->next)
		if (!strcmp(m->key, key))
			return m;
	return NULL;
}

const char *json_type_name(enum json_type t)
{
	static const char *const names[] = {
		[JSON_NULL] = "null", [JSON_FALSE] = "false", [JSON_TRUE] = "true",
		[JSON_NUMBER] = "a number", [JSON_STRING] = "a string", [JSON_ARRAY] = "an array",
		[JSON_OBJECT] = "an object",
	};

	return (unsigned int)t <= JSON_OBJECT ? names[t] : "?";
}

int cli_json_error(const char *cmd, const char *flag, const char *path, const struct json_node *at,
		   const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (at)
		return cli_usage_error(cmd, "%s%s, line %u, column %u: %s", flag, path, at->line,
				       at->col, msg);
	return cli_usage_error(cmd, "%s%s: %s", flag, path, msg);
}
