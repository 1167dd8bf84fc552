// SPDX-License-Identifier: MIT
/*
 * host_verdict.c - decide from a host's facts whether it is exposed to the
 * SNP in-use erratum, each step tied to the fact that decided it.
 *
 * The chain (docs/HOST.md, snp-facts §1 and §7):
 *  1. AMD CPU, not a guest, CPUID Fn8000_001F EAX[4] SNP: else not an SNP host
 *     (Linux refuses host SNP under a hypervisor, arch/x86/kernel/cpu/amd.c
 *     bsp_determine_snp).
 *  2. SNP globally enabled: SYSCFG[24] SNP_EN when the MSR can be read, else
 *     the kernel's own signs (RMP set up, kvm_amd sev_snp); a kernel without
 *     SNP host code cannot have set SNP_EN.  The CPU marks pages in-use only
 *     when SNP is globally enabled (commit 75253db41a46).
 *  3. HvInUseWrAllowed (EAX[30]): the hypervisor may write in-use pages;
 *     AMD's 2025 RFC calls the 2MB workaround unnecessary there.
 *  4. The workaround (snp_safe_alloc_page[_node]) in kallsyms, else the
 *     kernel version (upstream since v6.9).
 */
#include "host_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define BIT(x, n) (((x) >> (n)) & 1)

const char *host_verdict_text(enum host_verdict v)
{
	switch (v) {
	case HOST_NOT_SNP_HOST:         return "not an SNP host";
	case HOST_SNP_INUSE_WR_ALLOWED: return "SNP host, CPU has HvInUseWrAllowed";
	case HOST_SNP_WORKAROUND:       return "SNP host, workaround present";
	case HOST_SNP_EXPOSED:          return "SNP host, workaround absent: erratum possible";
	}
	return "?";
}

const char *host_verdict_id(enum host_verdict v)
{
	switch (v) {
	case HOST_NOT_SNP_HOST:         return "not-snp-host";
	case HOST_SNP_INUSE_WR_ALLOWED: return "snp-hv-inuse-wr-allowed";
	case HOST_SNP_WORKAROUND:       return "snp-workaround-present";
	case HOST_SNP_EXPOSED:          return "snp-exposed";
	}
	return "?";
}

