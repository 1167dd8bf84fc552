// SPDX-License-Identifier: MIT
/*
 * slub.c - a SLUB cache's slabs as the page allocator sees them (mm/slub.c,
 * Debian's 6.1.192 and 6.12.95): which order a slab of a given object size
 * is, when a new slab is taken from the page allocator and when an empty
 * one goes back.  Objects have no contents; what matters to the rest of the
 * model is the pages.  Our own code; each function names the kernel one it
 * follows.
 *
 *  - geometry (kmem_cache_open() -> calculate_sizes()): the object size
 *    rounded up to the alignment (at least 8), the free pointer inside the
 *    object (no debugging, no constructor, no RCU); calculate_order() of the
 *    kernel (the two differ: 6.1 first lowers min_objects, 6.12 first
 *    accepts more waste); oo = that order and its objects, min = the
 *    smallest order holding one object; min_partial = ilog2(size) / 2
 *    clamped to [MIN_PARTIAL 5, MAX_PARTIAL 10];
 *  - allocation (___slab_alloc()): from this CPU's slab, else a partial slab
 *    of this CPU's node becomes this CPU's slab, else new_slab() ->
 *    allocate_slab(): the oo order with __GFP_NORETRY and no reclaim, and
 *    on failure the min order with the caller's flags;
 *  - free (__slab_free()): an object of another CPU's slab or of an
 *    inactive one goes back to it; an inactive slab left empty is freed to
 *    the page allocator (discard_slab(), on the freeing CPU) when its node
 *    already keeps min_partial partial slabs, else it stays on the partial
 *    list.  A CPU's own slab is never freed while it is active.
 * Not modeled: the per-CPU partial lists (CONFIG_SLUB_CPU_PARTIAL: a slab
 * that frees an object here goes to its node's partial list directly),
 * remote-node partial slabs (get_any_partial()), freelist randomisation
 * (which object a call gets: no object has contents here) and slab merging
 * (a cache made here is its own, as a usercopy cache like kvm_vcpu is).
 */
#include "mm/mm_internal.h"

#include <stdlib.h>
#include <string.h>

#define SLUB_MAX_ORDER   3u      /* slub_max_order = PAGE_ALLOC_COSTLY_ORDER */
#define MAX_OBJS_PER_PAGE 32767u
#define MIN_PARTIAL      5u
#define MAX_PARTIAL      10u
#define SLAB_NONE        UINT32_MAX

struct mm_slab {
	struct page *page;       /* NULL: a free slot of the array */
	unsigned int order;
	unsigned int objects;
	unsigned int inuse;
	unsigned int nid;
	int cpu;                 /* the CPU whose slab it is, or -1 */
	uint16_t *free;          /* indices of the free objects, a stack */
	unsigned int nr_free;
};

struct mm_kmem_cache {
	struct mm_host *mm;
	unsigned int size;       /* s->size */
	mm_gfp_t gfp;            /* s->allocflags: __GFP_RECLAIMABLE for a reclaimable cache */
	struct mm_slub_geometry geo;
	struct mm_slab *slabs;
	uint32_t nr_slabs, cap;
	uint32_t *cpu_slab;      /* per CPU: index into slabs, or SLAB_NONE */
};

static unsigned int fls32(unsigned int x)
{
	unsigned int n = 0;

	while (x) {
		n++;
		x >>= 1;
	}
	return n;
}

/* get_order(): the smallest order whose block holds @size bytes. */
static unsigned int get_order(uint64_t size)
{
	unsigned int order = 0;

	while (((uint64_t)SNP_PAGE_SIZE << order) < size)
		order++;
	return order;
}

static unsigned int order_objects(unsigned int order, unsigned int size)
{
	return (unsigned int)(((uint64_t)SNP_PAGE_SIZE << order) / size);
}

/* 6.1 calc_slab_order(): the first order from min_objects' that wastes at most 1/fract. */
static unsigned int calc_slab_order_61(unsigned int size, unsigned int min_objects,
				       unsigned int max_order, unsigned int fract)
{
	unsigned int order;

	for (order = get_order((uint64_t)min_objects * size); order <= max_order; order++) {
		uint64_t slab_size = (uint64_t)SNP_PAGE_SIZE << order;

		if (slab_size % size <= slab_size / fract)
			break;
	}
	return order;
}

