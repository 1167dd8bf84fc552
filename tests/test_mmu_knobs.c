// SPDX-License-Identifier: MIT
/*
 * test_mmu_knobs.c - every profile knob of the host MMU / VMRUN model, both
 * settings, with the outcome asserted.  The knobs answer the LKML reviewer's
 * open questions (docs/MODEL.md, "Knobs").
 */
#include "insn_util.h"
#include "mmu_test_util.h"

/*
 * Do reads fault like writes?  The changelog says "accesses"; the default
 * (writes only) is an assumption.  One knob, inuse_reads_fault, covers both
 * read cases: a hugepage read of the 2MB region of an in-use aligned page
 * (the erratum, spurious) and a read of the in-use page itself (the in-use
 * rule, real), here through a 4K leaf so the erratum cannot be what fires.
 */
static void knob_inuse_reads_fault(void)
{
	for (int on = 0; on <= 1; on++) {
		struct snp_machine *m = t_machine("early-snp");
		struct snp_fault_record r;
		struct snp_exc exc;
		snp_pfn_t own = T_NEXT_REGION + 3;   /* unaligned, its region split to 4K */

		t_knob(m, on ? "inuse_reads_fault=1" : "inuse_reads_fault=0");
		KASSERT_EQ(snp_set_memory_4k(m, snp_pfn_to_virt(own), 1), 0);
		KASSERT_EQ(t_run_vmcb(m, 0, T_REGION, "vcpu 0"), SNP_VMRUN_ENTERED);
		KASSERT_EQ(t_run_vmcb(m, 1, own, "vcpu 1"), SNP_VMRUN_ENTERED);
		if (on) {
			/* Hugepage read of the aligned in-use page's region: the erratum. */
			KEXPECT_EQ(snp_host_access(m, 1, snp_pfn_to_virt(T_NEIGHBOUR), false, &exc),
				   SNP_EFAULT);
			KEXPECT_EQ(exc.error_code, SNP_PF_PRESENT | SNP_PF_RMP);
			KASSERT_EQ(snp_fault_last(m, &r), 0);
			KEXPECT_EQ(r.rule, SNP_RULE_ERRATUM_2M_BASE_INUSE);
			KEXPECT(!r.write);
			KEXPECT(r.spurious);
			/* 4K read of the in-use page itself: the in-use rule, a real fault. */
			KEXPECT_EQ(snp_host_access(m, 0, snp_pfn_to_virt(own), false, &exc), SNP_EFAULT);
			KASSERT_EQ(snp_fault_last(m, &r), 0);
			KEXPECT_EQ(r.rule, SNP_RULE_INUSE_READ);
			KEXPECT_EQ(r.size, SNP_MAP_4K);
			KEXPECT(!r.spurious);
			KEXPECT(strstr(r.inuse_owner, "VMCB of the run on CPU 1 (vcpu 1)"));
			KEXPECT_EQ(snp_fault_count(m), 2);
		} else {
			KEXPECT_EQ(t_read(m, 1, T_NEIGHBOUR), 0);
			KEXPECT_EQ(t_read(m, 0, own), 0);
			KEXPECT_EQ(snp_fault_count(m), 0);
			/* The read filled a 2M entry; the first write through it re-checks. */
			KEXPECT_EQ(t_write(m, 1, T_NEIGHBOUR), SNP_EFAULT);
		}
		/* HvInUseWrAllowed parts take reads of the in-use page either way. */
		t_knob(m, "hv_inuse_wr_allowed=1");
		KASSERT_EQ(snp_tlb_flush_all(m, 0), 0);
		KEXPECT_EQ(t_read(m, 0, own), 0);
		snp_machine_destroy(m);
	}
}

