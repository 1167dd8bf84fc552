/* SPDX-License-Identifier: MIT */
/*
 * snpsafe/mm.h - a user-space model of the Linux page allocator
 * (mm/page_alloc.c) over simulated physical memory, in the spirit of
 * tools/testing/memblock: the kernel's rules, run on a fake machine.
 *
 * One modeled host ("struct mm_host", opaque) owns pfns 0..N-1, split evenly
 * between NUMA nodes, one zone per node.  Each zone has a buddy allocator
 * (orders 0..MM_MAX_ORDER, a max-order block is 4MB) and, per CPU, per-CPU
 * page lists (pcp) for orders 0..MM_PCP_MAX_ORDER.  Pages are "struct page *"
 * pointing into the host's mem_map, as in the kernel.
 *
 * The model has no page contents.  Each page carries a "dirty" bit instead: a
 * modeled write sets it, zeroing (MM_GFP_ZERO, mm_clear_page) clears it.
 * Memory that was never zeroed since boot counts as dirty.
 *
 * Threads: there is no global mutable state.  A host is used by one thread at
 * a time (the caller serialises); different hosts run on different threads.
 *
 * Errors: functions returning int return 0 (or a count) or a negative SNP_E*
 * code.  Allocation functions return NULL on failure, like the kernel, and
 * leave the reason (SNP_EINVAL for bad input, SNP_ENOMEM for no memory) in
 * mm_last_error().
 */
#ifndef SNPSAFE_MM_H
#define SNPSAFE_MM_H

#include <snpsafe/common.h>

#define MM_MAX_ORDER        10u   /* Linux MAX_PAGE_ORDER (6.x): 4MB blocks */
#define MM_NR_ORDERS        (MM_MAX_ORDER + 1u)
#define MM_PCP_MAX_ORDER    3u    /* PAGE_ALLOC_COSTLY_ORDER: pcp orders, >= 5.13 */
#define MM_PAGEBLOCK_ORDER  9u    /* pageblock_order on x86-64: 2MB */
#define MM_MAX_NODES        64u
#define MM_MAX_CPUS         1024u
#define MM_PFN_INVALID      UINT64_MAX

/*
 * Fixed pcp sizes some tests use (mm_config.pcp_batch/pcp_high): 63 is
 * zone_batchsize() above about 688 MiB, 6 x 63 the pre-5.14 high.  A zero
 * pcp_batch takes the kernel's per-zone formulas instead (pcp_size.c).
 */
#define MM_PCP_BATCH_DEFAULT 63u
#define MM_PCP_HIGH_DEFAULT  (6u * MM_PCP_BATCH_DEFAULT)

/* Allocation flags: the subset of gfp_t the model needs. */
typedef unsigned int mm_gfp_t;
#define MM_GFP_KERNEL    0u          /* GFP_KERNEL */
#define MM_GFP_ZERO      (1u << 0)   /* __GFP_ZERO: hand out zeroed pages */
#define MM_GFP_THISNODE  (1u << 1)   /* __GFP_THISNODE: no fallback to other nodes */
#define MM_GFP_ACCOUNT   (1u << 2)   /* __GFP_ACCOUNT: memcg accounting (no-op here) */
#define MM_GFP_NORETRY   (1u << 3)   /* __GFP_NORETRY: skip the drain-and-retry slow path */
#define MM_GFP_MOVABLE   (1u << 4)   /* __GFP_MOVABLE: page cache, anonymous memory */
#define MM_GFP_RECLAIMABLE (1u << 5) /* __GFP_RECLAIMABLE: reclaimable slab (dentries, inodes) */
#define MM_GFP_KERNEL_ACCOUNT (MM_GFP_KERNEL | MM_GFP_ACCOUNT)
#define MM_GFP_HIGHUSER_MOVABLE (MM_GFP_KERNEL | MM_GFP_MOVABLE)   /* page cache and anon */
#define MM_GFP_ALL       (MM_GFP_ZERO | MM_GFP_THISNODE | MM_GFP_ACCOUNT | MM_GFP_NORETRY | \
			  MM_GFP_MOVABLE | MM_GFP_RECLAIMABLE)

/*
 * Migratetypes (include/linux/mmzone.h, 6.1 and 6.12): each 2MB pageblock
 * has one; free lists and per-CPU lists are per type.  gfp_migratetype():
 * no mobility flag = UNMOVABLE (KVM's GFP_KERNEL_ACCOUNT pages), MOVABLE,
 * RECLAIMABLE; both flags at once is refused (SNP_EINVAL).
 */
