// SPDX-License-Identifier: MIT
/*
 * snp_alloc.c - pages safe to become in-use on SNP parts with the 2MB erratum
 * (snp-facts §1): the three strategies of snpsafe/snp_alloc.h.  Only the
 * allocator's public calls are used (alloc_pages_node, split_page,
 * __free_page), as arch/x86/kvm/svm/sev.c would; the per-host state lives in
 * struct mm_host because the model has no module globals.
 */
#include "mm/mm_internal.h"

#include <stdlib.h>
#include <string.h>

static const char *const strategy_names[SNP_ALLOC_NR_STRATEGIES] = {
	[SNP_ALLOC_NAIVE] = "naive",
	[SNP_ALLOC_UPSTREAM] = "upstream",
	[SNP_ALLOC_SIEVE] = "sieve",
};

int snp_alloc_strategy_parse(const char *name, enum snp_alloc_strategy *out)
{
	if (!name || !out)
		return SNP_EINVAL;
	for (int s = 0; s < SNP_ALLOC_NR_STRATEGIES; s++)
		if (!strcmp(name, strategy_names[s])) {
			*out = (enum snp_alloc_strategy)s;
			return 0;
		}
	return SNP_EINVAL;
}

const char *snp_alloc_strategy_name(enum snp_alloc_strategy s)
{
	if ((unsigned int)s >= SNP_ALLOC_NR_STRATEGIES)
		return "?";
	return strategy_names[s];
}

int snp_alloc_init(struct mm_host *mm)
{
	struct snp_alloc_state *st = &mm->snp;

	st->cfg.strategy = SNP_ALLOC_UPSTREAM;
	st->cfg.snp_enabled = true;
	st->cfg.pool_cap = SNP_SIEVE_POOL_DEFAULT;
	/* Room for the largest cap, so reconfiguring never reallocates. */
	st->pool = calloc((size_t)mm->nr_nodes * SNP_SIEVE_POOL_MAX, sizeof(*st->pool));
	st->pool_len = calloc(mm->nr_nodes, sizeof(*st->pool_len));
	return st->pool && st->pool_len ? 0 : SNP_ENOMEM;
}

void snp_alloc_fini(struct mm_host *mm)
{
	free(mm->snp.pool);
	free(mm->snp.pool_len);
	mm->snp.pool = NULL;
	mm->snp.pool_len = NULL;
}

int snp_alloc_get_config(const struct mm_host *mm, struct snp_alloc_config *out)
{
	if (!mm || !out)
		return SNP_EINVAL;
	*out = mm->snp.cfg;
	return 0;
}

int snp_alloc_configure(struct mm_host *mm, const struct snp_alloc_config *cfg)
{
	if (!mm || !cfg)
		return SNP_EINVAL;
	if ((unsigned int)cfg->strategy >= SNP_ALLOC_NR_STRATEGIES || cfg->pool_cap < 1 ||
	    cfg->pool_cap > SNP_SIEVE_POOL_MAX)
		return mm_err(mm, SNP_EINVAL);
	snp_safe_release(mm);
	mm->snp.cfg = *cfg;
	return 0;
}

int snp_alloc_get_stats(const struct mm_host *mm, struct snp_alloc_stats *out)
{
	if (!mm || !out)
		return SNP_EINVAL;
	*out = mm->snp.stats;
	return 0;
}

void snp_alloc_reset_stats(struct mm_host *mm)
{
	uint64_t cur;

	if (!mm)
		return;
	cur = mm->snp.stats.set_aside;
	memset(&mm->snp.stats, 0, sizeof(mm->snp.stats));
	mm->snp.stats.set_aside = cur;
	mm->snp.stats.set_aside_peak = cur;
}

/* get_zeroed_page() on @node: a kernel without the workaround, or SNP off. */
static struct page *plain_alloc(struct mm_host *mm, int node, mm_gfp_t gfp)
{
	struct page *p = mm_alloc_pages_node(mm, node, gfp | MM_GFP_ZERO, 0);

	if (p)
		mm->snp.stats.pages_taken++;
	return p;
}

/**
 * upstream_alloc() - Linux's snp_safe_alloc_page_node() with SNP enabled.
 * @mm: the host
 * @node: preferred node, or MM_NUMA_NO_NODE
 * @gfp: caller's flags; __GFP_ZERO is added as upstream does
 *
 * Allocate an order-1 block, split_page() it into two order-0 pages, keep
 * the one that is not 2MB-aligned and free the other.
 *
 * Why the kept page is *guaranteed* unaligned: the buddy allocator hands out
 * an order-1 block at a pfn that is a multiple of 2, so the pair is (2k,
 * 2k+1).  A 2MB-aligned page has a pfn that is a multiple of 512, which is
 * even; so 2k+1 is never aligned and at most 2k is.  The code therefore does
 * not search for a good page, it identifies it: if the first page is aligned
 * keep the second, otherwise keep the first (both are fine, the first is
 * kept as upstream does).  The price is one order-1 block broken per call.
 */
static struct page *upstream_alloc(struct mm_host *mm, int node, mm_gfp_t gfp)
{
	struct snp_alloc_stats *st = &mm->snp.stats;
	struct page *p = mm_alloc_pages_node(mm, node, gfp | MM_GFP_ZERO, 1);
	struct page *keep, *other;

