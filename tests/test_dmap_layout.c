// SPDX-License-Identifier: MIT
/*
 * test_dmap_layout.c - the direct map built from the host's RAM map
 * (src/hw/e820.c, directmap.c; docs/MODEL.md "Host MMU"):
 *  - flat (the default): every region a hugepage, 1G where a whole GiB;
 *  - qemu-pc: the first 2MB and the top partial 2MB region 4K, 2M between,
 *    no 1G leaf (no GiB is all RAM), as Linux's split_mem_range() /
 *    adjust_range_page_size_mask() map QEMU pc's e820;
 *  - a write into the top partial region while its aligned base is an
 *    in-use VMCB is checked as 4K (no erratum fault) with qemu-pc, and takes
 *    the erratum with flat;
 *  - the allocator never hands out what is not RAM;
 *  - the census counts such a VMCB aligned but not exposed;
 *  - simulate's memory floor counts the holes.
 */
#include "mmu_test_util.h"

#include <snpsafe/kvm.h>
#include <snpsafe/mm.h>
#include <snpsafe/sim.h>

#include <stdlib.h>

#define GIB1   SNP_GiB
#define TOP_2M ((GIB1 - SNP_PMD_SIZE) >> SNP_PAGE_SHIFT)   /* pfn 0x3fe00 */

static struct snp_machine *layout_machine(enum snp_ram_layout l, uint64_t mem, enum snp_dmap_boot dm)
{
	struct snp_machine_config cfg = {
		.mem_bytes = mem, .profile = snp_profile_by_name("early-snp"), .nr_cpus = 2,
		.direct_map = dm, .ram_layout = l,
	};
	struct snp_machine *m = NULL;

	KASSERT_EQ(snp_machine_create(&cfg, &m), 0);
	KASSERT_EQ(snp_wrmsr_hsave_pa(m, 0, T_HSAVE), 0);
	KASSERT_EQ(snp_wrmsr_hsave_pa(m, 1, T_HSAVE + 1), 0);
	return m;
}

static enum snp_map_size leaf_of(const struct snp_machine *m, snp_spa_t pa)
{
	enum snp_map_size s = SNP_MAP_1G;

	KASSERT_EQ(snp_direct_map_lookup(m, snp_phys_to_virt(pa), &s), 0);
	return s;
}

/* The maps themselves, and what they refuse. */
static void ram_maps(void)
{
	struct snp_ram_map map;
	enum snp_ram_layout l;

	KASSERT_EQ(snp_ram_map_build(SNP_RAM_FLAT, GIB1, &map), 0);
	KEXPECT_EQ(map.nr, 1);
	KEXPECT_EQ(map.r[0].end, GIB1);
	KASSERT_EQ(snp_ram_map_build(SNP_RAM_QEMU_PC, GIB1, &map), 0);
	KASSERT_EQ(map.nr, 2);
	KEXPECT_EQ(map.r[0].start, 0);
	KEXPECT_EQ(map.r[0].end, 0x9f000);          /* SeaBIOS: usable to 0x9fbff, whole pages */
	KEXPECT_EQ(map.r[1].start, 0x100000);
	KEXPECT_EQ(map.r[1].end, 0x3ffe0000);       /* 128 KiB below the top reserved */
	KEXPECT(snp_ram_map_covers(&map, 0x200000, 0x400000));
	KEXPECT(!snp_ram_map_covers(&map, 0, 0x200000));
	KEXPECT(!snp_ram_map_covers(&map, 0x3fe00000, GIB1));
	KEXPECT(!snp_ram_map_covers(&map, 0x9e000, 0x101000));   /* across the hole */
	KEXPECT_EQ(snp_ram_map_build(SNP_RAM_QEMU_PC, 4 * GIB1, &map), SNP_EINVAL);
	KEXPECT_EQ(snp_ram_map_build(SNP_RAM_QEMU_PC, SNP_MiB, &map), SNP_EINVAL);
	KEXPECT_EQ(snp_ram_map_build(SNP_RAM_FLAT, GIB1 + 1, &map), SNP_EINVAL);
	KEXPECT_EQ(snp_ram_map_build(SNP_RAM_NR_LAYOUTS, GIB1, &map), SNP_EINVAL);
	KEXPECT_EQ(snp_ram_layout_parse("qemu-pc", &l), 0);
	KEXPECT_EQ(l, SNP_RAM_QEMU_PC);
	KEXPECT_EQ(snp_ram_layout_parse("flat", &l), 0);
	KEXPECT_EQ(l, SNP_RAM_FLAT);
	KEXPECT_EQ(snp_ram_layout_parse("pc", &l), SNP_EINVAL);
	KEXPECT(!strcmp(snp_ram_layout_name(SNP_RAM_QEMU_PC), "qemu-pc"));
}

