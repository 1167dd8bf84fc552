/* SPDX-License-Identifier: MIT */
/*
 * mm_internal.h - the host allocator's data structures, shared by the files of
 * src/mm only.
 *
 * struct page is 12 bytes: lists are linked by 32-bit pfn indices instead of
 * pointers (a modeled host has < 2^32 pages, 16TiB), so 16GiB of modeled
 * memory costs 48MB of mem_map.  mem_map comes from calloc() and only the head
 * pages of free blocks are written at boot, so untouched tail pages stay
 * zero-fill-on-demand memory of the process.
 */
#ifndef SNPSAFE_MM_INTERNAL_H
#define SNPSAFE_MM_INTERNAL_H

#include <snpsafe/mm.h>

#define MM_NIL UINT32_MAX
#define MM_MAX_HOST_PAGES (1ULL << 32)   /* pfn indices are 32-bit; MM_NIL unused */

/* Page flags (struct page.flags). */
enum {
	PG_buddy    = 1u << 0,   /* head of a free block in a buddy list (PageBuddy) */
	PG_pcp      = 1u << 1,   /* head of a block on a per-CPU list */
	PG_reserved = 1u << 2,   /* boot reservation (PageReserved) */
	PG_alloc    = 1u << 3,   /* head of a live allocation of order page.order */
	PG_zeroed   = 1u << 4,   /* contents known zero: the inverse of "dirty" */
};

struct page {
	uint32_t next;   /* pfn of the next block on the list, or MM_NIL */
	uint32_t prev;
	uint8_t order;   /* order of the free block or of the allocation */
	uint8_t flags;
	/*
	 * Migratetype: of the free list a buddy head is on, of the pcp list a
	 * pcp head is on (v6.1 get_pcppage_migratetype()), or of the request
	 * that allocated a live head (PageLRU/__PageMovable for MOVABLE).
	 */
	uint8_t mt;
	uint8_t unused;
};

/* A doubly linked list of block heads, by pfn. */
struct mm_list {
	uint32_t head;
	uint32_t tail;
};

/* struct free_area: one free list per migratetype. */
struct mm_free_area {
	struct mm_list list[MM_NR_MIGRATETYPES];
	uint64_t nr_free;        /* blocks, all types */
};

/* struct zone: one per (node, zone type) that has memory. */
struct mm_zone {
	unsigned int nid;
	enum mm_zone_type type;
	uint64_t lowmem_reserve; /* lowmem_reserve[ZONE_NORMAL]: kept from GFP_KERNEL */
	uint64_t wmark_low;      /* low_wmark_pages(), for zone_highsize() only */
	unsigned int batch;      /* pcp->batch: zone_batchsize() */
	unsigned int high_min;   /* pcp->high_min: zone_highsize() from the low watermark */
	unsigned int high_max;   /* pcp->high_max: 6.12 managed / 8 / CPUs; 6.1 = high_min */
	uint64_t start_pfn;
	uint64_t end_pfn;        /* exclusive */
	uint64_t reserved;
	uint64_t free_pages;     /* NR_FREE_PAGES: pages in the buddy lists */
	struct mm_free_area area[MM_NR_ORDERS];
};

/*
 * pcp lists as order_to_pindex() numbers them: MIGRATE_PCPTYPES * order +
 * migratetype for orders 0..3, then NR_PCP_THP = 2 lists for the one THP
 * order (pageblock order): movable, and unmovable+reclaimable (commit "mm:
 * page_alloc: separate THP PCP into movable and non-movable categories",
 * v6.10, in Debian's 6.1.192 as a stable backport and in 6.12.95:
 * include/linux/mmzone.h NR_PCP_THP).
 */
#define MM_NR_LOWORDER_PCP_LISTS (MM_NR_MIGRATETYPES * (MM_PCP_MAX_ORDER + 1))
#define MM_NR_PCP_LISTS (MM_NR_LOWORDER_PCP_LISTS + 2)

