// SPDX-License-Identifier: MIT
/*
 * replay.c - a watch trace (snpsafe/trace.h) driven through the hardware
 * model in src/hw: the recorded kernel's VMRUNs, exits, host save areas, TLB
 * flushes and direct-map stores become the model's VMRUN, #VMEXIT, WRMSR,
 * TLB flushes and host writes, and every store the model faults is a
 * verdict.  docs/REPLAY.md tells what each record becomes and why.
 *
 * The recorded guests are plain SVM guests of a host without SNP: nothing
 * in the modeled RMP is ever assigned, so every page is Hypervisor-Owned and
 * the only rules that can fire are the in-use ones (INUSE_WRITE and the
 * erratum).  That is the question: which real store would have faulted on
 * an SNP-enabled host of the profile's kind.
 */
#include <snpsafe/replay.h>
#include <snpsafe/common.h>

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CR4_PGE   (1ULL << 7)
#define CR4_PCIDE (1ULL << 17)
#define NO_VA     UINT64_MAX   /* a flush whose address was not decoded */
/* The trace names no ASID; VMRUN needs a non-zero one (APM consistency check). */
#define REPLAY_ASID 1

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
};

struct replay {
	struct snp_machine *m;
	struct snp_trace *t;
	const struct snp_trace_info *info;
	const struct sim_replay_options *opt;
	struct sim_replay_result *r;
	uint64_t mem;                         /* the machine's memory */
	uint64_t rec;                         /* number of the record being applied */
	uint64_t seq;
	struct pending_run pend[SNP_TRACE_MAX_CPUS];
	bool run_refused[SNP_TRACE_MAX_CPUS]; /* the model refused this CPU's last VMRUN */
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
		rp->func_key[i] = key;
		r->nr_funcs++;
	}
	rp->last_func = i;
	return &r->funcs[i];
}

