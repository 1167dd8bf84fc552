// SPDX-License-Identifier: MIT
/*
 * test_cli_merge_watch.c - `snpsafe merge` pooling `watch --json` runs,
 * through the built command (issue 26 item 2, issue 25 item 4), on
 * synthetic watch outputs: five boots pooled (their model run, the same in
 * each, once); a different config or kernel, a run given twice, a run
 * without vmcb01 allocations and a simulate shard among them refused with
 * one line; the verdicts (measured like the uniform page and the model far
 * from it; a tiny sample); the cluster-robust interval wider than the naive
 * one when boots differ; the clustering tests.
 */
#include "cli_json.h"

#include <stdarg.h>

static char dir[] = "/tmp/snpsafe-mergew-XXXXXX";

struct boot {
	const char *kernel;
	unsigned int vms;
	uint64_t allocs, aligned, exposed;
	/* clustering of its distinct pages */
	uint64_t pages, regions, max_region, top5, cl_aligned, shared, regions_huge;
	uint64_t cl_allocs;   /* the clustering's "allocations"; 0: not written (a run before it) */
	const char *trace;
};

struct model {
	const char *seed;
	unsigned int hosts;
	unsigned int ticks;                  /* 0: 100 */
	const char *dump;                    /* boot_dump_fnv1a, NULL: none (the boot-state rules) */
	const char *host_loops;              /* the host thread's loops a tick, NULL: not written */
	uint64_t allocs, aligned, exposed;   /* per host */
	uint64_t pages, regions, max_region; /* per host: its distinct pages (few: a fast merge) */
};

static void out(FILE *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void out(FILE *f, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
}

static void cluster_json(FILE *f, uint64_t pages, uint64_t regions, uint64_t max, uint64_t top5,
			 uint64_t aligned, uint64_t shared, uint64_t allocs)
{
	out(f, "\"clustering\":{\"unit\":\"distinct vmcb01 pages\",\"units\":1,\"pages\":%llu,"
	    "\"regions\":%llu,\"max_region\":%llu,\"top5\":%llu,\"aligned\":%llu,\"aligned_shared\":%llu",
	    (unsigned long long)pages, (unsigned long long)regions, (unsigned long long)max,
	    (unsigned long long)top5, (unsigned long long)aligned, (unsigned long long)shared);
	if (allocs)
		out(f, ",\"allocations\":%llu", (unsigned long long)allocs);
	out(f, "}");
}

/* DIR/name: a watch --json output with the keys merge reads. */
static void write_run(const char *name, const struct boot *b, const struct model *m)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	KASSERT(f);
	out(f, "{\"kernel\":\"%s\",\"config\":{\"cpus\":2,\"mem_bytes\":1073741824,\"vms\":%u,"
	    "\"vcpus\":2,\"seconds\":20,\"lifetime\":0.2,\"filter\":\"inguest\",\"host_snp\":false,"
	    "\"kvm_build\":\"\"},\"trace\":\"%s\",\"records\":1000,\"qemu_seconds\":30.5,"
	    "\"measured\":{\"vmcb01_allocations\":", b->kernel ? b->kernel : "6.12.95+deb12-amd64",
	    b->vms ? b->vms : 8, b->trace);
	if (b->allocs)
		out(f, "{\"site\":\"svm_vcpu_create+0x23/0x180 [kvm_amd]\",\"allocations\":%llu,"
		    "\"aligned\":%llu},\"vmcb01_exposed\":%llu,\"vmcb01_regions_huge_leaf\":%llu,",
		    (unsigned long long)b->allocs, (unsigned long long)b->aligned,
		    (unsigned long long)b->exposed, (unsigned long long)b->regions_huge);
	else
		out(f, "null,");
	cluster_json(f, b->pages, b->regions, b->max_region, b->top5, b->cl_aligned, b->shared,
		     b->cl_allocs);
	out(f, "},\"model_estimate\":{\"kernel\":\"6.12\",\"layout\":\"qemu-pc\",\"strategy\":\"naive\","
	    "\"age_pct\":5,\"trials\":%u,\"ticks\":%u,\"lifetime_ticks\":1,\"seed\":\"%s\",",
	    m->hosts, m->ticks ? m->ticks : 100, m->seed);
	if (m->dump)
		out(f, "\"boot_dump\":\"/d/%s\",\"boot_dump_fnv1a\":\"%s\",", m->dump, m->dump);
	if (m->host_loops)
		out(f, "\"guest_pages\":1,\"irqchip\":\"off\",\"kvm_debugfs\":\"tcg\",\"host_loops\":%s,",
		    m->host_loops);
	out(f, "\"hosts\":[");
	for (unsigned int h = 0; h < m->hosts; h++) {
		uint64_t top5 = m->pages < 5 * m->max_region ? m->pages : 5 * m->max_region;

		out(f, "%s{\"vmcb01_allocated\":%llu,\"vmcb01_aligned\":%llu,\"vmcb01_exposed\":%llu,",
		    h ? "," : "", (unsigned long long)m->allocs, (unsigned long long)m->aligned,
		    (unsigned long long)m->exposed);
		cluster_json(f, m->pages, m->regions, m->max_region, top5, 0, 0, 0);
		out(f, "}");
	}
	out(f, "]}}\n");
	KASSERT(fclose(f) == 0);
}

