// SPDX-License-Identifier: MIT
/*
 * census.c - which of KVM's sensitive pages the erratum can really reach.
 *
 * Three counts per page kind (vmcb01, vmcb02, VMSA, AVIC page, host save
 * area, PML buffer), taken over the live pages of a host:
 *  - allocated: the page exists (SNP-safe allocator or not);
 *  - markable: this profile and this host configuration can mark it in-use
 *    (snp-facts §1, §5): a VMCB always (VMRUN); a VMSA (SEV-ES and SNP);
 *    the AVIC backing page only while AVIC is on (avic_hardware_setup()
 *    turns it off on an SNP host without HvInUseWrAllowed, commit
 *    d81cadbe1642); the host save area only as a VMSAVE target
 *    (kvm_host_config.vmsave_marks: the CPU marks the VMSAVE target in-use
 *    while VMSAVE runs, AMD's "Make VMSAVE target area memory allocation SNP
 *    safe") or under the vmrun_marks=hsave hypothesis; the PML buffer
 *    (--kvm pml) as the knob pml_inuse says (undocumented, default on);
 *  - exposed: markable while its 2MB region is still mapped by a hugepage in
 *    the direct map.  A launched SNP VMSA was made private by rmpupdate(),
 *    whose adjust_direct_map() (arch/x86/virt/svm/sev.c, v6.9+) split its
 *    region to 4K, so it is never exposed;
 * and of each, how many are 2MB-aligned.  Only an exposed aligned page can
 * take the erratum.  Our own code.
 */
#include "kvm/kvm_internal.h"

#include <stdlib.h>
#include <string.h>

/* Can this profile and host mark a page of @kind in-use? */
static bool census_markable(const struct kvm_host *host, enum kvm_page_kind kind,
			    const struct kvm *kvm)
{
	const struct snp_profile *prof = snp_machine_profile(host->machine);
	unsigned int marks = prof->vmrun_marks;

	if (!host->cfg.snp_enabled)
		return false;   /* in-use marking needs SNP globally enabled */
	switch (kind) {
	case KVM_PAGE_VMCB01:
	case KVM_PAGE_VMCB02:
		return (marks & SNP_ROLE_VMCB) != 0;
	case KVM_PAGE_VMSA:
		return kvm && kvm_guest_sev_es(kvm) && (marks & SNP_ROLE_VMSA);
	case KVM_PAGE_AVIC:
		return host->avic && (marks & SNP_ROLE_AVIC);
	case KVM_PAGE_HSAVE:
		return host->cfg.vmsave_marks || (marks & SNP_ROLE_HSAVE);
	case KVM_PAGE_PML:
		return prof->pml_inuse;
	case KVM_PAGE_NR_KINDS:
		break;
	}
	return false;
}

/* Is the 2MB region of @pfn still mapped by a hugepage (2M or 1G leaf)? */
bool kvm_region_huge(const struct kvm_host *host, snp_pfn_t pfn)
{
	enum snp_map_size size = SNP_MAP_4K;

	if (snp_direct_map_lookup(host->machine, snp_pfn_to_virt(pfn), &size))
		return false;
	return size != SNP_MAP_4K;
}

/*
 * The pageblocks holding a live SNP guest memory page, one byte each, in
 * *out (NULL when there is none).  SNP_ENOMEM when the map cannot be had.
 */
static SNP_MUST_CHECK int gmem_pageblocks(const struct kvm_host *host, unsigned char **out)
{
	unsigned char *map = NULL;

	for (size_t v = 0; v < host->vms_cap; v++) {
		const struct kvm *kvm = host->vms[v];

		for (size_t i = 0; kvm && kvm_guest_snp(kvm) && i < kvm->nr_mem; i++) {
			if (!kvm->mem[i].page)
				continue;
			if (!map)
				map = calloc((mm_nr_pages(host->mm) >> MM_PAGEBLOCK_ORDER) + 1, 1);
			if (!map)
				return SNP_ENOMEM;
			/* a block of order <= 9 lies in one pageblock; larger ones are not SNP's */
			map[kvm_page_pfn(host, kvm->mem[i].page) >> MM_PAGEBLOCK_ORDER] = 1;
		}
	}
	*out = map;
	return 0;
}

/* One live sensitive page; @gmem the pageblocks holding SNP guest memory (gmem_pageblocks()). */
static void census_page(const struct kvm_host *host, enum kvm_page_kind kind, const struct kvm *kvm,
			const struct page *p, const unsigned char *gmem, struct kvm_page_census *out)
{
	snp_pfn_t pfn;
	bool aligned, markable, exposed;

	if (!p)
		return;
	pfn = kvm_page_pfn(host, p);
	aligned = snp_pfn_2m_aligned(pfn);
	markable = census_markable(host, kind, kvm);
	exposed = markable && kvm_region_huge(host, pfn);
	if (out->lowest_pfn == SNP_NO_PAGE || pfn < out->lowest_pfn)
		out->lowest_pfn = pfn;
	out->allocated[kind]++;
	out->aligned[kind] += aligned;
	out->markable[kind] += markable;
	out->markable_aligned[kind] += markable && aligned;
	out->exposed[kind] += exposed;
	out->exposed_aligned[kind] += exposed && aligned;
	out->gmem_pageblock[kind] += gmem && gmem[pfn >> MM_PAGEBLOCK_ORDER];
}

static void census_vcpu(const struct kvm_host *host, const struct kvm *kvm, const struct kvm_vcpu *vcpu,
			const unsigned char *gmem, struct kvm_page_census *out)
{
	census_page(host, KVM_PAGE_VMCB01, kvm, vcpu->vmcb01, gmem, out);
	census_page(host, KVM_PAGE_VMCB02, kvm, vcpu->nested.vmcb02, gmem, out);
	census_page(host, KVM_PAGE_VMSA, kvm, vcpu->vmsa, gmem, out);
	census_page(host, KVM_PAGE_PML, kvm, vcpu->pml_page, gmem, out);
	if (vcpu->apic.from_hook)   /* a plain LAPIC page is no AVIC page */
		census_page(host, KVM_PAGE_AVIC, kvm, vcpu->apic.regs, gmem, out);
}

int kvm_host_census(const struct kvm_host *host, struct kvm_page_census *out)
{
	unsigned char *gmem = NULL;

	if (!host || !out)
		return SNP_EINVAL;
	if (gmem_pageblocks(host, &gmem))
		return SNP_ENOMEM;
	memset(out, 0, sizeof(*out));
	out->lowest_pfn = SNP_NO_PAGE;
	for (unsigned int c = 0; c < host->nr_cpus; c++)
		if (host->sd[c].init)
			census_page(host, KVM_PAGE_HSAVE, NULL, host->sd[c].save_area, gmem, out);
	for (size_t v = 0; v < host->vms_cap; v++)
		for (unsigned int i = 0; host->vms[v] && i < KVM_MAX_VCPUS; i++)
			if (host->vms[v]->vcpus[i])
				census_vcpu(host, host->vms[v], host->vms[v]->vcpus[i], gmem, out);
	free(gmem);
	return 0;
}
