// SPDX-License-Identifier: MIT
/*
 * test_cli_host.c - the built `snpsafe host`: exit status 0/1 per fixture
 * host, the text verdict, the --json contract, one-line errors with exit 2
 * for broken fixtures and bad flags (a folder or an empty file where a file
 * belongs each with its own reason), exit 3 and never 1 for output that
 * cannot be written, a fixture left unchanged, and a real run on this
 * machine (only the shape of its verdict is asserted).
 */
#include "cli_util.h"
#include "json_lite.h"

#include <sys/stat.h>

#define FIX "tests/fixtures/host/"

static const struct {
	const char *name, *verdict_id, *verdict_line;
	int status;
} hosts[] = {
	{ "milan-5.19-oot", "snp-exposed",
	  "Verdict: SNP host, workaround absent: erratum possible -> EXPOSED (exit 1)", 1 },
	{ "genoa-6.12", "snp-workaround-present",
	  "Verdict: SNP host, workaround present -> not exposed (exit 0)", 0 },
	{ "turin-6.16-inuse-wr", "snp-hv-inuse-wr-allowed",
	  "Verdict: SNP host, CPU has HvInUseWrAllowed -> not exposed (exit 0)", 0 },
	{ "intel-xeon", "not-snp-host", "Verdict: not an SNP host -> not exposed (exit 0)", 0 },
	{ "amd-guest-hidden", "not-snp-host", "Verdict: not an SNP host -> not exposed (exit 0)", 0 },
	{ "milan-6.1-snp-off", "not-snp-host", "Verdict: not an SNP host -> not exposed (exit 0)", 0 },
};

static const char *const verdict_ids[] = {
	"not-snp-host", "snp-hv-inuse-wr-allowed", "snp-workaround-present", "snp-exposed",
};

static void test_fixture_hosts_text(void)
{
	char args[160];

	for (size_t i = 0; i < KTAP_ARRAY_SIZE(hosts); i++) {
		struct cli_run r;

		snprintf(args, sizeof(args), "host --root " FIX "%s", hosts[i].name);
		r = cli_run(args);
		if (r.status != hosts[i].status || !strstr(r.out, hosts[i].verdict_line) || r.err[0])
			ktap_fail(__FILE__, __LINE__, "%s: status %d, stderr '%s', stdout:\n%s",
				  hosts[i].name, r.status, r.err, r.out);
		KEXPECT(strstr(r.out, "CPU (fixture cpuid file)") != NULL);
		cli_run_free(&r);
	}
}

/* Every reason is {fact, value, because}, all non-empty strings. */
static bool reasons_ok(const struct jl *doc)
{
	const struct jl *a = jl_get(doc, "reasons");

	if (!a || a->type != JL_ARR || jl_len(a) == 0)
		return false;
	for (unsigned int i = 0; i < jl_len(a); i++) {
		static const char *const keys[] = { "fact", "value", "because" };

		for (unsigned int k = 0; k < 3; k++) {
			const struct jl *v = jl_get(jl_at(a, i), keys[k]);

			if (!v || v->type != JL_STR || !v->str[0])
				return false;
		}
	}
	return true;
}

static struct jl *run_json(const char *args, int *status)
{
	struct cli_run r = cli_run(args);
	struct jl *doc = jl_parse(r.out);

	*status = r.status;
	if (!doc || r.err[0])
		ktap_fail(__FILE__, __LINE__, "'%s': status %d, stdout not JSON or stderr '%s'",
			  args, r.status, r.err);
	cli_run_free(&r);
	if (!doc)
		ktap_abort_case();
	return doc;
}

static void test_fixture_hosts_json(void)
{
	char args[160];

	for (size_t i = 0; i < KTAP_ARRAY_SIZE(hosts); i++) {
		const struct jl *v, *e;
		struct jl *doc;
		int status;

		snprintf(args, sizeof(args), "host --json --root " FIX "%s", hosts[i].name);
		doc = run_json(args, &status);
		v = jl_get(doc, "verdict");
		e = jl_get(doc, "exposed");
		KEXPECT_EQ(status, hosts[i].status);
		KEXPECT(v && v->type == JL_STR && !strcmp(v->str, hosts[i].verdict_id));
		KEXPECT(e && e->type == JL_BOOL && e->boolean == hosts[i].status);
		KEXPECT(reasons_ok(doc));
		KEXPECT(!strcmp(jl_get(doc, "source")->str, "fixture"));
		jl_free(doc);
	}
}

