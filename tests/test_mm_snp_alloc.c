// SPDX-License-Identifier: MIT
/*
 * test_mm_snp_alloc.c - snp_safe_alloc_page_node(, 0) strategies: the problem
 * (naive hands out aligned pages, a naive retry ping-pongs on the LIFO pcp
 * list), upstream's guarantee and its fallback with SNP off, and the sieve's
 * requirements: never aligned, no order-1 block broken in the common case,
 * no ping-pong, bounded set-aside, and correct on memory that is only
 * scattered order-0 pages or only aligned pages.
 */
#include "ktap.h"
#include "mm_util.h"

#include <snpsafe/sim.h>

#include <stdlib.h>
#include <string.h>

static void configure(struct mm_host *mm, enum snp_alloc_strategy s, bool snp, unsigned int cap)
{
	struct snp_alloc_config cfg = { .strategy = s, .snp_enabled = snp, .pool_cap = cap };

	KASSERT_EQ(snp_alloc_configure(mm, &cfg), 0);
}

static struct snp_alloc_stats stats(const struct mm_host *mm)
{
	struct snp_alloc_stats st;

	KEXPECT_EQ(snp_alloc_get_stats(mm, &st), 0);
	return st;
}

/* Hold @n safe pages: each must be unaligned and zeroed.  Aborts on NULL. */
static struct page **hold_safe(struct mm_host *mm, int n)
{
	struct page **held = calloc((size_t)n, sizeof(*held));

	KASSERT(held);
	for (int i = 0; i < n; i++) {
		held[i] = snp_safe_alloc_page(mm, 0);
		KASSERT(held[i]);
		KEXPECT(!snp_pfn_2m_aligned(mmt_pfn(mm, held[i])));
		KEXPECT_EQ(mm_page_dirty(mm, held[i]), 0);
	}
	return held;
}

/* Free what hold_safe() took, give back the pools, and expect no leak. */
static void free_safe(struct mm_host *mm, struct page **held, int n, uint64_t start)
{
	for (int i = 0; i < n; i++)
		KEXPECT_EQ(snp_safe_free_page(mm, 0, held[i]), 0);
	free(held);
	KEXPECT(snp_safe_release(mm, 0) >= 0);
	mm_drain_all_pages(mm);
	KEXPECT_EQ(mmt_free(mm), start);
	MMT_CHECK(mm);
}

static void test_strategy_names(void)
{
	enum snp_alloc_strategy s;

	for (int i = 0; i < SNP_ALLOC_NR_STRATEGIES; i++) {
		KEXPECT_EQ(snp_alloc_strategy_parse(snp_alloc_strategy_name((enum snp_alloc_strategy)i), &s), 0);
		KEXPECT_EQ(s, i);
	}
	KEXPECT_EQ(snp_alloc_strategy_parse("sieve", &s), 0);
	KEXPECT_EQ(s, SNP_ALLOC_SIEVE);
	KEXPECT_EQ(snp_alloc_strategy_parse("Sieve", &s), SNP_EINVAL);
	KEXPECT_EQ(snp_alloc_strategy_parse(NULL, &s), SNP_EINVAL);
	KEXPECT_EQ(snp_alloc_strategy_parse("naive", NULL), SNP_EINVAL);
	KEXPECT(snp_alloc_strategy_name((enum snp_alloc_strategy)7)[0] == '?');
}

/* The problem: on a fresh host the first plain page is 2MB-aligned. */
static void test_naive_hands_out_aligned(void)
{
	struct mm_host *mm = mmt_host(64, 1, 1);
	struct page *p;

	configure(mm, SNP_ALLOC_NAIVE, true, SNP_SIEVE_POOL_DEFAULT);
	p = snp_safe_alloc_page(mm, 0);
	KASSERT(p);
	KEXPECT(snp_pfn_2m_aligned(mmt_pfn(mm, p)));
	KEXPECT_EQ(stats(mm).aligned_returned, 1);
	mm_host_destroy(mm);
}

