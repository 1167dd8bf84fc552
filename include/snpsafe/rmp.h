/* SPDX-License-Identifier: MIT */
/*
 * snpsafe/rmp.h - the modeled Reverse Map Table and the SNP instructions that
 * read and change it (AMD APM Vol. 2, 15.36 "Secure Nested Paging").
 *
 * One entry per 4K page of modeled system physical memory.  Storage grows
 * with the 2MB regions software touches, not with the modeled size, so a
 * 1 TiB host costs a few MiB until it is used (docs/MODEL.md, "Storage").
 *
 * Each instruction returns 0 when it ran and writes its architectural code
 * (snp-facts §4: SNP_RMP_SUCCESS, FAIL_INUSE, ...) to *code, which must not
 * be NULL.  Where the real instruction raises an exception instead
 * (PVALIDATE's #NPF, a #GP), the function returns SNP_EFAULT and describes
 * the exception in *exc.  Misuse of the library itself (NULL handle) returns a
 * negative SNP_E* code; *code is then left as it was.
 */
#ifndef SNPSAFE_RMP_H
#define SNPSAFE_RMP_H

#include <snpsafe/common.h>
#include <snpsafe/profile.h>

struct snp_rmp;

struct snp_rmp_config {
	uint64_t mem_bytes;          /* modeled memory; 0 = 16 GiB; a multiple of 2MB */
	uint64_t rmp_covered_bytes;  /* RMP covers [0, this); 0 = all memory */
	const struct snp_profile *profile; /* NULL = early-snp; copied at create */
};

/* Upper bound of modeled memory: 4 TiB (1 TiB is the supported target). */
#define SNP_RMP_MAX_MEM (4 * SNP_TiB)

SNP_MUST_CHECK int snp_rmp_create(const struct snp_rmp_config *cfg, struct snp_rmp **out);
void snp_rmp_destroy(struct snp_rmp *rmp);

uint64_t snp_rmp_mem_bytes(const struct snp_rmp *rmp);
uint64_t snp_rmp_covered_bytes(const struct snp_rmp *rmp);
bool snp_rmp_covered(const struct snp_rmp *rmp, snp_spa_t spa);
const struct snp_profile *snp_rmp_profile(const struct snp_rmp *rmp);
/* Writable profile, for tests and experiments that flip a knob on a live model. */
struct snp_profile *snp_rmp_profile_mut(struct snp_rmp *rmp);
/* Bytes of host memory the table's storage takes now (index + touched regions). */
size_t snp_rmp_storage_bytes(const struct snp_rmp *rmp);
/*
 * The same, ahead of creating a table: mem_bytes of memory of which
 * touched_bytes' worth of 2MB regions get entries (for sizing a run).
 */
uint64_t snp_rmp_storage_bytes_for(uint64_t mem_bytes, uint64_t touched_bytes);

/* Architectural return codes (APM 15.36; snp-facts §4). */
enum snp_rmp_ret {
	SNP_RMP_SUCCESS         = 0,
	SNP_FAIL_INPUT          = 1,
	SNP_FAIL_PERMISSION     = 2,
	SNP_FAIL_INUSE          = 3,
	SNP_FAIL_OVERLAP        = 4,   /* RMPUPDATE's meaning of 4 */
	/*
	 * PSMASH's meaning of 4: the entry is not a 2M assigned entry (APM
	 * 15.36.11; the AMD-authored SNP host patches number PSMASH's
	 * FAIL_BADADDR 4, snp-facts section 4).  Same number as FAIL_OVERLAP:
	 * the codes are per instruction.
	 */
	SNP_FAIL_BADADDR        = 4,
	SNP_FAIL_SIZEMISMATCH   = 6,
	SNP_PVALIDATE_NOUPDATE  = 255, /* Linux's name for PVALIDATE with carry set */
};
/* Name of a return code of RMPUPDATE, PVALIDATE, RMPADJUST or RMPREAD (4 = FAIL_OVERLAP). */
const char *snp_rmp_ret_name(int ret);
/* Name of a PSMASH return code (4 = FAIL_BADADDR). */
const char *snp_psmash_ret_name(int ret);

