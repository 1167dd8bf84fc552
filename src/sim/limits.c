// SPDX-License-Identifier: MIT
/*
 * limits.c - the limits of a Monte Carlo run that its arguments alone
 * decide, checked before any host is built, so that the command can refuse
 * the run naming the flag and the limit instead of failing in a trial.
 */
#include <snpsafe/kvm.h>
#include <snpsafe/sim.h>

/*
 * ASIDs: every trial's host has KVM's default range (kvm.h), and no VM is
 * destroyed while the trial's VMs are created.  A kind with weight in --mix
 * can draw every VM, so --vms must fit the smallest pool among the kinds in
 * use (sev_asid_new() in arch/x86/kvm/svm/sev.c fails with -EBUSY past it).
 */
unsigned int sim_mc_asid_pool(enum sim_vm_kind k)
{
	switch (k) {
	case SIM_VM_SEV_ES:
	case SIM_VM_SNP:
		return KVM_DEFAULT_MIN_SEV_ASID - 1;
	case SIM_VM_SEV:
		return KVM_DEFAULT_MAX_SEV_ASID - KVM_DEFAULT_MIN_SEV_ASID + 1;
	default:
		return 0;
	}
}

static bool check_asids(const struct sim_mc_config *cfg, struct sim_limit *out)
{
	unsigned int es_snp = sim_mc_asid_pool(SIM_VM_SNP), sev = sim_mc_asid_pool(SIM_VM_SEV);

	if ((cfg->mix[SIM_VM_SEV_ES] || cfg->mix[SIM_VM_SNP]) && cfg->vms > es_snp) {
		*out = (struct sim_limit){ SIM_LIMIT_VMS, es_snp,
			"with sev-es or snp in --mix: the modeled CPU has that many ASIDs for "
			"SEV-ES and SNP guests" };
		return true;
	}
	if (cfg->mix[SIM_VM_SEV] && cfg->vms > sev) {
		*out = (struct sim_limit){ SIM_LIMIT_VMS, sev,
			"with sev in --mix: the modeled CPU has that many ASIDs for SEV guests" };
		return true;
	}
	return false;
}

/*
 * Memory: ageing leaves age_pct of the pages in use, and every VM needs at
 * least 64 guest pages (mc_create_vms()) and one page per vCPU.  When even
 * that floor exceeds the host, no trial can succeed.
 */
static bool check_memory(const struct sim_mc_config *cfg, struct sim_limit *out)
{
	uint64_t pages = cfg->mem_bytes >> SNP_PAGE_SHIFT;
	uint64_t need = pages * cfg->age_pct / 100 + (uint64_t)cfg->vms * (64 + cfg->vcpus);
	uint64_t min_bytes;

	if (need <= pages)
		return false;
	/* The smallest host (a multiple of 4M) whose floor fits. */
	min_bytes = ((uint64_t)cfg->vms * (64 + cfg->vcpus) * 100 / (100 - cfg->age_pct) + 1)
		    << SNP_PAGE_SHIFT;
	min_bytes = (min_bytes + 4 * SNP_MiB - 1) / (4 * SNP_MiB) * (4 * SNP_MiB);
	*out = (struct sim_limit){ SIM_LIMIT_MEM_MIN, min_bytes,
		"the aged pages plus 64 guest pages and one page per vCPU for each VM "
		"must fit (or lower --age, --vms or --vcpus)" };
	return true;
}

int sim_mc_check_limits(const struct sim_mc_config *cfg, struct sim_limit *out)
{
	if (!cfg || !out || cfg->age_pct >= 100)
		return SNP_EINVAL;
	if (check_asids(cfg, out) || check_memory(cfg, out))
		return SNP_ERANGE;
	return 0;
}
