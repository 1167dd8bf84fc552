/* SPDX-License-Identifier: MIT */
/*
 * snpsafe/trace.h - the watch trace: what a real kernel, run under QEMU TCG
 * with snpsafe's plugin (watch/snpsafe_plugin.c), did that early SNP
 * hardware would care about.  docs/TRACE.md documents the format.
 *
 * The file is little-endian and binary: a 64-byte header, then fixed
 * 40-byte records, some followed by a payload (a string padded to 8 bytes),
 * and last an END record that counts the records before it.  Binary because
 * a run records hundreds of thousands of events and every one is read back
 * by replay; fixed-size records make truncation and corruption detectable
 * without guessing, and the plugin writes them without formatting.
 *
 * This header is shared by the plugin (which writes the records) and the
 * library (which reads them); it holds layout only, no code.
 */
#ifndef SNPSAFE_TRACE_H
#define SNPSAFE_TRACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * The trace format stands alone (the watch plugin includes only this file),
 * so it names the kernel's __must_check itself; snpsafe/common.h has the
 * same definition.
 */
#ifndef SNP_MUST_CHECK
#define SNP_MUST_CHECK __attribute__((warn_unused_result))
#endif

#define SNP_TRACE_MAGIC       "SNPTRACE"      /* 8 bytes, no NUL in the file */
/*
 * Version 2 added VMRUN's TLB_CONTROL (the VMRUN record's arg and level);
 * readers take version 1 too, whose VMRUN records carry neither.
 */
#define SNP_TRACE_VERSION     2
#define SNP_TRACE_VERSION_TLBCTL 2            /* the first version with TLB_CONTROL */
#define SNP_TRACE_HEADER_SIZE 64
#define SNP_TRACE_REC_SIZE    40
#define SNP_TRACE_MAX_CPUS    64
#define SNP_TRACE_MAX_PAYLOAD 4096           /* longest string a record may carry */

/* Header flags. */
#define SNP_TRACE_F_SYMBOLS   (1u << 0)      /* SYM records present (added after the run) */
/*
 * LOAD records present: the recorder kept loads by the same filter as
 * stores.  No recorder sets it yet; replay refuses the knob
 * inuse_reads_fault=on on a trace without it (loads can fault only then).
 */
#define SNP_TRACE_F_LOADS     (1u << 1)
#define SNP_TRACE_F_ALL       (SNP_TRACE_F_SYMBOLS | SNP_TRACE_F_LOADS)

/* What the plugin kept of the kernel's direct-map stores (header .filter). */
enum snp_trace_filter {
	/* Stores to a 2MB region while a CPU is in guest mode with a VMRUN page in it. */
	SNP_TRACE_FILTER_INGUEST = 0,
	/* Stores to a 2MB region that ever held a VMRUN page or a host save area. */
	SNP_TRACE_FILTER_EVER    = 1,
	/* Every direct-map store of the host kernel. */
	SNP_TRACE_FILTER_ALL     = 2,
	SNP_TRACE_FILTER_NR
};

enum snp_trace_type {
	SNP_TR_VMRUN      = 1,  /* pa: VMCB (RAX); pc: the VMRUN; v2: arg TLB_CONTROL, level 1 if read */
	SNP_TR_VMRUN_PAGE = 2,  /* arg: enum snp_trace_page; pa: that page, named by the VMCB just run */
	SNP_TR_VMEXIT     = 3,  /* the CPU is back in host mode (first instruction after VMRUN); pc */
	SNP_TR_HSAVE      = 4,  /* WRMSR VM_HSAVE_PA (0xC0010117); pa: the value written */
	SNP_TR_STORE      = 5,  /* arg: bytes; level: leaf; pa, va, pc of the storing instruction */
	SNP_TR_FLUSH      = 6,  /* arg: enum snp_trace_flush; va, pa, len as that kind says */
	SNP_TR_SYM        = 7,  /* pc: symbol start; payload: its name ("func [module]") */
	SNP_TR_STR        = 8,  /* arg: enum snp_trace_key; payload: the text */
	SNP_TR_END        = 9,  /* pa: records before this one; va: stores seen; pc: stores dropped */
	SNP_TR_TYPE_MAX   = 9,
};

