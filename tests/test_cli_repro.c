// SPDX-License-Identifier: MIT
/*
 * test_cli_repro.c - `snpsafe repro` through the built command: the three
 * runs start from the same setup (the same 2MB-aligned page on offer), each
 * story says what its strategy really did with that page (pfns read from
 * the JSON, never guessed), the text and the JSON tell the same steps, and
 * the --svg picture has a panel per run shown whose cells match the runs,
 * offsets, a key, and no text past its width.  --kvm: what each KVM
 * version put through the safe allocator, and rfc-v4's exposed save area.
 * One consistent story (issue 23): naive's run says it goes on past the
 * panic, step 6 says the buffer whose page vmcb02 gets was freed, naive's
 * exposed save area is told, upstream's step 2 says why its freed half is
 * harmless, --help names the steps the output prints, and --strategy picks
 * the runs of the text, the JSON and the picture alike (--svg - on stdout).
 */
#include "cli_json.h"

#include <snpsafe/common.h>

#include <stdarg.h>
#include <sys/stat.h>

static const char *const strategies[] = { "naive", "upstream", "sieve" };

static unsigned long long hex(const struct jl *o, const char *key)
{
	const char *s = str(o, key);

	KEXPECT(!strncmp(s, "0x", 2));
	return strtoull(s, NULL, 16);
}

static unsigned long long hex_at(const struct jl *arr, unsigned int i)
{
	const struct jl *v = jl_at(arr, i);

	if (!v || v->type != JL_STR) {
		ktap_fail(__FILE__, __LINE__, "element %u missing or not a string", i);
		return ~0ULL;
	}
	return strtoull(v->str, NULL, 16);
}

/* runs[i] of a repro --json document, or fail the case. */
static const struct jl *run_at(const struct jl *doc, unsigned int i)
{
	const struct jl *run = jl_at(jl_get(doc, "runs"), i);

	if (!run || run->type != JL_OBJ) {
		ktap_fail(__FILE__, __LINE__, "no runs[%u] in the document", i);
		ktap_abort_case();
	}
	return run;
}

/*
 * repro --json --strategy S (and @more): the document, to free, and in
 * *run its one run, which must be S's.
 */
static struct jl *run_strategy_ex(const char *s, const char *more, const struct jl **run)
{
	char args[128];
	struct jl *doc;

	snprintf(args, sizeof(args), "repro --json --strategy %s%s", s, more);
	doc = run_json(args);
	KEXPECT_EQ(jl_len(jl_get(doc, "runs")), 1);
	*run = run_at(doc, 0);
	KEXPECT(!strcmp(str(*run, "strategy"), s));
	return doc;
}

static struct jl *run_strategy(const char *s, const struct jl **run)
{
	return run_strategy_ex(s, "", run);
}

