// SPDX-License-Identifier: MIT
/*
 * merge_watch.c - `snpsafe merge` of `watch --json` runs (issue 26 item 2's
 * pooling, issue 25 item 4's three columns).  Each run is one boot of one
 * kernel and configuration (cmd_merge.c checks that); its vmcb01
 * allocations are one cluster of draws, as each model host's are.  For
 * aligned and exposed vmcb01 allocations and for the five clustering
 * statistics (snpsafe/cluster.h) it prints three columns, measured, model
 * and a uniformly random page, each pair tested, with the test's power to
 * see a threefold difference and a verdict (docs/WATCH.md, "Pooling boots:
 * three columns").
 */
#include "cluster_report.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MW_UNIFORM_REPS 1000    /* Monte Carlo draws of the uniform page */
#define MW_PERM_REPS    1000    /* relabellings of the measured-model permutation test */
#define MW_CAMPAIGN_REPS 10000  /* campaigns drawn from the model hosts (sim_rate_campaign95) */
#define MW_SEED         1       /* all: fixed, so the output is the same every time */
#define MW_KEY_LEN      512

/* One unit (a boot, or a model host): its vmcb01 counts. */
struct mw_unit {
	uint64_t allocs, aligned, exposed;
	struct sim_cluster c;
};

struct mw_units {
	struct mw_unit *v;
	size_t nr, cap;
};

struct merge_watch {
	struct mw_units boots, hosts;
	uint64_t regions, regions_huge;   /* the boots' vmcb01 regions, those storing via 2M/1G */
	uint64_t ram_pages;
	char (*runs)[MW_KEY_LEN];         /* per boot: trace, records, QEMU time */
	const char **run_path;
	char (*models)[MW_KEY_LEN];       /* per model run pooled: every input of it */
	size_t nr_models;
};

#define bad(path, at, ...) cli_json_error("merge", "", (path), (at), __VA_ARGS__)

bool merge_is_watch(const struct json_node *doc)
{
	const struct json_node *m = json_member(doc, "measured"), *e = json_member(doc, "model_estimate");

	return m && m->type == JSON_OBJECT && e && e->type == JSON_OBJECT;
}

static struct mw_unit *unit_new(struct mw_units *u)
{
	if (u->nr == u->cap) {
		size_t cap = u->cap ? 2 * u->cap : 16;
		struct mw_unit *v = realloc(u->v, cap * sizeof(*v));

		if (!v)
			return NULL;
		u->v = v;
		u->cap = cap;
	}
	memset(&u->v[u->nr], 0, sizeof(u->v[0]));
	return &u->v[u->nr++];
}

static const char *text_of(const struct json_node *v)
{
	return v && v->text ? v->text : "";
}

/* "clustering": the counts cli_json_cluster() writes; the key that is missing, or NULL. */
static const char *read_cluster(const struct json_node *o, struct sim_cluster *c)
{
	static const struct { const char *key; size_t off; } keys[] = {
		{ "units", offsetof(struct sim_cluster, units) },
		{ "pages", offsetof(struct sim_cluster, pages) },
		{ "regions", offsetof(struct sim_cluster, regions) },
		{ "max_region", offsetof(struct sim_cluster, max_region) },
		{ "top5", offsetof(struct sim_cluster, top5) },
		{ "aligned", offsetof(struct sim_cluster, aligned) },
		{ "aligned_shared", offsetof(struct sim_cluster, aligned_shared) },
	};

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (!merge_read_u64(json_member(o, keys[i].key), UINT64_MAX,
				    (uint64_t *)((char *)c + keys[i].off)))
			return keys[i].key;
	return NULL;
}

/*
 * "allocations" of a "clustering": a run from before it was written lacks
 * it, and then it is the unit's vmcb01 allocation count, the list the
 * clustering was made of (watch_cluster.c vmcb01_pages(), mc_cluster.c),
 * the same number by construction.  A count below the pages is refused.
 */
static const char *read_cluster_allocs(const struct json_node *o, uint64_t allocs, struct sim_cluster *c)
{
	const struct json_node *a = json_member(o, "allocations");

	if (!a)
		c->allocations = allocs;
	else if (!merge_read_u64(a, UINT64_MAX, &c->allocations))
		return "allocations";
	return c->allocations < c->pages ? "allocations" : NULL;
}

