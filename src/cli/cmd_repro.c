// SPDX-License-Identifier: MIT
/*
 * cmd_repro.c - `snpsafe repro`: the changelog's scenario in six steps end to
 * end through the KVM model (src/sim/repro.c names them), the fault as a
 * kernel engineer would see it, and the same run with the SNP-safe
 * allocators: all three strategies, or the one --strategy names, in the
 * text, the JSON and the picture alike.
 */
#include "cli.h"
#include "repro_svg.h"

#include <snpsafe/sim.h>

#include <errno.h>
#include <string.h>

struct repro_opts {
	enum snp_alloc_strategy strategy;
	bool one_strategy;           /* --strategy given: show only that one */
	enum kvm_version kvm;
	struct cli_profile_opts po;
	const char *svg;
	bool json;
};

#define OPTS(ctx) ((struct repro_opts *)(ctx))

static SNP_MUST_CHECK int set_strategy(void *ctx, const char *v)
{
	OPTS(ctx)->one_strategy = true;
	return snp_alloc_strategy_parse(v, &OPTS(ctx)->strategy);
}
static SNP_MUST_CHECK int set_kvm(void *ctx, const char *v) { return kvm_version_parse(v, &OPTS(ctx)->kvm); }
static SNP_MUST_CHECK int set_svg(void *ctx, const char *v) { OPTS(ctx)->svg = v; return 0; }
static SNP_MUST_CHECK int set_json(void *ctx, const char *v) { OPTS(ctx)->json = true; return 0; }
static SNP_MUST_CHECK int set_profile(void *ctx, const char *v) { return cli_profile_opts_set_profile(&OPTS(ctx)->po, v); }
static SNP_MUST_CHECK int set_knob(void *ctx, const char *v) { return cli_profile_opts_add_knob(&OPTS(ctx)->po, "repro", v); }

/* Written from the model's tables when the command starts (cmd_repro()). */
static char kvm_help[CLI_KVM_HELP_MAX], kvm_valid[CLI_KVM_VALID_MAX];

static const struct cli_option repro_options[] = {
	{ "strategy", true, set_strategy, "S", "show only S: naive (a counterfactual SNP host without the workaround), "
	  "upstream or sieve; without it, all three in turn (text, --json and --svg)",
	  "naive, upstream, sieve" },
	{ "profile", true, set_profile, "P", "early-snp (default), hv-inuse-wr or fixed",
	  "early-snp, hv-inuse-wr, fixed" },
	{ "knob", true, set_knob, "NAME=VALUE", "set a profile knob (list below), repeatable", NULL },
	{ "kvm", true, set_kvm, "V", kvm_help, kvm_valid },
	{ "svg", true, set_svg, "FILE", "draw the runs shown (side by side) as SVG to FILE; - writes it on stdout "
	  "instead of the text", NULL },
	{ "json", false, set_json, "", "print one JSON object on stdout: profile, knobs, kvm and runs, "
	  "one per strategy shown", NULL },
	{ NULL, false, NULL, NULL, NULL, NULL },
};

/* Which pages the KVM version put through the safe allocator, and what stays exposed. */
static void print_kinds(const struct sim_repro_result *r)
{
	printf("Pages by kind, KVM %s call sites (safe = through snp_safe_alloc_page*(); the "
	       "strategy decides what it returns):\n  %-7s %9s %5s %8s %8s %16s\n",
	       kvm_version_name(r->kvm), "kind", "allocated", "safe", "aligned", "exposed",
	       "exposed aligned");
	for (int k = 0; k < KVM_PAGE_NR_KINDS; k++)
		printf("  %-7s %9llu %5llu %8llu %8llu %16llu\n",
		       kvm_page_kind_name((enum kvm_page_kind)k),
		       (unsigned long long)r->kind_allocated[k], (unsigned long long)r->kind_safe[k],
		       (unsigned long long)r->kind_aligned[k], (unsigned long long)r->kind_exposed[k],
		       (unsigned long long)r->kind_exposed_aligned[k]);
	for (int k = 0; k < KVM_PAGE_NR_KINDS; k++)
		if (r->kind_safe[k] < r->kind_allocated[k])
			printf("Finding: KVM %s put %llu of %llu %s page(s) on plain pages, not through the "
			       "safe allocator; %llu 2MB-aligned and exposed here.\n",
			       kvm_version_name(r->kvm),
			       (unsigned long long)(r->kind_allocated[k] - r->kind_safe[k]),
			       (unsigned long long)r->kind_allocated[k],
			       kvm_page_kind_name((enum kvm_page_kind)k),
			       (unsigned long long)r->kind_exposed_aligned[k]);
	printf("\n");
}

