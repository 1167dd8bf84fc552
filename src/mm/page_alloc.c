// SPDX-License-Identifier: MIT
/*
 * page_alloc.c - the buddy allocator and the per-CPU page lists of one modeled
 * host, after Linux mm/page_alloc.c (6.x).  Function names in comments are
 * the kernel functions each piece mirrors; the code is our own.
 *
 * What is modeled: one zone per node (or x86's DMA/DMA32/Normal with
 * lowmem_reserve, mm_config.x86_layout), orders 0..10, the expand() split
 * rule, buddy merging in __free_one_page() with the buddy_merge_likely()
 * tail placement, migratetypes (UNMOVABLE, MOVABLE, RECLAIMABLE pageblocks,
 * free and pcp lists per type, __rmqueue_fallback() with its 6.1 and 6.12
 * stealing rules and ALLOC_NOFRAGMENT), pcp lists for orders 0..3 and the
 * THP order refilled by rmqueue_bulk() and drained from their cold tail by
 * free_pcppages_bulk() (their sizes in pcp_size.c), drain_all_pages() and
 * one retry when an allocation fails, node fallback in node order.  Not
 * modeled: watermarks, compaction, reclaim, highatomic and CMA, page
 * shuffling (docs/MODEL.md lists each choice).
 */
#include "mm/mm_internal.h"

#include <stdlib.h>
#include <string.h>

/* ---- lists of block heads, linked by pfn ---- */

static bool list_empty(const struct mm_list *l)
{
	return l->head == MM_NIL;
}

/* list_add(): the kernel puts hot pages at the head. */
static void list_add_head(struct mm_host *mm, struct mm_list *l, uint32_t pfn)
{
	struct page *p = &mm->mem_map[pfn];

	p->prev = MM_NIL;
	p->next = l->head;
	if (l->head != MM_NIL)
		mm->mem_map[l->head].prev = pfn;
	else
		l->tail = pfn;
	l->head = pfn;
}

/* list_add_tail(): cold pages, and boot memory (FPI_TO_TAIL). */
static void list_add_tail(struct mm_host *mm, struct mm_list *l, uint32_t pfn)
{
	struct page *p = &mm->mem_map[pfn];

	p->next = MM_NIL;
	p->prev = l->tail;
	if (l->tail != MM_NIL)
		mm->mem_map[l->tail].next = pfn;
	else
		l->head = pfn;
	l->tail = pfn;
}

static void list_del(struct mm_host *mm, struct mm_list *l, uint32_t pfn)
{
	struct page *p = &mm->mem_map[pfn];

	if (p->prev != MM_NIL)
		mm->mem_map[p->prev].next = p->next;
	else
		l->head = p->next;
	if (p->next != MM_NIL)
		mm->mem_map[p->next].prev = p->prev;
	else
		l->tail = p->prev;
	p->next = MM_NIL;
	p->prev = MM_NIL;
}

/* ---- the buddy lists, one per (order, migratetype) ---- */

/* __add_to_free_list(): mark the head PageBuddy with its order and list type. */
static void add_to_free_list(struct mm_host *mm, struct mm_zone *z, uint32_t pfn,
			     unsigned int order, unsigned int mt, bool tail)
{
	struct page *p = &mm->mem_map[pfn];

	p->order = (uint8_t)order;
	p->mt = (uint8_t)mt;
	p->flags |= PG_buddy;
	if (tail)
		list_add_tail(mm, &z->area[order].list[mt], pfn);
	else
		list_add_head(mm, &z->area[order].list[mt], pfn);
	z->area[order].nr_free++;
	z->free_pages += 1ULL << order;
}

/* del_page_from_free_list(): the head knows which type's list it is on. */
static void del_from_free_list(struct mm_host *mm, struct mm_zone *z, uint32_t pfn,
			       unsigned int order)
{
	struct page *p = &mm->mem_map[pfn];

	p->flags &= (uint8_t)~PG_buddy;
	list_del(mm, &z->area[order].list[p->mt], pfn);
	z->area[order].nr_free--;
	z->free_pages -= 1ULL << order;
}

/* move_to_free_list(): a free block onto another type's list, at the tail (6.1 and 6.12). */
static void move_to_free_list(struct mm_host *mm, struct mm_zone *z, uint32_t pfn,
			      unsigned int order, unsigned int mt)
{
	del_from_free_list(mm, z, pfn, order);
	add_to_free_list(mm, z, pfn, order, mt, true);
}

/* set_pageblock_migratetype() over every pageblock of a block of @order (change_pageblock_range()). */
static void set_block_mt(struct mm_host *mm, uint64_t pfn, unsigned int order, unsigned int mt)
{
	uint64_t n = order > MM_PAGEBLOCK_ORDER ? 1ULL << (order - MM_PAGEBLOCK_ORDER) : 1;

	for (uint64_t i = 0; i < n; i++)
		mm->pageblock_mt[(pfn >> MM_PAGEBLOCK_ORDER) + i] = (uint8_t)mt;
}

/*
 * page_is_buddy(): may the block at @pfn merge as an order-@order buddy?  It
 * must be in the same zone (blocks never merge across nodes) and be the head
 * of a free block of exactly that order.
 */
static bool page_is_buddy(const struct mm_host *mm, const struct mm_zone *z, uint64_t pfn,
			  unsigned int order)
{
	const struct page *p;

	if (pfn < z->start_pfn || pfn >= z->end_pfn)
		return false;
	p = &mm->mem_map[pfn];
	return (p->flags & PG_buddy) && p->order == order;
}

/*
 * buddy_merge_likely(): after a free that stopped merging at @order, if the
 * buddy of the next-larger block is free, this block is likely to merge soon,
 * so Linux queues it at the tail where it is taken last.
 */