/* The run's measured side: one boot. */
static int add_boot(struct merge_watch *mw, const char *path, const struct json_node *meas)
{
	const struct json_node *va = json_member(meas, "vmcb01_allocations");
	const struct json_node *cl = json_member(meas, "clustering");
	struct mw_unit *b;
	uint64_t huge;
	const char *miss;

	if (!va || va->type != JSON_OBJECT || !cl || cl->type != JSON_OBJECT)
		return bad(path, meas, "no vmcb01 allocations in its allocation log: a run without "
			   "them cannot be pooled");
	b = unit_new(&mw->boots);
	if (!b)
		return cli_fail("merge", "out of memory");
	if (!merge_read_u64(json_member(va, "allocations"), UINT64_MAX, &b->allocs) ||
	    !merge_read_u64(json_member(va, "aligned"), b->allocs, &b->aligned))
		return bad(path, va, "\"vmcb01_allocations\" needs whole \"allocations\" and \"aligned\"");
	if (!merge_read_u64(json_member(meas, "vmcb01_exposed"), b->aligned, &b->exposed) ||
	    !merge_read_u64(json_member(meas, "vmcb01_regions_huge_leaf"), UINT64_MAX, &huge))
		return bad(path, meas, "\"measured\" needs \"vmcb01_exposed\" and "
			   "\"vmcb01_regions_huge_leaf\" (a watch from before the clustering)");
	if ((miss = read_cluster(cl, &b->c)) || (miss = read_cluster_allocs(cl, b->allocs, &b->c)) ||
	    b->c.units != 1)
		return bad(path, cl, "\"clustering\" of one run needs whole counts (\"%s\") of one unit",
			   miss ? miss : "units");
	if (huge > b->c.regions)
		return bad(path, meas, "\"vmcb01_regions_huge_leaf\" is more than the regions used");
	mw->regions += b->c.regions;
	mw->regions_huge += huge;
	return 0;
}

/* The run's model: its hosts, unless the same model run (seed, age, hosts) was added already. */
static int add_model(struct merge_watch *mw, const char *path, const struct json_node *est)
{
	const struct json_node *hosts = json_member(est, "hosts");
	char key[MW_KEY_LEN];
	void *grown;

	/*
	 * Every input of the model run: boots of one set differ in their VM
	 * count (ticks) and in-use share, and a run is pooled once only when
	 * all of them are the same.
	 */
	snprintf(key, sizeof(key), "%s %s %s seed %s age %s trials %s ticks %s lifetime %s profile %s rounds %s "
		 "dump %s guest %s irqchip %s debugfs %s host %s vmm %s migrate %s remake %s grace %s",
		 text_of(json_member(est, "kernel")), text_of(json_member(est, "layout")),
		 text_of(json_member(est, "strategy")), text_of(json_member(est, "seed")),
		 text_of(json_member(est, "age_pct")), text_of(json_member(est, "trials")),
		 text_of(json_member(est, "ticks")), text_of(json_member(est, "lifetime_ticks")),
		 text_of(json_member(est, "age_profile")), text_of(json_member(est, "age_rounds")),
		 text_of(json_member(est, "boot_dump_fnv1a")), text_of(json_member(est, "guest_pages")),
		 text_of(json_member(est, "irqchip")), text_of(json_member(est, "kvm_debugfs")),
		 text_of(json_member(est, "host_loops")), text_of(json_member(est, "vmm_cpus")),
		 text_of(json_member(est, "vmm_migrate")), text_of(json_member(est, "remake_after")),
		 text_of(json_member(est, "rcu_grace")));
	for (size_t i = 0; i < mw->nr_models; i++)
		if (!strcmp(mw->models[i], key))
			return 0;
	if (!hosts || hosts->type != JSON_ARRAY || !hosts->child)
		return bad(path, est, "\"model_estimate\" has no \"hosts\" (a watch from before the "
			   "clustering)");
	grown = realloc(mw->models, (mw->nr_models + 1) * sizeof(*mw->models));
	if (!grown)
		return cli_fail("merge", "out of memory");
	mw->models = grown;
	snprintf(mw->models[mw->nr_models++], MW_KEY_LEN, "%s", key);
	for (const struct json_node *h = hosts->child; h; h = h->next) {
		struct mw_unit *u = unit_new(&mw->hosts);
		const struct json_node *cl = json_member(h, "clustering");

		if (!u)
			return cli_fail("merge", "out of memory");
		if (!merge_read_u64(json_member(h, "vmcb01_allocated"), UINT64_MAX, &u->allocs) ||
		    !merge_read_u64(json_member(h, "vmcb01_aligned"), u->allocs, &u->aligned) ||
		    !merge_read_u64(json_member(h, "vmcb01_exposed"), u->aligned, &u->exposed) ||
		    !cl || read_cluster(cl, &u->c) || read_cluster_allocs(cl, u->allocs, &u->c))
			return bad(path, h, "a model host needs whole vmcb01 counts and its \"clustering\"");
	}
	return 0;
}

