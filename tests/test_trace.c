// SPDX-License-Identifier: MIT
/*
 * test_trace.c - the watch trace format: written and read back, summarized,
 * finished with symbols; and every kind of bad file refused with a reason.
 */
#include "trace_util.h"

#include <snpsafe/trace.h>
#include <snpsafe/common.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const struct snp_trace_info info2 = {
	.nr_cpus = 2, .filter = SNP_TRACE_FILTER_INGUEST, .mem_bytes = 1024 * SNP_MiB,
	.direct_map_base = 0xffff888000000000ULL,
};

static void put(struct snp_trace_writer *w, uint8_t type, uint8_t cpu, uint8_t arg, uint64_t pa,
		uint64_t pc)
{
	struct snp_trace_event ev = { .type = type, .cpu = cpu, .arg = arg, .pa = pa, .pc = pc,
				      .va = info2.direct_map_base + pa, .level = SNP_TRL_1G };

	if (type != SNP_TR_STORE)
		ev.level = 0, ev.va = 0;
	KASSERT_EQ(snp_trace_write(w, &ev), 0);
}

/* A small run: two save areas, two VMCBs (one 2MB-aligned), stores, a flush. */
static void write_sample(const char *p, bool finish)
{
	struct snp_trace_writer *w;
	char err[SNP_TRACE_ERR_LEN];

	KASSERT_EQ(snp_trace_writer_open(p, &info2, &w, err, sizeof(err)), 0);
	put(w, SNP_TR_HSAVE, 0, 0, 0x1234000, 0);
	put(w, SNP_TR_HSAVE, 1, 0, 0x1236000, 0);
	put(w, SNP_TR_VMRUN, 1, 0, 0x400000, 0xffffffffc0a01000ULL);
	put(w, SNP_TR_STORE, 0, 8, 0x401008, 0xffffffff81234567ULL);
	put(w, SNP_TR_VMEXIT, 1, 0, 0, 0xffffffffc0a01003ULL);
	put(w, SNP_TR_VMRUN, 1, 0, 0x400000, 0xffffffffc0a01000ULL);
	put(w, SNP_TR_VMRUN, 0, 0, 0x523000, 0xffffffffc0a01000ULL);
	put(w, SNP_TR_VMRUN_PAGE, 0, SNP_TRP_VMSA, 0x601000, 0);
	put(w, SNP_TR_FLUSH, 0, SNP_TRF_INVLPG, 0, 0);
	put(w, SNP_TR_STORE, 1, 4, 0x523010, 0xffffffff81300010ULL);
	if (finish)
		KASSERT_EQ(snp_trace_writer_close(w, 1000, 998), 0);
	else
		snp_trace_writer_abandon(w);
}

static void trace_roundtrip(void)
{
	const char *p = tu_path("rt.trace");
	struct snp_trace_event ev;
	char err[SNP_TRACE_ERR_LEN];
	struct snp_trace *t;
	uint64_t seen, dropped;
	int n = 0, ret;

	write_sample(p, true);
	KASSERT_EQ(snp_trace_open(p, &t, err, sizeof(err)), 0);
	KEXPECT_EQ(snp_trace_get_info(t)->nr_cpus, 2);
	KEXPECT_EQ(snp_trace_get_info(t)->mem_bytes, 1024 * SNP_MiB);
	while ((ret = snp_trace_next(t, &ev)) > 0) {
		if (n == 3) {
			KEXPECT_EQ(ev.type, SNP_TR_STORE);
			KEXPECT_EQ(ev.arg, 8);
			KEXPECT_EQ(ev.pa, 0x401008);
			KEXPECT(ev.pc == 0xffffffff81234567ULL);
			KEXPECT_EQ(ev.level, SNP_TRL_1G);
		}
		n++;
	}
	KEXPECT_EQ(ret, 0);
	KEXPECT_EQ(n, 10);
	snp_trace_end_counts(t, &seen, &dropped);
	KEXPECT_EQ(seen, 1000);
	KEXPECT_EQ(dropped, 998);
	snp_trace_close(t);
}

