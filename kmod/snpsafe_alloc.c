// SPDX-License-Identifier: GPL-2.0
/*
 * snpsafe: the three page-allocation strategies on the kernel page
 * allocator: naive here, upstream and sieve in the shared core
 * (snp_safe_core.c, compiled from src/kvm/), with per-node pools.
 *
 * Why a 2MB-aligned page is a problem: on early SEV-SNP parts, once VMRUN
 * has marked a VMCB, VMSA or AVIC backing page "in-use" in the RMP, a host
 * access through a 2MB (or 1GB) direct-map translation anywhere in the 2MB
 * region whose first 4K page is that in-use page raises a spurious RMP #PF.
 * A page whose pfn is not a multiple of 512 is never the first page of a
 * 2MB region, so it cannot trigger the erratum.
 */
#include <linux/kernel.h>
#include <linux/minmax.h>
#include <linux/nodemask.h>
#include <linux/mm.h>
#include <linux/percpu.h>
#include <linux/shrinker.h>
#include <linux/slab.h>
#include <linux/string.h>

#include "snpsafe_alloc.h"

static const char *const strategy_names[SNPSAFE_NR_STRATEGIES] = {
	[SNPSAFE_NAIVE]		= "naive",
	[SNPSAFE_UPSTREAM]	= "upstream",
	[SNPSAFE_SIEVE]		= "sieve",
};

const char *snpsafe_strategy_name(enum snpsafe_strategy s)
{
	return s < SNPSAFE_NR_STRATEGIES ? strategy_names[s] : "?";
}

int snpsafe_strategy_parse(const char *name, enum snpsafe_strategy *out)
{
	int i;

	for (i = 0; i < SNPSAFE_NR_STRATEGIES; i++) {
		if (sysfs_streq(name, strategy_names[i])) {
			*out = i;
			return 0;
		}
	}
	return -EINVAL;
}

/* The sieve whose pools go back when memory is short (one per module). */
static struct snpsafe_sieve *active_sieve;

int snpsafe_sieve_init(struct snpsafe_sieve *s, unsigned int cap)
{
	int nid;

	memset(s, 0, sizeof(*s));
	s->cap = min_t(unsigned int, cap, SNPSAFE_SIEVE_POOL_MAX);
	s->pool = kcalloc(nr_node_ids, sizeof(*s->pool), GFP_KERNEL);
	s->st = kcalloc(nr_node_ids, sizeof(*s->st), GFP_KERNEL);
	s->env.hot = alloc_percpu(struct snp_core_stats);
	if (!s->pool || !s->st || !s->env.hot)
		goto nomem;
	for (nid = 0; nid < nr_node_ids; nid++) {
		struct snp_core_pool *pool = &s->pool[nid];

		spin_lock_init(&pool->lock);
		pool->cap = s->cap;
		pool->st = &s->st[nid];
		if (s->cap && node_possible(nid)) {
			pool->slot = kcalloc(s->cap, sizeof(*pool->slot), GFP_KERNEL);
			if (!pool->slot)
				goto nomem;
		} else {
			pool->cap = 0;
		}
	}
	active_sieve = s;
	return 0;
nomem:
	snpsafe_sieve_destroy(s);
	return -ENOMEM;
}

void snpsafe_sieve_destroy(struct snpsafe_sieve *s)
{
	int nid;

	if (active_sieve == s)
		active_sieve = NULL;
	if (s->pool) {
		snpsafe_sieve_give_back(s, ULONG_MAX);
		for (nid = 0; nid < nr_node_ids; nid++)
			kfree(s->pool[nid].slot);
	}
	kfree(s->pool);
	kfree(s->st);
	free_percpu(s->env.hot);
	s->pool = NULL;
	s->st = NULL;
	s->env.hot = NULL;
	s->cap = 0;
}

bool snpsafe_sieve_park(struct snpsafe_sieve *s, struct page *page)
{
	return snp_core_park(&s->pool[page_to_nid(page)], page);
}

unsigned int snpsafe_sieve_count(struct snpsafe_sieve *s)
{
	unsigned int n = 0;
	int nid;

	for (nid = 0; nid < nr_node_ids; nid++)
		n += snp_core_read_len(&s->pool[nid]);
	return n;
}

/* Return up to @max parked pages of every node to the page allocator. */
unsigned long snpsafe_sieve_give_back(struct snpsafe_sieve *s,
				      unsigned long max)
{
	unsigned long freed = 0;
	int nid;

	for (nid = 0; nid < nr_node_ids && freed < max; nid++)
		freed += snp_core_give_back(&s->env, &s->pool[nid], max - freed);
	return freed;
}

unsigned long snpsafe_memory_short(void)
{
	return active_sieve ? snpsafe_sieve_give_back(active_sieve, ULONG_MAX) : 0;
}

