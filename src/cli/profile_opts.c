// SPDX-License-Identifier: MIT
/*
 * profile_opts.c - the --profile and --knob options of the commands that
 * run the model.  Knobs are checked when parsed and applied after the
 * profile, so "--knob X=1 --profile fixed" keeps the knob; the output says
 * which knobs differ from the preset, and --help lists them all.  --kvm's
 * help is here too: repro and simulate both take it.
 */
#include "cli.h"

#include <snpsafe/kvm.h>
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
	const struct snp_knob *k;
	size_t off = 0;

	buf[0] = '\0';
	snp_for_each_knob(k)
		if (off < len)
			off += (size_t)snprintf(buf + off, len - off, "%s%s", off ? ", " : "", k->name);
	return buf;
}

int cli_profile_opts_add_knob(struct cli_profile_opts *po, const char *cmd, const char *v)
{
	const char *eq = strchr(v, '=');
	struct snp_profile scratch = snp_profile_early_snp;
	char names[512], name[48], values[128];
	size_t n = eq ? (size_t)(eq - v) : strlen(v);
	const struct snp_knob *k;

	if (n >= sizeof(name))
		n = sizeof(name) - 1;
	memcpy(name, v, n);
	name[n] = '\0';
	k = snp_knob_find(name);
	if (!k && (k = snp_knob_find_renamed(name)))
		return cli_usage_error(cmd, "knob '%s' in --knob %s is now named '%s': --knob %s=%s",
				       name, v, k->name, k->name, eq && eq[1] ? eq + 1 : "VALUE");
	if (!k)
		return cli_usage_error(cmd, "unknown knob '%s' in --knob %s (knobs: %s)", name, v,
				       knob_list(names, sizeof(names)));
	snp_knob_values(k, values, sizeof(values));
	if (!eq)
		return cli_usage_error(cmd, "--knob %s needs a value: %s=VALUE (values: %s)", v,
				       name, values);
	if (!eq[1])
		return cli_usage_error(cmd, "empty value for knob '%s' in --knob %s (values: %s)",
				       name, v, values);
	if (snp_knob_set(&scratch, k, eq + 1))
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

/* The preset p was made from: what its knobs are compared with. */
static const struct snp_profile *preset_of(const struct snp_profile *p)
{
	const struct snp_profile *preset = snp_profile_by_name(p->name);

	return preset ? preset : &snp_profile_early_snp;
}

/*
 * Whether knob k of p differs from p's preset; its value in have.  The
 * header, JSON and help all decide through this and snp_knob_get(), over
 * snp_knobs[], so what one prints the others print too.
 */
static bool knob_differs(const struct snp_profile *p, const struct snp_knob *k,
			 char *have, size_t len)
{
	char def[SNP_KNOB_TEXT_MAX];

	snp_knob_get(p, k, have, len);
	snp_knob_get(preset_of(p), k, def, sizeof(def));
	return strcmp(have, def) != 0;
}

unsigned int cli_profile_knobs_text(const struct snp_profile *p, char *buf, size_t len)
{
	const struct snp_knob *k;
	unsigned int n = 0;
	size_t off = 0;

	buf[0] = '\0';
	snp_for_each_knob(k) {
		char have[SNP_KNOB_TEXT_MAX];

		if (!knob_differs(p, k, have, sizeof(have)))
			continue;
		n++;
		if (off < len)
			off += (size_t)snprintf(buf + off, len - off, "%s%s=%s", off ? ", " : "",
						k->name, have);
	}
	return n;
}

void cli_json_knobs(struct json *j, const struct snp_profile *p)
{
	const struct snp_knob *k;

	json_obj_begin(j, "knobs");
	snp_for_each_knob(k) {
		char have[SNP_KNOB_TEXT_MAX];

		if (knob_differs(p, k, have, sizeof(have)))
			json_str(j, k->name, have);
	}
	json_obj_end(j);
}

/* Knob k's value in the preset numbered i of snp_profile_preset_names[]. */
static const char *preset_knob(unsigned int i, const struct snp_knob *k, char *buf, size_t len)
{
	return snp_knob_get(snp_profile_by_name(snp_profile_preset_names[i]), k, buf, len);
}

static bool presets_agree(unsigned int i, unsigned int m, const struct snp_knob *k)
{
	char a[SNP_KNOB_TEXT_MAX], b[SNP_KNOB_TEXT_MAX];

	return !strcmp(preset_knob(i, k, a, sizeof(a)), preset_knob(m, k, b, sizeof(b)));
}

/*
 * A knob's defaults, read from the presets themselves: "on" when they all
 * agree, else each value with its presets, "off (early-snp, fixed), on
 * (hv-inuse-wr)": a knob one preset sets otherwise never shows one default.
 */
static void print_knob_defaults(const struct snp_knob *k)
{
	const char *const *names = snp_profile_preset_names;
	char v[SNP_KNOB_TEXT_MAX];
	bool agree = true;

	for (unsigned int i = 1; names[i]; i++)
		agree &= presets_agree(0, i, k);
	printf("%-29sdefault: %s", "", preset_knob(0, k, v, sizeof(v)));
	for (unsigned int i = 0; !agree && names[i]; i++) {
		unsigned int first = 0;

		while (!presets_agree(first, i, k))
			first++;
		if (first < i)
			continue;   /* listed with an earlier preset of the same value */
		if (i)
			printf(", %s", preset_knob(i, k, v, sizeof(v)));
		for (unsigned int m = i, nr = 0; names[m]; m++)
			if (presets_agree(i, m, k))
				printf("%s%s", nr++ ? ", " : " (", names[m]);
		printf(")");
	}
	printf("\n");
}

void cli_print_knob_help(void)
{
	const struct snp_knob *k;

	printf("\nknobs (--knob NAME=VALUE; applied after --profile, whatever the order;\n"
	       "docs/MODEL.md gives each one's reason):\n");
	snp_for_each_knob(k) {
		char values[128];

		printf("  %-26s %s\n", k->name, snp_knob_values(k, values, sizeof(values)));
		printf("%-29s%s\n", "", k->summary);
		print_knob_defaults(k);
	}
}

static const char *kvm_name(unsigned int i)
{
	return kvm_version_name((enum kvm_version)i);
}

void cli_kvm_option_text(unsigned int dflt, char *help, size_t hlen, char *valid, size_t vlen)
{
	cli_join_names(kvm_name, KVM_NR_VERSIONS, valid, vlen);
	snprintf(help, hlen, "KVM's SNP-safe call sites: %s (docs/MODEL.md \"Kernels\"; default %s)",
		 valid, kvm_name(dflt));
}