/*
 * A boot like a uniform page's: 2048 allocations, 4 aligned, on 512
 * distinct pages spread as a uniform page spreads them (about 324 of the
 * 512 regions of 1 GiB).  Few pages keep the uniform page's Monte Carlo
 * fast under the sanitizers.
 */
static struct boot spread_boot(const char *trace)
{
	return (struct boot){ .allocs = 2048, .aligned = 4, .exposed = 2, .pages = 512,
			      .regions = 324, .max_region = 4, .top5 = 18, .cl_aligned = 1,
			      .shared = 1, .regions_huge = 162, .trace = trace };
}

/* The model far from the uniform page: 10% aligned. */
static const struct model far_model = { .seed = "1", .hosts = 40, .allocs = 256, .aligned = 26,
					.exposed = 13, .pages = 32, .regions = 30, .max_region = 2 };

/* merge --json over DIR/b1..bn.json (and extra), parsed. */
static struct jl *merge_json(unsigned int n, const char *extra)
{
	char args[2048];
	size_t off = (size_t)snprintf(args, sizeof(args), "merge --json");

	for (unsigned int k = 1; k <= n; k++)
		off += (size_t)snprintf(args + off, sizeof(args) - off, " %s/b%u.json", dir, k);
	snprintf(args + off, sizeof(args) - off, "%s", extra ? extra : "");
	return run_json(args);
}

/* Five boots b1..b5.json, boot k made by make(k) with its own trace, and merge --json over them. */
static struct jl *pool_boots(struct boot (*make)(unsigned int k), const struct model *m)
{
	for (unsigned int k = 1; k <= 5; k++) {
		char name[32], trace[32];
		struct boot b = make(k);

		snprintf(name, sizeof(name), "b%u.json", k);
		snprintf(trace, sizeof(trace), "/runs/%u/watch.trace", k);
		b.trace = trace;
		write_run(name, &b, m);
	}
	return merge_json(5, NULL);
}

static const struct jl *row(const struct jl *doc, const char *stat)
{
	const struct jl *rows = jl_get(doc, "rows"), *r;

	for (unsigned int i = 0; rows && (r = jl_at(rows, i)); i++)
		if (!strcmp(str(r, "statistic"), stat))
			return r;
	ktap_fail(__FILE__, __LINE__, "no row %s", stat);
	ktap_abort_case();
	return NULL;
}

static const char *verdict(const struct jl *doc, const char *stat, const char *pair)
{
	return str(jl_get(jl_get(row(doc, stat), "tests"), pair), "verdict");
}

static void setup(void)
{
	if (!mkdtemp(dir))
		ktap_skip("mkdtemp failed");
}

static void teardown(void)
{
	char cmd[300];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	KEXPECT_EQ(system(cmd), 0);
}

/* Boot k: k aligned (15 of 10240 in all), k / 2 exposed (6). */
static struct boot boot_k_aligned(unsigned int k)
{
	struct boot b = spread_boot(NULL);

	b.aligned = k;
	b.exposed = k / 2;
	return b;
}

