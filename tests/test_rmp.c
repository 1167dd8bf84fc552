// SPDX-License-Identifier: MIT
/*
 * test_rmp.c - the modeled RMP: every return code of every instruction,
 * the page-state table, the uncovered-memory rules, the per-2MB summary and
 * the storage bound (APM 15.36; snp-facts §2, §4).
 */
#include "insn_util.h"
#include "ktap.h"

#include <snpsafe/rmp.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MB2 SNP_PMD_SIZE
#define PG  SNP_PAGE_SIZE

static struct snp_rmp *mk(uint64_t mem, uint64_t covered, const struct snp_profile *p)
{
	struct snp_rmp_config cfg = { .mem_bytes = mem, .rmp_covered_bytes = covered, .profile = p };
	struct snp_rmp *rmp = NULL;

	KASSERT_EQ(snp_rmp_create(&cfg, &rmp), 0);
	KASSERT(rmp != NULL);
	return rmp;
}

static struct snp_rmpentry q(const struct snp_rmp *rmp, snp_spa_t spa)
{
	struct snp_rmpentry e;

	KASSERT_EQ(snp_rmp_query(rmp, spa, &e), 0);
	return e;
}

static enum snp_page_state st(const struct snp_rmp *rmp, snp_spa_t spa)
{
	struct snp_rmpentry e = q(rmp, spa);

	return snp_page_state(&e);
}

static int assign(struct snp_rmp *rmp, snp_spa_t spa, uint32_t asid, snp_gpa_t gpa, bool two_m)
{
	struct snp_rmpupdate_in in = { .gpa = gpa, .assigned = true, .pagesize_2m = two_m, .asid = asid };

	return t_rmpupdate(rmp, SNP_CALLER_HV, spa, &in);
}

static int share(struct snp_rmp *rmp, snp_spa_t spa, bool two_m)
{
	struct snp_rmpupdate_in in = { .pagesize_2m = two_m };

	return t_rmpupdate(rmp, SNP_CALLER_HV, spa, &in);
}

/*
 * The library's error and the instruction's code come back apart: an
 * instruction that ran returns 0 with its code in *code, FAIL_* included;
 * misuse returns a negative SNP_E* and leaves *code alone; a NULL code is
 * misuse.  (insn_util.h folds the two for one-line assertions; this case
 * checks the split itself.)
 */
static void test_insn_code_apart(void)
{
	struct snp_rmp *rmp = mk(SNP_GiB, 0, NULL);
	struct snp_rmpupdate_in in = { .gpa = 0x1000, .assigned = true, .asid = 1 };
	struct snp_rmpread_out out;
	struct snp_exc exc;
	bool unch;
	int code = -7;

	KEXPECT_EQ(snp_rmpupdate(rmp, SNP_CALLER_HV, 0x1000, &in, &code), 0);
	KEXPECT_EQ(code, SNP_RMP_SUCCESS);
	KASSERT_EQ(snp_rmp_mark_inuse(rmp, 1), 0);
	code = -7;
	KEXPECT_EQ(snp_rmpupdate(rmp, SNP_CALLER_HV, 0x1000, &in, &code), 0);
	KEXPECT_EQ(code, SNP_FAIL_INUSE);
	code = -7;
	KEXPECT_EQ(snp_rmpupdate(NULL, SNP_CALLER_HV, 0x1000, &in, &code), SNP_EINVAL);
	KEXPECT_EQ(code, -7);
	KEXPECT_EQ(snp_rmpupdate(rmp, SNP_CALLER_HV, 0x1000, &in, NULL), SNP_EINVAL);
	KEXPECT_EQ(snp_psmash(rmp, SNP_CALLER_HV, 0, NULL), SNP_EINVAL);
	KEXPECT_EQ(snp_psmash(rmp, SNP_CALLER_HV, 0x800000, &code), 0);
	KEXPECT_EQ(code, SNP_FAIL_BADADDR);
	KEXPECT_EQ(snp_rmpread(rmp, 0x401, &out, &code), 0);
	KEXPECT_EQ(code, SNP_FAIL_INPUT);
	KEXPECT_EQ(snp_rmpread(rmp, 0x1000, &out, NULL), SNP_EINVAL);
	/* An exception is not a code: #GP for a hypervisor PVALIDATE, *code untouched. */
	code = -7;
	KEXPECT_EQ(snp_pvalidate(rmp, SNP_CALLER_HV, 0x1000, 0x1000, false, true, &unch, &exc,
				 &code), SNP_EFAULT);
	KEXPECT_EQ(exc.vector, SNP_EXC_GP);
	KEXPECT_EQ(code, -7);
	KEXPECT_EQ(snp_rmpadjust(rmp, SNP_CALLER_HV, 0x1000, 0x1000, false, 1, 0, false, &exc,
				 &code), 0);
	KEXPECT_EQ(code, SNP_FAIL_PERMISSION);
	snp_rmp_destroy(rmp);
}

static void test_create_config(void)
{
	struct snp_rmp_config cfg = { 0 };
	struct snp_rmp *rmp = NULL;

	KEXPECT_EQ(snp_rmp_create(&cfg, &rmp), 0);
	KEXPECT_EQ(snp_rmp_mem_bytes(rmp), 16 * SNP_GiB);          /* default 16 GiB */
	KEXPECT_EQ(snp_rmp_covered_bytes(rmp), 16 * SNP_GiB);      /* default: all covered */
	KEXPECT(!strcmp(snp_rmp_profile(rmp)->name, "early-snp")); /* default profile */
	snp_rmp_destroy(rmp);

	cfg.mem_bytes = 3 * SNP_MiB;                               /* not 2MB multiple */
	KEXPECT_EQ(snp_rmp_create(&cfg, &rmp), SNP_EINVAL);
	KEXPECT(rmp == NULL);
	cfg.mem_bytes = 8 * SNP_TiB;
	KEXPECT_EQ(snp_rmp_create(&cfg, &rmp), SNP_ERANGE);
	cfg.mem_bytes = SNP_GiB;
	cfg.rmp_covered_bytes = 2 * SNP_GiB;
	KEXPECT_EQ(snp_rmp_create(&cfg, &rmp), SNP_ERANGE);
	KEXPECT_EQ(snp_rmp_create(NULL, &rmp), SNP_EINVAL);
	KEXPECT_EQ(snp_rmp_create(&cfg, NULL), SNP_EINVAL);
	snp_rmp_destroy(NULL);
}

static void test_default_entries_hypervisor(void)
{
	struct snp_rmp *rmp = mk(SNP_GiB, 0, NULL);
	struct snp_rmpentry e = q(rmp, 0x12345000);

	KEXPECT(e.covered);
	KEXPECT(!e.assigned);
	KEXPECT_EQ(snp_page_state(&e), SNP_PS_HYPERVISOR);
	KEXPECT(snp_rmp_hv_owned_4k(rmp, 5));
	KEXPECT(snp_rmp_hv_owned_2m(rmp, 5));
	KEXPECT_EQ(snp_rmp_query(rmp, 0x1001, &e), SNP_EINVAL);
	KEXPECT_EQ(snp_rmp_query(rmp, SNP_GiB, &e), SNP_ERANGE);
	KEXPECT_EQ(snp_rmp_query(NULL, 0, &e), SNP_EINVAL);
	KEXPECT_EQ(snp_rmp_query(rmp, 0, NULL), SNP_EINVAL);
	snp_rmp_destroy(rmp);
}

