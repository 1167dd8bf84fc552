// SPDX-License-Identifier: MIT
/*
 * test_cluster.c - the clustering of pages by 2MB region on hand-made pfn
 * lists (src/sim/cluster.c), the uniform page's statistics against their
 * closed forms, the tests' p-values against values worked by hand, the
 * verdict words, and each simulate host's vmcb01 pages collected as KVM
 * allocates them (issue 25 item 4).
 */
#include "ktap.h"

#include <snpsafe/cluster.h>
#include <snpsafe/sim.h>

#include <math.h>
#include <string.h>

#define R(n) ((snp_pfn_t)(n) * SNP_PTRS_PER_PMD)   /* the base pfn of region n */

#define KEXPECT_NEAR(got, want, tol) do { \
	double g_ = (got), w_ = (want); \
	if (!(fabs(g_ - w_) <= (tol))) \
		ktap_fail(__FILE__, __LINE__, "got %.9g, want %.9g (+-%g)", g_, w_, (double)(tol)); \
} while (0)

/*
 * Seven regions: region 1 holds its aligned base and 3 more pages (one of
 * them given twice: counted once), region 4 only its aligned base, regions
 * 2, 3, 5, 6, 7 one or two unaligned pages each.
 */
static void test_hand_made_list(void)
{
	static const snp_pfn_t pfns[] = {
		R(1), R(1) + 7, R(7) + 3, R(1) + 9, R(4), R(2) + 1, R(1) + 9, R(3) + 5, R(3) + 6,
		R(5) + 511, R(6) + 2, R(1) + 511,
	};
	snp_pfn_t copy[KTAP_ARRAY_SIZE(pfns)];
	struct sim_cluster c;

	memcpy(copy, pfns, sizeof(pfns));
	KASSERT_EQ(sim_cluster_of(pfns, KTAP_ARRAY_SIZE(pfns), &c), 0);
	KEXPECT(!memcmp(copy, pfns, sizeof(pfns)));      /* pure: the list is not touched */
	KEXPECT_EQ(c.units, 1);
	KEXPECT_EQ(c.pages, 11);                         /* R(1) + 9 once */
	KEXPECT_EQ(c.regions, 7);
	KEXPECT_EQ(c.max_region, 4);                     /* region 1: base, +7, +9, +511 */
	KEXPECT_EQ(c.top5, 4 + 2 + 1 + 1 + 1);           /* regions 1, 3, then three of one */
	KEXPECT_EQ(c.aligned, 2);                        /* R(1), R(4) */
	KEXPECT_EQ(c.aligned_shared, 1);                 /* R(1) has company, R(4) none */
	KEXPECT_NEAR(sim_cluster_value(&c, SIM_CLUSTER_REGIONS), 7, 0);
	KEXPECT_NEAR(sim_cluster_value(&c, SIM_CLUSTER_MAX), 4, 0);
	KEXPECT_NEAR(sim_cluster_value(&c, SIM_CLUSTER_TOP5_SHARE), 9.0 / 11, 1e-15);
	KEXPECT_NEAR(sim_cluster_value(&c, SIM_CLUSTER_SHARED_SHARE), 0.5, 0);
	KEXPECT_EQ(c.allocations, 12);                   /* R(1) + 9 counted twice here */
	KEXPECT_NEAR(sim_cluster_value(&c, SIM_CLUSTER_ALLOCS_PER_PAGE), 12.0 / 11, 1e-15);
}

