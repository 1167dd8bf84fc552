// SPDX-License-Identifier: MIT
/*
 * mm_age.c - an ageing workload: leaves a fresh host the way a long-running
 * one looks (memory partly in use, free memory scattered in small blocks,
 * pcp lists of several CPUs populated).  Nothing in Linux: a test fixture.
 *
 * Fill past the target use (three quarters of the way to full) with a mix of
 * orders on random CPUs, then churn: allocate while under the target, free a
 * random allocation while over it
 * (long-lived ones are mostly spared), until at least churn_ops operations
 * are done and the order-9 unusable index reaches target_frag (or max_ops).
 * Everything is driven by one seeded splitmix64 stream, so the same seed gives
 * the same host; every allocation is remembered so mm_aged_release() can give
 * all of it back.
 */
#include "mm/mm_internal.h"

#include <stdlib.h>
#include <string.h>

struct mm_held {
	uint32_t pfn;
	uint8_t order;
	uint8_t long_lived;
};

struct mm_aged {
	struct mm_held *v;
	size_t n, cap;
	uint64_t pages;
};

struct age_run {
	struct mm_host *mm;
	const struct mm_age_config *cfg;
	struct mm_aged *aged;
	uint64_t rng;
	uint64_t target;
	unsigned int cpu;   /* the CPU the next operation runs on */
};

/* splitmix64 (Steele, Lea, Flood 2014): small, fast, full period. */
uint64_t mm_rng_next(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

uint64_t mm_rng_below(uint64_t *state, uint64_t bound)
{
	return bound ? mm_rng_next(state) % bound : 0;
}

void mm_age_config_init(struct mm_age_config *cfg, uint64_t seed)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->seed = seed;
	cfg->target_use = 600;
	cfg->target_frag = 300;
	cfg->churn_ops = 0;   /* auto: scaled to the host, see mm_age() */
	cfg->max_ops = 0;
	cfg->max_order = MM_PAGEBLOCK_ORDER;
	cfg->long_lived = 250;
	cfg->movable = 700;
	cfg->reclaimable = 80;
}

/* Mostly order 0, some small orders, a few large ones (slab, THP-like). */
static unsigned int pick_order(struct age_run *r)
{
	uint64_t x = mm_rng_below(&r->rng, 1000);
	unsigned int o;

	if (x < 600)
		o = 0;
	else if (x < 720)
		o = 1;
	else if (x < 820)
		o = 2;
	else if (x < 900)
		o = 3;
	else
		o = 4 + (unsigned int)mm_rng_below(&r->rng, MM_MAX_ORDER - 3);
	return o > r->cfg->max_order ? r->cfg->max_order : o;
}

static SNP_MUST_CHECK int held_push(struct mm_aged *a, uint32_t pfn, unsigned int order, bool long_lived)
{
	if (a->n == a->cap) {
		size_t cap = a->cap ? a->cap * 2 : 1024;
		struct mm_held *v = realloc(a->v, cap * sizeof(*v));

		if (!v)
			return SNP_ENOMEM;
		a->v = v;
		a->cap = cap;
	}
	a->v[a->n++] = (struct mm_held){ pfn, (uint8_t)order, long_lived };
	a->pages += 1ULL << order;
	return 0;
}

/* Each operation runs on a random CPU, so every CPU's lists see traffic. */
static void run_on_random_cpu(struct age_run *r)
{
	r->cpu = (unsigned int)mm_rng_below(&r->rng, r->mm->nr_cpus);
}

/*
 * The request's mobility: orders above 3 are large folios of the page cache
 * and anonymous THPs (SLUB slabs stop at order 3), so MOVABLE; smaller ones
 * are MOVABLE (page cache, anon), RECLAIMABLE (dentry and inode slabs) or
 * UNMOVABLE (other slabs, page tables, kernel buffers) by cfg's shares.
 */
static mm_gfp_t pick_gfp(struct age_run *r, unsigned int order)
{
	uint64_t x = mm_rng_below(&r->rng, 1000);

	if (order > MM_PCP_MAX_ORDER || x < r->cfg->movable)
		return MM_GFP_HIGHUSER_MOVABLE;
	if (x < r->cfg->movable + r->cfg->reclaimable)
		return MM_GFP_KERNEL | MM_GFP_RECLAIMABLE;
	return MM_GFP_KERNEL;
}

/* One allocation; a failed large one is retried at order 0.  1 done, 0 full. */
static SNP_MUST_CHECK int age_alloc(struct age_run *r)
{
	unsigned int order = pick_order(r);
	mm_gfp_t gfp = pick_gfp(r, order);
	struct page *p;
	int err;

	run_on_random_cpu(r);
	p = mm_alloc_pages(r->mm, r->cpu, gfp, order);
	if (!p && order) {
		order = 0;
		p = mm_alloc_pages(r->mm, r->cpu, gfp, 0);
	}
	if (!p)
		return 0;
	err = mm_page_write(r->mm, p);
	if (!err && held_push(r->aged, mm_pfn_of(r->mm, p), order,
			      mm_rng_below(&r->rng, 1000) < r->cfg->long_lived))
		err = SNP_ENOMEM;
	if (err) {
		/* The page was just allocated: freeing it back cannot fail but would hide err. */
		snp_ignore_result(mm_free_pages(r->mm, r->cpu, p, order));
		return err;
	}
	return 1;
}