/* Exceptions an instruction or access can raise instead of returning a code. */
enum snp_exc_vector {
	SNP_EXC_NONE = 0,
	SNP_EXC_GP,   /* #GP(0) */
	SNP_EXC_PF,   /* host #PF; error code bit 31 = RMP violation */
	SNP_EXC_NPF,  /* nested page fault; EXITINFO1 bits below */
	SNP_EXC_VC,   /* #VC; error code 0x404 for an unvalidated page */
};
struct snp_exc {
	enum snp_exc_vector vector;
	uint64_t error_code;
};
#define SNP_PF_RMP          (1ULL << 31)  /* #PF error code: RMP violation */
#define SNP_PF_WRITE        (1ULL << 1)
#define SNP_NPF_RMP         (1ULL << 31)  /* #NPF EXITINFO1 bits (LINUX PFERR_GUEST_*) */
#define SNP_NPF_ENC         (1ULL << 34)
#define SNP_NPF_SIZEM       (1ULL << 35)
#define SNP_NPF_VMPL        (1ULL << 36)
#define SNP_NPF_SSS         (1ULL << 37)
#define SNP_VC_NOT_VALIDATED 0x404ULL
const char *snp_exc_name(enum snp_exc_vector v);

/* Who executes an instruction: the hypervisor, or a guest at some VMPL. */
struct snp_caller {
	bool guest;
	uint32_t asid;   /* guest's ASID (ignored for the hypervisor) */
	unsigned int vmpl;   /* 0..3 */
};
#define SNP_CALLER_HV ((struct snp_caller){ .guest = false, .asid = 0, .vmpl = 0 })
#define SNP_CALLER_GUEST(a, v) ((struct snp_caller){ .guest = true, .asid = (a), .vmpl = (v) })

/* VMPL permission mask bits (APM Table 15-36). */
enum {
	SNP_PERM_READ       = 1u << 0,
	SNP_PERM_WRITE      = 1u << 1,
	SNP_PERM_EXEC_USER  = 1u << 2,
	SNP_PERM_EXEC_SUPER = 1u << 3,
	SNP_PERM_ALL        = 0xfu,
};

/* Largest ASID the model accepts (Zen3 RMP layout: 10 bits, snp-facts §2). */
#define SNP_MAX_ASID 1023u

/*
 * The model's whole view of one entry.  in_use and locked are
 * microarchitectural: they are not among RMPREAD's fields (the reviewer asked
 * whether software can see in-use; no public source says it can; see
 * docs/MODEL.md).  The model shows them because its users need to.
 */
struct snp_rmpentry {
	bool covered;
	bool assigned;
	bool pagesize_2m;
	bool immutable;
	bool validated;
	bool vmsa;
	uint32_t asid;
	snp_gpa_t gpa;
	uint8_t vmpl_perms[4];
	bool in_use;      /* marked by VMRUN (microarchitectural) */
	bool locked;      /* an RMPUPDATE is in flight on it (microarchitectural) */
};

/* Read an entry (model view, no architectural side effect). 0 or SNP_ERANGE/SNP_EINVAL. */
SNP_MUST_CHECK int snp_rmp_query(const struct snp_rmp *rmp, snp_spa_t spa, struct snp_rmpentry *out);

/* Page states as AMD's firmware names them (snp-facts §2). */
enum snp_page_state {
	SNP_PS_HYPERVISOR, SNP_PS_HV_FIXED, SNP_PS_FIRMWARE, SNP_PS_CONTEXT,
	SNP_PS_RECLAIM, SNP_PS_PRE_GUEST, SNP_PS_PRE_SWAP, SNP_PS_GUEST_INVALID,
	SNP_PS_GUEST_VALID, SNP_PS_UNNAMED, /* a field combination the table does not name */
};
enum snp_page_state snp_page_state(const struct snp_rmpentry *e);
const char *snp_page_state_name(enum snp_page_state s);