/* An empty list, one page, and two lists summed: means per unit, shares of the sums. */
static void test_empty_and_sums(void)
{
	static const snp_pfn_t a[] = { R(9) + 1 }, b[] = { R(2), R(2) + 1, R(3) };
	struct sim_cluster c, d, sum = { 0 };

	KASSERT_EQ(sim_cluster_of(NULL, 0, &c), 0);
	KEXPECT(c.units == 1 && c.pages == 0 && c.regions == 0 && c.top5 == 0);
	KEXPECT(isnan(sim_cluster_value(&c, SIM_CLUSTER_TOP5_SHARE)));
	KEXPECT(isnan(sim_cluster_value(&c, SIM_CLUSTER_SHARED_SHARE)));
	KASSERT_EQ(sim_cluster_of(a, 1, &c), 0);
	KASSERT_EQ(sim_cluster_of(b, 3, &d), 0);
	KEXPECT(d.regions == 2 && d.max_region == 2 && d.aligned == 2 && d.aligned_shared == 1);
	sim_cluster_add(&sum, &c);
	sim_cluster_add(&sum, &d);
	KEXPECT_EQ(sum.units, 2);
	KEXPECT_NEAR(sim_cluster_value(&sum, SIM_CLUSTER_REGIONS), 1.5, 0);
	KEXPECT_NEAR(sim_cluster_value(&sum, SIM_CLUSTER_MAX), 1.5, 0);
	KEXPECT_NEAR(sim_cluster_value(&sum, SIM_CLUSTER_TOP5_SHARE), 1, 0);
	KEXPECT_NEAR(sim_cluster_value(&sum, SIM_CLUSTER_SHARED_SHARE), 0.5, 0);
	KEXPECT_EQ(sum.allocations, 4);
	KEXPECT_NEAR(sim_cluster_value(&sum, SIM_CLUSTER_ALLOCS_PER_PAGE), 1, 0);
	KEXPECT(isnan(sim_cluster_value(&(struct sim_cluster){ 0 }, SIM_CLUSTER_REGIONS)));
	KEXPECT(isnan(sim_cluster_value(&(struct sim_cluster){ 0 }, SIM_CLUSTER_ALLOCS_PER_PAGE)));
	KEXPECT(!strcmp(sim_cluster_stat_name(SIM_CLUSTER_ALLOCS_PER_PAGE), "allocs_per_page"));
}

/*
 * The uniform page over 4 regions (2048 pages), 2 pages a unit: both in one
 * region with chance 511/2047, so regions used is 2 - 511/2047 and an
 * aligned page has company with chance 511/2047; the largest count's Monte
 * Carlo mean is 1 + 511/2047 within its sampling error; a list seen
 * clustered in one region is far in the tail.
 */
static void test_uniform_closed_forms(void)
{
	const uint64_t pages[] = { 2, 2, 2 };
	const double q = 511.0 / 2047, obs[SIM_CLUSTER_NR_STATS] = { 1, 2, 1, NAN, NAN };
	struct sim_cluster_null u;

	KASSERT_EQ(sim_cluster_uniform(pages, NULL, 3, 2048, 4000, 7, obs, &u), 0);
	KEXPECT(isnan(u.mean[SIM_CLUSTER_ALLOCS_PER_PAGE]));   /* no allocation counts given */
	KEXPECT_NEAR(u.mean[SIM_CLUSTER_REGIONS], 2 - q, 1e-12);
	KEXPECT_NEAR(u.mean[SIM_CLUSTER_SHARED_SHARE], q, 1e-12);
	KEXPECT_NEAR(u.mean[SIM_CLUSTER_MAX], 1 + q, 4 * u.sd[SIM_CLUSTER_MAX] / sqrt(4000));
	KEXPECT_NEAR(u.mean[SIM_CLUSTER_TOP5_SHARE], 1, 0);
	/* three units all in one region each: (q)^3 ~ 1.6%, two-sided ~ 3% */
	KEXPECT(u.p[SIM_CLUSTER_REGIONS] < 0.06 && u.p[SIM_CLUSTER_REGIONS] > 0.01);
	KEXPECT(isnan(u.p[SIM_CLUSTER_SHARED_SHARE]));
	/* a draw of more than half of memory is no uniform page */
	KEXPECT_EQ(sim_cluster_uniform((const uint64_t[]){ 1025 }, NULL, 1, 2048, 10, 1, NULL, &u),
		   SNP_EINVAL);
	KEXPECT_EQ(sim_cluster_uniform(pages, NULL, 0, 2048, 10, 1, NULL, &u), SNP_EINVAL);
}

/*
 * Allocations a page for the uniform page, each allocation a page drawn
 * afresh: the analytic mean and sd against the same draws made here
 * (20,000 campaigns of two units, 300 and 900 allocations from 2,048
 * pages), within their sampling error; two allocations from 512 pages
 * give E D = 2 - 1/512 exactly; an observed reuse far above is rejected,
 * the mean itself is not.
 */
