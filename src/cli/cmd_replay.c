// SPDX-License-Identifier: MIT
/*
 * cmd_replay.c - `snpsafe replay TRACE`: a recorded real kernel (a watch
 * trace) judged by the hardware model under any profile and knobs, without
 * booting again.  Exit 1 when a recorded store would take an RMP #PF (a
 * finding, as a checker gives one); a bad trace is one line and exit 2.
 */
#include "cli.h"
#include "tick_report.h"

#include <snpsafe/mmu.h>
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

static SNP_MUST_CHECK int set_tlb_part(void *ctx, const char *v)
{
	if (!snp_tlb_part_by_name(v))
		return SNP_EINVAL;
	OPTS(ctx)->ro.tlb_part = v;
	return 0;
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
	{ "tlb", true, set_tlb_part, "PART", "the modeled point's TLB: the part's data TLB, L1 + L2 "
	  "entries per CPU (default milan)", "milan, genoa" },
	{ "tlb-entries", true, set_tlb, "N", "the modeled point's TLB entries per CPU instead of a "
	  "part's", "1..65536" },
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
		snprintf(run, sizeof(run), "in-use %s of the VMRUN of VMCB 0x%" PRIx64 " on CPU %u (%s)%s",
			 sim_replay_kind_name(rep->kind),
			 (uint64_t)snp_pfn_to_phys(rep->holder.vmcb), rep->holder.cpu,
			 rep->holder.active ? "in guest mode" : "exited, marks kept",
			 rep->stuck_vmcb ? ", a stuck vCPU's VMCB" : "");
		extra[2] = run;
	}
	printf("report %u (%s: %s; the modeled TLB %s%s):", i + 1, sim_replay_bound_name(rep->bound),
	       sim_replay_why_text(rep->why), rep->model_faulted ? "faulted too" : "hit",
	       rep->observer ? "; a store of the tracer's own" : "");
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

/* The bounds of a count, "proven..possible". */
static void print_pair(const char *name, uint64_t proven, uint64_t possible)
{
	printf(" %s %" PRIu64 "..%" PRIu64, name, proven, possible);
}

/* What the trace says about VMRUN's TLB flushes (format version 2). */
static void print_tlbctl(const struct sim_replay_result *r)
{
	const struct sim_replay_tlbctl *c = &r->tlbctl;

	if (!c->recorded) {
		printf("TLB_CONTROL: not in this trace (format version %" PRIu32 "): VMRUN's flushes "
		       "are not applied, so fewer faults are proven than it may hold\n", r->info.version);
		return;
	}
	printf("TLB_CONTROL at VMRUN: %" PRIu64 " flushed the whole TLB (1, applied to the host's "
	       "entries), %" PRIu64 " the guest's entries only (3, 7), %" PRIu64 " nothing (0), %"
	       PRIu64 " unknown (not read, reserved, or the VMRUN failed)\n", c->flush_all,
	       c->guest_only, c->nothing, c->unknown);
}

static void print_model(const struct sim_replay_result *r)
{
	const struct snp_tlb_part *part = snp_tlb_part_by_name(r->tlb_part);
	const struct sim_replay_count *m = &r->model;

	printf("  model: %" PRIu64 " (%" PRIu64 " spurious) with a TLB of %u entries per CPU", m->faults,
	       m->spurious, r->tlb_entries);
	if (part)
		printf(" (%s, %s: %u L1 + %u L2 data entries)", part->name, part->core, part->l1_dtlb,
		       part->l2_dtlb);
	printf(", empty at the start and filled by recorded stores only\n");
}

/*
 * The VMRUN rates: the busiest VMCB, and every VMCB a stuck vCPU ran with
 * the faults on its runs' in-use pages, which the counts above include.
 */
