// SPDX-License-Identifier: MIT
/*
 * cmd_bench.c - `snpsafe bench [--json]`: the allocators' cost per strategy
 * (ns and ratio to naive, measured in one run on one aged host), order-1
 * blocks broken per 1,000 allocations, the modeled MMU's checked accesses
 * per second on the TLB-hit and TLB-miss paths, and a scale run.
 */
#include "cli.h"
#include "sim_report.h"

#include <snpsafe/kvm.h>
#include <snpsafe/sim.h>

#include <math.h>
#include <string.h>

struct bench_opts {
	bool json;
	uint64_t pairs;
	uint64_t accesses;
	uint64_t access_reps;
	uint64_t scale_mem;
	uint64_t scale_vms;
	uint64_t scale_vcpus;
	uint64_t mc_trials;
	uint64_t mc_mem;
	struct sim_bench_size sizes[SIM_BENCH_MAX_SIZES];
	unsigned int nr_sizes;
	uint64_t size_trials;
};

static SNP_MUST_CHECK int set_json(void *ctx, const char *v)
{
	((struct bench_opts *)ctx)->json = true;
	return 0;
}

static SNP_MUST_CHECK int set_pairs(void *ctx, const char *v)
{
	return cli_parse_u64(v, 1000, 100000000, &((struct bench_opts *)ctx)->pairs);
}

static SNP_MUST_CHECK int set_accesses(void *ctx, const char *v)
{
	return cli_parse_u64(v, 1000, 1000000000, &((struct bench_opts *)ctx)->accesses);
}

static SNP_MUST_CHECK int set_access_reps(void *ctx, const char *v)
{
	return cli_parse_u64(v, 1, SIM_BENCH_MAX_REPS, &((struct bench_opts *)ctx)->access_reps);
}

static SNP_MUST_CHECK int set_scale_mem(void *ctx, const char *v)
{
	return cli_parse_size(v, 64 * SNP_MiB, 4 * SNP_TiB, &((struct bench_opts *)ctx)->scale_mem);
}

static SNP_MUST_CHECK int set_scale_vms(void *ctx, const char *v)
{
	return cli_parse_u64(v, 1, SIM_SCALE_MAX_VMS, &((struct bench_opts *)ctx)->scale_vms);
}

static SNP_MUST_CHECK int set_scale_vcpus(void *ctx, const char *v)
{
	return cli_parse_u64(v, 1, KVM_MAX_VCPUS, &((struct bench_opts *)ctx)->scale_vcpus);
}

static SNP_MUST_CHECK int set_mc_trials(void *ctx, const char *v)
{
	return cli_parse_u64(v, 1, 100000, &((struct bench_opts *)ctx)->mc_trials);
}

static SNP_MUST_CHECK int set_mc_mem(void *ctx, const char *v)
{
	return cli_parse_size(v, 64 * SNP_MiB, 64 * SNP_GiB, &((struct bench_opts *)ctx)->mc_mem);
}

/* One SIZE:CPUS of --sizes: SIZE as simulate's --mem, CPUS (and VMs) as its --cpus. */
static SNP_MUST_CHECK int parse_size_item(char *item, struct sim_bench_size *out)
{
	char *colon = strchr(item, ':');
	uint64_t cpus;

	if (!colon)
		return SNP_EINVAL;
	*colon = '\0';
	if (cli_parse_size(item, 64 * SNP_MiB, 4 * SNP_TiB, &out->mem_bytes) ||
	    out->mem_bytes % (4 * SNP_MiB) || cli_parse_u64(colon + 1, 1, 256, &cpus))
		return SNP_EINVAL;
	out->cpus = (unsigned int)cpus;
	return 0;
}

static SNP_MUST_CHECK int set_sizes(void *ctx, const char *v)
{
	struct bench_opts *o = ctx;
	char buf[256], *save = NULL;

	if (strlen(v) >= sizeof(buf))
		return SNP_EINVAL;
	strcpy(buf, v);
	o->nr_sizes = 0;
	for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		if (o->nr_sizes == SIM_BENCH_MAX_SIZES || parse_size_item(t, &o->sizes[o->nr_sizes]))
			return SNP_EINVAL;
		o->nr_sizes++;
	}
	return o->nr_sizes ? 0 : SNP_EINVAL;
}

static SNP_MUST_CHECK int set_size_trials(void *ctx, const char *v)
{
	return cli_parse_u64(v, 1, 1000, &((struct bench_opts *)ctx)->size_trials);
}

/* The texts of --scale-vms's and --access-reps's ranges below name these limits. */
_Static_assert(SIM_BENCH_MAX_REPS == 101, "update --access-reps's valid range");
_Static_assert(SIM_SCALE_MAX_VMS == 1018, "update --scale-vms's valid range");

