// SPDX-License-Identifier: MIT
/*
 * test_boot_state.c - the boot state of the kernels watch boots, on hosts
 * with the qemu-pc RAM map (src/kvm/boot_state.c, src/mm/host.c;
 * docs/MODEL.md "Boot state"; issue 25 item 2):
 *  - the kernel image is reserved from 16 MiB to the end of .bss, 6.12's and
 *    6.1's own sizes, and never handed out;
 *  - QEMU's initrd sits just below SeaBIOS's top 128 KiB, where watch's
 *    6.12 boot printed it (RAMDISK: [mem 0x3fd83000-0x3ffdffff] at 1 GiB);
 *  - deferred struct-page init: at 1 GiB the first deferred pfn is 256 MiB,
 *    the top pageblock (its first page in the initrd) stays UNMOVABLE, every
 *    other pageblock is MOVABLE; at 256 MiB nothing is deferred (every
 *    pageblock MOVABLE), as the 256 MiB boot printed no "deferred pages";
 *  - the initrd freed after boot: every page free again, order 0 through
 *    the freeing CPU's lists, which CPU being a knob (both settings);
 *  - flat hosts have none of it.
 */
#include "ktap.h"

#include <snpsafe/kvm.h>
#include <snpsafe/mm.h>
#include <snpsafe/mmu.h>
#include <snpsafe/sim.h>

#define MIB_PFN(x) ((uint64_t)(x) << (20 - SNP_PAGE_SHIFT))

static void boot_config(struct kvm_host_config *hc, enum snp_ram_layout l, uint64_t mem, enum mm_kernel k)
{
	kvm_host_config_init(hc, mem, 2);
	hc->ram_layout = l;
	hc->kernel = k;
	hc->late_vendor_load = true;
}

static struct kvm_host *boot_with(const struct kvm_host_config *hc)
{
	struct kvm_host *host = NULL;

	KASSERT_EQ(kvm_host_create(hc, &host), 0);
	return host;
}

/* A boot with its reservations and the initrd's free alone: the kernel's own memory off. */
static struct kvm_host *boot(enum snp_ram_layout l, uint64_t mem, enum mm_kernel k, unsigned int initrd_cpu)
{
	struct kvm_host_config hc;

	boot_config(&hc, l, mem, k);
	hc.initrd_free_cpu = initrd_cpu;
	hc.boot_no_kernel_memory = true;
	return boot_with(&hc);
}

static unsigned int unmovable_pageblocks(const struct mm_host *mm)
{
	unsigned int n = 0;

	for (snp_pfn_t p = 0; p < mm_nr_pages(mm); p += 512)
		n += mm_pageblock_migratetype(mm, p) == MM_MT_UNMOVABLE;
	return n;
}

/* The allocated pages' pfns, summed with their squares: a fingerprint of where they are. */
static uint64_t allocated_fingerprint(const struct mm_host *mm)
{
	uint64_t f = 0;

	for (snp_pfn_t p = 0; p < mm_nr_pages(mm); p++)
		if (mm_page_allocated(mm, mm_pfn_to_page(mm, p)) == 1)
			f += p * p + p;
	return f;
}

static bool page_free_or_pcp(struct mm_host *mm, snp_pfn_t pfn)
{
	/* not reserved and not allocated: in a free block or on a per-CPU list */
	return mm_page_allocated(mm, mm_pfn_to_page(mm, pfn)) == 0 && mm_page_reserved(mm, pfn) == 0;
}

/* The image and the initrd where the 6.12 boot had them, at 1 GiB. */
static void reservations_where_the_boot_had_them(void)
{
	struct kvm_host *host = boot(SNP_RAM_QEMU_PC, SNP_GiB, MM_KERNEL_6_12, 0);
	struct mm_host *mm = kvm_host_mm(host);
	snp_pfn_t s = 0, e = 0;

	KASSERT_EQ(kvm_host_initrd_pfns(host, &s, &e), 0);
	KEXPECT_EQ(s, 0x3fd83);
	KEXPECT_EQ(e, 0x3ffe0);
	/* the image: [16 MiB, 0x3c00000), reserved for good */
	KEXPECT(0 == mm_page_reserved(mm, MIB_PFN(16) - 1));
	KEXPECT(1 == mm_page_reserved(mm, MIB_PFN(16)));
	KEXPECT(1 == mm_page_reserved(mm, 0x3bff));
	KEXPECT(0 == mm_page_reserved(mm, 0x3c00));
	kvm_host_destroy(host);
	/* 6.1's image ends at 0x4400000, its initrd is its own size */
	host = boot(SNP_RAM_QEMU_PC, SNP_GiB, MM_KERNEL_6_1, 0);
	mm = kvm_host_mm(host);
	KEXPECT(1 == mm_page_reserved(mm, 0x43ff));
	KEXPECT(0 == mm_page_reserved(mm, 0x4400));
	KASSERT_EQ(kvm_host_initrd_pfns(host, &s, &e), 0);
	KEXPECT_EQ(e, 0x3ffe0);
	KEXPECT_EQ(s, (0x3ffdffffULL - KVM_BOOT_INITRD_BYTES_61) >> SNP_PAGE_SHIFT);
	kvm_host_destroy(host);
}

