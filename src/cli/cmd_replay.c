// SPDX-License-Identifier: MIT
/*
 * cmd_replay.c - `snpsafe replay TRACE`: a recorded real kernel (a watch
 * trace) judged by the hardware model under any profile and knobs, without
 * booting again.  Exit 1 when a recorded store would take an RMP #PF (a
 * finding, as a checker gives one); a bad trace is one line and exit 2.
 */
#include "cli.h"

#include <snpsafe/replay.h>

#include <inttypes.h>
#include <string.h>

#define REPLAY_TEXT_FUNCS 10

struct replay_opts {
	struct cli_profile_opts po;
	struct sim_replay_options ro;
	bool json;
};

#define OPTS(ctx) ((struct replay_opts *)(ctx))

static SNP_MUST_CHECK int set_json(void *ctx, const char *v) { OPTS(ctx)->json = true; return 0; }
static SNP_MUST_CHECK int set_profile(void *ctx, const char *v) { return cli_profile_opts_set_profile(&OPTS(ctx)->po, v); }
static SNP_MUST_CHECK int set_knob(void *ctx, const char *v) { return cli_profile_opts_add_knob(&OPTS(ctx)->po, "replay", v); }

static SNP_MUST_CHECK int set_max_reports(void *ctx, const char *v)
{
	uint64_t n;
	int ret = cli_parse_u64(v, 0, 1000, &n);

	if (!ret)
		OPTS(ctx)->ro.max_reports = (unsigned int)n;
	return ret;
}

static SNP_MUST_CHECK int set_tlb(void *ctx, const char *v)
{
	uint64_t n;
	int ret = cli_parse_u64(v, 1, 1u << 16, &n);

	if (!ret)
		OPTS(ctx)->ro.tlb_entries = (unsigned int)n;
	return ret;
}

static const struct cli_option replay_options[] = {
	{ "profile", true, set_profile, "P", "early-snp (default), hv-inuse-wr or fixed",
	  "early-snp, hv-inuse-wr, fixed" },
	{ "knob", true, set_knob, "NAME=VALUE", "set a profile knob (list below), repeatable", NULL },
	{ "max-reports", true, set_max_reports, "N", "print the first N faults in full (0-1000, default 3)",
	  "0..1000" },
	{ "tlb-entries", true, set_tlb, "N", "TLB entries per modeled CPU (default 64)", "1..65536" },
	{ "json", false, set_json, "", "print one JSON object on stdout", NULL },
	{ NULL, false, NULL, NULL, NULL, NULL },
};

static const char *filter_name(uint32_t f)
{
	return f == SNP_TRACE_FILTER_INGUEST ? "in-guest" : f == SNP_TRACE_FILTER_EVER ? "ever" : "all";
}

/* ---- text ---------------------------------------------------------------------------- */

static void print_report(const struct sim_replay_report *rep, unsigned int i)
{
	char who[SIM_REPLAY_FUNC_LEN + 96], when[96], run[128];
	const char *extra[4] = { who, when, NULL, NULL };

	snprintf(who, sizeof(who), "stored by %s (pc 0x%" PRIx64 "), %u bytes, recorded leaf %s%s",
		 rep->func[0] ? rep->func : "a function without a symbol", rep->pc, rep->bytes,
		 snp_trace_level_name(rep->level), rep->level == SNP_TRL_UNKNOWN ? " (judged as 1G)" : "");
	snprintf(when, sizeof(when), "at t=%" PRIu64 ".%09" PRIu64 " s in the run (record %" PRIu64 ")",
		 rep->t_ns / 1000000000u, rep->t_ns % 1000000000u, rep->record);
	if (rep->have_holder) {
		snprintf(run, sizeof(run), "in-use %s of the VMRUN of VMCB 0x%" PRIx64 " on CPU %u (%s)",
			 sim_replay_kind_name(rep->kind),
			 (uint64_t)snp_pfn_to_phys(rep->holder.vmcb), rep->holder.cpu,
			 rep->holder.active ? "in guest mode" : "exited, marks kept");
		extra[2] = run;
	}
	printf("report %u:", i + 1);
	cli_print_oops_ctx(&rep->fault, extra);
}

static void print_counts(const struct sim_replay_result *r)
{
	printf("records: %" PRIu64 "; host save areas %" PRIu64 " (%" PRIu64 " cleared); VMRUN %" PRIu64
	       " (%" PRIu64 " entered, %" PRIu64 " failed); #VMEXIT %" PRIu64 "; flushes %" PRIu64
	       " (%" PRIu64 " reaching the direct map)\n", r->records, r->hsave_writes,
	       r->hsave_cleared, r->vmruns, r->vmruns_entered, r->vmruns_failed, r->vmexits,
	       r->flushes, r->flushes_applied);
	printf("stores: %" PRIu64 " recorded (leaf 1G %" PRIu64 ", 2M %" PRIu64 ", 4K %" PRIu64
	       ", unknown %" PRIu64 " judged as 1G); the plugin saw %" PRIu64 " and dropped %" PRIu64
	       " by its filter\n", r->stores, r->stores_by_level[SNP_TRL_1G],
	       r->stores_by_level[SNP_TRL_2M], r->stores_by_level[SNP_TRL_4K],
	       r->stores_by_level[SNP_TRL_UNKNOWN], r->stores_seen, r->stores_dropped);
	if (r->vmruns_failed)
		printf("note: %" PRIu64 " VMRUN(s) failed in the model; first: %s\n", r->vmruns_failed,
		       r->first_vmrun_failure);
	if (r->refused)
		printf("warning: the model could not apply %" PRIu64 " record(s); first: %s\n",
		       r->refused, r->first_refusal);
}

