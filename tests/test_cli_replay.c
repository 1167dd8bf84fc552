// SPDX-License-Identifier: MIT
/*
 * test_cli_replay.c - the built command's `replay`: the changelog's steps as
 * a trace give the oops with the storing function and the VMRUN, in text and
 * JSON; profile and knobs change the verdict; a trace that takes an RMP #PF
 * exits 1, as a checker's finding, one that does not 0, output that cannot
 * be written 3; and every bad trace or option is one stderr line with exit 2
 * naming the file once, a folder and an empty file each with their reason.
 */
#include "cli_util.h"
#include "json_lite.h"
#include "trace_util.h"
#include <snpsafe/replay.h>

#include <math.h>

static struct cli_run replay(const char *fmt, const char *path)
{
	char args[512];

	snprintf(args, sizeof(args), fmt, path);
	return cli_run(args);
}

static double num(const struct jl *o, const char *key)
{
	const struct jl *v = o ? jl_get(o, key) : NULL;

	if (!v || v->type != JL_NUM) {
		ktap_fail(__FILE__, __LINE__, "key '%s' missing or not a number", key);
		return NAN;
	}
	return v->num;
}

static bool is_true(const struct jl *v)
{
	return v && v->type == JL_BOOL && v->boolean;
}

static void cli_replay_text(void)
{
	const char *p = tu_path("changelog.trace");
	struct cli_run r;

	tu_write_changelog(p, SNP_TRL_1G);
	r = replay("replay %s", p);
	KEXPECT_EQ(r.status, 1);   /* a finding: a possible fault */
	/* Bounds: CPU 0 may hold the region's 2M entry from before the mark, so possible only. */
	KEXPECT(strstr(r.out, "verdict under early-snp: RMP #PF proven 0, possible 1\n"));
	KEXPECT(strstr(r.out, "proven..possible: spurious (in-use erratum) 0..1, real 0..0\n"));
	KEXPECT(strstr(r.out, "by rule: ERRATUM_2M_BASE_INUSE 0..1\n"));
	KEXPECT(strstr(r.out, "model: 1 (1 spurious) with a TLB of 2112 entries per CPU (milan, Zen 3: "
			"64 L1 + 2048 L2 data entries)"));
	KEXPECT(strstr(r.out, "report 1 (possible: the CPU may hold the entry: no recorded flush since "
			"it could last have filled it; the modeled TLB faulted too):"));
	KEXPECT(strstr(r.out, "TLB_CONTROL at VMRUN: 0 flushed the whole TLB"));
	KEXPECT(strstr(r.out, "BUG: unable to handle page fault for address: ffff888000401008"));
	KEXPECT(strstr(r.out, "error_code(0x80000003) - RMP violation"));
	KEXPECT(strstr(r.out, "stored by memset_orig+0x567"));
	KEXPECT(strstr(r.out, "VMRUN of VMCB 0x400000 on CPU 1 (in guest mode)"));
	KEXPECT(strstr(r.out, "t=0.000006000 s"));
	KEXPECT(strstr(r.out, "IN-USE"));
	KEXPECT_EQ(strlen(r.err), 0);
	cli_run_free(&r);
	r = replay("replay %s --profile fixed", p);
	KEXPECT_EQ(r.status, 0);
	KEXPECT(strstr(r.out, "verdict under fixed: RMP #PF proven 0, possible 0\n"));
	KEXPECT(!strstr(r.out, "BUG:"));
	cli_run_free(&r);
	/* A knob before the profile still applies. */
	r = replay("replay %s --knob inuse_erratum=1 --profile fixed --max-reports 0", p);
	KEXPECT_EQ(r.status, 1);   /* a finding: a possible fault */
	KEXPECT(strstr(r.out, "verdict under fixed: RMP #PF proven 0, possible 1\n"));
	KEXPECT(strstr(r.out, "; profile fixed with inuse_erratum=on\n"));
	KEXPECT(!strstr(r.out, "BUG:"));
	cli_run_free(&r);
}

