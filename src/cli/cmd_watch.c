// SPDX-License-Identifier: MIT
/*
 * cmd_watch.c - `snpsafe watch`: real, unmodified Linux KVM (kvm_amd) run
 * under QEMU TCG, which emulates SVM, with snpsafe's plugin recording the
 * VMRUNs, host save areas, direct-map stores and TLB flushes (docs/WATCH.md).
 *
 * The arguments are checked here, before anything boots; watch/run.sh does
 * the installing, building and booting; then the raw trace is finished
 * (run strings and kernel symbols added) and summarized by the library, and
 * the run's allocation log is joined with it (watch_prov.c).
 */
#include "cli.h"
#include "watch_cluster.h"
#include "tick_report.h"
#include "watch_prov.h"
#include "sim_report.h"

#include <snpsafe/kvm.h>
#include <snpsafe/replay.h>
#include <snpsafe/sim.h>
#include <snpsafe/trace.h>

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define WATCH_MAX_CPUS 8          /* TCG runs one host thread per vCPU; 2 cores here */
#define WATCH_MAX_MEM  (2 * SNP_GiB)  /* RAM stays below QEMU's PCI hole: pa = [0, mem) */
#define WATCH_MAX_AGE_ROUNDS 32       /* the ager's own limit (watch/workload.c) */

struct watch_opts {
	const char *kernel;           /* 6.1, 6.12, or a bzImage path */
	const char *modules;          /* with a path: its lib/modules/<version> folder */
	uint64_t vms, vcpus, cpus, mem;
	uint64_t age_rounds, age_seed;  /* --age-rounds: age the guest first (0: fresh) */
	double seconds, lifetime;
	const char *trace;
	const char *out;
	const char *filter;
	const char *kvm_build;        /* kernel/build.sh's variant, or NULL */
	char kvm_ko[PATH_MAX];        /* the module it built */
	bool json, baseline, host_snp, again;
	bool install;                 /* --install: SNPSAFE_INSTALL=1 for the scripts */
	const char *boot_dump_path;   /* --boot-dump: the model's hosts start from this boot */
	const char *remodel;          /* --remodel FILE: a recorded JSON run's model made again */
	const struct kvm_boot_dump *boot_dump;
	uint64_t boot_dump_hash;      /* FNV-1a of its bytes, in the JSON: merge pools by it */
};

static SNP_MUST_CHECK int set_kernel(void *ctx, const char *v)
{
	((struct watch_opts *)ctx)->kernel = v;
	return 0;
}

static SNP_MUST_CHECK int set_modules(void *ctx, const char *v)
{
	((struct watch_opts *)ctx)->modules = v;
	return 0;
}

static SNP_MUST_CHECK int set_vms(void *ctx, const char *v)
{
	return cli_parse_u64(v, 1, 1024, &((struct watch_opts *)ctx)->vms);
}

static SNP_MUST_CHECK int set_vcpus(void *ctx, const char *v)
{
	return cli_parse_u64(v, 1, 64, &((struct watch_opts *)ctx)->vcpus);
}

static SNP_MUST_CHECK int set_cpus(void *ctx, const char *v)
{
	return cli_parse_u64(v, 1, WATCH_MAX_CPUS, &((struct watch_opts *)ctx)->cpus);
}

static SNP_MUST_CHECK int set_mem(void *ctx, const char *v)
{
	return cli_parse_size(v, 256 * SNP_MiB, WATCH_MAX_MEM, &((struct watch_opts *)ctx)->mem);
}

static SNP_MUST_CHECK int parse_seconds(const char *v, double min, double max, double *out)
{
	char *end;
	double d;

	errno = 0;
	d = strtod(v, &end);
	if (!*v || *end || errno || !(d >= min && d <= max))
		return SNP_ERANGE;
	*out = d;
	return 0;
}

static SNP_MUST_CHECK int set_seconds(void *ctx, const char *v)
{
	return parse_seconds(v, 0.5, 3600, &((struct watch_opts *)ctx)->seconds);
}

static SNP_MUST_CHECK int set_lifetime(void *ctx, const char *v)
{
	return parse_seconds(v, 0, 3600, &((struct watch_opts *)ctx)->lifetime);
}

static SNP_MUST_CHECK int set_age_rounds(void *ctx, const char *v)
{
	return cli_parse_u64(v, 0, WATCH_MAX_AGE_ROUNDS, &((struct watch_opts *)ctx)->age_rounds);
}

static SNP_MUST_CHECK int set_age_seed(void *ctx, const char *v)
{
	return cli_parse_u64(v, 0, UINT64_MAX, &((struct watch_opts *)ctx)->age_seed);
}

static SNP_MUST_CHECK int set_trace(void *ctx, const char *v)
{
	((struct watch_opts *)ctx)->trace = v;
	return 0;
}

static SNP_MUST_CHECK int set_out(void *ctx, const char *v)
{
	((struct watch_opts *)ctx)->out = v;
	return 0;
}

static SNP_MUST_CHECK int set_filter(void *ctx, const char *v)
{
	if (strcmp(v, "inguest") && strcmp(v, "ever") && strcmp(v, "all"))
		return SNP_EINVAL;
	((struct watch_opts *)ctx)->filter = v;
	return 0;
}

static SNP_MUST_CHECK int set_boot_dump(void *ctx, const char *v)
{
	((struct watch_opts *)ctx)->boot_dump_path = v;
	return 0;
}

static SNP_MUST_CHECK int set_json(void *ctx, const char *v)
{
	((struct watch_opts *)ctx)->json = true;
	return 0;
}

static SNP_MUST_CHECK int set_baseline(void *ctx, const char *v)
{
	((struct watch_opts *)ctx)->baseline = true;
	return 0;
}

static SNP_MUST_CHECK int set_host_snp(void *ctx, const char *v)
{
	((struct watch_opts *)ctx)->host_snp = true;
	return 0;
}

static SNP_MUST_CHECK int set_kvm_build(void *ctx, const char *v)
{
	if (strcmp(v, "sieve") && strcmp(v, "stock") && strcmp(v, "forgot-hsave"))
		return SNP_EINVAL;
	((struct watch_opts *)ctx)->kvm_build = v;
	return 0;
}

static SNP_MUST_CHECK int set_install(void *ctx, const char *v)
{
	((struct watch_opts *)ctx)->install = true;
	return 0;
}

static SNP_MUST_CHECK int set_remodel(void *ctx, const char *v)
{
	((struct watch_opts *)ctx)->remodel = v;
	return 0;
}

static SNP_MUST_CHECK int set_again(void *ctx, const char *v)
{
	((struct watch_opts *)ctx)->again = true;
	return 0;
}

static const struct cli_option watch_options[] = {
	{ "kernel", true, set_kernel, "6.1|6.12|PATH",
	  "Debian kernel to watch (default 6.1), or your own bzImage (then --modules)",
	  "6.1, 6.12 or the path of a bzImage" },
	{ "modules", true, set_modules, "DIR", "with a bzImage PATH: its lib/modules/<version> folder",
	  NULL },
	{ "vms", true, set_vms, "N", "VMs alive at once (default 4)", "1..1024" },
	{ "vcpus", true, set_vcpus, "N", "vCPUs per VM (default 2)", "1..64" },
	{ "seconds", true, set_seconds, "S", "how long the workload runs (default 5)", "0.5..3600" },
	{ "lifetime", true, set_lifetime, "S",
	  "a VM's life before it is destroyed and a new one made (default 0: the whole run)",
	  "0..3600" },
	{ "age-rounds", true, set_age_rounds, "N",
	  "age the guest first: N rounds of page cache, anonymous memory, slab and VM churn, "
	  "a share of each kept (default 0: a fresh host)", "0..32" },
	{ "age-seed", true, set_age_seed, "S", "the ageing rounds' seed (default 1)", "a whole number" },
	{ "boot-dump", true, set_boot_dump, "FILE",
	  "the model estimate's hosts start from this measured boot (watch/boot-dump.sh's, of a "
	  "boot of --mem) instead of the boot-state rules (docs/MODEL.md \"Boot state from a dump\")",
	  NULL },
	{ "cpus", true, set_cpus, "N", "CPUs of the watched machine (default 2, at most 8)", "1..8" },
	{ "mem", true, set_mem, "SIZE", "its memory (default 1G, 256M to 2G)", "256M..2G" },
	{ "filter", true, set_filter, "inguest|ever|all",
	  "stores kept: in a VMRUN page's 2MB region while in guest mode (default), ever, all",
	  "inguest, ever, all" },
	{ "trace", true, set_trace, "FILE", "where the trace goes (default OUT/watch.trace)", NULL },
	{ "out", true, set_out, "DIR", "working folder (default .cache/watch/KERNEL)", NULL },
	{ "host-snp", false, set_host_snp, "",
	  "6.12: make kvm_amd believe the host has SNP, so its own snp_safe_alloc_page_node works",
	  NULL },
	{ "kvm-build", true, set_kvm_build, "sieve|stock|forgot-hsave",
	  "6.12: build kvm-amd.ko with kernel/build.sh and load it in place of the shipped one",
	  "sieve, stock, forgot-hsave" },
	{ "baseline", false, set_baseline, "", "also run unwatched, and report the slowdown", NULL },
	{ "again", false, set_again, "",
	  "boot nothing: judge the last run in --out again (same flags as that run)", NULL },
	{ "remodel", true, set_remodel, "FILE",
	  "boot nothing: FILE is a watch --json run; print it with its model estimate made again "
	  "by this build (its recorded configuration and seed; --boot-dump FILE where the recorded "
	  "dump's path is another machine's, or to start a run judged with the rules from a dump)",
	  NULL },
	{ "install", false, set_install, "",
	  "install what is missing without asking (apt-get install, as root; QEMU 10 from "
	  "bookworm-backports, whose apt source it adds).  Without it watch says what it would "
	  "install, asks on a terminal and stops elsewhere (CI=true installs too)", NULL },
	{ "json", false, set_json, "", "print one JSON object on stdout", NULL },
	{ NULL, false, NULL, NULL, NULL, NULL },
};

/* The source tree holding watch/run.sh: the binary lives in <top>/build*. */
static SNP_MUST_CHECK int find_top(char *top, size_t len)
{
	const char *env = getenv("SNPSAFE_TOP");
	char exe[PATH_MAX], path[PATH_MAX + 32];
	ssize_t n;

	if (env && *env) {
		snprintf(top, len, "%s", env);
	} else {
		n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
		if (n <= 0)
			return -1;
		exe[n] = '\0';
		for (int i = 0; i < 2; i++) {
			char *slash = strrchr(exe, '/');
			if (!slash)
				return -1;
			*slash = '\0';
		}
		snprintf(top, len, "%s", exe);
	}
	snprintf(path, sizeof(path), "%s/watch/run.sh", top);
	return access(path, R_OK) ? -1 : 0;
}

