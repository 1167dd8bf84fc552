/* SPDX-License-Identifier: MIT */
/*
 * snpsafe/replay.h - a recorded real kernel (a watch trace, snpsafe/trace.h)
 * judged by snpsafe's hardware model: which recorded store would have taken
 * an RMP #PF on the modeled part, spurious or real, from which kernel
 * function.  docs/REPLAY.md says what each record becomes in the model.
 *
 * One code path, sim_replay_run(), serves `snpsafe replay` (any saved
 * trace, any profile and knobs) and `snpsafe watch` (right after recording).
 */
#ifndef SNPSAFE_REPLAY_H
#define SNPSAFE_REPLAY_H

#include <snpsafe/profile.h>
#include <snpsafe/trace.h>
#include <snpsafe/vmrun.h>

/* Kind of the in-use page behind a fault (the page whose mark made it fault). */
enum sim_replay_kind {
	SIM_REPLAY_VMCB = 0,
	SIM_REPLAY_VMSA,
	SIM_REPLAY_AVIC,
	SIM_REPLAY_HSAVE,
	SIM_REPLAY_NO_INUSE,      /* a rule about ownership, not an in-use mark */
	SIM_REPLAY_NR_KINDS,
};
const char *sim_replay_kind_name(enum sim_replay_kind k);  /* "VMCB", ..., "none" */

/*
 * Every fault count comes as two bounds (docs/REPLAY.md "Bounds"):
 * proven, a fault at a TLB fill the recorded stream forces on any TLB the
 * part could have (the lower bound); possible, a fault of a part that checks
 * the RMP on every access (the upper bound).  Every proven fault is possible.
 */
enum sim_replay_bound {
	SIM_REPLAY_PROVEN = 0,
	SIM_REPLAY_POSSIBLE,
	SIM_REPLAY_NR_BOUNDS,
};
const char *sim_replay_bound_name(enum sim_replay_bound b);   /* "proven", "possible" */

/* Why a possible fault is not proven (the first reason that holds). */
enum sim_replay_why {
	SIM_REPLAY_WHY_PROVEN = 0,    /* proven: no entry can serve the store */
	SIM_REPLAY_WHY_LEAF_UNKNOWN,  /* the recorder's walk failed: the leaf may be 4K */
	SIM_REPLAY_WHY_UNGATED,       /* a write fill of the entry could pass: e.g. a 2M entry
				       * filled through another page of the region */
	SIM_REPLAY_WHY_MAY_HOLD,      /* the CPU may hold the entry: no recorded flush of it
				       * since it could last have been filled */
	SIM_REPLAY_WHY_LEAF_MIXED,    /* the CPU stored to the region through the other leaf
				       * size since its last full flush (a trace Linux would
				       * not make): it may hold an entry of that size */
	SIM_REPLAY_NR_WHY,
};
const char *sim_replay_why_text(enum sim_replay_why w);

struct sim_replay_options {
	unsigned int max_reports;     /* possible faults kept in full, first first; 0 = none */
	/* The modeled point's TLB, per CPU: entries, or 0 for the part's (tlb_part). */
	unsigned int tlb_entries;
	const char *tlb_part;         /* snp_tlb_parts name; NULL = "milan" */
};

#define SIM_REPLAY_FUNC_LEN 160

/* One possible fault, with what the trace says about it. */
struct sim_replay_report {
	struct snp_fault_record fault;  /* va: the recorded (real kernel's) address */
	enum sim_replay_bound bound;    /* proven, or possible only */
	enum sim_replay_why why;        /* why not proven (WHY_PROVEN when it is) */
	bool model_faulted;             /* the modeled TLB missed and faulted here */
	uint64_t record;                /* its record number in the trace (1 = first) */
	uint64_t t_ns;                  /* time in the run */
	uint64_t pc;                    /* the storing instruction */
	char func[SIM_REPLAY_FUNC_LEN]; /* "name+0xoff", or "" without a symbol */
	bool observer;                  /* func is the tracer's own (sim_replay_observer_source) */
	unsigned int bytes;                 /* store size */
	enum snp_trace_level level;     /* the leaf as recorded (UNKNOWN judged as 1G) */
	enum sim_replay_kind kind;
	bool have_holder;               /* the run holding the in-use page is known */
	struct snp_inuse_holder holder; /* its CPU, role, VMCB pfn, in guest mode or not */
	bool stuck_vmcb;                /* that VMCB's VMRUN rate is abnormal (below) */
};