	if (!p)
		return NULL;
	st->pages_taken += 2;
	st->order1_broken++;
	mm_split_page(mm, p, 1);
	if (snp_pfn_2m_aligned(mm_pfn_of(mm, p))) {
		keep = p + 1;
		other = p;
	} else {
		keep = p;
		other = p + 1;
	}
	mm_free_pages(mm, other, 0);
	st->frees++;
	return keep;
}

static void pool_push(struct mm_host *mm, unsigned int nid, struct page *p)
{
	struct snp_alloc_state *st = &mm->snp;

	st->pool[(size_t)nid * SNP_SIEVE_POOL_MAX + st->pool_len[nid]++] = mm_pfn_of(mm, p);
	if (++st->stats.set_aside > st->stats.set_aside_peak)
		st->stats.set_aside_peak = st->stats.set_aside;
}

/**
 * sieve_alloc() - our strategy: the ordinary order-0 path, filtered.
 * @mm: the host
 * @node: preferred node (resolved, never MM_NUMA_NO_NODE)
 * @gfp: caller's flags
 *
 * Take order-0 pages through the pcp lists, as any get_zeroed_page() would,
 * until one is not 2MB-aligned; zero only that one.  An aligned page is put
 * in @node's pool, not freed: the pcp list is LIFO, so a freed page would be
 * the very next one handed out and every call would meet it again
 * (ping-pong).  Each aligned page costs one pool slot, so the loop ends.
 * When the pool is full or order-0 fails, use upstream's order-1 method; when
 * that fails too, memory is short: the pools go back to the allocator and the
 * order-1 method is tried once more.  Aligned pages are about 1 in 512 of
 * the pages the pcp lists pass around, so the common case is one order-0
 * allocation, one alignment test and one page cleared.
 */
static struct page *sieve_alloc(struct mm_host *mm, int node, mm_gfp_t gfp)
{
	struct snp_alloc_state *st = &mm->snp;
	unsigned int nid = (unsigned int)node;
	struct page *p;

	while (st->pool_len[nid] < st->cfg.pool_cap) {
		p = mm_alloc_pages_node(mm, node, gfp & ~MM_GFP_ZERO, 0);
		if (!p)
			break;
		st->stats.pages_taken++;
		if (!snp_pfn_2m_aligned(mm_pfn_of(mm, p))) {
			mm_clear_page(mm, p);   /* clear_page() of the one page kept */
			return p;
		}
		pool_push(mm, nid, p);
	}
	st->stats.fallbacks++;
	p = upstream_alloc(mm, node, gfp);
	if (!p && snp_safe_release(mm) > 0)
		p = upstream_alloc(mm, node, gfp);
	return p;
}

static struct page *dispatch(struct mm_host *mm, int node, mm_gfp_t gfp)
{
	if (mm->snp.cfg.strategy == SNP_ALLOC_NAIVE || !mm->snp.cfg.snp_enabled)
		return plain_alloc(mm, node, gfp);
	if (mm->snp.cfg.strategy == SNP_ALLOC_UPSTREAM)
		return upstream_alloc(mm, node, gfp);
	return sieve_alloc(mm, node, gfp);
}

struct page *snp_safe_alloc_page_node(struct mm_host *mm, int node, mm_gfp_t gfp)
{
	struct snp_alloc_stats *st;
	struct page *p;

	if (!mm)
		return NULL;
	if (node == MM_NUMA_NO_NODE)
		node = mm_numa_node_id(mm);
	if (node < 0 || (unsigned int)node >= mm->nr_nodes || (gfp & ~MM_GFP_ALL)) {
		mm_err(mm, SNP_EINVAL);
		return NULL;
	}
	st = &mm->snp.stats;
	p = dispatch(mm, node, gfp);
	if (!p) {
		st->failures++;
		mm_err(mm, SNP_ENOMEM);
		return NULL;
	}
	st->allocs++;
	if (snp_pfn_2m_aligned(mm_pfn_of(mm, p)))
		st->aligned_returned++;
	mm->last_err = 0;
	return p;
}

struct page *snp_safe_alloc_page(struct mm_host *mm)
{
	return snp_safe_alloc_page_node(mm, MM_NUMA_NO_NODE, MM_GFP_KERNEL_ACCOUNT);
}

int snp_safe_free_page(struct mm_host *mm, struct page *page)
{
	int err = mm_free_pages(mm, page, 0);

	if (!err)
		mm->snp.stats.frees++;
	return err;
}

int snp_safe_shrink(struct mm_host *mm, uint64_t nr)
{
	struct snp_alloc_state *st;
	int done = 0;

	if (!mm)
		return SNP_EINVAL;
	st = &mm->snp;
	for (unsigned int nid = 0; nid < mm->nr_nodes; nid++)
		while (st->pool_len[nid] && (uint64_t)done < nr) {
			uint32_t pfn = st->pool[(size_t)nid * SNP_SIEVE_POOL_MAX + --st->pool_len[nid]];

			mm_free_pages(mm, &mm->mem_map[pfn], 0);
			st->stats.set_aside--;
			st->stats.set_aside_returned++;
			st->stats.frees++;
			done++;
		}
	return done;
}

int snp_safe_release(struct mm_host *mm)
{
	return snp_safe_shrink(mm, UINT64_MAX);
}
