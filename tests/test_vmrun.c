// SPDX-License-Identifier: MIT
/*
 * test_vmrun.c - every row of the VMRUN table (APM 15.36.12, Table 15-41;
 * snp-facts §5), failing and passing, the host save area, FAIL_INUSE while
 * a page is in-use, and misuse of the API.
 */
#include "insn_util.h"
#include "mmu_test_util.h"

#define T_VMCB  (T_REGION + 1)
#define T_VMSA  (T_REGION + 2)
#define T_AVIC  (T_REGION + 3)
#define T_ASID  9u
#define T_VMSA_GPA 0x7000ULL

static struct snp_vmrun_args t_args(enum snp_guest_type type)
{
	bool vmsa = type == SNP_GUEST_SEV_ES || type == SNP_GUEST_SNP;

	return (struct snp_vmrun_args){ .vmcb = T_VMCB, .vmsa = vmsa ? T_VMSA : SNP_NO_PAGE,
					.avic = T_AVIC, .type = type, .asid = T_ASID,
					.vmsa_gpa = T_VMSA_GPA, .label = "vcpu 0" };
}

/* Expect VMEXIT_INVALID with check c, then nothing marked and the CPU not in guest mode. */
static void expect_invalid(struct snp_machine *m, const struct snp_vmrun_args *a,
			   enum snp_vmrun_check c)
{
	struct snp_vmrun_result res;

	/* VMEXIT_INVALID is an outcome, not an error: the call itself succeeds. */
	KEXPECT_EQ(snp_vmrun(m, 0, a, &res), 0);
	KEXPECT_EQ(res.outcome, SNP_VMRUN_VMEXIT_INVALID);
	KEXPECT_EQ(res.check, c);
	KEXPECT_EQ(res.exitcode, SNP_VMEXIT_INVALID_CODE);
	KEXPECT_EQ(res.marked, 0);
	KEXPECT_EQ(snp_cpu_in_guest(m, 0), 0);
	KEXPECT(!snp_rmp_inuse(snp_machine_rmp(m), a->vmcb));
}

static void expect_gp(struct snp_machine *m, const struct snp_vmrun_args *a,
		      enum snp_vmrun_check c)
{
	struct snp_vmrun_result res;

	KEXPECT_EQ(t_vmrun(m, 0, a, &res), SNP_EFAULT);
	KEXPECT_EQ(res.exc.vector, SNP_EXC_GP);
	KEXPECT_EQ(res.exc.error_code, 0);
	KEXPECT_EQ(res.check, c);
	KEXPECT_EQ(snp_cpu_in_guest(m, 0), 0);
}

static void expect_entered(struct snp_machine *m, const struct snp_vmrun_args *a)
{
	struct snp_vmrun_result res;

	KEXPECT_EQ(t_vmrun(m, 0, a, &res), SNP_VMRUN_ENTERED);
	KEXPECT_EQ(res.check, SNP_VMRUN_CHECK_NONE);
	KEXPECT_EQ(snp_cpu_in_guest(m, 0), 1);
	KEXPECT_EQ(snp_vmexit(m, 0), 0);
}

/*
 * The host save area: its ownership is checked by WRMSR(VM_HSAVE_PA), which
 * raises #GP for a page that is not Hypervisor-Owned; VMRUN only raises #GP
 * for an unset (zero) save area (APM 15.36; snp-facts section 5).
 */
static void row_hsave(void)
{
	struct snp_machine *m = t_machine("early-snp");
	struct snp_vmrun_args a = t_args(SNP_GUEST_SVM);
	snp_pfn_t msr;

	/* WRMSR of a guest-owned page: #GP, the MSR keeps its old value. */
	t_raw_private(m, T_HSAVE + 100, 0, 1);
	KEXPECT_EQ(snp_wrmsr_hsave_pa(m, 0, T_HSAVE + 100), SNP_EFAULT);
	KASSERT_EQ(snp_rdmsr_hsave_pa(m, 0, &msr), 0);
	KEXPECT_EQ(msr, T_HSAVE);
	/* A page made private after the WRMSR: VMRUN does not check it again. */
	t_raw_private(m, T_HSAVE, 0, 1);
	expect_entered(m, &a);
	/* An unset save area: VMRUN raises #GP(0). */
	KEXPECT_EQ(snp_wrmsr_hsave_pa(m, 0, SNP_HSAVE_UNSET), 0);
	expect_gp(m, &a, SNP_VMRUN_HSAVE_UNSET);
	KEXPECT_EQ(snp_wrmsr_hsave_pa(m, 0, T_HSAVE + 200), 0);
	expect_entered(m, &a);
	snp_machine_destroy(m);
}

