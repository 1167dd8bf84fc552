/* SPDX-License-Identifier: GPL-2.0 */
/*
 * snpsafe: page allocation that never hands out a 2MB-aligned page.
 *
 * Three strategies, named as in the user-space model (src/mm):
 *   naive     plain order-0 page (what a host without SNP uses);
 *   upstream  order-1 block, split, keep the half that is not 2MB-aligned;
 *   sieve     order-0 page; a 2MB-aligned one is parked in a small bounded
 *             pool instead of being freed, and another page is taken; the
 *             order-1 method is the fallback.
 */
#ifndef SNPSAFE_ALLOC_H
#define SNPSAFE_ALLOC_H

#include <linux/gfp.h>
#include <linux/mm.h>
#include <linux/spinlock.h>

/* A 2MB region holds 512 4K pages (PMD_SIZE / PAGE_SIZE on x86-64). */
#define SNPSAFE_PAGES_PER_2M	(1UL << (21 - PAGE_SHIFT))

enum snpsafe_strategy {
	SNPSAFE_NAIVE,
	SNPSAFE_UPSTREAM,
	SNPSAFE_SIEVE,
	SNPSAFE_NR_STRATEGIES,
};

/* Pool capacity: default and largest, as in the user-space model. */
#define SNPSAFE_SIEVE_POOL_DEFAULT	32
#define SNPSAFE_SIEVE_POOL_MAX	512

struct snpsafe_sieve_stats {
	unsigned long calls;		/* snpsafe_sieve_alloc() calls */
	unsigned long order0_hits;	/* served by an order-0 page */
	unsigned long parked;		/* aligned pages set aside */
	unsigned long fallback_full;	/* order-1 fallback: pool full */
	unsigned long fallback_nomem;	/* order-1 fallback: order-0 failed */
	unsigned long given_back;	/* parked pages returned to the kernel */
	unsigned int high_water;	/* most pages ever parked at once */
};

struct snpsafe_sieve {
	spinlock_t lock;
	unsigned int nr;		/* pages parked now */
	unsigned int cap;		/* pool capacity */
	struct page **pool;
	struct snpsafe_sieve_stats st;
};

static inline bool snpsafe_page_2m_aligned(struct page *page)
{
	return (page_to_pfn(page) & (SNPSAFE_PAGES_PER_2M - 1)) == 0;
}

const char *snpsafe_strategy_name(enum snpsafe_strategy s);
int snpsafe_strategy_parse(const char *name, enum snpsafe_strategy *out);

struct page *snpsafe_naive_alloc(int node, gfp_t gfp);
struct page *snpsafe_upstream_alloc(int node, gfp_t gfp);

int snpsafe_sieve_init(struct snpsafe_sieve *s, unsigned int cap);
void snpsafe_sieve_destroy(struct snpsafe_sieve *s);
struct page *snpsafe_sieve_alloc(struct snpsafe_sieve *s, int node, gfp_t gfp);
unsigned long snpsafe_sieve_give_back(struct snpsafe_sieve *s,
				      unsigned long max);
unsigned int snpsafe_sieve_count(struct snpsafe_sieve *s);
bool snpsafe_sieve_park(struct snpsafe_sieve *s, struct page *page);

/* Memory-pressure hook: a shrinker that empties the sieve's pool. */
int snpsafe_sieve_shrinker_register(struct snpsafe_sieve *s);
void snpsafe_sieve_shrinker_unregister(void);
unsigned long snpsafe_sieve_shrink_for_test(unsigned long nr_to_scan);

/* One entry point over the three strategies; the page is freed with __free_page(). */
struct page *snpsafe_alloc_page(enum snpsafe_strategy s,
				struct snpsafe_sieve *sieve, int node, gfp_t gfp);

#endif /* SNPSAFE_ALLOC_H */