static void trace_summary_counts(void)
{
	const char *p = tu_path("sum.trace");
	struct snp_trace_summary s;
	char err[SNP_TRACE_ERR_LEN];

	write_sample(p, true);
	KASSERT_EQ(snp_trace_summarize(p, &s, err, sizeof(err)), 0);
	KEXPECT_EQ(s.vmruns, 3);
	KEXPECT_EQ(s.vmexits, 1);
	KEXPECT_EQ(s.vmcb.distinct, 2);
	KEXPECT_EQ(s.vmcb.aligned, 1);         /* 0x400000 is pfn 0x400 */
	KEXPECT_EQ(s.vmcb_aligned_hugepage, 1); /* its region took a 1G-leaf store */
	KEXPECT_EQ(s.vmsa.distinct, 1);
	KEXPECT_EQ(s.vmsa.aligned, 0);         /* pfn 0x601 is not a multiple of 512 */
	KEXPECT_EQ(s.hsave.distinct, 2);
	KEXPECT_EQ(s.stores, 2);
	KEXPECT_EQ(s.flushes, 1);
	KEXPECT_EQ(s.vmrun_cpus, 2);
	KEXPECT_EQ(s.stores_seen, 1000);
}

static void write_file(const char *p, const void *data, size_t len)
{
	FILE *f = fopen(p, "wb");

	KASSERT(f);
	KASSERT_EQ(fwrite(data, 1, len, f), len);
	fclose(f);
}

static void *read_file(const char *p, size_t *len)
{
	FILE *f = fopen(p, "rb");
	char *buf = malloc(1 << 16);

	KASSERT(f && buf);
	*len = fread(buf, 1, 1 << 16, f);
	fclose(f);
	return buf;
}

/* Read a trace to its end; the error text (or "" when it reads clean). */
static int read_all(const char *p, char *why, size_t len)
{
	struct snp_trace_event ev;
	struct snp_trace *t;
	int ret = snp_trace_open(p, &t, why, len);

	if (ret)
		return ret;
	while ((ret = snp_trace_next(t, &ev)) > 0)
		;
	snprintf(why, len, "%s", ret ? snp_trace_error(t) : "");
	snp_trace_close(t);
	return ret;
}

/* Write a copy of the sample with one byte changed, and read it. */
static int read_mutated(size_t at, unsigned char value, size_t cut, char *why, size_t len)
{
	const char *p = tu_path("good.trace"), *q = tu_path("bad.trace");
	size_t n;
	unsigned char *buf;
	int ret;

	write_sample(p, true);
	buf = read_file(p, &n);
	if (at < n)
		buf[at] = value;
	write_file(q, buf, cut ? cut : n);
	free(buf);
	ret = read_all(q, why, len);
	ktap_log("bad file: %s", why);
	return ret;
}

static void trace_rejects_bad_files(void)
{
	char why[SNP_TRACE_ERR_LEN];
	const size_t rec1 = SNP_TRACE_HEADER_SIZE;     /* first record's offset */

	KEXPECT(read_mutated(0, 'X', 0, why, sizeof(why)) < 0);
	KEXPECT(strstr(why, "bad magic"));
	KEXPECT(read_mutated(8, SNP_TRACE_VERSION + 1, 0, why, sizeof(why)) < 0);            /* a future version */
	KEXPECT(strstr(why, "newer"));
	KEXPECT(read_mutated(16, 0, 0, why, sizeof(why)) < 0);           /* 0 CPUs */
	KEXPECT(strstr(why, "CPUs"));
	KEXPECT(read_mutated(rec1 + 1, 7, 0, why, sizeof(why)) < 0);     /* CPU 7 of 2 */
	KEXPECT(strstr(why, "CPU 7 out of range"));
	KEXPECT(read_mutated(rec1, 42, 0, why, sizeof(why)) < 0);        /* type 42 */
	KEXPECT(strstr(why, "unknown type"));
	KEXPECT(read_mutated(0, 'S', rec1 + 3 * SNP_TRACE_REC_SIZE, why, sizeof(why)) < 0);
	KEXPECT(strstr(why, "no END record"));
	KEXPECT(read_mutated(0, 'S', rec1 + 3 * SNP_TRACE_REC_SIZE + 5, why, sizeof(why)) < 0);
	KEXPECT(strstr(why, "truncated inside"));
	KEXPECT(read_mutated(0, 'S', 20, why, sizeof(why)) < 0);
	KEXPECT(strstr(why, "truncated header"));
	/* The END record's count corrupted. */
	KEXPECT(read_mutated(rec1 + 10 * SNP_TRACE_REC_SIZE + 16, 9, 0, why, sizeof(why)) < 0);
	KEXPECT(strstr(why, "END counts"));
	/* An abandoned writer: no END. */
	write_sample(tu_path("abandoned.trace"), false);
	KEXPECT(read_all(tu_path("abandoned.trace"), why, sizeof(why)) < 0);
	KEXPECT(strstr(why, "truncated"));
	KEXPECT(read_all(tu_path("no-such.trace"), why, sizeof(why)) == SNP_ENOENT);
}

