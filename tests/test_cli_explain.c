// SPDX-License-Identifier: MIT
/*
 * test_cli_explain.c - the built command: top-level usage, bad input, and
 * `snpsafe explain` text and JSON, with the experiments' outcomes asserted;
 * each question's one-line answer and basis (issue 23): a knob named as the
 * basis is in snp_knobs[] at its preset's default, and the run with it
 * flipped gives another answer.
 */
#include "cli_util.h"
#include "json_lite.h"

#include <snpsafe/profile.h>

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
	KEXPECT(!strncmp(r.out, "usage: snpsafe explain [ID|all] [options]\n", 42));
	KEXPECT(strstr(r.out, "--json") != NULL);
	cli_run_free(&r);
}

/* The ids the answer rests on a knob for, and those a source documents. */
static const char *const assumed_ids[] = { "uncovered", "rmpupdate-race", "writes-only", "unaligned",
					   "stale-tlb", "hv-inuse-wr", "pml" };
static const char *const documented_ids[] = { "visible", "all-vms", "vmexit" };

/* Every question's text ends "  Answer: ..." then "  Basis: documented (" or "assumed (knob ". */
static void test_explain_text_answer_basis(void)
{
	struct cli_run r = cli_run("explain");
	unsigned int blocks = 0;

	KEXPECT_EQ(r.status, 0);
	for (const char *b = r.out; b && *b == '['; blocks++) {
		const char *end = strstr(b, "\n\n"), *ans, *basis;
		size_t len = end ? (size_t)(end - b) : strlen(b);
		char *blk = strndup(b, len);

		KASSERT(blk != NULL);
		ans = strstr(blk, "\n  Answer: ");
		basis = strstr(blk, "\n  Basis: ");
		if (!ans || !basis || cli_count(blk, "\n  Answer: ") != 1 || basis < ans ||
		    strchr(ans + 1, '\n') != basis || strchr(basis + 1, '\n') ||
		    (strncmp(basis, "\n  Basis: documented (", 22) &&
		     strncmp(basis, "\n  Basis: assumed (knob ", 24)))
			ktap_fail(__FILE__, __LINE__, "question does not end with Answer/Basis:\n%s", blk);
		free(blk);
		b = end ? end + 2 : NULL;
	}
	KEXPECT_EQ(blocks, 10);
	cli_run_free(&r);
}

static const struct jl *question(const struct jl *doc, const char *id)
{
	const struct jl *qs = jl_get(doc, "questions");

	for (unsigned int i = 0; i < jl_len(qs); i++)
		if (!strcmp(jl_get(jl_at(qs, i), "id")->str, id))
			return jl_at(qs, i);
	ktap_fail(__FILE__, __LINE__, "no question %s", id);
	return NULL;
}

static const char *jstr(const struct jl *o, const char *key)
{
	const struct jl *v = o ? jl_get(o, key) : NULL;

	return v && v->type == JL_STR ? v->str : NULL;
}

/*
 * An assumed answer: its knob is in the table, its default is the preset's,
 * the run at that default gives it, and a run with the knob flipped gives a
 * different one (the answer is the experiment's, not a fixed text).
 */