/* The initrd is freed after boot: all of it free, none reserved, no page lost. */
static void initrd_freed_after_boot(void)
{
	struct kvm_host *host = boot(SNP_RAM_QEMU_PC, SNP_GiB, MM_KERNEL_6_12, 0);
	struct mm_host *mm = kvm_host_mm(host);
	struct mm_counts c;
	snp_pfn_t s = 0, e = 0;

	KASSERT_EQ(kvm_host_initrd_pfns(host, &s, &e), 0);
	for (snp_pfn_t p = s; p < e; p++)
		if (!page_free_or_pcp(mm, p)) {
			KEXPECT(page_free_or_pcp(mm, p));
			break;
		}
	KASSERT_EQ(mm_get_counts(mm, MM_NUMA_NO_NODE, &c), 0);
	KEXPECT_EQ(c.allocated, 0);
	/* reserved: the low 1 MiB, the image, the e820 holes above 1 MiB (SeaBIOS's top 128 KiB) */
	KEXPECT_EQ(c.reserved, 256 + (KVM_BOOT_IMAGE_BYTES_612 >> SNP_PAGE_SHIFT) + 32);
	KEXPECT_EQ(mm_check(mm, NULL, 0), 0);
	kvm_host_destroy(host);
}

/*
 * Deferred init's pageblock types at 1 GiB: the first deferred pfn is the
 * section boundary past 128 MiB of DMA32 (which starts at 16 MiB): 256 MiB.
 * The top pageblock's first page is the initrd's: UNMOVABLE.  Below 256 MiB
 * pageblocks starting in the image are MOVABLE all the same.  At 256 MiB
 * nothing is deferred; flat hosts are not booted with it.
 */
static void deferred_pageblock_types(void)
{
	struct kvm_host *host = boot(SNP_RAM_QEMU_PC, SNP_GiB, MM_KERNEL_6_12, 0);
	struct mm_host *mm = kvm_host_mm(host);
	unsigned int unmovable = 0;

	KEXPECT_EQ(mm_first_deferred_pfn(mm, 0), MIB_PFN(256));
	KEXPECT_EQ(mm_pageblock_migratetype(mm, 0x3fe00), MM_MT_UNMOVABLE);
	KEXPECT_EQ(mm_pageblock_migratetype(mm, 0x3fc00), MM_MT_MOVABLE);   /* its first page was free */
	KEXPECT_EQ(mm_pageblock_migratetype(mm, MIB_PFN(16)), MM_MT_MOVABLE);   /* image, not deferred */
	for (snp_pfn_t p = 0; p < MIB_PFN(1024); p += 512)
		unmovable += mm_pageblock_migratetype(mm, p) == MM_MT_UNMOVABLE;
	KEXPECT_EQ(unmovable, 1);
	kvm_host_destroy(host);

	host = boot(SNP_RAM_QEMU_PC, 256 * SNP_MiB, MM_KERNEL_6_12, 0);
	mm = kvm_host_mm(host);
	KEXPECT_EQ(mm_first_deferred_pfn(mm, 0), MM_PFN_INVALID);
	KEXPECT_EQ(mm_pageblock_migratetype(mm, MIB_PFN(256) - 512), MM_MT_MOVABLE);
	kvm_host_destroy(host);
}

/*
 * The initrd's pages in the UNMOVABLE top pageblock go to the freeing CPU's
 * UNMOVABLE list (free_unref_page(): the pageblock's type), those below it
 * to its MOVABLE list; the CPU is the knob initrd_free_cpu, tested both ways.
 */