enum mm_migratetype { MM_MT_UNMOVABLE = 0, MM_MT_MOVABLE, MM_MT_RECLAIMABLE, MM_NR_MIGRATETYPES };

/* Which kernel's page allocator the host follows where 6.1 and 6.12 differ. */
enum mm_kernel { MM_KERNEL_6_12 = 0, MM_KERNEL_6_1, MM_NR_KERNELS };
const char *mm_kernel_name(enum mm_kernel k);      /* "6.12", "6.1" */
SNP_MUST_CHECK int mm_kernel_parse(const char *s, enum mm_kernel *out);  /* 0 or SNP_EINVAL */

/* "Use the allocating CPU's node", as NUMA_NO_NODE in alloc_pages_node(). */
#define MM_NUMA_NO_NODE  (-1)

struct mm_host;
struct page;

/* A range of pfns the kernel used at boot (memblock_reserve): never free. */
struct mm_reserved_range {
	snp_pfn_t start_pfn;
	uint64_t nr_pages;
};

/*
 * Zone types of x86-64 (include/linux/mmzone.h enum zone_type): DMA below
 * 16 MiB, DMA32 below 4 GiB, Normal above.  A host without x86_layout has one
 * Normal zone per node.
 */
enum mm_zone_type { MM_ZONE_DMA = 0, MM_ZONE_DMA32, MM_ZONE_NORMAL, MM_NR_ZONE_TYPES };
#define MM_DMA_END_PFN    (16ULL << (20 - 12))   /* MAX_DMA_PFN: 16 MiB */
#define MM_DMA32_END_PFN  (4ULL << (30 - 12))    /* MAX_DMA32_PFN: 4 GiB */
#define MM_REAL_MODE_PFNS 256u                   /* reserve_real_mode(): SZ_1M */
/* sysctl_lowmem_reserve_ratio[] for DMA and DMA32 (mm/page_alloc.c, 6.1 and 6.12). */
#define MM_LOWMEM_RESERVE_RATIO 256u

/* How to build a host.  Zero pcp_batch/pcp_high pick the defaults above. */
struct mm_config {
	uint64_t mem_bytes;          /* multiple of 4K, >= 4MB per node, <= 16TiB */
	unsigned int nr_nodes;       /* 1..MM_MAX_NODES */
	unsigned int nr_cpus;        /* 1..MM_MAX_CPUS, spread evenly over nodes */
	const struct mm_reserved_range *reserved;
	size_t nr_reserved;
	unsigned int pcp_batch;      /* fixed pages per pcp refill/drain; 0 = zone_batchsize() */
	unsigned int pcp_high;       /* fixed high (>= batch; 0 = 6 x batch) with pcp_batch */
	/*
	 * Lay memory out as x86-64 Linux does: pfns 0..255 never free
	 * (arch/x86/realmode/init.c reserve_real_mode(): memblock_reserve(0,
	 * SZ_1M)), each node split into zones DMA / DMA32 / Normal, and GFP_KERNEL
	 * kept out of a lower zone while its free pages are at or below
	 * lowmem_reserve (setup_per_zone_lowmem_reserve()).
	 */
	bool x86_layout;
	enum mm_kernel kernel;       /* default 6.12 */
	/*
	 * CONFIG_INIT_ON_ALLOC_DEFAULT_ON: post_alloc_hook() clears every page
	 * of every allocation, __GFP_ZERO or not (want_init_on_alloc()).
	 * Debian's 6.1 and 6.12 configs set it, so mm_config_init() turns it
	 * on; false is a kernel booted with init_on_alloc=0.
	 */
	bool init_on_alloc;
	/*
	 * Transparent hugepages enabled (Debian's 6.1 and 6.12 configs:
	 * CONFIG_TRANSPARENT_HUGEPAGE_ALWAYS=y): khugepaged starts at boot and
	 * set_recommended_min_free_kbytes() raises min_free_kbytes to 11
	 * pageblocks per zone up to Normal (at most 5% of nr_free_buffer_pages()),
	 * so the watermarks, and with them the pcp lists' high, follow it.
	 * mm_config_init() turns it on; false is a kernel with THP never.
	 */
	bool thp_min_free_kbytes;
	/*
	 * The CPU's share of its last-level cache, KiB (cacheinfo's
	 * per_cpu_data_slice_size: the LLC over the CPUs sharing it).  6.12
	 * sets PCPF_FREE_HIGH_BATCH on a pcp whose batch this holds more than
	 * 3 times.  0 = MM_LLC_SLICE_KIB_DEFAULT.
	 */
	unsigned int llc_slice_kib;
	/*
	 * CONFIG_DEFERRED_STRUCT_PAGE_INIT (Debian's 6.1 and 6.12 set it):
	 * past the first section (MM_PAGES_PER_SECTION pages) of a node's
	 * highest zone, a pageblock is marked MOVABLE only when its first page
	 * is free at boot (deferred_free_pages()); one whose first page is
	 * reserved keeps type 0, UNMOVABLE.  Below that point, and with this
	 * off, every pageblock starts MOVABLE (memmap_init_range()).
	 */
	bool deferred_init;
	/*
	 * Each pageblock's migratetype as a measured boot left it, one byte a
	 * pageblock (mem_bytes / 4K >> MM_PAGEBLOCK_ORDER of them, each
	 * MM_MT_UNMOVABLE, MOVABLE or RECLAIMABLE), set before the boot's
	 * memory is freed, over Linux's init rules above: a host started from a
	 * dump (kvm_host_config.boot_dump).  NULL: Linux's init.
	 */
	const uint8_t *pageblock_mt;
	/*
	 * Memory held from boot to the host's end by users that never give it
	 * back (on an operator's host, the guests' memory): never put on the
	 * free lists, counted as allocated and as managed, so the watermarks
	 * and the pcp batch and high_min are the whole host's; lowmem_reserve
	 * and 6.12's pcp high_max are sized from the memory kept (held memory
	 * never reaches the allocator: a reserve sized for it would close DMA32
	 * of the kept part, lists sized for it could hold all the kept free
	 * memory; docs/MODEL.md).  Its struct pages are
	 * never written: a large host costs memory and time only for the rest.
	 * Split evenly over the nodes, taken from the top of each; a multiple
	 * of 4 MiB per node, leaving each node at least one 4 MiB block.
	 * 0 = none.  Nothing in Linux: a simulation device (docs/MODEL.md).
	 */
	uint64_t held_bytes;
};

