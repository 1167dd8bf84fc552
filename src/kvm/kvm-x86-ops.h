/* SPDX-License-Identifier: MIT */
/*
 * kvm-x86-ops.h - the list of vendor operations, mirroring Linux
 * arch/x86/include/asm/kvm-x86-ops.h: KVM_X86_OP for a required operation,
 * KVM_X86_OP_OPTIONAL for one a vendor may leave NULL.  The includer defines
 * both macros; they are undefined at the end.  Used by x86.c to check a
 * vendor's table once, in kvm_ops_update(), before it is copied into the
 * host's call slots.
 *
 * The per-CPU and guest-memory ops carry upstream's names (Linux 6.12
 * arch/x86/include/asm/kvm-x86-ops.h): enable_virtualization_cpu /
 * disable_virtualization_cpu (called from x86.c
 * kvm_arch_{enable,disable}_virtualization_cpu; required upstream, optional
 * here because the model's vmx-like vendor keeps no per-CPU state) and
 * gmem_invalidate (x86.c kvm_arch_gmem_invalidate(); SVM binds
 * sev_gmem_invalidate, which makes private pages shared again) and
 * gmem_prepare (kvm_arch_gmem_prepare(); SVM binds sev_gmem_prepare, which
 * makes a page private at its first use).  Generic
 * code reaches the vendor only through these slots.
 */
#if !defined(KVM_X86_OP) || !defined(KVM_X86_OP_OPTIONAL)
#error "define KVM_X86_OP and KVM_X86_OP_OPTIONAL before including kvm-x86-ops.h"
#endif

KVM_X86_OP(vm_init)
KVM_X86_OP(vm_destroy)
KVM_X86_OP(vcpu_create)
KVM_X86_OP(vcpu_free)
KVM_X86_OP(vcpu_run)
KVM_X86_OP(vcpu_exit)
KVM_X86_OP_OPTIONAL(alloc_apic_backing_page)
KVM_X86_OP_OPTIONAL(nested_enable)
KVM_X86_OP_OPTIONAL(nested_free)
KVM_X86_OP_OPTIONAL(vm_launch)
KVM_X86_OP_OPTIONAL(enable_virtualization_cpu)
KVM_X86_OP_OPTIONAL(disable_virtualization_cpu)
KVM_X86_OP_OPTIONAL(gmem_invalidate)
KVM_X86_OP_OPTIONAL(gmem_prepare)

#undef KVM_X86_OP
#undef KVM_X86_OP_OPTIONAL