/* Free a random allocation; a long-lived one survives 9 picks out of 10. */
static SNP_MUST_CHECK int age_free(struct age_run *r)
{
	struct mm_aged *a = r->aged;
	size_t i = 0;
	struct mm_held h;

	if (!a->n)
		return 0;
	for (int tries = 0; tries < 4; tries++) {
		i = (size_t)mm_rng_below(&r->rng, a->n);
		if (!a->v[i].long_lived || mm_rng_below(&r->rng, 10) == 0)
			break;
	}
	h = a->v[i];
	a->v[i] = a->v[--a->n];
	a->pages -= 1ULL << h.order;
	run_on_random_cpu(r);
	return mm_free_pages(r->mm, r->cpu, &r->mm->mem_map[h.pfn], h.order);
}

static bool frag_reached(const struct age_run *r)
{
	for (unsigned int nid = 0; nid < r->mm->nr_nodes; nid++)
		if (mm_unusable_index(r->mm, (int)nid, MM_PAGEBLOCK_ORDER) <
		    (int)r->cfg->target_frag)
			return false;
	return true;
}

/* Churn ops: as configured, or (0) one per managed page, at most 8 per page. */
static SNP_MUST_CHECK int age_churn(struct age_run *r, uint64_t managed)
{
	uint64_t churn = r->cfg->churn_ops ? r->cfg->churn_ops : managed;
	uint64_t max = r->cfg->max_ops ? r->cfg->max_ops : 8 * managed;
	bool frag = false;

	for (uint64_t ops = 0; ops < max; ops++) {
		int err;

		if ((ops & 1023) == 0)
			frag = frag_reached(r);
		if (ops >= churn && frag)
			break;
		if (r->aged->pages < r->target) {
			err = age_alloc(r);
			if (!err)
				err = age_free(r);
		} else {
			err = age_free(r);
		}
		if (err < 0)
			return err;
	}
	return 0;
}

static SNP_MUST_CHECK int check_age_config(const struct mm_host *mm, const struct mm_age_config *cfg)
{
	if (!mm || !cfg || cfg->target_use > 950 || cfg->max_order > MM_MAX_ORDER ||
	    cfg->long_lived > 1000 || cfg->target_frag > 1000 ||
	    cfg->movable > 1000 || cfg->reclaimable > 1000 - cfg->movable ||
	    (cfg->max_ops && cfg->max_ops < cfg->churn_ops))
		return SNP_EINVAL;
	return 0;
}

int mm_age(struct mm_host *mm, const struct mm_age_config *cfg, struct mm_aged **out)
{
	struct age_run r = { .mm = mm, .cfg = cfg };
	struct mm_counts c;
	uint64_t fill, managed, in_use;
	int err = check_age_config(mm, cfg);

	if (err || !out)
		return err ? err : SNP_EINVAL;
	*out = NULL;
	r.aged = calloc(1, sizeof(*r.aged));
	if (!r.aged)
		return SNP_ENOMEM;
	r.rng = cfg->seed;
	err = mm_get_counts(mm, MM_NUMA_NO_NODE, &c);
	if (err) {
		free(r.aged);
		return err;
	}
	/* The pages ageing works on: all but the reserved and the held (mm_config.held_bytes). */
	managed = c.present - c.reserved - mm_held_pages(mm);
	r.target = managed * cfg->target_use / 1000;
	/* in use counts what the host already allocated (a qemu-pc boot's own memory) */
	in_use = c.allocated - mm_held_pages(mm);
	r.target = r.target > in_use ? r.target - in_use : 0;
	/* Overfill, so the churn's random frees punch holes all over memory. */
	fill = r.target + (managed - r.target) * 3 / 4;
	while (r.aged->pages < fill && (err = age_alloc(&r)) > 0)
		;
	if (err >= 0)
		err = age_churn(&r, managed);
	if (err < 0) {
		/* The first error is the one to report; a release error would only repeat it. */
		snp_ignore_result(mm_aged_release(mm, r.aged));
		return err;
	}
	*out = r.aged;
	return 0;
}

uint64_t mm_aged_pages(const struct mm_aged *aged)
{
	return aged ? aged->pages : 0;
}

int mm_aged_release(struct mm_host *mm, struct mm_aged *aged)
{
	int err = 0;

	if (!mm || !aged)
		return SNP_EINVAL;
	/* A teardown: every allocation is given back on CPU 0. */
	for (size_t i = 0; i < aged->n; i++) {
		int e = mm_free_pages(mm, 0, &mm->mem_map[aged->v[i].pfn], aged->v[i].order);

		if (e && !err)
			err = e;
	}
	mm_aged_forget(aged);
	return err;
}

void mm_aged_forget(struct mm_aged *aged)
{
	if (!aged)
		return;
	free(aged->v);
	free(aged);
}