/* PAGES_PER_SECTION of x86-64 (SECTION_SIZE_BITS 27): 128 MiB. */
#define MM_PAGES_PER_SECTION (1ULL << (27 - 12))

/*
 * EPYC 7003 and 9004 (the SNP parts): 32 MiB of L3 per 8-core CCD, shared
 * by its 16 threads: 2 MiB a CPU (AMD's product specifications).
 */
#define MM_LLC_SLICE_KIB_DEFAULT 2048u

/* Page counts of one node, or of the host (nid MM_NUMA_NO_NODE). */
struct mm_counts {
	uint64_t present;    /* pages of the node(s) */
	uint64_t reserved;   /* boot reservations, never handed out */
	uint64_t free;       /* in buddy free lists (NR_FREE_PAGES) */
	uint64_t pcp;        /* on per-CPU lists (free, but cached) */
	uint64_t allocated;  /* handed out and not yet freed */
};

/* Pages of the host held from boot (mm_config.held_bytes). */
uint64_t mm_held_pages(const struct mm_host *mm);

/* Fill *cfg with a 1-node, 1-CPU host of mem_bytes and default pcp sizes. */
void mm_config_init(struct mm_config *cfg, uint64_t mem_bytes);

/*
 * free_reserved_area() after boot (free_initrd_mem(), free_initmem()): each
 * page of [start_pfn, start_pfn + nr_pages), in ascending order, stops
 * being reserved and is freed as an order-0 page on @cpu (__free_page():
 * its CPU's list for its pageblock's type, past high to the buddy).  Every
 * page must be a boot reservation (SNP_EINVAL, nothing freed, otherwise).
 */
SNP_MUST_CHECK int mm_free_reserved_area(struct mm_host *mm, unsigned int cpu, snp_pfn_t start_pfn,
					 uint64_t nr_pages);
/*
 * pfn where deferred struct-page init starts on @nid, booted with
 * deferred_init or not: the first section-aligned pfn after the first
 * MM_PAGES_PER_SECTION pages of the node's highest zone (defer_init());
 * MM_PFN_INVALID when that zone ends first (nothing is deferred) or @nid is bad.
 */
snp_pfn_t mm_first_deferred_pfn(const struct mm_host *mm, int nid);

/* Build a host; all non-reserved memory starts free (memblock_free_all()). */
SNP_MUST_CHECK int mm_host_create(const struct mm_config *cfg, struct mm_host **out);
/* Free the host and its mem_map; outstanding pages need not be freed. */
void mm_host_destroy(struct mm_host *mm);
/*
 * Make dst's allocator an exact copy of src's (same mm_config): a flat copy
 * of its arrays.  dst's client (mm_set_client) is kept; pages a client holds
 * in either are not known to the copy, so release them first.  0 or SNP_EINVAL.
 */
