// SPDX-License-Identifier: MIT
/*
 * test_mm_held.c - memory held from boot (mm_config.held_bytes), the device
 * that lets simulate model a host of an operator's size by ageing only the
 * memory the host keeps for itself (docs/MODEL.md, "The ageing window"): the
 * held pages are never handed out, are counted allocated and managed (but
 * not in lowmem_reserve and the pcp high_max, sized from what is kept), their
 * struct pages are never written (ageing, exhaustion, cloning), and a clone
 * of a held host hands out the very pages the original would.
 */
#include "ktap.h"
#include "mm_util.h"

#include "mm/mm_internal.h"   /* white-box: the held struct pages stay zero */

#include <snpsafe/sim.h>

#include <stdlib.h>
#include <string.h>

/* A 4-CPU host of @mib MiB on @nodes nodes, @held_mib of it held; x86's zones unless @flat. */
static struct mm_host *held_host(uint64_t mib, uint64_t held_mib, unsigned int nodes, bool flat)
{
	struct mm_config cfg;
	struct mm_host *mm = NULL;

	mm_config_init(&cfg, mib * SNP_MiB);
	cfg.x86_layout = !flat;
	cfg.nr_nodes = nodes;
	cfg.nr_cpus = 4;
	cfg.held_bytes = held_mib * SNP_MiB;
	KASSERT_EQ(mm_host_create(&cfg, &mm), 0);
	return mm;
}

/* Is @pfn in a node's held top? */
static bool is_held(const struct mm_host *mm, uint64_t pfn)
{
	uint64_t start, end;

	mm_node_span(mm, mm_nid_of_pfn(mm, pfn), &start, &end);
	return pfn >= end - mm->held_per_node;
}

/* Every held struct page is still all zero: never written. */
static uint64_t held_pages_written(const struct mm_host *mm)
{
	static const struct page zero;
	uint64_t n = 0;

	for (uint64_t pfn = 0; pfn < mm->nr_pages; pfn++)
		n += is_held(mm, pfn) && memcmp(&mm->mem_map[pfn], &zero, sizeof(zero));
	return n;
}

/* Counted allocated, never free; everything else is free at boot. */
static void test_held_counts(void)
{
	struct mm_host *mm = held_host(256, 128, 2, false), *plain = held_host(256, 0, 2, false);
	struct mm_counts c, p;
	struct mm_zone_info zi[MM_NR_ZONE_TYPES], zp[MM_NR_ZONE_TYPES];

	KASSERT_EQ(mm_get_counts(mm, MM_NUMA_NO_NODE, &c), 0);
	KASSERT_EQ(mm_get_counts(plain, MM_NUMA_NO_NODE, &p), 0);
	KEXPECT_EQ(mm_held_pages(mm), 128u * 256u);
	KEXPECT_EQ(c.allocated, mm_held_pages(mm));
	KEXPECT_EQ(c.free, p.free - mm_held_pages(mm));
	KEXPECT_EQ(c.reserved, p.reserved);
	/*
	 * managed (and so the watermarks) is the whole host's; lowmem_reserve
	 * is sized from the zones above less what the guests hold (the top
	 * zone holds it all here), so a lower zone stays as open as on a host
	 * of the kept size, not closed by the held memory (docs/MODEL.md)
	 */
	for (int nid = 0; nid < 2; nid++) {
		int n = mm_node_zones(mm, nid, zi, MM_NR_ZONE_TYPES);

		KASSERT_EQ(n, mm_node_zones(plain, nid, zp, MM_NR_ZONE_TYPES));
		for (int z = 0; z < n; z++) {
			uint64_t above = 0;

			for (int j = z + 1; j < n; j++)
				above += zi[j].managed;
			if (z + 1 < n)
				above -= mm->held_per_node;
			KEXPECT_EQ(zi[z].managed, zp[z].managed);
			KEXPECT_EQ(zi[z].lowmem_reserve, above / MM_LOWMEM_RESERVE_RATIO);
			if (z + 1 < n)
				KEXPECT(zi[z].lowmem_reserve < zp[z].lowmem_reserve);
		}
	}
	KEXPECT_EQ(held_pages_written(mm), 0);
	MMT_CHECK(mm);
	mm_host_destroy(mm);
	mm_host_destroy(plain);
}