static const struct cli_option bench_options[] = {
	{ "json", false, set_json, "", "print one JSON object on stdout", NULL },
	{ "pairs", true, set_pairs, "N", "alloc+free pairs per strategy (default 400000)",
	  "1000..100000000" },
	{ "accesses", true, set_accesses, "N",
	  "host accesses per MMU path and repetition (default 2000000)", "1000..1000000000" },
	{ "access-reps", true, set_access_reps, "N",
	  "repetitions of the MMU paths, hit and miss interleaved; medians reported (default 9)",
	  "1..101" },
	{ "scale-mem", true, set_scale_mem, "SIZE", "modeled memory of the scale run (default 1T)",
	  "64M..4T, a multiple of 4M, within this machine's memory" },
	{ "scale-vms", true, set_scale_vms, "N", "VMs of the scale run (default 256)",
	  "1..1018 (the modeled CPU's ASIDs), and one per 512K of --scale-mem" },
	{ "scale-vcpus", true, set_scale_vcpus, "N", "vCPUs per VM of the scale run (default 2)",
	  "1..64" },
	{ "mc-trials", true, set_mc_trials, "N",
	  "Monte Carlo trials per strategy, simulate's defaults otherwise, one thread (default 8)",
	  "1..100000" },
	{ "mc-mem", true, set_mc_mem, "SIZE", "modeled memory of the Monte Carlo hosts (default 2G)",
	  "64M..64G, a multiple of 4M" },
	{ "sizes", true, set_sizes, "LIST",
	  "simulate's cost by host size, SIZE:CPUS,... (VMs = CPUs, 4 vCPUs each, naive, one thread; "
	  "default 16G:16,64G:32,256G:64,1T:256)",
	  "1 to 8 SIZE:CPUS, SIZE 64M..4T a multiple of 4M, CPUS 1..256" },
	{ "size-trials", true, set_size_trials, "N",
	  "trials per size, the ageing shared as simulate shares it (default 8: one aged allocator); "
	  "each size then runs one trial alone too, unless N is 1",
	  "1..1000" },
	{ NULL, false, NULL, NULL, NULL, NULL },
};

/* A scale run refused by sim_bench_scale_check(): name the flag to change. */
static SNP_MUST_CHECK int scale_refused(int err, const struct bench_opts *o)
{
	const char *flag = err == SNP_ENOSPC || err == SNP_EBUSY ? "--scale-vms" : "--scale-mem";
	char mem[32];

	return cli_usage_error("bench", "%s: %s (--scale-mem %s, --scale-vms %llu)", flag,
			       sim_bench_scale_why(err), cli_fmt_size(o->scale_mem, mem, sizeof(mem)),
			       (unsigned long long)o->scale_vms);
}

static void print_alloc(const struct sim_bench_alloc *a)
{
	printf("SNP-safe allocation, one aged 2 GiB host, alloc+free pairs in batches of 32\n"
	       "(naive: the counterfactual SNP host without the workaround):\n");
	printf("  %-9s %9s %8s %12s %14s %8s %14s %10s\n", "strategy", "ns/alloc", "ratio",
	       "KiB cleared", "ns incl. clear", "ratio", "order-1/1000", "aligned");
	for (int s = 0; s < SNP_ALLOC_NR_STRATEGIES; s++)
		printf("  %-9s %9.1f %7.2fx %12.2f %14.1f %7.2fx %14.1f %10llu\n",
		       snp_alloc_strategy_name(a[s].strategy), a[s].ns_per_alloc, a[s].ratio_to_naive,
		       a[s].kib_cleared, a[s].ns_with_clear, a[s].ratio_with_clear,
		       a[s].order1_per_1000, (unsigned long long)a[s].aligned);
	printf("  (clearing: __GFP_ZERO clears every page of the allocation; charged at this machine's\n"
	       "   measured memset() of a 4 KiB page, %.1f ns)\n", a[0].clear_page_ns);
}

static void json_alloc(struct json *j, const struct sim_bench_alloc *a)
{
	json_arr_begin(j, "alloc");
	for (int s = 0; s < SNP_ALLOC_NR_STRATEGIES; s++) {
		json_obj_begin(j, NULL);
		json_str(j, "strategy", snp_alloc_strategy_name(a[s].strategy));
		json_double(j, "ns_per_alloc", a[s].ns_per_alloc);
		json_double(j, "ratio_to_naive", a[s].ratio_to_naive);
		json_double(j, "order1_per_1000", a[s].order1_per_1000);
		json_u64(j, "allocs", a[s].allocs);
		json_u64(j, "aligned", a[s].aligned);
		json_double(j, "kib_cleared", a[s].kib_cleared);
		json_double(j, "ns_with_clear", a[s].ns_with_clear);
		json_double(j, "ratio_with_clear", a[s].ratio_with_clear);
		json_double(j, "clear_page_ns", a[s].clear_page_ns);
		json_obj_end(j);
	}
	json_arr_end(j);
}

