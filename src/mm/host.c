// SPDX-License-Identifier: MIT
/*
 * host.c - building a modeled host (its mem_map, zones and pcp lists), boot
 * reservations, and the read-only queries (counts, buddyinfo, fragmentation).
 *
 * Boot mirrors mm/memblock.c memblock_free_all() -> __free_pages_memory():
 * each non-reserved range is cut into the largest naturally aligned blocks
 * that fit and freed with FPI_TO_TAIL (__free_pages_core(), >= 5.10), so a
 * fresh free list holds its blocks in ascending pfn order.
 */
#include "mm/mm_internal.h"

#include <stdlib.h>
#include <string.h>

void mm_config_init(struct mm_config *cfg, uint64_t mem_bytes)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->mem_bytes = mem_bytes;
	cfg->nr_nodes = 1;
	cfg->nr_cpus = 1;
	cfg->init_on_alloc = true;   /* Debian: CONFIG_INIT_ON_ALLOC_DEFAULT_ON=y */
	cfg->thp_min_free_kbytes = true;   /* Debian: CONFIG_TRANSPARENT_HUGEPAGE_ALWAYS=y */
}

static unsigned int llc_slice_kib(const struct mm_config *cfg)
{
	return cfg->llc_slice_kib ? cfg->llc_slice_kib : MM_LLC_SLICE_KIB_DEFAULT;
}

/*
 * mm_config.held_bytes in pages per node: a multiple of MAX_ORDER blocks,
 * leaving the smallest node one; UINT64_MAX when it is not that.
 */
static uint64_t held_per_node(const struct mm_config *cfg)
{
	uint64_t block = (uint64_t)cfg->nr_nodes << (MM_MAX_ORDER + SNP_PAGE_SHIFT);
	uint64_t per_node = cfg->held_bytes / SNP_PAGE_SIZE / cfg->nr_nodes;

	if (cfg->held_bytes % block ||
	    per_node + (1u << MM_MAX_ORDER) > cfg->mem_bytes / SNP_PAGE_SIZE / cfg->nr_nodes)
		return UINT64_MAX;
	return per_node;
}

static SNP_MUST_CHECK int check_config(const struct mm_config *cfg)
{
	uint64_t pages;

	if (!cfg || cfg->mem_bytes % SNP_PAGE_SIZE)
		return SNP_EINVAL;
	if (cfg->nr_nodes < 1 || cfg->nr_nodes > MM_MAX_NODES ||
	    cfg->nr_cpus < 1 || cfg->nr_cpus > MM_MAX_CPUS)
		return SNP_EINVAL;
	pages = cfg->mem_bytes / SNP_PAGE_SIZE;
	if (pages >= MM_MAX_HOST_PAGES)
		return SNP_ERANGE;
	if (pages / cfg->nr_nodes < (1u << MM_MAX_ORDER))
		return SNP_EINVAL;
	if (held_per_node(cfg) == UINT64_MAX)
		return SNP_EINVAL;
	if (cfg->nr_reserved && !cfg->reserved)
		return SNP_EINVAL;
	for (size_t i = 0; i < cfg->nr_reserved; i++) {
		const struct mm_reserved_range *r = &cfg->reserved[i];

		if (r->start_pfn > pages || r->nr_pages > pages - r->start_pfn)
			return SNP_ERANGE;
	}
	for (uint64_t b = 0; cfg->pageblock_mt && b < pages >> MM_PAGEBLOCK_ORDER; b++)
		if (cfg->pageblock_mt[b] >= MM_NR_MIGRATETYPES)
			return SNP_EINVAL;
	return 0;
}

static SNP_MUST_CHECK int cmp_range(const void *a, const void *b)
{
	const struct mm_reserved_range *x = a, *y = b;

	return (x->start_pfn > y->start_pfn) - (x->start_pfn < y->start_pfn);
}