SNP_MUST_CHECK int mm_host_copy_state(struct mm_host *dst, const struct mm_host *src);
/*
 * The host mm_host_create(cfg) then mm_host_copy_state(src) gives, without
 * booting one first: src's allocator copied, no client.  src must have been
 * built from an equal cfg (size, nodes, CPUs, kernel, pcp sizes; the layout
 * is src's).  0, SNP_EINVAL or SNP_ENOMEM.
 */
SNP_MUST_CHECK int mm_host_clone(const struct mm_config *cfg, const struct mm_host *src, struct mm_host **out);

/* The reason of the last failed call on this host (0 if none). */
SNP_MUST_CHECK int mm_last_error(const struct mm_host *mm);
/*
 * Set the error of the last call (for a client's own calls); returns @err,
 * for "return mm_set_last_error(mm, e)".  Not must-check: the value returned
 * is the caller's own argument, so dropping it loses nothing.
 */
int mm_set_last_error(struct mm_host *mm, int err);
/*
 * One client's per-host data (the KVM layer's SNP allocator state,
 * src/kvm/snp_alloc.c): the host keeps the pointer and calls @release at
 * mm_host_destroy().  SNP_EINVAL if one is already set.
 */
SNP_MUST_CHECK int mm_set_client(struct mm_host *mm, void *data, void (*release)(struct mm_host *mm, void *data));
void *mm_client(const struct mm_host *mm);

/* A CPU's node (cpu_to_node()); SNP_EINVAL for a bad cpu. */
SNP_MUST_CHECK int mm_cpu_to_node(const struct mm_host *mm, unsigned int cpu);
unsigned int mm_nr_nodes(const struct mm_host *mm);
unsigned int mm_nr_cpus(const struct mm_host *mm);
uint64_t mm_nr_pages(const struct mm_host *mm);
/* Bytes of host memory the mem_map of a mem_bytes host takes (for sizing, before creating one). */
uint64_t mm_mem_map_bytes(uint64_t mem_bytes);
/* The node owning @pfn, or SNP_ERANGE. */
SNP_MUST_CHECK int mm_pfn_to_nid(const struct mm_host *mm, snp_pfn_t pfn);

/* page_to_pfn(): MM_PFN_INVALID for NULL or a page not of this host. */
snp_pfn_t mm_page_to_pfn(const struct mm_host *mm, const struct page *page);
/* pfn_to_page(): NULL for a pfn outside the host. */
struct page *mm_pfn_to_page(const struct mm_host *mm, snp_pfn_t pfn);

/*
 * The CPU: in the kernel an allocation or a free runs on this_cpu, whose
 * per-CPU lists it uses.  The model has no current CPU: each call names the
 * CPU it runs on (0..nr_cpus-1, SNP_EINVAL otherwise).  A page freed on CPU 1
 * waits on CPU 1's list; CPU 0 does not get it before a drain.
 */
/* alloc_pages_node() on @cpu: 2^order pages from @nid (MM_NUMA_NO_NODE: @cpu's
 * node), falling back to the other nodes unless MM_GFP_THISNODE. */
struct page *mm_alloc_pages_node(struct mm_host *mm, unsigned int cpu, int nid, mm_gfp_t gfp,
				 unsigned int order);
/* alloc_pages() on @cpu: from @cpu's node. */
struct page *mm_alloc_pages(struct mm_host *mm, unsigned int cpu, mm_gfp_t gfp, unsigned int order);
/* __free_pages() on @cpu: give back an allocation of 2^order pages; SNP_EINVAL
 * for NULL, a foreign page, a page that is not the head of a live allocation
 * of that order (double free included), a bad cpu. */
SNP_MUST_CHECK int mm_free_pages(struct mm_host *mm, unsigned int cpu, struct page *page, unsigned int order);
/* split_page(): turn a live order-N allocation into 2^N order-0 ones. */
SNP_MUST_CHECK int mm_split_page(struct mm_host *mm, struct page *page, unsigned int order);

/* A modeled write to @page (sets dirty); clear_page() (clears it); query:
 * 1 dirty, 0 clean, SNP_EINVAL for a bad page. */
SNP_MUST_CHECK int mm_page_write(struct mm_host *mm, struct page *page);
/*
 * Pages cleared so far: every page of an allocation with __GFP_ZERO, or of
 * any allocation under init_on_alloc (mm_config), and clear_page().
 */
