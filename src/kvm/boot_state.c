// SPDX-License-Identifier: MIT
/*
 * boot_state.c - what the kernels `snpsafe watch` boots leave in their
 * allocator before anything runs, for hosts with the qemu-pc RAM map
 * (docs/MODEL.md "Boot state"; flat hosts have none of it):
 *
 *  - setup_arch() -> early_reserve_memory() memblock_reserve()s the kernel
 *    image, _text to __end_of_kernel_reserve, where it was loaded: watch
 *    boots with nokaslr, so at CONFIG_PHYSICAL_START (16 MiB);
 *  - QEMU loads the initrd just below the top of RAM less its ACPI tables
 *    (SeaBIOS's top 128 KiB), page-aligned down, and early_reserve_initrd()
 *    reserves it (watch's 6.12 boots print "RAMDISK: [mem
 *    0x3fd83000-0x3ffdffff]" at 1 GiB);
 *  - memblock's sparse vmemmap and per-CPU first chunk below the initrd,
 *    in UNMOVABLE pageblocks (their first pages reserved);
 *  - deferred struct-page init types the pageblocks (mm_config.deferred_init);
 *  - do_populate_rootfs() frees the initrd after unpacking it
 *    (free_initrd_mem() -> free_init_pages() -> free_reserved_area()):
 *    ascending order-0 frees on the CPU of the async worker;
 *  - the kernel's own memory at kvm_amd's load: UNMOVABLE pages the boot
 *    keeps, with the pages it freed among them just before the load (the
 *    holes the first VMCBs fill: docs/MODEL.md "Boot state: the kernel's
 *    own memory").
 *
 * Our own code; the facts are the kernel's and QEMU's.
 */
#include "kvm/kvm_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void kvm_boot_default_sizes(enum mm_kernel k, uint64_t *image_bytes, uint64_t *initrd_bytes)
{
	*image_bytes = k == MM_KERNEL_6_1 ? KVM_BOOT_IMAGE_BYTES_61 : KVM_BOOT_IMAGE_BYTES_612;
	*initrd_bytes = k == MM_KERNEL_6_1 ? KVM_BOOT_INITRD_BYTES_61 : KVM_BOOT_INITRD_BYTES_612;
}

uint64_t kvm_boot_min_mem(uint64_t image_bytes, uint64_t initrd_bytes)
{
	return KVM_BOOT_IMAGE_START + image_bytes + initrd_bytes + SNP_RAM_QEMU_PC_TOP_RESERVED + SNP_PAGE_SIZE;
}

static uint64_t boot_image_bytes(const struct kvm_host_config *c)
{
	uint64_t image, initrd;

	kvm_boot_default_sizes(c->kernel, &image, &initrd);
	return c->boot_image_bytes ? c->boot_image_bytes : image;
}

static uint64_t boot_initrd_bytes(const struct kvm_host_config *c)
{
	uint64_t image, initrd;

	kvm_boot_default_sizes(c->kernel, &image, &initrd);
	return c->boot_initrd_bytes ? c->boot_initrd_bytes : initrd;
}

/*
 * QEMU's x86 Linux loader: initrd_max is the last byte of RAM below 4 GiB
 * less the ACPI data (the RAM map's top reservation), and the initrd starts
 * at (initrd_max - size) rounded down to a page; Linux reserves it up to its
 * end rounded up to a page (reserve_initrd(): PAGE_ALIGN(ramdisk_end)).
 */
static void initrd_range(const struct kvm_host_config *c, uint64_t mem, snp_pfn_t *start, snp_pfn_t *end)
{
	uint64_t top = mem - SNP_RAM_QEMU_PC_TOP_RESERVED, size = boot_initrd_bytes(c);
	uint64_t at = ((top - 1 - size) & ~(uint64_t)(SNP_PAGE_SIZE - 1));

	*start = at >> SNP_PAGE_SHIFT;
	*end = (at + size + SNP_PAGE_SIZE - 1) >> SNP_PAGE_SHIFT;
}

