// SPDX-License-Identifier: MIT
/*
 * vmrun.c - VMRUN and #VMEXIT with SNP globally enabled: the page checks of
 * AMD APM Vol. 2 15.36.12 (Table 15-41, snp-facts §5) and the in-use marks
 * a successful VMRUN leaves on the VMCB, VMSA and AVIC backing page (LINUX
 * commit 75253db41a46; LKML-REVIEW).
 *
 * Each CPU remembers its last run (struct snp_run) so that a fault record
 * can name the run whose page is in-use, and so that the marks can be
 * dropped when the run ends.  A page is unmarked only when no run on any
 * CPU still holds it (a vCPU that moved to another CPU keeps its VMCB
 * marked there).
 */
#include "machine.h"

#include <stdio.h>
#include <string.h>

static const unsigned int run_role_bit[SNP_RUN_NR_ROLES] = {
	[SNP_RUN_VMCB] = SNP_ROLE_VMCB,
	[SNP_RUN_VMSA] = SNP_ROLE_VMSA,
	[SNP_RUN_AVIC] = SNP_ROLE_AVIC,
	[SNP_RUN_HSAVE] = SNP_ROLE_HSAVE,
	[SNP_RUN_PML] = SNP_ROLE_PML,
};
static const char *const run_role_name[SNP_RUN_NR_ROLES] = {
	[SNP_RUN_VMCB] = "VMCB",
	[SNP_RUN_VMSA] = "VMSA",
	[SNP_RUN_AVIC] = "AVIC backing page",
	[SNP_RUN_HSAVE] = "host save area",
	[SNP_RUN_PML] = "PML buffer",
};

const char *snp_guest_type_name(enum snp_guest_type t)
{
	switch (t) {
	case SNP_GUEST_SVM:    return "SVM";
	case SNP_GUEST_SEV:    return "SEV";
	case SNP_GUEST_SEV_ES: return "SEV-ES";
	case SNP_GUEST_SNP:    return "SNP";
	}
	return "?";
}

static const char *const vmrun_check_names[SNP_VMRUN_CHECK_NR] = {
	[SNP_VMRUN_CHECK_NONE] = "NONE",
	[SNP_VMRUN_HSAVE_UNSET] = "HSAVE_UNSET",
	[SNP_VMRUN_VMCB_NOT_HV_OWNED] = "VMCB_NOT_HV_OWNED",
	[SNP_VMRUN_VMCB_UNCOVERED] = "VMCB_UNCOVERED",
	[SNP_VMRUN_ASID_ZERO] = "ASID_ZERO",
	[SNP_VMRUN_AVIC_NOT_HV_OWNED] = "AVIC_NOT_HV_OWNED",
	[SNP_VMRUN_AVIC_UNCOVERED] = "AVIC_UNCOVERED",
	[SNP_VMRUN_VMSA_NOT_HV_OWNED] = "VMSA_NOT_HV_OWNED",
	[SNP_VMRUN_VMSA_UNCOVERED] = "VMSA_UNCOVERED",
	[SNP_VMRUN_VMSA_NOT_GUEST_OWNED] = "VMSA_NOT_GUEST_OWNED",
	[SNP_VMRUN_VMSA_REVERSE_MAP] = "VMSA_REVERSE_MAP",
	[SNP_VMRUN_VMSA_IMMUTABLE] = "VMSA_IMMUTABLE",
	[SNP_VMRUN_VMSA_NOT_VMSA] = "VMSA_NOT_VMSA",
};

const char *snp_vmrun_check_name(enum snp_vmrun_check c)
{
	if ((unsigned int)c >= SNP_VMRUN_CHECK_NR)
		return "?";
	return vmrun_check_names[c];
}

/*
 * snp_wrmsr_hsave_pa - WRMSR(VM_HSAVE_PA) on cpu.  With SNP globally enabled
 * the ownership check of the host save area is made here, when the MSR is
 * written: a page that is not Hypervisor-Owned (4K rule; uncovered memory
 * always is) makes the WRMSR raise #GP and the MSR keeps its old value (APM
 * 15.36, snp-facts section 5).  VMRUN does not check the page again; it only
 * raises #GP for an unset (zero) save area (vmrun_check_gp).  Writing 0 unsets
 * the MSR without a check, as Linux's kvm_cpu_svm_disable() does when it
 * turns SVM off (arch/x86/kvm/svm/svm.c).
 */
