// SPDX-License-Identifier: MIT
/*
 * test_kvm_census.c - which sensitive pages the erratum can reach
 * (kvm_host_census, src/kvm/census.c), and the simulate figures built on it:
 *  - the AVIC page is markable only while AVIC is on;
 *  - a launched SNP VMSA is not exposed (its region is 4K-mapped), an SEV-ES
 *    VMSA is;
 *  - the host save area is markable only with vmsave_marks (or the
 *    vmrun_marks=hsave hypothesis), and the VMSAVE window writes are counted
 *    only then;
 *  - kvm_amd loaded on the aged host: the save areas' aligned count is what
 *    chance gives, not one per trial; no sensitive page below pfn 256.
 */
#include "ktap.h"

#include <snpsafe/kvm.h>
#include <snpsafe/sim.h>
#include <snpsafe/sim.h>	/* twice on purpose: the include guard must cover it all */

#include <string.h>

#define MEM (64 * SNP_MiB)

static struct kvm_host *census_host(enum kvm_avic_mode avic, bool vmsave, enum snp_alloc_strategy s)
{
	struct kvm_host_config cfg;
	struct kvm_host *host = NULL;

	kvm_host_config_init(&cfg, MEM, 2);
	cfg.avic = avic;
	cfg.vmsave_marks = vmsave;
	cfg.strategy = s;
	KASSERT_EQ(kvm_host_create(&cfg, &host), 0);
	return host;
}

static int census_vm(struct kvm_host *host, enum snp_guest_type t, unsigned int nvcpu)
{
	struct kvm_vm_config vc;
	int vm;

	kvm_vm_config_init(&vc, t);
	vm = kvm_create_vm(host, &vc);
	KASSERT(vm >= 0);
	for (unsigned int i = 0; i < nvcpu; i++)
		KASSERT_EQ(kvm_create_vcpu(host, vm, i, i % 2), 0);
	KASSERT_EQ(kvm_vm_launch(host, vm), 0);
	return vm;
}

/* AVIC off (KVM_AVIC_AUTO on early-snp: no HvInUseWrAllowed): allocated, never markable. */
static void test_avic_markable_only_with_avic(void)
{
	static const enum kvm_avic_mode modes[] = { KVM_AVIC_AUTO, KVM_AVIC_OFF, KVM_AVIC_ON };

	for (unsigned int i = 0; i < KTAP_ARRAY_SIZE(modes); i++) {
		struct kvm_host *host = census_host(modes[i], false, SNP_ALLOC_UPSTREAM);
		struct kvm_page_census c;
		bool on = modes[i] == KVM_AVIC_ON;

		census_vm(host, SNP_GUEST_SVM, 2);
		KASSERT_EQ(kvm_host_census(host, &c), 0);
		KEXPECT_EQ(kvm_host_avic_enabled(host), on);
		KEXPECT_EQ(c.allocated[KVM_PAGE_AVIC], 2);
		KEXPECT_EQ(c.markable[KVM_PAGE_AVIC], on ? 2 : 0);
		KEXPECT_EQ(c.exposed[KVM_PAGE_AVIC], on ? 2 : 0);
		KEXPECT_EQ(c.markable[KVM_PAGE_VMCB01], 2);   /* a VMCB always */
		kvm_host_destroy(host);
	}
}

/* A vendor without the hook (vmx-like) gets plain LAPIC pages: no AVIC page at all. */
static void test_plain_lapic_is_no_avic_page(void)
{
	struct kvm_host_config cfg;
	struct kvm_host *host = NULL;
	struct kvm_page_census c;
	struct kvm_vm_config vc;
	int vm;

	kvm_host_config_init(&cfg, MEM, 2);
	cfg.vendor = kvm_vendor_vmx_like();
	KASSERT_EQ(kvm_host_create(&cfg, &host), 0);
	kvm_vm_config_init(&vc, SNP_GUEST_SVM);
	vm = kvm_create_vm(host, &vc);
	KASSERT(vm >= 0);
	KASSERT_EQ(kvm_create_vcpu(host, vm, 0, 0), 0);
	KASSERT_EQ(kvm_host_census(host, &c), 0);
	KEXPECT_EQ(c.allocated[KVM_PAGE_AVIC], 0);
	kvm_host_destroy(host);
}