void cli_replay_print_verdicts(const struct sim_replay_result *r)
{
	printf("verdict: %" PRIu64 " RMP #PF under %s: %" PRIu64 " spurious (in-use erratum), %" PRIu64
	       " real\n", r->faults, r->profile, r->spurious, r->real);
	if (!r->faults)
		return;
	printf("  by rule:");
	for (unsigned int i = 1; i < SNP_RULE_NR; i++)
		if (r->by_rule[i])
			printf(" %s %" PRIu64, snp_fault_rule_name((enum snp_fault_rule)i), r->by_rule[i]);
	printf("\n  by in-use page:");
	for (unsigned int k = 0; k < SIM_REPLAY_NR_KINDS; k++)
		if (r->by_kind[k])
			printf(" %s %" PRIu64, sim_replay_kind_name((enum sim_replay_kind)k), r->by_kind[k]);
	printf("\n");
}

void cli_replay_print_funcs(const struct sim_replay_result *r)
{
	if (!r->nr_funcs)
		return;
	printf("storing functions (faults, spurious, stores), top %u:\n",
	       r->nr_funcs < REPLAY_TEXT_FUNCS ? (unsigned int)r->nr_funcs : REPLAY_TEXT_FUNCS);
	for (size_t i = 0; i < r->nr_funcs && i < REPLAY_TEXT_FUNCS; i++)
		printf("  %8" PRIu64 " %8" PRIu64 " %10" PRIu64 "  %s\n", r->funcs[i].faults,
		       r->funcs[i].spurious, r->funcs[i].stores, r->funcs[i].name);
}

static void print_text(const char *path, const struct sim_replay_result *r,
		       const struct replay_opts *o)
{
	char size[32], knobs[CLI_KNOBS_TEXT_MAX];

	cli_profile_knobs_text(&o->po.profile, knobs, sizeof(knobs));
	printf("replay of %s: kernel %s, %u CPUs, %s, filter %s; profile %s%s%s\n", path,
	       r->kernel[0] ? r->kernel : "(not named)", r->info.nr_cpus,
	       cli_fmt_size(r->info.mem_bytes, size, sizeof(size)), filter_name(r->info.filter),
	       r->profile, knobs[0] ? " with " : "", knobs);
	print_counts(r);
	cli_replay_print_verdicts(r);
	cli_replay_print_funcs(r);
	for (unsigned int i = 0; i < r->nr_reports; i++)
		print_report(&r->reports[i], i);
}

/* ---- JSON ------------------------------------------------------------------------------- */

static void json_report(struct json *j, const struct sim_replay_report *rep)
{
	const struct snp_fault_record *f = &rep->fault;

	json_obj_begin(j, NULL);
	json_u64(j, "record", rep->record);
	json_u64(j, "t_ns", rep->t_ns);
	json_u64(j, "cpu", f->cpu);
	json_hex(j, "va", f->va);
	json_hex(j, "pa", f->pa);
	json_u64(j, "bytes", rep->bytes);
	json_str(j, "leaf", snp_trace_level_name(rep->level));
	json_str(j, "rule", snp_fault_rule_name(f->rule));
	json_bool(j, "spurious", f->spurious);
	json_hex(j, "error_code", f->exc.error_code);
	json_str(j, "function", rep->func);
	json_hex(j, "pc", rep->pc);
	json_str(j, "inuse_kind", sim_replay_kind_name(rep->kind));
	if (rep->have_holder) {
		json_hex(j, "vmcb_pa", snp_pfn_to_phys(rep->holder.vmcb));
		json_u64(j, "vmrun_cpu", rep->holder.cpu);
		json_bool(j, "vmrun_in_guest", rep->holder.active);
	}
	json_str(j, "inuse_owner", f->inuse_owner);
	json_str(j, "rmp_dump", f->rmp_dump);
	json_obj_end(j);
}

static void json_events(struct json *j, const struct sim_replay_result *r)
{
	json_obj_begin(j, "events");
	json_u64(j, "records", r->records);
	json_u64(j, "hsave_writes", r->hsave_writes);
	json_u64(j, "hsave_cleared", r->hsave_cleared);
	json_u64(j, "vmruns", r->vmruns);
	json_u64(j, "vmruns_entered", r->vmruns_entered);
	json_u64(j, "vmruns_failed", r->vmruns_failed);
	json_str(j, "first_vmrun_failure", r->first_vmrun_failure);
	json_u64(j, "vmexits", r->vmexits);
	json_u64(j, "stores", r->stores);
	json_obj_begin(j, "stores_by_leaf");
	for (unsigned int l = 0; l < 4; l++)
		json_u64(j, snp_trace_level_name(l), r->stores_by_level[l]);
	json_obj_end(j);
	json_u64(j, "accesses", r->accesses);
	json_u64(j, "flushes", r->flushes);
	json_u64(j, "flushes_applied", r->flushes_applied);
	json_u64(j, "stores_seen", r->stores_seen);
	json_u64(j, "stores_dropped", r->stores_dropped);
	json_u64(j, "refused", r->refused);
	json_str(j, "first_refusal", r->first_refusal);
	json_obj_end(j);
}

