// SPDX-License-Identifier: GPL-2.0
/*
 * snpsafe_kmod: module glue and the load-time self-test.
 *
 * The self-test prints KTAP to the kernel log (pr_info, no prefix, so the
 * lines read as KTAP once the console's timestamps are off):
 *   - no 2MB-aligned page from upstream or sieve in `iterations` calls each
 *     (default 65536; iterations=1000000 for the long run), taken in held
 *     batches of `batch` pages;
 *   - the same with one kthread bound to each online CPU, all allocating
 *     from the one sieve pool at once (its statistics must add up);
 *   - how many plain order-0 pages are 2MB-aligned right after boot and
 *     after the churn above, and what "free it and take another" gives;
 *   - ns per alloc+free of naive, upstream and sieve (median of batches,
 *     interleaved so drift hits all three alike) and the ratios to naive;
 *   - free order-1 buddy blocks before, during and after each run;
 *   - no leak: free pages (buddy plus per-CPU lists) before and after.
 * Timing numbers are only meaningful as ratios within one boot.
 */
#include <linux/atomic.h>
#include <linux/completion.h>
#include <linux/cpumask.h>
#include <linux/err.h>
#include <linux/kernel.h>
#include <linux/delay.h>
#include <linux/kthread.h>
#include <linux/ktime.h>
#include <linux/mm.h>
#include <linux/mmzone.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/nodemask.h>
#include <linux/percpu.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/sort.h>
#include <linux/vmstat.h>

#include "snpsafe_alloc.h"

/* ------------------------------------------------------------ parameters */

static char *strategy = "all";
module_param(strategy, charp, 0444);
MODULE_PARM_DESC(strategy,
		 "strategy the guarantee test drives: all (= upstream and sieve), naive, upstream, sieve; naive is expected to fail");

/* The 1M-iteration run is opt-in (iterations=1000000): module_init stays short. */
static unsigned long iterations = 65536;
module_param(iterations, ulong, 0444);
MODULE_PARM_DESC(iterations, "allocations per strategy in the guarantee test (default 65536)");

static unsigned long cpu_iterations = 16384;
module_param(cpu_iterations, ulong, 0444);
MODULE_PARM_DESC(cpu_iterations, "allocations per strategy per CPU in the all-CPUs test (default 16384)");

static int node = NUMA_NO_NODE;
module_param(node, int, 0444);
MODULE_PARM_DESC(node, "NUMA node to allocate on (default: the local node)");

static bool quick;
module_param(quick, bool, 0444);
MODULE_PARM_DESC(quick, "small counts, for load/unload loops (iterations 8192, fewer samples)");

static bool selftest = true;
module_param(selftest, bool, 0444);
MODULE_PARM_DESC(selftest, "run the self-test at load (default 1)");

static unsigned int batch = 1024;
module_param(batch, uint, 0444);
MODULE_PARM_DESC(batch, "pages held at once in the guarantee test (default 1024)");

static unsigned int sieve_pool = SNPSAFE_SIEVE_POOL_DEFAULT;
module_param(sieve_pool, uint, 0444);
MODULE_PARM_DESC(sieve_pool, "capacity of the sieve's pool of set-aside aligned pages (default 32, max 512)");

static unsigned int scan_pages = 32768;
module_param(scan_pages, uint, 0444);
MODULE_PARM_DESC(scan_pages, "plain pages held at once when counting aligned ones (default 32768)");

static unsigned int cost_batches = 401;
module_param(cost_batches, uint, 0444);
MODULE_PARM_DESC(cost_batches, "timed batches per strategy for the cost test (default 401)");

static unsigned int leak_tolerance = 512;
module_param(leak_tolerance, uint, 0444);
MODULE_PARM_DESC(leak_tolerance, "pages the free count may move by without calling it a leak (default 512)");

/* ------------------------------------------------------------------ KTAP */

static unsigned int ktap_n, ktap_passed, ktap_failed, ktap_skipped;

static void ktap_result(bool ok, const char *name)
{
	ktap_n++;
	if (ok)
		ktap_passed++;
	else
		ktap_failed++;
	pr_info("%s %u %s\n", ok ? "ok" : "not ok", ktap_n, name);
}

static void ktap_skip(const char *name, const char *why)
{
	ktap_n++;
	ktap_skipped++;
	pr_info("ok %u %s # SKIP %s\n", ktap_n, name, why);
}

/* --------------------------------------------------------- memory probes */

static int test_nid;
static struct snpsafe_sieve sieve;
static bool shrinker_ok;

