/* SPDX-License-Identifier: MIT */
/*
 * snpsafe/sim.h - experiments on the model: the reviewer's open questions
 * (explain), the changelog's scenario end to end (repro), Monte Carlo over
 * modeled hosts (simulate) and measurements (bench).  The snpsafe command is
 * a thin printer over these.
 */
#ifndef SNPSAFE_SIM_H
#define SNPSAFE_SIM_H

#include <snpsafe/cluster.h>
#include <snpsafe/common.h>
#include <snpsafe/profile.h>
#include <snpsafe/kvm.h>
#include <snpsafe/snp_alloc.h>

/* ---- explain: one experiment per open question (LKML-REVIEW; snp-facts §1) ---- */

#define SIM_MC_HOST_LOOPS_MAX 1000.0   /* --host-loops: loops a tick, at most */
#define SIM_MC_VMM_CPUS_MAX 64         /* --vmm-cpus: weights of CPUs 0..63 */
#define SIM_MC_REMAKE_AFTER_MAX 64     /* --remake-after: VM ends a successor waits, at most */
#define SIM_MC_VMM_WEIGHT_MAX 1000000000u
#define SIM_MAX_OUTCOMES 4
#define SIM_RESULT_LEN 512
#define SIM_ANSWER_LEN 384

struct sim_outcome {
	char setting[80];             /* "uncovered_inuse=ignore (default)" */
	char result[SIM_RESULT_LEN];  /* what the model did, from the run */
	bool documented;              /* a public source states this behaviour */
	const char *source;           /* that source, or why it is assumed */
	/*
	 * When the question's answer is assumed and this run set its knob:
	 * the knob's value here ("on", "fail") and the answer the question
	 * would get with that value, built from this run.  "" otherwise.
	 */
	char knob_value[SNP_KNOB_TEXT_MAX];
	char answer[SIM_ANSWER_LEN];
};

struct sim_question {
	const char *id;               /* "uncovered", "visible", ... */
	const char *question;         /* the reviewer's question, one line */
	const char *setup;            /* the model's setup, one or two sentences */
	const char *knob;             /* the profile knob involved, or "" */
	unsigned int nr_outcomes;
	struct sim_outcome outcomes[SIM_MAX_OUTCOMES];
	/*
	 * The answer in one line, built from the run under the preset's own
	 * settings, and its basis.  Documented: basis_source names the source.
	 * Assumed: the answer rests on basis_knob (an entry of snp_knobs[]) at
	 * basis_default, its value in preset basis_preset; the outcomes that
	 * set the knob otherwise carry the answer it would then get, and
	 * basis_source says why the default is an assumption.
	 */
	char answer[SIM_ANSWER_LEN];
	bool answer_documented;
	const char *basis_source;
	const char *basis_knob;       /* NULL when documented */
	char basis_default[SNP_KNOB_TEXT_MAX];
	const char *basis_preset;
};

/* Number of questions, and the id of question i (NULL past the end). */
unsigned int sim_explain_count(void);
const char *sim_explain_id(unsigned int i);
/* Run the experiment for id: 0, SNP_ENOENT for an unknown id, or a model error. */
SNP_MUST_CHECK int sim_explain_run(const char *id, struct sim_question *out);

/* ---- bench: measured in one run, reported as ratios --------------------------- */

struct sim_bench_alloc {
	enum snp_alloc_strategy strategy;
	double ns_per_alloc;          /* one snp_safe_alloc_page + free, median of rounds */
	double ratio_to_naive;
	double order1_per_1000;       /* order-1 blocks broken per 1,000 allocations */
	uint64_t allocs;
	uint64_t aligned;             /* 2MB-aligned pages handed out */
	double kib_cleared;           /* KiB cleared per allocation (init_on_alloc, __GFP_ZERO, clear_page) */
	double ns_with_clear;         /* ns_per_alloc + the measured cost of that clearing */
	double ratio_with_clear;      /* to naive's, both with clearing */
	double clear_page_ns;         /* the measured clearing cost used, ns per 4 KiB page */
};
/* Measured cost of clearing one 4 KiB page on this machine (memset, cold buffer), in ns. */
double sim_bench_clear_page_ns(void);

struct sim_bench_alloc_config {
	uint64_t mem_bytes;           /* aged host size; 0 = 2 GiB */
	uint64_t seed;
	uint64_t pairs;               /* alloc+free pairs per strategy; 0 = 400,000 */
	unsigned int rounds;              /* rounds per strategy, interleaved; 0 = 9 */
	/*
	 * Boot the host with init_on_alloc=0: only __GFP_ZERO and clear_page()
	 * clear.  Default (false): Debian's CONFIG_INIT_ON_ALLOC_DEFAULT_ON, every
	 * page handed out is cleared, the sieve's set-aside pages included.
	 */
	bool init_on_alloc_off;
};

/* Cost of naive, upstream and sieve on one aged host: out[SNP_ALLOC_NR_STRATEGIES]. */
SNP_MUST_CHECK int sim_bench_alloc_run(const struct sim_bench_alloc_config *cfg, struct sim_bench_alloc *out);

