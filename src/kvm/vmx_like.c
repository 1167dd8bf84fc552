// SPDX-License-Identifier: MIT
/*
 * vmx_like.c - a second vendor module, shaped like arch/x86/kvm/vmx/vmx.c
 * only as far as this model needs: it binds no alloc_apic_backing_page hook
 * (nor nested or launch ops), so kvm_create_lapic() falls back to
 * get_zeroed_page().  Its vCPU has one VMCS page.  There is no SNP VMRUN on
 * this vendor: a run is only bookkeeping (the vCPU is "in guest mode"), it
 * marks nothing in the RMP.  Our own code.
 */
#include "kvm/kvm_internal.h"

static SNP_MUST_CHECK int vmx_hardware_setup(struct kvm_host *host)
{
	host->avic = false;
	return 0;
}

static void vmx_hardware_unsetup(struct kvm_host *host)
{
	(void)host;
}

/* Only plain guests: SEV needs the AMD vendor. */
static SNP_MUST_CHECK int vmx_vm_init(struct kvm *kvm)
{
	return kvm_guest_sev(kvm) ? SNP_ENOTSUP : 0;
}

static void vmx_vm_destroy(struct kvm *kvm)
{
	(void)kvm;
}

static SNP_MUST_CHECK int vmx_vcpu_create(struct kvm_vcpu *vcpu)
{
	struct kvm_host *host = vcpu->kvm->host;

	vcpu->vmcs = mm_alloc_pages(host->mm, vcpu->created_on, MM_GFP_KERNEL_ACCOUNT | MM_GFP_ZERO, 0);
	return vcpu->vmcs ? 0 : SNP_ENOMEM;
}

static void vmx_vcpu_free(struct kvm_vcpu *vcpu, unsigned int cpu)
{
	kvm_free_page(vcpu->kvm->host, cpu, vcpu->vmcs);
	vcpu->vmcs = NULL;
}

static SNP_MUST_CHECK int vmx_vcpu_run(struct kvm_vcpu *vcpu, unsigned int cpu, struct snp_vmrun_result *res)
{
	*res = (struct snp_vmrun_result){ .outcome = SNP_VMRUN_ENTERED,
					  .check = SNP_VMRUN_CHECK_NONE };
	vcpu->running_cpu = (int)cpu;
	return 0;
}

static SNP_MUST_CHECK int vmx_vcpu_exit(struct kvm_vcpu *vcpu)
{
	vcpu->running_cpu = -1;
	return 0;
}

/* Debian 6.12.95's kvm-intel.ko (BTF): struct kvm_vmx 39872 bytes, struct vcpu_vmx 9024 aligned to 64. */
static const struct kvm_x86_ops vmx_like_x86_ops = {
	.name = "vmx-like",
	.vm_size = 39872,
	.vm_init = vmx_vm_init,
	.vm_destroy = vmx_vm_destroy,
	.vcpu_create = vmx_vcpu_create,
	.vcpu_free = vmx_vcpu_free,
	.vcpu_run = vmx_vcpu_run,
	.vcpu_exit = vmx_vcpu_exit,
	/* optional ops left NULL: no alloc_apic_backing_page, nested, launch */
};

static const struct kvm_x86_init_ops vmx_like_init_ops = {
	.name = "vmx-like",
	.hardware_setup = vmx_hardware_setup,
	.hardware_unsetup = vmx_hardware_unsetup,
	.runtime_ops = &vmx_like_x86_ops,
	.vcpu_size = 9024,
	.vcpu_align = 64,
};

const struct kvm_x86_init_ops *kvm_vendor_vmx_like(void)
{
	return &vmx_like_init_ops;
}
