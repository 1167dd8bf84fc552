// SPDX-License-Identifier: MIT
/*
 * test_kvm_versions.c - the KVM version's call sites (enum kvm_version,
 * docs/MODEL.md "Kernels"): which sensitive pages come from the SNP-safe
 * allocator in 6.9, 6.11, 6.18, the 2021 rfc-v4 patch and the PML series
 * (its PML buffer, and the knob pml_inuse both ways).
 */
#include "ktap.h"

#include <snpsafe/kvm.h>
#include <snpsafe/profile.h>
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
 * A host of version v: an aligned page at the head of CPU 0's list before
 * kvm_amd loads (the save areas) and before vmcb02; one SVM VM, vCPU 0 nested.
 */
static struct kvm_host *version_host(enum kvm_version v, const struct snp_profile *prof, int *vm)
{
	struct kvm_host_config cfg;
	struct kvm_host *host = NULL;
	struct kvm_vm_config vc;

	kvm_host_config_init(&cfg, 64 * SNP_MiB, 2);
	cfg.kvm_version = v;
	cfg.profile = prof;
	cfg.late_vendor_load = true;
	KASSERT_EQ(kvm_host_create(&cfg, &host), 0);
	prime_aligned_head(kvm_host_mm(host));
	KASSERT_EQ(kvm_x86_vendor_init(host, kvm_vendor_svm()), 0);
	kvm_vm_config_init(&vc, SNP_GUEST_SVM);
	*vm = kvm_create_vm(host, &vc);
	KASSERT(*vm >= 0);
	KASSERT_EQ(kvm_create_vcpu(host, *vm, 0, 0), 0);
	prime_aligned_head(kvm_host_mm(host));
	KASSERT_EQ(kvm_vcpu_enable_nested(host, *vm, 0), 0);
	return host;
}

/*
 * With an aligned page waiting at the head of the list, the save area and
 * vmcb02 take it only under rfc-v4 (plain alloc_page); every merged
 * version's snp_safe_alloc_page*() never hands out an aligned page.  Which
 * pages each version put through the safe allocator (stats.sensitive_safe):
 * all in the merged versions and pml; rfc-v4 neither the save areas nor
 * vmcb02.  Only pml has a PML buffer.
 */
static void rfc_v4_hsave_and_vmcb02_can_be_aligned(void)
{
	for (unsigned int v = 0; v < KVM_NR_VERSIONS; v++) {
		struct kvm_page_census c;
		struct kvm_host_stats st;
		struct kvm_vcpu_pages pg;
		bool rfc = v == KVM_VERSION_RFC_V4, pml = v == KVM_VERSION_PML;
		int vm;
		struct kvm_host *host = version_host(v, NULL, &vm);

		KASSERT_EQ(kvm_host_census(host, &c), 0);
		KASSERT_EQ(kvm_host_get_stats(host, &st), 0);
		KASSERT_EQ(kvm_vcpu_get_pages(host, vm, 0, &pg), 0);
		ktap_log("kvm %s: hsave aligned %llu of %llu (safe %llu), vmcb02 aligned %llu of %llu "
			 "(safe %llu), vmcb01 aligned %llu, pml %llu (safe %llu)",
			 kvm_version_name(v), (unsigned long long)c.aligned[KVM_PAGE_HSAVE],
			 (unsigned long long)c.allocated[KVM_PAGE_HSAVE],
			 (unsigned long long)st.sensitive_safe[KVM_PAGE_HSAVE],
			 (unsigned long long)c.aligned[KVM_PAGE_VMCB02],
			 (unsigned long long)c.allocated[KVM_PAGE_VMCB02],
			 (unsigned long long)st.sensitive_safe[KVM_PAGE_VMCB02],
			 (unsigned long long)c.aligned[KVM_PAGE_VMCB01],
			 (unsigned long long)c.allocated[KVM_PAGE_PML],
			 (unsigned long long)st.sensitive_safe[KVM_PAGE_PML]);
		KEXPECT_EQ(c.allocated[KVM_PAGE_HSAVE], 2);
		KEXPECT_EQ(c.aligned[KVM_PAGE_HSAVE], rfc ? 1 : 0);
		KEXPECT_EQ(c.aligned[KVM_PAGE_VMCB02], rfc ? 1 : 0);
		KEXPECT_EQ(c.aligned[KVM_PAGE_VMCB01], 0);   /* safe in every version */
		/* What went through snp_safe_alloc_page*(), counted at the call. */
		KEXPECT_EQ(st.sensitive_safe[KVM_PAGE_VMCB01], 1);
		KEXPECT_EQ(st.sensitive_safe[KVM_PAGE_HSAVE], rfc ? 0 : 2);
		KEXPECT_EQ(st.sensitive_safe[KVM_PAGE_VMCB02], rfc ? 0 : 1);
		/* Only pml has a PML buffer: safe, not aligned though one waited. */
		KEXPECT_EQ(st.sensitive_safe[KVM_PAGE_PML], pml ? 1 : 0);
		KEXPECT_EQ(c.allocated[KVM_PAGE_PML], pml ? 1 : 0);
		KEXPECT_EQ(pg.pml != SNP_NO_PAGE, pml);
		KEXPECT_EQ(c.aligned[KVM_PAGE_PML], 0);
		kvm_host_destroy(host);
	}
}