/*
 * VMRUN's TLB_CONTROL (VMCB offset 0x58, bits 39:32; APM Vol. 2 15.16.1,
 * Table 15-9), in a version 2 VMRUN record's arg when its level is
 * SNP_TRACE_TLBCTL_READ (level 0: the recorder could not read the VMCB).
 * Other values are reserved.
 */
enum snp_trace_tlbctl {
	SNP_TLBCTL_NOTHING    = 0,    /* do not flush */
	SNP_TLBCTL_FLUSH_ALL  = 1,    /* flush the entire TLB: every ASID, global entries too */
	SNP_TLBCTL_FLUSH_ASID = 3,    /* flush this guest's entries */
	SNP_TLBCTL_FLUSH_ASID_NONGLOBAL = 7,  /* this guest's non-global entries */
};
#define SNP_TRACE_TLBCTL_READ 1

/* Pages a VMRUN names besides the VMCB (APM Vol. 2 Table 15-41). */
enum snp_trace_page {
	SNP_TRP_VMSA = 1,       /* VMCB 0x108, read when SEV-ES is enabled in the VMCB */
	SNP_TRP_AVIC = 2,       /* VMCB 0x0E0, read when AVIC is enabled in the VMCB */
};

/*
 * Leaf size of the kernel's translation for a store (level of the page
 * table entry that mapped it): 4K, 2M or 1G; 0 if the walk failed.
 */
enum snp_trace_level { SNP_TRL_UNKNOWN = 0, SNP_TRL_4K = 1, SNP_TRL_2M = 2, SNP_TRL_1G = 3 };
/* "unknown", "4K", "2M", "1G" (src/sim/trace.c), or "?" out of range. */
const char *snp_trace_level_name(unsigned int level);

/*
 * TLB flush events.  va = ~0 means "address not decoded": a reader treats
 * the flush as covering every address of that CPU.
 */
enum snp_trace_flush {
	SNP_TRF_CR3     = 1,    /* MOV to CR3; pa: new CR3.  Non-global entries only. */
	SNP_TRF_CR4     = 2,    /* MOV to CR4; va: old CR4, pa: new CR4 (PGE flips flush all) */
	SNP_TRF_INVLPG  = 3,    /* va: the address (or ~0) */
	SNP_TRF_INVLPGA = 4,    /* va: RAX, len: ASID (ECX) */
	SNP_TRF_INVPCID = 5,    /* len: type (0 address, 1 context, 2 all+global, 3 all); va: address or ~0 */
};

/* STR record keys. */
enum snp_trace_key {
	SNP_TRK_KERNEL   = 1,   /* uname -r of the watched kernel */
	SNP_TRK_WORKLOAD = 2,   /* the workload's closing line */
	SNP_TRK_COMMAND  = 3,   /* how the run was made (snpsafe watch arguments) */
};

/* The 64-byte header as it is on disk (all fields little-endian). */
struct snp_trace_header_disk {
	char     magic[8];
	uint32_t version;
	uint32_t header_size;
	uint32_t nr_cpus;
	uint32_t filter;
	uint32_t flags;
	uint32_t reserved0;
	uint64_t mem_bytes;         /* guest RAM as QEMU gave it */
	uint64_t direct_map_base;   /* the kernel's page_offset_base */
	uint64_t reserved[2];
};

/* One 40-byte record as it is on disk. */
struct snp_trace_rec_disk {
	uint8_t  type;
	uint8_t  cpu;
	uint8_t  arg;
	uint8_t  level;
	uint32_t len;               /* payload bytes (SYM, STR) or a flush's ASID/type */
	uint64_t t_ns;              /* nanoseconds since the plugin started */
	uint64_t pa;
	uint64_t va;
	uint64_t pc;
};

_Static_assert(sizeof(struct snp_trace_header_disk) == SNP_TRACE_HEADER_SIZE, "header size");
_Static_assert(sizeof(struct snp_trace_rec_disk) == SNP_TRACE_REC_SIZE, "record size");

/* Payload bytes on disk after a record: len rounded up to 8. */
static inline uint32_t snp_trace_payload_padded(uint32_t len) { return (len + 7u) & ~7u; }

/* ---- reading and writing (src/sim/trace.c) --------------------------------------- */

/* What the header says. */
struct snp_trace_info {
	uint32_t version;
	uint32_t nr_cpus;
	uint32_t filter;              /* enum snp_trace_filter */
	uint32_t flags;
	uint64_t mem_bytes;
	uint64_t direct_map_base;
};

