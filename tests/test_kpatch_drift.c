// SPDX-License-Identifier: MIT
/*
 * test_kpatch_drift.c - the kernel patch and the model's strategy core
 * cannot drift apart (issue 22).
 *
 * The patch (kernel/patches/6.12/0001-*.patch) is written in the kernel's
 * own form, without the snp_core_* adapter of src/kvm/snp_safe_core.c: a
 * KVM maintainer takes snp_safe_alloc_page_node() in sev.c, not a core
 * shared with user space.  So the sharing is by test.  The build extracts
 * the code the patch adds to arch/x86/kvm/svm/sev.c (tests/kpatch/
 * extract.awk -> $(BUILD)/gen/kpatch_sieve.c) and compiles it on a shim of
 * the kernel API over the model's page allocator (tests/kpatch/: a vmemmap
 * of struct page with its lru, alloc_pages_node() and friends on a model
 * host and a current CPU, no-op spinlocks, recorded shrinker callbacks).
 * Each case then drives two identical model hosts with one seeded sequence
 * of allocations and frees on several CPUs: one through the model's sieve
 * (snp_alloc with strategy sieve and the patch's SNP_SAFE_POOL_MAX as its
 * pool cap), one through the patch's snp_safe_alloc_page_node().  At every
 * call both must return the same pfn, take the same blocks (order-1 ones
 * included), free the same pages and park the same pages; at checkpoints
 * the free pages, the parked pages and the order-1 blocks broken must
 * match.  The phases force the rare paths: a fresh host (where the first
 * page of each fresh block is 2MB-aligned), a full pool (the order-1
 * fallback), memory exhausted (order-0 and order-1 failing: every pool
 * given back and order-1 tried again), the shrinker's count and scan, and
 * snp_safe_alloc_exit() giving everything back.
 *
 * Where the two differ by design, the test does not look:
 *   - clearing: the patch asks __GFP_ZERO of every order-0 try (so does the
 *     kernel module); the model's core takes order-0 pages unzeroed and
 *     clears only the page it keeps (mm_clear_page()).  Pages and pfns are
 *     the same either way; what a page holds is not compared.
 *   - counters: the patch keeps per pool its length, peak, pages given back
 *     and fallbacks that got a page (under the pool's lock); the model keeps
 *     struct snp_alloc_stats.  Only what both can say is compared: pages
 *     parked now and order-1 blocks taken.
 *   - locking: the shim's spinlocks are no-ops and the model drives a host
 *     from one thread, so races (two CPUs parking the last slot) are not
 *     exercised here; the kernel module's all-CPUs self-test is.
 * A second case extracts the 7.2 series' patch the same way and requires
 * the same code, so the two series cannot drift apart either.
 */
#include "ktap.h"
#include "kpatch/kpatch.h"

#include <snpsafe/mm.h>
#include <snpsafe/snp_alloc.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GFP_CORE   MM_GFP_KERNEL_ACCOUNT
#define GFP_PATCH  (KPATCH_GFP_KERNEL | KPATCH_GFP_ACCOUNT)

/* Two identical hosts: the model's core on one, the patch on the other. */
struct drift {
	struct mm_host *core, *kp;
	unsigned int nodes, cpus;
	uint64_t free_start;
	uint64_t step;          /* allocation calls made, for the messages */
	long *held;             /* pfns handed out and not yet freed */
	unsigned int nr_held, max_held;
	uint64_t rng;
	bool snp;               /* SNP on: no 2MB-aligned page may come out */
};