int merge_watch_add(struct merge_watch **pmw, const char *path, const struct json_node *doc)
{
	const struct json_node *cfg = json_member(doc, "config");
	struct merge_watch *mw = *pmw;
	char key[MW_KEY_LEN];
	uint64_t mem;
	void *grown;
	int ret;

	if (!mw) {
		mw = *pmw = calloc(1, sizeof(*mw));
		if (!mw)
			return cli_fail("merge", "out of memory");
	}
	if (!merge_read_u64(json_member(cfg, "mem_bytes"), UINT64_MAX, &mem) || mem < 512 * SNP_PAGE_SIZE)
		return bad(path, cfg, "its config has no \"mem_bytes\"");
	mw->ram_pages = mem / SNP_PAGE_SIZE;
	/* one boot: its trace file, its records and its time in QEMU */
	snprintf(key, sizeof(key), "%s|%s|%s", text_of(json_member(doc, "trace")),
		 text_of(json_member(doc, "records")), text_of(json_member(doc, "qemu_seconds")));
	for (size_t i = 0; i < mw->boots.nr; i++)
		if (!strcmp(mw->runs[i], key))
			return bad(path, NULL, "the run of %s given twice (the same trace, records and "
				   "time in QEMU)", mw->run_path[i]);
	grown = realloc(mw->runs, (mw->boots.nr + 1) * sizeof(*mw->runs));
	if (grown)
		mw->runs = grown;
	grown = grown ? realloc(mw->run_path, (mw->boots.nr + 1) * sizeof(*mw->run_path)) : NULL;
	if (!grown)
		return cli_fail("merge", "out of memory");
	mw->run_path = grown;
	snprintf(mw->runs[mw->boots.nr], MW_KEY_LEN, "%s", key);
	mw->run_path[mw->boots.nr] = path;
	ret = add_boot(mw, path, json_member(doc, "measured"));
	return ret ? ret : add_model(mw, path, json_member(doc, "model_estimate"));
}

void merge_watch_free(struct merge_watch *mw)
{
	if (!mw)
		return;
	free(mw->boots.v);
	free(mw->hosts.v);
	free(mw->runs);
	free(mw->run_path);
	free(mw->models);
	free(mw);
}

/* ---- the comparison ------------------------------------------------------------------ */

enum { COL_MEASURED, COL_MODEL, COL_UNIFORM, NR_COLS };
enum { PAIR_MEAS_UNI, PAIR_MODEL_UNI, PAIR_MEAS_MODEL, NR_PAIRS };
enum { ROW_ALIGNED, ROW_EXPOSED, ROW_CLUSTER0, NR_ROWS = ROW_CLUSTER0 + SIM_CLUSTER_NR_STATS };

static const char *const col_key[NR_COLS] = { "measured", "model", "uniform" };
static const char *const pair_key[NR_PAIRS] = { "measured_uniform", "model_uniform", "measured_model" };

struct mw_col {
	double v, lo, hi;          /* value and its 95% interval (NAN: none) */
	double naive_lo, naive_hi, deff;   /* rates: the interval without the clusters */
	uint64_t k, n;             /* rates: the counts */
	double camp_lo, camp_hi;   /* model rates: a campaign of the boots' sizes (NAN: none) */
	const char *how;           /* uniform: exact, analytic, Monte Carlo */
};

struct mw_test {
	const char *test;
	double p, power;
};

struct mw_row {
	const char *key, *text;
	bool rate;                 /* a fraction (printed in %) */
	bool counts;               /* of vmcb01 allocations: k, n and the design effect */
	unsigned int digits;       /* not a rate: decimals printed (1 unless set) */
	struct mw_col col[NR_COLS];
	struct mw_test t[NR_PAIRS];
};

static void rate_col(const struct mw_units *u, bool exposed, struct sim_rate *r, struct mw_col *c)
{
	uint64_t *k = calloc(u->nr, sizeof(*k)), *n = calloc(u->nr, sizeof(*n));

	for (size_t i = 0; k && n && i < u->nr; i++) {
		k[i] = exposed ? u->v[i].exposed : u->v[i].aligned;
		n[i] = u->v[i].allocs;
	}
	sim_rate_pool(k, n, k && n ? u->nr : 0, r);
	free(k);
	free(n);
	*c = (struct mw_col){ .v = r->p, .lo = r->lo, .hi = r->hi, .naive_lo = r->naive_lo,
			      .naive_hi = r->naive_hi, .deff = r->deff, .k = r->k, .n = r->n };
}

/*
 * The model's range for a campaign like the measured one: as many boots,
 * each of its measured allocations, each at a model host's rate (hosts that
 * made no vmcb01 allocation have no rate and are left out).
 */