/*
 * Pages that are free: NR_FREE_PAGES (buddy lists; the per-CPU deltas
 * folded in) plus the pages parked on the per-CPU free lists, which the
 * buddy counter does not include.  drain_all_pages() is not exported to
 * modules, so rather than draining the lists we count them: the sum is
 * exact up to what the rest of the kernel allocates meanwhile.
 */
static unsigned long free_pages_total(unsigned long *pcp_out)
{
	unsigned long free = 0, pcp = 0;
	int nid, z, cpu;

	for_each_online_node(nid) {
		pg_data_t *pgdat = NODE_DATA(nid);

		for (z = 0; z < MAX_NR_ZONES; z++) {
			struct zone *zone = &pgdat->node_zones[z];

			if (!populated_zone(zone))
				continue;
			free += zone_page_state_snapshot(zone, NR_FREE_PAGES);
			for_each_online_cpu(cpu)
				pcp += READ_ONCE(per_cpu_ptr(zone->per_cpu_pageset,
							     cpu)->count);
		}
	}
	if (pcp_out)
		*pcp_out = pcp;
	return free + pcp;
}

/*
 * Free order-1 blocks on the buddy lists of the test node (all zones).
 * Read without zone->lock: a snapshot, good to a few blocks.  Order-1
 * blocks cached on per-CPU lists are not included.
 */
static unsigned long order1_free_blocks(void)
{
	pg_data_t *pgdat = NODE_DATA(test_nid);
	unsigned long n = 0;
	int z;

	for (z = 0; z < MAX_NR_ZONES; z++) {
		struct zone *zone = &pgdat->node_zones[z];

		if (populated_zone(zone))
			n += READ_ONCE(zone->free_area[1].nr_free);
	}
	return n;
}

static void free_page_array(struct page **pages, unsigned long n)
{
	unsigned long i;

	for (i = 0; i < n; i++)
		__free_page(pages[i]);
}

static void print_fixed3(const char *what, u64 milli)
{
	pr_info("# %s %llu.%03llu\n", what, milli / 1000, milli % 1000);
}

/* --------------------------------------------- aligned plain pages: count */

static unsigned long aligned_seen_plain;

#define PLAIN_ASSERT_MIN	16384U

static void test_plain_aligned(const char *name, const char *when)
{
	unsigned long i, n = 0, aligned = 0;
	struct page **pages;

	pages = kvmalloc_array(scan_pages, sizeof(*pages), GFP_KERNEL);
	if (!pages) {
		ktap_skip(name, "no memory for the page array");
		return;
	}
	for (i = 0; i < scan_pages; i++) {
		struct page *p = alloc_pages_node(test_nid, GFP_KERNEL, 0);

		if (!p)
			break;
		if (snpsafe_page_2m_aligned(p))
			aligned++;
		pages[n++] = p;
	}
	free_page_array(pages, n);
	kvfree(pages);
	aligned_seen_plain += aligned;

	pr_info("# plain alloc_page %s: %lu of %lu held pages 2MB-aligned (%lu ppm; one in 512 is 1953 ppm)\n",
		when, aligned, n, n ? aligned * 1000000 / n : 0);
	/*
	 * Holding PLAIN_ASSERT_MIN pages spans 32 2MB regions' worth: a plain
	 * allocator that can hand out an aligned page at all does here.  Fewer
	 * (quick mode) is only reported; naive_does_return_aligned_pages sums.
	 */
	if (scan_pages >= PLAIN_ASSERT_MIN)
		ktap_result(n == scan_pages && aligned > 0, name);
}

/**
 * plain_hold_until_aligned() - hold plain pages until one is 2MB-aligned
 * @cap: most pages to hold
 *
 * Quick mode's two scans hold 4096 pages each, fewer than the per-CPU lists
 * alone can hold once khugepaged has raised min_free_kbytes (pcp high is
 * about 6,900 pages on the 1 GiB guest), so both can be served from
 * fragments and meet no aligned page.  Holding on until the allocator has
 * to split fresh pageblocks settles it: a split order-9 block hands out its
 * first, 2MB-aligned page.
 *
 * Return: pages held when the first aligned one came, or 0 if none did.
 */
static unsigned long plain_hold_until_aligned(unsigned long cap)
{
	unsigned long n = 0, found = 0;
	struct page **held;

	held = kvmalloc_array(cap, sizeof(*held), GFP_KERNEL);
	if (!held)
		return 0;
	while (n < cap) {
		struct page *p = alloc_pages_node(test_nid, GFP_KERNEL, 0);

		if (!p)
			break;
		held[n++] = p;
		if (snpsafe_page_2m_aligned(p)) {
			found = n;
			break;
		}
	}
	free_page_array(held, n);
	kvfree(held);
	return found;
}

