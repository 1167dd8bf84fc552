/* SPDX-License-Identifier: MIT */
/*
 * snpsafe/mmu.h - the modeled host: logical CPUs with TLBs, the kernel direct
 * map, host data accesses with the RMP checks of AMD APM Vol. 2 15.36.10, the
 * in-use rule and the in-use erratum (LINUX commit 75253db41a46).
 *
 * A struct snp_machine owns one struct snp_rmp (snpsafe/rmp.h) and N logical
 * CPUs.  It is not thread-safe: one thread drives one machine; independent
 * machines run on different threads (no global mutable state).  Modeled
 * concurrency (an RMPUPDATE on CPU 0 racing a write on CPU 1) is expressed by
 * interleaving calls, e.g. snp_rmpupdate_begin, snp_host_access,
 * snp_rmpupdate_commit.
 *
 * VMRUN, #VMEXIT and guest (nested) accesses are in snpsafe/vmrun.h.
 */
#ifndef SNPSAFE_MMU_H
#define SNPSAFE_MMU_H

#include <snpsafe/common.h>
#include <snpsafe/profile.h>
#include <snpsafe/rmp.h>

struct snp_machine;

/*
 * Base of the modeled direct map: physical address pa is at virtual address
 * SNP_PAGE_OFFSET + pa (the x86-64 4-level default of Linux's PAGE_OFFSET,
 * arch/x86/include/asm/page_64_types.h, without KASLR).
 */
#define SNP_PAGE_OFFSET 0xffff888000000000ULL

/* Translation (page-table leaf) sizes. */
enum snp_map_size {
	SNP_MAP_4K = 0,
	SNP_MAP_2M = 1,
	SNP_MAP_1G = 2,
};
const char *snp_map_size_name(enum snp_map_size s);  /* "4K", "2M", "1G" */

/* Leaf size of the direct map at boot (Linux uses the largest the CPU supports). */
enum snp_dmap_boot {
	SNP_DMAP_1G = 0,   /* default */
	SNP_DMAP_2M = 1,
	SNP_DMAP_4K = 2,
};

/*
 * The host's firmware memory map: which physical ranges are usable RAM (e820
 * type RAM, what e820__memblock_setup() adds to memblock.memory).  Linux
 * builds its direct map from these ranges (LINUX arch/x86/mm/init.c
 * init_mem_mapping(), split_mem_range(), adjust_range_page_size_mask(),
 * read in Debian 6.12.95): a 2MB region gets a 2M leaf only when it is wholly RAM, a
 * 1GB region a 1G leaf only when it is wholly RAM and gbpages are on; the
 * rest of a range is mapped with 4K leaves.  docs/MODEL.md "Host MMU".
 */
enum snp_ram_layout {
	SNP_RAM_FLAT = 0,     /* default: all of [0, mem) is RAM (the model's uniform map) */
	SNP_RAM_QEMU_PC,      /* QEMU's pc machine with SeaBIOS, all RAM below 4 GiB */
	SNP_RAM_NR_LAYOUTS
};
/* "flat", "qemu-pc"; parse: 0 or SNP_EINVAL. */
const char *snp_ram_layout_name(enum snp_ram_layout l);
SNP_MUST_CHECK int snp_ram_layout_parse(const char *s, enum snp_ram_layout *out);

/* QEMU pc: below this much RAM all of it is below 4 GiB (hw/i386/pc_piix.c, lowmem 0xe0000000). */
#define SNP_RAM_QEMU_PC_MAX (3584ULL << 20)
/* SeaBIOS's high tables left reserved at the top of RAM (docs/MODEL.md "Host MMU"). */
#define SNP_RAM_QEMU_PC_TOP_RESERVED (128ULL << 10)
#define SNP_RAM_MAX_RANGES 4

