// SPDX-License-Identifier: MIT
/*
 * test_cli_repro.c - `snpsafe repro` through the built command: the three
 * runs start from the same setup (the same 2MB-aligned page on offer), each
 * story says what its strategy really did with that page (pfns read from
 * the JSON, never guessed), the text and the JSON tell the same steps, and
 * the --svg picture has three panels whose cells match the runs, offsets,
 * a key, and no text past its width.  --kvm: what each KVM version put
 * through the safe allocator, and rfc-v4's exposed save area.
 */
#include "cli_json.h"

#include <snpsafe/common.h>

#include <stdarg.h>

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

static struct jl *run_strategy(const char *s)
{
	char args[64];

	snprintf(args, sizeof(args), "repro --json --strategy %s", s);
	return run_json(args);
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
		struct jl *doc = run_strategy(strategies[s]);

		offered[s] = hex(doc, "offered_pfn");
		KEXPECT_EQ(offered[s] % 512, 0);
		KEXPECT_EQ(num(doc, "offered_at"), 3);   /* after run, pio_data, fpstate */
		KEXPECT(step_has(doc, 0, "pfn 0x%llx, 2MB-aligned, is on CPU 0's UNMOVABLE list",
				 offered[s]));
		KEXPECT(step_has(doc, 0, "__rmqueue_fallback()"));
		jl_free(doc);
	}
	KEXPECT_EQ(offered[0], offered[1]);
	KEXPECT_EQ(offered[0], offered[2]);
}

static void test_repro_naive_story(void)
{
	struct jl *doc = run_strategy("naive");
	const struct jl *call = jl_get(doc, "vmcb_alloc");
	unsigned long long offered = hex(doc, "offered_pfn"), vmcb = hex(doc, "vmcb_pfn");
	unsigned long long write = hex(doc, "write_pfn");

	KEXPECT_EQ(vmcb, offered);                 /* it took the page on offer */
	KEXPECT_EQ(jl_len(jl_get(call, "taken")), 1);
	KEXPECT_EQ(hex(jl_at(jl_get(call, "taken"), 0), "pfn"), offered);
	KEXPECT_EQ(num(jl_at(jl_get(call, "taken"), 0), "order"), 0);
	KEXPECT_EQ(jl_len(jl_get(call, "set_aside")), 0);
	KEXPECT_EQ(jl_len(jl_get(call, "freed")), 0);
	KEXPECT_EQ(hex(call, "kept"), vmcb);
	KEXPECT(step_has(doc, 1, "plain order-0 allocation (naive, no workaround) and got the page "
			 "on offer: pfn 0x%llx (2MB-aligned)", vmcb));
	KEXPECT_EQ(write / 512, vmcb / 512);       /* the write is in the VMCB's region */
	KEXPECT(step_has(doc, 3, "pfn 0x%llx, inside the VMCB's 2MB region [0x%llx-0x%llx]",
			 write, vmcb, vmcb + 511));
	KEXPECT(step_has(doc, 4, "base entry, pfn 0x%llx (the VMCB, in-use): spurious RMP "
			 "violation #PF", vmcb));
	KEXPECT(num(doc, "spurious_faults") >= 1);
	KEXPECT_EQ(hex(jl_get(doc, "fault"), "pa"), write << 12);
	jl_free(doc);
}

static void test_repro_upstream_story(void)
{
	struct jl *doc = run_strategy("upstream");
	const struct jl *call = jl_get(doc, "vmcb_alloc"), *taken = jl_get(call, "taken");
	unsigned long long offered = hex(doc, "offered_pfn"), vmcb = hex(doc, "vmcb_pfn");
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
	KEXPECT(step_has(doc, 1, "snp_safe_alloc_page() (upstream): it took an order-1 block, pfns "
			 "0x%llx-0x%llx, split_page() it, kept pfn 0x%llx as the VMCB and freed "
			 "pfn 0x%llx", first, first + 1, vmcb, freed));
	KEXPECT(step_has(doc, 1, "The aligned page on offer, pfn 0x%llx, was not taken", offered));
	/* LIFO: the freed half is the next page CPU 0 hands out. */
	KEXPECT_EQ(hex(doc, "write_pfn"), freed);
	KEXPECT(step_has(doc, 3, "pfn 0x%llx, inside the VMCB's 2MB region", freed));
	KEXPECT(step_has(doc, 3, "the page upstream freed a moment ago"));
	KEXPECT(step_has(doc, 4, "base entry, pfn 0x%llx (", vmcb & ~511ULL));
	KEXPECT(step_has(doc, 4, "not in-use): no fault"));
	KEXPECT_EQ(num(doc, "faults"), 0);
	jl_free(doc);
}