/*
 * Why the sieve does not free an aligned page and retry: take plain pages
 * until one is aligned, then free it and allocate again, a few times, and
 * count how often the very same page comes back.
 */
static void test_ping_pong(void)
{
	const char *name = "free_and_retry_ping_pong";
	unsigned int limit = quick ? 4096 : 16384, rounds = 100, r, same = 0;
	unsigned long n = 0;
	struct page **held, *p = NULL;

	held = kvmalloc_array(limit, sizeof(*held), GFP_KERNEL);
	if (!held) {
		ktap_skip(name, "no memory for the page array");
		return;
	}
	while (n < limit) {
		p = alloc_pages_node(test_nid, GFP_KERNEL, 0);
		if (!p || snpsafe_page_2m_aligned(p))
			break;
		held[n++] = p;
	}
	if (!p || !snpsafe_page_2m_aligned(p)) {
		if (p)
			__free_page(p);
		free_page_array(held, n);
		kvfree(held);
		ktap_skip(name, "no aligned page met");
		return;
	}
	for (r = 0; r < rounds; r++) {
		struct page *q;

		__free_page(p);
		q = alloc_pages_node(test_nid, GFP_KERNEL, 0);
		if (!q) {
			p = NULL;
			break;
		}
		if (q == p)
			same++;
		p = q;
	}
	if (p)
		__free_page(p);
	free_page_array(held, n);
	kvfree(held);
	pr_info("# aligned page found after %lu plain pages; free-then-alloc returned that same page %u of %u times\n",
		n, same, rounds);
	/*
	 * The property the sieve is built on: an order-0 free goes to the head
	 * of this CPU's list and the next order-0 allocation pops that head
	 * (mm/page_alloc.c, free_unref_page / rmqueue_pcplist).  An interrupt
	 * or a migration may steal a round now and then, not most of them.
	 */
	ktap_result(same * 2 > rounds, name);
}

/* ------------------------------------------------------ guarantee + leak */

static unsigned long order1_taken(enum snpsafe_strategy s, unsigned long calls,
				  const struct snp_core_stats *st)
{
	switch (s) {
	case SNPSAFE_UPSTREAM:
		return calls;
	case SNPSAFE_SIEVE:
		return st->order1_broken;
	default:
		return 0;
	}
}

static void test_guarantee(enum snpsafe_strategy s)
{
	const char *sname = snpsafe_strategy_name(s);
	unsigned long done = 0, aligned = 0, failed = 0, o1_min, o1_before, o1_after;
	unsigned long free_before, free_after, pcp_before, pcp_after, given = 0;
	struct snp_core_stats st0, st;
	struct page **pages;
	char name[64];
	long delta;

	snpsafe_sieve_stats(&sieve, &st0);
	snprintf(name, sizeof(name), "guarantee_%s_never_2mb_aligned", sname);
	pages = kmalloc_array(batch, sizeof(*pages), GFP_KERNEL);
	if (!pages) {
		ktap_result(false, name);
		return;
	}

	free_before = free_pages_total(&pcp_before);
	o1_before = order1_free_blocks();
	o1_min = o1_before;
	while (done < iterations && !failed) {
		unsigned long i, n = min_t(unsigned long, batch, iterations - done);

		for (i = 0; i < n; i++) {
			struct page *p = snpsafe_alloc_page(s, &sieve, test_nid,
							    GFP_KERNEL | __GFP_ZERO);

			if (!p) {
				failed++;
				break;
			}
			if (snpsafe_page_2m_aligned(p))
				aligned++;
			pages[i] = p;
		}
		o1_min = min(o1_min, order1_free_blocks());
		free_page_array(pages, i);
		done += i;
		cond_resched();
	}
	kfree(pages);
	snpsafe_sieve_stats(&sieve, &st);
	st.sieve_calls -= st0.sieve_calls;
	st.sieve_hits -= st0.sieve_hits;
	st.fallbacks -= st0.fallbacks;
	st.order1_broken -= st0.order1_broken;
	if (s == SNPSAFE_SIEVE)
		given = snpsafe_sieve_give_back(&sieve, ULONG_MAX);
	o1_after = order1_free_blocks();
	free_after = free_pages_total(&pcp_after);

	pr_info("# %s: %lu allocations in batches of %u, %lu 2MB-aligned, %lu failed\n",
		sname, done, batch, aligned, failed);
	pr_info("# %s: order-1 blocks taken from the allocator: %lu\n", sname,
		(unsigned long)order1_taken(s, done, &st));
	pr_info("# %s: free order-1 blocks on node %d: before %lu, lowest while holding %lu, after %lu\n",
		sname, test_nid, o1_before, o1_min, o1_after);
	if (s == SNPSAFE_SIEVE)
		pr_info("# sieve: order-0 hits %lu, parked %lu (pool high water %u of %u per node), order-1 fallbacks %lu, given back at end %lu\n",
			(unsigned long)st.sieve_hits,
			(unsigned long)(st.pages_taken - st0.pages_taken - st.sieve_hits -
					2 * st.order1_broken),
			(unsigned int)st.set_aside_peak, sieve.cap,
			(unsigned long)st.fallbacks, given);
	ktap_result(aligned == 0 && failed == 0 && done == iterations, name);

	snprintf(name, sizeof(name), "no_leak_%s", sname);
	delta = (long)free_before - (long)free_after;
	pr_info("# %s: free pages (buddy + per-CPU lists) before %lu (pcp %lu), after %lu (pcp %lu), change %ld, tolerance %u\n",
		sname, free_before, pcp_before, free_after, pcp_after, -delta,
		leak_tolerance);
	ktap_result(abs(delta) <= (long)leak_tolerance, name);
}