static bool buddy_merge_likely(const struct mm_host *mm, const struct mm_zone *z,
			       uint64_t pfn, unsigned int order)
{
	uint64_t higher;

	if (order >= MM_MAX_ORDER - 1)
		return false;
	higher = pfn & ~((2ULL << order) - 1);
	return page_is_buddy(mm, z, higher ^ (2ULL << order), order + 1);
}

/*
 * __free_one_page(): give a block back to the buddy lists of type @mt,
 * merging with its buddy (pfn ^ 2^order) while that one is free with the
 * same order; the merged block starts at the lower of the two.  UNMOVABLE,
 * MOVABLE and RECLAIMABLE are all mergeable (migratetype_is_mergeable()).
 * 6.12 re-types a buddy pageblock of another type to @mt when they merge
 * past pageblock order ("Match buddy type"); 6.1 leaves it.  @to_tail is
 * FPI_TO_TAIL.
 */
static void free_one_page(struct mm_host *mm, struct mm_zone *z, uint64_t pfn,
			  unsigned int order, unsigned int mt, bool to_tail)
{
	while (order < MM_MAX_ORDER) {
		uint64_t buddy = pfn ^ (1ULL << order);

		if (!page_is_buddy(mm, z, buddy, order))
			break;
		del_from_free_list(mm, z, (uint32_t)buddy, order);
		if (mm->kernel == MM_KERNEL_6_12 && order >= MM_PAGEBLOCK_ORDER &&
		    mm_pageblock_mt(mm, buddy) != mt)
			set_block_mt(mm, buddy, order, mt);
		pfn &= buddy;
		order++;
	}
	if (!to_tail)
		to_tail = buddy_merge_likely(mm, z, pfn, order);
	add_to_free_list(mm, z, (uint32_t)pfn, order, mt, to_tail);
}

/* Boot memory goes to the tail (__free_pages_core() uses FPI_TO_TAIL), as MOVABLE. */
void mm_boot_free_block(struct mm_host *mm, unsigned int zid, uint64_t pfn, unsigned int order)
{
	free_one_page(mm, &mm->zones[zid], pfn, order, mm_pageblock_mt(mm, pfn), true);
}

/*
 * expand(): a block of order @high was taken for an order-@low request.  Keep
 * the LOW part and put each upper half on the next-lower free list of @mt (at
 * the head), so the first order-0 page cut from a fresh 4MB block is that
 * block's first page: 4MB-, hence 2MB-aligned.
 *
 * Head or tail cannot be told apart, under either kernel: every list
 * expand() adds to is empty at that moment, so "halves to the tail" is an
 * equivalent mutant and the low part kept is what tests pin.  The halves go
 * to orders [low, high) of @mt, and each caller took its block of order
 * @high from the smallest order that had one:
 *  - __rmqueue_smallest() (both kernels): the smallest non-empty order of
 *    @mt at or above @low, so @mt's lists below @high are empty.  6.1's
 *    __rmqueue_fallback() only moves blocks (a whole pageblock's free pages
 *    with whole_block) to the request's lists and then retries
 *    __rmqueue_smallest(), so its expand() is this one.
 *  - 6.12.95's claim of a block of pageblock order or more: reached only
 *    after __rmqueue_smallest() of the same type failed in the same call
 *    (RMQUEUE_CLAIM is never a starting mode here: no CMA), so the
 *    request's lists at every order from @low up are empty.
 *  - 6.12.95's steal: the smallest order at which any fallback type has a
 *    block, and the halves go to that fallback type, empty below it.
 * Checked, not only argued (session 3): with a probe in this loop, no list
 * was non-empty over the whole test suite and simulate --kernel 6.1 and
 * 6.12 at --age 0, 60 and 90; with the tail mutant applied the suite passes
 * and simulate --kernel 6.1 / 6.12 (--age 80, 8 trials, 512M) prints
 * byte-identical JSON.
 */
static void expand(struct mm_host *mm, struct mm_zone *z, uint64_t pfn,
		   unsigned int low, unsigned int high, unsigned int mt)
{
	while (high > low) {
		high--;
		add_to_free_list(mm, z, (uint32_t)(pfn + (1ULL << high)), high, mt, false);
	}
}

/* Take a free block off its list and split it down to @order (page_del_and_expand()). */
static uint32_t del_and_expand(struct mm_host *mm, struct mm_zone *z, uint32_t pfn,
			       unsigned int order, unsigned int cur, unsigned int mt)
{
	del_from_free_list(mm, z, pfn, cur);
	expand(mm, z, pfn, order, cur, mt);
	return pfn;
}

/* __rmqueue_smallest(): the smallest free block of type @mt that fits, from its list head. */
static uint32_t rmqueue_smallest(struct mm_host *mm, struct mm_zone *z, unsigned int order,
				 unsigned int mt)
{
	for (unsigned int o = order; o <= MM_MAX_ORDER; o++) {
		uint32_t pfn = z->area[o].list[mt].head;

		if (pfn != MM_NIL)
			return del_and_expand(mm, z, pfn, order, o, mt);
	}
	return MM_NIL;
}

/* ---- migratetype fallback: 6.1's __rmqueue_fallback(), 6.12.95's claim and steal ---- */

/*
 * trace_mm_page_alloc_extfrag() at the same places as the kernel's, with
 * its change_ownership: the request's type is now the pageblock's
 * (include/trace/events/kmem.h in Debian's 6.1.192 and 6.12.95).
 */
