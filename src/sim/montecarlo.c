// SPDX-License-Identifier: MIT
/*
 * montecarlo.c - `snpsafe simulate`: modeled hosts (trials), each created,
 * aged, filled with VMs of a mix of kinds, run for some ticks of host
 * activity (vCPUs entering and leaving, kernel work writing through the
 * direct map near and far), then torn down.  For each strategy the same
 * trials run with the same seeds (common random numbers), so the strategies
 * differ only in the allocator.  Trials that start from one aged allocator
 * (age_share) are correlated, not independent: mc_interval() widens their
 * intervals by the design effect.
 *
 * Determinism: trial t of strategy s depends only on (seed, t), never on
 * which thread ran it or when; results are summed in a fixed order.
 */
#include <snpsafe/kvm.h>
#include <snpsafe/sim.h>

#include "sim/sim_internal.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *const vm_kind_names[SIM_VM_NR] = {
	[SIM_VM_SVM] = "svm", [SIM_VM_SEV] = "sev", [SIM_VM_SEV_ES] = "sev-es",
	[SIM_VM_SNP] = "snp", [SIM_VM_NESTED] = "nested",
};

const char *sim_vm_kind_name(enum sim_vm_kind k)
{
	return (unsigned int)k < SIM_VM_NR ? vm_kind_names[k] : "?";
}

static const char *const age_profile_names[SIM_AGE_NR_PROFILES] = { "generic", "watch" };

const char *sim_age_profile_name(enum sim_age_profile p)
{
	return (unsigned int)p < SIM_AGE_NR_PROFILES ? age_profile_names[p] : "?";
}

int sim_age_profile_parse(const char *s, enum sim_age_profile *out)
{
	for (unsigned int i = 0; s && out && i < SIM_AGE_NR_PROFILES; i++)
		if (!strcmp(s, age_profile_names[i])) {
			*out = (enum sim_age_profile)i;
			return 0;
		}
	return SNP_EINVAL;
}

void sim_mc_config_init(struct sim_mc_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->mem_bytes = 2 * SNP_GiB;
	cfg->cpus = 4;
	cfg->vms = 16;
	cfg->vcpus = 4;
	cfg->mix[SIM_VM_SVM] = 2;
	cfg->mix[SIM_VM_SEV] = 1;
	cfg->mix[SIM_VM_SEV_ES] = 1;
	cfg->mix[SIM_VM_SNP] = 1;
	cfg->mix[SIM_VM_NESTED] = 1;
	cfg->age_pct = 60;
	cfg->ticks = 512;
	cfg->gmem_faulted_pct = 100;
	cfg->trials = 32;
	cfg->threads = 1;
	cfg->strategies = (1u << SNP_ALLOC_NR_STRATEGIES) - 1;
	cfg->profile = snp_profile_early_snp;
	cfg->seed = 1;
	cfg->vmsave_marks = true;
	cfg->vmsave_window = 1e-4;
	cfg->clone = true;
	cfg->age_share = 8;
}

int sim_mc_parse_mix(const char *s, unsigned int mix[SIM_VM_NR])
{
	unsigned int out[SIM_VM_NR] = { 0 }, total = 0;
	char buf[128], *save = NULL;

	if (!s || strlen(s) >= sizeof(buf))
		return SNP_EINVAL;
	strcpy(buf, s);
	for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *colon = strchr(tok, ':'), *end;
		unsigned long w = 1;
		int k;

		if (colon) {
			*colon = '\0';
			w = strtoul(colon + 1, &end, 10);
			if (end == colon + 1 || *end || w > 1000)
				return SNP_EINVAL;
		}
		for (k = 0; k < SIM_VM_NR && strcmp(tok, vm_kind_names[k]); k++)
			;
		if (k == SIM_VM_NR)
			return SNP_EINVAL;
		out[k] += (unsigned int)w;
		total += (unsigned int)w;
	}
	if (!total)
		return SNP_EINVAL;
	memcpy(mix, out, sizeof(out));
	return 0;
}

/*
 * Host memory of one trial: the allocator's mem_map, the RMP's index and the
 * entries of the regions a trial touches (guest memory, generously a quarter
 * of memory), each sized by its own layer, plus a fixed overhead.  Memory
 * the guests hold from boot (sim_mc_held_bytes()) is touched by neither.
 */
#define MC_TRIAL_FIXED_BYTES (64 * SNP_MiB)

uint64_t sim_mc_trial_bytes(const struct sim_mc_config *cfg)
{
	uint64_t kept = cfg->mem_bytes - sim_mc_held_bytes(cfg);

	return mm_mem_map_bytes(kept) + snp_rmp_storage_bytes_for(cfg->mem_bytes, kept / 4) +
	       MC_TRIAL_FIXED_BYTES;
}

static enum sim_vm_kind pick_kind(const struct sim_mc_config *cfg, uint64_t *rng)
{
	unsigned int total = 0, r;

	for (int k = 0; k < SIM_VM_NR; k++)
		total += cfg->mix[k];
	r = (unsigned int)mm_rng_below(rng, total);
	for (int k = 0; k < SIM_VM_NR; k++) {
		if (r < cfg->mix[k])
			return (enum sim_vm_kind)k;
		r -= cfg->mix[k];
	}
	return SIM_VM_SVM;
}

static const enum snp_guest_type kind_type[SIM_VM_NR] = {
	[SIM_VM_SVM] = SNP_GUEST_SVM, [SIM_VM_SEV] = SNP_GUEST_SEV,
	[SIM_VM_SEV_ES] = SNP_GUEST_SEV_ES, [SIM_VM_SNP] = SNP_GUEST_SNP,
	[SIM_VM_NESTED] = SNP_GUEST_SVM,
};

/* One trial's outcome, summed later in trial order. */
struct mc_trial {
	int err;
	struct sim_mc_trial c;
};

/* The counts a result is computed from, out of the host's stats and census at the trial's end. */
static void mc_trial_counts(const struct kvm_host_stats *st, const struct kvm_page_census *census,
			    struct sim_mc_trial *c)
{
	c->ran = true;
	c->spurious_faults = st->spurious_faults;
	c->faults = st->faults;
	c->order1_broken = st->order1_broken;
	c->leaked_pages = st->leaked_pages;
	c->vmruns = st->vmruns;
	c->vmsave_window_writes = st->vmsave_window_writes;
	c->ticks = st->ticks;
	c->region_writes = st->region_writes;
	c->region_huge_writes = st->region_huge_writes;
	c->vm.asid_flushes = st->asid_flushes;
	for (int k = 0; k < KVM_PAGE_NR_KINDS; k++) {
		c->sensitive_allocated[k] = st->sensitive_allocated[k];
		c->sensitive_aligned[k] = st->sensitive_aligned[k];
		c->aligned_huge[k] = st->sensitive_aligned_huge[k];
		c->n_sensitive += st->sensitive_allocated[k];
		c->markable[k] = census->markable[k];
		c->markable_aligned[k] = census->markable_aligned[k];
		c->exposed[k] = census->exposed[k];
		c->exposed_aligned[k] = census->exposed_aligned[k];
		c->live[k] = census->allocated[k];
		c->gmem_pageblock[k] = census->gmem_pageblock[k];
	}
}