/* Five boots pooled: counts added; their one model run (same seed, age, hosts) taken once. */
static void test_pool_five_boots(void)
{
	struct jl *doc;
	const struct jl *m;
	char *text;
	char args[512];

	setup();
	doc = pool_boots(boot_k_aligned, &far_model);
	KEXPECT(!strcmp(str(doc, "merged"), "watch"));
	KEXPECT_EQ(num(doc, "boots"), 5);
	KEXPECT_EQ(num(doc, "model_runs"), 1);
	KEXPECT_EQ(num(doc, "model_hosts"), 40);
	KEXPECT_EQ(num(doc, "leaf_mix"), 0.5);
	m = jl_get(row(doc, "aligned"), "measured");
	KEXPECT_EQ(num(m, "k"), 15);
	KEXPECT_EQ(num(m, "n"), 10240);
	KEXPECT_EQ(num(jl_get(row(doc, "exposed"), "measured"), "k"), 6);
	KEXPECT_EQ(num(jl_get(row(doc, "aligned"), "model"), "n"), 40 * 256);
	KEXPECT_EQ(num(jl_get(row(doc, "aligned"), "uniform"), "value"), 1.0 / 512);
	KEXPECT(fabs(num(jl_get(row(doc, "exposed"), "uniform"), "value") - 0.5 / 512) < 1e-9);
	KEXPECT_EQ(num(jl_get(row(doc, "regions"), "measured"), "value"), 324);
	KEXPECT_EQ(num(jl_get(row(doc, "max_region"), "model"), "value"), 2);
	jl_free(doc);
	/* text: the header, the three columns and the legend's test names */
	snprintf(args, sizeof(args), "merge %s/b1.json %s/b2.json %s/b3.json %s/b4.json %s/b5.json",
		 dir, dir, dir, dir, dir);
	text = cli_run_ok(args);
	KEXPECT(strstr(text, "snpsafe merge: 5 watch runs of Linux 6.12.95+deb12-amd64"));
	KEXPECT(strstr(text, "measured: 5 boots, 10240 vmcb01 allocations; model: 40 hosts of 1 model run(s)"));
	KEXPECT(strstr(text, "uniform page"));
	KEXPECT(strstr(text, "exact binomial") && strstr(text, "permutation"));
	KEXPECT(strstr(text, "the model's range for a campaign like this one (5 boots of the measured sizes"));
	KEXPECT(strstr(text, "aligned           [10.156%, 10.156%]: measured 0.146% outside"));
	free(text);
	teardown();
}

/*
 * Two boots whose model runs differ only in ticks (each boot's model makes
 * as many VMs as it did): two model runs, both pooled; the same run twice:
 * one.
 */
static void test_model_runs_told_apart(void)
{
	struct model a = far_model, b = far_model;
	struct boot x = spread_boot("/runs/1/watch.trace"), y = spread_boot("/runs/2/watch.trace");
	struct jl *doc;

	setup();
	a.ticks = 120;
	b.ticks = 124;
	write_run("b1.json", &x, &a);
	write_run("b2.json", &y, &b);
	doc = merge_json(2, NULL);
	KEXPECT_EQ(num(doc, "model_runs"), 2);
	KEXPECT_EQ(num(doc, "model_hosts"), 80);
	jl_free(doc);
	write_run("b2.json", &y, &a);
	doc = merge_json(2, NULL);
	KEXPECT_EQ(num(doc, "model_runs"), 1);
	KEXPECT_EQ(num(doc, "model_hosts"), 40);
	jl_free(doc);
	/* the same run but for the boot each host started from (watch --boot-dump) */
	b = a;
	b.dump = "00000000000000aa";
	write_run("b2.json", &y, &b);
	doc = merge_json(2, NULL);
	KEXPECT_EQ(num(doc, "model_runs"), 2);
	jl_free(doc);
	a.dump = "00000000000000aa";
	write_run("b1.json", &x, &a);
	doc = merge_json(2, NULL);
	KEXPECT_EQ(num(doc, "model_runs"), 1);
	jl_free(doc);
	/* the same but for the host thread's pace (each boot's own) */
	a.host_loops = "0.53";
	b = a;
	b.host_loops = "0.6";
	write_run("b1.json", &x, &a);
	write_run("b2.json", &y, &b);
	doc = merge_json(2, NULL);
	KEXPECT_EQ(num(doc, "model_runs"), 2);
	jl_free(doc);
	write_run("b2.json", &y, &a);
	doc = merge_json(2, NULL);
	KEXPECT_EQ(num(doc, "model_runs"), 1);
	jl_free(doc);
	teardown();
}

