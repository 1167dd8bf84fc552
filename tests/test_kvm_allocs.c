// SPDX-License-Identifier: MIT
/*
 * test_kvm_allocs.c - every page-allocator call KVM makes for a VM and a
 * vCPU, counted by order and migratetype (mm_alloc_events()) against the
 * table read from Debian's 6.12.95 and 6.1.192 sources (docs/MODEL.md, "KVM
 * paths"): struct kvm vmalloc'ed (10 pages), the coalesced MMIO ring, the
 * kvm_vcpu slab (order 3, 4 vCPUs a slab), the vCPU's own pages, the MMU
 * caches at the first KVM_RUN (40 pages) and at the first L2 run (40 more).
 * And SLUB's side of it (src/mm/slub.c): calculate_order() of each kernel,
 * the order-1 fallback, and min_partial.
 */
#include "insn_util.h"
#include "ktap.h"
#include "mm_util.h"

#include <snpsafe/kvm.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MEM (64 * SNP_MiB)
#define U MM_MT_UNMOVABLE

typedef uint64_t events_t[MM_NR_ORDERS][MM_NR_MIGRATETYPES];

/* Allocations by (order, migratetype) since @before; @before is moved on. */
struct delta {
	uint64_t n[MM_NR_ORDERS][MM_NR_MIGRATETYPES];
};

static struct delta since(struct mm_host *mm, events_t before)
{
	events_t now;
	struct delta d;

	KASSERT_EQ(mm_alloc_events(mm, now), 0);
	for (unsigned int o = 0; o < MM_NR_ORDERS; o++)
		for (unsigned int t = 0; t < MM_NR_MIGRATETYPES; t++) {
			d.n[o][t] = now[o][t] - before[o][t];
			before[o][t] = now[o][t];
		}
	return d;
}

/* Only the listed (order, UNMOVABLE) counts are non-zero: o0, o1, o3 of @d. */
static void expect_delta(const struct delta *d, uint64_t o0, uint64_t o1, uint64_t o3,
			 const char *what)
{
	uint64_t other = 0;

	for (unsigned int o = 0; o < MM_NR_ORDERS; o++)
		for (unsigned int t = 0; t < MM_NR_MIGRATETYPES; t++)
			if (t != U || (o != 0 && o != 1 && o != 3))
				other += d->n[o][t];
	ktap_log("%s: order 0: %llu, order 1: %llu, order 3: %llu (UNMOVABLE), other %llu", what,
		 (unsigned long long)d->n[0][U], (unsigned long long)d->n[1][U],
		 (unsigned long long)d->n[3][U], (unsigned long long)other);
	if (d->n[0][U] != o0 || d->n[1][U] != o1 || d->n[3][U] != o3 || other)
		ktap_fail(__FILE__, __LINE__, "%s: expected order 0: %llu, 1: %llu, 3: %llu, other 0",
			  what, (unsigned long long)o0, (unsigned long long)o1, (unsigned long long)o3);
}

static struct kvm_host *new_host(enum mm_kernel k)
{
	struct kvm_host_config cfg;
	struct kvm_host *host = NULL;

	kvm_host_config_init(&cfg, MEM, 2);
	cfg.strategy = SNP_ALLOC_NAIVE;   /* every sensitive page one order-0 allocation */
	cfg.kernel = k;
	KASSERT_EQ(kvm_host_create(&cfg, &host), 0);
	return host;
}

static struct kvm_host_stats stats(const struct kvm_host *host)
{
	struct kvm_host_stats st;

	KASSERT_EQ(kvm_host_get_stats(host, &st), 0);
	return st;
}

/*
 * The table, per kernel (the KVM paths are the same in 6.1.192 and 6.12.95
 * but for the shadow pages' zeroing):
 *   KVM_CREATE_VM, no guest memory: struct kvm_svm (40064 bytes: 10 order-0
 *     pages, vmalloc) and the coalesced MMIO ring: 11 order-0;
 *   KVM_CREATE_VCPU (in-kernel LAPIC, SEV-ES): a new kvm_vcpu slab (order 3)
 *     for the 1st and 5th vCPU of a CPU, run, LAPIC (through the hook),
 *     pio_data, fpstate, vmcb01, VMSA: 6 order-0; the MSR permission map:
 *     one order-1;
 *   the first KVM_RUN: 40 order-0 (mmu_shadow_page_cache); later runs none;
 *   EFER.SVME (svm_allocate_nested): vmcb02 order 0, nested msrpm order 1;
 *   a first run in L2: 40 order-0 each for mmu_shadow_page_cache and
 *     mmu_shadowed_info_cache.
 */
