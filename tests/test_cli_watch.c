// SPDX-License-Identifier: MIT
/*
 * test_cli_watch.c - `snpsafe watch` refuses what it cannot serve before
 * anything is installed or booted (the real runs are `make watch-test`).
 * Each refusal must come at once: the command is run with SNPSAFE_TOP
 * pointing at an empty folder, so any attempt to boot would fail with
 * "cannot find watch/run.sh" instead of the expected usage error.
 */
#include "cli_util.h"
#include "cli_json.h"
#include "trace_util.h"

#include <math.h>
#include <sys/stat.h>

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
	EXPECT_USAGE_ERROR("watch --kernel 6.12 --kvm-build fastest", "--kvm-build");
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
	/* kernel/build.sh builds against Debian's 6.12 only */
	EXPECT_USAGE_ERROR("watch --kernel 6.1 --kvm-build sieve", "--kvm-build needs --kernel 6.12");
	EXPECT_USAGE_ERROR("watch --kvm-build stock", "--kvm-build needs --kernel 6.12");
	EXPECT_USAGE_ERROR("watch --kernel /etc/hostname --modules /tmp --kvm-build sieve", "--kvm-build");
}

static void watch_too_many_vcpus(void)
{
	EXPECT_USAGE_ERROR("watch --vms 1000 --vcpus 64", "4096");
}

static void watch_help_lists_options(void)
{
	static const char *const opts[] = { "--kernel", "--modules", "--vms", "--vcpus", "--seconds",
					    "--lifetime", "--cpus", "--mem", "--filter", "--trace",
					    "--out", "--baseline", "--host-snp", "--kvm-build", "--json",
					    "--age-rounds", "--age-seed" };
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

	KEXPECT_EQ(r.status, 3);   /* the run failed: not a finding, not bad usage */
	KEXPECT(strstr(r.err, "watch/run.sh"));
	KEXPECT_EQ(cli_lines(r.err), 1);
	cli_run_free(&r);
}

/*
 * A finished run folder for --again in tu_dir: the changelog's trace
 * (tu_write_changelog), run.sh's result for kernel, one symbol, and
 * alloc.log holding log (none when NULL: a folder from before the log).
 */
static void write_run_folder(const char *kernel, const char *log)
{
	FILE *f;

	tu_write_changelog(tu_path("raw.trace"), SNP_TRL_2M);
	f = fopen(tu_path("result"), "w");
	KASSERT(f);
	fprintf(f, "kernel=%s\nworkload=vms=1 vcpus=1 vcpus_created=1 vcpus_ran=1\n"
		   "qemu_s=1.5\nmem_total_kb=262144\nmem_free_kb=249036\nkprobe_svm_vcpu_create=1\n",
		kernel);
	fclose(f);
	f = fopen(tu_path("kallsyms"), "w");
	KASSERT(f);
	fprintf(f, "ffffffff81234000 T memset_orig\n");
	fclose(f);
	if (log)
		tu_write_bytes(tu_path("alloc.log"), log, strlen(log));
}

/* watch --again on the folder of tu_dir with flags and --json: the output, parsed. */
static struct jl *again_json(const char *flags)
{
	char cmd[512];
	struct cli_run r;
	struct jl *j;

	snprintf(cmd, sizeof(cmd), "watch --again --out %s %s --json", tu_path(""), flags);
	r = cli_run(cmd);
	KEXPECT_EQ(r.status, 0);
	if (r.status)
		ktap_log("stderr: %s", r.err);
	j = jl_parse(r.out);
	cli_run_free(&r);
	KASSERT(j);
	return j;
}

/* Replace the run folder's result with one whose workload churned: vms slots made vms_created VMs. */
static void write_churn_result(unsigned int vms_created)
{
	FILE *f = fopen(tu_path("result"), "w");

	KASSERT(f);
	fprintf(f, "kernel=6.12.0-test\nworkload=vms=2 vcpus=1 seconds=6.0 lifetime=0.20 vms_created=%u "
		   "vcpus_created=%u vcpus_ran=%u\nqemu_s=1.5\nmem_total_kb=262144\n"
		   "mem_free_kb=249036\nkprobe_svm_vcpu_create=1\n", vms_created, vms_created, vms_created);
	fclose(f);
}

/*
 * With --lifetime the model churns its VMs as the boot did (issue 25 item 3):
 * a VM's life is the run's seconds x slots / VMs created, in ticks of an
 * assumed 1 s (at least 1), and each of the 32 model hosts makes as many VMs
 * as the boot: 2 slots, 6 s, 4 VMs made: 3 s lives, 3 ticks, 2 lives a slot
 * (3 ticks), 32 x 2 x 2 vmcb01 pages; 30 VMs made: 0.4 s, 1 tick, 15 lives
 * (14 ticks), 32 x 2 x 15.
 */
