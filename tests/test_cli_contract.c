// SPDX-License-Identifier: MIT
/*
 * test_cli_contract.c - the command's contract, through the built binary,
 * for every subcommand (issue 12): no result that depends on flag order, the
 * knobs in force printed, a simulate config that reruns to the same output,
 * output errors reported (exit 3, one line), empty and option-like values
 * refused, --help/--version/help CMD exact, JSON numbers exact in a double,
 * the model's limits refused up front naming the flag, no internal error
 * code names, --svg file errors with their reason, and help that lists
 * every option, question and knob; the exit statuses listed by --help and the
 * README alike, --kvm/--guest/--mix's values and defaults from the tables
 * that parse them, and what vmrun_marks=all marks (issue 23).
 */
#include "cli_json.h"

#include <limits.h>
#include <math.h>
#include <sys/stat.h>

#include <snpsafe/guest_vmsa.h>
#include <snpsafe/kvm.h>
#include <snpsafe/profile.h>
#include <snpsafe/sim.h>

/* The exit status and stderr of a run, and that stderr names no internal code. */
#define EXPECT_NO_CODE_NAME(r) do { \
	if (strstr((r).err, "SNP_E")) \
		ktap_fail(__FILE__, __LINE__, "stderr names an internal code: %s", (r).err); \
} while (0)

/* ---- Silent wrong answers ---------------------------------------------------------- */

/* An explicit knob wins over the preset whatever the order on the line. */
static void test_knob_before_or_after_profile(void)
{
	struct cli_run a = cli_run("repro --json --knob inuse_erratum=off --profile early-snp");
	struct cli_run b = cli_run("repro --json --profile early-snp --knob inuse_erratum=off");
	struct jl *doc;

	KEXPECT_EQ(a.status, 0);
	KEXPECT_EQ(b.status, 0);
	KEXPECT(!strcmp(a.out, b.out));
	cli_run_free(&a);
	cli_run_free(&b);
	doc = run_json("repro --json --knob inuse_erratum=off --profile early-snp");
	KEXPECT_EQ(num(jl_at(jl_get(doc, "runs"), 0), "spurious_faults"), 0);   /* naive's */
	KEXPECT(!strcmp(str(jl_get(doc, "knobs"), "inuse_erratum"), "off"));
	jl_free(doc);
	/* The other way round: a fixed part with the erratum turned back on faults. */
	doc = run_json("repro --json --knob inuse_erratum=on --profile fixed");
	KEXPECT(num(jl_at(jl_get(doc, "runs"), 0), "spurious_faults") > 0);
	KEXPECT(!strcmp(str(doc, "profile"), "fixed"));
	KEXPECT(!strcmp(str(jl_get(doc, "knobs"), "inuse_erratum"), "on"));
	jl_free(doc);
	/* The knob's old name is refused, in one line naming the knob it became (issue 23). */
	EXPECT_USAGE_ERROR("repro --json --knob erratum_on_reads=on",
			   "knob 'erratum_on_reads' in --knob erratum_on_reads=on is now named "
			   "'inuse_reads_fault': --knob inuse_reads_fault=on");
	EXPECT_USAGE_ERROR("simulate --knob erratum_on_reads", "--knob inuse_reads_fault=VALUE");
	/* Repeated: the last one given wins, and a knob equal to the preset is not listed. */
	doc = run_json("repro --json --knob inuse_reads_fault=on --knob inuse_reads_fault=off");
	KEXPECT(jl_get(doc, "knobs") && jl_get(doc, "knobs")->type == JL_OBJ);
	KEXPECT(jl_get(jl_get(doc, "knobs"), "inuse_reads_fault") == NULL);
	jl_free(doc);
}