static void row_vmcb(void)
{
	struct snp_machine *m = t_machine("early-snp");
	struct snp_vmrun_args a = t_args(SNP_GUEST_SVM);

	t_raw_private(m, T_VMCB, 0, 1);
	expect_gp(m, &a, SNP_VMRUN_VMCB_NOT_HV_OWNED);
	/* A 4K check: an assigned neighbour in the VMCB's 2MB region does not matter. */
	a.vmcb = T_REGION + 100;
	expect_entered(m, &a);
	snp_machine_destroy(m);
}

static void row_asid_zero(void)
{
	struct snp_machine *m = t_machine("early-snp");
	struct snp_vmrun_args a = t_args(SNP_GUEST_SVM);

	a.asid = 0;
	expect_invalid(m, &a, SNP_VMRUN_ASID_ZERO);
	a.asid = 1;
	expect_entered(m, &a);
	snp_machine_destroy(m);
}

static void row_avic(void)
{
	static const enum snp_guest_type types[] = { SNP_GUEST_SVM, SNP_GUEST_SEV };

	for (unsigned int i = 0; i < 2; i++) {
		struct snp_machine *m = t_machine("early-snp");
		struct snp_vmrun_args a = t_args(types[i]);

		expect_entered(m, &a);
		t_raw_private(m, T_AVIC, 0, 1);
		expect_invalid(m, &a, SNP_VMRUN_AVIC_NOT_HV_OWNED);
		a.avic = SNP_NO_PAGE;
		expect_entered(m, &a);
		snp_machine_destroy(m);
	}
}

static void row_vmsa_sev_es(void)
{
	struct snp_machine *m = t_machine("early-snp");
	struct snp_vmrun_args a = t_args(SNP_GUEST_SEV_ES);

	expect_entered(m, &a);
	t_raw_private(m, T_VMSA, 0, T_ASID);
	expect_invalid(m, &a, SNP_VMRUN_VMSA_NOT_HV_OWNED);
	snp_machine_destroy(m);
}

