// SPDX-License-Identifier: MIT
/*
 * tick_report.c - the tick in real time, as text and JSON (tick_report.h).
 */
#include "tick_report.h"

#include <snpsafe/trace.h>

#include <inttypes.h>
#include <stdio.h>

static uint64_t region_all(const struct sim_replay_region_stores *s)
{
	uint64_t all = 0;

	for (unsigned int l = 0; l < 4; l++)
		all += s->by_level[l];
	return all;
}

void cli_region_print_text(const struct sim_replay_region_stores *s)
{
	const double sec = sim_replay_region_seconds(s, false);

	printf("stores into VMRUN regions (2MB regions holding an in-use page): %" PRIu64 " in %.3f s "
	       "(first VMRUN to last #VMEXIT; a guest ran in %.3f s of it); leaf:", region_all(s), sec,
	       sim_replay_region_seconds(s, true));
	for (unsigned int l = 0; l < 4; l++)
		if (s->by_level[l])
			printf(" %s %" PRIu64, snp_trace_level_name(l), s->by_level[l]);
	printf("\n  through a hugepage leaf, proven..possible: %" PRIu64 "..%" PRIu64,
	       sim_replay_region_huge(s, SIM_REPLAY_PROVEN), sim_replay_region_huge(s, SIM_REPLAY_POSSIBLE));
	if (sec > 0)
		printf(", %.1f..%.1f per second", sim_replay_region_rate(s, SIM_REPLAY_PROVEN, false),
		       sim_replay_region_rate(s, SIM_REPLAY_POSSIBLE, false));
	else
		printf(", per second n/a (no guest ran)");
	printf("\n");
}

static void json_bounds(struct json *j, const char *key, const struct sim_replay_region_stores *s,
			int guest)
{
	json_obj_begin(j, key);
	for (unsigned int b = 0; b < SIM_REPLAY_NR_BOUNDS; b++)
		if (guest < 0)
			json_u64(j, sim_replay_bound_name(b), sim_replay_region_huge(s, b));
		else
			json_double(j, sim_replay_bound_name(b), sim_replay_region_rate(s, b, guest));
	json_obj_end(j);
}

void cli_region_json(struct json *j, const struct sim_replay_region_stores *s)
{
	json_obj_begin(j, "vmrun_region_stores");
	json_double(j, "seconds", sim_replay_region_seconds(s, false));
	json_double(j, "guest_seconds", sim_replay_region_seconds(s, true));
	json_u64(j, "stores", region_all(s));
	json_obj_begin(j, "by_leaf");
	for (unsigned int l = 0; l < 4; l++)
		json_u64(j, snp_trace_level_name(l), s->by_level[l]);
	json_obj_end(j);
	json_bounds(j, "huge", s, -1);
	json_bounds(j, "huge_per_second", s, 0);
	json_bounds(j, "huge_per_guest_second", s, 1);
	json_obj_end(j);
}
