/* SPDX-License-Identifier: MIT */
/*
 * watch_cluster.h - `snpsafe watch`'s measured side of the three-column
 * comparison (issue 25 item 4): the run's vmcb01 allocations (the call site
 * provenance found in the allocation log), how many were exposed (2MB-
 * aligned, their region storing through a 2M/1G leaf in the trace), and how
 * their distinct pages cluster by 2MB region (snpsafe/cluster.h).
 */
#ifndef SNPSAFE_CLI_WATCH_CLUSTER_H
#define SNPSAFE_CLI_WATCH_CLUSTER_H

#include "cli.h"
#include "cluster_report.h"
#include "watch_prov.h"

#include <snpsafe/cluster.h>

struct watch_cluster {
	bool have;                 /* the log has the vmcb01 call site */
	uint64_t allocs, aligned;  /* vmcb01 allocations, 2MB-aligned ones */
	uint64_t exposed;          /* of the aligned, in a region that took a 2M/1G-leaf store */
	struct sim_cluster c;      /* their distinct pages */
	uint64_t regions_huge;     /* of c.regions, those that took a 2M/1G-leaf store */
};

/* 0 (have false without a vmcb01 site), or a negative code with the reason in err. */
SNP_MUST_CHECK int watch_cluster_load(const char *trace, const struct watch_prov *wp,
				      struct watch_cluster *out, char *err, size_t errlen);
void watch_cluster_print_text(const struct watch_cluster *w, const struct sim_cluster *model);
/* "clustering" of the measured side with its leaf mix, and "vmcb01_exposed". */
void watch_cluster_print_json(struct json *j, const struct watch_cluster *w);

#endif
