/* SPDX-License-Identifier: MIT */
/*
 * kvm_internal.h - the KVM host model's objects, shared by src/kvm only.
 * Mirrors the parts of arch/x86/include/asm/kvm_host.h (struct kvm_arch,
 * struct kvm_vcpu_arch), arch/x86/kvm/lapic.h (struct kvm_lapic) and
 * arch/x86/kvm/svm/svm.h (struct vcpu_svm, struct svm_cpu_data,
 * struct kvm_sev_info) that the modeled paths use.
 */
#ifndef SNPSAFE_KVM_INTERNAL_H
#define SNPSAFE_KVM_INTERNAL_H

#include <snpsafe/kvm.h>

/*
 * Call a bound vendor operation: the host's slot, filled once by
 * kvm_ops_update() (Linux static_call / kvm_x86_call).  Required slots are
 * never NULL after a successful kvm_x86_vendor_init().
 */
#define kvm_x86_call(host, func) ((host)->x86.func)
/* Is an optional slot bound (static_call_query)?  Callers fall back when not. */
#define kvm_x86_has(host, func) ((host)->x86.func != NULL)

/* struct kvm_lapic: only the register page matters here. */
struct kvm_lapic {
	struct page *regs;     /* the APIC backing page (AVIC) */
	bool from_hook;
};

/* MSRPM_SIZE is 8K: an order-1 allocation (svm_vcpu_alloc_msrpm), vmcb01's and L2's. */
#define SVM_MSRPM_ORDER 1

/* struct svm_nested_state */
struct svm_nested_state {
	struct page *vmcb02;
	struct page *msrpm;    /* order 1 */
	bool initialized;
};

/*
 * struct kvm_mmu_memory_cache (include/linux/kvm_types.h): pages KVM keeps
 * ready so a fault under the MMU lock never allocates.  x86 fills one to
 * KVM_ARCH_NR_OBJS_PER_MEMORY_CACHE whenever it holds fewer than asked.
 */
#define KVM_ARCH_NR_OBJS_PER_MEMORY_CACHE 40
struct kvm_mmu_memory_cache {
	struct page *objects[KVM_ARCH_NR_OBJS_PER_MEMORY_CACHE];
	unsigned int nobjs;
	mm_gfp_t gfp_zero;     /* __GFP_ZERO, or 0 */
	bool init_value;       /* 6.12 shadow pages: filled with SHADOW_NONPRESENT_VALUE */
};

struct kvm_vcpu {
	struct kvm *kvm;
	long slab_obj;         /* the vcpu object in host->kvm_vcpu_cache */
	struct kvm_mmu_memory_cache mmu_shadow_page_cache;
	struct kvm_mmu_memory_cache mmu_shadowed_info_cache;
	unsigned int vcpu_id;
	unsigned int created_on;   /* CPU of the VMM thread that created it */
	int running_cpu;       /* host CPU in guest mode with it, or -1 */
	bool has_apic;
	struct kvm_lapic apic;
	struct page *run;      /* vcpu->run (kvm_vm_ioctl_create_vcpu) */
	struct page *pio_data;
	struct page *guest_fpu;   /* the guest fpstate's one vzalloc page (fpu_alloc_guest_fpstate) */
	/* svm (struct vcpu_svm) */
	struct page *vmcb01;
	struct page *vmsa;     /* SEV-ES / SNP */
	struct page *msrpm;    /* order 1 */
	struct page *pml_page; /* PML buffer (KVM_VERSION_PML: struct kvm_vcpu_arch.pml_page) */
	struct svm_nested_state nested;
	bool in_l2;
	bool vmsa_private;     /* SNP: VMSA made guest-owned at launch */
	uint64_t gmem_done;    /* pages of its guest_memfd share faulted in so far (first runs) */
	/* vmx-like */
	struct page *vmcs;
};

/* One block of guest memory. */
struct kvm_guest_block {
	struct page *page;
	unsigned int order;
	snp_gpa_t gpa;
	bool private;          /* SNP: RMP entries assigned to the guest */
};

struct kvm {
	struct kvm_host *host;
	int id;
	struct kvm_vm_config cfg;
	uint32_t asid;
	bool sev_asid;         /* asid comes from the SEV allocator */
	bool launched;
	int launch_rmp_ret;    /* SNP: last RMPUPDATE code of the launch (sev.c) */
	struct kvm_vcpu *vcpus[KVM_MAX_VCPUS];
	unsigned int nr_vcpus;
	unsigned int vcpu_end;     /* one past the highest vcpu id ever created: walks stop there */
	struct kvm_guest_block *mem;
	size_t nr_mem;
	/* struct kvm itself: kvm_arch_alloc_vm()'s vmalloc pages, in index order */
	struct page **vm_pages;
	unsigned int nr_vm_pages;
	struct page *coalesced_mmio_ring;   /* kvm_coalesced_mmio_init() */
	/* its debugfs files' objects, inode and dentry pairs (kvm_debugfs.c) */
	long *debugfs;
	size_t nr_debugfs, debugfs_cap;
};

