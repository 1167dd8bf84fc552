/* SPDX-License-Identifier: GPL-2.0 */
/*
 * snpsafe: page allocation that never hands out a 2MB-aligned page.
 *
 * Three strategies, named as in the user-space model (src/kvm/snp_alloc.c):
 *   naive     plain order-0 page (what a host without SNP uses);
 *   upstream  order-1 block, split, keep the half that is not 2MB-aligned;
 *   sieve     order-0 page; a 2MB-aligned one is parked in a small bounded
 *             per-node pool instead of being freed, and another page is
 *             taken; the order-1 method is the fallback.
 * upstream and sieve are the shared core's (snp_safe_core.c), the same
 * code the model runs; this file holds the module's per-node pools.
 */
#ifndef SNPSAFE_ALLOC_H
#define SNPSAFE_ALLOC_H

#include <linux/gfp.h>
#include <linux/mm.h>
#include <linux/spinlock.h>

#include "snp_safe_core.h"

enum snpsafe_strategy {
	SNPSAFE_NAIVE,
	SNPSAFE_UPSTREAM,
	SNPSAFE_SIEVE,
	SNPSAFE_NR_STRATEGIES,
};

/* Pool capacity per node: default and largest, as in the user-space model. */
#define SNPSAFE_SIEVE_POOL_DEFAULT	32
#define SNPSAFE_SIEVE_POOL_MAX	512

/*
 * One pool per node (nr_node_ids of them), as the model.  The counters are
 * split: each node's pool state (set_aside, its peak, set_aside_returned) in
 * @st under that pool's lock, the counts of calls, pages and blocks in one
 * per-CPU copy per CPU (@env.hot, snp_core_count()); snpsafe_sieve_stats()
 * adds both up.
 */
struct snpsafe_sieve {
	unsigned int cap;		/* pool capacity per node */
	struct snp_core_pool *pool;
	struct snp_core_stats *st;
	struct snp_core_env env;
};

static inline bool snpsafe_page_2m_aligned(struct page *page)
{
	return snp_core_2m_aligned(NULL, page);
}

const char *snpsafe_strategy_name(enum snpsafe_strategy s);
int snpsafe_strategy_parse(const char *name, enum snpsafe_strategy *out);

int snpsafe_sieve_init(struct snpsafe_sieve *s, unsigned int cap);
void snpsafe_sieve_destroy(struct snpsafe_sieve *s);
unsigned long snpsafe_sieve_give_back(struct snpsafe_sieve *s,
				      unsigned long max);
unsigned int snpsafe_sieve_count(struct snpsafe_sieve *s);
/* Park @page in the pool of its node; false when that pool is full. */
bool snpsafe_sieve_park(struct snpsafe_sieve *s, struct page *page);
/*
 * The statistics of all nodes and CPUs, summed: each pool's under its lock,
 * the per-CPU copies without one (exact once the allocating calls are done).
 */
void snpsafe_sieve_stats(struct snpsafe_sieve *s, struct snp_core_stats *out);

/* Memory-pressure hook: a shrinker that empties the sieve's pools. */
int snpsafe_sieve_shrinker_register(struct snpsafe_sieve *s);
void snpsafe_sieve_shrinker_unregister(void);
unsigned long snpsafe_sieve_shrink_for_test(unsigned long nr_to_scan);

/* One entry point over the three strategies; the page is freed with __free_page(). */
struct page *snpsafe_alloc_page(enum snpsafe_strategy s,
				struct snpsafe_sieve *sieve, int node, gfp_t gfp);

#endif /* SNPSAFE_ALLOC_H */
