// SPDX-License-Identifier: MIT
/*
 * svm.c - the AMD vendor module.  Mirrors Linux arch/x86/kvm/svm/svm.c:
 * svm_hardware_setup / svm_hardware_unsetup, svm_cpu_init / svm_cpu_uninit
 * (the per-CPU host save area), svm_vcpu_create / svm_vcpu_free (vmcb01),
 * svm_alloc_apic_backing_page (the optional LAPIC hook), the VMRUN of a
 * vCPU (svm_vcpu_run -> __svm_vcpu_run) and avic_hardware_setup's SNP rule
 * from svm/avic.c.  Our own code.
 */
#include "kvm/kvm_internal.h"

/**
 * svm_cpu_init() - the host save area of @cpu.
 *
 * Why SNP-safe: upstream allocates it with snp_safe_alloc_page_node() on the
 * CPU's node, GFP_KERNEL (a per-CPU object, not charged to a VM's memcg);
 * v6.9 and rfc-v4 differ (kvm_alloc_sensitive(), kvm_version.c).
 * WRMSR(VM_HSAVE_PA) requires it Hypervisor-Owned (#GP otherwise, returned
 * here as SNP_EFAULT; snp-facts section 5).  Whether VMRUN marks
 * it in-use is not documented; by default the model's VMRUN does not, and
 * the vmrun_marks knob's hsave role (SNP_ROLE_HSAVE) makes it, to ask what
 * follows if it does (docs/MODEL.md).  The MSR is written here, where the
 * kernel writes it when it enables SVM on the CPU.  @this_cpu is the CPU the
 * call runs on (the setup CPU, or @cpu itself when it comes online).
 */
static SNP_MUST_CHECK int svm_cpu_init(struct kvm_host *host, unsigned int cpu, unsigned int this_cpu)
{
	struct svm_cpu_data *sd = &host->sd[cpu];
	int node = mm_cpu_to_node(host->mm, cpu);
	struct page *p;
	int ret;

	if (sd->init)
		return SNP_EEXIST;
	if (node < 0)
		return SNP_EINVAL;
	p = kvm_alloc_sensitive(host, this_cpu, KVM_PAGE_HSAVE, node, MM_GFP_KERNEL);
	if (!p)
		return SNP_ENOMEM;
	ret = snp_wrmsr_hsave_pa(host->machine, cpu, kvm_page_pfn(host, p));
	if (ret) {
		kvm_warn_on_err(host, kvm_free_sensitive(host, this_cpu, KVM_PAGE_HSAVE, p));
		return ret;
	}
	kvm_account_sensitive(host, KVM_PAGE_HSAVE, p);
	sd->save_area = p;
	sd->init = true;
	return 0;
}

/* svm_cpu_uninit(): SNP_ENOENT for a second call, SNP_EBUSY while the CPU runs a guest. */
static SNP_MUST_CHECK int svm_cpu_uninit(struct kvm_host *host, unsigned int cpu, unsigned int this_cpu)
{
	struct svm_cpu_data *sd = &host->sd[cpu];
	int ret;

	if (!sd->init)
		return SNP_ENOENT;
	if (snp_cpu_in_guest(host->machine, cpu) > 0)
		return SNP_EBUSY;
	ret = kvm_free_sensitive(host, this_cpu, KVM_PAGE_HSAVE, sd->save_area);
	if (ret)
		return ret;
	sd->save_area = NULL;
	sd->init = false;
	return 0;
}

/* svm_enable_virtualization_cpu(): a CPU coming online sets itself up. */
static SNP_MUST_CHECK int svm_enable_virtualization_cpu(struct kvm_host *host, unsigned int cpu)
{
	return svm_cpu_init(host, cpu, cpu);
}

static SNP_MUST_CHECK int svm_disable_virtualization_cpu(struct kvm_host *host, unsigned int cpu)
{
	return svm_cpu_uninit(host, cpu, cpu);
}

/* Module unload runs on the setup CPU, 0. */
static void svm_hardware_unsetup(struct kvm_host *host)
{
	for (unsigned int cpu = 0; cpu < host->nr_cpus; cpu++)
		if (host->sd[cpu].init)
			kvm_warn_on_err(host, svm_cpu_uninit(host, cpu, 0));
}

/*
 * avic_hardware_setup(): upstream keeps AVIC off on an SNP host whose CPU
 * lacks HvInUseWrAllowed, because KVM writes the backing page while it is
 * in-use.  KVM_AVIC_ON models the older kernels the review is about.
 */
bool kvm_avic_resolve(enum kvm_avic_mode m, bool snp_enabled, const struct snp_profile *p)
{
	switch (m) {
	case KVM_AVIC_ON:
		return true;
	case KVM_AVIC_OFF:
		return false;
	case KVM_AVIC_AUTO:
		break;
	}
	return !(snp_enabled && !p->hv_inuse_wr_allowed);
}

static bool avic_hardware_setup(const struct kvm_host *host)
{
	return kvm_avic_resolve(host->cfg.avic, host->cfg.snp_enabled,
				snp_machine_profile(host->machine));
}

