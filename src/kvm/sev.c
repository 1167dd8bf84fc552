// SPDX-License-Identifier: MIT
/*
 * sev.c - SEV, SEV-ES and SNP guests.  Mirrors Linux arch/x86/kvm/svm/sev.c:
 * sev_asid_new / sev_asid_free, sev_vcpu_create / sev_free_vcpu (the VMSA),
 * the SNP launch (snp_launch_update, snp_launch_update_vmsa,
 * snp_launch_finish) and the teardown of SNP memory (sev_gmem_invalidate:
 * every private page made shared again before it is freed; a page that
 * cannot be is leaked on purpose, snp_leak_pages).  Our own code.
 */
#include "kvm/kvm_internal.h"

#include <stdio.h>
#include <string.h>

/* ---- ASIDs ---- */

/* The first ASID in [lo, hi] that is not used, or 0. */
static unsigned int sev_asid_find_free(const struct kvm_host *host, unsigned int lo, unsigned int hi)
{
	for (unsigned int a = lo; a <= hi; a++)
		if (!host->asid_used[a])
			return a;
	return 0;
}

/*
 * __sev_recycle_asids(): when some ASID in [lo, hi] waits for reclaim, one
 * flush (WBINVD on all CPUs, then SNP_DF_FLUSH or DF_FLUSH) frees every
 * waiting ASID, in both ranges; false when none waits in [lo, hi]
 * (sev_flush_asids() then returns -EBUSY without flushing).
 */
static bool sev_recycle_asids(struct kvm_host *host, unsigned int lo, unsigned int hi)
{
	bool any = false;

	for (unsigned int a = lo; a <= hi && !any; a++)
		any = host->asid_reclaim[a];
	if (!any)
		return false;
	for (unsigned int a = 1; a <= host->cfg.max_sev_asid; a++) {
		if (host->asid_reclaim[a])
			host->asid_used[a] = false;
		host->asid_reclaim[a] = false;
	}
	host->stats.asid_flushes++;
	return true;
}

/**
 * sev_asid_new() - an ASID for an SEV, SEV-ES or SNP VM.
 *
 * Mirrors arch/x86/kvm/svm/sev.c sev_asid_new() (Linux 6.12; unchanged in
 * 6.18): SEV-ES and SNP guests share ASIDs 1..min_sev_asid-1, SEV guests
 * min_sev_asid..max_sev_asid (CPUID Fn8000_001F ECX/EDX).  The lowest free
 * one is taken; when none is free and a destroyed VM's ASID waits for
 * reclaim, one flush recycles them and the search runs once more.  Still
 * none: -EBUSY, which KVM_SEV_INIT / KVM_SEV_INIT2 (here VM creation)
 * returns to the VMM; the VM is refused, the host goes on.
 */
static SNP_MUST_CHECK int sev_asid_new(struct kvm *kvm)
{
	struct kvm_host *host = kvm->host;
	unsigned int lo = kvm_guest_sev_es(kvm) ? 1 : host->cfg.min_sev_asid;
	unsigned int hi = kvm_guest_sev_es(kvm) ? host->cfg.min_sev_asid - 1 : host->cfg.max_sev_asid;
	unsigned int a = sev_asid_find_free(host, lo, hi);

	if (!a && sev_recycle_asids(host, lo, hi))
		a = sev_asid_find_free(host, lo, hi);
	if (!a)
		return SNP_EBUSY;
	host->asid_used[a] = true;
	kvm->asid = a;
	kvm->sev_asid = true;
	return 0;
}

int sev_vm_init(struct kvm *kvm)
{
	if (kvm_guest_snp(kvm) && !kvm->host->cfg.snp_enabled)
		return SNP_ENOTSUP;
	return sev_asid_new(kvm);
}

/*
 * sev_asid_free() (arch/x86/kvm/svm/sev.c): the ASID is not free yet, only
 * reclaimable; sev_asid_new() flushes before it is reused.
 */
