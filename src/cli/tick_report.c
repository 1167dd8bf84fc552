// SPDX-License-Identifier: MIT
/*
 * tick_report.c - the tick in real time, as text and JSON (tick_report.h).
 */
#include "tick_report.h"

#include <snpsafe/trace.h>

#include <inttypes.h>
#include <math.h>
#include <stdio.h>

static uint64_t region_all(const struct sim_replay_region_stores *s)
{
	uint64_t all = 0;

	for (unsigned int l = 0; l < 4; l++)
		all += s->by_level[l];
	return all;
}

void cli_region_print_text(const struct sim_replay_region_stores *s)
{
	const double sec = sim_replay_region_seconds(s, false);

	printf("stores into VMRUN regions (2MB regions holding an in-use page): %" PRIu64 " in %.3f s "
	       "(first VMRUN to last #VMEXIT; a guest ran in %.3f s of it); leaf:", region_all(s), sec,
	       sim_replay_region_seconds(s, true));
	for (unsigned int l = 0; l < 4; l++)
		if (s->by_level[l])
			printf(" %s %" PRIu64, snp_trace_level_name(l), s->by_level[l]);
	printf("\n  through a hugepage leaf, proven..possible: %" PRIu64 "..%" PRIu64,
	       sim_replay_region_huge(s, SIM_REPLAY_PROVEN), sim_replay_region_huge(s, SIM_REPLAY_POSSIBLE));
	if (sec > 0)
		printf(", %.1f..%.1f per second", sim_replay_region_rate(s, SIM_REPLAY_PROVEN, false),
		       sim_replay_region_rate(s, SIM_REPLAY_POSSIBLE, false));
	else
		printf(", per second n/a (no guest ran)");
	printf("\n");
}

static void json_bounds(struct json *j, const char *key, const struct sim_replay_region_stores *s,
			int guest)
{
	json_obj_begin(j, key);
	for (unsigned int b = 0; b < SIM_REPLAY_NR_BOUNDS; b++)
		if (guest < 0)
			json_u64(j, sim_replay_bound_name(b), sim_replay_region_huge(s, b));
		else
			json_double(j, sim_replay_bound_name(b), sim_replay_region_rate(s, b, guest));
	json_obj_end(j);
}

void cli_region_json(struct json *j, const struct sim_replay_region_stores *s)
{
	json_obj_begin(j, "vmrun_region_stores");
	json_double(j, "seconds", sim_replay_region_seconds(s, false));
	json_double(j, "guest_seconds", sim_replay_region_seconds(s, true));
	json_u64(j, "stores", region_all(s));
	json_obj_begin(j, "by_leaf");
	for (unsigned int l = 0; l < 4; l++)
		json_u64(j, snp_trace_level_name(l), s->by_level[l]);
	json_obj_end(j);
	json_bounds(j, "huge", s, -1);
	json_bounds(j, "huge_per_second", s, 0);
	json_bounds(j, "huge_per_guest_second", s, 1);
	json_obj_end(j);
}

/* A time in s, ms or us, or "n/a" (NAN) or "-" (no end: INFINITY). */
static const char *fmt_s(double s, char *buf, size_t len)
{
	if (isnan(s))
		snprintf(buf, len, "n/a");
	else if (isinf(s))
		snprintf(buf, len, "-");
	else if (s >= 1)
		snprintf(buf, len, "%.3g s", s);
	else if (s >= 1e-3)
		snprintf(buf, len, "%.3g ms", s * 1e3);
	else
		snprintf(buf, len, "%.3g us", s * 1e6);
	return buf;
}

static void print_interval_s(const char *what, const struct sim_interval *v)
{
	char a[24], b[24], c[24];

	printf("%s %s [%s, %s]", what, fmt_s(v->point, b, sizeof(b)), fmt_s(v->lo, a, sizeof(a)),
	       fmt_s(v->hi, c, sizeof(c)));
}

/* ticks as %.4g, "n/a" (NAN), "-" (no end) */
static const char *fmt_ticks(double v, char *buf, size_t len)
{
	if (isnan(v))
		snprintf(buf, len, "n/a");
	else if (isinf(v))
		snprintf(buf, len, "-");
	else
		snprintf(buf, len, "%.4g", v);
	return buf;
}

static void print_one(const struct sim_mc_result *r)
{
	const struct sim_tick_time *t = &r->time;
	char lo[24], pt[24], hi[24];

	printf("  %-9s %" PRIu64 " of %" PRIu64 " hosts faulted, in %" PRIu64 " host-ticks: ticks to "
	       "the first %s [%s, %s];\n            ", snp_alloc_strategy_name(r->strategy),
	       t->hosts_faulted, r->trials, t->exposure_ticks,
	       fmt_ticks(t->ticks_to_fault.point, pt, sizeof(pt)),
	       fmt_ticks(t->ticks_to_fault.lo, lo, sizeof(lo)),
	       fmt_ticks(t->ticks_to_fault.hi, hi, sizeof(hi)));
	print_interval_s("time to it", &t->seconds_to_fault);
	printf("\n");
}

