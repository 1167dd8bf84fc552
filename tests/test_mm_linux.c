// SPDX-License-Identifier: MIT
/*
 * test_mm_linux.c - host memory laid out as x86-64 Linux lays it out
 * (mm_config.x86_layout): the first 1 MiB never free (reserve_real_mode()),
 * zones DMA / DMA32 / Normal, lowmem_reserve keeping GFP_KERNEL out of the
 * lower zones until the higher ones are empty.  Each case names the rule and
 * the kernel function it pins.
 */
#include "ktap.h"
#include "mm_util.h"

#include <stdlib.h>

static struct mm_host *linux_host(uint64_t mib, unsigned int nodes, unsigned int cpus)
{
	struct mm_config cfg;
	struct mm_host *mm = NULL;

	mm_config_init(&cfg, mib * SNP_MiB);
	cfg.nr_nodes = nodes;
	cfg.nr_cpus = cpus;
	cfg.x86_layout = true;
	KASSERT_EQ(mm_host_create(&cfg, &mm), 0);
	return mm;
}

/*
 * Take every page the allocator will give, order 0, on CPU 0; return how
 * many, the lowest pfn seen, and the index of the first allocation below
 * @boundary (or UINT64_MAX).  The pages are freed again.
 */
static uint64_t exhaust(struct mm_host *mm, snp_pfn_t *lowest, snp_pfn_t boundary,
			uint64_t *first_below)
{
	uint64_t n = 0, cap = mm_nr_pages(mm);
	struct page **held = calloc(cap, sizeof(*held));
	struct page *p;

	KASSERT(held);
	*lowest = UINT64_MAX;
	*first_below = UINT64_MAX;
	while ((p = mm_alloc_pages(mm, MM_GFP_KERNEL, 0))) {
		snp_pfn_t pfn = mmt_pfn(mm, p);

		if (pfn < *lowest)
			*lowest = pfn;
		if (pfn < boundary && *first_below == UINT64_MAX)
			*first_below = n;
		held[n++] = p;
	}
	for (uint64_t i = 0; i < n; i++)
		KEXPECT_EQ(mm_free_pages(mm, held[i], 0), 0);
	free(held);
	return n;
}

/* reserve_real_mode(): no pfn below 256 is ever handed out, even to the last page. */
static void test_real_mode_reserved(void)
{
	struct mm_host *mm = linux_host(64, 1, 2);
	struct mm_counts c;
	snp_pfn_t lowest;
	uint64_t first_dma;

	KEXPECT_EQ(mm_get_counts(mm, MM_NUMA_NO_NODE, &c), 0);
	KEXPECT_EQ(c.reserved, MM_REAL_MODE_PFNS);
	exhaust(mm, &lowest, MM_DMA_END_PFN, &first_dma);
	ktap_log("lowest pfn handed out: %llu", (unsigned long long)lowest);
	KEXPECT(lowest >= MM_REAL_MODE_PFNS);
	/* and higher orders: an order-8 block from DMA never covers pfn 0..255 */
	for (struct page *p; (p = mm_alloc_pages(mm, MM_GFP_KERNEL, 8));)
		KEXPECT(mmt_pfn(mm, p) >= MM_REAL_MODE_PFNS);
	MMT_CHECK(mm);
	mm_host_destroy(mm);
}

/* Without the layout (a bare model host) pfn 0 is handed out: the rule above is the layout's. */
static void test_bare_host_gives_pfn0(void)
{
	struct mm_host *mm = mmt_host(64, 1, 1);
	struct page *p = mm_alloc_pages(mm, MM_GFP_KERNEL, 0);

	KASSERT(p);
	KEXPECT_EQ(mmt_pfn(mm, p), 0);
	mm_host_destroy(mm);
}