/* Checked host writes per second, median of the repetitions, and their spread. */
struct sim_bench_access {
	double hit_accesses_per_s;    /* checked host writes that hit the TLB */
	double miss_accesses_per_s;   /* checked host writes that walk and fill */
	double hit_min, hit_max;      /* the slowest and fastest repetition, accesses/s */
	double miss_min, miss_max;
	double miss_to_hit;           /* the ratio of the medians */
	double ratio_min, ratio_max;  /* miss/hit of each repetition's adjacent pair */
	unsigned int reps;
	uint64_t hit_accesses, miss_accesses;   /* per repetition */
};
/*
 * Host-access speed of the modeled MMU on a 16 GiB, 2-CPU machine: reps
 * repetitions (0 = 9, at most SIM_BENCH_MAX_REPS) of accesses TLB hits then
 * accesses TLB misses, interleaved so that a busy spell of a shared machine
 * falls on both paths alike, after one untimed warm-up pair.
 */
#define SIM_BENCH_MAX_REPS 101
SNP_MUST_CHECK int sim_bench_access_run(uint64_t accesses, unsigned int reps, struct sim_bench_access *out);

/*
 * The one statistic of every timing harness (sim_bench_alloc_run() and
 * bench/bench_alloc.c): the median of n >= 1 round times, so one round
 * disturbed by the machine moves it no more than any other round.  Sorts
 * v in place.
 */
double sim_bench_median(double *v, unsigned int n);
/* Order-1 blocks broken per 1,000 allocations, over every round (0 with none). */
double sim_bench_per_1000(uint64_t events, uint64_t allocs);

/* Monotonic time in seconds, and peak RSS of this process in bytes (0 if unknown). */
double sim_now(void);
uint64_t sim_peak_rss_bytes(void);
/* Memory this machine can give a run now (MemAvailable), for size checks. */
uint64_t sim_mem_available(void);

/* A scale run: one modeled host of mem_bytes with vms small VMs created, run and destroyed. */
struct sim_bench_scale {
	uint64_t mem_bytes;
	uint64_t vms;
	uint64_t vcpus;
	double seconds;
	uint64_t peak_rss_bytes;
};
/* The most VMs of a scale run: its SEV guests get ASIDs up to vms + 4 < SNP_MAX_ASID. */
#define SIM_SCALE_MAX_VMS (SNP_MAX_ASID - 5)
/*
 * 0 if a scale run of this size fits this machine, else a negative code for
 * sim_bench_scale_why(): SNP_EINVAL, SNP_ERANGE (--scale-mem above the RMP's
 * reach), SNP_ENOMEM (this machine), SNP_ENOSPC or SNP_EBUSY (too many VMs).
 */
SNP_MUST_CHECK int sim_bench_scale_check(uint64_t mem_bytes, uint64_t vms, unsigned int vcpus);
const char *sim_bench_scale_why(int err);
/* Boot mem_bytes, launch vms VMs of vcpus vCPUs each (1..64), 16 ticks, tear down. */
SNP_MUST_CHECK int sim_bench_scale_run(uint64_t mem_bytes, uint64_t vms, unsigned int vcpus, struct sim_bench_scale *out);

struct sim_mc_config;
struct sim_mc_trial;

/*
 * A run in progress, for a live display: trials finished of all, and per
 * strategy its exposed aligned fraction over the trials finished so far,
 * with the Wilson 95% interval simulate reports (over n / the design effect
 * of the groups seen so far when ageing is shared).
 */
struct sim_mc_progress {
	uint64_t done, total;         /* trials finished of the run's (or its shard's) */
	double elapsed;               /* seconds since the run started, for the rate and time left */
	unsigned int nr;                                    /* strategies */
	enum snp_alloc_strategy strategy[SNP_ALLOC_NR_STRATEGIES];
	uint64_t trials[SNP_ALLOC_NR_STRATEGIES];       /* finished */
	uint64_t exposed_aligned[SNP_ALLOC_NR_STRATEGIES], exposed[SNP_ALLOC_NR_STRATEGIES];
	double lo[SNP_ALLOC_NR_STRATEGIES], hi[SNP_ALLOC_NR_STRATEGIES];
};

/*
 * sim_mc_progress_format() - one progress line of at most width columns:
 * a bar, the percentage and count of trials done (of the shard, when the
 * run is one), the rate in trials per second and the time left at that rate
 * (once a trial is done and time has passed), then each strategy's
 * running exposed aligned fraction with its interval, as many strategies as
 * fit whole.  Returns buf (always terminated; empty when len is 0 or p NULL).
 */
char *sim_mc_progress_format(const struct sim_mc_progress *p, unsigned int width, char *buf, size_t len);

/*
 * sim_rate_format() - a rate in 7 columns for the results tables: "%7.5f",
 * or "%7.1e" when it is above 0 but would print as 0.00000, so an interval's
 * upper bound over millions of pages never reads as zero width; "    n/a"
 * for NAN, a rate over no observation.  Returns buf (always terminated;
 * empty when len is 0).
 */
char *sim_rate_format(double x, char *buf, size_t len);

