/* SPDX-License-Identifier: MIT */
/*
 * rmp_internal.h - storage of the modeled RMP, shared by the files of src/hw
 * that implement instructions on it (rmp.c, rmp_insn.c, rmp_fw.c) and by the
 * host access checks of mmu.c, which read it inline on every TLB fill.
 *
 * Layout (docs/MODEL.md, "Storage"): an index with one 16-byte slot per 2MB
 * region of modeled memory, allocated zeroed up front (calloc of a large size
 * is backed by untouched anonymous pages, so an idle 1 TiB host costs almost
 * nothing), and 512 entries of 16 bytes allocated the first time anything in
 * the region leaves the all-zero Hypervisor state.  The slot also keeps the
 * region's summary counts, the equivalent of the firmware's subpage_count
 * (ASPFW sev_rmp.h), so 2MB checks are O(1).
 *
 * The bit positions below are the model's own: the hardware layout is
 * microarchitectural (snp-facts §2), and which bit holds in-use on real parts
 * is unconfirmed; no modeled behaviour depends on it.
 */
#ifndef SNPSAFE_HW_RMP_INTERNAL_H
#define SNPSAFE_HW_RMP_INTERNAL_H

#include <snpsafe/rmp.h>

#define RMPE_ASSIGNED  (1ULL << 0)
#define RMPE_PAGESIZE  (1ULL << 1)   /* 1 = part of a 2M entry */
#define RMPE_IMMUTABLE (1ULL << 2)
#define RMPE_VALIDATED (1ULL << 3)
#define RMPE_VMSA      (1ULL << 4)
#define RMPE_INUSE     (1ULL << 5)   /* VMRUN's mark (microarchitectural) */
#define RMPE_LOCKED    (1ULL << 6)   /* an RMPUPDATE is in flight */
#define RMPE_GPA_SHIFT 12
#define RMPE_GPA_MASK  (((1ULL << (SNP_MAX_PHYS_BITS - 12)) - 1) << RMPE_GPA_SHIFT)

/* One RMP entry as the model stores it: 16 bytes, like the hardware's. */
struct rmp_raw {
	uint64_t lo;     /* flags above and GPA bits 12..51 */
	uint32_t asid;
	uint16_t perms;  /* VMPL n's 4-bit mask at bits 4n..4n+3 */
	uint16_t rsvd;
};

/* One 2MB region: its entries (NULL = all Hypervisor) and summary counts. */
struct rmp_region {
	struct rmp_raw *e;
	uint16_t nr_assigned;
	uint16_t nr_inuse;
	uint16_t nr_locked;
	uint16_t rsvd;
};

struct snp_rmp {
	uint64_t mem_bytes;
	uint64_t covered_bytes;
	uint64_t nr_regions;
	uint64_t nr_touched;     /* regions with entries allocated */
	struct rmp_region *regions;
	struct snp_profile profile;
};

static inline struct rmp_region *rmp_region_of(const struct snp_rmp *rmp, snp_pfn_t pfn)
{
	return &rmp->regions[pfn / SNP_PTRS_PER_PMD];
}

static inline bool rmp_pfn_valid(const struct snp_rmp *rmp, snp_pfn_t pfn)
{
	return pfn < (rmp->mem_bytes >> SNP_PAGE_SHIFT);
}

static inline bool rmp_pfn_covered(const struct snp_rmp *rmp, snp_pfn_t pfn)
{
	return pfn < (rmp->covered_bytes >> SNP_PAGE_SHIFT);
}

/* The entry of pfn, or NULL if its region was never touched (all zero). */
static inline const struct rmp_raw *rmp_peek(const struct snp_rmp *rmp, snp_pfn_t pfn)
{
	const struct rmp_region *r = rmp_region_of(rmp, pfn);

	return r->e ? &r->e[pfn % SNP_PTRS_PER_PMD] : NULL;
}

static inline uint64_t rmp_lo(const struct snp_rmp *rmp, snp_pfn_t pfn)
{
	const struct rmp_raw *e = rmp_peek(rmp, pfn);

	return e ? e->lo : 0;
}

/*
 * rmp_region_inuse_possible() - may any entry of region r count as in-use?
 * O(1) from the summary counts: no entry marked by VMRUN, and none locked
 * by an RMPUPDATE in flight where rmpupdate_transient_inuse makes a lock
 * count.  False means no in-use check in the region can fire, so a TLB fill
 * (mmu.c) skips the per-entry reads, the base entry's included.
 */
static inline bool rmp_region_inuse_possible(const struct snp_rmp *rmp, const struct rmp_region *r)
{
	return r->nr_inuse || (rmp->profile.rmpupdate_transient_inuse && r->nr_locked);
}

/* snp_rmp_inuse() for a pfn the caller knows is in range. */
static inline bool rmp_entry_inuse(const struct snp_rmp *rmp, snp_pfn_t pfn)
{
	uint64_t lo = rmp_lo(rmp, pfn);

	return (lo & RMPE_INUSE) || (rmp->profile.rmpupdate_transient_inuse && (lo & RMPE_LOCKED));
}

/* The entry of pfn, allocating its region's entries; NULL on out of memory. */
struct rmp_raw *rmp_touch(struct snp_rmp *rmp, snp_pfn_t pfn);

/* Replace an entry's architectural fields, keeping the summary counts true. */
void rmp_write(struct snp_rmp *rmp, snp_pfn_t pfn, struct rmp_raw *e, uint64_t lo,
	       uint32_t asid, uint16_t perms);

/* The lock bit, which also counts in the region summary. */
void rmp_set_locked(struct snp_rmp *rmp, snp_pfn_t pfn, struct rmp_raw *e, bool locked);

/* Decode a stored entry into the public view. */
void rmp_decode(const struct snp_rmp *rmp, snp_pfn_t pfn, struct snp_rmpentry *out);

static inline uint8_t rmp_perm_of(uint16_t perms, unsigned int vmpl)
{
	return (perms >> (4 * vmpl)) & SNP_PERM_ALL;
}

#endif