static void test_uniform_allocs_per_page(void)
{
	const uint64_t pages[] = { 10, 10 }, allocs[] = { 300, 900 };
	const unsigned int reps = 20000;
	double obs[SIM_CLUSTER_NR_STATS] = { NAN, NAN, NAN, NAN, 2.0 };
	double sum = 0, sq = 0;
	static uint8_t seen[2048];
	uint64_t rng = 99;
	struct sim_cluster_null u;

	KASSERT_EQ(sim_cluster_uniform(pages, allocs, 2, 2048, 10, 3, obs, &u), 0);
	for (unsigned int r = 0; r < reps; r++) {
		uint64_t d = 0;

		for (int k = 0; k < 2; k++) {
			memset(seen, 0, sizeof(seen));
			for (uint64_t i = 0; i < allocs[k]; i++) {
				uint64_t pfn = mm_rng_below(&rng, 2048);

				d += !seen[pfn];
				seen[pfn] = 1;
			}
		}
		sum += 1200.0 / (double)d;
		sq += (1200.0 / (double)d) * (1200.0 / (double)d);
	}
	ktap_log("allocs a page, uniform: analytic %.5f sd %.5f, drawn %.5f sd %.5f",
		  u.mean[SIM_CLUSTER_ALLOCS_PER_PAGE], u.sd[SIM_CLUSTER_ALLOCS_PER_PAGE], sum / reps,
		  sqrt(sq / reps - (sum / reps) * (sum / reps)));
	KEXPECT_NEAR(u.mean[SIM_CLUSTER_ALLOCS_PER_PAGE], sum / reps,
		     4 * u.sd[SIM_CLUSTER_ALLOCS_PER_PAGE] / sqrt(reps));
	KEXPECT_NEAR(u.sd[SIM_CLUSTER_ALLOCS_PER_PAGE], sqrt(sq / reps - (sum / reps) * (sum / reps)),
		     0.05 * u.sd[SIM_CLUSTER_ALLOCS_PER_PAGE]);
	KEXPECT(u.p[SIM_CLUSTER_ALLOCS_PER_PAGE] < 1e-6);
	obs[SIM_CLUSTER_ALLOCS_PER_PAGE] = u.mean[SIM_CLUSTER_ALLOCS_PER_PAGE];
	KASSERT_EQ(sim_cluster_uniform(pages, allocs, 2, 2048, 10, 3, obs, &u), 0);
	KEXPECT_NEAR(u.p[SIM_CLUSTER_ALLOCS_PER_PAGE], 1, 1e-12);
	/* two draws from two pages: distinct 1 or 2, mean 3/2 */
	KASSERT_EQ(sim_cluster_uniform((const uint64_t[]){ 1 }, (const uint64_t[]){ 2 }, 1, 512, 10, 3,
				       NULL, &u), 0);
	ktap_log("two of 512: %.12f", u.mean[SIM_CLUSTER_ALLOCS_PER_PAGE]);
	KEXPECT_NEAR(u.mean[SIM_CLUSTER_ALLOCS_PER_PAGE], 2 / (2 - 1.0 / 512), 1e-12);
	KEXPECT(isnan(u.p[SIM_CLUSTER_ALLOCS_PER_PAGE]));   /* nothing observed */
}

/*
 * The binomial test: 0 of 512 against 1/512 is P(X = 0) = (511/512)^512,
 * doubled; 10 of 512 is far in the upper tail.  Power grows with n.
 */