static int campaign_col(const struct merge_watch *mw, bool exposed, struct mw_col *c)
{
	const struct mw_units *h = &mw->hosts, *b = &mw->boots;
	uint64_t *hk = calloc(h->nr ? h->nr : 1, sizeof(*hk)), *hn = calloc(h->nr ? h->nr : 1, sizeof(*hn));
	uint64_t *bn = calloc(b->nr ? b->nr : 1, sizeof(*bn));
	size_t nh = 0;
	int ret = SNP_ENOMEM;

	c->camp_lo = c->camp_hi = NAN;
	if (hk && hn && bn) {
		for (size_t i = 0; i < h->nr; i++)
			if (h->v[i].allocs) {
				hk[nh] = exposed ? h->v[i].exposed : h->v[i].aligned;
				hn[nh++] = h->v[i].allocs;
			}
		for (size_t i = 0; i < b->nr; i++)
			bn[i] = b->v[i].allocs;
		ret = sim_rate_campaign95(hk, hn, nh, bn, b->nr, MW_CAMPAIGN_REPS, MW_SEED,
					  &c->camp_lo, &c->camp_hi);
		/* no host or no boot with an allocation: no range, said as n/a */
		if (ret == SNP_EINVAL)
			ret = 0;
	}
	free(hk);
	free(hn);
	free(bn);
	return ret;
}

static int rate_row(const struct merge_watch *mw, struct mw_row *row, bool exposed, double p0)
{
	struct sim_rate meas, model;

	row->rate = row->counts = true;
	rate_col(&mw->boots, exposed, &meas, &row->col[COL_MEASURED]);
	rate_col(&mw->hosts, exposed, &model, &row->col[COL_MODEL]);
	row->col[COL_MEASURED].camp_lo = row->col[COL_MEASURED].camp_hi = NAN;
	row->col[COL_UNIFORM].camp_lo = row->col[COL_UNIFORM].camp_hi = NAN;
	row->col[COL_UNIFORM] = (struct mw_col){ .v = p0, .lo = NAN, .hi = NAN, .naive_lo = NAN,
						 .naive_hi = NAN, .deff = NAN,
						 .how = exposed ? "leaf mix / 512" : "exact" };
	row->t[PAIR_MEAS_UNI].test = row->t[PAIR_MODEL_UNI].test = "exact binomial";
	sim_binom_test(&meas, p0, &row->t[PAIR_MEAS_UNI].p, &row->t[PAIR_MEAS_UNI].power);
	sim_binom_test(&model, p0, &row->t[PAIR_MODEL_UNI].p, &row->t[PAIR_MODEL_UNI].power);
	row->t[PAIR_MEAS_MODEL].test = "Fisher exact";
	sim_rates_test(&model, &meas, p0, &row->t[PAIR_MEAS_MODEL].p, &row->t[PAIR_MEAS_MODEL].power);
	return campaign_col(mw, exposed, &row->col[COL_MODEL]);
}

/* The units' clusterings, summed, and each one alone. */
static struct sim_cluster *cluster_list(const struct mw_units *u, struct sim_cluster *sum,
					uint64_t **pages, uint64_t **allocs)
{
	struct sim_cluster *c = malloc((u->nr ? u->nr : 1) * sizeof(*c));

	*pages = malloc((u->nr ? u->nr : 1) * sizeof(**pages));
	*allocs = malloc((u->nr ? u->nr : 1) * sizeof(**allocs));
	memset(sum, 0, sizeof(*sum));
	for (size_t i = 0; c && *pages && *allocs && i < u->nr; i++) {
		c[i] = u->v[i].c;
		(*pages)[i] = c[i].pages;
		(*allocs)[i] = c[i].allocations;
		sim_cluster_add(sum, &c[i]);
	}
	return c;
}

/*
 * A ratio statistic X / Y over units, its cluster-robust 95% interval:
 * var = G / (G - 1) sum (x_g - r y_g)^2 / Y^2 (none with one unit).
 */
static void cluster_ci(const struct sim_cluster *c, size_t nr, enum sim_cluster_stat s, double r,
		       double *lo, double *hi)
{
	double X2 = 0, Y = 0;

	*lo = *hi = NAN;
	if (nr < 2 || !isfinite(r))
		return;
	for (size_t i = 0; i < nr; i++) {
		const double x[] = { (double)c[i].regions, (double)c[i].max_region, (double)c[i].top5,
				     (double)c[i].aligned_shared, (double)c[i].allocations };
		const double y[] = { (double)c[i].units, (double)c[i].units, (double)c[i].pages,
				     (double)c[i].aligned, (double)c[i].pages };

		X2 += (x[s] - r * y[s]) * (x[s] - r * y[s]);
		Y += y[s];
	}
	if (Y > 0) {
		double se = sqrt((double)nr / (double)(nr - 1) * X2) / Y;

		*lo = r - 1.96 * se;
		*hi = r + 1.96 * se;
	}
}