/* SNP-active VMSA: Covered, Guest-Owned, Reverse-Map, Mutable, VMSA=1. */
static void row_vmsa_snp(void)
{
	struct snp_machine *m = t_machine_full("early-snp", 4 * SNP_GiB, 2 * SNP_GiB, SNP_DMAP_1G);
	struct snp_rmp *rmp = snp_machine_rmp(m);
	struct snp_vmrun_args a = t_args(SNP_GUEST_SNP);
	struct snp_vmrun_result res;

	/* Hypervisor-owned VMSA. */
	expect_invalid(m, &a, SNP_VMRUN_VMSA_NOT_GUEST_OWNED);
	/* Uncovered VMSA: SNP needs Covered whatever uncovered_inuse says. */
	a.vmsa = (2 * SNP_GiB >> SNP_PAGE_SHIFT) + 3;
	expect_invalid(m, &a, SNP_VMRUN_VMSA_UNCOVERED);
	a.vmsa = T_VMSA;
	/* Owned by another guest. */
	t_raw_private(m, T_VMSA, T_VMSA_GPA, T_ASID + 1);
	expect_invalid(m, &a, SNP_VMRUN_VMSA_NOT_GUEST_OWNED);
	/* Right guest, other GPA. */
	KASSERT_EQ(snp_rmp_make_shared(m, T_VMSA, SNP_MAP_4K, NULL), 0);
	t_raw_private(m, T_VMSA, T_VMSA_GPA + SNP_PAGE_SIZE, T_ASID);
	expect_invalid(m, &a, SNP_VMRUN_VMSA_REVERSE_MAP);
	/* Right guest and GPA, a normal (non-VMSA) page. */
	KASSERT_EQ(snp_rmp_make_shared(m, T_VMSA, SNP_MAP_4K, NULL), 0);
	t_raw_private(m, T_VMSA, T_VMSA_GPA, T_ASID);
	expect_invalid(m, &a, SNP_VMRUN_VMSA_NOT_VMSA);
	/* Launched as a VMSA but not finished: Immutable. */
	KASSERT_EQ(snp_rmp_make_shared(m, T_VMSA, SNP_MAP_4K, NULL), 0);
	t_raw_private(m, T_VMSA, T_VMSA_GPA, T_ASID);
	KASSERT_EQ(snp_fw_launch_update(rmp, snp_pfn_to_phys(T_VMSA), T_ASID, T_VMSA_GPA, true), 0);
	expect_invalid(m, &a, SNP_VMRUN_VMSA_IMMUTABLE);
	/* SNP_LAUNCH_FINISH: Guest-Valid, mutable, VMSA=1: VMRUN enters. */
	KASSERT(snp_fw_launch_finish(rmp, T_ASID) >= 1);
	KEXPECT_EQ(t_vmrun(m, 0, &a, &res), SNP_VMRUN_ENTERED);
	KEXPECT_EQ(res.marked, SNP_ROLE_ALL);
	KEXPECT(snp_rmp_inuse(rmp, T_VMSA));
	/* The ASID of the run must be the VMSA's. */
	KASSERT_EQ(snp_vmexit(m, 0), 0);
	a.asid = T_ASID + 1;
	expect_invalid(m, &a, SNP_VMRUN_VMSA_NOT_GUEST_OWNED);
	snp_machine_destroy(m);
}

/* #GP rows come before VMEXIT_INVALID rows. */
static void row_order(void)
{
	struct snp_machine *m = t_machine("early-snp");
	struct snp_vmrun_args a = t_args(SNP_GUEST_SEV_ES);

	t_raw_private(m, T_VMCB, 0, 1);
	t_raw_private(m, T_AVIC, 0, 1);
	a.asid = 0;
	expect_gp(m, &a, SNP_VMRUN_VMCB_NOT_HV_OWNED);
	snp_machine_destroy(m);
}

/* In-use pages refuse RMPUPDATE (FAIL_INUSE) until #VMEXIT. */
static void inuse_blocks_rmpupdate(void)
{
	struct snp_machine *m = t_machine("early-snp");
	struct snp_vmrun_args a = t_args(SNP_GUEST_SEV_ES);
	snp_pfn_t pages[] = { T_VMCB, T_VMSA, T_AVIC };
	struct snp_vmrun_result res;

	KASSERT_EQ(t_vmrun(m, 0, &a, &res), 0);
	KASSERT_EQ(res.outcome, SNP_VMRUN_ENTERED);
	for (unsigned int i = 0; i < 3; i++) {
		int code = -1;

		KEXPECT_EQ(snp_rmp_make_private(m, pages[i], 0, SNP_MAP_4K, 1, false, &code),
			   SNP_EFAULT);
		KEXPECT_EQ(code, SNP_FAIL_INUSE);
	}
	KASSERT_EQ(snp_vmexit(m, 0), 0);
	for (unsigned int i = 0; i < 3; i++)
		KEXPECT_EQ(snp_rmp_make_private(m, pages[i], 0, SNP_MAP_4K, 1, false, NULL), 0);
	snp_machine_destroy(m);
}

/*
 * The PML buffer (VMCB PML_ADDR with PML enabled; AMD PML series v5) is
 * marked in-use only as the undocumented knob pml_inuse says: on (default),
 * a 2MB-aligned buffer makes a hugepage write into its region fault, the
 * erratum; off, nothing is marked and the write passes.  Not enabled: never
 * marked.  #VMEXIT clears it like the others.
 */
