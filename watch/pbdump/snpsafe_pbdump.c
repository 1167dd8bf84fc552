// SPDX-License-Identifier: GPL-2.0
/*
 * snpsafe_pbdump.c - a diagnostic for docs/MODEL.md "Boot state: the kernel's
 * own memory": loaded in a watched guest, it prints one line a pageblock up
 * to end_pfn ("pbdump PFN mt MIGRATETYPE buddy N pcp N"), where buddy counts
 * the pages of free buddy blocks (PageBuddy heads, their order in
 * page_private()) and pcp the other free pages (no tail, not reserved, no
 * reference: pages on a per-CPU list; the second pageblock of a free
 * order-10 block counts here too), and for UNMOVABLE pageblocks and every
 * pageblock partly free two 512-bit maps in hex ("b" buddy, "p" pcp), the
 * first page's bit lowest in the first byte.  Its init fails on purpose: nothing stays
 * loaded.  The pageblock's migratetype is read from the section's
 * pageblock_flags as get_pfnblock_flags_mask() does (4 bits a pageblock).
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

static int __init snpsafe_pbdump_init(void)
{
	static char buddy[129], pcp[129];
	unsigned long pb;

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
			} else if (!PageTail(page) && !PageReserved(page) && page_ref_count(page) == 0) {
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
	return -ENODEV;   /* nothing to keep loaded */
}
module_init(snpsafe_pbdump_init);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("snpsafe: each pageblock's free pages, for the boot state of docs/MODEL.md");