static SNP_MUST_CHECK int cmp_func(const void *a, const void *b)
{
	const struct sim_replay_func *x = a, *y = b;

	if (x->faults != y->faults)
		return x->faults > y->faults ? -1 : 1;
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
 * The model's VMRUN of a pending run.  A recorded VMSA makes the guest
 * SEV-ES (the VMSA is only read with SEV-ES enabled in the VMCB): the model
 * then checks it Hypervisor-Owned, as Table 15-41 says for non-SNP guests.
 */
static void commit_run(struct replay *rp, unsigned int cpu)
{
	struct pending_run *p = &rp->pend[cpu];
	uint64_t now = rp->rec;
	struct snp_vmrun_result res;
	char label[40];
	struct snp_vmrun_args a = {
		.vmcb = snp_phys_to_pfn(p->vmcb_pa), .vmsa = p->vmsa, .avic = p->avic,
		.type = p->vmsa != SNP_NO_PAGE ? SNP_GUEST_SEV_ES : SNP_GUEST_SVM,
		.asid = REPLAY_ASID, .label = label,
	};
	int ret;

	p->on = false;
	rp->rec = p->rec;
	snprintf(label, sizeof(label), "VMCB 0x%" PRIx64, p->vmcb_pa);
	ret = snp_vmrun(rp->m, cpu, &a, &res);
	rp->run_refused[cpu] = ret || res.outcome != SNP_VMRUN_ENTERED;
	if (!ret && res.outcome == SNP_VMRUN_ENTERED)
		rp->r->vmruns_entered++;
	else if (!ret || ret == SNP_EFAULT)
		vmrun_failed(rp, cpu, p, &res);
	else
		vmrun_refused(rp, cpu, p, ret);
	rp->rec = now;
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

static void apply_vmrun(struct replay *rp, const struct snp_trace_event *ev)
{
	rp->r->vmruns++;
	if (rp->pend[ev->cpu].on)
		commit_run(rp, ev->cpu);
	rp->pend[ev->cpu] = (struct pending_run){ .on = true, .seq = rp->seq++, .rec = rp->rec,
						  .vmcb_pa = ev->pa, .vmsa = SNP_NO_PAGE,
						  .avic = SNP_NO_PAGE };
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
	if (snp_vmexit(rp->m, ev->cpu) == 0)
		return;
	/* The exit of a run the model refused (counted there) or failed. */
	if (rp->run_refused[ev->cpu])
		rp->run_refused[ev->cpu] = false;
	else
		refuse(rp, "#VMEXIT on CPU %u, which is not in guest mode", ev->cpu);
}

/* ---- TLB flushes -------------------------------------------------------------------- */

static void flush_all(struct replay *rp, unsigned int cpu)
{
	/* The reader checked cpu against the trace's CPUs; count only what the model did. */
	if (!snp_tlb_flush_all(rp->m, cpu))
		rp->r->flushes_applied++;
}

/* INVLPG of a recorded address: only a direct-map address can drop a direct-map entry. */
static void flush_va(struct replay *rp, unsigned int cpu, uint64_t va)
{
	uint64_t off = va - rp->info->direct_map_base;

	if (va == NO_VA) {
		flush_all(rp, cpu);
		return;
	}
	if (va < rp->info->direct_map_base || off >= rp->mem)
		return;
	if (!snp_tlb_flush_one(rp->m, cpu, SNP_PAGE_OFFSET + off))
		rp->r->flushes_applied++;
}

/*
 * The model's TLBs hold only the direct map, whose entries are global
 * (_PAGE_GLOBAL; AMD hosts run without PTI).  So: MOV CR3 keeps them; a
 * CR4.PGE flip or CR4.PCIDE 1->0 drops everything; INVLPG drops its
 * address; INVLPGA drops a guest ASID's entry, none of the host's (ASID 0
 * is the host's: as INVLPG); INVPCID type 0 its address, type 2 all, and
 * types 1 and 3, which keep global entries but "may" drop them too (Intel
 * SDM, INVPCID), all: the direction that can only add faults.
 */
static void apply_flush(struct replay *rp, const struct snp_trace_event *ev)
{
	rp->r->flushes++;
	switch (ev->arg) {
	case SNP_TRF_CR3:
		break;
	case SNP_TRF_CR4:
		if (((ev->va ^ ev->pa) & CR4_PGE) || ((ev->va & CR4_PCIDE) && !(ev->pa & CR4_PCIDE)))
			flush_all(rp, ev->cpu);
		break;
	case SNP_TRF_INVLPG:
		flush_va(rp, ev->cpu, ev->va);
		break;
	case SNP_TRF_INVLPGA:
		if (ev->len == 0)
			flush_va(rp, ev->cpu, ev->va);
		break;
	case SNP_TRF_INVPCID:
		if (ev->len == 0)
			flush_va(rp, ev->cpu, ev->va);
		else
			flush_all(rp, ev->cpu);
		break;
	}
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
	rep->bytes = ev->arg;
	rep->level = (enum snp_trace_level)ev->level;
	rep->kind = kind;
	rep->have_holder = have;
	if (have)
		rep->holder = *h;
}

static void on_fault(struct replay *rp, const struct snp_trace_event *ev, snp_spa_t pa,
		     struct sim_replay_func *fn)
{
	struct sim_replay_result *r = rp->r;
	struct snp_fault_record f;
	struct snp_inuse_holder h;
	enum sim_replay_kind kind;
	bool have;

	if (snp_fault_last(rp->m, &f))
		return;
	snp_fault_clear(rp->m);   /* one record at a time: the log never fills */
	r->faults++;
	r->spurious += f.spurious;
	r->real += !f.spurious;
	r->by_rule[(unsigned int)f.rule < SNP_RULE_NR ? f.rule : SNP_RULE_NONE]++;
	kind = fault_kind(rp, &f, &h, &have);
	r->by_kind[kind]++;
	if (fn) {
		fn->faults++;
		fn->spurious += f.spurious;
	}
	if (r->nr_reports < rp->opt->max_reports)
		add_report(rp, ev, pa, &f, kind, &h, have);
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
	if (!pa_in_memory(rp, last)) {
		refuse(rp, "store at 0x%" PRIx64 " outside the trace's memory", ev->pa);
		return;
	}
	if (snp_cpu_in_guest(rp->m, ev->cpu) > 0) {
		refuse(rp, "host store by CPU %u while it is in guest mode", ev->cpu);
		return;
	}
	for (snp_spa_t pa = ev->pa; pa <= last; pa = (pa | (SNP_PAGE_SIZE - 1)) + 1) {
		int ret = snp_host_access_leaf(rp->m, ev->cpu, SNP_PAGE_OFFSET + pa, true,
					       leaf_of(ev->level), NULL);

		r->accesses++;
		if (ret == SNP_EFAULT)
			on_fault(rp, ev, pa, fn);
		else if (ret < 0)
			refuse(rp, "store at 0x%" PRIx64 ": %s", pa, snp_strerror(ret));
	}
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
	mc.mem_bytes = rp->mem;
	mc.profile = profile;
	mc.nr_cpus = rp->info->nr_cpus;
	mc.tlb_entries = rp->opt->tlb_entries;
	mc.fault_log_max = 4;
	ret = snp_machine_create(&mc, &rp->m);
	if (ret) {
		snprintf(r->error, sizeof(r->error), "cannot model the trace's machine: %s",
			 snp_strerror(ret));
		return ret;
	}
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
	}
	free(rp.func_key);
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
	r->funcs = NULL;
	r->reports = NULL;
	r->nr_funcs = 0;
	r->nr_reports = 0;
}
