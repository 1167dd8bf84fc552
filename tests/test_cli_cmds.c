// SPDX-License-Identifier: MIT
/*
 * test_cli_cmds.c - the built command's repro, simulate and bench: output,
 * the JSON contracts, determinism across thread counts, and every kind of
 * bad input (one stderr line, exit 2).  repro's story and picture:
 * test_cli_repro.c.
 */
#include "cli_json.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <math.h>

#include <snpsafe/common.h>

/* ---- repro ---- */

static void test_repro_text_default(void)
{
	struct cli_run r = cli_run("repro");

	KEXPECT_EQ(r.status, 0);
	KEXPECT(strstr(r.out, "== naive allocator (counterfactual: no workaround), early-snp profile ==") != NULL);
	KEXPECT(strstr(r.out, "and got the page on offer: pfn 0x") != NULL);
	KEXPECT(strstr(r.out, "#PF: error_code(0x80000003) - RMP violation") != NULL);
	KEXPECT(strstr(r.out, "VMCB of the run on CPU 1") != NULL);
	KEXPECT(strstr(r.out, "IN-USE") != NULL);
	KEXPECT(strstr(r.out, "== upstream allocator") != NULL);
	KEXPECT(strstr(r.out, "== sieve allocator") != NULL);
	KEXPECT(strstr(r.out, "Result: 1 spurious RMP #PF") != NULL);
	KEXPECT(strstr(r.out, "Result: 0 spurious RMP #PF") != NULL);
	cli_run_free(&r);
}

static void test_repro_json_every_strategy_and_profile(void)
{
	static const char *const strategies[] = { "naive", "upstream", "sieve" };

	for (unsigned int p = 0; p < 2; p++) {
		for (unsigned int s = 0; s < 3; s++) {
			char args[96];
			const struct jl *run;
			struct jl *doc;
			double faults, pfn;

			snprintf(args, sizeof(args), "repro --json --strategy %s --profile %s",
				 strategies[s], p ? "fixed" : "early-snp");
			doc = run_json(args);
			run = jl_at(jl_get(doc, "runs"), 0);   /* the only one: --strategy's */
			KEXPECT_EQ(jl_len(jl_get(doc, "runs")), 1);
			KEXPECT(!strcmp(str(run, "strategy"), strategies[s]));
			KEXPECT(!strcmp(str(doc, "profile"), p ? "fixed" : "early-snp"));
			faults = num(run, "spurious_faults");
			pfn = (double)strtoull(str(run, "vmcb_pfn"), NULL, 16);   /* "0x200" */
			KEXPECT(!strncmp(str(run, "vmcb_pfn"), "0x", 2));
			KEXPECT(pfn == floor(pfn) && pfn > 0);
			KEXPECT(pfn >= 4096);   /* DMA32: what a GFP_KERNEL allocation gets */
			if (p == 0 && s == 0) {
				KEXPECT(faults > 0);
				KEXPECT(fmod(pfn, 512) == 0);   /* the VMCB reached a 2MB-aligned page */
				KEXPECT(!strcmp(str(jl_get(run, "fault"), "rule"), "ERRATUM_2M_BASE_INUSE"));
			} else {
				KEXPECT_EQ(faults, 0);
			}
			if (s > 0)
				KEXPECT(fmod(pfn, 512) != 0);
			jl_free(doc);
		}
	}
}

static void test_repro_bad_input(void)
{
	EXPECT_USAGE_ERROR("repro --strategy greedy", "--strategy");
	EXPECT_USAGE_ERROR("repro --profile zen9", "--profile");
	EXPECT_USAGE_ERROR("repro --knob nosuch=1", "--knob");
	EXPECT_USAGE_ERROR("repro --kvm 6.1", "--kvm");
	EXPECT_USAGE_ERROR("repro --kvm", "--kvm");
	EXPECT_USAGE_ERROR("repro --svg", "--svg");
	EXPECT_USAGE_ERROR("repro extra", "extra");
	{
		struct cli_run r = cli_run("repro --svg /nonexistent-dir/x.svg");

		KEXPECT_EQ(r.status, 2);
		KEXPECT_EQ(cli_lines(r.err), 1);
		KEXPECT(strstr(r.err, "/nonexistent-dir/x.svg") != NULL);
		cli_run_free(&r);
	}
}