/* Do the image and the initrd fit below RAM's top? */
static bool boot_state_fits(const struct kvm_host_config *c, uint64_t mem)
{
	return kvm_boot_min_mem(boot_image_bytes(c), boot_initrd_bytes(c)) < mem;
}

/*
 * The sparse vmemmap's struct pages, memblock's largest top-down boot
 * allocation: sparse_buffer_init() takes one buffer for the node's
 * sections, section_map_size() = PMD_SIZE (2 MiB of struct pages for each
 * 128 MiB section, mapped by PMD) apiece and PMD-aligned, from the top of
 * free memory down: just below the initrd, 2 MiB-aligned (Debian 6.12.95
 * mm/sparse.c sparse_init_nid(), sparse_buffer_init(); 6.1 the same).
 * At 1 GiB: 8 sections, [0x3ec00000, 0x3fc00000), 8 of the 9 UNMOVABLE
 * pageblocks every dumped boot has from 0x3ea00000 (their first pages
 * reserved, so deferred init leaves them UNMOVABLE; the ninth is the per-CPU
 * first chunk's, pcpu_chunk_range()).  docs/MODEL.md "Boot state: the
 * boot's holes".
 * A host too small for it above the image gets what fits.
 */
static void vmemmap_range(const struct kvm_host_config *c, uint64_t mem, snp_pfn_t *start,
			  snp_pfn_t *end)
{
	const uint64_t pmd = 2 * SNP_MiB;
	uint64_t sections = ((mem >> SNP_PAGE_SHIFT) + MM_PAGES_PER_SECTION - 1) / MM_PAGES_PER_SECTION;
	uint64_t image_end = KVM_BOOT_IMAGE_START + boot_image_bytes(c);
	snp_pfn_t is, ie;
	uint64_t top, bottom;

	initrd_range(c, mem, &is, &ie);
	top = ((uint64_t)is << SNP_PAGE_SHIFT) & ~(pmd - 1);
	bottom = top > sections * pmd ? top - sections * pmd : 0;
	if (bottom < image_end)
		bottom = top > image_end ? image_end : top;
	*start = bottom >> SNP_PAGE_SHIFT;
	*end = top >> SNP_PAGE_SHIFT;
}

/*
 * The per-CPU areas' first chunk as x86-64 embeds it (Debian 6.12.95 and
 * 6.1.192 mm/percpu.c pcpu_build_alloc_info(), pcpu_embed_first_chunk();
 * arch/x86/kernel/setup_percpu.c setup_per_cpu_areas(): atom_size PMD_SIZE):
 * each possible CPU a unit of size_sum bytes (the image's .data..percpu,
 * PERCPU_MODULE_RESERVE, PERCPU_DYNAMIC_RESERVE; PFN-aligned), units of
 * alloc_size / upa bytes, alloc_size the unit rounded up to 2 MiB and upa
 * the fewest-allocations choice that wastes at most a third of the CPUs'
 * units.  One group (one node): nr_units = the CPUs rounded up to upa.
 */
struct pcpu_chunk {
	uint64_t size_sum, unit_size, bytes;
};

