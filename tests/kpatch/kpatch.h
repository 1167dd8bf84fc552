/* SPDX-License-Identifier: MIT */
/*
 * kpatch.h - the kernel patch's own SNP-safe allocator (the sev.c code of
 * kernel/patches/6.12/0001-*.patch, extracted at build time by
 * tests/kpatch/extract.awk) run on a model host, for test_kpatch_drift.c.
 *
 * Three translation units, because the patch's struct page (the kernel's,
 * with its lru list_head) and the model's (opaque, snpsafe/mm.h) cannot
 * meet in one:
 *
 *   kpatch_kernel.c  the shim of the kernel API (linux_shim.h) and the
 *                    extracted code; speaks pfns to the two others
 *   kshim_mm.c       the shim's page allocator: the model's (mm.h), on the
 *                    host and CPU set here, with a record of each call
 *   test_kpatch_drift.c  drives the patch and the model's core side by side
 *
 * Nothing here is the kernel's: the shim is written from the kernel's
 * documented behaviour of each call, not copied from its headers.
 */
#ifndef SNPSAFE_TESTS_KPATCH_H
#define SNPSAFE_TESTS_KPATCH_H

#include <stdbool.h>
#include <stdint.h>

struct mm_host;

/* gfp bits of the shim (linux_shim.h), translated by kshim_mm.c. */
#define KPATCH_GFP_KERNEL   0u
#define KPATCH_GFP_ZERO     (1u << 0)
#define KPATCH_GFP_ACCOUNT  (1u << 1)
#define KPATCH_GFP_THISNODE (1u << 2)
#define KPATCH_NO_PFN       (-1L)

/* ---- kshim_mm.c: the shim's page allocator, on a model host ---------- */

/*
 * The host the patch's allocations go to and the CPU they run on: the
 * kernel's allocator uses this_cpu's lists, the model names the CPU, so
 * the shim keeps a "current CPU" the test sets before each call.
 */
void kshim_attach(struct mm_host *mm);
void kshim_set_cpu(unsigned int cpu);
unsigned int kshim_cpu(void);
uint64_t kshim_nr_pages(void);
unsigned int kshim_nr_nodes(void);

/* alloc_pages_node(), split_page(), __free_page(), page_to_nid() by pfn. */
long kshim_alloc(int nid, unsigned int gfp, unsigned int order);
void kshim_split(unsigned long pfn, unsigned int order);
void kshim_free(unsigned long pfn);
int kshim_nid(unsigned long pfn);
/* A page went onto a list through its lru: the patch's only one is the park. */
void kshim_note_park(unsigned long pfn);

/*
 * What the patch did in one call, noted by the calls above, in the shape of
 * the model's struct snp_alloc_call (whose arrays keep the first
 * KSHIM_REC_MAX entries; the counts are exact either way).
 */
#define KSHIM_REC_MAX 8
struct kshim_rec {
	unsigned int nr_taken, nr_freed, nr_parked;
	unsigned long taken[KSHIM_REC_MAX];
	unsigned int taken_order[KSHIM_REC_MAX];
	unsigned long freed[KSHIM_REC_MAX];
	unsigned long parked[KSHIM_REC_MAX];
	uint64_t order1_total;   /* order-1 blocks taken since kshim_attach() */
};
void kshim_rec_reset(void);
const struct kshim_rec *kshim_rec(void);

/* ---- kpatch_kernel.c: the extracted code, called by pfn --------------- */

/* cc_platform_has(CC_ATTR_HOST_SEV_SNP) on the shim's host. */
extern bool kpatch_host_snp;

/* The vmemmap for the attached host (kshim_attach() first); 0 or -1. */
int kpatch_vmemmap_init(void);
void kpatch_vmemmap_fini(void);
/* snp_safe_alloc_init() / snp_safe_alloc_exit() of the patch. */
int kpatch_init(void);
void kpatch_exit(void);
/* snp_safe_alloc_page_node(@node, @gfp) on the current CPU: a pfn or KPATCH_NO_PFN. */
long kpatch_alloc(int node, unsigned int gfp);
/* __free_page() of a page the patch handed out. */
void kpatch_free(unsigned long pfn);
/* The patch's SNP_SAFE_POOL_MAX, as its code defines it. */
unsigned int kpatch_pool_max(void);
/* Pages in node @nid's pool (the list walked), newest first into @pfns (up to @max). */
unsigned int kpatch_pool(int nid, unsigned long *pfns, unsigned int max);
/* The shrinker the patch registered: count_objects / scan_objects on @nid. */
bool kpatch_shrinker_registered(void);
unsigned long kpatch_shrink_count(int nid);
unsigned long kpatch_shrink_scan(int nid, unsigned long nr_to_scan);
unsigned long kpatch_shrink_stop(void);
/* Where the build put the extracted files (kpatch_sieve.c, kpatch_sieve-7.2.c). */
const char *kpatch_gen_dir(void);

#endif