/* ---- simulate ---- */

#define SIM_SMALL "simulate --mem 256M --cpus 2 --vms 4 --vcpus 2 --ticks 32 --trials 6 --seed 7"

static bool rate_in_ci(const struct jl *o, const char *rate, const char *ci)
{
	char lo[64], hi[64];
	double r = num(o, rate);

	snprintf(lo, sizeof(lo), "%s_lo", ci);
	snprintf(hi, sizeof(hi), "%s_hi", ci);
	return num(o, lo) >= 0 && num(o, lo) <= r && r <= num(o, hi) && num(o, hi) <= 1;
}

static void test_simulate_json_contract(void)
{
	static const char *const keys[] = { "trials", "trials_with_fault", "spurious_faults",
					    "sensitive_pages", "aligned_sensitive_pages",
					    "order1_blocks", "leaked_pages" };
	struct jl *doc = run_json(SIM_SMALL " --json");
	const struct jl *res = jl_get(doc, "results");

	KASSERT(res && res->type == JL_ARR);
	KEXPECT_EQ(jl_len(res), 3);
	for (unsigned int i = 0; i < jl_len(res); i++) {
		const struct jl *o = jl_at(res, i);

		KEXPECT(*str(o, "strategy"));
		for (unsigned int k = 0; k < KTAP_ARRAY_SIZE(keys); k++) {
			double v = num(o, keys[k]);

			KEXPECT(v >= 0 && v == floor(v));
		}
		KEXPECT_EQ(num(o, "trials"), 6);
		KEXPECT(num(o, "sensitive_pages") > 0);
		/* every rate inside its own 95% interval, the interval inside [0, 1] */
		KEXPECT(rate_in_ci(o, "trials_with_fault_rate", "trials_with_fault_ci95"));
		KEXPECT(rate_in_ci(o, "aligned_fraction", "aligned_ci95"));
		KEXPECT(rate_in_ci(o, "exposed_aligned_fraction", "exposed_ci95"));
		KEXPECT(rate_in_ci(o, "trials_with_exposed_aligned", "trials_with_exposed_aligned_ci95"));
		KEXPECT(num(o, "trials_with_fault_ci95_hi") > 0);   /* 6 trials: wide */
	}
	KEXPECT_EQ(num(jl_get(doc, "config"), "age_share"), 8);
	jl_free(doc);
}

static void test_simulate_deterministic_across_threads(void)
{
	struct cli_run a = cli_run(SIM_SMALL " --json --threads 1");
	struct cli_run b = cli_run(SIM_SMALL " --json --threads 2");
	struct cli_run c = cli_run(SIM_SMALL " --json --threads 5");
	struct cli_run d = cli_run("simulate --mem 256M --cpus 2 --vms 4 --vcpus 2 --ticks 32 --trials 6 --seed 8 --json");

	/* The results, after the config (which records --threads), are the same. */
	const char *ra = strstr(a.out, "\"results\""), *rb = strstr(b.out, "\"results\""),
		   *rc = strstr(c.out, "\"results\""), *rd = strstr(d.out, "\"results\"");

	KEXPECT_EQ(a.status, 0);
	KASSERT(ra && rb && rc && rd);
	KEXPECT(!strcmp(ra, rb));
	KEXPECT(!strcmp(ra, rc));
	KEXPECT(strcmp(ra, rd) != 0);   /* the seed matters */
	cli_run_free(&a);
	cli_run_free(&b);
	cli_run_free(&c);
	cli_run_free(&d);
}

