// SPDX-License-Identifier: MIT
/*
 * sim_report.c - what `snpsafe simulate` found, said plainly: one summary
 * line (per strategy the chance that a host like the modeled ones ends a
 * run with a 2MB-aligned exposed page, its interval, over how many
 * effective hosts, and the exposed pages behind it), a warning when the
 * trials count for fewer than 10 independent hosts, and the legend of every
 * results table.  The effective hosts and the design effect behind them are
 * montecarlo.c's (docs/MODEL.md, "Cloning aged allocators").
 */
#include "sim_report.h"

#include <math.h>
#include <stdarg.h>
#include <string.h>

bool cli_sim_shared(const struct sim_mc_result *r)
{
	return r->aged_allocators && r->aged_allocators < r->trials;
}

const char *cli_sim_hosts_text(double hosts, char *buf, size_t len)
{
	snprintf(buf, len, fabs(hosts - round(hosts)) < 0.05 ? "%.0f" : "%.1f", hosts);
	return buf;
}

/* Append to buf[*off..len); a text too long for buf is cut, never overrun. */
static void add(char *buf, size_t len, size_t *off, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (*off >= len)
		return;
	va_start(ap, fmt);
	n = vsnprintf(buf + *off, len - *off, fmt, ap);
	va_end(ap);
	if (n > 0)
		*off += (size_t)n;
}

const char *cli_sim_summary(const struct sim_mc_result *r, unsigned int n, char *buf, size_t len)
{
	size_t off = 0;

	add(buf, len, &off, "Summary: chance that a host like these ends a run with a 2MB-aligned "
	    "exposed page (what the erratum faults on):");
	for (unsigned int i = 0; i < n; i++) {
		char x[16], lo[16], hi[16], h[16];

		cli_sim_hosts_text(r[i].effective_hosts, h, sizeof(h));
		add(buf, len, &off, "%s %s %s [%s, %s] over %s %s%s, %llu of %llu exposed pages aligned",
		    i ? ";" : "", snp_alloc_strategy_name(r[i].strategy),
		    cli_fmt_pct(r[i].trials_with_exposed_aligned, x, sizeof(x)),
		    cli_fmt_pct(r[i].exposed_trials_ci_lo, lo, sizeof(lo)),
		    cli_fmt_pct(r[i].exposed_trials_ci_hi, hi, sizeof(hi)), h,
		    cli_sim_shared(&r[i]) ? "effective " : "", strcmp(h, "1") ? "hosts" : "host",
		    (unsigned long long)r[i].exposed_aligned_pages,
		    (unsigned long long)r[i].exposed_pages);
	}
	add(buf, len, &off, ".");
	return buf;
}

bool cli_sim_few_hosts(const struct sim_mc_config *mc, const struct sim_mc_result *r, unsigned int n,
		       char *buf, size_t len)
{
	size_t off = 0;
	unsigned int few = 0;

	for (unsigned int i = 0; i < n; i++) {
		char h[16];

		if (!cli_sim_shared(&r[i]) || !(r[i].effective_hosts < CLI_SIM_FEW_HOSTS))
			continue;
		add(buf, len, &off, "%s%s %s", few++ ? ", " : "under 10 effective hosts (",
		    snp_alloc_strategy_name(r[i].strategy),
		    cli_sim_hosts_text(r[i].effective_hosts, h, sizeof(h)));
	}
	if (!few)
		return false;
	add(buf, len, &off, "): %llu trials share %u aged allocator%s (--age-share %u), so the "
	    "intervals rest on few independent hosts; run more --trials or a lower --age-share",
	    (unsigned long long)r[0].trials, r[0].aged_allocators, r[0].aged_allocators == 1 ? "" : "s",
	    mc->age_share);
	return true;
}

static double min_hosts(const struct sim_mc_result *r, unsigned int n)
{
	double m = INFINITY;

	for (unsigned int i = 0; i < n; i++)
		m = r[i].effective_hosts < m ? r[i].effective_hosts : m;
	return m;
}

void cli_sim_json_summary(struct json *j, const struct sim_mc_config *mc, const struct sim_mc_result *r,
			  unsigned int n)
{
	char line[1024], warn[512];

	json_obj_begin(j, "summary");
	json_str(j, "text", cli_sim_summary(r, n, line, sizeof(line)));
	json_str(j, "warning", cli_sim_few_hosts(mc, r, n, warn, sizeof(warn)) ? warn : NULL);
	json_u64(j, "trials", n ? r[0].trials : 0);
	json_u64(j, "aged_allocators", n ? r[0].aged_allocators : 0);
	json_bool(j, "shared_ageing", n && cli_sim_shared(&r[0]));
	json_double(j, "effective_hosts_min", n ? min_hosts(r, n) : NAN);
	json_arr_begin(j, "strategies");
	for (unsigned int i = 0; i < n; i++) {
		json_obj_begin(j, NULL);
		json_str(j, "strategy", snp_alloc_strategy_name(r[i].strategy));
		json_double(j, "host_chance", r[i].trials_with_exposed_aligned);
		json_double(j, "host_chance_ci95_lo", r[i].exposed_trials_ci_lo);
		json_double(j, "host_chance_ci95_hi", r[i].exposed_trials_ci_hi);
		json_double(j, "effective_hosts", r[i].effective_hosts);
		json_u64(j, "exposed_pages", r[i].exposed_pages);
		json_u64(j, "exposed_aligned_pages", r[i].exposed_aligned_pages);
		json_double(j, "exposed_aligned_fraction", r[i].exposed_aligned_fraction);
		json_obj_end(j);
	}
	json_arr_end(j);
	json_obj_end(j);
}