static void stats_add(struct snp_core_stats *out, const struct snp_core_stats *in)
{
	out->sieve_calls += in->sieve_calls;
	out->sieve_hits += in->sieve_hits;
	out->fallbacks += in->fallbacks;
	out->pages_taken += in->pages_taken;
	out->order1_broken += in->order1_broken;
	out->set_aside += in->set_aside;
	out->set_aside_peak += in->set_aside_peak;
	out->set_aside_returned += in->set_aside_returned;
	out->frees += in->frees;
}

/*
 * Each counter lives in one place only (a pool's @st or the per-CPU copies),
 * so adding everything up gives each its total.
 */
void snpsafe_sieve_stats(struct snpsafe_sieve *s, struct snp_core_stats *out)
{
	int nid, cpu;

	memset(out, 0, sizeof(*out));
	for (nid = 0; nid < nr_node_ids; nid++) {
		struct snp_core_pool *pool = &s->pool[nid];

		spin_lock(&pool->lock);
		stats_add(out, pool->st);
		spin_unlock(&pool->lock);
	}
	for_each_possible_cpu(cpu)
		stats_add(out, per_cpu_ptr(s->env.hot, cpu));
}

/*
 * naive: alloc_pages_node(); upstream and sieve: the shared core, the sieve
 * parking an aligned page in the pool of the page's node.
 */
struct page *snpsafe_alloc_page(enum snpsafe_strategy strat,
				struct snpsafe_sieve *sieve, int node, gfp_t gfp)
{
	switch (strat) {
	case SNPSAFE_UPSTREAM:
		return snp_core_upstream_alloc(&sieve->env, node, gfp);
	case SNPSAFE_SIEVE:
		return snp_core_sieve_alloc(&sieve->env, sieve->pool, node, gfp);
	case SNPSAFE_NAIVE:
	default:
		return alloc_pages_node(node, gfp, 0);
	}
}

/* ------------------------------------------------------------- shrinker */

static struct snpsafe_sieve *shrink_sieve;

static unsigned long sieve_shrink_count(struct shrinker *sh,
					struct shrink_control *sc)
{
	unsigned int nr = shrink_sieve ? snpsafe_sieve_count(shrink_sieve) : 0;

	return nr ? nr : SHRINK_EMPTY;
}

static unsigned long sieve_shrink_scan(struct shrinker *sh,
				       struct shrink_control *sc)
{
	unsigned long freed;

	if (!shrink_sieve)
		return SHRINK_STOP;
	freed = snpsafe_sieve_give_back(shrink_sieve, sc->nr_to_scan);
	return freed ? freed : SHRINK_STOP;
}

unsigned long snpsafe_sieve_shrink_for_test(unsigned long nr_to_scan)
{
	struct shrink_control sc = {
		.gfp_mask = GFP_KERNEL,
		.nid = NUMA_NO_NODE,
		.nr_to_scan = nr_to_scan,
	};
	unsigned long freed = sieve_shrink_scan(NULL, &sc);

	return freed == SHRINK_STOP ? 0 : freed;
}

#ifdef SNPSAFE_HAVE_SHRINKER_ALLOC	/* 6.7+: Kbuild looked at shrinker.h */
static struct shrinker *sieve_shrinker;

int snpsafe_sieve_shrinker_register(struct snpsafe_sieve *s)
{
	sieve_shrinker = shrinker_alloc(0, "snpsafe-sieve");
	if (!sieve_shrinker)
		return -ENOMEM;
	shrink_sieve = s;
	sieve_shrinker->count_objects = sieve_shrink_count;
	sieve_shrinker->scan_objects = sieve_shrink_scan;
	sieve_shrinker->seeks = DEFAULT_SEEKS;
	shrinker_register(sieve_shrinker);
	return 0;
}

void snpsafe_sieve_shrinker_unregister(void)
{
	if (sieve_shrinker)
		shrinker_free(sieve_shrinker);
	sieve_shrinker = NULL;
	shrink_sieve = NULL;
}
#else
static struct shrinker sieve_shrinker = {
	.count_objects	= sieve_shrink_count,
	.scan_objects	= sieve_shrink_scan,
	.seeks		= DEFAULT_SEEKS,
};

static bool sieve_shrinker_on;

int snpsafe_sieve_shrinker_register(struct snpsafe_sieve *s)
{
	int ret;

	shrink_sieve = s;
	ret = register_shrinker(&sieve_shrinker, "snpsafe-sieve");	/* 6.0+: named */
	if (ret)
		shrink_sieve = NULL;
	else
		sieve_shrinker_on = true;
	return ret;
}

void snpsafe_sieve_shrinker_unregister(void)
{
	if (sieve_shrinker_on)
		unregister_shrinker(&sieve_shrinker);
	sieve_shrinker_on = false;
	shrink_sieve = NULL;
}
#endif
