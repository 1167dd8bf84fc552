// SPDX-License-Identifier: MIT
/*
 * profile_opts.c - the --profile and --knob options of the commands that
 * run the model.  Knobs are checked when parsed and applied after the
 * profile, so "--knob X=1 --profile fixed" keeps the knob.
 */
#include "cli.h"

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

int cli_profile_opts_add_knob(struct cli_profile_opts *po, const char *cmd, const char *v)
{
	struct snp_profile scratch = snp_profile_early_snp;

	if (snp_profile_set_knob(&scratch, v))
		return SNP_EINVAL;
	if (po->nr_knobs == CLI_MAX_KNOBS)
		return cli_usage_error(cmd, "more than %d --knob options", CLI_MAX_KNOBS);
	po->knobs[po->nr_knobs++] = v;
	return 0;
}

const struct snp_profile *cli_profile_opts_apply(struct cli_profile_opts *po)
{
	for (unsigned i = 0; i < po->nr_knobs; i++)
		snp_profile_set_knob(&po->profile, po->knobs[i]);   /* checked when added */
	return &po->profile;
}
