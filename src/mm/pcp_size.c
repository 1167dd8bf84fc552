// SPDX-License-Identifier: MIT
/*
 * pcp_size.c - how big the per-CPU page lists are and how much moves at a
 * time, as mm/page_alloc.c of 6.1 and of 6.12 compute it.  Our own code;
 * each function names the kernel function it follows.
 *
 *  - batch = zone_batchsize(): min(managed >> 10, 1 MiB of pages) / 4, at
 *    least 1, then rounddown_pow_of_two(b + b/2) - 1 (both versions);
 *  - high: zone_highsize() = max(low watermark / CPUs of the node, 4 *
 *    batch).  6.1 keeps it fixed.  6.12 keeps pcp->high between that
 *    (high_min) and the same with managed / 8 (high_max,
 *    MIN_PERCPU_PAGELIST_HIGH_FRACTION): refills raise it by a batch
 *    (nr_pcp_alloc()), a free that finds the list full raises it to hold
 *    free_count + batch (nr_pcp_high()), decay_pcp_high() lowers it;
 *  - refill: 6.1 max(batch >> order, 2); 6.12 nr_pcp_alloc(): order-0
 *    refills grow by alloc_factor (doubling per refill without a free, up
 *    to CONFIG_PCP_BATCH_SCALE_MAX = 5), bounded by the room below high;
 *  - drain past high: 6.1 nr_pcp_free(): batch << free_factor (doubling on
 *    consecutive frees, free_factor at most CONFIG_PCP_BATCH_SCALE_MAX = 5)
 *    clamped to [batch, high - batch], everything for a "free_high" run of
 *    small high-order frees; 6.12: free_count clamped to [batch, high -
 *    batch], and for free_high min(count, batch << 5) with high lowered,
 *    a run that keeps a batch on the list where PCPF_FREE_HIGH_BATCH is set.
 * The low watermark follows __setup_per_zone_wmarks(): min_free_kbytes =
 * sqrt(16 * lowmem KiB) clamped to [128, 262144], or with THP khugepaged's
 * larger recommended one, split over the zones by managed pages; low = min +
 * max(min / 4, managed * 10 / 10000).
 * Watermark boosting, ZONE_RECLAIM_ACTIVE and ZONE_BELOW_HIGH are not
 * modeled (no reclaim, no watermarks): the zone is never "below high".
 */
#include "mm/mm_internal.h"

#include <string.h>

#define PCP_BATCH_SCALE_MAX 5u             /* CONFIG_PCP_BATCH_SCALE_MAX default */
#define MIN_PERCPU_PAGELIST_HIGH_FRACTION 8u
#define WATERMARK_SCALE_FACTOR 10u
#define MIGRATE_PCPTYPES 3u                /* UNMOVABLE, MOVABLE, RECLAIMABLE */
#define PAGEBLOCK_PAGES (1ULL << MM_PAGEBLOCK_ORDER)

static uint64_t rounddown_pow_of_two(uint64_t x)
{
	uint64_t p = 1;

	while (p * 2 <= x)
		p *= 2;
	return p;
}

static uint64_t zone_managed(const struct mm_zone *z)
{
	return z->end_pfn - z->start_pfn - z->reserved;
}

/* zone_batchsize() (6.1 and 6.12), then max(1, ...) of zone_set_pageset_high_and_batch(). */
unsigned int mm_zone_batchsize(uint64_t managed)
{
	uint64_t b = managed >> 10;

	if (b > (1u << 20) / SNP_PAGE_SIZE)
		b = (1u << 20) / SNP_PAGE_SIZE;
	b /= 4;
	if (b < 1)
		b = 1;
	b = rounddown_pow_of_two(b + b / 2) - 1;
	return b < 1 ? 1 : (unsigned int)b;
}

static uint64_t isqrt(uint64_t x)
{
	uint64_t r = 0;

	for (uint64_t bit = 1ULL << 62; bit; bit >>= 2) {
		if (x >= r + bit) {
			x -= r + bit;
			r = (r >> 1) + bit;
		} else {
			r >>= 1;
		}
	}
	return r;
}

/* calculate_min_free_kbytes(): sqrt(16 * lowmem KiB), clamped to [128, 262144]. */
static uint64_t default_min_kb(uint64_t lowmem)
{
	uint64_t min_kb = isqrt(lowmem * (SNP_PAGE_SIZE / 1024) * 16);

	return min_kb < 128 ? 128 : min_kb > 262144 ? 262144 : min_kb;
}

