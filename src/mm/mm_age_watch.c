// SPDX-License-Identifier: MIT
/*
 * mm_age_watch.c - the memory work of watch's ager (watch/workload.c
 * age_main(), age_round(); `snpsafe watch --age-rounds N`), round by round,
 * on a modeled host.  Its constants are the ager's; each allocation's kind
 * is the kernel's (Debian 6.12.95's source; docs/MODEL.md "Ageing as
 * watch's ager does it"):
 *
 *   page cache: a tmpfs mounted without huge= (watch/init.sh), written:
 *     mm/shmem.c shmem_get_folio_gfp() takes order 0 when
 *     shmem_allowable_huge_orders() is 0 (tmpfs: PMD order only with huge=),
 *     with the mapping's gfp, fs/inode.c inode_init_always_gfp()'s
 *     GFP_HIGHUSER_MOVABLE: order 0, MOVABLE;
 *   anonymous: mm/memory.c alloc_anon_folio(): only the PMD order is on by
 *     default (mm/huge_memory.c huge_anon_orders_inherit = BIT(PMD_ORDER)),
 *     and thp_vma_suitable_order() needs the aligned 2 MiB inside the VMA,
 *     which a chunk of at most 256 KiB is not: order 0, MOVABLE, zeroed;
 *   an empty file: a dentry (fs/dcache.c dcache_init(): SLAB_RECLAIM_ACCOUNT,
 *     RECLAIMABLE slabs) and a shmem inode (mm/shmem.c
 *     shmem_init_inodecache(): SLAB_ACCOUNT only, UNMOVABLE slabs);
 *   a pipe's page: fs/pipe.c pipe_write() alloc_page(GFP_HIGHUSER |
 *     __GFP_ACCOUNT): order 0, UNMOVABLE;
 *   an AF_UNIX 1 KiB send: net/unix/af_unix.c unix_stream_sendmsg() ->
 *     sock_alloc_send_pskb() -> __alloc_skb()'s head, 1 KiB + the shared
 *     info, past skb_small_head_cache: kmalloc_reserve() takes kmalloc-2k,
 *     UNMOVABLE slab.
 *
 * Everything is drawn from two seeded splitmix64 streams, one for what the
 * ager does (sizes, keeps, the shuffle), one for the CPU it runs on, so the
 * CPU setting changes nothing but the CPUs.
 */
#include "mm/mm_internal.h"

#include <stdlib.h>
#include <string.h>

/* watch/workload.c's constants (AGE_*), the model's copy. */
#define AGE_KEEP_PCT      45
#define AGE_MAKE_X2       5
#define AGE_ROUND_MAX_PCT 30
#define AGE_FLOOR_PCT     10
#define AGE_SMALL_FILES   4000u
#define AGE_PIPES         64u
#define AGE_SOCKETS       32u
#define AGE_KEEP_OBJ_PCT  40
#define AGE_MAX_PIECES    8192u
#define AGE_FILE_PAGES    512u     /* a file: 4 KiB .. 2 MiB */
#define AGE_ANON_PAGES    64u      /* a chunk: 4 KiB .. 256 KiB */
#define AGE_CHECK_PAGES   2048u    /* MemAvailable read every 8 MiB made */

/*
 * Slab object sizes, chosen so the model's SLUB gives the geometry of the
 * watched guests' /proc/slabinfo (docs/data/boot-state-2026-12-06, 6.1 and
 * 6.12 alike): dentry 21 a page (order 0), shmem_inode_cache 21 a slab of
 * 4 pages (order 2), kmalloc-2k 16 a slab of 8 pages (order 3).
 */
#define DENTRY_SIZE       192u
#define SHMEM_INODE_SIZE  776u
#define SKB_HEAD_SIZE     2048u

struct aw_obj {
	struct mm_kmem_cache *s;
	long h;
};

struct aw_vec {             /* order-0 pages, by pfn */
	uint32_t *v;
	size_t n, cap;
};