/* A naive "free it and try again" meets the same page every time (LIFO pcp). */
static void test_naive_retry_ping_pongs(void)
{
	struct mm_host *mm = mmt_host(64, 1, 1);
	snp_pfn_t first = MM_PFN_INVALID;
	int same = 0;

	for (int i = 0; i < 8; i++) {
		struct page *p = mm_alloc_pages(mm, 0, MM_GFP_ZERO, 0);

		KASSERT(p);
		if (!snp_pfn_2m_aligned(mmt_pfn(mm, p)))
			break;
		if (first == MM_PFN_INVALID)
			first = mmt_pfn(mm, p);
		same += mmt_pfn(mm, p) == first;
		KEXPECT_EQ(mm_free_pages(mm, 0, p, 0), 0);
	}
	ktap_log("naive retry: %d of 8 tries got the same aligned pfn %llu", same,
		 (unsigned long long)first);
	KEXPECT_EQ(same, 8);
	mm_host_destroy(mm);
}

/* Upstream: the kept page is never aligned; one order-1 block per call. */
static void test_upstream_never_aligned(void)
{
	enum { N = 20000 };
	struct mm_host *mm = mmt_host(256, 1, 2);
	struct snp_alloc_stats st;
	struct page **held;

	configure(mm, SNP_ALLOC_UPSTREAM, true, SNP_SIEVE_POOL_DEFAULT);
	held = hold_safe(mm, N);
	KEXPECT_EQ(mmt_pfn(mm, held[0]), 1);        /* pair (0,1): 0 is aligned, keep 1 */
	st = stats(mm);
	KEXPECT_EQ(st.order1_broken, N);
	KEXPECT_EQ(st.pages_taken, 2 * N);
	KEXPECT_EQ(st.aligned_returned, 0);
	free_safe(mm, held, N, 256 * 256);
	mm_host_destroy(mm);
}

/* SNP off on the host: both workarounds fall back to a plain zeroed page. */
static void test_snp_disabled_fallback(void)
{
	for (int s = SNP_ALLOC_UPSTREAM; s <= SNP_ALLOC_SIEVE; s++) {
		struct mm_host *mm = mmt_host(64, 1, 1);
		struct page *p;

		configure(mm, (enum snp_alloc_strategy)s, false, SNP_SIEVE_POOL_DEFAULT);
		p = snp_safe_alloc_page(mm, 0);
		KASSERT(p);
		KEXPECT_EQ(mmt_pfn(mm, p), 0);
		KEXPECT_EQ(mm_page_dirty(mm, p), 0);
		KEXPECT_EQ(stats(mm).order1_broken, 0);
		KEXPECT_EQ(stats(mm).set_aside, 0);
		KEXPECT_EQ(stats(mm).pages_taken, 1);
		mm_host_destroy(mm);
	}
}

/* Sieve on a fresh host: the aligned head page is set aside once, not met again. */
static void test_sieve_no_ping_pong(void)
{
	struct mm_host *mm = mmt_host(64, 1, 1);
	struct snp_alloc_stats st;
	struct page *p;

	configure(mm, SNP_ALLOC_SIEVE, true, SNP_SIEVE_POOL_DEFAULT);
	p = snp_safe_alloc_page(mm, 0);
	KASSERT(p);
	KEXPECT_EQ(mmt_pfn(mm, p), 1);
	st = stats(mm);
	KEXPECT_EQ(st.set_aside, 1);
	KEXPECT_EQ(st.pages_taken, 2);
	for (int i = 0; i < 1000; i++) {
		KEXPECT_EQ(snp_safe_free_page(mm, 0, p), 0);
		p = snp_safe_alloc_page(mm, 0);
		KASSERT(p);
		KEXPECT_EQ(mmt_pfn(mm, p), 1);
	}
	st = stats(mm);
	KEXPECT_EQ(st.pages_taken, 1002);        /* one page per call, no retries */
	KEXPECT_EQ(st.set_aside, 1);
	KEXPECT_EQ(st.order1_broken, 0);
	KEXPECT_EQ(st.fallbacks, 0);
	MMT_CHECK(mm);
	mm_host_destroy(mm);
}

/* Holding many pages: never aligned, no order-1 block, about 1 in 512 set aside. */
static void test_sieve_common_case(void)
{
	enum { N = 8000 };
	struct mm_host *mm = mmt_host(256, 1, 2);
	struct snp_alloc_stats st;
	struct page **held;

	configure(mm, SNP_ALLOC_SIEVE, true, SNP_SIEVE_POOL_DEFAULT);
	held = hold_safe(mm, N);
	st = stats(mm);
	ktap_log("sieve, %d held: %llu set aside, %llu order-1 blocks broken", N,
		 (unsigned long long)st.set_aside, (unsigned long long)st.order1_broken);
	KEXPECT_EQ(st.order1_broken, 0);
	KEXPECT(st.set_aside <= N / 512 + 1);
	free_safe(mm, held, N, 256 * 256);
	KEXPECT_EQ(stats(mm).set_aside_returned, st.set_aside);
	mm_host_destroy(mm);
}

