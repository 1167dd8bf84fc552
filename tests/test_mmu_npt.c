// SPDX-License-Identifier: MIT
/*
 * test_mmu_npt.c - guest accesses through nested page tables: the SNP check
 * sequence of APM Table 15-39 (snp-facts §3) with #NPF EXITINFO1 bits and
 * #VC 0x404, and guest memory validation (PVALIDATE, then access).
 */
#include "insn_util.h"
#include "mmu_test_util.h"

#define G_ASID 5u
#define G_GPA  0x100000ULL
#define G_PFN  0x3003ULL

static struct snp_npt *t_npt(struct snp_machine *m, bool snp)
{
	struct snp_npt *npt = NULL;

	KASSERT_EQ(snp_npt_create(m, G_ASID, snp, &npt), 0);
	return npt;
}

static uint64_t npf_code(struct snp_machine *m, struct snp_npt *npt, unsigned int vmpl, snp_gpa_t gpa,
			 bool c, enum snp_guest_access_kind k)
{
	struct snp_exc exc;

	if (snp_guest_access(m, npt, 0, vmpl, gpa, c, k, &exc) != SNP_EFAULT)
		return 0;
	return exc.vector == SNP_EXC_NPF ? exc.error_code : 0xdead;
}

static const uint64_t RMP_NPF = SNP_NPF_GUEST_FINAL | SNP_NPF_PRESENT | SNP_NPF_RMP;

/* Private page: #VC until PVALIDATE, then reads, writes and fetches work. */
static void validate_then_access(void)
{
	struct snp_machine *m = t_machine("early-snp");
	struct snp_npt *npt = t_npt(m, true);
	struct snp_exc exc;
	bool unchanged = true;

	KASSERT_EQ(snp_rmp_make_private(m, G_PFN, G_GPA, SNP_MAP_4K, G_ASID, false, NULL), 0);
	KASSERT_EQ(snp_npt_map(npt, G_GPA, snp_pfn_to_phys(G_PFN), SNP_MAP_4K, true), 0);
	KEXPECT_EQ(snp_guest_access(m, npt, 0, 0, G_GPA + 8, true, SNP_GUEST_READ, &exc), SNP_EFAULT);
	KEXPECT_EQ(exc.vector, SNP_EXC_VC);
	KEXPECT_EQ(exc.error_code, SNP_VC_NOT_VALIDATED);
	KEXPECT_EQ(t_last_rule(m), SNP_RULE_VC_NOT_VALIDATED);
	KASSERT_EQ(t_guest_pvalidate(m, npt, G_GPA, false, true, &unchanged, &exc), 0);
	KEXPECT(!unchanged);
	KEXPECT_EQ(snp_guest_access(m, npt, 0, 0, G_GPA + 8, true, SNP_GUEST_READ, NULL), 0);
	KEXPECT_EQ(snp_guest_access(m, npt, 1, 0, G_GPA + 8, true, SNP_GUEST_WRITE, NULL), 0);
	KEXPECT_EQ(snp_guest_access(m, npt, 1, 0, G_GPA, false, SNP_GUEST_FETCH, NULL), 0);
	KASSERT_EQ(t_guest_pvalidate(m, npt, G_GPA, false, true, &unchanged, &exc), 0);
	KEXPECT(unchanged);
	/* The host cannot write it any more (and its direct map was split first). */
	KEXPECT_EQ(t_write(m, 0, G_PFN), SNP_EFAULT);
	KEXPECT_EQ(t_last_rule(m), SNP_RULE_RMP_4K_NOT_HV_OWNED);
	/* Rescind: #VC again. */
	KASSERT_EQ(t_guest_pvalidate(m, npt, G_GPA, false, false, &unchanged, &exc), 0);
	KEXPECT_EQ(snp_guest_access(m, npt, 0, 0, G_GPA, true, SNP_GUEST_READ, &exc), SNP_EFAULT);
	KEXPECT_EQ(exc.vector, SNP_EXC_VC);
	snp_npt_destroy(npt);
	snp_machine_destroy(m);
}

