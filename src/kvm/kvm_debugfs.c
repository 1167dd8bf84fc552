// SPDX-License-Identifier: MIT
/*
 * kvm_debugfs.c - KVM's debugfs files as the page allocator sees them
 * (Debian 6.12.95 virt/kvm/kvm_main.c kvm_create_vm_debugfs(),
 * kvm_create_vcpu_debugfs(), kvm_destroy_vm_debugfs();
 * arch/x86/kvm/debugfs.c), and the RCU grace period their frees wait for.
 *
 * Every file and directory is an inode (alloc_inode() -> inode_cachep) and
 * a dentry (dentry_cache), both SLAB_RECLAIM_ACCOUNT caches: RECLAIMABLE
 * slabs.  A VM makes its directory, one file a VM statistic and one a vCPU
 * statistic (kvm_vm_stats_desc[], kvm_vcpu_stats_desc[] of
 * arch/x86/kvm/x86.c: 2 + 13 and 11 + 34) and x86's mmu_rmaps_stat; a vCPU
 * its directory, "pid", guest_mode, tsc-offset, lapic_timer_advance_ns when
 * its LAPIC is in the kernel, and the two tsc-scaling files when the CPU
 * has the TSC ratio MSR (kvm_caps.has_tsc_control).  The VM's end removes
 * them all (debugfs_remove_recursive()): each inode and dentry is freed by
 * an RCU callback (i_callback(), __d_free()) on the CPU that removed it,
 * after a grace period.  Seen in a watched 6.12 boot: the RECLAIMABLE
 * order-2 slabs came from alloc_inode() under __debugfs_create_file() and
 * debugfs_create_dir() from KVM's ioctls, and their frees, from
 * rcu_do_batch(), started nearly every drain of a per-CPU list (docs/WATCH.md
 * "The model's per-CPU lists against the kernel's").
 *
 * The grace period, assumed: it ends at the next tick (kvm_host_tick()), so
 * a VM made right after another's end (watch's slots) takes its files'
 * objects before the old ones come back.  The two caches start empty when
 * kvm_amd loads, though the kernel's have slabs from boot (assumed; their
 * orders are the watched kernels' /proc/slabinfo: inode_cache 25 objects in
 * 4 pages on 6.12, 12 in 2 pages on 6.1; dentry 21 in one page;
 * docs/data/boot-state-2026-12-06).
 */
#include "kvm/kvm_internal.h"

#include <stdlib.h>
#include <string.h>

#define DEBUGFS_VM_FILES    (1 + 2 + 13 + 11 + 34 + 1)   /* dir, stats, mmu_rmaps_stat */
#define DEBUGFS_VCPU_FILES  4                           /* dir, pid, guest_mode, tsc-offset */
#define INODE_SIZE          640u   /* 25 in 16 KiB, 12 in 8 KiB */
#define DENTRY_SIZE         192u   /* 21 a page */

static const char *const debugfs_names[KVM_NR_DEBUGFS] = { "off", "on", "tcg" };

const char *kvm_debugfs_name(enum kvm_debugfs d)
{
	return (unsigned int)d < KVM_NR_DEBUGFS ? debugfs_names[d] : "?";
}

int kvm_debugfs_parse(const char *s, enum kvm_debugfs *out)
{
	if (!s || !out)
		return SNP_EINVAL;
	for (unsigned int i = 0; i < KVM_NR_DEBUGFS; i++)
		if (!strcmp(s, debugfs_names[i])) {
			*out = (enum kvm_debugfs)i;
			return 0;
		}
	return SNP_EINVAL;
}

int kvm_debugfs_init(struct kvm_host *host)
{
	unsigned int inode_order = host->cfg.kernel == MM_KERNEL_6_1 ? 1 : 2;
	int ret;

	if (host->cfg.kvm_debugfs == KVM_DEBUGFS_OFF)
		return 0;
	ret = mm_kmem_cache_create_order(host->mm, INODE_SIZE, 8, MM_GFP_RECLAIMABLE, inode_order,
					 &host->inode_cache);
	if (!ret)
		ret = mm_kmem_cache_create(host->mm, DENTRY_SIZE, 8, MM_GFP_RECLAIMABLE,
					   &host->dentry_cache);
	return ret;
}

/* The frees whose grace period is over: each on the CPU that queued it, in queue order. */
void kvm_rcu_flush(struct kvm_host *host)
{
	for (size_t i = 0; i < host->nr_rcu; i++)
		kvm_warn_on_err(host, mm_kmem_cache_free(host->rcu[i].s, host->rcu[i].cpu,
							 host->rcu[i].obj));
	host->nr_rcu = 0;
}

void kvm_rcu_barrier(struct kvm_host *host)
{
	if (host)
		kvm_rcu_flush(host);
}

void kvm_debugfs_exit(struct kvm_host *host)
{
	kvm_rcu_flush(host);
	kvm_warn_on_err(host, mm_kmem_cache_destroy(host->inode_cache, 0));
	kvm_warn_on_err(host, mm_kmem_cache_destroy(host->dentry_cache, 0));
	host->inode_cache = host->dentry_cache = NULL;
	free(host->rcu);
	host->rcu = NULL;
	host->rcu_cap = 0;
}