uint64_t mm_pages_cleared(const struct mm_host *mm);
/* want_init_on_alloc(): does an allocation with @gfp come cleared on this host? */
bool mm_want_init_on_alloc(const struct mm_host *mm, mm_gfp_t gfp);
/*
 * Allocations made so far (calls, not pages), per order and migratetype:
 * out[order][mt].  Nothing in Linux counts this way; the model's tests use
 * it to hold callers to the allocations a kernel path makes.  0 or SNP_EINVAL.
 */
SNP_MUST_CHECK int mm_alloc_events(const struct mm_host *mm,
				   uint64_t out[MM_NR_ORDERS][MM_NR_MIGRATETYPES]);
/*
 * Order-0 pages moved between the per-CPU lists and the buddy lists since
 * the host was made, by migratetype: what the kmem tracepoints
 * mm_page_alloc_zone_locked (percpu_refill) and mm_page_pcpu_drain count
 * in a kernel (watch/guest-pcp-flow.sh).  A refill counts the list's type,
 * a drain the type the page goes back to the buddy as.
 */
struct mm_pcp_flow {
	uint64_t refill[MM_NR_MIGRATETYPES];
	uint64_t drain[MM_NR_MIGRATETYPES];
	/*
	 * The fallbacks, by the request's migratetype, one per event of the
	 * kmem tracepoint mm_page_alloc_extfrag (6.1's __rmqueue_fallback(),
	 * 6.12.95's __rmqueue_claim() and __rmqueue_steal()):
	 *   claim_block  the block's pageblock is now the request's type
	 *                (change_ownership) and the fallback block was of
	 *                pageblock order or more: a wholly free pageblock
	 *                taken, its 2MB-aligned first page with it;
	 *   claim_part   change_ownership, from a smaller block;
	 *   steal        the pageblock kept its type.
	 */
	uint64_t claim_block[MM_NR_MIGRATETYPES];
	uint64_t claim_part[MM_NR_MIGRATETYPES];
	uint64_t steal[MM_NR_MIGRATETYPES];
};
SNP_MUST_CHECK int mm_pcp_flow(const struct mm_host *mm, struct mm_pcp_flow *out);
/* Every count of @f added to @sum's (@sign +1), or taken from it (-1). */
void mm_pcp_flow_add(struct mm_pcp_flow *sum, const struct mm_pcp_flow *f, int sign);
SNP_MUST_CHECK int mm_clear_page(struct mm_host *mm, struct page *page);
SNP_MUST_CHECK int mm_page_dirty(const struct mm_host *mm, const struct page *page);
/* 1 if @page is the head of a live allocation, 0 if not, SNP_EINVAL. */
SNP_MUST_CHECK int mm_page_allocated(const struct mm_host *mm, const struct page *page);

/* get_pageblock_migratetype() of @pfn's pageblock, or SNP_ERANGE. */
SNP_MUST_CHECK int mm_pageblock_migratetype(const struct mm_host *mm, snp_pfn_t pfn);
/* 1 if pfn is a boot reservation (PageReserved: never handed out), 0 if not; SNP_ERANGE past the end. */
SNP_MUST_CHECK int mm_page_reserved(const struct mm_host *mm, snp_pfn_t pfn);
/*
 * Free blocks of @order and @mt in node @nid's buddy lists (its zones
 * summed), and the pcp blocks of @mt and @order of @cpu for the zone holding
 * @pfn_in_zone.  SNP_EINVAL for bad arguments.
 */
SNP_MUST_CHECK int mm_free_blocks_mt(const struct mm_host *mm, int nid, unsigned int order,
		      enum mm_migratetype mt, uint64_t *out);
SNP_MUST_CHECK int mm_pcp_blocks_mt(const struct mm_host *mm, unsigned int cpu, snp_pfn_t pfn_in_zone,
		     unsigned int order, enum mm_migratetype mt, uint64_t *out);
/*
 * The pfn of the @index-th block (0: the head, which the next allocation of
 * @order and @mt on @cpu takes) of that CPU's pcp list for the zone holding
 * @pfn_in_zone: 0, SNP_ENOENT when the list is shorter, SNP_EINVAL.
 */
SNP_MUST_CHECK int mm_pcp_peek(const struct mm_host *mm, unsigned int cpu, snp_pfn_t pfn_in_zone,
		unsigned int order, enum mm_migratetype mt, unsigned int index, snp_pfn_t *out);
/* Is @pfn the head of a free buddy block, and on which type's list (-1 if not free)? */
SNP_MUST_CHECK int mm_free_block_mt(const struct mm_host *mm, snp_pfn_t pfn);
/*
 * The free pages of @pfn's pageblock, as watch/pbdump counts a measured
 * boot's: *buddy in buddy blocks, *pcp on per-CPU lists; the rest are in
 * use (allocated or reserved).  SNP_ERANGE past the end, SNP_EINVAL.
 */
