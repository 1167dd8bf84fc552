// SPDX-License-Identifier: MIT
/*
 * rmp_fw.c - the AMD-SP (SNP firmware) page transitions a hypervisor relies
 * on.  The state names and their field values are ASPFW's (sev_rmp.h;
 * snp-facts §2); which command moves a page between which states follows the
 * SNP firmware ABI as Linux drives it (drivers/crypto/ccp/sev-dev.c:
 * rmp_mark_pages_firmware, snp_reclaim_pages; arch/x86/kvm/svm/sev.c:
 * snp_launch_update, snp_launch_finish).
 *
 * Firmware status numbers are not modeled: a refused step returns a
 * negative SNP_E* code (SNP_EPERM: wrong state; SNP_ERANGE: outside the RMP;
 * SNP_EBUSY: in-use or locked).
 */
#include "rmp_internal.h"

static SNP_MUST_CHECK int fw_entry(struct snp_rmp *rmp, snp_spa_t spa, enum snp_page_state want,
		    struct rmp_raw **out)
{
	snp_pfn_t pfn = snp_phys_to_pfn(spa);
	struct snp_rmpentry cur;

	if (!rmp)
		return SNP_EINVAL;
	if (!snp_is_aligned(spa, SNP_PAGE_SIZE))
		return SNP_EINVAL;
	if (!rmp_pfn_valid(rmp, pfn) || !rmp_pfn_covered(rmp, pfn))
		return SNP_ERANGE;
	rmp_decode(rmp, pfn, &cur);
	if (cur.in_use || cur.locked)
		return SNP_EBUSY;
	if (snp_page_state(&cur) != want || cur.pagesize_2m)
		return SNP_EPERM;
	*out = rmp_touch(rmp, pfn);
	return *out ? 0 : SNP_ENOMEM;
}

static SNP_MUST_CHECK int fw_set(struct snp_rmp *rmp, snp_spa_t spa, enum snp_page_state from,
		  uint64_t lo, uint32_t asid)
{
	struct rmp_raw *e;
	int ret = fw_entry(rmp, spa, from, &e);

	if (ret)
		return ret;
	rmp_write(rmp, snp_phys_to_pfn(spa), e, lo, asid, 0);
	return 0;
}

/* Firmware state: Assigned, ASID 0, Immutable, GPA 0, VMSA 0. */
int snp_fw_page_make_firmware(struct snp_rmp *rmp, snp_spa_t spa)
{
	return fw_set(rmp, spa, SNP_PS_HYPERVISOR, RMPE_ASSIGNED | RMPE_IMMUTABLE, 0);
}

/* Context (guest context page): as Firmware, with the VMSA bit. */
int snp_fw_page_make_context(struct snp_rmp *rmp, snp_spa_t spa)
{
	return fw_set(rmp, spa, SNP_PS_HYPERVISOR, RMPE_ASSIGNED | RMPE_IMMUTABLE | RMPE_VMSA, 0);
}

int snp_fw_page_make_hv_fixed(struct snp_rmp *rmp, snp_spa_t spa)
{
	return fw_set(rmp, spa, SNP_PS_HYPERVISOR, RMPE_IMMUTABLE, 0);
}

/*
 * SNP_PAGE_RECLAIM: a page the firmware held (Firmware, Context) or a
 * guest's locked page (Pre-Guest, Pre-Swap) becomes Reclaim: Assigned, ASID
 * 0, mutable, so the hypervisor's RMPUPDATE can make it Hypervisor again.
 */
int snp_fw_page_reclaim(struct snp_rmp *rmp, snp_spa_t spa)
{
	static const enum snp_page_state from[] = {
		SNP_PS_FIRMWARE, SNP_PS_CONTEXT, SNP_PS_PRE_GUEST, SNP_PS_PRE_SWAP,
	};
	int ret = SNP_EPERM;

	for (unsigned int i = 0; i < sizeof(from) / sizeof(from[0]) && ret == SNP_EPERM; i++)
		ret = fw_set(rmp, spa, from[i], RMPE_ASSIGNED, 0);
	return ret;
}

/*
 * SNP_LAUNCH_UPDATE: the hypervisor has made the page Guest-Invalid for
 * (asid, gpa) with RMPUPDATE; the firmware measures it and locks it in
 * Pre-Guest (Immutable).  A VMSA page also gets the VMSA bit.
 */
int snp_fw_launch_update(struct snp_rmp *rmp, snp_spa_t spa, uint32_t asid, snp_gpa_t gpa,
			 bool vmsa)
{
	struct rmp_raw *e;
	uint64_t lo;
	int ret;

	if (!rmp)
		return SNP_EINVAL;
	ret = fw_entry(rmp, spa, SNP_PS_GUEST_INVALID, &e);
	if (ret)
		return ret;
	if (e->asid != asid || (e->lo & RMPE_GPA_MASK) != (gpa & RMPE_GPA_MASK) ||
	    !snp_is_aligned(gpa, SNP_PAGE_SIZE))
		return SNP_EINVAL;
	lo = (e->lo & ~RMPE_VMSA) | RMPE_IMMUTABLE | (vmsa ? RMPE_VMSA : 0);
	rmp_write(rmp, snp_phys_to_pfn(spa), e, lo, asid, e->perms);
	return 0;
}

/*
 * SNP_LAUNCH_FINISH: every Pre-Guest page of the guest becomes Guest-Valid
 * (Validated, mutable).  Walks only the regions that hold entries.
 */
long snp_fw_launch_finish(struct snp_rmp *rmp, uint32_t asid)
{
	const uint64_t mask = RMPE_ASSIGNED | RMPE_IMMUTABLE | RMPE_VALIDATED;
	long moved = 0;

	if (!rmp)
		return SNP_EINVAL;
	if (asid == 0 || asid > SNP_MAX_ASID)
		return SNP_EINVAL;
	for (uint64_t r = 0; r < rmp->nr_regions; r++) {
		struct rmp_raw *e = rmp->regions[r].e;

		if (!e || !rmp->regions[r].nr_assigned)
			continue;
		for (unsigned int i = 0; i < SNP_PTRS_PER_PMD; i++) {
			if (e[i].asid != asid || (e[i].lo & mask) != (RMPE_ASSIGNED | RMPE_IMMUTABLE))
				continue;
			e[i].lo = (e[i].lo & ~RMPE_IMMUTABLE) | RMPE_VALIDATED;
			moved++;
		}
	}
	return moved;
}

/* Page swap-out (SNP_PAGE_SWAP_OUT): a Guest-Valid page is locked as Pre-Swap. */
int snp_fw_page_swap_out(struct snp_rmp *rmp, snp_spa_t spa)
{
	struct rmp_raw *e;
	int ret = fw_entry(rmp, spa, SNP_PS_GUEST_VALID, &e);

	if (ret)
		return ret;
	e->lo |= RMPE_IMMUTABLE;
	return 0;
}
