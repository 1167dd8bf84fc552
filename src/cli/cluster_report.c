// SPDX-License-Identifier: MIT
/* cluster_report.c - a vmcb01 clustering in JSON, as simulate, watch and merge print it. */
#include "cluster_report.h"

void cli_json_cluster(struct json *j, const char *key, const struct sim_cluster *c)
{
	json_obj_begin(j, key);
	json_str(j, "unit", "distinct vmcb01 pages");
	json_u64(j, "units", c->units);
	json_u64(j, "pages", c->pages);
	json_u64(j, "regions", c->regions);
	json_u64(j, "max_region", c->max_region);
	json_u64(j, "top5", c->top5);
	json_u64(j, "aligned", c->aligned);
	json_u64(j, "aligned_shared", c->aligned_shared);
	json_u64(j, "allocations", c->allocations);
	json_obj_begin(j, "statistics");
	for (int s = 0; s < SIM_CLUSTER_NR_STATS; s++)
		json_double(j, sim_cluster_stat_name((enum sim_cluster_stat)s),
			    sim_cluster_value(c, (enum sim_cluster_stat)s));
	json_obj_end(j);
	json_obj_end(j);
}
