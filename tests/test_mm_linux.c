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
#include <string.h>

/* An x86-64 host as Linux lays it out; @thp: khugepaged's min_free_kbytes (Debian's default). */
static struct mm_host *linux_host_thp(uint64_t mib, unsigned int nodes, unsigned int cpus,
				      enum mm_kernel k, bool thp)
{
	struct mm_config cfg;
	struct mm_host *mm = NULL;

	mm_config_init(&cfg, mib * SNP_MiB);
	cfg.nr_nodes = nodes;
	cfg.nr_cpus = cpus;
	cfg.x86_layout = true;
	cfg.kernel = k;
	cfg.thp_min_free_kbytes = thp;
	KASSERT_EQ(mm_host_create(&cfg, &mm), 0);
	return mm;
}

static struct mm_host *linux_host_k(uint64_t mib, unsigned int nodes, unsigned int cpus,
				     enum mm_kernel k)
{
	return linux_host_thp(mib, nodes, cpus, k, true);
}

static struct mm_host *linux_host(uint64_t mib, unsigned int nodes, unsigned int cpus)
{
	return linux_host_k(mib, nodes, cpus, MM_KERNEL_6_12);
}

/* As linux_host_k(), THP never: min_free_kbytes as calculate_min_free_kbytes() leaves it. */
static struct mm_host *linux_host_nothp(uint64_t mib, unsigned int cpus, enum mm_kernel k)
{
	return linux_host_thp(mib, 1, cpus, k, false);
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
	while ((p = mm_alloc_pages(mm, 0, MM_GFP_KERNEL, 0))) {
		snp_pfn_t pfn = mmt_pfn(mm, p);

		if (pfn < *lowest)
			*lowest = pfn;
		if (pfn < boundary && *first_below == UINT64_MAX)
			*first_below = n;
		held[n++] = p;
	}
	for (uint64_t i = 0; i < n; i++)
		KEXPECT_EQ(mm_free_pages(mm, 0, held[i], 0), 0);
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
	for (struct page *p; (p = mm_alloc_pages(mm, 0, MM_GFP_KERNEL, 8));)
		KEXPECT(mmt_pfn(mm, p) >= MM_REAL_MODE_PFNS);
	MMT_CHECK(mm);
	mm_host_destroy(mm);
}

/* Without the layout (a bare model host) pfn 0 is handed out: the rule above is the layout's. */
static void test_bare_host_gives_pfn0(void)
{
	struct mm_host *mm = mmt_host(64, 1, 1);
	struct page *p = mm_alloc_pages(mm, 0, MM_GFP_KERNEL, 0);

	KASSERT(p);
	KEXPECT_EQ(mmt_pfn(mm, p), 0);
	mm_host_destroy(mm);
}