/* Each #NPF check of the private sequence, in order, with its EXITINFO1. */
static void private_check_sequence(void)
{
	struct snp_machine *m = t_machine_full("early-snp", 4 * SNP_GiB, 2 * SNP_GiB, SNP_DMAP_1G);
	struct snp_npt *npt = t_npt(m, true);
	const snp_pfn_t unc = (3 * SNP_GiB) >> SNP_PAGE_SHIFT;
	bool unchanged;

	/* Not present: no P, no RMP. */
	KEXPECT_EQ(npf_code(m, npt, 0, 0x900000, true, SNP_GUEST_WRITE),
		   SNP_NPF_GUEST_FINAL | SNP_NPF_WRITE);
	KEXPECT_EQ(t_last_rule(m), SNP_RULE_NPF_NOT_PRESENT);
	/* Covered. */
	KASSERT_EQ(snp_npt_map(npt, 0x200000, snp_pfn_to_phys(unc), SNP_MAP_4K, true), 0);
	KEXPECT_EQ(npf_code(m, npt, 0, 0x200000, true, SNP_GUEST_READ), RMP_NPF | SNP_NPF_ENC);
	KEXPECT_EQ(t_last_rule(m), SNP_RULE_NPF_RMP_NOT_COVERED);
	/* Guest-Owned: a hypervisor page, then another guest's page. */
	KASSERT_EQ(snp_npt_map(npt, G_GPA, snp_pfn_to_phys(G_PFN), SNP_MAP_4K, true), 0);
	KEXPECT_EQ(npf_code(m, npt, 0, G_GPA, true, SNP_GUEST_READ), RMP_NPF | SNP_NPF_ENC);
	KEXPECT_EQ(t_last_rule(m), SNP_RULE_NPF_RMP_NOT_GUEST_OWNED);
	KASSERT_EQ(snp_rmp_make_private(m, G_PFN, G_GPA, SNP_MAP_4K, G_ASID + 1, false, NULL), 0);
	KEXPECT_EQ(npf_code(m, npt, 0, G_GPA, true, SNP_GUEST_READ), RMP_NPF | SNP_NPF_ENC);
	KEXPECT_EQ(t_last_rule(m), SNP_RULE_NPF_RMP_NOT_GUEST_OWNED);
	/* Reverse-Map: ours, but assigned at another GPA. */
	KASSERT_EQ(snp_rmp_make_shared(m, G_PFN, SNP_MAP_4K, NULL), 0);
	KASSERT_EQ(snp_rmp_make_private(m, G_PFN, G_GPA + 0x1000, SNP_MAP_4K, G_ASID, false, NULL), 0);
	KEXPECT_EQ(npf_code(m, npt, 0, G_GPA, true, SNP_GUEST_READ), RMP_NPF | SNP_NPF_ENC);
	KEXPECT_EQ(t_last_rule(m), SNP_RULE_NPF_RMP_REVERSE_MAP);
	/* Mutable. */
	KASSERT_EQ(snp_rmp_make_shared(m, G_PFN, SNP_MAP_4K, NULL), 0);
	KASSERT_EQ(snp_rmp_make_private(m, G_PFN, G_GPA, SNP_MAP_4K, G_ASID, true, NULL), 0);
	KEXPECT_EQ(npf_code(m, npt, 0, G_GPA, true, SNP_GUEST_READ), RMP_NPF | SNP_NPF_ENC);
	KEXPECT_EQ(t_last_rule(m), SNP_RULE_NPF_RMP_IMMUTABLE);
	/* VMPL: a valid page, VMPL1 has no permission; a write also sets W. */
	KASSERT_EQ(snp_npt_map(npt, G_GPA + 0x10000, snp_pfn_to_phys(G_PFN + 1), SNP_MAP_4K, true), 0);
	KASSERT_EQ(snp_rmp_make_private(m, G_PFN + 1, G_GPA + 0x10000, SNP_MAP_4K, G_ASID, false, NULL), 0);
	KASSERT_EQ(t_guest_pvalidate(m, npt, G_GPA + 0x10000, false, true, &unchanged, NULL), 0);
	KEXPECT_EQ(npf_code(m, npt, 1, G_GPA + 0x10000, true, SNP_GUEST_WRITE),
		   RMP_NPF | SNP_NPF_ENC | SNP_NPF_VMPL | SNP_NPF_WRITE);
	KEXPECT_EQ(t_last_rule(m), SNP_RULE_NPF_RMP_VMPL);
	KEXPECT_EQ(npf_code(m, npt, 0, G_GPA + 0x10000, true, SNP_GUEST_WRITE), 0);
	/* A read-only nested mapping: a plain #NPF, P and W. */
	KASSERT_EQ(snp_npt_unmap(npt, G_GPA + 0x10000), 0);
	KASSERT_EQ(snp_npt_map(npt, G_GPA + 0x10000, snp_pfn_to_phys(G_PFN + 1), SNP_MAP_4K, false), 0);
	KEXPECT_EQ(npf_code(m, npt, 0, G_GPA + 0x10000, true, SNP_GUEST_WRITE),
		   SNP_NPF_GUEST_FINAL | SNP_NPF_PRESENT | SNP_NPF_WRITE);
	KEXPECT_EQ(t_last_rule(m), SNP_RULE_NPF_NOT_WRITABLE);
	snp_npt_destroy(npt);
	snp_machine_destroy(m);
}