static void pcpu_first_chunk(const struct kvm_host_config *c, struct pcpu_chunk *pc)
{
	const uint64_t atom = 2 * SNP_MiB;
	const uint64_t static_bytes = c->kernel == MM_KERNEL_6_1 ? KVM_BOOT_PERCPU_STATIC_61 :
						   KVM_BOOT_PERCPU_STATIC_612;
	const unsigned int cpus = c->nr_cpus;   /* at least 1: kvm_host_fill_defaults() */
	unsigned int upa, best = 1, last_allocs = UINT32_MAX;
	uint64_t min_unit, alloc_size;

	pc->size_sum = (static_bytes + KVM_BOOT_PERCPU_RESERVED + KVM_BOOT_PERCPU_DYNAMIC + SNP_PAGE_SIZE - 1) &
		       ~(SNP_PAGE_SIZE - 1);
	min_unit = pc->size_sum > KVM_BOOT_PERCPU_MIN_UNIT ? pc->size_sum : KVM_BOOT_PERCPU_MIN_UNIT;
	alloc_size = (min_unit + atom - 1) / atom * atom;
	for (upa = (unsigned int)(alloc_size / min_unit); upa; upa--) {
		unsigned int allocs = (cpus + upa - 1) / upa;

		if (alloc_size % upa || (alloc_size / upa) % SNP_PAGE_SIZE)
			continue;
		if (allocs * upa - cpus > cpus / 3)
			continue;
		if (allocs > last_allocs)
			break;
		last_allocs = allocs;
		best = upa;
	}
	pc->unit_size = alloc_size / best;
	pc->bytes = pc->unit_size * ((cpus + best - 1) / best * best);   /* nr_units */
}

/*
 * Where the first chunk lands: setup_per_cpu_areas() runs after
 * setup_arch()'s sparse_init(), and memblock allocates top-down, so the
 * chunk is the PMD-aligned range just below the vmemmap (every dumped 1 GiB
 * boot has its UNMOVABLE, wholly used pageblock at 0x3ea00000).  None when
 * it does not fit above the image.
 */
static bool pcpu_chunk_range(const struct kvm_host_config *c, snp_pfn_t vmemmap_start, struct pcpu_chunk *pc,
			     uint64_t *start)
{
	uint64_t image_end = KVM_BOOT_IMAGE_START + boot_image_bytes(c);
	uint64_t below = (uint64_t)vmemmap_start << SNP_PAGE_SHIFT;

	pcpu_first_chunk(c, pc);
	if (below < image_end + pc->bytes)
		return false;
	*start = below - pc->bytes;
	return true;
}

size_t kvm_boot_max_reservations(const struct kvm_host *host)
{
	return 3 + host->cfg.nr_cpus;   /* image, initrd, vmemmap; a per-CPU unit a CPU */
}

int kvm_boot_reservations(const struct kvm_host *host, uint64_t mem, struct mm_reserved_range *res,
			  size_t *nr)
{
	const struct kvm_host_config *c = &host->cfg;
	snp_pfn_t s, e;

	*nr = 0;
	if (c->ram_layout != SNP_RAM_QEMU_PC)
		return 0;
	if (!boot_state_fits(c, mem))
		return SNP_EINVAL;
	res[(*nr)++] = (struct mm_reserved_range){ KVM_BOOT_IMAGE_START >> SNP_PAGE_SHIFT,
						    boot_image_bytes(c) >> SNP_PAGE_SHIFT };
	initrd_range(c, mem, &s, &e);
	res[(*nr)++] = (struct mm_reserved_range){ s, e - s };
	/* with the kernel's own memory (its rule counts these pageblocks out) */
	if (!c->boot_no_kernel_memory) {
		struct pcpu_chunk pc;
		uint64_t at;

		vmemmap_range(c, mem, &s, &e);
		if (e > s)
			res[(*nr)++] = (struct mm_reserved_range){ s, e - s };
		/*
		 * Each CPU's unit keeps its size_sum; the unit's tail and the
		 * units no CPU has are memblock_free()d before the buddy
		 * allocator starts, free pages of the chunk's UNMOVABLE
		 * pageblocks that the boot's first allocations take.
		 */
		if (e > s && pcpu_chunk_range(c, s, &pc, &at))
			for (unsigned int u = 0; u < c->nr_cpus; u++)
				res[(*nr)++] = (struct mm_reserved_range){
					(at + u * pc.unit_size) >> SNP_PAGE_SHIFT, pc.size_sum >> SNP_PAGE_SHIFT };
	}
	return 0;
}

