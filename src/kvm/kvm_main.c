// SPDX-License-Identifier: MIT
/*
 * kvm_main.c - VM and vCPU life: kvm_create_vm / kvm_destroy_vm and
 * kvm_vm_ioctl_create_vcpu of Linux virt/kvm/kvm_main.c, with the x86 parts
 * of arch/x86/kvm/x86.c they call (kvm_arch_vcpu_create,
 * kvm_arch_vcpu_destroy).  Guest memory comes from the modeled allocator in
 * blocks of any order (the guest_memfd / pinned-memory pages of a real VM).
 * Our own code.
 */
#include "kvm/kvm_internal.h"

#include <stdlib.h>
#include <string.h>

/* ---- VM table ---- */

static SNP_MUST_CHECK int kvm_vm_table_add(struct kvm_host *host, struct kvm *kvm)
{
	if ((size_t)host->next_vm_id >= host->vms_cap) {
		size_t cap = host->vms_cap ? 2 * host->vms_cap : 64;
		struct kvm **n = realloc(host->vms, cap * sizeof(*n));

		if (!n)
			return SNP_ENOMEM;
		memset(n + host->vms_cap, 0, (cap - host->vms_cap) * sizeof(*n));
		host->vms = n;
		host->vms_cap = cap;
	}
	kvm->id = host->next_vm_id++;
	host->vms[kvm->id] = kvm;
	host->nr_vms++;
	return 0;
}

/* ---- guest memory ---- */

static unsigned int guest_block_order(uint64_t left, unsigned int max_order)
{
	unsigned int o = 0;

	while (o < max_order && (2ULL << o) <= left)
		o++;
	return o;
}

static SNP_MUST_CHECK int kvm_mem_push(struct kvm *kvm, struct page *p, unsigned int order, snp_gpa_t gpa)
{
	struct kvm_guest_block *n = realloc(kvm->mem, (kvm->nr_mem + 1) * sizeof(*n));

	if (!n)
		return SNP_ENOMEM;
	kvm->mem = n;
	kvm->mem[kvm->nr_mem++] = (struct kvm_guest_block){ .page = p, .order = order, .gpa = gpa };
	return 0;
}

/*
 * Guest memory, largest blocks first so each block's GPA is aligned to its
 * size.  A block that cannot be had at its order is tried at smaller ones.
 * Mobility: an SNP guest's private memory is guest_memfd, whose folios are
 * UNMOVABLE (6.12.95 virt/kvm/guest_memfd.c: mapping_set_gfp_mask(...,
 * GFP_HIGHUSER), no __GFP_MOVABLE, and mapping_set_inaccessible()); other
 * guests run on the VMM's anonymous memory (GFP_HIGHUSER_MOVABLE).
 */
static SNP_MUST_CHECK int kvm_alloc_guest_memory(struct kvm *kvm)
{
	struct kvm_host *host = kvm->host;
	uint64_t left = kvm_gmem_lazy(kvm) ? 0 : kvm->cfg.guest_pages;
	mm_gfp_t gfp = kvm_guest_snp(kvm) ? MM_GFP_KERNEL_ACCOUNT : MM_GFP_HIGHUSER_MOVABLE;
	snp_gpa_t gpa = 0;

	while (left) {
		unsigned int order = guest_block_order(left, kvm->cfg.max_guest_order);
		struct page *p = NULL;

		for (;; order--) {
			p = mm_alloc_pages(host->mm, kvm->cfg.cpu, gfp | MM_GFP_ZERO, order);
			if (p || order == 0)
				break;
		}
		if (!p)
			return SNP_ENOMEM;
		if (kvm_mem_push(kvm, p, order, gpa)) {
			kvm_warn_on_err(host, mm_free_pages(host->mm, kvm->cfg.cpu, p, order));
			return SNP_ENOMEM;
		}
		host->stats.guest_pages += 1ULL << order;
		gpa += (snp_gpa_t)SNP_PAGE_SIZE << order;
		left -= 1ULL << order;
	}
	return 0;
}