/* 6.1.192 calculate_order(): lower the waste allowed, then the objects wanted. */
static int calculate_order_61(unsigned int size, unsigned int min_objects)
{
	unsigned int order, max_objects = order_objects(SLUB_MAX_ORDER, size);

	if (min_objects > max_objects)
		min_objects = max_objects;
	for (; min_objects > 1; min_objects--)
		for (unsigned int fraction = 16; fraction >= 4; fraction /= 2) {
			order = calc_slab_order_61(size, min_objects, SLUB_MAX_ORDER, fraction);
			if (order <= SLUB_MAX_ORDER)
				return (int)order;
		}
	order = calc_slab_order_61(size, 1, SLUB_MAX_ORDER, 1);
	if (order <= SLUB_MAX_ORDER)
		return (int)order;
	order = calc_slab_order_61(size, 1, MM_MAX_ORDER, 1);   /* below 6.1's MAX_ORDER, 11 */
	return order <= MM_MAX_ORDER ? (int)order : SNP_ENOSPC;
}

/* 6.12.95 calculate_order(): min_objects fixes the first order; then more waste. */
static int calculate_order_612(unsigned int size, unsigned int min_objects)
{
	unsigned int max_objects = order_objects(SLUB_MAX_ORDER, size), min_order;

	if (!max_objects)
		max_objects = 1;
	if (min_objects > max_objects)
		min_objects = max_objects;
	min_order = get_order((uint64_t)min_objects * size);
	if (order_objects(min_order, size) > MAX_OBJS_PER_PAGE)
		return (int)get_order((uint64_t)size * MAX_OBJS_PER_PAGE) - 1;
	for (unsigned int fraction = 16; fraction > 1; fraction /= 2)
		for (unsigned int order = min_order; order <= SLUB_MAX_ORDER; order++) {
			uint64_t slab_size = (uint64_t)SNP_PAGE_SIZE << order;

			if (slab_size % size <= slab_size / fraction)
				return (int)order;
		}
	return get_order(size) <= MM_MAX_ORDER ? (int)get_order(size) : SNP_ENOSPC;
}

int mm_slub_geometry(enum mm_kernel k, unsigned int object_size, unsigned int align,
		     unsigned int nr_cpus, struct mm_slub_geometry *out)
{
	unsigned int a = align > sizeof(void *) ? align : (unsigned int)sizeof(void *);
	unsigned int size, min_objects, ilog2;
	int order;

	if (!out || !object_size || !nr_cpus || (a & (a - 1)) || (unsigned int)k >= MM_NR_KERNELS ||
	    object_size > (SNP_PAGE_SIZE << MM_MAX_ORDER))
		return SNP_EINVAL;
	size = (object_size + a - 1) & ~(a - 1);   /* calculate_sizes(): ALIGN(size, s->align) */
	min_objects = 4 * (fls32(nr_cpus) + 1);   /* num_present_cpus() */
	order = k == MM_KERNEL_6_1 ? calculate_order_61(size, min_objects) :
				     calculate_order_612(size, min_objects);
	if (order < 0)
		return order;
	ilog2 = fls32(size) - 1;
	*out = (struct mm_slub_geometry){
		.size = size,
		.order = (unsigned int)order,
		.objects = order_objects((unsigned int)order, size),
		.min_order = get_order(size),
		.min_objects = order_objects(get_order(size), size),
		.min_partial = ilog2 / 2 < MIN_PARTIAL ? MIN_PARTIAL :
			       ilog2 / 2 > MAX_PARTIAL ? MAX_PARTIAL : ilog2 / 2,
	};
	return 0;
}

/* kmem_cache_create(), its slab order computed (@order < 0) or given. */
static SNP_MUST_CHECK int cache_create(struct mm_host *mm, unsigned int size, unsigned int align,
				       mm_gfp_t gfp, int order, struct mm_kmem_cache **out)
{
	struct mm_kmem_cache *s;
	int ret;

	if (!mm || !out || (gfp & ~MM_GFP_RECLAIMABLE) || order > (int)SLUB_MAX_ORDER)
		return SNP_EINVAL;
	*out = NULL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return SNP_ENOMEM;
	ret = mm_slub_geometry(mm->kernel, size, align, mm->nr_cpus, &s->geo);
	if (!ret && order >= 0) {
		if (order < (int)s->geo.min_order) {
			ret = SNP_EINVAL;   /* a slab that cannot hold one object */
		} else {
			s->geo.order = (unsigned int)order;
			s->geo.objects = order_objects((unsigned int)order, s->geo.size);
		}
	}
	s->cpu_slab = ret ? NULL : malloc(mm->nr_cpus * sizeof(*s->cpu_slab));
	if (!ret && !s->cpu_slab)
		ret = SNP_ENOMEM;
	if (ret) {
		free(s);
		return ret;
	}
	for (unsigned int c = 0; c < mm->nr_cpus; c++)
		s->cpu_slab[c] = SLAB_NONE;
	s->mm = mm;
	s->size = s->geo.size;
	s->gfp = gfp;
	*out = s;
	return 0;
}