/* Aligned pages whose region holds another, per unit, as a rate (k of n) for the binomial tests. */
static void shared_rate(const struct sim_cluster *c, size_t nr, struct sim_rate *r)
{
	uint64_t *k = calloc(nr ? nr : 1, sizeof(*k)), *n = calloc(nr ? nr : 1, sizeof(*n));

	for (size_t i = 0; k && n && i < nr; i++) {
		k[i] = c[i].aligned_shared;
		n[i] = c[i].aligned;
	}
	sim_rate_pool(k, n, k && n ? nr : 0, r);
	free(k);
	free(n);
}

struct mw_cluster_side {
	struct sim_cluster *c, sum;
	uint64_t *pages, *allocs;
	size_t nr;
	double obs[SIM_CLUSTER_NR_STATS];
	struct sim_cluster_null uni;      /* the uniform page at this side's page counts */
	struct sim_rate shared;
};

static int cluster_side(const struct merge_watch *mw, const struct mw_units *u, struct mw_cluster_side *s)
{
	int ret;

	s->nr = u->nr;
	s->c = cluster_list(u, &s->sum, &s->pages, &s->allocs);
	if (!s->c || !s->pages || !s->allocs)
		return SNP_ENOMEM;
	for (int i = 0; i < SIM_CLUSTER_NR_STATS; i++)
		s->obs[i] = sim_cluster_value(&s->sum, (enum sim_cluster_stat)i);
	shared_rate(s->c, s->nr, &s->shared);
	ret = sim_cluster_uniform(s->pages, s->allocs, s->nr, mw->ram_pages, MW_UNIFORM_REPS, MW_SEED,
				  s->obs, &s->uni);
	return ret;
}

static void side_free(struct mw_cluster_side *s)
{
	free(s->c);
	free(s->pages);
	free(s->allocs);
}

static void cluster_test_vs_uniform(const struct mw_cluster_side *s, enum sim_cluster_stat st,
				    struct mw_test *t)
{
	if (st == SIM_CLUSTER_SHARED_SHARE) {
		t->test = "exact binomial";
		sim_binom_test(&s->shared, s->uni.mean[st], &t->p, &t->power);
		return;
	}
	t->test = st == SIM_CLUSTER_ALLOCS_PER_PAGE ? "normal" : "Monte Carlo";
	t->p = s->uni.p[st];
	t->power = sim_cluster_power(st, s->uni.mean[st], s->uni.sd[st]);
}

static int cluster_rows(const struct merge_watch *mw, struct mw_row *rows)
{
	struct mw_cluster_side m = { 0 }, h = { 0 };
	int ret = cluster_side(mw, &mw->boots, &m);

	if (!ret)
		ret = cluster_side(mw, &mw->hosts, &h);
	for (int i = 0; !ret && i < SIM_CLUSTER_NR_STATS; i++) {
		const enum sim_cluster_stat st = (enum sim_cluster_stat)i;
		struct mw_row *row = &rows[ROW_CLUSTER0 + i];
		struct mw_test *mm = &row->t[PAIR_MEAS_MODEL];
		double sd;

		row->col[COL_MEASURED].v = m.obs[i];
		cluster_ci(m.c, m.nr, st, m.obs[i], &row->col[COL_MEASURED].lo, &row->col[COL_MEASURED].hi);
		row->col[COL_MODEL].v = h.obs[i];
		cluster_ci(h.c, h.nr, st, h.obs[i], &row->col[COL_MODEL].lo, &row->col[COL_MODEL].hi);
		/* the uniform page at the measured boots' page counts */
		row->col[COL_UNIFORM].v = m.uni.mean[i];
		row->col[COL_UNIFORM].lo = row->col[COL_UNIFORM].hi = NAN;
		if (st == SIM_CLUSTER_MAX || st == SIM_CLUSTER_TOP5_SHARE) {
			double se = m.uni.sd[i] / sqrt((double)m.uni.reps);

			row->col[COL_UNIFORM].lo = m.uni.mean[i] - 1.96 * se;
			row->col[COL_UNIFORM].hi = m.uni.mean[i] + 1.96 * se;
		}
		row->col[COL_UNIFORM].how = st == SIM_CLUSTER_MAX || st == SIM_CLUSTER_TOP5_SHARE ?
					    "Monte Carlo" : "analytic";
		cluster_test_vs_uniform(&m, st, &row->t[PAIR_MEAS_UNI]);
		cluster_test_vs_uniform(&h, st, &row->t[PAIR_MODEL_UNI]);
		if (st == SIM_CLUSTER_SHARED_SHARE) {
			mm->test = "Fisher exact";
			sim_rates_test(&h.shared, &m.shared, h.uni.mean[i], &mm->p, &mm->power);
			continue;
		}
		mm->test = "permutation";
		ret = sim_cluster_perm_test(m.c, m.nr, h.c, h.nr, st, MW_PERM_REPS, MW_SEED, &mm->p, &sd);
		mm->power = sim_cluster_power(st, h.obs[i], sd);
	}
	side_free(&m);
	side_free(&h);
	return ret;
}