/* The TLB entry existed before the page became in-use. */
static void knob_rmp_check_every_access_preexisting_tlb(void)
{
	for (int every = 0; every <= 1; every++) {
		struct snp_machine *m = t_machine("early-snp");

		t_knob(m, every ? "rmp_check_every_access=1" : "rmp_check_every_access=0");
		KEXPECT_EQ(t_write(m, 1, T_NEIGHBOUR), 0);  /* 2M TLB entry on CPU 1 */
		KASSERT_EQ(snp_tlb_lookup(m, 1, snp_pfn_to_virt(T_NEIGHBOUR), NULL), 1);
		KASSERT_EQ(t_run_vmcb(m, 0, T_REGION, "vcpu 0"), SNP_VMRUN_ENTERED);
		if (every) {
			KEXPECT_EQ(t_write(m, 1, T_NEIGHBOUR), SNP_EFAULT);
			KEXPECT_EQ(t_last_rule(m), SNP_RULE_ERRATUM_2M_BASE_INUSE);
		} else {
			/* Hidden by the old entry... */
			KEXPECT_EQ(t_write(m, 1, T_NEIGHBOUR), 0);
			KEXPECT_EQ(snp_fault_count(m), 0);
			/* ...until it is flushed and refilled. */
			KASSERT_EQ(snp_tlb_flush_all(m, 1), 0);
			KEXPECT_EQ(t_write(m, 1, T_NEIGHBOUR), SNP_EFAULT);
		}
		KEXPECT_EQ(snp_fault_count(m), 1);
		snp_machine_destroy(m);
	}
}

/* A non-2MB-aligned in-use page reached through a 2M entry another page filled. */
static void knob_rmp_check_every_access_unaligned_inuse(void)
{
	for (int every = 0; every <= 1; every++) {
		struct snp_machine *m = t_machine("early-snp");
		snp_pfn_t vmcb = T_REGION + 1;

		t_knob(m, every ? "rmp_check_every_access=1" : "rmp_check_every_access=0");
		KASSERT_EQ(t_run_vmcb(m, 0, vmcb, "vcpu 0"), SNP_VMRUN_ENTERED);
		/* The base entry is not in-use: the 2M fill succeeds. */
		KEXPECT_EQ(t_write(m, 1, T_NEIGHBOUR), 0);
		if (every) {
			KEXPECT_EQ(t_write(m, 1, vmcb), SNP_EFAULT);
			KEXPECT_EQ(t_last_rule(m), SNP_RULE_INUSE_WRITE);
		} else {
			/* The hypervisor bypasses the in-use restriction (reviewer's reading). */
			KEXPECT_EQ(t_write(m, 1, vmcb), 0);
			KEXPECT_EQ(snp_fault_count(m), 0);
			/* A fill by the in-use page itself does catch it. */
			KASSERT_EQ(snp_tlb_flush_all(m, 1), 0);
			KEXPECT_EQ(t_write(m, 1, vmcb), SNP_EFAULT);
			KEXPECT_EQ(t_last_rule(m), SNP_RULE_INUSE_WRITE);
		}
		snp_machine_destroy(m);
	}
}

/* Does RMPUPDATE itself count as in-use while it runs?  Interleave two CPUs. */
static void knob_rmpupdate_transient_inuse(void)
{
	for (int transient = 0; transient <= 1; transient++) {
		struct snp_machine *m = t_machine("early-snp");
		struct snp_rmpupdate_in in = { .assigned = false };
		struct snp_rmpupdate_op op = { 0 };
		struct snp_fault_record r;
		char buf[2048];

		t_knob(m, transient ? "rmpupdate_transient_inuse=1" : "rmpupdate_transient_inuse=0");
		/* CPU 0 starts RMPUPDATE of the 2MB-aligned entry (shared -> shared). */
		KASSERT_EQ(t_rmpupdate_begin(snp_machine_rmp(m), SNP_CALLER_HV,
					       snp_pfn_to_phys(T_REGION), &in, &op), 0);
		/* CPU 1 writes another page of the region through the 1G leaf. */
		if (transient) {
			KEXPECT_EQ(t_write(m, 1, T_NEIGHBOUR), SNP_EFAULT);
			KASSERT_EQ(snp_fault_last(m, &r), 0);
			KEXPECT_EQ(r.rule, SNP_RULE_ERRATUM_2M_BASE_INUSE);
			KEXPECT(r.spurious);
			KEXPECT(strstr(r.inuse_owner, "RMPUPDATE in flight"));
			t_log_fault(&r);
			/*
			 * A write to the locked entry's own page: the in-use rule, but
			 * spurious, APM 15.36.10's fault while another logical
			 * processor uses the entry (software retries).
			 */
			KEXPECT_EQ(t_write(m, 1, T_REGION), SNP_EFAULT);
			KASSERT_EQ(snp_fault_last(m, &r), 0);
			KEXPECT_EQ(r.rule, SNP_RULE_INUSE_WRITE);
			KEXPECT(r.spurious);
			KEXPECT(strstr(snp_fault_format(&r, buf, sizeof(buf)), "APM 15.36.10") != NULL);
			t_log_fault(&r);
		} else {
			KEXPECT_EQ(t_write(m, 1, T_NEIGHBOUR), 0);
			KEXPECT_EQ(t_write(m, 1, T_REGION), 0);
		}
		/* A second RMPUPDATE of the same entry fails FAIL_INUSE either way. */
		KEXPECT_EQ(t_rmpupdate(snp_machine_rmp(m), SNP_CALLER_HV,
					 snp_pfn_to_phys(T_REGION), &in), SNP_FAIL_INUSE);
		KASSERT_EQ(t_rmpupdate_commit(snp_machine_rmp(m), &op), 0);
		KASSERT_EQ(snp_tlb_flush_all(m, 1), 0);
		KEXPECT_EQ(t_write(m, 1, T_NEIGHBOUR), 0);
		KEXPECT_EQ(snp_fault_count(m), transient ? 2 : 0);
		KEXPECT_EQ(snp_fault_count_spurious(m), transient ? 2 : 0);
		/* On fixed parts (no erratum) the race never faults. */
		snp_machine_destroy(m);
		m = t_machine("fixed");
		t_knob(m, transient ? "rmpupdate_transient_inuse=1" : "rmpupdate_transient_inuse=0");
		KASSERT_EQ(t_rmpupdate_begin(snp_machine_rmp(m), SNP_CALLER_HV,
					       snp_pfn_to_phys(T_REGION), &in, &op), 0);
		KEXPECT_EQ(t_write(m, 1, T_NEIGHBOUR), 0);
		KASSERT_EQ(t_rmpupdate_commit(snp_machine_rmp(m), &op), 0);
		snp_machine_destroy(m);
	}
}

