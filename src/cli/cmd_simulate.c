// SPDX-License-Identifier: MIT
/*
 * cmd_simulate.c - `snpsafe simulate`: Monte Carlo over modeled hosts (trials,
 * correlated where they share an aged allocator).  Deterministic for a seed
 * whatever --threads says.
 */
#include "cli.h"
#include "guest_report.h"
#include "cluster_report.h"
#include "sim_report.h"
#include "tick_report.h"

#include <snpsafe/sim.h>

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A knob of a --config file as --knob takes it, "NAME=VALUE". */
#define CONFIG_KNOB_LEN 128

struct simulate_opts {
	struct sim_mc_config mc;
	struct cli_profile_opts po;
	bool json;
	unsigned int guest_mask;    /* guest VMSA strategies (--guest) */
	bool guest_set;
	struct cli_guest_report guest;
	const char *config;         /* --config FILE */
	bool config_read;           /* FILE applied: the flags' second pass leaves --config be */
	char config_knobs[CLI_MAX_KNOBS][CONFIG_KNOB_LEN];   /* its knobs, for po.knobs[] */
	char boot_dump_path[4096];   /* --boot-dump FILE, "" none */
};

#define OPTS(ctx) ((struct simulate_opts *)(ctx))

static SNP_MUST_CHECK int set_u(const char *v, uint64_t min, uint64_t max, unsigned int *out)
{
	uint64_t x;
	int ret = cli_parse_u64(v, min, max, &x);

	if (!ret)
		*out = (unsigned int)x;
	return ret;
}

static SNP_MUST_CHECK int set_mem(void *ctx, const char *v)
{
	int ret = cli_parse_size(v, 64 * SNP_MiB, SNP_RMP_MAX_MEM, &OPTS(ctx)->mc.mem_bytes);

	return !ret && OPTS(ctx)->mc.mem_bytes % (4 * SNP_MiB) ? SNP_EINVAL : ret;
}
static SNP_MUST_CHECK int set_cpus(void *ctx, const char *v) { return set_u(v, 1, 256, &OPTS(ctx)->mc.cpus); }
static SNP_MUST_CHECK int set_vms(void *ctx, const char *v) { return set_u(v, 1, 10000, &OPTS(ctx)->mc.vms); }
static SNP_MUST_CHECK int set_vcpus(void *ctx, const char *v) { return set_u(v, 1, 64, &OPTS(ctx)->mc.vcpus); }
static SNP_MUST_CHECK int set_age(void *ctx, const char *v) { return set_u(v, 0, 95, &OPTS(ctx)->mc.age_pct); }
static SNP_MUST_CHECK int set_age_profile(void *ctx, const char *v)
{
	return sim_age_profile_parse(v, &OPTS(ctx)->mc.age_profile);
}
static SNP_MUST_CHECK int set_age_rounds(void *ctx, const char *v)
{
	return set_u(v, 0, MM_AGE_WATCH_MAX_ROUNDS, &OPTS(ctx)->mc.age_rounds);
}
static SNP_MUST_CHECK int set_ager_cpu(void *ctx, const char *v)
{
	return mm_ager_cpu_parse(v, &OPTS(ctx)->mc.ager_cpu);
}
static SNP_MUST_CHECK int set_ticks(void *ctx, const char *v) { return set_u(v, 0, 1000000, &OPTS(ctx)->mc.ticks); }
static SNP_MUST_CHECK int set_gmem_faulted(void *ctx, const char *v) { return set_u(v, 0, 100, &OPTS(ctx)->mc.gmem_faulted_pct); }
static SNP_MUST_CHECK int set_guest_pages(void *ctx, const char *v) { return set_u(v, 0, 1u << 20, &OPTS(ctx)->mc.guest_pages); }
static SNP_MUST_CHECK int set_lifetime(void *ctx, const char *v) { return set_u(v, 0, 1000000, &OPTS(ctx)->mc.lifetime); }
static SNP_MUST_CHECK int set_trials(void *ctx, const char *v) { return set_u(v, 1, 1000000, &OPTS(ctx)->mc.trials); }
static SNP_MUST_CHECK int set_threads(void *ctx, const char *v) { return set_u(v, 1, 256, &OPTS(ctx)->mc.threads); }
static SNP_MUST_CHECK int set_seed(void *ctx, const char *v) { return cli_parse_u64(v, 0, UINT64_MAX, &OPTS(ctx)->mc.seed); }
static SNP_MUST_CHECK int set_json(void *ctx, const char *v) { OPTS(ctx)->json = true; return 0; }
static SNP_MUST_CHECK int set_mix(void *ctx, const char *v) { return sim_mc_parse_mix(v, OPTS(ctx)->mc.mix); }
static SNP_MUST_CHECK int set_profile(void *ctx, const char *v) { return cli_profile_opts_set_profile(&OPTS(ctx)->po, v); }
static SNP_MUST_CHECK int set_knob(void *ctx, const char *v) { return cli_profile_opts_add_knob(&OPTS(ctx)->po, "simulate", v); }

static SNP_MUST_CHECK int set_guest(void *ctx, const char *v)
{
	OPTS(ctx)->guest_set = true;
	return cli_guest_parse(v, &OPTS(ctx)->guest_mask);
}

static SNP_MUST_CHECK int set_strategy(void *ctx, const char *v)
{
	enum snp_alloc_strategy s;

	if (!strcmp(v, "all")) {
		OPTS(ctx)->mc.strategies = (1u << SNP_ALLOC_NR_STRATEGIES) - 1;
		return 0;
	}
	if (snp_alloc_strategy_parse(v, &s))
		return SNP_EINVAL;
	OPTS(ctx)->mc.strategies = 1u << s;
	return 0;
}

static SNP_MUST_CHECK int set_kernel(void *ctx, const char *v)
{
	return mm_kernel_parse(v, &OPTS(ctx)->mc.kernel);
}

static SNP_MUST_CHECK int set_kvm(void *ctx, const char *v)
{
	return kvm_version_parse(v, &OPTS(ctx)->mc.kvm_version);
}

static SNP_MUST_CHECK int set_layout(void *ctx, const char *v)
{
	return snp_ram_layout_parse(v, &OPTS(ctx)->mc.ram_layout);
}

/* "on" or "off" into *on; anything else SNP_EINVAL, *on untouched. */
static SNP_MUST_CHECK int parse_on_off(const char *v, bool *on)
{
	if (strcmp(v, "on") && strcmp(v, "off"))
		return SNP_EINVAL;
	*on = !strcmp(v, "on");
	return 0;
}

static SNP_MUST_CHECK int set_vmsave_marks(void *ctx, const char *v)
{
	return parse_on_off(v, &OPTS(ctx)->mc.vmsave_marks);
}

static SNP_MUST_CHECK int set_boot_dump(void *ctx, const char *v)
{
	if (strlen(v) >= sizeof(OPTS(ctx)->boot_dump_path))
		return SNP_EINVAL;
	strcpy(OPTS(ctx)->boot_dump_path, v);
	return 0;
}

static SNP_MUST_CHECK int set_boot_dump_pcp(void *ctx, const char *v)
{
	for (unsigned int p = 0; p < KVM_NR_BOOT_DUMP_PCP; p++)
		if (!strcmp(v, kvm_boot_dump_pcp_name((enum kvm_boot_dump_pcp)p))) {
			OPTS(ctx)->mc.boot_dump_pcp = (enum kvm_boot_dump_pcp)p;
			return 0;
		}
	return SNP_EINVAL;
}

static SNP_MUST_CHECK int set_boot_memory(void *ctx, const char *v)
{
	bool on;
	int ret = parse_on_off(v, &on);

	if (!ret)
		OPTS(ctx)->mc.no_boot_memory = !on;
	return ret;
}

static SNP_MUST_CHECK int set_thp_min_free(void *ctx, const char *v)
{
	bool on;
	int ret = parse_on_off(v, &on);

	if (!ret)
		OPTS(ctx)->mc.no_thp_min_free = !on;
	return ret;
}

static SNP_MUST_CHECK int set_clone(void *ctx, const char *v)
{
	return parse_on_off(v, &OPTS(ctx)->mc.clone);
}

static SNP_MUST_CHECK int set_avic(void *ctx, const char *v)
{
	return kvm_avic_mode_parse(v, &OPTS(ctx)->mc.avic);
}

static SNP_MUST_CHECK int set_irqchip(void *ctx, const char *v)
{
	bool on;
	int ret = parse_on_off(v, &on);

	if (!ret)
		OPTS(ctx)->mc.no_irqchip = !on;
	return ret;
}

static SNP_MUST_CHECK int set_kvm_debugfs(void *ctx, const char *v)
{
	return kvm_debugfs_parse(v, &OPTS(ctx)->mc.kvm_debugfs);
}