/* Per page kind: allocated >= markable >= exposed, each with an aligned count no larger. */
static void expect_kind_counts(const struct jl *o)
{
	static const char *const kinds[] = { "vmcb01", "vmsa", "avic", "hsave", "vmcb02" };
	const struct jl *bk = jl_get(o, "by_kind");
	double exposed = 0, exposed_aligned = 0;

	KASSERT(bk != NULL);
	for (unsigned int k = 0; k < KTAP_ARRAY_SIZE(kinds); k++) {
		const struct jl *c = jl_get(bk, kinds[k]);

		KASSERT(c != NULL);
		KEXPECT(num(c, "allocated") >= num(c, "markable"));
		KEXPECT(num(c, "markable") >= num(c, "exposed"));
		KEXPECT(num(c, "aligned") >= num(c, "markable_aligned"));
		KEXPECT(num(c, "markable_aligned") >= num(c, "exposed_aligned"));
		KEXPECT(num(c, "exposed") >= num(c, "exposed_aligned"));
		exposed += num(c, "exposed");
		exposed_aligned += num(c, "exposed_aligned");
	}
	KEXPECT_EQ(num(jl_get(bk, "avic"), "markable"), 0);   /* AVIC off on early-snp */
	KEXPECT_EQ(num(o, "exposed_pages"), exposed);
	KEXPECT_EQ(num(o, "exposed_aligned_pages"), exposed_aligned);
	KEXPECT(num(o, "exposed_ci95_lo") <= num(o, "exposed_aligned_fraction"));
	KEXPECT(num(o, "exposed_ci95_hi") >= num(o, "exposed_aligned_fraction"));
	/* the VMSAVE window: counted writes x the default window share */
	KEXPECT(fabs(num(o, "vmsave_expected_faults") - num(o, "vmsave_window_writes") * 1e-4) < 1e-9);
}

/*
 * The acceptance run: an aged host with enough vCPUs shows faults
 * for naive and none for a safe strategy, and the measured aligned count
 * agrees with the analytic estimate (within 4 sigma of a Poisson count).
 */
static void test_simulate_faults_naive_only_and_estimate(void)
{
	/* no SNP guests: their private pages 4K-map the regions around KVM's pages */
	struct jl *doc = run_json("simulate --strategy all --json --mem 1G --cpus 4 --vms 16 "
				  "--vcpus 8 --ticks 1024 --trials 12 --age 60 --threads 2 "
				  "--mix svm:2,sev:1,sev-es:1,nested:1");
	const struct jl *res = jl_get(doc, "results");

	KASSERT(jl_len(res) == 3);
	for (unsigned int i = 0; i < 3; i++) {
		const struct jl *o = jl_at(res, i);
		bool naive = !strcmp(str(o, "strategy"), "naive");

		ktap_log("%s: %g trials with fault, %g spurious, aligned %g of %g (est fraction %g)",
			 str(o, "strategy"), num(o, "trials_with_fault"), num(o, "spurious_faults"),
			 num(o, "aligned_sensitive_pages"), num(o, "sensitive_pages"),
			 num(o, "est_aligned_fraction"));
		if (naive) {
			double n = num(o, "sensitive_pages"), est = num(o, "est_aligned_fraction") * n;

			KEXPECT(num(o, "spurious_faults") > 0);
			KEXPECT(num(o, "trials_with_fault") > 0);
			KEXPECT(fabs(num(o, "aligned_sensitive_pages") - est) <= 4 * sqrt(est) + 2);
			KEXPECT(jl_get(o, "counterfactual") && jl_get(o, "counterfactual")->boolean);
		} else {
			KEXPECT_EQ(num(o, "spurious_faults"), 0);
			KEXPECT_EQ(num(o, "aligned_sensitive_pages"), 0);
		}
		KEXPECT_EQ(num(o, "leaked_pages"), 0);
		expect_kind_counts(o);
	}
	jl_free(doc);
}

/*
 * simulate --kvm pml: one PML buffer per vCPU, all from the safe allocator
 * in upstream, markable as the knob pml_inuse says (both settings); 6.18
 * has none.  The text table has the pml row.
 */
