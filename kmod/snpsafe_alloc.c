// SPDX-License-Identifier: GPL-2.0
/*
 * snpsafe: the three page-allocation strategies, written against the
 * kernel page allocator.
 *
 * Why a 2MB-aligned page is a problem: on early SEV-SNP parts, once VMRUN
 * has marked a VMCB, VMSA or AVIC backing page "in-use" in the RMP, a host
 * access through a 2MB (or 1GB) direct-map translation anywhere in the 2MB
 * region whose first 4K page is that in-use page raises a spurious RMP #PF.
 * A page whose pfn is not a multiple of 512 is never the first page of a
 * 2MB region, so it cannot trigger the erratum.
 */
#include <linux/kernel.h>
#include <linux/mm.h>
#include <linux/shrinker.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/version.h>

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

/* naive: one ordinary order-0 page, possibly 2MB-aligned. */
struct page *snpsafe_naive_alloc(int node, gfp_t gfp)
{
	return alloc_pages_node(node, gfp, 0);
}

/*
 * upstream: take an order-1 block (two physically adjacent pages), split it
 * into two independent order-0 pages, keep one and free the other.
 *
 * Why the kept page is never 2MB-aligned: the buddy allocator aligns every
 * block to its own size, so an order-1 block starts at an even pfn and its
 * pages are pfn 2k and 2k+1.  A 2MB-aligned pfn is a multiple of 512, and
 * every multiple of 512 is even, so pfn 2k+1 can never be aligned; only
 * pfn 2k can.  Hence at most one page of the pair is aligned, and which one
 * is known in advance: test the first page; if it is aligned keep the
 * second, otherwise keep the first.  The code identifies the safe page, it
 * does not search for one, and there is no retry loop.
 *
 * The cost is an order-1 block per page: when no free order-1 block exists
 * the allocator breaks a larger one, which is the fragmentation the sieve
 * strategy avoids in the common case.
 */
struct page *snpsafe_upstream_alloc(int node, gfp_t gfp)
{
	struct page *first, *keep, *drop;

	first = alloc_pages_node(node, gfp & ~__GFP_COMP, 1);
	if (!first)
		return NULL;

	split_page(first, 1);
	if (snpsafe_page_2m_aligned(first)) {
		keep = first + 1;
		drop = first;
	} else {
		keep = first;
		drop = first + 1;
	}
	__free_page(drop);
	return keep;
}

/* ---------------------------------------------------------------- sieve */

int snpsafe_sieve_init(struct snpsafe_sieve *s, unsigned int cap)
{
	memset(s, 0, sizeof(*s));
	spin_lock_init(&s->lock);
	if (cap > SNPSAFE_SIEVE_POOL_MAX)
		cap = SNPSAFE_SIEVE_POOL_MAX;
	s->cap = cap;
	if (!cap)
		return 0;
	s->pool = kcalloc(cap, sizeof(*s->pool), GFP_KERNEL);
	return s->pool ? 0 : -ENOMEM;
}

void snpsafe_sieve_destroy(struct snpsafe_sieve *s)
{
	snpsafe_sieve_give_back(s, ULONG_MAX);
	kfree(s->pool);
	s->pool = NULL;
	s->cap = 0;
}

/* Set an aligned page aside; false when the pool is full. */
bool snpsafe_sieve_park(struct snpsafe_sieve *s, struct page *page)
{
	bool parked = false;

	spin_lock(&s->lock);
	if (s->nr < s->cap) {
		s->pool[s->nr++] = page;
		s->st.parked++;
		if (s->nr > s->st.high_water)
			s->st.high_water = s->nr;
		parked = true;
	}
	spin_unlock(&s->lock);
	return parked;
}

unsigned int snpsafe_sieve_count(struct snpsafe_sieve *s)
{
	return READ_ONCE(s->nr);
}

/* Return up to @max parked pages to the page allocator; the number freed. */
unsigned long snpsafe_sieve_give_back(struct snpsafe_sieve *s,
				      unsigned long max)
{
	unsigned long freed = 0;
	struct page *page;

	while (freed < max) {
		spin_lock(&s->lock);
		page = s->nr ? s->pool[--s->nr] : NULL;
		if (page)
			s->st.given_back++;
		spin_unlock(&s->lock);
		if (!page)
			break;
		__free_page(page);
		freed++;
	}
	return freed;
}

/*
 * sieve: an ordinary order-0 page, unless it is 2MB-aligned.  An aligned
 * page is not freed: order-0 frees go to the head of the per-CPU free list
 * and the next order-0 allocation on this CPU pops that same head, so
 * "free and retry" just gets the aligned page back (ping-pong).  Instead
 * it is parked in the pool, where no one can be handed it, and another
 * page is taken; the loop is bounded by the pool's free room.  Parked
 * pages go back to the kernel under memory pressure (the shrinker), when
 * even the fallback fails, and at teardown.  When the pool is full, or
 * order-0 allocation fails, the order-1 method above is the fallback, so
 * the result is never aligned either way.
 *
 * The caller's gfp goes to the order-0 allocation unchanged, __GFP_ZERO
 * included: clearing only the kept page afterwards would spare a parked
 * page its clearing (one page in 512), but on kernels with init_on_alloc
 * (Debian's default) the allocator clears every page anyway, and the
 * page would be cleared twice.
 */
struct page *snpsafe_sieve_alloc(struct snpsafe_sieve *s, int node, gfp_t gfp)
{
	struct page *page;

	s->st.calls++;
	while (snpsafe_sieve_count(s) < s->cap) {
		page = alloc_pages_node(node, gfp, 0);
		if (!page) {
			s->st.fallback_nomem++;
			goto fallback;
		}
		if (!snpsafe_page_2m_aligned(page)) {
			s->st.order0_hits++;
			return page;
		}
		if (!snpsafe_sieve_park(s, page)) {
			__free_page(page);	/* lost a race for the last slot */
			break;
		}
	}
	s->st.fallback_full++;
fallback:
	page = snpsafe_upstream_alloc(node, gfp);
	if (!page && snpsafe_sieve_give_back(s, ULONG_MAX))
		page = snpsafe_upstream_alloc(node, gfp);	/* memory is short */
	return page;
}

struct page *snpsafe_alloc_page(enum snpsafe_strategy strat,
				struct snpsafe_sieve *sieve, int node, gfp_t gfp)
{
	switch (strat) {
	case SNPSAFE_UPSTREAM:
		return snpsafe_upstream_alloc(node, gfp);
	case SNPSAFE_SIEVE:
		return snpsafe_sieve_alloc(sieve, node, gfp);
	case SNPSAFE_NAIVE:
	default:
		return snpsafe_naive_alloc(node, gfp);
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

#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 7, 0)
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
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 0, 0)
	ret = register_shrinker(&sieve_shrinker, "snpsafe-sieve");
#else
	ret = register_shrinker(&sieve_shrinker);
#endif
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
