// SPDX-License-Identifier: MIT
/*
 * test_kvm_erratum.c - the erratum end to end, through KVM's real allocation
 * paths: a sensitive page (vmcb01, vmcb02, SEV-ES VMSA, AVIC backing page,
 * host save area) comes out 2MB-aligned from the ordinary allocator, VMRUN
 * marks it in-use, and another CPU's direct-map write to a different page of
 * the same 2MB region takes a spurious RMP #PF that names the vCPU's page.
 *
 * The allocator state that leads there (nothing is placed by hand):
 *  - Host save area: a fresh host.  svm_hardware_setup() runs on CPU 0;
 *    CPU 0's per-CPU list is empty, so the first order-0 allocation refills
 *    it from a freshly split 4MB block, and expand() keeps the low half: the
 *    first GFP_KERNEL page is pfn 0x1000 (DMA32's first: pfns below 256
 *    are reserved, DMA is kept back by lowmem_reserve), 2MB-aligned, and it
 *    becomes CPU 0's save area.
 *  - The vCPU pages: LIFO reuse.  Kernel work on CPU 1 (kernel buffers:
 *    GFP_KERNEL, UNMOVABLE like KVM's pages, so on the same per-CPU list)
 *    takes pages from CPU 1's list; one of them is the first page of a 2MB
 *    region, a short-lived buffer freed at once, followed by the frees of
 *    the buffers allocated just before it (newest first).  The per-CPU list
 *    is LIFO, so the aligned page waits at position "pos" of the list, and
 *    KVM's pos-th order-0 allocation on CPU 1 gets it (the allocation order,
 *    vcpu->run first, is documented in snpsafe/kvm.h).
 * upstream takes its pages from the order-1 list and sieve sets the aligned
 * page aside, so neither hands it to KVM; the fixed profile has no erratum.
 */
#include "insn_util.h"
#include "ktap.h"

#include <snpsafe/kvm.h>

#include <string.h>

#define MEM (64 * SNP_MiB)

enum target { T_VMCB01, T_VMCB02, T_VMSA, T_AVIC };

struct outcome {
	snp_pfn_t pfn;          /* the sensitive page */
	int write_ret;          /* the other CPU's write */
	unsigned long spurious;
	struct snp_fault_record rec;
};

static struct kvm_host *new_host(enum snp_alloc_strategy s, const char *profile, bool avic)
{
	struct kvm_host_config cfg;
	struct kvm_host *host = NULL;

	kvm_host_config_init(&cfg, MEM, 2);
	cfg.strategy = s;
	cfg.profile = snp_profile_by_name(profile);
	cfg.avic = avic ? KVM_AVIC_ON : KVM_AVIC_AUTO;
	KASSERT_EQ(kvm_host_create(&cfg, &host), 0);
	return host;
}

/*
 * Kernel work on cpu: allocate order-0 pages until one is 2MB-aligned, free
 * it, then free the pos-1 pages allocated just before it, newest first.
 * Returns the aligned pfn.
 */
static snp_pfn_t lifo_aligned_at(struct kvm_host *host, unsigned int cpu, unsigned int pos)
{
	struct mm_host *mm = kvm_host_mm(host);
	struct page *held[1100];
	unsigned int n = 0;
	snp_pfn_t pfn = 0;

	while (n < KTAP_ARRAY_SIZE(held)) {
		held[n] = mm_alloc_pages(mm, cpu, MM_GFP_KERNEL, 0);
		KASSERT(held[n] != NULL);
		pfn = mm_page_to_pfn(mm, held[n]);
		if (snp_pfn_2m_aligned(pfn))
			break;
		n++;
	}
	KASSERT(n < KTAP_ARRAY_SIZE(held) && n + 1 >= pos);
	KASSERT_EQ(mm_free_pages(mm, cpu, held[n], 0), 0);
	for (unsigned int i = 1; i < pos; i++)
		KASSERT_EQ(mm_free_pages(mm, cpu, held[n - i], 0), 0);
	return pfn;
}

static snp_pfn_t target_pfn(struct kvm_host *host, int vm, enum target t)
{
	struct kvm_vcpu_pages pg;

	KASSERT_EQ(kvm_vcpu_get_pages(host, vm, 0, &pg), 0);
	switch (t) {
	case T_VMCB01: return pg.vmcb01;
	case T_VMCB02: return pg.vmcb02;
	case T_VMSA:   return pg.vmsa;
	case T_AVIC:   return pg.avic;
	}
	return SNP_NO_PAGE;
}

