/* SPDX-License-Identifier: MIT */
/*
 * snpsafe/guest_vmsa.h - the guest side of the rule: an SNP guest that
 * creates VMSAs for its own vCPUs (AP creation) must not put one on a
 * 2MB-aligned page either (snp-facts §1, §7; AMD erratum #1467 per edk2).
 *
 * The guest's memory is a modeled page allocator (snpsafe/mm.h) owned by the
 * guest; each strategy is what one guest code base does:
 *
 *   linux   arch/x86/coco/sev/core.c snp_alloc_vmsa_page(): order 1, split,
 *           always free the FIRST page, keep the second (1 page per VMSA).
 *   edk2    UefiCpuPkg/Library/MpInitLib/X64/AmdSev.c SevSnpCreateSaveArea():
 *           one extra contiguous page; use the first if the SECOND is
 *           2MB-aligned (free the last), else use the second (free the first):
 *           1 page per VMSA.  edk2's own allocator hands out pages at any
 *           start; over a buddy allocator the pair starts at an even pfn, so
 *           the rule always takes the second page (edk2_pick_save_area()).
 *   svsm    COCONUT-SVSM allocate_new_vmsa(): two pages, both kept; the
 *           second is the VMSA when the first's PHYSICAL address is
 *           2MB-aligned (2 pages per VMSA).
 *   retry   the free-and-retry loop COCONUT's 2024 review rejected: an
 *           order-0 page, freed and re-asked while 2MB-aligned (a bounded
 *           number of times here; the loop itself has no bound).
 *   sieve   the library's sieve (snpsafe/snp_alloc.h) run by the guest.
 *   naive   one order-0 page, no rule: the counterfactual baseline.
 */
#ifndef SNPSAFE_GUEST_VMSA_H
#define SNPSAFE_GUEST_VMSA_H

#include <snpsafe/mm.h>

enum guest_vmsa_strategy {
	GUEST_VMSA_LINUX = 0,
	GUEST_VMSA_EDK2,
	GUEST_VMSA_SVSM,
	GUEST_VMSA_RETRY,
	GUEST_VMSA_SIEVE,
	GUEST_VMSA_NAIVE,
	GUEST_VMSA_NR_STRATEGIES
};

/* How often the retry strategy re-asks before it gives up (SNP_EBUSY). */
#define GUEST_VMSA_RETRY_MAX 16u

/* Name <-> strategy ("linux", "edk2", "svsm", "retry", "sieve", "naive"). */
SNP_MUST_CHECK int guest_vmsa_strategy_parse(const char *name, enum guest_vmsa_strategy *out);
const char *guest_vmsa_strategy_name(enum guest_vmsa_strategy s);

/* One VMSA and the pages the guest keeps for it (1 or 2). */
struct guest_vmsa {
	snp_pfn_t vmsa;
	snp_pfn_t kept[2];
	unsigned int nr_kept;
	unsigned int retries;        /* retry: pages freed and re-asked */
	/* retry: the distinct aligned pages it was handed, first ones only */
	snp_pfn_t retry_seen[4];
	unsigned int nr_retry_seen;  /* distinct aligned pages seen (may exceed 4) */
};

/*
 * edk2's choice over two contiguous pages starting at @first: the page used
 * as the VMSA and the page freed.  Pure: the rule alone, any start.
 */
void edk2_pick_save_area(snp_pfn_t first, snp_pfn_t *use, snp_pfn_t *freed);

/*
 * snp_alloc_vmsa_page() with @s on the guest's allocator, from the current
 * CPU's node.  0, SNP_ENOMEM, SNP_EBUSY (retry gave up), SNP_EINVAL.  The
 * sieve strategy needs the guest host configured for it
 * (guest_vmsa_prepare()).
 */
SNP_MUST_CHECK int snp_alloc_vmsa_page(struct mm_host *guest, enum guest_vmsa_strategy s, struct guest_vmsa *out);
/* Give back every page kept for @v (AP offline). */
SNP_MUST_CHECK int snp_free_vmsa_page(struct mm_host *guest, enum guest_vmsa_strategy s, const struct guest_vmsa *v);
/* Configure the guest's allocator for @s (the sieve's pool); 0 or a code. */
SNP_MUST_CHECK int guest_vmsa_prepare(struct mm_host *guest, enum guest_vmsa_strategy s);

/* A guest that brings up nr_vcpus APs, rounds times (offline all, online again). */
struct guest_vmsa_config {
	enum guest_vmsa_strategy strategy;
	uint64_t mem_bytes;          /* guest memory; 0 = 256 MiB */
	unsigned int nr_vcpus;       /* VMSAs per round; 0 = 64, at most 1024 */
	unsigned int rounds;         /* 0 = 1 */
	uint64_t seed;               /* ageing seed */
	bool aged;                   /* age the guest's allocator first (mm_age defaults) */
};

struct guest_vmsa_result {
	uint64_t vmsas;              /* VMSAs created */
	uint64_t aligned;            /* of them on a 2MB-aligned page */
	uint64_t failures;           /* snp_alloc_vmsa_page errors */
	uint64_t retries;            /* retry: pages freed and re-asked */
	uint64_t free_before;        /* guest free pages (buddy + pcp) before the last round */
	uint64_t free_after;         /* ... with that round's VMSAs held */
	uint64_t pages_kept;         /* free_before - free_after */
	unsigned int nr_vcpus;       /* VMSAs in the last round */
};

void guest_vmsa_config_init(struct guest_vmsa_config *cfg, enum guest_vmsa_strategy s);
SNP_MUST_CHECK int guest_vmsa_run(const struct guest_vmsa_config *cfg, struct guest_vmsa_result *out);

#endif