static void count_extfrag(struct mm_host *mm, uint32_t pfn, unsigned int fallback_order,
			  unsigned int start_mt)
{
	struct mm_pcp_flow *f = &mm->pcp_flow;

	if (mm_pageblock_mt(mm, pfn) != start_mt)
		f->steal[start_mt]++;
	else if (fallback_order >= MM_PAGEBLOCK_ORDER)
		f->claim_block[start_mt]++;
	else
		f->claim_part[start_mt]++;
}

/* fallbacks[]: the types a request may steal from, in order (MIGRATE_TYPES ends it). */
static const uint8_t fallbacks[MM_NR_MIGRATETYPES][2] = {
	[MM_MT_UNMOVABLE] = { MM_MT_RECLAIMABLE, MM_MT_MOVABLE },
	[MM_MT_MOVABLE] = { MM_MT_RECLAIMABLE, MM_MT_UNMOVABLE },
	[MM_MT_RECLAIMABLE] = { MM_MT_UNMOVABLE, MM_MT_MOVABLE },
};

/*
 * can_steal_fallback(): a whole pageblock may be taken over for a block of
 * pageblock order or half of it, and always for UNMOVABLE and RECLAIMABLE
 * requests (they would pollute another block anyway).
 */
static bool can_steal_fallback(unsigned int order, unsigned int start_mt)
{
	return order >= MM_PAGEBLOCK_ORDER / 2 || start_mt != MM_MT_MOVABLE;
}

/* find_suitable_fallback(..., only_stealable = false): the first fallback type with a block. */
static SNP_MUST_CHECK int find_suitable_fallback(const struct mm_zone *z, unsigned int order,
				  unsigned int start_mt, bool *can_steal)
{
	if (!z->area[order].nr_free)
		return -1;
	for (unsigned int i = 0; i < 2; i++) {
		unsigned int mt = fallbacks[start_mt][i];

		if (list_empty(&z->area[order].list[mt]))
			continue;
		*can_steal = can_steal_fallback(order, start_mt);
		return (int)mt;
	}
	return -1;
}

/*
 * move_freepages_block() (6.1) / prep_move_freepages_block() (6.12): count
 * the free pages of @pfn's pageblock and the MOVABLE pages in use in it
 * (PageLRU / __PageMovable: here, live allocations of MOVABLE requests);
 * when @move_to is a type, move the free blocks onto its lists.  false when
 * the pageblock crosses the zone (the kernel refuses those).
 */
static bool scan_pageblock(struct mm_host *mm, struct mm_zone *z, uint64_t pfn, int move_to,
			   uint64_t *free, uint64_t *movable)
{
	uint64_t start = pfn & ~((1ULL << MM_PAGEBLOCK_ORDER) - 1);
	uint64_t end = start + (1ULL << MM_PAGEBLOCK_ORDER);

	*free = *movable = 0;
	if (start < z->start_pfn || end > z->end_pfn)
		return false;
	for (uint64_t p = start; p < end;) {
		const struct page *pg = &mm->mem_map[p];
		uint64_t n = (pg->flags & (PG_buddy | PG_pcp | PG_alloc)) ? 1ULL << pg->order : 1;

		if (pg->flags & PG_buddy) {
			*free += n;
			if (move_to >= 0)
				move_to_free_list(mm, z, (uint32_t)p, pg->order, (unsigned int)move_to);
		} else if ((pg->flags & PG_alloc) && pg->mt == MM_MT_MOVABLE) {
			*movable += n;
		}
		p += n;
	}
	return true;
}

/*
 * The part of steal_suitable_fallback() below pageblock order, for a block
 * of the pageblock already taken (6.12) or still free (6.1): claim the whole
 * pageblock when free pages plus pages "alike" the request make at least
 * half of it.  For an UNMOVABLE or RECLAIMABLE request from a MOVABLE block
 * every page in use that is not movable counts as alike; for MOVABLE, the
 * movable ones; between UNMOVABLE and RECLAIMABLE none.
 */
static bool claim_block_ok(const struct mm_host *mm, uint64_t pfn, unsigned int start_mt,
			   uint64_t free, uint64_t movable)
{
	unsigned int block_mt = mm_pageblock_mt(mm, pfn);
	uint64_t alike;

	if (start_mt == MM_MT_MOVABLE)
		alike = movable;
	else if (block_mt == MM_MT_MOVABLE)
		alike = (1ULL << MM_PAGEBLOCK_ORDER) - (free + movable);
	else
		alike = 0;
	return free + alike >= (1ULL << (MM_PAGEBLOCK_ORDER - 1));
}

/*
 * steal_suitable_fallback() of 6.1: at or above pageblock order the block's
 * pageblocks change type whole and the block moves to the request's list;
 * below it, with whole_block, every free page of the pageblock moves to the
 * request's lists (claimed or not) and the pageblock is re-typed if the
 * claim holds; without whole_block only the block moves.  The caller then
 * retries __rmqueue_smallest().
 */
static void steal_fallback_61(struct mm_host *mm, struct mm_zone *z, uint32_t pfn,
			      unsigned int cur, unsigned int start_mt, bool whole_block)
{
	uint64_t free, movable;

	if (cur >= MM_PAGEBLOCK_ORDER) {
		set_block_mt(mm, pfn, cur, start_mt);
		move_to_free_list(mm, z, pfn, cur, start_mt);
		return;
	}
	if (!whole_block || !scan_pageblock(mm, z, pfn, (int)start_mt, &free, &movable) || !free) {
		if (mm->mem_map[pfn].flags & PG_buddy)
			move_to_free_list(mm, z, pfn, cur, start_mt);
		return;
	}
	if (claim_block_ok(mm, pfn, start_mt, free, movable))
		set_block_mt(mm, pfn, MM_PAGEBLOCK_ORDER, start_mt);
}