/* The text says which knobs were in force next to the profile's name. */
static void test_text_names_knobs_in_force(void)
{
	struct cli_run r = cli_run("repro --profile fixed --knob inuse_erratum=on");

	KEXPECT_EQ(r.status, 0);
	KEXPECT(strstr(r.out, "== naive allocator (counterfactual: no workaround), fixed profile "
			      "with inuse_erratum=on ==") != NULL);
	KEXPECT(strstr(r.out, "Result: 1 spurious RMP #PF") != NULL);
	cli_run_free(&r);
	r = cli_run("simulate --mem 128M --cpus 2 --vms 2 --vcpus 1 --ticks 4 --trials 1 "
		    "--strategy naive --knob vmrun_marks=vmcb,hsave --knob inuse_reads_fault=on");
	KEXPECT_EQ(r.status, 0);
	KEXPECT(strstr(r.out, "profile early-snp with vmrun_marks=vmcb,hsave, inuse_reads_fault=on") ||
		strstr(r.out, "profile early-snp with inuse_reads_fault=on, vmrun_marks=vmcb,hsave"));
	cli_run_free(&r);
}

/* simulate --json's config holds every flag: running it again gives the same output. */
static void test_simulate_config_reruns(void)
{
	static const char first[] =
		"simulate --json --mem 128M --cpus 3 --vms 5 --vcpus 2 --mix svm:3,snp:2,nested "
		"--age 40 --ticks 16 --trials 3 --threads 2 --strategy sieve --profile fixed "
		"--knob inuse_erratum=on --knob rmp_check_every_access=on --seed 18446744073709551557";
	struct cli_run a = cli_run(first), b;
	struct jl *doc = jl_parse(a.out);
	const struct jl *c, *strat;
	char args[1024];

	KEXPECT_EQ(a.status, 0);
	KASSERT(doc && (c = jl_get(doc, "config")));
	/* The seed is above 2^53: a string, exact. */
	KEXPECT(!strcmp(str(c, "seed"), "18446744073709551557"));
	KEXPECT(!strcmp(str(c, "mix"), "svm:3,snp:2,nested:1"));
	strat = jl_get(c, "strategies");
	KASSERT(strat && strat->type == JL_ARR && jl_len(strat) == 1);
	cli_sim_config_args(c, " --json", args, sizeof(args));
	ktap_log("rerun: %s", args);
	b = cli_run(args);
	KEXPECT_EQ(b.status, 0);
	KEXPECT(!strcmp(a.out, b.out));
	jl_free(doc);
	cli_run_free(&a);
	cli_run_free(&b);
}

/* Output to a full or closed stdout: exit 3 (never a finding's 1) and one line saying so. */
static void test_output_errors_are_reported(void)
{
	static const char *const cmds[] = {
		"repro", "repro --json", "explain", "explain --json stale-tlb", "--help", "--version",
		"help simulate", "simulate --mem 128M --vms 2 --ticks 4 --trials 1 --json",
	};

	for (unsigned int i = 0; i < KTAP_ARRAY_SIZE(cmds); i++)
		cli_expect_write_error(cmds[i]);
}

/* With stdout closed, the --svg file must not receive the text output. */
static void test_closed_stdout_keeps_svg_clean(void)
{
	char svg[] = "/tmp/snpsafe-test-svg-XXXXXX", args[128];
	int fd = mkstemp(svg);
	struct cli_run r;
	char *text;

	KASSERT(fd >= 0);
	close(fd);
	snprintf(args, sizeof(args), "repro --svg %s", svg);
	r = cli_run_redir(args, ">&-");
	KEXPECT_EQ(r.status, 3);
	cli_run_free(&r);
	text = cli_slurp(svg);
	KASSERT(text != NULL);
	KEXPECT(!strncmp(text, "<?xml", 5));
	KEXPECT(strstr(text, "== naive") == NULL);
	free(text);
	unlink(svg);
}

