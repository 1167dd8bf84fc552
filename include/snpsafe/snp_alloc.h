/* SPDX-License-Identifier: MIT */
/*
 * snpsafe/snp_alloc.h - allocating pages that are safe to become in-use
 * (VMCB, VMSA, AVIC backing page) on SNP parts with the 2MB erratum: never a
 * page whose pfn is a multiple of 512 (snp-facts §1).
 *
 * Linux: arch/x86/kvm/svm/sev.c snp_safe_alloc_page_node() (v6.9+).  Three
 * strategies are modeled, selectable per host:
 *
 *   naive     one zeroed order-0 page: a kernel without the workaround.
 *   upstream  Linux: a zeroed order-1 block, split_page(), keep the page that
 *             is not 2MB-aligned, free the other.  With SNP off on the host,
 *             a plain zeroed order-0 page.
 *   sieve     ours: take an order-0 page the ordinary (pcp) way; a 2MB-aligned
 *             one is set aside in a small bounded per-node pool (not freed:
 *             the LIFO pcp list would hand it straight back) and another is
 *             taken; an aligned page whose node's pool is full is freed and
 *             the call uses upstream's method, as does an order-0 failure.  The
 *             pool goes back to the allocator when memory is short
 *             (allocation failure, snp_safe_shrink()) and at teardown
 *             (snp_safe_release()).
 */
#ifndef SNPSAFE_SNP_ALLOC_H
#define SNPSAFE_SNP_ALLOC_H

#include <snpsafe/mm.h>

enum snp_alloc_strategy {
	SNP_ALLOC_NAIVE = 0,
	SNP_ALLOC_UPSTREAM = 1,
	SNP_ALLOC_SIEVE = 2,
	SNP_ALLOC_NR_STRATEGIES
};

#define SNP_SIEVE_POOL_DEFAULT 32u   /* set-aside pages per node */
#define SNP_SIEVE_POOL_MAX     512u

struct snp_alloc_config {
	enum snp_alloc_strategy strategy;   /* default: upstream */
	bool snp_enabled;                   /* cc_platform_has(CC_ATTR_HOST_SEV_SNP); default on */
	unsigned int pool_cap;              /* sieve: set-aside pages per node, 1..SNP_SIEVE_POOL_MAX */
};

/* What a strategy cost since the last reset (pages, not calls, unless said). */
struct snp_alloc_stats {
	uint64_t allocs;             /* successful snp_safe_alloc_page*() calls */
	uint64_t failures;           /* calls that returned NULL */
	uint64_t pages_taken;        /* pages obtained from the allocator (order-1 = 2) */
	uint64_t order1_broken;      /* order-1 blocks allocated and split */
	uint64_t set_aside;          /* sieve: pages in the pools now */
	uint64_t set_aside_peak;     /* sieve: most pages ever in the pools */
	uint64_t set_aside_returned; /* sieve: pool pages given back */
	uint64_t frees;              /* pages the strategy gave back to the allocator */
	uint64_t fallbacks;          /* sieve: calls that used the order-1 method */
	uint64_t aligned_returned;   /* 2MB-aligned pages handed to the caller */
};

/* Name <-> strategy ("naive", "upstream", "sieve"); parse: 0 or SNP_EINVAL. */
SNP_MUST_CHECK int snp_alloc_strategy_parse(const char *name, enum snp_alloc_strategy *out);
const char *snp_alloc_strategy_name(enum snp_alloc_strategy s);

/* Current settings; defaults are upstream, SNP on, SNP_SIEVE_POOL_DEFAULT. */
SNP_MUST_CHECK int snp_alloc_get_config(const struct mm_host *mm, struct snp_alloc_config *out);
/* Change settings; set-aside pages are given back first.  0 or SNP_EINVAL. */
SNP_MUST_CHECK int snp_alloc_configure(struct mm_host *mm, const struct snp_alloc_config *cfg);

/*
 * @cpu: the CPU the call runs on, whose per-CPU lists the pages come from or
 * go to.  The kernel's calls run on this_cpu; the model has no current CPU,
 * so the caller names it (see mm_alloc_pages_node()).  A bad cpu: SNP_EINVAL.
 */
/* snp_safe_alloc_page_node(): a zeroed page safe to become in-use, from
 * @node (or MM_NUMA_NO_NODE: @cpu's node) with fallback; NULL and mm_last_error(). */
struct page *snp_safe_alloc_page_node(struct mm_host *mm, unsigned int cpu, int node,
				      mm_gfp_t gfp);
/* snp_safe_alloc_page(): @cpu's node, GFP_KERNEL_ACCOUNT. */
struct page *snp_safe_alloc_page(struct mm_host *mm, unsigned int cpu);
/* __free_page() on @cpu of a page from snp_safe_alloc_page*(). */
SNP_MUST_CHECK int snp_safe_free_page(struct mm_host *mm, unsigned int cpu, struct page *page);

/* Give back up to @nr set-aside pages (a shrinker running on @cpu); returns how many. */
SNP_MUST_CHECK int snp_safe_shrink(struct mm_host *mm, unsigned int cpu, uint64_t nr);
/* Give back every set-aside page (teardown, on @cpu); returns how many. */
SNP_MUST_CHECK int snp_safe_release(struct mm_host *mm, unsigned int cpu);

SNP_MUST_CHECK int snp_alloc_get_stats(const struct mm_host *mm, struct snp_alloc_stats *out);

/*
 * What the last snp_safe_alloc_page_node() call on this host did, page by
 * page, so `snpsafe repro` can tell it with real pfns.  The counts are
 * exact; the arrays hold the first SNP_ALLOC_CALL_MAX of each.
 */
#define SNP_ALLOC_CALL_MAX 8
struct snp_alloc_call {
	snp_pfn_t returned;                     /* MM_PFN_INVALID when the call failed */
	unsigned int nr_taken, nr_freed, nr_set_aside;
	snp_pfn_t taken[SNP_ALLOC_CALL_MAX];    /* first pfn of each block taken, in order */
	unsigned int taken_order[SNP_ALLOC_CALL_MAX];
	snp_pfn_t freed[SNP_ALLOC_CALL_MAX];    /* order-0 pages given back to the allocator */
	snp_pfn_t set_aside[SNP_ALLOC_CALL_MAX]; /* sieve: pages put in the node's pool */
};
/* 0 and *out (all zero, returned MM_PFN_INVALID, before any call), or SNP_EINVAL. */
SNP_MUST_CHECK int snp_alloc_last_call(const struct mm_host *mm, struct snp_alloc_call *out);
/*
 * The same for the call @back calls before the last (0: the last, 1: the one
 * before it: the VMCB's when a PML buffer followed it).  SNP_EINVAL past 1.
 */
SNP_MUST_CHECK int snp_alloc_recent_call(const struct mm_host *mm, unsigned int back,
					 struct snp_alloc_call *out);
/* Zero the counters (set_aside keeps its current value, peak restarts from it). */
void snp_alloc_reset_stats(struct mm_host *mm);

#endif