SNP_MUST_CHECK int mm_pageblock_free(const struct mm_host *mm, snp_pfn_t pfn, unsigned int *buddy,
				     unsigned int *pcp);

/* The pcp sizes of @cpu's list for the zone holding @pfn (pcp_size.c). */
struct mm_pcp_info {
	unsigned int batch;       /* zone_batchsize() */
	unsigned int high_min;    /* zone_highsize() from the low watermark */
	unsigned int high_max;    /* 6.12: from managed less held / 8; 6.1: = high_min */
	unsigned int high;        /* pcp->high now */
	unsigned int count;       /* pages on the lists now */
	uint64_t wmark_low;       /* low_wmark_pages() of the zone */
};
SNP_MUST_CHECK int mm_pcp_sizes(const struct mm_host *mm, snp_pfn_t pfn, unsigned int cpu,
		 struct mm_pcp_info *out);
/* The formulas alone: zone_batchsize(managed) and zone_highsize(total, cpus, batch). */
unsigned int mm_zone_batchsize(uint64_t managed);
unsigned int mm_zone_highsize(uint64_t total_pages, unsigned int cpus, unsigned int batch);
/* decay_pcp_high() for every list (6.12; the vmstat refresh, about once a second). */
void mm_pcp_decay(struct mm_host *mm);

/* drain_all_pages(): every CPU's pcp lists back to the buddy lists. */
void mm_drain_all_pages(struct mm_host *mm);

/*
 * The zones of node @nid: up to MM_NR_ZONE_TYPES, low pfns first.  Returns
 * how many were written (0..max) or SNP_EINVAL.
 */
struct mm_zone_info {
	enum mm_zone_type type;
	snp_pfn_t start_pfn, end_pfn;   /* [start, end) */
	uint64_t managed;               /* present - reserved */
	uint64_t lowmem_reserve;        /* pages kept back from GFP_KERNEL requests */
	uint64_t free;                  /* pages in its buddy lists */
};
SNP_MUST_CHECK int mm_node_zones(const struct mm_host *mm, int nid, struct mm_zone_info *out, unsigned int max);

/* /proc/buddyinfo: free blocks per order of node @nid (its zones summed). */
SNP_MUST_CHECK int mm_buddyinfo(const struct mm_host *mm, int nid, uint64_t counts[MM_NR_ORDERS]);
/* Page counts of @nid, or of the whole host for MM_NUMA_NO_NODE. */
SNP_MUST_CHECK int mm_get_counts(const struct mm_host *mm, int nid, struct mm_counts *out);
/* Unusable free space index of @nid for @order, 0..1000 (mm/vmstat.c
 * unusable_free_index(), in thousandths): how much free memory sits in blocks
 * too small for an order-@order request. */
SNP_MUST_CHECK int mm_unusable_index(const struct mm_host *mm, int nid, unsigned int order);

/* Check every allocator invariant (see mm_check.c); 0, or a negative code
 * with a message in @msg. */
SNP_MUST_CHECK int mm_check(const struct mm_host *mm, char *msg, size_t msglen);

/* Ageing: leave the host as a long-running one would be. */
struct mm_age_config {
	uint64_t seed;             /* PRNG seed: same seed, same host */
	unsigned int target_use;   /* per mille in use at the end, pages allocated before included */
	unsigned int target_frag;  /* keep churning until mm_unusable_index(order 9) >= this */
	uint64_t churn_ops;        /* alloc/free ops after the fill, at least (0: one per page) */
	uint64_t max_ops;          /* give up on target_frag after this many (0: 8 per page) */
	unsigned int max_order;    /* largest order allocated (<= MM_MAX_ORDER) */
	unsigned int long_lived;   /* per mille of allocations that are rarely freed */
	unsigned int movable;      /* per mille of orders 0-3 that are MOVABLE (page cache, anon) */
	unsigned int reclaimable;  /* per mille of orders 0-3 that are RECLAIMABLE (dentry/inode
				    * slabs); the rest UNMOVABLE; orders above 3 are all MOVABLE */
};
struct mm_aged;

/* Defaults: 60% use, unusable index >= 300, ops scaled to the host, order <= 9,
 * 25% long-lived, orders 0-3 70% MOVABLE / 8% RECLAIMABLE / 22% UNMOVABLE. */
