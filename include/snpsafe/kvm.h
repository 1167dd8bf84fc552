/* SPDX-License-Identifier: MIT */
/*
 * snpsafe/kvm.h - a model of the KVM host paths that allocate the pages an
 * SNP host must keep away from 2MB boundaries (snp-facts §1): the vCPU's
 * VMCB (vmcb01), its VMSA (SEV-ES, SNP), its AVIC backing page (through the
 * optional vendor hook the LKML reviewer asked to be a static_call()), the
 * nested vmcb02, the per-CPU host save area, and the PML buffer of AMD's
 * unmerged PML series (--kvm pml).
 *
 * A struct kvm_host joins one modeled machine (snpsafe/mmu.h, vmrun.h) and
 * one modeled page allocator (snpsafe/mm.h, snp_alloc.h) over the same
 * memory and CPUs: an mm pfn is the hardware pfn.  The vendor module
 * (svm, or a second "vmx-like" vendor without the hook) is bound once by
 * kvm_x86_vendor_init(): its ops are copied into per-host call slots
 * (kvm_ops_update), required ones checked non-NULL, optional ones left NULL
 * so callers fall back (KVM_X86_OP_OPTIONAL + static_call_cond).
 *
 * VMs and vCPUs are named by ids, like the file descriptors of the real
 * API: a stale id gives SNP_ENOENT, never a crash.  No global mutable
 * state; a host is driven by one thread at a time.
 *
 * Allocation order (the kernel's, documented because it decides which page
 * of a per-CPU list each object gets):
 *   host create (kvm_x86_vendor_init -> svm_hardware_setup): one host save
 *     area per CPU, CPU 0 first, on the setup CPU (CPU 0), from the
 *     CPU's node; then kvm_init() makes the kvm_vcpu slab cache (no page yet);
 *   kvm_create_vm: struct kvm (kvm_arch_alloc_vm(): vm_size bytes
 *     vmalloc'ed, one order-0 page each 4 KiB), the vendor's vm_init, the
 *     coalesced MMIO ring page, then guest memory (largest orders first, up
 *     to max_guest_order);
 *   kvm_create_vcpu (kvm_vm_ioctl_create_vcpu): the vcpu object from the
 *     kvm_vcpu slab cache (a new slab, order 3 for svm, when this CPU's slab
 *     and its node's partial slabs are full), the vcpu->run page, then
 *     kvm_arch_vcpu_create: [AVIC backing page if the VM has an in-kernel
 *     LAPIC], pio_data page, the guest fpstate page (vzalloc), then the
 *     vendor's vcpu_create: svm: vmcb01, [PML buffer, --kvm pml only],
 *     [VMSA for SEV-ES/SNP], MSR permission map (order 1); vmx-like: VMCS;
 *   kvm_vcpu_run, the first time (kvm_mmu_load()): 40 order-0 pages into
 *     the vCPU's MMU page cache on the CPU it runs on, and 40 more into its
 *     shadowed-info cache the first time it runs L2 (nested NPT);
 *   kvm_vcpu_enable_nested (svm_allocate_nested): vmcb02, then the nested
 *     MSR permission map (order 1).
 */
#ifndef SNPSAFE_KVM_H
#define SNPSAFE_KVM_H

#include <snpsafe/common.h>
#include <snpsafe/mm.h>
#include <snpsafe/mmu.h>
#include <snpsafe/snp_alloc.h>
#include <snpsafe/vmrun.h>

struct kvm_host;
struct kvm;
struct kvm_vcpu;

/* ---- vendor operations (arch/x86/include/asm/kvm_host.h, kvm-x86-ops.h) ---- */

/*
 * The vendor's runtime operations.  Required ones must be non-NULL at
 * kvm_x86_vendor_init() (else SNP_EINVAL); optional ones (marked) may be
 * NULL and the caller falls back.  Vendors fill a const table; KVM copies it
 * once into the host's call slots and never reads the table again.
 */
struct kvm_x86_ops {
	const char *name;
	/*
	 * sizeof(struct kvm_svm) etc.: kvm_arch_alloc_vm() vmallocs this many
	 * bytes, a zeroed order-0 page each 4 KiB, for every VM.  Required (> 0).
	 */
	unsigned int vm_size;
	/* required */
	int (*vm_init)(struct kvm *kvm);                  /* ASID, guest type checks */
	void (*vm_destroy)(struct kvm *kvm);
	int (*vcpu_create)(struct kvm_vcpu *vcpu);
	void (*vcpu_free)(struct kvm_vcpu *vcpu, unsigned int cpu);   /* freed on @cpu */
	int (*vcpu_run)(struct kvm_vcpu *vcpu, unsigned int cpu, struct snp_vmrun_result *res);
	int (*vcpu_exit)(struct kvm_vcpu *vcpu);
	/* optional */
	struct page *(*alloc_apic_backing_page)(struct kvm_vcpu *vcpu); /* lapic.c hook */
	int (*nested_enable)(struct kvm_vcpu *vcpu);      /* svm_allocate_nested */
	void (*nested_free)(struct kvm_vcpu *vcpu, unsigned int cpu);   /* svm_free_nested */
	int (*vm_launch)(struct kvm *kvm);                /* SEV launch (SNP: RMP) */
	/* CPU online/offline (kvm_cpu_init/uninit); NULL: nothing per CPU, 0 */
	int (*enable_virtualization_cpu)(struct kvm_host *host, unsigned int cpu);
	int (*disable_virtualization_cpu)(struct kvm_host *host, unsigned int cpu);
	/* Before a VM's memory is freed (upstream: per gmem folio); NULL: nothing to do */
	void (*gmem_invalidate)(struct kvm *kvm);
	/* A guest_memfd page at its first private use (kvm_arch_gmem_prepare); NULL: nothing */
	int (*gmem_prepare)(struct kvm *kvm, snp_pfn_t pfn, snp_gpa_t gpa);
};