int snp_wrmsr_hsave_pa(struct snp_machine *m, unsigned int cpu, snp_pfn_t pfn)
{
	if (!snp_machine_cpu_ok(m, cpu))
		return SNP_EINVAL;
	if (!snp_machine_pfn_ok(m, pfn))
		return SNP_ERANGE;
	if (pfn != SNP_HSAVE_UNSET && !snp_rmp_hv_owned_4k(m->rmp, pfn))
		return SNP_EFAULT;
	m->cpu[cpu].hsave = pfn;
	return 0;
}

int snp_rdmsr_hsave_pa(const struct snp_machine *m, unsigned int cpu, snp_pfn_t *pfn)
{
	if (!snp_machine_cpu_ok(m, cpu) || !pfn)
		return SNP_EINVAL;
	*pfn = m->cpu[cpu].hsave;
	return 0;
}

/* ---- in-use bookkeeping -------------------------------------------------------------- */

/* Role index under which run holds pfn marked, or -1. */
static SNP_MUST_CHECK int run_holds_pfn(const struct snp_run *run, snp_pfn_t pfn)
{
	if (!run->holds)
		return -1;
	for (int r = 0; r < SNP_RUN_NR_ROLES; r++)
		if ((run->marked & run_role_bit[r]) && run->pfn[r] == pfn)
			return r;
	return -1;
}

static bool pfn_held_by_other_cpu(const struct snp_machine *m, unsigned int cpu, snp_pfn_t pfn)
{
	for (unsigned int c = 0; c < m->nr_cpus; c++)
		if (c != cpu && run_holds_pfn(&m->cpu[c].run, pfn) >= 0)
			return true;
	return false;
}

/* End cpu's hold on its run's marks; unmark what no other run holds. */
static void run_release(struct snp_machine *m, unsigned int cpu)
{
	struct snp_run *run = &m->cpu[cpu].run;

	if (!run->holds)
		return;
	for (int r = 0; r < SNP_RUN_NR_ROLES; r++) {
		if (!(run->marked & run_role_bit[r]))
			continue;
		/* This run marked the pfn, so it is in memory: the clear cannot fail. */
		if (!pfn_held_by_other_cpu(m, cpu, run->pfn[r]))
			snp_ignore_result(snp_rmp_clear_inuse(m->rmp, run->pfn[r]));
	}
	run->holds = false;
	run->marked = 0;
}

int snp_inuse_holder(const struct snp_machine *m, snp_pfn_t pfn, struct snp_inuse_holder *out)
{
	if (!m || !out)
		return SNP_EINVAL;
	for (unsigned int c = 0; c < m->nr_cpus; c++) {
		const struct snp_run *run = &m->cpu[c].run;
		int r = run_holds_pfn(run, pfn);

		if (r < 0)
			continue;
		*out = (struct snp_inuse_holder){ .cpu = c, .role = run_role_bit[r],
						  .vmcb = run->pfn[SNP_RUN_VMCB],
						  .active = run->active };
		return 1;
	}
	return 0;
}

int snp_inuse_owner(const struct snp_machine *m, snp_pfn_t pfn, char *buf, size_t len)
{
	if (!m || (!buf && len))
		return SNP_EINVAL;
	if (len)
		buf[0] = '\0';
	for (unsigned int c = 0; c < m->nr_cpus; c++) {
		const struct snp_run *run = &m->cpu[c].run;
		int r = run_holds_pfn(run, pfn);

		if (r < 0)
			continue;
		if (len)
			snprintf(buf, len, "%s of the run on CPU %u (%s)%s", run_role_name[r], c,
				 run->label[0] ? run->label : "unlabeled",
				 run->active ? "" : ", exited");
		return 1;
	}
	return 0;
}

/* ---- VMRUN checks ---------------------------------------------------------------------- */