static void print_run(const struct sim_repro_result *r, const struct snp_profile *p)
{
	char knobs[CLI_KNOBS_TEXT_MAX];

	cli_profile_knobs_text(p, knobs, sizeof(knobs));
	printf("== %s allocator%s, %s profile%s%s ==\n", snp_alloc_strategy_name(r->strategy),
	       r->strategy == SNP_ALLOC_NAIVE ? " (counterfactual: no workaround)" : "", r->profile,
	       knobs[0] ? " with " : "", knobs);
	for (unsigned int i = 0; i < r->nr_steps; i++) {
		printf("%u. %s\n", i + 1, r->steps[i]);
		if (r->have_fault && i + 1 == r->fault_after_step)
			cli_print_oops(&r->fault);
	}
	printf("Result: %lu spurious RMP #PF, %lu fault(s) in all; VMCB pfn 0x%llx (%s).\n",
	       r->spurious_faults, r->faults, (unsigned long long)r->vmcb_pfn,
	       r->vmcb_aligned ? "2MB-aligned" : "not 2MB-aligned");
	print_kinds(r);
}

/* A list of pfns as hex strings (the JSON contract: addresses are strings). */
static void json_pfns(struct json *j, const char *key, const snp_pfn_t *pfns, unsigned int n)
{
	json_arr_begin(j, key);
	for (unsigned int i = 0; i < n && i < SNP_ALLOC_CALL_MAX; i++)
		json_hex(j, NULL, pfns[i]);
	json_arr_end(j);
}

/* The VMCB's snp_safe_alloc_page() call, page by page. */
static void json_vmcb_call(struct json *j, const struct snp_alloc_call *c)
{
	json_obj_begin(j, "vmcb_alloc");
	json_arr_begin(j, "taken");
	for (unsigned int i = 0; i < c->nr_taken && i < SNP_ALLOC_CALL_MAX; i++) {
		json_obj_begin(j, NULL);
		json_hex(j, "pfn", c->taken[i]);
		json_u64(j, "order", c->taken_order[i]);
		json_obj_end(j);
	}
	json_arr_end(j);
	json_pfns(j, "set_aside", c->set_aside, c->nr_set_aside);
	json_pfns(j, "freed", c->freed, c->nr_freed);
	json_hex(j, "kept", c->returned);
	json_obj_end(j);
}

/* save_areas: each CPU's host save area, as Setup tells it. */
static void json_save_areas(struct json *j, const struct sim_repro_result *r)
{
	json_arr_begin(j, "save_areas");
	for (unsigned int cpu = 0; cpu < SIM_REPRO_CPUS; cpu++) {
		json_obj_begin(j, NULL);
		json_u64(j, "cpu", cpu);
		json_hex(j, "pfn", r->hsave_pfn[cpu]);
		json_bool(j, "aligned", snp_pfn_2m_aligned(r->hsave_pfn[cpu]));
		json_bool(j, "exposed", r->hsave_exposed[cpu]);
		json_obj_end(j);
	}
	json_arr_end(j);
}

/* by_kind: per page kind, allocated / safe / aligned / exposed / exposed_aligned. */
static void json_kinds(struct json *j, const struct sim_repro_result *r)
{
	json_obj_begin(j, "by_kind");
	for (int k = 0; k < KVM_PAGE_NR_KINDS; k++) {
		json_obj_begin(j, kvm_page_kind_name((enum kvm_page_kind)k));
		json_u64(j, "allocated", r->kind_allocated[k]);
		json_u64(j, "safe", r->kind_safe[k]);
		json_u64(j, "aligned", r->kind_aligned[k]);
		json_u64(j, "exposed", r->kind_exposed[k]);
		json_u64(j, "exposed_aligned", r->kind_exposed_aligned[k]);
		json_obj_end(j);
	}
	json_obj_end(j);
}