/* struct kvm_x86_init_ops: what a vendor module hands kvm_x86_vendor_init(). */
struct kvm_x86_init_ops {
	const char *name;
	int (*hardware_setup)(struct kvm_host *host);     /* required */
	void (*hardware_unsetup)(struct kvm_host *host);  /* required */
	const struct kvm_x86_ops *runtime_ops;            /* required */
	/*
	 * What the vendor module passes kvm_init() for the kvm_vcpu slab cache
	 * (kvm_vcpu_cache): sizeof and __alignof__ of its vCPU struct.
	 * Required (size > 0, align a power of two or 0).
	 */
	unsigned int vcpu_size, vcpu_align;
};

/* The two modeled vendors: svm (with the hook) and vmx-like (without). */
const struct kvm_x86_init_ops *kvm_vendor_svm(void);
const struct kvm_x86_init_ops *kvm_vendor_vmx_like(void);

/* ---- host ------------------------------------------------------------------ */

/* AVIC use: upstream turns it off on SNP hosts without HvInUseWrAllowed. */
enum kvm_avic_mode {
	KVM_AVIC_AUTO = 0,  /* upstream avic_hardware_setup(): on unless SNP && !HvInUseWrAllowed */
	KVM_AVIC_ON,        /* always (the 2021 RFC era the review discusses) */
	KVM_AVIC_OFF,
};
/*
 * KVM's debugfs files (virt/kvm/kvm_main.c kvm_create_vm_debugfs(),
 * kvm_create_vcpu_debugfs(); arch/x86/kvm/debugfs.c): an inode and a
 * dentry each, RECLAIMABLE slab objects, freed an RCU grace period after
 * the VM's end.  OFF: not modeled (simulate's default, so its figures stay
 * those of the runs before it); ON: as on an SNP host, whose CPU has the
 * TSC ratio MSR (two tsc-scaling files a vCPU); TCG: as under QEMU's TCG,
 * which emulates no TSC ratio MSR (what watch's model uses).
 */
enum kvm_debugfs {
	KVM_DEBUGFS_OFF = 0,
	KVM_DEBUGFS_ON,
	KVM_DEBUGFS_TCG,
	KVM_NR_DEBUGFS
};
const char *kvm_debugfs_name(enum kvm_debugfs d);
/* "off", "on", "tcg"; 0 or SNP_EINVAL. */
int kvm_debugfs_parse(const char *s, enum kvm_debugfs *out);

/* "auto", "on", "off"; parse: 0 or SNP_EINVAL. */
const char *kvm_avic_mode_name(enum kvm_avic_mode m);
SNP_MUST_CHECK int kvm_avic_mode_parse(const char *s, enum kvm_avic_mode *out);
/*
 * Whether kvm_amd runs AVIC on a host of this mode, SNP switch and profile:
 * avic_hardware_setup()'s rule, the one the model's svm applies at load.
 */
bool kvm_avic_resolve(enum kvm_avic_mode m, bool snp_enabled, const struct snp_profile *p);

/*
 * Default SEV ASID range (CPUID Fn8000_001F ECX/EDX on the modeled part):
 * SEV-ES and SNP guests share 1..MIN-1, SEV guests MIN..MAX (sev_asid_new()).
 */
#define KVM_DEFAULT_MIN_SEV_ASID 100
#define KVM_DEFAULT_MAX_SEV_ASID 509

/*
 * Which upstream KVM the model follows for its SNP-safe call sites
 * (snp-facts §1, §7; docs/MODEL.md "Kernels").  Default: the newest merged.
 *   6.18   snp_safe_alloc_page_node(node, gfp); the save area GFP_KERNEL on
 *          its CPU's node; the VMSA allocated in sev_vcpu_create (as 6.11 in
 *          the model, whose svm_vcpu_create already calls sev_vcpu_create).
 *   6.11   as 6.18.
 *   6.9    snp_safe_alloc_page(vcpu) everywhere: the save area too is
 *          GFP_KERNEL_ACCOUNT from the current CPU's node.
 *   rfc-v4 the 2021 patch the LKML review answers: vmcb, VMSA and the AVIC
 *          page (a plain function pointer: no static call) from the safe
 *          allocator; the host save area and the nested vmcb02 are plain
 *          zeroed pages.
 *   pml    6.18 with the AMD PML series (v5, 2026-01-05, under review, not
 *          merged; v4 2025-10-13 read whole): svm_vcpu_create allocates a
 *          per-vCPU PML buffer with snp_safe_alloc_page() right after
 *          vmcb01 and puts it in vmcb01's PML_ADDR (vmcb02 runs with PML
 *          off); svm_vcpu_free frees it.  Whether VMRUN marks it in-use is
 *          the profile knob pml_inuse.
 */
