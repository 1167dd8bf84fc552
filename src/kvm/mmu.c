// SPDX-License-Identifier: MIT
/*
 * mmu.c - the pages a vCPU's MMU takes from the page allocator: the memory
 * caches of arch/x86/kvm/mmu/mmu.c (kvm_mmu_create(), kvm_mmu_load() ->
 * mmu_topup_memory_caches(), kvm_mmu_destroy() -> mmu_free_memory_caches())
 * over virt/kvm/kvm_main.c's __kvm_mmu_topup_memory_cache() and
 * kvm_mmu_free_memory_cache(), Debian's 6.1.192 and 6.12.95 alike but for
 * how a shadow page is initialised.  Our own code.
 *
 * The first KVM_RUN loads the MMU: the shadow-page cache, empty, holds
 * fewer than PT64_ROOT_MAX_LEVEL pages, so it is filled to
 * KVM_ARCH_NR_OBJS_PER_MEMORY_CACHE (40) order-0 GFP_KERNEL_ACCOUNT pages
 * on the CPU the vCPU runs on.  Running L2 with nested NPT loads the guest
 * MMU, whose root is not direct (maybe_indirect), and fills the
 * shadowed-info cache the same way.  The slab caches topped up beside them
 * (pte_list_desc, kvm_mmu_page_header) are small objects in merged caches
 * and are not modeled, nor are the pages the guest's page faults take from
 * the cache (the TDP root, page tables): every page stays in the cache
 * until the vCPU is destroyed (upstream frees the page tables with the VM).
 */
#include "kvm/kvm_internal.h"

#define PT64_ROOT_MAX_LEVEL 5

/*
 * kvm_mmu_create(): 6.1.192 zeroes shadow pages (__GFP_ZERO); 6.12.95 fills
 * them with SHADOW_NONPRESENT_VALUE (bit 63 on x86-64) instead, so asks no
 * __GFP_ZERO.  The shadowed-info cache is never zeroed.
 */
void kvm_mmu_create(struct kvm_vcpu *vcpu)
{
	bool k61 = vcpu->kvm->host->cfg.kernel == MM_KERNEL_6_1;

	vcpu->mmu_shadow_page_cache = (struct kvm_mmu_memory_cache){
		.gfp_zero = k61 ? MM_GFP_ZERO : 0, .init_value = !k61,
	};
	vcpu->mmu_shadowed_info_cache = (struct kvm_mmu_memory_cache){ 0 };
}

/*
 * __kvm_mmu_topup_memory_cache(): nothing while the cache holds @min;
 * otherwise fill it to capacity, and fail (-ENOMEM) only when it ends
 * below @min.
 */
static SNP_MUST_CHECK int kvm_mmu_topup_memory_cache(struct kvm_host *host, unsigned int cpu,
						     struct kvm_mmu_memory_cache *mc, unsigned int min)
{
	if (mc->nobjs >= min)
		return 0;
	while (mc->nobjs < KVM_ARCH_NR_OBJS_PER_MEMORY_CACHE) {
		struct page *p = mm_alloc_pages(host->mm, cpu, MM_GFP_KERNEL_ACCOUNT | mc->gfp_zero, 0);

		if (!p)
			return mc->nobjs >= min ? 0 : SNP_ENOMEM;
		if (mc->init_value)   /* memset64(page, SHADOW_NONPRESENT_VALUE, ...) */
			kvm_warn_on_err(host, mm_page_write(host->mm, p));
		mc->objects[mc->nobjs++] = p;
		host->mmu_cache_pages++;
	}
	return 0;
}

/* kvm_mmu_free_memory_cache(): last in, first out. */
static void kvm_mmu_free_memory_cache(struct kvm_host *host, unsigned int cpu,
				      struct kvm_mmu_memory_cache *mc)
{
	while (mc->nobjs) {
		kvm_free_page(host, cpu, mc->objects[--mc->nobjs]);
		host->mmu_cache_pages--;
	}
}

/*
 * kvm_mmu_load() -> mmu_topup_memory_caches(vcpu, maybe_indirect), on the
 * CPU of KVM_RUN.  L1 runs on a direct (TDP) root; L2 on the guest MMU,
 * which shadows L1's nested page tables (assumed: L1 uses nested paging).
 */
int kvm_mmu_load(struct kvm_vcpu *vcpu, unsigned int cpu)
{
	struct kvm_host *host = vcpu->kvm->host;
	bool maybe_indirect = vcpu->in_l2 && vcpu->nested.initialized;
	int ret = kvm_mmu_topup_memory_cache(host, cpu, &vcpu->mmu_shadow_page_cache,
					     PT64_ROOT_MAX_LEVEL);

	if (!ret && maybe_indirect)
		ret = kvm_mmu_topup_memory_cache(host, cpu, &vcpu->mmu_shadowed_info_cache,
						 PT64_ROOT_MAX_LEVEL);
	return ret;
}

/* kvm_mmu_destroy() -> mmu_free_memory_caches(): the shadow pages, then the shadowed info. */
void kvm_mmu_destroy(struct kvm_vcpu *vcpu, unsigned int cpu)
{
	struct kvm_host *host = vcpu->kvm->host;

	kvm_mmu_free_memory_cache(host, cpu, &vcpu->mmu_shadow_page_cache);
	kvm_mmu_free_memory_cache(host, cpu, &vcpu->mmu_shadowed_info_cache);
}
