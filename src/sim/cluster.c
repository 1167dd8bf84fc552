// SPDX-License-Identifier: MIT
/*
 * cluster.c - how pages cluster by 2MB region, what a uniformly random
 * page gives for the same statistics, and the tests that compare two
 * columns (snpsafe/cluster.h; docs/WATCH.md, "Pooling boots: three
 * columns").  Pure functions over counts and pfn lists: nothing here reads
 * a model host or a trace.  Our own code.
 */
#include <snpsafe/cluster.h>
#include <snpsafe/mm.h>
#include <snpsafe/sim.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

static int cmp_pfn(const void *a, const void *b)
{
	const snp_pfn_t x = *(const snp_pfn_t *)a, y = *(const snp_pfn_t *)b;

	return x < y ? -1 : x > y;
}

/* Sort v and drop repeats; the distinct count. */
static size_t sort_unique(snp_pfn_t *v, size_t nr)
{
	size_t n = 0;

	if (!nr)
		return 0;
	qsort(v, nr, sizeof(*v), cmp_pfn);
	for (size_t i = 1; i < nr; i++)
		if (v[i] != v[n])
			v[++n] = v[i];
	return n + 1;
}

/* Keep the SIM_CLUSTER_TOP largest counts, largest first. */
static void top_insert(uint64_t *top, uint64_t c)
{
	for (int i = 0; i < SIM_CLUSTER_TOP; i++) {
		if (c > top[i]) {
			uint64_t t = top[i];

			top[i] = c;
			c = t;
		}
	}
}

/*
 * The counts of a sorted list of distinct pfns: one pass, region by region.
 * Only a region's base page is 2MB-aligned, and sorted it comes first.
 */
static void cluster_sorted(const snp_pfn_t *v, size_t nr, struct sim_cluster *out)
{
	uint64_t top[SIM_CLUSTER_TOP] = { 0 };

	memset(out, 0, sizeof(*out));
	out->units = 1;
	out->pages = nr;
	for (size_t i = 0, j; i < nr; i = j) {
		const snp_pfn_t region = v[i] / SNP_PTRS_PER_PMD;
		uint64_t c;

		for (j = i + 1; j < nr && v[j] / SNP_PTRS_PER_PMD == region; j++)
			;
		c = j - i;
		out->regions++;
		out->max_region = c > out->max_region ? c : out->max_region;
		top_insert(top, c);
		if (snp_pfn_2m_aligned(v[i])) {
			out->aligned++;
			out->aligned_shared += c > 1;
		}
	}
	for (int i = 0; i < SIM_CLUSTER_TOP; i++)
		out->top5 += top[i];
}

int sim_cluster_of(const snp_pfn_t *pfns, size_t nr, struct sim_cluster *out)
{
	snp_pfn_t *v = nr ? malloc(nr * sizeof(*v)) : NULL;

	if (nr && !v)
		return SNP_ENOMEM;
	if (nr)
		memcpy(v, pfns, nr * sizeof(*v));
	cluster_sorted(v, sort_unique(v, nr), out);
	out->allocations = nr;
	free(v);
	return 0;
}

void sim_cluster_add(struct sim_cluster *sum, const struct sim_cluster *c)
{
	sum->units += c->units;
	sum->pages += c->pages;
	sum->regions += c->regions;
	sum->max_region += c->max_region;
	sum->top5 += c->top5;
	sum->aligned += c->aligned;
	sum->aligned_shared += c->aligned_shared;
	sum->allocations += c->allocations;
}

const char *sim_cluster_stat_name(enum sim_cluster_stat s)
{
	static const char *const name[SIM_CLUSTER_NR_STATS] = {
		"regions", "max_region", "top5_share", "aligned_shared_share", "allocs_per_page",
	};

	return s < SIM_CLUSTER_NR_STATS ? name[s] : "?";
}

static double ratio(uint64_t a, uint64_t b)
{
	return b ? (double)a / (double)b : NAN;
}