static int compare(const struct merge_watch *mw, struct mw_row *rows, double *leaf_mix)
{
	static const char *const text[NR_ROWS] = {
		"aligned", "exposed", "regions used", "largest region", "five busiest",
		"aligned w/ company", "allocs a page",
	};

	*leaf_mix = mw->regions ? (double)mw->regions_huge / (double)mw->regions : NAN;
	for (int i = 0; i < NR_ROWS; i++) {
		rows[i].text = text[i];
		rows[i].key = i == ROW_ALIGNED ? "aligned" : i == ROW_EXPOSED ? "exposed" :
			      sim_cluster_stat_name((enum sim_cluster_stat)(i - ROW_CLUSTER0));
	}
	if (rate_row(mw, &rows[ROW_ALIGNED], false, 1.0 / SNP_PTRS_PER_PMD) ||
	    rate_row(mw, &rows[ROW_EXPOSED], true, *leaf_mix / SNP_PTRS_PER_PMD))
		return SNP_ENOMEM;
	rows[ROW_CLUSTER0 + SIM_CLUSTER_TOP5_SHARE].rate = true;
	rows[ROW_CLUSTER0 + SIM_CLUSTER_SHARED_SHARE].rate = true;
	rows[ROW_CLUSTER0 + SIM_CLUSTER_ALLOCS_PER_PAGE].digits = 2;
	return cluster_rows(mw, rows);
}

/* ---- printing ------------------------------------------------------------------------ */

static const char *fmt_val(const struct mw_row *r, double v, char *buf, size_t len)
{
	return r->rate ? cli_fmt_fixed(100 * v, r->counts ? 3 : 1, buf, len)
		       : cli_fmt_fixed(v, r->digits ? (int)r->digits : 1, buf, len);
}

static const char *fmt_col(const struct mw_row *r, const struct mw_col *c, char *buf, size_t len)
{
	char v[24], lo[24], hi[24];
	const char *pct = r->rate ? "%" : "";

	fmt_val(r, c->v, v, sizeof(v));
	if (!isfinite(c->v))
		snprintf(buf, len, "n/a");
	else if (isfinite(c->lo))
		snprintf(buf, len, "%s%s [%s, %s]", v, pct, fmt_val(r, c->lo, lo, sizeof(lo)),
			 fmt_val(r, c->hi, hi, sizeof(hi)));
	else
		snprintf(buf, len, "%s%s", v, pct);
	return buf;
}

/*
 * A pair's verdict.  Measured and model agreeing says something of the
 * model only where the model's own figure is told from the uniform page's
 * (model ~ uniform disagrees); else the uniform page agrees as well, and
 * the verdict says so (issue 25: agreement is claimed only where the data
 * can tell the model from a coin).
 */
static const char *mw_verdict(const struct mw_row *r, int t)
{
	const char *v = sim_verdict(r->t[t].p, r->t[t].power);

	if (t == PAIR_MEAS_MODEL && !strcmp(v, "agree") &&
	    strcmp(sim_verdict(r->t[PAIR_MODEL_UNI].p, r->t[PAIR_MODEL_UNI].power), "disagree"))
		return "agree (uniform too)";
	return v;
}

/* Whether the measured point lies in the model's campaign range: "inside", "outside", or "n/a". */
static const char *campaign_verdict(const struct mw_row *r)
{
	const struct mw_col *m = &r->col[COL_MEASURED], *h = &r->col[COL_MODEL];

	if (!isfinite(m->v) || !isfinite(h->camp_lo))
		return "n/a";
	return m->v >= h->camp_lo && m->v <= h->camp_hi ? "inside" : "outside";
}

static void print_campaign(const struct merge_watch *mw, const struct mw_row *rows)
{
	char a[24], b[24], v[24];

	printf("\nthe model's range for a campaign like this one (%zu boots of the measured sizes, "
	       "each at a model host's rate, %u campaigns, 95%%):\n", mw->boots.nr, MW_CAMPAIGN_REPS);
	for (int i = ROW_ALIGNED; i <= ROW_EXPOSED; i++) {
		const struct mw_col *h = &rows[i].col[COL_MODEL];

		if (!isfinite(h->camp_lo)) {
			printf("  %-17s n/a\n", rows[i].text);
			continue;
		}
		printf("  %-17s [%s%%, %s%%]: measured %s%% %s\n", rows[i].text,
		       cli_fmt_fixed(100 * h->camp_lo, 3, a, sizeof(a)),
		       cli_fmt_fixed(100 * h->camp_hi, 3, b, sizeof(b)),
		       cli_fmt_fixed(100 * rows[i].col[COL_MEASURED].v, 3, v, sizeof(v)),
		       campaign_verdict(&rows[i]));
	}
}