static void cli_replay_json(void)
{
	const char *p = tu_path("changelog.trace");
	const struct jl *rep, *fn;
	struct jl *doc;
	struct cli_run r;

	tu_write_changelog(p, SNP_TRL_1G);
	r = replay("replay %s --json", p);
	KEXPECT_EQ(r.status, 1);
	doc = jl_parse(r.out);
	cli_run_free(&r);
	KASSERT(doc);
	KEXPECT_EQ(num(jl_get(doc, "faults"), "proven"), 0);
	KEXPECT_EQ(num(jl_get(doc, "faults"), "possible"), 1);
	KEXPECT_EQ(num(jl_get(doc, "spurious"), "possible"), 1);
	KEXPECT_EQ(num(jl_get(doc, "real"), "possible"), 0);
	KEXPECT_EQ(num(jl_get(jl_get(doc, "by_rule"), "ERRATUM_2M_BASE_INUSE"), "possible"), 1);
	KEXPECT_EQ(num(jl_get(jl_get(doc, "by_kind"), "VMCB"), "proven"), 0);
	KEXPECT_EQ(num(jl_get(doc, "model"), "faults"), 1);
	KEXPECT_EQ(num(jl_get(doc, "model"), "tlb_entries"), 2112);
	KEXPECT(is_true(jl_get(doc, "possible_complete")));
	KEXPECT(is_true(jl_get(jl_get(doc, "tlb_control"), "recorded")));
	KEXPECT_EQ(num(jl_get(doc, "events"), "stores"), 1);
	fn = jl_at(jl_get(doc, "functions"), 0);
	KASSERT(fn);
	KEXPECT(!strcmp(jl_get(fn, "name")->str, "memset_orig"));
	KEXPECT_EQ(num(jl_get(fn, "faults"), "possible"), 1);
	KEXPECT_EQ(num(jl_get(fn, "faults"), "proven"), 0);
	rep = jl_at(jl_get(doc, "reports"), 0);
	KASSERT(rep);
	KEXPECT(jl_get(rep, "vmcb_pa") && jl_get(rep, "vmcb_pa")->type == JL_STR &&
		!strcmp(jl_get(rep, "vmcb_pa")->str, "0x400000"));   /* the JSON contract: hex */
	KEXPECT_EQ(num(rep, "vmrun_cpu"), 1);
	KEXPECT_EQ(num(rep, "t_ns"), 6000);
	KEXPECT_EQ(num(rep, "cpu"), 0);
	KEXPECT(!strcmp(jl_get(rep, "function")->str, "memset_orig+0x567"));
	KEXPECT(!strcmp(jl_get(rep, "inuse_kind")->str, "VMCB"));
	KEXPECT(!strcmp(jl_get(rep, "bound")->str, "possible"));
	KEXPECT(strstr(jl_get(rep, "why")->str, "may hold the entry"));
	KEXPECT(is_true(jl_get(rep, "model_faulted")));
	jl_free(doc);
	/* 4K leaf: no fault, no report. */
	tu_write_changelog(p, SNP_TRL_4K);
	r = replay("replay %s --json", p);
	KEXPECT_EQ(r.status, 0);
	doc = jl_parse(r.out);
	cli_run_free(&r);
	KASSERT(doc);
	KEXPECT_EQ(num(jl_get(doc, "faults"), "possible"), 0);
	KEXPECT_EQ(jl_len(jl_get(doc, "reports")), 0);
	jl_free(doc);
	/* The knobs in force, as simulate and repro print them (issue 23). */
	tu_write_changelog(p, SNP_TRL_1G);
	r = replay("replay %s --json --knob hv_inuse_wr_fixes_erratum=0 --profile hv-inuse-wr", p);
	doc = jl_parse(r.out);
	cli_run_free(&r);
	KASSERT(doc && jl_get(doc, "knobs") && jl_get(doc, "knobs")->type == JL_OBJ);
	KEXPECT_EQ(num(jl_get(doc, "spurious"), "possible"), 1);
	KEXPECT_EQ(jl_len(jl_get(doc, "knobs")), 1);
	fn = jl_get(jl_get(doc, "knobs"), "hv_inuse_wr_fixes_erratum");
	KEXPECT(fn && fn->type == JL_STR && !strcmp(fn->str, "off"));
	jl_free(doc);
}

/*
 * The changelog's steps with an INVLPG of the region on CPU 0 after the
 * VMRUN, in a trace of format version (0: current): the fill is forced.
 */