static void print_rates(const struct sim_replay_result *r)
{
	const struct sim_replay_rate *s = &r->stuck_sum;

	if (!r->busiest.vmruns)
		return;
	printf("VMRUN rate: busiest VMCB 0x%" PRIx64 ", %" PRIu64 " VMRUNs in second %" PRIu64
	       "; %zu VMCB(s) above %u in a second (a stuck vCPU)\n", r->busiest.vmcb_pa,
	       r->busiest.peak, r->busiest.peak_second, r->nr_stuck, SIM_REPLAY_STUCK_VMRUNS);
	if (!r->nr_stuck)
		return;
	printf("  warning: of the faults above, proven..possible %" PRIu64 "..%" PRIu64 " (model %"
	       PRIu64 ") are on stuck vCPUs' runs (%" PRIu64 " VMRUNs), an artefact of the "
	       "watched machine, not of the kernel's allocations:\n", s->faults[SIM_REPLAY_PROVEN],
	       s->faults[SIM_REPLAY_POSSIBLE], s->model_faults, s->vmruns);
	for (size_t i = 0; i < r->nr_stuck && i < REPLAY_TEXT_FUNCS; i++)
		printf("  stuck VMCB 0x%" PRIx64 ": %" PRIu64 " VMRUNs, %" PRIu64 " in second %" PRIu64
		       "; faults %" PRIu64 "..%" PRIu64 "\n", r->stuck[i].vmcb_pa, r->stuck[i].vmruns,
		       r->stuck[i].peak, r->stuck[i].peak_second, r->stuck[i].faults[SIM_REPLAY_PROVEN],
		       r->stuck[i].faults[SIM_REPLAY_POSSIBLE]);
}

/*
 * The share of the counts that watch's own tracing stored (src/trace/observer.c),
 * so that a fault figure never includes the observer's stores unsaid.
 */
static void print_observer(const struct sim_replay_result *r)
{
	const struct sim_replay_observer *o = &r->observer;

	if (!o->stores)
		return;
	printf("  of them by the tracer's own functions (%" PRIu64 " stores by %" PRIu64
	       " marked [tracer]: the watch's probes, src/trace/observer.c):", o->stores, o->functions);
	print_pair("faults", o->faults[SIM_REPLAY_PROVEN], o->faults[SIM_REPLAY_POSSIBLE]);
	printf(",");
	print_pair("spurious", o->spurious[SIM_REPLAY_PROVEN], o->spurious[SIM_REPLAY_POSSIBLE]);
	printf("; without them:");
	print_pair("faults", r->bound[SIM_REPLAY_PROVEN].faults - o->faults[SIM_REPLAY_PROVEN],
		   r->bound[SIM_REPLAY_POSSIBLE].faults - o->faults[SIM_REPLAY_POSSIBLE]);
	printf("\n");
}

void cli_replay_print_verdicts(const struct sim_replay_result *r)
{
	const struct sim_replay_count *lo = &r->bound[SIM_REPLAY_PROVEN];
	const struct sim_replay_count *hi = &r->bound[SIM_REPLAY_POSSIBLE];

	print_tlbctl(r);
	printf("verdict under %s: RMP #PF proven %" PRIu64 ", possible %" PRIu64 "\n", r->profile,
	       lo->faults, hi->faults);
	printf("  proven: a TLB fill the recording forces, whatever the TLB held (lower bound)\n"
	       "  possible: the RMP checked on every access (upper bound)\n");
	if (r->upper_incomplete[0])
		printf("  warning: possible counts recorded stores only: %s\n", r->upper_incomplete);
	printf("  proven..possible:");
	print_pair("spurious (in-use erratum)", lo->spurious, hi->spurious);
	printf(",");
	print_pair("real", lo->real, hi->real);
	printf("\n");
	print_observer(r);
	if (hi->faults) {
		printf("  by rule:");
		for (unsigned int i = 1; i < SNP_RULE_NR; i++)
			if (hi->by_rule[i])
				print_pair(snp_fault_rule_name((enum snp_fault_rule)i), lo->by_rule[i],
					   hi->by_rule[i]);
		printf("\n  by in-use page:");
		for (unsigned int k = 0; k < SIM_REPLAY_NR_KINDS; k++)
			if (hi->by_kind[k])
				print_pair(sim_replay_kind_name((enum sim_replay_kind)k), lo->by_kind[k],
					   hi->by_kind[k]);
		printf("\n");
	}
	print_model(r);
	print_rates(r);
}