static void initrd_freed_on_its_cpu(void)
{
	for (unsigned int cpu = 0; cpu < 2; cpu++) {
		struct kvm_host *host = boot(SNP_RAM_QEMU_PC, SNP_GiB, MM_KERNEL_6_12, cpu);
		struct mm_host *mm = kvm_host_mm(host);
		uint64_t mine = 0, other = 0;
		snp_pfn_t head = 0;

		KEXPECT_EQ(mm_pcp_blocks_mt(mm, cpu, 0x3fe00, 0, MM_MT_UNMOVABLE, &mine), 0);
		KEXPECT_EQ(mm_pcp_blocks_mt(mm, !cpu, 0x3fe00, 0, MM_MT_UNMOVABLE, &other), 0);
		KEXPECT(mine > 0);
		KEXPECT_EQ(other, 0);
		/* LIFO: the last page freed, the initrd's top page, heads the list */
		KEXPECT_EQ(mm_pcp_peek(mm, cpu, 0x3fe00, 0, MM_MT_UNMOVABLE, 0, &head), 0);
		KEXPECT_EQ(head, 0x3ffdf);
		kvm_host_destroy(host);
	}
}

/* A flat host has no image, no initrd, no deferred types: every pageblock MOVABLE. */
static void flat_has_no_boot_state(void)
{
	struct kvm_host *host = boot(SNP_RAM_FLAT, SNP_GiB, MM_KERNEL_6_12, 0);
	struct mm_host *mm = kvm_host_mm(host);
	struct mm_counts c;
	snp_pfn_t s, e;
	uint64_t n = 0;

	KEXPECT_EQ(kvm_host_initrd_pfns(host, &s, &e), SNP_ENOENT);
	KEXPECT(0 == mm_page_reserved(mm, MIB_PFN(16)));
	KEXPECT_EQ(mm_pageblock_migratetype(mm, 0x3fe00), MM_MT_MOVABLE);
	KASSERT_EQ(mm_get_counts(mm, MM_NUMA_NO_NODE, &c), 0);
	KEXPECT_EQ(c.reserved, 256);
	KEXPECT_EQ(mm_pcp_blocks_mt(mm, 0, 0x3fe00, 0, MM_MT_UNMOVABLE, &n), 0);
	KEXPECT_EQ(n, 0);
	kvm_host_destroy(host);
}

/* mm_free_reserved_area() frees only boot reservations, all or nothing. */
static void free_reserved_area_refuses(void)
{
	struct kvm_host *host = boot(SNP_RAM_QEMU_PC, 256 * SNP_MiB, MM_KERNEL_6_12, 0);
	struct mm_host *mm = kvm_host_mm(host);
	struct mm_counts before, after;

	KASSERT_EQ(mm_get_counts(mm, MM_NUMA_NO_NODE, &before), 0);
	/* the image's last page and the free page after it: refused whole */
	KEXPECT_EQ(mm_free_reserved_area(mm, 0, 0x3bff, 2), SNP_EINVAL);
	KEXPECT_EQ(mm_free_reserved_area(mm, 2, 0x3bff, 1), SNP_EINVAL);
	KEXPECT_EQ(mm_free_reserved_area(mm, 0, MIB_PFN(256), 1), SNP_EINVAL);
	KASSERT_EQ(mm_get_counts(mm, MM_NUMA_NO_NODE, &after), 0);
	KEXPECT_EQ(after.reserved, before.reserved);
	KEXPECT(1 == mm_page_reserved(mm, 0x3bff));
	KEXPECT_EQ(mm_free_reserved_area(mm, 0, 0x3bff, 1), 0);
	KEXPECT(0 == mm_page_reserved(mm, 0x3bff));
	KEXPECT_EQ(mm_check(mm, NULL, 0), 0);
	kvm_host_destroy(host);
}

/*
 * simulate refuses up front a qemu-pc host its kernel image and initrd do
 * not fit (6.1's image ends at 68 MiB), naming the least that boots.
 */
