// SPDX-License-Identifier: MIT
/*
 * test_tick_time.c - the tick in real time and the time to a host's first
 * spurious #PF (src/sim/tick_time.c, docs/MODEL.md "The tick in real
 * time"): the exact Poisson interval against published values, the tick
 * and the times from hand-made counts, and a simulate run's trials summed
 * into them.
 */
#include "ktap.h"

#include <snpsafe/sim.h>

#include <math.h>
#include <string.h>

#define KEXPECT_NEAR(got, want, tol) do { \
	double g_ = (got), w_ = (want); \
	if (!(fabs(g_ - w_) <= (tol))) \
		ktap_fail(__FILE__, __LINE__, "got %.9g, want %.9g (+-%g)", g_, w_, (double)(tol)); \
} while (0)

/* Garwood's 95% limits (e.g. Ulm 1990's table): 0 -> [0, 3.689], 1 -> [0.0253, 5.572], 10 -> [4.795, 18.39]. */
static void test_poisson_interval(void)
{
	double lo, hi;

	sim_poisson_interval(0, &lo, &hi);
	KEXPECT_EQ(lo, 0);
	KEXPECT_NEAR(hi, 3.6889, 1e-3);
	sim_poisson_interval(1, &lo, &hi);
	KEXPECT_NEAR(lo, 0.02532, 1e-4);
	KEXPECT_NEAR(hi, 5.5716, 1e-3);
	sim_poisson_interval(10, &lo, &hi);
	KEXPECT_NEAR(lo, 4.7954, 1e-3);
	KEXPECT_NEAR(hi, 18.3904, 1e-3);
	/* 2000 (Wilson-Hilferty), against the exact sums (1913.299, 2089.617, worked in Python) */
	sim_poisson_interval(2000, &lo, &hi);
	KEXPECT_NEAR(lo, 1913.299, 0.01);
	KEXPECT_NEAR(hi, 2089.617, 0.01);
	/* either side of the switch to Wilson-Hilferty, the two agree */
	{
		double lo2, hi2;

		sim_poisson_interval(500, &lo, &hi);
		sim_poisson_interval(501, &lo2, &hi2);
		KEXPECT(lo2 > lo && hi2 > hi && lo2 - lo < 1.2 && hi2 - hi < 1.2);
	}
}

/*
 * Two strategies' results: the tick pools both (one workload), each keeps
 * its own time to a fault.  naive: 3 of 4 hosts faulted after 10, 20 and
 * 30 ticks, the fourth ran all 100; sieve: none of 4 faulted in 400.
 */
static void test_tick_and_time(void)
{
	struct sim_mc_result r[2];
	struct sim_tick_time *n = &r[0].time, *s = &r[1].time;
	double lo, hi, w;

	memset(r, 0, sizeof(r));
	*n = (struct sim_tick_time){ .ticks = 400, .region_huge_writes = 300, .region_writes = 350,
				     .hosts_faulted = 3, .exposure_ticks = 10 + 20 + 30 + 100 };
	*s = (struct sim_tick_time){ .ticks = 400, .region_huge_writes = 500, .region_writes = 600,
				     .exposure_ticks = 400 };
	sim_tick_time_finish(r, 2, 100);
	w = 800.0 / 800.0;       /* pooled hugepage writes a tick */
	KEXPECT_NEAR(n->huge_per_tick, 0.75, 1e-12);
	KEXPECT_NEAR(s->huge_per_tick, 1.25, 1e-12);
	for (int i = 0; i < 2; i++) {
		const struct sim_tick_time *t = &r[i].time;

		KEXPECT_NEAR(t->run_huge_per_tick, w, 1e-12);
		KEXPECT_NEAR(t->tick_s.point, w / SIM_TICK_MEASURED_RATE_MID, 1e-15);
		KEXPECT_NEAR(t->tick_s.lo, w / SIM_TICK_MEASURED_RATE_HI, 1e-15);
		KEXPECT_NEAR(t->tick_s.hi, w / SIM_TICK_MEASURED_RATE_LO, 1e-15);
		KEXPECT_NEAR(t->run_s.point, 100 * t->tick_s.point, 1e-12);
	}
	sim_poisson_interval(3, &lo, &hi);
	KEXPECT_NEAR(n->ticks_to_fault.point, 160.0 / 3, 1e-9);
	KEXPECT_NEAR(n->ticks_to_fault.lo, 160 / hi, 1e-9);
	KEXPECT_NEAR(n->ticks_to_fault.hi, 160 / lo, 1e-9);
	KEXPECT_NEAR(n->seconds_to_fault.point, n->ticks_to_fault.point * n->tick_s.point, 1e-12);
	KEXPECT_NEAR(n->seconds_to_fault.lo, n->ticks_to_fault.lo * n->tick_s.lo, 1e-12);
	KEXPECT_NEAR(n->seconds_to_fault.hi, n->ticks_to_fault.hi * n->tick_s.hi, 1e-12);
	/* no fault: a lower end only */
	sim_poisson_interval(0, &lo, &hi);
	KEXPECT(isnan(s->ticks_to_fault.point) && isinf(s->ticks_to_fault.hi));
	KEXPECT_NEAR(s->ticks_to_fault.lo, 400 / hi, 1e-9);
	KEXPECT(isnan(s->seconds_to_fault.point) && isinf(s->seconds_to_fault.hi));
	/* no tick at all: nothing to say */
	memset(r, 0, sizeof(r));
	sim_tick_time_finish(r, 1, 0);
	KEXPECT(isnan(r[0].time.tick_s.point) && isnan(r[0].time.ticks_to_fault.point));
}

