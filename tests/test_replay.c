// SPDX-License-Identifier: MIT
/*
 * test_replay.c - sim_replay_run() on hand-written watch traces with known
 * verdicts: the changelog's steps give one spurious fault, and the profile,
 * the leaf, the exit, the TLB flushes and the knobs change that as the
 * model's rules say.  Bad traces give the reader's error, never a crash.
 */
#include "insn_util.h"
#include "trace_util.h"

#include <snpsafe/replay.h>
#include <snpsafe/vmrun.h>

#include <math.h>
#include <unistd.h>

static struct snp_profile profile_with(const char *base, const char *knob)
{
	struct snp_profile p = *snp_profile_by_name(base);

	if (knob && snp_profile_set_knob(&p, knob))
		ktap_fail(__FILE__, __LINE__, "bad knob %s", knob);
	return p;
}

/* Replay path under base+knob; the result (free it). */
static struct sim_replay_result run(const char *path, const char *base, const char *knob,
				    unsigned int max_reports)
{
	struct snp_profile p = profile_with(base, knob);
	struct sim_replay_options o = { .max_reports = max_reports };
	struct sim_replay_result r;
	int ret = sim_replay_run(path, &p, &o, &r);

	if (ret) {
		ktap_fail(__FILE__, __LINE__, "replay of %s: %d %s", path, ret, r.error);
		ktap_abort_case();
	}
	return r;
}

/* Possible faults (the upper bound) of path under base+knob. */
static uint64_t faults_of(const char *path, const char *base, const char *knob)
{
	struct sim_replay_result r = run(path, base, knob, 0);
	uint64_t n = r.bound[SIM_REPLAY_POSSIBLE].faults;

	/* Every proven fault is possible, and the modeled TLB's point lies between. */
	KEXPECT(r.bound[SIM_REPLAY_PROVEN].faults <= r.model.faults && r.model.faults <= n);
	KEXPECT_EQ(r.refused, 0);
	sim_replay_result_free(&r);
	return n;
}

/* ---- the changelog's steps ---- */

static void replay_changelog_one_spurious(void)
{
	const char *p = tu_path("changelog.trace");
	struct sim_replay_result r;
	const struct sim_replay_report *rep;

	tu_write_changelog(p, SNP_TRL_1G);
	r = run(p, "early-snp", NULL, 5);
	KEXPECT_EQ(r.bound[SIM_REPLAY_POSSIBLE].faults, 1);
	KEXPECT_EQ(r.bound[SIM_REPLAY_POSSIBLE].spurious, 1);
	KEXPECT_EQ(r.bound[SIM_REPLAY_POSSIBLE].real, 0);
	KEXPECT_EQ(r.bound[SIM_REPLAY_POSSIBLE].by_rule[SNP_RULE_ERRATUM_2M_BASE_INUSE], 1);
	KEXPECT_EQ(r.bound[SIM_REPLAY_POSSIBLE].by_kind[SIM_REPLAY_VMCB], 1);
	KEXPECT_EQ(r.vmruns_entered, 1);
	KEXPECT_EQ(r.vmexits, 1);
	KEXPECT_EQ(r.stores, 1);
	KEXPECT_EQ(r.refused, 0);
	KASSERT_EQ(r.nr_reports, 1);
	rep = &r.reports[0];
	KEXPECT(!strcmp(rep->func, "memset_orig+0x567"));
	KEXPECT(rep->pc == TU_PC_MEMSET);
	KEXPECT(rep->fault.va == TU_DMAP_BASE + TU_NEIGHBOUR);   /* the kernel's address */
	KEXPECT(rep->fault.pa == TU_NEIGHBOUR);
	KEXPECT_EQ(rep->fault.cpu, 0);
	KEXPECT(rep->fault.spurious);
	KEXPECT_EQ(rep->t_ns, 6000);                 /* the 6th record's time */
	KEXPECT_EQ(rep->record, 6);
	KEXPECT(rep->have_holder);
	KEXPECT_EQ(rep->holder.cpu, 1);
	KEXPECT(snp_pfn_to_phys(rep->holder.vmcb) == TU_VMCB);
	KEXPECT(rep->holder.active);
	KEXPECT(strstr(rep->fault.inuse_owner, "VMCB of the run on CPU 1 (VMCB 0x400000)"));
	KASSERT(r.nr_funcs >= 1);
	KEXPECT(!strcmp(r.funcs[0].name, "memset_orig"));
	KEXPECT_EQ(r.funcs[0].faults[SIM_REPLAY_POSSIBLE], 1);
	KEXPECT_EQ(r.funcs[0].spurious[SIM_REPLAY_POSSIBLE], 1);
	/*
	 * Not proven: CPU 0 may hold the region's 2M entry from before the
	 * mark (no flush since), which the part would not re-check.  The
	 * modeled TLB starts empty and faults.
	 */
	KEXPECT_EQ(r.bound[SIM_REPLAY_PROVEN].faults, 0);
	KEXPECT_EQ(r.funcs[0].faults[SIM_REPLAY_PROVEN], 0);
	KEXPECT_EQ(rep->bound, SIM_REPLAY_POSSIBLE);
	KEXPECT_EQ(rep->why, SIM_REPLAY_WHY_MAY_HOLD);
	KEXPECT(rep->model_faulted);
	KEXPECT_EQ(r.model.faults, 1);
	KEXPECT_EQ(r.model.spurious, 1);
	KEXPECT_EQ(r.tlb_entries, 64 + 2048);         /* Milan's L1 + L2 data TLB */
	KEXPECT(!strcmp(r.tlb_part, "milan"));
	sim_replay_result_free(&r);
}