struct snp_ram_range {
	snp_spa_t start, end;    /* [start, end), page-aligned */
};
struct snp_ram_map {
	unsigned int nr;         /* ascending, disjoint */
	struct snp_ram_range r[SNP_RAM_MAX_RANGES];
};
/*
 * The usable RAM of a host of mem_bytes laid out as l.  0, or SNP_EINVAL
 * (bad layout, mem_bytes not a multiple of 4K, qemu-pc above
 * SNP_RAM_QEMU_PC_MAX or below 2 MiB).
 */
SNP_MUST_CHECK int snp_ram_map_build(enum snp_ram_layout l, uint64_t mem_bytes, struct snp_ram_map *out);
/* Is [start, end) wholly inside one RAM range (memblock_is_region_memory())? */
bool snp_ram_map_covers(const struct snp_ram_map *map, snp_spa_t start, snp_spa_t end);

#define SNP_MACHINE_MAX_CPUS 256
#define SNP_TLB_DEFAULT_ENTRIES 64

/*
 * The data TLBs of the SNP parts, per core: Milan (Zen 3) has an L1 of 64
 * entries (fully associative) and an L2 of 2048 (8-way); Genoa (Zen 4) 72
 * and 3072 (12-way): the Zen 4 PPR's CPUID section, tabulated beside Zen 3
 * by chipsandcheese.com ("Details on the Gigabyte Leak", 2021-08-23).  The
 * L1 holds 4K, 2M and 1G entries, the L2 4K and 2M ones, a 1G page smashed
 * into 2M entries (AMD's Family 17h Software Optimization Guide as WikiChip
 * quotes it for Zen 2).  The model's TLB is one pool of 4K and 2M entries
 * (a 1G leaf already fills 2M entries), so a part is modeled as L1 + L2
 * entries: the most it could hold if the levels are exclusive.
 */
struct snp_tlb_part {
	const char *name;             /* "milan", "genoa" */
	const char *core;             /* "Zen 3", "Zen 4" */
	unsigned int l1_dtlb, l2_dtlb;
};
extern const struct snp_tlb_part snp_tlb_parts[];   /* ends with a NULL name */
/* The part of that name, or NULL. */
const struct snp_tlb_part *snp_tlb_part_by_name(const char *name);
static inline unsigned int snp_tlb_part_entries(const struct snp_tlb_part *p)
{
	return p->l1_dtlb + p->l2_dtlb;
}

struct snp_machine_config {
	uint64_t mem_bytes;            /* as snp_rmp_config: 0 = 16 GiB, multiple of 2MB */
	uint64_t rmp_covered_bytes;    /* 0 = all memory */
	const struct snp_profile *profile; /* NULL = early-snp; copied at create */
	unsigned int nr_cpus;              /* 0 = 2; at most SNP_MACHINE_MAX_CPUS */
	enum snp_dmap_boot direct_map; /* leaf size of the direct map at boot; default 1G */
	enum snp_ram_layout ram_layout;  /* the RAM map the direct map is built from; default flat */
	unsigned int tlb_entries;          /* per CPU; 0 = SNP_TLB_DEFAULT_ENTRIES */
	unsigned int fault_log_max;        /* records kept; 0 = 1024 (later faults only counted) */
};

SNP_MUST_CHECK int snp_machine_create(const struct snp_machine_config *cfg, struct snp_machine **out);
void snp_machine_destroy(struct snp_machine *m);

/* The machine's RMP (owned by the machine: do not destroy it). */
struct snp_rmp *snp_machine_rmp(struct snp_machine *m);
/* The live profile (the RMP's copy; writable so tests can flip a knob). */
struct snp_profile *snp_machine_profile(struct snp_machine *m);
unsigned int snp_machine_nr_cpus(const struct snp_machine *m);
uint64_t snp_machine_mem_bytes(const struct snp_machine *m);
/* Host memory the machine's own model state takes now (direct map, TLBs, log; not the RMP). */
size_t snp_machine_storage_bytes(const struct snp_machine *m);

