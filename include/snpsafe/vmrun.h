/* SPDX-License-Identifier: MIT */
/*
 * snpsafe/vmrun.h - VMRUN and #VMEXIT with SNP globally enabled (AMD APM
 * Vol. 2 15.36.12, Table 15-41), the in-use marks VMRUN leaves, and guest
 * accesses through a per-guest nested page table (APM 15.36.10, Table 15-39).
 *
 * Everything hangs off a struct snp_machine (snpsafe/mmu.h).
 */
#ifndef SNPSAFE_VMRUN_H
#define SNPSAFE_VMRUN_H

#include <snpsafe/mmu.h>

/* "No such page" for the optional VMSA and AVIC backing page of a VMRUN. */
#define SNP_NO_PAGE ((snp_pfn_t)UINT64_MAX)

/* Kind of guest a VMCB runs (selects the VMSA rows of Table 15-41). */
enum snp_guest_type {
	SNP_GUEST_SVM = 0,   /* plain SVM guest */
	SNP_GUEST_SEV,
	SNP_GUEST_SEV_ES,    /* VMSA must be Hypervisor-Owned */
	SNP_GUEST_SNP,       /* SNP-active: VMSA must be a guest VMSA page */
};
const char *snp_guest_type_name(enum snp_guest_type t);

/* ---- Host save area MSR ------------------------------------------------------ */

/* VM_HSAVE_PA of 0: no host save area (the MSR's value at reset). */
#define SNP_HSAVE_UNSET ((snp_pfn_t)0)

/*
 * wrmsr(MSR_VM_HSAVE_PA, pfn << 12) on cpu.  With SNP enabled the page must
 * be Hypervisor-Owned when the MSR is written (APM 15.36; snp-facts section
 * 5): else the WRMSR raises #GP(0), returned as SNP_EFAULT, and the MSR keeps
 * its old value.  pfn SNP_HSAVE_UNSET unsets it.  0, SNP_EFAULT, SNP_EINVAL,
 * SNP_ERANGE.
 */
SNP_MUST_CHECK int snp_wrmsr_hsave_pa(struct snp_machine *m, unsigned int cpu, snp_pfn_t pfn);
/* rdmsr(MSR_VM_HSAVE_PA) >> 12 into *pfn.  0 or SNP_EINVAL. */
SNP_MUST_CHECK int snp_rdmsr_hsave_pa(const struct snp_machine *m, unsigned int cpu, snp_pfn_t *pfn);

/* ---- VMRUN ---------------------------------------------------------------------- */

struct snp_vmrun_args {
	snp_pfn_t vmcb;             /* required */
	snp_pfn_t vmsa;             /* SNP_NO_PAGE unless SEV-ES / SNP (required there) */
	snp_pfn_t avic;             /* AVIC backing page, or SNP_NO_PAGE */
	/*
	 * The PML buffer (VMCB PML_ADDR), used only when pml_enable (VMCB
	 * nested_ctl bit 11; AMD PML series v5, not merged).  VMRUN checks
	 * nothing on it (no public table lists a check); pml_inuse decides
	 * whether it is marked.  A flag, so that zeroed args mean "no PML".
	 */
	bool pml_enable;
	snp_pfn_t pml;
	enum snp_guest_type type;
	uint32_t asid;              /* 1..SNP_MAX_ASID (0 fails VMRUN's consistency check) */
	/*
	 * SNP-active only: the GPA at which the guest made the VMSA page (the
	 * Reverse-Map check compares the VMSA's RMP GPA with it).  On hardware
	 * the VMCB carries the VMSA pointer; the model lets KVM say which GPA
	 * it recorded (at LAUNCH_UPDATE or AP creation).
	 */
	snp_gpa_t vmsa_gpa;
	/* Opaque name for the run, e.g. "vcpu 0 vmcb01", copied; NULL = none. */
	const char *label;
};