/* Format an entry like the kernel's dump_rmpentry, into buf; returns buf. */
char *snp_rmpentry_format(snp_spa_t spa, const struct snp_rmpentry *e, char *buf, size_t len);

/* ---- RMPUPDATE (hypervisor only) ------------------------------------- */

struct snp_rmpupdate_in {
	snp_gpa_t gpa;
	bool assigned;
	bool pagesize_2m;
	bool immutable;
	uint32_t asid;
};

/*
 * RMPUPDATE: *code gets SNP_RMP_SUCCESS, FAIL_INPUT, FAIL_PERMISSION,
 * FAIL_INUSE or FAIL_OVERLAP.  Clears Validated; an assigned entry gets every permission
 * for VMPL0 and none for VMPL1-3.
 */
SNP_MUST_CHECK int snp_rmpupdate(struct snp_rmp *rmp, struct snp_caller who, snp_spa_t spa,
				 const struct snp_rmpupdate_in *in, int *code);

/*
 * The same instruction cut in two, so a test can run another CPU's access
 * between the start of an RMPUPDATE and its end.  begin checks everything
 * and locks the entry (and, with the profile knob rmpupdate_transient_inuse,
 * makes the lock count as in-use); commit applies it and unlocks.
 */
struct snp_rmpupdate_op {
	snp_spa_t spa;
	struct snp_rmpupdate_in in;
	bool active;
};
SNP_MUST_CHECK int snp_rmpupdate_begin(struct snp_rmp *rmp, struct snp_caller who, snp_spa_t spa,
				       const struct snp_rmpupdate_in *in,
				       struct snp_rmpupdate_op *op, int *code);
SNP_MUST_CHECK int snp_rmpupdate_commit(struct snp_rmp *rmp, struct snp_rmpupdate_op *op,
					int *code);

/* ---- PSMASH (hypervisor only) ------------------------------------------ */

/* Split the 2M entry at 2MB-aligned spa into 512 4K entries (GPAs contiguous,
 * Validated and the other fields kept).  0, FAIL_INPUT, FAIL_PERMISSION,
 * FAIL_INUSE or FAIL_BADADDR. */
SNP_MUST_CHECK int snp_psmash(struct snp_rmp *rmp, struct snp_caller who, snp_spa_t spa,
			      int *code);

/* ---- PVALIDATE (guest, VMPL0) --------------------------------------------- */

/*
 * PVALIDATE of the page at spa, which the guest reaches at gpa (the nested
 * translation is the caller's business: see snpsafe/mmu.h).  Returns 0,
 * FAIL_INPUT or FAIL_SIZEMISMATCH, with *unchanged set when Validated already
 * had the requested value (the carry flag).  A 4K request on a 2M entry, a
 * page not owned by the caller or not mapped at gpa raises #NPF; a caller
 * that is not a guest at VMPL0 raises #GP: SNP_EFAULT and *exc.
 */
SNP_MUST_CHECK int snp_pvalidate(struct snp_rmp *rmp, struct snp_caller who, snp_spa_t spa,
				 snp_gpa_t gpa, bool size_2m, bool validate, bool *unchanged,
				 struct snp_exc *exc, int *code);

/* ---- RMPADJUST (guest) ----------------------------------------------------- */

/*
 * Set target_vmpl's permission mask (and, from VMPL0 only, the VMSA bit) on
 * the caller's page.  target_vmpl must be numerically greater than the
 * caller's, perms no more than the caller holds.  0, FAIL_INPUT,
 * FAIL_PERMISSION, FAIL_SIZEMISMATCH (2M request on 4K entries); #NPF as
 * PVALIDATE for foreign pages, and #NPF with SIZEM for a 4K request on a 2M
 * entry (APM Table 15-40), both as SNP_EFAULT with *exc.
 */
