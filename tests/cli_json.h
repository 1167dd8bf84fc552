/* SPDX-License-Identifier: MIT */
/*
 * cli_json.h - run the built command with --json and read its one JSON
 * object: the run must exit 0 and print a document, and a key must have
 * the type the JSON contract gives it.
 */
#ifndef SNPSAFE_TESTS_CLI_JSON_H
#define SNPSAFE_TESTS_CLI_JSON_H

#include "cli_util.h"
#include "json_lite.h"

#include <math.h>

static inline struct jl *run_json(const char *args)
{
	struct cli_run r = cli_run(args);
	struct jl *doc = jl_parse(r.out);

	if (r.status != 0 || !doc)
		ktap_fail(__FILE__, __LINE__, "'snpsafe %s': status %d, stdout %s JSON; stderr: %s",
			  args, r.status, doc ? "is" : "is not", r.err);
	cli_run_free(&r);
	if (!doc)
		ktap_abort_case();
	return doc;
}

static inline double num(const struct jl *o, const char *key)
{
	const struct jl *v = jl_get(o, key);

	if (!v || v->type != JL_NUM) {
		ktap_fail(__FILE__, __LINE__, "key '%s' missing or not a number", key);
		return NAN;
	}
	return v->num;
}

static inline const char *str(const struct jl *o, const char *key)
{
	const struct jl *v = jl_get(o, key);

	if (!v || v->type != JL_STR) {
		ktap_fail(__FILE__, __LINE__, "key '%s' missing or not a string", key);
		return "";
	}
	return v->str;
}

#endif
