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
#include <string.h>

/* snpsafe/mmu.h says where each figure comes from. */
const struct snp_tlb_part snp_tlb_parts[] = {
	{ "milan", "Zen 3", 64, 2048 },
	{ "genoa", "Zen 4", 72, 3072 },
	{ NULL, NULL, 0, 0 },
};

const struct snp_tlb_part *snp_tlb_part_by_name(const char *name)
{
	for (const struct snp_tlb_part *p = snp_tlb_parts; name && p->name; p++)
		if (!strcmp(p->name, name))
			return p;
	return NULL;
}

static uint64_t tlb_entry_bytes(enum snp_map_size size)
{
	return size == SNP_MAP_4K ? SNP_PAGE_SIZE : SNP_PMD_SIZE;
}

/* ---- the hash index: key -> slot ------------------------------------------------ */

/* An entry's key: its base va (4K aligned at least), bit 0 set for a 2M entry. */
static uint64_t tlb_key(uint64_t base, enum snp_map_size size)
{
	return base | (size != SNP_MAP_4K);
}

static unsigned int tlb_hash(const struct snp_tlb *tlb, uint64_t key)
{
	return (unsigned int)((key * 0x9e3779b97f4a7c15ULL) >> (64 - tlb->index_bits));
}

static unsigned int tlb_index_mask(const struct snp_tlb *tlb)
{
	return (1u << tlb->index_bits) - 1;
}

/* Slot of the valid entry with key, or -1. */
static SNP_MUST_CHECK int tlb_index_find(const struct snp_tlb *tlb, uint64_t key)
{
	unsigned int mask = tlb_index_mask(tlb);

	for (unsigned int i = tlb_hash(tlb, key); tlb->index[i]; i = (i + 1) & mask)
		if (tlb->key[tlb->index[i] - 1] == key)
			return (int)tlb->index[i] - 1;
	return -1;
}

static void tlb_index_insert(struct snp_tlb *tlb, unsigned int slot, uint64_t key)
{
	unsigned int mask = tlb_index_mask(tlb);
	unsigned int i = tlb_hash(tlb, key);

	tlb->key[slot] = key;
	tlb->home[slot] = i;
	while (tlb->index[i])
		i = (i + 1) & mask;
	tlb->index[i] = slot + 1;
	tlb->pos[slot] = i;
}

/* Remove slot, shifting later members of its probe run back (no tombstones). */
static void tlb_index_remove(struct snp_tlb *tlb, unsigned int slot)
{
	unsigned int mask = tlb_index_mask(tlb), i = tlb->pos[slot], j;

	for (j = (i + 1) & mask; tlb->index[j]; j = (j + 1) & mask) {
		unsigned int s = tlb->index[j] - 1;

		/* j's entry may move to i unless its home lies cyclically in (i, j]. */
		if (((j - tlb->home[s]) & mask) >= ((j - i) & mask)) {
			tlb->index[i] = tlb->index[j];
			tlb->pos[s] = i;
			i = j;
		}
	}
	tlb->index[i] = 0;
}

/* ---- slots ---------------------------------------------------------------------- */

static void tlb_set_valid(struct snp_tlb *tlb, unsigned int slot, bool valid)
{
	uint64_t bit = 1ULL << (slot % 64);

	if (tlb->valid[slot] == valid)
		return;
	tlb->valid[slot] = valid;
	if (valid) {
		tlb->nr_valid++;
		tlb->nr_valid_4k += tlb->e[slot].size == SNP_MAP_4K;
		tlb->used[slot / 64] |= bit;
		tlb_index_insert(tlb, slot, tlb_key(tlb->e[slot].va, tlb->e[slot].size));
	} else {
		tlb->nr_valid--;
		tlb->nr_valid_4k -= tlb->e[slot].size == SNP_MAP_4K;
		tlb->used[slot / 64] &= ~bit;
		tlb_index_remove(tlb, slot);
	}
}

/* The lowest invalid slot, or nr when all are valid. */
static unsigned int tlb_free_slot(const struct snp_tlb *tlb)
{
	if (tlb->nr_valid == tlb->nr)
		return tlb->nr;
	for (unsigned int w = 0; w * 64 < tlb->nr; w++)
		if (~tlb->used[w])
			return w * 64 + (unsigned int)__builtin_ctzll(~tlb->used[w]);
	return tlb->nr;
}

int snp_tlb_init(struct snp_tlb *tlb, unsigned int nr)
{
	unsigned int bits = 4;

	memset(tlb, 0, sizeof(*tlb));
	while ((1u << bits) < 4 * nr)   /* load factor <= 1/4: short probe runs */
		bits++;
	tlb->e = calloc(nr, sizeof(*tlb->e));
	tlb->valid = calloc(nr, sizeof(*tlb->valid));
	tlb->used = calloc((nr + 63) / 64 + 1, sizeof(*tlb->used));
	tlb->index = calloc(1u << bits, sizeof(*tlb->index));
	tlb->home = calloc(nr, sizeof(*tlb->home));
	tlb->pos = calloc(nr, sizeof(*tlb->pos));
	tlb->key = calloc(nr, sizeof(*tlb->key));
	if (!nr || !tlb->e || !tlb->valid || !tlb->used || !tlb->index || !tlb->home || !tlb->pos ||
	    !tlb->key) {
		snp_tlb_free(tlb);
		return SNP_ENOMEM;
	}
	tlb->nr = nr;
	tlb->index_bits = bits;
	return 0;
}

