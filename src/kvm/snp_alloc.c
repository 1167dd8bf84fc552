// SPDX-License-Identifier: MIT
/*
 * snp_alloc.c - snp_safe_alloc_page_node() and friends: pages safe to
 * become in-use on SNP parts with the 2MB erratum (snp-facts §1), the three
 * strategies of snpsafe/snp_alloc.h.  KVM's code (Linux:
 * arch/x86/kvm/svm/sev.c), so it lives in the KVM layer and uses only the
 * allocator's public calls (snpsafe/mm.h).  The strategy logic itself is
 * snp_safe_core.c, shared with the kernel module; this file is its thin
 * adapter's other half: configuration, per-node pools and statistics, kept
 * as the host's client data because the model has no module globals.
 */
#include "kvm/snp_safe_core.h"

#include <snpsafe/snp_alloc.h>

#include <stdlib.h>
#include <string.h>

struct snp_alloc_state {
	struct snp_alloc_config cfg;
	struct snp_core_stats core;      /* shared by the node pools */
	uint64_t allocs, failures, aligned_returned;
	unsigned int nr_nodes;
	struct snp_core_pool *pool;      /* one per node */
	struct page **slots;             /* nr_nodes * SNP_SIEVE_POOL_MAX */
	struct snp_alloc_call call[2];   /* the last call and the one before (snp_alloc_recent_call) */
	unsigned int cur;                /* call[cur] is the last */
	struct snp_alloc_rec *rec;       /* inside snp_safe_alloc_page_node(): its record, else NULL */
};

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

static const struct snp_alloc_config default_config = {
	.strategy = SNP_ALLOC_UPSTREAM,
	.snp_enabled = true,
	.pool_cap = SNP_SIEVE_POOL_DEFAULT,
};

static void state_free(struct snp_alloc_state *st)
{
	if (!st)
		return;
	free(st->pool);
	free(st->slots);
	free(st);
}

/* At mm_host_destroy(): pool pages die with the host, only our memory goes. */
static void state_release(struct mm_host *mm, void *data)
{
	(void)mm;
	state_free(data);
}

static void set_caps(struct snp_alloc_state *st)
{
	for (unsigned int n = 0; n < st->nr_nodes; n++)
		st->pool[n].cap = st->cfg.pool_cap;
}

/* The host's state, made on first use; NULL only when memory is short. */
static struct snp_alloc_state *state_of(struct mm_host *mm)
{
	struct snp_alloc_state *st = mm_client(mm);

	if (st)
		return st;
	st = calloc(1, sizeof(*st));
	if (!st)
		return NULL;
	st->cfg = default_config;
	st->nr_nodes = mm_nr_nodes(mm);
	st->pool = calloc(st->nr_nodes, sizeof(*st->pool));
	/* Room for the largest cap, so reconfiguring never reallocates. */
	st->slots = calloc((size_t)st->nr_nodes * SNP_SIEVE_POOL_MAX, sizeof(*st->slots));
	if (!st->pool || !st->slots || mm_set_client(mm, st, state_release)) {
		state_free(st);
		return NULL;
	}
	for (unsigned int n = 0; n < st->nr_nodes; n++) {
		st->pool[n].slot = st->slots + (size_t)n * SNP_SIEVE_POOL_MAX;
		st->pool[n].st = &st->core;
	}
	set_caps(st);
	st->call[0].returned = st->call[1].returned = MM_PFN_INVALID;
	return st;
}

int snp_alloc_get_config(const struct mm_host *mm, struct snp_alloc_config *out)
{
	const struct snp_alloc_state *st;

	if (!mm || !out)
		return SNP_EINVAL;
	st = mm_client(mm);
	*out = st ? st->cfg : default_config;
	return 0;
}

