// SPDX-License-Identifier: MIT
/*
 * tlb.c - per-CPU TLBs of the modeled host.
 *
 * Entries are 4K or 2M: a 1GB direct-map leaf is cached as the 2M entry of
 * the 2MB region an access touched, which is why the RMP checks a 1GB
 * translation as a 2MB one (snp-facts §3; LINUX arch/x86/virt/svm/sev.c,
 * adjust_direct_map).  Only kernel (global) translations of the direct map
 * are modeled, so there is no PCID/ASID tagging.
 */
#include "machine.h"

#include <stdlib.h>

static uint64_t tlb_entry_bytes(enum snp_map_size size)
{
	return size == SNP_MAP_4K ? SNP_PAGE_SIZE : SNP_PMD_SIZE;
}

int snp_tlb_init(struct snp_tlb *tlb, unsigned nr)
{
	tlb->e = calloc(nr, sizeof(*tlb->e));
	tlb->valid = calloc(nr, sizeof(*tlb->valid));
	if (!tlb->e || !tlb->valid) {
		snp_tlb_free(tlb);
		return SNP_ENOMEM;
	}
	tlb->nr = nr;
	tlb->next = 0;
	return 0;
}

void snp_tlb_free(struct snp_tlb *tlb)
{
	free(tlb->e);
	free(tlb->valid);
	tlb->e = NULL;
	tlb->valid = NULL;
	tlb->nr = 0;
}

static bool tlb_entry_covers(const struct snp_tlb_entry *e, uint64_t va)
{
	return va - e->va < tlb_entry_bytes(e->size);
}

/* Index of the entry translating va, or -1. */
int snp_tlb_find(const struct snp_tlb *tlb, uint64_t va)
{
	for (unsigned i = 0; i < tlb->nr; i++)
		if (tlb->valid[i] && tlb_entry_covers(&tlb->e[i], va))
			return (int)i;
	return -1;
}

/* Install e: prefer a free slot, else evict round-robin. */
void snp_tlb_fill(struct snp_tlb *tlb, const struct snp_tlb_entry *e)
{
	unsigned slot = tlb->nr;

	for (unsigned i = 0; i < tlb->nr; i++) {
		if (!tlb->valid[i]) {
			slot = i;
			break;
		}
	}
	if (slot == tlb->nr) {
		slot = tlb->next;
		tlb->next = (tlb->next + 1) % tlb->nr;
	}
	tlb->e[slot] = *e;
	tlb->valid[slot] = true;
}

void snp_tlb_drop(struct snp_tlb *tlb, int idx)
{
	if (idx >= 0 && (unsigned)idx < tlb->nr)
		tlb->valid[idx] = false;
}

/* Drop every entry of tlb overlapping [va, va + len). */
static void tlb_flush_range(struct snp_tlb *tlb, uint64_t va, uint64_t len)
{
	for (unsigned i = 0; i < tlb->nr; i++) {
		const struct snp_tlb_entry *e = &tlb->e[i];

		if (!tlb->valid[i])
			continue;
		if (e->va < va + len && va < e->va + tlb_entry_bytes(e->size))
			tlb->valid[i] = false;
	}
}

/* The shootdown every page-table change of the direct map ends with. */
void snp_tlb_flush_range_all(struct snp_machine *m, uint64_t va, uint64_t len)
{
	for (unsigned c = 0; c < m->nr_cpus; c++)
		tlb_flush_range(&m->cpu[c].tlb, va, len);
}

int snp_tlb_lookup(const struct snp_machine *m, unsigned cpu, uint64_t va, struct snp_tlb_entry *e)
{
	int idx;

	if (!snp_machine_cpu_ok(m, cpu))
		return SNP_EINVAL;
	idx = snp_tlb_find(&m->cpu[cpu].tlb, va);
	if (idx < 0)
		return 0;
	if (e)
		*e = m->cpu[cpu].tlb.e[idx];
	return 1;
}

int snp_tlb_flush_one(struct snp_machine *m, unsigned cpu, uint64_t va)
{
	if (!snp_machine_cpu_ok(m, cpu))
		return SNP_EINVAL;
	/* INVLPG drops whatever entry translates va, whatever its size. */
	tlb_flush_range(&m->cpu[cpu].tlb, va, 1);
	return 0;
}

int snp_tlb_flush_all(struct snp_machine *m, unsigned cpu)
{
	struct snp_tlb *tlb;

	if (!snp_machine_cpu_ok(m, cpu))
		return SNP_EINVAL;
	tlb = &m->cpu[cpu].tlb;
	for (unsigned i = 0; i < tlb->nr; i++)
		tlb->valid[i] = false;
	return 0;
}

int snp_tlb_shootdown(struct snp_machine *m, uint64_t va, uint64_t len)
{
	if (!m || len == 0 || va + len < va)
		return SNP_EINVAL;
	snp_tlb_flush_range_all(m, va, len);
	return 0;
}

int snp_tlb_nr_entries(const struct snp_machine *m, unsigned cpu)
{
	const struct snp_tlb *tlb;
	int n = 0;

	if (!snp_machine_cpu_ok(m, cpu))
		return SNP_EINVAL;
	tlb = &m->cpu[cpu].tlb;
	for (unsigned i = 0; i < tlb->nr; i++)
		n += tlb->valid[i];
	return n;
}