/* Each refusal: one line naming the file (and the key), exit 2. */
static void test_refusals(void)
{
	struct boot b = spread_boot("/runs/1/watch.trace");
	char args[1024], want[512];

	setup();
	write_run("b1.json", &b, &far_model);
	b.trace = "/runs/2/watch.trace";
	b.vms = 4;
	write_run("vms.json", &b, &far_model);
	b.vms = 0;
	b.kernel = "6.1.0-56-amd64";
	write_run("kernel.json", &b, &far_model);
	b.kernel = NULL;
	b.trace = "/runs/1/watch.trace";
	write_run("copy.json", &b, &far_model);            /* the same boot, another file */
	b.trace = "/runs/3/watch.trace";
	b.allocs = 0;
	write_run("noalloc.json", &b, &far_model);
	snprintf(args, sizeof(args), "merge %s/b1.json %s/vms.json", dir, dir);
	snprintf(want, sizeof(want), "%s/vms.json: its config differs from %s/b1.json's at \"vms\"", dir, dir);
	EXPECT_USAGE_ERROR(args, want);
	snprintf(args, sizeof(args), "merge %s/b1.json %s/kernel.json", dir, dir);
	snprintf(want, sizeof(want), "%s/kernel.json: its config differs from %s/b1.json's at \"kernel\"",
		 dir, dir);
	EXPECT_USAGE_ERROR(args, want);
	snprintf(args, sizeof(args), "merge %s/b1.json %s/b1.json", dir, dir);
	EXPECT_USAGE_ERROR(args, "given twice");
	snprintf(args, sizeof(args), "merge %s/b1.json %s/copy.json", dir, dir);
	snprintf(want, sizeof(want), "%s/copy.json: the run of %s/b1.json given twice", dir, dir);
	EXPECT_USAGE_ERROR(args, want);
	snprintf(args, sizeof(args), "merge %s/b1.json %s/noalloc.json", dir, dir);
	EXPECT_USAGE_ERROR(args, "no vmcb01 allocations");
	/* a simulate shard among watch runs, and a watch run among shards */
	snprintf(args, sizeof(args), "simulate --mem 256M --vms 2 --vcpus 1 --ticks 4 --trials 2 --age 0 "
		 "--strategy naive --shard 1/1 --json");
	{
		struct cli_run r;
		char to[300];

		snprintf(to, sizeof(to), ">%s/shard.json", dir);
		r = cli_run_redir(args, to);
		KEXPECT_EQ(r.status, 0);
		cli_run_free(&r);
	}
	snprintf(args, sizeof(args), "merge %s/b1.json %s/shard.json", dir, dir);
	EXPECT_USAGE_ERROR(args, "shard.json: not a watch run");
	snprintf(args, sizeof(args), "merge %s/shard.json %s/b1.json", dir, dir);
	EXPECT_USAGE_ERROR(args, "b1.json: a watch run among simulate shards");
	teardown();
}

static struct boot boot_spread(unsigned int k)
{
	(void)k;
	return spread_boot(NULL);
}

/*
 * Measured like the uniform page (20 of 10240 aligned, 1/512) and the model
 * at 10%: the model disagrees with both; measured and uniform do not, and
 * at this size the test would see a threefold difference: agree.
 */
static void test_model_differs(void)
{
	struct jl *doc;

	setup();
	doc = pool_boots(boot_spread, &far_model);
	KEXPECT(!strcmp(verdict(doc, "aligned", "measured_model"), "disagree"));
	KEXPECT(!strcmp(verdict(doc, "aligned", "model_uniform"), "disagree"));
	KEXPECT(!strcmp(verdict(doc, "aligned", "measured_uniform"), "agree"));
	KEXPECT(num(jl_get(jl_get(row(doc, "aligned"), "tests"), "measured_uniform"), "power_threefold") >= 0.8);
	KEXPECT(!strcmp(verdict(doc, "exposed", "measured_model"), "disagree"));
	KEXPECT(strcmp(verdict(doc, "exposed", "measured_uniform"), "disagree"));
	/* every model host at 26 of 256: a campaign of any size pools to that, the measured point outside */
	KEXPECT(fabs(num(jl_get(row(doc, "aligned"), "model"), "campaign95_lo") - 26.0 / 256) < 1e-6);
	KEXPECT(fabs(num(jl_get(row(doc, "aligned"), "model"), "campaign95_hi") - 26.0 / 256) < 1e-6);
	KEXPECT(!strcmp(str(row(doc, "aligned"), "measured_in_campaign95"), "outside"));
	KEXPECT_EQ(num(doc, "campaign_reps"), 10000);
	jl_free(doc);
	teardown();
}

/* A model at the uniform page's own rate: 1 of 512 allocations aligned on every host. */
static const struct model coin_model = { .seed = "1", .hosts = 40, .allocs = 512, .aligned = 1,
					 .exposed = 0, .pages = 32, .regions = 30, .max_region = 2 };

