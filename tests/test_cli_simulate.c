// SPDX-License-Identifier: MIT
/*
 * test_cli_simulate.c - what the built `snpsafe simulate` (and bench's Monte
 * Carlo line) says about its figures: a rate over no observation is n/a in
 * text and null in JSON, never a number or [0, 0]; the effective hosts of
 * trials sharing an aged allocator, and the warning under 10 of them; the
 * summary line against the tables and the JSON; a legend entry for every
 * column; and a --help that does not call correlated trials independent.
 */
#include "cli_json.h"

#include <snpsafe/sim.h>

#include <math.h>

#define KEXPECT_STREQ(got, want) do { \
	const char *g_ = (got), *w_ = (want); \
	if (strcmp(g_, w_)) \
		ktap_fail(__FILE__, __LINE__, "got \"%s\", want \"%s\"", g_, w_); \
} while (0)

#define SIM_SMALL "simulate --mem 256M --cpus 2 --vms 4 --vcpus 2 --ticks 32 --seed 7"
/* Pages exposed in every strategy: no SNP guest 4K-maps their regions; 8 aged allocators. */
/* A seed with exposed aligned pages, found with THP never (before khugepaged's min_free_kbytes). */
#define SIM_EXPOSED "simulate --mem 256M --cpus 2 --vms 4 --vcpus 2 --ticks 16 --age 90 " \
		    "--trials 64 --mix svm:2,sev:1,sev-es:1,nested:1 --seed 4 --thp-min-free off"
#define BENCH_SMALL "bench --pairs 1000 --accesses 1000 --access-reps 1 --scale-mem 64M " \
		    "--scale-vms 1 --scale-vcpus 1 --mc-trials 2 --mc-mem 64M --sizes 128M:1 " \
		    "--size-trials 1"

static const char *const strategies[] = { "naive", "upstream", "sieve" };

static bool is_null(const struct jl *o, const char *key)
{
	const struct jl *v = jl_get(o, key);

	return v && v->type == JL_NULL;
}

