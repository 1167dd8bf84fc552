// SPDX-License-Identifier: MIT
/*
 * test_sim_workload.c - simulate's pieces of watch's workload shape
 * (montecarlo.c): the host thread's loops a tick (--host-loops), the VMM's
 * CPU by weight (--vmm-cpus) and at a VM's end (--vmm-migrate), the churn's
 * timeline (--remake-after, --rcu-grace), VMs without an irqchip (--irqchip off) and
 * KVM's debugfs files (--kvm-debugfs), each seen in the trials' order-0
 * allocations while their VMs ran (sim_mc_trial.pcp).
 */
#include "ktap.h"

#include <snpsafe/sim.h>

#include <string.h>

#define TRIALS 2

static void small(struct sim_mc_config *c)
{
	sim_mc_config_init(c);
	c->mem_bytes = 256 * SNP_MiB;
	c->cpus = 2;
	c->vms = 2;
	c->vcpus = 2;
	memset(c->mix, 0, sizeof(c->mix));
	c->mix[SIM_VM_SVM] = 1;
	c->ticks = 4;
	c->trials = TRIALS;
	c->strategies = 1u << SNP_ALLOC_NAIVE;
	c->age_pct = 0;
	c->age_share = 1;
	c->threads = 1;
}

static void run(const struct sim_mc_config *c, struct sim_mc_trial t[TRIALS])
{
	struct sim_mc_config cc = *c;
	struct sim_mc_result r[SNP_ALLOC_NR_STRATEGIES];
	unsigned int n = 0;

	memset(t, 0, TRIALS * sizeof(*t));
	cc.trials_out = t;
	KASSERT_EQ(sim_mc_run(&cc, r, &n), 0);
	KASSERT_EQ(n, 1);
}

/* A configuration sim_mc_run() refuses, running nothing. */
static void expect_refused(const struct sim_mc_config *c)
{
	struct sim_mc_result r[SNP_ALLOC_NR_STRATEGIES];
	unsigned int n = 0;

	KEXPECT_EQ(sim_mc_run(c, r, &n), SNP_EINVAL);
}

/*
 * The host thread: 1.5 loops a tick over 4 ticks is 6 loops (fractions
 * carry), each 1,024 page cache pages on 6.12 (its anonymous memory two
 * THPs): 6,144 order-0 MOVABLE allocations more than without, the rest of
 * the trial unchanged (its own stream).
 */
static void test_host_loops(void)
{
	struct sim_mc_trial base[TRIALS], with[TRIALS];
	struct sim_mc_config c;

	small(&c);
	run(&c, base);
	c.host_loops = 1.5;
	run(&c, with);
	for (unsigned int i = 0; i < TRIALS; i++) {
		/* the lists sampled at each of the 4 ticks' ends, never empty on a running host */
		KEXPECT_EQ(base[i].pcp.pcp_ticks, 4);
		KEXPECT(base[i].pcp.pcp_pages > 0);
		KEXPECT_EQ(with[i].pcp.allocs[MM_MT_MOVABLE] - base[i].pcp.allocs[MM_MT_MOVABLE], 6144);
		KEXPECT_EQ(with[i].sensitive_allocated[KVM_PAGE_VMCB01],
			   base[i].sensitive_allocated[KVM_PAGE_VMCB01]);
	}
	c.host_loops = SIM_MC_HOST_LOOPS_MAX + 1;
	expect_refused(&c);
}

/* No irqchip: no LAPIC page, one order-0 UNMOVABLE allocation fewer a vCPU (4 a trial). */
static void test_no_irqchip(void)
{
	struct sim_mc_trial base[TRIALS], off[TRIALS];
	struct sim_mc_config c;

	small(&c);
	run(&c, base);
	c.no_irqchip = true;
	run(&c, off);
	for (unsigned int i = 0; i < TRIALS; i++)
		KEXPECT_EQ(base[i].pcp.allocs[MM_MT_UNMOVABLE] - off[i].pcp.allocs[MM_MT_UNMOVABLE], 4);
}

/* KVM's debugfs files take RECLAIMABLE slabs: tcg more of them than off. */
static void test_debugfs(void)
{
	struct sim_mc_trial off[TRIALS], tcg[TRIALS];
	struct sim_mc_config c;

	small(&c);
	run(&c, off);
	c.kvm_debugfs = KVM_DEBUGFS_TCG;
	run(&c, tcg);
	for (unsigned int i = 0; i < TRIALS; i++)
		KEXPECT(tcg[i].pcp.allocs[MM_MT_RECLAIMABLE] >= off[i].pcp.allocs[MM_MT_RECLAIMABLE] + 4);
	c.kvm_debugfs = KVM_NR_DEBUGFS;
	expect_refused(&c);
}

/* The VMM's CPU by weight: 3:1 gives CPU 0 three draws in four, 0:1 never, none uniform. */
static void test_vmm_cpu_weights(void)
{
	struct sim_mc_config c;
	unsigned int n0 = 0, n = 40000;
	uint64_t rng = 1;
	char text[64];

	small(&c);
	for (unsigned int i = 0; i < n; i++)
		n0 += sim_mc_vmm_cpu(&c, &rng) == 0;
	KEXPECT(n0 > n * 48 / 100 && n0 < n * 52 / 100);
	KEXPECT(!strcmp(sim_vmm_cpus_text(&c, text, sizeof(text)), ""));
	c.vmm_cpu_weight[0] = 3;
	c.vmm_cpu_weight[1] = 1;
	n0 = 0;
	for (unsigned int i = 0; i < n; i++)
		n0 += sim_mc_vmm_cpu(&c, &rng) == 0;
	KEXPECT(n0 > n * 74 / 100 && n0 < n * 76 / 100);
	KEXPECT(!strcmp(sim_vmm_cpus_text(&c, text, sizeof(text)), "3,1"));
	c.vmm_cpu_weight[0] = 0;
	for (unsigned int i = 0; i < 1000; i++)
		KEXPECT_EQ(sim_mc_vmm_cpu(&c, &rng), 1);
	c.vmm_cpu_weight[2] = 1;   /* a CPU the host does not have */
	expect_refused(&c);
}

