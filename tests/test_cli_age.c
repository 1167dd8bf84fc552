// SPDX-License-Identifier: MIT
/*
 * test_cli_age.c - simulate's ageing profiles through the built command:
 * --age-profile generic|watch, --age-rounds N, --ager-cpu round|piece; bad
 * values and combinations refused with one line and exit 2; the JSON config
 * keys, read back by --config to the same run; the text header.
 */
#include "cli_json.h"

#include <stdio.h>
#include <string.h>

#define SIM "simulate --mem 256M --cpus 2 --vms 2 --vcpus 2 --mix svm --ticks 4 --trials 2 " \
	    "--threads 1 --strategy naive --age-share 1"

/* A usage error: exit 2, one line on stderr naming @needle, nothing on stdout. */
static void expect_refused(const char *args, const char *needle)
{
	struct cli_run r = cli_run(args);

	KEXPECT_EQ(r.status, 2);
	KEXPECT_EQ(cli_lines(r.err), 1);
	KEXPECT(strstr(r.err, needle) != NULL);
	KEXPECT_EQ(strlen(r.out), 0);
	if (!strstr(r.err, needle))
		ktap_fail(__FILE__, __LINE__, "'%s': stderr %s", args, r.err);
	cli_run_free(&r);
}

static void test_bad_values(void)
{
	expect_refused(SIM " --age-profile old", "--age-profile");
	expect_refused(SIM " --age-profile watch --age-rounds 33", "--age-rounds");
	expect_refused(SIM " --age-profile watch --age-rounds -1", "--age-rounds");
	expect_refused(SIM " --age-profile watch --age-rounds 2 --ager-cpu cpu0", "--ager-cpu");
	expect_refused(SIM " --age-profile watch", "needs --age-rounds");
	expect_refused(SIM " --age-rounds 3", "needs --age-profile watch");
	expect_refused(SIM " --age-profile watch --age-rounds 2 --age-share 4",
		       "cannot be cloned");
}

/* The config keys, and --config reading them back gives the same results. */
static void test_json_and_config(void)
{
	struct jl *doc = run_json(SIM " --age-profile watch --age-rounds 2 --ager-cpu piece --json");
	const struct jl *c = jl_get(doc, "config"), *res = jl_at(jl_get(doc, "results"), 0);
	char path[32], *text;
	struct cli_run r;
	struct jl *again;
	char args[128];

	KASSERT(c != NULL && res != NULL);
	KEXPECT_EQ(strcmp(str(c, "age_profile"), "watch"), 0);
	KEXPECT_EQ(num(c, "age_rounds"), 2);
	KEXPECT_EQ(strcmp(str(c, "ager_cpu"), "piece"), 0);
	r = cli_run(SIM " --age-profile watch --age-rounds 2 --ager-cpu piece --json");
	text = r.out;
	cli_write_temp(text, strlen(text), path);
	snprintf(args, sizeof(args), "simulate --config %s --json", path);
	again = run_json(args);
	unlink(path);
	KEXPECT_EQ(strcmp(str(jl_get(again, "config"), "age_profile"), "watch"), 0);
	KEXPECT_EQ(num(jl_get(again, "config"), "age_rounds"), 2);
	KEXPECT_EQ(num(jl_at(jl_get(again, "results"), 0), "aligned_sensitive_pages"),
		   num(res, "aligned_sensitive_pages"));
	KEXPECT_EQ(num(jl_at(jl_get(again, "results"), 0), "sensitive_pages"),
		   num(res, "sensitive_pages"));
	jl_free(again);
	cli_run_free(&r);
	jl_free(doc);
	doc = run_json(SIM " --json");
	KEXPECT_EQ(strcmp(str(jl_get(doc, "config"), "age_profile"), "generic"), 0);
	KEXPECT_EQ(num(jl_get(doc, "config"), "age_rounds"), 0);
	jl_free(doc);
}

/* The header says how the hosts were aged, and the watch profile's VMs add vmcb01 pages. */
static void test_text(void)
{
	char *w = cli_run_ok(SIM " --age-profile watch --age-rounds 3");
	char *g = cli_run_ok(SIM);

	KEXPECT(strstr(w, "with kvm_amd (KVM 6.18 call sites) loaded, then aged as watch's ager "
			  "does (3 rounds, each ending with 2 VMs; the ager's CPU one a round)") != NULL);
	KEXPECT(strstr(g, "aged to 60%, then kvm_amd") != NULL);
	free(w);
	free(g);
}

static const struct ktap_case cases[] = {
	KTAP_CASE(test_bad_values),
	KTAP_CASE(test_json_and_config),
	KTAP_CASE(test_text),
};

KTAP_MAIN("cli_age", cases)
