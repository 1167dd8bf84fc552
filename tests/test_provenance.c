// SPDX-License-Identifier: MIT
/*
 * test_provenance.c - `snpsafe watch`'s allocation log (OUT/alloc.log) read
 * back, and joined with a hand-made trace: every page from the SNP-safe
 * allocator (yes), a page that was not, named with its address and the
 * call site that got it from the page allocator (no), lost events (cannot
 * say), a kernel without the allocator, the pool and free-page lines; and
 * every damaged log refused with one line naming the place.
 */
#include "trace_util.h"

#include <snpsafe/provenance.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define VMEMMAP 0xffffea0000000000ULL
/* The struct page of the page at physical address pa. */
#define PAGE_OF(pa) (VMEMMAP + ((pa) >> SNP_PAGE_SHIFT) * SNP_STRUCT_PAGE_SIZE)

static const char header[] =
	"snpsafe-alloc 1\n"
	"allocator kvm_amd:snp_safe_alloc_page_node\n"
	"mem before_load free_pages 235271 pcp_pages 3975 slab_pages 2432\n"
	"probe alloc_in hits 3 misses 0\n"
	"probe alloc_ret hits 3 misses 0\n"
	"probe pg___alloc_pages_noprof hits 22679 misses 0\n"
	"pool none\n"
	"trace-begin\n"
	"# tracer: nop\n"
	"#\n"
	"# entries-in-buffer/entries-written: 7/7   #P:2\n"
	"#           TASK-PID     CPU#  |||||  TIMESTAMP  FUNCTION\n";

static const char footer[] =
	"trace-end\n"
	"unload kvm_amd ok\n"
	"unload kvm ok\n"
	"mem after_unload free_pages 233008 pcp_pages 6222\n"
	"end\n";

/* The allocator's entry by task pid, as the probe prints it. */
static void put_entry(FILE *f, unsigned int pid, const char *comm)
{
	fprintf(f, "%16s-%-5u [001] .....    19.674522: alloc_in: (snp_safe_alloc_page_node+0x4/0x160 "
		   "[kvm_amd] <ffffffffc03aba24>) node=0 gfp=0xcc0\n", comm, pid);
}

/* The CPU put_return() writes in the line's bracket. */
static unsigned int ret_cpu;

/* A return: of the allocator (func NULL) or of the page allocator function func to a module. */
static void put_return(FILE *f, unsigned int pid, const char *comm, const char *site, uint64_t caller,
		       const char *func, uint64_t page)
{
	fprintf(f, "%16s-%-5u [%03u] .....    19.675173: %s%s: (%s <%016llx> <- %s <ffffffffc03aba24>) "
		   "page=0x%llx vmemmap=0xffffea0000000000\n", comm, pid, ret_cpu, func ? "pg_" : "alloc_ret",
		func ? func : "", site, (unsigned long long)caller, func ? func : "snp_safe_alloc_page_node",
		(unsigned long long)page);
}

/*
 * A log in which the allocator returned both host save areas (at module
 * load, by insmod) and, when @vmcb_from_allocator, the VMCB; otherwise the
 * VMCB came from alloc_pages_noprof to svm_vcpu_create.  @extra goes
 * before trace-end.
 */
static void write_log(const char *path, bool vmcb_from_allocator, const char *extra)
{
	FILE *f = fopen(path, "w");

	KASSERT(f);
	fputs(header, f);
	put_entry(f, 162, "insmod");
	put_return(f, 162, "insmod", "svm_hardware_setup+0x491/0x9e0 [kvm_amd]", 0xffffffffc03cc521ULL,
		   NULL, PAGE_OF(TU_HSAVE0));
	put_entry(f, 162, "insmod");
	put_return(f, 162, "insmod", "svm_hardware_setup+0x491/0x9e0 [kvm_amd]", 0xffffffffc03cc521ULL,
		   NULL, PAGE_OF(TU_HSAVE1));
	if (vmcb_from_allocator) {
		put_entry(f, 179, "work load-x");
		put_return(f, 179, "work load-x", "svm_vcpu_create+0x23/0x180 [kvm_amd]",
			   0xffffffffc03997f3ULL, NULL, PAGE_OF(TU_VMCB));
	} else {
		put_return(f, 179, "work load-x", "svm_vcpu_create+0x1a/0x180 [kvm_amd]",
			   0xffffffffc03997eaULL, "alloc_pages_noprof", PAGE_OF(TU_VMCB));
	}
	/* A page the VMRUNs did not use: the page allocator to kvm. */
	put_return(f, 180, "workload", "kvm_arch_vcpu_create+0x8b/0x330 [kvm]", 0xffffffffc024411bULL,
		   "alloc_pages_noprof", PAGE_OF(0x7000000ULL));
	if (extra)
		fputs(extra, f);
	fputs(footer, f);
	fclose(f);
}