/* Leaves at boot, both layouts, 1 GiB and 2 GiB. */
static void boot_leaves(void)
{
	struct snp_machine *m = layout_machine(SNP_RAM_QEMU_PC, GIB1, SNP_DMAP_1G);
	struct snp_machine_config bad = { .mem_bytes = GIB1, .ram_layout = SNP_RAM_NR_LAYOUTS };
	struct snp_machine *none = NULL;
	unsigned int n4k = 0;

	for (snp_spa_t pa = 0; pa < GIB1; pa += SNP_PMD_SIZE)
		n4k += leaf_of(m, pa) == SNP_MAP_4K;
	KEXPECT_EQ(n4k, 2);                          /* the first and the top 2MB */
	KEXPECT_EQ(leaf_of(m, 0), SNP_MAP_4K);
	KEXPECT_EQ(leaf_of(m, 0x200000), SNP_MAP_2M);
	KEXPECT_EQ(leaf_of(m, 0x3fc00000), SNP_MAP_2M);
	KEXPECT_EQ(leaf_of(m, snp_pfn_to_phys(TOP_2M) + 0x5000), SNP_MAP_4K);
	snp_machine_destroy(m);
	/* 2 GiB: neither GiB is all RAM (first MiB, top 128 KiB) */
	m = layout_machine(SNP_RAM_QEMU_PC, 2 * GIB1, SNP_DMAP_1G);
	KEXPECT_EQ(leaf_of(m, 0x40000000), SNP_MAP_2M);
	KEXPECT_EQ(leaf_of(m, GIB1 - SNP_PMD_SIZE), SNP_MAP_2M);   /* RAM runs on past 1 GiB */
	KEXPECT_EQ(leaf_of(m, 2 * GIB1 - SNP_PMD_SIZE), SNP_MAP_4K);
	snp_machine_destroy(m);
	/* flat: one 1G leaf per GiB, as before */
	m = layout_machine(SNP_RAM_FLAT, 2 * GIB1, SNP_DMAP_1G);
	KEXPECT_EQ(leaf_of(m, 0), SNP_MAP_1G);
	KEXPECT_EQ(leaf_of(m, 2 * GIB1 - SNP_PMD_SIZE), SNP_MAP_1G);
	snp_machine_destroy(m);
	/* gbpages off (2M boot): qemu-pc keeps its 4K regions */
	m = layout_machine(SNP_RAM_QEMU_PC, GIB1, SNP_DMAP_2M);
	KEXPECT_EQ(leaf_of(m, 0x200000), SNP_MAP_2M);
	KEXPECT_EQ(leaf_of(m, GIB1 - SNP_PMD_SIZE), SNP_MAP_4K);
	snp_machine_destroy(m);
	KEXPECT_EQ(snp_machine_create(&bad, &none), SNP_EINVAL);
	KEXPECT(!none);
}

/*
 * VMCB in-use at the top partial region's base (2MB-aligned), CPU 1 writes
 * another page of the region: a 4K translation is checked per page (no
 * erratum) with qemu-pc; through flat's 1G leaf the erratum fires.
 */
