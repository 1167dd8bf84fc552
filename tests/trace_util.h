/* SPDX-License-Identifier: MIT */
/*
 * trace_util.h - hand-written watch traces for tests: a builder over the
 * trace writer (snpsafe/trace.h) with one call per event, and the changelog's
 * four steps as a trace.
 */
#ifndef SNPSAFE_TESTS_TRACE_UTIL_H
#define SNPSAFE_TESTS_TRACE_UTIL_H

#include "ktap.h"

#include <snpsafe/trace.h>
#include <snpsafe/common.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TU_DMAP_BASE 0xffff888000000000ULL
#define TU_PC_MEMSET 0xffffffff81234567ULL     /* inside memset_orig (SYM below) */
#define TU_PC_OTHER  0xffffffff81300010ULL     /* inside copy_page_to_iter [kvm] */
#define TU_HSAVE0    0x1234000ULL
#define TU_HSAVE1    0x1236000ULL
#define TU_VMCB      0x400000ULL               /* 2MB-aligned */
#define TU_NEIGHBOUR 0x401008ULL               /* another page of the VMCB's 2MB region */

/* ---- a temporary directory per test binary ---- */

static char tu_dir[128];

/* mkdtemp /tmp/PREFIX-XXXXXX (before ktap_main; exits on failure). */
static inline void tu_dir_setup(const char *prefix)
{
	snprintf(tu_dir, sizeof(tu_dir), "/tmp/%s-XXXXXX", prefix);
	if (!mkdtemp(tu_dir)) {
		perror("mkdtemp");
		exit(1);
	}
}

/* tu_dir/name, in one of four rotating buffers. */
static inline const char *tu_path(const char *name)
{
	static char buf[4][256];
	static int i;

	i = (i + 1) % 4;
	snprintf(buf[i], sizeof(buf[i]), "%s/%s", tu_dir, name);
	return buf[i];
}

/* The last case of a suite: remove the directory. */
static inline void tu_dir_teardown(void)
{
	char cmd[300];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tu_dir);
	if (system(cmd))
		ktap_log("cleanup of %s failed", tu_dir);
}

/* ---- the trace builder ---- */

struct tu {
	struct snp_trace_writer *w;
	uint64_t t_ns;
};

/* A trace of format version (0: the current one) whose stores the filter kept. */
static inline void tu_open_ex(struct tu *b, const char *path, unsigned int cpus, uint64_t mem,
			      uint32_t version, enum snp_trace_filter filter)
{
	const struct snp_trace_info info = { .version = version, .nr_cpus = cpus, .filter = filter,
					     .mem_bytes = mem, .direct_map_base = TU_DMAP_BASE };
	char err[SNP_TRACE_ERR_LEN];

	b->t_ns = 1000;
	if (snp_trace_writer_open(path, &info, &b->w, err, sizeof(err))) {
		ktap_fail(__FILE__, __LINE__, "writer: %s", err);
		ktap_abort_case();
	}
}

static inline void tu_open(struct tu *b, const char *path, unsigned int cpus, uint64_t mem)
{
	tu_open_ex(b, path, cpus, mem, 0, SNP_TRACE_FILTER_EVER);
}

static inline void tu_put(struct tu *b, uint8_t type, uint8_t cpu, uint8_t arg, uint8_t level,
			  uint32_t len, uint64_t pa, uint64_t va, uint64_t pc, const char *str)
{
	struct snp_trace_event ev = { .type = type, .cpu = cpu, .arg = arg, .level = level,
				      .len = len, .t_ns = b->t_ns, .pa = pa, .va = va, .pc = pc,
				      .str = str };

	b->t_ns += 1000;
	KASSERT_EQ(snp_trace_write(b->w, &ev), 0);
}

static inline void tu_sym(struct tu *b, uint64_t addr, const char *name)
{
	tu_put(b, SNP_TR_SYM, 0, 0, 0, 0, 0, 0, addr, name);
}

static inline void tu_hsave(struct tu *b, unsigned int cpu, uint64_t pa)
{
	tu_put(b, SNP_TR_HSAVE, (uint8_t)cpu, 0, 0, 0, pa, 0, 0, NULL);
}

static inline void tu_vmrun(struct tu *b, unsigned int cpu, uint64_t vmcb)
{
	tu_put(b, SNP_TR_VMRUN, (uint8_t)cpu, 0, 0, 0, vmcb, 0, 0xffffffffc0a01000ULL, NULL);
}

