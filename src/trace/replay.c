// SPDX-License-Identifier: MIT
/*
 * replay.c - a watch trace (snpsafe/trace.h) driven through the hardware
 * model in src/hw: the recorded kernel's VMRUNs, exits, host save areas, TLB
 * flushes and direct-map stores become the model's VMRUN, #VMEXIT, WRMSR,
 * TLB flushes and host writes.  Each store is judged three ways: possible
 * (the RMP checked on every access: the upper bound), proven (a TLB fill the
 * recording forces, replay_bounds.c: the lower bound), and by the modeled
 * TLB of the part's size (a point between).  docs/REPLAY.md tells what each
 * record becomes and why.
 *
 * The recorded guests are plain SVM guests of a host without SNP: nothing
 * in the modeled RMP is ever assigned, so every page is Hypervisor-Owned and
 * the only rules that can fire are the in-use ones (INUSE_WRITE and the
 * erratum).  That is the question: which real store would have faulted on
 * an SNP-enabled host of the profile's kind.
 */
#include <snpsafe/replay.h>
#include <snpsafe/common.h>

#include "replay_bounds.h"
#include "replay_rate.h"

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CR4_PGE   (1ULL << 7)
#define CR4_PCIDE (1ULL << 17)
#define NO_VA     UINT64_MAX   /* a flush whose address was not decoded */
/* The trace names no ASID; VMRUN needs a non-zero one (APM consistency check). */
#define REPLAY_ASID 1

#define DEFAULT_TLB_PART "milan"

static const char *const bound_names[SIM_REPLAY_NR_BOUNDS] = {
	[SIM_REPLAY_PROVEN] = "proven", [SIM_REPLAY_POSSIBLE] = "possible",
};

const char *sim_replay_bound_name(enum sim_replay_bound b)
{
	return (unsigned int)b < SIM_REPLAY_NR_BOUNDS ? bound_names[b] : "?";
}

static const char *const kind_names[SIM_REPLAY_NR_KINDS] = {
	[SIM_REPLAY_VMCB] = "VMCB", [SIM_REPLAY_VMSA] = "VMSA", [SIM_REPLAY_AVIC] = "AVIC",
	[SIM_REPLAY_HSAVE] = "hsave", [SIM_REPLAY_NO_INUSE] = "none",
};

const char *sim_replay_kind_name(enum sim_replay_kind k)
{
	return (unsigned int)k < SIM_REPLAY_NR_KINDS ? kind_names[k] : "?";
}

/* A VMRUN read, waiting for the VMRUN_PAGE records that follow it. */
struct pending_run {
	bool on;
	uint64_t seq;
	uint64_t rec;             /* its record number, for a refusal */
	snp_spa_t vmcb_pa;
	snp_pfn_t vmsa, avic;
	int tlbctl;               /* TLB_CONTROL as recorded, or -1 (not read, or version 1) */
};

/* The pages a CPU's run may hold in-use: VMCB, VMSA, AVIC page, host save area. */
#define RUN_PAGES 4

struct replay {
	struct snp_machine *m;
	const struct snp_profile *prof;       /* the machine's live profile */
	struct rb *bounds;
	struct rr_table *rates;               /* each VMCB's VMRUN rate (a stuck vCPU) */
	struct snp_trace *t;
	const struct snp_trace_info *info;
	const struct sim_replay_options *opt;
	struct sim_replay_result *r;
	uint64_t mem;                         /* the machine's memory */
	uint64_t rec;                         /* number of the record being applied */
	uint64_t seq;
	struct pending_run pend[SNP_TRACE_MAX_CPUS];
	bool run_refused[SNP_TRACE_MAX_CPUS]; /* the model refused this CPU's last VMRUN */
	snp_pfn_t run_pages[SNP_TRACE_MAX_CPUS][RUN_PAGES];  /* of its last run entered */
	snp_pfn_t hsave[SNP_TRACE_MAX_CPUS];  /* its host save area now */
	const char **func_key;                /* per funcs[i]: the reader's symbol name, or NULL */
	size_t cap_funcs, last_func;
	bool nomem;
};