static void read_ok(const char *path, struct snp_alloc_log *l)
{
	char err[SNP_ALLOC_ERR_LEN] = "";
	int ret = snp_alloc_log_read(path, l, err, sizeof(err));

	if (ret)
		ktap_log("%s", err);
	KASSERT_EQ(ret, 0);
}

/* The log read back: what each line said, the pfns of the struct page pointers. */
static void alloclog_reads_a_run(void)
{
	const char *p = tu_path("a.log");
	struct snp_alloc_log l;

	write_log(p, true, NULL);
	read_ok(p, &l);
	KEXPECT(l.has_allocator);
	KEXPECT(!strcmp(l.allocator, "kvm_amd:snp_safe_alloc_page_node"));
	KEXPECT_EQ(l.nr_probes, 3);
	KEXPECT(!strcmp(l.probe[2].name, "pg___alloc_pages_noprof") && l.probe[2].hits == 22679);
	KEXPECT(l.mem[SNP_MEM_BEFORE_LOAD].valid && l.mem[SNP_MEM_BEFORE_LOAD].free_pages == 235271);
	KEXPECT(l.mem[SNP_MEM_AFTER_UNLOAD].valid && l.mem[SNP_MEM_AFTER_UNLOAD].pcp_pages == 6222);
	KEXPECT(l.mem[SNP_MEM_BEFORE_LOAD].have_slab && l.mem[SNP_MEM_BEFORE_LOAD].slab_pages == 2432);
	/* the slab count is optional (a guest from before it) */
	KEXPECT(!l.mem[SNP_MEM_AFTER_UNLOAD].have_slab);
	KEXPECT(l.unload_seen[SNP_UNLOAD_KVM_AMD] && l.unload_ok[SNP_UNLOAD_KVM_AMD]);
	KEXPECT(!l.pool_present);
	KEXPECT_EQ(l.calls, 3);
	KEXPECT_EQ(l.nr_safe, 3);
	KEXPECT_EQ(l.nr_rec, 4);
	KEXPECT_EQ(l.unpaired, 0);
	KEXPECT_EQ(l.lost_events, 0);
	KEXPECT_EQ(snp_alloc_log_lost(&l), 0);
	KEXPECT(l.vmemmap_from_kernel && l.vmemmap_base == VMEMMAP);
	KASSERT(l.nr_rec == 4);
	KEXPECT_EQ(l.rec[0].pfn, TU_HSAVE0 >> SNP_PAGE_SHIFT);
	KEXPECT(!strcmp(l.rec[0].site, "svm_hardware_setup+0x491/0x9e0 [kvm_amd]"));
	KEXPECT_EQ(l.rec[0].caller, 0xffffffffc03cc521ULL);
	KEXPECT(l.rec[0].have_args && l.rec[0].node == 0 && l.rec[0].gfp == 0xcc0);
	/* a comm with a space and a dash: the pid is still the digits after the last dash */
	KEXPECT_EQ(l.rec[2].pfn, TU_VMCB >> SNP_PAGE_SHIFT);
	KEXPECT(l.rec[2].have_args);
	KEXPECT_EQ(l.rec[3].src, SNP_ALLOC_SRC_PAGE);
	KEXPECT(!strcmp(l.rec[3].site, "kvm_arch_vcpu_create+0x8b/0x330 [kvm]"));
	snp_alloc_log_free(&l);
}