int kvm_host_initrd_pfns(const struct kvm_host *host, snp_pfn_t *start, snp_pfn_t *end)
{
	if (!host || !start || !end)
		return SNP_EINVAL;
	if (host->cfg.ram_layout != SNP_RAM_QEMU_PC)
		return SNP_ENOENT;
	initrd_range(&host->cfg, snp_machine_mem_bytes(host->machine), start, end);
	return 0;
}

int kvm_boot_free_initrd(struct kvm_host *host)
{
	snp_pfn_t s, e;

	if (kvm_host_initrd_pfns(host, &s, &e))
		return 0;   /* no initrd: nothing to free */
	return mm_free_reserved_area(host->mm, host->cfg.initrd_free_cpu, s, e - s);
}

/*
 * The boot's kernel memory by order, in pages per mille: its slabs by
 * pages per slab (/proc/slabinfo of watch's 6.12.95 boot at kvm_amd's load:
 * 1805, 152, 384 and 560 of 2901 slab pages in slabs of 1, 2, 4 and 8
 * pages), the rest (vmalloc, page tables, per-CPU chunks, trace buffers,
 * drivers' pages) order 0, over KVM_BOOT_KERNEL_PAGES_612.  6.1's slabinfo
 * mixes in more reclaimable slabs (dentries), which live in RECLAIMABLE
 * pageblocks, so both kernels take 6.12's shares (docs/MODEL.md).
 */
static const unsigned int boot_order_permille[] = { 854, 20, 51, 75 };
#define BOOT_NR_ORDERS (sizeof(boot_order_permille) / sizeof(boot_order_permille[0]))

/* One allocation of the boot's: its order drawn so that pages follow the shares above. */
static unsigned int boot_pick_order(uint64_t *rng)
{
	unsigned int w[BOOT_NR_ORDERS], total = 0, o;
	uint64_t r;

	for (o = 0; o < BOOT_NR_ORDERS; o++) {
		w[o] = boot_order_permille[o] << (BOOT_NR_ORDERS - 1 - o);   /* per allocation */
		total += w[o];
	}
	r = mm_rng_below(rng, total);
	for (o = 0; r >= w[o]; o++)
		r -= w[o];
	return o;
}

struct boot_piece {
	struct page *page;
	unsigned int order;
};

/* The boot's memory in pages, as configured or measured. */
struct boot_sizes {
	uint64_t kept, freed, late;   /* late: of kept, allocated after the initrd's free */
	uint64_t modules, modules_ro; /* of kept, after the late ones: the modules /init loads */
	uint64_t reclaimable;         /* RECLAIMABLE, kept, allocated before the others */
};

/* The pages the boot keeps, frees and allocates late, capped at managed / 8 together. */
static SNP_MUST_CHECK int boot_kernel_sizes(const struct kvm_host *host, struct boot_sizes *b)
{
	const struct kvm_host_config *c = &host->cfg;
	const bool k61 = c->kernel == MM_KERNEL_6_1;
	struct mm_counts mc;
	uint64_t cap;
	int ret;

	b->kept = c->boot_kernel_pages ? c->boot_kernel_pages :
		  k61 ? KVM_BOOT_KERNEL_PAGES_61 : KVM_BOOT_KERNEL_PAGES_612;
	b->freed = c->boot_freed_pages ? c->boot_freed_pages :
		   k61 ? KVM_BOOT_FREED_PAGES_61 : KVM_BOOT_FREED_PAGES_612;
	b->late = c->boot_late_pages ? c->boot_late_pages :
		  k61 ? KVM_BOOT_LATE_PAGES_61 : KVM_BOOT_LATE_PAGES_612;
	b->modules = c->boot_module_pages ? c->boot_module_pages :
		     k61 ? KVM_BOOT_MODULE_PAGES_61 : KVM_BOOT_MODULE_PAGES_612;
	b->modules_ro = c->boot_module_ro_pages ? c->boot_module_ro_pages :
			k61 ? KVM_BOOT_MODULE_RO_PAGES_61 : KVM_BOOT_MODULE_RO_PAGES_612;
	b->reclaimable = c->boot_no_reclaimable ? 0 : c->boot_reclaimable_pages ?
			 c->boot_reclaimable_pages :
			 k61 ? KVM_BOOT_RECLAIMABLE_PAGES_61 : KVM_BOOT_RECLAIMABLE_PAGES_612;
	if (b->late > b->kept)
		b->late = b->kept;
	if (b->modules > b->kept - b->late)
		b->modules = b->kept - b->late;
	if (b->modules_ro > b->modules)
		b->modules_ro = b->modules;
	ret = mm_get_counts(host->mm, MM_NUMA_NO_NODE, &mc);
	if (ret)
		return ret;
	cap = (mc.present - mc.reserved - mm_held_pages(host->mm)) / 8;
	if (b->kept + b->freed + b->reclaimable > cap) {   /* a small host: the same shares of less */
		uint64_t total = b->kept + b->freed + b->reclaimable;

		b->reclaimable = b->reclaimable * cap / total;
		b->late = b->late * cap / total;
		b->modules = b->modules * cap / total;
		b->modules_ro = b->modules_ro * cap / total;
		b->freed = b->freed * cap / total;
		b->kept = cap - b->freed - b->reclaimable;
	}
	return 0;
}