static void test_empty_values_refused(void)
{
	EXPECT_USAGE_ERROR("repro --knob vmrun_marks=", "vmrun_marks");
	EXPECT_USAGE_ERROR("simulate --knob vmrun_marks=", "empty value");
	EXPECT_USAGE_ERROR("repro --knob vmrun_marks=vmcb,,avic", "vmrun_marks");
	EXPECT_USAGE_ERROR("repro --strategy ''", "--strategy");
	EXPECT_USAGE_ERROR("repro --svg ''", "--svg");
	EXPECT_USAGE_ERROR("repro --svg=", "--svg");
	EXPECT_USAGE_ERROR("simulate --mem=", "--mem");
	EXPECT_USAGE_ERROR("simulate --mix ''", "--mix");
	EXPECT_USAGE_ERROR("simulate --seed ''", "empty value");
	EXPECT_USAGE_ERROR("bench --scale-mem ''", "--scale-mem");
	EXPECT_USAGE_ERROR("repro --knob =on", "knob");
}

/* "--svg --json" is a missing value, not a file named --json. */
static void test_option_like_values_refused(void)
{
	char dir[] = "/tmp/snpsafe-test-dir-XXXXXX", cmd[512], path[600];
	struct stat st;

	EXPECT_USAGE_ERROR("repro --svg --json", "--svg");
	EXPECT_USAGE_ERROR("simulate --seed --json", "--seed");
	EXPECT_USAGE_ERROR("simulate --strategy -x", "--strategy");
	EXPECT_USAGE_ERROR("repro --knob --json", "--knob");
	KASSERT(mkdtemp(dir) != NULL);
	snprintf(cmd, sizeof(cmd), "cd %s && %s repro --svg --json >/dev/null 2>&1", dir, cli_bin());
	KEXPECT_EQ(WEXITSTATUS(system(cmd)), 2);
	snprintf(path, sizeof(path), "%s/--json", dir);
	KEXPECT(stat(path, &st) != 0);
	unlink(path);
	rmdir(dir);
}

static void test_help_version_help_cmd(void)
{
	struct cli_run a, b;

	EXPECT_USAGE_ERROR("--version --bogus", "--bogus");
	EXPECT_USAGE_ERROR("--help --bogus", "--bogus");
	EXPECT_USAGE_ERROR("repro --help --bogus", "--bogus");
	EXPECT_USAGE_ERROR("simulate --bogus --help", "--bogus");
	EXPECT_USAGE_ERROR("help nosuch", "nosuch");
	EXPECT_USAGE_ERROR("help repro extra", "extra");
	static const char *const cmds[] = { "repro", "simulate", "explain", "bench", "watch",
					    "host", "replay" };

	for (unsigned int i = 0; i < KTAP_ARRAY_SIZE(cmds); i++) {
		char h[64], o[64];

		snprintf(h, sizeof(h), "help %s", cmds[i]);
		snprintf(o, sizeof(o), "%s --help", cmds[i]);
		a = cli_run(h);
		b = cli_run(o);
		KEXPECT_EQ(a.status, 0);
		KEXPECT(!strcmp(a.out, b.out));
		KEXPECT(strstr(a.out, "usage: snpsafe ") && strstr(a.out, cmds[i]));
		cli_run_free(&a);
		cli_run_free(&b);
	}
	a = cli_run("help");
	b = cli_run("help --help");
	KEXPECT_EQ(a.status, 0);
	KEXPECT(strstr(a.out, "commands:") != NULL);
	KEXPECT_EQ(b.status, 0);
	KEXPECT(!strcmp(a.out, b.out));
	cli_run_free(&a);
	cli_run_free(&b);
}

/* Every number in a JSON document is an integer a double holds exactly, or not an integer. */
static void expect_numbers_exact(const struct jl *v, const char *what)
{
	for (; v; v = v->next) {
		if (v->type == JL_NUM && v->num == floor(v->num) && fabs(v->num) > 9007199254740992.0)
			ktap_fail(__FILE__, __LINE__, "%s: key '%s' is %g, above 2^53", what,
				  v->key ? v->key : "?", v->num);
		if (v->type == JL_ARR || v->type == JL_OBJ)
			expect_numbers_exact(v->child, what);
	}
}