/* The trace of a run: both save areas, one VMCB run on each CPU (twice on one). */
static void write_trace(const char *path, bool vmsa)
{
	struct tu b;

	tu_open(&b, path, 2, SNP_GiB);
	tu_prologue(&b);
	tu_vmrun(&b, 1, TU_VMCB);
	if (vmsa)
		tu_vmrun_page(&b, 1, SNP_TRP_VMSA, 0x5555000ULL);
	tu_vmexit(&b, 1);
	tu_vmrun(&b, 0, TU_VMCB);
	tu_vmexit(&b, 0);
	tu_hsave(&b, 0, 0);       /* KVM turning SVM off: no page */
	tu_close(&b);
}

static void join(const char *log_path, const char *trace_path, struct snp_alloc_log *l,
		 struct snp_provenance *p)
{
	char err[SNP_ALLOC_ERR_LEN] = "";
	int ret;

	read_ok(log_path, l);
	ret = snp_provenance_join(l, trace_path, p, err, sizeof(err));
	if (ret)
		ktap_log("%s", err);
	KASSERT_EQ(ret, 0);
}

static void provenance_yes(void)
{
	const char *lp = tu_path("yes.log"), *tp = tu_path("yes.trace");
	struct snp_alloc_log l;
	struct snp_provenance p;

	write_log(lp, true, NULL);
	write_trace(tp, false);
	join(lp, tp, &l, &p);
	KEXPECT_EQ(p.verdict, SNP_PROV_YES);
	KEXPECT_EQ(p.used[SNP_PROV_VMCB], 1);
	KEXPECT_EQ(p.from_allocator[SNP_PROV_VMCB], 1);
	KEXPECT_EQ(p.used[SNP_PROV_HSAVE], 2);
	KEXPECT_EQ(p.from_allocator[SNP_PROV_HSAVE], 2);
	KEXPECT_EQ(p.allocator_pages, 3);
	KEXPECT_EQ(p.nr_missing, 0);
	KEXPECT(!strcmp(snp_prov_verdict_name(p.verdict), "yes"));
	snp_provenance_free(&p);
	snp_alloc_log_free(&l);
}

/*
 * vmcb01 allocations are counted at their call site, one per allocation
 * (issue 25 item 1): the site in svm_vcpu_create whose pages the trace ran
 * as VMCBs, found from the trace; the VMSA's site in the same function is
 * not counted, and a page freed and allocated again counts each time.
 */