/* One run: an element of "runs". */
static void json_run(struct json *j, const struct sim_repro_result *r)
{
	json_obj_begin(j, NULL);
	json_str(j, "strategy", snp_alloc_strategy_name(r->strategy));
	json_u64(j, "spurious_faults", r->spurious_faults);
	json_u64(j, "faults", r->faults);
	json_u64(j, "slab_pages", r->slab_pages);
	json_hex(j, "offered_pfn", r->offered_pfn);
	json_u64(j, "offered_at", r->offered_at);
	json_hex(j, "vmcb_pfn", r->vmcb_pfn);
	json_bool(j, "vmcb_aligned", r->vmcb_aligned);
	json_vmcb_call(j, &r->vmcb_call);
	json_hex(j, "region_pfn", r->region_pfn);
	json_str(j, "region_base", sim_repro_base_name(r->base));
	json_hex(j, "write_pfn", r->write_pfn);
	json_bool(j, "same_region", r->same_region);
	json_str(j, "translation", snp_map_size_name(r->write_map));
	json_hex(j, "vmcb02_pfn", r->vmcb02_pfn);
	json_save_areas(j, r);
	json_kinds(j, r);
	if (r->have_fault) {
		json_obj_begin(j, "fault");
		json_str(j, "rule", snp_fault_rule_name(r->fault.rule));
		json_bool(j, "spurious", r->fault.spurious);
		json_u64(j, "cpu", r->fault.cpu);
		json_hex(j, "va", r->fault.va);
		json_hex(j, "pa", r->fault.pa);
		json_hex(j, "error_code", r->fault.exc.error_code);
		json_str(j, "inuse_owner", r->fault.inuse_owner);
		json_str(j, "rmp_dump", r->fault.rmp_dump);
		json_obj_end(j);
	}
	json_arr_begin(j, "steps");
	for (unsigned int i = 0; i < r->nr_steps; i++)
		json_str(j, NULL, r->steps[i]);
	json_arr_end(j);
	json_obj_end(j);
}

/* The whole document: what every run shares, then the runs shown. */
static void json_doc(const struct sim_repro_result *runs, unsigned int nr, const struct snp_profile *p)
{
	struct json j;

	json_init(&j, stdout);
	json_obj_begin(&j, NULL);
	json_str(&j, "profile", p->name);
	cli_json_knobs(&j, p);
	json_str(&j, "kvm", kvm_version_name(runs[0].kvm));
	json_arr_begin(&j, "runs");
	for (unsigned int i = 0; i < nr; i++)
		json_run(&j, &runs[i]);
	json_arr_end(&j);
	json_obj_end(&j);
	json_finish(&j);
}

/* Open --svg before the run: a directory or a missing folder is a usage error; - is stdout. */
static SNP_MUST_CHECK int svg_open(const char *path, FILE **out)
{
	if (!strcmp(path, "-")) {
		*out = stdout;
		return 0;
	}
	*out = fopen(path, "w");
	if (!*out)
		return cli_usage_error("repro", "cannot write --svg file '%s': %s", path, strerror(errno));
	return 0;
}

/*
 * Write and close it; a full disk or /dev/full is reported with its reason.
 * On stdout, the final flush of every command checks it (main.c).
 */
static SNP_MUST_CHECK int svg_finish(const char *path, FILE *f, const struct sim_repro_result *runs,
				     unsigned int nr, const struct snp_profile *p)
{
	char knobs[CLI_KNOBS_TEXT_MAX];
	int err = 0;

	cli_profile_knobs_text(p, knobs, sizeof(knobs));
	cli_repro_write_svg(f, runs, nr, knobs);
	if (f == stdout)
		return 0;
	if (fflush(f) || ferror(f))
		err = errno ? errno : EIO;
	if (fclose(f) && !err)
		err = errno ? errno : EIO;
	if (err)
		return cli_usage_error("repro", "cannot write --svg file '%s': %s", path, strerror(err));
	return 0;
}