static void simulate_floor_holds_the_image(void)
{
	struct sim_mc_config cfg;
	struct sim_limit lim;

	sim_mc_config_init(&cfg);
	cfg.ram_layout = SNP_RAM_QEMU_PC;
	cfg.kernel = MM_KERNEL_6_1;
	cfg.cpus = 1;
	cfg.age_pct = 0;
	cfg.mem_bytes = 68 * SNP_MiB;
	KEXPECT_EQ(sim_mc_check_limits(&cfg, &lim), SNP_ERANGE);
	KEXPECT_EQ(lim.max, 72 * SNP_MiB);
	cfg.mem_bytes = 72 * SNP_MiB;
	KEXPECT_EQ(sim_mc_check_limits(&cfg, &lim), 0);
	cfg.kernel = MM_KERNEL_6_12;   /* its image ends at 60 MiB */
	cfg.mem_bytes = 64 * SNP_MiB;
	KEXPECT_EQ(sim_mc_check_limits(&cfg, &lim), 0);
	cfg.ram_layout = SNP_RAM_FLAT;
	cfg.kernel = MM_KERNEL_6_1;
	KEXPECT_EQ(sim_mc_check_limits(&cfg, &lim), 0);
}

/*
 * The kernel's own memory at kvm_amd's load (1 GiB, 6.12): the measured
 * pages kept, the measured pages freed among them back on the free and
 * per-CPU lists, UNMOVABLE pageblocks as many as the boot's 26 give or
 * take; /init's trace buffers, after the initrd's free, took the initrd's
 * UNMOVABLE pages from the freeing CPU's list: the top pageblock's first
 * page (0x3fe00, 2MB-aligned, in a 4K-mapped region) is allocated, which
 * no watched boot ever made a vmcb01 of; off: none of it, the whole initrd
 * free, the top pageblock the only UNMOVABLE one.
 */
static void kernel_memory_at_load(void)
{
	struct kvm_host_config hc;
	struct kvm_host *host;
	struct mm_host *mm;
	struct mm_counts c;
	snp_pfn_t s = 0, e = 0;

	boot_config(&hc, SNP_RAM_QEMU_PC, SNP_GiB, MM_KERNEL_6_12);
	hc.boot_seed = 1;
	host = boot_with(&hc);
	mm = kvm_host_mm(host);
	KASSERT_EQ(mm_get_counts(mm, MM_NUMA_NO_NODE, &c), 0);
	KEXPECT_EQ(c.allocated, KVM_BOOT_KERNEL_PAGES_612 + KVM_BOOT_RECLAIMABLE_PAGES_612);
	KEXPECT(c.pcp > 0);
	KEXPECT(unmovable_pageblocks(mm) >= 20 && unmovable_pageblocks(mm) <= 35);
	KEXPECT(!page_free_or_pcp(mm, 0x3fe00));
	KEXPECT_EQ(mm_check(mm, NULL, 0), 0);
	kvm_host_destroy(host);

	hc.boot_no_kernel_memory = true;
	host = boot_with(&hc);
	mm = kvm_host_mm(host);
	KASSERT_EQ(mm_get_counts(mm, MM_NUMA_NO_NODE, &c), 0);
	KEXPECT_EQ(c.allocated, 0);
	KEXPECT_EQ(unmovable_pageblocks(mm), 1);
	KASSERT_EQ(kvm_host_initrd_pfns(host, &s, &e), 0);
	for (snp_pfn_t p = s; p < e; p++)
		if (!page_free_or_pcp(mm, p)) {
			KEXPECT(page_free_or_pcp(mm, p));
			break;
		}
	kvm_host_destroy(host);

	/* no late pages: the initrd's first UNMOVABLE page stays free */
	hc.boot_no_kernel_memory = false;
	hc.boot_late_pages = 1;
	hc.boot_kernel_pages = 1;
	host = boot_with(&hc);
	KEXPECT(page_free_or_pcp(kvm_host_mm(host), 0x3fe00));
	kvm_host_destroy(host);
}

