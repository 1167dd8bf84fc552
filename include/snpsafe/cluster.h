/* SPDX-License-Identifier: MIT */
/*
 * snpsafe/cluster.h - how VMCB pages cluster by 2MB region, and the
 * three-column comparison of issue 25 item 4: measured (watch boots), model
 * (simulate hosts) and a uniformly random page (docs/WATCH.md, "Pooling
 * boots: three columns").
 *
 * The unit is the distinct page: a list of pfns is counted once per pfn.
 * A page the allocator hands out again (a vmcb01 freed at a VM's
 * destruction and taken by the next vCPU, as a per-CPU list does) is one
 * page in one region, not a crowd; and the uniform page's occupancy
 * statistics are those of distinct pages drawn without replacement.
 */
#ifndef SNPSAFE_CLUSTER_H
#define SNPSAFE_CLUSTER_H

#include <snpsafe/common.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SIM_CLUSTER_TOP 5    /* "the five busiest regions" */

/* One list's counts, or the sum of several lists (boots, hosts): every field adds. */
struct sim_cluster {
	uint64_t units;           /* lists summed: 1 for one list */
	uint64_t pages;           /* distinct pages */
	uint64_t regions;         /* 2MB regions holding at least one */
	uint64_t max_region;      /* pages in the busiest region */
	uint64_t top5;            /* pages in the SIM_CLUSTER_TOP busiest regions */
	uint64_t aligned;         /* 2MB-aligned pages */
	uint64_t aligned_shared;  /* of them, whose region holds another page of the list */
	uint64_t allocations;     /* the list's entries, repeats counted: allocations, not pages */
};

/*
 * sim_cluster_of() - the clustering counts of nr pfns (any order, repeats
 * counted once, but counted in allocations).  A pure function: pfns is not
 * changed.  0, or SNP_ENOMEM.
 */
SNP_MUST_CHECK int sim_cluster_of(const snp_pfn_t *pfns, size_t nr, struct sim_cluster *out);
void sim_cluster_add(struct sim_cluster *sum, const struct sim_cluster *c);

/*
 * The five statistics, each of a sum over units.  The last is not of
 * regions but of reuse: how many allocations a distinct page served.  An
 * allocator that hands a freed page out again (a per-CPU list, LIFO) reuses
 * its pages; a uniformly random page almost never repeats, so it tells an
 * allocator from a coin, and one allocator's dynamics from another's.
 */
enum sim_cluster_stat {
	SIM_CLUSTER_REGIONS,        /* regions used, mean per unit */
	SIM_CLUSTER_MAX,            /* largest count in one region, mean per unit */
	SIM_CLUSTER_TOP5_SHARE,     /* pages in each unit's five busiest regions / pages */
	SIM_CLUSTER_SHARED_SHARE,   /* aligned pages whose region holds another / aligned */
	SIM_CLUSTER_ALLOCS_PER_PAGE,   /* allocations / distinct pages */
	SIM_CLUSTER_NR_STATS,
};
/* "regions", "max_region", "top5_share", "aligned_shared_share", "allocs_per_page". */
const char *sim_cluster_stat_name(enum sim_cluster_stat s);
/* The statistic of a sum; NAN over no unit (no aligned page for SHARED_SHARE). */
double sim_cluster_value(const struct sim_cluster *sum, enum sim_cluster_stat s);

/*
 * The uniform page: units lists of pages[u] distinct pages each, drawn
 * uniformly from ram_pages pages (whole 2MB regions of them); for
 * ALLOCS_PER_PAGE, allocs[u] allocations each of a page drawn uniformly
 * with replacement (allocs may be NULL: that statistic is then NAN).
 *  - mean: the expectation of each statistic: analytic for REGIONS
 *    (hypergeometric emptiness of a region) and SHARED_SHARE (an aligned
 *    page's region holding one of the list's other pages, weighted by each
 *    unit's pages); Monte Carlo over reps draws (seeded) for MAX and
 *    TOP5_SHARE, whose standard error is sd / sqrt(reps);
 *  - sd: the standard deviation of the pooled statistic over the reps;
 *  - p: against observed (may be NULL), the two-sided Monte Carlo p-value
 *    2 min(P(X >= obs), P(X <= obs)) with the +1 correction; NAN where obs is.
 * ALLOCS_PER_PAGE is analytic: the distinct count D of a draws from R pages
 * has E D = R (1 - q1), q1 = (1 - 1/R)^a, and Var D = R q1 + R (R - 1) q2 -
 * R^2 q1^2, q2 = (1 - 2/R)^a; the pooled statistic sum a / sum D has mean
 * sum a / sum E D and, by the delta method, sd (sum a / (sum E D)^2)
 * sqrt(sum Var D); p is the normal approximation's two-sided one.
 * 0, SNP_EINVAL (no unit, a unit larger than ram_pages, reps 0), SNP_ENOMEM.
 */
