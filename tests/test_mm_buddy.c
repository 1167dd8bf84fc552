// SPDX-License-Identifier: MIT
/*
 * test_mm_buddy.c - the page allocator model (src/mm): the kernel's rules one
 * by one (expand(), pcp LIFO and drain, split_page, zeroing, reservations,
 * buddyinfo, node fallback, exhaustion), bad input, ageing, and how often a
 * plain order-0 page comes out 2MB-aligned.
 */
#include "ktap.h"
#include "mm_util.h"
#include <string.h>

#include "mm/mm_internal.h"   /* white-box: the checker must catch corruption */

#include <stdlib.h>

#define PAGES_PER_MIB 256u

/* Drain the pcp lists; all memory must be back in @blocks max-order blocks. */
static void expect_fully_merged(struct mm_host *mm, uint64_t blocks)
{
	uint64_t bi[MM_NR_ORDERS];

	mm_drain_all_pages(mm);
	KEXPECT_EQ(mm_buddyinfo(mm, 0, bi), 0);
	KEXPECT_EQ(bi[MM_MAX_ORDER], blocks);
	MMT_CHECK(mm);
}

/* Node 0's buddyinfo must equal @want, order by order. */
static void expect_buddyinfo(struct mm_host *mm, const uint64_t want[MM_NR_ORDERS])
{
	uint64_t bi[MM_NR_ORDERS];

	KEXPECT_EQ(mm_buddyinfo(mm, 0, bi), 0);
	for (unsigned int o = 0; o <= MM_MAX_ORDER; o++)
		if (bi[o] != want[o])
			ktap_fail(__FILE__, __LINE__, "order %u: %llu free blocks, expected %llu", o,
				  (unsigned long long)bi[o], (unsigned long long)want[o]);
}

/* expand(): the first order-0 page of a fresh max-order block is its first page. */
static void test_expand_first_page_aligned(void)
{
	/* rmqueue_bulk() took pfns 0..62 for the pcp; expand() left 63, 64, 128, 256, 512. */
	static const uint64_t want[MM_NR_ORDERS] = { 1, 0, 0, 0, 0, 0, 1, 1, 1, 1, 15 };
	struct mm_host *mm = mmt_host(64, 1, 1);
	struct page *p = mm_alloc_pages(mm, 0, MM_GFP_KERNEL, 0);

	KASSERT(p);
	KEXPECT_EQ(mmt_pfn(mm, p), 0);
	KEXPECT(snp_pfn_2m_aligned(mmt_pfn(mm, p)));
	expect_buddyinfo(mm, want);
	MMT_CHECK(mm);
	mm_host_destroy(mm);
}

/* A non-pcp order keeps the low part too: order 4 from fresh memory is pfn 0. */
static void test_expand_high_order(void)
{
	static const uint64_t want[MM_NR_ORDERS] = { 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 15 };
	struct mm_host *mm = mmt_host(64, 1, 1);
	struct page *p = mm_alloc_pages(mm, 0, MM_GFP_KERNEL, 4);

	KASSERT(p);
	KEXPECT_EQ(mmt_pfn(mm, p), 0);
	expect_buddyinfo(mm, want);
	KEXPECT_EQ(mm_free_pages(mm, 0, p, 4), 0);
	expect_fully_merged(mm, 16);
	mm_host_destroy(mm);
}

/* free_unref_page() puts a page at the head; the next allocation on that CPU takes it. */
static void test_pcp_lifo(void)
{
	struct mm_host *mm = mmt_host(64, 1, 2);
	struct page *a = mm_alloc_pages(mm, 0, 0, 0), *b = mm_alloc_pages(mm, 0, 0, 0), *c;

	KASSERT(a && b);
	KEXPECT_EQ(mm_free_pages(mm, 0, a, 0), 0);
	KEXPECT_EQ(mm_free_pages(mm, 0, b, 0), 0);
	c = mm_alloc_pages(mm, 0, 0, 0);
	KEXPECT(c == b);
	c = mm_alloc_pages(mm, 0, 0, 0);
	KEXPECT(c == a);
	/* Another CPU has its own list: it does not see CPU 0's hot page. */
	KEXPECT_EQ(mm_free_pages(mm, 0, a, 0), 0);
	c = mm_alloc_pages(mm, 1, 0, 0);
	KEXPECT(c && c != a);
	/* And back: a page freed on CPU 1 waits on CPU 1's list, not CPU 0's. */
	KEXPECT_EQ(mm_free_pages(mm, 1, c, 0), 0);
	b = mm_alloc_pages(mm, 0, 0, 0);
	KEXPECT(b == a);
	a = mm_alloc_pages(mm, 1, 0, 0);
	KEXPECT(a == c);
	MMT_CHECK(mm);
	mm_host_destroy(mm);
}