/*
 * Measured and model both at 1/512, with the power to see a threefold
 * difference: they agree, but so does the uniform page, and the verdict
 * must say that this agreement cannot tell the model from a coin.
 */
static void test_agreement_like_a_coin(void)
{
	struct jl *doc;

	setup();
	doc = pool_boots(boot_spread, &coin_model);
	KEXPECT(strcmp(verdict(doc, "aligned", "model_uniform"), "disagree"));
	KEXPECT(num(jl_get(jl_get(row(doc, "aligned"), "tests"), "measured_model"), "power_threefold") >= 0.8);
	KEXPECT(!strcmp(verdict(doc, "aligned", "measured_model"), "agree (uniform too)"));
	jl_free(doc);
	/* against a model told from the coin, a plain disagree stays (test_model_differs) */
	doc = pool_boots(boot_spread, &far_model);
	KEXPECT(!strcmp(verdict(doc, "aligned", "measured_model"), "disagree"));
	jl_free(doc);
	teardown();
}

static struct boot boot_tiny(unsigned int k)
{
	(void)k;
	return (struct boot){ .allocs = 10, .pages = 10, .regions = 2, .max_region = 6, .top5 = 10,
			      .regions_huge = 1 };
}

/* Five boots of 10 allocations, none aligned, against a model of 8 x 10: no power, cannot tell. */
static void test_tiny_sample(void)
{
	static const struct model tiny_model = { .seed = "1", .hosts = 8, .allocs = 10, .aligned = 0,
						 .exposed = 0, .regions = 3, .max_region = 5 };
	struct jl *doc;

	setup();
	doc = pool_boots(boot_tiny, &tiny_model);
	for (unsigned int p = 0; p < 3; p++) {
		static const char *const pairs[] = { "measured_uniform", "model_uniform", "measured_model" };

		KEXPECT(!strcmp(verdict(doc, "aligned", pairs[p]), "cannot tell"));
		KEXPECT(!strcmp(verdict(doc, "exposed", pairs[p]), "cannot tell"));
	}
	/* ten pages in two regions are not a uniform page's ten (about ten regions) */
	KEXPECT(!strcmp(verdict(doc, "regions", "measured_uniform"), "disagree"));
	/* no aligned page on either side: the campaign range is [0, 0] and holds the measured 0 */
	KEXPECT_EQ(num(jl_get(row(doc, "aligned"), "model"), "campaign95_hi"), 0);
	KEXPECT(!strcmp(str(row(doc, "aligned"), "measured_in_campaign95"), "inside"));
	KEXPECT(!jl_get(row(doc, "regions"), "measured_in_campaign95"));
	jl_free(doc);
	teardown();
}

/* 2000 allocations, of them aligned: 0, 0, 0, 0, 40 (boot_differ) or 8 each (boot_alike). */
static struct boot boot_of(uint64_t aligned)
{
	struct boot b = spread_boot(NULL);

	b.allocs = 2000;
	b.aligned = aligned;
	b.exposed = 0;
	return b;
}

static struct boot boot_differ(unsigned int k)
{
	return boot_of(k == 5 ? 40 : 0);
}

static struct boot boot_alike(unsigned int k)
{
	(void)k;
	return boot_of(8);
}

/*
 * Boots that differ (0, 0, 0, 0 and 40 aligned of 2000 each): the
 * cluster-robust interval is wider than the naive one; boots alike (8
 * each): the design effect is 1 and the two are the same.
 */
static void test_cluster_robust_interval(void)
{
	const struct jl *m;
	struct jl *doc;

	setup();
	for (int alike = 0; alike < 2; alike++) {
		doc = pool_boots(alike ? boot_alike : boot_differ, &far_model);
		m = jl_get(row(doc, "aligned"), "measured");
		KEXPECT_EQ(num(m, "k"), 40);
		if (alike) {
			KEXPECT_EQ(num(m, "design_effect"), 1);
			KEXPECT_EQ(num(m, "ci95_hi") - num(m, "ci95_lo"),
				   num(m, "naive_ci95_hi") - num(m, "naive_ci95_lo"));
		} else {
			KEXPECT(num(m, "design_effect") > 2);
			KEXPECT(num(m, "ci95_hi") - num(m, "ci95_lo") >
				num(m, "naive_ci95_hi") - num(m, "naive_ci95_lo") + 0.002);
		}
		jl_free(doc);
	}
	teardown();
}

