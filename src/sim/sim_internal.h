/* SPDX-License-Identifier: MIT */
/* sim_internal.h - helpers shared by the experiments of src/sim. */
#ifndef SNPSAFE_SIM_INTERNAL_H
#define SNPSAFE_SIM_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <snpsafe/cluster.h>
#include <snpsafe/kvm.h>

/* Where building a VM stopped (sim_vm_build()). */
enum sim_vm_stage { SIM_VM_AT_CREATE, SIM_VM_AT_VCPU, SIM_VM_AT_LAUNCH, SIM_VM_BUILT };

/*
 * Create a VM from vc, its vCPUs 0..nr_vcpus-1 on the host CPUs in
 * vcpu_cpus[], nested state for each if asked, then launch it.  Returns 0
 * or the first negative error; *stage (may be NULL) says where it stopped.
 * A VM that failed after KVM_CREATE_VM is destroyed, as a VMM that gives up
 * closes its VM fd: nothing of it stays allocated (its ASID waits for
 * reclaim, sev_asid_free()).
 */
SNP_MUST_CHECK int sim_vm_build(struct kvm_host *host, const struct kvm_vm_config *vc, const unsigned int *vcpu_cpus,
		 unsigned int nr_vcpus, bool nested, enum sim_vm_stage *stage);

/*
 * Guest memory of one Monte Carlo VM: SIM_MC_GUEST_PAGES_MIN pages plus up
 * to SIM_MC_GUEST_PAGES_SPREAD - 1 more (mc_create_vms()); the memory
 * limit (limits.c) counts the minimum.
 */
#define SIM_MC_GUEST_PAGES_MIN    64
#define SIM_MC_GUEST_PAGES_SPREAD 448

/*
 * A trial's vmcb01 pages as KVM allocates them (mc_cluster.c):
 * sim_vmcb01_note() is the host's on_sensitive hook, sim_vmcb01_cluster()
 * their clustering, freeing the list (SNP_ENOMEM if a page was dropped).
 */
struct sim_pfn_list {
	snp_pfn_t *v;
	size_t nr, cap;
	bool oom;
};
void sim_vmcb01_note(void *ctx, unsigned int kind, snp_pfn_t pfn);
SNP_MUST_CHECK int sim_vmcb01_cluster(struct sim_pfn_list *l, struct sim_cluster *out);

#endif