static void watch_again_churns_like_the_boot(void)
{
	static const char flags[] = "--kernel 6.12 --vms 2 --vcpus 1 --mem 256M --seconds 6 --lifetime 0.2";
	struct jl *j, *m;

	tu_dir_setup("watch-churn");
	write_run_folder("6.12.0-test", NULL);
	write_churn_result(4);
	j = again_json(flags);
	m = jl_get(j, "model_estimate");
	KEXPECT(m && jl_get(m, "lifetime_ticks")->num == 3 && jl_get(m, "ticks")->num == 3);
	KEXPECT(m && jl_get(m, "trials")->num == 32 && jl_get(m, "vmcb01_allocated")->num == 32 * 2 * 2);
	KEXPECT(m && jl_get(m, "tick_seconds")->num == 1 && jl_get(m, "vm_life_seconds")->num == 3);
	jl_free(j);
	write_churn_result(30);
	j = again_json(flags);
	m = jl_get(j, "model_estimate");
	KEXPECT(m && jl_get(m, "lifetime_ticks")->num == 1 && jl_get(m, "ticks")->num == 14);
	KEXPECT(m && jl_get(m, "vmcb01_allocated")->num == 32 * 2 * 15);
	jl_free(j);
	/* without --lifetime: no churn, the hosts of before */
	j = again_json("--kernel 6.12 --vms 2 --vcpus 1 --mem 256M --seconds 6");
	m = jl_get(j, "model_estimate");
	KEXPECT(m && jl_get(m, "lifetime_ticks")->num == 0 && jl_get(m, "ticks")->num == 512);
	KEXPECT(m && jl_get(m, "vm_life_seconds")->type == JL_NULL);
	jl_free(j);
	tu_dir_teardown();
}

/*
 * The model runs the watched workload's shape: one guest page a VM
 * (GUEST_MEM's one written page), no irqchip, KVM's debugfs as under TCG,
 * and the host thread at the boot's pace: 30 VMs in 2 slots (14 ticks) and
 * 56 MiB written by the host thread (14 loops of 4 MiB): one loop a tick.
 * The simulate line it prints says all of it, and merge keeps runs of
 * different paces apart (tests/test_cli_merge_watch.c).
 */
static void watch_again_models_the_workload(void)
{
	static const char flags[] = "--kernel 6.12 --vms 2 --vcpus 1 --mem 256M --seconds 6 --lifetime 0.2";
	char cmd[512];
	struct cli_run r;
	struct jl *j, *m;
	FILE *f;

	tu_dir_setup("watch-shape");
	write_run_folder("6.12.0-test", NULL);
	write_churn_result(30);
	j = again_json(flags);
	m = jl_get(j, "model_estimate");
	KEXPECT(m && jl_get(m, "guest_pages")->num == 1 && !strcmp(jl_get(m, "irqchip")->str, "off"));
	KEXPECT(m && !strcmp(jl_get(m, "kvm_debugfs")->str, "tcg"));
	KEXPECT(m && jl_get(m, "host_loops")->num == 0);   /* no host_mib_written: none */
	jl_free(j);
	f = fopen(tu_path("result"), "w");
	KASSERT(f);
	fprintf(f, "kernel=6.12.0-test\nworkload=vms=2 vcpus=1 seconds=6.0 lifetime=0.20 vms_created=30 "
		   "vcpus_created=30 vcpus_ran=30 host_mib_written=56\nqemu_s=1.5\nmem_total_kb=262144\n"
		   "mem_free_kb=249036\nkprobe_svm_vcpu_create=1\n");
	fclose(f);
	j = again_json(flags);
	m = jl_get(j, "model_estimate");
	KEXPECT(m && jl_get(m, "ticks")->num == 14 && jl_get(m, "host_loops")->num == 1);
	KEXPECT(m && jl_get(m, "remake_after")->num == 1 && !strcmp(jl_get(m, "rcu_grace")->str, "end"));
	jl_free(j);
	snprintf(cmd, sizeof(cmd), "watch --again --out %s %s", tu_path(""), flags);
	r = cli_run(cmd);
	KEXPECT_EQ(r.status, 0);
	KEXPECT(strstr(r.out, "--guest-pages 1 --irqchip off --kvm-debugfs tcg --host-loops 1 "
			      "--vmm-migrate 75 --remake-after 1 --rcu-grace end)") != NULL);
	cli_run_free(&r);
	tu_dir_teardown();
}

/*
 * An aged run (--age-rounds): the model ages as its ager did, after kvm_amd
 * loads (--age-profile watch with the run's rounds), and the simulate line
 * it prints says so; each of its 32 hosts adds the ageing VMs' vmcb01
 * pages, 2 rounds x 2 VMs x 1 vCPU, to the 2 x 2 of the churn.
 */
static void watch_again_aged_models_the_ager(void)
{
	static const char flags[] = "--kernel 6.12 --vms 2 --vcpus 1 --mem 256M --seconds 6 "
				    "--lifetime 0.2 --age-rounds 2 --age-seed 7";
	char cmd[512];
	struct cli_run r;
	struct jl *j, *m;
	FILE *f;

	tu_dir_setup("watch-aged");
	write_run_folder("6.12.0-test", NULL);
	write_churn_result(4);
	f = fopen(tu_path("result"), "a");
	KASSERT(f);
	fprintf(f, "age_rounds=2\nage_seed=7\nage=rounds=2 seed=7 made_mib=40 kept_cache_kb=100 "
		   "kept_anon_kb=80 kept_files=3200 kept_fds=150 vms=4 vcpus=4 capped=0 failures=0\n");
	fclose(f);
	j = again_json(flags);
	m = jl_get(j, "model_estimate");
	KEXPECT(m && !strcmp(jl_get(m, "age_profile")->str, "watch") && jl_get(m, "age_rounds")->num == 2);
	KEXPECT(m && jl_get(m, "vmcb01_allocated")->num == 32 * (2 * 2 + 2 * 2 * 1));
	jl_free(j);
	snprintf(cmd, sizeof(cmd), "watch --again --out %s %s", tu_path(""), flags);
	r = cli_run(cmd);
	KEXPECT_EQ(r.status, 0);
	KEXPECT(strstr(r.out, "--mix svm --age-profile watch --age-rounds 2 --kernel 6.12") != NULL);
	cli_run_free(&r);
	tu_dir_teardown();
}