/* svm_hardware_setup(): svm_cpu_init() for every CPU, from the setup CPU (0). */
static SNP_MUST_CHECK int svm_hardware_setup(struct kvm_host *host)
{
	host->avic = avic_hardware_setup(host);
	for (unsigned int cpu = 0; cpu < host->nr_cpus; cpu++) {
		int ret = svm_cpu_init(host, cpu, 0);

		if (ret) {
			svm_hardware_unsetup(host);
			return ret;
		}
	}
	return 0;
}

/* ---- VMs ---- */

/* Plain SVM guests: ASIDs above the SEV range, handed out in turn (not owned). */
static SNP_MUST_CHECK int svm_vm_init(struct kvm *kvm)
{
	struct kvm_host *host = kvm->host;

	if (kvm_guest_sev(kvm))
		return sev_vm_init(kvm);
	kvm->asid = host->next_svm_asid;
	if (++host->next_svm_asid > SNP_MAX_ASID)
		host->next_svm_asid = host->cfg.max_sev_asid + 1;
	return 0;
}

static void svm_vm_destroy(struct kvm *kvm)
{
	if (kvm_guest_sev(kvm))
		sev_vm_destroy(kvm);
}

/* ---- vCPUs ---- */

static struct page *svm_alloc_apic_backing_page(struct kvm_vcpu *vcpu)
{
	return kvm_alloc_sensitive(vcpu->kvm->host, vcpu->created_on, KVM_PAGE_AVIC,
				   MM_NUMA_NO_NODE, MM_GFP_KERNEL_ACCOUNT);
}

/* A sensitive per-vCPU page from the version's call site, counted. */
static struct page *svm_alloc_vcpu_page(struct kvm_vcpu *vcpu, enum kvm_page_kind kind)
{
	struct kvm_host *host = vcpu->kvm->host;
	struct page *p = kvm_alloc_sensitive(host, vcpu->created_on, kind, MM_NUMA_NO_NODE,
					     MM_GFP_KERNEL_ACCOUNT);

	if (p)
		kvm_account_sensitive(host, kind, p);
	return p;
}

/* Free a page from svm_alloc_vcpu_page() on @cpu (NULL ok) and clear its pointer. */
static void svm_free_vcpu_page(struct kvm_host *host, unsigned int cpu, enum kvm_page_kind kind,
			       struct page **p)
{
	if (*p)
		kvm_warn_on_err(host, kvm_free_sensitive(host, cpu, kind, *p));
	*p = NULL;
}

/**
 * svm_vcpu_create() - vmcb01, [the PML buffer], the VMSA (sev_vcpu_create),
 * the MSR permission map.
 *
 * The PML buffer: the PML series (v4 2025-10-13, v5 2026-01-05, not merged)
 * allocates vcpu->arch.pml_page with snp_safe_alloc_page() right after the
 * vmcb01 page, before sev_vcpu_create(), when the pml module parameter is on
 * (its default where PML is supported).  Only --kvm pml has it.
 */
static SNP_MUST_CHECK int svm_vcpu_create(struct kvm_vcpu *vcpu)
{
	struct kvm_host *host = vcpu->kvm->host;
	int ret = SNP_ENOMEM;

	vcpu->vmcb01 = svm_alloc_vcpu_page(vcpu, KVM_PAGE_VMCB01);
	if (!vcpu->vmcb01)
		return SNP_ENOMEM;
	if (kvm_version_has_pml(host)) {
		vcpu->pml_page = svm_alloc_vcpu_page(vcpu, KVM_PAGE_PML);
		if (!vcpu->pml_page)
			goto free_vmcb;
	}
	if (kvm_guest_sev_es(vcpu->kvm)) {
		ret = sev_vcpu_create(vcpu);
		if (ret)
			goto free_pml;
	}
	vcpu->msrpm = mm_alloc_pages(host->mm, vcpu->created_on, MM_GFP_KERNEL_ACCOUNT,
				     SVM_MSRPM_ORDER);
	if (vcpu->msrpm)
		return 0;
	ret = SNP_ENOMEM;
	sev_free_vcpu(vcpu, vcpu->created_on);
free_pml:
	svm_free_vcpu_page(host, vcpu->created_on, KVM_PAGE_PML, &vcpu->pml_page);
free_vmcb:
	svm_free_vcpu_page(host, vcpu->created_on, KVM_PAGE_VMCB01, &vcpu->vmcb01);
	return ret;
}

/* svm_vcpu_free() on @cpu: nested state, the VMSA, the MSR permission map, the PML buffer, vmcb01. */
static void svm_vcpu_free(struct kvm_vcpu *vcpu, unsigned int cpu)
{
	struct kvm_host *host = vcpu->kvm->host;

	svm_free_nested(vcpu, cpu);
	sev_free_vcpu(vcpu, cpu);
	if (vcpu->msrpm)
		kvm_warn_on_err(host, mm_free_pages(host->mm, cpu, vcpu->msrpm, SVM_MSRPM_ORDER));
	vcpu->msrpm = NULL;
	svm_free_vcpu_page(host, cpu, KVM_PAGE_PML, &vcpu->pml_page);
	svm_free_vcpu_page(host, cpu, KVM_PAGE_VMCB01, &vcpu->vmcb01);
}

