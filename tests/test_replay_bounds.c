// SPDX-License-Identifier: MIT
/*
 * test_replay_bounds.c - replay's bounds (docs/REPLAY.md "Bounds"): which
 * faults the recorded stream proves (a forced TLB fill) and which are only
 * possible (the RMP checked on every access).
 *
 * Hand-written traces pin each rule: an entry the CPU may hold from before
 * the mark keeps a fault unproven, a certain flush after the mark proves it,
 * VMRUN's TLB_CONTROL 1 flushes the host's entries and 3 does not, a version
 * 1 trace has no TLB_CONTROL.  Then a property test over random runs at small
 * TLB sizes: the replay of the recorder's filtered trace and of the whole
 * run give the same bounds, every modeled TLB lies within them, and the
 * filtered trace's proven count never exceeds what a TLB of the whole run
 * gives, so it holds for every run the recording is consistent with.
 */
#include "trace_util.h"

#include <snpsafe/mmu.h>
#include <snpsafe/replay.h>

/* Replay path under early-snp with knob (NULL: none), a modeled TLB of tlb entries (0: Milan's). */
static struct sim_replay_result replay_knob(const char *path, const char *knob, unsigned int tlb,
					    unsigned int max_reports)
{
	struct snp_profile p = snp_profile_early_snp;
	struct sim_replay_options o = { .max_reports = max_reports, .tlb_entries = tlb };
	struct sim_replay_result r;

	if (knob && snp_profile_set_knob(&p, knob))
		ktap_fail(__FILE__, __LINE__, "bad knob %s", knob);
	if (sim_replay_run(path, &p, &o, &r)) {
		ktap_fail(__FILE__, __LINE__, "replay of %s: %s", path, r.error);
		ktap_abort_case();
	}
	return r;
}

static uint64_t proven(const struct sim_replay_result *r)
{
	return r->bound[SIM_REPLAY_PROVEN].faults;
}

static uint64_t possible(const struct sim_replay_result *r)
{
	return r->bound[SIM_REPLAY_POSSIBLE].faults;
}

/* ---- hand-written traces ---- */

/*
 * The changelog's steps with a flush of kind (0: none) by CPU 0 between
 * the VMRUN and CPU 0's store into the VMCB's region.
 */
static void write_flushed(const char *p, int kind, uint64_t va, uint32_t len)
{
	struct tu b;

	tu_open(&b, p, 2, SNP_GiB);
	tu_prologue(&b);
	tu_vmrun(&b, 1, TU_VMCB);
	if (kind)
		tu_flush(&b, 0, (enum snp_trace_flush)kind, va, 0, len);
	tu_store(&b, 0, TU_NEIGHBOUR, 8, SNP_TRL_1G, TU_PC_MEMSET);
	tu_store(&b, 0, TU_NEIGHBOUR + 0x1000, 8, SNP_TRL_1G, TU_PC_MEMSET);
	tu_vmexit(&b, 1);
	tu_close(&b);
}