/* A slab object freed by an RCU callback once the grace period is over. */
struct kvm_rcu_free {
	struct mm_kmem_cache *s;
	long obj;
	unsigned int cpu;   /* the CPU that queued it (call_rcu()) */
};

/* struct svm_cpu_data */
struct svm_cpu_data {
	struct page *save_area;
	bool init;
};

/* A page held by host kernel work (page cache, slab, skb). */
struct kvm_kwork_page {
	struct page *page;
	unsigned int order;
};

struct kvm_host {
	struct kvm_host_config cfg;
	struct snp_machine *machine;
	struct mm_host *mm;
	/* Vendor binding: the static-call slots (copied once) and the init ops. */
	struct kvm_x86_ops x86;
	const struct kvm_x86_init_ops *vendor;
	struct mm_kmem_cache *kvm_vcpu_cache;   /* kvm_init(): one object per vCPU */
	struct mm_kmem_cache *inode_cache, *dentry_cache;   /* KVM's debugfs files, or NULL */
	struct kvm_rcu_free *rcu;          /* frees waiting for the grace period */
	size_t nr_rcu, rcu_cap;
	uint64_t mmu_cache_pages;          /* pages in the vCPUs' MMU caches now */
	bool avic;
	struct svm_cpu_data *sd;           /* nr_cpus */
	unsigned int nr_cpus;
	/* VMs by id (ids grow; a destroyed VM's slot stays NULL). */
	struct kvm **vms;
	size_t vms_cap;
	int next_vm_id;
	unsigned int nr_vms;
	/*
	 * ASIDs: SEV/SEV-ES/SNP ones owned by one VM; plain SVM ones rotate.
	 * A destroyed VM's SEV ASID stays used and waits in asid_reclaim until
	 * a flush (sev_asid_new() -> __sev_recycle_asids()) frees them all.
	 */
	bool asid_used[SNP_MAX_ASID + 1];
	bool asid_reclaim[SNP_MAX_ASID + 1];
	uint32_t next_svm_asid;
	/* Leaked pages (snp_leak_pages). */
	struct kvm_leak *leaks;
	uint64_t nr_leaks, leaks_cap;
	/* Host kernel work. */
	struct kvm_kwork_page *kwork;
	unsigned int nr_kwork;
	/* kvm_host_tick()'s scratch lists, kept between ticks (grown, freed with the host). */
	struct kvm_vcpu **tick_vcpus;
	snp_pfn_t *tick_sens;
	bool *tick_busy;
	unsigned int tick_cap_v, tick_cap_s;
	struct kvm_host_stats stats;
};

/* ---- kvm_debugfs.c ---- */
/* The debugfs caches when cfg.kvm_debugfs is on; kvm_debugfs_exit() after the last VM. */
SNP_MUST_CHECK int kvm_debugfs_init(struct kvm_host *host);
void kvm_debugfs_exit(struct kvm_host *host);
SNP_MUST_CHECK int kvm_create_vm_debugfs(struct kvm *kvm);
SNP_MUST_CHECK int kvm_create_vcpu_debugfs(struct kvm_vcpu *vcpu, unsigned int cpu);
void kvm_destroy_vm_debugfs(struct kvm *kvm, unsigned int cpu);
/* The grace period ends: the waiting frees, each on its CPU. */
void kvm_rcu_flush(struct kvm_host *host);

/* ---- x86.c helpers shared by the vendors ---- */
struct kvm *kvm_get_vm(const struct kvm_host *host, int vm);
struct kvm_vcpu *kvm_get_vcpu(const struct kvm_host *host, int vm, unsigned int vcpu_id);
snp_pfn_t kvm_page_pfn(const struct kvm_host *host, const struct page *p);
/* Count a sensitive page (and whether it is 2MB-aligned). */
void kvm_account_sensitive(struct kvm_host *host, enum kvm_page_kind kind, const struct page *p);
/*
 * kvm_version.c: a sensitive page as the configured KVM version's call site
 * allocates it (counted in stats.sensitive_safe when SNP-safe), and whether
 * that version has a PML buffer.
 */
