// SPDX-License-Identifier: MIT
/*
 * x86.c - the KVM host: one modeled machine and one modeled allocator joined
 * over the same pfns, the vendor binding, the per-CPU enable, the helpers
 * the vendors share (page accounting, snp_leak_pages' list).  Mirrors Linux
 * arch/x86/kvm/x86.c (kvm_x86_vendor_init / kvm_x86_vendor_exit,
 * kvm_ops_update).  VM and vCPU life (kvm_create_vm, kvm_destroy_vm,
 * kvm_vm_ioctl_create_vcpu, kvm_arch_vcpu_create) is in kvm_main.c.  Our
 * own code.
 *
 * The static-call idea in C: a vendor hands a const struct kvm_x86_ops;
 * kvm_ops_update() checks every KVM_X86_OP is non-NULL and copies the table
 * once into host->x86, the host's call slots.  Callers use the slots through
 * kvm_x86_call() and never look at the vendor's table again; an optional
 * slot left NULL makes the caller fall back (lapic.c: get_zeroed_page).
 */
#include "kvm/kvm_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KVM_DEFAULT_MEM (256 * SNP_MiB)
#define KVM_DEFAULT_CPUS 2
#define KVM_DEFAULT_KWORK 256

static const char *const page_kind_names[KVM_PAGE_NR_KINDS] = {
	[KVM_PAGE_VMCB01] = "vmcb01",
	[KVM_PAGE_VMSA] = "vmsa",
	[KVM_PAGE_AVIC] = "avic",
	[KVM_PAGE_HSAVE] = "hsave",
	[KVM_PAGE_VMCB02] = "vmcb02",
	[KVM_PAGE_PML] = "pml",
};

const char *kvm_page_kind_name(enum kvm_page_kind k)
{
	if ((unsigned int)k >= KVM_PAGE_NR_KINDS)
		return "guest memory";
	return page_kind_names[k];
}

void kvm_host_config_init(struct kvm_host_config *cfg, uint64_t mem_bytes, unsigned int nr_cpus)
{
	if (!cfg)
		return;
	memset(cfg, 0, sizeof(*cfg));
	cfg->mem_bytes = mem_bytes;
	cfg->nr_cpus = nr_cpus;
	cfg->snp_enabled = true;
	cfg->strategy = SNP_ALLOC_UPSTREAM;
}

void kvm_vm_config_init(struct kvm_vm_config *cfg, enum snp_guest_type type)
{
	if (!cfg)
		return;
	memset(cfg, 0, sizeof(*cfg));
	cfg->type = type;
	cfg->guest_pages = 16;
	cfg->max_guest_order = 2;
	cfg->lapic_in_kernel = true;
	cfg->gmem_faulted_pct = 100;
}

/* ---- small helpers shared by the vendors ---- */

struct kvm *kvm_get_vm(const struct kvm_host *host, int vm)
{
	if (!host || vm < 0 || (size_t)vm >= host->vms_cap)
		return NULL;
	return host->vms[vm];
}

struct kvm_vcpu *kvm_get_vcpu(const struct kvm_host *host, int vm, unsigned int vcpu_id)
{
	struct kvm *kvm = kvm_get_vm(host, vm);

	if (!kvm || vcpu_id >= KVM_MAX_VCPUS)
		return NULL;
	return kvm->vcpus[vcpu_id];
}

snp_pfn_t kvm_page_pfn(const struct kvm_host *host, const struct page *p)
{
	return p ? mm_page_to_pfn(host->mm, p) : SNP_NO_PAGE;
}

void kvm_account_sensitive(struct kvm_host *host, enum kvm_page_kind kind, const struct page *p)
{
	const snp_pfn_t pfn = kvm_page_pfn(host, p);

	host->stats.sensitive_allocated[kind]++;
	if (snp_pfn_2m_aligned(pfn)) {
		host->stats.sensitive_aligned[kind]++;
		if (kvm_region_huge(host, pfn))
			host->stats.sensitive_aligned_huge[kind]++;
	}
	if (host->cfg.on_sensitive)
		host->cfg.on_sensitive(host->cfg.on_sensitive_ctx, kind, pfn);
}

