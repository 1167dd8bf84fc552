/* SPDX-License-Identifier: MIT */
/*
 * snpsafe/provenance.h - where the pages of a watched kernel's VMRUNs came
 * from.  The watched guest records, with tracefs probes armed before
 * kvm_amd loads, every return of the SNP-safe allocator
 * (snp_safe_alloc_page_node) and every page the page allocator returned to
 * a module; watch/run.sh leaves that as OUT/alloc.log (format below, and
 * docs/WATCH.md "Provenance").  Joined with the trace's VMRUN and
 * VM_HSAVE_PA records, it answers: did every page VMRUN used (VMCB, VMSA,
 * AVIC backing page) and every host save area come from the SNP-safe
 * allocator?  A page that did not is named, with the call site that got it
 * from the page allocator when the log has one.
 *
 * alloc.log, version 1: keyword lines, then the trace instance's text
 * between "trace-begin" and "trace-end", then more keyword lines, and
 * "end" last:
 *
 *   snpsafe-alloc 1
 *   allocator kvm_amd:snp_safe_alloc_page_node | allocator none
 *   mem before_load|after_unload free_pages N pcp_pages N [slab_pages N]
 *   probe NAME hits N misses N                 (tracefs kprobe_profile)
 *   pool node N parked N peak N given_back N fallbacks N | pool none
 *   trace-begin ... trace-end
 *   unload kvm_amd|kvm ok|failed
 *   end
 */
#ifndef SNPSAFE_PROVENANCE_H
#define SNPSAFE_PROVENANCE_H

#include <snpsafe/common.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SNP_ALLOC_LOG_VERSION   1
#define SNP_ALLOC_SITE_LEN      96     /* "svm_vcpu_create+0x23/0x180 [kvm_amd]" */
#define SNP_ALLOC_MAX_PROBES    8
#define SNP_ALLOC_MAX_NODES     64
#define SNP_ALLOC_ERR_LEN       256

/*
 * Where x86-64 Linux puts its struct pages with 4-level paging and no
 * memory randomization (the watched kernels boot nokaslr no5lvl), and the
 * size of one: a struct page pointer p is pfn (p - base) / 64.  The log
 * carries the kernel's own vmemmap_base when kallsyms has it.
 */
#define SNP_VMEMMAP_BASE_L4     0xffffea0000000000ULL
#define SNP_STRUCT_PAGE_SIZE    64

/* Which probe saw a page returned. */
enum snp_alloc_src {
	SNP_ALLOC_SRC_SAFE = 0,        /* snp_safe_alloc_page_node returned it */
	SNP_ALLOC_SRC_PAGE = 1,        /* the page allocator returned it to a module */
};

/* One page returned, as the log says. */
struct snp_alloc_rec {
	snp_pfn_t pfn;
	uint64_t caller;               /* the call's return address; 0 if not in the log */
	char site[SNP_ALLOC_SITE_LEN]; /* the kernel's name for it: "func+0x23/0x180 [mod]" */
	int32_t node;                  /* SRC_SAFE with its entry paired: the arguments */
	uint32_t gfp;
	bool have_args;
	uint8_t src;                   /* enum snp_alloc_src */
	uint16_t cpu;                  /* the CPU the call returned on (the trace line's [CPU]) */
};

/* A probe's counts from tracefs kprobe_profile: a miss is a lost call. */
struct snp_alloc_probe {
	char name[64];
	uint64_t hits, misses;
};

/*
 * Free pages: the buddy lists' (nr_free_pages) and the per-CPU lists'
 * ("count:"); and the slab's pages, where objects left behind stay.
 */
enum snp_mem_stage { SNP_MEM_BEFORE_LOAD = 0, SNP_MEM_AFTER_UNLOAD = 1, SNP_MEM_NR };

struct snp_mem_snapshot {
	bool valid, have_slab;
	uint64_t free_pages, pcp_pages, slab_pages;
};

/* A node's line of the pool's debugfs file (kvm_amd/snp_safe_pages). */
struct snp_pool_node {
	uint32_t node;
	uint64_t parked, peak, given_back, fallbacks;
};

enum snp_unload_mod { SNP_UNLOAD_KVM_AMD = 0, SNP_UNLOAD_KVM = 1, SNP_UNLOAD_NR };

struct snp_alloc_log {
	bool has_allocator;            /* "allocator none" says the kernel has none */
	char allocator[96];            /* the probed symbol ("kvm_amd:snp_safe_alloc_page_node") */
	struct snp_alloc_probe probe[SNP_ALLOC_MAX_PROBES];
	unsigned int nr_probes;
	struct snp_mem_snapshot mem[SNP_MEM_NR];
	bool unload_seen[SNP_UNLOAD_NR], unload_ok[SNP_UNLOAD_NR];
	bool pool_present;             /* the module has a pool (its debugfs file exists) */
	struct snp_pool_node pool[SNP_ALLOC_MAX_NODES];
	unsigned int nr_pool;
	uint64_t vmemmap_base;         /* the kernel's, or SNP_VMEMMAP_BASE_L4 */
	bool vmemmap_from_kernel;
	/* The trace instance: what it held, and what it says it lost. */
	uint64_t entries_in_buffer, entries_written;
	uint64_t lost_events;          /* overwritten or dropped ("[LOST N EVENTS]") */
	uint64_t calls;                /* allocator entries (alloc_in) */
	uint64_t unpaired;             /* a return without its entry, or an entry never returned */
	uint64_t null_returns;         /* allocator returns of NULL */
	uint64_t other_events;         /* events of the instance that are not ours */
	struct snp_alloc_rec *rec;     /* every non-NULL page returned, in log order */
	size_t nr_rec;
	size_t nr_safe;                /* of them, SNP_ALLOC_SRC_SAFE */
};

