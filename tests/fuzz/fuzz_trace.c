// SPDX-License-Identifier: MIT
/*
 * fuzz_trace.c - libFuzzer target for the watch trace reader and replay
 * (`make fuzz-trace`, built with clang -fsanitize=fuzzer,address,undefined).
 *
 * Each input is a trace file.  The summary and the replay (under two
 * profiles) must either refuse it with a reason or finish with counts that
 * add up; anything else (a crash, a sanitizer report, a broken invariant)
 * is a finding.
 */
#include <snpsafe/replay.h>
#include <snpsafe/trace.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond) do { \
	if (!(cond)) { \
		fprintf(stderr, "fuzz_trace: invariant broken: %s (line %d)\n", #cond, __LINE__); \
		abort(); \
	} \
} while (0)

/* The input as a file the reader can open: a memfd, seen at /proc/self/fd/N. */
static const char *input_path(const uint8_t *data, size_t size)
{
	static char path[64];
	static int fd = -1;

	if (fd < 0) {
		fd = memfd_create("snpsafe-fuzz-trace", 0);
		CHECK(fd >= 0);
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	}
	CHECK(ftruncate(fd, 0) == 0);
	CHECK(pwrite(fd, data, size, 0) == (ssize_t)size);
	return path;
}

static uint64_t sum(const uint64_t *v, size_t n)
{
	uint64_t s = 0;

	for (size_t i = 0; i < n; i++)
		s += v[i];
	return s;
}

/* A count adds up: faults = spurious + real = sum by rule = sum by kind. */
static void check_count(const struct sim_replay_count *c)
{
	CHECK(c->faults == c->spurious + c->real);
	CHECK(sum(c->by_rule, SNP_RULE_NR) == c->faults);
	CHECK(sum(c->by_kind, SIM_REPLAY_NR_KINDS) == c->faults);
}

/* The counts of a finished replay add up, nest, and agree with the summary. */
static void check_result(const struct sim_replay_result *r, const struct snp_trace_summary *s,
			 unsigned int max_reports)
{
	const struct sim_replay_count *lo = &r->bound[SIM_REPLAY_PROVEN];
	const struct sim_replay_count *hi = &r->bound[SIM_REPLAY_POSSIBLE];
	uint64_t ff[SIM_REPLAY_NR_BOUNDS] = { 0 }, fs[SIM_REPLAY_NR_BOUNDS] = { 0 }, fst = 0;
	uint64_t of[SIM_REPLAY_NR_BOUNDS] = { 0 }, os[SIM_REPLAY_NR_BOUNDS] = { 0 }, ost = 0, nobs = 0;

	check_count(lo);
	check_count(hi);
	check_count(&r->model);
	/* Every proven fault is possible, and the modeled TLB faults only where the check does. */
	CHECK(lo->faults <= r->model.faults && r->model.faults <= hi->faults);
	CHECK(lo->spurious <= hi->spurious && lo->real <= hi->real);
	for (unsigned int i = 0; i < SNP_RULE_NR; i++)
		CHECK(lo->by_rule[i] <= hi->by_rule[i]);
	CHECK(sum(r->stores_by_level, 4) == r->stores);
	CHECK(r->nr_reports <= max_reports && r->nr_reports <= hi->faults);
	CHECK(r->vmruns_entered + r->vmruns_failed <= r->vmruns);
	CHECK(hi->faults <= r->accesses && r->accesses <= 2 * r->stores);
	CHECK(r->flushes_applied <= r->flushes + r->tlbctl.flush_all);
	CHECK(r->flushes_in_guest <= r->flushes);
	/* Every VMRUN is committed once, its TLB_CONTROL counted once. */
	CHECK(!r->tlbctl.recorded || r->tlbctl.flush_all + r->tlbctl.guest_only + r->tlbctl.nothing +
				     r->tlbctl.unknown == r->vmruns);
	for (size_t i = 0; i < r->nr_funcs; i++) {
		for (int b = 0; b < SIM_REPLAY_NR_BOUNDS; b++) {
			ff[b] += r->funcs[i].faults[b];
			fs[b] += r->funcs[i].spurious[b];
		}
		fst += r->funcs[i].stores;
		if (r->funcs[i].observer) {
			for (int b = 0; b < SIM_REPLAY_NR_BOUNDS; b++) {
				of[b] += r->funcs[i].faults[b];
				os[b] += r->funcs[i].spurious[b];
			}
			ost += r->funcs[i].stores;
			nobs++;
		}
		CHECK(i == 0 || r->funcs[i - 1].faults[SIM_REPLAY_POSSIBLE] >=
				r->funcs[i].faults[SIM_REPLAY_POSSIBLE]);
	}
	for (int b = 0; b < SIM_REPLAY_NR_BOUNDS; b++)
		CHECK(ff[b] == r->bound[b].faults && fs[b] == r->bound[b].spurious);
	CHECK(fst == r->stores);
	/* The tracer's share is the sum over its marked functions, within the totals. */
	for (int b = 0; b < SIM_REPLAY_NR_BOUNDS; b++)
		CHECK(of[b] == r->observer.faults[b] && os[b] == r->observer.spurious[b] &&
		      of[b] <= r->bound[b].faults);
	CHECK(ost == r->observer.stores && nobs == r->observer.functions);
	CHECK(r->records == s->records && r->stores == s->stores && r->vmruns == s->vmruns &&
	      r->vmexits == s->vmexits && r->flushes == s->flushes);
	for (unsigned int i = 0; i < r->nr_reports; i++) {
		CHECK(r->reports[i].fault.rule != SNP_RULE_NONE);
		CHECK((r->reports[i].bound == SIM_REPLAY_PROVEN) ==
		      (r->reports[i].why == SIM_REPLAY_WHY_PROVEN));
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct sim_replay_options opt = { .max_reports = 3, .tlb_entries = 4 };
	const char *path = input_path(data, size);
	struct snp_profile variant = snp_profile_early_snp;
	const struct snp_profile *profiles[2] = { &snp_profile_early_snp, &variant };
	char err[SNP_TRACE_ERR_LEN];
	struct snp_trace_summary s;
	int sret;

	CHECK(!snp_profile_set_knob(&variant, "inuse_cleared_at_vmexit=0"));
	CHECK(!snp_profile_set_knob(&variant, "rmp_check_every_access=1"));
	CHECK(!snp_profile_set_knob(&variant, "vmrun_marks=vmcb,vmsa,avic,hsave"));
	sret = snp_trace_summarize(path, &s, err, sizeof(err));
	CHECK(sret <= 0);
	CHECK(!sret || (err[0] && strlen(err) < sizeof(err) && !strchr(err, '\n')));
	for (int p = 0; p < 2; p++) {
		struct sim_replay_result r;
		int ret = sim_replay_run(path, profiles[p], &opt, &r);

		if (ret) {
			/* The reader refuses what the summary refused; only a machine too big is extra. */
			CHECK(ret < 0 && r.error[0] && !strchr(r.error, '\n'));
			CHECK(sret || ret == SNP_ERANGE || ret == SNP_ENOMEM);
			continue;
		}
		CHECK(sret == 0);
		check_result(&r, &s, opt.max_reports);
		sim_replay_result_free(&r);
	}
	return 0;
}