void kvm_free_page(struct kvm_host *host, unsigned int cpu, struct page *p)
{
	if (p)
		kvm_warn_on_err(host, mm_free_pages(host->mm, cpu, p, 0));
}

bool kvm_warn_on_err(struct kvm_host *host, int ret)
{
	if (ret)
		host->stats.teardown_errors++;
	return ret != 0;
}

bool kvm_guest_sev(const struct kvm *kvm)
{
	return kvm->cfg.type != SNP_GUEST_SVM;
}

bool kvm_guest_sev_es(const struct kvm *kvm)
{
	return kvm->cfg.type == SNP_GUEST_SEV_ES || kvm->cfg.type == SNP_GUEST_SNP;
}

bool kvm_guest_snp(const struct kvm *kvm)
{
	return kvm->cfg.type == SNP_GUEST_SNP;
}

void kvm_vcpu_label(const struct kvm_vcpu *vcpu, const char *what, char *buf, size_t len)
{
	snprintf(buf, len, "vm %d vcpu %u %s", vcpu->kvm->id, vcpu->vcpu_id, what);
}

/**
 * snp_leak_pages() - a page whose RMP entry could not be made shared again.
 *
 * Why: freeing a page the RMP still assigns to a guest (or marks in-use)
 * would hand the next owner a page the host cannot write; Linux keeps it
 * out of the allocator for ever and reports it.  The model keeps a list so
 * the leak checks can tell these pages from lost ones.
 */
void snp_leak_pages(struct kvm_host *host, snp_pfn_t pfn, enum kvm_page_kind kind, int ret,
		    const char *label)
{
	struct kvm_leak *l;

	host->stats.leaked_pages++;
	if (host->nr_leaks == host->leaks_cap) {
		uint64_t cap = host->leaks_cap ? 2 * host->leaks_cap : 16;
		struct kvm_leak *n = realloc(host->leaks, cap * sizeof(*n));

		if (!n)
			return;  /* still counted; the record is lost */
		host->leaks = n;
		host->leaks_cap = cap;
	}
	l = &host->leaks[host->nr_leaks++];
	memset(l, 0, sizeof(*l));
	l->pfn = pfn;
	l->kind = kind;
	l->ret = ret;
	snprintf(l->label, sizeof(l->label), "%s", label ? label : "");
}

uint64_t kvm_host_nr_leaks(const struct kvm_host *host)
{
	return host ? host->nr_leaks : 0;
}

int kvm_host_get_leak(const struct kvm_host *host, uint64_t idx, struct kvm_leak *out)
{
	if (!host || !out)
		return SNP_EINVAL;
	if (idx >= host->nr_leaks)
		return SNP_ENOENT;
	*out = host->leaks[idx];
	return 0;
}

/* ---- vendor binding ---- */

/**
 * kvm_ops_update() - check a vendor's table and copy it into the call slots.
 *
 * Why once: the kernel patches static calls when the vendor module loads so
 * that no call site dereferences kvm_x86_ops at run time; here the copy is
 * the patch.  A missing required op fails the whole load, before anything is
 * copied, so a half-bound host cannot exist.
 */
static SNP_MUST_CHECK int kvm_ops_update(struct kvm_host *host, const struct kvm_x86_ops *ops)
{
#define KVM_X86_OP(func) if (!ops->func) return SNP_EINVAL;
#define KVM_X86_OP_OPTIONAL(func)
#include "kvm/kvm-x86-ops.h"
	host->x86 = *ops;
	return 0;
}

/*
 * The vendor module's init (svm_init()): kvm_x86_vendor_init() binds the ops
 * and runs hardware_setup, then kvm_init() makes the kvm_vcpu slab cache of
 * the vendor's vCPU struct (virt/kvm/kvm_main.c: kmem_cache_create_usercopy(),
 * SLAB_ACCOUNT, not reclaimable; a usercopy cache is never merged).
 */
