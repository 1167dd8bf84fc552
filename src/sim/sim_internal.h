/* SPDX-License-Identifier: MIT */
/* sim_internal.h - helpers shared by the experiments of src/sim. */
#ifndef SNPSAFE_SIM_INTERNAL_H
#define SNPSAFE_SIM_INTERNAL_H

#include <snpsafe/kvm.h>

/*
 * Create a VM from vc, its vCPUs 0..nr_vcpus-1 on the host CPUs in
 * vcpu_cpus[], nested state for each if asked, then launch it.
 * Returns 0 or the first negative error.
 */
int sim_vm_build(struct kvm_host *host, const struct kvm_vm_config *vc, const unsigned *vcpu_cpus,
		 unsigned nr_vcpus, bool nested);

#endif