static void test_simulate_kvm_pml(void)
{
	static const char *const runs[] = { "--kvm pml", "--kvm pml --knob pml_inuse=off", "--kvm 6.18" };
	char args[256];

	for (unsigned int i = 0; i < 3; i++) {
		const struct jl *pml, *vmcb;
		struct jl *doc;

		snprintf(args, sizeof(args), "simulate --mem 256M --cpus 2 --vms 2 --vcpus 2 --ticks 8 "
			 "--trials 1 --threads 1 --mix svm --strategy upstream --json %s", runs[i]);
		doc = run_json(args);
		pml = jl_get(jl_get(jl_at(jl_get(doc, "results"), 0), "by_kind"), "pml");
		vmcb = jl_get(jl_get(jl_at(jl_get(doc, "results"), 0), "by_kind"), "vmcb01");
		KEXPECT_EQ(num(pml, "allocated"), i < 2 ? 4 : 0);
		KEXPECT_EQ(num(vmcb, "allocated"), 4);
		KEXPECT_EQ(num(pml, "aligned"), 0);
		KEXPECT_EQ(num(pml, "markable"), i == 0 ? 4 : 0);
		jl_free(doc);
	}
	{
		struct cli_run r = cli_run("simulate --mem 256M --cpus 2 --vms 2 --vcpus 2 --ticks 8 "
					   "--trials 1 --threads 1 --mix svm --strategy upstream --kvm pml");

		KEXPECT_EQ(r.status, 0);
		KEXPECT(strstr(r.out, "(KVM pml call sites)") != NULL);
		KEXPECT(strstr(r.out, "upstream  pml              4") != NULL);
		cli_run_free(&r);
	}
}

static void test_simulate_text(void)
{
	struct cli_run r = cli_run(SIM_SMALL " --strategy sieve");

	KEXPECT_EQ(r.status, 0);
	KEXPECT(strstr(r.out, "sieve") != NULL);
	KEXPECT(strstr(r.out, "\nnaive ") == NULL);   /* no row for another strategy */
	KEXPECT(strstr(r.out, "analytic est") != NULL);
	/* no progress bar (stderr is not a terminal): only the warning of 6 trials from one aged allocator */
	KEXPECT_EQ(cli_lines(r.err), 1);
	KEXPECT(!strncmp(r.err, "snpsafe simulate: warning: under 10 effective hosts (sieve 1)", 61));
	cli_run_free(&r);
}

