// SPDX-License-Identifier: MIT
/*
 * test_kvm_life.c - the KVM host model's life cycle: vendor binding (the
 * static-call slots, required and optional ops, a vendor without the LAPIC
 * hook), SNP launch and the SNP-active VMRUN row, 1,000 VMs of mixed types
 * with no page lost, the on-purpose leak of an SNP VMSA that cannot be made
 * shared, bad input, and deterministic ticks.
 */
#include "insn_util.h"
#include "ktap.h"

#include <snpsafe/kvm.h>

#include <string.h>

#define MEM (64 * SNP_MiB)

static struct kvm_host *new_host_cfg(const struct kvm_host_config *cfg)
{
	struct kvm_host *host = NULL;

	KASSERT_EQ(kvm_host_create(cfg, &host), 0);
	return host;
}

static struct kvm_host *new_host(enum snp_alloc_strategy s)
{
	struct kvm_host_config cfg;

	kvm_host_config_init(&cfg, MEM, 2);
	cfg.strategy = s;
	return new_host_cfg(&cfg);
}

/*
 * Free pages, and the pages the kvm_vcpu slab cache keeps: SLUB keeps a
 * CPU's slab and up to min_partial empty ones when their objects go, so a
 * destroyed vCPU's slab is not lost, only kept for the next one.
 */
static uint64_t free_pages(struct kvm_host *host)
{
	struct mm_counts c;
	struct kvm_host_stats st;

	KASSERT_EQ(mm_get_counts(kvm_host_mm(host), MM_NUMA_NO_NODE, &c), 0);
	KASSERT_EQ(kvm_host_get_stats(host, &st), 0);
	return c.free + c.pcp + st.slab_pages;
}

static int new_vm(struct kvm_host *host, enum snp_guest_type t, uint64_t pages, unsigned int nvcpu)
{
	struct kvm_vm_config vc;
	int vm;

	kvm_vm_config_init(&vc, t);
	vc.guest_pages = pages;
	vm = kvm_create_vm(host, &vc);
	KASSERT(vm >= 0);
	for (unsigned int i = 0; i < nvcpu; i++)
		KASSERT_EQ(kvm_create_vcpu(host, vm, i, i % 2), 0);
	return vm;
}

/*
 * vCPU creation in kernel order, on one per-CPU list (naive: all order 0, a
 * fresh host hands them out in ascending pfns): vcpu->run
 * (kvm_vm_ioctl_create_vcpu), the LAPIC page (kvm_create_lapic), pio_data,
 * the guest fpstate page (fpu_alloc_guest_fpstate), vmcb01 and the VMSA
 * (svm_vcpu_create).
 */
static void test_kvm_vcpu_create_order(void)
{
	struct kvm_host *host = new_host(SNP_ALLOC_NAIVE);
	struct kvm_vcpu_pages pg;
	struct kvm_vm_config vc;
	int vm;

	kvm_vm_config_init(&vc, SNP_GUEST_SEV_ES);
	vc.guest_pages = 0;
	vc.lapic_in_kernel = true;
	vm = kvm_create_vm(host, &vc);
	KASSERT(vm >= 0);
	KASSERT_EQ(kvm_create_vcpu(host, vm, 0, 0), 0);
	KASSERT_EQ(kvm_vcpu_get_pages(host, vm, 0, &pg), 0);
	ktap_log("run 0x%llx avic 0x%llx pio 0x%llx fpu 0x%llx vmcb01 0x%llx vmsa 0x%llx",
		 (unsigned long long)pg.run, (unsigned long long)pg.avic, (unsigned long long)pg.pio,
		 (unsigned long long)pg.fpu, (unsigned long long)pg.vmcb01,
		 (unsigned long long)pg.vmsa);
	KEXPECT_EQ(pg.avic, pg.run + 1);
	KEXPECT_EQ(pg.pio, pg.run + 2);
	KEXPECT_EQ(pg.fpu, pg.run + 3);
	KEXPECT_EQ(pg.vmcb01, pg.run + 4);
	KEXPECT_EQ(pg.vmsa, pg.run + 5);
	KEXPECT_EQ(kvm_destroy_vm(host, vm), 0);
	kvm_host_destroy(host);
}

/* ---- vendors ---- */

static void test_kvm_vmx_like_lapic_plain_page(void)
{
	struct kvm_host_config cfg;
	struct kvm_host *host;
	struct snp_alloc_stats as;
	struct kvm_host_stats st;
	struct kvm_vcpu_pages pg;
	int vm;

	kvm_host_config_init(&cfg, MEM, 2);
	cfg.vendor = kvm_vendor_vmx_like();
	host = new_host_cfg(&cfg);
	KEXPECT(strcmp(kvm_host_vendor(host), "vmx-like") == 0);
	vm = new_vm(host, SNP_GUEST_SVM, 4, 1);
	KASSERT_EQ(kvm_vcpu_get_pages(host, vm, 0, &pg), 0);
	KEXPECT(pg.avic != SNP_NO_PAGE);
	KEXPECT(!pg.avic_from_hook);
	KEXPECT_EQ(pg.vmcb01, SNP_NO_PAGE);
	KEXPECT_EQ(mm_page_dirty(kvm_host_mm(host), mm_pfn_to_page(kvm_host_mm(host), pg.avic)), 0);
	KASSERT_EQ(kvm_host_get_stats(host, &st), 0);
	KEXPECT_EQ(st.lapic_plain, 1);
	KEXPECT_EQ(st.lapic_hook, 0);
	KEXPECT_EQ(st.sensitive_allocated[KVM_PAGE_AVIC], 0);
	KASSERT_EQ(snp_alloc_get_stats(kvm_host_mm(host), &as), 0);
	KEXPECT_EQ(as.allocs, 0);   /* nothing went through snp_safe_alloc_page */
	KEXPECT_EQ(kvm_vcpu_enable_nested(host, vm, 0), SNP_ENOTSUP);
	KEXPECT_EQ(t_vcpu_run(host, vm, 0, 1, NULL), 0);
	KEXPECT_EQ(kvm_vcpu_exit(host, vm, 0), 0);
	{
		struct kvm_vm_config vc;

		kvm_vm_config_init(&vc, SNP_GUEST_SEV);
		KEXPECT_EQ(kvm_create_vm(host, &vc), SNP_ENOTSUP);
	}
	kvm_host_destroy(host);
}