/* Build the VM and vCPU for target t with the aligned page offered at its turn. */
static int setup_target(struct kvm_host *host, enum target t, snp_pfn_t *offered)
{
	struct kvm_vm_config vc;
	int vm;

	kvm_vm_config_init(&vc, t == T_VMSA ? SNP_GUEST_SEV_ES : SNP_GUEST_SVM);
	vc.lapic_in_kernel = t == T_AVIC;
	vc.cpu = 0;
	vm = kvm_create_vm(host, &vc);
	KASSERT(vm >= 0);
	/* pos: run [avic] pio fpstate vmcb01 [vmsa]; nested: vmcb02 first. */
	if (t != T_VMCB02)
		*offered = lifo_aligned_at(host, 1, t == T_AVIC ? 2 : t == T_VMSA ? 5 : 4);
	KASSERT_EQ(kvm_create_vcpu(host, vm, 0, 1), 0);
	if (t == T_VMCB02) {
		*offered = lifo_aligned_at(host, 1, 1);
		KASSERT_EQ(kvm_vcpu_enable_nested(host, vm, 0), 0);
		KASSERT_EQ(kvm_vcpu_set_guest_mode(host, vm, 0, true), 0);
	}
	return vm;
}

/* Run the vCPU on CPU 1; CPU 0 writes another page of the page's 2MB region. */
static void run_and_write(struct kvm_host *host, int vm, struct outcome *o)
{
	struct snp_machine *m = kvm_host_machine(host);
	snp_pfn_t base = snp_pfn_2m_base(o->pfn);
	snp_pfn_t other = base + ((o->pfn - base) == 1 ? 2 : 1);
	struct snp_vmrun_result res;

	KASSERT_EQ(t_vcpu_run(host, vm, 0, 1, &res), SNP_VMRUN_ENTERED);
	o->write_ret = snp_host_write(m, 0, snp_pfn_to_virt(other));
	o->spurious = snp_fault_count_spurious(m);
	memset(&o->rec, 0, sizeof(o->rec));
	/* A record exists exactly when the write faulted. */
	KEXPECT_EQ(snp_fault_last(m, &o->rec), o->write_ret == SNP_EFAULT ? 0 : SNP_ENOENT);
	KASSERT_EQ(kvm_vcpu_exit(host, vm, 0), 0);
}

static void run_target(enum target t, enum snp_alloc_strategy s, const char *profile,
		       struct outcome *o, snp_pfn_t *offered)
{
	struct kvm_host *host = new_host(s, profile, t == T_AVIC);
	int vm = setup_target(host, t, offered);

	o->pfn = target_pfn(host, vm, t);
	run_and_write(host, vm, o);
	kvm_host_destroy(host);
}

/* naive on early-snp: aligned, and the write faults spuriously naming the page. */
static void expect_spurious(enum target t, const char *role, const char *label)
{
	struct outcome o;
	snp_pfn_t offered = 0;

	run_target(t, SNP_ALLOC_NAIVE, "early-snp", &o, &offered);
	ktap_log("naive: %s at pfn 0x%llx (offered 0x%llx), write ret %d, spurious %lu",
		 label, (unsigned long long)o.pfn, (unsigned long long)offered, o.write_ret,
		 o.spurious);
	KEXPECT_EQ(o.pfn, offered);
	KEXPECT(snp_pfn_2m_aligned(o.pfn));
	KEXPECT_EQ(o.write_ret, SNP_EFAULT);
	KEXPECT_EQ(o.spurious, 1);
	KEXPECT(o.rec.spurious);
	KEXPECT_EQ(o.rec.rule, SNP_RULE_ERRATUM_2M_BASE_INUSE);
	KEXPECT_EQ(o.rec.exc.vector, SNP_EXC_PF);
	KEXPECT(o.rec.exc.error_code & SNP_PF_RMP);
	KEXPECT(strstr(o.rec.inuse_owner, role) != NULL);
	KEXPECT(strstr(o.rec.inuse_owner, label) != NULL);
	ktap_log("owner: %s", o.rec.inuse_owner);
}

