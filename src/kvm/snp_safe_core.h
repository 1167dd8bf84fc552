/* SPDX-License-Identifier: MIT */
/*
 * snp_safe_core.h - the SNP-safe page strategies (upstream's order-1 pick
 * and the sieve), written once and compiled into both the user-space model
 * (src/kvm/snp_alloc.c) and the kernel module (kmod/snpsafe_alloc.c), the
 * way tools/testing/memblock compiles the kernel's own mm/memblock.c.
 *
 * The core has no dependencies of its own: it includes only
 * "snp_safe_adapter.h", which each side provides next to it (the model's is
 * src/kvm/snp_safe_adapter.h, the module's kmod/snp_safe_adapter.h) with:
 *
 *   types   the kernel's struct page, gfp_t, u64 and spinlock_t, and
 *           struct snp_core_env (the allocator's handle: for the model the
 *           host, the CPU the call runs on and the host's statistics; for
 *           the module the per-CPU copies of the counters)
 *   calls   snp_core_alloc_pages(env, node, gfp, order)  alloc_pages_node()
 *           snp_core_split_pair(env, page)               split_page(page, 1)
 *           snp_core_next_page(env, page)                page + 1
 *           snp_core_free_page(env, page)                __free_page()
 *           snp_core_2m_aligned(env, page)               IS_ALIGNED(pfn, PTRS_PER_PMD)
 *           snp_core_order0_gfp(gfp), snp_core_order1_gfp(gfp)
 *           snp_core_finish_page(env, page, gfp)         e.g. clear the kept page
 *           snp_core_page_nid(env, page)                 page_to_nid()
 *           snp_core_parked(env, page)                   a page was set aside (the model notes it)
 *           snp_core_memory_short(env)                   give back every pool; pages freed
 *           snp_core_lock_pool(lock), snp_core_unlock_pool(lock)
 *           snp_core_read_len(pool)                      READ_ONCE(pool->len)
 *           snp_core_count(env, field, n)                a statistic, with no lock
 *
 * snp_core_count() adds @n to the counter named @field of struct
 * snp_core_stats (a member name, not a value: a macro on both sides) that
 * @env says where to keep.  It is the only statistic the common path (an
 * unaligned order-0 page, about 511 calls in 512) touches, and it must take
 * no lock shared across CPUs: the model adds to the host's statistics (one
 * thread drives a host), the module adds to this CPU's copy with
 * this_cpu_add() and sums the copies when read.
 */
#ifndef SNP_SAFE_CORE_H
#define SNP_SAFE_CORE_H

#include "snp_safe_adapter.h"

/*
 * The strategies' costs; one set of names on both sides.  The counts of
 * calls, pages and blocks go through snp_core_count() (lock-free); the
 * pool's own state (set_aside, set_aside_peak, set_aside_returned) is
 * updated under the pool's lock, beside the pool it describes.
 */
struct snp_core_stats {
	u64 sieve_calls;        /* snp_core_sieve_alloc() calls */
	u64 sieve_hits;         /* ... served by an unaligned order-0 page */
	u64 fallbacks;          /* ... that used the order-1 method */
	u64 pages_taken;        /* pages obtained from the allocator (order-1 = 2) */
	u64 order1_broken;      /* order-1 blocks allocated and split */
	u64 set_aside;          /* sieve: pages in the pool now */
	u64 set_aside_peak;     /* sieve: most pages ever in the pool */
	u64 set_aside_returned; /* sieve: pool pages given back */
	u64 frees;              /* pages the strategies gave back */
};

/*
 * One node's pool of set-aside 2MB-aligned pages.  @st may be shared by
 * several pools (the single-threaded model) or be the pool's own (the
 * module, where CPUs race).  Its pool-state fields are only updated under
 * @lock; where the other counters go is the adapter's snp_core_count().
 */
struct snp_core_pool {
	spinlock_t lock;
	struct page **slot;      /* room for @cap pages */
	unsigned int len;
	unsigned int cap;
	struct snp_core_stats *st;
};

struct page *snp_core_upstream_alloc(const struct snp_core_env *env, int node, gfp_t gfp);
/* Set @page aside in @pool; false when the pool is full. */
bool snp_core_park(struct snp_core_pool *pool, struct page *page);
unsigned long snp_core_give_back(const struct snp_core_env *env, struct snp_core_pool *pool,
				 unsigned long max);
struct page *snp_core_sieve_fallback(const struct snp_core_env *env, int node, gfp_t gfp);

/**
 * snp_core_sieve_alloc() - our strategy: the ordinary order-0 path, filtered.
 * @env: the allocator
 * @pools: the pools of set-aside pages, one per node, by node id
 * @node: preferred node
 * @gfp: the caller's flags
 *
 * Take order-0 pages the ordinary (per-CPU list) way until one is not
 * 2MB-aligned.  An aligned page is set aside in its node's pool, not freed:
 * an order-0 free goes to the head of this CPU's list and the next order-0
 * allocation pops that head, so "free and retry" would get the same page
 * back (ping-pong).  Each aligned page costs a pool slot, so the loop ends.
 * An aligned page whose pool is full is freed and the call uses the order-1
 * method, as does a failing order-0 allocation; that failing too means
 * memory is short, so every pool goes back and it is tried once more
 * (snp_core_sieve_fallback()).  A full pool alone sends no call to the
 * order-1 method: an unaligned page is still taken the order-0 way.
 *
 * This is the loop of the kernel patch's snp_safe_alloc_page_node()
 * (kernel/patches/, arch/x86/kvm/svm/sev.c), page for page: the pool is the
 * page's node's (page_to_nid()), and the pool is not looked at before the
 * order-0 try; tests/test_kpatch_drift.c runs the two side by side.
 *
 * The common path (an unaligned page) takes no lock shared across CPUs and
 * reads no pool: its statistics go through snp_core_count(), and only an
 * aligned page, about one call in 512, takes its pool's lock, to park it.
 * It is inline, so that it costs its caller what one order-0 allocation
 * costs and no call more, as it does where the kernel writes it into
 * snp_safe_alloc_page_node().
 */
static inline struct page *snp_core_sieve_alloc(const struct snp_core_env *env,
						struct snp_core_pool *pools, int node, gfp_t gfp)
{
	struct page *page;

	snp_core_count(env, sieve_calls, 1);
	for (;;) {
		page = snp_core_alloc_pages(env, node, snp_core_order0_gfp(gfp), 0);
		if (!page)
			break;
		snp_core_count(env, pages_taken, 1);
		if (!snp_core_2m_aligned(env, page)) {
			snp_core_count(env, sieve_hits, 1);
			snp_core_finish_page(env, page, gfp);
			return page;
		}
		if (!snp_core_park(&pools[snp_core_page_nid(env, page)], page)) {
			snp_core_free_page(env, page);	/* its node's pool is full */
			snp_core_count(env, frees, 1);
			break;
		}
		snp_core_parked(env, page);
	}
	return snp_core_sieve_fallback(env, node, gfp);
}

#endif /* SNP_SAFE_CORE_H */