enum kvm_version {
	KVM_VERSION_6_18 = 0,
	KVM_VERSION_6_11,
	KVM_VERSION_6_9,
	KVM_VERSION_RFC_V4,
	KVM_VERSION_PML,
	KVM_NR_VERSIONS
};
/* "6.18", "6.11", "6.9", "rfc-v4", "pml"; parse: 0 or SNP_EINVAL. */
const char *kvm_version_name(enum kvm_version v);
SNP_MUST_CHECK int kvm_version_parse(const char *s, enum kvm_version *out);

/* Which CPU's list a dumped boot's per-CPU-list run goes to (kvm_host_config.boot_dump). */
enum kvm_boot_dump_pcp {
	KVM_BOOT_DUMP_PCP_RANDOM = 0,   /* each run a CPU drawn from boot_seed (default) */
	KVM_BOOT_DUMP_PCP_CPU0,         /* all of them CPU 0's */
	KVM_NR_BOOT_DUMP_PCP
};
const char *kvm_boot_dump_pcp_name(enum kvm_boot_dump_pcp p);   /* "random", "cpu0" */

struct kvm_boot_dump;

struct kvm_host_config {
	uint64_t mem_bytes;                   /* multiple of 4MB per node; 0 = 256 MiB */
	unsigned int nr_cpus;                     /* 0 = 2 */
	unsigned int nr_nodes;                    /* 0 = 1 */
	const struct snp_profile *profile;    /* NULL = early-snp */
	bool snp_enabled;                     /* host-wide SNP switch (CC_ATTR_HOST_SEV_SNP) */
	enum snp_alloc_strategy strategy;     /* naive = the kernel before the workaround */
	unsigned int sieve_pool_cap;              /* 0 = SNP_SIEVE_POOL_DEFAULT */
	const struct kvm_x86_init_ops *vendor;/* NULL = svm; loaded at create */
	enum kvm_avic_mode avic;
	enum kvm_debugfs kvm_debugfs;          /* KVM's debugfs files; default off */
	enum snp_dmap_boot direct_map;        /* default SNP_DMAP_1G */
	enum snp_ram_layout ram_layout;       /* RAM map (e820); its holes are reserved; default flat */
	unsigned int tlb_entries;                 /* 0 = machine default */
	unsigned int fault_log_max;               /* 0 = machine default */
	unsigned int min_sev_asid;                /* SEV-ES/SNP get 1..min-1; 0 = 100 */
	unsigned int max_sev_asid;                /* SEV gets min..max; plain SVM above; 0 = 509 */
	unsigned int kernel_work_max;             /* pages held by host kernel work; 0 = 256 */
	/*
	 * kvm_amd is a module loaded long after boot: when set, kvm_host_create()
	 * does not load the vendor, and the caller runs kvm_x86_vendor_init()
	 * once the host has aged, so the save areas come from a used allocator.
	 */
	bool late_vendor_load;
	/*
	 * The CPU marks the VMSAVE target in-use while VMSAVE runs (AMD, "KVM:
	 * SVM: Make VMSAVE target area memory allocation SNP safe"; snp-facts
	 * §5).  The model does not execute VMSAVE: when set, the host save area
	 * counts as markable (kvm_host_census) and ticks count the hugepage
	 * writes into its 2MB region while its CPU enters a guest
	 * (kvm_host_stats.vmsave_window_writes), the writes a VMSAVE window can
	 * overlap.
	 */
	bool vmsave_marks;
	enum mm_kernel kernel;                /* page allocator generation; default 6.12 */
	enum kvm_version kvm_version;         /* KVM's SNP-safe call sites; default 6.18 */
	/*
	 * Start from a copy of this allocator (an aged host's, built with the
	 * same size, CPUs, nodes and kernel) instead of a freshly booted one:
	 * mm_host_clone().  NULL = boot.  Needs late_vendor_load, so that
	 * nothing is allocated before the copy.
	 */
	const struct mm_host *mm_from;
	/*
	 * Told every sensitive page as it is allocated (kind, pfn), beside the
	 * counts of kvm_host_stats; NULL: nobody.  simulate collects each
	 * host's vmcb01 pages with it for their clustering (src/sim/cluster.c).
	 */
	void (*on_sensitive)(void *ctx, unsigned int kind, snp_pfn_t pfn);  /* kind: enum kvm_page_kind */
	void *on_sensitive_ctx;
	/*
	 * The boot state of the kernels watch boots, with ram_layout qemu-pc
	 * only (docs/MODEL.md "Boot state"; flat has none of it): the kernel
	 * image reserved from CONFIG_PHYSICAL_START (watch boots nokaslr), and
	 * QEMU's initrd reserved just below SeaBIOS's top tables, then freed
	 * after boot as order-0 pages on initrd_free_cpu (free_initrd_mem(),
	 * from an async worker: which CPU is assumed, default 0); deferred
	 * struct-page init's pageblock types (mm_config.deferred_init).  Sizes
	 * 0: those measured for the kernel generation (KVM_BOOT_*).
	 */
	uint64_t boot_image_bytes, boot_initrd_bytes;
	unsigned int initrd_free_cpu;
	/*
	 * The kernel's own memory when kvm_amd loads (qemu-pc only,
	 * docs/MODEL.md "Boot state: the kernel's own memory"): the boot
	 * allocates boot_kernel_pages UNMOVABLE pages it keeps (slab, vmalloc,
	 * page tables, per-CPU chunks, trace buffers) and boot_freed_pages more
	 * among them, freed before the load (watch drops the caches and shrinks
	 * the slabs first).  Orders as the boot's slabs have them, CPUs drawn
	 * from boot_seed.  boot_late_pages of the kept ones come after the
	 * initrd's free, order 0 on initrd_free_cpu: the trace buffers watch's
	 * /init sizes.  0: those measured for the kernel generation
	 * (KVM_BOOT_KERNEL_PAGES_*, KVM_BOOT_FREED_PAGES_*, KVM_BOOT_LATE_PAGES_*),
	 * at most an eighth of the managed pages; boot_no_kernel_memory: none.
	 * boot_module_pages of the kept ones, after the late ones on the same
	 * CPU, are the modules /init loads (vmalloc'ed text, rodata, data);
	 * boot_module_ro_pages of them, spread evenly among them, are text and
	 * rodata, whose direct-map aliases set_memory_ro() makes read-only,
	 * splitting their 2MB regions to 4K (0: KVM_BOOT_MODULE_*).
	 */
	uint64_t boot_kernel_pages, boot_freed_pages, boot_late_pages, boot_seed;
	uint64_t boot_module_pages, boot_module_ro_pages;
	bool boot_no_kernel_memory;
	/*
	 * Which of the boot's allocations are the temporaries it freed: any of
	 * them alike (0, the default), or recent ones, each drawn back from the
	 * boot's last allocation by an exponential age of mean
	 * boot_temp_recency allocations (a page freed earlier being taken
	 * again by the boot's next allocations).  docs/MODEL.md "Boot state:
	 * the boot's holes" has both against the dumps.
	 */
	uint64_t boot_temp_recency;
	/*
	 * The RECLAIMABLE slab pages the boot keeps (SReclaimable at the load:
	 * dentries, inodes), order 0, allocated before the kept UNMOVABLE
	 * ones (0: KVM_BOOT_RECLAIMABLE_PAGES_*; boot_no_reclaimable: none).
	 */
	uint64_t boot_reclaimable_pages;
	bool boot_no_reclaimable;
	/*
	 * Start from a measured boot instead (qemu-pc only; the host's memory
	 * must be the dump's): its pages in use reserved, its pageblock types,
	 * its per-CPU-list pages freed onto the lists a run at a time (a run to
	 * a random CPU drawn from boot_seed, or all to CPU 0: boot_dump_pcp),
	 * its 4K regions split; none of the rules above (docs/MODEL.md "Boot
	 * state from a dump").  NULL: the rules.
	 */
	const struct kvm_boot_dump *boot_dump;
	enum kvm_boot_dump_pcp boot_dump_pcp;
	/* THP never: khugepaged does not raise min_free_kbytes (mm_config.thp_min_free_kbytes). */
	bool no_thp_min_free;
	/* Memory the guests hold from boot, never on the free lists: mm_config.held_bytes. */
	uint64_t held_bytes;
};