static uint64_t rnd(struct drift *d)
{
	uint64_t z = (d->rng += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static struct mm_host *new_host(uint64_t mib, unsigned int nodes, unsigned int cpus)
{
	struct mm_config cfg;
	struct mm_host *mm = NULL;

	mm_config_init(&cfg, mib * SNP_MiB);
	cfg.x86_layout = true;   /* zones DMA, DMA32 (and their lowmem reserves), as x86-64 lays them out */
	cfg.nr_nodes = nodes;
	cfg.nr_cpus = cpus;
	KASSERT_EQ(mm_host_create(&cfg, &mm), 0);
	return mm;
}

/* Free pages (buddy + per-CPU lists) of a whole host. */
static uint64_t free_pages(const struct mm_host *mm)
{
	struct mm_counts c;

	KASSERT_EQ(mm_get_counts(mm, MM_NUMA_NO_NODE, &c), 0);
	return c.free + c.pcp;
}

static unsigned int patch_parked(const struct drift *d)
{
	unsigned int n = 0;

	for (unsigned int nid = 0; nid < d->nodes; nid++)
		n += kpatch_pool((int)nid, NULL, 0);
	return n;
}

static void drift_open(struct drift *d, uint64_t mib, unsigned int nodes, unsigned int cpus,
		       unsigned int max_held, uint64_t seed)
{
	struct snp_alloc_config cfg = {
		.strategy = SNP_ALLOC_SIEVE,
		.snp_enabled = true,
		.pool_cap = kpatch_pool_max(),
	};

	memset(d, 0, sizeof(*d));
	d->nodes = nodes;
	d->cpus = cpus;
	d->rng = seed;
	d->snp = true;
	d->core = new_host(mib, nodes, cpus);
	d->kp = new_host(mib, nodes, cpus);
	KASSERT_EQ(snp_alloc_configure(d->core, &cfg), 0);
	kshim_attach(d->kp);
	KASSERT_EQ(kpatch_vmemmap_init(), 0);
	kpatch_host_snp = true;
	KASSERT_EQ(kpatch_init(), 0);
	KASSERT(kpatch_shrinker_registered());
	d->free_start = free_pages(d->core);
	KASSERT_EQ(free_pages(d->kp), d->free_start);
	d->max_held = max_held;
	d->held = calloc(max_held, sizeof(*d->held));
	KASSERT(d->held);
}

/* Pages, blocks and parks of one call, the same on both sides, or the case ends. */
static void same_call(const struct drift *d, unsigned int cpu, long core_pfn, long kp_pfn)
{
	const struct kshim_rec *k = kshim_rec();
	struct snp_alloc_call c;
	unsigned int n;

	KASSERT_EQ(snp_alloc_last_call(d->core, &c), 0);
	if (core_pfn != kp_pfn || c.nr_taken != k->nr_taken || c.nr_freed != k->nr_freed ||
	    c.nr_set_aside != k->nr_parked) {
		ktap_log("call %llu on CPU %u: core returned %ld (took %u, freed %u, parked %u), "
			 "patch %ld (took %u, freed %u, parked %u)", (unsigned long long)d->step,
			 cpu, core_pfn, c.nr_taken, c.nr_freed, c.nr_set_aside, kp_pfn,
			 k->nr_taken, k->nr_freed, k->nr_parked);
		KASSERT_EQ(core_pfn, kp_pfn);
		KASSERT_EQ(c.nr_taken, k->nr_taken);
		KASSERT_EQ(c.nr_freed, k->nr_freed);
		KASSERT_EQ(c.nr_set_aside, k->nr_parked);
	}
	n = c.nr_taken < KSHIM_REC_MAX ? c.nr_taken : KSHIM_REC_MAX;
	for (unsigned int i = 0; i < n; i++) {
		KASSERT_EQ(c.taken[i], k->taken[i]);
		KASSERT_EQ(c.taken_order[i], k->taken_order[i]);
	}
	n = c.nr_freed < KSHIM_REC_MAX ? c.nr_freed : KSHIM_REC_MAX;
	for (unsigned int i = 0; i < n; i++)
		KASSERT_EQ(c.freed[i], k->freed[i]);
	n = c.nr_set_aside < KSHIM_REC_MAX ? c.nr_set_aside : KSHIM_REC_MAX;
	for (unsigned int i = 0; i < n; i++)
		KASSERT_EQ(c.set_aside[i], k->parked[i]);
}

/* One allocation on @cpu from @node on both sides; the pfn (kept in held[]) or -1. */
static long drift_alloc(struct drift *d, unsigned int cpu, int node)
{
	struct page *p = snp_safe_alloc_page_node(d->core, cpu, node, GFP_CORE);
	long core_pfn = p ? (long)mm_page_to_pfn(d->core, p) : KPATCH_NO_PFN;
	long kp_pfn;

	kshim_set_cpu(cpu);
	kshim_rec_reset();
	kp_pfn = kpatch_alloc(node, GFP_PATCH);
	d->step++;
	same_call(d, cpu, core_pfn, kp_pfn);
	if (core_pfn >= 0) {
		if (d->snp)
			KEXPECT(!snp_pfn_2m_aligned((snp_pfn_t)core_pfn));
		KASSERT(d->nr_held < d->max_held);
		d->held[d->nr_held++] = core_pfn;
	}
	return core_pfn;
}

/* Free held[@i] on @cpu on both sides. */
static void drift_free(struct drift *d, unsigned int cpu, unsigned int i)
{
	long pfn = d->held[i];

	d->held[i] = d->held[--d->nr_held];
	KASSERT_EQ(snp_safe_free_page(d->core, cpu, mm_pfn_to_page(d->core, (snp_pfn_t)pfn)), 0);
	kshim_set_cpu(cpu);
	kpatch_free((unsigned long)pfn);
}

/* Free pages, pages parked and order-1 blocks taken: the same on both sides. */
static void drift_check(const struct drift *d)
{
	struct snp_alloc_stats st;

	KASSERT_EQ(snp_alloc_get_stats(d->core, &st), 0);
	KASSERT_EQ(free_pages(d->core), free_pages(d->kp));
	KASSERT_EQ(st.set_aside, patch_parked(d));
	KASSERT_EQ(st.order1_broken, kshim_rec()->order1_total);
}

/*
 * Reclaim asks for @nr pages: the model's snp_safe_shrink() walks the nodes,
 * the patch's NUMA-aware shrinker is asked node by node as reclaim would.
 */
static uint64_t drift_shrink(struct drift *d, unsigned int cpu, uint64_t nr)
{
	int core_done = snp_safe_shrink(d->core, cpu, nr);
	uint64_t kp_done = 0;

	KASSERT(core_done >= 0);
	kshim_set_cpu(cpu);
	for (unsigned int nid = 0; nid < d->nodes && kp_done < nr; nid++) {
		unsigned long have = kpatch_shrink_count((int)nid);
		unsigned long got;

		KASSERT_EQ(have, kpatch_pool((int)nid, NULL, 0));
		got = kpatch_shrink_scan((int)nid, nr - kp_done);
		if (got == kpatch_shrink_stop())
			got = 0;
		kp_done += got;
	}
	KASSERT_EQ((uint64_t)core_done, kp_done);
	return kp_done;
}

/*
 * The end: every page handed out freed, snp_safe_alloc_exit() (the model:
 * snp_safe_release(), as at teardown) gives the pools back, and both hosts
 * have the free pages they started with.
 */
static void drift_close(struct drift *d)
{
	while (d->nr_held)
		drift_free(d, (unsigned int)(rnd(d) % d->cpus), d->nr_held - 1);
	drift_check(d);
	KASSERT(snp_safe_release(d->core, 0) >= 0);
	kshim_set_cpu(0);
	kpatch_exit();
	KEXPECT(!kpatch_shrinker_registered());
	KEXPECT_EQ(free_pages(d->core), d->free_start);
	KEXPECT_EQ(free_pages(d->kp), d->free_start);
	kpatch_vmemmap_fini();
	mm_host_destroy(d->core);
	mm_host_destroy(d->kp);
	free(d->held);
}

/* Read a generated file without its #line directives (which name its patch). */
static char *read_code(const char *name, size_t *len)
{
	char path[4096], line[4096];
	size_t n = 0, cap = 1 << 16;
	char *buf = malloc(cap);
	FILE *f;

	KASSERT(buf);
	snprintf(path, sizeof(path), "%s/%s", kpatch_gen_dir(), name);
	f = fopen(path, "r");
	if (!f) {
		ktap_log("cannot read %s", path);
		KASSERT(f);
	}
	while (fgets(line, sizeof(line), f)) {
		size_t l = strlen(line);

		if (!strncmp(line, "#line ", 6))
			continue;
		if (n + l + 1 > cap) {
			cap *= 2;
			buf = realloc(buf, cap);
			KASSERT(buf);
		}
		memcpy(buf + n, line, l);
		n += l;
	}
	fclose(f);
	buf[n] = '\0';
	*len = n;
	return buf;
}

/* The 7.2 series adds to sev.c exactly what the 6.12 one adds. */
static void test_series_add_the_same_code(void)
{
	size_t n612, n72, i = 0, line = 1;
	char *a = read_code("kpatch_sieve.c", &n612);
	char *b = read_code("kpatch_sieve-7.2.c", &n72);

	KEXPECT(n612 > 1000);
	while (i < n612 && i < n72 && a[i] == b[i])
		line += a[i++] == '\n';
	if (n612 != n72 || i != n612)
		ktap_log("6.12 and 7.2 differ from extracted line %zu", line);
	KEXPECT_EQ(n612, n72);
	KEXPECT_EQ(i, n612);
	free(a);
	free(b);
}

/* The model runs the patch's pool size by default, within its own bound. */
static void test_pool_max_is_the_model_default(void)
{
	KEXPECT_EQ(kpatch_pool_max(), SNP_SIEVE_POOL_DEFAULT);
	KEXPECT(kpatch_pool_max() <= SNP_SIEVE_POOL_MAX);
}

/*
 * A fresh host: the first order-0 page of each fresh block is 2MB-aligned,
 * so holding pages parks one in 512 until the pool is full; then each
 * aligned page meets a full pool and the order-1 method serves the call.
 */
static void test_fresh_host_fills_the_pool(void)
{
	enum { N = 30000 };
	struct drift d;

	drift_open(&d, 256, 1, 2, N, 1);
	for (unsigned int i = 0; i < N; i++) {
		KASSERT(drift_alloc(&d, i % 2, MM_NUMA_NO_NODE) >= 0);
		if (i % 1000 == 999)
			drift_check(&d);
	}
	drift_check(&d);
	KEXPECT_EQ(patch_parked(&d), kpatch_pool_max());
	KEXPECT(kshim_rec()->order1_total > 0);
	ktap_log("%u pages held: %u parked, %llu order-1 blocks taken", N, patch_parked(&d),
		 (unsigned long long)kshim_rec()->order1_total);
	drift_close(&d);
}

/* Seeded allocations and frees on four CPUs over two nodes. */
static void test_seeded_churn(void)
{
	enum { OPS = 60000, MAX_HELD = 40000 };
	struct drift d;

	drift_open(&d, 256, 2, 4, MAX_HELD, 22);
	for (unsigned int i = 0; i < OPS; i++) {
		unsigned int cpu = (unsigned int)(rnd(&d) % d.cpus);
		uint64_t r = rnd(&d) % 100;

		if (d.nr_held && (r < 40 || d.nr_held == MAX_HELD)) {
			drift_free(&d, cpu, (unsigned int)(rnd(&d) % d.nr_held));
		} else {
			int node = r < 90 ? MM_NUMA_NO_NODE : (int)(r % d.nodes);

			KASSERT(drift_alloc(&d, cpu, node) >= 0);
		}
		if (i % 5000 == 4999)
			drift_check(&d);
	}
	ktap_log("%llu allocations, %u held, %u parked, %llu order-1 blocks",
		 (unsigned long long)d.step, d.nr_held, patch_parked(&d),
		 (unsigned long long)kshim_rec()->order1_total);
	drift_close(&d);
}

/*
 * A full pool: park pool_max pages, then keep allocating with them parked;
 * every aligned page met after that goes back and the call takes an
 * order-1 block.
 */
static void test_full_pool_falls_back_to_order1(void)
{
	enum { N = 40000 };
	struct drift d;
	uint64_t o1;

	drift_open(&d, 512, 1, 1, N, 3);
	while (patch_parked(&d) < kpatch_pool_max())
		KASSERT(drift_alloc(&d, 0, MM_NUMA_NO_NODE) >= 0);
	drift_check(&d);
	o1 = kshim_rec()->order1_total;
	for (unsigned int i = 0; d.nr_held < N && i < 20000; i++)
		KASSERT(drift_alloc(&d, 0, MM_NUMA_NO_NODE) >= 0);
	drift_check(&d);
	KEXPECT(kshim_rec()->order1_total > o1);
	KEXPECT_EQ(patch_parked(&d), kpatch_pool_max());
	drift_close(&d);
}

/*
 * Memory exhausted on two nodes and CPUs: order-0 and order-1 fail, every
 * pool is given back and order-1 is tried again; then frees and more
 * allocations, whose pfns show the order the pools' pages were freed in.
 */
static void test_memory_exhausted_gives_back(void)
{
	enum { MAX_HELD = 20000 };
	unsigned int give_backs = 0, retries_ok = 0, failed = 0;
	struct drift d;

	drift_open(&d, 48, 2, 2, MAX_HELD, 5);
	for (unsigned int round = 0; round < 8; round++) {
		for (;;) {
			unsigned int before = patch_parked(&d);
			long pfn = drift_alloc(&d, (unsigned int)(d.step % d.cpus), MM_NUMA_NO_NODE);

			if (patch_parked(&d) < before) {
				give_backs++;
				retries_ok += pfn >= 0;
			}
			if (pfn < 0) {
				failed++;
				break;
			}
		}
		drift_check(&d);
		KEXPECT_EQ(patch_parked(&d), 0);
		/* Free half of what is held, at random, and go again. */
		for (unsigned int n = d.nr_held / 2; n; n--)
			drift_free(&d, (unsigned int)(rnd(&d) % d.cpus),
				   (unsigned int)(rnd(&d) % d.nr_held));
		drift_check(&d);
	}
	ktap_log("%u exhaustions, pools given back in %u calls, %u of which then got a page",
		 failed, give_backs, retries_ok);
	KEXPECT(give_backs >= failed);
	KEXPECT(retries_ok > 0);
	drift_close(&d);
}

/* The shrinker: count and scan against snp_safe_shrink(), then more calls. */
static void test_shrinker_scan(void)
{
	enum { N = 30000 };
	struct drift d;

	drift_open(&d, 256, 2, 2, N + 4000, 7);
	for (unsigned int i = 0; i < N; i++)
		KASSERT(drift_alloc(&d, i % 2, MM_NUMA_NO_NODE) >= 0);
	drift_check(&d);
	KASSERT(patch_parked(&d) > 8);
	KEXPECT_EQ(drift_shrink(&d, 1, 5), 5);
	drift_check(&d);
	for (unsigned int i = 0; i < 2000; i++)
		KASSERT(drift_alloc(&d, i % 2, MM_NUMA_NO_NODE) >= 0);
	drift_check(&d);
	KEXPECT(drift_shrink(&d, 0, UINT64_MAX) > 0);
	KEXPECT_EQ(patch_parked(&d), 0);
	drift_check(&d);
	for (unsigned int i = 0; i < 2000; i++)
		KASSERT(drift_alloc(&d, i % 2, MM_NUMA_NO_NODE) >= 0);
	drift_close(&d);
}

/*
 * snp_safe_alloc_exit() with pages parked and pages still handed out: it
 * gives the pools back (held pages are the callers'), and once those are
 * freed both hosts are back where they started.
 */
static void test_exit_gives_everything_back(void)
{
	enum { N = 20000 };
	struct drift d;

	drift_open(&d, 128, 2, 4, N, 9);
	for (unsigned int i = 0; i < N; i++)
		KASSERT(drift_alloc(&d, (unsigned int)(rnd(&d) % d.cpus), MM_NUMA_NO_NODE) >= 0);
	drift_check(&d);
	KASSERT(patch_parked(&d) > 0);
	drift_close(&d);
}

/* SNP off: the patch's plain zeroed page and the model's, the same pages (aligned ones too). */
static void test_snp_off(void)
{
	enum { N = 3000 };
	struct snp_alloc_config cfg;
	struct drift d;

	drift_open(&d, 64, 1, 2, N, 11);
	kpatch_exit();
	kpatch_host_snp = false;
	d.snp = false;
	KASSERT_EQ(kpatch_init(), 0);
	KEXPECT(!kpatch_shrinker_registered());
	KASSERT_EQ(snp_alloc_get_config(d.core, &cfg), 0);
	cfg.snp_enabled = false;
	KASSERT_EQ(snp_alloc_configure(d.core, &cfg), 0);
	for (unsigned int i = 0; i < N; i++)
		KASSERT(drift_alloc(&d, i % 2, MM_NUMA_NO_NODE) >= 0);
	KEXPECT_EQ(patch_parked(&d), 0);
	drift_close(&d);
	kpatch_host_snp = true;
}

static const struct ktap_case cases[] = {
	KTAP_CASE(test_series_add_the_same_code),
	KTAP_CASE(test_pool_max_is_the_model_default),
	KTAP_CASE(test_fresh_host_fills_the_pool),
	KTAP_CASE(test_seeded_churn),
	KTAP_CASE(test_full_pool_falls_back_to_order1),
	KTAP_CASE(test_memory_exhausted_gives_back),
	KTAP_CASE(test_shrinker_scan),
	KTAP_CASE(test_exit_gives_everything_back),
	KTAP_CASE(test_snp_off),
};

KTAP_MAIN("kpatch_drift", cases)