/* "W0,W1,...": CPU c's weight, 0..SIM_MC_VMM_WEIGHT_MAX, at most SIM_MC_VMM_CPUS_MAX; "" clears. */
static SNP_MUST_CHECK int set_vmm_cpus(void *ctx, const char *v)
{
	uint32_t w[SIM_MC_VMM_CPUS_MAX] = { 0 };
	unsigned int n = 0;
	uint64_t total = 0;
	const char *p = v;

	while (*p) {
		char *end;
		unsigned long long x;

		if (n == SIM_MC_VMM_CPUS_MAX || !isdigit((unsigned char)*p))
			return SNP_EINVAL;
		errno = 0;
		x = strtoull(p, &end, 10);
		if (errno || x > SIM_MC_VMM_WEIGHT_MAX || (*end && *end != ','))
			return SNP_EINVAL;
		w[n++] = (uint32_t)x;
		total += x;
		p = *end ? end + 1 : end;
		if (*end && !*p)
			return SNP_EINVAL;   /* a trailing comma */
	}
	if (n && !total)
		return SNP_EINVAL;
	memcpy(OPTS(ctx)->mc.vmm_cpu_weight, w, sizeof(w));
	return 0;
}

/* A finite number in [lo, hi], the whole of @v. */
static SNP_MUST_CHECK int set_double(const char *v, double lo, double hi, double *out)
{
	char *end;
	double x = strtod(v, &end);

	if (end == v || *end || !isfinite(x) || x < lo || x > hi)
		return SNP_EINVAL;
	*out = x;
	return 0;
}

static SNP_MUST_CHECK int set_vmm_migrate(void *ctx, const char *v)
{
	return set_u(v, 0, 100, &OPTS(ctx)->mc.vmm_migrate_pct);
}

static SNP_MUST_CHECK int set_remake_after(void *ctx, const char *v)
{
	return set_u(v, 0, SIM_MC_REMAKE_AFTER_MAX, &OPTS(ctx)->mc.remake_after);
}

static SNP_MUST_CHECK int set_rcu_grace(void *ctx, const char *v)
{
	return sim_rcu_grace_parse(v, &OPTS(ctx)->mc.rcu_grace_end);
}

static SNP_MUST_CHECK int set_host_loops(void *ctx, const char *v)
{
	return set_double(v, 0, SIM_MC_HOST_LOOPS_MAX, &OPTS(ctx)->mc.host_loops);
}

/* The file is read once the whole line is known to be valid (cmd_simulate()). */
static SNP_MUST_CHECK int set_config(void *ctx, const char *v)
{
	struct simulate_opts *o = ctx;

	if (o->config_read)
		return 0;
	if (o->config)
		return cli_usage_error("simulate", "--config given twice ('%s', '%s'): give one file",
				       o->config, v);
	o->config = v;
	return 0;
}

/* --shard K/N: 1 <= K <= N. */
static SNP_MUST_CHECK int set_shard(void *ctx, const char *v)
{
	const char *slash = strchr(v, '/');
	char k[16];
	int ret;

	if (!slash || (size_t)(slash - v) >= sizeof(k))
		return SNP_EINVAL;
	memcpy(k, v, (size_t)(slash - v));
	k[slash - v] = '\0';
	ret = set_u(slash + 1, 1, 1000000, &OPTS(ctx)->mc.shard_n);
	if (!ret)
		ret = set_u(k, 1, OPTS(ctx)->mc.shard_n, &OPTS(ctx)->mc.shard_k);
	return ret;
}

static SNP_MUST_CHECK int set_age_share(void *ctx, const char *v)
{
	return set_u(v, 1, 1000000, &OPTS(ctx)->mc.age_share);
}

static SNP_MUST_CHECK int set_vmsave_window(void *ctx, const char *v)
{
	return set_double(v, 0, 1, &OPTS(ctx)->mc.vmsave_window);
}

/* Written from the model's tables when the command starts (simulate_help_text()). */
static char mix_help[192], mix_valid[128], kvm_help[CLI_KVM_HELP_MAX], kvm_valid[CLI_KVM_VALID_MAX];
static char guest_help[CLI_GUEST_HELP_MAX], guest_valid[CLI_GUEST_VALID_MAX];

static const struct cli_option simulate_options[] = {
	{ "mem", true, set_mem, "SIZE", "modeled memory per host, K/M/G/T (default 2G); above 16G the "
	  "host keeps 16G, aged, and its guests hold the rest from boot (docs/MODEL.md)",
	  "64M..4T (the modeled RMP's reach), a multiple of 4M" },
	{ "cpus", true, set_cpus, "N", "host CPUs (default 4)", "1..256" },
	{ "vms", true, set_vms, "N", "VMs per host (default 16; past the ASIDs KVM refuses them, counted)",
	  "1..10000" },
	{ "vcpus", true, set_vcpus, "N", "vCPUs per VM, 1..64 (default 4)", "1..64" },
	{ "mix", true, set_mix, "LIST", mix_help, mix_valid },
	{ "kvm", true, set_kvm, "V", kvm_help, kvm_valid },
	{ "guest", true, set_guest, "S|all|off", guest_help, guest_valid },
	{ "age", true, set_age, "PCT", "age the allocator to PCT% in use, of the 16G a larger host keeps, 0..95 (default 60)", "0..95" },
	{ "age-profile", true, set_age_profile, "generic|watch",
	  "how hosts are aged: generic (to --age PCT before kvm_amd loads; default) or watch "
	  "(watch's ager after kvm_amd loads: --age-rounds rounds, each ending with 2 VMs; --age "
	  "unused; docs/MODEL.md)", "generic, watch" },
	{ "age-rounds", true, set_age_rounds, "N",
	  "with --age-profile watch: the ager's rounds, as watch --age-rounds N (1..32)", "0..32" },
	{ "ager-cpu", true, set_ager_cpu, "round|piece",
	  "with --age-profile watch: the CPU the ager runs on, one drawn a round (default) or "
	  "one a piece", "round, piece" },
	{ "ticks", true, set_ticks, "N", "ticks of host activity per trial (default 512)",
	  "0..1000000" },
	{ "lifetime", true, set_lifetime, "TICKS",
	  "VM churn: destroy each VM after TICKS ticks and make a new one of its kind in its "
	  "slot, as watch's workload does (default 0: VMs live the whole trial)", "0..1000000" },
	{ "guest-pages", true, set_guest_pages, "N",
	  "every VM's memory in 4K pages (default 0: drawn, 64..511)", "0..1048576" },
	{ "irqchip", true, set_irqchip, "on|off",
	  "the VMs' LAPIC in the kernel (KVM_CREATE_IRQCHIP; default on) or not, as watch's "
	  "workload makes them (no LAPIC page)", "on, off" },
	{ "kvm-debugfs", true, set_kvm_debugfs, "off|on|tcg",
	  "KVM's debugfs files, an inode and a dentry each (RECLAIMABLE slabs, freed after an RCU "
	  "grace period): off (default), on (an SNP host's), tcg (QEMU's TCG: no TSC ratio MSR)",
	  "off, on, tcg" },
	{ "vmm-cpus", true, set_vmm_cpus, "W0,W1,...",
	  "the CPU each VM's VMM runs on (its creation and teardown): CPU c with weight Wc, one "
	  "weight a CPU up to --cpus (default: uniform; watch gives its boot's)", NULL },
	{ "vmm-migrate", true, set_vmm_migrate, "PCT",
	  "percent of VMs whose VMM thread ends them on a CPU drawn afresh by --vmm-cpus, not always "
	  "the one that made them (the scheduler moved it; default 0; watch gives a measured share)",
	  "0..100" },
	{ "remake-after", true, set_remake_after, "N",
	  "VM churn: a VM's successor is made once N more VMs of the tick have ended (default 0: "
	  "at once; watch gives 1, as its boots did)", "0..64" },
	{ "rcu-grace", true, set_rcu_grace, "tick|end",
	  "VM churn: the frees an RCU grace period delays (KVM's debugfs files) run at the next "
	  "tick's start (tick, default) or after each VM's end, before the next (end; watch's)",
	  "tick, end" },
	{ "host-loops", true, set_host_loops, "X",
	  "watch's workload host thread: X loops a tick (fractions carry), each writing and "
	  "unlinking a 4 MiB tmpfs file, then faulting in and unmapping 4 MiB of anonymous "
	  "memory (default 0: none; docs/MODEL.md)", "0..1000" },
	{ "gmem-faulted", true, set_gmem_faulted, "PCT",
	  "percent of an SNP guest's memory (guest_memfd, order-0 pages at first private use) "
	  "its vCPUs fault in at their first run (default 100)", "0..100" },
	{ "trials", true, set_trials, "N", "hosts per strategy (default 32)", "1..1000000" },
	{ "threads", true, set_threads, "N", "worker threads (default: CPUs online)", "1..256" },
	{ "strategy", true, set_strategy, "S|all",
	  "naive (counterfactual: no workaround), upstream, sieve or all (default all)",
	  "naive, upstream, sieve, all" },
	{ "profile", true, set_profile, "P", "early-snp, hv-inuse-wr or fixed (default early-snp)",
	  "early-snp, hv-inuse-wr, fixed" },
	{ "knob", true, set_knob, "NAME=VALUE", "set a profile knob (list below), repeatable", NULL },
	{ "seed", true, set_seed, "N", "PRNG seed (default 1)", "0..18446744073709551615" },
	{ "kernel", true, set_kernel, "6.1|6.12",
	  "page allocator generation the hosts follow (default 6.12)", "6.1, 6.12" },
	{ "layout", true, set_layout, "L",
	  "the hosts' RAM map, which sets the direct map's leaves: flat (all RAM, default) or "
	  "qemu-pc (QEMU pc's e820: holes below 1 MiB and the top 128 KiB; --mem up to 3584M)",
	  "flat, qemu-pc" },
	{ "boot-memory", true, set_boot_memory, "on|off",
	  "with --layout qemu-pc: the watched kernel's own memory at kvm_amd's load, and the "
	  "pages it freed among it (default on; docs/MODEL.md)", "on, off" },
	{ "boot-dump", true, set_boot_dump, "FILE",
	  "with --layout qemu-pc: start each host from a measured boot instead of the boot-state "
	  "rules: FILE is watch/boot-dump.sh's (a watched kernel's pageblocks and free pages at "
	  "the workload's start, and its 4K direct-map regions); --mem must be its memory "
	  "(docs/MODEL.md \"Boot state from a dump\")", NULL },
	{ "boot-dump-pcp", true, set_boot_dump_pcp, "random|cpu0",
	  "with --boot-dump: which CPU's list each run of the dump's per-CPU-list pages goes "
	  "to: a random CPU a run (default), or CPU 0 (the dump cannot say)", "random, cpu0" },
	{ "thp-min-free", true, set_thp_min_free, "on|off",
	  "THP enabled: khugepaged raises min_free_kbytes, and the pcp lists' high with it "
	  "(default on, as Debian's kernels)", "on, off" },
	{ "vmsave-marks", true, set_vmsave_marks, "on|off",
	  "the save area is a VMSAVE target, in-use while VMSAVE runs (default on)", "on, off" },
	{ "vmsave-window", true, set_vmsave_window, "F",
	  "share of a tick one VMSAVE takes, 0..1 (assumed; default 0.0001)", "0..1" },
	{ "clone", true, set_clone, "on|off",
	  "age each allocator once and copy it into the trials that start from it (default on)",
	  "on, off" },
	{ "age-share", true, set_age_share, "N",
	  "trials cloned from one aged allocator (with --clone on; they are correlated), 1: each "
	  "its own (default 8)",
	  "1..4294967295" },
	{ "avic", true, set_avic, "auto|on|off",
	  "kvm_amd's AVIC, whose backing page VMRUN marks in-use: auto (default) is upstream's "
	  "avic_hardware_setup(), off on an SNP host without HvInUseWrAllowed (early-snp), on "
	  "with it (hv-inuse-wr, fixed); on: the 2021 kernels the review is about",
	  "auto, on, off" },
	{ "config", true, set_config, "FILE",
	  "take the run's flags from FILE, the JSON a simulate --json printed: the whole output "
	  "or its \"config\" object; keys it lacks keep their defaults, and flags on the line "
	  "override it wherever they stand",
	  NULL },
	{ "shard", true, set_shard, "K/N",
	  "run shard K of N of the run the other flags describe (the aged allocators, or the "
	  "trials without shared ageing, whose index modulo N is K-1) and print its trials' raw "
	  "counts as JSON (needs --json) for `snpsafe merge` (docs/SCALE.md)",
	  "K/N, 1 <= K <= N <= 1000000" },
	{ "json", false, set_json, "", "print one JSON object on stdout", NULL },
	{ NULL, false, NULL, NULL, NULL, NULL },
};

