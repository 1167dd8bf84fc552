/* SPDX-License-Identifier: GPL-2.0 */
/*
 * snp_safe_adapter.h - what the shared strategy core (snp_safe_core.c, from
 * src/kvm/, copied next to this file at build time) needs, for the kernel:
 * the page allocator itself and a spinlock per pool, since every CPU may
 * allocate at once.  The model's counterpart is src/kvm/snp_safe_adapter.h.
 */
#ifndef SNPSAFE_KMOD_SNP_SAFE_ADAPTER_H
#define SNPSAFE_KMOD_SNP_SAFE_ADAPTER_H

#include <linux/align.h>
#include <linux/compiler.h>
#include <linux/gfp.h>
#include <linux/mm.h>
#include <linux/percpu.h>
#include <linux/spinlock.h>
#include <linux/types.h>

struct snp_core_stats;

/*
 * The core speaks the kernel's own types (gfp_t, u64, spinlock_t).  Its
 * allocator handle carries what the kernel's allocator does not have: the
 * per-CPU copies of the sieve's counters (struct snpsafe_sieve's @env).
 * Calls that count nothing may pass NULL.
 */
struct snp_core_env {
	struct snp_core_stats __percpu *hot;
};

/*
 * The core's statistics on the common path: an add to this CPU's copy, no
 * lock and no cache line shared across CPUs (a 384-CPU host would feel one
 * on every allocation).  snpsafe_sieve_stats() sums the copies.  Written
 * (*hot).field: checkpatch takes a member name after -> for an expression.
 */
#define snp_core_count(env, field, n) this_cpu_add((*(env)->hot).field, (n))

static inline void snp_core_lock_pool(spinlock_t *l)
{
	spin_lock(l);
}

static inline void snp_core_unlock_pool(spinlock_t *l)
{
	spin_unlock(l);
}

static inline struct page *snp_core_alloc_pages(const struct snp_core_env *env, int node,
						gfp_t gfp,
						unsigned int order)
{
	return alloc_pages_node(node, gfp, order);
}

static inline void snp_core_split_pair(const struct snp_core_env *env, struct page *page)
{
	split_page(page, 1);
}

static inline struct page *snp_core_next_page(const struct snp_core_env *env,
					      struct page *page)
{
	return page + 1;	/* within one order-1 block: one memmap section */
}

static inline void snp_core_free_page(const struct snp_core_env *env, struct page *page)
{
	__free_page(page);
}

/* The first 4K page of a 2MB region (arch/x86/kvm/svm/sev.c makes the same test). */
static inline bool snp_core_2m_aligned(const struct snp_core_env *env, struct page *page)
{
	return IS_ALIGNED(page_to_pfn(page), PTRS_PER_PMD);
}

/*
 * The caller's gfp goes to the order-0 allocation unchanged, __GFP_ZERO
 * included: clearing only the kept page would spare a parked page its
 * clearing (one in 512), but with init_on_alloc (Debian's default) the
 * allocator clears every page anyway and the page would be cleared twice.
 */
static inline gfp_t snp_core_order0_gfp(gfp_t gfp)
{
	return gfp;
}

/* split_page() needs a non-compound block. */
static inline gfp_t snp_core_order1_gfp(gfp_t gfp)
{
	return gfp & ~__GFP_COMP;
}

static inline void snp_core_finish_page(const struct snp_core_env *env, struct page *page,
					gfp_t gfp)
{
}

static inline int snp_core_page_nid(const struct snp_core_env *env, struct page *page)
{
	return page_to_nid(page);
}

static inline void snp_core_parked(const struct snp_core_env *env, struct page *page)
{
}

/* Every node's pool back to the kernel (snpsafe_alloc.c); pages given back. */
unsigned long snpsafe_memory_short(void);

static inline long snp_core_memory_short(const struct snp_core_env *env)
{
	return snpsafe_memory_short();
}

#define snp_core_read_len(pool) READ_ONCE((pool)->len)

#endif /* SNPSAFE_KMOD_SNP_SAFE_ADAPTER_H */