/* An SNP guest's memory is guest_memfd, taken at first use (kvm_vm_config.gmem_first_use). */
bool kvm_gmem_lazy(const struct kvm *kvm)
{
	return kvm_guest_snp(kvm) && kvm->cfg.gmem_first_use;
}

/*
 * The pages of the guest's memory vCPU @vcpu_id touches first: its share,
 * [*first, *end), of gmem_faulted_pct percent of guest_pages, split evenly
 * over the VM's vCPU ids (an assumed split: which vCPU touches a page first
 * is the guest's business).
 */
static void kvm_gmem_share(const struct kvm *kvm, unsigned int vcpu_id, uint64_t *first, uint64_t *end)
{
	uint64_t n = kvm->cfg.guest_pages * kvm->cfg.gmem_faulted_pct / 100;
	unsigned int nv = kvm->vcpu_end ? kvm->vcpu_end : 1;

	*first = n * vcpu_id / nv;
	*end = n * (vcpu_id + 1) / nv;
}

/*
 * A private fault on guest_memfd (6.12.95 virt/kvm/guest_memfd.c
 * kvm_gmem_get_pfn() -> kvm_gmem_get_folio(): filemap_grab_folio() with the
 * mapping's GFP_HIGHUSER, an order-0 folio, UNMOVABLE; then
 * kvm_gmem_prepare_folio(): clear_highpage() and kvm_arch_gmem_prepare()),
 * on @cpu, the CPU the faulting vCPU runs on.  At a vCPU's first run it
 * faults in its share at once.  -ENOMEM fails the run (KVM_RUN returns it);
 * the pages faulted so far stay the guest's, and the next run goes on from
 * the first page it lacks.
 */
static SNP_MUST_CHECK int kvm_gmem_fault_in(struct kvm_vcpu *vcpu, unsigned int cpu)
{
	struct kvm *kvm = vcpu->kvm;
	struct kvm_host *host = kvm->host;
	uint64_t first, end;

	if (!kvm_gmem_lazy(kvm))
		return 0;
	kvm_gmem_share(kvm, vcpu->vcpu_id, &first, &end);
	for (uint64_t i = first + vcpu->gmem_done; i < end; i++) {
		struct page *p = mm_alloc_pages(host->mm, cpu, MM_GFP_KERNEL | MM_GFP_ZERO, 0);
		snp_gpa_t gpa = i * SNP_PAGE_SIZE;
		int ret;

		if (!p)
			return SNP_ENOMEM;
		if (kvm_mem_push(kvm, p, 0, gpa)) {
			kvm_warn_on_err(host, mm_free_pages(host->mm, cpu, p, 0));
			return SNP_ENOMEM;
		}
		host->stats.guest_pages++;
		vcpu->gmem_done++;   /* the guest's now, prepared or not */
		ret = kvm_x86_has(host, gmem_prepare) ?
		      kvm_x86_call(host, gmem_prepare)(kvm, kvm_page_pfn(host, p), gpa) : 0;
		if (ret)
			return ret;
		kvm->mem[kvm->nr_mem - 1].private = true;
	}
	return 0;
}

static void kvm_free_guest_memory(struct kvm *kvm)
{
	for (size_t i = 0; i < kvm->nr_mem; i++)
		if (kvm->mem[i].page)
			kvm_warn_on_err(kvm->host, mm_free_pages(kvm->host->mm, kvm->cfg.cpu,
								 kvm->mem[i].page, kvm->mem[i].order));
	free(kvm->mem);
	kvm->mem = NULL;
	kvm->nr_mem = 0;
}

/* ---- vCPUs ---- */

/* An order-0 zeroed GFP_KERNEL_ACCOUNT page on @cpu (alloc_page(), vzalloc() of one page). */
static struct page *kvm_alloc_zeroed(struct kvm_host *host, unsigned int cpu)
{
	return mm_alloc_pages(host->mm, cpu, MM_GFP_KERNEL_ACCOUNT | MM_GFP_ZERO, 0);
}

