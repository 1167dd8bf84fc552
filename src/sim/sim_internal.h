/* SPDX-License-Identifier: MIT */
/* sim_internal.h - helpers shared by the experiments of src/sim. */
#ifndef SNPSAFE_SIM_INTERNAL_H
#define SNPSAFE_SIM_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

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
 * In an array sorted by a leading uint64_t address (each element @stride
 * bytes), the index just past the last element whose address is <= @key:
 * the element holding @key, as a symbol table without sizes attributes a pc,
 * is the one before it (none when 0).
 */
static inline size_t sim_addr_upper_bound(const void *base, size_t n, size_t stride, uint64_t key)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		uint64_t addr;

		memcpy(&addr, (const char *)base + mid * stride, sizeof(addr));
		if (addr <= key)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/*
 * A one-line reason for a failed read of a file (a trace, an allocation
 * log) into err, when the caller gave room for one.
 */
void sim_set_err(char *err, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/*
 * Guest memory of one Monte Carlo VM: SIM_MC_GUEST_PAGES_MIN pages plus up
 * to SIM_MC_GUEST_PAGES_SPREAD - 1 more (mc_create_vms()); the memory
 * limit (limits.c) counts the minimum.
 */
#define SIM_MC_GUEST_PAGES_MIN    64
#define SIM_MC_GUEST_PAGES_SPREAD 448

#endif