static const char *fmt_test(const struct mw_row *r, int t, char *buf, size_t len)
{
	char p[24], pw[24];

	snprintf(buf, len, "p %s pw %s %s", cli_fmt_fixed(r->t[t].p, 3, p, sizeof(p)),
		 cli_fmt_fixed(r->t[t].power, 2, pw, sizeof(pw)), mw_verdict(r, t));
	return buf;
}

static void print_text(const struct merge_watch *mw, const struct json_node *first,
		       const struct mw_row *rows, double leaf_mix)
{
	static const struct cli_legend legend[] = {
		{ "measured", "the boots pooled, each boot a cluster: a rate's interval is Wilson's over "
		  "n / deff draws, deff the boots' design effect (their spread over the binomial's, "
		  "at least 1), a statistic's the ratio estimator's cluster-robust one (none with one "
		  "boot)" },
		{ "model", "the watch runs' model hosts pooled (a model run given by several boots, "
		  "the same seed, age and hosts, once), each host a cluster, likewise; its interval "
		  "is of the model's mean rate" },
		{ "campaign", "where a campaign of the measured size would land if the model were "
		  "the truth: the boots' allocation counts, each boot at the rate of a model host "
		  "drawn at random, pooled; the 2.5th to 97.5th percentile of 10000 such campaigns "
		  "(seed 1); the measured point is held against this range, not the model's "
		  "interval, which leaves out a campaign's own scatter" },
		{ "uniform", "a page drawn uniformly from the run's memory: aligned 1/512; exposed the "
		  "measured leaf mix / 512; regions used and aligned w/ company analytic; largest "
		  "region and five busiest by Monte Carlo (1000 draws, seed 1), with its sampling "
		  "error, at the boots' page counts; allocs a page analytic, each allocation a "
		  "page drawn afresh (with replacement) at the boots' allocation counts" },
		{ "rows", "aligned and exposed (aligned, its region storing through a 2M/1G leaf) "
		  "vmcb01 allocations; then distinct vmcb01 pages by 2MB region: regions used and the "
		  "largest count in one (mean per boot or host), the share in the five busiest, the "
		  "share of aligned pages whose region holds another; and allocs a page: vmcb01 "
		  "allocations over distinct vmcb01 pages, how often a page is handed out again" },
		{ "tests", "exact binomial against the uniform rate, Fisher exact between two rates "
		  "(both on the effective counts k / deff, n / deff, two-sided by doubling the smaller "
		  "tail), Monte Carlo against the uniform page (allocs a page: the normal "
		  "approximation), permutation (1000 relabellings of "
		  "boots and hosts) between measured and model; power: the chance to see a threefold "
		  "difference (regions: a third) at 0.05 at these sizes (pw)" },
		{ "verdict", "disagree when p < 0.05; agree only when the power is at least 0.8; "
		  "else cannot tell; measured ~ model reads \"agree (uniform too)\" where model ~ "
		  "uniform does not disagree: then the data cannot tell the model from a uniformly "
		  "random page" },
	};
	const struct json_node *cfg = json_member(first, "config");
	char a[96], b[96], c[96], lf[24];

	printf("snpsafe merge: %zu watch runs of Linux %s (%s MiB, %s CPUs, %s VMs x %s vCPUs, "
	       "%s s, lifetime %s, filter %s)\n", mw->boots.nr, text_of(json_member(first, "kernel")),
	       cli_fmt_fixed((double)mw->ram_pages / 256, 0, a, sizeof(a)),
	       text_of(json_member(cfg, "cpus")), text_of(json_member(cfg, "vms")),
	       text_of(json_member(cfg, "vcpus")), text_of(json_member(cfg, "seconds")),
	       text_of(json_member(cfg, "lifetime")), text_of(json_member(cfg, "filter")));
	printf("measured: %zu boots, %llu vmcb01 allocations; model: %zu hosts of %zu model run(s), "
	       "%llu vmcb01 allocations; leaf mix %s%% of the boots' vmcb01 regions\n\n", mw->boots.nr,
	       (unsigned long long)rows[ROW_ALIGNED].col[COL_MEASURED].n, mw->hosts.nr, mw->nr_models,
	       (unsigned long long)rows[ROW_ALIGNED].col[COL_MODEL].n,
	       cli_fmt_fixed(100 * leaf_mix, 1, lf, sizeof(lf)));
	printf("%-19s %-27s %-27s %s\n", "", "measured", "model", "uniform page");
	for (int i = 0; i < NR_ROWS; i++)
		printf("%-19s %-27s %-27s %s\n", rows[i].text, fmt_col(&rows[i], &rows[i].col[0], a, sizeof(a)),
		       fmt_col(&rows[i], &rows[i].col[1], b, sizeof(b)),
		       fmt_col(&rows[i], &rows[i].col[2], c, sizeof(c)));
	printf("\n%-19s %-28s %-28s %s\n", "p, power, verdict", "measured ~ uniform", "model ~ uniform",
	       "measured ~ model");
	for (int i = 0; i < NR_ROWS; i++)
		printf("%-19s %-28s %-28s %s\n", rows[i].text, fmt_test(&rows[i], 0, a, sizeof(a)),
		       fmt_test(&rows[i], 1, b, sizeof(b)), fmt_test(&rows[i], 2, c, sizeof(c)));
	print_campaign(mw, rows);
	printf("\n");
	cli_print_legend(legend, sizeof(legend) / sizeof(legend[0]));
}