static void test_kvm_svm_lapic_uses_hook(void)
{
	struct kvm_host *host = new_host(SNP_ALLOC_UPSTREAM);
	struct kvm_host_stats st;
	struct kvm_vcpu_pages pg;
	int vm = new_vm(host, SNP_GUEST_SVM, 4, 1);

	KASSERT_EQ(kvm_vcpu_get_pages(host, vm, 0, &pg), 0);
	KEXPECT(pg.avic_from_hook);
	KEXPECT(!snp_pfn_2m_aligned(pg.avic));
	KASSERT_EQ(kvm_host_get_stats(host, &st), 0);
	KEXPECT_EQ(st.lapic_hook, 1);
	KEXPECT_EQ(st.sensitive_allocated[KVM_PAGE_AVIC], 1);
	KEXPECT_EQ(st.order1_broken, 2 + 2);  /* 2 save areas, avic, vmcb01 */
	kvm_host_destroy(host);
}

/* A test vendor: svm's ops with a counting hook (the test owns the table). */
static struct kvm_x86_ops test_ops;
static struct kvm_x86_init_ops test_init;
static struct mm_host *test_mm;
static unsigned int hook_calls;

static struct page *test_hook(struct kvm_vcpu *vcpu)
{
	(void)vcpu;
	hook_calls++;
	return snp_safe_alloc_page(test_mm, 0);
}

static void make_test_vendor(void)
{
	test_init = *kvm_vendor_svm();
	test_ops = *test_init.runtime_ops;
	test_ops.name = "test";
	test_init.runtime_ops = &test_ops;
}

static void test_kvm_vendor_required_ops_checked(void)
{
	struct kvm_host_config cfg;
	struct kvm_host *host = NULL;

	make_test_vendor();
	test_ops.vcpu_run = NULL;
	kvm_host_config_init(&cfg, MEM, 2);
	cfg.vendor = &test_init;
	KEXPECT_EQ(kvm_host_create(&cfg, &host), SNP_EINVAL);
	KEXPECT(host == NULL);
	/* Bind, unbind, and a broken vendor leaves the host unbound. */
	host = new_host(SNP_ALLOC_UPSTREAM);
	KEXPECT_EQ(kvm_x86_vendor_init(host, kvm_vendor_svm()), SNP_EEXIST);
	KASSERT_EQ(kvm_x86_vendor_exit(host), 0);
	KEXPECT(kvm_host_vendor(host) == NULL);
	KEXPECT_EQ(kvm_x86_vendor_exit(host), SNP_ENOENT);
	KEXPECT_EQ(kvm_x86_vendor_init(host, &test_init), SNP_EINVAL);
	KEXPECT(kvm_host_vendor(host) == NULL);
	{
		struct kvm_vm_config vc;

		kvm_vm_config_init(&vc, SNP_GUEST_SVM);
		KEXPECT_EQ(kvm_create_vm(host, &vc), SNP_ENOENT);
	}
	KEXPECT_EQ(kvm_x86_vendor_init(host, kvm_vendor_svm()), 0);
	KEXPECT(kvm_host_save_area_pfn(host, 1) != SNP_NO_PAGE);
	kvm_host_destroy(host);
}

/*
 * The slots are bound once: after kvm_x86_vendor_init() the vendor's table
 * is not read again, so changing it does not change what KVM calls.  An
 * optional op bound NULL makes the LAPIC fall back to a plain page.
 */
static void test_kvm_static_call_slots_bound_once(void)
{
	struct kvm_host_config cfg;
	struct kvm_host *host;
	struct kvm_vcpu_pages pg;
	int vm;

	make_test_vendor();
	test_ops.alloc_apic_backing_page = test_hook;
	kvm_host_config_init(&cfg, MEM, 2);
	cfg.vendor = &test_init;
	host = new_host_cfg(&cfg);
	test_mm = kvm_host_mm(host);
	hook_calls = 0;
	test_ops.alloc_apic_backing_page = NULL;   /* too late: the slot holds test_hook */
	vm = new_vm(host, SNP_GUEST_SVM, 1, 2);
	KEXPECT_EQ(hook_calls, 2);
	kvm_host_destroy(host);

	make_test_vendor();
	test_ops.alloc_apic_backing_page = NULL;   /* optional: allowed */
	host = new_host_cfg(&cfg);
	vm = new_vm(host, SNP_GUEST_SVM, 1, 1);
	KASSERT_EQ(kvm_vcpu_get_pages(host, vm, 0, &pg), 0);
	KEXPECT(pg.avic != SNP_NO_PAGE);
	KEXPECT(!pg.avic_from_hook);
	kvm_host_destroy(host);
}

/* Guest pages the RMP still assigns (a VMSA not counted). */
static unsigned int assigned_guest_pages(struct kvm_host *host)
{
	struct snp_rmp *rmp = snp_machine_rmp(kvm_host_machine(host));
	unsigned int n = 0;

	for (snp_pfn_t p = 0; p < mm_nr_pages(kvm_host_mm(host)); p++) {
		struct snp_rmpentry e;

		if (!snp_rmp_query(rmp, snp_pfn_to_phys(p), &e) && e.assigned && !e.vmsa)
			n++;
	}
	return n;
}

static void (*svm_gmem_invalidate)(struct kvm *kvm);
static int (*svm_enable_cpu)(struct kvm_host *host, unsigned int cpu);
static int (*svm_disable_cpu)(struct kvm_host *host, unsigned int cpu);
static unsigned int gmem_calls, enable_calls, disable_calls;

static void count_gmem_invalidate(struct kvm *kvm)
{
	gmem_calls++;
	svm_gmem_invalidate(kvm);
}

static int count_enable_cpu(struct kvm_host *host, unsigned int cpu)
{
	enable_calls++;
	return svm_enable_cpu(host, cpu);
}

static int count_disable_cpu(struct kvm_host *host, unsigned int cpu)
{
	disable_calls++;
	return svm_disable_cpu(host, cpu);
}

