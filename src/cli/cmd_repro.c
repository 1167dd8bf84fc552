// SPDX-License-Identifier: MIT
/*
 * cmd_repro.c - `snpsafe repro`: the changelog's four steps end to end
 * through the KVM model, the fault as a kernel engineer would see it, and
 * the same run with the SNP-safe allocator.
 */
#include "cli.h"

#include <snpsafe/sim.h>

#include <errno.h>
#include <string.h>

struct repro_opts {
	enum snp_alloc_strategy strategy;
	struct cli_profile_opts po;
	const char *svg;
	bool json;
};

#define OPTS(ctx) ((struct repro_opts *)(ctx))

static int set_strategy(void *ctx, const char *v) { return snp_alloc_strategy_parse(v, &OPTS(ctx)->strategy); }
static int set_svg(void *ctx, const char *v) { OPTS(ctx)->svg = v; return 0; }
static int set_json(void *ctx, const char *v) { OPTS(ctx)->json = true; return 0; }
static int set_profile(void *ctx, const char *v) { return cli_profile_opts_set_profile(&OPTS(ctx)->po, v); }
static int set_knob(void *ctx, const char *v) { return cli_profile_opts_add_knob(&OPTS(ctx)->po, "repro", v); }

static const struct cli_option repro_options[] = {
	{ "strategy", true, set_strategy, "S", "naive (default; a counterfactual SNP host without the workaround), upstream or sieve",
	  "naive, upstream, sieve" },
	{ "profile", true, set_profile, "P", "early-snp (default), hv-inuse-wr or fixed",
	  "early-snp, hv-inuse-wr, fixed" },
	{ "knob", true, set_knob, "NAME=VALUE", "set a profile knob (list below), repeatable", NULL },
	{ "svg", true, set_svg, "FILE", "draw the VMCB's 2MB region to FILE", NULL },
	{ "json", false, set_json, "", "print one JSON object on stdout", NULL },
	{ NULL, false, NULL, NULL, NULL, NULL },
};

static void print_run(const struct sim_repro_result *r, const struct snp_profile *p)
{
	char knobs[512];

	cli_profile_knobs_text(p, knobs, sizeof(knobs));
	printf("== %s allocator%s, %s profile%s%s ==\n", snp_alloc_strategy_name(r->strategy),
	       r->strategy == SNP_ALLOC_NAIVE ? " (counterfactual: no workaround)" : "", r->profile,
	       knobs[0] ? " with " : "", knobs);
	for (unsigned int i = 0; i < r->nr_steps; i++)
		printf("%u. %s\n", i + 1, r->steps[i]);
	if (r->have_fault)
		cli_print_oops(&r->fault);
	printf("Result: %lu spurious RMP #PF, %lu fault(s) in all; VMCB pfn 0x%llx (%s).\n\n",
	       r->spurious_faults, r->faults, (unsigned long long)r->vmcb_pfn,
	       r->vmcb_aligned ? "2MB-aligned" : "not 2MB-aligned");
}

static void json_run(struct json *j, const struct sim_repro_result *r, const struct snp_profile *p)
{
	json_str(j, "profile", r->profile);
	cli_json_knobs(j, p);
	json_str(j, "strategy", snp_alloc_strategy_name(r->strategy));
	json_u64(j, "spurious_faults", r->spurious_faults);
	json_u64(j, "faults", r->faults);
	json_hex(j, "vmcb_pfn", r->vmcb_pfn);
	json_bool(j, "vmcb_aligned", r->vmcb_aligned);
	json_hex(j, "write_pfn", r->write_pfn);
	json_bool(j, "same_region", r->same_region);
	json_str(j, "translation", snp_map_size_name(r->write_map));
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
}

/*
 * The VMCB's 2MB region as 512 cells (32 x 16): the in-use page, the page
 * the other process wrote, and the translation the write used.
 */