size_t snp_tlb_storage_bytes(const struct snp_tlb *tlb)
{
	return tlb->nr * (sizeof(*tlb->e) + sizeof(*tlb->valid) + sizeof(*tlb->home) +
			  sizeof(*tlb->pos) + sizeof(*tlb->key)) +
	       ((tlb->nr + 63) / 64 + 1) * sizeof(*tlb->used) +
	       ((size_t)1 << tlb->index_bits) * sizeof(*tlb->index);
}

void snp_tlb_free(struct snp_tlb *tlb)
{
	free(tlb->e);
	free(tlb->valid);
	free(tlb->used);
	free(tlb->index);
	free(tlb->home);
	free(tlb->pos);
	free(tlb->key);
	memset(tlb, 0, sizeof(*tlb));
}

/*
 * Index of the entry translating va, or -1: a 2M entry of its 2MB region or
 * a 4K entry of its page, the lower slot when both are cached.
 */
int snp_tlb_find(const struct snp_tlb *tlb, uint64_t va)
{
	int big = -1, small = -1;

	if (tlb->nr_valid > tlb->nr_valid_4k)
		big = tlb_index_find(tlb, tlb_key(va & ~(SNP_PMD_SIZE - 1), SNP_MAP_2M));
	if (tlb->nr_valid_4k)
		small = tlb_index_find(tlb, tlb_key(va & ~(uint64_t)(SNP_PAGE_SIZE - 1), SNP_MAP_4K));

	if (big < 0 || (small >= 0 && small < big))
		return small;
	return big;
}

/*
 * Install an entry for the page or 2MB region at base (no entry translates
 * it) and return it for the caller to complete (pa, leaf, write_checked):
 * a free slot if any, else the round-robin victim, replaced in place.  Its
 * slot stays valid and only the index moves, so a fill of a full TLB (every
 * fill of a miss-heavy run) is one index removal and one insertion.  The
 * caller writes the fields itself rather than handing over a struct: a
 * struct built on the stack field by field and copied whole here stalled on
 * store forwarding, the largest cost of the miss path.
 */
struct snp_tlb_entry *snp_tlb_fill(struct snp_tlb *tlb, uint64_t base, enum snp_map_size size)
{
	unsigned int slot = tlb_free_slot(tlb);
	struct snp_tlb_entry *e;

	if (slot < tlb->nr) {
		e = &tlb->e[slot];
		e->va = base;
		e->size = size;
		tlb_set_valid(tlb, slot, true);
		return e;
	}
	slot = tlb->next;
	tlb->next = slot + 1 == tlb->nr ? 0 : slot + 1;
	e = &tlb->e[slot];
	tlb_index_remove(tlb, slot);
	tlb->nr_valid_4k += (size == SNP_MAP_4K) - (e->size == SNP_MAP_4K);
	e->va = base;
	e->size = size;
	tlb_index_insert(tlb, slot, tlb_key(base, size));
	return e;
}

void snp_tlb_drop(struct snp_tlb *tlb, int idx)
{
	if (idx >= 0 && (unsigned int)idx < tlb->nr)
		tlb_set_valid(tlb, (unsigned int)idx, false);
}

/* Drop every entry of tlb overlapping [va, va + len). */
static void tlb_flush_range(struct snp_tlb *tlb, uint64_t va, uint64_t len)
{
	for (unsigned int i = 0; tlb->nr_valid && i < tlb->nr; i++) {
		const struct snp_tlb_entry *e = &tlb->e[i];

		if (!tlb->valid[i])
			continue;
		if (e->va < va + len && va < e->va + tlb_entry_bytes(e->size))
			tlb_set_valid(tlb, i, false);
	}
}

/* The shootdown every page-table change of the direct map ends with. */
void snp_tlb_flush_range_all(struct snp_machine *m, uint64_t va, uint64_t len)
{
	for (unsigned int c = 0; c < m->nr_cpus; c++)
		tlb_flush_range(&m->cpu[c].tlb, va, len);
}

int snp_tlb_lookup(const struct snp_machine *m, unsigned int cpu, uint64_t va, struct snp_tlb_entry *e)
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

int snp_tlb_flush_one(struct snp_machine *m, unsigned int cpu, uint64_t va)
{
	if (!snp_machine_cpu_ok(m, cpu))
		return SNP_EINVAL;
	/* INVLPG drops whatever entry translates va, whatever its size. */
	tlb_flush_range(&m->cpu[cpu].tlb, va, 1);
	return 0;
}

int snp_tlb_flush_all(struct snp_machine *m, unsigned int cpu)
{
	struct snp_tlb *tlb;

	if (!snp_machine_cpu_ok(m, cpu))
		return SNP_EINVAL;
	tlb = &m->cpu[cpu].tlb;
	for (unsigned int i = 0; i < tlb->nr; i++)
		tlb_set_valid(tlb, i, false);
	return 0;
}

int snp_tlb_shootdown(struct snp_machine *m, uint64_t va, uint64_t len)
{
	if (!m || len == 0 || va + len < va)
		return SNP_EINVAL;
	snp_tlb_flush_range_all(m, va, len);
	return 0;
}

int snp_tlb_nr_entries(const struct snp_machine *m, unsigned int cpu)
{
	const struct snp_tlb *tlb;
	int n = 0;

	if (!snp_machine_cpu_ok(m, cpu))
		return SNP_EINVAL;
	tlb = &m->cpu[cpu].tlb;
	for (unsigned int i = 0; i < tlb->nr; i++)
		n += tlb->valid[i];
	return n;
}
