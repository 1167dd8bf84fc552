/* SPDX-License-Identifier: MIT */
/*
 * repro_svg.h - the picture of `snpsafe repro --svg`: the runs shown side by
 * side (repro_svg.c).
 */
#ifndef SNPSAFE_CLI_REPRO_SVG_H
#define SNPSAFE_CLI_REPRO_SVG_H

#include <snpsafe/sim.h>

#include <stdio.h>

/* Draw @nr runs (1 to 3, in the order shown), a panel each, to @f; @knobs as in the text. */
void cli_repro_write_svg(FILE *f, const struct sim_repro_result *runs, unsigned int nr,
			 const char *knobs);

#endif