static void write_flushed(const char *p, uint32_t version)
{
	struct tu b;

	tu_open_ex(&b, p, 2, SNP_GiB, version, SNP_TRACE_FILTER_INGUEST);
	tu_prologue(&b);
	tu_vmrun(&b, 1, TU_VMCB);
	tu_flush(&b, 0, SNP_TRF_INVLPG, TU_DMAP_BASE + TU_NEIGHBOUR, 0, 0);
	tu_store(&b, 0, TU_NEIGHBOUR, 8, SNP_TRL_1G, TU_PC_MEMSET);
	tu_vmexit(&b, 1);
	tu_close(&b);
}

/* A proven fault: text and JSON say so, in the counts and on the report. */
static void cli_replay_proven(void)
{
	const char *p = tu_path("flushed.trace");
	const struct jl *rep;
	struct cli_run r;
	struct jl *doc;

	write_flushed(p, 0);
	r = replay("replay %s", p);
	KEXPECT_EQ(r.status, 1);   /* a finding */
	KEXPECT(strstr(r.out, "verdict under early-snp: RMP #PF proven 1, possible 1\n"));
	KEXPECT(strstr(r.out, "by in-use page: VMCB 1..1\n"));
	KEXPECT(strstr(r.out, "report 1 (proven: no entry can serve the store: a fill, checked;"));
	KEXPECT(strstr(r.out, "\n             1..1            1..1          1  memset_orig\n"));
	cli_run_free(&r);
	r = replay("replay %s --json --tlb genoa", p);
	KEXPECT_EQ(r.status, 1);   /* a finding */
	doc = jl_parse(r.out);
	cli_run_free(&r);
	KASSERT(doc);
	KEXPECT_EQ(num(jl_get(doc, "faults"), "proven"), 1);
	KEXPECT_EQ(num(jl_get(doc, "spurious"), "proven"), 1);
	KEXPECT_EQ(num(jl_get(jl_get(doc, "by_rule"), "ERRATUM_2M_BASE_INUSE"), "proven"), 1);
	KEXPECT(!strcmp(jl_get(jl_get(doc, "model"), "tlb_part")->str, "genoa"));
	KEXPECT_EQ(num(jl_get(doc, "model"), "tlb_entries"), 72 + 3072);
	rep = jl_at(jl_get(doc, "reports"), 0);
	KASSERT(rep);
	KEXPECT(!strcmp(jl_get(rep, "bound")->str, "proven"));
	jl_free(doc);
	r = replay("replay %s --tlb-entries 3", p);
	KEXPECT(strstr(r.out, "model: 1 (1 spurious) with a TLB of 3 entries per CPU, empty"));
	cli_run_free(&r);
}

/*
 * CPU 1 runs the VMCB at vmcb n times (VMRUN, #VMEXIT), 1 us a record, and
 * CPU 0 stores to another page of its 2MB region during the last run.
 */
static void write_runs(struct tu *b, uint64_t vmcb, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++) {
		tu_vmrun(b, 1, vmcb);
		if (i == n - 1)
			tu_store(b, 0, vmcb + 0x1008, 8, SNP_TRL_2M, TU_PC_MEMSET);
		tu_vmexit(b, 1);
	}
}

/*
 * A stuck vCPU's VMCB: more than SIM_REPLAY_STUCK_VMRUNS VMRUNs in one
 * second is named, its faults counted apart and its report marked; one at
 * exactly the threshold is not.
 */