/* The test vendor with svm's per-CPU and gmem ops behind counters. */
static void make_counting_vendor(void)
{
	make_test_vendor();
	svm_gmem_invalidate = test_ops.gmem_invalidate;
	svm_enable_cpu = test_ops.enable_virtualization_cpu;
	svm_disable_cpu = test_ops.disable_virtualization_cpu;
	test_ops.gmem_invalidate = count_gmem_invalidate;
	test_ops.enable_virtualization_cpu = count_enable_cpu;
	test_ops.disable_virtualization_cpu = count_disable_cpu;
	gmem_calls = enable_calls = disable_calls = 0;
}

/* A host bound to the counting vendor, optionally without gmem_invalidate. */
static struct kvm_host *new_counting_host(bool with_gmem_invalidate)
{
	struct kvm_host_config cfg;

	make_counting_vendor();
	if (!with_gmem_invalidate)
		test_ops.gmem_invalidate = NULL;
	kvm_host_config_init(&cfg, MEM, 2);
	cfg.vendor = &test_init;
	return new_host_cfg(&cfg);
}

/*
 * Generic VM teardown reaches SEV only through the gmem_invalidate slot
 * (kvm_arch_gmem_invalidate): with a counting op, each destroyed VM calls it
 * once, whatever its type, and the SNP VM's private pages come back shared.
 * With the op left NULL the same generic path runs without it, and nothing
 * else makes those pages shared: a direct call to sev.c would show here.
 */
static void test_kvm_gmem_invalidate_through_slot(void)
{
	struct kvm_host *host = new_counting_host(true);
	int vm = new_vm(host, SNP_GUEST_SNP, 4, 1);

	KASSERT_EQ(kvm_vm_launch(host, vm), 0);
	KEXPECT_EQ(assigned_guest_pages(host), 4);
	KASSERT_EQ(kvm_destroy_vm(host, vm), 0);
	KEXPECT_EQ(gmem_calls, 1);
	KEXPECT_EQ(assigned_guest_pages(host), 0);
	KEXPECT_EQ(kvm_host_nr_leaks(host), 0);
	vm = new_vm(host, SNP_GUEST_SVM, 4, 1);
	KASSERT_EQ(kvm_destroy_vm(host, vm), 0);
	KEXPECT_EQ(gmem_calls, 2);
	kvm_host_destroy(host);

	host = new_counting_host(false);
	vm = new_vm(host, SNP_GUEST_SNP, 4, 1);
	KASSERT_EQ(kvm_vm_launch(host, vm), 0);
	KASSERT_EQ(kvm_destroy_vm(host, vm), 0);
	KEXPECT_EQ(gmem_calls, 0);
	KEXPECT_EQ(assigned_guest_pages(host), 4);
	kvm_host_destroy(host);
}

/*
 * CPU online/offline go through enable_/disable_virtualization_cpu
 * (kvm_arch_{enable,disable}_virtualization_cpu): svm's save area follows
 * the counting ops; the vmx-like vendor binds neither, so the same generic
 * calls succeed and touch nothing; no vendor bound is SNP_ENOENT.
 */
static void test_kvm_cpu_online_through_slot(void)
{
	struct kvm_host *host = new_counting_host(true);
	struct kvm_host_config cfg;
	snp_pfn_t sa;

	KEXPECT_EQ(enable_calls, 0);   /* hardware_setup is the vendor's own business */
	KEXPECT_EQ(kvm_cpu_uninit(host, 1), 0);
	KEXPECT_EQ(disable_calls, 1);
	KEXPECT_EQ(kvm_host_save_area_pfn(host, 1), SNP_NO_PAGE);
	KEXPECT_EQ(kvm_cpu_init(host, 1), 0);
	KEXPECT_EQ(enable_calls, 1);
	sa = kvm_host_save_area_pfn(host, 1);
	KEXPECT(sa != SNP_NO_PAGE);
	KEXPECT(!snp_pfn_2m_aligned(sa));
	KEXPECT_EQ(kvm_cpu_init(host, 1), SNP_EEXIST);
	KEXPECT_EQ(enable_calls, 2);
	kvm_host_destroy(host);

	kvm_host_config_init(&cfg, MEM, 2);
	cfg.vendor = kvm_vendor_vmx_like();
	host = new_host_cfg(&cfg);
	KEXPECT_EQ(kvm_cpu_uninit(host, 1), 0);
	KEXPECT_EQ(kvm_cpu_init(host, 1), 0);
	KEXPECT_EQ(kvm_host_save_area_pfn(host, 1), SNP_NO_PAGE);
	KEXPECT_EQ(kvm_cpu_init(host, 2), SNP_EINVAL);
	KEXPECT_EQ(kvm_x86_vendor_exit(host), 0);
	KEXPECT_EQ(kvm_cpu_init(host, 1), SNP_ENOENT);
	KEXPECT_EQ(kvm_cpu_uninit(host, 1), SNP_ENOENT);
	kvm_host_destroy(host);
}

/* ---- SNP ---- */

static void test_kvm_snp_vmsa_vmrun_row(void)
{
	struct kvm_host *host = new_host(SNP_ALLOC_UPSTREAM);
	struct snp_rmp *rmp = snp_machine_rmp(kvm_host_machine(host));
	struct snp_vmrun_result res;
	struct kvm_vcpu_pages pg;
	struct snp_rmpentry e;
	uint32_t asid;
	int vm = new_vm(host, SNP_GUEST_SNP, 8, 1);

	KASSERT_EQ(kvm_vm_info(host, vm, NULL, &asid, NULL), 0);
	KEXPECT(asid >= 1 && asid < 100);
	KASSERT_EQ(kvm_vcpu_get_pages(host, vm, 0, &pg), 0);
	/* Before launch the VMSA is still Hypervisor-owned: the SNP row fails. */
	KEXPECT_EQ(t_vcpu_run(host, vm, 0, 1, &res), SNP_VMRUN_VMEXIT_INVALID);
	KEXPECT_EQ(res.check, SNP_VMRUN_VMSA_NOT_GUEST_OWNED);
	KASSERT_EQ(kvm_vm_launch(host, vm), 0);
	KEXPECT_EQ(kvm_vm_launch(host, vm), SNP_EEXIST);
	KASSERT_EQ(snp_rmp_query(rmp, snp_pfn_to_phys(pg.vmsa), &e), 0);
	KEXPECT(e.assigned && e.vmsa && !e.immutable && e.asid == asid);
	KEXPECT_EQ(snp_page_state(&e), SNP_PS_GUEST_VALID);
	KEXPECT_EQ(t_vcpu_run(host, vm, 0, 1, &res), SNP_VMRUN_ENTERED);
	KEXPECT(res.marked & SNP_ROLE_VMSA);
	KEXPECT(snp_rmp_inuse(rmp, pg.vmsa));
	KEXPECT_EQ(kvm_create_vcpu(host, vm, 1, 0), SNP_EPERM);
	KEXPECT_EQ(kvm_vcpu_exit(host, vm, 0), 0);
	/* The direct map was split to 4K around the private pages. */
	{
		enum snp_map_size sz;

		KASSERT_EQ(snp_direct_map_lookup(kvm_host_machine(host),
						 snp_pfn_to_virt(pg.vmsa), &sz), 0);
		KEXPECT_EQ(sz, SNP_MAP_4K);
	}
	KASSERT_EQ(kvm_destroy_vm(host, vm), 0);
	KASSERT_EQ(snp_rmp_query(rmp, snp_pfn_to_phys(pg.vmsa), &e), 0);
	KEXPECT(!e.assigned);
	KEXPECT_EQ(kvm_host_nr_leaks(host), 0);
	kvm_host_destroy(host);
}