static void test_allocation_table(void)
{
	static const enum mm_kernel kernels[] = { MM_KERNEL_6_12, MM_KERNEL_6_1 };

	for (unsigned int k = 0; k < KTAP_ARRAY_SIZE(kernels); k++) {
		struct kvm_host *host = new_host(kernels[k]);
		struct mm_host *mm = kvm_host_mm(host);
		struct kvm_vm_config vc;
		struct delta d;
		events_t ev;
		int vm;

		ktap_log("kernel %s", mm_kernel_name(kernels[k]));
		KASSERT_EQ(mm_alloc_events(mm, ev), 0);
		kvm_vm_config_init(&vc, SNP_GUEST_SEV_ES);
		vc.guest_pages = 0;
		vc.lapic_in_kernel = true;
		vm = kvm_create_vm(host, &vc);
		KASSERT(vm >= 0);
		d = since(mm, ev);
		expect_delta(&d, 11, 0, 0, "KVM_CREATE_VM");
		for (unsigned int i = 0; i < 5; i++) {
			char what[32];

			KASSERT_EQ(kvm_create_vcpu(host, vm, i, 0), 0);
			d = since(mm, ev);
			snprintf(what, sizeof(what), "KVM_CREATE_VCPU %u", i);
			expect_delta(&d, 6, 1, i % 4 == 0, what);
		}
		KEXPECT_EQ(stats(host).slab_pages, 16);
		KEXPECT_EQ(t_vcpu_run(host, vm, 0, 1, NULL), SNP_VMRUN_ENTERED);
		KASSERT_EQ(kvm_vcpu_exit(host, vm, 0), 0);
		d = since(mm, ev);
		expect_delta(&d, 40, 0, 0, "first KVM_RUN");
		KEXPECT_EQ(stats(host).mmu_cache_pages, 40);
		KEXPECT_EQ(t_vcpu_run(host, vm, 0, 1, NULL), SNP_VMRUN_ENTERED);
		KASSERT_EQ(kvm_vcpu_exit(host, vm, 0), 0);
		d = since(mm, ev);
		expect_delta(&d, 0, 0, 0, "second KVM_RUN");
		KASSERT_EQ(kvm_destroy_vm(host, vm), 0);
		KEXPECT_EQ(stats(host).mmu_cache_pages, 0);
		KEXPECT_EQ(stats(host).slab_pages, 16);   /* SLUB keeps them: below min_partial */

		kvm_vm_config_init(&vc, SNP_GUEST_SVM);
		vc.guest_pages = 0;
		vc.lapic_in_kernel = false;
		vm = kvm_create_vm(host, &vc);
		KASSERT(vm >= 0);
		KASSERT_EQ(kvm_create_vcpu(host, vm, 0, 1), 0);
		d = since(mm, ev);
		/*
		 * CPU 1 has no slab, and none is on its node's partial list: the
		 * two emptied above are CPU 0's slab and on CPU 0's partial list
		 * (the full one went there at its first free).  A new slab.
		 */
		expect_delta(&d, 11 + 4, 1, 1, "SVM VM, a vCPU on CPU 1");
		KEXPECT_EQ(stats(host).slab_pages, 24);
		KASSERT_EQ(kvm_vcpu_enable_nested(host, vm, 0), 0);
		d = since(mm, ev);
		expect_delta(&d, 1, 1, 0, "svm_allocate_nested");
		KASSERT_EQ(kvm_vcpu_set_guest_mode(host, vm, 0, true), 0);
		KEXPECT_EQ(t_vcpu_run(host, vm, 0, 0, NULL), SNP_VMRUN_ENTERED);
		KASSERT_EQ(kvm_vcpu_exit(host, vm, 0), 0);
		d = since(mm, ev);
		expect_delta(&d, 80, 0, 0, "first KVM_RUN, in L2");
		KEXPECT_EQ(stats(host).mmu_cache_pages, 80);
		KASSERT_EQ(kvm_destroy_vm(host, vm), 0);
		KEXPECT_EQ(stats(host).teardown_errors, 0);
		kvm_host_destroy(host);
	}
}