static void simulate_extra_help(void)
{
	printf("\nlimits: --mem must hold the aged pages, the reserved low 1 MiB and one page per\n"
	       "CPU (kvm_amd's save areas); a run below that is refused before it starts.\n"
	       "outcomes, counted per strategy and the run goes on: a VM refused because its\n"
	       "ASID pool is used up (%u ASIDs for sev-es and snp together, %u for sev; a\n"
	       "destroyed VM's ASID is reused only after a flush), and a VM or vCPU creation\n"
	       "that fails with ENOMEM (the VM is torn down, nothing leaks).\n",
	       sim_mc_asid_pool(SIM_VM_SNP), sim_mc_asid_pool(SIM_VM_SEV));
	cli_print_knob_help();
}

/* ---- --config FILE: a previous run's JSON as the scenario -------------------------- */

/* How a key of simulate --json's "config" is read. */
enum config_kind {
	CK_INT,          /* a whole number (or, as the JSON contract writes one above 2^53, its decimal string) */
	CK_NUM,          /* a number */
	CK_STR,          /* a string */
	CK_STRATEGIES,   /* an array of strategy names */
	CK_KNOBS,        /* an object of knob names and values, each one --knob */
};

/* Each key json_config() writes, and the flag it stands for. */
static const struct config_key {
	const char *key;
	const char *flag;
	enum config_kind kind;
} config_keys[] = {
	{ "mem_bytes", "mem", CK_INT },         { "cpus", "cpus", CK_INT },
	{ "vms", "vms", CK_INT },               { "vcpus", "vcpus", CK_INT },
	{ "mix", "mix", CK_STR },               { "age_pct", "age", CK_INT },
	{ "age_profile", "age-profile", CK_STR }, { "age_rounds", "age-rounds", CK_INT },
	{ "ager_cpu", "ager-cpu", CK_STR },
	{ "ticks", "ticks", CK_INT },           { "trials", "trials", CK_INT },
	{ "lifetime", "lifetime", CK_INT },
	{ "guest_pages", "guest-pages", CK_INT }, { "gmem_faulted", "gmem-faulted", CK_INT },
	{ "threads", "threads", CK_INT },       { "strategies", "strategy", CK_STRATEGIES },
	{ "profile", "profile", CK_STR },       { "knobs", "knob", CK_KNOBS },
	{ "seed", "seed", CK_INT },             { "kernel", "kernel", CK_STR },
	{ "kvm", "kvm", CK_STR },               { "layout", "layout", CK_STR },
	{ "avic", "avic", CK_STR },             { "vmsave_marks", "vmsave-marks", CK_STR },
	{ "vmsave_window", "vmsave-window", CK_NUM }, { "clone", "clone", CK_STR },
	{ "age_share", "age-share", CK_INT },   { "guest", "guest", CK_STR },
	{ "boot_memory", "boot-memory", CK_STR }, { "thp_min_free", "thp-min-free", CK_STR },
	{ "boot_dump", "boot-dump", CK_STR },   { "boot_dump_pcp", "boot-dump-pcp", CK_STR },
	{ "irqchip", "irqchip", CK_STR },       { "kvm_debugfs", "kvm-debugfs", CK_STR },
	{ "host_loops", "host-loops", CK_NUM }, { "vmm_cpus", "vmm-cpus", CK_STR },
	{ "vmm_migrate", "vmm-migrate", CK_INT },
	{ "remake_after", "remake-after", CK_INT }, { "rcu_grace", "rcu-grace", CK_STR },
};

#define CONFIG_MAX_BYTES (1u << 20)

/* "snpsafe simulate: --config FILE, line L, column C: ..." on one line; CLI_EXIT_USAGE. */
#define config_error(path, at, ...) cli_json_error("simulate", "--config ", (path), (at), __VA_ARGS__)

static const struct cli_option *find_flag(const char *name)
{
	for (const struct cli_option *o = simulate_options; o->name; o++)
		if (!strcmp(o->name, name))
			return o;
	return NULL;
}

/* Whether s is a non-empty run of decimal digits. */
static bool all_digits(const char *s)
{
	return *s && strspn(s, "0123456789") == strlen(s);
}

/* The text the flag would take for value v of key k, or NULL after an error. */
static const char *config_text(const char *path, const struct config_key *k, const struct json_node *v)
{
	switch (k->kind) {
	case CK_INT:
		if ((v->type == JSON_NUMBER || v->type == JSON_STRING) && all_digits(v->text))
			return v->text;
		config_error(path, v, "\"%s\" must be a whole number, not %s%s%s", k->key,
			     v->type == JSON_STRING ? "\"" : "",
			     v->type == JSON_NUMBER || v->type == JSON_STRING ? v->text :
			     json_type_name(v->type), v->type == JSON_STRING ? "\"" : "");
		return NULL;
	case CK_NUM:
		if (v->type == JSON_NUMBER)
			return v->text;
		config_error(path, v, "\"%s\" must be a number, not %s", k->key, json_type_name(v->type));
		return NULL;
	default:
		if (v->type == JSON_STRING)
			return v->text;
		config_error(path, v, "\"%s\" must be a string, not %s", k->key, json_type_name(v->type));
		return NULL;
	}
}

/* Value v of key k through its flag's own parser, as if given on the line. */
static SNP_MUST_CHECK int config_flag(struct simulate_opts *o, const char *path,
				      const struct config_key *k, const struct json_node *v)
{
	const struct cli_option *opt = find_flag(k->flag);
	const char *text = config_text(path, k, v);
	int ret;

	if (!text)
		return CLI_EXIT_USAGE;
	if (!opt)
		return config_error(path, v, "\"%s\": no flag --%s (a bug)", k->key, k->flag);
	ret = opt->set(o, text);
	if (!ret || ret == CLI_EXIT_USAGE)
		return ret;
	return config_error(path, v, "bad value '%s' for \"%s\" (--%s; %svalid: %s)", text, k->key,
			    opt->name, ret == SNP_ERANGE ? "out of range; " : "",
			    opt->valid ? opt->valid : opt->help_arg);
}

