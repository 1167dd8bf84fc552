// SPDX-License-Identifier: MIT
/*
 * test_mm_age_watch.c - the ageing watch's ager does (src/mm/mm_age_watch.c,
 * watch/workload.c age_round()): each allocation's order and migratetype,
 * the share kept, determinism, the CPU setting.
 */
#include "mm_util.h"

#include <string.h>

/* An x86-64 host as the kernel lays it out, with the kernel's pcp sizes. */
static struct mm_host *host(uint64_t mib, unsigned int cpus, enum mm_kernel k)
{
	struct mm_config cfg;
	struct mm_host *mm = NULL;

	mm_config_init(&cfg, mib * SNP_MiB);
	cfg.nr_cpus = cpus;
	cfg.x86_layout = true;
	cfg.kernel = k;
	KASSERT_EQ(mm_host_create(&cfg, &mm), 0);
	return mm;
}

static struct mm_age_watch *begin(struct mm_host *mm, uint64_t seed, unsigned int rounds,
				  enum mm_ager_cpu cpu)
{
	struct mm_age_watch_config cfg;
	struct mm_age_watch *w = NULL;

	mm_age_watch_config_init(&cfg, seed, rounds);
	cfg.cpu = cpu;
	KASSERT_EQ(mm_age_watch_begin(mm, &cfg, &w), 0);
	return w;
}

/* The caches' sizes give the watched guests' /proc/slabinfo geometry (2 CPUs, both kernels). */
static void test_slab_geometry(void)
{
	static const struct { unsigned int size, order, objects; } c[] = {
		{ 192, 0, 21 },    /* dentry */
		{ 776, 2, 21 },    /* shmem_inode_cache */
		{ 2048, 3, 16 },   /* kmalloc-2k */
	};

	for (unsigned int k = 0; k < MM_NR_KERNELS; k++)
		for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
			struct mm_slub_geometry g;

			KASSERT_EQ(mm_slub_geometry((enum mm_kernel)k, c[i].size, 8, 2, &g), 0);
			KEXPECT_EQ(g.order, c[i].order);
			KEXPECT_EQ(g.objects, c[i].objects);
		}
}

/*
 * One round's allocations, by order and migratetype: page cache and
 * anonymous pages order-0 MOVABLE (as many as it made), 65 pipe pages
 * order-0 UNMOVABLE (j = 0, 62, ..., 3968), dentry slabs order-0
 * RECLAIMABLE, shmem inode slabs order-2 and skb heads' kmalloc-2k slabs
 * order-3 UNMOVABLE, and nothing else.
 */
static void test_round_migratetypes(void)
{
	uint64_t before[MM_NR_ORDERS][MM_NR_MIGRATETYPES], after[MM_NR_ORDERS][MM_NR_MIGRATETYPES];
	struct mm_host *mm = host(1024, 2, MM_KERNEL_6_12);
	struct mm_age_watch *w = begin(mm, 2, 8, MM_AGER_CPU_ROUND);
	struct mm_age_watch_stats st;
	uint64_t d[MM_NR_ORDERS][MM_NR_MIGRATETYPES];

	KASSERT_EQ(mm_alloc_events(mm, before), 0);
	KASSERT_EQ(mm_age_watch_round(mm, w), 0);
	KASSERT_EQ(mm_alloc_events(mm, after), 0);
	KASSERT_EQ(mm_age_watch_stats(w, &st), 0);
	for (unsigned int o = 0; o < MM_NR_ORDERS; o++)
		for (unsigned int m = 0; m < MM_NR_MIGRATETYPES; m++)
			d[o][m] = after[o][m] - before[o][m];
	KEXPECT_EQ(d[0][MM_MT_MOVABLE], st.made);
	/* make = min(keep * 2.5, 30% of MemTotal) = 2.5 x 45% / 8 of MemTotal */
	KEXPECT(st.made >= st.mem_total * 45 / 100 / 8 * 5 / 2);
	KEXPECT(st.made <= st.mem_total * 45 / 100 / 8 * 5 / 2 + 512 + 64);
	KEXPECT_EQ(d[0][MM_MT_UNMOVABLE], 65);
	/* 4000 files' dentries and the pieces' (21 a slab), at least the kept 40%'s slabs */
	KEXPECT(d[0][MM_MT_RECLAIMABLE] >= 1600 / 21);
	KEXPECT(d[2][MM_MT_UNMOVABLE] >= 1600 / 21);
	KEXPECT(d[3][MM_MT_UNMOVABLE] >= 1);
	for (unsigned int o = 0; o < MM_NR_ORDERS; o++)
		for (unsigned int m = 0; m < MM_NR_MIGRATETYPES; m++) {
			bool expected = (o == 0) || (o == 2 && m == MM_MT_UNMOVABLE) ||
					(o == 3 && m == MM_MT_UNMOVABLE);

			if (!expected)
				KEXPECT_EQ(d[o][m], 0);
		}
	MMT_CHECK(mm);
	mm_age_watch_forget(w);
	mm_host_destroy(mm);
}

