// SPDX-License-Identifier: MIT
/*
 * mm_watch_host.c - the memory work of watch's workload host thread
 * (watch/workload.c host_thread()), one loop at a time, on a modeled host.
 * A loop writes a 4 MiB tmpfs file in 64 KiB writes, unlinks it, then maps
 * 4 MiB of anonymous memory, touches every page and unmaps it.  Each
 * allocation's kind is the kernel's (Debian 6.1.192 and 6.12.95; checked
 * against a watched boot's kmem tracepoints, docs/WATCH.md "The model's
 * per-CPU lists against the kernel's"):
 *
 *   page cache: tmpfs without huge= (mm/shmem.c: order 0), the mapping's
 *     GFP_HIGHUSER_MOVABLE: 1,024 order-0 MOVABLE pages, freed when the
 *     unlink truncates the file (shmem_undo_range()), in index order;
 *   anonymous, 6.12: mm/mmap.c __get_unmapped_area() gives an anonymous
 *     mapping whose length is a multiple of PMD_SIZE a PMD-aligned address
 *     (thp_get_unmapped_area_vmflags()), so both 2 MiB halves fault in as
 *     THPs (do_huge_pmd_anonymous_page(): order 9, MOVABLE, each with a
 *     deposited page table, pte_alloc_one(): order 0, UNMOVABLE);
 *   anonymous, 6.1: no such alignment; the mapping holds one aligned 2 MiB,
 *     a THP with its deposited table, and 512 order-0 MOVABLE pages around
 *     it in two page tables.  Where the mapping starts, and so how many
 *     pages come before the THP, is assumed: 256.
 *   munmap frees the pages in address order, each THP then its deposited
 *     table, the page tables last.
 *
 * A THP that cannot be had at once (GFP_TRANSHUGE_LIGHT: no reclaim, no
 * compaction) faults in as 512 order-0 pages.  Not modeled: the file's
 * dentry, shmem inode and xarray nodes (a few slab objects a loop; the
 * boot's RECLAIMABLE order-1 slabs, the xarray's, numbered 11 in 120 s),
 * and the loop's stores through the direct map (the tick's kernel work
 * stands for those).  Each loop runs on one CPU, drawn from a stream of its
 * own (the thread may move between loops; assumed).
 */
#include "mm/mm_internal.h"

#include <stdlib.h>

#define WH_FILE_PAGES   1024u   /* 64 writes of 64 KiB */
#define WH_ANON_PAGES   1024u   /* 4 MiB */
#define WH_THP_PAGES    (1u << MM_PAGEBLOCK_ORDER)
#define WH_61_HEAD      256u    /* 6.1: order-0 pages before the THP (assumed) */

struct mm_watch_host {
	uint64_t rng;
	unsigned int cpu;
	struct page **pages;      /* a loop's order-0 pages, in the order made */
	struct mm_watch_host_stats st;
};

int mm_watch_host_begin(struct mm_host *mm, uint64_t seed, struct mm_watch_host **out)
{
	struct mm_watch_host *h;

	if (!mm || !out)
		return SNP_EINVAL;
	*out = NULL;
	h = calloc(1, sizeof(*h));
	if (!h)
		return SNP_ENOMEM;
	h->pages = calloc(WH_FILE_PAGES + WH_ANON_PAGES, sizeof(*h->pages));
	if (!h->pages) {
		free(h);
		return SNP_ENOMEM;
	}
	h->rng = seed ^ 0x9e3779b97f4a7c15ULL;
	*out = h;
	return 0;
}

void mm_watch_host_end(struct mm_watch_host *h)
{
	if (!h)
		return;
	free(h->pages);
	free(h);
}

/* Free pages [from, to) of the loop's list, in order, on the loop's CPU. */
static SNP_MUST_CHECK int wh_free(struct mm_host *mm, struct mm_watch_host *h, unsigned int from,
				  unsigned int to)
{
	int err = 0;

	for (unsigned int i = from; i < to && !err; i++)
		err = mm_free_pages(mm, h->cpu, h->pages[i], 0);
	return err;
}

/* n order-0 pages of @gfp onto the list from *n; SNP_ENOMEM when one could not be had. */
static SNP_MUST_CHECK int wh_pages(struct mm_host *mm, struct mm_watch_host *h, mm_gfp_t gfp,
				   unsigned int count, unsigned int *n)
{
	for (unsigned int i = 0; i < count; i++) {
		struct page *p = mm_alloc_pages(mm, h->cpu, gfp | MM_GFP_NORETRY, 0);

		if (!p)
			return SNP_ENOMEM;
		h->pages[(*n)++] = p;
	}
	return 0;
}