/* The VMRUN check (or consistency check) that failed. */
enum snp_vmrun_check {
	SNP_VMRUN_CHECK_NONE = 0,
	SNP_VMRUN_HSAVE_UNSET,          /* #GP(0): VM_HSAVE_PA is 0 (ownership: at WRMSR) */
	SNP_VMRUN_VMCB_NOT_HV_OWNED,    /* #GP(0), 4K check */
	SNP_VMRUN_VMCB_UNCOVERED,       /* #GP(0), uncovered_inuse=fail */
	SNP_VMRUN_ASID_ZERO,            /* VMEXIT_INVALID (consistency check) */
	SNP_VMRUN_AVIC_NOT_HV_OWNED,    /* VMEXIT_INVALID */
	SNP_VMRUN_AVIC_UNCOVERED,       /* VMEXIT_INVALID, uncovered_inuse=fail */
	SNP_VMRUN_VMSA_NOT_HV_OWNED,    /* VMEXIT_INVALID, not SNP-active */
	SNP_VMRUN_VMSA_UNCOVERED,       /* VMEXIT_INVALID: SNP needs Covered; others: knob */
	SNP_VMRUN_VMSA_NOT_GUEST_OWNED, /* VMEXIT_INVALID: Assigned 0 or ASID differs */
	SNP_VMRUN_VMSA_REVERSE_MAP,     /* VMEXIT_INVALID: RMP GPA != vmsa_gpa */
	SNP_VMRUN_VMSA_IMMUTABLE,       /* VMEXIT_INVALID: not Mutable */
	SNP_VMRUN_VMSA_NOT_VMSA,        /* VMEXIT_INVALID: VMSA bit 0 */
	SNP_VMRUN_CHECK_NR,
};
const char *snp_vmrun_check_name(enum snp_vmrun_check c);

/* Exit code VMRUN writes to the VMCB when a check fails (APM: VMEXIT_INVALID = -1). */
#define SNP_VMEXIT_INVALID_CODE UINT64_MAX

/* Architectural outcome of snp_vmrun(), in res->outcome (never the return value). */
enum snp_vmrun_outcome {
	SNP_VMRUN_ENTERED = 0,       /* the guest runs on the CPU */
	SNP_VMRUN_VMEXIT_INVALID = 1,
};

struct snp_vmrun_result {
	enum snp_vmrun_outcome outcome;  /* when snp_vmrun() returns 0 */
	enum snp_vmrun_check check;  /* NONE on success */
	struct snp_exc exc;          /* #GP(0) when the return is SNP_EFAULT */
	uint64_t exitcode;           /* SNP_VMEXIT_INVALID_CODE or 0 */
	unsigned int marked;             /* SNP_ROLE_* pages marked in-use */
};

/*
 * VMRUN on cpu.  Returns 0 when the instruction completed, its outcome in
 * res->outcome: SNP_VMRUN_ENTERED with the pages marked in-use per the
 * vmrun_marks knob (the PML buffer per pml_inuse), or SNP_VMRUN_VMEXIT_INVALID (res->check says which
 * check).  SNP_EFAULT with res->exc = #GP(0) (VM_HSAVE_PA unset, or the VMCB
 * not Hypervisor-Owned); or a negative error for misuse: SNP_EINVAL (NULL,
 * res included, bad cpu, VMSA missing or superfluous for the type),
 * SNP_ERANGE (pfn outside memory), SNP_EBUSY (cpu already in guest mode, or
 * the VMCB is running on another cpu).
 */
SNP_MUST_CHECK int snp_vmrun(struct snp_machine *m, unsigned int cpu, const struct snp_vmrun_args *args,
	      struct snp_vmrun_result *res);

/*
 * #VMEXIT on cpu: leave guest mode.  The run's marks are cleared now, as APM
 * 15.36.12 documents (inuse_cleared_at_vmexit, default on).  The knob's off
 * setting is a counterfactual: the marks stay (a "stale" run) until the next
 * VMRUN on this cpu with another VMCB, or snp_vmrun_clear_stale().
 * 0, SNP_EINVAL, SNP_ENOENT (cpu not in guest mode).
 */
SNP_MUST_CHECK int snp_vmexit(struct snp_machine *m, unsigned int cpu);
/* Drop the marks a past run on cpu left (inuse_cleared_at_vmexit=off).  0 or error. */
SNP_MUST_CHECK int snp_vmrun_clear_stale(struct snp_machine *m, unsigned int cpu);
/* cpu is in guest mode: 1, 0, or a negative error. */
SNP_MUST_CHECK int snp_cpu_in_guest(const struct snp_machine *m, unsigned int cpu);