/* "strategies": ["naive", "sieve"]: the run's strategies, any of them. */
static SNP_MUST_CHECK int config_strategies(struct simulate_opts *o, const char *path,
					    const struct json_node *v)
{
	unsigned int mask = 0;

	if (v->type != JSON_ARRAY || !v->child)
		return config_error(path, v, "\"strategies\" must be a list of one or more of "
				    "\"naive\", \"upstream\", \"sieve\", not %s",
				    v->type == JSON_ARRAY ? "an empty one" : json_type_name(v->type));
	for (const struct json_node *e = v->child; e; e = e->next) {
		enum snp_alloc_strategy st;

		if (e->type != JSON_STRING || snp_alloc_strategy_parse(e->text, &st))
			return config_error(path, e, "bad strategy %s%s%s in \"strategies\" (valid: "
					    "naive, upstream, sieve)", e->type == JSON_STRING ? "'" : "",
					    e->type == JSON_STRING ? e->text : json_type_name(e->type),
					    e->type == JSON_STRING ? "'" : "");
		mask |= 1u << st;
	}
	o->mc.strategies = mask;
	return 0;
}

/* "knobs": {"name": "value", ...}: each one --knob name=value, checked as --knob checks it. */
static SNP_MUST_CHECK int config_knobs(struct simulate_opts *o, const char *path,
				       const struct json_node *v)
{
	unsigned int i = 0;

	if (v->type != JSON_OBJECT)
		return config_error(path, v, "\"knobs\" must be an object of knob names and values, "
				    "not %s", json_type_name(v->type));
	for (const struct json_node *m = v->child; m; m = m->next, i++) {
		char where[512];
		int n;

		if (m->type != JSON_STRING)
			return config_error(path, m, "knob \"%s\" must have a string value, not %s",
					    m->key, json_type_name(m->type));
		if (i == CLI_MAX_KNOBS)
			return config_error(path, m, "more than %d knobs", CLI_MAX_KNOBS);
		n = snprintf(o->config_knobs[i], CONFIG_KNOB_LEN, "%s=%s", m->key, m->text);
		if (n < 0 || n >= CONFIG_KNOB_LEN)
			return config_error(path, m, "knob \"%.40s...\" is too long to be one", m->key);
		/* its own message, placed in the file: "simulate: --config F, line L, column C: ..." */
		snprintf(where, sizeof(where), "simulate: --config %s, line %u, column %u", path,
			 m->line, m->col);
		if (cli_profile_opts_add_knob(&o->po, where, o->config_knobs[i]))
			return CLI_EXIT_USAGE;
	}
	return 0;
}

static const char *config_key_list(char *buf, size_t len)
{
	size_t off = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < sizeof(config_keys) / sizeof(config_keys[0]) && off < len; i++)
		off += (size_t)snprintf(buf + off, len - off, "%s%s", i ? ", " : "", config_keys[i].key);
	return buf;
}

/* Each member of the config object, through its flag; an unknown key is refused. */
static SNP_MUST_CHECK int config_apply(struct simulate_opts *o, const char *path,
				       const struct json_node *cfg)
{
	for (const struct json_node *m = cfg->child; m; m = m->next) {
		const struct config_key *k = NULL;
		char keys[512];
		int ret;

		for (size_t i = 0; i < sizeof(config_keys) / sizeof(config_keys[0]) && !k; i++)
			if (!strcmp(config_keys[i].key, m->key))
				k = &config_keys[i];
		if (!k)
			return config_error(path, m, "unknown key \"%s\" in the config (keys: %s)", m->key,
					    config_key_list(keys, sizeof(keys)));
		if (k->kind == CK_STRATEGIES)
			ret = config_strategies(o, path, m);
		else if (k->kind == CK_KNOBS)
			ret = config_knobs(o, path, m);
		else
			ret = config_flag(o, path, k, m);
		if (ret)
			return ret;
	}
	return 0;
}

/* A member simulate --json writes beside "config": its output, not read back. */
static bool output_member(const char *key)
{
	return !strcmp(key, "summary") || !strcmp(key, "results") || !strcmp(key, "guest") ||
	       !strcmp(key, "shard") || !strcmp(key, "trials");
}

/*
 * The config object of doc: simulate --json's whole output (an object with
 * "config", beside which only its "summary", "results" and "guest" may stand;
 * they are the old run's output and are not read), or the config object itself.
 */
static SNP_MUST_CHECK int config_object(const char *path, const struct json_node *doc,
					const struct json_node **out)
{
	const struct json_node *c = json_member(doc, "config");

	if (doc->type != JSON_OBJECT)
		return config_error(path, doc, "expected an object (simulate --json's output or its "
				    "\"config\"), not %s", json_type_name(doc->type));
	if (!c) {
		*out = doc;
		return 0;
	}
	if (c->type != JSON_OBJECT)
		return config_error(path, c, "\"config\" must be an object, not %s",
				    json_type_name(c->type));
	for (const struct json_node *m = doc->child; m; m = m->next)
		if (m != c && !output_member(m->key))
			return config_error(path, m, "unknown key \"%s\" beside \"config\" (simulate "
					    "--json's output holds config, summary, results and guest, a shard's "
					    "config, shard and trials)", m->key);
	*out = c;
	return 0;
}

char *cli_slurp(const char *cmd, const char *what, const char *path, size_t max, size_t *len)
{
	FILE *f = fopen(path, "rb");
	struct stat st;
	size_t cap = max;
	char *buf;
	int err;

	/* a regular file: room for its size, not for the limit (merge's is 4 GiB) */
	if (f && !fstat(fileno(f), &st) && S_ISREG(st.st_mode) && (uint64_t)st.st_size < max)
		cap = (size_t)st.st_size + 1;
	buf = malloc(cap + 1);
	if (!f || !buf) {
		err = errno;
		cli_usage_error(cmd, "%s%s: %s", what, path, strerror(f ? ENOMEM : err));
		goto fail;
	}
	*len = fread(buf, 1, cap + 1, f);
	if (ferror(f)) {
		cli_usage_error(cmd, "%s%s: cannot read it: %s", what, path, strerror(errno));
		goto fail;
	}
	if (*len > max || *len > cap) {   /* over the limit, or grown since fstat() */
		cli_usage_error(cmd, "%s%s: larger than %zu KiB (simulate --json prints a few, a "
				"shard about one per trial)", what, path, max / 1024);
		goto fail;
	}
	fclose(f);
	buf[*len] = '\0';
	return buf;
fail:
	if (f)
		fclose(f);
	free(buf);
	return NULL;
}

/* --config FILE into o, as flags given before every other flag of the line. */
static SNP_MUST_CHECK int config_read(struct simulate_opts *o, const char *path)
{
	struct json_node *doc = NULL;
	const struct json_node *cfg = NULL;
	char err[256];
	size_t len;
	char *text = cli_slurp("simulate", "--config ", path, CONFIG_MAX_BYTES, &len);
	int ret;

	if (!text)
		return CLI_EXIT_USAGE;
	if (!len)
		ret = cli_usage_error("simulate", "--config %s: the file is empty (expected the JSON "
				      "simulate --json prints)", path);
	else if (json_parse(text, len, &doc, err, sizeof(err)))
		ret = cli_usage_error("simulate", "--config %s, %s", path, err);
	else
		ret = config_object(path, doc, &cfg);
	if (!ret)
		ret = config_apply(o, path, cfg);
	json_node_free(doc);
	free(text);
	return ret;
}

/* Hosts alive at once: one per worker, and no more workers than trials to run. */
static unsigned int live_hosts(const struct sim_mc_config *mc)
{
	unsigned int jobs = mc->trials * (unsigned int)__builtin_popcount(mc->strategies);

	return mc->threads < jobs ? mc->threads : jobs;
}

/* Refuse, before starting, a run whose hosts would not fit in this machine's memory. */
static SNP_MUST_CHECK int check_fits(const struct sim_mc_config *mc)
{
	unsigned int hosts = live_hosts(mc);
	uint64_t need = sim_mc_trial_bytes(mc) * hosts, have = sim_mem_available();
	char a[32], b[32], c[32];

	if (need <= have / 10 * 8)
		return 0;
	return cli_usage_error("simulate", "--mem %s with %u host(s) at once (--threads, at most one "
			       "per trial) needs about %s of this machine's memory; it has %s "
			       "available", cli_fmt_size(mc->mem_bytes, c, sizeof(c)), hosts,
			       cli_fmt_size(need, a, sizeof(a)), cli_fmt_size(have, b, sizeof(b)));
}

/* --age-profile, --age-rounds and shared ageing together (sim_mc_age_ok()). */
static SNP_MUST_CHECK int check_age(const struct sim_mc_config *mc)
{
	if (sim_mc_age_ok(mc))
		return 0;
	if (mc->age_profile == SIM_AGE_GENERIC)
		return cli_usage_error("simulate", "--age-rounds %u needs --age-profile watch "
				       "(generic ageing is --age PCT)", mc->age_rounds);
	if (!mc->age_rounds)
		return cli_usage_error("simulate", "--age-profile watch needs --age-rounds N (1..%u)",
				       MM_AGE_WATCH_MAX_ROUNDS);
	return cli_usage_error("simulate", "--age-profile watch ages each host after kvm_amd "
			       "loads, and a host with kvm loaded cannot be cloned: give --age-share 1 "
			       "or --clone off (not --age-share %u)", mc->age_share);
}