/* Past the high mark a batch goes back to the buddy; drain_all_pages() empties the lists. */
static void test_pcp_high_and_drain(void)
{
	struct mm_config cfg;
	struct mm_host *mm = NULL;
	struct page *p[40];
	struct mm_counts c;

	mm_config_init(&cfg, 64 * SNP_MiB);
	cfg.pcp_batch = 4;
	cfg.pcp_high = 8;
	KASSERT_EQ(mm_host_create(&cfg, &mm), 0);
	for (int i = 0; i < 40; i++)
		KASSERT(p[i] = mm_alloc_pages(mm, 0, 0, 0));
	for (int i = 0; i < 40; i++) {
		KEXPECT_EQ(mm_free_pages(mm, 0, p[i], 0), 0);
		KEXPECT_EQ(mm_get_counts(mm, 0, &c), 0);
		KEXPECT(c.pcp < 8);
	}
	MMT_CHECK(mm);
	mm_drain_all_pages(mm);
	KEXPECT_EQ(mm_get_counts(mm, 0, &c), 0);
	KEXPECT_EQ(c.pcp, 0);
	KEXPECT_EQ(c.free, 64 * PAGES_PER_MIB);
	expect_fully_merged(mm, 16);
	mm_host_destroy(mm);
}

/* Orders 1..3 have pcp lists of their own (5.13+). */
static void test_pcp_small_orders(void)
{
	struct mm_host *mm = mmt_host(64, 1, 1);
	struct mm_counts c;
	struct page *p = mm_alloc_pages(mm, 0, 0, 3), *q;

	KASSERT(p);
	KEXPECT_EQ(mm_get_counts(mm, 0, &c), 0);
	KEXPECT_EQ(c.pcp, (MM_PCP_BATCH_DEFAULT >> 3) * 8 - 8);
	KEXPECT_EQ(mm_free_pages(mm, 0, p, 3), 0);
	q = mm_alloc_pages(mm, 0, 0, 3);
	KEXPECT(q == p);
	KEXPECT_EQ(mm_free_pages(mm, 0, q, 3), 0);
	MMT_CHECK(mm);
	mm_host_destroy(mm);
}

static void test_split_page(void)
{
	struct mm_host *mm = mmt_host(16, 1, 1);
	uint64_t start = mmt_free(mm);
	struct page *p = mm_alloc_pages(mm, 0, MM_GFP_ZERO, 2);

	KASSERT(p);
	KEXPECT_EQ(mm_split_page(mm, p, 2), 0);
	KEXPECT_EQ(mm_free_pages(mm, 0, p, 2), SNP_EINVAL);   /* no longer one order-2 allocation */
	for (int i = 0; i < 4; i++) {
		struct page *q = mm_pfn_to_page(mm, mmt_pfn(mm, p) + (snp_pfn_t)i);

		KEXPECT_EQ(mm_page_allocated(mm, q), 1);
		KEXPECT_EQ(mm_page_dirty(mm, q), 0);
		KEXPECT_EQ(mm_free_pages(mm, 0, q, 0), 0);
	}
	KEXPECT_EQ(mm_split_page(mm, p, 0), SNP_EINVAL);   /* freed */
	mm_drain_all_pages(mm);
	KEXPECT_EQ(mmt_free(mm), start);
	MMT_CHECK(mm);
	mm_host_destroy(mm);
}

/* A 16 MiB host booted with init_on_alloc=0 (on) or with Debian's default (1). */
static struct mm_host *host_init_on_alloc(bool on)
{
	struct mm_config cfg;
	struct mm_host *mm = NULL;

	mm_config_init(&cfg, 16 * SNP_MiB);
	KEXPECT(cfg.init_on_alloc);   /* mm_config_init(): Debian's CONFIG_INIT_ON_ALLOC_DEFAULT_ON */
	cfg.init_on_alloc = on;
	cfg.pcp_batch = MM_PCP_BATCH_DEFAULT;
	KASSERT_EQ(mm_host_create(&cfg, &mm), 0);
	return mm;
}

/* No contents: a dirty bit that writes set and zeroing clears (init_on_alloc=0). */
static void test_zeroing(void)
{
	struct mm_host *mm = host_init_on_alloc(false);
	struct page *p = mm_alloc_pages(mm, 0, 0, 0), *q;

	KASSERT(p);
	KEXPECT_EQ(mm_page_dirty(mm, p), 1);          /* boot memory is not known zero */
	KEXPECT_EQ(mm_clear_page(mm, p), 0);
	KEXPECT_EQ(mm_page_dirty(mm, p), 0);
	KEXPECT_EQ(mm_page_write(mm, p), 0);
	KEXPECT_EQ(mm_page_dirty(mm, p), 1);
	KEXPECT_EQ(mm_free_pages(mm, 0, p, 0), 0);
	q = mm_alloc_pages(mm, 0, 0, 0);                  /* same page, still dirty */
	KEXPECT(q == p);
	KEXPECT_EQ(mm_page_dirty(mm, q), 1);
	KEXPECT_EQ(mm_free_pages(mm, 0, q, 0), 0);
	q = mm_alloc_pages(mm, 0, MM_GFP_ZERO, 0);
	KEXPECT(q == p);
	KEXPECT_EQ(mm_page_dirty(mm, q), 0);
	p = mm_alloc_pages(mm, 0, MM_GFP_ZERO, 5);
	KASSERT(p);
	for (int i = 0; i < 32; i++)
		KEXPECT_EQ(mm_page_dirty(mm, mm_pfn_to_page(mm, mmt_pfn(mm, p) + (snp_pfn_t)i)), 0);
	mm_host_destroy(mm);
}