/* Direct-map address of a physical address / pfn, and back. */
static inline uint64_t snp_phys_to_virt(snp_spa_t pa) { return SNP_PAGE_OFFSET + pa; }
static inline uint64_t snp_pfn_to_virt(snp_pfn_t pfn) { return SNP_PAGE_OFFSET + snp_pfn_to_phys(pfn); }

/* ---- Direct map (arch/x86/mm/pat/set_memory.c) ----------------------------- */

/*
 * Leaf size of the direct-map translation of va (lookup_address()).
 * 0, SNP_ERANGE outside the direct map, SNP_EINVAL for NULL.
 */
SNP_MUST_CHECK int snp_direct_map_lookup(const struct snp_machine *m, uint64_t va, enum snp_map_size *size);

/*
 * set_memory_4k(): map [va, va + numpages * 4K) with 4K leaves, splitting 1G
 * and 2M leaves on the way (a split 1G page becomes 512 2M leaves, and only
 * the 2M leaves the range touches become 4K).  Nothing ever merges back.
 * Flushes the affected translations from every CPU's TLB (a shootdown).
 * 0, SNP_ERANGE, SNP_EINVAL, SNP_ENOMEM.
 */
SNP_MUST_CHECK int snp_set_memory_4k(struct snp_machine *m, uint64_t va, uint64_t numpages);

/* Number of 1G and 2M leaves split so far (statistics, tests). */
uint64_t snp_direct_map_nr_split_1g(const struct snp_machine *m);
uint64_t snp_direct_map_nr_split_2m(const struct snp_machine *m);

/* ---- TLBs -------------------------------------------------------------------- */

/*
 * A TLB entry as the model keeps it.  A 1G direct-map leaf installs 2M
 * entries (snp-facts §3), so size is SNP_MAP_4K or SNP_MAP_2M; leaf says what
 * the page table held.  write_checked: the RMP write checks passed at fill
 * (a read fill leaves it false, and the first write through it re-checks, as a
 * dirty-bit page walk would).
 */
struct snp_tlb_entry {
	uint64_t va;               /* base of the entry's page */
	snp_spa_t pa;
	enum snp_map_size size;    /* 4K or 2M */
	enum snp_map_size leaf;    /* 4K, 2M or 1G */
	bool write_checked;
};

/* Look va up in cpu's TLB without filling: 1 hit (*e filled when e != NULL), 0 miss, <0 error. */
SNP_MUST_CHECK int snp_tlb_lookup(const struct snp_machine *m, unsigned int cpu, uint64_t va, struct snp_tlb_entry *e);
/* INVLPG: drop cpu's entries that translate va.  0 or error. */
SNP_MUST_CHECK int snp_tlb_flush_one(struct snp_machine *m, unsigned int cpu, uint64_t va);
/* Full flush of cpu's TLB (CR3 write without global pages). */
SNP_MUST_CHECK int snp_tlb_flush_all(struct snp_machine *m, unsigned int cpu);
/*
 * flush_tlb_kernel_range() on every CPU (an IPI shootdown): drop every
 * entry overlapping [va, va + len).  0 or error.
 */
SNP_MUST_CHECK int snp_tlb_shootdown(struct snp_machine *m, uint64_t va, uint64_t len);
/* Valid entries in cpu's TLB, or a negative error. */
SNP_MUST_CHECK int snp_tlb_nr_entries(const struct snp_machine *m, unsigned int cpu);

/* ---- Host accesses and RMP faults ----------------------------------------------- */