/* adjust_direct_map(): a launched SNP VMSA's region is 4K, an SEV-ES VMSA's is not. */
static void test_snp_vmsa_not_exposed(void)
{
	struct kvm_host *host = census_host(KVM_AVIC_AUTO, false, SNP_ALLOC_UPSTREAM);
	struct kvm_page_census c;
	struct kvm_vcpu_pages pg;
	enum snp_map_size size;
	int snp, es;

	snp = census_vm(host, SNP_GUEST_SNP, 1);
	KASSERT_EQ(kvm_host_census(host, &c), 0);
	KEXPECT_EQ(c.allocated[KVM_PAGE_VMSA], 1);
	KEXPECT_EQ(c.markable[KVM_PAGE_VMSA], 1);
	KEXPECT_EQ(c.exposed[KVM_PAGE_VMSA], 0);
	KASSERT_EQ(kvm_vcpu_get_pages(host, snp, 0, &pg), 0);
	KASSERT_EQ(snp_direct_map_lookup(kvm_host_machine(host), snp_pfn_to_virt(pg.vmsa), &size), 0);
	KEXPECT_EQ(size, SNP_MAP_4K);
	kvm_host_destroy(host);
	/* another host: the SNP guest's private pages split the regions around them */
	host = census_host(KVM_AVIC_AUTO, false, SNP_ALLOC_UPSTREAM);
	es = census_vm(host, SNP_GUEST_SEV_ES, 1);
	KASSERT_EQ(kvm_host_census(host, &c), 0);
	KEXPECT_EQ(c.allocated[KVM_PAGE_VMSA], 1);
	KEXPECT_EQ(c.markable[KVM_PAGE_VMSA], 1);
	KASSERT_EQ(kvm_vcpu_get_pages(host, es, 0, &pg), 0);
	KASSERT_EQ(snp_direct_map_lookup(kvm_host_machine(host), snp_pfn_to_virt(pg.vmsa), &size), 0);
	ktap_log("SEV-ES VMSA pfn 0x%llx mapped %s", (unsigned long long)pg.vmsa,
		 snp_map_size_name(size));
	KEXPECT_EQ(c.exposed[KVM_PAGE_VMSA], size != SNP_MAP_4K ? 1 : 0);
	KEXPECT(size != SNP_MAP_4K);
	/* a plain SVM guest has no VMSA */
	census_vm(host, SNP_GUEST_SVM, 1);
	KASSERT_EQ(kvm_host_census(host, &c), 0);
	KEXPECT_EQ(c.allocated[KVM_PAGE_VMSA], 1);
	kvm_host_destroy(host);
}

/* Both settings of vmsave_marks: the save area markable, and exposed, only with it. */
static void test_hsave_markable_knob(void)
{
	for (int on = 0; on <= 1; on++) {
		struct kvm_host *host = census_host(KVM_AVIC_AUTO, on, SNP_ALLOC_NAIVE);
		struct kvm_page_census c;

		KASSERT_EQ(kvm_host_census(host, &c), 0);
		KEXPECT_EQ(c.allocated[KVM_PAGE_HSAVE], 2);
		KEXPECT_EQ(c.markable[KVM_PAGE_HSAVE], on ? 2 : 0);
		KEXPECT_EQ(c.exposed[KVM_PAGE_HSAVE], on ? 2 : 0);
		/* fresh host, loaded at boot: CPU 0's is DMA32's first page, aligned */
		KEXPECT_EQ(c.aligned[KVM_PAGE_HSAVE], 1);
		KEXPECT_EQ(c.exposed_aligned[KVM_PAGE_HSAVE], on ? 1 : 0);
		kvm_host_destroy(host);
	}
}

/*
 * vmsave_marks: kernel work's hugepage writes into the region of CPU 0's
 * aligned save area while CPU 0 entered a guest are counted; off, none are.
 */
static void test_vmsave_window_writes(void)
{
	uint64_t writes[2] = { 0, 0 };

	for (int on = 0; on <= 1; on++) {
		struct kvm_host *host = census_host(KVM_AVIC_AUTO, on, SNP_ALLOC_NAIVE);
		struct kvm_tick_config tc;
		struct kvm_host_stats st;

		KEXPECT(snp_pfn_2m_aligned(kvm_host_save_area_pfn(host, 0)));
		census_vm(host, SNP_GUEST_SVM, 1);
		kvm_tick_config_init(&tc);
		tc.near_pct = 100;
		for (unsigned int t = 0; t < 200; t++)
			KASSERT_EQ(kvm_host_tick(host, 1000 + t, &tc, NULL), 0);
		KASSERT_EQ(kvm_host_get_stats(host, &st), 0);
		writes[on] = st.vmsave_window_writes;
		kvm_host_destroy(host);
	}
	ktap_log("VMSAVE window writes: off %llu, on %llu", (unsigned long long)writes[0],
		 (unsigned long long)writes[1]);
	KEXPECT_EQ(writes[0], 0);
	KEXPECT(writes[1] > 0);
}

/*
 * simulate: kvm_amd loads after ageing, so the save areas are aligned as
 * often as chance makes them (here: far fewer than one per trial, which a
 * fresh allocator gave), and no sensitive page is below pfn 256 (none is
 * aligned at pfn 0).  Exposed <= markable <= allocated for every kind.
 */