double sim_cluster_value(const struct sim_cluster *sum, enum sim_cluster_stat s)
{
	switch (s) {
	case SIM_CLUSTER_REGIONS: return ratio(sum->regions, sum->units);
	case SIM_CLUSTER_MAX: return ratio(sum->max_region, sum->units);
	case SIM_CLUSTER_TOP5_SHARE: return ratio(sum->top5, sum->pages);
	case SIM_CLUSTER_SHARED_SHARE: return ratio(sum->aligned_shared, sum->aligned);
	case SIM_CLUSTER_ALLOCS_PER_PAGE: return ratio(sum->allocations, sum->pages);
	case SIM_CLUSTER_NR_STATS: break;
	}
	return NAN;
}

/* ---- the uniform page -------------------------------------------------------------- */

/*
 * log P(none of draws pages, drawn without replacement from pool pages,
 * falls among the bad ones): prod (pool - bad - i) / (pool - i).
 */
static double log_none(uint64_t pool, uint64_t bad, uint64_t draws)
{
	double l = 0;

	for (uint64_t i = 0; i < draws; i++) {
		if (pool - i <= bad)
			return -INFINITY;
		l += log((double)(pool - bad - i) / (double)(pool - i));
	}
	return l;
}

/* Expected regions used and the aligned page's chance of company, per unit, summed. */
static void uniform_analytic(const uint64_t *pages, size_t units, uint64_t ram, double *mean)
{
	const uint64_t regions = ram / SNP_PTRS_PER_PMD;
	double used = 0, shared = 0, weight = 0;

	for (size_t u = 0; u < units; u++) {
		const uint64_t n = pages[u];

		used += (double)regions * -expm1(log_none(ram, SNP_PTRS_PER_PMD, n));
		if (n) {
			shared += (double)n * -expm1(log_none(ram - 1, SNP_PTRS_PER_PMD - 1, n - 1));
			weight += (double)n;
		}
	}
	mean[SIM_CLUSTER_REGIONS] = used / (double)units;
	mean[SIM_CLUSTER_SHARED_SHARE] = weight > 0 ? shared / weight : NAN;
}

/*
 * One draw's scratch: a bit per page (drawn yet?) and a count per region,
 * so that a draw costs O(pages + regions) and no sort; cleared after each.
 */
struct uni_draw {
	uint64_t *bits;
	uint32_t *count;
	snp_pfn_t *drawn;
	uint64_t regions;
};

/* n distinct pfns uniformly from [0, ram): their counts by region, into c. */
static void draw_unit(struct uni_draw *d, uint64_t n, uint64_t ram, uint64_t *rng, struct sim_cluster *c)
{
	uint64_t top[SIM_CLUSTER_TOP] = { 0 };

	memset(c, 0, sizeof(*c));
	c->units = 1;
	c->pages = n;
	c->allocations = n;   /* not used: ALLOCS_PER_PAGE's null is analytic */
	for (uint64_t have = 0; have < n;) {
		snp_pfn_t pfn = mm_rng_below(rng, ram);

		if (d->bits[pfn / 64] & (1ULL << (pfn % 64)))
			continue;
		d->bits[pfn / 64] |= 1ULL << (pfn % 64);
		d->count[pfn / SNP_PTRS_PER_PMD]++;
		d->drawn[have++] = pfn;
	}
	for (uint64_t r = 0; r < d->regions; r++) {
		if (!d->count[r])
			continue;
		c->regions++;
		c->max_region = d->count[r] > c->max_region ? d->count[r] : c->max_region;
		top_insert(top, d->count[r]);
	}
	for (int i = 0; i < SIM_CLUSTER_TOP; i++)
		c->top5 += top[i];
	for (uint64_t i = 0; i < n; i++) {
		const snp_pfn_t pfn = d->drawn[i];

		if (snp_pfn_2m_aligned(pfn)) {
			c->aligned++;
			c->aligned_shared += d->count[pfn / SNP_PTRS_PER_PMD] > 1;
		}
	}
	for (uint64_t i = 0; i < n; i++) {
		d->bits[d->drawn[i] / 64] = 0;
		d->count[d->drawn[i] / SNP_PTRS_PER_PMD] = 0;
	}
}