/* Sizes: as configured, 6.1's own default, a small host capped at managed / 8, none on flat, too many refused. */
static void kernel_memory_sizes(void)
{
	struct kvm_host_config hc;
	struct kvm_host *host;
	struct mm_counts c;

	boot_config(&hc, SNP_RAM_QEMU_PC, SNP_GiB, MM_KERNEL_6_12);
	hc.boot_kernel_pages = 1000;
	hc.boot_freed_pages = 500;
	hc.boot_reclaimable_pages = 100;
	host = boot_with(&hc);
	KASSERT_EQ(mm_get_counts(kvm_host_mm(host), MM_NUMA_NO_NODE, &c), 0);
	KEXPECT_EQ(c.allocated, 1100);
	kvm_host_destroy(host);

	boot_config(&hc, SNP_RAM_QEMU_PC, SNP_GiB, MM_KERNEL_6_1);
	host = boot_with(&hc);
	KASSERT_EQ(mm_get_counts(kvm_host_mm(host), MM_NUMA_NO_NODE, &c), 0);
	KEXPECT_EQ(c.allocated, KVM_BOOT_KERNEL_PAGES_61 + KVM_BOOT_RECLAIMABLE_PAGES_61);
	kvm_host_destroy(host);

	boot_config(&hc, SNP_RAM_QEMU_PC, 96 * SNP_MiB, MM_KERNEL_6_12);
	host = boot_with(&hc);
	KASSERT_EQ(mm_get_counts(kvm_host_mm(host), MM_NUMA_NO_NODE, &c), 0);
	KEXPECT(c.allocated > 0);
	KEXPECT(c.allocated <= (c.present - c.reserved) / 8);
	KEXPECT_EQ(mm_check(kvm_host_mm(host), NULL, 0), 0);
	kvm_host_destroy(host);

	boot_config(&hc, SNP_RAM_FLAT, SNP_GiB, MM_KERNEL_6_12);
	host = boot_with(&hc);
	KASSERT_EQ(mm_get_counts(kvm_host_mm(host), MM_NUMA_NO_NODE, &c), 0);
	KEXPECT_EQ(c.allocated, 0);
	kvm_host_destroy(host);

	/* a count past the host's pages is refused, not wrapped */
	for (int which = 0; which < 6; which++) {
		uint64_t *f[] = { &hc.boot_kernel_pages, &hc.boot_freed_pages, &hc.boot_late_pages,
				  &hc.boot_module_pages, &hc.boot_module_ro_pages, &hc.boot_reclaimable_pages };

		boot_config(&hc, SNP_RAM_QEMU_PC, SNP_GiB, MM_KERNEL_6_12);
		*f[which] = UINT64_MAX;
		host = NULL;
		KEXPECT_EQ(kvm_host_create(&hc, &host), SNP_EINVAL);
		KEXPECT(host == NULL);
		*f[which] = SNP_GiB / SNP_PAGE_SIZE + 1;
		KEXPECT_EQ(kvm_host_create(&hc, &host), SNP_EINVAL);
	}
}

/* 2MB regions of the direct map split to 4K by the boot of hc. */
static uint64_t boot_splits(const struct kvm_host_config *hc)
{
	struct kvm_host *host = boot_with(hc);
	uint64_t n = snp_direct_map_nr_split_2m(kvm_host_machine(host));

	kvm_host_destroy(host);
	return n;
}

/*
 * The modules /init loads: their read-only pages' direct-map aliases split
 * their 2MB regions to 4K.  With one read-only page, one region more than
 * a boot without the kernel's memory; with the measured 794, several, at
 * most one a page; the page counts stay those kept.
 */
static void module_pages_split_their_regions(void)
{
	struct kvm_host_config hc;
	uint64_t none, one, all;
	struct kvm_host *host;
	struct mm_counts c;

	boot_config(&hc, SNP_RAM_QEMU_PC, SNP_GiB, MM_KERNEL_6_12);
	hc.boot_seed = 1;
	hc.boot_no_kernel_memory = true;
	none = boot_splits(&hc);
	hc.boot_no_kernel_memory = false;
	hc.boot_module_ro_pages = 1;
	one = boot_splits(&hc);
	hc.boot_module_ro_pages = 0;
	all = boot_splits(&hc);
	ktap_log("2MB regions split: %llu without the kernel's memory, %llu with one read-only "
		  "module page, %llu with the measured %llu", (unsigned long long)none,
		  (unsigned long long)one, (unsigned long long)all,
		  (unsigned long long)KVM_BOOT_MODULE_RO_PAGES_612);
	KEXPECT_EQ(one, none + 1);
	KEXPECT(all > one && all <= none + KVM_BOOT_MODULE_RO_PAGES_612);
	host = boot_with(&hc);
	KASSERT_EQ(mm_get_counts(kvm_host_mm(host), MM_NUMA_NO_NODE, &c), 0);
	KEXPECT_EQ(c.allocated, KVM_BOOT_KERNEL_PAGES_612 + KVM_BOOT_RECLAIMABLE_PAGES_612);
	kvm_host_destroy(host);
}

