// SPDX-License-Identifier: MIT
/*
 * test_kvm_gmem.c - SNP guest memory as 6.12.95's guest_memfd has it
 * (kvm_vm_config.gmem_first_use; docs/MODEL.md "SNP guest memory"; issue
 * 25 item 5): no page at KVM_CREATE_VM or launch; at a vCPU's first run its
 * share of gmem_faulted_pct percent of the memory, order-0 UNMOVABLE pages
 * taken on the CPU it runs on, cleared, each assigned to the guest in the
 * RMP with its 2MB direct-map region split to 4K; given back whole at
 * teardown; and the census counts KVM's pages that share a pageblock with
 * them.
 */
#include "ktap.h"

#include <snpsafe/kvm.h>
#include <snpsafe/mm.h>
#include <snpsafe/rmp.h>

#define GUEST 32

static struct kvm_host *host_new(void)
{
	struct kvm_host_config hc;
	struct kvm_host *host = NULL;

	kvm_host_config_init(&hc, 256 * SNP_MiB, 2);
	hc.strategy = SNP_ALLOC_NAIVE;
	KASSERT_EQ(kvm_host_create(&hc, &host), 0);
	return host;
}

/* An SNP VM of GUEST pages with two vCPUs, both created on CPU 0, launched. */
static int snp_vm(struct kvm_host *host, unsigned int pct)
{
	struct kvm_vm_config vc;
	int vm;

	kvm_vm_config_init(&vc, SNP_GUEST_SNP);
	vc.guest_pages = GUEST;
	vc.gmem_first_use = true;
	vc.gmem_faulted_pct = pct;
	vm = kvm_create_vm(host, &vc);
	KASSERT(vm >= 0);
	KASSERT_EQ(kvm_create_vcpu(host, vm, 0, 0), 0);
	KASSERT_EQ(kvm_create_vcpu(host, vm, 1, 0), 0);
	KASSERT_EQ(kvm_vm_launch(host, vm), 0);
	return vm;
}

static uint64_t guest_pages(struct kvm_host *host, int vm)
{
	size_t nr = 0;

	KASSERT_EQ(kvm_vm_guest_pfns(host, vm, NULL, 0, &nr), 0);
	return nr;
}

static void run_once(struct kvm_host *host, int vm, unsigned int vcpu, unsigned int cpu)
{
	struct snp_vmrun_result res;

	KASSERT_EQ(kvm_vcpu_run(host, vm, vcpu, cpu, &res), 0);
	KASSERT_EQ(kvm_vcpu_exit(host, vm, vcpu), 0);
}

/* Nothing at creation or launch; the first run of vCPU 0 (on CPU 1) takes its half. */
static void gmem_taken_at_first_run(void)
{
	struct kvm_host *host = host_new();
	struct mm_host *mm = kvm_host_mm(host);
	uint64_t ev0[MM_NR_ORDERS][MM_NR_MIGRATETYPES], ev1[MM_NR_ORDERS][MM_NR_MIGRATETYPES];
	uint64_t pcp0_before = 0, pcp0_after = 0;
	snp_pfn_t pfns[GUEST];
	size_t nr = 0;
	int vm = snp_vm(host, 100);

	KEXPECT_EQ(guest_pages(host, vm), 0);
	KASSERT_EQ(mm_alloc_events(mm, ev0), 0);
	KASSERT_EQ(mm_pcp_blocks_mt(mm, 0, 0x8000, 0, MM_MT_UNMOVABLE, &pcp0_before), 0);
	run_once(host, vm, 0, 1);
	KASSERT_EQ(mm_alloc_events(mm, ev1), 0);
	KASSERT_EQ(mm_pcp_blocks_mt(mm, 0, 0x8000, 0, MM_MT_UNMOVABLE, &pcp0_after), 0);
	KASSERT_EQ(kvm_vm_guest_pfns(host, vm, pfns, GUEST, &nr), 0);
	KEXPECT_EQ(nr, GUEST / 2);
	/* order 0 and UNMOVABLE all: the first run's 40 MMU cache pages and the 16 guest pages */
	KEXPECT_EQ(ev1[0][MM_MT_UNMOVABLE] - ev0[0][MM_MT_UNMOVABLE], 40 + GUEST / 2);
	KEXPECT_EQ(ev1[0][MM_MT_MOVABLE] - ev0[0][MM_MT_MOVABLE], 0);
	for (unsigned int o = 1; o < MM_NR_ORDERS; o++)
		for (unsigned int t = 0; t < MM_NR_MIGRATETYPES; t++)
			KEXPECT_EQ(ev1[o][t] - ev0[o][t], 0);
	/* from CPU 1's lists: CPU 0's is untouched */
	KEXPECT_EQ(pcp0_after, pcp0_before);
	for (size_t i = 0; i < nr; i++) {
		struct snp_rmpentry e;
		enum snp_map_size size = SNP_MAP_1G;
		uint32_t asid = 0;

		KEXPECT_EQ(mm_page_dirty(mm, mm_pfn_to_page(mm, pfns[i])), 0);
		KASSERT_EQ(snp_rmp_query(snp_machine_rmp(kvm_host_machine(host)), snp_pfn_to_phys(pfns[i]), &e), 0);
		KASSERT_EQ(kvm_vm_info(host, vm, NULL, &asid, NULL), 0);
		KEXPECT(e.assigned && e.asid == asid && e.gpa == i * SNP_PAGE_SIZE);
		KASSERT_EQ(snp_direct_map_lookup(kvm_host_machine(host), snp_pfn_to_virt(pfns[i]), &size), 0);
		KEXPECT_EQ(size, SNP_MAP_4K);
	}
	/* a second run takes nothing more; vCPU 1's first run the other half */
	run_once(host, vm, 0, 1);
	KEXPECT_EQ(guest_pages(host, vm), GUEST / 2);
	run_once(host, vm, 1, 0);
	KEXPECT_EQ(guest_pages(host, vm), GUEST);
	kvm_host_destroy(host);
}