/* The build steps after KVM_CREATE_VM: vCPUs (with nested state), then the launch. */
static SNP_MUST_CHECK int sim_vm_fill(struct kvm_host *host, int vm, const unsigned int *vcpu_cpus, unsigned int nr_vcpus,
		       bool nested, enum sim_vm_stage *stage)
{
	int ret = 0;

	*stage = SIM_VM_AT_VCPU;
	for (unsigned int i = 0; i < nr_vcpus && !ret; i++) {
		ret = kvm_create_vcpu(host, vm, i, vcpu_cpus[i]);
		if (!ret && nested)
			ret = kvm_vcpu_enable_nested(host, vm, i);
	}
	if (ret)
		return ret;
	*stage = SIM_VM_AT_LAUNCH;
	ret = kvm_vm_launch(host, vm);
	if (!ret)
		*stage = SIM_VM_BUILT;
	return ret;
}

/* sim_vm_build(), and the new VM's id in *id (-1 when it failed; id may be NULL). */
static SNP_MUST_CHECK int mc_vm_build(struct kvm_host *host, const struct kvm_vm_config *vc,
				      const unsigned int *vcpu_cpus, unsigned int nr_vcpus, bool nested,
				      enum sim_vm_stage *stage, int *id)
{
	enum sim_vm_stage at = SIM_VM_AT_CREATE;
	int vm = kvm_create_vm(host, vc), ret;

	ret = vm < 0 ? vm : sim_vm_fill(host, vm, vcpu_cpus, nr_vcpus, nested, &at);
	/*
	 * vm was just created on this host, and kvm_destroy_vm() fails only for
	 * an id it does not know; what its frees meet is counted in
	 * teardown_errors.  The build's error is the one to report.
	 */
	if (ret && vm >= 0)
		snp_ignore_result(kvm_destroy_vm(host, vm));
	if (stage)
		*stage = at;
	if (id)
		*id = ret ? -1 : vm;
	return ret;
}

int sim_vm_build(struct kvm_host *host, const struct kvm_vm_config *vc, const unsigned int *vcpu_cpus,
		 unsigned int nr_vcpus, bool nested, enum sim_vm_stage *stage)
{
	return mc_vm_build(host, vc, vcpu_cpus, nr_vcpus, nested, stage, NULL);
}

/*
 * Pages the allocator has handed out, less the sieve's pool and the
 * kvm_vcpu slab cache's slabs (both keep pages by design).
 */
static SNP_MUST_CHECK int mc_pages_held(struct kvm_host *host, uint64_t *held)
{
	struct snp_alloc_stats as = { 0 };
	struct kvm_host_stats st = { 0 };
	struct mm_counts c = { 0 };
	int ret = mm_get_counts(kvm_host_mm(host), MM_NUMA_NO_NODE, &c);

	if (!ret)
		ret = snp_alloc_get_stats(kvm_host_mm(host), &as);
	if (!ret)
		ret = kvm_host_get_stats(host, &st);
	if (!ret)
		*held = c.allocated - as.set_aside - st.slab_pages;
	return ret;
}

/*
 * Count what became of one VM.  -EBUSY from creation is sev_asid_new()
 * finding no ASID; -ENOMEM at any step is the allocator's.  Both are
 * returned to the VMM in Linux and the host goes on; any other error is
 * the model's and stops the trial.
 */
static SNP_MUST_CHECK int mc_vm_outcome(struct sim_mc_outcomes *o, int ret, enum sim_vm_stage at)
{
	if (!ret)
		o->vms_running++;
	else if (ret == SNP_EBUSY && at == SIM_VM_AT_CREATE)
		o->vms_no_asid++;
	else if (ret == SNP_ENOMEM && at == SIM_VM_AT_VCPU)
		o->vcpu_enomem++;
	else if (ret == SNP_ENOMEM)
		o->vm_enomem++;
	else
		return ret;
	return 0;
}

/*
 * A VM slot of a trial: the VMM's loop that keeps one VM of a kind alive,
 * as watch's workload does (watch/workload.c vm_slot()).  vm < 0: the last
 * creation failed, and the slot tries again at the next tick.
 */
struct mc_slot {
	int vm;
	enum sim_vm_kind kind;
	unsigned int born;            /* the tick it was created at */
};

/*
 * With VM churn (--lifetime), each vCPU of a VM just made enters its guest
 * once at once, on its CPU, and leaves: watch's workload starts a thread a
 * vCPU that runs until its first exit whatever the lifetime (watch/workload.c
 * vcpu_thread()), so every vCPU of the watched boots reached VMRUN
 * (vcpus_ran = vcpus_created) and took its MMU caches (kvm_mmu_load(), 40
 * pages; docs/MODEL.md "VM churn").  Ticks run vCPUs at random after that.
 * A run that fails (its MMU caches or guest memory short of pages, or a
 * spurious #PF) is counted by kvm_vcpu_run() as ticks count theirs.
 */
static void mc_first_runs(struct kvm_host *host, int vm, const unsigned int *cpus, unsigned int nr)
{
	for (unsigned int i = 0; i < nr; i++) {
		struct snp_vmrun_result res;

		if (kvm_vcpu_run(host, vm, i, cpus[i], &res) == 0 && res.outcome == SNP_VMRUN_ENTERED)
			snp_ignore_result(kvm_vcpu_exit(host, vm, i));
	}
}

const char *sim_rcu_grace_name(bool end)
{
	return end ? "end" : "tick";
}

int sim_rcu_grace_parse(const char *s, bool *end)
{
	if (!s || (strcmp(s, "end") && strcmp(s, "tick")))
		return SNP_EINVAL;
	*end = !strcmp(s, "end");
	return 0;
}

const char *sim_vmm_cpus_text(const struct sim_mc_config *cfg, char *buf, size_t len)
{
	unsigned int last = 0, used = 0;

	if (!buf || !len)
		return "";
	buf[0] = '\0';
	for (unsigned int c = 0; c < SIM_MC_VMM_CPUS_MAX; c++)
		if (cfg->vmm_cpu_weight[c])
			last = c + 1;
	for (unsigned int c = 0; c < last && used < len; c++) {
		int n = snprintf(buf + used, len - used, "%s%u", c ? "," : "", cfg->vmm_cpu_weight[c]);

		if (n < 0)
			break;
		used += (unsigned int)n;
	}
	return buf;
}

unsigned int sim_mc_vmm_cpu(const struct sim_mc_config *cfg, uint64_t *rng)
{
	uint64_t total = 0, r;
	unsigned int c;

	for (c = 0; c < cfg->cpus && c < SIM_MC_VMM_CPUS_MAX; c++)
		total += cfg->vmm_cpu_weight[c];
	if (!total)
		return (unsigned int)mm_rng_below(rng, cfg->cpus);
	r = mm_rng_below(rng, total);
	for (c = 0; r >= cfg->vmm_cpu_weight[c]; c++)
		r -= cfg->vmm_cpu_weight[c];
	return c;
}

/* One VM of @kind: its size, its VMM's CPU and its vCPUs' CPUs, drawn from @rng. */
static void mc_vm_draw(const struct sim_mc_config *cfg, enum sim_vm_kind kind, uint64_t *rng,
		       struct kvm_vm_config *vc, unsigned int cpus[KVM_MAX_VCPUS])
{
	kvm_vm_config_init(vc, kind_type[kind]);
	vc->guest_pages = SIM_MC_GUEST_PAGES_MIN + mm_rng_below(rng, SIM_MC_GUEST_PAGES_SPREAD);
	if (cfg->guest_pages)   /* drawn all the same: the stream stays the default run's */
		vc->guest_pages = cfg->guest_pages;
	vc->lapic_in_kernel = !cfg->no_irqchip;
	vc->gmem_first_use = true;   /* SNP guests: 6.12.95's guest_memfd */
	vc->gmem_faulted_pct = cfg->gmem_faulted_pct;
	vc->cpu = sim_mc_vmm_cpu(cfg, rng);
	for (unsigned int i = 0; i < cfg->vcpus; i++)
		cpus[i] = (unsigned int)mm_rng_below(rng, cfg->cpus);
}