struct mc_acc {
	double sum[SIM_CLUSTER_NR_STATS], sq[SIM_CLUSTER_NR_STATS];
	unsigned int ge[SIM_CLUSTER_NR_STATS], le[SIM_CLUSTER_NR_STATS], finite[SIM_CLUSTER_NR_STATS];
};

static void acc_add(struct mc_acc *a, const struct sim_cluster *sum, const double *obs)
{
	for (int s = 0; s < SIM_CLUSTER_NR_STATS; s++) {
		double x = sim_cluster_value(sum, (enum sim_cluster_stat)s);

		if (!isfinite(x))
			continue;
		a->finite[s]++;
		a->sum[s] += x;
		a->sq[s] += x * x;
		if (obs && isfinite(obs[s])) {
			a->ge[s] += x >= obs[s];
			a->le[s] += x <= obs[s];
		}
	}
}

/* Two-sided Monte Carlo p-value, +1 corrected. */
static double mc_p(unsigned int ge, unsigned int le, unsigned int reps)
{
	double lo = (1.0 + le) / (reps + 1.0), hi = (1.0 + ge) / (reps + 1.0);
	double p = 2 * (lo < hi ? lo : hi);

	return p > 1 ? 1 : p;
}

static void acc_finish(const struct mc_acc *a, const double *obs, struct sim_cluster_null *out)
{
	for (int s = 0; s < SIM_CLUSTER_NR_STATS; s++) {
		const double n = a->finite[s];
		const double m = n ? a->sum[s] / n : NAN;
		const double var = n > 1 ? (a->sq[s] - n * m * m) / (n - 1) : NAN;

		out->sd[s] = var > 0 ? sqrt(var) : var == 0 ? 0 : NAN;
		if (s == SIM_CLUSTER_MAX || s == SIM_CLUSTER_TOP5_SHARE)
			out->mean[s] = m;
		out->p[s] = obs && isfinite(obs[s]) && n ? mc_p(a->ge[s], a->le[s], a->finite[s]) : NAN;
	}
	/* an aligned page is rare in a draw: its share is tested by a binomial test (cli) */
	out->sd[SIM_CLUSTER_SHARED_SHARE] = NAN;
	out->p[SIM_CLUSTER_SHARED_SHARE] = NAN;
}

/*
 * ALLOCS_PER_PAGE for a uniformly random page: allocs[u] draws with
 * replacement from ram pages, each unit's distinct count's mean and
 * variance exact, the pooled ratio's by the delta method (cluster.h).
 */
static void uniform_reuse(const uint64_t *allocs, size_t units, uint64_t ram, const double *obs,
			  struct sim_cluster_null *out)
{
	const enum sim_cluster_stat s = SIM_CLUSTER_ALLOCS_PER_PAGE;
	const double R = (double)ram;
	double a = 0, ed = 0, vd = 0;

	out->mean[s] = out->sd[s] = out->p[s] = NAN;
	if (!allocs)
		return;
	for (size_t u = 0; u < units; u++) {
		const double n = (double)allocs[u], l1 = n * log1p(-1 / R);
		const double q1 = exp(l1), q2 = exp(n * log1p(-2 / R));
		const double v = R * q1 + R * (R - 1) * q2 - R * R * q1 * q1;

		a += n;
		ed += -R * expm1(l1);
		vd += v > 0 ? v : 0;
	}
	if (!(ed > 0))
		return;
	out->mean[s] = a / ed;
	out->sd[s] = a / (ed * ed) * sqrt(vd);
	if (obs && isfinite(obs[s]))
		out->p[s] = out->sd[s] > 0 ? 2 * sim_norm_cdf(-fabs(obs[s] - out->mean[s]) / out->sd[s])
					   : obs[s] == out->mean[s] ? 1 : 0;
}

int sim_cluster_uniform(const uint64_t *pages, const uint64_t *allocs, size_t units, uint64_t ram_pages,
			unsigned int reps, uint64_t seed, const double *observed,
			struct sim_cluster_null *out)
{
	uint64_t rng = seed, most = 0;
	struct uni_draw d;
	struct mc_acc acc;