static void test_json_addresses_hex_big_numbers_strings(void)
{
	struct jl *doc = run_json("repro --json");
	const struct jl *naive = jl_at(jl_get(doc, "runs"), 0), *f = jl_get(naive, "fault");

	KASSERT(f != NULL);
	KEXPECT(!strncmp(str(f, "va"), "0xffff888", 9));   /* above 2^53: exact as text */
	KEXPECT(!strncmp(str(f, "pa"), "0x", 2));
	KEXPECT(!strcmp(str(f, "error_code"), "0x80000003"));
	KEXPECT(!strncmp(str(naive, "vmcb_pfn"), "0x", 2));
	KEXPECT(strtoull(str(naive, "vmcb_pfn"), NULL, 16) % 512 == 0);   /* naive: the aligned page */
	KEXPECT(!strncmp(str(naive, "write_pfn"), "0x", 2));
	expect_numbers_exact(doc, "repro");
	jl_free(doc);
	doc = run_json("simulate --json --mem 128M --vms 2 --ticks 4 --trials 1 --seed 9007199254740993");
	KEXPECT(!strcmp(str(jl_get(doc, "config"), "seed"), "9007199254740993"));
	expect_numbers_exact(doc, "simulate");
	jl_free(doc);
	doc = run_json("explain --json");
	expect_numbers_exact(doc, "explain");
	jl_free(doc);
}

/* ---- Limits discovered at run time ---------------------------------------------------- */

static void test_limits_refused_up_front(void)
{
	EXPECT_USAGE_ERROR("bench --scale-vms 1019", "1018");
	EXPECT_USAGE_ERROR("bench --scale-vms 1018 --scale-mem 256M", "--scale-vms");
	EXPECT_USAGE_ERROR("simulate --mem 60M", "--mem");
	/*
	 * ASIDs running out and VMs that do not fit are outcomes now
	 * (tests/test_cli_pressure.c): a 64M host aged to 95% with 16 VMs of
	 * 64 vCPUs runs, counting what failed.
	 */
	{
		struct cli_run r = cli_run("simulate --cpus 4 --mem 64M --age 95 --vms 16 --vcpus 64 "
					   "--ticks 0 --trials 2");

		KEXPECT_EQ(r.status, 0);
		KEXPECT(strstr(r.out, "VM outcomes") != NULL);
		EXPECT_NO_CODE_NAME(r);
		cli_run_free(&r);
	}
}

/*
 * The memory check counts the hosts that can be alive at once, not --threads.
 * A 4 TiB host is charged its window (sim_mc_trial_bytes(): about 160 MiB),
 * so it takes 180 of them to outgrow a machine with under 32 GiB available.
 */
static void test_memory_check_counts_real_workers(void)
{
	struct cli_run r;
	FILE *f = fopen("/proc/meminfo", "r");
	unsigned long long kb = 0;
	char line[128];

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "MemAvailable: %llu kB", &kb) == 1)
			break;
	if (f)
		fclose(f);
	if (!kb || kb > 32ULL * 1024 * 1024)
		ktap_skip("needs /proc/meminfo and under 32 GiB available (180 4T hosts must not fit)");
	r = cli_run("simulate --mem 4T --threads 256 --trials 180 --strategy naive");
	KEXPECT_EQ(r.status, 2);
	KEXPECT(strstr(r.err, "with 180 host(s) at once") != NULL);
	cli_run_free(&r);
	r = cli_run("simulate --mem 4T --threads 256 --trials 100 --strategy all");
	KEXPECT(strstr(r.err, "with 256 host(s) at once") != NULL);
	cli_run_free(&r);
	r = cli_run("simulate --mem 4T --threads 200 --trials 100");
	KEXPECT(strstr(r.err, "with 200 host(s) at once") != NULL);
	cli_run_free(&r);
}

