// SPDX-License-Identifier: GPL-2.0
/*
 * snpsafe_pbdump.c - a diagnostic for docs/MODEL.md "Boot state: the kernel's
 * own memory": loaded in a watched guest, it prints one line a pageblock up
 * to end_pfn ("pbdump PFN mt MIGRATETYPE buddy N pcp N"), where buddy counts
 * the pages of free buddy blocks (PageBuddy heads, their order in
 * page_private()) and pcp the free pages off the buddy lists: the pages on
 * every CPU's per-CPU lists of every zone (walked first, each list's order
 * from its index as mm/page_alloc.c pindex_to_order() has it) and the
 * second pageblock of a free order-10 block (no tail, not reserved, no
 * reference, not on a list: the next block's head is PageBuddy).  The other
 * pages with no reference and no tail flag, the tails of an allocation
 * made without __GFP_COMP, are in use.  For UNMOVABLE pageblocks and every
 * pageblock partly free two 512-bit maps in hex ("b" buddy, "p" pcp), the
 * first page's bit lowest in the first byte.  Its init fails on purpose:
 * nothing stays loaded.  The pageblock's migratetype is read from the
 * section's pageblock_flags as get_pfnblock_flags_mask() does (4 bits a
 * pageblock).  (Before the lists were walked, such tails counted as pcp:
 * docs/MODEL.md "the kept pages counted page by page".)
 *
 * Build against the watched kernel's headers (scripts/debian.sh fetches them):
 *   make -C .cache/kernels/headers-<ver>/usr/src/linux-headers-<ver> M=$PWD modules
 * and run it at the stage "loaded":
 *   SNPSAFE_WATCH_EXTRA_FILE=watch/pbdump/snpsafe_pbdump.ko:pbdump.ko \
 *   SNPSAFE_WATCH_GUEST_HOOK=HOOK snpsafe watch ...
 * with a hook that runs `insmod /pbdump.ko end_pfn=0x40000` (1 GiB) and
 * copies `dmesg | grep pbdump` to /dev/console.
 */
#include <linux/module.h>
#include <linux/mm.h>
#include <linux/mmzone.h>
#include <linux/page-flags.h>
#include <linux/vmalloc.h>

#ifndef MAX_PAGE_ORDER   /* 6.1: MAX_ORDER is one past the largest order */
#define MAX_PAGE_ORDER (MAX_ORDER - 1)
#endif

static unsigned long end_pfn;
module_param(end_pfn, ulong, 0);

static unsigned int pb_mt(unsigned long pfn)
{
	struct mem_section *ms = __pfn_to_section(pfn);
	unsigned long *bits = ms->usage->pageblock_flags;
	unsigned long idx = ((pfn & (PAGES_PER_SECTION - 1)) >> pageblock_order) * NR_PAGEBLOCK_BITS;
	unsigned long word = bits[idx / BITS_PER_LONG];

	return (word >> (idx & (BITS_PER_LONG - 1))) & MIGRATETYPE_MASK;
}

/*
 * Is @pfn inside a free buddy block whose head lies before it (the second
 * pageblock of a free order-10 block)?  Its head is PageBuddy at the
 * max-order-aligned pfn, of order MAX_PAGE_ORDER.
 */
static bool in_free_block(unsigned long pfn)
{
	unsigned long head = pfn & ~((1UL << MAX_PAGE_ORDER) - 1);
	struct page *page;

	if (head == pfn || !pfn_valid(head))
		return false;
	page = pfn_to_page(head);
	return PageBuddy(page) && page_private(page) == MAX_PAGE_ORDER;
}

/* The orders of the per-CPU lists: NR_LOWORDER_PCP_LISTS by order, then THP's. */
static unsigned int pcp_list_order(unsigned int pindex)
{
	unsigned int low = MIGRATE_PCPTYPES * (PAGE_ALLOC_COSTLY_ORDER + 1);

	return pindex < low ? pindex / MIGRATE_PCPTYPES : pageblock_order;
}

