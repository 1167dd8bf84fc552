// SPDX-License-Identifier: MIT
/*
 * test_pcp_rules.c - three per-CPU list rules of the kernels `snpsafe watch`
 * boots, each pinned by what the lists hold after a sequence of frees
 * (docs/MODEL.md, "Host page allocator"; docs/SOURCES.md, rule 4):
 *   - NR_PCP_THP = 2 in Debian's 6.1.192 as in 6.12.95: the THP order has a
 *     MOVABLE list and an UNMOVABLE+RECLAIMABLE one (order_to_pindex()),
 *     and pcp_allowed_order() caches orders 0..3 and pageblock order only;
 *   - 6.1.192 nr_pcp_free(): free_factor stops at CONFIG_PCP_BATCH_SCALE_MAX (5);
 *   - 6.12.95 free_unref_page_commit(): with PCPF_FREE_HIGH_BATCH (set by
 *     zone_pcp_update_cacheinfo() when the CPU's LLC slice holds more than
 *     3 batches) a run of order-1..3 frees keeps a batch on the list.
 */
#include "ktap.h"
#include "mm_util.h"

static const enum mm_kernel kernels[] = { MM_KERNEL_6_1, MM_KERNEL_6_12 };

/* One zone of @mib MiB, @cpus CPUs, fixed pcp sizes, an LLC slice of @llc_kib (0: default). */
static struct mm_host *pcp_host(enum mm_kernel k, uint64_t mib, unsigned int cpus,
				unsigned int batch, unsigned int high, unsigned int llc_kib)
{
	struct mm_config cfg;
	struct mm_host *mm = NULL;

	mm_config_init(&cfg, mib * SNP_MiB);
	cfg.nr_cpus = cpus;
	cfg.kernel = k;
	cfg.pcp_batch = batch;
	cfg.pcp_high = high;
	cfg.llc_slice_kib = llc_kib;
	KASSERT_EQ(mm_host_create(&cfg, &mm), 0);
	return mm;
}

static unsigned int pcp_count(const struct mm_host *mm, unsigned int cpu)
{
	struct mm_pcp_info pi;

	KASSERT_EQ(mm_pcp_sizes(mm, 0, cpu, &pi), 0);
	return pi.count;
}

/*
 * A MOVABLE THP and an UNMOVABLE one freed to CPU 0, the MOVABLE one last:
 * an UNMOVABLE order-9 request gets the UNMOVABLE block back, not the head
 * of one shared list (NR_PCP_THP = 2; 6.1.192 include/linux/mmzone.h).
 */
static void test_thp_lists_by_mobility(void)
{
	for (unsigned int k = 0; k < KTAP_ARRAY_SIZE(kernels); k++) {
		struct mm_host *mm = pcp_host(kernels[k], 256, 1, MM_PCP_BATCH_DEFAULT, 2048, 0);
		struct page *mov = mm_alloc_pages(mm, 0, MM_GFP_HIGHUSER_MOVABLE, MM_PAGEBLOCK_ORDER);
		struct page *unmov = mm_alloc_pages(mm, 0, MM_GFP_KERNEL, MM_PAGEBLOCK_ORDER);
		uint64_t n_mov, n_unmov;

		KASSERT(mov && unmov);
		mm_drain_all_pages(mm);   /* the refills' other blocks: only these two on the lists */
		KEXPECT_EQ(mm_pageblock_migratetype(mm, mmt_pfn(mm, unmov)), MM_MT_UNMOVABLE);
		KEXPECT_EQ(mm_pageblock_migratetype(mm, mmt_pfn(mm, mov)), MM_MT_MOVABLE);
		KASSERT_EQ(mm_free_pages(mm, 0, unmov, MM_PAGEBLOCK_ORDER), 0);
		KASSERT_EQ(mm_free_pages(mm, 0, mov, MM_PAGEBLOCK_ORDER), 0);
		KASSERT_EQ(mm_pcp_blocks_mt(mm, 0, 0, MM_PAGEBLOCK_ORDER, MM_MT_MOVABLE, &n_mov), 0);
		KASSERT_EQ(mm_pcp_blocks_mt(mm, 0, 0, MM_PAGEBLOCK_ORDER, MM_MT_UNMOVABLE, &n_unmov), 0);
		ktap_log("%s: THP lists hold %llu movable, %llu unmovable", mm_kernel_name(kernels[k]),
			 (unsigned long long)n_mov, (unsigned long long)n_unmov);
		KEXPECT_EQ(n_mov, 1);
		KEXPECT_EQ(n_unmov, 1);
		KEXPECT(mm_alloc_pages(mm, 0, MM_GFP_KERNEL, MM_PAGEBLOCK_ORDER) == unmov);
		KEXPECT(mm_alloc_pages(mm, 0, MM_GFP_HIGHUSER_MOVABLE, MM_PAGEBLOCK_ORDER) == mov);
		MMT_CHECK(mm);
		mm_host_destroy(mm);
	}
}

/*
 * pcp_allowed_order(): orders 0..3 (PAGE_ALLOC_COSTLY_ORDER) and the one
 * THP order, pageblock_order (9), are cached; 4..8 and 10 go straight back
 * to the buddy lists.  Both kernels.
 */