SNP_MUST_CHECK int snp_rmpadjust(struct snp_rmp *rmp, struct snp_caller who, snp_spa_t spa,
				 snp_gpa_t gpa, bool size_2m, unsigned int target_vmpl,
				 uint8_t perms, bool vmsa, struct snp_exc *exc, int *code);

/* ---- RMPREAD (Zen5+) ---------------------------------------------------------- */

struct snp_rmpread_out {
	snp_gpa_t gpa;
	bool assigned;
	bool pagesize_2m;
	bool region_2m_status;  /* meaning: profile knob rmpread_2m_status */
	bool immutable;
	uint32_t asid;
};
SNP_MUST_CHECK int snp_rmpread(const struct snp_rmp *rmp, snp_spa_t spa,
			       struct snp_rmpread_out *out, int *code);

/* ---- Firmware (AMD-SP) page steps a hypervisor relies on ------------------------ */

/* Hypervisor -> Firmware (SNP firmware takes the page). */
SNP_MUST_CHECK int snp_fw_page_make_firmware(struct snp_rmp *rmp, snp_spa_t spa);
/* Hypervisor -> Context (a guest context page). */
SNP_MUST_CHECK int snp_fw_page_make_context(struct snp_rmp *rmp, snp_spa_t spa);
/* Firmware | Context | Pre-Guest | Pre-Swap -> Reclaim. */
SNP_MUST_CHECK int snp_fw_page_reclaim(struct snp_rmp *rmp, snp_spa_t spa);
/* SNP_LAUNCH_UPDATE: Guest-Invalid page of asid at gpa -> Pre-Guest (vmsa: a VMSA page). */
SNP_MUST_CHECK int snp_fw_launch_update(struct snp_rmp *rmp, snp_spa_t spa, uint32_t asid, snp_gpa_t gpa,
			 bool vmsa);
/* SNP_LAUNCH_FINISH: every Pre-Guest page of asid -> Guest-Valid. Returns pages moved. */
SNP_MUST_CHECK long snp_fw_launch_finish(struct snp_rmp *rmp, uint32_t asid);
/*
 * Firmware-only state changes (HV_Fixed, Pre-Swap) that no instruction reaches.
 * spa must be Hypervisor (to HV_Fixed) or Guest-Valid (to Pre-Swap).
 */
SNP_MUST_CHECK int snp_fw_page_make_hv_fixed(struct snp_rmp *rmp, snp_spa_t spa);
SNP_MUST_CHECK int snp_fw_page_swap_out(struct snp_rmp *rmp, snp_spa_t spa);

/* ---- Microarchitectural in-use marks and the checks the MMU model uses ------------ */

/* VMRUN's mark (and #VMEXIT's clear).  SNP_ERANGE outside memory; no-op if uncovered. */
SNP_MUST_CHECK int snp_rmp_mark_inuse(struct snp_rmp *rmp, snp_pfn_t pfn);
SNP_MUST_CHECK int snp_rmp_clear_inuse(struct snp_rmp *rmp, snp_pfn_t pfn);

/* Hypervisor-Owned for a 4K access: Assigned 0 (uncovered memory always). */
bool snp_rmp_hv_owned_4k(const struct snp_rmp *rmp, snp_pfn_t pfn);
/* Hypervisor-Owned for a 2M access: all 512 entries of pfn's 2MB region Assigned 0. O(1). */
bool snp_rmp_hv_owned_2m(const struct snp_rmp *rmp, snp_pfn_t pfn);
/* The 4K entry of pfn is in-use (VMRUN mark, or in-flight RMPUPDATE with the knob). */
bool snp_rmp_inuse(const struct snp_rmp *rmp, snp_pfn_t pfn);
/* Per-2MB summary: assigned and in-use 4K entries of pfn's 2MB region. O(1). */
unsigned int snp_rmp_2m_nr_assigned(const struct snp_rmp *rmp, snp_pfn_t pfn);
unsigned int snp_rmp_2m_nr_inuse(const struct snp_rmp *rmp, snp_pfn_t pfn);

#endif
