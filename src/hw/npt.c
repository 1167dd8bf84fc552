// SPDX-License-Identifier: MIT
/*
 * npt.c - a guest's nested page table and guest accesses through it, with
 * the SNP checks of AMD APM Vol. 2 15.36.10 (Table 15-39; snp-facts §3).
 *
 * The table is a hash of 2MB guest regions; each region is either one 2M
 * leaf or a table of 512 4K leaves.  Only what the model needs: present,
 * writable, the target system physical address and the leaf size.
 *
 * Check sequence for an SNP-active guest's private access (C=1, and every
 * instruction fetch): Covered, Guest-Owned, Reverse-Map, Mutable, Page-Size
 * (each #NPF with RMP|ENC; SIZEM is not set for a Page-Size mismatch of an
 * ordinary access: it belongs to PVALIDATE and RMPADJUST, snp-facts section 4,
 * see rmp_insn.c); Validated (#VC 0x404);
 * the VMPL permission mask (#NPF RMP|ENC|VMPL).  A shared (C=0) write, and
 * every write of a guest that is not SNP-active, needs the page
 * Hypervisor-Owned (#NPF RMP).
 */
#include "machine.h"

#include <stdlib.h>
#include <string.h>

#define NPT_BUCKETS 256

struct npt_pte {
	snp_spa_t spa;
	bool present;
	bool writable;
};

/* One 2MB guest region. */
struct npt_region {
	struct npt_region *next;
	uint64_t index;              /* gpa >> 21 */
	bool leaf_2m;                /* one 2M leaf: spa, writable */
	snp_spa_t spa;
	bool writable;
	struct npt_pte *pte;         /* else 512 4K leaves */
	unsigned int nr_present;
};

struct snp_npt {
	struct snp_machine *m;
	uint32_t asid;
	bool snp_active;
	struct npt_region *bucket[NPT_BUCKETS];
};

int snp_npt_create(struct snp_machine *m, uint32_t asid, bool snp_active, struct snp_npt **out)
{
	struct snp_npt *npt;

	if (!m || !out || asid == 0 || asid > SNP_MAX_ASID)
		return SNP_EINVAL;
	npt = calloc(1, sizeof(*npt));
	if (!npt)
		return SNP_ENOMEM;
	npt->m = m;
	npt->asid = asid;
	npt->snp_active = snp_active;
	*out = npt;
	return 0;
}

static void npt_region_free(struct npt_region *r)
{
	free(r->pte);
	free(r);
}

void snp_npt_destroy(struct snp_npt *npt)
{
	if (!npt)
		return;
	for (unsigned int b = 0; b < NPT_BUCKETS; b++) {
		while (npt->bucket[b]) {
			struct npt_region *r = npt->bucket[b];

			npt->bucket[b] = r->next;
			npt_region_free(r);
		}
	}
	free(npt);
}

static struct npt_region **npt_slot(const struct snp_npt *npt, uint64_t index)
{
	struct npt_region *const *pp = &npt->bucket[index % NPT_BUCKETS];

	while (*pp && (*pp)->index != index)
		pp = &(*pp)->next;
	return (struct npt_region **)pp;
}

static struct npt_region *npt_region_new(struct snp_npt *npt, uint64_t index)
{
	struct npt_region *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->index = index;
	r->next = npt->bucket[index % NPT_BUCKETS];
	npt->bucket[index % NPT_BUCKETS] = r;
	return r;
}

static SNP_MUST_CHECK int npt_map_2m(struct snp_npt *npt, uint64_t index, snp_spa_t spa, bool writable)
{
	struct npt_region *r = *npt_slot(npt, index);

	if (r)
		return SNP_EEXIST;
	r = npt_region_new(npt, index);
	if (!r)
		return SNP_ENOMEM;
	r->leaf_2m = true;
	r->spa = spa;
	r->writable = writable;
	return 0;
}