struct sim_cluster_null {
	double mean[SIM_CLUSTER_NR_STATS];
	double sd[SIM_CLUSTER_NR_STATS];
	double p[SIM_CLUSTER_NR_STATS];
	unsigned int reps;
	uint64_t seed;
};
SNP_MUST_CHECK int sim_cluster_uniform(const uint64_t *pages, const uint64_t *allocs, size_t units,
				       uint64_t ram_pages, unsigned int reps, uint64_t seed,
				       const double *observed, struct sim_cluster_null *out);

/* ---- tests of one pair of columns ------------------------------------------------ */

/* Standard normal distribution function. */
double sim_norm_cdf(double z);

/*
 * A rate k/n pooled over units (boots, hosts), each unit a cluster of its
 * draws: the design effect from the units' spread (sim_design_effect's
 * formula: cluster-robust variance over the binomial one, at least 1; 1
 * with fewer than two units), the naive Wilson 95% interval over n and the
 * cluster-robust one over n / deff draws.
 */
struct sim_rate {
	uint64_t k, n;
	unsigned int units;
	double p, deff;
	double lo, hi;             /* cluster-robust */
	double naive_lo, naive_hi;
};
void sim_rate_pool(const uint64_t *k, const uint64_t *n, size_t units, struct sim_rate *out);

/*
 * Exact binomial test of k_eff = k / deff of n_eff = n / deff (rounded)
 * against p0, two-sided by doubling the smaller tail; power: the chance the
 * same test rejects at level 0.05 when the rate is 3 p0 (capped at 1).
 */
void sim_binom_test(const struct sim_rate *r, double p0, double *p, double *power);

/*
 * Two rates: Fisher's exact test on the effective counts (k / deff, n /
 * deff, rounded), two-sided by doubling the smaller tail; power: the
 * normal approximation's chance to reject at 0.05 when b's rate is three
 * times a's (a's rate, or fallback when a's is 0; capped at 1), at the
 * effective sizes.
 */
void sim_rates_test(const struct sim_rate *a, const struct sim_rate *b, double fallback,
		    double *p, double *power);

/*
 * The range a campaign's pooled rate would fall in if the model were the
 * truth: reps campaigns of nb boots of sizes bn[], each boot's rate that of
 * a model host drawn at random (host i: hk[i] of hn[i], hn[i] > 0), the
 * pooled rate sum(rate_i * bn_i) / sum(bn_i); lo, hi its 2.5th and 97.5th
 * percentiles.  Unlike the model's own interval (of its mean over all its
 * hosts) it carries the scatter of a campaign this size, boot to boot and
 * within a boot, so it is what the measured point is held against.
 * SNP_EINVAL (no host, no boot, a host of no allocation, reps < 40),
 * SNP_ENOMEM.
 */
SNP_MUST_CHECK int sim_rate_campaign95(const uint64_t *hk, const uint64_t *hn, size_t nh,
				       const uint64_t *bn, size_t nb, unsigned int reps, uint64_t seed,
				       double *lo, double *hi);

/*
 * Two groups of units (a: na, b: nb), one clustering statistic: a
 * permutation test of the difference of the pooled statistics, over reps
 * relabellings (seeded); p two-sided with the +1 correction; sd the
 * relabelled differences' standard deviation.  SNP_EINVAL, SNP_ENOMEM.
 */
SNP_MUST_CHECK int sim_cluster_perm_test(const struct sim_cluster *a, size_t na,
					 const struct sim_cluster *b, size_t nb,
					 enum sim_cluster_stat s, unsigned int reps, uint64_t seed,
					 double *p, double *sd);

/*
 * Power at level 0.05 (normal approximation) to tell ref from a value three
 * times it (REGIONS: a third of it; shares capped at 1) when the statistic's
 * standard deviation is sd.  0 when sd or ref is not a positive number.
 */
double sim_cluster_power(enum sim_cluster_stat s, double ref, double sd);

/* The verdict of one pair: "disagree" (p < 0.05), "agree" (power >= 0.8), else (no p too) "cannot tell". */
const char *sim_verdict(double p, double power);

#endif
