// SPDX-License-Identifier: MIT
/*
 * page_alloc.c - the buddy allocator and the per-CPU page lists of one modeled
 * host, after Linux mm/page_alloc.c (6.x).  Function names in comments are
 * the kernel functions each piece mirrors; the code is our own.
 *
 * What is modeled: one zone per node (or x86's DMA/DMA32/Normal with
 * lowmem_reserve, mm_config.x86_layout), one migratetype, orders 0..10, the
 * expand() split rule, buddy merging in __free_one_page() with the
 * buddy_merge_likely() tail placement, pcp lists for orders 0..3 refilled by
 * rmqueue_bulk() and drained from their cold tail by free_pcppages_bulk(),
 * drain_all_pages() and one retry when an allocation fails, node fallback in
 * node order.  Not modeled: watermarks, migratetypes and their fallbacks,
 * compaction, reclaim, page shuffling (docs/MODEL.md lists each choice).
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

/* ---- the buddy lists ---- */

/* __add_to_free_list(): mark the head PageBuddy with its order. */
static void add_to_free_list(struct mm_host *mm, struct mm_zone *z, uint32_t pfn,
			     unsigned int order, bool tail)
{
	struct page *p = &mm->mem_map[pfn];

	p->order = (uint8_t)order;
	p->flags |= PG_buddy;
	if (tail)
		list_add_tail(mm, &z->area[order].list, pfn);
	else
		list_add_head(mm, &z->area[order].list, pfn);
	z->area[order].nr_free++;
	z->free_pages += 1ULL << order;
}