/*
 * init_on_alloc (Debian's default): post_alloc_hook() clears every page of
 * every allocation, __GFP_ZERO or not, so the count of pages cleared grows
 * by the pages handed out; with init_on_alloc=0 only __GFP_ZERO clears.
 */
static void test_init_on_alloc(void)
{
	static const unsigned int orders[] = { 0, 0, 1, 3, 9 };

	for (int on = 0; on <= 1; on++) {
		struct mm_host *mm = host_init_on_alloc(on);
		uint64_t pages = 0, zeroed = 0, c0 = mm_pages_cleared(mm);

		for (unsigned int i = 0; i < KTAP_ARRAY_SIZE(orders); i++) {
			mm_gfp_t gfp = i % 2 ? MM_GFP_ZERO : MM_GFP_KERNEL;
			struct page *p = mm_alloc_pages(mm, 0, gfp, orders[i]);

			KASSERT(p);
			KEXPECT_EQ(mm_want_init_on_alloc(mm, gfp), on || (gfp & MM_GFP_ZERO));
			KEXPECT_EQ(mm_page_dirty(mm, p), !(on || (gfp & MM_GFP_ZERO)));
			pages += 1ULL << orders[i];
			zeroed += gfp & MM_GFP_ZERO ? 1ULL << orders[i] : 0;
		}
		ktap_log("init_on_alloc=%d: %llu pages handed out, %llu cleared", on,
			 (unsigned long long)pages, (unsigned long long)(mm_pages_cleared(mm) - c0));
		KEXPECT_EQ(mm_pages_cleared(mm) - c0, on ? pages : zeroed);
		mm_host_destroy(mm);
	}
}

static void test_reserved_never_handed_out(void)
{
	static const struct mm_reserved_range res[] = {
		{ 1000, 100 }, { 0, 100 }, { 5000, 1 }, { 1050, 100 },
	};
	struct mm_config cfg;
	struct mm_host *mm = NULL;
	struct mm_counts c;
	uint64_t n = 0;
	struct page *p;

	mm_config_init(&cfg, 32 * SNP_MiB);
	cfg.reserved = res;
	cfg.nr_reserved = 4;
	KASSERT_EQ(mm_host_create(&cfg, &mm), 0);
	KEXPECT_EQ(mm_get_counts(mm, MM_NUMA_NO_NODE, &c), 0);
	KEXPECT_EQ(c.reserved, 100 + 150 + 1);
	KEXPECT_EQ(c.free, 32 * PAGES_PER_MIB - 251);
	MMT_CHECK(mm);
	while ((p = mm_alloc_pages(mm, 0, 0, 0))) {
		snp_pfn_t pfn = mmt_pfn(mm, p);

		n++;
		if (pfn < 100 || (pfn >= 1000 && pfn < 1150) || pfn == 5000)
			KASSERT(!"reserved page handed out");
	}
	KEXPECT_EQ(n, 32 * PAGES_PER_MIB - 251);
	MMT_CHECK(mm);
	mm_host_destroy(mm);
}

static void test_buddyinfo_counts(void)
{
	struct mm_host *mm = mmt_host(64, 2, 2);
	uint64_t bi[MM_NR_ORDERS];
	struct mm_counts c;

	for (int nid = 0; nid < 2; nid++) {
		KEXPECT_EQ(mm_buddyinfo(mm, nid, bi), 0);
		KEXPECT_EQ(bi[MM_MAX_ORDER], 8);
		for (unsigned int o = 0; o < MM_MAX_ORDER; o++)
			KEXPECT_EQ(bi[o], 0);
		KEXPECT_EQ(mm_unusable_index(mm, nid, MM_PAGEBLOCK_ORDER), 0);
	}
	KEXPECT_EQ(mm_get_counts(mm, MM_NUMA_NO_NODE, &c), 0);
	KEXPECT_EQ(c.present, 64 * PAGES_PER_MIB);
	KEXPECT_EQ(c.free, 64 * PAGES_PER_MIB);
	KEXPECT(mm_alloc_pages(mm, 0, 0, 7));
	KEXPECT_EQ(mm_buddyinfo(mm, 0, bi), 0);
	KEXPECT_EQ(bi[7] + bi[8] + bi[9] + bi[10], 1 + 1 + 1 + 7);
	KEXPECT_EQ(mm_get_counts(mm, 0, &c), 0);
	KEXPECT_EQ(c.allocated, 128);
	mm_host_destroy(mm);
}