/*
 * try_to_steal_block() of Debian's 6.12.95 (the v6.15 claim/steal rework,
 * backported to 6.12.y; upstream calls it try_to_claim_block()): a block of
 * pageblock order or more changes type whole and is split for the request;
 * a smaller one claims its pageblock only when free pages plus pages alike
 * make at least half of it, and then the request retries its own type.
 * Otherwise nothing is taken: MM_NIL.
 */
static uint32_t try_to_claim_block_612(struct mm_host *mm, struct mm_zone *z, uint32_t pfn,
				       unsigned int cur, unsigned int order, unsigned int start_mt)
{
	uint64_t free, movable;

	if (cur >= MM_PAGEBLOCK_ORDER) {
		del_from_free_list(mm, z, pfn, cur);
		set_block_mt(mm, pfn, cur, start_mt);
		expand(mm, z, pfn, order, cur, start_mt);
		return pfn;
	}
	if (!scan_pageblock(mm, z, pfn, -1, &free, &movable) ||
	    !claim_block_ok(mm, pfn, start_mt, free, movable))
		return MM_NIL;
	scan_pageblock(mm, z, pfn, (int)start_mt, &free, &movable);
	set_block_mt(mm, pfn, MM_PAGEBLOCK_ORDER, start_mt);
	return rmqueue_smallest(mm, z, order, start_mt);
}

/*
 * __rmqueue_claim() of 6.12.95: from the largest order down (to pageblock
 * order only under ALLOC_NOFRAGMENT), try to claim the pageblock of each
 * fallback block found; stop at the first order whose blocks may not be
 * claimed (can_steal_fallback() only weakens as the order falls).
 */
static uint32_t rmqueue_claim_612(struct mm_host *mm, struct mm_zone *z, unsigned int order,
				  unsigned int start_mt, bool nofrag)
{
	unsigned int min_order = nofrag && order < MM_PAGEBLOCK_ORDER ? MM_PAGEBLOCK_ORDER : order;
	bool can_steal = false;

	for (int cur = MM_MAX_ORDER; cur >= (int)min_order; cur--) {
		int fmt = find_suitable_fallback(z, (unsigned int)cur, start_mt, &can_steal);
		uint32_t pfn;

		if (fmt < 0)
			continue;
		if (!can_steal)
			break;
		pfn = try_to_claim_block_612(mm, z, z->area[cur].list[fmt].head, (unsigned int)cur,
					     order, start_mt);
		if (pfn != MM_NIL) {
			count_extfrag(mm, pfn, (unsigned int)cur, start_mt);
			return pfn;
		}
	}
	return MM_NIL;
}

/*
 * __rmqueue_steal() of 6.12.95: no pageblock could be claimed, so take the
 * SMALLEST fallback block that fits and leave its remainders, and its
 * pageblock, of the fallback type.
 */
static uint32_t rmqueue_steal_612(struct mm_host *mm, struct mm_zone *z, unsigned int order,
				  unsigned int start_mt)
{
	bool can_steal;

	for (unsigned int cur = order; cur <= MM_MAX_ORDER; cur++) {
		int fmt = find_suitable_fallback(z, cur, start_mt, &can_steal);

		if (fmt >= 0) {
			uint32_t pfn = del_and_expand(mm, z, z->area[cur].list[fmt].head, order,
						      cur, (unsigned int)fmt);

			count_extfrag(mm, pfn, cur, start_mt);
			return pfn;
		}
	}
	return MM_NIL;
}

/*
 * __rmqueue_fallback() of 6.1: no block of the request's type fits, so take one of
 * another type: the LARGEST free block first (orders from MAX down to the
 * request, or down to pageblock order only under ALLOC_NOFRAGMENT), from the
 * first type of fallbacks[] that has one.  A MOVABLE request that may not
 * steal the block takes the smallest fallback block instead (find_smallest).
 */
static uint32_t rmqueue_fallback(struct mm_host *mm, struct mm_zone *z, unsigned int order,
				 unsigned int start_mt, bool nofrag)
{
	unsigned int min_order = nofrag && order < MM_PAGEBLOCK_ORDER ? MM_PAGEBLOCK_ORDER : order;
	bool can_steal = false;
	uint32_t pfn;
	int fmt = -1;
	int cur;

	for (cur = MM_MAX_ORDER; cur >= (int)min_order; cur--) {
		fmt = find_suitable_fallback(z, (unsigned int)cur, start_mt, &can_steal);
		if (fmt >= 0)
			break;
	}
	if (fmt < 0)
		return MM_NIL;
	if (!can_steal && start_mt == MM_MT_MOVABLE && (unsigned int)cur > order) {
		for (cur = (int)order; cur <= (int)MM_MAX_ORDER; cur++) {   /* find_smallest */
			fmt = find_suitable_fallback(z, (unsigned int)cur, start_mt, &can_steal);
			if (fmt >= 0)
				break;
		}
	}
	pfn = z->area[cur].list[fmt].head;
	steal_fallback_61(mm, z, pfn, (unsigned int)cur, start_mt, can_steal);
	count_extfrag(mm, pfn, (unsigned int)cur, start_mt);
	return rmqueue_smallest(mm, z, order, start_mt);
}

/*
 * __rmqueue()'s modes in 6.12.95: a bulk refill that had to steal keeps
 * stealing for the rest of the batch instead of searching its own type and
 * claiming again (rmqueue_bulk() passes the mode from call to call).
 */
enum rmqueue_mode { RMQUEUE_NORMAL, RMQUEUE_CLAIM, RMQUEUE_STEAL };