/*
 * A host too small for its CPUs' free-page lists counts the creations that
 * failed and exits 0 (test_cli_pressure.c has the figures); no model error
 * reads as an internal code name.
 */
static void test_runtime_failure_in_plain_words(void)
{
	struct cli_run r = cli_run("simulate --cpus 256 --mem 64M --trials 1 --ticks 4 --strategy naive");

	/* Every code has words of its own, none of them a code name. */
	for (int err = -1; err >= -40; err--)
		if (strstr(snp_error_text(err), "SNP_") || !strcmp(snp_error_text(err), snp_strerror(err)))
			ktap_fail(__FILE__, __LINE__, "code %d reads '%s'", err, snp_error_text(err));

	EXPECT_NO_CODE_NAME(r);
	KEXPECT_EQ(r.status, 0);
	KEXPECT_EQ(strlen(r.err), 0);
	cli_run_free(&r);
}

static void test_bad_values_list_choices(void)
{
	EXPECT_USAGE_ERROR("simulate --strategy greedy", "naive, upstream, sieve, all");
	EXPECT_USAGE_ERROR("repro --strategy greedy", "naive, upstream, sieve");
	EXPECT_USAGE_ERROR("repro --profile zen9", "early-snp, hv-inuse-wr, fixed");
	EXPECT_USAGE_ERROR("simulate --cpus 0", "1..256");
	EXPECT_USAGE_ERROR("simulate --age 99", "0..95");
	EXPECT_USAGE_ERROR("simulate --mix windows", "svm, sev, sev-es, snp, nested");
	EXPECT_USAGE_ERROR("bench --pairs 10", "1000..");
	EXPECT_USAGE_ERROR("repro --knob nosuch=1", "unknown knob 'nosuch'");
	EXPECT_USAGE_ERROR("repro --knob nosuch=1", "rmp_check_every_access");
	EXPECT_USAGE_ERROR("repro --knob inuse_reads_fault=maybe", "bad value 'maybe' for knob 'inuse_reads_fault'");
	EXPECT_USAGE_ERROR("simulate --knob rmpupdate_overlap=loose", "strict, allow-4k-shared");
}

/* --svg's file: a directory, a full device, a missing folder: exit 2 with the reason. */
static void test_svg_file_errors(void)
{
	EXPECT_USAGE_ERROR("repro --svg /tmp", "Is a directory");
	EXPECT_USAGE_ERROR("repro --svg /dev/full", "No space left on device");
	EXPECT_USAGE_ERROR("repro --svg /nonexistent-dir/x.svg", "No such file or directory");
}

/* ---- Help and docs ------------------------------------------------------------------- */

/* README.md next to the build directory the command lives in. */
static char *read_readme(void)
{
	char path[PATH_MAX], *slash;
	char *text;

	snprintf(path, sizeof(path), "%s", cli_bin());
	for (int up = 0; up < 2; up++) {
		slash = strrchr(path, '/');
		if (!slash)
			ktap_skip("cannot locate README.md from SNPSAFE_BIN");
		*slash = '\0';
	}
	strncat(path, "/README.md", sizeof(path) - strlen(path) - 1);
	text = cli_slurp(path);
	if (!text)
		ktap_skip("README.md not found next to the build directory");
	return text;
}

/* The README synopsis of cmd: from "snpsafe CMD " to the next "snpsafe " line. */
static char *readme_synopsis(const char *readme, const char *cmd)
{
	char tag[40];
	const char *start, *end;

	snprintf(tag, sizeof(tag), "\nsnpsafe %s ", cmd);
	start = strstr(readme, tag);
	if (!start)
		return NULL;
	start++;
	end = strstr(start, "\nsnpsafe ");
	if (!end || end > strstr(start, "```"))
		end = strstr(start, "```");
	return end ? strndup(start, (size_t)(end - start)) : NULL;
}