/* A flush after the mark proves the fill; the #PF drops the entry, so the next store faults too. */
static void bounds_flush_after_mark(void)
{
	const char *p = tu_path("flushed.trace");
	struct sim_replay_result r;

	write_flushed(p, 0, 0, 0);
	r = replay_knob(p, NULL, 0, 2);
	KEXPECT_EQ(proven(&r), 0);
	KEXPECT_EQ(possible(&r), 2);
	/* The modeled TLB starts empty: faults, then the #PF dropped the entry: faults again. */
	KEXPECT_EQ(r.model.faults, 2);
	KASSERT_EQ(r.nr_reports, 2);
	KEXPECT_EQ(r.reports[0].why, SIM_REPLAY_WHY_MAY_HOLD);
	sim_replay_result_free(&r);

	write_flushed(p, SNP_TRF_INVLPG, TU_DMAP_BASE + TU_NEIGHBOUR + 0x5000, 0);
	r = replay_knob(p, NULL, 0, 2);
	KEXPECT_EQ(proven(&r), 2);
	KEXPECT_EQ(possible(&r), 2);
	KASSERT_EQ(r.nr_reports, 2);
	KEXPECT_EQ(r.reports[0].bound, SIM_REPLAY_PROVEN);
	KEXPECT_EQ(r.reports[0].why, SIM_REPLAY_WHY_PROVEN);
	KEXPECT_EQ(r.reports[1].bound, SIM_REPLAY_PROVEN);
	KEXPECT_EQ(r.funcs[0].faults[SIM_REPLAY_PROVEN], 2);
	KEXPECT_EQ(r.bound[SIM_REPLAY_PROVEN].spurious, 2);
	KEXPECT_EQ(r.bound[SIM_REPLAY_PROVEN].by_rule[SNP_RULE_ERRATUM_2M_BASE_INUSE], 2);
	KEXPECT_EQ(r.bound[SIM_REPLAY_PROVEN].by_kind[SIM_REPLAY_VMCB], 2);
	sim_replay_result_free(&r);

	/* An INVLPG whose address was not decoded proves nothing, though the model flushes all. */
	write_flushed(p, SNP_TRF_INVLPG, UINT64_MAX, 0);
	r = replay_knob(p, NULL, 0, 0);
	KEXPECT_EQ(proven(&r), 0);
	KEXPECT_EQ(r.model.faults, 2);
	sim_replay_result_free(&r);

	/* A part that checks every access: every possible fault is proven. */
	write_flushed(p, 0, 0, 0);
	r = replay_knob(p, "rmp_check_every_access=on", 0, 0);
	KEXPECT_EQ(proven(&r), 2);
	KEXPECT_EQ(r.model.faults, 2);
	sim_replay_result_free(&r);
}

/* A flush before the mark proves nothing: the CPU could refill the entry before the VMRUN. */
static void bounds_flush_before_mark(void)
{
	const char *p = tu_path("before.trace");
	struct sim_replay_result r;
	struct tu b;

	tu_open(&b, p, 2, SNP_GiB);
	tu_prologue(&b);
	tu_flush(&b, 0, SNP_TRF_INVPCID, UINT64_MAX, 0, 2);
	tu_vmrun(&b, 1, TU_VMCB);
	tu_store(&b, 0, TU_NEIGHBOUR, 8, SNP_TRL_2M, TU_PC_MEMSET);
	tu_vmexit(&b, 1);
	/* The mark goes and comes back: a flush in between no longer proves the next fill. */
	tu_flush(&b, 0, SNP_TRF_INVPCID, UINT64_MAX, 0, 2);
	tu_vmrun(&b, 1, TU_VMCB);
	tu_store(&b, 0, TU_NEIGHBOUR, 8, SNP_TRL_2M, TU_PC_MEMSET);
	tu_vmexit(&b, 1);
	tu_close(&b);
	r = replay_knob(p, NULL, 0, 0);
	KEXPECT_EQ(proven(&r), 0);
	KEXPECT_EQ(possible(&r), 2);
	KEXPECT_EQ(r.model.faults, 2);
	sim_replay_result_free(&r);
}

/*
 * CPU 0 enters a guest with TLB_CONTROL ctl, CPU 1 marks an aligned VMCB
 * while CPU 0 is in guest mode, CPU 0 exits and stores into that region.
 */
static void write_guest_flush(const char *p, uint32_t version, int ctl)
{
	struct tu b;

	tu_open_ex(&b, p, 2, SNP_GiB, version, SNP_TRACE_FILTER_INGUEST);
	tu_prologue(&b);
	if (ctl < 0)
		tu_vmrun(&b, 0, 0x523000);
	else
		tu_vmrun_tlb(&b, 0, 0x523000, (uint8_t)ctl);
	tu_vmrun(&b, 1, TU_VMCB);
	tu_vmexit(&b, 0);
	tu_store(&b, 0, TU_NEIGHBOUR, 8, SNP_TRL_2M, TU_PC_MEMSET);
	tu_vmexit(&b, 1);
	tu_close(&b);
}