/* A boot dump of a 256 MiB host at PATH: free but for its first 16 MiB, one pageblock UNMOVABLE. */
static void write_dump(const char *path, unsigned int mib)
{
	FILE *f = fopen(path, "w");

	KASSERT(f);
	fprintf(f, "# a made-up boot\n");
	for (unsigned int pb = 0; pb < mib / 2; pb++)
		fprintf(f, "%x mt %u buddy %u pcp 0\n", pb * 512, pb == 8 ? 0 : 1, pb < 8 ? 0 : 512);
	fprintf(f, "4k 9\n");
	fclose(f);
}

/*
 * --boot-dump: the model's hosts start from the dumped boot, and the JSON
 * says which (path and FNV-1a of its bytes, what merge pools by); a dump of
 * another size, or a bad one, is refused with one line and exit 2.
 */
static void watch_again_from_a_boot_dump(void)
{
	static const char flags[] = "--kernel 6.12 --vms 2 --vcpus 1 --mem 256M --seconds 6 --lifetime 0.2";
	char args[1024], dump[512], big[512];
	struct jl *j, *m, *plain;
	struct cli_run r;
	FILE *f;

	tu_dir_setup("watch-dump");
	write_run_folder("6.12.0-test", NULL);
	write_churn_result(4);
	snprintf(dump, sizeof(dump), "%s", tu_path("boot.dump"));
	snprintf(big, sizeof(big), "%s", tu_path("big.dump"));
	write_dump(dump, 256);
	write_dump(big, 1024);
	snprintf(args, sizeof(args), "%s --boot-dump %s", flags, dump);
	j = again_json(args);
	plain = again_json(flags);
	m = jl_get(j, "model_estimate");
	KASSERT(m != NULL);
	KEXPECT_EQ(strcmp(jl_get(m, "boot_dump")->str, dump), 0);
	KEXPECT_EQ(strlen(jl_get(m, "boot_dump_fnv1a")->str), 16);
	KEXPECT_EQ(jl_get(m, "age_pct")->num, 0);   /* the dump holds the boot's use of memory */
	KEXPECT(jl_get(jl_get(plain, "model_estimate"), "boot_dump") == NULL);
	/* the same VMs made, from another start: the counts agree, the pages do not */
	KEXPECT_EQ(jl_get(m, "vmcb01_allocated")->num, jl_get(jl_get(plain, "model_estimate"), "vmcb01_allocated")->num);
	jl_free(plain);
	jl_free(j);
	snprintf(args, sizeof(args), "watch --again --out %s %s --boot-dump %s", tu_path(""), flags, dump);
	r = cli_run(args);
	KEXPECT_EQ(r.status, 0);
	KEXPECT(strstr(r.out, "started from the boot dumped in --boot-dump") != NULL);
	cli_run_free(&r);
	snprintf(args, sizeof(args), "watch --again --out %s %s --boot-dump %s", tu_path(""), flags, big);
	r = cli_run(args);
	KEXPECT_EQ(r.status, 2);
	KEXPECT(strstr(r.err, "is of a 1024 MiB host, not of 256 MiB") != NULL);
	KEXPECT_EQ(cli_lines(r.err), 1);
	cli_run_free(&r);
	f = fopen(big, "w");
	KASSERT(f);
	fprintf(f, "0 mt 9 buddy 0 pcp 0\n");
	fclose(f);
	r = cli_run(args);
	KEXPECT_EQ(r.status, 2);
	KEXPECT(strstr(r.err, "line 1: migratetype") != NULL);
	cli_run_free(&r);
	/* a dump of an aged boot for a fresh run: another host */
	f = fopen(dump, "a");
	KASSERT(f);
	fprintf(f, "aged 2\n");
	fclose(f);
	snprintf(args, sizeof(args), "watch --again --out %s %s --boot-dump %s", tu_path(""), flags, dump);
	r = cli_run(args);
	KEXPECT_EQ(r.status, 2);
	KEXPECT(strstr(r.err, "is of a boot aged 2 rounds") != NULL);
	cli_run_free(&r);
	tu_dir_teardown();
}

/*
 * --again judges a finished run folder without booting: a hand-made one
 * holding the changelog's steps (an aligned VMCB run on CPU 1, a 2M-leaf
 * store by CPU 0 into its region) must give one aligned VMCB under a
 * hugepage leaf, one possible spurious #PF from replay, and a model estimate.
 */