/* --vmm-cpus: a weight for each CPU the host has, none past them. */
static SNP_MUST_CHECK int check_vmm_cpus(const struct sim_mc_config *mc)
{
	for (unsigned int c = mc->cpus; c < SIM_MC_VMM_CPUS_MAX; c++)
		if (mc->vmm_cpu_weight[c])
			return cli_usage_error("simulate", "--vmm-cpus gives CPU %u a weight, but --cpus "
					       "is %u: one weight a CPU at most", c, mc->cpus);
	return 0;
}

/* The model's own limits that the arguments decide (sim_mc_check_limits()). */
static SNP_MUST_CHECK int check_limits(const struct sim_mc_config *mc)
{
	struct sim_limit lim;
	char a[32], b[32];

	if (!sim_mc_check_limits(mc, &lim))
		return 0;
	return cli_usage_error("simulate", "--mem %s is too small for --age %u and --cpus %u: "
			       "at least %s; %s", cli_fmt_size(mc->mem_bytes, a, sizeof(a)), mc->age_pct,
			       mc->cpus, cli_fmt_size(lim.max, b, sizeof(b)), lim.why);
}

/* The bar with each strategy's running exposed aligned fraction and 95% interval. */
static void progress(void *ctx, const struct sim_mc_progress *p)
{
	struct cli_progress *bar = ctx;
	char line[sizeof(bar->last)];

	if (bar->enabled)
		cli_progress_show(bar, sim_mc_progress_format(p, bar->width, line, sizeof(line)));
}

static void print_kinds(const struct sim_mc_result *r)
{
	for (int k = 0; k < KVM_PAGE_NR_KINDS; k++)
		printf("%-9s %-7s %10llu %8llu %10llu %8llu %10llu %8llu\n",
		       snp_alloc_strategy_name(r->strategy), kvm_page_kind_name((enum kvm_page_kind)k),
		       (unsigned long long)r->sensitive_by_kind[k],
		       (unsigned long long)r->aligned_by_kind[k],
		       (unsigned long long)r->markable_by_kind[k],
		       (unsigned long long)r->markable_aligned_by_kind[k],
		       (unsigned long long)r->exposed_by_kind[k],
		       (unsigned long long)r->exposed_aligned_by_kind[k]);
}

/* A rate and its interval: "0.00200 [0.00186, 0.00215]", or "n/a" over no observation. */
static const char *rate_ci_text(char buf[64], double x, double lo, double hi)
{
	char a[16], b[16], c[16];

	if (isnan(x))
		snprintf(buf, 64, "n/a");
	else
		snprintf(buf, 64, "%s [%s, %s]", sim_rate_format(x, a, sizeof(a)),
			 sim_rate_format(lo, b, sizeof(b)), sim_rate_format(hi, c, sizeof(c)));
	return buf;
}

/* Each rate with its Wilson 95% interval, and the hosts the trials count for. */
static void print_rates(const struct sim_mc_result *r, unsigned int n)
{
	bool shared = n && cli_sim_shared(&r[0]);

	printf("\nRates, Wilson 95%% intervals%s:\n"
	       "%-9s %-28s %-28s %-26s %10s\n",
	       shared ? " (widened by the design effect of trials sharing an aged allocator)" : "",
	       "strategy", "trials w/ spurious fault", "aligned sensitive pages",
	       "trials w/ exposed aligned", "eff. hosts");
	for (unsigned int i = 0; i < n; i++) {
		char f[64], a[64], e[64], h[16];

		printf("%-9s %-26s   %-26s   %-26s %10s\n", snp_alloc_strategy_name(r[i].strategy),
		       rate_ci_text(f, (double)r[i].trials_with_fault / (double)r[i].trials,
				    r[i].fault_trials_ci_lo, r[i].fault_trials_ci_hi),
		       rate_ci_text(a, r[i].aligned_fraction, r[i].aligned_ci_lo, r[i].aligned_ci_hi),
		       rate_ci_text(e, r[i].trials_with_exposed_aligned, r[i].exposed_trials_ci_lo,
				    r[i].exposed_trials_ci_hi),
		       cli_sim_hosts_text(r[i].effective_hosts, h, sizeof(h)));
	}
	cli_sim_legend_rates(shared);
}

/*
 * What became of the VMs: outcomes counted, as a host returns them to its
 * VMM and goes on (docs/MODEL.md, "Limits and outcomes").
 */
static void print_outcomes(const struct sim_mc_result *r, unsigned int n)
{
	printf("\nVM outcomes (KVM's answer to the VMM; the host goes on):\n"
	       "%-9s %8s %8s %8s %10s %11s %10s %9s\n", "strategy", "tried", "running",
	       "no ASID", "VM ENOMEM", "vCPU ENOMEM", "kvm ENOMEM", "flushes");
	for (unsigned int i = 0; i < n; i++)
		printf("%-9s %8llu %8llu %8llu %10llu %11llu %10llu %9llu\n",
		       snp_alloc_strategy_name(r[i].strategy), (unsigned long long)r[i].vm.vms_tried,
		       (unsigned long long)r[i].vm.vms_running,
		       (unsigned long long)r[i].vm.vms_no_asid, (unsigned long long)r[i].vm.vm_enomem,
		       (unsigned long long)r[i].vm.vcpu_enomem,
		       (unsigned long long)r[i].vm.kvm_load_enomem,
		       (unsigned long long)r[i].vm.asid_flushes);
	cli_sim_legend_outcomes();
}

/* The first table: trials, faults, exposed pages and the headline fraction. */
static void print_main(const struct sim_mc_result *r, unsigned int n)
{
	printf("%-9s %7s %12s %9s %8s %8s %13s %20s %13s %8s %7s\n", "strategy", "trials",
	       "w/ spurious", "spurious", "exposed", "aligned", "exposed frac", "95% interval",
	       "analytic est", "order-1", "leaked");
	for (unsigned int i = 0; i < n; i++) {
		char frac[32], ci[48], est[32];

		if (isnan(r[i].exposed_ci_lo))
			snprintf(ci, sizeof(ci), "n/a");
		else
			snprintf(ci, sizeof(ci), "[%.5f, %.5f]", r[i].exposed_ci_lo, r[i].exposed_ci_hi);
		printf("%-9s %7llu %12llu %9llu %8llu %8llu %13s %20s %13s %8llu %7llu\n",
		       snp_alloc_strategy_name(r[i].strategy), (unsigned long long)r[i].trials,
		       (unsigned long long)r[i].trials_with_fault, (unsigned long long)r[i].spurious_faults,
		       (unsigned long long)r[i].exposed_pages,
		       (unsigned long long)r[i].exposed_aligned_pages,
		       cli_fmt_fixed(r[i].exposed_aligned_fraction, 5, frac, sizeof(frac)), ci,
		       cli_fmt_fixed(r[i].est_exposed_fraction, 5, est, sizeof(est)),
		       (unsigned long long)r[i].order1_blocks, (unsigned long long)r[i].leaked_pages);
	}
	cli_sim_legend_main(n && cli_sim_shared(&r[0]));
}

/* --mix as its own syntax ("svm:2,sev:1"), and the strategies as a comma list. */
static const char *mix_text(const struct sim_mc_config *mc, char *buf, size_t len)
{
	size_t off = 0;

	buf[0] = '\0';
	for (int k = 0; k < SIM_VM_NR && off < len; k++)
		if (mc->mix[k])
			off += (size_t)snprintf(buf + off, len - off, "%s%s:%u", off ? "," : "",
						sim_vm_kind_name((enum sim_vm_kind)k), mc->mix[k]);
	return buf;
}

/* ", each VM replaced after N ticks" with churn, else "" (a run without it prints what it always did). */
static const char *churn_text(const struct sim_mc_config *mc, char *buf, size_t len)
{
	buf[0] = '\0';
	if (mc->lifetime)
		snprintf(buf, len, ", each VM replaced after %u ticks", mc->lifetime);
	return buf;
}

/*
 * With SNP guests in the mix: KVM's live sensitive pages that share a
 * pageblock with a guest_memfd page (both UNMOVABLE), whose private
 * conversion split the region to 4K: not exposed, whatever their alignment.
 */
static void print_gmem_shared(const struct simulate_opts *o, const struct sim_mc_result *r, unsigned int n)
{
	char pct[16];

	if (!o->mc.mix[SIM_VM_SNP])
		return;
	printf("\nKVM pages sharing a pageblock with SNP guest_memfd pages (live at the trials' ends;\n"
	       "%u%% of each SNP guest's memory faulted in):\n", o->mc.gmem_faulted_pct);
	for (unsigned int i = 0; i < n; i++)
		printf("  %-9s %8llu of %8llu (%s%%)\n", snp_alloc_strategy_name(r[i].strategy),
		       (unsigned long long)r[i].gmem_pageblock_shared, (unsigned long long)r[i].live_sensitive,
		       cli_fmt_fixed(r[i].live_sensitive ? 100.0 * (double)r[i].gmem_pageblock_shared /
				     (double)r[i].live_sensitive : NAN, 1, pct, sizeof(pct)));
}

