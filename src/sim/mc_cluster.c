// SPDX-License-Identifier: MIT
/*
 * mc_cluster.c - each simulate host's vmcb01 pages, collected as KVM
 * allocates them (kvm_host_config.on_sensitive), and their clustering by
 * 2MB region (src/sim/cluster.c): the model's column of the comparison
 * with watch's boots (docs/WATCH.md, "Pooling boots: three columns").
 * Every vmcb01 allocation of the trial is seen, those of VMs destroyed
 * before its end too, as watch's allocation log sees them.
 */
#include "sim/sim_internal.h"

#include <stdlib.h>

void sim_vmcb01_note(void *ctx, unsigned int kind, snp_pfn_t pfn)
{
	struct sim_pfn_list *l = ctx;

	if (kind != KVM_PAGE_VMCB01 || l->oom)
		return;
	if (l->nr == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 64;
		snp_pfn_t *v = realloc(l->v, cap * sizeof(*v));

		if (!v) {
			l->oom = true;   /* reported by sim_vmcb01_cluster() */
			return;
		}
		l->v = v;
		l->cap = cap;
	}
	l->v[l->nr++] = pfn;
}

int sim_vmcb01_cluster(struct sim_pfn_list *l, struct sim_cluster *out)
{
	int ret = l->oom ? SNP_ENOMEM : sim_cluster_of(l->v, l->nr, out);

	free(l->v);
	l->v = NULL;
	l->nr = l->cap = 0;
	return ret;
}