void mm_age_config_init(struct mm_age_config *cfg, uint64_t seed);
/* Run the workload; the allocations it still holds are returned in *out. */
SNP_MUST_CHECK int mm_age(struct mm_host *mm, const struct mm_age_config *cfg, struct mm_aged **out);
/* Pages held by an aged state. */
uint64_t mm_aged_pages(const struct mm_aged *aged);
/* Free every allocation the ageing holds (on CPU 0), and the state itself. */
SNP_MUST_CHECK int mm_aged_release(struct mm_host *mm, struct mm_aged *aged);
/* Free the record of an ageing without freeing its pages (its host is destroyed or cloned). */
void mm_aged_forget(struct mm_aged *aged);

/*
 * Ageing as watch's ager does it (watch/workload.c age_round(), `snpsafe
 * watch --age-rounds N`; docs/MODEL.md "Ageing as watch's ager does it"):
 * N rounds, each making page cache (tmpfs files of 1..512 pages, order-0
 * MOVABLE) and anonymous memory (chunks of 1..64 pages, order-0 MOVABLE)
 * interleaved, 4000 empty files (dentry: RECLAIMABLE slab; shmem inode:
 * UNMOVABLE slab), a pipe holding a page (order-0 UNMOVABLE) every 62nd
 * and an AF_UNIX pair with a 1 KiB skb (kmalloc-2k, UNMOVABLE slab) every
 * 125th, 40% of those kept; then the pieces shuffled and freed past the
 * round's share of 45% of MemTotal.  The VMs a round ends with are the
 * caller's (the kvm layer): this layer knows nothing of KVM.
 */
enum mm_ager_cpu {
	MM_AGER_CPU_ROUND = 0,   /* one CPU drawn per round (default) */
	MM_AGER_CPU_PIECE,       /* one CPU drawn per piece made (a migrating ager) */
	MM_NR_AGER_CPU,
};
const char *mm_ager_cpu_name(enum mm_ager_cpu c);             /* "round", "piece" */
SNP_MUST_CHECK int mm_ager_cpu_parse(const char *s, enum mm_ager_cpu *out);
#define MM_AGE_WATCH_MAX_ROUNDS 32u   /* AGE_MAX_ROUNDS of watch/workload.c */
struct mm_age_watch_config {
	uint64_t seed;
	unsigned int rounds;       /* --age-rounds N: 1..MM_AGE_WATCH_MAX_ROUNDS */
	enum mm_ager_cpu cpu;      /* which CPU the single-threaded ager runs on */
};
void mm_age_watch_config_init(struct mm_age_watch_config *cfg, uint64_t seed, unsigned int rounds);
struct mm_age_watch;
/* What the ager keeps and made so far (its "snpsafe-age:" line's fields, in pages). */
struct mm_age_watch_stats {
	unsigned int rounds_done;
	unsigned int cpu;                     /* the CPU the last round ran on */
	uint64_t mem_total;                   /* MemTotal: managed pages less held */
	uint64_t made;                        /* page cache and anonymous pages made */
	uint64_t kept_cache, kept_anon;       /* pages kept */
	uint64_t kept_files, kept_fds, capped;
	uint64_t slab_pages;                  /* its slab caches' pages now */
	uint64_t pipe_pages;                  /* pipe buffer pages kept */
};
/* Start: MemTotal read, the slab caches made; no page taken yet. */
SNP_MUST_CHECK int mm_age_watch_begin(struct mm_host *mm, const struct mm_age_watch_config *cfg,
				      struct mm_age_watch **out);
/* One round's memory work (age_round() up to its VMs); SNP_ERANGE past the last round. */
SNP_MUST_CHECK int mm_age_watch_round(struct mm_host *mm, struct mm_age_watch *w);
SNP_MUST_CHECK int mm_age_watch_stats(const struct mm_age_watch *w, struct mm_age_watch_stats *out);
/* Free everything the ager holds (on CPU 0), and the state. */
SNP_MUST_CHECK int mm_age_watch_release(struct mm_host *mm, struct mm_age_watch *w);
/* Free the state without freeing its pages (its host is torn down whole). */
void mm_age_watch_forget(struct mm_age_watch *w);

/* Free pages (buddy and per-CPU lists) whose pfn is a multiple of
 * 2^align_order, and all free pages.  0 or SNP_EINVAL. */
SNP_MUST_CHECK int mm_free_aligned_count(const struct mm_host *mm, unsigned int align_order, uint64_t *aligned,
			  uint64_t *free);

/*
 * SLUB (src/mm/slub.c): a slab cache's slabs come from the page allocator,
 * each 2^order pages holding `objects` objects.  What order a cache uses
 * is calculate_order() of the kernel (6.1 and 6.12 differ) for the object
 * size rounded up to its alignment, and the CPUs present.
 */