static void kvm_free_vcpu_page(struct kvm_host *host, unsigned int cpu, struct page **p)
{
	kvm_free_page(host, cpu, *p);
	*p = NULL;
}

/*
 * kvm_arch_vcpu_destroy() (arch/x86/kvm/x86.c, 6.1 and 6.12): vendor state
 * (vcpu_free), the guest fpstate (fpu_free_guest_fpstate), the LAPIC, the
 * MMU caches (kvm_mmu_destroy), then pio_data; kvm_vcpu_destroy() then
 * frees vcpu->run and the vcpu object (kmem_cache_free(kvm_vcpu_cache)).
 * Everything is freed on @cpu, the CPU the teardown runs on.
 */
static void kvm_arch_vcpu_destroy(struct kvm_vcpu *vcpu, unsigned int cpu)
{
	struct kvm_host *host = vcpu->kvm->host;

	if (vcpu->running_cpu >= 0)
		kvm_x86_call(host, vcpu_exit)(vcpu);
	kvm_x86_call(host, vcpu_free)(vcpu, cpu);
	kvm_free_vcpu_page(host, cpu, &vcpu->guest_fpu);
	if (vcpu->has_apic)
		kvm_warn_on_err(host, kvm_free_lapic(vcpu, cpu));
	kvm_mmu_destroy(vcpu, cpu);
	kvm_free_vcpu_page(host, cpu, &vcpu->pio_data);
}

/* kvm_vcpu_destroy()'s last steps: vcpu->run, then the vcpu object, on @cpu. */
static void kvm_vcpu_free_struct(struct kvm_vcpu *vcpu, unsigned int cpu)
{
	struct kvm_host *host = vcpu->kvm->host;

	kvm_free_vcpu_page(host, cpu, &vcpu->run);
	kvm_warn_on_err(host, mm_kmem_cache_free(host->kvm_vcpu_cache, cpu, vcpu->slab_obj));
	free(vcpu);
}

/*
 * kvm_arch_vcpu_create() (x86.c, 6.1 and 6.12), the page allocations in
 * order: kvm_mmu_create() (no page with NPT: its caches fill at the first
 * KVM_RUN), the LAPIC page (kvm_create_lapic(), through the vendor hook),
 * the pio_data page, the guest fpstate (fpu_alloc_guest_fpstate(): vzalloc()
 * of the default xstate size plus the header, under 4 KiB: one page), then
 * the vendor's vcpu_create (svm: vmcb01, the SEV-ES VMSA, the
 * MSR permission map).  The small objects (mce_banks, the wbinvd cpumask,
 * the emulator context, the vmalloc area's own bookkeeping) come from
 * kmalloc caches shared with the rest of the kernel and are not modeled.
 * All on the creating CPU, vcpu->created_on.
 */
static SNP_MUST_CHECK int kvm_arch_vcpu_create(struct kvm_vcpu *vcpu)
{
	struct kvm_host *host = vcpu->kvm->host;
	unsigned int cpu = vcpu->created_on;
	int ret;

	kvm_mmu_create(vcpu);
	if (vcpu->has_apic) {
		ret = kvm_create_lapic(vcpu);
		if (ret)
			return ret;
	}
	vcpu->pio_data = kvm_alloc_zeroed(host, cpu);
	vcpu->guest_fpu = vcpu->pio_data ? kvm_alloc_zeroed(host, cpu) : NULL;
	if (!vcpu->guest_fpu)
		ret = SNP_ENOMEM;
	else
		ret = kvm_x86_call(host, vcpu_create)(vcpu);
	if (ret) {
		kvm_free_vcpu_page(host, cpu, &vcpu->guest_fpu);
		if (vcpu->has_apic)
			kvm_warn_on_err(host, kvm_free_lapic(vcpu, cpu));
		kvm_free_vcpu_page(host, cpu, &vcpu->pio_data);
	}
	return ret;
}