/*
 * __rmqueue(): the request's own type first, then the fallback: 6.1's
 * __rmqueue_fallback(), or 6.12.95's claim, then (never under
 * ALLOC_NOFRAGMENT) steal.
 */
static uint32_t rmqueue_buddy(struct mm_host *mm, struct mm_zone *z, unsigned int order,
			      unsigned int mt, bool nofrag, enum rmqueue_mode *mode)
{
	uint32_t pfn;

	if (mm->kernel == MM_KERNEL_6_1) {
		pfn = rmqueue_smallest(mm, z, order, mt);
		return pfn != MM_NIL ? pfn : rmqueue_fallback(mm, z, order, mt, nofrag);
	}
	switch (*mode) {
	case RMQUEUE_NORMAL:
		pfn = rmqueue_smallest(mm, z, order, mt);
		if (pfn != MM_NIL)
			return pfn;
		/* fall through */
	case RMQUEUE_CLAIM:
		pfn = rmqueue_claim_612(mm, z, order, mt, nofrag);
		if (pfn != MM_NIL) {
			*mode = RMQUEUE_NORMAL;
			return pfn;
		}
		/* fall through */
	case RMQUEUE_STEAL:
		if (!nofrag) {
			pfn = rmqueue_steal_612(mm, z, order, mt);
			if (pfn != MM_NIL) {
				*mode = RMQUEUE_STEAL;
				return pfn;
			}
		}
	}
	return MM_NIL;
}

/* ---- per-CPU page lists ---- */

static unsigned int pindex_order(unsigned int pindex)
{
	return pindex < MM_NR_LOWORDER_PCP_LISTS ? pindex / MM_NR_MIGRATETYPES : MM_PAGEBLOCK_ORDER;
}

/* rmqueue_bulk(): move up to @count order-@order blocks of @mt to the pcp list tail. */
static unsigned int rmqueue_bulk(struct mm_host *mm, struct mm_zone *z, unsigned int order,
				 unsigned int count, struct mm_pcp *pcp, unsigned int mt, bool nofrag)
{
	struct mm_list *l = &pcp->lists[mm_pindex(mt, order)];
	enum rmqueue_mode mode = RMQUEUE_NORMAL;
	unsigned int n;

	for (n = 0; n < count; n++) {
		uint32_t pfn = rmqueue_buddy(mm, z, order, mt, nofrag, &mode);

		if (pfn == MM_NIL)
			break;
		mm->mem_map[pfn].flags |= PG_pcp;
		mm->mem_map[pfn].order = (uint8_t)order;
		mm->mem_map[pfn].mt = (uint8_t)mt;
		list_add_tail(mm, l, pfn);
	}
	pcp->count += n << order;
	if (!order)
		mm->pcp_flow.refill[mt] += n;
	return n;
}

/* The migratetype a block on a pcp list goes back to the buddy as. */
static unsigned int pcp_free_mt(const struct mm_host *mm, uint32_t pfn)
{
	/* 6.1: the type cached at free time (get_pcppage_migratetype()); 6.12: the pageblock's now */
	if (mm->kernel == MM_KERNEL_6_1)
		return mm->mem_map[pfn].mt;
	return mm_pageblock_mt(mm, pfn);
}

/*
 * free_pcppages_bulk(): give @count pages of a pcp back to the buddy.  Lists
 * are visited round-robin in pindex order starting with @pindex (the list
 * just freed to is drained first), each emptied from its tail (the coldest
 * pages) until the count is reached.
 */
static void free_pcppages_bulk(struct mm_host *mm, struct mm_zone *z, struct mm_pcp *pcp,
			       uint64_t count, unsigned int pindex)
{
	pindex = (pindex + MM_NR_PCP_LISTS - 1) % MM_NR_PCP_LISTS;   /* pindex - 1 */
	while (count > 0 && pcp->count > 0) {
		struct mm_list *l;
		unsigned int order;

		do {
			pindex = (pindex + 1) % MM_NR_PCP_LISTS;
		} while (list_empty(&pcp->lists[pindex]));
		l = &pcp->lists[pindex];
		order = pindex_order(pindex);
		do {
			uint32_t pfn = l->tail;
			uint32_t nr = 1u << order;

			list_del(mm, l, pfn);
			mm->mem_map[pfn].flags &= (uint8_t)~PG_pcp;
			pcp->count -= nr;
			count = count > nr ? count - nr : 0;
			if (!order)
				mm->pcp_flow.drain[pcp_free_mt(mm, pfn)]++;
			free_one_page(mm, z, pfn, order, pcp_free_mt(mm, pfn), false);
		} while (count > 0 && !list_empty(l));
	}
}

/*
 * rmqueue_pcplist(): take from the head of this CPU's list for (type,
 * order) (LIFO: the page freed last comes back first).  An empty list is
 * refilled first with nr_pcp_alloc() blocks (pcp_size.c).
 */
static uint32_t rmqueue_pcplist(struct mm_host *mm, unsigned int cpu, unsigned int zid,
				unsigned int order, unsigned int mt, bool nofrag)
{
	struct mm_pcp *pcp = mm_pcp_of(mm, cpu, zid);
	struct mm_list *l = &pcp->lists[mm_pindex(mt, order)];
	uint32_t pfn;

	mm_pcp_note_alloc(mm, pcp);
	if (list_empty(l)) {
		unsigned int batch = mm_nr_pcp_alloc(mm, &mm->zones[zid], pcp, order);

		if (!rmqueue_bulk(mm, &mm->zones[zid], order, batch, pcp, mt, nofrag))
			return MM_NIL;
	}
	pfn = l->head;
	list_del(mm, l, pfn);
	mm->mem_map[pfn].flags &= (uint8_t)~PG_pcp;
	pcp->count -= 1u << order;
	return pfn;
}