static struct boot boot_crowded(unsigned int k)
{
	struct boot b = spread_boot(NULL);

	b.regions = 40 + k;
	b.regions_huge = 20;
	b.max_region = 60;
	b.top5 = 250;
	return b;
}

/*
 * Clustering: boots whose 512 pages sit in about 40 regions, against the
 * uniform page (about 324 of the 512 regions of 1 GiB) and a model
 * whose hosts spread theirs: measured disagrees with both.
 */
static void test_clustering_tests(void)
{
	struct jl *doc;
	const struct jl *u;

	setup();
	doc = pool_boots(boot_crowded, &far_model);
	u = jl_get(row(doc, "regions"), "uniform");
	/* about 512 (1 - (1 - 1/512)^512) = 323.9, a little more drawn without replacement */
	KEXPECT(num(u, "value") > 323.5 && num(u, "value") < 324.5);
	KEXPECT(!strcmp(str(u, "how"), "analytic"));
	KEXPECT(!strcmp(verdict(doc, "regions", "measured_uniform"), "disagree"));
	KEXPECT(!strcmp(verdict(doc, "max_region", "measured_uniform"), "disagree"));
	KEXPECT(!strcmp(verdict(doc, "top5_share", "measured_uniform"), "disagree"));
	KEXPECT(!strcmp(verdict(doc, "regions", "measured_model"), "disagree"));
	KEXPECT(!strcmp(str(jl_get(jl_get(row(doc, "regions"), "tests"), "measured_model"), "test"),
			"permutation"));
	jl_free(doc);
	teardown();
}

static struct boot boot_reused(unsigned int k)
{
	struct boot b = spread_boot(NULL);

	b.cl_allocs = k == 1 ? 1024 : 0;   /* boot 1 says its own count; the others are older runs */
	return b;
}

/*
 * Allocations a page: the clustering's "allocations" over its pages, or,
 * in a run from before that key, its vmcb01 allocation count.  Boot 1
 * says 1024 of 512 pages, boots 2-5 have 2048 allocations of 512: 9216 of
 * 2560 pooled; the model's hosts 256 of 32.  The uniform page repeats a
 * page almost never (2048 draws of 262,144 pages: about 1.004): both
 * disagree with it and with each other.  A count below the pages is refused.
 */
static void test_allocs_per_page(void)
{
	struct boot bad = spread_boot("/runs/9/watch.trace");
	const struct jl *r;
	struct jl *doc;
	char args[512], want[512];

	setup();
	doc = pool_boots(boot_reused, &far_model);
	r = row(doc, "allocs_per_page");
	KASSERT(r);
	KEXPECT(fabs(num(jl_get(r, "measured"), "value") - 9216.0 / 2560) < 1e-9);
	KEXPECT_EQ(num(jl_get(r, "model"), "value"), 8);
	KEXPECT(num(jl_get(r, "uniform"), "value") > 1.003 && num(jl_get(r, "uniform"), "value") < 1.005);
	KEXPECT(!strcmp(str(jl_get(r, "uniform"), "how"), "analytic"));
	KEXPECT(!strcmp(verdict(doc, "allocs_per_page", "measured_uniform"), "disagree"));
	KEXPECT(!strcmp(verdict(doc, "allocs_per_page", "model_uniform"), "disagree"));
	KEXPECT(!strcmp(verdict(doc, "allocs_per_page", "measured_model"), "disagree"));
	KEXPECT(!strcmp(str(jl_get(jl_get(r, "tests"), "measured_uniform"), "test"), "normal"));
	jl_free(doc);
	bad.cl_allocs = 511;
	write_run("b6.json", &bad, &far_model);
	snprintf(args, sizeof(args), "merge %s/b1.json %s/b6.json", dir, dir);
	snprintf(want, sizeof(want), "\"clustering\" of one run needs whole counts (\"allocations\")");
	EXPECT_USAGE_ERROR(args, want);
	teardown();
}

static const struct ktap_case cases[] = {
	KTAP_CASE(test_pool_five_boots),
	KTAP_CASE(test_model_runs_told_apart),
	KTAP_CASE(test_refusals),
	KTAP_CASE(test_model_differs),
	KTAP_CASE(test_agreement_like_a_coin),
	KTAP_CASE(test_tiny_sample),
	KTAP_CASE(test_cluster_robust_interval),
	KTAP_CASE(test_clustering_tests),
	KTAP_CASE(test_allocs_per_page),
};

KTAP_MAIN("cli_merge_watch", cases)