/*
 * snp_alloc_log_read() - parse an allocation log.  0, or a negative SNP_E*
 * code with a one-line reason in err naming the line: not a log, a newer
 * version, an unknown line, a bad number, a struct page pointer outside the
 * vmemmap, a log cut short (no "end").  Free with snp_alloc_log_free() in
 * every case.
 */
SNP_MUST_CHECK int snp_alloc_log_read(const char *path, struct snp_alloc_log *log, char *err,
				      size_t errlen);
void snp_alloc_log_free(struct snp_alloc_log *log);

/* The SNP-safe allocator's misses (kprobe_profile) plus the other signs of a lost call. */
uint64_t snp_alloc_log_lost(const struct snp_alloc_log *log);
/* The pool's nodes added up (node = nr_pool). */
void snp_alloc_log_pool_total(const struct snp_alloc_log *log, struct snp_pool_node *total);

/* Pages VMRUN used, and the host save areas, by kind. */
enum snp_prov_kind { SNP_PROV_VMCB, SNP_PROV_VMSA, SNP_PROV_AVIC, SNP_PROV_HSAVE, SNP_PROV_NR };
/* "vmcb", "vmsa", "avic", "hsave". */
const char *snp_prov_kind_name(enum snp_prov_kind kind);

enum snp_prov_verdict {
	SNP_PROV_YES,                  /* every page came from the SNP-safe allocator */
	SNP_PROV_NO,                   /* at least one did not (listed) */
	SNP_PROV_CANNOT_SAY,           /* events were lost, or no page was used */
	SNP_PROV_NO_ALLOCATOR,         /* the kernel has no SNP-safe allocator */
};
/* "yes", "no", "cannot say", "no SNP-safe allocator in this kernel". */
const char *snp_prov_verdict_name(enum snp_prov_verdict v);

/* A page VMRUN used (or a save area) that the SNP-safe allocator did not return. */
struct snp_prov_page {
	snp_pfn_t pfn;
	uint8_t kind;                  /* enum snp_prov_kind */
	bool have_site;                /* the page allocator returned it to a module */
	char site[SNP_ALLOC_SITE_LEN];
	uint64_t caller;
	uint64_t other_sites;          /* more returns of that pfn to modules, at other sites */
};

/*
 * vmcb01 allocations counted where they are made, one per allocation, as the
 * model counts them (issue 25 item 1): the returns to the call site in
 * svm_vcpu_create() whose pages VMRUN ran as VMCBs.  svm_vcpu_create() also
 * allocates the SEV-ES VMSA (and, inlined, may allocate more), so the site
 * is found from the trace, not assumed: of its call sites, the one whose
 * returned pages are most often VMCBs in the trace.  A page freed and
 * allocated again counts each time, unlike the trace's distinct VMCBs.
 */
#define SNP_VMCB01_MAX_CPUS 64
struct snp_vmcb01_allocs {
	bool found;                    /* such a call site returned a VMCB the trace names */
	uint8_t src;                   /* enum snp_alloc_src of the records counted */
	uint64_t caller;               /* the call site's return address */
	char site[SNP_ALLOC_SITE_LEN];
	uint64_t allocs, aligned;      /* returns at that site; of them, 2MB-aligned pages */
	uint64_t as_vmcb;              /* of the returns, pages the trace ran as a VMCB */
	/*
	 * The returns by the CPU they came back on: the CPU of the ioctl that
	 * made the vCPU, the VMM's thread (KVM_CREATE_VCPU); a CPU past the
	 * last counted is left out.
	 */
	uint64_t by_cpu[SNP_VMCB01_MAX_CPUS];
};

struct snp_provenance {
	enum snp_prov_verdict verdict;
	char why[128];                 /* CANNOT_SAY: the reason */
	uint64_t used[SNP_PROV_NR];    /* distinct pages */
	uint64_t from_allocator[SNP_PROV_NR];
	uint64_t allocator_pages;      /* distinct pages the allocator returned */
	uint64_t lost;                 /* snp_alloc_log_lost() */
	struct snp_vmcb01_allocs vmcb01;
	struct snp_prov_page *missing; /* by kind, then pfn */
	size_t nr_missing;
};

/*
 * snp_provenance_join() - join the log with the trace at trace_path: each
 * distinct VMCB, VMSA and AVIC page of a VMRUN and each host save area is
 * looked up among the pages the SNP-safe allocator returned during the run.
 * 0, or a negative code with the reason in err (the trace cannot be read).
 * Free with snp_provenance_free() in every case.
 */
SNP_MUST_CHECK int snp_provenance_join(const struct snp_alloc_log *log, const char *trace_path,
				       struct snp_provenance *p, char *err, size_t errlen);
void snp_provenance_free(struct snp_provenance *p);

#endif