/* How the hosts were aged, around kvm_amd's load. */
static const char *age_text(const struct sim_mc_config *mc, char *buf, size_t len)
{
	if (mc->age_profile == SIM_AGE_WATCH)
		snprintf(buf, len, "with kvm_amd (KVM %s call sites) loaded, then aged as watch's ager "
			 "does (%u rounds, each ending with %u VMs; the ager's CPU one a %s)",
			 kvm_version_name(mc->kvm_version), mc->age_rounds, SIM_MC_AGE_VMS,
			 mm_ager_cpu_name(mc->ager_cpu));
	else
		snprintf(buf, len, "aged to %u%%, then kvm_amd (KVM %s call sites) loaded", mc->age_pct,
			 kvm_version_name(mc->kvm_version));
	return buf;
}

static void print_text(const struct simulate_opts *o, const struct sim_mc_result *r, unsigned int n)
{
	char mem[32], mix[128], churn[64], knobs[CLI_KNOBS_TEXT_MAX], summary[1024], aged[160];
	/* the hosts are SNP hosts (montecarlo.c), so auto resolves on the profile alone */
	bool avic = kvm_avic_resolve(o->mc.avic, true, &o->mc.profile);

	cli_profile_knobs_text(&o->mc.profile, knobs, sizeof(knobs));
	printf("Monte Carlo: %u trials per strategy; each a %s host (%u CPUs, page allocator of "
	       "Linux %s) %s, %u VMs x %u vCPUs (mix %s)%s, %u ticks; "
	       "profile %s%s%s; RAM map %s; seed %llu; AVIC %s%s\n", o->mc.trials,
	       cli_fmt_size(o->mc.mem_bytes, mem, sizeof(mem)), o->mc.cpus,
	       mm_kernel_name(o->mc.kernel), age_text(&o->mc, aged, sizeof(aged)),
	       o->mc.vms, o->mc.vcpus,
	       mix_text(&o->mc, mix, sizeof(mix)), churn_text(&o->mc, churn, sizeof(churn)), o->mc.ticks,
	       o->mc.profile.name,
	       knobs[0] ? " with " : "", knobs, snp_ram_layout_name(o->mc.ram_layout),
	       (unsigned long long)o->mc.seed, kvm_avic_mode_name(o->mc.avic),
	       o->mc.avic != KVM_AVIC_AUTO ? "" : avic ? " (on)" : " (off)");
	if (n && cli_sim_shared(&r[0]))
		printf("Ageing: one aged allocator per %u trials (--age-share), %u in all, cloned into\n"
		       "each of its trials; trials sharing one are correlated, not independent\n"
		       "(docs/MODEL.md)\n", o->mc.age_share, r[0].aged_allocators);
	else if (o->mc.age_profile == SIM_AGE_WATCH)
		printf("Ageing: every trial its own host, aged after kvm_amd loads (docs/MODEL.md "
		       "\"Ageing as watch's ager does it\")\n");
	else if (o->mc.age_pct)
		printf("Ageing: every trial its own aged allocator\n");
	printf("%s\n\n", cli_sim_summary(r, n, summary, sizeof(summary)));
	print_main(r, n);
	print_rates(r, n);
	print_outcomes(r, n);
	printf("\n%-9s %-7s %10s %8s %10s %8s %10s %8s\n", "strategy", "kind", "allocated", "aligned",
	       "markable", "aligned", "exposed", "aligned");
	for (unsigned int i = 0; i < n; i++)
		print_kinds(&r[i]);
	cli_sim_legend_kinds();
	if (o->mc.vmsave_marks)
		printf("\nVMSAVE window: hugepage writes into the 2MB region of an aligned save area while\n"
		       "its CPU entered a guest, x %g (a VMSAVE's share of a tick, assumed):\n",
		       o->mc.vmsave_window);
	for (unsigned int i = 0; o->mc.vmsave_marks && i < n; i++)
		printf("  %-9s %8llu writes -> %.4f expected faults in %llu trials\n",
		       snp_alloc_strategy_name(r[i].strategy),
		       (unsigned long long)r[i].vmsave_window_writes, r[i].vmsave_expected_faults,
		       (unsigned long long)r[i].trials);
	print_gmem_shared(o, r, n);
	cli_tick_print_text(r, n, o->mc.ticks);
	if (o->guest_mask)
		cli_guest_print_text(&o->guest);
	printf("\nThe naive strategy is a counterfactual: an SNP host without snp_safe_alloc_page();\n"
	       "no released kernel ran one.\n");
}

static void print_json_kinds(struct json *j, const struct sim_mc_result *r)
{
	json_obj_begin(j, "by_kind");
	for (int k = 0; k < KVM_PAGE_NR_KINDS; k++) {
		json_obj_begin(j, kvm_page_kind_name((enum kvm_page_kind)k));
		json_u64(j, "allocated", r->sensitive_by_kind[k]);
		json_u64(j, "aligned", r->aligned_by_kind[k]);
		json_u64(j, "markable", r->markable_by_kind[k]);
		json_u64(j, "markable_aligned", r->markable_aligned_by_kind[k]);
		json_u64(j, "exposed", r->exposed_by_kind[k]);
		json_u64(j, "exposed_aligned", r->exposed_aligned_by_kind[k]);
		json_obj_end(j);
	}
	json_obj_end(j);
}

static void print_json_outcomes(struct json *j, const struct sim_mc_outcomes *o)
{
	json_obj_begin(j, "vm_outcomes");
	json_u64(j, "tried", o->vms_tried);
	json_u64(j, "running", o->vms_running);
	json_u64(j, "refused_no_asid", o->vms_no_asid);
	json_u64(j, "vm_enomem", o->vm_enomem);
	json_u64(j, "vcpu_enomem", o->vcpu_enomem);
	json_u64(j, "kvm_load_enomem", o->kvm_load_enomem);
	json_u64(j, "asid_flushes", o->asid_flushes);
	json_u64(j, "teardown_pages_kept", o->teardown_pages_kept);
	json_obj_end(j);
}

static void print_json_result(struct json *j, const struct sim_mc_result *r)
{
	json_obj_begin(j, NULL);
	json_str(j, "strategy", snp_alloc_strategy_name(r->strategy));
	json_bool(j, "counterfactual", r->strategy == SNP_ALLOC_NAIVE);
	json_u64(j, "trials", r->trials);
	json_u64(j, "trials_with_fault", r->trials_with_fault);
	json_u64(j, "spurious_faults", r->spurious_faults);
	json_u64(j, "real_faults", r->real_faults);
	json_u64(j, "sensitive_pages", r->sensitive_pages);
	json_u64(j, "aligned_sensitive_pages", r->aligned_sensitive_pages);
	json_u64(j, "exposed_pages", r->exposed_pages);
	json_u64(j, "exposed_aligned_pages", r->exposed_aligned_pages);
	json_u64(j, "order1_blocks", r->order1_blocks);
	json_u64(j, "leaked_pages", r->leaked_pages);
	json_u64(j, "vmruns", r->vmruns);
	json_u64(j, "live_sensitive_pages", r->live_sensitive);
	json_u64(j, "gmem_pageblock_shared", r->gmem_pageblock_shared);
	json_double(j, "aligned_fraction", r->aligned_fraction);
	json_double(j, "est_aligned_fraction", r->est_aligned_fraction);
	json_double(j, "exposed_aligned_fraction", r->exposed_aligned_fraction);
	json_double(j, "exposed_ci95_lo", r->exposed_ci_lo);
	json_double(j, "exposed_ci95_hi", r->exposed_ci_hi);
	json_double(j, "est_exposed_fraction", r->est_exposed_fraction);
	json_double(j, "trials_with_exposed_aligned", r->trials_with_exposed_aligned);
	json_double(j, "trials_with_exposed_aligned_ci95_lo", r->exposed_trials_ci_lo);
	json_double(j, "trials_with_exposed_aligned_ci95_hi", r->exposed_trials_ci_hi);
	json_double(j, "trials_with_fault_rate", (double)r->trials_with_fault / (double)r->trials);
	json_double(j, "trials_with_fault_ci95_lo", r->fault_trials_ci_lo);
	json_double(j, "trials_with_fault_ci95_hi", r->fault_trials_ci_hi);
	json_double(j, "aligned_ci95_lo", r->aligned_ci_lo);
	json_double(j, "aligned_ci95_hi", r->aligned_ci_hi);
	json_double(j, "exposed_design_effect", r->exposed_deff);
	json_double(j, "aligned_design_effect", r->aligned_deff);
	json_double(j, "trials_with_exposed_aligned_design_effect", r->exposed_trials_deff);
	json_double(j, "effective_hosts", r->effective_hosts);
	json_double(j, "est_trials_with_exposed_aligned", r->est_trials_with_exposed_aligned);
	json_u64(j, "vmsave_window_writes", r->vmsave_window_writes);
	json_double(j, "vmsave_expected_faults", r->vmsave_expected_faults);
	print_json_outcomes(j, &r->vm);
	print_json_kinds(j, r);
	cli_json_cluster(j, "vmcb01_clustering", &r->vmcb01_cluster);
	cli_tick_json(j, r);
	json_obj_end(j);
}