/* Run watch/run.sh; its progress goes to our stderr.  0 or the script's failure. */
static SNP_MUST_CHECK int run_script(const char *top, const struct watch_opts *o, const char *out, bool watched)
{
	char script[PATH_MAX + 32], vms[24], vcpus[24], secs[32], life[32], cpus[24], mem[24];
	char rounds[24], seed[24];
	const bool path = strcmp(o->kernel, "6.1") && strcmp(o->kernel, "6.12");
	int status;
	pid_t pid;

	snprintf(script, sizeof(script), "%s/watch/run.sh", top);
	snprintf(vms, sizeof(vms), "%llu", (unsigned long long)o->vms);
	snprintf(vcpus, sizeof(vcpus), "%llu", (unsigned long long)o->vcpus);
	snprintf(secs, sizeof(secs), "%g", o->seconds);
	snprintf(life, sizeof(life), "%g", o->lifetime);
	snprintf(cpus, sizeof(cpus), "%llu", (unsigned long long)o->cpus);
	snprintf(mem, sizeof(mem), "%llu", (unsigned long long)(o->mem / SNP_MiB));
	snprintf(rounds, sizeof(rounds), "%llu", (unsigned long long)o->age_rounds);
	snprintf(seed, sizeof(seed), "%llu", (unsigned long long)o->age_seed);
	fflush(stdout);
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		if (dup2(STDERR_FILENO, STDOUT_FILENO) < 0 ||
		    setenv("SNPSAFE_WATCH_HOST_SNP", o->host_snp ? "1" : "0", 1) ||
		    setenv("SNPSAFE_WATCH_AGE_ROUNDS", rounds, 1) ||
		    setenv("SNPSAFE_WATCH_AGE_SEED", seed, 1) ||
		    (o->kvm_ko[0] && setenv("SNPSAFE_WATCH_KVM_AMD_KO", o->kvm_ko, 1)))
			_exit(127);
		execlp("bash", "bash", script, out, path ? "path" : o->kernel, vms, vcpus, secs, life,
		       cpus, mem, o->filter, watched ? "1" : "0", path ? o->kernel : "",
		       path ? o->modules : "", (char *)NULL);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

/*
 * Run argv in the tree's top with its stdout captured and its stderr passed
 * through (a script's progress): the last non-empty line of stdout goes to
 * last.  The exit status, or -1 when it could not be run.
 */
static SNP_MUST_CHECK int run_capture(const char *top, char *const argv[], char *last, size_t len)
{
	char buf[4096], line[PATH_MAX];
	size_t ll = 0;
	int fd[2], status;
	ssize_t n;
	pid_t pid;

	last[0] = '\0';
	if (pipe(fd))
		return -1;
	fflush(stdout);
	pid = fork();
	if (pid < 0) {
		close(fd[0]);
		close(fd[1]);
		return -1;
	}
	if (pid == 0) {
		close(fd[0]);
		if (dup2(fd[1], STDOUT_FILENO) < 0 || chdir(top))
			_exit(127);
		close(fd[1]);
		execvp(argv[0], argv);
		_exit(127);
	}
	close(fd[1]);
	while ((n = read(fd[0], buf, sizeof(buf))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			break;
		for (ssize_t i = 0; i < n; i++) {
			if (buf[i] != '\n') {
				if (ll + 1 < sizeof(line))
					line[ll++] = buf[i];
				continue;
			}
			line[ll] = '\0';
			if (ll)
				snprintf(last, len, "%s", line);
			ll = 0;
		}
	}
	if (ll) {
		line[ll] = '\0';
		snprintf(last, len, "%s", line);
	}
	close(fd[0]);
	if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

/* SNPSAFE_WATCH_PROBES=0: watch/run.sh armed no tracefs probe, so there is no allocation log. */
static bool no_probes(void)
{
	const char *e = getenv("SNPSAFE_WATCH_PROBES");

	return e && !strcmp(e, "0");
}

/*
 * --kvm-build: kernel/build.sh KVER VARIANT builds kvm-amd.ko against the
 * Debian 6.12 kernel watch boots (KVER from scripts/debian.sh, as run.sh
 * resolves it) and prints the module's path as its last line of stdout; its
 * log goes to stderr.  The path goes to run.sh as SNPSAFE_WATCH_KVM_AMD_KO.
 * 0, or the command's failure exit status after one line.
 */
static SNP_MUST_CHECK int kvm_build(const char *top, struct watch_opts *o)
{
	char *resolve[] = { "bash", "-c", "source scripts/debian.sh && snp_kernel_resolve 6.12", NULL };
	char script[PATH_MAX + 32], kver[128];
	char *build[] = { "bash", "kernel/build.sh", kver, (char *)o->kvm_build, NULL };
	struct stat st;
	int ret;

	snprintf(script, sizeof(script), "%s/kernel/build.sh", top);
	if (access(script, R_OK))
		return cli_fail("watch", "--kvm-build: no kernel/build.sh in %s", top);
	if (run_capture(top, resolve, kver, sizeof(kver)) || !kver[0])
		return cli_fail("watch", "--kvm-build: cannot name the Debian 6.12 kernel (see above)");
	fprintf(stderr, "watch: building kvm-amd.ko (%s) for %s: bash kernel/build.sh %s %s\n",
		o->kvm_build, kver, kver, o->kvm_build);
	ret = run_capture(top, build, o->kvm_ko, sizeof(o->kvm_ko));
	if (ret)
		return cli_fail("watch", "--kvm-build %s: kernel/build.sh failed (exit %d, see above)",
				o->kvm_build, ret);
	if (stat(o->kvm_ko, &st) || !S_ISREG(st.st_mode))
		return cli_fail("watch", "--kvm-build %s: kernel/build.sh named '%s', which is not a file",
				o->kvm_build, o->kvm_ko);
	return 0;
}

#define WATCH_MAX_PROBES 8

/* What watch/run.sh left in OUT/result. */
struct run_result {
	char kernel[128];
	char workload[256];
	double qemu_s;
	/* The watched kernel's own kprobe hit counts (an independent cross-check). */
	unsigned int nr_probes;
	char probe[WATCH_MAX_PROBES][48];
	uint64_t probe_hits[WATCH_MAX_PROBES];
	uint64_t mem_total_kb, mem_free_kb;   /* the guest's, before the workload */
	char kvm_amd_ko[PATH_MAX];            /* loaded in place of the shipped kvm-amd, or "" */
	uint64_t age_rounds, age_seed;        /* the ageing the run had (0 rounds: none) */
	char age[320];                        /* the ager's closing line, or "" */
};

/*
 * The model configured like the watched run, beside what the run measured:
 * the 2MB-aligned fraction of vmcb01 pages (Wilson 95% intervals on both)
 * and the spurious faults.  docs/WATCH.md, "Model against reality".
 */
struct model_vs_real {
	uint64_t real_k, real_n;            /* aligned distinct VMCBs, distinct VMCBs */
	const char *boot_dump_path;         /* --boot-dump, NULL: the boot-state rules */
	uint64_t boot_dump_hash;
	double real_p, real_lo, real_hi;    /* NaN over no VMCB */
	/* vmcb01 allocations at their call site (alloc.log), the model's unit */
	const struct snp_vmcb01_allocs *allocs;    /* NULL: no log, or no site found */
	double alloc_p, alloc_lo, alloc_hi;
	uint64_t real_huge;                 /* of the aligned, under a 2M/1G leaf */
	uint64_t real_spurious[SIM_REPLAY_NR_BOUNDS];  /* replay, early-snp: proven, possible */
	uint64_t stuck_vmcbs;               /* VMCBs of stuck vCPUs (snpsafe/replay.h) */
	uint64_t stuck_faults[SIM_REPLAY_NR_BOUNDS];   /* all faults on their runs */
	struct sim_mc_config cfg;
	struct sim_mc_result res;
	uint64_t model_k, model_n;          /* vmcb01 aligned / allocated */
	double model_p, model_lo, model_hi; /* NaN over no vmcb01 */
	unsigned int age_pct;               /* the model's --age: 0 but for an aged boot */
	unsigned int in_use_pct;            /* the boot's: (MemTotal - MemFree) / MemTotal */
	struct sim_mc_trial *hosts;         /* the model's hosts, each one's counts (cfg.trials) */
	struct watch_cluster measured;      /* vmcb01 exposure and clustering (watch_cluster.h) */
	/* VM churn (--lifetime): a VM's measured life, in seconds, and the tick it is counted in */
	double vm_life_s, tick_s;
	/* this run's hugepage stores into VMRUN regions a second, proven and possible (replay) */
	double region_rate[SIM_REPLAY_NR_BOUNDS];
};

/* k of n with its Wilson 95% interval; all three NaN over no observation (printed n/a, JSON null). */
static void watch_rate(uint64_t k, uint64_t n, double *p, double *lo, double *hi)
{
	if (!n) {
		*p = *lo = *hi = NAN;
		return;
	}
	*p = (double)k / (double)n;
	sim_wilson_interval(k, n, 1.96, lo, hi);
}

static SNP_MUST_CHECK int read_result(const char *out, struct run_result *r)
{
	char path[PATH_MAX + 96], line[PATH_MAX + 64];
	FILE *f;

	memset(r, 0, sizeof(*r));
	snprintf(path, sizeof(path), "%s/result", out);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		if (!strncmp(line, "kernel=", 7))
			snprintf(r->kernel, sizeof(r->kernel), "%.127s", line + 7);
		else if (!strncmp(line, "workload=", 9))
			snprintf(r->workload, sizeof(r->workload), "%.255s", line + 9);
		else if (!strncmp(line, "qemu_s=", 7))
			r->qemu_s = strtod(line + 7, NULL);
		else if (!strncmp(line, "mem_total_kb=", 13))
			r->mem_total_kb = strtoull(line + 13, NULL, 10);
		else if (!strncmp(line, "mem_free_kb=", 12))
			r->mem_free_kb = strtoull(line + 12, NULL, 10);
		else if (!strncmp(line, "age_rounds=", 11))
			r->age_rounds = strtoull(line + 11, NULL, 10);
		else if (!strncmp(line, "age_seed=", 9))
			r->age_seed = strtoull(line + 9, NULL, 10);
		else if (!strncmp(line, "age=", 4))
			snprintf(r->age, sizeof(r->age), "%.319s", line + 4);
		else if (!strncmp(line, "kvm_amd_ko=", 11))
			snprintf(r->kvm_amd_ko, sizeof(r->kvm_amd_ko), "%.*s", PATH_MAX - 1, line + 11);
		else if (!strncmp(line, "kprobe_", 7) && strchr(line, '=') &&
			 r->nr_probes < WATCH_MAX_PROBES) {
			char *eq = strchr(line, '=');

			*eq = '\0';
			snprintf(r->probe[r->nr_probes], sizeof(r->probe[0]), "%.47s", line + 7);
			r->probe_hits[r->nr_probes++] = strtoull(eq + 1, NULL, 10);
		}
	}
	fclose(f);
	return r->kernel[0] ? 0 : -1;
}

/* "key=N" out of the workload's closing line, or 0. */
static uint64_t workload_field(const char *wl, const char *key)
{
	size_t n = strlen(key);

	for (const char *p = wl; (p = strstr(p, key)); p += n)
		if ((p == wl || p[-1] == ' ') && p[n] == '=')
			return strtoull(p + n + 1, NULL, 10);
	return 0;
}


/*
 * The churn tick: the real time one model tick between two VM lives stands
 * for, to turn a watched run's VM life into ticks.  Not the calibrated tick
 * (docs/MODEL.md "The tick in real time": about 0.1 ms at this shape, the
 * time the watched host takes to make as many hugepage stores into VMRUN
 * regions as a model tick): at that tick a boot's 216 lives a slot would be
 * over a million ticks a host, too slow for an estimate beside every run,
 * and what the estimate matches is the number of creations, not the work
 * between them.  1 s stays a named assumption (decay_pcp_high() once a
 * tick, as the vmstat refresh runs it about once a second), printed with
 * the estimate beside the calibrated tick of the run.
 */
#define WATCH_MODEL_TICK_S 1.0
/*
 * Boot-like model hosts per estimate: each creates as many vCPUs as the
 * watched boot did.  32: a host's vmcb01 pages come from a few hundred
 * pages that its VMs keep recycling, so whether a 2MB-aligned one is among
 * them varies from host to host; 8 hosts left the model's aligned interval
 * wider than the measured one (docs/WATCH.md "Pooled: 20 boots").
 */
#define WATCH_MODEL_HOSTS 32

/*
 * A watched guest's memory: watch/workload.c vm_life() maps GUEST_MEM (64
 * KiB) of anonymous memory and writes the guest's code into one page of it
 * (GUEST_ENTRY); the guest, a loop at that address, touches no other page.
 * So a guest holds one order-0 MOVABLE page, faulted in on the VMM's CPU,
 * not the 64..511 pages (in blocks up to order 4) simulate draws for a VM
 * by default: those blocks' frees at each VM's end set 6.12's free_high
 * and drained the model's per-CPU lists about ten times as often as a
 * watched 6.12 boot's tracepoints show (docs/WATCH.md "The model's per-CPU
 * lists against the kernel's").
 */
#define WATCH_GUEST_PAGES 1
/*
 * The share of VMs whose VMM thread ends them on a CPU drawn afresh by the
 * VMM weights (--vmm-migrate), measured in two boots a kernel of the
 * campaign's shape (docs/data/rcu-gp-2026-12-07, docs/WATCH.md "SLUB's
 * per-CPU partial lists, and where a VM ends"): the 6.12 boots made and
 * ended their VMs on the same CPU 3,153 times in 5,024, the 6.1 boots
 * 2,884 in 4,965.  With their makings' shares (54.7/45.3, 57.9/42.1) a
 * fresh draw repeats the CPU half the time (the sum of the squared
 * shares), so (1 - same) / (1 - that) are drawn: 75% and 86%.
 */
#define WATCH_VMM_MIGRATE_PCT_612 75
#define WATCH_VMM_MIGRATE_PCT_61  86

static unsigned int watch_vmm_migrate_pct(enum mm_kernel k)
{
	return k == MM_KERNEL_6_1 ? WATCH_VMM_MIGRATE_PCT_61 : WATCH_VMM_MIGRATE_PCT_612;
}

/*
 * The churn's timeline in the model (simulate --remake-after, --rcu-grace;
 * docs/MODEL.md "VM churn"), from the rcu-gp boots
 * (docs/data/rcu-gp-2026-12-07, watch/rcu-gp-report.sh): a VMM thread made
 * its next VM a median 42-66 ms after its last one's end, while VMs ended
 * every 43-54 ms (2,205-2,760 in 120 s): about one more VM end between a
 * VM's end and its successor; and the RCU callbacks freed a VM's debugfs
 * inodes a median 16-19 ms after its end (6.12), before the next end.
 * 6.1's callbacks were not timed (its inode slabs are order 1, which the
 * hook did not record): taken as 6.12's.
 */
#define WATCH_REMAKE_AFTER 1
#define WATCH_RCU_GRACE_END true

/* A loop of the workload's host thread writes 4 MiB (watch/workload.c host_thread()). */
#define WATCH_HOST_LOOP_MIB 4

/*
 * With --lifetime the model churns its VMs as the workload did.  A VM's
 * real life is the run's seconds x VM slots / VMs created (QEMU's TCG makes
 * a creation take time, so it is longer than --lifetime); in ticks it is
 * that over WATCH_MODEL_TICK_S, rounded, at least 1.  A host runs as many
 * VM lives as the boot's slots did (vms_created / vms), so it creates as
 * many vCPUs, and its ticks are that many lifetimes.  Without --lifetime (or
 * no VM count in the log) the old shape: default ticks, hosts enough for
 * about the run's vCPUs.
 */
static void model_churn(const struct watch_opts *o, const struct run_result *r, struct model_vs_real *m)
{
	uint64_t vms_created = workload_field(r->workload, "vms_created");
	uint64_t vcpus = workload_field(r->workload, "vcpus_created");
	uint64_t per_trial = o->vms * o->vcpus, lives, life;

	m->tick_s = WATCH_MODEL_TICK_S;
	if (o->lifetime > 0 && vms_created >= o->vms && o->seconds > 0) {
		m->vm_life_s = o->seconds * (double)o->vms / (double)vms_created;
		life = (uint64_t)(m->vm_life_s / m->tick_s + 0.5);
		life = life ? life : 1;
		lives = (vms_created + o->vms - 1) / o->vms;
		m->cfg.lifetime = (unsigned int)(life > 1000 ? 1000 : life);
		m->cfg.ticks = (unsigned int)((lives - 1) * m->cfg.lifetime);
		m->cfg.trials = WATCH_MODEL_HOSTS;
		return;
	}
	m->cfg.trials = (unsigned int)((vcpus + per_trial - 1) / per_trial);
	m->cfg.trials = m->cfg.trials < 8 ? 8 : m->cfg.trials > 256 ? 256 : m->cfg.trials;
}

/*
 * The workload's host thread at the boot's own pace: the loops it made
 * (host_mib_written / 4 MiB) spread over the model's ticks.  A boot without
 * the count, or a model without ticks, runs none.
 */
static void model_host_loops(const struct run_result *r, struct model_vs_real *m)
{
	uint64_t mib = workload_field(r->workload, "host_mib_written");

	m->cfg.host_loops = 0;
	if (m->cfg.ticks && mib)
		m->cfg.host_loops = (double)(mib / WATCH_HOST_LOOP_MIB) / (double)m->cfg.ticks;
	if (m->cfg.host_loops > SIM_MC_HOST_LOOPS_MAX)
		m->cfg.host_loops = SIM_MC_HOST_LOOPS_MAX;
}

/*
 * The CPUs the workload's VMM threads made their vCPUs on (each vmcb01
 * allocation's CPU in the allocation log), as the model's VMM CPU weights:
 * the watched boots put 54-58% (6.12) and 62-64% (6.1) of them on CPU 0,
 * and the VMM's CPU is where a VM's pages go back at its end.  Without a
 * log, uniform.
 */
static void model_vmm_cpus(struct model_vs_real *m)
{
	memset(m->cfg.vmm_cpu_weight, 0, sizeof(m->cfg.vmm_cpu_weight));
	if (!m->allocs)
		return;
	for (unsigned int c = 0; c < m->cfg.cpus && c < SIM_MC_VMM_CPUS_MAX; c++)
		m->cfg.vmm_cpu_weight[c] = m->allocs->by_cpu[c] > SIM_MC_VMM_WEIGHT_MAX ?
					   SIM_MC_VMM_WEIGHT_MAX : (uint32_t)m->allocs->by_cpu[c];
}

/* The model's machine and VMs: the watched run's memory, CPUs, VMs and vCPUs, plain SVM guests. */
static void model_machine(const struct watch_opts *o, struct model_vs_real *m)
{
	sim_mc_config_init(&m->cfg);
	m->cfg.mem_bytes = o->mem;
	m->cfg.cpus = (unsigned int)o->cpus;
	m->cfg.vms = (unsigned int)o->vms;
	m->cfg.vcpus = (unsigned int)o->vcpus;
	memset(m->cfg.mix, 0, sizeof(m->cfg.mix));
	m->cfg.mix[SIM_VM_SVM] = 1;
}

/* Did the run record its memory counts (result's mem_total_kb, mem_free_kb)? */
static bool run_has_mem_counts(const struct run_result *r)
{
	return r->mem_total_kb && r->mem_free_kb <= r->mem_total_kb;
}

/*
 * simulate with the watched run's memory, CPUs, VMs and vCPUs, VM churn,
 * plain SVM guests, no ageing for a fresh run (an aged run: watch's ager,
 * its rounds after kvm_amd loads, --age-profile watch), its kernel
 * generation, and the strategy the watched kernel used (naive: no
 * workaround path; upstream: --host-snp) (model_churn() says how many hosts).
 */
static SNP_MUST_CHECK int model_estimate(const struct watch_opts *o, const struct run_result *r,
			  const struct snp_trace_summary *s, const struct sim_replay_result *rr,
			  const struct watch_prov *wp, struct model_vs_real *m)
{
	unsigned int nr = 0;
	int ret;

	memset(m, 0, sizeof(*m));
	m->real_k = s->vmcb.aligned;
	m->real_n = s->vmcb.distinct;
	m->real_huge = s->vmcb_aligned_hugepage;
	for (int b = 0; b < SIM_REPLAY_NR_BOUNDS; b++)
		m->real_spurious[b] = rr->bound[b].spurious;
	m->stuck_vmcbs = rr->nr_stuck;
	for (int b = 0; b < SIM_REPLAY_NR_BOUNDS; b++)
		m->region_rate[b] = sim_replay_region_rate(&rr->region, (enum sim_replay_bound)b, false);
	for (int b = 0; b < SIM_REPLAY_NR_BOUNDS; b++)
		m->stuck_faults[b] = rr->stuck_sum.faults[b];
	watch_rate(m->real_k, m->real_n, &m->real_p, &m->real_lo, &m->real_hi);
	if (wp->recorded && wp->prov.vmcb01.found) {
		m->allocs = &wp->prov.vmcb01;
		watch_rate(m->allocs->aligned, m->allocs->allocs, &m->alloc_p, &m->alloc_lo, &m->alloc_hi);
	}
	if (run_has_mem_counts(r))
		m->in_use_pct = (unsigned int)((r->mem_total_kb - r->mem_free_kb) * 100 /
					       r->mem_total_kb);
	/*
	 * A fresh boot's model is not aged: its in-use memory is the boot
	 * state's (the kernel's own memory, the per-CPU lists), which the
	 * qemu-pc rules make; simulate's generic ager on top would fill the
	 * host and churn it back, leaving free UNMOVABLE and RECLAIMABLE
	 * pageblocks no fresh boot has (docs/MODEL.md "Boot state: the boot's
	 * holes").  An aged boot ages as its ager did (below); a dumped boot
	 * as its workload found it: its ageing is in the dump.
	 */
	m->age_pct = r->age_rounds && !o->boot_dump ? m->in_use_pct : 0;
	model_machine(o, m);
	m->cfg.guest_pages = WATCH_GUEST_PAGES;
	/* the workload makes no irqchip: its vCPUs have no LAPIC page (no KVM_CREATE_IRQCHIP) */
	m->cfg.no_irqchip = true;
	/* KVM's debugfs files, as under TCG (no TSC ratio MSR); see src/kvm/kvm_debugfs.c */
	m->cfg.kvm_debugfs = KVM_DEBUGFS_TCG;
	m->cfg.age_pct = m->age_pct;
	if (r->age_rounds && !o->boot_dump) {
		/* an aged boot: the model ages as its ager did, after kvm_amd loads */
		m->cfg.age_profile = SIM_AGE_WATCH;
		m->cfg.age_rounds = (unsigned int)r->age_rounds;
	}
	m->cfg.kernel = strncmp(r->kernel, "6.1.", 4) ? MM_KERNEL_6_12 : MM_KERNEL_6_1;
	m->cfg.vmm_migrate_pct = watch_vmm_migrate_pct(m->cfg.kernel);
	m->cfg.remake_after = WATCH_REMAKE_AFTER;
	m->cfg.rcu_grace_end = WATCH_RCU_GRACE_END;
	/* the watched kernel's own RAM map: QEMU pc's e820 (watch refuses more than 2 GiB) */
	m->cfg.ram_layout = SNP_RAM_QEMU_PC;
	m->cfg.strategies = 1u << (o->host_snp ? SNP_ALLOC_UPSTREAM : SNP_ALLOC_NAIVE);
	m->cfg.boot_dump = o->boot_dump;
	m->boot_dump_path = o->boot_dump_path;
	m->boot_dump_hash = o->boot_dump_hash;
	model_churn(o, r, m);
	model_host_loops(r, m);
	model_vmm_cpus(m);
	m->cfg.threads = 2;
	m->cfg.age_share = 1;    /* independent hosts: one aged allocator each */
	/* each host's counts, for merge to pool with other boots' (docs/WATCH.md) */
	m->hosts = calloc(m->cfg.trials, sizeof(*m->hosts));
	if (!m->hosts)
		return SNP_ENOMEM;
	m->cfg.trials_out = m->hosts;
	ret = sim_mc_run(&m->cfg, &m->res, &nr);
	m->cfg.trials_out = NULL;
	if (ret || nr != 1)
		return ret ? ret : SNP_EINVAL;
	m->model_k = m->res.aligned_by_kind[KVM_PAGE_VMCB01];
	m->model_n = m->res.sensitive_by_kind[KVM_PAGE_VMCB01];
	watch_rate(m->model_k, m->model_n, &m->model_p, &m->model_lo, &m->model_hi);
	return 0;
}

/* "P% [LO%, HI%]", or "n/a" over no observation. */
static const char *watch_rate_text(double p, double lo, double hi, char *buf, size_t len)
{
	char a[24], b[24], c[24];

	if (!isfinite(p))
		return cli_fmt_fixed(p, 3, buf, len);
	snprintf(buf, len, "%s%% [%s%%, %s%%]", cli_fmt_fixed(100 * p, 3, a, sizeof(a)),
		 cli_fmt_fixed(100 * lo, 3, b, sizeof(b)), cli_fmt_fixed(100 * hi, 3, c, sizeof(c)));
	return buf;
}

/* The model's ageing as simulate's flags: --age PCT, or watch's ager's rounds. */
static const char *model_age_flags(const struct sim_mc_config *c, char *buf, size_t len)
{
	if (c->age_profile == SIM_AGE_WATCH)
		snprintf(buf, len, "--age-profile watch --age-rounds %u", c->age_rounds);
	else
		snprintf(buf, len, "--age %u", c->age_pct);
	return buf;
}

static const char *const mt_key[MM_NR_MIGRATETYPES] = { "unmovable", "movable", "reclaimable" };

/* A host's mean of a summed count. */
static double per_host(const struct model_vs_real *m, uint64_t sum)
{
	return m->res.trials ? (double)sum / (double)m->res.trials : NAN;
}

/*
 * The model's per-CPU lists while its VMs ran, a host's mean: what
 * watch/guest-pcp-flow.sh counts in the watched kernel (docs/WATCH.md "The
 * model's per-CPU lists against the kernel's").
 */
static void model_pcp_text(const struct model_vs_real *m)
{
	const struct sim_pcp_work *w = &m->res.pcp;

	printf("  model per-CPU lists while the VMs ran, order-0 pages (mean per host; "
	       "unmovable / movable / reclaimable):\n"
	       "    allocated %.0f / %.0f / %.0f; refilled from the buddy %.0f / %.0f / %.0f; "
	       "drained to it %.0f / %.0f / %.0f\n",
	       per_host(m, w->allocs[0]), per_host(m, w->allocs[1]), per_host(m, w->allocs[2]),
	       per_host(m, w->flow.refill[0]), per_host(m, w->flow.refill[1]),
	       per_host(m, w->flow.refill[2]), per_host(m, w->flow.drain[0]),
	       per_host(m, w->flow.drain[1]), per_host(m, w->flow.drain[2]));
	printf("    fallbacks (mm_page_alloc_extfrag): whole pageblocks claimed %.1f / %.1f / %.1f; "
	       "part-free pageblocks claimed %.1f / %.1f / %.1f; stolen %.1f / %.1f / %.1f\n",
	       per_host(m, w->flow.claim_block[0]), per_host(m, w->flow.claim_block[1]),
	       per_host(m, w->flow.claim_block[2]), per_host(m, w->flow.claim_part[0]),
	       per_host(m, w->flow.claim_part[1]), per_host(m, w->flow.claim_part[2]),
	       per_host(m, w->flow.steal[0]), per_host(m, w->flow.steal[1]),
	       per_host(m, w->flow.steal[2]));
	printf("    on the lists at a tick's end, every CPU's: %.0f pages (mean of %llu ticks)\n",
	       w->pcp_ticks ? (double)w->pcp_pages / (double)w->pcp_ticks : NAN,
	       (unsigned long long)w->pcp_ticks);
}

/* One count a migratetype, a host's mean. */
static void json_mt_counts(struct json *j, const char *key, const struct model_vs_real *m,
			   const uint64_t v[MM_NR_MIGRATETYPES])
{
	json_obj_begin(j, key);
	for (unsigned int t = 0; t < MM_NR_MIGRATETYPES; t++)
		json_double(j, mt_key[t], per_host(m, v[t]));
	json_obj_end(j);
}

static void json_model_pcp(struct json *j, const struct model_vs_real *m)
{
	const struct sim_pcp_work *w = &m->res.pcp;

	json_obj_begin(j, "pcp_order0_per_host");
	json_mt_counts(j, "allocated", m, w->allocs);
	json_mt_counts(j, "refilled", m, w->flow.refill);
	json_mt_counts(j, "drained", m, w->flow.drain);
	json_double(j, "on_lists_at_tick_end", w->pcp_ticks ? (double)w->pcp_pages / (double)w->pcp_ticks : NAN);
	json_obj_end(j);
	/* blocks of any order, by the request's type: mm_page_alloc_extfrag's events */
	json_obj_begin(j, "fallbacks_per_host");
	json_mt_counts(j, "claimed_pageblocks", m, w->flow.claim_block);
	json_mt_counts(j, "claimed_part_pageblocks", m, w->flow.claim_part);
	json_mt_counts(j, "stolen", m, w->flow.steal);
	json_obj_end(j);
}

static void print_model(const struct model_vs_real *m)
{
	char vmm[SIM_MC_VMM_CPUS_MAX * 12];
	char rate[80], age[64];

	printf("\nmodel against reality (vmcb01 pages 2MB-aligned, Wilson 95%%):\n");
	printf("  measured %llu of %llu distinct VMCBs = %s; %llu of them under a "
	       "2M/1G leaf; replay: spurious #PF proven %llu, possible %llu\n", (unsigned long long)m->real_k,
	       (unsigned long long)m->real_n, watch_rate_text(m->real_p, m->real_lo, m->real_hi, rate, sizeof(rate)),
	       (unsigned long long)m->real_huge,
	       (unsigned long long)m->real_spurious[SIM_REPLAY_PROVEN],
	       (unsigned long long)m->real_spurious[SIM_REPLAY_POSSIBLE]);
	if (m->stuck_vmcbs)
		printf("  warning: %llu VMCB(s) of stuck vCPUs; faults on their runs, proven..possible "
		       "%llu..%llu, are in the counts (see VMRUN rate below)\n",
		       (unsigned long long)m->stuck_vmcbs,
		       (unsigned long long)m->stuck_faults[SIM_REPLAY_PROVEN],
		       (unsigned long long)m->stuck_faults[SIM_REPLAY_POSSIBLE]);
	if (m->allocs)
		printf("  measured %llu of %llu vmcb01 allocations = %s (each allocation at %s, "
		       "as the model counts)\n", (unsigned long long)m->allocs->aligned,
		       (unsigned long long)m->allocs->allocs,
		       watch_rate_text(m->alloc_p, m->alloc_lo, m->alloc_hi, rate, sizeof(rate)), m->allocs->site);
	else
		printf("  measured vmcb01 allocations: not in this run's allocation log\n");
	printf("  model    %llu of %llu vmcb01 pages  = %s; %llu of %llu hosts with a "
	       "spurious #PF (%llu faults)\n", (unsigned long long)m->model_k,
	       (unsigned long long)m->model_n, watch_rate_text(m->model_p, m->model_lo, m->model_hi, rate, sizeof(rate)),
	       (unsigned long long)m->res.trials_with_fault,
	       (unsigned long long)m->res.trials, (unsigned long long)m->res.spurious_faults);
	sim_vmm_cpus_text(&m->cfg, vmm, sizeof(vmm));
	printf("  (snpsafe simulate --mem %lluM --cpus %u --vms %u --vcpus %u --mix svm %s "
	       "--kernel %s --layout %s --strategy %s --trials %u --age-share 1 --ticks %u "
	       "--lifetime %u --guest-pages %u --irqchip off --kvm-debugfs %s --host-loops %.6g%s%s "
	       "--vmm-migrate %u --remake-after %u --rcu-grace %s)\n",
	       (unsigned long long)(m->cfg.mem_bytes / SNP_MiB), m->cfg.cpus, m->cfg.vms, m->cfg.vcpus,
	       model_age_flags(&m->cfg, age, sizeof(age)), mm_kernel_name(m->cfg.kernel),
	       snp_ram_layout_name(m->cfg.ram_layout),
	       snp_alloc_strategy_name(m->res.strategy),
	       m->cfg.trials, m->cfg.ticks, m->cfg.lifetime, m->cfg.guest_pages,
	       kvm_debugfs_name(m->cfg.kvm_debugfs), m->cfg.host_loops, *vmm ? " --vmm-cpus " : "",
	       vmm, m->cfg.vmm_migrate_pct, m->cfg.remake_after, sim_rcu_grace_name(m->cfg.rcu_grace_end));
	if (m->cfg.lifetime)
		printf("  (VM churn: a VM lived %.3f s here, %u tick(s) of an assumed %g s; each model "
		       "host makes as many VMs as this boot did)\n", m->vm_life_s, m->cfg.lifetime, m->tick_s);
	if (m->cfg.boot_dump)
		printf("  (each model host started from the boot dumped in --boot-dump, its ageing "
		       "included, not the boot-state rules)\n");
	cli_tick_watch_text(&m->res, m->region_rate, m->cfg.lifetime ? m->tick_s : NAN);
	model_pcp_text(m);
}

/* Each model host's vmcb01 counts, for merge (cmd_merge.c reads them back). */
static void json_model_hosts(struct json *j, const struct model_vs_real *m)
{
	json_arr_begin(j, "hosts");
	for (unsigned int t = 0; t < m->cfg.trials; t++) {
		const struct sim_mc_trial *h = &m->hosts[t];

		json_obj_begin(j, NULL);
		json_u64(j, "vmcb01_allocated", h->sensitive_allocated[KVM_PAGE_VMCB01]);
		json_u64(j, "vmcb01_aligned", h->sensitive_aligned[KVM_PAGE_VMCB01]);
		/* as the measured side counts it: allocations, aligned, under a 2M/1G leaf */
		json_u64(j, "vmcb01_exposed", h->aligned_huge[KVM_PAGE_VMCB01]);
		cli_json_cluster(j, "clustering", &h->vmcb01_cluster);
		json_obj_end(j);
	}
	json_arr_end(j);
}

static void json_model_estimate(struct json *j, const struct model_vs_real *m);

static void json_model(struct json *j, const struct model_vs_real *m)
{
	json_obj_begin(j, "measured");
	json_u64(j, "vmcb_aligned", m->real_k);
	json_u64(j, "vmcb_distinct", m->real_n);
	json_double(j, "aligned_fraction", m->real_p);
	json_double(j, "ci95_lo", m->real_lo);
	json_double(j, "ci95_hi", m->real_hi);
	json_u64(j, "aligned_under_hugepage_leaf", m->real_huge);
	json_obj_begin(j, "spurious_faults");
	for (int b = 0; b < SIM_REPLAY_NR_BOUNDS; b++)
		json_u64(j, sim_replay_bound_name((enum sim_replay_bound)b), m->real_spurious[b]);
	json_obj_end(j);
	json_u64(j, "stuck_vmcbs", m->stuck_vmcbs);
	json_obj_begin(j, "stuck_faults");
	for (int b = 0; b < SIM_REPLAY_NR_BOUNDS; b++)
		json_u64(j, sim_replay_bound_name((enum sim_replay_bound)b), m->stuck_faults[b]);
	json_obj_end(j);
	if (m->allocs) {
		json_obj_begin(j, "vmcb01_allocations");
		json_str(j, "site", m->allocs->site);
		json_hex(j, "caller", m->allocs->caller);
		json_u64(j, "allocations", m->allocs->allocs);
		json_u64(j, "aligned", m->allocs->aligned);
		json_u64(j, "ran_as_vmcb", m->allocs->as_vmcb);
		json_double(j, "aligned_fraction", m->alloc_p);
		json_double(j, "ci95_lo", m->alloc_lo);
		json_double(j, "ci95_hi", m->alloc_hi);
		json_obj_end(j);
	} else {
		json_str(j, "vmcb01_allocations", NULL);   /* null: not in the log */
	}
	watch_cluster_print_json(j, &m->measured);
	json_obj_end(j);
	json_model_estimate(j, m);
}

/* The model's half of json_model(): what --remodel writes again. */
static void json_model_estimate(struct json *j, const struct model_vs_real *m)
{
	json_obj_begin(j, "model_estimate");
	json_str(j, "kernel", mm_kernel_name(m->cfg.kernel));
	json_str(j, "layout", snp_ram_layout_name(m->cfg.ram_layout));
	json_str(j, "strategy", snp_alloc_strategy_name(m->res.strategy));
	json_u64(j, "age_pct", m->cfg.age_pct);
	if (m->cfg.age_profile == SIM_AGE_WATCH) {   /* an aged run's; a fresh run's JSON as before */
		json_str(j, "age_profile", sim_age_profile_name(m->cfg.age_profile));
		json_u64(j, "age_rounds", m->cfg.age_rounds);
	}
	if (m->cfg.boot_dump) {   /* a run from a dump's; others' JSON as before */
		char hash[24];

		snprintf(hash, sizeof(hash), "%016llx", (unsigned long long)m->boot_dump_hash);
		json_str(j, "boot_dump", m->boot_dump_path);
		json_str(j, "boot_dump_fnv1a", hash);
	}
	json_u64(j, "trials", m->res.trials);
	json_u64(j, "ticks", m->cfg.ticks);
	json_u64(j, "lifetime_ticks", m->cfg.lifetime);
	json_u64(j, "guest_pages", m->cfg.guest_pages);
	json_str(j, "irqchip", m->cfg.no_irqchip ? "off" : "on");
	json_str(j, "kvm_debugfs", kvm_debugfs_name(m->cfg.kvm_debugfs));
	json_double(j, "host_loops", m->cfg.host_loops);
	{
		char vmm[SIM_MC_VMM_CPUS_MAX * 12];

		json_str(j, "vmm_cpus", sim_vmm_cpus_text(&m->cfg, vmm, sizeof(vmm)));
	}
	json_u64(j, "vmm_migrate", m->cfg.vmm_migrate_pct);
	json_u64(j, "remake_after", m->cfg.remake_after);
	json_str(j, "rcu_grace", sim_rcu_grace_name(m->cfg.rcu_grace_end));
	json_double(j, "tick_seconds", m->tick_s);
	json_double(j, "vm_life_seconds", m->cfg.lifetime ? m->vm_life_s : NAN);
	json_u64(j, "vmcb01_aligned", m->model_k);
	json_u64(j, "vmcb01_allocated", m->model_n);
	json_double(j, "aligned_fraction", m->model_p);
	json_double(j, "ci95_lo", m->model_lo);
	json_double(j, "ci95_hi", m->model_hi);
	json_u64(j, "trials_with_fault", m->res.trials_with_fault);
	json_u64(j, "spurious_faults", m->res.spurious_faults);
	json_u64_str(j, "seed", m->cfg.seed);
	cli_tick_watch_json(j, &m->res, m->region_rate);
	cli_json_cluster(j, "clustering", &m->res.vmcb01_cluster);
	json_model_pcp(j, m);
	json_model_hosts(j, m);
	json_obj_end(j);
}

/*
 * The ageing (--age-rounds): what the ager made and kept (its closing line,
 * watch/workload.c), and the guest's memory in use when the workload
 * started, the model's --age.
 */
static void print_age(const struct run_result *r, const struct model_vs_real *m)
{
	if (!r->age_rounds)
		return;
	printf("ageing: %llu rounds, seed %llu: made %llu MiB, kept %llu kB page cache, %llu kB "
	       "anonymous, %llu files, %llu pipe and socket fds; %llu VMs (%llu vCPUs) made and "
	       "destroyed%s\n", (unsigned long long)r->age_rounds, (unsigned long long)r->age_seed,
	       (unsigned long long)workload_field(r->age, "made_mib"),
	       (unsigned long long)workload_field(r->age, "kept_cache_kb"),
	       (unsigned long long)workload_field(r->age, "kept_anon_kb"),
	       (unsigned long long)workload_field(r->age, "kept_files"),
	       (unsigned long long)workload_field(r->age, "kept_fds"),
	       (unsigned long long)workload_field(r->age, "vms"),
	       (unsigned long long)workload_field(r->age, "vcpus"),
	       workload_field(r->age, "capped") ? " (stopped early: memory ran low)" : "");
	printf("  in use when the workload started (MemTotal - MemFree): %llu of %llu kB = %u%%\n\n",
	       (unsigned long long)(r->mem_total_kb - r->mem_free_kb),
	       (unsigned long long)r->mem_total_kb, m->in_use_pct);
}

static void json_age(struct json *j, const struct run_result *r, const struct model_vs_real *m)
{
	static const char *const keys[] = { "made_mib", "kept_cache_kb", "kept_anon_kb", "kept_files",
					    "kept_fds", "vms", "vcpus", "capped", "failures" };

	json_obj_begin(j, "ageing");
	json_u64(j, "rounds", r->age_rounds);
	if (r->age_rounds)
		json_u64(j, "seed", r->age_seed);
	else
		json_str(j, "seed", NULL);        /* null: a fresh run has no ageing seed */
	json_u64(j, "mem_total_kb", r->mem_total_kb);
	json_u64(j, "in_use_kb", r->mem_total_kb - r->mem_free_kb);
	if (run_has_mem_counts(r))
		json_u64(j, "in_use_pct", m->in_use_pct);
	else
		json_str(j, "in_use_pct", NULL);   /* null: the run recorded no memory counts */
	for (size_t i = 0; r->age_rounds && i < sizeof(keys) / sizeof(keys[0]); i++)
		json_u64(j, keys[i], workload_field(r->age, keys[i]));
	json_obj_end(j);
}

static void print_text(const struct watch_opts *o, const struct run_result *r,
		       const struct snp_trace_summary *s, const char *trace, uint64_t trace_bytes,
		       double base_s, const struct sim_replay_result *rr, const struct model_vs_real *m,
		       const struct watch_prov *wp)
{
	const struct snp_trace_pages *k[4] = { &s->vmcb, &s->hsave, &s->vmsa, &s->avic };
	static const char *kn[4] = { "VMCBs", "host save areas", "VMSAs", "AVIC backing pages" };
	char mem[32];

	printf("snpsafe watch: Linux %s%s, real kvm_amd under QEMU TCG (%llu CPUs, %s), "
	       "%llu VMs x %llu vCPUs for %g s\n", r->kernel,
	       o->host_snp ? " with CC_ATTR_HOST_SEV_SNP set" : "", (unsigned long long)o->cpus,
	       cli_fmt_size(o->mem, mem, sizeof(mem)), (unsigned long long)o->vms,
	       (unsigned long long)o->vcpus, o->seconds);
	if (r->kvm_amd_ko[0])
		printf("kvm_amd: %s in place of the shipped module%s%s\n", r->kvm_amd_ko,
		       o->kvm_build ? ", built by kernel/build.sh " : "", o->kvm_build ? o->kvm_build : "");
	printf("workload: vCPUs created %llu, ran %llu, stuck in the kernel %llu, VMs created %llu, "
	       "exits %llu\n\n",
	       (unsigned long long)workload_field(r->workload, "vcpus_created"),
	       (unsigned long long)workload_field(r->workload, "vcpus_ran"),
	       (unsigned long long)workload_field(r->workload, "vcpus_stuck"),
	       (unsigned long long)workload_field(r->workload, "vms_created"),
	       (unsigned long long)workload_field(r->workload, "exits"));
	print_age(r, m);
	if (r->nr_probes) {
		printf("kprobes in the watched kernel:");
		for (unsigned int i = 0; i < r->nr_probes; i++)
			printf(" %s %llu", r->probe[i], (unsigned long long)r->probe_hits[i]);
		printf("\n\n");
	}
	printf("  %-20s %10llu on %llu CPU(s)\n", "VMRUNs", (unsigned long long)s->vmruns,
	       (unsigned long long)s->vmrun_cpus);
	for (int i = 0; i < 4; i++)
		printf("  %-20s %10llu distinct, %llu 2MB-aligned\n", kn[i],
		       (unsigned long long)k[i]->distinct, (unsigned long long)k[i]->aligned);
	printf("  %-20s %10llu of %llu host direct-map stores (filter %s); leaf:",
	       "stores recorded", (unsigned long long)s->stores,
	       (unsigned long long)s->stores_seen, o->filter);
	for (int l = 0; l < 4; l++)
		if (s->stores_by_level[l])
			printf(" %s %llu", snp_trace_level_name(l), (unsigned long long)s->stores_by_level[l]);
	printf("\n  %-20s %10llu\n", "TLB flushes", (unsigned long long)s->flushes);
	printf("  %-20s %s (%.1f MiB, %llu records, %llu symbols)\n", "trace", trace,
	       (double)trace_bytes / (double)SNP_MiB, (unsigned long long)s->records,
	       (unsigned long long)s->symbols);
	printf("  %-20s %.1f s in QEMU, watched", "wall time", r->qemu_s);
	if (base_s > 0)
		printf("; %.1f s unwatched (%.2fx)", base_s, r->qemu_s / base_s);
	printf("\n\nreplayed through the model (snpsafe replay %s for other profiles and knobs):\n",
	       trace);
	cli_replay_print_verdicts(rr);
	cli_region_print_text(&rr->region);
	cli_replay_print_funcs(rr);
	watch_prov_print_text(wp);
	print_model(m);
	watch_cluster_print_text(&m->measured, &m->res.vmcb01_cluster);
}

static void json_pages(struct json *j, const char *key, const struct snp_trace_pages *p)
{
	json_obj_begin(j, key);
	json_u64(j, "distinct", p->distinct);
	json_u64(j, "aligned_2m", p->aligned);
	json_obj_end(j);
}

static void print_json(const struct watch_opts *o, const struct run_result *r,
		       const struct snp_trace_summary *s, const char *trace, uint64_t trace_bytes,
		       double base_s, const struct sim_replay_result *rr, const struct model_vs_real *m,
		       const struct watch_prov *wp)
{
	struct json j;

	json_init(&j, stdout);
	json_obj_begin(&j, NULL);
	json_str(&j, "kernel", r->kernel);
	json_obj_begin(&j, "config");
	json_u64(&j, "cpus", o->cpus);
	json_u64(&j, "mem_bytes", o->mem);
	json_u64(&j, "vms", o->vms);
	json_u64(&j, "vcpus", o->vcpus);
	json_double(&j, "seconds", o->seconds);
	json_double(&j, "lifetime", o->lifetime);
	json_str(&j, "filter", o->filter);
	json_bool(&j, "host_snp", o->host_snp);
	json_str(&j, "kvm_build", o->kvm_build ? o->kvm_build : "");
	json_u64(&j, "age_rounds", o->age_rounds);
	json_obj_end(&j);
	json_age(&j, r, m);
	json_str(&j, "kvm_amd_ko", r->kvm_amd_ko);
	json_obj_begin(&j, "workload");
	json_u64(&j, "vcpus_created", workload_field(r->workload, "vcpus_created"));
	json_u64(&j, "vcpus_ran", workload_field(r->workload, "vcpus_ran"));
	json_u64(&j, "vcpus_stuck", workload_field(r->workload, "vcpus_stuck"));
	json_u64(&j, "vms_created", workload_field(r->workload, "vms_created"));
	json_u64(&j, "exits", workload_field(r->workload, "exits"));
	json_obj_end(&j);
	json_obj_begin(&j, "kprobe_hits");
	for (unsigned int i = 0; i < r->nr_probes; i++)
		json_u64(&j, r->probe[i], r->probe_hits[i]);
	json_obj_end(&j);
	json_u64(&j, "vmruns", s->vmruns);
	json_u64(&j, "vmrun_cpus", s->vmrun_cpus);
	json_pages(&j, "vmcb", &s->vmcb);
	json_pages(&j, "hsave", &s->hsave);
	json_pages(&j, "vmsa", &s->vmsa);
	json_pages(&j, "avic", &s->avic);
	json_u64(&j, "stores_recorded", s->stores);
	json_u64(&j, "stores_seen", s->stores_seen);
	json_obj_begin(&j, "stores_by_leaf");
	for (int l = 0; l < 4; l++)
		json_u64(&j, snp_trace_level_name(l), s->stores_by_level[l]);
	json_obj_end(&j);
	json_u64(&j, "tlb_flushes", s->flushes);
	json_str(&j, "trace", trace);
	json_u64(&j, "trace_bytes", trace_bytes);
	json_u64(&j, "records", s->records);
	json_double(&j, "qemu_seconds", r->qemu_s);
	if (base_s > 0) {
		json_double(&j, "qemu_seconds_unwatched", base_s);
		json_double(&j, "slowdown", r->qemu_s / base_s);
	}
	cli_region_json(&j, &rr->region);
	json_obj_begin(&j, "replay");
	json_str(&j, "profile", rr->profile);
	cli_replay_json_verdicts(&j, rr);
	json_obj_end(&j);
	watch_prov_print_json(&j, wp);
	json_model(&j, m);
	json_obj_end(&j);
	json_finish(&j);
}

static SNP_MUST_CHECK int check_request(const struct watch_opts *o)
{
	const bool path = strcmp(o->kernel, "6.1") && strcmp(o->kernel, "6.12");
	struct stat st;
	uint64_t avail = sim_mem_available();

	if (path && (stat(o->kernel, &st) || !S_ISREG(st.st_mode)))
		return cli_usage_error("watch", "--kernel '%s' is not 6.1, 6.12 or a kernel image file",
				       o->kernel);
	if (path && !o->modules)
		return cli_usage_error("watch", "--kernel PATH needs --modules DIR (its lib/modules/<version>)");
	if (o->modules && !path)
		return cli_usage_error("watch", "--modules goes with --kernel PATH only");
	if (o->host_snp && strcmp(o->kernel, "6.12"))
		return cli_usage_error("watch", "--host-snp needs --kernel 6.12 (6.1 has no SNP host support)");
	if (o->kvm_build && strcmp(o->kernel, "6.12"))
		return cli_usage_error("watch", "--kvm-build needs --kernel 6.12 (the Debian kernel "
				       "kernel/build.sh builds against)");
	if (o->modules && (stat(o->modules, &st) || !S_ISDIR(st.st_mode)))
		return cli_usage_error("watch", "--modules '%s' is not a folder", o->modules);
	if (avail && o->mem + 512 * SNP_MiB > avail)
		return cli_usage_error("watch", "--mem %llu MiB: this machine has %llu MiB available",
				       (unsigned long long)(o->mem / SNP_MiB),
				       (unsigned long long)(avail / SNP_MiB));
	if (o->vms * o->vcpus > 4096)
		return cli_usage_error("watch", "--vms x --vcpus is %llu; at most 4096 vCPUs at once",
				       (unsigned long long)(o->vms * o->vcpus));
	return 0;
}

/* ---- --remodel: a recorded run's model estimate made again by this build ---- */

#define REMODEL_MAX_BYTES ((size_t)256 << 20)

struct remodel {
	const char *path;
	const struct json_node *me;     /* its "model_estimate" */
};

static int remodel_bad(const struct remodel *rm, const struct json_node *at, const char *what)
{
	return cli_json_error("watch", "--remodel ", rm->path, at, "%s", what);
}

/* A member of @obj by a "/"-less name: number (with its range) or string. */
static SNP_MUST_CHECK int remodel_num(const struct remodel *rm, const struct json_node *obj, const char *key,
				      double lo, double hi, double *out)
{
	const struct json_node *n = json_member(obj, key);

	if (!n || n->type != JSON_NUMBER || !(n->num >= lo && n->num <= hi))
		return cli_json_error("watch", "--remodel ", rm->path, n ? n : obj,
				      "\"%s\" must be a number in [%g, %g]", key, lo, hi);
	*out = n->num;
	return 0;
}

static const char *remodel_str(const struct json_node *obj, const char *key)
{
	const struct json_node *n = json_member(obj, key);

	return n && n->type == JSON_STRING ? n->text : NULL;
}

/* "W0,W1,...": the VMM CPU weights as json_model_estimate() wrote them ("" uniform). */
static SNP_MUST_CHECK int remodel_vmm_cpus(const char *v, struct sim_mc_config *cfg)
{
	unsigned int c = 0;

	memset(cfg->vmm_cpu_weight, 0, sizeof(cfg->vmm_cpu_weight));
	while (v && *v) {
		char *end;
		unsigned long w = strtoul(v, &end, 10);

		if (end == v || c >= SIM_MC_VMM_CPUS_MAX || w > SIM_MC_VMM_WEIGHT_MAX || (*end && *end != ','))
			return SNP_EINVAL;
		cfg->vmm_cpu_weight[c++] = (uint32_t)w;
		v = *end ? end + 1 : end;
	}
	return 0;
}

/* The names json_model_estimate() writes, back to the model's values. */
static SNP_MUST_CHECK int remodel_names(const struct remodel *rm, struct model_vs_real *m)
{
	const char *k = remodel_str(rm->me, "kernel"), *st = remodel_str(rm->me, "strategy");
	const char *irq = remodel_str(rm->me, "irqchip"), *dbg = remodel_str(rm->me, "kvm_debugfs");
	const char *layout = remodel_str(rm->me, "layout"), *prof = remodel_str(rm->me, "age_profile");
	unsigned int i;

	for (i = 0; i < MM_NR_KERNELS && (!k || strcmp(k, mm_kernel_name((enum mm_kernel)i))); i++)
		;
	if (i == MM_NR_KERNELS)
		return remodel_bad(rm, rm->me, "\"kernel\" must be 6.1 or 6.12");
	m->cfg.kernel = (enum mm_kernel)i;
	for (i = 0; i < SNP_ALLOC_NR_STRATEGIES &&
		    (!st || strcmp(st, snp_alloc_strategy_name((enum snp_alloc_strategy)i))); i++)
		;
	if (i == SNP_ALLOC_NR_STRATEGIES)
		return remodel_bad(rm, rm->me, "\"strategy\" names no strategy");
	m->cfg.strategies = 1u << i;
	if (!layout || strcmp(layout, snp_ram_layout_name(SNP_RAM_QEMU_PC)))
		return remodel_bad(rm, rm->me, "\"layout\" must be qemu-pc, as watch's model runs");
	m->cfg.ram_layout = SNP_RAM_QEMU_PC;
	if (!irq || (strcmp(irq, "on") && strcmp(irq, "off")))
		return remodel_bad(rm, rm->me, "\"irqchip\" must be on or off");
	m->cfg.no_irqchip = !strcmp(irq, "off");
	if (!dbg || kvm_debugfs_parse(dbg, &m->cfg.kvm_debugfs))
		return remodel_bad(rm, rm->me, "\"kvm_debugfs\" must be off, on or tcg");
	if (remodel_vmm_cpus(remodel_str(rm->me, "vmm_cpus"), &m->cfg))
		return remodel_bad(rm, rm->me, "\"vmm_cpus\" must be weights W0,W1,...");
	if (prof && strcmp(prof, sim_age_profile_name(SIM_AGE_WATCH)))
		return remodel_bad(rm, rm->me, "\"age_profile\" must be watch, as watch's model ages");
	m->cfg.age_profile = prof ? SIM_AGE_WATCH : m->cfg.age_profile;
	return 0;
}

/*
 * The churn's timeline of the recorded estimate; a run judged before these
 * keys has neither, and this build's timeline applies, as for vmm_migrate.
 */
static SNP_MUST_CHECK int remodel_timeline(const struct remodel *rm, struct sim_mc_config *cfg)
{
	double after;
	int ret;

	cfg->remake_after = WATCH_REMAKE_AFTER;
	cfg->rcu_grace_end = WATCH_RCU_GRACE_END;
	if (json_member(rm->me, "remake_after")) {
		ret = remodel_num(rm, rm->me, "remake_after", 0, SIM_MC_REMAKE_AFTER_MAX, &after);
		if (ret)
			return ret;
		cfg->remake_after = (unsigned int)after;
	}
	if (json_member(rm->me, "rcu_grace") &&
	    sim_rcu_grace_parse(remodel_str(rm->me, "rcu_grace"), &cfg->rcu_grace_end))
		return remodel_bad(rm, rm->me, "\"rcu_grace\" must be \"end\" or \"tick\"");
	return 0;
}

/* The numbers of the recorded model estimate and of the run. */
static SNP_MUST_CHECK int remodel_numbers(const struct remodel *rm, const struct json_node *doc,
					  struct model_vs_real *m)
{
	const struct json_node *rs = json_member(json_member(doc, "vmrun_region_stores"), "huge_per_second");
	const char *seed = remodel_str(rm->me, "seed");
	double v[8];
	int ret = 0;

	ret = ret ? ret : remodel_num(rm, rm->me, "age_pct", 0, 95, &v[0]);
	ret = ret ? ret : remodel_num(rm, rm->me, "trials", 1, 4096, &v[1]);
	ret = ret ? ret : remodel_num(rm, rm->me, "ticks", 0, 1e7, &v[2]);
	ret = ret ? ret : remodel_num(rm, rm->me, "lifetime_ticks", 0, 1000, &v[3]);
	ret = ret ? ret : remodel_num(rm, rm->me, "guest_pages", 0, 1 << 20, &v[4]);
	ret = ret ? ret : remodel_num(rm, rm->me, "host_loops", 0, SIM_MC_HOST_LOOPS_MAX, &v[5]);
	ret = ret ? ret : remodel_num(rm, rm->me, "tick_seconds", 0, 1e6, &m->tick_s);
	if (ret)
		return ret;
	/* this build's rule: a fresh boot's model is not aged (model_estimate()) */
	m->cfg.age_pct = m->age_pct = m->cfg.age_profile == SIM_AGE_WATCH ? (unsigned int)v[0] : 0;
	m->cfg.trials = (unsigned int)v[1];
	m->cfg.ticks = (unsigned int)v[2];
	m->cfg.lifetime = (unsigned int)v[3];
	m->cfg.guest_pages = (unsigned int)v[4];
	m->cfg.host_loops = v[5];
	/* a run judged before the rule has none: this build's rule applies */
	m->cfg.vmm_migrate_pct = watch_vmm_migrate_pct(m->cfg.kernel);
	if (json_member(rm->me, "vmm_migrate")) {
		ret = remodel_num(rm, rm->me, "vmm_migrate", 0, 100, &v[7]);
		if (ret)
			return ret;
		m->cfg.vmm_migrate_pct = (unsigned int)v[7];
	}
	ret = remodel_timeline(rm, &m->cfg);
	if (ret)
		return ret;
	if (m->cfg.age_profile == SIM_AGE_WATCH) {
		ret = remodel_num(rm, rm->me, "age_rounds", 1, MM_AGE_WATCH_MAX_ROUNDS, &v[6]);
		m->cfg.age_rounds = (unsigned int)v[6];
	}
	if (!ret && m->cfg.lifetime)
		ret = remodel_num(rm, rm->me, "vm_life_seconds", 0, 1e6, &m->vm_life_s);
	if (ret)
		return ret;
	if (!seed || !*seed || seed[strspn(seed, "0123456789")])
		return remodel_bad(rm, rm->me, "\"seed\" must be a whole number as a string");
	m->cfg.seed = strtoull(seed, NULL, 10);
	for (int b = 0; b < SIM_REPLAY_NR_BOUNDS; b++) {
		const struct json_node *n = json_member(rs, sim_replay_bound_name((enum sim_replay_bound)b));

		m->region_rate[b] = n && n->type == JSON_NUMBER ? n->num : NAN;
	}
	return 0;
}

/* The run's machine and VMs ("config") into the model's. */
static SNP_MUST_CHECK int remodel_config(const struct remodel *rm, const struct json_node *doc,
					 struct watch_opts *o, struct model_vs_real *m)
{
	const struct json_node *c = json_member(doc, "config");
	double v[4];
	int ret = 0;

	if (!c || c->type != JSON_OBJECT)
		return remodel_bad(rm, doc, "no \"config\" object: not a watch --json run");
	ret = ret ? ret : remodel_num(rm, c, "mem_bytes", 256.0 * SNP_MiB, 2.0 * SNP_GiB, &v[0]);
	ret = ret ? ret : remodel_num(rm, c, "cpus", 1, 8, &v[1]);
	ret = ret ? ret : remodel_num(rm, c, "vms", 1, 1024, &v[2]);
	ret = ret ? ret : remodel_num(rm, c, "vcpus", 1, 64, &v[3]);
	if (ret)
		return ret;
	o->mem = (uint64_t)v[0];
	o->cpus = (uint64_t)v[1];
	o->vms = (uint64_t)v[2];
	o->vcpus = (uint64_t)v[3];
	model_machine(o, m);
	m->cfg.threads = 2;
	m->cfg.age_share = 1;
	return 0;
}

/*
 * The dump the estimate starts from.  A record made from a dump: --boot-dump
 * FILE if given (the recorded path may be another machine's), else the
 * recorded path; either way its bytes must be the recorded ones (FNV-1a).  A
 * record made from the boot-state rules: --boot-dump FILE, if given, starts
 * the new estimate from that boot instead (never silently ignored).
 */
static SNP_MUST_CHECK int remodel_dump(const struct remodel *rm, struct watch_opts *o, struct model_vs_real *m,
				       struct kvm_boot_dump **dump)
{
	const char *rec = remodel_str(rm->me, "boot_dump"), *hash = remodel_str(rm->me, "boot_dump_fnv1a");
	const char *path = o->boot_dump_path ? o->boot_dump_path : rec;
	char want[24];
	int ret;

	if (!path)
		return 0;
	ret = cli_boot_dump_load("watch", path, o->mem, dump, &o->boot_dump_hash);
	if (ret)
		return ret;
	snprintf(want, sizeof(want), "%016llx", (unsigned long long)o->boot_dump_hash);
	if (rec && (!hash || strcmp(hash, want)))
		return cli_usage_error("watch", "--remodel %s: the boot dump %s is not the one it was "
				       "judged with (FNV-1a %s, recorded %s)", rm->path, path, want,
				       hash ? hash : "none");
	if (!rec) {   /* the rules' record, now from this dump: its ageing is in the dump */
		m->cfg.age_pct = m->age_pct = 0;
		m->cfg.age_profile = SIM_AGE_GENERIC;
		m->cfg.age_rounds = 0;
	}
	m->cfg.boot_dump = *dump;
	m->boot_dump_path = rec ? rec : path;   /* a record keeps its own path */
	m->boot_dump_hash = o->boot_dump_hash;
	return 0;
}

/* Where the value of the top-level member @key starts and ends in @text (its key's start: *start). */
static SNP_MUST_CHECK int member_span(const char *text, size_t len, const struct json_node *key,
				      size_t *start, size_t *end)
{
	size_t i = 0;
	unsigned int line = 1, depth = 0;
	bool in_str = false;

	for (; i < len && line < key->line; i++)
		line += text[i] == '\n';
	i += key->col - 1;
	if (i >= len || text[i] != '"')
		return SNP_EINVAL;
	*start = i;
	{
		const char *colon = memchr(text + i, ':', len - i);

		i = colon ? (size_t)(colon - text) + 1 : len;
	}
	for (; i < len; i++) {
		char ch = text[i];

		if (in_str) {
			if (ch == '\\')
				i++;
			else if (ch == '"')
				in_str = false;
		} else if (ch == '"') {
			in_str = true;
		} else if (ch == '{' || ch == '[') {
			depth++;
		} else if ((ch == '}' || ch == ']') && depth && !--depth) {
			*end = i + 1;
			return 0;
		}
	}
	return SNP_EINVAL;
}

/* The new estimate in place of the recorded one, the rest of the file byte for byte. */
static SNP_MUST_CHECK int remodel_print(const struct remodel *rm, const char *text, size_t len,
					const struct model_vs_real *m)
{
	size_t start, end;
	struct json j;

	if (member_span(text, len, rm->me, &start, &end))
		return remodel_bad(rm, rm->me, "cannot find the end of \"model_estimate\"");
	fwrite(text, 1, start, stdout);
	json_init(&j, stdout);
	json_model_estimate(&j, m);
	fwrite(text + end, 1, len - end, stdout);
	return fflush(stdout) ? cli_fail("watch", "writing stdout: %s", strerror(errno)) : 0;
}

/*
 * --remodel FILE: a recorded `watch --json` run (its boot's folder not
 * needed) judged again by this build's model: the estimate's hosts run
 * with the recorded configuration (the run's machine, VMs, churn, host
 * loops, VMM CPUs, ageing, dump, seed), and the file is printed with only
 * "model_estimate" made anew, so `snpsafe merge` pools it as before.
 */
static int watch_remodel(struct watch_opts *o, const char *path, struct kvm_boot_dump **dump)
{
	struct remodel rm = { .path = path };
	struct json_node *doc = NULL;
	struct model_vs_real m;
	char err[256];
	size_t len;
	char *text = cli_slurp("watch", "--remodel ", path, REMODEL_MAX_BYTES, &len);
	unsigned int nr = 0;
	int ret;

	if (!text)
		return CLI_EXIT_USAGE;
	memset(&m, 0, sizeof(m));
	if (json_parse(text, len, &doc, err, sizeof(err))) {
		ret = cli_usage_error("watch", "--remodel %s, %s", path, err);
		goto out;
	}
	rm.me = json_member(doc, "model_estimate");
	ret = rm.me && rm.me->type == JSON_OBJECT ? 0 :
	      remodel_bad(&rm, doc, "no \"model_estimate\" object: not a watch --json run");
	ret = ret ? ret : remodel_config(&rm, doc, o, &m);
	ret = ret ? ret : remodel_names(&rm, &m);
	ret = ret ? ret : remodel_numbers(&rm, doc, &m);
	ret = ret ? ret : remodel_dump(&rm, o, &m, dump);
	if (ret)
		goto out;
	m.hosts = calloc(m.cfg.trials, sizeof(*m.hosts));
	if (!m.hosts) {
		ret = cli_fail("watch", "out of memory");
		goto out;
	}
	m.cfg.trials_out = m.hosts;
	if (sim_mc_run(&m.cfg, &m.res, &nr) || nr != 1) {
		ret = cli_fail("watch", "the model run for %s failed", path);
		goto out;
	}
	m.cfg.trials_out = NULL;
	m.model_k = m.res.aligned_by_kind[KVM_PAGE_VMCB01];
	m.model_n = m.res.sensitive_by_kind[KVM_PAGE_VMCB01];
	watch_rate(m.model_k, m.model_n, &m.model_p, &m.model_lo, &m.model_hi);
	ret = remodel_print(&rm, text, len, &m);
out:
	free(m.hosts);
	json_node_free(doc);
	free(text);
	return ret;
}

static int watch_cmd(int argc, char **argv, struct kvm_boot_dump **dump)
{
	struct watch_opts o = { .kernel = "6.1", .vms = 4, .vcpus = 2, .cpus = 2, .mem = SNP_GiB,
				.age_seed = 1, .seconds = 5, .filter = "inguest" };
	static const char synopsis[] =
		"snpsafe watch [--kernel 6.1|6.12|PATH] [--modules DIR] [--vms N] [--vcpus N]\n"
		"              [--seconds S] [--lifetime S] [--age-rounds N] [--age-seed S]\n"
		"              [--boot-dump FILE]\n"
		"              [--cpus N] [--mem SIZE] [--filter F]\n"
		"              [--host-snp] [--kvm-build VARIANT] [--trace FILE] [--out DIR] [--baseline]\n"
		"              [--again] [--install] [--json]\n"
		"       snpsafe watch --remodel FILE [--boot-dump FILE]";
	char top[PATH_MAX], out[PATH_MAX + 64], raw[PATH_MAX + 96], ks[PATH_MAX + 96], trace[PATH_MAX + 96];
	char err[SNP_TRACE_ERR_LEN], cmdline[600];
	const struct sim_replay_options replay_opts = { .max_reports = 1 };
	struct sim_replay_result rr;
	struct model_vs_real model;
	struct snp_trace_summary s;
	struct watch_prov wp;
	struct run_result r, base = { .qemu_s = 0 };
	struct stat st;
	int ret, nr_pos;

	ret = cli_parse_args("watch", argc, argv, watch_options, &o, synopsis, NULL, 0, &nr_pos);
	if (ret)
		return ret < 0 ? CLI_EXIT_OK : ret;
	if (o.remodel) {
		if (o.again || o.baseline || o.install || o.kvm_build || o.host_snp || o.trace || o.out)
			return cli_usage_error("watch", "--remodel boots nothing and reads no folder: "
					       "only --boot-dump goes with it");
		return cli_dry_run ? 0 : watch_remodel(&o, o.remodel, dump);
	}
	ret = check_request(&o);
	if (!ret && o.boot_dump_path) {
		ret = cli_boot_dump_load("watch", o.boot_dump_path, o.mem, dump, &o.boot_dump_hash);
		o.boot_dump = *dump;
	}
	if (ret || cli_dry_run)
		return ret;
	if (o.again && o.baseline)
		return cli_usage_error("watch", "--again judges a recorded run; --baseline would boot");
	/* The tree is needed to boot, or to find the default --out. */
	if ((!o.again || !o.out) && find_top(top, sizeof(top)))
		return cli_fail("watch", "cannot find watch/run.sh beside this binary (set SNPSAFE_TOP)");
	if (o.out)
		snprintf(out, sizeof(out), "%s", o.out);
	else
		snprintf(out, sizeof(out), "%s/.cache/watch/%s%s%s%s", top,
			 strchr(o.kernel, '/') ? "custom" : o.kernel, o.host_snp ? "-host-snp" : "",
			 o.kvm_build ? "-kvm-" : "", o.kvm_build ? o.kvm_build : "");
	if (o.again) {
		if (read_result(out, &r))
			return cli_usage_error("watch", "--again: no finished run in %s", out);
		if (r.age_rounds != o.age_rounds || (r.age_rounds && r.age_seed != o.age_seed))
			return cli_usage_error("watch", "--again: the run in %s was made with --age-rounds "
					       "%llu --age-seed %llu", out, (unsigned long long)r.age_rounds,
					       (unsigned long long)r.age_seed);
		goto judge;
	}
	/* The scripts below ask before they install; --install is the answer given up front. */
	if (o.install && setenv("SNPSAFE_INSTALL", "1", 1))
		return cli_fail("watch", "--install: cannot set SNPSAFE_INSTALL: %s", strerror(errno));
	if (o.kvm_build) {
		ret = kvm_build(top, &o);
		if (ret)
			return ret;
	}
	if (o.baseline) {
		char bout[PATH_MAX + 96];

		snprintf(bout, sizeof(bout), "%s/unwatched", out);
		if (run_script(top, &o, bout, false) || read_result(bout, &base))
			return cli_fail("watch", "the unwatched run failed (see above)");
	}
	if (run_script(top, &o, out, true) || read_result(out, &r))
		return cli_fail("watch", "the watched run failed (see above)");
judge:
	if (o.boot_dump && kvm_boot_dump_age_rounds(o.boot_dump) != r.age_rounds)
		return cli_usage_error("watch", "--boot-dump %s is of a boot aged %u rounds; the run in %s "
				       "was aged %llu: the model would start from another host",
				       o.boot_dump_path, kvm_boot_dump_age_rounds(o.boot_dump), out,
				       (unsigned long long)r.age_rounds);
	snprintf(raw, sizeof(raw), "%s/raw.trace", out);
	snprintf(ks, sizeof(ks), "%s/kallsyms", out);
	snprintf(trace, sizeof(trace), "%s", o.trace ? o.trace : "");
	if (!o.trace)
		snprintf(trace, sizeof(trace), "%s/watch.trace", out);
	snprintf(cmdline, sizeof(cmdline), "snpsafe watch --kernel %s --vms %llu --vcpus %llu "
		 "--seconds %g --lifetime %g --cpus %llu --mem %lluM --filter %s%s%s%s", o.kernel,
		 (unsigned long long)o.vms, (unsigned long long)o.vcpus, o.seconds, o.lifetime,
		 (unsigned long long)o.cpus, (unsigned long long)(o.mem / SNP_MiB), o.filter,
		 o.host_snp ? " --host-snp" : "", o.kvm_build ? " --kvm-build " : "",
		 o.kvm_build ? o.kvm_build : "");
	if (o.age_rounds) {
		size_t n = strlen(cmdline);

		snprintf(cmdline + n, sizeof(cmdline) - n, " --age-rounds %llu --age-seed %llu",
			 (unsigned long long)o.age_rounds, (unsigned long long)o.age_seed);
	}
	if (snp_trace_finish(raw, trace, ks, r.kernel, r.workload, cmdline, err, sizeof(err)))
		return cli_fail("watch", "%s", err);
	if (snp_trace_summarize(trace, &s, err, sizeof(err)))
		return cli_fail("watch", "%s", err);
	if (stat(trace, &st))
		st.st_size = 0;
	/*
	 * Provenance: the guest's allocation log joined with the trace (--again:
	 * maybe older; none when SNPSAFE_WATCH_PROBES=0 armed no probe).
	 */
	if (watch_prov_load(out, trace, o.again || no_probes(), &wp, err, sizeof(err))) {
		watch_prov_free(&wp);
		return cli_fail("watch", "%s", err);
	}
	/* Judge the recording at once, with the early-SNP part's rules (one code path with replay). */
	if (sim_replay_run(trace, &snp_profile_early_snp, &replay_opts, &rr)) {
		watch_prov_free(&wp);
		return cli_fail("watch", "replaying %s: %s", trace, rr.error);
	}
	if (model_estimate(&o, &r, &s, &rr, &wp, &model)) {
		free(model.hosts);
		sim_replay_result_free(&rr);
		watch_prov_free(&wp);
		return cli_fail("watch", "the model run beside the recording failed");
	}
	if (watch_cluster_load(trace, &wp, &model.measured, err, sizeof(err))) {
		free(model.hosts);
		sim_replay_result_free(&rr);
		watch_prov_free(&wp);
		return cli_fail("watch", "%s", err);
	}
	if (o.json)
		print_json(&o, &r, &s, trace, (uint64_t)st.st_size, base.qemu_s, &rr, &model, &wp);
	else
		print_text(&o, &r, &s, trace, (uint64_t)st.st_size, base.qemu_s, &rr, &model, &wp);
	free(model.hosts);
	sim_replay_result_free(&rr);
	watch_prov_free(&wp);
	return CLI_EXIT_OK;
}

int cmd_watch(int argc, char **argv)
{
	struct kvm_boot_dump *dump = NULL;
	int ret = watch_cmd(argc, argv, &dump);

	kvm_boot_dump_free(dump);
	return ret;
}