/* Draw one VM of @kind (size, CPUs), build it, count its outcome; *vm its id or -1. */
static SNP_MUST_CHECK int mc_create_one(struct kvm_host *host, const struct sim_mc_config *cfg,
					enum sim_vm_kind kind, uint64_t *rng, struct sim_mc_outcomes *o,
					int *vm)
{
	unsigned int cpus[KVM_MAX_VCPUS];
	struct kvm_vm_config vc;
	enum sim_vm_stage at;
	uint64_t held, after;
	int ret;

	mc_vm_draw(cfg, kind, rng, &vc, cpus);
	ret = mc_pages_held(host, &held);
	if (ret)
		return ret;
	o->vms_tried++;
	*vm = -1;
	ret = mc_vm_build(host, &vc, cpus, cfg->vcpus, kind == SIM_VM_NESTED, &at, vm);
	if (!ret && cfg->lifetime)
		mc_first_runs(host, *vm, cpus, cfg->vcpus);
	if (ret) {
		int err = mc_pages_held(host, &after);

		if (err)
			return err;
		o->teardown_pages_kept += after - held;
	}
	return mc_vm_outcome(o, ret, at);
}

/* The trial's VMs, one a slot; slots may be NULL (no churn: nothing to remember). */
static SNP_MUST_CHECK int mc_create_vms(struct kvm_host *host, const struct sim_mc_config *cfg, uint64_t *rng,
			 struct sim_mc_outcomes *o, struct mc_slot *slots)
{
	for (unsigned int v = 0; v < cfg->vms; v++) {
		enum sim_vm_kind kind = pick_kind(cfg, rng);
		int vm, ret = mc_create_one(host, cfg, kind, rng, o, &vm);

		if (ret)
			return ret;
		if (slots)
			slots[v] = (struct mc_slot){ .vm = vm, .kind = kind, .born = 0 };
	}
	return 0;
}

/*
 * The VMM thread's CPU at its VM's end (cfg->vmm_migrate_pct): moved, with
 * that chance, to a CPU drawn by the VMM weights, as the threads' CPUs were
 * drawn at the VMs' making.  The draws are taken only when the chance is
 * set, so a run without it keeps its stream.
 */
static SNP_MUST_CHECK int mc_vmm_migrate(struct kvm_host *host, const struct sim_mc_config *cfg,
					 uint64_t *rng, int vm)
{
	if (!cfg->vmm_migrate_pct || mm_rng_below(rng, 100) >= cfg->vmm_migrate_pct)
		return 0;
	return kvm_vm_set_vmm_cpu(host, vm, sim_mc_vmm_cpu(cfg, rng));
}

/* A new VM of the slot's kind in its slot, born at tick @now. */
static SNP_MUST_CHECK int mc_remake(struct kvm_host *host, const struct sim_mc_config *cfg, uint64_t *rng,
				    struct sim_mc_outcomes *o, struct mc_slot *sl, unsigned int now)
{
	sl->born = now;
	return mc_create_one(host, cfg, sl->kind, rng, o, &sl->vm);
}

/*
 * VM churn after tick @now (cfg->lifetime > 0): each VM that has lived its
 * lifetime is destroyed (kvm_destroy_vm, on its VMM's CPU) and a new VM of
 * the same kind is made in its slot, as watch's workload does; a slot whose
 * creation failed tries again.  Every creation counts (vms_tried, the
 * sensitive pages' allocations), each one's pages from an allocator the
 * destroyed VMs keep churning.  The timeline (cfg->remake_after,
 * cfg->rcu_grace_end): the due VMs end in slot order; after each end the
 * grace period may end (its debugfs frees), and the oldest waiting slot
 * gets its successor once remake_after more VMs have ended.  With both at
 * their defaults: end, make, end, make, every VM re-made at once.
 */
static SNP_MUST_CHECK int mc_churn(struct kvm_host *host, const struct sim_mc_config *cfg, uint64_t *rng,
				   struct sim_mc_outcomes *o, struct mc_slot *slots, unsigned int now)
{
	unsigned int wait[SIM_MC_REMAKE_AFTER_MAX + 1], nw = 0;
	int ret;

	for (unsigned int v = 0; v < cfg->vms; v++) {
		struct mc_slot *sl = &slots[v];

		if (sl->vm >= 0 && now - sl->born < cfg->lifetime)
			continue;
		if (sl->vm >= 0) {
			ret = mc_vmm_migrate(host, cfg, rng, sl->vm);
			ret = ret ? ret : kvm_destroy_vm(host, sl->vm);
			if (ret)
				return ret;
			sl->vm = -1;
		}
		if (cfg->rcu_grace_end)
			kvm_rcu_barrier(host);
		wait[nw++] = v;
		if (nw > cfg->remake_after) {
			ret = mc_remake(host, cfg, rng, o, &slots[wait[0]], now);
			if (ret)
				return ret;
			memmove(wait, wait + 1, --nw * sizeof(*wait));
		}
	}
	for (unsigned int i = 0; i < nw; i++) {   /* the last ends' successors: the tick is over */
		ret = mc_remake(host, cfg, rng, o, &slots[wait[i]], now);
		if (ret)
			return ret;
	}
	return 0;
}

/* The pages on every per-CPU list now, added to @w's tick-end sample. */
static SNP_MUST_CHECK int mc_pcp_sample(struct kvm_host *host, struct sim_pcp_work *w)
{
	struct mm_counts c;
	int ret = mm_get_counts(kvm_host_mm(host), MM_NUMA_NO_NODE, &c);

	if (!ret) {
		w->pcp_pages += c.pcp;
		w->pcp_ticks++;
	}
	return ret;
}

/*
 * watch's host thread after tick @k: the loops due by then (cfg->host_loops
 * a tick, a fraction carried to the next tick), each on its own CPU.
 */
static SNP_MUST_CHECK int mc_host_loops(struct kvm_host *host, const struct sim_mc_config *cfg,
					struct mm_watch_host *wh, unsigned int k)
{
	uint64_t due = (uint64_t)((double)(k + 1) * cfg->host_loops) -
		       (uint64_t)((double)k * cfg->host_loops);
	int ret = 0;

	for (uint64_t i = 0; i < due && !ret; i++)
		ret = mm_watch_host_loop(kvm_host_mm(host), wh);
	return ret;
}

/* The trial's VMs, then its ticks, with churn after each tick when cfg->lifetime is set. */
static SNP_MUST_CHECK int mc_run_vms(struct kvm_host *host, const struct sim_mc_config *cfg, uint64_t *rng,
				     struct sim_mc_outcomes *o, uint64_t *first_fault_tick,
				     struct sim_pcp_work *pcp)
{
	struct kvm_tick_report rep;
	struct mc_slot *slots = NULL;
	struct mm_watch_host *wh = NULL;
	int ret = 0;

	if (cfg->lifetime) {
		slots = calloc(cfg->vms, sizeof(*slots));
		ret = slots ? 0 : SNP_ENOMEM;
	}
	if (!ret && cfg->host_loops > 0)   /* its own stream: the VMs draw as they would without it */
		ret = mm_watch_host_begin(kvm_host_mm(host), *rng, &wh);
	if (!ret)
		ret = mc_create_vms(host, cfg, rng, o, slots);
	for (unsigned int k = 0; !ret && k < cfg->ticks; k++) {
		ret = kvm_host_tick(host, mm_rng_next(rng), NULL, &rep);
		/* the tick of the host's first spurious #PF, for the time to it */
		if (!ret && rep.spurious && !*first_fault_tick)
			*first_fault_tick = k + 1;
		if (!ret && slots)
			ret = mc_churn(host, cfg, rng, o, slots, k + 1);
		if (!ret && wh)
			ret = mc_host_loops(host, cfg, wh, k);
		if (!ret)
			ret = mc_pcp_sample(host, pcp);
	}
	mm_watch_host_end(wh);
	free(slots);
	return ret;
}

