// SPDX-License-Identifier: MIT
/*
 * rmp_insn.c - the SNP instructions on the RMP: RMPUPDATE, PSMASH (the
 * hypervisor's), PVALIDATE, RMPADJUST (the guest's) and RMPREAD.
 *
 * Return codes are the architectural ones (APM 15.36.6-7, 15.36.11, Table
 * 15-40; numbers in snp-facts §4).  Where the APM leaves the exact
 * precondition open the choice is a profile knob (docs/MODEL.md).
 */
#include "rmp_internal.h"

#include <string.h>

#define GPA_LIMIT (1ULL << SNP_MAX_PHYS_BITS)

static bool region_is_2m_assigned(const struct snp_rmp *rmp, snp_pfn_t pfn)
{
	snp_pfn_t base = snp_pfn_2m_base(pfn);
	uint64_t lo = rmp_lo(rmp, base);

	return (lo & RMPE_ASSIGNED) && (lo & RMPE_PAGESIZE);
}

static bool region_any(const struct snp_rmp *rmp, snp_pfn_t base, uint64_t flag)
{
	const struct rmp_raw *e = rmp_region_of(rmp, base)->e;

	if (!e)
		return false;
	for (unsigned int i = 0; i < SNP_PTRS_PER_PMD; i++)
		if (e[i].lo & flag)
			return true;
	return false;
}

/* The spa operand of a hypervisor instruction: aligned, inside memory, covered. */
static bool spa_ok(const struct snp_rmp *rmp, snp_spa_t spa, uint64_t align)
{
	return snp_is_aligned(spa, align) && spa < rmp->mem_bytes && spa < rmp->covered_bytes;
}

/*
 * Input checks on the new entry (APM 15.36.6): page-size alignment of spa
 * and GPA, the ASID range, and the owner encodings of APM Table 15-35.  An
 * unassigned entry has ASID 0 and is mutable.  An assigned entry with ASID 0
 * is the AMD-SP's (firmware) page and must be Immutable: that is valid input,
 * the update Linux's rmp_mark_pages_firmware() issues before handing pages to
 * the firmware (drivers/crypto/ccp/sev-dev.c, v6.11+: rmp_make_private(pfn, 0,
 * PG_LEVEL_4K, 0, true)).  Assigned, ASID 0 and mutable (the Reclaim state) is
 * left to the firmware: FAIL_INPUT here (assumed; docs/MODEL.md).
 */
static bool rmpupdate_input_ok(const struct snp_rmp *rmp, snp_spa_t spa,
			       const struct snp_rmpupdate_in *in)
{
	uint64_t align = in->pagesize_2m ? SNP_PMD_SIZE : SNP_PAGE_SIZE;

	if (!spa_ok(rmp, spa, align))
		return false;
	if (in->asid > SNP_MAX_ASID)
		return false;
	if (!in->assigned)
		return in->asid == 0 && !in->immutable;
	if (in->asid == 0 && !in->immutable)
		return false;
	return snp_is_aligned(in->gpa, align) && in->gpa < GPA_LIMIT;
}

/* FAIL_INUSE: the entry (for 2M: any entry of the region) is in-use or locked. */
static bool rmpupdate_busy(const struct snp_rmp *rmp, snp_pfn_t pfn, bool size_2m)
{
	const struct rmp_region *r = rmp_region_of(rmp, pfn);

	if (size_2m)
		return r->nr_inuse || r->nr_locked;
	return rmp_lo(rmp, pfn) & (RMPE_INUSE | RMPE_LOCKED);
}

/*
 * FAIL_OVERLAP (snp-facts §4): a 4K update inside a 2M-assigned range, or a
 * 2M update over 4K-assigned entries.  Knob rmpupdate_overlap decides whether
 * a 4K update that only gives a page back to the hypervisor is let through.
 */
static bool rmpupdate_overlaps(const struct snp_rmp *rmp, snp_pfn_t pfn,
			       const struct snp_rmpupdate_in *in)
{
	bool whole_2m = region_is_2m_assigned(rmp, pfn);

	if (!in->pagesize_2m) {
		if (!whole_2m)
			return false;
		return !(rmp->profile.rmpupdate_overlap == SNP_OVERLAP_ALLOW_4K_SHARED &&
			 !in->assigned);
	}
	return rmp_region_of(rmp, pfn)->nr_assigned && !whole_2m;
}