static void test_rmpupdate_success_fields(void)
{
	struct snp_rmp *rmp = mk(SNP_GiB, 0, NULL);
	struct snp_rmpentry e;

	KEXPECT_EQ(assign(rmp, 0x200000 + 3 * PG, 7, 0x5000, false), SNP_RMP_SUCCESS);
	e = q(rmp, 0x200000 + 3 * PG);
	KEXPECT(e.assigned);
	KEXPECT(!e.pagesize_2m);
	KEXPECT_EQ(e.asid, 7);
	KEXPECT_EQ(e.gpa, 0x5000);
	KEXPECT(!e.validated);
	KEXPECT_EQ(e.vmpl_perms[0], SNP_PERM_ALL);  /* VMPL0 all, others none */
	KEXPECT_EQ(e.vmpl_perms[1], 0);
	KEXPECT_EQ(e.vmpl_perms[3], 0);
	KEXPECT_EQ(snp_page_state(&e), SNP_PS_GUEST_INVALID);
	KEXPECT(!snp_rmp_hv_owned_4k(rmp, snp_phys_to_pfn(0x200000 + 3 * PG)));
	KEXPECT(!snp_rmp_hv_owned_2m(rmp, snp_phys_to_pfn(0x200000)));  /* same 2MB region */
	KEXPECT(snp_rmp_hv_owned_2m(rmp, snp_phys_to_pfn(0x400000)));
	KEXPECT_EQ(snp_rmp_2m_nr_assigned(rmp, snp_phys_to_pfn(0x200000)), 1);

	KEXPECT_EQ(share(rmp, 0x200000 + 3 * PG, false), SNP_RMP_SUCCESS);
	e = q(rmp, 0x200000 + 3 * PG);
	KEXPECT_EQ(snp_page_state(&e), SNP_PS_HYPERVISOR);
	KEXPECT_EQ(e.vmpl_perms[0], 0);
	KEXPECT_EQ(snp_rmp_2m_nr_assigned(rmp, snp_phys_to_pfn(0x200000)), 0);
	snp_rmp_destroy(rmp);
}

static void test_rmpupdate_fail_input(void)
{
	struct snp_rmp *rmp = mk(SNP_GiB, SNP_GiB / 2, NULL);
	struct snp_rmpupdate_in in = { .gpa = 0x1000, .assigned = true, .asid = 1 };

	KEXPECT_EQ(t_rmpupdate(rmp, SNP_CALLER_HV, 0x1001, &in), SNP_FAIL_INPUT);      /* unaligned */
	KEXPECT_EQ(t_rmpupdate(rmp, SNP_CALLER_HV, SNP_GiB, &in), SNP_FAIL_INPUT);     /* outside memory */
	KEXPECT_EQ(t_rmpupdate(rmp, SNP_CALLER_HV, SNP_GiB / 2, &in), SNP_FAIL_INPUT); /* uncovered */
	in.pagesize_2m = true;
	in.gpa = 0x200000;
	KEXPECT_EQ(t_rmpupdate(rmp, SNP_CALLER_HV, 0x201000, &in), SNP_FAIL_INPUT);    /* 2M, spa unaligned */
	in.gpa = 0x201000;
	KEXPECT_EQ(t_rmpupdate(rmp, SNP_CALLER_HV, 0x200000, &in), SNP_FAIL_INPUT);    /* 2M, gpa unaligned */
	in.pagesize_2m = false;
	in.gpa = 0x1800;
	KEXPECT_EQ(t_rmpupdate(rmp, SNP_CALLER_HV, 0x1000, &in), SNP_FAIL_INPUT);      /* gpa unaligned */
	in.gpa = 0x1000;
	in.asid = SNP_MAX_ASID + 1;
	KEXPECT_EQ(t_rmpupdate(rmp, SNP_CALLER_HV, 0x1000, &in), SNP_FAIL_INPUT);      /* ASID range */
	in.asid = 0;
	KEXPECT_EQ(t_rmpupdate(rmp, SNP_CALLER_HV, 0x1000, &in), SNP_FAIL_INPUT);      /* assigned, ASID 0, mutable */
	in.assigned = false;
	in.asid = 3;
	KEXPECT_EQ(t_rmpupdate(rmp, SNP_CALLER_HV, 0x1000, &in), SNP_FAIL_INPUT);      /* unassigned, ASID */
	in.asid = 0;
	in.immutable = true;
	KEXPECT_EQ(t_rmpupdate(rmp, SNP_CALLER_HV, 0x1000, &in), SNP_FAIL_INPUT);      /* unassigned immutable */
	KEXPECT_EQ(t_rmpupdate(NULL, SNP_CALLER_HV, 0x1000, &in), SNP_EINVAL);
	KEXPECT_EQ(t_rmpupdate(rmp, SNP_CALLER_HV, 0x1000, NULL), SNP_EINVAL);
	/* Nothing changed by any failure. */
	KEXPECT_EQ(st(rmp, 0x1000), SNP_PS_HYPERVISOR);
	KEXPECT_EQ(st(rmp, 0x200000), SNP_PS_HYPERVISOR);
	snp_rmp_destroy(rmp);
}

/*
 * Assigned 1, ASID 0, Immutable 1 is the AMD-SP (firmware) encoding of APM
 * Table 15-35, and valid RMPUPDATE input: Linux's rmp_mark_pages_firmware()
 * (drivers/crypto/ccp/sev-dev.c) issues exactly rmp_make_private(pfn, 0,
 * PG_LEVEL_4K, 0, true).  The page is then the firmware's: immutable to the
 * hypervisor until the firmware reclaims it.
 */
static void test_rmpupdate_amd_sp_page(void)
{
	struct snp_rmp *rmp = mk(SNP_GiB, 0, NULL);
	struct snp_rmpupdate_in in = { .gpa = 0, .assigned = true, .asid = 0, .immutable = true };
	struct snp_rmpentry e;

	KEXPECT_EQ(t_rmpupdate(rmp, SNP_CALLER_HV, 0x5000, &in), SNP_RMP_SUCCESS);
	e = q(rmp, 0x5000);
	KEXPECT(e.assigned && e.immutable);
	KEXPECT_EQ(e.asid, 0);
	KEXPECT_EQ(snp_page_state(&e), SNP_PS_FIRMWARE);
	KEXPECT(!snp_rmp_hv_owned_4k(rmp, 5));
	/* Immutable now: the hypervisor cannot take it back or change it ... */
	KEXPECT_EQ(share(rmp, 0x5000, false), SNP_FAIL_PERMISSION);
	KEXPECT_EQ(t_rmpupdate(rmp, SNP_CALLER_HV, 0x5000, &in), SNP_FAIL_PERMISSION);
	/* ... until the firmware reclaims it (snp_reclaim_pages), then it can. */
	KEXPECT_EQ(snp_fw_page_reclaim(rmp, 0x5000), 0);
	KEXPECT_EQ(st(rmp, 0x5000), SNP_PS_RECLAIM);
	KEXPECT_EQ(share(rmp, 0x5000, false), SNP_RMP_SUCCESS);
	KEXPECT_EQ(st(rmp, 0x5000), SNP_PS_HYPERVISOR);
	/* Still the hypervisor's instruction. */
	KEXPECT_EQ(t_rmpupdate(rmp, SNP_CALLER_GUEST(1, 0), 0x5000, &in), SNP_FAIL_PERMISSION);
	snp_rmp_destroy(rmp);
}