int kvm_create_vcpu(struct kvm_host *host, int vm, unsigned int vcpu_id, unsigned int cpu)
{
	struct kvm *kvm = kvm_get_vm(host, vm);
	struct kvm_vcpu *vcpu;
	int ret;

	if (!kvm)
		return host ? SNP_ENOENT : SNP_EINVAL;
	if (vcpu_id >= KVM_MAX_VCPUS || cpu >= host->nr_cpus)
		return SNP_EINVAL;
	if (kvm->vcpus[vcpu_id])
		return SNP_EEXIST;
	if (kvm->launched && kvm_guest_sev_es(kvm))
		return SNP_EPERM;   /* the VMSAs were measured at launch */
	vcpu = calloc(1, sizeof(*vcpu));
	if (!vcpu)
		return SNP_ENOMEM;
	*vcpu = (struct kvm_vcpu){ .kvm = kvm, .vcpu_id = vcpu_id, .created_on = cpu,
				   .running_cpu = -1, .has_apic = kvm->cfg.lapic_in_kernel };
	/*
	 * kvm_vm_ioctl_create_vcpu() (virt/kvm/kvm_main.c): the vcpu object
	 * (kmem_cache_zalloc(kvm_vcpu_cache, GFP_KERNEL_ACCOUNT)), vcpu->run,
	 * then the arch part.
	 */
	vcpu->slab_obj = mm_kmem_cache_alloc(host->kvm_vcpu_cache, cpu,
					     MM_GFP_ACCOUNT | MM_GFP_ZERO);
	if (vcpu->slab_obj < 0) {
		free(vcpu);
		return SNP_ENOMEM;
	}
	vcpu->run = kvm_alloc_zeroed(host, cpu);
	ret = vcpu->run ? kvm_arch_vcpu_create(vcpu) : SNP_ENOMEM;
	if (ret) {
		kvm_vcpu_free_struct(vcpu, cpu);
		return ret;
	}
	kvm->vcpus[vcpu_id] = vcpu;
	kvm->nr_vcpus++;
	/* kvm_create_vcpu_debugfs(): its files (a failure there fails no vCPU) */
	if (kvm_create_vcpu_debugfs(vcpu, cpu))
		host->stats.debugfs_failed++;
	if (vcpu_id >= kvm->vcpu_end)
		kvm->vcpu_end = vcpu_id + 1;
	host->stats.vcpus_created++;
	return 0;
}

/* ---- VMs ---- */

static SNP_MUST_CHECK int kvm_check_vm_config(const struct kvm_host *host, const struct kvm_vm_config *cfg)
{
	if ((unsigned int)cfg->type > SNP_GUEST_SNP || cfg->cpu >= host->nr_cpus ||
	    cfg->max_guest_order > KVM_MAX_GUEST_ORDER || cfg->gmem_faulted_pct > 100 ||
	    cfg->guest_pages > mm_nr_pages(host->mm))
		return SNP_EINVAL;
	return 0;
}

/*
 * kvm_arch_alloc_vm() (arch/x86/include/asm/kvm_host.h): __vmalloc() of the
 * vendor's vm_size, GFP_KERNEL_ACCOUNT | __GFP_ZERO.  vmalloc takes one
 * order-0 page per 4 KiB (vm_area_alloc_pages(); the bulk allocator takes
 * them one by one from the same per-CPU list), on the VMM's CPU.
 */
static SNP_MUST_CHECK int kvm_arch_alloc_vm(struct kvm *kvm)
{
	struct kvm_host *host = kvm->host;
	unsigned int n = (host->x86.vm_size + SNP_PAGE_SIZE - 1) / SNP_PAGE_SIZE;

	kvm->vm_pages = calloc(n, sizeof(*kvm->vm_pages));
	if (!kvm->vm_pages)
		return SNP_ENOMEM;
	for (; kvm->nr_vm_pages < n; kvm->nr_vm_pages++) {
		kvm->vm_pages[kvm->nr_vm_pages] = kvm_alloc_zeroed(host, kvm->cfg.cpu);
		if (!kvm->vm_pages[kvm->nr_vm_pages])
			return SNP_ENOMEM;
	}
	return 0;
}