/* The check that raised a host (or guest) fault. */
enum snp_fault_rule {
	SNP_RULE_NONE = 0,
	SNP_RULE_RMP_4K_NOT_HV_OWNED,   /* write via 4K leaf, entry Assigned (APM 15.36.10) */
	SNP_RULE_RMP_2M_NOT_HV_OWNED,   /* write via 2M/1G leaf, some entry of the 2MB region Assigned */
	SNP_RULE_INUSE_WRITE,           /* write to an in-use page, no HvInUseWrAllowed */
	SNP_RULE_INUSE_READ,            /* read of an in-use page (knob inuse_reads_fault) */
	SNP_RULE_ERRATUM_2M_BASE_INUSE, /* hugepage access, 2MB region's base entry in-use (erratum) */
	SNP_RULE_NPF_NOT_PRESENT,       /* guest: no nested translation */
	SNP_RULE_NPF_NOT_WRITABLE,      /* guest: nested translation read-only */
	SNP_RULE_NPF_RMP_NOT_COVERED,   /* guest private access: page not RMP-covered */
	SNP_RULE_NPF_RMP_NOT_GUEST_OWNED,
	SNP_RULE_NPF_RMP_REVERSE_MAP,   /* RMP GPA differs from the accessed GPA */
	SNP_RULE_NPF_RMP_IMMUTABLE,
	SNP_RULE_NPF_RMP_PAGE_SIZE,     /* nested leaf size differs from RMP Page_Size */
	SNP_RULE_VC_NOT_VALIDATED,      /* #VC 0x404 */
	SNP_RULE_NPF_RMP_VMPL,          /* VMPL permission mask */
	SNP_RULE_NPF_RMP_SHARED_NOT_HV_OWNED, /* guest shared (C=0) write to an assigned page */
	SNP_RULE_NR,
};
const char *snp_fault_rule_name(enum snp_fault_rule r);  /* "RMP_2M_NOT_HV_OWNED", ... */

#define SNP_FAULT_DUMP_LEN 1024
#define SNP_PF_PRESENT (1ULL << 0)  /* #PF error code: the translation was present */
#define SNP_FAULT_OWNER_LEN 128

/* One recorded fault. */
struct snp_fault_record {
	unsigned long seq;          /* 0, 1, 2... over the machine's life */
	unsigned int cpu;
	bool guest;                 /* a guest access (vmrun.h), else a host one */
	uint32_t asid;              /* guest's ASID */
	uint64_t va;                /* host: direct-map address; guest: the GPA */
	snp_spa_t pa;
	bool write;
	enum snp_map_size size;     /* leaf size of the translation used */
	enum snp_fault_rule rule;
	bool spurious;              /* erratum, or concurrent use of the entry (APM 15.36.10) */
	struct snp_exc exc;         /* #PF / #NPF / #VC and its error code */
	char inuse_owner[SNP_FAULT_OWNER_LEN]; /* "VMCB of the run on CPU 0 (vcpu 0 vmcb01)" or "" */
	char rmp_dump[SNP_FAULT_DUMP_LEN];     /* the RMP entries involved, one per line */
};

/*
 * A host data access by cpu to direct-map address va.  Translates (TLB hit,
 * or walk and fill), then applies the RMP rules (docs/MODEL.md, "Host MMU").
 * Returns 0; SNP_EFAULT with *exc = #PF (error code SNP_PF_RMP, SNP_PF_WRITE
 * for a write) and a fault record appended to the log; SNP_EINVAL (NULL,
 * bad cpu) or SNP_ERANGE (va outside the direct map).  exc may be NULL.
 */
SNP_MUST_CHECK int snp_host_access(struct snp_machine *m, unsigned int cpu, uint64_t va, bool write,
		    struct snp_exc *exc);
/*
 * The same access, but a TLB miss walks to a leaf of size leaf instead of the
 * machine's direct map: for replaying a recorded kernel whose page tables the
 * model does not hold (the recording says which leaf mapped each store).  A
 * TLB hit uses the cached entry, as snp_host_access.  Returns as
 * snp_host_access; SNP_EINVAL for a leaf that is not 4K, 2M or 1G.
 */
SNP_MUST_CHECK int snp_host_access_leaf(struct snp_machine *m, unsigned int cpu, uint64_t va, bool write,
			 enum snp_map_size leaf, struct snp_exc *exc);