static void test_rmpupdate_fail_permission(void)
{
	struct snp_rmp *rmp = mk(SNP_GiB, 0, NULL);
	struct snp_rmpupdate_in in = { .gpa = 0x1000, .assigned = true, .asid = 1 };

	/* Not executed by the hypervisor. */
	KEXPECT_EQ(t_rmpupdate(rmp, SNP_CALLER_GUEST(1, 0), 0x1000, &in), SNP_FAIL_PERMISSION);
	/* Immutable entries: Firmware, HV_Fixed, Pre-Guest. */
	KEXPECT_EQ(snp_fw_page_make_firmware(rmp, 0x3000), 0);
	KEXPECT_EQ(t_rmpupdate(rmp, SNP_CALLER_HV, 0x3000, &in), SNP_FAIL_PERMISSION);
	KEXPECT_EQ(share(rmp, 0x3000, false), SNP_FAIL_PERMISSION);
	KEXPECT_EQ(snp_fw_page_make_hv_fixed(rmp, 0x4000), 0);
	KEXPECT_EQ(t_rmpupdate(rmp, SNP_CALLER_HV, 0x4000, &in), SNP_FAIL_PERMISSION);
	/* A 2M update over a region holding an immutable entry. */
	in.pagesize_2m = true;
	in.gpa = 0;
	KEXPECT_EQ(t_rmpupdate(rmp, SNP_CALLER_HV, 0, &in), SNP_FAIL_PERMISSION);
	KEXPECT_EQ(st(rmp, 0x3000), SNP_PS_FIRMWARE);
	snp_rmp_destroy(rmp);
}

static void test_rmpupdate_fail_inuse(void)
{
	struct snp_rmp *rmp = mk(SNP_GiB, 0, NULL);
	struct snp_rmpupdate_in in = { .gpa = 0x1000, .assigned = true, .asid = 1 };
	struct snp_rmpupdate_op op;

	/* Marked in-use by VMRUN. */
	KEXPECT_EQ(snp_rmp_mark_inuse(rmp, 1), 0);
	KEXPECT(q(rmp, 0x1000).in_use);
	KEXPECT_EQ(snp_rmp_2m_nr_inuse(rmp, 1), 1);
	KEXPECT_EQ(t_rmpupdate(rmp, SNP_CALLER_HV, 0x1000, &in), SNP_FAIL_INUSE);
	/* A 2M update over a region with an in-use 4K entry. */
	in.pagesize_2m = true;
	in.gpa = 0;
	KEXPECT_EQ(t_rmpupdate(rmp, SNP_CALLER_HV, 0, &in), SNP_FAIL_INUSE);
	/* Cleared at #VMEXIT: the update goes through. */
	KEXPECT_EQ(snp_rmp_clear_inuse(rmp, 1), 0);
	KEXPECT_EQ(snp_rmp_2m_nr_inuse(rmp, 1), 0);
	in.pagesize_2m = false;
	in.gpa = 0x1000;
	KEXPECT_EQ(t_rmpupdate(rmp, SNP_CALLER_HV, 0x1000, &in), SNP_RMP_SUCCESS);

	/* Being changed by another CPU: a second RMPUPDATE during the first. */
	KEXPECT_EQ(t_rmpupdate_begin(rmp, SNP_CALLER_HV, 0x5000, &in, &op), SNP_RMP_SUCCESS);
	KEXPECT(q(rmp, 0x5000).locked);
	KEXPECT_EQ(t_rmpupdate(rmp, SNP_CALLER_HV, 0x5000, &in), SNP_FAIL_INUSE);
	KEXPECT_EQ(t_psmash(rmp, SNP_CALLER_HV, 0), SNP_FAIL_INUSE);
	KEXPECT_EQ(t_rmpupdate_commit(rmp, &op), SNP_RMP_SUCCESS);
	KEXPECT(!q(rmp, 0x5000).locked);
	KEXPECT_EQ(st(rmp, 0x5000), SNP_PS_GUEST_INVALID);
	KEXPECT_EQ(t_rmpupdate_commit(rmp, &op), SNP_EINVAL);   /* not twice */
	snp_rmp_destroy(rmp);
}

static void test_transient_inuse_knob(void)
{
	struct snp_profile p = snp_profile_early_snp;
	struct snp_rmpupdate_in in = { .gpa = 0x200000, .assigned = true, .asid = 1 };
	struct snp_rmpupdate_op op;

	for (int knob = 0; knob <= 1; knob++) {
		p.rmpupdate_transient_inuse = knob;
		struct snp_rmp *rmp = mk(SNP_GiB, 0, &p);

		KEXPECT_EQ(t_rmpupdate_begin(rmp, SNP_CALLER_HV, 0x200000, &in, &op), 0);
		KEXPECT_EQ(snp_rmp_inuse(rmp, 0x200), knob);   /* lock seen as in-use only with the knob */
		KEXPECT_EQ(t_rmpupdate_commit(rmp, &op), 0);
		KEXPECT(!snp_rmp_inuse(rmp, 0x200));
		snp_rmp_destroy(rmp);
	}
}

static void test_rmpupdate_fail_overlap_both_ways(void)
{
	struct snp_rmp *rmp = mk(SNP_GiB, 0, NULL);

	/* 2M assigned range, then a 4K update inside it: FAIL_OVERLAP. */
	KEXPECT_EQ(assign(rmp, 0x400000, 2, 0x600000, true), SNP_RMP_SUCCESS);
	KEXPECT_EQ(snp_rmp_2m_nr_assigned(rmp, 0x400), 512);
	KEXPECT(q(rmp, 0x400000 + 17 * PG).pagesize_2m);
	KEXPECT_EQ(q(rmp, 0x400000 + 17 * PG).gpa, 0x600000 + 17 * PG);
	KEXPECT_EQ(assign(rmp, 0x400000 + 17 * PG, 2, 0x611000, false), SNP_FAIL_OVERLAP);
	KEXPECT_EQ(share(rmp, 0x400000 + 17 * PG, false), SNP_FAIL_OVERLAP);
	KEXPECT_EQ(assign(rmp, 0x400000, 2, 0x600000, false), SNP_FAIL_OVERLAP); /* base too */
	/* A 2M-to-2M remap of the same range is allowed. */
	KEXPECT_EQ(assign(rmp, 0x400000, 3, 0x800000, true), SNP_RMP_SUCCESS);
	KEXPECT_EQ(q(rmp, 0x400000).asid, 3);

	/* 4K assigned entries, then a 2M update over them: FAIL_OVERLAP. */
	KEXPECT_EQ(assign(rmp, 0x800000 + 5 * PG, 2, 0x5000, false), SNP_RMP_SUCCESS);
	KEXPECT_EQ(assign(rmp, 0x800000, 2, 0x0, true), SNP_FAIL_OVERLAP);
	KEXPECT_EQ(share(rmp, 0x800000, true), SNP_FAIL_OVERLAP);
	KEXPECT_EQ(share(rmp, 0x800000 + 5 * PG, false), SNP_RMP_SUCCESS);
	KEXPECT_EQ(assign(rmp, 0x800000, 2, 0x0, true), SNP_RMP_SUCCESS);
	/* Giving a whole 2M page back. */
	KEXPECT_EQ(share(rmp, 0x800000, true), SNP_RMP_SUCCESS);
	KEXPECT_EQ(snp_rmp_2m_nr_assigned(rmp, 0x800), 0);
	snp_rmp_destroy(rmp);
}