	memset(out, 0, sizeof(*out));
	memset(&acc, 0, sizeof(acc));
	if (!units || !reps || ram_pages < SNP_PTRS_PER_PMD)
		return SNP_EINVAL;
	for (size_t u = 0; u < units; u++) {
		if (pages[u] > ram_pages / 2)
			return SNP_EINVAL;   /* no uniform draw of most of RAM is meant */
		most = pages[u] > most ? pages[u] : most;
	}
	d.regions = (ram_pages + SNP_PTRS_PER_PMD - 1) / SNP_PTRS_PER_PMD;
	d.bits = calloc((ram_pages + 63) / 64, sizeof(*d.bits));
	d.count = calloc(d.regions, sizeof(*d.count));
	d.drawn = malloc((most ? most : 1) * sizeof(*d.drawn));
	out->reps = reps;
	out->seed = seed;
	for (unsigned int r = 0; d.bits && d.count && d.drawn && r < reps; r++) {
		struct sim_cluster sum = { 0 }, one;

		for (size_t u = 0; u < units; u++) {
			draw_unit(&d, pages[u], ram_pages, &rng, &one);
			sim_cluster_add(&sum, &one);
		}
		acc_add(&acc, &sum, observed);
	}
	if (!d.bits || !d.count || !d.drawn) {
		free(d.bits);
		free(d.count);
		free(d.drawn);
		return SNP_ENOMEM;
	}
	free(d.bits);
	free(d.count);
	free(d.drawn);
	acc_finish(&acc, observed, out);
	uniform_analytic(pages, units, ram_pages, out->mean);
	uniform_reuse(allocs, units, ram_pages, observed, out);
	return 0;
}

/* ---- tests --------------------------------------------------------------------------- */

double sim_norm_cdf(double z)
{
	return 0.5 * erfc(-z / 1.4142135623730951);   /* sqrt(2) */
}

/* Wilson score interval of k of n (doubles: effective counts), 95%. */
static void wilson95(double k, double n, double *lo, double *hi)
{
	const double z = 1.96;
	double p, d, c, h;

	if (!(n > 0)) {
		*lo = *hi = NAN;
		return;
	}
	p = k / n;
	d = 1 + z * z / n;
	c = (p + z * z / (2 * n)) / d;
	h = z * sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / d;
	*lo = c - h < 0 ? 0 : c - h;
	*hi = c + h > 1 ? 1 : c + h;
}

void sim_rate_pool(const uint64_t *k, const uint64_t *n, size_t units, struct sim_rate *out)
{
	double *kg = calloc(units ? units : 1, sizeof(*kg)), *ng = calloc(units ? units : 1, sizeof(*ng));

	memset(out, 0, sizeof(*out));
	out->units = (unsigned int)units;
	for (size_t u = 0; u < units; u++) {
		out->k += k[u];
		out->n += n[u];
		if (kg && ng) {
			kg[u] = (double)k[u];
			ng[u] = (double)n[u];
		}
	}
	/* without room to measure the spread, no interval: never a narrower one */
	out->deff = kg && ng ? sim_design_effect(kg, ng, (unsigned int)units) : NAN;
	free(kg);
	free(ng);
	out->p = out->n ? (double)out->k / (double)out->n : NAN;
	wilson95((double)out->k, (double)out->n, &out->naive_lo, &out->naive_hi);
	wilson95((double)out->k / out->deff, (double)out->n / out->deff, &out->lo, &out->hi);
}

static double lchoose(double n, double k)
{
	return lgamma(n + 1) - lgamma(k + 1) - lgamma(n - k + 1);
}

static double binom_pmf(uint64_t i, uint64_t n, double p)
{
	if (p <= 0)
		return i == 0;
	if (p >= 1)
		return i == n;
	return exp(lchoose((double)n, (double)i) + (double)i * log(p) + (double)(n - i) * log1p(-p));
}