struct aw_piece {
	size_t first, len;          /* its pages: round_pages.v[first, first + len) */
	struct aw_obj dentry, inode;   /* a file's (s NULL for an anonymous chunk) */
};

struct mm_age_watch {
	struct mm_age_watch_config cfg;
	uint64_t rng, cpu_rng, keep;
	struct mm_kmem_cache *dentry, *shmem_inode, *kmalloc_2k;
	struct aw_vec kept, round;
	struct aw_obj *objs;        /* slab objects kept */
	size_t nr_objs, cap_objs;
	struct aw_piece cache[AGE_MAX_PIECES], anon[AGE_MAX_PIECES];
	unsigned int nr_cache, nr_anon;
	struct mm_age_watch_stats st;
};

static const char *const ager_cpu_names[MM_NR_AGER_CPU] = { "round", "piece" };

const char *mm_ager_cpu_name(enum mm_ager_cpu c)
{
	return (unsigned int)c < MM_NR_AGER_CPU ? ager_cpu_names[c] : "?";
}

int mm_ager_cpu_parse(const char *s, enum mm_ager_cpu *out)
{
	for (unsigned int i = 0; s && out && i < MM_NR_AGER_CPU; i++)
		if (!strcmp(s, ager_cpu_names[i])) {
			*out = (enum mm_ager_cpu)i;
			return 0;
		}
	return SNP_EINVAL;
}

void mm_age_watch_config_init(struct mm_age_watch_config *cfg, uint64_t seed, unsigned int rounds)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->seed = seed;
	cfg->rounds = rounds;
	cfg->cpu = MM_AGER_CPU_ROUND;
}

static SNP_MUST_CHECK int aw_push(struct aw_vec *a, uint32_t pfn)
{
	if (a->n == a->cap) {
		size_t cap = a->cap ? 2 * a->cap : 4096;
		uint32_t *v = realloc(a->v, cap * sizeof(*v));

		if (!v)
			return SNP_ENOMEM;
		a->v = v;
		a->cap = cap;
	}
	a->v[a->n++] = pfn;
	return 0;
}

static SNP_MUST_CHECK int aw_keep_obj(struct mm_age_watch *w, struct aw_obj o)
{
	if (w->nr_objs == w->cap_objs) {
		size_t cap = w->cap_objs ? 2 * w->cap_objs : 4096;
		struct aw_obj *v = realloc(w->objs, cap * sizeof(*v));

		if (!v)
			return SNP_ENOMEM;
		w->objs = v;
		w->cap_objs = cap;
	}
	w->objs[w->nr_objs++] = o;
	return 0;
}

static void aw_next_cpu(struct mm_age_watch *w, struct mm_host *mm)
{
	w->st.cpu = (unsigned int)mm_rng_below(&w->cpu_rng, mm->nr_cpus);
}

/* One order-0 page on the ager's CPU, written (the ager writes or touches every page). */
static SNP_MUST_CHECK int aw_page(struct mm_host *mm, struct mm_age_watch *w, mm_gfp_t gfp,
				  struct aw_vec *into)
{
	struct page *p = mm_alloc_pages(mm, w->st.cpu, gfp, 0);
	int err;

	if (!p)
		return mm_last_error(mm) ? mm_last_error(mm) : SNP_ENOMEM;
	err = mm_page_write(mm, p);
	if (!err)
		err = aw_push(into, mm_pfn_of(mm, p));
	if (err)
		snp_ignore_result(mm_free_pages(mm, w->st.cpu, p, 0));   /* err is the one to report */
	return err;
}

static SNP_MUST_CHECK int aw_free_page(struct mm_host *mm, const struct mm_age_watch *w, uint32_t pfn)
{
	return mm_free_pages(mm, w->st.cpu, &mm->mem_map[pfn], 0);
}

