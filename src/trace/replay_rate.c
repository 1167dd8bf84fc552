// SPDX-License-Identifier: MIT
/*
 * replay_rate.c - each VMCB's VMRUNs per second of the trace's clock, and
 * the faults on in-use pages its runs held, so that a VMCB a stuck vCPU ran
 * (KVM re-entering its guest tens of thousands of times a second without
 * going back to user space, docs/REPLAY.md "Stuck vCPUs") is named and its
 * faults are counted apart.  An open-addressed table keyed by the VMCB's
 * address: a run has thousands of VMCBs and millions of VMRUNs.
 */
#include "replay_rate.h"

#include <stdlib.h>
#include <string.h>

#define NS_PER_S 1000000000ULL

struct rr_slot {
	bool used;
	uint64_t second, in_second;       /* the second being counted */
	struct sim_replay_rate rate;
};

struct rr_table {
	struct rr_slot *slot;
	size_t cap, used;                 /* cap a power of two, used <= cap / 2 */
};

int rr_create(struct rr_table **out)
{
	struct rr_table *t = calloc(1, sizeof(*t));

	*out = NULL;
	if (!t)
		return SNP_ENOMEM;
	t->cap = 1024;
	t->slot = calloc(t->cap, sizeof(*t->slot));
	if (!t->slot) {
		free(t);
		return SNP_ENOMEM;
	}
	*out = t;
	return 0;
}

void rr_destroy(struct rr_table *t)
{
	if (!t)
		return;
	free(t->slot);
	free(t);
}

static size_t rr_hash(uint64_t pa, size_t cap)
{
	return (size_t)((pa >> 12) * 0x9e3779b97f4a7c15ULL >> 20) & (cap - 1);
}

/* The slot of pa: its own, or the empty one where it would go. */
static struct rr_slot *rr_find(const struct rr_table *t, uint64_t pa)
{
	size_t i = rr_hash(pa, t->cap);

	while (t->slot[i].used && t->slot[i].rate.vmcb_pa != pa)
		i = (i + 1) & (t->cap - 1);
	return &t->slot[i];
}

static SNP_MUST_CHECK int rr_grow(struct rr_table *t)
{
	struct rr_table n = { .cap = t->cap * 2, .used = t->used };

	n.slot = calloc(n.cap, sizeof(*n.slot));
	if (!n.slot)
		return SNP_ENOMEM;
	for (size_t i = 0; i < t->cap; i++)
		if (t->slot[i].used)
			*rr_find(&n, t->slot[i].rate.vmcb_pa) = t->slot[i];
	free(t->slot);
	*t = n;
	return 0;
}

int rr_vmrun(struct rr_table *t, uint64_t vmcb_pa, uint64_t t_ns)
{
	struct rr_slot *s = rr_find(t, vmcb_pa);
	uint64_t second = t_ns / NS_PER_S;

	if (!s->used) {
		if (2 * (t->used + 1) > t->cap) {
			if (rr_grow(t))
				return SNP_ENOMEM;
			s = rr_find(t, vmcb_pa);
		}
		t->used++;
		*s = (struct rr_slot){ .used = true, .second = second, .rate.vmcb_pa = vmcb_pa };
	}
	if (second != s->second) {
		s->second = second;
		s->in_second = 0;
	}
	s->rate.vmruns++;
	if (++s->in_second > s->rate.peak) {
		s->rate.peak = s->in_second;
		s->rate.peak_second = second;
	}
	return 0;
}

void rr_fault(struct rr_table *t, uint64_t vmcb_pa, bool proven, bool model)
{
	struct rr_slot *s = rr_find(t, vmcb_pa);

	if (!s->used)             /* a VMCB no VMRUN record named: nothing to mark */
		return;
	s->rate.faults[SIM_REPLAY_POSSIBLE]++;
	s->rate.faults[SIM_REPLAY_PROVEN] += proven;
	s->rate.model_faults += model;
}

static int cmp_rate(const void *a, const void *b)
{
	const struct sim_replay_rate *x = a, *y = b;

	return (x->vmcb_pa > y->vmcb_pa) - (x->vmcb_pa < y->vmcb_pa);
}

static bool rr_is_stuck(const struct rr_table *t, uint64_t vmcb_pa)
{
	const struct rr_slot *s = rr_find(t, vmcb_pa);

	return s->used && s->rate.peak > SIM_REPLAY_STUCK_VMRUNS;
}

int rr_finish(struct rr_table *t, struct sim_replay_result *r)
{
	size_t n = 0;

	for (size_t i = 0; i < t->cap; i++) {
		const struct sim_replay_rate *x = &t->slot[i].rate;

		if (!t->slot[i].used)
			continue;
		if (x->peak > r->busiest.peak)
			r->busiest = *x;
		n += x->peak > SIM_REPLAY_STUCK_VMRUNS;
	}
	if (n) {
		r->stuck = calloc(n, sizeof(*r->stuck));
		if (!r->stuck)
			return SNP_ENOMEM;
	}
	for (size_t i = 0; i < t->cap; i++) {
		const struct sim_replay_rate *x = &t->slot[i].rate;

		if (!t->slot[i].used || x->peak <= SIM_REPLAY_STUCK_VMRUNS)
			continue;
		r->stuck[r->nr_stuck++] = *x;
		r->stuck_sum.vmruns += x->vmruns;
		for (int b = 0; b < SIM_REPLAY_NR_BOUNDS; b++)
			r->stuck_sum.faults[b] += x->faults[b];
		r->stuck_sum.model_faults += x->model_faults;
	}
	if (r->nr_stuck)
		qsort(r->stuck, r->nr_stuck, sizeof(*r->stuck), cmp_rate);
	for (unsigned int i = 0; i < r->nr_reports; i++)
		r->reports[i].stuck_vmcb = r->reports[i].have_holder &&
			rr_is_stuck(t, snp_pfn_to_phys(r->reports[i].holder.vmcb));
	return 0;
}