/*
 * One clear per shadow page: 6.1 asks __GFP_ZERO, 6.12 fills the page with
 * SHADOW_NONPRESENT_VALUE instead; init_on_alloc clears it once either way.
 */
static void test_shadow_page_init(void)
{
	static const struct { enum mm_kernel k; uint64_t cleared_extra; } t[] = {
		{ MM_KERNEL_6_1, 40 }, { MM_KERNEL_6_12, 40 },
	};

	for (unsigned int i = 0; i < KTAP_ARRAY_SIZE(t); i++) {
		struct kvm_host *host = new_host(t[i].k);
		struct mm_host *mm = kvm_host_mm(host);
		struct kvm_vm_config vc;
		uint64_t c0;
		int vm;

		kvm_vm_config_init(&vc, SNP_GUEST_SVM);
		vm = kvm_create_vm(host, &vc);
		KASSERT(vm >= 0);
		KASSERT_EQ(kvm_create_vcpu(host, vm, 0, 0), 0);
		c0 = mm_pages_cleared(mm);
		KEXPECT_EQ(t_vcpu_run(host, vm, 0, 0, NULL), SNP_VMRUN_ENTERED);
		/* init_on_alloc clears each page either way: one clear per page taken */
		KEXPECT_EQ(mm_pages_cleared(mm) - c0, t[i].cleared_extra);
		KASSERT_EQ(kvm_vcpu_exit(host, vm, 0), 0);
		KASSERT_EQ(kvm_destroy_vm(host, vm), 0);
		kvm_host_destroy(host);
	}
}

/*
 * calculate_order(): struct vcpu_svm of 6.12.95 (7240 bytes, align 8) and
 * 6.1.192 (7248) in order-3 slabs of 4, vcpu_vmx (9024, align 64) of 3; an
 * object of 10928 bytes is where the two kernels part: 6.1 first lowers the
 * objects wanted to 1 (order 2), 6.12 first accepts half a slab wasted
 * (order 3, 2 objects).  min_partial = ilog2(size) / 2 within [5, 10].
 */
static void test_slub_geometry(void)
{
	static const struct {
		enum mm_kernel k;
		unsigned int size, align, order, objects, min_order, min_partial;
	} t[] = {
		{ MM_KERNEL_6_12, 7240, 8, 3, 4, 1, 6 },
		{ MM_KERNEL_6_1, 7248, 8, 3, 4, 1, 6 },
		{ MM_KERNEL_6_12, 9024, 64, 3, 3, 2, 6 },
		{ MM_KERNEL_6_1, 10928, 8, 2, 1, 2, 6 },
		{ MM_KERNEL_6_12, 10928, 8, 3, 2, 2, 6 },
		{ MM_KERNEL_6_12, 184, 8, 0, 22, 0, 5 },
		{ MM_KERNEL_6_12, 40064, 8, 4, 1, 4, 7 },
	};
	struct mm_slub_geometry g;

	for (unsigned int i = 0; i < KTAP_ARRAY_SIZE(t); i++) {
		KASSERT_EQ(mm_slub_geometry(t[i].k, t[i].size, t[i].align, 4, &g), 0);
		if (g.order != t[i].order || g.objects != t[i].objects ||
		    g.min_order != t[i].min_order || g.min_partial != t[i].min_partial)
			ktap_fail(__FILE__, __LINE__, "%s size %u: order %u x %u, min order %u, "
				  "min_partial %u", mm_kernel_name(t[i].k), t[i].size, g.order,
				  g.objects, g.min_order, g.min_partial);
	}
	KEXPECT_EQ(mm_slub_geometry(MM_KERNEL_6_12, 0, 8, 4, &g), SNP_EINVAL);
	KEXPECT_EQ(mm_slub_geometry(MM_KERNEL_6_12, 100, 24, 4, &g), SNP_EINVAL);   /* align not 2^n */
}