/* __free_pages_memory(): free [start, end) of zone @zid as the largest aligned blocks. */
static void free_boot_range(struct mm_host *mm, unsigned int zid, uint64_t start, uint64_t end)
{
	while (start < end) {
		unsigned int order = MM_MAX_ORDER;

		while (order && ((start & ((1ULL << order) - 1)) || start + (1ULL << order) > end))
			order--;
		mm_boot_free_block(mm, zid, start, order);
		start += 1ULL << order;
	}
}

/* memblock_reserve(): mark the pages, count them once per zone. */
static void mark_reserved(struct mm_host *mm, const struct mm_reserved_range *r)
{
	for (uint64_t pfn = r->start_pfn; pfn < r->start_pfn + r->nr_pages; pfn++) {
		struct page *p = &mm->mem_map[pfn];

		if (p->flags & PG_reserved)
			continue;
		p->flags |= PG_reserved;
		mm->zones[mm_zid_of_pfn(mm, pfn)].reserved++;
	}
}

/* memblock_free_all(): every zone's pages outside the sorted reservations. */
static void free_all_memory(struct mm_host *mm, const struct mm_reserved_range *res, size_t n)
{
	for (unsigned int zid = 0; zid < mm->nr_zones; zid++) {
		struct mm_zone *z = &mm->zones[zid];
		uint64_t cur = z->start_pfn;

		for (size_t i = 0; i < n && cur < z->end_pfn; i++) {
			uint64_t rs = res[i].start_pfn, re = rs + res[i].nr_pages;

			if (re <= cur)
				continue;
			if (rs > cur)
				free_boot_range(mm, zid, cur, rs < z->end_pfn ? rs : z->end_pfn);
			cur = re > cur ? re : cur;
		}
		if (cur < z->end_pfn)
			free_boot_range(mm, zid, cur, z->end_pfn);
	}
}

/* Zone limits of x86-64 (arch/x86/mm/init.c zone_sizes_init(): MAX_DMA_PFN, MAX_DMA32_PFN). */
static const uint64_t zone_end[MM_NR_ZONE_TYPES] = {
	[MM_ZONE_DMA] = MM_DMA_END_PFN, [MM_ZONE_DMA32] = MM_DMA32_END_PFN,
	[MM_ZONE_NORMAL] = UINT64_MAX,
};

static void add_zone(struct mm_host *mm, unsigned int nid, enum mm_zone_type type,
		     uint64_t start, uint64_t end)
{
	struct mm_zone *z = &mm->zones[mm->nr_zones++];

	z->nid = nid;
	z->type = type;
	z->start_pfn = start;
	z->end_pfn = end;
	for (unsigned int o = 0; o <= MM_MAX_ORDER; o++)
		for (unsigned int t = 0; t < MM_NR_MIGRATETYPES; t++)
			mm_list_init(&z->area[o].list[t]);
}

/* free_area_init(): the zones of each node, an empty zone left out. */
static void layout_zones(struct mm_host *mm, bool x86)
{
	for (unsigned int nid = 0; nid < mm->nr_nodes; nid++) {
		uint64_t ns, ne;

		mm_node_span(mm, nid, &ns, &ne);
		mm->node_zone[nid] = mm->nr_zones;
		if (!x86) {
			add_zone(mm, nid, MM_ZONE_NORMAL, ns, ne);
			continue;
		}
		for (unsigned int t = 0; t < MM_NR_ZONE_TYPES; t++) {
			uint64_t lo = t ? zone_end[t - 1] : 0, hi = zone_end[t];
			uint64_t zs = ns > lo ? ns : lo, ze = ne < hi ? ne : hi;

			if (zs < ze)
				add_zone(mm, nid, (enum mm_zone_type)t, zs, ze);
		}
	}
	mm->node_zone[mm->nr_nodes] = mm->nr_zones;
}

