// SPDX-License-Identifier: MIT
/*
 * explain.c - the LKML reviewer's open questions about the in-use erratum
 * (shared/seed/, snp-facts §1), each answered by running the modeled
 * hardware under every setting of the knob involved.  Every result string is
 * built from what the run did, never written in advance; so is each
 * question's one-line answer, under the preset's own settings, with its
 * basis: documented (the source), or assumed (the knob it rests on, whose
 * other value's run gives the answer that would hold instead).
 *
 * The setup is the changelog's, at the hardware level with placement forced:
 * a 1 GiB host, 2 CPUs, the direct map in 1GB pages, a VMCB at a chosen pfn,
 * VMRUN on CPU 0, kernel writes by CPU 1 through the direct map.
 */
#include <snpsafe/sim.h>
#include <snpsafe/vmrun.h>

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define XP_MEM       SNP_GiB
#define XP_REGION    0x4000ULL              /* pfn of a 2MB-aligned region (64 MiB) */
#define XP_HSAVE     (XP_REGION - 7)        /* CPU 0's host save area, unaligned */
#define XP_ASID      1
#define XP_TXT       100                    /* one access or VMRUN described */

static SNP_MUST_CHECK int xp_machine(const struct snp_profile *p, uint64_t covered, struct snp_machine **out)
{
	struct snp_machine_config cfg = {
		.mem_bytes = XP_MEM, .rmp_covered_bytes = covered, .profile = p,
		.nr_cpus = 2, .direct_map = SNP_DMAP_1G,
	};
	int ret = snp_machine_create(&cfg, out);

	if (ret)
		return ret;
	ret = snp_wrmsr_hsave_pa(*out, 0, XP_HSAVE);
	if (ret)
		snp_machine_destroy(*out);
	return ret;
}

/* VMRUN of a plain SVM guest on CPU 0 with the given VMCB (and AVIC page). */
static SNP_MUST_CHECK int xp_vmrun(struct snp_machine *m, snp_pfn_t vmcb, snp_pfn_t avic,
		    enum snp_guest_type type, struct snp_vmrun_result *res)
{
	struct snp_vmrun_args a = {
		.vmcb = vmcb, .vmsa = SNP_NO_PAGE, .avic = avic, .type = type,
		.asid = XP_ASID, .label = "explain vcpu 0",
	};

	return snp_vmrun(m, 0, &a, res);
}

/*
 * The setup's VMRUN, which must enter the guest for the experiment to mean
 * anything: 0 if it did, its error, or SNP_EPERM for a VMEXIT_INVALID.
 */
static SNP_MUST_CHECK int xp_enter(struct snp_machine *m, snp_pfn_t vmcb)
{
	struct snp_vmrun_result res;
	int ret = xp_vmrun(m, vmcb, SNP_NO_PAGE, SNP_GUEST_SVM, &res);

	if (ret)
		return ret;
	return res.outcome == SNP_VMRUN_ENTERED ? 0 : SNP_EPERM;
}

/* Describe a VMRUN's outcome: "entered", "#GP(0) (VMCB_UNCOVERED)", ... */
static const char *xp_vmrun_text(int ret, const struct snp_vmrun_result *res, char *buf, size_t len)
{
	if (!ret && res->outcome == SNP_VMRUN_ENTERED)
		snprintf(buf, len, "VMRUN entered the guest");
	else if (!ret)
		snprintf(buf, len, "VMRUN failed: VMEXIT_INVALID (%s)", snp_vmrun_check_name(res->check));
	else if (ret == SNP_EFAULT)
		snprintf(buf, len, "VMRUN failed: #GP(0) (%s)", snp_vmrun_check_name(res->check));
	else
		snprintf(buf, len, "VMRUN refused by the model: %s", snp_error_text(ret));
	return buf;
}

/* One host access by cpu to pfn; describe it ("no fault", "spurious #PF (...)"). */
static const char *xp_access(struct snp_machine *m, unsigned int cpu, snp_pfn_t pfn, bool write,
			     char *buf, size_t len)
{
	struct snp_fault_record r;
	int ret = snp_host_access(m, cpu, snp_pfn_to_virt(pfn), write, NULL);

	if (ret == 0) {
		snprintf(buf, len, "no fault");
	} else if (ret == SNP_EFAULT && snp_fault_last(m, &r) == 0) {
		snprintf(buf, len, "%s #PF (%s, %s translation)", r.spurious ? "spurious" : "real",
			 snp_fault_rule_name(r.rule), snp_map_size_name(r.size));
	} else {
		snprintf(buf, len, "model error: %s", snp_error_text(ret));
	}
	return buf;
}

/* Did the access described by text (xp_access()) fault? */
static bool xp_faulted(const char *text)
{
	return strstr(text, "#PF") != NULL;
}