/* The pool is bounded; once full, an aligned page met sends the call to the order-1 method. */
static void test_sieve_pool_bounded(void)
{
	enum { N = 20000 };
	struct mm_host *mm = mmt_host(256, 1, 1);
	struct snp_alloc_stats st;
	struct page **held;

	configure(mm, SNP_ALLOC_SIEVE, true, 4);
	held = hold_safe(mm, N);
	st = stats(mm);
	KEXPECT_EQ(st.set_aside_peak, 4);
	KEXPECT(st.fallbacks > 0);
	KEXPECT_EQ(st.order1_broken, st.fallbacks);
	KEXPECT_EQ(snp_safe_shrink(mm, 0, 1), 1);
	KEXPECT_EQ(stats(mm).set_aside, 3);
	KEXPECT_EQ(snp_safe_release(mm, 0), 3);
	KEXPECT_EQ(snp_safe_release(mm, 0), 0);
	free_safe(mm, held, N, 256 * 256);
	mm_host_destroy(mm);
}

/* Take every page, then free back the pages @keep_free selects. */
static struct page **shape_memory(struct mm_host *mm, uint64_t *n, bool (*keep_free)(snp_pfn_t))
{
	uint64_t total = mm_nr_pages(mm), all = 0, k = 0;
	struct page **held = calloc(total, sizeof(*held));
	struct page *p;

	if (!held)
		return NULL;
	while (all < total && (p = mm_alloc_pages(mm, 0, 0, 0)))
		held[all++] = p;
	for (uint64_t i = 0; i < all; i++) {
		if (keep_free(mmt_pfn(mm, held[i])))
			KEXPECT_EQ(mm_free_pages(mm, 0, held[i], 0), 0);
		else
			held[k++] = held[i];
	}
	mm_drain_all_pages(mm);
	*n = k;
	return held;
}

static bool odd_pfn(snp_pfn_t pfn)
{
	return pfn & 1;
}

static bool aligned_pfn(snp_pfn_t pfn)
{
	return snp_pfn_2m_aligned(pfn);
}

static void release_all(struct mm_host *mm, struct page **held, uint64_t n)
{
	for (uint64_t i = 0; i < n; i++)
		KEXPECT_EQ(mm_free_pages(mm, 0, held[i], 0), 0);
	free(held);
}

/* Only scattered order-0 pages left: upstream cannot, the sieve can. */
static void test_order0_only_memory(void)
{
	struct mm_host *mm = mmt_host(16, 1, 1);
	uint64_t n, bi[MM_NR_ORDERS];
	struct page **held = shape_memory(mm, &n, odd_pfn);
	struct page *p;

	KASSERT(held);
	KEXPECT_EQ(mm_buddyinfo(mm, 0, bi), 0);
	KEXPECT_EQ(bi[0], 16 * 128);
	KEXPECT_EQ(bi[1], 0);
	configure(mm, SNP_ALLOC_UPSTREAM, true, SNP_SIEVE_POOL_DEFAULT);
	KEXPECT(!snp_safe_alloc_page(mm, 0));
	KEXPECT_EQ(mm_last_error(mm), SNP_ENOMEM);
	KEXPECT_EQ(stats(mm).failures, 1);
	configure(mm, SNP_ALLOC_SIEVE, true, SNP_SIEVE_POOL_DEFAULT);
	for (int i = 0; i < 100; i++) {
		p = snp_safe_alloc_page(mm, 0);
		KASSERT(p);
		KEXPECT(!snp_pfn_2m_aligned(mmt_pfn(mm, p)));
	}
	KEXPECT_EQ(stats(mm).order1_broken, 0);
	MMT_CHECK(mm);
	release_all(mm, held, n);
	mm_host_destroy(mm);
}