static SNP_MUST_CHECK int aw_obj(struct mm_age_watch *w, struct mm_kmem_cache *s, struct aw_obj *o)
{
	long h = mm_kmem_cache_alloc(s, w->st.cpu, MM_GFP_ACCOUNT);

	if (h < 0)
		return (int)h;
	*o = (struct aw_obj){ s, h };
	return 0;
}

static SNP_MUST_CHECK int aw_obj_free(const struct mm_age_watch *w, struct aw_obj o)
{
	return mm_kmem_cache_free(o.s, w->st.cpu, o.h);
}

/* Kept (40%) or closed: age_below(100) >= AGE_KEEP_OBJ_PCT frees it, as the ager does. */
static bool aw_keeps(struct mm_age_watch *w)
{
	return mm_rng_below(&w->rng, 100) < AGE_KEEP_OBJ_PCT;
}

/* An empty file, or a file piece's: open(O_CREAT) makes its dentry and shmem inode. */
static SNP_MUST_CHECK int aw_file(struct mm_age_watch *w, struct aw_obj *dentry, struct aw_obj *inode)
{
	int err = aw_obj(w, w->dentry, dentry);

	if (!err) {
		err = aw_obj(w, w->shmem_inode, inode);
		if (err)
			snp_ignore_result(aw_obj_free(w, *dentry));   /* err is the one to report */
	}
	return err;
}

/* The pipe's page, or the socket pair's skb head, kept or given back at close. */
static SNP_MUST_CHECK int aw_pipe(struct mm_host *mm, struct mm_age_watch *w)
{
	struct aw_vec one = { 0 };
	int err = aw_page(mm, w, MM_GFP_KERNEL_ACCOUNT, &one);

	if (!err && aw_keeps(w)) {
		err = aw_push(&w->kept, one.v[0]);
		w->st.kept_fds += 2;
		w->st.pipe_pages++;
	} else if (!err) {
		err = aw_free_page(mm, w, one.v[0]);
	}
	free(one.v);
	return err;
}

static SNP_MUST_CHECK int aw_socket(struct mm_age_watch *w)
{
	struct aw_obj skb;
	int err = aw_obj(w, w->kmalloc_2k, &skb);

	if (!err && aw_keeps(w)) {
		err = aw_keep_obj(w, skb);
		w->st.kept_fds += 2;
	} else if (!err) {
		err = aw_obj_free(w, skb);
	}
	return err;
}

/* age_small_objects(): files [from, to), a pipe every 62nd, a socket pair every 125th. */
static SNP_MUST_CHECK int aw_small(struct mm_host *mm, struct mm_age_watch *w, unsigned int from,
				   unsigned int to)
{
	int err = 0;

	for (unsigned int j = from; j < to && !err; j++) {
		struct aw_obj d, i;

		err = aw_file(w, &d, &i);
		if (err)
			break;
		if (aw_keeps(w)) {
			err = aw_keep_obj(w, d);
			if (!err)
				err = aw_keep_obj(w, i);
			w->st.kept_files++;
		} else {
			/* unlink: the dentry goes, and the inode with its last reference */
			err = aw_obj_free(w, d);
			if (!err)
				err = aw_obj_free(w, i);
		}
		if (!err && j % (AGE_SMALL_FILES / AGE_PIPES) == 0)
			err = aw_pipe(mm, w);
		if (!err && j % (AGE_SMALL_FILES / AGE_SOCKETS) == 0)
			err = aw_socket(w);
	}
	return err;
}

/*
 * MemAvailable, as the ager reads it: free pages less the zones' low
 * watermarks (si_mem_available() takes totalreserve_pages, the high
 * watermarks and lowmem reserves; tmpfs and anonymous pages are not
 * reclaimable without swap, and the model's host has no file cache).
 */