static void cli_replay_stuck(void)
{
	const char *p = tu_path("stuck.trace");
	const struct jl *rate, *stuck;
	struct cli_run r;
	struct jl *doc;
	struct tu b;

	tu_open(&b, p, 2, SNP_GiB);
	tu_prologue(&b);
	write_runs(&b, 0x600000, SIM_REPLAY_STUCK_VMRUNS);
	write_runs(&b, TU_VMCB, SIM_REPLAY_STUCK_VMRUNS + 1);
	tu_close(&b);
	r = replay("replay %s --max-reports 2", p);
	KEXPECT_EQ(r.status, 1);   /* a finding */
	KEXPECT(strstr(r.out, "verdict under early-snp: RMP #PF proven 0, possible 2\n"));
	KEXPECT(strstr(r.out, "VMRUN rate: busiest VMCB 0x400000, 4001 VMRUNs in second 0; "
			"1 VMCB(s) above 4000 in a second (a stuck vCPU)\n"));
	KEXPECT(strstr(r.out, "warning: of the faults above, proven..possible 0..1 (model 1) are "
			"on stuck vCPUs' runs (4001 VMRUNs)"));
	KEXPECT(strstr(r.out, "stuck VMCB 0x400000: 4001 VMRUNs, 4001 in second 0; faults 0..1\n"));
	KEXPECT(!strstr(r.out, "stuck VMCB 0x600000"));
	KEXPECT(strstr(r.out, "VMRUN of VMCB 0x600000 on CPU 1 (in guest mode)\n"));
	KEXPECT(strstr(r.out, "VMRUN of VMCB 0x400000 on CPU 1 (in guest mode), a stuck vCPU's VMCB\n"));
	cli_run_free(&r);
	r = replay("replay %s --json --max-reports 2", p);
	doc = jl_parse(r.out);
	cli_run_free(&r);
	KASSERT(doc);
	rate = jl_get(doc, "vmrun_rate");
	KEXPECT_EQ(num(rate, "stuck_above"), SIM_REPLAY_STUCK_VMRUNS);
	KEXPECT_EQ(num(jl_get(rate, "busiest"), "peak"), SIM_REPLAY_STUCK_VMRUNS + 1);
	KEXPECT_EQ(num(jl_get(rate, "stuck_faults"), "possible"), 1);
	KEXPECT_EQ(num(jl_get(rate, "stuck_faults"), "proven"), 0);
	stuck = jl_get(rate, "stuck");
	KEXPECT(jl_at(stuck, 0) && !jl_at(stuck, 1));
	KEXPECT(!strcmp(jl_get(jl_at(stuck, 0), "vmcb_pa")->str, "0x400000"));
	KEXPECT(!is_true(jl_get(jl_at(jl_get(doc, "reports"), 0), "stuck_vmcb")));
	KEXPECT(is_true(jl_get(jl_at(jl_get(doc, "reports"), 1), "stuck_vmcb")));
	jl_free(doc);
	/* A trace without a stuck vCPU says so. */
	tu_write_changelog(p, SNP_TRL_1G);
	r = replay("replay %s", p);
	KEXPECT(strstr(r.out, "VMRUN rate: busiest VMCB 0x400000, 1 VMRUNs in second 0; 0 VMCB(s) "
			"above 4000 in a second (a stuck vCPU)\n"));
	KEXPECT(!strstr(r.out, "stuck VMCB"));
	cli_run_free(&r);
}

/* A version 1 trace (before TLB_CONTROL) replays, and says what it lacks. */
static void cli_replay_old_trace(void)
{
	const char *p = tu_path("v1.trace");
	struct cli_run r;
	struct jl *doc;

	write_flushed(p, 1);
	r = replay("replay %s", p);
	KEXPECT_EQ(r.status, 1);   /* a finding */
	KEXPECT(strstr(r.out, "TLB_CONTROL: not in this trace (format version 1): VMRUN's flushes are not "
			"applied, so fewer faults are proven than it may hold\n"));
	KEXPECT(strstr(r.out, "verdict under early-snp: RMP #PF proven 1, possible 1\n"));
	KEXPECT_EQ(strlen(r.err), 0);
	cli_run_free(&r);
	r = replay("replay %s --json", p);
	doc = jl_parse(r.out);
	cli_run_free(&r);
	KASSERT(doc);
	KEXPECT(jl_get(jl_get(doc, "tlb_control"), "recorded")->type == JL_BOOL &&
		!is_true(jl_get(jl_get(doc, "tlb_control"), "recorded")));
	jl_free(doc);
}

/* Loads are not recorded: inuse_reads_fault=on is refused in one line; marks outliving #VMEXIT warn. */
static void cli_replay_loads_and_knobs(void)
{
	const char *p = tu_path("flushed.trace");
	char args[300];
	struct cli_run r;

	write_flushed(p, 0);
	snprintf(args, sizeof(args), "replay %s --knob inuse_reads_fault=on", p);
	EXPECT_USAGE_ERROR(args, "--knob inuse_reads_fault=on needs recorded loads; this trace records "
			   "stores only");
	r = replay("replay %s --knob inuse_cleared_at_vmexit=off", p);
	KEXPECT_EQ(r.status, 1);   /* a finding */
	KEXPECT(strstr(r.out, "  warning: possible counts recorded stores only: marks outlive #VMEXIT"));
	cli_run_free(&r);
}