/* The faulted-in share: 25% of 32 pages over two vCPUs is 8; 0% takes none. */
static void gmem_faulted_share(void)
{
	static const unsigned int pct[] = { 0, 25, 100 }, want[] = { 0, 8, GUEST };

	for (unsigned int i = 0; i < 3; i++) {
		struct kvm_host *host = host_new();
		int vm = snp_vm(host, pct[i]);

		run_once(host, vm, 0, 0);
		run_once(host, vm, 1, 1);
		KEXPECT_EQ(guest_pages(host, vm), want[i]);
		kvm_host_destroy(host);
	}
}

/* Teardown gives every page back: the allocator holds what it held before the VM. */
static void gmem_given_back(void)
{
	struct kvm_host *host = host_new();
	struct mm_counts before, after;
	struct kvm_host_stats st;
	int vm;

	KASSERT_EQ(mm_get_counts(kvm_host_mm(host), MM_NUMA_NO_NODE, &before), 0);
	vm = snp_vm(host, 100);
	run_once(host, vm, 0, 0);
	run_once(host, vm, 1, 1);
	KASSERT_EQ(kvm_destroy_vm(host, vm), 0);
	KASSERT_EQ(mm_get_counts(kvm_host_mm(host), MM_NUMA_NO_NODE, &after), 0);
	KASSERT_EQ(kvm_host_get_stats(host, &st), 0);
	KEXPECT_EQ(st.leaked_pages, 0);
	KEXPECT_EQ(st.teardown_errors, 0);
	KEXPECT_EQ(after.allocated - st.slab_pages, before.allocated);
	KEXPECT_EQ(mm_check(kvm_host_mm(host), NULL, 0), 0);
	kvm_host_destroy(host);
}

/* The census: a vCPU page shares a pageblock with guest memory iff one of its pfns is in it. */
static void census_counts_shared_pageblocks(void)
{
	struct kvm_host *host = host_new();
	struct kvm_page_census c;
	snp_pfn_t pfns[GUEST];
	size_t nr = 0;
	uint64_t want = 0;
	int vm = snp_vm(host, 100);

	KASSERT_EQ(kvm_host_census(host, &c), 0);
	KEXPECT_EQ(c.gmem_pageblock[KVM_PAGE_VMCB01], 0);   /* no guest page yet */
	run_once(host, vm, 0, 0);
	run_once(host, vm, 1, 0);
	KASSERT_EQ(kvm_vm_guest_pfns(host, vm, pfns, GUEST, &nr), 0);
	for (unsigned int v = 0; v < 2; v++) {
		struct kvm_vcpu_pages pg;
		bool shares = false;

		KASSERT_EQ(kvm_vcpu_get_pages(host, vm, v, &pg), 0);
		for (size_t i = 0; i < nr; i++)
			shares |= pfns[i] >> MM_PAGEBLOCK_ORDER == pg.vmcb01 >> MM_PAGEBLOCK_ORDER;
		want += shares;
	}
	KASSERT_EQ(kvm_host_census(host, &c), 0);
	ktap_log("vmcb01 sharing a pageblock with guest memory: %llu of 2", (unsigned long long)want);
	KEXPECT_EQ(c.gmem_pageblock[KVM_PAGE_VMCB01], want);
	KEXPECT(want > 0);   /* both from CPU 0's list, as the guest pages */
	kvm_host_destroy(host);
}

static void bad_share_refused(void)
{
	struct kvm_host *host = host_new();
	struct kvm_vm_config vc;

	kvm_vm_config_init(&vc, SNP_GUEST_SNP);
	vc.gmem_first_use = true;
	vc.gmem_faulted_pct = 101;
	KEXPECT_EQ(kvm_create_vm(host, &vc), SNP_EINVAL);
	kvm_host_destroy(host);
}

static const struct ktap_case cases[] = {
	KTAP_CASE(gmem_taken_at_first_run),
	KTAP_CASE(gmem_faulted_share),
	KTAP_CASE(gmem_given_back),
	KTAP_CASE(census_counts_shared_pageblocks),
	KTAP_CASE(bad_share_refused),
};

KTAP_MAIN("kvm_gmem", cases)