/* Where the pages fall is the seed's: the same seed, the same pages; another, others. */
static void kernel_memory_seeded(void)
{
	struct kvm_host_config hc;
	uint64_t f[3];

	boot_config(&hc, SNP_RAM_QEMU_PC, 256 * SNP_MiB, MM_KERNEL_6_12);
	for (int i = 0; i < 3; i++) {
		struct kvm_host *host;

		hc.boot_seed = i < 2 ? 7 : 8;
		host = boot_with(&hc);
		f[i] = allocated_fingerprint(kvm_host_mm(host));
		kvm_host_destroy(host);
	}
	KEXPECT_EQ(f[0], f[1]);
	KEXPECT(f[0] != f[2]);
}

/*
 * Pageblocks of @mt with between @lo and @hi pages free (on a buddy list or
 * a per-CPU list), outside the reservations; their free pages in *@pages.
 */
static unsigned int pageblocks_with_free(struct mm_host *mm, enum mm_migratetype mt,
					 unsigned int lo, unsigned int hi, uint64_t *pages)
{
	unsigned int n = 0;

	for (snp_pfn_t p = 0; p < mm_nr_pages(mm); p += 512) {
		unsigned int fr = 0;

		if (mm_pageblock_migratetype(mm, p) != (int)mt || mm_page_reserved(mm, p) == 1)
			continue;
		for (snp_pfn_t q = p; q < p + 512; q++)
			fr += page_free_or_pcp(mm, q);
		if (fr >= lo && fr <= hi) {
			n++;
			if (pages)
				*pages += fr;
		}
	}
	return n;
}

/*
 * The boot's temporaries: drawn from recent allocations (boot_temp_recency
 * 300) they leave fewer free pages in "small holes" (UNMOVABLE pageblocks
 * with 1-39 free pages) than drawn from any allocation alike (0, the
 * default), which spreads them over every pageblock the boot filled.
 * Eight boots each, summed (docs/MODEL.md "Boot state: the boot's holes":
 * over 32 boots 29 such pages a boot against 60; the dumps 43).
 */
static void temporaries_recent_or_any(void)
{
	uint64_t pages[2] = { 0, 0 };

	for (int recent = 0; recent < 2; recent++)
		for (uint64_t seed = 1; seed <= 8; seed++) {
			struct kvm_host_config hc;
			struct kvm_host *host;
			struct mm_counts c;

			boot_config(&hc, SNP_RAM_QEMU_PC, SNP_GiB, MM_KERNEL_6_12);
			hc.boot_seed = seed;
			hc.boot_temp_recency = recent ? 300 : 0;
			host = boot_with(&hc);
			KASSERT_EQ(mm_get_counts(kvm_host_mm(host), MM_NUMA_NO_NODE, &c), 0);
			KEXPECT_EQ(c.allocated, KVM_BOOT_KERNEL_PAGES_612 + KVM_BOOT_RECLAIMABLE_PAGES_612);
			pageblocks_with_free(kvm_host_mm(host), MM_MT_UNMOVABLE, 1, 39, &pages[recent]);
			KEXPECT_EQ(mm_check(kvm_host_mm(host), NULL, 0), 0);
			kvm_host_destroy(host);
		}
	ktap_log("free pages in small holes, 8 boots: any allocation %llu, recent ones %llu",
		 (unsigned long long)pages[0], (unsigned long long)pages[1]);
	KEXPECT(pages[1] * 3 < pages[0] * 2);
}

/*
 * The boot's RECLAIMABLE slab pages: 6.12.95's 307 fill part of one
 * claimed block (two pageblocks, as the boot's pagetypeinfo had), 6.1.0-56's
 * 4,737 ten pageblocks or so (the boot: 10); boot_no_reclaimable: none.
 */
