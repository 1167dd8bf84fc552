/* SPDX-License-Identifier: MIT */
/*
 * replay_rate.h - each VMCB's VMRUN rate in a replay, to mark a stuck vCPU
 * (snpsafe/replay.h SIM_REPLAY_STUCK_VMRUNS; docs/REPLAY.md "Stuck
 * vCPUs").  Private to src/trace/replay.c.
 */
#ifndef SNPSAFE_REPLAY_RATE_H
#define SNPSAFE_REPLAY_RATE_H

#include <snpsafe/replay.h>

struct rr_table;

/* An empty table.  0 or SNP_ENOMEM. */
SNP_MUST_CHECK int rr_create(struct rr_table **out);
void rr_destroy(struct rr_table *t);

/* A VMRUN of the VMCB at vmcb_pa at t_ns.  0 or SNP_ENOMEM. */
SNP_MUST_CHECK int rr_vmrun(struct rr_table *t, uint64_t vmcb_pa, uint64_t t_ns);

/* A possible fault on an in-use page a run of vmcb_pa held; proven too, the model's too. */
void rr_fault(struct rr_table *t, uint64_t vmcb_pa, bool proven, bool model);

/*
 * After the run: r->busiest, r->stuck (sorted by address), r->stuck_sum,
 * and each report's stuck_vmcb.  0 or SNP_ENOMEM.
 */
SNP_MUST_CHECK int rr_finish(struct rr_table *t, struct sim_replay_result *r);

#endif
