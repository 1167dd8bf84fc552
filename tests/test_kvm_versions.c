// SPDX-License-Identifier: MIT
/*
 * test_kvm_versions.c - the KVM version's call sites (enum kvm_version,
 * docs/MODEL.md "Kernels"): which sensitive pages come from the SNP-safe
 * allocator in 6.9, 6.11, 6.18 and the 2021 rfc-v4 patch.
 */
#include "ktap.h"

#include <snpsafe/kvm.h>
#include <snpsafe/snp_alloc.h>

#include <string.h>

/* Put a 2MB-aligned page at the head of CPU 0's order-0 per-CPU list (LIFO). */
static void prime_aligned_head(struct mm_host *mm)
{
	struct page *p = NULL;

	for (unsigned int i = 0; i < 20000 && !p; i++) {
		struct page *q = mm_alloc_pages(mm, 0, MM_GFP_KERNEL, 0);

		KASSERT(q);
		if (snp_pfn_2m_aligned(mm_page_to_pfn(mm, q)))
			p = q;   /* the others stay held */
	}
	KASSERT(p);
	KASSERT_EQ(mm_free_pages(mm, 0, p, 0), 0);
}

/*
 * With an aligned page waiting at the head of the list, the save area and
 * vmcb02 take it only under rfc-v4 (plain alloc_page); every merged
 * version's snp_safe_alloc_page*() never hands out an aligned page.
 */
static void rfc_v4_hsave_and_vmcb02_can_be_aligned(void)
{
	for (unsigned int v = 0; v < KVM_NR_VERSIONS; v++) {
		struct kvm_host_config cfg;
		struct kvm_host *host = NULL;
		struct kvm_vm_config vc;
		struct kvm_page_census c;
		bool rfc = v == KVM_VERSION_RFC_V4;
		int vm;

		kvm_host_config_init(&cfg, 64 * SNP_MiB, 2);
		cfg.kvm_version = v;
		cfg.late_vendor_load = true;
		KASSERT_EQ(kvm_host_create(&cfg, &host), 0);
		prime_aligned_head(kvm_host_mm(host));
		KASSERT_EQ(kvm_x86_vendor_init(host, kvm_vendor_svm()), 0);
		kvm_vm_config_init(&vc, SNP_GUEST_SVM);
		vm = kvm_create_vm(host, &vc);
		KASSERT(vm >= 0);
		KASSERT_EQ(kvm_create_vcpu(host, vm, 0, 0), 0);
		prime_aligned_head(kvm_host_mm(host));
		KASSERT_EQ(kvm_vcpu_enable_nested(host, vm, 0), 0);
		KASSERT_EQ(kvm_host_census(host, &c), 0);
		ktap_log("kvm %s: hsave aligned %llu of %llu, vmcb02 aligned %llu of %llu, vmcb01 aligned %llu",
			 kvm_version_name(v), (unsigned long long)c.aligned[KVM_PAGE_HSAVE],
			 (unsigned long long)c.allocated[KVM_PAGE_HSAVE],
			 (unsigned long long)c.aligned[KVM_PAGE_VMCB02],
			 (unsigned long long)c.allocated[KVM_PAGE_VMCB02],
			 (unsigned long long)c.aligned[KVM_PAGE_VMCB01]);
		KEXPECT_EQ(c.allocated[KVM_PAGE_HSAVE], 2);
		KEXPECT_EQ(c.aligned[KVM_PAGE_HSAVE], rfc ? 1 : 0);
		KEXPECT_EQ(c.aligned[KVM_PAGE_VMCB02], rfc ? 1 : 0);
		KEXPECT_EQ(c.aligned[KVM_PAGE_VMCB01], 0);   /* safe in every version */
		kvm_host_destroy(host);
	}
}

static void names_and_bad_input(void)
{
	struct kvm_host_config cfg;
	struct kvm_host *host = NULL;
	enum kvm_version v;

	for (unsigned int i = 0; i < KVM_NR_VERSIONS; i++) {
		KASSERT_EQ(kvm_version_parse(kvm_version_name(i), &v), 0);
		KEXPECT_EQ(v, i);
	}
	KEXPECT_EQ(kvm_version_parse("6.1", &v), SNP_EINVAL);   /* no SNP host support */
	KEXPECT_EQ(kvm_version_parse(NULL, &v), SNP_EINVAL);
	kvm_host_config_init(&cfg, 64 * SNP_MiB, 2);
	KEXPECT_EQ(cfg.kvm_version, KVM_VERSION_6_18);   /* default: the newest merged */
	cfg.kvm_version = KVM_NR_VERSIONS;
	KEXPECT_EQ(kvm_host_create(&cfg, &host), SNP_EINVAL);
}

static const struct ktap_case cases[] = {
	KTAP_CASE(rfc_v4_hsave_and_vmcb02_can_be_aligned),
	KTAP_CASE(names_and_bad_input),
};

KTAP_MAIN("kvm_versions", cases)