static uint64_t aw_available(const struct mm_host *mm)
{
	struct mm_counts c;
	uint64_t avail, reserve = 0;

	if (mm_get_counts(mm, MM_NUMA_NO_NODE, &c))
		return 0;
	avail = c.free + c.pcp;
	for (unsigned int nid = 0; nid < mm->nr_nodes; nid++) {
		struct mm_zone_info z[MM_NR_ZONE_TYPES];
		int nz = mm_node_zones(mm, (int)nid, z, MM_NR_ZONE_TYPES);

		for (int k = 0; k < nz; k++) {
			struct mm_pcp_info pi;

			if (z[k].managed && !mm_pcp_sizes(mm, z[k].start_pfn, 0, &pi))
				reserve += pi.wmark_low;
		}
	}
	return avail > reserve ? avail - reserve : 0;
}

/* One file of @pages page cache pages; a short one when memory ran out, none if open failed. */
static SNP_MUST_CHECK int aw_cache_piece(struct mm_host *mm, struct mm_age_watch *w, unsigned int pages)
{
	struct aw_piece *p = &w->cache[w->nr_cache];
	int err;

	(void)mm_rng_below(&w->rng, 255);   /* the fill byte, drawn as the ager draws it */
	*p = (struct aw_piece){ .first = w->round.n };
	err = aw_file(w, &p->dentry, &p->inode);
	if (err)
		return err == SNP_ENOMEM ? 0 : err;
	for (unsigned int i = 0; i < pages && !err; i++)
		err = aw_page(mm, w, MM_GFP_HIGHUSER_MOVABLE, &w->round);
	p->len = w->round.n - p->first;
	w->nr_cache++;
	return err == SNP_ENOMEM ? 0 : err;
}

static SNP_MUST_CHECK int aw_anon_piece(struct mm_host *mm, struct mm_age_watch *w, unsigned int pages)
{
	struct aw_piece *p = &w->anon[w->nr_anon];
	int err = 0;

	*p = (struct aw_piece){ .first = w->round.n };
	for (unsigned int i = 0; i < pages && !err; i++)
		err = aw_page(mm, w, MM_GFP_HIGHUSER_MOVABLE | MM_GFP_ZERO, &w->round);
	p->len = w->round.n - p->first;
	w->nr_anon++;
	return err == SNP_ENOMEM ? 0 : err;
}

/* unlink or munmap: the piece's pages in order, then a file's dentry and inode. */
static SNP_MUST_CHECK int aw_free_piece(struct mm_host *mm, struct mm_age_watch *w,
					const struct aw_piece *p)
{
	int err = 0;

	for (size_t i = 0; i < p->len && !err; i++)
		err = aw_free_page(mm, w, w->round.v[p->first + i]);
	if (!err && p->dentry.s)
		err = aw_obj_free(w, p->dentry);
	if (!err && p->inode.s)
		err = aw_obj_free(w, p->inode);
	return err;
}

static SNP_MUST_CHECK int aw_keep_piece(struct mm_age_watch *w, const struct aw_piece *p)
{
	int err = 0;

	for (size_t i = 0; i < p->len && !err; i++)
		err = aw_push(&w->kept, w->round.v[p->first + i]);
	if (!err && p->dentry.s)
		err = aw_keep_obj(w, p->dentry);
	if (!err && p->inode.s)
		err = aw_keep_obj(w, p->inode);
	return err;
}

/* age_free_rest(): Fisher-Yates, then keep in that order up to @keep pages, free the rest. */
static SNP_MUST_CHECK int aw_free_rest(struct mm_host *mm, struct mm_age_watch *w,
				       struct aw_piece *p, unsigned int n, uint64_t keep, uint64_t *kept)
{
	int err = 0;

	for (unsigned int i = n; i > 1; i--) {
		unsigned int j = (unsigned int)mm_rng_below(&w->rng, i);
		struct aw_piece t = p[i - 1];

		p[i - 1] = p[j];
		p[j] = t;
	}
	for (unsigned int i = 0; i < n && !err; i++) {
		if (*kept + p[i].len <= keep) {
			*kept += p[i].len;
			err = aw_keep_piece(w, &p[i]);
			continue;
		}
		if (w->cfg.cpu == MM_AGER_CPU_PIECE)
			aw_next_cpu(w, mm);
		err = aw_free_piece(mm, w, &p[i]);
	}
	return err;
}