static void effective(const struct sim_rate *r, uint64_t *k, uint64_t *n)
{
	const double d = isfinite(r->deff) && r->deff >= 1 ? r->deff : 1;

	*n = (uint64_t)llround((double)r->n / d);
	*k = (uint64_t)llround((double)r->k / d);
	*k = *k > *n ? *n : *k;
}

void sim_binom_test(const struct sim_rate *r, double p0, double *p, double *power)
{
	const double p1 = 3 * p0 < 1 ? 3 * p0 : 1;
	double lo = 0, up = 0, acc;
	uint64_t k, n, a, b;
	bool have_a = false;

	effective(r, &k, &n);
	*p = NAN;
	*power = 0;
	if (!n || !(p0 >= 0 && p0 <= 1))
		return;
	for (uint64_t i = 0; i <= k; i++)
		lo += binom_pmf(i, n, p0);
	for (uint64_t i = k; i <= n; i++)
		up += binom_pmf(i, n, p0);
	*p = 2 * (lo < up ? lo : up);
	*p = *p > 1 ? 1 : *p;
	/* the rejection region at 0.05: tails of at most 0.025 each, under p0 */
	acc = 0;
	for (a = 0; a <= n && acc + binom_pmf(a, n, p0) < 0.025; a++) {
		acc += binom_pmf(a, n, p0);
		have_a = true;
	}
	acc = 0;
	for (b = n + 1; b > 0 && acc + binom_pmf(b - 1, n, p0) < 0.025; b--)
		acc += binom_pmf(b - 1, n, p0);
	/* reject X < a (when have_a) or X >= b */
	for (uint64_t i = 0; have_a && i < a; i++)
		*power += binom_pmf(i, n, p1);
	for (uint64_t i = b; i <= n; i++)
		*power += binom_pmf(i, n, p1);
	*power = *power > 1 ? 1 : *power;
}

/* Fisher's exact test, two-sided by doubling the smaller tail. */
static double fisher(uint64_t k1, uint64_t n1, uint64_t k2, uint64_t n2)
{
	const double N = (double)(n1 + n2), K = (double)(k1 + k2);
	const uint64_t lo_x = k1 + k2 > n2 ? k1 + k2 - n2 : 0, hi_x = k1 + k2 < n1 ? k1 + k2 : n1;
	const double base = lchoose(N, (double)n1);
	double lo = 0, up = 0, p;

	for (uint64_t x = lo_x; x <= hi_x; x++) {
		double pm = exp(lchoose(K, (double)x) + lchoose(N - K, (double)(n1 - x)) - base);

		lo += x <= k1 ? pm : 0;
		up += x >= k1 ? pm : 0;
	}
	p = 2 * (lo < up ? lo : up);
	return p > 1 ? 1 : p;
}

void sim_rates_test(const struct sim_rate *a, const struct sim_rate *b, double fallback,
		    double *p, double *power)
{
	uint64_t ka, na, kb, nb;
	double pa, pb, pbar, se0, se1;

	effective(a, &ka, &na);
	effective(b, &kb, &nb);
	*p = NAN;
	*power = 0;
	if (!na || !nb)
		return;
	*p = fisher(ka, na, kb, nb);
	pa = ka ? (double)ka / (double)na : fallback;
	pb = 3 * pa < 1 ? 3 * pa : 1;
	pbar = (pa * (double)na + pb * (double)nb) / (double)(na + nb);
	se0 = sqrt(pbar * (1 - pbar) * (1.0 / (double)na + 1.0 / (double)nb));
	se1 = sqrt(pa * (1 - pa) / (double)na + pb * (1 - pb) / (double)nb);
	if (se1 > 0)
		*power = sim_norm_cdf((fabs(pb - pa) - 1.96 * se0) / se1);
}

static double group_value(const struct sim_cluster *u, const size_t *idx, size_t from, size_t to,
			  enum sim_cluster_stat s)
{
	struct sim_cluster sum = { 0 };