static void pml_buffer_marked_per_knob(void)
{
	const snp_pfn_t pml = T_NEXT_REGION;   /* 2MB-aligned, its own region */

	for (int on = 1; on >= 0; on--) {
		struct snp_machine *m = t_machine("early-snp");
		struct snp_vmrun_args a = t_args(SNP_GUEST_SVM);
		struct snp_vmrun_result res;
		char owner[96];

		KEXPECT_EQ(snp_machine_profile(m)->pml_inuse, true);   /* the default */
		t_knob(m, on ? "pml_inuse=on" : "pml_inuse=off");
		a.pml_enable = true;
		a.pml = pml;
		KASSERT_EQ(snp_vmrun(m, 0, &a, &res), 0);
		KASSERT_EQ(res.outcome, SNP_VMRUN_ENTERED);
		KEXPECT_EQ(!!(res.marked & SNP_ROLE_PML), on);
		KEXPECT_EQ(snp_rmp_inuse(snp_machine_rmp(m), pml), (bool)on);
		KEXPECT_EQ(t_write(m, 1, pml + 7), on ? SNP_EFAULT : 0);
		if (on) {
			KEXPECT_EQ(t_last_rule(m), SNP_RULE_ERRATUM_2M_BASE_INUSE);
			KEXPECT_EQ(snp_inuse_owner(m, pml, owner, sizeof(owner)), 1);
			ktap_log("pml_inuse=on: %s", owner);
			KEXPECT(strstr(owner, "PML buffer") != NULL);
		}
		KASSERT_EQ(snp_vmexit(m, 0), 0);
		KEXPECT(!snp_rmp_inuse(snp_machine_rmp(m), pml));
		/* Not enabled (vmcb02, or dirty logging off): the address is ignored. */
		a.pml_enable = false;
		KASSERT_EQ(snp_vmrun(m, 0, &a, &res), 0);
		KASSERT_EQ(res.outcome, SNP_VMRUN_ENTERED);
		KEXPECT_EQ(res.marked & SNP_ROLE_PML, 0);
		KEXPECT(!snp_rmp_inuse(snp_machine_rmp(m), pml));
		KASSERT_EQ(snp_vmexit(m, 0), 0);
		a.pml_enable = true;
		a.pml = 4 * SNP_GiB >> SNP_PAGE_SHIFT;   /* outside memory */
		KEXPECT_EQ(snp_vmrun(m, 0, &a, &res), SNP_ERANGE);
		snp_machine_destroy(m);
	}
}