/* VMRUN's TLB_CONTROL 1 flushes every ASID's entries (APM Vol. 2 15.16.1); 3 and 7 the guest's. */
static void bounds_tlb_control(void)
{
	/* rest: the two VMRUNs' "nothing" and "unknown" (CPU 1's is never read: tu_vmrun). */
	static const struct { int ctl; uint64_t proven, flush_all, guest_only, rest; } c[] = {
		{ SNP_TLBCTL_FLUSH_ALL, 1, 1, 0, 1 },
		{ SNP_TLBCTL_FLUSH_ASID, 0, 0, 1, 1 },
		{ SNP_TLBCTL_FLUSH_ASID_NONGLOBAL, 0, 0, 1, 1 },
		{ SNP_TLBCTL_NOTHING, 0, 0, 0, 2 },
		{ 0x5, 0, 0, 0, 2 },          /* reserved */
		{ -1, 0, 0, 0, 2 },           /* not read */
	};
	const char *p = tu_path("tlbctl.trace");

	for (size_t i = 0; i < KTAP_ARRAY_SIZE(c); i++) {
		struct sim_replay_result r;

		write_guest_flush(p, 0, c[i].ctl);
		r = replay_knob(p, NULL, 0, 1);
		KEXPECT(r.tlbctl.recorded);
		if (proven(&r) != c[i].proven || possible(&r) != 1 || r.tlbctl.flush_all != c[i].flush_all ||
		    r.tlbctl.guest_only != c[i].guest_only ||
		    r.tlbctl.nothing + r.tlbctl.unknown != c[i].rest)
			ktap_fail(__FILE__, __LINE__, "TLB_CONTROL %d: proven %llu possible %llu "
				  "flush_all %llu guest_only %llu", c[i].ctl,
				  (unsigned long long)proven(&r), (unsigned long long)possible(&r),
				  (unsigned long long)r.tlbctl.flush_all,
				  (unsigned long long)r.tlbctl.guest_only);
		/* The model applies the same flush: its empty TLB faults either way here. */
		KEXPECT_EQ(r.model.faults, 1);
		sim_replay_result_free(&r);
	}
}

/* A version 1 trace reads; it has no TLB_CONTROL, so its flush is not applied. */
static void bounds_old_trace(void)
{
	const char *p = tu_path("v1.trace");
	struct sim_replay_result r;
	struct snp_trace *t;
	char err[SNP_TRACE_ERR_LEN];
	struct tu b;

	write_guest_flush(p, 1, -1);
	KASSERT_EQ(snp_trace_open(p, &t, err, sizeof(err)), 0);
	KEXPECT_EQ(snp_trace_get_info(t)->version, 1);
	snp_trace_close(t);
	r = replay_knob(p, NULL, 0, 0);
	KEXPECT(!r.tlbctl.recorded);
	KEXPECT_EQ(r.tlbctl.unknown + r.tlbctl.flush_all, 0);
	KEXPECT_EQ(proven(&r), 0);
	KEXPECT_EQ(possible(&r), 1);
	sim_replay_result_free(&r);
	/* A version 1 VMRUN cannot carry TLB_CONTROL. */
	tu_open_ex(&b, p, 2, SNP_GiB, 1, SNP_TRACE_FILTER_INGUEST);
	tu_prologue(&b);
	tu_vmrun_tlb(&b, 0, 0x523000, SNP_TLBCTL_FLUSH_ALL);
	tu_close(&b);
	KEXPECT(sim_replay_run(p, NULL, NULL, &r) == SNP_EINVAL && strstr(r.error, "TLB_CONTROL"));
}

/* The store's own page in-use (INUSE_WRITE through a 4K leaf) is proven after a flush of it. */
static void bounds_4k_inuse_write(void)
{
	const char *p = tu_path("vmcb4k.trace");
	struct sim_replay_result r;
	struct tu b;

	tu_open(&b, p, 2, SNP_GiB);
	tu_prologue(&b);
	tu_vmrun(&b, 1, 0x523000);
	tu_store(&b, 0, 0x523040, 8, SNP_TRL_4K, TU_PC_OTHER);
	tu_flush(&b, 0, SNP_TRF_INVLPG, TU_DMAP_BASE + 0x523000, 0, 0);
	tu_store(&b, 0, 0x523080, 8, SNP_TRL_4K, TU_PC_OTHER);
	/* Through a 2M leaf with the region's base not in-use: a 2M entry filled through another page. */
	tu_store(&b, 0, 0x523100, 8, SNP_TRL_2M, TU_PC_OTHER);
	/* A leaf the recorder could not walk may be 4K: never proven. */
	tu_store(&b, 0, 0x523180, 8, SNP_TRL_UNKNOWN, TU_PC_OTHER);
	tu_vmexit(&b, 1);
	tu_close(&b);
	r = replay_knob(p, NULL, 0, 4);
	KEXPECT_EQ(possible(&r), 4);
	KEXPECT_EQ(proven(&r), 1);
	KEXPECT_EQ(r.bound[SIM_REPLAY_PROVEN].real, 1);
	KEXPECT_EQ(r.bound[SIM_REPLAY_PROVEN].by_rule[SNP_RULE_INUSE_WRITE], 1);
	KASSERT_EQ(r.nr_reports, 4);
	KEXPECT_EQ(r.reports[0].why, SIM_REPLAY_WHY_MAY_HOLD);
	KEXPECT_EQ(r.reports[1].why, SIM_REPLAY_WHY_PROVEN);
	KEXPECT_EQ(r.reports[2].why, SIM_REPLAY_WHY_UNGATED);
	KEXPECT_EQ(r.reports[3].why, SIM_REPLAY_WHY_LEAF_UNKNOWN);
	sim_replay_result_free(&r);
	/* A part that lets the hypervisor write in-use pages: nothing to fault. */
	r = replay_knob(p, "hv_inuse_wr_allowed=on", 0, 0);
	KEXPECT_EQ(possible(&r), 0);
	sim_replay_result_free(&r);
}