static void print_access(const struct sim_bench_access *a)
{
	printf("\nModeled MMU, checked host writes through the 1GB direct map, median of %u\n"
	       "repetitions of %llu accesses each, hit and miss interleaved (slowest..fastest):\n",
	       a->reps, (unsigned long long)a->hit_accesses);
	printf("  TLB hit:  %12.0f accesses/s (%.0f..%.0f)\n", a->hit_accesses_per_s, a->hit_min,
	       a->hit_max);
	printf("  TLB miss: %12.0f accesses/s (%.0f..%.0f; walk, fill, RMP check)\n",
	       a->miss_accesses_per_s, a->miss_min, a->miss_max);
	printf("  miss/hit: %12.3f (ratio of the medians; per repetition %.3f..%.3f)\n",
	       a->miss_to_hit, a->ratio_min, a->ratio_max);
}

static void json_access(struct json *j, const struct sim_bench_access *a)
{
	json_obj_begin(j, "sim");
	json_u64(j, "reps", a->reps);
	json_u64(j, "accesses", a->hit_accesses);
	json_double(j, "hit_accesses_per_s", a->hit_accesses_per_s);
	json_double(j, "hit_min", a->hit_min);
	json_double(j, "hit_max", a->hit_max);
	json_double(j, "miss_accesses_per_s", a->miss_accesses_per_s);
	json_double(j, "miss_min", a->miss_min);
	json_double(j, "miss_max", a->miss_max);
	json_double(j, "miss_to_hit", a->miss_to_hit);
	json_double(j, "ratio_min", a->ratio_min);
	json_double(j, "ratio_max", a->ratio_max);
	json_obj_end(j);
}

/* naive's exposed aligned pages one way: "1 of 89, 0.01124 [0.00199, 0.06093]", n/a over none. */
static void print_mc_exposed(const struct sim_bench_mc *b, int way, const char *how)
{
	char frac[32], ci[48], hosts[16];

	ci[0] = '\0';
	if (!isnan(b->ci_lo[way]))
		snprintf(ci, sizeof(ci), " [%.5f, %.5f]", b->ci_lo[way], b->ci_hi[way]);
	cli_sim_hosts_text(b->effective_hosts[way], hosts, sizeof(hosts));
	printf("  naive exposed aligned pages, %s: %llu of %llu, %s%s (%u trial%s, %s %s%s)\n", how,
	       (unsigned long long)b->exposed_aligned[way], (unsigned long long)b->exposed[way],
	       cli_fmt_fixed(b->exposed_frac[way], 5, frac, sizeof(frac)), ci, b->trials,
	       b->trials == 1 ? "" : "s", hosts, way ? "effective host" : "host",
	       strcmp(hosts, "1") ? "s" : "");
}

static void print_mc(const struct sim_mc_config *mc, const struct sim_bench_mc *b)
{
	char mem[32];

	printf("\nMonte Carlo, simulate's defaults but %u trials x %u strategies of %s hosts, one thread:\n",
	       b->trials, b->strategies, cli_fmt_size(mc->mem_bytes, mem, sizeof(mem)));
	printf("  every trial ages its own allocator: %8.2f trials per CPU second\n"
	       "  one aged allocator per %u trials, cloned: %8.2f trials per CPU second\n"
	       "  speed-up: %.1fx\n",
	       b->trials_per_s_no_clone, mc->age_share, b->trials_per_s_clone, b->speedup);
	print_mc_exposed(b, 0, "each trial its own allocator");
	print_mc_exposed(b, 1, "cloned");
}

static void json_mc(struct json *j, const struct sim_bench_mc *b)
{
	json_obj_begin(j, "montecarlo");
	json_u64(j, "trials", b->trials);
	json_u64(j, "strategies", b->strategies);
	json_double(j, "trials_per_s_no_clone", b->trials_per_s_no_clone);
	json_double(j, "trials_per_s_clone", b->trials_per_s_clone);
	json_double(j, "speedup", b->speedup);
	/* naive's exposed aligned pages each way; the fraction and interval null over none */
	json_arr_begin(j, "naive_exposed");
	for (int way = 0; way < 2; way++) {
		json_obj_begin(j, NULL);
		json_str(j, "clone", way ? "on" : "off");
		json_u64(j, "exposed_pages", b->exposed[way]);
		json_u64(j, "exposed_aligned_pages", b->exposed_aligned[way]);
		json_double(j, "exposed_aligned_fraction", b->exposed_frac[way]);
		json_double(j, "exposed_ci95_lo", b->ci_lo[way]);
		json_double(j, "exposed_ci95_hi", b->ci_hi[way]);
		json_double(j, "effective_hosts", b->effective_hosts[way]);
		json_obj_end(j);
	}
	json_arr_end(j);
	json_obj_end(j);
}