/*
 * __setup_per_zone_wmarks(): min_free_kbytes split over the zones by managed
 * pages; tmp = max(min / 4, managed * watermark_scale_factor / 10000);
 * low = min + tmp, high = min + 2 * tmp.  Returns nr_free_buffer_pages():
 * the zones' managed pages above their high watermark.
 */
static uint64_t set_wmarks(struct mm_host *mm, uint64_t lowmem, uint64_t min_kb)
{
	uint64_t pages_min = min_kb / (SNP_PAGE_SIZE / 1024), buffer = 0;

	for (unsigned int z = 0; z < mm->nr_zones && lowmem; z++) {
		struct mm_zone *zone = &mm->zones[z];
		uint64_t managed = zone_managed(zone), min = pages_min * managed / lowmem;
		uint64_t tmp = managed * WATERMARK_SCALE_FACTOR / 10000;

		if (min / 4 > tmp)
			tmp = min / 4;
		zone->wmark_low = min + tmp;
		if (managed > min + 2 * tmp)
			buffer += managed - (min + 2 * tmp);
	}
	return buffer;
}

/*
 * khugepaged's set_recommended_min_free_kbytes() (6.1 and 6.12
 * mm/khugepaged.c, run when khugepaged starts at boot with THP enabled):
 * two free pageblocks per populated zone up to Normal, and one per pair of
 * the three pcp migratetypes, at most 5% of nr_free_buffer_pages(); it
 * replaces min_free_kbytes when larger, and the watermarks are set again.
 */
static uint64_t recommended_min_kb(const struct mm_host *mm, uint64_t buffer_pages)
{
	uint64_t zones = 0, pages;

	for (unsigned int z = 0; z < mm->nr_zones; z++)
		zones += mm->zones[z].end_pfn > mm->zones[z].start_pfn;   /* populated */
	pages = PAGEBLOCK_PAGES * zones * 2 +
		PAGEBLOCK_PAGES * zones * MIGRATE_PCPTYPES * MIGRATE_PCPTYPES;
	if (pages > buffer_pages / 20)
		pages = buffer_pages / 20;
	return pages * (SNP_PAGE_SIZE / 1024);
}

/* The low watermark of each zone, as the boot leaves it (min_free_kbytes at init, then khugepaged's). */
static void setup_wmarks(struct mm_host *mm)
{
	uint64_t lowmem = 0, min_kb, buffer, thp_kb;

	for (unsigned int z = 0; z < mm->nr_zones; z++)
		lowmem += zone_managed(&mm->zones[z]);
	min_kb = default_min_kb(lowmem);
	buffer = set_wmarks(mm, lowmem, min_kb);
	if (!mm->thp_min_free_kbytes)
		return;
	thp_kb = recommended_min_kb(mm, buffer);
	if (thp_kb > min_kb)
		set_wmarks(mm, lowmem, thp_kb);
}

/* CPUs of the node (cpumask_of_node()), with the model's contiguous topology. */
static unsigned int node_cpus(const struct mm_host *mm, unsigned int nid)
{
	unsigned int n = 0;

	for (unsigned int c = 0; c < mm->nr_cpus; c++)
		n += (unsigned int)mm_cpu_to_node(mm, c) == nid;
	return n ? n : mm->nr_cpus;
}

/* zone_highsize(): total pages split over the node's CPUs, at least 4 batches. */
unsigned int mm_zone_highsize(uint64_t total_pages, unsigned int cpus, unsigned int batch)
{
	uint64_t high = total_pages / (cpus ? cpus : 1);

	if (high < 4ULL * batch)
		high = 4ULL * batch;
	return high > UINT32_MAX / 2 ? UINT32_MAX / 2 : (unsigned int)high;
}

/*
 * 6.12 zone_pcp_update_cacheinfo(): PCPF_FREE_HIGH_BATCH when the CPU's
 * slice of its last-level cache (cacheinfo's per_cpu_data_slice_size, the
 * LLC over the CPUs sharing it) holds more than 3 batches of pages.  The
 * model's CPUs are alike, so every pcp of a zone gets the same flag.  6.1
 * has no such flag.
 */
static bool zone_pcp_free_high_batch(const struct mm_host *mm, const struct mm_zone *z)
{
	uint64_t slice_pages = (uint64_t)mm->llc_slice_kib * 1024 / SNP_PAGE_SIZE;

	return mm->kernel == MM_KERNEL_6_12 && slice_pages > 3ULL * z->batch;
}