static void replay_changelog_fixed_none(void)
{
	const char *p = tu_path("changelog.trace");

	tu_write_changelog(p, SNP_TRL_1G);
	KEXPECT_EQ(faults_of(p, "fixed", NULL), 0);
	/* Each documented feature alone: the erratum is what faults. */
	KEXPECT_EQ(faults_of(p, "early-snp", "inuse_erratum=0"), 0);
	KEXPECT_EQ(faults_of(p, "fixed", "inuse_erratum=1"), 1);
}

static void replay_leaf_sizes(void)
{
	const char *p = tu_path("leaf.trace");

	tu_write_changelog(p, SNP_TRL_4K);
	KEXPECT_EQ(faults_of(p, "early-snp", NULL), 0);
	tu_write_changelog(p, SNP_TRL_2M);
	KEXPECT_EQ(faults_of(p, "early-snp", NULL), 1);
	/* An unknown leaf (the plugin's walk failed) is judged as the boot map's 1G. */
	tu_write_changelog(p, SNP_TRL_UNKNOWN);
	KEXPECT_EQ(faults_of(p, "early-snp", NULL), 1);
}

/* The store comes after the #VMEXIT: no mark, unless the marks outlive the exit. */
static void replay_store_after_exit(void)
{
	const char *p = tu_path("exit.trace");
	struct sim_replay_result r;
	struct tu b;

	tu_open(&b, p, 2, SNP_GiB);
	tu_prologue(&b);
	tu_vmrun(&b, 1, TU_VMCB);
	tu_vmexit(&b, 1);
	tu_store(&b, 0, TU_NEIGHBOUR, 8, SNP_TRL_1G, TU_PC_MEMSET);
	tu_close(&b);
	KEXPECT_EQ(faults_of(p, "early-snp", NULL), 0);
	r = run(p, "early-snp", "inuse_cleared_at_vmexit=0", 1);
	KEXPECT_EQ(r.bound[SIM_REPLAY_POSSIBLE].faults, 1);
	KASSERT_EQ(r.nr_reports, 1);
	KEXPECT(r.reports[0].have_holder);
	KEXPECT(!r.reports[0].holder.active);    /* a stale run */
	sim_replay_result_free(&r);
}

/*
 * Stores into VMRUN regions (docs/REPLAY.md): counted by leaf only while a
 * page of the store's 2MB region (or the next, for a store across) is
 * in-use; the workload's time from the first VMRUN to the last #VMEXIT,
 * and of it the time with some CPU in guest mode (two CPUs' runs overlap
 * once: counted once).  Every record is 1000 ns after the one before.
 */