static void refuse(struct replay *rp, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void refuse(struct replay *rp, const char *fmt, ...)
{
	struct sim_replay_result *r = rp->r;
	char what[150];
	va_list ap;

	if (r->refused++)
		return;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	snprintf(r->first_refusal, sizeof(r->first_refusal), "record %" PRIu64 ": %s", rp->rec, what);
}

/* Event times of the bounds (replay_bounds.h): two per record, a VMRUN's flush second. */
static uint64_t now(const struct replay *rp)
{
	return 2 * rp->rec;
}

/* ---- per-function counts ------------------------------------------------------------ */

/*
 * The function entry of pc: the last SYM at or below pc (kallsyms has no
 * sizes), keyed by the reader's name pointer, which lives as long as the
 * reader.  NULL only when out of memory.
 */
static struct sim_replay_func *func_of(struct replay *rp, uint64_t pc)
{
	struct sim_replay_result *r = rp->r;
	const char *key = snp_trace_symbol(rp->t, pc, NULL);
	size_t i;

	if (rp->last_func < r->nr_funcs && rp->func_key[rp->last_func] == key)
		return &r->funcs[rp->last_func];
	for (i = 0; i < r->nr_funcs; i++)
		if (rp->func_key[i] == key)
			break;
	if (i == r->nr_funcs) {
		if (r->nr_funcs == rp->cap_funcs) {
			size_t cap = rp->cap_funcs ? 2 * rp->cap_funcs : 32;
			struct sim_replay_func *f = realloc(r->funcs, cap * sizeof(*f));
			const char **k = f ? realloc(rp->func_key, cap * sizeof(*k)) : NULL;

			if (f)
				r->funcs = f;
			if (!k) {
				rp->nomem = true;
				return NULL;
			}
			rp->func_key = k;
			rp->cap_funcs = cap;
		}
		memset(&r->funcs[i], 0, sizeof(r->funcs[i]));
		snprintf(r->funcs[i].name, sizeof(r->funcs[i].name), "%s", key ? key : "(no symbol)");
		r->funcs[i].observer = sim_replay_observer_source(key) != NULL;
		r->observer.functions += r->funcs[i].observer;
		rp->func_key[i] = key;
		r->nr_funcs++;
	}
	rp->last_func = i;
	return &r->funcs[i];
}

static SNP_MUST_CHECK int cmp_func(const void *a, const void *b)
{
	const struct sim_replay_func *x = a, *y = b;

	for (int k = SIM_REPLAY_POSSIBLE; k >= SIM_REPLAY_PROVEN; k--)
		if (x->faults[k] != y->faults[k])
			return x->faults[k] > y->faults[k] ? -1 : 1;
	if (x->stores != y->stores)
		return x->stores > y->stores ? -1 : 1;
	return strcmp(x->name, y->name);
}

/* ---- VMRUN, #VMEXIT, host save area --------------------------------------------------- */

static bool pa_in_memory(const struct replay *rp, snp_spa_t pa)
{
	return pa < rp->mem;
}

/*
 * wrmsr(MSR_VM_HSAVE_PA) as recorded: 0 unsets the save area (the MSR's
 * reset value; svm_hardware_disable() writes it on the way down).
 */
static void apply_hsave(struct replay *rp, const struct snp_trace_event *ev)
{
	int ret;

	rp->r->hsave_writes++;
	rp->r->hsave_cleared += ev->pa == 0;
	rp->hsave[ev->cpu] = ev->pa && pa_in_memory(rp, ev->pa) ? snp_phys_to_pfn(ev->pa) : SNP_NO_PAGE;
	ret = snp_wrmsr_hsave_pa(rp->m, ev->cpu, ev->pa ? snp_phys_to_pfn(ev->pa) : SNP_HSAVE_UNSET);
	if (ret == SNP_EFAULT)
		refuse(rp, "WRMSR VM_HSAVE_PA 0x%" PRIx64 " on CPU %u: #GP (not Hypervisor-Owned)",
		       ev->pa, ev->cpu);
	else if (ret)
		refuse(rp, "host save area 0x%" PRIx64 " of CPU %u outside the trace's memory",
		       ev->pa, ev->cpu);
}

/* A VMRUN the model ran and failed: #GP or VMEXIT_INVALID, the first one named. */
static void vmrun_failed(struct replay *rp, unsigned int cpu, const struct pending_run *p,
			 const struct snp_vmrun_result *res)
{
	struct sim_replay_result *r = rp->r;

	if (r->vmruns_failed++)
		return;
	snprintf(r->first_vmrun_failure, sizeof(r->first_vmrun_failure),
		 "record %" PRIu64 ": VMRUN of VMCB 0x%" PRIx64 " on CPU %u: %s (%s)", rp->rec,
		 p->vmcb_pa, cpu, snp_vmrun_check_name(res->check),
		 res->exc.vector == SNP_EXC_GP ? "#GP" : "VMEXIT_INVALID");
}

static void vmrun_refused(struct replay *rp, unsigned int cpu, const struct pending_run *p, int ret)
{
	if (ret == SNP_ERANGE)
		refuse(rp, "VMRUN on CPU %u names a page outside the trace's memory", cpu);
	else if (ret == SNP_EBUSY && snp_cpu_in_guest(rp->m, cpu) > 0)
		refuse(rp, "VMRUN on CPU %u, which is in guest mode (no #VMEXIT recorded)", cpu);
	else if (ret == SNP_EBUSY)
		refuse(rp, "VMRUN on CPU %u of VMCB 0x%" PRIx64 ", running on another CPU", cpu,
		       p->vmcb_pa);
	else
		refuse(rp, "VMRUN on CPU %u: %s", cpu, snp_strerror(ret));
}

/*
 * Tell the bounds which of pages changed their in-use mark at this record:
 * the model's RMP says what each is now.
 */
static void sync_marks(struct replay *rp, const snp_pfn_t *pages)
{
	for (int i = 0; i < RUN_PAGES; i++) {
		struct snp_rmpentry e;

		if (pages[i] == SNP_NO_PAGE ||
		    snp_rmp_query(snp_machine_rmp(rp->m), snp_pfn_to_phys(pages[i]), &e))
			continue;
		if (rb_set_inuse(rp->bounds, pages[i], e.in_use, now(rp)))
			rp->nomem = true;
	}
}

/*
 * VMRUN's TLB_CONTROL (APM Vol. 2 15.16.1, Table 15-9): 1 flushes the TLB
 * "for all ASIDs, for both global and non-global pages", the host's direct
 * map too; 3 and 7 flush only the guest's ASID.  Applied once the run
 * entered, after its marks: the CPU is in guest mode from then on.
 */
static void apply_tlbctl(struct replay *rp, unsigned int cpu, const struct pending_run *p,
			 bool entered)
{
	struct sim_replay_tlbctl *c = &rp->r->tlbctl;

	if (!c->recorded)
		return;
	if (!entered || p->tlbctl < 0) {
		c->unknown++;
	} else if (p->tlbctl == SNP_TLBCTL_FLUSH_ALL) {
		c->flush_all++;
		if (snp_tlb_flush_all(rp->m, cpu) == 0)
			rp->r->flushes_applied++;
		rb_flush_all(rp->bounds, cpu, now(rp) + 1);
	} else if (p->tlbctl == SNP_TLBCTL_FLUSH_ASID || p->tlbctl == SNP_TLBCTL_FLUSH_ASID_NONGLOBAL) {
		c->guest_only++;
	} else if (p->tlbctl == SNP_TLBCTL_NOTHING) {
		c->nothing++;
	} else {
		c->unknown++;       /* reserved: assume nothing of it */
	}
}

/*
 * The model's VMRUN of a pending run.  A recorded VMSA makes the guest
 * SEV-ES (the VMSA is only read with SEV-ES enabled in the VMCB): the model
 * then checks it Hypervisor-Owned, as Table 15-41 says for non-SNP guests.
 */
static void commit_run(struct replay *rp, unsigned int cpu)
{
	struct pending_run *p = &rp->pend[cpu];
	uint64_t rec = rp->rec;
	struct snp_vmrun_result res;
	char label[40];
	struct snp_vmrun_args a = {
		.vmcb = snp_phys_to_pfn(p->vmcb_pa), .vmsa = p->vmsa, .avic = p->avic,
		.type = p->vmsa != SNP_NO_PAGE ? SNP_GUEST_SEV_ES : SNP_GUEST_SVM,
		.asid = REPLAY_ASID, .label = label,
	};
	const snp_pfn_t pages[RUN_PAGES] = { a.vmcb, a.vmsa, a.avic, rp->hsave[cpu] };
	bool entered;
	int ret;

	p->on = false;
	rp->rec = p->rec;
	snprintf(label, sizeof(label), "VMCB 0x%" PRIx64, p->vmcb_pa);
	ret = snp_vmrun(rp->m, cpu, &a, &res);
	entered = !ret && res.outcome == SNP_VMRUN_ENTERED;
	rp->run_refused[cpu] = !entered;
	if (entered) {
		rp->r->vmruns_entered++;
		/* A stale run's marks went, this run's came. */
		sync_marks(rp, rp->run_pages[cpu]);
		sync_marks(rp, pages);
		memcpy(rp->run_pages[cpu], pages, sizeof(pages));
		rb_enter_guest(rp->bounds, cpu, now(rp));
	} else if (!ret || ret == SNP_EFAULT) {
		vmrun_failed(rp, cpu, p, &res);
	} else {
		vmrun_refused(rp, cpu, p, ret);
	}
	apply_tlbctl(rp, cpu, p, entered);
	rp->rec = rec;
}

/* Commit every pending VMRUN, oldest first. */
static void commit_pending(struct replay *rp)
{
	for (;;) {
		unsigned int best = SNP_TRACE_MAX_CPUS;

		for (unsigned int c = 0; c < rp->info->nr_cpus; c++)
			if (rp->pend[c].on && (best == SNP_TRACE_MAX_CPUS ||
					       rp->pend[c].seq < rp->pend[best].seq))
				best = c;
		if (best == SNP_TRACE_MAX_CPUS)
			return;
		commit_run(rp, best);
	}
}

/*
 * The time with a guest running, from the recorded VMRUNs and #VMEXITs
 * (whatever the model made of them): a CPU is in guest mode from its VMRUN
 * to its next #VMEXIT.
 */
static void region_enter(struct sim_replay_region_stores *g, const struct snp_trace_event *ev)
{
	if (!g->ran) {
		g->ran = true;
		g->first_vmrun_ns = ev->t_ns;
	}
	if (g->in_guest[ev->cpu])
		return;
	g->in_guest[ev->cpu] = true;
	if (!g->nr_in_guest++)
		g->since_ns = ev->t_ns;
}

static void region_exit(struct sim_replay_region_stores *g, const struct snp_trace_event *ev)
{
	if (!g->in_guest[ev->cpu])
		return;
	g->in_guest[ev->cpu] = false;
	g->last_vmexit_ns = ev->t_ns > g->last_vmexit_ns ? ev->t_ns : g->last_vmexit_ns;
	if (!--g->nr_in_guest && ev->t_ns > g->since_ns)
		g->guest_ns += ev->t_ns - g->since_ns;
}

static void apply_vmrun(struct replay *rp, const struct snp_trace_event *ev)
{
	rp->r->vmruns++;
	region_enter(&rp->r->region, ev);
	if (rr_vmrun(rp->rates, ev->pa, ev->t_ns))
		rp->nomem = true;
	if (rp->pend[ev->cpu].on)
		commit_run(rp, ev->cpu);
	rp->pend[ev->cpu] = (struct pending_run){ .on = true, .seq = rp->seq++, .rec = rp->rec,
						  .vmcb_pa = ev->pa, .vmsa = SNP_NO_PAGE,
						  .avic = SNP_NO_PAGE,
						  .tlbctl = ev->level == SNP_TRACE_TLBCTL_READ ? ev->arg : -1 };
}

static void apply_vmrun_page(struct replay *rp, const struct snp_trace_event *ev)
{
	struct pending_run *p = &rp->pend[ev->cpu];

	rp->r->vmrun_pages++;
	if (!p->on) {
		refuse(rp, "VMRUN page on CPU %u without a VMRUN before it", ev->cpu);
		return;
	}
	if (ev->arg == SNP_TRP_VMSA)
		p->vmsa = snp_phys_to_pfn(ev->pa);
	else
		p->avic = snp_phys_to_pfn(ev->pa);
}

static void apply_vmexit(struct replay *rp, const struct snp_trace_event *ev)
{
	rp->r->vmexits++;
	region_exit(&rp->r->region, ev);
	if (snp_vmexit(rp->m, ev->cpu) == 0) {
		rb_exit_guest(rp->bounds, ev->cpu);
		sync_marks(rp, rp->run_pages[ev->cpu]);
		return;
	}
	/* The exit of a run the model refused (counted there) or failed. */
	if (rp->run_refused[ev->cpu])
		rp->run_refused[ev->cpu] = false;
	else
		refuse(rp, "#VMEXIT on CPU %u, which is not in guest mode", ev->cpu);
}

/* ---- TLB flushes -------------------------------------------------------------------- */

/*
 * A flush's effect on a CPU's host entries, as the modeled TLB applies it
 * (where the architecture allows either, the choice that drops more) and
 * as the bounds may rely on it (only what certainly drops them).
 */
enum flush_effect { FLUSH_NONE, FLUSH_ADDR, FLUSH_ALL };

struct flush_rule {
	enum flush_effect model, certain;
};

/*
 * The model's TLBs hold only the direct map, whose entries are global
 * (_PAGE_GLOBAL; AMD hosts run without PTI) and the host's (ASID 0).  MOV
 * CR3 keeps them.  A CR4.PGE flip drops them (APM Vol. 2 15.16.1: "MOV CR4
 * instruction flushes global and non-global mappings"); CR4.PCIDE 1->0
 * drops everything per the Intel SDM, which the APM does not say: the model
 * only.  INVLPG drops its address; INVLPGA a guest ASID's entry, none of
 * the host's (ASID 0 is the host's: as INVLPG).  INVPCID (Intel SDM 4.10.4.1)
 * type 2 drops everything; types 0, 1 and 3 keep global entries but "may"
 * drop them too: the model drops (0 its address, 1 and 3 all), the bounds
 * do not.  An address not decoded is every address for the model, none for
 * the bounds.
 */
static struct flush_rule flush_rule_of(const struct snp_trace_event *ev)
{
	const bool addr = ev->va != NO_VA;

	switch (ev->arg) {
	case SNP_TRF_CR4:
		if ((ev->va ^ ev->pa) & CR4_PGE)
			return (struct flush_rule){ FLUSH_ALL, FLUSH_ALL };
		if ((ev->va & CR4_PCIDE) && !(ev->pa & CR4_PCIDE))
			return (struct flush_rule){ FLUSH_ALL, FLUSH_NONE };
		break;
	case SNP_TRF_INVLPGA:
		if (ev->len != 0)
			break;
		/* fall through */
	case SNP_TRF_INVLPG:	/* and INVLPGA of ASID 0, the host's */
		return (struct flush_rule){ addr ? FLUSH_ADDR : FLUSH_ALL, addr ? FLUSH_ADDR : FLUSH_NONE };
	case SNP_TRF_INVPCID:
		if (ev->len == 2)
			return (struct flush_rule){ FLUSH_ALL, FLUSH_ALL };
		return (struct flush_rule){ ev->len == 0 && addr ? FLUSH_ADDR : FLUSH_ALL, FLUSH_NONE };
	}
	return (struct flush_rule){ FLUSH_NONE, FLUSH_NONE };
}

static void apply_flush(struct replay *rp, const struct snp_trace_event *ev)
{
	const struct flush_rule f = flush_rule_of(ev);
	uint64_t off = ev->va - rp->info->direct_map_base;
	/* Only a direct-map address can drop a direct-map entry. */
	bool in_map = ev->va >= rp->info->direct_map_base && off < rp->mem;
	unsigned int cpu = ev->cpu;

	rp->r->flushes++;
	/* The plugin sees a guest's flushes too: they drop that guest's entries, not the host's. */
	if (snp_cpu_in_guest(rp->m, cpu) > 0) {
		rp->r->flushes_in_guest++;
		return;
	}
	if (f.model == FLUSH_ALL && snp_tlb_flush_all(rp->m, cpu) == 0)
		rp->r->flushes_applied++;
	if (f.model == FLUSH_ADDR && in_map &&
	    snp_tlb_flush_one(rp->m, cpu, SNP_PAGE_OFFSET + off) == 0)
		rp->r->flushes_applied++;
	if (f.certain == FLUSH_ALL)
		rb_flush_all(rp->bounds, cpu, now(rp));
	if (f.certain == FLUSH_ADDR && in_map)
		rb_flush_page(rp->bounds, cpu, snp_phys_to_pfn(off), now(rp));
}

/* ---- stores --------------------------------------------------------------------------- */

/* The recorded leaf; an unknown one (a failed walk) is judged as the boot direct map's 1G. */
static enum snp_map_size leaf_of(uint8_t level)
{
	return level == SNP_TRL_4K ? SNP_MAP_4K : level == SNP_TRL_2M ? SNP_MAP_2M : SNP_MAP_1G;
}

/* The in-use page behind a fault, and the run that marked it. */
static enum sim_replay_kind fault_kind(const struct replay *rp, const struct snp_fault_record *f,
				       struct snp_inuse_holder *h, bool *have)
{
	snp_pfn_t pfn = snp_phys_to_pfn(f->pa);

	*have = false;
	if (f->rule == SNP_RULE_ERRATUM_2M_BASE_INUSE)
		pfn = snp_pfn_2m_base(pfn);
	else if (f->rule != SNP_RULE_INUSE_WRITE && f->rule != SNP_RULE_INUSE_READ)
		return SIM_REPLAY_NO_INUSE;
	if (snp_inuse_holder(rp->m, pfn, h) <= 0)
		return SIM_REPLAY_NO_INUSE;
	*have = true;
	switch (h->role) {
	case SNP_ROLE_VMCB: return SIM_REPLAY_VMCB;
	case SNP_ROLE_VMSA: return SIM_REPLAY_VMSA;
	case SNP_ROLE_AVIC: return SIM_REPLAY_AVIC;
	/* A trace names no PML buffer: replay's VMRUNs leave pml_enable off. */
	default:            return SIM_REPLAY_HSAVE;
	}
}

static void add_report(struct replay *rp, const struct snp_trace_event *ev, snp_spa_t pa,
		       const struct snp_fault_record *f, enum sim_replay_kind kind,
		       const struct snp_inuse_holder *h, bool have)
{
	struct sim_replay_result *r = rp->r;
	struct sim_replay_report *rep = &r->reports[r->nr_reports++];
	uint64_t off = 0;
	const char *name = snp_trace_symbol(rp->t, ev->pc, &off);

	memset(rep, 0, sizeof(*rep));
	rep->fault = *f;
	/* The address the real kernel used, not the model's direct map. */
	rep->fault.va = ev->va ? ev->va + (pa - ev->pa) : rp->info->direct_map_base + pa;
	rep->record = rp->rec;
	rep->t_ns = ev->t_ns;
	rep->pc = ev->pc;
	if (name)
		snprintf(rep->func, sizeof(rep->func), "%s+0x%" PRIx64, name, off);
	rep->observer = sim_replay_observer_source(name) != NULL;
	rep->bytes = ev->arg;
	rep->level = (enum snp_trace_level)ev->level;
	rep->kind = kind;
	rep->have_holder = have;
	if (have)
		rep->holder = *h;
}

static void count_fault(struct sim_replay_count *c, const struct snp_fault_record *f,
			enum sim_replay_kind kind)
{
	c->faults++;
	c->spurious += f->spurious;
	c->real += !f->spurious;
	c->by_rule[(unsigned int)f->rule < SNP_RULE_NR ? f->rule : SNP_RULE_NONE]++;
	c->by_kind[kind]++;
}

/* The fault the last access raised, taken off the machine's log (one at a time: it never fills). */
static void take_fault(struct replay *rp, struct snp_fault_record *f)
{
	if (snp_fault_last(rp->m, f))
		memset(f, 0, sizeof(*f));
	snp_fault_clear(rp->m);
}

/*
 * A possible fault f (the RMP checked at this access fails): counted in the
 * upper bound, in the lower one if the bounds prove the fill, in the point
 * if the modeled TLB faulted too, and reported with its label.
 */
static void on_possible(struct replay *rp, const struct snp_trace_event *ev, snp_spa_t pa,
			struct sim_replay_func *fn, const struct snp_fault_record *f,
			bool model_faulted)
{
	struct sim_replay_result *r = rp->r;
	struct sim_replay_report *rep;
	struct snp_inuse_holder h;
	enum sim_replay_why why;
	bool have;
	enum sim_replay_kind kind = fault_kind(rp, f, &h, &have);

	why = rb_judge(rp->bounds, rp->prof, ev->cpu, snp_phys_to_pfn(pa),
		       (enum snp_trace_level)ev->level, now(rp));
	for (int b = SIM_REPLAY_PROVEN; b < SIM_REPLAY_NR_BOUNDS; b++) {
		if (b == SIM_REPLAY_PROVEN && why != SIM_REPLAY_WHY_PROVEN)
			continue;
		count_fault(&r->bound[b], f, kind);
		if (fn) {
			fn->faults[b]++;
			fn->spurious[b] += f->spurious;
		}
		if (fn && fn->observer) {
			r->observer.faults[b]++;
			r->observer.spurious[b] += f->spurious;
		}
	}
	if (model_faulted)
		count_fault(&r->model, f, kind);
	if (have)
		rr_fault(rp->rates, snp_pfn_to_phys(h.vmcb), why == SIM_REPLAY_WHY_PROVEN,
			 model_faulted);
	if (r->nr_reports >= rp->opt->max_reports)
		return;
	add_report(rp, ev, pa, f, kind, &h, have);
	rep = &r->reports[r->nr_reports - 1];
	rep->bound = why == SIM_REPLAY_WHY_PROVEN ? SIM_REPLAY_PROVEN : SIM_REPLAY_POSSIBLE;
	rep->why = why;
	rep->model_faulted = model_faulted;
}

/*
 * One page access of a store: checked as a part checking every access
 * would (possible), then through the modeled TLB (the point), which can
 * fault only where the check does: it checks the same rules at a miss, and
 * every hit of a store was filled by a store.  A part that does check every
 * access needs no TLB: its point is the upper bound.
 */
static void judge_access(struct replay *rp, const struct snp_trace_event *ev, snp_spa_t pa,
			 struct sim_replay_func *fn)
{
	const uint64_t va = SNP_PAGE_OFFSET + pa;
	const enum snp_map_size leaf = leaf_of(ev->level);
	struct snp_fault_record possible;
	int check, model;

	rp->r->accesses++;
	check = snp_host_check_leaf(rp->m, ev->cpu, va, true, leaf, NULL);
	if (check == SNP_EFAULT) {
		take_fault(rp, &possible);
	} else if (check < 0) {
		refuse(rp, "store at 0x%" PRIx64 ": %s", pa, snp_strerror(check));
		return;
	}
	model = check;
	if (!rp->prof->rmp_check_every_access) {
		model = snp_host_access_leaf(rp->m, ev->cpu, va, true, leaf, NULL);
		if (model == SNP_EFAULT)
			snp_fault_clear(rp->m);   /* the same fault as the check's */
	}
	if (check == SNP_EFAULT)
		on_possible(rp, ev, pa, fn, &possible, model == SNP_EFAULT);
	if (rb_store(rp->bounds, ev->cpu, snp_phys_to_pfn(pa), (enum snp_trace_level)ev->level, now(rp)))
		rp->nomem = true;
}

/*
 * A store into a VMRUN region: its 2MB region (or the next one, for a
 * store across) holds a page in-use now, before the store is judged.
 * Counted whatever the filter, so a trace kept with --filter all counts
 * the same stores as one kept in-guest (docs/TRACE.md).
 */
static void count_region_store(struct replay *rp, const struct snp_trace_event *ev, snp_spa_t last)
{
	const struct snp_rmp *rmp = snp_machine_rmp(rp->m);

	if (snp_rmp_2m_nr_inuse(rmp, snp_phys_to_pfn(ev->pa)) ||
	    snp_rmp_2m_nr_inuse(rmp, snp_phys_to_pfn(last)))
		rp->r->region.by_level[ev->level <= SNP_TRL_1G ? ev->level : SNP_TRL_UNKNOWN]++;
}

uint64_t sim_replay_region_huge(const struct sim_replay_region_stores *s, enum sim_replay_bound b)
{
	uint64_t n;

	if (!s)
		return 0;
	n = s->by_level[SNP_TRL_2M] + s->by_level[SNP_TRL_1G];
	return b == SIM_REPLAY_POSSIBLE ? n + s->by_level[SNP_TRL_UNKNOWN] : n;
}

double sim_replay_region_seconds(const struct sim_replay_region_stores *s, bool guest)
{
	if (!s || !s->ran || s->last_vmexit_ns <= s->first_vmrun_ns)
		return 0;
	return (double)(guest ? s->guest_ns : s->last_vmexit_ns - s->first_vmrun_ns) / 1e9;
}

double sim_replay_region_rate(const struct sim_replay_region_stores *s, enum sim_replay_bound b,
			      bool guest)
{
	double sec = sim_replay_region_seconds(s, guest);

	return sec > 0 ? (double)sim_replay_region_huge(s, b) / sec : NAN;
}

/*
 * A recorded store: a host write by that CPU through a direct-map leaf of
 * the recorded size, one access per 4K page the store touches.
 */
static void apply_store(struct replay *rp, const struct snp_trace_event *ev)
{
	struct sim_replay_result *r = rp->r;
	struct sim_replay_func *fn = func_of(rp, ev->pc);
	snp_spa_t last = ev->pa + ev->arg - 1;

	r->stores++;
	r->stores_by_level[ev->level <= SNP_TRL_1G ? ev->level : SNP_TRL_UNKNOWN]++;
	if (fn)
		fn->stores++;
	if (fn && fn->observer)
		r->observer.stores++;
	if (!pa_in_memory(rp, last)) {
		refuse(rp, "store at 0x%" PRIx64 " outside the trace's memory", ev->pa);
		return;
	}
	if (snp_cpu_in_guest(rp->m, ev->cpu) > 0) {
		refuse(rp, "host store by CPU %u while it is in guest mode", ev->cpu);
		return;
	}
	count_region_store(rp, ev, last);
	for (snp_spa_t pa = ev->pa; pa <= last; pa = (pa | (SNP_PAGE_SIZE - 1)) + 1)
		judge_access(rp, ev, pa, fn);
}

/* ---- the run ------------------------------------------------------------------------ */

static void apply(struct replay *rp, const struct snp_trace_event *ev)
{
	/*
	 * A VMRUN waits for the VMRUN_PAGE records of its CPU, which may come
	 * after other CPUs' VMRUNs; anything else sees every VMRUN done.
	 */
	if (ev->type != SNP_TR_VMRUN_PAGE && ev->type != SNP_TR_VMRUN)
		commit_pending(rp);
	switch (ev->type) {
	case SNP_TR_VMRUN:      apply_vmrun(rp, ev); break;
	case SNP_TR_VMRUN_PAGE: apply_vmrun_page(rp, ev); break;
	case SNP_TR_VMEXIT:     apply_vmexit(rp, ev); break;
	case SNP_TR_HSAVE:      apply_hsave(rp, ev); break;
	case SNP_TR_STORE:      apply_store(rp, ev); break;
	case SNP_TR_FLUSH:      apply_flush(rp, ev); break;
	case SNP_TR_STR:
		if (ev->arg == SNP_TRK_KERNEL)
			snprintf(rp->r->kernel, sizeof(rp->r->kernel), "%s", ev->str);
		break;
	default:
		break;
	}
}

/*
 * What the trace can answer under this profile.  Loads fault only with
 * inuse_reads_fault, and a trace without loads would replay that as
 * write-only: refused.  Stores the recorder dropped cannot fault when marks
 * go at #VMEXIT (it kept every store while a guest ran from the region);
 * with marks that outlive it, the in-guest filter may have dropped stores
 * that fault: the upper bound then covers the recorded stores only.
 */
static SNP_MUST_CHECK int replay_check_profile(struct replay *rp, const struct snp_profile *p)
{
	struct sim_replay_result *r = rp->r;

	if (p->inuse_reads_fault && !(rp->info->flags & SNP_TRACE_F_LOADS)) {
		snprintf(r->error, sizeof(r->error), "--knob inuse_reads_fault=on needs recorded loads; "
			 "this trace records stores only");
		return SNP_EINVAL;
	}
	if (!p->inuse_cleared_at_vmexit && rp->info->filter == SNP_TRACE_FILTER_INGUEST)
		snprintf(r->upper_incomplete, sizeof(r->upper_incomplete),
			 "marks outlive #VMEXIT under this profile, but the recorder kept stores "
			 "only while a guest ran (filter in-guest)");
	return 0;
}

/* The modeled TLB's entries per CPU: the option's, or its part's (Milan by default). */
static SNP_MUST_CHECK int replay_tlb_size(struct replay *rp, unsigned int *entries)
{
	const char *name = rp->opt->tlb_part ? rp->opt->tlb_part : DEFAULT_TLB_PART;
	const struct snp_tlb_part *part = snp_tlb_part_by_name(name);
	struct sim_replay_result *r = rp->r;

	if (rp->opt->tlb_entries) {
		*entries = r->tlb_entries = rp->opt->tlb_entries;
		return 0;
	}
	if (!part) {
		snprintf(r->error, sizeof(r->error), "unknown TLB part '%s'", name);
		return SNP_EINVAL;
	}
	*entries = r->tlb_entries = snp_tlb_part_entries(part);
	snprintf(r->tlb_part, sizeof(r->tlb_part), "%s", part->name);
	return 0;
}

static SNP_MUST_CHECK int replay_setup(struct replay *rp, const char *path, const struct snp_profile *profile)
{
	struct sim_replay_result *r = rp->r;
	struct snp_machine_config mc = { 0 };
	int ret;

	ret = snp_trace_open(path, &rp->t, r->error, sizeof(r->error));
	if (ret)
		return ret;
	rp->info = snp_trace_get_info(rp->t);
	r->info = *rp->info;
	/* The model's memory is whole 2MB regions; the trace's may end inside one. */
	rp->mem = (rp->info->mem_bytes + SNP_PMD_SIZE - 1) & ~(SNP_PMD_SIZE - 1);
	if (rp->mem > SNP_RMP_MAX_MEM) {
		snprintf(r->error, sizeof(r->error), "the trace's %" PRIu64 " bytes of memory are "
			 "more than the model holds (%llu GiB)", rp->info->mem_bytes,
			 (unsigned long long)(SNP_RMP_MAX_MEM / SNP_GiB));
		return SNP_ERANGE;
	}
	ret = replay_check_profile(rp, profile);
	if (ret)
		return ret;
	ret = replay_tlb_size(rp, &mc.tlb_entries);
	if (ret)
		return ret;
	mc.mem_bytes = rp->mem;
	mc.profile = profile;
	mc.nr_cpus = rp->info->nr_cpus;
	mc.fault_log_max = 4;
	ret = snp_machine_create(&mc, &rp->m);
	if (ret) {
		snprintf(r->error, sizeof(r->error), "cannot model the trace's machine: %s",
			 snp_strerror(ret));
		return ret;
	}
	rp->prof = snp_machine_profile(rp->m);
	if (rb_create(rp->info->nr_cpus, &rp->bounds) || rr_create(&rp->rates)) {
		snprintf(r->error, sizeof(r->error), "out of memory");
		return SNP_ENOMEM;
	}
	for (unsigned int c = 0; c < SNP_TRACE_MAX_CPUS; c++) {
		rp->hsave[c] = SNP_NO_PAGE;
		for (int i = 0; i < RUN_PAGES; i++)
			rp->run_pages[c][i] = SNP_NO_PAGE;
	}
	r->tlbctl.recorded = rp->info->version >= SNP_TRACE_VERSION_TLBCTL;
	if (rp->opt->max_reports) {
		r->reports = calloc(rp->opt->max_reports, sizeof(*r->reports));
		if (!r->reports) {
			snprintf(r->error, sizeof(r->error), "out of memory");
			return SNP_ENOMEM;
		}
	}
	return 0;
}

int sim_replay_run(const char *path, const struct snp_profile *profile,
		   const struct sim_replay_options *opt, struct sim_replay_result *out)
{
	static const struct sim_replay_options defaults;
	struct snp_trace_event ev;
	struct replay rp = { .r = out, .opt = opt ? opt : &defaults };
	int ret;

	if (!out)
		return SNP_EINVAL;
	memset(out, 0, sizeof(*out));
	if (!path) {
		snprintf(out->error, sizeof(out->error), "no trace file");
		return SNP_EINVAL;
	}
	profile = profile ? profile : &snp_profile_early_snp;
	snprintf(out->profile, sizeof(out->profile), "%s", profile->name ? profile->name : "");
	ret = replay_setup(&rp, path, profile);
	while (!ret && !rp.nomem && (ret = snp_trace_next(rp.t, &ev)) > 0) {
		rp.rec = ++out->records;
		out->last_t_ns = ev.t_ns > out->last_t_ns ? ev.t_ns : out->last_t_ns;
		apply(&rp, &ev);
		ret = 0;
	}
	if (rp.nomem) {
		snprintf(out->error, sizeof(out->error), "out of memory");
		ret = SNP_ENOMEM;
	} else if (ret < 0 && !out->error[0]) {
		snprintf(out->error, sizeof(out->error), "%s", snp_trace_error(rp.t));
	} else if (ret == 0 && rp.t) {
		commit_pending(&rp);
		snp_trace_end_counts(rp.t, &out->stores_seen, &out->stores_dropped);
		if (out->nr_funcs)
			qsort(out->funcs, out->nr_funcs, sizeof(*out->funcs), cmp_func);
		if (rr_finish(rp.rates, out)) {
			snprintf(out->error, sizeof(out->error), "out of memory");
			ret = SNP_ENOMEM;
		}
	}
	free(rp.func_key);
	rb_destroy(rp.bounds);
	rr_destroy(rp.rates);
	snp_machine_destroy(rp.m);
	snp_trace_close(rp.t);
	if (ret < 0)
		sim_replay_result_free(out);
	return ret < 0 ? ret : 0;
}

void sim_replay_result_free(struct sim_replay_result *r)
{
	if (!r)
		return;
	free(r->funcs);
	free(r->reports);
	free(r->stuck);
	r->funcs = NULL;
	r->reports = NULL;
	r->stuck = NULL;
	r->nr_stuck = 0;
	r->nr_funcs = 0;
	r->nr_reports = 0;
}
