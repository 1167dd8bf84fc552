// SPDX-License-Identifier: MIT
/*
 * repro.c - the changelog's scenario (shared/seed/, Brijesh Singh's steps
 * 1-4) end to end through the KVM model, with nothing placed by hand:
 *
 *   0. a process on CPU 0 fills the page cache from a fresh host, page by
 *      page as CPU 0's per-CPU list hands them out, until it holds the first
 *      page of a 2MB region; it then drops that page and the one before it,
 *      newest first, back to CPU 0's LIFO per-CPU list;
 *   1. KVM creates a vCPU from CPU 0: pio_data takes the list head, and the
 *      VMCB takes the next page -- under naive, the 2MB-aligned one;
 *   2. VMRUN on CPU 1 marks the VMCB in-use;
 *   3. another process on CPU 0 allocates a page: the next page of the list,
 *      in the same 2MB region;
 *   4. it writes the page through the direct map (a 1GB translation): on
 *      early SNP parts, a spurious RMP #PF.
 */
#include <snpsafe/kvm.h>
#include <snpsafe/sim.h>

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define REPRO_MEM  SNP_GiB    /* one whole 1GB direct-map leaf */
#define REPRO_FILL 2048          /* page-cache pages at most before giving up */

static void step(struct sim_repro_result *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void step(struct sim_repro_result *r, const char *fmt, ...)
{
	va_list ap;

	if (r->nr_steps >= SIM_REPRO_STEPS)
		return;
	va_start(ap, fmt);
	vsnprintf(r->steps[r->nr_steps++], SIM_REPRO_TEXT, fmt, ap);
	va_end(ap);
}

static snp_pfn_t region_of(snp_pfn_t pfn)
{
	return pfn & ~(snp_pfn_t)(SNP_PTRS_PER_PMD - 1);
}

/*
 * Step 0: page-cache pages on CPU 0 until one starts a 2MB region; free it,
 * then the page before it.  The pages are filled by the disk's DMA, so no
 * CPU's TLB holds a translation of them yet (a TLB entry filled before the
 * VMCB became in-use would hide the fault: `snpsafe explain stale-tlb`).
 * Returns the aligned pfn, or MM_PFN_INVALID.
 */
static snp_pfn_t fill_page_cache(struct kvm_host *host, unsigned *filled)
{
	struct mm_host *mm = kvm_host_mm(host);
	struct page *prev = NULL, *p;

	mm_set_cpu(mm, 0);
	for (*filled = 1; *filled <= REPRO_FILL; (*filled)++) {
		snp_pfn_t pfn;

		p = mm_alloc_pages(mm, MM_GFP_KERNEL, 0);
		if (!p)
			return MM_PFN_INVALID;
		pfn = mm_page_to_pfn(mm, p);
		if (snp_pfn_2m_aligned(pfn) && prev) {
			mm_free_pages(mm, p, 0);
			mm_free_pages(mm, prev, 0);
			return pfn;
		}
		prev = p;   /* the rest stay in the page cache */
	}
	return MM_PFN_INVALID;
}

static int repro_vcpu(struct kvm_host *host, int *vm_out)
{
	struct kvm_vm_config vc;
	int vm, ret;

	kvm_vm_config_init(&vc, SNP_GUEST_SVM);
	vc.guest_pages = 0;
	vc.lapic_in_kernel = false;
	vc.cpu = 0;
	vm = kvm_create_vm(host, &vc);
	if (vm < 0)
		return vm;
	ret = kvm_create_vcpu(host, vm, 0, 0);
	*vm_out = vm;
	return ret;
}

/* Steps 3-4: another process on CPU 0 takes a page and writes it. */
static void other_process(struct kvm_host *host, struct sim_repro_result *r)
{
	struct mm_host *mm = kvm_host_mm(host);
	struct snp_machine *m = kvm_host_machine(host);
	struct page *p;

	mm_set_cpu(mm, 0);
	p = mm_alloc_pages(mm, MM_GFP_KERNEL, 0);
	r->write_pfn = p ? mm_page_to_pfn(mm, p) : MM_PFN_INVALID;
	r->same_region = p && region_of(r->write_pfn) == region_of(r->vmcb_pfn);
	snp_direct_map_lookup(m, snp_pfn_to_virt(r->write_pfn), &r->write_map);
	step(r, "Another process on CPU 0 allocated a page: pfn 0x%llx, %s the VMCB's 2MB region "
	     "[0x%llx-0x%llx].", (unsigned long long)r->write_pfn, r->same_region ? "inside" : "outside",
	     (unsigned long long)region_of(r->vmcb_pfn),
	     (unsigned long long)region_of(r->vmcb_pfn) + SNP_PTRS_PER_PMD - 1);
	r->write_ret = p ? snp_host_write(m, 0, snp_pfn_to_virt(r->write_pfn)) : SNP_ENOMEM;
	r->faults = snp_fault_count(m);
	r->spurious_faults = snp_fault_count_spurious(m);
	r->have_fault = snp_fault_get(m, 0, &r->fault) == 0;
	step(r, "It wrote the page through the physmap (direct map, %s translation): %s.",
	     snp_map_size_name(r->write_map),
	     r->write_ret == 0 ? "no fault" :
	     r->have_fault && r->fault.spurious ? "spurious RMP violation #PF" : "RMP violation #PF");
	if (p)
		mm_free_pages(mm, p, 0);
}

int sim_repro_run(const struct snp_profile *profile, enum snp_alloc_strategy strategy,
		  struct sim_repro_result *r)
{
	struct kvm_host_config hc;
	struct kvm_vcpu_pages pg;
	struct snp_vmrun_result res;
	struct kvm_host *host;
	unsigned filled;
	int vm = -1, ret;

	if (!profile || !r || (unsigned)strategy >= SNP_ALLOC_NR_STRATEGIES)
		return SNP_EINVAL;
	memset(r, 0, sizeof(*r));
	r->profile = profile->name;
	r->strategy = strategy;
	kvm_host_config_init(&hc, REPRO_MEM, 2);
	hc.profile = profile;
	hc.strategy = strategy;
	hc.snp_enabled = true;
	ret = kvm_host_create(&hc, &host);
	if (ret)
		return ret;
	r->aligned_pfn = fill_page_cache(host, &filled);
	if (r->aligned_pfn == MM_PFN_INVALID) {
		ret = SNP_ENOMEM;
		goto out;
	}
	ret = repro_vcpu(host, &vm);
	if (ret)
		goto out;
	kvm_vcpu_get_pages(host, vm, 0, &pg);
	r->vmcb_pfn = pg.vmcb01;
	r->vmcb_aligned = snp_pfn_2m_aligned(pg.vmcb01);
	step(r, "A VMCB was allocated %s: pfn 0x%llx (KVM's svm_vcpu_create on CPU 0, strategy %s). "
	     "How: a process on CPU 0 had read %u pages into the page cache (by DMA) on a fresh host, the last "
	     "one pfn 0x%llx, the first page of a 2MB region, then dropped it and the page before "
	     "it; the per-CPU list is LIFO, so pio_data took the head and the VMCB the next page "
	     "on offer.", r->vmcb_aligned ? "on a 2MB-aligned address" : "on an address that is not "
	     "2MB-aligned", (unsigned long long)r->vmcb_pfn, snp_alloc_strategy_name(strategy),
	     filled, (unsigned long long)r->aligned_pfn);
	ret = kvm_vcpu_run(host, vm, 0, 1, &res);
	step(r, "VMRUN on CPU 1 %s; the VMCB's RMP entry is %s.",
	     ret == SNP_VMRUN_ENTERED ? "entered the guest" : "failed",
	     snp_rmp_inuse(snp_machine_rmp(kvm_host_machine(host)), r->vmcb_pfn) ?
	     "marked in-use" : "not in-use");
	if (ret != SNP_VMRUN_ENTERED) {
		ret = ret < 0 ? ret : SNP_EPERM;
		goto out;
	}
	other_process(host, r);
	kvm_vcpu_exit(host, vm, 0);
	ret = 0;
out:
	kvm_host_destroy(host);
	return ret;
}