/* The loop of age_round(): page cache and anonymous pieces interleaved, small objects in step. */
static SNP_MUST_CHECK int aw_make(struct mm_host *mm, struct mm_age_watch *w, uint64_t make,
				  uint64_t *done)
{
	uint64_t make_cache = make * 55 / 100, make_anon = make - make_cache;
	uint64_t done_cache = 0, done_anon = 0, since_check = 0;
	unsigned int small = 0;
	int err = 0;

	while (!err && (done_cache < make_cache || done_anon < make_anon) &&
	       w->nr_cache < AGE_MAX_PIECES && w->nr_anon < AGE_MAX_PIECES) {
		unsigned int fl = 1 + (unsigned int)mm_rng_below(&w->rng, AGE_FILE_PAGES);
		unsigned int al = 1 + (unsigned int)mm_rng_below(&w->rng, AGE_ANON_PAGES);
		unsigned int small_to;
		size_t start = w->round.n, before = start;

		if (since_check >= AGE_CHECK_PAGES) {
			since_check = 0;
			if (aw_available(mm) < w->st.mem_total * AGE_FLOOR_PCT / 100) {
				w->st.capped++;
				break;
			}
		}
			if (w->cfg.cpu == MM_AGER_CPU_PIECE)
			aw_next_cpu(w, mm);
		if (done_cache < make_cache) {
			err = aw_cache_piece(mm, w, fl);
			done_cache += w->round.n - before;
		}
		before = w->round.n;
		if (!err && done_anon < make_anon) {
			err = aw_anon_piece(mm, w, al);
			done_anon += w->round.n - before;
		}
		since_check += w->round.n - start;
		small_to = (unsigned int)((done_cache + done_anon) * AGE_SMALL_FILES / (make ? make : 1));
		small_to = small_to < AGE_SMALL_FILES ? small_to : AGE_SMALL_FILES;
		if (!err)
			err = aw_small(mm, w, small, small_to);
		small = small_to > small ? small_to : small;
	}
	if (!err)
		err = aw_small(mm, w, small, AGE_SMALL_FILES);
	*done = done_cache + done_anon;
	return err;
}

static SNP_MUST_CHECK int aw_caches(struct mm_host *mm, struct mm_age_watch *w)
{
	int err = mm_kmem_cache_create(mm, DENTRY_SIZE, 8, MM_GFP_RECLAIMABLE, &w->dentry);

	if (!err)
		err = mm_kmem_cache_create(mm, SHMEM_INODE_SIZE, 8, 0, &w->shmem_inode);
	if (!err)
		err = mm_kmem_cache_create(mm, SKB_HEAD_SIZE, 8, 0, &w->kmalloc_2k);
	return err;
}

int mm_age_watch_begin(struct mm_host *mm, const struct mm_age_watch_config *cfg,
		       struct mm_age_watch **out)
{
	struct mm_age_watch *w;
	struct mm_counts c;
	int err;

	if (!mm || !cfg || !out || !cfg->rounds || cfg->rounds > MM_AGE_WATCH_MAX_ROUNDS ||
	    (unsigned int)cfg->cpu >= MM_NR_AGER_CPU)
		return SNP_EINVAL;
	*out = NULL;
	err = mm_get_counts(mm, MM_NUMA_NO_NODE, &c);
	if (err)
		return err;
	w = calloc(1, sizeof(*w));
	if (!w)
		return SNP_ENOMEM;
	w->cfg = *cfg;
	w->rng = cfg->seed;
	w->cpu_rng = cfg->seed ^ 0x5bd1e9955bd1e995ULL;   /* a stream of its own */
	/* MemTotal: totalram_pages(), the managed pages (held ones are the guests') */
	w->st.mem_total = c.present - c.reserved - mm_held_pages(mm);
	/* age_main(): keep = MemTotal * 45% / N, fixed by MemTotal alone */
	w->keep = w->st.mem_total * AGE_KEEP_PCT / 100 / cfg->rounds;
	err = aw_caches(mm, w);
	if (err) {
		mm_age_watch_forget(w);
		return err;
	}
	*out = w;
	return 0;
}