/* zone_sizes_init() + free_area_init(): which zones a host has, by size. */
static void test_zone_layout(void)
{
	static const struct {
		uint64_t mib;
		unsigned int nodes;
		unsigned int nr;                 /* zones of node 0 */
		enum mm_zone_type last;      /* node 0's highest zone */
	} cases[] = {
		{ 64, 1, 2, MM_ZONE_DMA32 },
		{ 2048, 1, 2, MM_ZONE_DMA32 },
		{ 8192, 1, 3, MM_ZONE_NORMAL },
		{ 8192, 2, 2, MM_ZONE_DMA32 },   /* node 0 is pfns below 4 GiB */
	};

	for (unsigned int i = 0; i < KTAP_ARRAY_SIZE(cases); i++) {
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

/* ---- migratetypes ---- */

static const enum mm_kernel kernels[] = { MM_KERNEL_6_1, MM_KERNEL_6_12 };

/* A bare 64 MiB host (one zone) with pcp batch 1: every pcp refill takes one block. */
static struct mm_host *mt_host(enum mm_kernel k)
{
	struct mm_config cfg;
	struct mm_host *mm = NULL;

	mm_config_init(&cfg, 64 * SNP_MiB);
	cfg.pcp_batch = 1;
	cfg.kernel = k;
	KASSERT_EQ(mm_host_create(&cfg, &mm), 0);
	return mm;
}

/* Take every max-order block as MOVABLE; return them in @blk[16]. */
static void take_all_movable(struct mm_host *mm, struct page *blk[16])
{
	for (unsigned int i = 0; i < 16; i++) {
		blk[i] = mm_alloc_pages(mm, 0, MM_GFP_HIGHUSER_MOVABLE, MM_MAX_ORDER);
		KASSERT(blk[i]);
		KEXPECT_EQ(mmt_pfn(mm, blk[i]), (snp_pfn_t)i << MM_MAX_ORDER);
	}
	KEXPECT(mm_alloc_pages(mm, 0, MM_GFP_HIGHUSER_MOVABLE | MM_GFP_NORETRY, 0) == NULL);
}

/* The fallbacks mm_page_alloc_extfrag would have counted so far. */
static struct mm_pcp_flow fallbacks(const struct mm_host *mm)
{
	struct mm_pcp_flow f;

	KASSERT_EQ(mm_pcp_flow(mm, &f), 0);
	return f;
}

/*
 * memmap_init_range(): every pageblock starts MOVABLE.  __rmqueue_fallback():
 * an UNMOVABLE request with only MOVABLE blocks free takes the LARGEST one
 * (not the lowest, not the smallest), re-types its pageblocks
 * (change_pageblock_range()) and returns its first page: 2MB-aligned.
 */
static void test_unmovable_steals_largest(void)
{
	for (unsigned int k = 0; k < KTAP_ARRAY_SIZE(kernels); k++) {
		struct mm_host *mm = mt_host(kernels[k]);
		struct page *blk[16], *small, *p;

		KEXPECT_EQ(mm_pageblock_migratetype(mm, 0), MM_MT_MOVABLE);
		take_all_movable(mm, blk);
		/* block 2 back, then an order-3 MOVABLE from it: orders 3..9 free at 2048+ */
		KASSERT_EQ(mm_free_pages(mm, 0, blk[2], MM_MAX_ORDER), 0);
		small = mm_alloc_pages(mm, 0, MM_GFP_HIGHUSER_MOVABLE, 3);
		KASSERT(small);
		KEXPECT_EQ(mmt_pfn(mm, small), 2048);
		/* block 7 back whole: the largest MOVABLE free block, at pfn 7168 */
		KASSERT_EQ(mm_free_pages(mm, 0, blk[7], MM_MAX_ORDER), 0);
		p = mm_alloc_pages(mm, 0, MM_GFP_KERNEL, 0);
		KASSERT(p);
		ktap_log("%s: UNMOVABLE order 0 got pfn %llu", mm_kernel_name(kernels[k]),
			 (unsigned long long)mmt_pfn(mm, p));
		KEXPECT_EQ(mmt_pfn(mm, p), 7168);
		KEXPECT(snp_pfn_2m_aligned(mmt_pfn(mm, p)));
		/* one extfrag event: a whole pageblock claimed; the refill's rest is its own type's */
		KEXPECT_EQ(fallbacks(mm).claim_block[MM_MT_UNMOVABLE], 1);
		KEXPECT_EQ(fallbacks(mm).claim_part[MM_MT_UNMOVABLE], 0);
		KEXPECT_EQ(fallbacks(mm).steal[MM_MT_UNMOVABLE], 0);
		KEXPECT_EQ(mm_pageblock_migratetype(mm, 7168), MM_MT_UNMOVABLE);
		KEXPECT_EQ(mm_pageblock_migratetype(mm, 7168 + 512), MM_MT_UNMOVABLE);
		KEXPECT_EQ(mm_pageblock_migratetype(mm, 2048), MM_MT_MOVABLE);
		/* the rest of the stolen block sits on UNMOVABLE lists */
		KEXPECT_EQ(mm_free_block_mt(mm, 7168 + 512), MM_MT_UNMOVABLE);
		KEXPECT_EQ(mm_free_block_mt(mm, 2048 + 512), MM_MT_MOVABLE);
		MMT_CHECK(mm);
		mm_host_destroy(mm);
	}
}

/*
 * A MOVABLE page X sits in a pageblock an UNMOVABLE request then claims
 * (free pages >= half the block, steal_suitable_fallback()); freeing X puts
 * it on the UNMOVABLE pcp list (free_unref_page(): get_pfnblock_migratetype())
 * and, drained, on the UNMOVABLE free list.
 */
static void test_free_into_stolen_block(void)
{
	for (unsigned int k = 0; k < KTAP_ARRAY_SIZE(kernels); k++) {
		struct mm_host *mm = mt_host(kernels[k]);
		struct page *blk[16], *x, *upper, *u;
		uint64_t un0, un1, mv0, mv1;

		take_all_movable(mm, blk);
		KASSERT_EQ(mm_free_pages(mm, 0, blk[5], MM_MAX_ORDER), 0);   /* pfns 5120..6143 */
		x = mm_alloc_pages(mm, 0, MM_GFP_HIGHUSER_MOVABLE, 0);
		KASSERT(x);
		KEXPECT_EQ(mmt_pfn(mm, x), 5120);
		upper = mm_alloc_pages(mm, 0, MM_GFP_HIGHUSER_MOVABLE, MM_PAGEBLOCK_ORDER);
		KASSERT(upper);
		KEXPECT_EQ(mmt_pfn(mm, upper), 5632);   /* the other pageblock, whole */
		mm_drain_all_pages(mm);
		/* largest free is order 8 at 5376, inside X's pageblock: a partial steal */
		u = mm_alloc_pages(mm, 0, MM_GFP_KERNEL, 0);
		KASSERT(u);
		ktap_log("%s: UNMOVABLE got pfn %llu from X's pageblock", mm_kernel_name(kernels[k]),
			 (unsigned long long)mmt_pfn(mm, u));
		KEXPECT(mmt_pfn(mm, u) >= 5120 && mmt_pfn(mm, u) < 5632);
		KEXPECT_EQ(mm_pageblock_migratetype(mm, 5120), MM_MT_UNMOVABLE);
		KEXPECT_EQ(fallbacks(mm).claim_part[MM_MT_UNMOVABLE], 1);
		KEXPECT_EQ(fallbacks(mm).claim_block[MM_MT_UNMOVABLE], 0);
		KEXPECT_EQ(fallbacks(mm).steal[MM_MT_UNMOVABLE], 0);
		KEXPECT_EQ(mm_pcp_blocks_mt(mm, 0, 5120, 0, MM_MT_UNMOVABLE, &un0), 0);
		KEXPECT_EQ(mm_pcp_blocks_mt(mm, 0, 5120, 0, MM_MT_MOVABLE, &mv0), 0);
		KASSERT_EQ(mm_free_pages(mm, 0, x, 0), 0);
		KEXPECT_EQ(mm_pcp_blocks_mt(mm, 0, 5120, 0, MM_MT_UNMOVABLE, &un1), 0);
		KEXPECT_EQ(mm_pcp_blocks_mt(mm, 0, 5120, 0, MM_MT_MOVABLE, &mv1), 0);
		KEXPECT_EQ(un1, un0 + 1);
		KEXPECT_EQ(mv1, mv0);
		mm_drain_all_pages(mm);
		KEXPECT_EQ(mm_free_block_mt(mm, 5120), MM_MT_UNMOVABLE);
		MMT_CHECK(mm);
		mm_host_destroy(mm);
	}
}

/*
 * A partial steal that cannot claim the pageblock (free + alike < 256):
 * 6.1's move_freepages_block() still moves every free page of the pageblock
 * to the UNMOVABLE lists; 6.12 takes one block and leaves the rest MOVABLE.
 * Either way the pageblock stays MOVABLE.  Which block: the free pages are
 * an order-6 block at 3904 and an order-7 one at 3968.  6.1 moves both and
 * takes the smallest UNMOVABLE block (3904); Debian's 6.12.95 fails to
 * claim at orders 7 and 6, then __rmqueue_steal() takes the SMALLEST
 * fallback block (3904), where v6.12.0 would have split the largest (3968).
 */
static void test_partial_steal_61_vs_612(void)
{
	uint64_t moved[2], stolen[2];

	for (unsigned int k = 0; k < KTAP_ARRAY_SIZE(kernels); k++) {
		struct mm_host *mm = mt_host(kernels[k]);
		struct page *blk[16], *held[512], *u;
		uint64_t n = 0;

		take_all_movable(mm, blk);
		KASSERT_EQ(mm_free_pages(mm, 0, blk[3], MM_MAX_ORDER), 0);   /* pfns 3072..4095 */
		KASSERT(mm_alloc_pages(mm, 0, MM_GFP_HIGHUSER_MOVABLE, MM_PAGEBLOCK_ORDER));  /* 3072 */
		/* the pageblock at 3584: 320 MOVABLE pages in use (order 6 x 5), 192 free */
		for (unsigned int i = 0; i < 8; i++)
			KASSERT((held[i] = mm_alloc_pages(mm, 0, MM_GFP_HIGHUSER_MOVABLE, 6)));
		for (unsigned int i = 5; i < 8; i++)
			KASSERT_EQ(mm_free_pages(mm, 0, held[i], 6), 0);
		u = mm_alloc_pages(mm, 0, MM_GFP_KERNEL, 0);
		KASSERT(u);
		KEXPECT(mmt_pfn(mm, u) >= 3584 + 320);
		KEXPECT_EQ(mm_pageblock_migratetype(mm, 3584), MM_MT_MOVABLE);
		for (unsigned int o = 0; o <= MM_MAX_ORDER; o++) {
			uint64_t c;

			KASSERT_EQ(mm_free_blocks_mt(mm, 0, o, MM_MT_UNMOVABLE, &c), 0);
			n += c << o;
		}
		moved[k] = n;
		stolen[k] = fallbacks(mm).steal[MM_MT_UNMOVABLE];
		KEXPECT_EQ(fallbacks(mm).claim_block[MM_MT_UNMOVABLE] +
			   fallbacks(mm).claim_part[MM_MT_UNMOVABLE], 0);
		KEXPECT_EQ(mmt_pfn(mm, u), 3904);
		ktap_log("%s: UNMOVABLE got pfn %llu; %llu free pages now on UNMOVABLE lists",
			 mm_kernel_name(kernels[k]), (unsigned long long)mmt_pfn(mm, u),
			 (unsigned long long)n);
		MMT_CHECK(mm);
		mm_host_destroy(mm);
	}
	KEXPECT_EQ(moved[0], 192 - 1);   /* 6.1: all the rest moved */
	KEXPECT_EQ(moved[1], 0);         /* 6.12: remainders stay MOVABLE */
	/*
	 * extfrag events: 6.1 one (the move; the refill's rest came from the
	 * UNMOVABLE lists); 6.12 one a block, the refill staying in
	 * RMQUEUE_STEAL for the rest of its batch.
	 */
	ktap_log("stolen: 6.1 %llu, 6.12 %llu", (unsigned long long)stolen[0],
		 (unsigned long long)stolen[1]);
	KEXPECT_EQ(stolen[0], 1);
	KEXPECT(stolen[1] > 1);
	{	/* mm_pcp_flow_add(): a sum of counts, and their difference */
		struct mm_pcp_flow a = { .steal = { 3, 0, 1 }, .refill = { 7 } }, b = a;

		mm_pcp_flow_add(&a, &b, 1);
		KEXPECT(a.steal[0] == 6 && a.steal[2] == 2 && a.refill[0] == 14);
		mm_pcp_flow_add(&a, &b, -1);
		KEXPECT(!memcmp(&a, &b, sizeof(a)));
	}
}

/*
 * ALLOC_NOFRAGMENT (a host with Normal above DMA32): an UNMOVABLE request
 * first takes only whole pageblocks from other types, in any local zone, so
 * with Normal holding only small MOVABLE fragments it takes a whole free
 * pageblock of DMA32 rather than pollute a MOVABLE pageblock of Normal.
 */
static void test_nofragment(void)
{
	struct mm_host *mm = linux_host(4096 + 64, 1, 1);
	struct mm_zone_info z[MM_NR_ZONE_TYPES];
	uint64_t normal_start, normal_pages;
	struct page **held, *u;
	uint64_t n = 0;

	KASSERT_EQ(mm_node_zones(mm, 0, z, MM_NR_ZONE_TYPES), 3);
	KASSERT_EQ(z[2].type, MM_ZONE_NORMAL);
	normal_start = z[2].start_pfn;
	normal_pages = z[2].end_pfn - z[2].start_pfn;
	held = calloc(normal_pages, sizeof(*held));
	KASSERT(held);
	/* fill Normal with MOVABLE order-3 blocks, then free every other one */
	while (n < normal_pages / 8) {
		struct page *p = mm_alloc_pages(mm, 0, MM_GFP_HIGHUSER_MOVABLE | MM_GFP_NORETRY, 3);

		KASSERT(p);
		KASSERT(mmt_pfn(mm, p) >= normal_start);
		held[n++] = p;
	}
	for (uint64_t i = 0; i < n; i += 2)
		KASSERT_EQ(mm_free_pages(mm, 0, held[i], 3), 0);
	mm_drain_all_pages(mm);
	u = mm_alloc_pages(mm, 0, MM_GFP_KERNEL, 0);
	KASSERT(u);
	ktap_log("UNMOVABLE with Normal fragmented got pfn %llu (Normal starts at %llu)",
		 (unsigned long long)mmt_pfn(mm, u), (unsigned long long)normal_start);
	KEXPECT(mmt_pfn(mm, u) < normal_start);
	KEXPECT(snp_pfn_2m_aligned(mmt_pfn(mm, u)));
	for (uint64_t p = normal_start; p < normal_start + normal_pages; p += 512)
		if (mm_pageblock_migratetype(mm, p) != MM_MT_MOVABLE)
			ktap_fail(__FILE__, __LINE__, "Normal pageblock %llu re-typed",
				  (unsigned long long)p);
	free(held);
	MMT_CHECK(mm);
	mm_host_destroy(mm);
}

/* ---- pcp sizes ---- */

/*
 * zone_batchsize() (6.1 = 6.12): b = min(managed >> 10, 256) / 4, at least
 * 1; rounddown_pow_of_two(b + b/2) - 1, at least 1.  Worked by hand:
 */
static void test_batchsize_table(void)
{
	static const struct { uint64_t managed; unsigned int batch; } t[] = {
		{ 3840, 1 },      /* DMA: 3 / 4 = 0 -> 1; pow2(1) - 1 = 0 -> 1 */
		{ 12288, 3 },     /* 48 MiB: 12 / 4 = 3; pow2(4) - 1 */
		{ 65536, 15 },    /* 256 MiB: 16; pow2(24) - 1 */
		{ 90112, 31 },    /* 352 MiB: 88 / 4 = 22; pow2(33) - 1 */
		{ 175104, 31 },   /* 684 MiB: 171 / 4 = 42; pow2(63) - 1 */
		{ 176128, 63 },   /* 688 MiB: 172 / 4 = 43; pow2(64) - 1 */
		{ 520192, 63 },   /* DMA32 of 2 GiB: capped at 256 / 4 = 64; pow2(96) - 1 */
		{ 1ULL << 26, 63 },
	};

	for (unsigned int i = 0; i < KTAP_ARRAY_SIZE(t); i++)
		if (mm_zone_batchsize(t[i].managed) != t[i].batch)
			ktap_fail(__FILE__, __LINE__, "zone_batchsize(%llu) = %u, expected %u",
				  (unsigned long long)t[i].managed, mm_zone_batchsize(t[i].managed),
				  t[i].batch);
	/* zone_highsize(): max(total / cpus, 4 * batch) */
	KEXPECT_EQ(mm_zone_highsize(1956, 4, 63), 489);
	KEXPECT_EQ(mm_zone_highsize(520192 / 8, 4, 63), 16256);
	KEXPECT_EQ(mm_zone_highsize(13, 4, 1), 4);
	KEXPECT_EQ(mm_zone_highsize(100, 1, 63), 252);
}

/*
 * A 2 GiB host, 4 CPUs, THP never: min_free_kbytes = isqrt(2096128 * 16) = 5791, so
 * pages_min 1447; DMA32 (520192 managed) gets min 1436, low 1436 + max(359,
 * 520) = 1956, so high = 1956 / 4 = 489; 6.12's high_max = 520192 / 8 / 4 =
 * 16256.  DMA (3840 managed): min 10, low 13, batch 1, high max(3, 4) = 4.
 */
static void test_pcp_sizes_2g(void)
{
	for (unsigned int k = 0; k < KTAP_ARRAY_SIZE(kernels); k++) {
		struct mm_host *mm = linux_host_nothp(2048, 4, kernels[k]);
		struct mm_pcp_info pi;

		KASSERT_EQ(mm_pcp_sizes(mm, MM_DMA_END_PFN, 0, &pi), 0);
		KEXPECT_EQ(pi.wmark_low, 1956);
		KEXPECT_EQ(pi.batch, 63);
		KEXPECT_EQ(pi.high_min, 489);
		KEXPECT_EQ(pi.high_max, kernels[k] == MM_KERNEL_6_12 ? 16256 : 489);
		KEXPECT_EQ(pi.high, 489);
		KASSERT_EQ(mm_pcp_sizes(mm, MM_REAL_MODE_PFNS, 3, &pi), 0);
		KEXPECT_EQ(pi.wmark_low, 13);
		KEXPECT_EQ(pi.batch, 1);
		KEXPECT_EQ(pi.high_min, 4);
		mm_host_destroy(mm);
	}
}

/*
 * The same host with THP enabled, as Debian's configs have it: khugepaged's
 * set_recommended_min_free_kbytes() asks 2 + 3 * 3 pageblocks per populated
 * zone, 512 * 2 * 11 = 11264 pages, below 5% of nr_free_buffer_pages()
 * (DMA32 520192 - high 2476, DMA 3840 - 16: 26077), so min_free_kbytes
 * becomes 45056: DMA32 min 11264 * 520192 / 524032 = 11181, low 11181 +
 * 2795 = 13976, high 13976 / 4 = 3494; 6.12's high_max is unchanged.  DMA:
 * min 82, low 102, high 25.  At 128 MiB, 1 CPU, the cap binds: buffer
 * pages 28672 - 475 + 3840 - 62 = 31975, / 20 = 1598 pages; DMA32 min 1598
 * * 28672 / 32512 = 1409, low 1409 + 352 = 1761 (THP never: 396).  The
 * watched 1 GiB boots print a pcp high of 6929 (6.12) and 6928 (6.1) in
 * /proc/zoneinfo, where this formula gives 3.2 times the THP-never one.
 */
static void test_pcp_sizes_thp(void)
{
	for (unsigned int k = 0; k < KTAP_ARRAY_SIZE(kernels); k++) {
		struct mm_host *mm = linux_host_k(2048, 1, 4, kernels[k]);
		struct mm_pcp_info pi;

		KASSERT_EQ(mm_pcp_sizes(mm, MM_DMA_END_PFN, 0, &pi), 0);
		KEXPECT_EQ(pi.wmark_low, 13976);
		KEXPECT_EQ(pi.high_min, 3494);
		KEXPECT_EQ(pi.high_max, kernels[k] == MM_KERNEL_6_12 ? 16256 : 3494);
		KEXPECT_EQ(pi.high, 3494);
		KASSERT_EQ(mm_pcp_sizes(mm, MM_REAL_MODE_PFNS, 3, &pi), 0);
		KEXPECT_EQ(pi.wmark_low, 102);
		KEXPECT_EQ(pi.high_min, 25);
		mm_host_destroy(mm);
	}
	{
		struct mm_host *on = linux_host_k(128, 1, 1, MM_KERNEL_6_12);
		struct mm_host *off = linux_host_nothp(128, 1, MM_KERNEL_6_12);
		struct mm_pcp_info a, b;

		KASSERT_EQ(mm_pcp_sizes(on, MM_DMA_END_PFN, 0, &a), 0);
		KASSERT_EQ(mm_pcp_sizes(off, MM_DMA_END_PFN, 0, &b), 0);
		KEXPECT_EQ(a.wmark_low, 1761);
		KEXPECT_EQ(b.wmark_low, 396);
		mm_host_destroy(on);
		mm_host_destroy(off);
	}
}

/*
 * Refills: 6.1 takes max(batch >> order, 2) every time; 6.12's nr_pcp_alloc()
 * doubles order-0 refills while no page is freed (alloc_factor), raising
 * pcp->high by a batch each time.  64 allocations on a fresh list: 6.1 has
 * refilled 63 twice (62 left), 6.12 63 then 126 (125 left, high 489+63+126).
 * Drains: the first time the list reaches high by frees, 6.1 frees one batch
 * (nr_pcp_free() with free_factor 0), 6.12 frees free_count clamped to high
 * - batch, after raising high to hold free_count + batch.
 */
static struct mm_host *host_2g(enum mm_kernel k)
{
	return linux_host_nothp(2048, 4, k);   /* the sizes of test_pcp_sizes_2g */
}

static void test_pcp_refill_and_drain(void)
{
	static const struct { unsigned int left, high, after_drain, high_after; } want[] = {
		{ 62, 489, 426, 489 },    /* 6.1 */
		{ 125, 678, 63, 552 },    /* 6.12 */
	};

	for (unsigned int k = 0; k < KTAP_ARRAY_SIZE(kernels); k++) {
		struct mm_host *mm = host_2g(kernels[k]);
		struct mm_pcp_info pi;
		struct page *held[489];

		for (unsigned int i = 0; i < 64; i++)
			KASSERT(mm_alloc_pages(mm, 0, MM_GFP_KERNEL, 0));
		KASSERT_EQ(mm_pcp_sizes(mm, MM_DMA_END_PFN, 0, &pi), 0);
		ktap_log("%s: after 64 allocations %u left on the list, high %u",
			 mm_kernel_name(kernels[k]), pi.count, pi.high);
		KEXPECT_EQ(pi.count, want[k].left);
		KEXPECT_EQ(pi.high, want[k].high);
		mm_host_destroy(mm);

		/* a fresh host: 489 pages taken on CPU 1, freed on CPU 0 */
		mm = host_2g(kernels[k]);
		for (unsigned int i = 0; i < 489; i++)
			KASSERT((held[i] = mm_alloc_pages(mm, 1, MM_GFP_KERNEL, 0)));
		for (unsigned int i = 0; i < 489; i++)
			KASSERT_EQ(mm_free_pages(mm, 0, held[i], 0), 0);
		KASSERT_EQ(mm_pcp_sizes(mm, MM_DMA_END_PFN, 0, &pi), 0);
		ktap_log("%s: 489 frees leave %u on the list, high %u", mm_kernel_name(kernels[k]),
			 pi.count, pi.high);
		KEXPECT_EQ(pi.count, want[k].after_drain);
		KEXPECT_EQ(pi.high, want[k].high_after);
		MMT_CHECK(mm);
		mm_host_destroy(mm);
	}
}

/* The THP order is cached on the pcp lists too (pcp_allowed_order()). */
static void test_thp_on_pcp(void)
{
	struct mm_host *mm = linux_host_nothp(256, 1, MM_KERNEL_6_12);
	struct page *p = mm_alloc_pages(mm, 0, MM_GFP_HIGHUSER_MOVABLE, MM_PAGEBLOCK_ORDER);
	struct mm_pcp_info pi;
	uint64_t n;

	KASSERT(p);
	KASSERT_EQ(mm_free_pages(mm, 0, p, MM_PAGEBLOCK_ORDER), 0);
	KEXPECT_EQ(mm_pcp_blocks_mt(mm, 0, mmt_pfn(mm, p), MM_PAGEBLOCK_ORDER, MM_MT_MOVABLE, &n), 0);
	KASSERT_EQ(mm_pcp_sizes(mm, mmt_pfn(mm, p), 0, &pi), 0);
	ktap_log("THP on the pcp: %llu block(s), count %u, high %u", (unsigned long long)n, pi.count,
		 pi.high);
	KEXPECT_EQ(n, 1);   /* high 615 > 512: it stays cached */
	KEXPECT_EQ(mm_alloc_pages(mm, 0, MM_GFP_HIGHUSER_MOVABLE, MM_PAGEBLOCK_ORDER), p);
	MMT_CHECK(mm);
	mm_host_destroy(mm);
}

static const struct ktap_case cases[] = {
	KTAP_CASE(test_real_mode_reserved),
	KTAP_CASE(test_bare_host_gives_pfn0),
	KTAP_CASE(test_zone_layout),
	KTAP_CASE(test_lowmem_reserve),
	KTAP_CASE(test_unmovable_steals_largest),
	KTAP_CASE(test_free_into_stolen_block),
	KTAP_CASE(test_partial_steal_61_vs_612),
	KTAP_CASE(test_nofragment),
	KTAP_CASE(test_batchsize_table),
	KTAP_CASE(test_pcp_sizes_2g),
	KTAP_CASE(test_pcp_sizes_thp),
	KTAP_CASE(test_pcp_refill_and_drain),
	KTAP_CASE(test_thp_on_pcp),
};

KTAP_MAIN("mm_linux", cases)