struct mm_slub_geometry {
	unsigned int size;          /* s->size: the object size aligned */
	unsigned int order;         /* oo: the order new slabs are tried at */
	unsigned int objects;       /* objects in an oo slab */
	unsigned int min_order;     /* min: the fallback order (one object or more) */
	unsigned int min_objects;
	unsigned int min_partial;   /* empty slabs a node keeps: ilog2(size) / 2 in [5, 10] */
};
/* kmem_cache_open()'s geometry for @nr_cpus present CPUs.  0, SNP_EINVAL or SNP_ENOSPC. */
SNP_MUST_CHECK int mm_slub_geometry(enum mm_kernel k, unsigned int object_size, unsigned int align,
				    unsigned int nr_cpus, struct mm_slub_geometry *out);

/*
 * watch's workload host thread (watch/workload.c host_thread()): each loop
 * writes and unlinks a 4 MiB tmpfs file, then faults in and unmaps 4 MiB of
 * anonymous memory, as the host's kernel generation allocates them
 * (src/mm/mm_watch_host.c), on a CPU drawn a loop from @seed's stream.
 */
struct mm_watch_host;
struct mm_watch_host_stats {
	uint64_t loops;
	uint64_t cache_pages;     /* page cache pages written */
	uint64_t anon_pages;      /* order-0 anonymous pages */
	uint64_t thp;             /* anonymous THPs */
	uint64_t short_loops;     /* loops cut short: a page could not be had */
};
SNP_MUST_CHECK int mm_watch_host_begin(struct mm_host *mm, uint64_t seed, struct mm_watch_host **out);
/* One loop; a page that cannot be had ends it early (counted), not in error. */
SNP_MUST_CHECK int mm_watch_host_loop(struct mm_host *mm, struct mm_watch_host *h);
SNP_MUST_CHECK int mm_watch_host_stats(const struct mm_watch_host *h, struct mm_watch_host_stats *out);
/* Every loop gives its pages back: nothing is held between loops. */
void mm_watch_host_end(struct mm_watch_host *h);

/* One cache (struct kmem_cache), of this host's kernel and CPUs; the caller owns it. */
struct mm_kmem_cache;
/*
 * kmem_cache_create(): @gfp is 0 or MM_GFP_RECLAIMABLE (SLAB_RECLAIM_ACCOUNT:
 * reclaimable slabs).  No page is taken until the first object.
 */
SNP_MUST_CHECK int mm_kmem_cache_create(struct mm_host *mm, unsigned int size, unsigned int align,
					mm_gfp_t gfp, struct mm_kmem_cache **out);
/*
 * kmem_cache_create() of a cache whose slab order was read from a watched
 * kernel's /proc/slabinfo rather than computed (slab merging and the
 * kernel's own sizing can give a cache another order than its object size
 * alone would): slabs of @order (at most 3, and enough for one object).
 */
SNP_MUST_CHECK int mm_kmem_cache_create_order(struct mm_host *mm, unsigned int size, unsigned int align,
					      mm_gfp_t gfp, unsigned int order,
					      struct mm_kmem_cache **out);
/*
 * kmem_cache_alloc() on @cpu (@gfp: MM_GFP_ACCOUNT, MM_GFP_ZERO, or 0): an
 * object handle >= 0, or a negative SNP_E* (SNP_ENOMEM when no slab could
 * be had; in mm_last_error() too).
 */
long mm_kmem_cache_alloc(struct mm_kmem_cache *s, unsigned int cpu, mm_gfp_t gfp);
/* kmem_cache_free() on @cpu: SNP_EINVAL for a handle not live in @s. */
SNP_MUST_CHECK int mm_kmem_cache_free(struct mm_kmem_cache *s, unsigned int cpu, long obj);
/* kmem_cache_destroy() on @cpu: every slab back; SNP_EBUSY (nothing done) while objects live. */
SNP_MUST_CHECK int mm_kmem_cache_destroy(struct mm_kmem_cache *s, unsigned int cpu);
struct mm_kmem_cache_info {
	struct mm_slub_geometry geo;
	uint64_t slabs, pages, objects_inuse;   /* now */
};
SNP_MUST_CHECK int mm_kmem_cache_info(const struct mm_kmem_cache *s, struct mm_kmem_cache_info *out);

/* splitmix64: the model's deterministic PRNG (no global state). */
uint64_t mm_rng_next(uint64_t *state);
/* Uniform in [0, bound), bound > 0. */
uint64_t mm_rng_below(uint64_t *state, uint64_t bound);

#endif
