// SPDX-License-Identifier: MIT
/*
 * replay_bounds.c - the lower bound of a replay: which possible faults the
 * recorded stream proves (replay_bounds.h; docs/REPLAY.md "Bounds").
 *
 * What can give a CPU a write-usable TLB entry the recording does not show:
 * any access of its own in host mode (a store the recorder dropped, a load it
 * never records, a speculative walk), but only while a write fill of that
 * entry would pass the RMP checks, i.e. while the entry's gate is not
 * in-use.  What certainly takes one away: a recorded flush on that CPU that
 * drops it (INVLPG of an address it translates, a CR4.PGE flip, INVPCID
 * type 2, VMRUN with TLB_CONTROL 1), and a #PF on its address.  Capacity
 * evictions are never relied on: a TLB as large as the part's, or larger,
 * may keep anything.
 *
 * So for each gate and CPU the tracker keeps the last time the CPU could
 * have filled the gated entry ("exposed") and the last certain flush of it;
 * the entry is provably absent when the flush is later.  The exposure is
 * settled when the gate is marked, because from then until it is cleared no
 * fill can pass.
 */
#include "replay_bounds.h"

#include <snpsafe/common.h>

#include <stdlib.h>
#include <string.h>

enum { EXPOSED, FLUSH_2M, FLUSH_4K, NR_PER_CPU };

struct gate {
	snp_pfn_t pfn;
	bool inuse;
	uint64_t cleared;        /* when the mark last went (0: never set) */
	uint64_t *t;             /* [cpu * NR_PER_CPU + EXPOSED, FLUSH_2M, FLUSH_4K] */
};

struct rb {
	unsigned int nr_cpus;
	bool *in_guest;
	uint64_t *entered;       /* when each CPU last entered guest mode */
	uint64_t *flush_all;     /* its last certain full flush */
	struct gate *gates;
	size_t nr_gates, cap_gates;
	uint32_t *index;         /* open addressing over pfn: gate index + 1, 0 empty */
	size_t index_cap;
};

static const char *const why_text[SIM_REPLAY_NR_WHY] = {
	[SIM_REPLAY_WHY_PROVEN] = "no entry can serve the store: a fill, checked",
	[SIM_REPLAY_WHY_LEAF_UNKNOWN] = "the recorder's walk failed: the leaf may be 4K",
	[SIM_REPLAY_WHY_UNGATED] = "a write fill of the entry could pass the checks (a 2M entry "
				   "filled through another page of the region)",
	[SIM_REPLAY_WHY_MAY_HOLD] = "the CPU may hold the entry: no recorded flush since it could "
				    "last have filled it",
};

const char *sim_replay_why_text(enum sim_replay_why w)
{
	return (unsigned int)w < SIM_REPLAY_NR_WHY ? why_text[w] : "?";
}

int rb_create(unsigned int nr_cpus, struct rb **out)
{
	struct rb *b = calloc(1, sizeof(*b));

	*out = NULL;
	if (!b)
		return SNP_ENOMEM;
	b->nr_cpus = nr_cpus;
	b->in_guest = calloc(nr_cpus, sizeof(*b->in_guest));
	b->entered = calloc(nr_cpus, sizeof(*b->entered));
	b->flush_all = calloc(nr_cpus, sizeof(*b->flush_all));
	if (!b->in_guest || !b->entered || !b->flush_all) {
		rb_destroy(b);
		return SNP_ENOMEM;
	}
	*out = b;
	return 0;
}

void rb_destroy(struct rb *b)
{
	if (!b)
		return;
	for (size_t i = 0; i < b->nr_gates; i++)
		free(b->gates[i].t);
	free(b->gates);
	free(b->index);
	free(b->in_guest);
	free(b->entered);
	free(b->flush_all);
	free(b);
}

/* ---- the gates, by pfn ------------------------------------------------------------- */

static size_t slot_of(size_t cap, snp_pfn_t pfn)
{
	return (size_t)(pfn * 0x9e3779b97f4a7c15ULL) & (cap - 1);
}

static struct gate *gate_find(const struct rb *b, snp_pfn_t pfn)
{
	if (!b->index_cap)
		return NULL;
	for (size_t i = slot_of(b->index_cap, pfn); b->index[i]; i = (i + 1) & (b->index_cap - 1))
		if (b->gates[b->index[i] - 1].pfn == pfn)
			return &b->gates[b->index[i] - 1];
	return NULL;
}

static void index_put(uint32_t *index, size_t cap, snp_pfn_t pfn, uint32_t v)
{
	size_t i = slot_of(cap, pfn);

	while (index[i])
		i = (i + 1) & (cap - 1);
	index[i] = v;
}

/* Room for one more gate: the array and an index at most half full. */
static SNP_MUST_CHECK int gate_reserve(struct rb *b)
{
	if (b->nr_gates == b->cap_gates) {
		size_t cap = b->cap_gates ? 2 * b->cap_gates : 64;
		struct gate *g = realloc(b->gates, cap * sizeof(*g));

		if (!g)
			return SNP_ENOMEM;
		b->gates = g;
		b->cap_gates = cap;
	}
	if (2 * (b->nr_gates + 1) > b->index_cap) {
		size_t cap = b->index_cap ? 2 * b->index_cap : 128;
		uint32_t *index = calloc(cap, sizeof(*index));

		if (!index)
			return SNP_ENOMEM;
		for (size_t i = 0; i < b->nr_gates; i++)
			index_put(index, cap, b->gates[i].pfn, (uint32_t)i + 1);
		free(b->index);
		b->index = index;
		b->index_cap = cap;
	}
	return 0;
}