static void reason(struct host_report *r, const char *fact, const char *value,
		   const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void reason(struct host_report *r, const char *fact, const char *value,
		   const char *fmt, ...)
{
	struct host_reason *x;
	va_list ap;

	if (r->nr_reasons == HOST_MAX_REASONS)
		return;
	x = &r->reasons[r->nr_reasons++];
	snprintf(x->fact, sizeof(x->fact), "%s", fact);
	snprintf(x->value, sizeof(x->value), "%s", value);
	va_start(ap, fmt);
	vsnprintf(x->because, sizeof(x->because), fmt, ap);
	va_end(ap);
}

static void finish(struct host_report *r, enum host_verdict v)
{
	r->verdict = v;
	r->exposed = v == HOST_SNP_EXPOSED;
}

/* Step 1.  Returns true when the CPU can be an SNP host (decided otherwise). */
static bool cpu_can_host_snp(const struct host_facts *f, struct host_report *r)
{
	const struct host_cpu *c = &f->cpu;
	char v[64];

	if (strcmp(c->vendor, "AuthenticAMD")) {
		reason(r, "cpuid.vendor", c->vendor, "SEV-SNP and its RMP exist only on AMD CPUs");
		return false;
	}
	if (c->hypervisor) {
		reason(r, "cpuid.hypervisor", "1 (CPUID 1 ECX[31])",
		       "this is a virtual machine; the in-use marks are made for the physical host's "
		       "kernel, and Linux never enables host SNP under a hypervisor (bsp_determine_snp)");
		return false;
	}
	if (c->fn1f_state != HOST_OK) {
		snprintf(v, sizeof(v), "absent (largest extended leaf 0x%x)", c->max_ext_leaf);
		reason(r, "cpuid.8000001f", v, "no memory-encryption leaf: no SEV, no SNP");
		return false;
	}
	if (!BIT(c->fn1f[0], HOST_FN1F_SEV_SNP)) {
		reason(r, "cpuid.8000001f.eax.snp", "0 (EAX[4])", "this CPU does not support SEV-SNP");
		return false;
	}
	return true;
}

static bool param_on(const char *p)
{
	return !strcmp(p, "Y") || !strcmp(p, "1");
}

/* Step 2.  Returns true when SNP is (or may be) globally enabled. */
static bool snp_enabled(const struct host_facts *f, struct host_report *r)
{
	const struct host_kernel *k = &f->kernel;
	char v[64];

	if (f->msr.syscfg_state == HOST_OK) {
		snprintf(v, sizeof(v), "0x%llx (SNP_EN, bit 24, %s)", (unsigned long long)f->msr.syscfg,
			 BIT(f->msr.syscfg, HOST_SYSCFG_SNP_EN_BIT) ? "set" : "clear");
		if (!BIT(f->msr.syscfg, HOST_SYSCFG_SNP_EN_BIT)) {
			reason(r, "msr.syscfg", v, "SNP is not globally enabled, so VMRUN marks no page "
			       "in-use: the erratum cannot occur");
			return false;
		}
		reason(r, "msr.syscfg", v, "SNP is globally enabled: every VMRUN marks the VMCB, "
		       "VMSA and AVIC page in-use, for SNP and non-SNP guests alike");
		return true;
	}
	if (k->dmesg_rmp || param_on(k->sev_snp)) {
		reason(r, k->dmesg_rmp ? "dmesg" : "kvm_amd.sev_snp",
		       k->dmesg_rmp ? "RMP table physical range [...]" : k->sev_snp,
		       "the kernel set up SNP (SYSCFG unreadable: %s)", host_state_text(f->msr.syscfg_state));
		return true;
	}
	if (k->kallsyms_state == HOST_OK && !k->snp_host_symbols) {
		reason(r, "kallsyms", "no snp_rmptable_init, no rmpupdate",
		       "this kernel has no SNP host code, and SNP_EN is set by that code "
		       "(arch/x86/virt/svm/sev.c, v6.9+): SNP cannot be enabled");
		return false;
	}
	reason(r, "msr.syscfg", host_state_text(f->msr.syscfg_state),
	       "SNP-capable CPU and nothing shows SNP disabled: assumed enabled");
	return true;
}

/* Step 4 when kallsyms cannot tell: the kernel version. */
static void by_version(const struct host_facts *f, struct host_report *r)
{
	const struct host_kernel *k = &f->kernel;
	bool recent = k->major > 6 || (k->major == 6 && k->minor >= 9);

	reason(r, "kernel.version", k->version[0] ? k->version : "unknown",
	       recent ? "kvm_amd's symbols are not visible (%s), but upstream carries "
		     "snp_safe_alloc_page since v6.9 (commit 75253db41a46)"
		   : "kvm_amd's symbols are not visible (%s) and upstream had no SNP host support "
		     "before v6.9: the workaround could not be found",
	       k->kallsyms_state != HOST_OK ? host_state_text(k->kallsyms_state) : "kvm_amd not loaded");
	finish(r, recent ? HOST_SNP_WORKAROUND : HOST_SNP_EXPOSED);
}

static void workaround(const struct host_facts *f, struct host_report *r, bool allowed)
{
	const struct host_kernel *k = &f->kernel;

	if (k->workaround_sym[0]) {
		reason(r, "kallsyms", k->workaround_sym, "KVM allocates VMCB, VMSA and AVIC pages "
		       "SNP-safe: never a 2MB-aligned page (arch/x86/kvm/svm/sev.c)");
		finish(r, HOST_SNP_WORKAROUND);
	} else if (k->kallsyms_state == HOST_OK && k->kvm_symbols) {
		reason(r, "kallsyms", "svm_vcpu_create present, no snp_safe_alloc_page[_node]",
		       allowed ? "kvm_amd allocates VMCBs with plain order-0 pages; one can be "
				 "2MB-aligned, which this CPU tolerates per AMD's RFC"
			       : "kvm_amd allocates VMCBs with plain order-0 pages: one can be 2MB-aligned, "
				 "and a hugepage write to its 2MB region then takes a spurious RMP #PF");
		finish(r, HOST_SNP_EXPOSED);
	} else {
		by_version(f, r);
	}
}

/* What upstream does with AVIC on this SNP host (commit d81cadbe1642, v6.13). */
static void avic_note(const struct host_facts *f, struct host_report *r, bool allowed)
{
	const struct host_kernel *k = &f->kernel;

	if (allowed)
		reason(r, "cpuid.8000001f.eax.hv_inuse_wr_allowed", "1 (EAX[30])",
		       "the hypervisor may write in-use pages; AMD's RFC (Aug 2025) says this makes "
		       "the 2MB alignment workaround unnecessary; upstream keeps AVIC usable here "
		       "(it turns AVIC off only on SNP hosts without the bit, d81cadbe1642, v6.13) "
		       "and still allocates SNP-safe: skipping that was proposed in 2025, merge unconfirmed");
	else
		reason(r, "cpuid.8000001f.eax.hv_inuse_wr_allowed", "0 (EAX[30])",
		       "hypervisor writes to in-use pages fault; upstream v6.13+ (d81cadbe1642) turns "
		       "AVIC off on this SNP host%s",
		       k->dmesg_avic_inuse ? ", and this kernel's log says it did" : "");
}

void host_decide(const struct host_facts *f, struct host_report *r)
{
	bool allowed;

	memset(r, 0, sizeof(*r));
	if (!cpu_can_host_snp(f, r) || !snp_enabled(f, r)) {
		finish(r, HOST_NOT_SNP_HOST);
		return;
	}
	allowed = BIT(f->cpu.fn1f[0], HOST_FN1F_HV_INUSE_WR_ALLOWED);
	avic_note(f, r, allowed);
	workaround(f, r, allowed);
	if (allowed) {
		finish(r, HOST_SNP_INUSE_WR_ALLOWED);
		return;
	}
	if (r->verdict == HOST_SNP_EXPOSED)
		reason(r, "cpu.product", f->cpu.product ? f->cpu.product : "not in the table",
		       "which parts have the erratum (AMD #1467, \"early SNP hardware\") is not "
		       "public; Linux applies the workaround on every SNP host");
}
