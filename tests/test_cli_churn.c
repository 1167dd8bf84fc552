// SPDX-License-Identifier: MIT
/*
 * test_cli_churn.c - simulate --lifetime (issue 25 item 3, the model side),
 * through the built command: without it (or at 0) a run is what it was
 * before the flag existed, its figures pinned as measured at dcd1fcb; with
 * it every VM is destroyed after its lifetime and a new one of its kind made
 * in its slot, and every creation is counted (VMs tried, vmcb01 pages
 * allocated), while the census at the end sees only the live VMs.
 */
#include "cli_json.h"

/*
 * No SNP guest (their memory would move with the guest_memfd model), flat
 * layout, naive, and without khugepaged's min_free_kbytes (a later model
 * rule that moves the pcp lists' high, docs/MODEL.md).
 */
#define NO_CHURN "simulate --mem 256M --cpus 2 --vms 4 --vcpus 2 --ticks 16 --age 90 --trials 32 " \
		 "--mix svm:2,sev:1,sev-es:1,nested:1 --seed 4 --strategy naive --threads 2 " \
		 "--thp-min-free off"
/* Plain SVM guests (no ASID to run out of): every creation succeeds. */
#define CHURN "simulate --mem 256M --cpus 2 --vms 4 --vcpus 2 --ticks 16 --trials 2 --mix svm " \
	      "--strategy naive --threads 2"

static const struct jl *kind(const struct jl *res, const char *k)
{
	const struct jl *o = jl_get(jl_get(res, "by_kind"), k);

	if (!o) {
		ktap_fail(__FILE__, __LINE__, "no by_kind.%s", k);
		ktap_abort_case();
	}
	return o;
}

/* The figures of NO_CHURN, measured with the binary of dcd1fcb (before --lifetime). */
static void test_no_churn_is_as_before(void)
{
	struct jl *doc = run_json(NO_CHURN " --json");
	const struct jl *r = sim_result0(doc), *v = kind(r, "vmcb01");

	KEXPECT_EQ(num(r, "sensitive_pages"), 680);
	KEXPECT_EQ(num(r, "aligned_sensitive_pages"), 1);
	KEXPECT_EQ(num(r, "exposed_pages"), 424);
	KEXPECT_EQ(num(r, "exposed_aligned_pages"), 1);
	KEXPECT_EQ(num(r, "vmruns"), 498);
	KEXPECT_EQ(num(r, "spurious_faults"), 2);
	KEXPECT_EQ(num(r, "trials_with_fault"), 1);
	KEXPECT_EQ(num(v, "allocated"), 256);
	KEXPECT_EQ(num(v, "aligned"), 1);
	KEXPECT_EQ(num(jl_get(doc, "config"), "lifetime"), 0);
	jl_free(doc);
}

/*
 * The text NO_CHURN printed with the binary of dcd1fcb, before --lifetime
 * existed (tests/fixtures/simulate/no-churn-dcd1fcb.txt, made by that
 * binary): byte for byte the same today, with --lifetime 0 too, once the
 * "Time" section added since is taken out (strip_time).  A change that
 * moves the model on purpose remakes the file and says so.
 */
/*
 * out without simulate's "Time" section (docs/MODEL.md "The tick in real
 * time"), which came after the fixture: from its heading to the blank line
 * after it.  Nothing else is taken out.
 */
static void strip_time(char *out)
{
	char *p = strstr(out, "\nTime (docs/MODEL.md"), *q = p ? strstr(p + 1, "\n\n") : NULL;

	if (q)
		memmove(p + 1, q + 2, strlen(q + 2) + 1);
}

static void test_no_churn_text_byte_identical(void)
{
	FILE *f = fopen("tests/fixtures/simulate/no-churn-dcd1fcb.txt", "r");
	static char want[16384];
	size_t n;
	struct cli_run a, b;

	KASSERT(f);
	n = fread(want, 1, sizeof(want) - 1, f);
	fclose(f);
	want[n] = '\0';
	KASSERT(n > 1000);
	a = cli_run(NO_CHURN);
	b = cli_run(NO_CHURN " --lifetime 0");
	KEXPECT(strstr(a.out, "\nTime (docs/MODEL.md") != NULL);
	strip_time(a.out);
	strip_time(b.out);
	KEXPECT(!strcmp(a.out, want));
	KEXPECT(!strcmp(b.out, want));
	cli_run_free(&a);
	cli_run_free(&b);
}

/* The results part of a --json output (its config names the flags given). */
static const char *results_part(const char *out)
{
	const char *p = strstr(out, "\"summary\"");

	return p ? p : "";
}

/*
 * --lifetime 0 prints the run without the flag.  A lifetime no VM reaches
 * in the run replaces none: the same VMs made, the same vmcb01 pages
 * allocated, but each vCPU enters its guest once as it is made (the
 * workload's first runs, test_churn_runs_every_vcpu), so more VMRUNs.
 */