static void test_help_and_readme_list_every_option(void)
{
	static const char *const cmds[] = { "repro", "simulate", "explain", "bench", "watch",
					    "host", "replay" };
	char *readme = read_readme();

	for (unsigned int i = 0; i < KTAP_ARRAY_SIZE(cmds); i++) {
		char args[64], *syn = readme_synopsis(readme, cmds[i]);
		struct cli_run r;
		unsigned int n = 0;

		snprintf(args, sizeof(args), "%s --help", cmds[i]);
		r = cli_run(args);
		KEXPECT_EQ(r.status, 0);
		if (!syn) {
			ktap_fail(__FILE__, __LINE__, "README has no synopsis for %s", cmds[i]);
			cli_run_free(&r);
			continue;
		}
		/* Every option of --help ("  --name ...") is in the README synopsis. */
		for (const char *p = r.out; (p = strstr(p, "\n  --")); p += 3) {
			char opt[40], want[44];

			if (sscanf(p + 3, "%36[a-z-]", opt) != 1 || !strcmp(opt, "--help"))
				continue;
			snprintf(want, sizeof(want), "[%s", opt);
			n++;
			if (!strstr(syn, want))
				ktap_fail(__FILE__, __LINE__, "README synopsis of %s lacks %s", cmds[i], opt);
		}
		/* And every option the synopsis shows is one --help lists. */
		for (const char *p = syn; (p = strstr(p, "[--")); p += 3) {
			char opt[40], want[48];

			if (sscanf(p + 1, "%38[a-z-]", opt) != 1)
				continue;
			snprintf(want, sizeof(want), "\n  %s", opt);
			if (!strstr(r.out, want))
				ktap_fail(__FILE__, __LINE__, "%s --help lacks README's %s", cmds[i], opt);
		}
		KEXPECT(n >= 1);
		free(syn);
		cli_run_free(&r);
	}
	free(readme);
}

static void test_help_lists_questions_and_knobs(void)
{
	static const char *const ids[] = { "uncovered", "visible", "rmpupdate-race", "writes-only",
					    "unaligned", "stale-tlb", "all-vms", "vmexit" };
	struct cli_run r = cli_run("explain --help");
	const struct snp_knob *k;

	for (unsigned int i = 0; i < KTAP_ARRAY_SIZE(ids); i++)
		if (!strstr(r.out, ids[i]))
			ktap_fail(__FILE__, __LINE__, "explain --help lacks question %s", ids[i]);
	cli_run_free(&r);
	for (int c = 0; c < 2; c++) {
		r = cli_run(c ? "simulate --help" : "repro --help");
		KEXPECT_EQ(r.status, 0);
		snp_for_each_knob(k) {
			char values[128];

			if (!strstr(r.out, k->name))
				ktap_fail(__FILE__, __LINE__, "--help lacks knob %s", k->name);
			if (!strstr(r.out, snp_knob_values(k, values, sizeof(values))))
				ktap_fail(__FILE__, __LINE__, "--help lacks the values of knob %s", k->name);
		}
		cli_run_free(&r);
	}
}

/*
 * --help lists the exit statuses, each of 0..3 once, and the README lists the
 * same lines verbatim, so neither can drift from the other (issue 23).
 */
static void test_help_lists_exit_codes(void)
{
	static const char *const starts[] = { "  0  done", "  1  a finding", "  2  bad usage",
					      "  3  the run failed" };
	struct cli_run r = cli_run("--help");
	char *readme = read_readme();
	const char *block = strstr(r.out, "\nexit status, every command:\n");

	KEXPECT_EQ(r.status, 0);
	KASSERT(block != NULL);
	for (unsigned int i = 0; i < KTAP_ARRAY_SIZE(starts); i++) {
		char want[40];

		snprintf(want, sizeof(want), "\n%s", starts[i]);
		KEXPECT_EQ(cli_count(block, want), 1);
	}
	/* Every line of the block, to the blank line after it, is in the README. */
	for (const char *p = strchr(block + 1, '\n') + 1; *p && *p != '\n'; p = strchr(p, '\n') + 1) {
		char line[200];

		snprintf(line, sizeof(line), "%.*s\n", (int)strcspn(p, "\n"), p);
		if (!strstr(readme, line))
			ktap_fail(__FILE__, __LINE__, "README lacks --help's exit line '%s'", line);
	}
	free(readme);
	cli_run_free(&r);
}