static SNP_MUST_CHECK int setup_zones(struct mm_host *mm, bool x86)
{
	mm->zones = calloc((size_t)mm->nr_nodes * MM_NR_ZONE_TYPES, sizeof(*mm->zones));
	mm->node_zone = calloc(mm->nr_nodes + 1, sizeof(*mm->node_zone));
	if (!mm->zones || !mm->node_zone)
		return SNP_ENOMEM;
	layout_zones(mm, x86);
	mm->pcp = calloc((size_t)mm->nr_cpus * mm->nr_zones, sizeof(*mm->pcp));
	if (!mm->pcp)
		return SNP_ENOMEM;
	for (size_t i = 0; i < (size_t)mm->nr_cpus * mm->nr_zones; i++)
		for (unsigned int l = 0; l < MM_NR_PCP_LISTS; l++)
			mm_list_init(&mm->pcp[i].lists[l]);
	/* memmap_init_range(): every pageblock starts MIGRATE_MOVABLE */
	mm->pageblock_mt = malloc((mm->nr_pages >> MM_PAGEBLOCK_ORDER) + 1);
	if (!mm->pageblock_mt)
		return SNP_ENOMEM;
	memset(mm->pageblock_mt, MM_MT_MOVABLE, (mm->nr_pages >> MM_PAGEBLOCK_ORDER) + 1);
	return 0;
}

/*
 * setup_per_zone_lowmem_reserve() (6.1 and 6.12): a GFP_KERNEL request may
 * use a lower zone only while it keeps (managed pages of the node's zones
 * above it, up to Normal) / sysctl_lowmem_reserve_ratio free.  Only the
 * Normal class is kept: every modeled allocation is GFP_KERNEL.  The pages
 * above are those the host keeps (mm_zone_kept()): counted with the held
 * memory, a 1 TiB host's reserve (4 GiB) would close DMA32, a quarter of the
 * 16 GiB it keeps.
 */
static void setup_lowmem_reserve(struct mm_host *mm)
{
	for (unsigned int nid = 0; nid < mm->nr_nodes; nid++)
		for (unsigned int i = mm->node_zone[nid]; i < mm->node_zone[nid + 1]; i++) {
			uint64_t above = 0;

			for (unsigned int j = i + 1; j < mm->node_zone[nid + 1]; j++)
				above += mm_zone_kept(mm, &mm->zones[j]);
			mm->zones[i].lowmem_reserve = above / MM_LOWMEM_RESERVE_RATIO;
		}
}

static bool bad_nid(const struct mm_host *mm, int nid);

snp_pfn_t mm_first_deferred_pfn(const struct mm_host *mm, int nid)
{
	const struct mm_zone *z;
	uint64_t pfn;

	if (bad_nid(mm, nid))
		return MM_PFN_INVALID;
	/* "Only the highest zone is deferred": the zone that ends the node */
	z = &mm->zones[mm->node_zone[nid + 1] - 1];
	/* defer_init(): past PAGES_PER_SECTION pages initialised, at the next section boundary */
	pfn = (z->start_pfn + MM_PAGES_PER_SECTION + MM_PAGES_PER_SECTION - 1) & ~(MM_PAGES_PER_SECTION - 1);
	return pfn < z->end_pfn ? pfn : MM_PFN_INVALID;
}

/*
 * Deferred struct-page init (6.1 and 6.12 mm/mm_init.c, page_alloc.c):
 * memmap_init_range() marks every pageblock it initialises MOVABLE,
 * reserved or not, but stops at the first deferred pfn; past it only
 * deferred_free_pages() marks pageblocks, and only those whose first page
 * it frees.  A pageblock whose first page was reserved at boot keeps the
 * zeroed pageblock bits: MIGRATE_UNMOVABLE.
 */
static void deferred_pageblock_types(struct mm_host *mm)
{
	for (unsigned int nid = 0; nid < mm->nr_nodes; nid++) {
		snp_pfn_t first = mm_first_deferred_pfn(mm, (int)nid);
		uint64_t end = mm->zones[mm->node_zone[nid + 1] - 1].end_pfn;

		for (uint64_t pfn = first; first != MM_PFN_INVALID && pfn < end; pfn += 1ULL << MM_PAGEBLOCK_ORDER)
			if (mm->mem_map[pfn].flags & PG_reserved)
				mm->pageblock_mt[pfn >> MM_PAGEBLOCK_ORDER] = MM_MT_UNMOVABLE;
	}
}

