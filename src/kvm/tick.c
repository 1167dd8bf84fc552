// SPDX-License-Identifier: MIT
/*
 * tick.c - one tick of host activity, for the Monte Carlo simulator: some
 * CPUs run vCPUs (VMRUN ... #VMEXIT), the others do kernel work that
 * allocates, frees and writes through the direct map (page cache, slab,
 * network buffers), near the 2MB regions of KVM's sensitive pages and far
 * from them.  Nothing in Linux mirrors this file; it is the workload the
 * erratum needs: a hugepage write by one CPU while another has a page of the
 * same 2MB region in-use.  Deterministic from the seed, all state per host.
 */
#include "kvm/kvm_internal.h"

#include <stdlib.h>
#include <string.h>

void kvm_tick_config_init(struct kvm_tick_config *cfg)
{
	if (!cfg)
		return;
	*cfg = (struct kvm_tick_config){ .run_pct = 50, .l2_pct = 50, .kernel_ops = 16,
					 .near_pct = 25, .alloc_pct = 30, .free_pct = 25 };
}

/* ---- kernel work ---- */

/* Kernel work on @cpu gives back page @i. */
static void kwork_free_idx(struct kvm_host *host, unsigned int cpu, unsigned int i)
{
	kvm_warn_on_err(host, mm_free_pages(host->mm, cpu, host->kwork[i].page, host->kwork[i].order));
	host->kwork[i] = host->kwork[--host->nr_kwork];
	host->stats.kernel_frees++;
}

void kvm_host_kernel_work_release(struct kvm_host *host)
{
	if (!host)
		return;
	while (host->nr_kwork)   /* a teardown, on CPU 0 */
		kwork_free_idx(host, 0, host->nr_kwork - 1);
}

/* Mostly order 0, some small orders (slab, skb frags), rarely a 2MB folio. */
static unsigned int kwork_order(uint64_t *rng)
{
	uint64_t r = mm_rng_below(rng, 100);

	if (r < 80)
		return 0;
	if (r < 98)
		return 1 + (unsigned int)mm_rng_below(rng, 3);
	return MM_PAGEBLOCK_ORDER;
}

/*
 * The mobility of kernel work's pages: a 2MB folio is page cache or an
 * anonymous THP (MOVABLE); smaller pages are page cache 60%, slab and
 * network buffers 30% (UNMOVABLE), dentries and inodes 10% (RECLAIMABLE).
 * Assumed, docs/MODEL.md.
 */
static mm_gfp_t kwork_gfp(unsigned int order, uint64_t *rng)
{
	uint64_t r = mm_rng_below(rng, 100);

	if (order == MM_PAGEBLOCK_ORDER || r < 60)
		return MM_GFP_HIGHUSER_MOVABLE;
	return r < 90 ? MM_GFP_KERNEL : MM_GFP_KERNEL | MM_GFP_RECLAIMABLE;
}

static void kwork_alloc(struct kvm_host *host, unsigned int cpu, uint64_t *rng)
{
	unsigned int order = kwork_order(rng);
	mm_gfp_t gfp = kwork_gfp(order, rng);
	struct page *p;

	if (host->nr_kwork == host->cfg.kernel_work_max)
		kwork_free_idx(host, cpu, (unsigned int)mm_rng_below(rng, host->nr_kwork));
	p = mm_alloc_pages(host->mm, cpu, gfp | MM_GFP_NORETRY, order);
	if (!p)
		return;
	host->kwork[host->nr_kwork++] = (struct kvm_kwork_page){ .page = p, .order = order };
	host->stats.kernel_allocs++;
}

/* ---- sensitive pages, to aim writes near them ---- */

/* Append a vCPU's sensitive pages to out[*n] (room for 4 is checked by the caller). */
static void vcpu_sensitive(const struct kvm_host *host, const struct kvm_vcpu *vcpu,
			   snp_pfn_t *out, unsigned int *n)
{
	if (vcpu->vmcb01)
		out[(*n)++] = kvm_page_pfn(host, vcpu->vmcb01);
	if (vcpu->nested.vmcb02)
		out[(*n)++] = kvm_page_pfn(host, vcpu->nested.vmcb02);
	if (vcpu->vmsa)
		out[(*n)++] = kvm_page_pfn(host, vcpu->vmsa);
	if (vcpu->apic.regs)
		out[(*n)++] = kvm_page_pfn(host, vcpu->apic.regs);
}