/*
 * __slab_free() with the per-CPU partial lists: 48 objects of 7240 bytes
 * (order-3 slabs of 4, min_partial 6, cpu_partial_slabs 3) in 12 slabs,
 * freed in order on one CPU.  Each full slab goes to the CPU's partial list
 * at its first free and stays there, empty, until a fourth comes: then the
 * three go to the node together (put_cpu_partial() -> __put_partials()).
 * The first two sets fill the node's partial list to min_partial; the
 * third set is freed, the three slabs at once, at the first free of the
 * tenth slab (the run that sets the page allocator's free_high).  The CPU keeps
 * its slab and two partial ones: 9 slabs remain, and kmem_cache_destroy()
 * gives them back.  Destroying a cache with a live object is refused.
 */
static void test_slab_cpu_partial_run(void)
{
	struct mm_host *mm = mmt_host(128, 1, 1);
	uint64_t start = mmt_free(mm), before;
	struct mm_kmem_cache *s;
	struct mm_kmem_cache_info ci;
	long obj[48];

	KASSERT_EQ(mm_kmem_cache_create(mm, 7240, 8, 0, &s), 0);
	for (unsigned int i = 0; i < 48; i++)
		KASSERT((obj[i] = mm_kmem_cache_alloc(s, 0, MM_GFP_ACCOUNT)) >= 0);
	KASSERT_EQ(mm_kmem_cache_info(s, &ci), 0);
	KEXPECT_EQ(ci.geo.min_partial, 6);
	KEXPECT_EQ(ci.slabs, 12);
	KEXPECT_EQ(ci.pages, 96);
	KEXPECT_EQ(mm_kmem_cache_destroy(s, 0), SNP_EBUSY);
	for (unsigned int i = 0; i < 36; i++)
		KASSERT_EQ(mm_kmem_cache_free(s, 0, obj[i]), 0);
	KASSERT_EQ(mm_kmem_cache_info(s, &ci), 0);
	KEXPECT_EQ(ci.slabs, 12);   /* 6 on the node, 3 on the CPU's list, all empty */
	before = mmt_free(mm);
	KASSERT_EQ(mm_kmem_cache_free(s, 0, obj[36]), 0);
	KASSERT_EQ(mm_kmem_cache_info(s, &ci), 0);
	ktap_log("at the first free of the tenth slab: %llu slabs, %llu pages freed",
		 (unsigned long long)ci.slabs, (unsigned long long)(mmt_free(mm) - before));
	KEXPECT_EQ(ci.slabs, 9);
	KEXPECT_EQ(mmt_free(mm) - before, 24);
	for (unsigned int i = 37; i < 48; i++)
		KASSERT_EQ(mm_kmem_cache_free(s, 0, obj[i]), 0);
	KEXPECT_EQ(mm_kmem_cache_free(s, 0, obj[0]), SNP_EINVAL);   /* freed already */
	KASSERT_EQ(mm_kmem_cache_info(s, &ci), 0);
	KEXPECT_EQ(ci.slabs, 9);
	KEXPECT_EQ(ci.pages, 72);
	KEXPECT_EQ(ci.objects_inuse, 0);
	KEXPECT_EQ(mm_kmem_cache_destroy(s, 0), 0);
	mm_drain_all_pages(mm);
	KEXPECT_EQ(mmt_free(mm), start);
	mm_host_destroy(mm);
}

/*
 * A CPU's partial list is its own (___slab_alloc()): CPU 0 fills 3 slabs
 * and frees one object of the first, which goes to CPU 0's partial list.
 * CPU 1, with no slab and an empty node list, takes a new slab though that
 * one has room; CPU 0, its own slab full, takes it back from its list.  An
 * object freed to a slab on a CPU's partial list leaves it there, even
 * emptied (only its node's partial slabs are freed at once).
 */