static SNP_MUST_CHECK int rmpupdate_check(const struct snp_rmp *rmp, struct snp_caller who, snp_spa_t spa,
			   const struct snp_rmpupdate_in *in)
{
	snp_pfn_t pfn = snp_phys_to_pfn(spa);

	if (who.guest)
		return SNP_FAIL_PERMISSION;
	if (!rmpupdate_input_ok(rmp, spa, in))
		return SNP_FAIL_INPUT;
	if (in->pagesize_2m ? region_any(rmp, pfn, RMPE_IMMUTABLE)
			    : (rmp_lo(rmp, pfn) & RMPE_IMMUTABLE))
		return SNP_FAIL_PERMISSION;
	if (rmpupdate_busy(rmp, pfn, in->pagesize_2m))
		return SNP_FAIL_INUSE;
	if (rmpupdate_overlaps(rmp, pfn, in))
		return SNP_FAIL_OVERLAP;
	return SNP_RMP_SUCCESS;
}

/* An entry as RMPUPDATE leaves it: Validated and VMSA clear; VMPL0 all, others none. */
static void rmpupdate_apply_one(struct snp_rmp *rmp, snp_pfn_t pfn, const struct snp_rmpupdate_in *in,
				snp_gpa_t gpa, bool part_of_2m)
{
	struct rmp_raw *e = rmp_touch(rmp, pfn);
	uint64_t lo = 0;

	if (in->assigned)
		lo |= RMPE_ASSIGNED | (gpa & RMPE_GPA_MASK);
	if (part_of_2m && in->assigned)
		lo |= RMPE_PAGESIZE;
	if (in->immutable)
		lo |= RMPE_IMMUTABLE;
	rmp_write(rmp, pfn, e, lo, in->asid, in->assigned ? SNP_PERM_ALL : 0);
}

/*
 * A 4K update in a 2M-assigned region under the allow-4k-shared knob first
 * smashes the region to 4K entries, as PSMASH would.
 */
static void smash_region(struct snp_rmp *rmp, snp_pfn_t base);

static SNP_MUST_CHECK int rmpupdate_apply(struct snp_rmp *rmp, snp_spa_t spa, const struct snp_rmpupdate_in *in)
{
	snp_pfn_t pfn = snp_phys_to_pfn(spa);

	/* Storage first, so an out-of-memory host leaves the entry unchanged. */
	if (!rmp_touch(rmp, pfn))
		return SNP_ENOMEM;
	if (!in->pagesize_2m) {
		if (region_is_2m_assigned(rmp, pfn))
			smash_region(rmp, snp_pfn_2m_base(pfn));
		rmpupdate_apply_one(rmp, pfn, in, in->gpa, false);
		return SNP_RMP_SUCCESS;
	}
	for (unsigned int i = 0; i < SNP_PTRS_PER_PMD; i++)
		rmpupdate_apply_one(rmp, pfn + i, in, in->gpa + i * SNP_PAGE_SIZE, true);
	return SNP_RMP_SUCCESS;
}

static SNP_MUST_CHECK int rmpupdate_begin_insn(struct snp_rmp *rmp, struct snp_caller who, snp_spa_t spa,
				const struct snp_rmpupdate_in *in, struct snp_rmpupdate_op *op)
{
	struct rmp_raw *e;
	int ret;

	if (!rmp || !in || !op)
		return SNP_EINVAL;
	memset(op, 0, sizeof(*op));
	ret = rmpupdate_check(rmp, who, spa, in);
	if (ret != SNP_RMP_SUCCESS)
		return ret;
	e = rmp_touch(rmp, snp_phys_to_pfn(spa));
	if (!e)
		return SNP_ENOMEM;
	rmp_set_locked(rmp, snp_phys_to_pfn(spa), e, true);
	op->spa = spa;
	op->in = *in;
	op->active = true;
	return SNP_RMP_SUCCESS;
}

static SNP_MUST_CHECK int rmpupdate_commit_insn(struct snp_rmp *rmp, struct snp_rmpupdate_op *op)
{
	snp_pfn_t pfn;
	int ret;

	if (!rmp || !op || !op->active)
		return SNP_EINVAL;
	pfn = snp_phys_to_pfn(op->spa);
	rmp_set_locked(rmp, pfn, rmp_touch(rmp, pfn), false);
	op->active = false;
	ret = rmpupdate_apply(rmp, op->spa, &op->in);
	return ret;
}

static SNP_MUST_CHECK int rmpupdate_insn(struct snp_rmp *rmp, struct snp_caller who, snp_spa_t spa,
			  const struct snp_rmpupdate_in *in)
{
	int ret;

	if (!rmp || !in)
		return SNP_EINVAL;
	ret = rmpupdate_check(rmp, who, spa, in);
	if (ret != SNP_RMP_SUCCESS)
		return ret;
	return rmpupdate_apply(rmp, spa, in);
}