/* Only aligned pages left: naive returns one, the safe ones a clean NULL. */
static void test_aligned_only_memory(void)
{
	static const unsigned int caps[] = { 4, SNP_SIEVE_POOL_DEFAULT };
	struct mm_host *mm = mmt_host(16, 1, 1);
	uint64_t n, before;
	struct page **held = shape_memory(mm, &n, aligned_pfn);
	struct page *p;

	KASSERT(held);
	before = mmt_free(mm);
	KEXPECT_EQ(before, 8);
	configure(mm, SNP_ALLOC_UPSTREAM, true, SNP_SIEVE_POOL_DEFAULT);
	KEXPECT(!snp_safe_alloc_page(mm, 0));
	for (int i = 0; i < 2; i++) {
		configure(mm, SNP_ALLOC_SIEVE, true, caps[i]);
		for (int j = 0; j < 3; j++) {
			KEXPECT(!snp_safe_alloc_page(mm, 0));
			KEXPECT_EQ(mm_last_error(mm), SNP_ENOMEM);
			KEXPECT_EQ(stats(mm).set_aside, 0);        /* given back: memory is short */
			KEXPECT_EQ(mmt_free(mm), before);
		}
		KEXPECT_EQ(stats(mm).aligned_returned, 0);
	}
	configure(mm, SNP_ALLOC_NAIVE, true, SNP_SIEVE_POOL_DEFAULT);
	p = snp_safe_alloc_page(mm, 0);
	KASSERT(p);
	KEXPECT(snp_pfn_2m_aligned(mmt_pfn(mm, p)));
	MMT_CHECK(mm);
	KEXPECT_EQ(mm_free_pages(mm, 0, p, 0), 0);
	release_all(mm, held, n);
	mm_host_destroy(mm);
}

/* Every strategy honours the node and returns zeroed memory over dirty pages. */
static void test_node_and_zero(void)
{
	for (int s = 0; s < SNP_ALLOC_NR_STRATEGIES; s++) {
		struct mm_host *mm = mmt_host(32, 2, 2);
		struct page *dirty[64], *p;

		for (int i = 0; i < 64; i++) {
			KASSERT(dirty[i] = mm_alloc_pages_node(mm, 0, 1, 0, 0));
			KEXPECT_EQ(mm_page_write(mm, dirty[i]), 0);
		}
		for (int i = 0; i < 64; i++)
			KEXPECT_EQ(mm_free_pages(mm, 0, dirty[i], 0), 0);
		configure(mm, (enum snp_alloc_strategy)s, true, SNP_SIEVE_POOL_DEFAULT);
		for (int i = 0; i < 32; i++) {
			p = snp_safe_alloc_page_node(mm, 0, 1, MM_GFP_KERNEL);
			KASSERT(p);
			KEXPECT_EQ(mm_pfn_to_nid(mm, mmt_pfn(mm, p)), 1);
			KEXPECT_EQ(mm_page_dirty(mm, p), 0);
		}
		p = snp_safe_alloc_page(mm, 1);   /* CPU 1's node */
		KASSERT(p);
		KEXPECT_EQ(mm_pfn_to_nid(mm, mmt_pfn(mm, p)), 1);
		MMT_CHECK(mm);
		mm_host_destroy(mm);
	}
}

static snp_pfn_t peek(const struct mm_host *mm, unsigned int index)
{
	snp_pfn_t pfn = MM_PFN_INVALID;

	KEXPECT_EQ(mm_pcp_peek(mm, 0, 0, 0, MM_MT_UNMOVABLE, index, &pfn), 0);
	return pfn;
}

/*
 * snp_alloc_last_call() tells, page by page, what the last call did, and
 * mm_pcp_peek() shows beforehand what it will meet: repro's story rests on
 * both.  The list is primed so that its head is known (LIFO).
 */
