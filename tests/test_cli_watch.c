// SPDX-License-Identifier: MIT
/*
 * test_cli_watch.c - `snpsafe watch` refuses what it cannot serve before
 * anything is installed or booted (the real runs are `make watch-test`).
 * Each refusal must come at once: the command is run with SNPSAFE_TOP
 * pointing at an empty folder, so any attempt to boot would fail with
 * "cannot find watch/run.sh" instead of the expected usage error.
 */
#include "cli_util.h"

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

static const struct ktap_case cases[] = {
	KTAP_CASE(watch_bad_flags),
	KTAP_CASE(watch_bad_kernel),
	KTAP_CASE(watch_too_many_vcpus),
	KTAP_CASE(watch_help_lists_options),
	KTAP_CASE(watch_good_request_passes_checks),
};

int main(void)
{
	/* Nothing may boot from a test: point the command at a tree without watch/run.sh. */
	setenv("SNPSAFE_TOP", "/nonexistent-snpsafe-top", 1);
	return ktap_main("cli_watch", cases, KTAP_ARRAY_SIZE(cases));
}