static void watch_again_judges_a_run_folder(void)
{
	char cmd[512];
	struct jl *j, *m;

	tu_dir_setup("watch-again");
	write_run_folder("6.1.0-test", NULL);
	j = again_json("--vms 1 --vcpus 1 --mem 256M");
	m = jl_get(j, "measured");
	KEXPECT(m && jl_get(m, "vmcb_aligned")->num == 1 && jl_get(m, "vmcb_distinct")->num == 1);
	KEXPECT(m && jl_get(m, "aligned_under_hugepage_leaf")->num == 1);
	/* replay's bounds: possible, not proven (CPU 0 may hold the 2M entry from before the mark) */
	KEXPECT(m && jl_get(jl_get(m, "spurious_faults"), "possible")->num == 1);
	KEXPECT(m && jl_get(jl_get(m, "spurious_faults"), "proven")->num == 0);
	m = jl_get(j, "model_estimate");
	KEXPECT(m && !strcmp(jl_get(m, "kernel")->str, "6.1") && jl_get(m, "trials")->num == 8);
	KEXPECT(m && jl_get(m, "vmcb01_allocated")->num == 8);
	/*
	 * a fresh run's model is not aged (docs/MODEL.md "Boot state: the
	 * boot's holes"); the boot's in-use share is still reported
	 */
	KEXPECT(m && jl_get(m, "age_pct")->num == 0);
	KEXPECT_EQ(jl_get(jl_get(j, "ageing"), "in_use_pct")->num, 5);
	/* the watched kernel's RAM map: QEMU pc's e820 (docs/WATCH.md "Model against reality") */
	KEXPECT(m && jl_get(m, "layout") && !strcmp(jl_get(m, "layout")->str, "qemu-pc"));
	KEXPECT_EQ(jl_get(jl_get(j, "kprobe_hits"), "svm_vcpu_create")->num, 1);
	/* replay's verdicts ride along: one function stored, one report kept. */
	m = jl_get(jl_get(j, "replay"), "reports");
	KEXPECT_EQ(jl_len(m), 1);
	KEXPECT(jl_at(m, 0) != NULL);
	/* A run folder from before the allocation log: provenance not recorded, no error. */
	m = jl_get(j, "provenance");
	KEXPECT(m && jl_get(m, "recorded") && !jl_get(m, "recorded")->boolean);
	KEXPECT(jl_get(jl_get(j, "measured"), "vmcb01_allocations")->type == JL_NULL);
	/*
	 * Stores into VMRUN regions: the one 2M-leaf store, while the VMRUN at
	 * 5 us ran until the #VMEXIT at 7 us (the builder's clock): 1 in 2 us.
	 * The model's tick over this run's rate (docs/MODEL.md "The tick in real time").
	 */
	m = jl_get(j, "vmrun_region_stores");
	KEXPECT(m && num(m, "stores") == 1 && num(jl_get(m, "by_leaf"), "2M") == 1);
	KEXPECT(m && num(jl_get(m, "huge"), "proven") == 1 && num(jl_get(m, "huge"), "possible") == 1);
	KEXPECT(m && fabs(num(m, "seconds") - 2e-6) < 1e-12 && fabs(num(m, "guest_seconds") - 2e-6) < 1e-12);
	KEXPECT(m && fabs(num(jl_get(m, "huge_per_second"), "proven") - 5e5) < 1e-6);
	m = jl_get(jl_get(j, "model_estimate"), "tick_calibrated");
	KEXPECT(m && num(m, "huge_writes_per_tick") > 0);
	KEXPECT(m && fabs(num(m, "lo") / (num(m, "huge_writes_per_tick") / 5e5) - 1) < 1e-5);
	KEXPECT(m && num(m, "lo") == num(m, "hi"));
	jl_free(j);
	snprintf(cmd, sizeof(cmd), "watch --again --out %s --vms 1 --vcpus 1 --mem 256M", tu_path(""));
	{
		struct cli_run r = cli_run(cmd);

		KEXPECT(strstr(r.out, "stores into VMRUN regions (2MB regions holding an in-use page): 1 in "
			       "0.000 s") != NULL);
		KEXPECT(strstr(r.out, "through a hugepage leaf, proven..possible: 1..1, 500000.0..500000.0 "
			       "per second") != NULL);
		KEXPECT(strstr(r.out, "(the tick in real time: this run made 500000.0..500000.0") != NULL);
		cli_run_free(&r);
	}
	/* An empty folder is refused by name. */
	snprintf(cmd, sizeof(cmd), "watch --again --out %s/nothing-here", tu_path(""));
	EXPECT_USAGE_ERROR(cmd, "no finished run");
	EXPECT_USAGE_ERROR("watch --again --baseline --out /tmp", "--baseline");
	tu_dir_teardown();
}

/*
 * A run that recorded no VMCB (no VMRUN in the trace): the measured aligned
 * fraction is over no observation, so it is n/a in text and null in JSON,
 * never 0% [0%, 0%] (issue 23 item 3).
 */
static void watch_again_no_vmcb_is_na(void)
{
	char cmd[512];
	struct cli_run r;
	struct jl *j, *m;
	struct tu b;

	tu_dir_setup("watch-novmcb");
	write_run_folder("6.12.0-test", NULL);
	tu_open(&b, tu_path("raw.trace"), 2, SNP_GiB);
	tu_prologue(&b);
	tu_close(&b);
	j = again_json("--vms 1 --vcpus 1 --mem 256M");
	m = jl_get(j, "measured");
	KASSERT(m);
	KEXPECT_EQ(jl_get(m, "vmcb_distinct")->num, 0);
	KEXPECT(jl_get(m, "aligned_fraction")->type == JL_NULL);
	KEXPECT(jl_get(m, "ci95_lo")->type == JL_NULL && jl_get(m, "ci95_hi")->type == JL_NULL);
	/* the model's side has pages: numbers there */
	KEXPECT(jl_get(jl_get(j, "model_estimate"), "aligned_fraction")->type == JL_NUM);
	jl_free(j);
	snprintf(cmd, sizeof(cmd), "watch --again --out %s --vms 1 --vcpus 1 --mem 256M", tu_path(""));
	r = cli_run(cmd);
	KEXPECT_EQ(r.status, 0);
	KEXPECT(strstr(r.out, "  measured 0 of 0 distinct VMCBs = n/a;") != NULL);
	KEXPECT(strstr(r.out, "[0.000%, 0.000%]") == NULL);
	cli_run_free(&r);
	tu_dir_teardown();
}

