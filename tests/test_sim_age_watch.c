// SPDX-License-Identifier: MIT
/*
 * test_sim_age_watch.c - simulate's watch ageing profile (montecarlo.c
 * mc_age_watch(); docs/MODEL.md "Ageing as watch's ager does it"): kvm_amd
 * loads on the fresh host, before the ageing; each round's VMs are built
 * and their vmcb01 pages counted; shared ageing is refused; the same seed
 * gives the same trials.
 */
#include "ktap.h"

#include <snpsafe/sim.h>

#include <string.h>

#define TRIALS 4

/* A small flat host with many CPUs: kvm_amd's save areas are many pages, one per CPU. */
static void small(struct sim_mc_config *c)
{
	sim_mc_config_init(c);
	c->mem_bytes = 256 * SNP_MiB;
	c->cpus = 16;
	c->vms = 2;
	c->vcpus = 2;
	memset(c->mix, 0, sizeof(c->mix));
	c->mix[SIM_VM_SVM] = 1;
	c->ticks = 2;
	c->trials = TRIALS;
	c->strategies = 1u << SNP_ALLOC_NAIVE;
	c->age_share = 1;
}

static void watch(struct sim_mc_config *c, unsigned int rounds)
{
	small(c);
	c->age_profile = SIM_AGE_WATCH;
	c->age_rounds = rounds;
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

/*
 * The save areas come from the fresh host, before the ageing: each trial's
 * aligned ones are a fresh host's (one, the first page of the block CPU 0's
 * list was filled from), not an aged one's (none), whatever the rounds.
 */
static void test_hsave_before_ageing(void)
{
	struct sim_mc_trial fresh[TRIALS], generic[TRIALS], w2[TRIALS], w4[TRIALS];
	struct sim_mc_config c;

	small(&c);
	c.age_pct = 0;
	run(&c, fresh);
	small(&c);
	run(&c, generic);
	watch(&c, 2);
	run(&c, w2);
	watch(&c, 4);
	run(&c, w4);
	for (unsigned int t = 0; t < TRIALS; t++) {
		KEXPECT_EQ(w2[t].sensitive_allocated[KVM_PAGE_HSAVE], 16);
		KEXPECT_EQ(fresh[t].sensitive_aligned[KVM_PAGE_HSAVE], 1);
		KEXPECT_EQ(generic[t].sensitive_aligned[KVM_PAGE_HSAVE], 0);
		KEXPECT_EQ(w2[t].sensitive_aligned[KVM_PAGE_HSAVE], fresh[t].sensitive_aligned[KVM_PAGE_HSAVE]);
		KEXPECT_EQ(w4[t].sensitive_aligned[KVM_PAGE_HSAVE], fresh[t].sensitive_aligned[KVM_PAGE_HSAVE]);
	}
}

/* Each round's 2 VMs of vcpus vCPUs: their vmcb01 pages are counted with the workload's. */
static void test_ageing_vms_counted(void)
{
	struct sim_mc_trial generic[TRIALS], w[TRIALS];
	struct sim_mc_config c;

	small(&c);
	run(&c, generic);
	watch(&c, 3);
	run(&c, w);
	for (unsigned int t = 0; t < TRIALS; t++) {
		KEXPECT_EQ(w[t].vm.vms_tried, generic[t].vm.vms_tried);
		KEXPECT_EQ(w[t].sensitive_allocated[KVM_PAGE_VMCB01],
			   generic[t].sensitive_allocated[KVM_PAGE_VMCB01] + 3 * SIM_MC_AGE_VMS * c.vcpus);
	}
}

/* Same seed, same trials; the CPU setting is the trials' own. */
static void test_deterministic(void)
{
	struct sim_mc_trial a[TRIALS], b[TRIALS], p[TRIALS];
	struct sim_mc_config c;
	bool differ = false;

	watch(&c, 2);
	c.threads = 1;
	run(&c, a);
	c.threads = 3;
	run(&c, b);
	KEXPECT_EQ(memcmp(a, b, sizeof(a)), 0);
	c.ager_cpu = MM_AGER_CPU_PIECE;
	run(&c, p);
	for (unsigned int t = 0; t < TRIALS; t++)
		differ |= a[t].p_est != p[t].p_est;
	KEXPECT(differ);
}

/*
 * A host with kvm loaded cannot be cloned: shared ageing is refused, and
 * clone on with age_share 1 is the run of clone off, bit for bit.
 */
static void test_clone_refused(void)
{
	struct sim_mc_result r[SNP_ALLOC_NR_STRATEGIES];
	struct sim_mc_trial on[TRIALS], off[TRIALS];
	struct sim_mc_config c;
	unsigned int n = 0;

	watch(&c, 2);
	c.age_share = 2;
	KEXPECT(!sim_mc_age_ok(&c));
	KEXPECT_EQ(sim_mc_run(&c, r, &n), SNP_EINVAL);
	c.clone = false;   /* age_share means nothing without cloning */
	KEXPECT(sim_mc_age_ok(&c));
	c.age_share = 1;
	run(&c, off);
	c.clone = true;
	run(&c, on);
	KEXPECT_EQ(memcmp(on, off, sizeof(on)), 0);
	/* rounds: 1..32 with watch, none with generic */
	c.age_rounds = 0;
	KEXPECT(!sim_mc_age_ok(&c));
	c.age_rounds = 33;
	KEXPECT(!sim_mc_age_ok(&c));
	small(&c);
	c.age_rounds = 1;
	KEXPECT(!sim_mc_age_ok(&c));
	KEXPECT_EQ(sim_mc_run(&c, r, &n), SNP_EINVAL);
}

static const struct ktap_case cases[] = {
	KTAP_CASE(test_hsave_before_ageing),
	KTAP_CASE(test_ageing_vms_counted),
	KTAP_CASE(test_deterministic),
	KTAP_CASE(test_clone_refused),
};

KTAP_MAIN("sim_age_watch", cases)