static void test_overlap_knob_allow_4k_shared(void)
{
	struct snp_profile p = snp_profile_early_snp;
	struct snp_rmp *rmp;

	KEXPECT_EQ(snp_profile_set_knob(&p, "rmpupdate_overlap=allow-4k-shared"), 0);
	rmp = mk(SNP_GiB, 0, &p);
	KEXPECT_EQ(assign(rmp, 0x400000, 2, 0x600000, true), SNP_RMP_SUCCESS);
	/* Shared 4K update goes through, smashing implicitly... */
	KEXPECT_EQ(share(rmp, 0x400000 + 9 * PG, false), SNP_RMP_SUCCESS);
	KEXPECT_EQ(snp_rmp_2m_nr_assigned(rmp, 0x400), 511);
	KEXPECT(!q(rmp, 0x400000 + 10 * PG).pagesize_2m);
	KEXPECT_EQ(q(rmp, 0x400000 + 10 * PG).gpa, 0x600000 + 10 * PG);
	/* ...a private 4K update inside a 2M range still overlaps. */
	KEXPECT_EQ(assign(rmp, 0xa00000, 2, 0, true), SNP_RMP_SUCCESS);
	KEXPECT_EQ(assign(rmp, 0xa00000 + PG, 2, 0x1000, false), SNP_FAIL_OVERLAP);
	snp_rmp_destroy(rmp);
}

static void test_validated_cleared_on_remap_and_resize(void)
{
	struct snp_rmp *rmp = mk(SNP_GiB, 0, NULL);
	struct snp_exc exc;
	bool unch;

	KEXPECT_EQ(assign(rmp, 0x1000, 4, 0x1000, false), 0);
	KEXPECT_EQ(t_pvalidate(rmp, SNP_CALLER_GUEST(4, 0), 0x1000, 0x1000, false, true, &unch, &exc), 0);
	KEXPECT(q(rmp, 0x1000).validated);
	/* Remap to another GPA. */
	KEXPECT_EQ(assign(rmp, 0x1000, 4, 0x9000, false), 0);
	KEXPECT(!q(rmp, 0x1000).validated);

	/* Resize: a validated 2M page remapped as 2M again, and smashed then... */
	KEXPECT_EQ(assign(rmp, 0x200000, 4, 0x200000, true), 0);
	KEXPECT_EQ(t_pvalidate(rmp, SNP_CALLER_GUEST(4, 0), 0x200000, 0x200000, true, true, &unch, &exc), 0);
	KEXPECT(q(rmp, 0x200000 + 100 * PG).validated);
	KEXPECT_EQ(t_psmash(rmp, SNP_CALLER_HV, 0x200000), 0);
	KEXPECT(q(rmp, 0x200000 + 100 * PG).validated);       /* PSMASH keeps Validated */
	/* ...a 4K entry of it rewritten: Validated cleared on that entry only. */
	KEXPECT_EQ(assign(rmp, 0x200000 + 100 * PG, 4, 0x200000 + 100 * PG, false), 0);
	KEXPECT(!q(rmp, 0x200000 + 100 * PG).validated);
	KEXPECT(q(rmp, 0x200000 + 101 * PG).validated);
	/* Resize to 2M after giving the 4K pages back. */
	KEXPECT_EQ(assign(rmp, 0x600000, 4, 0x600000, true), 0);
	KEXPECT_EQ(t_pvalidate(rmp, SNP_CALLER_GUEST(4, 0), 0x600000, 0x600000, true, true, &unch, &exc), 0);
	KEXPECT_EQ(assign(rmp, 0x600000, 4, 0x600000, true), 0);
	KEXPECT(!q(rmp, 0x600000).validated);
	snp_rmp_destroy(rmp);
}

static void test_psmash_codes(void)
{
	struct snp_rmp *rmp = mk(SNP_GiB, SNP_GiB / 2, NULL);
	struct snp_rmpentry e;

	KEXPECT_EQ(assign(rmp, 0x400000, 9, 0x40000000, true), 0);
	KEXPECT_EQ(t_psmash(rmp, SNP_CALLER_GUEST(9, 0), 0x400000), SNP_FAIL_PERMISSION);
	KEXPECT_EQ(t_psmash(rmp, SNP_CALLER_HV, 0x401000), SNP_FAIL_INPUT);      /* not 2MB aligned */
	KEXPECT_EQ(t_psmash(rmp, SNP_CALLER_HV, SNP_GiB / 2), SNP_FAIL_INPUT);   /* uncovered */
	KEXPECT_EQ(t_psmash(rmp, SNP_CALLER_HV, 2 * SNP_GiB), SNP_FAIL_INPUT);   /* outside */
	/* Not a 2M assigned entry: 4 (FAIL_BADADDR), the architectural number, not 7. */
	KEXPECT_EQ(t_psmash(rmp, SNP_CALLER_HV, 0x800000), 4);                   /* unassigned */
	KEXPECT(!strcmp(snp_psmash_ret_name(t_psmash(rmp, SNP_CALLER_HV, 0x800000)), "FAIL_BADADDR"));
	KEXPECT_EQ(assign(rmp, 0x800000, 9, 0x1000, false), 0);
	KEXPECT_EQ(t_psmash(rmp, SNP_CALLER_HV, 0x800000), 4);                   /* 4K entries */
	KEXPECT_EQ(snp_rmp_mark_inuse(rmp, 0x400 + 3), 0);
	KEXPECT_EQ(t_psmash(rmp, SNP_CALLER_HV, 0x400000), SNP_FAIL_INUSE);
	KEXPECT_EQ(snp_rmp_clear_inuse(rmp, 0x400 + 3), 0);
	KEXPECT_EQ(snp_fw_page_make_firmware(rmp, 0xc00000), 0);
	KEXPECT_EQ(t_psmash(rmp, SNP_CALLER_HV, 0xc00000), SNP_FAIL_PERMISSION);  /* immutable */

	KEXPECT_EQ(t_psmash(rmp, SNP_CALLER_HV, 0x400000), SNP_RMP_SUCCESS);
	for (unsigned int i = 0; i < 512; i += 37) {
		e = q(rmp, 0x400000 + i * PG);
		KEXPECT(e.assigned);
		KEXPECT(!e.pagesize_2m);
		KEXPECT_EQ(e.asid, 9);
		KEXPECT_EQ(e.gpa, 0x40000000 + i * PG);    /* contiguous GPAs */
		KEXPECT_EQ(e.vmpl_perms[0], SNP_PERM_ALL);
	}
	KEXPECT_EQ(snp_rmp_2m_nr_assigned(rmp, 0x400), 512);
	KEXPECT_EQ(t_psmash(rmp, SNP_CALLER_HV, 0x400000), 4);                   /* already 4K */
	KEXPECT_EQ(t_psmash(NULL, SNP_CALLER_HV, 0), SNP_EINVAL);
	snp_rmp_destroy(rmp);
}