static void misuse(void)
{
	struct snp_machine *m = t_machine("early-snp");
	struct snp_vmrun_args a = t_args(SNP_GUEST_SVM);
	struct snp_machine_config cfg = { .mem_bytes = 4 * SNP_GiB };
	struct snp_machine *nohsave;
	snp_pfn_t msr;
	char buf[16];

	KEXPECT_EQ(t_vmrun(NULL, 0, &a, NULL), SNP_EINVAL);
	KEXPECT_EQ(t_vmrun(m, 0, NULL, NULL), SNP_EINVAL);
	KEXPECT_EQ(t_vmrun(m, 2, &a, NULL), SNP_EINVAL);
	a.vmsa = T_VMSA;  /* an SVM guest has no VMSA */
	KEXPECT_EQ(t_vmrun(m, 0, &a, NULL), SNP_EINVAL);
	a = t_args(SNP_GUEST_SEV_ES);
	a.vmsa = SNP_NO_PAGE;
	KEXPECT_EQ(t_vmrun(m, 0, &a, NULL), SNP_EINVAL);
	a = t_args(SNP_GUEST_SVM);
	a.type = (enum snp_guest_type)42;
	KEXPECT_EQ(t_vmrun(m, 0, &a, NULL), SNP_EINVAL);
	a = t_args(SNP_GUEST_SVM);
	a.asid = SNP_MAX_ASID + 1;
	KEXPECT_EQ(t_vmrun(m, 0, &a, NULL), SNP_EINVAL);
	a = t_args(SNP_GUEST_SVM);
	a.vmcb = 4 * SNP_GiB >> SNP_PAGE_SHIFT;
	KEXPECT_EQ(t_vmrun(m, 0, &a, NULL), SNP_ERANGE);
	a = t_args(SNP_GUEST_SVM);
	a.avic = SNP_NO_PAGE - 1;
	KEXPECT_EQ(t_vmrun(m, 0, &a, NULL), SNP_ERANGE);
	a = t_args(SNP_GUEST_SVM);
	KEXPECT_EQ(snp_vmrun(m, 0, &a, NULL), SNP_EINVAL);   /* the outcome needs somewhere to go */
	KEXPECT_EQ(snp_cpu_in_guest(m, 0), 0);
	KASSERT_EQ(t_vmrun(m, 0, &a, NULL), SNP_VMRUN_ENTERED);
	KEXPECT_EQ(t_vmrun(m, 0, &a, NULL), SNP_EBUSY);   /* already in guest mode */
	KEXPECT_EQ(t_vmrun(m, 1, &a, NULL), SNP_EBUSY);   /* VMCB running on CPU 0 */
	KEXPECT_EQ(snp_vmexit(m, 0), 0);
	KEXPECT_EQ(snp_vmexit(m, 0), SNP_ENOENT);
	KEXPECT_EQ(snp_vmexit(m, 5), SNP_EINVAL);
	KEXPECT_EQ(snp_vmexit(NULL, 0), SNP_EINVAL);
	KEXPECT_EQ(snp_vmrun_clear_stale(NULL, 0), SNP_EINVAL);
	KEXPECT_EQ(snp_cpu_in_guest(m, 9), SNP_EINVAL);
	KEXPECT_EQ(snp_wrmsr_hsave_pa(m, 9, 1), SNP_EINVAL);
	KEXPECT_EQ(snp_wrmsr_hsave_pa(m, 0, 1ULL << 40), SNP_ERANGE);
	KEXPECT_EQ(snp_inuse_owner(NULL, 0, buf, sizeof(buf)), SNP_EINVAL);
	KEXPECT_EQ(snp_inuse_owner(m, T_VMCB, buf, sizeof(buf)), 0);
	KEXPECT_EQ(buf[0], '\0');
	KEXPECT(!strcmp(snp_vmrun_check_name(SNP_VMRUN_VMSA_REVERSE_MAP), "VMSA_REVERSE_MAP"));
	KEXPECT(!strcmp(snp_vmrun_check_name((enum snp_vmrun_check)99), "?"));
	KEXPECT(!strcmp(snp_guest_type_name(SNP_GUEST_SEV_ES), "SEV-ES"));
	KEXPECT_EQ(snp_rdmsr_hsave_pa(m, 9, &msr), SNP_EINVAL);
	KEXPECT_EQ(snp_rdmsr_hsave_pa(m, 0, NULL), SNP_EINVAL);
	/* VM_HSAVE_PA never written: 0 at reset, so VMRUN raises #GP(0). */
	KASSERT_EQ(snp_machine_create(&cfg, &nohsave), 0);
	KEXPECT_EQ(snp_rdmsr_hsave_pa(nohsave, 0, &msr), 0);
	KEXPECT_EQ(msr, SNP_HSAVE_UNSET);
	expect_gp(nohsave, &a, SNP_VMRUN_HSAVE_UNSET);
	snp_machine_destroy(nohsave);
	snp_machine_destroy(m);
}

static const struct ktap_case cases[] = {
	KTAP_CASE(row_hsave),
	KTAP_CASE(row_vmcb),
	KTAP_CASE(row_asid_zero),
	KTAP_CASE(row_avic),
	KTAP_CASE(row_vmsa_sev_es),
	KTAP_CASE(row_vmsa_snp),
	KTAP_CASE(row_order),
	KTAP_CASE(inuse_blocks_rmpupdate),
	KTAP_CASE(pml_buffer_marked_per_knob),
	KTAP_CASE(misuse),
};

KTAP_MAIN("vmrun", cases)
