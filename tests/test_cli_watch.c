// SPDX-License-Identifier: MIT
/*
 * test_cli_watch.c - `snpsafe watch` refuses what it cannot serve before
 * anything is installed or booted (the real runs are `make watch-test`).
 * Each refusal must come at once: the command is run with SNPSAFE_TOP
 * pointing at an empty folder, so any attempt to boot would fail with
 * "cannot find watch/run.sh" instead of the expected usage error.
 */
#include "cli_util.h"
#include "json_lite.h"
#include "trace_util.h"

static void watch_bad_flags(void)
{
	EXPECT_USAGE_ERROR("watch --cpus 99", "--cpus");
	EXPECT_USAGE_ERROR("watch --cpus 0", "--cpus");
	EXPECT_USAGE_ERROR("watch --vms 0", "--vms");
	EXPECT_USAGE_ERROR("watch --vcpus 65", "--vcpus");
	EXPECT_USAGE_ERROR("watch --mem 64G", "--mem");
	EXPECT_USAGE_ERROR("watch --mem 1M", "--mem");
	EXPECT_USAGE_ERROR("watch --seconds 0", "--seconds");
	EXPECT_USAGE_ERROR("watch --seconds abc", "--seconds");
	EXPECT_USAGE_ERROR("watch --lifetime -1", "--lifetime");
	EXPECT_USAGE_ERROR("watch --filter some", "--filter");
	EXPECT_USAGE_ERROR("watch --bogus", "--bogus");
	EXPECT_USAGE_ERROR("watch extra", "extra");
}

static void watch_bad_kernel(void)
{
	EXPECT_USAGE_ERROR("watch --kernel 5.10", "--kernel");
	EXPECT_USAGE_ERROR("watch --kernel /nonexistent/bzImage", "--kernel");
	EXPECT_USAGE_ERROR("watch --kernel /dev/null --modules /tmp", "--kernel");
	/* A real file as the image, but no modules folder given, or a file as the folder. */
	EXPECT_USAGE_ERROR("watch --kernel /etc/hostname", "--modules");
	EXPECT_USAGE_ERROR("watch --kernel /etc/hostname --modules /etc/hostname", "--modules");
	EXPECT_USAGE_ERROR("watch --kernel 6.1 --modules /tmp", "--modules");
	EXPECT_USAGE_ERROR("watch --kernel 6.1 --host-snp", "--host-snp");
}

static void watch_too_many_vcpus(void)
{
	EXPECT_USAGE_ERROR("watch --vms 1000 --vcpus 64", "4096");
}

static void watch_help_lists_options(void)
{
	static const char *const opts[] = { "--kernel", "--modules", "--vms", "--vcpus", "--seconds",
					    "--lifetime", "--cpus", "--mem", "--filter", "--trace",
					    "--out", "--baseline", "--host-snp", "--json" };
	struct cli_run r = cli_run("watch --help");

	KEXPECT_EQ(r.status, 0);
	for (size_t i = 0; i < KTAP_ARRAY_SIZE(opts); i++)
		if (!strstr(r.out, opts[i]))
			ktap_fail(__FILE__, __LINE__, "watch --help lacks %s", opts[i]);
	cli_run_free(&r);
}

/* A request that passes every check goes on to look for the tree, which is not there. */
static void watch_good_request_passes_checks(void)
{
	struct cli_run r = cli_run("watch --kernel 6.12 --vms 2 --vcpus 1 --seconds 1 --mem 512M");

	KEXPECT_EQ(r.status, 1);
	KEXPECT(strstr(r.err, "watch/run.sh"));
	KEXPECT_EQ(cli_lines(r.err), 1);
	cli_run_free(&r);
}

/*
 * --again judges a finished run folder without booting: a hand-made one
 * holding the changelog's steps (an aligned VMCB run on CPU 1, a 2M-leaf
 * store by CPU 0 into its region) must give one aligned VMCB under a
 * hugepage leaf, one spurious #PF from replay, and a model estimate.
 */
static void watch_again_judges_a_run_folder(void)
{
	char cmd[512];
	struct jl *j, *m;
	struct cli_run r;
	FILE *f;

	tu_dir_setup("watch-again");
	tu_write_changelog(tu_path("raw.trace"), SNP_TRL_2M);
	f = fopen(tu_path("result"), "w");
	KASSERT(f);
	fprintf(f, "kernel=6.1.0-test\nworkload=vms=1 vcpus=1 vcpus_created=1 vcpus_ran=1\n"
		   "qemu_s=1.5\nmem_total_kb=262144\nmem_free_kb=249036\nkprobe_svm_vcpu_create=1\n");
	fclose(f);
	f = fopen(tu_path("kallsyms"), "w");
	KASSERT(f);
	fprintf(f, "ffffffff81234000 T memset_orig\n");
	fclose(f);
	snprintf(cmd, sizeof(cmd), "watch --again --out %s --vms 1 --vcpus 1 --mem 256M --json",
		 tu_path(""));
	r = cli_run(cmd);
	KEXPECT_EQ(r.status, 0);
	if (r.status)
		ktap_log("stderr: %s", r.err);
	j = jl_parse(r.out);
	KASSERT(j);
	m = jl_get(j, "measured");
	KEXPECT(m && jl_get(m, "vmcb_aligned")->num == 1 && jl_get(m, "vmcb_distinct")->num == 1);
	KEXPECT(m && jl_get(m, "aligned_under_hugepage_leaf")->num == 1);
	KEXPECT(m && jl_get(m, "spurious_faults")->num == 1);
	m = jl_get(j, "model_estimate");
	KEXPECT(m && !strcmp(jl_get(m, "kernel")->str, "6.1") && jl_get(m, "trials")->num == 8);
	KEXPECT(m && jl_get(m, "vmcb01_allocated")->num == 8);
	KEXPECT(m && jl_get(m, "age_pct")->num == 5);
	/* the watched kernel's RAM map: QEMU pc's e820 (docs/WATCH.md "Model against reality") */
	KEXPECT(m && jl_get(m, "layout") && !strcmp(jl_get(m, "layout")->str, "qemu-pc"));
	KEXPECT_EQ(jl_get(jl_get(j, "kprobe_hits"), "svm_vcpu_create")->num, 1);
	/* replay's verdicts ride along: one function stored, one report kept. */
	m = jl_get(jl_get(j, "replay"), "reports");
	KEXPECT_EQ(jl_len(m), 1);
	KEXPECT(jl_at(m, 0) != NULL);
	jl_free(j);
	cli_run_free(&r);
	/* An empty folder is refused by name. */
	snprintf(cmd, sizeof(cmd), "watch --again --out %s/nothing-here", tu_path(""));
	EXPECT_USAGE_ERROR(cmd, "no finished run");
	EXPECT_USAGE_ERROR("watch --again --baseline --out /tmp", "--baseline");
	tu_dir_teardown();
}

static const struct ktap_case cases[] = {
	KTAP_CASE(watch_bad_flags),
	KTAP_CASE(watch_bad_kernel),
	KTAP_CASE(watch_too_many_vcpus),
	KTAP_CASE(watch_help_lists_options),
	KTAP_CASE(watch_good_request_passes_checks),
	KTAP_CASE(watch_again_judges_a_run_folder),
};

int main(void)
{
	/* Nothing may boot from a test: point the command at a tree without watch/run.sh. */
	setenv("SNPSAFE_TOP", "/nonexistent-snpsafe-top", 1);
	return ktap_main("cli_watch", cases, KTAP_ARRAY_SIZE(cases));
}