/* zone_sizes_init() + free_area_init(): which zones a host has, by size. */
static void test_zone_layout(void)
{
	static const struct {
		uint64_t mib;
		unsigned nodes;
		unsigned nr;                 /* zones of node 0 */
		enum mm_zone_type last;      /* node 0's highest zone */
	} cases[] = {
		{ 64, 1, 2, MM_ZONE_DMA32 },
		{ 2048, 1, 2, MM_ZONE_DMA32 },
		{ 8192, 1, 3, MM_ZONE_NORMAL },
		{ 8192, 2, 2, MM_ZONE_DMA32 },   /* node 0 is pfns below 4 GiB */
	};

	for (unsigned i = 0; i < KTAP_ARRAY_SIZE(cases); i++) {
		struct mm_host *mm = linux_host(cases[i].mib, cases[i].nodes, 1);
		struct mm_zone_info z[MM_NR_ZONE_TYPES];
		int n = mm_node_zones(mm, 0, z, MM_NR_ZONE_TYPES);

		KEXPECT_EQ(n, (int)cases[i].nr);
		if (n > 0) {
			KEXPECT_EQ(z[0].type, MM_ZONE_DMA);
			KEXPECT_EQ(z[0].start_pfn, 0);
			KEXPECT_EQ(z[0].end_pfn, MM_DMA_END_PFN);
			KEXPECT_EQ(z[0].managed, MM_DMA_END_PFN - MM_REAL_MODE_PFNS);
			KEXPECT_EQ(z[n - 1].type, cases[i].last);
			KEXPECT_EQ(z[n - 1].lowmem_reserve, 0);
		}
		if (n >= 2) {   /* DMA keeps (pages above it) / 256 back */
			uint64_t above = 0;

			for (int k = 1; k < n; k++)
				above += z[k].managed;
			KEXPECT_EQ(z[0].lowmem_reserve, above / MM_LOWMEM_RESERVE_RATIO);
		}
		if (cases[i].nodes == 2) {
			KEXPECT_EQ(mm_node_zones(mm, 1, z, MM_NR_ZONE_TYPES), 1);
			KEXPECT_EQ(z[0].type, MM_ZONE_NORMAL);
		}
		MMT_CHECK(mm);
		mm_host_destroy(mm);
	}
}

/*
 * lowmem_reserve: GFP_KERNEL takes DMA pages only once DMA32 (buddy and this
 * CPU's list) is empty, and DMA keeps pages back even when the allocation
 * then fails (get_page_from_freelist() -> zone_watermark_fast()).
 */
static void test_lowmem_reserve(void)
{
	struct mm_host *mm = linux_host(64, 1, 1);
	struct mm_zone_info z[MM_NR_ZONE_TYPES];
	uint64_t first_dma, total, dma32_pages;
	snp_pfn_t lowest;

	KASSERT_EQ(mm_node_zones(mm, 0, z, MM_NR_ZONE_TYPES), 2);
	dma32_pages = z[1].managed;
	total = exhaust(mm, &lowest, MM_DMA_END_PFN, &first_dma);
	/* the exhaust loop ended on a failure, after the drain of the retry */
	KASSERT_EQ(mm_node_zones(mm, 0, z, MM_NR_ZONE_TYPES), 2);
	ktap_log("DMA32 pages %llu, first DMA page at allocation %llu, DMA kept back %llu "
		 "(lowmem_reserve %llu), %llu handed out",
		 (unsigned long long)dma32_pages, (unsigned long long)first_dma,
		 (unsigned long long)(z[0].managed - (total - dma32_pages)),
		 (unsigned long long)z[0].lowmem_reserve, (unsigned long long)total);
	KEXPECT_EQ(first_dma, dma32_pages);
	KEXPECT(total > dma32_pages);                  /* DMA does serve in the end */
	KEXPECT(total - dma32_pages < z[0].managed);   /* but not all of it */
	KEXPECT(z[0].managed - (total - dma32_pages) <= z[0].lowmem_reserve);
	MMT_CHECK(mm);
	mm_host_destroy(mm);
}

static const struct ktap_case cases[] = {
	KTAP_CASE(test_real_mode_reserved),
	KTAP_CASE(test_bare_host_gives_pfn0),
	KTAP_CASE(test_zone_layout),
	KTAP_CASE(test_lowmem_reserve),
};

KTAP_MAIN("mm_linux", cases)