static void test_pvalidate_codes(void)
{
	struct snp_rmp *rmp = mk(SNP_GiB, SNP_GiB / 2, NULL);
	struct snp_caller g = SNP_CALLER_GUEST(5, 0);
	struct snp_exc exc;
	bool unch;

	KEXPECT_EQ(assign(rmp, 0x1000, 5, 0x7000, false), 0);
	/* Success, then the carry flag when nothing changes. */
	KEXPECT_EQ(t_pvalidate(rmp, g, 0x1000, 0x7000, false, true, &unch, &exc), SNP_RMP_SUCCESS);
	KEXPECT(!unch);
	KEXPECT_EQ(st(rmp, 0x1000), SNP_PS_GUEST_VALID);
	KEXPECT_EQ(t_pvalidate(rmp, g, 0x1000, 0x7000, false, true, &unch, &exc), SNP_RMP_SUCCESS);
	KEXPECT(unch);
	/* Rescind. */
	KEXPECT_EQ(t_pvalidate(rmp, g, 0x1000, 0x7000, false, false, &unch, &exc), SNP_RMP_SUCCESS);
	KEXPECT(!unch);
	KEXPECT_EQ(st(rmp, 0x1000), SNP_PS_GUEST_INVALID);
	/* FAIL_INPUT: misaligned operands. */
	KEXPECT_EQ(t_pvalidate(rmp, g, 0x1000, 0x7800, false, true, &unch, &exc), SNP_FAIL_INPUT);
	KEXPECT_EQ(t_pvalidate(rmp, g, 0x1000, 0x7000, true, true, &unch, &exc), SNP_FAIL_INPUT);
	/* FAIL_SIZEMISMATCH: a 2M request on 4K entries. */
	KEXPECT_EQ(assign(rmp, 0x200000, 5, 0x400000, false), 0);
	KEXPECT_EQ(t_pvalidate(rmp, g, 0x200000, 0x400000, true, true, &unch, &exc), SNP_FAIL_SIZEMISMATCH);
	/* #NPF(SIZEM): a 4K request on a 2M entry. */
	KEXPECT_EQ(assign(rmp, 0x600000, 5, 0x800000, true), 0);
	KEXPECT_EQ(t_pvalidate(rmp, g, 0x600000, 0x800000, false, true, &unch, &exc), SNP_EFAULT);
	KEXPECT_EQ(exc.vector, SNP_EXC_NPF);
	KEXPECT(exc.error_code & SNP_NPF_SIZEM);
	KEXPECT(exc.error_code & SNP_NPF_RMP);
	KEXPECT_EQ(t_pvalidate(rmp, g, 0x600000, 0x800000, true, true, &unch, &exc), SNP_RMP_SUCCESS);
	KEXPECT(q(rmp, 0x600000 + 511 * PG).validated);
	/* #NPF(RMP): another guest's page, wrong GPA, hypervisor page, uncovered. */
	KEXPECT_EQ(t_pvalidate(rmp, SNP_CALLER_GUEST(6, 0), 0x1000, 0x7000, false, true, &unch, &exc), SNP_EFAULT);
	KEXPECT_EQ(exc.vector, SNP_EXC_NPF);
	KEXPECT_EQ(t_pvalidate(rmp, g, 0x1000, 0x8000, false, true, &unch, &exc), SNP_EFAULT);
	KEXPECT_EQ(t_pvalidate(rmp, g, 0x3000, 0x3000, false, true, &unch, &exc), SNP_EFAULT);
	KEXPECT_EQ(t_pvalidate(rmp, g, SNP_GiB / 2, 0x3000, false, true, &unch, &exc), SNP_EFAULT);
	KEXPECT(!(exc.error_code & SNP_NPF_SIZEM));
	/* #GP: not VMPL0, or not a guest. */
	KEXPECT_EQ(t_pvalidate(rmp, SNP_CALLER_GUEST(5, 1), 0x1000, 0x7000, false, true, &unch, &exc), SNP_EFAULT);
	KEXPECT_EQ(exc.vector, SNP_EXC_GP);
	KEXPECT_EQ(t_pvalidate(rmp, SNP_CALLER_HV, 0x1000, 0x7000, false, true, &unch, &exc), SNP_EFAULT);
	KEXPECT_EQ(exc.vector, SNP_EXC_GP);
	KEXPECT_EQ(t_pvalidate(NULL, g, 0, 0, false, true, &unch, &exc), SNP_EINVAL);
	snp_rmp_destroy(rmp);
}

static void test_rmpadjust_codes(void)
{
	struct snp_rmp *rmp = mk(SNP_GiB, 0, NULL);
	struct snp_caller v0 = SNP_CALLER_GUEST(5, 0), v1 = SNP_CALLER_GUEST(5, 1);
	struct snp_exc exc;
	bool unch;

	KEXPECT_EQ(assign(rmp, 0x1000, 5, 0x7000, false), 0);
	KEXPECT_EQ(t_pvalidate(rmp, v0, 0x1000, 0x7000, false, true, &unch, &exc), 0);
	/* VMPL0 grants VMPL1 read+write. */
	KEXPECT_EQ(t_rmpadjust(rmp, v0, 0x1000, 0x7000, false, 1, SNP_PERM_READ | SNP_PERM_WRITE, false, &exc), 0);
	KEXPECT_EQ(q(rmp, 0x1000).vmpl_perms[1], SNP_PERM_READ | SNP_PERM_WRITE);
	/* VMPL1 may pass on what it has to VMPL2, not more, and not to itself or VMPL0. */
	KEXPECT_EQ(t_rmpadjust(rmp, v1, 0x1000, 0x7000, false, 2, SNP_PERM_READ, false, &exc), 0);
	KEXPECT_EQ(q(rmp, 0x1000).vmpl_perms[2], SNP_PERM_READ);
	KEXPECT_EQ(t_rmpadjust(rmp, v1, 0x1000, 0x7000, false, 2, SNP_PERM_EXEC_USER, false, &exc), SNP_FAIL_PERMISSION);
	KEXPECT_EQ(t_rmpadjust(rmp, v1, 0x1000, 0x7000, false, 1, SNP_PERM_READ, false, &exc), SNP_FAIL_PERMISSION);
	KEXPECT_EQ(t_rmpadjust(rmp, v1, 0x1000, 0x7000, false, 0, SNP_PERM_READ, false, &exc), SNP_FAIL_PERMISSION);
	/* The VMSA bit: from VMPL0 only. */
	KEXPECT_EQ(t_rmpadjust(rmp, v1, 0x1000, 0x7000, false, 2, SNP_PERM_READ, true, &exc), SNP_FAIL_PERMISSION);
	KEXPECT(!q(rmp, 0x1000).vmsa);
	KEXPECT_EQ(t_rmpadjust(rmp, v0, 0x1000, 0x7000, false, 1, SNP_PERM_READ, true, &exc), 0);
	KEXPECT(q(rmp, 0x1000).vmsa);
	/* FAIL_INPUT. */
	KEXPECT_EQ(t_rmpadjust(rmp, v0, 0x1000, 0x7000, false, 4, 0, false, &exc), SNP_FAIL_INPUT);
	KEXPECT_EQ(t_rmpadjust(rmp, v0, 0x1000, 0x7000, false, 1, 0x10, false, &exc), SNP_FAIL_INPUT);
	KEXPECT_EQ(t_rmpadjust(rmp, v0, 0x1800, 0x7000, false, 1, 0, false, &exc), SNP_FAIL_INPUT);
	/* A 4K request on a 2M entry: #NPF with SIZEM (APM Table 15-40), as PVALIDATE. */
	KEXPECT_EQ(assign(rmp, 0x200000, 5, 0x200000, true), 0);
	KEXPECT_EQ(t_rmpadjust(rmp, v0, 0x200000, 0x200000, false, 1, 0, false, &exc), SNP_EFAULT);
	KEXPECT_EQ(exc.vector, SNP_EXC_NPF);
	KEXPECT_EQ(exc.error_code, SNP_NPF_RMP | SNP_NPF_ENC | SNP_NPF_SIZEM);
	KEXPECT_EQ(q(rmp, 0x200000).vmpl_perms[1], 0);         /* nothing changed */
	/* A 2M request on 4K entries: FAIL_SIZEMISMATCH (6). */
	KEXPECT_EQ(t_rmpadjust(rmp, v0, 0x1000 & ~0x1fffffULL, 0, true, 1, 0, false, &exc), SNP_EFAULT);
	KEXPECT_EQ(assign(rmp, 0x400000, 5, 0x400000, false), 0);
	KEXPECT_EQ(t_rmpadjust(rmp, v0, 0x400000, 0x400000, true, 1, 0, false, &exc), SNP_FAIL_SIZEMISMATCH);
	KEXPECT_EQ(t_rmpadjust(rmp, v0, 0x200000, 0x200000, true, 1, SNP_PERM_READ, false, &exc), 0);
	KEXPECT_EQ(q(rmp, 0x200000 + 300 * PG).vmpl_perms[1], SNP_PERM_READ);
	/* The hypervisor, and another guest's page. */
	KEXPECT_EQ(t_rmpadjust(rmp, SNP_CALLER_HV, 0x1000, 0x7000, false, 1, 0, false, &exc), SNP_FAIL_PERMISSION);
	KEXPECT_EQ(t_rmpadjust(rmp, SNP_CALLER_GUEST(6, 0), 0x1000, 0x7000, false, 1, 0, false, &exc), SNP_EFAULT);
	KEXPECT_EQ(exc.vector, SNP_EXC_NPF);
	snp_rmp_destroy(rmp);
}