static SNP_MUST_CHECK int npt_map_4k(struct snp_npt *npt, snp_gpa_t gpa, snp_spa_t spa, bool writable)
{
	uint64_t index = gpa >> SNP_PMD_SHIFT;
	struct npt_region *r = *npt_slot(npt, index);
	struct npt_pte *pte;

	if (r && r->leaf_2m)
		return SNP_EEXIST;
	if (!r) {
		r = npt_region_new(npt, index);
		if (!r)
			return SNP_ENOMEM;
	}
	if (!r->pte) {
		r->pte = calloc(SNP_PTRS_PER_PMD, sizeof(*r->pte));
		if (!r->pte)
			return SNP_ENOMEM;
	}
	pte = &r->pte[(gpa >> SNP_PAGE_SHIFT) & (SNP_PTRS_PER_PMD - 1)];
	if (pte->present)
		return SNP_EEXIST;
	*pte = (struct npt_pte){ .spa = spa, .present = true, .writable = writable };
	r->nr_present++;
	return 0;
}

int snp_npt_map(struct snp_npt *npt, snp_gpa_t gpa, snp_spa_t spa, enum snp_map_size size,
		bool writable)
{
	uint64_t bytes;

	if (!npt || (size != SNP_MAP_4K && size != SNP_MAP_2M))
		return SNP_EINVAL;
	bytes = size == SNP_MAP_2M ? SNP_PMD_SIZE : SNP_PAGE_SIZE;
	if (!snp_is_aligned(gpa, bytes) || !snp_is_aligned(spa, bytes))
		return SNP_EINVAL;
	if (spa >= npt->m->mem_bytes || gpa >> SNP_MAX_PHYS_BITS)
		return SNP_ERANGE;
	if (size == SNP_MAP_2M)
		return npt_map_2m(npt, gpa >> SNP_PMD_SHIFT, spa, writable);
	return npt_map_4k(npt, gpa, spa, writable);
}

int snp_npt_unmap(struct snp_npt *npt, snp_gpa_t gpa)
{
	struct npt_region **pp, *r;
	struct npt_pte *pte;

	if (!npt)
		return SNP_EINVAL;
	pp = npt_slot(npt, gpa >> SNP_PMD_SHIFT);
	r = *pp;
	if (!r)
		return SNP_ENOENT;
	if (!r->leaf_2m) {
		pte = &r->pte[(gpa >> SNP_PAGE_SHIFT) & (SNP_PTRS_PER_PMD - 1)];
		if (!pte->present)
			return SNP_ENOENT;
		pte->present = false;
		if (--r->nr_present)
			return 0;
	}
	*pp = r->next;
	npt_region_free(r);
	return 0;
}

int snp_npt_translate(const struct snp_npt *npt, snp_gpa_t gpa, snp_spa_t *spa,
		      enum snp_map_size *size, bool *writable)
{
	const struct npt_region *r;
	const struct npt_pte *pte;

	if (!npt)
		return SNP_EINVAL;
	r = *npt_slot(npt, gpa >> SNP_PMD_SHIFT);
	if (!r)
		return SNP_ENOENT;
	if (r->leaf_2m) {
		if (spa)
			*spa = r->spa + (gpa & (SNP_PMD_SIZE - 1));
		if (size)
			*size = SNP_MAP_2M;
		if (writable)
			*writable = r->writable;
		return 0;
	}
	pte = &r->pte[(gpa >> SNP_PAGE_SHIFT) & (SNP_PTRS_PER_PMD - 1)];
	if (!pte->present)
		return SNP_ENOENT;
	if (spa)
		*spa = pte->spa + (gpa & (SNP_PAGE_SIZE - 1));
	if (size)
		*size = SNP_MAP_4K;
	if (writable)
		*writable = pte->writable;
	return 0;
}

/* ---- guest accesses --------------------------------------------------------------------- */