static uint64_t aw_slab_pages(const struct mm_age_watch *w)
{
	struct mm_kmem_cache *s[] = { w->dentry, w->shmem_inode, w->kmalloc_2k };
	uint64_t pages = 0;

	for (size_t i = 0; i < sizeof(s) / sizeof(s[0]); i++) {
		struct mm_kmem_cache_info ci;

		if (!mm_kmem_cache_info(s[i], &ci))
			pages += ci.pages;
	}
	return pages;
}

/* age_round() up to age_vm_churn(): make, then free past the round's keep. */
int mm_age_watch_round(struct mm_host *mm, struct mm_age_watch *w)
{
	uint64_t make, cap, done = 0, kc = 0, ka = 0;
	uint64_t keep_cache;
	int err;

	if (!mm || !w)
		return SNP_EINVAL;
	if (w->st.rounds_done >= w->cfg.rounds)
		return SNP_ERANGE;
	make = w->keep * AGE_MAKE_X2 / 2;
	cap = w->st.mem_total * AGE_ROUND_MAX_PCT / 100;
	make = make < cap ? make : cap;
	keep_cache = w->keep * 55 / 100;
	aw_next_cpu(w, mm);
	w->nr_cache = w->nr_anon = 0;
	w->round.n = 0;
	err = aw_make(mm, w, make, &done);
	w->st.made += done;
	if (!err)
		err = aw_free_rest(mm, w, w->cache, w->nr_cache, keep_cache, &kc);
	if (!err)
		err = aw_free_rest(mm, w, w->anon, w->nr_anon, w->keep - keep_cache, &ka);
	w->st.kept_cache += kc;
	w->st.kept_anon += ka;
	w->st.slab_pages = aw_slab_pages(w);
	w->st.rounds_done++;
	return err;
}

int mm_age_watch_stats(const struct mm_age_watch *w, struct mm_age_watch_stats *out)
{
	if (!w || !out)
		return SNP_EINVAL;
	*out = w->st;
	return 0;
}

int mm_age_watch_release(struct mm_host *mm, struct mm_age_watch *w)
{
	struct mm_kmem_cache **caches[3];
	int err = 0, e;

	if (!mm || !w)
		return SNP_EINVAL;
	caches[0] = &w->dentry;
	caches[1] = &w->shmem_inode;
	caches[2] = &w->kmalloc_2k;
	/* the ager killed: everything back on CPU 0 */
	w->st.cpu = 0;
	for (size_t i = 0; i < w->kept.n; i++)
		if ((e = aw_free_page(mm, w, w->kept.v[i])) && !err)
			err = e;
	for (size_t i = 0; i < w->nr_objs; i++)
		if ((e = aw_obj_free(w, w->objs[i])) && !err)
			err = e;
	w->kept.n = w->nr_objs = 0;
	for (size_t i = 0; i < sizeof(caches) / sizeof(caches[0]); i++) {
		if ((e = mm_kmem_cache_destroy(*caches[i], 0)) && !err)
			err = e;
		if (!e)
			*caches[i] = NULL;
	}
	mm_age_watch_forget(w);
	return err;
}

void mm_age_watch_forget(struct mm_age_watch *w)
{
	if (!w)
		return;
	mm_kmem_cache_forget(w->dentry);
	mm_kmem_cache_forget(w->shmem_inode);
	mm_kmem_cache_forget(w->kmalloc_2k);
	free(w->kept.v);
	free(w->round.v);
	free(w->objs);
	free(w);
}
