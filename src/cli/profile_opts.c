// SPDX-License-Identifier: MIT
/*
 * profile_opts.c - the --profile and --knob options of the commands that
 * run the model.  Knobs are checked when parsed and applied after the
 * profile, so "--knob X=1 --profile fixed" keeps the knob; the output says
 * which knobs differ from the preset, and --help lists them all.
 */
#include "cli.h"

#include <snpsafe/profile.h>

#include <stdio.h>
#include <string.h>

void cli_profile_opts_init(struct cli_profile_opts *po)
{
	po->profile = snp_profile_early_snp;
	po->nr_knobs = 0;
}

int cli_profile_opts_set_profile(struct cli_profile_opts *po, const char *v)
{
	const struct snp_profile *p = snp_profile_by_name(v);

	if (!p)
		return SNP_EINVAL;
	po->profile = *p;
	return 0;
}

static const char *knob_list(char *buf, size_t len)
{
	size_t off = 0;

	buf[0] = '\0';
	for (const char *const *n = snp_profile_knob_names; *n && off < len; n++)
		off += (size_t)snprintf(buf + off, len - off, "%s%s", off ? ", " : "", *n);
	return buf;
}

int cli_profile_opts_add_knob(struct cli_profile_opts *po, const char *cmd, const char *v)
{
	const char *eq = strchr(v, '=');
	struct snp_profile scratch = snp_profile_early_snp;
	char names[512], name[48];
	size_t n = eq ? (size_t)(eq - v) : strlen(v);
	const char *values;

	if (n >= sizeof(name))
		n = sizeof(name) - 1;
	memcpy(name, v, n);
	name[n] = '\0';
	values = snp_profile_knob_values(name);
	if (!values)
		return cli_usage_error(cmd, "unknown knob '%s' in --knob %s (knobs: %s)", name, v,
				       knob_list(names, sizeof(names)));
	if (!eq)
		return cli_usage_error(cmd, "--knob %s needs a value: %s=VALUE (values: %s)", v,
				       name, values);
	if (!eq[1])
		return cli_usage_error(cmd, "empty value for knob '%s' in --knob %s (values: %s)",
				       name, v, values);
	if (snp_profile_set_knob(&scratch, v))
		return cli_usage_error(cmd, "bad value '%s' for knob '%s' in --knob %s (values: %s)",
				       eq + 1, name, v, values);
	if (po->nr_knobs == CLI_MAX_KNOBS)
		return cli_usage_error(cmd, "more than %d --knob options", CLI_MAX_KNOBS);
	po->knobs[po->nr_knobs++] = v;
	return 0;
}

const struct snp_profile *cli_profile_opts_apply(struct cli_profile_opts *po)
{
	/* Each was checked when added, on this very profile: a failure here is a bug. */
	for (unsigned int i = 0; i < po->nr_knobs; i++)
		if (snp_profile_set_knob(&po->profile, po->knobs[i]))
			return NULL;
	return &po->profile;
}

/* A knob's value as text, or "?" when p has no such knob (never for the built-in names). */
static const char *knob_text(const struct snp_profile *p, const char *k, char *buf, size_t len)
{
	if (snp_profile_get_knob(p, k, buf, len))
		snprintf(buf, len, "?");
	return buf;
}

/* Whether knob k of p differs from p's preset; its value in have. */
static bool knob_differs(const struct snp_profile *p, const char *k, char *have, size_t len)
{
	const struct snp_profile *preset = snp_profile_by_name(p->name);
	char def[64];

	knob_text(p, k, have, len);
	knob_text(preset ? preset : &snp_profile_early_snp, k, def, sizeof(def));
	return strcmp(have, def) != 0;
}

unsigned int cli_profile_knobs_text(const struct snp_profile *p, char *buf, size_t len)
{
	unsigned int n = 0;
	size_t off = 0;

	buf[0] = '\0';
	for (const char *const *k = snp_profile_knob_names; *k; k++) {
		char have[64];

		if (!knob_differs(p, *k, have, sizeof(have)))
			continue;
		n++;
		if (off < len)
			off += (size_t)snprintf(buf + off, len - off, "%s%s=%s", off ? ", " : "", *k, have);
	}
	return n;
}

void cli_json_knobs(struct json *j, const struct snp_profile *p)
{
	json_obj_begin(j, "knobs");
	for (const char *const *k = snp_profile_knob_names; *k; k++) {
		char have[64];

		if (knob_differs(p, *k, have, sizeof(have)))
			json_str(j, *k, have);
	}
	json_obj_end(j);
}

void cli_print_knob_help(void)
{
	printf("\nknobs (--knob NAME=VALUE; applied after --profile, whatever the order;\n"
	       "docs/MODEL.md gives each one's reason):\n");
	for (const char *const *k = snp_profile_knob_names; *k; k++) {
		char e[64], f[64];

		knob_text(&snp_profile_early_snp, *k, e, sizeof(e));
		knob_text(&snp_profile_fixed, *k, f, sizeof(f));
		printf("  %-26s %s\n  %-26s   default: %s%s%s\n", *k, snp_profile_knob_values(*k), "",
		       e, strcmp(e, f) ? " (early-snp), fixed: " : "", strcmp(e, f) ? f : "");
	}
}