/* Node-aware allocation and fallback to the other node when one is empty. */
static void test_multi_node_fallback(void)
{
	struct mm_host *mm = mmt_host(32, 2, 2);
	struct page *p;
	uint64_t n = 0;

	KEXPECT_EQ(mm_cpu_to_node(mm, 0), 0);
	KEXPECT_EQ(mm_cpu_to_node(mm, 1), 1);
	p = mm_alloc_pages_node(mm, 0, 1, 0, 0);
	KASSERT(p);
	KEXPECT_EQ(mm_pfn_to_nid(mm, mmt_pfn(mm, p)), 1);
	p = mm_alloc_pages(mm, 1, 0, 0);   /* CPU 1's node */
	KEXPECT_EQ(mm_pfn_to_nid(mm, mmt_pfn(mm, p)), 1);
	while (mm_alloc_pages_node(mm, 0, 1, MM_GFP_THISNODE, 0))
		n++;
	KEXPECT_EQ(n, 16 * PAGES_PER_MIB - 2);
	KEXPECT_EQ(mm_last_error(mm), SNP_ENOMEM);
	p = mm_alloc_pages_node(mm, 0, 1, 0, 0);
	KASSERT(p);
	KEXPECT_EQ(mm_pfn_to_nid(mm, mmt_pfn(mm, p)), 0);
	MMT_CHECK(mm);
	mm_host_destroy(mm);
}

/* Exhaustion: NULL with ENOMEM, invariants hold, everything comes back. */
static void test_exhaustion(void)
{
	struct mm_host *mm = mmt_host(16, 1, 2);
	uint64_t start = mmt_free(mm), n = 0;
	struct page **held = calloc(16 * PAGES_PER_MIB, sizeof(*held));
	unsigned char *ord = calloc(16 * PAGES_PER_MIB, 1);
	struct page *p;

	KASSERT(held && ord);
	for (unsigned int o = 3;; o = 0) {
		while ((p = mm_alloc_pages(mm, (unsigned int)(n & 1), 0, o))) {   /* CPUs alternate */
			held[n] = p;
			ord[n++] = (unsigned char)o;
		}
		KEXPECT_EQ(mm_last_error(mm), SNP_ENOMEM);
		if (!o)
			break;
	}
	KEXPECT_EQ(mmt_free(mm), 0);
	KEXPECT(!mm_alloc_pages(mm, 0, MM_GFP_ZERO, 0));
	MMT_CHECK(mm);
	for (uint64_t i = 0; i < n; i++)
		KEXPECT_EQ(mm_free_pages(mm, 0, held[i], ord[i]), 0);
	expect_fully_merged(mm, 4);
	KEXPECT_EQ(mmt_free(mm), start);
	free(held);
	free(ord);
	mm_host_destroy(mm);
}

static void test_bad_config(void)
{
	struct mm_reserved_range bad = { 4096, 2 };
	struct mm_config cfg;
	struct mm_host *mm = (struct mm_host *)&cfg;

	KEXPECT_EQ(mm_host_create(NULL, &mm), SNP_EINVAL);
	KEXPECT(mm == NULL);
	mm_config_init(&cfg, 16 * SNP_MiB);
	KEXPECT_EQ(mm_host_create(&cfg, NULL), SNP_EINVAL);
	cfg.mem_bytes = 16 * SNP_MiB + 1;
	KEXPECT_EQ(mm_host_create(&cfg, &mm), SNP_EINVAL);
	cfg.mem_bytes = 2 * SNP_MiB;                       /* less than one 4MB block */
	KEXPECT_EQ(mm_host_create(&cfg, &mm), SNP_EINVAL);
	cfg.mem_bytes = 16 * SNP_TiB;
	KEXPECT_EQ(mm_host_create(&cfg, &mm), SNP_ERANGE);
	mm_config_init(&cfg, 16 * SNP_MiB);
	cfg.nr_nodes = 0;
	KEXPECT_EQ(mm_host_create(&cfg, &mm), SNP_EINVAL);
	cfg.nr_nodes = MM_MAX_NODES + 1;
	KEXPECT_EQ(mm_host_create(&cfg, &mm), SNP_EINVAL);
	cfg.nr_nodes = 8;                                  /* 2MB per node */
	KEXPECT_EQ(mm_host_create(&cfg, &mm), SNP_EINVAL);
	mm_config_init(&cfg, 16 * SNP_MiB);
	cfg.nr_cpus = 0;
	KEXPECT_EQ(mm_host_create(&cfg, &mm), SNP_EINVAL);
	mm_config_init(&cfg, 16 * SNP_MiB);
	cfg.pcp_batch = 10;
	cfg.pcp_high = 5;
	KEXPECT_EQ(mm_host_create(&cfg, &mm), SNP_EINVAL);
	mm_config_init(&cfg, 16 * SNP_MiB);
	cfg.reserved = &bad;
	cfg.nr_reserved = 1;
	KEXPECT_EQ(mm_host_create(&cfg, &mm), SNP_ERANGE);
	cfg.reserved = NULL;
	KEXPECT_EQ(mm_host_create(&cfg, &mm), SNP_EINVAL);
	mm_host_destroy(NULL);
}

