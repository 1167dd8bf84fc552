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

/* The counts of a finished replay add up, and agree with the summary. */
static void check_result(const struct sim_replay_result *r, const struct snp_trace_summary *s,
			 unsigned int max_reports)
{
	uint64_t ff = 0, fs = 0, fst = 0;

	CHECK(r->faults == r->spurious + r->real);
	CHECK(sum(r->by_rule, SNP_RULE_NR) == r->faults);
	CHECK(sum(r->by_kind, SIM_REPLAY_NR_KINDS) == r->faults);
	CHECK(sum(r->stores_by_level, 4) == r->stores);
	CHECK(r->nr_reports <= max_reports && r->nr_reports <= r->faults);
	CHECK(r->vmruns_entered + r->vmruns_failed <= r->vmruns);
	CHECK(r->faults <= r->accesses && r->accesses <= 2 * r->stores);
	CHECK(r->flushes_applied <= r->flushes);
	for (size_t i = 0; i < r->nr_funcs; i++) {
		ff += r->funcs[i].faults;
		fs += r->funcs[i].spurious;
		fst += r->funcs[i].stores;
		CHECK(i == 0 || r->funcs[i - 1].faults >= r->funcs[i].faults);
	}
	CHECK(ff == r->faults && fs == r->spurious && fst == r->stores);
	CHECK(r->records == s->records && r->stores == s->stores && r->vmruns == s->vmruns &&
	      r->vmexits == s->vmexits && r->flushes == s->flushes);
	for (unsigned int i = 0; i < r->nr_reports; i++)
		CHECK(r->reports[i].fault.rule != SNP_RULE_NONE);
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
