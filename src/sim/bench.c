// SPDX-License-Identifier: MIT
/*
 * bench.c - measurements for `snpsafe bench` and `make bench`: the cost of
 * each SNP-safe allocation strategy on one aged host, and the speed of the
 * modeled MMU's checked accesses.  Figures are wall-clock and only compared
 * within one run (ratios); no test asserts them.
 */
#include <snpsafe/sim.h>
#include <snpsafe/kvm.h>
#include <snpsafe/mmu.h>

#include "sim/sim_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#define BENCH_BATCH 32   /* pages held at once: a vCPU's worth of allocations */

double sim_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

uint64_t sim_peak_rss_bytes(void)
{
	char line[256];
	unsigned long kb = 0;
	FILE *f = fopen("/proc/self/status", "r");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmHWM: %lu kB", &kb) == 1)
			break;
	fclose(f);
	return (uint64_t)kb * 1024;
}

static SNP_MUST_CHECK int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

double sim_bench_median(double *v, unsigned int n)
{
	if (!n)
		return 0;
	qsort(v, n, sizeof(double), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

double sim_bench_per_1000(uint64_t events, uint64_t allocs)
{
	return allocs ? 1000.0 * (double)events / (double)allocs : 0;
}

/* One round: pairs alloc+free pairs in batches; returns seconds, or < 0. */
static double alloc_round(struct mm_host *mm, uint64_t pairs, uint64_t *aligned)
{
	struct page *held[BENCH_BATCH];
	double t0 = sim_now();

	for (uint64_t done = 0; done < pairs; done += BENCH_BATCH) {
		for (unsigned int i = 0; i < BENCH_BATCH; i++) {
			held[i] = snp_safe_alloc_page(mm, 0);
			if (!held[i])
				return -1;
		}
		for (unsigned int i = 0; i < BENCH_BATCH; i++) {
			*aligned += snp_pfn_2m_aligned(mm_page_to_pfn(mm, held[i]));
			if (snp_safe_free_page(mm, 0, held[i]))
				return -1;
		}
	}
	return sim_now() - t0;
}

/*
 * clear_page() is a 4 KiB store loop in the kernel; the model clears no
 * bytes, so the bench measures memset() of 4 KiB pages over a 64 MiB buffer
 * (larger than the caches, as freshly allocated pages mostly are) and
 * charges that per page each strategy clears: under init_on_alloc (the
 * default, as Debian boots) every page it takes, set-aside ones included.
 */
double sim_bench_clear_page_ns(void)
{
	const size_t bytes = 64u << 20, pages = bytes / SNP_PAGE_SIZE;
	volatile unsigned char sink = 0;
	unsigned char *buf = malloc(bytes);
	double t0, best = 0;

	if (!buf)
		return 0;
	memset(buf, 1, bytes);   /* fault it in */
	for (int round = 0; round < 3; round++) {
		t0 = sim_now();
		for (size_t i = 0; i < pages; i++)
			memset(buf + ((i * 4099) % pages) * SNP_PAGE_SIZE, 0, SNP_PAGE_SIZE);
		sink = buf[(size_t)round * SNP_PAGE_SIZE];
		t0 = (sim_now() - t0) * 1e9 / (double)pages;
		if (!round || t0 < best)
			best = t0;
	}
	(void)sink;
	free(buf);
	return best;
}

static SNP_MUST_CHECK int aged_host(uint64_t mem, uint64_t seed, bool init_on_alloc,
				   struct mm_host **mm, struct mm_aged **aged)
{
	struct mm_age_config age;
	struct mm_config cfg;
	int ret;

	mm_config_init(&cfg, mem);
	cfg.x86_layout = true;
	cfg.init_on_alloc = init_on_alloc;
	ret = mm_host_create(&cfg, mm);
	if (ret)
		return ret;
	mm_age_config_init(&age, seed);
	ret = mm_age(*mm, &age, aged);
	if (ret)
		mm_host_destroy(*mm);
	return ret;
}

static SNP_MUST_CHECK int set_strategy(struct mm_host *mm, enum snp_alloc_strategy s)
{
	struct snp_alloc_config c;
	int ret = snp_alloc_get_config(mm, &c);

	if (ret)
		return ret;
	c.strategy = s;
	c.snp_enabled = true;
	return snp_alloc_configure(mm, &c);
}

int sim_bench_alloc_run(const struct sim_bench_alloc_config *cfg, struct sim_bench_alloc *out)
{
	uint64_t mem = cfg && cfg->mem_bytes ? cfg->mem_bytes : 2 * SNP_GiB;
	uint64_t pairs = cfg && cfg->pairs ? cfg->pairs : 400000;
	unsigned int rounds = cfg && cfg->rounds ? cfg->rounds : 9;
	double t[SNP_ALLOC_NR_STRATEGIES][64], clear_ns;
	uint64_t order1[SNP_ALLOC_NR_STRATEGIES] = { 0 };
	struct mm_aged *aged;
	struct mm_host *mm;
	int ret;

	if (!out || rounds > 64)
		return SNP_EINVAL;
	ret = aged_host(mem, cfg ? cfg->seed : 1, !(cfg && cfg->init_on_alloc_off), &mm, &aged);
	if (ret)
		return ret;
	memset(out, 0, sizeof(*out) * SNP_ALLOC_NR_STRATEGIES);
	/* Rounds interleave the strategies so drift in the machine hits all alike. */
	for (unsigned int r = 0; r < rounds + 1; r++) {
		for (int s = 0; s < SNP_ALLOC_NR_STRATEGIES; s++) {
			struct snp_alloc_stats st;
			uint64_t aligned = 0;
			double secs;

			uint64_t cleared0 = mm_pages_cleared(mm);

			ret = set_strategy(mm, (enum snp_alloc_strategy)s);
			if (ret)
				goto out;
			snp_alloc_reset_stats(mm);
			secs = alloc_round(mm, pairs / rounds, &aligned);
			if (secs < 0) {
				ret = SNP_ENOMEM;
				goto out;
			}
			if (r == 0)
				continue;   /* warm-up round */
			ret = snp_alloc_get_stats(mm, &st);
			if (ret)
				goto out;
			t[s][r - 1] = secs * 1e9 / (double)(pairs / rounds);
			out[s].allocs += st.allocs;
			out[s].aligned += aligned;
			order1[s] += st.order1_broken;
			out[s].kib_cleared += (double)(mm_pages_cleared(mm) - cleared0) * 4;
		}
	}
	clear_ns = sim_bench_clear_page_ns();
	for (int s = 0; s < SNP_ALLOC_NR_STRATEGIES; s++) {
		out[s].strategy = (enum snp_alloc_strategy)s;
		out[s].ns_per_alloc = sim_bench_median(t[s], rounds);
		out[s].order1_per_1000 = sim_bench_per_1000(order1[s], out[s].allocs);
		out[s].kib_cleared = out[s].allocs ? out[s].kib_cleared / (double)out[s].allocs : 0;
		out[s].ns_with_clear = out[s].ns_per_alloc + out[s].kib_cleared / 4 * clear_ns;
		out[s].clear_page_ns = clear_ns;
	}
	for (int s = 0; s < SNP_ALLOC_NR_STRATEGIES; s++) {
		out[s].ratio_to_naive = out[s].ns_per_alloc / out[SNP_ALLOC_NAIVE].ns_per_alloc;
		out[s].ratio_with_clear = out[s].ns_with_clear / out[SNP_ALLOC_NAIVE].ns_with_clear;
	}
out:
	/* Teardown errors are reported only when the run itself went well. */
	if (snp_safe_release(mm, 0) < 0 && !ret)
		ret = SNP_EINVAL;
	if (mm_aged_release(mm, aged) && !ret)
		ret = SNP_EINVAL;
	mm_host_destroy(mm);
	return ret;
}

/* Checked writes to 8 pages of one 2MB region: after the first, all TLB hits. */
static double access_hits(struct snp_machine *m, uint64_t n, int *ret)
{
	double t0 = sim_now();

	for (uint64_t i = 0; i < n; i++)
		*ret |= snp_host_write(m, 1, snp_pfn_to_virt(0x1000 + (i & 7)));
	return (double)n / (sim_now() - t0);
}

/* Checked writes cycling over 4096 2MB regions, far more than TLB entries: all misses. */
static double access_misses(struct snp_machine *m, uint64_t n, int *ret)
{
	const uint64_t regions = 4096;
	double t0 = sim_now();

	for (uint64_t i = 0; i < n; i++)
		*ret |= snp_host_write(m, 1, snp_pfn_to_virt((i % regions) * SNP_PTRS_PER_PMD + 3));
	return (double)n / (sim_now() - t0);
}

/* Sort v[0..n) ascending and return its median. */
static double sort_median(double *v, unsigned int n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

int sim_bench_access_run(uint64_t accesses, unsigned int reps, struct sim_bench_access *out)
{
	struct snp_machine_config cfg = { .mem_bytes = 16 * SNP_GiB, .nr_cpus = 2 };
	double hit[SIM_BENCH_MAX_REPS], miss[SIM_BENCH_MAX_REPS], ratio[SIM_BENCH_MAX_REPS];
	struct snp_machine *m;
	int ret;

	reps = reps ? reps : 9;
	if (!out || !accesses || reps > SIM_BENCH_MAX_REPS)
		return SNP_EINVAL;
	ret = snp_machine_create(&cfg, &m);
	if (ret)
		return ret;
	memset(out, 0, sizeof(*out));
	access_hits(m, accesses, &ret);     /* warm-up: fault in the RMP index, caches */
	access_misses(m, accesses, &ret);
	for (unsigned int r = 0; r < reps; r++) {
		hit[r] = access_hits(m, accesses, &ret);
		miss[r] = access_misses(m, accesses, &ret);
		ratio[r] = miss[r] / hit[r];
	}
	out->reps = reps;
	out->hit_accesses = out->miss_accesses = accesses;
	out->hit_accesses_per_s = sort_median(hit, reps);
	out->miss_accesses_per_s = sort_median(miss, reps);
	out->miss_to_hit = out->miss_accesses_per_s / out->hit_accesses_per_s;
	sort_median(ratio, reps);   /* sorted, for its spread */
	out->hit_min = hit[0], out->hit_max = hit[reps - 1];
	out->miss_min = miss[0], out->miss_max = miss[reps - 1];
	out->ratio_min = ratio[0], out->ratio_max = ratio[reps - 1];
	snp_machine_destroy(m);
	return ret ? SNP_EFAULT : 0;
}

/* ---- scale run ------------------------------------------------------------------ */

#define SCALE_CPUS  8

static uint64_t scale_bytes(uint64_t mem_bytes)
{
	/* mem_map (12 bytes a page, as src/mm), RMP index, slack for the run. */
	return (mem_bytes >> SNP_PAGE_SHIFT) * 12 + (mem_bytes / SNP_PMD_SIZE) * 16 + 256 * SNP_MiB;
}

uint64_t sim_mem_available(void)
{
	char line[128];
	unsigned long kb = 0;
	FILE *f = fopen("/proc/meminfo", "r");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "MemAvailable: %lu kB", &kb) == 1)
			break;
	fclose(f);
	if (!kb)
		return (uint64_t)sysconf(_SC_PHYS_PAGES) * (uint64_t)sysconf(_SC_PAGESIZE);
	return (uint64_t)kb * 1024;
}

int sim_bench_scale_check(uint64_t mem_bytes, uint64_t vms, unsigned int vcpus)
{
	uint64_t have = sim_mem_available();

	if (!mem_bytes || mem_bytes % (4 * SNP_MiB) || !vms || !vcpus || vcpus > KVM_MAX_VCPUS)
		return SNP_EINVAL;
	if (mem_bytes > SNP_RMP_MAX_MEM)
		return SNP_ERANGE;
	if (have && scale_bytes(mem_bytes) > have / 10 * 8)
		return SNP_ENOMEM;
	/* sim_bench_scale_run() gives its SEV guests ASIDs up to vms + 4, below SNP_MAX_ASID. */
	if (vms > SIM_SCALE_MAX_VMS)
		return SNP_EBUSY;
	/* Each VM needs its vCPUs' pages and a little guest memory. */
	if (vms * 32 * (vcpus > 2 ? vcpus : 2) > (mem_bytes >> SNP_PAGE_SHIFT) / 2)
		return SNP_ENOSPC;
	return 0;
}

const char *sim_bench_scale_why(int err)
{
	switch (err) {
	case SNP_EINVAL: return "memory must be a multiple of 4M, VMs at least 1, vCPUs 1..64";
	case SNP_ERANGE: return "the modeled RMP covers at most 4 TiB";
	case SNP_ENOMEM: return "the modeled host would not fit in this machine's available memory";
	case SNP_ENOSPC: return "too many VMs for that much modeled memory";
	case SNP_EBUSY:  return "too many VMs for the modeled CPU's ASIDs";
	default:         return "the scale run is not possible";
	}
}

static SNP_MUST_CHECK int scale_vms(struct kvm_host *host, uint64_t vms, unsigned int vcpus)
{
	static const enum snp_guest_type types[] = {
		SNP_GUEST_SVM, SNP_GUEST_SEV, SNP_GUEST_SEV_ES, SNP_GUEST_SNP,
	};

	for (uint64_t v = 0; v < vms; v++) {
		unsigned int cpus[KVM_MAX_VCPUS];
		struct kvm_vm_config vc;
		int ret;

		kvm_vm_config_init(&vc, types[v % 4]);
		vc.cpu = (unsigned int)(v % SCALE_CPUS);
		for (unsigned int i = 0; i < vcpus; i++)
			cpus[i] = (unsigned int)((v + i) % SCALE_CPUS);
		ret = sim_vm_build(host, &vc, cpus, vcpus, false, NULL);
		if (ret)
			return ret;
	}
	return 0;
}

int sim_bench_scale_run(uint64_t mem_bytes, uint64_t vms, unsigned int vcpus,
			struct sim_bench_scale *out)
{
	struct kvm_host_config hc;
	struct kvm_host *host;
	double t0 = sim_now();
	int ret = sim_bench_scale_check(mem_bytes, vms, vcpus);

	if (ret || !out)
		return ret ? ret : SNP_EINVAL;
	kvm_host_config_init(&hc, mem_bytes, SCALE_CPUS);
	hc.strategy = SNP_ALLOC_SIEVE;
	/* ASIDs: enough encrypted ones for the run's SEV, SEV-ES and SNP guests. */
	hc.min_sev_asid = (unsigned int)(vms / 2 + 2);
	hc.max_sev_asid = (unsigned int)(vms + 4);
	ret = kvm_host_create(&hc, &host);
	if (ret)
		return ret;
	ret = scale_vms(host, vms, vcpus);
	for (unsigned int t = 0; !ret && t < 16; t++)
		ret = kvm_host_tick(host, t + 1, NULL, NULL);
	kvm_host_destroy(host);
	out->mem_bytes = mem_bytes;
	out->vms = vms;
	out->vcpus = vms * vcpus;
	out->seconds = sim_now() - t0;
	out->peak_rss_bytes = sim_peak_rss_bytes();
	return ret;
}

/* ---- Monte Carlo ---------------------------------------------------------------- */

/* CPU seconds of this process: steadier than wall time on a shared machine. */
static double cpu_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* One timed sim_mc_run; trials of all strategies per CPU second, or < 0. */
static double mc_timed(const struct sim_mc_config *cfg, struct sim_bench_mc *out, int way)
{
	struct sim_mc_result r[SNP_ALLOC_NR_STRATEGIES];
	unsigned int n = 0;
	double t0 = cpu_now(), secs;
	int ret = sim_mc_run(cfg, r, &n);

	secs = cpu_now() - t0;
	if (ret || !n)
		return ret ? ret : SNP_EINVAL;
	out->strategies = n;
	out->exposed[way] = r[0].exposed_pages;
	out->exposed_aligned[way] = r[0].exposed_aligned_pages;
	out->exposed_frac[way] = r[0].exposed_aligned_fraction;   /* NAN over no exposed page */
	out->ci_lo[way] = r[0].exposed_ci_lo;
	out->ci_hi[way] = r[0].exposed_ci_hi;
	out->effective_hosts[way] = r[0].effective_hosts;
	return (double)cfg->trials * n / secs;
}

/*
 * The same configuration twice in one run: clone off (every trial of every
 * strategy ages its own allocator, as before cloning) and as configured
 * with cloning; the ratio is the speed-up.  r[0] is naive when it runs.
 */
int sim_bench_mc_run(const struct sim_mc_config *cfg, struct sim_bench_mc *out)
{
	struct sim_mc_config c;
	double off, on;

	if (!cfg || !out)
		return SNP_EINVAL;
	memset(out, 0, sizeof(*out));
	c = *cfg;
	c.progress = NULL;
	c.clone = false;
	off = mc_timed(&c, out, 0);
	if (off < 0)
		return (int)off;
	c.clone = true;
	on = mc_timed(&c, out, 1);
	if (on < 0)
		return (int)on;
	out->trials = cfg->trials;
	out->trials_per_s_no_clone = off;
	out->trials_per_s_clone = on;
	out->speedup = on / off;
	return 0;
}

/* ---- cost by host size ----------------------------------------------------------- */

/* The child's report through the pipe. */
struct size_report {
	int err;
	double cpu_s;
	uint64_t maxrss_bytes;
};

static double rusage_cpu_s(const struct rusage *ru)
{
	return (double)ru->ru_utime.tv_sec + (double)ru->ru_utime.tv_usec * 1e-6 +
	       (double)ru->ru_stime.tv_sec + (double)ru->ru_stime.tv_usec * 1e-6;
}

/* In the child: one simulate run of @sz, its CPU time and peak RSS. */
static struct size_report size_child(const struct sim_bench_size *sz, unsigned int trials)
{
	struct sim_mc_result r[SNP_ALLOC_NR_STRATEGIES];
	struct size_report rep = { 0 };
	struct sim_mc_config cfg;
	struct rusage ru0, ru1;
	unsigned int n = 0;

	sim_mc_config_init(&cfg);
	cfg.mem_bytes = sz->mem_bytes;
	cfg.cpus = sz->cpus;
	cfg.vms = sz->cpus;
	cfg.vcpus = 4;
	cfg.trials = trials;
	cfg.threads = 1;
	cfg.strategies = 1u << SNP_ALLOC_NAIVE;
	getrusage(RUSAGE_SELF, &ru0);
	rep.err = sim_mc_run(&cfg, r, &n);
	getrusage(RUSAGE_SELF, &ru1);
	rep.cpu_s = rusage_cpu_s(&ru1) - rusage_cpu_s(&ru0);
	rep.maxrss_bytes = (uint64_t)ru1.ru_maxrss * 1024;
	return rep;
}

/* Run @sz in a child process; its report, or err < 0 when the child failed. */
static struct size_report size_run(const struct sim_bench_size *sz, unsigned int trials)
{
	struct size_report rep = { .err = SNP_EINVAL };
	int fd[2], status;
	pid_t pid;

	if (pipe(fd))
		return rep;
	fflush(NULL);   /* nothing buffered is written twice */
	pid = fork();
	if (pid == 0) {
		close(fd[0]);
		rep = size_child(sz, trials);
		_exit(write(fd[1], &rep, sizeof(rep)) == (ssize_t)sizeof(rep) ? 0 : 1);
	}
	close(fd[1]);
	if (pid > 0 && read(fd[0], &rep, sizeof(rep)) != (ssize_t)sizeof(rep))
		rep.err = SNP_EINVAL;
	close(fd[0]);
	if (pid > 0 && (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
			WEXITSTATUS(status)))
		rep.err = rep.err ? rep.err : SNP_EINVAL;
	return rep;
}

int sim_bench_sizes_run(struct sim_bench_size *sizes, unsigned int n, unsigned int trials)
{
	if (!sizes || !n || n > SIM_BENCH_MAX_SIZES || !trials)
		return SNP_EINVAL;
	for (unsigned int i = 0; i < n; i++) {
		struct size_report rep = size_run(&sizes[i], trials), alone = rep;

		if (!rep.err && trials > 1)
			alone = size_run(&sizes[i], 1);
		if (rep.err || alone.err)
			return rep.err ? rep.err : alone.err;
		sizes[i].cpu_s_per_trial = rep.cpu_s / trials;
		sizes[i].peak_rss_bytes = rep.maxrss_bytes;
		sizes[i].growth = i ? sizes[i].cpu_s_per_trial / sizes[i - 1].cpu_s_per_trial : 0;
		sizes[i].mem_growth = i ? (double)sizes[i].mem_bytes / (double)sizes[i - 1].mem_bytes : 0;
		sizes[i].cpu_s_alone = alone.cpu_s;
		sizes[i].peak_rss_alone_bytes = alone.maxrss_bytes;
		sizes[i].growth_alone = i ? sizes[i].cpu_s_alone / sizes[i - 1].cpu_s_alone : 0;
	}
	return 0;
}