void mm_setup_pcp_sizes(struct mm_host *mm)
{
	setup_wmarks(mm);
	for (unsigned int zid = 0; zid < mm->nr_zones; zid++) {
		struct mm_zone *z = &mm->zones[zid];
		unsigned int cpus = node_cpus(mm, z->nid);

		if (mm->cfg_batch) {   /* fixed sizes, as percpu_pagelist_high_fraction would */
			z->batch = mm->cfg_batch;
			z->high_min = z->high_max = mm->cfg_high;
		} else {
			z->batch = mm_zone_batchsize(zone_managed(z));
			z->high_min = mm_zone_highsize(z->wmark_low, cpus, z->batch);
			/* of the pages the host keeps: see mm_zone_kept() */
			z->high_max = mm->kernel == MM_KERNEL_6_12 ?
				mm_zone_highsize(mm_zone_kept(mm, z) / MIN_PERCPU_PAGELIST_HIGH_FRACTION,
						 cpus, z->batch) : z->high_min;
		}
		for (unsigned int c = 0; c < mm->nr_cpus; c++) {
			struct mm_pcp *pcp = mm_pcp_of(mm, c, zid);

			pcp->high = z->high_min;
			pcp->free_high_batch = zone_pcp_free_high_batch(mm, z);
		}
	}
}

/* rmqueue_pcplist(): 6.1 halves free_factor, 6.12 halves free_count, on every allocation. */
void mm_pcp_note_alloc(const struct mm_host *mm, struct mm_pcp *pcp)
{
	if (mm->kernel == MM_KERNEL_6_1)
		pcp->free_factor >>= 1;
	else
		pcp->free_count >>= 1;
}

unsigned int mm_nr_pcp_alloc(const struct mm_host *mm, const struct mm_zone *z,
			     struct mm_pcp *pcp, unsigned int order)
{
	unsigned int batch = z->batch, base = z->batch;

	if (mm->kernel == MM_KERNEL_6_12) {
		if (pcp->high < base)
			return 1;
		if (!order)
			batch = base << pcp->alloc_factor;
		if (z->high_min != z->high_max)   /* never ZONE_BELOW_HIGH here */
			pcp->high = pcp->high + batch < z->high_max ? pcp->high + batch : z->high_max;
		if (!order) {
			int room = (int)pcp->high - (int)pcp->count - (int)base;
			unsigned int max_nr = room > (int)base ? (unsigned int)room : base;

			if (batch <= max_nr && pcp->alloc_factor < PCP_BATCH_SCALE_MAX)
				pcp->alloc_factor++;
			batch = batch < max_nr ? batch : max_nr;
		}
	}
	if (batch > 1) {
		batch >>= order;
		if (batch < 2)
			batch = 2;
	}
	return batch;
}

static unsigned int clampu(unsigned int x, unsigned int lo, unsigned int hi)
{
	return x < lo ? lo : x > hi ? hi : x;
}

/*
 * 6.1 free_unref_page_commit(): nr_pcp_high() and nr_pcp_free().  The
 * doubling stops at free_factor CONFIG_PCP_BATCH_SCALE_MAX (5, Debian's
 * value): 6.1.192's nr_pcp_free() has the cap (a stable backport), so a
 * drain is at most batch << 5 pages before the [batch, high - batch] clamp.
 */
static uint64_t free_commit_61(const struct mm_zone *z, struct mm_pcp *pcp, unsigned int order)
{
	bool free_high = pcp->free_factor && order && order <= MM_PCP_MAX_ORDER;
	unsigned int high = free_high ? 0 : pcp->high, batch = z->batch, max_nr;

	if (pcp->count < high)
		return 0;
	if (free_high)
		return pcp->count;
	if (high < batch)
		return 1;
	max_nr = high - batch;
	batch = batch << pcp->free_factor;
	if (batch < max_nr && pcp->free_factor < PCP_BATCH_SCALE_MAX)
		pcp->free_factor++;
	return clampu(batch, z->batch, max_nr);
}

/* 6.12 nr_pcp_high(): may raise pcp->high so a run of frees stays on the list. */
static unsigned int nr_pcp_high_612(const struct mm_zone *z, struct mm_pcp *pcp, bool free_high)
{
	unsigned int batch = z->batch;
	unsigned int high = pcp->high = clampu(pcp->high, z->high_min, z->high_max);
	uint64_t lower;

	if (!high)
		return 0;
	if (free_high) {
		lower = (uint64_t)batch << PCP_BATCH_SCALE_MAX;
		pcp->high = high > lower + z->high_min ? (unsigned int)(high - lower) : z->high_min;
		return 0;
	}
	if (z->high_min == z->high_max)
		return high;
	if (pcp->count >= high && pcp->high < pcp->free_count + batch)
		pcp->high = clampu(pcp->free_count + batch, z->high_min, z->high_max);
	return high;
}