/* --guest as it takes the mask: "off", "all" or the one strategy. */
static const char *guest_text(unsigned int mask)
{
	if (!mask)
		return "off";
	if (mask == (1u << GUEST_VMSA_NR_STRATEGIES) - 1 || (mask & (mask - 1)))
		return "all";
	return guest_vmsa_strategy_name((enum guest_vmsa_strategy)__builtin_ctz(mask));
}

/*
 * Everything needed to run it again: each field is one flag of the command
 * (--config reads them back through config_keys[]).
 */
static void json_config(struct json *j, const struct simulate_opts *o)
{
	char mix[128];

	json_obj_begin(j, "config");
	json_u64(j, "mem_bytes", o->mc.mem_bytes);
	json_u64(j, "cpus", o->mc.cpus);
	json_u64(j, "vms", o->mc.vms);
	json_u64(j, "vcpus", o->mc.vcpus);
	json_str(j, "mix", mix_text(&o->mc, mix, sizeof(mix)));
	json_u64(j, "age_pct", o->mc.age_pct);
	json_str(j, "age_profile", sim_age_profile_name(o->mc.age_profile));
	json_u64(j, "age_rounds", o->mc.age_rounds);
	json_str(j, "ager_cpu", mm_ager_cpu_name(o->mc.ager_cpu));
	json_u64(j, "ticks", o->mc.ticks);
	json_u64(j, "lifetime", o->mc.lifetime);
	json_u64(j, "guest_pages", o->mc.guest_pages);
	json_u64(j, "gmem_faulted", o->mc.gmem_faulted_pct);
	json_u64(j, "trials", o->mc.trials);
	json_u64(j, "threads", o->mc.threads);
	json_arr_begin(j, "strategies");
	for (int s = 0; s < SNP_ALLOC_NR_STRATEGIES; s++)
		if (o->mc.strategies & (1u << s))
			json_str(j, NULL, snp_alloc_strategy_name((enum snp_alloc_strategy)s));
	json_arr_end(j);
	json_str(j, "profile", o->mc.profile.name);
	cli_json_knobs(j, &o->mc.profile);
	json_u64_str(j, "seed", o->mc.seed);
	json_str(j, "kernel", mm_kernel_name(o->mc.kernel));
	json_str(j, "kvm", kvm_version_name(o->mc.kvm_version));
	json_str(j, "layout", snp_ram_layout_name(o->mc.ram_layout));
	json_str(j, "avic", kvm_avic_mode_name(o->mc.avic));
	json_str(j, "vmsave_marks", o->mc.vmsave_marks ? "on" : "off");
	json_double_exact(j, "vmsave_window", o->mc.vmsave_window);
	json_str(j, "clone", o->mc.clone ? "on" : "off");
	json_u64(j, "age_share", o->mc.age_share);
	json_str(j, "guest", guest_text(o->guest_mask));
	json_str(j, "boot_memory", o->mc.no_boot_memory ? "off" : "on");
	json_str(j, "thp_min_free", o->mc.no_thp_min_free ? "off" : "on");
	json_str(j, "boot_dump", o->boot_dump_path);
	json_str(j, "boot_dump_pcp", kvm_boot_dump_pcp_name(o->mc.boot_dump_pcp));
	json_str(j, "irqchip", o->mc.no_irqchip ? "off" : "on");
	json_str(j, "kvm_debugfs", kvm_debugfs_name(o->mc.kvm_debugfs));
	json_double_exact(j, "host_loops", o->mc.host_loops);
	{
		char w[SIM_MC_VMM_CPUS_MAX * 12];

		json_str(j, "vmm_cpus", sim_vmm_cpus_text(&o->mc, w, sizeof(w)));
	}
	json_u64(j, "vmm_migrate", o->mc.vmm_migrate_pct);
	json_u64(j, "remake_after", o->mc.remake_after);
	json_str(j, "rcu_grace", sim_rcu_grace_name(o->mc.rcu_grace_end));
	json_obj_end(j);
}

static void print_json(const struct simulate_opts *o, const struct sim_mc_result *r, unsigned int n)
{
	struct json j;

	json_init(&j, stdout);
	json_obj_begin(&j, NULL);
	json_config(&j, o);
	cli_sim_json_summary(&j, &o->mc, r, n);
	json_arr_begin(&j, "results");
	for (unsigned int i = 0; i < n; i++)
		print_json_result(&j, &r[i]);
	json_arr_end(&j);
	if (o->guest_mask)
		cli_guest_print_json(&j, &o->guest);
	json_obj_end(&j);
	json_finish(&j);
}

/*
 * A trial failed in the model: say what happened and which flags change it.
 * VMs that KVM refuses or that run out of memory are not failures (they are
 * counted); what is left is the host itself not fitting (its ageing).
 */
static SNP_MUST_CHECK int run_failed(int err)
{
	const char *advice = "";

	if (err == SNP_ENOMEM)
		advice = " (give the hosts more --mem, or lower --age, --vms, --vcpus or --cpus: "
			 "each CPU's free-page lists hold pages too)";
	return cli_fail("simulate", "a trial failed: %s%s", snp_error_text(err), advice);
}

/*
 * Too few effective hosts for the intervals to mean much: one line on
 * stderr, as scripts read stdout, after the results (seen last on a terminal).
 */
static void warn_few_hosts(const char *cmd, const struct sim_mc_config *mc, const struct sim_mc_result *r,
			   unsigned int n)
{
	char warn[512];

	if (!cli_sim_few_hosts(mc, r, n, warn, sizeof(warn)))
		return;
	fflush(stdout);
	fprintf(stderr, "snpsafe %s: warning: %s\n", cmd, warn);
}

/* --mix snp alone: the run is about SNP guests, so the guest side is shown too. */
static bool snp_only_mix(const unsigned int mix[SIM_VM_NR])
{
	for (unsigned int k = 0; k < SIM_VM_NR; k++)
		if ((k == SIM_VM_SNP) != (mix[k] > 0))
			return false;
	return true;
}

/* Without --guest, an SNP-only mix shows every guest strategy (a shard records it so). */
static void guest_default(struct simulate_opts *o)
{
	if (!o->guest_set && snp_only_mix(o->mc.mix))
		o->guest_mask = (1u << GUEST_VMSA_NR_STRATEGIES) - 1;
}

/* The run's results, the guest side with them, as text or JSON: simulate's and merge's output. */
static int report(const char *cmd, struct simulate_opts *o, const struct sim_mc_result *res, unsigned int n)
{
	int ret;

	guest_default(o);
	ret = o->guest_mask ? cli_guest_simulate(o->guest_mask, o->mc.seed, &o->guest) : 0;
	if (ret)
		return cli_fail(cmd, "guest-side simulation failed: %s", snp_error_text(ret));
	if (o->json)
		print_json(o, res, n);
	else
		print_text(o, res, n);
	warn_few_hosts(cmd, &o->mc, res, n);
	return CLI_EXIT_OK;
}

/*
 * --shard K/N: its trials' raw counts beside the whole run's config, the
 * input of `snpsafe merge`; no summary (a shard's alone would mislead).
 */
static int run_shard(struct simulate_opts *o)
{
	unsigned int nr = (unsigned int)__builtin_popcount(o->mc.strategies), n = 0, si = 0;
	struct sim_mc_result res[SNP_ALLOC_NR_STRATEGIES];
	struct sim_mc_trial *trials = calloc((size_t)nr * o->mc.trials, sizeof(*trials));
	struct cli_progress bar;
	struct json j;
	int ret;

	if (!trials)
		return run_failed(SNP_ENOMEM);
	o->mc.trials_out = trials;
	/* the JSON goes to a file: the bar (on stderr) shows whenever stderr is a terminal */
	cli_progress_init(&bar, (uint64_t)nr * o->mc.trials);
	o->mc.progress = progress;
	o->mc.progress_ctx = &bar;
	ret = sim_mc_run(&o->mc, res, &n);
	cli_progress_done(&bar);
	if (ret) {
		free(trials);
		return run_failed(ret);
	}
	guest_default(o);
	json_init(&j, stdout);
	json_obj_begin(&j, NULL);
	json_config(&j, o);
	json_obj_begin(&j, "shard");
	json_u64(&j, "k", o->mc.shard_k);
	json_u64(&j, "n", o->mc.shard_n);
	json_obj_end(&j);
	json_arr_begin(&j, "trials");
	for (int s = 0; s < SNP_ALLOC_NR_STRATEGIES; s++) {
		if (!(o->mc.strategies & (1u << s)))
			continue;
		for (unsigned int t = 0; t < o->mc.trials; t++)
			if (trials[si * o->mc.trials + t].ran)
				cli_shard_json_trial(&j, (enum snp_alloc_strategy)s, t,
						     &trials[si * o->mc.trials + t]);
		si++;
	}
	json_arr_end(&j);
	json_obj_end(&j);
	json_finish(&j);
	free(trials);
	return CLI_EXIT_OK;
}

static const char *vm_kind_name(unsigned int i)
{
	return sim_vm_kind_name((enum sim_vm_kind)i);
}

