// SPDX-License-Identifier: MIT
/*
 * test_cli_boot_dump.c - simulate --boot-dump FILE and --boot-dump-pcp
 * through the built command: bad files and combinations refused with one
 * line and exit 2 (an ageing asked for too: the dump holds the boot's); a
 * good dump changes where the VMCBs go (the regions they
 * use) and not how many are made; the JSON config keys, read back by
 * --config to the same run; the 6.12 boot of docs/data as the dump.
 */
#include "cli_json.h"

#include <stdio.h>
#include <string.h>

#define DUMP "docs/data/boot-state-2026-12-06/6.12-pageblocks.txt"
#define SIM "simulate --mem 1024M --cpus 2 --vms 4 --vcpus 2 --mix svm --ticks 8 --lifetime 1 " \
	    "--trials 2 --threads 1 --strategy naive --age-share 1 --kernel 6.12 --age 0"

static void bad_uses_refused(void)
{
	char path[32], args[256];

	EXPECT_USAGE_ERROR(SIM " --boot-dump " DUMP, "needs --layout qemu-pc");
	EXPECT_USAGE_ERROR(SIM " --layout qemu-pc --age 5 --boot-dump " DUMP, "give --age 0");
	EXPECT_USAGE_ERROR(SIM " --layout qemu-pc --age-profile watch --age-rounds 2 --boot-dump " DUMP,
			   "give --age 0");
	EXPECT_USAGE_ERROR("simulate --mem 512M --age 0 --layout qemu-pc --boot-dump " DUMP,
		       "is of a 1024 MiB host, not of 512 MiB: give --mem 1024M");
	EXPECT_USAGE_ERROR(SIM " --layout qemu-pc --boot-dump /nonexistent/dump", "/nonexistent/dump");
	EXPECT_USAGE_ERROR(SIM " --layout qemu-pc --boot-dump " DUMP " --boot-dump-pcp cpu7", "--boot-dump-pcp");
	cli_write_temp("0 mt 1 buddy 512 pcp 0\n200 mt 1 buddy 0\n", 40, path);
	snprintf(args, sizeof(args), SIM " --layout qemu-pc --boot-dump %s", path);
	EXPECT_USAGE_ERROR(args, "line 2: not \"PFN mt MT buddy N pcp N");
	remove(path);
}

static double regions(const struct jl *doc)
{
	const struct jl *res = jl_at(jl_get(doc, "results"), 0);

	return num(jl_get(jl_get(res, "vmcb01_clustering"), "statistics"), "regions");
}

static double vmcb01_allocated(const struct jl *doc)
{
	const struct jl *res = jl_at(jl_get(doc, "results"), 0);

	return num(jl_get(jl_get(res, "by_kind"), "vmcb01"), "allocated");
}

/* From the dump: the same VMCBs made, in other regions; the config keys read back. */
static void dump_moves_the_vmcbs(void)
{
	struct jl *rules = run_json(SIM " --layout qemu-pc --json");
	struct jl *dump = run_json(SIM " --layout qemu-pc --boot-dump " DUMP " --json");
	struct jl *cpu0 = run_json(SIM " --layout qemu-pc --boot-dump " DUMP " --boot-dump-pcp cpu0 --json");
	const struct jl *c = jl_get(dump, "config");
	char path[32], args[128];
	struct cli_run r;
	struct jl *again;

	ktap_log("regions used: rules %.2f, dump %.2f, dump with cpu0 %.2f", regions(rules), regions(dump),
		 regions(cpu0));
	KEXPECT(vmcb01_allocated(dump) > 0);
	KEXPECT_EQ(vmcb01_allocated(dump), vmcb01_allocated(rules));
	KEXPECT(regions(dump) != regions(rules));
	KEXPECT_EQ(strcmp(str(c, "boot_dump"), DUMP), 0);
	KEXPECT_EQ(strcmp(str(c, "boot_dump_pcp"), "random"), 0);
	KEXPECT_EQ(strcmp(str(jl_get(cpu0, "config"), "boot_dump_pcp"), "cpu0"), 0);
	KEXPECT_EQ(strcmp(str(jl_get(rules, "config"), "boot_dump"), ""), 0);
	r = cli_run(SIM " --layout qemu-pc --boot-dump " DUMP " --json");
	cli_write_temp(r.out, strlen(r.out), path);
	snprintf(args, sizeof(args), "simulate --config %s --json", path);
	again = run_json(args);
	KEXPECT_EQ(regions(again), regions(dump));
	remove(path);
	cli_run_free(&r);
	jl_free(again);
	jl_free(rules);
	jl_free(dump);
	jl_free(cpu0);
}

static const struct ktap_case cases[] = {
	KTAP_CASE(bad_uses_refused),
	KTAP_CASE(dump_moves_the_vmcbs),
};

KTAP_MAIN("cli_boot_dump", cases)