/*
 * Up to max pfns of sensitive pages: those of the vCPUs running now first
 * (their count in *nr_running; with vmsave_marks, the save areas of the CPUs
 * that entered a guest too), then the other save areas and every other vCPU's.
 * Near writes aim at the first group when it is not empty: the workload
 * models a busy host whose kernel keeps writing the pages around whatever
 * is running (docs/MODEL.md, "Tick workload").
 */
static unsigned int collect_sensitive(const struct kvm_host *host, snp_pfn_t *out, unsigned int max,
				  unsigned int *nr_running, const bool *busy)
{
	unsigned int n = 0;

	/* vmsave_marks: the save area of a CPU entering a guest is in use around it too */
	for (unsigned int c = 0; host->cfg.vmsave_marks && c < host->nr_cpus && n < max; c++)
		if (busy[c] && host->sd[c].init)
			out[n++] = kvm_page_pfn(host, host->sd[c].save_area);

	for (int pass = 0; pass < 2; pass++) {
		for (size_t v = 0; v < host->vms_cap; v++) {
			const struct kvm *kvm = host->vms[v];

			for (unsigned int i = 0; kvm && i < kvm->vcpu_end && n + 4 <= max; i++) {
				const struct kvm_vcpu *vcpu = kvm->vcpus[i];

				if (vcpu && (vcpu->running_cpu >= 0) == (pass == 0))
					vcpu_sensitive(host, vcpu, out, &n);
			}
		}
		if (pass == 0) {
			*nr_running = n;
			for (unsigned int c = 0; c < host->nr_cpus && n < max; c++)
				if (host->sd[c].init && !(host->cfg.vmsave_marks && busy[c]))
					out[n++] = kvm_page_pfn(host, host->sd[c].save_area);
		}
	}
	return n;
}

/*
 * A page kernel work may write: Hypervisor-owned (the kernel never writes
 * guest-private memory) and not in-use (it does not write a running VMCB).
 */
static bool kernel_may_write(struct kvm_host *host, snp_pfn_t pfn)
{
	struct snp_rmp *rmp = snp_machine_rmp(host->machine);

	return pfn < mm_nr_pages(host->mm) && snp_rmp_hv_owned_4k(rmp, pfn) &&
	       !snp_rmp_inuse(rmp, pfn);
}

/* Another page of the 2MB region of a sensitive page (page cache, slab...). */
static snp_pfn_t pick_near(struct kvm_host *host, const snp_pfn_t *sens, unsigned int n,
			   unsigned int nr_running, uint64_t *rng)
{
	snp_pfn_t s, base, pfn;

	if (!n)
		return SNP_NO_PAGE;
	s = sens[mm_rng_below(rng, nr_running ? nr_running : n)];
	base = snp_pfn_2m_base(s);
	pfn = base + mm_rng_below(rng, SNP_PTRS_PER_PMD);
	return pfn == s ? SNP_NO_PAGE : pfn;
}

/* A page kernel work holds. */
static snp_pfn_t pick_far(struct kvm_host *host, uint64_t *rng)
{
	const struct kvm_kwork_page *k;

	if (!host->nr_kwork)
		return mm_rng_below(rng, mm_nr_pages(host->mm));
	k = &host->kwork[mm_rng_below(rng, host->nr_kwork)];
	return kvm_page_pfn(host, k->page) + mm_rng_below(rng, 1ULL << k->order);
}

/* What kernel work of one tick aims at: the sensitive pages, and which CPUs entered a guest. */
struct tick_ctx {
	const snp_pfn_t *sens;
	unsigned int n, nr_running;
	const bool *busy;
};

/*
 * vmsave_marks: a write by @cpu into the 2MB region of an aligned save area
 * of another CPU that entered a guest this tick (VMSAVE to it before VMRUN,
 * svm_prepare_switch_to_guest()), through a hugepage, may overlap the
 * VMSAVE window; count it.
 */
