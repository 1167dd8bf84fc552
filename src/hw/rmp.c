// SPDX-License-Identifier: MIT
/*
 * rmp.c - the modeled Reverse Map Table: storage, the model's read of an
 * entry, page-state names, the microarchitectural in-use mark, and the O(1)
 * ownership checks the access model needs.
 *
 * APM Vol. 2 15.36.3-4: one entry per 4K page of system physical memory;
 * memory the RMP does not cover is permanently Hypervisor-Owned.
 */
#include "rmp_internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RMP_DEFAULT_MEM (16 * SNP_GiB)

int snp_rmp_create(const struct snp_rmp_config *cfg, struct snp_rmp **out)
{
	uint64_t mem, covered;
	struct snp_rmp *rmp;

	if (!cfg || !out)
		return SNP_EINVAL;
	*out = NULL;
	mem = cfg->mem_bytes ? cfg->mem_bytes : RMP_DEFAULT_MEM;
	covered = cfg->rmp_covered_bytes ? cfg->rmp_covered_bytes : mem;
	if (!snp_is_aligned(mem, SNP_PMD_SIZE) || !snp_is_aligned(covered, SNP_PMD_SIZE))
		return SNP_EINVAL;
	if (mem > SNP_RMP_MAX_MEM || covered > mem)
		return SNP_ERANGE;

	rmp = calloc(1, sizeof(*rmp));
	if (!rmp)
		return SNP_ENOMEM;
	rmp->mem_bytes = mem;
	rmp->covered_bytes = covered;
	rmp->nr_regions = mem / SNP_PMD_SIZE;
	rmp->profile = cfg->profile ? *cfg->profile : snp_profile_early_snp;
	/* Zeroed and untouched: costs RSS only where regions get written. */
	rmp->regions = calloc(rmp->nr_regions, sizeof(*rmp->regions));
	if (!rmp->regions) {
		free(rmp);
		return SNP_ENOMEM;
	}
	*out = rmp;
	return 0;
}

void snp_rmp_destroy(struct snp_rmp *rmp)
{
	if (!rmp)
		return;
	for (uint64_t i = 0; i < rmp->nr_regions; i++)
		free(rmp->regions[i].e);
	free(rmp->regions);
	free(rmp);
}

uint64_t snp_rmp_mem_bytes(const struct snp_rmp *rmp) { return rmp ? rmp->mem_bytes : 0; }
uint64_t snp_rmp_covered_bytes(const struct snp_rmp *rmp) { return rmp ? rmp->covered_bytes : 0; }
const struct snp_profile *snp_rmp_profile(const struct snp_rmp *rmp) { return rmp ? &rmp->profile : NULL; }
struct snp_profile *snp_rmp_profile_mut(struct snp_rmp *rmp) { return rmp ? &rmp->profile : NULL; }

bool snp_rmp_covered(const struct snp_rmp *rmp, snp_spa_t spa)
{
	return rmp && spa < rmp->covered_bytes;
}

size_t snp_rmp_storage_bytes(const struct snp_rmp *rmp)
{
	if (!rmp)
		return 0;
	return sizeof(*rmp) + rmp->nr_regions * sizeof(struct rmp_region) +
	       rmp->nr_touched * SNP_PTRS_PER_PMD * sizeof(struct rmp_raw);
}

uint64_t snp_rmp_storage_bytes_for(uint64_t mem_bytes, uint64_t touched_bytes)
{
	return sizeof(struct snp_rmp) + mem_bytes / SNP_PMD_SIZE * sizeof(struct rmp_region) +
	       touched_bytes / SNP_PMD_SIZE * SNP_PTRS_PER_PMD * sizeof(struct rmp_raw);
}

struct rmp_raw *rmp_touch(struct snp_rmp *rmp, snp_pfn_t pfn)
{
	struct rmp_region *r = rmp_region_of(rmp, pfn);

	if (!r->e) {
		r->e = calloc(SNP_PTRS_PER_PMD, sizeof(*r->e));
		if (!r->e)
			return NULL;
		rmp->nr_touched++;
	}
	return &r->e[pfn % SNP_PTRS_PER_PMD];
}

void rmp_write(struct snp_rmp *rmp, snp_pfn_t pfn, struct rmp_raw *e, uint64_t lo,
	       uint32_t asid, uint16_t perms)
{
	struct rmp_region *r = rmp_region_of(rmp, pfn);
	const uint64_t keep = RMPE_INUSE | RMPE_LOCKED;

	r->nr_assigned -= !!(e->lo & RMPE_ASSIGNED);
	r->nr_assigned += !!(lo & RMPE_ASSIGNED);
	e->lo = (e->lo & keep) | (lo & ~keep);
	e->asid = asid;
	e->perms = perms;
}

void rmp_set_locked(struct snp_rmp *rmp, snp_pfn_t pfn, struct rmp_raw *e, bool locked)
{
	struct rmp_region *r = rmp_region_of(rmp, pfn);
	bool was = e->lo & RMPE_LOCKED;

	if (was == locked)
		return;
	if (locked) {
		e->lo |= RMPE_LOCKED;
		r->nr_locked++;
	} else {
		e->lo &= ~RMPE_LOCKED;
		r->nr_locked--;
	}
}