/* ------------------------------------------------------------------ cost */

#define COST_BATCH	64

static int cmp_u64(const void *a, const void *b)
{
	u64 x = *(const u64 *)a, y = *(const u64 *)b;

	return x < y ? -1 : x > y;
}

/* One timed batch: COST_BATCH allocations, then COST_BATCH frees.  0 on failure. */
static u64 cost_one_batch(enum snpsafe_strategy s, gfp_t gfp,
			  struct page **pages, unsigned long *aligned)
{
	u64 t0, t1;
	int i, n;

	t0 = ktime_get_ns();
	for (n = 0; n < COST_BATCH; n++) {
		pages[n] = snpsafe_alloc_page(s, &sieve, test_nid, gfp);
		if (!pages[n])
			break;
	}
	for (i = 0; i < n; i++) {
		if (snpsafe_page_2m_aligned(pages[i]))	/* a pfn test: noise */
			(*aligned)++;
		__free_page(pages[i]);
	}
	t1 = ktime_get_ns();
	return n == COST_BATCH ? t1 - t0 : 0;
}

/*
 * Six series, timed in interleaved rounds so that drift hits all alike
 * (one batch of each per round, the starting series rotating):
 * the three strategies with __GFP_ZERO (as KVM's callers ask) and without.
 * With init_on_alloc on (Debian's default) the allocator clears every page
 * anyway and the two sets match; boot with init_on_alloc=0 to see the
 * allocator's own cost.  Timings are only reported (tests never assert
 * them); the KTAP results assert what the timed loops can: upstream and
 * sieve handed out no aligned page in them, and every batch completed.
 */
