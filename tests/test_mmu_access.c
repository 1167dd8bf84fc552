// SPDX-License-Identifier: MIT
/*
 * test_mmu_access.c - host writes through the direct map: the changelog's
 * scenario of the in-use erratum (LINUX 75253db41a46), 1G checked as 2M, the
 * in-use rule, the 2MB Hypervisor-Owned rule and the fault record.
 */
#include "mmu_test_util.h"

#include <stdio.h>

/* Changelog: 2MB-aligned VMCB, VMRUN on CPU 0, CPU 1 writes a neighbour via 1G. */
static void changelog_early_snp_one_spurious_fault(void)
{
	struct snp_machine *m = t_machine("early-snp");
	struct snp_fault_record r;
	struct snp_exc exc;
	enum snp_map_size leaf;

	KASSERT_EQ(snp_direct_map_lookup(m, snp_pfn_to_virt(T_NEIGHBOUR), &leaf), 0);
	KEXPECT_EQ(leaf, SNP_MAP_1G);
	KASSERT_EQ(t_run_vmcb(m, 0, T_REGION, "vcpu 0 vmcb01"), SNP_VMRUN_ENTERED);
	KEXPECT_EQ(snp_host_access(m, 1, snp_pfn_to_virt(T_NEIGHBOUR), true, &exc), SNP_EFAULT);
	KEXPECT_EQ(exc.vector, SNP_EXC_PF);
	KEXPECT_EQ(exc.error_code, SNP_PF_PRESENT | SNP_PF_RMP | SNP_PF_WRITE);
	KEXPECT_EQ(snp_fault_count(m), 1);
	KEXPECT_EQ(snp_fault_count_spurious(m), 1);
	KASSERT_EQ(snp_fault_last(m, &r), 0);
	KEXPECT_EQ(r.cpu, 1);
	KEXPECT_EQ(r.va, snp_pfn_to_virt(T_NEIGHBOUR));
	KEXPECT_EQ(r.pa, snp_pfn_to_phys(T_NEIGHBOUR));
	KEXPECT_EQ(r.size, SNP_MAP_1G);
	KEXPECT_EQ(r.rule, SNP_RULE_ERRATUM_2M_BASE_INUSE);
	KEXPECT(r.spurious);
	KEXPECT(r.write);
	KEXPECT(strstr(r.inuse_owner, "VMCB of the run on CPU 0 (vcpu 0 vmcb01)"));
	KEXPECT(strstr(r.rmp_dump, "IN-USE"));
	KEXPECT(!strcmp(snp_fault_rule_name(r.rule), "ERRATUM_2M_BASE_INUSE"));
	t_log_fault(&r);
	{
		char buf[2048];

		KEXPECT(strstr(snp_fault_format(&r, buf, sizeof(buf)), "spurious"));
	}
	snp_machine_destroy(m);
}

/*
 * A #PF drops the TLB entry of the faulting address (src/hw/mmu.c,
 * snp_host_access(); x86: a page fault invalidates the faulting address's
 * TLB entries, Intel SDM Vol. 3A §4.10.4.1): a cached 1G/2M entry does not
 * survive the RMP fault it led to.
 */
static void rmp_fault_drops_tlb_entry(void)
{
	struct snp_machine *m = t_machine("early-snp");
	uint64_t va = snp_pfn_to_virt(T_NEIGHBOUR);

	KASSERT_EQ(t_read(m, 1, T_NEIGHBOUR), 0);	/* CPU 1 caches the translation */
	KASSERT_EQ(snp_tlb_lookup(m, 1, va, NULL), 1);
	KASSERT_EQ(t_run_vmcb(m, 0, T_REGION, "vcpu 0 vmcb01"), SNP_VMRUN_ENTERED);
	KEXPECT_EQ(t_write(m, 1, T_NEIGHBOUR), SNP_EFAULT);
	KEXPECT_EQ(snp_tlb_lookup(m, 1, va, NULL), 0);
	snp_machine_destroy(m);
}