static void test_unreached_lifetime_changes_nothing(void)
{
	struct cli_run a = cli_run(NO_CHURN " --json");
	struct cli_run b = cli_run(NO_CHURN " --json --lifetime 0");
	struct cli_run c = cli_run(NO_CHURN " --json --lifetime 17");
	struct cli_run t = cli_run(NO_CHURN);
	struct cli_run u = cli_run(NO_CHURN " --lifetime 0");
	struct jl *ja = jl_parse(a.out), *jc = jl_parse(c.out);

	KEXPECT(a.status == 0 && b.status == 0 && c.status == 0);
	KEXPECT(!strcmp(a.out, b.out));
	KASSERT(ja && jc);
	KEXPECT_EQ(num(jl_get(sim_result0(ja), "vm_outcomes"), "tried"),
		   num(jl_get(sim_result0(jc), "vm_outcomes"), "tried"));
	KEXPECT_EQ(num(kind(sim_result0(ja), "vmcb01"), "allocated"),
		   num(kind(sim_result0(jc), "vmcb01"), "allocated"));
	KEXPECT(num(sim_result0(jc), "vmruns") > num(sim_result0(ja), "vmruns"));
	jl_free(ja);
	jl_free(jc);
	KEXPECT(strstr(c.out, "\"lifetime\":17,") != NULL);
	KEXPECT(!strcmp(t.out, u.out));
	KEXPECT(strstr(t.out, "replaced after") == NULL);
	cli_run_free(&a);
	cli_run_free(&b);
	cli_run_free(&c);
	cli_run_free(&t);
	cli_run_free(&u);
}

/*
 * 16 ticks, lifetime 4: each slot's VM is replaced after ticks 4, 8, 12 and
 * 16, so a slot makes 5 VMs, a trial 20, each with 2 vmcb01 pages; only the
 * last 4 VMs of a trial are alive for the census.
 */
static void test_churn_counts_every_creation(void)
{
	struct jl *doc = run_json(CHURN " --lifetime 4 --json");
	const struct jl *r = sim_result0(doc), *o = jl_get(r, "vm_outcomes"), *v = kind(r, "vmcb01");
	struct cli_run t = cli_run(CHURN " --lifetime 4");

	KEXPECT_EQ(num(o, "tried"), 2 * 4 * 5);
	KEXPECT_EQ(num(o, "running"), 2 * 4 * 5);
	KEXPECT_EQ(num(o, "teardown_pages_kept"), 0);
	KEXPECT_EQ(num(v, "allocated"), 2 * 4 * 5 * 2);
	KEXPECT_EQ(num(v, "markable"), 2 * 4 * 2);
	KEXPECT_EQ(num(jl_get(doc, "config"), "lifetime"), 4);
	KEXPECT(strstr(t.out, "4 VMs x 2 vCPUs (mix svm:1), each VM replaced after 4 ticks, 16 ticks") != NULL);
	cli_run_free(&t);
	jl_free(doc);
	/* lifetime 1: replaced after every tick, 17 VMs a slot */
	doc = run_json(CHURN " --lifetime 1 --json");
	r = sim_result0(doc);
	KEXPECT_EQ(num(jl_get(r, "vm_outcomes"), "tried"), 2 * 4 * 17);
	KEXPECT_EQ(num(kind(r, "vmcb01"), "allocated"), 2 * 4 * 17 * 2);
	jl_free(doc);
}

/*
 * With churn every vCPU made enters its guest at once, as watch's workload
 * runs each until its first exit: the run's VMRUNs are at least its vCPUs
 * made (ticks add theirs); every one of 17 lives a slot made, 2 x 4 x 17 x 2
 * vCPUs.  Without churn nothing runs outside ticks: 16 ticks on 2 CPUs
 * enter at most 2 x 16 x 2 guests a run of 2 trials.
 */
static void test_churn_runs_every_vcpu(void)
{
	struct jl *doc = run_json(CHURN " --lifetime 1 --json");
	const struct jl *r = sim_result0(doc);

	KEXPECT(num(r, "vmruns") >= 2 * 4 * 17 * 2);
	jl_free(doc);
	doc = run_json(CHURN " --json");
	KEXPECT(num(sim_result0(doc), "vmruns") <= 2 * 16 * 2);
	jl_free(doc);
}

/* A churned run is deterministic for a seed whatever --threads, and --config reads it back. */
static void test_churn_deterministic_and_config(void)
{
	struct cli_run a = cli_run(CHURN " --lifetime 3 --json --threads 1");
	struct cli_run b = cli_run(CHURN " --lifetime 3 --json");
	char path[] = "/tmp/snpsafe-churn-XXXXXX", args[256];
	int fd = mkstemp(path);
	struct cli_run c;

	KASSERT(fd >= 0);
	KEXPECT(a.status == 0 && b.status == 0);
	KEXPECT(*results_part(a.out) && !strcmp(results_part(a.out), results_part(b.out)));
	KEXPECT(write(fd, b.out, strlen(b.out)) == (ssize_t)strlen(b.out));
	close(fd);
	snprintf(args, sizeof(args), "simulate --config %s --json", path);
	c = cli_run(args);
	KEXPECT(!strcmp(c.out, b.out));
	unlink(path);
	cli_run_free(&a);
	cli_run_free(&b);
	cli_run_free(&c);
}

static void test_bad_lifetime_refused(void)
{
	static const char *const bad[] = { "-1", "x", "1000001", "2.5", "" };

	for (unsigned int i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char args[128];
		struct cli_run r;

		snprintf(args, sizeof(args), "simulate --lifetime '%s'", bad[i]);
		r = cli_run(args);
		KEXPECT_EQ(r.status, 2);
		KEXPECT_EQ(cli_lines(r.err), 1);
		KEXPECT(strstr(r.err, "--lifetime") != NULL);
		KEXPECT(!*r.out);
		cli_run_free(&r);
	}
}

static const struct ktap_case cases[] = {
	KTAP_CASE(test_no_churn_is_as_before),
	KTAP_CASE(test_no_churn_text_byte_identical),
	KTAP_CASE(test_unreached_lifetime_changes_nothing),
	KTAP_CASE(test_churn_counts_every_creation),
	KTAP_CASE(test_churn_runs_every_vcpu),
	KTAP_CASE(test_churn_deterministic_and_config),
	KTAP_CASE(test_bad_lifetime_refused),
};

KTAP_MAIN("cli_churn", cases)
