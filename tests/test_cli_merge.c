// SPDX-License-Identifier: MIT
/*
 * test_cli_merge.c - a simulate run in shards, through the built command
 * (issue 26, item 2).  `simulate --shard K/N --json` for K = 1..N, put
 * together by `snpsafe merge`, prints what the one-machine run prints, byte
 * for byte, text and JSON, for N = 1, 2, 3 and 7 (7 > the aged allocators:
 * some shards are empty); with shared ageing, each trial its own allocator,
 * and no ageing.  A shard missing or given twice, a config that differs, a
 * file that is not a shard: one line naming it, exit 2.
 */
#include "cli_json.h"

/* Small and fast; 8 trials share 4 aged allocators (--age-share 2). */
#define SMALL "--mem 256M --cpus 2 --vms 4 --vcpus 2 --ticks 16 --trials 8 --age-share 2 " \
	"--threads 1 --seed 4"

#define ARGS_MAX 2048

static char dir[] = "/tmp/snpsafe-merge-XXXXXX";

static void shard_dir(void)
{
	if (!mkdtemp(dir))
		ktap_skip("mkdtemp failed");
}

/* Shard k of n of the run flags describe, to DIR/<name>k.json. */
static void run_shard(const char *flags, unsigned int k, unsigned int n, const char *name)
{
	char args[ARGS_MAX], to[256];
	struct cli_run r;

	snprintf(args, sizeof(args), "simulate %s --shard %u/%u --json", flags, k, n);
	snprintf(to, sizeof(to), ">%s/%s%u.json", dir, name, k);
	r = cli_run_redir(args, to);
	if (r.status)
		ktap_fail(__FILE__, __LINE__, "'%s': status %d, stderr %s", args, r.status, r.err);
	cli_run_free(&r);
}

/* " DIR/<name>1.json ... DIR/<name>n.json" into buf (the order given: last first). */
static const char *shard_files(const char *name, unsigned int n, char *buf, size_t len)
{
	size_t off = 0;

	buf[0] = '\0';
	for (unsigned int k = n; k >= 1 && off < len; k--)
		off += (size_t)snprintf(buf + off, len - off, " %s/%s%u.json", dir, name, k);
	return buf;
}

static void remove_shards(const char *name, unsigned int n)
{
	char path[256];

	for (unsigned int k = 1; k <= n; k++) {
		snprintf(path, sizeof(path), "%s/%s%u.json", dir, name, k);
		unlink(path);
	}
}

/* The N shards of flags' run merged: the whole run's text and JSON, byte for byte. */
static void expect_merge_identical(const char *flags, const unsigned int *ns, unsigned int nr)
{
	char args[ARGS_MAX], files[ARGS_MAX / 2];
	char *text, *json;

	snprintf(args, sizeof(args), "simulate %s", flags);
	text = cli_run_ok(args);
	snprintf(args, sizeof(args), "simulate %s --json", flags);
	json = cli_run_ok(args);
	for (unsigned int i = 0; i < nr; i++) {
		char *got;

		for (unsigned int k = 1; k <= ns[i]; k++)
			run_shard(flags, k, ns[i], "s");
		shard_files("s", ns[i], files, sizeof(files));
		snprintf(args, sizeof(args), "merge%s", files);
		got = cli_run_ok(args);
		if (strcmp(got, text))
			ktap_fail(__FILE__, __LINE__, "'%s' (N=%u) text differs from the whole run's",
				  flags, ns[i]);
		free(got);
		snprintf(args, sizeof(args), "merge --json%s", files);
		got = cli_run_ok(args);
		if (strcmp(got, json))
			ktap_fail(__FILE__, __LINE__, "'%s' (N=%u) JSON differs from the whole run's",
				  flags, ns[i]);
		free(got);
		remove_shards("s", ns[i]);
	}
	free(text);
	free(json);
}

/* The test: N = 1, 2, 3 and 7 with shared ageing, a case each (a loaded machine's timeout). */
static void merge_shared(unsigned int n)
{
	shard_dir();
	expect_merge_identical(SMALL, &n, 1);
	rmdir(dir);
}

static void test_merge_shared_1(void) { merge_shared(1); }
static void test_merge_shared_2(void) { merge_shared(2); }
static void test_merge_shared_3(void) { merge_shared(3); }
static void test_merge_shared_7(void) { merge_shared(7); }