/*
 * The RMP checks the same access would meet at a TLB fill walking to leaf,
 * without reading or filling cpu's TLB: what a part that checks the RMP on
 * every access would do (replay's upper bound, docs/REPLAY.md).  A fault is
 * recorded as snp_host_access records it; nothing else changes.  Returns as
 * snp_host_access_leaf.
 */
SNP_MUST_CHECK int snp_host_check_leaf(struct snp_machine *m, unsigned int cpu, uint64_t va, bool write,
				       enum snp_map_size leaf, struct snp_exc *exc);
static inline SNP_MUST_CHECK int snp_host_write(struct snp_machine *m, unsigned int cpu, uint64_t va)
{
	return snp_host_access(m, cpu, va, true, NULL);
}
static inline SNP_MUST_CHECK int snp_host_read(struct snp_machine *m, unsigned int cpu, uint64_t va)
{
	return snp_host_access(m, cpu, va, false, NULL);
}

/* Faults recorded so far (including those past fault_log_max, which are not kept). */
unsigned long snp_fault_count(const struct snp_machine *m);
/*
 * Spurious faults (the erratum, or an in-flight RMPUPDATE) among all faults
 * recorded so far, like snp_fault_count() including those past
 * fault_log_max that are not kept.
 */
unsigned long snp_fault_count_spurious(const struct snp_machine *m);
/* Copy kept record idx (0 = oldest kept).  0, SNP_ENOENT, SNP_EINVAL. */
SNP_MUST_CHECK int snp_fault_get(const struct snp_machine *m, unsigned long idx, struct snp_fault_record *out);
/* The most recent record.  0 or SNP_ENOENT. */
SNP_MUST_CHECK int snp_fault_last(const struct snp_machine *m, struct snp_fault_record *out);
/* Forget all records and counts. */
void snp_fault_clear(struct snp_machine *m);
/* Human-readable multi-line text of a record, into buf; returns buf. */
char *snp_fault_format(const struct snp_fault_record *r, char *buf, size_t len);

/* ---- Host kernel RMP helpers (LINUX arch/x86/virt/svm/sev.c) --------------------- */

/*
 * The kernel's rmpupdate() wrapper: adjust_direct_map() first (for a 4K
 * transition, split the direct map around the page so no hugepage covers a
 * page whose RMP entry changes; a whole-2MB transition needs no split), then
 * RMPUPDATE, retried while it returns FAIL_OVERLAP (bounded here).
 *
 * Errors as the kernel's (LINUX 6.12 arch/x86/virt/svm/sev.c rmpupdate()):
 * 0 when RMPUPDATE succeeded; SNP_EFAULT when it returned a failure code (the
 * kernel logs the code and returns -EFAULT), or when the direct map could not
 * be split; another negative SNP_E* for misuse (NULL, pfn out of range, a
 * level with no RMP entry).  *rmp_ret (may be NULL) gets the last RMPUPDATE
 * code whenever the instruction ran, so a caller can tell FAIL_INUSE from
 * FAIL_OVERLAP or FAIL_PERMISSION; it is left as it was otherwise.
 */
SNP_MUST_CHECK int snp_host_rmpupdate(struct snp_machine *m, snp_pfn_t pfn,
				      const struct snp_rmpupdate_in *in, int *rmp_ret);
/* rmp_make_private(pfn, gpa, level, asid, immutable); errors as snp_host_rmpupdate(). */
SNP_MUST_CHECK int snp_rmp_make_private(struct snp_machine *m, snp_pfn_t pfn, snp_gpa_t gpa,
					enum snp_map_size level, uint32_t asid, bool immutable,
					int *rmp_ret);
/* rmp_make_shared(pfn, level): back to Hypervisor-owned; errors as snp_host_rmpupdate(). */
SNP_MUST_CHECK int snp_rmp_make_shared(struct snp_machine *m, snp_pfn_t pfn,
				       enum snp_map_size level, int *rmp_ret);

#endif