static void replay_region_stores(void)
{
	const char *p = tu_path("region.trace");
	const struct sim_replay_region_stores *g;
	struct sim_replay_result r;
	struct tu b;

	tu_open(&b, p, 2, SNP_GiB);
	tu_prologue(&b);                                              /* t 1000..4000 */
	tu_store(&b, 0, TU_NEIGHBOUR, 8, SNP_TRL_2M, TU_PC_MEMSET);  /* 5000: no guest yet */
	tu_vmrun(&b, 1, TU_VMCB);                                     /* 6000 */
	tu_store(&b, 0, TU_NEIGHBOUR, 8, SNP_TRL_2M, TU_PC_MEMSET);  /* counted, 2M */
	tu_store(&b, 0, TU_NEIGHBOUR, 8, SNP_TRL_4K, TU_PC_MEMSET);  /* counted, 4K */
	tu_store(&b, 0, TU_NEIGHBOUR, 8, SNP_TRL_UNKNOWN, TU_PC_MEMSET);  /* counted, unknown */
	tu_store(&b, 0, 0x800000, 8, SNP_TRL_2M, TU_PC_MEMSET);      /* another region: not */
	tu_store(&b, 0, 0x3ffffc, 8, SNP_TRL_2M, TU_PC_MEMSET);      /* across into it: counted */
	tu_vmexit(&b, 1);                                             /* 12000 */
	tu_store(&b, 0, TU_NEIGHBOUR, 8, SNP_TRL_2M, TU_PC_MEMSET);  /* the mark went: not */
	tu_vmrun(&b, 1, TU_VMCB);                                     /* 14000 */
	tu_vmrun(&b, 0, 0x600000);                                    /* 15000 */
	tu_vmexit(&b, 1);                                             /* 16000 */
	tu_vmexit(&b, 0);                                             /* 17000 */
	tu_close(&b);
	r = run(p, "early-snp", NULL, 0);
	g = &r.region;
	KEXPECT_EQ(g->by_level[SNP_TRL_2M], 2);
	KEXPECT_EQ(g->by_level[SNP_TRL_4K], 1);
	KEXPECT_EQ(g->by_level[SNP_TRL_UNKNOWN], 1);
	KEXPECT_EQ(g->by_level[SNP_TRL_1G], 0);
	KEXPECT_EQ(sim_replay_region_huge(g, SIM_REPLAY_PROVEN), 2);
	KEXPECT_EQ(sim_replay_region_huge(g, SIM_REPLAY_POSSIBLE), 3);
	KEXPECT_EQ(g->guest_ns, 6000 + 3000);
	KEXPECT(fabs(sim_replay_region_seconds(g, false) - 11000e-9) < 1e-15);
	KEXPECT(fabs(sim_replay_region_seconds(g, true) - 9000e-9) < 1e-15);
	KEXPECT(fabs(sim_replay_region_rate(g, SIM_REPLAY_PROVEN, false) - 2 / 11000e-9) < 1e-3);
	KEXPECT(fabs(sim_replay_region_rate(g, SIM_REPLAY_POSSIBLE, true) - 3 / 9000e-9) < 1e-3);
	sim_replay_result_free(&r);
	/* no VMRUN: no time, no rate */
	tu_open(&b, p, 2, SNP_GiB);
	tu_prologue(&b);
	tu_store(&b, 0, TU_NEIGHBOUR, 8, SNP_TRL_2M, TU_PC_MEMSET);
	tu_close(&b);
	r = run(p, "early-snp", NULL, 0);
	KEXPECT_EQ(sim_replay_region_huge(&r.region, SIM_REPLAY_POSSIBLE), 0);
	KEXPECT(sim_replay_region_seconds(&r.region, false) == 0);
	KEXPECT(isnan(sim_replay_region_rate(&r.region, SIM_REPLAY_PROVEN, false)));
	sim_replay_result_free(&r);
}

/* ---- TLB: a fill before the VMRUN, and flushes between it and the store ---- */

/*
 * CPU 0 stores to the neighbour page before the VMRUN (its TLB gets a 2M
 * entry checked then), then flush (kind 0: none) on CPU flush_cpu, then
 * the same store while CPU 1 is in guest mode.
 */
static void write_refill(const char *p, int kind, unsigned int flush_cpu, uint64_t va, uint64_t pa,
			 uint32_t len)
{
	struct tu b;

	tu_open(&b, p, 2, SNP_GiB);
	tu_prologue(&b);
	tu_store(&b, 0, TU_NEIGHBOUR, 8, SNP_TRL_1G, TU_PC_MEMSET);
	tu_vmrun(&b, 1, TU_VMCB);
	if (kind)
		tu_flush(&b, flush_cpu, (enum snp_trace_flush)kind, va, pa, len);
	tu_store(&b, 0, TU_NEIGHBOUR, 8, SNP_TRL_1G, TU_PC_MEMSET);
	tu_vmexit(&b, 1);
	tu_close(&b);
}

struct flush_case {
	const char *what;
	int kind;
	unsigned int cpu;
	uint64_t va, pa;
	uint32_t len;
	bool drops;          /* the modeled TLB drops CPU 0's direct-map entry */
	bool certain;        /* the architecture says it does: the fault is proven */
};

static struct sim_replay_result run_knob(const char *p, const char *knob)
{
	return run(p, "early-snp", knob, 0);
}