static void test_json_facts(void)
{
	const struct jl *cpu, *f1f, *msr, *k;
	struct jl *doc;
	int status;

	doc = run_json("host --json --root " FIX "milan-5.19-oot", &status);
	cpu = jl_get(doc, "cpu");
	f1f = jl_get(cpu, "fn8000_001f");
	KEXPECT(!strcmp(jl_get(cpu, "vendor")->str, "AuthenticAMD"));
	KEXPECT_EQ(jl_get(cpu, "family")->num, 0x19);
	KEXPECT(strstr(jl_get(cpu, "product")->str, "Milan") != NULL);
	KEXPECT(jl_get(f1f, "snp")->boolean);
	KEXPECT(!jl_get(f1f, "hv_inuse_wr_allowed")->boolean);
	KEXPECT_EQ(jl_get(f1f, "c_bit")->num, 51);
	KEXPECT_EQ(jl_get(f1f, "min_sev_asid")->num, 100);
	msr = jl_get(doc, "msr");
	KEXPECT(!strcmp(jl_get(jl_get(msr, "syscfg"), "value")->str, "0x1f40000"));
	KEXPECT(!strcmp(jl_get(jl_get(msr, "rmp_base"), "value")->str, "0x88900000"));
	k = jl_get(doc, "kernel");
	KEXPECT(!strcmp(jl_get(k, "version")->str, "5.19.0-snp-host-1"));
	KEXPECT(jl_get(jl_get(k, "kallsyms"), "workaround_symbol")->type == JL_NULL);
	KEXPECT(!strcmp(jl_get(jl_get(k, "kvm_amd"), "sev_snp")->str, "Y"));
	KEXPECT_EQ(jl_len(jl_get(jl_get(k, "dmesg"), "lines")), 2);
	jl_free(doc);

	doc = run_json("host --json --root " FIX "milan-6.11-noroot", &status);
	KEXPECT(!strcmp(jl_get(jl_get(jl_get(doc, "msr"), "syscfg"), "state")->str, "needs-root"));
	KEXPECT(jl_get(jl_get(jl_get(doc, "msr"), "syscfg"), "value") == NULL);
	jl_free(doc);
}

static void test_bad_input(void)
{
	EXPECT_USAGE_ERROR("host --root " FIX "broken-no-cpuid", "broken-no-cpuid/cpuid");
	EXPECT_USAGE_ERROR("host --root " FIX "broken-cpuid-garbage", "'banana'");
	EXPECT_USAGE_ERROR("host --root " FIX "broken-cpuid-short-line", "leaf subleaf");
	EXPECT_USAGE_ERROR("host --root " FIX "broken-missing-leaf", "0x8000001f");
	EXPECT_USAGE_ERROR("host --root " FIX "broken-msr-garbage", "0x1f40000zz");
	EXPECT_USAGE_ERROR("host --json --root " FIX "broken-param-garbage", "sev_snp");
	EXPECT_USAGE_ERROR("host --root " FIX "broken-no-version", "proc/version");
	EXPECT_USAGE_ERROR("host --root " FIX "broken-version-garbage", "Linux version");
	EXPECT_USAGE_ERROR("host --root /nonexistent-snpsafe-root", "nonexistent-snpsafe-root");
	EXPECT_USAGE_ERROR("host --root " FIX "genoa-6.12/cpuid", "not a folder");
	EXPECT_USAGE_ERROR("host --root ''", "empty value for --root");   /* the parser's rule for every flag */
	EXPECT_USAGE_ERROR("host --root", "--root");
	EXPECT_USAGE_ERROR("host --frobnicate", "--frobnicate");
	EXPECT_USAGE_ERROR("host extra", "extra");
}

/*
 * A copy of genoa-6.12 with file replaced by a folder (dir) or an empty
 * file: exit 2, one line that names the file once and says which.
 */
static void expect_broken_copy(const char *file, bool dir, const char *why)
{
	char tmp[] = "/tmp/snpsafe-host-bad-XXXXXX", cmd[512], path[300], args[128];
	struct cli_run r;
	FILE *f;

	KASSERT(mkdtemp(tmp) != NULL);
	snprintf(cmd, sizeof(cmd), "cp -a " FIX "genoa-6.12 %s/h && rm -f %s/h/%s", tmp, tmp, file);
	KASSERT_EQ(system(cmd), 0);
	snprintf(path, sizeof(path), "%s/h/%s", tmp, file);
	if (dir) {
		KASSERT_EQ(mkdir(path, 0755), 0);
	} else {
		f = fopen(path, "w");
		KASSERT(f != NULL);
		fclose(f);
	}
	snprintf(args, sizeof(args), "host --root %s/h", tmp);
	r = cli_run(args);
	if (r.status != 2 || r.out[0] || cli_lines(r.err) != 1 || cli_count(r.err, path) != 1 ||
	    !strstr(r.err, why))
		ktap_fail(__FILE__, __LINE__, "%s as %s: status %d, stderr '%s'", file,
			  dir ? "a folder" : "an empty file", r.status, r.err);
	cli_run_free(&r);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmp);
	KEXPECT_EQ(system(cmd), 0);
}

