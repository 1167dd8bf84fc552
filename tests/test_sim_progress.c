// SPDX-License-Identifier: MIT
/*
 * test_sim_progress.c - the live progress line of simulate
 * (sim_mc_progress_format) and the running figures sim_mc_run hands its
 * progress callback: whole strategies only within the width, and the last
 * report equal to the final result, intervals included.
 */
#include "ktap.h"

#include <snpsafe/sim.h>

#include <string.h>

#define KEXPECT_STREQ(got, want) do { \
	const char *g_ = (got), *w_ = (want); \
	if (strcmp(g_, w_)) \
		ktap_fail(__FILE__, __LINE__, "got \"%s\", want \"%s\"", g_, w_); \
} while (0)

static void half_done(struct sim_mc_progress *p)
{
	memset(p, 0, sizeof(*p));
	p->done = 48;
	p->total = 96;
	p->nr = 3;
	for (unsigned int s = 0; s < 3; s++) {
		p->strategy[s] = (enum snp_alloc_strategy)s;
		p->trials[s] = 16;
		p->exposed[s] = 500;
	}
	p->exposed_aligned[0] = 3;
	p->lo[0] = 0.00162;
	p->hi[0] = 0.02195;
	p->lo[1] = p->lo[2] = 0;
	p->hi[1] = p->hi[2] = 0.00762;
}

static void test_format_wide(void)
{
	struct sim_mc_progress p;
	char buf[256];

	half_done(&p);
	KEXPECT_STREQ(sim_mc_progress_format(&p, 200, buf, sizeof(buf)),
		      "[=====     ]  50% (48/96)  exposed aligned 95%: "
		      "naive 0.6% [0.16%,2.2%] upstream 0% [0%,0.76%] sieve 0% [0%,0.76%]");
	/* large fractions in whole percent, the top end as 100% */
	p.exposed_aligned[0] = 250;
	p.lo[0] = 0.456;
	p.hi[0] = 1;
	p.done = p.total;
	KEXPECT(strstr(sim_mc_progress_format(&p, 200, buf, sizeof(buf)),
		       "] 100% (96/96)  exposed aligned 95%: naive 50% [46%,100%] ") != NULL);
}

/* Only whole strategies within the width; the bar alone, or nothing, when narrower. */
static void test_format_narrow(void)
{
	struct sim_mc_progress p;
	char buf[256];

	half_done(&p);
	sim_mc_progress_format(&p, 79, buf, sizeof(buf));
	KEXPECT(strlen(buf) <= 79);
	KEXPECT(strstr(buf, " naive 0.6% [0.16%,2.2%]") != NULL);
	KEXPECT(strstr(buf, "upstream") == NULL);
	KEXPECT_STREQ(sim_mc_progress_format(&p, 40, buf, sizeof(buf)), "[=====     ]  50% (48/96)");
	KEXPECT_STREQ(sim_mc_progress_format(&p, 20, buf, sizeof(buf)), "");
	/* a short buffer: cut at a whole piece, terminated */
	sim_mc_progress_format(&p, 200, buf, 60);
	KEXPECT(strlen(buf) < 60);
	KEXPECT_STREQ(buf, "[=====     ]  50% (48/96)  exposed aligned 95%:");
}

static void test_format_edges(void)
{
	struct sim_mc_progress p;
	char buf[128] = "junk";

	half_done(&p);
	p.exposed[2] = 0;   /* nothing exposed yet for sieve: no rate */
	KEXPECT(strstr(sim_mc_progress_format(&p, 200, buf, sizeof(buf)), " sieve -") != NULL);
	KEXPECT_STREQ(sim_mc_progress_format(NULL, 200, buf, sizeof(buf)), "");
	p.total = 0;
	KEXPECT_STREQ(sim_mc_progress_format(&p, 200, buf, sizeof(buf)), "");
	KEXPECT(sim_mc_progress_format(&p, 200, NULL, 10) == NULL);
}

struct seen {
	unsigned int calls;
	bool monotonic;
	struct sim_mc_progress last;
};

static void record(void *ctx, const struct sim_mc_progress *p)
{
	struct seen *s = ctx;

	if (s->calls && p->done < s->last.done)
		s->monotonic = false;
	s->last = *p;
	s->calls++;
}

/*
 * The running figures end as the result: counts, trials, and the interval
 * with its design effect (naive at --age 90, seed 1, 128 trials sharing 16
 * aged allocators: the design effect test_sim_clone pins above 1).
 */
/* The results tables' rates: a tiny upper bound is not printed as 0.00000. */
static void test_rate_format(void)
{
	char b[16];

	KEXPECT_STREQ(sim_rate_format(0, b, sizeof(b)), "0.00000");
	KEXPECT_STREQ(sim_rate_format(0.0020034, b, sizeof(b)), "0.00200");
	KEXPECT_STREQ(sim_rate_format(0.000005, b, sizeof(b)), "0.00001");
	KEXPECT_STREQ(sim_rate_format(0.0000023, b, sizeof(b)), "2.3e-06");
	KEXPECT_STREQ(sim_rate_format(1, b, sizeof(b)), "1.00000");
	KEXPECT(sim_rate_format(0.5, b, 0) == b);
	KEXPECT_STREQ(sim_rate_format(0.5, b, 4), "0.5");
}