static void replay_tlb_flushes(void)
{
	const uint64_t nva = TU_DMAP_BASE + TU_NEIGHBOUR, pge = 1u << 7, pcide = 1u << 17;
	static const char *const every[2] = { "rmp_check_every_access=0", "rmp_check_every_access=1" };
	const struct flush_case cases[] = {
		{ "no flush", 0, 0, 0, 0, 0, false, false },
		{ "MOV CR3 (keeps global entries)", SNP_TRF_CR3, 0, 0, 0x1000, 0, false, false },
		{ "CR4.PGE flip", SNP_TRF_CR4, 0, pge, 0, 0, true, true },
		{ "CR4 write, PGE kept", SNP_TRF_CR4, 0, pge, pge | 0x20, 0, false, false },
		{ "CR4.PCIDE 1->0", SNP_TRF_CR4, 0, pge | pcide, pge, 0, true, false },
		{ "CR4.PCIDE 0->1", SNP_TRF_CR4, 0, pge, pge | pcide, 0, false, false },
		{ "MOV CR3, PCIDE=1, bit 63 (no flush)", SNP_TRF_CR3, 0, 0, (1ULL << 63) | 0x1005, 0, false, false },
		{ "MOV CR3, PCIDE=1, bit 63 clear", SNP_TRF_CR3, 0, 0, 0x1005, 0, false, false },
		{ "INVLPG of the address", SNP_TRF_INVLPG, 0, nva, 0, 0, true, true },
		{ "INVLPG of the region's other page", SNP_TRF_INVLPG, 0, nva + 0x10000, 0, 0, true, true },
		{ "INVLPG of another region", SNP_TRF_INVLPG, 0, nva + SNP_PMD_SIZE, 0, 0, false, false },
		{ "INVLPG, address not decoded", SNP_TRF_INVLPG, 0, UINT64_MAX, 0, 0, true, false },
		{ "INVLPG outside the direct map", SNP_TRF_INVLPG, 0, 0xffffffff81000000ULL, 0, 0, false, false },
		{ "INVLPG on the other CPU, in guest mode", SNP_TRF_INVLPG, 1, nva, 0, 0, false, false },
		{ "INVLPGA of a guest ASID", SNP_TRF_INVLPGA, 0, nva, 0, 5, false, false },
		{ "INVLPGA of ASID 0 (the host)", SNP_TRF_INVLPGA, 0, nva, 0, 0, true, true },
		{ "INVPCID type 0 of the address", SNP_TRF_INVPCID, 0, nva, 0, 0, true, false },
		{ "INVPCID type 1", SNP_TRF_INVPCID, 0, UINT64_MAX, 0, 1, true, false },
		/* Type 1 names a PCID, not an address: a va in the record is not its scope. */
		{ "INVPCID type 1, a va recorded", SNP_TRF_INVPCID, 0, nva + SNP_PMD_SIZE, 0, 1, true, false },
		{ "INVPCID type 1 on the other CPU", SNP_TRF_INVPCID, 1, UINT64_MAX, 0, 1, false, false },
		{ "INVPCID type 2", SNP_TRF_INVPCID, 0, UINT64_MAX, 0, 2, true, true },
		{ "INVPCID type 3", SNP_TRF_INVPCID, 0, UINT64_MAX, 0, 3, true, false },
	};
	const char *p = tu_path("tlb.trace");

	for (size_t i = 0; i < KTAP_ARRAY_SIZE(cases); i++) {
		const struct flush_case *c = &cases[i];

		write_refill(p, c->kind, c->cpu, c->va, c->pa, c->len);
		for (int e = 0; e < 2; e++) {
			struct sim_replay_result r = run_knob(p, every[e]);
			/* Checked at fill only: a kept entry hides the fault; every access: faults. */
			uint64_t model = e || c->drops, proven = e || c->certain;

			if (r.model.faults != model || r.bound[SIM_REPLAY_PROVEN].faults != proven ||
			    r.bound[SIM_REPLAY_POSSIBLE].faults != 1)
				ktap_fail(__FILE__, __LINE__, "%s, %s: model %llu proven %llu possible "
					  "%llu, expected %llu %llu 1", c->what, every[e],
					  (unsigned long long)r.model.faults,
					  (unsigned long long)r.bound[SIM_REPLAY_PROVEN].faults,
					  (unsigned long long)r.bound[SIM_REPLAY_POSSIBLE].faults,
					  (unsigned long long)model, (unsigned long long)proven);
			KEXPECT_EQ(r.flushes_in_guest, c->cpu == 1);
			sim_replay_result_free(&r);
		}
	}
}

/*
 * Each CPU has its own TLB.  CPU 0 fills an entry for the region before
 * any VMRUN; while CPU 1 runs the 2MB-aligned VMCB, CPU 0's store hits
 * that entry (checked at fill only: no fault).  Then CPU 0 runs the VMCB
 * and CPU 1 stores into the region for the first time: its own TLB has no
 * entry, the fill checks the RMP and faults.  One TLB shared by both CPUs
 * would hit on CPU 0's old entry and never fault.
 */
static void replay_tlb_per_cpu(void)
{
	const char *p = tu_path("percpu.trace");
	struct sim_replay_result r;
	struct tu b;

	tu_open(&b, p, 2, SNP_GiB);
	tu_prologue(&b);
	tu_store(&b, 0, TU_NEIGHBOUR, 8, SNP_TRL_2M, TU_PC_MEMSET);
	tu_vmrun(&b, 1, TU_VMCB);
	tu_store(&b, 0, TU_NEIGHBOUR, 8, SNP_TRL_2M, TU_PC_MEMSET);
	tu_vmexit(&b, 1);
	tu_vmrun(&b, 0, TU_VMCB);
	tu_store(&b, 1, TU_NEIGHBOUR + 0x1000, 8, SNP_TRL_2M, TU_PC_OTHER);
	tu_vmexit(&b, 0);
	tu_close(&b);
	r = run(p, "early-snp", NULL, 2);
	KEXPECT_EQ(r.refused, 0);
	KEXPECT_EQ(r.vmruns_entered, 2);
	/* The modeled TLB: CPU 0's second store hits the entry its first filled; CPU 1's misses. */
	KEXPECT_EQ(r.model.faults, 1);
	KEXPECT_EQ(r.model.by_rule[SNP_RULE_ERRATUM_2M_BASE_INUSE], 1);
	/* Both stores fall in a marked region: both possible, in record order. */
	KASSERT_EQ(r.nr_reports, 2);
	KEXPECT_EQ(r.reports[0].fault.cpu, 0);
	KEXPECT(!r.reports[0].model_faulted);
	KEXPECT_EQ(r.reports[1].fault.cpu, 1);
	KEXPECT(r.reports[1].model_faulted);
	KEXPECT(r.reports[1].fault.pa == TU_NEIGHBOUR + 0x1000);
	KEXPECT_EQ(r.reports[1].holder.cpu, 0);
	sim_replay_result_free(&r);
	/* Checked on every access, both stores made while the other CPU was in guest mode fault. */
	KEXPECT_EQ(faults_of(p, "early-snp", "rmp_check_every_access=1"), 2);
}