int snp_alloc_configure(struct mm_host *mm, const struct snp_alloc_config *cfg)
{
	struct snp_alloc_state *st;
	int ret;

	if (!mm || !cfg)
		return SNP_EINVAL;
	if ((unsigned int)cfg->strategy >= SNP_ALLOC_NR_STRATEGIES || cfg->pool_cap < 1 ||
	    cfg->pool_cap > SNP_SIEVE_POOL_MAX)
		return mm_set_last_error(mm, SNP_EINVAL);
	st = state_of(mm);
	if (!st)
		return mm_set_last_error(mm, SNP_ENOMEM);
	/* The pages set aside under the old caps go back first (configuration runs on CPU 0). */
	ret = snp_safe_release(mm, 0);
	if (ret < 0)
		return ret;
	st->cfg = *cfg;
	set_caps(st);
	return 0;
}

int snp_alloc_get_stats(const struct mm_host *mm, struct snp_alloc_stats *out)
{
	const struct snp_alloc_state *st;

	if (!mm || !out)
		return SNP_EINVAL;
	memset(out, 0, sizeof(*out));
	st = mm_client(mm);
	if (!st)
		return 0;
	out->allocs = st->allocs;
	out->failures = st->failures;
	out->aligned_returned = st->aligned_returned;
	out->pages_taken = st->core.pages_taken;
	out->order1_broken = st->core.order1_broken;
	out->set_aside = st->core.set_aside;
	out->set_aside_peak = st->core.set_aside_peak;
	out->set_aside_returned = st->core.set_aside_returned;
	out->frees = st->core.frees;
	out->fallbacks = st->core.fallbacks;
	return 0;
}

void snp_alloc_reset_stats(struct mm_host *mm)
{
	struct snp_alloc_state *st = mm ? mm_client(mm) : NULL;
	uint64_t cur;

	if (!st)
		return;
	cur = st->core.set_aside;
	memset(&st->core, 0, sizeof(st->core));
	st->allocs = st->failures = st->aligned_returned = 0;
	st->core.set_aside = cur;
	st->core.set_aside_peak = cur;
}

/* Zero @pfns past the @nr noted: what dispatch() left stale. */
static void zero_past(snp_pfn_t *pfns, unsigned int nr)
{
	for (unsigned int i = nr; i < SNP_ALLOC_CALL_MAX; i++)
		pfns[i] = 0;
}

int snp_alloc_recent_call(const struct mm_host *mm, unsigned int back, struct snp_alloc_call *out)
{
	const struct snp_alloc_state *st;

	if (!mm || !out || back > 1)
		return SNP_EINVAL;
	st = mm_client(mm);
	memset(out, 0, sizeof(*out));
	out->returned = MM_PFN_INVALID;
	if (!st)
		return 0;
	*out = st->call[st->cur ^ back];
	zero_past(out->taken, out->nr_taken);
	zero_past(out->freed, out->nr_freed);
	zero_past(out->set_aside, out->nr_set_aside);
	for (unsigned int i = out->nr_taken; i < SNP_ALLOC_CALL_MAX; i++)
		out->taken_order[i] = 0;
	return 0;
}

int snp_alloc_last_call(const struct mm_host *mm, struct snp_alloc_call *out)
{
	return snp_alloc_recent_call(mm, 0, out);
}

/* get_zeroed_page() on @node: a kernel without the workaround, or SNP off. */
static struct page *plain_alloc(const struct snp_core_env *env, int node, mm_gfp_t gfp)
{
	struct page *p = snp_core_alloc_pages(env, node, gfp | MM_GFP_ZERO, 0);

	if (p)
		snp_core_count(env, pages_taken, 1);
	return p;
}

/*
 * The strategy's call, recorded in the next slot of the two-call ring
 * (snp_alloc_recent_call()); the record's pfn of the page returned, or
 * MM_PFN_INVALID, in *@pfn.
 */
