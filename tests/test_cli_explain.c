// SPDX-License-Identifier: MIT
/*
 * test_cli_explain.c - the built command: top-level usage, bad input, and
 * `snpsafe explain` text and JSON, with the experiments' outcomes asserted.
 */
#include "cli_util.h"
#include "json_lite.h"

static void test_top_level_usage(void)
{
	struct cli_run r = cli_run("--help");

	KEXPECT_EQ(r.status, 0);
	KEXPECT(strstr(r.out, "repro") && strstr(r.out, "simulate") && strstr(r.out, "explain") &&
		strstr(r.out, "bench"));
	cli_run_free(&r);
	r = cli_run("--version");
	KEXPECT_EQ(r.status, 0);
	KEXPECT(!strncmp(r.out, "snpsafe ", 8));
	cli_run_free(&r);
	r = cli_run("");
	KEXPECT_EQ(r.status, 2);
	cli_run_free(&r);
	EXPECT_USAGE_ERROR("frobnicate", "frobnicate");
}

static void test_explain_bad_input(void)
{
	EXPECT_USAGE_ERROR("explain nosuch", "nosuch");
	EXPECT_USAGE_ERROR("explain --bogus", "--bogus");
	EXPECT_USAGE_ERROR("explain -x", "-x");
	EXPECT_USAGE_ERROR("explain --json=yes", "--json");
	EXPECT_USAGE_ERROR("explain visible vmexit", "vmexit");
}

static void test_explain_help(void)
{
	struct cli_run r = cli_run("explain --help");

	KEXPECT_EQ(r.status, 0);
	KEXPECT(strstr(r.out, "usage: snpsafe explain") != NULL);
	KEXPECT(strstr(r.out, "--json") != NULL);
	cli_run_free(&r);
}

static void test_explain_text_all(void)
{
	static const char *const ids[] = { "uncovered", "visible", "rmpupdate-race", "writes-only",
					    "unaligned", "stale-tlb", "all-vms", "vmexit",
					    "hv-inuse-wr", "pml" };
	struct cli_run r = cli_run("explain");

	KEXPECT_EQ(r.status, 0);
	for (unsigned int i = 0; i < KTAP_ARRAY_SIZE(ids); i++) {
		char tag[40];

		snprintf(tag, sizeof(tag), "[%s]", ids[i]);
		if (!strstr(r.out, tag))
			ktap_fail(__FILE__, __LINE__, "explain output lacks %s", tag);
	}
	KEXPECT(strstr(r.out, "documented") && strstr(r.out, "assumed"));
	cli_run_free(&r);
}

/* The outcome whose setting starts with prefix, in question id. */
static const char *outcome_result(const struct jl *doc, const char *id, const char *prefix)
{
	const struct jl *qs = jl_get(doc, "questions");

	for (unsigned int i = 0; i < jl_len(qs); i++) {
		const struct jl *q = jl_at(qs, i), *os = jl_get(q, "outcomes");

		if (strcmp(jl_get(q, "id")->str, id))
			continue;
		for (unsigned int k = 0; k < jl_len(os); k++) {
			const struct jl *o = jl_at(os, k);

			if (!strncmp(jl_get(o, "setting")->str, prefix, strlen(prefix)))
				return jl_get(o, "result")->str;
		}
	}
	return "";
}

