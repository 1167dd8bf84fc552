/* SPDX-License-Identifier: MIT */
/*
 * linux_shim.h - just enough of the kernel's API for the sev.c code of the
 * kernel patches (kernel/patches/VERSION/0001-...) to compile and run in
 * user space, on the model's page allocator (kshim_mm.c), as
 * tools/testing/memblock runs mm/memblock.c on a user-space memblock.
 * Written here from what each call is documented to do; no kernel header
 * is copied.
 *
 * What it stands for:
 *   struct page      a vmemmap: one struct page per pfn of the model host,
 *                    with the lru list_head the patch threads its pools on;
 *                    page_to_pfn() is the index into it
 *   alloc_pages_node(), split_page(), __free_page(), page_to_nid()
 *                    the model's mm_alloc_pages_node(), mm_split_page(),
 *                    mm_free_pages(), mm_pfn_to_nid() on the current CPU
 *                    (kshim_set_cpu())
 *   spinlocks        no-ops: the model drives a host from one thread
 *   cc_platform_has(CC_ATTR_HOST_SEV_SNP)   kpatch_host_snp
 *   shrinker_alloc() / _register() / _free()
 *                    record the callbacks, which the test calls as reclaim
 *                    would (kpatch_shrink_count(), kpatch_shrink_scan())
 *   list.h, kcalloc/kfree, READ_ONCE, max, IS_ALIGNED, for_each_node, ...
 */
#ifndef SNPSAFE_TESTS_LINUX_SHIM_H
#define SNPSAFE_TESTS_LINUX_SHIM_H

#include "kpatch.h"

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>

#define __init

typedef unsigned int gfp_t;
#define __GFP_ZERO          KPATCH_GFP_ZERO
#define __GFP_ACCOUNT       KPATCH_GFP_ACCOUNT
#define __GFP_THISNODE      KPATCH_GFP_THISNODE
#define GFP_KERNEL          KPATCH_GFP_KERNEL
#define GFP_KERNEL_ACCOUNT  (GFP_KERNEL | __GFP_ACCOUNT)
#define NUMA_NO_NODE        (-1)
#define PTRS_PER_PMD        512
#define ENOMEM              12

#define IS_ALIGNED(x, a)    (((x) & ((__typeof__(x))(a) - 1)) == 0)
#define max(a, b)           ((a) > (b) ? (a) : (b))
#define READ_ONCE(x)        (*(const volatile __typeof__(x) *)&(x))

/*
 * nr_node_ids is unsigned int in the kernel; the patch compares it with an
 * int nid, which the kernel's warning set allows and -Wextra's
 * -Wsign-compare does not.  The value is the model host's node count.
 */
#define nr_node_ids         ((int)kshim_nr_nodes())
#define for_each_node(nid)  for ((nid) = 0; (nid) < nr_node_ids; (nid)++)

#define kcalloc(n, size, gfp) calloc((size_t)(n), (size))
#define kfree(p)            free(p)

/* ---- spinlocks: one thread drives a model host ---------------------- */
typedef struct { int unused; } spinlock_t;
static inline void spin_lock_init(spinlock_t *l) { l->unused = 0; }
static inline void spin_lock(spinlock_t *l) { (void)l; }
static inline void spin_unlock(spinlock_t *l) { (void)l; }

/* ---- list.h ---------------------------------------------------------- */
struct list_head {
	struct list_head *next, *prev;
};

#define LIST_HEAD(name) struct list_head name = { &(name), &(name) }
#define list_entry(ptr, type, member) ((type *)((char *)(ptr) - offsetof(type, member)))
#define list_for_each_entry_safe(pos, n, head, member) \
	for (pos = list_entry((head)->next, __typeof__(*(pos)), member), \
	     n = list_entry((pos)->member.next, __typeof__(*(pos)), member); \
	     &(pos)->member != (head); \
	     pos = n, n = list_entry((n)->member.next, __typeof__(*(n)), member))

static inline void INIT_LIST_HEAD(struct list_head *h)
{
	h->next = h;
	h->prev = h;
}

