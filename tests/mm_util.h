/* SPDX-License-Identifier: MIT */
/*
 * mm_util.h - helpers shared by the tests/test_mm_*.c suites: build a host,
 * run the invariant checker, read a pfn.
 */
#ifndef SNPSAFE_TESTS_MM_UTIL_H
#define SNPSAFE_TESTS_MM_UTIL_H

#include "ktap.h"

#include <snpsafe/mm.h>
#include <snpsafe/snp_alloc.h>

#include <time.h>

/*
 * A host of @mib MiB on @nodes nodes and @cpus CPUs with the fixed pcp sizes
 * 63 / 378 the classic cases were worked out for (the kernel's per-zone
 * formulas are pinned in test_mm_linux.c); aborts the case on error.
 */
static inline struct mm_host *mmt_host(uint64_t mib, unsigned int nodes, unsigned int cpus)
{
	struct mm_config cfg;
	struct mm_host *mm = NULL;

	mm_config_init(&cfg, mib * SNP_MiB);
	cfg.nr_nodes = nodes;
	cfg.nr_cpus = cpus;
	cfg.pcp_batch = MM_PCP_BATCH_DEFAULT;
	KASSERT_EQ(mm_host_create(&cfg, &mm), 0);
	return mm;
}

/* Run mm_check(); a failure is reported with the checker's message. */
#define MMT_CHECK(mm) do { \
	char msg_[256]; \
	int e_ = mm_check((mm), msg_, sizeof(msg_)); \
	if (e_) ktap_fail(__FILE__, __LINE__, "mm_check: %d %s", e_, msg_); \
} while (0)

static inline snp_pfn_t mmt_pfn(const struct mm_host *mm, const struct page *p)
{
	return mm_page_to_pfn(mm, p);
}

/*
 * The same random workload on @a and @b (orders 0..2 on 4 CPUs, 64 slots,
 * the stream of @seed): how many allocations came out at different pfns.
 * Two exact copies of an allocator give 0.
 */
static inline uint64_t mmt_differ(struct mm_host *a, struct mm_host *b, unsigned int ops,
				  uint64_t seed)
{
	struct page *held_a[64] = { 0 }, *held_b[64] = { 0 };
	unsigned int order[64] = { 0 };
	uint64_t rng = seed, differ = 0;

	for (unsigned int i = 0; i < ops; i++) {
		uint64_t x = mm_rng_next(&rng);
		unsigned int slot = x % 64, cpu = (x >> 16) % 4;

		if (held_a[slot]) {
			KASSERT_EQ(mm_free_pages(a, cpu, held_a[slot], order[slot]), 0);
			KASSERT_EQ(mm_free_pages(b, cpu, held_b[slot], order[slot]), 0);
			held_a[slot] = held_b[slot] = NULL;
			continue;
		}
		order[slot] = (x >> 8) % 3;
		held_a[slot] = mm_alloc_pages(a, cpu, MM_GFP_KERNEL, order[slot]);
		held_b[slot] = mm_alloc_pages(b, cpu, MM_GFP_KERNEL, order[slot]);
		KASSERT(held_a[slot] && held_b[slot]);
		differ += mm_page_to_pfn(a, held_a[slot]) != mm_page_to_pfn(b, held_b[slot]);
	}
	return differ;
}

/* Free pages (buddy + pcp) of the whole host. */
static inline uint64_t mmt_free(const struct mm_host *mm)
{
	struct mm_counts c;

	KASSERT_EQ(mm_get_counts(mm, MM_NUMA_NO_NODE, &c), 0);
	return c.free + c.pcp;
}

/* Set the strategy (SNP on, default pool) of a host. */
static inline void mmt_strategy(struct mm_host *mm, enum snp_alloc_strategy s)
{
	struct snp_alloc_config cfg;

	KASSERT_EQ(snp_alloc_get_config(mm, &cfg), 0);
	cfg.strategy = s;
	cfg.snp_enabled = true;
	KASSERT_EQ(snp_alloc_configure(mm, &cfg), 0);
}

static inline double mmt_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

#endif