/* A random piece of v[0..n) no larger than @room pages, or n if none is. */
static size_t boot_pick_piece(const struct boot_piece *v, size_t n, uint64_t room, uint64_t *rng)
{
	size_t i = (size_t)mm_rng_below(rng, n);

	for (size_t k = 0; k < n; k++, i = (i + 1) % n)
		if ((1ULL << v[i].order) <= room)
			return i;
	return n;
}

/*
 * A recent piece of v[0..n) (v in the order the boot allocated it) no
 * larger than @room pages, or n if none is: @recency pieces back from the
 * last on average (an exponential age; one past the first starts from a
 * random piece), then back from there to the first that fits.
 */
static size_t boot_pick_recent(const struct boot_piece *v, size_t n, uint64_t room,
			       uint64_t recency, uint64_t *rng)
{
	double u = ((double)(mm_rng_next(rng) >> 11) + 0.5) / 9007199254740992.0;   /* (0, 1) */
	double back = -log(u) * (double)recency;
	size_t i = back < (double)n ? n - 1 - (size_t)back : (size_t)mm_rng_below(rng, n);

	for (size_t k = 0; k < n; k++, i = (i + n - 1) % n)
		if ((1ULL << v[i].order) <= room)
			return i;
	return n;
}

/*
 * Free exactly @pages' worth of pieces from v[0..*n), each on a random CPU
 * (short of it only when no piece that small is left): recent ones
 * (boot_pick_recent()) with @recency, else any alike.
 */
static SNP_MUST_CHECK int boot_free_some(struct kvm_host *host, struct boot_piece *v, size_t *n,
					 uint64_t pages, uint64_t recency, uint64_t *rng)
{
	while (pages && *n) {
		size_t i = recency ? boot_pick_recent(v, *n, pages, recency, rng) :
				     boot_pick_piece(v, *n, pages, rng);
		unsigned int cpu = (unsigned int)mm_rng_below(rng, host->cfg.nr_cpus);
		int ret;

		if (i == *n)
			break;
		ret = mm_free_pages(host->mm, cpu, v[i].page, v[i].order);
		if (ret)
			return ret;
		pages -= 1ULL << v[i].order;
		if (recency)   /* keep the allocation order */
			memmove(&v[i], &v[i + 1], (--*n - i) * sizeof(*v));
		else
			v[i] = v[--*n];
	}
	return 0;
}

/*
 * The modules watch's /init loads, after its trace buffers, on its CPU:
 * load_module() vmallocs each module's text, rodata and data page by page,
 * kept; module_enable_rodata_ro() and module_enable_text_rox() then
 * set_memory_ro() the text and rodata, and cpa_process_alias() makes each
 * page's direct-map alias read-only too, splitting its 2MB region to 4K
 * (Debian 6.12.95 kernel/module/main.c, kernel/module/strict_rwx.c,
 * arch/x86/mm/pat/set_memory.c).  Which pages are text and which data is
 * not known here: the read-only ones are spread evenly among them.
 */
