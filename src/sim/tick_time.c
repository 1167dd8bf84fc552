// SPDX-License-Identifier: MIT
/*
 * tick_time.c - the tick in real time, and the time to a host's first
 * spurious #PF (docs/MODEL.md "The tick in real time").  Nothing in Linux:
 * a calibration of the model's workload against watch's measured runs.
 *
 * The model's tick has no length of its own: its kernel work makes some
 * writes into VMRUN regions (2MB regions holding an in-use page), and a
 * watched real host makes such stores at a measured rate per second.  A
 * tick is defined as the time the real host takes to make as many through
 * a hugepage leaf (the only ones the erratum can fault), so
 * tick seconds = model writes per tick / measured stores per second.
 */
#include <snpsafe/sim.h>

#include <math.h>

/* P(X <= k) for X ~ Poisson(mu), summed in log space so a large k cannot overflow. */
static double poisson_cdf(uint64_t k, double mu)
{
	double term, sum;

	if (mu <= 0)
		return 1;
	term = -mu;           /* log P(X = 0) */
	sum = exp(term);
	for (uint64_t i = 1; i <= k; i++) {
		term += log(mu) - log((double)i);
		sum += exp(term);
	}
	return sum < 1 ? sum : 1;
}

/* The mu in (0, hi] with poisson_cdf(k, mu) = p, by bisection (the CDF falls as mu grows). */
static double poisson_solve(uint64_t k, double p)
{
	double lo = 0, hi = 2.0 * (double)k + 10;

	while (poisson_cdf(k, hi) > p)
		hi *= 2;
	for (int i = 0; i < 100; i++) {
		double mid = (lo + hi) / 2;

		if (poisson_cdf(k, mid) > p)
			lo = mid;
		else
			hi = mid;
	}
	return (lo + hi) / 2;
}

/*
 * The p quantile of chi-square with nu degrees of freedom, Wilson-Hilferty:
 * within 1e-4 relative of the exact one from nu of a few hundred up.
 */
static double chi2_wh(double nu, double z)
{
	double a = 2.0 / (9.0 * nu), c = 1 - a + z * sqrt(a);

	return nu * c * c * c;
}

/* Above this count the sum of poisson_cdf() is slow, and Wilson-Hilferty exact enough. */
#define POISSON_EXACT_MAX 500

void sim_poisson_interval(uint64_t k, double *lo, double *hi)
{
	if (k > POISSON_EXACT_MAX) {
		/* lo = chi2(0.025; 2k) / 2, hi = chi2(0.975; 2k + 2) / 2 */
		*lo = chi2_wh(2.0 * (double)k, -1.959964) / 2;
		*hi = chi2_wh(2.0 * (double)k + 2, 1.959964) / 2;
		return;
	}
	/* Garwood: P(X >= k; lo) = 0.025 and P(X <= k; hi) = 0.025 */
	*lo = k ? poisson_solve(k - 1, 0.975) : 0;
	*hi = poisson_solve(k, 0.025);
}

/* a x [lo, point, hi] of b, each end with its end */
static struct sim_interval times(const struct sim_interval *a, const struct sim_interval *b)
{
	return (struct sim_interval){ a->lo * b->lo, a->point * b->point, a->hi * b->hi };
}

static void finish_one(struct sim_tick_time *t, double per_tick, unsigned int ticks_per_trial)
{
	const struct sim_interval trial = { ticks_per_trial, ticks_per_trial, ticks_per_trial };
	double mu_lo, mu_hi;

	t->huge_per_tick = t->ticks ? (double)t->region_huge_writes / (double)t->ticks : NAN;
	t->run_huge_per_tick = per_tick;
	/* a faster real host makes the tick shorter: the highest rate gives the low end */
	t->tick_s = (struct sim_interval){ per_tick / SIM_TICK_MEASURED_RATE_HI,
					   per_tick / SIM_TICK_MEASURED_RATE_MID,
					   per_tick / SIM_TICK_MEASURED_RATE_LO };
	t->run_s = times(&trial, &t->tick_s);
	sim_poisson_interval(t->hosts_faulted, &mu_lo, &mu_hi);
	if (!t->exposure_ticks) {
		t->ticks_to_fault = (struct sim_interval){ NAN, NAN, NAN };
	} else {
		const double e = (double)t->exposure_ticks;

		/* no host faulted: at least e / mu_hi ticks, no point, no upper end */
		t->ticks_to_fault = (struct sim_interval){
			e / mu_hi, t->hosts_faulted ? e / (double)t->hosts_faulted : NAN,
			t->hosts_faulted ? e / mu_lo : INFINITY };
	}
	t->seconds_to_fault = times(&t->ticks_to_fault, &t->tick_s);
}

void sim_tick_time_finish(struct sim_mc_result *r, unsigned int n, unsigned int ticks_per_trial)
{
	uint64_t writes = 0, ticks = 0;

	for (unsigned int i = 0; i < n; i++) {
		writes += r[i].time.region_huge_writes;
		ticks += r[i].time.ticks;
	}
	for (unsigned int i = 0; i < n; i++)
		finish_one(&r[i].time, ticks ? (double)writes / (double)ticks : NAN, ticks_per_trial);
}