/*
 * 6.12 free_unref_page_commit() after the list_add: free_high, nr_pcp_high(),
 * nr_pcp_free().  A run of order-1..3 frees drains the list (free_high) only
 * once free_count reached a batch, the previous free was of such an order
 * too, and, where PCPF_FREE_HIGH_BATCH is set (a CPU with a large enough
 * cache slice, zone_pcp_update_cacheinfo()), a batch of pages stays.
 */
static uint64_t free_commit_612(const struct mm_zone *z, struct mm_pcp *pcp, unsigned int order)
{
	unsigned int batch = z->batch, high, max_nr;
	bool free_high = false;

	pcp->alloc_factor >>= 1;
	if (order && order <= MM_PCP_MAX_ORDER) {
		free_high = pcp->free_count >= batch && pcp->prev_free_high_order &&
			    (!pcp->free_high_batch || pcp->count >= batch);
		pcp->prev_free_high_order = true;
	} else {
		pcp->prev_free_high_order = false;
	}
	if (pcp->free_count < (batch << PCP_BATCH_SCALE_MAX))
		pcp->free_count += 1u << order;
	high = nr_pcp_high_612(z, pcp, free_high);
	if (pcp->count < high)
		return 0;
	if (free_high) {
		uint64_t most = (uint64_t)batch << PCP_BATCH_SCALE_MAX;

		return pcp->count < most ? pcp->count : most;
	}
	if (high < batch)
		return 1;
	max_nr = high - batch;
	return clampu(pcp->free_count, batch, max_nr);
}

uint64_t mm_pcp_free_commit(const struct mm_host *mm, const struct mm_zone *z,
			    struct mm_pcp *pcp, unsigned int order)
{
	if (mm->kernel == MM_KERNEL_6_1)
		return free_commit_61(z, pcp, order);
	return free_commit_612(z, pcp, order);
}

/*
 * decay_pcp_high() (6.12, from the vmstat refresh, about once a second):
 * lower pcp->high by an eighth (not below high_min, not below count - batch
 * << 5) and drain what sits above it.  6.1 has no adaptive high: no-op.
 */
void mm_pcp_decay(struct mm_host *mm)
{
	if (!mm || mm->kernel != MM_KERNEL_6_12)
		return;
	for (unsigned int c = 0; c < mm->nr_cpus; c++)
		for (unsigned int zid = 0; zid < mm->nr_zones; zid++) {
			const struct mm_zone *z = &mm->zones[zid];
			struct mm_pcp *pcp = mm_pcp_of(mm, c, zid);
			uint64_t cut = (uint64_t)z->batch << PCP_BATCH_SCALE_MAX;
			uint64_t h = pcp->high - pcp->high / 8;

			if (pcp->high > z->high_min) {
				if (pcp->count > cut && pcp->count - cut > h)
					h = pcp->count - cut;
				pcp->high = (uint32_t)(h > z->high_min ? h : z->high_min);
			}
			if (pcp->count > pcp->high)
				mm_pcp_drain_to(mm, c, zid, pcp->count - pcp->high);
		}
}

const char *mm_kernel_name(enum mm_kernel k)
{
	return k == MM_KERNEL_6_1 ? "6.1" : k == MM_KERNEL_6_12 ? "6.12" : "?";
}

int mm_kernel_parse(const char *s, enum mm_kernel *out)
{
	if (!s || !out)
		return SNP_EINVAL;
	if (!strcmp(s, "6.1"))
		*out = MM_KERNEL_6_1;
	else if (!strcmp(s, "6.12"))
		*out = MM_KERNEL_6_12;
	else
		return SNP_EINVAL;
	return 0;
}

int mm_pcp_sizes(const struct mm_host *mm, snp_pfn_t pfn, unsigned int cpu,
		 struct mm_pcp_info *out)
{
	const struct mm_zone *z;
	const struct mm_pcp *pcp;
	unsigned int zid;

	if (!mm || !out || pfn >= mm->nr_pages || cpu >= mm->nr_cpus)
		return SNP_EINVAL;
	zid = mm_zid_of_pfn(mm, pfn);
	z = &mm->zones[zid];
	pcp = &mm->pcp[(size_t)cpu * mm->nr_zones + zid];
	*out = (struct mm_pcp_info){
		.batch = z->batch, .high_min = z->high_min, .high_max = z->high_max,
		.high = pcp->high, .count = pcp->count, .wmark_low = z->wmark_low,
	};
	return 0;
}