/* rmqueue(): pcp orders (0..3 and THP) through the pcp, others from the buddy. */
static uint32_t rmqueue(struct mm_host *mm, unsigned int cpu, unsigned int zid, unsigned int order,
			unsigned int mt, bool nofrag)
{
	enum rmqueue_mode mode = RMQUEUE_NORMAL;

	if (mm_pcp_order(order))
		return rmqueue_pcplist(mm, cpu, zid, order, mt, nofrag);
	return rmqueue_buddy(mm, &mm->zones[zid], order, mt, nofrag, &mode);
}

/*
 * The lowmem_reserve part of zone_watermark_fast() / __zone_watermark_ok():
 * a GFP_KERNEL request may take from a zone only while its free pages, less
 * the request, stay above lowmem_reserve[ZONE_NORMAL].  The watermarks
 * themselves are not modeled (min = 0), so a zone with no reserve (the
 * node's highest) is always tried.
 */
static bool zone_reserve_ok(const struct mm_zone *z, unsigned int order)
{
	if (!z->lowmem_reserve)
		return true;
	return z->free_pages + 1 > (1ULL << order) &&
	       z->free_pages - (1ULL << order) + 1 > z->lowmem_reserve;
}

/*
 * alloc_flags_nofragment(): ALLOC_NOFRAGMENT when the preferred zone is
 * Normal and the node has DMA32 below it (x86-64 with more than 4 GiB).
 */
static bool alloc_nofragment(const struct mm_host *mm, unsigned int nid)
{
	unsigned int first = mm->node_zone[nid], last = mm->node_zone[nid + 1] - 1;

	return mm->zones[last].type == MM_ZONE_NORMAL && last > first &&
	       mm->zones[last - 1].type == MM_ZONE_DMA32;
}

/* One pass over node @n's zones, Normal down to DMA. */
static uint32_t node_zonelist(struct mm_host *mm, unsigned int cpu, unsigned int n,
			      unsigned int order, unsigned int mt, bool nofrag)
{
	for (unsigned int z = mm->node_zone[n + 1]; z-- > mm->node_zone[n];) {
		uint32_t pfn;

		if (!zone_reserve_ok(&mm->zones[z], order))
			continue;
		pfn = rmqueue(mm, cpu, z, order, mt, nofrag);
		if (pfn != MM_NIL)
			return pfn;
	}
	return MM_NIL;
}

/*
 * get_page_from_freelist() over the zonelist as build_zonelists() orders it
 * (node order): the preferred node's zones from Normal down to DMA, then the
 * next nodes' the same way.  Under ALLOC_NOFRAGMENT the local node is tried
 * first taking only whole pageblocks from other types; before any remote
 * zone, or when every zone failed, the flag is dropped and the walk starts
 * again.
 */
static uint32_t get_page_from_freelist(struct mm_host *mm, unsigned int cpu, unsigned int nid,
				       mm_gfp_t gfp, unsigned int order, unsigned int mt)
{
	unsigned int tries = (gfp & MM_GFP_THISNODE) ? 1 : mm->nr_nodes;
	uint32_t pfn;

	if (alloc_nofragment(mm, nid)) {
		pfn = node_zonelist(mm, cpu, nid, order, mt, true);
		if (pfn != MM_NIL)
			return pfn;
	}
	for (unsigned int i = 0; i < tries; i++) {
		pfn = node_zonelist(mm, cpu, (nid + i) % mm->nr_nodes, order, mt, false);
		if (pfn != MM_NIL)
			return pfn;
	}
	return MM_NIL;
}

void mm_drain_all_pages(struct mm_host *mm)
{
	if (!mm)
		return;
	for (unsigned int cpu = 0; cpu < mm->nr_cpus; cpu++)
		for (unsigned int zid = 0; zid < mm->nr_zones; zid++) {
			struct mm_pcp *pcp = mm_pcp_of(mm, cpu, zid);

			free_pcppages_bulk(mm, &mm->zones[zid], pcp, pcp->count, 0);
		}
}

/* The pcp decay of one (cpu, zone): 6.12 decay_pcp_high(), from the vmstat refresh. */
void mm_pcp_drain_to(struct mm_host *mm, unsigned int cpu, unsigned int zid, uint64_t count)
{
	free_pcppages_bulk(mm, &mm->zones[zid], mm_pcp_of(mm, cpu, zid), count, 0);
}

/*
 * want_init_on_alloc(): __GFP_ZERO, or init_on_alloc on (Debian's
 * CONFIG_INIT_ON_ALLOC_DEFAULT_ON), whatever the flags.
 */
bool mm_want_init_on_alloc(const struct mm_host *mm, mm_gfp_t gfp)
{
	return (gfp & MM_GFP_ZERO) || (mm && mm->init_on_alloc);
}

/*
 * prep_new_page(): mark the allocation head; post_alloc_hook() ->
 * kernel_init_pages() clears every page when want_init_on_alloc() says so.
 */
static struct page *prep_new_page(struct mm_host *mm, uint32_t pfn, mm_gfp_t gfp,
				  unsigned int order, unsigned int mt)
{
	struct page *p = &mm->mem_map[pfn];

	p->flags |= PG_alloc;
	p->order = (uint8_t)order;
	p->mt = (uint8_t)mt;
	mm->alloc_events[order][mt]++;
	if (mm_want_init_on_alloc(mm, gfp)) {
		for (uint32_t i = 0; i < (1u << order); i++)
			p[i].flags |= PG_zeroed;
		mm->cleared += 1ULL << order;
	}
	mm->allocated += 1ULL << order;
	mm->last_err = 0;
	return p;
}