static SNP_MUST_CHECK int boot_module_pages(struct kvm_host *host, uint64_t pages, uint64_t ro)
{
	const unsigned int cpu = host->cfg.initrd_free_cpu;
	uint64_t made_ro = 0;

	for (uint64_t i = 0; i < pages; i++) {
		struct page *p = mm_alloc_pages(host->mm, cpu, MM_GFP_KERNEL, 0);
		int ret;

		if (!p)
			return SNP_ENOMEM;
		if ((i + 1) * ro / pages == made_ro)   /* kept for good: not remembered */
			continue;
		made_ro++;
		ret = snp_set_memory_4k(host->machine, snp_pfn_to_virt(mm_page_to_pfn(host->mm, p)), 1);
		if (ret)
			return ret;
	}
	return 0;
}

/*
 * The boot's allocations, kept and temporary interleaved, each on a random
 * CPU; the initrd is freed after them (do_populate_rootfs() runs while the
 * initcalls go on, and kernel_init() waits for it before /init); then /init's
 * trace buffers, order 0 on the CPU that freed the initrd (the boot's);
 * then the temporaries.  Which CPU, the interleaving and the initrd's place
 * among the boot's own allocations are assumed (docs/MODEL.md).
 */
static SNP_MUST_CHECK int boot_kernel_memory(struct kvm_host *host)
{
	uint64_t pages = 0, rng = host->cfg.boot_seed ^ 0xb007b007b007b007ULL;
	struct boot_sizes b;
	struct boot_piece *v;
	size_t n = 0;
	int ret = boot_kernel_sizes(host, &b);

	if (ret)
		return ret;
	v = calloc((size_t)(b.kept + b.freed) + 1, sizeof(*v));
	if (!v)
		return SNP_ENOMEM;
	for (uint64_t i = 0; !ret && i < b.reclaimable; i++)   /* the RECLAIMABLE slabs, kept */
		if (!mm_alloc_pages(host->mm, (unsigned int)mm_rng_below(&rng, host->cfg.nr_cpus),
				    MM_GFP_KERNEL | MM_GFP_RECLAIMABLE, 0))
			ret = SNP_ENOMEM;
	while (!ret && pages < b.kept - b.late - b.modules + b.freed) {
		unsigned int order = boot_pick_order(&rng);
		unsigned int cpu = (unsigned int)mm_rng_below(&rng, host->cfg.nr_cpus);
		struct page *p = mm_alloc_pages(host->mm, cpu, MM_GFP_KERNEL, order);

		if (!p) {
			ret = SNP_ENOMEM;
			break;
		}
		v[n++] = (struct boot_piece){ p, order };
		pages += 1ULL << order;
	}
	if (!ret)
		ret = kvm_boot_free_initrd(host);
	for (uint64_t i = 0; !ret && i < b.late; i++)   /* kept for good: not remembered */
		if (!mm_alloc_pages(host->mm, host->cfg.initrd_free_cpu, MM_GFP_KERNEL, 0))
			ret = SNP_ENOMEM;
	if (!ret)
		ret = boot_module_pages(host, b.modules, b.modules_ro);
	if (!ret)   /* the temporaries, and the last piece's overshoot past what is kept */
		ret = boot_free_some(host, v, &n, pages - (b.kept - b.late - b.modules),
				     host->cfg.boot_temp_recency, &rng);
	free(v);   /* what is left is the kernel's for good */
	return ret;
}

int kvm_boot_state(struct kvm_host *host)
{
	if (host->cfg.ram_layout != SNP_RAM_QEMU_PC)
		return 0;
	if (host->cfg.boot_no_kernel_memory)
		return kvm_boot_free_initrd(host);
	return boot_kernel_memory(host);
}