/*
 * Provenance from a run folder: the save areas came from the SNP-safe
 * allocator, the 2MB-aligned VMCB from alloc_pages to svm_vcpu_create.
 * The answer is no, with the VMCB's address and call site, in JSON and
 * text; the pool and the free pages are reported beside it.
 */
static void watch_again_reports_provenance(void)
{
	static const char log[] =
		"snpsafe-alloc 1\nallocator kvm_amd:snp_safe_alloc_page_node\n"
		"mem before_load free_pages 1000 pcp_pages 24 slab_pages 100\n"
		"probe alloc_ret hits 2 misses 0\n"
		"pool node 0 parked 1 peak 2 given_back 1 fallbacks 0\n"
		"trace-begin\n"
		"  insmod-1 [000] 1.0: alloc_in: (snp_safe_alloc_page_node+0x4/0x160 [kvm_amd]) node=0 gfp=0xcc0\n"
		"  insmod-1 [000] 1.0: alloc_ret: (svm_hardware_setup+0x491/0x9e0 [kvm_amd] <- "
		"snp_safe_alloc_page_node) page=0xffffea0000048d00\n"
		"  insmod-1 [001] 1.0: alloc_in: (snp_safe_alloc_page_node+0x4/0x160 [kvm_amd]) node=0 gfp=0xcc0\n"
		"  insmod-1 [001] 1.0: alloc_ret: (svm_hardware_setup+0x491/0x9e0 [kvm_amd] <- "
		"snp_safe_alloc_page_node) page=0xffffea0000048d80\n"
		"  workload-2 [000] 2.0: pg_alloc_pages_noprof: (svm_vcpu_create+0x1a/0x180 [kvm_amd] "
		"<ffffffffc03997ea> <- alloc_pages_noprof <ffffffff813f56c4>) page=0xffffea0000010000\n"
		"trace-end\nunload kvm_amd ok\nunload kvm ok\n"
		"mem after_unload free_pages 1020 pcp_pages 0 slab_pages 104\nend\n";
	char cmd[512];
	struct jl *j, *p, *m;
	struct cli_run r;

	tu_dir_setup("watch-prov");
	write_run_folder("6.12.95+deb12-amd64", log);
	j = again_json("--kernel 6.12 --vms 1 --vcpus 1 --mem 256M");
	p = jl_get(j, "provenance");
	KASSERT(p);
	KEXPECT(!strcmp(jl_get(p, "verdict")->str, "no"));
	KEXPECT_EQ(jl_get(jl_get(jl_get(p, "pages"), "hsave"), "from_allocator")->num, 2);
	KEXPECT_EQ(jl_get(jl_get(jl_get(p, "pages"), "vmcb"), "used")->num, 1);
	m = jl_at(jl_get(p, "not_from_allocator"), 0);
	KASSERT(m);
	KEXPECT(!strcmp(jl_get(m, "kind")->str, "vmcb"));
	KEXPECT(!strcmp(jl_get(m, "pa")->str, "0x400000"));
	KEXPECT(jl_get(m, "aligned_2m")->boolean);
	KEXPECT(!strcmp(jl_get(m, "site")->str, "svm_vcpu_create+0x1a/0x180 [kvm_amd]"));
	KEXPECT(!strcmp(jl_get(m, "caller")->str, "0xffffffffc03997ea"));
	/* vmcb01 allocations at their call site, the model's unit (issue 25 item 1) */
	m = jl_get(jl_get(j, "measured"), "vmcb01_allocations");
	KASSERT(m && m->type == JL_OBJ);
	KEXPECT(!strcmp(jl_get(m, "site")->str, "svm_vcpu_create+0x1a/0x180 [kvm_amd]"));
	KEXPECT(jl_get(m, "allocations")->num == 1 && jl_get(m, "aligned")->num == 1);
	KEXPECT(jl_get(m, "aligned_fraction")->num == 1);
	/* exposed (its region took the 2M-leaf store) and clustered alone (issue 25 item 4) */
	m = jl_get(j, "measured");
	KEXPECT(jl_get(m, "vmcb01_exposed")->num == 1 && jl_get(m, "vmcb01_regions_huge_leaf")->num == 1);
	m = jl_get(m, "clustering");
	KASSERT(m && m->type == JL_OBJ);
	KEXPECT(jl_get(m, "pages")->num == 1 && jl_get(m, "regions")->num == 1);
	KEXPECT(jl_get(m, "aligned")->num == 1 && jl_get(m, "aligned_shared")->num == 0);
	/* the model's side: each host's counts, summed into its clustering */
	m = jl_get(j, "model_estimate");
	KEXPECT(jl_at(jl_get(m, "hosts"), (unsigned int)jl_get(m, "trials")->num - 1) != NULL);
	KEXPECT(jl_get(jl_get(m, "clustering"), "pages")->num == jl_get(m, "vmcb01_allocated")->num);
	KEXPECT(jl_get(jl_get(m, "clustering"), "units")->num == jl_get(m, "trials")->num);
	m = jl_get(j, "pool");
	KEXPECT(m && jl_get(m, "present")->boolean && jl_get(jl_get(m, "total"), "parked")->num == 1);
	m = jl_get(j, "free_pages");
	KEXPECT(m && jl_get(m, "difference")->num == -4 && jl_get(m, "slab_difference")->num == 4);
	jl_free(j);

	/* The same run as text: the verdict, the page and its call site, pool and free pages. */
	snprintf(cmd, sizeof(cmd), "watch --again --out %s --kernel 6.12 --vms 1 --vcpus 1 --mem 256M",
		 tu_path(""));
	r = cli_run(cmd);
	KEXPECT_EQ(r.status, 0);
	KEXPECT(strstr(r.out, "no: 1 page(s) did not come from kvm_amd:snp_safe_alloc_page_node"));
	KEXPECT(strstr(r.out, "vmcb  pa 0x000400000 (pfn 0x400) 2MB-aligned: from the page allocator "
			      "at svm_vcpu_create+0x1a/0x180 [kvm_amd]"));
	KEXPECT(strstr(r.out, "parked 1, peak 2, given back 1, fallbacks 0"));
	KEXPECT(strstr(r.out, "  measured 1 of 1 vmcb01 allocations = 100.000% [20.654%, 100.000%] (each "
			      "allocation at svm_vcpu_create+0x1a/0x180 [kvm_amd], as the model counts)\n"));
	KEXPECT(strstr(r.out, "1024 before kvm_amd loaded, 1020 after it unloaded: -4; slab pages +4 (+0 besides the slab)"));
	KEXPECT(strstr(r.out, "  measured 1 pages in 1.0 regions (mean per run), largest 1.0, five busiest 100.0%, "
			      "aligned with company 0 of 1, 1.00 allocations a page\n"));
	KEXPECT(strstr(r.out, "1 of 1 aligned vmcb01 allocations under a 2M/1G leaf; 1 of the 1 regions"));
	cli_run_free(&r);

	/* A damaged log fails the judgement with one line naming it. */
	tu_write_bytes(tu_path("alloc.log"), "snpsafe-alloc 1\nallocator none\n", 31);
	r = cli_run(cmd);
	KEXPECT_EQ(r.status, 3);
	KEXPECT(strstr(r.err, "alloc.log") && strstr(r.err, "cut short"));
	KEXPECT_EQ(cli_lines(r.err), 1);
	cli_run_free(&r);
	tu_dir_teardown();
}