/* PSMASH's effect: each entry keeps its fields but becomes a 4K entry; VMSA only on its own page. */
static void smash_region(struct snp_rmp *rmp, snp_pfn_t base)
{
	struct rmp_raw *e = rmp_region_of(rmp, base)->e;
	struct rmp_raw head = e[0];

	for (unsigned int i = 0; i < SNP_PTRS_PER_PMD; i++) {
		uint64_t lo = head.lo & ~(RMPE_PAGESIZE | RMPE_VMSA | RMPE_GPA_MASK);

		if (i == 0)
			lo |= head.lo & RMPE_VMSA;
		lo |= (head.lo & RMPE_GPA_MASK) + (uint64_t)i * SNP_PAGE_SIZE;
		rmp_write(rmp, base + i, &e[i], lo, head.asid, head.perms);
	}
}

/*
 * snp_psmash - PSMASH (APM 15.36.11; snp-facts section 4).  An entry that is
 * not a 2M assigned entry returns 4, FAIL_BADADDR: the number the AMD-authored
 * SNP host patches give PSMASH's FAIL_BADADDR.  No public source gives 7,
 * which an earlier version of this model used.
 */
static SNP_MUST_CHECK int psmash_insn(struct snp_rmp *rmp, struct snp_caller who, snp_spa_t spa)
{
	snp_pfn_t pfn = snp_phys_to_pfn(spa);
	const struct rmp_region *r;

	if (!rmp)
		return SNP_EINVAL;
	if (who.guest)
		return SNP_FAIL_PERMISSION;
	if (!spa_ok(rmp, spa, SNP_PMD_SIZE))
		return SNP_FAIL_INPUT;
	if (rmp_lo(rmp, pfn) & RMPE_IMMUTABLE)
		return SNP_FAIL_PERMISSION;
	r = rmp_region_of(rmp, pfn);
	if (r->nr_inuse || r->nr_locked)
		return SNP_FAIL_INUSE;
	if (!region_is_2m_assigned(rmp, pfn))
		return SNP_FAIL_BADADDR;
	smash_region(rmp, pfn);
	return SNP_RMP_SUCCESS;
}

static void set_exc(struct snp_exc *exc, enum snp_exc_vector v, uint64_t code)
{
	if (exc) {
		exc->vector = v;
		exc->error_code = code;
	}
}

/*
 * guest_owned_check - the RMP checks of a guest's private access to spa at
 * gpa (APM Table 15-39, snp-facts §3): Covered, Guest-Owned (assigned to the
 * caller's ASID), Reverse-Map (GPA matches), Mutable.  Returns the #NPF
 * EXITINFO1 bits, 0 if the page passes.
 */
static uint64_t guest_owned_check(const struct snp_rmp *rmp, struct snp_caller who,
				  snp_pfn_t pfn, snp_gpa_t gpa)
{
	const struct rmp_raw *e;

	if (!rmp_pfn_covered(rmp, pfn))
		return SNP_NPF_RMP | SNP_NPF_ENC;
	e = rmp_peek(rmp, pfn);
	if (!e || !(e->lo & RMPE_ASSIGNED) || e->asid != who.asid)
		return SNP_NPF_RMP | SNP_NPF_ENC;
	if ((e->lo & RMPE_GPA_MASK) != (gpa & RMPE_GPA_MASK))
		return SNP_NPF_RMP | SNP_NPF_ENC;
	if (e->lo & RMPE_IMMUTABLE)
		return SNP_NPF_RMP | SNP_NPF_ENC;
	return 0;
}

/* The operands of a guest RMP instruction: aligned to the page size, inside memory. */
static bool guest_operands_ok(const struct snp_rmp *rmp, snp_spa_t spa, snp_gpa_t gpa, bool size_2m)
{
	uint64_t align = size_2m ? SNP_PMD_SIZE : SNP_PAGE_SIZE;

	return snp_is_aligned(spa, align) && snp_is_aligned(gpa, align) &&
	       spa < rmp->mem_bytes && gpa < GPA_LIMIT;
}

/*
 * Common front half of PVALIDATE and RMPADJUST: operand checks, ownership,
 * and page-size match.  Returns SUCCESS to go on, a return code, or
 * SNP_EFAULT with *exc filled.  A 2M request on 4K entries returns
 * FAIL_SIZEMISMATCH; a 4K request on a 2M entry raises #NPF with SIZEM, for
 * both instructions: APM Table 15-40 covers both, and KVM's
 * sev_handle_rmp_fault() (arch/x86/kvm/svm/sev.c) says RMPADJUST/PVALIDATE
 * can trigger an #NPF with PFERR_GUEST_SIZEM (snp-facts section 4).  SIZEM
 * is for these two instructions only: an ordinary guest access whose nested
 * page size differs from the RMP entry reports the RMP bit (npt.c).
 */
