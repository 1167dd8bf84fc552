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
 *  - allocation (___slab_alloc()): from this CPU's slab; else the newest
 *    slab of this CPU's partial list; else get_partial_node(): the first
 *    slab of this CPU's node's partial list becomes this CPU's slab and the
 *    next ones move to this CPU's partial list, until it took more than
 *    cpu_partial_slabs / 2; else new_slab() -> allocate_slab(): the oo
 *    order with __GFP_NORETRY and no reclaim, and on failure the min order
 *    with the caller's flags;
 *  - free (__slab_free()): an object of a CPU's slab, or of a slab on a
 *    CPU's partial list, goes back to it, which stays where it is even
 *    when left empty; a full slab that frees an object goes to the head of
 *    the freeing CPU's partial list (put_cpu_partial()), and when that list
 *    already holds cpu_partial_slabs slabs it first goes to the node
 *    (__put_partials()): in list order, each slab goes to the tail of its
 *    node's partial list, or, empty while the node keeps min_partial, is
 *    freed; the freed ones go back to the page allocator one after another
 *    (discard_slab(), on the freeing CPU), the run of frees that sets the
 *    page allocator's free_high; a slab on its node's partial list left
 *    empty is freed when the node keeps min_partial partial slabs, itself
 *    counted.  cpu_partial_slabs (slub_set_cpu_partial(), both kernels):
 *    6, 24, 52 or 120 objects for s->size at least PAGE_SIZE, 1024, 256 or
 *    less, times two, over the objects of an oo slab, rounded up.
 * Not modeled: remote-node partial slabs (get_any_partial()), freelist
 * randomisation (which object a call gets: no object has contents here)
 * and slab merging (a cache made here is its own, as a usercopy cache like
 * kvm_vcpu is).  The objects a slab's CPU frees to its own slab and those
 * other CPUs free to it are one freelist here (the kernel keeps two, and
 * ___slab_alloc() takes the second when the first runs out: the same
 * objects in another order).
 */
#include "mm/mm_internal.h"

#include <stdlib.h>
#include <string.h>

#define SLUB_MAX_ORDER   3u      /* slub_max_order = PAGE_ALLOC_COSTLY_ORDER */
#define MAX_OBJS_PER_PAGE 32767u
#define MIN_PARTIAL      5u
#define MAX_PARTIAL      10u
#define SLAB_NONE        UINT32_MAX

/* Where a slab is: which list holds it, if any. */
enum slab_place {
	SLAB_FULL,               /* on no list: every object taken */
	SLAB_ACTIVE,             /* a CPU's slab (c->slab) */
	SLAB_CPU_PARTIAL,        /* on a CPU's partial list (c->partial) */
	SLAB_NODE_PARTIAL,       /* on its node's partial list (n->partial) */
};

struct mm_slab {
	struct page *page;       /* NULL: a free slot of the array */
	unsigned int order;
	unsigned int objects;
	unsigned int inuse;
	unsigned int nid;
	enum slab_place place;
	int cpu;                 /* the CPU of an active or CPU-partial slab, or -1 */
	uint16_t *free;          /* indices of the free objects, a stack */
	unsigned int nr_free;
};

/* An ordered list of slab indices: a CPU's partial list (head last) or a node's (head first). */
struct slab_list {
	uint32_t *v;
	uint32_t n, cap;
};