/* The rate over the time so far, and the time the trials left take at it (issue 26, item 4). */
static void test_format_rate(void)
{
	struct sim_mc_progress p;
	char buf[256];

	half_done(&p);
	p.elapsed = 12;   /* 48 trials in 12 s: 4 a second, 48 left: 12 s */
	KEXPECT(strstr(sim_mc_progress_format(&p, 200, buf, sizeof(buf)),
		       "]  50% (48/96) 4 trials/s, 12s left  exposed aligned 95%: naive ") != NULL);
	p.elapsed = 480;  /* 0.1 a second: 480 s */
	KEXPECT(strstr(sim_mc_progress_format(&p, 200, buf, sizeof(buf)), " 0.1 trials/s, 8m00s left ") != NULL);
	p.total = 48 + 48 * 100;
	KEXPECT(strstr(sim_mc_progress_format(&p, 200, buf, sizeof(buf)), " 0.1 trials/s, 13h20m left ") != NULL);
	/* nothing done yet, or no time passed: no rate to tell */
	p.done = 0;
	KEXPECT(strstr(sim_mc_progress_format(&p, 200, buf, sizeof(buf)), "trials/s") == NULL);
	p.done = 48;
	p.elapsed = 0;
	KEXPECT(strstr(sim_mc_progress_format(&p, 200, buf, sizeof(buf)), "trials/s") == NULL);
}

/* A shard's progress counts the shard's trials only: 4 aged allocators, shard 2/3 runs one. */
static void test_live_shard(void)
{
	struct sim_mc_result r[SNP_ALLOC_NR_STRATEGIES];
	struct sim_mc_trial tr[12];
	struct seen seen = { .monotonic = true };
	struct sim_mc_config cfg;
	unsigned int n = 0, ran = 0;

	sim_mc_config_init(&cfg);
	cfg.mem_bytes = 256 * SNP_MiB;
	cfg.cpus = 2;
	cfg.vms = 4;
	cfg.vcpus = 2;
	cfg.ticks = 16;
	cfg.trials = 12;
	cfg.age_share = 3;
	cfg.strategies = 1u << SNP_ALLOC_NAIVE;
	cfg.shard_k = 2;
	cfg.shard_n = 3;
	cfg.trials_out = tr;
	memset(tr, 0, sizeof(tr));
	cfg.progress = record;
	cfg.progress_ctx = &seen;
	KASSERT_EQ(sim_mc_run(&cfg, r, &n), 0);
	KEXPECT_EQ(seen.last.done, 3);
	KEXPECT_EQ(seen.last.total, 3);
	for (unsigned int t = 0; t < 12; t++) {
		ran += tr[t].ran;
		KEXPECT_EQ(tr[t].ran, t % 4 == 1);
	}
	KEXPECT_EQ(ran, 3);
}

static void test_live_ends_at_result(void)
{
	struct sim_mc_result r[SNP_ALLOC_NR_STRATEGIES];
	struct seen seen = { .monotonic = true };
	struct sim_mc_config cfg;
	unsigned int n = 0;

	sim_mc_config_init(&cfg);
	cfg.mem_bytes = 256 * SNP_MiB;
	cfg.cpus = 2;
	cfg.vms = 4;
	cfg.vcpus = 2;
	cfg.ticks = 16;
	cfg.trials = 128;
	cfg.age_pct = 90;
	cfg.threads = 2;
	cfg.strategies = 1u << SNP_ALLOC_NAIVE;
	cfg.progress = record;
	cfg.progress_ctx = &seen;
	KASSERT_EQ(sim_mc_run(&cfg, r, &n), 0);
	KASSERT_EQ(n, 1);
	KEXPECT(seen.calls >= 1);
	KEXPECT(seen.monotonic);
	KEXPECT_EQ(seen.last.done, 128);
	KEXPECT_EQ(seen.last.total, 128);
	KASSERT_EQ(seen.last.nr, 1);
	KEXPECT_EQ(seen.last.strategy[0], SNP_ALLOC_NAIVE);
	KEXPECT_EQ(seen.last.trials[0], 128);
	KEXPECT_EQ(seen.last.exposed_aligned[0], r[0].exposed_aligned_pages);
	KEXPECT_EQ(seen.last.exposed[0], r[0].exposed_pages);
	KEXPECT(seen.last.lo[0] == r[0].exposed_ci_lo && seen.last.hi[0] == r[0].exposed_ci_hi);
	KEXPECT(r[0].exposed_deff > 1);
}

static const struct ktap_case cases[] = {
	KTAP_CASE(test_format_wide),
	KTAP_CASE(test_format_rate),
	KTAP_CASE(test_live_shard),
	KTAP_CASE(test_format_narrow),
	KTAP_CASE(test_format_edges),
	KTAP_CASE(test_live_ends_at_result),
	KTAP_CASE(test_rate_format),
};

KTAP_MAIN("sim_progress", cases)