static SNP_MUST_CHECK int guest_insn_front(const struct snp_rmp *rmp, struct snp_caller who, snp_spa_t spa,
			    snp_gpa_t gpa, bool size_2m, struct snp_exc *exc)
{
	snp_pfn_t pfn = snp_phys_to_pfn(spa);
	uint64_t npf;
	bool entry_2m;

	if (!guest_operands_ok(rmp, spa, gpa, size_2m))
		return SNP_FAIL_INPUT;
	npf = guest_owned_check(rmp, who, pfn, gpa);
	if (npf) {
		set_exc(exc, SNP_EXC_NPF, npf);
		return SNP_EFAULT;
	}
	entry_2m = rmp_lo(rmp, pfn) & RMPE_PAGESIZE;
	if (size_2m && !entry_2m)
		return SNP_FAIL_SIZEMISMATCH;
	if (!size_2m && entry_2m) {
		set_exc(exc, SNP_EXC_NPF, SNP_NPF_RMP | SNP_NPF_ENC | SNP_NPF_SIZEM);
		return SNP_EFAULT;
	}
	return SNP_RMP_SUCCESS;
}

static SNP_MUST_CHECK int pvalidate_insn(struct snp_rmp *rmp, struct snp_caller who, snp_spa_t spa, snp_gpa_t gpa,
			  bool size_2m, bool validate, bool *unchanged, struct snp_exc *exc)
{
	unsigned int n = size_2m ? SNP_PTRS_PER_PMD : 1;
	snp_pfn_t pfn = snp_phys_to_pfn(spa);
	struct rmp_raw *e;
	int ret;

	if (!rmp)
		return SNP_EINVAL;
	set_exc(exc, SNP_EXC_NONE, 0);
	if (unchanged)
		*unchanged = false;
	/* PVALIDATE is a guest instruction, VMPL0 only (APM Table 15-40). */
	if (!who.guest || who.vmpl != 0) {
		set_exc(exc, SNP_EXC_GP, 0);
		return SNP_EFAULT;
	}
	ret = guest_insn_front(rmp, who, spa, gpa, size_2m, exc);
	if (ret != SNP_RMP_SUCCESS)
		return ret;
	e = rmp_region_of(rmp, pfn)->e + pfn % SNP_PTRS_PER_PMD;
	if (!!(e->lo & RMPE_VALIDATED) == validate) {
		if (unchanged)
			*unchanged = true;   /* carry flag: nothing changed */
		return SNP_RMP_SUCCESS;
	}
	for (unsigned int i = 0; i < n; i++) {
		if (validate)
			e[i].lo |= RMPE_VALIDATED;
		else
			e[i].lo &= ~RMPE_VALIDATED;
	}
	return SNP_RMP_SUCCESS;
}

static SNP_MUST_CHECK int rmpadjust_insn(struct snp_rmp *rmp, struct snp_caller who, snp_spa_t spa, snp_gpa_t gpa,
			  bool size_2m, unsigned int target_vmpl, uint8_t perms, bool vmsa,
			  struct snp_exc *exc)
{
	unsigned int n = size_2m ? SNP_PTRS_PER_PMD : 1;
	snp_pfn_t pfn = snp_phys_to_pfn(spa);
	struct rmp_raw *e;
	int ret;

	if (!rmp)
		return SNP_EINVAL;
	set_exc(exc, SNP_EXC_NONE, 0);
	if (!who.guest)
		return SNP_FAIL_PERMISSION;
	if (target_vmpl > 3 || who.vmpl > 3 || (perms & ~SNP_PERM_ALL) || (vmsa && size_2m))
		return SNP_FAIL_INPUT;
	ret = guest_insn_front(rmp, who, spa, gpa, size_2m, exc);
	if (ret != SNP_RMP_SUCCESS)
		return ret;
	e = rmp_region_of(rmp, pfn)->e + pfn % SNP_PTRS_PER_PMD;
	/* APM 15.36.7: only a more privileged VMPL adjusts a less privileged one. */
	if (target_vmpl <= who.vmpl)
		return SNP_FAIL_PERMISSION;
	/* It cannot grant what it lacks, and only VMPL0 sets the VMSA bit. */
	if (perms & ~rmp_perm_of(e->perms, who.vmpl))
		return SNP_FAIL_PERMISSION;
	if (vmsa && who.vmpl != 0)
		return SNP_FAIL_PERMISSION;
	for (unsigned int i = 0; i < n; i++) {
		uint16_t mask = (uint16_t)(SNP_PERM_ALL << (4 * target_vmpl));

		e[i].perms = (uint16_t)((e[i].perms & ~mask) | ((uint16_t)perms << (4 * target_vmpl)));
		if (who.vmpl == 0 && !size_2m)
			e[i].lo = vmsa ? (e[i].lo | RMPE_VMSA) : (e[i].lo & ~RMPE_VMSA);
	}
	return SNP_RMP_SUCCESS;
}