struct guest_access {
	unsigned int cpu;
	unsigned int vmpl;
	snp_gpa_t gpa;
	snp_spa_t spa;
	enum snp_map_size size;
	enum snp_guest_access_kind kind;
	bool private;
};

/*
 * The RMP entry that governs spa for a guest: a 2M entry at the region's
 * base if there is one, else spa's own 4K entry.  *entry_gpa_mask is the
 * alignment the Reverse-Map check compares GPAs at.
 */
static SNP_MUST_CHECK int guest_rmp_entry(const struct snp_machine *m, snp_spa_t spa, struct snp_rmpentry *e,
			   uint64_t *gpa_mask)
{
	snp_spa_t base = spa & ~(SNP_PMD_SIZE - 1);

	if (!snp_rmp_query(m->rmp, base, e) && e->assigned && e->pagesize_2m) {
		*gpa_mask = ~(SNP_PMD_SIZE - 1);
		return 0;
	}
	*gpa_mask = ~(SNP_PAGE_SIZE - 1);
	return snp_rmp_query(m->rmp, spa & ~(SNP_PAGE_SIZE - 1), e);
}

static uint8_t guest_perm_needed(enum snp_guest_access_kind kind)
{
	if (kind == SNP_GUEST_WRITE)
		return SNP_PERM_WRITE;
	if (kind == SNP_GUEST_FETCH)
		return SNP_PERM_EXEC_SUPER;   /* model: supervisor fetches */
	return SNP_PERM_READ;
}

/* Private access of an SNP-active guest (Table 15-39 order). */
static enum snp_fault_rule guest_private_check(const struct snp_npt *npt,
					       const struct guest_access *a)
{
	struct snp_rmpentry e;
	uint64_t gpa_mask;

	if (guest_rmp_entry(npt->m, a->spa, &e, &gpa_mask) || !e.covered)
		return SNP_RULE_NPF_RMP_NOT_COVERED;
	if (!e.assigned || e.asid != npt->asid)
		return SNP_RULE_NPF_RMP_NOT_GUEST_OWNED;
	if (e.gpa != (a->gpa & gpa_mask))
		return SNP_RULE_NPF_RMP_REVERSE_MAP;
	if (e.immutable)
		return SNP_RULE_NPF_RMP_IMMUTABLE;
	if (e.pagesize_2m != (a->size == SNP_MAP_2M))
		return SNP_RULE_NPF_RMP_PAGE_SIZE;
	if (!e.validated)
		return SNP_RULE_VC_NOT_VALIDATED;
	if (!(e.vmpl_perms[a->vmpl] & guest_perm_needed(a->kind)))
		return SNP_RULE_NPF_RMP_VMPL;
	return SNP_RULE_NONE;
}

/* Shared access (or any access of a guest that is not SNP-active). */
static enum snp_fault_rule guest_shared_check(const struct snp_machine *m,
					      const struct guest_access *a)
{
	snp_pfn_t pfn = snp_phys_to_pfn(a->spa);
	bool owned;

	if (a->kind != SNP_GUEST_WRITE)
		return SNP_RULE_NONE;
	owned = a->size == SNP_MAP_2M ? snp_rmp_hv_owned_2m(m->rmp, pfn)
				      : snp_rmp_hv_owned_4k(m->rmp, pfn);
	return owned ? SNP_RULE_NONE : SNP_RULE_NPF_RMP_SHARED_NOT_HV_OWNED;
}

/* The exception a guest rule raises: #NPF with its EXITINFO1, or #VC 0x404. */
static struct snp_exc guest_exc(enum snp_fault_rule rule, const struct guest_access *a)
{
	uint64_t ei = SNP_NPF_GUEST_FINAL;