/* del_page_from_free_list() */
static void del_from_free_list(struct mm_host *mm, struct mm_zone *z, uint32_t pfn,
			       unsigned int order)
{
	mm->mem_map[pfn].flags &= (uint8_t)~PG_buddy;
	list_del(mm, &z->area[order].list, pfn);
	z->area[order].nr_free--;
	z->free_pages -= 1ULL << order;
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
 * __free_one_page(): give a block back to the buddy lists, merging with its
 * buddy (pfn ^ 2^order) while that one is free with the same order; the merged
 * block starts at the lower of the two.  @to_tail is FPI_TO_TAIL.
 */
static void free_one_page(struct mm_host *mm, struct mm_zone *z, uint64_t pfn,
			  unsigned int order, bool to_tail)
{
	while (order < MM_MAX_ORDER) {
		uint64_t buddy = pfn ^ (1ULL << order);

		if (!page_is_buddy(mm, z, buddy, order))
			break;
		del_from_free_list(mm, z, (uint32_t)buddy, order);
		pfn &= buddy;
		order++;
	}
	if (!to_tail)
		to_tail = buddy_merge_likely(mm, z, pfn, order);
	add_to_free_list(mm, z, (uint32_t)pfn, order, to_tail);
}

/* Boot memory goes to the tail (__free_pages_core() uses FPI_TO_TAIL). */
void mm_boot_free_block(struct mm_host *mm, unsigned int zid, uint64_t pfn, unsigned int order)
{
	free_one_page(mm, &mm->zones[zid], pfn, order, true);
}

/*
 * expand(): a block of order @high was taken for an order-@low request.  Keep
 * the LOW part and put each upper half on the next-lower free list (at the
 * head), so the first order-0 page cut from a fresh 4MB block is that block's
 * first page: 4MB-, hence 2MB-aligned.
 */
static void expand(struct mm_host *mm, struct mm_zone *z, uint64_t pfn,
		   unsigned int low, unsigned int high)
{
	while (high > low) {
		high--;
		add_to_free_list(mm, z, (uint32_t)(pfn + (1ULL << high)), high, false);
	}
}

/* __rmqueue_smallest(): the smallest free block that fits, from its list head. */
static uint32_t rmqueue_smallest(struct mm_host *mm, struct mm_zone *z, unsigned int order)
{
	for (unsigned int o = order; o <= MM_MAX_ORDER; o++) {
		uint32_t pfn = z->area[o].list.head;

		if (pfn == MM_NIL)
			continue;
		del_from_free_list(mm, z, pfn, o);
		expand(mm, z, pfn, order, o);
		return pfn;
	}
	return MM_NIL;
}

/* ---- per-CPU page lists ---- */

/* rmqueue_bulk(): move up to @count order-@order blocks to the pcp list tail. */
static unsigned int rmqueue_bulk(struct mm_host *mm, struct mm_zone *z, unsigned int order,
				 unsigned int count, struct mm_pcp *pcp)
{
	unsigned int n;

	for (n = 0; n < count; n++) {
		uint32_t pfn = rmqueue_smallest(mm, z, order);

		if (pfn == MM_NIL)
			break;
		mm->mem_map[pfn].flags |= PG_pcp;
		mm->mem_map[pfn].order = (uint8_t)order;
		list_add_tail(mm, &pcp->lists[order], pfn);
	}
	pcp->count += n << order;
	return n;
}

/*
 * free_pcppages_bulk(): give @count pages of a pcp back to the buddy.  Lists
 * are visited round-robin starting with @pindex (the list just freed to is
 * drained first), each emptied from its tail (the coldest pages) until the
 * count is reached.
 */
static void free_pcppages_bulk(struct mm_host *mm, struct mm_zone *z, struct mm_pcp *pcp,
			       uint64_t count, unsigned int pindex)
{
	pindex = (pindex + MM_PCP_MAX_ORDER) % (MM_PCP_MAX_ORDER + 1);   /* pindex - 1 */
	while (count > 0 && pcp->count > 0) {
		struct mm_list *l;

		do {
			pindex = (pindex + 1) % (MM_PCP_MAX_ORDER + 1);
		} while (list_empty(&pcp->lists[pindex]));
		l = &pcp->lists[pindex];
		do {
			uint32_t pfn = l->tail;
			uint32_t nr = 1u << pindex;

			list_del(mm, l, pfn);
			mm->mem_map[pfn].flags &= (uint8_t)~PG_pcp;
			pcp->count -= nr;
			count = count > nr ? count - nr : 0;
			free_one_page(mm, z, pfn, pindex, false);
		} while (count > 0 && !list_empty(l));
	}
}

/*
 * rmqueue_pcplist(): take from the head of this CPU's list (LIFO: the page
 * freed last comes back first).  An empty list is refilled first with
 * max(batch >> order, 2) blocks (nr_pcp_alloc() scaling, 5.13).
 */
static uint32_t rmqueue_pcplist(struct mm_host *mm, unsigned int zid, unsigned int order)
{
	struct mm_pcp *pcp = mm_pcp_of(mm, mm->cpu, zid);
	struct mm_list *l = &pcp->lists[order];
	uint32_t pfn;

	if (list_empty(l)) {
		unsigned int batch = mm->batch;

		if (batch > 1) {
			batch >>= order;
			if (batch < 2)
				batch = 2;
		}
		if (!rmqueue_bulk(mm, &mm->zones[zid], order, batch, pcp))
			return MM_NIL;
	}
	pfn = l->head;
	list_del(mm, l, pfn);
	mm->mem_map[pfn].flags &= (uint8_t)~PG_pcp;
	pcp->count -= 1u << order;
	return pfn;
}

/* rmqueue(): small orders through the pcp, larger ones from the buddy. */
static uint32_t rmqueue(struct mm_host *mm, unsigned int zid, unsigned int order)
{
	if (order <= MM_PCP_MAX_ORDER)
		return rmqueue_pcplist(mm, zid, order);
	return rmqueue_smallest(mm, &mm->zones[zid], order);
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
 * get_page_from_freelist() over the zonelist as build_zonelists() orders it
 * (node order): the preferred node's zones from Normal down to DMA, then the
 * next nodes' the same way.
 */
static uint32_t get_page_from_freelist(struct mm_host *mm, unsigned int nid, mm_gfp_t gfp,
				       unsigned int order)
{
	unsigned int tries = (gfp & MM_GFP_THISNODE) ? 1 : mm->nr_nodes;

	for (unsigned int i = 0; i < tries; i++) {
		unsigned int n = (nid + i) % mm->nr_nodes;

		for (unsigned int z = mm->node_zone[n + 1]; z-- > mm->node_zone[n];) {
			uint32_t pfn;

			if (!zone_reserve_ok(&mm->zones[z], order))
				continue;
			pfn = rmqueue(mm, z, order);
			if (pfn != MM_NIL)
				return pfn;
		}
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

/* prep_new_page(): mark the allocation head; __GFP_ZERO clears every page. */
static struct page *prep_new_page(struct mm_host *mm, uint32_t pfn, mm_gfp_t gfp,
				  unsigned int order)
{
	struct page *p = &mm->mem_map[pfn];

	p->flags |= PG_alloc;
	p->order = (uint8_t)order;
	if (gfp & MM_GFP_ZERO)
		for (uint32_t i = 0; i < (1u << order); i++)
			p[i].flags |= PG_zeroed;
	mm->allocated += 1ULL << order;
	mm->last_err = 0;
	return p;
}

/*
 * alloc_pages_node() / __alloc_pages(): the fast path, then the slow path's
 * one retry after drain_all_pages() (__alloc_pages_direct_reclaim() drains
 * the pcp lists of every CPU when its first attempt fails).
 */
struct page *mm_alloc_pages_node(struct mm_host *mm, int nid, mm_gfp_t gfp, unsigned int order)
{
	uint32_t pfn;

	if (!mm)
		return NULL;
	if (nid == MM_NUMA_NO_NODE)
		nid = mm_numa_node_id(mm);
	if (order > MM_MAX_ORDER || (gfp & ~MM_GFP_ALL) || nid < 0 ||
	    (unsigned int)nid >= mm->nr_nodes) {
		mm_err(mm, SNP_EINVAL);
		return NULL;
	}
	pfn = get_page_from_freelist(mm, (unsigned int)nid, gfp, order);
	if (pfn == MM_NIL && !(gfp & MM_GFP_NORETRY)) {
		mm_drain_all_pages(mm);
		pfn = get_page_from_freelist(mm, (unsigned int)nid, gfp, order);
	}
	if (pfn == MM_NIL) {
		mm_err(mm, SNP_ENOMEM);
		return NULL;
	}
	return prep_new_page(mm, pfn, gfp, order);
}

struct page *mm_alloc_pages(struct mm_host *mm, mm_gfp_t gfp, unsigned int order)
{
	return mm_alloc_pages_node(mm, MM_NUMA_NO_NODE, gfp, order);
}

bool mm_page_valid(const struct mm_host *mm, const struct page *page)
{
	uintptr_t base, p;

	if (!mm || !page)
		return false;
	base = (uintptr_t)mm->mem_map;
	p = (uintptr_t)page;
	return p >= base && p < base + mm->nr_pages * sizeof(struct page) &&
	       (p - base) % sizeof(struct page) == 0;
}

/* Is @page the head of a live allocation of exactly @order? */
static int check_live_head(struct mm_host *mm, const struct page *page, unsigned int order)
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
 * free_unref_page() / free_unref_page_commit(): a small block goes to the
 * head of the current CPU's list for the page's zone; past the high mark a
 * batch goes back to the buddy.
 */
static void free_to_pcp(struct mm_host *mm, uint32_t pfn, unsigned int order)
{
	unsigned int zid = mm_zid_of_pfn(mm, pfn);
	struct mm_pcp *pcp = mm_pcp_of(mm, mm->cpu, zid);

	mm->mem_map[pfn].flags |= PG_pcp;
	mm->mem_map[pfn].order = (uint8_t)order;
	list_add_head(mm, &pcp->lists[order], pfn);
	pcp->count += 1u << order;
	if (pcp->count >= mm->high)
		free_pcppages_bulk(mm, &mm->zones[zid], pcp, mm->batch, order);
}

int mm_free_pages(struct mm_host *mm, struct page *page, unsigned int order)
{
	int err = check_live_head(mm, page, order);
	uint32_t pfn;

	if (err)
		return err;
	pfn = mm_pfn_of(mm, page);
	page->flags &= (uint8_t)~PG_alloc;
	mm->allocated -= 1ULL << order;
	if (order <= MM_PCP_MAX_ORDER)
		free_to_pcp(mm, pfn, order);
	else
		free_one_page(mm, &mm->zones[mm_zid_of_pfn(mm, pfn)], pfn, order, false);
	return 0;
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