/* struct per_cpu_pages: one per (cpu, zone), cpu-major. */
struct mm_pcp {
	struct mm_list lists[MM_NR_PCP_LISTS];
	uint32_t count;          /* pages (an order-3 block counts 8) */
	uint32_t high;           /* pcp->high: fixed in 6.1, adaptive in 6.12 */
	uint32_t free_count;     /* 6.12: pages freed since the last allocation (halved by one) */
	uint8_t free_factor;     /* 6.1: doubles the drain on consecutive frees */
	uint8_t alloc_factor;    /* 6.12: doubles order-0 refills on consecutive allocations */
	bool prev_free_high_order;   /* 6.12 PCPF_PREV_FREE_HIGH_ORDER */
	bool free_high_batch;        /* 6.12 PCPF_FREE_HIGH_BATCH (zone_pcp_update_cacheinfo()) */
};

struct mm_host {
	struct page *mem_map;
	uint64_t nr_pages;
	uint64_t pages_per_node;
	uint64_t held_per_node;  /* mm_config.held_bytes: pages at each node's top, never freed */
	unsigned int nr_nodes;
	unsigned int nr_cpus;
	unsigned int cfg_batch;  /* mm_config pcp_batch/pcp_high: 0 = the kernel's formulas */
	unsigned int cfg_high;
	unsigned int llc_slice_kib;  /* mm_config.llc_slice_kib: PCPF_FREE_HIGH_BATCH */
	bool init_on_alloc;      /* mm_config.init_on_alloc: every allocation cleared */
	bool thp_min_free_kbytes;   /* mm_config.thp_min_free_kbytes: khugepaged's watermarks */
	enum mm_kernel kernel;
	uint8_t *pageblock_mt;   /* one migratetype per pageblock */
	int last_err;
	uint64_t allocated;      /* pages handed out */
	uint64_t cleared;        /* pages cleared (kernel_init_pages(), clear_page()) */
	uint64_t alloc_events[MM_NR_ORDERS][MM_NR_MIGRATETYPES];   /* allocations made */
	struct mm_pcp_flow pcp_flow;    /* order-0 pages between the pcp and buddy lists */
	struct mm_zone *zones;   /* nr_zones, by node then by pfn */
	unsigned int nr_zones;
	unsigned int *node_zone; /* zones of node n: node_zone[n] .. node_zone[n + 1] - 1 */
	struct mm_pcp *pcp;      /* nr_cpus * nr_zones */
	void *client;            /* mm_set_client(): the KVM layer's SNP allocator state */
	void (*client_release)(struct mm_host *mm, void *data);
};

static inline uint32_t mm_pfn_of(const struct mm_host *mm, const struct page *p)
{
	return (uint32_t)(p - mm->mem_map);
}

static inline struct mm_pcp *mm_pcp_of(struct mm_host *mm, unsigned int cpu, unsigned int zid)
{
	return &mm->pcp[(size_t)cpu * mm->nr_zones + zid];
}

/* Node @nid's pfns: [*start, *end). */
static inline void mm_node_span(const struct mm_host *mm, unsigned int nid, uint64_t *start,
				uint64_t *end)
{
	*start = nid * mm->pages_per_node;
	*end = nid + 1 == mm->nr_nodes ? mm->nr_pages : *start + mm->pages_per_node;
}

static inline unsigned int mm_nid_of_pfn(const struct mm_host *mm, uint64_t pfn)
{
	uint64_t n = pfn / mm->pages_per_node;

	return n >= mm->nr_nodes ? mm->nr_nodes - 1 : (unsigned int)n;
}

/* page_zone(): the index of the zone holding @pfn. */
static inline unsigned int mm_zid_of_pfn(const struct mm_host *mm, uint64_t pfn)
{
	unsigned int nid = mm_nid_of_pfn(mm, pfn), z = mm->node_zone[nid];

	while (z + 1 < mm->node_zone[nid + 1] && pfn >= mm->zones[z].end_pfn)
		z++;
	return z;
}

/*
 * Managed pages of zone @z less those the guests hold from boot
 * (mm_config.held_bytes, the top of each node): what lowmem_reserve and the
 * pcp lists' high_max are sized from.  Why not the whole zone: the held
 * memory never reaches the allocator, and a reserve or a list sized for a
 * 1 TiB host would swallow the 16 GiB it keeps (docs/MODEL.md, "Hosts of an
 * operator's size").  Without held memory it is the zone's managed pages.
 */