/* The host's order-0 allocations and pcp flow so far. */
static SNP_MUST_CHECK int mc_pcp_work(struct kvm_host *host, struct sim_pcp_work *w)
{
	uint64_t ev[MM_NR_ORDERS][MM_NR_MIGRATETYPES];
	int ret = mm_alloc_events(kvm_host_mm(host), ev);

	if (!ret)
		ret = mm_pcp_flow(kvm_host_mm(host), &w->flow);
	for (unsigned int t = 0; !ret && t < MM_NR_MIGRATETYPES; t++)
		w->allocs[t] = ev[0][t];
	return ret;
}

static void mc_pcp_work_sub(struct sim_pcp_work *w, const struct sim_pcp_work *before)
{
	for (unsigned int t = 0; t < MM_NR_MIGRATETYPES; t++)
		w->allocs[t] -= before->allocs[t];
	mm_pcp_flow_add(&w->flow, &before->flow, -1);
}

static void mc_host_config(const struct sim_mc_config *cfg, enum snp_alloc_strategy s,
			   struct kvm_host_config *hc)
{
	kvm_host_config_init(hc, cfg->mem_bytes, cfg->cpus);
	hc->profile = &cfg->profile;
	hc->strategy = s;
	hc->snp_enabled = true;
	hc->late_vendor_load = true;
	hc->vmsave_marks = cfg->vmsave_marks;
	hc->kernel = cfg->kernel;
	hc->kvm_version = cfg->kvm_version;
	hc->ram_layout = cfg->ram_layout;
	hc->boot_no_kernel_memory = cfg->no_boot_memory;
	hc->boot_dump = cfg->boot_dump;
	hc->boot_dump_pcp = cfg->boot_dump_pcp;
	hc->no_thp_min_free = cfg->no_thp_min_free;
	hc->avic = cfg->avic;
	hc->kvm_debugfs = cfg->kvm_debugfs;
	hc->held_bytes = sim_mc_held_bytes(cfg);
}

/* Trial t's stream; its first draw seeds the ageing of trial t's allocator. */
static uint64_t mc_trial_rng(const struct sim_mc_config *cfg, unsigned int t)
{
	return cfg->seed * 0x9e3779b97f4a7c15ULL + t + 1;
}

static SNP_MUST_CHECK int mc_age(struct kvm_host *host, const struct sim_mc_config *cfg, uint64_t seed)
{
	struct mm_age_config age;
	struct mm_aged *aged = NULL;
	int ret;

	mm_age_config_init(&age, seed);
	age.target_use = cfg->age_pct * 10;
	ret = mm_age(kvm_host_mm(host), &age, &aged);
	mm_aged_forget(aged);   /* the host is torn down whole, aged pages and all */
	return ret;
}

/*
 * age_vm_churn(): SIM_MC_AGE_VMS plain VMs of cfg->vcpus vCPUs (the ager's
 * own VM program; sized and placed as the workload's, mc_vm_draw()), made
 * by the ager on its CPU, each vCPU run to its first exit, destroyed.  A
 * VM KVM refuses is the ager's failure, and it goes on.
 */
static SNP_MUST_CHECK int mc_age_vms(struct kvm_host *host, const struct sim_mc_config *cfg,
				     unsigned int ager_cpu, uint64_t *rng)
{
	for (unsigned int v = 0; v < SIM_MC_AGE_VMS; v++) {
		unsigned int cpus[KVM_MAX_VCPUS];
		struct kvm_vm_config vc;
		int vm, ret;

		mc_vm_draw(cfg, SIM_VM_SVM, rng, &vc, cpus);
		vc.cpu = ager_cpu;
		ret = mc_vm_build(host, &vc, cpus, cfg->vcpus, false, NULL, &vm);
		if (ret == SNP_ENOMEM || ret == SNP_EBUSY)
			continue;
		if (ret)
			return ret;
		mc_first_runs(host, vm, cpus, cfg->vcpus);
		ret = kvm_destroy_vm(host, vm);
		if (ret)
			return ret;
	}
	return 0;
}

/* watch's ager on a host with kvm_amd loaded: each round's memory work, then its VMs. */
static SNP_MUST_CHECK int mc_age_watch(struct kvm_host *host, const struct sim_mc_config *cfg,
				       uint64_t seed)
{
	struct mm_host *mm = kvm_host_mm(host);
	struct mm_age_watch_config ac;
	struct mm_age_watch *w = NULL;
	uint64_t rng = seed ^ 0xa0761d6478bd642fULL;   /* the ageing VMs' draws, apart */
	int ret;

	mm_age_watch_config_init(&ac, seed, cfg->age_rounds);
	ac.cpu = cfg->ager_cpu;
	ret = mm_age_watch_begin(mm, &ac, &w);
	for (unsigned int r = 0; !ret && r < cfg->age_rounds; r++) {
		struct mm_age_watch_stats st;

		ret = mm_age_watch_round(mm, w);
		if (!ret)
			ret = mm_age_watch_stats(w, &st);
		if (!ret)
			ret = mc_age_vms(host, cfg, st.cpu, &rng);
	}
	mm_age_watch_forget(w);   /* the host is torn down whole, aged pages and all */
	return ret;
}

/* One aged allocator, the start of every trial t with t % nr_aged == its index. */
struct mc_aged {
	struct kvm_host *host;
	int err;
};

static void mc_aged_build(const struct sim_mc_config *cfg, unsigned int a, struct mc_aged *out)
{
	struct kvm_host_config hc;
	uint64_t rng = mc_trial_rng(cfg, a);

	mc_host_config(cfg, SNP_ALLOC_NAIVE, &hc);   /* the strategy acts only after ageing */
	hc.boot_seed = rng;                          /* the boot's own memory (qemu-pc) */
	out->err = kvm_host_create(&hc, &out->host);
	if (!out->err)
		out->err = mc_age(out->host, cfg, mm_rng_next(&rng));
}

/* p of the analytic estimate: 2MB-aligned free pages / free pages, before the workload's VMs. */
static SNP_MUST_CHECK int mc_p_est(struct kvm_host *host, struct sim_mc_trial *c)
{
	uint64_t aligned = 0, free = 0;
	int ret = mm_free_aligned_count(kvm_host_mm(host), MM_PAGEBLOCK_ORDER, &aligned, &free);

	if (!ret)
		c->p_est = free ? (double)aligned / (double)free : 0;
	return ret;
}

/* modprobe kvm_amd (kvm_x86_vendor_init); -ENOMEM is a host without KVM, counted: 0, *loaded false. */
static SNP_MUST_CHECK int mc_load_kvm(struct kvm_host *host, struct sim_mc_trial *c, bool *loaded)
{
	int ret = kvm_x86_vendor_init(host, kvm_vendor_svm());

	*loaded = !ret;
	if (ret == SNP_ENOMEM) {
		c->vm.kvm_load_enomem = 1;
		ret = 0;
	}
	return ret;
}

/*
 * Trial t of strategy s: a host aged with trial t's seed (clone off), or a
 * copy of the aged allocator @from (the same state, without the ageing's
 * cost), then the trial's own draws: VM kinds, sizes, CPUs and ticks.
 */