static void test_slab_cpu_partial_is_per_cpu(void)
{
	struct mm_host *mm = mmt_host(128, 1, 2);
	struct mm_kmem_cache *s;
	struct mm_kmem_cache_info ci;
	long obj[12], o1, o0;

	KASSERT_EQ(mm_kmem_cache_create(mm, 7240, 8, 0, &s), 0);
	for (unsigned int i = 0; i < 12; i++)
		KASSERT((obj[i] = mm_kmem_cache_alloc(s, 0, MM_GFP_ACCOUNT)) >= 0);
	KASSERT_EQ(mm_kmem_cache_free(s, 0, obj[0]), 0);
	KASSERT((o1 = mm_kmem_cache_alloc(s, 1, MM_GFP_ACCOUNT)) >= 0);
	KASSERT_EQ(mm_kmem_cache_info(s, &ci), 0);
	KEXPECT_EQ(ci.slabs, 4);
	KASSERT((o0 = mm_kmem_cache_alloc(s, 0, MM_GFP_ACCOUNT)) >= 0);
	KASSERT_EQ(mm_kmem_cache_info(s, &ci), 0);
	KEXPECT_EQ(ci.slabs, 4);
	obj[0] = o0;
	for (unsigned int i = 0; i < 4; i++)   /* the first slab, emptied on CPU 1 */
		KASSERT_EQ(mm_kmem_cache_free(s, 1, obj[i]), 0);
	KASSERT_EQ(mm_kmem_cache_info(s, &ci), 0);
	KEXPECT_EQ(ci.slabs, 4);
	for (unsigned int i = 4; i < 12; i++)
		KASSERT_EQ(mm_kmem_cache_free(s, 0, obj[i]), 0);
	KASSERT_EQ(mm_kmem_cache_free(s, 1, o1), 0);
	KEXPECT_EQ(mm_kmem_cache_destroy(s, 1), 0);
	mm_host_destroy(mm);
}

/*
 * allocate_slab(): with no order-3 block anywhere the order-3 try fails
 * without a drain or retry and the slab falls back to the min order, 1:
 * one object in 2 pages.
 */
static void test_slab_falls_back_to_min_order(void)
{
	struct mm_host *mm = mmt_host(16, 1, 1);
	uint64_t n = 0, cap = 16 * SNP_MiB / SNP_PAGE_SIZE / 2;
	struct page **pairs = calloc(cap, sizeof(*pairs));
	struct mm_kmem_cache *s;
	struct mm_kmem_cache_info ci;
	long obj;

	KASSERT(pairs);
	while (n < cap && (pairs[n] = mm_alloc_pages(mm, 0, MM_GFP_KERNEL, 1)))
		n++;
	KASSERT(n > 2);
	KASSERT_EQ(mm_free_pages(mm, 0, pairs[--n], 1), 0);   /* one order-1 block free */
	KASSERT_EQ(mm_kmem_cache_create(mm, 7240, 8, 0, &s), 0);
	KASSERT((obj = mm_kmem_cache_alloc(s, 0, MM_GFP_ACCOUNT)) >= 0);
	KASSERT_EQ(mm_kmem_cache_info(s, &ci), 0);
	KEXPECT_EQ(ci.slabs, 1);
	KEXPECT_EQ(ci.pages, 2);
	KEXPECT_EQ(mm_kmem_cache_alloc(s, 0, MM_GFP_ACCOUNT), SNP_ENOMEM);   /* its one object taken */
	KASSERT_EQ(mm_kmem_cache_free(s, 0, obj), 0);
	KEXPECT_EQ(mm_kmem_cache_destroy(s, 0), 0);
	while (n)
		KASSERT_EQ(mm_free_pages(mm, 0, pairs[--n], 1), 0);
	free(pairs);
	mm_host_destroy(mm);
}

static const struct ktap_case cases[] = {
	KTAP_CASE(test_allocation_table),
	KTAP_CASE(test_shadow_page_init),
	KTAP_CASE(test_slub_geometry),
	KTAP_CASE(test_slab_cpu_partial_run),
	KTAP_CASE(test_slab_cpu_partial_is_per_cpu),
	KTAP_CASE(test_slab_falls_back_to_min_order),
};

KTAP_MAIN("kvm_allocs", cases)
