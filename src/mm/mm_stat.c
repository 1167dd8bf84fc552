// SPDX-License-Identifier: MIT
/*
 * mm_stat.c - statistics over the free lists that /proc does not give:
 * how many free pages sit at a given alignment.  The Monte Carlo simulator
 * uses it for its analytic estimate: if the next sensitive page were any free
 * page, it would be 2MB-aligned with probability aligned/free.
 */
#include "mm/mm_internal.h"

/* Pages of a free block (pfn, order) that are multiples of 2^align_order. */
static uint64_t block_aligned(uint64_t pfn, unsigned int order, unsigned int align_order)
{
	if (order >= align_order)
		return 1ULL << (order - align_order);
	return (pfn & ((1ULL << align_order) - 1)) == 0;
}

static void list_count(const struct mm_host *mm, const struct mm_list *l, unsigned int order,
		       unsigned int align_order, uint64_t *aligned, uint64_t *free)
{
	for (uint32_t pfn = l->head; pfn != MM_NIL; pfn = mm->mem_map[pfn].next) {
		*aligned += block_aligned(pfn, order, align_order);
		*free += 1ULL << order;
	}
}

int mm_free_aligned_count(const struct mm_host *mm, unsigned int align_order, uint64_t *aligned,
			  uint64_t *free)
{
	if (!mm || !aligned || !free || align_order > 63)
		return SNP_EINVAL;
	*aligned = 0;
	*free = 0;
	for (unsigned int z = 0; z < mm->nr_zones; z++)
		for (unsigned int o = 0; o <= MM_MAX_ORDER; o++)
			for (unsigned int t = 0; t < MM_NR_MIGRATETYPES; t++)
				list_count(mm, &mm->zones[z].area[o].list[t], o, align_order, aligned,
					   free);
	for (size_t i = 0; i < (size_t)mm->nr_cpus * mm->nr_zones; i++)
		for (unsigned int l = 0; l < MM_NR_PCP_LISTS; l++)
			list_count(mm, &mm->pcp[i].lists[l],
				   l < MM_NR_LOWORDER_PCP_LISTS ? l / MM_NR_MIGRATETYPES : MM_PAGEBLOCK_ORDER,
				   align_order, aligned, free);
	return 0;
}