/*
 * A page stored through a 4K leaf and then a 2M one with no full flush
 * between (Linux splits and flushes, never the reverse): the CPU may still
 * hold the 4K entry, and the modeled TLB does hit it.
 */
static void bounds_leaf_mixed(void)
{
	const char *p = tu_path("mixed.trace");
	struct sim_replay_result r;

	for (int full = 0; full < 2; full++) {
		struct tu b;

		tu_open(&b, p, 2, SNP_GiB);
		tu_prologue(&b);
		tu_vmrun(&b, 1, TU_VMCB);
		tu_flush(&b, 0, SNP_TRF_INVLPG, TU_DMAP_BASE + TU_VMCB + 0x9000, 0, 0);
		tu_store(&b, 0, TU_NEIGHBOUR, 8, SNP_TRL_4K, TU_PC_MEMSET);
		if (full)
			tu_flush(&b, 0, SNP_TRF_INVPCID, UINT64_MAX, 0, 2);
		tu_store(&b, 0, TU_NEIGHBOUR, 8, SNP_TRL_2M, TU_PC_MEMSET);
		tu_vmexit(&b, 1);
		tu_close(&b);
		r = replay_knob(p, NULL, 0, 1);
		KEXPECT_EQ(possible(&r), 1);
		KEXPECT_EQ(proven(&r), (uint64_t)full);
		KEXPECT_EQ(r.model.faults, (uint64_t)full);
		KASSERT_EQ(r.nr_reports, 1);
		KEXPECT_EQ(r.reports[0].why, full ? SIM_REPLAY_WHY_PROVEN : SIM_REPLAY_WHY_LEAF_MIXED);
		sim_replay_result_free(&r);
	}
}

/* Loads are not recorded: a profile whose loads fault is refused by name. */
static void bounds_loads_refused(void)
{
	const char *p = tu_path("loads.trace");
	struct snp_profile prof = snp_profile_early_snp;
	struct sim_replay_result r;

	tu_write_changelog(p, SNP_TRL_1G);
	KASSERT_EQ(snp_profile_set_knob(&prof, "inuse_reads_fault=on"), 0);
	KEXPECT_EQ(sim_replay_run(p, &prof, NULL, &r), SNP_EINVAL);
	KEXPECT(strstr(r.error, "inuse_reads_fault=on needs recorded loads") && !strchr(r.error, '\n'));
	KEXPECT(r.funcs == NULL && r.reports == NULL);
}

/* Marks that outlive #VMEXIT meet stores the in-guest recorder dropped: possible is incomplete. */
static void bounds_upper_incomplete(void)
{
	const char *p = tu_path("stale.trace");
	struct sim_replay_result r;

	write_guest_flush(p, 0, 1);
	r = replay_knob(p, NULL, 0, 0);
	KEXPECT_EQ(r.upper_incomplete[0], '\0');
	sim_replay_result_free(&r);
	r = replay_knob(p, "inuse_cleared_at_vmexit=off", 0, 0);
	KEXPECT(strstr(r.upper_incomplete, "filter in-guest"));
	sim_replay_result_free(&r);
}