static void test_last_call_and_peek(void)
{
	for (int s = 0; s < SNP_ALLOC_NR_STRATEGIES; s++) {
		struct mm_host *mm = mmt_host(64, 1, 1);
		struct snp_alloc_call c, again;
		snp_pfn_t head, next, pfn;
		uint64_t len;
		struct page *p;

		configure(mm, (enum snp_alloc_strategy)s, true, SNP_SIEVE_POOL_DEFAULT);
		KEXPECT_EQ(snp_alloc_last_call(mm, &c), 0);
		KEXPECT_EQ(c.returned, MM_PFN_INVALID);
		p = mm_alloc_pages(mm, 0, MM_GFP_KERNEL_ACCOUNT, 0);
		KASSERT(p);
		KEXPECT_EQ(mm_free_pages(mm, 0, p, 0), 0);
		head = peek(mm, 0);
		KEXPECT_EQ(head, mmt_pfn(mm, p));        /* the page freed last heads the list */
		next = peek(mm, 1);
		KEXPECT_EQ(mm_pcp_blocks_mt(mm, 0, 0, 0, MM_MT_UNMOVABLE, &len), 0);
		KEXPECT_EQ(mm_pcp_peek(mm, 0, 0, 0, MM_MT_UNMOVABLE, (unsigned int)len, &pfn),
			   SNP_ENOENT);
		p = snp_safe_alloc_page(mm, 0);
		KASSERT(p);
		KEXPECT_EQ(snp_alloc_last_call(mm, &c), 0);
		KEXPECT_EQ(c.returned, mmt_pfn(mm, p));
		if (s == SNP_ALLOC_NAIVE) {
			KEXPECT(c.nr_taken == 1 && c.taken[0] == head && c.taken_order[0] == 0);
			KEXPECT(c.nr_freed == 0 && c.nr_set_aside == 0);
		} else if (s == SNP_ALLOC_UPSTREAM) {
			KEXPECT(c.nr_taken == 1 && c.taken_order[0] == 1 && c.taken[0] % 2 == 0);
			KEXPECT(c.returned == c.taken[0] || c.returned == c.taken[0] + 1);
			KEXPECT(c.nr_freed == 1 && c.freed[0] == (c.returned ^ 1));
			KEXPECT_EQ(peek(mm, 0), c.freed[0]);  /* the freed half heads the list */
		} else {
			/* the list's pages in turn: aligned ones set aside, the first other kept */
			KEXPECT_EQ(c.taken[0], head);
			KEXPECT_EQ(c.nr_set_aside, snp_pfn_2m_aligned(head) ? 1u : 0u);
			KEXPECT_EQ(c.returned, snp_pfn_2m_aligned(head) ? next : head);
			KEXPECT_EQ(c.nr_freed, 0);
			KEXPECT(snp_safe_shrink(mm, 0, 64) >= 0);             /* outside a call: not noted */
			KEXPECT_EQ(snp_alloc_last_call(mm, &again), 0);
			KEXPECT(!memcmp(&c, &again, sizeof(c)));
		}
		KEXPECT(!snp_pfn_2m_aligned(c.returned) || s == SNP_ALLOC_NAIVE);
		KEXPECT_EQ(mm_pcp_peek(mm, 9, 0, 0, MM_MT_UNMOVABLE, 0, &pfn), SNP_EINVAL);
		KEXPECT_EQ(mm_pcp_peek(mm, 0, 0, 5, MM_MT_UNMOVABLE, 0, &pfn), SNP_EINVAL);
		KEXPECT_EQ(snp_alloc_last_call(NULL, &c), SNP_EINVAL);
		/* A second call: the first is now the one before the last. */
		KASSERT(snp_safe_alloc_page(mm, 0));
		KEXPECT_EQ(snp_alloc_recent_call(mm, 1, &again), 0);
		KEXPECT(!memcmp(&c, &again, sizeof(c)));
		KEXPECT_EQ(snp_alloc_recent_call(mm, 0, &again), 0);
		KEXPECT(again.returned != c.returned);
		KEXPECT_EQ(snp_alloc_recent_call(mm, 2, &again), SNP_EINVAL);
		mm_host_destroy(mm);
	}
}