/* Random bytes after a valid header, and random files: an error, never a crash. */
static void trace_random_bytes(void)
{
	unsigned char buf[4096];
	char why[SNP_TRACE_ERR_LEN];
	unsigned int seed = 12345;
	int errors = 0;

	for (int round = 0; round < 200; round++) {
		size_t n = 64 + (size_t)(rand_r(&seed) % 4000);

		for (size_t i = 0; i < n; i++)
			buf[i] = (unsigned char)rand_r(&seed);
		if (round % 2) {
			struct snp_trace_writer *w;

			KASSERT_EQ(snp_trace_writer_open(tu_path("hdr.trace"), &info2, &w, why,
							 sizeof(why)), 0);
			snp_trace_writer_abandon(w);
			size_t hn;
			unsigned char *h = read_file(tu_path("hdr.trace"), &hn);
			memcpy(buf, h, hn);
			free(h);
		}
		write_file(tu_path("rand.trace"), buf, n);
		errors += read_all(tu_path("rand.trace"), why, sizeof(why)) < 0;
	}
	KEXPECT_EQ(errors, 200);
}

static void trace_finish_names_functions(void)
{
	const char *raw = tu_path("raw.trace"), *out = tu_path("fin.trace"), *ks = tu_path("kallsyms");
	static const char kallsyms[] =
		"ffffffff81000000 T _stext\n"
		"ffffffff81234000 T memset_orig\n"
		"ffffffff81234000 t memset_alias\n"
		"ffffffff81235000 D some_data\n"
		"ffffffff81300000 t copy_page_to_iter [kvm]\n"
		"ffffffff81400000 T later_function\n";
	struct snp_trace_summary s;
	struct snp_trace_event ev;
	char err[SNP_TRACE_ERR_LEN];
	struct snp_trace *t;
	uint64_t off = 0;
	const char *name;
	int ret;

	write_sample(raw, true);
	write_file(ks, kallsyms, sizeof(kallsyms) - 1);
	KASSERT_EQ(snp_trace_finish(raw, out, ks, "6.1.0-test", "vms=2", "watch", err, sizeof(err)), 0);
	KASSERT_EQ(snp_trace_summarize(out, &s, err, sizeof(err)), 0);
	KEXPECT_EQ(s.symbols, 2);
	KEXPECT(!strcmp(s.kernel, "6.1.0-test"));
	KEXPECT(!strcmp(s.workload, "vms=2"));
	KEXPECT_EQ(s.vmruns, 3);
	KEXPECT(s.info.flags & SNP_TRACE_F_SYMBOLS);
	KASSERT_EQ(snp_trace_open(out, &t, err, sizeof(err)), 0);
	while ((ret = snp_trace_next(t, &ev)) > 0)
		;
	KEXPECT_EQ(ret, 0);
	name = snp_trace_symbol(t, 0xffffffff81234567ULL, &off);
	KEXPECT(name && !strncmp(name, "memset_", 7));
	KEXPECT_EQ(off, 0x567);
	name = snp_trace_symbol(t, 0xffffffff81300010ULL, &off);
	KEXPECT(name && !strcmp(name, "copy_page_to_iter [kvm]"));
	KEXPECT(snp_trace_symbol(t, 0x1000, &off) == NULL);
	snp_trace_close(t);
	KEXPECT(snp_trace_finish(raw, out, tu_path("none"), NULL, NULL, NULL, err, sizeof(err)) < 0);
	KEXPECT(strstr(err, "No such file"));
}

/* A trace of format version with one VMRUN of TLB_CONTROL arg, read flag level; its reader's verdict. */
static int vmrun_version(uint32_t version, uint8_t arg, uint8_t level, char *why, size_t len)
{
	const char *p = tu_path("tlbctl.trace");
	struct snp_trace_info info = info2;
	struct snp_trace_writer *w;
	struct snp_trace_event ev = { .type = SNP_TR_VMRUN, .cpu = 1, .arg = arg, .level = level,
				      .pa = 0x400000 };
	char err[SNP_TRACE_ERR_LEN];
	struct snp_trace *t;
	int ret;

	info.version = version;
	KASSERT_EQ(snp_trace_writer_open(p, &info, &w, err, sizeof(err)), 0);
	KASSERT_EQ(snp_trace_write(w, &ev), 0);
	KASSERT_EQ(snp_trace_writer_close(w, 0, 0), 0);
	KASSERT_EQ(snp_trace_open(p, &t, err, sizeof(err)), 0);
	KEXPECT_EQ(snp_trace_get_info(t)->version, version ? version : SNP_TRACE_VERSION);
	ret = snp_trace_next(t, &ev);
	if (ret == 1) {
		KEXPECT_EQ(ev.arg, arg);
		KEXPECT_EQ(ev.level, level);
	}
	snprintf(why, len, "%s", snp_trace_error(t));
	snp_trace_close(t);
	return ret;
}