/* The default TLB is Milan's; --tlb genoa and an entry count replace it; an unknown part is refused. */
static void bounds_tlb_parts(void)
{
	const char *p = tu_path("parts.trace");
	struct sim_replay_options o = { .tlb_part = "genoa" };
	struct sim_replay_result r;

	KEXPECT_EQ(snp_tlb_part_entries(snp_tlb_part_by_name("milan")), 64 + 2048);
	KEXPECT_EQ(snp_tlb_part_entries(snp_tlb_part_by_name("genoa")), 72 + 3072);
	KEXPECT(snp_tlb_part_by_name("zen9") == NULL && snp_tlb_part_by_name(NULL) == NULL);
	tu_write_changelog(p, SNP_TRL_1G);
	KASSERT_EQ(sim_replay_run(p, NULL, &o, &r), 0);
	KEXPECT_EQ(r.tlb_entries, 72 + 3072);
	KEXPECT(!strcmp(r.tlb_part, "genoa"));
	sim_replay_result_free(&r);
	o.tlb_entries = 5;
	KASSERT_EQ(sim_replay_run(p, NULL, &o, &r), 0);
	KEXPECT_EQ(r.tlb_entries, 5);
	KEXPECT_EQ(r.tlb_part[0], '\0');
	sim_replay_result_free(&r);
	o = (struct sim_replay_options){ .tlb_part = "zen9" };
	KEXPECT_EQ(sim_replay_run(p, NULL, &o, &r), SNP_EINVAL);
	KEXPECT(strstr(r.error, "unknown TLB part 'zen9'"));
}

/* ---- the property test: random runs, recorded whole and filtered ---- */

#define PT_CPUS     3
#define PT_MEM      (16 * SNP_MiB)
#define PT_REGIONS  (PT_MEM / SNP_PMD_SIZE)
#define PT_VMCBS    12

struct pt_event {
	struct snp_trace_event ev;
	bool kept;                    /* the in-guest recorder keeps it */
};

struct pt_run {
	struct pt_event *e;
	size_t n, cap;
	uint64_t stores, dropped;
	enum snp_trace_level leaf[PT_REGIONS];
	uint64_t vmcb[PT_VMCBS];
	int in_guest[PT_CPUS];        /* index of the VMCB run, or -1 */
	unsigned int hot[PT_REGIONS]; /* the plugin's count: VMRUN pages of CPUs in guest mode */
	uint64_t hsave[PT_CPUS];
	unsigned int seed;
};

static unsigned int pt_rand(struct pt_run *run, unsigned int n)
{
	return (unsigned int)rand_r(&run->seed) % n;
}

static void pt_add(struct pt_run *run, struct snp_trace_event ev, bool kept)
{
	if (run->n == run->cap) {
		run->cap = run->cap ? 2 * run->cap : 256;
		run->e = realloc(run->e, run->cap * sizeof(*run->e));
		KASSERT(run->e);
	}
	ev.t_ns = 1000 * (run->n + 1);
	run->e[run->n++] = (struct pt_event){ .ev = ev, .kept = kept };
}

/* The plugin's hot regions: a CPU in guest mode holds its VMCB's and its save area's. */
static void pt_heat(struct pt_run *run, unsigned int cpu, int delta)
{
	run->hot[run->vmcb[run->in_guest[cpu]] / SNP_PMD_SIZE] += (unsigned int)delta;
	run->hot[run->hsave[cpu] / SNP_PMD_SIZE] += (unsigned int)delta;
}

/* Is VMCB v's page (two pool entries may share one) running on some CPU? */
static bool pt_running(const struct pt_run *run, int v)
{
	for (unsigned int c = 0; c < PT_CPUS; c++)
		if (run->in_guest[c] >= 0 && run->vmcb[run->in_guest[c]] == run->vmcb[v])
			return true;
	return false;
}

static void pt_vmrun(struct pt_run *run, unsigned int cpu)
{
	static const int ctl[] = { SNP_TLBCTL_NOTHING, SNP_TLBCTL_FLUSH_ALL, SNP_TLBCTL_FLUSH_ASID,
				   SNP_TLBCTL_FLUSH_ASID_NONGLOBAL, -1 };
	int v = (int)pt_rand(run, PT_VMCBS), c = ctl[pt_rand(run, 5)];

	if (pt_running(run, v))
		return;
	pt_add(run, (struct snp_trace_event){ .type = SNP_TR_VMRUN, .cpu = (uint8_t)cpu,
					      .arg = (uint8_t)(c < 0 ? 0 : c),
					      .level = c < 0 ? 0 : SNP_TRACE_TLBCTL_READ,
					      .pa = run->vmcb[v], .pc = 0xffffffffc0a01000ULL }, true);
	run->in_guest[cpu] = v;
	pt_heat(run, cpu, +1);
}