/* Page-Size: a 2M nested leaf needs a 2M RMP entry and the other way round. */
static void page_size_check_and_2m_validation(void)
{
	struct snp_machine *m = t_machine("fixed");
	struct snp_npt *npt = t_npt(m, true);
	const snp_gpa_t gpa = 0x40000000ULL;
	bool unchanged;

	/* 4K RMP entries under a 2M nested leaf. */
	KASSERT_EQ(snp_rmp_make_private(m, T_REGION, gpa, SNP_MAP_4K, G_ASID, false, NULL), 0);
	KASSERT_EQ(snp_npt_map(npt, gpa, snp_pfn_to_phys(T_REGION), SNP_MAP_2M, true), 0);
	/* An ordinary access: the RMP bit, not SIZEM (SIZEM is PVALIDATE's and RMPADJUST's). */
	KEXPECT_EQ(npf_code(m, npt, 0, gpa, true, SNP_GUEST_READ), RMP_NPF | SNP_NPF_ENC);
	KEXPECT_EQ(t_last_rule(m), SNP_RULE_NPF_RMP_PAGE_SIZE);
	KASSERT_EQ(snp_rmp_make_shared(m, T_REGION, SNP_MAP_4K, NULL), 0);
	/* A 2M RMP entry: validate 2M, then access anywhere in it. */
	KASSERT_EQ(snp_rmp_make_private(m, T_REGION, gpa, SNP_MAP_2M, G_ASID, false, NULL), 0);
	KASSERT_EQ(t_guest_pvalidate(m, npt, gpa + 0x5000, true, true, &unchanged, NULL), 0);
	KEXPECT_EQ(snp_guest_access(m, npt, 0, 0, gpa + 0x1ff000, true, SNP_GUEST_WRITE, NULL), 0);
	/* The same 2M entry through a 4K nested leaf. */
	KASSERT_EQ(snp_npt_unmap(npt, gpa), 0);
	KASSERT_EQ(snp_npt_map(npt, gpa + 0x3000, snp_pfn_to_phys(T_REGION + 3), SNP_MAP_4K, true), 0);
	KEXPECT_EQ(npf_code(m, npt, 0, gpa + 0x3000, true, SNP_GUEST_READ), RMP_NPF | SNP_NPF_ENC);
	KEXPECT_EQ(t_last_rule(m), SNP_RULE_NPF_RMP_PAGE_SIZE);
	/* PVALIDATE 4K of that 2M entry through the 4K leaf: #NPF with SIZEM. */
	{
		struct snp_exc exc;

		KEXPECT_EQ(t_guest_pvalidate(m, npt, gpa + 0x3000, false, false, &unchanged, &exc),
			   SNP_EFAULT);
		KEXPECT_EQ(exc.vector, SNP_EXC_NPF);
		KEXPECT(exc.error_code & SNP_NPF_SIZEM);
	}
	snp_npt_destroy(npt);
	snp_machine_destroy(m);
}