int kvm_x86_vendor_init(struct kvm_host *host, const struct kvm_x86_init_ops *ops)
{
	int ret;

	if (!host || !ops || !ops->hardware_setup || !ops->hardware_unsetup || !ops->runtime_ops ||
	    !ops->runtime_ops->vm_size || !ops->vcpu_size)
		return SNP_EINVAL;
	if (host->vendor)
		return SNP_EEXIST;
	ret = kvm_ops_update(host, ops->runtime_ops);
	if (ret)
		return ret;
	host->vendor = ops;
	ret = ops->hardware_setup(host);
	if (!ret) {
		ret = mm_kmem_cache_create(host->mm, ops->vcpu_size, ops->vcpu_align, 0,
					   &host->kvm_vcpu_cache);
		if (!ret)
			ret = kvm_debugfs_init(host);
		if (ret) {
			kvm_debugfs_exit(host);
			kvm_warn_on_err(host, mm_kmem_cache_destroy(host->kvm_vcpu_cache, 0));
			host->kvm_vcpu_cache = NULL;
			ops->hardware_unsetup(host);
		}
	}
	if (ret) {
		memset(&host->x86, 0, sizeof(host->x86));
		host->vendor = NULL;
	}
	return ret;
}

/* svm_exit(): kvm_exit() destroys the kvm_vcpu cache (its slabs freed on CPU 0), then unsetup. */
int kvm_x86_vendor_exit(struct kvm_host *host)
{
	if (!host)
		return SNP_EINVAL;
	if (!host->vendor)
		return SNP_ENOENT;
	if (host->nr_vms)
		return SNP_EBUSY;
	kvm_debugfs_exit(host);
	kvm_warn_on_err(host, mm_kmem_cache_destroy(host->kvm_vcpu_cache, 0));
	host->kvm_vcpu_cache = NULL;
	host->vendor->hardware_unsetup(host);
	memset(&host->x86, 0, sizeof(host->x86));
	host->vendor = NULL;
	return 0;
}

const char *kvm_host_vendor(const struct kvm_host *host)
{
	return host && host->vendor ? host->vendor->name : NULL;
}

bool kvm_host_avic_enabled(const struct kvm_host *host)
{
	return host && host->avic;
}

static const char *const avic_mode_names[] = {
	[KVM_AVIC_AUTO] = "auto", [KVM_AVIC_ON] = "on", [KVM_AVIC_OFF] = "off",
};

const char *kvm_avic_mode_name(enum kvm_avic_mode m)
{
	return (unsigned int)m <= KVM_AVIC_OFF ? avic_mode_names[m] : "?";
}

int kvm_avic_mode_parse(const char *s, enum kvm_avic_mode *out)
{
	for (unsigned int i = 0; s && out && i <= KVM_AVIC_OFF; i++) {
		if (!strcmp(s, avic_mode_names[i])) {
			*out = (enum kvm_avic_mode)i;
			return 0;
		}
	}
	return SNP_EINVAL;
}

/* ---- host life ---- */

static void kvm_host_fill_defaults(struct kvm_host_config *c)
{
	if (!c->mem_bytes)
		c->mem_bytes = KVM_DEFAULT_MEM;
	if (!c->nr_cpus)
		c->nr_cpus = KVM_DEFAULT_CPUS;
	if (!c->nr_nodes)
		c->nr_nodes = 1;
	if (!c->min_sev_asid)
		c->min_sev_asid = KVM_DEFAULT_MIN_SEV_ASID;
	if (!c->max_sev_asid)
		c->max_sev_asid = KVM_DEFAULT_MAX_SEV_ASID;
	if (!c->kernel_work_max)
		c->kernel_work_max = KVM_DEFAULT_KWORK;
	if (!c->sieve_pool_cap)
		c->sieve_pool_cap = SNP_SIEVE_POOL_DEFAULT;
	if (!c->vendor)
		c->vendor = kvm_vendor_svm();
}

/*
 * The boot state's page counts (0: the measured defaults) are at most the
 * host's pages each: boot_kernel_sizes() caps their sum at an eighth of
 * the managed pages, and sums of larger ones would wrap.
 */