/*
 * sev_free_vcpu() makes an SNP VMSA shared with RMPUPDATE only, no firmware
 * reclaim first: a VMSA left immutable (here swapped out by firmware,
 * Pre-Swap) fails with FAIL_PERMISSION and is leaked, not freed.
 */
static void test_kvm_snp_vmsa_rmpupdate_only(void)
{
	struct kvm_host *host = new_host(SNP_ALLOC_UPSTREAM);
	struct snp_machine *m = kvm_host_machine(host);
	struct kvm_vcpu_pages pg;
	struct kvm_leak l;
	int vm = new_vm(host, SNP_GUEST_SNP, 8, 1);

	KASSERT_EQ(kvm_vm_launch(host, vm), 0);
	KASSERT_EQ(kvm_vcpu_get_pages(host, vm, 0, &pg), 0);
	KASSERT_EQ(snp_fw_page_swap_out(snp_machine_rmp(m), snp_pfn_to_phys(pg.vmsa)), 0);
	KASSERT_EQ(kvm_destroy_vm(host, vm), 0);
	KASSERT(kvm_host_nr_leaks(host) >= 1);
	KASSERT_EQ(kvm_host_get_leak(host, 0, &l), 0);
	KEXPECT_EQ(l.pfn, pg.vmsa);
	KEXPECT_EQ(l.kind, KVM_PAGE_VMSA);
	KEXPECT_EQ(l.ret, SNP_FAIL_PERMISSION);
	kvm_host_destroy(host);
}

/*
 * Leak path: with inuse_cleared_at_vmexit off the VMSA keeps VMRUN's mark
 * after #VMEXIT, RMPUPDATE back to shared fails FAIL_INUSE, and the page is
 * leaked on purpose and listed.  Also a guest page kept in-use.
 */
static void test_kvm_snp_vmsa_leaked_when_inuse(void)
{
	struct kvm_host *host = new_host(SNP_ALLOC_UPSTREAM);
	struct snp_machine *m = kvm_host_machine(host);
	struct kvm_vcpu_pages pg;
	struct kvm_leak l;
	uint64_t start = free_pages(host);
	int vm = new_vm(host, SNP_GUEST_SNP, 8, 1);

	KASSERT_EQ(kvm_vm_launch(host, vm), 0);
	KASSERT_EQ(kvm_vcpu_get_pages(host, vm, 0, &pg), 0);
	snp_machine_profile(m)->inuse_cleared_at_vmexit = false;
	KASSERT_EQ(t_vcpu_run(host, vm, 0, 1, NULL), SNP_VMRUN_ENTERED);
	KASSERT_EQ(kvm_vcpu_exit(host, vm, 0), 0);
	KEXPECT(snp_rmp_inuse(snp_machine_rmp(m), pg.vmsa));
	KASSERT_EQ(kvm_destroy_vm(host, vm), 0);
	KASSERT_EQ(kvm_host_nr_leaks(host), 1);
	KASSERT_EQ(kvm_host_get_leak(host, 0, &l), 0);
	ktap_log("leaked pfn 0x%llx (%s) ret %d: %s", (unsigned long long)l.pfn,
		 kvm_page_kind_name(l.kind), l.ret, l.label);
	KEXPECT_EQ(l.pfn, pg.vmsa);
	KEXPECT_EQ(l.kind, KVM_PAGE_VMSA);
	KEXPECT_EQ(l.ret, SNP_FAIL_INUSE);
	KEXPECT(strcmp(l.label, "vm 0 vcpu 0 vmsa") == 0);
	KEXPECT_EQ(kvm_host_get_leak(host, 1, &l), SNP_ENOENT);
	KEXPECT_EQ(free_pages(host), start - 1);
	KEXPECT_EQ(mm_page_allocated(kvm_host_mm(host), mm_pfn_to_page(kvm_host_mm(host), pg.vmsa)), 1);
	KEXPECT_EQ(snp_vmrun_clear_stale(m, 1), 0);

	/* A guest page of an order-2 block kept in-use: that page leaks, its block-mates free. */
	snp_machine_profile(m)->inuse_cleared_at_vmexit = true;
	start = free_pages(host);
	vm = new_vm(host, SNP_GUEST_SNP, 4, 1);
	KASSERT_EQ(kvm_vm_launch(host, vm), 0);
	{
		struct snp_rmp *rmp = snp_machine_rmp(m);
		snp_pfn_t gp = SNP_NO_PAGE;

		for (snp_pfn_t p = 0; p < mm_nr_pages(kvm_host_mm(host)) && gp == SNP_NO_PAGE; p++) {
			struct snp_rmpentry e;

			if (!snp_rmp_query(rmp, snp_pfn_to_phys(p), &e) && e.assigned && !e.vmsa &&
			    e.gpa == 2 * SNP_PAGE_SIZE)
				gp = p;
		}
		KASSERT(gp != SNP_NO_PAGE);
		KASSERT_EQ(snp_rmp_mark_inuse(rmp, gp), 0);
		KASSERT_EQ(kvm_destroy_vm(host, vm), 0);
		KASSERT_EQ(kvm_host_nr_leaks(host), 2);
		KASSERT_EQ(kvm_host_get_leak(host, 1, &l), 0);
		ktap_log("leaked pfn 0x%llx (%s): %s", (unsigned long long)l.pfn,
			 kvm_page_kind_name(l.kind), l.label);
		KEXPECT_EQ(l.pfn, gp);
		KEXPECT_EQ(l.kind, KVM_PAGE_NR_KINDS);
		KEXPECT(strcmp(l.label, "vm 1 gpa 0x2000") == 0);
		KEXPECT_EQ(free_pages(host), start - 1);
	}
	kvm_host_destroy(host);
}