/* The changelog trace with one change (see tu_write_changelog_bad): exit 2, one line naming what. */
static void expect_bad(const char *what, size_t at, unsigned char value, size_t cut)
{
	const char *bad = tu_path("bad.trace");
	char args[300];

	tu_write_changelog_bad(bad, at, value, cut);
	snprintf(args, sizeof(args), "replay %s", bad);
	EXPECT_USAGE_ERROR(args, what);
}

static void cli_replay_bad_traces(void)
{
	const char *rnd = tu_path("random.trace");
	unsigned char buf[2048];
	unsigned int seed = 99;
	char args[300];
	const size_t rec3 = TU_CHANGELOG_REC3;

	expect_bad("truncated inside record 3", 0, 'S', rec3 + 11);
	expect_bad("no END record", 0, 'S', rec3 + SNP_TRACE_REC_SIZE);
	expect_bad("bad magic", 0, 'X', 0);
	expect_bad("newer than this snpsafe reads", 8, 7, 0);
	expect_bad("CPU 5 out of range", rec3 + 1, 5, 0);
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (unsigned char)rand_r(&seed);
	tu_write_bytes(rnd, buf, sizeof(buf));
	snprintf(args, sizeof(args), "replay %s", rnd);
	EXPECT_USAGE_ERROR(args, "not a snpsafe trace");
	EXPECT_USAGE_ERROR("replay /nonexistent/x.trace", "No such file");
}

/* stderr of "replay path": one line, exit 2, naming path once and saying why. */
static void expect_bad_file(const char *path, const char *why)
{
	struct cli_run r = replay("replay %s", path);

	if (r.status != 2 || r.out[0] || cli_lines(r.err) != 1 || cli_count(r.err, path) != 1 ||
	    !strstr(r.err, why))
		ktap_fail(__FILE__, __LINE__, "replay %s: status %d, stderr '%s'", path, r.status, r.err);
	cli_run_free(&r);
}

/* A missing file, a folder, an empty or a cut file: each its own line (issue 23). */
static void cli_replay_file_errors(void)
{
	const char *cut = tu_path("cut.trace");

	expect_bad_file("/nonexistent/x.trace", "/nonexistent/x.trace: No such file or directory");
	expect_bad_file(tu_path(""), ": a directory, not a snpsafe trace");
	tu_write_bytes(cut, "", 0);
	expect_bad_file(cut, "cut.trace: empty file (0 bytes), not a snpsafe trace");
	tu_write_bytes(cut, SNP_TRACE_MAGIC, 5);
	expect_bad_file(cut, "cut.trace: truncated header (5 of 64 bytes)");
	tu_write_bytes(cut, "SNPX", 4);
	expect_bad_file(cut, "cut.trace: not a snpsafe trace (bad magic)");
}

/* 1 for a finding, 0 for none, 3 when the verdict could not be written, 1 or not. */
static void cli_replay_exit_codes(void)
{
	const char *p = tu_path("exit.trace");
	char args[300];

	for (int leaf = 0; leaf < 2; leaf++) {
		tu_write_changelog(p, leaf ? SNP_TRL_4K : SNP_TRL_1G);
		for (int json = 0; json < 2; json++) {
			struct cli_run r;

			snprintf(args, sizeof(args), "replay %s%s", p, json ? " --json" : "");
			r = cli_run(args);
			KEXPECT_EQ(r.status, leaf ? 0 : 1);
			cli_run_free(&r);
			cli_expect_write_error(args);
		}
	}
}

/* --help: the usage line names TRACE, and the exit statuses are listed. */
static void cli_replay_help(void)
{
	struct cli_run r = cli_run("replay --help");

	KEXPECT_EQ(r.status, 0);
	KEXPECT(!strncmp(r.out, "usage: snpsafe replay TRACE [options]\n", 38));
	KEXPECT(strstr(r.out, "Exit 0: no RMP #PF possible; 1: the trace\ntakes one, proven or possible") != NULL);
	cli_run_free(&r);
}

