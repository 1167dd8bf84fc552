// SPDX-License-Identifier: MIT
/*
 * test_mm_watch_host.c - watch's workload host thread on a modeled host
 * (src/mm/mm_watch_host.c, watch/workload.c host_thread()): a loop's
 * allocations by order and migratetype on each kernel, nothing held after
 * it, the THP fallback, the CPU stream, bad arguments.
 */
#include "mm_util.h"

#include <string.h>

typedef uint64_t events_t[MM_NR_ORDERS][MM_NR_MIGRATETYPES];

static struct mm_host *host(uint64_t mib, enum mm_kernel k)
{
	struct mm_config cfg;
	struct mm_host *mm = NULL;

	mm_config_init(&cfg, mib * SNP_MiB);
	cfg.nr_cpus = 2;
	cfg.x86_layout = true;
	cfg.kernel = k;
	KASSERT_EQ(mm_host_create(&cfg, &mm), 0);
	return mm;
}

/* One loop's allocations into d; the host's allocated pages are the same after it. */
static void one_loop(struct mm_host *mm, struct mm_watch_host *h, events_t d)
{
	events_t a, b;
	struct mm_counts c0, c1;

	KASSERT_EQ(mm_get_counts(mm, MM_NUMA_NO_NODE, &c0), 0);
	KASSERT_EQ(mm_alloc_events(mm, a), 0);
	KASSERT_EQ(mm_watch_host_loop(mm, h), 0);
	KASSERT_EQ(mm_alloc_events(mm, b), 0);
	KASSERT_EQ(mm_get_counts(mm, MM_NUMA_NO_NODE, &c1), 0);
	KEXPECT_EQ(c1.allocated, c0.allocated);
	for (unsigned int o = 0; o < MM_NR_ORDERS; o++)
		for (unsigned int t = 0; t < MM_NR_MIGRATETYPES; t++)
			d[o][t] = b[o][t] - a[o][t];
}

/*
 * 6.12: 1,024 page cache pages, two THPs and their deposited tables; 6.1:
 * the page cache, one THP and its table, 512 anonymous pages and their two
 * page tables.  Nothing else.
 */
static void test_loop_allocations(void)
{
	static const struct { enum mm_kernel k; uint64_t movable0, thp, unmovable0; } c[] = {
		{ MM_KERNEL_6_12, 1024, 2, 2 },
		{ MM_KERNEL_6_1, 1024 + 512, 1, 3 },
	};

	for (unsigned int i = 0; i < KTAP_ARRAY_SIZE(c); i++) {
		struct mm_host *mm = host(512, c[i].k);
		struct mm_watch_host *h = NULL;
		struct mm_watch_host_stats st;
		events_t d;

		ktap_log("kernel %s", mm_kernel_name(c[i].k));
		KASSERT_EQ(mm_watch_host_begin(mm, 7, &h), 0);
		one_loop(mm, h, d);
		for (unsigned int o = 0; o < MM_NR_ORDERS; o++)
			for (unsigned int t = 0; t < MM_NR_MIGRATETYPES; t++) {
				uint64_t want = 0;

				if (o == 0 && t == MM_MT_MOVABLE)
					want = c[i].movable0;
				else if (o == MM_PAGEBLOCK_ORDER && t == MM_MT_MOVABLE)
					want = c[i].thp;
				else if (o == 0 && t == MM_MT_UNMOVABLE)
					want = c[i].unmovable0;
				KEXPECT_EQ(d[o][t], want);
			}
		KASSERT_EQ(mm_watch_host_stats(h, &st), 0);
		KEXPECT_EQ(st.loops, 1);
		KEXPECT_EQ(st.cache_pages, 1024);
		KEXPECT_EQ(st.anon_pages, c[i].movable0 - 1024);
		KEXPECT_EQ(st.thp, c[i].thp);
		KEXPECT_EQ(st.short_loops, 0);
		MMT_CHECK(mm);
		mm_watch_host_end(h);
		mm_host_destroy(mm);
	}
}

/* The page @p pages after @head. */
static struct page *nth(struct mm_host *mm, struct page *head, unsigned int p)
{
	return mm_pfn_to_page(mm, mm_page_to_pfn(mm, head) + p);
}

/*
 * With every order-9 block taken (and every other page of forty of them given
 * back: order-0 pages free above the watermarks, no order-9 block), a THP
 * faults in as 512 order-0 pages.
 */