static void changelog_fixed_no_fault(void)
{
	struct snp_machine *m = t_machine("fixed");

	KASSERT_EQ(t_run_vmcb(m, 0, T_REGION, "vcpu 0"), SNP_VMRUN_ENTERED);
	KEXPECT_EQ(t_write(m, 1, T_NEIGHBOUR), 0);
	KEXPECT_EQ(snp_fault_count(m), 0);
	snp_machine_destroy(m);
}

static void changelog_unaligned_vmcb_no_fault(void)
{
	struct snp_machine *m = t_machine("early-snp");

	KASSERT_EQ(t_run_vmcb(m, 0, T_REGION + 1, "vcpu 0"), SNP_VMRUN_ENTERED);
	KEXPECT_EQ(t_write(m, 1, T_NEIGHBOUR), 0);
	KEXPECT_EQ(t_write(m, 1, T_REGION), 0);
	KEXPECT_EQ(snp_fault_count(m), 0);
	snp_machine_destroy(m);
}

static void changelog_after_vmexit_no_fault(void)
{
	struct snp_machine *m = t_machine("early-snp");

	KASSERT_EQ(t_run_vmcb(m, 0, T_REGION, "vcpu 0"), SNP_VMRUN_ENTERED);
	KASSERT_EQ(snp_vmexit(m, 0), 0);
	KEXPECT_EQ(t_write(m, 1, T_NEIGHBOUR), 0);
	KEXPECT_EQ(snp_fault_count(m), 0);
	snp_machine_destroy(m);
}

static void changelog_4k_translation_no_fault(void)
{
	struct snp_machine *m = t_machine("early-snp");
	struct snp_machine *m4k = t_machine_full("early-snp", 4 * SNP_GiB, 0, SNP_DMAP_4K);

	/* Split the neighbour's 2MB region: a 4K translation reads only its own entry. */
	KASSERT_EQ(snp_set_memory_4k(m, snp_pfn_to_virt(T_NEIGHBOUR), 1), 0);
	KASSERT_EQ(t_run_vmcb(m, 0, T_REGION, "vcpu 0"), SNP_VMRUN_ENTERED);
	KEXPECT_EQ(t_write(m, 1, T_NEIGHBOUR), 0);
	KEXPECT_EQ(snp_fault_count(m), 0);
	/* Same with a direct map built from 4K pages at boot. */
	KASSERT_EQ(t_run_vmcb(m4k, 0, T_REGION, "vcpu 0"), SNP_VMRUN_ENTERED);
	KEXPECT_EQ(t_write(m4k, 1, T_NEIGHBOUR), 0);
	KEXPECT_EQ(snp_fault_count(m4k), 0);
	snp_machine_destroy(m);
	snp_machine_destroy(m4k);
}

/* A 2M direct-map leaf trips the erratum the same way a 1G one does. */
static void erratum_through_2m_leaf(void)
{
	struct snp_machine *m = t_machine_full("early-snp", 4 * SNP_GiB, 0, SNP_DMAP_2M);
	struct snp_fault_record r;

	KASSERT_EQ(t_run_vmcb(m, 0, T_REGION, "vcpu 0"), SNP_VMRUN_ENTERED);
	KEXPECT_EQ(t_write(m, 1, T_NEIGHBOUR), SNP_EFAULT);
	KASSERT_EQ(snp_fault_last(m, &r), 0);
	KEXPECT_EQ(r.size, SNP_MAP_2M);
	KEXPECT_EQ(r.rule, SNP_RULE_ERRATUM_2M_BASE_INUSE);
	snp_machine_destroy(m);
}