void sev_vm_destroy(struct kvm *kvm)
{
	if (kvm->sev_asid)
		kvm->host->asid_reclaim[kvm->asid] = true;
	kvm->sev_asid = false;
}

/* ---- the VMSA ---- */

/* sev_vcpu_create(): the VMSA page of an SEV-ES or SNP vCPU, SNP-safe. */
int sev_vcpu_create(struct kvm_vcpu *vcpu)
{
	struct kvm_host *host = vcpu->kvm->host;

	vcpu->vmsa = kvm_alloc_sensitive(host, vcpu->created_on, KVM_PAGE_VMSA, MM_NUMA_NO_NODE,
					 MM_GFP_KERNEL_ACCOUNT);
	if (!vcpu->vmsa)
		return SNP_ENOMEM;
	kvm_account_sensitive(host, KVM_PAGE_VMSA, vcpu->vmsa);
	return 0;
}

/*
 * Make a page the guest owns Hypervisor-owned again: firmware reclaim first
 * when the entry is immutable (Pre-Guest, Pre-Swap, ...), then RMPUPDATE
 * (rmp_make_shared).  Returns 0 or a negative SNP_E* (SNP_EFAULT when
 * RMPUPDATE failed, its code in *rmp_ret, as snp_leak_pages() records it).
 */
static SNP_MUST_CHECK int snp_page_reclaim_shared(struct kvm_host *host, snp_pfn_t pfn,
						  int *rmp_ret)
{
	struct snp_rmp *rmp = snp_machine_rmp(host->machine);
	struct snp_rmpentry e;
	int ret = snp_rmp_query(rmp, snp_pfn_to_phys(pfn), &e);

	if (ret)
		return ret;
	if (!e.assigned)
		return 0;
	if (e.immutable) {
		ret = snp_fw_page_reclaim(rmp, snp_pfn_to_phys(pfn));
		if (ret)
			return ret;
	}
	return snp_rmp_make_shared(host->machine, pfn, SNP_MAP_4K, rmp_ret);
}

/**
 * sev_free_vcpu() - free the VMSA (on @cpu, the CPU the teardown runs on).
 *
 * As Linux does it (arch/x86/kvm/svm/sev.c sev_free_vcpu(), 6.9+): an SNP
 * VMSA is made shared with one RMPUPDATE (kvm_rmp_make_shared() ->
 * rmp_make_shared()), no firmware reclaim first; if that fails (the page is
 * still in-use, or immutable because the launch never finished) freeing it
 * would poison the next owner, so it is leaked on purpose
 * (snp_leak_pages()) and listed.
 */
void sev_free_vcpu(struct kvm_vcpu *vcpu, unsigned int cpu)
{
	struct kvm_host *host = vcpu->kvm->host;
	char label[48];
	int ret, code = SNP_RMP_SUCCESS;

	if (!vcpu->vmsa)
		return;
	if (vcpu->vmsa_private) {
		snp_pfn_t pfn = kvm_page_pfn(host, vcpu->vmsa);

		ret = snp_rmp_make_shared(host->machine, pfn, SNP_MAP_4K, &code);
		if (ret) {
			kvm_vcpu_label(vcpu, "vmsa", label, sizeof(label));
			snp_leak_pages(host, pfn, KVM_PAGE_VMSA, code ? code : ret, label);
			vcpu->vmsa = NULL;
			vcpu->vmsa_private = false;
			return;
		}
		vcpu->vmsa_private = false;
	}
	kvm_warn_on_err(host, kvm_free_sensitive(host, cpu, KVM_PAGE_VMSA, vcpu->vmsa));
	vcpu->vmsa = NULL;
}

/* ---- SNP launch ---- */

/*
 * RMPUPDATE to Guest-Invalid (splitting the direct map), then LAUNCH_UPDATE.
 * A failed RMPUPDATE is SNP_EFAULT, as rmp_make_private() returns -EFAULT in
 * Linux (6.12 arch/x86/virt/svm/sev.c rmpupdate(); the kernel only logs the
 * code); the model keeps the code in kvm->launch_rmp_ret for the caller
 * (kvm_vm_launch_rmp_ret()), so FAIL_INUSE and FAIL_OVERLAP stay apart.
 */
