// SPDX-License-Identifier: MIT
/*
 * lapic.c - the in-kernel local APIC's register page.  Mirrors Linux
 * arch/x86/kvm/lapic.c kvm_create_lapic() / kvm_free_lapic(): the page comes
 * from the vendor's optional alloc_apic_backing_page hook when the vendor
 * bound one (svm: an SNP-safe page, because with AVIC it is the AVIC backing
 * page VMRUN marks in-use), else from get_zeroed_page().  The hook is called
 * through the host's call slot (static_call_cond in the kernel), the idea
 * the LKML reviewer asked for.  Our own code.
 */
#include "kvm/kvm_internal.h"

/**
 * kvm_create_lapic() - give @vcpu its APIC register page.
 *
 * Why the slot test and not a table test: the slot was bound once at vendor
 * load; a vendor without the hook leaves it NULL and every vCPU takes the
 * plain path, with no look at the vendor's ops table.
 */
int kvm_create_lapic(struct kvm_vcpu *vcpu)
{
	struct kvm_host *host = vcpu->kvm->host;
	struct kvm_lapic *apic = &vcpu->apic;

	if (apic->regs)
		return SNP_EEXIST;
	if (kvm_x86_has(host, alloc_apic_backing_page)) {
		apic->regs = kvm_x86_call(host, alloc_apic_backing_page)(vcpu);
		apic->from_hook = true;
	} else {
		apic->regs = mm_alloc_pages(host->mm, vcpu->created_on,
					    MM_GFP_KERNEL_ACCOUNT | MM_GFP_ZERO, 0);
		apic->from_hook = false;
	}
	if (!apic->regs)
		return SNP_ENOMEM;
	if (apic->from_hook) {
		host->stats.lapic_hook++;
		kvm_account_sensitive(host, KVM_PAGE_AVIC, apic->regs);
	} else {
		host->stats.lapic_plain++;
	}
	return 0;
}

/* kvm_free_lapic() on @cpu: SNP_ENOENT when there is no page (a second free). */
int kvm_free_lapic(struct kvm_vcpu *vcpu, unsigned int cpu)
{
	struct kvm_host *host = vcpu->kvm->host;
	struct kvm_lapic *apic = &vcpu->apic;
	int ret;

	if (!apic->regs)
		return SNP_ENOENT;
	if (apic->from_hook)
		ret = kvm_free_sensitive(host, cpu, KVM_PAGE_AVIC, apic->regs);
	else
		ret = mm_free_pages(host->mm, cpu, apic->regs, 0);
	apic->regs = NULL;
	return ret;
}