/* ---- kinds, rules, attribution ---- */

/* A store to the in-use VMCB itself: a real fault (no HvInUseWrAllowed), whatever the leaf. */
static void replay_store_to_vmcb_is_real(void)
{
	const char *p = tu_path("vmcb.trace");
	static const enum snp_trace_level levels[] = { SNP_TRL_4K, SNP_TRL_1G };

	for (int i = 0; i < 2; i++) {
		struct sim_replay_result r;
		struct tu b;

		tu_open(&b, p, 2, SNP_GiB);
		tu_prologue(&b);
		tu_vmrun(&b, 1, TU_VMCB);
		tu_store(&b, 0, TU_VMCB + 0x40, 8, levels[i], TU_PC_OTHER);
		tu_vmexit(&b, 1);
		tu_close(&b);
		r = run(p, "early-snp", NULL, 1);
		KEXPECT_EQ(r.bound[SIM_REPLAY_POSSIBLE].faults, 1);
		KEXPECT_EQ(r.bound[SIM_REPLAY_POSSIBLE].real, 1);
		KEXPECT_EQ(r.bound[SIM_REPLAY_POSSIBLE].by_rule[SNP_RULE_INUSE_WRITE], 1);
		KEXPECT_EQ(r.bound[SIM_REPLAY_POSSIBLE].by_kind[SIM_REPLAY_VMCB], 1);
		KASSERT_EQ(r.nr_reports, 1);
		KEXPECT(!strcmp(r.reports[0].func, "copy_page_to_iter [kvm]+0x10"));
		sim_replay_result_free(&r);
		KEXPECT_EQ(faults_of(p, "fixed", NULL), 0);
		KEXPECT_EQ(faults_of(p, "early-snp", "hv_inuse_wr_allowed=1"), i == 1);
	}
}

/* An AVIC backing page named by the VMRUN: its region, its kind, and vmrun_marks. */
static void replay_avic_page(void)
{
	const char *p = tu_path("avic.trace");
	struct sim_replay_result r;
	struct tu b;

	tu_open(&b, p, 2, SNP_GiB);
	tu_prologue(&b);
	tu_vmrun(&b, 1, 0x523000);
	tu_vmrun_page(&b, 1, SNP_TRP_AVIC, 0x600000);
	tu_store(&b, 0, 0x600800 + 0x1000, 4, SNP_TRL_2M, TU_PC_MEMSET);
	tu_store(&b, 0, 0x524000, 4, SNP_TRL_2M, TU_PC_MEMSET);  /* VMCB not aligned: nothing */
	tu_vmexit(&b, 1);
	tu_close(&b);
	r = run(p, "early-snp", NULL, 2);
	KEXPECT_EQ(r.bound[SIM_REPLAY_POSSIBLE].faults, 1);
	KEXPECT_EQ(r.bound[SIM_REPLAY_POSSIBLE].by_kind[SIM_REPLAY_AVIC], 1);
	KEXPECT_EQ(r.vmrun_pages, 1);
	KASSERT_EQ(r.nr_reports, 1);
	KEXPECT_EQ(r.reports[0].kind, SIM_REPLAY_AVIC);
	KEXPECT(snp_pfn_to_phys(r.reports[0].holder.vmcb) == 0x523000);
	sim_replay_result_free(&r);
	KEXPECT_EQ(faults_of(p, "early-snp", "vmrun_marks=vmcb"), 0);
}

/* The host save area faults only if VMRUN marks it (vmrun_marks=...,hsave). */
static void replay_hsave_kind(void)
{
	const char *p = tu_path("hsave.trace");
	struct sim_replay_result r;
	struct tu b;

	tu_open(&b, p, 2, SNP_GiB);
	tu_prologue(&b);
	tu_hsave(&b, 1, 0x800000);
	tu_vmrun(&b, 1, TU_VMCB + 0x5000);
	tu_store(&b, 0, 0x800100 + 0x3000, 8, SNP_TRL_1G, TU_PC_MEMSET);
	tu_vmexit(&b, 1);
	tu_close(&b);
	KEXPECT_EQ(faults_of(p, "early-snp", NULL), 0);
	r = run(p, "early-snp", "vmrun_marks=vmcb,vmsa,avic,hsave", 0);
	KEXPECT_EQ(r.bound[SIM_REPLAY_POSSIBLE].faults, 1);
	KEXPECT_EQ(r.bound[SIM_REPLAY_POSSIBLE].by_kind[SIM_REPLAY_HSAVE], 1);
	sim_replay_result_free(&r);
}

