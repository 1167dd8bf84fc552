/* SPDX-License-Identifier: MIT */
/*
 * mmu_test_util.h - shared set-up for the host MMU / VMRUN tests
 * (test_mmu_*.c, test_vmrun*.c).  Pages are placed by hand: the tests are
 * about where a page sits relative to a 2MB boundary.
 */
#ifndef SNPSAFE_TESTS_MMU_TEST_UTIL_H
#define SNPSAFE_TESTS_MMU_TEST_UTIL_H

#include "insn_util.h"
#include "ktap.h"

#include <snpsafe/mmu.h>
#include <snpsafe/vmrun.h>

#include <string.h>

/* Fixed placements inside the first 1GB (one 1G direct-map leaf). */
#define T_HSAVE        0x10ULL          /* not 2MB-aligned */
#define T_REGION       0xA00ULL         /* a 2MB-aligned pfn (10 MiB) */
#define T_NEIGHBOUR    (T_REGION + 5)   /* another page of the same 2MB region */
#define T_NEXT_REGION  (T_REGION + 512) /* same 1GB page, next 2MB region */

static inline struct snp_machine *t_machine_full(const char *profile, uint64_t mem,
						 uint64_t covered, enum snp_dmap_boot dm)
{
	struct snp_machine_config cfg = {
		.mem_bytes = mem, .rmp_covered_bytes = covered,
		.profile = snp_profile_by_name(profile), .nr_cpus = 2, .direct_map = dm,
	};
	struct snp_machine *m = NULL;

	KASSERT(cfg.profile);
	KASSERT_EQ(snp_machine_create(&cfg, &m), 0);
	KASSERT(m);
	KASSERT_EQ(snp_wrmsr_hsave_pa(m, 0, T_HSAVE), 0);
	KASSERT_EQ(snp_wrmsr_hsave_pa(m, 1, T_HSAVE + 1), 0);
	return m;
}

/* 4 GiB, 2 CPUs, 1G direct map, everything RMP-covered, hsave set on both CPUs. */
static inline struct snp_machine *t_machine(const char *profile)
{
	return t_machine_full(profile, 4 * SNP_GiB, 0, SNP_DMAP_1G);
}

static inline void t_knob(struct snp_machine *m, const char *assignment)
{
	KASSERT_EQ(snp_profile_set_knob(snp_machine_profile(m), assignment), 0);
}

/* VMRUN of a plain SVM guest (ASID 1) with only a VMCB. */
static inline int t_run_vmcb(struct snp_machine *m, unsigned int cpu, snp_pfn_t vmcb, const char *label)
{
	struct snp_vmrun_args a = { .vmcb = vmcb, .vmsa = SNP_NO_PAGE, .avic = SNP_NO_PAGE,
				    .type = SNP_GUEST_SVM, .asid = 1, .label = label };

	return t_vmrun(m, cpu, &a, NULL);
}

static inline int t_write(struct snp_machine *m, unsigned int cpu, snp_pfn_t pfn)
{
	return snp_host_write(m, cpu, snp_pfn_to_virt(pfn) + 8);
}

static inline int t_read(struct snp_machine *m, unsigned int cpu, snp_pfn_t pfn)
{
	return snp_host_read(m, cpu, snp_pfn_to_virt(pfn) + 8);
}

/* Log a fault record, one KTAP diagnostic line per line of text. */
static inline void t_log_fault(const struct snp_fault_record *r)
{
	char buf[2048];
	char *save = NULL;

	snp_fault_format(r, buf, sizeof(buf));
	for (char *l = strtok_r(buf, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
		ktap_log("%s", l);
}

static inline enum snp_fault_rule t_last_rule(const struct snp_machine *m)
{
	struct snp_fault_record r;

	if (snp_fault_last(m, &r))
		return SNP_RULE_NONE;
	return r.rule;
}

/* Make pfn private with the raw instruction (no direct-map adjustment). */
static inline void t_raw_private(struct snp_machine *m, snp_pfn_t pfn, snp_gpa_t gpa, uint32_t asid)
{
	struct snp_rmpupdate_in in = { .gpa = gpa, .assigned = true, .asid = asid };
	int code = -1;

	KASSERT_EQ(snp_rmpupdate(snp_machine_rmp(m), SNP_CALLER_HV, snp_pfn_to_phys(pfn), &in, &code), 0);
	KASSERT_EQ(code, SNP_RMP_SUCCESS);
}

#endif