	for (size_t i = from; i < to; i++)
		sim_cluster_add(&sum, &u[idx[i]]);
	return sim_cluster_value(&sum, s);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

int sim_rate_campaign95(const uint64_t *hk, const uint64_t *hn, size_t nh, const uint64_t *bn, size_t nb,
			unsigned int reps, uint64_t seed, double *lo, double *hi)
{
	uint64_t rng = seed, total = 0;
	double *pooled;

	*lo = *hi = NAN;
	if (!nh || !nb || reps < 40)
		return SNP_EINVAL;
	for (size_t i = 0; i < nh; i++)
		if (!hn[i] || hk[i] > hn[i])
			return SNP_EINVAL;
	for (size_t b = 0; b < nb; b++)
		total += bn[b];
	if (!total)
		return SNP_EINVAL;
	pooled = malloc(reps * sizeof(*pooled));
	if (!pooled)
		return SNP_ENOMEM;
	for (unsigned int r = 0; r < reps; r++) {
		double k = 0;

		for (size_t b = 0; b < nb; b++) {
			size_t h = (size_t)mm_rng_below(&rng, nh);

			k += (double)hk[h] / (double)hn[h] * (double)bn[b];
		}
		pooled[r] = k / (double)total;
	}
	qsort(pooled, reps, sizeof(*pooled), cmp_double);
	/* the order statistics that bound 95% of the draws */
	*lo = pooled[(size_t)(0.025 * reps)];
	*hi = pooled[(size_t)(0.975 * reps) - 1];
	free(pooled);
	return 0;
}

int sim_cluster_perm_test(const struct sim_cluster *a, size_t na, const struct sim_cluster *b, size_t nb,
			  enum sim_cluster_stat s, unsigned int reps, uint64_t seed, double *p, double *sd)
{
	const size_t n = na + nb;
	struct sim_cluster *u;
	size_t *idx;
	double d, sum = 0, sq = 0;
	unsigned int hits = 0, finite = 0;
	uint64_t rng = seed;

	*p = *sd = NAN;
	if (!na || !nb || !reps)
		return SNP_EINVAL;
	u = malloc(n * sizeof(*u));
	idx = malloc(n * sizeof(*idx));
	if (!u || !idx) {
		free(u);
		free(idx);
		return SNP_ENOMEM;
	}
	memcpy(u, a, na * sizeof(*u));
	memcpy(u + na, b, nb * sizeof(*u));
	for (size_t i = 0; i < n; i++)
		idx[i] = i;
	d = group_value(u, idx, 0, na, s) - group_value(u, idx, na, n, s);
	for (unsigned int r = 0; r < reps; r++) {
		double x;

		for (size_t i = n - 1; i > 0; i--) {
			size_t j = (size_t)mm_rng_below(&rng, i + 1), t = idx[i];

			idx[i] = idx[j];
			idx[j] = t;
		}
		x = group_value(u, idx, 0, na, s) - group_value(u, idx, na, n, s);
		if (!isfinite(x))
			continue;
		finite++;
		sum += x;
		sq += x * x;
		hits += isfinite(d) && fabs(x) >= fabs(d) - 1e-12 * fabs(d);
	}
	free(u);
	free(idx);
	if (finite > 1) {
		double m = sum / finite, var = (sq - finite * m * m) / (finite - 1);

		*sd = var > 0 ? sqrt(var) : 0;
	}
	if (isfinite(d) && finite)
		*p = (1.0 + hits) / (finite + 1.0);
	return 0;
}

double sim_cluster_power(enum sim_cluster_stat s, double ref, double sd)
{
	double alt, delta;

	if (!(sd > 0) || !(ref > 0))
		return 0;
	alt = s == SIM_CLUSTER_REGIONS ? ref / 3 : 3 * ref;
	if (s == SIM_CLUSTER_TOP5_SHARE || s == SIM_CLUSTER_SHARED_SHARE)
		alt = alt > 1 ? 1 : alt;
	delta = fabs(alt - ref);
	return sim_norm_cdf(delta / sd - 1.96) + sim_norm_cdf(-delta / sd - 1.96);
}

const char *sim_verdict(double p, double power)
{
	if (!(p >= 0))
		return "cannot tell";   /* no test could be made */
	if (p < 0.05)
		return "disagree";
	return power >= 0.8 ? "agree" : "cannot tell";
}