/*
 * --vmm-migrate: with churn, a VM's end on a CPU drawn afresh moves its
 * pages to the other CPU's lists some of the time, so the per-CPU lists'
 * flow differs from a run where every VM ends where it was made; a share
 * above 100 is refused.
 */
static void test_vmm_migrate(void)
{
	struct sim_mc_trial stay[TRIALS], moved[TRIALS];
	struct sim_mc_config c;
	uint64_t d_stay = 0, d_moved = 0;

	small(&c);
	c.lifetime = 1;
	c.ticks = 12;
	run(&c, stay);
	c.vmm_migrate_pct = 100;
	run(&c, moved);
	for (unsigned int i = 0; i < TRIALS; i++)
		for (unsigned int t = 0; t < MM_NR_MIGRATETYPES; t++) {
			d_stay += stay[i].pcp.flow.refill[t] + stay[i].pcp.flow.drain[t];
			d_moved += moved[i].pcp.flow.refill[t] + moved[i].pcp.flow.drain[t];
		}
	ktap_log("pcp refills and drains: %llu ending where made, %llu moved",
		 (unsigned long long)d_stay, (unsigned long long)d_moved);
	KEXPECT(d_stay != d_moved);
	KEXPECT_EQ(moved[0].sensitive_allocated[KVM_PAGE_VMCB01], stay[0].sensitive_allocated[KVM_PAGE_VMCB01]);
	c.vmm_migrate_pct = 101;
	expect_refused(&c);
}

/* Two trials' runs alike in what a churn's timeline could move. */
static bool same_runs(const struct sim_mc_trial *a, const struct sim_mc_trial *b)
{
	for (unsigned int i = 0; i < TRIALS; i++)
		if (memcmp(&a[i].pcp, &b[i].pcp, sizeof(a[i].pcp)) ||
		    memcmp(&a[i].vmcb01_cluster, &b[i].vmcb01_cluster, sizeof(a[i].vmcb01_cluster)) ||
		    a[i].sensitive_allocated[KVM_PAGE_VMCB01] != b[i].sensitive_allocated[KVM_PAGE_VMCB01])
			return false;
	return true;
}

/*
 * The churn's timeline (--rcu-grace, --remake-after).  The grace period's
 * frees are KVM's debugfs objects only: without debugfs, ending it after
 * each VM changes nothing.  With debugfs, a VM made after its
 * predecessor's frees reuses their slabs (tests/test_kvm_debugfs.c): fewer
 * RECLAIMABLE dentry pages than when every VM is made before the frees.
 * Making successors later makes as many VMs, and moves the lists' flow;
 * without churn it moves nothing.  Past SIM_MC_REMAKE_AFTER_MAX: refused.
 */
static void test_churn_timeline(void)
{
	struct sim_mc_trial a[TRIALS], b[TRIALS];
	struct sim_mc_config c;

	small(&c);
	c.lifetime = 1;
	c.ticks = 12;
	run(&c, a);
	c.rcu_grace_end = true;
	run(&c, b);
	KEXPECT(same_runs(a, b));   /* no debugfs: no frees wait */
	c.kvm_debugfs = KVM_DEBUGFS_TCG;
	run(&c, b);
	c.rcu_grace_end = false;
	run(&c, a);
	for (unsigned int i = 0; i < TRIALS; i++) {
		ktap_log("trial %u: RECLAIMABLE order-0 allocations %llu at the tick's start, %llu after each end",
			 i, (unsigned long long)a[i].pcp.allocs[MM_MT_RECLAIMABLE],
			 (unsigned long long)b[i].pcp.allocs[MM_MT_RECLAIMABLE]);
		KEXPECT(b[i].pcp.allocs[MM_MT_RECLAIMABLE] < a[i].pcp.allocs[MM_MT_RECLAIMABLE]);
	}
	c.remake_after = 1;
	run(&c, b);
	KEXPECT(!same_runs(a, b));
	for (unsigned int i = 0; i < TRIALS; i++)
		KEXPECT_EQ(b[i].sensitive_allocated[KVM_PAGE_VMCB01], a[i].sensitive_allocated[KVM_PAGE_VMCB01]);
	c.lifetime = 0;   /* no churn: nothing to time */
	c.remake_after = 0;
	run(&c, a);
	c.remake_after = 3;
	c.rcu_grace_end = true;
	run(&c, b);
	KEXPECT(same_runs(a, b));
	c.remake_after = SIM_MC_REMAKE_AFTER_MAX + 1;
	expect_refused(&c);
}

static const struct ktap_case cases[] = {
	KTAP_CASE(test_host_loops),
	KTAP_CASE(test_no_irqchip),
	KTAP_CASE(test_debugfs),
	KTAP_CASE(test_vmm_cpu_weights),
	KTAP_CASE(test_vmm_migrate),
	KTAP_CASE(test_churn_timeline),
};

KTAP_MAIN("sim_workload", cases)