/* kvm_arch_free_vm() -> vfree(): the pages in index order, then the VM itself. */
static void kvm_arch_free_vm(struct kvm *kvm)
{
	for (unsigned int i = 0; i < kvm->nr_vm_pages; i++)
		kvm_free_page(kvm->host, kvm->cfg.cpu, kvm->vm_pages[i]);
	free(kvm->vm_pages);
	free(kvm);
}

int kvm_create_vm(struct kvm_host *host, const struct kvm_vm_config *cfg)
{
	struct kvm *kvm;
	int ret;

	if (!host || !cfg || kvm_check_vm_config(host, cfg))
		return SNP_EINVAL;
	if (!host->vendor)
		return SNP_ENOENT;
	kvm = calloc(1, sizeof(*kvm));
	if (!kvm)
		return SNP_ENOMEM;
	kvm->host = host;
	kvm->cfg = *cfg;
	ret = kvm_arch_alloc_vm(kvm);
	if (!ret)
		ret = kvm_x86_call(host, vm_init)(kvm);
	if (ret) {
		kvm_arch_free_vm(kvm);
		return ret;
	}
	ret = kvm_vm_table_add(host, kvm);
	if (ret) {
		kvm_x86_call(host, vm_destroy)(kvm);
		kvm_arch_free_vm(kvm);
		return ret;
	}
	/* kvm_coalesced_mmio_init() (virt/kvm/coalesced_mmio.c): the ring, one zeroed page */
	kvm->coalesced_mmio_ring = kvm_alloc_zeroed(host, kvm->cfg.cpu);
	/* kvm_dev_ioctl_create_vm(): then the VM's debugfs directory (a failure fails no VM) */
	if (kvm->coalesced_mmio_ring && kvm_create_vm_debugfs(kvm))
		host->stats.debugfs_failed++;
	ret = kvm->coalesced_mmio_ring ? kvm_alloc_guest_memory(kvm) : SNP_ENOMEM;
	if (ret) {
		kvm_warn_on_err(host, kvm_destroy_vm(host, kvm->id));
		host->stats.vms_destroyed--;   /* it was never counted as created */
		return ret;
	}
	host->stats.vms_created++;
	return kvm->id;
}

/*
 * kvm_arch_gmem_invalidate(): the vendor's last word on a VM's memory before
 * it goes back to the allocator (Linux 6.12 arch/x86/kvm/x86.c: the call
 * through kvm_x86_call(gmem_invalidate); SVM makes private pages shared).
 * Generic code does not ask whether the VM is SNP: the vendor does.  A
 * vendor without the op has nothing to undo (static_call_cond()).
 */
static void kvm_arch_gmem_invalidate(struct kvm *kvm)
{
	if (kvm_x86_has(kvm->host, gmem_invalidate))
		kvm_x86_call(kvm->host, gmem_invalidate)(kvm);
}

int kvm_vm_set_vmm_cpu(struct kvm_host *host, int vm, unsigned int cpu)
{
	struct kvm *kvm = kvm_get_vm(host, vm);

	if (!kvm)
		return host ? SNP_ENOENT : SNP_EINVAL;
	if (cpu >= host->nr_cpus)
		return SNP_EINVAL;
	kvm->cfg.cpu = cpu;
	return 0;
}