void rmp_decode(const struct snp_rmp *rmp, snp_pfn_t pfn, struct snp_rmpentry *out)
{
	const struct rmp_raw *e = rmp_peek(rmp, pfn);
	uint64_t lo = e ? e->lo : 0;
	uint16_t perms = e ? e->perms : 0;

	memset(out, 0, sizeof(*out));
	out->covered = rmp_pfn_covered(rmp, pfn);
	out->assigned = lo & RMPE_ASSIGNED;
	out->pagesize_2m = lo & RMPE_PAGESIZE;
	out->immutable = lo & RMPE_IMMUTABLE;
	out->validated = lo & RMPE_VALIDATED;
	out->vmsa = lo & RMPE_VMSA;
	out->in_use = lo & RMPE_INUSE;
	out->locked = lo & RMPE_LOCKED;
	out->asid = e ? e->asid : 0;
	out->gpa = lo & RMPE_GPA_MASK;
	for (unsigned int v = 0; v < 4; v++)
		out->vmpl_perms[v] = rmp_perm_of(perms, v);
}

int snp_rmp_query(const struct snp_rmp *rmp, snp_spa_t spa, struct snp_rmpentry *out)
{
	if (!rmp || !out)
		return SNP_EINVAL;
	if (!snp_is_aligned(spa, SNP_PAGE_SIZE))
		return SNP_EINVAL;
	if (!rmp_pfn_valid(rmp, snp_phys_to_pfn(spa)))
		return SNP_ERANGE;
	rmp_decode(rmp, snp_phys_to_pfn(spa), out);
	return 0;
}

/*
 * snp_page_state - name an entry the way AMD's firmware does (ASPFW
 * sev_rmp.h; table in snp-facts §2).  Uncovered memory is Hypervisor.
 */
enum snp_page_state snp_page_state(const struct snp_rmpentry *e)
{
	if (!e)
		return SNP_PS_UNNAMED;
	if (!e->assigned) {
		if (e->validated || e->asid)
			return SNP_PS_UNNAMED;
		return e->immutable ? SNP_PS_HV_FIXED : SNP_PS_HYPERVISOR;
	}
	if (e->asid == 0) {
		if (e->validated)
			return SNP_PS_UNNAMED;
		if (!e->immutable)
			return SNP_PS_RECLAIM;
		if (e->vmsa)
			return SNP_PS_CONTEXT;
		return e->gpa == 0 ? SNP_PS_FIRMWARE : SNP_PS_UNNAMED;
	}
	if (e->immutable)
		return e->validated ? SNP_PS_PRE_SWAP : SNP_PS_PRE_GUEST;
	return e->validated ? SNP_PS_GUEST_VALID : SNP_PS_GUEST_INVALID;
}

const char *snp_page_state_name(enum snp_page_state s)
{
	static const char *const names[] = {
		[SNP_PS_HYPERVISOR] = "Hypervisor", [SNP_PS_HV_FIXED] = "HV_Fixed",
		[SNP_PS_FIRMWARE] = "Firmware", [SNP_PS_CONTEXT] = "Context",
		[SNP_PS_RECLAIM] = "Reclaim", [SNP_PS_PRE_GUEST] = "Pre-Guest",
		[SNP_PS_PRE_SWAP] = "Pre-Swap", [SNP_PS_GUEST_INVALID] = "Guest-Invalid",
		[SNP_PS_GUEST_VALID] = "Guest-Valid", [SNP_PS_UNNAMED] = "(unnamed)",
	};

	if ((unsigned int)s > SNP_PS_UNNAMED)
		return "(invalid)";
	return names[s];
}

const char *snp_rmp_ret_name(int ret)
{
	switch (ret) {
	case SNP_RMP_SUCCESS:        return "SUCCESS";
	case SNP_FAIL_INPUT:         return "FAIL_INPUT";
	case SNP_FAIL_PERMISSION:    return "FAIL_PERMISSION";
	case SNP_FAIL_INUSE:         return "FAIL_INUSE";
	case SNP_FAIL_OVERLAP:       return "FAIL_OVERLAP";
	case SNP_FAIL_SIZEMISMATCH:  return "FAIL_SIZEMISMATCH";
	case SNP_PVALIDATE_NOUPDATE: return "NOUPDATE";
	default:                     return ret < 0 ? snp_strerror(ret) : "FAIL_?";
	}
}

const char *snp_psmash_ret_name(int ret)
{
	return ret == SNP_FAIL_BADADDR ? "FAIL_BADADDR" : snp_rmp_ret_name(ret);
}

const char *snp_exc_name(enum snp_exc_vector v)
{
	switch (v) {
	case SNP_EXC_NONE: return "none";
	case SNP_EXC_GP:   return "#GP";
	case SNP_EXC_PF:   return "#PF";
	case SNP_EXC_NPF:  return "#NPF";
	case SNP_EXC_VC:   return "#VC";
	default:           return "#?";
	}
}