/* ", 1.07x for 4x the memory" after the first size, else nothing. */
static const char *size_growth(const struct sim_bench_size *z, bool first, double growth,
			       char *buf, size_t len)
{
	if (first)
		return "";
	snprintf(buf, len, ", %.2fx for %.0fx the memory", growth, z->mem_growth);
	return buf;
}

static void print_sizes(const struct bench_opts *o)
{
	bool shared = o->size_trials > 1;

	printf("\nSimulate by host size: VMs = CPUs x 4 vCPUs, naive, one thread.  CPU seconds\n");
	if (shared)
		printf("per trial of %llu sharing their ageing as simulate does, then of one trial alone\n"
		       "(--trials 1: its own ageing); each with its growth over the size above and the\n"
		       "peak resident memory of the process that ran it:\n",
		       (unsigned long long)o->size_trials);
	else
		printf("of one trial alone (--trials 1: its own ageing), with its growth over the size\n"
		       "above and the peak resident memory of the process that ran it:\n");
	for (unsigned int i = 0; i < o->nr_sizes; i++) {
		const struct sim_bench_size *z = &o->sizes[i];
		char mem[32], rss[32], growth[48];

		printf("  %8s, %3u CPUs: ", cli_fmt_size(z->mem_bytes, mem, sizeof(mem)), z->cpus);
		if (shared)
			printf("%7.2f s per trial of %llu%s, peak RSS %s\n%22s", z->cpu_s_per_trial,
			       (unsigned long long)o->size_trials,
			       size_growth(z, !i, z->growth, growth, sizeof(growth)),
			       cli_fmt_size(z->peak_rss_bytes, rss, sizeof(rss)), "");
		printf("%7.2f s for one trial alone%s, peak RSS %s\n", z->cpu_s_alone,
		       size_growth(z, !i, z->growth_alone, growth, sizeof(growth)),
		       cli_fmt_size(z->peak_rss_alone_bytes, rss, sizeof(rss)));
	}
}

static void json_sizes(struct json *j, const struct bench_opts *o)
{
	json_arr_begin(j, "sizes");
	for (unsigned int i = 0; i < o->nr_sizes; i++) {
		const struct sim_bench_size *z = &o->sizes[i];

		json_obj_begin(j, NULL);
		json_u64(j, "mem_bytes", z->mem_bytes);
		json_u64(j, "cpus", z->cpus);
		json_u64(j, "vms", z->cpus);
		json_u64(j, "trials", o->size_trials);
		json_double(j, "cpu_seconds_per_trial", z->cpu_s_per_trial);
		json_double(j, "growth", i ? z->growth : NAN);
		json_double(j, "mem_growth", i ? z->mem_growth : NAN);
		json_u64(j, "peak_rss_bytes", z->peak_rss_bytes);
		json_double(j, "cpu_seconds_one_trial", z->cpu_s_alone);
		json_double(j, "growth_one_trial", i ? z->growth_alone : NAN);
		json_u64(j, "peak_rss_bytes_one_trial", z->peak_rss_alone_bytes);
		json_obj_end(j);
	}
	json_arr_end(j);
}

/* A size that would not fit this machine (its aged allocator and a trial at once). */
static SNP_MUST_CHECK int check_sizes(const struct bench_opts *o)
{
	uint64_t have = sim_mem_available();

	for (unsigned int i = 0; i < o->nr_sizes; i++) {
		struct sim_mc_config mc;
		char mem[32], need[32];

		sim_mc_config_init(&mc);
		mc.mem_bytes = o->sizes[i].mem_bytes;
		if (2 * sim_mc_trial_bytes(&mc) > have / 10 * 8)
			return cli_usage_error("bench", "--sizes: %s needs about %s of this machine's memory",
					       cli_fmt_size(mc.mem_bytes, mem, sizeof(mem)),
					       cli_fmt_size(2 * sim_mc_trial_bytes(&mc), need, sizeof(need)));
	}
	return 0;
}

