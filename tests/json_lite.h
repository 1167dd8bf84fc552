/* SPDX-License-Identifier: MIT */
/*
 * json_lite.h - a strict little JSON (RFC 8259) parser for tests that check
 * the command's --json output: the whole text must be exactly one value
 * (plus white space), and the tree can be walked by key and index.
 * Header-only; one tree per call; free with jl_free().
 */
#ifndef SNPSAFE_TESTS_JSON_LITE_H
#define SNPSAFE_TESTS_JSON_LITE_H

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

enum jl_type { JL_NULL, JL_BOOL, JL_NUM, JL_STR, JL_ARR, JL_OBJ };

struct jl {
	enum jl_type type;
	double num;
	int boolean;
	char *str;            /* JL_STR value */
	char *key;            /* member name inside an object */
	struct jl *child;     /* first element or member */
	struct jl *next;      /* next sibling */
};

struct jl_parser {
	const char *p;
	int depth;
};

static struct jl *jl_value(struct jl_parser *ps);

static void jl_ws(struct jl_parser *ps)
{
	while (*ps->p == ' ' || *ps->p == '\n' || *ps->p == '\r' || *ps->p == '\t')
		ps->p++;
}

static void jl_free(struct jl *v)
{
	while (v) {
		struct jl *n = v->next;

		jl_free(v->child);
		free(v->str);
		free(v->key);
		free(v);
		v = n;
	}
}

static char *jl_string(struct jl_parser *ps)
{
	size_t cap = 16, len = 0;
	char *out;

	if (*ps->p != '"')
		return NULL;
	ps->p++;
	out = malloc(cap);
	while (out && *ps->p != '"') {
		char c = *ps->p++;

		if ((unsigned char)c < 0x20) {
			free(out);
			return NULL;
		}
		if (c == '\\') {
			c = *ps->p++;
			switch (c) {
			case '"': case '\\': case '/': break;
			case 'n': c = '\n'; break;
			case 't': c = '\t'; break;
			case 'r': c = '\r'; break;
			case 'b': c = '\b'; break;
			case 'f': c = '\f'; break;
			case 'u':
				for (int i = 0; i < 4; i++)
					if (!isxdigit((unsigned char)*ps->p++)) {
						free(out);
						return NULL;
					}
				c = '?';
				break;
			default:
				free(out);
				return NULL;
			}
		}
		if (len + 2 > cap) {
			char *n = realloc(out, cap *= 2);

			if (!n) {
				free(out);
				return NULL;
			}
			out = n;
		}
		out[len++] = c;
	}
	if (!out)
		return NULL;
	ps->p++;
	out[len] = '\0';
	return out;
}

static struct jl *jl_new(enum jl_type t)
{
	struct jl *v = calloc(1, sizeof(*v));

	if (v)
		v->type = t;
	return v;
}

static struct jl *jl_container(struct jl_parser *ps, int obj)
{
	struct jl *v = jl_new(obj ? JL_OBJ : JL_ARR), **tail;

	if (!v || ++ps->depth > 64) {
		jl_free(v);
		return NULL;
	}
	tail = &v->child;
	ps->p++;
	jl_ws(ps);
	if (*ps->p == (obj ? '}' : ']')) {
		ps->p++;
		ps->depth--;
		return v;
	}
	for (;;) {
		char *key = NULL;
		struct jl *e;

		jl_ws(ps);
		if (obj) {
			key = jl_string(ps);
			jl_ws(ps);
			if (!key || *ps->p++ != ':') {
				free(key);
				jl_free(v);
				return NULL;
			}
		}
		e = jl_value(ps);
		if (!e) {
			free(key);
			jl_free(v);
			return NULL;
		}
		e->key = key;
		*tail = e;
		tail = &e->next;
		jl_ws(ps);
		if (*ps->p == ',') {
			ps->p++;
			continue;
		}
		if (*ps->p++ != (obj ? '}' : ']')) {
			jl_free(v);
			return NULL;
		}
		ps->depth--;
		return v;
	}
}

static struct jl *jl_value(struct jl_parser *ps)
{
	struct jl *v;

	jl_ws(ps);
	switch (*ps->p) {
	case '{': return jl_container(ps, 1);
	case '[': return jl_container(ps, 0);
	case '"':
		v = jl_new(JL_STR);
		if (v && !(v->str = jl_string(ps))) {
			free(v);
			v = NULL;
		}
		return v;
	case 't': case 'f': case 'n': {
		static const char *const lit[] = { "true", "false", "null" };

		for (int i = 0; i < 3; i++)
			if (!strncmp(ps->p, lit[i], strlen(lit[i]))) {
				ps->p += strlen(lit[i]);
				v = jl_new(i == 2 ? JL_NULL : JL_BOOL);
				if (v)
					v->boolean = i == 0;
				return v;
			}
		return NULL;
	}
	default: {
		char *end;
		const char *s = ps->p;

		if (*s == '-')
			s++;
		if (!isdigit((unsigned char)*s) || (s[0] == '0' && isdigit((unsigned char)s[1])))
			return NULL;
		v = jl_new(JL_NUM);
		if (!v)
			return NULL;
		v->num = strtod(ps->p, &end);
		ps->p = end;
		return v;
	}
	}
}

/* Parse text that must hold exactly one JSON value; NULL if it does not. */
static struct jl *jl_parse(const char *text)
{
	struct jl_parser ps = { text, 0 };
	struct jl *v = jl_value(&ps);

	if (!v)
		return NULL;
	jl_ws(&ps);
	if (*ps.p) {
		jl_free(v);
		return NULL;
	}
	return v;
}

/* Member key of object o, or NULL. */
static struct jl *jl_get(const struct jl *o, const char *key)
{
	if (!o || o->type != JL_OBJ)
		return NULL;
	for (struct jl *m = o->child; m; m = m->next)
		if (!strcmp(m->key, key))
			return m;
	return NULL;
}

/* Element i of array a, or NULL; and the length of a. */
static struct jl *jl_at(const struct jl *a, unsigned int i)
{
	struct jl *e = a && a->type == JL_ARR ? a->child : NULL;

	while (e && i--)
		e = e->next;
	return e;
}

static unsigned int jl_len(const struct jl *a)
{
	unsigned int n = 0;

	for (struct jl *e = a && (a->type == JL_ARR || a->type == JL_OBJ) ? a->child : NULL; e; e = e->next)
		n++;
	return n;
}

#endif
