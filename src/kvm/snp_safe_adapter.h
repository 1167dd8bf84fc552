/* SPDX-License-Identifier: MIT */
/*
 * snp_safe_adapter.h - what the shared strategy core (snp_safe_core.c)
 * needs, for the user-space model: the public page allocator of
 * snpsafe/mm.h and no lock (a modeled host is driven by one thread).  The
 * kernel module's counterpart is kmod/snp_safe_adapter.h.
 */
#ifndef SNPSAFE_KVM_SNP_SAFE_ADAPTER_H
#define SNPSAFE_KVM_SNP_SAFE_ADAPTER_H

#include <snpsafe/mm.h>
#include <snpsafe/snp_alloc.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct snp_core_stats;

/*
 * What the running snp_safe_alloc_page_node() call records for
 * snp_alloc_recent_call() (repro's story of each strategy), and the page it
 * took last with that page's pfn.  The kernel's page_to_pfn() is a
 * subtraction; the model's mm_page_to_pfn() is a checked call into mm (the
 * page is opaque here), which the hot path would otherwise make four times
 * per page (record, alignment test, result, aligned_returned): it is made
 * once, when the page is taken.  A page's pfn never changes, so the pair
 * cannot go stale.
 */
struct snp_alloc_rec {
	struct snp_alloc_call *call;
	struct page *page;
	snp_pfn_t pfn;
};

/*
 * The model's handle for one call: the host and the CPU the call runs on.
 * The kernel's allocator uses this_cpu's lists; the model has no current
 * CPU, so the CPU travels with the handle (mm_alloc_pages_node()).  @st is
 * where snp_core_count() counts: the host's statistics.  @rec is the call
 * being recorded, NULL outside snp_safe_alloc_page_node() (snp_safe_shrink()
 * on its own).
 */
struct snp_core_env {
	struct mm_host *mm;
	unsigned int cpu;
	struct snp_core_stats *st;
	struct snp_alloc_rec *rec;
};
/*
 * The core is written in the kernel's types; user space gets them here, as
 * tools/include/linux/types.h gives tools/testing/memblock the kernel's
 * gfp_t and u64.  No lock: a modeled host is driven by one thread.
 */
typedef mm_gfp_t gfp_t;
typedef uint64_t u64;
typedef struct { char unused; } spinlock_t;

struct snp_core_pool;

static inline void snp_core_lock_pool(spinlock_t *l) { (void)l; }
static inline void snp_core_unlock_pool(spinlock_t *l) { (void)l; }

/* A plain add: one thread drives a modeled host. */
#define snp_core_count(env, field, n) ((env)->st->field += (n))

/* Count one more page in @nr; keep its pfn while the array has room. */
static inline unsigned int snp_alloc_note(snp_pfn_t *pfns, unsigned int *nr, snp_pfn_t pfn)
{
	unsigned int i = (*nr)++;

	if (i < SNP_ALLOC_CALL_MAX)
		pfns[i] = pfn;
	return i;
}

/* page_to_pfn(): the page the call took last is known without asking mm. */
static inline snp_pfn_t snp_core_pfn(const struct snp_core_env *env, struct page *page)
{
	const struct snp_alloc_rec *r = env->rec;

	return r && page == r->page ? r->pfn : mm_page_to_pfn(env->mm, page);
}

/* alloc_pages_node(), noting the block in the call's record. */
static inline struct page *snp_core_alloc_pages(const struct snp_core_env *env, int node, gfp_t gfp,
						unsigned int order)
{
	struct page *page = mm_alloc_pages_node(env->mm, env->cpu, node, gfp, order);
	struct snp_alloc_rec *r = env->rec;
	unsigned int i;

	if (!page || !r)
		return page;
	r->page = page;
	r->pfn = mm_page_to_pfn(env->mm, page);
	i = snp_alloc_note(r->call->taken, &r->call->nr_taken, r->pfn);
	if (i < SNP_ALLOC_CALL_MAX)
		r->call->taken_order[i] = order;
	return page;
}

/* split_page() of a live order-1 block cannot fail. */
static inline void snp_core_split_pair(const struct snp_core_env *env, struct page *page)
{
	int err = mm_split_page(env->mm, page, 1);

	(void)err;
}

/* The second page of a pair (struct page is opaque here: by pfn). */
static inline struct page *snp_core_next_page(const struct snp_core_env *env, struct page *page)
{
	return mm_pfn_to_page(env->mm, snp_core_pfn(env, page) + 1);
}

/* __free_page(), noting the page in the call's record. */
static inline void snp_core_free_page(const struct snp_core_env *env, struct page *page)
{
	int err = mm_free_pages(env->mm, env->cpu, page, 0);

	(void)err;	/* a page the core itself took: never a bad free */
	if (env->rec)
		snp_alloc_note(env->rec->call->freed, &env->rec->call->nr_freed,
			       snp_core_pfn(env, page));
}

static inline bool snp_core_2m_aligned(const struct snp_core_env *env, struct page *page)
{
	return snp_pfn_2m_aligned(snp_core_pfn(env, page));
}

/*
 * Order-0 pages are taken without __GFP_ZERO and only the kept one is
 * cleared.  Under init_on_alloc (Debian's default) the allocator clears each
 * one anyway, so the kept page is cleared once, as in the kernel module
 * (whose adapter passes __GFP_ZERO through), and a parked page is cleared too.
 */
static inline gfp_t snp_core_order0_gfp(gfp_t gfp)
{
	return gfp & ~MM_GFP_ZERO;
}

/* Upstream zeroes the order-1 block (__GFP_ZERO added). */
static inline gfp_t snp_core_order1_gfp(gfp_t gfp)
{
	return gfp | MM_GFP_ZERO;
}

/* clear_page() of the one order-0 page kept, unless the allocator cleared it already. */
static inline void snp_core_finish_page(const struct snp_core_env *env, struct page *page,
					gfp_t gfp)
{
	int err;

	if (mm_want_init_on_alloc(env->mm, snp_core_order0_gfp(gfp)))
		return;
	err = mm_clear_page(env->mm, page);
	(void)err;	/* a live page of this host: cannot fail */
}

/* page_to_nid() (a live page of this host: never an error). */
static inline int snp_core_page_nid(const struct snp_core_env *env, struct page *page)
{
	return mm_pfn_to_nid(env->mm, snp_core_pfn(env, page));
}

/* A page set aside: noted in the call's record (snp_alloc_recent_call()). */
static inline void snp_core_parked(const struct snp_core_env *env, struct page *page)
{
	if (env->rec)
		snp_alloc_note(env->rec->call->set_aside, &env->rec->call->nr_set_aside,
			       snp_core_pfn(env, page));
}

/* Every node's pool back to the allocator (snp_safe_release(), snp_alloc.c). */
static inline long snp_core_memory_short(const struct snp_core_env *env)
{
	return snp_safe_release(env->mm, env->cpu);
}

#define snp_core_read_len(pool) ((pool)->len)

#endif
