// SPDX-License-Identifier: MIT
/*
 * test_kvm_debugfs.c - KVM's debugfs files as the page allocator sees them
 * (src/kvm/kvm_debugfs.c): the RECLAIMABLE slabs a VM's and its vCPUs'
 * files take on each kernel (inode_cache order 2 of 25 on 6.12, order 1 of
 * 12 on 6.1; dentry order 0 of 21), none when off, and frees that wait for
 * the RCU grace period (the next tick).
 */
#include "insn_util.h"
#include "ktap.h"
#include "mm_util.h"

#include <snpsafe/kvm.h>

#include <string.h>

#define MEM (64 * SNP_MiB)
#define R MM_MT_RECLAIMABLE

typedef uint64_t events_t[MM_NR_ORDERS][MM_NR_MIGRATETYPES];

static struct kvm_host *new_host(enum mm_kernel k, enum kvm_debugfs d)
{
	struct kvm_host_config cfg;
	struct kvm_host *host = NULL;

	kvm_host_config_init(&cfg, MEM, 2);
	cfg.strategy = SNP_ALLOC_NAIVE;
	cfg.kernel = k;
	cfg.kvm_debugfs = d;
	KASSERT_EQ(kvm_host_create(&cfg, &host), 0);
	return host;
}

/* RECLAIMABLE slab allocations by order since @ev (moved on). */
static void reclaimable_since(struct mm_host *mm, events_t ev, uint64_t out[MM_NR_ORDERS])
{
	events_t now;

	KASSERT_EQ(mm_alloc_events(mm, now), 0);
	for (unsigned int o = 0; o < MM_NR_ORDERS; o++) {
		out[o] = now[o][R] - ev[o][R];
		for (unsigned int t = 0; t < MM_NR_MIGRATETYPES; t++)
			ev[o][t] = now[o][t];
	}
}

/* A VM of @vcpus vCPUs (@apic: in-kernel LAPIC), no guest memory, on CPU 0. */
static int make_vm(struct kvm_host *host, unsigned int vcpus, bool apic)
{
	struct kvm_vm_config vc;
	int vm;

	kvm_vm_config_init(&vc, SNP_GUEST_SVM);
	vc.guest_pages = 0;
	vc.lapic_in_kernel = apic;
	vm = kvm_create_vm(host, &vc);
	KASSERT(vm >= 0);
	for (unsigned int i = 0; i < vcpus; i++)
		KASSERT_EQ(kvm_create_vcpu(host, vm, i, 0), 0);
	return vm;
}

/*
 * A VM's directory, its 15 + 45 statistics and mmu_rmaps_stat (62 files),
 * and per vCPU a directory, pid, guest_mode, tsc-offset (4), the LAPIC's
 * lapic_timer_advance_ns, and with the TSC ratio MSR (on, not tcg) two
 * more: 70 files for 2 vCPUs under tcg without a LAPIC, 76 on with one.
 */
static void test_files_slabs(void)
{
	static const struct {
		enum mm_kernel k;
		enum kvm_debugfs d;
		bool apic;
		unsigned int inode_order, inode_slabs, dentry_pages;
	} c[] = {
		{ MM_KERNEL_6_12, KVM_DEBUGFS_TCG, false, 2, 3, 4 },   /* 70: 25 a slab, 21 a page */
		{ MM_KERNEL_6_12, KVM_DEBUGFS_ON, true, 2, 4, 4 },     /* 76 */
		{ MM_KERNEL_6_1, KVM_DEBUGFS_TCG, false, 1, 6, 4 },    /* 70: 12 a slab */
	};

	for (unsigned int i = 0; i < KTAP_ARRAY_SIZE(c); i++) {
		struct kvm_host *host = new_host(c[i].k, c[i].d);
		struct mm_host *mm = kvm_host_mm(host);
		uint64_t r[MM_NR_ORDERS];
		events_t ev;

		ktap_log("kernel %s, debugfs %s, LAPIC %d", mm_kernel_name(c[i].k),
			 kvm_debugfs_name(c[i].d), c[i].apic);
		KASSERT_EQ(mm_alloc_events(mm, ev), 0);
		(void)make_vm(host, 2, c[i].apic);
		reclaimable_since(mm, ev, r);
		for (unsigned int o = 0; o < MM_NR_ORDERS; o++) {
			uint64_t want = o == c[i].inode_order ? c[i].inode_slabs :
					o == 0 ? c[i].dentry_pages : 0;

			KEXPECT_EQ(r[o], want);
		}
		MMT_CHECK(mm);
		kvm_host_destroy(host);
	}
}

