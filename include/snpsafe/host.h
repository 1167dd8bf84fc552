/* SPDX-License-Identifier: MIT */
/*
 * snpsafe/host.h - is this machine exposed to the SNP in-use erratum?
 *
 * Reads facts about a real host (CPUID, MSRs, the running kernel) without
 * changing anything, and decides whether its kernel can hand KVM a
 * 2MB-aligned VMCB/VMSA/AVIC page on SNP hardware with no workaround
 * (snp-facts §1, §7).  Facts come either from the live machine or from a
 * fixture folder (--root DIR) laid out as docs/HOST.md describes, so the
 * same code runs on test hosts.  Nothing is ever written; a root-only file
 * that cannot be read is a fact whose state is HOST_NEEDS_ROOT, not an error.
 */
#ifndef SNPSAFE_HOST_H
#define SNPSAFE_HOST_H

#include <snpsafe/common.h>

/* CPUID Fn8000_001F EAX bits (APM Vol. 3, Appendix E.4.17; Linux cpufeatures.h word 19). */
#define HOST_FN1F_SME               0
#define HOST_FN1F_SEV               1
#define HOST_FN1F_SEV_ES            3
#define HOST_FN1F_SEV_SNP           4
#define HOST_FN1F_VMPL              5
#define HOST_FN1F_HV_INUSE_WR_ALLOWED 30

/* MSRs (Linux arch/x86/include/asm/msr-index.h; APM Vol. 2 §15.36). */
#define HOST_MSR_SYSCFG             0xc0010010u
#define HOST_SYSCFG_MEM_ENCRYPT_BIT 23   /* MSR_AMD64_SYSCFG_MEM_ENCRYPT_BIT (SMEE) */
#define HOST_SYSCFG_SNP_EN_BIT      24   /* MSR_AMD64_SYSCFG_SNP_EN_BIT */
#define HOST_MSR_RMP_BASE           0xc0010132u
#define HOST_MSR_RMP_END            0xc0010133u

/* How a fact was obtained. */
enum host_state {
	HOST_OK = 0,         /* read */
	HOST_ABSENT,         /* the file, device or leaf does not exist */
	HOST_NEEDS_ROOT,     /* exists, not readable by this user */
};

#define HOST_MAX_DMESG  12
#define HOST_LINE_LEN   200
#define HOST_SYM_LEN    64

struct host_cpu {
	enum host_state state;          /* of leaf 0 / leaf 1 */
	char source[64];                /* "cpuid instruction", "fixture DIR/cpuid" */
	char vendor[13];
	unsigned int family, model, stepping;
	bool hypervisor;                /* CPUID 1 ECX[31] */
	uint32_t max_ext_leaf;          /* CPUID 0x80000000 EAX */
	enum host_state fn1f_state;     /* HOST_ABSENT when max_ext_leaf < 0x8000001f */
	uint32_t fn1f[4];               /* EAX EBX ECX EDX of Fn8000_001F */
	const char *product;            /* "Milan", ... or NULL: not in the table */
	enum host_state dev_state;      /* /dev/cpu/0/cpuid cross-check (live only) */
	bool dev_agrees;                /* it returned the same Fn8000_001F (or leaf 0) */
};

struct host_msr {
	enum host_state state;          /* of the msr device / fixture DIR/msr */
	char source[64];
	uint64_t syscfg, rmp_base, rmp_end;
	enum host_state syscfg_state, rmp_base_state, rmp_end_state;
};

struct host_kernel {
	enum host_state version_state;
	char version[HOST_LINE_LEN];    /* "6.12.38+deb13-amd64" */
	unsigned int major, minor;          /* 0.0 when it could not be parsed */

	enum host_state kallsyms_state;
	bool kvm_symbols;               /* kvm_amd code is present (svm_vcpu_create) */
	bool snp_host_symbols;          /* host SNP code is present (snp_rmptable_init, rmpupdate) */
	char workaround_sym[HOST_SYM_LEN]; /* the workaround symbol found, or "" */

	bool kvm_amd_loaded;            /* sys/module/kvm_amd exists */
	/* sys/module/kvm_amd/parameters/{sev,sev_es,sev_snp,avic}: "Y", "N", "1", ... or "" */
	char sev[8], sev_es[8], sev_snp[8], avic[8];

	enum host_state dev_sev_state;  /* /dev/sev */

	enum host_state dmesg_state;
	unsigned int nr_dmesg;              /* matching lines kept (at most HOST_MAX_DMESG) */
	char dmesg[HOST_MAX_DMESG][HOST_LINE_LEN];
	bool dmesg_rmp;                 /* a line says the RMP table was set up */
	bool dmesg_avic_inuse;          /* "AVIC disabled: missing HvInUseWrAllowed" */
};

struct host_facts {
	bool live;
	char root[256];                 /* the fixture folder, "" when live */
	struct host_cpu cpu;
	struct host_msr msr;
	struct host_kernel kernel;
};

/* The answer, ordered from "nothing to fear" to "exposed". */
enum host_verdict {
	HOST_NOT_SNP_HOST = 0,          /* no SEV-SNP here, or it is not enabled */
	HOST_SNP_INUSE_WR_ALLOWED,      /* SNP host, CPU reports HvInUseWrAllowed */
	HOST_SNP_WORKAROUND,            /* SNP host, snp_safe_alloc_page* in the kernel */
	HOST_SNP_EXPOSED,               /* SNP host, no workaround: the erratum is possible */
};

#define HOST_MAX_REASONS 8

/* One reason: the fact that decided it, its value, and what follows. */
struct host_reason {
	char fact[48];                  /* "cpuid.vendor", "msr.syscfg.snp_en", ... */
	char value[HOST_LINE_LEN];
	char because[HOST_LINE_LEN * 2];
};

struct host_report {
	enum host_verdict verdict;
	bool exposed;                   /* the exit status: 1 exposed, 0 not */
	unsigned int nr_reasons;
	struct host_reason reasons[HOST_MAX_REASONS];
};

/*
 * Read every fact.  root NULL reads the live machine; otherwise the files
 * under root (docs/HOST.md).  Returns 0, or SNP_EINVAL with a one-line
 * message in err for a fixture that is not one: root not a folder, cpuid
 * file missing, a value that is not a number.  Facts a live machine does
 * not have (no msr module, no kvm_amd) are states, not errors.
 */
SNP_MUST_CHECK int host_read_facts(const char *root, struct host_facts *f, char *err, size_t errlen);

/* Decide from the facts.  Pure: the same facts give the same report. */
void host_decide(const struct host_facts *f, struct host_report *r);

/* Product line of an AMD family/model (AMD's public names), or NULL. */
const char *host_product_line(unsigned int family, unsigned int model);

/* "not an SNP host", ... and a stable identifier "not-snp-host", ... */
const char *host_verdict_text(enum host_verdict v);
const char *host_verdict_id(enum host_verdict v);
/* "ok", "absent", "unknown (needs root)" */
const char *host_state_text(enum host_state s);

#endif