/* Is in-use cleared at #VMEXIT?  If not, marks last until the next VMRUN or a clear. */
static void knob_inuse_cleared_at_vmexit(void)
{
	for (int cleared = 0; cleared <= 1; cleared++) {
		struct snp_machine *m = t_machine("early-snp");
		struct snp_rmpupdate_in in = { .gpa = 0, .assigned = true, .asid = 1 };
		struct snp_fault_record r;
		int ret;

		t_knob(m, cleared ? "inuse_cleared_at_vmexit=1" : "inuse_cleared_at_vmexit=0");
		KASSERT_EQ(t_run_vmcb(m, 0, T_REGION, "vcpu 0 vmcb01"), SNP_VMRUN_ENTERED);
		KASSERT_EQ(snp_vmexit(m, 0), 0);
		KEXPECT_EQ(snp_cpu_in_guest(m, 0), 0);
		ret = t_write(m, 1, T_NEIGHBOUR);
		if (cleared) {
			KEXPECT_EQ(ret, 0);
			KEXPECT(!snp_rmp_inuse(snp_machine_rmp(m), T_REGION));
		} else {
			KEXPECT_EQ(ret, SNP_EFAULT);
			KASSERT_EQ(snp_fault_last(m, &r), 0);
			KEXPECT(strstr(r.inuse_owner, "VMCB of the run on CPU 0 (vcpu 0 vmcb01), exited"));
			KEXPECT_EQ(t_rmpupdate(snp_machine_rmp(m), SNP_CALLER_HV,
						 snp_pfn_to_phys(T_REGION), &in), SNP_FAIL_INUSE);
			/* The next VMRUN on CPU 0 with another VMCB drops the stale marks. */
			KASSERT_EQ(t_run_vmcb(m, 0, T_REGION + 7, "vcpu 1"), SNP_VMRUN_ENTERED);
			KEXPECT(!snp_rmp_inuse(snp_machine_rmp(m), T_REGION));
			KEXPECT(snp_rmp_inuse(snp_machine_rmp(m), T_REGION + 7));
			KASSERT_EQ(snp_vmexit(m, 0), 0);
			KEXPECT_EQ(snp_vmrun_clear_stale(m, 0), 0);
			KEXPECT(!snp_rmp_inuse(snp_machine_rmp(m), T_REGION + 7));
			KEXPECT_EQ(t_write(m, 1, T_NEIGHBOUR), 0);
		}
		snp_machine_destroy(m);
	}
}