static void test_snp_bad_input(void)
{
	struct mm_host *mm = mmt_host(16, 1, 1);
	struct snp_alloc_config cfg = { .strategy = SNP_ALLOC_SIEVE, .snp_enabled = true,
					.pool_cap = 0 };
	struct snp_alloc_stats st;
	struct page *p;

	KEXPECT(!snp_safe_alloc_page(NULL, 0));
	KEXPECT(!snp_safe_alloc_page_node(mm, 0, 1, 0));
	KEXPECT_EQ(mm_last_error(mm), SNP_EINVAL);
	KEXPECT(!snp_safe_alloc_page_node(mm, 0, -5, 0));
	KEXPECT(!snp_safe_alloc_page_node(mm, 0, 0, 1u << 30));
	KEXPECT(!snp_safe_alloc_page(mm, 1));   /* a 1-CPU host has no CPU 1 */
	KEXPECT_EQ(mm_last_error(mm), SNP_EINVAL);
	KEXPECT_EQ(snp_safe_shrink(mm, 1, 1), SNP_EINVAL);
	KEXPECT_EQ(snp_alloc_configure(mm, &cfg), SNP_EINVAL);
	cfg.pool_cap = SNP_SIEVE_POOL_MAX + 1;
	KEXPECT_EQ(snp_alloc_configure(mm, &cfg), SNP_EINVAL);
	cfg.pool_cap = 1;
	cfg.strategy = (enum snp_alloc_strategy)9;
	KEXPECT_EQ(snp_alloc_configure(mm, &cfg), SNP_EINVAL);
	KEXPECT_EQ(snp_alloc_configure(NULL, &cfg), SNP_EINVAL);
	KEXPECT_EQ(snp_alloc_configure(mm, NULL), SNP_EINVAL);
	KEXPECT_EQ(snp_alloc_get_config(mm, NULL), SNP_EINVAL);
	KEXPECT_EQ(snp_alloc_get_stats(NULL, &st), SNP_EINVAL);
	KEXPECT_EQ(snp_safe_free_page(mm, 0, NULL), SNP_EINVAL);
	KEXPECT_EQ(snp_safe_shrink(NULL, 0, 1), SNP_EINVAL);
	KEXPECT_EQ(snp_safe_release(NULL, 0), SNP_EINVAL);
	snp_alloc_reset_stats(NULL);
	p = snp_safe_alloc_page(mm, 0);
	KASSERT(p);
	KEXPECT_EQ(snp_safe_free_page(mm, 0, p), 0);
	KEXPECT_EQ(snp_safe_free_page(mm, 0, p), SNP_EINVAL);   /* double free */
	snp_alloc_reset_stats(mm);
	KEXPECT_EQ(stats(mm).allocs, 0);
	MMT_CHECK(mm);
	mm_host_destroy(mm);
}

/*
 * A full pool alone sends no call to the order-1 method (the kernel patch's
 * loop): with one slot, taken by the fresh host's first (aligned) page, the
 * rest of that 2MB region comes as order-0 hits; the next aligned page is
 * freed and its call breaks an order-1 block.
 */
static void test_sieve_full_pool_still_order0(void)
{
	struct mm_host *mm = mmt_host(64, 1, 1);
	struct page **first, **more;

	configure(mm, SNP_ALLOC_SIEVE, true, 1);
	first = hold_safe(mm, 400);
	KEXPECT_EQ(stats(mm).set_aside, 1);
	KEXPECT_EQ(stats(mm).order1_broken, 0);
	more = hold_safe(mm, 700);
	KEXPECT_EQ(stats(mm).set_aside, 1);
	KEXPECT(stats(mm).order1_broken > 0);
	for (int i = 0; i < 700; i++)
		KEXPECT_EQ(snp_safe_free_page(mm, 0, more[i]), 0);
	free(more);
	free_safe(mm, first, 400, 64 * 256);
	mm_host_destroy(mm);
}

/*
 * The clearing each strategy costs.  With init_on_alloc (Debian's default)
 * post_alloc_hook() clears every page taken from the allocator, so pages
 * cleared = pages taken: the sieve's set-aside pages and upstream's freed
 * half included, and the sieve does not clear its kept page a second time.
 * With init_on_alloc=0 only __GFP_ZERO and clear_page() clear: naive one
 * page a call, upstream the order-1 pair, the sieve the page it keeps (and
 * the pair of each order-1 fallback).  A fresh host, whose lists start at
 * 2MB-aligned pages, makes the sieve set pages aside.
 */