static void mc_trial_run(const struct sim_mc_config *cfg, enum snp_alloc_strategy s, unsigned int t,
			 const struct kvm_host *from, struct mc_trial *out)
{
	uint64_t rng = mc_trial_rng(cfg, t), age_seed;
	struct kvm_host_stats st = { 0 };
	struct kvm_page_census census = { 0 };
	struct sim_pfn_list vmcb01 = { 0 };
	struct kvm_host_config hc;
	struct kvm_host *host;
	bool loaded = false;
	int ret;

	memset(out, 0, sizeof(*out));
	mc_host_config(cfg, s, &hc);
	hc.boot_seed = rng;                          /* the boot's own memory (qemu-pc), as the aged one's */
	hc.on_sensitive = sim_vmcb01_note;    /* the vmcb01 pages, for their clustering */
	hc.on_sensitive_ctx = &vmcb01;
	/* a clone starts as a copy of the aged allocator, made in place of a fresh boot */
	hc.mm_from = from ? kvm_host_mm((struct kvm_host *)from) : NULL;
	ret = kvm_host_create(&hc, &host);
	if (ret) {
		out->err = ret;
		return;
	}
	age_seed = mm_rng_next(&rng);
	if (cfg->age_profile == SIM_AGE_WATCH) {
		/* watch/init.sh: kvm_amd inserted on the fresh boot, then the ager */
		ret = mc_load_kvm(host, &out->c, &loaded);
		if (!ret && loaded)
			ret = mc_age_watch(host, cfg, age_seed);
		if (!ret)
			ret = mc_p_est(host, &out->c);
	} else {
		if (!from && cfg->age_pct)
			ret = mc_age(host, cfg, age_seed);
		if (!ret)
			ret = mc_p_est(host, &out->c);
		if (!ret)   /* modprobe kvm_amd on the aged host: svm_hardware_setup's save areas now */
			ret = mc_load_kvm(host, &out->c, &loaded);
	}
	if (!ret && loaded) {
		struct sim_pcp_work w0;

		/* mc_pcp_work() sets the counts, mc_run_vms() the tick-end samples */
		ret = mc_pcp_work(host, &w0);
		if (!ret)
			ret = mc_run_vms(host, cfg, &rng, &out->c.vm, &out->c.first_fault_tick,
					 &out->c.pcp);
		if (!ret)
			ret = mc_pcp_work(host, &out->c.pcp);
		if (!ret)
			mc_pcp_work_sub(&out->c.pcp, &w0);
	}
	/* A run that failed keeps its first error; the stats are read either way. */
	if (kvm_host_get_stats(host, &st) && !ret)
		ret = SNP_EINVAL;
	if (kvm_host_census(host, &census) && !ret)
		ret = SNP_EINVAL;
	mc_trial_counts(&st, &census, &out->c);
	if (sim_vmcb01_cluster(&vmcb01, &out->c.vmcb01_cluster) && !ret)
		ret = SNP_ENOMEM;
	out->err = ret;
	kvm_host_kernel_work_release(host);
	kvm_host_destroy(host);
}

struct mc_shared {
	const struct sim_mc_config *cfg;
	enum snp_alloc_strategy strat[SNP_ALLOC_NR_STRATEGIES];
	unsigned int nr_strat;
	struct mc_trial *trials;   /* nr_strat * cfg->trials */
	struct mc_aged *aged;      /* nr_aged, NULL without cloning */
	unsigned int nr_aged;
	/* the current phase: jobs [0, nr_jobs) of aged allocators or trials */
	unsigned int *jobs;
	unsigned int nr_jobs;
	bool building;
	atomic_uchar *ready;       /* per trial (as trials): finished, its result readable */
	atomic_uint next;
	atomic_uint done;          /* trials finished, all phases */
	atomic_uint exited;        /* workers of this phase that returned */
	double start;              /* sim_now() when the run started, for the progress line's rate */
};

/* Job j of the trial phase: trial jobs[j] / nr_strat of strategy jobs[j] % nr_strat. */
static void mc_job(struct mc_shared *sh, unsigned int j)
{
	const struct sim_mc_config *cfg = sh->cfg;
	unsigned int t = sh->jobs[j] / sh->nr_strat, si = sh->jobs[j] % sh->nr_strat;
	const struct kvm_host *from = sh->aged ? sh->aged[t % sh->nr_aged].host : NULL;

	if (sh->building) {
		mc_aged_build(cfg, sh->jobs[j], &sh->aged[sh->jobs[j]]);
		return;
	}
	mc_trial_run(cfg, sh->strat[si], t, from, &sh->trials[si * cfg->trials + t]);
	atomic_store_explicit(&sh->ready[si * cfg->trials + t], 1, memory_order_release);
	atomic_fetch_add(&sh->done, 1);
}

static void *mc_worker(void *arg)
{
	struct mc_shared *sh = arg;

	for (;;) {
		unsigned int job = atomic_fetch_add(&sh->next, 1);

		if (job >= sh->nr_jobs) {
			atomic_fetch_add(&sh->exited, 1);
			return NULL;
		}
		mc_job(sh, job);
	}
}

/*
 * The analytic estimate of aligned sensitive pages in one trial under naive:
 * kvm_amd loads on the aged host (a module, after boot), so every sensitive
 * page, the save areas included, is taken from an aged allocator; were it any
 * free page, it would be aligned with probability p = 2MB-aligned free pages
 * / free pages, measured just before the module loads.  The old first term,
 * ceil(cpus / 512) save areas aligned by a fresh allocator's expand(), is
 * gone with the fresh allocator.  The same p applies to the exposed pages.
 */
static double mc_est_aligned(const struct sim_mc_trial *tr, uint64_t pages)
{
	return tr->p_est * (double)pages;
}

static void wilson(double k, double n, double z, double *lo, double *hi)
{
	double p, z2, den, mid, half;

	*lo = *hi = 0;
	if (!(n > 0) || k > n)
		return;
	p = k / n;
	z2 = z * z;
	den = 1 + z2 / n;
	mid = (p + z2 / (2.0 * n)) / den;
	half = z * sqrt(p * (1 - p) / n + z2 / (4.0 * n * n)) / den;
	*lo = k > 0 && mid - half > 0 ? mid - half : 0;   /* exact bounds at the ends */
	*hi = k < n && mid + half < 1 ? mid + half : 1;
}

void sim_wilson_interval(uint64_t k, uint64_t n, double z, double *lo, double *hi)
{
	wilson((double)k, (double)n, z, lo, hi);
}

static bool mc_trial_has_exposed_aligned(const struct sim_mc_trial *c);

/* Has trial j (si * trials + t) finished, so that its result may be read while workers run? */
static bool mc_trial_ready(const struct mc_shared *sh, unsigned int j)
{
	return atomic_load_explicit(&sh->ready[j], memory_order_acquire);
}

/* The rates simulate reports, each counted per trial as k of n. */
enum mc_rate { MC_RATE_EXPOSED, MC_RATE_ALIGNED, MC_RATE_FAULT_TRIALS, MC_RATE_EXPOSED_TRIALS };

static void mc_rate_count(const struct sim_mc_trial *tr, enum mc_rate rate, double *k, double *n)
{
	uint64_t a = 0, b = 0;

	for (int i = 0; i < KVM_PAGE_NR_KINDS; i++) {
		a += rate == MC_RATE_EXPOSED ? tr->exposed_aligned[i] : tr->sensitive_aligned[i];
		b += tr->exposed[i];
	}
	switch (rate) {
	case MC_RATE_EXPOSED:        *k = (double)a; *n = (double)b; break;
	case MC_RATE_ALIGNED:        *k = (double)a; *n = (double)tr->n_sensitive; break;
	case MC_RATE_FAULT_TRIALS:   *k = tr->spurious_faults > 0; *n = 1; break;
	case MC_RATE_EXPOSED_TRIALS: *k = mc_trial_has_exposed_aligned(tr); *n = 1; break;
	}
}