/* Version 2 VMRUNs carry TLB_CONTROL when read; version 1 ones never; a finish keeps the version. */
static void trace_vmrun_tlb_control(void)
{
	const char *raw = tu_path("v1raw.trace"), *out = tu_path("v1fin.trace");
	struct snp_trace_info info = info2;
	struct snp_trace_writer *w;
	struct snp_trace_summary s;
	char why[SNP_TRACE_ERR_LEN];

	KEXPECT_EQ(SNP_TRACE_VERSION, 2);
	KEXPECT_EQ(vmrun_version(0, SNP_TLBCTL_FLUSH_ALL, SNP_TRACE_TLBCTL_READ, why, sizeof(why)), 1);
	KEXPECT_EQ(vmrun_version(2, 0xff, SNP_TRACE_TLBCTL_READ, why, sizeof(why)), 1);  /* reserved: kept */
	KEXPECT_EQ(vmrun_version(2, 0, 0, why, sizeof(why)), 1);
	KEXPECT_EQ(vmrun_version(1, 0, 0, why, sizeof(why)), 1);
	KEXPECT(vmrun_version(2, 3, 0, why, sizeof(why)) < 0 && strstr(why, "VMRUN with TLB_CONTROL 3, read flag 0"));
	KEXPECT(vmrun_version(2, 0, 2, why, sizeof(why)) < 0 && strstr(why, "read flag 2"));
	KEXPECT(vmrun_version(1, 1, 1, why, sizeof(why)) < 0 && strstr(why, "(format version 1)"));
	/* A writer refuses a version from the future. */
	info.version = SNP_TRACE_VERSION + 1;
	KEXPECT_EQ(snp_trace_writer_open(raw, &info, &w, why, sizeof(why)), SNP_EINVAL);
	KEXPECT(strstr(why, "newer than this snpsafe writes"));
	/* snp_trace_finish rewrites a version 1 trace as version 1. */
	info.version = 1;
	KASSERT_EQ(snp_trace_writer_open(raw, &info, &w, why, sizeof(why)), 0);
	put(w, SNP_TR_HSAVE, 0, 0, 0x1234000, 0);
	KASSERT_EQ(snp_trace_writer_close(w, 0, 0), 0);
	KASSERT_EQ(snp_trace_finish(raw, out, NULL, "6.1", NULL, NULL, why, sizeof(why)), 0);
	KASSERT_EQ(snp_trace_summarize(out, &s, why, sizeof(why)), 0);
	KEXPECT_EQ(s.info.version, 1);
	/* The loads flag is a known header bit; one beyond it is corrupt. */
	info = info2;
	info.flags = SNP_TRACE_F_LOADS;
	KASSERT_EQ(snp_trace_writer_open(raw, &info, &w, why, sizeof(why)), 0);
	KASSERT_EQ(snp_trace_writer_close(w, 0, 0), 0);
	KASSERT_EQ(snp_trace_summarize(raw, &s, why, sizeof(why)), 0);
	KEXPECT(s.info.flags & SNP_TRACE_F_LOADS);
	info.flags = SNP_TRACE_F_ALL + 1;
	KASSERT_EQ(snp_trace_writer_open(raw, &info, &w, why, sizeof(why)), 0);
	KASSERT_EQ(snp_trace_writer_close(w, 0, 0), 0);
	KEXPECT(snp_trace_summarize(raw, &s, why, sizeof(why)) < 0 && strstr(why, "flags 0x4"));
}

static const struct ktap_case cases[] = {
	KTAP_CASE(trace_roundtrip),
	KTAP_CASE(trace_summary_counts),
	KTAP_CASE(trace_rejects_bad_files),
	KTAP_CASE(trace_random_bytes),
	KTAP_CASE(trace_finish_names_functions),
	KTAP_CASE(trace_vmrun_tlb_control),
	{ "teardown_case", tu_dir_teardown, 0 },
};

int main(void)
{
	tu_dir_setup("snpsafe-test-trace");
	return ktap_main("trace", cases, KTAP_ARRAY_SIZE(cases));
}
