/* SPDX-License-Identifier: MIT */
/*
 * snpsafe/common.h - types, sizes and error codes shared by every layer.
 *
 * Errors follow libuv: a function that can fail returns 0 (or a count) on
 * success and a negative SNP_E* code on misuse or lack of resources.
 * Architectural outcomes of modeled instructions (RMPUPDATE's FAIL_INUSE...,
 * VMRUN's VMEXIT_INVALID) are not errors of the library: they come back
 * through an out-parameter (int *code, or a result struct), with the numbers
 * the APM gives them (see snpsafe/rmp.h), never mixed into the return value.
 */
#ifndef SNPSAFE_COMMON_H
#define SNPSAFE_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * The kernel's __must_check (include/linux/compiler_attributes.h): a caller
 * that drops the result of a function marked so gets a warning, which -Werror
 * makes an error.  Every function whose result says whether it worked, or
 * carries an architectural code, is marked.  A caller that means to ignore
 * one says why and uses snp_ignore_result() (below).
 */
#ifndef SNP_MUST_CHECK
#define SNP_MUST_CHECK __attribute__((warn_unused_result))
#endif

/*
 * snp_ignore_result() - drop a must-check result on purpose.  A cast to void
 * does not silence warn_unused_result under gcc; passing the value to this
 * function does, and names the intent at the call site.  Use it only with a
 * comment that says why the result cannot matter there.
 */
static inline void snp_ignore_result(long long ret) { (void)ret; }

#define SNP_PAGE_SHIFT   12
#define SNP_PAGE_SIZE    (1ULL << SNP_PAGE_SHIFT)
#define SNP_PMD_SHIFT    21                      /* 2MB */
#define SNP_PMD_SIZE     (1ULL << SNP_PMD_SHIFT)
#define SNP_PUD_SHIFT    30                      /* 1GB */
#define SNP_PUD_SIZE     (1ULL << SNP_PUD_SHIFT)
#define SNP_PTRS_PER_PMD 512                     /* 4K pages in a 2MB region */

#define SNP_KiB (1ULL << 10)
#define SNP_MiB (1ULL << 20)
#define SNP_GiB (1ULL << 30)
#define SNP_TiB (1ULL << 40)

/* Largest modeled physical address space: 52-bit, as on x86-64 with SME. */
#define SNP_MAX_PHYS_BITS 52

typedef uint64_t snp_pfn_t;   /* page frame number of a 4K page */
typedef uint64_t snp_spa_t;   /* system physical address */
typedef uint64_t snp_gpa_t;   /* guest physical address */

static inline bool snp_is_aligned(uint64_t x, uint64_t a) { return (x & (a - 1)) == 0; }
static inline snp_spa_t snp_pfn_to_phys(snp_pfn_t pfn) { return pfn << SNP_PAGE_SHIFT; }
static inline snp_pfn_t snp_phys_to_pfn(snp_spa_t pa) { return pa >> SNP_PAGE_SHIFT; }
/* A pfn whose page starts a 2MB region: the pages the erratum is about. */
static inline bool snp_pfn_2m_aligned(snp_pfn_t pfn) { return (pfn & (SNP_PTRS_PER_PMD - 1)) == 0; }
/* The first pfn of @pfn's 2MB region: the base page whose RMP entry a hugepage access reads. */
static inline snp_pfn_t snp_pfn_2m_base(snp_pfn_t pfn) { return pfn & ~(snp_pfn_t)(SNP_PTRS_PER_PMD - 1); }

/* Library error codes: negative, errno-valued so they print with strerror(-e). */
enum snp_errno {
	SNP_OK      = 0,
	SNP_EPERM   = -1,   /* operation not allowed in this state */
	SNP_ENOENT  = -2,   /* no such object */
	SNP_ENOMEM  = -12,  /* out of (host or modeled) memory */
	SNP_EBUSY   = -16,  /* object in use */
	SNP_EEXIST  = -17,  /* already exists */
	SNP_EINVAL  = -22,  /* bad argument */
	SNP_ERANGE  = -34,  /* address or size outside the modeled machine */
	SNP_ENOTSUP = -95,  /* not supported by this model or profile */
	SNP_EFAULT  = -14,  /* the modeled access faulted (see the fault record) */
	SNP_ENOSPC  = -28,  /* no room left for the request */
};

/* A short name for an SNP_E* code ("SNP_EINVAL"), or "SNP_E?" */
const char *snp_strerror(int err);
/*
 * What an SNP_E* code means, in plain words for a user ("a modeled host ran
 * out of memory"); messages a user reads use this, never the code's name.
 */
const char *snp_error_text(int err);

#endif