/* One record as the reader hands it out (host byte order). */
struct snp_trace_event {
	uint8_t type, cpu, arg, level;
	uint32_t len;
	uint64_t t_ns, pa, va, pc;
	const char *str;              /* SYM, STR: the payload, NUL-terminated; valid until the next call */
};

struct snp_trace;                 /* a reader (opaque) */
struct snp_trace_writer;          /* a writer (opaque) */

#define SNP_TRACE_ERR_LEN 256

/*
 * Open path and check its header.  0, or a negative SNP_E* code with a
 * one-line reason in err (no such file, a directory, an empty file, not a
 * trace, a future version...), without the path: the caller names the file.
 */
SNP_MUST_CHECK int snp_trace_open(const char *path, struct snp_trace **out, char *err, size_t errlen);
const struct snp_trace_info *snp_trace_get_info(const struct snp_trace *t);
/*
 * The next record: 1 and *ev filled, 0 at the END record when nothing
 * follows it and its count matches, or a negative code with the reason in
 * snp_trace_error() (truncated, corrupt record, CPU out of range...).
 */
SNP_MUST_CHECK int snp_trace_next(struct snp_trace *t, struct snp_trace_event *ev);
const char *snp_trace_error(const struct snp_trace *t);
/* The END record's counts (valid after snp_trace_next returned 0). */
void snp_trace_end_counts(const struct snp_trace *t, uint64_t *stores_seen, uint64_t *stores_dropped);
/* The symbol holding pc among the SYM records read so far, or NULL; *off its offset. */
const char *snp_trace_symbol(const struct snp_trace *t, uint64_t pc, uint64_t *off);
void snp_trace_close(struct snp_trace *t);

/*
 * Create path with this header (info->version 0: the current version; an
 * older one writes that format, for rewrites and tests).  0 or a negative
 * code with the reason in err.
 */
SNP_MUST_CHECK int snp_trace_writer_open(const char *path, const struct snp_trace_info *info,
			  struct snp_trace_writer **out, char *err, size_t errlen);
/* Append one record (SYM/STR: ev->str is the payload).  0 or a negative code. */
SNP_MUST_CHECK int snp_trace_write(struct snp_trace_writer *w, const struct snp_trace_event *ev);
/* Write END (with the store counts) and close.  0 or a negative code (a failed write). */
SNP_MUST_CHECK int snp_trace_writer_close(struct snp_trace_writer *w, uint64_t stores_seen, uint64_t stores_dropped);
/* Close without END: leaves a truncated file (tests use it). */
void snp_trace_writer_abandon(struct snp_trace_writer *w);

/* ---- summary and post-processing --------------------------------------------------- */

/* Pages of one kind named by the run, counted once each. */
struct snp_trace_pages {
	uint64_t distinct;            /* distinct physical pages */
	uint64_t aligned;             /* of them, 2MB-aligned */
};

struct snp_trace_summary {
	struct snp_trace_info info;
	char kernel[128];             /* STR kernel, or "" */
	char workload[256];           /* STR workload, or "" */
	uint64_t records;
	uint64_t vmruns, vmexits, stores, flushes, hsave_writes, symbols;
	uint64_t stores_by_level[4];  /* by enum snp_trace_level */
	uint64_t stores_seen, stores_dropped;
	struct snp_trace_pages vmcb, vmsa, avic, hsave;
	/* 2MB-aligned VMCBs whose region took a recorded store through a 2M or 1G leaf. */
	uint64_t vmcb_aligned_hugepage;
	uint64_t vmrun_cpus;          /* CPUs that ran VMRUN */
	uint64_t last_t_ns;
};

/* Read the whole trace at path into s.  0, or a negative code with the reason in err, naming path. */
SNP_MUST_CHECK int snp_trace_summarize(const char *path, struct snp_trace_summary *s, char *err, size_t errlen);

/*
 * Rewrite the plugin's raw trace in_path as out_path with STR records for
 * kernel, workload and command (each may be NULL) and, when kallsyms_path
 * is given (the watched kernel's /proc/kallsyms), a SYM record for every
 * function that holds a recorded store's pc.  0 or a negative code with the
 * reason in err, naming the file once.
 */
SNP_MUST_CHECK int snp_trace_finish(const char *in_path, const char *out_path, const char *kallsyms_path,
		     const char *kernel, const char *workload, const char *command,
		     char *err, size_t errlen);

#endif