/* A 1GB translation is checked 2MB at a time: the next 2MB region is fine. */
static void one_g_checked_as_2m(void)
{
	struct snp_machine *m = t_machine("early-snp");

	KASSERT_EQ(t_run_vmcb(m, 0, T_REGION, "vcpu 0"), SNP_VMRUN_ENTERED);
	KEXPECT_EQ(t_write(m, 1, T_NEXT_REGION), 0);
	KEXPECT_EQ(t_write(m, 1, T_REGION - 1), 0);  /* previous 2MB region */
	KEXPECT_EQ(snp_fault_count(m), 0);
	KEXPECT_EQ(t_write(m, 1, T_NEIGHBOUR), SNP_EFAULT);
	KEXPECT_EQ(snp_fault_count(m), 1);
	snp_machine_destroy(m);
}

/* A write to the in-use page itself: INUSE_WRITE unless HvInUseWrAllowed. */
static void inuse_page_write(void)
{
	static const char *const profiles[] = { "early-snp", "fixed" };

	for (unsigned int i = 0; i < 2; i++) {
		for (int allowed = 0; allowed <= 1; allowed++) {
			struct snp_machine *m = t_machine(profiles[i]);
			struct snp_fault_record r;
			snp_pfn_t vmcb = T_REGION + 3;  /* unaligned: no erratum involved */

			t_knob(m, allowed ? "hv_inuse_wr_allowed=1" : "hv_inuse_wr_allowed=0");
			KASSERT_EQ(t_run_vmcb(m, 0, vmcb, "vcpu 7"), SNP_VMRUN_ENTERED);
			if (allowed) {
				KEXPECT_EQ(t_write(m, 1, vmcb), 0);
				KEXPECT_EQ(snp_fault_count(m), 0);
			} else {
				KEXPECT_EQ(t_write(m, 1, vmcb), SNP_EFAULT);
				KASSERT_EQ(snp_fault_last(m, &r), 0);
				KEXPECT_EQ(r.rule, SNP_RULE_INUSE_WRITE);
				KEXPECT(!r.spurious);
				KEXPECT(strstr(r.inuse_owner, "VMCB of the run on CPU 0 (vcpu 7)"));
			}
			/* Under the default inuse_reads_fault=off (an assumption), reads do not fault. */
			KEXPECT_EQ(t_read(m, 1, vmcb), 0);
			snp_machine_destroy(m);
		}
	}
}

/* The in-use rule holds through a 4K translation too. */
static void inuse_page_write_4k(void)
{
	struct snp_machine *m = t_machine_full("early-snp", 4 * SNP_GiB, 0, SNP_DMAP_4K);

	KASSERT_EQ(t_run_vmcb(m, 0, T_REGION, "vcpu 0"), SNP_VMRUN_ENTERED);
	KEXPECT_EQ(t_write(m, 1, T_REGION), SNP_EFAULT);
	KEXPECT_EQ(t_last_rule(m), SNP_RULE_INUSE_WRITE);
	KEXPECT_EQ(snp_fault_count_spurious(m), 0);
	snp_machine_destroy(m);
}

/* A 2MB region with one assigned 4K page: a hugepage write there is a real fault. */
static void assigned_4k_in_2m_region(void)
{
	static const char *const profiles[] = { "early-snp", "fixed" };

	for (unsigned int i = 0; i < 2; i++) {
		struct snp_machine *m = t_machine(profiles[i]);
		struct snp_fault_record r;
		snp_pfn_t priv = T_REGION + 3;

		t_raw_private(m, priv, 0x5000, 4);
		KEXPECT_EQ(t_write(m, 1, T_NEIGHBOUR), SNP_EFAULT);
		KASSERT_EQ(snp_fault_last(m, &r), 0);
		KEXPECT_EQ(r.rule, SNP_RULE_RMP_2M_NOT_HV_OWNED);
		KEXPECT(!r.spurious);
		KEXPECT_EQ(r.size, SNP_MAP_1G);
		KEXPECT(strstr(r.rmp_dump, "Assigned 1"));
		/* Reads are not checked. */
		KEXPECT_EQ(t_read(m, 1, T_NEIGHBOUR), 0);
		/* Split the direct map around it, as adjust_direct_map() would. */
		KASSERT_EQ(snp_set_memory_4k(m, snp_pfn_to_virt(priv), 1), 0);
		KEXPECT_EQ(t_write(m, 1, T_NEIGHBOUR), 0);
		KEXPECT_EQ(t_write(m, 1, priv), SNP_EFAULT);
		KEXPECT_EQ(t_last_rule(m), SNP_RULE_RMP_4K_NOT_HV_OWNED);
		KEXPECT_EQ(snp_fault_count(m), 2);
		snp_machine_destroy(m);
	}
}