/* "watch --again" on tu_dir with name a folder, then an empty file: one line each, naming it once. */
static void expect_again_refuses(const char *name, const char *folder_why, const char *empty_why)
{
	char cmd[512], path[300];

	snprintf(path, sizeof(path), "%s", tu_path(name));
	snprintf(cmd, sizeof(cmd), "watch --again --out %s --vms 1 --vcpus 1 --mem 256M", tu_dir);
	KASSERT_EQ(unlink(path), 0);
	for (int empty = 0; empty < 2; empty++) {
		struct cli_run r;

		if (empty)
			tu_write_bytes(path, "", 0);
		else
			KASSERT_EQ(mkdir(path, 0755), 0);
		r = cli_run(cmd);
		if (r.status != 3 || cli_lines(r.err) != 1 || cli_count(r.err, path) != 1 ||
		    !strstr(r.err, empty ? empty_why : folder_why))
			ktap_fail(__FILE__, __LINE__, "%s as %s: status %d, stderr '%s'", name,
				  empty ? "an empty file" : "a folder", r.status, r.err);
		cli_run_free(&r);
		if (!empty)
			KASSERT_EQ(rmdir(path), 0);
	}
}

/*
 * The files --again reads, each a folder or empty (issue 23): the trace, the
 * guest's kallsyms and its allocation log get their own one-line reason,
 * never "bad magic", a silent run without symbols or a bare "read error".
 */
static void watch_again_file_errors(void)
{
	tu_dir_setup("watch-files");
	write_run_folder("6.12.95+deb12-amd64", "snpsafe-alloc 1\n");
	expect_again_refuses("raw.trace", ": a directory, not a snpsafe trace",
			     ": empty file (0 bytes), not a snpsafe trace");
	write_run_folder("6.12.95+deb12-amd64", "snpsafe-alloc 1\n");
	expect_again_refuses("kallsyms", ": a directory, not a kallsyms listing",
			     ": empty, not a kallsyms listing");
	write_run_folder("6.12.95+deb12-amd64", "snpsafe-alloc 1\n");
	expect_again_refuses("alloc.log", ": a directory, not an allocation log",
			     ": empty, not an allocation log");
	tu_dir_teardown();
}

/* --age-rounds and --age-seed: whole numbers in range, refused before anything boots. */
static void watch_age_flags(void)
{
	struct cli_run r;

	EXPECT_USAGE_ERROR("watch --kernel 6.12 --age-rounds 33", "--age-rounds");
	EXPECT_USAGE_ERROR("watch --kernel 6.12 --age-rounds -1", "--age-rounds");
	EXPECT_USAGE_ERROR("watch --kernel 6.12 --age-rounds 2.5", "--age-rounds");
	EXPECT_USAGE_ERROR("watch --kernel 6.12 --age-rounds many", "--age-rounds");
	EXPECT_USAGE_ERROR("watch --kernel 6.12 --age-rounds", "--age-rounds");
	EXPECT_USAGE_ERROR("watch --kernel 6.12 --age-rounds 4 --age-seed -3", "--age-seed");
	EXPECT_USAGE_ERROR("watch --kernel 6.12 --age-rounds 4 --age-seed x1", "--age-seed");
	/* good values pass every check and go on to look for the tree */
	r = cli_run("watch --kernel 6.12 --vms 2 --vcpus 1 --seconds 1 --mem 512M --age-rounds 32 "
		    "--age-seed 18446744073709551615");
	KEXPECT_EQ(r.status, 3);
	KEXPECT(strstr(r.err, "watch/run.sh"));
	cli_run_free(&r);
}