int mm_free_reserved_area(struct mm_host *mm, unsigned int cpu, snp_pfn_t start_pfn, uint64_t nr_pages)
{
	if (!mm || cpu >= mm->nr_cpus || start_pfn >= mm->nr_pages || nr_pages > mm->nr_pages - start_pfn)
		return SNP_EINVAL;
	for (uint64_t pfn = start_pfn; pfn < start_pfn + nr_pages; pfn++)
		if (!(mm->mem_map[pfn].flags & PG_reserved))
			return SNP_EINVAL;
	for (uint64_t pfn = start_pfn; pfn < start_pfn + nr_pages; pfn++) {
		/* free_reserved_page(): ClearPageReserved, then __free_page() */
		mm->mem_map[pfn].flags &= (uint8_t)~PG_reserved;
		mm->zones[mm_zid_of_pfn(mm, pfn)].reserved--;
		mm_free_boot_page(mm, cpu, pfn);
	}
	return 0;
}

/*
 * The held pages (mm_config.held_bytes) are left out of the free lists as
 * a reservation is, but not marked: they count as allocated (and managed),
 * and their struct pages stay untouched.
 */
static void add_held_ranges(struct mm_host *mm, struct mm_reserved_range *res, size_t *n)
{
	for (unsigned int nid = 0; mm->held_per_node && nid < mm->nr_nodes; nid++) {
		uint64_t start, end;

		mm_node_span(mm, nid, &start, &end);
		res[(*n)++] = (struct mm_reserved_range){ end - mm->held_per_node, mm->held_per_node };
		mm->allocated += mm->held_per_node;
	}
}

static SNP_MUST_CHECK int reserve_and_free(struct mm_host *mm, const struct mm_config *cfg)
{
	size_t n = cfg->nr_reserved + (cfg->x86_layout ? 1 : 0);
	struct mm_reserved_range *res = NULL;

	if (n || mm->held_per_node) {
		res = malloc((n + mm->nr_nodes) * sizeof(*res));
		if (!res)
			return SNP_ENOMEM;
		if (cfg->nr_reserved)
			memcpy(res, cfg->reserved, cfg->nr_reserved * sizeof(*res));
		if (cfg->x86_layout)   /* reserve_real_mode(): memblock_reserve(0, SZ_1M) */
			res[n - 1] = (struct mm_reserved_range){ 0, MM_REAL_MODE_PFNS };
		for (size_t i = 0; i < n; i++)
			mark_reserved(mm, &res[i]);
		add_held_ranges(mm, res, &n);
		qsort(res, n, sizeof(*res), cmp_range);
	}
	if (cfg->deferred_init)
		deferred_pageblock_types(mm);
	if (cfg->pageblock_mt)   /* a measured boot's types, before anything is freed */
		memcpy(mm->pageblock_mt, cfg->pageblock_mt, mm->nr_pages >> MM_PAGEBLOCK_ORDER);
	free_all_memory(mm, res, n);
	free(res);
	setup_lowmem_reserve(mm);
	mm_setup_pcp_sizes(mm);
	return 0;
}

