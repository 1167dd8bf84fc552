// SPDX-License-Identifier: MIT
/*
 * test_kvm_pressure.c - limits that are outcomes (issue 12): a VM or vCPU
 * creation that runs out of memory fails with SNP_ENOMEM and leaves no page
 * behind, at every point it can fail and for every strategy; a destroyed
 * VM's SEV ASID is reused only after a flush, and with none free or waiting
 * KVM refuses the VM with SNP_EBUSY (sev_asid_new(), arch/x86/kvm/svm/sev.c).
 * The only up-front refusal left to simulate is memory that cannot hold
 * the kernel's reserve, the aged pages and kvm_amd's save areas.
 */
#include "ktap.h"

#include <snpsafe/kvm.h>
#include <snpsafe/sim.h>

#include <stdlib.h>

#define MEM (64 * SNP_MiB)
#define AGE_BELOW_FLOOR 90

static struct kvm_host *new_host(enum snp_alloc_strategy s, unsigned int min_sev_asid)
{
	struct kvm_host_config cfg;
	struct kvm_host *host = NULL;

	kvm_host_config_init(&cfg, MEM, 1);
	cfg.strategy = s;
	cfg.min_sev_asid = min_sev_asid;
	KASSERT_EQ(kvm_host_create(&cfg, &host), 0);
	return host;
}

/*
 * Pages handed out, less the sieve's pool and the kvm_vcpu slab cache's
 * slabs (kept by design, not by a VM: SLUB keeps empty slabs for the next
 * objects).
 */
static uint64_t held(struct kvm_host *host)
{
	struct mm_counts c;
	struct snp_alloc_stats as = { 0 };
	struct kvm_host_stats st;

	KASSERT_EQ(mm_get_counts(kvm_host_mm(host), MM_NUMA_NO_NODE, &c), 0);
	KASSERT_EQ(snp_alloc_get_stats(kvm_host_mm(host), &as), 0);
	KASSERT_EQ(kvm_host_get_stats(host, &st), 0);
	return c.allocated - as.set_aside - st.slab_pages;
}

/* Take every order-0 page the kernel can get on CPU 0 (the hosts have one CPU). */
struct hoard {
	struct page **p;
	size_t n;
};

static void hoard_all(struct kvm_host *host, struct hoard *h)
{
	size_t cap = (MEM >> SNP_PAGE_SHIFT) + 1;
	struct page *pg;

	h->p = calloc(cap, sizeof(*h->p));
	h->n = 0;
	KASSERT(h->p != NULL);
	while (h->n < cap && (pg = mm_alloc_pages(kvm_host_mm(host), 0, MM_GFP_KERNEL, 0)))
		h->p[h->n++] = pg;
}

static void hoard_give(struct kvm_host *host, struct hoard *h, size_t k)
{
	while (k-- && h->n)
		KASSERT_EQ(mm_free_pages(kvm_host_mm(host), 0, h->p[--h->n], 0), 0);
}

static void hoard_free(struct kvm_host *host, struct hoard *h)
{
	hoard_give(host, h, h->n);
	free(h->p);
}

/*
 * With k pages left, k = 0, 1, 2, ..., create an SEV-ES vCPU (its slab, run,
 * LAPIC, pio, fpu, vmcb01, VMSA: each allocation in turn is the one that fails).
 * A failed creation leaves exactly the pages it found; destroying the VM
 * gives back all of them.  Returns the k of the first success.
 */
static size_t vcpu_under_pressure(enum snp_alloc_strategy s)
{
	struct kvm_host *host = new_host(s, 0);
	struct kvm_vm_config vc;
	struct hoard h;
	uint64_t base = held(host), before;
	size_t k;
	int vm, ret = SNP_ENOMEM;

	kvm_vm_config_init(&vc, SNP_GUEST_SEV_ES);
	vc.guest_pages = 16;
	vc.lapic_in_kernel = true;
	vm = kvm_create_vm(host, &vc);
	KASSERT(vm >= 0);
	hoard_all(host, &h);
	for (k = 0; k < 64 && ret == SNP_ENOMEM; k++) {
		hoard_give(host, &h, k ? 1 : 0);
		before = held(host);
		ret = kvm_create_vcpu(host, vm, 0, 0);
		if (ret == SNP_ENOMEM)
			KEXPECT_EQ(held(host), before);
	}
	KEXPECT_EQ(ret, 0);
	KEXPECT_EQ(kvm_destroy_vm(host, vm), 0);
	hoard_free(host, &h);
	KEXPECT_EQ(held(host), base);
	KEXPECT_EQ(kvm_host_nr_leaks(host), 0);
	kvm_host_destroy(host);
	return k - 1;
}