/* The same allocator state with a fixed strategy, or on a fixed part: no fault. */
static void expect_none(enum target t, enum snp_alloc_strategy s, const char *profile)
{
	struct outcome o;
	snp_pfn_t offered = 0;

	run_target(t, s, profile, &o, &offered);
	ktap_log("%s/%s: page at pfn 0x%llx (aligned page offered: 0x%llx), spurious %lu",
		 snp_alloc_strategy_name(s), profile, (unsigned long long)o.pfn,
		 (unsigned long long)offered, o.spurious);
	if (strcmp(profile, "fixed")) {
		KEXPECT(!snp_pfn_2m_aligned(o.pfn));
	} else {
		/* The fixed part is handed the very aligned page that faults on an early part. */
		KEXPECT(snp_pfn_2m_aligned(o.pfn));
		KEXPECT_EQ(o.pfn, offered);
	}
	KEXPECT_EQ(o.write_ret, 0);
	KEXPECT_EQ(o.spurious, 0);
}

static void expect_all(enum target t, const char *role, const char *label)
{
	expect_spurious(t, role, label);
	expect_none(t, SNP_ALLOC_UPSTREAM, "early-snp");
	expect_none(t, SNP_ALLOC_SIEVE, "early-snp");
	expect_none(t, SNP_ALLOC_NAIVE, "fixed");
}

static void test_kvm_vmcb01_naive_aligned_spurious(void)
{
	expect_all(T_VMCB01, "VMCB", "vm 0 vcpu 0 vmcb01");
}

static void test_kvm_vmcb02_nested(void)
{
	expect_all(T_VMCB02, "VMCB", "vm 0 vcpu 0 vmcb02");
}

static void test_kvm_sev_es_vmsa(void)
{
	expect_all(T_VMSA, "VMSA", "vm 0 vcpu 0 vmcb01");
}

static void test_kvm_avic_backing_page(void)
{
	expect_all(T_AVIC, "AVIC", "vm 0 vcpu 0 vmcb01");
}

/*
 * Upstream AVIC rule: on an early-snp host (no HvInUseWrAllowed) AVIC stays
 * off, so VMRUN gets no backing page and marks none: even an aligned page
 * from the naive allocator takes no fault.
 */
static void test_kvm_avic_off_on_early_snp(void)
{
	struct kvm_host *host = new_host(SNP_ALLOC_NAIVE, "early-snp", false);
	struct snp_vmrun_result res;
	struct kvm_vm_config vc;
	int vm;

	KEXPECT(!kvm_host_avic_enabled(host));
	kvm_vm_config_init(&vc, SNP_GUEST_SVM);
	vm = kvm_create_vm(host, &vc);
	KASSERT(vm >= 0);
	KASSERT_EQ(kvm_create_vcpu(host, vm, 0, 1), 0);
	KASSERT_EQ(t_vcpu_run(host, vm, 0, 1, &res), SNP_VMRUN_ENTERED);
	KEXPECT_EQ(res.marked, SNP_ROLE_VMCB);
	kvm_host_destroy(host);
}

/*
 * VMRUN of vCPU 0 on CPU 0.  A save area at pfn 0 is VM_HSAVE_PA = 0, an
 * unset MSR, so VMRUN raises #GP(0) there (snp-facts section 5); Linux never
 * hands out pfn 0 (memblock_reserve(0, SZ_1M)) and neither do the model's
 * KVM hosts (x86 layout), so the guest is entered.  Returns true when it was.
 */
static bool run_vcpu0_hsave(struct kvm_host *host, int vm, snp_pfn_t hs,
			    struct snp_vmrun_result *res)
{
	int ret = t_vcpu_run(host, vm, 0, 0, res);

	if (hs == SNP_HSAVE_UNSET) {
		KEXPECT_EQ(ret, SNP_EFAULT);
		KEXPECT_EQ(res->check, SNP_VMRUN_HSAVE_UNSET);
		ktap_log("save area at pfn 0 = VM_HSAVE_PA unset: VMRUN #GP(0)");
		return false;
	}
	KEXPECT_EQ(ret, SNP_VMRUN_ENTERED);
	return ret == SNP_VMRUN_ENTERED;
}

/*
 * Host save area.  On a fresh naive host CPU 0's save area is pfn 0x1000,
 * the first page of a freshly split 4MB block.  WRMSR(VM_HSAVE_PA) checks it
 * (Hypervisor-Owned, else #GP); the model's VMRUN marks only VMCB, VMSA and AVIC
 * (the roles Linux 75253db41a46 names; the hsave role of vmrun_marks is off
 * by default), so it is never in-use and a write to its 2MB region does not
 * fault.  upstream still keeps it unaligned.
 */