/* Monte Carlo speed: the same run with every trial ageing its own allocator, then with cloning. */
struct sim_bench_mc {
	unsigned int trials;                 /* per strategy */
	unsigned int strategies;
	double trials_per_s_no_clone;    /* trials of all strategies / CPU seconds (one thread) */
	double trials_per_s_clone;
	double speedup;
	/*
	 * naive's exposed aligned pages of the exposed, their fraction and its
	 * 95% interval (NAN over no exposed page), and its effective hosts
	 * (sim_mc_result.effective_hosts), each way: [0] clone off, [1] cloned.
	 */
	uint64_t exposed[2], exposed_aligned[2];
	double exposed_frac[2], ci_lo[2], ci_hi[2];
	double effective_hosts[2];
};
SNP_MUST_CHECK int sim_bench_mc_run(const struct sim_mc_config *cfg, struct sim_bench_mc *out);

/*
 * Simulate's cost by host size (issue 26): `simulate --mem M --cpus C --vms C
 * --vcpus 4 --trials T --threads 1 --strategy naive`, otherwise simulate's
 * defaults (one aged allocator per --age-share 8 trials), each size in a
 * child process of its own so that its peak RSS (getrusage) is its own.
 * The CPU seconds per trial include the ageing, shared by the trials.  Then
 * the same with `--trials 1` in another child: one trial alone, its ageing
 * its own (issue 26's "10 s per trial"); with T = 1 that is the first run.
 */
#define SIM_BENCH_MAX_SIZES 8
struct sim_bench_size {
	uint64_t mem_bytes;              /* in: modeled memory */
	unsigned int cpus;               /* in: host CPUs, and as many VMs */
	double cpu_s_per_trial;          /* out: CPU seconds of the run / trials */
	double growth;                   /* out: cpu_s_per_trial over the previous size's; 0 first */
	double mem_growth;               /* out: mem_bytes over the previous size's; 0 first */
	uint64_t peak_rss_bytes;         /* out: ru_maxrss of the child that ran it */
	double cpu_s_alone;              /* out: CPU seconds of the one-trial run */
	double growth_alone;             /* out: cpu_s_alone over the previous size's; 0 first */
	uint64_t peak_rss_alone_bytes;   /* out: ru_maxrss of the child that ran one trial */
};
SNP_MUST_CHECK int sim_bench_sizes_run(struct sim_bench_size *sizes, unsigned int n,
				       unsigned int trials);

/* ---- simulate: Monte Carlo over modeled hosts ------------------------------------ */

enum sim_vm_kind { SIM_VM_SVM, SIM_VM_SEV, SIM_VM_SEV_ES, SIM_VM_SNP, SIM_VM_NESTED, SIM_VM_NR };
const char *sim_vm_kind_name(enum sim_vm_kind k);

enum sim_age_profile { SIM_AGE_GENERIC = 0, SIM_AGE_WATCH, SIM_AGE_NR_PROFILES };
const char *sim_age_profile_name(enum sim_age_profile p);          /* "generic", "watch" */
SNP_MUST_CHECK int sim_age_profile_parse(const char *s, enum sim_age_profile *out);
/* VMs each round of watch's ager makes and destroys (watch/workload.c AGE_VMS). */
#define SIM_MC_AGE_VMS 2u