static void test_vcpu_enomem_leaves_nothing(void)
{
	size_t k[SNP_ALLOC_NR_STRATEGIES];

	for (int s = 0; s < SNP_ALLOC_NR_STRATEGIES; s++) {
		k[s] = vcpu_under_pressure((enum snp_alloc_strategy)s);
		ktap_log("%s: a vCPU needs %zu free pages on a drained host",
			 snp_alloc_strategy_name((enum snp_alloc_strategy)s), k[s]);
		/* run, LAPIC, pio, fpu, vmcb01, VMSA at least */
		KEXPECT(k[s] >= 6);
	}
}

/*
 * The first KVM_RUN fills the vCPU's MMU page cache (kvm_mmu_load() ->
 * __kvm_mmu_topup_memory_cache()): with fewer than PT64_ROOT_MAX_LEVEL (5)
 * pages to be had it fails with -ENOMEM and keeps what it got; the next
 * run, with 2 more pages, reaches 5 and goes ahead with a cache short of 40.
 */
static void test_first_run_enomem(void)
{
	struct kvm_host *host = new_host(SNP_ALLOC_UPSTREAM, 0);
	struct kvm_vm_config vc;
	struct snp_vmrun_result res;
	struct hoard h;
	int vm;

	kvm_vm_config_init(&vc, SNP_GUEST_SVM);
	vm = kvm_create_vm(host, &vc);
	KASSERT(vm >= 0);
	KASSERT_EQ(kvm_create_vcpu(host, vm, 0, 0), 0);
	hoard_all(host, &h);
	hoard_give(host, &h, 3);
	KEXPECT_EQ(kvm_vcpu_run(host, vm, 0, 0, &res), SNP_ENOMEM);
	KEXPECT_EQ(mm_alloc_pages(kvm_host_mm(host), 0, MM_GFP_KERNEL, 0), NULL);   /* it took all 3 */
	hoard_give(host, &h, 2);
	KEXPECT_EQ(kvm_vcpu_run(host, vm, 0, 0, &res), 0);
	KEXPECT_EQ(res.outcome, SNP_VMRUN_ENTERED);
	{
		struct kvm_host_stats st;

		KASSERT_EQ(kvm_host_get_stats(host, &st), 0);
		KEXPECT_EQ(st.mmu_cache_pages, 5);
	}
	KASSERT_EQ(kvm_vcpu_exit(host, vm, 0), 0);
	KEXPECT_EQ(kvm_destroy_vm(host, vm), 0);
	hoard_free(host, &h);
	kvm_host_destroy(host);
}

/*
 * Guest memory that does not fit: KVM_CREATE_VM fails with SNP_ENOMEM and
 * the half-built VM (struct kvm's 10 pages, ASID, table slot, the coalesced
 * MMIO ring, the blocks it got) is torn down.  40 free pages hold a VM of
 * 16 guest pages (27 in all), not one of 64.
 */
static void test_vm_enomem_leaves_nothing(void)
{
	struct kvm_host *host = new_host(SNP_ALLOC_UPSTREAM, 0);
	struct kvm_vm_config vc;
	struct kvm_host_stats st;
	struct hoard h;
	uint64_t before;

	hoard_all(host, &h);
	hoard_give(host, &h, 40);
	before = held(host);
	kvm_vm_config_init(&vc, SNP_GUEST_SNP);
	vc.guest_pages = 64;
	KEXPECT_EQ(kvm_create_vm(host, &vc), SNP_ENOMEM);
	KEXPECT_EQ(held(host), before);
	KASSERT_EQ(kvm_host_get_stats(host, &st), 0);
	KEXPECT_EQ(st.vms_created, 0);
	KEXPECT_EQ(st.vms_destroyed, 0);
	vc.guest_pages = 16;
	KEXPECT(kvm_create_vm(host, &vc) >= 0);
	hoard_free(host, &h);
	kvm_host_destroy(host);
}

/*
 * The ASID rule: SEV-ES and SNP share 1..min_sev_asid-1 (here 1 and 2).
 * A destroyed VM's ASID waits for reclaim: the next VM takes another free
 * one; with none free, one flush recycles the waiting ones; with none free
 * and none waiting, SNP_EBUSY and the host goes on.
 */