/*
 * After N rounds the ager keeps close to 45% of MemTotal (each round's
 * share, short by less than a piece of each kind), 40% of its files, and
 * the host's allocated pages grew by exactly what it holds; release gives
 * all of it back.
 */
static void test_kept_share(void)
{
	struct mm_host *mm = host(256, 2, MM_KERNEL_6_1);
	struct mm_age_watch *w = begin(mm, 9, 4, MM_AGER_CPU_ROUND);
	struct mm_age_watch_stats st;
	struct mm_counts c0, c1, c2;
	uint64_t kept, budget;

	KASSERT_EQ(mm_get_counts(mm, MM_NUMA_NO_NODE, &c0), 0);
	for (unsigned int r = 0; r < 4; r++)
		KASSERT_EQ(mm_age_watch_round(mm, w), 0);
	KEXPECT_EQ(mm_age_watch_round(mm, w), SNP_ERANGE);
	KASSERT_EQ(mm_age_watch_stats(w, &st), 0);
	KASSERT_EQ(mm_get_counts(mm, MM_NUMA_NO_NODE, &c1), 0);
	KEXPECT_EQ(st.rounds_done, 4);
	KEXPECT_EQ(st.capped, 0);
	kept = st.kept_cache + st.kept_anon;
	budget = st.mem_total * 45 / 100 / 4 * 4;
	KEXPECT(kept <= budget);
	KEXPECT(kept >= budget - 4 * (512 + 64));
	KEXPECT(kept * 1000 >= st.mem_total * 440);
	/* 40% of 4 x 4000 files, within 3 points */
	KEXPECT(st.kept_files >= 16000 * 37 / 100);
	KEXPECT(st.kept_files <= 16000 * 43 / 100);
	KEXPECT_EQ(c1.allocated - c0.allocated, kept + st.pipe_pages + st.slab_pages);
	MMT_CHECK(mm);
	KEXPECT_EQ(mm_age_watch_release(mm, w), 0);
	KASSERT_EQ(mm_get_counts(mm, MM_NUMA_NO_NODE, &c2), 0);
	KEXPECT_EQ(c2.allocated, c0.allocated);
	MMT_CHECK(mm);
	mm_host_destroy(mm);
}

/* Aged with @seed and @cpu: 2 rounds of 8 on a 128 MiB host of 4 CPUs. */
static struct mm_host *aged(uint64_t seed, enum mm_ager_cpu cpu, struct mm_age_watch_stats *st)
{
	struct mm_host *mm = host(128, 4, MM_KERNEL_6_12);
	struct mm_age_watch *w = begin(mm, seed, 8, cpu);

	KASSERT_EQ(mm_age_watch_round(mm, w), 0);
	KASSERT_EQ(mm_age_watch_round(mm, w), 0);
	KASSERT_EQ(mm_age_watch_stats(w, st), 0);
	mm_age_watch_forget(w);
	return mm;
}

static void test_same_seed_same_state(void)
{
	struct mm_age_watch_stats sa, sb, sc;
	struct mm_host *a = aged(5, MM_AGER_CPU_ROUND, &sa), *b = aged(5, MM_AGER_CPU_ROUND, &sb);
	struct mm_host *c = aged(6, MM_AGER_CPU_ROUND, &sc);

	KEXPECT_EQ(memcmp(&sa, &sb, sizeof(sa)), 0);
	KEXPECT_EQ(mmt_differ(a, b, 4000, 1), 0);
	KEXPECT(mmt_differ(a, c, 4000, 1) > 0);
	mm_host_destroy(a);
	mm_host_destroy(b);
	mm_host_destroy(c);
}