int kvm_destroy_vm(struct kvm_host *host, int vm)
{
	struct kvm *kvm = kvm_get_vm(host, vm);

	if (!kvm)
		return host ? SNP_ENOENT : SNP_EINVAL;
	/*
	 * The teardown runs on the VMM's CPU, kvm->cfg.cpu, in kvm_destroy_vm()'s
	 * order: the coalesced MMIO ring (kvm_coalesced_mmio_free()), the vCPUs
	 * (kvm_arch_destroy_vm() -> kvm_destroy_vcpus()), memory, and struct kvm
	 * last (kvm_arch_free_vm()).
	 */
	kvm_destroy_vm_debugfs(kvm, kvm->cfg.cpu);
	kvm_free_page(host, kvm->cfg.cpu, kvm->coalesced_mmio_ring);
	kvm->coalesced_mmio_ring = NULL;
	for (unsigned int i = 0; i < KVM_MAX_VCPUS; i++) {
		if (!kvm->vcpus[i])
			continue;
		kvm_arch_vcpu_destroy(kvm->vcpus[i], kvm->cfg.cpu);
		kvm_vcpu_free_struct(kvm->vcpus[i], kvm->cfg.cpu);   /* kvm_vcpu_destroy() */
		kvm->vcpus[i] = NULL;
	}
	kvm_arch_gmem_invalidate(kvm);
	kvm_free_guest_memory(kvm);
	kvm_x86_call(host, vm_destroy)(kvm);
	host->vms[vm] = NULL;
	host->nr_vms--;
	host->stats.vms_destroyed++;
	kvm_arch_free_vm(kvm);
	return 0;
}

int kvm_vm_launch(struct kvm_host *host, int vm)
{
	struct kvm *kvm = kvm_get_vm(host, vm);

	if (!kvm)
		return host ? SNP_ENOENT : SNP_EINVAL;
	if (kvm->launched)
		return SNP_EEXIST;
	if (!kvm_x86_has(host, vm_launch)) {
		kvm->launched = true;
		return 0;
	}
	return kvm_x86_call(host, vm_launch)(kvm);
}

int kvm_vm_info(const struct kvm_host *host, int vm, enum snp_guest_type *type, uint32_t *asid,
		unsigned int *nr_vcpus)
{
	const struct kvm *kvm = kvm_get_vm(host, vm);

	if (!kvm)
		return host ? SNP_ENOENT : SNP_EINVAL;
	if (type)
		*type = kvm->cfg.type;
	if (asid)
		*asid = kvm->asid;
	if (nr_vcpus)
		*nr_vcpus = kvm->nr_vcpus;
	return 0;
}

int kvm_vm_guest_pfns(const struct kvm_host *host, int vm, snp_pfn_t *out, size_t max, size_t *nr)
{
	const struct kvm *kvm = kvm_get_vm(host, vm);

	if (!kvm || !nr || (max && !out))
		return kvm || !host ? SNP_EINVAL : SNP_ENOENT;
	*nr = 0;
	for (size_t i = 0; i < kvm->nr_mem; i++) {
		snp_pfn_t base = kvm_page_pfn(host, kvm->mem[i].page);

		for (uint64_t j = 0; kvm->mem[i].page && j < (1ULL << kvm->mem[i].order); j++, (*nr)++)
			if (*nr < max)
				out[*nr] = base + j;
	}
	return 0;
}

/* ---- nested, pages, run ---- */

/* Look a vCPU up: 0 with *out, or the error a caller returns. */
static SNP_MUST_CHECK int kvm_lookup_vcpu(const struct kvm_host *host, int vm, unsigned int vcpu_id,
			   struct kvm_vcpu **out)
{
	if (!host)
		return SNP_EINVAL;
	if (!kvm_get_vm(host, vm))
		return SNP_ENOENT;
	if (vcpu_id >= KVM_MAX_VCPUS)
		return SNP_EINVAL;
	*out = kvm_get_vcpu(host, vm, vcpu_id);
	return *out ? 0 : SNP_ENOENT;
}

int kvm_vcpu_enable_nested(struct kvm_host *host, int vm, unsigned int vcpu_id)
{
	struct kvm_vcpu *vcpu;
	int ret = kvm_lookup_vcpu(host, vm, vcpu_id, &vcpu);

	if (ret)
		return ret;
	if (!kvm_x86_has(host, nested_enable))
		return SNP_ENOTSUP;
	if (vcpu->nested.initialized)
		return SNP_EEXIST;
	return kvm_x86_call(host, nested_enable)(vcpu);   /* on vcpu->created_on */
}