void cli_tick_print_text(const struct sim_mc_result *r, unsigned int n, unsigned int ticks)
{
	if (!n)
		return;
	printf("\nTime (docs/MODEL.md \"The tick in real time\"): a tick lasts as long as a watched real host\n"
	       "takes to make as many hugepage-leaf stores into 2MB regions holding an in-use page as the\n"
	       "model's kernel work makes in a tick: %.4g a tick in this run (strategies pooled), against\n"
	       "%g (lowest), %g (median), %g (highest) a second in %u watched boots:\n  ",
	       r[0].time.run_huge_per_tick, SIM_TICK_MEASURED_RATE_LO, SIM_TICK_MEASURED_RATE_MID,
	       SIM_TICK_MEASURED_RATE_HI, SIM_TICK_MEASURED_BOOTS);
	print_interval_s("tick", &r[0].time.tick_s);
	printf("; the run's %u ticks", ticks);
	print_interval_s("", &r[0].time.run_s);
	printf("\nTime to a host's first spurious #PF (a constant rate per tick: host-ticks over hosts\n"
	       "faulted, exact Poisson 95%%; x the tick's range):\n");
	for (unsigned int i = 0; i < n; i++)
		print_one(&r[i]);
}

static void json_interval(struct json *j, const char *key, const struct sim_interval *v)
{
	json_obj_begin(j, key);
	json_double(j, "lo", v->lo);
	json_double(j, "point", v->point);
	json_double(j, "hi", v->hi);
	json_obj_end(j);
}

void cli_tick_json(struct json *j, const struct sim_mc_result *r)
{
	const struct sim_tick_time *t = &r->time;

	json_obj_begin(j, "time");
	json_u64(j, "ticks", t->ticks);
	json_u64(j, "region_writes", t->region_writes);
	json_u64(j, "region_huge_writes", t->region_huge_writes);
	json_double(j, "huge_writes_per_tick", t->huge_per_tick);
	json_double(j, "run_huge_writes_per_tick", t->run_huge_per_tick);
	json_obj_begin(j, "measured_per_second");
	json_double(j, "lo", SIM_TICK_MEASURED_RATE_LO);
	json_double(j, "median", SIM_TICK_MEASURED_RATE_MID);
	json_double(j, "hi", SIM_TICK_MEASURED_RATE_HI);
	json_u64(j, "boots", SIM_TICK_MEASURED_BOOTS);
	json_obj_end(j);
	json_interval(j, "tick_seconds", &t->tick_s);
	json_interval(j, "run_seconds", &t->run_s);
	json_u64(j, "hosts_faulted", t->hosts_faulted);
	json_u64(j, "exposure_ticks", t->exposure_ticks);
	json_interval(j, "ticks_to_first_fault", &t->ticks_to_fault);
	json_interval(j, "seconds_to_first_fault", &t->seconds_to_fault);
	json_obj_end(j);
}

/* This run's tick: the model's writes per tick over this run's rate, possible (short) to proven (long). */
static struct sim_interval run_tick(const struct sim_mc_result *r, const double *rate)
{
	const double w = r->time.run_huge_per_tick;
	const double lo = rate[SIM_REPLAY_POSSIBLE], hi = rate[SIM_REPLAY_PROVEN];

	return (struct sim_interval){ w / lo, NAN, w / hi };
}

/* a rate a second, or "n/a" (no guest ran) */
static const char *fmt_rate(double v, char *buf, size_t len)
{
	if (isnan(v))
		snprintf(buf, len, "n/a");
	else
		snprintf(buf, len, "%.1f", v);
	return buf;
}

void cli_tick_watch_text(const struct sim_mc_result *r, const double *rate, double churn_s)
{
	const struct sim_interval t = run_tick(r, rate);
	char lo[24], hi[24], pr[24], po[24];

	printf("  (the tick in real time: this run made %s..%s hugepage stores into VMRUN regions a\n"
	       "  second (proven..possible), the model's hosts %.4g a tick, so a tick is %s..%s here",
	       fmt_rate(rate[SIM_REPLAY_PROVEN], pr, sizeof(pr)),
	       fmt_rate(rate[SIM_REPLAY_POSSIBLE], po, sizeof(po)), r->time.run_huge_per_tick,
	       fmt_s(t.lo, lo, sizeof(lo)), fmt_s(t.hi, hi, sizeof(hi)));
	if (!isnan(churn_s))
		printf(",\n  not the %g s the churn assumes", churn_s);
	printf("; docs/MODEL.md \"The tick in real time\")\n");
}

void cli_tick_watch_json(struct json *j, const struct sim_mc_result *r, const double *rate)
{
	const struct sim_interval t = run_tick(r, rate);

	json_obj_begin(j, "tick_calibrated");
	json_double(j, "huge_writes_per_tick", r->time.run_huge_per_tick);
	json_double(j, "lo", t.lo);
	json_double(j, "hi", t.hi);
	json_obj_end(j);
}