/*
 * A simulate run: the trials' ticks and writes into VMRUN regions are
 * summed into its time, the first faulting tick of each host bounds its
 * exposure, and every host that faulted in a tick counts.
 */
static void test_simulate_sums(void)
{
	struct sim_mc_config cfg;
	struct sim_mc_result r[SNP_ALLOC_NR_STRATEGIES];
	struct sim_mc_trial tr[8];
	unsigned int n = 0;
	uint64_t writes = 0, exposure = 0, faulted = 0;

	sim_mc_config_init(&cfg);
	cfg.mem_bytes = 256 * SNP_MiB;
	cfg.cpus = 2;
	cfg.vms = 4;
	cfg.vcpus = 2;
	cfg.ticks = 48;
	cfg.trials = 8;
	cfg.threads = 1;
	cfg.age_pct = 0;
	cfg.strategies = 1u << SNP_ALLOC_NAIVE;
	cfg.trials_out = tr;
	KASSERT_EQ(sim_mc_run(&cfg, r, &n), 0);
	KASSERT_EQ(n, 1);
	for (unsigned int t = 0; t < 8; t++) {
		KEXPECT_EQ(tr[t].ticks, 48);
		KEXPECT(tr[t].first_fault_tick <= 48);
		KEXPECT(tr[t].region_huge_writes <= tr[t].region_writes);
		/* a host faulted in a tick only if it faulted at all */
		KEXPECT(!tr[t].first_fault_tick || tr[t].spurious_faults);
		writes += tr[t].region_huge_writes;
		exposure += tr[t].first_fault_tick ? tr[t].first_fault_tick : 48;
		faulted += tr[t].first_fault_tick > 0;
	}
	ktap_log("8 hosts x 48 ticks: %llu hugepage writes into VMRUN regions, %llu hosts faulted, "
		 "exposure %llu ticks", (unsigned long long)writes, (unsigned long long)faulted,
		 (unsigned long long)exposure);
	KEXPECT(writes > 0);
	KEXPECT_EQ(r[0].time.ticks, 8 * 48);
	KEXPECT_EQ(r[0].time.region_huge_writes, writes);
	KEXPECT_EQ(r[0].time.hosts_faulted, faulted);
	KEXPECT_EQ(r[0].time.exposure_ticks, exposure);
	KEXPECT_NEAR(r[0].time.run_huge_per_tick, (double)writes / (8 * 48), 1e-12);
}

static const struct ktap_case cases[] = {
	KTAP_CASE(test_poisson_interval),
	KTAP_CASE(test_tick_and_time),
	KTAP_CASE(test_simulate_sums),
};

KTAP_MAIN("tick_time", cases)