static void test_bad_calls(void)
{
	struct mm_host *mm = mmt_host(16, 2, 2), *other = mmt_host(16, 1, 1);
	struct page *p = mm_alloc_pages(mm, 0, 0, 1), *foreign = mm_alloc_pages(other, 0, 0, 0);
	uint64_t bi[MM_NR_ORDERS];
	struct mm_counts c;

	KASSERT(p && foreign);
	KEXPECT(!mm_alloc_pages(NULL, 0, 0, 0));
	KEXPECT(!mm_alloc_pages(mm, 0, 0, MM_MAX_ORDER + 1));
	KEXPECT_EQ(mm_last_error(mm), SNP_EINVAL);
	KEXPECT(!mm_alloc_pages_node(mm, 0, 2, 0, 0));
	KEXPECT(!mm_alloc_pages_node(mm, 0, -2, 0, 0));
	KEXPECT(!mm_alloc_pages(mm, 0, 1u << 20, 0));
	KEXPECT_EQ(mm_free_pages(mm, 0, NULL, 0), SNP_EINVAL);
	KEXPECT_EQ(mm_free_pages(NULL, 0, p, 1), SNP_EINVAL);
	KEXPECT_EQ(mm_free_pages(mm, 0, foreign, 0), SNP_EINVAL);
	KEXPECT_EQ(mm_free_pages(mm, 0, p, 0), SNP_EINVAL);     /* wrong order */
	KEXPECT_EQ(mm_free_pages(mm, 0, p, 12), SNP_EINVAL);
	KEXPECT_EQ(mm_free_pages(mm, 0, mm_pfn_to_page(mm, mmt_pfn(mm, p) + 1), 0), SNP_EINVAL);
	KEXPECT_EQ(mm_free_pages(mm, 2, p, 1), SNP_EINVAL);     /* no CPU 2: not freed */
	KEXPECT_EQ(mm_free_pages(mm, 0, p, 1), 0);
	KEXPECT_EQ(mm_free_pages(mm, 0, p, 1), SNP_EINVAL);     /* double free */
	KEXPECT_EQ(mm_split_page(mm, p, 1), SNP_EINVAL);
	KEXPECT_EQ(mm_split_page(NULL, p, 1), SNP_EINVAL);
	KEXPECT(!mm_alloc_pages(mm, 2, 0, 0));   /* no CPU 2 */
	KEXPECT_EQ(mm_last_error(mm), SNP_EINVAL);
	KEXPECT(!mm_alloc_pages_node(mm, 2, 0, 0, 0));
	KEXPECT_EQ(mm_cpu_to_node(mm, 7), SNP_EINVAL);
	KEXPECT_EQ(mm_buddyinfo(mm, 2, bi), SNP_EINVAL);
	KEXPECT_EQ(mm_buddyinfo(mm, 0, NULL), SNP_EINVAL);
	KEXPECT_EQ(mm_get_counts(mm, 5, &c), SNP_EINVAL);
	KEXPECT_EQ(mm_unusable_index(mm, 0, 11), SNP_EINVAL);
	KEXPECT(!mm_pfn_to_page(mm, 16 * PAGES_PER_MIB));
	KEXPECT_EQ(mm_page_to_pfn(mm, foreign), MM_PFN_INVALID);
	KEXPECT_EQ(mm_page_to_pfn(mm, NULL), MM_PFN_INVALID);
	KEXPECT_EQ(mm_pfn_to_nid(mm, 1ULL << 40), SNP_ERANGE);
	KEXPECT_EQ(mm_page_write(mm, foreign), SNP_EINVAL);
	KEXPECT_EQ(mm_clear_page(NULL, p), SNP_EINVAL);
	KEXPECT_EQ(mm_page_dirty(mm, NULL), SNP_EINVAL);
	KEXPECT_EQ(mm_page_allocated(mm, foreign), SNP_EINVAL);
	KEXPECT(mm_check(NULL, NULL, 0) < 0);
	mm_drain_all_pages(NULL);
	MMT_CHECK(mm);
	mm_host_destroy(other);
	mm_host_destroy(mm);
}