/* The line of text that starts with prefix (at the start of a line), or NULL. */
static const char *line_at(const char *text, const char *prefix)
{
	size_t n = strlen(prefix);

	for (const char *p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
		if (!strncmp(p, prefix, n))
			return p;
	return NULL;
}

/* The row of strategy s in the table whose header follows heading (NULL: the first table). */
static const char *table_row(const char *out, const char *heading, const char *s)
{
	const char *from = heading ? strstr(out, heading) : out;
	char prefix[32];

	snprintf(prefix, sizeof(prefix), "%-9s ", s);
	return from ? line_at(from, prefix) : NULL;
}

/* The words of row's line (up to 16; "[lo, hi]" is two); how many. */
static unsigned int row_words(const char *row, char words[16][32])
{
	char line[512], *save = NULL;
	unsigned int n = 0;

	snprintf(line, sizeof(line), "%.*s", (int)strcspn(row, "\n"), row);
	for (char *w = strtok_r(line, " ", &save); w && n < 16; w = strtok_r(NULL, " ", &save))
		snprintf(words[n++], 32, "%s", w);
	return n;
}

/*
 * The guest side (shown with --mix snp): retry at boot creates no VMSA (every
 * AP gives up), so its aligned fraction is over nothing.
 */
static void expect_guest_retry_boot_na(const char *out, const struct jl *doc)
{
	const struct jl *rs = jl_get(jl_get(doc, "guest"), "results");
	const char *row = line_at(out, "retry   boot ");
	char w[16][32];
	unsigned int seen = 0;

	KASSERT(row && row_words(row, w) == 9);
	KEXPECT_STREQ(w[2], "0");     /* VMSAs */
	KEXPECT_STREQ(w[4], "n/a");   /* aligned frac */
	for (unsigned int i = 0; i < jl_len(rs); i++) {
		const struct jl *o = jl_at(rs, i);

		if (strcmp(str(o, "strategy"), "retry") || strcmp(str(o, "state"), "boot"))
			continue;
		KEXPECT_EQ(num(o, "vmsas"), 0);
		KEXPECT(is_null(o, "aligned_fraction"));
		seen++;
	}
	KEXPECT_EQ(seen, 1);
}

/*
 * simulate --mix snp --trials 8 (the command): SNP guests 4K-map the
 * regions of KVM's pages, so no page is exposed in any strategy.  The exposed
 * aligned fraction, its interval, its design effect and the analytic
 * estimate are over nothing: n/a and null, never 0 or [0, 0].  So is the
 * guest side's aligned fraction of a strategy that created no VMSA.
 */
static void test_zero_exposed_is_na_and_null(void)
{
	struct cli_run r = cli_run("simulate --mix snp --trials 8");
	struct jl *doc = run_json("simulate --mix snp --trials 8 --json");
	const struct jl *res = jl_get(doc, "results"), *sum = jl_get(jl_get(doc, "summary"), "strategies");

	KEXPECT_EQ(r.status, 0);
	KEXPECT(strstr(r.out, "[0.00000, 0.00000]") == NULL);
	for (unsigned int i = 0; i < 3; i++) {
		const char *row = table_row(r.out, NULL, strategies[i]);
		char w[16][32];

		KASSERT(row != NULL);
		KASSERT(row_words(row, w) == 11);   /* the interval one word: n/a */
		KEXPECT_STREQ(w[4], "0");     /* exposed: the count under the fraction */
		KEXPECT_STREQ(w[6], "n/a");   /* exposed frac */
		KEXPECT_STREQ(w[7], "n/a");   /* 95% interval */
		KEXPECT_STREQ(w[8], "n/a");   /* analytic est */
	}
	KASSERT(res && jl_len(res) == 3 && sum && jl_len(sum) == 3);
	for (unsigned int i = 0; i < 3; i++) {
		const struct jl *o = jl_at(res, i);

		KEXPECT_EQ(num(o, "exposed_pages"), 0);
		KEXPECT(is_null(o, "exposed_aligned_fraction"));
		KEXPECT(is_null(o, "exposed_ci95_lo") && is_null(o, "exposed_ci95_hi"));
		KEXPECT(is_null(o, "est_exposed_fraction"));
		KEXPECT(is_null(o, "exposed_design_effect"));
		KEXPECT(is_null(jl_at(sum, i), "exposed_aligned_fraction"));
		/* over trials and sensitive pages there are observations: numbers */
		KEXPECT(num(o, "trials_with_exposed_aligned_ci95_hi") > 0);
		KEXPECT(num(o, "aligned_ci95_hi") > 0);
	}
	expect_guest_retry_boot_na(r.out, doc);
	jl_free(doc);
	cli_run_free(&r);
}

/* A run with exposed pages has numbers where the run above has null (the keys are the same). */
static void test_exposed_rates_are_numbers(void)
{
	struct jl *doc = run_json(SIM_EXPOSED " --json");
	const struct jl *res = jl_get(doc, "results");

	KASSERT(res && jl_len(res) == 3);
	for (unsigned int i = 0; i < 3; i++) {
		const struct jl *o = jl_at(res, i);

		KEXPECT(num(o, "exposed_pages") > 0);
		KEXPECT(num(o, "exposed_ci95_hi") > num(o, "exposed_aligned_fraction"));
		KEXPECT(num(o, "exposed_design_effect") >= 1);
		KEXPECT(num(o, "est_exposed_fraction") >= 0);
	}
	jl_free(doc);
}

/*
 * bench's Monte Carlo line: 2 trials on 128M hosts; cloned from one aged
 * allocator, naive exposes no page (0 of 0: n/a, null), each trial ageing
 * its own it exposes some (a number and its interval).
 */
static void test_bench_zero_exposed_is_na_and_null(void)
{
	struct cli_run r = cli_run(BENCH_SMALL);
	struct jl *doc = run_json(BENCH_SMALL " --json");
	const struct jl *ways = jl_get(jl_get(doc, "montecarlo"), "naive_exposed");
	const struct jl *off, *on;

	KEXPECT_EQ(r.status, 0);
	KEXPECT(strstr(r.out, "[0.00000, 0.00000]") == NULL);
	KEXPECT(strstr(r.out, "  naive exposed aligned pages, cloned: 0 of 0, n/a (2 trials, "
			      "1 effective host)\n") != NULL);
	KASSERT(ways && jl_len(ways) == 2);
	off = jl_at(ways, 0);
	on = jl_at(ways, 1);
	KEXPECT(!strcmp(str(off, "clone"), "off") && !strcmp(str(on, "clone"), "on"));
	KEXPECT_EQ(num(on, "exposed_pages"), 0);
	KEXPECT(is_null(on, "exposed_aligned_fraction"));
	KEXPECT(is_null(on, "exposed_ci95_lo") && is_null(on, "exposed_ci95_hi"));
	KEXPECT_EQ(num(on, "effective_hosts"), 1);
	KEXPECT(num(off, "exposed_pages") > 0);
	KEXPECT(num(off, "exposed_ci95_hi") > 0);
	KEXPECT_EQ(num(off, "effective_hosts"), 2);
	jl_free(doc);
	cli_run_free(&r);
}

/* The eff. hosts column of the rates table, per strategy, as printed. */
static void expect_eff_hosts(const char *out, const char *s, const char *want)
{
	const char *row = table_row(out, "\nRates, ", s);
	char w[16][32];
	unsigned int n;

	KASSERT(row != NULL);
	n = row_words(row, w);
	KASSERT(n == 11);   /* strategy, 3 x (rate, [lo, hi]), eff. hosts */
	if (strcmp(w[10], want))
		ktap_fail(__FILE__, __LINE__, "%s: eff. hosts %s, want %s", s, w[10], want);
}

/*
 * --trials 8 with the default --age-share 8: one aged allocator, one
 * effective host, and a one-line warning on stderr (stdout stays the
 * report).  The same trials each from its own allocator: 8 hosts, no
 * warning.  At 10 effective hosts no warning, at 9 one.
 */
static void test_effective_hosts_and_warning(void)
{
	struct cli_run r = cli_run(SIM_SMALL " --trials 8");
	struct jl *doc;

	KEXPECT_EQ(r.status, 0);
	for (unsigned int i = 0; i < 3; i++)
		expect_eff_hosts(r.out, strategies[i], "1");
	KEXPECT(strstr(r.out, "naive 0% [0%, 79.3%] over 1 effective host,") != NULL);
	KEXPECT_EQ(cli_lines(r.err), 1);
	KEXPECT_STREQ(r.err, "snpsafe simulate: warning: under 10 effective hosts (naive 1, "
		      "upstream 1, sieve 1): 8 trials share 1 aged allocator (--age-share 8), so "
		      "the intervals rest on few independent hosts; run more --trials or a lower "
		      "--age-share\n");
	cli_run_free(&r);

	doc = run_json(SIM_SMALL " --trials 8 --json");
	KEXPECT(strstr(str(jl_get(doc, "summary"), "warning"), "under 10 effective hosts") != NULL);
	KEXPECT_EQ(num(jl_get(doc, "summary"), "aged_allocators"), 1);
	KEXPECT_EQ(num(jl_get(doc, "summary"), "effective_hosts_min"), 1);
	for (unsigned int i = 0; i < 3; i++)
		KEXPECT_EQ(num(jl_at(jl_get(doc, "results"), i), "effective_hosts"), 1);
	jl_free(doc);

	r = cli_run(SIM_SMALL " --trials 8 --age-share 1");
	KEXPECT_EQ(r.status, 0);
	for (unsigned int i = 0; i < 3; i++)
		expect_eff_hosts(r.out, strategies[i], "8");
	KEXPECT(strstr(r.out, " over 8 hosts,") != NULL);   /* independent: not "effective" */
	KEXPECT_STREQ(r.err, "");
	cli_run_free(&r);

	r = cli_run(SIM_SMALL " --trials 80 --strategy sieve");   /* 10 aged allocators */
	KEXPECT_EQ(r.status, 0);
	expect_eff_hosts(r.out, "sieve", "10");
	KEXPECT_STREQ(r.err, "");
	cli_run_free(&r);
	doc = run_json(SIM_SMALL " --trials 80 --strategy sieve --json");
	KEXPECT(is_null(jl_get(doc, "summary"), "warning"));
	jl_free(doc);

	r = cli_run(SIM_SMALL " --trials 72 --strategy sieve");   /* 9 */
	expect_eff_hosts(r.out, "sieve", "9");
	KEXPECT_EQ(cli_lines(r.err), 1);
	KEXPECT(strstr(r.err, "warning: under 10 effective hosts (sieve 9): 72 trials share 9 aged "
			      "allocators") != NULL);
	cli_run_free(&r);
}

/* The test's own Wilson score interval of k of n at 95%. */
static void wilson95(double k, double n, double *lo, double *hi)
{
	double z = 1.96, p = k / n, den = 1 + z * z / n;
	double mid = (p + z * z / (2 * n)) / den;
	double half = z * sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / den;

	*lo = k > 0 ? fmax(mid - half, 0) : 0;
	*hi = k < n ? fmin(mid + half, 1) : 1;
}

static bool near(double a, double b)
{
	return fabs(a - b) <= 1e-5 * fmax(fabs(b), 1e-3);
}

/*
 * The effective hosts are the n of the summary's interval: trials / the
 * design effect of trials with an exposed aligned page, Wilson's over them.
 * With no such trial (upstream, sieve) there is no spread to measure and
 * each aged allocator counts as one host.
 */
static void test_effective_hosts_are_the_intervals_n(void)
{
	struct jl *doc = run_json(SIM_EXPOSED " --json");
	const struct jl *res = jl_get(doc, "results");

	KASSERT(res && jl_len(res) == 3);
	KEXPECT_EQ(num(jl_get(doc, "summary"), "aged_allocators"), 8);
	for (unsigned int i = 0; i < 3; i++) {
		const struct jl *o = jl_at(res, i);
		double trials = num(o, "trials"), deff = num(o, "trials_with_exposed_aligned_design_effect");
		double k = num(o, "trials_with_exposed_aligned") * trials, lo, hi;

		KEXPECT(deff >= 1);
		KEXPECT(near(num(o, "effective_hosts"), trials / deff));
		wilson95(k / deff, trials / deff, &lo, &hi);
		KEXPECT(near(num(o, "trials_with_exposed_aligned_ci95_lo"), lo));
		KEXPECT(near(num(o, "trials_with_exposed_aligned_ci95_hi"), hi));
		if (k == 0)
			KEXPECT_EQ(num(o, "effective_hosts"), 8);
	}
	KEXPECT(num(jl_at(res, 0), "trials_with_exposed_aligned") > 0);   /* naive: measured */
	jl_free(doc);
}

/*
 * One summary line, first after the header; per strategy the chance of a
 * host ending a run with an exposed aligned page and its interval (the rates
 * table's "trials w/ exposed aligned" and the JSON's), the effective hosts,
 * and the exposed pages (the first table's counts).
 */
static void test_summary_line_matches_tables_and_json(void)
{
	struct cli_run r = cli_run(SIM_EXPOSED);
	struct jl *doc = run_json(SIM_EXPOSED " --json");
	const struct jl *res = jl_get(doc, "results"), *sum = jl_get(doc, "summary");
	const char *line = line_at(r.out, "Summary: ");
	char text[1024];

	KEXPECT_EQ(r.status, 0);
	KASSERT(line && res && sum && jl_len(res) == 3);
	KEXPECT(line_at(line + 1, "Summary: ") == NULL);   /* one line */
	snprintf(text, sizeof(text), "%.*s", (int)(strchr(line, '\n') - line), line);
	KEXPECT_STREQ(str(sum, "text"), text);
	KEXPECT(strstr(text, "chance that a host like these ends a run with a 2MB-aligned exposed "
			     "page") != NULL);
	for (unsigned int i = 0; i < 3; i++) {
		const struct jl *o = jl_at(res, i), *so = jl_at(jl_get(sum, "strategies"), i);
		const char *row = table_row(r.out, NULL, strategies[i]), *seg;
		const char *rate = table_row(r.out, "\nRates, ", strategies[i]);
		char pat[32], w[16][32], rw[16][32];
		double x, lo, hi, hosts;
		unsigned long long a, b;

		snprintf(pat, sizeof(pat), "%s %s ", i ? ";" : ":", strategies[i]);
		seg = strstr(text, pat);
		KASSERT(seg && row && rate && row_words(row, w) == 12 && row_words(rate, rw) == 11);
		KASSERT(sscanf(seg + strlen(pat), "%lf%% [%lf%%, %lf%%] over %lf effective host%*[s], "
			       "%llu of %llu exposed pages aligned", &x, &lo, &hi, &hosts, &a, &b) == 6);
		/* the summary's percentages, 3 significant digits, against the JSON */
		KEXPECT(fabs(x / 100 - num(o, "trials_with_exposed_aligned")) <= 0.005 * x / 100 + 1e-9);
		KEXPECT(fabs(lo / 100 - num(o, "trials_with_exposed_aligned_ci95_lo")) <= 0.005 * lo / 100 + 1e-9);
		KEXPECT(fabs(hi / 100 - num(o, "trials_with_exposed_aligned_ci95_hi")) <= 0.005 * hi / 100 + 1e-9);
		KEXPECT(fabs(hosts - num(o, "effective_hosts")) <= 0.05);
		KEXPECT_EQ(a, num(o, "exposed_aligned_pages"));
		KEXPECT_EQ(b, num(o, "exposed_pages"));
		/* ... against the tables: the first table's exposed and aligned, the rates table */
		KEXPECT_EQ(a, strtoull(w[5], NULL, 10));
		KEXPECT_EQ(b, strtoull(w[4], NULL, 10));
		KEXPECT(fabs(strtod(rw[7], NULL) - x / 100) <= 0.005 * x / 100 + 5e-6);
		KEXPECT(fabs(strtod(rw[10], NULL) - hosts) <= 0.05);
		/* ... and the JSON summary repeats the results' numbers */
		KEXPECT_EQ(num(so, "host_chance"), num(o, "trials_with_exposed_aligned"));
		KEXPECT_EQ(num(so, "host_chance_ci95_hi"), num(o, "trials_with_exposed_aligned_ci95_hi"));
		KEXPECT_EQ(num(so, "effective_hosts"), num(o, "effective_hosts"));
		KEXPECT_EQ(num(so, "exposed_pages"), b);
	}
	jl_free(doc);
	cli_run_free(&r);
}

/* ---- every column defined ---- */

#define MAX_NAMES 32

struct legend {
	char names[MAX_NAMES][48];
	unsigned int n;
};

/*
 * A "Columns: NAME: DEF; NAME: DEF." paragraph (lines up to a blank one)
 * into its names.  An entry without "NAME: " breaks the format: false.
 */
static bool legend_parse(const char *p, struct legend *l)
{
	char buf[8192], *save = NULL;
	size_t len = 0;

	l->n = 0;
	while (*p && *p != '\n' && len < sizeof(buf) - 1) {   /* unwrap: lines joined by spaces */
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);

		len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%s%.*s", len ? " " : "", (int)n, p);
		p = nl ? nl + 1 : p + n;
	}
	if (strncmp(buf, "Columns: ", 9) || buf[len - 1] != '.')
		return false;
	buf[len - 1] = '\0';
	for (char *e = strtok_r(buf + 9, ";", &save); e; e = strtok_r(NULL, ";", &save)) {
		char *colon = strstr(e += strspn(e, " "), ": ");

		if (!colon || l->n == MAX_NAMES)
			return false;
		snprintf(l->names[l->n++], sizeof(l->names[0]), "%.*s", (int)(colon - e), e);
	}
	return l->n > 0;
}