static void test_binomial(void)
{
	const uint64_t k0[] = { 0 }, n[] = { 512 }, k10[] = { 10 };
	const uint64_t kb[] = { 4, 4, 4, 4, 4 }, nb[] = { 2048, 2048, 2048, 2048, 2048 };
	struct sim_rate r;
	double p, power, power_small;

	sim_rate_pool(k0, n, 1, &r);
	sim_binom_test(&r, 1.0 / 512, &p, &power_small);
	KEXPECT_NEAR(p, 2 * pow(511.0 / 512, 512), 1e-9);
	sim_rate_pool(k10, n, 1, &r);
	sim_binom_test(&r, 1.0 / 512, &p, &power);
	KEXPECT(p < 1e-6);
	sim_rate_pool(kb, nb, 5, &r);
	KEXPECT_EQ(r.k, 20);
	KEXPECT_EQ(r.n, 10240);
	KEXPECT_NEAR(r.deff, 1, 0);                 /* identical boots: no spread */
	sim_binom_test(&r, 1.0 / 512, &p, &power);
	KEXPECT(p > 0.5);
	KEXPECT(power > 0.8 && power_small < 0.5);
	KEXPECT(!strcmp(sim_verdict(p, power), "agree"));
	KEXPECT(!strcmp(sim_verdict(p, power_small), "cannot tell"));
	KEXPECT(!strcmp(sim_verdict(0.01, power_small), "disagree"));
	KEXPECT(!strcmp(sim_verdict(NAN, 1), "cannot tell"));   /* no test: no verdict */
}

/*
 * Boots that differ: the design effect is above 1 and the cluster-robust
 * interval wider than the naive one; Fisher's test on a table worked by
 * hand: 0 of 4 against 4 of 4, P = 2 / C(8,4) one tail, doubled.
 */
static void test_design_effect_and_fisher(void)
{
	const uint64_t k[] = { 0, 0, 0, 0, 40 }, n[] = { 2000, 2000, 2000, 2000, 2000 };
	const uint64_t a_k[] = { 0 }, a_n[] = { 4 }, b_k[] = { 4 }, b_n[] = { 4 };
	struct sim_rate r, a, b;
	double p, power;

	sim_rate_pool(k, n, 5, &r);
	KEXPECT(r.deff > 2);
	KEXPECT(r.hi - r.lo > r.naive_hi - r.naive_lo);
	sim_rate_pool(a_k, a_n, 1, &a);
	sim_rate_pool(b_k, b_n, 1, &b);
	sim_rates_test(&a, &b, 0.5, &p, &power);
	KEXPECT_NEAR(p, 2.0 / 70, 1e-12);
}

/* The permutation test tells apart two groups of clustered and spread units. */
static void test_permutation(void)
{
	struct sim_cluster a[6], b[6];

	for (int i = 0; i < 6; i++) {
		a[i] = (struct sim_cluster){ .units = 1, .pages = 100, .regions = 3 + i % 2, .max_region = 60 };
		b[i] = (struct sim_cluster){ .units = 1, .pages = 100, .regions = 90 + i, .max_region = 2 };
	}
	double p, sd;

	KASSERT_EQ(sim_cluster_perm_test(a, 6, b, 6, SIM_CLUSTER_REGIONS, 2000, 3, &p, &sd), 0);
	KEXPECT(p < 0.01 && sd > 0);
	KASSERT_EQ(sim_cluster_perm_test(a, 6, a, 6, SIM_CLUSTER_REGIONS, 2000, 3, &p, &sd), 0);
	KEXPECT(p > 0.5);
	/* a third of 90 is 60 away: seen at sd 5, not at sd 100 */
	KEXPECT(sim_cluster_power(SIM_CLUSTER_REGIONS, 90, 5) > 0.99);
	KEXPECT(sim_cluster_power(SIM_CLUSTER_REGIONS, 90, 100) < 0.2);
	KEXPECT_EQ(sim_cluster_power(SIM_CLUSTER_REGIONS, 90, 0), 0);
	KEXPECT_EQ(sim_cluster_perm_test(a, 0, b, 6, SIM_CLUSTER_REGIONS, 10, 3, &p, &sd), SNP_EINVAL);
}

/*
 * The model's range for a campaign: hosts of one rate give that rate
 * exactly; one boot over hosts of 0% and 10% gives 0% and 10% as its
 * bounds; 400 boots pool to 5% with the spread of their mean (sd
 * 0.05 / sqrt(400) = 0.0025, so about 4.5% to 5.5%); bad input refused.
 */