void cli_replay_print_funcs(const struct sim_replay_result *r)
{
	if (!r->nr_funcs)
		return;
	printf("storing functions (faults proven..possible, spurious proven..possible, stores), top %u:\n",
	       r->nr_funcs < REPLAY_TEXT_FUNCS ? (unsigned int)r->nr_funcs : REPLAY_TEXT_FUNCS);
	for (size_t i = 0; i < r->nr_funcs && i < REPLAY_TEXT_FUNCS; i++) {
		const struct sim_replay_func *f = &r->funcs[i];
		char faults[48], spurious[48];

		snprintf(faults, sizeof(faults), "%" PRIu64 "..%" PRIu64, f->faults[SIM_REPLAY_PROVEN],
			 f->faults[SIM_REPLAY_POSSIBLE]);
		snprintf(spurious, sizeof(spurious), "%" PRIu64 "..%" PRIu64, f->spurious[SIM_REPLAY_PROVEN],
			 f->spurious[SIM_REPLAY_POSSIBLE]);
		printf("  %15s %15s %10" PRIu64 "  %s%s\n", faults, spurious, f->stores, f->name,
		       f->observer ? " [tracer]" : "");
	}
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
	cli_region_print_text(&r->region);
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
	json_bool(j, "observer", rep->observer);
	json_hex(j, "pc", rep->pc);
	json_str(j, "bound", sim_replay_bound_name(rep->bound));
	json_str(j, "why", sim_replay_why_text(rep->why));
	json_bool(j, "model_faulted", rep->model_faulted);
	json_str(j, "inuse_kind", sim_replay_kind_name(rep->kind));
	if (rep->have_holder) {
		json_hex(j, "vmcb_pa", snp_pfn_to_phys(rep->holder.vmcb));
		json_u64(j, "vmrun_cpu", rep->holder.cpu);
		json_bool(j, "vmrun_in_guest", rep->holder.active);
		json_bool(j, "stuck_vmcb", rep->stuck_vmcb);
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
	json_u64(j, "flushes_in_guest", r->flushes_in_guest);
	json_u64(j, "stores_seen", r->stores_seen);
	json_u64(j, "stores_dropped", r->stores_dropped);
	json_u64(j, "refused", r->refused);
	json_str(j, "first_refusal", r->first_refusal);
	json_obj_end(j);
}

/* {"proven": lo, "possible": hi} */
static void json_pair(struct json *j, const char *key, uint64_t lo, uint64_t hi)
{
	json_obj_begin(j, key);
	json_u64(j, sim_replay_bound_name(SIM_REPLAY_PROVEN), lo);
	json_u64(j, sim_replay_bound_name(SIM_REPLAY_POSSIBLE), hi);
	json_obj_end(j);
}

static void json_tlb(struct json *j, const struct sim_replay_result *r)
{
	json_obj_begin(j, "tlb_control");
	json_bool(j, "recorded", r->tlbctl.recorded);
	json_u64(j, "flush_all", r->tlbctl.flush_all);
	json_u64(j, "guest_only", r->tlbctl.guest_only);
	json_u64(j, "nothing", r->tlbctl.nothing);
	json_u64(j, "unknown", r->tlbctl.unknown);
	json_obj_end(j);
	json_obj_begin(j, "model");
	json_str(j, "tlb_part", r->tlb_part);
	json_u64(j, "tlb_entries", r->tlb_entries);
	json_u64(j, "faults", r->model.faults);
	json_u64(j, "spurious", r->model.spurious);
	json_u64(j, "real", r->model.real);
	json_obj_end(j);
}

static void json_rate(struct json *j, const char *key, const struct sim_replay_rate *x)
{
	json_obj_begin(j, key);
	json_hex(j, "vmcb_pa", x->vmcb_pa);
	json_u64(j, "vmruns", x->vmruns);
	json_u64(j, "peak", x->peak);
	json_u64(j, "peak_second", x->peak_second);
	json_pair(j, "faults", x->faults[SIM_REPLAY_PROVEN], x->faults[SIM_REPLAY_POSSIBLE]);
	json_u64(j, "model_faults", x->model_faults);
	json_obj_end(j);
}

/* The VMRUN rates: the busiest VMCB, the stuck ones and their faults (docs/REPLAY.md). */
static void json_rates(struct json *j, const struct sim_replay_result *r)
{
	json_obj_begin(j, "vmrun_rate");
	json_u64(j, "stuck_above", SIM_REPLAY_STUCK_VMRUNS);
	json_rate(j, "busiest", &r->busiest);
	json_arr_begin(j, "stuck");
	for (size_t i = 0; i < r->nr_stuck; i++)
		json_rate(j, NULL, &r->stuck[i]);
	json_arr_end(j);
	json_pair(j, "stuck_faults", r->stuck_sum.faults[SIM_REPLAY_PROVEN],
		  r->stuck_sum.faults[SIM_REPLAY_POSSIBLE]);
	json_u64(j, "stuck_model_faults", r->stuck_sum.model_faults);
	json_u64(j, "stuck_vmruns", r->stuck_sum.vmruns);
	json_obj_end(j);
}

void cli_replay_json_verdicts(struct json *j, const struct sim_replay_result *r)
{
	const struct sim_replay_count *lo = &r->bound[SIM_REPLAY_PROVEN];
	const struct sim_replay_count *hi = &r->bound[SIM_REPLAY_POSSIBLE];

	json_pair(j, "faults", lo->faults, hi->faults);
	json_pair(j, "spurious", lo->spurious, hi->spurious);
	json_pair(j, "real", lo->real, hi->real);
	json_bool(j, "possible_complete", !r->upper_incomplete[0]);
	json_str(j, "possible_incomplete", r->upper_incomplete);
	json_obj_begin(j, "by_rule");
	for (unsigned int i = 1; i < SNP_RULE_NR; i++)
		if (hi->by_rule[i] || i <= SNP_RULE_ERRATUM_2M_BASE_INUSE)
			json_pair(j, snp_fault_rule_name((enum snp_fault_rule)i), lo->by_rule[i],
				  hi->by_rule[i]);
	json_obj_end(j);
	json_obj_begin(j, "by_kind");
	for (unsigned int k = 0; k < SIM_REPLAY_NR_KINDS; k++)
		json_pair(j, sim_replay_kind_name((enum sim_replay_kind)k), lo->by_kind[k], hi->by_kind[k]);
	json_obj_end(j);
	json_tlb(j, r);
	json_rates(j, r);
	json_obj_begin(j, "observer");
	json_u64(j, "functions", r->observer.functions);
	json_u64(j, "stores", r->observer.stores);
	json_pair(j, "faults", r->observer.faults[SIM_REPLAY_PROVEN], r->observer.faults[SIM_REPLAY_POSSIBLE]);
	json_pair(j, "spurious", r->observer.spurious[SIM_REPLAY_PROVEN],
		  r->observer.spurious[SIM_REPLAY_POSSIBLE]);
	json_obj_end(j);
	json_arr_begin(j, "functions");
	for (size_t i = 0; i < r->nr_funcs; i++) {
		const struct sim_replay_func *f = &r->funcs[i];

		json_obj_begin(j, NULL);
		json_str(j, "name", f->name);
		json_u64(j, "stores", f->stores);
		json_pair(j, "faults", f->faults[SIM_REPLAY_PROVEN], f->faults[SIM_REPLAY_POSSIBLE]);
		json_pair(j, "spurious", f->spurious[SIM_REPLAY_PROVEN], f->spurious[SIM_REPLAY_POSSIBLE]);
		json_bool(j, "observer", f->observer);
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
	cli_region_json(&j, &r->region);
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
		"kernel function, as bounds: proven (a TLB fill the recording forces) and possible\n"
		"(the RMP checked on every access).  TRACE is the file watch wrote (--trace FILE,\n"
		"else watch.trace in its --out folder).  Exit 0: no RMP #PF possible; 1: the trace\n"
		"takes one, proven or possible (a finding, as a checker reports it); 2: bad usage\n"
		"or a TRACE that cannot be read; 3: the output could not be written, or the model\n"
		"ran out of memory.\n";
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
	/*
	 * A checker's answer: a store that could fault is a finding, whatever its
	 * cause; the possible bound, so that a fault no TLB size can rule out is
	 * never passed as clean (the text and JSON say which are proven).
	 */
	ret = r.bound[SIM_REPLAY_POSSIBLE].faults ? CLI_EXIT_FINDING : CLI_EXIT_OK;
	sim_replay_result_free(&r);
	return ret;
}