/*
 * A launch RMPUPDATE that fails is the kernel's -EFAULT (rmp_make_private()
 * in Linux 6.12 arch/x86/virt/svm/sev.c), the instruction's own code kept
 * for the caller (kvm_vm_launch_rmp_ret()): a VMSA kept in-use gives
 * FAIL_INUSE, a VMSA inside a region another guest holds as one 2M entry
 * gives FAIL_OVERLAP.  Both used to come back as the same SNP_EBUSY.
 */
static void test_kvm_snp_launch_rmp_codes(void)
{
	struct kvm_host *host = new_host(SNP_ALLOC_UPSTREAM);
	struct snp_machine *m = kvm_host_machine(host);
	struct snp_rmp *rmp = snp_machine_rmp(m);
	struct kvm_host_stats st;
	struct kvm_vcpu_pages pg;
	int vm, code = -1;
	snp_pfn_t region;

	vm = new_vm(host, SNP_GUEST_SNP, 8, 1);
	KASSERT_EQ(kvm_vcpu_get_pages(host, vm, 0, &pg), 0);
	KASSERT_EQ(kvm_vm_launch_rmp_ret(host, vm, &code), 0);
	KEXPECT_EQ(code, SNP_RMP_SUCCESS);
	KASSERT_EQ(snp_rmp_mark_inuse(rmp, pg.vmsa), 0);
	KEXPECT_EQ(kvm_vm_launch(host, vm), SNP_EFAULT);
	KASSERT_EQ(kvm_vm_launch_rmp_ret(host, vm, &code), 0);
	KEXPECT_EQ(code, SNP_FAIL_INUSE);
	KASSERT_EQ(snp_rmp_clear_inuse(rmp, pg.vmsa), 0);
	KASSERT_EQ(kvm_destroy_vm(host, vm), 0);

	vm = new_vm(host, SNP_GUEST_SNP, 8, 1);
	KASSERT_EQ(kvm_vcpu_get_pages(host, vm, 0, &pg), 0);
	region = snp_pfn_2m_base(pg.vmsa);
	KASSERT_EQ(snp_rmp_make_private(m, region, 0, SNP_MAP_2M, 77, false, NULL), 0);
	KEXPECT_EQ(kvm_vm_launch(host, vm), SNP_EFAULT);
	KASSERT_EQ(kvm_vm_launch_rmp_ret(host, vm, &code), 0);
	KEXPECT_EQ(code, SNP_FAIL_OVERLAP);
	KASSERT_EQ(snp_rmp_make_shared(m, region, SNP_MAP_2M, NULL), 0);
	KASSERT_EQ(kvm_destroy_vm(host, vm), 0);

	KEXPECT_EQ(kvm_vm_launch_rmp_ret(host, vm, &code), SNP_ENOENT);
	KEXPECT_EQ(kvm_vm_launch_rmp_ret(NULL, 0, &code), SNP_EINVAL);
	KEXPECT_EQ(kvm_host_nr_leaks(host), 0);
	KASSERT_EQ(kvm_host_get_stats(host, &st), 0);
	KEXPECT_EQ(st.teardown_errors, 0);
	kvm_host_destroy(host);
}

/*
 * A free on teardown that fails (here: a page freed behind KVM's back, so
 * KVM's own free is a double free the allocator refuses) is not dropped:
 * kvm_warn_on_err() counts it, as the kernel would WARN.
 */
static void test_kvm_teardown_error_counted(void)
{
	struct kvm_host *host = new_host(SNP_ALLOC_UPSTREAM);
	struct mm_host *mm = kvm_host_mm(host);
	struct kvm_host_stats st;
	struct kvm_vcpu_pages pg;
	int vm = new_vm(host, SNP_GUEST_SVM, 8, 1);

	KASSERT_EQ(kvm_vcpu_get_pages(host, vm, 0, &pg), 0);
	KASSERT_EQ(mm_free_pages(mm, 0, mm_pfn_to_page(mm, pg.pio), 0), 0);
	KASSERT_EQ(kvm_destroy_vm(host, vm), 0);
	KASSERT_EQ(kvm_host_get_stats(host, &st), 0);
	KEXPECT_EQ(st.teardown_errors, 1);
	kvm_host_destroy(host);
}

/* ---- 1,000 VMs ---- */

static void churn(struct kvm_host *host, unsigned int nr_vms, uint64_t seed)
{
	uint64_t rng = seed;

	for (unsigned int i = 0; i < nr_vms; i++) {
		enum snp_guest_type t = (enum snp_guest_type)(i % 4);
		unsigned int nv = 1 + (unsigned int)mm_rng_below(&rng, 2);
		int vm = new_vm(host, t, 1 + mm_rng_below(&rng, 8), nv);

		if (t == SNP_GUEST_SVM && mm_rng_below(&rng, 2))
			KASSERT_EQ(kvm_vcpu_enable_nested(host, vm, 0), 0);
		KASSERT_EQ(kvm_vm_launch(host, vm), 0);
		if (t_vcpu_run(host, vm, 0, (unsigned int)mm_rng_below(&rng, 2), NULL) == 0)
			KASSERT_EQ(kvm_vcpu_exit(host, vm, 0), 0);
		KASSERT_EQ(kvm_destroy_vm(host, vm), 0);
		KEXPECT_EQ(kvm_destroy_vm(host, vm), SNP_ENOENT);
	}
}