/* The --NAME line of out, NUL-terminated in buf ("" when missing). */
static const char *help_line(const char *out, const char *name, char *buf, size_t len)
{
	char want[40];
	const char *p;

	snprintf(want, sizeof(want), "\n  --%s ", name);
	p = strstr(out, want);
	snprintf(buf, len, "%.*s", p ? (int)strcspn(p + 1, "\n") : 0, p ? p + 1 : "");
	return buf;
}

/*
 * simulate --help lists --kvm's and --guest's values and --mix's default, as
 * the model's own tables have them (issue 23); repro's --kvm too.
 */
static void test_help_values_from_tables(void)
{
	struct cli_run r = cli_run("simulate --help"), rr = cli_run("repro --help");
	struct sim_mc_config mc;
	char line[512], mix[128] = "", want[160];
	size_t off = 0;

	KEXPECT_EQ(r.status, 0);
	sim_mc_config_init(&mc);
	for (unsigned int k = 0; k < SIM_VM_NR; k++)
		if (mc.mix[k])
			off += (size_t)snprintf(mix + off, sizeof(mix) - off, "%s%s:%u", off ? "," : "",
						sim_vm_kind_name((enum sim_vm_kind)k), mc.mix[k]);
	snprintf(want, sizeof(want), "(default %s)", mix);
	if (!strstr(help_line(r.out, "mix", line, sizeof(line)), want))
		ktap_fail(__FILE__, __LINE__, "--mix line '%s' lacks '%s'", line, want);
	for (unsigned int k = 0; k < SIM_VM_NR; k++)
		KEXPECT(strstr(line, sim_vm_kind_name((enum sim_vm_kind)k)) != NULL);
	for (int c = 0; c < 2; c++) {
		help_line(c ? rr.out : r.out, "kvm", line, sizeof(line));
		for (unsigned int v = 0; v < KVM_NR_VERSIONS; v++) {
			snprintf(want, sizeof(want), " %s,", kvm_version_name((enum kvm_version)v));
			if (v + 1 == KVM_NR_VERSIONS)
				snprintf(want, sizeof(want), " %s ", kvm_version_name((enum kvm_version)v));
			if (!strstr(line, want))
				ktap_fail(__FILE__, __LINE__, "--kvm line '%s' lacks '%s'", line, want);
		}
		snprintf(want, sizeof(want), "default %s)", kvm_version_name(mc.kvm_version));
		KEXPECT(strstr(line, want) != NULL);
	}
	help_line(r.out, "guest", line, sizeof(line));
	for (unsigned int g = 0; g < GUEST_VMSA_NR_STRATEGIES; g++)
		if (!strstr(line, guest_vmsa_strategy_name((enum guest_vmsa_strategy)g)))
			ktap_fail(__FILE__, __LINE__, "--guest line '%s' lacks '%s'", line,
				  guest_vmsa_strategy_name((enum guest_vmsa_strategy)g));
	KEXPECT(strstr(line, "; all; or off (default: ") != NULL);
	cli_run_free(&r);
	cli_run_free(&rr);
}

/*
 * vmrun_marks: "all" in --help is exactly what the parser makes of it, and
 * the role it leaves out, hsave, is named with what it is (issue 23).
 */