static void top_region_write_checked_as_4k(void)
{
	for (int flat = 0; flat <= 1; flat++) {
		struct snp_machine *m = layout_machine(flat ? SNP_RAM_FLAT : SNP_RAM_QEMU_PC, GIB1,
						       SNP_DMAP_1G);
		struct snp_fault_record r;

		KASSERT(snp_pfn_2m_aligned(TOP_2M));
		KASSERT_EQ(t_run_vmcb(m, 0, TOP_2M, "vcpu 0 vmcb01"), SNP_VMRUN_ENTERED);
		if (flat) {
			KEXPECT_EQ(t_write(m, 1, TOP_2M + 5), SNP_EFAULT);
			KASSERT_EQ(snp_fault_last(m, &r), 0);
			KEXPECT_EQ(r.rule, SNP_RULE_ERRATUM_2M_BASE_INUSE);
			KEXPECT_EQ(r.size, SNP_MAP_1G);
		} else {
			KEXPECT_EQ(t_write(m, 1, TOP_2M + 5), 0);
			KEXPECT_EQ(snp_fault_count(m), 0);
			/* the in-use page itself is still guarded by the documented rule */
			KEXPECT_EQ(t_write(m, 1, TOP_2M), SNP_EFAULT);
			KASSERT_EQ(snp_fault_last(m, &r), 0);
			KEXPECT_EQ(r.rule, SNP_RULE_INUSE_WRITE);
		}
		snp_machine_destroy(m);
	}
}

static struct kvm_host *layout_host(enum snp_ram_layout l, uint64_t mem)
{
	struct kvm_host_config cfg;
	struct kvm_host *host = NULL;

	kvm_host_config_init(&cfg, mem, 2);
	cfg.strategy = SNP_ALLOC_NAIVE;
	cfg.ram_layout = l;
	cfg.boot_no_kernel_memory = true;   /* the tests below place pages by hand */
	KASSERT_EQ(kvm_host_create(&cfg, &host), 0);
	return host;
}

/* Every page the allocator gives, drained to the last: none outside RAM. */
static void holes_never_handed_out(void)
{
	struct kvm_host *host = layout_host(SNP_RAM_QEMU_PC, 64 * SNP_MiB);
	struct mm_host *mm = kvm_host_mm(host);
	uint64_t mem = 64 * SNP_MiB, got = 0, bad = 0;
	struct snp_ram_map map;
	struct page *p;

	KASSERT_EQ(snp_ram_map_build(SNP_RAM_QEMU_PC, mem, &map), 0);
	while ((p = mm_alloc_pages(mm, 0, MM_GFP_KERNEL, 0))) {
		snp_spa_t pa = snp_pfn_to_phys(mm_page_to_pfn(mm, p));

		got++;
		bad += !snp_ram_map_covers(&map, pa, pa + SNP_PAGE_SIZE);
	}
	ktap_log("drained %llu pages, %llu outside RAM", (unsigned long long)got,
		 (unsigned long long)bad);
	KEXPECT_EQ(bad, 0);
	KEXPECT(got > 0);
	/* the top 128 KiB (32 pages) and the low 1 MiB stay out, and nothing else */
	KEXPECT(got + 256 + 32 <= mem >> SNP_PAGE_SHIFT);
	kvm_host_destroy(host);
	{
		struct kvm_host_config cfg;
		struct kvm_host *big = NULL;

		/* a pc guest that large has RAM above 4 GiB: not this layout */
		kvm_host_config_init(&cfg, 4 * SNP_GiB, 2);
		cfg.ram_layout = SNP_RAM_QEMU_PC;
		KEXPECT_EQ(kvm_host_create(&cfg, &big), SNP_EINVAL);
		KEXPECT(!big);
	}
}

/*
 * Put the next order-0 pages of CPU 0 at [base, base + 16): drain the
 * allocator, give back a spare 4 MiB to the buddy lists (for the order-1
 * MSR map), then free base + 15 down to base, so base is at the head.
 */
static void place_next_pages(struct kvm_host *host, snp_pfn_t base)
{
	struct mm_host *mm = kvm_host_mm(host);
	struct page *p;

	while ((p = mm_alloc_pages(mm, 0, MM_GFP_KERNEL, 0)))
		;
	for (snp_pfn_t pfn = 0x4000; pfn < 0x4400; pfn++)   /* 64-68 MiB: past qemu-pc's kernel image */
		KASSERT_EQ(mm_free_pages(mm, 0, mm_pfn_to_page(mm, pfn), 0), 0);
	mm_drain_all_pages(mm);
	for (snp_pfn_t pfn = base + 15; pfn + 1 > base; pfn--)
		KASSERT_EQ(mm_free_pages(mm, 0, mm_pfn_to_page(mm, pfn), 0), 0);
}