static void reclaimable_at_load(void)
{
	static const struct { enum mm_kernel k; unsigned int lo, hi; } want[] = {
		{ MM_KERNEL_6_12, 1, 2 }, { MM_KERNEL_6_1, 9, 12 },
	};

	for (size_t i = 0; i < KTAP_ARRAY_SIZE(want); i++)
		for (int none = 0; none < 2; none++) {
			struct kvm_host_config hc;
			struct kvm_host *host;
			uint64_t ev[MM_NR_ORDERS][MM_NR_MIGRATETYPES];
			unsigned int blocks;

			boot_config(&hc, SNP_RAM_QEMU_PC, SNP_GiB, want[i].k);
			hc.boot_seed = 1;
			hc.boot_no_reclaimable = none;
			host = boot_with(&hc);
			KASSERT_EQ(mm_alloc_events(kvm_host_mm(host), ev), 0);
			blocks = pageblocks_with_free(kvm_host_mm(host), MM_MT_RECLAIMABLE, 0, 512, NULL);
			ktap_log("%s%s: %llu RECLAIMABLE pages in %u pageblocks",
				 mm_kernel_name(want[i].k), none ? " (none)" : "",
				 (unsigned long long)ev[0][MM_MT_RECLAIMABLE], blocks);
			if (none) {
				KEXPECT_EQ(ev[0][MM_MT_RECLAIMABLE], 0);
				KEXPECT_EQ(blocks, 0);
			} else {
				KEXPECT_EQ(ev[0][MM_MT_RECLAIMABLE],
					   want[i].k == MM_KERNEL_6_1 ? KVM_BOOT_RECLAIMABLE_PAGES_61 :
									KVM_BOOT_RECLAIMABLE_PAGES_612);
				KEXPECT(blocks >= want[i].lo && blocks <= want[i].hi);
			}
			kvm_host_destroy(host);
		}
}

/*
 * The sparse vmemmap: 2 MiB of struct pages a 128 MiB section, one
 * PMD-aligned buffer just below the initrd.  1 GiB: 8 sections,
 * [0x3ec00000, 0x3fc00000), UNMOVABLE pageblocks (deferred init: their first
 * pages reserved), as every dumped boot has them; 256 MiB: 2 sections below
 * 0x0fc00000, MOVABLE (nothing deferred).  Only with the kernel's own
 * memory, whose kept pages leave these pageblocks out.
 */
static void vmemmap_below_the_initrd(void)
{
	static const struct { uint64_t mem; snp_pfn_t s, e; int mt; } want[] = {
		{ SNP_GiB, 0x3ec00, 0x3fc00, MM_MT_UNMOVABLE },
		{ 256 * SNP_MiB, 0xf800, 0xfc00, MM_MT_MOVABLE },
	};

	for (size_t i = 0; i < KTAP_ARRAY_SIZE(want); i++)
		for (int none = 0; none < 2; none++) {
			struct kvm_host_config hc;
			struct kvm_host *host;
			struct mm_host *mm;

			boot_config(&hc, SNP_RAM_QEMU_PC, want[i].mem, MM_KERNEL_6_12);
			hc.boot_no_kernel_memory = none;
			host = boot_with(&hc);
			mm = kvm_host_mm(host);
			KEXPECT_EQ(mm_page_reserved(mm, want[i].s - 1), 0);
			KEXPECT_EQ(mm_page_reserved(mm, want[i].s), !none);
			KEXPECT_EQ(mm_page_reserved(mm, want[i].e - 1), !none);
			KEXPECT_EQ(mm_page_reserved(mm, want[i].e), 0);
			if (!none)
				for (snp_pfn_t p = want[i].s; p < want[i].e; p += 512)
					KEXPECT_EQ(mm_pageblock_migratetype(mm, p), want[i].mt);
			kvm_host_destroy(host);
		}
}

/* UNMOVABLE pages in use above ZONE_DMA, as watch/boot-dump-report.sh counts a dump's. */
static uint64_t unmovable_in_use(const struct mm_host *mm)
{
	uint64_t n = 0;

	for (snp_pfn_t pb = MIB_PFN(16); pb < mm_nr_pages(mm); pb += 512) {
		unsigned int b, q;

		if (mm_pageblock_migratetype(mm, pb) != MM_MT_UNMOVABLE)
			continue;
		KEXPECT_EQ(mm_pageblock_free(mm, pb, &b, &q), 0);
		n += 512 - b - q;
	}
	return n;
}

/*
 * The boot's UNMOVABLE pages in use once kvm_amd is loaded are the dumped
 * boots' (KVM_BOOT_UNMOVABLE_IN_USE_*, tests/test_boot_state_data.sh): the
 * kept pages with the model's reservations and load, whatever the seed.
 */