static void test_clearing_per_strategy(void)
{
	for (int on = 0; on <= 1; on++)
		for (int s = 0; s < SNP_ALLOC_NR_STRATEGIES; s++) {
			struct mm_config cfg;
			struct mm_host *mm = NULL;
			struct snp_alloc_stats st;
			uint64_t c0, cleared, want, start;
			struct page *held[3000];

			mm_config_init(&cfg, 64 * SNP_MiB);
			cfg.init_on_alloc = on;
			KASSERT_EQ(mm_host_create(&cfg, &mm), 0);
			configure(mm, (enum snp_alloc_strategy)s, true, 4);
			start = mmt_free(mm);
			c0 = mm_pages_cleared(mm);
			for (unsigned int i = 0; i < KTAP_ARRAY_SIZE(held); i++) {
				KASSERT((held[i] = snp_safe_alloc_page(mm, 0)));
				KEXPECT_EQ(mm_page_dirty(mm, held[i]), 0);
			}
			cleared = mm_pages_cleared(mm) - c0;
			st = stats(mm);
			if (on)
				want = st.pages_taken;
			else if (s == SNP_ALLOC_NAIVE)
				want = st.allocs;
			else if (s == SNP_ALLOC_UPSTREAM)
				want = 2 * st.order1_broken;
			else
				want = st.allocs - st.fallbacks + 2 * st.order1_broken;
			ktap_log("init_on_alloc=%d %s: %llu calls, %llu pages taken, %llu set aside, "
				 "%llu cleared", on, snp_alloc_strategy_name((enum snp_alloc_strategy)s),
				 (unsigned long long)st.allocs, (unsigned long long)st.pages_taken,
				 (unsigned long long)st.set_aside, (unsigned long long)cleared);
			KEXPECT_EQ(cleared, want);
			if (s == SNP_ALLOC_SIEVE)
				KEXPECT(st.set_aside > 0);
			for (unsigned int i = 0; i < KTAP_ARRAY_SIZE(held); i++)
				KEXPECT_EQ(snp_safe_free_page(mm, 0, held[i]), 0);
			KEXPECT(snp_safe_release(mm, 0) >= 0);
			mm_drain_all_pages(mm);
			KEXPECT_EQ(mmt_free(mm), start);
			mm_host_destroy(mm);
		}
}

/*
 * bench's cost per allocation is that clearing, read from the allocator:
 * naive 4 KiB and upstream 8 KiB either way.  The sieve's is 4 KiB and a
 * set-aside page's 4 KiB over the calls (the bench's alloc/free loop reuses
 * the same pages, so hardly any): never a second clear of the kept page.
 */
static void test_bench_charges_init_on_alloc(void)
{
	struct sim_bench_alloc on[SNP_ALLOC_NR_STRATEGIES], off[SNP_ALLOC_NR_STRATEGIES];
	struct sim_bench_alloc_config cfg = { .mem_bytes = 256 * SNP_MiB, .seed = 1,
					      .pairs = 32000, .rounds = 2 };

	KASSERT_EQ(sim_bench_alloc_run(&cfg, on), 0);
	cfg.init_on_alloc_off = true;
	KASSERT_EQ(sim_bench_alloc_run(&cfg, off), 0);
	for (int s = 0; s < SNP_ALLOC_NR_STRATEGIES; s++)
		ktap_log("%s: %.4f KiB cleared a call with init_on_alloc, %.4f without",
			 snp_alloc_strategy_name((enum snp_alloc_strategy)s), on[s].kib_cleared,
			 off[s].kib_cleared);
	KEXPECT(on[SNP_ALLOC_NAIVE].kib_cleared == 4 && off[SNP_ALLOC_NAIVE].kib_cleared == 4);
	KEXPECT(on[SNP_ALLOC_UPSTREAM].kib_cleared == 8 && off[SNP_ALLOC_UPSTREAM].kib_cleared == 8);
	KEXPECT(on[SNP_ALLOC_SIEVE].kib_cleared >= off[SNP_ALLOC_SIEVE].kib_cleared);
	KEXPECT(on[SNP_ALLOC_SIEVE].kib_cleared < off[SNP_ALLOC_SIEVE].kib_cleared + 0.5);
	KEXPECT(off[SNP_ALLOC_SIEVE].kib_cleared >= 4);
}

static const struct ktap_case cases[] = {
	KTAP_CASE(test_strategy_names),
	KTAP_CASE(test_naive_hands_out_aligned),
	KTAP_CASE(test_naive_retry_ping_pongs),
	KTAP_CASE(test_upstream_never_aligned),
	KTAP_CASE(test_snp_disabled_fallback),
	KTAP_CASE(test_sieve_no_ping_pong),
	KTAP_CASE(test_sieve_common_case),
	KTAP_CASE(test_sieve_pool_bounded),
	KTAP_CASE(test_sieve_full_pool_still_order0),
	KTAP_CASE(test_order0_only_memory),
	KTAP_CASE(test_aligned_only_memory),
	KTAP_CASE(test_node_and_zero),
	KTAP_CASE(test_last_call_and_peek),
	KTAP_CASE(test_snp_bad_input),
	KTAP_CASE(test_clearing_per_strategy),
	KTAP_CASE(test_bench_charges_init_on_alloc),
};

KTAP_MAIN("mm_snp_alloc", cases)