static void test_explain_json_contract_and_answers(void)
{
	struct cli_run r = cli_run("explain all --json");
	struct jl *doc = jl_parse(r.out);
	const struct jl *qs;

	KEXPECT_EQ(r.status, 0);
	KASSERT(doc != NULL);
	qs = jl_get(doc, "questions");
	KASSERT(qs && qs->type == JL_ARR);
	KEXPECT_EQ(jl_len(qs), 10);
	for (unsigned int i = 0; i < jl_len(qs); i++) {
		const struct jl *q = jl_at(qs, i), *os = jl_get(q, "outcomes");

		KASSERT(jl_get(q, "id") && jl_get(q, "id")->type == JL_STR);
		KEXPECT(jl_get(q, "question") && jl_get(q, "question")->type == JL_STR);
		KASSERT(os && os->type == JL_ARR && jl_len(os) >= 2);
		for (unsigned int k = 0; k < jl_len(os); k++) {
			const struct jl *o = jl_at(os, k);

			KEXPECT(jl_get(o, "setting") && jl_get(o, "setting")->type == JL_STR);
			KEXPECT(jl_get(o, "result") && jl_get(o, "result")->type == JL_STR);
			KEXPECT(jl_get(o, "documented") && jl_get(o, "documented")->type == JL_BOOL);
		}
	}
	/* The answers the experiments must give under each knob setting. */
	KEXPECT(strstr(outcome_result(doc, "writes-only", "inuse_reads_fault=off (default; an assumption)"),
		       "read of another page: no fault; read of the in-use page: no fault; write: spurious") != NULL);
	KEXPECT(strstr(outcome_result(doc, "writes-only", "inuse_reads_fault=on"),
		       "read of another page: spurious #PF (ERRATUM_2M_BASE_INUSE") != NULL);
	KEXPECT(strstr(outcome_result(doc, "writes-only", "inuse_reads_fault=on"),
		       "read of the in-use page: real #PF (INUSE_READ") != NULL);
	KEXPECT(strstr(outcome_result(doc, "stale-tlb", "rmp_check_every_access=off"), "through the old entry: no fault") != NULL);
	KEXPECT(strstr(outcome_result(doc, "stale-tlb", "rmp_check_every_access=on"), "through the old entry: spurious") != NULL);
	KEXPECT(strstr(outcome_result(doc, "rmpupdate-race", "rmpupdate_transient_inuse=off"), "racing hugepage write: no fault") != NULL);
	KEXPECT(strstr(outcome_result(doc, "rmpupdate-race", "rmpupdate_transient_inuse=on"), "racing hugepage write: spurious") != NULL);
	KEXPECT(strstr(outcome_result(doc, "uncovered", "uncovered_inuse=fail"), "#GP(0)") != NULL);
	KEXPECT(strstr(outcome_result(doc, "uncovered", "uncovered_inuse=ignore"), "entered") != NULL);
	KEXPECT(strstr(outcome_result(doc, "visible", "architectural"), "not among RMPREAD's fields") != NULL);
	KEXPECT(strstr(outcome_result(doc, "unaligned", "rmp_check_every_access=on"), "real #PF (INUSE_WRITE") != NULL);
	KEXPECT(strstr(outcome_result(doc, "vmexit", "inuse_cleared_at_vmexit=off (counterfactual)"), "FAIL_INUSE") != NULL);
	KEXPECT(strstr(outcome_result(doc, "vmexit", "inuse_cleared_at_vmexit=on (default, documented)"),
		       "RMPUPDATE of the VMCB: SUCCESS") != NULL);
	KEXPECT(strstr(outcome_result(doc, "all-vms", "SEV guest"), "spurious") != NULL);
	/* HvInUseWrAllowed: the workaround is unnecessary only if the bit also removes the erratum. */
	KEXPECT(strstr(outcome_result(doc, "hv-inuse-wr", "hv-inuse-wr, hv_inuse_wr_fixes_erratum=on"),
		       "write to the region: no fault; write to the VMCB page (4K): no fault; an aligned "
		       "VMCB is safe: the workaround is unnecessary") != NULL);
	KEXPECT(strstr(outcome_result(doc, "hv-inuse-wr", "hv-inuse-wr, hv_inuse_wr_fixes_erratum=off"),
		       "write to the region: spurious #PF (ERRATUM_2M_BASE_INUSE") != NULL);
	KEXPECT(strstr(outcome_result(doc, "hv-inuse-wr", "hv-inuse-wr, hv_inuse_wr_fixes_erratum=off"),
		       "write to the VMCB page (4K): no fault; an aligned VMCB is unsafe: the workaround "
		       "is still needed") != NULL);
	KEXPECT(strstr(outcome_result(doc, "hv-inuse-wr", "early-snp"),
		       "real #PF (INUSE_WRITE") != NULL);
	/* The PML buffer: marked and faulting only under pml_inuse=on (the default). */
	KEXPECT(strstr(outcome_result(doc, "pml", "pml_inuse=on (default; the PML series' reading)"),
		       "PML buffer marked in-use; write to its region: spurious #PF "
		       "(ERRATUM_2M_BASE_INUSE") != NULL);
	KEXPECT(strstr(outcome_result(doc, "pml", "pml_inuse=off"),
		       "PML buffer not marked; write to its region: no fault; an aligned PML buffer "
		       "is safe") != NULL);
	jl_free(doc);
	cli_run_free(&r);
}

static void test_explain_json_one(void)
{
	struct cli_run r = cli_run("explain --json vmexit");
	struct jl *doc = jl_parse(r.out);

	KEXPECT_EQ(r.status, 0);
	KASSERT(doc != NULL);
	KEXPECT_EQ(jl_len(jl_get(doc, "questions")), 1);
	KEXPECT(!strcmp(jl_get(jl_at(jl_get(doc, "questions"), 0), "id")->str, "vmexit"));
	jl_free(doc);
	cli_run_free(&r);
}

static const struct ktap_case cases[] = {
	KTAP_CASE(test_top_level_usage),
	KTAP_CASE(test_explain_bad_input),
	KTAP_CASE(test_explain_help),
	KTAP_CASE(test_explain_text_all),
	KTAP_CASE(test_explain_json_contract_and_answers),
	KTAP_CASE(test_explain_json_one),
};

KTAP_MAIN("cli_explain", cases)