/*
 * Measured for the kernels watch boots: the image is _text to the end of
 * .bss (__end_of_kernel_reserve, memblock_reserve()d by setup_arch()), read
 * from the section headers of the vmlinux in Debian's vmlinuz (6.12.95: .bss
 * ends at 0x3c00000; 6.1.0-56: 0x4400000); the initrd is watch's own
 * (run.sh's initrd.gz: 2475914 bytes for 6.12, 2307110 for 6.1).
 */
#define KVM_BOOT_IMAGE_START     0x1000000ULL   /* CONFIG_PHYSICAL_START, both configs */
#define KVM_BOOT_IMAGE_BYTES_612 0x2c00000ULL
#define KVM_BOOT_IMAGE_BYTES_61  0x3400000ULL
#define KVM_BOOT_INITRD_BYTES_612 2475914ULL
#define KVM_BOOT_INITRD_BYTES_61  2307110ULL
/*
 * The per-CPU first chunk's sizes (kvm_boot_reservations()): the static
 * per-CPU data, the size of the .data..percpu section of the vmlinux in
 * Debian's vmlinuz (6.12.95: 0x39000; 6.1.0-56: 0x35000), then
 * PERCPU_MODULE_RESERVE (8 KiB: neither config sets
 * CONFIG_MEM_ALLOC_PROFILING), PERCPU_DYNAMIC_RESERVE (28 KiB: 64-bit,
 * no CONFIG_RANDOM_KMALLOC_CACHES) and PCPU_MIN_UNIT_SIZE
 * (include/linux/percpu.h of both).
 */
#define KVM_BOOT_PERCPU_STATIC_612 0x39000ULL
#define KVM_BOOT_PERCPU_STATIC_61  0x35000ULL
#define KVM_BOOT_PERCPU_RESERVED   (8ULL << 10)
#define KVM_BOOT_PERCPU_DYNAMIC    (28ULL << 10)
#define KVM_BOOT_PERCPU_MIN_UNIT   (32ULL << 10)
/*
 * The kernel's own memory in watch's 1 GiB boots when the workload starts.
 * In use: the UNMOVABLE pageblocks' pages above ZONE_DMA neither free in
 * the buddy nor on a per-CPU list, page by page (watch/boot-dump-report.sh,
 * the mean over docs/data/boot-dump-2026-12-07: 5 boots of 6.12.95, sd 7;
 * 5 of 6.1.0-56, sd 11), vmemmap and per-CPU chunk included.  Kept, what
 * the boot allocates and keeps: that less what the model reserves in those
 * pageblocks (the vmemmap's 4,096 pages, the per-CPU units' size_sum
 * apiece: 2 x 66 for 6.12, 2 x 62 for 6.1; the 32 pages past RAM in the
 * initrd's pageblock) and the 2 save areas the model's kvm_amd load
 * allocates (6.12: 11,767 - 4,096 - 132 - 32 - 2; 6.1: 10,883 - 4,096 -
 * 124 - 32 - 2).  Freed: the free UNMOVABLE buddy pages of
 * /proc/pagetypeinfo (6.12.95: 234; 6.1.0-56: 925), the holes the boot left
 * among its pages.  docs/MODEL.md "Boot state: the kernel's own memory" and
 * "the kept pages counted page by page".
 */