/* Stale marks and a vCPU moving between CPUs: a page is unmarked only when no run holds it. */
static void knob_inuse_cleared_at_vmexit_off_migration(void)
{
	struct snp_machine *m = t_machine("early-snp");
	char owner[128];

	t_knob(m, "inuse_cleared_at_vmexit=0");
	KASSERT_EQ(t_run_vmcb(m, 0, T_REGION, "vcpu 0"), SNP_VMRUN_ENTERED);
	KASSERT_EQ(snp_vmexit(m, 0), 0);
	KASSERT_EQ(t_run_vmcb(m, 1, T_REGION, "vcpu 0 on cpu 1"), SNP_VMRUN_ENTERED);
	KASSERT_EQ(t_run_vmcb(m, 0, T_REGION + 9, "vcpu 1"), SNP_VMRUN_ENTERED);
	KEXPECT(snp_rmp_inuse(snp_machine_rmp(m), T_REGION));
	KEXPECT_EQ(snp_inuse_owner(m, T_REGION, owner, sizeof(owner)), 1);
	KEXPECT(strstr(owner, "CPU 1 (vcpu 0 on cpu 1)"));
	KASSERT_EQ(snp_vmexit(m, 1), 0);
	KEXPECT_EQ(snp_vmrun_clear_stale(m, 1), 0);
	KEXPECT(!snp_rmp_inuse(snp_machine_rmp(m), T_REGION));
	KEXPECT_EQ(snp_vmrun_clear_stale(m, 0), SNP_EBUSY);  /* CPU 0 is in guest mode */
	snp_machine_destroy(m);
}

/* Which roles does VMRUN mark? */
static void knob_vmrun_marks(void)
{
	static const struct { const char *knob; unsigned int roles; } cases[] = {
		{ "vmrun_marks=all", SNP_ROLE_ALL },
		{ "vmrun_marks=vmcb", SNP_ROLE_VMCB },
		{ "vmrun_marks=vmsa,avic", SNP_ROLE_VMSA | SNP_ROLE_AVIC },
		{ "vmrun_marks=none", 0 },
	};
	const snp_pfn_t vmcb = T_REGION, vmsa = T_REGION + 512, avic = T_REGION + 1024;

	for (unsigned int i = 0; i < KTAP_ARRAY_SIZE(cases); i++) {
		struct snp_machine *m = t_machine("early-snp");
		struct snp_vmrun_args a = { .vmcb = vmcb, .vmsa = vmsa, .avic = avic,
					    .type = SNP_GUEST_SEV_ES, .asid = 2, .label = "es" };
		struct snp_vmrun_result res;
		const struct snp_rmp *rmp = snp_machine_rmp(m);

		t_knob(m, cases[i].knob);
		KASSERT_EQ(t_vmrun(m, 0, &a, &res), SNP_VMRUN_ENTERED);
		KEXPECT_EQ(res.marked, cases[i].roles);
		KEXPECT_EQ(snp_rmp_inuse(rmp, vmcb), !!(cases[i].roles & SNP_ROLE_VMCB));
		KEXPECT_EQ(snp_rmp_inuse(rmp, vmsa), !!(cases[i].roles & SNP_ROLE_VMSA));
		KEXPECT_EQ(snp_rmp_inuse(rmp, avic), !!(cases[i].roles & SNP_ROLE_AVIC));
		/* The erratum follows the marks: each page heads its own 2MB region. */
		KEXPECT_EQ(t_write(m, 1, vmcb + 1) == SNP_EFAULT, !!(cases[i].roles & SNP_ROLE_VMCB));
		KEXPECT_EQ(t_write(m, 1, vmsa + 1) == SNP_EFAULT, !!(cases[i].roles & SNP_ROLE_VMSA));
		KEXPECT_EQ(t_write(m, 1, avic + 1) == SNP_EFAULT, !!(cases[i].roles & SNP_ROLE_AVIC));
		KASSERT_EQ(snp_vmexit(m, 0), 0);
		KEXPECT(!snp_rmp_inuse(rmp, vmcb) && !snp_rmp_inuse(rmp, vmsa) &&
			!snp_rmp_inuse(rmp, avic));
		snp_machine_destroy(m);
	}
}