static void count_vmsave_window(struct kvm_host *host, unsigned int cpu, snp_pfn_t pfn,
				const bool *busy)
{
	snp_pfn_t base = snp_pfn_2m_base(pfn);
	enum snp_map_size size = SNP_MAP_4K;

	if (!host->cfg.vmsave_marks ||
	    snp_direct_map_lookup(host->machine, snp_pfn_to_virt(pfn), &size) ||
	    size == SNP_MAP_4K)
		return;
	for (unsigned int c = 0; c < host->nr_cpus; c++)
		if (c != cpu && busy[c] && host->sd[c].init &&
		    kvm_page_pfn(host, host->sd[c].save_area) == base)
			host->stats.vmsave_window_writes++;
}

/*
 * A write into a VMRUN region: its 2MB region holds a page in-use now (a
 * running vCPU's VMCB, VMSA or AVIC page).  Counted, all and through a
 * hugepage leaf, for the tick's real-time length: watch measures the same
 * stores per second in a real run (docs/MODEL.md "The tick in real time").
 */
static void count_region_write(struct kvm_host *host, snp_pfn_t pfn)
{
	enum snp_map_size size = SNP_MAP_4K;

	if (!snp_rmp_2m_nr_inuse(snp_machine_rmp(host->machine), pfn))
		return;
	host->stats.region_writes++;
	if (!snp_direct_map_lookup(host->machine, snp_pfn_to_virt(pfn), &size) && size != SNP_MAP_4K)
		host->stats.region_huge_writes++;
}

static void kwork_write(struct kvm_host *host, unsigned int cpu, bool near, const struct tick_ctx *t,
			uint64_t *rng, struct kvm_tick_report *rep)
{
	snp_pfn_t pfn = near ? pick_near(host, t->sens, t->n, t->nr_running, rng) : pick_far(host, rng);
	int ret;

	if (pfn == SNP_NO_PAGE || !kernel_may_write(host, pfn))
		return;
	count_vmsave_window(host, cpu, pfn, t->busy);
	count_region_write(host, pfn);
	ret = snp_host_write(host->machine, cpu, snp_pfn_to_virt(pfn));
	/* A fault is the point of the write: the machine's fault log counts it. */
	if (ret != SNP_EFAULT)
		kvm_warn_on_err(host, ret);
	host->stats.kernel_writes++;
	rep->writes++;
}

static void kernel_work(struct kvm_host *host, unsigned int cpu, const struct kvm_tick_config *cfg,
			const struct tick_ctx *t, uint64_t *rng, struct kvm_tick_report *rep)
{
	for (unsigned int i = 0; i < cfg->kernel_ops; i++) {
		uint64_t r = mm_rng_below(rng, 100);

		if (r < cfg->alloc_pct)
			kwork_alloc(host, cpu, rng);
		else if (r < cfg->alloc_pct + cfg->free_pct && host->nr_kwork)
			kwork_free_idx(host, cpu, (unsigned int)mm_rng_below(rng, host->nr_kwork));
		else
			kwork_write(host, cpu, mm_rng_below(rng, 100) < cfg->near_pct, t, rng, rep);
	}
}

/* ---- vCPUs ---- */

static unsigned int collect_vcpus(const struct kvm_host *host, struct kvm_vcpu **out, unsigned int max)
{
	unsigned int n = 0;

	for (size_t v = 0; v < host->vms_cap && n < max; v++)
		for (unsigned int i = 0; host->vms[v] && i < host->vms[v]->vcpu_end && n < max; i++)
			if (host->vms[v]->vcpus[i])
				out[n++] = host->vms[v]->vcpus[i];
	return n;
}

/* Try to run a random idle vCPU on cpu; true if it entered. */
static bool tick_run_one(struct kvm_host *host, unsigned int cpu, struct kvm_vcpu **vcpus,
			 unsigned int n, const struct kvm_tick_config *cfg, uint64_t *rng,
			 struct kvm_tick_report *rep)
{
	struct snp_vmrun_result res;
	struct kvm_vcpu *vcpu;
	int ret;

	if (!n)
		return false;
	vcpu = vcpus[mm_rng_below(rng, n)];
	if (vcpu->running_cpu >= 0)
		return false;
	vcpu->in_l2 = vcpu->nested.initialized && mm_rng_below(rng, 100) < cfg->l2_pct;
	ret = kvm_vcpu_run(host, vcpu->kvm->id, vcpu->vcpu_id, cpu, &res);
	if (!ret && res.outcome == SNP_VMRUN_ENTERED) {
		rep->vmruns++;
		return true;
	}
	if (!ret || ret == SNP_EFAULT)
		rep->vmrun_failures++;
	return false;
}