#define KVM_BOOT_UNMOVABLE_IN_USE_612 11767ULL
#define KVM_BOOT_UNMOVABLE_IN_USE_61  10883ULL
#define KVM_BOOT_KERNEL_PAGES_612 7505ULL
#define KVM_BOOT_FREED_PAGES_612  234ULL
#define KVM_BOOT_KERNEL_PAGES_61  6629ULL
#define KVM_BOOT_FREED_PAGES_61   925ULL
/*
 * The RECLAIMABLE slab pages of the same boots (/proc/meminfo SReclaimable
 * at the load: 6.12.95 1,228 kB, in 2 RECLAIMABLE pageblocks; 6.1.0-56
 * 18,948 kB, in 10), watch/boot-state-report.sh reclaimable.
 */
#define KVM_BOOT_RECLAIMABLE_PAGES_612 307ULL
#define KVM_BOOT_RECLAIMABLE_PAGES_61  4737ULL
/*
 * Of the kept pages, the trace buffers watch/init.sh sizes after the boot,
 * so after the initrd was freed: buffer_size_kb of the top instance and of
 * snpprov, per CPU, of each kernel's boot (6.12.95: (1410 + 2051) x 2 / 4;
 * 6.1.0-56: (7 + 2051) x 2 / 4), watch/boot-state-report.sh tracebuf_pages.
 */
#define KVM_BOOT_LATE_PAGES_612   1730ULL
#define KVM_BOOT_LATE_PAGES_61    1029ULL
/*
 * Of the kept pages, the modules watch's /init loads: the module-space
 * pages the plugin's first-VMRUN dump lists (qemu.out "module-space va";
 * docs/data/boot-state-2026-12-06/module-pages.txt): 6.12.95 949 in all
 * 15 campaign boots, of them 683 executable and 111 read-only (text and
 * rodata, their direct-map aliases made read-only); 6.1.0-56 866 in 14 of
 * 15 (one 865), 656 and 94 in all (docs/MODEL.md "Boot state").
 */
#define KVM_BOOT_MODULE_PAGES_612    949ULL
#define KVM_BOOT_MODULE_RO_PAGES_612 794ULL
#define KVM_BOOT_MODULE_PAGES_61     866ULL
#define KVM_BOOT_MODULE_RO_PAGES_61  750ULL
/* The sizes a qemu-pc host of kernel generation k reserves by default: image, initrd (bytes). */
void kvm_boot_default_sizes(enum mm_kernel k, uint64_t *image_bytes, uint64_t *initrd_bytes);
/*
 * The least memory a qemu-pc host with these sizes boots in: the image from
 * KVM_BOOT_IMAGE_START, the initrd, SeaBIOS's top tables and a page between.
 */
uint64_t kvm_boot_min_mem(uint64_t image_bytes, uint64_t initrd_bytes);
/* [start, end) pfns of the host's initrd reservation (qemu-pc), or SNP_ENOENT without one. */
SNP_MUST_CHECK int kvm_host_initrd_pfns(const struct kvm_host *host, snp_pfn_t *start, snp_pfn_t *end);

/* Defaults: early-snp, SNP on, upstream strategy, svm, AVIC auto. */
void kvm_host_config_init(struct kvm_host_config *cfg, uint64_t mem_bytes, unsigned int nr_cpus);

/*
 * A measured boot's allocator state (docs/MODEL.md "Boot state from a
 * dump"): the text watch/boot-dump.sh writes, one line a pageblock as
 * watch/pbdump prints it ("PFN mt MT buddy N pcp N [b MAP p MAP]", PFN in
 * hex, ascending; a "snpsafe-pbdump:" prefix is skipped), lines "4k R" for
 * each 2MB region R the boot had mapped 4K, a line "aged N" for a boot aged
 * by N rounds first, '#' comments.  SNP_EINVAL on a
 * bad text, with *line_no (0: not a line's fault) and *why saying what;
 * SNP_ENOMEM.  Read-only once parsed: hosts on several threads may share it.
 */
struct kvm_boot_dump;
SNP_MUST_CHECK int kvm_boot_dump_parse(const char *text, size_t len, struct kvm_boot_dump **out,
				       unsigned long *line_no, const char **why);
void kvm_boot_dump_free(struct kvm_boot_dump *d);
/* The pages the dump covers (its pageblocks x 512): the host's memory must be this. */
uint64_t kvm_boot_dump_pages(const struct kvm_boot_dump *d);
/* The dumped boot's ageing rounds (watch --age-rounds; its line "aged N"), 0: a fresh boot. */
unsigned int kvm_boot_dump_age_rounds(const struct kvm_boot_dump *d);
#define KVM_BOOT_DUMP_MAX_AGE_ROUNDS 32
/*
 * Build machine + allocator (laid out as x86-64 Linux: pfns 0..255 and the
 * RAM map's holes reserved, zones DMA/DMA32/Normal), then load the vendor
 * (kvm_x86_vendor_init) unless late_vendor_load.  SNP_EINVAL for a RAM map
 * the size cannot have (qemu-pc above 3584 MiB).
 */
