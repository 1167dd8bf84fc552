/* SPDX-License-Identifier: MIT */
/*
 * insn_util.h - one-value forms of the modeled instructions, for assertions.
 *
 * The library returns a library error apart from the instruction's
 * architectural code (*code, res->outcome).  A test that only wants "what
 * happened" compares one value: the code when the instruction ran, else the
 * negative SNP_E*.  The two ranges cannot meet (codes are >= 0, errors < 0),
 * so each assertion still tells them apart; test_rmp.c's insn_code_apart
 * case checks the split itself.
 */
#ifndef SNPSAFE_TESTS_INSN_UTIL_H
#define SNPSAFE_TESTS_INSN_UTIL_H

#include <snpsafe/kvm.h>
#include <snpsafe/rmp.h>
#include <snpsafe/vmrun.h>

static inline int t_code(int ret, int code)
{
	return ret ? ret : code;
}

static inline int t_rmpupdate(struct snp_rmp *rmp, struct snp_caller who, snp_spa_t spa,
			      const struct snp_rmpupdate_in *in)
{
	int code = -1, ret = snp_rmpupdate(rmp, who, spa, in, &code);

	return t_code(ret, code);
}

static inline int t_rmpupdate_begin(struct snp_rmp *rmp, struct snp_caller who, snp_spa_t spa,
				    const struct snp_rmpupdate_in *in, struct snp_rmpupdate_op *op)
{
	int code = -1, ret = snp_rmpupdate_begin(rmp, who, spa, in, op, &code);

	return t_code(ret, code);
}

static inline int t_rmpupdate_commit(struct snp_rmp *rmp, struct snp_rmpupdate_op *op)
{
	int code = -1, ret = snp_rmpupdate_commit(rmp, op, &code);

	return t_code(ret, code);
}

static inline int t_psmash(struct snp_rmp *rmp, struct snp_caller who, snp_spa_t spa)
{
	int code = -1, ret = snp_psmash(rmp, who, spa, &code);

	return t_code(ret, code);
}

static inline int t_pvalidate(struct snp_rmp *rmp, struct snp_caller who, snp_spa_t spa,
			      snp_gpa_t gpa, bool size_2m, bool validate, bool *unchanged,
			      struct snp_exc *exc)
{
	int code = -1, ret = snp_pvalidate(rmp, who, spa, gpa, size_2m, validate, unchanged, exc,
					   &code);

	return t_code(ret, code);
}

static inline int t_rmpadjust(struct snp_rmp *rmp, struct snp_caller who, snp_spa_t spa,
			      snp_gpa_t gpa, bool size_2m, unsigned int target_vmpl, uint8_t perms,
			      bool vmsa, struct snp_exc *exc)
{
	int code = -1, ret = snp_rmpadjust(rmp, who, spa, gpa, size_2m, target_vmpl, perms, vmsa,
					   exc, &code);

	return t_code(ret, code);
}

static inline int t_rmpread(const struct snp_rmp *rmp, snp_spa_t spa, struct snp_rmpread_out *out)
{
	int code = -1, ret = snp_rmpread(rmp, spa, out, &code);

	return t_code(ret, code);
}

static inline int t_guest_pvalidate(struct snp_machine *m, struct snp_npt *npt, snp_gpa_t gpa,
				    bool size_2m, bool validate, bool *unchanged,
				    struct snp_exc *exc)
{
	int code = -1, ret = snp_guest_pvalidate(m, npt, gpa, size_2m, validate, unchanged, exc,
						 &code);

	return t_code(ret, code);
}

/* VMRUN's outcome (SNP_VMRUN_ENTERED, _VMEXIT_INVALID) or its error; res may be NULL here. */
static inline int t_vmrun(struct snp_machine *m, unsigned int cpu, const struct snp_vmrun_args *a,
			  struct snp_vmrun_result *res)
{
	struct snp_vmrun_result local;
	struct snp_vmrun_result *r = res ? res : &local;
	int ret = snp_vmrun(m, cpu, a, r);

	return t_code(ret, (int)r->outcome);
}

static inline int t_vcpu_run(struct kvm_host *host, int vm, unsigned int vcpu_id,
			     unsigned int cpu, struct snp_vmrun_result *res)
{
	struct snp_vmrun_result local;
	struct snp_vmrun_result *r = res ? res : &local;
	int ret = kvm_vcpu_run(host, vm, vcpu_id, cpu, r);

	return t_code(ret, (int)r->outcome);
}

#endif