/* Lines added to tu_dir's result (read_result keeps a key's last value). */
static void append_result(const char *lines)
{
	FILE *f = fopen(tu_path("result"), "a");

	KASSERT(f);
	fputs(lines, f);
	fclose(f);
}

/*
 * The ageing a run had goes into --json: config.age_rounds (what `snpsafe
 * merge` compares between runs), the seed and what the ager kept under
 * "ageing", and the memory in use at the workload's start as the model's
 * age.  --again with other ageing flags than the run's is refused.
 */
static void watch_again_records_ageing(void)
{
	char cmd[512];
	struct jl *j, *a;

	tu_dir_setup("watch-age");
	write_run_folder("6.12.95+deb12-amd64", NULL);
	j = again_json("--vms 1 --vcpus 1 --mem 256M");
	KEXPECT_EQ(jl_get(jl_get(j, "config"), "age_rounds")->num, 0);
	a = jl_get(j, "ageing");
	KASSERT(a);
	KEXPECT_EQ(jl_get(a, "rounds")->num, 0);
	KEXPECT(jl_get(a, "seed")->type == JL_NULL);
	KEXPECT(jl_get(a, "kept_cache_kb") == NULL);
	KEXPECT_EQ(jl_get(a, "in_use_kb")->num, 262144 - 249036);
	jl_free(j);

	append_result("mem_free_kb=131072\nage_rounds=8\nage_seed=5\n"
		      "age=rounds=8 seed=5 keep_pct=45 made_mib=281 kept_cache_kb=61234 "
		      "kept_anon_kb=50123 kept_files=12800 kept_fds=630 vms=16 vcpus=32 capped=0 "
		      "failures=0 elapsed=30.10\n");
	j = again_json("--vms 1 --vcpus 1 --mem 256M --age-rounds 8 --age-seed 5");
	KEXPECT_EQ(jl_get(jl_get(j, "config"), "age_rounds")->num, 8);
	a = jl_get(j, "ageing");
	KASSERT(a);
	KEXPECT_EQ(jl_get(a, "rounds")->num, 8);
	KEXPECT_EQ(jl_get(a, "seed")->num, 5);
	KEXPECT_EQ(jl_get(a, "kept_cache_kb")->num, 61234);
	KEXPECT_EQ(jl_get(a, "kept_anon_kb")->num, 50123);
	KEXPECT_EQ(jl_get(a, "vcpus")->num, 32);
	KEXPECT_EQ(jl_get(a, "in_use_kb")->num, 131072);
	KEXPECT_EQ(jl_get(a, "in_use_pct")->num, 50);
	/* the model ages its hosts as far as the guest was at the workload's start */
	KEXPECT_EQ(jl_get(jl_get(j, "model_estimate"), "age_pct")->num, 50);
	jl_free(j);

	/* another ageing than the run's would be a config that lies */
	snprintf(cmd, sizeof(cmd), "watch --again --out %s --vms 1 --vcpus 1 --mem 256M", tu_path(""));
	EXPECT_USAGE_ERROR(cmd, "--age-rounds 8 --age-seed 5");
	snprintf(cmd, sizeof(cmd), "watch --again --out %s --vms 1 --vcpus 1 --mem 256M "
		 "--age-rounds 8 --age-seed 6", tu_path(""));
	EXPECT_USAGE_ERROR(cmd, "--age-rounds 8 --age-seed 5");
	tu_dir_teardown();
}

/* watch --again --json on tu_dir's folder with @flags, its output written to @path. */
static void again_to_file(const char *flags, const char *path)
{
	char cmd[1024];
	struct cli_run r;

	snprintf(cmd, sizeof(cmd), "watch --again --out %s %s --json", tu_path(""), flags);
	r = cli_run(cmd);
	KEXPECT_EQ(r.status, 0);
	tu_write_bytes(path, r.out, strlen(r.out));
	cli_run_free(&r);
}

/* @path's bytes (up to 1 MiB), NUL-terminated, their count in *len; free() them. */
static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = calloc(1, 1 << 20);

	KASSERT(f && buf);
	*len = fread(buf, 1, (1 << 20) - 1, f);
	fclose(f);
	return buf;
}

/*
 * watch --remodel @path [@more]: exit status, stdout compared with
 * @same_as's bytes (NULL: not compared), stderr's lines.
 */
static void expect_remodel_as(const char *path, const char *more, int status, const char *same_as,
			      const char *err)
{
	char cmd[1024];
	struct cli_run r;

	snprintf(cmd, sizeof(cmd), "watch --remodel %s%s", path, more);
	r = cli_run(cmd);
	KEXPECT_EQ(r.status, status);
	if (same_as) {
		size_t len;
		char *want = slurp(same_as, &len);

		KEXPECT(strlen(r.out) == len && !memcmp(r.out, want, len));
		free(want);
	}
	if (err) {
		KEXPECT(strstr(r.err, err) != NULL);
		KEXPECT_EQ(cli_lines(r.err), 1);
		if (!strstr(r.err, err))
			ktap_log("stderr: %s", r.err);
	}
	cli_run_free(&r);
}

/* As expect_remodel_as(), stdout compared with @path's own bytes when @same. */
static void expect_remodel(const char *path, const char *more, int status, bool same, const char *err)
{
	expect_remodel_as(path, more, status, same ? path : NULL, err);
}