/* A VMRUN whose VMCB holds TLB_CONTROL tlbctl (format version 2). */
static inline void tu_vmrun_tlb(struct tu *b, unsigned int cpu, uint64_t vmcb, uint8_t tlbctl)
{
	tu_put(b, SNP_TR_VMRUN, (uint8_t)cpu, tlbctl, SNP_TRACE_TLBCTL_READ, 0, vmcb, 0,
	       0xffffffffc0a01000ULL, NULL);
}

static inline void tu_vmrun_page(struct tu *b, unsigned int cpu, enum snp_trace_page kind, uint64_t pa)
{
	tu_put(b, SNP_TR_VMRUN_PAGE, (uint8_t)cpu, (uint8_t)kind, 0, 0, pa, 0, 0, NULL);
}

static inline void tu_vmexit(struct tu *b, unsigned int cpu)
{
	tu_put(b, SNP_TR_VMEXIT, (uint8_t)cpu, 0, 0, 0, 0, 0, 0xffffffffc0a01003ULL, NULL);
}

static inline void tu_store(struct tu *b, unsigned int cpu, uint64_t pa, unsigned int bytes,
			    enum snp_trace_level level, uint64_t pc)
{
	tu_put(b, SNP_TR_STORE, (uint8_t)cpu, (uint8_t)bytes, (uint8_t)level, 0, pa,
	       TU_DMAP_BASE + pa, pc, NULL);
}

/* kind: enum snp_trace_flush; va, pa, len as that kind says. */
static inline void tu_flush(struct tu *b, unsigned int cpu, enum snp_trace_flush kind, uint64_t va,
			    uint64_t pa, uint32_t len)
{
	tu_put(b, SNP_TR_FLUSH, (uint8_t)cpu, (uint8_t)kind, 0, len, pa, va, 0, NULL);
}

static inline void tu_close(struct tu *b)
{
	KASSERT_EQ(snp_trace_writer_close(b->w, 1000, 10), 0);
}

/* Symbols, then both CPUs' host save areas (the state every scenario starts from). */
static inline void tu_prologue(struct tu *b)
{
	tu_sym(b, 0xffffffff81234000ULL, "memset_orig");
	tu_sym(b, 0xffffffff81300000ULL, "copy_page_to_iter [kvm]");
	tu_hsave(b, 0, TU_HSAVE0);
	tu_hsave(b, 1, TU_HSAVE1);
}

/*
 * The changelog's steps as a trace (shared/seed): host save areas on both
 * CPUs; VMRUN of a 2MB-aligned VMCB on CPU 1; while CPU 1 is in guest mode,
 * CPU 0 stores to another page of the VMCB's 2MB region through a direct
 * map leaf of size level; then the #VMEXIT.
 */
static inline void tu_write_changelog(const char *path, enum snp_trace_level level)
{
	struct tu b;

	tu_open(&b, path, 2, SNP_GiB);
	tu_prologue(&b);
	tu_vmrun(&b, 1, TU_VMCB);
	tu_store(&b, 0, TU_NEIGHBOUR, 8, level, TU_PC_MEMSET);
	tu_vmexit(&b, 1);
	tu_close(&b);
}

static inline void tu_write_bytes(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");

	KASSERT(f);
	KASSERT_EQ(fwrite(data, 1, len, f), len);
	fclose(f);
}

/*
 * The changelog trace (1G leaf) written to path with the byte at offset at
 * set to value (when at is inside the file) and cut to cut bytes (0: whole).
 */
static inline void tu_write_changelog_bad(const char *path, size_t at, unsigned char value,
					  size_t cut)
{
	unsigned char buf[4096];
	size_t n;
	FILE *f;

	tu_write_changelog(path, SNP_TRL_1G);
	f = fopen(path, "rb");
	KASSERT(f);
	n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	if (at < n)
		buf[at] = value;
	tu_write_bytes(path, buf, cut && cut < n ? cut : n);
}

/* Offset of the changelog trace's third record (CPU 0's HSAVE), after two SYM records. */
#define TU_CHANGELOG_REC3 (SNP_TRACE_HEADER_SIZE + 2 * SNP_TRACE_REC_SIZE + \
			   snp_trace_payload_padded(sizeof("memset_orig") - 1) + \
			   snp_trace_payload_padded(sizeof("copy_page_to_iter [kvm]") - 1))

#endif