int mm_host_create(const struct mm_config *cfg, struct mm_host **out)
{
	struct mm_host *mm;
	int err;

	if (!out)
		return SNP_EINVAL;
	*out = NULL;
	err = check_config(cfg);
	if (err)
		return err;
	mm = calloc(1, sizeof(*mm));
	if (!mm)
		return SNP_ENOMEM;
	mm->nr_pages = cfg->mem_bytes / SNP_PAGE_SIZE;
	mm->nr_nodes = cfg->nr_nodes;
	mm->nr_cpus = cfg->nr_cpus;
	mm->pages_per_node = mm->nr_pages / mm->nr_nodes;
	mm->held_per_node = held_per_node(cfg);
	mm->kernel = cfg->kernel;
	mm->llc_slice_kib = llc_slice_kib(cfg);
	mm->init_on_alloc = cfg->init_on_alloc;
	mm->thp_min_free_kbytes = cfg->thp_min_free_kbytes;
	mm->cfg_batch = cfg->pcp_batch;
	mm->cfg_high = cfg->pcp_batch ? (cfg->pcp_high ? cfg->pcp_high : 6u * cfg->pcp_batch) : 0;
	err = (unsigned int)cfg->kernel >= MM_NR_KERNELS || (cfg->pcp_high && !cfg->pcp_batch) ||
	      mm->cfg_high < mm->cfg_batch ? SNP_EINVAL : 0;
	/* calloc: the kernel of the process maps untouched mem_map on demand. */
	mm->mem_map = err ? NULL : calloc(mm->nr_pages, sizeof(struct page));
	if (!err && !mm->mem_map)
		err = SNP_ENOMEM;
	if (!err)
		err = setup_zones(mm, cfg->x86_layout);
	if (!err)
		err = reserve_and_free(mm, cfg);
	if (err) {
		mm_host_destroy(mm);
		return err;
	}
	*out = mm;
	return 0;
}

/* A copy of n bytes of src in new memory, or NULL. */
static void *dup_bytes(const void *src, size_t n)
{
	void *p = malloc(n ? n : 1);

	if (p)
		memcpy(p, src, n);
	return p;
}

/*
 * Nothing in Linux: what simulate's trials start from.  mm_host_create()
 * then mm_host_copy_state() would zero and boot a mem_map only to overwrite
 * it; this copies src's geometry and arrays once.  The zones array is sized
 * as setup_zones() sizes it, its unused tail zeroed as there.
 */
int mm_host_clone(const struct mm_config *cfg, const struct mm_host *src, struct mm_host **out)
{
	unsigned int high;
	struct mm_host *mm;

	if (!cfg || !src || !out || check_config(cfg))
		return SNP_EINVAL;
	*out = NULL;
	high = cfg->pcp_batch ? (cfg->pcp_high ? cfg->pcp_high : 6u * cfg->pcp_batch) : 0;
	if (src->nr_pages != cfg->mem_bytes / SNP_PAGE_SIZE || src->nr_nodes != cfg->nr_nodes ||
	    src->nr_cpus != cfg->nr_cpus || src->kernel != cfg->kernel ||
	    src->cfg_batch != cfg->pcp_batch || src->cfg_high != high ||
	    src->llc_slice_kib != llc_slice_kib(cfg) || src->held_per_node != held_per_node(cfg) ||
	    src->thp_min_free_kbytes != cfg->thp_min_free_kbytes)
		return SNP_EINVAL;
	mm = calloc(1, sizeof(*mm));
	if (!mm)
		return SNP_ENOMEM;
	mm->nr_pages = src->nr_pages;
	mm->pages_per_node = src->pages_per_node;
	mm->held_per_node = src->held_per_node;
	mm->nr_nodes = src->nr_nodes;
	mm->nr_cpus = src->nr_cpus;
	mm->cfg_batch = src->cfg_batch;
	mm->cfg_high = src->cfg_high;
	mm->kernel = src->kernel;
	mm->llc_slice_kib = src->llc_slice_kib;
	mm->thp_min_free_kbytes = src->thp_min_free_kbytes;
	mm->init_on_alloc = cfg->init_on_alloc;
	mm->allocated = src->allocated;
	mm->cleared = src->cleared;
	memcpy(mm->alloc_events, src->alloc_events, sizeof(mm->alloc_events));
	mm->pcp_flow = src->pcp_flow;
	mm->nr_zones = src->nr_zones;
	mm->mem_map = calloc(src->nr_pages, sizeof(*src->mem_map));
	mm->pageblock_mt = dup_bytes(src->pageblock_mt, (src->nr_pages >> MM_PAGEBLOCK_ORDER) + 1);
	mm->zones = calloc((size_t)src->nr_nodes * MM_NR_ZONE_TYPES, sizeof(*mm->zones));
	mm->node_zone = dup_bytes(src->node_zone, (src->nr_nodes + 1) * sizeof(*src->node_zone));
	mm->pcp = dup_bytes(src->pcp, (size_t)src->nr_cpus * src->nr_zones * sizeof(*src->pcp));
	if (!mm->mem_map || !mm->pageblock_mt || !mm->zones || !mm->node_zone || !mm->pcp) {
		mm_host_destroy(mm);
		return SNP_ENOMEM;
	}
	mm_mem_map_copy(mm, src);
	memcpy(mm->zones, src->zones, src->nr_zones * sizeof(*src->zones));
	*out = mm;
	return 0;
}