/*
 * snp_rmpentry_format - one line per entry, in the spirit of the kernel's
 * dump_rmpentry() (arch/x86/virt/svm/sev.c): the decoded fields, the page
 * state name, and the in-use mark flagged as microarchitectural.
 */
char *snp_rmpentry_format(snp_spa_t spa, const struct snp_rmpentry *e, char *buf, size_t len)
{
	if (!buf || !len)
		return buf;
	if (!e) {
		snprintf(buf, len, "SPA 0x%" PRIx64 ": (no entry)", spa);
		return buf;
	}
	if (!e->covered) {
		snprintf(buf, len, "SPA 0x%" PRIx64 ": not covered by the RMP (Hypervisor-Owned)", spa);
		return buf;
	}
	snprintf(buf, len,
		 "SPA 0x%" PRIx64 " PFN 0x%" PRIx64 ": [GPA 0x%" PRIx64 ", Assigned %d, PageSize %s, "
		 "Immutable %d, Validated %d, VMSA %d, ASID %u, Perms %x/%x/%x/%x] state %s%s%s",
		 spa, snp_phys_to_pfn(spa), e->gpa, e->assigned, e->pagesize_2m ? "2M" : "4K",
		 e->immutable, e->validated, e->vmsa, e->asid, e->vmpl_perms[0],
		 e->vmpl_perms[1], e->vmpl_perms[2], e->vmpl_perms[3],
		 snp_page_state_name(snp_page_state(e)),
		 e->in_use ? " IN-USE (microarchitectural, not among RMPREAD's fields)" : "",
		 e->locked ? " LOCKED (RMPUPDATE in flight)" : "");
	return buf;
}

/*
 * snp_rmp_mark_inuse - VMRUN's mark on a VMCB, VMSA or AVIC backing page
 * (LINUX 75253db41a46).  The mark lives in the entry, so memory the RMP does
 * not cover has nowhere to hold it: the call does nothing there, and what
 * VMRUN makes of such a page is the uncovered_inuse knob (src/hw/vmrun.c).
 */
int snp_rmp_mark_inuse(struct snp_rmp *rmp, snp_pfn_t pfn)
{
	struct rmp_raw *e;

	if (!rmp)
		return SNP_EINVAL;
	if (!rmp_pfn_valid(rmp, pfn))
		return SNP_ERANGE;
	if (!rmp_pfn_covered(rmp, pfn))
		return 0;
	e = rmp_touch(rmp, pfn);
	if (!e)
		return SNP_ENOMEM;
	if (!(e->lo & RMPE_INUSE)) {
		e->lo |= RMPE_INUSE;
		rmp_region_of(rmp, pfn)->nr_inuse++;
	}
	return 0;
}

int snp_rmp_clear_inuse(struct snp_rmp *rmp, snp_pfn_t pfn)
{
	struct rmp_raw *e;

	if (!rmp)
		return SNP_EINVAL;
	if (!rmp_pfn_valid(rmp, pfn))
		return SNP_ERANGE;
	if (!rmp_pfn_covered(rmp, pfn) || !rmp_peek(rmp, pfn))
		return 0;
	e = rmp_touch(rmp, pfn);
	if (e->lo & RMPE_INUSE) {
		e->lo &= ~RMPE_INUSE;
		rmp_region_of(rmp, pfn)->nr_inuse--;
	}
	return 0;
}

bool snp_rmp_hv_owned_4k(const struct snp_rmp *rmp, snp_pfn_t pfn)
{
	if (!rmp || !rmp_pfn_valid(rmp, pfn))
		return false;
	return !(rmp_lo(rmp, pfn) & RMPE_ASSIGNED);
}

/* APM 15.36.10 / snp-facts §3: through a 2MB mapping, all 512 entries must be unassigned. */
bool snp_rmp_hv_owned_2m(const struct snp_rmp *rmp, snp_pfn_t pfn)
{
	if (!rmp || !rmp_pfn_valid(rmp, pfn))
		return false;
	return rmp_region_of(rmp, pfn)->nr_assigned == 0;
}

bool snp_rmp_inuse(const struct snp_rmp *rmp, snp_pfn_t pfn)
{
	if (!rmp || !rmp_pfn_valid(rmp, pfn))
		return false;
	return rmp_entry_inuse(rmp, pfn);
}

unsigned int snp_rmp_2m_nr_assigned(const struct snp_rmp *rmp, snp_pfn_t pfn)
{
	if (!rmp || !rmp_pfn_valid(rmp, pfn))
		return 0;
	return rmp_region_of(rmp, pfn)->nr_assigned;
}

unsigned int snp_rmp_2m_nr_inuse(const struct snp_rmp *rmp, snp_pfn_t pfn)
{
	if (!rmp || !rmp_pfn_valid(rmp, pfn))
		return 0;
	return rmp_region_of(rmp, pfn)->nr_inuse;
}