int mm_kmem_cache_create(struct mm_host *mm, unsigned int size, unsigned int align, mm_gfp_t gfp,
			 struct mm_kmem_cache **out)
{
	return cache_create(mm, size, align, gfp, -1, out);
}

int mm_kmem_cache_create_order(struct mm_host *mm, unsigned int size, unsigned int align,
			       mm_gfp_t gfp, unsigned int order, struct mm_kmem_cache **out)
{
	if (order > SLUB_MAX_ORDER)
		return SNP_EINVAL;
	return cache_create(mm, size, align, gfp, (int)order, out);
}

/* A free slot of the slab array (grown on demand), or SLAB_NONE. */
static uint32_t slab_slot(struct mm_kmem_cache *s)
{
	struct mm_slab *n;

	for (uint32_t i = 0; i < s->nr_slabs; i++)
		if (!s->slabs[i].page)
			return i;
	if (s->nr_slabs == s->cap) {
		uint32_t cap = s->cap ? 2 * s->cap : 8;

		n = realloc(s->slabs, cap * sizeof(*n));
		if (!n)
			return SLAB_NONE;
		s->slabs = n;
		s->cap = cap;
	}
	memset(&s->slabs[s->nr_slabs], 0, sizeof(*s->slabs));
	return s->nr_slabs++;
}

/*
 * allocate_slab(): the oo order first, __GFP_NORETRY and no direct reclaim
 * (the model's MM_GFP_NORETRY skips the drain-and-retry), then the min
 * order with the caller's flags.  A slab of 2^order pages of the cache's
 * mobility (UNMOVABLE unless SLAB_RECLAIM_ACCOUNT).
 */
static uint32_t new_slab(struct mm_kmem_cache *s, unsigned int cpu, mm_gfp_t gfp)
{
	unsigned int order = s->geo.order, objects = s->geo.objects;
	struct page *page = mm_alloc_pages(s->mm, cpu, gfp | s->gfp | MM_GFP_NORETRY, order);
	uint32_t i = slab_slot(s);
	struct mm_slab *slab;

	if (!page && order > s->geo.min_order) {
		order = s->geo.min_order;
		objects = s->geo.min_objects;
		page = mm_alloc_pages(s->mm, cpu, gfp | s->gfp, order);
	}
	if (!page || i == SLAB_NONE) {
		if (page)
			snp_ignore_result(mm_free_pages(s->mm, cpu, page, order));   /* ours: cannot fail */
		return SLAB_NONE;
	}
	slab = &s->slabs[i];
	slab->free = malloc(objects * sizeof(*slab->free));
	if (!slab->free) {
		snp_ignore_result(mm_free_pages(s->mm, cpu, page, order));
		return SLAB_NONE;
	}
	slab->page = page;
	slab->order = order;
	slab->objects = objects;
	slab->inuse = 0;
	slab->nid = (unsigned int)mm_pfn_to_nid(s->mm, mm_page_to_pfn(s->mm, page));
	slab->cpu = -1;
	for (unsigned int o = 0; o < objects; o++)   /* the first object on top */
		slab->free[o] = (uint16_t)(objects - 1 - o);
	slab->nr_free = objects;
	return i;
}

/* discard_slab(): the slab's pages back to the page allocator, on @cpu. */
static void discard_slab(struct mm_kmem_cache *s, uint32_t i, unsigned int cpu)
{
	struct mm_slab *slab = &s->slabs[i];

	snp_ignore_result(mm_free_pages(s->mm, cpu, slab->page, slab->order));   /* ours: cannot fail */
	free(slab->free);
	memset(slab, 0, sizeof(*slab));
}

/* Partial slabs of node @nid: inactive, with at least one free object (n->nr_partial). */
static unsigned int nr_partial(const struct mm_kmem_cache *s, unsigned int nid)
{
	unsigned int n = 0;

	for (uint32_t i = 0; i < s->nr_slabs; i++) {
		const struct mm_slab *slab = &s->slabs[i];

		n += slab->page && slab->cpu < 0 && slab->nid == nid && slab->inuse < slab->objects;
	}
	return n;
}