/*
 * A VMCB whose VMRUN rate is abnormal: more than SIM_REPLAY_STUCK_VMRUNS
 * VMRUNs in one second of the trace's clock (t_ns / 10^9), a vCPU KVM keeps
 * re-entering without going back to user space (docs/REPLAY.md "Stuck
 * vCPUs": the busiest VMCB of the watched workload's normal vCPUs peaked at
 * 2,892 in a second; issue 24 saw a stuck one at about 43,000, and the
 * campaign's 6.12 boots 6-10 eight at 5,266 to 6,258, their busiest normal
 * one at 1,351: docs/WATCH.md "It recurred").  Faults on
 * its in-use pages are counted apart, so no fault figure holds them
 * unmarked.
 */
#define SIM_REPLAY_STUCK_VMRUNS 4000

struct sim_replay_rate {
	uint64_t vmcb_pa;
	uint64_t vmruns;                /* in the whole trace */
	uint64_t peak, peak_second;     /* most VMRUNs in one second, and which second */
	uint64_t faults[SIM_REPLAY_NR_BOUNDS];  /* on in-use pages held by its runs */
	uint64_t model_faults;
};

/* Stores and faults of one kernel function (the last symbol at or below pc). */
struct sim_replay_func {
	char name[SIM_REPLAY_FUNC_LEN]; /* "(no symbol)" for a pc no SYM record holds */
	uint64_t stores;
	uint64_t faults[SIM_REPLAY_NR_BOUNDS], spurious[SIM_REPLAY_NR_BOUNDS];
	bool observer;                  /* the tracer's own function (sim_replay_observer_source) */
};

/* What the tracer's own functions stored and faulted (a floor: see src/trace/observer.c). */
struct sim_replay_observer {
	uint64_t functions, stores;
	uint64_t faults[SIM_REPLAY_NR_BOUNDS], spurious[SIM_REPLAY_NR_BOUNDS];
};

/*
 * The kernel source file of name (a kallsyms symbol, maybe with a
 * ".isra.0"-like suffix or a " [module]" tag) when it is a function of
 * watch's own tracing (the tracefs kprobes, kretprobes, their ftrace and
 * rethook machinery, the trace buffer), else NULL.  The list is
 * src/trace/observer.c.
 */
const char *sim_replay_observer_source(const char *name);

/* Faults counted one way: a bound, or the modeled point. */
struct sim_replay_count {
	uint64_t faults, spurious, real;
	uint64_t by_rule[SNP_RULE_NR];
	uint64_t by_kind[SIM_REPLAY_NR_KINDS];
};

/* What the trace says about VMRUN's TLB_CONTROL (format version 2). */
struct sim_replay_tlbctl {
	bool recorded;                  /* the trace's VMRUN records carry it */
	uint64_t flush_all;             /* 1: the whole TLB, host entries too (applied) */
	uint64_t guest_only;            /* 3, 7: the guest's entries only, none of the host's */
	uint64_t nothing;               /* 0 */
	uint64_t unknown;               /* not read, reserved values, or a VMRUN that failed */
};

/*
 * Host stores into VMRUN regions (docs/REPLAY.md "Stores into VMRUN
 * regions"): recorded stores whose 2MB region (either one, for a store
 * across two) holds a page in-use at that moment in the model, by recorded
 * leaf; the workload's time on the trace's clock, first VMRUN to last
 * #VMEXIT; and of it the time in which some CPU was in guest mode (from a
 * recorded VMRUN to its CPU's #VMEXIT), the only time such a store can
 * happen.  simulate's tick is calibrated from their rate per second of the
 * workload (docs/MODEL.md "The tick in real time").
 */
struct sim_replay_region_stores {
	uint64_t by_level[4];           /* index enum snp_trace_level */
	uint64_t guest_ns;              /* time with at least one CPU in guest mode */
	uint64_t first_vmrun_ns, last_vmexit_ns;  /* the span those times lie in */
	/* the state guest_ns is counted from */
	unsigned int nr_in_guest;
	uint64_t since_ns;
	bool in_guest[SNP_TRACE_MAX_CPUS];
	bool ran;                       /* a VMRUN was recorded */
};