static void provenance_counts_vmcb01_allocations(void)
{
	const char *lp = tu_path("v01.log"), *tp = tu_path("v01.trace");
	const uint64_t vmcb01_ret = 0xffffffffc03997f3ULL, vmsa_ret = 0xffffffffc039983bULL;
	struct snp_alloc_log l;
	struct snp_provenance p;
	char *extra = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&extra, &len);

	KASSERT(f);
	put_entry(f, 181, "workload");       /* the same VMCB page, freed and taken again */
	put_return(f, 181, "workload", "svm_vcpu_create+0x23/0x180 [kvm_amd]", vmcb01_ret, NULL,
		   PAGE_OF(TU_VMCB));
	put_entry(f, 181, "workload");       /* an SEV-ES VMSA: the other site, aligned */
	put_return(f, 181, "workload", "svm_vcpu_create+0x6b/0x180 [kvm_amd]", vmsa_ret, NULL,
		   PAGE_OF(0x600000ULL));
	put_entry(f, 182, "workload");       /* a vmcb01 no VMRUN used, not aligned, on CPU 1 */
	ret_cpu = 1;
	put_return(f, 182, "workload", "svm_vcpu_create+0x23/0x180 [kvm_amd]", vmcb01_ret, NULL,
		   PAGE_OF(0x401000ULL));
	ret_cpu = 0;
	fclose(f);
	write_log(lp, true, extra);
	free(extra);
	write_trace(tp, false);
	join(lp, tp, &l, &p);
	KASSERT(p.vmcb01.found);
	KEXPECT(!strcmp(p.vmcb01.site, "svm_vcpu_create+0x23/0x180 [kvm_amd]"));
	KEXPECT(p.vmcb01.caller == vmcb01_ret);
	KEXPECT_EQ(p.vmcb01.src, SNP_ALLOC_SRC_SAFE);
	KEXPECT_EQ(p.vmcb01.allocs, 3);
	KEXPECT_EQ(p.vmcb01.aligned, 2);
	KEXPECT_EQ(p.vmcb01.as_vmcb, 2);
	/* each by the CPU of its line: the VMM's (KVM_CREATE_VCPU), for the model's VMM CPUs */
	KEXPECT_EQ(p.vmcb01.by_cpu[0], 2);
	KEXPECT_EQ(p.vmcb01.by_cpu[1], 1);
	/* the trace's unit: distinct VMCBs */
	KEXPECT_EQ(p.used[SNP_PROV_VMCB], 1);
	snp_provenance_free(&p);
	snp_alloc_log_free(&l);
	/* No VMCB in the trace (no VMRUN): no site, nothing counted. */
	{
		char log2[256], trace2[256];
		struct tu b;

		snprintf(log2, sizeof(log2), "%s", tu_path("v01b.log"));
		snprintf(trace2, sizeof(trace2), "%s", tu_path("novmrun.trace"));
		write_log(log2, true, NULL);
		tu_open(&b, trace2, 2, SNP_GiB);
		tu_prologue(&b);
		tu_close(&b);
		join(log2, trace2, &l, &p);
	}
	KEXPECT(!p.vmcb01.found && p.vmcb01.allocs == 0);
	snp_provenance_free(&p);
	snp_alloc_log_free(&l);
}

/*
 * The VMCB came from alloc_pages to svm_vcpu_create, not from the allocator:
 * no, with its address, that it is 2MB-aligned, and the call site.  A VMSA
 * no probe saw is named with no call site.
 */
static void provenance_no_names_page_and_site(void)
{
	const char *lp = tu_path("no.log"), *tp = tu_path("no.trace");
	struct snp_alloc_log l;
	struct snp_provenance p;

	write_log(lp, false, NULL);
	write_trace(tp, true);
	join(lp, tp, &l, &p);
	KEXPECT_EQ(p.verdict, SNP_PROV_NO);
	KEXPECT_EQ(p.from_allocator[SNP_PROV_HSAVE], 2);
	KEXPECT_EQ(p.from_allocator[SNP_PROV_VMCB], 0);
	KASSERT_EQ(p.nr_missing, 2);
	KEXPECT_EQ(p.missing[0].kind, SNP_PROV_VMCB);
	KEXPECT_EQ(snp_pfn_to_phys(p.missing[0].pfn), TU_VMCB);
	KEXPECT(snp_pfn_2m_aligned(p.missing[0].pfn));
	KEXPECT(p.missing[0].have_site);
	KEXPECT(!strcmp(p.missing[0].site, "svm_vcpu_create+0x1a/0x180 [kvm_amd]"));
	KEXPECT_EQ(p.missing[0].caller, 0xffffffffc03997eaULL);
	KEXPECT_EQ(p.missing[1].kind, SNP_PROV_VMSA);
	KEXPECT_EQ(snp_pfn_to_phys(p.missing[1].pfn), 0x5555000ULL);
	KEXPECT(!p.missing[1].have_site);
	snp_provenance_free(&p);
	snp_alloc_log_free(&l);
}