	if (rule == SNP_RULE_VC_NOT_VALIDATED)
		return (struct snp_exc){ .vector = SNP_EXC_VC, .error_code = SNP_VC_NOT_VALIDATED };
	if (a->kind == SNP_GUEST_WRITE)
		ei |= SNP_NPF_WRITE;
	if (a->kind == SNP_GUEST_FETCH)
		ei |= SNP_NPF_FETCH;
	if (rule != SNP_RULE_NPF_NOT_PRESENT)
		ei |= SNP_NPF_PRESENT;
	if (rule >= SNP_RULE_NPF_RMP_NOT_COVERED)
		ei |= SNP_NPF_RMP;
	if (a->private && rule >= SNP_RULE_NPF_RMP_NOT_COVERED)
		ei |= SNP_NPF_ENC;
	if (rule == SNP_RULE_NPF_RMP_VMPL)
		ei |= SNP_NPF_VMPL;
	return (struct snp_exc){ .vector = SNP_EXC_NPF, .error_code = ei };
}

static void record_guest_fault(struct snp_machine *m, const struct snp_npt *npt,
			       const struct guest_access *a, enum snp_fault_rule rule,
			       const struct snp_exc *exc)
{
	struct snp_fault_record *r = snp_fault_new(m);

	if (!r)
		return;
	*r = (struct snp_fault_record){ .seq = r->seq, .cpu = a->cpu, .guest = true,
					.asid = npt->asid, .va = a->gpa, .pa = a->spa,
					.write = a->kind == SNP_GUEST_WRITE, .size = a->size,
					.rule = rule, .exc = *exc };
	if (rule != SNP_RULE_NPF_NOT_PRESENT)
		snp_fault_dump_entry(m, r, snp_phys_to_pfn(a->spa));
}

int snp_guest_access(struct snp_machine *m, struct snp_npt *npt, unsigned int cpu, unsigned int vmpl,
		     snp_gpa_t gpa, bool c_bit, enum snp_guest_access_kind kind,
		     struct snp_exc *exc)
{
	struct guest_access a = { .cpu = cpu, .vmpl = vmpl, .gpa = gpa, .kind = kind };
	enum snp_fault_rule rule;
	struct snp_exc e;
	bool writable = false;

	if (exc)
		*exc = (struct snp_exc){ .vector = SNP_EXC_NONE };
	if (!snp_machine_cpu_ok(m, cpu) || !npt || npt->m != m || vmpl > 3 ||
	    (unsigned int)kind > SNP_GUEST_FETCH)
		return SNP_EINVAL;
	a.private = npt->snp_active && (c_bit || kind == SNP_GUEST_FETCH);
	if (snp_npt_translate(npt, gpa, &a.spa, &a.size, &writable))
		rule = SNP_RULE_NPF_NOT_PRESENT;
	else if (kind == SNP_GUEST_WRITE && !writable)
		rule = SNP_RULE_NPF_NOT_WRITABLE;
	else if (a.private)
		rule = guest_private_check(npt, &a);
	else
		rule = guest_shared_check(m, &a);
	if (rule == SNP_RULE_NONE)
		return 0;
	e = guest_exc(rule, &a);
	record_guest_fault(m, npt, &a, rule, &e);
	if (exc)
		*exc = e;
	return SNP_EFAULT;
}

int snp_guest_pvalidate(struct snp_machine *m, struct snp_npt *npt, snp_gpa_t gpa, bool size_2m,
			bool validate, bool *unchanged, struct snp_exc *exc, int *code)
{
	snp_spa_t spa;

	if (!m || !npt || npt->m != m)
		return SNP_EINVAL;
	if (size_2m)
		gpa &= ~(SNP_PMD_SIZE - 1);
	else
		gpa &= ~(SNP_PAGE_SIZE - 1);
	if (snp_npt_translate(npt, gpa, &spa, NULL, NULL)) {
		if (exc)
			*exc = (struct snp_exc){ .vector = SNP_EXC_NPF,
						 .error_code = SNP_NPF_GUEST_FINAL };
		return SNP_EFAULT;
	}
	return snp_pvalidate(m->rmp, SNP_CALLER_GUEST(npt->asid, 0), spa, gpa, size_2m, validate,
			     unchanged, exc, code);
}
