// SPDX-License-Identifier: MIT
/*
 * limits.c - the limits of a Monte Carlo run that its arguments alone
 * decide, checked before any host is built, so that the command can refuse
 * the run naming the flag and the limit instead of failing in a trial.
 * Only what can never run is refused: a host that cannot even load KVM.
 * ASIDs running out and VMs that do not fit are outcomes of the run.
 */
#include <snpsafe/kvm.h>
#include <snpsafe/sim.h>

#include "sim/sim_internal.h"

/*
 * ASIDs: every trial's host has KVM's default range (kvm.h).  Running out
 * is an outcome, not a limit: sev_asid_new() fails with -EBUSY and the VM
 * is refused (struct sim_mc_outcomes); this is the pool it draws from.
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

uint64_t sim_mc_held_bytes(const struct sim_mc_config *cfg)
{
	if (cfg->mem_bytes <= SIM_MC_AGE_WINDOW)
		return 0;
	/* mm_config.held_bytes is whole 4 MiB blocks (one node) */
	return (cfg->mem_bytes - SIM_MC_AGE_WINDOW) & ~(uint64_t)(4 * SNP_MiB - 1);
}

/* Pages below 1 MiB that never reach the allocator (memblock_reserve(0, SZ_1M)). */
#define SIM_LOW_RESERVE_PAGES (SNP_MiB >> SNP_PAGE_SHIFT)

/*
 * Pages the allocator never gets: the low 1 MiB, and what the RAM map
 * leaves out above it (qemu-pc: SeaBIOS's top 128 KiB).  ~0 for a map the
 * layout cannot build.
 */
static uint64_t reserved_pages(const struct sim_mc_config *cfg)
{
	uint64_t ram = 0;
	struct snp_ram_map map;

	if (snp_ram_map_build(cfg->ram_layout, cfg->mem_bytes, &map))
		return UINT64_MAX;
	for (unsigned int i = 0; i < map.nr; i++) {
		snp_spa_t start = map.r[i].start > SNP_MiB ? map.r[i].start : SNP_MiB;

		if (map.r[i].end > start)
			ram += (map.r[i].end - start) >> SNP_PAGE_SHIFT;
	}
	if (cfg->ram_layout == SNP_RAM_QEMU_PC) {
		/* the boot state's kernel image; the initrd is freed before anything is aged */
		uint64_t image, initrd;

		kvm_boot_default_sizes(cfg->kernel, &image, &initrd);
		ram -= ram > image >> SNP_PAGE_SHIFT ? image >> SNP_PAGE_SHIFT : ram;
	}
	return (cfg->mem_bytes >> SNP_PAGE_SHIFT) - ram;
}

/* The least memory the layout boots in at all (qemu-pc: its image and initrd), 0 for any. */
static uint64_t boot_min_bytes(const struct sim_mc_config *cfg)
{
	uint64_t image, initrd;

	if (cfg->ram_layout != SNP_RAM_QEMU_PC)
		return 0;
	kvm_boot_default_sizes(cfg->kernel, &image, &initrd);
	return kvm_boot_min_mem(image, initrd);
}

/*
 * Memory: the floor is what the host needs before any VM.  The kernel
 * reserves the low 1 MiB (and what is not RAM); ageing holds age_pct of the
 * rest (mm_age(): a share of present - reserved pages); kvm_amd then needs
 * one save area per CPU (svm_hardware_setup()).  Below the floor no trial
 * could load KVM; above it, VMs that do not fit are outcomes (-ENOMEM,
 * counted).
 */
static bool check_memory(const struct sim_mc_config *cfg, struct sim_limit *out)
{
	uint64_t pages = cfg->mem_bytes >> SNP_PAGE_SHIFT, spare = 100 - cfg->age_pct;
	uint64_t rsv = reserved_pages(cfg), min_pages, min_bytes;

	if (rsv == UINT64_MAX)
		rsv = SIM_LOW_RESERVE_PAGES;   /* sim_mc_run() refuses the layout itself */
	if (pages > rsv && (pages - rsv) * spare >= (uint64_t)cfg->cpus * 100 &&
	    cfg->mem_bytes > boot_min_bytes(cfg))
		return false;
	/* The smallest host (a multiple of 4M) whose floor fits. */
	min_pages = rsv + ((uint64_t)cfg->cpus * 100 + spare - 1) / spare;
	min_bytes = min_pages << SNP_PAGE_SHIFT;
	if (min_bytes <= boot_min_bytes(cfg))
		min_bytes = boot_min_bytes(cfg) + 1;
	min_bytes = (min_bytes + 4 * SNP_MiB - 1) / (4 * SNP_MiB) * (4 * SNP_MiB);
	*out = (struct sim_limit){ SIM_LIMIT_MEM_MIN, min_bytes,
		"the kernel's reserved low 1 MiB (with qemu-pc its image and initrd), the aged "
		"pages and one kvm_amd save area per CPU must fit (or lower --age or --cpus)" };
	return true;
}

int sim_mc_check_limits(const struct sim_mc_config *cfg, struct sim_limit *out)
{
	if (!cfg || !out || cfg->age_pct >= 100)
		return SNP_EINVAL;
	if (check_memory(cfg, out))
		return SNP_ERANGE;
	return 0;
}
