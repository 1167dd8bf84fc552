/* SPDX-License-Identifier: MIT */
/*
 * machine.h - internal layout of struct snp_machine, shared by mmu.c, tlb.c,
 * directmap.c, vmrun.c and npt.c.  Not a public header.
 */
#ifndef SNPSAFE_HW_MACHINE_H
#define SNPSAFE_HW_MACHINE_H

#include <snpsafe/mmu.h>
#include <snpsafe/vmrun.h>

/*
 * One CPU's TLB: a small fully associative array, round-robin replacement.
 * A hash index (open addressing, linear probing) maps an entry's key (its
 * base va, bit 0 set for 2M) to its slot, so a lookup, hit or miss, is two
 * probes rather than a scan; used is a bitmap of valid slots, for the
 * lowest free slot a fill prefers.
 */
struct snp_tlb {
	struct snp_tlb_entry *e;
	bool *valid;
	uint64_t *used;   /* bit i: valid[i] */
	uint32_t *index;  /* slot + 1 of the entry hashed here, 0 empty */
	uint32_t *home;   /* per slot: its entry's hash (first index position it may take) */
	uint32_t *pos;    /* per slot: the index position holding it while valid */
	uint64_t *key;    /* per slot: its entry's key (tlb.c, tlb_key) while valid */
	unsigned int index_bits;
	unsigned int nr;
	unsigned int nr_valid;
	unsigned int nr_valid_4k;   /* of them 4K entries: a lookup skips a size none has */
	unsigned int next;    /* victim for the next fill when all are valid */
};

/* Page roles of a run, as indices (SNP_ROLE_* is 1 << index). */
enum {
	SNP_RUN_VMCB = 0, SNP_RUN_VMSA = 1, SNP_RUN_AVIC = 2, SNP_RUN_HSAVE = 3, SNP_RUN_PML = 4,
	SNP_RUN_NR_ROLES = 5
};
#define SNP_RUN_LABEL_LEN 64

/*
 * The last VMRUN on a CPU.  active: the CPU is in guest mode.  holds: the
 * pages in marked are (still) marked in-use on this run's behalf: true while
 * active, and after #VMEXIT when inuse_cleared_at_vmexit is off ("stale").
 */
struct snp_run {
	bool active;
	bool holds;
	snp_pfn_t pfn[SNP_RUN_NR_ROLES];
	unsigned int marked;            /* SNP_ROLE_* */
	enum snp_guest_type type;
	uint32_t asid;
	char label[SNP_RUN_LABEL_LEN];
};

struct snp_cpu {
	struct snp_tlb tlb;
	snp_pfn_t hsave;    /* VM_HSAVE_PA >> 12; SNP_HSAVE_UNSET (0) until written */
	struct snp_run run;
};

/*
 * The direct map.  Per 1GB region, pmd is NULL while the region is one 1G
 * leaf, else 512 bytes, each the leaf size (SNP_MAP_2M or SNP_MAP_4K) of one
 * 2MB region.  A 2MB region split to 4K is uniformly 4K (a PMD split fills
 * the whole page table), so no per-4K state exists.
 */
/* 2MB entries under one 1GB entry: PTRS_PER_PMD, one byte each in a split 1GB region's table. */
#define SNP_PMDS_PER_PUD (SNP_PUD_SIZE / SNP_PMD_SIZE)

struct snp_dmap {
	uint64_t nr_1g;
	uint8_t **pmd;
	uint64_t nr_split_1g;
	uint64_t nr_split_2m;
};

struct snp_fault_log {
	struct snp_fault_record *rec;
	unsigned long cap;    /* allocated records */
	unsigned long max;    /* records kept at most */
	unsigned long kept;
	unsigned long count;
	unsigned long spurious;
};

struct snp_machine {
	struct snp_rmp *rmp;
	uint64_t mem_bytes;
	unsigned int nr_cpus;
	struct snp_cpu *cpu;
	struct snp_dmap dmap;
	struct snp_fault_log log;
};

static inline bool snp_machine_cpu_ok(const struct snp_machine *m, unsigned int cpu)
{
	return m && cpu < m->nr_cpus;
}

static inline bool snp_machine_pfn_ok(const struct snp_machine *m, snp_pfn_t pfn)
{
	return pfn < (m->mem_bytes >> SNP_PAGE_SHIFT);
}

/* tlb.c */
SNP_MUST_CHECK int snp_tlb_init(struct snp_tlb *tlb, unsigned int nr);
size_t snp_tlb_storage_bytes(const struct snp_tlb *tlb);
void snp_tlb_free(struct snp_tlb *tlb);
SNP_MUST_CHECK int snp_tlb_find(const struct snp_tlb *tlb, uint64_t va);
struct snp_tlb_entry *snp_tlb_fill(struct snp_tlb *tlb, uint64_t base, enum snp_map_size size);
void snp_tlb_drop(struct snp_tlb *tlb, int idx);
void snp_tlb_flush_range_all(struct snp_machine *m, uint64_t va, uint64_t len);

/* directmap.c */
SNP_MUST_CHECK int snp_dmap_init(struct snp_dmap *d, const struct snp_ram_map *ram, uint64_t mem_bytes,
				 enum snp_map_size boot);
void snp_dmap_free(struct snp_dmap *d);

/* Leaf size of the direct-map translation of physical address pa (in memory).
 * Inline: every TLB miss of a host access walks it. */
static inline enum snp_map_size snp_dmap_leaf(const struct snp_dmap *d, snp_spa_t pa)
{
	const uint8_t *pmd = d->pmd[pa >> SNP_PUD_SHIFT];

	if (!pmd)
		return SNP_MAP_1G;
	return (enum snp_map_size)pmd[(pa >> SNP_PMD_SHIFT) & (SNP_PMDS_PER_PUD - 1)];
}

/* mmu.c */
struct snp_fault_record *snp_fault_new(struct snp_machine *m);
void snp_fault_dump_entry(const struct snp_machine *m, struct snp_fault_record *r, snp_pfn_t pfn);

#endif
