// SPDX-License-Identifier: MIT
/*
 * test_mm_property.c - one million mixed operations per strategy on an aged
 * two-node host: safe allocations and frees on random CPUs and nodes, other
 * users' allocations of orders 0..4, shrinker calls.  Properties: a safe
 * strategy never returns a 2MB-aligned page; mm_check() passes every 10k
 * operations and at the end; when everything is freed, the set-aside pages
 * given back and the pcp lists drained, the free page count is the one the
 * host started with.
 */
#include "ktap.h"
#include "mm_util.h"

#include <stdlib.h>

enum { OPS = 1000000, CHECK_EVERY = 10000, HELD_MAX = 4096 };

struct held {
	struct page *page;
	unsigned int order;
};

struct prop {
	struct mm_host *mm;
	unsigned int cpu;   /* the CPU the next operations run on */
	uint64_t rng;
	struct page *safe[HELD_MAX];
	size_t nsafe;
	struct held other[HELD_MAX];
	size_t nother;
	uint64_t aligned, safe_allocs, safe_failed;
};

static void op_safe_alloc(struct prop *s)
{
	int node = mm_rng_below(&s->rng, 3) == 0 ? MM_NUMA_NO_NODE
						 : (int)mm_rng_below(&s->rng, mm_nr_nodes(s->mm));
	struct page *p;

	if (s->nsafe == HELD_MAX)
		return;
	p = snp_safe_alloc_page_node(s->mm, s->cpu, node, MM_GFP_KERNEL_ACCOUNT);
	if (!p) {
		s->safe_failed++;
		return;
	}
	s->safe_allocs++;
	s->aligned += snp_pfn_2m_aligned(mmt_pfn(s->mm, p));
	KEXPECT_EQ(mm_page_write(s->mm, p), 0);
	s->safe[s->nsafe++] = p;
}

static void op_safe_free(struct prop *s)
{
	size_t i;

	if (!s->nsafe)
		return;
	i = (size_t)mm_rng_below(&s->rng, s->nsafe);
	KEXPECT_EQ(snp_safe_free_page(s->mm, s->cpu, s->safe[i]), 0);
	s->safe[i] = s->safe[--s->nsafe];
}

static void op_other_alloc(struct prop *s)
{
	unsigned int order = (unsigned int)mm_rng_below(&s->rng, 5);
	struct page *p;

	if (s->nother == HELD_MAX)
		return;
	p = mm_alloc_pages(s->mm, s->cpu, MM_GFP_KERNEL, order);
	if (p)
		s->other[s->nother++] = (struct held){ p, order };
}

static void op_other_free(struct prop *s)
{
	size_t i;

	if (!s->nother)
		return;
	i = (size_t)mm_rng_below(&s->rng, s->nother);
	KEXPECT_EQ(mm_free_pages(s->mm, s->cpu, s->other[i].page, s->other[i].order), 0);
	s->other[i] = s->other[--s->nother];
}

static void one_op(struct prop *s)
{
	uint64_t x = mm_rng_below(&s->rng, 1000);

	if (mm_rng_below(&s->rng, 8) == 0)
		s->cpu = (unsigned int)mm_rng_below(&s->rng, mm_nr_cpus(s->mm));
	if (x < 400)
		op_safe_alloc(s);
	else if (x < 780)
		op_safe_free(s);
	else if (x < 890)
		op_other_alloc(s);
	else if (x < 995)
		op_other_free(s);
	else
		KEXPECT(snp_safe_shrink(s->mm, s->cpu, mm_rng_below(&s->rng, 4)) >= 0);
}

static void run_strategy(enum snp_alloc_strategy strategy, uint64_t seed)
{
	struct prop *s = calloc(1, sizeof(*s));
	struct mm_age_config acfg;
	struct mm_aged *aged;
	struct snp_alloc_stats st;
	uint64_t start;

	KASSERT(s);
	s->mm = mmt_host(512, 2, 4);
	s->rng = seed;
	start = mmt_free(s->mm);
	mm_age_config_init(&acfg, seed);
	acfg.churn_ops = 100000;
	acfg.max_ops = 400000;
	KASSERT_EQ(mm_age(s->mm, &acfg, &aged), 0);
	mmt_strategy(s->mm, strategy);
	for (int i = 1; i <= OPS; i++) {
		one_op(s);
		if (i % CHECK_EVERY == 0)
			MMT_CHECK(s->mm);
	}
	KEXPECT_EQ(snp_alloc_get_stats(s->mm, &st), 0);
	ktap_log("%-8s %d ops: %llu safe allocs (%llu failed), %llu aligned, %llu order-1 broken, "
		 "set aside peak %llu, fallbacks %llu", snp_alloc_strategy_name(strategy), OPS,
		 (unsigned long long)s->safe_allocs, (unsigned long long)s->safe_failed,
		 (unsigned long long)s->aligned, (unsigned long long)st.order1_broken,
		 (unsigned long long)st.set_aside_peak, (unsigned long long)st.fallbacks);
	if (strategy != SNP_ALLOC_NAIVE) {
		KEXPECT_EQ(s->aligned, 0);
		KEXPECT_EQ(st.aligned_returned, 0);
	}
	KEXPECT(st.set_aside_peak <= SNP_SIEVE_POOL_DEFAULT * 2);
	while (s->nsafe)
		op_safe_free(s);
	while (s->nother)
		op_other_free(s);
	KEXPECT(snp_safe_release(s->mm, 0) >= 0);
	KEXPECT_EQ(mm_aged_release(s->mm, aged), 0);
	mm_drain_all_pages(s->mm);
	KEXPECT_EQ(mmt_free(s->mm), start);
	MMT_CHECK(s->mm);
	mm_host_destroy(s->mm);
	free(s);
}

static void test_property_naive(void)
{
	run_strategy(SNP_ALLOC_NAIVE, 1001);
}

static void test_property_upstream(void)
{
	run_strategy(SNP_ALLOC_UPSTREAM, 2002);
}

static void test_property_sieve(void)
{
	run_strategy(SNP_ALLOC_SIEVE, 3003);
}

static const struct ktap_case cases[] = {
	KTAP_CASE(test_property_naive),
	KTAP_CASE(test_property_upstream),
	KTAP_CASE(test_property_sieve),
};

KTAP_MAIN("mm_property", cases)
