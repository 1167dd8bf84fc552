// SPDX-License-Identifier: MIT
/*
 * test_parts.c - the three part presets (docs/MODEL.md "Parts"): early-snp,
 * hv-inuse-wr and fixed, and the knob hv_inuse_wr_fixes_erratum both ways.
 */
#include "mmu_test_util.h"

#include <snpsafe/kvm.h>

/* What each preset states, field by field. */
static void presets_named(void)
{
	static const char *const want[] = { "early-snp", "hv-inuse-wr", "fixed" };
	const struct snp_profile *e = snp_profile_by_name("early-snp");
	const struct snp_profile *h = snp_profile_by_name("hv-inuse-wr");
	const struct snp_profile *f = snp_profile_by_name("fixed");
	unsigned int n = 0;

	KASSERT(e && h && f);
	for (; snp_profile_preset_names[n]; n++) {
		KASSERT(n < KTAP_ARRAY_SIZE(want));
		KEXPECT(!strcmp(snp_profile_preset_names[n], want[n]));
		KEXPECT(!strcmp(snp_profile_by_name(want[n])->name, want[n]));
	}
	KEXPECT_EQ(n, 3);
	KEXPECT(snp_profile_erratum(e) && !e->hv_inuse_wr_allowed);
	KEXPECT(h->hv_inuse_wr_allowed && h->hv_inuse_wr_fixes_erratum);   /* the RFC's claim */
	KEXPECT(!snp_profile_erratum(h));
	KEXPECT(!snp_profile_erratum(f) && f->hv_inuse_wr_allowed);
	KEXPECT(snp_profile_by_name("hv_inuse_wr") == NULL);   /* the preset name has dashes */
}

/*
 * hv-inuse-wr with the knob both ways: a 2MB-aligned VMCB runs on CPU 0 and
 * CPU 1 writes its region through the 1G direct map.  Writes to the in-use
 * page are allowed in both; the neighbour faults (spuriously, the erratum)
 * only when HvInUseWrAllowed is not taken to fix the erratum.
 */
static void hv_inuse_wr_knob_both_ways(void)
{
	for (int fixes = 0; fixes <= 1; fixes++) {
		struct snp_machine *m = t_machine("hv-inuse-wr");

		t_knob(m, fixes ? "hv_inuse_wr_fixes_erratum=1" : "hv_inuse_wr_fixes_erratum=0");
		KEXPECT_EQ(snp_profile_erratum(snp_machine_profile(m)), !fixes);
		KASSERT_EQ(t_run_vmcb(m, 0, T_REGION, "v"), SNP_VMRUN_ENTERED);
		KEXPECT_EQ(t_write(m, 1, T_NEIGHBOUR) == SNP_EFAULT, !fixes);
		if (!fixes)
			KEXPECT_EQ(t_last_rule(m), SNP_RULE_ERRATUM_2M_BASE_INUSE);
		/* The in-use page through a 4K view: HvInUseWrAllowed lets it through. */
		KASSERT_EQ(snp_set_memory_4k(m, snp_pfn_to_virt(T_REGION), 1), 0);
		KEXPECT_EQ(t_write(m, 1, T_REGION), 0);
		snp_machine_destroy(m);
	}
}

/* The knob changes nothing on a part without HvInUseWrAllowed (early-snp). */
static void knob_inert_without_hv_inuse_wr(void)
{
	for (int fixes = 0; fixes <= 1; fixes++) {
		struct snp_machine *m = t_machine("early-snp");

		t_knob(m, fixes ? "hv_inuse_wr_fixes_erratum=1" : "hv_inuse_wr_fixes_erratum=0");
		KASSERT_EQ(t_run_vmcb(m, 0, T_REGION, "v"), SNP_VMRUN_ENTERED);
		KEXPECT_EQ(t_write(m, 1, T_NEIGHBOUR), SNP_EFAULT);
		KEXPECT_EQ(t_last_rule(m), SNP_RULE_ERRATUM_2M_BASE_INUSE);
		snp_machine_destroy(m);
	}
}

/* upstream avic_hardware_setup (d81cadbe1642): AVIC stays on only with HvInUseWrAllowed. */
static void avic_follows_the_part(void)
{
	static const char *const names[] = { "early-snp", "hv-inuse-wr", "fixed" };

	for (unsigned int i = 0; i < KTAP_ARRAY_SIZE(names); i++) {
		struct kvm_host_config cfg;
		struct kvm_host *host = NULL;

		kvm_host_config_init(&cfg, 64 * SNP_MiB, 2);
		cfg.profile = snp_profile_by_name(names[i]);
		KASSERT_EQ(kvm_host_create(&cfg, &host), 0);
		KEXPECT_EQ(kvm_host_avic_enabled(host), i > 0);
		kvm_host_destroy(host);
	}
}

static const struct ktap_case cases[] = {
	KTAP_CASE(presets_named),
	KTAP_CASE(hv_inuse_wr_knob_both_ways),
	KTAP_CASE(knob_inert_without_hv_inuse_wr),
	KTAP_CASE(avic_follows_the_part),
};

KTAP_MAIN("parts", cases)