/* CPUs holding pages on their pcp lists. */
static unsigned int cpus_with_pcp(const struct mm_host *mm)
{
	unsigned int n = 0;

	for (unsigned int cpu = 0; cpu < mm_nr_cpus(mm); cpu++) {
		struct mm_pcp_info pi;

		/* the Normal zone, where the ager's pages are (pfn past 4 GiB does not exist: DMA32) */
		KASSERT_EQ(mm_pcp_sizes(mm, 16384, cpu, &pi), 0);
		n += pi.count > 0;
	}
	return n;
}

/*
 * The CPU setting changes the CPUs only: the same sizes, keeps and frees;
 * one CPU a round leaves one CPU's lists filled on a fresh host, one a
 * piece several.
 */
static void test_cpu_setting(void)
{
	struct mm_age_watch_stats sr, sp;
	struct mm_host *fresh = host(128, 4, MM_KERNEL_6_12);
	struct mm_age_watch *w = begin(fresh, 5, 8, MM_AGER_CPU_ROUND);
	struct mm_host *r, *p;
	enum mm_ager_cpu c;

	KASSERT_EQ(cpus_with_pcp(fresh), 0);
	KASSERT_EQ(mm_age_watch_round(fresh, w), 0);
	KEXPECT_EQ(cpus_with_pcp(fresh), 1);
	mm_age_watch_forget(w);
	mm_host_destroy(fresh);

	r = aged(5, MM_AGER_CPU_ROUND, &sr);
	p = aged(5, MM_AGER_CPU_PIECE, &sp);
	KEXPECT_EQ(sr.made, sp.made);
	KEXPECT_EQ(sr.kept_cache, sp.kept_cache);
	KEXPECT_EQ(sr.kept_anon, sp.kept_anon);
	KEXPECT_EQ(sr.kept_files, sp.kept_files);
	KEXPECT(cpus_with_pcp(p) > 1);
	KEXPECT(mmt_differ(r, p, 4000, 1) > 0);
	mm_host_destroy(r);
	mm_host_destroy(p);

	KEXPECT_EQ(mm_ager_cpu_parse("round", &c), 0);
	KEXPECT_EQ(c, MM_AGER_CPU_ROUND);
	KEXPECT_EQ(mm_ager_cpu_parse("piece", &c), 0);
	KEXPECT_EQ(c, MM_AGER_CPU_PIECE);
	KEXPECT_EQ(mm_ager_cpu_parse("cpu0", &c), SNP_EINVAL);
	KEXPECT_EQ(strcmp(mm_ager_cpu_name(MM_AGER_CPU_PIECE), "piece"), 0);
}

static void test_bad_args(void)
{
	struct mm_host *mm = host(64, 1, MM_KERNEL_6_12);
	struct mm_age_watch_config cfg;
	struct mm_age_watch *w = (struct mm_age_watch *)1;

	mm_age_watch_config_init(&cfg, 1, 0);
	KEXPECT_EQ(mm_age_watch_begin(mm, &cfg, &w), SNP_EINVAL);
	cfg.rounds = MM_AGE_WATCH_MAX_ROUNDS + 1;
	KEXPECT_EQ(mm_age_watch_begin(mm, &cfg, &w), SNP_EINVAL);
	cfg.rounds = 1;
	cfg.cpu = MM_NR_AGER_CPU;
	KEXPECT_EQ(mm_age_watch_begin(mm, &cfg, &w), SNP_EINVAL);
	cfg.cpu = MM_AGER_CPU_ROUND;
	KEXPECT_EQ(mm_age_watch_begin(NULL, &cfg, &w), SNP_EINVAL);
	KEXPECT_EQ(mm_age_watch_round(mm, NULL), SNP_EINVAL);
	KEXPECT_EQ(mm_age_watch_release(mm, NULL), SNP_EINVAL);
	mm_age_watch_forget(NULL);
	mm_host_destroy(mm);
}

static const struct ktap_case cases[] = {
	KTAP_CASE(test_slab_geometry),
	KTAP_CASE(test_round_migratetypes),
	KTAP_CASE(test_kept_share),
	KTAP_CASE(test_same_seed_same_state),
	KTAP_CASE(test_cpu_setting),
	KTAP_CASE(test_bad_args),
};

KTAP_MAIN("mm_age_watch", cases)