static void test_campaign_range(void)
{
	const uint64_t hk[] = { 2, 4 }, hn[] = { 1000, 2000 };
	const uint64_t two_k[] = { 0, 10 }, two_n[] = { 100, 100 }, one[] = { 50 }, zero[] = { 0, 100 };
	uint64_t many[400];
	double lo, hi, lo2, hi2;

	KASSERT_EQ(sim_rate_campaign95(hk, hn, 2, one, 1, 1000, 7, &lo, &hi), 0);
	KEXPECT_NEAR(lo, 0.002, 1e-12);
	KEXPECT_NEAR(hi, 0.002, 1e-12);
	KASSERT_EQ(sim_rate_campaign95(two_k, two_n, 2, one, 1, 1000, 7, &lo, &hi), 0);
	KEXPECT_NEAR(lo, 0, 1e-12);
	KEXPECT_NEAR(hi, 0.1, 1e-12);
	for (int i = 0; i < 400; i++)
		many[i] = 50;
	KASSERT_EQ(sim_rate_campaign95(two_k, two_n, 2, many, 400, 2000, 7, &lo, &hi), 0);
	ktap_log("400 boots over hosts of 0%% and 10%%: [%.4f, %.4f]", lo, hi);
	KEXPECT(lo > 0.044 && lo < 0.047);
	KEXPECT(hi > 0.053 && hi < 0.056);
	KASSERT_EQ(sim_rate_campaign95(two_k, two_n, 2, many, 400, 2000, 7, &lo2, &hi2), 0);
	KEXPECT(lo2 == lo && hi2 == hi);
	KEXPECT_EQ(sim_rate_campaign95(two_k, zero, 2, one, 1, 1000, 7, &lo, &hi), SNP_EINVAL);
	KEXPECT(isnan(lo) && isnan(hi));
	KEXPECT_EQ(sim_rate_campaign95(many, one, 1, one, 1, 1000, 7, &lo, &hi), 0);   /* 50 of 50 */
	KEXPECT_EQ(sim_rate_campaign95(two_n, one, 1, one, 1, 1000, 7, &lo, &hi), SNP_EINVAL); /* 100 of 50 */
	KEXPECT_EQ(sim_rate_campaign95(two_k, two_n, 2, one, 0, 1000, 7, &lo, &hi), SNP_EINVAL);
	KEXPECT_EQ(sim_rate_campaign95(two_k, two_n, 0, one, 1, 1000, 7, &lo, &hi), SNP_EINVAL);
	KEXPECT_EQ(sim_rate_campaign95(two_k, two_n, 2, one, 1, 39, 7, &lo, &hi), SNP_EINVAL);
}

/*
 * simulate's model side: every host's vmcb01 pages are collected as KVM
 * allocates them, so the hosts' distinct pages equal the vmcb01
 * allocations (no VM is destroyed here) and their sums match the
 * clustering of each trial.
 */
static void test_model_hosts(void)
{
	struct sim_mc_trial trials[4];
	struct sim_mc_config cfg;
	struct sim_mc_result res;
	struct sim_cluster sum = { 0 };
	unsigned int nr = 0;

	sim_mc_config_init(&cfg);
	cfg.mem_bytes = 256 * SNP_MiB;
	cfg.cpus = 2;
	cfg.vms = 3;
	cfg.vcpus = 2;
	cfg.ticks = 8;
	cfg.trials = 4;
	cfg.age_share = 1;
	cfg.strategies = 1u << SNP_ALLOC_NAIVE;
	memset(cfg.mix, 0, sizeof(cfg.mix));
	cfg.mix[SIM_VM_SVM] = 1;
	cfg.trials_out = trials;
	KASSERT_EQ(sim_mc_run(&cfg, &res, &nr), 0);
	for (int t = 0; t < 4; t++) {
		KEXPECT_EQ(trials[t].vmcb01_cluster.units, 1);
		KEXPECT_EQ(trials[t].vmcb01_cluster.pages, trials[t].sensitive_allocated[KVM_PAGE_VMCB01]);
		KEXPECT_EQ(trials[t].vmcb01_cluster.aligned, trials[t].sensitive_aligned[KVM_PAGE_VMCB01]);
		KEXPECT(trials[t].vmcb01_cluster.regions >= 1);
		sim_cluster_add(&sum, &trials[t].vmcb01_cluster);
	}
	KEXPECT_EQ(sum.pages, 24);
	KEXPECT(!memcmp(&sum, &res.vmcb01_cluster, sizeof(sum)));
}