/* Shared (C=0) accesses, and guests that are not SNP-active. */
static void shared_and_non_snp(void)
{
	for (int snp = 0; snp <= 1; snp++) {
		struct snp_machine *m = t_machine("early-snp");
		struct snp_npt *npt = t_npt(m, snp);

		KASSERT_EQ(snp_npt_map(npt, G_GPA, snp_pfn_to_phys(G_PFN), SNP_MAP_4K, true), 0);
		KASSERT_EQ(snp_npt_map(npt, 0x400000, snp_pfn_to_phys(T_REGION), SNP_MAP_2M, true), 0);
		KEXPECT_EQ(npf_code(m, npt, 0, G_GPA, false, SNP_GUEST_WRITE), 0);
		KEXPECT_EQ(npf_code(m, npt, 0, 0x400000, false, SNP_GUEST_WRITE), 0);
		KASSERT_EQ(snp_rmp_make_private(m, G_PFN, G_GPA, SNP_MAP_4K, G_ASID, false, NULL), 0);
		KASSERT_EQ(snp_rmp_make_private(m, T_REGION + 7, 0, SNP_MAP_4K, G_ASID, false, NULL), 0);
		/* Shared reads are not checked; shared writes need Hypervisor-Owned. */
		KEXPECT_EQ(npf_code(m, npt, 0, G_GPA, false, SNP_GUEST_READ), 0);
		KEXPECT_EQ(npf_code(m, npt, 0, G_GPA, false, SNP_GUEST_WRITE),
			   RMP_NPF | SNP_NPF_WRITE);
		KEXPECT_EQ(t_last_rule(m), SNP_RULE_NPF_RMP_SHARED_NOT_HV_OWNED);
		/* Through a 2M nested leaf the whole 2MB region must be hypervisor-owned. */
		KEXPECT_EQ(npf_code(m, npt, 0, 0x400000, false, SNP_GUEST_WRITE),
			   RMP_NPF | SNP_NPF_WRITE);
		/* Not SNP-active: the C-bit does not select the private checks. */
		if (!snp)
			KEXPECT_EQ(npf_code(m, npt, 0, G_GPA, true, SNP_GUEST_WRITE),
				   RMP_NPF | SNP_NPF_WRITE);
		snp_npt_destroy(npt);
		snp_machine_destroy(m);
	}
}