/* get_partial_node(): the first inactive slab of @nid with a free object. */
static uint32_t get_partial_node(const struct mm_kmem_cache *s, unsigned int nid)
{
	for (uint32_t i = 0; i < s->nr_slabs; i++) {
		const struct mm_slab *slab = &s->slabs[i];

		if (slab->page && slab->cpu < 0 && slab->nid == nid && slab->inuse < slab->objects)
			return i;
	}
	return SLAB_NONE;
}

long mm_kmem_cache_alloc(struct mm_kmem_cache *s, unsigned int cpu, mm_gfp_t gfp)
{
	uint32_t i;
	struct mm_slab *slab;

	if (!s || cpu >= s->mm->nr_cpus || (gfp & ~(MM_GFP_ACCOUNT | MM_GFP_ZERO)))
		return SNP_EINVAL;
	i = s->cpu_slab[cpu];
	if (i == SLAB_NONE || !s->slabs[i].nr_free) {
		/* deactivate_slab() of a full slab: it leaves every list until an object is freed */
		if (i != SLAB_NONE)
			s->slabs[i].cpu = -1;
		i = get_partial_node(s, (unsigned int)mm_cpu_to_node(s->mm, cpu));
		if (i == SLAB_NONE)
			i = new_slab(s, cpu, gfp & MM_GFP_ACCOUNT);
		if (i == SLAB_NONE) {
			s->cpu_slab[cpu] = SLAB_NONE;
			return mm_set_last_error(s->mm, SNP_ENOMEM);
		}
		s->slabs[i].cpu = (int)cpu;
		s->cpu_slab[cpu] = i;
	}
	slab = &s->slabs[i];
	slab->inuse++;
	return (long)i << 16 | slab->free[--slab->nr_free];
}

int mm_kmem_cache_free(struct mm_kmem_cache *s, unsigned int cpu, long obj)
{
	uint32_t i = obj >= 0 ? (uint32_t)(obj >> 16) : SLAB_NONE;
	struct mm_slab *slab;
	bool was_partial;

	if (!s || cpu >= s->mm->nr_cpus || i >= s->nr_slabs || !s->slabs[i].page ||
	    (obj & 0xffff) >= s->slabs[i].objects)
		return SNP_EINVAL;
	slab = &s->slabs[i];
	for (unsigned int f = 0; f < slab->nr_free; f++)
		if (slab->free[f] == (uint16_t)(obj & 0xffff))
			return SNP_EINVAL;   /* a double free */
	was_partial = slab->nr_free > 0;
	slab->free[slab->nr_free++] = (uint16_t)(obj & 0xffff);
	slab->inuse--;
	/*
	 * __slab_free(): an inactive slab left empty goes when n->nr_partial
	 * (itself included if it was partial already) reaches min_partial.
	 */
	if (!slab->inuse && slab->cpu < 0 &&
	    nr_partial(s, slab->nid) - !was_partial >= s->geo.min_partial)
		discard_slab(s, i, cpu);
	return 0;
}

int mm_kmem_cache_destroy(struct mm_kmem_cache *s, unsigned int cpu)
{
	if (!s)
		return 0;
	if (cpu >= s->mm->nr_cpus)
		return SNP_EINVAL;
	for (uint32_t i = 0; i < s->nr_slabs; i++)
		if (s->slabs[i].page && s->slabs[i].inuse)
			return SNP_EBUSY;   /* "Objects remaining on __kmem_cache_shutdown()" */
	for (uint32_t i = 0; i < s->nr_slabs; i++)
		if (s->slabs[i].page)
			discard_slab(s, i, cpu);
	free(s->slabs);
	free(s->cpu_slab);
	free(s);
	return 0;
}

void mm_kmem_cache_forget(struct mm_kmem_cache *s)
{
	if (!s)
		return;
	for (uint32_t i = 0; i < s->nr_slabs; i++)
		free(s->slabs[i].free);
	free(s->slabs);
	free(s->cpu_slab);
	free(s);
}

int mm_kmem_cache_info(const struct mm_kmem_cache *s, struct mm_kmem_cache_info *out)
{
	if (!s || !out)
		return SNP_EINVAL;
	memset(out, 0, sizeof(*out));
	out->geo = s->geo;
	for (uint32_t i = 0; i < s->nr_slabs; i++) {
		const struct mm_slab *slab = &s->slabs[i];

		if (!slab->page)
			continue;
		out->slabs++;
		out->pages += 1ULL << slab->order;
		out->objects_inuse += slab->inuse;
	}
	return 0;
}