/* The kernel helper splits first, so the neighbour never faults. */
static void rmp_make_private_keeps_neighbours_writable(void)
{
	struct snp_machine *m = t_machine("early-snp");
	snp_pfn_t priv = T_REGION + 3;

	KEXPECT_EQ(t_write(m, 1, T_NEIGHBOUR), 0);  /* a 2M TLB entry exists */
	KASSERT_EQ(snp_rmp_make_private(m, priv, 0x5000, SNP_MAP_4K, 4, false, NULL), 0);
	KEXPECT_EQ(snp_tlb_lookup(m, 1, snp_pfn_to_virt(T_NEIGHBOUR), NULL), 0);
	KEXPECT_EQ(t_write(m, 1, T_NEIGHBOUR), 0);
	KEXPECT_EQ(t_write(m, 0, T_NEIGHBOUR), 0);
	KEXPECT_EQ(t_write(m, 0, priv), SNP_EFAULT);
	KEXPECT_EQ(t_last_rule(m), SNP_RULE_RMP_4K_NOT_HV_OWNED);
	KASSERT_EQ(snp_rmp_make_shared(m, priv, SNP_MAP_4K, NULL), 0);
	KEXPECT_EQ(t_write(m, 0, priv), 0);
	snp_machine_destroy(m);
}

/*
 * Linux's rmp_mark_pages_firmware() (drivers/crypto/ccp/sev-dev.c) hands a
 * page to the AMD-SP with rmp_make_private(pfn, 0, PG_LEVEL_4K, 0, true):
 * Assigned, ASID 0, Immutable.  It succeeds; the page is Firmware, the
 * direct map around it is 4K, and a host write to it faults (4K rule) while
 * its neighbours stay writable; nor can it become the host save area.
 */
static void rmp_mark_pages_firmware_path(void)
{
	struct snp_machine *m = t_machine("early-snp");
	snp_pfn_t fw = T_REGION + 7;
	struct snp_rmpentry e;
	int code;

	KEXPECT_EQ(snp_rmp_make_private(m, fw, 0, SNP_MAP_4K, 0, true, NULL), 0);
	KASSERT_EQ(snp_rmp_query(snp_machine_rmp(m), snp_pfn_to_phys(fw), &e), 0);
	KEXPECT_EQ(snp_page_state(&e), SNP_PS_FIRMWARE);
	KEXPECT_EQ(t_write(m, 0, fw), SNP_EFAULT);
	KEXPECT_EQ(t_last_rule(m), SNP_RULE_RMP_4K_NOT_HV_OWNED);
	KEXPECT_EQ(t_write(m, 0, fw + 1), 0);
	KEXPECT_EQ(snp_wrmsr_hsave_pa(m, 0, fw), SNP_EFAULT);
	code = -1;
	KEXPECT_EQ(snp_rmp_make_shared(m, fw, SNP_MAP_4K, &code), SNP_EFAULT);
	KEXPECT_EQ(code, SNP_FAIL_PERMISSION);
	snp_machine_destroy(m);
}