double sim_design_effect(const double *kg, const double *ng, unsigned int groups)
{
	double K = 0, N = 0, p, vc = 0, vb;

	if (!kg || !ng || groups < 2)
		return 1;
	for (unsigned int g = 0; g < groups; g++) {
		K += kg[g];
		N += ng[g];
	}
	if (!(N > 0) || K <= 0 || K >= N)
		return 1;
	p = K / N;
	for (unsigned int g = 0; g < groups; g++)
		vc += (kg[g] - p * ng[g]) * (kg[g] - p * ng[g]);
	vc = vc * groups / (groups - 1) / (N * N);
	vb = p * (1 - p) / N;
	return vc > vb ? vc / vb : 1;
}

/*
 * The design effect of shared ageing on a rate: trials starting from one
 * aged allocator form a group, and the spread of the groups' totals gives it
 * (sim_design_effect).  Where there is no spread to measure (one group, no
 * event, or every draw an event), each group counts as one trial: deff is
 * the trials per aged allocator.  Taking 1 there, as if the trials were
 * independent, would give the narrowest interval exactly where the data
 * cannot show the correlation that shared layouts do have (docs/MODEL.md).
 * With no shared ageing, 1: the plain Wilson interval.
 */
static double mc_design_effect(const struct mc_shared *sh, unsigned int si, enum mc_rate rate)
{
	unsigned int ng = sh->nr_aged, trials = sh->cfg->trials;
	double kg[64], nk[64], K = 0, N = 0;

	if (ng < 1 || trials <= ng)
		return 1;
	if (ng > 64)   /* wider groups: merge them round-robin into 64 (still independent) */
		ng = 64;
	memset(kg, 0, sizeof(kg));
	memset(nk, 0, sizeof(nk));
	for (unsigned int t = 0; t < trials; t++) {
		unsigned int g = (t % sh->nr_aged) % ng;
		double k, n;

		if (!mc_trial_ready(sh, si * trials + t))
			continue;
		mc_rate_count(&sh->trials[si * trials + t].c, rate, &k, &n);
		kg[g] += k;
		nk[g] += n;
		K += k;
		N += n;
	}
	if (ng < 2 || K <= 0 || K >= N)
		return (double)trials / sh->nr_aged;
	return sim_design_effect(kg, nk, ng);
}

/*
 * Wilson 95% interval of k of n, over n / deff draws when ageing is shared.
 * Over no draw there is no interval, and no design effect: NAN.
 */
static void mc_interval(const struct mc_shared *sh, unsigned int si, enum mc_rate rate, uint64_t k,
			uint64_t n, double *lo, double *hi, double *deff_out)
{
	double deff = n ? mc_design_effect(sh, si, rate) : NAN;

	if (n)
		wilson((double)k / deff, (double)n / deff, 1.96, lo, hi);
	else
		*lo = *hi = NAN;
	if (deff_out)
		*deff_out = deff;
}

/* k / n, or NAN over no observation (a rate of nothing is not 0). */
static double mc_frac(double k, uint64_t n)
{
	return n ? k / (double)n : NAN;
}

/* Add one trial's census (kvm_host_census) to the result. */
static uint64_t mc_sum_census(struct sim_mc_result *r, const struct sim_mc_trial *c)
{
	uint64_t exposed = 0;

	for (int k = 0; k < KVM_PAGE_NR_KINDS; k++) {
		r->markable_by_kind[k] += c->markable[k];
		r->markable_aligned_by_kind[k] += c->markable_aligned[k];
		r->exposed_by_kind[k] += c->exposed[k];
		r->exposed_aligned_by_kind[k] += c->exposed_aligned[k];
		r->live_sensitive += c->live[k];
		r->gmem_pageblock_shared += c->gmem_pageblock[k];
		r->exposed_pages += c->exposed[k];
		r->exposed_aligned_pages += c->exposed_aligned[k];
		exposed += c->exposed[k];
	}
	return exposed;
}

static bool mc_trial_has_exposed_aligned(const struct sim_mc_trial *c)
{
	for (int k = 0; k < KVM_PAGE_NR_KINDS; k++)
		if (c->exposed_aligned[k])
			return true;
	return false;
}

static void mc_pcp_work_add(struct sim_pcp_work *sum, const struct sim_pcp_work *w)
{
	for (unsigned int t = 0; t < MM_NR_MIGRATETYPES; t++)
		sum->allocs[t] += w->allocs[t];
	mm_pcp_flow_add(&sum->flow, &w->flow, 1);
	sum->pcp_pages += w->pcp_pages;
	sum->pcp_ticks += w->pcp_ticks;
}

static void mc_sum_outcomes(struct sim_mc_outcomes *sum, const struct sim_mc_outcomes *o)
{
	sum->vms_tried += o->vms_tried;
	sum->vms_running += o->vms_running;
	sum->vms_no_asid += o->vms_no_asid;
	sum->vm_enomem += o->vm_enomem;
	sum->vcpu_enomem += o->vcpu_enomem;
	sum->kvm_load_enomem += o->kvm_load_enomem;
	sum->asid_flushes += o->asid_flushes;
	sum->teardown_pages_kept += o->teardown_pages_kept;
}

static void mc_sum_trial(struct sim_mc_result *r, const struct sim_mc_trial *tr, double *est,
			 double *est_exposed, double *est_trials, uint64_t *with_aligned)
{
	uint64_t exposed = mc_sum_census(r, tr);

	r->trials++;
	r->spurious_faults += tr->spurious_faults;
	r->real_faults += tr->faults - tr->spurious_faults;
	r->trials_with_fault += tr->spurious_faults > 0;
	for (int k = 0; k < KVM_PAGE_NR_KINDS; k++) {
		r->sensitive_by_kind[k] += tr->sensitive_allocated[k];
		r->aligned_by_kind[k] += tr->sensitive_aligned[k];
		r->aligned_sensitive_pages += tr->sensitive_aligned[k];
	}
	r->sensitive_pages += tr->n_sensitive;
	*with_aligned += mc_trial_has_exposed_aligned(tr);
	r->order1_blocks += tr->order1_broken;
	r->leaked_pages += tr->leaked_pages;
	r->vmruns += tr->vmruns;
	r->vmsave_window_writes += tr->vmsave_window_writes;
	r->time.ticks += tr->ticks;
	r->time.region_writes += tr->region_writes;
	r->time.region_huge_writes += tr->region_huge_writes;
	r->time.hosts_faulted += tr->first_fault_tick > 0;
	r->time.exposure_ticks += tr->first_fault_tick ? tr->first_fault_tick : tr->ticks;
	mc_sum_outcomes(&r->vm, &tr->vm);
	mc_pcp_work_add(&r->pcp, &tr->pcp);
	sim_cluster_add(&r->vmcb01_cluster, &tr->vmcb01_cluster);
	*est += mc_est_aligned(tr, tr->n_sensitive);
	*est_exposed += mc_est_aligned(tr, exposed);
	*est_trials += 1.0 - pow(1.0 - tr->p_est, (double)exposed);
}