static SNP_MUST_CHECK int snp_launch_page(struct kvm *kvm, snp_pfn_t pfn, snp_gpa_t gpa,
					  bool vmsa)
{
	struct kvm_host *host = kvm->host;
	int ret = snp_rmp_make_private(host->machine, pfn, gpa, SNP_MAP_4K, kvm->asid, false,
				       &kvm->launch_rmp_ret);

	if (ret)
		return ret;
	return snp_fw_launch_update(snp_machine_rmp(host->machine), snp_pfn_to_phys(pfn),
				    kvm->asid, gpa, vmsa);
}

/* snp_launch_update(): every page of guest memory, 4K RMP entries. */
static SNP_MUST_CHECK int snp_launch_update(struct kvm *kvm)
{
	for (size_t i = 0; i < kvm->nr_mem; i++) {
		struct kvm_guest_block *b = &kvm->mem[i];
		snp_pfn_t base = kvm_page_pfn(kvm->host, b->page);

		b->private = true;
		for (uint64_t j = 0; j < (1ULL << b->order); j++) {
			int ret = snp_launch_page(kvm, base + j, b->gpa + j * SNP_PAGE_SIZE, false);

			if (ret)
				return ret;
		}
	}
	return 0;
}

/* snp_launch_update_vmsa(): each vCPU's VMSA becomes a guest VMSA page. */
static SNP_MUST_CHECK int snp_launch_update_vmsa(struct kvm *kvm)
{
	for (unsigned int i = 0; i < KVM_MAX_VCPUS; i++) {
		struct kvm_vcpu *vcpu = kvm->vcpus[i];
		int ret;

		if (!vcpu || !vcpu->vmsa)
			continue;
		if (vcpu->running_cpu >= 0)
			return SNP_EBUSY;
		vcpu->vmsa_private = true;
		ret = snp_launch_page(kvm, kvm_page_pfn(kvm->host, vcpu->vmsa),
				      KVM_INITIAL_VMSA_GPA, true);
		if (ret)
			return ret;
	}
	return 0;
}

int kvm_vm_launch_rmp_ret(const struct kvm_host *host, int vm, int *rmp_ret)
{
	const struct kvm *kvm = kvm_get_vm(host, vm);

	if (!kvm || !rmp_ret)
		return host && rmp_ret ? SNP_ENOENT : SNP_EINVAL;
	*rmp_ret = kvm->launch_rmp_ret;
	return 0;
}

/* The launch: RMP work for SNP only; SEV and SEV-ES encrypt in place. */
int sev_launch(struct kvm *kvm)
{
	long moved;
	int ret;

	kvm->launch_rmp_ret = SNP_RMP_SUCCESS;

	if (!kvm_guest_snp(kvm)) {
		kvm->launched = true;
		return 0;
	}
	ret = snp_launch_update(kvm);
	if (!ret)
		ret = snp_launch_update_vmsa(kvm);
	if (ret)
		return ret;
	moved = snp_fw_launch_finish(snp_machine_rmp(kvm->host->machine), kvm->asid);
	if (moved < 0)
		return (int)moved;
	kvm->launched = true;
	return 0;
}

/*
 * Which pages of a guest block stayed guest-owned: one bit a page of the
 * largest block (KVM_MAX_GUEST_ORDER), 128 bytes on the stack where a code
 * a page took 4 KiB.  The codes go to snp_leak_pages() when they happen.
 */
#define KVM_BLOCK_MAX_PAGES (1u << KVM_MAX_GUEST_ORDER)
#define KVM_BITS_PER_LONG   (8 * sizeof(unsigned long))

struct kvm_block_map {
	unsigned long bits[KVM_BLOCK_MAX_PAGES / KVM_BITS_PER_LONG];
};

static void block_map_set(struct kvm_block_map *map, uint64_t j)
{
	map->bits[j / KVM_BITS_PER_LONG] |= 1UL << (j % KVM_BITS_PER_LONG);
}

