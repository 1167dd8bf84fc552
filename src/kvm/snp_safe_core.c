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

/**
 * snp_core_give_back() - give up to @max of @pool's pages back to the allocator.
 * @env: the allocator
 * @pool: the pool
 * @max: how many at most
 *
 * The newest @max pages leave the pool and are freed oldest first: the order
 * the kernel patch frees them in (it moves each off its list onto a local
 * one, which reverses them).  The order decides which page is at the head
 * of the per-CPU list afterwards, and so the next allocations, and
 * tests/test_kpatch_drift.c holds the model to the patch's pages.  They are
 * freed under the pool's lock, because a slot is free for the next park as
 * soon as the lock drops; __free_page() does not sleep, and giving back is
 * the rare path (the shrinker, memory short, unload).
 *
 * Return: the number of pages given back.
 */
unsigned long snp_core_give_back(const struct snp_core_env *env, struct snp_core_pool *pool,
				 unsigned long max)
{
	unsigned long n, i;

	snp_core_lock_pool(&pool->lock);
	n = pool->len < max ? pool->len : max;
	pool->len -= n;
	for (i = 0; i < n; i++)
		snp_core_free_page(env, pool->slot[pool->len + i]);
	pool->st->set_aside -= n;
	pool->st->set_aside_returned += n;
	snp_core_unlock_pool(&pool->lock);
	snp_core_count(env, frees, n);
	return n;
}

/**
 * snp_core_sieve_fallback() - the sieve's rare path: the order-1 method, and
 * when that fails too, every pool given back and the order-1 method once more.
 * @env: the allocator
 * @node: preferred node
 * @gfp: the caller's flags
 *
 * Out of line: snp_core_sieve_alloc() (snp_safe_core.h) comes here about one
 * call in 512 and only when the pool is full or order-0 failed.
 */
struct page *snp_core_sieve_fallback(const struct snp_core_env *env, int node, gfp_t gfp)
{
	struct page *page;

	snp_core_count(env, fallbacks, 1);
	page = snp_core_upstream_alloc(env, node, gfp);
	if (!page && snp_core_memory_short(env) > 0)
		page = snp_core_upstream_alloc(env, node, gfp);
	return page;
}