/* @from's bytes with the first @old replaced by @new, written to @to. */
static void rewrite_file(const char *from, const char *to, const char *old, const char *new)
{
	size_t len;
	char *buf = slurp(from, &len), *at = strstr(buf, old), *out;

	KASSERT(at);
	out = calloc(1, len + strlen(new) + 1);
	KASSERT(out);
	memcpy(out, buf, (size_t)(at - buf));
	strcat(out, new);
	strcat(out, at + strlen(old));
	tu_write_bytes(to, out, strlen(out));
	free(out);
	free(buf);
}

/*
 * --remodel FILE: a recorded run's model estimate made again from the JSON
 * alone (its folder gone), by the same build the same bytes as --again
 * wrote them: churned, and from a boot dump (whose bytes must be the
 * recorded ones: another dump, or none, is refused); a record of the
 * rules given --boot-dump made from that dump, as --again with it.  A file that is no watch run,
 * or --remodel with a flag that would boot or read a folder, is refused
 * with one line.  A run judged before the churn's timeline was recorded
 * gets this build's (watch's: the same bytes again); a timeline that is
 * not one is refused.
 */
static void watch_remodel_reproduces_again(void)
{
	static const char flags[] = "--kernel 6.12 --vms 2 --vcpus 1 --mem 256M --seconds 6 --lifetime 0.2";
	char rec[512], recd[512], dump[512], other[512], args[1024];
	FILE *f;

	tu_dir_setup("watch-remodel");
	write_run_folder("6.12.0-test", NULL);
	write_churn_result(30);
	snprintf(rec, sizeof(rec), "%s", tu_path("run.json"));
	snprintf(recd, sizeof(recd), "%s", tu_path("run-dump.json"));
	snprintf(dump, sizeof(dump), "%s", tu_path("boot.dump"));
	snprintf(other, sizeof(other), "%s", tu_path("other.dump"));
	write_dump(dump, 256);
	again_to_file(flags, rec);
	expect_remodel(rec, "", 0, true, NULL);
	{	/* the model's fallbacks, as mm_page_alloc_extfrag counts them, by request type */
		size_t n = 0;
		char *j = slurp(rec, &n);

		KASSERT(j);
		KEXPECT(strstr(j, "\"fallbacks_per_host\":{\"claimed_pageblocks\":{\"unmovable\":") != NULL);
		KEXPECT(strstr(j, "\"claimed_part_pageblocks\":{\"unmovable\":") != NULL);
		KEXPECT(strstr(j, "\"stolen\":{\"unmovable\":") != NULL);
		free(j);
	}
	snprintf(args, sizeof(args), "%s --boot-dump %s", flags, dump);
	again_to_file(args, recd);
	expect_remodel(recd, "", 0, true, NULL);
	snprintf(args, sizeof(args), " --boot-dump %s", dump);
	expect_remodel(recd, args, 0, true, NULL);
	/* a record of the rules, given a dump: its estimate made from that dump, never the rules' */
	expect_remodel_as(rec, args, 0, recd, NULL);
	snprintf(args, sizeof(args), " --boot-dump %s", tu_path("empty.dump"));
	tu_write_bytes(tu_path("empty.dump"), "", 0);
	expect_remodel(recd, args, 2, false, "empty.dump");
	write_dump(other, 256);   /* the same boot, one more comment line: other bytes */
	f = fopen(other, "a");
	KASSERT(f);
	fprintf(f, "# one more line\n");
	fclose(f);
	snprintf(args, sizeof(args), " --boot-dump %s", other);
	expect_remodel(recd, args, 2, false, "is not the one it was judged with");
	expect_remodel(dump, "", 2, false, "--remodel");
	tu_write_bytes(tu_path("notwatch.json"), "{\"config\":{}}", 13);
	expect_remodel(tu_path("notwatch.json"), "", 2, false, "not a watch --json run");
	expect_remodel(rec, " --again", 2, false, "only --boot-dump goes with it");
	rewrite_file(rec, tu_path("old.json"), ",\"remake_after\":1,\"rcu_grace\":\"end\"", "");
	expect_remodel_as(tu_path("old.json"), "", 0, rec, NULL);   /* the keys written again */
	rewrite_file(rec, tu_path("bad.json"), "\"rcu_grace\":\"end\"", "\"rcu_grace\":\"soon\"");
	expect_remodel(tu_path("bad.json"), "", 2, false, "\"rcu_grace\" must be");
	tu_dir_teardown();
}

static const struct ktap_case cases[] = {
	KTAP_CASE(watch_bad_flags),
	KTAP_CASE(watch_bad_kernel),
	KTAP_CASE(watch_too_many_vcpus),
	KTAP_CASE(watch_help_lists_options),
	KTAP_CASE(watch_good_request_passes_checks),
	KTAP_CASE(watch_again_judges_a_run_folder),
	KTAP_CASE(watch_again_churns_like_the_boot),
	KTAP_CASE(watch_again_models_the_workload),
	KTAP_CASE(watch_again_aged_models_the_ager),
	KTAP_CASE(watch_again_from_a_boot_dump),
	KTAP_CASE(watch_again_reports_provenance),
	KTAP_CASE(watch_again_no_vmcb_is_na),
	KTAP_CASE(watch_again_file_errors),
	KTAP_CASE(watch_age_flags),
	KTAP_CASE(watch_again_records_ageing),
	KTAP_CASE(watch_remodel_reproduces_again),
};

int main(void)
{
	/* Nothing may boot from a test: point the command at a tree without watch/run.sh. */
	setenv("SNPSAFE_TOP", "/nonexistent-snpsafe-top", 1);
	return ktap_main("cli_watch", cases, KTAP_ARRAY_SIZE(cases));
}