static SNP_MUST_CHECK int kvm_host_check_boot_sizes(const struct kvm_host_config *c)
{
	const uint64_t pages = c->mem_bytes / SNP_PAGE_SIZE;

	if (c->boot_kernel_pages > pages || c->boot_freed_pages > pages || c->boot_late_pages > pages ||
	    c->boot_module_pages > pages || c->boot_module_ro_pages > pages ||
	    c->boot_reclaimable_pages > pages)
		return SNP_EINVAL;
	return 0;
}

static SNP_MUST_CHECK int kvm_host_check_config(const struct kvm_host_config *c)
{
	if (c->min_sev_asid < 2 || c->max_sev_asid < c->min_sev_asid ||
	    c->max_sev_asid >= SNP_MAX_ASID)
		return SNP_EINVAL;
	if ((unsigned int)c->strategy >= SNP_ALLOC_NR_STRATEGIES || (unsigned int)c->avic > KVM_AVIC_OFF ||
	    (unsigned int)c->kvm_version >= KVM_NR_VERSIONS)
		return SNP_EINVAL;
	if (c->nr_cpus > SNP_MACHINE_MAX_CPUS || c->kernel_work_max > (1u << 20))
		return SNP_EINVAL;
	if (c->mm_from && !c->late_vendor_load)
		return SNP_EINVAL;
	if (c->initrd_free_cpu >= c->nr_cpus)
		return SNP_EINVAL;
	if ((unsigned int)c->boot_dump_pcp >= KVM_NR_BOOT_DUMP_PCP)
		return SNP_EINVAL;
	if (c->boot_dump && (c->ram_layout != SNP_RAM_QEMU_PC ||
			     kvm_boot_dump_pages(c->boot_dump) != c->mem_bytes / SNP_PAGE_SIZE))
		return SNP_EINVAL;
	return kvm_host_check_boot_sizes(c);
}

static SNP_MUST_CHECK int kvm_host_create_machine(struct kvm_host *host)
{
	struct snp_machine_config mc = {
		.mem_bytes = host->cfg.mem_bytes,
		.profile = host->cfg.profile,
		.nr_cpus = host->cfg.nr_cpus,
		.direct_map = host->cfg.direct_map,
		.ram_layout = host->cfg.ram_layout,
		.tlb_entries = host->cfg.tlb_entries,
		.fault_log_max = host->cfg.fault_log_max,
	};

	return snp_machine_create(&mc, &host->machine);
}

/*
 * What is not RAM in the host's e820 never reaches the allocator: memblock
 * frees only memblock.memory less memblock.reserved (LINUX mm/memblock.c
 * memblock_free_all(), free_low_memory_core_early()).  The holes of the RAM
 * map become reserved ranges.  At most SNP_RAM_MAX_RANGES + 1 of them.
 */
static SNP_MUST_CHECK int kvm_host_ram_holes(const struct kvm_host *host, struct mm_reserved_range *res,
					     size_t *nr)
{
	uint64_t mem = snp_machine_mem_bytes(host->machine);
	struct snp_ram_map ram;
	snp_spa_t at = 0;
	int ret;

	ret = snp_ram_map_build(host->cfg.ram_layout, mem, &ram);
	if (ret)
		return ret;
	*nr = 0;
	for (unsigned int i = 0; i <= ram.nr; i++) {
		snp_spa_t end = i < ram.nr ? ram.r[i].start : mem;

		if (end > at)
			res[(*nr)++] = (struct mm_reserved_range){ at >> SNP_PAGE_SHIFT,
								    (end - at) >> SNP_PAGE_SHIFT };
		if (i < ram.nr)
			at = ram.r[i].end;
	}
	return 0;
}

/*
 * The allocator's reservations: the RAM map's holes, with room for
 * kvm_boot_reservations()' own, and a dumped boot's pages in use.
 */