/*
 * Of them, the stores through a hugepage leaf (those the erratum can
 * fault): proven, a recorded 2M or 1G leaf; possible, an unknown leaf too
 * (replay judges it as 1G).
 */
uint64_t sim_replay_region_huge(const struct sim_replay_region_stores *s, enum sim_replay_bound b);
/* The workload's seconds, first VMRUN to last #VMEXIT (0 without both); with guest: guest_ns's. */
double sim_replay_region_seconds(const struct sim_replay_region_stores *s, bool guest);
/* sim_replay_region_huge() per such second; NAN over none. */
double sim_replay_region_rate(const struct sim_replay_region_stores *s, enum sim_replay_bound b,
			      bool guest);

struct sim_replay_result {
	struct snp_trace_info info;
	char kernel[128];               /* STR kernel record, or "" */
	char profile[48];               /* the profile's name */
	uint64_t records;
	uint64_t stores_seen, stores_dropped;   /* the END record's counts */
	/* What the model did with the records. */
	uint64_t hsave_writes, hsave_cleared;
	uint64_t vmruns, vmruns_entered, vmruns_failed; /* failed: #GP or VMEXIT_INVALID */
	char first_vmrun_failure[192];  /* "record N: VMRUN of VMCB ... : HSAVE_UNSET (#GP)" */
	uint64_t vmexits, vmrun_pages;
	uint64_t stores, stores_by_level[4];    /* index enum snp_trace_level */
	uint64_t accesses;              /* page accesses judged (a store across a page is two) */
	uint64_t flushes, flushes_applied;      /* applied: the flush reached direct-map entries */
	uint64_t flushes_in_guest;      /* recorded on a CPU in guest mode: not the host's */
	struct sim_replay_tlbctl tlbctl;
	/* Records the model could not apply (inconsistent or outside memory). */
	uint64_t refused;
	char first_refusal[192];
	/* Verdicts: the bounds, and the modeled TLB's point between them. */
	struct sim_replay_count bound[SIM_REPLAY_NR_BOUNDS];
	struct sim_replay_count model;
	unsigned int tlb_entries;       /* the modeled TLB's entries per CPU */
	char tlb_part[16];              /* its part ("milan"), or "" for --tlb-entries */
	/*
	 * Non-empty when stores the recorder dropped could have faulted under
	 * this profile, so the possible count covers the recorded stores only.
	 */
	char upper_incomplete[160];
	struct sim_replay_observer observer;    /* the part of the counts the tracer stored */
	struct sim_replay_func *funcs;  /* every storing function, most possible faults first */
	size_t nr_funcs;
	struct sim_replay_report *reports;  /* the first max_reports possible faults */
	unsigned int nr_reports;
	/* VMRUN rates: the busiest VMCB, and every stuck one (by address) with their faults' sum. */
	struct sim_replay_rate busiest;
	struct sim_replay_rate *stuck;
	size_t nr_stuck;
	struct sim_replay_rate stuck_sum;   /* vmcb_pa, peak unused */
	uint64_t last_t_ns;
	struct sim_replay_region_stores region;
	char error[SNP_TRACE_ERR_LEN];  /* why sim_replay_run failed */
};

/*
 * Replay the trace at path on a fresh modeled machine of the trace's memory
 * and CPUs with profile (NULL = early-snp).  0 with *out filled (free it
 * with sim_replay_result_free), or a negative code with the one-line reason
 * in out->error: the reader's errors for a bad trace (SNP_EINVAL,
 * SNP_ENOENT), SNP_EINVAL for a profile whose loads fault on a trace
 * without loads or an unknown tlb_part, SNP_ERANGE for a machine the model
 * cannot hold, SNP_ENOMEM.
 */
SNP_MUST_CHECK int sim_replay_run(const char *path, const struct snp_profile *profile,
		   const struct sim_replay_options *opt, struct sim_replay_result *out);
void sim_replay_result_free(struct sim_replay_result *r);

#endif