static void test_rmpread_knob(void)
{
	struct snp_profile p = snp_profile_early_snp;
	struct snp_rmpread_out out;

	for (int knob = 0; knob <= 1; knob++) {
		p.rmpread_2m_status = knob ? SNP_RMPREAD_2M_IS_2M_ENTRY : SNP_RMPREAD_2M_ANY_ASSIGNED;
		struct snp_rmp *rmp = mk(SNP_GiB, 0, &p);

		KEXPECT_EQ(assign(rmp, 0x200000 + 4 * PG, 1, 0x4000, false), 0);
		KEXPECT_EQ(t_rmpread(rmp, 0x200000, &out), 0);
		KEXPECT(!out.assigned);
		KEXPECT_EQ(out.region_2m_status, knob == 0);  /* any-assigned: yes; is-2m-entry: no */
		KEXPECT_EQ(t_rmpread(rmp, 0x200000 + 4 * PG, &out), 0);
		KEXPECT(out.assigned);
		KEXPECT_EQ(out.asid, 1);
		KEXPECT_EQ(out.gpa, 0x4000);
		KEXPECT_EQ(assign(rmp, 0x400000, 1, 0, true), 0);
		KEXPECT_EQ(t_rmpread(rmp, 0x400000 + PG, &out), 0);
		KEXPECT(out.region_2m_status);
		KEXPECT(out.pagesize_2m);
		KEXPECT_EQ(t_rmpread(rmp, 0x401, &out), SNP_FAIL_INPUT);
		snp_rmp_destroy(rmp);
	}
}

/* Every transition of the ASPFW state table (snp-facts §2) that the model drives. */
static void test_page_state_transitions(void)
{
	struct snp_rmp *rmp = mk(SNP_GiB, 0, NULL);
	struct snp_caller g = SNP_CALLER_GUEST(8, 0);
	struct snp_exc exc;
	bool unch;

	/* Hypervisor -> Firmware -> Reclaim -> Hypervisor. */
	KEXPECT_EQ(snp_fw_page_make_firmware(rmp, 0x1000), 0);
	KEXPECT_EQ(st(rmp, 0x1000), SNP_PS_FIRMWARE);
	KEXPECT_EQ(snp_fw_page_make_firmware(rmp, 0x1000), SNP_EPERM);
	KEXPECT_EQ(snp_fw_page_reclaim(rmp, 0x1000), 0);
	KEXPECT_EQ(st(rmp, 0x1000), SNP_PS_RECLAIM);
	KEXPECT_EQ(share(rmp, 0x1000, false), 0);
	KEXPECT_EQ(st(rmp, 0x1000), SNP_PS_HYPERVISOR);
	/* Hypervisor -> Context -> Reclaim. */
	KEXPECT_EQ(snp_fw_page_make_context(rmp, 0x2000), 0);
	KEXPECT_EQ(st(rmp, 0x2000), SNP_PS_CONTEXT);
	KEXPECT_EQ(snp_fw_page_reclaim(rmp, 0x2000), 0);
	KEXPECT_EQ(st(rmp, 0x2000), SNP_PS_RECLAIM);
	/* Hypervisor -> HV_Fixed (no way back by RMPUPDATE). */
	KEXPECT_EQ(snp_fw_page_make_hv_fixed(rmp, 0x3000), 0);
	KEXPECT_EQ(st(rmp, 0x3000), SNP_PS_HV_FIXED);
	KEXPECT_EQ(snp_fw_page_reclaim(rmp, 0x3000), SNP_EPERM);
	/* Guest launch: Hypervisor -> Guest-Invalid -> Pre-Guest -> Guest-Valid. */
	KEXPECT_EQ(assign(rmp, 0x4000, 8, 0x10000, false), 0);
	KEXPECT_EQ(st(rmp, 0x4000), SNP_PS_GUEST_INVALID);
	KEXPECT_EQ(snp_fw_launch_update(rmp, 0x4000, 9, 0x10000, false), SNP_EINVAL);  /* wrong ASID */
	KEXPECT_EQ(snp_fw_launch_update(rmp, 0x4000, 8, 0x10000, false), 0);
	KEXPECT_EQ(st(rmp, 0x4000), SNP_PS_PRE_GUEST);
	KEXPECT_EQ(share(rmp, 0x4000, false), SNP_FAIL_PERMISSION);                   /* immutable */
	KEXPECT_EQ(assign(rmp, 0x5000, 8, 0x11000, false), 0);
	KEXPECT_EQ(snp_fw_launch_update(rmp, 0x5000, 8, 0x11000, true), 0);          /* a VMSA */
	KEXPECT_EQ(snp_fw_launch_finish(rmp, 8), 2);
	KEXPECT_EQ(st(rmp, 0x4000), SNP_PS_GUEST_VALID);
	KEXPECT_EQ(st(rmp, 0x5000), SNP_PS_GUEST_VALID);
	KEXPECT(q(rmp, 0x5000).vmsa);
	KEXPECT_EQ(snp_fw_launch_finish(rmp, 0), SNP_EINVAL);
	/* Guest-Valid -> Pre-Swap -> Reclaim -> Hypervisor. */
	KEXPECT_EQ(snp_fw_page_swap_out(rmp, 0x4000), 0);
	KEXPECT_EQ(st(rmp, 0x4000), SNP_PS_PRE_SWAP);
	KEXPECT_EQ(snp_fw_page_reclaim(rmp, 0x4000), 0);
	KEXPECT_EQ(share(rmp, 0x4000, false), 0);
	KEXPECT_EQ(st(rmp, 0x4000), SNP_PS_HYPERVISOR);
	/* Pre-Guest -> Reclaim (a launch abandoned). */
	KEXPECT_EQ(assign(rmp, 0x6000, 8, 0x12000, false), 0);
	KEXPECT_EQ(snp_fw_launch_update(rmp, 0x6000, 8, 0x12000, false), 0);
	KEXPECT_EQ(snp_fw_page_reclaim(rmp, 0x6000), 0);
	KEXPECT_EQ(st(rmp, 0x6000), SNP_PS_RECLAIM);
	/* Guest-Invalid <-> Guest-Valid by PVALIDATE; Guest-Valid -> Hypervisor by RMPUPDATE. */
	KEXPECT_EQ(assign(rmp, 0x7000, 8, 0x13000, false), 0);
	KEXPECT_EQ(t_pvalidate(rmp, g, 0x7000, 0x13000, false, true, &unch, &exc), 0);
	KEXPECT_EQ(st(rmp, 0x7000), SNP_PS_GUEST_VALID);
	KEXPECT_EQ(share(rmp, 0x7000, false), 0);
	KEXPECT_EQ(st(rmp, 0x7000), SNP_PS_HYPERVISOR);
	/* In-use pages refuse firmware steps. */
	KEXPECT_EQ(snp_rmp_mark_inuse(rmp, 8), 0);
	KEXPECT_EQ(snp_fw_page_make_firmware(rmp, 0x8000), SNP_EBUSY);
	KEXPECT_EQ(snp_fw_page_make_firmware(rmp, 0x8001), SNP_EINVAL);
	KEXPECT_EQ(snp_fw_page_make_firmware(NULL, 0x8000), SNP_EINVAL);
	/* Every state has a name; an odd combination is (unnamed). */
	for (int s = SNP_PS_HYPERVISOR; s <= SNP_PS_UNNAMED; s++)
		KEXPECT(strcmp(snp_page_state_name(s), "(invalid)") != 0);
	struct snp_rmpentry odd = { .covered = true, .validated = true };
	KEXPECT_EQ(snp_page_state(&odd), SNP_PS_UNNAMED);
	KEXPECT_EQ(snp_page_state(NULL), SNP_PS_UNNAMED);
	snp_rmp_destroy(rmp);
}