static void test_kvm_hsave(void)
{
	static const enum snp_alloc_strategy strat[] = {
		SNP_ALLOC_NAIVE, SNP_ALLOC_UPSTREAM, SNP_ALLOC_SIEVE,
	};

	for (unsigned int i = 0; i < KTAP_ARRAY_SIZE(strat); i++) {
		struct kvm_host *host = new_host(strat[i], "early-snp", false);
		struct snp_machine *m = kvm_host_machine(host);
		snp_pfn_t hs = kvm_host_save_area_pfn(host, 0);
		struct snp_vmrun_result res;
		struct kvm_vm_config vc;
		struct kvm_host_stats st;
		int vm;

		kvm_vm_config_init(&vc, SNP_GUEST_SVM);
		vm = kvm_create_vm(host, &vc);
		KASSERT(vm >= 0);
		KASSERT_EQ(kvm_create_vcpu(host, vm, 0, 0), 0);
		run_vcpu0_hsave(host, vm, hs, &res);
		KEXPECT(!snp_rmp_inuse(snp_machine_rmp(m), hs));
		KEXPECT_EQ(snp_host_write(m, 1, snp_pfn_to_virt((hs & ~511ULL) + 300)), 0);
		KEXPECT_EQ(snp_fault_count(m), 0);
		KASSERT_EQ(kvm_host_get_stats(host, &st), 0);
		ktap_log("%s: cpu0 hsave pfn 0x%llx, cpu1 hsave pfn 0x%llx, aligned %llu of %llu",
			 snp_alloc_strategy_name(strat[i]), (unsigned long long)hs,
			 (unsigned long long)kvm_host_save_area_pfn(host, 1),
			 (unsigned long long)st.sensitive_aligned[KVM_PAGE_HSAVE],
			 (unsigned long long)st.sensitive_allocated[KVM_PAGE_HSAVE]);
		if (strat[i] == SNP_ALLOC_NAIVE) {
			/* fresh host: the first GFP_KERNEL page is DMA32's first, pfn 0x1000 */
			KEXPECT_EQ(hs, MM_DMA_END_PFN);
			KEXPECT_EQ(st.sensitive_aligned[KVM_PAGE_HSAVE], 1);
		} else {
			KEXPECT(!snp_pfn_2m_aligned(hs));
			KEXPECT_EQ(st.sensitive_aligned[KVM_PAGE_HSAVE], 0);
		}
		kvm_host_destroy(host);
	}
}

/*
 * The same with the hypothesis that VMRUN marks the host save area too
 * (vmrun_marks=all,hsave; off by default, docs/MODEL.md): then naive's
 * aligned save area (pfn 0x1000, DMA32's first page, on a fresh host) turns a write to its 2MB region
 * into a spurious fault that names it, and upstream's and sieve's do not.
 * This is the case for allocating the save area SNP-safe, as upstream does.
 */
static void test_kvm_hsave_marked_knob(void)
{
	static const enum snp_alloc_strategy strat[] = {
		SNP_ALLOC_NAIVE, SNP_ALLOC_UPSTREAM, SNP_ALLOC_SIEVE,
	};
	struct snp_profile p = snp_profile_early_snp;

	KASSERT_EQ(snp_profile_set_knob(&p, "vmrun_marks=all,hsave"), 0);
	for (unsigned int i = 0; i < KTAP_ARRAY_SIZE(strat); i++) {
		struct kvm_host_config cfg;
		struct kvm_host *host = NULL;
		struct snp_fault_record r;
		struct snp_vmrun_result res;
		struct kvm_vm_config vc;
		struct snp_machine *m;
		snp_pfn_t hs;
		int vm;

		kvm_host_config_init(&cfg, MEM, 2);
		cfg.strategy = strat[i];
		cfg.profile = &p;
		KASSERT_EQ(kvm_host_create(&cfg, &host), 0);
		m = kvm_host_machine(host);
		hs = kvm_host_save_area_pfn(host, 0);
		kvm_vm_config_init(&vc, SNP_GUEST_SVM);
		vm = kvm_create_vm(host, &vc);
		KASSERT(vm >= 0);
		KASSERT_EQ(kvm_create_vcpu(host, vm, 0, 0), 0);
		if (!run_vcpu0_hsave(host, vm, hs, &res)) {
			kvm_host_destroy(host);
			continue;
		}
		KEXPECT(res.marked & SNP_ROLE_HSAVE);
		KEXPECT(snp_rmp_inuse(snp_machine_rmp(m), hs));
		if (strat[i] == SNP_ALLOC_NAIVE) {
			KEXPECT_EQ(hs, MM_DMA_END_PFN);
			KEXPECT_EQ(snp_host_write(m, 1, snp_pfn_to_virt(hs + 300)), SNP_EFAULT);
			KASSERT_EQ(snp_fault_last(m, &r), 0);
			KEXPECT(r.spurious);
			KEXPECT(strstr(r.inuse_owner, "host save area of the run on CPU 0") != NULL);
		} else {
			KEXPECT(!snp_pfn_2m_aligned(hs));
			KEXPECT_EQ(snp_host_write(m, 1, snp_pfn_to_virt((hs & ~511ULL) + 300)), 0);
			KEXPECT_EQ(snp_fault_count(m), 0);
		}
		KASSERT_EQ(kvm_vcpu_exit(host, vm, 0), 0);
		KEXPECT(!snp_rmp_inuse(snp_machine_rmp(m), hs));
		kvm_host_destroy(host);
	}
}