static struct page *dispatch(struct snp_core_env *env, struct snp_alloc_state *st, int node,
			     mm_gfp_t gfp, snp_pfn_t *pfn)
{
	struct snp_alloc_rec rec = { .page = NULL };
	struct page *p;

	st->cur ^= 1;   /* the last call becomes the one before */
	rec.call = &st->call[st->cur];
	/*
	 * Only the counts are reset: the arrays past them are stale until read,
	 * and snp_alloc_recent_call() zeroes them in its copy.  Clearing the
	 * whole record here (a 248-byte memset, `rep stos`, on every call) cost
	 * more than the allocation itself.
	 */
	rec.call->nr_taken = rec.call->nr_freed = rec.call->nr_set_aside = 0;
	env->rec = st->rec = &rec;
	if (st->cfg.strategy == SNP_ALLOC_NAIVE || !st->cfg.snp_enabled)
		p = plain_alloc(env, node, gfp);
	else if (st->cfg.strategy == SNP_ALLOC_UPSTREAM)
		p = snp_core_upstream_alloc(env, node, gfp);
	else
		p = snp_core_sieve_alloc(env, st->pool, node, gfp);
	*pfn = rec.call->returned = p ? snp_core_pfn(env, p) : MM_PFN_INVALID;
	env->rec = st->rec = NULL;
	return p;
}

struct page *snp_safe_alloc_page_node(struct mm_host *mm, unsigned int cpu, int node,
				      mm_gfp_t gfp)
{
	struct snp_alloc_state *st;
	struct snp_core_env env;
	struct page *p;
	snp_pfn_t pfn;

	if (!mm)
		return NULL;
	if (node == MM_NUMA_NO_NODE)
		node = mm_cpu_to_node(mm, cpu);
	if (cpu >= mm_nr_cpus(mm) || node < 0 || (unsigned int)node >= mm_nr_nodes(mm) ||
	    (gfp & ~MM_GFP_ALL)) {
		mm_set_last_error(mm, SNP_EINVAL);
		return NULL;
	}
	st = state_of(mm);
	if (!st) {
		mm_set_last_error(mm, SNP_ENOMEM);
		return NULL;
	}
	env = (struct snp_core_env){ .mm = mm, .cpu = cpu, .st = &st->core };
	p = dispatch(&env, st, node, gfp, &pfn);
	if (!p) {
		st->failures++;
		mm_set_last_error(mm, SNP_ENOMEM);
		return NULL;
	}
	st->allocs++;
	if (snp_pfn_2m_aligned(pfn))
		st->aligned_returned++;
	mm_set_last_error(mm, 0);
	return p;
}

struct page *snp_safe_alloc_page(struct mm_host *mm, unsigned int cpu)
{
	return snp_safe_alloc_page_node(mm, cpu, MM_NUMA_NO_NODE, MM_GFP_KERNEL_ACCOUNT);
}

int snp_safe_free_page(struct mm_host *mm, unsigned int cpu, struct page *page)
{
	int err = mm_free_pages(mm, cpu, page, 0);
	struct snp_alloc_state *st = mm ? mm_client(mm) : NULL;

	if (!err && st)
		st->core.frees++;
	return err;
}

int snp_safe_shrink(struct mm_host *mm, unsigned int cpu, uint64_t nr)
{
	struct snp_alloc_state *st;
	struct snp_core_env env;
	uint64_t done = 0;

	if (!mm || cpu >= mm_nr_cpus(mm))
		return SNP_EINVAL;
	st = mm_client(mm);
	if (!st)
		return 0;
	/* Inside a call (its memory-short path), the pages given back are the call's. */
	env = (struct snp_core_env){ .mm = mm, .cpu = cpu, .st = &st->core, .rec = st->rec };
	for (unsigned int n = 0; n < st->nr_nodes && done < nr; n++)
		done += snp_core_give_back(&env, &st->pool[n], nr - done);
	return (int)done;
}

int snp_safe_release(struct mm_host *mm, unsigned int cpu)
{
	return snp_safe_shrink(mm, cpu, UINT64_MAX);
}