static void write_svg(FILE *f, const struct sim_repro_result *r)
{
	const unsigned int cell = 18, cols = 32, top = 70, left = 20;
	snp_pfn_t base = r->vmcb_pfn & ~(snp_pfn_t)(SNP_PTRS_PER_PMD - 1);

	fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		   "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%u\" height=\"%u\" "
		   "font-family=\"monospace\" font-size=\"12\">\n", left * 2 + cols * cell, top + 16 * cell + 90);
	fprintf(f, "<title>2MB region 0x%llx: %s allocator, %s profile</title>\n",
		(unsigned long long)base, snp_alloc_strategy_name(r->strategy), r->profile);
	fprintf(f, "<text x=\"%u\" y=\"20\" font-size=\"14\">2MB region pfn 0x%llx-0x%llx "
		   "(%s allocator, %s profile): %lu spurious RMP #PF</text>\n", left,
		(unsigned long long)base, (unsigned long long)base + 511,
		snp_alloc_strategy_name(r->strategy), r->profile, r->spurious_faults);
	fprintf(f, "<text x=\"%u\" y=\"40\">write by CPU 0 through a %s direct-map translation; "
		   "the RMP check of a hugepage reads the base entry</text>\n", left,
		snp_map_size_name(r->write_map));
	for (unsigned int i = 0; i < SNP_PTRS_PER_PMD; i++) {
		snp_pfn_t pfn = base + i;
		const char *fill = "#dddddd", *what = "page";

		if (pfn == r->vmcb_pfn) {
			fill = "#d62728";
			what = "VMCB, in-use";
		} else if (pfn == r->write_pfn) {
			fill = r->write_ret ? "#ff7f0e" : "#2ca02c";
			what = r->write_ret ? "written: faulted" : "written: no fault";
		}
		fprintf(f, "<rect x=\"%u\" y=\"%u\" width=\"%u\" height=\"%u\" fill=\"%s\" "
			   "stroke=\"#ffffff\"><title>pfn 0x%llx: %s</title></rect>\n",
			left + (i % cols) * cell, top + (i / cols) * cell, cell, cell, fill,
			(unsigned long long)pfn, what);
	}
	if (r->write_map != SNP_MAP_4K)
		fprintf(f, "<rect x=\"%u\" y=\"%u\" width=\"%u\" height=\"%u\" fill=\"none\" "
			   "stroke=\"#1f77b4\" stroke-width=\"3\"/>\n", left - 3, top - 3,
			cols * cell + 6, 16 * cell + 6);
	fprintf(f, "<text x=\"%u\" y=\"%u\">red: VMCB (pfn 0x%llx, %s); orange/green: the other "
		   "process's page (pfn 0x%llx)</text>\n", left, top + 16 * cell + 30,
		(unsigned long long)r->vmcb_pfn, r->vmcb_aligned ? "2MB-aligned" : "not aligned",
		(unsigned long long)r->write_pfn);
	fprintf(f, "<text x=\"%u\" y=\"%u\">blue frame: the %s translation covering the region "
		   "(absent for 4K)</text>\n</svg>\n", left, top + 16 * cell + 50,
		snp_map_size_name(r->write_map));
}

/* Open --svg before the run: a directory or a missing folder is a usage error. */
static int svg_open(const char *path, FILE **out)
{
	*out = fopen(path, "w");
	if (!*out)
		return cli_usage_error("repro", "cannot write --svg file '%s': %s", path, strerror(errno));
	return 0;
}

/* Write and close it; a full disk or /dev/full is reported with its reason. */
static int svg_finish(const char *path, FILE *f, const struct sim_repro_result *r)
{
	int err = 0;

	write_svg(f, r);
	if (fflush(f) || ferror(f))
		err = errno ? errno : EIO;
	if (fclose(f) && !err)
		err = errno ? errno : EIO;
	if (err)
		return cli_usage_error("repro", "cannot write --svg file '%s': %s", path, strerror(err));
	return 0;
}

int cmd_repro(int argc, char **argv)
{
	static const char synopsis[] =
		"Reproduce the in-use erratum the way the changelog tells it, end to end through\n"
		"the KVM model on a fresh host: (1) a VMCB lands on a 2MB-aligned page through\n"
		"the ordinary allocation path, (2) VMRUN marks it in-use, (3) another process\n"
		"gets a page of the same 2MB region, (4) writes it through the direct map.  Then\n"
		"the same run with the SNP-safe allocators.\n";
	struct repro_opts o = { .strategy = SNP_ALLOC_NAIVE };
	const struct snp_profile *profile;
	struct sim_repro_result r, safe;
	FILE *svg = NULL;
	struct json j;
	int ret;

	cli_profile_opts_init(&o.po);
	ret = cli_parse_args_ex("repro", argc, argv, repro_options, &o, synopsis,
				cli_print_knob_help, NULL, 0, NULL);
	if (ret)
		return ret < 0 ? CLI_EXIT_OK : ret;
	profile = cli_profile_opts_apply(&o.po);
	if (cli_dry_run)
		return CLI_EXIT_OK;
	if (o.svg && svg_open(o.svg, &svg))
		return CLI_EXIT_USAGE;
	ret = sim_repro_run(profile, o.strategy, &r);
	if (ret) {
		if (svg)
			fclose(svg);
		return cli_fail("repro", "the scenario failed: %s", snp_error_text(ret));
	}
	if (svg && svg_finish(o.svg, svg, &r))
		return CLI_EXIT_USAGE;
	if (o.json) {
		json_init(&j, stdout);
		json_obj_begin(&j, NULL);
		json_run(&j, &r, profile);
		json_obj_end(&j);
		json_finish(&j);
		return CLI_EXIT_OK;
	}
	print_run(&r, profile);
	if (o.strategy != SNP_ALLOC_NAIVE)
		return CLI_EXIT_OK;
	for (int s = SNP_ALLOC_UPSTREAM; s < SNP_ALLOC_NR_STRATEGIES; s++) {
		ret = sim_repro_run(profile, (enum snp_alloc_strategy)s, &safe);
		if (ret)
			return cli_fail("repro", "the scenario failed: %s", snp_error_text(ret));
		print_run(&safe, profile);
	}
	return CLI_EXIT_OK;
}