/* A VMCB left in-use is still caught by the (real) in-use write rule, not the erratum. */
static void test_kvm_vmcb_write_inuse_real_fault(void)
{
	struct kvm_host *host = new_host(SNP_ALLOC_UPSTREAM, "early-snp", false);
	struct snp_machine *m = kvm_host_machine(host);
	struct snp_fault_record r;
	struct kvm_vcpu_pages pg;
	struct kvm_vm_config vc;
	int vm;

	kvm_vm_config_init(&vc, SNP_GUEST_SVM);
	vm = kvm_create_vm(host, &vc);
	KASSERT(vm >= 0);
	KASSERT_EQ(kvm_create_vcpu(host, vm, 0, 1), 0);
	KASSERT_EQ(kvm_vcpu_get_pages(host, vm, 0, &pg), 0);
	KASSERT_EQ(t_vcpu_run(host, vm, 0, 1, NULL), SNP_VMRUN_ENTERED);
	KEXPECT_EQ(snp_host_write(m, 0, snp_pfn_to_virt(pg.vmcb01)), SNP_EFAULT);
	KASSERT_EQ(snp_fault_last(m, &r), 0);
	KEXPECT(!r.spurious);
	KEXPECT_EQ(r.rule, SNP_RULE_INUSE_WRITE);
	KEXPECT(strstr(r.inuse_owner, "vm 0 vcpu 0 vmcb01") != NULL);
	kvm_host_destroy(host);
}

/*
 * The tick: with the aligned vmcb01 of the LIFO state, a tick in which CPU 1
 * runs the vCPU and CPU 0 writes near sensitive pages sees the spurious
 * fault; upstream's VMCB in the same state does not.
 */
static void tick_case(enum snp_alloc_strategy s, unsigned long *spurious)
{
	struct kvm_host *host = new_host(s, "early-snp", false);
	struct kvm_tick_config tc;
	struct kvm_tick_report rep;
	snp_pfn_t offered;
	int vm = setup_target(host, T_VMCB01, &offered);

	kvm_tick_config_init(&tc);
	tc.run_pct = 100;
	tc.near_pct = 100;
	tc.alloc_pct = 0;
	tc.free_pct = 0;
	*spurious = 0;
	for (uint64_t seed = 1; seed <= 20; seed++) {
		KASSERT_EQ(kvm_host_tick(host, seed, &tc, &rep), 0);
		*spurious += rep.spurious;
	}
	(void)vm;
	kvm_host_destroy(host);
}

static void test_kvm_tick_sees_spurious(void)
{
	unsigned long naive, upstream;

	tick_case(SNP_ALLOC_NAIVE, &naive);
	tick_case(SNP_ALLOC_UPSTREAM, &upstream);
	ktap_log("20 ticks: naive %lu spurious faults, upstream %lu", naive, upstream);
	KEXPECT(naive > 0);
	KEXPECT_EQ(upstream, 0);
}

static const struct ktap_case cases[] = {
	KTAP_CASE(test_kvm_tick_sees_spurious),
	KTAP_CASE(test_kvm_vmcb01_naive_aligned_spurious),
	KTAP_CASE(test_kvm_vmcb02_nested),
	KTAP_CASE(test_kvm_sev_es_vmsa),
	KTAP_CASE(test_kvm_avic_backing_page),
	KTAP_CASE(test_kvm_avic_off_on_early_snp),
	KTAP_CASE(test_kvm_hsave),
	KTAP_CASE(test_kvm_hsave_marked_knob),
	KTAP_CASE(test_kvm_vmcb_write_inuse_real_fault),
};

KTAP_MAIN("kvm_erratum", cases)