static void test_cost(void)
{
	static const struct {
		enum snpsafe_strategy s;
		gfp_t gfp;
		const char *how;
	} series[] = {
		{ SNPSAFE_NAIVE,    GFP_KERNEL | __GFP_ZERO, "__GFP_ZERO" },
		{ SNPSAFE_UPSTREAM, GFP_KERNEL | __GFP_ZERO, "__GFP_ZERO" },
		{ SNPSAFE_SIEVE,    GFP_KERNEL | __GFP_ZERO, "__GFP_ZERO" },
		{ SNPSAFE_NAIVE,    GFP_KERNEL,              "no __GFP_ZERO" },
		{ SNPSAFE_UPSTREAM, GFP_KERNEL,              "no __GFP_ZERO" },
		{ SNPSAFE_SIEVE,    GFP_KERNEL,              "no __GFP_ZERO" },
	};
	u64 *samples[ARRAY_SIZE(series)] = { NULL };
	u64 med10[ARRAY_SIZE(series)];	/* tenths of ns per alloc+free */
	unsigned long aligned[ARRAY_SIZE(series)] = { 0 };
	struct page *pages[COST_BATCH];
	unsigned int nb = cost_batches ? cost_batches : 1, b, j, k;
	bool failed = false;
	char name[48];

	for (k = 0; k < ARRAY_SIZE(series); k++) {
		samples[k] = kvmalloc_array(nb, sizeof(u64), GFP_KERNEL);
		if (!samples[k])
			failed = true;
	}
	if (failed)
		goto out;

	pr_info("# init_on_alloc is %s\n", want_init_on_alloc(GFP_KERNEL) ?
		"on: every page is cleared at allocation, __GFP_ZERO or not" : "off");
	/* Warm up, then one batch of each series per round. */
	for (k = 0; k < ARRAY_SIZE(series); k++)
		cost_one_batch(series[k].s, series[k].gfp, pages, &aligned[k]);
	for (b = 0; b < nb && !failed; b++) {
		/* Rotate who goes first, so no series always follows another. */
		for (j = 0; j < ARRAY_SIZE(series); j++) {
			unsigned int k2 = (b + j) % ARRAY_SIZE(series);
			u64 t = cost_one_batch(series[k2].s, series[k2].gfp, pages,
					       &aligned[k2]);

			if (!t)
				failed = true;
			samples[k2][b] = t;
		}
		if ((b & 15) == 15)
			cond_resched();
	}
	snpsafe_sieve_give_back(&sieve, ULONG_MAX);
	if (failed)
		goto out;

	for (k = 0; k < ARRAY_SIZE(series); k++) {
		sort(samples[k], nb, sizeof(u64), cmp_u64, NULL);
		med10[k] = div_u64(samples[k][nb / 2] * 10, COST_BATCH);
	}
	for (k = 0; k < ARRAY_SIZE(series); k++) {
		unsigned int base = k < 3 ? 0 : 3;
		u64 ratio = med10[base] ? div64_u64(med10[k] * 1000, med10[base]) : 0;

		pr_info("# cost %s %s: %llu.%llu ns per alloc+free, ratio to naive %llu.%03llu (median of %u batches of %d)\n",
			snpsafe_strategy_name(series[k].s), series[k].how,
			med10[k] / 10, med10[k] % 10, ratio / 1000, ratio % 1000,
			nb, COST_BATCH);
	}
	if (med10[2])
		print_fixed3("cost upstream / sieve, __GFP_ZERO:",
			     div64_u64(med10[1] * 1000, med10[2]));
out:
	pr_info("# cost loops: 2MB-aligned pages handed out: naive %lu, upstream %lu, sieve %lu\n",
		aligned[0] + aligned[3], aligned[1] + aligned[4], aligned[2] + aligned[5]);
	for (k = 1; k < 3; k++) {
		snprintf(name, sizeof(name), "cost_loop_%s_never_2mb_aligned",
			 snpsafe_strategy_name(series[k].s));
		ktap_result(!failed && !aligned[k] && !aligned[k + 3], name);
	}
	for (k = 0; k < ARRAY_SIZE(series); k++)
		kvfree(samples[k]);
}

/* ---------------------------------------------------- sieve: pool full */

/*
 * Fill the pool (with any pages: the pool does not look at them), then
 * n sieve calls, holding every page: a full pool parks nothing more, so
 * an unaligned order-0 page is still handed out the order-0 way and each
 * aligned one is freed and the call takes the order-1 fallback (about one
 * held page in 512 is aligned, so n = 65,536 meets some; the freed one
 * is back at the head of this CPU's list, so it comes again).  The pool must
 * stay full, no page may be aligned, and every call is a hit or a fallback.
 * Until the core followed the kernel patch's loop, a full pool sent every
 * call to the order-1 method.
 */
