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
static int sev_asid_new(struct kvm *kvm)
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

	vcpu->vmsa = snp_safe_alloc_page(host->mm, vcpu->created_on);
	if (!vcpu->vmsa)
		return SNP_ENOMEM;
	kvm_account_sensitive(host, KVM_PAGE_VMSA, vcpu->vmsa);
	return 0;
}

/*
 * Make a page the guest owns Hypervisor-owned again: firmware reclaim first
 * when the entry is immutable (Pre-Guest, Pre-Swap, ...), then RMPUPDATE
 * (rmp_make_shared).  Returns 0, an RMPUPDATE code, or a negative SNP_E*.
 */
static int snp_page_reclaim_shared(struct kvm_host *host, snp_pfn_t pfn)
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
	return snp_rmp_make_shared(host->machine, pfn, SNP_MAP_4K);
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
	int ret;

	if (!vcpu->vmsa)
		return;
	if (vcpu->vmsa_private) {
		snp_pfn_t pfn = kvm_page_pfn(host, vcpu->vmsa);

		ret = snp_rmp_make_shared(host->machine, pfn, SNP_MAP_4K);
		if (ret) {
			kvm_vcpu_label(vcpu, "vmsa", label, sizeof(label));
			snp_leak_pages(host, pfn, KVM_PAGE_VMSA, ret, label);
			vcpu->vmsa = NULL;
			vcpu->vmsa_private = false;
			return;
		}
		vcpu->vmsa_private = false;
	}
	snp_safe_free_page(host->mm, cpu, vcpu->vmsa);
	vcpu->vmsa = NULL;
}

/* ---- SNP launch ---- */

/* RMPUPDATE to Guest-Invalid (splitting the direct map), then LAUNCH_UPDATE. */
static int snp_launch_page(struct kvm *kvm, snp_pfn_t pfn, snp_gpa_t gpa, bool vmsa)
{
	struct kvm_host *host = kvm->host;
	int ret = snp_rmp_make_private(host->machine, pfn, gpa, SNP_MAP_4K, kvm->asid, false);

	if (ret)
		return ret > 0 ? SNP_EBUSY : ret;
	return snp_fw_launch_update(snp_machine_rmp(host->machine), snp_pfn_to_phys(pfn),
				    kvm->asid, gpa, vmsa);
}

/* snp_launch_update(): every page of guest memory, 4K RMP entries. */
static int snp_launch_update(struct kvm *kvm)
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
static int snp_launch_update_vmsa(struct kvm *kvm)
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

/* The launch: RMP work for SNP only; SEV and SEV-ES encrypt in place. */
int sev_launch(struct kvm *kvm)
{
	long moved;
	int ret;

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
 * Free a block some of whose pages could not be made shared: split it, free
 * the pages that came back, leak the others (failed[j] holds their codes).
 */
static void snp_leak_guest_pages(struct kvm *kvm, struct kvm_guest_block *b, const int *failed)
{
	struct kvm_host *host = kvm->host;
	snp_pfn_t base = kvm_page_pfn(host, b->page);
	char label[48];

	if (b->order)
		mm_split_page(host->mm, b->page, b->order);
	for (uint64_t j = 0; j < (1ULL << b->order); j++) {
		if (!failed[j]) {
			mm_free_pages(host->mm, kvm->cfg.cpu, mm_pfn_to_page(host->mm, base + j), 0);
			continue;
		}
		snprintf(label, sizeof(label), "vm %d gpa 0x%llx", kvm->id,
			 (unsigned long long)(b->gpa + j * SNP_PAGE_SIZE));
		snp_leak_pages(host, base + j, KVM_PAGE_NR_KINDS, failed[j], label);
	}
	b->page = NULL;
}

/* Make every page of a private block shared; 0 or the number that failed. */
static int snp_block_reclaim(struct kvm *kvm, struct kvm_guest_block *b, int *failed)
{
	snp_pfn_t base = kvm_page_pfn(kvm->host, b->page);
	int nr = 0;

	for (uint64_t j = 0; j < (1ULL << b->order); j++) {
		failed[j] = snp_page_reclaim_shared(kvm->host, base + j);
		nr += failed[j] != 0;
	}
	return nr;
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
	int failed[1u << KVM_MAX_GUEST_ORDER];

	if (!kvm_guest_snp(kvm))
		return;
	for (size_t i = 0; i < kvm->nr_mem; i++) {
		struct kvm_guest_block *b = &kvm->mem[i];
		int nr;

		if (!b->private || !b->page)
			continue;
		b->private = false;
		nr = snp_block_reclaim(kvm, b, failed);
		if (nr)
			snp_leak_guest_pages(kvm, b, failed);
	}
}