void mm_host_destroy(struct mm_host *mm)
{
	if (!mm)
		return;
	if (mm->client_release)
		mm->client_release(mm, mm->client);
	free(mm->pcp);
	free(mm->pageblock_mt);
	free(mm->node_zone);
	free(mm->zones);
	free(mm->mem_map);
	free(mm);
}

int mm_last_error(const struct mm_host *mm)
{
	return mm ? mm->last_err : SNP_EINVAL;
}

int mm_set_last_error(struct mm_host *mm, int err)
{
	if (mm)
		mm->last_err = err;
	return err;
}

int mm_set_client(struct mm_host *mm, void *data, void (*release)(struct mm_host *mm, void *data))
{
	if (!mm || mm->client)
		return SNP_EINVAL;
	mm->client = data;
	mm->client_release = release;
	return 0;
}

void *mm_client(const struct mm_host *mm)
{
	return mm ? mm->client : NULL;
}

/* CPUs are spread over nodes in contiguous runs (assumed topology). */
int mm_cpu_to_node(const struct mm_host *mm, unsigned int cpu)
{
	if (!mm || cpu >= mm->nr_cpus)
		return SNP_EINVAL;
	return (int)((uint64_t)cpu * mm->nr_nodes / mm->nr_cpus);
}

unsigned int mm_nr_nodes(const struct mm_host *mm)
{
	return mm ? mm->nr_nodes : 0;
}

unsigned int mm_nr_cpus(const struct mm_host *mm)
{
	return mm ? mm->nr_cpus : 0;
}

uint64_t mm_mem_map_bytes(uint64_t mem_bytes)
{
	return (mem_bytes >> SNP_PAGE_SHIFT) * sizeof(struct page);
}

uint64_t mm_held_pages(const struct mm_host *mm)
{
	return mm ? mm->held_per_node * mm->nr_nodes : 0;
}

uint64_t mm_nr_pages(const struct mm_host *mm)
{
	return mm ? mm->nr_pages : 0;
}

int mm_pfn_to_nid(const struct mm_host *mm, snp_pfn_t pfn)
{
	if (!mm || pfn >= mm->nr_pages)
		return SNP_ERANGE;
	return (int)mm_nid_of_pfn(mm, pfn);
}

snp_pfn_t mm_page_to_pfn(const struct mm_host *mm, const struct page *page)
{
	if (!mm_page_valid(mm, page))
		return MM_PFN_INVALID;
	return mm_pfn_of(mm, page);
}

struct page *mm_pfn_to_page(const struct mm_host *mm, snp_pfn_t pfn)
{
	if (!mm || pfn >= mm->nr_pages)
		return NULL;
	return &mm->mem_map[pfn];
}

static bool bad_nid(const struct mm_host *mm, int nid)
{
	return !mm || nid < 0 || (unsigned int)nid >= mm->nr_nodes;
}