static void test_sieve_pool_full(void)
{
	const char *name = "sieve_pool_full_falls_back_to_order1";
	unsigned long n = quick ? 4096 : 65536, i, aligned = 0, got = 0;
	unsigned long full, hits;
	struct snp_core_stats st0, st;
	struct page **pages;

	snpsafe_sieve_give_back(&sieve, ULONG_MAX);
	while (snpsafe_sieve_count(&sieve) < sieve.cap) {
		struct page *p = alloc_pages_node(test_nid, GFP_KERNEL, 0);

		if (!p || !snpsafe_sieve_park(&sieve, p)) {
			if (p)
				__free_page(p);
			break;
		}
	}
	snpsafe_sieve_stats(&sieve, &st0);
	pages = kvmalloc_array(n, sizeof(*pages), GFP_KERNEL);
	if (!pages || snpsafe_sieve_count(&sieve) != sieve.cap) {
		kvfree(pages);
		snpsafe_sieve_give_back(&sieve, ULONG_MAX);
		ktap_result(false, name);
		return;
	}
	for (i = 0; i < n; i++) {
		struct page *p = snpsafe_alloc_page(SNPSAFE_SIEVE, &sieve, test_nid,
						    GFP_KERNEL | __GFP_ZERO);

		if (!p)
			break;
		if (snpsafe_page_2m_aligned(p))
			aligned++;
		pages[got++] = p;
	}
	snpsafe_sieve_stats(&sieve, &st);
	full = st.fallbacks - st0.fallbacks;
	hits = st.sieve_hits - st0.sieve_hits;
	free_page_array(pages, got);
	kvfree(pages);
	pr_info("# sieve with a full pool (%u pages): %lu of %lu held allocations made, %lu 2MB-aligned, %lu order-0 hits, %lu order-1 fallbacks, pool %u after\n",
		sieve.cap, got, n, aligned, hits, full, snpsafe_sieve_count(&sieve));
	/* As in test_plain_aligned(): fewer than PLAIN_ASSERT_MIN pages may meet no aligned one. */
	ktap_result(got == n && aligned == 0 && hits + full == n &&
		    (full > 0 || n < PLAIN_ASSERT_MIN) &&
		    snpsafe_sieve_count(&sieve) == sieve.cap &&
		    st.set_aside_returned == st0.set_aside_returned, name);
	snpsafe_sieve_give_back(&sieve, ULONG_MAX);
}

/* -------------------------------------------------------------- shrinker */

static void test_shrinker(void)
{
	const char *name = "sieve_pool_given_back_under_pressure";
	unsigned int want = min_t(unsigned int, 8, sieve.cap), n = 0, left;
	unsigned long f1, f2;

	if (!shrinker_ok) {
		ktap_result(false, name);
		return;
	}
	if (!want) {
		ktap_skip(name, "sieve_pool=0");
		return;
	}
	snpsafe_sieve_give_back(&sieve, ULONG_MAX);
	/* The pool takes any page; fill it with ordinary ones. */
	while (n < want) {
		struct page *p = alloc_pages_node(test_nid, GFP_KERNEL, 0);

		if (!p)
			break;
		if (!snpsafe_sieve_park(&sieve, p)) {
			__free_page(p);
			break;
		}
		n++;
	}
	f1 = snpsafe_sieve_shrink_for_test(3);
	left = snpsafe_sieve_count(&sieve);
	f2 = snpsafe_sieve_shrink_for_test(ULONG_MAX);
	pr_info("# shrinker: parked %u, scan(3) gave back %lu leaving %u, scan(all) gave back %lu leaving %u\n",
		n, f1, left, f2, snpsafe_sieve_count(&sieve));
	ktap_result(n == want && f1 == min(3U, n) && left == n - f1 &&
		    f2 == left && snpsafe_sieve_count(&sieve) == 0, name);
}

/* ------------------------------------------------- all CPUs at once */

struct cpu_worker {
	struct completion done;
	unsigned int cpu;
	u64 start_ns, end_ns;
	unsigned long sieve_calls, calls, aligned, failed, off_cpu;
};

static atomic_t workers_ready;
static unsigned int workers_total;

/* One held batch of @n pages of strategy @s; false on a failed allocation. */
static bool cpu_worker_batch(struct cpu_worker *w, enum snpsafe_strategy s,
			     struct page **pages, unsigned long n)
{
	unsigned long i;
	bool ok = true;

	for (i = 0; i < n; i++) {
		pages[i] = snpsafe_alloc_page(s, &sieve, test_nid,
					      GFP_KERNEL | __GFP_ZERO);
		if (raw_smp_processor_id() != w->cpu)
			w->off_cpu++;
		if (!pages[i]) {
			ok = false;
			break;
		}
		w->calls++;
		if (s == SNPSAFE_SIEVE)
			w->sieve_calls++;
		if (snpsafe_page_2m_aligned(pages[i]))
			w->aligned++;
	}
	free_page_array(pages, i);
	return ok;
}

/*
 * One CPU's share: wait (bounded) until every worker has started, so that
 * the CPUs really allocate at once, then sieve and upstream allocations in
 * held batches.  The thread is bound to its CPU, so the per-CPU free list
 * it meets is that CPU's own.
 */
