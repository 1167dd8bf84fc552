/* SPDX-License-Identifier: MIT */
/*
 * snpsafe/profile.h - what kind of SNP part is modeled.
 *
 * A profile holds the documented features of a part (the in-use erratum,
 * HvInUseWrAllowed) and one named knob for every behaviour the public sources
 * leave open (UNCONFIRMED in shared/reference/snp-facts.md, or a question the
 * LKML reviewer asked).  Every knob has a documented default, listed with its
 * reasoning in docs/MODEL.md; tests run both settings of each.
 *
 * Three presets (docs/MODEL.md "Parts"):
 *  - "early-snp": erratum present (AMD erratum #1467 per edk2 UefiCpuPkg
 *    MpInitLib AmdSev.c), no HvInUseWrAllowed;
 *  - "hv-inuse-wr": HvInUseWrAllowed set (in-use writes allowed, so KVM keeps
 *    AVIC on); whether the erratum is gone too is the knob
 *    hv_inuse_wr_fixes_erratum, default on as AMD's Aug 2025 RFC claims
 *    ("making the 2MB alignment workaround unnecessary"; not merged);
 *  - "fixed": no erratum, HvInUseWrAllowed.
 * Apart from that knob, every preset has the same knob defaults.
 */
#ifndef SNPSAFE_PROFILE_H
#define SNPSAFE_PROFILE_H

#include <snpsafe/common.h>

/* Page roles VMRUN can mark in-use (a bit mask in snp_profile.vmrun_marks). */
enum snp_page_role {
	SNP_ROLE_VMCB = 1u << 0,
	SNP_ROLE_VMSA = 1u << 1,
	SNP_ROLE_AVIC = 1u << 2,
	SNP_ROLE_ALL  = SNP_ROLE_VMCB | SNP_ROLE_VMSA | SNP_ROLE_AVIC,
	/*
	 * Not in the default: no source says VMRUN marks the host save area
	 * (VM_HSAVE_PA), though upstream allocates it SNP-safe too.  The bit
	 * lets an experiment ask what happens if it does.
	 */
	SNP_ROLE_HSAVE = 1u << 3,
	/*
	 * The PML buffer of the AMD PML series (v5, 2026-01-05, not merged):
	 * the VMCB's PML_ADDR, enabled by nested_ctl bit 11.  Whether VMRUN
	 * marks it is the knob pml_inuse, not a vmrun_marks role: no APM table
	 * lists it (docs/MODEL.md "Kernels").
	 */
	SNP_ROLE_PML = 1u << 4,
};

/* RMPUPDATE overlap precondition (snp-facts §4: UNCONFIRMED). */
enum snp_overlap_rule {
	/*
	 * Default.  A 4K update of any page inside a 2M-assigned range fails
	 * FAIL_OVERLAP (PSMASH first, as KVM does), and a 2M assignment fails
	 * FAIL_OVERLAP while any 4K entry of the region is assigned.
	 */
	SNP_OVERLAP_STRICT = 0,
	/*
	 * Alternative: a 4K update that only makes a page of a 2M-assigned
	 * range hypervisor-owned is allowed (the hardware would smash
	 * implicitly); everything else as STRICT.
	 */
	SNP_OVERLAP_ALLOW_4K_SHARED = 1,
};

/* Meaning of RMPREAD's 2MB-region-status bit (snp-facts §2: UNCONFIRMED). */
enum snp_rmpread_2m_status {
	SNP_RMPREAD_2M_ANY_ASSIGNED = 0, /* default: some 4K page of the region is assigned */
	SNP_RMPREAD_2M_IS_2M_ENTRY  = 1, /* the region is covered by one 2M entry */
};

/* What VMRUN does with an in-use mark on memory the RMP does not cover. */
enum snp_uncovered_inuse {
	/* Default: nothing to mark, nothing checked; VMRUN succeeds. */
	SNP_UNCOVERED_IGNORE = 0,
	/* Alternative: VMRUN refuses such a page (#GP(0) for VMCB, else VMEXIT_INVALID). */
	SNP_UNCOVERED_FAIL = 1,
};