int mm_buddyinfo(const struct mm_host *mm, int nid, uint64_t counts[MM_NR_ORDERS])
{
	if (bad_nid(mm, nid) || !counts)
		return SNP_EINVAL;
	memset(counts, 0, MM_NR_ORDERS * sizeof(*counts));
	for (unsigned int z = mm->node_zone[nid]; z < mm->node_zone[nid + 1]; z++)
		for (unsigned int o = 0; o <= MM_MAX_ORDER; o++)
			counts[o] += mm->zones[z].area[o].nr_free;
	return 0;
}

int mm_node_zones(const struct mm_host *mm, int nid, struct mm_zone_info *out, unsigned int max)
{
	unsigned int n = 0;

	if (bad_nid(mm, nid) || (!out && max))
		return SNP_EINVAL;
	for (unsigned int z = mm->node_zone[nid]; z < mm->node_zone[nid + 1] && n < max; z++) {
		const struct mm_zone *zone = &mm->zones[z];

		out[n++] = (struct mm_zone_info){
			.type = zone->type, .start_pfn = zone->start_pfn, .end_pfn = zone->end_pfn,
			.managed = zone->end_pfn - zone->start_pfn - zone->reserved,
			.lowmem_reserve = zone->lowmem_reserve, .free = zone->free_pages,
		};
	}
	return (int)n;
}

static void add_zone_counts(const struct mm_host *mm, unsigned int zid, struct mm_counts *c)
{
	const struct mm_zone *z = &mm->zones[zid];
	uint64_t pcp = 0;

	for (unsigned int cpu = 0; cpu < mm->nr_cpus; cpu++)
		pcp += mm->pcp[(size_t)cpu * mm->nr_zones + zid].count;
	c->present += z->end_pfn - z->start_pfn;
	c->reserved += z->reserved;
	c->free += z->free_pages;
	c->pcp += pcp;
	c->allocated += z->end_pfn - z->start_pfn - z->reserved - z->free_pages - pcp;
}

int mm_get_counts(const struct mm_host *mm, int nid, struct mm_counts *out)
{
	if (!mm || !out || (nid != MM_NUMA_NO_NODE && bad_nid(mm, nid)))
		return SNP_EINVAL;
	memset(out, 0, sizeof(*out));
	for (unsigned int z = 0; z < mm->nr_zones; z++)
		if (nid == MM_NUMA_NO_NODE || (unsigned int)nid == mm->zones[z].nid)
			add_zone_counts(mm, z, out);
	return 0;
}

/* mm/vmstat.c unusable_free_index(): free memory in blocks below @order, the node's zones summed. */
int mm_unusable_index(const struct mm_host *mm, int nid, unsigned int order)
{
	uint64_t small = 0, free = 0;

	if (bad_nid(mm, nid) || order > MM_MAX_ORDER)
		return SNP_EINVAL;
	for (unsigned int z = mm->node_zone[nid]; z < mm->node_zone[nid + 1]; z++) {
		free += mm->zones[z].free_pages;
		for (unsigned int o = 0; o < order; o++)
			small += mm->zones[z].area[o].nr_free << o;
	}
	return free ? (int)(small * 1000 / free) : 0;
}

int mm_pageblock_migratetype(const struct mm_host *mm, snp_pfn_t pfn)
{
	if (!mm || pfn >= mm->nr_pages)
		return SNP_ERANGE;
	return (int)mm_pageblock_mt(mm, pfn);
}

int mm_page_reserved(const struct mm_host *mm, snp_pfn_t pfn)
{
	if (!mm || pfn >= mm->nr_pages)
		return SNP_ERANGE;
	return !!(mm->mem_map[pfn].flags & PG_reserved);
}

/* Blocks on one list: a count, it cannot fail. */
static uint64_t list_len(const struct mm_host *mm, const struct mm_list *l)
{
	uint64_t n = 0;

	for (uint32_t pfn = l->head; pfn != MM_NIL; pfn = mm->mem_map[pfn].next)
		n++;
	return n;
}