/* The file: written, then truncated by the unlink. */
static SNP_MUST_CHECK int wh_file(struct mm_host *mm, struct mm_watch_host *h)
{
	unsigned int n = 0;
	int err = wh_pages(mm, h, MM_GFP_HIGHUSER_MOVABLE, WH_FILE_PAGES, &n);
	int ferr = wh_free(mm, h, 0, n);

	h->st.cache_pages += n;
	if (err == SNP_ENOMEM)
		h->st.short_loops++;
	return ferr ? ferr : err == SNP_ENOMEM ? 0 : err;
}

/*
 * One 2 MiB of the mapping: a THP and its deposited table, or, when no
 * order-9 block is free at once, 512 order-0 pages (without the page table
 * such a range needs: rare, not modeled).  *thp the THP or NULL, *table
 * its table.
 */
static SNP_MUST_CHECK int wh_huge(struct mm_host *mm, struct mm_watch_host *h, struct page **thp,
				  struct page **table, unsigned int *n)
{
	*table = NULL;
	*thp = mm_alloc_pages(mm, h->cpu, MM_GFP_HIGHUSER_MOVABLE | MM_GFP_ZERO | MM_GFP_NORETRY,
			      MM_PAGEBLOCK_ORDER);
	if (!*thp)
		return wh_pages(mm, h, MM_GFP_HIGHUSER_MOVABLE | MM_GFP_ZERO, WH_THP_PAGES, n);
	h->st.thp++;
	*table = mm_alloc_pages(mm, h->cpu, MM_GFP_KERNEL_ACCOUNT | MM_GFP_ZERO | MM_GFP_NORETRY, 0);
	return *table ? 0 : SNP_ENOMEM;
}

static SNP_MUST_CHECK int wh_free_huge(struct mm_host *mm, struct mm_watch_host *h, struct page *thp,
				       struct page *table)
{
	int err = thp ? mm_free_pages(mm, h->cpu, thp, MM_PAGEBLOCK_ORDER) : 0;

	if (!err && table)
		err = mm_free_pages(mm, h->cpu, table, 0);
	return err;
}

/* The anonymous 4 MiB: faulted in ascending, unmapped ascending, page tables last. */
static SNP_MUST_CHECK int wh_anon(struct mm_host *mm, struct mm_watch_host *h)
{
	bool k61 = mm->kernel == MM_KERNEL_6_1;
	unsigned int halves = k61 ? 1 : 2, n = 0, head = 0;
	struct page *thp[2] = { NULL }, *table[2] = { NULL }, *pte[2] = { NULL };
	mm_gfp_t anon = MM_GFP_HIGHUSER_MOVABLE | MM_GFP_ZERO;
	int err = 0, ferr = 0;

	if (k61) {   /* the head's table, its pages, the THP, the tail's table and pages */
		pte[0] = mm_alloc_pages(mm, h->cpu, MM_GFP_KERNEL_ACCOUNT | MM_GFP_ZERO | MM_GFP_NORETRY, 0);
		err = pte[0] ? wh_pages(mm, h, anon, WH_61_HEAD, &n) : SNP_ENOMEM;
		head = n;
	}
	for (unsigned int i = 0; i < halves && !err; i++)
		err = wh_huge(mm, h, &thp[i], &table[i], &n);
	if (k61 && !err) {
		pte[1] = mm_alloc_pages(mm, h->cpu, MM_GFP_KERNEL_ACCOUNT | MM_GFP_ZERO | MM_GFP_NORETRY, 0);
		err = pte[1] ? wh_pages(mm, h, anon, WH_ANON_PAGES - WH_THP_PAGES - WH_61_HEAD, &n) :
			       SNP_ENOMEM;
	}
	h->st.anon_pages += n;
	/* munmap: zap in address order (head, the huge ranges, tail), then free_pgtables() */
	ferr = wh_free(mm, h, 0, head);
	for (unsigned int i = 0; i < halves && !ferr; i++)
		ferr = wh_free_huge(mm, h, thp[i], table[i]);
	if (!ferr)
		ferr = wh_free(mm, h, head, n);
	for (unsigned int i = 0; i < 2 && !ferr; i++)
		if (pte[i])
			ferr = mm_free_pages(mm, h->cpu, pte[i], 0);
	if (err == SNP_ENOMEM)
		h->st.short_loops++;
	return ferr ? ferr : err == SNP_ENOMEM ? 0 : err;
}

int mm_watch_host_loop(struct mm_host *mm, struct mm_watch_host *h)
{
	int err;

	if (!mm || !h)
		return SNP_EINVAL;
	h->cpu = (unsigned int)mm_rng_below(&h->rng, mm->nr_cpus);
	err = wh_file(mm, h);
	if (!err)
		err = wh_anon(mm, h);
	if (!err)
		h->st.loops++;
	return err;
}

int mm_watch_host_stats(const struct mm_watch_host *h, struct mm_watch_host_stats *out)
{
	if (!h || !out)
		return SNP_EINVAL;
	*out = h->st;
	return 0;
}