/* Each sign of a lost event makes the answer "cannot say", never yes. */
static void provenance_lost_events_cannot_say(void)
{
	static const struct {
		const char *extra;       /* before trace-end */
		const char *header_from, *header_to;
		uint64_t lost;
	} c[] = {
		{ "CPU:1 [LOST 3 EVENTS]\n", NULL, NULL, 3 },
		{ "CPU:0 [LOST EVENTS]\n", NULL, NULL, 1 },
		/* the ring buffer overwrote 2 events */
		{ NULL, "7/7", "7/9", 2 },
		/* the return probe missed a call (kretprobe instances ran out) */
		{ NULL, "alloc_ret hits 3 misses 0", "alloc_ret hits 3 misses 1", 1 },
		/* a return whose entry is not in the buffer */
		{ "            kworker-9     [000] .....    20.000001: alloc_ret: (svm_vcpu_create+0x23/0x180 "
		  "[kvm_amd] <ffffffffc03997f3> <- snp_safe_alloc_page_node <ffffffffc03aba24>) "
		  "page=0xffffea00001c0000 vmemmap=0xffffea0000000000\n", NULL, NULL, 1 },
		/* an entry whose return is not */
		{ "            kworker-9     [000] .....    20.000001: alloc_in: (snp_safe_alloc_page_node+0x4/0x160 "
		  "[kvm_amd] <ffffffffc03aba24>) node=0 gfp=0xcc0\n", NULL, NULL, 1 },
	};
	const char *lp = tu_path("lost.log"), *tp = tu_path("lost.trace");

	write_trace(tp, false);
	for (size_t i = 0; i < KTAP_ARRAY_SIZE(c); i++) {
		struct snp_alloc_log l;
		struct snp_provenance p;

		write_log(lp, true, c[i].extra);
		if (c[i].header_from) {
			char cmd[512];

			snprintf(cmd, sizeof(cmd), "sed -i 's#%s#%s#' '%s'", c[i].header_from,
				 c[i].header_to, lp);
			KASSERT_EQ(system(cmd), 0);
		}
		join(lp, tp, &l, &p);
		if (p.verdict != SNP_PROV_CANNOT_SAY || p.lost != c[i].lost)
			ktap_fail(__FILE__, __LINE__, "case %zu: verdict %s, %llu lost (want %llu)", i,
				  snp_prov_verdict_name(p.verdict), (unsigned long long)p.lost,
				  (unsigned long long)c[i].lost);
		KEXPECT(strstr(p.why, "lost"));
		snp_provenance_free(&p);
		snp_alloc_log_free(&l);
	}
}

/* 6.1: no allocator; the pages are still named, with their call sites. */
static void provenance_no_allocator(void)
{
	const char *lp = tu_path("none.log"), *tp = tu_path("none.trace");
	struct snp_alloc_log l;
	struct snp_provenance p;
	FILE *f = fopen(lp, "w");

	KASSERT(f);
	fputs("snpsafe-alloc 1\nallocator none\npool none\ntrace-begin\n", f);
	put_return(f, 179, "workload", "svm_vcpu_create+0x1a/0x180 [kvm_amd]", 0xffffffffc03997eaULL,
		   "alloc_pages", PAGE_OF(TU_VMCB));
	fputs(footer, f);
	fclose(f);
	write_trace(tp, false);
	join(lp, tp, &l, &p);
	KEXPECT_EQ(p.verdict, SNP_PROV_NO_ALLOCATOR);
	KEXPECT(!strcmp(snp_prov_verdict_name(p.verdict), "no SNP-safe allocator in this kernel"));
	KEXPECT_EQ(p.nr_missing, 3);
	KEXPECT(p.nr_missing && p.missing[0].have_site && !p.missing[1].have_site);
	snp_provenance_free(&p);
	snp_alloc_log_free(&l);
}

