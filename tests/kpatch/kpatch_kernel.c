// SPDX-License-Identifier: MIT
/*
 * kpatch_kernel.c - the kernel patch's own code (arch/x86/kvm/svm/sev.c of
 * kernel/patches/6.12/0001-*.patch, extracted by tests/kpatch/extract.awk
 * into $(BUILD)/gen/kpatch_sieve.c) compiled on linux_shim.h, and the
 * pfn-level calls test_kpatch_drift.c drives it with (kpatch.h).
 */
#include "linux_shim.h"

#include <stdarg.h>

bool kpatch_host_snp = true;
struct page *kshim_vmemmap;
unsigned long kshim_vmemmap_pages;

/* The one shrinker the patch registers, kept for the test's "reclaim". */
static struct shrinker *kshim_shrinker;

struct shrinker *shrinker_alloc(unsigned int flags, const char *fmt, ...)
{
	struct shrinker *s = calloc(1, sizeof(*s));

	(void)fmt;
	if (s)
		s->flags = flags;
	return s;
}

void shrinker_register(struct shrinker *s)
{
	s->registered = true;
	kshim_shrinker = s;
}

void shrinker_free(struct shrinker *s)
{
	if (s == kshim_shrinker)
		kshim_shrinker = NULL;
	free(s);
}

/* The patch's code, as its sev.c hunks add it. */
#include "kpatch_sieve.c"

int kpatch_vmemmap_init(void)
{
	kshim_vmemmap_pages = kshim_nr_pages();
	kshim_vmemmap = calloc(kshim_vmemmap_pages, sizeof(*kshim_vmemmap));
	return kshim_vmemmap ? 0 : -1;
}

void kpatch_vmemmap_fini(void)
{
	free(kshim_vmemmap);
	kshim_vmemmap = NULL;
	kshim_vmemmap_pages = 0;
}

int kpatch_init(void)
{
	return snp_safe_alloc_init();
}

void kpatch_exit(void)
{
	snp_safe_alloc_exit();
}

long kpatch_alloc(int node, unsigned int gfp)
{
	struct page *page = snp_safe_alloc_page_node(node, gfp);

	return page ? (long)page_to_pfn(page) : KPATCH_NO_PFN;
}

void kpatch_free(unsigned long pfn)
{
	__free_page(&kshim_vmemmap[pfn]);
}

unsigned int kpatch_pool_max(void)
{
	return SNP_SAFE_POOL_MAX;
}

unsigned int kpatch_pool(int nid, unsigned long *pfns, unsigned int max_pfns)
{
	struct list_head *e;
	unsigned int n = 0;

	if (!snp_safe_pools)
		return 0;
	for (e = snp_safe_pools[nid].pages.next; e != &snp_safe_pools[nid].pages; e = e->next) {
		if (n < max_pfns)
			pfns[n] = page_to_pfn(list_entry(e, struct page, lru));
		n++;
	}
	return n;
}

bool kpatch_shrinker_registered(void)
{
	return kshim_shrinker && kshim_shrinker->registered &&
	       (kshim_shrinker->flags & SHRINKER_NUMA_AWARE);
}

unsigned long kpatch_shrink_count(int nid)
{
	struct shrink_control sc = { .gfp_mask = GFP_KERNEL, .nid = nid };

	return kshim_shrinker->count_objects(kshim_shrinker, &sc);
}

unsigned long kpatch_shrink_scan(int nid, unsigned long nr_to_scan)
{
	struct shrink_control sc = { .gfp_mask = GFP_KERNEL, .nid = nid, .nr_to_scan = nr_to_scan };

	return kshim_shrinker->scan_objects(kshim_shrinker, &sc);
}

unsigned long kpatch_shrink_stop(void)
{
	return SHRINK_STOP;
}

const char *kpatch_gen_dir(void)
{
	return KPATCH_GEN_DIR;
}