/* A folder where a fixture's file belongs is never read as an absent fact (issue 23). */
static void test_fixture_folder_or_empty_file(void)
{
	static const char *const files[] = { "cpuid", "msr", "proc/version", "proc/kallsyms",
					     "dmesg", "sys/module/kvm_amd/parameters/avic" };

	for (unsigned int i = 0; i < KTAP_ARRAY_SIZE(files); i++)
		expect_broken_copy(files[i], true, ": a directory, not a file");
	expect_broken_copy("cpuid", false, "cpuid: empty (a fixture's CPUID values");
	expect_broken_copy("proc/version", false, "proc/version: empty (every fixture needs");
}

/*
 * The exit statuses (issue 23): 1 is the finding "exposed" and nothing else;
 * output that cannot be written is 3, exposed or not, with one line saying so.
 */
static void test_exit_codes(void)
{
	static const char *const roots[] = { FIX "milan-5.19-oot", FIX "genoa-6.12" };
	char args[160];

	for (unsigned int i = 0; i < KTAP_ARRAY_SIZE(roots); i++) {
		for (unsigned int json = 0; json < 2; json++) {
			struct cli_run r;

			snprintf(args, sizeof(args), "host --root %s%s", roots[i], json ? " --json" : "");
			r = cli_run(args);
			KEXPECT_EQ(r.status, i == 0 ? 1 : 0);
			cli_run_free(&r);
			cli_expect_write_error(args);
		}
	}
	/* The help says so. */
	{
		struct cli_run r = cli_run("host --help");

		KEXPECT(strstr(r.out, "Exit 0: not exposed; 1: exposed; 2: bad input;\n"
				      "3: the output could not be written.") != NULL);
		cli_run_free(&r);
	}
}

static void test_help(void)
{
	struct cli_run r = cli_run("host --help");

	KEXPECT_EQ(r.status, 0);
	KEXPECT(strstr(r.out, "--root") != NULL);
	KEXPECT(strstr(r.out, "--json") != NULL);
	cli_run_free(&r);
	r = cli_run("--help");
	KEXPECT(strstr(r.out, "host") != NULL);
	cli_run_free(&r);
}

/* The command reads only: a copy of a fixture is byte-identical afterwards. */
static void test_reads_only(void)
{
	char dir[] = "/tmp/snpsafe-host-ro-XXXXXX", cmd[256], args[128];
	struct cli_run r;

	KASSERT(mkdtemp(dir) != NULL);
	snprintf(cmd, sizeof(cmd), "cp -a " FIX "genoa-6.12 %s/h && cp -a %s/h %s/ref", dir, dir, dir);
	KASSERT_EQ(system(cmd), 0);
	snprintf(args, sizeof(args), "host --root %s/h", dir);
	r = cli_run(args);
	KEXPECT_EQ(r.status, 0);
	cli_run_free(&r);
	snprintf(cmd, sizeof(cmd), "diff -r %s/h %s/ref >/dev/null", dir, dir);
	KEXPECT_EQ(system(cmd), 0);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	KEXPECT_EQ(system(cmd), 0);
}

/* This machine, for real: exit 0 or 1 and a well-formed verdict, text and JSON agreeing. */
static void test_live_machine(void)
{
	struct cli_run r = cli_run("host");
	const struct jl *v, *e;
	bool known = false;
	struct jl *doc;
	int status;

	KEXPECT(r.status == 0 || r.status == 1);
	KEXPECT(strstr(r.out, "snpsafe host: this machine") != NULL);
	KEXPECT(strstr(r.out, "\nVerdict: ") != NULL);
	KEXPECT(strstr(r.out, r.status ? "-> EXPOSED (exit 1)" : "-> not exposed (exit 0)") != NULL);
	KEXPECT_EQ(strlen(r.err), 0);
	{
		const char *line = strstr(r.out, "Verdict: ");

		if (line)
			ktap_log("%.*s", (int)strcspn(line, "\n"), line);
	}
	doc = run_json("host --json", &status);
	KEXPECT_EQ(status, r.status);
	v = jl_get(doc, "verdict");
	e = jl_get(doc, "exposed");
	KASSERT(v && v->type == JL_STR && e && e->type == JL_BOOL);
	for (size_t i = 0; i < KTAP_ARRAY_SIZE(verdict_ids); i++)
		known |= !strcmp(v->str, verdict_ids[i]);
	KEXPECT(known);
	KEXPECT_EQ(e->boolean, status);
	KEXPECT_EQ(e->boolean, !strcmp(v->str, "snp-exposed"));
	KEXPECT(reasons_ok(doc));
	KEXPECT(!strcmp(jl_get(doc, "source")->str, "live"));
	jl_free(doc);
	cli_run_free(&r);
}

static const struct ktap_case cases[] = {
	KTAP_CASE(test_fixture_hosts_text),
	KTAP_CASE(test_fixture_hosts_json),
	KTAP_CASE(test_json_facts),
	KTAP_CASE(test_bad_input),
	KTAP_CASE(test_fixture_folder_or_empty_file),
	KTAP_CASE(test_exit_codes),
	KTAP_CASE(test_help),
	KTAP_CASE(test_reads_only),
	KTAP_CASE(test_live_machine),
};

KTAP_MAIN("cli_host", cases)