/* Is every word of header part of a column name the legend defines?  The first word that is not, or NULL. */
static const char *uncovered(const char *header, const struct legend *l, char *word, size_t len)
{
	const char *p = header;

	while (*(p += strspn(p, " ")) && *p != '\n') {
		size_t best = 0;

		for (unsigned int i = 0; i < l->n; i++) {
			size_t n = strlen(l->names[i]);

			if (n > best && !strncmp(p, l->names[i], n) && (p[n] == ' ' || p[n] == '\n' || !p[n]))
				best = n;
		}
		if (!best) {
			snprintf(word, len, "%.*s", (int)strcspn(p, " \n"), p);
			return word;
		}
		p += best;
	}
	return NULL;
}

/* The checker itself: it finds a header word no legend entry names. */
static void test_legend_checker_can_fail(void)
{
	struct legend l;
	char word[64];

	KASSERT(legend_parse("Columns: a b: one; c: two, three.\n", &l));
	KEXPECT_EQ(l.n, 2);
	KEXPECT(uncovered("a b  c\n", &l, word, sizeof(word)) == NULL);
	KEXPECT(uncovered("a b  c  d\n", &l, word, sizeof(word)) != NULL);
	KEXPECT_STREQ(word, "d");
	KEXPECT(uncovered("a  c\n", &l, word, sizeof(word)) != NULL);   /* "a" alone is not "a b" */
	KEXPECT(!legend_parse("Columns: a b one; c: two.\n", &l));
	KEXPECT(!legend_parse("a: one.\n", &l));
}