static void test_thp_fallback(void)
{
	struct mm_host *mm = host(256, MM_KERNEL_6_12);
	struct mm_watch_host *h = NULL;
	struct mm_watch_host_stats st;
	struct page *held[128];
	unsigned int n = 0;
	events_t d;

	while (n < KTAP_ARRAY_SIZE(held) &&
	       (held[n] = mm_alloc_pages(mm, 0, MM_GFP_HIGHUSER_MOVABLE | MM_GFP_NORETRY,
					 MM_PAGEBLOCK_ORDER)))
		n++;
	KASSERT(n >= 40 && n < KTAP_ARRAY_SIZE(held));
	for (unsigned int i = 0; i < 40; i++) {
		KASSERT_EQ(mm_split_page(mm, held[i], MM_PAGEBLOCK_ORDER), 0);
		for (unsigned int p = 1; p < (1u << MM_PAGEBLOCK_ORDER); p += 2)
			KASSERT_EQ(mm_free_pages(mm, 0, nth(mm, held[i], p), 0), 0);
	}
	KASSERT_EQ(mm_watch_host_begin(mm, 3, &h), 0);
	one_loop(mm, h, d);
	KASSERT_EQ(mm_watch_host_stats(h, &st), 0);
	KEXPECT_EQ(d[MM_PAGEBLOCK_ORDER][MM_MT_MOVABLE], 0);
	KEXPECT_EQ(st.thp, 0);
	KEXPECT_EQ(st.short_loops, 0);
	KEXPECT_EQ(st.anon_pages, 1024);
	KEXPECT_EQ(d[0][MM_MT_MOVABLE], st.cache_pages + st.anon_pages);
	for (unsigned int i = 0; i < n; i++)
		if (i < 40)
			for (unsigned int p = 0; p < (1u << MM_PAGEBLOCK_ORDER); p += 2)
				KEXPECT_EQ(mm_free_pages(mm, 0, nth(mm, held[i], p), 0), 0);
		else
			KEXPECT_EQ(mm_free_pages(mm, 0, held[i], MM_PAGEBLOCK_ORDER), 0);
	MMT_CHECK(mm);
	mm_watch_host_end(h);
	mm_host_destroy(mm);
}

/* The CPU a loop's pages went back to: the one whose lists grew. */
static unsigned int loop_cpu(uint64_t seed)
{
	struct mm_host *mm = host(256, MM_KERNEL_6_12);
	struct mm_watch_host *h = NULL;
	struct mm_pcp_info p0, p1;

	KASSERT_EQ(mm_watch_host_begin(mm, seed, &h), 0);
	KASSERT_EQ(mm_watch_host_loop(mm, h), 0);
	KASSERT_EQ(mm_pcp_sizes(mm, 0x8000, 0, &p0), 0);
	KASSERT_EQ(mm_pcp_sizes(mm, 0x8000, 1, &p1), 0);
	mm_watch_host_end(h);
	mm_host_destroy(mm);
	KEXPECT((p0.count > 0) != (p1.count > 0));
	return p1.count > 0;
}

/* A seed's loops run on the CPUs its stream draws: the same each time, both over seeds. */
static void test_seeded(void)
{
	unsigned int seen[2] = { 0 };

	for (uint64_t s = 1; s <= 16; s++) {
		unsigned int c = loop_cpu(s);

		KEXPECT_EQ(loop_cpu(s), c);
		seen[c]++;
	}
	KEXPECT(seen[0] > 0 && seen[1] > 0);
}

static void test_bad_args(void)
{
	struct mm_host *mm = host(64, MM_KERNEL_6_12);
	struct mm_watch_host *h = (struct mm_watch_host *)1;
	struct mm_watch_host_stats st;

	KEXPECT_EQ(mm_watch_host_begin(NULL, 1, &h), SNP_EINVAL);
	KEXPECT_EQ(mm_watch_host_begin(mm, 1, NULL), SNP_EINVAL);
	KEXPECT_EQ(mm_watch_host_loop(mm, NULL), SNP_EINVAL);
	KEXPECT_EQ(mm_watch_host_stats(NULL, &st), SNP_EINVAL);
	mm_watch_host_end(NULL);
	mm_host_destroy(mm);
}

static const struct ktap_case cases[] = {
	KTAP_CASE(test_loop_allocations),
	KTAP_CASE(test_thp_fallback),
	KTAP_CASE(test_seeded),
	KTAP_CASE(test_bad_args),
};

KTAP_MAIN("mm_watch_host", cases)
