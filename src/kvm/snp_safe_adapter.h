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
 * The model's handle for one call: the host and the CPU the call runs on.
 * The kernel's allocator uses this_cpu's lists; the model has no current
 * CPU, so the CPU travels with the handle (mm_alloc_pages_node()).  @st is
 * where snp_core_count() counts: the host's statistics.
 */
struct snp_core_env {
	struct mm_host *mm;
	unsigned int cpu;
	struct snp_core_stats *st;
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

/* snp_alloc.c: note a block the current call took or gave back (snp_alloc_last_call()). */
void snp_alloc_note_taken(struct mm_host *mm, struct page *page, unsigned int order);
void snp_alloc_note_freed(struct mm_host *mm, struct page *page);

static inline struct page *snp_core_alloc_pages(const struct snp_core_env *env, int node, gfp_t gfp,
						unsigned int order)
{
	struct page *page = mm_alloc_pages_node(env->mm, env->cpu, node, gfp, order);

	snp_alloc_note_taken(env->mm, page, order);
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
	return mm_pfn_to_page(env->mm, mm_page_to_pfn(env->mm, page) + 1);
}

static inline void snp_core_free_page(const struct snp_core_env *env, struct page *page)
{
	int err = mm_free_pages(env->mm, env->cpu, page, 0);

	(void)err;	/* a page the core itself took: never a bad free */
	snp_alloc_note_freed(env->mm, page);
}

static inline bool snp_core_2m_aligned(const struct snp_core_env *env, struct page *page)
{
	return snp_pfn_2m_aligned(mm_page_to_pfn(env->mm, page));
}

/* Order-0 pages are taken unzeroed and only the kept one is cleared. */
static inline gfp_t snp_core_order0_gfp(gfp_t gfp)
{
	return gfp & ~MM_GFP_ZERO;
}

/* Upstream zeroes the order-1 block (__GFP_ZERO added). */
static inline gfp_t snp_core_order1_gfp(gfp_t gfp)
{
	return gfp | MM_GFP_ZERO;
}

/* clear_page() of the one order-0 page kept. */
static inline void snp_core_finish_page(const struct snp_core_env *env, struct page *page,
					gfp_t gfp)
{
	int err = mm_clear_page(env->mm, page);

	(void)gfp;
	(void)err;	/* a live page of this host: cannot fail */
}

/* Every node's pool back to the allocator (snp_safe_release(), snp_alloc.c). */
static inline long snp_core_memory_short(const struct snp_core_env *env)
{
	return snp_safe_release(env->mm, env->cpu);
}

#define snp_core_read_len(pool) ((pool)->len)

#endif