static void unmovable_in_use_as_dumped(void)
{
	static const struct { enum mm_kernel k; uint64_t want; } kern[] = {
		{ MM_KERNEL_6_12, KVM_BOOT_UNMOVABLE_IN_USE_612 },
		{ MM_KERNEL_6_1, KVM_BOOT_UNMOVABLE_IN_USE_61 },
	};

	for (size_t i = 0; i < KTAP_ARRAY_SIZE(kern); i++)
		for (uint64_t seed = 1; seed <= 2; seed++) {
			struct kvm_host_config hc;
			struct kvm_host *host;

			boot_config(&hc, SNP_RAM_QEMU_PC, SNP_GiB, kern[i].k);
			hc.boot_seed = seed;
			host = boot_with(&hc);
			KASSERT_EQ(kvm_x86_vendor_init(host, kvm_vendor_svm()), 0);
			KEXPECT_EQ(unmovable_in_use(kvm_host_mm(host)), kern[i].want);
			kvm_host_destroy(host);
		}
}

/*
 * The per-CPU first chunk just below the vmemmap, PMD-aligned: each CPU's
 * unit keeps size_sum (66 pages on 6.12, 62 on 6.1), the rest is free in
 * UNMOVABLE pageblocks.  2 CPUs: two 1 MiB units in 2 MiB; 3: four 512 KiB
 * units, the fourth (no CPU) free whole; 16: sixteen of 512 KiB in 8 MiB.
 * None without the kernel's own memory.
 */
static void percpu_chunk_below_the_vmemmap(void)
{
	static const struct { unsigned int cpus; enum mm_kernel k; snp_pfn_t start, unit, keep; } want[] = {
		{ 2, MM_KERNEL_6_12, 0x3ea00, 256, 66 },
		{ 2, MM_KERNEL_6_1, 0x3ea00, 256, 62 },
		{ 3, MM_KERNEL_6_12, 0x3ea00, 128, 66 },
		{ 16, MM_KERNEL_6_12, 0x3e400, 128, 66 },
	};

	for (size_t i = 0; i < KTAP_ARRAY_SIZE(want); i++) {
		struct kvm_host_config hc;
		struct kvm_host *host;
		struct mm_host *mm;
		snp_pfn_t s = want[i].start, units = (0x3ec00 - s) / want[i].unit;

		boot_config(&hc, SNP_RAM_QEMU_PC, SNP_GiB, want[i].k);
		hc.nr_cpus = want[i].cpus;
		host = boot_with(&hc);
		mm = kvm_host_mm(host);
		KEXPECT_EQ(mm_page_reserved(mm, s - 1), 0);
		for (snp_pfn_t u = 0; u < units; u++) {
			snp_pfn_t at = s + u * want[i].unit;
			int kept = u < want[i].cpus;

			KEXPECT_EQ(mm_page_reserved(mm, at), kept);
			KEXPECT_EQ(mm_page_reserved(mm, at + want[i].keep - 1), kept);
			KEXPECT_EQ(mm_page_reserved(mm, at + want[i].keep), 0);
		}
		for (snp_pfn_t p = s; p < 0x3ec00; p += 512)
			KEXPECT_EQ(mm_pageblock_migratetype(mm, p), MM_MT_UNMOVABLE);
		kvm_host_destroy(host);
	}
	{
		struct kvm_host *host = boot(SNP_RAM_QEMU_PC, SNP_GiB, MM_KERNEL_6_12, 0);

		KEXPECT_EQ(mm_page_reserved(kvm_host_mm(host), 0x3ea00), 0);
		kvm_host_destroy(host);
	}
}

static const struct ktap_case cases[] = {
	KTAP_CASE(reservations_where_the_boot_had_them),
	KTAP_CASE(initrd_freed_after_boot),
	KTAP_CASE(deferred_pageblock_types),
	KTAP_CASE(initrd_freed_on_its_cpu),
	KTAP_CASE(flat_has_no_boot_state),
	KTAP_CASE(free_reserved_area_refuses),
	KTAP_CASE(simulate_floor_holds_the_image),
	KTAP_CASE(kernel_memory_at_load),
	KTAP_CASE(kernel_memory_sizes),
	KTAP_CASE(kernel_memory_seeded),
	KTAP_CASE(module_pages_split_their_regions),
	KTAP_CASE(temporaries_recent_or_any),
	KTAP_CASE(vmemmap_below_the_initrd),
	KTAP_CASE(reclaimable_at_load),
	KTAP_CASE(unmovable_in_use_as_dumped),
	KTAP_CASE(percpu_chunk_below_the_vmemmap),
};

KTAP_MAIN("boot_state", cases)