/* ---- legends ---------------------------------------------------------------------- */

/* The first table defines the strategies; the others refer to it. */
#define LEGEND_STRATEGY { "strategy", "as in the first table" }

void cli_sim_legend_main(bool shared)
{
	const struct cli_legend l[] = {
		{ "strategy", "the allocator of KVM's sensitive pages, naive (the counterfactual, "
			      "no workaround), upstream (snp_safe_alloc_page(), an order-1 block "
			      "split) or sieve (ours, 2MB-aligned pages set aside)" },
		{ "trials", "modeled hosts, each created, aged, filled with VMs, run for the ticks "
			    "and torn down" },
		{ "w/ spurious", "trials with at least one spurious RMP #PF" },
		{ "spurious", "spurious RMP #PFs in all trials (the erratum, a hugepage write "
			      "faulting on the in-use 2MB-aligned base page of its region)" },
		{ "exposed", "sensitive pages exposed at the trials' ends, summed (markable in-use "
			     "and their 2MB region still hugepage-mapped in the direct map, by kind "
			     "below)" },
		{ "aligned", "of the exposed pages, the 2MB-aligned ones (pfn a multiple of 512), "
			     "those the erratum faults on" },
		{ "exposed frac", "aligned / exposed, n/a when no page is exposed" },
		{ "95% interval", shared ?
			"Wilson score 95% interval of exposed frac, widened by the design effect of "
			"trials sharing an aged allocator (Wilson's over exposed / deff pages, "
			"docs/MODEL.md), n/a when no page is exposed" :
			"Wilson score 95% interval of exposed frac, n/a when no page is exposed" },
		{ "analytic est", "naive, the 2MB-aligned share of free memory just before kvm_amd "
				  "loads, weighted by each trial's exposed pages (exposed frac were "
				  "each page any free page), upstream and sieve 0 by construction" },
		{ "order-1", "order-1 blocks the allocator took and split (upstream takes one per "
			     "page)" },
		{ "leaked", "pages leaked on purpose, as snp_leak_pages() does with a page whose "
			    "RMP entry could not be made shared again" },
	};

	cli_print_legend(l, sizeof(l) / sizeof(l[0]));
}

void cli_sim_legend_rates(bool shared)
{
	const struct cli_legend l[] = {
		LEGEND_STRATEGY,
		{ "trials w/ spurious fault", "trials with a spurious RMP #PF / trials" },
		{ "aligned sensitive pages", "2MB-aligned / all sensitive pages KVM allocated "
			"(VMCBs, VMSAs, AVIC pages, host save areas, vmcb02s, PML buffers, the "
			"allocated and first aligned columns by kind below, summed)" },
		{ "trials w/ exposed aligned", "trials that ended with a 2MB-aligned exposed page / "
			"trials, the chance a host like these does (the summary line)" },
		{ "eff. hosts", shared ?
			"trials / the design effect of trials w/ exposed aligned, the independent "
			"hosts its trials count for (its interval is Wilson's over this many), the "
			"effect measured from the spread between the aged allocators' trials, or one "
			"host per aged allocator where there is no spread to measure (no trial with "
			"one, every trial, or one allocator)" :
			"trials, each its own independent host (no aged allocator shared)" },
	};

	cli_print_legend(l, sizeof(l) / sizeof(l[0]));
}

void cli_sim_legend_outcomes(void)
{
	static const struct cli_legend l[] = {
		LEGEND_STRATEGY,
		{ "tried", "VMs the trials tried to create" },
		{ "running", "created, every vCPU created, launched" },
		{ "no ASID", "refused, sev_asid_new() found no ASID free even after a flush (-EBUSY)" },
		{ "VM ENOMEM", "KVM_CREATE_VM, its guest memory or the launch failed" },
		{ "vCPU ENOMEM", "KVM_CREATE_VCPU failed and the VMM destroyed its VM" },
		{ "kvm ENOMEM", "trials whose kvm_amd did not load" },
		{ "flushes", "ASID flushes that recycled destroyed VMs' ASIDs (WBINVD, DF_FLUSH)" },
	};

	cli_print_legend(l, sizeof(l) / sizeof(l[0]));
}

void cli_sim_legend_kinds(void)
{
	static const struct cli_legend l[] = {
		LEGEND_STRATEGY,
		{ "kind", "vmcb01 (a vCPU's VMCB), vmsa (an SEV-ES or SNP vCPU's VMSA), avic (its "
			  "AVIC backing page), hsave (a CPU's host save area), vmcb02 (a nested "
			  "vCPU's L2 VMCB), pml (its PML buffer, --kvm pml)" },
		{ "allocated", "pages of the kind KVM allocated in all trials" },
		{ "aligned", "of the column before it, the 2MB-aligned pages" },
		{ "markable", "live at a trial's end and markable in-use by this profile and host (a "
			      "VMCB always, an SEV-ES/SNP VMSA, the AVIC page only with AVIC on, the "
			      "save area as a VMSAVE target, the PML buffer of --kvm pml per knob "
			      "pml_inuse)" },
		{ "exposed", "markable and its 2MB region still hugepage-mapped in the direct map (a "
			     "launched SNP VMSA's is 4K)" },
	};

	cli_print_legend(l, sizeof(l) / sizeof(l[0]));
}