static void test_repro_sieve_story(void)
{
	struct jl *doc = run_strategy("sieve");
	const struct jl *call = jl_get(doc, "vmcb_alloc"), *taken = jl_get(call, "taken");
	unsigned long long offered = hex(doc, "offered_pfn"), vmcb = hex(doc, "vmcb_pfn");
	unsigned long long second;

	KASSERT(jl_len(taken) == 2);
	second = hex(jl_at(taken, 1), "pfn");
	KEXPECT_EQ(hex(jl_at(taken, 0), "pfn"), offered);   /* it took the page on offer... */
	KEXPECT_EQ(jl_len(jl_get(call, "set_aside")), 1);
	KEXPECT_EQ(hex_at(jl_get(call, "set_aside"), 0), offered);   /* ...set it aside... */
	KEXPECT_EQ(second, vmcb);                             /* ...and kept the next one */
	KEXPECT(vmcb % 512 != 0);
	KEXPECT_EQ(jl_len(jl_get(call, "freed")), 0);
	KEXPECT(step_has(doc, 1, "pfn 0x%llx (2MB-aligned), set aside in node 0's pool; pfn 0x%llx, "
			 "kept as the VMCB", offered, vmcb));
	KEXPECT_EQ(hex(doc, "region_pfn"), offered);
	KEXPECT(!strcmp(str(doc, "region_base"), "set aside in the sieve's pool, not in-use"));
	KEXPECT(step_has(doc, 4, "base entry, pfn 0x%llx (set aside in the sieve's pool, not "
			 "in-use): no fault", offered));
	KEXPECT_EQ(num(doc, "faults"), 0);
	jl_free(doc);
}

/* The text run prints, as "N. ...", exactly the JSON's steps. */
static void test_repro_text_matches_json(void)
{
	for (unsigned int s = 0; s < 3; s++) {
		char args[64], line[700];
		struct jl *doc = run_strategy(strategies[s]);
		const struct jl *steps = jl_get(doc, "steps");
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

/* by_kind.KIND.FIELD of a repro --json document. */
static double kind_num(const struct jl *doc, const char *kind, const char *field)
{
	return num(jl_get(jl_get(doc, "by_kind"), kind), field);
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
		char args[96];
		struct jl *doc;

		snprintf(args, sizeof(args), "repro --json --strategy upstream --kvm %s", versions[v]);
		doc = run_json(args);
		KEXPECT(!strcmp(str(doc, "kvm"), versions[v]));
		KEXPECT_EQ(num(doc, "spurious_faults"), 0);
		for (unsigned int k = 0; k < 6; k++) {
			bool plain = rfc && (k == 3 || k == 4);

			KEXPECT_EQ(kind_num(doc, kinds[k], "safe"),
				   plain ? 0 : kind_num(doc, kinds[k], "allocated"));
			if (!rfc)
				KEXPECT_EQ(kind_num(doc, kinds[k], "exposed_aligned"), 0);
		}
		KEXPECT_EQ(kind_num(doc, "hsave", "allocated"), 2);
		KEXPECT_EQ(kind_num(doc, "vmcb02", "allocated"), 1);
		KEXPECT_EQ(kind_num(doc, "pml", "allocated"), pml ? kind_num(doc, "vmcb01", "allocated") : 0);
		if (rfc) {
			ktap_log("rfc-v4: hsave aligned %g exposed aligned %g; vmcb02 aligned %g",
				 kind_num(doc, "hsave", "aligned"), kind_num(doc, "hsave", "exposed_aligned"),
				 kind_num(doc, "vmcb02", "aligned"));
			KEXPECT_EQ(kind_num(doc, "hsave", "exposed_aligned"), 1);
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
		struct jl *doc = run_strategy(strategies[s]);
		char *p = panel(svg, strategies[s]);
		unsigned long long base = hex(doc, "region_pfn"), vmcb = hex(doc, "vmcb_pfn");
		unsigned long long write = hex(doc, "write_pfn");

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
			KEXPECT(cell_says(p, hex(doc, "offered_pfn"), base,
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
static void test_repro_svg_text_fits(void)
{
	char *svg = svg_of(" --profile fixed --knob inuse_erratum=on");
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
	KEXPECT(texts > 3 * 16);
	free(svg);
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
};

KTAP_MAIN("cli_repro", cases)