int cmd_bench(int argc, char **argv)
{
	static const char synopsis[] =
		"Measure, in one run: the cost of each SNP-safe allocation strategy on one aged\n"
		"host (ns per alloc+free and ratio to naive), order-1 blocks broken per 1,000\n"
		"allocations, the modeled MMU's checked host accesses per second (TLB hit and\n"
		"miss), and a scale run (modeled host size, VMs, vCPUs, seconds, peak RSS).\n";
	struct bench_opts o = { .pairs = 400000, .accesses = 2000000, .access_reps = 9,
				.scale_mem = SNP_TiB,
				.scale_vms = 256, .scale_vcpus = 2, .mc_trials = 8,
				.mc_mem = 2 * SNP_GiB, .size_trials = 8, .nr_sizes = 4,
				.sizes = { { .mem_bytes = 16 * SNP_GiB, .cpus = 16 },
					   { .mem_bytes = 64 * SNP_GiB, .cpus = 32 },
					   { .mem_bytes = 256 * SNP_GiB, .cpus = 64 },
					   { .mem_bytes = SNP_TiB, .cpus = 256 } } };
	struct sim_mc_config mc;
	struct sim_bench_mc mcb;
	struct sim_bench_alloc alloc[SNP_ALLOC_NR_STRATEGIES];
	struct sim_bench_alloc_config acfg = { 0 };
	struct sim_bench_access acc;
	struct sim_bench_scale scale;
	struct json j;
	int ret;

	ret = cli_parse_args("bench", argc, argv, bench_options, &o, synopsis, NULL, 0, NULL);
	if (ret)
		return ret < 0 ? CLI_EXIT_OK : ret;
	ret = sim_bench_scale_check(o.scale_mem, o.scale_vms, (unsigned int)o.scale_vcpus);
	if (ret)
		return scale_refused(ret, &o);
	if (o.mc_mem % (4 * SNP_MiB))
		return cli_usage_error("bench", "bad value for --mc-mem: must be a multiple of 4M");
	ret = check_sizes(&o);
	if (ret)
		return ret;
	if (cli_dry_run)
		return CLI_EXIT_OK;
	acfg.pairs = o.pairs;
	acfg.seed = 1;
	ret = sim_bench_alloc_run(&acfg, alloc);
	if (ret)
		return cli_fail("bench", "allocator benchmark failed: %s", snp_error_text(ret));
	ret = sim_bench_access_run(o.accesses, (unsigned int)o.access_reps, &acc);
	if (ret)
		return cli_fail("bench", "MMU benchmark failed: %s", snp_error_text(ret));
	sim_mc_config_init(&mc);
	mc.trials = (unsigned int)o.mc_trials;
	mc.mem_bytes = o.mc_mem;
	ret = sim_bench_mc_run(&mc, &mcb);
	if (ret)
		return cli_fail("bench", "Monte Carlo benchmark failed: %s", snp_error_text(ret));
	ret = sim_bench_scale_run(o.scale_mem, o.scale_vms, (unsigned int)o.scale_vcpus, &scale);
	if (ret)
		return cli_fail("bench", "scale run failed: %s (lower --scale-vms or --scale-mem)", snp_error_text(ret));
	ret = sim_bench_sizes_run(o.sizes, o.nr_sizes, (unsigned int)o.size_trials);
	if (ret)
		return cli_fail("bench", "simulate by host size failed: %s", snp_error_text(ret));
	if (!o.json) {
		print_alloc(alloc);
		print_access(&acc);
		print_mc(&mc, &mcb);
		printf("\nScale run: %s modeled, %llu VMs, %llu vCPUs, %.2f s, peak RSS %s\n",
		       cli_fmt_size(scale.mem_bytes, (char[32]){ 0 }, 32), (unsigned long long)scale.vms,
		       (unsigned long long)scale.vcpus, scale.seconds,
		       cli_fmt_size(scale.peak_rss_bytes, (char[32]){ 0 }, 32));
		print_sizes(&o);
		return CLI_EXIT_OK;
	}
	json_init(&j, stdout);
	json_obj_begin(&j, NULL);
	json_alloc(&j, alloc);
	json_access(&j, &acc);
	json_mc(&j, &mcb);
	json_obj_begin(&j, "scale");
	json_u64(&j, "mem_bytes", scale.mem_bytes);
	json_u64(&j, "vms", scale.vms);
	json_u64(&j, "vcpus", scale.vcpus);
	json_double(&j, "seconds", scale.seconds);
	json_u64(&j, "peak_rss_bytes", scale.peak_rss_bytes);
	json_obj_end(&j);
	json_sizes(&j, &o);
	json_obj_end(&j);
	json_finish(&j);
	return CLI_EXIT_OK;
}