static int cpu_worker_fn(void *arg)
{
	static const enum snpsafe_strategy strat[] = {
		SNPSAFE_SIEVE, SNPSAFE_UPSTREAM,
	};
	struct cpu_worker *w = arg;
	struct page **pages;
	unsigned int k, wait;	/* wait: up to 10000 sleeps of 1-2 ms */

	pages = kmalloc_array(batch, sizeof(*pages), GFP_KERNEL);
	atomic_inc(&workers_ready);
	for (wait = 0; atomic_read(&workers_ready) < workers_total && wait < 10000; wait++)
		usleep_range(1000, 2000);
	w->start_ns = ktime_get_ns();
	for (k = 0; pages && k < ARRAY_SIZE(strat) && !w->failed; k++) {
		unsigned long done = 0;

		while (done < cpu_iterations) {
			unsigned long n = min_t(unsigned long, batch,
						cpu_iterations - done);

			if (!cpu_worker_batch(w, strat[k], pages, n)) {
				w->failed++;
				break;
			}
			done += n;
			cond_resched();
		}
	}
	w->end_ns = ktime_get_ns();
	if (!pages)
		w->failed++;
	kfree(pages);
	kthread_complete_and_exit(&w->done, 0);
}

/* Start one bound worker per online CPU; the number started. */
static unsigned int cpu_workers_start(struct cpu_worker *w, unsigned int nr)
{
	unsigned int i = 0;
	int cpu;

	atomic_set(&workers_ready, 0);
	workers_total = nr;
	for_each_online_cpu(cpu) {
		struct task_struct *t;

		if (i == nr)
			break;
		w[i].cpu = cpu;
		init_completion(&w[i].done);
		t = kthread_create_on_node(cpu_worker_fn, &w[i], cpu_to_node(cpu),
					   "snpsafe/%d", cpu);
		if (IS_ERR(t))
			break;
		kthread_bind(t, cpu);
		wake_up_process(t);
		i++;
	}
	return i;
}

/*
 * Every online CPU allocates from upstream and from the one shared sieve
 * pool at the same time.  Asserts: no aligned page, no failure, each
 * worker stayed on its CPU, their run times overlapped, and the sieve's
 * statistics (per-CPU copies, summed once the workers are done) add up to
 * exactly the calls made.
 */
static void test_all_cpus(void)
{
	const char *name = "all_cpus_at_once_never_2mb_aligned";
	const char *sname = "all_cpus_sieve_stats_add_up";
	unsigned int nr = num_online_cpus(), started, i;
	unsigned long calls = 0, sieve_calls = 0, aligned = 0, failed = 0, off = 0;
	unsigned long outcomes;
	struct snp_core_stats st0, st;
	u64 last_start = 0, first_end = U64_MAX;
	struct cpu_worker *w;
	bool ok;

	if (nr < 2) {
		ktap_skip(name, "one CPU online");
		ktap_skip(sname, "one CPU online");
		return;
	}
	w = kcalloc(nr, sizeof(*w), GFP_KERNEL);
	if (!w) {
		ktap_result(false, name);
		ktap_result(false, sname);
		return;
	}
	snpsafe_sieve_stats(&sieve, &st0);
	started = cpu_workers_start(w, nr);
	for (i = 0; i < started; i++) {
		wait_for_completion(&w[i].done);
		calls += w[i].calls;
		sieve_calls += w[i].sieve_calls;
		aligned += w[i].aligned;
		failed += w[i].failed;
		off += w[i].off_cpu;
		last_start = max(last_start, w[i].start_ns);
		first_end = min(first_end, w[i].end_ns);
		pr_info("# cpu %u: %lu allocations (sieve %lu), %lu aligned, %lu failed, %lu off its CPU, %llu ms\n",
			w[i].cpu, w[i].calls, w[i].sieve_calls, w[i].aligned,
			w[i].failed, w[i].off_cpu,
			div_u64(w[i].end_ns - w[i].start_ns, NSEC_PER_MSEC));
	}
	kfree(w);
	snpsafe_sieve_stats(&sieve, &st);
	snpsafe_sieve_give_back(&sieve, ULONG_MAX);
	ok = started == nr && calls == 2 * nr * cpu_iterations && !aligned &&
	     !failed && !off && last_start < first_end;
	pr_info("# all CPUs: %u of %u workers, %lu allocations, %lu aligned, %lu failed, %lu off-CPU, runs overlapped %s\n",
		started, nr, calls, aligned, failed, off,
		last_start < first_end ? "yes" : "no");
	ktap_result(ok, name);
	outcomes = (st.sieve_hits - st0.sieve_hits) +
		   (st.fallbacks - st0.fallbacks);
	pr_info("# all CPUs sieve: calls %llu counted, %lu made, outcomes %lu, pool high water %llu\n",
		st.sieve_calls - st0.sieve_calls, sieve_calls, outcomes,
		st.set_aside_peak);
	ktap_result(st.sieve_calls - st0.sieve_calls == sieve_calls &&
		    outcomes == sieve_calls, sname);
}