static void test_kvm_1000_vms_no_page_lost(void)
{
	static const enum snp_alloc_strategy strat[] = {
		SNP_ALLOC_UPSTREAM, SNP_ALLOC_NAIVE, SNP_ALLOC_SIEVE,
	};

	for (unsigned int s = 0; s < KTAP_ARRAY_SIZE(strat); s++) {
		struct kvm_host *host = new_host(strat[s]);
		unsigned int n = strat[s] == SNP_ALLOC_UPSTREAM ? 1000 : 300;
		uint64_t start;
		struct kvm_host_stats st;
		char msg[256];

		KEXPECT(snp_safe_release(kvm_host_mm(host), 0) >= 0);  /* sieve: count set-aside pages as free */
		start = free_pages(host);

		churn(host, n, 42 + s);
		KEXPECT(snp_safe_release(kvm_host_mm(host), 0) >= 0);
		KASSERT_EQ(kvm_host_get_stats(host, &st), 0);
		ktap_log("%s: %u VMs, %llu vCPUs, free %llu -> %llu, leaked %llu, order-1 broken %llu,"
			 " vmcb01 aligned %llu/%llu",
			 snp_alloc_strategy_name(strat[s]), n, (unsigned long long)st.vcpus_created,
			 (unsigned long long)start, (unsigned long long)free_pages(host),
			 (unsigned long long)st.leaked_pages, (unsigned long long)st.order1_broken,
			 (unsigned long long)st.sensitive_aligned[KVM_PAGE_VMCB01],
			 (unsigned long long)st.sensitive_allocated[KVM_PAGE_VMCB01]);
		KEXPECT_EQ(st.vms_created, n);
		KEXPECT_EQ(st.vms_destroyed, n);
		KEXPECT_EQ(kvm_host_nr_vms(host), 0);
		KEXPECT_EQ(free_pages(host), start - st.leaked_pages);
		KEXPECT_EQ(st.teardown_errors, 0);   /* every free on the way went through */
		KEXPECT_EQ(st.leaked_pages, kvm_host_nr_leaks(host));
		KEXPECT_EQ(st.leaked_pages, 0);
		KEXPECT_EQ(mm_check(kvm_host_mm(host), msg, sizeof(msg)), 0);
		KEXPECT_EQ(snp_rmp_2m_nr_assigned(snp_machine_rmp(kvm_host_machine(host)), 0), 0);
		kvm_host_destroy(host);
	}
}

/* ---- bad input ---- */

static void test_kvm_bad_input(void)
{
	struct kvm_host *host = new_host(SNP_ALLOC_UPSTREAM);
	struct kvm_host_config cfg;
	struct kvm_vcpu_pages pg;
	struct kvm_vm_config vc;
	struct kvm_host_stats st;
	int vm;

	KEXPECT_EQ(kvm_host_create(NULL, NULL), SNP_EINVAL);
	kvm_host_config_init(&cfg, MEM, 2);
	cfg.min_sev_asid = 1;
	KEXPECT_EQ(kvm_host_create(&cfg, &(struct kvm_host *){ NULL }), SNP_EINVAL);
	kvm_host_destroy(NULL);
	KEXPECT_EQ(kvm_create_vm(NULL, NULL), SNP_EINVAL);
	KEXPECT_EQ(kvm_create_vm(host, NULL), SNP_EINVAL);
	kvm_vm_config_init(&vc, SNP_GUEST_SVM);
	vc.cpu = 7;
	KEXPECT_EQ(kvm_create_vm(host, &vc), SNP_EINVAL);
	vc.cpu = 0;
	vc.type = (enum snp_guest_type)9;
	KEXPECT_EQ(kvm_create_vm(host, &vc), SNP_EINVAL);
	vm = new_vm(host, SNP_GUEST_SVM, 2, 1);
	KEXPECT_EQ(kvm_create_vcpu(NULL, vm, 1, 0), SNP_EINVAL);
	KEXPECT_EQ(kvm_create_vcpu(host, vm + 100, 1, 0), SNP_ENOENT);
	KEXPECT_EQ(kvm_create_vcpu(host, -1, 1, 0), SNP_ENOENT);
	KEXPECT_EQ(kvm_create_vcpu(host, vm, KVM_MAX_VCPUS, 0), SNP_EINVAL);
	KEXPECT_EQ(kvm_create_vcpu(host, vm, 1, 2), SNP_EINVAL);
	KEXPECT_EQ(kvm_create_vcpu(host, vm, 0, 0), SNP_EEXIST);
	KEXPECT_EQ(kvm_vcpu_run(host, vm, 0, 0, NULL), SNP_EINVAL);   /* no place for the outcome */
	KEXPECT_EQ(t_vcpu_run(host, vm, 0, 5, NULL), SNP_EINVAL);
	KEXPECT_EQ(t_vcpu_run(host, vm, 3, 0, NULL), SNP_ENOENT);
	KEXPECT_EQ(t_vcpu_run(host, vm, 999, 0, NULL), SNP_EINVAL);
	KEXPECT_EQ(kvm_vcpu_exit(host, vm, 0), SNP_ENOENT);
	KEXPECT_EQ(kvm_vcpu_get_pages(host, vm, 0, NULL), SNP_EINVAL);
	KEXPECT_EQ(kvm_vcpu_get_pages(NULL, vm, 0, &pg), SNP_EINVAL);
	KEXPECT_EQ(kvm_vcpu_set_guest_mode(host, vm, 0, true), SNP_EINVAL);
	KEXPECT_EQ(kvm_vcpu_disable_nested(host, vm, 0), SNP_ENOENT);
	KEXPECT_EQ(kvm_vcpu_enable_nested(host, vm, 0), 0);
	KEXPECT_EQ(kvm_vcpu_enable_nested(host, vm, 0), SNP_EEXIST);
	KEXPECT_EQ(kvm_vcpu_disable_nested(host, vm, 0), 0);
	KEXPECT_EQ(kvm_vcpu_disable_nested(host, vm, 0), SNP_ENOENT);
	KEXPECT_EQ(t_vcpu_run(host, vm, 0, 0, NULL), 0);
	KEXPECT_EQ(t_vcpu_run(host, vm, 0, 1, NULL), SNP_EBUSY);
	KEXPECT_EQ(kvm_cpu_uninit(host, 0), SNP_EBUSY);
	KEXPECT_EQ(kvm_vcpu_exit(host, vm, 0), 0);
	KEXPECT_EQ(kvm_vcpu_exit(host, vm, 0), SNP_ENOENT);
	KEXPECT_EQ(kvm_cpu_init(host, 9), SNP_EINVAL);
	KEXPECT_EQ(kvm_cpu_init(host, 0), SNP_EEXIST);
	KEXPECT_EQ(kvm_cpu_uninit(host, 1), 0);
	KEXPECT_EQ(kvm_cpu_uninit(host, 1), SNP_ENOENT);
	KEXPECT_EQ(kvm_host_save_area_pfn(host, 1), SNP_NO_PAGE);
	KEXPECT_EQ(t_vcpu_run(host, vm, 0, 1, NULL), SNP_EINVAL);   /* SVM off on CPU 1 */
	KEXPECT_EQ(kvm_cpu_init(host, 1), 0);
	KEXPECT_EQ(kvm_x86_vendor_exit(host), SNP_EBUSY);
	KEXPECT_EQ(kvm_vm_launch(NULL, 0), SNP_EINVAL);
	KEXPECT_EQ(kvm_vm_info(host, 12345, NULL, NULL, NULL), SNP_ENOENT);
	KEXPECT_EQ(kvm_host_get_stats(host, NULL), SNP_EINVAL);
	KEXPECT_EQ(kvm_host_get_stats(NULL, &st), SNP_EINVAL);
	KEXPECT_EQ(kvm_host_get_leak(host, 0, NULL), SNP_EINVAL);
	KEXPECT_EQ(kvm_host_tick(NULL, 1, NULL, NULL), SNP_EINVAL);
	KEXPECT_EQ(kvm_destroy_vm(host, vm), 0);
	KEXPECT_EQ(kvm_destroy_vm(host, vm), SNP_ENOENT);
	KEXPECT_EQ(kvm_destroy_vm(NULL, vm), SNP_EINVAL);
	kvm_host_destroy(host);
}