/* Without shared ageing a shard is a set of trials; with no ageing at all, likewise. */
static void test_merge_trial_shards(void)
{
	static const unsigned int three = 3, seven = 7;

	shard_dir();
	expect_merge_identical(SMALL " --clone off --strategy naive", &three, 1);
	expect_merge_identical(SMALL " --age 0 --mix snp --strategy sieve", &seven, 1);
	rmdir(dir);
}

/* A shard's JSON: the run's config, the shard, and only its own trials. */
static void test_shard_json(void)
{
	char *out = cli_run_ok("simulate " SMALL " --strategy naive --shard 2/3 --json");

	KEXPECT(strstr(out, "\"shard\":{\"k\":2,\"n\":3}") != NULL);
	KEXPECT(strstr(out, "\"trials\":8,") != NULL);
	/* aged allocator 1 of 4 (1 mod 3 = 1): trials 1 and 5 */
	KEXPECT_EQ(cli_count(out, "\"trial\":"), 2);
	KEXPECT(strstr(out, "\"trial\":1,") && strstr(out, "\"trial\":5,"));
	KEXPECT(strstr(out, "\"summary\"") == NULL);
	free(out);
	EXPECT_USAGE_ERROR("simulate " SMALL " --shard 1/3", "--shard 1/3 prints the shard's trials as JSON");
	EXPECT_USAGE_ERROR("simulate --shard 4/3 --json", "bad value '4/3' for --shard");
	EXPECT_USAGE_ERROR("simulate --shard 0/3 --json", "bad value '0/3' for --shard");
	EXPECT_USAGE_ERROR("simulate --shard 3 --json", "bad value '3' for --shard");
}

/* Each refusal: one line naming the shard or the file, exit 2, nothing on stdout. */
static void test_merge_refusals(void)
{
	char args[ARGS_MAX], want[512], whole[300];
	struct cli_run r;

	shard_dir();
	for (unsigned int k = 1; k <= 3; k++)
		run_shard(SMALL, k, 3, "p");
	run_shard(SMALL " --seed 5", 3, 3, "q");
	run_shard(SMALL, 1, 2, "r");
	snprintf(whole, sizeof(whole), "%s/whole.json", dir);
	snprintf(args, sizeof(args), ">%s", whole);
	r = cli_run_redir("simulate " SMALL " --json", args);
	cli_run_free(&r);

	snprintf(args, sizeof(args), "merge %s/p1.json %s/p3.json", dir, dir);
	EXPECT_USAGE_ERROR(args, "shard 2/3 missing");
	snprintf(args, sizeof(args), "merge %s/p1.json %s/p2.json %s/p2.json %s/p3.json", dir, dir, dir, dir);
	snprintf(want, sizeof(want), "%s/p2.json: shard 2/3 given twice", dir);
	EXPECT_USAGE_ERROR(args, want);
	snprintf(args, sizeof(args), "merge %s/p1.json %s/p2.json %s/q3.json", dir, dir, dir);
	snprintf(want, sizeof(want), "%s/q3.json: its config differs from %s/p1.json's at \"seed\"", dir, dir);
	EXPECT_USAGE_ERROR(args, want);
	snprintf(args, sizeof(args), "merge %s/p1.json %s/p2.json %s", dir, dir, whole);
	snprintf(want, sizeof(want), "%s: not a shard", whole);
	EXPECT_USAGE_ERROR(args, want);
	snprintf(args, sizeof(args), "merge %s/p1.json %s/r1.json", dir, dir);
	EXPECT_USAGE_ERROR(args, "r1.json: shard 1/2, but");
	EXPECT_USAGE_ERROR("merge", "no FILE");
	EXPECT_USAGE_ERROR("merge /nonexistent/shard.json", "/nonexistent/shard.json");
	remove_shards("p", 3);
	remove_shards("q", 3);
	remove_shards("r", 1);
	unlink(whole);
	rmdir(dir);
}

static const struct ktap_case cases[] = {
	KTAP_CASE(test_merge_shared_1),
	KTAP_CASE(test_merge_shared_2),
	KTAP_CASE(test_merge_shared_3),
	KTAP_CASE(test_merge_shared_7),
	KTAP_CASE(test_merge_trial_shards),
	KTAP_CASE(test_shard_json),
	KTAP_CASE(test_merge_refusals),
};

KTAP_MAIN("cli_merge", cases)