struct sim_mc_config {
	uint64_t mem_bytes;           /* modeled memory per host */
	unsigned int cpus;                /* host CPUs */
	unsigned int vms;                 /* VMs per host */
	unsigned int vcpus;               /* vCPUs per VM */
	unsigned int mix[SIM_VM_NR];      /* relative weights of VM kinds */
	unsigned int age_pct;             /* age the allocator to this % of memory in use (0: fresh) */
	/*
	 * How a host is aged (docs/MODEL.md): generic (mm_age() to age_pct,
	 * before kvm_amd loads; the default) or watch (watch's ager,
	 * mm_age_watch_*(): kvm_amd loads on the fresh host, then age_rounds
	 * rounds, each ending with SIM_MC_AGE_VMS VMs of vcpus vCPUs made, run
	 * once and destroyed, as `snpsafe watch --age-rounds N` boots do;
	 * age_pct is not used).  A host with kvm loaded cannot be cloned: the
	 * watch profile ages every trial's own host, and refuses age_share > 1
	 * with clone on.
	 */
	enum sim_age_profile age_profile;
	unsigned int age_rounds;          /* watch: 1..MM_AGE_WATCH_MAX_ROUNDS; generic: 0 */
	enum mm_ager_cpu ager_cpu;        /* watch: the CPU the ager runs on (default: one a round) */
	unsigned int ticks;               /* ticks of host activity per trial */
	/*
	 * VM churn: each VM is destroyed after this many ticks and a new one of
	 * the same kind made in its slot, as watch's workload does with
	 * --lifetime (0: every VM lives the whole trial, the default).
	 */
	unsigned int lifetime;
	/*
	 * SNP guests' memory (guest_memfd, taken at first private use): the
	 * percent of each guest's pages its vCPUs fault in (default 100), and
	 * the guest size in 4K pages (0: drawn, 64..511, as for every VM).
	 */
	unsigned int gmem_faulted_pct;
	unsigned int guest_pages;
	unsigned int trials;              /* hosts per strategy */
	unsigned int threads;             /* worker threads (results do not depend on it) */
	unsigned int strategies;          /* bit mask of 1 << enum snp_alloc_strategy */
	struct snp_profile profile;
	uint64_t seed;
	bool vmsave_marks;            /* the save area is a VMSAVE target, marked while VMSAVE runs */
	enum mm_kernel kernel;        /* page allocator generation (6.12 default) */
	enum kvm_version kvm_version; /* KVM's SNP-safe call sites (--kvm; 6.18 default) */
	enum snp_ram_layout ram_layout; /* the hosts' RAM map (--layout; flat default) */
	bool no_boot_memory;          /* qemu-pc hosts without the kernel's own memory (--boot-memory off) */
	/*
	 * qemu-pc hosts started from a measured boot (--boot-dump;
	 * kvm_host_config.boot_dump), not owned: as that boot was when its
	 * workload started, its ageing included, so age_pct must be 0 and the
	 * age profile generic (SNP_EINVAL otherwise).
	 */
	const struct kvm_boot_dump *boot_dump;
	enum kvm_boot_dump_pcp boot_dump_pcp;   /* --boot-dump-pcp */
	bool no_thp_min_free;         /* THP never: min_free_kbytes not raised (--thp-min-free off) */
	enum kvm_avic_mode avic;      /* kvm_amd's AVIC (--avic; auto default: upstream's rule) */
	bool no_irqchip;              /* VMs without an in-kernel LAPIC (--irqchip off), as watch's */
	enum kvm_debugfs kvm_debugfs; /* KVM's debugfs files (--kvm-debugfs; default off) */
	/*
	 * watch's workload host thread (--host-loops): its loops a tick
	 * (mm_watch_host_loop()), run after each tick's VM churn; 0: none.
	 */
	double host_loops;            /* 0..SIM_MC_HOST_LOOPS_MAX */
	/*
	 * Which CPU each VM's VMM runs on (its creation and teardown): all
	 * zero, one drawn uniformly; else CPU c with weight vmm_cpu_weight[c]
	 * (--vmm-cpus; watch passes its boot's KVM_CREATE_VCPU CPUs).  A
	 * weight past cfg->cpus must be 0.
	 */
	uint32_t vmm_cpu_weight[SIM_MC_VMM_CPUS_MAX];
	/*
	 * The VMM thread's CPU at its VM's end (--vmm-migrate PCT): with
	 * probability PCT/100 one drawn afresh by vmm_cpu_weight (the
	 * scheduler moved the thread during the VM's life), else its creation
	 * CPU.  0 (the default): always the creation CPU, and no draw.
	 */
	unsigned int vmm_migrate_pct;
	/*
	 * VM churn's timeline within a tick (docs/MODEL.md "VM churn"): the
	 * tick's ending VMs end one after another, in slot order.
	 *  - remake_after (--remake-after N): a VM's successor is made once N
	 *    more VMs have ended (those left at the end are made then); 0 (the
	 *    default): at once, before the next VM ends;
	 *  - rcu_grace_end (--rcu-grace end): the frees an RCU grace period
	 *    delays run after each VM's end, before anything else happens;
	 *    false (--rcu-grace tick, the default): at the next tick's start.
	 */
	unsigned int remake_after;
	bool rcu_grace_end;
	double vmsave_window;         /* share of a tick one VMSAVE takes (assumed; default 1e-4) */
	/*
	 * Ageing: with clone (default), each aged allocator is aged once and
	 * flat-copied (mm_host_copy_state) into every trial that starts from
	 * it: ceil(trials / age_share) of them per run, trial t starting from
	 * aged allocator t mod that number, and every strategy from the same
	 * one.  age_share 1: one per trial, shared only by the strategies (the
	 * results are those of clone off, bit for bit).  clone off: every
	 * trial of every strategy ages its own allocator.
	 */
	bool clone;
	unsigned int age_share;           /* trials per aged allocator, >= 1 (default 8) */
	/*
	 * A shard of the run (--shard K/N; shard_n 0: the whole run): the
	 * trials of every group g with g % shard_n == shard_k - 1, a group
	 * being an aged allocator's trials (t % aged allocators) with shared
	 * ageing, else one trial.  A trial depends only on (seed, t) and its
	 * aged allocator on (seed, its index), so the shards' trials are the
	 * whole run's, bit for bit (docs/SCALE.md).  A shard's run is not
	 * summed: its trials go to trials_out, for sim_mc_summarise().
	 */
	unsigned int shard_k, shard_n;
	/* With room for strategies x trials (strategy-major): each trial run, its counts; may be NULL. */
	struct sim_mc_trial *trials_out;
	/* Called from the calling thread while workers run (every 50 ms) and once at the end; may be NULL. */
	void (*progress)(void *ctx, const struct sim_mc_progress *p);
	void *progress_ctx;
};