int mm_free_blocks_mt(const struct mm_host *mm, int nid, unsigned int order,
		      enum mm_migratetype mt, uint64_t *out)
{
	if (bad_nid(mm, nid) || order > MM_MAX_ORDER || (unsigned int)mt >= MM_NR_MIGRATETYPES || !out)
		return SNP_EINVAL;
	*out = 0;
	for (unsigned int z = mm->node_zone[nid]; z < mm->node_zone[nid + 1]; z++)
		*out += list_len(mm, &mm->zones[z].area[order].list[mt]);
	return 0;
}

/* @cpu's pcp list of @order and @mt for the zone holding @pfn_in_zone, or NULL. */
static const struct mm_list *pcp_list(const struct mm_host *mm, unsigned int cpu,
				      snp_pfn_t pfn_in_zone, unsigned int order,
				      enum mm_migratetype mt)
{
	if (!mm || cpu >= mm->nr_cpus || pfn_in_zone >= mm->nr_pages ||
	    (unsigned int)mt >= MM_NR_MIGRATETYPES || !mm_pcp_order(order))
		return NULL;
	return &mm->pcp[(size_t)cpu * mm->nr_zones + mm_zid_of_pfn(mm, pfn_in_zone)]
			.lists[mm_pindex(mt, order)];
}

int mm_pcp_blocks_mt(const struct mm_host *mm, unsigned int cpu, snp_pfn_t pfn_in_zone,
		     unsigned int order, enum mm_migratetype mt, uint64_t *out)
{
	const struct mm_list *l = pcp_list(mm, cpu, pfn_in_zone, order, mt);

	if (!l || !out)
		return SNP_EINVAL;
	*out = list_len(mm, l);
	return 0;
}

/* Read-only: repro shows which page a list offers next, without taking it. */
int mm_pcp_peek(const struct mm_host *mm, unsigned int cpu, snp_pfn_t pfn_in_zone,
		unsigned int order, enum mm_migratetype mt, unsigned int index, snp_pfn_t *out)
{
	const struct mm_list *l = pcp_list(mm, cpu, pfn_in_zone, order, mt);
	uint32_t pfn;

	if (!l || !out)
		return SNP_EINVAL;
	pfn = l->head;
	for (; pfn != MM_NIL && index; index--)
		pfn = mm->mem_map[pfn].next;
	if (pfn == MM_NIL)
		return SNP_ENOENT;
	*out = pfn;
	return 0;
}

int mm_free_block_mt(const struct mm_host *mm, snp_pfn_t pfn)
{
	if (!mm || pfn >= mm->nr_pages)
		return SNP_EINVAL;
	return (mm->mem_map[pfn].flags & PG_buddy) ? mm->mem_map[pfn].mt : -1;
}

/*
 * Walk the pageblock block by block: a free or allocated head covers its
 * 2^order pages.  A buddy block larger than the pageblock starts at or
 * before it, so the walk starts at the max-order block holding @pfn.
 */
int mm_pageblock_free(const struct mm_host *mm, snp_pfn_t pfn, unsigned int *buddy, unsigned int *pcp)
{
	const uint64_t nr = 1ULL << MM_PAGEBLOCK_ORDER;
	uint64_t start, end, p;

	if (!mm || !buddy || !pcp)
		return SNP_EINVAL;
	if (pfn >= mm->nr_pages)
		return SNP_ERANGE;
	start = pfn & ~(nr - 1);
	end = start + nr < mm->nr_pages ? start + nr : mm->nr_pages;
	*buddy = *pcp = 0;
	for (p = pfn & ~((1ULL << MM_MAX_ORDER) - 1); p < end;) {
		const struct page *pg = &mm->mem_map[p];
		uint64_t len = pg->flags & (PG_buddy | PG_pcp | PG_alloc) ? 1ULL << pg->order : 1;
		uint64_t lo = p > start ? p : start, hi = p + len < end ? p + len : end;

		if (hi > lo && (pg->flags & PG_buddy))
			*buddy += (unsigned int)(hi - lo);
		else if (hi > lo && (pg->flags & PG_pcp))
			*pcp += (unsigned int)(hi - lo);
		p += len;
	}
	return 0;
}