static void npt_table_and_misuse(void)
{
	struct snp_machine *m = t_machine("early-snp");
	struct snp_machine *other = t_machine("early-snp");
	struct snp_npt *npt = t_npt(m, true), *bad = NULL;
	enum snp_map_size s;
	snp_spa_t spa;
	bool w;
	struct snp_exc exc;

	KEXPECT_EQ(snp_npt_create(NULL, 1, true, &bad), SNP_EINVAL);
	KEXPECT_EQ(snp_npt_create(m, 0, true, &bad), SNP_EINVAL);
	KEXPECT_EQ(snp_npt_create(m, SNP_MAX_ASID + 1, true, &bad), SNP_EINVAL);
	KEXPECT_EQ(snp_npt_map(NULL, 0, 0, SNP_MAP_4K, true), SNP_EINVAL);
	KEXPECT_EQ(snp_npt_map(npt, 0x1001, 0, SNP_MAP_4K, true), SNP_EINVAL);
	KEXPECT_EQ(snp_npt_map(npt, 0x1000, 0x1000, SNP_MAP_2M, true), SNP_EINVAL);
	KEXPECT_EQ(snp_npt_map(npt, 0x1000, 0, SNP_MAP_1G, true), SNP_EINVAL);
	KEXPECT_EQ(snp_npt_map(npt, 0, 4 * SNP_GiB, SNP_MAP_4K, true), SNP_ERANGE);
	KASSERT_EQ(snp_npt_map(npt, 0x3000, 0x7000, SNP_MAP_4K, true), 0);
	KEXPECT_EQ(snp_npt_map(npt, 0x3000, 0x8000, SNP_MAP_4K, true), SNP_EEXIST);
	KEXPECT_EQ(snp_npt_map(npt, 0, 0, SNP_MAP_2M, true), SNP_EEXIST);
	KASSERT_EQ(snp_npt_map(npt, 0x200000, 0x400000, SNP_MAP_2M, false), 0);
	KEXPECT_EQ(snp_npt_map(npt, 0x201000, 0x1000, SNP_MAP_4K, true), SNP_EEXIST);
	KASSERT_EQ(snp_npt_translate(npt, 0x3abc, &spa, &s, &w), 0);
	KEXPECT_EQ(spa, 0x7abc);
	KEXPECT_EQ(s, SNP_MAP_4K);
	KASSERT_EQ(snp_npt_translate(npt, 0x212345, &spa, &s, &w), 0);
	KEXPECT_EQ(spa, 0x412345);
	KEXPECT_EQ(s, SNP_MAP_2M);
	KEXPECT(!w);
	KEXPECT_EQ(snp_npt_translate(npt, 0x4000, &spa, &s, &w), SNP_ENOENT);
	KEXPECT_EQ(snp_npt_unmap(npt, 0x4000), SNP_ENOENT);
	KEXPECT_EQ(snp_npt_unmap(npt, 0x3000), 0);
	KEXPECT_EQ(snp_npt_translate(npt, 0x3000, &spa, &s, &w), SNP_ENOENT);
	KEXPECT_EQ(snp_npt_unmap(npt, 0x3000), SNP_ENOENT);
	KEXPECT_EQ(snp_npt_unmap(npt, 0x200000), 0);
	KEXPECT_EQ(snp_npt_translate(NULL, 0, &spa, &s, &w), SNP_EINVAL);
	KEXPECT_EQ(snp_guest_access(NULL, npt, 0, 0, 0, true, SNP_GUEST_READ, &exc), SNP_EINVAL);
	KEXPECT_EQ(snp_guest_access(m, NULL, 0, 0, 0, true, SNP_GUEST_READ, &exc), SNP_EINVAL);
	KEXPECT_EQ(snp_guest_access(other, npt, 0, 0, 0, true, SNP_GUEST_READ, &exc), SNP_EINVAL);
	KEXPECT_EQ(snp_guest_access(m, npt, 2, 0, 0, true, SNP_GUEST_READ, &exc), SNP_EINVAL);
	KEXPECT_EQ(snp_guest_access(m, npt, 0, 4, 0, true, SNP_GUEST_READ, &exc), SNP_EINVAL);
	KEXPECT_EQ(snp_guest_access(m, npt, 0, 0, 0, true, (enum snp_guest_access_kind)9, &exc),
		   SNP_EINVAL);
	KEXPECT_EQ(t_guest_pvalidate(m, npt, 0x5000, false, true, NULL, &exc), SNP_EFAULT);
	KEXPECT_EQ(exc.vector, SNP_EXC_NPF);
	KEXPECT_EQ(t_guest_pvalidate(NULL, npt, 0, false, true, NULL, &exc), SNP_EINVAL);
	snp_npt_destroy(NULL);
	snp_npt_destroy(npt);
	snp_machine_destroy(other);
	snp_machine_destroy(m);
}

static const struct ktap_case cases[] = {
	KTAP_CASE(validate_then_access),
	KTAP_CASE(private_check_sequence),
	KTAP_CASE(page_size_check_and_2m_validation),
	KTAP_CASE(shared_and_non_snp),
	KTAP_CASE(npt_table_and_misuse),
};

KTAP_MAIN("mmu_npt", cases)
