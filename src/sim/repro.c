// SPDX-License-Identifier: MIT
/*
 * repro.c - the changelog's scenario (shared/seed/, Brijesh Singh's steps
 * 1-4) end to end through the KVM model, with nothing placed by hand, on
 * the sequence the page allocator really produces (mm/page_alloc.c, 6.1
 * and 6.12):
 *
 *   0. a freshly booted host: kvm_amd is loaded, the page cache (MOVABLE)
 *      holds files read on CPU 1, and kernel slab work on CPU 0 (GFP_KERNEL:
 *      UNMOVABLE, the type of KVM's pages) uses the UNMOVABLE pageblocks up,
 *      until CPU 0 can reach exactly as many free UNMOVABLE pages (its
 *      per-CPU list and the buddy lists) as vCPU creation takes before the
 *      VMCB (vcpu->run, pio_data, the guest fpstate: snpsafe/kvm.h);
 *   1. KVM creates a vCPU from CPU 0: those three take them, so the VMCB's
 *      allocation finds none; rmqueue_bulk() calls __rmqueue_fallback(),
 *      which takes the LARGEST free MOVABLE block, re-types it UNMOVABLE and
 *      splits it with expand(): its first page, 2MB-aligned, comes first --
 *      under naive, the VMCB;
 *   2. VMRUN on CPU 1 marks the VMCB in-use;
 *   3. another process on CPU 0 allocates a kernel buffer (UNMOVABLE): the
 *      next page of the list, in the same 2MB region;
 *   4. it writes the page through the direct map (a 1GB translation): on
 *      early SNP parts, a spurious RMP #PF.
 */
#include <snpsafe/kvm.h>
#include <snpsafe/sim.h>

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define REPRO_MEM  SNP_GiB    /* one whole 1GB direct-map leaf */
#define REPRO_PAGE_CACHE 8192    /* 32 MiB of files read on CPU 1 */
#define REPRO_REACH 160          /* free UNMOVABLE pages CPU 0 can reach when KVM starts */
#define REPRO_TRIES 24           /* fewer pages tried, one by one */
#define REPRO_VCPUS KVM_MAX_VCPUS   /* vCPUs created one by one at most */

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
 * Free UNMOVABLE order-0 pages CPU 0 can reach before a steal: its per-CPU
 * list for the zone, and the UNMOVABLE buddy lists.
 */
static uint64_t unmovable_reach(const struct mm_host *mm)
{
	uint64_t pages = 0, n;

	for (unsigned int o = 0; o <= MM_MAX_ORDER; o++)
		if (!mm_free_blocks_mt(mm, 0, o, MM_MT_UNMOVABLE, &n))
			pages += n << o;
	if (!mm_pcp_blocks_mt(mm, 0, mm_nr_pages(mm) - 1, 0, MM_MT_UNMOVABLE, &n))
		pages += n;
	return pages;
}

/*
 * Step 0: the page cache on CPU 1 (GFP_HIGHUSER_MOVABLE, filled by the
 * disk's DMA: no TLB holds their translations), then kernel slab work on
 * CPU 0 (GFP_KERNEL, UNMOVABLE) that leaves CPU 0 @reach free UNMOVABLE
 * pages.  Order-0 allocations lower the reach by one each and never steal
 * while it is above zero, so the slab work is the reach now less @reach.
 * Returns the slab pages taken, or 0.
 */
static unsigned int prepare_host(struct kvm_host *host, unsigned int reach)
{
	struct mm_host *mm = kvm_host_mm(host);
	uint64_t now;
	unsigned int slab;

	for (unsigned int i = 0; i < REPRO_PAGE_CACHE; i++)   /* page cache, read on CPU 1 */
		if (!mm_alloc_pages(mm, 1, MM_GFP_HIGHUSER_MOVABLE, 0))
			return 0;
	now = unmovable_reach(mm);
	if (now <= reach)
		return 0;
	for (slab = 0; slab < now - reach; slab++)
		if (!mm_alloc_pages(mm, 0, MM_GFP_KERNEL, 0))
			return 0;
	return unmovable_reach(mm) == reach ? slab : 0;
}

/*
 * KVM creates vCPUs of one VM from CPU 0, one by one; stop after vCPU
 * @stop_at, or (stop_at < 0) after the first whose VMCB is 2MB-aligned.
 * Returns the last vCPU created, or a negative error.
 */
static int repro_vcpus(struct kvm_host *host, int stop_at, int *vm_out)
{
	struct kvm_vm_config vc;
	struct kvm_vcpu_pages pg;
	int vm;

	kvm_vm_config_init(&vc, SNP_GUEST_SVM);
	vc.guest_pages = 0;
	vc.lapic_in_kernel = false;
	vc.cpu = 0;
	vm = kvm_create_vm(host, &vc);
	if (vm < 0)
		return vm;
	*vm_out = vm;
	for (int i = 0; i < REPRO_VCPUS; i++) {
		int ret = kvm_create_vcpu(host, vm, (unsigned int)i, 0);

		if (ret)
			return ret;
		kvm_vcpu_get_pages(host, vm, (unsigned int)i, &pg);
		if (i == stop_at || (stop_at < 0 && snp_pfn_2m_aligned(pg.vmcb01)))
			return i;
	}
	return SNP_ENOENT;
}

static int repro_host(const struct snp_profile *profile, enum snp_alloc_strategy s,
		      struct kvm_host **out)
{
	struct kvm_host_config hc;

	kvm_host_config_init(&hc, REPRO_MEM, 2);
	hc.profile = profile;
	hc.strategy = s;
	hc.snp_enabled = true;
	return kvm_host_create(&hc, out);
}