static void cli_replay_bad_usage(void)
{
	const char *p = tu_path("changelog.trace");
	char args[300];

	tu_write_changelog(p, SNP_TRL_1G);
	EXPECT_USAGE_ERROR("replay", "needs one TRACE");
	snprintf(args, sizeof(args), "replay %s %s", p, p);
	EXPECT_USAGE_ERROR(args, "unexpected argument");
	snprintf(args, sizeof(args), "replay %s --profile zen9", p);
	EXPECT_USAGE_ERROR(args, "--profile");
	snprintf(args, sizeof(args), "replay %s --knob no_such_knob=1", p);
	EXPECT_USAGE_ERROR(args, "--knob");
	snprintf(args, sizeof(args), "replay %s --max-reports 1001", p);
	EXPECT_USAGE_ERROR(args, "--max-reports");
	snprintf(args, sizeof(args), "replay %s --tlb-entries 0", p);
	EXPECT_USAGE_ERROR(args, "--tlb-entries");
	snprintf(args, sizeof(args), "replay %s --tlb zen9", p);
	EXPECT_USAGE_ERROR(args, "--tlb (valid: milan, genoa)");
}

/*
 * The changelog's region while CPU 1 runs its guest, stored to by the
 * kernel and by watch's own tracing: kprobe_ftrace_handler twice, the ring
 * buffer (a ".constprop.0" copy), an ftrace trampoline; and rb_erase, an
 * rbtree function that shares the ring buffer's "rb_" prefix, and
 * copy_from_kernel_nofault_allowed, whose name extends a listed one: not
 * the tracer's.
 */
static void write_observed(const char *p)
{
	static const struct { uint64_t pc; const char *name; } syms[] = {
		{ 0xffffffff81400000ULL, "kprobe_ftrace_handler" },
		{ 0xffffffff81410000ULL, "__rb_reserve_next.constprop.0" },
		{ 0xffffffff81420000ULL, "rb_erase" },
		{ 0xffffffff81430000ULL, "copy_from_kernel_nofault_allowed" },
		{ 0xffffffffc0201000ULL, "ftrace_trampoline [__builtin__ftrace]" },
	};
	struct tu b;

	tu_open(&b, p, 2, SNP_GiB);
	tu_prologue(&b);
	for (size_t i = 0; i < sizeof(syms) / sizeof(syms[0]); i++)
		tu_sym(&b, syms[i].pc, syms[i].name);
	tu_vmrun(&b, 1, TU_VMCB);
	tu_store(&b, 0, TU_NEIGHBOUR, 8, SNP_TRL_2M, 0xffffffff81400010ULL);
	tu_store(&b, 0, TU_NEIGHBOUR, 8, SNP_TRL_2M, TU_PC_MEMSET);
	tu_store(&b, 0, TU_NEIGHBOUR + 64, 8, SNP_TRL_2M, 0xffffffff81400020ULL);
	tu_store(&b, 0, TU_NEIGHBOUR, 8, SNP_TRL_2M, 0xffffffff81410008ULL);
	tu_store(&b, 0, TU_NEIGHBOUR, 8, SNP_TRL_2M, 0xffffffff81420004ULL);
	tu_store(&b, 0, TU_NEIGHBOUR, 8, SNP_TRL_2M, 0xffffffff81430004ULL);
	/* An INVLPG of the region after the mark: the trampoline's store is a proven fault. */
	tu_flush(&b, 0, SNP_TRF_INVLPG, TU_DMAP_BASE + TU_NEIGHBOUR, 0, 0);
	tu_store(&b, 0, TU_NEIGHBOUR, 8, SNP_TRL_2M, 0xffffffffc0201040ULL);
	tu_vmexit(&b, 1);
	tu_close(&b);
}

