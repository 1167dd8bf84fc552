// SPDX-License-Identifier: MIT
/*
 * mm_check.c - the allocator's invariants, checked from scratch (the kernel
 * checks pieces of them under CONFIG_DEBUG_VM: bad_page(), check_new_page(),
 * VM_BUG_ON_PAGE in __free_one_page()).  Tests call mm_check() every few
 * thousand operations; it walks every free list and every pcp list once.
 *
 *  - every free block is in its zone, aligned to its order, PageBuddy with
 *    that order, and its other pages carry no list/allocation/reserved flag;
 *  - no two free or pcp blocks overlap (a bitmap of the pages seen);
 *  - two free buddies of equal order never both sit on the lists (they merge);
 *  - nr_free of each order and the zone's free page count agree with the lists;
 *  - pcp blocks are PG_pcp, not PageBuddy, of their list's order, and the
 *    pcp count agrees with the lists;
 *  - present - reserved - free - pcp, summed, equals the pages handed out.
 */
#include "mm/mm_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

struct check_ctx {
	const struct mm_host *mm;
	uint64_t *seen;          /* one bit per pfn */
	char *msg;
	size_t msglen;
};

static SNP_MUST_CHECK int fail(struct check_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static SNP_MUST_CHECK int fail(struct check_ctx *c, const char *fmt, ...)
{
	va_list ap;

	if (c->msg && c->msglen) {
		va_start(ap, fmt);
		vsnprintf(c->msg, c->msglen, fmt, ap);
		va_end(ap);
	}
	return SNP_EINVAL;
}

/* Mark 2^order pages from @pfn seen; fail on overlap or stray flags. */
static SNP_MUST_CHECK int mark_block(struct check_ctx *c, uint64_t pfn, unsigned int order, const char *what)
{
	for (uint64_t i = 0; i < (1ULL << order); i++) {
		uint64_t p = pfn + i;
		uint8_t f = c->mm->mem_map[p].flags;

		if (c->seen[p / 64] & (1ULL << (p % 64)))
			return fail(c, "%s block %llu order %u overlaps pfn %llu",
				    what, (unsigned long long)pfn, order, (unsigned long long)p);
		c->seen[p / 64] |= 1ULL << (p % 64);
		if (f & (PG_alloc | PG_reserved))
			return fail(c, "free pfn %llu has flags 0x%x", (unsigned long long)p, f);
		if (i && (f & (PG_buddy | PG_pcp)))
			return fail(c, "tail pfn %llu of %s block %llu has flags 0x%x",
				    (unsigned long long)p, what, (unsigned long long)pfn, f);
	}
	return 0;
}

/* A block head on a list of @order in zone @z: range, alignment, links. */
static SNP_MUST_CHECK int check_head(struct check_ctx *c, const struct mm_zone *z, uint32_t pfn,
		      uint32_t prev, unsigned int order, const char *what)
{
	const struct page *p = &c->mm->mem_map[pfn];

	if (pfn < z->start_pfn || pfn + (1ULL << order) > z->end_pfn)
		return fail(c, "%s block %u order %u outside its zone", what, pfn, order);
	if (pfn & ((1u << order) - 1))
		return fail(c, "%s block %u not aligned to order %u", what, pfn, order);
	if (p->prev != prev)
		return fail(c, "%s list link broken at pfn %u", what, pfn);
	if (p->order != order)
		return fail(c, "%s block %u has order %u on the order-%u list", what, pfn,
			    p->order, order);
	return 0;
}

static SNP_MUST_CHECK int check_free_list(struct check_ctx *c, const struct mm_zone *z, unsigned int order,
			   unsigned int mt, uint64_t *pages, uint64_t *blocks)
{
	uint64_t n = 0;
	uint32_t prev = MM_NIL;
	int err;

	for (uint32_t pfn = z->area[order].list[mt].head; pfn != MM_NIL;
	     prev = pfn, pfn = c->mm->mem_map[pfn].next) {
		const struct page *p = &c->mm->mem_map[pfn];

		if (++n > c->mm->nr_pages)
			return fail(c, "order-%u free list loops", order);
		err = check_head(c, z, pfn, prev, order, "free");
		if (err)
			return err;
		if ((p->flags & (PG_buddy | PG_pcp)) != PG_buddy)
			return fail(c, "free block %u flags 0x%x", pfn, p->flags);
		if (p->mt != mt)
			return fail(c, "free block %u says type %u on the type-%u list", pfn, p->mt, mt);
		if (order < MM_MAX_ORDER) {
			uint64_t b = pfn ^ (1ULL << order);

			if (b >= z->start_pfn && b < z->end_pfn &&
			    (c->mm->mem_map[b].flags & PG_buddy) && c->mm->mem_map[b].order == order)
				return fail(c, "free buddies %u and %llu of order %u not merged",
					    pfn, (unsigned long long)b, order);
		}
		err = mark_block(c, pfn, order, "free");
		if (err)
			return err;
	}
	*pages += n << order;
	*blocks += n;
	return 0;
}

static SNP_MUST_CHECK int check_zone(struct check_ctx *c, const struct mm_zone *z)
{
	uint64_t pages = 0;

	for (unsigned int o = 0; o <= MM_MAX_ORDER; o++) {
		uint64_t n = 0;

		for (unsigned int mt = 0; mt < MM_NR_MIGRATETYPES; mt++) {
			int err = check_free_list(c, z, o, mt, &pages, &n);

			if (err)
				return err;
		}
		if (n != z->area[o].nr_free)
			return fail(c, "order-%u nr_free %llu but %llu blocks listed", o,
				    (unsigned long long)z->area[o].nr_free, (unsigned long long)n);
	}
	if (pages != z->free_pages)
		return fail(c, "zone free_pages %llu but %llu listed",
			    (unsigned long long)z->free_pages, (unsigned long long)pages);
	return 0;
}

static SNP_MUST_CHECK int check_pcp(struct check_ctx *c, const struct mm_pcp *pcp, const struct mm_zone *z)
{
	uint64_t pages = 0;

	for (unsigned int l = 0; l < MM_NR_PCP_LISTS; l++) {
		unsigned int o = l < MM_NR_LOWORDER_PCP_LISTS ? l / MM_NR_MIGRATETYPES : MM_PAGEBLOCK_ORDER;
		uint32_t prev = MM_NIL;
		uint64_t n = 0;

		for (uint32_t pfn = pcp->lists[l].head; pfn != MM_NIL;
		     prev = pfn, pfn = c->mm->mem_map[pfn].next) {
			uint8_t f = c->mm->mem_map[pfn].flags;
			int err;

			if (++n > c->mm->nr_pages)
				return fail(c, "pcp order-%u list loops", o);
			err = check_head(c, z, pfn, prev, o, "pcp");
			if (!err && (f & (PG_buddy | PG_pcp)) != PG_pcp)
				err = fail(c, "pcp block %u flags 0x%x", pfn, f);
			if (!err)
				err = mark_block(c, pfn, o, "pcp");
			if (err)
				return err;
			pages += 1ULL << o;
		}
	}
	if (pages != pcp->count)
		return fail(c, "pcp count %u but %llu pages listed", pcp->count,
			    (unsigned long long)pages);
	return 0;
}

static SNP_MUST_CHECK int check_all(struct check_ctx *c)
{
	const struct mm_host *mm = c->mm;
	struct mm_counts counts;
	int err = 0;

	for (unsigned int zid = 0; zid < mm->nr_zones && !err; zid++)
		err = check_zone(c, &mm->zones[zid]);
	for (unsigned int cpu = 0; cpu < mm->nr_cpus && !err; cpu++)
		for (unsigned int zid = 0; zid < mm->nr_zones && !err; zid++)
			err = check_pcp(c, &mm->pcp[(size_t)cpu * mm->nr_zones + zid],
					&mm->zones[zid]);
	if (err)
		return err;
	err = mm_get_counts(mm, MM_NUMA_NO_NODE, &counts);
	if (err)
		return err;
	if (counts.allocated != mm->allocated)
		return fail(c, "pages unaccounted: %llu handed out, %llu missing from free+pcp",
			    (unsigned long long)mm->allocated, (unsigned long long)counts.allocated);
	return 0;
}

int mm_check(const struct mm_host *mm, char *msg, size_t msglen)
{
	struct check_ctx c = { .mm = mm, .msg = msg, .msglen = msglen };
	int err;

	if (msg && msglen)
		msg[0] = '\0';
	if (!mm)
		return fail(&c, "no host");
	c.seen = calloc(mm->nr_pages / 64 + 1, sizeof(uint64_t));
	if (!c.seen)
		return SNP_ENOMEM;
	err = check_all(&c);
	free(c.seen);
	return err;
}