static SNP_MUST_CHECK int kvm_host_mm_reservations(const struct kvm_host *host, struct mm_reserved_range **out,
						   size_t *nr, size_t *dumped)
{
	struct mm_reserved_range *dump = NULL, *res;
	int ret = 0;

	*out = NULL;
	*dumped = 0;
	if (host->cfg.boot_dump)
		ret = kvm_boot_dump_reservations(host, &dump, dumped);
	if (ret)
		return ret;
	res = malloc((SNP_RAM_MAX_RANGES + 1 + kvm_boot_max_reservations(host) + *dumped) * sizeof(*res));
	if (!res) {
		free(dump);
		return SNP_ENOMEM;
	}
	ret = kvm_host_ram_holes(host, res, nr);
	if (!ret && *dumped) {
		memcpy(res + *nr, dump, *dumped * sizeof(*res));
		*nr += *dumped;
	}
	free(dump);
	if (ret) {
		free(res);
		return ret;
	}
	*out = res;
	return 0;
}

/* The allocator over the same pfns as the machine (mm pfn == hw pfn). */
static SNP_MUST_CHECK int kvm_host_create_mm(struct kvm_host *host)
{
	struct snp_alloc_config ac = {
		.strategy = host->cfg.strategy,
		.snp_enabled = host->cfg.snp_enabled,
		.pool_cap = host->cfg.sieve_pool_cap,
	};
	struct mm_reserved_range *holes;
	struct mm_config mc;
	size_t boot = 0, dumped = 0;
	int ret;

	mm_config_init(&mc, host->cfg.mem_bytes);
	ret = kvm_host_mm_reservations(host, &holes, &mc.nr_reserved, &dumped);
	if (ret)
		return ret;
	if (!host->cfg.boot_dump)
		ret = kvm_boot_reservations(host, host->cfg.mem_bytes, holes + mc.nr_reserved, &boot);
	if (ret) {
		free(holes);
		return ret;
	}
	mc.nr_reserved += boot;
	mc.pageblock_mt = kvm_boot_dump_pageblock_mt(host);
	/* the watched kernels' CONFIG_DEFERRED_STRUCT_PAGE_INIT, with their boot state */
	mc.deferred_init = host->cfg.ram_layout == SNP_RAM_QEMU_PC;
	mc.reserved = holes;
	mc.nr_nodes = host->cfg.nr_nodes;
	mc.nr_cpus = host->cfg.nr_cpus;
	mc.x86_layout = true;   /* a Linux x86-64 host: first 1 MiB reserved, DMA/DMA32/Normal */
	mc.kernel = host->cfg.kernel;
	mc.thp_min_free_kbytes = !host->cfg.no_thp_min_free;
	mc.held_bytes = host->cfg.held_bytes;
	if (host->cfg.mm_from) {
		ret = mm_host_clone(&mc, host->cfg.mm_from, &host->mm);
	} else {
		ret = mm_host_create(&mc, &host->mm);
		if (!ret)   /* after boot, before anything runs: the boot's memory, the initrd freed */
			ret = host->cfg.boot_dump ? kvm_boot_dump_apply(host) : kvm_boot_state(host);
	}
	free(holes);
	if (ret)
		return ret;
	if (mm_nr_pages(host->mm) != snp_machine_mem_bytes(host->machine) / SNP_PAGE_SIZE)
		return SNP_EINVAL;
	return snp_alloc_configure(host->mm, &ac);
}

int kvm_host_create(const struct kvm_host_config *cfg, struct kvm_host **out)
{
	struct kvm_host *host;
	int ret;

	if (!cfg || !out)
		return SNP_EINVAL;
	*out = NULL;
	host = calloc(1, sizeof(*host));
	if (!host)
		return SNP_ENOMEM;
	host->cfg = *cfg;
	kvm_host_fill_defaults(&host->cfg);
	ret = kvm_host_check_config(&host->cfg);
	if (!ret)
		ret = kvm_host_create_machine(host);
	if (!ret)
		ret = kvm_host_create_mm(host);
	if (!ret) {
		host->nr_cpus = host->cfg.nr_cpus;
		host->next_svm_asid = host->cfg.max_sev_asid + 1;
		host->sd = calloc(host->nr_cpus, sizeof(*host->sd));
		host->kwork = calloc(host->cfg.kernel_work_max, sizeof(*host->kwork));
		ret = host->sd && host->kwork ? 0 : SNP_ENOMEM;
	}
	if (!ret && !host->cfg.late_vendor_load)
		ret = kvm_x86_vendor_init(host, host->cfg.vendor);
	if (ret) {
		kvm_host_destroy(host);
		return ret;
	}
	*out = host;
	return 0;
}