/* ------------------------------------------------------------------ main */

static void run_selftest(void)
{
	bool guar[SNPSAFE_NR_STRATEGIES] = { false };
	unsigned long free_start, free_end, pcp;
	unsigned int plan = 0;
	enum snpsafe_strategy one;
	long delta;
	int k;

	if (sysfs_streq(strategy, "all")) {
		guar[SNPSAFE_UPSTREAM] = true;
		guar[SNPSAFE_SIEVE] = true;
	} else if (!snpsafe_strategy_parse(strategy, &one)) {
		guar[one] = true;
	} else {
		pr_warn("snpsafe: unknown strategy '%s', testing all\n", strategy);
		guar[SNPSAFE_UPSTREAM] = true;
		guar[SNPSAFE_SIEVE] = true;
	}
	for (k = 0; k < SNPSAFE_NR_STRATEGIES; k++)
		plan += guar[k] ? 2 : 0;
	/*
	 * plain scans (asserted when big enough), ping-pong, naive, cost,
	 * pool full, shrinker, all CPUs (2), whole-run leak
	 */
	plan += (scan_pages >= PLAIN_ASSERT_MIN ? 2 : 0) + 1 + 1 + 2 + 1 + 1 + 2 + 1;

	free_start = free_pages_total(&pcp);
	pr_info("KTAP version 1\n");
	pr_info("# snpsafe_kmod self-test: node %d, iterations %lu, batch %u, sieve pool %u%s\n",
		test_nid, iterations, batch, sieve.cap, quick ? ", quick" : "");
	pr_info("1..%u\n", plan);

	test_plain_aligned("plain_aligned_after_boot", "right after boot");
	test_ping_pong();
	for (k = 0; k < SNPSAFE_NR_STRATEGIES; k++)
		if (guar[k])
			test_guarantee(k);
	test_plain_aligned("plain_aligned_after_churn", "after the churn");
	/*
	 * The guarantee tests are only worth something if plain pages can be
	 * aligned at all on this machine: check that the detector fired.
	 */
	pr_info("# plain pages seen 2MB-aligned in the two scans: %lu\n",
		aligned_seen_plain);
	if (!aligned_seen_plain) {
		unsigned long took = plain_hold_until_aligned(4 * PLAIN_ASSERT_MIN);

		pr_info("# no aligned page in the scans; holding more: %s after %lu pages\n",
			took ? "aligned" : "none", took);
		aligned_seen_plain += took ? 1 : 0;
	}
	ktap_result(aligned_seen_plain > 0, "naive_does_return_aligned_pages");
	test_cost();
	test_sieve_pool_full();
	test_shrinker();
	test_all_cpus();

	snpsafe_sieve_give_back(&sieve, ULONG_MAX);
	free_end = free_pages_total(NULL);
	delta = (long)free_start - (long)free_end;
	pr_info("# whole run: free pages before %lu, after %lu, change %ld, tolerance %u\n",
		free_start, free_end, -delta, leak_tolerance);
	ktap_result(abs(delta) <= (long)leak_tolerance, "no_leak_whole_run");
	pr_info("# snpsafe: %u passed, %u failed, %u skipped\n",
		ktap_passed, ktap_failed, ktap_skipped);
}

static int __init snpsafe_init(void)
{
	int ret;

	test_nid = node == NUMA_NO_NODE ? numa_node_id() : node;
	if (test_nid < 0 || test_nid >= MAX_NUMNODES || !node_online(test_nid)) {
		pr_err("snpsafe: node %d is not online\n", node);
		return -EINVAL;
	}
	if (quick) {
		iterations = min(iterations, 8192UL);
		cpu_iterations = min(cpu_iterations, 2048UL);
		scan_pages = min(scan_pages, 4096U);
		cost_batches = min(cost_batches, 15U);
	}
	if (!batch)
		batch = 1;

	ret = snpsafe_sieve_init(&sieve, sieve_pool);
	if (ret)
		return ret;
	shrinker_ok = snpsafe_sieve_shrinker_register(&sieve) == 0;
	if (selftest)
		run_selftest();
	return 0;
}

static void __exit snpsafe_exit(void)
{
	snpsafe_sieve_shrinker_unregister();
	snpsafe_sieve_destroy(&sieve);
}

module_init(snpsafe_init);
module_exit(snpsafe_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("snpsafe: SNP-safe page allocation strategies (naive, upstream, sieve) with a KTAP self-test");
MODULE_AUTHOR("snpsafe project");