/* Defaults: 2 GiB, 4 CPUs, 16 VMs x 4 vCPUs, mix svm:2,sev:1,sev-es:1,snp:1,nested:1, age 60%,
 * 512 ticks, 32 trials, 1 thread, all strategies, early-snp, seed 1, vmsave_marks on, AVIC auto. */
void sim_mc_config_init(struct sim_mc_config *cfg);
/* "svm:2,snp:1" or "svm,snp" (weight 1) into mix[]; 0 or SNP_EINVAL. */
SNP_MUST_CHECK int sim_mc_parse_mix(const char *s, unsigned int mix[SIM_VM_NR]);
/*
 * The memory a host of an operator's size keeps for itself: its allocator
 * is aged as a host of that size would be, and the rest is the guests',
 * held from boot and never on the free lists (mm_config.held_bytes;
 * docs/MODEL.md, "The ageing window").  A host up to this size is aged whole.
 */
#define SIM_MC_AGE_WINDOW (16 * SNP_GiB)
/* Bytes of cfg's hosts held by the guests from boot: 0 up to SIM_MC_AGE_WINDOW. */
uint64_t sim_mc_held_bytes(const struct sim_mc_config *cfg);
/* Host memory one trial needs at most (allocator, RMP, machine), for the size check. */
uint64_t sim_mc_trial_bytes(const struct sim_mc_config *cfg);

/* A limit a configuration exceeds, found from its arguments before any trial. */
enum sim_limit_kind {
	SIM_LIMIT_MEM_MIN,    /* max: the least modeled memory (bytes) that can hold the run */
};
struct sim_limit {
	enum sim_limit_kind kind;
	uint64_t max;
	const char *why;      /* one clause, for the command's message */
};
/* ASIDs a host has for VMs of kind k (KVM's default range; 0: not limited); past them VMs are refused. */
unsigned int sim_mc_asid_pool(enum sim_vm_kind k);
/* 0, or SNP_ERANGE with *out saying which limit (SNP_EINVAL for a bad cfg). */
SNP_MUST_CHECK int sim_mc_check_limits(const struct sim_mc_config *cfg, struct sim_limit *out);

/*
 * What became of the VMs the trials tried to create: outcomes the run
 * counts and goes on past, as a host does (docs/MODEL.md, "Limits and
 * outcomes").  A VM is tried when its kind is drawn; it runs, or KVM
 * refuses it for want of an ASID, or a creation fails with -ENOMEM.
 */
struct sim_mc_outcomes {
	uint64_t vms_tried;
	uint64_t vms_running;        /* created, every vCPU created, launched */
	uint64_t vms_no_asid;        /* sev_asid_new(): no SEV / SEV-ES+SNP ASID free (-EBUSY) */
	uint64_t vm_enomem;          /* KVM_CREATE_VM (with its guest memory) or the launch: -ENOMEM */
	uint64_t vcpu_enomem;        /* KVM_CREATE_VCPU (or its nested state): -ENOMEM */
	uint64_t kvm_load_enomem;    /* trials whose kvm_amd could not load (-ENOMEM): no VM tried */
	uint64_t asid_flushes;       /* flushes that recycled destroyed VMs' ASIDs */
	/* pages a failed VM left allocated after its teardown (sieve pool aside): 0 */
	uint64_t teardown_pages_kept;
};

/*
 * The tick in real time (docs/MODEL.md "The tick in real time";
 * src/sim/tick_time.c).  A tick lasts as long as a watched real host takes
 * to make as many hugepage-leaf stores into VMRUN regions (2MB regions
 * holding an in-use page) as the model's kernel work makes in a tick:
 * tick seconds = model writes per tick / measured stores per second.  The
 * measured rate is the 20 boots' of docs/data/watch-2026-12-06 (replay's
 * vmrun_region_stores.huge_per_second), lowest, median and highest.
 */
#define SIM_TICK_MEASURED_BOOTS     20
#define SIM_TICK_MEASURED_RATE_LO   2796.71
#define SIM_TICK_MEASURED_RATE_MID  5398.08
#define SIM_TICK_MEASURED_RATE_HI   25195.2

/* lo, point, hi; NAN where nothing bounds it (JSON null, text n/a), INFINITY above no event */
struct sim_interval {
	double lo, point, hi;
};

struct sim_tick_time {
	uint64_t ticks;                   /* ticks the trials ran, summed */
	uint64_t region_writes, region_huge_writes;   /* kernel work's into VMRUN regions */
	double huge_per_tick;             /* region_huge_writes / ticks; NAN without a tick */
	/*
	 * The run's tick: huge writes per tick of all its strategies pooled
	 * (one workload, one tick) over the measured rate (hi, median, lo).
	 */
	double run_huge_per_tick;
	struct sim_interval tick_s;
	/*
	 * Hosts whose ticks took a spurious #PF, and the ticks run until each
	 * one's first (all of a trial's, for the others): at a constant rate
	 * per tick, ticks to a host's first fault = exposure / hosts, its 95%
	 * interval the exact Poisson one of the count (sim_poisson_interval).
	 */
	uint64_t hosts_faulted, exposure_ticks;
	struct sim_interval ticks_to_fault, seconds_to_fault;
	struct sim_interval run_s;        /* one trial's ticks, in seconds */
};