/* Run "snpsafe ARGS" with stdout and stderr on a pseudo-terminal; what it wrote there. */
static char *run_on_tty(const char *args)
{
	size_t cap = 1 << 16, len = 0;
	char *buf = malloc(cap), *slave;
	int master = posix_openpt(O_RDWR | O_NOCTTY), fd, st;
	const char *bin = cli_bin();
	pid_t pid;

	if (master < 0 || grantpt(master) || unlockpt(master) || !(slave = ptsname(master)) || !buf)
		ktap_skip("no pseudo-terminal");
	fd = open(slave, O_RDWR | O_NOCTTY);
	KASSERT(fd >= 0);
	/* wide enough for every strategy's running interval on the progress line */
	ioctl(fd, TIOCSWINSZ, &(struct winsize){ .ws_row = 24, .ws_col = 160 });
	pid = fork();
	KASSERT(pid >= 0);
	if (!pid) {
		char cmd[512];

		dup2(fd, STDOUT_FILENO);
		dup2(fd, STDERR_FILENO);
		close(master);
		snprintf(cmd, sizeof(cmd), "%s %s </dev/null", bin, args);
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	close(fd);
	for (;;) {   /* EIO once the command has closed the terminal */
		ssize_t n = read(master, buf + len, cap - len - 1);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0 || (len += (size_t)n) == cap - 1)
			break;
	}
	buf[len] = '\0';
	close(master);
	waitpid(pid, &st, 0);
	KEXPECT(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	return buf;
}

/*
 * The progress bar shows on a terminal, with each strategy's running
 * exposed aligned fraction and interval, and not with --json there.
 */
static void test_simulate_progress_bar_on_tty_only(void)
{
	char *text = run_on_tty(SIM_SMALL " --trials 30"), *json = run_on_tty(SIM_SMALL " --json");
	const char *last = strstr(text, "] 100% (90/90)");

	KEXPECT(last != NULL);
	if (last) {
		const char *end = strstr(last, "\033[K");

		KEXPECT(end && strstr(last, "exposed aligned 95%: naive ") < end);
		KEXPECT(end && strstr(last, " upstream 0% [0%,") < end);
		KEXPECT(end && strstr(last, " sieve 0% [0%,") < end);
	}
	KEXPECT(strstr(text, "Rates, Wilson 95% intervals") != NULL);
	KEXPECT(strstr(json, "100%") == NULL);
	KEXPECT(strstr(json, "\"results\"") != NULL);
	free(text);
	free(json);
}

/* --layout: both settings run and are echoed, flat by default (tests/test_dmap_layout.c has the rules). */
static void test_simulate_layout(void)
{
	static const char *const layouts[] = { "flat", "qemu-pc" };

	for (unsigned int i = 0; i < KTAP_ARRAY_SIZE(layouts); i++) {
		char cmd[256];
		struct jl *doc;

		snprintf(cmd, sizeof(cmd), SIM_SMALL " --strategy naive --layout %s --json", layouts[i]);
		doc = run_json(cmd);
		KEXPECT(!strcmp(str(jl_get(doc, "config"), "layout"), layouts[i]));
		KEXPECT(num(jl_at(jl_get(doc, "results"), 0), "sensitive_pages") > 0);
		jl_free(doc);
	}
	{
		struct jl *doc = run_json(SIM_SMALL " --strategy naive --json");

		KEXPECT(!strcmp(str(jl_get(doc, "config"), "layout"), "flat"));   /* the default */
		jl_free(doc);
	}
}

static void test_simulate_bad_input(void)
{
	EXPECT_USAGE_ERROR("simulate --mem 3X", "--mem");
	EXPECT_USAGE_ERROR("simulate --mem 0", "--mem");
	EXPECT_USAGE_ERROR("simulate --mem 6M", "--mem");
	EXPECT_USAGE_ERROR("simulate --mem 99999999999T", "--mem");
	EXPECT_USAGE_ERROR("simulate --cpus 0", "--cpus");
	EXPECT_USAGE_ERROR("simulate --cpus -1", "--cpus");
	EXPECT_USAGE_ERROR("simulate --vcpus 65", "--vcpus");
	EXPECT_USAGE_ERROR("simulate --vmsave-marks maybe", "--vmsave-marks");
	EXPECT_USAGE_ERROR("simulate --kernel 5.15", "--kernel");
	EXPECT_USAGE_ERROR("simulate --vmsave-window 2", "--vmsave-window");
	EXPECT_USAGE_ERROR("simulate --host-loops -1", "--host-loops");
	EXPECT_USAGE_ERROR("simulate --host-loops 1001", "--host-loops");
	EXPECT_USAGE_ERROR("simulate --host-loops nan", "--host-loops");
	EXPECT_USAGE_ERROR("simulate --host-loops 2x", "--host-loops");
	EXPECT_USAGE_ERROR("simulate --kvm-debugfs yes", "--kvm-debugfs");
	EXPECT_USAGE_ERROR("simulate --irqchip maybe", "--irqchip");
	EXPECT_USAGE_ERROR("simulate --vmm-cpus 1,,2", "--vmm-cpus");
	EXPECT_USAGE_ERROR("simulate --vmm-cpus 1,2,", "--vmm-cpus");
	EXPECT_USAGE_ERROR("simulate --vmm-cpus 0,0", "--vmm-cpus");
	EXPECT_USAGE_ERROR("simulate --vmm-cpus -1", "--vmm-cpus");
	EXPECT_USAGE_ERROR("simulate --vmm-cpus 1000000001", "--vmm-cpus");
	EXPECT_USAGE_ERROR("simulate --cpus 2 --vmm-cpus 1,2,3", "--vmm-cpus");
	EXPECT_USAGE_ERROR("simulate --vmm-migrate 101", "--vmm-migrate");
	EXPECT_USAGE_ERROR("simulate --vmm-migrate -1", "--vmm-migrate");
	EXPECT_USAGE_ERROR("simulate --vmm-migrate 5.5", "--vmm-migrate");
	EXPECT_USAGE_ERROR("simulate --remake-after 65", "--remake-after");
	EXPECT_USAGE_ERROR("simulate --remake-after -1", "--remake-after");
	EXPECT_USAGE_ERROR("simulate --rcu-grace later", "--rcu-grace");
	EXPECT_USAGE_ERROR("simulate --rcu-grace", "--rcu-grace");
	EXPECT_USAGE_ERROR("simulate --age 99", "--age");
	EXPECT_USAGE_ERROR("simulate --threads 0", "--threads");
	EXPECT_USAGE_ERROR("simulate --trials 1.5", "--trials");
	EXPECT_USAGE_ERROR("simulate --strategy fastest", "--strategy");
	EXPECT_USAGE_ERROR("simulate --mix svm:x", "--mix");
	EXPECT_USAGE_ERROR("simulate --mix windows", "--mix");
	EXPECT_USAGE_ERROR("simulate --profile nope", "--profile");
	EXPECT_USAGE_ERROR("simulate --seed", "--seed");
	EXPECT_USAGE_ERROR("simulate --frobnicate 1", "--frobnicate");
	EXPECT_USAGE_ERROR("simulate --age-share 0", "--age-share");
	EXPECT_USAGE_ERROR("simulate --clone maybe", "--clone");
	EXPECT_USAGE_ERROR("simulate --layout pc", "--layout");
	EXPECT_USAGE_ERROR("simulate --layout qemu-pc --mem 4G", "--layout qemu-pc");
	/* Beyond the modeled RMP's 4 TiB: refused before anything is allocated. */
	EXPECT_USAGE_ERROR("simulate --mem 8T --threads 4", "4T (the modeled RMP's reach)");
	EXPECT_USAGE_ERROR("simulate --mem 4100G", "--mem");
}

/* ---- bench ---- */

static void test_bench_json_contract(void)
{
	struct jl *doc = run_json("bench --json --pairs 20000 --accesses 20000 --access-reps 3 "
				  "--scale-mem 1G --scale-vms 4 --scale-vcpus 3 --mc-trials 2 "
				  "--mc-mem 128M --sizes 256M:2,1G:4 --size-trials 2");
	const struct jl *alloc = jl_get(doc, "alloc"), *sim = jl_get(doc, "sim"),
			*scale = jl_get(doc, "scale"), *mc = jl_get(doc, "montecarlo"),
			*sizes = jl_get(doc, "sizes");

	double naive_ns = 0;

	KASSERT(alloc && alloc->type == JL_ARR && jl_len(alloc) == 3);
	for (unsigned int i = 0; i < 3; i++)
		if (!strcmp(str(jl_at(alloc, i), "strategy"), "naive"))
			naive_ns = num(jl_at(alloc, i), "ns_per_alloc");
	KEXPECT(naive_ns > 0);
	for (unsigned int i = 0; i < 3; i++) {
		const struct jl *o = jl_at(alloc, i);
		double want = naive_ns > 0 ? num(o, "ns_per_alloc") / naive_ns : 0;

		KEXPECT(*str(o, "strategy"));
		KEXPECT(num(o, "ns_per_alloc") > 0);
		/* Each ratio is its own time over naive's (JSON rounding aside). */
		KEXPECT(fabs(num(o, "ratio_to_naive") - want) <= 0.01 * want + 0.001);
		if (!strcmp(str(o, "strategy"), "upstream")) {
			KEXPECT(num(o, "order1_per_1000") == 1000);  /* one block per allocation */
			KEXPECT(num(o, "kib_cleared") == 8);         /* __GFP_ZERO on the order-1 pair */
		}
		if (!strcmp(str(o, "strategy"), "naive"))
			KEXPECT(num(o, "kib_cleared") == 4);
		if (!strcmp(str(o, "strategy"), "sieve"))
			KEXPECT(num(o, "order1_per_1000") < 10);
		KEXPECT(num(o, "ns_with_clear") >= num(o, "ns_per_alloc"));
		KEXPECT(num(o, "clear_page_ns") > 0);
	}
	KASSERT(sim != NULL);
	KEXPECT(num(sim, "hit_accesses_per_s") > 0);
	KEXPECT(num(sim, "miss_accesses_per_s") > 0);
	KEXPECT(num(sim, "miss_to_hit") > 0);
	/* the medians of --access-reps interleaved repetitions, within their spread */
	KEXPECT_EQ(num(sim, "reps"), 3);
	KEXPECT(num(sim, "hit_min") <= num(sim, "hit_accesses_per_s") &&
		num(sim, "hit_accesses_per_s") <= num(sim, "hit_max"));
	KEXPECT(num(sim, "miss_min") <= num(sim, "miss_accesses_per_s") &&
		num(sim, "miss_accesses_per_s") <= num(sim, "miss_max"));
	KEXPECT(fabs(num(sim, "miss_to_hit") - num(sim, "miss_accesses_per_s") /
		     num(sim, "hit_accesses_per_s")) < 1e-3 * num(sim, "miss_to_hit"));
	KEXPECT(num(sim, "ratio_min") <= num(sim, "ratio_max"));
	KASSERT(mc != NULL);
	KEXPECT_EQ(num(mc, "trials"), 2);
	KEXPECT_EQ(num(mc, "strategies"), 3);
	KEXPECT(num(mc, "trials_per_s_no_clone") > 0 && num(mc, "trials_per_s_clone") > 0);
	KEXPECT(num(mc, "speedup") > 0);
	KASSERT(scale != NULL);
	KEXPECT_EQ(num(scale, "mem_bytes"), SNP_GiB);
	KEXPECT_EQ(num(scale, "vms"), 4);
	KEXPECT_EQ(num(scale, "vcpus"), 12);
	KEXPECT(num(scale, "seconds") > 0);
	KEXPECT(num(scale, "peak_rss_bytes") > 0);
	/* simulate by host size: the sizes asked, in order, each growth its own over the last */
	KASSERT(sizes && sizes->type == JL_ARR && jl_len(sizes) == 2);
	KEXPECT_EQ(num(jl_at(sizes, 0), "mem_bytes"), 256 * SNP_MiB);
	KEXPECT_EQ(num(jl_at(sizes, 1), "mem_bytes"), SNP_GiB);
	KEXPECT_EQ(num(jl_at(sizes, 1), "cpus"), 4);
	KEXPECT_EQ(num(jl_at(sizes, 1), "vms"), 4);
	KEXPECT_EQ(num(jl_at(sizes, 1), "trials"), 2);
	KEXPECT_EQ(num(jl_at(sizes, 1), "mem_growth"), 4);
	KEXPECT(jl_get(jl_at(sizes, 0), "growth") && jl_get(jl_at(sizes, 0), "growth")->type == JL_NULL);
	KEXPECT(jl_get(jl_at(sizes, 0), "growth_one_trial") &&
		jl_get(jl_at(sizes, 0), "growth_one_trial")->type == JL_NULL);
	for (unsigned int i = 0; i < 2; i++) {
		KEXPECT(num(jl_at(sizes, i), "cpu_seconds_per_trial") > 0);
		KEXPECT(num(jl_at(sizes, i), "peak_rss_bytes") > 0);
		/* and one trial alone, in a run of its own */
		KEXPECT(num(jl_at(sizes, i), "cpu_seconds_one_trial") > 0);
		KEXPECT(num(jl_at(sizes, i), "peak_rss_bytes_one_trial") > 0);
	}
	KEXPECT(fabs(num(jl_at(sizes, 1), "growth") - num(jl_at(sizes, 1), "cpu_seconds_per_trial") /
		     num(jl_at(sizes, 0), "cpu_seconds_per_trial")) <
		1e-3 * num(jl_at(sizes, 1), "growth"));
	KEXPECT(fabs(num(jl_at(sizes, 1), "growth_one_trial") -
		     num(jl_at(sizes, 1), "cpu_seconds_one_trial") /
		     num(jl_at(sizes, 0), "cpu_seconds_one_trial")) <
		1e-3 * num(jl_at(sizes, 1), "growth_one_trial"));
	jl_free(doc);
}

/*
 * bench's sizes in text: each size's shared figure with its trials, then one
 * trial alone on the next line (issue 26's per-trial claim); with
 * --size-trials 1 the two are one run, printed once.
 */
static void test_bench_sizes_text(void)
{
	static const char base[] = "bench --pairs 1000 --accesses 1000 --access-reps 1 "
				   "--scale-mem 64M --scale-vms 1 --scale-vcpus 1 --mc-trials 2 "
				   "--mc-mem 64M --sizes 128M:1,256M:2 --size-trials ";
	char args[sizeof(base) + 8];
	char *out;

	snprintf(args, sizeof(args), "%s2", base);
	out = cli_run_ok(args);
	KASSERT(out);
	KEXPECT(strstr(out, "per trial of 2 sharing their ageing as simulate does, then of one trial alone\n"));
	KEXPECT_EQ(cli_count(out, " s per trial of 2"), 2);
	KEXPECT_EQ(cli_count(out, " s for one trial alone"), 2);
	KEXPECT_EQ(cli_count(out, " s for one trial alone, "), 2);
	KEXPECT_EQ(cli_count(out, "for 2x the memory, peak RSS"), 2);   /* the second size, both lines */
	KEXPECT(strstr(out, "   128 MiB,   1 CPUs: "));
	free(out);
	snprintf(args, sizeof(args), "%s1", base);
	out = cli_run_ok(args);
	KASSERT(out);
	KEXPECT_EQ(cli_count(out, " s per trial of"), 0);
	KEXPECT_EQ(cli_count(out, " s for one trial alone"), 2);
	KEXPECT(strstr(out, "of one trial alone (--trials 1: its own ageing)"));
	free(out);
}

static void test_bench_bad_input(void)
{
	EXPECT_USAGE_ERROR("bench --pairs 10", "--pairs");
	EXPECT_USAGE_ERROR("bench --scale-mem 10P", "--scale-mem");
	EXPECT_USAGE_ERROR("bench --scale-mem 8T", "--scale-mem");
	EXPECT_USAGE_ERROR("bench --scale-vms 0", "--scale-vms");
	EXPECT_USAGE_ERROR("bench --scale-vcpus 65", "--scale-vcpus");
	EXPECT_USAGE_ERROR("bench --mc-trials 0", "--mc-trials");
	EXPECT_USAGE_ERROR("bench --access-reps 0", "1..101");
	EXPECT_USAGE_ERROR("bench --access-reps 102", "--access-reps");
	EXPECT_USAGE_ERROR("bench --mc-mem 65M", "--mc-mem");
	EXPECT_USAGE_ERROR("bench --json extra", "extra");
	EXPECT_USAGE_ERROR("bench --sizes 1G", "--sizes");
	EXPECT_USAGE_ERROR("bench --sizes 1G:0", "--sizes");
	EXPECT_USAGE_ERROR("bench --sizes 6M:1", "--sizes");
	EXPECT_USAGE_ERROR("bench --sizes 1G:1,,8T:1", "--sizes");
	EXPECT_USAGE_ERROR("bench --size-trials 0", "--size-trials");
}

static const struct ktap_case cases[] = {
	KTAP_CASE(test_repro_text_default),
	KTAP_CASE(test_repro_json_every_strategy_and_profile),
	KTAP_CASE(test_repro_bad_input),
	KTAP_CASE(test_simulate_json_contract),
	KTAP_CASE(test_simulate_deterministic_across_threads),
	KTAP_CASE(test_simulate_faults_naive_only_and_estimate),
	KTAP_CASE(test_simulate_kvm_pml),
	KTAP_CASE(test_simulate_text),
	KTAP_CASE(test_simulate_progress_bar_on_tty_only),
	KTAP_CASE(test_simulate_layout),
	KTAP_CASE(test_simulate_bad_input),
	KTAP_CASE(test_bench_json_contract),
	KTAP_CASE(test_bench_sizes_text),
	KTAP_CASE(test_bench_bad_input),
};

KTAP_MAIN("cli_cmds", cases)