static struct sim_outcome *xp_outcome(struct sim_question *q, const char *setting, bool documented,
				      const char *source)
{
	struct sim_outcome *o = &q->outcomes[q->nr_outcomes++];

	snprintf(o->setting, sizeof(o->setting), "%s", setting);
	o->documented = documented;
	o->source = source;
	o->result[0] = '\0';
	o->knob_value[0] = '\0';
	o->answer[0] = '\0';
	return o;
}

/* The run of o had knob at its value in p: note the value, for the answer it gives. */
static SNP_MUST_CHECK int xp_knob_value(struct sim_outcome *o, const struct snp_profile *p,
					const char *knob)
{
	const struct snp_knob *k = snp_knob_find(knob);

	if (!k)
		return SNP_EINVAL;
	snp_knob_get(p, k, o->knob_value, sizeof(o->knob_value));
	return 0;
}

/* The answer the question gets under o's setting. */
static void xp_outcome_answer(struct sim_outcome *o, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void xp_outcome_answer(struct sim_outcome *o, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(o->answer, sizeof(o->answer), fmt, ap);
	va_end(ap);
}

/* Was o run with knob at its value in preset? */
static bool xp_is_default(const struct sim_outcome *o, const struct snp_profile *preset,
			  const char *knob)
{
	const struct snp_knob *k = snp_knob_find(knob);
	char v[SNP_KNOB_TEXT_MAX];

	return k && !strcmp(o->knob_value, snp_knob_get(preset, k, v, sizeof(v)));
}

/*
 * An assumed answer: the one of the outcome run with knob at its value in
 * preset; why says why that value is an assumption.  SNP_EINVAL when no run
 * had it (the experiment would answer for a setting the model does not use).
 */
static SNP_MUST_CHECK int xp_answer_assumed(struct sim_question *q, const struct snp_profile *preset,
					    const char *knob, const char *why)
{
	const struct snp_knob *k = snp_knob_find(knob);

	if (!k)
		return SNP_EINVAL;
	snp_knob_get(preset, k, q->basis_default, sizeof(q->basis_default));
	for (unsigned int i = 0; i < q->nr_outcomes; i++) {
		if (!xp_is_default(&q->outcomes[i], preset, knob) || !q->outcomes[i].answer[0])
			continue;
		snprintf(q->answer, sizeof(q->answer), "%s", q->outcomes[i].answer);
		q->answer_documented = false;
		q->basis_knob = k->name;
		q->basis_preset = preset->name;
		q->basis_source = why;
		return 0;
	}
	return SNP_EINVAL;
}

/* A documented answer, built from the runs by the caller, and its source. */
static void xp_answer_documented(struct sim_question *q, const char *source, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void xp_answer_documented(struct sim_question *q, const char *source, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(q->answer, sizeof(q->answer), fmt, ap);
	va_end(ap);
	q->answer_documented = true;
	q->basis_source = source;
	q->basis_knob = NULL;
	q->basis_default[0] = '\0';
	q->basis_preset = NULL;
}

/* A profile: early-snp with one knob assignment applied; 0 or the parse error. */
static SNP_MUST_CHECK int xp_profile(const char *knob, struct snp_profile *p)
{
	*p = snp_profile_early_snp;
	return knob ? snp_profile_set_knob(p, knob) : 0;
}

/* A machine for one setting: the profile with knob, then xp_machine(). */
static SNP_MUST_CHECK int xp_machine_knob(const char *knob, struct snp_profile *p,
					  struct snp_machine **out)
{
	int ret = xp_profile(knob, p);

	return ret ? ret : xp_machine(p, 0, out);
}

/* ---- uncovered ------------------------------------------------------------------ */

static SNP_MUST_CHECK int q_uncovered(struct sim_question *q)
{
	static const char *const settings[] = { "uncovered_inuse=ignore (default)", "uncovered_inuse=fail" };
	static const char *const knobs[] = { "uncovered_inuse=ignore", "uncovered_inuse=fail" };
	static const char why[] = "Table 15-41 asks Hypervisor-Owned, which uncovered memory is "
				  "(APM 15.36.3), but no source says where VMRUN keeps the mark";

	q->question = "What happens if the VMCB, VMSA or AVIC page is not covered by the RMP?";
	q->setup = "1 GiB host whose RMP covers only the first 512 MiB; a VMCB at the 2MB-aligned "
		   "first page of an uncovered region; VMRUN on CPU 0; CPU 1 writes another page of "
		   "that region through the 1GB direct map.";
	q->knob = "uncovered_inuse";
	for (unsigned int i = 0; i < 2; i++) {
		struct snp_profile p;
		struct snp_vmrun_result res;
		struct snp_machine *m;
		struct sim_outcome *o;
		snp_pfn_t vmcb = (XP_MEM / 2 + 64 * SNP_MiB) >> SNP_PAGE_SHIFT;
		char v[XP_TXT], w[XP_TXT];
		int ret = xp_profile(knobs[i], &p);
		unsigned int marked;
		bool entered;

		if (!ret)
			ret = xp_machine(&p, XP_MEM / 2, &m);
		if (ret)
			return ret;
		ret = xp_vmrun(m, vmcb, SNP_NO_PAGE, SNP_GUEST_SVM, &res);
		entered = !ret && res.outcome == SNP_VMRUN_ENTERED;
		marked = entered && res.marked ? 1u : 0u;
		xp_vmrun_text(ret, &res, v, sizeof(v));
		xp_access(m, 1, vmcb + 3, true, w, sizeof(w));
		o = xp_outcome(q, settings[i], false, why);
		snprintf(o->result, SIM_RESULT_LEN,
			 "%s; %u page(s) marked in-use; hugepage write to the region: %s", v, marked, w);
		xp_outcome_answer(o, "%s (%s), so a hugepage write to its region %s",
				  !entered ? "VMRUN refuses an uncovered VMCB" :
				  marked ? "an uncovered VMCB runs and is marked in-use" :
				  "an uncovered VMCB runs without an in-use mark", v,
				  xp_faulted(w) ? "faults" : "does not fault");
		ret = xp_knob_value(o, &p, q->knob);
		if (!ret)
			ret = entered ? snp_vmexit(m, 0) : 0;
		snp_machine_destroy(m);
		if (ret)
			return ret;
	}
	return xp_answer_assumed(q, &snp_profile_early_snp, q->knob, why);
}

/* ---- visible -------------------------------------------------------------------- */

static SNP_MUST_CHECK int q_visible(struct sim_question *q)
{
	struct snp_profile p = snp_profile_early_snp;
	struct snp_rmpread_out before, during;
	struct snp_rmpentry e;
	struct snp_machine *m;
	snp_spa_t spa = snp_pfn_to_phys(XP_REGION);
	int ret = xp_machine(&p, 0, &m), code1 = -1, code2 = -1;
	bool same;

	if (ret)
		return ret;
	q->question = "Is the in-use flag visible to software?";
	q->setup = "VMRUN marks a VMCB in-use; the entry is read with RMPREAD before and during the "
		   "run, and with the model's own query.";
	q->knob = "";
	ret = snp_rmpread(snp_machine_rmp(m), spa, &before, &code1);
	if (!ret)
		ret = xp_enter(m, XP_REGION);
	if (!ret)
		ret = snp_rmpread(snp_machine_rmp(m), spa, &during, &code2);
	if (!ret)
		ret = snp_rmp_query(snp_machine_rmp(m), spa, &e);
	if (!ret && (code1 != SNP_RMP_SUCCESS || code2 != SNP_RMP_SUCCESS))
		ret = SNP_EINVAL;   /* XP_REGION is covered memory: RMPREAD cannot refuse it */
	if (ret) {
		snp_machine_destroy(m);
		return ret;
	}
	same = !memcmp(&before, &during, sizeof(before));
	snprintf(xp_outcome(q, "architectural read (RMPREAD)", true,
			    "RMPREAD's fields (LINUX arch/x86/virt/svm/sev.c) do not include the "
			    "mark; no public source names another way to read it")->result,
		 SIM_RESULT_LEN, "VMRUN %s; RMPREAD output %s during the run: the mark is %s",
		 "entered", same ? "identical" : "different",
		 same ? "not among RMPREAD's fields" : "shown by RMPREAD");
	xp_answer_documented(q, "RMPREAD's fields, LINUX arch/x86/virt/svm/sev.c; the mark, "
			     "APM 15.36.12; no public source names another way to read it",
			     same ? "no, not through RMPREAD: its output is identical before and "
				    "during the run, the mark is not among its fields (only the "
				    "model's own query shows it)"
				  : "yes: RMPREAD's output changes during the run");
	snprintf(xp_outcome(q, "model query (snp_rmp_query)", false,
			    "model only: hardware keeps the mark in microarchitectural state")->result,
		 SIM_RESULT_LEN, "in_use=%d: the model shows the mark and labels it microarchitectural",
		 e.in_use);
	snp_machine_destroy(m);
	return 0;
}

/* ---- rmpupdate-race ----------------------------------------------------------------- */

static SNP_MUST_CHECK int q_rmpupdate_race(struct sim_question *q)
{
	static const char *const settings[] = { "rmpupdate_transient_inuse=off (default)",
						"rmpupdate_transient_inuse=on" };
	static const char why[] = "APM 15.36.10: a spurious RMP fault can occur while another "
				  "logical processor uses the entry (software retries); whether "
				  "this access does is not said";
	struct snp_rmpupdate_in in = { .gpa = 0x100000, .assigned = true, .asid = XP_ASID };
	enum snp_map_size sz = SNP_MAP_1G;
	char race[2][XP_TXT];   /* the racing write under each setting */

	q->question = "Does RMPUPDATE set in-use while it runs, so a hugepage access racing with "
		      "it on a 2MB-aligned entry faults too?";
	q->setup = "CPU 0 starts an RMPUPDATE of the 2MB-aligned page of a region (the raw "
		   "instruction, no direct-map split); CPU 1 writes another page of the region "
		   "through the 1GB direct map; then the RMPUPDATE completes.";
	q->knob = "rmpupdate_transient_inuse";
	for (unsigned int i = 0; i < 2; i++) {
		struct snp_profile p;
		struct snp_rmpupdate_op op;
		struct snp_machine *m;
		char *w = race[i];
		int code = -1, second = -1, done = -1;
		int ret = xp_machine_knob(i ? "rmpupdate_transient_inuse=1" : NULL, &p, &m);

		if (ret)
			return ret;
		ret = snp_rmpupdate_begin(snp_machine_rmp(m), SNP_CALLER_HV,
					  snp_pfn_to_phys(XP_REGION), &in, &op, &code);
		if (!ret && code != SNP_RMP_SUCCESS)
			ret = SNP_EPERM;   /* the setup's own RMPUPDATE must start */
		xp_access(m, 1, XP_REGION + 9, true, w, XP_TXT);
		if (!ret)
			ret = snp_rmpupdate(snp_machine_rmp(m), SNP_CALLER_HV,
					    snp_pfn_to_phys(XP_REGION), &in, &second);
		if (!ret)
			ret = snp_rmpupdate_commit(snp_machine_rmp(m), &op, &done);
		if (!ret)
			ret = xp_knob_value(xp_outcome(q, settings[i], false, why), &p, q->knob);
		if (ret) {
			snp_machine_destroy(m);
			return ret;
		}
		snprintf(q->outcomes[i].result, SIM_RESULT_LEN,
			 "racing hugepage write: %s; a second RMPUPDATE on the entry: %s",
			 w, snp_rmp_ret_name(second));
		snp_machine_destroy(m);
	}
	{
		struct snp_profile p = snp_profile_early_snp;
		struct snp_machine *m;
		int ret = xp_machine(&p, 0, &m);

		if (ret)
			return ret;
		int code = -1;

		ret = snp_host_rmpupdate(m, XP_REGION, &in, &code);
		if (!ret)
			ret = snp_direct_map_lookup(m, snp_pfn_to_virt(XP_REGION + 9), &sz);
		if (ret) {
			snp_machine_destroy(m);
			return ret;
		}
		snprintf(xp_outcome(q, "through the kernel's rmpupdate() (adjust_direct_map first)", true,
				    "LINUX arch/x86/virt/svm/sev.c adjust_direct_map; commit 661b1c6169e2")->result,
			 SIM_RESULT_LEN, "RMPUPDATE %s; the region is now mapped with %s leaves, so no "
			 "hugepage access can race a 4K transition; only a whole-2MB transition keeps "
			 "the hugepage", snp_rmp_ret_name(code), snp_map_size_name(sz));
		snp_machine_destroy(m);
	}
	/* each setting's answer, with what the kernel's own path did */
	for (unsigned int i = 0; i < 2; i++)
		xp_outcome_answer(&q->outcomes[i], "%s: a hugepage write racing a raw RMPUPDATE of the "
				  "2MB-aligned entry: %s; through Linux's rmpupdate() the region is "
				  "%s-mapped first, so only a whole-2MB transition can race",
				  xp_faulted(race[i]) ? "yes" : "no", race[i], snp_map_size_name(sz));
	return xp_answer_assumed(q, &snp_profile_early_snp, q->knob, why);
}

/*
 * The experiments on one boolean knob, whose setting the answer rests on:
 * run fn on a fresh early-snp machine with the knob off, then on; fn writes
 * the run's result and the answer it gives.  The setting early-snp has is
 * labeled "(default)", or "(<dflt_note>)" when the default needs a word more
 * (e.g. that it is an assumption), and gives the question's answer.
 */
typedef int (*xp_run_fn)(struct snp_machine *m, struct sim_outcome *o);

static SNP_MUST_CHECK int xp_knob_both(struct sim_question *q, const char *knob,
			const char *dflt_note, xp_run_fn fn, const char *source)
{
	for (unsigned int on = 0; on < 2; on++) {
		struct snp_profile p = snp_profile_early_snp;
		struct sim_outcome *o;
		struct snp_machine *m;
		char assign[64];
		bool dflt;
		int ret;

		snprintf(assign, sizeof(assign), "%s=%u", knob, on);
		ret = snp_profile_set_knob(&p, assign);
		if (!ret)
			ret = xp_machine(&p, 0, &m);
		if (ret)
			return ret;
		o = xp_outcome(q, "", false, source);
		ret = xp_knob_value(o, &p, knob);
		if (!ret)
			ret = fn(m, o);
		snp_machine_destroy(m);
		if (ret)
			return ret;
		dflt = xp_is_default(o, &snp_profile_early_snp, knob);
		snprintf(o->setting, sizeof(o->setting), "%s=%s%s%s%s", knob, on ? "on" : "off",
			 dflt ? " (" : "", dflt ? (dflt_note ? dflt_note : "default") : "",
			 dflt ? ")" : "");
	}
	q->knob = knob;
	return xp_answer_assumed(q, &snp_profile_early_snp, knob, source);
}

/* ---- writes-only ------------------------------------------------------------------- */

static SNP_MUST_CHECK int run_writes_only(struct snp_machine *m, struct sim_outcome *o)
{
	char r[XP_TXT], own[XP_TXT], w[XP_TXT];
	int ret = xp_enter(m, XP_REGION);

	if (ret)
		return ret;
	xp_access(m, 1, XP_REGION + 5, false, r, sizeof(r));
	ret = snp_tlb_flush_all(m, 1);
	if (ret)
		return ret;
	xp_access(m, 1, XP_REGION, false, own, sizeof(own));
	ret = snp_tlb_flush_all(m, 1);
	if (ret)
		return ret;
	xp_access(m, 1, XP_REGION + 5, true, w, sizeof(w));
	snprintf(o->result, sizeof(o->result),
		 "read of another page: %s; read of the in-use page: %s; write: %s", r, own, w);
	if (xp_faulted(r) || xp_faulted(own))
		xp_outcome_answer(o, "any access: a read of the region (%s) or of the in-use page "
				  "(%s) faults as a write (%s) does", r, own, w);
	else
		xp_outcome_answer(o, "writes only: reads of the region and of the in-use page do not "
				  "fault; a hugepage write: %s", w);
	return 0;
}

/*
 * Do reads fault?  The changelog says "accesses", so neither setting is
 * documented: the default (writes only) is labeled an assumption.
 */
static SNP_MUST_CHECK int q_writes_only(struct sim_question *q)
{
	q->question = "Are only writable translations affected, or any hugepage access? "
		      "Do reads fault too?";
	q->setup = "A 2MB-aligned VMCB runs on CPU 0; CPU 1 reads another page of the region, "
		   "reads the in-use VMCB page itself, then writes another page, all through the "
		   "1GB direct map (TLB flushed between them).";
	return xp_knob_both(q, "inuse_reads_fault", "default; an assumption", run_writes_only,
			    "the changelog (LINUX 75253db41a46) says \"accesses\"; write-only is the "
			    "narrower reading, an assumption; APM 15.36.10: host reads are not "
			    "ownership-checked");
}

/* ---- unaligned ----------------------------------------------------------------------- */

static SNP_MUST_CHECK int run_unaligned(struct snp_machine *m, struct sim_outcome *o)
{
	char a[XP_TXT], b[XP_TXT];
	int ret = xp_enter(m, XP_REGION + 1);

	if (ret)
		return ret;
	xp_access(m, 1, XP_REGION + 5, true, a, sizeof(a));
	xp_access(m, 1, XP_REGION + 1, true, b, sizeof(b));
	snprintf(o->result, sizeof(o->result), "write to another page: %s; write to the in-use "
		 "VMCB through the cached 2M entry: %s", a, b);
	xp_outcome_answer(o, "%s (a hugepage write to another page of its region: %s); %s (%s)",
			  xp_faulted(a) ? "the erratum strikes" : "no spurious fault", a,
			  xp_faulted(b) ? "the in-use page itself is protected even through a cached "
					  "2M entry" :
					  "the in-use page itself can be written through a 2M entry "
					  "cached from another page: the in-use rule is bypassed", b);
	return 0;
}

static SNP_MUST_CHECK int q_unaligned(struct sim_question *q)
{
	q->question = "What happens if the in-use page is not 2MB-aligned?";
	q->setup = "A VMCB at the second page of a 2MB region runs on CPU 0; CPU 1 writes another "
		   "page of the region through the 1GB direct map (filling a 2M TLB entry), then "
		   "writes the VMCB page itself through that entry.";
	return xp_knob_both(q, "rmp_check_every_access", NULL, run_unaligned,
			    "the changelog says the 2M fill reads the base entry; when hits are "
			    "checked is not documented");
}

/* ---- stale-tlb ------------------------------------------------------------------------- */

static SNP_MUST_CHECK int run_stale_tlb(struct snp_machine *m, struct sim_outcome *o)
{
	char a[XP_TXT], b[XP_TXT], c[XP_TXT];
	int ret;

	xp_access(m, 1, XP_REGION + 5, true, a, sizeof(a));
	ret = xp_enter(m, XP_REGION);
	if (ret)
		return ret;
	xp_access(m, 1, XP_REGION + 6, true, b, sizeof(b));
	ret = snp_tlb_flush_all(m, 1);
	if (ret)
		return ret;
	xp_access(m, 1, XP_REGION + 6, true, c, sizeof(c));
	snprintf(o->result, sizeof(o->result), "before VMRUN: %s; after, through the old entry: "
		 "%s; after a TLB flush: %s", a, b, c);
	if (xp_faulted(b))
		xp_outcome_answer(o, "the old entry shelters nothing: the first write through it "
				  "after VMRUN takes a %s", b);
	else
		xp_outcome_answer(o, "the old entry hides the erratum (a write through it: %s) until "
				  "the TLB is flushed; then: %s", b, c);
	return 0;
}

static SNP_MUST_CHECK int q_stale_tlb(struct sim_question *q)
{
	q->question = "What if the TLB entry existed before the page was marked in-use?";
	q->setup = "CPU 1 writes a page of a 2MB region through the 1GB direct map (a 2M TLB entry "
		   "is filled); then a VMCB at the region's base runs on CPU 0; CPU 1 writes again, "
		   "then again after flushing its TLB.";
	return xp_knob_both(q, "rmp_check_every_access", NULL, run_stale_tlb,
			    "no source says whether a TLB hit consults the RMP");
}

/* ---- all-vms ----------------------------------------------------------------------------- */

static SNP_MUST_CHECK int q_all_vms(struct sim_question *q)
{
	static const enum snp_guest_type types[] = { SNP_GUEST_SVM, SNP_GUEST_SEV };
	static const char *const settings[] = {
		"plain SVM guest, vmrun_marks=all (default)", "SEV guest, vmrun_marks=all (default)",
		"plain SVM guest, AVIC page aligned, vmrun_marks=vmcb",
	};
	char w[3][XP_TXT];   /* the write to the region in each run */

	q->question = "Does VMRUN mark these pages in-use for all VMs, not only SNP-active ones?";
	q->setup = "The changelog's scenario with a non-SNP guest: a 2MB-aligned VMCB (or AVIC "
		   "backing page) runs on CPU 0; CPU 1 writes another page of its region through "
		   "the 1GB direct map.";
	q->knob = "vmrun_marks";
	for (unsigned int i = 0; i < 3; i++) {
		struct snp_profile p;
		struct snp_vmrun_result res;
		struct snp_machine *m;
		char v[XP_TXT];
		int ret = xp_machine_knob(i == 2 ? "vmrun_marks=vmcb" : NULL, &p, &m);
		bool avic = i == 2;

		if (ret)
			return ret;
		ret = xp_vmrun(m, avic ? XP_REGION + 1 : XP_REGION, avic ? XP_REGION : SNP_NO_PAGE,
			       i == 2 ? SNP_GUEST_SVM : types[i], &res);
		xp_vmrun_text(ret, &res, v, sizeof(v));
		xp_access(m, 1, XP_REGION + 5, true, w[i], sizeof(w[i]));
		snprintf(xp_outcome(q, settings[i], i < 2,
				    i < 2 ? "LINUX 75253db41a46; LKML-REVIEW: all VMs"
					  : "which roles VMRUN marks is a knob")->result,
			 SIM_RESULT_LEN, "%s; write to the region: %s", v, w[i]);
		snp_machine_destroy(m);
	}
	xp_answer_documented(q, "LINUX 75253db41a46; LKML-REVIEW: all VMs",
			     "%s: a hugepage write to the region of a 2MB-aligned VMCB gives, with a "
			     "plain SVM guest: %s; with a SEV guest: %s",
			     xp_faulted(w[0]) && xp_faulted(w[1]) ? "yes, all VMs" : "no", w[0], w[1]);
	return 0;
}

/* ---- vmexit ------------------------------------------------------------------------------ */

static SNP_MUST_CHECK int q_vmexit(struct sim_question *q)
{
	static const char *const settings[] = { "inuse_cleared_at_vmexit=on (default, documented)",
						"inuse_cleared_at_vmexit=off (counterfactual)" };
	static const char source[] = "APM 15.36.12: FAIL_INUSE until #VMEXIT, which clears the mark";

	q->question = "Is the in-use mark cleared at #VMEXIT, so the window is only while the vCPU runs?";
	q->setup = "A 2MB-aligned VMCB runs on CPU 0 and exits; CPU 1 then writes another page of "
		   "the region through the 1GB direct map, and RMPUPDATE is tried on the VMCB.";
	q->knob = "inuse_cleared_at_vmexit";
	for (unsigned int i = 0; i < 2; i++) {
		struct snp_profile p;
		struct snp_rmpupdate_in sh = { 0 };
		struct snp_machine *m;
		char w[XP_TXT];
		int ret = xp_machine_knob(i ? "inuse_cleared_at_vmexit=0" : NULL, &p, &m), upd = -1;

		if (ret)
			return ret;
		ret = xp_enter(m, XP_REGION);
		if (!ret)
			ret = snp_vmexit(m, 0);
		xp_access(m, 1, XP_REGION + 5, true, w, sizeof(w));
		if (!ret)
			ret = snp_rmpupdate(snp_machine_rmp(m), SNP_CALLER_HV,
					    snp_pfn_to_phys(XP_REGION), &sh, &upd);
		if (ret) {
			snp_machine_destroy(m);
			return ret;
		}
		snprintf(xp_outcome(q, settings[i], i == 0,
				    i == 0 ? source
					   : "counterfactual: APM 15.36.12 documents the clear at #VMEXIT; "
					     "kept to show the window if a part did not clear it")->result,
			 SIM_RESULT_LEN, "after #VMEXIT, write to the region: %s; RMPUPDATE of the VMCB: %s",
			 w, snp_rmp_ret_name(upd));
		snp_machine_destroy(m);
		if (i)
			continue;
		/* the documented setting: the answer */
		if (!xp_faulted(w) && upd == SNP_RMP_SUCCESS)
			xp_answer_documented(q, source, "yes: after #VMEXIT a write to the region does "
					     "not fault and RMPUPDATE of the VMCB succeeds, so the window "
					     "is only while the vCPU runs");
		else
			xp_answer_documented(q, source, "no: after #VMEXIT a write to the region: %s; "
					     "RMPUPDATE of the VMCB: %s", w, snp_rmp_ret_name(upd));
	}
	return 0;
}

/* ---- hv-inuse-wr ------------------------------------------------------------------------ */

/*
 * Does HvInUseWrAllowed make the workaround unnecessary?  The run gives a
 * 2MB-aligned VMCB (what an allocator without the workaround can hand out)
 * on an hv-inuse-wr part, under both settings of hv_inuse_wr_fixes_erratum,
 * and then early-snp for contrast.  The verdict is derived from the writes.
 */
static SNP_MUST_CHECK int q_hv_inuse_wr(struct sim_question *q)
{
	static const char *const settings[] = {
		"hv-inuse-wr, hv_inuse_wr_fixes_erratum=on (default, AMD RFC 2025)",
		"hv-inuse-wr, hv_inuse_wr_fixes_erratum=off",
		"early-snp (no HvInUseWrAllowed), for contrast",
	};
	static const char *const sources[] = {
		("AMD RFC Aug 2025 \"KVM: SEV: Skip SNP-safe allocation when HvInUseWrAllowed is "
		 "supported\": writes allowed \"without RMP violations, making the 2MB alignment "
		 "workaround unnecessary\"; not merged, so UNCONFIRMED"),
		("AMD on LKML 2024: the 2MB-aligned issue is \"another issue\" than the in-use write "
		 "rule; upstream still allocates SNP-safe on every part (LINUX sev.c)"),
		"LINUX 75253db41a46; edk2 AmdSev.c names AMD erratum #1467",
	};

	q->question = "Does HvInUseWrAllowed make the workaround unnecessary?";
	q->setup = "A VMCB at the 2MB-aligned first page of a region (as an allocator without "
		   "snp_safe_alloc_page can give) runs on CPU 0; CPU 1 writes another page of the "
		   "region through the 1GB direct map, then the VMCB page itself through a 4K view.";
	q->knob = "hv_inuse_wr_fixes_erratum";
	for (unsigned int i = 0; i < 3; i++) {
		struct snp_profile p = i < 2 ? snp_profile_hv_inuse_wr : snp_profile_early_snp;
		struct sim_outcome *o;
		struct snp_machine *m;
		char a[XP_TXT], b[XP_TXT];
		bool faulted;
		int ret;

		ret = snp_profile_set_knob(&p, i == 1 ? "hv_inuse_wr_fixes_erratum=0"
							    : "hv_inuse_wr_fixes_erratum=1");
		if (!ret)
			ret = xp_machine(&p, 0, &m);
		if (ret)
			return ret;
		ret = xp_enter(m, XP_REGION);
		xp_access(m, 1, XP_REGION + 5, true, a, sizeof(a));
		if (!ret)
			ret = snp_set_memory_4k(m, snp_pfn_to_virt(XP_REGION), 1);
		if (ret) {
			snp_machine_destroy(m);
			return ret;
		}
		xp_access(m, 1, XP_REGION, true, b, sizeof(b));
		faulted = xp_faulted(a) || xp_faulted(b);
		o = xp_outcome(q, settings[i], i == 2, sources[i]);
		snprintf(o->result, SIM_RESULT_LEN,
			 "write to the region: %s; write to the VMCB page (4K): %s; an aligned VMCB "
			 "is %s: the workaround is %s", a, b, faulted ? "unsafe" : "safe",
			 faulted ? "still needed" : "unnecessary");
		snp_machine_destroy(m);
		if (i == 2)
			break;   /* the contrast: no setting of the knob, no answer of its own */
		ret = xp_knob_value(o, &p, q->knob);
		xp_outcome_answer(o, "%s: on a part with HvInUseWrAllowed, a 2MB-aligned VMCB gives a "
				  "hugepage write to its region: %s, and a write to the VMCB page: "
				  "%s; the workaround is %s", faulted ? "no" : "yes", a, b,
				  faulted ? "still needed" : "unnecessary");
		if (ret)
			return ret;
	}
	return xp_answer_assumed(q, &snp_profile_hv_inuse_wr, q->knob, sources[0]);
}

/* ---- pml ---------------------------------------------------------------------------------- */

/*
 * A VMCB (unaligned) runs on CPU 0 with PML on and its PML buffer at a
 * region's 2MB-aligned base; CPU 1 writes another page of that region
 * through the 1GB direct map.
 */
static SNP_MUST_CHECK int run_pml(struct snp_machine *m, struct sim_outcome *o)
{
	struct snp_vmrun_args a = {
		.vmcb = XP_REGION + SNP_PTRS_PER_PMD + 3, .vmsa = SNP_NO_PAGE, .avic = SNP_NO_PAGE,
		.pml_enable = true, .pml = XP_REGION, .type = SNP_GUEST_SVM, .asid = XP_ASID,
		.label = "explain vcpu 0",
	};
	struct snp_vmrun_result res;
	char v[XP_TXT], w[XP_TXT];
	int ret = snp_vmrun(m, 0, &a, &res);
	bool entered = !ret && res.outcome == SNP_VMRUN_ENTERED;
	bool marked = entered && (res.marked & SNP_ROLE_PML);

	xp_vmrun_text(ret, &res, v, sizeof(v));
	xp_access(m, 1, XP_REGION + 5, true, w, sizeof(w));
	snprintf(o->result, sizeof(o->result), "%s, PML buffer %s; write to its region: %s; an "
		 "aligned PML buffer is %s", v, marked ? "marked in-use" : "not marked", w,
		 entered && !xp_faulted(w) ? "safe" : "unsafe: it needs the SNP-safe allocator");
	xp_outcome_answer(o, "%s: VMRUN %s the PML buffer; a hugepage write to the region of a "
			  "2MB-aligned one: %s, so it %s the SNP-safe allocator",
			  entered && xp_faulted(w) ? "yes" : "no", marked ? "marks" : "does not mark",
			  w, entered && xp_faulted(w) ? "needs" : "does not need");
	return entered ? snp_vmexit(m, 0) : 0;
}

/* The PML series allocates its buffer SNP-safe; whether it must is the knob. */
static SNP_MUST_CHECK int q_pml(struct sim_question *q)
{
	q->question = "Does the PML buffer of AMD's PML series (--kvm pml) need the SNP-safe "
		      "allocator, i.e. does VMRUN mark it in-use?";
	q->setup = "A VMCB runs on CPU 0 with PML enabled and its PML buffer (VMCB PML_ADDR) at a "
		   "2MB-aligned page; CPU 1 writes another page of the buffer's region through the "
		   "1GB direct map.";
	return xp_knob_both(q, "pml_inuse", "default; the PML series' reading", run_pml,
			    "undocumented: the AMD PML series (v4 2025-10-13, v5 2026-01-05, not merged) "
			    "allocates the buffer with snp_safe_alloc_page() and lists \"PML\" among the "
			    "pages the erratum hits; no APM table lists it");
}

struct sim_experiment {
	const char *id;
	int (*run)(struct sim_question *q);
};

static const struct sim_experiment experiments[] = {
	{ "uncovered", q_uncovered },
	{ "visible", q_visible },
	{ "rmpupdate-race", q_rmpupdate_race },
	{ "writes-only", q_writes_only },
	{ "unaligned", q_unaligned },
	{ "stale-tlb", q_stale_tlb },
	{ "all-vms", q_all_vms },
	{ "vmexit", q_vmexit },
	{ "hv-inuse-wr", q_hv_inuse_wr },
	{ "pml", q_pml },
};

unsigned int sim_explain_count(void)
{
	return sizeof(experiments) / sizeof(experiments[0]);
}

const char *sim_explain_id(unsigned int i)
{
	return i < sim_explain_count() ? experiments[i].id : NULL;
}

int sim_explain_run(const char *id, struct sim_question *out)
{
	if (!id || !out)
		return SNP_EINVAL;
	for (unsigned int i = 0; i < sim_explain_count(); i++) {
		if (strcmp(id, experiments[i].id))
			continue;
		memset(out, 0, sizeof(*out));
		out->id = experiments[i].id;
		return experiments[i].run(out);
	}
	return SNP_ENOENT;
}
