// SPDX-License-Identifier: MIT
/*
 * json.c - a small streaming JSON writer (RFC 8259) for --json output.
 * Strings are escaped; non-finite numbers become null, which JSON lacks.
 */
#include "cli.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>

void json_init(struct json *j, FILE *f)
{
	j->f = f;
	j->depth = 0;
	j->need_comma[0] = false;
}

static void json_escape(FILE *f, const char *s)
{
	fputc('"', f);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		switch (*p) {
		case '"':  fputs("\\\"", f); break;
		case '\\': fputs("\\\\", f); break;
		case '\n': fputs("\\n", f); break;
		case '\r': fputs("\\r", f); break;
		case '\t': fputs("\\t", f); break;
		default:
			if (*p < 0x20)
				fprintf(f, "\\u%04x", *p);
			else
				fputc(*p, f);
		}
	}
	fputc('"', f);
}

/* Comma and key before a value at the current depth. */
static void json_key(struct json *j, const char *key)
{
	if (j->need_comma[j->depth])
		fputc(',', j->f);
	j->need_comma[j->depth] = true;
	if (key) {
		json_escape(j->f, key);
		fputc(':', j->f);
	}
}

static void json_open(struct json *j, const char *key, char c)
{
	json_key(j, key);
	fputc(c, j->f);
	if (j->depth + 1 < JSON_MAX_DEPTH)
		j->depth++;
	j->need_comma[j->depth] = false;
}

static void json_close(struct json *j, char c)
{
	fputc(c, j->f);
	if (j->depth > 0)
		j->depth--;
}

void json_obj_begin(struct json *j, const char *key) { json_open(j, key, '{'); }
void json_obj_end(struct json *j) { json_close(j, '}'); }
void json_arr_begin(struct json *j, const char *key) { json_open(j, key, '['); }
void json_arr_end(struct json *j) { json_close(j, ']'); }

void json_str(struct json *j, const char *key, const char *v)
{
	json_key(j, key);
	if (v)
		json_escape(j->f, v);
	else
		fputs("null", j->f);
}

/* Integers up to 2^53 are exact in an IEEE double, which is what most JSON readers use. */
#define JSON_MAX_EXACT (UINT64_C(1) << 53)

void json_u64(struct json *j, const char *key, uint64_t v)
{
	json_key(j, key);
	fprintf(j->f, v > JSON_MAX_EXACT ? "\"%" PRIu64 "\"" : "%" PRIu64, v);
}

void json_hex(struct json *j, const char *key, uint64_t v)
{
	json_key(j, key);
	fprintf(j->f, "\"0x%" PRIx64 "\"", v);
}

void json_u64_str(struct json *j, const char *key, uint64_t v)
{
	json_key(j, key);
	fprintf(j->f, "\"%" PRIu64 "\"", v);
}

void json_i64(struct json *j, const char *key, int64_t v)
{
	json_key(j, key);
	fprintf(j->f, "%" PRId64, v);
}

void json_double(struct json *j, const char *key, double v)
{
	json_key(j, key);
	if (isfinite(v))
		fprintf(j->f, "%.6g", v);
	else
		fputs("null", j->f);
}

void json_double_exact(struct json *j, const char *key, double v)
{
	char buf[32];

	json_key(j, key);
	if (!isfinite(v)) {
		fputs("null", j->f);
		return;
	}
	/* From 6 digits up, so a value %.6g writes exactly is written as json_double() writes it. */
	for (int prec = 6; prec <= 17; prec++) {
		snprintf(buf, sizeof(buf), "%.*g", prec, v);
		if (strtod(buf, NULL) == v)
			break;
	}
	fputs(buf, j->f);
}

void json_bool(struct json *j, const char *key, bool v)
{
	json_key(j, key);
	fputs(v ? "true" : "false", j->f);
}

void json_finish(struct json *j)
{
	fputc('\n', j->f);
	fflush(j->f);
}