/* SNP guests need the host-wide SNP switch; SEV-ES/SNP ASIDs run out. */
static void test_kvm_snp_switch_and_asids(void)
{
	struct kvm_host_config cfg;
	struct kvm_host *host;
	struct kvm_vm_config vc;
	struct kvm_vcpu_pages pg;
	int vm;

	kvm_host_config_init(&cfg, MEM, 2);
	cfg.snp_enabled = false;
	cfg.min_sev_asid = 3;
	host = new_host_cfg(&cfg);
	kvm_vm_config_init(&vc, SNP_GUEST_SNP);
	KEXPECT_EQ(kvm_create_vm(host, &vc), SNP_ENOTSUP);
	/* SNP off: upstream's fallback is a plain order-0 page. */
	vm = new_vm(host, SNP_GUEST_SEV_ES, 1, 1);
	KASSERT_EQ(kvm_vcpu_get_pages(host, vm, 0, &pg), 0);
	KEXPECT(pg.vmsa != SNP_NO_PAGE);
	{
		struct kvm_host_stats st;

		KASSERT_EQ(kvm_host_get_stats(host, &st), 0);
		KEXPECT_EQ(st.order1_broken, 0);
	}
	KEXPECT(new_vm(host, SNP_GUEST_SEV_ES, 1, 0) >= 0);
	kvm_vm_config_init(&vc, SNP_GUEST_SEV_ES);
	KEXPECT_EQ(kvm_create_vm(host, &vc), SNP_EBUSY);
	KASSERT_EQ(kvm_destroy_vm(host, vm), 0);
	KEXPECT(kvm_create_vm(host, &vc) >= 0);
	kvm_host_destroy(host);
}

/* ---- ticks ---- */

static void tick_run(enum snp_alloc_strategy s, unsigned int ticks, struct kvm_host_stats *st)
{
	struct kvm_host_config cfg;
	struct kvm_host *host;
	struct mm_aged *aged = NULL;
	struct mm_age_config ac;
	uint64_t start;

	kvm_host_config_init(&cfg, MEM, 4);
	cfg.strategy = s;
	cfg.avic = KVM_AVIC_ON;
	host = new_host_cfg(&cfg);
	mm_age_config_init(&ac, 7);
	ac.churn_ops = 5000;
	ac.max_ops = 20000;
	ac.target_frag = 0;
	ac.target_use = 300;
	KASSERT_EQ(mm_age(kvm_host_mm(host), &ac, &aged), 0);
	KEXPECT(snp_safe_release(kvm_host_mm(host), 0) >= 0);
	start = free_pages(host);
	for (unsigned int i = 0; i < 24; i++) {
		int vm = new_vm(host, (enum snp_guest_type)(i % 4), 4, 2);

		if (i % 4 == 0)
			KASSERT_EQ(kvm_vcpu_enable_nested(host, vm, 0), 0);
		KASSERT_EQ(kvm_vm_launch(host, vm), 0);
	}
	for (unsigned int t = 0; t < ticks; t++)
		KASSERT_EQ(kvm_host_tick(host, 1000 + t, NULL, NULL), 0);
	for (int vm = 0; vm < 24; vm++)
		KASSERT_EQ(kvm_destroy_vm(host, vm), 0);
	kvm_host_kernel_work_release(host);
	KEXPECT(snp_safe_release(kvm_host_mm(host), 0) >= 0);
	KASSERT_EQ(kvm_host_get_stats(host, st), 0);
	KEXPECT_EQ(free_pages(host), start - st->leaked_pages);
	KASSERT_EQ(mm_aged_release(kvm_host_mm(host), aged), 0);
	kvm_host_destroy(host);
}

/*
 * The tick in real time counts kernel work's writes into VMRUN regions
 * (docs/MODEL.md): only while a vCPU runs can a region hold an in-use
 * page, so with no vCPU running there are writes but none into a VMRUN
 * region; with vCPUs running some are, not all (far writes land anywhere),
 * and those through a hugepage leaf a subset of them.
 */