/* Off (simulate's default): no RECLAIMABLE page for a VM. */
static void test_off(void)
{
	struct kvm_host *host = new_host(MM_KERNEL_6_12, KVM_DEBUGFS_OFF);
	struct mm_host *mm = kvm_host_mm(host);
	uint64_t r[MM_NR_ORDERS];
	events_t ev;

	KASSERT_EQ(mm_alloc_events(mm, ev), 0);
	(void)make_vm(host, 2, true);
	reclaimable_since(mm, ev, r);
	for (unsigned int o = 0; o < MM_NR_ORDERS; o++)
		KEXPECT_EQ(r[o], 0);
	kvm_host_destroy(host);
}

/*
 * The frees wait for the grace period: a VM made right after another's end
 * needs slabs of its own but for the room left in the CPU's active slabs
 * (70 inodes left 5 of 25 free, 70 dentries 14 of 21: 3 new slabs of each),
 * one made after a tick reuses the old ones (fewer than min_partial of
 * them, so SLUB kept them all).
 */
static void test_rcu_grace_period(void)
{
	struct kvm_host *host = new_host(MM_KERNEL_6_12, KVM_DEBUGFS_TCG);
	struct mm_host *mm = kvm_host_mm(host);
	struct kvm_tick_report rep;
	uint64_t r[MM_NR_ORDERS];
	events_t ev;
	int vm = make_vm(host, 2, false);

	KASSERT_EQ(kvm_destroy_vm(host, vm), 0);
	KASSERT_EQ(mm_alloc_events(mm, ev), 0);
	vm = make_vm(host, 2, false);
	reclaimable_since(mm, ev, r);
	KEXPECT_EQ(r[2], 3);
	KEXPECT_EQ(r[0], 3);
	KASSERT_EQ(kvm_destroy_vm(host, vm), 0);
	KASSERT_EQ(kvm_host_tick(host, 1, NULL, &rep), 0);
	(void)make_vm(host, 2, false);
	reclaimable_since(mm, ev, r);
	KEXPECT_EQ(r[2], 0);
	KEXPECT_EQ(r[0], 0);
	MMT_CHECK(mm);
	kvm_host_destroy(host);
}

/* kvm_rcu_barrier() ends the grace period as a tick's start does; NULL is nothing. */
static void test_rcu_barrier(void)
{
	struct kvm_host *host = new_host(MM_KERNEL_6_12, KVM_DEBUGFS_TCG);
	struct mm_host *mm = kvm_host_mm(host);
	uint64_t r[MM_NR_ORDERS];
	events_t ev;
	int vm = make_vm(host, 2, false);

	KASSERT_EQ(kvm_destroy_vm(host, vm), 0);
	kvm_rcu_barrier(host);
	KASSERT_EQ(mm_alloc_events(mm, ev), 0);
	(void)make_vm(host, 2, false);
	reclaimable_since(mm, ev, r);
	KEXPECT_EQ(r[2], 0);   /* the old slabs, their objects freed */
	KEXPECT_EQ(r[0], 0);
	kvm_rcu_barrier(NULL);
	MMT_CHECK(mm);
	kvm_host_destroy(host);
}

static void test_names(void)
{
	enum kvm_debugfs d = KVM_NR_DEBUGFS;

	for (unsigned int i = 0; i < KVM_NR_DEBUGFS; i++) {
		KEXPECT_EQ(kvm_debugfs_parse(kvm_debugfs_name((enum kvm_debugfs)i), &d), 0);
		KEXPECT_EQ(d, (enum kvm_debugfs)i);
	}
	KEXPECT_EQ(kvm_debugfs_parse("yes", &d), SNP_EINVAL);
	KEXPECT_EQ(kvm_debugfs_parse(NULL, &d), SNP_EINVAL);
	KEXPECT(!strcmp(kvm_debugfs_name(KVM_NR_DEBUGFS), "?"));
}

static const struct ktap_case cases[] = {
	KTAP_CASE(test_files_slabs),
	KTAP_CASE(test_off),
	KTAP_CASE(test_rcu_grace_period),
	KTAP_CASE(test_rcu_barrier),
	KTAP_CASE(test_names),
};

KTAP_MAIN("kvm_debugfs", cases)