/* Does step @i of @doc contain the text printf(@fmt, ...) makes? */
static bool step_has(const struct jl *doc, unsigned int i, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static bool step_has(const struct jl *doc, unsigned int i, const char *fmt, ...)
{
	const struct jl *st = jl_at(jl_get(doc, "steps"), i);
	char want[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(want, sizeof(want), fmt, ap);
	va_end(ap);
	if (st && st->type == JL_STR && strstr(st->str, want))
		return true;
	ktap_fail(__FILE__, __LINE__, "step %u lacks '%s': %s", i + 1, want,
		  st && st->type == JL_STR ? st->str : "(none)");
	return false;
}

static void test_repro_same_setup(void)
{
	unsigned long long offered[3];

	for (unsigned int s = 0; s < 3; s++) {
		const struct jl *run;
		struct jl *doc = run_strategy(strategies[s], &run);

		offered[s] = hex(run, "offered_pfn");
		KEXPECT_EQ(offered[s] % 512, 0);
		KEXPECT_EQ(num(run, "offered_at"), 3);   /* after run, pio_data, fpstate */
		KEXPECT(step_has(run, 0, "pfn 0x%llx, 2MB-aligned, is on CPU 0's UNMOVABLE list",
				 offered[s]));
		KEXPECT(step_has(run, 0, "__rmqueue_fallback()"));
		jl_free(doc);
	}
	KEXPECT_EQ(offered[0], offered[1]);
	KEXPECT_EQ(offered[0], offered[2]);
}

static void test_repro_naive_story(void)
{
	const struct jl *run;
	struct jl *doc = run_strategy("naive", &run);
	const struct jl *call = jl_get(run, "vmcb_alloc");
	unsigned long long offered = hex(run, "offered_pfn"), vmcb = hex(run, "vmcb_pfn");
	unsigned long long write = hex(run, "write_pfn");

	KEXPECT_EQ(vmcb, offered);                 /* it took the page on offer */
	KEXPECT_EQ(jl_len(jl_get(call, "taken")), 1);
	KEXPECT_EQ(hex(jl_at(jl_get(call, "taken"), 0), "pfn"), offered);
	KEXPECT_EQ(num(jl_at(jl_get(call, "taken"), 0), "order"), 0);
	KEXPECT_EQ(jl_len(jl_get(call, "set_aside")), 0);
	KEXPECT_EQ(jl_len(jl_get(call, "freed")), 0);
	KEXPECT_EQ(hex(call, "kept"), vmcb);
	KEXPECT(step_has(run, 1, "plain order-0 allocation (naive, no workaround) and got the page "
			 "on offer: pfn 0x%llx (2MB-aligned)", vmcb));
	KEXPECT_EQ(write / 512, vmcb / 512);       /* the write is in the VMCB's region */
	KEXPECT(step_has(run, 3, "pfn 0x%llx, inside the VMCB's 2MB region [0x%llx-0x%llx]",
			 write, vmcb, vmcb + 511));
	KEXPECT(step_has(run, 4, "base entry, pfn 0x%llx (the VMCB, in-use): spurious RMP "
			 "violation #PF", vmcb));
	KEXPECT(num(run, "spurious_faults") >= 1);
	KEXPECT_EQ(hex(jl_get(run, "fault"), "pa"), write << 12);
	jl_free(doc);
}

static void test_repro_upstream_story(void)
{
	const struct jl *run;
	struct jl *doc = run_strategy("upstream", &run);
	const struct jl *call = jl_get(run, "vmcb_alloc"), *taken = jl_get(call, "taken");
	unsigned long long offered = hex(run, "offered_pfn"), vmcb = hex(run, "vmcb_pfn");
	unsigned long long first, freed;

	KASSERT(jl_len(taken) == 1 && jl_len(jl_get(call, "freed")) == 1);
	first = hex(jl_at(taken, 0), "pfn");
	freed = hex_at(jl_get(call, "freed"), 0);
	KEXPECT_EQ(num(jl_at(taken, 0), "order"), 1);
	KEXPECT_EQ(first % 2, 0);                  /* a buddy block is aligned to its size */
	KEXPECT(vmcb == first || vmcb == first + 1);
	KEXPECT_EQ(freed, vmcb == first ? first + 1 : first);
	KEXPECT(vmcb % 512 != 0);
	KEXPECT(offered != first && offered != first + 1);
	KEXPECT_EQ(jl_len(jl_get(call, "set_aside")), 0);
	KEXPECT(step_has(run, 1, "snp_safe_alloc_page() (upstream): it took an order-1 block, pfns "
			 "0x%llx-0x%llx, split_page() it, kept pfn 0x%llx as the VMCB and freed "
			 "pfn 0x%llx", first, first + 1, vmcb, freed));
	KEXPECT(step_has(run, 1, "The aligned page on offer, pfn 0x%llx, was not taken", offered));
	/* LIFO: the freed half is the next page CPU 0 hands out. */
	KEXPECT_EQ(hex(run, "write_pfn"), freed);
	KEXPECT(step_has(run, 3, "pfn 0x%llx, inside the VMCB's 2MB region", freed));
	KEXPECT(step_has(run, 3, "the page upstream freed a moment ago"));
	KEXPECT(step_has(run, 4, "base entry, pfn 0x%llx (", vmcb & ~511ULL));
	KEXPECT(step_has(run, 4, "not in-use): no fault"));
	KEXPECT_EQ(num(run, "faults"), 0);
	jl_free(doc);
}

static void test_repro_sieve_story(void)
{
	const struct jl *run;
	struct jl *doc = run_strategy("sieve", &run);
	const struct jl *call = jl_get(run, "vmcb_alloc"), *taken = jl_get(call, "taken");
	unsigned long long offered = hex(run, "offered_pfn"), vmcb = hex(run, "vmcb_pfn");
	unsigned long long second;

	KASSERT(jl_len(taken) == 2);
	second = hex(jl_at(taken, 1), "pfn");
	KEXPECT_EQ(hex(jl_at(taken, 0), "pfn"), offered);   /* it took the page on offer... */
	KEXPECT_EQ(jl_len(jl_get(call, "set_aside")), 1);
	KEXPECT_EQ(hex_at(jl_get(call, "set_aside"), 0), offered);   /* ...set it aside... */
	KEXPECT_EQ(second, vmcb);                             /* ...and kept the next one */
	KEXPECT(vmcb % 512 != 0);
	KEXPECT_EQ(jl_len(jl_get(call, "freed")), 0);
	KEXPECT(step_has(run, 1, "pfn 0x%llx (2MB-aligned), set aside in node 0's pool; pfn 0x%llx, "
			 "kept as the VMCB", offered, vmcb));
	KEXPECT_EQ(hex(run, "region_pfn"), offered);
	KEXPECT(!strcmp(str(run, "region_base"), "set aside in the sieve's pool, not in-use"));
	KEXPECT(step_has(run, 4, "base entry, pfn 0x%llx (set aside in the sieve's pool, not "
			 "in-use): no fault", offered));
	KEXPECT_EQ(num(run, "faults"), 0);
	jl_free(doc);
}

/* The text run prints, as "N. ...", exactly the JSON's steps. */
static void test_repro_text_matches_json(void)
{
	for (unsigned int s = 0; s < 3; s++) {
		char args[64], line[1400];
		const struct jl *run;
		struct jl *doc = run_strategy(strategies[s], &run);
		const struct jl *steps = jl_get(run, "steps");
		struct cli_run r;

		snprintf(args, sizeof(args), "repro --strategy %s", strategies[s]);
		r = cli_run(args);
		KEXPECT_EQ(r.status, 0);
		KEXPECT(jl_len(steps) == 6);
		for (unsigned int i = 0; i < jl_len(steps); i++) {
			snprintf(line, sizeof(line), "\n%u. %s\n", i + 1, jl_at(steps, i)->str);
			KEXPECT(strstr(r.out, line) != NULL);
		}
		KEXPECT(strstr(r.out, "the page before it") == NULL);
		cli_run_free(&r);
		jl_free(doc);
	}
}

/* by_kind.KIND.FIELD of a run of repro --json. */
static double kind_num(const struct jl *run, const char *kind, const char *field)
{
	return num(jl_get(jl_get(run, "by_kind"), kind), field);
}

/*
 * repro --kvm V runs the chosen version's call sites: the JSON names the
 * version and, per page kind, what went through the safe allocator.  Every
 * kind is safe in the merged versions and pml; rfc-v4 leaves the save areas
 * and vmcb02 on plain pages, and here one save area 2MB-aligned and exposed
 * (the finding); only pml has PML buffers, all safe, none aligned.
 */
static void test_repro_kvm_versions(void)
{
	static const char *const versions[] = { "6.18", "6.11", "6.9", "rfc-v4", "pml" };
	static const char *const kinds[] = { "vmcb01", "vmsa", "avic", "hsave", "vmcb02", "pml" };

	for (unsigned int v = 0; v < 5; v++) {
		bool rfc = v == 3, pml = v == 4;
		char more[32];
		const struct jl *run;
		struct jl *doc;

		snprintf(more, sizeof(more), " --kvm %s", versions[v]);
		doc = run_strategy_ex("upstream", more, &run);
		KEXPECT(!strcmp(str(doc, "kvm"), versions[v]));
		KEXPECT_EQ(num(run, "spurious_faults"), 0);
		for (unsigned int k = 0; k < 6; k++) {
			bool plain = rfc && (k == 3 || k == 4);

			KEXPECT_EQ(kind_num(run, kinds[k], "safe"),
				   plain ? 0 : kind_num(run, kinds[k], "allocated"));
			if (!rfc)
				KEXPECT_EQ(kind_num(run, kinds[k], "exposed_aligned"), 0);
		}
		KEXPECT_EQ(kind_num(run, "hsave", "allocated"), 2);
		KEXPECT_EQ(kind_num(run, "vmcb02", "allocated"), 1);
		KEXPECT_EQ(kind_num(run, "pml", "allocated"), pml ? kind_num(run, "vmcb01", "allocated") : 0);
		if (rfc) {
			ktap_log("rfc-v4: hsave aligned %g exposed aligned %g; vmcb02 aligned %g",
				 kind_num(run, "hsave", "aligned"), kind_num(run, "hsave", "exposed_aligned"),
				 kind_num(run, "vmcb02", "aligned"));
			KEXPECT_EQ(kind_num(run, "hsave", "exposed_aligned"), 1);
		}
		jl_free(doc);
	}
	{
		struct cli_run r = cli_run("repro --kvm rfc-v4 --strategy upstream");

		KEXPECT_EQ(r.status, 0);
		KEXPECT(strstr(r.out, "Pages by kind, KVM rfc-v4 call sites") != NULL);
		KEXPECT(strstr(r.out, "Finding: KVM rfc-v4 put 2 of 2 hsave page(s) on plain pages") != NULL);
		KEXPECT(strstr(r.out, "with a plain alloc_page() (KVM rfc-v4)") != NULL);
		cli_run_free(&r);
		r = cli_run("repro --kvm pml");
		KEXPECT_EQ(r.status, 0);
		KEXPECT(strstr(r.out, "the vCPU takes a PML buffer from snp_safe_alloc_page() right after its VMCB") != NULL);
		KEXPECT(strstr(r.out, "Result: 1 spurious RMP #PF") != NULL);   /* naive still faults */
		KEXPECT(strstr(r.out, "Finding:") == NULL);
		cli_run_free(&r);
	}
}

/* ---- the picture ---- */

static char *svg_of(const char *args_after)
{
	char path[] = "/tmp/snpsafe-test-svg-XXXXXX", args[160];
	int fd = mkstemp(path);
	struct cli_run r;
	char *text;

	if (fd < 0)
		return NULL;
	close(fd);
	snprintf(args, sizeof(args), "repro --svg %s%s", path, args_after);
	r = cli_run(args);
	KEXPECT_EQ(r.status, 0);
	KEXPECT_EQ(cli_lines(r.err), 0);
	cli_run_free(&r);
	text = cli_slurp(path);
	if (system("command -v xmllint >/dev/null 2>&1") == 0) {
		snprintf(args, sizeof(args), "xmllint --noout %s 2>/dev/null", path);
		KEXPECT_EQ(system(args), 0);
	} else if (getenv("CI")) {
		ktap_fail(__FILE__, __LINE__, "xmllint missing in CI");
	}
	unlink(path);
	return text;
}

/* The text between <g id="panel-NAME"> and its </g>, into a new string. */
static char *panel(const char *svg, const char *name)
{
	char open[48];
	const char *a, *b;

	snprintf(open, sizeof(open), "<g id=\"panel-%s\">", name);
	a = strstr(svg, open);
	b = a ? strstr(a, "</g>") : NULL;
	return a && b ? strndup(a, (size_t)(b - a)) : NULL;
}

static unsigned int count(const char *s, const char *what)
{
	unsigned int n = 0;

	for (const char *p = s; (p = strstr(p, what)); p++)
		n++;
	return n;
}

static bool cell_says(const char *p, unsigned long long pfn, unsigned long long base,
		      const char *what)
{
	char want[128];

	snprintf(want, sizeof(want), "<title>pfn 0x%llx (+0x%03llx): %s</title>", pfn, pfn - base,
		 what);
	if (strstr(p, want))
		return true;
	ktap_fail(__FILE__, __LINE__, "no cell '%s'", want);
	return false;
}

static void test_repro_svg_panels_match_runs(void)
{
	char *svg = svg_of("");

	KASSERT(svg != NULL);
	KEXPECT(strstr(svg, "<svg") != NULL);
	for (unsigned int s = 0; s < 3; s++) {
		const struct jl *run;
		struct jl *doc = run_strategy(strategies[s], &run);
		char *p = panel(svg, strategies[s]);
		unsigned long long base = hex(run, "region_pfn"), vmcb = hex(run, "vmcb_pfn");
		unsigned long long write = hex(run, "write_pfn");

		KASSERT(p != NULL);
		KEXPECT_EQ(count(p, "<title>pfn 0x"), 512 + 1);   /* the cells, and the base mark */
		KEXPECT(strstr(p, "+0x000</text>") && strstr(p, "+0x1e0</text>"));
		KEXPECT(cell_says(p, vmcb, base, "VMCB, in-use"));
		KEXPECT(strstr(p, "region's base") != NULL);
		KEXPECT(strstr(p, "direct-map leaf") != NULL);
		if (s == 0) {
			KEXPECT(cell_says(p, write, base, "written by CPU 0: faulted"));
			KEXPECT(strstr(p, "FAULT: spurious RMP #PF") != NULL);
		} else {
			KEXPECT(cell_says(p, write, base, "written by CPU 0: no fault"));
			KEXPECT(strstr(p, ">no fault</text>") != NULL);
		}
		if (s == 2)
			KEXPECT(cell_says(p, hex(run, "offered_pfn"), base,
					  "set aside in the sieve's pool"));
		free(p);
		jl_free(doc);
	}
	KEXPECT(strstr(svg, ">Key</text>") != NULL);
	free(svg);
}

/*
 * Nothing clipped: every <text> ends inside the picture's width, at 0.6em a
 * glyph (DejaVu Sans Mono's advance is 0.602em; the SVG asks for it).
 */
static void svg_text_fits(const char *args)
{
	char *svg = svg_of(args);
	unsigned int width = 0, texts = 0;
	const char *p;

	KASSERT(svg != NULL);
	p = strstr(svg, "<svg ");
	KASSERT(p && sscanf(strstr(p, "width=\"") + 7, "%u", &width) == 1);
	KEXPECT(strstr(svg, "inuse_erratum=on") != NULL);
	for (p = svg; (p = strstr(p, "<text ")); p++) {
		const char *gt = strchr(p, '>'), *end = gt ? strstr(gt, "</text>") : NULL;
		const char *fs = strstr(p, "font-size=\"");
		double x = 0, size = 12, chars = 0;

		KASSERT(gt && end);
		sscanf(p, "<text x=\"%lf\"", &x);
		if (fs && fs < gt)
			sscanf(fs + 11, "%lf", &size);
		for (const char *c = gt + 1; c < end; c++)
			if (*c == '&')
				c = strchr(c, ';');
			else
				chars += 1;
		if (strstr(p, "text-anchor=\"end\"") && strstr(p, "text-anchor=\"end\"") < gt)
			KEXPECT(x - chars * size * 0.6 >= 0);
		else
			KEXPECT(x + chars * size * 0.6 <= width);
		texts++;
	}
	KEXPECT(texts > 16);
	free(svg);
}

/* Three panels, and one (narrower: the title, setup and key wrap). */
static void test_repro_svg_text_fits(void)
{
	svg_text_fits(" --profile fixed --knob inuse_erratum=on");
	svg_text_fits(" --profile fixed --knob inuse_erratum=on --knob vmrun_marks=vmcb,hsave "
		      "--strategy upstream");
}

/* ---- one consistent story (issue 23) ---- */

/*
 * naive's write faults, and a real host panics there: right after the
 * panic the text says the model goes on, and only then tells step 6.  A
 * run without a fault (a fixed part, or a safe strategy) says nothing of it.
 */
static void test_repro_naive_goes_on_past_panic(void)
{
	static const char goes_on[] = "6. vmcb02: a real host stops at step 5's panic; the model "
				      "goes on, so that this run ends as the others do: ";
	struct cli_run r = cli_run("repro");
	const char *panic = strstr(r.out, "Kernel panic - not syncing"), *after;

	KEXPECT_EQ(r.status, 0);
	KASSERT(panic != NULL);
	after = strchr(panic, '\n');
	KASSERT(after != NULL);
	while (*after == '\n')
		after++;
	if (strncmp(after, goes_on, strlen(goes_on)))
		ktap_fail(__FILE__, __LINE__, "after the panic: %.160s", after);
	KEXPECT_EQ(count(r.out, "the model goes on"), 1);   /* naive's only */
	KEXPECT_EQ(count(r.out, "Kernel panic"), 1);
	cli_run_free(&r);
	r = cli_run("repro --strategy naive --profile fixed");
	KEXPECT_EQ(r.status, 0);
	KEXPECT(strstr(r.out, "Result: 0 spurious RMP #PF") != NULL);
	KEXPECT(strstr(r.out, "the model goes on") == NULL);
	cli_run_free(&r);
}

/*
 * Step 6 says the buffer of steps 4-5 was freed before vmcb02 came, and
 * when vmcb02 is that very page, says so: naive and the sieve hand it the
 * buffer's page (LIFO), upstream takes an order-1 block elsewhere.
 */
static void test_repro_vmcb02_gets_freed_buffer(void)
{
	for (unsigned int s = 0; s < 3; s++) {
		const struct jl *run, *st;
		struct jl *doc = run_strategy(strategies[s], &run);
		unsigned long long write = hex(run, "write_pfn"), vmcb02 = hex(run, "vmcb02_pfn");
		const char *freed, *alloc;
		char held[96];

		st = jl_at(jl_get(run, "steps"), 5);
		KASSERT(st && st->type == JL_STR);
		KEXPECT(step_has(run, 5, "the process freed its buffer, pfn 0x%llx (back at the head of "
				 "CPU 0's list)", write));
		freed = strstr(st->str, "freed its buffer");
		alloc = strstr(st->str, "allocated vmcb02");
		KEXPECT(freed && alloc && freed < alloc);
		KEXPECT(strstr(st->str, "pfn 0x") && vmcb02 != 0);
		snprintf(held, sizeof(held), "pfn 0x%llx, the page step 4's buffer held until it was freed",
			 vmcb02);
		KEXPECT((strstr(st->str, held) != NULL) == (vmcb02 == write));
		if (s == 1)
			KEXPECT(vmcb02 != write);   /* an order-1 block, not the freed single page */
		else
			KEXPECT_EQ(vmcb02, write);
		jl_free(doc);
	}
}

/*
 * Setup tells each CPU's host save area, and a 2MB-aligned exposed one by
 * name: the save areas it lists as exposed and aligned are exactly what the
 * table counts (by_kind.hsave.exposed_aligned, from the census).  naive has
 * one, the safe strategies none, rfc-v4's plain pages one again.
 */
static void test_repro_save_area_told(void)
{
	static const struct {
		const char *strategy, *more;
		unsigned int exposed_aligned;
	} cases[] = {
		{ "naive", "", 1 }, { "upstream", "", 0 }, { "sieve", "", 0 },
		{ "upstream", " --kvm rfc-v4", 1 },
	};

	for (unsigned int c = 0; c < KTAP_ARRAY_SIZE(cases); c++) {
		const struct jl *run, *areas;
		struct jl *doc = run_strategy_ex(cases[c].strategy, cases[c].more, &run);
		unsigned int told = 0;

		areas = jl_get(run, "save_areas");
		KASSERT(areas && jl_len(areas) == 2);
		for (unsigned int cpu = 0; cpu < 2; cpu++) {
			const struct jl *a = jl_at(areas, cpu);
			const struct jl *al = jl_get(a, "aligned"), *ex = jl_get(a, "exposed");
			unsigned long long pfn = hex(a, "pfn");

			KASSERT(al && ex && al->type == JL_BOOL && ex->type == JL_BOOL);
			KEXPECT_EQ(num(a, "cpu"), cpu);
			KEXPECT_EQ(al->boolean, pfn % 512 == 0);
			KEXPECT(step_has(run, 0, "CPU %u's pfn 0x%llx%s", cpu, pfn,
					 pfn % 512 ? "" : " (2MB-aligned)"));
			if (al->boolean && ex->boolean) {
				told++;
				KEXPECT(step_has(run, 0, "CPU %u's, 2MB-aligned, is exposed: VMSAVE to it "
						 "before each VMRUN on CPU %u marks it in-use", cpu, cpu));
			}
		}
		KEXPECT_EQ(told, cases[c].exposed_aligned);
		KEXPECT_EQ(kind_num(run, "hsave", "exposed_aligned"), told);
		if (!told) {
			const struct jl *setup = jl_at(jl_get(run, "steps"), 0);

			KEXPECT(setup && setup->type == JL_STR && !strstr(setup->str, "is exposed"));
		}
		jl_free(doc);
	}
}

/*
 * upstream frees half of its order-1 block inside the VMCB's own 2MB
 * region; step 2 says at once why that is harmless, and the reason is the
 * model's: the write into that region (steps 4-5) reads the base entry,
 * which is not in-use, and does not fault.
 */
static void test_repro_upstream_freed_half_harmless(void)
{
	const struct jl *run, *st;
	struct jl *doc = run_strategy("upstream", &run);
	unsigned long long vmcb = hex(run, "vmcb_pfn"), base = vmcb & ~511ULL;
	unsigned long long freed = hex_at(jl_get(jl_get(run, "vmcb_alloc"), "freed"), 0);
	const char *why, *offer;

	KEXPECT_EQ(freed & ~511ULL, base);         /* the freed half shares the region */
	KEXPECT(freed != base && vmcb != base);
	KEXPECT(step_has(run, 1, "The freed page shares the VMCB's own 2MB region [0x%llx-0x%llx], "
			 "harmlessly: the erratum checks a hugepage access to the region against its "
			 "base entry only, pfn 0x%llx; the VMCB, which VMRUN marks in-use (step 3), is not "
			 "the base, and the freed page, which step 4's buffer gets, is not in-use.",
			 base, base + 511, base));
	st = jl_at(jl_get(run, "steps"), 1);
	KASSERT(st && st->type == JL_STR);
	why = strstr(st->str, "harmlessly");
	offer = strstr(st->str, "The aligned page on offer");
	KEXPECT(why && offer && why < offer);     /* at once, before the rest of the step */
	/* The model agrees: the buffer is the freed page, its write reads a base not in-use. */
	KEXPECT_EQ(hex(run, "write_pfn"), freed);
	KEXPECT_EQ(hex(run, "region_pfn"), base);
	KEXPECT(strstr(str(run, "region_base"), "not in-use") != NULL);
	KEXPECT_EQ(num(run, "faults"), 0);
	jl_free(doc);
}

/*
 * --help lists the steps by number and name; every run of the text prints
 * exactly those, in order, as "N. Name: ", and every JSON step begins with
 * its name.
 */
static void test_repro_help_names_the_steps(void)
{
	struct cli_run h = cli_run("repro --help"), t = cli_run("repro");
	char names[8][16], want[48];
	unsigned int n = 0, lines = 0;
	const char *p;
	struct jl *doc;

	KEXPECT_EQ(h.status, 0);
	KEXPECT_EQ(t.status, 0);
	p = strstr(h.out, "Each run has 6\nsteps; 2-5 are the changelog's four:\n");
	KASSERT(p != NULL);
	p = strchr(strchr(p, '\n') + 1, '\n') + 1;
	for (unsigned int i; n < 8 && sscanf(p, "  %u. %15s ", &i, names[n]) == 2 && i == n + 1; n++)
		p = strchr(p, '\n') + 1;
	KEXPECT_EQ(n, 6);
	KEXPECT(!strcmp(names[1], "VMCB") && !strcmp(names[5], "vmcb02"));
	for (p = t.out; (p = strstr(p, "\n")) && p[1]; p++)
		if (p[1] >= '1' && p[1] <= '9' && p[2] == '.') {
			snprintf(want, sizeof(want), "\n%u. %.15s: ", lines % 6 + 1, names[lines % 6]);
			if (strncmp(p, want, strlen(want)))
				ktap_fail(__FILE__, __LINE__, "step line %u: '%.40s', want '%s'", lines,
					  p + 1, want + 1);
			lines++;
		}
	KEXPECT_EQ(lines, 3 * 6);
	doc = run_json("repro --json");
	for (unsigned int r = 0; r < 3; r++) {
		const struct jl *steps = jl_get(run_at(doc, r), "steps");

		KEXPECT_EQ(jl_len(steps), 6);
		for (unsigned int i = 0; i < jl_len(steps) && i < n; i++) {
			snprintf(want, sizeof(want), "%.15s: ", names[i]);
			KEXPECT(!strncmp(jl_at(steps, i)->str, want, strlen(want)));
		}
	}
	jl_free(doc);
	cli_run_free(&h);
	cli_run_free(&t);
}

/* The "== S allocator" headers of a text run, as "naive upstream sieve". */
static void run_headers(const char *out, char *buf, size_t len)
{
	size_t n = 0;

	buf[0] = 0;
	for (const char *p = out; (p = strstr(p, "== ")) && n < len; p++)
		if (p == out || p[-1] == '\n')
			n += (size_t)snprintf(buf + n, len - n, "%s%.*s", n ? " " : "",
					      (int)strcspn(p + 3, " "), p + 3);
}

/*
 * No --strategy: all three runs, naive, upstream, sieve, in the text, the
 * JSON and the picture; --strategy S: S only, in all three.  --help says so.
 */
static void test_repro_strategy_picks_runs(void)
{
	static const char *const all = "naive upstream sieve";
	char got[96], args[64];
	struct cli_run r = cli_run("repro");
	struct jl *doc;
	char *svg;

	run_headers(r.out, got, sizeof(got));
	KEXPECT(!strcmp(got, all));
	cli_run_free(&r);
	r = cli_run("repro --help");
	KEXPECT(strstr(r.out, "show only S") != NULL);
	KEXPECT(strstr(r.out, "without it, all three in turn (text, --json and --svg)") != NULL);
	cli_run_free(&r);
	doc = run_json("repro --json");
	KEXPECT_EQ(jl_len(jl_get(doc, "runs")), 3);
	for (unsigned int s = 0; s < 3; s++)
		KEXPECT(!strcmp(str(run_at(doc, s), "strategy"), strategies[s]));
	jl_free(doc);
	svg = svg_of("");
	KASSERT(svg != NULL);
	KEXPECT_EQ(count(svg, "<g id=\"panel-"), 3);
	free(svg);
	for (unsigned int s = 0; s < 3; s++) {
		snprintf(args, sizeof(args), "repro --strategy %s", strategies[s]);
		r = cli_run(args);
		run_headers(r.out, got, sizeof(got));
		KEXPECT(!strcmp(got, strategies[s]));
		cli_run_free(&r);
		snprintf(args, sizeof(args), " --strategy %s", strategies[s]);
		svg = svg_of(args);
		KASSERT(svg != NULL);
		KEXPECT_EQ(count(svg, "<g id=\"panel-"), 1);
		snprintf(got, sizeof(got), "<g id=\"panel-%s\">", strategies[s]);
		KEXPECT(strstr(svg, got) != NULL);
		free(svg);
	}
}

/*
 * --svg - writes the picture on stdout instead of the text, and no file
 * named "-"; with --json too it is a usage error (both on stdout); a full
 * stdout is a failed write (exit 1), as for every other output.
 */
static void test_repro_svg_to_stdout(void)
{
	char dir[] = "/tmp/snpsafe-test-svg-XXXXXX", cmd[1024], path[600];
	struct stat st;
	char *out;
	size_t len;

	KASSERT(mkdtemp(dir) != NULL);
	snprintf(cmd, sizeof(cmd), "cd %s && %s repro --strategy sieve --svg - >out.svg 2>err", dir,
		 cli_bin());
	KEXPECT_EQ(WEXITSTATUS(system(cmd)), 0);
	snprintf(path, sizeof(path), "%s/-", dir);
	KEXPECT(stat(path, &st) != 0);
	snprintf(path, sizeof(path), "%s/out.svg", dir);
	out = cli_slurp(path);
	KASSERT(out != NULL);
	len = strlen(out);
	KEXPECT(!strncmp(out, "<?xml", 5));
	KEXPECT(len > 7 && !strcmp(out + len - 7, "</svg>\n"));
	KEXPECT(strstr(out, "<g id=\"panel-sieve\">") != NULL);
	KEXPECT(strstr(out, "== sieve") == NULL && strstr(out, "1. Setup") == NULL);
	if (system("command -v xmllint >/dev/null 2>&1") == 0) {
		snprintf(cmd, sizeof(cmd), "xmllint --noout %s 2>/dev/null", path);
		KEXPECT_EQ(system(cmd), 0);
	}
	free(out);
	/* A full stdout: exit 3 (the output could not be written), one line; here too no file "-". */
	snprintf(cmd, sizeof(cmd), "cd %s && %s repro --svg - >/dev/full 2>err", dir, cli_bin());
	KEXPECT_EQ(WEXITSTATUS(system(cmd)), 3);
	snprintf(path, sizeof(path), "%s/err", dir);
	out = cli_slurp(path);
	KASSERT(out != NULL);
	KEXPECT_EQ(cli_lines(out), 1);
	KEXPECT(strstr(out, "cannot write") != NULL);
	free(out);
	snprintf(path, sizeof(path), "%s/-", dir);
	KEXPECT(stat(path, &st) != 0);
	snprintf(cmd, sizeof(cmd), "rm -f %s/out.svg %s/err %s/-; rmdir %s", dir, dir, dir, dir);
	KEXPECT_EQ(system(cmd), 0);
	EXPECT_USAGE_ERROR("repro --svg - --json", "--svg");
}

static const struct ktap_case cases[] = {
	KTAP_CASE(test_repro_same_setup),
	KTAP_CASE(test_repro_naive_story),
	KTAP_CASE(test_repro_upstream_story),
	KTAP_CASE(test_repro_sieve_story),
	KTAP_CASE(test_repro_text_matches_json),
	KTAP_CASE(test_repro_kvm_versions),
	KTAP_CASE(test_repro_svg_panels_match_runs),
	KTAP_CASE(test_repro_svg_text_fits),
	KTAP_CASE(test_repro_naive_goes_on_past_panic),
	KTAP_CASE(test_repro_vmcb02_gets_freed_buffer),
	KTAP_CASE(test_repro_save_area_told),
	KTAP_CASE(test_repro_upstream_freed_half_harmless),
	KTAP_CASE(test_repro_help_names_the_steps),
	KTAP_CASE(test_repro_strategy_picks_runs),
	KTAP_CASE(test_repro_svg_to_stdout),
};

KTAP_MAIN("cli_repro", cases)