/* Exact (Garwood) 95% interval of a Poisson mean from a count k: lo 0 at k = 0. */
void sim_poisson_interval(uint64_t k, double *lo, double *hi);

/*
 * The per-CPU lists while a trial's VMs ran (from kvm_amd's load, after
 * any ageing, to the end): order-0 allocations by migratetype and the
 * order-0 pages refilled from and drained to the buddy lists (mm_pcp_flow()),
 * what watch/guest-pcp-flow.sh counts in a watched kernel.
 */
struct sim_pcp_work {
	uint64_t allocs[MM_NR_MIGRATETYPES];
	struct mm_pcp_flow flow;
	/* pages on every per-CPU list at the end of each tick, summed, and the ticks */
	uint64_t pcp_pages, pcp_ticks;
};

struct sim_mc_result {
	enum snp_alloc_strategy strategy;
	struct sim_pcp_work pcp;          /* summed over the trials */
	struct sim_mc_outcomes vm;
	uint64_t trials;
	uint64_t trials_with_fault;       /* trials with at least one spurious fault */
	uint64_t spurious_faults;
	uint64_t real_faults;
	uint64_t sensitive_pages;         /* VMCB, VMSA, AVIC, save area, vmcb02, PML buffer */
	uint64_t aligned_sensitive_pages;
	uint64_t sensitive_by_kind[KVM_PAGE_NR_KINDS], aligned_by_kind[KVM_PAGE_NR_KINDS];
	/* kvm_host_census() at the end of each trial, summed (index: enum kvm_page_kind) */
	uint64_t markable_by_kind[KVM_PAGE_NR_KINDS], markable_aligned_by_kind[KVM_PAGE_NR_KINDS];
	uint64_t exposed_by_kind[KVM_PAGE_NR_KINDS], exposed_aligned_by_kind[KVM_PAGE_NR_KINDS];
	/*
	 * Live sensitive pages at the trials' ends (census), and of them those
	 * sharing a pageblock with a live SNP guest_memfd page: UNMOVABLE both,
	 * so the guest's private pages split the region KVM's page is in.
	 */
	uint64_t live_sensitive, gmem_pageblock_shared;
	/*
	 * Every fraction below, its interval and its design effect is NAN when
	 * the count under it is 0 (no exposed page, no sensitive page): a rate
	 * over no observation is not 0.  JSON prints null, text n/a.
	 */
	uint64_t exposed_pages, exposed_aligned_pages;
	double exposed_aligned_fraction;  /* the headline: exposed aligned / exposed */
	double exposed_ci_lo, exposed_ci_hi;  /* Wilson score interval, 95% */
	double est_exposed_fraction;      /* p (aligned free fraction) weighted by exposed pages */
	double trials_with_exposed_aligned;
	double est_trials_with_exposed_aligned;
	/* Wilson 95% intervals of the other rates: trials with a spurious fault / trials,
	 * aligned sensitive / sensitive pages, trials with an exposed aligned page / trials */
	double fault_trials_ci_lo, fault_trials_ci_hi;
	double aligned_ci_lo, aligned_ci_hi;
	double exposed_trials_ci_lo, exposed_trials_ci_hi;
	/*
	 * With shared ageing (age_share > 1) every interval is Wilson's over
	 * n / deff draws, deff the design effect of the trials' groups
	 * (docs/MODEL.md); these three for the exposed and aligned page rates
	 * and for trials with an exposed aligned page.  1 without sharing.
	 */
	double exposed_deff, aligned_deff, exposed_trials_deff;
	/*
	 * Effective hosts: trials / exposed_trials_deff, the independent hosts
	 * the trials with an exposed aligned page count for (its interval is
	 * Wilson's over this many); trials without sharing.  aged_allocators:
	 * the independently aged allocators the trials started from, trials
	 * when each has its own (clone off, or age_share 1), 0 when none is
	 * aged (age_pct 0).
	 */
	double effective_hosts;
	unsigned int aged_allocators;
	/* VMSAVE window (vmsave_marks): writes that could overlap it, and faults expected */
	uint64_t vmsave_window_writes;
	double vmsave_expected_faults;    /* vmsave_window_writes x vmsave_window */
	uint64_t order1_blocks;
	uint64_t leaked_pages;
	uint64_t vmruns;
	/* Analytic estimates beside the measured rates (docs/ERRATUM.md). */
	double aligned_fraction;          /* measured: aligned / sensitive */
	double est_aligned_fraction;      /* 2MB-aligned free pages / free pages at start */
	struct sim_cluster vmcb01_cluster;   /* the trials' vmcb01 clustering, summed */
	struct sim_tick_time time;        /* the tick in real time, the time to a first fault */
};

/* The times of results r[0..n) (their time counts summed), trials of ticks_per_trial ticks. */
void sim_tick_time_finish(struct sim_mc_result *r, unsigned int n, unsigned int ticks_per_trial);

/* Wilson score interval of k successes in n at z (1.96: 95%); lo = hi = 0 for n = 0. */
void sim_wilson_interval(uint64_t k, uint64_t n, double z, double *lo, double *hi);