static void pt_vmexit(struct pt_run *run, unsigned int cpu)
{
	pt_heat(run, cpu, -1);
	run->in_guest[cpu] = -1;
	pt_add(run, (struct snp_trace_event){ .type = SNP_TR_VMEXIT, .cpu = (uint8_t)cpu,
					      .pc = 0xffffffffc0a01003ULL }, true);
}

/* A store, near a VMCB half the time; kept when either end's region is hot (the plugin's rule). */
static void pt_store(struct pt_run *run, unsigned int cpu)
{
	uint64_t pa = pt_rand(run, 2) ? run->vmcb[pt_rand(run, PT_VMCBS)] + pt_rand(run, 8) * SNP_PAGE_SIZE
				      : (uint64_t)pt_rand(run, (unsigned int)(PT_MEM / 8)) * 8;
	unsigned int bytes = 1 + pt_rand(run, 64);
	enum snp_trace_level level;
	bool kept;

	pa += pt_rand(run, 4) ? 0 : SNP_PAGE_SIZE - 4;          /* sometimes across two pages */
	if (pa + bytes > PT_MEM)
		pa = PT_MEM - bytes;
	/* A failed walk now and then, where the leaf is 2M: one leaf size per region (A1). */
	level = run->leaf[pa / SNP_PMD_SIZE];
	if (level == SNP_TRL_2M && !pt_rand(run, 10))
		level = SNP_TRL_UNKNOWN;
	kept = run->hot[pa / SNP_PMD_SIZE] || run->hot[(pa + bytes - 1) / SNP_PMD_SIZE];
	run->stores++;
	run->dropped += !kept;
	pt_add(run, (struct snp_trace_event){ .type = SNP_TR_STORE, .cpu = (uint8_t)cpu,
					      .arg = (uint8_t)bytes, .level = (uint8_t)level, .pa = pa,
					      .va = TU_DMAP_BASE + pa, .pc = TU_PC_MEMSET }, kept);
}

static void pt_flush(struct pt_run *run, unsigned int cpu)
{
	uint64_t va = TU_DMAP_BASE + run->vmcb[pt_rand(run, PT_VMCBS)] + pt_rand(run, 16) * SNP_PAGE_SIZE;
	struct snp_trace_event ev = { .type = SNP_TR_FLUSH, .cpu = (uint8_t)cpu, .va = UINT64_MAX };

	switch (pt_rand(run, 6)) {
	case 0: ev.arg = SNP_TRF_INVLPG; ev.va = va; break;
	case 1: ev.arg = SNP_TRF_INVLPG; break;                       /* not decoded */
	case 2: ev.arg = SNP_TRF_INVPCID; ev.len = pt_rand(run, 4); ev.va = va; break;
	case 3: ev.arg = SNP_TRF_CR4; ev.va = 1u << 7; ev.pa = pt_rand(run, 2) << 7; break;
	case 4: ev.arg = SNP_TRF_INVLPGA; ev.va = va; ev.len = pt_rand(run, 2); break;
	default: ev.arg = SNP_TRF_CR3; ev.va = 0; ev.pa = 0x1000; break;
	}
	pt_add(run, ev, true);
}