static void json_col(struct json *j, const struct mw_row *r, int ci)
{
	const struct mw_col *c = &r->col[ci];

	json_obj_begin(j, col_key[ci]);
	json_double(j, "value", c->v);
	json_double(j, "ci95_lo", c->lo);
	json_double(j, "ci95_hi", c->hi);
	if (r->counts && ci != COL_UNIFORM) {
		json_u64(j, "k", c->k);
		json_u64(j, "n", c->n);
		json_double(j, "design_effect", c->deff);
		json_double(j, "naive_ci95_lo", c->naive_lo);
		json_double(j, "naive_ci95_hi", c->naive_hi);
	}
	if (r->counts && ci == COL_MODEL) {
		json_double(j, "campaign95_lo", c->camp_lo);
		json_double(j, "campaign95_hi", c->camp_hi);
	}
	if (c->how)
		json_str(j, "how", c->how);
	json_obj_end(j);
}

static void print_json(const struct merge_watch *mw, const struct json_node *first,
		       const struct mw_row *rows, double leaf_mix)
{
	struct json j;

	json_init(&j, stdout);
	json_obj_begin(&j, NULL);
	json_str(&j, "merged", "watch");
	json_str(&j, "kernel", text_of(json_member(first, "kernel")));
	json_u64(&j, "boots", mw->boots.nr);
	json_u64(&j, "model_runs", mw->nr_models);
	json_u64(&j, "model_hosts", mw->hosts.nr);
	json_u64(&j, "ram_pages", mw->ram_pages);
	json_double(&j, "leaf_mix", leaf_mix);
	json_u64(&j, "uniform_reps", MW_UNIFORM_REPS);
	json_u64(&j, "permutation_reps", MW_PERM_REPS);
	json_u64(&j, "campaign_reps", MW_CAMPAIGN_REPS);
	json_u64_str(&j, "seed", MW_SEED);
	json_arr_begin(&j, "rows");
	for (int i = 0; i < NR_ROWS; i++) {
		json_obj_begin(&j, NULL);
		json_str(&j, "statistic", rows[i].key);
		for (int c = 0; c < NR_COLS; c++)
			json_col(&j, &rows[i], c);
		if (rows[i].counts)
			json_str(&j, "measured_in_campaign95", campaign_verdict(&rows[i]));
		json_obj_begin(&j, "tests");
		for (int t = 0; t < NR_PAIRS; t++) {
			json_obj_begin(&j, pair_key[t]);
			json_str(&j, "test", rows[i].t[t].test);
			json_double(&j, "p", rows[i].t[t].p);
			json_double(&j, "power_threefold", rows[i].t[t].power);
			json_str(&j, "verdict", mw_verdict(&rows[i], t));
			json_obj_end(&j);
		}
		json_obj_end(&j);
		json_obj_end(&j);
	}
	json_arr_end(&j);
	json_obj_end(&j);
	json_finish(&j);
}

int merge_watch_report(const struct merge_watch *mw, const struct json_node *first, bool json)
{
	struct mw_row rows[NR_ROWS];
	double leaf_mix;
	int ret;

	memset(rows, 0, sizeof(rows));
	ret = compare(mw, rows, &leaf_mix);
	if (ret == SNP_EINVAL)
		return cli_usage_error("merge", "a run's vmcb01 pages are more than half its memory: "
				       "no uniform page to compare with");
	if (ret)
		return cli_fail("merge", "out of memory comparing the runs");
	if (json)
		print_json(mw, first, rows, leaf_mix);
	else
		print_text(mw, first, rows, leaf_mix);
	return CLI_EXIT_OK;
}