static void test_pcp_orders(void)
{
	for (unsigned int k = 0; k < KTAP_ARRAY_SIZE(kernels); k++) {
		struct mm_host *mm = pcp_host(kernels[k], 256, 1, MM_PCP_BATCH_DEFAULT, 2048, 0);

		for (unsigned int order = 0; order <= MM_MAX_ORDER; order++) {
			struct page *p = mm_alloc_pages(mm, 0, MM_GFP_HIGHUSER_MOVABLE, order);
			bool cached = order <= MM_PCP_MAX_ORDER || order == MM_PAGEBLOCK_ORDER;
			unsigned int before;

			KASSERT(p);
			mm_drain_all_pages(mm);
			before = pcp_count(mm, 0);
			KASSERT_EQ(mm_free_pages(mm, 0, p, order), 0);
			if (pcp_count(mm, 0) - before != (cached ? 1u << order : 0))
				ktap_fail(__FILE__, __LINE__, "%s: order %u: pcp grew by %u",
					  mm_kernel_name(kernels[k]), order, pcp_count(mm, 0) - before);
		}
		MMT_CHECK(mm);
		mm_host_destroy(mm);
	}
}

/*
 * 6.1.192 nr_pcp_free(): each free that finds the list at high drains
 * batch << free_factor (clamped to [batch, high - batch]) and doubles the
 * next drain while free_factor < CONFIG_PCP_BATCH_SCALE_MAX = 5.  With batch
 * 4 and high 2048 the clamp (2044) never binds: the drains are 4, 8, 16, 32,
 * 64, 128, then 128 again (without the cap: 256, 512).  The pages are taken
 * on CPU 1 so that no allocation on CPU 0 halves free_factor.
 */
static void test_free_factor_cap_61(void)
{
	static const unsigned int want[] = { 4, 8, 16, 32, 64, 128, 128, 128 };
	enum { N = 2600 };
	struct mm_host *mm = pcp_host(MM_KERNEL_6_1, 256, 2, 4, 2048, 0);
	static struct page *held[N];
	unsigned int drains = 0, got[KTAP_ARRAY_SIZE(want)];

	for (unsigned int i = 0; i < N; i++)
		KASSERT((held[i] = mm_alloc_pages(mm, 1, MM_GFP_KERNEL, 0)));
	for (unsigned int i = 0; i < N && drains < KTAP_ARRAY_SIZE(want); i++) {
		unsigned int before = pcp_count(mm, 0), after;

		KASSERT_EQ(mm_free_pages(mm, 0, held[i], 0), 0);
		after = pcp_count(mm, 0);
		if (after <= before)
			got[drains++] = before + 1 - after;
		held[i] = NULL;
	}
	KASSERT_EQ(drains, KTAP_ARRAY_SIZE(want));
	ktap_log("6.1 drains: %u %u %u %u %u %u %u %u", got[0], got[1], got[2], got[3], got[4],
		 got[5], got[6], got[7]);
	for (unsigned int d = 0; d < drains; d++)
		KEXPECT_EQ(got[d], want[d]);
	for (unsigned int i = 0; i < N; i++)
		if (held[i])
			KASSERT_EQ(mm_free_pages(mm, 0, held[i], 0), 0);
	MMT_CHECK(mm);
	mm_host_destroy(mm);
}

/*
 * 6.12.95 free_unref_page_commit(): four order-1 frees on CPU 0 bring
 * free_count to a batch (8) and set PCPF_PREV_FREE_HIGH_ORDER; a drain
 * empties the list without touching either.  The fifth order-1 free is then
 * a free_high one, which drains the list, unless PCPF_FREE_HIGH_BATCH is set
 * and the list holds less than a batch (2 pages here): a CPU whose LLC slice
 * (2 MiB, the default) holds more than 3 batches keeps them; one with a
 * 64 KiB slice (16 pages, not more than 24) does not.
 */
static void test_free_high_batch_612(void)
{
	static const struct { unsigned int llc_kib, left; } t[] = {
		{ 0, 2 },      /* MM_LLC_SLICE_KIB_DEFAULT: 512 pages > 3 x 8: flag set */
		{ 64, 0 },     /* 16 pages: flag clear */
	};

	for (unsigned int i = 0; i < KTAP_ARRAY_SIZE(t); i++) {
		struct mm_host *mm = pcp_host(MM_KERNEL_6_12, 64, 1, 8, 64, t[i].llc_kib);
		struct page *p[5];

		for (unsigned int j = 0; j < 5; j++)
			KASSERT((p[j] = mm_alloc_pages(mm, 0, MM_GFP_KERNEL, 1)));
		mm_drain_all_pages(mm);
		for (unsigned int j = 0; j < 4; j++)
			KASSERT_EQ(mm_free_pages(mm, 0, p[j], 1), 0);
		KEXPECT_EQ(pcp_count(mm, 0), 8);
		mm_drain_all_pages(mm);
		KASSERT_EQ(mm_free_pages(mm, 0, p[4], 1), 0);
		ktap_log("LLC slice %u KiB: %u pages left after the fifth order-1 free",
			 t[i].llc_kib ? t[i].llc_kib : MM_LLC_SLICE_KIB_DEFAULT, pcp_count(mm, 0));
		KEXPECT_EQ(pcp_count(mm, 0), t[i].left);
		MMT_CHECK(mm);
		mm_host_destroy(mm);
	}
}

static const struct ktap_case cases[] = {
	KTAP_CASE(test_thp_lists_by_mobility),
	KTAP_CASE(test_pcp_orders),
	KTAP_CASE(test_free_factor_cap_61),
	KTAP_CASE(test_free_high_batch_612),
};

KTAP_MAIN("pcp_rules", cases)