static SNP_MUST_CHECK int vmrun_check_args(const struct snp_machine *m, unsigned int cpu,
			    const struct snp_vmrun_args *a)
{
	bool needs_vmsa;

	if (!snp_machine_cpu_ok(m, cpu) || !a)
		return SNP_EINVAL;
	if ((unsigned int)a->type > SNP_GUEST_SNP || a->asid > SNP_MAX_ASID)
		return SNP_EINVAL;
	needs_vmsa = a->type == SNP_GUEST_SEV_ES || a->type == SNP_GUEST_SNP;
	if (needs_vmsa != (a->vmsa != SNP_NO_PAGE))
		return SNP_EINVAL;
	if (!snp_machine_pfn_ok(m, a->vmcb) ||
	    (a->vmsa != SNP_NO_PAGE && !snp_machine_pfn_ok(m, a->vmsa)) ||
	    (a->avic != SNP_NO_PAGE && !snp_machine_pfn_ok(m, a->avic)) ||
	    (a->pml_enable && !snp_machine_pfn_ok(m, a->pml)))
		return SNP_ERANGE;
	if (m->cpu[cpu].run.active)
		return SNP_EBUSY;
	for (unsigned int c = 0; c < m->nr_cpus; c++)
		if (m->cpu[c].run.active && m->cpu[c].run.pfn[SNP_RUN_VMCB] == a->vmcb)
			return SNP_EBUSY;
	return 0;
}

static bool pfn_covered(const struct snp_machine *m, snp_pfn_t pfn)
{
	return snp_rmp_covered(m->rmp, snp_pfn_to_phys(pfn));
}

/* uncovered_inuse=fail: VMRUN refuses a page it would have to mark but cannot. */
static bool uncovered_fails(const struct snp_machine *m, snp_pfn_t pfn)
{
	return snp_rmp_profile(m->rmp)->uncovered_inuse == SNP_UNCOVERED_FAIL &&
	       !pfn_covered(m, pfn);
}

/*
 * The #GP(0) rows: an unset host save area (its ownership was checked by the
 * WRMSR, snp_wrmsr_hsave_pa), then the VMCB, Hypervisor-Owned by the 4K rule.
 */
static enum snp_vmrun_check vmrun_check_gp(const struct snp_machine *m, unsigned int cpu,
					   const struct snp_vmrun_args *a)
{
	if (m->cpu[cpu].hsave == SNP_HSAVE_UNSET)
		return SNP_VMRUN_HSAVE_UNSET;
	if (uncovered_fails(m, a->vmcb))
		return SNP_VMRUN_VMCB_UNCOVERED;
	if (!snp_rmp_hv_owned_4k(m->rmp, a->vmcb))
		return SNP_VMRUN_VMCB_NOT_HV_OWNED;
	return SNP_VMRUN_CHECK_NONE;
}

/* SNP-active VMSA: Covered, Guest-Owned by the ASID, Reverse-Map, Mutable, VMSA=1. */
static enum snp_vmrun_check vmrun_check_snp_vmsa(const struct snp_machine *m,
						 const struct snp_vmrun_args *a)
{
	struct snp_rmpentry e;

	if (snp_rmp_query(m->rmp, snp_pfn_to_phys(a->vmsa), &e) || !e.covered)
		return SNP_VMRUN_VMSA_UNCOVERED;
	if (!e.assigned || e.asid != a->asid)
		return SNP_VMRUN_VMSA_NOT_GUEST_OWNED;
	if (e.gpa != (a->vmsa_gpa & ~(SNP_PAGE_SIZE - 1)))
		return SNP_VMRUN_VMSA_REVERSE_MAP;
	if (e.immutable)
		return SNP_VMRUN_VMSA_IMMUTABLE;
	if (!e.vmsa)
		return SNP_VMRUN_VMSA_NOT_VMSA;
	return SNP_VMRUN_CHECK_NONE;
}

/* The VMEXIT_INVALID rows: ASID, AVIC backing page, VMSA. */
static enum snp_vmrun_check vmrun_check_invalid(const struct snp_machine *m,
						const struct snp_vmrun_args *a)
{
	if (a->asid == 0)
		return SNP_VMRUN_ASID_ZERO;
	if (a->avic != SNP_NO_PAGE) {
		if (uncovered_fails(m, a->avic))
			return SNP_VMRUN_AVIC_UNCOVERED;
		if (!snp_rmp_hv_owned_4k(m->rmp, a->avic))
			return SNP_VMRUN_AVIC_NOT_HV_OWNED;
	}
	if (a->type == SNP_GUEST_SNP)
		return vmrun_check_snp_vmsa(m, a);
	if (a->type == SNP_GUEST_SEV_ES) {
		if (uncovered_fails(m, a->vmsa))
			return SNP_VMRUN_VMSA_UNCOVERED;
		if (!snp_rmp_hv_owned_4k(m->rmp, a->vmsa))
			return SNP_VMRUN_VMSA_NOT_HV_OWNED;
	}
	return SNP_VMRUN_CHECK_NONE;
}

