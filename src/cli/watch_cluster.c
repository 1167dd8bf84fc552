// SPDX-License-Identifier: MIT
/*
 * watch_cluster.c - the measured column of the model-against-reality
 * comparison from one watch run (watch_cluster.h): the vmcb01 allocations
 * of the allocation log's call site, joined with the trace's 2M/1G-leaf
 * stores, and the clustering of their distinct pages.
 */
#include "watch_cluster.h"

#include <snpsafe/trace.h>

#include <stdlib.h>
#include <string.h>

struct regions {
	uint64_t *v;
	size_t nr, cap;
};

static bool regions_add(struct regions *r, uint64_t region)
{
	if (r->nr && r->v[r->nr - 1] == region)
		return true;     /* stores come in runs: keep the list short */
	if (r->nr == r->cap) {
		size_t cap = r->cap ? 2 * r->cap : 256;
		uint64_t *v = realloc(r->v, cap * sizeof(*v));

		if (!v)
			return false;
		r->v = v;
		r->cap = cap;
	}
	r->v[r->nr++] = region;
	return true;
}

static int cmp_u64(const void *a, const void *b)
{
	const uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static bool regions_has(const struct regions *r, uint64_t region)
{
	return r->nr && bsearch(&region, r->v, r->nr, sizeof(*r->v), cmp_u64);
}

/* The 2MB regions that took a recorded store through a 2M or 1G leaf, sorted. */
static SNP_MUST_CHECK int huge_regions(const char *path, struct regions *r, char *err, size_t errlen)
{
	struct snp_trace_event ev;
	struct snp_trace *t;
	bool ok = true;
	int ret;

	ret = snp_trace_open(path, &t, err, errlen);
	if (ret)
		return ret;
	while (ok && (ret = snp_trace_next(t, &ev)) > 0)
		if (ev.type == SNP_TR_STORE && ev.level >= SNP_TRL_2M)
			ok = regions_add(r, snp_phys_to_pfn(ev.pa) / SNP_PTRS_PER_PMD);
	if (!ok) {
		snprintf(err, errlen, "out of memory reading %s", path);
		ret = SNP_ENOMEM;
	} else if (ret < 0) {
		snprintf(err, errlen, "%s: %s", path, snp_trace_error(t));
	}
	snp_trace_close(t);
	if (ret >= 0 && r->nr)
		qsort(r->v, r->nr, sizeof(*r->v), cmp_u64);
	return ret < 0 ? ret : 0;
}

/* Each vmcb01 allocation (the site provenance found), its page into pfns. */
static SNP_MUST_CHECK int vmcb01_pages(const struct watch_prov *wp, const struct regions *huge,
				       struct watch_cluster *w, snp_pfn_t **pfns)
{
	const struct snp_vmcb01_allocs *v = &wp->prov.vmcb01;
	const struct snp_alloc_log *l = &wp->log;
	size_t n = 0;

	*pfns = malloc((l->nr_rec ? l->nr_rec : 1) * sizeof(**pfns));
	if (!*pfns)
		return SNP_ENOMEM;
	for (size_t i = 0; i < l->nr_rec; i++) {
		const struct snp_alloc_rec *r = &l->rec[i];
		bool aligned;

		if (r->caller != v->caller || r->src != v->src)
			continue;
		aligned = snp_pfn_2m_aligned(r->pfn);
		w->allocs++;
		w->aligned += aligned;
		w->exposed += aligned && regions_has(huge, r->pfn / SNP_PTRS_PER_PMD);
		(*pfns)[n++] = r->pfn;
	}
	w->c.units = 1;
	return sim_cluster_of(*pfns, n, &w->c);
}

/* Of the distinct pages' regions, those in huge. */
static uint64_t count_huge(snp_pfn_t *pfns, size_t n, const struct regions *huge)
{
	uint64_t hits = 0, last = UINT64_MAX;

	qsort(pfns, n, sizeof(*pfns), cmp_u64);
	for (size_t i = 0; i < n; i++) {
		uint64_t region = pfns[i] / SNP_PTRS_PER_PMD;

		if (region != last)
			hits += regions_has(huge, region);
		last = region;
	}
	return hits;
}

int watch_cluster_load(const char *trace, const struct watch_prov *wp, struct watch_cluster *out,
		       char *err, size_t errlen)
{
	struct regions huge = { 0 };
	snp_pfn_t *pfns = NULL;
	int ret;

	memset(out, 0, sizeof(*out));
	if (!wp->recorded || !wp->prov.vmcb01.found)
		return 0;
	ret = huge_regions(trace, &huge, err, errlen);
	if (!ret) {
		ret = vmcb01_pages(wp, &huge, out, &pfns);
		if (ret)
			snprintf(err, errlen, "out of memory counting the vmcb01 pages of %s", trace);
	}
	if (!ret) {
		out->regions_huge = count_huge(pfns, out->allocs, &huge);
		out->have = true;
	}
	free(pfns);
	free(huge.v);
	return ret;
}

void watch_cluster_print_json(struct json *j, const struct watch_cluster *w)
{
	if (!w->have) {
		json_str(j, "clustering", NULL);   /* null: no vmcb01 site in the log */
		return;
	}
	json_u64(j, "vmcb01_exposed", w->exposed);
	json_u64(j, "vmcb01_regions_huge_leaf", w->regions_huge);
	cli_json_cluster(j, "clustering", &w->c);
}

static void print_line(const char *who, const struct sim_cluster *c)
{
	char a[24], b[24], d[24], e[24];

	printf("  %-8s %llu pages in %s regions (mean per %s), largest %s, five busiest %s%%, "
	       "aligned with company %llu of %llu, %s allocations a page\n", who,
	       (unsigned long long)c->pages,
	       cli_fmt_fixed(sim_cluster_value(c, SIM_CLUSTER_REGIONS), 1, a, sizeof(a)),
	       c->units > 1 ? "host" : "run",
	       cli_fmt_fixed(sim_cluster_value(c, SIM_CLUSTER_MAX), 1, b, sizeof(b)),
	       cli_fmt_fixed(100 * sim_cluster_value(c, SIM_CLUSTER_TOP5_SHARE), 1, d, sizeof(d)),
	       (unsigned long long)c->aligned_shared, (unsigned long long)c->aligned,
	       cli_fmt_fixed(sim_cluster_value(c, SIM_CLUSTER_ALLOCS_PER_PAGE), 2, e, sizeof(e)));
}

void watch_cluster_print_text(const struct watch_cluster *w, const struct sim_cluster *model)
{
	printf("\nvmcb01 pages by 2MB region (distinct pages; snpsafe merge adds the uniform page "
	       "and the tests):\n");
	if (!w->have) {
		printf("  measured: not in this run's allocation log (no vmcb01 call site)\n");
	} else {
		print_line("measured", &w->c);
		printf("  %-8s %llu of %llu aligned vmcb01 allocations under a 2M/1G leaf; %llu of the "
		       "%llu regions took a 2M/1G-leaf store\n", "", (unsigned long long)w->exposed,
		       (unsigned long long)w->aligned, (unsigned long long)w->regions_huge,
		       (unsigned long long)w->c.regions);
	}
	print_line("model", model);
}