static inline bool list_empty(const struct list_head *h)
{
	return h->next == h;
}

static inline void list_link_(struct list_head *e, struct list_head *prev, struct list_head *next)
{
	next->prev = e;
	e->next = next;
	e->prev = prev;
	prev->next = e;
}

static inline void list_unlink_(struct list_head *e)
{
	e->next->prev = e->prev;
	e->prev->next = e->next;
}

/* ---- struct page: a vmemmap over the model host's pfns --------------- */
struct page {
	struct list_head lru;
};

extern struct page *kshim_vmemmap;
extern unsigned long kshim_vmemmap_pages;

static inline unsigned long page_to_pfn(const struct page *page)
{
	return (unsigned long)(page - kshim_vmemmap);
}

static inline struct page *kshim_page_(long pfn)
{
	return pfn < 0 ? NULL : &kshim_vmemmap[pfn];
}

/* A page's lru in the vmemmap: how the shim tells a park from other list ops. */
static inline bool kshim_is_page_lru_(const struct list_head *e)
{
	const char *p = (const char *)e, *base = (const char *)kshim_vmemmap;

	return p >= base && p < base + kshim_vmemmap_pages * sizeof(struct page);
}

/* list_add(): at the head.  A page put on a list is noted: the patch's park. */
static inline void list_add(struct list_head *e, struct list_head *head)
{
	list_link_(e, head, head->next);
	if (kshim_is_page_lru_(e))
		kshim_note_park(page_to_pfn(list_entry(e, struct page, lru)));
}

static inline void list_del(struct list_head *e)
{
	list_unlink_(e);
	e->next = NULL;
	e->prev = NULL;
}

/* list_move(): off its list, onto @head's head (not a park: not noted). */
static inline void list_move(struct list_head *e, struct list_head *head)
{
	list_unlink_(e);
	list_link_(e, head, head->next);
}

/* ---- the page allocator: the model's, by pfn ------------------------- */
static inline struct page *alloc_pages_node(int nid, gfp_t gfp, unsigned int order)
{
	return kshim_page_(kshim_alloc(nid, gfp, order));
}

static inline void split_page(struct page *page, unsigned int order)
{
	kshim_split(page_to_pfn(page), order);
}

static inline void __free_page(struct page *page)
{
	kshim_free(page_to_pfn(page));
}

static inline int page_to_nid(const struct page *page)
{
	return kshim_nid(page_to_pfn(page));
}

/* ---- cc_platform_has() ------------------------------------------------ */
enum cc_attr {
	CC_ATTR_HOST_SEV_SNP,
};

static inline bool cc_platform_has(enum cc_attr attr)
{
	return attr == CC_ATTR_HOST_SEV_SNP && kpatch_host_snp;
}

/* ---- shrinkers: the callbacks kept for the test to call ---------------- */
#define SHRINK_STOP         (~0UL - 1)
#define SHRINKER_NUMA_AWARE (1u << 0)

struct shrink_control {
	gfp_t gfp_mask;
	int nid;
	unsigned long nr_to_scan;
	unsigned long nr_scanned;
};

struct shrinker {
	unsigned long (*count_objects)(struct shrinker *s, struct shrink_control *sc);
	unsigned long (*scan_objects)(struct shrinker *s, struct shrink_control *sc);
	unsigned int flags;
	int seeks;
	bool registered;
};

struct shrinker *shrinker_alloc(unsigned int flags, const char *fmt, ...);
void shrinker_register(struct shrinker *s);
void shrinker_free(struct shrinker *s);

/*
 * What arch/x86/kvm/svm/svm.h declares for the code (-Wmissing-prototypes).
 * snp_safe_alloc_page_node() is renamed: the model's library has one too.
 */
#define snp_safe_alloc_page_node kpatch_snp_safe_alloc_page_node
int __init snp_safe_alloc_init(void);
void snp_safe_alloc_exit(void);
struct page *snp_safe_alloc_page_node(int node, gfp_t gfp);

#endif