static SNP_MUST_CHECK int debugfs_push(struct kvm *kvm, long obj)
{
	if (kvm->nr_debugfs == kvm->debugfs_cap) {
		size_t cap = kvm->debugfs_cap ? 2 * kvm->debugfs_cap : 2 * DEBUGFS_VM_FILES;
		long *n = realloc(kvm->debugfs, cap * sizeof(*n));

		if (!n)
			return SNP_ENOMEM;
		kvm->debugfs = n;
		kvm->debugfs_cap = cap;
	}
	kvm->debugfs[kvm->nr_debugfs++] = obj;
	return 0;
}

/* One file or directory on @cpu: its inode (new_inode()), then its dentry (d_alloc_name()). */
static SNP_MUST_CHECK int debugfs_create(struct kvm *kvm, unsigned int cpu)
{
	struct kvm_host *host = kvm->host;
	long inode = mm_kmem_cache_alloc(host->inode_cache, cpu, MM_GFP_ACCOUNT);
	long dentry;
	int ret;

	if (inode < 0)
		return (int)inode;
	ret = debugfs_push(kvm, inode);
	if (ret) {
		kvm_warn_on_err(host, mm_kmem_cache_free(host->inode_cache, cpu, inode));
		return ret;
	}
	dentry = mm_kmem_cache_alloc(host->dentry_cache, cpu, MM_GFP_ACCOUNT);
	ret = dentry < 0 ? (int)dentry : debugfs_push(kvm, dentry);
	if (ret) {   /* the list keeps inode and dentry pairs: this inode goes now */
		if (dentry >= 0)
			kvm_warn_on_err(host, mm_kmem_cache_free(host->dentry_cache, cpu, dentry));
		kvm_warn_on_err(host, mm_kmem_cache_free(host->inode_cache, cpu,
							 kvm->debugfs[--kvm->nr_debugfs]));
	}
	return ret;
}

static SNP_MUST_CHECK int debugfs_create_n(struct kvm *kvm, unsigned int cpu, unsigned int n)
{
	int ret = 0;

	for (unsigned int i = 0; i < n && !ret; i++)
		ret = debugfs_create(kvm, cpu);
	return ret;
}

int kvm_create_vm_debugfs(struct kvm *kvm)
{
	if (!kvm->host->inode_cache)
		return 0;
	return debugfs_create_n(kvm, kvm->cfg.cpu, DEBUGFS_VM_FILES);
}

int kvm_create_vcpu_debugfs(struct kvm_vcpu *vcpu, unsigned int cpu)
{
	struct kvm_host *host = vcpu->kvm->host;
	unsigned int n = DEBUGFS_VCPU_FILES;

	if (!host->inode_cache)
		return 0;
	if (vcpu->has_apic)
		n++;   /* lapic_timer_advance_ns */
	if (host->cfg.kvm_debugfs == KVM_DEBUGFS_ON)
		n += 2;   /* tsc-scaling-ratio and its frac-bits */
	return debugfs_create_n(vcpu->kvm, cpu, n);
}

/* The cache object @i of a VM's debugfs list came from: inode and dentry pairs. */
static struct mm_kmem_cache *debugfs_cache(const struct kvm_host *host, size_t i)
{
	return i % 2 ? host->dentry_cache : host->inode_cache;
}

/* Room on the RCU list for @n more frees; false when it cannot grow. */
static bool rcu_reserve(struct kvm_host *host, size_t n)
{
	size_t cap = host->rcu_cap ? host->rcu_cap : 256;
	struct kvm_rcu_free *grown;

	if (host->nr_rcu + n <= host->rcu_cap)
		return true;
	while (cap < host->nr_rcu + n)
		cap *= 2;
	grown = realloc(host->rcu, cap * sizeof(*grown));
	if (!grown)
		return false;
	host->rcu = grown;
	host->rcu_cap = cap;
	return true;
}

/*
 * kvm_destroy_vm_debugfs() on @cpu: every inode and dentry waits for a grace
 * period (the objects in the order the files were made: the model does not
 * follow the walk of debugfs_remove_recursive()).  With no room to wait,
 * the grace period ends now.
 */
void kvm_destroy_vm_debugfs(struct kvm *kvm, unsigned int cpu)
{
	struct kvm_host *host = kvm->host;
	bool wait = rcu_reserve(host, kvm->nr_debugfs);

	for (size_t i = 0; i < kvm->nr_debugfs; i++) {
		struct mm_kmem_cache *s = debugfs_cache(host, i);

		if (wait)
			host->rcu[host->nr_rcu++] = (struct kvm_rcu_free){ s, kvm->debugfs[i], cpu };
		else
			kvm_warn_on_err(host, mm_kmem_cache_free(s, cpu, kvm->debugfs[i]));
	}
	free(kvm->debugfs);
	kvm->debugfs = NULL;
	kvm->nr_debugfs = kvm->debugfs_cap = 0;
}