/*
 * 6.12's pcp high_max is an eighth of the zone's kept pages over its node's
 * CPUs, not of the held ones too: lists sized for the whole host could hold
 * more than all the memory it keeps.  The low watermark's high_min and the
 * batch stay the whole host's.
 */
static void test_held_pcp_high(void)
{
	struct mm_host *mm = held_host(1024, 768, 1, true), *plain = held_host(1024, 0, 1, true);
	struct mm_pcp_info pi, pp;

	KASSERT_EQ(mm_pcp_sizes(mm, 0, 0, &pi), 0);
	KASSERT_EQ(mm_pcp_sizes(plain, 0, 0, &pp), 0);
	KEXPECT_EQ(pi.batch, pp.batch);
	KEXPECT_EQ(pi.wmark_low, pp.wmark_low);
	KEXPECT_EQ(pi.high_min, pp.high_min);
	KEXPECT_EQ(pi.high_max, mm_zone_highsize(256u * 256 / 8, 4, pi.batch));
	KEXPECT_EQ(pp.high_max, mm_zone_highsize(1024u * 256 / 8, 4, pp.batch));
	KEXPECT(pi.high_max < pp.high_max);
	mm_host_destroy(mm);
	mm_host_destroy(plain);
}

/* Take every page there is (one zone a node): none is held, and the held struct pages stay untouched. */
static void test_held_never_handed_out(void)
{
	struct mm_host *mm = held_host(64, 32, 2, true);
	uint64_t n = 0, cap = 64 * 256, held_seen = 0;
	struct page **got = calloc(cap, sizeof(*got));
	struct page *p;

	KASSERT(got);
	while (n < cap && (p = mm_alloc_pages(mm, (unsigned int)(n % 4), MM_GFP_KERNEL, 0)))
		got[n++] = p;
	KEXPECT_EQ(mm_last_error(mm), SNP_ENOMEM);
	for (uint64_t i = 0; i < n; i++)
		held_seen += is_held(mm, mm_page_to_pfn(mm, got[i]));
	KEXPECT_EQ(held_seen, 0);
	KEXPECT_EQ(n, 64u * 256 - 32u * 256);
	for (uint64_t i = 0; i < n; i++)
		KEXPECT_EQ(mm_free_pages(mm, (unsigned int)(i % 4), got[i], 0), 0);
	mm_drain_all_pages(mm);
	KEXPECT_EQ(held_pages_written(mm), 0);
	MMT_CHECK(mm);
	free(got);
	mm_host_destroy(mm);
}

/*
 * Ageing works on the memory not held: its target is a share of that, the
 * held struct pages are never written, and a clone (or a copy) of the aged
 * host is exact.  A clone of another held size is refused.
 */