void cli_replay_json_verdicts(struct json *j, const struct sim_replay_result *r)
{
	json_u64(j, "faults", r->faults);
	json_u64(j, "spurious", r->spurious);
	json_u64(j, "real", r->real);
	json_obj_begin(j, "by_rule");
	for (unsigned int i = 1; i < SNP_RULE_NR; i++)
		if (r->by_rule[i] || i <= SNP_RULE_ERRATUM_2M_BASE_INUSE)
			json_u64(j, snp_fault_rule_name((enum snp_fault_rule)i), r->by_rule[i]);
	json_obj_end(j);
	json_obj_begin(j, "by_kind");
	for (unsigned int k = 0; k < SIM_REPLAY_NR_KINDS; k++)
		json_u64(j, sim_replay_kind_name((enum sim_replay_kind)k), r->by_kind[k]);
	json_obj_end(j);
	json_arr_begin(j, "functions");
	for (size_t i = 0; i < r->nr_funcs; i++) {
		json_obj_begin(j, NULL);
		json_str(j, "name", r->funcs[i].name);
		json_u64(j, "stores", r->funcs[i].stores);
		json_u64(j, "faults", r->funcs[i].faults);
		json_u64(j, "spurious", r->funcs[i].spurious);
		json_obj_end(j);
	}
	json_arr_end(j);
	json_arr_begin(j, "reports");
	for (unsigned int i = 0; i < r->nr_reports; i++)
		json_report(j, &r->reports[i]);
	json_arr_end(j);
}

static void print_json(const char *path, const struct sim_replay_result *r,
		       const struct replay_opts *o)
{
	struct json j;

	json_init(&j, stdout);
	json_obj_begin(&j, NULL);
	json_str(&j, "trace", path);
	json_str(&j, "kernel", r->kernel);
	json_u64(&j, "nr_cpus", r->info.nr_cpus);
	json_u64(&j, "mem_bytes", r->info.mem_bytes);
	json_str(&j, "filter", filter_name(r->info.filter));
	json_str(&j, "profile", r->profile);
	cli_json_knobs(&j, &o->po.profile);
	json_events(&j, r);
	cli_replay_json_verdicts(&j, r);
	json_obj_end(&j);
	json_finish(&j);
}

int cmd_replay(int argc, char **argv)
{
	static const char synopsis[] =
		"Judge a recorded real kernel (a trace of `snpsafe watch`) with the hardware model:\n"
		"its VMRUNs mark pages in-use, its TLB flushes drop entries, and each recorded\n"
		"direct-map store is a host write through the recorded leaf.  Prints which stores\n"
		"would have taken an RMP #PF on the profile's part, spurious or real, and from which\n"
		"kernel function.  TRACE is the file watch wrote (--trace FILE, else watch.trace in\n"
		"its --out folder).  Exit 0: no RMP #PF; 1: the trace takes one (a finding, as a\n"
		"checker reports it); 2: bad usage or a TRACE that cannot be read; 3: the output\n"
		"could not be written, or the model ran out of memory.\n";
	struct replay_opts o = { .ro = { .max_reports = 3 } };
	const struct snp_profile *profile;
	struct sim_replay_result r;
	const char *path = NULL;
	int ret, npos = 0;

	cli_profile_opts_init(&o.po);
	ret = cli_parse_args_pos("replay", "TRACE", argc, argv, replay_options, &o, synopsis,
				 cli_print_knob_help, &path, 1, &npos);
	if (ret)
		return ret < 0 ? CLI_EXIT_OK : ret;
	if (npos != 1)
		return cli_usage_error("replay", "needs one TRACE file (see 'snpsafe replay --help')");
	if (cli_dry_run)
		return CLI_EXIT_OK;
	profile = cli_profile_opts_apply(&o.po);
	if (!profile)
		return cli_fail("replay", "a --knob checked before no longer applies");
	ret = sim_replay_run(path, profile, &o.ro, &r);
	if (ret == SNP_ENOMEM)
		return cli_fail("replay", "%s: %s", path, r.error);
	if (ret)
		return cli_usage_error("replay", "%s: %s", path, r.error);
	if (o.json) {
		print_json(path, &r, &o);
	} else {
		print_text(path, &r, &o);
	}
	/* A checker's answer: a store that would fault is a finding, whatever its cause. */
	ret = r.faults ? CLI_EXIT_FINDING : CLI_EXIT_OK;
	sim_replay_result_free(&r);
	return ret;
}