/*
 * Every table simulate prints (the first, rates, VM outcomes, by kind, and
 * the guest side) has a header whose every column is named in the
 * "Columns:" legend printed below it.
 */
static void test_every_column_has_a_legend(void)
{
	struct cli_run r = cli_run("simulate --mem 256M --cpus 2 --vms 2 --vcpus 2 --ticks 8 "
				   "--trials 2 --threads 1 --mix snp");
	const char *header = NULL;
	unsigned int tables = 0, legends = 0;

	KEXPECT_EQ(r.status, 0);
	for (const char *p = r.out; *p; ) {
		const char *nl = strchr(p, '\n');
		struct legend l;
		char word[64];

		if (!strncmp(p, "Columns:", 8)) {
			KASSERT(header != NULL);
			KEXPECT(legend_parse(p, &l));
			if (uncovered(header, &l, word, sizeof(word)))
				ktap_fail(__FILE__, __LINE__, "column '%s' of '%.*s' has no legend entry",
					  word, (int)strcspn(header, "\n"), header);
			legends++;
			header = NULL;
			while (*p && *p != '\n')   /* the rest of the paragraph */
				p = strchr(p, '\n') ? strchr(p, '\n') + 1 : p + strlen(p);
			continue;
		}
		if (!strncmp(p, "strategy ", 9) || !strncmp(p, "guest ", 6)) {
			KEXPECT(header == NULL);   /* the last table's legend came first */
			header = p;
			tables++;
		}
		p = nl ? nl + 1 : p + strlen(p);
	}
	KEXPECT(header == NULL);
	KEXPECT_EQ(tables, 5);
	KEXPECT_EQ(legends, 5);
	cli_run_free(&r);
}