/*
 * The sequence to show: the first reach (REPRO_REACH, one less, ...) from
 * which the unprotected allocator's own sequence hands a stolen block's head
 * to a VMCB, and which vCPU's.  Only the amount of slab work is chosen;
 * every page comes from the allocator.
 */
static int find_sequence(const struct snp_profile *profile, unsigned int *reach, int *vcpu)
{
	for (unsigned int e = 0; e < REPRO_TRIES; e++) {
		struct kvm_host *host;
		int vm, ret = repro_host(profile, SNP_ALLOC_NAIVE, &host);

		if (ret)
			return ret;
		ret = prepare_host(host, REPRO_REACH - e) ? repro_vcpus(host, -1, &vm) : SNP_ENOMEM;
		kvm_host_destroy(host);
		if (ret >= 0) {
			*reach = REPRO_REACH - e;
			*vcpu = ret;
			return 0;
		}
		if (ret != SNP_ENOENT)
			return ret;
	}
	return SNP_ENOENT;
}

/* Steps 3-4: another process on CPU 0 takes a kernel buffer and writes it. */
static void other_process(struct kvm_host *host, struct sim_repro_result *r)
{
	struct mm_host *mm = kvm_host_mm(host);
	struct snp_machine *m = kvm_host_machine(host);
	struct page *p;

	p = mm_alloc_pages(mm, 0, MM_GFP_KERNEL, 0);   /* UNMOVABLE, as KVM's pages */
	r->write_pfn = p ? mm_page_to_pfn(mm, p) : MM_PFN_INVALID;
	r->same_region = p && region_of(r->write_pfn) == region_of(r->vmcb_pfn);
	snp_direct_map_lookup(m, snp_pfn_to_virt(r->write_pfn), &r->write_map);
	step(r, "Another process on CPU 0 allocated a kernel buffer (UNMOVABLE, the next page of the "
	     "list): pfn 0x%llx, %s the VMCB's 2MB region [0x%llx-0x%llx].",
	     (unsigned long long)r->write_pfn, r->same_region ? "inside" : "outside",
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
		mm_free_pages(mm, 0, p, 0);
}

/* Step 1's text: where the VMCB came from. */
static void step_vmcb(struct sim_repro_result *r, unsigned int slab, unsigned int reach, unsigned int vcpu)
{
	step(r, "A VMCB was allocated %s: pfn 0x%llx (svm_vcpu_create on CPU 0, vCPU %u, strategy "
	     "%s).  How: page cache (MOVABLE) held %u pages read on CPU 1; slab work on CPU 0 "
	     "(UNMOVABLE, %u pages) left CPU 0 %u free UNMOVABLE pages; KVM created vCPUs from CPU 0 "
	     "(each: run, pio_data, fpstate, VMCB, msrpm); when they ran out, __rmqueue_fallback() "
	     "took the largest free MOVABLE block, re-typed it and split it: its first page, "
	     "2MB-aligned (pfn 0x%llx), came first.",
	     r->vmcb_aligned ? "on a 2MB-aligned address" : "on an address that is not 2MB-aligned",
	     (unsigned long long)r->vmcb_pfn, vcpu, snp_alloc_strategy_name(r->strategy),
	     REPRO_PAGE_CACHE, slab, reach, (unsigned long long)r->aligned_pfn);
}

/* The stolen block: the 2MB-aligned page of the VMCB's region, or the first after it. */
static snp_pfn_t stolen_head(const struct kvm_vcpu_pages *pg)
{
	return region_of(pg->vmcb01);
}

int sim_repro_run(const struct snp_profile *profile, enum snp_alloc_strategy strategy,
		  struct sim_repro_result *r)
{
	struct kvm_vcpu_pages pg;
	struct snp_vmrun_result res;
	struct kvm_host *host;
	unsigned int slab, reach = 0;
	int vm = -1, vcpu = 0, ret;

	if (!profile || !r || (unsigned int)strategy >= SNP_ALLOC_NR_STRATEGIES)
		return SNP_EINVAL;
	memset(r, 0, sizeof(*r));
	r->profile = profile->name;
	r->strategy = strategy;
	ret = find_sequence(profile, &reach, &vcpu);
	if (!ret)
		ret = repro_host(profile, strategy, &host);
	if (ret)
		return ret;
	slab = prepare_host(host, reach);
	ret = slab ? repro_vcpus(host, vcpu, &vm) : SNP_ENOMEM;
	if (ret < 0)
		goto out;
	kvm_vcpu_get_pages(host, vm, (unsigned int)vcpu, &pg);
	r->vmcb_pfn = pg.vmcb01;
	r->vmcb_aligned = snp_pfn_2m_aligned(pg.vmcb01);
	r->aligned_pfn = stolen_head(&pg);
	step_vmcb(r, slab, reach, (unsigned int)vcpu);
	ret = kvm_vcpu_run(host, vm, (unsigned int)vcpu, 1, &res);
	step(r, "VMRUN on CPU 1 %s; the VMCB's RMP entry is %s.",
	     ret == SNP_VMRUN_ENTERED ? "entered the guest" : "failed",
	     snp_rmp_inuse(snp_machine_rmp(kvm_host_machine(host)), r->vmcb_pfn) ?
	     "marked in-use" : "not in-use");
	if (ret != SNP_VMRUN_ENTERED) {
		ret = ret < 0 ? ret : SNP_EPERM;
		goto out;
	}
	other_process(host, r);
	kvm_vcpu_exit(host, vm, (unsigned int)vcpu);
	ret = 0;
out:
	kvm_host_destroy(host);
	return ret;
}