int kvm_vcpu_disable_nested(struct kvm_host *host, int vm, unsigned int vcpu_id)
{
	struct kvm_vcpu *vcpu;
	int ret = kvm_lookup_vcpu(host, vm, vcpu_id, &vcpu);

	if (ret)
		return ret;
	if (!kvm_x86_has(host, nested_free))
		return SNP_ENOTSUP;
	if (!vcpu->nested.initialized)
		return SNP_ENOENT;
	if (vcpu->running_cpu >= 0)
		return SNP_EBUSY;
	kvm_x86_call(host, nested_free)(vcpu, vcpu->created_on);
	return 0;
}

int kvm_vcpu_set_guest_mode(struct kvm_host *host, int vm, unsigned int vcpu_id, bool l2)
{
	struct kvm_vcpu *vcpu;
	int ret = kvm_lookup_vcpu(host, vm, vcpu_id, &vcpu);

	if (ret)
		return ret;
	if (l2 && !vcpu->nested.initialized)
		return SNP_EINVAL;
	if (vcpu->running_cpu >= 0)
		return SNP_EBUSY;
	vcpu->in_l2 = l2;
	return 0;
}

int kvm_vcpu_get_pages(const struct kvm_host *host, int vm, unsigned int vcpu_id,
		       struct kvm_vcpu_pages *out)
{
	struct kvm_vcpu *vcpu;
	int ret = kvm_lookup_vcpu(host, vm, vcpu_id, &vcpu);

	if (ret)
		return ret;
	if (!out)
		return SNP_EINVAL;
	out->vmcb01 = kvm_page_pfn(host, vcpu->vmcb01);
	out->vmcb02 = kvm_page_pfn(host, vcpu->nested.vmcb02);
	out->vmsa = kvm_page_pfn(host, vcpu->vmsa);
	out->avic = kvm_page_pfn(host, vcpu->apic.regs);
	out->pio = kvm_page_pfn(host, vcpu->pio_data);
	out->run = kvm_page_pfn(host, vcpu->run);
	out->fpu = kvm_page_pfn(host, vcpu->guest_fpu);
	out->pml = kvm_page_pfn(host, vcpu->pml_page);
	out->avic_from_hook = vcpu->apic.from_hook;
	return 0;
}

int kvm_vcpu_run(struct kvm_host *host, int vm, unsigned int vcpu_id, unsigned int cpu,
		 struct snp_vmrun_result *res)
{
	struct kvm_vcpu *vcpu;
	int ret = kvm_lookup_vcpu(host, vm, vcpu_id, &vcpu);

	if (ret)
		return ret;
	if (cpu >= host->nr_cpus || !res)
		return SNP_EINVAL;
	if (vcpu->running_cpu >= 0)
		return SNP_EBUSY;
	/* vcpu_enter_guest() -> kvm_mmu_reload(): the first run fills the MMU caches */
	ret = kvm_mmu_load(vcpu, cpu);
	if (!ret)   /* the guest's first touches of its private memory */
		ret = kvm_gmem_fault_in(vcpu, cpu);
	if (ret)
		return ret;
	ret = kvm_x86_call(host, vcpu_run)(vcpu, cpu, res);
	if (!ret && res->outcome == SNP_VMRUN_ENTERED)
		host->stats.vmruns++;
	else if (!ret || ret == SNP_EFAULT)
		host->stats.vmrun_failures++;
	return ret;
}

int kvm_vcpu_exit(struct kvm_host *host, int vm, unsigned int vcpu_id)
{
	struct kvm_vcpu *vcpu;
	int ret = kvm_lookup_vcpu(host, vm, vcpu_id, &vcpu);

	if (ret)
		return ret;
	if (vcpu->running_cpu < 0)
		return SNP_ENOENT;
	return kvm_x86_call(host, vcpu_exit)(vcpu);
}