struct mm_kmem_cache {
	struct mm_host *mm;
	unsigned int size;       /* s->size */
	mm_gfp_t gfp;            /* s->allocflags: __GFP_RECLAIMABLE for a reclaimable cache */
	struct mm_slub_geometry geo;
	struct mm_slab *slabs;
	uint32_t nr_slabs, cap;
	uint32_t *cpu_slab;      /* per CPU: index into slabs, or SLAB_NONE */
	struct slab_list *cpu_partial;    /* per CPU, the newest slab last */
	struct slab_list *node_partial;   /* per node, the head first */
	unsigned int cpu_partial_slabs;   /* s->cpu_partial_slabs */
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

/*
 * set_cpu_partial() and slub_set_cpu_partial() (6.1.192 and 6.12.95 alike):
 * the objects a CPU's partial list may hold by s->size, kept as a count of
 * slabs taken as half full.
 */
static unsigned int cpu_partial_slabs(unsigned int size, unsigned int objects)
{
	unsigned int nr_objects = size >= SNP_PAGE_SIZE ? 6 : size >= 1024 ? 24 : size >= 256 ? 52 : 120;

	return (nr_objects * 2 + objects - 1) / objects;
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
	if (!ret) {
		s->cpu_slab = malloc(mm->nr_cpus * sizeof(*s->cpu_slab));
		s->cpu_partial = calloc(mm->nr_cpus, sizeof(*s->cpu_partial));
		s->node_partial = calloc(mm->nr_nodes, sizeof(*s->node_partial));
		if (!s->cpu_slab || !s->cpu_partial || !s->node_partial)
			ret = SNP_ENOMEM;
	}
	if (ret) {
		free(s->cpu_slab);
		free(s->cpu_partial);
		free(s->node_partial);
		free(s);
		return ret;
	}
	for (unsigned int c = 0; c < mm->nr_cpus; c++)
		s->cpu_slab[c] = SLAB_NONE;
	s->mm = mm;
	s->size = s->geo.size;
	s->gfp = gfp;
	s->cpu_partial_slabs = cpu_partial_slabs(s->size, s->geo.objects);
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

/* Room for @want slabs on @l; false when it cannot grow. */
static bool slab_list_grow(struct slab_list *l, uint32_t want)
{
	while (l->cap < want) {
		uint32_t cap = l->cap ? 2 * l->cap : 8, *v = realloc(l->v, cap * sizeof(*v));

		if (!v)
			return false;
		l->v = v;
		l->cap = cap;
	}
	return true;
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
	/* every node's partial list keeps room for every slab (add_partial_tail()) */
	for (unsigned int nid = 0; nid < s->mm->nr_nodes && page && i != SLAB_NONE; nid++)
		if (!slab_list_grow(&s->node_partial[nid], s->nr_slabs))
			i = SLAB_NONE;
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

static bool slab_list_push(struct slab_list *l, uint32_t i)
{
	if (!slab_list_grow(l, l->n + 1))
		return false;
	l->v[l->n++] = i;
	return true;
}

static void slab_list_remove(struct slab_list *l, uint32_t i)
{
	for (uint32_t k = 0; k < l->n; k++)
		if (l->v[k] == i) {
			memmove(&l->v[k], &l->v[k + 1], (l->n - k - 1) * sizeof(*l->v));
			l->n--;
			return;
		}
}

/*
 * add_partial(n, slab, DEACTIVATE_TO_TAIL).  Every node's list has room
 * for every slab of the cache (new_slab() grows them), so this cannot fail.
 */
static void add_partial_tail(struct mm_kmem_cache *s, uint32_t i)
{
	struct mm_slab *slab = &s->slabs[i];

	snp_ignore_result(slab_list_push(&s->node_partial[slab->nid], i));   /* room kept by new_slab() */
	slab->place = SLAB_NODE_PARTIAL;
	slab->cpu = -1;
}

/*
 * __put_partials(): a CPU's partial list, in list order from its head (the
 * newest slab), to the nodes: each slab to the tail of its node's partial
 * list, or, empty while the node keeps min_partial partial slabs, to be
 * freed; then the slabs to be freed go back one after another, the last
 * one set aside first (the kernel's slab_to_discard stack).
 */
static void put_partials(struct mm_kmem_cache *s, uint32_t *list, uint32_t n, unsigned int cpu)
{
	uint32_t nr_discard = 0;

	for (uint32_t k = n; k-- > 0;) {
		struct mm_slab *slab = &s->slabs[list[k]];

		/* set aside at the array's top: every index above k is done with */
		if (!slab->inuse && s->node_partial[slab->nid].n >= s->geo.min_partial)
			list[n - 1 - nr_discard++] = list[k];
		else
			add_partial_tail(s, list[k]);
	}
	for (uint32_t k = n - nr_discard; k < n; k++)
		discard_slab(s, list[k], cpu);
}

/*
 * put_cpu_partial(): slab @i to the head of @cpu's partial list; with
 * @drain, a list already holding cpu_partial_slabs goes to the nodes first
 * (__put_partials()), and @i starts a new one.
 */
static SNP_MUST_CHECK int put_cpu_partial(struct mm_kmem_cache *s, uint32_t i, unsigned int cpu, bool drain)
{
	struct slab_list *l = &s->cpu_partial[cpu];
	struct mm_slab *slab = &s->slabs[i];

	if (drain && l->n >= s->cpu_partial_slabs) {
		uint32_t *old = l->v, n = l->n;

		*l = (struct slab_list){ 0 };
		if (!slab_list_push(l, i)) {
			*l = (struct slab_list){ old, n, n };
			return SNP_ENOMEM;
		}
		put_partials(s, old, n, cpu);
		free(old);
	} else if (!slab_list_push(l, i)) {
		return SNP_ENOMEM;
	}
	slab->place = SLAB_CPU_PARTIAL;
	slab->cpu = (int)cpu;
	return 0;
}

/*
 * get_partial_node(): the head of node @nid's partial list for @cpu's slab,
 * and the slabs after it to @cpu's partial list (no drain) until more than
 * cpu_partial_slabs / 2 moved.  SLAB_NONE when the list is empty.
 */
static uint32_t get_partial_node(struct mm_kmem_cache *s, unsigned int nid, unsigned int cpu)
{
	struct slab_list *l = &s->node_partial[nid];
	uint32_t first = SLAB_NONE, moved = 0, k = 0;

	for (; k < l->n; k++) {
		if (first == SLAB_NONE) {
			first = l->v[k];
			continue;
		}
		if (put_cpu_partial(s, l->v[k], cpu, false)) {
			break;   /* no room: the rest stay on the node */
		}
		if (++moved > s->cpu_partial_slabs / 2) {
			k++;
			break;
		}
	}
	memmove(l->v, &l->v[k], (l->n - k) * sizeof(*l->v));
	l->n -= k;
	return first;
}

/* The next slab for @cpu: its partial list's head, a node's partial slab, or a new one. */
static uint32_t refill_cpu_slab(struct mm_kmem_cache *s, unsigned int cpu, mm_gfp_t gfp)
{
	struct slab_list *l = &s->cpu_partial[cpu];

	if (l->n)
		return l->v[--l->n];
	if (s->node_partial[mm_cpu_to_node(s->mm, cpu)].n)
		return get_partial_node(s, (unsigned int)mm_cpu_to_node(s->mm, cpu), cpu);
	return new_slab(s, cpu, gfp & MM_GFP_ACCOUNT);
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
		if (i != SLAB_NONE) {
			s->slabs[i].place = SLAB_FULL;
			s->slabs[i].cpu = -1;
		}
		i = refill_cpu_slab(s, cpu, gfp);
		if (i == SLAB_NONE) {
			s->cpu_slab[cpu] = SLAB_NONE;
			return mm_set_last_error(s->mm, SNP_ENOMEM);
		}
		s->slabs[i].place = SLAB_ACTIVE;
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

	if (!s || cpu >= s->mm->nr_cpus || i >= s->nr_slabs || !s->slabs[i].page ||
	    (obj & 0xffff) >= s->slabs[i].objects)
		return SNP_EINVAL;
	slab = &s->slabs[i];
	for (unsigned int f = 0; f < slab->nr_free; f++)
		if (slab->free[f] == (uint16_t)(obj & 0xffff))
			return SNP_EINVAL;   /* a double free */
	if (slab->place == SLAB_FULL) {
		/* __slab_free() of a full slab: to this CPU's partial list first */
		int ret = put_cpu_partial(s, i, cpu, true);

		if (ret)
			return mm_err(s->mm, ret);
	}
	slab->free[slab->nr_free++] = (uint16_t)(obj & 0xffff);
	slab->inuse--;
	/* __slab_free(): a node-partial slab left empty goes when its node keeps min_partial */
	if (!slab->inuse && slab->place == SLAB_NODE_PARTIAL &&
	    s->node_partial[slab->nid].n >= s->geo.min_partial) {
		slab_list_remove(&s->node_partial[slab->nid], i);
		discard_slab(s, i, cpu);
	}
	return 0;
}

/* flush_all() -> flush_cpu_slab(), then the empty slabs freed (kmem_cache_destroy()'s path). */
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
	mm_kmem_cache_forget(s);
	return 0;
}

void mm_kmem_cache_forget(struct mm_kmem_cache *s)
{
	if (!s)
		return;
	for (uint32_t i = 0; i < s->nr_slabs; i++)
		free(s->slabs[i].free);
	for (unsigned int c = 0; c < s->mm->nr_cpus; c++)
		free(s->cpu_partial[c].v);
	for (unsigned int nid = 0; nid < s->mm->nr_nodes; nid++)
		free(s->node_partial[nid].v);
	free(s->cpu_partial);
	free(s->node_partial);
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