static void test_held_age_and_clone(void)
{
	struct mm_host *mm = held_host(512, 384, 1, false), *copy = held_host(512, 384, 1, false), *clone = NULL;
	struct mm_age_config age;
	struct mm_aged *aged = NULL;
	struct mm_config cfg;
	struct mm_counts c;
	uint64_t managed;

	KASSERT_EQ(mm_get_counts(mm, MM_NUMA_NO_NODE, &c), 0);
	managed = c.present - c.reserved - mm_held_pages(mm);
	mm_age_config_init(&age, 5);
	KASSERT_EQ(mm_age(mm, &age, &aged), 0);
	ktap_log("512M host, 384M held: %llu of %llu pages aged", (unsigned long long)mm_aged_pages(aged),
		 (unsigned long long)managed);
	KEXPECT(mm_aged_pages(aged) > managed / 2);
	KEXPECT(mm_aged_pages(aged) < managed);
	KEXPECT_EQ(held_pages_written(mm), 0);
	MMT_CHECK(mm);
	mm_config_init(&cfg, 512 * SNP_MiB);
	cfg.x86_layout = true;
	cfg.nr_cpus = 4;
	cfg.held_bytes = 384 * SNP_MiB;
	KASSERT_EQ(mm_host_clone(&cfg, mm, &clone), 0);
	KEXPECT_EQ(held_pages_written(clone), 0);
	MMT_CHECK(clone);
	KEXPECT_EQ(mmt_differ(mm, clone, 20000, 11), 0);
	mm_host_destroy(clone);
	KASSERT_EQ(mm_host_copy_state(copy, mm), 0);
	MMT_CHECK(copy);
	KEXPECT_EQ(mmt_differ(mm, copy, 20000, 11), 0);
	KEXPECT_EQ(held_pages_written(copy), 0);
	cfg.held_bytes = 256 * SNP_MiB;
	KEXPECT_EQ(mm_host_clone(&cfg, mm, &clone), SNP_EINVAL);
	KEXPECT_EQ(mm_aged_release(mm, aged), 0);
	MMT_CHECK(mm);
	mm_host_destroy(mm);
	mm_host_destroy(copy);
}

static void test_held_bad_config(void)
{
	struct mm_config cfg;
	struct mm_host *mm = NULL;

	mm_config_init(&cfg, 64 * SNP_MiB);
	cfg.nr_nodes = 2;
	cfg.held_bytes = 4 * SNP_MiB;   /* not a 4 MiB block on each node */
	KEXPECT_EQ(mm_host_create(&cfg, &mm), SNP_EINVAL);
	cfg.held_bytes = 64 * SNP_MiB;  /* no node keeps a block */
	KEXPECT_EQ(mm_host_create(&cfg, &mm), SNP_EINVAL);
	cfg.held_bytes = 58 * SNP_MiB;
	KEXPECT_EQ(mm_host_create(&cfg, &mm), SNP_EINVAL);
	cfg.held_bytes = 56 * SNP_MiB;  /* each node keeps one 4 MiB block */
	KEXPECT_EQ(mm_host_create(&cfg, &mm), 0);
	KEXPECT_EQ(mmt_free(mm), 2u * 1024);
	mm_host_destroy(mm);
}

/* simulate's hosts: aged whole up to the window, above it the rest held. */
static void test_sim_window(void)
{
	struct sim_mc_config cfg;

	sim_mc_config_init(&cfg);
	KEXPECT_EQ(sim_mc_held_bytes(&cfg), 0);
	cfg.mem_bytes = SIM_MC_AGE_WINDOW;
	KEXPECT_EQ(sim_mc_held_bytes(&cfg), 0);
	cfg.mem_bytes = SIM_MC_AGE_WINDOW + 4 * SNP_MiB;
	KEXPECT_EQ(sim_mc_held_bytes(&cfg), 4 * SNP_MiB);
	cfg.mem_bytes = SNP_TiB;
	KEXPECT_EQ(sim_mc_held_bytes(&cfg), SNP_TiB - SIM_MC_AGE_WINDOW);
	/* what the size check charges a trial: the window's mem_map, not the host's */
	ktap_log("1 TiB trial: %llu MiB charged", (unsigned long long)(sim_mc_trial_bytes(&cfg) >> 20));
	KEXPECT(sim_mc_trial_bytes(&cfg) < 2 * SNP_GiB);
}

static const struct ktap_case cases[] = {
	KTAP_CASE(test_held_counts),
	KTAP_CASE(test_held_pcp_high),
	KTAP_CASE(test_held_never_handed_out),
	KTAP_CASE(test_held_age_and_clone),
	KTAP_CASE(test_held_bad_config),
	KTAP_CASE(test_sim_window),
};

KTAP_MAIN("mm_held", cases)