static bool block_map_test(const struct kvm_block_map *map, uint64_t j)
{
	return map->bits[j / KVM_BITS_PER_LONG] & (1UL << (j % KVM_BITS_PER_LONG));
}

/*
 * Free a block some of whose pages could not be made shared: split it and
 * free the pages that came back; the others were leaked as they failed.
 */
static void snp_free_guest_block_partly(struct kvm *kvm, struct kvm_guest_block *b,
					const struct kvm_block_map *failed)
{
	struct kvm_host *host = kvm->host;
	snp_pfn_t base = kvm_page_pfn(host, b->page);

	if (b->order)
		kvm_warn_on_err(host, mm_split_page(host->mm, b->page, b->order));
	for (uint64_t j = 0; j < (1ULL << b->order); j++)
		if (!block_map_test(failed, j))
			kvm_warn_on_err(host, mm_free_pages(host->mm, kvm->cfg.cpu,
							    mm_pfn_to_page(host->mm, base + j), 0));
	b->page = NULL;
}

/*
 * Make every page of a private block shared; 0 or the number that failed.
 * Each failure is leaked at once (snp_leak_pages(), with the RMPUPDATE code
 * when the instruction refused, else the SNP_E* error) and marked in failed.
 */
static SNP_MUST_CHECK int snp_block_reclaim(struct kvm *kvm, struct kvm_guest_block *b,
					    struct kvm_block_map *failed)
{
	snp_pfn_t base = kvm_page_pfn(kvm->host, b->page);
	char label[48];
	int nr = 0;

	memset(failed, 0, sizeof(*failed));
	for (uint64_t j = 0; j < (1ULL << b->order); j++) {
		int code = SNP_RMP_SUCCESS;
		int ret = snp_page_reclaim_shared(kvm->host, base + j, &code);

		if (!ret)
			continue;
		block_map_set(failed, j);
		snprintf(label, sizeof(label), "vm %d gpa 0x%llx", kvm->id,
			 (unsigned long long)(b->gpa + j * SNP_PAGE_SIZE));
		snp_leak_pages(kvm->host, base + j, KVM_PAGE_NR_KINDS, code ? code : ret, label);
		nr++;
	}
	return nr;
}

/*
 * sev_gmem_prepare() (6.12.95 arch/x86/kvm/svm/sev.c, called through
 * kvm_arch_gmem_prepare() when guest_memfd hands a folio out the first
 * time): rmp_make_private() of the page, 4K here as 6.12.95 has order-0
 * folios only; rmpupdate() splits the page's 2MB direct-map region first
 * (adjust_direct_map()), for good.
 */
int sev_gmem_prepare(struct kvm *kvm, snp_pfn_t pfn, snp_gpa_t gpa)
{
	if (!kvm_guest_snp(kvm))
		return 0;
	return snp_rmp_make_private(kvm->host->machine, pfn, gpa, SNP_MAP_4K, kvm->asid, false,
				    &kvm->launch_rmp_ret);
}

/*
 * sev_gmem_invalidate(): every private page back to the hypervisor before
 * the memory is freed (the gmem_invalidate op; Linux 6.12
 * arch/x86/kvm/svm/sev.c).  A block with a page that will not come back is
 * split; that page is leaked (snp_leak_pages() counts it), the others freed
 * here (b->page becomes NULL so the caller skips the block).  Only SNP
 * guests have private pages.
 */
void sev_gmem_invalidate(struct kvm *kvm)
{
	struct kvm_block_map failed;

	if (!kvm_guest_snp(kvm))
		return;
	for (size_t i = 0; i < kvm->nr_mem; i++) {
		struct kvm_guest_block *b = &kvm->mem[i];
		int nr;

		if (!b->private || !b->page)
			continue;
		b->private = false;
		nr = snp_block_reclaim(kvm, b, &failed);
		if (nr)
			snp_free_guest_block_partly(kvm, b, &failed);
	}
}
