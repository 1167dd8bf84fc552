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

/* Per CPU, of a gate: when it was last exposed, when its 2M / 4K entry was certainly dropped. */
enum { EXPOSED, FLUSH_2M, FLUSH_4K, NR_GATE_TIMES };
/* Per CPU, of a 2MB region: its last recorded store through a 4K leaf, through a larger one. */
enum { STORE_4K, STORE_HUGE, NR_REGION_TIMES };

/* A gate (keyed by pfn) or a region (keyed by its first pfn), with its times per CPU. */
struct item {
	snp_pfn_t pfn;
	bool inuse;              /* gates: marked now */
	uint64_t cleared;        /* gates: when the mark last went (0: never set) */
	uint64_t *t;             /* [cpu * per_cpu + what] */
};

/* Items by pfn: open addressing, the index at most half full. */
struct item_map {
	unsigned int per_cpu;
	struct item *items;
	size_t nr, cap;
	uint32_t *index;         /* item index + 1, 0 empty */
	size_t index_cap;
};

struct rb {
	unsigned int nr_cpus;
	bool *in_guest;
	uint64_t *entered;       /* when each CPU last entered guest mode */
	uint64_t *flush_all;     /* its last certain full flush */
	struct item_map gates, regions;
};

static const char *const why_text[SIM_REPLAY_NR_WHY] = {
	[SIM_REPLAY_WHY_PROVEN] = "no entry can serve the store: a fill, checked",
	[SIM_REPLAY_WHY_LEAF_UNKNOWN] = "the recorder's walk failed: the leaf may be 4K",
	[SIM_REPLAY_WHY_UNGATED] = "a write fill of the entry could pass the checks (a 2M entry "
				   "filled through another page of the region)",
	[SIM_REPLAY_WHY_MAY_HOLD] = "the CPU may hold the entry: no recorded flush since it could "
				    "last have filled it",
	[SIM_REPLAY_WHY_LEAF_MIXED] = "the CPU stored to the region through the other leaf size "
				      "since its last full flush: it may hold that entry",
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
	b->gates.per_cpu = NR_GATE_TIMES;
	b->regions.per_cpu = NR_REGION_TIMES;
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

static void map_free(struct item_map *m)
{
	for (size_t i = 0; i < m->nr; i++)
		free(m->items[i].t);
	free(m->items);
	free(m->index);
}

void rb_destroy(struct rb *b)
{
	if (!b)
		return;
	map_free(&b->gates);
	map_free(&b->regions);
	free(b->in_guest);
	free(b->entered);
	free(b->flush_all);
	free(b);
}

/* ---- items by pfn ------------------------------------------------------------------ */

static size_t slot_of(size_t cap, snp_pfn_t pfn)
{
	return (size_t)(pfn * 0x9e3779b97f4a7c15ULL) & (cap - 1);
}

static struct item *map_find(const struct item_map *m, snp_pfn_t pfn)
{
	if (!m->index_cap)
		return NULL;
	for (size_t i = slot_of(m->index_cap, pfn); m->index[i]; i = (i + 1) & (m->index_cap - 1))
		if (m->items[m->index[i] - 1].pfn == pfn)
			return &m->items[m->index[i] - 1];
	return NULL;
}

static void index_put(uint32_t *index, size_t cap, snp_pfn_t pfn, uint32_t v)
{
	size_t i = slot_of(cap, pfn);

	while (index[i])
		i = (i + 1) & (cap - 1);
	index[i] = v;
}

/* Room for one more item: the array and an index at most half full. */
static SNP_MUST_CHECK int map_reserve(struct item_map *m)
{
	if (m->nr == m->cap) {
		size_t cap = m->cap ? 2 * m->cap : 64;
		struct item *it = realloc(m->items, cap * sizeof(*it));

		if (!it)
			return SNP_ENOMEM;
		m->items = it;
		m->cap = cap;
	}
	if (2 * (m->nr + 1) > m->index_cap) {
		size_t cap = m->index_cap ? 2 * m->index_cap : 128;
		uint32_t *index = calloc(cap, sizeof(*index));

		if (!index)
			return SNP_ENOMEM;
		for (size_t i = 0; i < m->nr; i++)
			index_put(index, cap, m->items[i].pfn, (uint32_t)i + 1);
		free(m->index);
		m->index = index;
		m->index_cap = cap;
	}
	return 0;
}

/* The item of pfn, made (all times 0) if new.  0 or SNP_ENOMEM. */
static SNP_MUST_CHECK int map_get(struct item_map *m, unsigned int nr_cpus, snp_pfn_t pfn,
				  struct item **out)
{
	struct item *it = map_find(m, pfn);

	if (!it) {
		if (map_reserve(m))
			return SNP_ENOMEM;
		it = &m->items[m->nr];
		memset(it, 0, sizeof(*it));
		it->pfn = pfn;
		it->t = calloc((size_t)nr_cpus * m->per_cpu, sizeof(*it->t));
		if (!it->t)
			return SNP_ENOMEM;
		index_put(m->index, m->index_cap, pfn, (uint32_t)++m->nr);
	}
	*out = it;
	return 0;
}

static uint64_t *at(const struct item_map *m, const struct item *it, unsigned int cpu, int what)
{
	return &it->t[(size_t)cpu * m->per_cpu + what];
}

/* ---- events ------------------------------------------------------------------------ */

/*
 * The mark closes every CPU's exposure: a CPU in host mode could fill the
 * entry until just now; one in guest mode could last fill it just before
 * its VMRUN if the gate was clear then, else not since the gate's previous
 * mark, whose exposure stands.
 */
static void gate_mark(const struct rb *b, struct item *g, uint64_t t)
{
	for (unsigned int c = 0; c < b->nr_cpus; c++) {
		uint64_t *exposed = at(&b->gates, g, c, EXPOSED);

		if (!b->in_guest[c])
			*exposed = t;
		else if (b->entered[c] > g->cleared)
			*exposed = b->entered[c];
	}
	g->inuse = true;
}

int rb_set_inuse(struct rb *b, snp_pfn_t pfn, bool inuse, uint64_t t)
{
	struct item *g = inuse ? NULL : map_find(&b->gates, pfn);

	if (inuse && map_get(&b->gates, b->nr_cpus, pfn, &g))
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
	struct item *base = map_find(&b->gates, snp_pfn_2m_base(pfn));
	struct item *page = map_find(&b->gates, pfn);

	if (base)
		*at(&b->gates, base, cpu, FLUSH_2M) = t;
	if (page)
		*at(&b->gates, page, cpu, FLUSH_4K) = t;
}

int rb_store(struct rb *b, unsigned int cpu, snp_pfn_t pfn, enum snp_trace_level level, uint64_t t)
{
	struct item *r;

	if (map_get(&b->regions, b->nr_cpus, snp_pfn_2m_base(pfn), &r))
		return SNP_ENOMEM;
	*at(&b->regions, r, cpu, level == SNP_TRL_4K ? STORE_4K : STORE_HUGE) = t;
	return 0;
}

/*
 * The gate of the entry a store through this leaf uses, if a write fill of
 * that entry must fault now: under the erratum a 2M entry while its
 * region's base is in-use; a 4K entry while its page is in-use and the part
 * refuses writes to in-use pages.
 */
static struct item *gate_of(const struct rb *b, const struct snp_profile *p, snp_pfn_t pfn,
			    bool huge)
{
	struct item *g = map_find(&b->gates, huge ? snp_pfn_2m_base(pfn) : pfn);

	if (!g || !g->inuse)
		return NULL;
	if (huge ? !snp_profile_erratum(p) : p->hv_inuse_wr_allowed)
		return NULL;
	return g;
}

/*
 * The entry of the other size: Linux never maps a page through both (it
 * splits and flushes, docs/REPLAY.md A1), but a trace that says it did
 * leaves the CPU one more entry to hit, which only a full flush since its
 * last store of that size certainly removed.
 */
static bool other_size_held(const struct rb *b, unsigned int cpu, snp_pfn_t pfn, bool huge)
{
	const struct item *r = map_find(&b->regions, snp_pfn_2m_base(pfn));
	uint64_t last = r ? *at(&b->regions, r, cpu, huge ? STORE_4K : STORE_HUGE) : 0;

	return last && last >= b->flush_all[cpu];
}

enum sim_replay_why rb_judge(struct rb *b, const struct snp_profile *p, unsigned int cpu,
			     snp_pfn_t pfn, enum snp_trace_level level, uint64_t t)
{
	bool huge = level != SNP_TRL_4K;
	int flush = huge ? FLUSH_2M : FLUSH_4K;
	struct item *g;
	uint64_t last;

	/* A part that checks every access needs no fill. */
	if (p->rmp_check_every_access)
		return SIM_REPLAY_WHY_PROVEN;
	if (level == SNP_TRL_UNKNOWN)
		return SIM_REPLAY_WHY_LEAF_UNKNOWN;
	g = gate_of(b, p, pfn, huge);
	if (!g)
		return SIM_REPLAY_WHY_UNGATED;
	last = *at(&b->gates, g, cpu, flush);
	last = last > b->flush_all[cpu] ? last : b->flush_all[cpu];
	if (last <= *at(&b->gates, g, cpu, EXPOSED))
		return SIM_REPLAY_WHY_MAY_HOLD;
	if (other_size_held(b, cpu, pfn, huge))
		return SIM_REPLAY_WHY_LEAF_MIXED;
	/* The fill faults; the #PF drops the entries of the address (as the model's). */
	*at(&b->gates, g, cpu, flush) = t;
	return SIM_REPLAY_WHY_PROVEN;
}