/*
 * Run every strategy, or only @o's when it named one, into @runs in the
 * order naive, upstream, sieve.  The number of runs, or a model error.
 */
static SNP_MUST_CHECK int run_strategies(const struct snp_profile *profile, const struct repro_opts *o,
					 struct sim_repro_result runs[SNP_ALLOC_NR_STRATEGIES])
{
	int nr = 0;

	for (int s = 0; s < SNP_ALLOC_NR_STRATEGIES; s++) {
		int ret;

		if (o->one_strategy && s != (int)o->strategy)
			continue;
		ret = sim_repro_run(profile, (enum snp_alloc_strategy)s, o->kvm, &runs[nr]);
		if (ret)
			return ret;
		nr++;
	}
	return nr;
}

/* The synopsis, with the steps as src/sim/repro.c names them. */
static const char *repro_synopsis(void)
{
	static char text[2048];
	size_t n;

	n = (size_t)snprintf(text, sizeof(text),
		"Reproduce the in-use erratum the way the changelog tells it, end to end through\n"
		"the KVM model on a fresh host, once per strategy from the same setup, and tell\n"
		"what each strategy did with the 2MB-aligned page on offer.  Each run has %d\n"
		"steps; 2-5 are the changelog's four:\n", SIM_REPRO_STEPS);
	for (int i = 0; i < SIM_REPRO_STEPS && n < sizeof(text); i++)
		n += (size_t)snprintf(text + n, sizeof(text) - n, "  %d. %-7s %s\n", i + 1,
				      sim_repro_step_name((enum sim_repro_step)i),
				      sim_repro_step_what((enum sim_repro_step)i));
	if (n < sizeof(text))
		snprintf(text + n, sizeof(text) - n,
			 "On early SNP parts naive's write faults; a real host panics there, the model\n"
			 "goes on so every run ends alike.  Each run counts, per page kind, what the\n"
			 "KVM version (--kvm) put through the safe allocator.  Without --strategy it\n"
			 "shows naive, upstream and sieve in turn; --json and --svg show the same runs.\n");
	return text;
}

int cmd_repro(int argc, char **argv)
{
	static struct sim_repro_result runs[SNP_ALLOC_NR_STRATEGIES];
	struct repro_opts o = { .strategy = SNP_ALLOC_NAIVE, .kvm = KVM_VERSION_6_18 };
	const struct snp_profile *profile;
	FILE *svg = NULL;
	int ret, nr;

	cli_profile_opts_init(&o.po);
	cli_kvm_option_text(o.kvm, kvm_help, sizeof(kvm_help), kvm_valid, sizeof(kvm_valid));
	ret = cli_parse_args_ex("repro", argc, argv, repro_options, &o, repro_synopsis(),
				cli_print_knob_help, NULL, 0, NULL);
	if (ret)
		return ret < 0 ? CLI_EXIT_OK : ret;
	if (o.svg && o.json && !strcmp(o.svg, "-"))
		return cli_usage_error("repro", "--svg - and --json both write on stdout: give --svg a file");
	profile = cli_profile_opts_apply(&o.po);
	if (!profile)
		return cli_fail("repro", "a --knob checked before no longer applies");
	if (cli_dry_run)
		return CLI_EXIT_OK;
	if (o.svg && svg_open(o.svg, &svg))
		return CLI_EXIT_USAGE;
	nr = run_strategies(profile, &o, runs);
	if (nr < 0) {
		if (svg && svg != stdout)
			fclose(svg);
		return cli_fail("repro", "the scenario failed: %s", snp_error_text(nr));
	}
	if (svg && svg_finish(o.svg, svg, runs, (unsigned int)nr, profile))
		return CLI_EXIT_USAGE;
	if (o.json)
		json_doc(runs, (unsigned int)nr, profile);
	else if (svg != stdout)
		for (int i = 0; i < nr; i++)
			print_run(&runs[i], profile);
	return CLI_EXIT_OK;
}