/*
 * The VMRUN operands of the vCPU's current mode (L1 on vmcb01, L2 on
 * vmcb02).  The PML buffer rides in vmcb01 only: the PML series clears
 * vmcb02's PML enable and PML_ADDR (nested_vmcb02_prepare_control), and the
 * model runs as if dirty logging were on (PML enabled) whenever the vCPU has
 * the buffer.
 */
static void svm_vmrun_args(const struct kvm_vcpu *vcpu, struct snp_vmrun_args *a,
			   char *label, size_t len)
{
	const struct kvm_host *host = vcpu->kvm->host;
	bool l2 = vcpu->in_l2 && vcpu->nested.vmcb02;

	*a = (struct snp_vmrun_args){
		.vmcb = kvm_page_pfn(host, l2 ? vcpu->nested.vmcb02 : vcpu->vmcb01),
		.vmsa = kvm_guest_sev_es(vcpu->kvm) ? kvm_page_pfn(host, vcpu->vmsa) : SNP_NO_PAGE,
		.avic = host->avic && !l2 ? kvm_page_pfn(host, vcpu->apic.regs) : SNP_NO_PAGE,
		.pml_enable = vcpu->pml_page && !l2,
		.pml = kvm_page_pfn(host, vcpu->pml_page),
		.type = vcpu->kvm->cfg.type,
		.asid = vcpu->kvm->asid,
		.vmsa_gpa = KVM_INITIAL_VMSA_GPA,
		.label = label,
	};
	kvm_vcpu_label(vcpu, l2 ? "vmcb02" : "vmcb01", label, len);
}

/* svm_vcpu_run(): VMRUN on @cpu; the vCPU is in guest mode until svm_vcpu_exit(). */
static SNP_MUST_CHECK int svm_vcpu_run(struct kvm_vcpu *vcpu, unsigned int cpu, struct snp_vmrun_result *res)
{
	struct kvm_host *host = vcpu->kvm->host;
	struct snp_vmrun_args a;
	char label[48];
	int ret;

	if (!host->sd[cpu].init)
		return SNP_EINVAL;   /* SVM not enabled on this CPU */
	svm_vmrun_args(vcpu, &a, label, sizeof(label));
	ret = snp_vmrun(host->machine, cpu, &a, res);
	if (!ret && res->outcome == SNP_VMRUN_ENTERED)
		vcpu->running_cpu = (int)cpu;
	return ret;
}

static SNP_MUST_CHECK int svm_vcpu_exit(struct kvm_vcpu *vcpu)
{
	int ret = snp_vmexit(vcpu->kvm->host->machine, (unsigned int)vcpu->running_cpu);

	vcpu->running_cpu = -1;
	return ret;
}

/*
 * Sizes of Debian 6.12.95's structs, read from kvm-amd.ko's BTF (pahole):
 * struct kvm_svm 40064 bytes (10 pages; 6.1.192: 40648, 10 pages too),
 * struct vcpu_svm 7240 bytes aligned to 8 (6.1.192: 7248; SLUB puts either
 * in order-3 slabs of 4, mm_slub_geometry()).
 */
#define SVM_KVM_SVM_SIZE  40064
#define SVM_VCPU_SVM_SIZE 7240
#define SVM_VCPU_SVM_ALIGN 8

static const struct kvm_x86_ops svm_x86_ops = {
	.name = "svm",
	.vm_size = SVM_KVM_SVM_SIZE,
	.vm_init = svm_vm_init,
	.vm_destroy = svm_vm_destroy,
	.vcpu_create = svm_vcpu_create,
	.vcpu_free = svm_vcpu_free,
	.vcpu_run = svm_vcpu_run,
	.vcpu_exit = svm_vcpu_exit,
	.alloc_apic_backing_page = svm_alloc_apic_backing_page,
	.nested_enable = svm_allocate_nested,
	.nested_free = svm_free_nested,
	.vm_launch = sev_launch,
	/*
	 * Upstream allocates the save area in svm_cpu_init() from
	 * svm_hardware_setup() and writes VM_HSAVE_PA in
	 * svm_enable_virtualization_cpu(); the model's CPU offline frees the
	 * area, so bringing a CPU online runs svm_cpu_init(), which does both.
	 */
	.enable_virtualization_cpu = svm_enable_virtualization_cpu,
	.disable_virtualization_cpu = svm_disable_virtualization_cpu,
	.gmem_invalidate = sev_gmem_invalidate,
	.gmem_prepare = sev_gmem_prepare,
};

static const struct kvm_x86_init_ops svm_init_ops = {
	.name = "svm",
	.hardware_setup = svm_hardware_setup,
	.hardware_unsetup = svm_hardware_unsetup,
	.runtime_ops = &svm_x86_ops,
	.vcpu_size = SVM_VCPU_SVM_SIZE,   /* svm_init(): kvm_init(sizeof(struct vcpu_svm), ...) */
	.vcpu_align = SVM_VCPU_SVM_ALIGN,
};

const struct kvm_x86_init_ops *kvm_vendor_svm(void)
{
	return &svm_init_ops;
}
