// SPDX-License-Identifier: MIT
/*
 * test_guest_vmsa.c - the guest side: VMSAs an SNP guest allocates for its
 * own vCPUs under each guest code base's rule (snpsafe/guest_vmsa.h), what
 * each keeps, and the free-and-retry ping-pong the sieve avoids.
 */
#include "ktap.h"

#include <snpsafe/guest_vmsa.h>
#include <snpsafe/snp_alloc.h>

/* edk2's rule on any start: never an aligned VMSA, the other page freed. */
static void edk2_rule_any_start(void)
{
	static const snp_pfn_t starts[] = { 100, 511, 512, 1023, 1024, 7 };

	for (unsigned int i = 0; i < KTAP_ARRAY_SIZE(starts); i++) {
		snp_pfn_t use, freed;

		edk2_pick_save_area(starts[i], &use, &freed);
		KEXPECT(!snp_pfn_2m_aligned(use));
		KEXPECT(use != freed);
		KEXPECT(use == starts[i] || use == starts[i] + 1);
		KEXPECT(freed == starts[i] || freed == starts[i] + 1);
	}
	/* Second page aligned: edk2 uses the FIRST (lower) page and frees the second. */
	{
		snp_pfn_t use, freed;

		edk2_pick_save_area(511, &use, &freed);
		KEXPECT_EQ(use, 511);
		KEXPECT_EQ(freed, 512);
		edk2_pick_save_area(512, &use, &freed);   /* else the second */
		KEXPECT_EQ(use, 513);
		KEXPECT_EQ(freed, 512);
	}
}

static void names_round_trip(void)
{
	enum guest_vmsa_strategy s;

	for (unsigned int i = 0; i < GUEST_VMSA_NR_STRATEGIES; i++) {
		KASSERT_EQ(guest_vmsa_strategy_parse(guest_vmsa_strategy_name(i), &s), 0);
		KEXPECT_EQ(s, i);
	}
	KEXPECT_EQ(guest_vmsa_strategy_parse("coconut", &s), SNP_EINVAL);
	KEXPECT_EQ(guest_vmsa_strategy_parse(NULL, &s), SNP_EINVAL);
}

/*
 * A fresh guest, 4 rounds of 64 APs: the rule strategies never give an
 * aligned VMSA and keep 1 page per VMSA (svsm: 2); naive shows the rule is
 * needed (the first page a fresh block hands out is aligned).
 */
static void strategies_aligned_and_kept(void)
{
	for (unsigned int s = 0; s < GUEST_VMSA_NR_STRATEGIES; s++) {
		struct guest_vmsa_config c;
		struct guest_vmsa_result r;

		if (s == GUEST_VMSA_RETRY)
			continue;   /* ping_pong_retry_vs_sieve */
		guest_vmsa_config_init(&c, s);
		c.aged = false;
		c.rounds = 4;
		KASSERT_EQ(guest_vmsa_run(&c, &r), 0);
		ktap_log("%s: %llu VMSAs, %llu aligned, %llu pages kept for %u VMSAs",
			   guest_vmsa_strategy_name(s), (unsigned long long)r.vmsas,
			   (unsigned long long)r.aligned, (unsigned long long)r.pages_kept, r.nr_vcpus);
		KEXPECT_EQ(r.vmsas, 256);
		KEXPECT_EQ(r.failures, 0);
		if (s == GUEST_VMSA_NAIVE) {
			KEXPECT(r.aligned > 0);
			continue;
		}
		KEXPECT_EQ(r.aligned, 0);
		KEXPECT_EQ(r.pages_kept, s == GUEST_VMSA_SVSM ? 128 : 64);
	}
}

/* Aged guest: the same promises. */
static void strategies_aged_guest(void)
{
	for (unsigned int s = 0; s < GUEST_VMSA_NR_STRATEGIES; s++) {
		struct guest_vmsa_config c;
		struct guest_vmsa_result r;

		if (s == GUEST_VMSA_NAIVE || s == GUEST_VMSA_RETRY)
			continue;
		guest_vmsa_config_init(&c, s);
		c.seed = 7;
		KASSERT_EQ(guest_vmsa_run(&c, &r), 0);
		KEXPECT_EQ(r.aligned, 0);
		KEXPECT_EQ(r.vmsas, 64);
		KEXPECT(r.pages_kept >= (s == GUEST_VMSA_SVSM ? 128u : 64u));
	}
}

/* A 1-CPU guest whose per-CPU list has a 2MB-aligned page at its head. */
static struct mm_host *guest_aligned_head(enum guest_vmsa_strategy s, snp_pfn_t *aligned)
{
	struct mm_config mc;
	struct mm_host *g = NULL;
	struct page *p = NULL;