/*
 * --kvm pml: VMRUN on vmcb01 passes the PML buffer, marked in-use as the
 * knob pml_inuse says (both settings); on vmcb02 (L2) PML is off, so never.
 * The census counts it markable by the same knob.  The vCPU's free gives
 * the buffer back (the VM's destruction leaves no PML page behind).
 */
static void pml_inuse_knob_through_kvm(void)
{
	for (int on = 1; on >= 0; on--) {
		struct snp_profile prof = snp_profile_early_snp;
		struct kvm_vcpu_pages pg;
		struct kvm_page_census c;
		struct snp_vmrun_result res;
		struct snp_rmp *rmp;
		struct kvm_host *host;
		int vm;

		KASSERT_EQ(snp_profile_set_knob(&prof, on ? "pml_inuse=on" : "pml_inuse=off"), 0);
		host = version_host(KVM_VERSION_PML, &prof, &vm);
		rmp = snp_machine_rmp(kvm_host_machine(host));
		KASSERT_EQ(kvm_vcpu_get_pages(host, vm, 0, &pg), 0);
		KASSERT_EQ(kvm_vcpu_run(host, vm, 0, 1, &res), 0);
		KASSERT_EQ(res.outcome, SNP_VMRUN_ENTERED);
		KEXPECT_EQ(!!(res.marked & SNP_ROLE_PML), on);
		KEXPECT_EQ(snp_rmp_inuse(rmp, pg.pml), (bool)on);
		KASSERT_EQ(kvm_host_census(host, &c), 0);
		KEXPECT_EQ(c.markable[KVM_PAGE_PML], (uint64_t)on);
		KASSERT_EQ(kvm_vcpu_exit(host, vm, 0), 0);
		KEXPECT(!snp_rmp_inuse(rmp, pg.pml));
		KASSERT_EQ(kvm_vcpu_set_guest_mode(host, vm, 0, true), 0);
		KASSERT_EQ(kvm_vcpu_run(host, vm, 0, 1, &res), 0);
		KASSERT_EQ(res.outcome, SNP_VMRUN_ENTERED);
		KEXPECT_EQ(res.marked & SNP_ROLE_PML, 0);
		KEXPECT(!snp_rmp_inuse(rmp, pg.pml));
		KASSERT_EQ(kvm_vcpu_exit(host, vm, 0), 0);
		KASSERT_EQ(kvm_destroy_vm(host, vm), 0);
		KASSERT_EQ(kvm_host_census(host, &c), 0);
		KEXPECT_EQ(c.allocated[KVM_PAGE_PML], 0);
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
	KEXPECT_EQ(kvm_version_parse("pml", &v), 0);
	KEXPECT_EQ(v, KVM_VERSION_PML);
	KEXPECT(!strcmp(kvm_page_kind_name(KVM_PAGE_PML), "pml"));
	KEXPECT_EQ(kvm_version_parse(NULL, &v), SNP_EINVAL);
	kvm_host_config_init(&cfg, 64 * SNP_MiB, 2);
	KEXPECT_EQ(cfg.kvm_version, KVM_VERSION_6_18);   /* default: the newest merged */
	cfg.kvm_version = KVM_NR_VERSIONS;
	KEXPECT_EQ(kvm_host_create(&cfg, &host), SNP_EINVAL);
}

static const struct ktap_case cases[] = {
	KTAP_CASE(rfc_v4_hsave_and_vmcb02_can_be_aligned),
	KTAP_CASE(pml_inuse_knob_through_kvm),
	KTAP_CASE(names_and_bad_input),
};

KTAP_MAIN("kvm_versions", cases)