/* Pages the RMP does not cover: ignored (nothing to mark) or refused by VMRUN. */
static void knob_uncovered_inuse(void)
{
	const snp_pfn_t unc = (2 * SNP_GiB >> SNP_PAGE_SHIFT) + 512;  /* 2MB-aligned, uncovered */

	for (int fail = 0; fail <= 1; fail++) {
		struct snp_machine *m = t_machine_full("early-snp", 4 * SNP_GiB, 2 * SNP_GiB,
						       SNP_DMAP_1G);
		struct snp_vmrun_args es = { .vmcb = T_REGION, .vmsa = unc, .avic = SNP_NO_PAGE,
					     .type = SNP_GUEST_SEV_ES, .asid = 3 };
		struct snp_vmrun_args av = { .vmcb = T_REGION, .vmsa = SNP_NO_PAGE, .avic = unc,
					     .type = SNP_GUEST_SVM, .asid = 3 };
		struct snp_vmrun_result res;

		t_knob(m, fail ? "uncovered_inuse=fail" : "uncovered_inuse=ignore");
		if (fail) {
			KEXPECT_EQ(t_run_vmcb(m, 0, unc, "u"), SNP_EFAULT);
			KEXPECT_EQ(t_vmrun(m, 0, &av, &res), SNP_VMRUN_VMEXIT_INVALID);
			KEXPECT_EQ(res.check, SNP_VMRUN_AVIC_UNCOVERED);
			KEXPECT_EQ(t_vmrun(m, 0, &es, &res), SNP_VMRUN_VMEXIT_INVALID);
			KEXPECT_EQ(res.check, SNP_VMRUN_VMSA_UNCOVERED);
			KEXPECT_EQ(res.exitcode, SNP_VMEXIT_INVALID_CODE);
		} else {
			KASSERT_EQ(t_vmrun(m, 0, &es, &res), SNP_VMRUN_ENTERED);
			KEXPECT_EQ(res.marked, SNP_ROLE_VMCB);  /* the VMSA had no entry to mark */
			KEXPECT_EQ(t_write(m, 1, unc + 1), 0);
			KASSERT_EQ(snp_vmexit(m, 0), 0);
			KASSERT_EQ(t_run_vmcb(m, 0, unc, "u"), SNP_VMRUN_ENTERED);
			KEXPECT_EQ(t_write(m, 1, unc + 1), 0);
			KEXPECT_EQ(t_write(m, 1, unc), 0);  /* no in-use mark on it at all */
			KEXPECT_EQ(snp_fault_count(m), 0);
		}
		snp_machine_destroy(m);
	}
}

/* The documented features as knobs, both ways, in either preset. */
static void knob_inuse_erratum_and_wr_allowed(void)
{
	for (int erratum = 0; erratum <= 1; erratum++) {
		for (int allowed = 0; allowed <= 1; allowed++) {
			struct snp_machine *m = t_machine("early-snp");

			t_knob(m, erratum ? "inuse_erratum=1" : "inuse_erratum=0");
			t_knob(m, allowed ? "hv_inuse_wr_allowed=1" : "hv_inuse_wr_allowed=0");
			KASSERT_EQ(t_run_vmcb(m, 0, T_REGION, "v"), SNP_VMRUN_ENTERED);
			/* Neighbour: the erratum alone decides (independent of HvInUseWrAllowed). */
			KEXPECT_EQ(t_write(m, 1, T_NEIGHBOUR) == SNP_EFAULT, erratum);
			/* The aligned in-use page itself through the hugepage (fresh fill). */
			KASSERT_EQ(snp_tlb_flush_all(m, 1), 0);
			KEXPECT_EQ(t_write(m, 1, T_REGION) == SNP_EFAULT, erratum || !allowed);
			if (!allowed)
				KEXPECT_EQ(t_last_rule(m), SNP_RULE_INUSE_WRITE);
			else if (erratum)
				KEXPECT_EQ(t_last_rule(m), SNP_RULE_ERRATUM_2M_BASE_INUSE);
			snp_machine_destroy(m);
		}
	}
}

static const struct ktap_case cases[] = {
	KTAP_CASE(knob_inuse_reads_fault),
	KTAP_CASE(knob_rmp_check_every_access_preexisting_tlb),
	KTAP_CASE(knob_rmp_check_every_access_unaligned_inuse),
	KTAP_CASE(knob_rmpupdate_transient_inuse),
	KTAP_CASE(knob_inuse_cleared_at_vmexit),
	KTAP_CASE(knob_inuse_cleared_at_vmexit_off_migration),
	KTAP_CASE(knob_vmrun_marks),
	KTAP_CASE(knob_uncovered_inuse),
	KTAP_CASE(knob_inuse_erratum_and_wr_allowed),
};

KTAP_MAIN("mmu_knobs", cases)