SNP_MUST_CHECK int kvm_host_create(const struct kvm_host_config *cfg, struct kvm_host **out);
/* Destroy every VM, unload the vendor, free everything.  NULL is a no-op. */
void kvm_host_destroy(struct kvm_host *host);

struct snp_machine *kvm_host_machine(struct kvm_host *host);
struct mm_host *kvm_host_mm(struct kvm_host *host);
/* Name of the bound vendor ("svm", "vmx-like") or NULL if none. */
const char *kvm_host_vendor(const struct kvm_host *host);
/* AVIC in use on this host (after the AVIC mode was resolved). */
bool kvm_host_avic_enabled(const struct kvm_host *host);

/* kvm_x86_vendor_init(): bind ops (kvm_ops_update) and run hardware_setup. */
SNP_MUST_CHECK int kvm_x86_vendor_init(struct kvm_host *host, const struct kvm_x86_init_ops *ops);
/* kvm_x86_vendor_exit(): hardware_unsetup, unbind.  SNP_EBUSY while VMs exist. */
SNP_MUST_CHECK int kvm_x86_vendor_exit(struct kvm_host *host);

/*
 * CPU online/offline: the vendor's enable_virtualization_cpu /
 * disable_virtualization_cpu (svm: the host save area).  A vendor without
 * them has nothing per CPU: 0.
 */
SNP_MUST_CHECK int kvm_cpu_init(struct kvm_host *host, unsigned int cpu);
SNP_MUST_CHECK int kvm_cpu_uninit(struct kvm_host *host, unsigned int cpu);
/* pfn of cpu's host save area, or SNP_NO_PAGE. */
snp_pfn_t kvm_host_save_area_pfn(const struct kvm_host *host, unsigned int cpu);

/* ---- VMs and vCPUs -------------------------------------------------------------- */

#define KVM_MAX_VCPUS 64
#define KVM_MAX_GUEST_ORDER MM_MAX_ORDER
/* GPA the SNP VMSA is recorded at in the RMP (LINUX sev.c INITIAL_VMSA_GPA). */
#define KVM_INITIAL_VMSA_GPA 0xFFFFFFFFF000ULL

struct kvm_vm_config {
	enum snp_guest_type type;
	uint64_t guest_pages;     /* guest memory, 4K pages (may be 0) */
	unsigned int max_guest_order; /* largest block of guest memory; SNP uses 4K RMP entries */
	bool lapic_in_kernel;     /* KVM_CREATE_IRQCHIP: each vCPU gets a LAPIC */
	unsigned int cpu;             /* CPU the VMM thread runs on (allocations come from here) */
	/*
	 * SNP guests' memory (docs/MODEL.md "SNP guest memory"): gmem_first_use
	 * (simulate's hosts set it) is 6.12.95's guest_memfd, order-0
	 * UNMOVABLE pages taken at their first private use, after the vCPUs:
	 * each vCPU's first run faults in its share of gmem_faulted_pct percent
	 * of guest_pages on the CPU it runs on, cleared, each made private (its
	 * 2MB direct-map region split for good).  false (kvm_vm_config_init()'s
	 * default, which repro and the library's tests use): the whole memory at
	 * KVM_CREATE_VM in blocks up to max_guest_order, made private at launch,
	 * the model before issue 25 item 5.
	 */
	bool gmem_first_use;
	unsigned int gmem_faulted_pct;    /* 0..100, default 100 */
};
void kvm_vm_config_init(struct kvm_vm_config *cfg, enum snp_guest_type type);

/* kvm_create_vm(): returns the VM id (>= 0) or a negative SNP_E*. */
SNP_MUST_CHECK int kvm_create_vm(struct kvm_host *host, const struct kvm_vm_config *cfg);
/* kvm_destroy_vm(): exit running vCPUs, free vCPUs and memory.  SNP_ENOENT if gone. */
SNP_MUST_CHECK int kvm_destroy_vm(struct kvm_host *host, int vm);
/*
 * kvm_rcu_barrier() - an RCU grace period ends now: the frees it delayed
 * (KVM's debugfs inodes and dentries, kvm_destroy_vm_debugfs()) run, each on
 * the CPU that queued it, in queue order.  kvm_host_tick() starts with one;
 * a caller with a finer timeline (simulate --rcu-grace end) calls it
 * between VM ends.  NULL: nothing.
 */
void kvm_rcu_barrier(struct kvm_host *host);
/*
 * The VM's VMM thread now runs on @cpu (the scheduler moved it): what it
 * does later, the VM's end among it, runs there.  SNP_EINVAL for a CPU the
 * host lacks, SNP_ENOENT for a VM gone.
 */