/* A vCPU on CPU 0 whose vmcb01 is at @target; NULL host when the placement missed. */
static snp_pfn_t vmcb_near(enum snp_ram_layout l, snp_pfn_t base, struct kvm_host **out)
{
	struct kvm_host *host = layout_host(l, 128 * SNP_MiB);
	struct kvm_vm_config vc;
	struct kvm_vcpu_pages pg;
	int vm;

	place_next_pages(host, base);
	kvm_vm_config_init(&vc, SNP_GUEST_SVM);
	vm = kvm_create_vm(host, &vc);
	KASSERT(vm >= 0);
	KASSERT_EQ(kvm_create_vcpu(host, vm, 0, 0), 0);
	KASSERT_EQ(kvm_vcpu_get_pages(host, vm, 0, &pg), 0);
	*out = host;
	return pg.vmcb01;
}

/*
 * The census on a VMCB at the top partial region's base (pfn 0x7e00 of a
 * 128 MiB host): aligned, markable, exposed only with flat.
 */
static void census_top_region_vmcb(void)
{
	const snp_pfn_t target = (128 * SNP_MiB - SNP_PMD_SIZE) >> SNP_PAGE_SHIFT;

	for (int flat = 0; flat <= 1; flat++) {
		enum snp_ram_layout l = flat ? SNP_RAM_FLAT : SNP_RAM_QEMU_PC;
		struct kvm_host *host;
		struct kvm_page_census c;
		snp_pfn_t got, k;

		/* learn how many order-0 pages the vCPU takes before vmcb01, then place it */
		got = vmcb_near(l, target - 16, &host);
		kvm_host_destroy(host);
		KASSERT(got >= target - 16 && got < target);
		k = got - (target - 16);
		got = vmcb_near(l, target - k, &host);
		ktap_log("%s: vmcb01 at pfn 0x%llx (%llu pages before it)", snp_ram_layout_name(l),
			 (unsigned long long)got, (unsigned long long)k);
		KASSERT_EQ(got, target);
		KASSERT_EQ(kvm_host_census(host, &c), 0);
		KEXPECT_EQ(c.aligned[KVM_PAGE_VMCB01], 1);
		KEXPECT_EQ(c.markable_aligned[KVM_PAGE_VMCB01], 1);
		KEXPECT_EQ(c.exposed_aligned[KVM_PAGE_VMCB01], flat ? 1 : 0);
		kvm_host_destroy(host);
	}
}

/*
 * simulate's memory floor counts the pages the RAM map keeps from the
 * allocator: 64 MiB aged to 95% holds the save areas of 806 CPUs flat
 * ((16384 - 256) x 5% >= 806), but qemu-pc's 32 more reserved pages and
 * its boot state's kernel image (11264 pages, 6.12) leave room for 241
 * only ((16384 - 256 - 32 - 11264) x 5% = 241.6).
 */
static void floor_counts_holes(void)
{
	struct sim_mc_config cfg;
	struct sim_limit lim;

	sim_mc_config_init(&cfg);
	cfg.mem_bytes = 64 * SNP_MiB;
	cfg.age_pct = 95;
	cfg.cpus = 805;
	KEXPECT_EQ(sim_mc_check_limits(&cfg, &lim), 0);
	cfg.ram_layout = SNP_RAM_QEMU_PC;
	KEXPECT_EQ(sim_mc_check_limits(&cfg, &lim), SNP_ERANGE);
	KEXPECT_EQ(lim.kind, SIM_LIMIT_MEM_MIN);
	cfg.cpus = 242;
	KEXPECT_EQ(sim_mc_check_limits(&cfg, &lim), SNP_ERANGE);
	cfg.cpus = 241;
	KEXPECT_EQ(sim_mc_check_limits(&cfg, &lim), 0);
}

static const struct ktap_case cases[] = {
	KTAP_CASE(ram_maps),
	KTAP_CASE(boot_leaves),
	KTAP_CASE(top_region_write_checked_as_4k),
	KTAP_CASE(holes_never_handed_out),
	KTAP_CASE(census_top_region_vmcb),
	KTAP_CASE(floor_counts_holes),
};

KTAP_MAIN("dmap_layout", cases)