/*
 * Which run marked pfn in-use: writes "VMCB of the run on CPU 0 (vcpu 0
 * vmcb01)" (with ", exited" for a stale run) into buf and returns 1; 0 if no
 * run holds pfn (buf gets ""); negative on misuse.
 */
SNP_MUST_CHECK int snp_inuse_owner(const struct snp_machine *m, snp_pfn_t pfn, char *buf, size_t len);

/* The same, as data: which CPU's run holds pfn, in which role, with which VMCB. */
struct snp_inuse_holder {
	unsigned int cpu;
	unsigned int role;              /* one SNP_ROLE_* bit */
	snp_pfn_t vmcb;             /* that run's VMCB */
	bool active;                /* the CPU is still in guest mode (else a stale run) */
};
/* 1 and *out filled; 0 if no run holds pfn; SNP_EINVAL on misuse. */
SNP_MUST_CHECK int snp_inuse_holder(const struct snp_machine *m, snp_pfn_t pfn, struct snp_inuse_holder *out);

/* ---- Nested page tables and guest accesses ---------------------------------------- */

struct snp_npt;

/* A guest's nested page table.  snp_active selects the SNP check sequence. */
SNP_MUST_CHECK int snp_npt_create(struct snp_machine *m, uint32_t asid, bool snp_active, struct snp_npt **out);
void snp_npt_destroy(struct snp_npt *npt);

/*
 * Map gpa -> spa with a 4K or 2M leaf (both aligned to the size).  A 2M map
 * over existing 4K leaves, or a 4K map inside a 2M leaf, is SNP_EEXIST.
 * 0, SNP_EINVAL, SNP_ERANGE, SNP_EEXIST, SNP_ENOMEM.
 */
SNP_MUST_CHECK int snp_npt_map(struct snp_npt *npt, snp_gpa_t gpa, snp_spa_t spa, enum snp_map_size size,
		bool writable);
/* Remove the leaf that maps gpa.  0 or SNP_ENOENT. */
SNP_MUST_CHECK int snp_npt_unmap(struct snp_npt *npt, snp_gpa_t gpa);
/* Translate: 0 with *spa and *size, SNP_ENOENT if not mapped. */
SNP_MUST_CHECK int snp_npt_translate(const struct snp_npt *npt, snp_gpa_t gpa, snp_spa_t *spa,
		      enum snp_map_size *size, bool *writable);

/* A guest access: at VMPL vmpl, C-bit c_bit, write or read, or an instruction fetch. */
enum snp_guest_access_kind { SNP_GUEST_READ, SNP_GUEST_WRITE, SNP_GUEST_FETCH };

/*
 * Guest access by cpu (which need not be in guest mode: the model does not
 * tie guest accesses to VMRUN) to gpa.  SNP-active guests: the check
 * sequence of APM Table 15-39 (snp-facts §3).  Returns 0, or SNP_EFAULT with
 * *exc = #NPF (EXITINFO1 in error_code) or #VC (0x404), and a fault record.
 */
SNP_MUST_CHECK int snp_guest_access(struct snp_machine *m, struct snp_npt *npt, unsigned int cpu, unsigned int vmpl,
		     snp_gpa_t gpa, bool c_bit, enum snp_guest_access_kind kind,
		     struct snp_exc *exc);

/*
 * PVALIDATE by the guest at gpa (its VMPL0): nested translation, then
 * snp_pvalidate().  Returns as snp_pvalidate (the code in *code); a missing
 * nested translation is #NPF.
 */
SNP_MUST_CHECK int snp_guest_pvalidate(struct snp_machine *m, struct snp_npt *npt, snp_gpa_t gpa,
				       bool size_2m, bool validate, bool *unchanged,
				       struct snp_exc *exc, int *code);

/* #NPF EXITINFO1 low bits (APM 15.25.6; LINUX PFERR_*). */
#define SNP_NPF_PRESENT     (1ULL << 0)
#define SNP_NPF_WRITE       (1ULL << 1)
#define SNP_NPF_USER        (1ULL << 2)
#define SNP_NPF_FETCH       (1ULL << 4)
#define SNP_NPF_GUEST_FINAL (1ULL << 32)

#endif