/* A random run of 2-3 CPUs over 8 regions of fixed leaves, stores before marks warming the TLBs. */
static void pt_generate(struct pt_run *run, unsigned int seed, unsigned int steps)
{
	memset(run, 0, sizeof(*run));
	run->seed = seed;
	for (unsigned int r = 0; r < PT_REGIONS; r++)
		run->leaf[r] = pt_rand(run, 4) ? SNP_TRL_2M : SNP_TRL_4K;
	for (unsigned int v = 0; v < PT_VMCBS; v++)   /* a third of them 2MB-aligned */
		run->vmcb[v] = (1 + pt_rand(run, PT_REGIONS - 1)) * SNP_PMD_SIZE +
			       (v % 3 ? (1 + pt_rand(run, 511)) * SNP_PAGE_SIZE : 0);
	for (unsigned int c = 0; c < PT_CPUS; c++) {
		run->in_guest[c] = -1;
		run->hsave[c] = 0x100000 + c * SNP_PAGE_SIZE;
		pt_add(run, (struct snp_trace_event){ .type = SNP_TR_HSAVE, .cpu = (uint8_t)c,
						      .pa = run->hsave[c] }, true);
	}
	for (unsigned int i = 0; i < steps; i++) {
		unsigned int cpu = pt_rand(run, PT_CPUS), what = pt_rand(run, 10);

		if (run->in_guest[cpu] >= 0) {
			if (what < 4)
				pt_vmexit(run, cpu);
		} else if (what < 2) {
			pt_vmrun(run, cpu);
		} else if (what < 8) {
			pt_store(run, cpu);
		} else {
			pt_flush(run, cpu);
		}
	}
}

/* The run as the recorder with filter all (every store) or in-guest would have written it. */
static void pt_write(const struct pt_run *run, const char *path, enum snp_trace_filter filter,
		     uint32_t version)
{
	struct tu b;
	bool all = filter == SNP_TRACE_FILTER_ALL;

	tu_open_ex(&b, path, PT_CPUS, PT_MEM, version, filter);
	for (size_t i = 0; i < run->n; i++) {
		struct snp_trace_event ev = run->e[i].ev;

		if (!all && !run->e[i].kept)
			continue;
		if (version == 1 && ev.type == SNP_TR_VMRUN)
			ev.arg = ev.level = 0;
		KASSERT_EQ(snp_trace_write(b.w, &ev), 0);
	}
	KASSERT_EQ(snp_trace_writer_close(b.w, run->stores, all ? 0 : run->dropped), 0);
}

/* lower <= every point <= upper, counted the same way, nothing refused. */
static void pt_check_nested(const struct sim_replay_result *r, unsigned int seed, const char *what)
{
	const struct sim_replay_count *lo = &r->bound[SIM_REPLAY_PROVEN];
	const struct sim_replay_count *hi = &r->bound[SIM_REPLAY_POSSIBLE];

	if (lo->faults > r->model.faults || r->model.faults > hi->faults || lo->spurious > hi->spurious ||
	    lo->real > hi->real || r->refused)
		ktap_fail(__FILE__, __LINE__, "seed %u %s: proven %llu, model %llu, possible %llu, "
			  "refused %llu (%s)", seed, what, (unsigned long long)lo->faults,
			  (unsigned long long)r->model.faults, (unsigned long long)hi->faults,
			  (unsigned long long)r->refused, r->first_refusal);
}

struct pt_totals {
	uint64_t runs, proven, possible, proven_v1, dropped, stores;
};