void kvm_host_destroy(struct kvm_host *host)
{
	if (!host)
		return;
	for (size_t i = 0; i < host->vms_cap; i++)
		if (host->vms[i])
			kvm_warn_on_err(host, kvm_destroy_vm(host, (int)i));
	if (host->mm)
		kvm_host_kernel_work_release(host);
	if (host->vendor)
		kvm_warn_on_err(host, kvm_x86_vendor_exit(host));
	free(host->vms);
	free(host->sd);
	free(host->kwork);
	free(host->tick_vcpus);
	free(host->tick_sens);
	free(host->tick_busy);
	free(host->leaks);
	mm_host_destroy(host->mm);
	snp_machine_destroy(host->machine);
	free(host);
}

struct snp_machine *kvm_host_machine(struct kvm_host *host)
{
	return host ? host->machine : NULL;
}

struct mm_host *kvm_host_mm(struct kvm_host *host)
{
	return host ? host->mm : NULL;
}

unsigned int kvm_host_nr_vms(const struct kvm_host *host)
{
	return host ? host->nr_vms : 0;
}

int kvm_host_get_stats(const struct kvm_host *host, struct kvm_host_stats *out)
{
	struct snp_alloc_stats as;

	if (!host || !out)
		return SNP_EINVAL;
	*out = host->stats;
	if (!snp_alloc_get_stats(host->mm, &as))
		out->order1_broken = as.order1_broken;
	if (host->kvm_vcpu_cache) {
		struct mm_kmem_cache_info ci;

		if (!mm_kmem_cache_info(host->kvm_vcpu_cache, &ci))
			out->slab_pages = ci.pages;
	}
	out->mmu_cache_pages = host->mmu_cache_pages;
	out->faults = snp_fault_count(host->machine);
	out->spurious_faults = snp_fault_count_spurious(host->machine);
	return 0;
}

/* ---- CPUs ---- */

/**
 * kvm_cpu_init() - bring virtualization up on @cpu (a CPU coming online).
 *
 * Why through the slot: generic KVM does not know which vendor is bound, so
 * it must not name one (Linux 6.12 arch/x86/kvm/x86.c
 * kvm_arch_enable_virtualization_cpu() calls
 * kvm_x86_call(enable_virtualization_cpu)).  A vendor that binds no such op
 * keeps nothing per CPU, and the call is a no-op, as static_call_cond() is.
 * SNP_ENOENT without a bound vendor.
 */
int kvm_cpu_init(struct kvm_host *host, unsigned int cpu)
{
	if (!host || cpu >= host->nr_cpus)
		return SNP_EINVAL;
	if (!host->vendor)
		return SNP_ENOENT;
	if (!kvm_x86_has(host, enable_virtualization_cpu))
		return 0;
	return kvm_x86_call(host, enable_virtualization_cpu)(host, cpu);
}

/* kvm_cpu_uninit(): kvm_arch_disable_virtualization_cpu(), the same rules. */
int kvm_cpu_uninit(struct kvm_host *host, unsigned int cpu)
{
	if (!host || cpu >= host->nr_cpus)
		return SNP_EINVAL;
	if (!host->vendor)
		return SNP_ENOENT;
	if (!kvm_x86_has(host, disable_virtualization_cpu))
		return 0;
	return kvm_x86_call(host, disable_virtualization_cpu)(host, cpu);
}

snp_pfn_t kvm_host_save_area_pfn(const struct kvm_host *host, unsigned int cpu)
{
	if (!host || cpu >= host->nr_cpus || !host->sd[cpu].init)
		return SNP_NO_PAGE;
	return kvm_page_pfn(host, host->sd[cpu].save_area);
}