static void mc_sum(const struct mc_shared *sh, unsigned int si, struct sim_mc_result *r)
{
	double est = 0, est_exposed = 0, est_trials = 0;
	uint64_t with_aligned = 0;

	memset(r, 0, sizeof(*r));
	r->strategy = sh->strat[si];
	for (unsigned int t = 0; t < sh->cfg->trials; t++)
		mc_sum_trial(r, &sh->trials[si * sh->cfg->trials + t].c, &est, &est_exposed,
			     &est_trials, &with_aligned);
	r->aligned_fraction = mc_frac((double)r->aligned_sensitive_pages, r->sensitive_pages);
	r->exposed_aligned_fraction = mc_frac((double)r->exposed_aligned_pages, r->exposed_pages);
	mc_interval(sh, si, MC_RATE_EXPOSED, r->exposed_aligned_pages, r->exposed_pages,
		    &r->exposed_ci_lo, &r->exposed_ci_hi, &r->exposed_deff);
	r->trials_with_exposed_aligned = mc_frac((double)with_aligned, r->trials);
	mc_interval(sh, si, MC_RATE_FAULT_TRIALS, r->trials_with_fault, r->trials,
		    &r->fault_trials_ci_lo, &r->fault_trials_ci_hi, NULL);
	mc_interval(sh, si, MC_RATE_ALIGNED, r->aligned_sensitive_pages, r->sensitive_pages,
		    &r->aligned_ci_lo, &r->aligned_ci_hi, &r->aligned_deff);
	mc_interval(sh, si, MC_RATE_EXPOSED_TRIALS, with_aligned, r->trials,
		    &r->exposed_trials_ci_lo, &r->exposed_trials_ci_hi, &r->exposed_trials_deff);
	r->effective_hosts = (double)r->trials / r->exposed_trials_deff;
	/* clone off ages every trial's allocator: as many as --age-share 1 clones */
	r->aged_allocators = sh->nr_aged ? sh->nr_aged :
			     sh->cfg->age_pct || sh->cfg->age_profile == SIM_AGE_WATCH ? sh->cfg->trials : 0;
	r->vmsave_expected_faults = (double)r->vmsave_window_writes * sh->cfg->vmsave_window;
	/* Safe strategies never hand out an aligned page: their estimate is 0 by construction. */
	r->est_aligned_fraction = mc_frac(0, r->sensitive_pages);
	r->est_exposed_fraction = mc_frac(0, r->exposed_pages);
	if (r->strategy == SNP_ALLOC_NAIVE) {
		r->est_aligned_fraction = mc_frac(est, r->sensitive_pages);
		r->est_exposed_fraction = mc_frac(est_exposed, r->exposed_pages);
		r->est_trials_with_exposed_aligned = mc_frac(est_trials, r->trials);
	}
}

/*
 * The live state for cfg->progress: each strategy's exposed aligned pages
 * over the trials finished so far (read only once a worker has published
 * them), with the interval mc_interval() gives the final figure.
 */
static void mc_live(const struct mc_shared *sh, unsigned int total, struct sim_mc_progress *p)
{
	unsigned int trials = sh->cfg->trials;

	memset(p, 0, sizeof(*p));
	p->done = atomic_load(&sh->done);
	p->elapsed = sim_now() - sh->start;
	p->total = total;
	p->nr = sh->nr_strat;
	for (unsigned int si = 0; si < sh->nr_strat; si++) {
		double k, n;

		p->strategy[si] = sh->strat[si];
		for (unsigned int t = 0; t < trials; t++) {
			if (!mc_trial_ready(sh, si * trials + t))
				continue;
			mc_rate_count(&sh->trials[si * trials + t].c, MC_RATE_EXPOSED, &k, &n);
			p->trials[si]++;
			p->exposed_aligned[si] += (uint64_t)k;
			p->exposed[si] += (uint64_t)n;
		}
		mc_interval(sh, si, MC_RATE_EXPOSED, p->exposed_aligned[si], p->exposed[si],
			    &p->lo[si], &p->hi[si], NULL);
	}
}

static void mc_report(const struct mc_shared *sh, unsigned int total)
{
	struct sim_mc_progress p;

	if (!sh->cfg->progress)
		return;
	mc_live(sh, total, &p);
	sh->cfg->progress(sh->cfg->progress_ctx, &p);
}

static void mc_wait(struct mc_shared *sh, unsigned int threads, unsigned int total)
{
	struct timespec ts = { 0, 50 * 1000 * 1000 };

	while (atomic_load(&sh->exited) < threads) {
		mc_report(sh, total);
		nanosleep(&ts, NULL);
	}
}

/* Run jobs [0, nr_jobs) on the configured threads (or this one). */
static void mc_phase(struct mc_shared *sh, unsigned int total)
{
	unsigned int nthreads = sh->cfg->threads < sh->nr_jobs ? sh->cfg->threads : sh->nr_jobs;
	unsigned int started = 0;
	pthread_t tid[256];

	atomic_store(&sh->next, 0);
	atomic_store(&sh->exited, 0);
	if (nthreads > 256)
		nthreads = 256;
	for (; started < nthreads; started++)
		if (pthread_create(&tid[started], NULL, mc_worker, sh))
			break;
	if (!started)
		mc_worker(sh);
	else
		mc_wait(sh, started, total);
	for (unsigned int i = 0; i < started; i++)
		pthread_join(tid[i], NULL);
}

/* Aged allocators in memory at once: enough to keep the threads busy. */
static unsigned int mc_chunk(const struct sim_mc_config *cfg)
{
	unsigned int c = cfg->threads < 32 ? 2 * cfg->threads : 64;

	return c < 4 ? 4 : c;
}

/* Aged allocators per run: none (fresh, or every trial ages its own), else one per age_share trials. */
static unsigned int mc_nr_aged(const struct sim_mc_config *cfg)
{
	/* watch ages after kvm_amd loads, and a host with kvm loaded cannot be copied */
	if (!cfg->clone || !cfg->age_pct || cfg->age_profile == SIM_AGE_WATCH)
		return 0;
	return cfg->trials / cfg->age_share + (cfg->trials % cfg->age_share != 0);
}

/*
 * Is group g in cfg's shard?  A group is an aged allocator (its index) with
 * shared ageing, else a trial: a shard never splits an allocator's trials,
 * so each is aged once, by one shard, as the whole run ages it.
 */
static bool mc_group_in_shard(const struct sim_mc_config *cfg, unsigned int g)
{
	return !cfg->shard_n || g % cfg->shard_n == cfg->shard_k - 1;
}

bool sim_mc_in_shard(const struct sim_mc_config *cfg, unsigned int t)
{
	unsigned int nr_aged = mc_nr_aged(cfg);

	return mc_group_in_shard(cfg, nr_aged ? t % nr_aged : t);
}

/* Age allocators [a0, a1), run the trials starting from them, free them. */
static SNP_MUST_CHECK int mc_run_chunk(struct mc_shared *sh, unsigned int a0, unsigned int a1, unsigned int total)
{
	const struct sim_mc_config *cfg = sh->cfg;
	int ret = 0;

	sh->nr_jobs = 0;
	for (unsigned int a = a0; a < a1; a++)
		if (mc_group_in_shard(cfg, a))
			sh->jobs[sh->nr_jobs++] = a;
	sh->building = true;
	mc_phase(sh, total);
	for (unsigned int a = a0; a < a1 && !ret; a++)
		ret = mc_group_in_shard(cfg, a) ? sh->aged[a].err : 0;
	sh->nr_jobs = 0;
	for (unsigned int t = 0; t < cfg->trials && !ret; t++)
		if (t % sh->nr_aged >= a0 && t % sh->nr_aged < a1 && mc_group_in_shard(cfg, t % sh->nr_aged))
			for (unsigned int si = 0; si < sh->nr_strat; si++)
				sh->jobs[sh->nr_jobs++] = t * sh->nr_strat + si;
	sh->building = false;
	if (!ret)
		mc_phase(sh, total);
	for (unsigned int a = a0; a < a1; a++) {
		kvm_host_destroy(sh->aged[a].host);
		sh->aged[a].host = NULL;
	}
	return ret;
}