	mm_config_init(&mc, 64 * SNP_MiB);
	mc.x86_layout = true;
	KASSERT_EQ(mm_host_create(&mc, &g), 0);
	KASSERT_EQ(guest_vmsa_prepare(g, s), 0);
	for (unsigned int i = 0; i < 4096; i++) {
		p = mm_alloc_pages(g, 0, MM_GFP_KERNEL, 0);
		KASSERT(p);
		if (snp_pfn_2m_aligned(mm_page_to_pfn(g, p)))
			break;
		p = NULL;   /* the others stay held: only the aligned one goes back */
	}
	KASSERT(p);
	*aligned = mm_page_to_pfn(g, p);
	KASSERT_EQ(mm_free_pages(g, 0, p, 0), 0);   /* LIFO: back at the head */
	return g;
}

/*
 * COCONUT's review: a free-and-retry loop "could keep flip-flopping between
 * the same two 2M-aligned pages".  On a LIFO per-CPU list it is handed the
 * same aligned page(s) over and over and gives up; the sieve, from the same
 * state, sets that page aside and returns an unaligned one at once.
 */
static void ping_pong_retry_vs_sieve(void)
{
	struct guest_vmsa v;
	struct snp_alloc_stats st;
	snp_pfn_t head, head2;
	struct mm_host *g = guest_aligned_head(GUEST_VMSA_RETRY, &head);

	KEXPECT_EQ(snp_alloc_vmsa_page(g, GUEST_VMSA_RETRY, &v), SNP_EBUSY);
	KEXPECT_EQ(v.retries, GUEST_VMSA_RETRY_MAX + 1);
	ktap_log("retry: %u tries, %u distinct aligned page(s), first pfn %llu",
		   v.retries, v.nr_retry_seen, (unsigned long long)v.retry_seen[0]);
	KEXPECT(v.nr_retry_seen >= 1 && v.nr_retry_seen <= 2);   /* the same one or two pages */
	KEXPECT_EQ(v.retry_seen[0], head);
	for (unsigned int i = 0; i < v.nr_retry_seen && i < 4; i++)
		KEXPECT(snp_pfn_2m_aligned(v.retry_seen[i]));
	mm_host_destroy(g);

	g = guest_aligned_head(GUEST_VMSA_SIEVE, &head2);
	KEXPECT_EQ(head2, head);   /* the same state */
	KASSERT_EQ(snp_alloc_vmsa_page(g, GUEST_VMSA_SIEVE, &v), 0);
	KEXPECT(!snp_pfn_2m_aligned(v.vmsa));
	KEXPECT_EQ(v.retries, 0);
	KASSERT_EQ(snp_alloc_get_stats(g, &st), 0);
	KEXPECT_EQ(st.set_aside, 1);   /* the aligned page, out of the loop's reach */
	KEXPECT_EQ(snp_free_vmsa_page(g, GUEST_VMSA_SIEVE, &v), 0);
	KEXPECT_EQ(snp_safe_release(g, 0), 1);
	mm_host_destroy(g);
}

/* The whole guest under the retry loop: every AP of a fresh guest gives up. */
static void retry_livelocks_fresh_guest(void)
{
	struct guest_vmsa_config c;
	struct guest_vmsa_result r;

	guest_vmsa_config_init(&c, GUEST_VMSA_RETRY);
	c.aged = false;
	KASSERT_EQ(guest_vmsa_run(&c, &r), 0);
	ktap_log("retry, fresh guest: %llu of %u APs up, %llu retries",
		   (unsigned long long)r.vmsas, r.nr_vcpus, (unsigned long long)r.retries);
	KEXPECT_EQ(r.failures, 64);
	KEXPECT_EQ(r.vmsas, 0);
	KEXPECT_EQ(r.retries, 64ull * (GUEST_VMSA_RETRY_MAX + 1));
}

static void bad_input(void)
{
	struct guest_vmsa v = { 0 };
	struct guest_vmsa_config c;
	struct guest_vmsa_result r;

	KEXPECT_EQ(snp_alloc_vmsa_page(NULL, GUEST_VMSA_LINUX, &v), SNP_EINVAL);
	KEXPECT_EQ(snp_free_vmsa_page(NULL, GUEST_VMSA_LINUX, &v), SNP_EINVAL);
	guest_vmsa_config_init(&c, GUEST_VMSA_NR_STRATEGIES);
	KEXPECT_EQ(guest_vmsa_run(&c, &r), SNP_EINVAL);
	guest_vmsa_config_init(&c, GUEST_VMSA_LINUX);
	c.nr_vcpus = MM_MAX_CPUS + 1;
	KEXPECT_EQ(guest_vmsa_run(&c, &r), SNP_EINVAL);
	KEXPECT_EQ(guest_vmsa_run(NULL, &r), SNP_EINVAL);
}

static const struct ktap_case cases[] = {
	KTAP_CASE(edk2_rule_any_start),
	KTAP_CASE(names_round_trip),
	KTAP_CASE(strategies_aligned_and_kept),
	KTAP_CASE(strategies_aged_guest),
	KTAP_CASE(ping_pong_retry_vs_sieve),
	KTAP_CASE(retry_livelocks_fresh_guest),
	KTAP_CASE(bad_input),
};

KTAP_MAIN("guest_vmsa", cases)