/*
 * RMPREAD (Zen5 and later; LINUX arch/x86/virt/svm/sev.c): the architectural
 * fields of one entry.  What the 2MB-region-status bit means is unconfirmed;
 * the rmpread_2m_status knob picks one reading.
 */
static SNP_MUST_CHECK int rmpread_insn(const struct snp_rmp *rmp, snp_spa_t spa, struct snp_rmpread_out *out)
{
	struct snp_rmpentry e;
	snp_pfn_t pfn;

	if (!rmp || !out)
		return SNP_EINVAL;
	memset(out, 0, sizeof(*out));
	if (!spa_ok(rmp, spa, SNP_PAGE_SIZE))
		return SNP_FAIL_INPUT;
	pfn = snp_phys_to_pfn(spa);
	rmp_decode(rmp, pfn, &e);
	out->gpa = e.gpa;
	out->assigned = e.assigned;
	out->pagesize_2m = e.pagesize_2m;
	out->immutable = e.immutable;
	out->asid = e.asid;
	if (rmp->profile.rmpread_2m_status == SNP_RMPREAD_2M_IS_2M_ENTRY)
		out->region_2m_status = region_is_2m_assigned(rmp, pfn);
	else
		out->region_2m_status = rmp_region_of(rmp, pfn)->nr_assigned != 0;
	return SNP_RMP_SUCCESS;
}

/* ---- The public entry points: error return and architectural code apart ---- */

/*
 * The *_insn() bodies above return what the instruction leaves in RAX (>= 0)
 * or a negative SNP_E* for misuse of the library; split the two here so no
 * caller can take an RMP code for an error or the other way round.
 */
static SNP_MUST_CHECK int insn_split(int raw, int *code)
{
	if (raw < 0)
		return raw;
	*code = raw;
	return 0;
}

int snp_rmpupdate(struct snp_rmp *rmp, struct snp_caller who, snp_spa_t spa,
		  const struct snp_rmpupdate_in *in, int *code)
{
	if (!code)
		return SNP_EINVAL;
	return insn_split(rmpupdate_insn(rmp, who, spa, in), code);
}

int snp_rmpupdate_begin(struct snp_rmp *rmp, struct snp_caller who, snp_spa_t spa,
			const struct snp_rmpupdate_in *in, struct snp_rmpupdate_op *op, int *code)
{
	if (!code)
		return SNP_EINVAL;
	return insn_split(rmpupdate_begin_insn(rmp, who, spa, in, op), code);
}

int snp_rmpupdate_commit(struct snp_rmp *rmp, struct snp_rmpupdate_op *op, int *code)
{
	if (!code)
		return SNP_EINVAL;
	return insn_split(rmpupdate_commit_insn(rmp, op), code);
}

int snp_psmash(struct snp_rmp *rmp, struct snp_caller who, snp_spa_t spa, int *code)
{
	if (!code)
		return SNP_EINVAL;
	return insn_split(psmash_insn(rmp, who, spa), code);
}

int snp_pvalidate(struct snp_rmp *rmp, struct snp_caller who, snp_spa_t spa, snp_gpa_t gpa,
		  bool size_2m, bool validate, bool *unchanged, struct snp_exc *exc, int *code)
{
	if (!code)
		return SNP_EINVAL;
	return insn_split(pvalidate_insn(rmp, who, spa, gpa, size_2m, validate, unchanged, exc),
			  code);
}

int snp_rmpadjust(struct snp_rmp *rmp, struct snp_caller who, snp_spa_t spa, snp_gpa_t gpa,
		  bool size_2m, unsigned int target_vmpl, uint8_t perms, bool vmsa,
		  struct snp_exc *exc, int *code)
{
	if (!code)
		return SNP_EINVAL;
	return insn_split(rmpadjust_insn(rmp, who, spa, gpa, size_2m, target_vmpl, perms, vmsa,
					 exc), code);
}

int snp_rmpread(const struct snp_rmp *rmp, snp_spa_t spa, struct snp_rmpread_out *out, int *code)
{
	if (!code)
		return SNP_EINVAL;
	return insn_split(rmpread_insn(rmp, spa, out), code);
}
