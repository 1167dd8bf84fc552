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

/*
 * The simulate command line that config, simulate --json's "config", records,
 * then extra, into buf: each key one flag, each knob one --knob.  The README
 * promises that this command prints the same output again.  A config that
 * does not fit buf fails the case.
 */
static inline const char *cli_sim_config_args(const struct jl *c, const char *extra,
					      char *buf, size_t len)
{
	const struct jl *strat = jl_get(c, "strategies"), *knobs = jl_get(c, "knobs");
	size_t off;

	if (!strat || strat->type != JL_ARR || !knobs || knobs->type != JL_OBJ) {
		ktap_fail(__FILE__, __LINE__, "config lacks strategies or knobs");
		ktap_abort_case();
	}
	off = (size_t)snprintf(buf, len, "simulate --mem %.0f --cpus %.0f --vms %.0f --vcpus %.0f "
			       "--mix %s --age %.0f --ticks %.0f --trials %.0f --threads %.0f "
			       "--strategy %s --profile %s --seed %s --kernel %s --kvm %s --layout %s "
			       "--vmsave-marks %s --vmsave-window %.17g --clone %s --age-share %.0f "
			       "--avic %s --guest %s",
			       num(c, "mem_bytes"), num(c, "cpus"), num(c, "vms"), num(c, "vcpus"),
			       str(c, "mix"), num(c, "age_pct"), num(c, "ticks"), num(c, "trials"),
			       num(c, "threads"), jl_len(strat) == 1 ? jl_at(strat, 0)->str : "all",
			       str(c, "profile"), str(c, "seed"), str(c, "kernel"), str(c, "kvm"),
			       str(c, "layout"), str(c, "vmsave_marks"), num(c, "vmsave_window"),
			       str(c, "clone"), num(c, "age_share"), str(c, "avic"), str(c, "guest"));
	for (const struct jl *k = knobs->child; k && off < len; k = k->next)
		off += (size_t)snprintf(buf + off, len - off, " --knob %s=%s", k->key,
					k->type == JL_STR ? k->str : "(not a string)");
	if (off < len)
		off += (size_t)snprintf(buf + off, len - off, "%s", extra);
	if (off >= len) {
		ktap_fail(__FILE__, __LINE__, "the rerun's flags do not fit %zu bytes", len);
		ktap_abort_case();
	}
	return buf;
}

/* simulate --json's first result (results[0]); a run without one fails and ends the case. */
static inline const struct jl *sim_result0(const struct jl *doc)
{
	const struct jl *r = jl_at(jl_get(doc, "results"), 0);

	if (!r) {
		ktap_fail(__FILE__, __LINE__, "no results[0]");
		ktap_abort_case();
	}
	return r;
}

#endif