SNP_MUST_CHECK int kvm_vm_set_vmm_cpu(struct kvm_host *host, int vm, unsigned int cpu);
/* kvm_vm_ioctl_create_vcpu(): vCPU id 0..KVM_MAX_VCPUS-1, created on cpu. */
SNP_MUST_CHECK int kvm_create_vcpu(struct kvm_host *host, int vm, unsigned int vcpu_id, unsigned int cpu);
/* SNP/SEV launch (LAUNCH_UPDATE of memory and VMSAs, LAUNCH_FINISH); no-op for SVM. */
SNP_MUST_CHECK int kvm_vm_launch(struct kvm_host *host, int vm);
/*
 * The RMPUPDATE code behind a launch that failed with SNP_EFAULT (FAIL_INUSE,
 * FAIL_OVERLAP, ...; SNP_RMP_SUCCESS if none failed): the kernel only logs it
 * (rmpupdate() in arch/x86/virt/svm/sev.c), the model hands it over.
 * 0, SNP_ENOENT or SNP_EINVAL.
 */
SNP_MUST_CHECK int kvm_vm_launch_rmp_ret(const struct kvm_host *host, int vm, int *rmp_ret);
/* VM facts: 0 or SNP_ENOENT / SNP_EINVAL. */
SNP_MUST_CHECK int kvm_vm_info(const struct kvm_host *host, int vm, enum snp_guest_type *type, uint32_t *asid,
		unsigned int *nr_vcpus);
/*
 * The pfns of a VM's guest memory pages, in the order they were taken (a
 * block of order n gives its 2^n pages): up to max into out, the count in
 * *nr.  0, SNP_ENOENT, SNP_EINVAL.
 */
SNP_MUST_CHECK int kvm_vm_guest_pfns(const struct kvm_host *host, int vm, snp_pfn_t *out, size_t max,
				     size_t *nr);
/* Live VMs. */
unsigned int kvm_host_nr_vms(const struct kvm_host *host);

/* EFER.SVME set by the guest: allocate the nested state (vmcb02). */
SNP_MUST_CHECK int kvm_vcpu_enable_nested(struct kvm_host *host, int vm, unsigned int vcpu_id);
SNP_MUST_CHECK int kvm_vcpu_disable_nested(struct kvm_host *host, int vm, unsigned int vcpu_id);
/* Run L2 (on vmcb02) from the next VMRUN on: nested must be enabled. */
SNP_MUST_CHECK int kvm_vcpu_set_guest_mode(struct kvm_host *host, int vm, unsigned int vcpu_id, bool l2);

/* The vCPU's pages (SNP_NO_PAGE when it has none). */
struct kvm_vcpu_pages {
	snp_pfn_t vmcb01, vmcb02, vmsa, avic, pio, run, fpu;
	snp_pfn_t pml;         /* the PML buffer (--kvm pml only) */
	bool avic_from_hook;   /* the vendor's alloc_apic_backing_page made it */
};
SNP_MUST_CHECK int kvm_vcpu_get_pages(const struct kvm_host *host, int vm, unsigned int vcpu_id,
		       struct kvm_vcpu_pages *out);

/*
 * VMRUN of the vCPU on host cpu (label "vm V vcpu N vmcb01|vmcb02").  The
 * vCPU stays in guest mode until kvm_vcpu_exit().  Returns as snp_vmrun():
 * 0 with the outcome in res->outcome (SNP_VMRUN_ENTERED or
 * SNP_VMRUN_VMEXIT_INVALID), SNP_EFAULT (#GP), SNP_ENOMEM when the first
 * run could not fill the vCPU's MMU cache to PT64_ROOT_MAX_LEVEL pages
 * (kvm_mmu_load(): KVM_RUN's -ENOMEM; the pages it got stay cached), or
 * SNP_EINVAL/SNP_ENOENT/SNP_EBUSY for misuse (a NULL res included).
 */
SNP_MUST_CHECK int kvm_vcpu_run(struct kvm_host *host, int vm, unsigned int vcpu_id, unsigned int cpu,
		 struct snp_vmrun_result *res);
/* #VMEXIT of a running vCPU.  0, SNP_ENOENT (not running). */
SNP_MUST_CHECK int kvm_vcpu_exit(struct kvm_host *host, int vm, unsigned int vcpu_id);

/* ---- host kernel activity and the simulator's counters ------------------------------ */

struct kvm_tick_config {
	unsigned int run_pct;        /* chance a CPU runs a vCPU this tick (percent) */
	unsigned int l2_pct;         /* chance a nested vCPU runs L2 */
	unsigned int kernel_ops;     /* kernel work operations per CPU not in guest mode */
	unsigned int near_pct;       /* writes aimed at the 2MB region of a sensitive page */
	unsigned int alloc_pct;      /* kernel work: share of allocations among alloc/free/write */
	unsigned int free_pct;
};
void kvm_tick_config_init(struct kvm_tick_config *cfg);

struct kvm_tick_report {
	unsigned int vmruns;          /* entered */
	unsigned int vmrun_failures;  /* VMEXIT_INVALID or #GP */
	unsigned int writes;
	unsigned int faults;          /* host faults this tick */
	unsigned int spurious;        /* of them, spurious (erratum) */
};

/*
 * One tick of host activity, deterministic from seed (all state per host):
 * some CPUs VMRUN a random vCPU (L2 for nested ones, sometimes), the others
 * do kernel work (allocate / free / write through the direct map, near
 * sensitive pages and far), then every running vCPU exits.  cfg NULL =
 * defaults; out may be NULL.  0 or a negative error.
 */
SNP_MUST_CHECK int kvm_host_tick(struct kvm_host *host, uint64_t seed, const struct kvm_tick_config *cfg,
		  struct kvm_tick_report *out);
/* Give back every page kernel work holds (a teardown, on CPU 0). */
void kvm_host_kernel_work_release(struct kvm_host *host);

