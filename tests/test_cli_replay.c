// SPDX-License-Identifier: MIT
/*
 * test_cli_replay.c - the built command's `replay`: the changelog's steps as
 * a trace give the oops with the storing function and the VMRUN, in text and
 * JSON; profile and knobs change the verdict; and every bad trace or option
 * is one stderr line with exit 2.
 */
#include "cli_util.h"
#include "json_lite.h"
#include "trace_util.h"

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

static void cli_replay_text(void)
{
	const char *p = tu_path("changelog.trace");
	struct cli_run r;

	tu_write_changelog(p, SNP_TRL_1G);
	r = replay("replay %s", p);
	KEXPECT_EQ(r.status, 0);
	KEXPECT(strstr(r.out, "verdict: 1 RMP #PF under early-snp: 1 spurious (in-use erratum), 0 real"));
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
	KEXPECT(strstr(r.out, "verdict: 0 RMP #PF under fixed"));
	KEXPECT(!strstr(r.out, "BUG:"));
	cli_run_free(&r);
	/* A knob before the profile still applies. */
	r = replay("replay %s --knob inuse_erratum=1 --profile fixed --max-reports 0", p);
	KEXPECT_EQ(r.status, 0);
	KEXPECT(strstr(r.out, "verdict: 1 RMP #PF under fixed"));
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
	KEXPECT_EQ(r.status, 0);
	doc = jl_parse(r.out);
	cli_run_free(&r);
	KASSERT(doc);
	KEXPECT_EQ(num(doc, "faults"), 1);
	KEXPECT_EQ(num(doc, "spurious"), 1);
	KEXPECT_EQ(num(doc, "real"), 0);
	KEXPECT_EQ(num(jl_get(doc, "by_rule"), "ERRATUM_2M_BASE_INUSE"), 1);
	KEXPECT_EQ(num(jl_get(doc, "by_kind"), "VMCB"), 1);
	KEXPECT_EQ(num(jl_get(doc, "events"), "stores"), 1);
	fn = jl_at(jl_get(doc, "functions"), 0);
	KASSERT(fn);
	KEXPECT(!strcmp(jl_get(fn, "name")->str, "memset_orig"));
	KEXPECT_EQ(num(fn, "faults"), 1);
	rep = jl_at(jl_get(doc, "reports"), 0);
	KASSERT(rep);
	KEXPECT(jl_get(rep, "vmcb_pa") && jl_get(rep, "vmcb_pa")->type == JL_STR &&
		!strcmp(jl_get(rep, "vmcb_pa")->str, "0x400000"));   /* the JSON contract: hex */
	KEXPECT_EQ(num(rep, "vmrun_cpu"), 1);
	KEXPECT_EQ(num(rep, "t_ns"), 6000);
	KEXPECT_EQ(num(rep, "cpu"), 0);
	KEXPECT(!strcmp(jl_get(rep, "function")->str, "memset_orig+0x567"));
	KEXPECT(!strcmp(jl_get(rep, "inuse_kind")->str, "VMCB"));
	jl_free(doc);
	/* 4K leaf: no fault, no report. */
	tu_write_changelog(p, SNP_TRL_4K);
	r = replay("replay %s --json", p);
	doc = jl_parse(r.out);
	cli_run_free(&r);
	KASSERT(doc);
	KEXPECT_EQ(num(doc, "faults"), 0);
	KEXPECT_EQ(jl_len(jl_get(doc, "reports")), 0);
	jl_free(doc);
	/* The knobs in force, as simulate and repro print them (issue 23). */
	tu_write_changelog(p, SNP_TRL_1G);
	r = replay("replay %s --json --knob hv_inuse_wr_fixes_erratum=0 --profile hv-inuse-wr", p);
	doc = jl_parse(r.out);
	cli_run_free(&r);
	KASSERT(doc && jl_get(doc, "knobs") && jl_get(doc, "knobs")->type == JL_OBJ);
	KEXPECT_EQ(num(doc, "spurious"), 1);
	KEXPECT_EQ(jl_len(jl_get(doc, "knobs")), 1);
	fn = jl_get(jl_get(doc, "knobs"), "hv_inuse_wr_fixes_erratum");
	KEXPECT(fn && fn->type == JL_STR && !strcmp(fn->str, "off"));
	jl_free(doc);
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
}

static const struct ktap_case cases[] = {
	KTAP_CASE(cli_replay_text),
	KTAP_CASE(cli_replay_json),
	KTAP_CASE(cli_replay_bad_traces),
	KTAP_CASE(cli_replay_bad_usage),
	{ "teardown_case", tu_dir_teardown, 0 },
};

int main(void)
{
	tu_dir_setup("snpsafe-test-cli-replay");
	return ktap_main("cli_replay", cases, KTAP_ARRAY_SIZE(cases));
}