/* Mark in @on_pcp the pages on @zone's per-CPU lists, every CPU's. */
static void mark_zone_pcp_pages(struct zone *zone, unsigned long *on_pcp)
{
	unsigned int cpu, i;

	for_each_possible_cpu(cpu) {
		struct per_cpu_pages *pcp = per_cpu_ptr(zone->per_cpu_pageset, cpu);
		unsigned long flags;

		spin_lock_irqsave(&pcp->lock, flags);
		for (i = 0; i < NR_PCP_LISTS; i++) {
			unsigned long n = 1UL << pcp_list_order(i);
			struct page *page;

			list_for_each_entry(page, &pcp->lists[i], pcp_list) {
				unsigned long pfn = page_to_pfn(page), k;

				for (k = 0; k < n && pfn + k < end_pfn; k++)
					__set_bit(pfn + k, on_pcp);
			}
		}
		spin_unlock_irqrestore(&pcp->lock, flags);
	}
}

/* Mark in @on_pcp the pages on the per-CPU lists of every zone, every CPU. */
static void mark_pcp_pages(unsigned long *on_pcp)
{
	int nid, z;

	for_each_online_node(nid)
		for (z = 0; z < MAX_NR_ZONES; z++)
			if (populated_zone(&NODE_DATA(nid)->node_zones[z]))
				mark_zone_pcp_pages(&NODE_DATA(nid)->node_zones[z], on_pcp);
}

static int __init snpsafe_pbdump_init(void)
{
	static char buddy[129], pcp[129];
	unsigned long *on_pcp = vzalloc(BITS_TO_LONGS(end_pfn) * sizeof(long));
	unsigned long pb;

	if (!on_pcp)
		return -ENOMEM;
	mark_pcp_pages(on_pcp);

	for (pb = 0; pb + pageblock_nr_pages <= end_pfn; pb += pageblock_nr_pages) {
		unsigned long pfn = pb, nb = 0, np = 0, na = 0;
		u8 fb[64] = { 0 }, fp[64] = { 0 };
		unsigned int mt, i;

		if (!pfn_valid(pb))
			continue;
		mt = pb_mt(pb);
		while (pfn < pb + pageblock_nr_pages) {
			struct page *page = pfn_to_page(pfn);
			unsigned long n = 1, k;

			if (PageBuddy(page)) {
				n = 1UL << page_private(page);
				if (pfn + n > pb + pageblock_nr_pages)
					n = pb + pageblock_nr_pages - pfn;
				for (k = 0; k < n; k++)
					fb[(pfn - pb + k) / 8] |= 1 << ((pfn - pb + k) % 8);
				nb += n;
			} else if (test_bit(pfn, on_pcp) ||
				   (!PageTail(page) && !PageReserved(page) && page_ref_count(page) == 0 &&
				    in_free_block(pfn))) {
				fp[(pfn - pb) / 8] |= 1 << ((pfn - pb) % 8);
				np++;
			} else {
				na++;
			}
			pfn += n;
		}
		if (mt != MIGRATE_UNMOVABLE && !(na && nb + np)) {
			pr_info("pbdump %lx mt %u buddy %lu pcp %lu\n", pb, mt, nb, np);
			continue;
		}
		for (i = 0; i < 64; i++) {
			sprintf(buddy + 2 * i, "%02x", fb[i]);
			sprintf(pcp + 2 * i, "%02x", fp[i]);
		}
		pr_info("pbdump %lx mt %u buddy %lu pcp %lu b %s p %s\n", pb, mt, nb, np, buddy, pcp);
	}
	vfree(on_pcp);
	return -ENODEV;   /* nothing to keep loaded */
}
module_init(snpsafe_pbdump_init);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("snpsafe: each pageblock's free pages, for the boot state of docs/MODEL.md");
