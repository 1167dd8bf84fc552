// SPDX-License-Identifier: MIT
/*
 * kvm_version.c - which upstream KVM's call sites the model follows
 * (enum kvm_version in snpsafe/kvm.h; docs/MODEL.md "Kernels"): for the host
 * save area (arch/x86/kvm/svm/svm.c svm_cpu_init) and the nested vmcb02
 * (arch/x86/kvm/svm/nested.c svm_allocate_nested), the pages whose
 * allocation changed between versions, and the PML buffer that only the
 * PML series has (svm_vcpu_create, v4/v5).  vmcb01, the VMSA and the AVIC
 * page come from the SNP-safe allocator in every version modeled.  Every
 * sensitive page is allocated here, so stats.sensitive_safe counts what
 * really went through snp_safe_alloc_page*().  Our own code.
 */
#include "kvm/kvm_internal.h"

#include <string.h>

static const char *const version_names[KVM_NR_VERSIONS] = {
	[KVM_VERSION_6_18] = "6.18", [KVM_VERSION_6_11] = "6.11",
	[KVM_VERSION_6_9] = "6.9", [KVM_VERSION_RFC_V4] = "rfc-v4",
	[KVM_VERSION_PML] = "pml",
};

const char *kvm_version_name(enum kvm_version v)
{
	return (unsigned int)v < KVM_NR_VERSIONS ? version_names[v] : "?";
}

int kvm_version_parse(const char *s, enum kvm_version *out)
{
	for (unsigned int i = 0; s && out && i < KVM_NR_VERSIONS; i++) {
		if (!strcmp(s, version_names[i])) {
			*out = (enum kvm_version)i;
			return 0;
		}
	}
	return SNP_EINVAL;
}

/* rfc-v4 (2021): no SNP-safe save area or vmcb02 yet. */
static bool kvm_plain_page(const struct kvm_host *host, enum kvm_page_kind kind)
{
	return host->cfg.kvm_version == KVM_VERSION_RFC_V4 &&
	       (kind == KVM_PAGE_HSAVE || kind == KVM_PAGE_VMCB02);
}

/* Only the PML series allocates a PML buffer (enable_pml, on by default there). */
bool kvm_version_has_pml(const struct kvm_host *host)
{
	return host->cfg.kvm_version == KVM_VERSION_PML;
}

/* The page from the safe allocator as this version calls it. */
static struct page *kvm_safe_page(struct kvm_host *host, unsigned int cpu, int node, mm_gfp_t gfp)
{
	if (host->cfg.kvm_version == KVM_VERSION_6_9)
		return snp_safe_alloc_page(host->mm, cpu);
	return snp_safe_alloc_page_node(host->mm, cpu, node, gfp);
}

/**
 * kvm_alloc_sensitive() - the page of @kind as the configured KVM version
 * allocates it.
 * @node, @gfp: what 6.11+ passes to snp_safe_alloc_page_node() (the save
 *              area: its CPU's node, GFP_KERNEL); others (vmcb01, VMSA,
 *              AVIC page, vmcb02, PML buffer) pass MM_NUMA_NO_NODE and
 *              GFP_KERNEL_ACCOUNT (snp_safe_alloc_page).
 *
 * v6.9 had only snp_safe_alloc_page(): the current node, GFP_KERNEL_ACCOUNT,
 * for the save area too.  rfc-v4 allocated the save area and vmcb02 with a
 * plain zeroed alloc_page().
 */
struct page *kvm_alloc_sensitive(struct kvm_host *host, unsigned int cpu, enum kvm_page_kind kind,
				 int node, mm_gfp_t gfp)
{
	struct page *p;

	if ((unsigned int)kind >= KVM_PAGE_NR_KINDS)
		return NULL;
	if (kvm_plain_page(host, kind))
		return mm_alloc_pages_node(host->mm, cpu, node, gfp | MM_GFP_ZERO, 0);
	p = kvm_safe_page(host, cpu, node, gfp);
	if (p)
		host->stats.sensitive_safe[kind]++;
	return p;
}

/* Free a page from kvm_alloc_sensitive() the way it was allocated. */
int kvm_free_sensitive(struct kvm_host *host, unsigned int cpu, enum kvm_page_kind kind,
		       struct page *p)
{
	if (kvm_plain_page(host, kind))
		return mm_free_pages(host->mm, cpu, p, 0);
	return snp_safe_free_page(host->mm, cpu, p);
}