/* --help says the trials sharing an aged allocator are correlated, never that they are independent. */
static void test_help_does_not_call_trials_independent(void)
{
	struct cli_run r = cli_run("simulate --help");

	KEXPECT_EQ(r.status, 0);
	KEXPECT(strstr(r.out, "correlated, not independent") != NULL);
	for (const char *p = strstr(r.out, "independent"); p; p = strstr(p + 1, "independent"))
		if (p - r.out < 4 || strncmp(p - 4, "not ", 4))
			ktap_fail(__FILE__, __LINE__, "--help: '%.40s'", p > r.out + 20 ? p - 20 : p);
	cli_run_free(&r);
}

/*
 * The tick in real time and the time to a host's first spurious #PF
 * (docs/MODEL.md "The tick in real time"): one tick for the run (its
 * strategies' writes into VMRUN regions pooled) over the measured rate;
 * SIM_EXPOSED's one naive host that faults does so in its 11th tick, so its
 * exposure is 63 x 16 + 11 host-ticks; the safe strategies have no fault,
 * so a lower end only.
 */
static void test_time_to_first_fault(void)
{
	struct jl *doc = run_json(SIM_EXPOSED " --json");
	const struct jl *res = jl_get(doc, "results");
	struct cli_run t = cli_run(SIM_EXPOSED);
	double per_tick = -1;

	for (int i = 0; i < 3; i++) {
		const struct jl *r = jl_at(res, i), *tm = jl_get(r, "time");
		const struct jl *tick = jl_get(tm, "tick_seconds"), *tf = jl_get(tm, "ticks_to_first_fault");
		const struct jl *sf = jl_get(tm, "seconds_to_first_fault");

		KASSERT(tm && tick && tf && sf);
		KEXPECT_EQ(num(tm, "hosts_faulted"), num(r, "trials_with_fault"));
		KEXPECT_EQ(num(tm, "ticks"), 64 * 16);
		if (per_tick < 0)
			per_tick = num(tm, "run_huge_writes_per_tick");
		KEXPECT(per_tick > 0 && num(tm, "run_huge_writes_per_tick") == per_tick);
		KEXPECT(fabs(num(tick, "point") - per_tick / SIM_TICK_MEASURED_RATE_MID) < 1e-9);
		KEXPECT(fabs(num(tick, "lo") - per_tick / SIM_TICK_MEASURED_RATE_HI) < 1e-9);
		KEXPECT(fabs(num(tick, "hi") - per_tick / SIM_TICK_MEASURED_RATE_LO) < 1e-9);
		KEXPECT(num(tm, "region_huge_writes") <= num(tm, "region_writes"));
		if (!i) {
			KEXPECT_STREQ(str(r, "strategy"), "naive");
			KEXPECT_EQ(num(tm, "hosts_faulted"), 1);
			KEXPECT_EQ(num(tm, "exposure_ticks"), 63 * 16 + 11);
			KEXPECT_EQ(num(tf, "point"), 63 * 16 + 11);
			KEXPECT(num(tf, "lo") < num(tf, "point") && num(tf, "point") < num(tf, "hi"));
			KEXPECT(fabs(num(sf, "point") / (num(tf, "point") * num(tick, "point")) - 1) < 1e-5);
			KEXPECT(fabs(num(sf, "hi") / (num(tf, "hi") * num(tick, "hi")) - 1) < 1e-5);
		} else {
			KEXPECT_EQ(num(tm, "hosts_faulted"), 0);
			KEXPECT(is_null(tf, "point") && is_null(tf, "hi") && is_null(sf, "hi"));
			KEXPECT(num(tf, "lo") > 0 && num(sf, "lo") > 0);
		}
	}
	KEXPECT(strstr(t.out, "Time to a host's first spurious #PF") != NULL);
	KEXPECT(strstr(t.out, "naive     1 of 64 hosts faulted, in 1019 host-ticks") != NULL);
	KEXPECT(strstr(t.out, "sieve     0 of 64 hosts faulted, in 1024 host-ticks: ticks to the first n/a") != NULL);
	cli_run_free(&t);
	jl_free(doc);
}

static const struct ktap_case cases[] = {
	KTAP_CASE(test_zero_exposed_is_na_and_null),
	KTAP_CASE(test_exposed_rates_are_numbers),
	KTAP_CASE(test_bench_zero_exposed_is_na_and_null),
	KTAP_CASE(test_effective_hosts_and_warning),
	KTAP_CASE(test_effective_hosts_are_the_intervals_n),
	KTAP_CASE(test_summary_line_matches_tables_and_json),
	KTAP_CASE(test_legend_checker_can_fail),
	KTAP_CASE(test_every_column_has_a_legend),
	KTAP_CASE(test_help_does_not_call_trials_independent),
	KTAP_CASE(test_time_to_first_fault),
};

KTAP_MAIN("cli_simulate", cases)