static void test_simulate_hsave_chance(void)
{
	struct sim_mc_config cfg;
	struct sim_mc_result r[SNP_ALLOC_NR_STRATEGIES];
	unsigned int n = 0;

	sim_mc_config_init(&cfg);
	cfg.mem_bytes = 256 * SNP_MiB;
	cfg.cpus = 8;
	cfg.vms = 4;
	cfg.vcpus = 2;
	cfg.ticks = 4;
	cfg.trials = 12;
	cfg.threads = 2;
	cfg.strategies = 1u << SNP_ALLOC_NAIVE;
	KASSERT_EQ(sim_mc_run(&cfg, r, &n), 0);
	KASSERT_EQ(n, 1);
	ktap_log("naive: %llu save areas, %llu aligned; exposed %llu, exposed aligned %llu "
		 "[%.5f, %.5f]", (unsigned long long)r[0].sensitive_by_kind[KVM_PAGE_HSAVE],
		 (unsigned long long)r[0].aligned_by_kind[KVM_PAGE_HSAVE],
		 (unsigned long long)r[0].exposed_pages, (unsigned long long)r[0].exposed_aligned_pages,
		 r[0].exposed_ci_lo, r[0].exposed_ci_hi);
	KEXPECT_EQ(r[0].sensitive_by_kind[KVM_PAGE_HSAVE], 12 * 8);
	KEXPECT(r[0].aligned_by_kind[KVM_PAGE_HSAVE] < 12 / 2);
	for (int k = 0; k < KVM_PAGE_NR_KINDS; k++) {
		KEXPECT(r[0].exposed_by_kind[k] <= r[0].markable_by_kind[k]);
		KEXPECT(r[0].markable_by_kind[k] <= r[0].sensitive_by_kind[k]);
		KEXPECT(r[0].exposed_aligned_by_kind[k] <= r[0].markable_aligned_by_kind[k]);
	}
	KEXPECT(r[0].exposed_ci_lo <= r[0].exposed_aligned_fraction);
	KEXPECT(r[0].exposed_ci_hi >= r[0].exposed_aligned_fraction);
}

/*
 * No sensitive page below pfn 256 (reserve_real_mode()): with DMA32 taken
 * by the page cache, KVM's pages come from DMA (lowmem_reserve lets them
 * once DMA32 is empty): the largest free block there, which would be the
 * one at pfn 0 were the first 1 MiB free.
 */
static void test_no_sensitive_page_below_256(void)
{
	struct kvm_host *host = census_host(KVM_AVIC_ON, true, SNP_ALLOC_NAIVE);
	struct mm_host *mm = kvm_host_mm(host);
	struct kvm_page_census c;
	unsigned int taken = 0;

	/* the page cache takes DMA32 whole; its first DMA page goes back */
	for (;;) {
		struct page *p = mm_alloc_pages(mm, 0, MM_GFP_HIGHUSER_MOVABLE, 0);

		KASSERT(p != NULL);
		if (mm_page_to_pfn(mm, p) < MM_DMA_END_PFN) {
			KASSERT_EQ(mm_free_pages(mm, 0, p, 0), 0);
			break;
		}
		taken++;
	}
	mm_drain_all_pages(mm);
	{
		struct kvm_vm_config vc;
		int vm;

		kvm_vm_config_init(&vc, SNP_GUEST_SEV_ES);
		vc.guest_pages = 0;
		vm = kvm_create_vm(host, &vc);
		KASSERT(vm >= 0);
		KASSERT_EQ(kvm_create_vcpu(host, vm, 0, 0), 0);
	}
	KASSERT_EQ(kvm_host_census(host, &c), 0);
	ktap_log("page cache took %u pages; lowest sensitive pfn %llu", taken,
		 (unsigned long long)c.lowest_pfn);
	KEXPECT(c.lowest_pfn < MM_DMA_END_PFN);   /* the test reached DMA */
	KEXPECT(c.lowest_pfn >= MM_REAL_MODE_PFNS);
	kvm_host_destroy(host);
}

/* The Wilson interval against worked values. */
static void test_wilson_interval(void)
{
	double lo, hi;

	sim_wilson_interval(0, 100, 1.96, &lo, &hi);
	KEXPECT(lo == 0 && hi > 0.0369 && hi < 0.0370);      /* 3.84 / 103.84 */
	sim_wilson_interval(50, 100, 1.96, &lo, &hi);
	KEXPECT(lo > 0.4038 && lo < 0.4039 && hi > 0.5961 && hi < 0.5962);
	sim_wilson_interval(0, 0, 1.96, &lo, &hi);
	KEXPECT(lo == 0 && hi == 0);
}

static const struct ktap_case cases[] = {
	KTAP_CASE(test_avic_markable_only_with_avic),
	KTAP_CASE(test_plain_lapic_is_no_avic_page),
	KTAP_CASE(test_snp_vmsa_not_exposed),
	KTAP_CASE(test_hsave_markable_knob),
	KTAP_CASE(test_vmsave_window_writes),
	KTAP_CASE(test_simulate_hsave_chance),
	KTAP_CASE(test_no_sensitive_page_below_256),
	KTAP_CASE(test_wilson_interval),
};

KTAP_MAIN("kvm_census", cases)
