/* SPDX-License-Identifier: MIT */
/*
 * repro_svg.h - the picture of `snpsafe repro --svg`: the three runs side by
 * side (repro_svg.c).
 */
#ifndef SNPSAFE_CLI_REPRO_SVG_H
#define SNPSAFE_CLI_REPRO_SVG_H

#include <snpsafe/sim.h>

#include <stdio.h>

#define SIM_REPRO_SVG_PANELS SNP_ALLOC_NR_STRATEGIES

/* Draw @runs (naive, upstream, sieve, in that order) to @f; @knobs as in the text. */
void cli_repro_write_svg(FILE *f, const struct sim_repro_result runs[SIM_REPRO_SVG_PANELS],
			 const char *knobs);

#endif