static void test_kvm_tick_region_writes(void)
{
	for (int run = 0; run < 2; run++) {
		struct kvm_tick_config tc;
		struct kvm_host_stats st;
		struct kvm_host *host = new_host(SNP_ALLOC_NAIVE);

		for (int i = 0; i < 4; i++)
			KASSERT_EQ(kvm_vm_launch(host, new_vm(host, SNP_GUEST_SVM, 4, 2)), 0);
		kvm_tick_config_init(&tc);
		tc.run_pct = run ? 50 : 0;
		tc.near_pct = 50;       /* half the writes aim at a sensitive page's region */
		for (unsigned int t = 0; t < 50; t++)
			KASSERT_EQ(kvm_host_tick(host, 77 + t, &tc, NULL), 0);
		KASSERT_EQ(kvm_host_get_stats(host, &st), 0);
		ktap_log("run_pct %u: ticks %llu, writes %llu, into VMRUN regions %llu (hugepage %llu)",
			 tc.run_pct, (unsigned long long)st.ticks, (unsigned long long)st.kernel_writes,
			 (unsigned long long)st.region_writes, (unsigned long long)st.region_huge_writes);
		KEXPECT_EQ(st.ticks, 50);
		KEXPECT(st.kernel_writes > 0);
		KEXPECT(st.region_huge_writes <= st.region_writes);
		KEXPECT(st.region_writes <= st.kernel_writes);
		if (run)
			KEXPECT(st.region_huge_writes > 0 && st.region_writes < st.kernel_writes);
		else
			KEXPECT_EQ(st.region_writes, 0);
		kvm_host_kernel_work_release(host);
		kvm_host_destroy(host);
	}
}

static void test_kvm_tick_deterministic(void)
{
	static const enum snp_alloc_strategy strat[] = {
		SNP_ALLOC_NAIVE, SNP_ALLOC_UPSTREAM, SNP_ALLOC_SIEVE,
	};

	for (unsigned int s = 0; s < KTAP_ARRAY_SIZE(strat); s++) {
		struct kvm_host_stats a, b;
		uint64_t al = 0, nr = 0;

		tick_run(strat[s], 200, &a);
		tick_run(strat[s], 200, &b);
		KEXPECT(memcmp(&a, &b, sizeof(a)) == 0);
		for (unsigned int k = 0; k < KVM_PAGE_NR_KINDS; k++) {
			al += a.sensitive_aligned[k];
			nr += a.sensitive_allocated[k];
		}
		ktap_log("%s: vmruns %llu, writes %llu, faults %llu, spurious %llu, sensitive %llu"
			 " (aligned %llu), order-1 broken %llu",
			 snp_alloc_strategy_name(strat[s]), (unsigned long long)a.vmruns,
			 (unsigned long long)a.kernel_writes, (unsigned long long)a.faults,
			 (unsigned long long)a.spurious_faults, (unsigned long long)nr,
			 (unsigned long long)al, (unsigned long long)a.order1_broken);
		KEXPECT(a.vmruns > 0 && a.kernel_writes > 0);
		if (strat[s] != SNP_ALLOC_NAIVE) {
			KEXPECT_EQ(al, 0);
			KEXPECT_EQ(a.spurious_faults, 0);
		}
	}
}

/* Pages on @cpu's per-CPU lists for the zone of a page of the host (its DMA32 zone). */
static unsigned int pcp_count(struct kvm_host *host, unsigned int cpu)
{
	struct mm_pcp_info pi;

	KASSERT_EQ(mm_pcp_sizes(kvm_host_mm(host), (32 * SNP_MiB) >> 12, cpu, &pi), 0);
	return pi.count;
}

/*
 * kvm_vm_set_vmm_cpu(): a VM made on CPU 0 ends on CPU 0, its pages on CPU
 * 0's per-CPU lists; one whose VMM thread moved to CPU 1 ends there, its
 * pages on CPU 1's lists, none on CPU 0's.  A CPU the host lacks, or a VM
 * gone, is refused.
 */
static void test_kvm_vmm_cpu_moves(void)
{
	struct kvm_host *host = new_host(SNP_ALLOC_NAIVE);
	int vm = new_vm(host, SNP_GUEST_SVM, 16, 2);

	mm_drain_all_pages(kvm_host_mm(host));
	KASSERT_EQ(kvm_destroy_vm(host, vm), 0);
	KEXPECT(pcp_count(host, 0) > 0);
	KEXPECT_EQ(pcp_count(host, 1), 0);
	vm = new_vm(host, SNP_GUEST_SVM, 16, 2);
	mm_drain_all_pages(kvm_host_mm(host));
	KEXPECT_EQ(kvm_vm_set_vmm_cpu(host, vm, 2), SNP_EINVAL);
	KASSERT_EQ(kvm_vm_set_vmm_cpu(host, vm, 1), 0);
	KASSERT_EQ(kvm_destroy_vm(host, vm), 0);
	ktap_log("after the VM's end: %u pages on CPU 0's lists, %u on CPU 1's",
		 pcp_count(host, 0), pcp_count(host, 1));
	KEXPECT_EQ(pcp_count(host, 0), 0);
	KEXPECT(pcp_count(host, 1) > 0);
	KEXPECT_EQ(kvm_vm_set_vmm_cpu(host, vm, 0), SNP_ENOENT);
	KEXPECT_EQ(kvm_vm_set_vmm_cpu(NULL, vm, 0), SNP_EINVAL);
	kvm_host_destroy(host);
}

static const struct ktap_case cases[] = {
	KTAP_CASE(test_kvm_tick_region_writes),
	KTAP_CASE(test_kvm_vcpu_create_order),
	KTAP_CASE(test_kvm_snp_vmsa_rmpupdate_only),
	KTAP_CASE(test_kvm_vmx_like_lapic_plain_page),
	KTAP_CASE(test_kvm_svm_lapic_uses_hook),
	KTAP_CASE(test_kvm_vendor_required_ops_checked),
	KTAP_CASE(test_kvm_static_call_slots_bound_once),
	KTAP_CASE(test_kvm_gmem_invalidate_through_slot),
	KTAP_CASE(test_kvm_cpu_online_through_slot),
	KTAP_CASE(test_kvm_snp_vmsa_vmrun_row),
	KTAP_CASE(test_kvm_snp_vmsa_leaked_when_inuse),
	KTAP_CASE(test_kvm_snp_launch_rmp_codes),
	KTAP_CASE(test_kvm_teardown_error_counted),
	KTAP_CASE(test_kvm_1000_vms_no_page_lost),
	KTAP_CASE(test_kvm_bad_input),
	KTAP_CASE(test_kvm_snp_switch_and_asids),
	KTAP_CASE(test_kvm_tick_deterministic),
	KTAP_CASE(test_kvm_vmm_cpu_moves),
};

KTAP_MAIN("kvm_life", cases)