/* The checker is not vacuous: corrupt the state behind its back. */
static void test_checker_catches_corruption(void)
{
	struct mm_host *mm = mmt_host(16, 1, 1);
	struct page *p = mm_alloc_pages(mm, 0, 0, 4);
	char msg[256];

	KASSERT(p);
	MMT_CHECK(mm);
	mm->zones[0].area[4].nr_free++;
	KEXPECT(mm_check(mm, msg, sizeof(msg)) < 0);
	ktap_log("caught: %s", msg);
	mm->zones[0].area[4].nr_free--;
	p[0].flags |= PG_buddy;                /* looks free, but is allocated */
	KEXPECT(mm_check(mm, msg, sizeof(msg)) < 0);
	ktap_log("caught: %s", msg);
	p[0].flags &= (uint8_t)~PG_buddy;
	mm->allocated++;
	KEXPECT(mm_check(mm, msg, sizeof(msg)) < 0);
	ktap_log("caught: %s", msg);
	mm->allocated--;
	MMT_CHECK(mm);
	mm_host_destroy(mm);
}

/* 16GiB must fit (<= 16 bytes a page) and a 1GiB host must come and go in ms. */
static void test_host_sizes(void)
{
	struct mm_host *mm;
	struct mm_counts c;
	double t0, t1;

	KEXPECT(sizeof(struct page) <= 16);
	t0 = mmt_now_ns();
	mm = mmt_host(16 * 1024, 4, 8);
	t1 = mmt_now_ns();
	KEXPECT_EQ(mm_get_counts(mm, MM_NUMA_NO_NODE, &c), 0);
	KEXPECT_EQ(c.free, 4ULL << 20);
	ktap_log("16GiB host: %.1f ms to create, mem_map %zu bytes a page", (t1 - t0) / 1e6,
		 sizeof(struct page));
	mm_host_destroy(mm);
	t0 = mmt_now_ns();
	for (int i = 0; i < 10; i++)
		mm_host_destroy(mmt_host(1024, 2, 4));
	t1 = mmt_now_ns();
	ktap_log("1GiB host: %.2f ms to create and destroy", (t1 - t0) / 1e6 / 10);
}

static void age(struct mm_host *mm, uint64_t seed, struct mm_aged **aged)
{
	struct mm_age_config cfg;

	mm_age_config_init(&cfg, seed);
	cfg.churn_ops = 50000;
	cfg.max_ops = 200000;
	KASSERT_EQ(mm_age(mm, &cfg, aged), 0);
}

/* Ageing fragments memory, is deterministic, and gives everything back. */
static void test_age_and_release(void)
{
	struct mm_host *a = mmt_host(128, 1, 4), *b = mmt_host(128, 1, 4);
	uint64_t start = mmt_free(a), bia[MM_NR_ORDERS], bib[MM_NR_ORDERS];
	struct mm_aged *ageda, *agedb;
	struct mm_age_config bad;

	age(a, 7, &ageda);
	age(b, 7, &agedb);
	KEXPECT_EQ(mm_buddyinfo(a, 0, bia), 0);
	KEXPECT_EQ(mm_buddyinfo(b, 0, bib), 0);
	for (unsigned int o = 0; o <= MM_MAX_ORDER; o++)
		KEXPECT_EQ(bia[o], bib[o]);
	ktap_log("aged 128MiB: %llu pages held, unusable index (order 9) %d/1000",
		 (unsigned long long)mm_aged_pages(ageda), mm_unusable_index(a, 0, 9));
	KEXPECT(mm_aged_pages(ageda) > start / 2);
	KEXPECT(mm_unusable_index(a, 0, MM_PAGEBLOCK_ORDER) >= 300);
	MMT_CHECK(a);
	KEXPECT_EQ(mm_aged_release(a, ageda), 0);
	KEXPECT_EQ(mm_aged_release(b, agedb), 0);
	expect_fully_merged(a, 32);
	KEXPECT_EQ(mmt_free(a), start);
	mm_age_config_init(&bad, 1);
	bad.target_use = 990;
	KEXPECT_EQ(mm_age(a, &bad, &ageda), SNP_EINVAL);
	KEXPECT_EQ(mm_aged_release(a, NULL), SNP_EINVAL);
	mm_host_destroy(a);
	mm_host_destroy(b);
}