static void replay_counts_and_reports(void)
{
	const char *p = tu_path("many.trace");
	struct sim_replay_result r;
	struct tu b;

	tu_open(&b, p, 2, SNP_GiB);
	tu_prologue(&b);
	tu_vmrun(&b, 1, TU_VMCB);
	for (unsigned int i = 1; i <= 3; i++)
		tu_store(&b, 0, TU_VMCB + i * 0x1000, 8, SNP_TRL_1G, i == 3 ? 0x1000 : TU_PC_MEMSET);
	tu_store(&b, 0, TU_VMCB + 0x4ffc, 8, SNP_TRL_4K, TU_PC_OTHER);  /* across two pages */
	tu_vmexit(&b, 1);
	tu_close(&b);
	r = run(p, "early-snp", NULL, 2);
	KEXPECT_EQ(r.bound[SIM_REPLAY_POSSIBLE].faults, 3);
	KEXPECT_EQ(r.nr_reports, 2);
	KEXPECT_EQ(r.stores, 4);
	KEXPECT_EQ(r.accesses, 5);
	KEXPECT_EQ(r.stores_by_level[SNP_TRL_1G], 3);
	KEXPECT_EQ(r.stores_by_level[SNP_TRL_4K], 1);
	KASSERT_EQ(r.nr_funcs, 3);
	KEXPECT(!strcmp(r.funcs[0].name, "memset_orig"));   /* most faults first */
	KEXPECT_EQ(r.funcs[0].faults[SIM_REPLAY_POSSIBLE], 2);
	KEXPECT(!strcmp(r.funcs[1].name, "(no symbol)"));   /* pc below every symbol */
	KEXPECT_EQ(r.funcs[2].faults[SIM_REPLAY_POSSIBLE], 0);
	KEXPECT_EQ(r.funcs[2].stores, 1);
	KEXPECT_EQ(r.stores_seen, 1000);
	KEXPECT_EQ(r.stores_dropped, 10);
	sim_replay_result_free(&r);
}

/* Records the model cannot apply are counted with the first reason, not fatal. */
static void replay_refusals(void)
{
	const char *p = tu_path("refuse.trace");
	struct sim_replay_result r;
	struct tu b;

	tu_open(&b, p, 2, 64 * SNP_MiB);
	tu_vmrun(&b, 1, TU_VMCB);                    /* no host save area: #GP */
	tu_vmexit(&b, 1);                            /* the failed run's exit: silent */
	tu_hsave(&b, 1, TU_HSAVE1);
	tu_vmrun_page(&b, 1, SNP_TRP_VMSA, 0x3000);  /* no VMRUN before it */
	tu_store(&b, 0, 128 * SNP_MiB, 8, SNP_TRL_1G, TU_PC_MEMSET);  /* beyond memory */
	tu_vmexit(&b, 0);                            /* not in guest mode */
	tu_vmrun(&b, 1, TU_VMCB);
	tu_store(&b, 1, TU_NEIGHBOUR, 8, SNP_TRL_1G, TU_PC_MEMSET);   /* a CPU in guest mode */
	tu_store(&b, 0, TU_NEIGHBOUR, 8, SNP_TRL_1G, TU_PC_MEMSET);
	tu_vmexit(&b, 1);
	tu_hsave(&b, 1, 0);                          /* svm_hardware_disable(): unset */
	tu_vmrun(&b, 1, TU_VMCB);                    /* #GP again */
	tu_close(&b);
	r = run(p, "early-snp", NULL, 0);
	KEXPECT_EQ(r.refused, 4);
	KEXPECT(strstr(r.first_refusal, "record 4: VMRUN page on CPU 1 without a VMRUN"));
	KEXPECT_EQ(r.vmruns, 3);
	KEXPECT_EQ(r.vmruns_entered, 1);
	KEXPECT_EQ(r.vmruns_failed, 2);
	KEXPECT(strstr(r.first_vmrun_failure, "record 1: VMRUN of VMCB 0x400000 on CPU 1: "
			"HSAVE_UNSET (#GP)"));
	KEXPECT_EQ(r.hsave_cleared, 1);
	KEXPECT_EQ(r.bound[SIM_REPLAY_POSSIBLE].faults, 1);
	sim_replay_result_free(&r);
}