static SNP_MUST_CHECK int mc_run_all(struct mc_shared *sh, unsigned int total)
{
	int ret = 0;

	if (!sh->nr_aged) {
		sh->nr_jobs = 0;
		for (unsigned int j = 0; j < sh->nr_strat * sh->cfg->trials; j++)
			if (mc_group_in_shard(sh->cfg, j / sh->nr_strat))
				sh->jobs[sh->nr_jobs++] = j;
		mc_phase(sh, total);
		return 0;
	}
	sh->aged = calloc(sh->nr_aged, sizeof(*sh->aged));
	if (!sh->aged)
		return SNP_ENOMEM;
	for (unsigned int a0 = 0; a0 < sh->nr_aged && !ret; a0 += mc_chunk(sh->cfg)) {
		unsigned int a1 = a0 + mc_chunk(sh->cfg);

		ret = mc_run_chunk(sh, a0, a1 < sh->nr_aged ? a1 : sh->nr_aged, total);
	}
	free(sh->aged);
	return ret;
}

bool sim_mc_age_ok(const struct sim_mc_config *cfg)
{
	if (cfg->age_profile == SIM_AGE_GENERIC)
		return cfg->age_rounds == 0;
	return cfg->age_profile == SIM_AGE_WATCH && cfg->age_rounds >= 1 &&
	       cfg->age_rounds <= MM_AGE_WATCH_MAX_ROUNDS &&
	       (unsigned int)cfg->ager_cpu < MM_NR_AGER_CPU && !(cfg->clone && cfg->age_share > 1);
}

static SNP_MUST_CHECK int mc_check(const struct sim_mc_config *cfg)
{
	unsigned int mix = 0;

	for (int k = 0; k < SIM_VM_NR; k++)
		mix += cfg->mix[k];
	for (unsigned int c = cfg->cpus; c < SIM_MC_VMM_CPUS_MAX; c++)
		if (cfg->vmm_cpu_weight[c])
			return SNP_EINVAL;   /* a weight for a CPU the host does not have */
	for (unsigned int c = 0; c < SIM_MC_VMM_CPUS_MAX; c++)
		if (cfg->vmm_cpu_weight[c] > SIM_MC_VMM_WEIGHT_MAX)
			return SNP_EINVAL;
	if (!cfg->trials || !cfg->threads || !cfg->age_share || !cfg->cpus || !cfg->vms ||
	    !cfg->vcpus || !mix ||
	    cfg->vcpus > KVM_MAX_VCPUS || cfg->age_pct > 95 || cfg->gmem_faulted_pct > 100 ||
	    cfg->vmm_migrate_pct > 100 || cfg->remake_after > SIM_MC_REMAKE_AFTER_MAX ||
	    !(cfg->vmsave_window >= 0 && cfg->vmsave_window <= 1) ||
	    !(cfg->host_loops >= 0 && cfg->host_loops <= SIM_MC_HOST_LOOPS_MAX) ||
	    (unsigned int)cfg->kvm_debugfs >= KVM_NR_DEBUGFS ||
	    (cfg->shard_n && (cfg->shard_k < 1 || cfg->shard_k > cfg->shard_n)) ||
	    (unsigned int)cfg->kernel >= MM_NR_KERNELS || !sim_mc_age_ok(cfg) ||
	    /* a dumped boot is the host as it was when its workload started: aged or not */
	    (cfg->boot_dump && (cfg->age_pct || cfg->age_profile == SIM_AGE_WATCH)) ||
	    !(cfg->strategies & ((1u << SNP_ALLOC_NR_STRATEGIES) - 1)))
		return SNP_EINVAL;
	return 0;
}

/* A run's shape from cfg (checked): its strategies and aged allocators. */
static SNP_MUST_CHECK int mc_setup(struct mc_shared *sh, const struct sim_mc_config *cfg)
{
	int ret = mc_check(cfg);

	if (ret)
		return ret;
	sh->cfg = cfg;
	for (int s = 0; s < SNP_ALLOC_NR_STRATEGIES; s++)
		if (cfg->strategies & (1u << s))
			sh->strat[sh->nr_strat++] = (enum snp_alloc_strategy)s;
	sh->nr_aged = mc_nr_aged(cfg);
	return 0;
}

int sim_mc_run(const struct sim_mc_config *cfg, struct sim_mc_result *out, unsigned int *nr_out)
{
	struct mc_shared sh = { .cfg = cfg };
	unsigned int total = 0, all;
	int ret = 0;

	if (!cfg || !out || !nr_out)
		return SNP_EINVAL;
	ret = mc_setup(&sh, cfg);
	if (ret)
		return ret;
	all = sh.nr_strat * cfg->trials;
	sh.start = sim_now();
	for (unsigned int t = 0; t < cfg->trials; t++)
		total += sim_mc_in_shard(cfg, t) ? sh.nr_strat : 0;
	sh.trials = calloc(all, sizeof(*sh.trials));
	sh.jobs = calloc(all, sizeof(*sh.jobs));
	sh.ready = calloc(all, sizeof(*sh.ready));
	for (unsigned int j = 0; sh.ready && j < all; j++)
		atomic_init(&sh.ready[j], 0);
	atomic_init(&sh.next, 0);
	atomic_init(&sh.done, 0);
	atomic_init(&sh.exited, 0);
	ret = sh.trials && sh.jobs && sh.ready ? mc_run_all(&sh, total) : SNP_ENOMEM;
	if (!ret)
		mc_report(&sh, total);
	for (unsigned int j = 0; j < all && !ret; j++)
		ret = sh.trials[j].err;
	for (unsigned int j = 0; j < all && !ret && cfg->trials_out; j++)
		cfg->trials_out[j] = sh.trials[j].c;
	for (unsigned int si = 0; si < sh.nr_strat && !ret; si++) {
		memset(&out[si], 0, sizeof(out[si]));
		out[si].strategy = sh.strat[si];
		if (!cfg->shard_n)   /* a shard's trials are summed with the others' (sim_mc_summarise) */
			mc_sum(&sh, si, &out[si]);
	}
	if (!ret && !cfg->shard_n)
		sim_tick_time_finish(out, sh.nr_strat, cfg->ticks);
	*nr_out = ret ? 0 : sh.nr_strat;
	free(sh.ready);
	free(sh.jobs);
	free(sh.trials);
	return ret;
}

int sim_mc_summarise(const struct sim_mc_config *cfg, const struct sim_mc_trial *trials,
		     struct sim_mc_result *out, unsigned int *nr_out)
{
	struct mc_shared sh = { .cfg = cfg };
	unsigned int all;
	int ret = 0;

	if (!cfg || !trials || !out || !nr_out)
		return SNP_EINVAL;
	ret = mc_setup(&sh, cfg);
	if (ret)
		return ret;
	all = sh.nr_strat * cfg->trials;
	sh.trials = calloc(all, sizeof(*sh.trials));
	sh.ready = calloc(all, sizeof(*sh.ready));
	ret = sh.trials && sh.ready ? 0 : SNP_ENOMEM;
	/* every trial is in: the statistics read them as a finished run's */
	for (unsigned int j = 0; j < all && !ret; j++) {
		ret = trials[j].ran ? 0 : SNP_EINVAL;
		sh.trials[j].c = trials[j];
		atomic_init(&sh.ready[j], 1);
	}
	for (unsigned int si = 0; si < sh.nr_strat && !ret; si++)
		mc_sum(&sh, si, &out[si]);
	if (!ret)
		sim_tick_time_finish(out, sh.nr_strat, cfg->ticks);
	*nr_out = ret ? 0 : sh.nr_strat;
	free(sh.ready);
	free(sh.trials);
	return ret;
}