/*
 * sim_design_effect() - design effect of grouped trials on a rate K / N.
 * @kg, @ng: per group, the successes and the draws of its trials summed
 * @groups: how many (at least 2 for any spread to measure)
 *
 * The ratio estimator's between-group (cluster-robust) variance,
 * groups / (groups - 1) * sum_g (kg - p ng)^2 / N^2 with p = K / N, over the
 * binomial variance p (1 - p) / N of as many independent draws; at least 1,
 * and 1 when there is nothing to measure (fewer than 2 groups, no draws,
 * p = 0 or 1).  simulate divides k and n by it for the Wilson interval;
 * where it has nothing to measure simulate takes the trials per aged
 * allocator instead (docs/MODEL.md, "Cloning aged allocators").
 */
double sim_design_effect(const double *kg, const double *ng, unsigned int groups);

/*
 * One trial's raw counts: all a result is computed from (sim_mc_summarise),
 * so that the trials of a run's shards, put together, give its result
 * exactly.  ran: the trial was run (false: not in this shard).
 */
struct sim_mc_trial {
	bool ran;
	uint64_t spurious_faults, faults, order1_broken, leaked_pages, vmruns, vmsave_window_writes;
	/* the tick in real time: ticks run, writes into VMRUN regions, the first faulting tick (0: none) */
	uint64_t ticks, region_writes, region_huge_writes, first_fault_tick;
	uint64_t n_sensitive;             /* sensitive pages allocated, all kinds */
	uint64_t sensitive_allocated[KVM_PAGE_NR_KINDS], sensitive_aligned[KVM_PAGE_NR_KINDS];
	/* of the aligned, those allocated under a 2M/1G leaf (kvm_host_stats.sensitive_aligned_huge) */
	uint64_t aligned_huge[KVM_PAGE_NR_KINDS];
	uint64_t markable[KVM_PAGE_NR_KINDS], markable_aligned[KVM_PAGE_NR_KINDS];
	uint64_t exposed[KVM_PAGE_NR_KINDS], exposed_aligned[KVM_PAGE_NR_KINDS];
	/* live sensitive pages (census), and those in a pageblock with a live SNP guest memory page */
	uint64_t live[KVM_PAGE_NR_KINDS], gmem_pageblock[KVM_PAGE_NR_KINDS];
	double p_est;                     /* aligned free fraction before kvm_amd loads */
	struct sim_mc_outcomes vm;
	struct sim_cluster vmcb01_cluster;   /* the trial's vmcb01 pages by 2MB region */
	struct sim_pcp_work pcp;             /* its allocator's per-CPU lists while its VMs ran */
};

/* Run; out has room for SNP_ALLOC_NR_STRATEGIES results, *nr_out says how many (a shard: not summed). */
/*
 * Is cfg's ageing one sim_mc_run() takes: generic without rounds, or watch
 * with 1..MM_AGE_WATCH_MAX_ROUNDS rounds and no shared ageing (a host with
 * kvm loaded cannot be cloned: age_share > 1 with clone on is refused).
 */
bool sim_mc_age_ok(const struct sim_mc_config *cfg);
/* A VM's VMM CPU: uniform, or by cfg->vmm_cpu_weight (one draw from *rng either way). */
unsigned int sim_mc_vmm_cpu(const struct sim_mc_config *cfg, uint64_t *rng);
/* cfg->rcu_grace_end as --rcu-grace names it: "end" or "tick". */
const char *sim_rcu_grace_name(bool end);
/* "end" or "tick" into *end: 0, or SNP_EINVAL (NULL or another word; *end untouched). */
SNP_MUST_CHECK int sim_rcu_grace_parse(const char *s, bool *end);
/* cfg->vmm_cpu_weight as --vmm-cpus takes it ("" when uniform), into buf. */
const char *sim_vmm_cpus_text(const struct sim_mc_config *cfg, char *buf, size_t len);
SNP_MUST_CHECK int sim_mc_run(const struct sim_mc_config *cfg, struct sim_mc_result *out, unsigned int *nr_out);

/*
 * The results of cfg's run from its trials (strategy-major, strategies x
 * cfg->trials, every one ran): what sim_mc_run() reports, computed by the
 * same code, so that `merge` gives the whole run's result byte for byte.
 * SNP_EINVAL for a bad cfg or a trial missing.
 */
SNP_MUST_CHECK int sim_mc_summarise(const struct sim_mc_config *cfg, const struct sim_mc_trial *trials,
				    struct sim_mc_result *out, unsigned int *nr_out);
/* Is trial t in cfg's shard (always, without one)? */
bool sim_mc_in_shard(const struct sim_mc_config *cfg, unsigned int t);

/* ---- repro: the changelog's scenario in six steps, end to end through the KVM model */

#include <snpsafe/mmu.h>

/*
 * The six steps every run tells, in order: 1 sets the scene, 2-5 are the
 * changelog's four (VMCB, VMRUN, another process's buffer, its write), 6 is
 * not in the changelog.  Each step's text begins with its name and ": ".
 */