/* The trials of a watch-shaped churned run (1 GiB, 2 CPUs, 8 x 2 vCPUs) on layout @l. */
static void run_watch_shaped(enum snp_ram_layout l, struct sim_mc_trial *trials, unsigned int n)
{
	struct sim_mc_config cfg;
	struct sim_mc_result res;
	unsigned int nr = 0;

	sim_mc_config_init(&cfg);
	cfg.mem_bytes = 1024 * SNP_MiB;
	cfg.cpus = 2;
	cfg.vms = 8;
	cfg.vcpus = 2;
	cfg.ticks = 64;
	cfg.lifetime = 1;
	cfg.age_pct = 5;
	cfg.trials = n;
	cfg.age_share = 1;
	cfg.ram_layout = l;
	cfg.strategies = 1u << SNP_ALLOC_NAIVE;
	memset(cfg.mix, 0, sizeof(cfg.mix));
	cfg.mix[SIM_VM_SVM] = 1;
	cfg.trials_out = trials;
	/*
	 * The scenario as the unit fix found it, before the model's later rules:
	 * the initrd's 4K top region takes vmcb01 pages when the kernel's own
	 * memory does not; THP never (khugepaged's min_free_kbytes).
	 */
	cfg.no_boot_memory = true;
	cfg.no_thp_min_free = true;
	KASSERT_EQ(sim_mc_run(&cfg, &res, &nr), 0);
}

/*
 * A model host's exposed vmcb01 allocations are counted as watch measures
 * them: each allocation, aligned, whose 2MB region a 2M/1G leaf maps when
 * it is made.  On the flat layout nothing splits an svm host's direct map,
 * so every aligned one counts; on qemu-pc the 4K-mapped top region (where
 * the model's initrd pages go) holds aligned vmcb01 pages that do not.
 */
static void test_model_exposed_allocations(void)
{
	struct sim_mc_trial flat[2], pc[6];
	uint64_t al = 0, huge = 0, flat_al = 0, flat_live = 0;

	run_watch_shaped(SNP_RAM_FLAT, flat, 2);
	for (int t = 0; t < 2; t++) {
		KEXPECT_EQ(flat[t].aligned_huge[KVM_PAGE_VMCB01], flat[t].sensitive_aligned[KVM_PAGE_VMCB01]);
		flat_al += flat[t].sensitive_aligned[KVM_PAGE_VMCB01];
		flat_live += flat[t].exposed_aligned[KVM_PAGE_VMCB01];
	}
	KEXPECT(flat_al > 0);
	/* more than the census's exposed pages, live at the end: the old unit */
	KEXPECT(flat_al > flat_live);
	run_watch_shaped(SNP_RAM_QEMU_PC, pc, 6);
	for (int t = 0; t < 6; t++) {
		KEXPECT(pc[t].aligned_huge[KVM_PAGE_VMCB01] <= pc[t].sensitive_aligned[KVM_PAGE_VMCB01]);
		al += pc[t].sensitive_aligned[KVM_PAGE_VMCB01];
		huge += pc[t].aligned_huge[KVM_PAGE_VMCB01];
	}
	ktap_log("qemu-pc: %llu aligned vmcb01 allocations, %llu of them under a hugepage leaf",
		  (unsigned long long)al, (unsigned long long)huge);
	KEXPECT(al > huge);
}

static const struct ktap_case cases[] = {
	KTAP_CASE(test_hand_made_list),
	KTAP_CASE(test_empty_and_sums),
	KTAP_CASE(test_uniform_closed_forms),
	KTAP_CASE(test_uniform_allocs_per_page),
	KTAP_CASE(test_binomial),
	KTAP_CASE(test_design_effect_and_fisher),
	KTAP_CASE(test_permutation),
	KTAP_CASE(test_campaign_range),
	KTAP_CASE(test_model_hosts),
	KTAP_CASE(test_model_exposed_allocations),
};

KTAP_MAIN("cluster", cases)