static void expect_assumed(const struct jl *q, const char *text)
{
	const struct jl *b = jl_get(q, "basis"), *os = jl_get(q, "outcomes");
	const char *knob = jstr(b, "knob"), *dflt = jstr(b, "default"), *answer = jstr(q, "answer");
	const struct snp_profile *preset = snp_profile_by_name(jstr(b, "preset"));
	const struct snp_knob *k = knob ? snp_knob_find(knob) : NULL;
	unsigned int at_default = 0, flipped = 0;
	char v[SNP_KNOB_TEXT_MAX], line[600];

	KASSERT(answer && b && !jl_get(b, "documented")->boolean);
	if (!k || !preset || !dflt) {
		ktap_fail(__FILE__, __LINE__, "%s: basis knob '%s' or preset not in the tables",
			  jstr(q, "id"), knob ? knob : "(none)");
		return;
	}
	KEXPECT(!strcmp(dflt, snp_knob_get(preset, k, v, sizeof(v))));
	for (unsigned int i = 0; i < jl_len(os); i++) {
		const char *val = jstr(jl_at(os, i), "knob_value"), *a = jstr(jl_at(os, i), "answer");

		if (!val || !a)
			continue;
		if (!strcmp(val, dflt)) {
			at_default++;
			KEXPECT(!strcmp(a, answer));
		} else {
			flipped++;
			if (!strcmp(a, answer))
				ktap_fail(__FILE__, __LINE__, "%s: %s=%s gives the same answer '%s'",
					  jstr(q, "id"), knob, val, a);
		}
	}
	KEXPECT_EQ(at_default, 1);
	KEXPECT(flipped >= 1);
	snprintf(line, sizeof(line), "\n  Answer: %s\n  Basis: assumed (knob %s, default %s in %s): ",
		 answer, knob, dflt, preset->name);
	if (!strstr(text, line))
		ktap_fail(__FILE__, __LINE__, "text lacks '%s'", line);
}

/* A documented answer names its source and no knob. */
static void expect_documented(const struct jl *q, const char *text)
{
	const struct jl *b = jl_get(q, "basis");
	const char *src = jstr(b, "source"), *answer = jstr(q, "answer");
	char line[600];

	KASSERT(b && answer && src && src[0]);
	KEXPECT(jl_get(b, "documented")->boolean);
	KEXPECT(jl_get(b, "knob")->type == JL_NULL);
	snprintf(line, sizeof(line), "\n  Answer: %s\n  Basis: documented (%s)\n", answer, src);
	if (!strstr(text, line))
		ktap_fail(__FILE__, __LINE__, "text lacks '%s'", line);
}

static void test_explain_answers_and_basis(void)
{
	struct cli_run r = cli_run("explain --json"), t = cli_run("explain");
	struct jl *doc = jl_parse(r.out);

	KEXPECT_EQ(r.status, 0);
	KASSERT(doc != NULL);
	for (unsigned int i = 0; i < KTAP_ARRAY_SIZE(assumed_ids); i++)
		expect_assumed(question(doc, assumed_ids[i]), t.out);
	for (unsigned int i = 0; i < KTAP_ARRAY_SIZE(documented_ids); i++)
		expect_documented(question(doc, documented_ids[i]), t.out);
	KEXPECT_EQ(KTAP_ARRAY_SIZE(assumed_ids) + KTAP_ARRAY_SIZE(documented_ids),
		   jl_len(jl_get(doc, "questions")));
	/* The answers the runs give under the defaults. */
	KEXPECT(!strncmp(jstr(question(doc, "writes-only"), "answer"), "writes only: ", 13));
	KEXPECT(!strncmp(jstr(question(doc, "hv-inuse-wr"), "answer"), "yes: ", 5));
	KEXPECT(!strncmp(jstr(question(doc, "pml"), "answer"), "yes: ", 5));
	KEXPECT(!strncmp(jstr(question(doc, "vmexit"), "answer"), "yes: ", 5));
	KEXPECT(!strncmp(jstr(question(doc, "all-vms"), "answer"), "yes, all VMs: ", 14));
	KEXPECT(!strncmp(jstr(question(doc, "visible"), "answer"), "no, not through RMPREAD", 23));
	KEXPECT(!strcmp(jstr(jl_get(question(doc, "hv-inuse-wr"), "basis"), "preset"), "hv-inuse-wr"));
	jl_free(doc);
	cli_run_free(&r);
	cli_run_free(&t);
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
	KTAP_CASE(test_explain_text_answer_basis),
	KTAP_CASE(test_explain_answers_and_basis),
	KTAP_CASE(test_explain_json_contract_and_answers),
	KTAP_CASE(test_explain_json_one),
};

KTAP_MAIN("cli_explain", cases)