/* A VMSA recorded with the VMRUN: an SEV-ES guest; VMRUN_PAGE records of other CPUs interleave. */
static void replay_vmsa_interleaved(void)
{
	const char *p = tu_path("vmsa.trace");
	struct sim_replay_result r;
	struct tu b;

	tu_open(&b, p, 3, SNP_GiB);
	tu_prologue(&b);
	tu_hsave(&b, 2, 0x1238000);
	tu_vmrun(&b, 1, 0x523000);
	tu_vmrun(&b, 2, 0x525000);
	tu_vmrun_page(&b, 1, SNP_TRP_VMSA, 0xa00000);
	tu_vmrun_page(&b, 2, SNP_TRP_AVIC, 0xc00000);
	tu_store(&b, 0, 0xa00000 + 0x2000, 8, SNP_TRL_1G, TU_PC_MEMSET);
	tu_store(&b, 0, 0xc00000 + 0x2000, 8, SNP_TRL_1G, TU_PC_MEMSET);
	tu_close(&b);
	r = run(p, "early-snp", NULL, 0);
	KEXPECT_EQ(r.refused, 0);
	KEXPECT_EQ(r.vmruns_entered, 2);
	KEXPECT_EQ(r.bound[SIM_REPLAY_POSSIBLE].by_kind[SIM_REPLAY_VMSA], 1);
	KEXPECT_EQ(r.bound[SIM_REPLAY_POSSIBLE].by_kind[SIM_REPLAY_AVIC], 1);
	sim_replay_result_free(&r);
}

/* ---- bad traces ---- */

static int replay_error(const char *p, char *why, size_t len)
{
	struct sim_replay_result r;
	int ret = sim_replay_run(p, NULL, NULL, &r);

	snprintf(why, len, "%s", r.error);
	if (!ret)
		sim_replay_result_free(&r);
	else
		KEXPECT(r.funcs == NULL && r.reports == NULL);
	return ret;
}

static void replay_bad_traces(void)
{
	const char *bad = tu_path("bad.trace");
	char why[SNP_TRACE_ERR_LEN];

	tu_write_changelog_bad(bad, 0, 'S', TU_CHANGELOG_REC3 + 7);
	KEXPECT(replay_error(bad, why, sizeof(why)) < 0 && strstr(why, "truncated"));
	tu_write_changelog_bad(bad, 0, 'X', 0);
	KEXPECT(replay_error(bad, why, sizeof(why)) < 0 && strstr(why, "bad magic"));
	tu_write_changelog_bad(bad, 8, 9, 0);
	KEXPECT(replay_error(bad, why, sizeof(why)) < 0 && strstr(why, "newer"));
	tu_write_changelog_bad(bad, TU_CHANGELOG_REC3 + 1, 2, 0);   /* CPU 2 of 2 */
	KEXPECT(replay_error(bad, why, sizeof(why)) < 0 && strstr(why, "CPU 2 out of range"));
	KEXPECT(replay_error(tu_path("missing.trace"), why, sizeof(why)) == SNP_ENOENT);
	KEXPECT(sim_replay_run(NULL, NULL, NULL, NULL) == SNP_EINVAL);
}

/* A header with more memory than the model holds is refused by name, not attempted. */
static void replay_too_much_memory(void)
{
	const char *p = tu_path("huge.trace");
	char why[SNP_TRACE_ERR_LEN];
	struct tu b;

	tu_open(&b, p, 2, 8 * SNP_TiB);
	tu_close(&b);
	KEXPECT_EQ(replay_error(p, why, sizeof(why)), SNP_ERANGE);
	KEXPECT(strstr(why, "more than the model holds"));
}

/* Random records after a good header: replay ends with the reader's error or a verdict. */
static void replay_random_records(void)
{
	const char *p = tu_path("rand.trace");
	unsigned char rec[SNP_TRACE_REC_SIZE];
	unsigned int seed = 777;
	int ok = 0, errors = 0;

	for (int round = 0; round < 300; round++) {
		struct snp_trace_writer *w;
		char err[SNP_TRACE_ERR_LEN];
		const struct snp_trace_info info = { .nr_cpus = 2, .mem_bytes = 64 * SNP_MiB };
		struct sim_replay_result r;
		FILE *f;

		KASSERT_EQ(snp_trace_writer_open(p, &info, &w, err, sizeof(err)), 0);
		snp_trace_writer_abandon(w);
		f = fopen(p, "ab");
		KASSERT(f);
		for (int i = 0; i < 1 + round % 20; i++) {
			for (size_t k = 0; k < sizeof(rec); k++)
				rec[k] = (unsigned char)rand_r(&seed);
			/* Mostly valid types, CPUs and sizes, so the replay gets far. */
			rec[0] = (unsigned char)(1 + rec[0] % (round % 2 ? 6 : 9));
			rec[1] &= 1;
			rec[2] = (unsigned char)(1 + rec[2] % 8);
			rec[3] &= rec[0] == SNP_TR_VMRUN ? 1 : 3;   /* a VMRUN's level: TLB_CONTROL read */
			memset(rec + 4, 0, 4);
			rec[19] = rec[20] = rec[21] = rec[22] = rec[23] = 0;  /* pa < 2^24 */
			fwrite(rec, 1, sizeof(rec), f);
		}
		if (round % 2) {         /* a well-formed END after the records */
			memset(rec, 0, sizeof(rec));
			rec[0] = SNP_TR_END;
			rec[16] = (unsigned char)(1 + round % 20);
			fwrite(rec, 1, sizeof(rec), f);
		}
		fclose(f);
		if (sim_replay_run(p, NULL, &(struct sim_replay_options){ .max_reports = 2 }, &r)) {
			errors++;
			KEXPECT(r.error[0] != '\0');
		} else {
			ok++;
			sim_replay_result_free(&r);
		}
	}
	ktap_log("%d replayed, %d refused by the reader", ok, errors);
	KEXPECT_EQ(ok + errors, 300);
	KEXPECT(errors > 0);
	KEXPECT(ok > 0);
}