static void pt_one(unsigned int seed, struct pt_totals *tot)
{
	static const unsigned int tlbs[] = { 1, 2, 3, 4, 8, 0 };
	const char *whole = tu_path("pt-all.trace"), *kept = tu_path("pt-inguest.trace"),
		   *old = tu_path("pt-v1.trace");
	struct sim_replay_result rw, rk, rv;
	struct pt_run run;

	pt_generate(&run, seed, 300);
	pt_write(&run, whole, SNP_TRACE_FILTER_ALL, 0);
	pt_write(&run, kept, SNP_TRACE_FILTER_INGUEST, 0);
	pt_write(&run, old, SNP_TRACE_FILTER_INGUEST, 1);
	for (size_t i = 0; i < KTAP_ARRAY_SIZE(tlbs); i++) {
		rw = replay_knob(whole, NULL, tlbs[i], 0);
		rk = replay_knob(kept, NULL, tlbs[i], 0);
		pt_check_nested(&rw, seed, "whole run");
		pt_check_nested(&rk, seed, "filtered");
		/* The bounds do not depend on what the filter dropped: equal, not only overlapping. */
		if (proven(&rk) != proven(&rw) || possible(&rk) != possible(&rw))
			ktap_fail(__FILE__, __LINE__, "seed %u TLB %u: filtered %llu..%llu, whole %llu..%llu",
				  seed, tlbs[i], (unsigned long long)proven(&rk),
				  (unsigned long long)possible(&rk), (unsigned long long)proven(&rw),
				  (unsigned long long)possible(&rw));
		/* What the filtered trace proves, a TLB that saw the whole run takes too. */
		if (proven(&rk) > rw.model.faults || possible(&rk) < rw.model.faults)
			ktap_fail(__FILE__, __LINE__, "seed %u TLB %u: filtered %llu..%llu, whole run's TLB %llu",
				  seed, tlbs[i], (unsigned long long)proven(&rk),
				  (unsigned long long)possible(&rk), (unsigned long long)rw.model.faults);
		if (!tlbs[i]) {
			tot->proven += proven(&rk);
			tot->possible += possible(&rk);
		}
		sim_replay_result_free(&rw);
		sim_replay_result_free(&rk);
	}
	/* Without TLB_CONTROL fewer fills are proven, never more; the possible ones are the same. */
	rv = replay_knob(old, NULL, 0, 0);
	rk = replay_knob(kept, NULL, 0, 0);
	pt_check_nested(&rv, seed, "version 1");
	if (proven(&rv) > proven(&rk) || possible(&rv) != possible(&rk))
		ktap_fail(__FILE__, __LINE__, "seed %u: version 1 %llu..%llu, version 2 %llu..%llu", seed,
			  (unsigned long long)proven(&rv), (unsigned long long)possible(&rv),
			  (unsigned long long)proven(&rk), (unsigned long long)possible(&rk));
	tot->proven_v1 += proven(&rv);
	sim_replay_result_free(&rv);
	sim_replay_result_free(&rk);
	/* Marks outliving #VMEXIT: the filtered upper bound is flagged; its lower one still holds. */
	rk = replay_knob(kept, "inuse_cleared_at_vmexit=off", 4, 0);
	rw = replay_knob(whole, "inuse_cleared_at_vmexit=off", 4, 0);
	KEXPECT(rk.upper_incomplete[0] && !rw.upper_incomplete[0]);
	if (proven(&rk) > rw.model.faults || proven(&rk) > proven(&rw))
		ktap_fail(__FILE__, __LINE__, "seed %u stale marks: filtered proven %llu, whole %llu..%llu",
			  seed, (unsigned long long)proven(&rk), (unsigned long long)proven(&rw),
			  (unsigned long long)rw.model.faults);
	sim_replay_result_free(&rk);
	sim_replay_result_free(&rw);
	tot->runs++;
	tot->dropped += run.dropped;
	tot->stores += run.stores;
	free(run.e);
}

static void bounds_property_filtered_and_whole(void)
{
	struct pt_totals tot = { 0 };

	for (unsigned int seed = 1; seed <= 120; seed++)
		pt_one(seed, &tot);
	ktap_log("%llu runs: %llu of %llu stores dropped by the filter; proven %llu, possible %llu "
		 "(Milan TLB); proven without TLB_CONTROL %llu", (unsigned long long)tot.runs,
		 (unsigned long long)tot.dropped, (unsigned long long)tot.stores,
		 (unsigned long long)tot.proven, (unsigned long long)tot.possible,
		 (unsigned long long)tot.proven_v1);
	/* The runs exercise what they test: drops, proofs, and faults left possible. */
	KEXPECT(tot.dropped > 0 && tot.dropped < tot.stores);
	KEXPECT(tot.proven > 0 && tot.proven < tot.possible);
	KEXPECT(tot.proven_v1 < tot.proven);
}

static const struct ktap_case cases[] = {
	KTAP_CASE(bounds_flush_after_mark),
	KTAP_CASE(bounds_flush_before_mark),
	KTAP_CASE(bounds_tlb_control),
	KTAP_CASE(bounds_old_trace),
	KTAP_CASE(bounds_4k_inuse_write),
	KTAP_CASE(bounds_leaf_mixed),
	KTAP_CASE(bounds_loads_refused),
	KTAP_CASE(bounds_upper_incomplete),
	KTAP_CASE(bounds_tlb_parts),
	KTAP_CASE(bounds_property_filtered_and_whole),
	{ "teardown_case", tu_dir_teardown, 0 },
};

int main(void)
{
	tu_dir_setup("snpsafe-test-replay-bounds");
	return ktap_main("replay_bounds", cases, KTAP_ARRAY_SIZE(cases));
}