/*
 * alloc_pages_node() / __alloc_pages(): the fast path, then the slow path's
 * one retry after drain_all_pages() (__alloc_pages_direct_reclaim() drains
 * the pcp lists of every CPU when its first attempt fails).
 */
/* gfp_migratetype(): __GFP_MOVABLE / __GFP_RECLAIMABLE, else UNMOVABLE. */
static unsigned int gfp_migratetype(mm_gfp_t gfp)
{
	if (gfp & MM_GFP_MOVABLE)
		return MM_MT_MOVABLE;
	return (gfp & MM_GFP_RECLAIMABLE) ? MM_MT_RECLAIMABLE : MM_MT_UNMOVABLE;
}

/**
 * mm_alloc_pages_node() - alloc_pages_node() run on @cpu.
 *
 * Why @cpu is a parameter: in the kernel the per-CPU list an allocation takes
 * from is this_cpu's, and MM_NUMA_NO_NODE means this CPU's node
 * (numa_node_id()).  The model has no current CPU, so the caller names the
 * CPU its modeled code runs on; a page freed on one CPU sits on that CPU's
 * list and is not handed out on another before a drain.  SNP_EINVAL (in
 * mm_last_error()) for a CPU the host does not have.
 */
struct page *mm_alloc_pages_node(struct mm_host *mm, unsigned int cpu, int nid, mm_gfp_t gfp,
				 unsigned int order)
{
	unsigned int mt = gfp_migratetype(gfp);
	uint32_t pfn;

	if (!mm)
		return NULL;
	if (nid == MM_NUMA_NO_NODE)
		nid = mm_cpu_to_node(mm, cpu);
	if (order > MM_MAX_ORDER || (gfp & ~MM_GFP_ALL) || cpu >= mm->nr_cpus || nid < 0 ||
	    (unsigned int)nid >= mm->nr_nodes ||
	    (gfp & (MM_GFP_MOVABLE | MM_GFP_RECLAIMABLE)) == (MM_GFP_MOVABLE | MM_GFP_RECLAIMABLE)) {
		mm_err(mm, SNP_EINVAL);
		return NULL;
	}
	pfn = get_page_from_freelist(mm, cpu, (unsigned int)nid, gfp, order, mt);
	if (pfn == MM_NIL && !(gfp & MM_GFP_NORETRY)) {
		mm_drain_all_pages(mm);
		pfn = get_page_from_freelist(mm, cpu, (unsigned int)nid, gfp, order, mt);
	}
	if (pfn == MM_NIL) {
		mm_err(mm, SNP_ENOMEM);
		return NULL;
	}
	return prep_new_page(mm, pfn, gfp, order, mt);
}

struct page *mm_alloc_pages(struct mm_host *mm, unsigned int cpu, mm_gfp_t gfp, unsigned int order)
{
	return mm_alloc_pages_node(mm, cpu, MM_NUMA_NO_NODE, gfp, order);
}

/* Is @page the head of a live allocation of exactly @order? */
static SNP_MUST_CHECK int check_live_head(struct mm_host *mm, const struct page *page, unsigned int order)
{
	if (!mm)
		return SNP_EINVAL;
	if (!mm_page_valid(mm, page) || order > MM_MAX_ORDER)
		return mm_err(mm, SNP_EINVAL);
	if (!(page->flags & PG_alloc) || page->order != order)
		return mm_err(mm, SNP_EINVAL);
	return 0;
}

/*
 * free_unref_page() / free_unref_page_commit(): a pcp-order block goes to the
 * head of @cpu's list for its pageblock's type
 * (get_pfnblock_migratetype()) in the page's zone; past the high mark some
 * pages go back to the buddy (nr_pcp_high() / nr_pcp_free(), pcp_size.c).
 */
static void free_to_pcp(struct mm_host *mm, unsigned int cpu, uint32_t pfn, unsigned int order)
{
	unsigned int zid = mm_zid_of_pfn(mm, pfn), mt = mm_pageblock_mt(mm, pfn);
	struct mm_pcp *pcp = mm_pcp_of(mm, cpu, zid);
	unsigned int pindex = mm_pindex(mt, order);
	uint64_t count;

	mm->mem_map[pfn].flags |= PG_pcp;
	mm->mem_map[pfn].order = (uint8_t)order;
	mm->mem_map[pfn].mt = (uint8_t)mt;
	list_add_head(mm, &pcp->lists[pindex], pfn);
	pcp->count += 1u << order;
	count = mm_pcp_free_commit(mm, &mm->zones[zid], pcp, order);
	if (count)
		free_pcppages_bulk(mm, &mm->zones[zid], pcp, count, pindex);
}

/* __free_pages() on @cpu: a pcp order goes to @cpu's list (see mm_alloc_pages_node()). */
int mm_free_pages(struct mm_host *mm, unsigned int cpu, struct page *page, unsigned int order)
{
	int err = check_live_head(mm, page, order);
	uint32_t pfn;

	if (err)
		return err;
	if (cpu >= mm->nr_cpus)
		return mm_err(mm, SNP_EINVAL);
	pfn = mm_pfn_of(mm, page);
	page->flags &= (uint8_t)~PG_alloc;
	mm->allocated -= 1ULL << order;
	if (mm_pcp_order(order))
		free_to_pcp(mm, cpu, pfn, order);
	else   /* __free_pages_ok(): the pageblock's type */
		free_one_page(mm, &mm->zones[mm_zid_of_pfn(mm, pfn)], pfn, order,
			      mm_pageblock_mt(mm, pfn), false);
	return 0;
}