/* Guest-owned whole 2MB region through the hugepage: real fault, no split needed. */
static void private_2m_region(void)
{
	struct snp_machine *m = t_machine("fixed");

	KASSERT_EQ(snp_rmp_make_private(m, T_REGION, 0x200000, SNP_MAP_2M, 4, false, NULL), 0);
	KEXPECT_EQ(snp_direct_map_nr_split_1g(m), 0);
	KEXPECT_EQ(t_write(m, 1, T_NEIGHBOUR), SNP_EFAULT);
	KEXPECT_EQ(t_last_rule(m), SNP_RULE_RMP_2M_NOT_HV_OWNED);
	KEXPECT_EQ(t_write(m, 1, T_NEXT_REGION), 0);
	snp_machine_destroy(m);
}

static void fault_log_cap_and_clear(void)
{
	struct snp_machine_config cfg = { .mem_bytes = 4 * SNP_GiB, .nr_cpus = 1,
					  .fault_log_max = 2 };
	struct snp_fault_record r;
	struct snp_machine *m;

	KASSERT_EQ(snp_machine_create(&cfg, &m), 0);
	t_raw_private(m, T_REGION, 0, 3);
	for (int i = 0; i < 3; i++)
		KEXPECT_EQ(t_write(m, 0, T_REGION + (snp_pfn_t)i), SNP_EFAULT);
	KEXPECT_EQ(snp_fault_count(m), 3);
	KEXPECT_EQ(snp_fault_get(m, 1, &r), 0);
	KEXPECT_EQ(r.seq, 1);
	KEXPECT_EQ(snp_fault_get(m, 2, &r), SNP_ENOENT);
	snp_fault_clear(m);
	KEXPECT_EQ(snp_fault_count(m), 0);
	KEXPECT_EQ(snp_fault_last(m, &r), SNP_ENOENT);
	snp_machine_destroy(m);
}

/* The spurious count covers every fault, like snp_fault_count(), not only the kept records. */
static void fault_log_cap_counts_spurious(void)
{
	struct snp_machine_config cfg = { .mem_bytes = 4 * SNP_GiB, .nr_cpus = 2,
					  .fault_log_max = 1 };
	struct snp_fault_record r;
	struct snp_machine *m;

	KASSERT_EQ(snp_machine_create(&cfg, &m), 0);
	KASSERT_EQ(snp_wrmsr_hsave_pa(m, 0, T_HSAVE), 0);
	KASSERT_EQ(t_run_vmcb(m, 0, T_REGION, "vcpu 0"), SNP_VMRUN_ENTERED);
	KEXPECT_EQ(t_write(m, 1, T_REGION + 5), SNP_EFAULT);
	KEXPECT_EQ(t_write(m, 1, T_REGION + 6), SNP_EFAULT);
	KEXPECT_EQ(snp_fault_count(m), 2);
	KEXPECT_EQ(snp_fault_count_spurious(m), 2);
	KEXPECT_EQ(snp_fault_get(m, 0, &r), 0);
	KEXPECT(r.spurious);
	KEXPECT_EQ(snp_fault_get(m, 1, &r), SNP_ENOENT);   /* one kept, two counted */
	snp_machine_destroy(m);
}

static const struct ktap_case cases[] = {
	KTAP_CASE(changelog_early_snp_one_spurious_fault),
	KTAP_CASE(fault_log_cap_counts_spurious),
	KTAP_CASE(changelog_fixed_no_fault),
	KTAP_CASE(rmp_fault_drops_tlb_entry),
	KTAP_CASE(changelog_unaligned_vmcb_no_fault),
	KTAP_CASE(changelog_after_vmexit_no_fault),
	KTAP_CASE(changelog_4k_translation_no_fault),
	KTAP_CASE(erratum_through_2m_leaf),
	KTAP_CASE(one_g_checked_as_2m),
	KTAP_CASE(inuse_page_write),
	KTAP_CASE(inuse_page_write_4k),
	KTAP_CASE(assigned_4k_in_2m_region),
	KTAP_CASE(rmp_make_private_keeps_neighbours_writable),
	KTAP_CASE(rmp_mark_pages_firmware_path),
	KTAP_CASE(private_2m_region),
	KTAP_CASE(fault_log_cap_and_clear),
};

KTAP_MAIN("mmu_access", cases)