/* ---- the hw entry points replay added ---- */

static void hw_access_leaf_and_holder(void)
{
	const struct snp_machine_config mc = { .mem_bytes = SNP_GiB, .nr_cpus = 2,
					       .direct_map = SNP_DMAP_4K };
	struct snp_inuse_holder h;
	struct snp_tlb_entry e;
	struct snp_machine *m;
	struct snp_exc exc;
	const struct snp_vmrun_args a = { .vmcb = 0x400, .vmsa = SNP_NO_PAGE, .avic = SNP_NO_PAGE,
					  .asid = 1, .label = "t" };

	KASSERT_EQ(snp_machine_create(&mc, &m), 0);
	KEXPECT_EQ(snp_host_access_leaf(m, 0, SNP_PAGE_OFFSET, true, (enum snp_map_size)7, &exc),
		   SNP_EINVAL);
	/* The leaf given, not the machine's 4K direct map, fills the TLB. */
	KEXPECT_EQ(snp_host_access_leaf(m, 0, snp_phys_to_virt(0x401000), true, SNP_MAP_1G, NULL), 0);
	KASSERT_EQ(snp_tlb_lookup(m, 0, snp_phys_to_virt(0x401000), &e), 1);
	KEXPECT_EQ(e.leaf, SNP_MAP_1G);
	KEXPECT_EQ(e.size, SNP_MAP_2M);
	KEXPECT_EQ(snp_inuse_holder(m, 0x400, &h), 0);
	KASSERT_EQ(snp_wrmsr_hsave_pa(m, 1, 0x1234), 0);
	KASSERT_EQ(t_vmrun(m, 1, &a, NULL), SNP_VMRUN_ENTERED);
	KEXPECT_EQ(snp_inuse_holder(m, 0x400, &h), 1);
	KEXPECT_EQ(h.cpu, 1);
	KEXPECT_EQ(h.role, SNP_ROLE_VMCB);
	KEXPECT_EQ(h.vmcb, 0x400);
	KEXPECT(h.active);
	/* A hit on the entry filled before the mark: not re-checked (at-fill rule). */
	KEXPECT_EQ(snp_host_access_leaf(m, 0, snp_phys_to_virt(0x402000), true, SNP_MAP_1G, NULL), 0);
	/* After a flush, a miss walks to the leaf given: 4K, nothing; 2M, the erratum. */
	KEXPECT_EQ(snp_tlb_flush_all(m, 0), 0);
	KEXPECT_EQ(snp_host_access_leaf(m, 0, snp_phys_to_virt(0x402000), true, SNP_MAP_4K, NULL), 0);
	KEXPECT_EQ(snp_tlb_flush_all(m, 0), 0);
	KEXPECT_EQ(snp_host_access_leaf(m, 0, snp_phys_to_virt(0x402000), true, SNP_MAP_2M, &exc),
		   SNP_EFAULT);
	KEXPECT_EQ(exc.vector, SNP_EXC_PF);
	KEXPECT_EQ(snp_vmexit(m, 1), 0);
	KEXPECT_EQ(snp_inuse_holder(m, 0x400, &h), 0);
	KEXPECT_EQ(snp_inuse_holder(NULL, 0x400, &h), SNP_EINVAL);
	snp_machine_destroy(m);
}

static const struct ktap_case cases[] = {
	KTAP_CASE(replay_changelog_one_spurious),
	KTAP_CASE(replay_changelog_fixed_none),
	KTAP_CASE(replay_leaf_sizes),
	KTAP_CASE(replay_store_after_exit),
	KTAP_CASE(replay_region_stores),
	KTAP_CASE(replay_tlb_flushes),
	KTAP_CASE(replay_tlb_per_cpu),
	KTAP_CASE(replay_store_to_vmcb_is_real),
	KTAP_CASE(replay_avic_page),
	KTAP_CASE(replay_hsave_kind),
	KTAP_CASE(replay_counts_and_reports),
	KTAP_CASE(replay_refusals),
	KTAP_CASE(replay_vmsa_interleaved),
	KTAP_CASE(replay_bad_traces),
	KTAP_CASE(replay_too_much_memory),
	KTAP_CASE(replay_random_records),
	KTAP_CASE(hw_access_leaf_and_holder),
	{ "teardown_case", tu_dir_teardown, 0 },
};

int main(void)
{
	tu_dir_setup("snpsafe-test-replay");
	return ktap_main("replay", cases, KTAP_ARRAY_SIZE(cases));
}