/* Per mille of naive order-0 pages that are 2MB-aligned: alloc+free, then held. */
static void measure_aligned(struct mm_host *mm, const char *what)
{
	enum { N = 20000 };
	struct page **held = calloc(N, sizeof(*held));
	unsigned int loop = 0, hold = 0;

	KASSERT(held);
	for (int i = 0; i < N; i++) {
		struct page *p = mm_alloc_pages(mm, 0, MM_GFP_ZERO, 0);

		KASSERT(p);
		loop += snp_pfn_2m_aligned(mmt_pfn(mm, p));
		KEXPECT_EQ(mm_free_pages(mm, 0, p, 0), 0);
	}
	for (int i = 0; i < N; i++) {
		KASSERT(held[i] = mm_alloc_pages(mm, 0, MM_GFP_ZERO, 0));
		hold += snp_pfn_2m_aligned(mmt_pfn(mm, held[i]));
	}
	ktap_log("%s host: naive 2MB-aligned, alloc+free loop: %u/%d (%.4f); %d held: %u (%.4f, 1/512 = 0.0020)",
		 what, loop, N, (double)loop / N, N, hold, (double)hold / N);
	/* Held pages march through memory: about one in 512 starts a 2MB region. */
	KEXPECT(hold >= N / 1024 && hold <= N / 256);
	/* Fresh memory: the first page is aligned and alloc+free ping-pongs on it. */
	if (!strcmp(what, "fresh"))
		KEXPECT_EQ(loop, N);
	for (int i = 0; i < N; i++)
		KEXPECT_EQ(mm_free_pages(mm, 0, held[i], 0), 0);
	free(held);
}

static void test_measure_naive_aligned_fraction(void)
{
	struct mm_host *mm = mmt_host(256, 1, 4);
	struct mm_aged *aged;

	measure_aligned(mm, "fresh");
	mm_host_destroy(mm);
	mm = mmt_host(256, 1, 4);
	age(mm, 42, &aged);
	measure_aligned(mm, "aged");
	KEXPECT_EQ(mm_aged_release(mm, aged), 0);
	MMT_CHECK(mm);
	mm_host_destroy(mm);
}

/*
 * free_pcppages_bulk() drains a list from its tail, the coldest pages: the
 * page freed last (at the head) survives the drain its own free set off and
 * is the next one handed out.  Both kernels.
 */
static void test_pcp_drain_from_cold_tail(void)
{
	for (int k = 0; k < MM_NR_KERNELS; k++) {
		struct mm_config cfg;
		struct mm_host *mm = NULL;
		struct page *p[16], *q;
		struct mm_counts c;
		uint64_t before;

		mm_config_init(&cfg, 64 * SNP_MiB);
		cfg.kernel = (enum mm_kernel)k;
		cfg.pcp_batch = 4;
		cfg.pcp_high = 8;
		KASSERT_EQ(mm_host_create(&cfg, &mm), 0);
		for (int i = 0; i < 16; i++)
			KASSERT(p[i] = mm_alloc_pages(mm, 0, 0, 0));
		KEXPECT_EQ(mm_get_counts(mm, 0, &c), 0);
		before = c.free;
		for (int i = 0; i < 16; i++)
			KEXPECT_EQ(mm_free_pages(mm, 0, p[i], 0), 0);
		KEXPECT_EQ(mm_get_counts(mm, 0, &c), 0);
		KEXPECT(c.free > before);	/* a drain did happen */
		q = mm_alloc_pages(mm, 0, 0, 0);
		KEXPECT(q == p[15]);
		KEXPECT_EQ(mm_free_pages(mm, 0, q, 0), 0);
		MMT_CHECK(mm);
		mm_host_destroy(mm);
	}
}

/*
 * 6.1's refill takes max(batch >> order, 2) blocks (rmqueue_pcplist ->
 * nr_pcp_alloc): with batch 4 an order-3 refill takes two blocks, one is
 * handed out and one stays on the list.
 */
static void test_pcp_refill_at_least_two(void)
{
	struct mm_config cfg;
	struct mm_host *mm = NULL;
	struct mm_counts c;
	struct page *p;

	mm_config_init(&cfg, 64 * SNP_MiB);
	cfg.kernel = MM_KERNEL_6_1;
	cfg.pcp_batch = 4;
	cfg.pcp_high = 8;
	KASSERT_EQ(mm_host_create(&cfg, &mm), 0);
	KASSERT(p = mm_alloc_pages(mm, 0, 0, 3));
	KEXPECT_EQ(mm_get_counts(mm, 0, &c), 0);
	KEXPECT_EQ(c.pcp, 8);
	KEXPECT_EQ(mm_free_pages(mm, 0, p, 3), 0);
	MMT_CHECK(mm);
	mm_host_destroy(mm);
}

/*
 * buddy_merge_likely(): a block freed while the buddy of its parent is
 * free goes to the tail of its list (mm/page_alloc.c, __free_one_page, "to
 * tail"); one whose parent's buddy is taken goes to the head.
 */