static void test_uncovered_memory(void)
{
	struct snp_rmp *rmp = mk(SNP_GiB, 512 * SNP_MiB, NULL);
	snp_spa_t tail = 512 * SNP_MiB + 0x5000;
	size_t before = snp_rmp_storage_bytes(rmp);
	struct snp_rmpentry e = q(rmp, tail);
	struct snp_rmpread_out rd;

	KEXPECT(!e.covered);
	KEXPECT(!snp_rmp_covered(rmp, tail));
	KEXPECT(snp_rmp_covered(rmp, tail - 512 * SNP_MiB));
	KEXPECT_EQ(snp_page_state(&e), SNP_PS_HYPERVISOR);    /* permanently hypervisor-owned */
	KEXPECT(snp_rmp_hv_owned_4k(rmp, snp_phys_to_pfn(tail)));
	KEXPECT(snp_rmp_hv_owned_2m(rmp, snp_phys_to_pfn(tail)));
	KEXPECT_EQ(assign(rmp, tail, 1, 0x1000, false), SNP_FAIL_INPUT);
	KEXPECT_EQ(share(rmp, tail, false), SNP_FAIL_INPUT);
	KEXPECT_EQ(t_psmash(rmp, SNP_CALLER_HV, 512 * SNP_MiB), SNP_FAIL_INPUT);
	KEXPECT_EQ(t_rmpread(rmp, tail, &rd), SNP_FAIL_INPUT);
	KEXPECT_EQ(snp_fw_page_make_firmware(rmp, tail), SNP_ERANGE);
	/* Nowhere to hold an in-use mark. */
	KEXPECT_EQ(snp_rmp_mark_inuse(rmp, snp_phys_to_pfn(tail)), 0);
	KEXPECT(!snp_rmp_inuse(rmp, snp_phys_to_pfn(tail)));
	KEXPECT_EQ(snp_rmp_2m_nr_inuse(rmp, snp_phys_to_pfn(tail)), 0);
	KEXPECT_EQ(snp_rmp_storage_bytes(rmp), before);
	KEXPECT_EQ(snp_rmp_mark_inuse(rmp, snp_phys_to_pfn(SNP_GiB)), SNP_ERANGE);
	snp_rmp_destroy(rmp);
}

static void test_2m_summary_counts(void)
{
	struct snp_rmp *rmp = mk(SNP_GiB, 0, NULL);
	snp_pfn_t base = 0x600;

	for (unsigned int i = 0; i < 512; i += 2)
		KASSERT_EQ(assign(rmp, snp_pfn_to_phys(base + i), 3, snp_pfn_to_phys(i), false), 0);
	KEXPECT_EQ(snp_rmp_2m_nr_assigned(rmp, base + 511), 256);
	for (unsigned int i = 0; i < 512; i += 4)
		KASSERT_EQ(share(rmp, snp_pfn_to_phys(base + i), false), 0);
	KEXPECT_EQ(snp_rmp_2m_nr_assigned(rmp, base), 128);
	for (unsigned int i = 1; i < 512; i += 64)
		KASSERT_EQ(snp_rmp_mark_inuse(rmp, base + i), 0);
	KEXPECT_EQ(snp_rmp_mark_inuse(rmp, base + 1), 0);     /* idempotent */
	KEXPECT_EQ(snp_rmp_2m_nr_inuse(rmp, base), 8);
	KEXPECT(snp_rmp_inuse(rmp, base + 65));
	KEXPECT(!snp_rmp_inuse(rmp, base + 66));
	KEXPECT_EQ(snp_rmp_2m_nr_inuse(rmp, base + 512), 0);  /* next region */
	snp_rmp_destroy(rmp);
}

static void test_format_dump(void)
{
	struct snp_rmp *rmp = mk(SNP_GiB, 0, NULL);
	char buf[512];
	struct snp_rmpentry e;

	KEXPECT_EQ(assign(rmp, 0x200000, 12, 0x3000, false), 0);
	KEXPECT_EQ(snp_rmp_mark_inuse(rmp, 0x201), 0);
	e = q(rmp, 0x200000);
	snp_rmpentry_format(0x200000, &e, buf, sizeof(buf));
	KEXPECT(strstr(buf, "ASID 12") != NULL);
	KEXPECT(strstr(buf, "Guest-Invalid") != NULL);
	e = q(rmp, 0x201000);
	snp_rmpentry_format(0x201000, &e, buf, sizeof(buf));
	KEXPECT(strstr(buf, "IN-USE") != NULL);
	KEXPECT(strstr(buf, "not among RMPREAD's fields") != NULL);
	KEXPECT(!strcmp(snp_rmp_ret_name(SNP_FAIL_OVERLAP), "FAIL_OVERLAP"));
	KEXPECT(!strcmp(snp_psmash_ret_name(SNP_FAIL_BADADDR), "FAIL_BADADDR"));
	KEXPECT(!strcmp(snp_psmash_ret_name(SNP_FAIL_INUSE), "FAIL_INUSE"));
	KEXPECT(!strcmp(snp_rmp_ret_name(4), "FAIL_OVERLAP"));   /* RMPUPDATE's 4 */
	KEXPECT(!strcmp(snp_rmp_ret_name(7), "FAIL_?"));         /* no instruction returns 7 */
	KEXPECT(!strcmp(snp_exc_name(SNP_EXC_NPF), "#NPF"));
	snp_rmp_destroy(rmp);
}

static long rss_bytes(void)
{
	long size, resident;
	FILE *f = fopen("/proc/self/statm", "r");

	if (!f)
		return -1;
	if (fscanf(f, "%ld %ld", &size, &resident) != 2)
		resident = -1;
	fclose(f);
	return resident < 0 ? -1 : resident * sysconf(_SC_PAGESIZE);
}

static void test_1tib_untouched_rss(void)
{
	long before = rss_bytes(), after;
	struct snp_rmp *rmp;
	struct snp_rmpentry e;

	if (before < 0)
		ktap_skip("no /proc/self/statm");
	rmp = mk(SNP_TiB, 0, NULL);
	/* Read entries all over it: reads touch nothing. */
	for (snp_spa_t spa = 0; spa < SNP_TiB; spa += 64 * SNP_GiB + 0x3000)
		KEXPECT_EQ(snp_rmp_query(rmp, spa, &e), 0);
	KEXPECT(snp_rmp_hv_owned_2m(rmp, snp_phys_to_pfn(SNP_TiB - SNP_PMD_SIZE)));
	after = rss_bytes();
	ktap_log("1 TiB modeled host, untouched: RSS grew by %ld KiB; storage %zu KiB",
		 (after - before) / 1024, snp_rmp_storage_bytes(rmp) / 1024);
	KEXPECT(after - before < (long)(64 * SNP_MiB));
	KEXPECT(snp_rmp_storage_bytes(rmp) < 64 * SNP_MiB);
	snp_rmp_destroy(rmp);
}