struct snp_profile {
	const char *name;

	/* Documented features. */
	bool inuse_erratum;          /* early SNP parts: hugepage access to a 2MB region
				      * whose base entry is in-use faults (LINUX 75253db41a46) */
	bool hv_inuse_wr_allowed;    /* CPUID Fn8000_001F EAX[30] */
	/*
	 * Does HvInUseWrAllowed also remove the erratum?  UNCONFIRMED: AMD's
	 * RFC (Aug 2025, "KVM: SEV: Skip SNP-safe allocation when
	 * HvInUseWrAllowed is supported") says yes; no merged code relies on it,
	 * and AMD said in 2024 that the 2MB-aligned issue is "another issue".
	 * On (the RFC) in "hv-inuse-wr"; off in "early-snp" and "fixed", where
	 * it leaves inuse_erratum meaning exactly what it says.  Read the
	 * erratum through snp_profile_erratum(), never inuse_erratum alone.
	 */
	bool hv_inuse_wr_fixes_erratum;

	/* Knobs for UNCONFIRMED behaviour (snp-facts). */
	enum snp_overlap_rule rmpupdate_overlap;
	enum snp_rmpread_2m_status rmpread_2m_status;
	/*
	 * Default true, the documented behaviour: #VMEXIT clears VMRUN's marks
	 * (APM 15.36.12).  false is a counterfactual (marks outlive the run),
	 * kept to show what the window would be if a part did not clear them.
	 */
	bool inuse_cleared_at_vmexit;

	/* Knobs for the reviewer's open questions (LKML-REVIEW). */
	unsigned int vmrun_marks;           /* SNP_ROLE_* marked in-use by VMRUN; default all */
	/*
	 * Do reads fault like writes?  One knob for both read cases: a read of
	 * the in-use page itself (the in-use rule) and a hugepage read of its
	 * 2MB region (the erratum).  The changelog (LINUX 75253db41a46) says
	 * "accesses"; the default false (only writes fault) is an ASSUMPTION,
	 * the narrower reading, not a documented fact (snp-facts section 3).
	 * Once named erratum_on_reads, a name --knob now refuses, naming this one.
	 */
	bool inuse_reads_fault;
	/*
	 * Does VMRUN mark the PML buffer (VMCB PML_ADDR, PML enabled) in-use?
	 * UNDOCUMENTED.  Default true: the AMD-authored PML series (v4
	 * 2025-10-13, v5 2026-01-05) allocates it with snp_safe_alloc_page()
	 * and names it in that function's comment among the pages whose 2MB-
	 * aligned RMP entry the erratum hits ("VMCB, VMSA, PML or AVIC backing
	 * page"); its author ties the choice to HvInUseWrAllowed.  false: the
	 * APM's VMRUN table (15-41), which lists no PML page.
	 */
	bool pml_inuse;
	bool rmp_check_every_access;    /* default false: RMP checked at TLB fill only */
	/*
	 * Default false: another CPU's RMPUPDATE in flight on an entry does not
	 * make accesses checked against it fault.  true: it does, as the
	 * spurious "another logical processor is using the RMP entry" fault of
	 * APM 15.36.10 (software retries); the fault is recorded as spurious.
	 */
	bool rmpupdate_transient_inuse;
	enum snp_uncovered_inuse uncovered_inuse;
};

/* The presets.  Returns NULL for an unknown name. */
const struct snp_profile *snp_profile_by_name(const char *name);
extern const struct snp_profile snp_profile_early_snp;
extern const struct snp_profile snp_profile_hv_inuse_wr;
extern const struct snp_profile snp_profile_fixed;

/* Names of the presets, NULL-terminated, for usage text and tests. */
extern const char *const snp_profile_preset_names[];

/**
 * snp_profile_erratum() - does this part take the 2MB in-use erratum?
 * @p: the profile
 *
 * inuse_erratum, unless the part has HvInUseWrAllowed and the knob
 * hv_inuse_wr_fixes_erratum says that bit removes the erratum too.
 */