static void test_vmrun_marks_all_names_hsave(void)
{
	struct snp_profile p = snp_profile_early_snp;
	const struct snp_knob *k = snp_knob_find("vmrun_marks");
	struct cli_run r = cli_run("repro --help");
	char all[SNP_KNOB_TEXT_MAX], want[128];

	KASSERT(k != NULL);
	KASSERT_EQ(snp_profile_set_knob(&p, "vmrun_marks=all"), 0);
	snp_knob_get(&p, k, all, sizeof(all));
	KEXPECT(!strstr(all, "hsave"));
	snprintf(want, sizeof(want), "or all (%s, not hsave) or none", all);
	KEXPECT(strstr(r.out, want) != NULL);
	KEXPECT(strstr(r.out, "hsave is the host save area (VM_HSAVE_PA), left out of all") != NULL);
	cli_run_free(&r);
	/* Through the command: all plus hsave is a different setting from all. */
	r = cli_run("simulate --mem 128M --cpus 2 --vms 2 --vcpus 1 --ticks 4 --trials 1 "
		    "--strategy naive --knob vmrun_marks=all,hsave");
	KEXPECT_EQ(r.status, 0);
	snprintf(want, sizeof(want), "with vmrun_marks=%s,hsave", all);
	KEXPECT(strstr(r.out, want) != NULL);
	cli_run_free(&r);
}

static void test_no_arguments_short_usage(void)
{
	struct cli_run r = cli_run("");

	KEXPECT_EQ(r.status, 2);
	KEXPECT_EQ(strlen(r.out), 0);
	KEXPECT_EQ(cli_lines(r.err), 1);
	KEXPECT(strstr(r.err, "usage: snpsafe") != NULL);
	cli_run_free(&r);
}

/* make test T=nosuch: tests/run.sh says no test matched and fails. */
static void test_run_sh_no_match_fails(void)
{
	char dir[PATH_MAX], cmd[PATH_MAX * 2 + 64], *slash;
	FILE *p;
	char buf[4096];
	size_t n;
	int st;

	snprintf(dir, sizeof(dir), "%s", cli_bin());
	slash = strrchr(dir, '/');
	KASSERT(slash != NULL);
	*slash = '\0';                       /* the build directory */
	snprintf(cmd, sizeof(cmd), "cd %s/.. && bash tests/run.sh nosuch-test-name %s/tests 2>&1",
		 dir, dir);
	p = popen(cmd, "r");
	KASSERT(p != NULL);
	n = fread(buf, 1, sizeof(buf) - 1, p);
	buf[n] = '\0';
	st = pclose(p);
	KEXPECT(WIFEXITED(st) && WEXITSTATUS(st) != 0);
	KEXPECT(strstr(buf, "no test matched 'nosuch-test-name'") != NULL);
	KEXPECT(strstr(buf, "0 passed, 1 failed") != NULL);
}

static const struct ktap_case cases[] = {
	KTAP_CASE(test_knob_before_or_after_profile),
	KTAP_CASE(test_text_names_knobs_in_force),
	KTAP_CASE(test_simulate_config_reruns),
	KTAP_CASE(test_output_errors_are_reported),
	KTAP_CASE(test_closed_stdout_keeps_svg_clean),
	KTAP_CASE(test_empty_values_refused),
	KTAP_CASE(test_option_like_values_refused),
	KTAP_CASE(test_help_version_help_cmd),
	KTAP_CASE(test_json_addresses_hex_big_numbers_strings),
	KTAP_CASE(test_limits_refused_up_front),
	KTAP_CASE(test_memory_check_counts_real_workers),
	KTAP_CASE(test_runtime_failure_in_plain_words),
	KTAP_CASE(test_bad_values_list_choices),
	KTAP_CASE(test_svg_file_errors),
	KTAP_CASE(test_help_and_readme_list_every_option),
	KTAP_CASE(test_help_lists_questions_and_knobs),
	KTAP_CASE(test_help_lists_exit_codes),
	KTAP_CASE(test_help_values_from_tables),
	KTAP_CASE(test_vmrun_marks_all_names_hsave),
	KTAP_CASE(test_no_arguments_short_usage),
	KTAP_CASE(test_run_sh_no_match_fails),
};

KTAP_MAIN("cli_contract", cases)