enum sim_repro_step {
	SIM_REPRO_STEP_SETUP,    /* kvm_amd loaded (host save areas), page on offer */
	SIM_REPRO_STEP_VMCB,     /* KVM creates the vCPU; the strategy picks its VMCB */
	SIM_REPRO_STEP_VMRUN,    /* VMRUN on CPU 1 marks the VMCB in-use */
	SIM_REPRO_STEP_BUFFER,   /* another process on CPU 0 allocates a kernel buffer */
	SIM_REPRO_STEP_WRITE,    /* it writes the buffer through the direct map */
	SIM_REPRO_STEP_VMCB02,   /* the buffer freed, the guest enables SVM: vmcb02 */
	SIM_REPRO_STEPS
};
#define SIM_REPRO_TEXT 1280
#define SIM_REPRO_CPUS 2     /* the host's CPUs: each has a host save area */

/* A step's name ("Setup", "VMCB", ...) and one line on what it does, for --help. */
const char *sim_repro_step_name(enum sim_repro_step s);
const char *sim_repro_step_what(enum sim_repro_step s);

/* What became of the 2MB region's base page by the time of the write. */
enum sim_repro_base {
	SIM_REPRO_BASE_VMCB,       /* it is the VMCB: in-use while the vCPU runs */
	SIM_REPRO_BASE_SET_ASIDE,  /* the sieve holds it in its pool */
	SIM_REPRO_BASE_WRITTEN,    /* it is the page the other process got */
	SIM_REPRO_BASE_FREE,       /* free (on a per-CPU or buddy list) */
	SIM_REPRO_BASE_OTHER,      /* allocated to someone else */
};

struct sim_repro_result {
	const char *profile;
	enum snp_alloc_strategy strategy;
	char steps[SIM_REPRO_STEPS][SIM_REPRO_TEXT];  /* what happened, step by step */
	unsigned int nr_steps;
	unsigned int slab_pages;         /* setup: slab work on CPU 0 before the vCPU */
	unsigned int offered_at;         /* setup: the aligned page's place on CPU 0's list (0 = head) */
	snp_pfn_t offered_pfn;       /* setup: the 2MB-aligned page on offer to the VMCB */
	snp_pfn_t vmcb_pfn;          /* the scenario vCPU's VMCB */
	bool vmcb_aligned;
	struct snp_alloc_call vmcb_call; /* the VMCB's snp_safe_alloc_page(), page by page */
	bool freed_at_head;          /* the page it freed heads CPU 0's order-0 list after it */
	snp_pfn_t region_pfn;        /* base of the VMCB's 2MB region */
	enum sim_repro_base base;    /* that base page at the time of the write */
	snp_pfn_t write_pfn;         /* the other process's page, written by CPU 0 */
	bool same_region;            /* write_pfn shares the VMCB's 2MB region */
	enum snp_map_size write_map; /* translation the write went through */
	int write_ret;               /* 0 or SNP_EFAULT */
	unsigned long faults;
	unsigned long spurious_faults;
	bool have_fault;
	struct snp_fault_record fault; /* the first fault, when there was one */
	unsigned int fault_after_step;     /* steps up to the write (the fault shows after them) */
	/* Setup: each CPU's host save area, and whether it is 2MB-aligned and exposed. */
	snp_pfn_t hsave_pfn[SIM_REPRO_CPUS];
	bool hsave_exposed[SIM_REPRO_CPUS];  /* markable (a VMSAVE target) and hugepage-mapped */
	/* Step 6: the buffer was freed before vmcb02 was allocated; vmcb02's page. */
	bool buffer_freed_at_head;   /* the freed buffer headed CPU 0's order-0 list */
	snp_pfn_t vmcb02_pfn;
	/*
	 * The KVM version whose call sites ran (--kvm), and per page kind (index:
	 * enum kvm_page_kind) at the end, after step 6 gave the vCPU its vmcb02:
	 * pages allocated, of them from snp_safe_alloc_page*() (counted at the
	 * call), 2MB-aligned, exposed (markable, region hugepage-mapped) and
	 * exposed aligned (kvm_host_census, with the save area a VMSAVE target).
	 */
	enum kvm_version kvm;
	uint64_t kind_allocated[KVM_PAGE_NR_KINDS], kind_safe[KVM_PAGE_NR_KINDS];
	uint64_t kind_aligned[KVM_PAGE_NR_KINDS];
	uint64_t kind_exposed[KVM_PAGE_NR_KINDS], kind_exposed_aligned[KVM_PAGE_NR_KINDS];
};

/* "the VMCB (in-use)", "set aside in the sieve's pool", ...: for text and JSON. */
const char *sim_repro_base_name(enum sim_repro_base b);

/*
 * Run the scenario on a fresh modeled host (1 GiB, 2 CPUs, 1GB direct map)
 * with profile, strategy and KVM version kvm.  0 or a negative model error.
 */
SNP_MUST_CHECK int sim_repro_run(const struct snp_profile *profile, enum snp_alloc_strategy strategy,
				 enum kvm_version kvm, struct sim_repro_result *out);

#endif /* SNPSAFE_SIM_H */