/* The roles this part's VMRUN marks: vmrun_marks, and the PML buffer per pml_inuse. */
static unsigned int vmrun_roles(const struct snp_profile *p)
{
	return p->vmrun_marks | (p->pml_inuse ? SNP_ROLE_PML : 0);
}

/* A successful VMRUN: record the run and mark its pages per vmrun_marks and pml_inuse. */
static unsigned int vmrun_enter(struct snp_machine *m, unsigned int cpu, const struct snp_vmrun_args *a)
{
	unsigned int roles = vmrun_roles(snp_rmp_profile(m->rmp));
	struct snp_run *run = &m->cpu[cpu].run;

	run_release(m, cpu);  /* a stale run's marks go when another run starts */
	*run = (struct snp_run){ .active = true, .holds = true, .type = a->type, .asid = a->asid };
	run->pfn[SNP_RUN_VMCB] = a->vmcb;
	run->pfn[SNP_RUN_VMSA] = a->vmsa;
	run->pfn[SNP_RUN_AVIC] = a->avic;
	run->pfn[SNP_RUN_HSAVE] = m->cpu[cpu].hsave;   /* checked Hypervisor-Owned at WRMSR */
	run->pfn[SNP_RUN_PML] = a->pml_enable ? a->pml : SNP_NO_PAGE;
	if (a->label)
		snprintf(run->label, sizeof(run->label), "%s", a->label);
	for (int r = 0; r < SNP_RUN_NR_ROLES; r++) {
		/* Uncovered pages have no RMP entry to mark (uncovered_inuse=ignore). */
		if (run->pfn[r] == SNP_NO_PAGE || !(roles & run_role_bit[r]) ||
		    !pfn_covered(m, run->pfn[r]))
			continue;
		/* Range was checked before VMRUN went this far; a page not marked is not counted. */
		if (snp_rmp_mark_inuse(m->rmp, run->pfn[r]))
			continue;
		run->marked |= run_role_bit[r];
	}
	return run->marked;
}

int snp_vmrun(struct snp_machine *m, unsigned int cpu, const struct snp_vmrun_args *args,
	      struct snp_vmrun_result *res)
{
	int ret;

	if (!res)
		return SNP_EINVAL;
	memset(res, 0, sizeof(*res));
	ret = vmrun_check_args(m, cpu, args);
	if (ret)
		return ret;
	res->check = vmrun_check_gp(m, cpu, args);
	if (res->check != SNP_VMRUN_CHECK_NONE) {
		res->exc = (struct snp_exc){ .vector = SNP_EXC_GP, .error_code = 0 };
		return SNP_EFAULT;
	}
	res->check = vmrun_check_invalid(m, args);
	if (res->check != SNP_VMRUN_CHECK_NONE) {
		res->exitcode = SNP_VMEXIT_INVALID_CODE;
		res->outcome = SNP_VMRUN_VMEXIT_INVALID;
		return 0;
	}
	res->marked = vmrun_enter(m, cpu, args);
	res->outcome = SNP_VMRUN_ENTERED;
	return 0;
}

/*
 * snp_vmexit - #VMEXIT clears the in-use marks of the run (APM 15.36.12:
 * RMPUPDATE fails FAIL_INUSE on them until #VMEXIT, which clears them).
 * inuse_cleared_at_vmexit off is a counterfactual that keeps them
 * (docs/MODEL.md).
 */
int snp_vmexit(struct snp_machine *m, unsigned int cpu)
{
	struct snp_run *run;

	if (!snp_machine_cpu_ok(m, cpu))
		return SNP_EINVAL;
	run = &m->cpu[cpu].run;
	if (!run->active)
		return SNP_ENOENT;
	run->active = false;
	if (snp_rmp_profile(m->rmp)->inuse_cleared_at_vmexit)
		run_release(m, cpu);
	return 0;
}

int snp_vmrun_clear_stale(struct snp_machine *m, unsigned int cpu)
{
	if (!snp_machine_cpu_ok(m, cpu))
		return SNP_EINVAL;
	if (m->cpu[cpu].run.active)
		return SNP_EBUSY;
	run_release(m, cpu);
	return 0;
}

int snp_cpu_in_guest(const struct snp_machine *m, unsigned int cpu)
{
	if (!snp_machine_cpu_ok(m, cpu))
		return SNP_EINVAL;
	return m->cpu[cpu].run.active;
}