/* --mix, --kvm and --guest list the values their parsers take, and the defaults of mc. */
static void simulate_help_text(const struct sim_mc_config *mc)
{
	char kinds[64], mix[128];

	cli_join_names(vm_kind_name, SIM_VM_NR, kinds, sizeof(kinds));
	snprintf(mix_valid, sizeof(mix_valid), "a comma list of %s, each with an optional "
		 ":WEIGHT 0..1000", kinds);
	snprintf(mix_help, sizeof(mix_help), "VM kinds and weights, KIND[:W],...: KIND one of %s; "
		 "W 0..1000, 1 if left out (default %s)", kinds, mix_text(mc, mix, sizeof(mix)));
	cli_kvm_option_text(mc->kvm_version, kvm_help, sizeof(kvm_help), kvm_valid, sizeof(kvm_valid));
	cli_guest_option_text(guest_help, sizeof(guest_help), guest_valid, sizeof(guest_valid));
}

/* The options before any flag: sim_mc_config_init()'s, and a worker per CPU online. */
static void simulate_defaults(struct simulate_opts *o)
{
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);

	memset(o, 0, sizeof(*o));
	sim_mc_config_init(&o->mc);
	cli_profile_opts_init(&o->po);
	o->mc.threads = ncpu > 0 ? (unsigned int)(ncpu > 256 ? 256 : ncpu) : 1;
}

/* The parsed --boot-dump, owned by the command (sim_mc_config's pointer is const). */
static struct kvm_boot_dump *dump_of(const struct simulate_opts *o)
{
	return (struct kvm_boot_dump *)(uintptr_t)o->mc.boot_dump;
}

#define BOOT_DUMP_MAX_BYTES (4u << 20)

int cli_boot_dump_load(const char *cmd, const char *path, uint64_t mem_bytes, struct kvm_boot_dump **out,
		       uint64_t *hash)
{
	const char *why = NULL;
	struct kvm_boot_dump *d = NULL;
	unsigned long line = 0;
	uint64_t h = 0xcbf29ce484222325ULL;   /* FNV-1a */
	size_t len;
	char *text = cli_slurp(cmd, "--boot-dump ", path, BOOT_DUMP_MAX_BYTES, &len);
	int ret;

	*out = NULL;
	if (!text)
		return CLI_EXIT_USAGE;
	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)text[i]) * 0x100000001b3ULL;
	ret = kvm_boot_dump_parse(text, len, &d, &line, &why);
	free(text);
	if (ret == SNP_EINVAL && line)
		return cli_usage_error(cmd, "--boot-dump %s, line %lu: %s", path, line, why);
	if (ret)
		return cli_usage_error(cmd, "--boot-dump %s: %s", path, why ? why : snp_error_text(ret));
	if (kvm_boot_dump_pages(d) * SNP_PAGE_SIZE != mem_bytes) {
		unsigned long long mib = (unsigned long long)(kvm_boot_dump_pages(d) >> (20 - SNP_PAGE_SHIFT));

		kvm_boot_dump_free(d);
		return cli_usage_error(cmd, "--boot-dump %s is of a %llu MiB host, not of %llu MiB: give "
				       "--mem %lluM", path, mib, (unsigned long long)(mem_bytes >> 20), mib);
	}
	if (hash)
		*hash = h;
	*out = d;
	return 0;
}

/* --boot-dump FILE: a qemu-pc host of exactly its memory.  0, or CLI_EXIT_USAGE with the reason said. */
static SNP_MUST_CHECK int load_boot_dump(struct simulate_opts *o)
{
	struct kvm_boot_dump *d;
	int ret;

	if (!*o->boot_dump_path)
		return 0;
	if (o->mc.ram_layout != SNP_RAM_QEMU_PC)
		return cli_usage_error("simulate", "--boot-dump %s needs --layout qemu-pc (the map the "
				       "watched boots have)", o->boot_dump_path);
	if (o->mc.age_pct || o->mc.age_profile == SIM_AGE_WATCH)
		return cli_usage_error("simulate", "--boot-dump %s starts each host as the dumped boot was "
				       "when its workload started, its ageing included: give --age 0 (and no "
				       "--age-profile watch)", o->boot_dump_path);
	ret = cli_boot_dump_load("simulate", o->boot_dump_path, o->mc.mem_bytes, &d, NULL);
	if (!ret)
		o->mc.boot_dump = d;
	return ret;
}

int cmd_simulate(int argc, char **argv)
{
	static const char synopsis[] =
		"Monte Carlo over modeled hosts (trials): each is created, its allocator aged,\n"
		"filled with VMs, run for some ticks (vCPUs entering and leaving while other CPUs\n"
		"write through the direct map near and far), and torn down.  First a summary line:\n"
		"per strategy the chance that a host like these ends a run with a 2MB-aligned\n"
		"exposed page, with its 95% interval.  Then per strategy: trials, trials with a\n"
		"spurious fault, faults; per page kind the pages allocated, markable in-use and\n"
		"exposed (markable under a hugepage), each with its 2MB-aligned count; the exposed\n"
		"aligned fraction with its 95% interval and the analytic estimate; order-1 blocks\n"
		"broken, pages leaked; each table's columns defined below it.  Trials cloned from\n"
		"one aged allocator (--age-share) are correlated, not independent: the intervals\n"
		"are widened by their design effect, the effective number of hosts is printed, and\n"
		"a warning goes to stderr when it is under 10.  naive is a counterfactual: an SNP\n"
		"host without snp_safe_alloc_page() (no released kernel ran one).\n"
		"Deterministic for a seed whatever the thread count.\n";
	const struct snp_profile *profile;
	struct simulate_opts o;
	struct sim_mc_result res[SNP_ALLOC_NR_STRATEGIES];
	struct cli_progress bar;
	unsigned int n = 0;
	int ret;

	simulate_defaults(&o);
	simulate_help_text(&o.mc);
	ret = cli_parse_args_ex("simulate", argc, argv, simulate_options, &o, synopsis,
				simulate_extra_help, NULL, 0, NULL);
	/*
	 * --config: the line was valid; start again from the defaults, apply
	 * the file, then the line's flags over it, so that a flag wins over
	 * the file wherever it stands.
	 */
	if (!ret && o.config) {
		const char *path = o.config;

		simulate_defaults(&o);
		o.config = path;
		o.config_read = true;
		ret = config_read(&o, path);
		if (!ret)
			ret = cli_parse_args_ex("simulate", argc, argv, simulate_options, &o, synopsis,
						simulate_extra_help, NULL, 0, NULL);
	}
	if (ret)
		return ret < 0 ? CLI_EXIT_OK : ret;
	profile = cli_profile_opts_apply(&o.po);
	if (!profile)
		return cli_fail("simulate", "a --knob checked before no longer applies");
	o.mc.profile = *profile;
	if (o.mc.ram_layout == SNP_RAM_QEMU_PC && o.mc.mem_bytes > SNP_RAM_QEMU_PC_MAX)
		return cli_usage_error("simulate", "--layout qemu-pc takes --mem up to 3584M "
				       "(QEMU's pc puts more above 4 GiB, not modeled)");
	ret = check_age(&o.mc);
	if (!ret)
		ret = check_vmm_cpus(&o.mc);
	if (!ret)
		ret = load_boot_dump(&o);
	if (!ret)
		ret = check_limits(&o.mc);
	if (!ret)
		ret = check_fits(&o.mc);
	if (ret || cli_dry_run) {
		kvm_boot_dump_free(dump_of(&o));
		return ret;
	}
	if (o.mc.shard_n && !o.json)
		return cli_usage_error("simulate", "--shard %u/%u prints the shard's trials as JSON for "
				       "`snpsafe merge`: add --json", o.mc.shard_k, o.mc.shard_n);
	if (o.mc.shard_n) {
		ret = run_shard(&o);
		kvm_boot_dump_free(dump_of(&o));
		return ret;
	}
	cli_progress_init(&bar, (uint64_t)o.mc.trials * (unsigned int)__builtin_popcount(o.mc.strategies));
	/* a bar on a terminal only: not with --json, nor when stdout is a pipe or file */
	bar.enabled = bar.enabled && !o.json && isatty(STDOUT_FILENO);
	o.mc.progress = progress;
	o.mc.progress_ctx = &bar;
	ret = sim_mc_run(&o.mc, res, &n);
	cli_progress_done(&bar);
	kvm_boot_dump_free(dump_of(&o));
	if (ret)
		return run_failed(ret);
	return report("simulate", &o, res, n);
}

int cli_simulate_merged(const char *path, const struct json_node *config, const struct sim_mc_trial *trials,
			bool json)
{
	const struct snp_profile *profile;
	struct sim_mc_result res[SNP_ALLOC_NR_STRATEGIES];
	struct simulate_opts o;
	unsigned int n = 0;
	int ret;

	simulate_defaults(&o);
	o.json = json;
	ret = config_apply(&o, path, config);
	if (ret)
		return ret;
	profile = cli_profile_opts_apply(&o.po);
	if (!profile)
		return cli_fail("merge", "%s: a knob of its config no longer applies", path);
	o.mc.profile = *profile;
	ret = sim_mc_summarise(&o.mc, trials, res, &n);
	if (ret)
		return cli_usage_error("merge", "%s: its config does not describe a run (%s)", path,
				       snp_error_text(ret));
	return report("merge", &o, res, n);
}