static inline uint64_t mm_zone_kept(const struct mm_host *mm, const struct mm_zone *z)
{
	uint64_t start, end, held_from;

	mm_node_span(mm, z->nid, &start, &end);
	held_from = end - mm->held_per_node;
	if (held_from < z->start_pfn)
		held_from = z->start_pfn;
	return z->end_pfn - z->start_pfn - z->reserved -
	       (held_from < z->end_pfn ? z->end_pfn - held_from : 0);
}

/*
 * Set the error of the last call and return it (for "return mm_err(mm, e)").
 * Not must-check, as mm_set_last_error(): it returns its own argument.
 */
static inline int mm_err(struct mm_host *mm, int err)
{
	mm->last_err = err;
	return err;
}

static inline void mm_list_init(struct mm_list *l)
{
	l->head = MM_NIL;
	l->tail = MM_NIL;
}

static inline unsigned int mm_pageblock_mt(const struct mm_host *mm, uint64_t pfn)
{
	return mm->pageblock_mt[pfn >> MM_PAGEBLOCK_ORDER];
}

/* Which pcp list holds blocks of @order and @mt (order_to_pindex()); order is 0..3 or 9. */
static inline unsigned int mm_pindex(unsigned int mt, unsigned int order)
{
	if (order > MM_PCP_MAX_ORDER)
		return MM_NR_LOWORDER_PCP_LISTS + (mt == MM_MT_MOVABLE ? 1 : 0);
	return MM_NR_MIGRATETYPES * order + mt;
}

/* pcp_allowed_order(): orders 0..3, and pageblock order (THP). */
static inline bool mm_pcp_order(unsigned int order)
{
	return order <= MM_PCP_MAX_ORDER || order == MM_PAGEBLOCK_ORDER;
}

/*
 * Copy src's mem_map into dst's (same geometry), less the held pages: never
 * written in either, they are zero in both (calloc), and a large host's
 * copy costs only what its allocator uses.
 */
void mm_mem_map_copy(struct mm_host *dst, const struct mm_host *src);

/* Boot: free one naturally aligned block of zone @zid (FPI_TO_TAIL). */
void mm_boot_free_block(struct mm_host *mm, unsigned int zid, uint64_t pfn, unsigned int order);

/* ---- pcp sizes (pcp_size.c) ---- */
/* zone_batchsize(), zone_highsize() and the watermarks they need, for every zone. */
void mm_setup_pcp_sizes(struct mm_host *mm);
void mm_free_boot_page(struct mm_host *mm, unsigned int cpu, uint64_t pfn);
/* rmqueue_pcplist() bookkeeping on every allocation through a pcp. */
void mm_pcp_note_alloc(const struct mm_host *mm, struct mm_pcp *pcp);
/* nr_pcp_alloc(): how many blocks a refill of an empty list takes. */
unsigned int mm_nr_pcp_alloc(const struct mm_host *mm, const struct mm_zone *z,
			     struct mm_pcp *pcp, unsigned int order);
/* After a block of @order went onto a pcp list: pages to drain now (0 for none). */
uint64_t mm_pcp_free_commit(const struct mm_host *mm, const struct mm_zone *z,
			    struct mm_pcp *pcp, unsigned int order);
/* free_pcppages_bulk() of @count pages of (cpu, zone), from list 0 on. */
void mm_pcp_drain_to(struct mm_host *mm, unsigned int cpu, unsigned int zid, uint64_t count);

/*
 * Is @page a pointer into this host's mem_map (checked without UB)?  Every
 * public call that takes a page asks, the allocation hot path included
 * (mm_page_to_pfn(), mm_clear_page()), so it is inline and one unsigned
 * compare: a NULL or foreign pointer's offset wraps past the map's size.
 */
static inline bool mm_page_valid(const struct mm_host *mm, const struct page *page)
{
	uintptr_t off;

	if (!mm)
		return false;
	off = (uintptr_t)page - (uintptr_t)mm->mem_map;
	return off < mm->nr_pages * sizeof(struct page) && off % sizeof(struct page) == 0;
}

/* Free a cache's record without giving its slabs back (its host is torn down whole). */
void mm_kmem_cache_forget(struct mm_kmem_cache *s);

#endif
