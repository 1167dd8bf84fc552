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