static void test_free_to_tail_when_merge_likely(void)
{
	struct mm_host *mm = mmt_host(64, 1, 1);
	struct page *p[8];
	uint64_t base;
	struct mm_zone *z = NULL;
	struct mm_list *l;

	for (int i = 0; i < 8; i++)
		KASSERT(p[i] = mm_alloc_pages(mm, 0, 0, 4));
	base = mmt_pfn(mm, p[0]);
	for (int i = 0; i < 8; i++)
		KASSERT_EQ(mmt_pfn(mm, p[i]), base + 16 * (uint64_t)i);
	KEXPECT_EQ(mm_free_pages(mm, 0, p[4], 4), 0);	/* with p[5]: a free order-5 block */
	KEXPECT_EQ(mm_free_pages(mm, 0, p[5], 4), 0);
	KEXPECT_EQ(mm_free_pages(mm, 0, p[2], 4), 0);	/* parent's buddy (p[0..1]) taken: head */
	KEXPECT_EQ(mm_free_pages(mm, 0, p[6], 4), 0);	/* parent's buddy (p[4..5]) free: tail */
	for (unsigned int zi = 0; zi < mm->nr_zones; zi++)
		if (base >= mm->zones[zi].start_pfn && base < mm->zones[zi].end_pfn)
			z = &mm->zones[zi];
	KASSERT(z);
	l = &z->area[4].list[mm_pageblock_mt(mm, base)];
	KEXPECT_EQ(l->head, base + 32);
	KEXPECT_EQ(l->tail, base + 96);
	for (int i = 0; i < 8; i++)
		if (i != 2 && i != 4 && i != 5 && i != 6)
			KEXPECT_EQ(mm_free_pages(mm, 0, p[i], 4), 0);
	MMT_CHECK(mm);
	mm_host_destroy(mm);
}

/*
 * mm_pageblock_free() counts what mm_get_counts() does, pageblock by
 * pageblock: an order-10 block's second pageblock included, an order-3
 * allocation's tails in use, pcp pages apart; and refuses bad calls.
 */
static void test_pageblock_free(void)
{
	struct mm_host *mm = mmt_host(64, 1, 1);
	struct page *p = mm_alloc_pages(mm, 0, 0, 3);
	uint64_t buddy = 0, pcp = 0;
	unsigned int b, q;
	struct mm_counts c;
	snp_pfn_t pfn;

	KASSERT(p);
	pfn = mm_page_to_pfn(mm, p);
	KASSERT_EQ(mm_get_counts(mm, 0, &c), 0);
	for (snp_pfn_t pb = 0; pb < mm_nr_pages(mm); pb += 512) {
		KASSERT_EQ(mm_pageblock_free(mm, pb + 7, &b, &q), 0);
		KEXPECT(b + q <= 512);
		buddy += b;
		pcp += q;
	}
	KEXPECT_EQ(buddy, c.free);
	KEXPECT_EQ(pcp, c.pcp);
	KASSERT_EQ(mm_pageblock_free(mm, pfn, &b, &q), 0);
	KEXPECT_EQ(512 - b - q, 8);   /* the order-3 allocation, head and tails */
	KASSERT_EQ(mm_pageblock_free(mm, pfn | 512, &b, &q), 0);
	KEXPECT_EQ(b, 512);           /* the upper half of an order-10 block: buddy */
	KEXPECT_EQ(mm_pageblock_free(mm, mm_nr_pages(mm), &b, &q), SNP_ERANGE);
	KEXPECT_EQ(mm_pageblock_free(NULL, 0, &b, &q), SNP_EINVAL);
	KEXPECT_EQ(mm_pageblock_free(mm, 0, NULL, &q), SNP_EINVAL);
	KEXPECT_EQ(mm_free_pages(mm, 0, p, 3), 0);
	MMT_CHECK(mm);
	mm_host_destroy(mm);
}

static const struct ktap_case cases[] = {
	KTAP_CASE(test_expand_first_page_aligned),
	KTAP_CASE(test_expand_high_order),
	KTAP_CASE(test_pcp_lifo),
	KTAP_CASE(test_pcp_high_and_drain),
	KTAP_CASE(test_pcp_small_orders),
	KTAP_CASE(test_split_page),
	KTAP_CASE(test_zeroing),
	KTAP_CASE(test_init_on_alloc),
	KTAP_CASE(test_reserved_never_handed_out),
	KTAP_CASE(test_buddyinfo_counts),
	KTAP_CASE(test_multi_node_fallback),
	KTAP_CASE(test_exhaustion),
	KTAP_CASE(test_bad_config),
	KTAP_CASE(test_bad_calls),
	KTAP_CASE(test_checker_catches_corruption),
	KTAP_CASE(test_host_sizes),
	KTAP_CASE(test_age_and_release),
	KTAP_CASE(test_measure_naive_aligned_fraction),
	KTAP_CASE(test_pcp_drain_from_cold_tail),
	KTAP_CASE(test_pcp_refill_at_least_two),
	KTAP_CASE(test_free_to_tail_when_merge_likely),
	KTAP_CASE(test_pageblock_free),
};

KTAP_MAIN("mm_buddy", cases)