/* The pool's debugfs lines, per node and added up; and the default vmemmap_base. */
static void alloclog_pool_and_vmemmap(void)
{
	const char *p = tu_path("pool.log");
	struct snp_alloc_log l;
	struct snp_pool_node t;
	FILE *f = fopen(p, "w");

	KASSERT(f);
	fputs("snpsafe-alloc 1\nallocator kvm_amd:snp_safe_alloc_page_node\n"
	      "pool node 0 parked 3 peak 5 given_back 2 fallbacks 1\n"
	      "pool node 1 parked 0 peak 1 given_back 1 fallbacks 0\n"
	      "trace-begin\n"
	      "          insmod-1 [000] 1.000000: alloc_in: (snp_safe_alloc_page_node+0x4/0x160 [kvm_amd]) "
	      "node=-1 gfp=0xcc0\n"
	      "          insmod-1 [000] 1.000001: alloc_ret: (svm_hardware_setup+0x491/0x9e0 [kvm_amd] <- "
	      "snp_safe_alloc_page_node) page=0xffffea0000000fc0\n"
	      "trace-end\nend\n", f);
	fclose(f);
	read_ok(p, &l);
	KEXPECT(l.pool_present);
	KEXPECT_EQ(l.nr_pool, 2);
	snp_alloc_log_pool_total(&l, &t);
	KEXPECT(t.parked == 3 && t.peak == 6 && t.given_back == 3 && t.fallbacks == 1);
	/* No irq-info column, no sym-addr: the header still reads, with no caller address. */
	KASSERT_EQ(l.nr_rec, 1);
	KEXPECT(!l.vmemmap_from_kernel && l.vmemmap_base == SNP_VMEMMAP_BASE_L4);
	KEXPECT_EQ(l.rec[0].pfn, 0x3f);
	KEXPECT_EQ(l.rec[0].caller, 0);
	KEXPECT_EQ(l.rec[0].node, -1);
	KEXPECT(!strcmp(l.rec[0].site, "svm_hardware_setup+0x491/0x9e0 [kvm_amd]"));
	KEXPECT(!l.mem[SNP_MEM_BEFORE_LOAD].valid);
	snp_alloc_log_free(&l);
}

/* Write text as the log at path and expect it refused with want in a one-line reason. */
static void expect_bad(const char *path, const char *text, const char *want)
{
	char err[SNP_ALLOC_ERR_LEN] = "";
	struct snp_alloc_log l;
	int ret;

	tu_write_bytes(path, text, strlen(text));
	ret = snp_alloc_log_read(path, &l, err, sizeof(err));
	if (ret >= 0 || !strstr(err, want) || strchr(err, '\n'))
		ktap_fail(__FILE__, __LINE__, "log %.40s...: ret %d, error '%s' (want '%s')", text, ret,
			  err, want);
	snp_alloc_log_free(&l);
}

