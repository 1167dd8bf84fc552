// SPDX-License-Identifier: MIT
/*
 * snp_safe_core.c - the strategy logic of snp_safe_alloc_page_node()
 * (Linux: arch/x86/kvm/svm/sev.c, v6.9+) and of our sieve, shared by the
 * model and the kernel module (see snp_safe_core.h).  No includes but the
 * core's own header: everything it needs comes through the adapter.
 *
 * Why a 2MB-aligned page matters: on SNP parts with the erratum, a page
 * VMRUN marks in-use (VMCB, VMSA, AVIC backing page) that is the first 4K
 * page of a 2MB region makes host accesses through a 2MB or 1GB
 * translation of that region raise a spurious RMP #PF (snp-facts §1).
 */
#include "snp_safe_core.h"

/**
 * snp_core_upstream_alloc() - Linux's method: take an order-1 block,
 * split_page() it, keep the page that is not 2MB-aligned, free the other.
 * @env: the allocator, and where the call is counted (snp_core_count(), no lock)
 * @node: preferred node
 * @gfp: the caller's flags, through snp_core_order1_gfp()
 *
 * Why the kept page is guaranteed unaligned: the buddy allocator aligns a
 * block to its size, so the pair is pfns (2k, 2k+1).  A 2MB-aligned pfn is
 * a multiple of 512, hence even: 2k+1 never is, only 2k can be.  So the
 * code identifies the good page rather than searching for it: if the first
 * is aligned keep the second, else keep the first.  The price is one
 * order-1 block broken per call.
 */
struct page *snp_core_upstream_alloc(const struct snp_core_env *env, int node, gfp_t gfp)
{
	struct page *first = snp_core_alloc_pages(env, node, snp_core_order1_gfp(gfp), 1);
	struct page *keep, *other;

	if (!first)
		return NULL;
	snp_core_split_pair(env, first);
	if (snp_core_2m_aligned(env, first)) {
		keep = snp_core_next_page(env, first);
		other = first;
	} else {
		keep = first;
		other = snp_core_next_page(env, first);
	}
	snp_core_free_page(env, other);
	snp_core_count(env, pages_taken, 2);
	snp_core_count(env, order1_broken, 1);
	snp_core_count(env, frees, 1);
	return keep;
}

bool snp_core_park(struct snp_core_pool *pool, struct page *page)
{
	bool parked = false;

	snp_core_lock_pool(&pool->lock);
	if (pool->len < pool->cap) {
		pool->slot[pool->len++] = page;
		if (++pool->st->set_aside > pool->st->set_aside_peak)
			pool->st->set_aside_peak = pool->st->set_aside;
		parked = true;
	}
	snp_core_unlock_pool(&pool->lock);
	return parked;
}

unsigned long snp_core_give_back(const struct snp_core_env *env, struct snp_core_pool *pool,
				 unsigned long max)
{
	unsigned long freed = 0;
	struct page *page;

	while (freed < max) {
		snp_core_lock_pool(&pool->lock);
		page = pool->len ? pool->slot[--pool->len] : NULL;
		if (page) {
			pool->st->set_aside--;
			pool->st->set_aside_returned++;
		}
		snp_core_unlock_pool(&pool->lock);
		if (!page)
			break;
		snp_core_free_page(env, page);
		snp_core_count(env, frees, 1);
		freed++;
	}
	return freed;
}

/**
 * snp_core_sieve_alloc() - our strategy: the ordinary order-0 path, filtered.
 * @env: the allocator
 * @pool: @node's pool of set-aside pages
 * @node: preferred node
 * @gfp: the caller's flags
 *
 * Take order-0 pages the ordinary (per-CPU list) way until one is not
 * 2MB-aligned.  An aligned page is set aside in the pool, not freed: an
 * order-0 free goes to the head of this CPU's list and the next order-0
 * allocation pops that head, so "free and retry" would get the same page
 * back (ping-pong).  Each aligned page costs a pool slot, so the loop ends.
 * Pool full or order-0 failing: the order-1 method; that failing too means
 * memory is short, so every pool goes back and it is tried once more.
 *
 * The common path (an unaligned page) takes no lock shared across CPUs:
 * its statistics go through snp_core_count(), and the pool's length is read
 * without the lock (a stale read costs at most one page parked and freed
 * again, "lost a race for the last slot"); only an aligned page, about one
 * call in 512, takes the pool's lock, to park it.
 */
struct page *snp_core_sieve_alloc(const struct snp_core_env *env, struct snp_core_pool *pool,
				  int node, gfp_t gfp)
{
	struct page *page;

	snp_core_count(env, sieve_calls, 1);
	while (snp_core_read_len(pool) < pool->cap) {
		page = snp_core_alloc_pages(env, node, snp_core_order0_gfp(gfp), 0);
		if (!page)
			break;
		snp_core_count(env, pages_taken, 1);
		if (!snp_core_2m_aligned(env, page)) {
			snp_core_count(env, sieve_hits, 1);
			snp_core_finish_page(env, page, gfp);
			return page;
		}
		if (!snp_core_park(pool, page)) {
			snp_core_free_page(env, page);	/* lost a race for the last slot */
			snp_core_count(env, frees, 1);
			break;
		}
	}
	snp_core_count(env, fallbacks, 1);
	page = snp_core_upstream_alloc(env, node, gfp);
	if (!page && snp_core_memory_short(env) > 0)
		page = snp_core_upstream_alloc(env, node, gfp);
	return page;
}