bool kvm_version_has_pml(const struct kvm_host *host);
/* Is the 2MB region of pfn mapped by a 2M or 1G leaf now (census.c)? */
bool kvm_region_huge(const struct kvm_host *host, snp_pfn_t pfn);
/*
 * The page calls below name the CPU they run on (the kernel's this_cpu, whose
 * per-CPU lists are used): a vCPU's pages are allocated on the CPU that
 * creates it (vcpu->created_on), a VM's on its VMM's CPU (kvm->cfg.cpu), and
 * a teardown frees on the CPU it runs on.
 */
struct page *kvm_alloc_sensitive(struct kvm_host *host, unsigned int cpu, enum kvm_page_kind kind,
				 int node, mm_gfp_t gfp);
SNP_MUST_CHECK int kvm_free_sensitive(struct kvm_host *host, unsigned int cpu, enum kvm_page_kind kind,
		       struct page *p);
/* Free an order-0 page on @cpu (NULL ok). */
void kvm_free_page(struct kvm_host *host, unsigned int cpu, struct page *p);
/*
 * kvm_warn_on_err() - a step that cannot fail on a consistent host (a free
 * on teardown, a TLB flush of a CPU that exists) failed: count it in
 * stats.teardown_errors, as the kernel would WARN_ON and go on, and return
 * whether it did.  The checked way to go past a must-check result that has
 * no caller to go to.
 */
bool kvm_warn_on_err(struct kvm_host *host, int ret);
/* snp_leak_pages(): keep the page out of the allocator forever, list it. */
void snp_leak_pages(struct kvm_host *host, snp_pfn_t pfn, enum kvm_page_kind kind, int ret,
		    const char *label);
bool kvm_guest_sev(const struct kvm *kvm);
bool kvm_guest_sev_es(const struct kvm *kvm);
bool kvm_guest_snp(const struct kvm *kvm);

/* ---- mmu.c ---- */
void kvm_mmu_create(struct kvm_vcpu *vcpu);
SNP_MUST_CHECK int kvm_mmu_load(struct kvm_vcpu *vcpu, unsigned int cpu);
void kvm_mmu_destroy(struct kvm_vcpu *vcpu, unsigned int cpu);

/* ---- lapic.c ---- */
SNP_MUST_CHECK int kvm_create_lapic(struct kvm_vcpu *vcpu);
SNP_MUST_CHECK int kvm_free_lapic(struct kvm_vcpu *vcpu, unsigned int cpu);

/* ---- svm.c / sev.c / nested.c ---- */
SNP_MUST_CHECK int sev_vm_init(struct kvm *kvm);
void sev_vm_destroy(struct kvm *kvm);
SNP_MUST_CHECK int sev_vcpu_create(struct kvm_vcpu *vcpu);
void sev_free_vcpu(struct kvm_vcpu *vcpu, unsigned int cpu);
SNP_MUST_CHECK int sev_launch(struct kvm *kvm);
void sev_gmem_invalidate(struct kvm *kvm);
SNP_MUST_CHECK int sev_gmem_prepare(struct kvm *kvm, snp_pfn_t pfn, snp_gpa_t gpa);
bool kvm_gmem_lazy(const struct kvm *kvm);

/* boot_dump.c: a host started from a measured boot (kvm_host_config.boot_dump) */
SNP_MUST_CHECK int kvm_boot_dump_reservations(const struct kvm_host *host, struct mm_reserved_range **res,
					      size_t *nr);
const uint8_t *kvm_boot_dump_pageblock_mt(const struct kvm_host *host);
SNP_MUST_CHECK int kvm_boot_dump_apply(struct kvm_host *host);
/*
 * boot_state.c: qemu-pc's kernel image, initrd, vmemmap and per-CPU first
 * chunk reservations (at most kvm_boot_max_reservations()), and the
 * initrd's free.
 */
size_t kvm_boot_max_reservations(const struct kvm_host *host);
SNP_MUST_CHECK int kvm_boot_reservations(const struct kvm_host *host, uint64_t mem,
					 struct mm_reserved_range *res, size_t *nr);
SNP_MUST_CHECK int kvm_boot_free_initrd(struct kvm_host *host);
/* After mm_host_create(): the kernel's own memory and the initrd's free (qemu-pc only). */
SNP_MUST_CHECK int kvm_boot_state(struct kvm_host *host);
SNP_MUST_CHECK int svm_allocate_nested(struct kvm_vcpu *vcpu);
void svm_free_nested(struct kvm_vcpu *vcpu, unsigned int cpu);

/* ---- labels ---- */
void kvm_vcpu_label(const struct kvm_vcpu *vcpu, const char *what, char *buf, size_t len);

#endif