/* Faults whose storing function is the tracer's own are labelled and counted apart. */
static void cli_replay_observer(void)
{
	const char *p = tu_path("observed.trace");
	const struct jl *fns, *rep, *o;
	struct cli_run r;
	struct jl *doc;
	bool seen_erase = false, seen_kprobe = false;

	write_observed(p);
	r = replay("replay %s --max-reports 7", p);
	KEXPECT_EQ(r.status, 1);
	KEXPECT(strstr(r.out, "verdict under early-snp: RMP #PF proven 1, possible 7\n"));
	KEXPECT(strstr(r.out, "  of them by the tracer's own functions (4 stores by 3 marked [tracer]: "
			"the watch's probes, src/trace/observer.c): faults 1..4, spurious 1..4; "
			"without them: faults 0..3\n"));
	KEXPECT(strstr(r.out, "  kprobe_ftrace_handler [tracer]\n"));
	KEXPECT(strstr(r.out, "  __rb_reserve_next.constprop.0 [tracer]\n"));
	KEXPECT(strstr(r.out, "             1..1            1..1          1  "
			"ftrace_trampoline [__builtin__ftrace] [tracer]\n"));
	KEXPECT(strstr(r.out, "  rb_erase\n"));
	KEXPECT(strstr(r.out, "  memset_orig\n"));
	KEXPECT(strstr(r.out, "  copy_from_kernel_nofault_allowed\n"));
	/* Report 1 is kprobe_ftrace_handler's, report 2 memset_orig's (a fault fills no entry). */
	KEXPECT(strstr(r.out, "report 1 (possible: the CPU may hold the entry: no recorded flush since "
			"it could last have filled it; the modeled TLB faulted too; a store of the "
			"tracer's own):"));
	KEXPECT(strstr(r.out, "report 2 (possible: the CPU may hold the entry: no recorded flush since "
			"it could last have filled it; the modeled TLB faulted too):\n"));
	cli_run_free(&r);

	r = replay("replay %s --json --max-reports 7", p);
	KEXPECT_EQ(r.status, 1);
	doc = jl_parse(r.out);
	cli_run_free(&r);
	KASSERT(doc);
	o = jl_get(doc, "observer");
	KEXPECT_EQ(num(o, "functions"), 3);
	KEXPECT_EQ(num(o, "stores"), 4);
	KEXPECT_EQ(num(jl_get(o, "faults"), "possible"), 4);
	KEXPECT_EQ(num(jl_get(o, "faults"), "proven"), 1);
	KEXPECT_EQ(num(jl_get(o, "spurious"), "proven"), 1);
	KEXPECT_EQ(num(jl_get(o, "spurious"), "possible"), 4);
	fns = jl_get(doc, "functions");
	KEXPECT_EQ(jl_len(fns), 6);
	for (size_t i = 0; i < jl_len(fns); i++) {
		const struct jl *fn = jl_at(fns, i);
		const char *name = jl_get(fn, "name")->str;
		bool tracer = is_true(jl_get(fn, "observer"));

		KEXPECT_EQ(tracer, strcmp(name, "rb_erase") && strcmp(name, "memset_orig") &&
				   strcmp(name, "copy_from_kernel_nofault_allowed"));
		seen_erase |= !strcmp(name, "rb_erase");
		seen_kprobe |= !strcmp(name, "kprobe_ftrace_handler") &&
			       num(jl_get(fn, "faults"), "possible") == 2;
	}
	KEXPECT(seen_erase && seen_kprobe);
	KEXPECT_EQ(jl_len(jl_get(doc, "reports")), 7);
	for (size_t i = 0; i < jl_len(jl_get(doc, "reports")); i++) {
		const char *fn;

		rep = jl_at(jl_get(doc, "reports"), i);
		fn = jl_get(rep, "function")->str;
		KEXPECT_EQ(is_true(jl_get(rep, "observer")),
			   strncmp(fn, "memset_orig+", 12) && strncmp(fn, "rb_erase+", 9) &&
			   strncmp(fn, "copy_from_kernel_nofault_allowed+", 33));
	}
	jl_free(doc);

	/* Without the tracer's functions the line is not printed and the count is 0. */
	tu_write_changelog(p, SNP_TRL_2M);
	r = replay("replay %s", p);
	KEXPECT(!strstr(r.out, "tracer"));
	cli_run_free(&r);
}

static const struct ktap_case cases[] = {
	KTAP_CASE(cli_replay_text),
	KTAP_CASE(cli_replay_json),
	KTAP_CASE(cli_replay_proven),
	KTAP_CASE(cli_replay_stuck),
	KTAP_CASE(cli_replay_observer),
	KTAP_CASE(cli_replay_old_trace),
	KTAP_CASE(cli_replay_loads_and_knobs),
	KTAP_CASE(cli_replay_bad_traces),
	KTAP_CASE(cli_replay_file_errors),
	KTAP_CASE(cli_replay_exit_codes),
	KTAP_CASE(cli_replay_help),
	KTAP_CASE(cli_replay_bad_usage),
	{ "teardown_case", tu_dir_teardown, 0 },
};

int main(void)
{
	tu_dir_setup("snpsafe-test-cli-replay");
	return ktap_main("cli_replay", cases, KTAP_ARRAY_SIZE(cases));
}