static void tick_exit_all(struct kvm_host *host, struct kvm_vcpu **vcpus, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++)
		if (vcpus[i]->running_cpu >= 0)
			kvm_x86_call(host, vcpu_exit)(vcpus[i]);
}

/*
 * The tick's lists (vCPUs, sensitive pfns, busy CPUs), kept in the host and
 * grown as vCPUs are created: a tick allocates nothing once they fit.
 */
static SNP_MUST_CHECK int tick_scratch(struct kvm_host *host, unsigned int max_v, unsigned int max_s)
{
	if (!host->tick_busy) {
		host->tick_busy = calloc(host->nr_cpus, sizeof(*host->tick_busy));
		if (!host->tick_busy)
			return SNP_ENOMEM;
	}
	if (max_v > host->tick_cap_v) {
		struct kvm_vcpu **v = realloc(host->tick_vcpus, max_v * sizeof(*v));

		if (!v)
			return SNP_ENOMEM;
		host->tick_vcpus = v;
		host->tick_cap_v = max_v;
	}
	if (max_s > host->tick_cap_s) {
		snp_pfn_t *p = realloc(host->tick_sens, max_s * sizeof(*p));

		if (!p)
			return SNP_ENOMEM;
		host->tick_sens = p;
		host->tick_cap_s = max_s;
	}
	return 0;
}

int kvm_host_tick(struct kvm_host *host, uint64_t seed, const struct kvm_tick_config *cfg,
		  struct kvm_tick_report *out)
{
	struct kvm_tick_config def;
	struct kvm_tick_report rep = { 0 };
	unsigned long faults0, spur0;
	unsigned int nv, ns, nr_running = 0, max_v, max_s;
	struct kvm_vcpu **vcpus;
	snp_pfn_t *sens;
	bool *busy;
	uint64_t rng = seed;

	if (!host || !host->vendor)
		return SNP_EINVAL;
	if (!cfg) {
		kvm_tick_config_init(&def);
		cfg = &def;
	}
	if (cfg->alloc_pct + cfg->free_pct > 100 || cfg->run_pct > 100)
		return SNP_EINVAL;
	max_v = (unsigned int)host->stats.vcpus_created + 1;
	max_s = 4 * max_v + host->nr_cpus;
	if (tick_scratch(host, max_v, max_s))
		return SNP_ENOMEM;
	kvm_rcu_flush(host);   /* a grace period is shorter than a tick (assumed) */
	vcpus = host->tick_vcpus;
	sens = host->tick_sens;
	busy = host->tick_busy;
	memset(busy, 0, host->nr_cpus * sizeof(*busy));
	/*
	 * A tick is long next to a TLB's life: between two ticks every CPU
	 * touches far more memory than its TLB holds, so no translation
	 * survives (assumed; docs/MODEL.md, "Tick workload").
	 */
	for (unsigned int c = 0; c < host->nr_cpus; c++)
		kvm_warn_on_err(host, snp_tlb_flush_all(host->machine, c));
	faults0 = snp_fault_count(host->machine);
	spur0 = snp_fault_count_spurious(host->machine);
	nv = collect_vcpus(host, vcpus, max_v);
	for (unsigned int c = 0; c < host->nr_cpus; c++)
		if (mm_rng_below(&rng, 100) < cfg->run_pct)
			busy[c] = tick_run_one(host, c, vcpus, nv, cfg, &rng, &rep);
	ns = collect_sensitive(host, sens, max_s, &nr_running, busy);
	for (unsigned int c = 0; c < host->nr_cpus; c++)
		if (!busy[c]) {
			struct tick_ctx t = { sens, ns, nr_running, busy };

			kernel_work(host, c, cfg, &t, &rng, &rep);
		}
	tick_exit_all(host, vcpus, nv);
	/* the vmstat refresh's decay_pcp_high() (6.12), once a tick (assumed: a tick ~ its period) */
	mm_pcp_decay(host->mm);
	host->stats.ticks++;
	rep.faults = (unsigned int)(snp_fault_count(host->machine) - faults0);
	rep.spurious = (unsigned int)(snp_fault_count_spurious(host->machine) - spur0);
	if (out)
		*out = rep;
	return 0;
}
