// SPDX-License-Identifier: MIT
/*
 * kshim_mm.c - the page allocator under linux_shim.h: the model's
 * (snpsafe/mm.h) on one host, for the CPU the test says the call runs on,
 * with a record of what each call took, freed and parked (kpatch.h).
 */
#include "kpatch.h"

#include <snpsafe/mm.h>

#include <stdlib.h>

static struct mm_host *kshim_mm;
static unsigned int kshim_cur_cpu;
static struct kshim_rec rec;

void kshim_attach(struct mm_host *mm)
{
	kshim_mm = mm;
	kshim_cur_cpu = 0;
	rec = (struct kshim_rec){ .nr_taken = 0 };
}

void kshim_set_cpu(unsigned int cpu)
{
	kshim_cur_cpu = cpu;
}

unsigned int kshim_cpu(void)
{
	return kshim_cur_cpu;
}

uint64_t kshim_nr_pages(void)
{
	return mm_nr_pages(kshim_mm);
}

unsigned int kshim_nr_nodes(void)
{
	return mm_nr_nodes(kshim_mm);
}

/* The shim's gfp bits as the model's. */
static mm_gfp_t mm_gfp(unsigned int gfp)
{
	return (gfp & KPATCH_GFP_ZERO ? MM_GFP_ZERO : 0) |
	       (gfp & KPATCH_GFP_ACCOUNT ? MM_GFP_ACCOUNT : 0) |
	       (gfp & KPATCH_GFP_THISNODE ? MM_GFP_THISNODE : 0);
}

/* Count one more page in @nr; keep its pfn while the array has room. */
static unsigned int note(unsigned long *pfns, unsigned int *nr, unsigned long pfn)
{
	unsigned int i = (*nr)++;

	if (i < KSHIM_REC_MAX)
		pfns[i] = pfn;
	return i;
}

long kshim_alloc(int nid, unsigned int gfp, unsigned int order)
{
	struct page *p = mm_alloc_pages_node(kshim_mm, kshim_cur_cpu,
					     nid < 0 ? MM_NUMA_NO_NODE : nid, mm_gfp(gfp), order);
	unsigned long pfn;
	unsigned int i;

	if (!p)
		return KPATCH_NO_PFN;
	pfn = (unsigned long)mm_page_to_pfn(kshim_mm, p);
	i = note(rec.taken, &rec.nr_taken, pfn);
	if (i < KSHIM_REC_MAX)
		rec.taken_order[i] = order;
	rec.order1_total += order == 1;
	return (long)pfn;
}

/* split_page() and __free_page() of pages the patch holds cannot fail: abort if they do. */
void kshim_split(unsigned long pfn, unsigned int order)
{
	if (mm_split_page(kshim_mm, mm_pfn_to_page(kshim_mm, pfn), order))
		abort();
}

void kshim_free(unsigned long pfn)
{
	if (mm_free_pages(kshim_mm, kshim_cur_cpu, mm_pfn_to_page(kshim_mm, pfn), 0))
		abort();
	note(rec.freed, &rec.nr_freed, pfn);
}

int kshim_nid(unsigned long pfn)
{
	return mm_pfn_to_nid(kshim_mm, pfn);
}

void kshim_note_park(unsigned long pfn)
{
	note(rec.parked, &rec.nr_parked, pfn);
}

void kshim_rec_reset(void)
{
	uint64_t total = rec.order1_total;

	rec = (struct kshim_rec){ .order1_total = total };
}

const struct kshim_rec *kshim_rec(void)
{
	return &rec;
}