static inline bool snp_profile_erratum(const struct snp_profile *p)
{
	return p->inuse_erratum && !(p->hv_inuse_wr_allowed && p->hv_inuse_wr_fixes_erratum);
}

/*
 * Set one knob from "name=value" text (e.g. "inuse_reads_fault=1",
 * "vmrun_marks=vmcb,avic").  Returns 0 or SNP_EINVAL for an unknown knob or
 * value.  Used by the command line and by tests that sweep both settings.
 */
SNP_MUST_CHECK int snp_profile_set_knob(struct snp_profile *p, const char *assignment);

/* How a knob's value is stored in struct snp_profile and spelled as text. */
enum snp_knob_kind {
	SNP_KNOB_BOOL,    /* a bool: on or off (1/0, true/false, yes/no are read too) */
	SNP_KNOB_ENUM,    /* an enum: one of its choices, or that choice's index */
	SNP_KNOB_ROLES,   /* an SNP_ROLE_* mask: a comma list of its choices, all or none */
};

/**
 * struct snp_knob - one knob of struct snp_profile as the command line sees it
 * @name:    what --knob takes and what every output prints
 * @old_name: a name the knob once had, or NULL: nothing reads it as the knob
 *           (a run is repeated from the names it prints, never this one);
 *           --knob refuses it with a line naming the knob it became
 * @summary: the question the knob answers, one line of --help
 * @kind:    how the value is stored and spelled
 * @offset:  offsetof() its field in struct snp_profile
 * @choices: the value names, NULL-terminated: indexed by the value for
 *           SNP_KNOB_BOOL and SNP_KNOB_ENUM, by the bit for SNP_KNOB_ROLES
 *
 * snp_knobs[] is the one list of knobs: --knob sets a field only through
 * its entry, and the text header, JSON "knobs" and --help's values and
 * defaults are all generated from it with snp_knob_get().  A knob is then
 * either in every place or in none: it cannot be settable and missing from
 * the printed configuration, which is what lets a run be repeated from what
 * it printed.  The defaults are not copied here: they are the presets'
 * own values, read through the same getter.
 */
struct snp_knob {
	const char *name;
	const char *old_name;
	const char *summary;
	enum snp_knob_kind kind;
	size_t offset;
	const char *const *choices;
};

/* Every knob, in the order docs/MODEL.md lists them; ends with a NULL name. */
extern const struct snp_knob snp_knobs[];

#define snp_for_each_knob(k) for ((k) = snp_knobs; (k)->name; (k)++)

/* Room for any knob's value as text (the longest: "vmcb,vmsa,avic,hsave"). */
#define SNP_KNOB_TEXT_MAX 64

/* The knob named name; NULL for an unknown name (an old name too). */
const struct snp_knob *snp_knob_find(const char *name);
/* The knob once named old_name, for an error that names it; NULL for none. */
const struct snp_knob *snp_knob_find_renamed(const char *old_name);

/**
 * snp_knob_set() - set a knob of a profile from its value as text
 * @p:     the profile
 * @k:     the knob (an entry of snp_knobs[])
 * @value: "on", "strict", "vmcb,avic", ... (what snp_knob_get() prints, or a synonym)
 *
 * Return: 0, or SNP_EINVAL for a value the knob does not take (p unchanged).
 */
SNP_MUST_CHECK int snp_knob_set(struct snp_profile *p, const struct snp_knob *k, const char *value);

/**
 * snp_knob_get() - a knob's value in a profile, as the text snp_knob_set() reads
 * @p:   the profile
 * @k:   the knob (an entry of snp_knobs[])
 * @buf: where the text goes, SNP_KNOB_TEXT_MAX bytes are always enough
 * @len: its size
 *
 * It cannot fail for an entry of the table: every value a profile holds has
 * a spelling, so a printed configuration never has a gap or a placeholder.
 *
 * Return: buf.
 */
const char *snp_knob_get(const struct snp_profile *p, const struct snp_knob *k,
			 char *buf, size_t len);

/* The values a knob takes, as one line for help and errors, in buf; returns buf. */
const char *snp_knob_values(const struct snp_knob *k, char *buf, size_t len);

#endif