static SNP_MUST_CHECK int gate_get(struct rb *b, snp_pfn_t pfn, struct gate **out)
{
	struct gate *g = gate_find(b, pfn);

	if (!g) {
		if (gate_reserve(b))
			return SNP_ENOMEM;
		g = &b->gates[b->nr_gates];
		memset(g, 0, sizeof(*g));
		g->pfn = pfn;
		g->t = calloc((size_t)b->nr_cpus * NR_PER_CPU, sizeof(*g->t));
		if (!g->t)
			return SNP_ENOMEM;
		index_put(b->index, b->index_cap, pfn, (uint32_t)++b->nr_gates);
	}
	*out = g;
	return 0;
}

static uint64_t *at(const struct gate *g, unsigned int cpu, int what)
{
	return &g->t[(size_t)cpu * NR_PER_CPU + what];
}

/* ---- events ------------------------------------------------------------------------ */

/*
 * The mark closes every CPU's exposure: a CPU in host mode could fill the
 * entry until just now; one in guest mode could last fill it just before
 * its VMRUN if the gate was clear then, else not since the gate's previous
 * mark, whose exposure stands.
 */
static void gate_mark(const struct rb *b, struct gate *g, uint64_t t)
{
	for (unsigned int c = 0; c < b->nr_cpus; c++) {
		uint64_t *exposed = at(g, c, EXPOSED);

		if (!b->in_guest[c])
			*exposed = t;
		else if (b->entered[c] > g->cleared)
			*exposed = b->entered[c];
	}
	g->inuse = true;
}

int rb_set_inuse(struct rb *b, snp_pfn_t pfn, bool inuse, uint64_t t)
{
	struct gate *g = inuse ? NULL : gate_find(b, pfn);

	if (inuse && gate_get(b, pfn, &g))
		return SNP_ENOMEM;
	if (!g || g->inuse == inuse)
		return 0;
	if (inuse) {
		gate_mark(b, g, t);
	} else {
		g->inuse = false;
		g->cleared = t;
	}
	return 0;
}

void rb_enter_guest(struct rb *b, unsigned int cpu, uint64_t t)
{
	b->in_guest[cpu] = true;
	b->entered[cpu] = t;
}

void rb_exit_guest(struct rb *b, unsigned int cpu)
{
	b->in_guest[cpu] = false;
}

void rb_flush_all(struct rb *b, unsigned int cpu, uint64_t t)
{
	b->flush_all[cpu] = t;
}

/*
 * INVLPG drops every entry translating the address: its region's 2M entry,
 * its page's 4K entry.  A gate not yet known needs nothing: its first mark
 * exposes every CPU after this flush.
 */
void rb_flush_page(struct rb *b, unsigned int cpu, snp_pfn_t pfn, uint64_t t)
{
	struct gate *base = gate_find(b, snp_pfn_2m_base(pfn)), *page = gate_find(b, pfn);

	if (base)
		*at(base, cpu, FLUSH_2M) = t;
	if (page)
		*at(page, cpu, FLUSH_4K) = t;
}

/*
 * The gate of the entry a store through this leaf uses, if a write fill of
 * that entry must fault now: under the erratum a 2M entry while its
 * region's base is in-use; a 4K entry while its page is in-use and the part
 * refuses writes to in-use pages.
 */
static struct gate *gate_of(const struct rb *b, const struct snp_profile *p, snp_pfn_t pfn,
			    bool huge)
{
	struct gate *g = gate_find(b, huge ? snp_pfn_2m_base(pfn) : pfn);

	if (!g || !g->inuse)
		return NULL;
	if (huge ? !snp_profile_erratum(p) : p->hv_inuse_wr_allowed)
		return NULL;
	return g;
}

enum sim_replay_why rb_judge(struct rb *b, const struct snp_profile *p, unsigned int cpu,
			     snp_pfn_t pfn, enum snp_trace_level level, uint64_t t)
{
	bool huge = level != SNP_TRL_4K;
	int flush = huge ? FLUSH_2M : FLUSH_4K;
	struct gate *g;
	uint64_t last;

	/* A part that checks every access needs no fill. */
	if (p->rmp_check_every_access)
		return SIM_REPLAY_WHY_PROVEN;
	if (level == SNP_TRL_UNKNOWN)
		return SIM_REPLAY_WHY_LEAF_UNKNOWN;
	g = gate_of(b, p, pfn, huge);
	if (!g)
		return SIM_REPLAY_WHY_UNGATED;
	last = *at(g, cpu, flush) > b->flush_all[cpu] ? *at(g, cpu, flush) : b->flush_all[cpu];
	if (last <= *at(g, cpu, EXPOSED))
		return SIM_REPLAY_WHY_MAY_HOLD;
	/* The fill faults; the #PF drops the entries of the address (as the model's). */
	*at(g, cpu, flush) = t;
	return SIM_REPLAY_WHY_PROVEN;
}