/* A boot reservation's page, no longer reserved, freed as __free_page() frees it (host.c). */
void mm_free_boot_page(struct mm_host *mm, unsigned int cpu, uint64_t pfn)
{
	free_to_pcp(mm, cpu, (uint32_t)pfn, 0);
}

/* split_page(): every page of the block becomes its own order-0 allocation. */
int mm_split_page(struct mm_host *mm, struct page *page, unsigned int order)
{
	int err = check_live_head(mm, page, order);

	if (err)
		return err;
	for (uint32_t i = 0; i < (1u << order); i++) {
		page[i].flags |= PG_alloc;
		page[i].order = 0;
		page[i].mt = page->mt;
	}
	return 0;
}

/* ---- page contents (modeled by one bit) ---- */

int mm_page_write(struct mm_host *mm, struct page *page)
{
	if (!mm_page_valid(mm, page))
		return mm ? mm_err(mm, SNP_EINVAL) : SNP_EINVAL;
	page->flags &= (uint8_t)~PG_zeroed;
	return 0;
}

int mm_clear_page(struct mm_host *mm, struct page *page)
{
	if (!mm_page_valid(mm, page))
		return mm ? mm_err(mm, SNP_EINVAL) : SNP_EINVAL;
	page->flags |= PG_zeroed;
	mm->cleared++;
	return 0;
}

uint64_t mm_pages_cleared(const struct mm_host *mm)
{
	return mm ? mm->cleared : 0;
}

int mm_pcp_flow(const struct mm_host *mm, struct mm_pcp_flow *out)
{
	if (!mm || !out)
		return SNP_EINVAL;
	*out = mm->pcp_flow;
	return 0;
}

void mm_pcp_flow_add(struct mm_pcp_flow *sum, const struct mm_pcp_flow *f, int sign)
{
	uint64_t *const d[] = { sum->refill, sum->drain, sum->claim_block, sum->claim_part, sum->steal };
	const uint64_t *const s[] = { f->refill, f->drain, f->claim_block, f->claim_part, f->steal };

	for (size_t i = 0; i < sizeof(d) / sizeof(d[0]); i++)
		for (unsigned int t = 0; t < MM_NR_MIGRATETYPES; t++)
			d[i][t] = sign < 0 ? d[i][t] - s[i][t] : d[i][t] + s[i][t];
}

int mm_alloc_events(const struct mm_host *mm, uint64_t out[MM_NR_ORDERS][MM_NR_MIGRATETYPES])
{
	if (!mm || !out)
		return SNP_EINVAL;
	memcpy(out, mm->alloc_events, sizeof(mm->alloc_events));
	return 0;
}

int mm_page_dirty(const struct mm_host *mm, const struct page *page)
{
	if (!mm_page_valid(mm, page))
		return SNP_EINVAL;
	return !(page->flags & PG_zeroed);
}

int mm_page_allocated(const struct mm_host *mm, const struct page *page)
{
	if (!mm_page_valid(mm, page))
		return SNP_EINVAL;
	return !!(page->flags & PG_alloc);
}

/* Same geometry: the arrays of one can be copied over the other's as they are. */
static bool mm_same_geometry(const struct mm_host *a, const struct mm_host *b)
{
	return a->nr_pages == b->nr_pages && a->pages_per_node == b->pages_per_node &&
	       a->nr_nodes == b->nr_nodes && a->nr_cpus == b->nr_cpus &&
	       a->nr_zones == b->nr_zones && a->kernel == b->kernel &&
	       a->cfg_batch == b->cfg_batch && a->cfg_high == b->cfg_high &&
	       a->llc_slice_kib == b->llc_slice_kib && a->held_per_node == b->held_per_node &&
	       !memcmp(a->node_zone, b->node_zone, (a->nr_nodes + 1) * sizeof(*a->node_zone));
}

void mm_mem_map_copy(struct mm_host *dst, const struct mm_host *src)
{
	for (unsigned int nid = 0; nid < src->nr_nodes; nid++) {
		uint64_t start, end;

		mm_node_span(src, nid, &start, &end);
		memcpy(&dst->mem_map[start], &src->mem_map[start],
		       (end - start - src->held_per_node) * sizeof(*src->mem_map));
	}
}

/*
 * Nothing in Linux: a simulation device.  Free lists, pcp lists and the
 * held/free state all live in pfn-indexed arrays (no pointers), so copying
 * mem_map, the pageblock migratetypes, the zones and the pcps is an exact
 * clone of the allocator: the same calls on both give the same pages.  This
 * lets `simulate` age one allocator and start many trials from it.  The
 * client (the KVM layer's SNP allocator state) of @dst is kept: pages a
 * client holds (a sieve pool) are not known here, so the caller empties
 * them first in both (snp_safe_release()).
 */
int mm_host_copy_state(struct mm_host *dst, const struct mm_host *src)
{
	if (!dst || !src || dst == src)
		return SNP_EINVAL;
	if (!mm_same_geometry(dst, src))
		return mm_err(dst, SNP_EINVAL);
	mm_mem_map_copy(dst, src);
	memcpy(dst->pageblock_mt, src->pageblock_mt, (src->nr_pages >> MM_PAGEBLOCK_ORDER) + 1);
	memcpy(dst->zones, src->zones, src->nr_zones * sizeof(*src->zones));
	memcpy(dst->pcp, src->pcp, (size_t)src->nr_cpus * src->nr_zones * sizeof(*src->pcp));
	dst->allocated = src->allocated;
	dst->cleared = src->cleared;
	memcpy(dst->alloc_events, src->alloc_events, sizeof(dst->alloc_events));
	dst->pcp_flow = src->pcp_flow;
	dst->last_err = 0;
	return 0;
}