static void test_storage_16_bytes_per_touched_page(void)
{
	struct snp_rmp *rmp = mk(SNP_TiB, 0, NULL);
	size_t before = snp_rmp_storage_bytes(rmp), grown;
	uint64_t pages = 0;

	/* Touch every page of 64 MiB spread over the top of the address space. */
	for (snp_pfn_t pfn = snp_phys_to_pfn(SNP_TiB - 64 * SNP_MiB); pfn < snp_phys_to_pfn(SNP_TiB); pfn++) {
		KASSERT_EQ(snp_rmp_mark_inuse(rmp, pfn), 0);
		pages++;
	}
	grown = snp_rmp_storage_bytes(rmp) - before;
	ktap_log("touched %llu pages: storage grew %zu bytes (%.1f B/page)",
		 (unsigned long long)pages, grown, (double)grown / (double)pages);
	KEXPECT(grown <= 16 * pages);
	snp_rmp_destroy(rmp);
}

static void test_profiles_and_knobs(void)
{
	struct snp_profile p = snp_profile_early_snp;
	const struct snp_knob *k;

	KEXPECT(snp_profile_by_name("early-snp") == &snp_profile_early_snp);
	KEXPECT(snp_profile_by_name("fixed") == &snp_profile_fixed);
	KEXPECT(snp_profile_by_name("zen9") == NULL);
	KEXPECT(snp_profile_early_snp.inuse_erratum && !snp_profile_early_snp.hv_inuse_wr_allowed);
	KEXPECT(!snp_profile_fixed.inuse_erratum && snp_profile_fixed.hv_inuse_wr_allowed);
	/* Documented defaults: in-use cleared at #VMEXIT; write-only is an assumption, off. */
	KEXPECT(snp_profile_early_snp.inuse_cleared_at_vmexit && snp_profile_fixed.inuse_cleared_at_vmexit);
	KEXPECT(!snp_profile_early_snp.inuse_reads_fault && !snp_profile_fixed.inuse_reads_fault);
	KEXPECT_EQ(snp_profile_set_knob(&p, "inuse_reads_fault=1"), 0);
	KEXPECT(p.inuse_reads_fault);
	/* The knob's old name sets nothing: the library reads only the names it prints. */
	KEXPECT_EQ(snp_profile_set_knob(&p, "erratum_on_reads=0"), SNP_EINVAL);
	KEXPECT(p.inuse_reads_fault);
	KEXPECT(snp_knob_find_renamed("erratum_on_reads") == snp_knob_find("inuse_reads_fault"));
	KEXPECT(snp_knob_find_renamed("inuse_reads_fault") == NULL);
	KEXPECT_EQ(snp_profile_set_knob(&p, "vmrun_marks=vmcb,avic"), 0);
	KEXPECT_EQ(p.vmrun_marks, SNP_ROLE_VMCB | SNP_ROLE_AVIC);
	KEXPECT_EQ(snp_profile_set_knob(&p, "vmrun_marks=none"), 0);
	KEXPECT_EQ(p.vmrun_marks, 0);
	KEXPECT_EQ(snp_profile_set_knob(&p, "uncovered_inuse=fail"), 0);
	KEXPECT_EQ(p.uncovered_inuse, SNP_UNCOVERED_FAIL);
	KEXPECT_EQ(snp_profile_set_knob(&p, "no_such_knob=1"), SNP_EINVAL);
	KEXPECT_EQ(snp_profile_set_knob(&p, "inuse_reads_fault=maybe"), SNP_EINVAL);
	KEXPECT_EQ(snp_profile_set_knob(&p, "vmrun_marks=vmcb,tlb"), SNP_EINVAL);
	KEXPECT_EQ(snp_profile_set_knob(&p, "=1"), SNP_EINVAL);
	KEXPECT_EQ(snp_profile_set_knob(&p, "inuse_reads_fault"), SNP_EINVAL);
	KEXPECT_EQ(snp_profile_set_knob(NULL, "a=1"), SNP_EINVAL);
	snp_for_each_knob(k) {
		char buf[80];

		/* Every listed knob accepts its own "0" setting. */
		snprintf(buf, sizeof(buf), "%s=0", k->name);
		KEXPECT_EQ(snp_profile_set_knob(&p, buf), 0);
	}
}

/*
 * The knob table: names unique, each entry its own field, and every value
 * of each knob read back as set, in every preset, without touching another
 * knob.  A wrong offset or a getter that misses a value fails here.
 */
static void test_knob_table(void)
{
	const struct snp_knob *k, *o;

	snp_for_each_knob(k) {
		for (o = k + 1; o->name; o++) {
			KEXPECT(strcmp(k->name, o->name) != 0);
			KEXPECT_NE(k->offset, o->offset);
		}
		KEXPECT(snp_knob_find(k->name) == k);
		if (k->old_name) {
			KEXPECT(snp_knob_find(k->old_name) == NULL);
			KEXPECT(snp_knob_find_renamed(k->old_name) == k);
		}
		for (const char *const *pn = snp_profile_preset_names; *pn; pn++) {
			for (unsigned int v = 0; k->choices[v]; v++) {
				struct snp_profile p = *snp_profile_by_name(*pn);
				char got[SNP_KNOB_TEXT_MAX], before[SNP_KNOB_TEXT_MAX];

				KEXPECT_EQ(snp_knob_set(&p, k, k->choices[v]), 0);
				KEXPECT(!strcmp(snp_knob_get(&p, k, got, sizeof(got)), k->choices[v]));
				for (o = snp_knobs; o->name; o++)
					if (o != k && strcmp(snp_knob_get(&p, o, got, sizeof(got)),
							     snp_knob_get(snp_profile_by_name(*pn), o,
									  before, sizeof(before))))
						ktap_fail(__FILE__, __LINE__, "%s=%s changed %s in %s",
							  k->name, k->choices[v], o->name, *pn);
			}
		}
	}
	KEXPECT(snp_knob_find("no_such_knob") == NULL);
	KEXPECT(snp_knob_find(NULL) == NULL);
}

static const struct ktap_case cases[] = {
	KTAP_CASE(test_create_config),
	KTAP_CASE(test_knob_table),
	KTAP_CASE(test_insn_code_apart),
	KTAP_CASE(test_default_entries_hypervisor),
	KTAP_CASE(test_rmpupdate_success_fields),
	KTAP_CASE(test_rmpupdate_fail_input),
	KTAP_CASE(test_rmpupdate_amd_sp_page),
	KTAP_CASE(test_rmpupdate_fail_permission),
	KTAP_CASE(test_rmpupdate_fail_inuse),
	KTAP_CASE(test_transient_inuse_knob),
	KTAP_CASE(test_rmpupdate_fail_overlap_both_ways),
	KTAP_CASE(test_overlap_knob_allow_4k_shared),
	KTAP_CASE(test_validated_cleared_on_remap_and_resize),
	KTAP_CASE(test_psmash_codes),
	KTAP_CASE(test_pvalidate_codes),
	KTAP_CASE(test_rmpadjust_codes),
	KTAP_CASE(test_rmpread_knob),
	KTAP_CASE(test_page_state_transitions),
	KTAP_CASE(test_uncovered_memory),
	KTAP_CASE(test_2m_summary_counts),
	KTAP_CASE(test_format_dump),
	KTAP_CASE(test_1tib_untouched_rss),
	KTAP_CASE(test_storage_16_bytes_per_touched_page),
	KTAP_CASE(test_profiles_and_knobs),
};

KTAP_MAIN("rmp", cases)
