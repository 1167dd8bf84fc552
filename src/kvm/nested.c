// SPDX-License-Identifier: MIT
/*
 * nested.c - the state a vCPU needs to run its own guest (L2).  Mirrors
 * Linux arch/x86/kvm/svm/nested.c svm_allocate_nested() / svm_free_nested():
 * allocated when the guest sets EFER.SVME, freed when it clears it or the
 * vCPU goes.  vmcb02 is the VMCB VMRUN uses while L2 runs, so it is as
 * sensitive as vmcb01 and comes from the SNP-safe allocator.  Our own code.
 */
#include "kvm/kvm_internal.h"

/**
 * svm_allocate_nested() - vmcb02 and the nested MSR permission map.
 *
 * Why SNP_ENOTSUP for SEV-ES and SNP: KVM does not run nested guests inside
 * an encrypted-state guest (it cannot read L1's VMCB12).
 */
int svm_allocate_nested(struct kvm_vcpu *vcpu)
{
	struct kvm_host *host = vcpu->kvm->host;
	unsigned int cpu = vcpu->created_on;   /* the vCPU's thread enables nesting */
	struct svm_nested_state *n = &vcpu->nested;

	if (n->initialized)
		return 0;
	if (kvm_guest_sev_es(vcpu->kvm))
		return SNP_ENOTSUP;
	n->vmcb02 = kvm_alloc_sensitive(host, cpu, KVM_PAGE_VMCB02, MM_NUMA_NO_NODE,
					MM_GFP_KERNEL_ACCOUNT);
	if (!n->vmcb02)
		return SNP_ENOMEM;
	kvm_account_sensitive(host, KVM_PAGE_VMCB02, n->vmcb02);
	n->msrpm = mm_alloc_pages(host->mm, cpu, MM_GFP_KERNEL_ACCOUNT, SVM_MSRPM_ORDER);
	if (!n->msrpm) {
		kvm_warn_on_err(host, kvm_free_sensitive(host, cpu, KVM_PAGE_VMCB02, n->vmcb02));
		n->vmcb02 = NULL;
		return SNP_ENOMEM;
	}
	n->initialized = true;
	return 0;
}

/* svm_free_nested() on @cpu: nothing to do when not initialized (a second call). */
void svm_free_nested(struct kvm_vcpu *vcpu, unsigned int cpu)
{
	struct kvm_host *host = vcpu->kvm->host;
	struct svm_nested_state *n = &vcpu->nested;

	if (!n->initialized)
		return;
	kvm_warn_on_err(host, mm_free_pages(host->mm, cpu, n->msrpm, SVM_MSRPM_ORDER));
	kvm_warn_on_err(host, kvm_free_sensitive(host, cpu, KVM_PAGE_VMCB02, n->vmcb02));
	n->msrpm = NULL;
	n->vmcb02 = NULL;
	n->initialized = false;
	vcpu->in_l2 = false;
}