static void alloclog_bad_files(void)
{
	const char *p = tu_path("bad.log");
	char err[SNP_ALLOC_ERR_LEN] = "";
	struct snp_alloc_log l;

	expect_bad(p, "", "empty");
	expect_bad(p, "\n\n", "empty");
	expect_bad(p, "hello\n", "not an allocation log");
	expect_bad(p, "snpsafe-alloc 2\n", "version 2");
	expect_bad(p, "snpsafe-alloc 1\nallocator none\n", "cut short");
	expect_bad(p, "snpsafe-alloc 1\nallocator none\ntrace-begin\n# x\n", "no 'trace-end'");
	expect_bad(p, "snpsafe-alloc 1\nallocator none\nend\n", "no 'trace-begin'");
	expect_bad(p, "snpsafe-alloc 1\ntrace-begin\ntrace-end\nend\n", "no 'allocator'");
	expect_bad(p, "snpsafe-alloc 1\nfrobnicate 3\n", "line 2: unknown line 'frobnicate'");
	expect_bad(p, "snpsafe-alloc 1\nmem before_load free_pages x pcp_pages 1\n", "bad page count");
	expect_bad(p, "snpsafe-alloc 1\nmem later free_pages 1 pcp_pages 1\n", "unknown stage");
	expect_bad(p, "snpsafe-alloc 1\nmem before_load free_pages 1 pcp_pages 1 slab 3\n", "[slab_pages N]");
	expect_bad(p, "snpsafe-alloc 1\nmem\n", "expected 'mem STAGE");
	expect_bad(p, "snpsafe-alloc 1\nprobe a hits 1\n", "probe NAME hits");
	expect_bad(p, "snpsafe-alloc 1\npool node 0 parked 9 peak 1 given_back 0 fallbacks 0\n",
		   "below parked");
	expect_bad(p, "snpsafe-alloc 1\npool none\npool node 0 parked 0 peak 0 given_back 0 fallbacks 0\n",
		   "after 'pool none'");
	expect_bad(p, "snpsafe-alloc 1\npool node 99 parked 0 peak 0 given_back 0 fallbacks 0\n",
		   "at most 64 nodes");
	expect_bad(p, "snpsafe-alloc 1\nunload kvm maybe\n", "ok|failed");
	expect_bad(p, "snpsafe-alloc 1\nallocator none\ntrace-begin\ntrace-end\nend\nmore\n",
		   "after 'end'");
	expect_bad(p, "snpsafe-alloc 1\nallocator none\ntrace-begin\nrandom words\n", "line 4: not a trace line");
	/* A page pointer that is not a struct page (misaligned), then one below the vmemmap. */
	expect_bad(p, "snpsafe-alloc 1\nallocator x\ntrace-begin\n  a-1 [000] 1.0: alloc_ret: (f+0x1/0x2 <- g) "
		      "page=0xffffea0000000010\n", "not a struct page of the vmemmap at 0xffffea0000000000");
	expect_bad(p, "snpsafe-alloc 1\nallocator x\ntrace-begin\n  a-1 [000] 1.0: pg_x: (f+0x1/0x2 <- g) "
		      "page=0x1000\n", "line 4: page 0x1000");
	expect_bad(p, "snpsafe-alloc 1\nallocator x\ntrace-begin\n  a-1 [000] 1.0: pg_x: (f+0x1/0x2 <- g) "
		      "node=1\n", "without page=");
	expect_bad(p, "snpsafe-alloc 1\nallocator x\ntrace-begin\n  a-1 [000] 1.0: alloc_in: f+0x1 node=1\n",
		   "cannot read the header of alloc_in");
	expect_bad(p, "snpsafe-alloc 1\nallocator x\ntrace-begin\n  a-1 [000] 1.0: alloc_ret: (f <- g) "
		      "page=0xffffea0000000040 vmemmap=0xffffea0000000000\n  a-1 [000] 1.0: alloc_ret: "
		      "(f <- g) page=0xffffea0000000040 vmemmap=0xffffea0000001000\n", "differs");
	tu_write_bytes(p, "snpsafe-alloc 1\n\0\n", 18);
	KEXPECT(snp_alloc_log_read(p, &l, err, sizeof(err)) < 0 && strstr(err, "NUL"));
	snp_alloc_log_free(&l);
	KEXPECT(snp_alloc_log_read(tu_path("absent.log"), &l, err, sizeof(err)) == SNP_ENOENT &&
		strstr(err, "absent.log"));
	snp_alloc_log_free(&l);
}

/* Other events in the instance are counted and skipped; a trace that is bad is refused. */
static void provenance_bad_trace(void)
{
	const char *lp = tu_path("t.log"), *tp = tu_path("t.trace");
	char err[SNP_ALLOC_ERR_LEN] = "";
	struct snp_alloc_log l;
	struct snp_provenance p;

	write_log(lp, true, "       workload-7     [000] .....    20.0: sched_switch: prev=a next=b\n");
	read_ok(lp, &l);
	KEXPECT_EQ(l.other_events, 1);
	tu_write_bytes(tp, "not a trace", 11);
	KEXPECT(snp_provenance_join(&l, tp, &p, err, sizeof(err)) < 0 && strstr(err, tp));
	snp_provenance_free(&p);
	snp_alloc_log_free(&l);
	tu_dir_teardown();
}

static const struct ktap_case cases[] = {
	KTAP_CASE(alloclog_reads_a_run),
	KTAP_CASE(provenance_yes),
	KTAP_CASE(provenance_counts_vmcb01_allocations),
	KTAP_CASE(provenance_no_names_page_and_site),
	KTAP_CASE(provenance_lost_events_cannot_say),
	KTAP_CASE(provenance_no_allocator),
	KTAP_CASE(alloclog_pool_and_vmemmap),
	KTAP_CASE(alloclog_bad_files),
	KTAP_CASE(provenance_bad_trace),
};

int main(void)
{
	tu_dir_setup("provenance");
	return ktap_main("provenance", cases, KTAP_ARRAY_SIZE(cases));
}