/* Sensitive page kinds, for the counters. */
enum kvm_page_kind {
	KVM_PAGE_VMCB01 = 0,
	KVM_PAGE_VMSA,
	KVM_PAGE_AVIC,
	KVM_PAGE_HSAVE,
	KVM_PAGE_VMCB02,
	KVM_PAGE_PML,          /* PML buffer (KVM_VERSION_PML) */
	KVM_PAGE_NR_KINDS
};
const char *kvm_page_kind_name(enum kvm_page_kind k);

struct kvm_host_stats {
	uint64_t sensitive_allocated[KVM_PAGE_NR_KINDS];
	uint64_t sensitive_aligned[KVM_PAGE_NR_KINDS];  /* 2MB-aligned ones */
	/*
	 * Of the aligned ones, those whose 2MB region the direct map held in
	 * a 2M or 1G leaf when they were allocated: the unit watch measures
	 * as "exposed" (an allocation, aligned, under a hugepage leaf), where
	 * the census's exposed counts only the pages live at its time.
	 */
	uint64_t sensitive_aligned_huge[KVM_PAGE_NR_KINDS];
	/* of them, pages the KVM version's call site took from snp_safe_alloc_page*() */
	uint64_t sensitive_safe[KVM_PAGE_NR_KINDS];
	uint64_t lapic_hook;          /* AVIC pages from the vendor hook */
	uint64_t lapic_plain;         /* LAPIC pages from get_zeroed_page */
	uint64_t order1_broken;       /* snp_alloc stats */
	uint64_t faults;              /* machine fault log count */
	uint64_t spurious_faults;     /* of them, erratum */
	uint64_t leaked_pages;        /* snp_leak_pages */
	uint64_t vms_created, vms_destroyed, vcpus_created;
	uint64_t debugfs_failed;      /* KVM debugfs files the allocator could not make (ignored, as the kernel does) */
	uint64_t vmruns, vmrun_failures;
	uint64_t kernel_writes, kernel_allocs, kernel_frees;
	uint64_t guest_pages;         /* guest memory pages allocated so far */
	/*
	 * vmsave_marks: hugepage writes by kernel work into the 2MB region of a
	 * 2MB-aligned host save area whose CPU entered a guest in the same tick
	 * (so ran VMSAVE to it), each a chance to overlap the VMSAVE window.
	 */
	uint64_t vmsave_window_writes;
	/*
	 * The tick in real time (docs/MODEL.md): ticks run, and kernel work's
	 * writes into a VMRUN region (a 2MB region holding an in-use page at
	 * the write), all and through a hugepage leaf: what watch measures per
	 * second (replay's vmrun_region_stores).
	 */
	uint64_t ticks, region_writes, region_huge_writes;
	/* sev_asid_new(): flushes that recycled destroyed VMs' ASIDs (WBINVD + DF_FLUSH) */
	uint64_t asid_flushes;
	/* Steps that cannot fail on a consistent host and did (kvm_warn_on_err); 0. */
	uint64_t teardown_errors;
	/*
	 * Now, not cumulative: pages the kvm_vcpu slab cache holds (its slabs
	 * stay when their objects go, as SLUB keeps them), and pages in the
	 * vCPUs' MMU caches (kvm_mmu_load()'s top-up, freed with the vCPU).
	 */
	uint64_t slab_pages;
	uint64_t mmu_cache_pages;
};
SNP_MUST_CHECK int kvm_host_get_stats(const struct kvm_host *host, struct kvm_host_stats *out);

/*
 * The live sensitive pages of a host, per kind (src/kvm/census.c): how many
 * exist, how many this profile and host can mark in-use, how many of those
 * sit in a 2MB region still hugepage-mapped in the direct map (exposed), and
 * of each how many are 2MB-aligned.  Only an exposed aligned page can take
 * the erratum.
 */
struct kvm_page_census {
	uint64_t allocated[KVM_PAGE_NR_KINDS], aligned[KVM_PAGE_NR_KINDS];
	uint64_t markable[KVM_PAGE_NR_KINDS], markable_aligned[KVM_PAGE_NR_KINDS];
	uint64_t exposed[KVM_PAGE_NR_KINDS], exposed_aligned[KVM_PAGE_NR_KINDS];
	snp_pfn_t lowest_pfn;   /* the lowest pfn of any of them (SNP_NO_PAGE if none) */
	/* of the allocated, those in a pageblock that holds a live SNP guest memory page */
	uint64_t gmem_pageblock[KVM_PAGE_NR_KINDS];
};
SNP_MUST_CHECK int kvm_host_census(const struct kvm_host *host, struct kvm_page_census *out);

/* A page leaked on purpose: RMPUPDATE back to shared failed, never freed. */
struct kvm_leak {
	snp_pfn_t pfn;
	enum kvm_page_kind kind;  /* KVM_PAGE_NR_KINDS for guest memory */
	int ret;                  /* the failing return (RMPUPDATE code or SNP_E*) */
	char label[48];           /* "vm 3 vcpu 0 vmsa" */
};
/* Number of leaked pages, and record idx.  0, SNP_ENOENT, SNP_EINVAL. */
uint64_t kvm_host_nr_leaks(const struct kvm_host *host);
SNP_MUST_CHECK int kvm_host_get_leak(const struct kvm_host *host, uint64_t idx, struct kvm_leak *out);

#endif