static void test_asid_reuse_after_flush(void)
{
	struct kvm_host *host = new_host(SNP_ALLOC_UPSTREAM, 3);
	struct kvm_vm_config vc;
	struct kvm_host_stats st;
	uint32_t asid;
	int a, b, c;

	kvm_vm_config_init(&vc, SNP_GUEST_SNP);
	vc.guest_pages = 8;
	a = kvm_create_vm(host, &vc);
	KASSERT(a >= 0);
	KASSERT_EQ(kvm_vm_info(host, a, NULL, &asid, NULL), 0);
	KEXPECT_EQ(asid, 1);
	KASSERT_EQ(kvm_destroy_vm(host, a), 0);
	b = kvm_create_vm(host, &vc);
	KASSERT(b >= 0);
	KASSERT_EQ(kvm_vm_info(host, b, NULL, &asid, NULL), 0);
	KEXPECT_EQ(asid, 2);   /* 1 waits for a flush */
	KASSERT_EQ(kvm_host_get_stats(host, &st), 0);
	KEXPECT_EQ(st.asid_flushes, 0);
	c = kvm_create_vm(host, &vc);
	KASSERT(c >= 0);
	KASSERT_EQ(kvm_vm_info(host, c, NULL, &asid, NULL), 0);
	KEXPECT_EQ(asid, 1);   /* none free: flushed, then reused */
	KASSERT_EQ(kvm_host_get_stats(host, &st), 0);
	KEXPECT_EQ(st.asid_flushes, 1);
	KEXPECT_EQ(kvm_create_vm(host, &vc), SNP_EBUSY);
	KASSERT_EQ(kvm_host_get_stats(host, &st), 0);
	KEXPECT_EQ(st.asid_flushes, 1);   /* nothing waited: no flush */
	/* SEV guests draw from their own pool, untouched. */
	kvm_vm_config_init(&vc, SNP_GUEST_SEV);
	vc.guest_pages = 8;
	KEXPECT(kvm_create_vm(host, &vc) >= 0);
	kvm_host_destroy(host);
}

/* What simulate refuses up front: only a host that cannot even load KVM. */
static void test_only_the_floor_is_refused(void)
{
	struct sim_mc_config cfg;
	struct sim_limit lim;

	sim_mc_config_init(&cfg);
	cfg.mem_bytes = 64 * SNP_MiB;
	cfg.cpus = 256;
	cfg.age_pct = 95;
	cfg.vms = 10000;   /* far past the ASIDs and the memory: outcomes, not limits */
	cfg.vcpus = 64;
	KEXPECT_EQ(sim_mc_check_limits(&cfg, &lim), 0);
	cfg.mem_bytes = 8 * SNP_MiB;   /* 1792 pages past the reserve, 5% of them free: 89 < 256 */
	KEXPECT_EQ(sim_mc_check_limits(&cfg, &lim), SNP_ERANGE);
	KEXPECT_EQ(lim.kind, SIM_LIMIT_MEM_MIN);
	/* 256 reserved + 256 * 100 / 5 = 5376 pages = 21 MiB, rounded up to 4M */
	KEXPECT_EQ(lim.max, 24 * SNP_MiB);
	cfg.mem_bytes = lim.max;
	KEXPECT_EQ(sim_mc_check_limits(&cfg, &lim), 0);
	cfg.mem_bytes = 20 * SNP_MiB;
	KEXPECT_EQ(sim_mc_check_limits(&cfg, &lim), SNP_ERANGE);
	KEXPECT_EQ(sim_mc_asid_pool(SIM_VM_SNP), 99);
	KEXPECT_EQ(sim_mc_asid_pool(SIM_VM_SEV), 410);
	KEXPECT_EQ(sim_mc_asid_pool(SIM_VM_SVM), 0);
}

/*
 * Below the floor (only a library caller gets there): kvm_amd cannot load
 * its save areas, and the trial counts a host without KVM instead of
 * failing the run.  Above it, the same run tries its VMs.
 */
static void test_kvm_load_enomem_counted(void)
{
	struct sim_mc_config cfg;
	struct sim_mc_result res[SNP_ALLOC_NR_STRATEGIES];
	struct sim_limit lim;
	unsigned n = 0;

	sim_mc_config_init(&cfg);
	cfg.mem_bytes = 8 * SNP_MiB;
	cfg.cpus = 256;
	cfg.age_pct = AGE_BELOW_FLOOR;
	cfg.vms = 2;
	cfg.vcpus = 1;
	cfg.ticks = 0;
	cfg.trials = 2;
	cfg.strategies = 1u << SNP_ALLOC_NAIVE;
	KEXPECT_EQ(sim_mc_check_limits(&cfg, &lim), SNP_ERANGE);
	KASSERT_EQ(sim_mc_run(&cfg, res, &n), 0);
	KASSERT_EQ(n, 1);
	KEXPECT_EQ(res[0].vm.kvm_load_enomem, 2);
	KEXPECT_EQ(res[0].vm.vms_tried, 0);
	cfg.cpus = 2;
	KEXPECT_EQ(sim_mc_check_limits(&cfg, &lim), 0);
	KASSERT_EQ(sim_mc_run(&cfg, res, &n), 0);
	KEXPECT_EQ(res[0].vm.kvm_load_enomem, 0);
	KEXPECT_EQ(res[0].vm.vms_tried, 4);
}

static const struct ktap_case cases[] = {
	KTAP_CASE(test_kvm_load_enomem_counted),
	KTAP_CASE(test_vcpu_enomem_leaves_nothing),
	KTAP_CASE(test_vm_enomem_leaves_nothing),
	KTAP_CASE(test_first_run_enomem),
	KTAP_CASE(test_asid_reuse_after_flush),
	KTAP_CASE(test_only_the_floor_is_refused),
};

KTAP_MAIN("kvm_pressure", cases)
